"""Reading the IMS extract (spec section 1): every CSV file decoded, checked row by row
against its columns and references, and set into frames; every physical line accounted for
as accepted or in ``rejects.csv`` with its reason.

- ``csv_text``: a file's bytes to columns of text (encodings, quoting, mis-shaped lines).
- ``reader``: the extract's files and columns, the checks, the ledger, ``read_extract``.
"""
