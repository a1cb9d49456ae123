"""Salary history as the MySQL `employees` sample database keeps it: one row per (emp_no, from_date),
the primary key, periods that never overlap, the current one ending on the sentinel 9999-01-01, all
after the hiring. A start inside the key was never moved, so the periods were neither placed (237
overlaps) nor kept unique (86 rows dropped "to keep the key unique"); now the key's start is
placed with the other end, on every database."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import sqlalchemy as sa

import relsynth
from tests.conftest import run_sql

DDL = """
CREATE TABLE employees (emp_no INT PRIMARY KEY, hire_date DATE NOT NULL, gender CHAR(1) NOT NULL);
CREATE TABLE salaries (
    emp_no INT NOT NULL REFERENCES employees (emp_no),
    salary INT NOT NULL,
    from_date DATE NOT NULL,
    to_date DATE NOT NULL,
    PRIMARY KEY (emp_no, from_date)
);
"""


def _history(seed: int = 0) -> tuple[list[tuple], list[tuple]]:
    rng = np.random.default_rng(seed)
    emps, sal = [], []
    for e in range(1, 241):
        hire = dt.date(1990, 1, 1) + dt.timedelta(days=int(rng.integers(0, 8000)))
        emps.append((e, hire, str(rng.choice(["M", "F"]))))
        start, amount = hire, int(rng.integers(40000, 60000))
        k = int(rng.integers(1, 8))
        for i in range(k):
            end = start + dt.timedelta(days=int(rng.integers(300, 400)))
            sal.append((e, amount, start, dt.date(9999, 1, 1) if i == k - 1 else end))
            start, amount = end, int(amount * rng.uniform(1.0, 1.08))
    return emps, sal


def _load(url: str) -> int:
    run_sql(url, DDL)
    emps, sal = _history()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO employees VALUES (:e, :h, :g)"),
                [{"e": e, "h": h, "g": g} for e, h, g in emps],
            )
            conn.execute(
                sa.text("INSERT INTO salaries VALUES (:e, :s, :f, :t)"),
                [{"e": e, "s": s, "f": f, "t": t} for e, s, f, t in sal],
            )
    finally:
        engine.dispose()
    return len(sal)


def _count(url: str, sql: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(sql)).scalar() or 0)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("sqlite"),
        pytest.param("pg", marks=pytest.mark.postgresql),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ],
)
def test_periods_in_the_key_are_placed_not_dropped(kind: str, request: pytest.FixtureRequest) -> None:
    make = request.getfixturevalue(f"{kind}_db")
    source, target = make(), make()
    rows = _load(source)
    out = relsynth.synthesize(source, target, seed=4)
    assert out["write"].verification.problems == 0
    assert not out["report"].dropped_duplicates.get("salaries"), out["report"].dropped_duplicates
    written = _count(target, "SELECT count(*) FROM salaries")
    assert abs(written - rows) <= 0.15 * rows  # child counts are sampled, not cut by the key
    overlaps = _count(
        target,
        "SELECT count(*) FROM salaries a JOIN salaries b ON a.emp_no = b.emp_no "
        "AND a.from_date < b.from_date AND b.from_date < a.to_date",
    )
    assert overlaps == 0
    before_hire = _count(
        target,
        "SELECT count(*) FROM salaries s JOIN employees e ON e.emp_no = s.emp_no WHERE s.from_date < e.hire_date",
    )
    assert before_hire == 0
    assert _count(target, "SELECT count(*) FROM salaries WHERE to_date < from_date") == 0
    # The current period of each employee still ends on the sentinel, and only that one.
    open_ = _count(target, "SELECT count(*) FROM salaries WHERE to_date = '9999-01-01'")
    people = _count(target, "SELECT count(DISTINCT emp_no) FROM salaries")
    assert open_ <= people and open_ >= 0.8 * people


def test_a_sentinel_is_a_far_common_extreme_only() -> None:
    from relsynth.model.sentinels import _sentinel

    day = 86400.0
    spread = np.arange(0, 4000) * day * 2  # about 22 years of dates
    far = np.r_[spread, np.full(100, 2.5e11)]  # 9892 AD, on 100 rows
    assert _sentinel(far) == 2.5e11
    assert _sentinel(np.r_[spread, np.full(100, spread[-1] + 30 * day)]) is None  # a month on: a date
    assert _sentinel(np.r_[spread, np.full(2, 2.5e11)]) is None  # two rows: someone's date
    assert _sentinel(np.r_[np.full(100, -2.2e9), spread]) == -2.2e9  # 1900-01-01 for "unknown"


def test_sentinel_survives_the_model_file(tmp_path) -> None:
    import pandas as pd

    from relsynth.frames import schema_from_frames
    from relsynth.model.spec import Model

    emps, sal = _history()
    frames = {
        "employees": pd.DataFrame(emps, columns=["emp_no", "hire_date", "gender"]),
        "salaries": pd.DataFrame(sal, columns=["emp_no", "salary", "from_date", "to_date"]),
    }
    schema = schema_from_frames(
        frames,
        primary_keys={"employees": ["emp_no"], "salaries": ["emp_no", "from_date"]},
        foreign_keys=[("salaries", ["emp_no"], "employees", ["emp_no"])],
    )
    model = relsynth.fit(frames, schema=schema, seed=0)
    assert model.tables["salaries"].column("to_date").sentinel == dt.date(9999, 1, 1)
    assert model.tables["salaries"].no_overlap and model.tables["salaries"].no_overlap[0].last_open == 1.0
    model.save(tmp_path / "m.rsm")
    loaded = Model.load(tmp_path / "m.rsm")
    out = relsynth.sample(loaded, seed=1)["salaries"]
    ends = out["to_date"]
    assert ends.notna().all()
    assert (ends == dt.date(9999, 1, 1)).sum() == out["emp_no"].nunique()
