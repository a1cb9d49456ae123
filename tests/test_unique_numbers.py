"""UNIQUE columns of numbers that are measures (a price, a weight, a score): drawn from their
distribution with repeats spread on the column's grid, not generated as identifier shapes, which
lost their range (prices of 0-29.99 came back up to 99.99), collided as 4-byte floats, and at
--scale 10 dropped rows for want of distinct values. On SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import relsynth
from relsynth.model.unique import spread_unique
from relsynth.profile import UNIQUE_NUMBER_REASON, infer_kind
from relsynth.schema import Column, Kind, SqlType, Table, Unique
from tests.conftest import EVERY_DATABASE, fetch, run_sql, scalar

REAL4 = {"sqlite": "REAL", "pg": "REAL", "mysql": "FLOAT"}


def _measures(db: str) -> str:
    """3,000 rows: every cent of 0-29.99 once (dense), 4-byte floats within 0.03 of 50 (neighbours
    a float's step apart), scores of 100,000-199,999."""
    rng = np.random.default_rng(5)
    price = rng.permutation(3000) / 100
    weight = np.unique(rng.normal(50, 0.01, 6000).astype(np.float32))
    weight = rng.permutation(weight)[:3000]
    score = rng.choice(np.arange(100_000, 200_000), 3000, replace=False)
    rows = ", ".join(f"({i}, {price[i]:.2f}, {float(weight[i])!r}, {score[i]})" for i in range(3000))
    return (
        f"CREATE TABLE m (id INTEGER PRIMARY KEY, price NUMERIC(6,2) NOT NULL UNIQUE, "
        f"w {REAL4[db]} UNIQUE, score INTEGER UNIQUE);\n"
        f"INSERT INTO m VALUES {rows};"
    )


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_unique_measures_keep_their_range_and_every_row(db: str, request) -> None:  # type: ignore[no-untyped-def]
    source, target = (request.getfixturevalue(f"{db}_db")() for _ in range(2))
    run_sql(source, _measures(db))
    low, high = fetch(source, "SELECT MIN(w), MAX(w) FROM m")[0]
    result = relsynth.synthesize(source, target, seed=1)
    assert result["write"].verification.problems == 0
    rows = pd.DataFrame(fetch(target, "SELECT price, w, score FROM m"), columns=["price", "w", "score"])
    assert len(rows) == 3000
    for col in ("price", "w", "score"):  # counted by the database: MariaDB's FLOAT reads as 6 digits
        assert scalar(target, f"SELECT COUNT(DISTINCT {col}) FROM m") == 3000
    price = rows["price"].astype(float)
    assert price.min() >= 0 and price.max() <= 29.99  # as identifier shapes: up to 99.99
    assert rows["score"].min() >= 100_000 and rows["score"].max() <= 199_999  # from 461 up to 999,902
    assert low - 0.01 <= rows["w"].min() and rows["w"].max() <= high + 0.01  # from 0.02 up to 99.99
    assert abs(price.median() - 14.995) < 1.5

    bigger = request.getfixturevalue(f"{db}_db")()
    result = relsynth.synthesize(source, bigger, seed=1, scale=4)
    assert result["write"].verification.problems == 0
    assert scalar(bigger, "SELECT COUNT(*) FROM m") == 12_000  # 8,166 of 30,000 at --scale 10
    for col in ("price", "w", "score"):
        assert scalar(bigger, f"SELECT COUNT(DISTINCT {col}) FROM m") == 12_000


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_unique_number_a_foreign_key_refers_to_stays_a_key(db: str, request) -> None:  # type: ignore[no-untyped-def]
    """rank is UNIQUE and named like no key, but entry.slot refers to it: its values are keys."""
    source, target = (request.getfixturevalue(f"{db}_db")() for _ in range(2))
    parents = ", ".join(f"({i}, {1000 + 7 * i})" for i in range(1, 301))
    children = ", ".join(f"({i}, {1000 + 7 * (1 + i % 300)})" for i in range(1, 901))
    run_sql(
        source,
        "CREATE TABLE board (id INTEGER PRIMARY KEY, rank INTEGER NOT NULL UNIQUE);\n"
        "CREATE TABLE entry (id INTEGER PRIMARY KEY, slot INTEGER NOT NULL REFERENCES board(rank));\n"
        f"INSERT INTO board VALUES {parents};\nINSERT INTO entry VALUES {children};",
    )
    model = relsynth.fit(source, seed=2)
    rank = model.schema.table("board").column("rank")
    assert rank.kind is Kind.ID and "referred to" in rank.kind_reason
    result = relsynth.synthesize(source, target, seed=2)
    assert result["write"].verification.problems == 0
    orphans = "SELECT COUNT(*) FROM entry WHERE slot NOT IN (SELECT rank FROM board)"
    assert scalar(target, orphans) == 0


@pytest.mark.parametrize(
    ("name", "sqltype", "values", "kind"),
    [
        ("price", SqlType("numeric", precision=6, scale=2), [1.5, 2.25], Kind.NUMERICAL),
        ("weight", SqlType("float"), [1.5, 2.25], Kind.NUMERICAL),
        ("amount", SqlType("numeric"), [1.5, 2.0], Kind.NUMERICAL),
        ("score", SqlType("integer"), [100, 200], Kind.NUMERICAL),
        ("customer_no", SqlType("integer"), [100, 200], Kind.ID),
        ("account_id", SqlType("bigint"), [100, 200], Kind.ID),
        ("ref", SqlType("numeric"), [100, 200], Kind.NUMERICAL),
    ],
)
def test_which_unique_numbers_are_measures(name: str, sqltype: SqlType, values: list, kind: Kind) -> None:  # type: ignore[type-arg]
    table = Table("t", (Column(name, sqltype),), unique=(Unique(None, (name,)),))
    got, why = infer_kind(table, table.columns[0], pd.Series(values * 20))
    assert got is kind
    assert (why == UNIQUE_NUMBER_REASON) == (kind is Kind.NUMERICAL)


def test_spread_moves_repeats_as_little_as_it_takes() -> None:
    ints = np.array([5, 3, 5, 5, 9, 20])
    out = spread_unique(ints, (-100, 100))
    assert out is not None and len(set(out.tolist())) == len(ints)
    assert out[1] < out[0] and out[4] > out[0] and out[5] == 20  # order kept, far values untouched
    assert sorted(out[[0, 2, 3]].tolist()) == [4, 5, 6]  # a cluster spreads both ways


def test_spread_stays_in_the_drawn_range_while_it_has_room_and_fails_without() -> None:
    rng = np.random.default_rng(0)
    dense = rng.integers(0, 1000, 1000)
    out = spread_unique(dense, (-(10**6), 10**6))
    assert out is not None and sorted(out.tolist()) == list(range(dense.min(), dense.min() + 1000))
    wide = spread_unique(np.zeros(50, dtype=np.int64), (0, 100))
    assert wide is not None and wide.min() >= 0 and len(set(wide.tolist())) == 50
    assert spread_unique(np.zeros(50, dtype=np.int64), (0, 48)) is None
