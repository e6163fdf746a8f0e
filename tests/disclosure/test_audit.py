"""Disclosure control under attack: the LP attacker, protection against it, the drop audit and
the scan for client identifiers (spec section 2, *Disclosure control*)."""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import ROOT, client, nsp, write_extract, write_recipe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas import drop as drop_module
from atlas.cli import main
from atlas.counting.aggregate import Counts
from atlas.counting.individuals import ALL, COHORTS
from atlas.counting.tally import TOTAL
from atlas.disclosure import attack
from atlas.disclosure.audit import Identifiers, audit_drop, audit_files, scan
from atlas.disclosure.suppress import CellTable, _register, knowledge, protect, round_to
from atlas.errors import DisclosureError
from atlas.extract.reader import read_extract
from atlas.recipe import load_recipe
from atlas.render.tables import render_tables

DEMO_EXTRACT = ROOT / "boundaries" / "demo" / "extract"

# Two LSOAs whose small psychoactive and IPED counts form a 2x2 block: every row and column
# has two suppressed cells, so "suppress one more cell per group" adds nothing, yet an
# attacker pins both L1 cells to 1..4 (L1 psy = 5 - L1 ipeds >= 1 since L1 ipeds + L2 ipeds = 4).
CRAFTED = {
    "L1:all": 15,
    "L1:psy": 3,
    "L1:ipeds": 2,
    "L1:bi": 10,
    "L2:all": 13,
    "L2:psy": 1,
    "L2:ipeds": 2,
    "L2:bi": 10,
    "L3:all": 30,
    "L3:psy": 10,
    "L3:ipeds": 10,
    "L3:bi": 10,
    "LA:all": 58,
    "LA:psy": 14,
    "LA:ipeds": 14,
    "LA:bi": 30,
}


def _crafted() -> CellTable:
    cells = CellTable()
    cells.add(pd.Series(list(CRAFTED)), pd.Series(list(CRAFTED.values())))
    for lsoa in ("L1", "L2", "L3"):
        cells.group(f"{lsoa}:all", [f"{lsoa}:psy", f"{lsoa}:ipeds", f"{lsoa}:bi"])
    for cohort in ("all", "psy", "ipeds", "bi"):
        cells.group(f"LA:{cohort}", [f"L{i}:{cohort}" for i in (1, 2, 3)])
    cells.group("LA:all", ["LA:psy", "LA:ipeds", "LA:bi"])
    return cells


def _attack(
    cells: CellTable, hidden: set[str], threshold: int = 5, rounding: int = 0
) -> dict[str, tuple[float, float]]:
    ids = list(cells.values)
    mask = np.array([c in hidden for c in ids])
    published = round_to(np.array(list(cells.values.values())), rounding)
    lo, hi = knowledge(published, mask, threshold, rounding)
    found = attack.intervals(
        attack.Problem(lo, hi, cells.matrix({c: i for i, c in enumerate(ids)}), mask)
    )
    return {ids[i]: (found.low[i], found.high[i]) for i in np.flatnonzero(mask)}


def test_the_one_more_per_group_heuristic_is_attacked_successfully():
    cells = _crafted()
    hidden, _ = cells.suppress(5)
    assert hidden == {"L1:psy", "L1:ipeds", "L2:psy", "L2:ipeds"}
    for total, parts in cells.groups:  # the heuristic's own rule holds...
        assert len(hidden & {total, *parts}) != 1
    found = _attack(cells, hidden)  # ...yet the LP narrows both L1 cells to 1..4
    assert found["L1:psy"] == pytest.approx((1.0, 4.0))
    assert found["L1:ipeds"] == pytest.approx((1.0, 4.0))
    assert found["L2:psy"] == pytest.approx((0.0, 3.0))


def test_protection_survives_the_attack_on_the_crafted_table_at_least_cost():
    cells = _crafted()
    hidden, primary, published = cells.protect(5)
    assert primary == 4
    # the two bi cells of the exposed rows (20 people) protect them; nothing else is hidden
    assert hidden == {"L1:psy", "L1:ipeds", "L2:psy", "L2:ipeds", "L1:bi", "L2:bi"}
    found = _attack(cells, hidden)
    assert found["L1:psy"] == pytest.approx((0.0, 4.0))
    assert found["L1:bi"] == pytest.approx((7.0, 15.0))
    lows, highs = zip(*found.values())
    assert not attack.exposed(np.array(lows), np.array(highs), 5).any()
    assert published == CRAFTED


def test_exposed_means_one_whole_value_or_only_small_values():
    low = np.array([3.0, 1.0, 0.0, 1.0, 2.2, 4.0, 0.0])
    high = np.array([3.0, 4.0, 4.0, 5.0, 2.9, 9.0, np.inf])
    assert attack.exposed(low, high, 5).tolist() == [True, True, False, False, True, False, False]


def test_rounding_is_to_the_nearest_base_and_the_attacker_knows_the_window():
    assert round_to(np.array([0, 5, 7, 8, 12, 13, 102]), 5).tolist() == [0, 5, 5, 10, 10, 15, 100]
    lo, hi = knowledge(np.array([0, 5, 10, 3]), np.array([False, False, False, True]), 5, 5)
    # a published 5 is 5..7 (3 and 4 would have been suppressed); a hidden cell is 0..inf
    assert lo.tolist() == [0, 5, 8, 0] and hi.tolist() == [0, 7, 12, np.inf]


def _counts(
    lsoa_values: list[list[int]],
    la_of: list[int],
    extra: list[list[int]],
    service: list[list[int]],
) -> Counts:
    """Counts of a hierarchical table: cohort counts per LSOA, the LA of each LSOA (the last
    LSOA of each LA stands for its "LSOA not known" cell), OUTSIDE/UNKNOWN, service LAs."""
    las = sorted(set(la_of))
    rows = []
    for i, (values, la) in enumerate(zip(lsoa_values, la_of)):
        for cohort, n in zip((ALL, *COHORTS), [sum(values), *values]):
            rows.append((f"E01{i:06d}", f"L{i}", f"E06{la:06d}", cohort, n))
    lsoa = pd.DataFrame(
        rows, columns=["lsoa_code", "lsoa_name", "la_code", "cohort", "individuals"]
    )
    per_la = lsoa.groupby(["la_code", "cohort"], sort=False)["individuals"].sum()
    rows = [
        (f"E06{la:06d}", "LA", c, int(per_la[(f"E06{la:06d}", c)]))
        for la in las
        for c in (ALL, *COHORTS)
    ]
    for code, values in zip(("OUTSIDE", "UNKNOWN"), extra):
        rows += [(code, code, c, n) for c, n in zip((ALL, *COHORTS), [sum(values), *values])]
    res = pd.DataFrame(rows, columns=["la_code", "la_name", "cohort", "individuals"])
    grand = res.groupby("cohort", sort=False)["individuals"].sum()
    total = pd.DataFrame(
        {
            "la_code": TOTAL,
            "la_name": "Area",
            "cohort": list(grand.index),
            "individuals": grand.to_numpy(),
        }
    )
    res = pd.concat([res, total], ignore_index=True)
    svc = pd.DataFrame(
        [
            (f"E06{la:06d}", "LA", c, n)
            for la, values in zip(las, service)
            for c, n in zip((ALL, *COHORTS), [sum(values), *values])
        ],
        columns=["la_code", "la_name", "cohort", "individuals"],
    )
    svc = pd.concat([svc, total], ignore_index=True).assign(population=10_000)
    sites = pd.DataFrame(
        {
            "site_code": ["S1", "S2"],
            "site_name": "x",
            "site_type": "agency",
            "la_code": f"E06{las[0]:06d}",
            "nsp_visits": 9,
            "nsp_returns": 1,
            "interventions": 2,
            "individuals": [3, 40],
        }
    )
    return Counts(svc, lsoa, res, sites, dict(zip(grand.index, grand)), "Area")


small = st.integers(0, 12)
cohort_counts = st.lists(small, min_size=3, max_size=3)


@st.composite
def tables(draw):
    n = draw(st.integers(2, 14))
    values = draw(st.lists(cohort_counts, min_size=n, max_size=n))
    la_of = sorted(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    las = sorted(set(la_of))
    extra = draw(st.lists(cohort_counts, min_size=2, max_size=2))
    service = draw(st.lists(cohort_counts, min_size=len(las), max_size=len(las)))
    return _counts(values, la_of, extra, service)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.sampled_from([0, 5]), st.sampled_from([3, 5]))
def test_random_hierarchical_tables_leave_the_attacker_nothing(counts, rounding, threshold):
    published = protect(counts, threshold, rounding)
    report = audit_files(render_tables(published), threshold, rounding)
    assert report.exposures == []
    assert report.suppressed == published.primary + published.secondary
    for frame in (published.residence_lsoa, published.residence_la, published.service_la):
        shown = frame["individuals"].dropna()
        assert not ((shown > 0) & (shown < threshold)).any()
        if rounding:
            assert (shown % rounding == 0).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.sampled_from([0, 5]), st.sampled_from([3, 5]), st.booleans())
def test_the_attack_given_the_threshold_finds_the_cells_exact_bounds_expose(
    counts, rounding, threshold, guard
):
    # the small cells hidden, alone (often pinned down) or with the one-more-per-group
    # heuristic's complements (now and then narrowed to small values)
    cells = CellTable()
    _register(cells, counts)
    ids = list(cells.values)
    true = np.array(list(cells.values.values()))
    chosen, _ = cells.suppress(threshold)
    hidden = ((true > 0) & (true < threshold)) | (guard and np.array([c in chosen for c in ids]))
    problem = CellTable.problem(
        round_to(true, rounding),
        hidden,
        cells.matrix({c: i for i, c in enumerate(ids)}),
        threshold,
        rounding,
    )
    exact = attack.intervals(problem)
    short = attack.intervals(problem, threshold=threshold)
    bad = hidden & attack.exposed(exact.low, exact.high, threshold)
    assert (hidden & attack.exposed(short.low, short.high, threshold)).tolist() == bad.tolist()
    assert short.low[bad] == pytest.approx(exact.low[bad])
    assert short.high[bad] == pytest.approx(exact.high[bad])


def test_the_attack_given_the_threshold_gives_exposed_cells_their_exact_bounds():
    cells = _crafted()
    ids = list(cells.values)
    hidden, _ = cells.suppress(5)
    mask = np.array([c in hidden for c in ids])
    problem = CellTable.problem(
        np.array(list(cells.values.values())),
        mask,
        cells.matrix({c: i for i, c in enumerate(ids)}),
        5,
        0,
    )
    found = attack.intervals(problem, threshold=5)
    bad = {ids[i] for i in np.flatnonzero(mask & attack.exposed(found.low, found.high, 5))}
    assert bad == {"L1:psy", "L1:ipeds"}
    for cell in bad:
        assert (found.low[ids.index(cell)], found.high[ids.index(cell)]) == pytest.approx(
            (1.0, 4.0)
        )


@pytest.mark.parametrize("parts", [[2] * 12, [1] * 5 + [0] * 7, [1, 1, 3, 4] * 4 + [9]])
def test_many_hidden_parts_of_one_group_are_shown_safe_by_few_tables(parts):
    # a vertex puts the group's total on one hidden part: one table per part without the lift
    cells = CellTable()
    ids = [f"p{i}" for i in range(len(parts))]
    cells.add(pd.Series(["t", *ids]), pd.Series([sum(parts), *parts]))
    cells.group("t", ids)
    hidden = np.array([False] + [0 < v < 5 for v in parts])
    problem = CellTable.problem(
        np.array([sum(parts), *parts]),
        hidden,
        cells.matrix({c: i for i, c in enumerate(["t", *ids])}),
        5,
        0,
    )
    exact = attack.intervals(problem)
    short = attack.intervals(problem, threshold=5)
    bad = attack.exposed(exact.low, exact.high, 5) & hidden
    assert (attack.exposed(short.low, short.high, 5) & hidden).tolist() == bad.tolist()
    assert short.solves < exact.solves


def test_a_tampered_table_fails_the_audit_naming_file_and_line(tmp_path):
    counts = _counts(
        [[3, 2, 10], [1, 2, 10], [10, 10, 10]], [0, 0, 0], [[0, 0, 0]] * 2, [[14, 14, 30]]
    )
    files = render_tables(protect(counts, 5))
    assert audit_files(files, 5).clean
    text = files["tables/residence_lsoa_cohorts.csv"].decode()
    text = text.replace("E01000000,L0,E06000000,bi,,true", "E01000000,L0,E06000000,bi,10,false")
    files["tables/residence_lsoa_cohorts.csv"] = text.encode()
    report = audit_files(files, 5)
    assert any("narrowed" in e for e in report.exposures)
    with pytest.raises(
        DisclosureError,
        match=r"cell lsoa:E01000001:bi can be narrowed to "
        r"exactly 10",
    ):
        report.check()


def test_a_rate_beside_a_suppressed_count_fails_the_audit():
    counts = _counts([[3, 2, 10], [10, 10, 10]], [0, 0], [[0, 0, 0]] * 2, [[2, 14, 30]])
    published = protect(counts, 5)
    svc = published.service_la
    svc.loc[svc["suppressed"], "rate_per_1000"] = "0.2"
    with pytest.raises(
        DisclosureError,
        match=r"tables/service_la_cohorts.csv line 3: "
        r"rate_per_1000 is published for a suppressed",
    ):
        audit_files(render_tables(published), 5).check()


def test_the_whole_demo_drop_audits_clean(demo_drop):
    result = CliRunner().invoke(main, ["audit", str(demo_drop), "--extract", str(DEMO_EXTRACT)])
    assert result.exit_code == 0, result.output
    assert "passed" in result.output and ": 0 exposed;" in result.output
    # the build's files, the LA packs' (their PDFs read as text) and the .ims-atlas-drop
    # marker: every file in the folder is scanned
    files = sum(p.is_file() for p in demo_drop.rglob("*"))
    assert files > 25 and any(demo_drop.glob("reports/la/*/monitoring.html"))
    assert f"{files} files scanned for client identifiers: 0 found" in result.output
    report = audit_drop(demo_drop, read_extract(DEMO_EXTRACT))
    # every count of people the drop publishes, read back from its files: as many suppressed
    # as the build's disclosure control says it suppressed
    settings = json.loads((demo_drop / "ledger.json").read_text())["suppression"]
    assert (
        report.suppressed == settings["primary_cells"] + settings["secondary_cells"] == 1261
    )  # with the atlas years (issue 17)
    assert report.threshold == 5 and report.clean


def test_the_scan_finds_a_planted_postcode_date_of_birth_and_client_ref(demo_drop, tmp_path):
    drop = tmp_path / "demo"
    shutil.copytree(demo_drop, drop)
    clients = pd.read_csv(DEMO_EXTRACT / "clients.csv", dtype=str)
    row = clients[clients["postcode"].str.fullmatch(r"[A-Z]{2}\d+ \d[A-Z]{2}", na=False)].iloc[0]
    with open(drop / "rejects.csv", "a") as fh:
        fh.write(f"clients.csv,7,bad postcode {row['postcode'].lower().replace(' ', '')}\n")
    page = (drop / "reports" / "monitoring.html").read_bytes()
    planted = f"<p>{row['client_ref']} born {row['date_of_birth']}</p></body>".encode()
    (drop / "reports" / "monitoring.html").write_bytes(page.replace(b"</body>", planted))
    result = CliRunner().invoke(main, ["audit", str(drop), "--extract", str(DEMO_EXTRACT)])
    assert result.exit_code == 1
    lines = (drop / "rejects.csv").read_text().count("\n")
    at = page.index(b"</body>") + 3  # the byte offset of the client_ref in the page
    assert result.output.splitlines()[1:] == [
        f"  rejects.csv line {lines}: a client's full postcode",
        f"  reports/monitoring.html byte {at}: a client_ref",
        f"  reports/monitoring.html byte {at + 13}: a client's date of birth",
    ]
    assert row["postcode"] not in result.output and row["client_ref"] not in result.output


def test_the_scan_ignores_numbers_that_merely_look_like_short_refs():
    ids = Identifiers(client_refs={"C000001"}, dates_of_birth={"1966-08-12"}, postcodes={"ZX65AD"})
    assert scan("t.csv", b"a,12,1966-08-13,ZX6 5AE,C0000011\n", ids) == []
    assert scan("t.csv", b"x\n12/08/1966;zx65ad\n", ids) == [
        "t.csv line 2: a client's date of birth",
        "t.csv line 2: a client's full postcode",
    ]


def test_a_build_that_fails_its_audit_leaves_the_earlier_drop_untouched(
    demo_drop, tmp_path, monkeypatch
):
    target = tmp_path / "demo"
    shutil.copytree(demo_drop, target)
    before = {p: p.read_bytes() for p in target.rglob("*") if p.is_file()}
    weak = lambda counts, threshold, rounding=0, extra=(), keys=None: protect(  # noqa: E731
        counts, 2, rounding, extra, keys
    )
    monkeypatch.setattr(drop_module, "protect", weak)
    with pytest.raises(
        DisclosureError,
        match=r"fails its disclosure audit(.|\n)*"
        r"tables/\w+\.csv line \d+: a count below 5",
    ):
        drop_module.build(load_recipe(ROOT / "builders" / "demo.toml"), target)
    assert {p: p.read_bytes() for p in target.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]


def test_rounding_recipe_option_rounds_every_published_count(tmp_path):
    recipe = (
        (ROOT / "builders" / "demo.toml")
        .read_text()
        .replace("threshold = 5", "threshold = 5\nrounding = 5")
        .replace('"../', f'"{ROOT}/')
    )
    path = tmp_path / "r.toml"
    path.write_text(recipe)
    content = drop_module.compute_drop(load_recipe(path))
    for name in ("service_la", "residence_lsoa", "residence_la", "site_activity"):
        shown = getattr(content.published, name)["individuals"].dropna()
        assert (shown % 5 == 0).all() and len(shown)
    assert content.ledger["suppression"]["rounding"] == 5
    svc = content.published.service_la
    row = svc[(svc["la_code"] == TOTAL) & (svc["cohort"] == ALL)].iloc[0]
    assert row["rate_per_1000"] == f"{row['individuals'] / row['population'] * 1000:.1f}"


def test_a_group_hidden_whole_is_unbounded_above_not_exposed():
    cells = CellTable()
    cells.add(pd.Series(["t", "a", "b"]), pd.Series([3, 1, 2]))
    cells.group("t", ["a", "b"])
    found = _attack(cells, {"t", "a", "b"})
    assert found == {"t": (0.0, np.inf), "a": (0.0, np.inf), "b": (0.0, np.inf)}


def test_tables_that_do_not_agree_fail_the_audit_with_a_clear_message(demo_drop, tmp_path):
    drop = tmp_path / "drop"
    shutil.copytree(demo_drop, drop)
    lsoa = drop / "tables" / "residence_lsoa_cohorts.csv"
    lsoa.write_text(lsoa.read_text().replace(",E06900001,", ",E06999999,", 4))
    result = CliRunner().invoke(main, ["audit", str(drop)])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "the tables do not agree" in result.output and "E06999999" in result.output


def _tiny_recipe(tmp_path, geo, people: list[dict[str, str]]):
    """A recipe for the tiny geography and an extract of these clients, one NSP visit each."""
    visits = [nsp(f"T{i}", c["client_ref"]) for i, c in enumerate(people)]
    extract = write_extract(
        tmp_path / "ex", {"clients.csv": people, "nsp_transactions.csv": visits}
    )
    return write_recipe(tmp_path, geo, extract)


def test_the_build_date_is_not_taken_for_a_date_of_birth(tmp_path, geo, monkeypatch):
    """Issue 13, point 8: SOURCE_DATE_EPOCH=0 dates the build 1970-01-01, a client's birthday;
    the date where the build writes its own is not a leak, the same date anywhere else is."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    people = [
        client(f"C00000{i}", fi=chr(65 + i), dob="1970-01-01", postcode="AA1 1AA")
        for i in range(6)
    ]
    content = drop_module.compute_drop(load_recipe(_tiny_recipe(tmp_path, geo, people)))
    assert b"built 1970-01-01</p>" in content.files["atlas.html"]
    assert json.loads(content.files["manifest.json"])["build_time"].startswith("1970-01-01T")
    files = dict(content.files)
    page = files["reports/monitoring.html"]
    files["reports/monitoring.html"] = page.replace(b"</body>", b"<p>1970-01-01</p></body>")
    ids = Identifiers.from_extract(read_extract(tmp_path / "ex"))
    with pytest.raises(
        DisclosureError,
        match=rf"\n  reports/monitoring.html byte {page.index(b'</body>') + 3}: "
        r"a client's date of birth$",
    ):
        audit_files(files, 5, identifiers=ids).check()


def test_a_reference_that_is_an_ordinary_word_is_not_searched_for_and_said_so(
    tmp_path, geo, caplog
):
    """Issue 13, point 8: a client_ref of ``false`` failed every build (every table publishes
    ``false``) without saying which reference."""
    people = [client(f"C00000{i}", fi=chr(65 + i), postcode="AA1 1AA") for i in range(5)]
    people.append(client("false", fi="Z", postcode="AA1 1AA"))
    recipe = load_recipe(_tiny_recipe(tmp_path, geo, people))
    with caplog.at_level(logging.WARNING, logger="atlas.disclosure.audit"):
        content = drop_module.compute_drop(recipe)
    assert caplog.messages == [
        "identifier scan: 1 client_ref is an ordinary word or number (like false, TOTAL or 1), "
        "not searched for in the drop (clients.csv line 7)"
    ]
    assert b",false\n" in content.files["tables/site_activity.csv"]


def test_a_transaction_id_holding_a_reference_fails_the_audit(tmp_path):
    """Issue 13, point 4: the scan looked for whole tokens, and ``C000002-visit1`` is not one."""
    extract = write_extract(
        tmp_path / "ex",
        {
            "clients.csv": [client("C000002")],
            "nsp_transactions.csv": [nsp("C000002-visit1", "C000002")] * 2,
        },
    )
    ids = Identifiers.from_extract(read_extract(extract))
    rejects = (
        b"file,line,reason\n"
        b"nsp_transactions.csv,3,duplicate transaction_id 'C000002-visit1' (first at line 2)\n"
    )
    report = audit_files({"rejects.csv": rejects}, 5, identifiers=ids)
    assert report.leaks == ["rejects.csv line 2: a client_ref"]
