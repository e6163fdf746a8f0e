"""``Drop.explore``: one published layer of a drop as an interactive folium map for notebooks.

Drawn as the atlas page draws it (``atlas.js``): the drop's own class breaks
(:mod:`atlas.render.classify`, with the classification its recipe names), the same palette,
white for zero; suppressed areas are greyed and say so in their tooltip. Only published values
reach the map.
"""

from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement, Template
from markupsafe import escape

from .counting.rates import poisson_ci
from .render.atlas_data import SEPARATED_LEVELS
from .render.classify import SCHEMES, class_breaks, separated_breaks, shown_breaks

# the page's colours (atlas.js: PALETTE, ZERO, NODATA); suppressed areas are greyed here
PALETTE = ("#fed976", "#fd8d3c", "#e31a1c", "#bd0026", "#800026")  # YlOrRd, as atlas.js
ZERO = "#ffffff"
NODATA = "#f0f0f0"
SUPPRESSED = "#969696"
SITE = "#08519c"
MEASURE_LABELS = {"individuals": "individuals", "rate": "rate per 1,000 residents"}
LEVEL_LABELS = {"lsoa": "LSOA", "msoa": "MSOA", "la": "local authority"}


def explore_layer(
    areas: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None,
    *,
    cohort: str,
    cohort_label: str,
    measure: str,
    level: str,
    classification: str,
    threshold: int,
    tiles: str | None = "OpenStreetMap",
) -> folium.Map:
    """A folium map of one layer of a level's published areas (``published_drop``'s
    columns): classed with ``classification`` on the layer's values, as the page classes them.
    ``sites``: drawn as markers when given."""
    column = f"individuals_{cohort}" if measure == "individuals" else f"rate_per_1000_{cohort}"
    values = areas[column].astype("Float64")
    suppressed = areas[f"suppressed_{cohort}"].fillna(False).astype(bool).to_numpy()
    breaks = layer_breaks(areas, values, cohort, measure, level, classification)
    fills = [
        class_colour(v, breaks, hidden)
        for v, hidden in zip(values.to_numpy(dtype=float, na_value=np.nan), suppressed)
    ]
    code = areas.columns[0]
    small = f"fewer than {threshold}"
    # folium's tooltips insert property values as HTML: the text goes in escaped
    shown = pd.DataFrame(
        {"code": areas[code].astype(str).to_numpy(), "name": areas.iloc[:, 1].astype(str)}
    ).map(lambda text: str(escape(text)))
    shown = shown.assign(
        individuals=[
            f"{small} (suppressed)" if hidden else _count(n)
            for n, hidden in zip(areas[f"individuals_{cohort}"], suppressed)
        ],
        rate=[
            "suppressed" if hidden else _rate(r, lo, hi)
            for r, lo, hi, hidden in zip(
                areas[f"rate_per_1000_{cohort}"],
                areas[f"rate_lower_{cohort}"],
                areas[f"rate_upper_{cohort}"],
                suppressed,
            )
        ],
    )
    layer = gpd.GeoDataFrame(shown, geometry=areas.geometry.values, crs=areas.crs)
    colour_of = dict(zip(shown["code"], fills))  # by the (escaped) code in the properties

    name = f"{cohort_label}: {MEASURE_LABELS[measure]} by {LEVEL_LABELS[level]}"
    m = folium.Map(tiles=tiles, control_scale=True)
    minx, miny, maxx, maxy = areas.total_bounds
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    folium.GeoJson(
        layer.to_json(drop_id=True),
        name=name,
        style_function=lambda feature: {
            "fillColor": colour_of[feature["properties"]["code"]],
            "fillOpacity": 0.8,
            "color": "#666666",
            "weight": 0.5,
        },
        highlight_function=lambda _: {"weight": 3, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "code", "individuals", "rate"],
            aliases=["Name", "Code", "Individuals", "Rate per 1,000"],
        ),
    ).add_to(m)
    if sites is not None and len(sites):
        _sites(sites, small).add_to(m)
    rows = legend_rows(breaks, measure, values, threshold)
    _Legend(rows, f"{name} · {SCHEMES[classification].label}").add_to(m)
    folium.LayerControl().add_to(m)
    return m


def layer_breaks(
    areas: gpd.GeoDataFrame,
    values: pd.Series,
    cohort: str,
    measure: str,
    level: str,
    classification: str,
) -> list[float]:
    """The layer's class bounds as the page has them (``atlas_data.layer_breaks``): at the
    published precision, and at local authority level never setting overlapping intervals (a
    rate's published one, a count's Poisson one) more than one class apart."""
    raw = values.to_numpy(dtype=float, na_value=np.nan)
    if level not in SEPARATED_LEVELS:
        bounds = class_breaks(raw, classification)
    elif measure == "individuals":
        bounds = separated_breaks(raw, *poisson_ci(np.nan_to_num(raw)), classification)
    else:
        lo, hi = (
            areas[f"{c}_{cohort}"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            for c in ("rate_lower", "rate_upper")
        )
        bounds = separated_breaks(raw, lo, hi, classification)
    return shown_breaks(bounds, 1.0 if measure == "individuals" else 0.1)


def class_colour(value: float, breaks: list[float], suppressed: bool) -> str:
    """An area's fill, as ``atlas.js``'s ``colour()`` picks it (suppressed: grey)."""
    if suppressed:
        return SUPPRESSED
    if np.isnan(value):
        return NODATA
    if value == 0:
        return ZERO
    k = 0
    while k < len(breaks) - 1 and value > breaks[k]:
        k += 1
    return PALETTE[k + len(PALETTE) - len(breaks)]


def legend_rows(
    breaks: list[float], measure: str, values: pd.Series, threshold: int
) -> list[tuple[str, str]]:
    """The legend as ``atlas.js`` writes it: (colour, text) for zero, each class, and
    suppressed."""
    step, show = (1.0, _count) if measure == "individuals" else (0.1, lambda v: f"{v:.1f}")
    positive = values.dropna()
    positive = positive[positive > 0]
    lower = float(threshold if measure == "individuals" or not len(positive) else positive.min())
    rows = [(ZERO, "0")]
    for k, upper in enumerate(breaks):
        text = show(upper) if lower == upper else f"{show(lower)}–{show(upper)}"
        rows.append((PALETTE[k + len(PALETTE) - len(breaks)], text))
        lower = round(upper + step, 1)
    rows.append((SUPPRESSED, f"suppressed (fewer than {threshold}, or withheld)"))
    return rows


def _count(n: Any) -> str:
    return "" if pd.isna(n) else f"{int(n):,}"


def _rate(rate: Any, lower: Any, upper: Any) -> str:
    if pd.isna(rate):
        return "no population"
    return f"{rate:.1f} (95% CI {lower:.1f}–{upper:.1f})"


def _sites(sites: gpd.GeoDataFrame, small: str) -> folium.FeatureGroup:
    """The sites as markers, with their published activity in the tooltip."""
    group = folium.FeatureGroup(name="Sites")
    for site in sites.itertuples():
        people = small if site.suppressed else _count(site.individuals)
        services = site.services if isinstance(site.services, str) and site.services else None
        folium.CircleMarker(
            location=[site.geometry.y, site.geometry.x],
            radius=6,
            color=SITE,
            weight=2,
            fill=True,
            fill_color="#ffffff",
            fill_opacity=1,
            tooltip=(
                f"<strong>{escape(site.site_name)}</strong><br>{escape(site.site_type)}"
                f"{'; ' + escape(services) if services else ''}"
                f"<br>NSP visits: {_count(site.nsp_visits) or '0'}<br>Individuals: {people}"
            ),
        ).add_to(group)
    return group


class _Legend(MacroElement):
    """The legend: a fixed box of colour swatches, each with its class."""

    _template = Template(
        """{% macro html(this, kwargs) %}
<div class="ims-atlas-legend" style="position: fixed; bottom: 28px; right: 10px; z-index: 1000;
 background: #fff; padding: 6px 10px; border: 1px solid #999; font: 12px sans-serif;">
<strong>{{ this.title }}</strong>
{% for colour, text in this.rows %}<div class="ims-atlas-key"><span style="display: inline-block;
 width: 14px; height: 14px; margin-right: 6px; vertical-align: middle; border: 1px solid #999;
 background: {{ colour }};"></span>{{ text }}</div>
{% endfor %}</div>
{% endmacro %}"""
    )

    def __init__(self, rows: list[tuple[str, str]], title: str):
        super().__init__()
        self._name = "ImsAtlasLegend"
        self.rows = [(colour, str(escape(text))) for colour, text in rows]
        self.title = str(escape(title))
