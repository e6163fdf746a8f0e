"""The substance-label mapping: the one documented place where free-text labels become groups.

Real extracts carry substances as free text ("Steroids", "Anabolic steroids", "HGH",
"heroin ", ...). A label is normalised (lower case, single spaces, ``&`` read as ``and``) and
looked up in ``LABELS``; labels not listed there are matched by the keyword rules in
``KEYWORDS`` (first match wins); anything else is ``other``; a blank is ``not_stated``.

Only one group changes a count: ``iped`` (steroids and other image and performance enhancing
drugs) puts a person who used a needle & syringe programme in the ``pwid_ipeds`` cohort
(spec section 2, *Cohorts*). The other groups feed the reports' substance profiles.

To add a label, add it to ``LABELS`` (and a test in ``tests/test_substances.py``).

``DISPLAY`` is the display mapping the reports use, kept beside the cohort mapping: the
spellings of one substance (``Steroids``, ``Anabolic steroids``, ``AAS``) are shown as one
label. It never changes a group (each spelling of a display label is in the same group in
``LABELS``: a test checks it); a label not listed there is shown as written.
"""

from __future__ import annotations

import re

import pandas as pd

GROUPS = (
    "iped",
    "opioid",
    "stimulant",
    "cannabis",
    "alcohol",
    "other",
    "no_substance",
    "not_stated",
)

LABELS: dict[str, str] = {
    # image and performance enhancing drugs
    "steroids": "iped",
    "steroid": "iped",
    "anabolic steroids": "iped",
    "anabolic androgenic steroids": "iped",
    "aas": "iped",
    "testosterone": "iped",
    "growth hormone": "iped",
    "human growth hormone": "iped",
    "hgh": "iped",
    "melanotan": "iped",
    "melanotan ii": "iped",
    "tanning injections": "iped",
    "other iped": "iped",
    "ipeds": "iped",
    "iped": "iped",
    "steroids and ipeds": "iped",
    "peptides": "iped",
    "sarms": "iped",
    "clenbuterol": "iped",
    "insulin (iped)": "iped",
    "image and performance enhancing drugs": "iped",
    "weight loss injections": "iped",
    # opioids
    "heroin": "opioid",
    "methadone": "opioid",
    "buprenorphine": "opioid",
    "opiates": "opioid",
    "opioids": "opioid",
    "morphine": "opioid",
    "fentanyl": "opioid",
    "codeine": "opioid",
    "tramadol": "opioid",
    "other opiates": "opioid",
    # stimulants
    "crack cocaine": "stimulant",
    "crack": "stimulant",
    "cocaine": "stimulant",
    "powder cocaine": "stimulant",
    "amphetamines": "stimulant",
    "amphetamine": "stimulant",
    "speed": "stimulant",
    "methamphetamine": "stimulant",
    "mephedrone": "stimulant",
    "ecstasy": "stimulant",
    "mdma": "stimulant",
    # others
    "cannabis": "cannabis",
    "skunk": "cannabis",
    "alcohol": "alcohol",
    "other drugs": "other",
    "other": "other",
    "benzodiazepines": "other",
    "ketamine": "other",
    "new psychoactive substances": "other",
    "nps": "other",
    "spice": "other",
    "no substance": "no_substance",
    "none": "no_substance",
    "someone else": "no_substance",
    "not stated": "not_stated",
    "not known": "not_stated",
    "unknown": "not_stated",
    "declined": "not_stated",
    "": "not_stated",
}

DISPLAY: dict[str, str] = {
    # normalised label -> the label the reports show
    "steroids": "Steroids",
    "steroid": "Steroids",
    "anabolic steroids": "Steroids",
    "anabolic androgenic steroids": "Steroids",
    "aas": "Steroids",
    "growth hormone": "Growth hormone",
    "human growth hormone": "Growth hormone",
    "hgh": "Growth hormone",
    "melanotan": "Melanotan",
    "melanotan ii": "Melanotan",
    "tanning injections": "Melanotan",
    "other iped": "Other IPED",
    "ipeds": "Other IPED",
    "iped": "Other IPED",
    "image and performance enhancing drugs": "Other IPED",
    "heroin": "Heroin",
    "opiates": "Opiates",
    "opioids": "Opiates",
    "other opiates": "Opiates",
    "crack cocaine": "Crack cocaine",
    "crack": "Crack cocaine",
    "cocaine": "Cocaine",
    "powder cocaine": "Cocaine",
    "amphetamines": "Amphetamines",
    "amphetamine": "Amphetamines",
    "speed": "Amphetamines",
    "ecstasy": "Ecstasy",
    "mdma": "Ecstasy",
    "cannabis": "Cannabis",
    "skunk": "Cannabis",
    "alcohol": "Alcohol",
    "other drugs": "Other drugs",
    "new psychoactive substances": "New psychoactive substances",
    "nps": "New psychoactive substances",
    "no substance": "No substance",
    "none": "No substance",
}

KEYWORDS: tuple[tuple[str, str], ...] = (
    ("steroid", "iped"),
    ("iped", "iped"),
    ("growth hormone", "iped"),
    ("melanotan", "iped"),
    ("tanning", "iped"),
    ("peptide", "iped"),
    ("testosterone", "iped"),
    ("heroin", "opioid"),
    ("methadone", "opioid"),
    ("opiat", "opioid"),
    ("opioid", "opioid"),
    ("crack", "stimulant"),
    ("cocaine", "stimulant"),
    ("amphetamine", "stimulant"),
    ("cannabis", "cannabis"),
    ("alcohol", "alcohol"),
)


def normalise_label(labels: pd.Series) -> pd.Series:
    """Lower case, ``&`` as ``and``, punctuation as spaces, single spaces, trimmed.

    Each distinct label is normalised once (a column repeats a few dozen labels)."""
    codes, uniques = pd.factorize(labels.fillna("").astype(str))
    s = pd.Series(uniques, dtype=object).str.lower().str.replace("&", " and ", regex=False)
    s = s.str.replace(r"[^a-z0-9()]+", " ", regex=True)
    s = s.str.replace(r"\s+", " ", regex=True).str.strip()
    return pd.Series(s.to_numpy(dtype=object)[codes], index=labels.index, dtype=object)


def substance_group(labels: pd.Series) -> pd.Series:
    """Vectorised: the group (one of ``GROUPS``) of each free-text substance label."""
    norm = normalise_label(labels)
    uniques = pd.Series(norm.unique())
    groups = uniques.map(LABELS)
    for word, group in KEYWORDS:
        hit = groups.isna() & uniques.str.contains(re.escape(word))
        groups = groups.mask(hit, group)
    lookup = dict(zip(uniques, groups.fillna("other")))
    return norm.map(lookup).astype(object)


def display_label(labels: pd.Series) -> pd.Series:
    """Vectorised: each free-text substance label as the reports show it (``DISPLAY``), or
    as written where the mapping does not list it (missing stays missing)."""
    shown = normalise_label(labels).map(DISPLAY)
    return labels.where(shown.isna() | labels.isna(), shown)
