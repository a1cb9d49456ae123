"""A text column that spells a number of the same row (OMOP's value_source_value '7.6' beside
value_as_number 7.6, MIMIC's value and valuenum): the two agree in the output as in the source,
and the text's own values where the number is NULL ('Negative') are still drawn."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

import relsynth
from relsynth.model import exact as ex
from tests.conftest import EVERY_DATABASE, fetch, run_sql


def test_spelled_numbers_keep_the_source_decimals() -> None:
    x = np.array([64.0, 7.6, np.nan, -0.5])
    assert list(ex.spelled(x, "fixed:1")) == ["64.0", "7.6", None, "-0.5"]
    assert list(ex.spelled(x, "plain")) == ["64", "7.6", None, "-0.5"]
    assert list(ex.spelled(np.array([3.0, 12.0]), "fixed:0")) == ["3", "12"]
    assert list(ex.spelled(np.array([-0.0, -0.04]), "fixed:1")) == [
        "0.0",
        "0.0",
    ]  # no '-0.0' a database never prints


def _texts(n: int, rng: np.random.Generator, agree: float = 1.0) -> tuple[pd.Series, np.ndarray]:
    x = np.round(rng.normal(100, 15, n), 1)
    text = [f"{v:.1f}" if rng.random() < agree else f"{v + 1:.1f}" for v in x]
    return pd.Series(text, dtype=object), x


def test_a_text_spelling_its_number_is_found_with_its_format() -> None:
    rng = np.random.default_rng(0)
    text, x = _texts(500, rng)
    found = ex.find_spellings({"t": text}, {"x": x, "other": rng.normal(size=500)}, {"t"})
    assert found == [("t", "x", "fixed:1", 0.0, True)]


def test_a_text_that_mostly_spells_its_number_is_no_relation() -> None:
    text, x = _texts(2000, np.random.default_rng(1), agree=0.95)  # 5% differ: no law
    assert ex.find_spellings({"t": text}, {"x": x}, {"t"}) == []


def test_a_text_with_values_of_its_own_where_the_number_is_null() -> None:
    rng = np.random.default_rng(2)
    text, x = _texts(600, rng)
    x[:100] = np.nan
    text[:100] = "Negative"
    found = ex.find_spellings({"t": text}, {"x": x}, {"t"})
    assert found == [("t", "x", "fixed:1", 0.0, False)]  # derived where x is known only
    # A NOT NULL text cannot learn its own values with the spelled rows masked as NULL.
    assert ex.find_spellings({"t": text}, {"x": x}, set()) == []


def _lab(url: str, n_patients: int = 300) -> None:
    rng = np.random.default_rng(7)
    rows = [
        "CREATE TABLE patient (id INTEGER PRIMARY KEY, sex VARCHAR(1) NOT NULL);",
        "CREATE TABLE result (id INTEGER PRIMARY KEY, patient_id INTEGER NOT NULL REFERENCES patient(id),"
        " code VARCHAR(8) NOT NULL, value_num NUMERIC(8,1), value_text VARCHAR(20));",
    ]
    rows += [f"INSERT INTO patient VALUES ({p}, '{'FM'[p % 2]}');" for p in range(1, n_patients + 1)]
    n = 0
    for p in range(1, n_patients + 1):
        for _ in range(int(rng.integers(4, 14))):
            n += 1
            code = str(rng.choice(["GLU", "HGB", "UA"], p=[0.45, 0.35, 0.2]))
            if code == "UA":  # a urine test: a finding, no number
                finding = str(rng.choice(["Negative", "Positive"], p=[0.7, 0.3]))
                rows.append(f"INSERT INTO result VALUES ({n}, {p}, 'UA', NULL, '{finding}');")
                continue
            v = round(float(rng.normal(100, 15) if code == "GLU" else rng.normal(14, 1.5)), 1)
            rows.append(f"INSERT INTO result VALUES ({n}, {p}, '{code}', {v:.1f}, '{v:.1f}');")
    run_sql(url, "\n".join(rows))


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_the_output_spells_its_own_numbers(db: str, request: pytest.FixtureRequest) -> None:
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    _lab(source)
    model = relsynth.fit(source, seed=0)
    spelled = [p for p in model.tables["result"].parts if p.part == "text"]
    assert [(p.column, p.whole, p.text_format) for p in spelled] == [("value_text", "value_num", "fixed:1")]
    said = "result: value_text = value_num as text where value_num is known (derived)"
    assert said in model.relations_summary()  # what `relsynth inspect --relations` lists
    relsynth.synthesize(source, target, seed=1)
    rows = fetch(target, "SELECT code, value_num, value_text FROM result")
    numbered = [(code, num, text) for code, num, text in rows if num is not None]
    assert len(numbered) > 0.6 * len(rows)
    # Each number as the source spells it: independently drawn, 2,500 of 2,600 texts differed.
    assert all(text == f"{float(num):.1f}" for _, num, text in numbered)
    # The findings of the urine test are still drawn, for the rows without a number.
    findings = [text for _, num, text in rows if num is None]
    assert findings and set(findings) <= {"Negative", "Positive", None}
    assert sum(t == "Negative" for t in findings) > 0.4 * len(findings)
    assert sum(t == "Positive" for t in findings) > 0.1 * len(findings)


def test_a_not_null_text_of_a_number_that_is_sometimes_null_is_never_null(
    sqlite_db: Callable[[], str],
) -> None:
    """Spelled on every row but a few where the number is NULL (within the 0.1% a relation may
    miss): the output's rows without a number still get a text (another row's, as for any NOT NULL
    column a relation left NULL), not a NULL the column refuses."""
    source = sqlite_db()
    rng = np.random.default_rng(3)
    rows = ["CREATE TABLE reading (id INTEGER PRIMARY KEY, value REAL, label VARCHAR(12) NOT NULL);"]
    for i in range(1, 3001):
        v = round(float(rng.normal(50, 10)), 2)
        if i % 1000 == 0:  # 3 of 3,000 without a number: the label still says one
            rows.append(f"INSERT INTO reading VALUES ({i}, NULL, '{v:.2f}');")
        else:
            rows.append(f"INSERT INTO reading VALUES ({i}, {v!r}, '{v:.2f}');")
    run_sql(source, "\n".join(rows))
    model = relsynth.fit(source, seed=0)
    assert [p.whole for p in model.tables["reading"].parts if p.part == "text"] == ["value"]
    out = relsynth.sample(model, scale=10, seed=2)["reading"]
    assert out["value"].isna().sum() > 0  # the case attacked: numbers drawn NULL
    assert out["label"].notna().all()
    known = out["value"].notna()
    assert (out.loc[known, "label"] == [f"{v:.2f}" for v in out.loc[known, "value"]]).all()


@pytest.mark.parametrize("db", ["sqlite", "pg"])
def test_a_text_of_too_many_values_for_a_category_still_spells_its_number(
    db: str, request: pytest.FixtureRequest
) -> None:
    """Two decimals make a thousand distinct texts: the column was learned as free text, no text
    equalled its number, and the words where the number is NULL ('Negative') came out as random
    numbers ('842.19')."""
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    rng = np.random.default_rng(2)
    rows = [
        "CREATE TABLE measurement (id INTEGER PRIMARY KEY, code VARCHAR(4) NOT NULL, value_as_number REAL,"
        " value_source_value VARCHAR(20));"
    ]
    for m in range(1, 3001):
        code = str(rng.choice(["HB", "GLU", "NA"]))
        if rng.random() < 0.1:
            word = str(rng.choice(["Negative", "Positive", "Trace"]))
            rows.append(f"INSERT INTO measurement VALUES ({m}, '{code}', NULL, '{word}');")
            continue
        v = round(float(rng.normal({"HB": 14, "GLU": 100, "NA": 140}[code], 2)), 2)
        rows.append(f"INSERT INTO measurement VALUES ({m}, '{code}', {v:.2f}, '{v:.2f}');")
    run_sql(source, "\n".join(rows))
    relsynth.synthesize(source, target, seed=1)
    out = fetch(target, "SELECT value_as_number, value_source_value FROM measurement")
    numbered = [(v, t) for v, t in out if v is not None]
    assert len(numbered) > 0.7 * len(out)
    assert all(t == f"{float(v):.2f}" for v, t in numbered)
    words = [t for v, t in out if v is None]
    assert words and sum(t in {"Negative", "Positive", "Trace"} for t in words) > 0.8 * len(words)
