"""Keys at the edges of their types, on PostgreSQL, MariaDB and SQLite, at scale 1 and 3: UNIQUE
integers spanning their whole type (BIGINT from -2^63, BIGINT UNSIGNED past 2^63, TINYINT), composite
primary keys with short CHAR/VARCHAR columns (and a foreign key into them), keys whose declared
lengths hold fewer distinct values than the rows asked, and names that are keywords SQLAlchemy does
not quote. Each database is created by tests/adversarial.py and checked there by SQL of its own.
"""

from __future__ import annotations

import ctypes
import itertools
import random
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import relsynth
from relsynth import dialects
from relsynth.io import make_engine
from tests.adversarial import (
    INT_RANGES,
    CheckSpec,
    ColSpec,
    DbSpec,
    FkSpec,
    TableSpec,
    check,
    check_counts,
    realize,
    run,
)

DIALECTS = ["postgresql", "mysql", "sqlite"]
SCALES = [1.0, 3.0]
_files = itertools.count()


def _databases(request: pytest.FixtureRequest, dialect: str, tmp_path: Path) -> tuple[str, str]:
    """A new empty source and target (the conftest fixtures drop them after the test)."""
    if dialect == "sqlite":
        n = next(_files)
        return f"sqlite:///{tmp_path}/src{n}.sqlite", f"sqlite:///{tmp_path}/tgt{n}.sqlite"
    make: Callable[[], str] = request.getfixturevalue("pg_db" if dialect == "postgresql" else "mysql_db")
    return make(), make()


def _spread(kind: str, n: int, rng: random.Random) -> list[int]:
    """n distinct integers over the whole range of the type, its two bounds first."""
    lo, hi = INT_RANGES[kind]
    out = [lo, hi]
    while len(out) < n:
        v = rng.randint(lo, hi)
        if v not in out:
            out.append(v)
    return out


# -- UNIQUE integers over the whole range of their type ----------------------------------------------
def wide_unique_spec(dialect: str, scale: float) -> DbSpec:
    kinds = ["bigint", "integer", "smallint"]
    if dialect == "mysql":
        kinds += ["tinyint", "mediumint", "int_unsigned", "bigint_unsigned"]
    n = 40
    rng = random.Random(7)
    cols = [ColSpec("id", "integer", nullable=False)]
    values: list[list[Any]] = []
    for i, kind in enumerate(kinds):
        nullable = i % 2 == 1
        cols.append(ColSpec(f"u_{kind}", kind, nullable=nullable))
        spread: list[Any] = _spread(kind, n, rng)
        if nullable:  # a few NULLs, which never clash
            spread = [None if k % 9 == 4 else v for k, v in enumerate(spread)]
        values.append(spread)
    rows = tuple((i + 1, *(v[i] for v in values)) for i in range(n))
    unique = tuple((c.name,) for c in cols[1:])
    return DbSpec(dialect, (TableSpec("t", tuple(cols), ("id",), unique=unique, rows=rows),), scale=scale)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_wide_unique_integers(
    dialect: str, scale: float, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    source, target = _databases(request, dialect, tmp_path)
    assert run(wide_unique_spec(dialect, scale), source, target) == []


def test_unique_tinyint_past_its_room(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """120 distinct TINYINTs fit its 256 values; 360 (scale 3) do not: the rows past them are
    dropped, and the report says why."""
    rng = random.Random(3)
    values = _spread("tinyint", 120, rng)
    table = TableSpec(
        "t",
        (ColSpec("id", "integer", nullable=False), ColSpec("u", "tinyint", nullable=False)),
        ("id",),
        unique=(("u",),),
        rows=tuple((i + 1, v) for i, v in enumerate(values)),
    )
    for scale, kept in ((1.0, 120), (3.0, 256)):
        spec = DbSpec("mysql", (table,), scale=scale)
        source, target = _databases(request, "mysql", tmp_path)
        problems, result = _synthesize(spec, source, target)
        assert problems == []
        assert result["write"].rows["t"] == kept
        noted = any("t: (u) holds at most 256 distinct values" in line for line in result["report"].lines())
        assert noted == (scale == 3.0)


# -- composite keys with short strings -------------------------------------------------------------------
def _codes(n: int, length: int, rng: random.Random) -> list[str]:
    """n distinct lowercase codes of 1..length characters."""
    out: set[str] = set()
    while len(out) < n:
        out.add(
            "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(rng.randint(1, length)))
        )
    return sorted(out)


def composite_spec(dialect: str, scale: float) -> DbSpec:
    """(integer, CHAR(3)) and (VARCHAR(3), CHAR(3)) primary keys, a child with a composite FK into
    the first, and a UNIQUE overlapping the second key."""
    rng = random.Random(5)
    ks = _codes(50, 3, rng)
    p = TableSpec(
        "p",
        (
            ColSpec("a", "integer", nullable=False),
            ColSpec("k", "char", nullable=False, length=3),
            ColSpec("v", "double"),
        ),
        ("a", "k"),
        rows=tuple((7919 + i % 5, k, i / 3) for i, k in enumerate(ks)),
    )
    q = TableSpec(
        "q",
        (
            ColSpec("s", "varchar", nullable=False, length=3),
            ColSpec("k", "char", nullable=False, length=3),
            ColSpec("w", "varchar", nullable=False, length=3),
        ),
        ("s", "k"),
        unique=(("k", "w"),),
        rows=tuple((ks[i], ks[(i * 7) % 50], ks[(i * 11) % 50]) for i in range(50)),
    )
    c = TableSpec(
        "c",
        (
            ColSpec("id", "integer", nullable=False),
            ColSpec("pa", "integer", nullable=False),
            ColSpec("pk", "char", nullable=False, length=3),
        ),
        ("id",),
        foreign_keys=(FkSpec(("pa", "pk"), "p", ("a", "k")),),
        rows=tuple((i + 1, p.rows[i % 50][0], p.rows[i % 50][1]) for i in range(120)),
    )
    return DbSpec(dialect, (p, q, c), seed=2, scale=scale)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_composite_keys_with_short_strings(
    dialect: str, scale: float, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    source, target = _databases(request, dialect, tmp_path)
    assert run(composite_spec(dialect, scale), source, target) == []


def _synthesize(spec: DbSpec, source: str, target: str) -> tuple[list[str], dict[str, Any]]:
    """Like adversarial.run, keeping synthesize's result for its report."""
    realize(spec, source)
    result = relsynth.synthesize(source, target, seed=spec.seed, scale=spec.scale)
    return check(source, target, spec) + check_counts(source, target, result, spec.scale), result


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_string_keys_past_their_room(
    dialect: str, scale: float, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A (CHAR(1), CHAR(1)) key holds 36 * 36 keys that no collation confuses, a CHAR(1) key 36: the
    rows past them are dropped (counted, and said why), never written too long or repeated."""
    symbols = string.ascii_lowercase + string.digits
    pair = TableSpec(
        "pair",
        (ColSpec("a", "char", nullable=False, length=1), ColSpec("b", "char", nullable=False, length=1)),
        ("a", "b"),
        rows=tuple((symbols[i % 36], symbols[i // 36]) for i in range(600)),
    )
    single = TableSpec(
        "single",
        (ColSpec("k", "char", nullable=False, length=1), ColSpec("v", "integer")),
        ("k",),
        rows=tuple((symbols[i], i) for i in range(30)),
    )
    source, target = _databases(request, dialect, tmp_path)
    problems, result = _synthesize(DbSpec(dialect, (pair, single), seed=4, scale=scale), source, target)
    assert problems == []
    rows, lines = result["write"].rows, result["report"].lines()
    assert rows["pair"] == min(600 * scale, 36 * 36)
    assert rows["single"] == min(30 * scale, 36)
    assert any("pair: (a, b) holds at most 1296" in line for line in lines) == (scale > 2)
    assert any("single: (k) holds at most 36" in line for line in lines) == (scale > 2)


# -- names that are keywords SQLAlchemy does not quote -----------------------------------------------
# Found by creating, filling, querying and indexing a table and a column of each keyword of the
# server (pg_get_keywords(), MariaDB's information_schema.KEYWORDS, sqlite3_keyword_name()) through
# SQLAlchemy: these failed.
UNQUOTED_KEYWORDS = {
    "postgresql": ("lateral", "tablesample", "collation", "concurrently"),
    "mysql": ("portion", "value", "delete_domain_id", "master_demote_to_replica"),
    "sqlite": ("nothing", "returning", "window", "do"),
}


def keywords_spec(dialect: str, scale: float) -> DbSpec:
    """A table named by a keyword, with its key, a UNIQUE, a CHECK and a text column named by
    keywords, and a child (named by one too) whose FK into it is one too."""
    key, unique, checked, text = UNQUOTED_KEYWORDS[dialect]
    parent = TableSpec(
        key,
        (
            ColSpec(key, "integer", nullable=False),
            ColSpec(unique, "integer"),
            ColSpec(checked, "integer"),
            ColSpec(text, "varchar", length=10),
        ),
        (key,),
        unique=((unique,),),
        checks=(CheckSpec("ck_kw", "between", (checked,), (0, 100)),),
        rows=tuple((i, 1000 + 3 * i, i % 50, f"x{i % 4}") for i in range(1, 41)),
    )
    child = TableSpec(
        unique,
        (ColSpec("id", "integer", nullable=False), ColSpec(key, "integer")),
        ("id",),
        foreign_keys=(FkSpec((key,), key, (key,)),),
        rows=tuple((i, 1 + i % 40 if i % 5 else None) for i in range(1, 61)),
    )
    return DbSpec(dialect, (parent, child), seed=6, scale=scale)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_keyword_names(dialect: str, scale: float, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    source, target = _databases(request, dialect, tmp_path)
    assert run(keywords_spec(dialect, scale), source, target) == []


def test_mysql_json_named_with_a_backtick(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """MariaDB's JSON is LONGTEXT with a CHECK named after the column: found for a name holding a
    backtick too (SQLAlchemy reads it doubled), so it is recreated as JSON, its CHECK with it."""
    table = TableSpec(
        "g",
        (ColSpec("id", "integer", nullable=False), ColSpec("back`tick", "json", nullable=False)),
        ("id",),
        rows=tuple((i, {"k": i, "v": [i, "x"]}) for i in range(1, 31)),
    )
    source, target = _databases(request, "mysql", tmp_path)
    assert run(DbSpec("mysql", (table,)), source, target) == []


def test_sqlite_keywords_are_quoted(tmp_path: Path) -> None:
    """relsynth's engines quote every SQLite keyword: `nothing` is one SQLAlchemy does not know."""
    engine = make_engine(f"sqlite:///{tmp_path}/k.sqlite", must_exist=False)
    try:
        t = sa.table("nothing", sa.column("returning"), sa.column("plain"))
        sql = str(sa.select(t.c.returning, t.c.plain).compile(dialect=engine.dialect))
        assert '"nothing"."returning"' in sql and '"plain"' not in sql
        with engine.connect() as conn:  # a connection made: still in force
            assert conn.dialect.identifier_preparer.quote("nothing") == '"nothing"'
    finally:
        engine.dispose()


def test_sqlite_keyword_list_is_the_librarys() -> None:
    """Every keyword of the SQLite library Python runs is in the list relsynth quotes."""
    import _sqlite3

    lib = ctypes.CDLL(_sqlite3.__file__)
    if not hasattr(lib, "sqlite3_keyword_count"):
        pytest.skip("this Python's SQLite does not export sqlite3_keyword_name()")
    words = set()
    for i in range(lib.sqlite3_keyword_count()):
        name, size = ctypes.c_char_p(), ctypes.c_int()
        lib.sqlite3_keyword_name(i, ctypes.byref(name), ctypes.byref(size))
        words.add((name.value or b"")[: size.value].decode().lower())
    assert len(words) > 100
    assert words <= dialects.SQLITE_KEYWORDS


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mysql"])
def test_snowflake_ids_stay_distinct(kind: str, request: pytest.FixtureRequest) -> None:
    """Bigint keys from 1.5e18 on (snowflake-style ids): a float cannot tell neighbours apart, and
    the 30 parents once came out as 1."""
    fixture = {"sqlite": "sqlite_db", "postgresql": "pg_db", "mysql": "mysql_db"}[kind]
    make = request.getfixturevalue(fixture)
    source, target = make(), make()
    base = 1_500_000_000_000_000_000
    engine = sa.create_engine(source)
    meta = sa.MetaData()
    p = sa.Table("p", meta, sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False))
    p.append_column(sa.Column("v", sa.Integer))
    c = sa.Table("ch", meta, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False))
    c.append_column(sa.Column("p_id", sa.BigInteger, sa.ForeignKey("p.id"), nullable=False))
    c.append_column(sa.Column("w", sa.Integer))
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(p.insert(), [{"id": base + i, "v": i % 3} for i in range(30)])
        conn.execute(c.insert(), [{"id": i, "p_id": base + i % 30, "w": i % 7} for i in range(90)])
    engine.dispose()
    relsynth.synthesize(source, target, seed=1)
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count(sa.distinct(p.c.id)))).scalar() == 30
        assert conn.execute(sa.select(sa.func.count()).select_from(c)).scalar() == 90
    engine.dispose()


def test_a_text_key_from_postgresql_is_keyed_in_mariadb(request: pytest.FixtureRequest) -> None:
    """diabetes130's encounter_medication (encounter_id, medication TEXT) primary key: MariaDB keys
    no TEXT column without a prefix length (error 1170), so the whole synthesize failed there."""
    source, target = request.getfixturevalue("pg_db")(), request.getfixturevalue("mysql_db")()
    engine = sa.create_engine(source)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE enc (id integer PRIMARY KEY, kind text UNIQUE)")
        conn.exec_driver_sql(
            "CREATE TABLE med (enc_id integer REFERENCES enc(id), medication text, dose integer, "
            "PRIMARY KEY (enc_id, medication))"
        )
        conn.exec_driver_sql("CREATE INDEX med_by_name ON med (medication)")
        conn.exec_driver_sql("INSERT INTO enc SELECT i, 'k' || i FROM generate_series(1, 40) i")
        conn.exec_driver_sql(
            "INSERT INTO med SELECT i %% 40 + 1, (ARRAY['insulin','metformin','glipizide'])[i %% 3 + 1], i "
            "FROM generate_series(0, 119) i"
        )
    engine.dispose()
    result = relsynth.synthesize(source, target, seed=1)
    assert result["write"].verification.problems == 0
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM med").scalar() > 0
    engine.dispose()
