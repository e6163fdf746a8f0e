"""The atlas page's data and the MSOA level: class breaks, shared geometry, MSOA counts and
their protection, the lookup reader, script-safe JSON and the output folder's index."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import geopandas as gpd
import mapclassify
import numpy as np
import pytest
import shapely

from atlas.render.atlas_data import SCALE, encode_shapes
from atlas.render.atlas_page import script_json
from atlas.render.classify import class_breaks
from atlas.render.index_page import write_index
from atlas.render.ring_text import ALPHABET, pack_ints, unpack_ints


@pytest.mark.filterwarnings("ignore:Numba not installed")
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("rounding", [0, 1])
def test_weighted_fisher_jenks_equals_mapclassify(seed, rounding):
    values = np.random.default_rng(seed).gamma(2, 5, 250).round(rounding) + 1
    ours = class_breaks(values, "fisher_jenks")
    theirs = mapclassify.FisherJenks(values, k=5).bins
    assert np.allclose(ours, theirs)


def test_breaks_ignore_zero_and_suppressed_values():
    assert class_breaks(np.array([0, np.nan, 7, 7, np.nan]), "quantiles") == [7.0]
    assert class_breaks(np.array([0.0, np.nan]), "fisher_jenks") == []
    assert class_breaks(np.array([5, 6, 50, 51, 52, 0]), "fisher_jenks", k=2) == [6.0, 52.0]


def _decode(shape, origin):
    out = []
    for rings in shape:
        for flat in rings:
            pts = np.cumsum(np.asarray(unpack_ints(flat)).reshape(-1, 2), axis=0) + origin
            out.append(pts / SCALE)
    return out


def test_shared_edges_decode_to_identical_points_within_a_quantum():
    a = shapely.box(-3.0, 53.0, -2.99, 53.01)
    b = shapely.box(-2.99, 53.0, -2.98, 53.01)
    geoms = gpd.GeoSeries([a, b], crs="EPSG:4326")
    origin = (int(np.floor(-3.0 * SCALE)), int(np.floor(53.0 * SCALE)))
    shapes = encode_shapes(geoms, origin)
    ra, rb = _decode(shapes[0], origin)[0], _decode(shapes[1], origin)[0]
    assert len(ra) == len(rb) == 4  # the closing point is not repeated
    shared_a = {tuple(p) for p in np.round(ra, 6) if abs(p[0] + 2.99) < 1e-9}
    shared_b = {tuple(p) for p in np.round(rb, 6) if abs(p[0] + 2.99) < 1e-9}
    assert shared_a == shared_b == {(-2.99, 53.0), (-2.99, 53.01)}


def test_packed_integers_round_trip_in_one_character_each_when_small():
    values = np.array([0, -1, 1, 15, -16, 16, -17, 1000, -123456, 2**40, -(2**40)])
    text, n_chars = pack_ints(values)
    assert unpack_ints(text.decode("ascii")) == values.tolist()
    assert n_chars.tolist() == [1, 1, 1, 1, 1, 2, 2, 3, 4, 9, 9]
    assert len(text) == n_chars.sum() and set(text) <= set(ALPHABET)
    assert text[:5] == b"ghi-_"  # one "last" character each: 0, 1, 2, 30, 31 zigzagged


def test_script_json_cannot_end_the_script_element():
    text = script_json({"name": "</script><script>alert(1)</script><!--"})
    assert "<" not in text and ">" not in text
    assert json.loads(text)["name"] == "</script><script>alert(1)</script><!--"


class _Rows(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.links, self.cell = [], [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = ""
        elif tag == "a":
            self.links.append(dict(attrs)["href"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join(self.cell.split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def test_index_lists_every_drop_newest_period_first(tmp_path):
    for name, period, title in (("1617", "2016-17", "Annual <2016>"), ("1718", "2017-18", "A")):
        (tmp_path / name / "reports").mkdir(parents=True)
        (tmp_path / name / "atlas.html").write_text("x")
        (tmp_path / name / "reports" / "monitoring.html").write_text("x")
        (tmp_path / name / "manifest.json").write_text(
            json.dumps(
                {
                    "recipe": {
                        "content": {"drop": {"name": name, "period": period, "title": title}}
                    },
                    "build_time": "2024-05-01T10:00:00+00:00",
                }
            )
        )
    (tmp_path / "not-a-drop").mkdir()
    parser = _Rows()
    parser.feed(write_index(tmp_path).read_text())
    assert parser.rows[1:] == [
        ["A (1718)", "2017-18", "2024-05-01", "AtlasMonitoring report"],
        ["Annual <2016> (1617)", "2016-17", "2024-05-01", "AtlasMonitoring report"],
    ]
    assert parser.links == [
        "1718/atlas.html",
        "1718/reports/monitoring.html",
        "1617/atlas.html",
        "1617/reports/monitoring.html",
    ]
