"""The atlas's postcode index: every live postcode of the directory in the drop's LSOAs, with
the LSOA it lies in, so that the page finds a full postcode's LSOA.

It is public geography, not client data: the postcodes are those of the ONS directory the
recipe names, all of them in the drop's LSOAs, whether anyone in the extract lives there or
not (the same bytes for any extract on the same geography), so it tells nobody where clients
live. One script per postcode area (``atlas/postcodes-L.js``), loaded by the page only when a
postcode of that area is searched for, as a ``<script>`` element (pages opened from a file
cannot fetch). A district's postcodes are its inward codes run together, sorted (``"7AA7AB"``),
with the position of each one's LSOA in the page's LSOA level.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ..geography.areas import Geography

PATH = "atlas/postcodes-{}.js"
PATH_RE = re.compile(r"^atlas/postcodes-([A-Z]{1,2})\.js$")
CALL = "atlasPostcodes"
_POSTCODE = re.compile(r"^([A-Z]{1,2})[0-9][0-9A-Z]? [0-9][A-Z]{2}$")


def postcode_chunks(geo: Geography, lsoa_codes: list[str]) -> dict[str, dict[str, Any]]:
    """The index by drop path: ``{"area": "L", "districts": {"L8": [inward codes, LSOA
    positions]}}`` per postcode area, from the directory's live postcodes in ``lsoa_codes``
    (the page's LSOA level, in its order)."""
    d = geo.directory
    position = pd.Series(np.arange(len(lsoa_codes)), index=pd.Index(lsoa_codes))
    live = d["live"].to_numpy(dtype=bool)
    lsoa = d["lsoa_code"].astype(object).to_numpy()
    where = position.reindex(lsoa[live]).to_numpy()
    frame = pd.DataFrame(
        {"postcode": d["postcode"].to_numpy(dtype=object)[live], "lsoa": where}
    ).dropna()
    frame = frame[frame["postcode"].str.fullmatch(_POSTCODE.pattern)]
    parts = frame["postcode"].str.split(" ", n=1, expand=True)
    if frame.empty:
        return {}
    frame = frame.assign(district=parts[0], inward=parts[1], lsoa=frame["lsoa"].astype(int))
    frame = frame.sort_values(["district", "inward"], kind="stable")
    frame["area"] = frame["district"].str.extract(r"^([A-Z]+)", expand=False)
    chunks: dict[str, dict[str, Any]] = {}
    for (area, district), rows in frame.groupby(["area", "district"], sort=True):
        chunk = chunks.setdefault(PATH.format(area), {"area": area, "districts": {}})
        chunk["districts"][district] = ["".join(rows["inward"]), rows["lsoa"].tolist()]
    return chunks


def postcode_areas(chunks: dict[str, dict[str, Any]]) -> list[str]:
    """The postcode areas that have an index script, sorted."""
    return sorted(chunk["area"] for chunk in chunks.values())
