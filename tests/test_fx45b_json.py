"""Attack round 45 on JSON documents.

1. `CHECK (jsonb_typeof(doc) = 'object')` emptied the table: the rows relsynth asks the target
   about went into its temporary table through the driver's JSON type, which encoded each
   document's text as a JSON string, so every row was refused and dropped ("0 rows"). Documents go
   in as documents; a table's dropped rows are said with the CHECKs they broke (never a value).
2. JSON kept in a text column (SQLite has no JSON type) came out as random words: a text column
   whose every value is a JSON object or array is generated as a JSON column is, in its text type.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import pytest

import relsynth
from relsynth.schema import Kind
from tests.conftest import fetch, run_raw, run_sql, scalar


@pytest.fixture
def pg(pg_db: Callable[[], str]) -> Callable[[], str]:
    return pg_db


@pytest.fixture
def maria(mysql_db: Callable[[], str]) -> Callable[[], str]:
    return mysql_db


def _order(r: random.Random) -> dict[str, object]:
    return {
        "customer": r.choice(["acme", "globex", "initech"]),
        "items": [{"sku": r.choice(["x1", "y2"]), "qty": r.randint(1, 5)} for _ in range(r.randint(1, 3))],
        "total": round(r.uniform(1, 100), 2),
        "paid": r.random() < 0.7,
    }


def _insert(url: str, table: str, rows: list[tuple[object, ...]]) -> None:
    import sqlalchemy as sa

    marks = ", ".join(f":p{i}" for i in range(len(rows[0])))
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(f"INSERT INTO {table} VALUES ({marks})"),
            [{f"p{i}": v for i, v in enumerate(row)} for row in rows],
        )
    engine.dispose()


@pytest.mark.postgresql
def test_a_check_on_the_json_type_of_a_document_keeps_every_row(pg) -> None:
    src, dst = pg(), pg()
    run_raw(
        src,
        "CREATE TABLE orders (id int PRIMARY KEY, doc jsonb NOT NULL CHECK (jsonb_typeof(doc) = 'object'),"
        " meta json CHECK (json_typeof(meta) = 'array'), note text NOT NULL,"
        " CONSTRAINT items_are_a_list CHECK (jsonb_typeof(doc->'items') = 'array'),"
        " CHECK (jsonb_typeof(doc->'total') = 'number' AND jsonb_typeof(doc->'paid') = 'boolean'))",
    )
    r = random.Random(1)
    rows = [(i, json.dumps(_order(r)), json.dumps([i % 3, "a"]), json.dumps(_order(r))) for i in range(200)]
    _insert(src, "orders", rows)
    out = relsynth.synthesize(src, dst, seed=1)
    assert out["write"].rows["orders"] == 200, out["write"].lines()  # 0 before: every row refused
    assert not out["write"].dropped_for_checks
    kinds = fetch(dst, "SELECT DISTINCT jsonb_typeof(doc), jsonb_typeof(doc->'items') FROM orders")
    assert kinds == [("object", "array")]
    # JSON kept in a text column is JSON of the same shape in PostgreSQL too, and stays text
    notes = [json.loads(n) for (n,) in fetch(dst, "SELECT note FROM orders")]
    assert all(
        set(n) == {"customer", "items", "total", "paid"} and isinstance(n["items"], list) for n in notes
    )
    assert (
        scalar(dst, "SELECT data_type FROM information_schema.columns WHERE column_name = 'note'") == "text"
    )


def test_rows_dropped_for_a_check_are_said_with_the_check_they_broke(sqlite_db) -> None:
    src, dst = sqlite_db(), sqlite_db()
    # The code's first letter follows the key, which a repair does not change: some rows cannot pass.
    run_sql(
        src,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT NOT NULL,"
        " CONSTRAINT code_follows_id CHECK (substr(code, 1, 1) = char(65 + id % 3)));",
    )
    r = random.Random(2)
    _insert(
        src,
        "t",
        [
            (
                i,
                chr(65 + i % 3) + str(r.randint(100, 999)),
            )
            for i in range(1, 301)
        ],
    )
    summary = relsynth.synthesize(src, dst, seed=1)["write"]
    dropped = summary.dropped_for_checks.get("t", 0)
    assert dropped > 0 and summary.checks_broken["t"] == ["code_follows_id"]
    said = [line for line in summary.lines() if "dropped" in line]
    assert said and all("code_follows_id" in line and f"{dropped}" in line for line in said), said
    assert scalar(dst, "SELECT count(*) FROM t") == 300 - dropped


def _events(n: int) -> list[tuple[object, ...]]:
    r = random.Random(3)
    rows = []
    for i in range(n):
        doc = {
            "kind": r.choice(["click", "view", "buy"]),
            "tags": [r.choice(["red", "green", "blue"]) for _ in range(r.randint(0, 3))],
            "n": r.randint(1, 9),
            "at": f"2024-03-{r.randint(10, 28)}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00",
        }
        rows.append((i, json.dumps(doc), r.choice(["x", "y"])))
    return rows


def _same_shape(docs: list[str]) -> None:
    parsed = [json.loads(d) for d in docs]  # raises on the random words of before
    assert all(isinstance(d, dict) and set(d) == {"kind", "tags", "n", "at"} for d in parsed)
    assert {d["kind"] for d in parsed} <= {"click", "view", "buy"}
    assert all(isinstance(d["tags"], list) and isinstance(d["n"], int) for d in parsed)
    assert {t for d in parsed for t in d["tags"]} <= {"red", "green", "blue"}


def test_json_kept_in_a_sqlite_text_column_comes_out_as_json_of_the_same_shape(sqlite_db) -> None:
    src, dst = sqlite_db(), sqlite_db()
    run_sql(src, "CREATE TABLE ev (id INTEGER PRIMARY KEY, payload TEXT NOT NULL, note TEXT);")
    _insert(src, "ev", _events(200))
    col = relsynth.reflect(src).table("ev").column("payload")
    assert col.kind is Kind.UNSUPPORTED and "JSON documents" in col.kind_reason
    relsynth.synthesize(src, dst, seed=1)
    assert fetch(dst, "SELECT type FROM pragma_table_info('ev') WHERE name = 'payload'") == [("TEXT",)]
    _same_shape([d for (d,) in fetch(dst, "SELECT payload FROM ev")])


def test_text_that_is_not_all_json_stays_text(sqlite_db) -> None:
    src = sqlite_db()
    run_sql(src, "CREATE TABLE ev (id INTEGER PRIMARY KEY, payload TEXT NOT NULL, note TEXT);")
    rows = _events(60)
    rows[7] = (7, "{not json", "x")
    _insert(src, "ev", rows)
    assert relsynth.reflect(src).table("ev").column("payload").kind is Kind.TEXT


@pytest.mark.mysql
def test_json_in_mariadb_longtext_and_json_columns_keeps_its_shape(maria) -> None:
    src, dst = maria(), maria()
    run_raw(
        src,
        "CREATE TABLE ev (id INT PRIMARY KEY, payload LONGTEXT NOT NULL, doc JSON NOT NULL,"
        " CONSTRAINT doc_is_object CHECK (json_type(doc) = 'OBJECT'))",
    )
    _insert(src, "ev", [(i, p, p) for i, p, _ in _events(150)])
    out = relsynth.synthesize(src, dst, seed=1)
    assert out["write"].rows["ev"] == 150 and not out["write"].dropped_for_checks
    rows = fetch(dst, "SELECT payload, doc FROM ev")
    _same_shape([p for p, _ in rows])
    _same_shape([d for _, d in rows])
