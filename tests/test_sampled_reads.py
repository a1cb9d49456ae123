"""A large source is learned from a sample of root rows and their descendants, read by key
(read._fetch_in), then guarded by a pass over every row (read.stream_rows). On PostgreSQL both go
through the driver's own cursor, and keys go as one array parameter where its comparison is the
column's (integers, varchar): attacked here with the names and key types where that could go
wrong, on every database. The rows read must be exactly the rows whose parent was sampled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import relsynth
from relsynth.graph import plan as make_plan
from relsynth.io import connect
from relsynth.read import read_tables
from relsynth.reflection import reflect_connection
from tests.conftest import EVERY_DATABASE

KEY_TYPES = {
    "int": (sa.Integer, lambda i: i),
    "varchar": (sa.String(12), lambda i: f"k-{i:05d}"),
    "char": (sa.CHAR(10), lambda i: f"c{i:04d}"),  # padded to 10: read back with its blanks
}


def _load(url: str, key: str) -> None:
    kind, spell = KEY_TYPES[key]
    rng = np.random.default_rng(3)
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    parent = sa.Table(
        "owner",
        meta,
        sa.Column("id", kind, primary_key=True),
        sa.Column("ward", sa.String(8), nullable=False),
    )
    child = sa.Table(
        "visit%s",  # a '%' in a name: SQLAlchemy doubles it for psycopg's parameter style
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner_id", kind, sa.ForeignKey("owner.id"), nullable=False),
        sa.Column("cost", sa.Numeric(10, 2), nullable=False),
        sa.Column("note", sa.String(60)),
    )
    meta.create_all(engine)
    owners = [{"id": spell(i), "ward": f"W{i % 9}"} for i in range(1, 1_201)]
    visits = [
        {
            "id": j + 1,
            "owner_id": spell(int(o)),
            "cost": round(float(c), 2),
            "note": f"seen {j} times by ward {int(o) % 9}",
        }
        for j, (o, c) in enumerate(
            zip(rng.integers(1, 1_201, 5_000), rng.gamma(2.0, 40.0, 5_000), strict=True)
        )
    ]
    with engine.begin() as conn:
        conn.execute(parent.insert(), owners)
        conn.execute(child.insert(), visits)
    engine.dispose()


@pytest.mark.parametrize("key", sorted(KEY_TYPES))
@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_sample_reads_every_child_of_its_parents_and_no_other(
    db: str, key: str, request: pytest.FixtureRequest
) -> None:
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    url = make()
    _load(url, key)
    with connect(url, read_only=True) as conn:
        schema = reflect_connection(conn)
        plan = make_plan(schema)
        result = read_tables(conn, schema, plan, sample_rows=300, seed=0)
    owners, visits = result.frames["owner"], result.frames["visit%s"]
    assert len(owners) == 300
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        every = pd.read_sql_table("visit%s", conn)
    engine.dispose()
    # CHAR(n) as SQL compares it: PostgreSQL returns its blanks to pandas, relsynth does not
    sampled = {v.rstrip(" ") if isinstance(v, str) else v for v in owners["id"]}
    owner_ids = every["owner_id"].map(lambda v: v.rstrip(" ") if isinstance(v, str) else v)
    expected = every[owner_ids.isin(sampled)].sort_values("id")
    assert len(visits) == len(expected) > 1_000
    assert visits.sort_values("id")["id"].tolist() == expected["id"].tolist()


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_sampled_fit_is_guarded_by_every_row_of_a_percent_named_table(
    db: str, request: pytest.FixtureRequest
) -> None:
    """The guards' pass reads every row through the driver's cursor: a '%' in a table's name
    (doubled by SQLAlchemy for psycopg) stopped it with 'relation "visit%%s" does not exist'."""
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    url = make()
    _load(url, "int")
    model = relsynth.fit(url, seed=0, sample_rows=300)
    assert model.guarded
    guard = model.tables["visit%s"].column("note").guard
    assert guard is not None
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        notes = pd.read_sql_table("visit%s", conn)["note"]
    engine.dispose()
    assert guard.copies(notes.to_numpy(dtype=object)).all()  # every row's note, not the sample's


def _parent_and_children(url: str, parent_key: Any, child_key: Any, keys: list[Any]) -> None:
    """p(k) with 2,000 rows, c(pk -> p.k) with three children each."""
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    parent = sa.Table("p", meta, sa.Column("k", parent_key, primary_key=True), sa.Column("v", sa.Integer))
    child = sa.Table(
        "c",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pk", child_key, sa.ForeignKey("p.k"), nullable=False),
        sa.Column("x", sa.Integer),
    )
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(parent.insert(), [{"k": k, "v": i % 7} for i, k in enumerate(keys)])
        conn.execute(
            child.insert(),
            [{"id": j + 1, "pk": keys[j % len(keys)], "x": j % 5} for j in range(3 * len(keys))],
        )
    engine.dispose()


@pytest.mark.parametrize("db", [p for p in EVERY_DATABASE if p.values[0] != "sqlite"])  # SQLite: REAL
def test_numeric_keys_past_64_bits_are_read_by_key(db: str, request: pytest.FixtureRequest) -> None:
    """A NUMERIC(20,0) key beyond 2**64 (a BIGINT UNSIGNED's copy, a snowflake id): the keys of
    the sampled parents went to PostgreSQL as IN (...::INTEGER) and the read stopped with
    'integer out of range'."""
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    url = make()
    keys = [2 * 10**19 - i if i % 2 else i for i in range(1, 2_001)]  # past 2**64, and small ones
    _parent_and_children(url, sa.Numeric(20, 0), sa.Numeric(20, 0), keys)
    with connect(url, read_only=True) as conn:
        schema = reflect_connection(conn)
        result = read_tables(conn, schema, make_plan(schema), sample_rows=400, seed=0)
    owners, rows = result.frames["p"], result.frames["c"]
    assert len(owners) == 400
    assert len(rows) == 3 * 400  # every child of every sampled parent
    assert {int(v) for v in rows["pk"]} == {int(v) for v in owners["k"]}


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_char_keys_match_their_varchar_children_as_sql_does(db: str, request: pytest.FixtureRequest) -> None:
    """A CHAR(6) key with VARCHAR children ('k1' in the child, 'k1    ' as PostgreSQL returns the
    parent's): SQL calls them equal, and relsynth read none of a sampled parent's children and
    matched none in memory (attack round 18)."""
    from relsynth.model.fit import positions

    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    url = make()
    _parent_and_children(url, sa.CHAR(6), sa.String(6), [f"k{i}" for i in range(1, 2_001)])
    with connect(url, read_only=True) as conn:
        schema = reflect_connection(conn)
        sampled = read_tables(conn, schema, make_plan(schema), sample_rows=400, seed=0)
        whole = read_tables(conn, schema, make_plan(schema))
    assert len(sampled.frames["c"]) == 3 * 400
    rows, owners = whole.frames["c"], whole.frames["p"]
    assert (positions(rows, ("pk",), owners, ("k",)) >= 0).all()


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_thousands_of_composite_keys_are_read_in_lists_a_server_takes(
    db: str, request: pytest.FixtureRequest
) -> None:
    """8,500 sampled (a, b) parents: one IN list of them all was 'statement too complex' on
    PostgreSQL (54001), an internal error in evaluate and at the end of synthesize."""
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    url = make()
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    parent = sa.Table(
        "p", meta, sa.Column("a", sa.Integer, primary_key=True), sa.Column("b", sa.Integer, primary_key=True)
    )
    child = sa.Table(
        "c",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("a", sa.Integer, nullable=False),
        sa.Column("b", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(["a", "b"], ["p.a", "p.b"]),
    )
    meta.create_all(engine)
    pairs = [(i // 10, i % 10) for i in range(9_000)]
    with engine.begin() as conn:
        conn.execute(parent.insert(), [{"a": a, "b": b} for a, b in pairs])
        conn.execute(child.insert(), [{"id": i + 1, "a": a, "b": b} for i, (a, b) in enumerate(pairs)])
    engine.dispose()
    with connect(url, read_only=True) as conn:
        schema = reflect_connection(conn)
        result = read_tables(conn, schema, make_plan(schema), sample_rows=8_500, seed=0)
    assert len(result.frames["p"]) == 8_500 and len(result.frames["c"]) == 8_500


@pytest.mark.parametrize("db", [p for p in EVERY_DATABASE if p.values[0] != "sqlite"])  # no CHAR blanks
def test_a_check_listing_a_padded_char_literal_keeps_its_value(
    db: str, request: pytest.FixtureRequest
) -> None:
    """CHECK (grade IN ('A  ', 'B')) on a CHAR(3): the database reads 'A' as 'A  '. relsynth took
    the 'A' it reads for a value outside the list and replaced every one with 'B' (attack
    round 19, PostgreSQL and MariaDB)."""
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    url, target = make(), make()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE t (id INTEGER PRIMARY KEY, grade CHAR(3) NOT NULL "
                "CHECK (grade IN ('A  ', 'B')), x INTEGER)"
            )
        )
        conn.execute(
            sa.text("INSERT INTO t VALUES (:i, :g, :x)"),
            [{"i": i, "g": "A" if i % 2 else "B", "x": i % 17} for i in range(1, 2_001)],
        )
    engine.dispose()
    relsynth.synthesize(url, target, seed=0)
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        grades = pd.read_sql_table("t", conn)["grade"].str.rstrip(" ").value_counts()
    engine.dispose()
    assert set(grades.index) == {"A", "B"} and grades.min() > 800
