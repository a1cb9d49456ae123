"""String constants in CHECKs and DEFAULTs carry their value between dialects that spell them
differently: MariaDB reads a backslash as an escape ('a\\b' is a\\b there, one backslash),
PostgreSQL's standard strings and SQLite's do not ('a\\:b' is a, backslash, colon, b), and a
PostgreSQL E'...' string has C-style escapes. Carried over as text, MariaDB's CHECK IN list lost
its a\\b level (read as two backslashes, every such row counted as breaking it) and the DEFAULTs
changed value in the target."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

import relsynth
from tests.conftest import fetch, run_raw


def _with_defaults(url: str, table: str, given: dict[str, Any], read: list[str]) -> tuple[Any, ...]:
    """The values a row takes from its DEFAULTs (inserted with ``given`` only, then rolled back)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            q = conn.dialect.identifier_preparer.quote
            names = ", ".join(q(c) for c in given)
            marks = ", ".join(f":{c}" for c in given)
            trans = conn.begin()
            conn.execute(sa.text(f"INSERT INTO {q(table)} ({names}) VALUES ({marks})"), given)
            where = " AND ".join(f"{q(c)} = :{c}" for c in given)
            row = conn.execute(
                sa.text(
                    f"SELECT {', '.join(q(c) for c in read)} FROM {q(table)} WHERE {where} AND id = "
                    f"(SELECT max(id) FROM {q(table)} WHERE {where})"
                ),
                given,
            ).one()
            trans.rollback()
            return tuple(row)
    finally:
        engine.dispose()


def _accepts(url: str, table: str, row: dict[str, Any]) -> bool:
    """Whether the table's CHECKs take the row (inserted, then rolled back)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            q = conn.dialect.identifier_preparer.quote
            trans = conn.begin()
            try:
                conn.execute(
                    sa.text(
                        f"INSERT INTO {q(table)} ({', '.join(q(c) for c in row)}) "
                        f"VALUES ({', '.join(':' + c for c in row)})"
                    ),
                    row,
                )
            except sa.exc.DBAPIError:
                return False
            finally:
                trans.rollback()
            return True
    finally:
        engine.dispose()


def _levels(url: str, table: str, column: str) -> set[Any]:
    q = '"' if not url.startswith("mysql") else "`"
    return {r[0] for r in fetch(url, f"SELECT DISTINCT {q}{column}{q} FROM {q}{table}{q}")}


MARIADB_SOURCE = [
    # MariaDB's text: 'a\\b' is a\b; 'line1\nline2\\z' holds a newline and one backslash.
    "CREATE TABLE p (id INT AUTO_INCREMENT PRIMARY KEY,"
    " k VARCHAR(10) NOT NULL CHECK (k IN ('a\\\\b', 'c''d', 'e%f', 'g:h')),"
    " s VARCHAR(20) NOT NULL DEFAULT 'x\\\\y',"
    " nl VARCHAR(40) DEFAULT 'line1\\nline2\\\\z',"
    " t VARCHAR(40) DEFAULT 'it\\'s \\t a :b %s \\\\:c',"
    " CONSTRAINT ck_s CHECK (s <> 'b\\\\ad'))",
    "INSERT INTO p (k, s) SELECT elt(1 + seq % 4, 'a\\\\b', 'c''d', 'e%f', 'g:h'),"
    " elt(1 + seq % 3, 'x\\\\y', 'ok', 'q:r') FROM seq_1_to_400",
]
# Values around the constants: each must be taken or refused by the target as by the source.
MARIADB_ROWS = [
    {"k": k, "s": s}
    for k, s in [
        ("a\\b", "ok"),
        ("a\\\\b", "ok"),
        ("ab", "ok"),
        ("a\bb", "ok"),
        ("c'd", "ok"),
        ("e%f", "ok"),
        ("g:h", "ok"),
        ("g:h", "b\\ad"),
        ("g:h", "b\\\\ad"),
        ("g:h", "bad"),
    ]
]


@pytest.mark.mysql
@pytest.mark.parametrize("target_kind", [pytest.param("pg", marks=pytest.mark.postgresql), "sqlite"])
def test_mariadb_backslash_literals_to_other_dialects(
    target_kind: str, mysql_db: Callable[[], str], request: pytest.FixtureRequest
) -> None:
    source = mysql_db()
    target = request.getfixturevalue(f"{target_kind}_db")()
    run_raw(source, *MARIADB_SOURCE)
    assert _levels(source, "p", "k") == {"a\\b", "c'd", "e%f", "g:h"}  # the source holds one backslash

    relsynth.synthesize(source, target, seed=0)

    assert _levels(target, "p", "k") == _levels(source, "p", "k")  # a\b (a quarter of the rows) kept
    assert _levels(target, "p", "s") == _levels(source, "p", "s")
    given, read = {"k": "c'd"}, ["s", "nl", "t"]
    made = _with_defaults(source, "p", given, read)
    assert made == ("x\\y", "line1\nline2\\z", "it's \t a :b %s \\:c")
    assert _with_defaults(target, "p", given, read) == made
    for row in MARIADB_ROWS:
        assert _accepts(target, "p", row) == _accepts(source, "p", row), row


PG_SOURCE = [
    # Standard strings: a backslash is itself; E'x\\ y' holds one backslash.
    "CREATE TABLE t (id serial PRIMARY KEY, s text DEFAULT 'a\\:b %s', u text DEFAULT E'x\\\\ y',"
    " w varchar(20) DEFAULT E'tab\\there', k text NOT NULL CHECK (k IN ('p\\q', 'r', 'it''s')), n int)",
    "INSERT INTO t (k, n) SELECT (ARRAY['p\\q', 'r', 'it''s'])[1 + g % 3], g % 7 FROM generate_series(1, 300) g",
]


@pytest.mark.postgresql
@pytest.mark.mysql
def test_postgresql_backslash_literals_to_mariadb(
    pg_db: Callable[[], str], mysql_db: Callable[[], str]
) -> None:
    source, target = pg_db(), mysql_db()
    run_raw(source, *PG_SOURCE)

    relsynth.synthesize(source, target, seed=0)

    assert _levels(target, "t", "k") == _levels(source, "t", "k") == {"p\\q", "r", "it's"}
    given, read = {"k": "r", "n": 1}, ["s", "u", "w"]
    made = _with_defaults(source, "t", given, read)
    assert made == ("a\\:b %s", "x\\ y", "tab\there")
    assert _with_defaults(target, "t", given, read) == made
    for k in ["p\\q", "p\\\\q", "pq", "p\tq", "r", "it's", "its"]:
        assert _accepts(target, "t", {"k": k, "n": 1}) == _accepts(source, "t", {"k": k, "n": 1}), k


@pytest.mark.mysql
def test_sqlite_backslash_literals_to_mariadb(
    sqlite_db: Callable[[], str], mysql_db: Callable[[], str]
) -> None:
    """SQLite has no backslash escapes either: its 'a\\nb' is a, backslash, n, b in MariaDB too."""
    import sqlite3

    source, target = sqlite_db(), mysql_db()
    con = sqlite3.connect(source.removeprefix("sqlite:///"))
    con.executescript(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT DEFAULT 'a\\nb', v VARCHAR(10) DEFAULT 'c\\\\d',"
        " k VARCHAR(10) NOT NULL CHECK (k IN ('p\\q', 'r')), n INT);"
        "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 200)"
        " INSERT INTO t (k, n) SELECT CASE i % 2 WHEN 0 THEN 'p\\q' ELSE 'r' END, i % 5 FROM g;"
    )
    con.commit()
    con.close()

    relsynth.synthesize(source, target, seed=0)

    assert _levels(target, "t", "k") == _levels(source, "t", "k") == {"p\\q", "r"}
    given, read = {"k": "r", "n": 1}, ["s", "v"]
    made = _with_defaults(source, "t", given, read)
    assert made == ("a\\nb", "c\\\\d")
    assert _with_defaults(target, "t", given, read) == made
    for k in ["p\\q", "p\\\\q", "pq", "r"]:
        assert _accepts(target, "t", {"k": k, "n": 1}) == _accepts(source, "t", {"k": k, "n": 1}), k


# -- without a server: the reading of a literal, and the dialect a schema's tables are read in -----
@pytest.mark.parametrize(
    ("sql", "dialect", "values"),
    [
        (r"`k` in ('a\\b','c''d','e%f')", "mysql", ("a\\b", "c'd", "e%f")),
        (r"`k` in ('a\'b','\n\t\Z\0','\%\_\q')", "mysql", ("a'b", "\n\t\x1a\0", "\\%\\_q")),
        (r"k IN ('a\\b', 'a\:b')", "postgresql", ("a\\\\b", "a\\:b")),
        (
            r"k IN (E'x\\ y', e'\t\101\x41\u00e9', E'it''s', E'it\'s')",
            "postgresql",
            ("x\\ y", "\tAAé", "it's", "it's"),
        ),
        (r"k IN ('a\\b', 'a\nb')", "sqlite", ("a\\\\b", "a\\nb")),
    ],
)
def test_check_constants_are_the_values_the_source_holds(
    sql: str, dialect: str, values: tuple[str, ...]
) -> None:
    from relsynth.model import checks as ck

    node = ck.parse(sql, dialect)
    assert node.values == values


def test_a_mysql_string_ending_in_an_escaped_quote_is_one_constant() -> None:
    from relsynth.model import checks as ck

    node = ck.parse(r"`a` = 'x\'' OR `b` = 'y'", "mysql")
    assert node.items[0].right.value == "x'" and node.items[1].right.value == "y"


def test_tables_read_their_sql_in_the_schema_dialect() -> None:
    from relsynth.schema import Check, Column, Schema, SqlType, Table

    table = Table("p", (Column("k", SqlType("string")),), checks=(Check(None, r"`k` in ('a\\b')"),))
    schema = Schema((table,), dialect="mysql")
    assert schema.tables[0].sql_dialect == "mysql"
    assert schema.tables[0] == table  # the dialect is the schema's: no part of the table's identity
    assert "sql_dialect" not in schema.to_json()
    assert Schema.from_json(schema.to_json()).tables[0].sql_dialect == "mysql"
