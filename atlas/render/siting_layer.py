"""The atlas's NSP siting overlays as page data: uncovered need per LSOA, existing and
recommended sites.

Receives only the published plan (``siting_publish.PublishedPlan``): LSOA demand appears only
where it can be derived from published cells, otherwise as suppressed (``None``). The values
follow the order of the page's shared LSOA level, whose geometry the page script reuses (no
second copy of the shapes). Site names travel as JSON strings and are set as text nodes by
``atlas.js``, never as HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
import pandas as pd

from .classify import SCHEMES, class_breaks

if TYPE_CHECKING:
    from ..siting.publish import PublishedPlan

NEED_LAYER = "NSP siting: need not covered today"
SITES_LAYER = "NSP siting: existing and recommended sites"
LAYERS = (("nsp-need", NEED_LAYER), ("nsp-sites", SITES_LAYER))  # checkbox value, label
STATUS = {"covered": "c", "uncovered": "u", "added": "a"}  # any other LSOA: "-" (not planned)


class SitingData(TypedDict):
    """The ``siting`` entry of the page data."""

    radius: float  # metres, straight line
    scheme: str  # class-break scheme of ``breaks``
    status: str  # one letter per LSOA of the shared level: c, u, a (uncovered, a new site
    #              would cover it) or - (not in the plan)
    need: list[int | None]  # PWID individuals where status is u or a and the demand is
    #                         published; None otherwise (suppressed where u or a)
    added: list[list[int]]  # [LSOA index, rank of the first recommended site covering it]
    breaks: list[float]  # upper bounds of the classes of the published uncovered need
    existing: list[dict[str, Any]]  # lat, lng, name, code
    recommended: list[dict[str, Any]]  # lat, lng, name, code, rank, added, cumulative (text)


def siting_data(pub: PublishedPlan, lsoa_codes: Sequence[str], scheme: str) -> SitingData:
    """The two overlays' data, with per-LSOA arrays in the order of ``lsoa_codes``."""
    lsoas = pub.lsoas.set_index("lsoa_code").reindex(pd.Index(lsoa_codes))
    status = lsoas["status"].map(STATUS).fillna("-")
    open_need = status.isin(["u", "a"]).to_numpy()
    demand = lsoas["demand"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    shown = np.where(open_need, demand, np.nan)
    added = np.flatnonzero((status == "a").to_numpy())
    return SitingData(
        radius=float(pub.radius_m),
        scheme=SCHEMES[scheme].label,
        status="".join(status),
        need=[None if np.isnan(v) else int(v) for v in shown],
        added=[[int(i), int(r)] for i, r in zip(added, lsoas["rank"].to_numpy()[added])],
        breaks=class_breaks(shown, scheme),
        existing=_points(pub.existing.sort_values("site_code")),
        recommended=_recommended(pub),
    )


def _points(frame: pd.DataFrame) -> list[dict[str, Any]]:
    placed = frame[frame["lat"].notna() & frame["long"].notna()]
    return [
        {
            "lat": round(float(lat), 5),
            "lng": round(float(lng), 5),
            "name": str(name),
            "code": str(code),
        }
        for lat, lng, name, code in zip(
            placed["lat"], placed["long"], placed["site_name"], placed["site_code"]
        )
    ]


def _recommended(pub: PublishedPlan) -> list[dict[str, Any]]:
    """Recommended sites by rank, with what each adds as published in ``nsp_siting.csv``
    (empty text where that table withholds it)."""
    frame = pub.recommended.sort_values("rank")
    table = pub.siting.set_index("rank")
    points = _points(frame)
    ranks = frame.loc[frame["lat"].notna() & frame["long"].notna(), "rank"]
    for point, rank in zip(points, ranks):
        point["rank"] = int(rank)
        point["added"] = str(table.at[rank, "added_pct"])
        point["cumulative"] = str(table.at[rank, "cumulative_pct"])
    return points
