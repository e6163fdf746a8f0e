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
import pyarrow as pa
import pyarrow.compute as pc

from ..geography.areas import Geography

PATH = "atlas/postcodes-{}.js"
PATH_RE = re.compile(r"^atlas/postcodes-([A-Z]{1,2})\.js$")
CALL = "atlasPostcodes"
_POSTCODE = re.compile(r"^([A-Z]{1,2})[0-9][0-9A-Z]? [0-9][A-Z]{2}$")
_AREA = re.compile(r"[A-Z]+")


def postcode_chunks(geo: Geography, lsoa_codes: list[str]) -> dict[str, dict[str, Any]]:
    """The index by drop path: ``{"area": "L", "districts": {"L8": [inward codes, LSOA
    positions]}}`` per postcode area, from the directory's live postcodes in ``lsoa_codes``
    (the page's LSOA level, in its order). Vectorised: the national directory has 2.7 million
    rows."""
    d = geo.directory
    lsoa = d["lsoa_code"]
    if isinstance(lsoa.dtype, pd.CategoricalDtype):  # the position of each category, once
        where = pd.Index(lsoa_codes).get_indexer(lsoa.cat.categories)
        codes = lsoa.cat.codes.to_numpy()
        position = np.where(codes >= 0, where[np.maximum(codes, 0)], -1)
    else:
        position = pd.Index(lsoa_codes).get_indexer(lsoa.astype(object).to_numpy())
    keep = d["live"].to_numpy(dtype=bool) & (position >= 0)
    text = pa.array(d["postcode"]).cast(pa.string())  # no copy to Python objects
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    text = text.filter(pa.array(keep))
    ok = pc.match_substring_regex(text, _POSTCODE.pattern).to_numpy(zero_copy_only=False)
    text, position = text.filter(pa.array(ok)), position[keep][ok]
    if not len(text):
        return {}
    # "L8 7AB" sorts before "L80 1AA" (a space before any digit): sorted text is sorted by
    # district, then inward code
    order = pc.sort_indices(text).to_numpy()
    text, position = text.take(order), position[order]
    outward = pc.utf8_slice_codeunits(text, 0, -4)
    inward = pc.utf8_slice_codeunits(text, -3)
    starts = np.flatnonzero(
        np.r_[True, pc.not_equal(outward[1:], outward[:-1]).to_numpy(zero_copy_only=False)]
    )
    ends = np.r_[starts[1:], len(text)]
    districts = outward.take(pa.array(starts)).to_pylist()
    offsets = np.frombuffer(inward.buffers()[1], dtype=np.int32)[
        inward.offset : inward.offset + len(inward) + 1
    ]
    inwards = inward.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]].decode("ascii")
    if len(inwards) != 3 * len(inward):  # every inward code is three characters
        inwards = "".join(inward.to_pylist())
    chunks: dict[str, dict[str, Any]] = {}
    for district, a, b in zip(districts, starts.tolist(), ends.tolist()):
        area = _AREA.match(district).group(0)  # type: ignore[union-attr]
        chunk = chunks.setdefault(PATH.format(area), {"area": area, "districts": {}})
        chunk["districts"][district] = [inwards[3 * a : 3 * b], position[a:b].tolist()]
    return dict(sorted(chunks.items()))


def postcode_areas(chunks: dict[str, dict[str, Any]]) -> list[str]:
    """The postcode areas that have an index script, sorted."""
    return sorted(chunk["area"] for chunk in chunks.values())
