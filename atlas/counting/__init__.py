"""Counting, before disclosure control (spec section 2): who is an individual, their cohort,
and how many of them each published table and report cell holds.

- ``periods``: financial years, quarters and a drop's 12 months (a year, or a quarter's).
- ``substances``: the substance-to-cohort mapping and the display of free-text labels.
- ``individuals``: extract rows linked into people, with cohort, main substance and age.
- ``tally``: counting primitives shared by the tables and the reports.
- ``aggregate``: the spec tables (service LA, residence LSOA/MSOA/LA, site activity).
- ``trends``: the financial years of the trends, partial ones marked, and each year's counts.
- ``report_counts``: the reports' cells and their additive groups.
- ``match_levels``: the ledger's postcode match levels as protected cells.
- ``rates``: rates per 1,000 with Byar's 95% intervals, and half-up rounding.
"""
