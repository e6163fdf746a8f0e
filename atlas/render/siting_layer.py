"""The atlas's NSP siting layers: uncovered need as a choropleth, existing and recommended sites.

Receives only the published plan (``siting_publish.PublishedPlan``): LSOA demand appears only
where it can be derived from published cells, otherwise as suppressed. Site names reach the page
as JSON and are set as text nodes, never as HTML.
"""

from __future__ import annotations

import html
import json

import branca.element
import folium
import geopandas as gpd
import pandas as pd
import shapely

from .atlas_page import PALETTE, SUPPRESSED_FILL, ZERO_FILL, _fill, _script_json, class_breaks

COVERED_FILL = "#c6dbef"
EXISTING_COLOUR = "#08519c"
RECOMMENDED_COLOUR = "#238b45"
NEED_LAYER = "NSP siting: need not covered today"
SITES_LAYER = "NSP siting: existing and recommended sites"


def add_siting_layers(fmap: folium.Map, shapes: gpd.GeoDataFrame, pub) -> None:
    """Add the two siting overlays (hidden until picked) and their legend to the map."""
    lsoas = pub.lsoas.set_index("lsoa_code").reindex(shapes["lsoa_code"])
    open_need = lsoas["status"] != "covered"
    breaks = class_breaks(lsoas["demand"].where(open_need & ~lsoas["suppressed"].astype(bool))
                          .astype("Float64"), "fisher_jenks")
    small = f"fewer than {pub.threshold}"
    features = []
    for (code, name, geom), status, rank, demand, hidden in zip(
            shapes[["lsoa_code", "lsoa_name", "geometry"]].itertuples(index=False),
            lsoas["status"], lsoas["rank"], lsoas["demand"], lsoas["suppressed"]):
        hidden = bool(hidden) if not pd.isna(hidden) else False
        value = None if pd.isna(demand) else int(demand)
        if status == "covered":
            fill, shown = COVERED_FILL, f"within {pub.radius_m:,.0f} m of an NSP site"
        else:
            fill = _fill(value, hidden, breaks)
            shown = small if hidden else f"{value or 0:,} not within {pub.radius_m:,.0f} m"
            if status == "added":
                shown += f"; recommended site {int(rank)} would cover it"
        features.append({"type": "Feature", "geometry": shapely.geometry.mapping(geom),
                         "properties": {"name": html.escape(str(name)),
                                        "code": html.escape(str(code)),
                                        "need": html.escape(shown), "fill": fill,
                                        "added": status == "added"}})
    need = folium.FeatureGroup(name=NEED_LAYER, overlay=True, show=False)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        style_function=lambda f: {"fillColor": f["properties"]["fill"], "fillOpacity": 0.8,
                                  "color": RECOMMENDED_COLOUR if f["properties"]["added"]
                                  else "#636363",
                                  "weight": 2 if f["properties"]["added"] else 0.4},
        tooltip=folium.GeoJsonTooltip(fields=["name", "code", "need"],
                                      aliases=["LSOA", "Code", "PWID individuals"]),
        embed=True,
    ).add_to(need)
    need.add_to(fmap)
    sites = folium.FeatureGroup(name=SITES_LAYER, overlay=True, show=False)
    sites.add_to(fmap)
    _site_script(fmap, sites.get_name(), pub)
    _legend(fmap, need.get_name(), sites.get_name(), breaks, small)


def _site_script(fmap: folium.Map, group: str, pub) -> None:
    def points(frame: pd.DataFrame, ranked: bool) -> list[dict]:
        out = []
        for row in frame.itertuples(index=False):
            if pd.isna(row.lat):
                continue
            item = {"lat": round(float(row.lat), 6), "lng": round(float(row.long), 6),
                    "name": str(row.site_name), "code": str(row.site_code)}
            if ranked:
                item["rank"] = int(row.rank)
            out.append(item)
        return out

    data = {"existing": points(pub.existing, False),
            "recommended": points(pub.recommended, True), "radius": float(pub.radius_m),
            "colours": [EXISTING_COLOUR, RECOMMENDED_COLOUR]}
    script = f"""<script>
window.addEventListener('load', function() {{
  var group = window[{json.dumps(group)}], data = {_script_json(data)};
  function popup(title, lines) {{
    var box = document.createElement('div');
    var h = document.createElement('strong'); h.textContent = title; box.appendChild(h);
    lines.forEach(function(t) {{ var d = document.createElement('div'); d.textContent = t; box.appendChild(d); }});
    return box;
  }}
  data.existing.forEach(function(p) {{
    L.circle([p.lat, p.lng], {{radius: data.radius, color: data.colours[0], weight: 1,
      fillOpacity: 0.05, interactive: false}}).addTo(group);
    L.circleMarker([p.lat, p.lng], {{radius: 5, color: '#fff', weight: 1,
      fillColor: data.colours[0], fillOpacity: 1}})
      .bindPopup(function() {{ return popup(p.name, ['Existing NSP site', p.code]); }})
      .addTo(group);
  }});
  data.recommended.forEach(function(p) {{
    L.circle([p.lat, p.lng], {{radius: data.radius, color: data.colours[1], weight: 2,
      dashArray: '4 4', fillOpacity: 0.05, interactive: false}}).addTo(group);
    var label = document.createElement('div');
    label.className = 'nsp-rank'; label.textContent = String(p.rank);
    var icon = L.divIcon({{html: label.outerHTML, className: '', iconSize: [22, 22]}});
    L.marker([p.lat, p.lng], {{icon: icon, title: 'Recommended site ' + p.rank}})
      .bindPopup(function() {{ return popup(p.name, ['Recommended new NSP site, rank ' + p.rank, p.code]); }})
      .addTo(group);
  }});
}});
</script>
<style>.nsp-rank{{width:22px;height:22px;border-radius:11px;background:{RECOMMENDED_COLOUR};
color:#fff;font:bold 12px/22px sans-serif;text-align:center;border:1px solid #fff}}</style>"""
    fmap.get_root().html.add_child(branca.element.Element(script))


def _legend(fmap: folium.Map, need: str, sites: str, breaks: list[float], small: str) -> None:
    rows = [(COVERED_FILL, "covered today"), (ZERO_FILL, "0 not covered")]
    lower = 1.0
    offset = max(0, len(PALETTE) - len(breaks))
    for i, upper in enumerate(breaks):
        rows.append((PALETTE[i + offset], f"{lower:,.0f}–{upper:,.0f} not covered"))
        lower = upper + 1
    rows.append((SUPPRESSED_FILL, f"suppressed ({small})"))
    data = _script_json({"rows": rows, "need": need, "sites": sites, "map": fmap.get_name(),
                         "colours": [EXISTING_COLOUR, RECOMMENDED_COLOUR]})
    script = f"""
<div id="siting-legend" role="region" aria-label="NSP siting legend" style="display:none;
 position:absolute;z-index:1000;bottom:30px;left:10px;background:#fff;padding:6px 10px;
 border-radius:4px;font:12px sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3)"></div>
<script>
(function() {{
  var spec = {data};
  function swatch(colour, round) {{
    var s = document.createElement('span');
    s.style.cssText = 'display:inline-block;width:14px;height:10px;margin-right:6px;' +
      'border:1px solid #999;background:' + colour + (round ? ';border-radius:7px' : '');
    return s;
  }}
  function line(box, colour, text, round) {{
    var d = document.createElement('div'); d.appendChild(swatch(colour, round));
    d.appendChild(document.createTextNode(text)); box.appendChild(d);
  }}
  window.addEventListener('load', function() {{
    var box = document.getElementById('siting-legend');
    var head = document.createElement('b'); head.textContent = 'PWID individuals by LSOA';
    box.appendChild(head);
    spec.rows.forEach(function(r) {{ line(box, r[0], r[1], false); }});
    line(box, spec.colours[0], 'existing NSP site', true);
    line(box, spec.colours[1], 'recommended site (rank)', true);
    var map = window[spec.map], need = window[spec.need], sites = window[spec.sites];
    function update() {{
      box.style.display = (map.hasLayer(need) || map.hasLayer(sites)) ? 'block' : 'none';
    }}
    map.on('overlayadd overlayremove', update);
    update();
  }});
}})();
</script>"""
    fmap.get_root().html.add_child(branca.element.Element(script))
