"""Attack round 13, schema fidelity: "the same schema" in the target, or a "changed:" line.

- SQLite: STRICT and WITHOUT ROWID were dropped and VIRTUAL generated columns became STORED (and
  two generated columns on one line, or the short ``x AS (expr)`` form, lost their expression).
- MariaDB: VIRTUAL generated columns became STORED; under --replace, named CHECK and FOREIGN KEY
  constraints came back as CONSTRAINT_1 and employees_ibfk_1 (the old tables held the names).
- PostgreSQL: a DEFAULT nextval('extra_seq') of a free-standing sequence (START 1000) became an
  identity numbered from 1, the sequence gone, and the summary silent.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

import relsynth
from relsynth.ddl import build
from relsynth.schema import Schema
from tests.conftest import fetch, run_sql, scalar


@pytest.fixture
def sqlite_strict_source(request: pytest.FixtureRequest) -> tuple[str, str]:
    make = request.getfixturevalue("sqlite_db")
    source, target = make(), make()
    rows = [
        "CREATE TABLE ward (code TEXT PRIMARY KEY, beds INTEGER NOT NULL CHECK (beds > 0)) STRICT, WITHOUT ROWID;",
        "CREATE TABLE stay (id INTEGER PRIMARY KEY, ward TEXT NOT NULL REFERENCES ward(code), cost REAL NOT NULL,"
        " tag ANY, twice REAL GENERATED ALWAYS AS (cost * 2) VIRTUAL, thrice REAL AS (cost * 3) STORED,"
        " plus1 REAL AS (cost + 1), plus2 REAL GENERATED ALWAYS AS (cost + 2) VIRTUAL) STRICT;",
    ]
    rows += [f"INSERT INTO ward VALUES ('W{i:03d}', {5 + i % 30});" for i in range(30)]
    rows += [
        f"INSERT INTO stay (id, ward, cost, tag) VALUES ({i}, 'W{i % 30:03d}', {100 + i * 1.5}, "
        f"{i if i % 2 else repr('t' + str(i % 7))});"
        for i in range(1, 601)
    ]
    run_sql(source, "\n".join(rows))
    return source, target


def _hidden(url: str, table: str) -> dict[str, int]:
    """SQLite's table_xinfo 'hidden': 2 for a VIRTUAL generated column, 3 for a STORED one."""
    return {
        name: int(hidden)
        for name, hidden in fetch(url, f"SELECT name, hidden FROM pragma_table_xinfo('{table}')")
    }


def test_sqlite_strict_without_rowid_and_virtual_columns_are_kept(
    sqlite_strict_source: tuple[str, str],
) -> None:
    source, target = sqlite_strict_source
    out = relsynth.synthesize(source, target, seed=3)
    assert scalar(target, "SELECT COUNT(*) FROM stay") == 600
    for table in ("ward", "stay"):
        assert fetch(target, f"SELECT strict, wr FROM pragma_table_list('{table}')") == fetch(
            source, f"SELECT strict, wr FROM pragma_table_list('{table}')"
        )  # STRICT, WITHOUT ROWID (dropped before)
    assert _hidden(target, "stay") == _hidden(source, "stay")  # VIRTUAL stays VIRTUAL (STORED before)
    assert scalar(target, "SELECT COUNT(*) FROM stay WHERE twice <> cost * 2 OR plus1 <> cost + 1") == 0
    assert not any("generated" in line or "STRICT" in line for line in out["write"].changes)


def test_sqlite_generated_expressions_are_read_whole() -> None:
    from relsynth.reflection import _generated_expressions

    sql = (
        'CREATE TABLE t (a INT PRIMARY KEY, b INT GENERATED ALWAYS AS (a * 2) VIRTUAL, "c,d" TEXT AS '
        "(upper('x)(' || a)) STORED, e INT CHECK (e > 0), f AS ((1) + a), CHECK (a > 0)) STRICT"
    )
    assert _generated_expressions(sql) == {"b": "a * 2", "c,d": "upper('x)(' || a)", "f": "(1) + a"}


def test_a_without_rowid_integer_key_is_not_numbered_by_sqlite(sqlite_strict_source: tuple[str, str]) -> None:
    source, _ = sqlite_strict_source
    run_sql(source, "CREATE TABLE w (id INTEGER PRIMARY KEY, v TEXT) WITHOUT ROWID;")
    assert relsynth.reflect(source).table("w").column("id").identity is None  # no rowid to number it


@pytest.mark.mysql
def test_mariadb_virtual_columns_and_constraint_names_survive_replace(mysql_db) -> None:  # type: ignore[no-untyped-def]
    source, target = mysql_db(), mysql_db()
    rows = [
        "CREATE TABLE emp (emp_no INT PRIMARY KEY, birth DATE NOT NULL, hired DATE NOT NULL,"
        " first VARCHAR(14) NOT NULL, last VARCHAR(16) NOT NULL, boss INT NULL,"
        " full_name VARCHAR(40) AS (CONCAT(first, ' ', last)) VIRTUAL,"
        " hired_year INT AS (YEAR(hired)) STORED,"
        " CONSTRAINT emp_boss FOREIGN KEY (boss) REFERENCES emp (emp_no),"
        " CONSTRAINT hire_after_birth CHECK (hired > birth + INTERVAL 16 YEAR)) ENGINE=InnoDB;",
        "CREATE TABLE pay (emp_no INT NOT NULL, n INT NOT NULL, amount INT NOT NULL, PRIMARY KEY (emp_no, n),"
        " CONSTRAINT pay_emp FOREIGN KEY (emp_no) REFERENCES emp (emp_no) ON DELETE CASCADE,"
        " CONSTRAINT pay_positive CHECK (amount > 0)) ENGINE=InnoDB;",
    ]
    rows += [
        f"INSERT INTO emp (emp_no, birth, hired, first, last, boss) VALUES ({i}, '19{50 + i % 15}-0{1 + i % 9}-1{i % 9}',"
        f" '19{85 + i % 14}-0{1 + i % 9}-0{1 + i % 9}', 'F{i % 37}', 'L{i % 41}', {'NULL' if i < 10 else i // 2});"
        for i in range(1, 301)
    ]
    rows += [f"INSERT INTO pay VALUES ({1 + i % 300}, {i}, {1000 + i % 97});" for i in range(1, 601)]
    run_sql(source, "\n".join(rows))

    def constraints(url: str) -> set[tuple[str, str, str]]:
        return {
            (t, n, k)
            for t, n, k in fetch(
                url,
                "SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS "
                "WHERE CONSTRAINT_SCHEMA = DATABASE() AND CONSTRAINT_TYPE IN ('FOREIGN KEY', 'CHECK')",
            )
        }

    def generated(url: str) -> set[tuple[str, str]]:
        return set(
            fetch(
                url,
                "SELECT COLUMN_NAME, EXTRA FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'emp' AND EXTRA LIKE '%GENERATED%'",
            )
        )

    for _ in range(2):  # the second run replaces the first's tables, which hold the names meanwhile
        relsynth.synthesize(source, target, seed=3, replace=True)
        assert constraints(target) == constraints(source)  # CONSTRAINT_1, emp_ibfk_1 before
    assert generated(target) == generated(source)  # VIRTUAL GENERATED stays (STORED before)
    assert not fetch(
        target,
        "SELECT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() "
        "AND INDEX_NAME LIKE '\\_rs%'",
    )  # no temporary name left behind


def _pg_sequences_source(url: str) -> None:
    run_sql(
        url,
        """
        CREATE SEQUENCE extra_seq START 1000;
        CREATE TABLE t (id serial PRIMARY KEY, n serial, ticket bigint NOT NULL DEFAULT nextval('extra_seq'), v int NOT NULL);
        CREATE TABLE m (id serial, d date NOT NULL, v int, PRIMARY KEY (id, d)) PARTITION BY RANGE (d);
        CREATE TABLE m_2023 PARTITION OF m FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
        CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        INSERT INTO t (v) SELECT mod(g, 17) FROM generate_series(1, 500) g;
        INSERT INTO m (d, v) SELECT date '2023-01-01' + mod(g, 700), g FROM generate_series(1, 400) g;
        """,
    )


@pytest.mark.postgresql
def test_pg_sequence_defaults_keep_their_sequences(pg_db) -> None:  # type: ignore[no-untyped-def]
    source, target = pg_db(), pg_db()
    _pg_sequences_source(source)
    for _ in range(2):  # a free-standing sequence outlives --replace's DROP TABLE: used as it is
        out = relsynth.synthesize(source, target, seed=3, replace=True)
        assert not any("sequence" in line for line in out["write"].changes)
    identities = "SELECT table_name, column_name FROM information_schema.columns WHERE is_identity = 'YES'"
    assert fetch(target, identities) == []  # t.n, t.ticket and m.id were identities before
    defaults = (
        "SELECT table_name, column_name, column_default FROM information_schema.columns "
        "WHERE column_default LIKE 'nextval%' AND table_name IN ('t', 'm') ORDER BY 1, 2"
    )
    assert fetch(target, defaults) == fetch(source, defaults)
    assert scalar(target, "SELECT start_value FROM pg_sequences WHERE sequencename = 'extra_seq'") == 1000
    owners = "SELECT pg_get_serial_sequence('t', 'n'), pg_get_serial_sequence('m', 'id')"
    assert fetch(target, owners) == fetch(source, owners)  # serials stay owned by their column
    run_sql(target, "INSERT INTO t (id, v) VALUES (100000, 1);")  # the application's next row
    top = scalar(target, "SELECT MAX(ticket) FROM t WHERE id <> 100000")
    assert scalar(target, "SELECT ticket FROM t WHERE id = 100000") > top  # advanced past the data


@pytest.mark.postgresql
def test_a_nextval_default_without_its_sequence_says_what_it_became(pg_db) -> None:  # type: ignore[no-untyped-def]
    source = pg_db()
    _pg_sequences_source(source)
    schema = relsynth.reflect(source)
    older = replace(schema, sequences=())  # a schema file from before sequences were recorded
    assert Schema.from_json(schema.to_json()) == schema  # sequences and VIRTUAL round-trip
    assert Schema.from_json(older.to_json()) == older
    changes = build(older, ["t", "m"], "postgresql").changes
    assert any("t.ticket" in c and "extra_seq" in c and "identity" in c for c in changes)
    assert any("t.n" in c and "identity" in c for c in changes)
    assert not any(c.startswith("t.id") for c in changes)  # a serial key stays a serial: no change
    assert not build(schema, ["t", "m"], "postgresql").changes
