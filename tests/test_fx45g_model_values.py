"""Attack round 45, model file: the second time of a pair (a discharge learned as a gap from its
admission, an interval's end, a time after its parent's) kept its column's range as one row's
exact value to the microsecond (MIMIC-like: the earliest and latest dischtime, stoptime,
edouttime, storetime). The README's rule (ends pulled in to the K-th value and moved off any one
row's value, a knot per K values) holds for every column, whatever it is learned from: no source
value of any column is in the model file, in any of its serializations."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

import relsynth
from tests.conftest import fetch, model_contents, run_sql

EPOCH = dt.datetime(1970, 1, 1)


def _stamp(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


def _hospital(url: str, patients: int = 60) -> None:
    """Patients with admissions with events: every time and number distinct, to the microsecond
    or the cent. Times in pairs: dischtime after admittime, edouttime after edregtime,
    storetime after charttime (inside its admission), a DATE pair (start_date, end_date); numbers
    derived from others: tax = 8% of charge, total = charge + tax."""
    rng = np.random.default_rng(45)
    sql = [
        "CREATE TABLE patients (subject_id INTEGER PRIMARY KEY, birth TIMESTAMP NOT NULL,"
        " weight NUMERIC(6,2) NOT NULL);",
        "CREATE TABLE admissions (hadm_id INTEGER PRIMARY KEY,"
        " subject_id INTEGER NOT NULL REFERENCES patients(subject_id),"
        " admittime TIMESTAMP NOT NULL, dischtime TIMESTAMP NOT NULL, edregtime TIMESTAMP,"
        " edouttime TIMESTAMP, start_date DATE NOT NULL, end_date DATE NOT NULL,"
        " charge NUMERIC(10,2) NOT NULL, tax NUMERIC(10,2) NOT NULL, total NUMERIC(10,2) NOT NULL,"
        " CHECK (dischtime > admittime), CHECK (end_date >= start_date));",
        "CREATE TABLE events (event_id INTEGER PRIMARY KEY,"
        " hadm_id INTEGER NOT NULL REFERENCES admissions(hadm_id),"
        " charttime TIMESTAMP NOT NULL, storetime TIMESTAMP NOT NULL, valuenum REAL NOT NULL);",
    ]
    hadm = event = 0
    day = 86400.0
    for s in range(1, patients + 1):
        birth = dt.datetime(1930, 1, 1) + dt.timedelta(seconds=float(rng.uniform(0, 60 * 365 * day)))
        weight = 40 + s * 0.73 + round(float(rng.uniform(0, 0.5)), 2)
        sql.append(f"INSERT INTO patients VALUES ({s}, '{_stamp(birth)}', {weight:.2f});")
        for _ in range(int(rng.integers(1, 5))):
            hadm += 1
            admit = dt.datetime(2110, 1, 1) + dt.timedelta(seconds=float(rng.uniform(0, 80 * 365 * day)))
            disch = admit + dt.timedelta(seconds=float(rng.gamma(2.0, 3 * day)))
            ed = rng.random() < 0.7
            edreg = admit - dt.timedelta(seconds=float(rng.uniform(600, 20000))) if ed else None
            edout = admit + dt.timedelta(seconds=float(rng.uniform(60, 7200))) if ed else None
            start = (admit + dt.timedelta(days=int(rng.integers(0, 3) + hadm * 1000))).date()
            end = start + dt.timedelta(days=int(rng.integers(0, 40)))
            charge = round(100 + hadm * 37.11 + float(rng.uniform(0, 30)), 2)
            tax = round(charge * 0.08, 2)
            ed_sql = f"'{_stamp(edreg)}', '{_stamp(edout)}'" if edreg and edout else "NULL, NULL"
            sql.append(
                f"INSERT INTO admissions VALUES ({hadm}, {s}, '{_stamp(admit)}', '{_stamp(disch)}',"
                f" {ed_sql}, '{start}', '{end}', {charge:.2f}, {tax:.2f}, {charge + tax:.2f});"
            )
            span = (disch - admit).total_seconds()
            for _ in range(int(rng.integers(1, 6))):
                event += 1
                chart = admit + dt.timedelta(seconds=float(rng.uniform(0, span)))
                store = chart + dt.timedelta(seconds=float(rng.uniform(30, 5000)))
                value = round(float(rng.normal(100, 15)) + event * 1e-4, 4)
                sql.append(
                    f"INSERT INTO events VALUES ({event}, {hadm}, '{_stamp(chart)}', '{_stamp(store)}', {value});"
                )
    run_sql(url, "\n".join(["BEGIN;", *sql, "COMMIT;"]))


KEYS = {"subject_id", "hadm_id", "event_id"}


def _forms(value: object) -> tuple[list[str], list[float]]:
    """How a source value can stand in the model file: as text in model.json (its ISO text, its
    epoch seconds, its number) and as numbers in the arrays (seconds, days, microseconds)."""
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-":
        if len(value) == 10:
            d = dt.date.fromisoformat(value)
            seconds = (d - EPOCH.date()).total_seconds()
            return [value], [seconds, seconds / 86400]
        t = dt.datetime.fromisoformat(value)
        seconds = (t - EPOCH).total_seconds()
        return [value, value.replace(" ", "T"), repr(seconds)], [seconds, seconds * 1e6, seconds * 1e3]
    number = float(value)  # type: ignore[arg-type]
    return [repr(number), str(value)], [number]


def _found(url: str, text: str, numbers: np.ndarray) -> list[str]:
    """Each table.column whose source value (one row's) is in the model file, with how."""
    numbers = np.unique(numbers[np.isfinite(numbers)])
    out = []
    for table in ("patients", "admissions", "events"):
        rows = fetch(url, f"SELECT * FROM {table}")
        names = [r[1] for r in fetch(url, f"PRAGMA table_info({table})")]
        for i, name in enumerate(names):
            if name in KEYS:
                continue
            for value in {r[i] for r in rows if r[i] is not None}:
                strings, floats = _forms(value)
                hit = next((s for s in strings if json.dumps(s) in text or f" {s}," in text), None)
                hit = hit or next((s for s in strings if _number_in(s, text)), None)
                if hit is None and any(_close(numbers, f) for f in floats):
                    hit = "arrays"
                if hit is not None:
                    out.append(f"{table}.{name} ({hit})")
    return sorted(set(out))


def _number_in(s: str, text: str) -> bool:
    """s as a whole JSON number in the text (4422373591.702968, not part of a longer one)."""
    at = text.find(s)
    while at >= 0:
        before = text[at - 1] if at else " "
        after = text[at + len(s)] if at + len(s) < len(text) else " "
        if not (before.isdigit() or before == ".") and not (after.isdigit() or after in ".eE"):
            return True
        at = text.find(s, at + 1)
    return False


def _close(numbers: np.ndarray, f: float) -> bool:
    at = np.searchsorted(numbers, f)
    near = numbers[max(at - 1, 0) : at + 1]
    return bool(len(near)) and bool(np.any(np.abs(near - f) <= 4 * np.spacing(abs(f))))


def test_no_source_value_of_any_column_is_in_the_model_file(
    sqlite_db: Callable[[], str], tmp_path: Path
) -> None:
    source = sqlite_db()
    _hospital(source)
    model = relsynth.fit(source, seed=5)
    text, numbers = model_contents(model, tmp_path / "m.rsm")
    assert _found(source, text, numbers) == []


def test_a_native_marginal_has_a_knot_per_k_values_none_a_rows() -> None:
    """A range's lower bounds and lengths (tsrange, daterange), JSON and array numbers are learned
    as natives' quantiles: they had a knot per row under 201 rows, each a row's value."""
    from relsynth.model.marginals import MIN_SUPPORT, quantiles

    rng = np.random.default_rng(3)
    starts = np.round(4.4e9 + rng.uniform(0, 2.8e9, 120), 6)  # a stay's start, to the microsecond
    knots = np.asarray(quantiles(starts)["knots"])
    assert len(knots) <= -(-len(starts) // MIN_SUPPORT)
    assert not np.isin(knots, starts).any()
    assert starts.min() < knots.min() and knots.max() < starts.max()


def test_a_knot_a_rounding_off_a_rows_value_is_moved_off_it() -> None:
    """Interpolation put a knot one microsecond off an admission's time (5727365428145490 for its
    ...491), or at 5206.080000000001 for a charge of 5206.08: the same row's value all the same."""
    from relsynth.transform import nobodys

    x = np.array([5727365428145491.0, 5727365428999999.0, 5728000000000000.0])
    moved = nobodys(np.array([5727365428145490.0]), x, 5, 0)
    assert abs(moved[0] - x[0]) > 1000
    charges = np.array([5206.08, 5210.0, 5300.0])
    assert nobodys(np.array([5206.080000000001]), charges, 5, 2)[0] == 5208.04
