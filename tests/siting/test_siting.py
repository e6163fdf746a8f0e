"""NSP site planning (issue 7): the exact MCLP, candidates, disclosure control, the drop."""

from __future__ import annotations

import csv
import io
import itertools
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import client, nsp, write_extract, write_recipe
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas.cli import main
from atlas.drop import build
from atlas.errors import RecipeError
from atlas.geography.areas import load_geography
from atlas.recipe import load_recipe
from atlas.render.siting_layer import siting_data
from atlas.siting.model import SitingError, coverage_matrix, plan_sites, read_candidates
from atlas.siting.publish import PublishedPlan, publish_plan, published_demand

# ------------------------------------------------------------ the optimisation, by hand

# Demand on a line (metres), radius 150. L covers a+b (8), M covers b+m+c (11), R covers c+d
# (8): greedy would open M then L (15); the optimum for two sites is L+R (16). An existing
# site covers e.
LINE = pd.DataFrame(
    {
        "lsoa_code": ["a", "b", "m", "c", "d", "e"],
        "la_code": "LA1",
        "demand": [4, 4, 3, 4, 4, 5],
        "x": [0.0, 200, 300, 400, 600, 2000],
        "y": 0.0,
    }
)
LINE_CANDIDATES = pd.DataFrame(
    {
        "site_code": ["C1", "C2", "C3"],
        "site_name": ["L", "M", "R"],
        "la_code": "LA1",
        "x": [100.0, 300, 500],
        "y": 0.0,
    }
)
LINE_EXISTING = pd.DataFrame({"x": [2000.0], "y": [0.0]})


def brute_force(
    demand: pd.DataFrame, existing: pd.DataFrame, cands: pd.DataFrame, radius: float, k: int
) -> int:
    """The best coverage by trying every set of k candidates."""
    xy = demand[["x", "y"]].to_numpy()
    w = demand["demand"].to_numpy()
    today = (
        np.asarray(
            coverage_matrix(xy, existing[["x", "y"]].to_numpy(), radius).sum(axis=1)
        ).ravel()
        > 0
    )
    cover = coverage_matrix(xy, cands[["x", "y"]].to_numpy(), radius).toarray()
    best = int(w[today].sum())
    for chosen in itertools.combinations(range(len(cands)), min(k, len(cands))):
        hit = today | cover[:, list(chosen)].any(axis=1)
        best = max(best, int(w[hit].sum()))
    return best


def test_two_sites_take_the_optimum_not_the_greedy_pair_and_are_ranked():
    plan = plan_sites(LINE, LINE_EXISTING, LINE_CANDIDATES, 150, 2)
    assert plan.total == 24 and plan.covered_today == 5
    assert plan.ranked[["rank", "site_code", "added", "cumulative"]].values.tolist() == [
        [1, "C1", 8, 13],
        [2, "C3", 8, 21],
    ]
    assert plan.ranked["cumulative"].iloc[-1] == brute_force(
        LINE, LINE_EXISTING, LINE_CANDIDATES, 150, 2
    )
    assert dict(zip(plan.demand["lsoa_code"], plan.demand["added_by_rank"])) == {
        "a": 1,
        "b": 1,
        "m": 0,
        "c": 2,
        "d": 2,
        "e": 0,
    }


@pytest.mark.parametrize("k, expected", [(1, 16), (2, 21), (3, 24)])
def test_plan_equals_enumeration_for_every_k(k, expected):
    plan = plan_sites(LINE, LINE_EXISTING, LINE_CANDIDATES, 150, k)
    assert plan.ranked["cumulative"].iloc[-1] == expected
    assert expected == brute_force(LINE, LINE_EXISTING, LINE_CANDIDATES, 150, k)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 4))
def test_random_instances_match_enumeration(seed, k):
    rng = np.random.default_rng(seed)
    demand = pd.DataFrame(
        {
            "lsoa_code": [f"L{i:02d}" for i in range(25)],
            "la_code": "LA1",
            "demand": rng.integers(0, 9, 25),
            "x": rng.uniform(0, 3000, 25),
            "y": rng.uniform(0, 3000, 25),
        }
    )
    cands = pd.DataFrame(
        {
            "site_code": [f"C{i:02d}" for i in range(9)],
            "site_name": "x",
            "la_code": "LA1",
            "x": rng.uniform(0, 3000, 9),
            "y": rng.uniform(0, 3000, 9),
        }
    )
    existing = pd.DataFrame({"x": rng.uniform(0, 3000, 2), "y": rng.uniform(0, 3000, 2)})
    plan = plan_sites(demand, existing, cands, 700, k)
    reached = plan.ranked["cumulative"].iloc[-1] if len(plan.ranked) else plan.covered_today
    assert reached == brute_force(demand, existing, cands, 700, k)
    assert (plan.ranked["added"] > 0).all()
    assert list(plan.ranked["added"]) == sorted(plan.ranked["added"], reverse=True) or k > 1


def test_existing_sites_that_already_cover_everything_leave_nothing_to_recommend():
    existing = LINE[["x", "y"]].copy()
    plan = plan_sites(LINE, existing, LINE_CANDIDATES, 150, 3, target_pct=100)
    assert plan.covered_today == plan.total == 24
    assert plan.ranked.empty
    assert plan.target_sites == 0


def test_candidates_that_cover_nothing_are_not_recommended():
    far = LINE_CANDIDATES.assign(x=LINE_CANDIDATES["x"] + 50_000)
    plan = plan_sites(LINE, LINE_EXISTING, far, 150, 2, target_pct=50)
    assert plan.ranked.empty and plan.covered_today == 5
    assert plan.best_possible == 5
    assert plan.target_sites is None  # 50% is out of reach


def test_fewest_sites_for_a_target():
    plan = plan_sites(LINE, LINE_EXISTING, LINE_CANDIDATES, 150, 1, target_pct=85)
    # 85% of 24 is 20.4 people: 5 today + 16 with L and R (two sites); one site gives 16 at most
    assert plan.target_sites == 2 and plan.target_reached == 21
    assert (
        plan_sites(LINE, LINE_EXISTING, LINE_CANDIDATES, 150, 1, target_pct=20).target_sites == 0
    )


# ------------------------------------------------------------ candidates file


def _geo(geo_paths: dict[str, Path]):
    return load_geography([geo_paths["postcodes"]], [geo_paths["lsoa"]], geo_paths["population"])


def test_a_candidate_without_coordinates_is_placed_at_its_postcode(geo, tmp_path):
    path = tmp_path / "cands.csv"
    path.write_text(
        "Site_Code,site_name,postcode,latitude,longitude\n"
        "P1,By Postcode,bb1 1ab,,\n"
        "P2,By Coordinates,AA1 1AA,53.0051,-2.9851\n"
    )
    cands = read_candidates(path, _geo(geo))
    sites = cands.sites.set_index("site_code")
    assert sites.loc["P1", "placed_by"] == "postcode"
    assert (sites.loc["P1", "lat"], sites.loc["P1", "long"]) == pytest.approx((53.005, -2.965))
    assert sites.loc["P1", "la_code"] == "E06000002"
    assert sites.loc["P2", "placed_by"] == "coordinates"
    assert sites.loc["P2", "la_code"] == "E06000001"  # the given postcode's LA
    assert cands.read == 2 and cands.rejects.empty


def test_bad_candidate_rows_are_set_aside_with_line_and_reason(geo, tmp_path):
    path = tmp_path / "cands.csv"
    path.write_text(
        "site_code,site_name,postcode,latitude\n"
        "P1,One,AA1 1AA,\n"
        ",Blank code,AA1 1AB,\n"
        "P1,Again,AA1 1AB,\n"
        "P3,Bad latitude,AA1 1AB,north\n"
        "P4,Nowhere,ZZ9 9ZZ,\n"
    )
    cands = read_candidates(path, _geo(geo))
    assert list(cands.sites["site_code"]) == ["P1"]
    assert cands.read == 5
    assert cands.rejects.values.tolist() == [
        ["cands.csv", 3, "site_code is blank"],
        ["cands.csv", 4, "site_code repeats line 2"],
        ["cands.csv", 5, "latitude is not a number"],
        [
            "cands.csv",
            6,
            "cannot be placed: no latitude/longitude in the UK and postcode is not in the "
            "postcode directory",
        ],
    ]
    # spec section 5: a reason names the column and the problem, never the value
    assert not cands.rejects["reason"].str.contains("P1|north|ZZ9", regex=True).any()


def test_a_candidates_file_without_a_required_column_stops(geo, tmp_path):
    path = tmp_path / "cands.csv"
    path.write_text("code,site_name\nP1,One\n")
    with pytest.raises(
        SitingError,
        match=r"cands\.csv: missing column\(s\) site_code, "
        r"postcode",
    ):
        read_candidates(path, _geo(geo))


def test_recipe_siting_needs_candidates_and_a_target_of_at_most_100(geo, tmp_path):
    extract = write_extract(
        tmp_path / "ex", {"clients.csv": [client("C1")], "nsp_transactions.csv": [nsp("T1", "C1")]}
    )
    recipe = write_recipe(
        tmp_path, geo, extract, extra="\n[siting]\nnew_sites = 0\ntarget_pct = 120\n"
    )
    with pytest.raises(RecipeError) as err:
        load_recipe(recipe)
    assert err.value.problems == [
        "siting.new_sites: must be at least 1, got 0",
        "siting.candidates: missing (required when [siting] is given: a CSV of site_code, "
        "site_name, postcode)",
        "siting.target_pct: must be at most 100, got 120",
    ]


# ------------------------------------------------------------ disclosure control


def _published(lsoa_rows: list[tuple[str, str, int, int, int, int, set[str]]], threshold: int = 5):
    """A stand-in for Published: (lsoa, la, all, psy, ipeds, bi, suppressed cohorts)."""
    rows = []
    for code, la, n_all, psy, ipeds, bi, hidden in lsoa_rows:
        for cohort, n in (
            ("all", n_all),
            ("pwid_psychoactive", psy),
            ("pwid_ipeds", ipeds),
            ("bi", bi),
        ):
            rows.append(
                {
                    "lsoa_code": code,
                    "la_code": la,
                    "cohort": cohort,
                    "true": n,
                    "individuals": pd.NA if cohort in hidden else n,
                    "suppressed": cohort in hidden,
                }
            )
    lsoa = pd.DataFrame(rows).astype({"individuals": "Int64"})
    la = (
        lsoa.groupby(["la_code", "cohort"], as_index=False)["true"]
        .sum()
        .rename(columns={"true": "individuals"})
        .assign(suppressed=False)
    )
    la = pd.concat(
        [
            la,
            pd.DataFrame(
                {
                    "la_code": ["OUTSIDE"] * 4 + ["UNKNOWN"] * 4,
                    "cohort": ["all", "pwid_psychoactive", "pwid_ipeds", "bi"] * 2,
                    "individuals": 0,
                    "suppressed": False,
                }
            ),
        ]
    )
    return SimpleNamespace(
        residence_lsoa=lsoa, residence_la=la.astype({"individuals": "Int64"}), threshold=threshold
    )


def _on_published(demand: pd.DataFrame, published) -> pd.DataFrame:
    """The demand frame with each LSOA's published demand, as ``run_siting`` solves on."""
    model = published_demand(published)["demand"]
    return demand.assign(demand=demand["lsoa_code"].map(model).fillna(0).astype("int64"))


FIVE_LSOAS = [
    ("L1", "LA1", 20, 20, 0, 0, set()),
    ("L2", "LA1", 12, 12, 0, 0, set()),
    ("L3", "LA1", 3, 3, 0, 0, {"all", "pwid_psychoactive"}),
    ("L4", "LA1", 12, 9, 0, 3, {"all", "bi"}),
    ("L5", "LA1", 4, 4, 0, 0, {"all", "pwid_psychoactive"}),
    ("LA1-UNKNOWN", "LA1", 0, 0, 0, 0, set()),
]


def _five_lsoas():
    # L1 (20) is covered today; C1 adds L2 (12); C2 adds only L3, whose 3 individuals are
    # suppressed. L5 (4) is suppressed too and stays uncovered; L4's demand (9) is published.
    demand = pd.DataFrame(
        {
            "lsoa_code": ["L1", "L2", "L3", "L4", "L5"],
            "la_code": "LA1",
            "demand": [20, 12, 3, 9, 4],
            "x": [0.0, 1000, 2000, 5000, 8000],
            "y": 0.0,
        }
    )
    cands = pd.DataFrame(
        {
            "site_code": ["C1", "C2"],
            "site_name": ["One", "Two"],
            "la_code": "LA1",
            "x": [1000.0, 2000],
            "y": 0.0,
            "lat": [53.0, 53.1],
            "long": [-3.0, -3.1],
        }
    )
    existing = pd.DataFrame(
        {
            "site_code": ["S1"],
            "site_name": ["Hub"],
            "x": [0.0],
            "y": [0.0],
            "lat": [53.0],
            "long": [-3.0],
        }
    )
    return demand, cands, existing


def test_published_demand_reads_the_tables_and_counts_a_suppressed_cell_as_half_the_threshold():
    model = published_demand(_published(FIVE_LSOAS))
    # L3, L5: pwid_psychoactive suppressed (2 = 5 // 2) + pwid_ipeds 0; L4: 9 + 0 published
    assert model.to_dict("index") == {
        "L1": {"demand": 20, "estimated": False},
        "L2": {"demand": 12, "estimated": False},
        "L3": {"demand": 2, "estimated": True},
        "L4": {"demand": 9, "estimated": False},
        "L5": {"demand": 2, "estimated": True},
    }
    assert published_demand(_published(FIVE_LSOAS, threshold=10))["demand"]["L3"] == 5


def test_every_percentage_is_a_share_of_the_published_demand():
    demand, cands, existing = _five_lsoas()
    published = _published(FIVE_LSOAS)
    plan = plan_sites(_on_published(demand, published), existing, cands, 100, 2)
    assert plan.ranked["site_code"].tolist() == ["C1", "C2"]
    pub = publish_plan(plan, published, cands, existing, {"LA1": "One LA"})
    # published demand 20 + 12 + 2 + 9 + 2 = 45: today L1 (20), C1 adds L2 (12), C2 adds L3 (2)
    assert pub.siting.astype(str).values.tolist() == [
        ["0", "", "", "", "", "44.44", "44.44"],
        ["1", "C1", "One", "LA1", "One LA", "26.67", "71.11"],
        ["2", "C2", "Two", "LA1", "One LA", "4.44", "75.56"],
    ]
    assert pub.coverage_la[["la_code", "coverage_pct", "coverage_pct_after"]].values.tolist() == [
        ["LA1", "44.44", "75.56"]
    ]
    assert (pub.suppressed_as, pub.estimated_lsoas) == (2, 2)
    shown = pub.lsoas.set_index("lsoa_code")
    assert shown.loc["L3", "suppressed"] and pd.isna(shown.loc["L3", "demand"])
    assert shown.loc["L4", "demand"] == 9 and not shown.loc["L4", "suppressed"]


def test_a_plan_solved_on_the_true_counts_is_refused():
    demand, cands, existing = _five_lsoas()
    plan = plan_sites(demand, existing, cands, 100, 2)  # L3 = 3, L5 = 4: the true counts
    with pytest.raises(ValueError, match="not solved on the published demand"):
        publish_plan(plan, _published(FIVE_LSOAS), cands, existing, {"LA1": "One LA"})


def test_a_small_demand_worked_out_as_all_minus_bi_is_not_shown_on_the_map():
    # L2's PWID cells (1 and 1) are hidden but all (7) and bi (5) are published: its demand
    # of 2 can be derived, yet a count of 2 people must not be shown as a number.
    demand = pd.DataFrame(
        {
            "lsoa_code": ["L1", "L2"],
            "la_code": "LA1",
            "demand": [20, 2],
            "x": [0.0, 5000],
            "y": 0.0,
        }
    )
    existing = pd.DataFrame(
        {
            "site_code": ["S1"],
            "site_name": ["Hub"],
            "x": [0.0],
            "y": [0.0],
            "lat": [53.0],
            "long": [-3.0],
        }
    )
    cands = pd.DataFrame(
        {
            "site_code": ["C1"],
            "site_name": ["One"],
            "la_code": "LA1",
            "x": [9000.0],
            "y": 0.0,
            "lat": [53.1],
            "long": [-3.1],
        }
    )
    published = _published(
        [
            ("L1", "LA1", 20, 20, 0, 0, set()),
            ("L2", "LA1", 7, 1, 1, 5, {"pwid_psychoactive", "pwid_ipeds"}),
            ("LA1-UNKNOWN", "LA1", 0, 0, 0, 0, set()),
        ]
    )
    assert published_demand(published)["demand"].tolist() == [20, 2]
    pub = publish_plan(
        plan_sites(_on_published(demand, published), existing, cands, 100, 1),
        published,
        cands,
        existing,
        {"LA1": "One LA"},
    )
    shown = pub.lsoas.set_index("lsoa_code")
    assert shown.loc["L2", "suppressed"] and pd.isna(shown.loc["L2", "demand"])
    assert shown.loc["L1", "demand"] == 20 and not shown.loc["L1", "suppressed"]


def test_per_la_percentages_are_shares_of_each_las_published_demand():
    demand = pd.DataFrame(
        {
            "lsoa_code": ["A1", "A2", "B1", "B2", "C1"],
            "la_code": ["LA1", "LA1", "LA2", "LA2", "LA3"],
            "demand": [10, 10, 6, 0, 2],
            "x": [0.0, 1000, 5000, 6000, 9000],
            "y": 0.0,
        }
    )
    existing = pd.DataFrame(
        {
            "site_code": ["S"],
            "site_name": ["S"],
            "x": [0.0],
            "y": [0.0],
            "lat": [53.0],
            "long": [-3.0],
        }
    )
    cands = pd.DataFrame(
        {
            "site_code": ["K"],
            "site_name": ["K"],
            "la_code": "LA2",
            "x": [5000.0],
            "y": 0.0,
            "lat": [53.0],
            "long": [-3.0],
        }
    )
    published = _published(
        [
            ("A1", "LA1", 10, 10, 0, 0, set()),
            ("A2", "LA1", 10, 10, 0, 0, set()),
            ("B1", "LA2", 6, 6, 0, 0, set()),
            ("B2", "LA2", 0, 0, 0, 0, set()),
            ("C1", "LA3", 2, 2, 0, 0, {"all", "pwid_psychoactive"}),
            ("LA1-UNKNOWN", "LA1", 0, 0, 0, 0, set()),
            ("LA2-UNKNOWN", "LA2", 0, 0, 0, 0, set()),
            ("LA3-UNKNOWN", "LA3", 5, 5, 0, 0, set()),
        ]
    )
    plan = plan_sites(_on_published(demand, published), existing, cands, 100, 1)
    pub = publish_plan(
        plan, published, cands, existing, {"LA1": "One", "LA2": "Two", "LA3": "Three"}
    )
    rows = pub.coverage_la[["la_code", "coverage_pct", "coverage_pct_after"]].values.tolist()
    # LA3's one LSOA is suppressed: its published demand is 2 (= 5 // 2), none of it covered
    assert rows == [["LA1", "50.00", "50.00"], ["LA2", "0.00", "100.00"], ["LA3", "0.00", "0.00"]]
    assert pub.left_out == 5 and pub.left_out_exact


# ------------------------------------------------------------ the drop and the command


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._id: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._id = dict(attrs).get("id")
            self.tables[self._id] = []
        elif tag == "tr" and self._id:
            self.tables[self._id].append([])
        elif tag in ("td", "th") and self._id:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._id][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._id = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture
def siting_recipe(geo, tmp_path) -> Path:
    """PWID: 10 in LSOA 1, 6 in LSOA 2, 8 in LSOA 3, none in LSOA 4; an NSP site at LSOA 1."""
    homes = ["AA1 1AA"] * 10 + ["AA1 1AB"] * 6 + ["BB1 1AA"] * 8
    people = [
        client(f"C{i}", fi=chr(65 + i % 26), dob=f"19{60 + i}-01-01", postcode=pc)
        for i, pc in enumerate(homes)
    ]
    extract = write_extract(
        tmp_path / "ex",
        {
            "sites.csv": [
                {
                    "site_code": "S1",
                    "site_name": "Hub",
                    "site_type": "agency",
                    "postcode": "AA1 1AA",
                    "services": "NSP;BI",
                },
                {
                    "site_code": "S2",
                    "site_name": "BI only",
                    "site_type": "pharmacy",
                    "postcode": "BB1 1AA",
                    "services": "BI",
                },
            ],
            "clients.csv": people,
            "nsp_transactions.csv": [nsp(f"T{i}", f"C{i}") for i in range(len(people))],
        },
    )
    cands = tmp_path / "candidates.csv"
    cands.write_text(
        "site_code,site_name,postcode,latitude,longitude\n"
        "K1,Beta Chemist,BB1 1AA,,\n"
        "K2,Alpha <b>Pharmacy</b>,AA1 1AB,53.005,-2.985\n"
        "K3,Far Away,CC1 1AA,,\n"
    )
    return write_recipe(
        tmp_path,
        geo,
        extract,
        extra=f"""
[siting]
candidates = "{cands}"
radius_m = 500
new_sites = 5
target_pct = 70
""",
    )


def _csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text())))


def test_drop_publishes_the_plan_tables_report_and_ledger(siting_recipe, tmp_path):
    out = build(load_recipe(siting_recipe), tmp_path / "drop").out_dir
    assert _csv(out / "tables" / "nsp_siting.csv") == [
        ["rank", "site_code", "site_name", "la_code", "la_name", "added_pct", "cumulative_pct"],
        ["0", "", "", "", "", "41.67", "41.67"],
        ["1", "K1", "Beta Chemist", "E06000002", "Beta", "33.33", "75.00"],
        ["2", "K2", "Alpha <b>Pharmacy</b>", "E06000001", "Alpha", "25.00", "100.00"],
    ]
    assert _csv(out / "tables" / "nsp_coverage_la.csv") == [
        ["la_code", "la_name", "coverage_pct", "coverage_pct_after"],
        ["E06000001", "Alpha", "62.50", "100.00"],
        ["E06000002", "Beta", "0.00", "100.00"],
    ]
    parser = _Tables()
    parser.feed((out / "reports" / "monitoring.html").read_text())
    assert parser.tables["nsp-siting"][1:] == [
        ["0", "Existing NSP sites (today)", "", "", "41.67", "41.67"],
        ["1", "Beta Chemist", "K1", "Beta", "33.33", "75.00"],
        ["2", "Alpha <b>Pharmacy</b>", "K2", "Alpha", "25.00", "100.00"],
    ]
    assert parser.tables["nsp-coverage-la"][1:] == [
        ["Alpha", "62.50", "100.00"],
        ["Beta", "0.00", "100.00"],
    ]
    ledger = __import__("json").loads((out / "ledger.json").read_text())
    assert ledger["siting"]["candidates"] == {
        "file": "candidates.csv",
        "read": 3,
        "accepted": 3,
        "rejected": 0,
        "placed_by": {"coordinates": 1, "postcode": 2},
    }
    assert ledger["siting"]["existing_nsp_sites"] == 1
    page = (out / "atlas.html").read_text()
    assert "NSP siting: need not covered today" in page and "Alpha <b>" not in page


class _Paragraph(HTMLParser):
    """The text of the element with a given id."""

    def __init__(self, element_id: str) -> None:
        super().__init__()
        self.element_id, self.depth, self.text = element_id, 0, []

    def handle_starttag(self, tag, attrs):
        if self.depth or dict(attrs).get("id") == self.element_id:
            self.depth += 1

    def handle_endtag(self, tag):
        self.depth = max(self.depth - 1, 0)

    def handle_data(self, data):
        if self.depth:
            self.text.append(data)


def test_the_demo_report_declares_how_suppressed_demand_is_counted(demo_drop):
    parser = _Paragraph("nsp-demand-note")
    parser.feed((demo_drop / "reports" / "monitoring.html").read_text())
    note = " ".join("".join(parser.text).split())
    assert "computed from the published counts, never the true ones" in note
    assert "(145 of 198 LSOAs), each suppressed cell counts as 2." in note


def test_atlas_siting_data_holds_only_published_values_in_the_lsoa_order():
    """Covered LSOAs carry no count, suppressed need is None, an LSOA outside the plan is '-',
    a withheld share stays empty, unplaced sites are left off; values follow the page's order."""
    sites = pd.DataFrame(
        {
            "rank": [2, 1],
            "site_code": ["K2", "K1"],
            "site_name": ["</script>x", "Beta"],
            "la_code": ["A", "A"],
            "lat": [53.1, 53.2],
            "long": [-3.0, -3.1],
        }
    )
    pub = PublishedPlan(
        siting=pd.DataFrame(
            {
                "rank": [0, 1, 2],
                "site_code": ["", "K1", "K2"],
                "site_name": ["", "Beta", "</script>x"],
                "la_code": ["", "A", "A"],
                "added_pct": ["40.00", "20.00", ""],
                "cumulative_pct": ["40.00", "60.00", ""],
            }
        ),
        coverage_la=pd.DataFrame(),
        lsoas=pd.DataFrame(
            {
                "lsoa_code": ["L1", "L2", "L3", "L4"],
                "status": ["covered", "added", "uncovered", "added"],
                "rank": [0, 2, 0, 1],
                "demand": pd.array([12, None, 7, 9], dtype="Int64"),
                "suppressed": [False, True, False, False],
            }
        ),
        existing=pd.DataFrame(
            {
                "site_code": ["S2", "S1"],
                "site_name": ["Two", "One"],
                "lat": [np.nan, 53.0],
                "long": [np.nan, -3.0],
            }
        ),
        recommended=sites,
        radius_m=800.0,
        new_sites=2,
        threshold=5,
        left_out=0,
        left_out_exact=True,
        target_pct=None,
        target_sites=None,
        best_possible_pct="",
    )
    data = siting_data(pub, ["L4", "L5", "L1", "L2", "L3"], "equal_interval")
    assert data["status"] == "a-cau"
    assert data["need"] == [9, None, None, None, 7]
    assert data["added"] == [[0, 1], [3, 2]]
    assert data["breaks"] == [8.0, 9.0] and data["radius"] == 800.0
    assert data["existing"] == [{"lat": 53.0, "lng": -3.0, "name": "One", "code": "S1"}]
    assert [(p["rank"], p["name"], p["added"], p["cumulative"]) for p in data["recommended"]] == [
        (1, "Beta", "20.00", "60.00"),
        (2, "</script>x", "", ""),
    ]


def test_site_plan_command_prints_the_table_and_takes_overrides(siting_recipe):
    result = CliRunner().invoke(main, ["site-plan", str(siting_recipe), "--new", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[2].split() == [
        "rank",
        "site_code",
        "site_name",
        "la_code",
        "added_pct",
        "cumulative_pct",
    ]
    assert lines[3].split() == ["0", "41.67", "41.67"]
    assert lines[4].split() == ["1", "K1", "Beta", "Chemist", "E06000002", "33.33", "75.00"]
    assert "target 70%: the fewest new sites that reach it: 1" in result.output
    assert "left out (no LSOA in the area): 0" in result.output
    wide = CliRunner().invoke(
        main, ["site-plan", str(siting_recipe), "--radius", "800", "--quiet"]
    )
    assert wide.exit_code == 0, wide.output
    assert "NSP coverage within 800 m" in wide.output


def test_site_plan_without_a_siting_section_is_a_clean_error(geo, tmp_path):
    extract = write_extract(
        tmp_path / "ex", {"clients.csv": [client("C1")], "nsp_transactions.csv": [nsp("T1", "C1")]}
    )
    result = CliRunner().invoke(main, ["site-plan", str(write_recipe(tmp_path, geo, extract))])
    assert result.exit_code == 2
    assert "siting: missing (site-plan needs a [siting] table" in result.output
