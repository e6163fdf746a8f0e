"""The audit reads the year in numbers and the equipment table back (issue 16, items 1 and 3):
the attack finds nothing in an untouched drop, and every tamper that would reveal a
suppressed count, or publish a figure beside a withheld one, is a finding naming the place."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from year_extract import ALPHA, BETA, build_year_drop

from atlas.disclosure.audit import audit_files

YEAR = "reports/csv/monitoring_year_numbers.csv"
EQUIPMENT = "reports/csv/monitoring_equipment.csv"


@pytest.fixture(scope="module")
def drop(tmp_path_factory) -> dict[str, bytes]:
    return build_year_drop(tmp_path_factory.mktemp("year_audit")).files


@pytest.fixture(scope="module")
def small_beta(tmp_path_factory) -> dict[str, bytes]:
    return build_year_drop(tmp_path_factory.mktemp("year_audit_small"), small_beta=True).files


def tampered(files: dict[str, bytes], path: str, change: Callable[[str], str]) -> dict[str, bytes]:
    out = dict(files)
    out[path] = change(files[path].decode()).encode()
    assert out[path] != files[path], f"the tamper changed nothing in {path}"
    return out


def row(la: str, change: Callable[[list[str]], None]) -> Callable[[str], str]:
    """Change the CSV row of one LA (a list of its fields)."""

    def run(text: str) -> str:
        lines = text.split("\n")
        for i, line in enumerate(lines):
            if line.startswith(f"{la},"):
                fields = line.split(",")
                change(fields)
                lines[i] = ",".join(fields)
        return "\n".join(lines)

    return run


def column(files: dict[str, bytes], path: str, name: str) -> int:
    return files[path].decode().split("\n", 1)[0].split(",").index(name)


def test_the_attack_finds_nothing(drop, small_beta):
    for files in (drop, small_beta):
        report = audit_files(files, 5)  # no build model given: the LP attack runs
        assert report.exposures == []
        assert not report.reused and report.solves > 0
    assert any(p.endswith("monitoring_year_numbers.csv") for p in drop)


def set_field(path_files: dict[str, bytes], path: str, match: dict[str, str], col: str, to: str):
    """The files with ``col`` set to ``to`` in the rows of ``path`` matching ``match``."""

    def change(text: str) -> str:
        lines = text.split("\n")
        head = lines[0].split(",")
        for i, line in enumerate(lines[1:], 1):
            fields = line.split(",")
            if line and all(fields[head.index(k)] == v for k, v in match.items()):
                fields[head.index(col)] = to
                lines[i] = ",".join(fields)
        return "\n".join(lines)

    return tampered(path_files, path, change)


def test_a_review_beside_a_person_reviewed_alone_is_an_exposure(drop):
    # Beta's one review (Q4) published in both quarterly tables: 1 review, so 1 person
    files = set_field(
        drop,
        "reports/csv/monitoring_la_activity.csv",
        {"la_code": BETA, "quarter": "4"},
        "wellbeing_reviews",
        "1",
    )
    files = set_field(
        files,
        "reports/csv/data_quality_activity.csv",
        {"code": BETA, "quarter": "4"},
        "wellbeing_reviews",
        "1",
    )
    report = audit_files(files, 5)
    assert any(
        re.fullmatch(rf"cell yn:reviewed:{BETA} can be narrowed to .*", e)
        for e in report.exposures
    ), report.exposures
    # and the year's figure beside it is no longer the sum of its quarters
    assert (
        f"{YEAR} line 3: wellbeing_reviews is withheld, but its published quarters give 1"
        in report.exposures
    )


def test_a_small_count_of_people_reviewed_is_a_finding(drop):
    k = column(drop, YEAR, "people_reviewed")

    def one(fields: list[str]) -> None:
        fields[k] = "1"

    report = audit_files(tampered(drop, YEAR, row(BETA, one)), 5)
    assert f"{YEAR} line 3: a count below 5 is published" in report.exposures


def test_a_share_that_is_not_its_cells_is_a_finding(drop):
    k = column(drop, YEAR, "returns_pct")

    def wrong(fields: list[str]) -> None:
        fields[k] = "50.0"

    report = audit_files(tampered(drop, YEAR, row(ALPHA, wrong)), 5)
    assert (
        f"{YEAR} line 2: returns_pct is 50.0, but the figures beside it give 18.2"
        in report.exposures
    )


def test_figures_beside_withheld_activity_are_findings(small_beta):
    k = column(small_beta, YEAR, "intervention_labels")

    def labels(fields: list[str]) -> None:
        fields[k] = "1"

    report = audit_files(tampered(small_beta, YEAR, row(BETA, labels)), 5)
    assert (
        f"{YEAR} line 3: intervention_labels is published beside withheld interventions"
        in report.exposures
    )
    needles = column(small_beta, EQUIPMENT, "needles")

    def items(fields: list[str]) -> None:
        if fields[2:4] == ["1", "pharmacy"]:
            fields[needles] = "40"

    report = audit_files(tampered(small_beta, EQUIPMENT, row(BETA, items)), 5)
    assert (
        f"{EQUIPMENT} line 11: items are published beside withheld NSP visits" in report.exposures
    )


def test_a_page_figure_no_csv_publishes_is_a_finding(drop):
    page = "reports/monitoring.html"
    report = audit_files(
        tampered(
            drop,
            page,
            lambda t: t.replace("Brief Intervention 5;", "Brief Intervention 8123;"),
        ),
        5,
    )
    assert any(
        e.startswith(f"{page} table year-numbers-own cell") and "8123 is no published figure" in e
        for e in report.exposures
    ), report.exposures
