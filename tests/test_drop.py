"""The drop end to end: the demo, every spec output, determinism and atomic replacement."""

from __future__ import annotations

import csv
import io
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT

from atlas import drop as drop_module
from atlas.cli import main
from atlas.demo.extract import make_demo_extract, read_directory
from atlas.disclosure.pdf_text import pdf_text
from atlas.errors import OutputError
from atlas.recipe import load_recipe

SPEC_FILES = {
    "atlas.html",
    "ledger.json",
    "rejects.csv",
    "manifest.json",
    "reports/monitoring.html",
    "reports/data_quality.html",
    "tables/service_la_cohorts.csv",
    "tables/residence_lsoa_cohorts.csv",
    "tables/residence_la_cohorts.csv",
    "tables/site_activity.csv",
}
SPEC_COLUMNS = {
    "tables/service_la_cohorts.csv": [
        "la_code",
        "la_name",
        "cohort",
        "individuals",
        "population",
        "rate_per_1000",
        "rate_lower",
        "rate_upper",
        "suppressed",
    ],
    "tables/residence_lsoa_cohorts.csv": [
        "lsoa_code",
        "lsoa_name",
        "la_code",
        "cohort",
        "individuals",
        "suppressed",
    ],
    "tables/residence_la_cohorts.csv": [
        "la_code",
        "la_name",
        "cohort",
        "individuals",
        "suppressed",
    ],
    "tables/site_activity.csv": [
        "site_code",
        "site_name",
        "site_type",
        "la_code",
        "nsp_visits",
        "nsp_returns",
        "interventions",
        "individuals",
        "suppressed",
    ],
    "rejects.csv": ["file", "line", "reason"],
}


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_demo_drop_has_every_spec_output_with_spec_columns(demo_drop):
    files = _files(demo_drop)
    assert set(files) >= SPEC_FILES
    for path, columns in SPEC_COLUMNS.items():
        header = files[path].decode().splitlines()[0].split(",")
        assert header == columns, path


def test_demo_ledger_reconciles_with_rejects_and_tables(demo_drop):
    files = _files(demo_drop)
    ledger = json.loads(files["ledger.json"])
    rejects = _rows(files["rejects.csv"])
    for name, counts in ledger["files"].items():
        assert counts["read"] == counts["accepted"] + counts["rejected"], name
        assert counts["rejected"] == sum(r["file"] == name for r in rejects), name
        with open(ROOT / "boundaries" / "demo" / "extract" / name, newline="") as fh:
            records = sum(1 for _ in csv.reader(fh)) - 1
        assert counts["read"] == records, name
    assert sum(ledger["match_levels"].values()) == ledger["cohorts"]["all"]
    assert ledger["cohorts"]["all"] == sum(
        ledger["cohorts"][c] for c in ("pwid_psychoactive", "pwid_ipeds", "bi")
    )
    assert all(r["reason"] for r in rejects) and all(int(r["line"]) >= 2 for r in rejects)


def test_suppressed_cells_are_blank_and_nothing_small_is_published(demo_drop):
    files = _files(demo_drop)
    for path in (
        "tables/service_la_cohorts.csv",
        "tables/residence_lsoa_cohorts.csv",
        "tables/residence_la_cohorts.csv",
        "tables/site_activity.csv",
    ):
        for row in _rows(files[path]):
            if row["suppressed"] == "true":
                assert row["individuals"] == ""
                assert all(
                    row.get(c, "") == "" for c in ("rate_per_1000", "rate_lower", "rate_upper")
                )
            else:
                assert row["suppressed"] == "false"
                assert not 0 < int(row["individuals"]) < 5, (path, row)


def test_published_files_hold_no_client_identifiers(demo_drop):
    extract = ROOT / "boundaries" / "demo" / "extract"
    clients = _rows((extract / "clients.csv").read_bytes())
    needles = {c["client_ref"] for c in clients} | {
        c["date_of_birth"] for c in clients if c["date_of_birth"]
    }
    # a PDF is read as its text: its bytes are compressed, and its metadata holds the title
    # as hexadecimal UTF-16, where a ref like C002000 turns up by chance ("...6C0020...")
    text = "\n".join(
        (pdf_text(data) if path.endswith(".pdf") else data).decode("utf-8", "replace")
        for path, data in _files(demo_drop).items()
        if path != "manifest.json"
    )
    leaks = sorted(n for n in needles if n in text)
    assert leaks == []


def test_same_inputs_give_byte_identical_drops_apart_from_build_time(demo_drop, tmp_path):
    again = tmp_path / "again"
    CliRunner().invoke(main, ["build", str(ROOT / "builders" / "demo.toml"), "--out", str(again)])
    first, second = _files(demo_drop), _files(again)
    assert first.keys() == second.keys()
    for path in first:
        if path == "manifest.json":
            a, b = json.loads(first[path]), json.loads(second[path])
            a.pop("build_time"), b.pop("build_time")
            assert a == b
        else:
            assert first[path] == second[path], path


def test_manifest_records_recipe_hashes_and_versions(demo_drop):
    manifest = json.loads((demo_drop / "manifest.json").read_text())
    assert manifest["recipe"]["content"]["drop"]["name"] == "demo"
    assert len(manifest["inputs"]) == 7 + 5 + 1  # extract, geography, siting candidates
    assert all(len(h) == 64 for h in manifest["inputs"].values())
    assert {"ims-atlas", "pandas", "geopandas", "folium"} <= set(manifest["software"])


def test_a_failed_build_leaves_the_earlier_drop_untouched(demo_drop, tmp_path, monkeypatch):
    target = tmp_path / "demo"
    shutil.copytree(demo_drop, target)
    before = _files(target)

    def broken(*args, **kwargs):
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(drop_module, "render_atlas", broken)
    recipe = load_recipe(ROOT / "builders" / "demo.toml")
    with pytest.raises(RuntimeError, match="renderer exploded"):
        drop_module.build(recipe, target)
    assert _files(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]  # no temporary folder left


def test_a_failure_while_writing_leaves_the_earlier_drop_untouched(
    demo_drop, tmp_path, monkeypatch
):
    target = tmp_path / "demo"
    shutil.copytree(demo_drop, target)
    before = _files(target)
    files = {"a.txt": b"1", "tables/b.csv": b"2"}
    original = Path.write_bytes

    def failing(self, data):
        if self.name == "b.csv":
            raise OSError("disk full")
        return original(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing)
    with pytest.raises(OutputError, match=r"/demo: cannot write the drop: disk full$"):
        drop_module.write_atomically(target, files)
    monkeypatch.undo()
    assert _files(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]


def test_a_bad_extract_stops_the_build_with_a_clean_message(tmp_path):
    recipe = (ROOT / "builders" / "demo.toml").read_text()
    extract = tmp_path / "extract"
    shutil.copytree(ROOT / "boundaries" / "demo" / "extract", extract)
    (extract / "clients.csv").write_text("client_ref,site_code\nC1,S1\n")
    recipe = recipe.replace('path = "../boundaries/demo/extract"', f'path = "{extract}"')
    recipe = recipe.replace('"../boundaries', f'"{ROOT}/boundaries')
    path = tmp_path / "r.toml"
    path.write_text(recipe)
    result = CliRunner().invoke(main, ["build", str(path), "--out", str(tmp_path / "d")])
    assert result.exit_code == 1
    assert "clients.csv: missing required column(s): first_initial, last_initial" in result.output
    assert not (tmp_path / "d").exists()


class _Cells(HTMLParser):
    """Collect the text of every table cell of the table with a given id."""

    def __init__(self, table_id: str):
        super().__init__()
        self.table_id, self.inside, self.rows, self.cell = table_id, False, [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(self.cell.strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def test_monitoring_report_shows_the_published_numbers(demo_drop):
    ledger = json.loads((demo_drop / "ledger.json").read_text())
    parser = _Cells("cohort-summary")
    parser.feed((demo_drop / "reports" / "monitoring.html").read_text())
    body = {row[0]: row[2] for row in parser.rows[1:]}  # cohort, last quarter, 12 months, %
    assert body["All individuals"] == f"{ledger['cohorts']['all']:,}"
    assert body["PWID: psychoactive drugs"] == f"{ledger['cohorts']['pwid_psychoactive']:,}"


def test_demo_data_is_deterministic_and_matches_the_bundled_extract(tmp_path):
    directory = read_directory(ROOT / "boundaries" / "demo" / "postcodes.csv")
    make_demo_extract(
        tmp_path / "x",
        directory,
        ["E06900001", "E06900002", "E06900003", "E06900004"],
        seed=1,
        scale=1.0,
    )
    bundled = ROOT / "boundaries" / "demo" / "extract"
    assert _files(tmp_path / "x") == _files(bundled)
