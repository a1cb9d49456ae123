"""A text column inside a composite primary key that repeats is a label, not an identifier: the
`employees` sample database's titles(emp_no, title, from_date) had its 7 job titles replaced by
1,001 codes K00000001... (fresh-context attack round). The key stays unique, titles stay titles."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

import relsynth
from tests.conftest import EVERY_DATABASE, run_sql

TITLES = (
    "Staff",
    "Senior Staff",
    "Engineer",
    "Senior Engineer",
    "Assistant Engineer",
    "Technique Leader",
    "Manager",
)


def _load(url: str) -> None:
    run_sql(
        url,
        "CREATE TABLE employees (emp_no INT PRIMARY KEY, hire_date DATE NOT NULL);\n"
        "CREATE TABLE titles (emp_no INT NOT NULL REFERENCES employees (emp_no), title VARCHAR(50) NOT NULL, "
        "from_date DATE NOT NULL, to_date DATE NOT NULL, PRIMARY KEY (emp_no, title, from_date));",
    )
    import datetime as dt

    emps, titles = [], []
    for e in range(1, 501):
        hire = dt.date(1985, 1, 1) + dt.timedelta(days=e * 37 % 5000)
        emps.append({"e": e, "h": hire})
        n = 1 + e % 3
        for k in range(1, n + 1):
            start = hire + dt.timedelta(days=(k - 1) * 900)
            end = dt.date(9999, 1, 1) if k == n else hire + dt.timedelta(days=k * 900)
            titles.append({"e": e, "t": TITLES[(e * k) % 7], "f": start, "to": end})
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO employees VALUES (:e, :h)"), emps)
            conn.execute(sa.text("INSERT INTO titles VALUES (:e, :t, :f, :to)"), titles)
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", EVERY_DATABASE)
def test_a_title_in_the_key_stays_a_title(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    make = request.getfixturevalue(f"{kind}_db")
    source, target = make(), make()
    _load(source)
    out = relsynth.synthesize(source, target, seed=1)
    assert out["write"].verification.problems == 0
    engine = sa.create_engine(target)
    try:
        with engine.connect() as conn:
            titles = {r[0] for r in conn.execute(sa.text("SELECT DISTINCT title FROM titles"))}
            rows = conn.execute(sa.text("SELECT count(*) FROM titles")).scalar()
            overlaps = conn.execute(
                sa.text(
                    "SELECT count(*) FROM titles a JOIN titles b ON a.emp_no = b.emp_no "
                    "AND a.from_date < b.from_date AND b.from_date < a.to_date"
                )
            ).scalar()
    finally:
        engine.dispose()
    assert titles <= set(TITLES) and len(titles) >= 5
    assert rows >= 900  # the source has 1,000: the key's uniqueness drops few if any
    assert overlaps == 0


def test_a_unique_pair_of_data_columns_keeps_its_rows(tmp_path: Path) -> None:
    """slot(batch_no, pos) UNIQUE, no foreign key: drawn independently, 578 of 1,500 rows repeated
    a pair and were dropped, "more children than distinct partners" in a table with no children
    (fresh-context attack round). A repeated row takes another sampled pos free in its batch."""
    import sqlite3

    path = tmp_path / "uq.db"
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE slot (id INTEGER PRIMARY KEY, batch_no INTEGER NOT NULL, pos INTEGER NOT NULL, "
        "weight REAL NOT NULL, UNIQUE (batch_no, pos));"
    )
    con.executemany(
        "INSERT INTO slot (batch_no, pos, weight) VALUES (?, ?, ?)",
        [(i // 10, i % 10, (i * 7919 % 1000) / 10) for i in range(1500)],
    )
    con.commit()
    con.close()
    out = relsynth.synthesize(f"sqlite:///{path}", f"sqlite:///{tmp_path / 'out.db'}", seed=0)
    assert out["write"].verification.problems == 0
    assert out["write"].rows["slot"] >= 1400
    assert out["report"].dropped_duplicates.get("slot", 0) < 100
