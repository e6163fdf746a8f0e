"""``ims-atlas geography fetch``: LSOA and LA boundaries from the ONS Open Geography Portal.

For users with internet. The portal serves each product as an ArcGIS REST FeatureServer layer;
this asks each layer for its ``maxRecordCount`` and field names, then pages through
``query`` (``f=geojson``, ``outSR=4326``, ``resultOffset``) until ``exceededTransferLimit`` is
false. Three layers are used: the LA boundaries, the LSOA -> LAD lookup (LSOA boundary layers
carry no LA code) and the LSOA boundaries. Their service names carry version suffixes that ONS
changes, so they are settings (:class:`Services`) with current defaults.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GeographyError

log = logging.getLogger(__name__)

PORTAL = "https://services1.arcgis.com/ESMARspQHYMw9BZ9/arcgis/rest/services"
CODES_PER_QUERY = 100  # LSOA codes per ``IN (...)`` clause, to keep URLs short
LA_CODE_RE = re.compile(r"^[EWSN]\d{8}$")


@dataclass(frozen=True)
class Services:
    """Where the boundaries are: the portal's REST root and the three layers' service names."""

    base_url: str = PORTAL
    la: str = "Local_Authority_Districts_December_2024_Boundaries_UK_BGC"
    lookup: str = "LSOA21_WD24_LAD24_EW_LU"
    lsoa: str = "Lower_layer_Super_Output_Areas_December_2021_Boundaries_EW_BGC_V5"
    layer: int = 0
    timeout_s: float = 60.0


@dataclass
class Fetched:
    lsoa_file: Path
    la_file: Path
    lsoas: int
    las: int


BOUNDARY_FILES = ("la.geojson", "lsoa.geojson")  # what a fetch writes


def fetch_boundaries(
    la_codes: Sequence[str], out_dir: Path, services: Services = Services()
) -> Fetched:
    """Download the LA and LSOA polygons of ``la_codes`` into ``out_dir`` as GeoJSON.

    Writes ``la.geojson`` and ``lsoa.geojson`` (each LSOA with its LAD code added), ready for
    a recipe's ``la_boundaries`` and ``lsoa_boundaries``.
    """
    codes = sorted({c.strip().upper() for c in la_codes})
    bad = [c for c in codes if not LA_CODE_RE.match(c)]
    if bad:
        raise GeographyError(f"not an ONS LA code: {', '.join(bad)} (expected e.g. E08000012)")
    client = _Client(services)
    la_layer = client.layer(services.la)
    la_field = la_layer.field(r"^LAD\d{2}CD$")
    las = list(client.features(services.la, la_layer, _in(la_field, codes), la_field))
    found = {f["properties"][la_field] for f in las}
    if set(codes) - found:
        raise GeographyError(
            f"LA code(s) {', '.join(sorted(set(codes) - found))} not found in "
            f"{services.la} (is the service of the right year?)"
        )
    lookup = client.layer(services.lookup)
    lk_lsoa, lk_la = lookup.field(r"^LSOA\d{2}CD$"), lookup.field(r"^LAD\d{2}CD$")
    la_of: dict[str, str] = {}
    for row in client.features(
        services.lookup,
        lookup,
        _in(lk_la, codes),
        lk_lsoa,
        fields=[lk_lsoa, lk_la],
        geometry=False,
    ):
        la_of[row["properties"][lk_lsoa]] = row["properties"][lk_la]
    if not la_of:
        raise GeographyError(f"{services.lookup} lists no LSOA for {', '.join(codes)}")
    lsoa_layer = client.layer(services.lsoa)
    lsoa_field = lsoa_layer.field(r"^LSOA\d{2}CD$")
    wanted = sorted(la_of)
    lsoas: list[dict[str, Any]] = []
    for i in range(0, len(wanted), CODES_PER_QUERY):
        chunk = wanted[i : i + CODES_PER_QUERY]
        lsoas.extend(
            client.features(services.lsoa, lsoa_layer, _in(lsoa_field, chunk), lsoa_field)
        )
    got = {f["properties"][lsoa_field] for f in lsoas}
    if set(wanted) - got:
        missing = sorted(set(wanted) - got)
        raise GeographyError(
            f"{len(missing)} LSOA(s) of the lookup are not in {services.lsoa} (e.g. "
            f"{', '.join(missing[:3])}): are the lookup and boundaries of the same vintage?"
        )
    for f in lsoas:
        f["properties"][lk_la] = la_of[f["properties"][lsoa_field]]
    out_dir.mkdir(parents=True, exist_ok=True)
    la_file, lsoa_file = (out_dir / name for name in BOUNDARY_FILES)
    _write(la_file, las, la_field)
    _write(lsoa_file, lsoas, lsoa_field)
    return Fetched(lsoa_file, la_file, len(lsoas), len(las))


def _in(field: str, values: Sequence[str]) -> str:
    return f"{field} IN ({', '.join(repr(str(v)) for v in values)})"


def _write(path: Path, features: list[dict[str, Any]], key: str) -> None:
    features = sorted(features, key=lambda f: f["properties"][key])
    for f in features:
        f.pop("id", None)
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"))
        + "\n"
    )


@dataclass
class _Layer:
    service: str
    max_records: int
    fields: list[str]

    def field(self, pattern: str) -> str:
        hit = next((f for f in self.fields if re.match(pattern, f, re.IGNORECASE)), None)
        if hit is None:
            raise GeographyError(
                f"{self.service}: no field like {pattern.strip('^$')} (fields: "
                f"{', '.join(self.fields)})"
            )
        return hit


class _Client:
    """Minimal ArcGIS REST client over urllib: layer metadata and paged queries."""

    def __init__(self, services: Services):
        self.s = services

    def _url(self, service: str, suffix: str = "") -> str:
        return f"{self.s.base_url.rstrip('/')}/{service}/FeatureServer/{self.s.layer}{suffix}"

    def _get(self, service: str, suffix: str, params: dict[str, Any]) -> dict[str, Any]:
        url = self._url(service, suffix) + "?" + urllib.parse.urlencode(params)
        host = urllib.parse.urlsplit(url).netloc
        try:
            with urllib.request.urlopen(url, timeout=self.s.timeout_s) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            raise GeographyError(
                f"{host} answered HTTP {exc.code} for {service}: check the "
                "service name (ONS renames services between releases)"
            ) from None
        except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise GeographyError(
                f"cannot reach the ONS Open Geography Portal at {host} ({reason}); are you online?"
            ) from None
        try:
            data = json.loads(body)
        except ValueError:
            raise GeographyError(f"{service}: the portal's answer is not JSON") from None
        if isinstance(data, dict) and "error" in data:
            err = data["error"] or {}
            raise GeographyError(
                f"{service}: the portal answered error {err.get('code')} "
                f"({err.get('message')}): check the service name"
            ) from None
        return data

    def layer(self, service: str) -> _Layer:
        info = self._get(service, "", {"f": "json"})
        fields = [f["name"] for f in info.get("fields", [])]
        return _Layer(service, int(info.get("maxRecordCount") or 1000), fields)

    def features(
        self,
        service: str,
        layer: _Layer,
        where: str,
        order_by: str,
        fields: Sequence[str] | None = None,
        geometry: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """Every feature matching ``where``, page by page."""
        offset = 0
        while True:
            params = {
                "where": where,
                "outFields": ",".join(fields) if fields else "*",
                "returnGeometry": "true" if geometry else "false",
                "outSR": 4326,
                "orderByFields": order_by,
                "resultOffset": offset,
                "resultRecordCount": layer.max_records,
                "f": "geojson",
            }
            page = self._get(service, "/query", params)
            features = page.get("features") or []
            yield from features
            offset += len(features)
            more = page.get(
                "exceededTransferLimit",
                (page.get("properties") or {}).get("exceededTransferLimit", False),
            )
            if not more or not features:
                return
