"""Disclosure control and its audit (spec section 3): no published number may single out a
person or let a suppressed count be worked out.

- ``suppress``: primary and secondary suppression (and rounding) of every registered cell.
- ``attack``: the linear-programming attacker that both suppression and the audit use.
- ``audit``: the finished drop's files read back and attacked; the identifier scan run over them.
- ``identifier_scan``: client references, postcodes and dates of birth found in published bytes.
"""
