"""SQL text read from the source's catalog (a CHECK, a DEFAULT, an expression index, a generated
column, a partition bound) reaches the target as it was. Through ``sa.text`` a ``:name`` in it was a
bind parameter (``'a :b'`` became ``'a NULL'``, silently) and a ``\\:`` lost its backslash; sent
through a driver with parameters, a ``%`` is a placeholder (psycopg, pymysql). Into another dialect
a CHECK's string literals holding those survive the translation too."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

import relsynth
from tests.conftest import run_raw

# Every literal below is one text() or a %-style driver would change: ' :b' (a bind), '\:c' (an
# escaped colon), ':b' after a quote, 'x::text' (a cast inside a literal), 'A%' (a placeholder).
_PG_SOURCE = [
    r"""
    CREATE TABLE items (
        id serial PRIMARY KEY,
        s text NOT NULL DEFAULT 'a :b',
        code text NOT NULL DEFAULT 'A%',
        note text DEFAULT ':b::text'::text,
        label text GENERATED ALWAYS AS (s || ' :b %' || 'q\:c') STORED,
        CONSTRAINT s_not_b CHECK (s <> 'a :b' AND s <> 'q\:c'),
        CONSTRAINT code_like CHECK (code LIKE 'A%'),
        CONSTRAINT note_cast CHECK (note::text <> 'x::text' AND note <> ':b')
    )
    """,
    "CREATE INDEX items_expr ON items ((s || ' :b'), lower(code || '%'))",
    "INSERT INTO items (s, code, note) SELECT 'v' || (g % 7), 'A' || (g % 5), 'n' || (g % 3) "
    "FROM generate_series(1, 120) g",
]

_SQLITE_SOURCE = [
    r"""
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        s TEXT NOT NULL DEFAULT 'a :b',
        code TEXT NOT NULL DEFAULT 'A%',
        note TEXT DEFAULT ':b',
        label TEXT GENERATED ALWAYS AS (s || ' :b %' || 'q\:c') STORED,
        CONSTRAINT s_not_b CHECK (s <> 'a :b' AND s <> 'q\:c'),
        CONSTRAINT code_like CHECK (code LIKE 'A%'),
        CONSTRAINT note_b CHECK (note <> ':b')
    )
    """,
    # No expression index: SQLAlchemy does not reflect one from SQLite (it warns and skips it).
    "CREATE INDEX items_code ON items (code)",
    "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 120) "
    "INSERT INTO items (s, code, note) SELECT 'v' || (n % 7), 'A' || (n % 5), 'n' || (n % 3) FROM g",
]

# MariaDB has no expression index: a generated column's index stands for it.
_MARIADB_SOURCE = [
    """
    CREATE TABLE items (
        id INT AUTO_INCREMENT PRIMARY KEY,
        s VARCHAR(20) NOT NULL DEFAULT 'a :b',
        code VARCHAR(20) NOT NULL DEFAULT 'A%',
        note VARCHAR(20) DEFAULT ':b',
        label VARCHAR(60) GENERATED ALWAYS AS (concat(s, ' :b %')) STORED,
        CONSTRAINT s_not_b CHECK (s <> 'a :b'),
        CONSTRAINT code_like CHECK (code LIKE 'A%'),
        CONSTRAINT note_b CHECK (note <> ':b')
    )
    """,
    "CREATE INDEX items_label ON items (label)",
    "INSERT INTO items (s, code, note) SELECT concat('v', seq % 7), concat('A', seq % 5), "
    "concat('n', seq % 3) FROM seq_1_to_120",
]


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql, execution_options={"no_parameters": True})]
    finally:
        engine.dispose()


def _catalog(url: str) -> dict[str, Any]:
    """The text of items' CHECKs, DEFAULTs, generated columns and indexes as the catalog prints it."""
    engine = sa.create_engine(url)
    kind = engine.dialect.name
    engine.dispose()
    if kind == "postgresql":
        checks = _rows(
            url,
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'items'::regclass AND contype = 'c'",
        )
        columns = _rows(
            url,
            "SELECT column_name, column_default, generation_expression FROM information_schema.columns "
            "WHERE table_name = 'items' AND column_name <> 'id'",
        )
        indexes = _rows(url, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'items'")
    elif kind == "sqlite":
        create = _rows(url, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'items'")[0][0]
        checks = [
            (m.group(1), _balanced(create, m.end() - 1))
            for m in re.finditer(r"CONSTRAINT (\w+) CHECK \(", create)
        ]
        columns = [
            (m.group(1), m.group(2)) for m in re.finditer(r"\b(\w+) [^,]*?DEFAULT ('(?:[^']|'')*')", create)
        ]
        columns += [
            (m.group(1), _balanced(create, m.end() - 1))
            for m in re.finditer(r"\b(\w+) TEXT GENERATED ALWAYS AS \(", create)
        ]
        indexes = [
            (name, re.sub(r"\s+", " ", sql.split(" ON ", 1)[1]).strip())
            for name, sql in _rows(
                url, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
        ]
    else:
        checks = _rows(
            url,
            "SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
            "WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'items'",
        )
        columns = _rows(
            url,
            "SELECT COLUMN_NAME, COLUMN_DEFAULT, GENERATION_EXPRESSION FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'items' AND COLUMN_NAME <> 'id'",
        )
        indexes = _rows(
            url,
            "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'items' AND INDEX_NAME <> 'PRIMARY'",
        )
    return {"checks": sorted(checks), "columns": sorted(columns), "indexes": sorted(indexes)}


def _balanced(text: str, start: int) -> str:
    """The parenthesised text opening at ``start`` (string literals skipped), parentheses included."""
    depth, i = 0, start
    while i < len(text):
        ch = text[i]
        if ch == "'":
            i = text.index("'", i + 1)
            while text.startswith("''", i):
                i = text.index("'", i + 2)
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
        i += 1
    raise AssertionError(f"unbalanced: {text[start:]}")


_SOURCES = {"sqlite": _SQLITE_SOURCE, "pg": _PG_SOURCE, "mysql": _MARIADB_SOURCE}


@pytest.mark.parametrize(
    "db",
    [
        pytest.param("sqlite"),
        pytest.param("pg", marks=pytest.mark.postgresql),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ],
)
def test_same_dialect_keeps_source_sql_text_as_it_was(db: str, request: pytest.FixtureRequest) -> None:
    make = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    run_raw(source, *_SOURCES[db])
    before = _catalog(source)
    assert len(before["checks"]) == 3 and before["indexes"]  # the source is what the test means
    out = relsynth.synthesize(source, target, seed=0)
    assert out["write"].verification.problems == 0
    after = _catalog(target)
    assert after == before
    # and the literals are there, word for word (not 'a NULL', not 'q:c')
    every = repr(after)
    for literal in ("'a :b'", "'A%'", "' :b %'"):
        assert literal in every
    if db != "mysql":
        assert r"'q\\:c'" in every  # repr doubles the backslash


@pytest.mark.parametrize(
    "db",
    [
        pytest.param("sqlite"),
        pytest.param("pg", marks=pytest.mark.postgresql),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ],
)
def test_the_targets_checks_hold_the_source_literals(db: str, request: pytest.FixtureRequest) -> None:
    """Not only the text: the recreated CHECK refuses the very value the source's refuses."""
    make = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    run_raw(source, *_SOURCES[db])
    relsynth.synthesize(source, target, seed=0)
    engine = sa.create_engine(target)
    try:
        for bad in ("'a :b'", "'a NULL'"):
            ok = bad == "'a NULL'"  # the source accepts 'a NULL': the target must too
            try:
                with engine.begin() as conn:
                    conn.exec_driver_sql(
                        f"INSERT INTO items (s, code, note) VALUES ({bad}, 'A1', 'n1')",
                        execution_options={"no_parameters": True},
                    )
                inserted = True
            except sa.exc.DBAPIError:
                inserted = False
            assert inserted is ok, bad
    finally:
        engine.dispose()


_PG_CROSS = [
    """
    CREATE TABLE items (
        id int PRIMARY KEY,
        s text NOT NULL,
        code text NOT NULL,
        k text NOT NULL,
        d1 text DEFAULT 'a :b',
        d2 text DEFAULT 'x::y'::text,
        CONSTRAINT s_not_b CHECK (s <> 'a :b' AND s <> ':b' AND s <> 'c%' AND s <> 'x::text'),
        CONSTRAINT code_pct CHECK (code <> '%(b)s' AND code <> '%s'),
        CONSTRAINT code_like CHECK (code LIKE 'A%'),
        CONSTRAINT k_in CHECK (k IN ('a :b', 'c%', 'x::text', '%s'))
    )
    """,
    "INSERT INTO items (id, s, code, k, d1, d2) SELECT g, 'v' || (g % 7), 'A' || (g % 5), "
    "(ARRAY['a :b', 'c%', 'x::text', '%s'])[1 + g % 4], 'd' || (g % 4), 'e' || (g % 2) "
    "FROM generate_series(1, 120) g",
]


@pytest.mark.postgresql
@pytest.mark.parametrize("target_kind", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def test_pg_checks_and_defaults_into_another_dialect_keep_their_literals(
    target_kind: str, pg_db, request: pytest.FixtureRequest
) -> None:
    """The CHECKs relsynth translates (LIKE it does not) and the literal DEFAULTs it carries; the
    values holding such literals are loaded as they are."""
    source = pg_db()
    target = request.getfixturevalue(f"{target_kind}_db")()
    run_raw(source, *_PG_CROSS)
    out = relsynth.synthesize(source, target, seed=0)
    assert out["write"].verification.problems == 0
    if target_kind == "sqlite":
        carried = _rows(target, "SELECT sql FROM sqlite_master WHERE name = 'items'")[0][0]
    else:
        carried = repr(
            _rows(
                target,
                "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
                "WHERE CONSTRAINT_SCHEMA = DATABASE()",
            )
            + _rows(
                target,
                "SELECT COLUMN_DEFAULT FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'items'",
            )
        )
    for literal in ("'a :b'", "':b'", "'c%'", "'x::text'", "'%(b)s'", "'%s'", "'x::y'"):
        assert literal in carried, literal
    engine = sa.create_engine(target)
    try:
        # The CHECKs refuse what the source's refuse, and nothing else.
        for s, k, refused in (
            ("'a :b'", "'c%'", True),
            ("':b'", "'c%'", True),
            ("'c%'", "'c%'", True),
            ("'ok'", "'a NULL'", True),
            ("'ok'", "'%%s'", True),
            ("'a NULL'", "'%s'", False),
            ("'ok'", "'x::text'", False),
        ):
            try:
                with engine.begin() as conn:
                    conn.exec_driver_sql(
                        f"INSERT INTO items (id, s, code, k) VALUES (100000, {s}, 'A1', {k})",
                        execution_options={"no_parameters": True},
                    )
                    conn.exec_driver_sql("DELETE FROM items WHERE id = 100000")
                inserted = True
            except sa.exc.DBAPIError:
                inserted = False
            assert inserted is not refused, (s, k)
        with engine.begin() as conn:  # the defaults are the source's literals
            conn.exec_driver_sql(
                "INSERT INTO items (id, s, code, k) VALUES (100001, 'ok', 'A1', 'c%')",
                execution_options={"no_parameters": True},
            )
            got = conn.exec_driver_sql("SELECT d1, d2 FROM items WHERE id = 100001").one()
            loaded = {r[0] for r in conn.exec_driver_sql("SELECT DISTINCT k FROM items WHERE id <= 120")}
        assert tuple(got) == ("a :b", "x::y")
        assert loaded == {"a :b", "c%", "x::text", "%s"}
    finally:
        engine.dispose()


@pytest.mark.postgresql
def test_pg_partition_bounds_and_key_keep_their_text(pg_db) -> None:
    source, target = pg_db(), pg_db()
    run_raw(
        source,
        *[
            "CREATE TABLE ev (id int NOT NULL, code text NOT NULL) PARTITION BY LIST (code)",
            "CREATE TABLE ev_a PARTITION OF ev FOR VALUES IN ('A%', 'a :b')",
            "CREATE TABLE ev_rest PARTITION OF ev DEFAULT",
            "CREATE TABLE num (id int NOT NULL, v int NOT NULL) PARTITION BY LIST ((id % 2))",
            "CREATE TABLE num_0 PARTITION OF num FOR VALUES IN (0)",
            "CREATE TABLE num_1 PARTITION OF num FOR VALUES IN (1)",
            "INSERT INTO ev SELECT g, (ARRAY['A%', 'a :b', 'other'])[1 + g % 3] FROM generate_series(1, 90) g",
            "INSERT INTO num SELECT g, g % 9 FROM generate_series(1, 90) g",
        ],
    )
    query = (
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), pg_get_partkeydef(c.oid) FROM pg_class c "
        "WHERE c.relispartition OR c.relkind = 'p' ORDER BY 1"
    )
    before = _rows(source, query)
    out = relsynth.synthesize(source, target, seed=0)
    assert out["write"].verification.problems == 0
    assert _rows(target, query) == before


@pytest.mark.mysql
def test_mariadb_names_with_colon_and_percent_are_the_sources(mysql_db) -> None:
    """A SEQUENCE read through text() with its name in it (' :x' a bind: the source was not read),
    and statements relsynth compiles, then runs without parameters ('%' left doubled: a sequence
    `seq :x %%`, a versioned table not found)."""
    source, target = mysql_db(), mysql_db()
    run_raw(
        source,
        *[
            "CREATE SEQUENCE `seq :x %`",
            "CREATE TABLE t (id INT PRIMARY KEY DEFAULT NEXTVAL(`seq :x %`), v INT)",
            "INSERT INTO t (v) SELECT seq FROM seq_1_to_50",
            "CREATE TABLE `h%v :x` (id INT PRIMARY KEY, v INT) WITH SYSTEM VERSIONING",
            "INSERT INTO `h%v :x` SELECT seq, seq FROM seq_1_to_30",
        ],
    )
    out = relsynth.synthesize(source, target, seed=0)
    assert out["write"].verification.problems == 0
    assert out["write"].not_recreated == []
    tables = _rows(
        target,
        "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
    )
    assert sorted(tables) == [("h%v :x", "SYSTEM VERSIONED"), ("seq :x %", "SEQUENCE"), ("t", "BASE TABLE")]
    assert _rows(target, "SELECT NEXTVAL(`seq :x %`)") == [(51,)]


@pytest.mark.postgresql
def test_pg_view_named_with_percent_keeps_its_name(pg_db) -> None:
    """A view's CREATE runs without parameters: its name, quoted by SQLAlchemy ('%' doubled for
    psycopg), was created as "v%%x :y"."""
    source, target = pg_db(), pg_db()
    run_raw(
        source,
        *[
            "CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL)",
            "INSERT INTO t SELECT g, 'x' || (g % 3) FROM generate_series(1, 30) g",
            "CREATE VIEW \"v%x :y\" AS SELECT id FROM t WHERE v LIKE 'x%' AND v <> 'a :b'",
        ],
    )
    query = "SELECT viewname, definition FROM pg_views WHERE schemaname = 'public'"
    before = _rows(source, query)
    out = relsynth.synthesize(source, target, seed=0)
    assert out["write"].verification.problems == 0
    assert _rows(target, query) == before


@pytest.mark.mysql
def test_mariadb_target_trigger_with_percent_is_created_again(mysql_db) -> None:
    """Into existing MariaDB tables the target's triggers are dropped for the load and created again
    from the catalog's text: run with (empty) parameters, a '%' in it was a placeholder and the
    trigger was gone."""
    source, target = mysql_db(), mysql_db()
    run_raw(
        source,
        *[
            "CREATE TABLE t (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL)",
            "INSERT INTO t SELECT seq, concat('A', seq % 5) FROM seq_1_to_40",
        ],
    )
    relsynth.synthesize(source, target, seed=0)
    run_raw(
        target,
        *[
            "CREATE TRIGGER t_pct BEFORE INSERT ON t FOR EACH ROW "
            "SET NEW.code = IF(NEW.code LIKE 'A%', NEW.code, concat('A% :b', NEW.code))"
        ],
    )
    query = (
        "SELECT TRIGGER_NAME, ACTION_STATEMENT FROM information_schema.TRIGGERS "
        "WHERE TRIGGER_SCHEMA = DATABASE()"
    )
    before = _rows(target, query)
    out = relsynth.synthesize(source, target, seed=1, into_existing=True, replace=True)
    assert out["write"].verification.problems == 0
    assert _rows(target, query) == before
