"""Report packs per LA (``reports/la/<la_code>/``) and the PDFs: the demo drop's packs read
back and parsed, their CSV files against the area's, a PDF opened with pypdf, the packs
turned off, and a build without a PDF renderer."""

from __future__ import annotations

import csv
import io
import logging
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import client, nsp, write_extract, write_geography, write_recipe
from pypdf import PdfReader
from test_reports_ims1718 import parse

from atlas.counting.individuals import COHORT_ORDER
from atlas.disclosure.audit import Identifiers, scan
from atlas.drop import compute_drop
from atlas.errors import RecipeError
from atlas.recipe import load_recipe
from atlas.render.pdf import MISSING, find_browser, print_pdfs

needs_chromium = pytest.mark.skipif(find_browser() is None, reason="no headless Chromium")


def _csv(path: Path) -> tuple[list[str], list[tuple[str, ...]]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    return rows[0], [tuple(r) for r in rows[1:]]


class _Heading(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.h1: list[str] = []
        self.inside = False

    def handle_starttag(self, tag, attrs):
        if tag == "h1":
            self.inside = True
            self.h1.append("")

    def handle_endtag(self, tag):
        if tag == "h1":
            self.inside = False

    def handle_data(self, data):
        if self.inside:
            self.h1[-1] += data


def _h1(html: bytes) -> str:
    parser = _Heading()
    parser.feed(html.decode())
    return " ".join(parser.h1[0].split())


def page_bytes(drop: Path, la_code: str, report: str = "monitoring") -> bytes:
    return (drop / "reports/la" / la_code / f"{report}.html").read_bytes()


def _las(drop: Path) -> dict[str, str]:
    header, rows = _csv(drop / "reports/csv/monitoring_cohort_summary.csv")
    code, name = header.index("la_code"), header.index("la_name")
    return {r[code]: r[name] for r in rows if r[code] != "TOTAL"}


def test_one_pack_per_la_listing_its_own_sites(demo_drop):
    las = _las(demo_drop)
    assert sorted(p.name for p in (demo_drop / "reports/la").iterdir()) == sorted(las)
    header, sites = _csv(demo_drop / "tables/site_activity.csv")
    code, la = header.index("site_code"), header.index("la_code")
    for la_code, name in las.items():
        pack = demo_drop / "reports/la" / la_code
        assert {p.name for p in pack.iterdir()} == {
            "monitoring.html",
            "data_quality.html",
            "monitoring.pdf",
            "data_quality.pdf",
            "csv",
        }
        page = parse((pack / "monitoring.html").read_bytes())
        listed = [r[1] for r in page.tables["la-sites"][1:]]
        assert sorted(listed) == sorted(r[code] for r in sites if r[la] == la_code)
        assert listed  # every demo LA has services
        dq = parse((pack / "data_quality.html").read_bytes())
        groups = [r[0] for r in dq.tables["dq-site-individuals"][1:] if "(" not in r[0]]
        assert groups == [name]  # its own services only
        assert [r[0] for r in dq.tables["dq-la-individuals"][1:]] == [name]


def test_an_las_figures_are_its_row_of_the_area_tables(demo_drop):
    area = parse((demo_drop / "reports/monitoring.html").read_bytes())
    for la_code, name in _las(demo_drop).items():
        page = parse((demo_drop / "reports/la" / la_code / "monitoring.html").read_bytes())
        own = {r[0]: r[1:] for r in page.tables["cohort-summary"][1:]}
        row = next(r for r in area.tables["cohort-summary-la"][2:] if r[0] == name)
        # last quarter and 12 months of each cohort, as the area's table has them
        assert [v for c in own.values() for v in c[:2]] == row[1:]
        rates = next(r for r in area.tables["la-rates"][2:] if r[0] == name)
        assert [v for c in own.values() for v in c[3:5]] == [
            v for k in range(len(COHORT_ORDER)) for v in rates[2 + 3 * k : 4 + 3 * k]
        ]
        # the comparison of every LA is the area's own table
        assert page.tables["la-rates"] == area.tables["la-rates"]
        assert page.tables["cohort-summary-la"] == area.tables["cohort-summary-la"]
        assert _h1(page_bytes(demo_drop, la_code)) == (
            f"IMS Atlas demo (fictional data): monitoring report: {name}"
        )


def test_pack_csv_files_are_the_area_files_restricted_to_the_la(demo_drop):
    area_dir = demo_drop / "reports/csv"
    for la_code in _las(demo_drop):
        own_dir = demo_drop / "reports/la" / la_code / "csv"
        assert sorted(p.name for p in own_dir.iterdir()) == sorted(
            p.name for p in area_dir.iterdir()
        )
        for path in own_dir.iterdir():
            header, rows = _csv(path)
            area_header, area_rows = _csv(area_dir / path.name)
            assert header == area_header, path.name
            if path.name in ("monitoring_profiles.csv", "monitoring_cohort_description.csv"):
                continue  # the LA's own profiles (and its description of them): checked below
            assert set(rows) <= set(area_rows), path.name
            if "la_code" in header:
                assert {r[header.index("la_code")] for r in rows} <= {la_code}, path.name


def test_la_profiles_add_up_to_the_las_cohort_counts(demo_drop):
    header, summary = _csv(demo_drop / "reports/csv/monitoring_cohort_summary.csv")
    col = {c: i for i, c in enumerate(header)}
    for la_code in _las(demo_drop):
        total = {
            r[col["cohort"]]: r[col["twelve_months"]]
            for r in summary
            if r[col["la_code"]] == la_code
        }
        h, rows = _csv(demo_drop / "reports/la" / la_code / "csv/monitoring_profiles.csv")
        c = {k: i for i, k in enumerate(h)}
        checked = 0
        for dim in {r[c["dimension"]] for r in rows}:
            for cohort in COHORT_ORDER:
                cells = [r for r in rows if r[c["dimension"]] == dim and r[c["cohort"]] == cohort]
                if total[cohort] and all(r[c["individuals"]] for r in cells):
                    assert sum(int(r[c["individuals"]]) for r in cells) == int(total[cohort])
                    checked += 1
                # one suppressed cell alone in its group would be given away by subtraction
                assert sum(not r[c["individuals"]] for r in cells) != 1 or not total[cohort]
        assert checked


@needs_chromium
def test_a_pdf_reads_like_the_published_reports(demo_drop):
    reader = PdfReader(demo_drop / "reports/data_quality.pdf")
    pages = [p.extract_text() for p in reader.pages]
    assert len(pages) > 2
    box = reader.pages[0].mediabox  # A4, landscape
    assert sorted((round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4))) == [
        210,
        297,
    ]
    title = "IMS Atlas demo (fictional data): activity & data quality report"
    for i, text in enumerate(pages, 1):
        assert title in text and "2017-18" in text, i
        assert f"Page {i} of {len(pages)}" in text
    # the table of sites runs on from page 1: its header is repeated at the top of page 2
    assert (
        pages[1].splitlines()[0]
        == "Site Type Q1 2017-18 Q2 2017-18 Q3 2017-18 Q4 2017-18 12 months"
    )
    assert "Site Type Q1 2017-18 Q2 2017-18 Q3 2017-18 Q4 2017-18 12 months" in pages[0]
    pack = next(iter(_las(demo_drop)))
    text = PdfReader(demo_drop / "reports/la" / pack / "monitoring.pdf").pages[0].extract_text()
    assert "Client cohort summary: " + _las(demo_drop)[pack] in text


def test_every_report_links_to_every_pack(demo_drop):
    las = _las(demo_drop)
    area = (demo_drop / "reports/monitoring.html").read_text()
    atlas = (demo_drop / "atlas.html").read_text()
    index = (demo_drop.parent / "index.html").read_text()
    for code in las:
        assert f'href="la/{code}/monitoring.html"' in area
        assert f'href="la/{code}/data_quality.pdf"' in area
        assert f'href="reports/la/{code}/monitoring.html"' in atlas
        assert f'href="{demo_drop.name}/reports/la/{code}/monitoring.html"' in index
        for other in las:
            page = (demo_drop / "reports/la" / other / "data_quality.html").read_text()
            href = "monitoring.html" if other == code else f"../../la/{code}/monitoring.html"
            assert f'href="{href}"' in page
            assert 'href="../../monitoring.html"' in page


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("packs")
    geo = write_geography(tmp / "geo")
    folder = write_extract(
        tmp / "ex",
        {
            "clients.csv": [client(f"C{i}", fi=chr(65 + i)) for i in range(8)],
            "nsp_transactions.csv": [nsp(f"T{i}", f"C{i}") for i in range(8)],
        },
    )
    return tmp, geo, folder


def test_la_packs_false_writes_none(small):
    tmp, geo, folder = small
    on = compute_drop(load_recipe(write_recipe(tmp, geo, folder, name="on")))
    off = compute_drop(
        load_recipe(
            write_recipe(tmp, geo, folder, name="off", extra="[reports]\nla_packs = false\n")
        )
    )
    assert any(p.startswith("reports/la/") for p in on.files)
    assert not any(p.startswith("reports/la/") for p in off.files)
    assert "la_profiles" not in off.published.extra
    # the area's tables are the same either way
    for path in ("tables/service_la_cohorts.csv", "reports/csv/monitoring_cohort_summary.csv"):
        assert on.files[path] == off.files[path]


def test_la_packs_must_be_a_boolean(small):
    tmp, geo, folder = small
    path = write_recipe(tmp, geo, folder, name="bad", extra='[reports]\nla_packs = "no"\n')
    with pytest.raises(
        RecipeError, match=r"reports\.la_packs: expected true or false, got a string \('no'\)"
    ):
        load_recipe(path)


def test_without_a_renderer_the_build_says_so_and_writes_the_html(small, monkeypatch, caplog):
    tmp, geo, folder = small
    monkeypatch.setenv("IMS_ATLAS_CHROMIUM", "")
    with caplog.at_level(logging.WARNING):
        content = compute_drop(load_recipe(write_recipe(tmp, geo, folder, name="nopdf")))
    assert [r.getMessage() for r in caplog.records if "PDF" in r.getMessage()] == [MISSING]
    assert "\n" not in MISSING
    assert not any(p.endswith(".pdf") for p in content.files)
    assert "reports/monitoring.html" in content.files
    packs = [p for p in content.files if p.startswith("reports/la/") and p.endswith(".html")]
    assert packs
    assert b".pdf" not in content.files["reports/monitoring.html"]


@needs_chromium
def test_the_scan_reads_a_pdfs_text_and_pdfs_are_reproducible():
    page = b"<html><head><title>t</title></head><body><h1>Report</h1><p>born 1990-06-01</p></body></html>"
    pdfs = print_pdfs(
        {"a.pdf": (page, "Report", "2017-18"), "b.pdf": (page, "Report", "2017-18")},
        find_browser(),
        "2023-11-14T22:13:20+00:00",
    )
    assert b"1990-06-01" not in pdfs["a.pdf"]  # compressed: only its text shows it
    assert scan("a.pdf", pdfs["a.pdf"], Identifiers(dates_of_birth={"1990-06-01"})) == [
        "a.pdf line 2: a client's date of birth"  # below the heading
    ]
    assert pdfs["a.pdf"] == pdfs["b.pdf"]
    assert b"/CreationDate (D:20231114221320Z" in pdfs["a.pdf"]


def test_a_total_with_services_outside_the_drops_las_is_not_named_for_the_area(small):
    """Issue 15: a recipe covering one LA of an extract that spans several must not label the
    whole extract's individuals as that LA (nor give them a rate on its population)."""
    tmp, geo, _ = small
    sites = [
        {"site_code": "S1", "site_name": "Alpha", "site_type": "agency", "postcode": "AA1 1AA"},
        {"site_code": "S3", "site_name": "Far", "site_type": "agency", "postcode": "CC1 1AA"},
    ]
    folder = write_extract(
        tmp / "beyond",
        {
            "sites.csv": sites,
            "clients.csv": [client(f"C{i}", fi=chr(65 + i)) for i in range(14)],
            "nsp_transactions.csv": [
                nsp(f"T{i}", f"C{i}", site="S1" if i < 6 else "S3") for i in range(14)
            ],
        },
    )
    content = compute_drop(load_recipe(write_recipe(tmp, geo, folder, name="beyond")))
    svc = list(
        csv.DictReader(io.StringIO(content.files["tables/service_la_cohorts.csv"].decode()))
    )
    total = next(r for r in svc if r["la_code"] == "TOTAL" and r["cohort"] == "all")
    assert (total["la_name"], total["individuals"]) == ("All services in the extract", "14")
    assert total["population"] == total["rate_per_1000"] == ""
    alpha = next(r for r in svc if r["la_code"] == "E06000001" and r["cohort"] == "all")
    assert (alpha["la_name"], alpha["individuals"], alpha["rate_per_1000"]) == (
        "Alpha",
        "6",
        "2.4",  # 6 per 2,500
    )
    res = csv.DictReader(io.StringIO(content.files["tables/residence_la_cohorts.csv"].decode()))
    assert {r["la_name"] for r in res if r["la_code"] == "TOTAL"} == {
        "All services in the extract"
    }
    page = parse(content.files["reports/monitoring.html"])
    assert page.tables["la-rates"][-1][:3] == ["All services in the extract", "14", "–"]
    pack = parse(content.files["reports/la/E06000001/monitoring.html"])
    assert pack.tables["cohort-summary"][1][2] == "6"  # all individuals, 12 months


def test_an_las_trend_is_its_rows_of_the_area_trend(demo_drop):
    """Each pack shows its own trend (table and chart), as the area publishes it per LA."""
    with open(demo_drop / "reports" / "csv" / "monitoring_trend_la.csv", newline="") as fh:
        published = list(csv.DictReader(fh))
    for code in _las(demo_drop):
        page = parse(page_bytes(demo_drop, code))
        shown = page.tables["trend-table"][1:]
        mine = [r for r in published if r["la_code"] == code]
        years = sorted({r["year"] for r in mine})
        assert [r[0] for r in shown] == years
        for row in shown:
            by = {r["cohort"]: r["individuals"] for r in mine if r["year"] == row[0]}
            expected = [f"{int(by[c]):,}" if by[c] else "*" for c in COHORT_ORDER]
            assert row[1:] == expected, code
        assert 'id="trend-table"' in page_bytes(demo_drop, code).decode()
