"""Defects left by earlier attack rounds (helper fx43m).

1) A MariaDB BIGINT UNSIGNED column (no key) holding values above 2^63 - 1 went into SQLite as
   NUMERIC(20, 0), which keeps such a value as a 15-digit float: 300 distinct values
   (18446744073709551001..300) became one, 1.84467440737096e+19, with exit 0 and "0 problems".
   Now it is TEXT of its digits there, said under "changed:"; PostgreSQL (numeric(20,0)) and
   MariaDB (BIGINT UNSIGNED) keep the values exactly, as before. A value past 2^63 - 1 into a
   SQLite column of a number type is refused in one line, never stored as a float.
2) DECIMAL/FLOAT/DOUBLE UNSIGNED into PostgreSQL and SQLite got no CHECK (x >= 0) and no
   "changed:" line (an INT UNSIGNED gets both); MariaDB to MariaDB, FLOAT/DOUBLE lost UNSIGNED.
3) --target-schema '' (or '  ') was taken as no option: the tables went to the default schema.
4) PostgreSQL to PostgreSQL, a partition's own row-level security (ENABLE/FORCE and its policies)
   was not recreated, with no word; the partitioned parent's was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator

import psycopg
import pytest

import relsynth
from relsynth.errors import RelsynthError
from tests.conftest import (
    MYSQL_ADMIN,
    PG_ADMIN,
    create_database,
    drop_later,
    fetch,
    new_db_name,
    run_raw,
    run_sql,
    scalar,
)

LOW, HIGH = 18446744073709551001, 18446744073709551300  # above 2^63 - 1: past any signed bigint

BIG = f"""
CREATE TABLE t (id INT PRIMARY KEY, big BIGINT UNSIGNED NOT NULL, nbig BIGINT UNSIGNED NULL,
  small BIGINT UNSIGNED NOT NULL);
INSERT INTO t SELECT seq, {LOW - 1} + seq, IF(seq MOD 4 = 0, NULL, {HIGH + 1} - seq), seq * 1000 FROM seq_1_to_300
"""

UNSIGNED = """
CREATE TABLE item (id INT PRIMARY KEY, price DECIMAL(10,2) UNSIGNED NOT NULL, ratio DOUBLE UNSIGNED NULL,
  weight FLOAT UNSIGNED NULL, qty INT UNSIGNED NOT NULL);
INSERT INTO item SELECT seq, 5 + seq MOD 100, seq / 7, seq / 3, seq MOD 9 FROM seq_1_to_300
"""

REFUSED = (sqlite3.IntegrityError, psycopg.errors.IntegrityError)


def _factory(admin: str) -> Iterator[Callable[[], str]]:
    made: list[str] = []

    def make() -> str:
        name = new_db_name("rs_fx43m")
        made.append(name)
        return create_database(admin, name)

    yield make
    for name in made:
        drop_later(admin, name)


@pytest.fixture
def my_pg(pg_server: str) -> Iterator[Callable[[], str]]:
    yield from _factory(PG_ADMIN)


@pytest.fixture
def my_mysql(mysql_server: str) -> Iterator[Callable[[], str]]:
    yield from _factory(MYSQL_ADMIN)


def _target(request: pytest.FixtureRequest, kind: str) -> str:
    if kind == "sqlite":
        return str(request.getfixturevalue("sqlite_db")())
    return str(request.getfixturevalue({"pg": "my_pg", "mysql": "my_mysql"}[kind])())


# -- 1: BIGINT UNSIGNED past 2^63 - 1 --------------------------------------------------------------
def _column(url: str, column: str) -> list[int | None]:
    return [None if v is None else int(v) for (v,) in fetch(url, f"SELECT {column} FROM t ORDER BY id")]


@pytest.mark.mysql
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("pg", marks=pytest.mark.postgresql)])
def test_bigint_unsigned_above_2_63_is_stored_exactly(
    request: pytest.FixtureRequest, my_mysql, kind: str
) -> None:
    """The same seed's rows in MariaDB (BIGINT UNSIGNED, exact) and in the other target: the same
    integers, digit for digit."""
    source, reference, target = my_mysql(), my_mysql(), _target(request, kind)
    run_sql(source, BIG)
    relsynth.synthesize(source, reference, seed=1)
    out = relsynth.synthesize(source, target, seed=1)
    assert out["write"].verification.problems == 0
    for column in ("big", "nbig", "small"):
        # before: SQLite held one value, 1.84467440737096e+19, in each row of big and nbig
        assert _column(target, column) == _column(reference, column), column
    big = [v for v in _column(reference, "big") if v is not None]
    assert len(set(big)) > 50 and min(big) > 2**63 - 1
    assert _column(reference, "nbig").count(None) > 0
    changes = list(out["write"].changes)
    if kind == "sqlite":
        assert any(c.startswith("t.big: BIGINT(20) UNSIGNED -> TEXT of its digits") for c in changes)
        assert any(c.startswith("t.nbig: BIGINT(20) UNSIGNED -> TEXT") for c in changes)
        assert not any(c.startswith("t.small: BIGINT(20) UNSIGNED -> TEXT") for c in changes)
        assert scalar(target, "SELECT typeof(small) FROM t LIMIT 1") == "integer"  # small values: a number
        with pytest.raises(REFUSED):
            run_raw(target, "INSERT INTO t (id, big, small) VALUES (9999, '-5', 1)")
    else:
        assert (
            scalar(target, "SELECT data_type FROM information_schema.columns WHERE column_name = 'big'")
            == "numeric"
        )


def test_a_value_past_2_63_into_a_numeric_sqlite_column_is_refused(tmp_path) -> None:
    """Into an existing SQLite table whose column is a number type, the value would be a float:
    refused in one line, nothing written."""
    import pandas as pd
    import sqlalchemy as sa

    from relsynth.schema import Column, SqlType, Table
    from relsynth.writer import _fits_sqlite_integers

    table = Table(
        "t",
        (Column("id", SqlType("integer")), Column("big", SqlType("bigint", native="BIGINT UNSIGNED"))),
        ("id",),
    )
    frame = pd.DataFrame({"id": [1, 2], "big": pd.Series([LOW, HIGH], dtype="uint64")})
    numeric = sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer), sa.Column("big", sa.Numeric(20, 0)))
    with pytest.raises(RelsynthError, match=r"t\.big holds integers above 2\^63 - 1"):
        _fits_sqlite_integers(table, frame, ["id", "big"], numeric)
    text = sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer), sa.Column("big", sa.Text))
    _fits_sqlite_integers(table, frame, ["id", "big"], text)  # TEXT holds the digits: written


# -- 2: DECIMAL/FLOAT/DOUBLE UNSIGNED ---------------------------------------------------------------
@pytest.mark.mysql
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("pg", marks=pytest.mark.postgresql)])
def test_decimal_and_float_unsigned_get_their_check(
    request: pytest.FixtureRequest, my_mysql, kind: str
) -> None:
    source, target = my_mysql(), _target(request, kind)
    run_sql(source, UNSIGNED)
    changes = list(relsynth.synthesize(source, target, seed=1)["write"].changes)
    for column, native in [
        ("price", "DECIMAL(10, 2)"),
        ("ratio", "DOUBLE"),
        ("weight", "FLOAT"),
        ("qty", None),
    ]:
        said = [c for c in changes if c.startswith(f"item.{column}:") and f"CHECK ({column} >= 0)" in c]
        assert said, column  # before: only qty's
        if native:
            assert (
                said[0]
                == f"item.{column}: {native} UNSIGNED -> {native} with CHECK ({column} >= 0) (no UNSIGNED)"
            )
        values = {"price": "1.50", "ratio": "1", "weight": "1", "qty": "1"}
        values[column] = "-1"
        with pytest.raises(REFUSED):
            run_raw(
                target,
                f"INSERT INTO item (id, price, ratio, weight, qty) VALUES (9999, {', '.join(values.values())})",
            )
    assert int(scalar(target, "SELECT COUNT(*) FROM item WHERE price < 0 OR ratio < 0 OR weight < 0")) == 0


@pytest.mark.mysql
def test_float_and_double_unsigned_stay_unsigned_in_mariadb(my_mysql) -> None:
    source, target = my_mysql(), my_mysql()
    run_sql(source, UNSIGNED)
    relsynth.synthesize(source, target, seed=1)
    types = dict(
        fetch(
            target,
            "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
            "AND TABLE_NAME = 'item'",
        )
    )
    # before: double and float
    assert (types["price"], types["ratio"], types["weight"]) == (
        "decimal(10,2) unsigned",
        "double unsigned",
        "float unsigned",
    )


# -- 3: --target-schema '' ------------------------------------------------------------------------
@pytest.mark.postgresql
@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_target_schema_is_refused(my_pg, name: str) -> None:
    source, target = my_pg(), my_pg()
    run_raw(source, "CREATE TABLE a (id int PRIMARY KEY)", "INSERT INTO a SELECT generate_series(1, 50)")
    with pytest.raises(RelsynthError, match=r"--target-schema .* names no schema"):
        relsynth.synthesize(source, target, target_schema=name, seed=1)
    assert (
        scalar(
            target,
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
        )
        == 0
    )


def test_an_empty_target_schema_is_refused_in_the_cli(tmp_path, demo_db) -> None:
    from click.testing import CliRunner

    from relsynth.cli import main

    target = tmp_path / "out.db"
    result = CliRunner().invoke(main, ["synthesize", demo_db, f"sqlite:///{target}", "--target-schema", ""])
    assert result.exit_code != 0
    assert "--target-schema '' names no schema" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not target.exists()


# -- 4: row-level security of partitions -------------------------------------------------------------
PARTITIONED = """
CREATE TABLE part (id int NOT NULL, tenant int NOT NULL, d date NOT NULL, PRIMARY KEY (id, d)) PARTITION BY RANGE (d);
CREATE TABLE part_2023 PARTITION OF part FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE part_2024 PARTITION OF part FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO part SELECT g, g %% 3, date '2023-01-01' + (g %% 700) FROM generate_series(1, 400) g;
ALTER TABLE part ENABLE ROW LEVEL SECURITY;
ALTER TABLE part FORCE ROW LEVEL SECURITY;
CREATE POLICY part_tenant ON part USING (tenant = 1);
ALTER TABLE part_2024 ENABLE ROW LEVEL SECURITY;
ALTER TABLE part_2024 FORCE ROW LEVEL SECURITY;
CREATE POLICY p24_tenant ON part_2024 FOR SELECT USING (tenant = 2);
CREATE POLICY p24_narrow ON part_2024 AS RESTRICTIVE FOR SELECT USING (id > 0)
"""

_SECURITY = (
    "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
    "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY 1"
)
_POLICIES = "SELECT tablename, policyname, permissive, cmd, qual FROM pg_policies ORDER BY 1, 2"


@pytest.mark.postgresql
def test_a_partitions_row_level_security_is_recreated(my_pg) -> None:
    source, target = my_pg(), my_pg()
    run_sql(source, PARTITIONED)
    out = relsynth.synthesize(source, target, seed=1)
    assert out["write"].verification.problems == 0
    # before: part_2024 (False, False) and neither of its policies
    assert fetch(target, _SECURITY) == fetch(source, _SECURITY)
    assert fetch(target, _POLICIES) == fetch(source, _POLICIES)
    assert int(scalar(target, "SELECT count(*) FROM part")) == 400


@pytest.mark.postgresql
def test_a_partitions_row_level_security_is_said_elsewhere(my_pg, sqlite_db) -> None:
    source, target = my_pg(), sqlite_db()
    run_sql(source, PARTITIONED)
    changes = list(relsynth.synthesize(source, target, seed=1)["write"].changes)
    said = [c for c in changes if c.startswith("part_2024: row-level security")]
    # before: only part's line
    assert said == [
        "part_2024: row-level security (FORCE) and its 2 policies not recreated: SQLite has no row-level "
        "security, so every row is visible to every user who may read the table"
    ]
