"""The linked counts on the demo: the audit, which reads the drop's files alone, attacks them
with everything else and finds nothing; a tampered linked figure, a keyed attributor or the key
in a published file fails it; a file keyed with another key is reported in one line."""

from __future__ import annotations

import logging
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import ROOT
from partners import write_partner_files
from tiny_link import key_file

from atlas.cli import main
from atlas.disclosure.audit import audit_drop
from atlas.disclosure.published_model import table_cells
from atlas.drop import compute_stages
from atlas.recipe import load_recipe

BOUNDARIES = ROOT / "boundaries"


def _recipe(folder: Path, partners: dict[str, Path], key: Path, extra: str = "") -> Path:
    text = (ROOT / "builders" / "demo.toml").read_text().split("[siting]")[0]
    text = text.replace('"../boundaries', f'"{BOUNDARIES}').replace(
        "threshold = 5", f"threshold = 5\n{extra}"
    )
    text += f"""
[reports]
pdf = false

[linkage]
key_file = "{key}"
treatment = "{partners["treatment_hashed"]}"
deaths = "{partners["deaths_hashed"]}"
"""
    path = folder / "recipe.toml"
    path.write_text(text)
    return path


def _keyed(folder: Path, key: Path) -> dict[str, Path]:
    paths = write_partner_files(folder / "partners")
    for name in ("treatment", "deaths"):
        out = folder / "partners" / f"{name}_hashed.csv"
        result = CliRunner().invoke(
            main, ["link-key", str(paths[name]), "--key-file", str(key), "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        paths[f"{name}_hashed"] = out
    return paths


def build_linked_demo(folder: Path) -> Path:
    """The demo built with the fictional partner files keyed and linked (no PDFs)."""
    key = key_file(folder / "linkage.key")
    recipe = _recipe(folder, _keyed(folder, key), key)
    out = folder / "drop"
    result = CliRunner().invoke(main, ["build", str(recipe), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def linked_demo(tmp_path_factory) -> Path:
    return build_linked_demo(tmp_path_factory.mktemp("linked"))


def test_the_audit_attacks_the_linked_cells_from_the_files_and_finds_nothing(linked_demo):
    report = audit_drop(linked_demo)
    assert report.clean, report.exposures
    assert not report.reused  # attacked from the files, not taken from the build
    match = pd.read_csv(linked_demo / "reports/csv/monitoring_treatment_match.csv", dtype=str)
    deaths = pd.read_csv(linked_demo / "reports/csv/monitoring_deaths.csv", dtype=str)
    # the linked cells are among the cells attacked, some of them suppressed
    assert deaths["contact"].isna().any()
    assert {f"treat:TOTAL:all:{m}" for m in ("both", "ims_only")} <= set(report.values)
    assert match.shape[0] == 20  # 4 LAs and the area, 4 cohorts each


def _copy(drop: Path, tmp_path: Path) -> Path:
    out = tmp_path / "drop"
    shutil.copytree(drop, out)
    return out


def test_a_suppressed_linked_count_shown_fails_the_audit(linked_demo, tmp_path):
    out = _copy(linked_demo, tmp_path)
    path = out / "reports/csv/monitoring_deaths.csv"
    deaths = pd.read_csv(path, dtype=str, keep_default_na=False)
    row = int(deaths.index[deaths["contact"] == ""][0])
    deaths.loc[row, "contact"] = "3"
    deaths.to_csv(path, index=False)
    report = audit_drop(out)
    assert f"reports/csv/monitoring_deaths.csv line {row + 2}: a count below 5 is published" in (
        report.exposures
    ), report.exposures


def test_a_share_not_recomputed_from_its_cells_fails_the_audit(linked_demo, tmp_path):
    out = _copy(linked_demo, tmp_path)
    path = out / "reports/csv/monitoring_treatment_match.csv"
    text = path.read_text()
    row = text.splitlines()[-4]  # the area's all
    fields = row.split(",")
    fields[-2] = "99.9"
    path.write_text(text.replace(row, ",".join(fields)))
    report = audit_drop(out)
    assert any(
        "monitoring_treatment_match.csv line 18: both_pct is 99.9" in e for e in report.exposures
    ), report.exposures


def test_a_keyed_attributor_or_the_key_in_a_published_file_is_found(tmp_path):
    """The build's identifier scan knows the keyed attributors of its own individuals and the
    key: one copied into a report is found and the drop is not published."""
    key = key_file(tmp_path / "linkage.key")
    recipe = load_recipe(_recipe(tmp_path, _keyed(tmp_path, key), key))
    st = compute_stages(recipe)
    assert st.linkage is not None
    secret = st.linkage.secrets[0]
    assert re.fullmatch("[0-9a-f]{64}", secret)
    from atlas.disclosure.audit import Identifiers, audit_files

    ids = Identifiers().with_linkage(st.linkage.secrets, st.linkage.postcodes)
    files = {
        "reports/x.csv": f"a,b\n1,{secret}\n".encode(),
        "reports/y.csv": f"a\n{key.read_bytes().decode().strip()}\n".encode(),
        "reports/z.csv": f"a\n{st.linkage.postcodes[0]}\n".encode(),
    }
    report = audit_files(files, 5, identifiers=ids)
    assert report.leaks == [
        "reports/x.csv line 2: a keyed attributor or the linkage key",
        "reports/y.csv line 2: a keyed attributor or the linkage key",
        "reports/z.csv line 2: a client's full postcode",
    ]


def test_a_file_keyed_with_another_key_is_reported_in_one_line(tmp_path, caplog):
    ours = key_file(tmp_path / "ours.key")
    theirs = key_file(tmp_path / "theirs.key", b"the partner's own key, not ours!\n")
    recipe = load_recipe(_recipe(tmp_path, _keyed(tmp_path, theirs), ours))
    with caplog.at_level(logging.WARNING):
        st = compute_stages(recipe)
    notes = [r.getMessage() for r in caplog.records if "another key file" in r.getMessage()]
    assert notes == [
        "treatment_hashed.csv: only 0 of its 1,275 keyed attributors match an IMS client "
        "(under 0.5%); was it keyed with another key file? Check that the partner used the "
        "same [linkage] key_file with ims-atlas link-key"
    ]
    assert st.linkage is not None
    assert st.linkage.ledger["possible_wrong_key"] == ["treatment_hashed.csv"]
    # the same files keyed with our key match: no warning
    caplog.clear()
    recipe = load_recipe(_recipe(tmp_path, _keyed(tmp_path, ours), ours))
    with caplog.at_level(logging.WARNING):
        compute_stages(recipe)
    assert not [r for r in caplog.records if "another key file" in r.getMessage()]


class _Text(HTMLParser):
    """The text of the element with a given id."""

    def __init__(self, wanted: str):
        super().__init__()
        self.wanted, self.depth, self.parts = wanted, 0, []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += 1
        elif dict(attrs).get("id") == self.wanted:
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)

    @classmethod
    def of(cls, page: str, wanted: str) -> str:
        parser = cls(wanted)
        parser.feed(page)
        return " ".join(" ".join(parser.parts).split())


def test_the_report_section_shows_the_published_figures(linked_demo):
    page = (linked_demo / "reports/monitoring.html").read_text()
    match = pd.read_csv(
        linked_demo / "reports/csv/monitoring_treatment_match.csv",
        dtype=str,
        keep_default_na=False,
    )
    area = match[(match["la_code"] == "TOTAL") & (match["cohort"] == "all")].iloc[0]
    headline = _Text.of(page, "treatment-headline")
    assert headline.startswith(
        f"Of the {int(area['seen']):,} individuals seen by IMS services in the full year "
        f"2017-18, {int(area['both']):,} ({area['both_pct']}%) were also in structured "
        f"treatment in the period, and {int(area['ims_only']):,} ({area['ims_only_pct']}%) "
        "only in IMS."
    )
    cells = [text for table, text in table_cells(page) if table == "treatment-match"]
    assert len(cells) == 6 * len(match)  # six figures a row
    shown = [c.strip() for c in cells[:6]]
    first = match.iloc[0]
    assert shown[1:4] == [f"{int(first[c]):,}" for c in ("seen", "both", "ims_only")]
    deaths = pd.read_csv(
        linked_demo / "reports/csv/monitoring_deaths.csv", dtype=str, keep_default_na=False
    )
    years = sorted(set(deaths["year"]))
    for year in years:
        assert _Text.of(page, f"deaths-{year}").startswith(year)
    # a suppressed count is the suppression mark, never a number
    suppressed = deaths[deaths["deaths"] == ""]
    row = suppressed.iloc[0]
    year_rows = deaths[deaths["year"] == row["year"]].reset_index(drop=True)
    k = int(year_rows.index[year_rows["la_code"] == row["la_code"]][0])
    table = [t for tb, t in table_cells(page) if tb == f"deaths-{row['year']}"]
    assert len(table) == 9 * len(year_rows)  # nine figures a row
    assert table[9 * k].strip() == "*"  # its deaths
    assert table[9 * k + 1].strip() == "*"  # and its rate withheld with it
