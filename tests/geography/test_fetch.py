"""``ims-atlas geography fetch`` against a local ArcGIS FeatureServer built from real boundaries.

The test server answers as the ONS Open Geography Portal does: layer metadata (``f=json``) with
``maxRecordCount`` and fields, and ``query`` pages in GeoJSON with ``exceededTransferLimit``
in ``properties``; an unknown service gets ArcGIS's ``{"error": ...}`` answer.
"""

from __future__ import annotations

import csv
import json
import re
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import geopandas as gpd
import pytest
from click.testing import CliRunner
from conftest import SHARED_DATA

from atlas.cli import main
from atlas.geography.areas import read_lsoa_boundaries
from atlas.geography.fetch import Services, fetch_boundaries

RAW = SHARED_DATA / "raw"
BOUNDARIES = RAW / "uk-geojson-lsoa11"
LOOKUP = RAW / "ons-lsoa11-ccg21-lad21-lookup" / "LSOA11_CCG21_LAD21_Apr2021_lookup_9LA.csv"
LAS = {"E06000006": 79, "E08000013": 119}  # Halton, St Helens: LSOAs in each
PAGE = 50

pytestmark = pytest.mark.skipif(
    not (BOUNDARIES.is_dir() and LOOKUP.is_file()), reason=f"real boundaries not found in {RAW}"
)


def _layers() -> dict[str, dict]:
    """Three FeatureServer layers in the portal's shapes, from the shared real data."""
    lsoa_features, la_features = [], []
    for i, la in enumerate(sorted(LAS)):
        data = json.loads((BOUNDARIES / f"{la}.json").read_text())
        for f in data["features"]:
            lsoa_features.append(
                {
                    "type": "Feature",
                    "id": len(lsoa_features) + 1,
                    "geometry": f["geometry"],
                    "properties": {
                        "FID": len(lsoa_features) + 1,
                        **{k: f["properties"][k] for k in ("LSOA11CD", "LSOA11NM")},
                    },
                }
            )
        gdf = gpd.GeoDataFrame.from_features(data["features"], crs="EPSG:4326")
        outline = json.loads(gpd.GeoSeries([gdf.union_all()], crs="EPSG:4326").to_json())
        name = {"E06000006": "Halton", "E08000013": "St. Helens"}[la]
        la_features.append(
            {
                "type": "Feature",
                "id": i + 1,
                "geometry": outline["features"][0]["geometry"],
                "properties": {"FID": i + 1, "LAD21CD": la, "LAD21NM": name},
            }
        )
    with open(LOOKUP, newline="", encoding="utf-8-sig") as fh:
        rows = [
            {"FID": int(r["FID"]), "LSOA11CD": r["LSOA11CD"], "LAD21CD": r["LAD21CD"]}
            for r in csv.DictReader(fh)
        ]
    lookup = [{"type": "Feature", "id": r["FID"], "geometry": None, "properties": r} for r in rows]
    return {
        "LSOA_2011_EW_BGC_V3": {
            "features": lsoa_features,
            "fields": ["FID", "LSOA11CD", "LSOA11NM"],
        },
        "LAD_DEC_2021_UK_BGC": {"features": la_features, "fields": ["FID", "LAD21CD", "LAD21NM"]},
        "LSOA11_LAD21_EW_LU": {"features": lookup, "fields": ["FID", "LSOA11CD", "LAD21CD"]},
    }


class _Portal(BaseHTTPRequestHandler):
    layers: dict[str, dict] = {}
    queries: list[dict[str, str]] = []

    def log_message(self, *args) -> None:  # keep the test output clean
        pass

    def _send(self, data: dict) -> None:
        body = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        m = re.match(r"^/arcgis/rest/services/([^/]+)/FeatureServer/0(/query)?$", url.path)
        layer = self.layers.get(m.group(1)) if m else None
        if layer is None:
            return self._send(
                {"error": {"code": 400, "message": "Invalid URL", "details": ["Invalid URL"]}}
            )
        if not m.group(2):
            return self._send(
                {
                    "currentVersion": 11.3,
                    "type": "Feature Layer",
                    "maxRecordCount": PAGE,
                    "fields": [
                        {"name": f, "type": "esriFieldTypeString"} for f in layer["fields"]
                    ],
                }
            )
        type(self).queries.append(q)
        field, values = re.match(r"^(\w+) IN \((.*)\)$", q["where"]).groups()
        wanted = set(re.findall(r"'([^']*)'", values))
        hits = sorted(
            (f for f in layer["features"] if f["properties"][field] in wanted),
            key=lambda f: f["properties"][q["orderByFields"]],
        )
        start, count = int(q["resultOffset"]), int(q["resultRecordCount"])
        page = hits[start : start + count]
        keep = q["outFields"].split(",")
        if keep != ["*"]:
            page = [{**f, "properties": {k: f["properties"][k] for k in keep}} for f in page]
        if q["returnGeometry"] == "false":
            page = [{**f, "geometry": None} for f in page]
        out = {"type": "FeatureCollection", "features": page}
        if start + count < len(hits):
            out["properties"] = {"exceededTransferLimit": True}
        self._send(out)


@pytest.fixture(scope="module")
def portal():
    _Portal.layers = _layers()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Portal)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Services(
        base_url=f"http://127.0.0.1:{server.server_port}/arcgis/rest/services",
        la="LAD_DEC_2021_UK_BGC",
        lookup="LSOA11_LAD21_EW_LU",
        lsoa="LSOA_2011_EW_BGC_V3",
        timeout_s=10,
    )
    server.shutdown()
    server.server_close()


def test_fetch_writes_the_las_lsoas_paged(portal, tmp_path):
    _Portal.queries.clear()
    got = fetch_boundaries(["E08000013", "e06000006"], tmp_path, portal)
    assert (got.lsoas, got.las) == (198, 2)
    lsoas = read_lsoa_boundaries([got.lsoa_file])
    assert lsoas.groupby("la_code").size().to_dict() == LAS
    source = read_lsoa_boundaries([BOUNDARIES / "E08000013.json", BOUNDARIES / "E06000006.json"])
    assert list(lsoas["lsoa_code"]) == list(source["lsoa_code"])
    assert lsoas.geometry.geom_equals_exact(source.geometry, 1e-9).all()
    las = gpd.read_file(got.la_file)
    assert list(las["LAD21CD"]) == ["E06000006", "E08000013"]
    assert list(las["LAD21NM"]) == ["Halton", "St. Helens"]
    # Paged by the layers' maxRecordCount (50): 2 LAs; 198 lookup rows; 198 LSOAs asked for
    # 100 codes at a time.
    offsets = [int(q["resultOffset"]) for q in _Portal.queries]
    assert offsets == [0, 0, 50, 100, 150, 0, 50, 0, 50]
    assert all(q["resultRecordCount"] == str(PAGE) for q in _Portal.queries)
    assert all(q["f"] == "geojson" and q["outSR"] == "4326" for q in _Portal.queries)


def test_fetch_via_the_command(portal, tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "geography",
            "fetch",
            "--la",
            "E06000006",
            "--out",
            str(tmp_path / "b"),
            "--base-url",
            portal.base_url,
            "--la-service",
            portal.la,
            "--lookup-service",
            portal.lookup,
            "--lsoa-service",
            portal.lsoa,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "(79 LSOAs)" in result.output and "(1 LAs)" in result.output
    assert len(gpd.read_file(tmp_path / "b" / "lsoa.geojson")) == 79


def test_unknown_la_and_renamed_service_are_clear(portal, tmp_path):
    with pytest.raises(Exception, match=r"LA code\(s\) E08000099 not found in LAD_DEC_2021"):
        fetch_boundaries(["E08000099"], tmp_path, portal)
    from dataclasses import replace

    with pytest.raises(
        Exception,
        match=r"LSOA_2031_EW: the portal answered error 400 "
        r"\(Invalid URL\): check the service name",
    ):
        fetch_boundaries(["E06000006"], tmp_path, replace(portal, lsoa="LSOA_2031_EW"))


def test_offline_fails_in_one_clear_line(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = CliRunner().invoke(
        main,
        [
            "geography",
            "fetch",
            "--la",
            "E06000006",
            "--out",
            str(tmp_path),
            "--base-url",
            f"http://127.0.0.1:{port}/arcgis/rest/services",
        ],
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert re.match(
        r"error: cannot reach the ONS Open Geography Portal at 127\.0\.0\.1:\d+ "
        r"\(.*refused.*\); are you online\?$",
        lines[0],
    )
