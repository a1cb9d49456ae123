"""`relsynth.synthesize` end to end on the five real datasets: PostgreSQL -> PostgreSQL and -> SQLite.

Every dataset is loaded once per session (``pg_datasets``) and synthesized (reflect, fit, sample,
write) into a fresh PostgreSQL database and into a fresh SQLite file. Each run is then checked
from outside relsynth, with SQLAlchemy on the target:

- relsynth's own SQL verification found 0 problems;
- every active table exists with exactly the rows relsynth says it wrote (and sampled);
- the foreign keys exist (as many as the source declares, validated), primary keys are kept, and
  PostgreSQL -> PostgreSQL keeps every column's type (``relsynth.reflection.reflect``);
- the source database is unchanged: a checksum of every table's rows and of its catalog (columns,
  constraints, indexes, sequences) is the same before and after each run, failed runs included.

Known relsynth bugs are marked ``xfail(strict=True)`` with the exact failure (see ``KNOWN_BUGS``):
when one is fixed the case XPASSes, which fails the run, so the mark has to be removed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from relsynth.api import synthesize
from relsynth.reflection import reflect
from relsynth.schema import Schema
from relsynth.writer import write

pytestmark = [pytest.mark.datasets, pytest.mark.postgresql]

# PostgreSQL schema each dataset is loaded into (None: public).
DB_SCHEMA = {
    "chinook": None,
    "northwind": None,
    "omop_synthea27nj": "cdm",
    "synthea_csv_11p": None,
    "tpch_sf0001": None,
}
SEED = 0

# (dataset, target) -> (exception the run raises, description of a known relsynth bug).
KNOWN_BUGS: dict[tuple[str, str], tuple[type[BaseException], str]] = {}  # none open today


def _cases() -> list[Any]:
    out = []
    for name in DB_SCHEMA:
        for target in ("postgresql", "sqlite"):
            bug = KNOWN_BUGS.get((name, target))
            marks = [pytest.mark.xfail(raises=bug[0], reason=bug[1], strict=True)] if bug else []
            out.append(pytest.param(name, target, marks=marks, id=f"{name}-{target}"))
    return out


# -- the source's fingerprint ---------------------------------------------------------------------
_USER_NAMESPACES = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'"
_CATALOG = {
    "columns": f"""
        SELECT n.nspname, c.relname, c.relkind, a.attnum, a.attname,
               format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm')
          AND {_USER_NAMESPACES}""",
    "constraints": f"""
        SELECT n.nspname, c.relname, k.conname, pg_get_constraintdef(k.oid), k.convalidated
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_USER_NAMESPACES}""",
    "indexes": f"""
        SELECT n.nspname, i.relname, pg_get_indexdef(i.oid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_namespace n ON n.oid = i.relnamespace WHERE {_USER_NAMESPACES}""",
    "triggers_views": f"""
        SELECT n.nspname, c.relname, coalesce(pg_get_viewdef(c.oid), '')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('v', 'm') AND {_USER_NAMESPACES}
        UNION ALL
        SELECT n.nspname, c.relname, pg_get_triggerdef(t.oid)
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND {_USER_NAMESPACES}""",
    "sequences": "SELECT schemaname, sequencename, last_value FROM pg_sequences",
}


def fingerprint(url: str) -> dict[str, Any]:
    """Row count and md5 of the sorted text of the rows of every user table, and md5s of the catalog."""
    out: dict[str, Any] = {}
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            prep = conn.dialect.identifier_preparer
            tables = conn.exec_driver_sql(
                "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                f"WHERE c.relkind = 'r' AND {_USER_NAMESPACES} ORDER BY 1, 2"
            ).all()
            for nsp, rel in tables:
                qualified = f"{prep.quote_schema(nsp)}.{prep.quote(rel)}"
                out[f"{nsp}.{rel}"] = tuple(
                    conn.exec_driver_sql(
                        "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
                        f"FROM {qualified} AS t"
                    ).one()
                )
            for what, query in _CATALOG.items():
                rows = sorted(repr(tuple(r)) for r in conn.exec_driver_sql(query))
                out[f"catalog: {what}"] = (len(rows), hashlib.md5("\n".join(rows).encode()).hexdigest())
    finally:
        engine.dispose()
    return out


@pytest.fixture(scope="module")
def sources(pg_datasets: Callable[[str], str]) -> Iterator[Callable[[str], tuple[str, dict[str, Any]]]]:
    """Dataset name -> (PostgreSQL URL, fingerprint taken before this module's first run on it)."""
    seen: dict[str, tuple[str, dict[str, Any]]] = {}

    def get(name: str) -> tuple[str, dict[str, Any]]:
        if name not in seen:
            url = pg_datasets(name)
            seen[name] = (url, fingerprint(url))
        return seen[name]

    yield get


def _assert_unchanged(url: str, before: dict[str, Any]) -> None:
    after = fingerprint(url)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"the source database changed: {changed}"


@contextmanager
def _connect(url: str) -> Iterator[tuple[sa.Connection, sa.Inspector]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            yield conn, sa.inspect(conn)
    finally:
        engine.dispose()


def _declared_fks(schema: Schema) -> set[tuple[str, tuple[str, ...], str, tuple[str, ...]]]:
    active = {t.name for t in schema.active_tables}
    return {
        (t.name, tuple(fk.columns), fk.ref_table, tuple(fk.ref_columns))
        for t in schema.active_tables
        for fk in t.foreign_keys
        if fk.ref_table in active and not fk.virtual
    }


def _fks(insp: sa.Inspector, db_schema: str | None) -> set[tuple[str, tuple[str, ...], str, tuple[str, ...]]]:
    return {
        (key[1], tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
        for key, fks in insp.get_multi_foreign_keys(schema=db_schema).items()
        for fk in fks
    }


def _fk_count(insp: sa.Inspector, db_schema: str | None) -> int:
    return sum(len(fks) for fks in insp.get_multi_foreign_keys(schema=db_schema).values())


def _types(schema: Schema) -> dict[str, tuple[str, str, bool]]:
    """table.column -> (portable type name, native spelling, nullable)."""
    return {
        f"{t.name}.{c.name}": (c.type.name, c.type.native, c.nullable)
        for t in schema.tables
        for c in t.columns
    }


# -- the tests ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("dataset", "target_kind"), _cases())
def test_synthesize(
    dataset: str,
    target_kind: str,
    sources: Callable[[str], tuple[str, dict[str, Any]]],
    pg_db: Callable[[], str],
    sqlite_db: Callable[[], str],
) -> None:
    source, before = sources(dataset)
    db_schema = DB_SCHEMA[dataset]
    target = pg_db() if target_kind == "postgresql" else sqlite_db()
    try:
        result = synthesize(source, target, db_schema=db_schema, seed=SEED)
    finally:  # checked after failed runs too; a failed run's exception still propagates
        _assert_unchanged(source, before)

    summary = result["write"]
    schema: Schema = result["model"].schema
    active = [t.name for t in schema.active_tables]
    assert active, "no table to synthesize"
    assert summary.verification.problems == 0, summary.verification.lines()
    assert set(result["seconds"]) == {"fit", "sample", "write"}

    # Row counts, counted here: what relsynth says it wrote, i.e. what it sampled minus CHECK drops.
    # PostgreSQL to PostgreSQL, the tables keep their schema (as pg_dump does).
    tschema = db_schema if target_kind == "postgresql" else None
    with _connect(target) as (conn, insp):
        present = set(insp.get_table_names(schema=tschema))
        assert set(active) <= present, f"missing tables: {sorted(set(active) - present)}"
        counted = {
            name: conn.execute(
                sa.select(sa.func.count()).select_from(sa.table(name, schema=tschema))
            ).scalar_one()
            for name in active
        }
        target_fks = _fks(insp, tschema)
        target_fk_count = _fk_count(insp, tschema)
        target_pks = {
            key[1]: tuple(pk["constrained_columns"])
            for key, pk in insp.get_multi_pk_constraint(schema=tschema).items()
        }
        unvalidated = (
            conn.exec_driver_sql(
                "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated"
            ).scalar_one()
            if target_kind == "postgresql"
            else conn.exec_driver_sql("SELECT count(*) FROM pragma_foreign_key_check").scalar_one()
        )
    assert counted == {name: summary.rows.get(name, 0) for name in active}
    sampled = {name: len(result["tables"][name]) - summary.dropped_for_checks.get(name, 0) for name in active}
    assert counted == sampled
    assert sum(counted.values()) > 0

    # Foreign keys (PostgreSQL adds them after the load, validated; SQLite has them in CREATE TABLE)
    # and primary keys: the same as the source declares.
    with _connect(source) as (_, src_insp):
        source_fk_count = _fk_count(src_insp, db_schema)
        source_fks = _fks(src_insp, db_schema)
    assert source_fk_count == len(_declared_fks(schema)) > 0
    assert target_fk_count == source_fk_count
    assert target_fks == source_fks == _declared_fks(schema)
    assert unvalidated == 0
    assert {n: target_pks.get(n, ()) for n in active} == {
        n: tuple(schema.table(n).primary_key) for n in active
    }

    if target_kind == "postgresql":  # same dialect: every column keeps its type, spelling and NULLability
        assert _types(reflect(target, schema=tschema, profile=False)) == _types(
            reflect(source, schema=db_schema, profile=False)
        )


@pytest.mark.parametrize("dataset", list(DB_SCHEMA))
def test_postgresql_schema_only(
    dataset: str, sources: Callable[[str], tuple[str, dict[str, Any]]], pg_db: Callable[[], str]
) -> None:
    """The target DDL alone (no data): types, FKs and PKs of every dataset, the ones whose data
    cannot be written today (KNOWN_BUGS) included."""
    source, before = sources(dataset)
    db_schema = DB_SCHEMA[dataset]
    schema = reflect(source, schema=db_schema, profile=False)
    target = pg_db()
    summary = write({}, schema, target, schema_only=True)
    assert summary.verification.problems == 0
    assert _types(reflect(target, schema=db_schema, profile=False)) == _types(schema)
    with _connect(target) as (_, insp):
        assert _fks(insp, db_schema) == _declared_fks(schema)
        assert _fk_count(insp, db_schema) == len(_declared_fks(schema))
        pks = {
            key[1]: tuple(pk["constrained_columns"])
            for key, pk in insp.get_multi_pk_constraint(schema=db_schema).items()
        }
    assert {t.name: pks.get(t.name, ()) for t in schema.tables} == {
        t.name: t.primary_key for t in schema.tables
    }
    _assert_unchanged(source, before)
