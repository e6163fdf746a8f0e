"""A tiny hand-made extract for the year in numbers and the equipment table (issue 16, items
1 and 3), every figure counted by hand below, built into a drop in memory.

Sites (tiny geography of conftest: Alpha E06000001, Beta E06000002):

    S1 agency    Alpha (AA1 1AA)
    S3 pharmacy  Alpha (AA1 1AB)
    S4 agency    Alpha (AA1 1AA), closed 2016-12-31: not open in 2017-18, not counted
    S2 pharmacy  Beta  (BB1 1AA)

People (each their own attributor): C1..C7 use Alpha's services, C9 and C10 Beta's.

    NSP visits (2017-18)                          items
    C1..C6 at S1, 1 June 2017 (Q1); C1, C2 return  needles 10, syringes 5 each
    C7 at S3, 1..5 August 2017 (Q2)               needles 3, foil 2 each
    C9 at S2, 1 and 2 June 2017 (Q1), 1 return    needles 20 each
    C10 at S2, 3, 4 and 5 June 2017 (Q1)          (blank)
    C1 at S1, 1 June 2016 (2016-17: not counted)  needles 99

    Interventions (Q1): C1..C5 "Brief Intervention", C6 "Advice & Info", C7 "Housing support
    J Smith" (a free-text label carrying a name: counted as "Other", never shown), all at S1;
    (Beta: none.)

    Wellbeing reviews: C1 twice (May, November), C2..C6 once (May) at S1 (7 reviews of 6
    people); C9 once at S2, 1 February 2018 (Q4: 1 review of 1 person).

    Referrals: at S1 C1 IN "Hope Centre", C2 IN "hope centre " (one organisation), C3 OUT
    "GP", C4 OUT (no organisation); at S2 C9 OUT "GP".

Hand counts (Alpha / Beta / area):
    sites: agencies 1 / 0 / 1, pharmacies 1 / 1 / 2
    NSP visits 11 / 5 / 16; returns 2 / 1 / 3 (share 18.2% / 20.0% / 18.8%)
    interventions 7 / 0 / 7: Brief Intervention 5 / 0 / 5, Advice & Information 1 / 0 / 1,
      Other 1 / 0 / 1; distinct type labels 3 / 0 / 3
    referrals in 2 / 0 / 2, out 2 / 1 / 3; organisations 2 / 1 / 2
    wellbeing reviews 7 / 1 / 8; people reviewed 6 / 1 / 7
    equipment Q1 agency Alpha: needles 60, syringes 30; Q2 pharmacy Alpha: needles 15, foil
      10; Q1 pharmacy Beta: needles 40

Disclosure: Beta's 2 people seen and 1 person reviewed are small counts (suppressed). Its one
review would say that 1 person was reviewed, so it is blanked (and the area's Q4 and year
reviews, which would give it back). With ``small_beta``, C10 makes one visit and C9 receives a
"brief intervention" at S2: Beta's activity (3 visits, 1 intervention: at most 4 people) would
pin its 2 people to 1..4, so it is blanked, and with it Beta's share of visits with a return,
its count of type labels and its equipment.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from conftest import write_geography, write_recipe

from atlas.drop import DropContent, compute_drop
from atlas.recipe import load_recipe

ALPHA, BETA = "E06000001", "E06000002"

SITES = [
    ("S1", "Alpha Drug Service", "agency", "AA1 1AA", ""),
    ("S3", "Alpha Pharmacy", "pharmacy", "AA1 1AB", ""),
    ("S4", "Alpha Old Service", "agency", "AA1 1AA", "2016-12-31"),
    ("S2", "Beta Pharmacy", "pharmacy", "BB1 1AA", ""),
]
ALPHA_PEOPLE = [f"C{i}" for i in range(1, 8)]
BETA_PEOPLE = ["C9", "C10"]


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    header = list(dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header, restval="")
        w.writeheader()
        w.writerows(rows)


def write_year_extract(folder: Path, small_beta: bool = False) -> Path:
    """Write the extract described above into ``folder`` (``small_beta``: the variant in
    which Beta's activity is small)."""
    folder.mkdir(parents=True, exist_ok=True)
    _write(
        folder / "sites.csv",
        [
            {
                "site_code": code,
                "site_name": name,
                "site_type": kind,
                "postcode": postcode,
                "services": "NSP;BI",
                "closed": closed,
            }
            for code, name, kind, postcode, closed in SITES
        ],
    )
    site = {c: "S1" for c in ALPHA_PEOPLE} | {c: "S2" for c in BETA_PEOPLE}
    site["C7"] = "S3"
    _write(
        folder / "clients.csv",
        [
            {
                "client_ref": ref,
                "site_code": site[ref],
                "first_initial": chr(ord("A") + i),
                "last_initial": "Z",
                "date_of_birth": f"19{70 + i}-01-01",
                "gender": "M",
            }
            for i, ref in enumerate([*ALPHA_PEOPLE, *BETA_PEOPLE])
        ],
    )
    nsp: list[dict[str, Any]] = []

    def visit(ref: str, date: str, site_code: str, returned: str = "N", **items: int) -> None:
        nsp.append(
            {
                "transaction_id": f"T{len(nsp) + 1}",
                "client_ref": ref,
                "site_code": site_code,
                "visit_date": date,
                "returned": returned,
                **{k: items.get(k, "") for k in ("needles", "syringes", "foil")},
            }
        )

    for ref in ALPHA_PEOPLE[:6]:
        visit(ref, "2017-06-01", "S1", "Y" if ref in ("C1", "C2") else "N", needles=10, syringes=5)
    for day in range(1, 6):
        visit("C7", f"2017-08-0{day}", "S3", needles=3, foil=2)
    visit("C9", "2017-06-01", "S2", "Y", needles=20)
    visit("C9", "2017-06-02", "S2", needles=20)
    for day in ("03",) if small_beta else ("03", "04", "05"):
        visit("C10", f"2017-06-{day}", "S2")
    visit("C1", "2016-06-01", "S1", needles=99)
    _write(folder / "nsp_transactions.csv", nsp)
    kinds = ["Brief Intervention"] * 5 + ["Advice & Info", "Housing support J Smith"]
    ints = [
        {
            "intervention_id": f"I{i + 1}",
            "client_ref": ref,
            "site_code": "S1",
            "intervention_date": "2017-06-10",
            "intervention_type": kind,
        }
        for i, (ref, kind) in enumerate(zip(ALPHA_PEOPLE, kinds))
    ]
    ints += (
        []
        if not small_beta
        else [
            {
                "intervention_id": "I9",
                "client_ref": "C9",
                "site_code": "S2",
                "intervention_date": "2017-06-10",
                "intervention_type": "brief intervention",
            }
        ]
    )
    _write(folder / "interventions.csv", ints)
    reviews = [("C1", "2017-05-01"), ("C1", "2017-11-01")]
    reviews += [(ref, "2017-05-01") for ref in ALPHA_PEOPLE[1:6]]
    _write(
        folder / "wellbeing.csv",
        [
            {"client_ref": ref, "site_code": "S1", "review_date": date, "wemwbs_score": 40}
            for ref, date in reviews
        ]
        + [
            {
                "client_ref": "C9",
                "site_code": "S2",
                "review_date": "2018-02-01",
                "wemwbs_score": 50,
            }
        ],
    )
    _write(
        folder / "referrals.csv",
        [
            {
                "client_ref": ref,
                "site_code": s,
                "referral_date": "2017-07-01",
                "direction": d,
                "organisation": org,
            }
            for ref, s, d, org in (
                ("C1", "S1", "IN", "Hope Centre"),
                ("C2", "S1", "IN", "hope centre "),
                ("C3", "S1", "OUT", "GP"),
                ("C4", "S1", "OUT", ""),
                ("C9", "S2", "OUT", "GP"),
            )
        ],
    )
    return folder


def build_year_drop(
    tmp: Path, small_beta: bool = False, extra: str = "[reports]\npdf = false\n"
) -> DropContent:
    """The drop of the extract above (no PDFs unless ``extra`` says otherwise)."""
    geo = write_geography(tmp / "geo")
    extract = write_year_extract(tmp / "extract", small_beta)
    return compute_drop(load_recipe(write_recipe(tmp, geo, extract, name="year", extra=extra)))
