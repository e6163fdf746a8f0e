"""The build's audit reuses disclosure control's attack only when the files publish exactly
the cells and groups that attack found safe; otherwise it attacks the files itself."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_audit import _counts, tables

from atlas.disclosure.audit import audit_files
from atlas.disclosure.suppress import protect
from atlas.errors import DisclosureError
from atlas.render.tables import render_tables

LSOAS = "tables/residence_lsoa_cohorts.csv"


def _published():
    counts = _counts(
        [[3, 2, 10], [1, 2, 10], [10, 10, 10]], [0, 0, 0], [[0, 0, 0]] * 2, [[14, 14, 30]]
    )
    return protect(counts, 5)


def test_the_files_of_protect_reuse_its_attack_and_audit_clean():
    published = _published()
    report = audit_files(render_tables(published), 5, 0, None, published.attacked)
    assert report.reused and report.clean
    assert report.solves == 0
    assert report.suppressed == published.primary + published.secondary
    assert "attacked by disclosure control (the files publish its cells" in report.summary()


def test_a_tampered_cell_is_attacked_again_and_exposed():
    published = _published()
    files = render_tables(published)
    text = files[LSOAS].decode()
    assert "E01000000,L0,E06000000,bi,,true" in text
    files[LSOAS] = text.replace(
        "E01000000,L0,E06000000,bi,,true", "E01000000,L0,E06000000,bi,10,false"
    ).encode()
    report = audit_files(files, 5, 0, None, published.attacked)
    assert not report.reused and report.solves > 0
    with pytest.raises(
        DisclosureError,
        match=r"cell lsoa:E01000001:bi can be narrowed to "
        r"exactly 10",
    ):
        report.check()


def test_a_group_protect_did_not_attack_is_attacked_again():
    counts = _counts(
        [[3, 2, 10], [1, 2, 10], [10, 10, 10], [9, 9, 9]],
        [0, 0, 1, 1],
        [[0, 0, 0]] * 2,
        [[14, 14, 30], [5, 5, 5]],
    )
    published = protect(counts, 5)
    files = render_tables(published)
    # the same cells, but one LSOA now in the other LA: the LSOA -> LA groups differ
    lines = files[LSOAS].decode().splitlines(keepends=True)
    moved = [
        line.replace(",E06000000,", ",E06000001,") if line.startswith("E01000001,") else line
        for line in lines
    ]
    assert moved != lines
    files[LSOAS] = "".join(moved).encode()
    report = audit_files(files, 5, 0, None, published.attacked)
    assert not report.reused and report.components > 0


def test_another_threshold_is_attacked_again():
    published = _published()
    report = audit_files(render_tables(published), 4, 0, None, published.attacked)
    assert not report.reused and report.components > 0


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.sampled_from([0, 5]), st.sampled_from([3, 5]))
def test_reuse_finds_what_the_full_attack_finds(counts, rounding, threshold):
    published = protect(counts, threshold, rounding)
    files = render_tables(published)
    full = audit_files(files, threshold, rounding)
    reused = audit_files(files, threshold, rounding, None, published.attacked)
    assert reused.reused and not full.reused
    assert reused.exposures == full.exposures == []
    assert (reused.cells, reused.suppressed) == (full.cells, full.suppressed)


def test_the_scan_finds_dates_of_birth_among_coordinates_and_skips_texts_without_dates():
    from atlas.disclosure.audit import Identifiers, scan

    ids = Identifiers(dates_of_birth={"1966-08-12"})
    coords = b'{"coordinates":[[-2.860318,53.440961],[-2.86,53.44]]}\n'
    assert scan("t.geojson", coords * 3, ids) == []
    assert scan("t.geojson", coords + b'{"born":"1966-08-12"}\n', ids) == [
        "t.geojson line 2: a client's date of birth"
    ]
    assert scan("t.geojson", coords + b"x 12/08/1966\n", ids) == [
        "t.geojson line 2: a client's date of birth"
    ]
