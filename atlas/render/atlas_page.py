"""The atlas page: one self-contained HTML file (Leaflet and every script inlined, no network
but optional basemap tiles), built from published values only.

Above ``ON_DEMAND_LSOAS`` LSOAs (national scale) the LSOA shapes leave the page for one small
script per local authority beside it (``atlas/lsoa-<LA>.js``, see ``atlas_data.split_lsoas``),
which the page adds when the user zooms in or picks an area: a script element, because browsers
refuse fetch() on pages opened from a file. The page then opens at LA level.

The page data (``atlas_data.page_data``) is embedded once as JSON in a
``<script type="application/json">`` element, escaped so that no text from the extract can end
the element; the page script (``atlas.js``) reads it and only ever writes text nodes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import geopandas as gpd
import numpy as np
import pandas as pd
from markupsafe import Markup

from ..disclosure.suppress import Published
from ..geography.areas import Geography
from ..geography.geometry_cache import cached_table, text_key
from ..geography.imd import Deprivation
from .assets import front_end_assets
from .atlas_data import page_data, shapes_key, simplified_lsoas_wgs84, split_lsoas
from .deaths_layer import add_deaths_layer
from .geojson import features_bytes, geojson_bytes, geometry_text
from .postcode_index import CALL as POSTCODE_CALL
from .postcode_index import postcode_areas, postcode_chunks
from .reports import environment
from .siting_layer import LAYERS as SITING_LAYERS

if TYPE_CHECKING:
    from ..siting.publish import PublishedPlan

HERE = Path(__file__).resolve().parent
# the page's own scripts and styles, in order (atlas_time: years, area profile, ranked bars)
PAGE_JS = ("atlas.js", "atlas_time.js")
PAGE_CSS = ("atlas.css", "atlas_time.css")
ON_DEMAND_LSOAS = 5_000  # above this many LSOAs, their shapes load per LA on demand
GEOJSON_VERSION = "1"  # bump when the GeoJSON geometry text changes
DOWNLOADS = (
    ("tables/residence_lsoa_cohorts.csv", "Residents by LSOA and cohort (CSV)"),
    ("tables/residence_msoa_cohorts.csv", "Residents by MSOA and cohort (CSV)"),
    ("tables/residence_la_cohorts.csv", "Residents by local authority and cohort (CSV)"),
    ("tables/service_la_cohorts.csv", "Individuals by service local authority, with rates (CSV)"),
    ("tables/site_activity.csv", "Activity by site (CSV)"),
    ("tables/residence_lsoa.geojson", "LSOA boundaries with residents by cohort (GeoJSON)"),
)
REPORTS = (
    ("reports/monitoring.html", "Monitoring report"),
    ("reports/data_quality.html", "Activity & data-quality report"),
)
SITING_DOWNLOADS = (
    ("tables/nsp_siting.csv", "NSP siting: coverage today and recommended sites (CSV)"),
    (
        "tables/nsp_coverage_la.csv",
        "NSP coverage by local authority, today and after the recommended sites (CSV)",
    ),
)


class AtlasContext(TypedDict):
    """What ``templates/atlas.html.j2`` receives."""

    title: str
    area_name: str
    period: str
    build_date: str
    basemap: str
    threshold: int
    perturbation: int  # the cell key's largest perturbation (0: counts not perturbed)
    scheme: str
    has_msoa: bool
    cohorts: list[list[str]]
    measures: list[list[str]]
    levels: list[tuple[str, str]]
    start_level: str
    downloads: list[tuple[str, str]]
    styles: list[Markup]
    scripts: list[Markup]
    data_json: Markup
    siting_layers: list[tuple[str, str]]  # NSP siting overlays (value, label); [] without a plan
    siting_radius: str  # "1,000" (metres), "" without a plan
    schemes: list[list[str]]  # class-break schemes (value, label), the recipe's first
    reports: list[tuple[str, str]]  # the area's reports (href, label)
    packs: list[tuple[str, str]]  # each LA's report pack (href, LA name)
    population_year: int | None  # the ONS mid-year estimates' year, when the recipe gives it
    data_year: int  # the year in the ONS and OS copyright lines
    has_postcodes: bool  # the page can find a full postcode's LSOA
    imd_label: str  # the deprivation context layer's index ("IMD 2019"); "" without one
    imd_credit: str  # its attribution (MHCLG, Open Government Licence)


def script_json(data: object) -> str:
    """JSON safe inside a <script> element (no ``</script>``, ``<!--`` or ``]]>`` breakout)."""
    return (
        json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _inline(text: str, tag: str) -> Markup:
    """A file's text made safe to inline in a <script> or <style> element."""
    return Markup(text.replace(f"</{tag}", f"<\\/{tag}"))


def render_atlas(
    published: Published,
    geo: Geography,
    sites: pd.DataFrame,
    *,
    title: str,
    period: str,
    basemap: str,
    classification: str,
    area_name: str = "",
    build_date: str = "",
    msoa_of: pd.DataFrame | None = None,
    siting: PublishedPlan | None = None,
    packs: list[tuple[str, str]] | None = None,
    on_demand_above: int | None = None,
    population_year: int | None = None,
    data_year: int | None = None,
    reports: list[tuple[str, str]] | None = None,
    partial: dict[str, str] | None = None,
    deprivation: Deprivation | None = None,
) -> dict[str, bytes]:
    """The atlas files by drop path: ``atlas.html`` (with the NSP siting overlays when
    ``siting`` is given), the postcode index (``postcode_index``: one script per postcode
    area) and, above ``on_demand_above`` LSOAs (default ``ON_DEMAND_LSOAS``), one LSOA script
    per local authority. ``population_year`` and ``data_year`` go into the credits that the
    ONS and OS licences require; ``reports``: the area's reports the page links to;
    ``deprivation``: the IMD context layer."""
    data = page_data(
        published,
        geo,
        sites,
        msoa_of=msoa_of,
        classification=classification,
        siting=siting,
        partial=partial,
        deprivation=deprivation,
    )
    postcodes = postcode_chunks(geo, data["levels"][0]["codes"])
    data["postcodes"] = postcode_areas(postcodes)
    add_deaths_layer(data, published, classification)  # with [linkage] deaths: an LA layer
    limit = ON_DEMAND_LSOAS if on_demand_above is None else on_demand_above
    files: dict[str, bytes] = {
        path: f"{POSTCODE_CALL}({script_json(chunk)});\n".encode()
        for path, chunk in postcodes.items()
    }
    if len(data["levels"][0]["codes"]) > limit:
        chunks = split_lsoas(data, geo.lsoas["la_code"])  # the simplified LSOAs' order
        files.update(
            {
                path: f"atlasLsoas({script_json(chunk)});\n".encode()
                for path, chunk in chunks.items()
            }
        )
    js, css = front_end_assets()
    has_msoa = any(lv["id"] == "msoa" for lv in data["levels"])
    context = AtlasContext(
        title=title,
        area_name=area_name,
        period=period,
        build_date=build_date,
        basemap=basemap,
        threshold=published.threshold,
        perturbation=published.perturbation,
        scheme=data["scheme"],
        has_msoa=has_msoa,
        cohorts=data["cohorts"],
        measures=data["measures"],
        levels=[(lv["id"], lv["label"]) for lv in data["levels"]],
        start_level="la" if "lazy" in data else data["levels"][0]["id"],
        downloads=[d for d in DOWNLOADS if has_msoa or "msoa" not in d[0]]
        + (list(SITING_DOWNLOADS) if siting is not None else []),
        styles=[
            _inline(c, "style") for c in (*css, *((HERE / name).read_text() for name in PAGE_CSS))
        ],
        scripts=[
            _inline(j, "script") for j in (*js, *((HERE / name).read_text() for name in PAGE_JS))
        ],
        data_json=Markup(script_json(data)),
        siting_layers=list(SITING_LAYERS) if siting is not None else [],
        siting_radius=f"{siting.radius_m:,.0f}" if siting is not None else "",
        schemes=data["schemes"],
        reports=list(REPORTS if reports is None else reports),
        packs=[(f"reports/la/{code}/monitoring.html", name) for code, name in packs or []],
        population_year=population_year,
        data_year=data_year if data_year is not None else int((build_date or "0")[:4] or 0),
        has_postcodes=bool(data["postcodes"]),
        imd_label=deprivation.label if deprivation is not None else "",
        imd_credit=deprivation.credit if deprivation is not None else "",
    )
    files["atlas.html"] = (
        environment().get_template("atlas.html.j2").render(**context).encode("utf-8")
    )
    return files


def render_geojson(published: Published, geo: Geography) -> dict[str, bytes]:
    """The download ``tables/residence_lsoa.geojson``: simplified LSOAs with the published
    residents per cohort (empty where suppressed) as properties. The geometries' text is
    cached under the simplified LSOAs' key (:func:`atlas_data.shapes_key`)."""
    table = published.residence_lsoa
    wide = table.pivot(index="lsoa_code", columns="cohort", values="individuals")
    out = geo.lsoas[["lsoa_code", "lsoa_name", "la_code"]].copy()  # the simplified LSOAs' order
    for cohort in table["cohort"].unique():
        out[cohort] = out["lsoa_code"].map(wide[cohort]).astype("Int64")
    geometry = cached_table(
        "geojson-" + text_key(GEOJSON_VERSION, shapes_key(geo)),
        lambda: geometry_text(np.asarray(simplified_lsoas_wgs84(geo).geometry.values)),
    )
    text = None if geometry is None else features_bytes(out, geometry)
    if text is None:
        shapes = simplified_lsoas_wgs84(geo)
        text = geojson_bytes(
            gpd.GeoDataFrame(out, geometry=shapes.geometry.values, crs=shapes.crs)
        )
    return {"tables/residence_lsoa.geojson": text}
