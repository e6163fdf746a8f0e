"""Report packs: for each LA of the drop, ``reports/la/<la_code>/`` holding its monitoring
and data-quality reports and ``csv/``, the area's report CSV files restricted to the LA.

A pack publishes no figure of its own except the LA's cohort profiles (the ``la_profiles``
cells, protected with everything else): every other row of its CSV files is a row of the
area's file with the same name, the LA's rows only, so the two can never disagree. The LA's
monitoring report shows its cohort summary (last quarter, 12 months, rate per 1,000 and its
interval), the table comparing every LA, its activity by quarter, its profiles, its trend
(where the trend is counted per LA) and its sites; its data-quality report its own services.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from ..counting.la_profiles import NAME as LA_PROFILES
from ..counting.rates import round_half_up
from ..counting.report_counts import PROFILE_DIMENSIONS, ReportCounts
from ..counting.tally import TOTAL
from ..disclosure.suppress import Published
from ..geography.imd import Deprivation
from .cohort_description import DESCRIPTION, cohort_rows, unit_description
from .deprivation import deprivation_rows
from .reports import (
    PackLink,
    ReportBase,
    ReportContext,
    _dq_rows,
    _monitoring_charts,
    _monitoring_rows,
    _share,
    environment,
    la_rows,
    trend_las,
)
from .tables import CsvLines, to_csv_bytes
from .wellbeing import wellbeing_rows

PACK_DIR = "reports/la"
SERVICE_LA_CSV = "../../../tables/service_la_cohorts.csv"  # from a pack's reports
OWN_TABLES = ("monitoring_profiles", DESCRIPTION)  # a pack's own, not rows of the area's


def pack_las(tables: dict[str, pd.DataFrame]) -> list[tuple[str, str]]:
    """(code, name) of every LA that gets a pack, in the reports' order (by name)."""
    summary = tables["monitoring_cohort_summary"]
    las = summary[summary["la_code"] != TOTAL].drop_duplicates("la_code")
    return list(zip(las["la_code"], las["la_name"]))


def pack_links(
    las: list[tuple[str, str]], area_name: str, pdf: bool, here: str | None = None
) -> list[PackLink]:
    """Links to the area's reports and every pack, relative to the page of the pack of LA
    ``here`` (None: a page in ``reports/``)."""
    up = "" if here is None else "../../"

    def link(name: str, folder: str) -> PackLink:
        return PackLink(
            name=name,
            monitoring=f"{folder}monitoring.html",
            data_quality=f"{folder}data_quality.html",
            monitoring_pdf=f"{folder}monitoring.pdf" if pdf else None,
            data_quality_pdf=f"{folder}data_quality.pdf" if pdf else None,
        )

    out = [link(area_name, up)]
    for code, name in las:
        folder = "" if code == here else f"{up}la/{code}/"
        out.append(link(name, folder))
    return out


def render_packs(
    published: Published,
    counts: ReportCounts,
    tables: dict[str, pd.DataFrame],
    base: ReportBase,
    pdf: bool,
    deprivation: Deprivation | None = None,
) -> dict[str, bytes]:
    """Every LA's pack (HTML and CSV), keyed by path in the drop, from the area's report
    ``tables`` (:func:`reports.report_tables`) and the published LA profile cells. What is
    the same in every pack (the tables comparing every LA, each area table's CSV lines) is
    made once."""
    env = environment()
    mon_t, dq_t = (
        env.get_template("la/monitoring.html.j2"),
        env.get_template("la/data_quality.html.j2"),
    )
    las = pack_las(tables)
    profiles = published.extra[LA_PROFILES]
    svc = published.service_la
    prof_by_la = dict(iter(profiles.groupby("la_code", sort=False)))
    lines = {n: CsvLines(frame) for n, frame in tables.items() if n not in OWN_TABLES}
    by_la, every_la_trend = la_rows(tables["monitoring_cohort_summary"]), trend_las(tables)
    # the section comparing every LA reads nothing of the pack's own: rendered once
    la_rates = Markup(
        env.get_template("monitoring/la_rates.html.j2").render(
            **base, tables={"by_la": by_la}, csv={"service_la_cohorts": SERVICE_LA_CSV}
        )
    )
    files: dict[str, bytes] = {}
    for code, name in las:
        positions = _positions(tables, code)
        own = {n: tables[n].iloc[at].reset_index(drop=True) for n, at in positions.items()}
        own["monitoring_profiles"] = _la_profiles(prof_by_la.get(code), svc, code)
        own[DESCRIPTION] = unit_description(own["monitoring_profiles"], svc, code)
        folder = f"{PACK_DIR}/{code}"
        for table in own:
            files[f"{folder}/csv/{table}.csv"] = (
                lines[table].rows(positions[table]) if table in lines else to_csv_bytes(own[table])
            )
        links = pack_links(las, base["area_name"], pdf, here=code)
        csv = {n: f"csv/{n}.csv" for n in own}
        csv["service_la_cohorts"] = SERVICE_LA_CSV
        # its own trend (the LA's rows of the area's trend tables), beside every LA's
        rows = _monitoring_rows(own, counts, code, by_la, every_la_trend)
        rows["siting"] = None
        rows["sites"] = own["data_quality_site_individuals"].to_dict("records")
        rows["trend_by_la"] = True
        rows["cohorts"] = cohort_rows(own, code)
        rows["wellbeing"] = wellbeing_rows(own, code)
        rows["deprivation"] = deprivation_rows(own, code, deprivation)
        charts = _monitoring_charts(own, counts, code)
        extra: dict[str, Any] = {"la_name": name, "la_code": code, "la_rates": la_rates}
        mon = ReportContext(**base, tables=rows, charts=charts, csv=csv, packs=links)
        dq = ReportContext(**base, tables=_dq_rows(own), charts={}, csv=csv, packs=links)
        files[f"{folder}/monitoring.html"] = mon_t.render(**mon, **extra).encode()
        files[f"{folder}/data_quality.html"] = dq_t.render(**dq, **extra).encode()
    return files


def _positions(tables: dict[str, pd.DataFrame], la_code: str) -> dict[str, np.ndarray]:
    """Where one LA's rows are in each of the area's report tables: its own rows and its
    sites' (a pack's table is those rows, every column and value as in the area's)."""
    sites = tables["data_quality_site_individuals"]
    own_sites = set(sites.loc[sites["la_code"] == la_code, "site_code"])
    out: dict[str, np.ndarray] = {}
    for name, frame in tables.items():
        if name in OWN_TABLES:
            continue  # the LA's own profiles (and description) replace the area's
        if "unit" in frame:  # LAs and sites in one table
            keep = ((frame["unit"] == "la") & (frame["code"] == la_code)) | (
                (frame["unit"] == "site") & frame["code"].isin(own_sites)
            )
        elif "la_code" in frame:
            keep = frame["la_code"] == la_code
        else:  # a table of the area alone (the trend counted for the area only)
            keep = pd.Series(False, index=frame.index)
        out[name] = np.flatnonzero(keep.to_numpy())
    return out


def _la_profiles(cells: pd.DataFrame | None, svc: pd.DataFrame, la_code: str) -> pd.DataFrame:
    """The LA's profiles as the area's ``monitoring_profiles`` table (same columns): shares
    of the LA's published cohort counts, withheld where either count is suppressed."""
    columns = ["dimension", "dimension_label", "category", "cohort", "individuals", "share"]
    if cells is None:
        return pd.DataFrame(columns=[*columns, "suppressed"])
    prof = cells.copy()
    totals = svc[svc["la_code"] == la_code].set_index("cohort")["individuals"]
    prof["share"] = round_half_up(_share(prof["individuals"], prof["cohort"].map(totals)), 1)
    prof["dimension_label"] = prof["dimension"].map(PROFILE_DIMENSIONS)
    out = prof[[*columns, "suppressed"]].reset_index(drop=True)
    out["individuals"] = out["individuals"].astype("Int64")
    out["suppressed"] = out["suppressed"].astype(bool)
    return out
