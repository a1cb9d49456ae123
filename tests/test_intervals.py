"""Intervals that never overlap per key, placed together with every other relation on their rows.

The demo hospital's admissions are intervals admitted_at..discharged_at per patient (never
overlapping, 0.5..56 days long), each within its patient's life and after its attending's hiring;
lab results, diagnoses and procedures fall within their admission. Sampled at scale 1 and 10 with
two seeds, the output must keep all of it at once: durations like the source's (not the gap to the
next admission), no overlap, no admission after the death date, children within their admission,
and every date within its column's source range. A small synthetic case pins place() itself."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from relsynth.demos import hospital

import relsynth
from relsynth.evaluation.integrity import check_integrity
from relsynth.model.exact import Windows, place
from relsynth.model.sample import SampleReport

RUNS = [(1.0, 0), (1.0, 9), (10.0, 0), (10.0, 9)]  # seed 9 at scale 10 gave discharges in 2100
SECOND = pd.Timedelta(seconds=1)
DAY = pd.Timedelta(days=1)
CHILDREN = {"lab_results": "collected_at", "diagnoses": "diagnosed_at", "procedures": "performed_at"}
DATES = {
    "admissions": ("admitted_at", "discharged_at"),
    "patients": ("birth_date", "death_date"),
    "providers": ("hired_on",),
    **{t: (c,) for t, c in CHILDREN.items()},
}


def _read(path: Path) -> dict[str, pd.DataFrame]:
    con = sqlite3.connect(path)
    try:
        return {t: pd.read_sql(f"SELECT * FROM {t}", con) for t in DATES}
    finally:
        con.close()


def _dated(t: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables holding dates, their dates as Timestamps."""
    out = {}
    for name, cols in DATES.items():
        frame = t[name].copy()
        for c in cols:
            frame[c] = pd.to_datetime(frame[c])
        out[name] = frame
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    path = hospital.build(tmp_path_factory.mktemp("intervals") / "hospital.db")
    model = relsynth.fit(f"sqlite:///{path}", seed=0)
    samples = {}
    for scale, seed in RUNS:
        report = SampleReport()
        tables = relsynth.sample(model, scale=scale, seed=seed, report=report)
        samples[(scale, seed)] = (tables, report)
    return _dated(_read(path)), model, samples


def _stays(a: pd.DataFrame) -> pd.Series:
    return (a["discharged_at"] - a["admitted_at"]).dropna()


def _overlaps(a: pd.DataFrame) -> int:
    """Admissions that start before the patient's previous one ended (a NULL end is still open)."""
    a = a.assign(end=a["discharged_at"].fillna(pd.Timestamp.max)).sort_values(["patient_id", "admitted_at"])
    same = a["patient_id"].to_numpy()[1:] == a["patient_id"].to_numpy()[:-1]
    return int((same & (a["admitted_at"].to_numpy()[1:] < a["end"].to_numpy()[:-1])).sum())


def _life(t: dict[str, pd.DataFrame]) -> dict[str, int]:
    a = t["admissions"].merge(t["patients"][["patient_id", "birth_date", "death_date"]], on="patient_id")
    return {
        "before_birth": int((a["admitted_at"] < a["birth_date"]).sum()),
        "admitted_after_death": int((a["admitted_at"] > a["death_date"]).sum()),
        "discharged_after_death_day": int((a["discharged_at"].dt.normalize() > a["death_date"]).sum()),
    }


def _outside_admission(t: dict[str, pd.DataFrame]) -> dict[str, int]:
    a = t["admissions"][["admission_id", "admitted_at", "discharged_at"]]
    out = {}
    for child, col in CHILDREN.items():
        c = t[child].merge(a, on="admission_id")
        early = c[col] < c["admitted_at"]
        late = c[col] > c["discharged_at"]  # False where the admission is still open
        out[child] = int((early | late).sum())
    return out


@pytest.mark.parametrize("run", RUNS)
def test_admissions_last_as_long_as_the_sources(demo, run) -> None:
    real, _, samples = demo
    synth = _dated(samples[run][0])
    stays = _stays(real["admissions"])
    assert stays.min() > pd.Timedelta(hours=10) and stays.max() < pd.Timedelta(days=56)
    got = _stays(synth["admissions"])
    # An admission's stay is sampled as its gap from the admission, from the source's gaps; one
    # closed or squeezed by a bound is drawn or shortened within them, never the gap to the next.
    assert got.min() >= stays.min() - SECOND
    assert got.max() <= stays.max() + SECOND
    assert abs(got.median() - stays.median()) < 0.15 * stays.median()


@pytest.mark.parametrize("run", RUNS)
def test_admissions_of_a_patient_never_overlap(demo, run) -> None:
    real, model, samples = demo
    assert _overlaps(real["admissions"]) == 0
    assert [(o.start, o.end, o.key) for o in model.tables["admissions"].no_overlap] == [
        ("admitted_at", "discharged_at", "patient_id")
    ]
    assert _overlaps(_dated(samples[run][0])["admissions"]) == 0


@pytest.mark.parametrize("run", RUNS)
def test_admissions_fall_within_the_patients_life(demo, run) -> None:
    real, _, samples = demo
    assert _life(real) == dict.fromkeys(_life(real), 0)
    assert real["patients"]["death_date"].notna().sum() >= 20
    assert _life(_dated(samples[run][0])) == dict.fromkeys(_life(real), 0)


@pytest.mark.parametrize("run", RUNS)
def test_children_fall_within_their_admission(demo, run) -> None:
    real, _, samples = demo
    assert _outside_admission(real) == dict.fromkeys(CHILDREN, 0)
    assert _outside_admission(_dated(samples[run][0])) == dict.fromkeys(CHILDREN, 0)


@pytest.mark.parametrize("run", RUNS)
def test_dates_stay_within_the_sources_range(demo, run) -> None:
    """Every date within its column's source range. What the relations force is allowed: a child
    within its admission may reach the admission's range (a lab an hour after the source's first
    admission); no other relation here forces a date out (births and hirings precede every
    admission, deaths follow the first one). A row equal to a source record by chance is moved
    one step of its column's resolution off it, which may cross the range by that step (a day
    for a DATE column, a second for a TIMESTAMP)."""
    real, _, samples = demo
    synth = _dated(samples[run][0])
    adm = real["admissions"]
    for table, cols in DATES.items():
        for col in cols:
            lo, hi = real[table][col].min(), real[table][col].max()
            if table in CHILDREN:
                lo, hi = min(lo, adm["admitted_at"].min()), max(hi, adm["discharged_at"].max())
            step = DAY if col in ("birth_date", "death_date", "hired_on") else SECOND
            values = synth[table][col].dropna()
            assert len(values), (table, col)
            assert values.min() >= lo - step, (table, col, values.min())
            assert values.max() <= hi + step, (table, col, values.max())


@pytest.mark.parametrize("run", RUNS)
def test_the_output_keeps_its_integrity_and_bends_nothing_on_the_demo(demo, run) -> None:
    _, model, samples = demo
    tables, report = samples[run]
    assert check_integrity(model.schema, tables).problems == 0
    # Every patient's admissions fit between birth and death within the source's range: nothing
    # had to be placed outside it or left breaking a bound.
    bent = report.bent_intervals.get("admissions", {})
    assert bent.get("outside", 0) == 0 and bent.get("unfit", 0) == 0


def test_a_discharge_on_the_day_of_death_is_learned_as_a_day_order(demo) -> None:
    _, model, _ = demo
    tm = model.tables["admissions"]
    assert any(
        r.column == "discharged_at" and r.op == "<=" and r.base == "death_date" and r.day for r in tm.reaches
    )


# -- place() on a few hand-made intervals --------------------------------------------------------
def _no_overlap(key: np.ndarray, s: np.ndarray, e: np.ndarray) -> bool:
    for k in np.unique(key):
        idx = np.flatnonzero(key == k)
        idx = idx[np.argsort(s[idx], kind="stable")]
        ends = np.where(np.isnan(e[idx]), np.inf, e[idx])
        if np.any(s[idx][1:] < ends[:-1]):
            return False
    return True


def test_an_earlier_open_interval_is_closed_with_a_drawn_duration() -> None:
    key = np.array([0, 0, 0, 1, 1])
    start = np.array([0.0, 100.0, 1000.0, 0.0, 5.0])
    end = np.array([np.nan, 110.0, np.nan, 10.0, 20.0])
    fill = np.array([7.0, np.nan, 9.0, np.nan, np.nan])
    p = place(key, start, end, 1.0, close=True, fill=fill, span=(5.0, 20.0))
    assert _no_overlap(key, p.start, p.end)
    assert p.end[0] - p.start[0] == 7.0  # the drawn duration, not the gap to the next one (~900)
    assert np.isnan(p.end[2]) and p.start[2] == 1000.0  # the last one stays open, where it was
    assert list(p.start[:2]) == [0.0, 100.0] and p.end[1] == 110.0  # nothing else moved
    assert list(p.end[3:] - p.start[3:]) == [10.0, 15.0]  # overlapping ones keep their durations
    assert abs(p.start[3]) + abs(p.start[4] - 5.0) <= 5.0  # moved as little as possible
    assert not p.shortened.any() and not p.outside.any() and not p.unfit.any()


def test_intervals_squeezed_by_bounds_are_shortened_within_the_span() -> None:
    key = np.zeros(3, dtype=np.int64)
    start = np.array([0.0, 10.0, 20.0])
    end = start + 10.0
    w = Windows.unbounded(3)
    w.start_lo[:] = 0.0
    w.end_hi[:] = 24.0  # 30 of durations in 24: each is shortened, never below the source's 5
    p = place(key, start, end, 1.0, span=(5.0, 10.0), windows=w)
    assert _no_overlap(key, p.start, p.end)
    assert p.start.min() >= 0.0 and p.end.max() <= 24.0
    dur = p.end - p.start
    assert dur.min() >= 5.0 and dur.sum() <= 24.0
    assert p.shortened.all() and not p.unfit.any()


def test_intervals_stay_in_their_range_unless_a_bound_forces_them_out() -> None:
    key = np.zeros(3, dtype=np.int64)
    start = np.full(3, 100.0)
    end = start + 10.0
    w = Windows.unbounded(3)
    w.start_range = (100.0, 1000.0)
    w.end_range = (100.0, 1000.0)
    p = place(key, start, end, 1.0, span=(5.0, 10.0), windows=w)
    assert _no_overlap(key, p.start, p.end) and p.start.min() >= 100.0  # not pulled back to 90
    assert list(p.end - p.start) == [10.0] * 3 and not p.outside.any()
    w.start_lo[:] = 2000.0  # a relation (a hiring after the range) forces them out: by no more
    p = place(key, start, end, 1.0, span=(5.0, 10.0), windows=w)
    assert p.start.min() == 2000.0 and _no_overlap(key, p.start, p.end)
    assert p.outside.all() and not p.unfit.any()


def test_bounds_that_cross_leave_the_lower_one_and_count_the_row() -> None:
    key = np.array([0, 0, 1])
    start = np.array([0.0, 30.0, 0.0])
    end = start + 10.0
    w = Windows.unbounded(3)
    w.start_lo[2], w.start_hi[2] = 50.0, 40.0  # hired after the death: no start satisfies both
    p = place(key, start, end, 1.0, span=(5.0, 10.0), windows=w)
    assert p.start[2] == 50.0 and p.unfit[2] and not p.unfit[:2].any()
    assert list(p.start[:2]) == [0.0, 30.0]


def test_two_open_intervals_of_a_key_kept_open_are_counted() -> None:
    """Without close (a status says the end is NULL), a key sampled with two open intervals cannot
    keep both open without overlap: one is counted, none is closed."""
    key = np.array([0, 0, 0])
    start = np.array([0.0, 50.0, 100.0])
    end = np.array([np.nan, 60.0, np.nan])
    p = place(key, start, end, 1.0, close=False, span=(5.0, 20.0))
    assert np.isnan(p.end[[0, 2]]).all() and int(p.unfit.sum()) == 1
