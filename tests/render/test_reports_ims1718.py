"""Done-criterion of the reports: an extract shaped like the 2017-18 IMS data gives a monitoring
report whose LA table matches the published one (IMS Quarterly Monitoring Report, Q4 2017-18,
"Client numbers & prevalence estimates: local authority areas") cell for cell.

The extract is generated so that its service-LA counts are the published ones: 26,509
individuals, 477 of whom used services in two LAs (so the LA rows add to 26,986, more than the
total, exactly as published). The published Liverpool activity sentences of the data-quality
report (Q4: 5,748 interventions to 3,443 clients, 1.67 per person; 1,699 returns, "1 return to
every 3.2 visits (31.4% of visits)") are built in too.

Denominators. A single population per LA reproduces all four published rates of its row (half
up to one decimal) only inside these bounds: Cheshire East 376,000-377,049; Cheshire West &
Chester 333,798-338,246; Halton 126,479-127,678; Knowsley 147,914-148,132; Liverpool
482,834-484,825; Sefton 271,811-276,160; St. Helens 178,144-178,590; Warrington 208,060-209,733;
Wirral 318,931-322,857; the area 2,450,704-2,459,759. None of the estimates in shared/data fits
all nine (mid-2015 IoD denominators fit 4, mid-2017 SAPE fits 5; mid-2018 and mid-2019 fewer),
and every bound lies between the mid-2015 and mid-2017 values: the report used ONS mid-2016
estimates, the latest published when it was issued. POPULATION below holds values inside the
bounds (as recalled for the ONS mid-2016 estimates; not checked against the ONS file offline).
"""

from __future__ import annotations

import csv
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from atlas.counting.aggregate import count_all
from atlas.counting.individuals import build_individuals
from atlas.counting.la_profiles import la_profile_cells
from atlas.counting.periods import FinancialYear
from atlas.counting.report_counts import count_reports
from atlas.disclosure.suppress import protect
from atlas.extract.reader import read_extract
from atlas.geography.areas import Geography
from atlas.geography.geocode import assign_residence, geocode
from atlas.render.packs import render_packs
from atlas.render.reports import render_reports, report_base, report_tables

AREA = "Cheshire & Merseyside"
# code, name, individuals per cohort (psychoactive, IPEDs, BI), population
LAS = [
    ("E06000049", "Cheshire East", (470, 680, 0), 376_695),
    ("E06000050", "Cheshire West & Chester", (964, 1169, 20), 335_676),
    ("E06000006", "Halton", (113, 585, 649), 126_903),
    ("E08000011", "Knowsley", (346, 363, 674), 147_972),
    ("E08000012", "Liverpool", (5080, 2308, 4369), 484_578),
    ("E08000014", "Sefton", (908, 742, 76), 274_261),
    ("E08000013", "St. Helens", (1379, 1177, 864), 178_455),
    ("E06000007", "Warrington", (463, 801, 697), 208_809),
    ("E08000015", "Wirral", (791, 991, 307), 321_238),
]
COHORT_TOTALS = {"pwid_psychoactive": 10_208, "pwid_ipeds": 8_700, "bi": 7_601}

# The published table, as printed (rows and cells in order).
PUBLISHED = """\
Cheshire East	1,150	3.1	470	1.2	680	1.8	0	0.0
Cheshire West & Chester	2,153	6.4	964	2.9	1,169	3.5	20	0.1
Halton	1,347	10.6	113	0.9	585	4.6	649	5.1
Knowsley	1,383	9.3	346	2.3	363	2.5	674	4.6
Liverpool	11,757	24.3	5,080	10.5	2,308	4.8	4,369	9.0
Sefton	1,726	6.3	908	3.3	742	2.7	76	0.3
St. Helens	3,420	19.2	1,379	7.7	1,177	6.6	864	4.8
Warrington	1,961	9.4	463	2.2	801	3.8	697	3.3
Wirral	2,089	6.5	791	2.5	991	3.1	307	1.0
Cheshire & Merseyside	26,509	10.8	10,208	4.2	8,700	3.5	7,601	3.1"""

LIVERPOOL = "E08000012"
Q4, EARLY = "2018-02-01", "2017-05-01"


def _write(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def _people_slots() -> list[tuple[str, int, list[str]]]:
    """(cohort, person number, LAs used): LA slots of each cohort in LA order; the cohort's
    surplus of slots over its published total goes to people who also used a second LA."""
    people = []
    n = 0
    for k, cohort in enumerate(COHORT_TOTALS):
        slots = [code for code, _, counts, _ in LAS for _ in range(counts[k])]
        total = COHORT_TOTALS[cohort]
        extra = len(slots) - total
        for i in range(total):
            las = [slots[i]] + ([slots[total + i]] if i < extra else [])
            assert len(set(las)) == len(las)
            people.append((cohort, n, las))
            n += 1
    return people


def make_extract(folder: Path) -> None:
    folder.mkdir(parents=True)
    sites = [
        [f"AG{code}", f"{name} drug service", "agency", "", code, "NSP;BI"]
        for code, name, _, _ in LAS
    ]
    _write(
        folder / "sites.csv",
        ["site_code", "site_name", "site_type", "postcode", "local_authority", "services"],
        sites,
    )
    clients, visits, ints = [], [], []
    liverpool_nsp = liverpool_bi = 0
    for cohort, n, las in _people_slots():
        dob = (pd.Timestamp("1930-01-01") + pd.Timedelta(days=n)).strftime("%Y-%m-%d")
        initials = (chr(65 + n % 26), chr(65 + (n // 26) % 26))
        for j, la in enumerate(las):  # one client record per site: linked by the attributor
            ref = f"C{n}-{j}"
            clients.append([ref, f"AG{la}", *initials, dob, "MF"[n % 2]])
            date = EARLY
            if cohort == "bi":
                if la == LIVERPOOL:
                    date = Q4 if liverpool_bi < 3443 else EARLY
                    if liverpool_bi < 5748 - 3443:  # a second Q4 intervention
                        ints.append(
                            [f"I{len(ints)}", ref, f"AG{la}", Q4, "Brief Intervention", "Alcohol"]
                        )
                    liverpool_bi += 1
                ints.append(
                    [f"I{len(ints)}", ref, f"AG{la}", date, "Brief Intervention", "Alcohol"]
                )
            else:
                returned = "N"
                if la == LIVERPOOL:
                    date = Q4 if liverpool_nsp < 5410 else EARLY
                    returned = "Y" if liverpool_nsp < 1699 else "N"
                    liverpool_nsp += 1
                substance = "Steroids" if cohort == "pwid_ipeds" else "Heroin"
                visits.append([f"T{len(visits)}", ref, f"AG{la}", date, returned, substance])
    _write(
        folder / "clients.csv",
        ["client_ref", "site_code", "first_initial", "last_initial", "date_of_birth", "gender"],
        clients,
    )
    _write(
        folder / "nsp_transactions.csv",
        ["transaction_id", "client_ref", "site_code", "visit_date", "returned", "substance"],
        visits,
    )
    _write(
        folder / "interventions.csv",
        [
            "intervention_id",
            "client_ref",
            "site_code",
            "intervention_date",
            "intervention_type",
            "substance",
        ],
        ints,
    )


def _geography() -> Geography:
    las = gpd.GeoDataFrame(
        {
            "la_code": [c for c, *_ in LAS],
            "la_name": [n for _, n, *_ in LAS],
            "population": [p for *_, p in LAS],
        },
        geometry=[None] * len(LAS),
    )
    lsoas = gpd.GeoDataFrame(
        {
            "lsoa_code": pd.Series(dtype=str),
            "lsoa_name": pd.Series(dtype=str),
            "la_code": pd.Series(dtype=str),
            "population": pd.Series(dtype=float),
        },
        geometry=[],
    )
    directory = pd.DataFrame(
        {
            "postcode": pd.Series(dtype=str),
            "live": pd.Series(dtype=bool),
            "la_code": pd.Series(dtype=str),
            "lsoa_code": pd.Series(dtype=str),
            "lat": pd.Series(dtype=float),
            "long": pd.Series(dtype=float),
        }
    )
    return Geography(directory, lsoas, las)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The protected counts of the drop, with the LA packs' profile cells (as a build has)."""
    folder = tmp_path_factory.mktemp("ims1718") / "extract"
    make_extract(folder)
    extract = read_extract(folder)
    assert all(f["rejected"] == 0 for f in extract.ledger.values())
    geo = _geography()
    sites = extract["sites.csv"].assign(la_code=extract["sites.csv"]["local_authority"])
    ind = build_individuals(extract, FinancialYear(2017))
    coded = geocode(ind.people["residence_postcode"], geo.directory, set(geo.la_codes))
    ind.people = ind.people.join(coded[["match_level"]]).join(
        assign_residence(ind.people, coded, dict(zip(geo.las["la_code"], geo.las["la_name"])), {})
    )
    counts = count_all(ind, geo, sites, AREA)
    reports = count_reports(extract, ind, sites, geo.la_codes)
    profiles = la_profile_cells(ind, sites, geo.la_codes, reports.cell_set("profiles").table)
    published = protect(counts, 5, extra=[*reports.cells, profiles])
    return published, reports, sites


@pytest.fixture(scope="module")
def report(built) -> dict[str, bytes]:
    published, reports, sites = built
    return render_reports(published, reports, sites, title="IMS", area_name=AREA, period="2017-18")


def test_the_liverpool_pack_gives_the_liverpool_row_of_the_area_table(built, report):
    """Issue 15: the Liverpool pack's 12-month figures are the published Liverpool row."""
    published, reports, sites = built
    tables = report_tables(published, reports, sites, AREA)
    base = report_base(published, reports, title="IMS", area_name=AREA, period="2017-18")
    packs = render_packs(published, reports, tables, base, pdf=False)
    page = parse(packs[f"reports/la/{LIVERPOOL}/monitoring.html"])
    own = {r[0]: r[1:] for r in page.tables["cohort-summary"][1:]}
    # cohort: last quarter, 12 months, share, rate, interval
    assert [own[c][1] for c in own] == ["11,757", "5,080", "2,308", "4,369"]
    assert [own[c][3] for c in own] == ["24.3", "10.5", "4.8", "9.0"]
    assert own["All individuals"][4] == "23.8–24.7"
    area = parse(report["reports/monitoring.html"])
    row = next(r for r in area.tables["cohort-summary-la"][2:] if r[0] == "Liverpool")
    assert [v for c in own.values() for v in c[:2]] == row[1:]
    q4 = next(r for r in page.tables["la-activity"][1:] if r[1] == "Q4 2017-18")
    assert q4[2:8] == [
        "5,410",
        "1,699",
        "1 return to every 3.2 visits (31.4% of visits)",
        "5,748",
        "3,443",
        "1.67",
    ]
    # its data-quality report: Liverpool's services only
    dq = parse(packs[f"reports/la/{LIVERPOOL}/data_quality.html"])
    assert [r[0] for r in dq.tables["dq-la-individuals"][1:]] == ["Liverpool"]
    own_sites = set(sites.loc[sites["la_code"] == LIVERPOOL, "site_code"])
    listed = {r[1] for r in page.tables["la-sites"][1:]}
    assert listed == own_sites


class Tables(HTMLParser):
    """Every table of a page by id: rows of cell texts (th and td)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: str | None = None
        self.cell: str | None = None
        self.paragraphs: list[str] = []
        self.in_p = False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.current = dict(attrs).get("id")
            self.tables[self.current] = []
        elif tag == "tr" and self.current:
            self.tables[self.current].append([])
        elif tag in ("td", "th") and self.current:
            self.cell = ""
        elif tag == "p":
            self.in_p = True
            self.paragraphs.append("")

    def handle_endtag(self, tag):
        if tag == "table":
            self.current = None
        elif tag in ("td", "th") and self.cell is not None and self.current:
            self.tables[self.current][-1].append(" ".join(self.cell.split()))
            self.cell = None
        elif tag == "p":
            self.in_p = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data
        if self.in_p:
            self.paragraphs[-1] += data


def parse(html: bytes) -> Tables:
    page = Tables()
    page.feed(html.decode())
    return page


def test_la_table_matches_the_published_2017_18_table_cell_for_cell(report):
    rows = parse(report["reports/monitoring.html"]).tables["la-rates"]
    header, body = rows[:2], rows[2:]
    assert header[1][:3] == ["Individuals", "Rate per 1,000", "95% CI"]
    # the published layout: name, then individuals and rate for each of the four columns
    shown = [
        "\t".join([r[0], *(v for k in range(4) for v in r[1 + 3 * k : 3 + 3 * k])]) for r in body
    ]
    assert "\n".join(shown) == PUBLISHED
    liverpool = next(r for r in body if r[0] == "Liverpool")
    assert liverpool[3] == "23.8–24.7"  # Byar: 11,545.5 and 11,971.5 per 484,578
    cheshire_east_bi = next(r for r in body if r[0] == "Cheshire East")[10:13]
    assert cheshire_east_bi == ["0", "0.0", "0.0–0.0"]  # exact Poisson upper bound 3.69/pop


def test_liverpool_q4_activity_reads_as_published(report):
    rows = parse(report["reports/monitoring.html"]).tables["la-activity"]
    q4 = next(r for r in rows if r[:2] == ["Liverpool", "Q4 2017-18"])
    assert q4[2:8] == [
        "5,410",
        "1,699",
        "1 return to every 3.2 visits (31.4% of visits)",
        "5,748",
        "3,443",
        "1.67",
    ]


def test_cohort_summary_and_trend_count_each_individual_once(report):
    page = parse(report["reports/monitoring.html"])
    summary = {r[0]: r[1:] for r in page.tables["cohort-summary"][1:]}
    assert summary["All individuals"][1:] == ["26,509", "100.0%"]
    assert summary["PWID: psychoactive drugs"][1:] == ["10,208", "38.5%"]
    assert summary["PWID: steroids & IPEDs"][1:] == ["8,700", "32.8%"]
    assert summary["BI: drug or alcohol"][1:] == ["7,601", "28.7%"]
    # last quarter: Liverpool's Q4 NSP and BI clients, once each
    assert summary["All individuals"][0] == f"{5410 + 3443:,}"
    # a made-up extract with activity in two months: its only year is partial
    assert page.tables["trend-table"][1:] == [
        ["2017-18 (partial)", "26,509", "10,208", "8,700", "7,601"]
    ]


def test_population_bounds_reproduce_every_published_rate():
    """Every population used lies where all four published rates of its row come out."""
    for _code, name, _counts, pop in LAS:
        published = next(r for r in PUBLISHED.splitlines() if r.startswith(name + "\t"))
        cells = published.split("\t")[1:]
        for n, rate in zip(cells[0::2], cells[1::2]):
            value = int(n.replace(",", "")) / pop * 1000
            assert np.floor(value * 10 + 0.5) / 10 == pytest.approx(float(rate)), (name, n)
