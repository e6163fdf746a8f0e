"""Reading the IMS extract (spec section 1): every CSV file decoded, checked row by row
against its columns and references, and set into frames; every physical line accounted for
(accepted, in ``rejects.csv`` with its reason, blank, or continuing a quoted field).

- ``csv_text``: a file's bytes to columns of text (encodings, quoting, stray quotes,
  mis-shaped and blank lines).
- ``reader``: the extract's files and columns, the checks, the ledger, ``read_extract``.
- ``quality``: the gate that stops a build from a largely rejected extract, or one in which
  no one is seen.
"""
