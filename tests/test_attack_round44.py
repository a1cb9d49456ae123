"""Attack round 44 (a README-only helper on this session's merged work).

1. SQLite quotes a name in brackets: a hand-edited model file's CHECK calling [randomblob](4), or
   an index expression [load_extension]('/tmp/x'), passed the model-file SQL check and ran.
2. A --target-schema in the source's own PostgreSQL database that a source default draws a
   sequence from (the source's next invoice number went 51 -> 3001), or that a source row-level
   policy reads (500 of 500 rows hidden from the source's reader), was written: refused now.
3. An integer column with an exact multiple beside it (dbl = 3 * qty) was taken for a person's
   code (it fixes a number on every row) and drawn as new codes: qty -5..40 came out -974..975.
"""

from __future__ import annotations

import random

import pytest

import relsynth
from relsynth.guard import SameDatabase
from relsynth.model.trust import _problem
from tests.conftest import run_raw, run_sql, scalar


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ("a >= 0 AND length([randomblob](4)) = 4", "randomblob()"),
        ("[load_extension ]('/tmp/x') IS NULL", "load_extension ()"),
        ("x = ANY (ARRAY[lo_import('x')])", "lo_import()"),
        ("status::text = ANY (ARRAY['a'::character varying]::text[])", ""),
        ("arr[1] > 0 AND ARRAY[x] <> ARRAY[y]", ""),
    ],
)
def test_a_bracketed_name_is_a_quoted_call(sql: str, found: str) -> None:
    assert _problem(sql)[0] == found


TABLES = """
CREATE SCHEMA tgt;
CREATE SEQUENCE tgt.orders_id_seq;
CREATE TABLE invoice (id serial PRIMARY KEY, no bigint NOT NULL DEFAULT nextval('tgt.orders_id_seq'), amount int NOT NULL);
CREATE TABLE acl (name text PRIMARY KEY);
"""


@pytest.mark.postgresql
def test_a_target_schema_a_source_default_draws_a_sequence_from_is_refused(pg_db) -> None:
    url = pg_db()
    run_sql(url, TABLES)
    run_raw(url, "INSERT INTO invoice (amount) SELECT g FROM generate_series(1, 50) g")
    with pytest.raises(SameDatabase, match=r"sequence tgt\.orders_id_seq"):
        relsynth.synthesize(url, url, target_schema="tgt", seed=1, include=["invoice"])
    assert scalar(url, "SELECT last_value FROM tgt.orders_id_seq") == 50


@pytest.mark.postgresql
def test_a_target_schema_a_source_policy_reads_is_refused(pg_db) -> None:
    url = pg_db()
    run_raw(
        url,
        "CREATE SCHEMA tgt",
        "CREATE TABLE tgt.acl (name text PRIMARY KEY)",
        "CREATE TABLE docs (id int PRIMARY KEY, body text NOT NULL)",
        "INSERT INTO docs SELECT g, 'doc' FROM generate_series(1, 100) g",
        "ALTER TABLE docs ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY readers ON docs USING (current_user IN (SELECT name FROM tgt.acl))",
    )
    with pytest.raises(SameDatabase, match="row-level policy"):
        relsynth.synthesize(url, url, target_schema="tgt", seed=1)


def test_a_number_beside_its_multiple_keeps_its_values(sqlite_db) -> None:
    source, target = sqlite_db(), sqlite_db()
    rnd = random.Random(5)
    rows = ["CREATE TABLE inv (id INTEGER PRIMARY KEY, qty INTEGER, dbl INTEGER);"]
    for i in range(1, 1501):
        q = rnd.randint(-5, 40)
        rows.append(f"INSERT INTO inv VALUES ({i}, {q}, {3 * q});")
    run_sql(source, "\n".join(rows))
    relsynth.synthesize(source, target, seed=7)
    assert scalar(target, "SELECT MIN(qty) FROM inv") >= -5  # -974 before
    assert scalar(target, "SELECT MAX(qty) FROM inv") <= 40
    assert scalar(target, "SELECT SUM(dbl = 3 * qty) FROM inv") > 0.8 * 1500  # 0 before
