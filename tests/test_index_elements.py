"""An index's elements keep their order and their expressions: (a, lower(b), c) is not (a, c,
lower(b)) (PostgreSQL), and a SQLite index on expressions, which SQLAlchemy skips, is copied to a
SQLite target as the source has it (plain, unique, mixed with columns, partial)."""

from __future__ import annotations

import json
import re
import zipfile

import pytest

import relsynth
from relsynth.model import store
from relsynth.schema import Schema
from tests.conftest import fetch, run_sql

_PG_SOURCE = """
CREATE TABLE t (
    id serial PRIMARY KEY,
    a integer NOT NULL,
    b text NOT NULL,
    c integer NOT NULL
);
CREATE INDEX t_mixed ON t (a, lower(b), c);
CREATE INDEX t_expr_first ON t (upper(b), a);
CREATE INDEX t_two_between ON t (c, (a + c), b, lower(b), a) WHERE a > 0;
CREATE INDEX t_exprs ON t (lower(b), (c * 2));
INSERT INTO t (a, b, c) SELECT mod(g, 17), 'Name' || g, mod(g, 5) FROM generate_series(1, 120) g;
"""

# Written as SQLAlchemy writes a CREATE INDEX, so the target's sqlite_master text is the same.
_SQLITE_SOURCE = """
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    code TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE INDEX ix_lower ON users (lower(email));
CREATE UNIQUE INDEX ux_code ON users (lower(code));
CREATE INDEX ix_mixed ON users (status, lower(email) DESC, id);
CREATE INDEX ix_open ON users (lower(email)) WHERE status <> 'closed';
CREATE INDEX ix_plain ON users (status, code);
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 120)
INSERT INTO users (email, code, status)
SELECT 'User' || n || '@Example.org', 'C' || (1000 + n), CASE n % 3 WHEN 0 THEN 'open' WHEN 1 THEN 'closed' ELSE 'held' END
FROM g;
"""


def _pg_indexdefs(url: str) -> dict[str, str]:
    """index name -> its definition as PostgreSQL prints it, without the index's own name."""
    rows = fetch(
        url, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 't' AND indexname <> 't_pkey'"
    )
    return {name: re.sub(r"^CREATE (UNIQUE )?INDEX \S+ ON ", r"\1", sql) for name, sql in rows}


@pytest.mark.postgresql
def test_mixed_indexes_keep_their_order_pg_to_pg(pg_db) -> None:
    source, target = pg_db(), pg_db()
    run_sql(source, _PG_SOURCE)
    out = relsynth.synthesize(source, target, seed=0)
    assert out["write"].verification.problems == 0
    made = _pg_indexdefs(target)
    assert made == _pg_indexdefs(source)
    assert made["t_mixed"] == "public.t USING btree (a, lower(b), c)"
    assert made["t_two_between"] == "public.t USING btree (c, ((a + c)), b, lower(b), a) WHERE (a > 0)"
    elements = {ix.name: ix.elements() for ix in out["model"].schema.table("t").indexes}
    assert elements["t_mixed"] == (("a", False), ("lower(b)", True), ("c", False))


def _sqlite_indexes(url: str) -> dict[str, tuple[str, list[tuple]]]:
    """index name -> (its CREATE INDEX, whitespace folded; its key elements as pragma_index_xinfo
    gives them: column number (-2: an expression), column name, DESC, collation)."""
    rows = fetch(url, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
    out = {}
    for name, sql in rows:
        xinfo = fetch(
            url,
            f"SELECT cid, name, \"desc\", coll FROM pragma_index_xinfo('{name}') WHERE key = 1 ORDER BY seqno",
        )
        out[name] = (" ".join(sql.split()), xinfo)
    return out


def test_sqlite_expression_indexes_are_copied(sqlite_db, recwarn) -> None:
    source, target = sqlite_db(), sqlite_db()
    run_sql(source, _SQLITE_SOURCE)
    schema = relsynth.reflect(source)
    assert not [w for w in recwarn if "expression-based index" in str(w.message)]  # handled: no warning
    got = {ix.name: (ix.unique, ix.elements(), ix.where) for ix in schema.table("users").indexes}
    assert got == {
        "ix_lower": (False, (("lower(email)", True),), ""),
        "ux_code": (True, (("lower(code)", True),), ""),
        "ix_mixed": (False, (("status", False), ("lower(email) DESC", True), ("id", False)), ""),
        "ix_open": (False, (("lower(email)", True),), "status <> 'closed'"),
        "ix_plain": (False, (("status", False), ("code", False)), ""),
    }
    out = relsynth.synthesize(source, target, seed=0)
    assert out["write"].verification.problems == 0
    assert not [c for c in out["write"].changes if "index" in c]
    made, had = _sqlite_indexes(target), _sqlite_indexes(source)
    assert made == had
    assert made["ix_mixed"][0] == "CREATE INDEX ix_mixed ON users (status, lower(email) DESC, id)"
    assert made["ux_code"][0] == "CREATE UNIQUE INDEX ux_code ON users (lower(code))"
    assert made["ix_open"][0] == "CREATE INDEX ix_open ON users (lower(email)) WHERE status <> 'closed'"


def test_sqlite_index_elements_as_written() -> None:
    """Commas and parentheses inside strings, quoted names and comments do not split an element."""
    from relsynth.reflection import _index_elements

    sql = """CREATE UNIQUE INDEX "ix, (x)" ON "t (1)" (
        "a,b" COLLATE NOCASE, -- a comment, with a comma )
        substr(c, 1, ','),  /* another ( */ [d e] DESC,
        coalesce(e, ')')
    ) WHERE e <> ','"""
    assert _index_elements(sql) == (
        ['"a,b" COLLATE NOCASE', "substr(c, 1, ',')", "[d e] DESC", "coalesce(e, ')')"],
        "e <> ','",
    )


def test_element_order_in_a_schema_file_and_a_model_file(sqlite_db, tmp_path) -> None:
    """The order goes through the schema JSON and the model file; one written before it (no
    "expression_at") still loads, with its expressions after its columns."""
    source = sqlite_db()
    run_sql(source, _SQLITE_SOURCE)
    schema = relsynth.reflect(source)
    text = schema.to_json()
    assert text.count('"expression_at"') == 1  # ix_mixed's: the others have the default order
    again = Schema.from_json(text)
    assert again.table("users").indexes == schema.table("users").indexes
    old = re.sub(r',\s*"expression_at": \[[^\]]*\]', "", text)
    assert '"expression_at"' not in old
    mixed = next(ix for ix in Schema.from_json(old).table("users").indexes if ix.name == "ix_mixed")
    assert mixed.expression_at == ()
    assert mixed.elements() == (("status", False), ("id", False), ("lower(email) DESC", True))
    broken = text.replace('"expression_at": [\n            1\n          ]', '"expression_at": [7]')
    assert broken != text
    (tmp_path / "broken.json").write_text(broken)
    with pytest.raises(relsynth.RelsynthError, match="expression_at"):
        Schema.load(tmp_path / "broken.json")  # a hand edit gone wrong is named

    model = relsynth.fit(source, seed=0)
    path = tmp_path / "m.relsynth"
    model.save(path)
    assert store.load(path).schema.table("users").indexes == schema.table("users").indexes
    with zipfile.ZipFile(path) as z:
        doc = json.loads(z.read("model.json"))
        arrays = z.read("arrays.npz")
    for table in doc["schema"]["tables"]:
        for ix in table.get("indexes", []):
            ix.pop("expression_at", None)
    older = tmp_path / "older.relsynth"
    with zipfile.ZipFile(older, "w") as z:
        z.writestr("model.json", json.dumps(doc))
        z.writestr("arrays.npz", arrays)
    loaded = store.load(older).schema.table("users").indexes
    assert {ix.name: ix.expression_at for ix in loaded} == dict.fromkeys(
        ("ix_lower", "ux_code", "ix_mixed", "ix_open", "ix_plain"), ()
    )


# Unique on the halves of even keys: the synthetic keys (consecutive) repeat under id / 2.
_HALVES = """
CREATE TABLE t (
    id integer PRIMARY KEY,
    v integer NOT NULL
);
CREATE UNIQUE INDEX ux_half ON t ((id / 2));
CREATE UNIQUE INDEX ux_id_v ON t (id, (v + 1));
"""


@pytest.mark.parametrize("db", ["sqlite", pytest.param("pg", marks=pytest.mark.postgresql)])
def test_a_unique_index_the_synthetic_rows_break_is_listed(db, request) -> None:
    """relsynth keeps columns unique, not expressions of them: a unique index on expressions that
    the synthetic rows repeat is listed as not recreated; the load goes on (it failed on
    PostgreSQL, and SQLite's was lost without a word). One they meet is created."""
    make = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    series = (
        "generate_series(1, 200) n"
        if db == "pg"
        else "(WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 200) SELECT n FROM g)"
    )
    run_sql(source, _HALVES + f"INSERT INTO t (id, v) SELECT 2 * n, n / 7 FROM {series};\n")
    out = relsynth.synthesize(source, target, seed=0)
    assert out["write"].verification.problems == 0
    assert out["write"].rows == {"t": 200}
    assert [n for n in out["write"].not_recreated if "index" in n] == [
        "unique index ux_half on t: some synthetic rows repeat a key under it (relsynth keeps "
        "columns unique, not expressions of them, and a partial index's key only where its WHERE "
        "holds)"
    ]
    query = (
        "SELECT indexname FROM pg_indexes WHERE tablename = 't'"
        if db == "pg"
        else "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    )
    assert {r[0] for r in fetch(target, query)} - {"t_pkey"} == {"ux_id_v"}


@pytest.mark.parametrize("db", ["sqlite", pytest.param("pg", marks=pytest.mark.postgresql)])
def test_a_column_beside_an_expression_is_not_unique(db, request) -> None:
    """UNIQUE (status, lower(email)) makes no column unique: status keeps its three values (it was
    taken for a unique key, and the copy held 300 made-up codes)."""
    make = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    series = (
        "generate_series(1, 300) n"
        if db == "pg"
        else "(WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 300) SELECT n FROM g)"
    )
    bucket = "mod(n, 3)" if db == "pg" else "n % 3"  # a '%' would be a placeholder for psycopg
    run_sql(
        source,
        "CREATE TABLE t (id integer PRIMARY KEY, status text NOT NULL, email text NOT NULL);\n"
        "CREATE UNIQUE INDEX ux_status_email ON t (status, lower(email));\n"
        f"INSERT INTO t (id, status, email) SELECT n, CASE {bucket} WHEN 0 THEN 'open' WHEN 1 THEN 'closed' "
        f"ELSE 'held' END, 'u' || n || '@example.org' FROM {series};\n",
    )
    out = relsynth.synthesize(source, target, seed=0)
    assert out["write"].verification.problems == 0
    assert out["model"].schema.table("t").column("status").kind.value == "categorical"
    assert {r[0] for r in fetch(target, "SELECT DISTINCT status FROM t")} <= {"open", "closed", "held"}
