"""The quality gate: a drop is not published, in silence, from an extract largely set aside or
in which no one is seen; ``--allow-rejects`` publishes it anyway, and its notes say so."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner
from conftest import client, intervention, nsp, write_extract, write_recipe

from atlas.cli import main
from atlas.extract.quality import quality_problems
from atlas.extract.reader import read_extract

ADVICE = "fix the extract, or build with --allow-rejects to publish anyway"


def _ten_percent_rejected(tmp_path):
    """20 visits, of which 2 are rejected (lines 5 and 9), and one more with a problem of
    each kind beside them."""
    visits = [nsp(f"T{i}", "C1") for i in range(1, 21)]
    visits[3] = nsp("T4", "C1", date="2017-02-30")
    visits[7] = nsp("T8", "C9", date="2017-13-01")
    return write_extract(
        tmp_path / "ex",
        {"clients.csv": [client("C1")], "nsp_transactions.csv": visits},
    )


def _build(tmp_path, geo, extract, *options, keys: str = ""):
    recipe = write_recipe(tmp_path, geo, extract)
    if keys:
        path_line = f'path = "{extract}"'
        recipe.write_text(recipe.read_text().replace(path_line, f"{path_line}\n{keys}"))
    out = tmp_path / "d"
    return CliRunner().invoke(main, ["build", str(recipe), "--out", str(out), *options]), out


def test_more_than_max_rejected_pct_stops_the_build_naming_file_share_and_reasons(tmp_path, geo):
    result, out = _build(tmp_path, geo, _ten_percent_rejected(tmp_path))
    assert result.exit_code == 1
    assert result.output.splitlines()[-2:] == [
        "error: nsp_transactions.csv: 10.0% of rows rejected (2 of 20; more than the 5% "
        "allowed by [extract] max_rejected_pct): "
        '"visit_date is not a valid ISO date (YYYY-MM-DD)" in 2 row(s) (e.g. line 5), '
        '"client_ref is not in clients.csv" in 1 row(s) (e.g. line 9)',
        ADVICE,
    ]
    assert not out.exists()


def test_the_share_allowed_is_set_in_the_recipe(tmp_path, geo):
    result, out = _build(
        tmp_path, geo, _ten_percent_rejected(tmp_path), keys="max_rejected_pct = 10"
    )
    assert result.exit_code == 0, result.output
    ledger = json.loads((out / "ledger.json").read_text())
    assert "published_with_allow_rejects" not in ledger


class _Paragraph(HTMLParser):
    """The text of the paragraph with a given id."""

    def __init__(self, html: str, pid: str):
        super().__init__()
        self.pid, self.inside, self.text = pid, False, ""
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.inside = self.inside or (tag == "p" and dict(attrs).get("id") == self.pid)

    def handle_endtag(self, tag):
        self.inside = self.inside and tag != "p"

    def handle_data(self, data):
        if self.inside:
            self.text += data


def test_allow_rejects_publishes_and_the_notes_say_so(tmp_path, geo):
    result, out = _build(tmp_path, geo, _ten_percent_rejected(tmp_path), "--allow-rejects")
    assert result.exit_code == 0, result.output
    note = (
        "nsp_transactions.csv: 10.0% of rows rejected (2 of 20; more than the 5% allowed); "
        "see rejects.csv"
    )
    assert f"WARNING: built with --allow-rejects: {note}" in result.output
    ledger = json.loads((out / "ledger.json").read_text())
    assert ledger["published_with_allow_rejects"] == [note]
    for report in ("monitoring.html", "data_quality.html"):
        text = " ".join(
            _Paragraph((out / "reports" / report).read_text(), "note-quality").text.split()
        )
        assert text == (
            "Not fit to publish as it stands. The extract failed the build's quality check, "
            f"and the drop was published anyway (built with --allow-rejects): {note}."
        ), report


def test_a_drop_that_passes_has_no_quality_note(tmp_path, geo):
    extract = write_extract(
        tmp_path / "ex",
        {"clients.csv": [client("C1")], "nsp_transactions.csv": [nsp("T1", "C1")]},
    )
    result, out = _build(tmp_path, geo, extract, "--allow-rejects")
    assert result.exit_code == 0, result.output
    assert "note-quality" not in (out / "reports" / "monitoring.html").read_text()
    assert "published_with_allow_rejects" not in json.loads((out / "ledger.json").read_text())


@pytest.mark.parametrize(
    ("files", "accepted"),
    [
        (
            {"nsp_transactions.csv": [nsp("T1", "C1", date="2016-06-01")]},
            "nsp_transactions.csv: 1 row(s) accepted",
        ),
        (
            {"nsp_transactions.csv": [], "interventions.csv": []},
            "nsp_transactions.csv: 0 row(s) accepted; interventions.csv: 0 row(s) accepted",
        ),
    ],
    ids=["activity outside the period", "header-only activity files"],
)
def test_no_one_seen_in_the_period_stops_the_build(tmp_path, geo, files, accepted):
    extract = write_extract(tmp_path / "ex", {"clients.csv": [client("C1")], **files})
    result, out = _build(tmp_path, geo, extract)
    assert result.exit_code == 1
    assert result.output.splitlines()[-2:] == [
        "error: no one is seen in 2017-18: no accepted NSP visit or intervention is dated in "
        f"the period ({accepted})",
        ADVICE,
    ]
    assert not out.exists()
    result, out = _build(tmp_path, geo, extract, "--allow-rejects")
    assert result.exit_code == 0, result.output
    assert json.loads((out / "ledger.json").read_text())["published_with_allow_rejects"] == [
        "no one is seen in 2017-18: the drop counts no individuals"
    ]


def test_the_commonest_problems_are_counted_per_problem_with_an_example_line(tmp_path):
    extract = read_extract(
        write_extract(
            tmp_path / "ex",
            {
                "clients.csv": [client("C1")],
                "interventions.csv": [
                    intervention("I1", "C1"),
                    intervention("I1", "C1"),
                    intervention("I1", "C9", site="S9"),
                    intervention("I2", "C9", date="bad"),
                    intervention("", "C1"),
                    intervention("I3", "C1", site="S9"),
                ],
            },
        )
    )
    [problem] = quality_problems(extract, 5, seen=1, period="2017-18")
    assert problem.detail == (
        "interventions.csv: 83.3% of rows rejected (5 of 6; more than the 5% allowed by "
        '[extract] max_rejected_pct): "duplicate intervention_id" in 2 row(s) (e.g. line 3), '
        '"client_ref is not in clients.csv" in 2 row(s) (e.g. line 4), '
        '"site_code is not in sites.csv" in 2 row(s) (e.g. line 4) and 2 other problem(s)'
    )


def test_a_drop_with_no_site_accepted_builds_with_allow_rejects(tmp_path, geo):
    """Every site rejected leaves no activity and no one seen: the reports used to crash
    (``KeyError: 1``, a quarter with no column); with --allow-rejects the drop is built."""
    extract = write_extract(
        tmp_path / "ex",
        {"clients.csv": [client("C1")], "nsp_transactions.csv": [nsp("T1", "C1")]},
    )
    (extract / "sites.csv").write_text(
        "site_code,site_name,site_type,postcode\nS1,Alpha,clinic,AA1 1AA\n"
    )
    result, out = _build(tmp_path, geo, extract)
    assert result.exit_code == 1
    assert (
        "error: sites.csv: 100.0% of rows rejected (1 of 1; more than the 5% allowed by [extract] "
        'max_rejected_pct): "site_type is not one of agency, pharmacy" in 1 row(s) (e.g. line 2)'
    ) in result.output.splitlines()
    result, out = _build(tmp_path, geo, extract, "--allow-rejects")
    assert result.exit_code == 0, result.output
    ledger = json.loads((out / "ledger.json").read_text())
    assert ledger["cohorts"]["all"] == 0
    assert len(ledger["published_with_allow_rejects"]) == 4  # three files, and no one seen
