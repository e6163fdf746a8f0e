"""The atlas page (first form): a folium map with one choropleth per cohort and the sites.

Receives only published values. Geometry is simplified once for the whole LSOA coverage
(shapely's topology-aware ``coverage_simplify``, so neighbours keep shared edges). Element ids
are made deterministic so that the same inputs give the same bytes.
"""

from __future__ import annotations

import contextlib
import html
import itertools
import json
import warnings
from typing import Iterator

import branca.element
import folium
import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
import shapely

from ..aggregate import COHORT_ORDER
from ..geography import BNG, WGS84, Geography
from ..individuals import COHORT_LABELS
from ..suppress import Published
from .assets import leaflet_assets

# ColorBrewer YlOrRd, 5 classes (colour-blind safe, sequential).
PALETTE = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
SUPPRESSED_FILL = "#bdbdbd"
ZERO_FILL = "#ffffff"
SIMPLIFY_M = 15.0
CLASSIFIERS = {
    "fisher_jenks": lambda v, k: mapclassify.FisherJenks(v, k=k),
    "quantiles": lambda v, k: mapclassify.Quantiles(v, k=k),
    "equal_interval": lambda v, k: mapclassify.EqualInterval(v, k=k),
}


@contextlib.contextmanager
def deterministic_ids(prefix: str = "atlas") -> Iterator[None]:
    """Give folium/branca elements sequential ids instead of random ones while building."""
    counter = itertools.count(1)
    original = branca.element.Element._generate_id
    branca.element.Element._generate_id = classmethod(  # type: ignore[method-assign]
        lambda cls: f"{prefix}{next(counter):05d}")
    try:
        yield
    finally:
        branca.element.Element._generate_id = original  # type: ignore[method-assign]


def simplified_lsoas(geo: Geography) -> gpd.GeoDataFrame:
    """The LSOA coverage simplified with shared edges kept, coordinates to 5 decimals (~1 m)."""
    bng = geo.lsoas.to_crs(BNG)
    simple = shapely.coverage_simplify(bng.geometry.values, SIMPLIFY_M)
    out = gpd.GeoDataFrame(geo.lsoas.drop(columns="geometry"), geometry=simple, crs=BNG)
    out = out.to_crs(WGS84)
    out["geometry"] = shapely.set_precision(out.geometry.values, 1e-5)
    return out


def class_breaks(values: pd.Series, scheme: str, k: int = 5) -> list[float]:
    """Upper bounds of up to k classes of the published, non-zero values."""
    v = values.dropna().astype(float)
    v = v[v > 0]
    if v.nunique() <= 1:
        return [float(v.max())] if len(v) else []
    k = min(k, int(v.nunique()))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Numba not installed")
        return [float(b) for b in CLASSIFIERS[scheme](v.to_numpy(), k).bins]


def _fill(value: float | None, suppressed: bool, breaks: list[float]) -> str:
    if suppressed:
        return SUPPRESSED_FILL
    if value is None or pd.isna(value) or value == 0:
        return ZERO_FILL
    idx = int(np.searchsorted(np.asarray(breaks), value, side="left"))
    return PALETTE[min(idx, len(PALETTE) - 1) + max(0, len(PALETTE) - len(breaks))]


def render_atlas(published: Published, geo: Geography, sites: pd.DataFrame, *, title: str,
                 period: str, basemap: str, classification: str, siting=None) -> bytes:
    """The atlas page as HTML bytes."""
    shapes = simplified_lsoas(geo)
    minx, miny, maxx, maxy = shapes.total_bounds
    with deterministic_ids():
        fmap = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=11,
                          tiles=None, control_scale=True, prefer_canvas=False)
        if basemap == "osm":
            folium.TileLayer("OpenStreetMap", control=False).add_to(fmap)
        _inline_assets(fmap)
        fmap.fit_bounds([[miny, minx], [maxy, maxx]])
        legends = {}
        for i, cohort in enumerate(COHORT_ORDER):
            layer_name = COHORT_LABELS[cohort]
            legends[layer_name] = _cohort_layer(fmap, shapes, published, cohort, layer_name,
                                                classification, show=(i == 0))
        _la_outlines(fmap, geo)
        _site_layers(fmap, sites, published)
        if siting is not None:  # NSP siting overlays (issue 7), kept in their own module
            from .siting_layer import add_siting_layers
            add_siting_layers(fmap, shapes, siting)
        folium.LayerControl(collapsed=False).add_to(fmap)
        _legend(fmap, legends, published.threshold)
        fmap.get_root().header.add_child(branca.element.Element(
            f"<title>{html.escape(title)} — {html.escape(period)}</title>"))
        fmap.get_root().html.add_child(branca.element.Element(
            f'<div class="atlas-title" style="position:absolute;z-index:1000;left:60px;top:10px;'
            f'background:#fff;padding:4px 10px;border-radius:4px;font:16px sans-serif">'
            f"<h1 style='font-size:18px;margin:0'>{html.escape(title)}</h1>"
            f"<div>Period {html.escape(period)}</div></div>"))
        page = fmap.get_root().render()
    return page.encode("utf-8")


def _inline_assets(fmap: folium.Map) -> None:
    """Replace folium's CDN links with Leaflet inlined: the page needs no network."""
    js, css = leaflet_assets()
    fmap.default_js = []
    fmap.default_css = []
    header = fmap.get_root().header
    header.add_child(branca.element.Element(f"<style>{css}</style>"), name="leaflet_css")
    header.add_child(branca.element.Element(
        "<script>" + js.replace("</script", "<\\/script") + "</script>"), name="leaflet_js")


def _cohort_layer(fmap: folium.Map, shapes: gpd.GeoDataFrame, published: Published, cohort: str,
                  layer_name: str, classification: str, show: bool) -> list[tuple[str, str]]:
    table = published.residence_lsoa
    rows = table[table["cohort"] == cohort].set_index("lsoa_code")
    values = rows["individuals"].reindex(shapes["lsoa_code"])
    hidden = rows["suppressed"].reindex(shapes["lsoa_code"]).fillna(False).astype(bool)
    breaks = class_breaks(values, classification)
    small = f"fewer than {published.threshold}"
    features = []
    for (code, name, geom), value, sup in zip(
            shapes[["lsoa_code", "lsoa_name", "geometry"]].itertuples(index=False),
            values.to_numpy(), hidden.to_numpy()):
        features.append({"type": "Feature", "geometry": shapely.geometry.mapping(geom),
                         "properties": {
                             "name": html.escape(str(name)), "code": html.escape(str(code)),
                             "value": small if sup else ("0" if pd.isna(value) else f"{int(value):,}"),
                             "fill": _fill(None if pd.isna(value) else float(value), bool(sup),
                                           breaks)}})
    group = folium.FeatureGroup(name=layer_name, overlay=False, show=show)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        style_function=lambda f: {"fillColor": f["properties"]["fill"], "color": "#636363",
                                  "weight": 0.4, "fillOpacity": 0.75},
        highlight_function=lambda f: {"weight": 2, "color": "#000"},
        tooltip=folium.GeoJsonTooltip(fields=["name", "code", "value"],
                                      aliases=["LSOA", "Code", "Individuals"]),
        embed=True,
    ).add_to(group)
    group.add_to(fmap)
    return _legend_rows(breaks, small, published.threshold)


def _legend_rows(breaks: list[float], small: str, threshold: int) -> list[tuple[str, str]]:
    rows = [(ZERO_FILL, "0")]
    lower = float(threshold)
    offset = max(0, len(PALETTE) - len(breaks))
    for i, upper in enumerate(breaks):
        rows.append((PALETTE[i + offset], f"{lower:,.0f}–{upper:,.0f}"))
        lower = upper + 1
    rows.append((SUPPRESSED_FILL, f"suppressed ({small})"))
    return rows


def _la_outlines(fmap: folium.Map, geo: Geography) -> None:
    data = json.loads(geo.las[["la_code", "la_name", "geometry"]].to_json(drop_id=True))
    folium.GeoJson(data, name="Local authority boundaries", control=True,
                   style_function=lambda f: {"fill": False, "color": "#252525", "weight": 2},
                   interactive=False).add_to(fmap)


def _script_json(data: object) -> str:
    """JSON safe to place inside a <script> element (no ``</script>`` or ``<!--`` breakout)."""
    return (json.dumps(data, sort_keys=True, ensure_ascii=False)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _site_layers(fmap: folium.Map, sites: pd.DataFrame, published: Published) -> None:
    """Agencies and pharmacies as two layers; popups built as text nodes, never as HTML."""
    activity = published.site_activity.set_index("site_code")
    small = f"fewer than {published.threshold}"
    layers = {}
    for site_type, label, colour in (("agency", "Agencies", "#1b9e77"),
                                     ("pharmacy", "Pharmacies", "#7570b3")):
        group = folium.FeatureGroup(name=label, overlay=True, show=True)
        group.add_to(fmap)
        chosen = sites[(sites["site_type"] == site_type) & sites["lat"].notna()]
        points = []
        for site in chosen.sort_values("site_code").itertuples(index=False):
            row = activity.loc[site.site_code]
            points.append({
                "lat": round(float(site.lat), 6), "lng": round(float(site.long), 6),
                "name": site.site_name, "type": site_type.capitalize(),
                "services": site.services or "not recorded",
                "visits": f"{int(row['nsp_visits']):,}",
                "people": small if row["suppressed"] else f"{int(row['individuals']):,}"})
        layers[group.get_name()] = {"colour": colour, "points": points}
    script = f"""<script>
window.addEventListener('load', function() {{
  var layers = {_script_json(layers)};
  function line(box, label, value) {{
    var div = document.createElement('div');
    if (label) {{ var b = document.createElement('b'); b.textContent = label + ': '; div.appendChild(b); }}
    div.appendChild(document.createTextNode(value));
    box.appendChild(div);
  }}
  Object.keys(layers).forEach(function(name) {{
    var group = window[name], spec = layers[name];
    spec.points.forEach(function(p) {{
      var m = L.circleMarker([p.lat, p.lng], {{radius: 6, color: '#222', weight: 1,
        fillColor: spec.colour, fillOpacity: 0.9}});
      m.bindTooltip(function() {{ var s = document.createElement('span'); s.textContent = p.name; return s; }});
      m.bindPopup(function() {{
        var box = document.createElement('div');
        var h = document.createElement('strong'); h.textContent = p.name; box.appendChild(h);
        line(box, '', p.type); line(box, 'Services', p.services);
        line(box, 'NSP visits', p.visits); line(box, 'Individuals', p.people);
        return box;
      }});
      m.addTo(group);
    }});
  }});
}});
</script>"""
    fmap.get_root().html.add_child(branca.element.Element(script))


def _legend(fmap: folium.Map, legends: dict[str, list[tuple[str, str]]], threshold: int) -> None:
    """One legend that follows the active cohort layer."""
    data = json.dumps(legends, sort_keys=True).replace("</", "<\\/")
    map_name = fmap.get_name()
    script = f"""
<div id="atlas-legend" role="region" aria-label="Legend" style="position:absolute;z-index:1000;
 bottom:30px;right:10px;background:#fff;padding:6px 10px;border-radius:4px;font:12px sans-serif;
 box-shadow:0 1px 4px rgba(0,0,0,.3)"></div>
<script>
(function() {{
  var legends = {data};
  function show(name) {{
    var rows = legends[name] || [];
    var box = document.getElementById('atlas-legend');
    box.textContent = '';
    var head = document.createElement('b'); head.textContent = name + ' (individuals)';
    box.appendChild(head);
    rows.forEach(function(r) {{
      var line = document.createElement('div');
      var sw = document.createElement('span');
      sw.style.cssText = 'display:inline-block;width:14px;height:10px;margin-right:6px;' +
        'border:1px solid #999;background:' + r[0];
      line.appendChild(sw); line.appendChild(document.createTextNode(r[1]));
      box.appendChild(line);
    }});
  }}
  window.addEventListener('load', function() {{
    var map = window[{json.dumps(map_name)}];
    show({json.dumps(next(iter(legends)))});
    map.on('baselayerchange', function(e) {{ show(e.name); }});
  }});
}})();
</script>"""
    fmap.get_root().html.add_child(branca.element.Element(script))
