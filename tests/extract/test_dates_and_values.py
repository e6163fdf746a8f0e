"""Dates (ISO, or ``[extract] date_format``; day-first dates named, never guessed), values of
optional columns set aside rather than their rows, and reject reasons that never quote a
value."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import client, intervention, nsp, write_extract, write_recipe

from atlas.cli import main
from atlas.errors import ExtractError, RecipeError
from atlas.extract.reader import read_extract
from atlas.recipe import load_recipe


def _rejects(extract, name):
    r = extract.rejects
    return r[r["file"] == name].set_index("line")["reason"].to_dict()


def _excel_clients(tmp_path, dobs):
    return write_extract(
        tmp_path / "ex",
        {
            "clients.csv": [client(f"C{i}", dob=d) for i, d in enumerate(dobs, start=1)],
            "nsp_transactions.csv": [nsp("T1", "C1")],
        },
    )


@pytest.mark.parametrize(
    ("dobs", "form"),
    [
        (["14/09/1984", "01/02/1980", "1979-05-05"], "DD/MM/YYYY"),
        (["09/14/1984", "01/02/1980"], "MM/DD/YYYY"),
        (["01.02.1980", "03.04.1981"], "DD.MM.YYYY or MM.DD.YYYY"),
    ],
    ids=["day first", "month first", "either"],
)
def test_a_column_of_day_first_dates_is_named_in_one_message(tmp_path, dobs, form):
    folder = _excel_clients(tmp_path, dobs)
    with pytest.raises(ExtractError) as err:
        read_extract(folder)
    assert str(err.value) == (
        f"clients.csv: date_of_birth looks like {form} (line 2); export ISO dates or set "
        "[extract] date_format"
    )


def test_a_few_day_first_dates_are_rejected_rows_not_a_guess(tmp_path):
    folder = _excel_clients(tmp_path, ["1984-09-14", "1980-02-01", "14/09/1984"])
    ex = read_extract(folder)
    assert _rejects(ex, "clients.csv") == {4: "date_of_birth is not a valid ISO date (YYYY-MM-DD)"}


def test_date_format_applies_to_every_date_column(tmp_path):
    folder = write_extract(
        tmp_path / "ex",
        {
            "clients.csv": [client("C1", dob="14/09/1984"), client("C2", dob="1984-09-14")],
            "nsp_transactions.csv": [
                nsp("T1", "C1", date="01/06/2017"),
                nsp("T2", "C1", date="13/06/2017 10:30"),
                nsp("T3", "C1", date="2017-06-01"),
                nsp("T4", "C1", date="31/02/2017"),
            ],
        },
    )
    ex = read_extract(folder, date_format="%d/%m/%Y")
    assert ex["clients.csv"]["date_of_birth"].tolist() == [pd.Timestamp("1984-09-14")]
    assert ex["nsp_transactions.csv"]["visit_date"].tolist() == [
        pd.Timestamp("2017-06-01"),
        pd.Timestamp("2017-06-13"),
    ]
    assert _rejects(ex, "clients.csv") == {
        3: "date_of_birth is not a valid date written DD/MM/YYYY"
    }
    assert _rejects(ex, "nsp_transactions.csv") == {
        4: "visit_date is not a valid date written DD/MM/YYYY",
        5: "visit_date is not a valid date written DD/MM/YYYY",
    }


def _recipe_with(tmp_path, geo, extract, keys: str):
    """A recipe whose [extract] table also holds ``keys`` (TOML lines)."""
    recipe = write_recipe(tmp_path, geo, extract)
    path_line = f'path = "{extract}"'
    recipe.write_text(recipe.read_text().replace(path_line, f"{path_line}\n{keys}"))
    return recipe


def test_the_recipe_takes_a_date_format_giving_day_month_and_year(tmp_path, geo):
    extract = write_extract(tmp_path / "ex", {"clients.csv": [client("C1")]})
    keys = 'date_format = "%d/%m/%Y"\nmax_rejected_pct = 2.5'
    loaded = load_recipe(_recipe_with(tmp_path, geo, extract, keys))
    assert (loaded.date_format, loaded.max_rejected_pct) == ("%d/%m/%Y", 2.5)
    keys = 'date_format = "%d/%m"\nmax_rejected_pct = -1'
    with pytest.raises(RecipeError) as err:
        load_recipe(_recipe_with(tmp_path, geo, extract, keys))
    assert err.value.problems == [
        "extract.date_format: '%d/%m' is not a strptime format giving the day, month and "
        'year (e.g. "%d/%m/%Y")',
        "extract.max_rejected_pct: must be at least 0, got -1",
    ]
    loaded = load_recipe(write_recipe(tmp_path, geo, extract))
    assert (loaded.date_format, loaded.max_rejected_pct) == (None, 5)


def _sites(folder, opened: list[str]):
    """sites.csv with an ``opened`` column."""
    (folder / "sites.csv").write_text(
        "site_code,site_name,site_type,postcode,opened\n"
        + "".join(f"S{i},Site {i},agency,AA1 1AA,{o}\n" for i, o in enumerate(opened, start=1))
    )
    return folder


def test_a_bad_optional_date_sets_the_value_aside_not_the_site(tmp_path):
    folder = write_extract(
        tmp_path / "ex",
        {
            "clients.csv": [client("C1", site="S2")],
            "nsp_transactions.csv": [nsp("T1", "C1", site="S2")],
        },
    )
    ex = read_extract(_sites(folder, ["2010-01-01", "2010-02-30", "", "2011-05-05"]))
    assert ex.rejects.empty
    assert ex["sites.csv"]["opened"].tolist()[:2] == [pd.Timestamp("2010-01-01"), pd.NaT]
    assert ex["sites.csv"]["opened"].isna().tolist() == [False, True, True, False]
    assert ex.ledger["sites.csv"]["values_set_aside"] == {"opened": 1}
    assert ex.warnings == [
        "sites.csv: opened is not a valid ISO date (YYYY-MM-DD) in 1 row(s) (first at line 3); "
        "those values are set aside, the rows kept"
    ]


def test_every_opened_written_day_first_warns_once_and_the_drop_builds(tmp_path, geo):
    folder = write_extract(
        tmp_path / "ex",
        {
            "clients.csv": [client("C1"), client("C2", site="S2", fi="C")],
            "nsp_transactions.csv": [nsp("T1", "C1")],
            "interventions.csv": [intervention("I1", "C2", site="S2")],
        },
    )
    _sites(folder, ["13/04/2006", "28/09/2010"])
    result = CliRunner().invoke(
        main, ["build", str(write_recipe(tmp_path, geo, folder)), "--out", str(tmp_path / "d")]
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("opened looks like") == 1
    assert (
        "WARNING: sites.csv: opened looks like DD/MM/YYYY (line 2); 2 value(s) set aside, the "
        "rows kept: export ISO dates or set [extract] date_format"
    ) in result.output
    ledger = json.loads((tmp_path / "d" / "ledger.json").read_text())
    assert ledger["files"]["sites.csv"] == {
        "read": 2,
        "accepted": 2,
        "rejected": 0,
        "lines": 3,
        "blank": 0,
        "values_set_aside": {"opened": 2},
    }
    assert ledger["cohorts"]["all"] is None  # 2 people: suppressed in the published ledger
    private = json.loads((tmp_path / "d.private" / "ledger.json").read_text())
    assert private["cohorts"]["all"] == 2


def test_an_excel_clients_file_stops_the_build_naming_the_column(tmp_path, geo):
    folder = _excel_clients(tmp_path, ["14/09/1984", "01/02/1980"])
    result = CliRunner().invoke(
        main, ["build", str(write_recipe(tmp_path, geo, folder)), "--out", str(tmp_path / "d")]
    )
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        "error: clients.csv: date_of_birth looks like DD/MM/YYYY (line 2); export ISO dates "
        "or set [extract] date_format"
    )
    assert not (tmp_path / "d").exists()


def test_reject_reasons_name_the_column_and_problem_never_the_value(tmp_path):
    """A row shifted by one column puts a date of birth and a postcode where a gender and a
    date are expected; no reason repeats them, nor any other value of the rejected rows."""
    shifted = {
        "client_ref": "C2",
        "site_code": "S1",
        "first_initial": "J",
        "last_initial": "1985-07-14",
        "date_of_birth": "F",
        "gender": "ZX1 1AH",
    }
    folder = write_extract(
        tmp_path / "ex",
        {
            "clients.csv": [client("C1"), shifted, client("C1"), client("C3", site="ZX1 1AA")],
            "nsp_transactions.csv": [
                nsp("T1", "C1"),
                nsp("T1", "C1"),
                nsp("C000002-visit1", "C2"),
                nsp("T3", "C9", date="ZX1 1AA"),
                nsp("T4", "C1", site="1976-12-27"),
            ],
        },
    )
    ex = read_extract(folder)
    assert _rejects(ex, "clients.csv") == {
        3: "date_of_birth is not a valid ISO date (YYYY-MM-DD); gender is not one of M, F, X, U",
        4: "duplicate client_ref (first at line 2)",
        5: "site_code is not in sites.csv",
    }
    assert _rejects(ex, "nsp_transactions.csv") == {
        3: "duplicate transaction_id (first at line 2)",
        4: "client_ref was rejected in clients.csv (line 3)",
        5: "visit_date is not a valid ISO date (YYYY-MM-DD); client_ref is not in clients.csv",
        6: "site_code is not in sites.csv",
    }
    published = " ".join(ex.rejects["reason"])
    for value in ("1985-07-14", "ZX1 1AH", "ZX1 1AA", "C000002", "C9", "1976-12-27", "T1"):
        assert value not in published
