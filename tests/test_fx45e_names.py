"""Attack a45b, finding 5: a second first-name column (OpenEMR's `mothersname` beside `fname`) was
always the row's own first name (1,000 of 1,000 rows; the source: 63). Now a second name column of
a kind is another person's name, drawn apart (a mother's a woman's), and equal to the row's own as
often as in the source; a guardian's full name is no longer the patient's."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest

import relsynth
from tests.conftest import run_sql

FIRST = [
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
]
WOMEN = {"Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara"}
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis"]
ROWS = 300


def _patients(url: str) -> float:
    """A patient table whose mothersname equals fname on a tenth of the rows; that share."""
    r = random.Random(5)
    run_sql(
        url,
        "CREATE TABLE patient_data (id INTEGER PRIMARY KEY, fname VARCHAR(40) NOT NULL, "
        "lname VARCHAR(40) NOT NULL, mothersname VARCHAR(40), guardian_name VARCHAR(80));",
    )
    rows, same = [], 0
    for i in range(1, ROWS + 1):
        first, last = r.choice(FIRST), r.choice(LAST)
        mother = first if i % 10 == 0 else r.choice(sorted(WOMEN))
        same += mother == first
        rows.append(f"({i}, '{first}', '{last}', '{mother}', '{r.choice(FIRST)} {r.choice(LAST)}')")
    run_sql(url, f"INSERT INTO patient_data VALUES {', '.join(rows)};")
    return same / ROWS


def test_a_mothers_name_is_not_the_patients_own(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'src.db'}"
    share = _patients(url)
    model = relsynth.fit(url, seed=1)
    kinds = {c.name: c.pii for c in model.schema.table("patient_data").columns}
    assert kinds["fname"] == kinds["mothersname"] == "first_name", kinds
    out = relsynth.sample(model, seed=1)["patient_data"]
    equal = float((out["mothersname"] == out["fname"]).mean())
    assert share / 3 < equal < share * 2.5, (equal, share)  # it was 1.0
    drawn = out.loc[out["mothersname"] != out["fname"], "mothersname"].dropna()
    women = _female_names(model.schema.locale)
    assert float(drawn.isin(women).mean()) > 0.9, "a mother's name is a woman's"
    if kinds["guardian_name"] == "person_name":
        own = out["fname"] + " " + out["lname"]
        assert float((out["guardian_name"] == own).mean()) < 0.05


def _female_names(locale: str) -> set[str]:
    from faker import Faker

    providers = Faker(locale or "en_US").providers
    return {str(n) for p in providers for n in getattr(p, "first_names_female", ())}


def test_the_source_share_of_equal_names_is_kept_through_a_model_file(tmp_path: Path) -> None:
    """The share and roles are in the model file (no name is): sampled from it, the same."""
    url = f"sqlite:///{tmp_path / 'src.db'}"
    _patients(url)
    path = tmp_path / "m.rsm"
    relsynth.fit(url, seed=1).save(path)
    out = relsynth.sample(path, seed=2)["patient_data"]
    assert float((out["mothersname"] == out["fname"]).mean()) < 0.3


@pytest.mark.parametrize(
    ("column", "whose"),
    [
        ("mothersname", "female"),
        ("mother_maiden_name", "female"),
        ("father_first_name", "male"),
        ("FatherName", "male"),
        ("guardian_name", "any"),
        ("emergency_contact_name", "any"),
        ("person_name", ""),
        ("first_name", ""),
        ("middle_name", ""),
    ],
)
def test_whose_name_a_column_holds(column: str, whose: str) -> None:
    from relsynth.model.pii import _whose

    assert _whose(column) == whose


def test_name_roles_pick_the_own_column_and_the_share() -> None:
    from relsynth.model.pii import name_roles

    frame = pd.DataFrame(
        {
            "mothersname": ["Ann", "Bo", "Cy", "Di", "Ed", "Fay"] * 5,
            "fname": ["Ann", "Bo", "Cy", "Di", "Ed", "Al"] * 5,
        }
    )
    roles = name_roles([("mothersname", "first_name"), ("fname", "first_name")], frame, 5)
    assert roles == {"mothersname": ("female", "fname", round(25 / 30, 4))}
    rare = frame.assign(fname=["Ann", "X", "Y", "Z", "W", "V"] * 5)  # equal on 5 rows: kept
    assert (
        name_roles([("fname", "first_name"), ("mothersname", "first_name")], rare, 6)["mothersname"][2] == 0
    )
