"""Partial indexes (CREATE [UNIQUE] INDEX ... WHERE ...) keep their predicate on a target of the
same dialect: a soft-deleted duplicate that production accepts is accepted by the synthetic copy
too. Another dialect gets the index over every row (which the synthetic data meet) and a note."""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np
import pytest
import sqlalchemy as sa

import relsynth
from relsynth.schema import Schema
from tests.conftest import fetch, run_sql, scalar

# Live accounts have unique emails; soft-deleted ones repeat them. The plain partial index's
# literals hold a '%' and a ' :x' that must reach the target as they are (not as a parameter).
_PG_SOURCE = """
CREATE TABLE users (
    id serial PRIMARY KEY,
    email text NOT NULL,
    status text NOT NULL,
    deleted_at timestamp
);
CREATE UNIQUE INDEX users_email_live ON users (email) WHERE deleted_at IS NULL;
CREATE INDEX users_open ON users (status) WHERE status <> 'closed :x' AND email NOT LIKE '%.invalid';
INSERT INTO users (email, status, deleted_at)
SELECT 'user' || g || '@example.org', (ARRAY['open', 'closed :x', 'held'])[1 + g % 3], NULL
FROM generate_series(1, 150) g;
INSERT INTO users (email, status, deleted_at)
SELECT 'user' || g || '@example.org', 'closed :x', TIMESTAMP '2024-01-01' + g * INTERVAL '1 day'
FROM generate_series(1, 60) g;
"""

# The same on SQLite, the unique index's predicate over two lines (SQLAlchemy's own reading of a
# SQLite partial index stops at the end of the first).
_SQLITE_SOURCE = """
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    status TEXT NOT NULL,
    deleted_at TEXT
);
CREATE UNIQUE INDEX users_email_live ON users (email)
    WHERE deleted_at IS NULL
      AND status <> 'purged';
CREATE INDEX users_open ON users (status)WHERE status <> 'closed :x' AND email NOT LIKE '%.invalid';
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 150)
INSERT INTO users (email, status, deleted_at)
SELECT 'user' || n || '@example.org', CASE n % 3 WHEN 0 THEN 'open' WHEN 1 THEN 'closed :x' ELSE 'held' END,
       NULL FROM g;
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 60)
INSERT INTO users (email, status, deleted_at)
SELECT 'user' || n || '@example.org', 'closed :x', date('2024-01-01', '+' || n || ' days') FROM g;
"""


def _pg_script(url: str, script: str) -> None:
    """The script in one go through the driver, without parameters: its '%' stays literal."""
    engine = sa.create_engine(url)
    try:
        raw = engine.raw_connection()
        try:
            raw.cursor().execute(script)
            raw.commit()
        finally:
            raw.close()
    finally:
        engine.dispose()


def _pg_predicates(url: str) -> dict[str, tuple[bool, str | None]]:
    """index name -> (unique, its predicate as PostgreSQL prints it, None for a full index)."""
    rows = fetch(
        url,
        "SELECT c.relname, i.indisunique, pg_get_expr(i.indpred, i.indrelid) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
        "WHERE t.relname = 'users' AND NOT i.indisprimary",
    )
    return {r[0]: (r[1], r[2]) for r in rows}


def _sqlite_indexes(url: str) -> dict[str, tuple[bool, bool, str]]:
    """index name -> (unique, partial, its CREATE INDEX) of table users."""
    rows = fetch(
        url,
        "SELECT l.name, l.\"unique\", l.partial, m.sql FROM pragma_index_list('users') l "
        "JOIN sqlite_master m ON m.name = l.name WHERE l.origin = 'c'",
    )
    return {r[0]: (bool(r[1]), bool(r[2]), r[3]) for r in rows}


def _insert(url: str, email: str, status: str, deleted: object) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO users (email, status, deleted_at) VALUES (:e, :s, :d)"),
                {"e": email, "s": status, "d": deleted},
            )
    finally:
        engine.dispose()


def _soft_deleted_duplicate_is_accepted(url: str, deleted: object) -> None:
    """A soft-deleted row may repeat a live email; a second live one may not."""
    live = scalar(url, "SELECT email FROM users WHERE deleted_at IS NULL AND status <> 'purged' LIMIT 1")
    assert live is not None
    _insert(url, live, "closed :x", deleted)
    with pytest.raises(sa.exc.IntegrityError):
        _insert(url, live, "open", None)


def _partial_notes(changes: list[str]) -> list[str]:
    return [c for c in changes if "partial in the source" in c]


@pytest.mark.postgresql
def test_partial_indexes_pg_to_pg(pg_db) -> None:
    source, target = pg_db(), pg_db()
    _pg_script(source, _PG_SOURCE)
    schema = relsynth.reflect(source)
    assert {ix.name: ix.where for ix in schema.table("users").indexes} == {
        "users_email_live": "(deleted_at IS NULL)",
        "users_open": "((status <> 'closed :x'::text) AND (email !~~ '%.invalid'::text))",
    }
    out = relsynth.synthesize(source, target)
    assert out["write"].verification.problems == 0
    assert not _partial_notes(out["write"].changes)
    assert _pg_predicates(target) == _pg_predicates(source)
    assert _pg_predicates(target)["users_email_live"] == (True, "(deleted_at IS NULL)")
    _soft_deleted_duplicate_is_accepted(target, datetime(2025, 1, 1))


def test_partial_indexes_sqlite_to_sqlite(sqlite_db) -> None:
    source, target = sqlite_db(), sqlite_db()
    run_sql(source, _SQLITE_SOURCE)
    out = relsynth.synthesize(source, target)
    assert out["write"].verification.problems == 0
    assert not _partial_notes(out["write"].changes)
    made = _sqlite_indexes(target)
    assert {name: (unique, partial) for name, (unique, partial, _) in made.items()} == {
        "users_email_live": (True, True),
        "users_open": (False, True),
    }
    flat = {name: " ".join(sql.split()) for name, (_, _, sql) in made.items()}
    assert flat["users_email_live"].endswith("WHERE deleted_at IS NULL AND status <> 'purged'")
    assert flat["users_open"].endswith("WHERE status <> 'closed :x' AND email NOT LIKE '%.invalid'")
    _soft_deleted_duplicate_is_accepted(target, "2025-01-01")


def test_partial_index_in_a_schema_file(sqlite_db, tmp_path) -> None:
    """The predicate goes through the schema JSON; a file written before it (no "where") still loads."""
    source = sqlite_db()
    run_sql(source, _SQLITE_SOURCE)
    schema = relsynth.reflect(source)
    again = Schema.from_json(schema.to_json())
    assert again.table("users").indexes == schema.table("users").indexes
    assert {ix.name: " ".join(ix.where.split()) for ix in again.table("users").indexes} == {
        "users_email_live": "deleted_at IS NULL AND status <> 'purged'",
        "users_open": "status <> 'closed :x' AND email NOT LIKE '%.invalid'",
    }
    old = re.sub(r',\s*"where": "(?:[^"\\]|\\.)*"', "", schema.to_json())
    assert '"where"' not in old
    assert all(ix.where == "" for ix in Schema.from_json(old).table("users").indexes)


@pytest.mark.postgresql
def test_partial_indexes_pg_to_sqlite_say_so(pg_db, sqlite_db) -> None:
    source, target = pg_db(), sqlite_db()
    _pg_script(source, _PG_SOURCE)
    out = relsynth.synthesize(source, target)
    assert out["write"].verification.problems == 0
    # Both WHEREs are read and written in SQLite's SQL (a case-sensitive LIKE as a GLOB): nothing to say.
    assert not _partial_notes(out["write"].changes), out["write"].changes
    made = _sqlite_indexes(target)
    assert made["users_email_live"][:2] == (True, True)
    assert " ".join(made["users_email_live"][2].split()).endswith("WHERE deleted_at IS NULL")
    assert made["users_open"][:2] == (False, True)
    assert "NOT (email GLOB '*.invalid')" in made["users_open"][2]
    _soft_deleted_duplicate_is_accepted(target, "2025-01-01")


@pytest.mark.postgresql
@pytest.mark.mysql
def test_partial_indexes_pg_to_mariadb_say_so(pg_db, mysql_db) -> None:
    source, target = pg_db(), mysql_db()
    _pg_script(source, _PG_SOURCE)
    out = relsynth.synthesize(source, target)
    assert out["write"].verification.problems == 0
    notes = _partial_notes(out["write"].changes)
    assert len(notes) == 2, out["write"].changes
    assert any("unique index users_email_live" in n and "no partial indexes" in n for n in notes)
    unique = {
        r[0]: r[1] == 0
        for r in fetch(
            target,
            "SELECT index_name, non_unique FROM information_schema.statistics "
            "WHERE table_schema = DATABASE() AND table_name = 'users'",
        )
    }
    assert unique["users_email_live"] is True and unique["users_open"] is False


@pytest.mark.postgresql
def test_partial_indexes_sqlite_to_pg_say_so(sqlite_db, pg_db) -> None:
    source, target = sqlite_db(), pg_db()
    run_sql(source, _SQLITE_SOURCE)
    out = relsynth.synthesize(source, target)
    assert out["write"].verification.problems == 0
    # Both WHEREs are translated (SQLite's LIKE as ILIKE: a non-unique index, whose rows it covers
    # change no value a row may take): nothing to say.
    assert not _partial_notes(out["write"].changes), out["write"].changes
    made = _pg_predicates(target)
    assert made["users_open"][0] is False and "email !~~* '%.invalid'" in made["users_open"][1]
    assert made["users_email_live"][0] is True
    assert "deleted_at IS NULL" in made["users_email_live"][1] and "purged" in made["users_email_live"][1]
    _soft_deleted_duplicate_is_accepted(target, datetime(2025, 1, 1))


# One primary address per person among live ones: UNIQUE (person_id) WHERE is_primary AND NOT
# deleted. Sampling made person_id unique over every row: 750 of 1,250 addresses were dropped;
# then, unique within the WHERE, a person's second primary address was dropped (141), where it
# can be one of the others (is_primary false: sampled row by row, the copula drew many).
_ADDRESSES = {
    "postgresql": """
CREATE TABLE person (id serial PRIMARY KEY, age int NOT NULL);
CREATE TABLE addr (id serial PRIMARY KEY, person_id int NOT NULL REFERENCES person(id),
    is_primary boolean NOT NULL, city text NOT NULL, deleted boolean NOT NULL DEFAULT false);
CREATE UNIQUE INDEX one_primary ON addr (person_id) WHERE is_primary AND NOT deleted;
INSERT INTO person (age) SELECT 20 + g %% 60 FROM generate_series(1, 500) g;
INSERT INTO addr (person_id, is_primary, city, deleted)
SELECT p, k = 1, (ARRAY['Oslo','Rome','Paris','Lima','Kyiv'])[1 + (p + k) %% 5], k = 4
FROM generate_series(1, 500) p, generate_series(1, 4) k WHERE k <= 1 + p %% 4;
""",
    "sqlite": """
CREATE TABLE person (id INTEGER PRIMARY KEY, age INTEGER NOT NULL);
CREATE TABLE addr (id INTEGER PRIMARY KEY, person_id INTEGER NOT NULL REFERENCES person(id),
    is_primary BOOLEAN NOT NULL, city TEXT NOT NULL, deleted BOOLEAN NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX one_primary ON addr (person_id) WHERE is_primary AND NOT deleted;
WITH RECURSIVE g(p) AS (SELECT 1 UNION ALL SELECT p + 1 FROM g WHERE p < 500)
INSERT INTO person (id, age) SELECT p, 20 + p % 60 FROM g;
WITH RECURSIVE g(p) AS (SELECT 1 UNION ALL SELECT p + 1 FROM g WHERE p < 500),
    k(k) AS (VALUES (1), (2), (3), (4))
INSERT INTO addr (person_id, is_primary, city, deleted)
SELECT p, k = 1, CASE (p + k) % 5 WHEN 0 THEN 'Oslo' WHEN 1 THEN 'Rome' WHEN 2 THEN 'Paris'
    WHEN 3 THEN 'Lima' ELSE 'Kyiv' END, k = 4 FROM g, k WHERE k <= 1 + p % 4 ORDER BY p, k;
""",
}


@pytest.mark.parametrize("db", ["pg_db", "sqlite_db"])
def test_a_partial_unique_key_is_unique_only_where_its_where_holds(
    db: str, request: pytest.FixtureRequest
) -> None:
    make = request.getfixturevalue(db)
    src, dst = make(), make()
    run_sql(src, _ADDRESSES["postgresql" if db == "pg_db" else "sqlite"])
    assert scalar(src, "SELECT count(*) FROM addr") == 1250
    relsynth.synthesize(src, dst, seed=1)
    rows = scalar(dst, "SELECT count(*) FROM addr")
    assert rows > 1200, rows  # a second primary address becomes a plain one (all made unique: 500)
    several = scalar(
        dst, "SELECT count(*) FROM (SELECT person_id FROM addr GROUP BY person_id HAVING count(*) > 1) s"
    )
    assert several > 200, several
    # The index is there with its WHERE, and the rows meet it: one live primary address at most.
    live = "is_primary AND NOT deleted" if db == "pg_db" else "is_primary = 1 AND deleted = 0"
    worst = scalar(dst, f"SELECT max(n) FROM (SELECT count(*) n FROM addr WHERE {live} GROUP BY person_id) s")
    assert worst == 1
    names = {ix["name"] for ix in sa.inspect(sa.create_engine(dst)).get_indexes("addr")}
    assert "one_primary" in names


@pytest.mark.postgresql
@pytest.mark.mysql
def test_a_partial_unique_key_without_its_where_is_listed_when_the_rows_repeat_it(pg_db, mysql_db) -> None:
    """MariaDB has no partial index: over every row, the addresses' person_id repeats (as in the
    source, outside the WHERE), so the index is listed as not recreated and the load goes on."""
    source, target = pg_db(), mysql_db()
    run_sql(source, _ADDRESSES["postgresql"])
    out = relsynth.synthesize(source, target, seed=1)
    assert out["write"].verification.problems == 0
    assert out["write"].rows["addr"] > 900
    assert any(n.startswith("unique index one_primary on addr") for n in out["write"].not_recreated)


def test_two_partial_unique_keys_on_the_same_columns_are_two_keys() -> None:
    """One home and one work address per person: UNIQUE (person_id) WHERE kind = 'home' and the
    same WHERE kind = 'work'. Taken as one key over both WHEREs, a person's home and work rows
    clashed (attack round 27: nobody kept both)."""
    from dataclasses import replace

    import pandas as pd

    from relsynth.frames import schema_from_frames
    from relsynth.model.assign import _partial_scopes, _repeated
    from relsynth.schema import Index

    frame = pd.DataFrame(
        {"id": [1, 2, 3, 4], "person_id": [1, 1, 1, 2], "kind": ["home", "work", "home", "home"]}
    )
    table = schema_from_frames({"c": frame}, primary_keys={"c": "id"}).table("c")
    table = replace(
        table,
        indexes=(
            Index("one_home", ("person_id",), unique=True, where="kind = 'home'"),
            Index("one_work", ("person_id",), unique=True, where="kind = 'work'"),
        ),
    )
    keys = _partial_scopes(table, frame)
    assert [cols for cols, _, _ in keys] == [("id",), ("person_id",), ("person_id",)]
    keep = np.ones(len(frame), dtype=bool)
    repeats = [_repeated(table, frame, keep, cols, scope).tolist() for cols, scope, _ in keys]
    assert repeats == [[False] * 4, [False, False, True, False], [False] * 4]  # only the second home
