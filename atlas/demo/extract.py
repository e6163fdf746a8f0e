"""A deterministic generator of a realistic but entirely fake IMS extract.

The extract follows section 1 of the contract (``sites.csv``, ``clients.csv``, ``assessments.csv``,
``nsp_transactions.csv``, ``interventions.csv``, ``wellbeing.csv``, ``referrals.csv``). Its shape
copies the published 2017-18 figures of the real service: cohorts of people who inject
psychoactive drugs (38%), steroid and IPED users (33%) and brief-intervention clients (29%), their
gender and age profiles and substances, about 8 needle & syringe visits per psychoactive PWID, a
return on about 30% of visits. No real person is behind any row: initials, dates of birth and
residences are drawn at random, and residences are drawn from the postcode directory handed in.

It also carries, on purpose, the mess real extracts have, so that the reader, the geocoder and the
data-quality report have something to bite on:

* residence postcodes in every match level: lower case / no space / extra spaces, ``O``-for-``0``
  and ``I``-for-``1`` slips in the inward code, terminated postcodes, partial postcodes (outward
  code or sector), no fixed abode (``NFA``, ``ZZ99 3VZ``...), invalid ones, blanks, and postcodes
  of LAs outside the drop;
* people registered at two sites (two client records, one attributor), incomplete attributors;
* a few bad rows in every file (about 0.2%): unparseable dates, unknown ``client_ref`` or
  ``site_code``, duplicate ids, a duplicate ``client_ref``, WEMWBS scores out of range. Bad rows
  are *added* rows, so the good data are the same whether or not a reader rejects them.

The same ``seed``, ``scale``, ``period`` and directory give byte-identical files. Complete
attributors are kept unique across people (a shared attributor always means the same person), so
the cohorts the generator meant are the cohorts the rules of section 2 find.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from atlas.errors import GeographyError
from atlas.extract.reader import SPECS

__all__ = ["make_demo_extract", "read_directory"]

log = logging.getLogger(__name__)

DIRECTORY_COLUMNS = ("pcds", "doterm", "laua", "lsoa11", "lat", "long")

#: Output columns, in the order written: the contract's columns as the reader declares them
#: (required first). The demo's sites are all still open, so it writes no ``closed`` column.
COLUMNS: dict[str, list[str]] = {
    name: [c for c in (*spec.required, *spec.optional) if (name, c) != ("sites.csv", "closed")]
    for name, spec in SPECS.items()
}

# --- volumes (per unit of scale) -------------------------------------------------------------
SEEN_PER_SCALE = 2500  # individuals seen in the period (26,509 in C&M 2017-18 ~ scale 10)
SITES_PER_SCALE = 15  # 145 sites in C&M 2017-18
PREVIOUS_ONLY_SHARE = 0.20  # people active in the previous year only (gives a trend)
NO_ACTIVITY_SHARE = 0.005  # registered and assessed, no activity at all
PRIOR_ACTIVE_SHARE = 0.5  # people seen in the period who were also active the year before
TWO_SITES_SHARE = 0.03  # individuals with a client record at two sites
BAD_ROW_RATE = 0.0005  # per kind of bad row and file (about 0.2% of rows in all)

# --- cohorts: 0 psychoactive PWID, 1 steroid & IPED, 2 brief intervention -------------------
PSY, IPED, BI = 0, 1, 2
COHORT_SHARES = (0.38, 0.33, 0.29)
PREVIOUS_COHORT_SHARES = (0.42, 0.25, 0.33)
MALE_SHARE = (0.79, 0.98, 0.63)
AGE = ((40.0, 8.5, 19, 68), (30.0, 7.0, 18, 58), (38.0, 13.0, 18, 79))  # mean, sd, min, max
ASSESSED_SHARE = (0.80, 0.70, 0.88)
SECOND_ASSESSMENT_SHARE = (0.35, 0.15, 0.30)
WINDOW_DAYS = ((60, 365), (14, 300), (1, 180))  # length of a person's active spell in a year
NSP_EXTRA_VISITS = (6.0, 0.8)  # visits per person = 1 + NB(mean)
RETURN_SHARE = (0.31, 0.24)

SUBSTANCES: dict[int, dict[str, float]] = {
    PSY: {
        "Heroin": 74,
        "Other Drugs": 5.5,
        "Crack Cocaine": 3,
        "Amphetamines": 1.5,
        "Methadone": 1,
        "Cocaine": 1,
        "Not stated": 14,
    },
    IPED: {
        "Steroids": 72,
        "Anabolic steroids": 12,
        "Growth hormone": 6,
        "Melanotan": 6,
        "Other IPED": 4,
    },
    BI: {
        "Alcohol": 58,
        "Heroin": 9,
        "Cannabis": 7,
        "Cocaine": 4.5,
        "Methadone": 1,
        "Crack Cocaine": 1,
        "No substance": 12.5,
        "Someone else": 2.7,
        "Not stated": 4.3,
    },
}
SECOND_SUBSTANCES: dict[int, tuple[float, dict[str, float]]] = {
    PSY: (
        0.35,
        {"Crack Cocaine": 60, "Cannabis": 15, "Alcohol": 10, "Benzodiazepines": 10, "Cocaine": 5},
    ),
    IPED: (0.10, {"Growth hormone": 40, "Other IPED": 30, "Melanotan": 15, "Cocaine": 15}),
    BI: (0.12, {"Cannabis": 40, "Cocaine": 30, "Alcohol": 30}),
}
ACCOMMODATION: dict[int, dict[str, float]] = {
    PSY: {"Settled": 55, "Unsettled": 20, "NFA": 8, "Not stated": 17},
    IPED: {"Settled": 85, "Unsettled": 3, "NFA": 1, "Not stated": 11},
    BI: {"Settled": 70, "Unsettled": 12, "NFA": 5, "Not stated": 13},
}
EMPLOYMENT: dict[int, dict[str, float]] = {
    PSY: {
        "Employed": 12,
        "Unemployed": 50,
        "Long-term sick or disabled": 15,
        "Not stated": 20,
        "Other": 3,
    },
    IPED: {"Employed": 74, "Student": 8, "Unemployed": 7, "Not stated": 10, "Other": 1},
    BI: {
        "Employed": 35,
        "Unemployed": 30,
        "Retired": 8,
        "Student": 5,
        "Long-term sick or disabled": 7,
        "Not stated": 15,
    },
}
PARENTAL: dict[int, dict[str, float]] = {
    PSY: {
        "Children live with client": 12,
        "Children live elsewhere": 30,
        "No children": 38,
        "Not stated": 20,
    },
    IPED: {
        "Children live with client": 25,
        "Children live elsewhere": 8,
        "No children": 55,
        "Not stated": 12,
    },
    BI: {
        "Children live with client": 28,
        "Children live elsewhere": 14,
        "No children": 40,
        "Not stated": 18,
    },
}
INJECTING: dict[int, dict[str, float]] = {
    PSY: {"Y": 85, "N": 8, "": 7},
    IPED: {"Y": 93, "": 7},
    BI: {"N": 85, "Y": 2, "": 13},
}
ETHNICITY = {
    "White British": 84,
    "White Irish": 1,
    "White Other": 4,
    "Mixed": 1.5,
    "Asian or Asian British": 1.5,
    "Black or Black British": 1,
    "Other": 1,
    "Not stated": 6,
}
ORGANISATIONS = [
    "Riverside Recovery Service",
    "Harbour Housing Trust",
    "Northgate Medical Centre",
    "Community Mental Health Team",
    "Probation Service",
    "Hospital A&E Liaison",
    "Citizens Advice",
    "Jobcentre Plus",
    "Sexual Health Clinic",
    "Hepatitis C Outreach Team",
    "Criminal Justice Drug Team",
    "Young People's Substance Misuse Service",
    "Family Support Service",
    "Specialist Prescribing Service",
]
FIRST_INITIALS = {
    "J": 14,
    "M": 9,
    "S": 8,
    "A": 8,
    "D": 7,
    "C": 7,
    "P": 5,
    "K": 5,
    "L": 5,
    "R": 5,
    "T": 4,
    "G": 3,
    "N": 3,
    "E": 3,
    "B": 3,
    "H": 2,
    "W": 2,
    "I": 1,
    "F": 1,
    "V": 1,
    "O": 1,
    "Y": 0.3,
    "Z": 0.3,
    "U": 0.2,
    "Q": 0.1,
    "X": 0.1,
}
LAST_INITIALS = {
    "M": 9,
    "B": 9,
    "S": 9,
    "H": 8,
    "C": 7,
    "W": 7,
    "P": 6,
    "R": 5,
    "G": 5,
    "D": 5,
    "L": 4,
    "T": 4,
    "J": 3,
    "K": 3,
    "F": 3,
    "N": 2,
    "A": 2,
    "O": 2,
    "E": 1,
    "Y": 0.5,
    "V": 0.5,
    "I": 0.3,
    "U": 0.2,
    "Q": 0.1,
    "Z": 0.1,
    "X": 0.1,
}

# --- residence postcodes ------------------------------------------------------------------------
#: Share of people whose residence LA is: their site's LA, another LA of the drop, outside.
RESIDENCE_LA = (0.80, 0.165, 0.035)
#: Kinds of residence postcode string, and their shares.
POSTCODE_KINDS = {
    "clean": 0.805,
    "format": 0.04,
    "slip": 0.015,
    "terminated": 0.03,
    "partial": 0.025,
    "nfa": 0.025,
    "invalid": 0.02,
    "blank": 0.04,
}
NFA_STRINGS = {"NFA": 40, "ZZ99 3VZ": 35, "No fixed abode": 15, "nfa": 5, "ZZ99 3WZ": 5}
INVALID_STRINGS = ["XX1 1XX", "UNKNOWN", "{out} {d}?", "{out} {d}A", "{out}{in}{in}"]
CLIENT_POSTCODE_SHARE = 0.92
ASSESSMENT_POSTCODE_SHARE = 0.75
ASSESSMENT_LA_SHARE = 0.70

# --- sites ----------------------------------------------------------------------------------------
STREETS = [
    "Harbour Lane",
    "Mill Street",
    "Church Road",
    "Station Road",
    "Park Lane",
    "Victoria Street",
    "Market Square",
    "Canal Side",
    "Chapel Street",
    "Dock Road",
    "Grange Road",
    "Queens Drive",
    "High Street",
    "Bridge Street",
    "Albert Road",
    "Priory Way",
    "Old Hall Street",
    "Beacon Lane",
    "Ferry Road",
    "Castle Street",
    "Orchard Way",
    "Moss Lane",
    "Willow Road",
    "Heath Road",
    "Quarry Street",
    "Foundry Lane",
    "Kings Parade",
    "Rope Walk",
    "Salt Street",
    "Copper Lane",
    "Lime Street",
    "Abbey Road",
    "Tower Hill",
    "Brook Street",
    "Windmill Lane",
    "Meadow Road",
    "Derby Lane",
    "Warren Road",
    "Marsh Lane",
    "Cross Street",
]
CHEMISTS = [
    "Ashworth",
    "Boyd",
    "Carver",
    "Dalton",
    "Ellison",
    "Fairbrother",
    "Garside",
    "Holroyd",
    "Ingham",
    "Jessop",
    "Kenyon",
    "Lomax",
    "Marland",
    "Nuttall",
    "Ormerod",
    "Pilling",
    "Rigby",
    "Sutcliffe",
    "Tattersall",
    "Unsworth",
    "Whittle",
    "Yates",
]
PLACES = [
    "Riverside",
    "Harbourside",
    "Northgate",
    "Southbank",
    "Eastfield",
    "Westbrook",
    "Millbrook",
    "Oakfield",
    "Ashgrove",
    "Beechwood",
    "Castlefields",
    "Dockside",
    "Fernhill",
    "Greenbank",
    "Highfield",
    "Kingsway",
    "Longmoor",
    "Marshside",
    "Newtown",
    "Parkside",
    "Queensway",
    "Rosehill",
    "Stonebridge",
    "Thornton Park",
    "Upton Vale",
    "Valley Road",
    "Woodside",
    "Brookvale",
    "Cherry Tree",
    "Elmhurst",
]
AGENCY_KINDS = [
    "Recovery Hub",
    "Harm Reduction Service",
    "Needle Exchange",
    "Wellbeing Centre",
    "Drug & Alcohol Service",
    "Community Drug Team",
]
HTML_HOSTILE_NAME = 'St Mary\'s & "Young People" <Service>'

BAD_DATES = ["31/02/2017", "2017-13-01", "2017-02-30", "2017-00-10"]
_POSTCODE_RE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}$")
_PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")


# ================================================================================== public API


def read_directory(path: Path) -> pd.DataFrame:
    """Read an ONS NSPL-layout postcode CSV: only columns pcds, doterm, laua, lsoa11, lat, long (as str).

    Column names are matched case-insensitively; blanks stay empty strings (never NaN).
    """
    path = Path(path)
    if not path.is_file():
        raise GeographyError(f"{path}: postcode directory not found")
    header = pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns
    by_lower = {c.strip().lower(): c for c in header}
    missing = [c for c in DIRECTORY_COLUMNS if c not in by_lower]
    if missing:
        raise GeographyError(
            f"{path}: postcode directory lacks column(s) {', '.join(missing)}; "
            f"expected the ONS NSPL columns {', '.join(DIRECTORY_COLUMNS)}"
        )
    frame = pd.read_csv(
        path,
        usecols=[by_lower[c] for c in DIRECTORY_COLUMNS],
        dtype=str,
        keep_default_na=False,
        encoding="utf-8-sig",
    )
    frame.columns = [c.strip().lower() for c in frame.columns]
    return frame[list(DIRECTORY_COLUMNS)]


def make_demo_extract(
    out_dir: Path,
    directory: pd.DataFrame,
    las: Sequence[str],
    *,
    seed: int = 1,
    scale: float = 1.0,
    period: str = "2017-18",
) -> dict[str, int]:
    """Write sites.csv, clients.csv, assessments.csv, nsp_transactions.csv, interventions.csv,
    wellbeing.csv, referrals.csv into out_dir; return row counts per file.

    ``directory`` is a postcode directory as :func:`read_directory` returns it; ``las`` are the LA
    codes of the drop (every site and most residents are there). ``scale`` 1 is a small demo
    (about 3,000 client records, 15 sites); ``scale`` 10 is the size of Cheshire & Merseyside.
    """
    p0, p1 = _period_bounds(period)
    if not scale > 0:
        raise ValueError(f"scale: expected a positive number, got {scale!r}")
    if int(seed) < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    geo = _prepare_geography(directory, las)
    stream = iter(range(1, 100))

    def rng() -> np.random.Generator:
        return np.random.default_rng([int(seed), next(stream)])

    sites = _make_sites(rng(), geo, scale, p0)
    people = _make_people(rng(), scale, p0)
    _register(rng(), people, sites)
    _place_residents(rng(), people, sites, geo)
    _make_attributors(rng(), people, p0)
    spells = _Spells(rng(), people, p0, p1)
    nsp = _make_nsp(rng(), people, sites, spells)
    interventions = _make_interventions(rng(), people, sites, spells)
    assessments = _make_assessments(rng(), people, sites, nsp, interventions, p0, p1)
    wellbeing = _make_wellbeing(rng(), people, spells)
    referrals = _make_referrals(rng(), people, spells)
    clients = _make_clients(rng(), people, sites)

    frames = {
        "sites.csv": sites.frame,
        "clients.csv": clients,
        "assessments.csv": _finish(people, sites, assessments, "assessment_date"),
        "nsp_transactions.csv": _with_ids(
            _finish(people, sites, nsp, "visit_date"), "transaction_id", "T"
        ),
        "interventions.csv": _with_ids(
            _finish(people, sites, interventions, "intervention_date"), "intervention_id", "I"
        ),
        "wellbeing.csv": _finish(people, sites, wellbeing, "review_date"),
        "referrals.csv": _finish(people, sites, referrals, "referral_date"),
    }
    frames = _add_bad_rows(rng(), frames, sites, p0)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for name, frame in frames.items():
        frame = frame[COLUMNS[name]]
        frame.to_csv(out_dir / name, index=False, encoding="utf-8", lineterminator="\n")
        counts[name] = len(frame)
    log.info(
        "demo extract written to %s: %s", out_dir, ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    return counts


# ================================================================================== geography


@dataclass
class _Geography:
    pcds: np.ndarray  # normalised postcode per directory row
    la: np.ndarray  # LA code per row
    lat: np.ndarray
    lon: np.ndarray
    las: list[str]  # LAs of the drop that have live postcodes
    live: dict[str, np.ndarray]  # LA -> row indices of live postcodes
    terminated: dict[str, np.ndarray]  # LA -> row indices of terminated postcodes
    slippable: dict[str, np.ndarray]  # LA -> live rows whose inward digit is 0 or 1
    outside: list[str]  # other LAs of the directory with live postcodes
    known: set[str]


def _period_bounds(period: str) -> tuple[int, int]:
    """First and last day of a financial year like ``2017-18``, as days since 1970-01-01."""
    match = _PERIOD_RE.match(str(period))
    if not match or (int(match[1]) + 1) % 100 != int(match[2]):
        raise ValueError(f"period: expected a financial year like '2017-18', got {period!r}")
    year = int(match[1])
    return _day(f"{year}-04-01"), _day(f"{year + 1}-03-31")


def _day(iso: str) -> int:
    return int(np.datetime64(iso, "D").astype(np.int64))


def _iso(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(np.asarray(days, dtype=np.int64).astype("datetime64[D]"))


def _prepare_geography(directory: pd.DataFrame, las: Sequence[str]) -> _Geography:
    missing = [c for c in DIRECTORY_COLUMNS if c not in directory.columns]
    if missing:
        raise ValueError(f"directory: missing column(s) {', '.join(missing)}")
    las = list(dict.fromkeys(str(c).strip() for c in las))
    if not las:
        raise ValueError("las: expected at least one LA code")
    d = directory[list(DIRECTORY_COLUMNS)].astype(str)
    pcds = d["pcds"].str.strip().str.upper().str.replace(r"\s+", " ", regex=True)
    la = d["laua"].str.strip()
    keep = pcds.str.match(_POSTCODE_RE.pattern).to_numpy() & (la != "").to_numpy()
    pcds, la = pcds.to_numpy()[keep], la.to_numpy()[keep]
    lat = pd.to_numeric(d["lat"], errors="coerce").to_numpy()[keep]
    lon = pd.to_numeric(d["long"], errors="coerce").to_numpy()[keep]
    live = (d["doterm"].str.strip() == "").to_numpy()[keep]
    slip = np.char.find(pcds.astype(str), " 0") + np.char.find(pcds.astype(str), " 1") > -2

    def groups(mask: np.ndarray) -> dict[str, np.ndarray]:
        idx = np.flatnonzero(mask)
        order = np.argsort(la[idx], kind="stable")
        idx = idx[order]
        codes, starts = np.unique(la[idx], return_index=True)
        return {c: part for c, part in zip(codes, np.split(idx, starts[1:]))}

    live_by = groups(live)
    usable = [c for c in las if c in live_by]
    if not usable:
        raise ValueError(f"directory: no live postcode in any LA of the drop ({', '.join(las)})")
    for code in las:
        if code not in live_by:
            log.warning(
                "directory: no live postcode in LA %s; no site or resident placed there", code
            )
    outside = sorted(c for c in live_by if c not in set(las))
    return _Geography(
        pcds=pcds,
        la=la,
        lat=lat,
        lon=lon,
        las=usable,
        live=live_by,
        terminated=groups(~live),
        slippable=groups(live & slip),
        outside=outside,
        known=set(pcds),
    )


# ================================================================================== sites


@dataclass
class _Sites:
    frame: pd.DataFrame
    code: np.ndarray
    la: np.ndarray
    nsp: np.ndarray
    bi: np.ndarray
    agency: np.ndarray
    weight: np.ndarray
    near: list[np.ndarray]  # per site: directory rows of its LA's live postcodes, nearest first


def _make_sites(rng: np.random.Generator, geo: _Geography, scale: float, p0: int) -> _Sites:
    n = max(3, round(SITES_PER_SCALE * scale))
    sizes = np.array([len(geo.live[c]) for c in geo.las], dtype=float)
    if n >= len(geo.las):
        alloc = 1 + rng.multinomial(n - len(geo.las), sizes / sizes.sum())
    else:
        alloc = np.zeros(len(geo.las), dtype=int)
        alloc[rng.choice(len(geo.las), n, replace=False, p=sizes / sizes.sum())] = 1
    la = np.repeat(np.array(geo.las, dtype=object), alloc)
    agency = np.zeros(n, dtype=bool)
    agency[rng.choice(n, max(1, round(n / 3)), replace=False)] = True

    u = rng.random(n)
    services = np.where(
        agency,
        np.where(u < 0.80, "NSP;BI", np.where(u < 0.95, "BI", "NSP")),
        np.where(u < 0.85, "NSP", np.where(u < 0.95, "NSP;BI", "BI")),
    )
    if not any("NSP" in s for s in services):
        services[0] = "NSP;BI"
    if not any("BI" in s for s in services):
        services[np.flatnonzero(agency)[0]] = "NSP;BI"

    # codes: AG001.. and PH001.., numbered by LA then at random
    order = np.lexsort((rng.random(n), la, ~agency))
    code = np.empty(n, dtype=object)
    for is_agency, prefix in ((True, "AG"), (False, "PH")):
        members = order[agency[order] == is_agency]
        code[members] = [f"{prefix}{i:03d}" for i in range(1, len(members) + 1)]

    # postcodes: distinct live postcodes of the site's LA where there are enough
    rows = np.empty(n, dtype=np.int64)
    for c in np.unique(la):
        members = np.flatnonzero(la == c)
        pool = geo.live[c]
        rows[members] = rng.choice(pool, len(members), replace=len(members) > len(pool))

    lat, lon = geo.lat[rows], geo.lon[rows]
    jitter_lat = rng.normal(0, 8, n) / 111_320
    jitter_lon = rng.normal(0, 8, n) / (111_320 * np.cos(np.radians(np.nan_to_num(lat, nan=53.0))))
    placed = (rng.random(n) < 0.70) & np.isfinite(lat) & np.isfinite(lon)
    lat_s = np.where(placed, [f"{v:.6f}" for v in lat + jitter_lat], "")
    lon_s = np.where(placed, [f"{v:.6f}" for v in lon + jitter_lon], "")
    la_s = np.where(rng.random(n) < 0.92, la, "")
    opened = p0 - 366 - rng.integers(0, np.where(agency, 4000, 2900))

    names = _site_names(rng, agency)
    hostile = np.flatnonzero(agency)[rng.integers(agency.sum())]
    names[hostile] = HTML_HOSTILE_NAME
    services[hostile] = "NSP;BI"

    weight = rng.lognormal(0.0, 0.6, n)
    near = [_nearest_first(geo, rows[i], la[i]) for i in range(n)]
    frame = (
        pd.DataFrame(
            {
                "site_code": code,
                "site_name": names,
                "site_type": np.where(agency, "agency", "pharmacy"),
                "postcode": geo.pcds[rows],
                "latitude": lat_s,
                "longitude": lon_s,
                "local_authority": la_s,
                "services": services,
                "opened": _iso(opened),
            }
        )
        .sort_values("site_code", kind="stable")
        .reset_index(drop=True)
    )
    return _Sites(
        frame=frame,
        code=code,
        la=la,
        nsp=np.char.find(services.astype(str), "NSP") >= 0,
        bi=np.char.find(services.astype(str), "BI") >= 0,
        agency=agency,
        weight=weight,
        near=near,
    )


def _site_names(rng: np.random.Generator, agency: np.ndarray) -> np.ndarray:
    pharmacy_pool = (
        [f"{s} Pharmacy" for s in STREETS]
        + [f"{s} Chemist" for s in STREETS]
        + [f"{c} Chemists" for c in CHEMISTS]
        + [f"{c} Pharmacy" for c in CHEMISTS]
    )
    agency_pool = [f"{p} {k}" for p in PLACES for k in AGENCY_KINDS]
    names = np.empty(len(agency), dtype=object)
    for is_agency, pool in ((True, agency_pool), (False, pharmacy_pool)):
        members = np.flatnonzero(agency == is_agency)
        pool = [pool[i] for i in rng.permutation(len(pool))]
        names[members] = [
            pool[i % len(pool)] + ("" if i < len(pool) else f" {i // len(pool) + 1}")
            for i in range(len(members))
        ]
    return names


def _nearest_first(geo: _Geography, row: int, la: str) -> np.ndarray:
    pool = geo.live[la]
    if not np.isfinite(geo.lat[row]):
        return pool
    dy = geo.lat[pool] - geo.lat[row]
    dx = (geo.lon[pool] - geo.lon[row]) * np.cos(np.radians(geo.lat[row]))
    dist = np.nan_to_num(dx * dx + dy * dy, nan=np.inf)
    return pool[np.argsort(dist, kind="stable")]


# ================================================================================== people


def _make_people(rng: np.random.Generator, scale: float, p0: int) -> pd.DataFrame:
    """One row per person: kind (0 seen in the period, 1 previous year only, 2 no activity)."""
    n_seen = max(30, round(SEEN_PER_SCALE * scale))
    n_prev = round(PREVIOUS_ONLY_SHARE * n_seen)
    n_none = round(NO_ACTIVITY_SHARE * n_seen)
    counts = np.round(np.array(COHORT_SHARES) * n_seen).astype(int)
    counts[-1] = n_seen - counts[:-1].sum()
    cohort_seen = rng.permutation(np.repeat([PSY, IPED, BI], counts))
    cohort = np.concatenate(
        [
            cohort_seen,
            rng.choice(3, n_prev, p=PREVIOUS_COHORT_SHARES),
            rng.choice(3, n_none, p=COHORT_SHARES),
        ]
    )
    kind = np.repeat([0, 1, 2], [n_seen, n_prev, n_none])
    n = len(kind)
    people = pd.DataFrame({"kind": kind, "cohort": cohort})
    people["prior"] = (kind == 1) | ((kind == 0) & (rng.random(n) < PRIOR_ACTIVE_SHARE))
    assessed = (kind == 2) | (rng.random(n) < np.take(ASSESSED_SHARE, cohort))
    second = rng.random(n) < np.take(SECOND_ASSESSMENT_SHARE, cohort)
    people["n_assess"] = assessed.astype(int) * (1 + second)
    people["substance_1"] = ""
    people["substance_2"] = ""
    people["substance_3"] = ""
    for c in (PSY, IPED, BI):
        m = cohort == c
        people.loc[m, "substance_1"] = _pick(rng, SUBSTANCES[c], m.sum())
        share, labels = SECOND_SUBSTANCES[c]
        s2 = np.where(rng.random(m.sum()) < share, _pick(rng, labels, m.sum()), "")
        people.loc[m, "substance_2"] = s2
        s3 = np.where(
            (s2 != "") & (rng.random(m.sum()) < 0.15),
            _pick(rng, {"Alcohol": 50, "Cannabis": 30, "Benzodiazepines": 20}, m.sum()),
            "",
        )
        people.loc[m, "substance_3"] = np.where(s3 == people.loc[m, "substance_2"], "", s3)
        people.loc[m, "accommodation"] = _pick(rng, ACCOMMODATION[c], m.sum())
        people.loc[m, "employment"] = _pick(rng, EMPLOYMENT[c], m.sum())
        people.loc[m, "parental_status"] = _pick(rng, PARENTAL[c], m.sum())
        people.loc[m, "injecting"] = _pick(rng, INJECTING[c], m.sum())
    people.loc[people["substance_2"] == people["substance_1"], "substance_2"] = ""
    people["ethnicity"] = _pick(rng, ETHNICITY, n)
    return people


def _pick(rng: np.random.Generator, weights: dict[str, float], size: int) -> np.ndarray:
    labels = np.array(list(weights), dtype=object)
    p = np.array(list(weights.values()), dtype=float)
    return labels[rng.choice(len(labels), size, p=p / p.sum())]


def _register(rng: np.random.Generator, people: pd.DataFrame, sites: _Sites) -> None:
    """Choose each person's site(s): NSP sites for PWID, BI sites for BI clients."""
    n = len(people)
    site1 = np.full(n, -1)
    site2 = np.full(n, -1)
    cohort = people["cohort"].to_numpy()
    two = rng.random(n) < TWO_SITES_SHARE
    for c in (PSY, IPED, BI):
        eligible = np.flatnonzero(sites.bi if c == BI else sites.nsp)
        w = sites.weight[eligible] * np.where(
            sites.agency[eligible], 2.0 if c == IPED else 1.0, 1.3 if c == PSY else 1.0
        )
        members = np.flatnonzero(cohort == c)
        site1[members] = rng.choice(eligible, len(members), p=w / w.sum())
        if len(eligible) > 1:
            dup = members[two[members]]
            other = rng.choice(eligible, len(dup), p=w / w.sum())
            for _ in range(20):
                same = other == site1[dup]
                if not same.any():
                    break
                other[same] = rng.choice(eligible, same.sum(), p=w / w.sum())
            site2[dup] = np.where(other == site1[dup], -1, other)
    people["site1"] = site1
    people["site2"] = site2


def _place_residents(
    rng: np.random.Generator, people: pd.DataFrame, sites: _Sites, geo: _Geography
) -> None:
    """Residence LA and postcode per person, then the string as recorded (messy on purpose)."""
    n = len(people)
    site1 = people["site1"].to_numpy()
    home_la = sites.la[site1].astype(object)
    res_la = home_la.copy()
    u = rng.random(n)
    other = (u >= RESIDENCE_LA[0]) & (u < RESIDENCE_LA[0] + RESIDENCE_LA[1])
    outside = u >= RESIDENCE_LA[0] + RESIDENCE_LA[1]
    if not geo.outside:
        other |= outside
        outside[:] = False
    w = np.array([(sites.la == c).sum() + 0.3 for c in geo.las])
    res_la[other] = np.array(geo.las, dtype=object)[
        rng.choice(len(geo.las), other.sum(), p=w / w.sum())
    ]
    if outside.any():
        wo = np.array([len(geo.live[c]) for c in geo.outside], dtype=float)
        res_la[outside] = np.array(geo.outside, dtype=object)[
            rng.choice(len(geo.outside), outside.sum(), p=wo / wo.sum())
        ]

    base = np.empty(n, dtype=np.int64)
    near = res_la == home_la
    for s in np.unique(site1[near]):
        members = np.flatnonzero(near & (site1 == s))
        order = sites.near[s]
        rank = np.minimum(rng.exponential(0.12, len(members)), 0.999)
        base[members] = order[(rank * len(order)).astype(np.int64)]
    for c in np.unique(res_la[~near]):
        members = np.flatnonzero(~near & (res_la == c))
        base[members] = rng.choice(geo.live[c], len(members))

    kinds = np.array(list(POSTCODE_KINDS), dtype=object)
    p = np.array(list(POSTCODE_KINDS.values()))
    kind = kinds[rng.choice(len(kinds), n, p=p / p.sum())]
    text = geo.pcds[base].astype(object)
    draws = rng.random((n, 3))
    for i in np.flatnonzero(kind != "clean"):
        text[i], kind[i] = _messy_postcode(kind[i], text[i], res_la[i], geo, draws[i], rng)
    people["res_la"] = res_la
    people["home_la"] = home_la
    people["postcode_kind"] = kind
    people["postcode"] = text
    # an older address on the client record for some (the latest assessment has the new one)
    moved = (kind == "clean") & (people["n_assess"].to_numpy() > 0) & (rng.random(n) < 0.05)
    old = text.copy()
    for c in np.unique(res_la[moved]):
        members = np.flatnonzero(moved & (res_la == c))
        old[members] = geo.pcds[rng.choice(geo.live[c], len(members))]
    people["old_postcode"] = old


def _messy_postcode(
    kind: str, clean: str, la: str, geo: _Geography, u: np.ndarray, rng: np.random.Generator
) -> tuple[str, str]:
    outward, inward = clean.split(" ")
    if kind == "terminated":
        pool = geo.terminated.get(la)
        if pool is None or not len(pool):
            return clean, "clean"
        return str(geo.pcds[pool[int(u[1] * len(pool))]]), kind
    if kind == "slip":
        pool = geo.slippable.get(la)
        if pool is None or not len(pool):
            kind, clean = "format", clean
        else:
            out, inn = str(geo.pcds[pool[int(u[1] * len(pool))]]).split(" ")
            inn = {"0": "O", "1": "I"}[inn[0]] + inn[1:]
            return f"{out} {inn}", kind
    if kind == "format":
        variants = [
            clean.lower(),
            outward + inward,
            (outward + inward).lower(),
            f"{outward}  {inward}",
            f" {clean} ",
            f"{outward.lower()} {inward}",
        ]
        return variants[int(u[0] * len(variants))], kind
    if kind == "partial":
        return (outward if u[0] < 0.5 else f"{outward} {inward[0]}"), kind
    if kind == "nfa":
        labels = list(NFA_STRINGS)
        w = np.cumsum(list(NFA_STRINGS.values())) / sum(NFA_STRINGS.values())
        return labels[int(np.searchsorted(w, u[0]))], kind
    if kind == "invalid":
        form = INVALID_STRINGS[int(u[0] * len(INVALID_STRINGS))]
        text = form.format(out=outward, d=inward[0], **{"in": inward})
        if text in geo.known:
            text = "XX1 1XX"
        return text, kind
    if kind == "blank":
        return "", kind
    return clean, "clean"


def _make_attributors(rng: np.random.Generator, people: pd.DataFrame, p0: int) -> None:
    n = len(people)
    cohort = people["cohort"].to_numpy()
    u = rng.random(n)
    male = rng.random(n) < np.take(MALE_SHARE, cohort)
    gender = np.where(u < 0.01, "X", np.where(u < 0.02, "U", np.where(male, "M", "F")))
    mean, sd, lo, hi = (np.take(np.array(AGE)[:, k], cohort) for k in range(4))
    age = np.clip(rng.normal(mean, sd), lo, hi + 0.99)
    mid = p0 + 182
    dob = (mid - np.floor(age * 365.25)).astype(np.int64)
    first = _pick(rng, FIRST_INITIALS, n)
    last = _pick(rng, LAST_INITIALS, n)
    # incomplete attributors (never on a person with two records: they could not be linked)
    single = people["site2"].to_numpy() < 0
    v = rng.random(n)
    blank_first = single & (v < 0.007)
    blank_last = single & (v >= 0.007) & (v < 0.012)
    blank_dob = single & (v >= 0.012) & (v < 0.017)
    complete = ~(blank_first | blank_last | blank_dob) & (gender != "U")
    # a complete attributor names one person only: move clashing dates of birth by a day
    for _ in range(50):
        key = pd.Series(first + last + gender).str.cat(dob.astype(str))
        clash = key.duplicated().to_numpy() & complete
        if not clash.any():
            break
        dob[clash] += 1
    people["gender"] = gender
    people["first_initial"] = np.where(blank_first, "", first)
    people["last_initial"] = np.where(blank_last, "", last)
    people["date_of_birth"] = np.where(blank_dob, "", _iso(dob))


# ================================================================================== activity


class _Spells:
    """Each person's active spell in the period and in the year before.

    A spell is a stretch of days at a random offset in the year, wrapping round its end, so that
    every day of the year is equally likely to be covered and the quarters carry even activity.
    """

    def __init__(self, rng: np.random.Generator, people: pd.DataFrame, p0: int, p1: int):
        n = len(people)
        cohort = people["cohort"].to_numpy()
        self.p0, self.p1 = p0, p1
        self.q0 = p0 - (p1 - p0 + 1)
        lo_len, hi_len = (np.take(np.array(WINDOW_DAYS)[:, k], cohort) for k in (0, 1))
        self.length = np.floor(rng.uniform(lo_len, hi_len + 1)).astype(np.int64)
        self.offset = rng.integers(0, p1 - p0 + 1, n)
        self.prior_offset = rng.integers(0, p0 - self.q0, n)

    def days(self, rng, owners, counts, when: str) -> tuple[np.ndarray, np.ndarray]:
        """Repeat each owner ``counts`` times with a day drawn in its spell."""
        owners = np.asarray(owners, dtype=np.int64)
        counts = np.asarray(counts, dtype=np.int64)
        rows = np.repeat(owners, counts)
        u = rng.random(len(rows))
        if when == "after":  # a fortnight after the period: in the extract, outside the drop
            return rows, self.p1 + 1 + np.floor(u * 14).astype(np.int64)
        start, end = (self.p0, self.p1) if when == "period" else (self.q0, self.p0 - 1)
        offset = self.offset if when == "period" else self.prior_offset
        year = end - start + 1
        step = np.floor(u * np.minimum(self.length[rows], year)).astype(np.int64)
        return rows, start + (offset[rows] + step) % year


def _extra(rng: np.random.Generator, mean: float, size: int) -> np.ndarray:
    """Over-dispersed counts >= 0 with the given mean (negative binomial, shape 0.9)."""
    if mean <= 0 or size == 0:
        return np.zeros(size, dtype=np.int64)
    return rng.negative_binomial(0.9, 0.9 / (0.9 + mean), size)


def _records_for(
    rng: np.random.Generator, people: pd.DataFrame, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The site of the client record each activity row was recorded against."""
    site1 = people["site1"].to_numpy()[rows]
    site2 = people["site2"].to_numpy()[rows]
    use2 = (site2 >= 0) & (rng.random(len(rows)) < 0.35)
    return np.where(use2, site2, site1), use2


def _activity(rng, people, spells, plan) -> tuple[np.ndarray, np.ndarray]:
    parts = [spells.days(rng, np.flatnonzero(m), c[m], when) for m, c, when in plan]
    rows = np.concatenate([p[0] for p in parts])
    days = np.concatenate([p[1] for p in parts])
    return rows, days


def _make_nsp(
    rng: np.random.Generator, people: pd.DataFrame, sites: _Sites, spells: _Spells
) -> pd.DataFrame:
    n = len(people)
    cohort = people["cohort"].to_numpy()
    kind = people["kind"].to_numpy()
    pwid = cohort != BI
    now = 1 + np.where(
        cohort == PSY, _extra(rng, NSP_EXTRA_VISITS[0], n), _extra(rng, NSP_EXTRA_VISITS[1], n)
    )
    before = 1 + np.where(
        cohort == PSY,
        _extra(rng, 0.8 * NSP_EXTRA_VISITS[0], n),
        _extra(rng, 0.8 * NSP_EXTRA_VISITS[1], n),
    )
    after = (rng.random(n) < 0.03).astype(np.int64)
    rows, days = _activity(
        rng,
        people,
        spells,
        [
            (pwid & (kind == 0), now, "period"),
            (pwid & people["prior"].to_numpy(), before, "prior"),
            (pwid & (kind == 0), after, "after"),
        ],
    )
    site, _ = _records_for(rng, people, rows)
    # now and then a visit at another NSP site of the same LA
    elsewhere = rng.random(len(rows)) < 0.05
    m: np.ndarray | int  # the visits moved, in the loop; then the number of visits
    for la in np.unique(sites.la[site[elsewhere]]):
        options = np.flatnonzero(sites.nsp & (sites.la == la))
        m = np.flatnonzero(elsewhere & (sites.la[site] == la))
        site[m] = rng.choice(options, len(m))
    m = len(rows)
    c = cohort[rows]
    psy = c == PSY
    returned = np.where(rng.random(m) < np.take(RETURN_SHARE, np.minimum(c, 1)), "Y", "N")
    returned = np.where(rng.random(m) < 0.01, "", returned)

    # substance recorded on the visit: IPED users without an assessment always say "Steroids"
    sub1 = people["substance_1"].to_numpy()[rows]
    assessed = people["n_assess"].to_numpy()[rows] > 0
    person_label = _pick(rng, {"": 70, "Heroin": 25, "Crack Cocaine": 5}, n)[rows]
    v = rng.random(m)
    substance = np.where(
        psy,
        np.where(
            assessed,
            np.where((v < 0.5) & (sub1 != "Not stated"), sub1, ""),
            np.where(v < 0.8, person_label, ""),
        ),
        np.where(assessed, np.where(v < 0.7, sub1, ""), "Steroids"),
    )

    needles = np.where(
        psy,
        rng.choice([0, 5, 10, 10, 10, 20, 20, 20, 30, 40, 50], m),
        rng.choice([10, 20, 20, 30, 40, 60], m),
    )
    syringes = np.where(
        psy, np.where(rng.random(m) < 0.6, needles, rng.choice([0, 5, 10, 20], m)), needles // 2
    )
    bins = np.where(psy, rng.choice([0, 0, 1, 1, 1, 1, 2], m), rng.choice([0, 1, 1, 1], m))
    swabs = np.where(
        psy, np.where(rng.random(m) < 0.7, needles, 0), needles // 2 + rng.choice([0, 10], m)
    )
    foil = np.where(psy & (rng.random(m) < 0.15), rng.choice([5, 10, 20], m), 0)
    citric = np.where(psy & (rng.random(m) < 0.55), rng.choice([5, 10, 10, 20], m), 0)
    other = np.where(rng.random(m) < np.where(psy, 0.3, 0.1), rng.integers(1, 11, m), 0)
    return pd.DataFrame(
        {
            "person": rows,
            "day": days,
            "site": site,
            "returned": returned,
            "substance": substance,
            "needles": needles,
            "syringes": syringes,
            "bins": bins,
            "swabs": swabs,
            "foil": foil,
            "citric": citric,
            "other_items": other,
        }
    )


def _make_interventions(
    rng: np.random.Generator, people: pd.DataFrame, sites: _Sites, spells: _Spells
) -> pd.DataFrame:
    n = len(people)
    cohort = people["cohort"].to_numpy()
    kind = people["kind"].to_numpy()
    at_bi_site = sites.bi[people["site1"].to_numpy()]
    pwid_bi = at_bi_site & (rng.random(n) < np.where(cohort == PSY, 0.7, 0.08))
    now = 1 + np.select(
        [cohort == BI, cohort == PSY],
        [_extra(rng, 3.7, n), _extra(rng, 4.0, n)],
        _extra(rng, 0.5, n),
    )
    before = 1 + _extra(rng, 2.5, n)
    after = (rng.random(n) < 0.02).astype(np.int64)
    getting = (cohort == BI) | pwid_bi
    rows, days = _activity(
        rng,
        people,
        spells,
        [
            (getting & (kind == 0), now, "period"),
            (getting & people["prior"].to_numpy(), before, "prior"),
            (getting & (kind == 0) & (cohort == BI), after, "after"),
        ],
    )
    site, _ = _records_for(rng, people, rows)
    site = np.where(sites.bi[site], site, people["site1"].to_numpy()[rows])
    m = len(rows)
    u = rng.random(m)
    kind_label = np.where(
        u < 0.89,
        "Brief Intervention",
        np.where(u < 0.99, "Advice & Information", "Extended Brief Intervention"),
    )
    sub1 = people["substance_1"].to_numpy()[rows]
    assessed = people["n_assess"].to_numpy()[rows] > 0
    v = rng.random(m)
    substance = np.where(
        assessed,
        np.where((v < 0.85) & (sub1 != "Not stated"), sub1, ""),
        np.where(v < 0.5, np.where(cohort[rows] == BI, "Alcohol", ""), ""),
    )
    return pd.DataFrame(
        {
            "person": rows,
            "day": days,
            "site": site,
            "intervention_type": kind_label,
            "substance": substance,
        }
    )


def _make_assessments(rng, people, sites, nsp, interventions, p0, p1) -> pd.DataFrame:
    n = len(people)
    rows = np.concatenate([nsp["person"].to_numpy(), interventions["person"].to_numpy()])
    days = np.concatenate([nsp["day"].to_numpy(), interventions["day"].to_numpy()])
    keep = days <= p1
    first = np.full(n, p1, dtype=np.int64)
    last = np.full(n, p0 - 1_000_000, dtype=np.int64)
    np.minimum.at(first, rows[keep], days[keep])
    np.maximum.at(last, rows[keep], days[keep])
    idle = last < first  # no activity: assessed some day in the period
    first[idle] = p0 + rng.integers(0, p1 - p0 + 1, idle.sum())
    last[idle] = first[idle]

    first_now = np.full(n, p1, dtype=np.int64)
    now = keep & (days >= p0)
    np.minimum.at(first_now, rows[now], days[now])
    recent = (rng.random(n) < 0.6) & (first_now < p1)
    first = np.where(recent, first_now, first)
    offset = np.where(rng.random(n) < 0.6, rng.random(n) * 45, rng.random(n) * 540)

    n_assess = people["n_assess"].to_numpy()
    owners = np.repeat(np.arange(n), n_assess)
    nth = np.concatenate([np.arange(k) for k in n_assess]) if n_assess.sum() else np.array([])
    start = np.maximum(first - np.floor(offset).astype(np.int64), p0 - 3 * 365)
    second = start + np.floor(rng.random(n) * (last - start + 1)).astype(np.int64)
    day = np.where(nth == 0, start[owners], second[owners])

    site1 = people["site1"].to_numpy()[owners]
    site2 = people["site2"].to_numpy()[owners]
    site = np.where((site2 >= 0) & (rng.random(len(owners)) < 0.3), site2, site1)
    m = len(owners)
    pc = people["postcode"].to_numpy()[owners]
    postcode = np.where(rng.random(m) < ASSESSMENT_POSTCODE_SHARE, pc, "")
    res_la = people["res_la"].to_numpy()[owners]
    local_authority = np.where(rng.random(m) < ASSESSMENT_LA_SHARE, res_la, "")
    frame = pd.DataFrame(
        {
            "person": owners,
            "day": day,
            "site": site,
            "postcode": postcode,
            "local_authority": local_authority,
        }
    )
    for col in SPECS["assessments.csv"].optional[2:]:  # accommodation ... injecting
        frame[col] = people[col].to_numpy()[owners]
    nfa = people["postcode_kind"].to_numpy()[owners] == "nfa"
    frame.loc[nfa & (rng.random(m) < 0.8), "accommodation"] = "NFA"
    return frame


def _make_wellbeing(rng, people, spells) -> pd.DataFrame:
    n = len(people)
    chosen = (people["kind"].to_numpy() == 0) & (rng.random(n) < 0.05)
    counts = 1 + (rng.random(n) < 0.3)
    rows, days = spells.days(rng, np.flatnonzero(chosen), counts[chosen], "period")
    score = np.clip(np.round(rng.normal(44, 9, len(rows))), 14, 70).astype(np.int64)
    return pd.DataFrame(
        {
            "person": rows,
            "day": days,
            "site": people["site1"].to_numpy()[rows],
            "wemwbs_score": score,
        }
    )


def _make_referrals(rng, people, spells) -> pd.DataFrame:
    n = len(people)
    chosen = (people["kind"].to_numpy() == 0) & (rng.random(n) < 0.05)
    counts = 1 + (rng.random(n) < 0.1)
    rows, days = spells.days(rng, np.flatnonzero(chosen), counts[chosen], "period")
    m = len(rows)
    return pd.DataFrame(
        {
            "person": rows,
            "day": days,
            "site": people["site1"].to_numpy()[rows],
            "direction": np.where(rng.random(m) < 0.6, "OUT", "IN"),
            "organisation": np.array(ORGANISATIONS, dtype=object)[
                rng.integers(0, len(ORGANISATIONS), m)
            ],
        }
    )


# ================================================================================== assembly


def _make_clients(rng: np.random.Generator, people: pd.DataFrame, sites: _Sites) -> pd.DataFrame:
    """Client records (one per person and site) and the person -> client_ref map on ``people``."""
    n = len(people)
    two = np.flatnonzero(people["site2"].to_numpy() >= 0)
    person = np.concatenate([np.arange(n), two])
    second = np.concatenate([np.zeros(n, dtype=bool), np.ones(len(two), dtype=bool)])
    refs = np.empty(len(person), dtype=object)
    refs[rng.permutation(len(person))] = [f"C{i:06d}" for i in range(1, len(person) + 1)]
    people["ref1"] = refs[:n]
    people["ref2"] = ""
    people.loc[two, "ref2"] = refs[n:]

    site = np.where(second, people["site2"].to_numpy()[person], people["site1"].to_numpy()[person])
    kind = people["postcode_kind"].to_numpy()[person]
    postcode = people["old_postcode"].to_numpy()[person].astype(object)
    postcode = np.where(rng.random(len(person)) < CLIENT_POSTCODE_SHARE, postcode, "")
    # the second record: same postcode, or written differently, or a nearby one
    u = rng.random(len(person))
    clean = second & (kind == "clean")
    variant = np.array([p.replace(" ", "") for p in postcode], dtype=object)
    postcode = np.where(clean & (u < 0.25), variant, postcode)
    postcode = np.where(clean & (u >= 0.25) & (u < 0.4), "", postcode)
    frame = pd.DataFrame(
        {
            "client_ref": refs,
            "site_code": sites.code[site],
            "first_initial": people["first_initial"].to_numpy()[person],
            "last_initial": people["last_initial"].to_numpy()[person],
            "date_of_birth": people["date_of_birth"].to_numpy()[person],
            "gender": people["gender"].to_numpy()[person],
            "postcode": postcode,
            "ethnicity": people["ethnicity"].to_numpy()[person],
        }
    )
    return frame.sort_values("client_ref", kind="stable").reset_index(drop=True)


def _ref_of(people: pd.DataFrame, sites: _Sites, rows: np.ndarray, site: np.ndarray) -> np.ndarray:
    """The client_ref an activity row is recorded against: the record held at that site if any."""
    ref2 = people["ref2"].to_numpy()[rows]
    site2 = people["site2"].to_numpy()[rows]
    return np.where((ref2 != "") & (site2 == site), ref2, people["ref1"].to_numpy()[rows])


def _finish(people, sites, frame: pd.DataFrame, date_col: str) -> pd.DataFrame:
    rows, site = frame["person"].to_numpy(), frame["site"].to_numpy()
    frame = frame.assign(client_ref=_ref_of(people, sites, rows, site), site_code=sites.code[site])
    frame[date_col] = _iso(frame["day"].to_numpy())
    frame = frame.sort_values([date_col, "site_code", "client_ref"], kind="stable")
    return frame.drop(columns=["person", "day", "site"]).reset_index(drop=True)


def _with_ids(frame: pd.DataFrame, id_col: str, prefix: str) -> pd.DataFrame:
    frame = frame.copy()
    frame[id_col] = [f"{prefix}{i:07d}" for i in range(1, len(frame) + 1)]
    return frame


def _add_bad_rows(
    rng: np.random.Generator, frames: dict[str, pd.DataFrame], sites: _Sites, p0: int
) -> dict[str, pd.DataFrame]:
    """Insert the deliberate bad rows; every one is an added row (good data are untouched)."""
    out: dict[str, pd.DataFrame] = {"sites.csv": frames["sites.csv"]}
    clients = frames["clients.csv"]
    n_clients = len(clients)
    refs = clients["client_ref"].to_numpy()
    next_ref = iter(range(n_clients + 1, 10**7))
    unknown_ref = iter(range(900_001 + n_clients, 10**8))
    n_codes = {p: int((sites.frame["site_code"].str[:2] == p).sum()) for p in ("AG", "PH")}
    unknown_site = iter(range(max(n_codes.values()) + 101, 10**6))

    def count(frame: pd.DataFrame) -> int:
        return max(1, round(BAD_ROW_RATE * len(frame)))

    def bad_site(prefix: str = "PH") -> str:
        return f"{prefix}{next(unknown_site):03d}"

    # clients.csv: unparseable date of birth, duplicate client_ref, unknown site (no activity)
    bad: list[tuple[float, dict]] = []
    k = count(clients)
    for i in range(k):
        j = int(rng.integers(n_clients))
        row = clients.iloc[j].to_dict()
        bad.append(
            (
                rng.uniform(0, n_clients),
                {
                    **row,
                    "client_ref": f"C{next(next_ref):06d}",
                    "date_of_birth": BAD_DATES[i % len(BAD_DATES)].replace("2017", "1984"),
                },
            )
        )
        other = clients.iloc[int(rng.integers(n_clients))].to_dict()
        bad.append(
            (
                rng.uniform(j + 0.5, n_clients),
                {
                    **other,
                    "client_ref": refs[j],
                    "date_of_birth": f"1979-06-{i % 28 + 1:02d}",
                    "first_initial": "Z",
                    "last_initial": "Q",
                },
            )
        )
        row = clients.iloc[int(rng.integers(n_clients))].to_dict()
        bad.append(
            (
                rng.uniform(0, n_clients),
                {
                    **row,
                    "client_ref": f"C{next(next_ref):06d}",
                    "site_code": bad_site(),
                    "date_of_birth": f"1990-01-{i % 28 + 1:02d}",
                    "first_initial": "Q",
                    "last_initial": "Z",
                },
            )
        )
    out["clients.csv"] = _insert(clients, bad)

    specs = {
        "assessments.csv": ("assessment_date", None),
        "nsp_transactions.csv": ("visit_date", ("transaction_id", "T")),
        "interventions.csv": ("intervention_date", ("intervention_id", "I")),
        "wellbeing.csv": ("review_date", None),
        "referrals.csv": ("referral_date", None),
    }
    for name, (date_col, ident) in specs.items():
        frame = frames[name]
        n = len(frame)
        if n == 0:
            out[name] = frame
            continue
        next_id = iter(range(n + 1, 10**8))
        bad = []

        def copy(j: int, **changes) -> dict:
            row = frame.iloc[j].to_dict()
            if ident:
                row[ident[0]] = f"{ident[1]}{next(next_id):07d}"
            row.update(changes)
            return row

        for i in range(count(frame)):
            pick = lambda: int(rng.integers(n))  # noqa: E731
            bad.append(
                (rng.uniform(0, n), copy(pick(), **{date_col: BAD_DATES[i % len(BAD_DATES)]}))
            )
            bad.append((rng.uniform(0, n), copy(pick(), client_ref=f"C{next(unknown_ref):06d}")))
            if name in ("assessments.csv", "nsp_transactions.csv", "interventions.csv"):
                bad.append((rng.uniform(0, n), copy(pick(), site_code=bad_site())))
            if ident:
                j = pick()
                dup = frame.iloc[j].to_dict()
                dup["client_ref"] = refs[int(rng.integers(n_clients))]
                bad.append((rng.uniform(j + 0.5, n), dup))
            if name == "wellbeing.csv":
                bad.append((rng.uniform(0, n), copy(pick(), wemwbs_score=99)))
        out[name] = _insert(frame, bad)
    return out


def _insert(frame: pd.DataFrame, bad: list[tuple[float, dict]]) -> pd.DataFrame:
    """Insert rows at fractional positions (row i of ``frame`` sits at position i)."""
    if not bad:
        return frame
    extra = pd.DataFrame([row for _, row in bad], columns=frame.columns)
    pos = np.concatenate([np.arange(len(frame), dtype=float), [p for p, _ in bad]])
    both = pd.concat([frame, extra], ignore_index=True)
    return both.iloc[np.argsort(pos, kind="stable")].reset_index(drop=True)
