"""Attack round 43c on PostgreSQL features.

1. A LIST or RANGE partition key is part of the primary key (PostgreSQL requires it there):
   profiled as an identifier, it was generated afresh, no partition took a row, and the load
   failed with an internal CheckViolation. It keeps values its partitions accept.
2. A domain over a domain, and a generated column g = sp * 2: sp "fixed" g on every row, so it
   was taken for a person's code and drawn as new 4-digit codes, which the inner domain's CHECK
   (< 100) refused: all 2,000 rows dropped, "verified: 0 problems". A generated column says
   nothing of whom a row is about; a table losing most of its rows to CHECKs is a warning.
"""

from __future__ import annotations

import random

import pytest

import relsynth
from relsynth import partitions
from relsynth.schema import Column, Partitioning, SqlType, Table
from tests.conftest import fetch, run_raw, scalar


def _load(url: str, ddl: str, rows: list[tuple[object, ...]]) -> None:
    import sqlalchemy as sa

    run_raw(url, *[s for s in ddl.split(";") if s.strip()])
    engine = sa.create_engine(url)
    marks = ", ".join(f":p{i}" for i in range(len(rows[0])))
    with engine.begin() as conn:
        conn.execute(
            sa.text(f"INSERT INTO ev VALUES ({marks})"),
            [{f"p{i}": v for i, v in enumerate(row)} for row in rows],
        )
    engine.dispose()


@pytest.mark.postgresql
def test_a_list_partition_key_in_the_primary_key_keeps_its_partitions_values(pg_db) -> None:
    src, dst = pg_db(), pg_db()
    r = random.Random(1)
    _load(
        src,
        "CREATE TABLE ev (id bigint NOT NULL, region text NOT NULL, amount int NOT NULL,"
        " PRIMARY KEY (id, region)) PARTITION BY LIST (region);"
        "CREATE TABLE ev_eu PARTITION OF ev FOR VALUES IN ('eu');"
        "CREATE TABLE ev_am PARTITION OF ev FOR VALUES IN ('us', 'ca')",
        [(i, r.choice(["eu", "us", "ca"]), r.randint(1, 999)) for i in range(1, 3001)],
    )
    out = relsynth.synthesize(src, dst, seed=1)
    assert out["write"].rows["ev"] == 3000
    got = dict(fetch(dst, "SELECT region, count(*) FROM ev GROUP BY region"))
    assert set(got) == {"eu", "us", "ca"} and min(got.values()) > 800
    assert scalar(dst, "SELECT count(*) FROM ev_eu") == got["eu"]
    assert scalar(dst, "SELECT count(DISTINCT (id, region)) FROM ev") == 3000


@pytest.mark.postgresql
@pytest.mark.parametrize(
    "how, bounds, draw",
    [
        ("LIST", ["IN (1, 2)", "IN (3, 4)"], lambda r: r.randint(1, 4)),
        (
            "RANGE",
            ["FROM (1) TO (50)", "FROM (60) TO (100)"],
            lambda r: r.choice([r.randint(1, 49), r.randint(60, 99)]),
        ),
    ],
)
def test_an_integer_partition_key_in_the_primary_key_stays_within_the_bounds(
    pg_db, how, bounds, draw
) -> None:
    src, dst = pg_db(), pg_db()
    r = random.Random(2)
    parts = ";".join(f"CREATE TABLE ev_{i} PARTITION OF ev FOR VALUES {b}" for i, b in enumerate(bounds))
    _load(
        src,
        f"CREATE TABLE ev (id bigint, k int, v int NOT NULL, PRIMARY KEY (id, k)) PARTITION BY {how} (k);{parts}",
        [(i, draw(r), r.randint(1, 99)) for i in range(1, 2001)],
    )
    out = relsynth.synthesize(src, dst, seed=1)
    assert out["write"].rows["ev"] == 2000
    ks = {k for (k,) in fetch(dst, "SELECT DISTINCT k FROM ev")}
    if how == "LIST":
        assert ks == {1, 2, 3, 4}
    else:
        assert all(1 <= k < 50 or 60 <= k < 100 for k in ks) and len(ks) > 50


def _table(key: str, *bounds: str) -> Table:
    cols = (Column("id", SqlType("bigint")), Column("y", SqlType("integer")), Column("m", SqlType("integer")))
    return Table(
        "ev",
        cols,
        ("id", "y", "m"),
        partitioning=Partitioning(key, tuple((f"p{i}", b) for i, b in enumerate(bounds))),
    )


def test_partition_bounds_read_as_a_condition() -> None:
    import pandas as pd

    from relsynth.model import checks as ck

    assert partitions.bounds_check(_table("HASH (y)", "FOR VALUES WITH (modulus 2, remainder 0)")) is None
    assert partitions.bounds_check(_table("LIST (y)", "FOR VALUES IN (1)", "DEFAULT")) is None
    assert partitions.key_columns(_table("RANGE (lower(y))", "FOR VALUES FROM (1) TO (2)")) == ()
    two = _table(
        "RANGE (y, m)",
        "FOR VALUES FROM (MINVALUE, MINVALUE) TO (2021, 7)",
        "FOR VALUES FROM (2021, 7) TO (2023, 1)",
    )
    check = partitions.bounds_check(two)
    assert check is not None
    frame = pd.DataFrame({"id": [1, 2, 3, 4, 5], "y": [1990, 2021, 2021, 2022, 2023], "m": [5, 6, 7, 12, 1]})
    assert list(ck.violations(ck.parse(check.sql, "postgresql"), frame)) == [False, False, False, False, True]
    assert partitions.data_columns(two) == {"y", "m"}
    lone = Table(
        "t",
        (Column("id", SqlType("bigint")),),
        ("id",),
        partitioning=Partitioning("RANGE (id)", (("p", "FOR VALUES FROM (1) TO (9)"),)),
    )
    assert partitions.data_columns(lone) == set()  # a row's identifier, counted within the bounds


@pytest.mark.postgresql
def test_a_range_partitioned_identifier_past_the_last_bound_drops_rows_not_the_load(pg_db) -> None:
    src, dst = pg_db(), pg_db()
    _load(
        src,
        "CREATE TABLE ev (id bigint PRIMARY KEY, v int NOT NULL) PARTITION BY RANGE (id);"
        "CREATE TABLE ev_a PARTITION OF ev FOR VALUES FROM (1) TO (1000);"
        "CREATE TABLE ev_b PARTITION OF ev FOR VALUES FROM (1000) TO (1600)",
        [(i, i % 7) for i in range(1, 1501)],
    )
    out = relsynth.synthesize(src, dst, seed=1, scale=2)
    assert out["write"].rows["ev"] == 1599  # every id the partitions take
    assert scalar(dst, "SELECT max(id) FROM ev") == 1599


@pytest.mark.postgresql
def test_a_generated_column_over_a_domain_over_a_domain_keeps_every_row(pg_db) -> None:
    src, dst = pg_db(), pg_db()
    r = random.Random(7)
    run_raw(
        src,
        "CREATE DOMAIN pos AS int CHECK (VALUE > 0)",
        "CREATE DOMAIN small_pos AS pos CHECK (VALUE < 100)",
        "CREATE TABLE t (id int PRIMARY KEY, sp small_pos NOT NULL, g int GENERATED ALWAYS AS (sp * 2) STORED)",
        "INSERT INTO t (id, sp) VALUES " + ", ".join(f"({i}, {r.randint(1, 99)})" for i in range(1, 2001)),
    )
    out = relsynth.synthesize(src, dst, seed=1)
    assert out["write"].rows["t"] == 2000 and not out["write"].warnings()
    low, high, wrong = fetch(dst, "SELECT min(sp), max(sp), count(*) FILTER (WHERE g <> sp * 2) FROM t")[0]
    assert low >= 1 and high <= 99 and wrong == 0
    assert scalar(dst, "SELECT count(DISTINCT sp) FROM t") > 50  # drawn as the source's, not codes


def test_a_domain_over_a_domain_holds_both_checks() -> None:
    from relsynth.ddl import domain_checks
    from relsynth.schema import Domain, Schema

    table = Table("t", (Column("sp", SqlType("integer", type_name="small_pos")),))
    schema = Schema(
        (table,),
        "postgresql",
        domains=(
            Domain("pos", SqlType("other", native="integer"), checks=("VALUE > 0",)),
            Domain("small_pos", SqlType("other", native="pos"), checks=("VALUE < 100",)),
        ),
    )
    assert domain_checks(schema, table) == [("sp", '"sp" < 100'), ("sp", '"sp" > 0')]


def test_a_table_that_loses_most_rows_to_a_check_is_a_warning(sqlite_db, tmp_path) -> None:
    import sqlite3

    from click.testing import CliRunner

    from relsynth.cli import main

    src = tmp_path / "w.db"
    with sqlite3.connect(src) as c:
        c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY CHECK (id % 1000 = 7), v INTEGER NOT NULL)")
        c.executemany("INSERT INTO t VALUES (?, ?)", [(i * 1000 + 7, i % 13) for i in range(300)])
    dst = sqlite_db()
    got = CliRunner().invoke(
        main, ["synthesize", f"sqlite:///{src}", dst, "--seed", "1", "--no-report", "-q"]
    )
    assert got.exit_code == 0, got.output
    assert "WARNING: t: 299 of its 300 rows dropped" in got.output
    assert "t: 299 rows dropped" not in got.output  # said once, as the warning


@pytest.mark.parametrize(
    "args",
    [
        ["evaluate", "sqlite:///a.db", "sqlite:///b.db", "--no-report"],
        ["fit", "--bogus"],
        ["sample"],  # a missing argument
        ["synthesize", "sqlite:///a.db", "sqlite:///b.db", "--scale", "many"],
    ],
)
def test_a_usage_error_is_failed_with_exit_code_1(args: list[str]) -> None:
    """The README: a FAILED line is exit code 1; 2 is a bug in relsynth (an unknown option was 2)."""
    from click.testing import CliRunner

    from relsynth.cli import main

    got = CliRunner().invoke(main, args)
    assert got.exit_code == 1
    assert got.stderr.startswith("FAILED: ") and len(got.stderr.strip().splitlines()) == 1
