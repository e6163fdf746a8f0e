"""The library API: ``atlas.build`` and ``atlas.audit`` as the command, ``atlas.open_drop``
reading a drop back from its published files, ``Drop.explore`` drawing it with folium."""

from __future__ import annotations

import csv
import doctest
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from conftest import ROOT

import atlas
from atlas import drop_map
from atlas.cli import main
from atlas.counting.tally import TOTAL
from atlas.disclosure.audit import AuditReport
from atlas.drop import BuildResult
from atlas.errors import DisclosureError, DropError, ExtractError, RecipeError
from atlas.geography.geocode import OUTSIDE, UNKNOWN
from atlas.published_drop import ALPHABET, decode_shapes, ring_ints
from atlas.render.atlas_data import SCALE, encode_shapes
from atlas.render.ring_text import ALPHABET as PAGE_ALPHABET
from atlas.render.ring_text import pack_ints

DEMO = ROOT / "builders" / "demo.toml"
DEMO_EXTRACT = ROOT / "boundaries" / "demo" / "extract"
EPOCH = "1700000000"
FIGURES = ("individuals", "suppressed", "rate_per_1000", "rate_lower", "rate_upper")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, BuildResult]:
    """The demo drop, built once through ``atlas.build`` (reproducible build time)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
    out = tmp_path_factory.mktemp("api") / "demo"
    try:
        result = atlas.build(DEMO, out)
    finally:
        mp.undo()
    return out, result


@pytest.fixture(scope="module")
def drop(built) -> atlas.Drop:
    return atlas.open_drop(built[0])


def _page(folder: Path) -> dict:
    """The page data of a drop's atlas.html, read here independently of the API."""
    text = (folder / "atlas.html").read_text(encoding="utf-8")
    found = re.search(r'id="atlas-data">(.*?)</script>', text, re.DOTALL)
    assert found
    return json.loads(found.group(1))


def _level(folder: Path, level: str) -> dict:
    return next(lv for lv in _page(folder)["levels"] if lv["id"] == level)


# --- atlas.build and atlas.audit, as the command -----------------------------------------------


def test_build_returns_what_it_wrote(built):
    out, result = built
    assert isinstance(result, BuildResult) and result.out_dir == out
    on_disk = {p.relative_to(out).as_posix(): p.stat().st_size for p in out.rglob("*.*")}
    assert result.files == on_disk
    assert result.ledger == json.loads((out / "ledger.json").read_text())


def test_build_writes_the_bytes_the_command_writes(built, tmp_path):
    out = tmp_path / "demo"
    ran = CliRunner().invoke(
        main, ["build", str(DEMO), "--out", str(out)], env={"SOURCE_DATE_EPOCH": EPOCH}
    )
    assert ran.exit_code == 0, ran.output
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(built[0]) for p in built[0].rglob("*") if p.is_file())
    for name in files:
        assert (out / name).read_bytes() == (built[0] / name).read_bytes(), name


def test_build_raises_the_commands_recipe_error(tmp_path):
    missing = tmp_path / "builders" / "nothing.toml"
    with pytest.raises(RecipeError) as raised:
        atlas.build(missing)
    ran = CliRunner().invoke(main, ["build", str(missing)])
    assert ran.exit_code == RecipeError.exit_code == 2
    assert ran.output == f"error: {raised.value}\n"
    assert str(raised.value) == f"{missing}: recipe file not found: {missing}"


def test_build_writes_beside_builders_by_default(tmp_path):
    recipe = tmp_path / "builders" / "demo.toml"
    recipe.parent.mkdir()
    text = DEMO.read_text().replace('"../boundaries/', f'"{ROOT}/boundaries/')
    recipe.write_text(text)
    result = atlas.build(str(recipe))
    assert result.out_dir == tmp_path / "output" / "demo"
    assert (tmp_path / "output" / "demo" / "atlas.html").is_file()


def test_audit_returns_the_report_the_command_prints(built):
    report = atlas.audit(built[0], DEMO_EXTRACT)
    assert isinstance(report, AuditReport) and report.clean
    assert (report.threshold, report.rounding, report.suppressed, report.scanned) == (
        5,
        0,
        int(json.loads((built[0] / "ledger.json").read_text())["suppression"]["primary_cells"])
        + int(
            json.loads((built[0] / "ledger.json").read_text())["suppression"]["secondary_cells"]
        ),
        # the drop's files (the LA packs and the PDFs among them) and its marker
        sum(p.is_file() for p in built[0].rglob("*")),
    )
    ran = CliRunner().invoke(main, ["audit", str(built[0]), "--extract", str(DEMO_EXTRACT)])
    assert ran.exit_code == 0
    seconds = re.compile(r"\d+\.\d s\)")
    assert seconds.sub("", ran.output) == seconds.sub(
        "", f"audit of {built[0]} passed: {report.summary()}\n"
    )


def test_audit_threshold_and_rounding_override_the_ledger(built):
    report = atlas.audit(built[0], threshold=7, rounding=5, check=False)
    assert (report.threshold, report.rounding, report.scanned) == (7, 5, 0)


def test_a_failing_audit_raises_as_the_command_fails_and_check_false_returns_it(built, tmp_path):
    out = tmp_path / "demo"
    shutil.copytree(built[0], out)
    clients = pd.read_csv(DEMO_EXTRACT / "clients.csv", dtype=str)
    with open(out / "rejects.csv", "a") as fh:
        fh.write(f"clients.csv,7,{clients['client_ref'].iloc[0]} born\n")
    with pytest.raises(DisclosureError) as raised:
        atlas.audit(out, DEMO_EXTRACT)
    ran = CliRunner().invoke(main, ["audit", str(out), "--extract", str(DEMO_EXTRACT)])
    assert ran.exit_code == DisclosureError.exit_code == 1
    assert ran.output == f"error: {raised.value}\n"
    lines = (out / "rejects.csv").read_text().count("\n")
    report = atlas.audit(out, DEMO_EXTRACT, check=False)
    assert not report.clean and report.leaks == [f"rejects.csv line {lines}: a client_ref"]


def test_audit_errors_are_the_commands(tmp_path):
    with pytest.raises(DisclosureError, match=f"^{re.escape(str(tmp_path / 'no'))}: not a drop"):
        atlas.audit(tmp_path / "no")
    (tmp_path / "drop").mkdir()
    with pytest.raises(ExtractError, match="extract folder not found"):
        atlas.audit(tmp_path / "drop", tmp_path / "no-extract")


def test_import_atlas_stays_light():
    import subprocess
    import sys

    code = "import sys, atlas; print(sorted(m for m in sys.modules if m.startswith('atlas')))"
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert ran.stdout.strip() == "['atlas']"
    assert {"build", "audit", "open_drop", "Drop"} <= set(dir(atlas))
    assert (
        "pandas"
        not in subprocess.run(
            [sys.executable, "-c", "import sys, atlas; print(sorted(sys.modules))"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout
    )
    with pytest.raises(AttributeError, match="module 'atlas' has no attribute 'nothing'"):
        atlas.nothing  # noqa: B018


# --- open_drop: tables, ledger, manifest, rejects -----------------------------------------------


def _as_text(column: pd.Series) -> list[str]:
    """A typed column written back as the CSV writes it."""
    out = []
    for v in column.astype(object):
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            out.append("")
        elif isinstance(v, (bool, np.bool_)):
            out.append("true" if v else "false")
        else:
            out.append(str(v))
    return out


def _csv_files(folder: Path) -> dict[str, Path]:
    return {
        p.stem: p
        for sub in ("tables", "reports/csv")
        for p in sorted((folder / sub).glob("*.csv"))
    }


def test_every_published_csv_is_a_table_equal_to_its_file(built, drop):
    files = _csv_files(built[0])
    assert sorted(drop.tables) == sorted(files) and len(files) == 23
    for name, path in files.items():
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        table = drop.tables[name]
        assert list(table.columns) == rows[0], name
        for k, column in enumerate(table.columns):
            text = [r[k] for r in rows[1:]]
            if pd.api.types.is_float_dtype(table[column]):  # "1.90" is read as 1.9
                assert table[column].astype(object).tolist() == [
                    pd.NA if v == "" else float(v) for v in text
                ], (name, column)
            else:
                assert _as_text(table[column]) == text, (name, column)


def test_counts_are_nullable_integers_and_codes_are_strings(drop):
    lsoa = drop.tables["residence_lsoa_cohorts"]
    assert lsoa.dtypes.astype(str).to_dict() == {
        "lsoa_code": "string",
        "lsoa_name": "string",
        "la_code": "string",
        "cohort": "string",
        "individuals": "Int64",
        "suppressed": "bool",
    }
    service = drop.tables["service_la_cohorts"]
    assert str(service["rate_per_1000"].dtype) == "Float64"
    assert str(service["population"].dtype) == "Int64"
    assert str(drop.tables["monitoring_trend"]["year"].dtype) == "string"  # 2016-17
    assert str(drop.tables["monitoring_la_activity"]["quarter"].dtype) == "Int64"
    assert drop.tables["site_activity"].loc[0, "site_code"] == "AG001"


def test_suppressed_cells_are_na_exactly_where_suppressed(drop):
    checked = 0
    for name, table in drop.tables.items():
        if {"individuals", "suppressed"} <= set(table.columns):
            hidden = table["suppressed"].to_numpy(dtype=bool)
            assert (table["individuals"].isna().to_numpy() == hidden).all(), name
            checked += hidden.sum()
    assert checked > 400


def test_ledger_manifest_and_rejects_are_the_files(built, drop):
    assert drop.ledger == json.loads((built[0] / "ledger.json").read_text())
    assert drop.manifest == json.loads((built[0] / "manifest.json").read_text())
    with open(built[0] / "rejects.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert list(drop.rejects.columns) == rows[0] == ["file", "line", "reason"]
    assert str(drop.rejects["line"].dtype) == "Int64"
    assert [_as_text(drop.rejects[c]) for c in rows[0]] == [list(c) for c in zip(*rows[1:])]


def test_open_drop_errors_are_one_clear_line(tmp_path):
    with pytest.raises(
        DropError, match=f"^{re.escape(str(tmp_path / 'x'))}: no such drop folder$"
    ):
        atlas.open_drop(tmp_path / "x")
    with pytest.raises(DropError, match=r": not a drop folder \(no atlas.html\)$"):
        atlas.open_drop(tmp_path)


def test_a_damaged_drop_is_one_clear_line_naming_the_file(built, tmp_path):
    out = tmp_path / "demo"
    shutil.copytree(built[0], out)
    table = out / "tables" / "site_activity.csv"
    table.write_text(table.read_text().replace("\n", ",extra\n", 3).replace(",extra", "", 2))
    with pytest.raises(
        DropError,
        match=f"^{re.escape(str(table))}: not a readable CSV table: "
        "line 3: 10 fields where the header has 9$",
    ):
        atlas.open_drop(out)
    table.unlink()
    with pytest.raises(DropError, match=r": not a drop folder \(no tables/site_activity.csv\)$"):
        atlas.open_drop(out)
    page = out / "atlas.html"
    page.write_text(page.read_text().replace('id="atlas-data">{', 'id="atlas-data">{{'))
    with pytest.raises(DropError, match=r"atlas.html: the atlas data is not valid JSON: "):
        atlas.open_drop(out)


# --- open_drop: areas and sites ----------------------------------------------------------------


@pytest.mark.parametrize(
    "level, keys",
    [
        ("lsoa", ["lsoa_code", "lsoa_name", "la_code"]),
        ("msoa", ["msoa_code", "msoa_name", "la_code"]),
        ("la", ["la_code", "la_name"]),
    ],
)
def test_areas_have_one_row_per_published_area_with_its_published_figures(
    built, drop, level, keys
):
    areas = drop.areas[level]
    table = drop.tables[f"residence_{level}_cohorts"]
    # the cells of no area ("LSOA not known" of each LA, outside, not known, the total) stay in
    # the tables only
    pseudo = table[keys[0]].isin([TOTAL, OUTSIDE, UNKNOWN]) | table[keys[0]].str.endswith(
        f"-{UNKNOWN}"
    )
    assert pseudo.sum() == {"lsoa": 16, "msoa": 0, "la": 12}[level]
    table = table[~pseudo]
    cohorts = ["all", "pwid_psychoactive", "pwid_ipeds", "bi"]
    assert list(areas.columns) == [
        *keys,
        *(f"{figure}_{c}" for c in cohorts for figure in FIGURES),
        "geometry",
    ]
    assert isinstance(areas, gpd.GeoDataFrame) and areas.crs == "EPSG:4326"
    assert areas[keys[0]].is_unique and set(areas[keys[0]]) == set(table[keys[0]])
    assert not areas.geometry.isna().any() and areas.is_valid.all()
    page = _level(built[0], level)
    assert list(areas[keys[0]]) == page["codes"]
    for cohort in cohorts:
        rows = table[table["cohort"] == cohort].set_index(keys[0]).loc[areas[keys[0]]]
        for key in keys[1:]:
            assert list(areas[key]) == list(rows[key])
        assert areas[f"individuals_{cohort}"].equals(rows["individuals"].reset_index(drop=True))
        assert list(areas[f"suppressed_{cohort}"]) == list(rows["suppressed"])
        for figure, packed in (
            ("rate_per_1000", "rate"),
            ("rate_lower", "lo"),
            ("rate_upper", "hi"),
        ):
            tenths = page["values"][cohort][packed]
            expected = [None if t is None else t / 10 for t in tenths]
            got = [None if pd.isna(v) else v for v in areas[f"{figure}_{cohort}"]]
            assert got == expected, (cohort, figure)


def test_lsoa_shapes_are_the_published_geojsons(built, drop):
    geojson = gpd.read_file(built[0] / "tables" / "residence_lsoa.geojson")
    areas = drop.areas["lsoa"].set_index("lsoa_code")
    for code, shape in zip(geojson["lsoa_code"], geojson.geometry):
        assert areas.loc[code, "geometry"].equals(shape)


@pytest.mark.parametrize("level, key", [("msoa", "msoa_code"), ("la", "la_code")])
def test_msoa_and_la_shapes_cover_their_published_lsoas(drop, level, key):
    lsoas = drop.areas["lsoa"]
    areas = drop.areas[level].set_index(key)
    inside = gpd.sjoin(
        gpd.GeoDataFrame(geometry=lsoas.representative_point(), crs=lsoas.crs),
        areas[["geometry"]],
        predicate="within",
    )
    assert inside.index.is_unique and len(inside) == len(lsoas)
    # every LSOA lies in one area of the level, of its own local authority
    la_of = areas["la_code"] if level == "msoa" else areas.index.to_series()
    assert list(inside.sort_index()[key].map(la_of)) == list(lsoas["la_code"])
    union = shapely.union_all(areas.geometry.to_numpy())
    assert abs(union.area - shapely.union_all(lsoas.geometry.to_numpy()).area) < 0.01 * union.area


def test_ring_ints_undo_pack_ints():
    assert ALPHABET.encode() == PAGE_ALPHABET
    values = np.array([0, -1, 1, 15, -16, 16, 1_000_003, -987_654_321, 2**40, 7])
    assert ring_ints(pack_ints(values)[0].decode()).tolist() == values.tolist()
    assert ring_ints("").tolist() == []


def test_decoding_the_page_shapes_undoes_their_encoding():
    square = shapely.Polygon(
        [(-3.0, 53.0), (-2.9, 53.0), (-2.9, 53.1), (-3.0, 53.1)],
        [[(-2.98, 53.02), (-2.95, 53.02), (-2.95, 53.05), (-2.98, 53.05)]],
    )
    two = shapely.MultiPolygon(
        [shapely.box(-2.8, 53.0, -2.7, 53.05), shapely.box(-2.6, 53, -2.5, 53.1)]
    )
    shapes = gpd.GeoSeries([square, two], crs="EPSG:4326")
    origin = (-30_000, 530_000)
    decoded = decode_shapes(encode_shapes(shapes, origin), list(origin), SCALE)
    assert decoded[0].geom_type == "Polygon" and len(decoded[0].interiors) == 1
    assert decoded[1].geom_type == "MultiPolygon" and len(decoded[1].geoms) == 2
    for got, want in zip(decoded, shapes):
        assert got.normalize().equals_exact(want.normalize(), tolerance=1 / SCALE)


def test_sites_are_the_pages_points_with_their_published_activity(built, drop):
    sites = drop.sites
    page = _page(built[0])["sites"]
    assert len(sites) == len(page) == 15
    assert list(sites["site_name"]) == [p["name"] for p in page]
    activity = drop.tables["site_activity"].set_index("site_code")
    for column in ("site_name", "site_type", "nsp_visits", "individuals", "suppressed"):
        assert list(sites[column]) == list(activity.loc[sites["site_code"], column]), column
    # the sites placed by their own coordinates are where sites.csv puts them
    given = pd.read_csv(DEMO_EXTRACT / "sites.csv", dtype={"site_code": str}).dropna(
        subset=["latitude"]
    )
    placed = sites.set_index("site_code").loc[given["site_code"]]
    assert np.allclose(placed.geometry.y, given["latitude"], atol=1e-5)
    assert np.allclose(placed.geometry.x, given["longitude"], atol=1e-5)
    assert set(sites.columns) == {*activity.reset_index().columns, "services", "geometry"}


# --- Drop.explore ------------------------------------------------------------------------------


def _geojson_layer(m: folium.Map) -> folium.GeoJson:
    (layer,) = [c for c in m._children.values() if isinstance(c, folium.GeoJson)]
    return layer


def _expected_fill(value, breaks, suppressed) -> str:
    """atlas.js's colour(), written out again (suppressed: greyed)."""
    if suppressed:
        return drop_map.SUPPRESSED
    if value is None:
        return drop_map.NODATA
    if value == 0:
        return "#ffffff"
    palette = ["#fed976", "#fd8d3c", "#e31a1c", "#bd0026", "#800026"]
    k = next((i for i, b in enumerate(breaks) if value <= b), len(breaks) - 1)
    return palette[k + len(palette) - len(breaks)]


@pytest.mark.parametrize(
    "cohort, measure, level",
    [("all", "rate", "lsoa"), ("pwid_ipeds", "individuals", "msoa"), ("bi", "rate", "la")],
)
def test_explore_colours_the_drops_classes_and_greys_suppressed_areas(
    built, drop, cohort, measure, level
):
    m = drop.explore(cohort, measure, level)
    assert isinstance(m, folium.Map)
    page = _level(built[0], level)
    key = "n" if measure == "individuals" else "rate"
    breaks = page["breaks"][cohort][key]
    values = page["values"][cohort][key]
    layer = _geojson_layer(m)
    features = layer.data["features"]
    assert [f["properties"]["code"] for f in features] == page["codes"]
    greyed = 0
    for feature, value, n in zip(features, values, page["values"][cohort]["n"]):
        value = None if value is None else value / 10 if key == "rate" else value
        fill = layer.style_function(feature)["fillColor"]
        assert fill == _expected_fill(value, breaks, n is None), feature["properties"]
        if n is None:
            greyed += 1
            assert feature["properties"]["individuals"] == "fewer than 5 (suppressed)"
            assert feature["properties"]["rate"] == "suppressed"
    assert greyed == sum(drop.areas[level][f"suppressed_{cohort}"])


class _Legend(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows: list[tuple[str, str]] = []
        self.title = ""
        self._in, self._colour, self._strong = False, "", False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and attrs.get("class") == "ims-atlas-key":
            self._in, self._colour = True, ""
        elif tag == "span" and self._in:
            self._colour = re.search(r"background: (#\w+)", attrs["style"]).group(1)
        elif tag == "strong":
            self._strong = True

    def handle_endtag(self, tag):
        self._in = self._in and tag != "div"
        self._strong = self._strong and tag != "strong"

    def handle_data(self, data):
        if self._in and data.strip():
            self.rows.append((self._colour, data.strip()))
        elif self._strong and not self.title:
            self.title = data.strip()


def test_explore_has_the_pages_legend(drop):
    html = drop.explore("all", "individuals", "la").get_root().render()
    legend = _Legend()
    legend.feed(html)
    assert (
        legend.title
        == "All individuals: individuals by local authority · Fisher–Jenks natural breaks"
    )
    assert legend.rows == [
        ("#ffffff", "0"),
        ("#e31a1c", "5–332"),  # 617 and 643 overlap: not two classes apart (classify)
        ("#bd0026", "333–643"),
        ("#800026", "644–684"),
        ("#969696", "suppressed (fewer than 5, or withheld)"),
    ]


def test_explore_shows_the_sites_with_escaped_text(drop):
    m = drop.explore()
    (group,) = [c for c in m._children.values() if isinstance(c, folium.FeatureGroup)]
    markers = [c for c in group._children.values() if isinstance(c, folium.CircleMarker)]
    assert len(markers) == len(drop.sites) == 15
    html = m.get_root().render()
    assert "St Mary&#39;s &amp; &#34;Young People&#34; &lt;Service&gt;" in html
    assert "<Service>" not in html
    assert not [
        c
        for c in drop.explore(sites=False)._children.values()
        if isinstance(c, folium.FeatureGroup)
    ]


def test_explore_names_what_exists_when_asked_for_what_does_not(drop):
    with pytest.raises(
        DropError,
        match=r"^unknown cohort 'pwid': the drop has all, pwid_psychoactive, pwid_ipeds, bi$",
    ):
        drop.explore("pwid")
    with pytest.raises(DropError, match=r"^unknown level 'ward': the drop has lsoa, msoa, la$"):
        drop.explore(level="ward")
    with pytest.raises(DropError, match=r"^unknown measure 'count': choose individuals or rate$"):
        drop.explore(measure="count")


def test_explore_says_which_levels_publish_a_rate(built):
    no_rates = atlas.open_drop(built[0])
    for level in no_rates.page["levels"]:
        if level["id"] == "la":
            for values in level["values"].values():
                values["rate"] = [None] * len(values["rate"])
    with pytest.raises(
        DropError,
        match=r"^the drop publishes no rate by la; it has lsoa: individuals, rate; "
        r"msoa: individuals, rate; la: individuals$",
    ):
        no_rates.explore(level="la")
    assert isinstance(no_rates.explore(measure="individuals", level="la"), folium.Map)


def test_the_maps_colours_are_the_pages(drop):
    script = (ROOT / "atlas" / "render" / "atlas.js").read_text()
    palette = re.search(r"var PALETTE = \[([^\]]*)\]", script).group(1)
    assert [c.strip(" '") for c in palette.split(",")] == list(drop_map.PALETTE)
    assert f"ZERO = '{drop_map.ZERO}'" in script and f"NODATA = '{drop_map.NODATA}'" in script


# --- the README's examples ---------------------------------------------------------------------


def test_the_readme_examples_run(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    result = doctest.testfile(
        str(ROOT / "README.md"),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        raise_on_error=False,
        verbose=False,
    )
    assert result.attempted >= 5
    assert result.failed == 0
