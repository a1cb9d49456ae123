"""Several database schemas at once (--schema a --schema b), as pg_dump does: tables are written into
schemas of the same names in the target (created in the load's transaction), foreign keys between
the schemas are kept, and two tables of one name in different schemas stay apart. On MariaDB a schema
is a database. Targets that cannot hold several schemas are refused in one line, before any data is
read."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from relsynth.errors import RelsynthError
from relsynth.writer import write
from tests.conftest import run_sql

PG = """
CREATE SCHEMA crm;
CREATE SCHEMA sales;
CREATE TABLE crm.customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL, tier TEXT NOT NULL);
CREATE TABLE sales.customer (
  id INTEGER PRIMARY KEY, region TEXT NOT NULL, crm_id INTEGER NOT NULL REFERENCES crm.customer (id)
);
CREATE TABLE sales.orders (
  id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES sales.customer (id),
  amount NUMERIC(8, 2) NOT NULL, placed DATE NOT NULL
);
CREATE TABLE crm.note (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES sales.orders (id), body TEXT);
CREATE TABLE public.elsewhere (id INTEGER PRIMARY KEY);
INSERT INTO crm.customer SELECT g, 'Customer ' || g, CASE WHEN mod(g, 3) = 0 THEN 'gold' ELSE 'basic' END
FROM generate_series(1, 60) g;
INSERT INTO sales.customer SELECT g, CASE WHEN mod(g, 2) = 0 THEN 'north' ELSE 'south' END, 1 + mod(g * 7, 60)
FROM generate_series(1, 80) g;
INSERT INTO sales.orders SELECT g, 1 + mod(g * 13, 80), 10 + mod(g * 37, 500) / 4.0, DATE '2024-01-01' + mod(g, 300)
FROM generate_series(1, 240) g;
INSERT INTO crm.note SELECT g, 1 + mod(g * 5, 240), CASE WHEN mod(g, 4) = 0 THEN NULL ELSE 'called back' END
FROM generate_series(1, 120) g;
INSERT INTO public.elsewhere VALUES (1);
"""

SCHEMAS = ("crm", "sales")


def _scalar(url: str, sql: str) -> object:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql(sql).scalar()
    finally:
        engine.dispose()


def _tables(url: str, schema: str | None = None) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names(schema=schema))
    finally:
        engine.dispose()


def _cross_fks(url: str) -> set[tuple[str, str]]:
    """(child schema.table, parent schema.table) of every FK that crosses a schema."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT sn.nspname || '.' || s.relname, dn.nspname || '.' || d.relname FROM pg_constraint c "
                "JOIN pg_class s ON s.oid = c.conrelid JOIN pg_namespace sn ON sn.oid = s.relnamespace "
                "JOIN pg_class d ON d.oid = c.confrelid JOIN pg_namespace dn ON dn.oid = d.relnamespace "
                "WHERE c.contype = 'f' AND sn.nspname <> dn.nspname"
            ).all()
    finally:
        engine.dispose()
    return {(a, b) for a, b in rows}


def _stages() -> tuple[list[str], Callable[[str, int, int], None]]:
    seen: list[str] = []
    return seen, lambda stage, done, total: seen.append(stage)


@pytest.fixture
def pg_source(pg_db) -> str:
    url = pg_db()
    run_sql(url, PG)
    return url


def test_two_schemas_go_to_schemas_of_the_same_names(pg_source: str, pg_db) -> None:
    target = pg_db()
    result = relsynth.synthesize(pg_source, target, db_schema=SCHEMAS, seed=2)
    assert result["write"].verification.problems == 0
    assert _tables(target, "crm") == {"customer", "note"}
    assert _tables(target, "sales") == {"customer", "orders"}
    assert _tables(target) == set()  # nothing in public: elsewhere was not asked for
    assert _cross_fks(target) == {("sales.customer", "crm.customer"), ("crm.note", "sales.orders")}
    # Two tables named customer, kept apart: their own columns and row counts.
    engine = sa.create_engine(target)
    try:
        insp = sa.inspect(engine)
        assert {c["name"] for c in insp.get_columns("customer", schema="crm")} == {"id", "name", "tier"}
        assert {c["name"] for c in insp.get_columns("customer", schema="sales")} == {"id", "region", "crm_id"}
    finally:
        engine.dispose()
    assert _scalar(target, "SELECT count(*) FROM crm.customer") == 60
    assert _scalar(target, "SELECT count(*) FROM sales.customer") == 80
    orphans = _scalar(
        target,
        "SELECT count(*) FROM crm.note n LEFT JOIN sales.orders o ON o.id = n.order_id WHERE o.id IS NULL",
    )
    assert orphans == 0
    tiers = _scalar(target, "SELECT count(DISTINCT tier) FROM crm.customer")
    assert tiers == 2


def test_the_cli_takes_several_schemas(pg_source: str, pg_db, tmp_path: Path) -> None:
    shown = CliRunner().invoke(main, ["-q", "inspect", pg_source, "--schema", "crm", "--schema", "sales"])
    assert shown.exit_code == 0, shown.output
    assert "crm.customer" in shown.output and "sales.customer" in shown.output
    assert "elsewhere" not in shown.output
    model = tmp_path / "m.rsm"
    fitted = CliRunner().invoke(
        main, ["-q", "fit", pg_source, "--schema", "crm", "--schema", "sales", "-o", str(model)]
    )
    assert fitted.exit_code == 0, fitted.output
    target = pg_db()
    written = CliRunner().invoke(main, ["-q", "sample", str(model), "--target", target])
    assert written.exit_code == 0, written.output
    assert _tables(target, "sales") == {"customer", "orders"}
    report = tmp_path / "r.json"
    args = [
        "-q",
        "evaluate",
        pg_source,
        target,
        "--schema",
        "crm",
        "--schema",
        "sales",
        "--json",
        str(report),
    ]
    evaluated = CliRunner().invoke(main, args)
    assert evaluated.exit_code == 0, evaluated.output
    numbers = json.loads(report.read_text())
    assert numbers["integrity"]["problems"] == 0
    assert "sales.customer" in json.dumps(numbers)


def test_sqlite_targets_that_hold_one_schema_are_refused_before_reading(pg_source: str, sqlite_db) -> None:
    target = sqlite_db()
    seen, progress = _stages()
    with pytest.raises(RelsynthError, match="PostgreSQL database, or synthesize one schema at a time"):
        relsynth.synthesize(pg_source, target, db_schema=SCHEMAS, progress=progress)
    assert "read" not in seen and "reflect" not in seen
    args = ["-q", "synthesize", pg_source, target, "--schema", "crm", "--schema", "sales", "--no-report"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output


def test_target_schema_with_several_schemas_is_one_line(pg_source: str, pg_db) -> None:
    args = [
        "-q",
        "synthesize",
        pg_source,
        pg_db(),
        "--schema",
        "crm",
        "--schema",
        "sales",
        "--target-schema",
        "x",
    ]
    result = CliRunner().invoke(main, [*args, "--no-report"])
    assert result.exit_code == 1 and "--target-schema names one schema" in result.output, result.output


def test_a_failed_load_creates_no_schema(pg_source: str, pg_db) -> None:
    """The schemas are created in the load's transaction: a failure leaves none behind."""
    model = relsynth.fit(pg_source, db_schema=SCHEMAS, seed=1)
    tables = relsynth.sample(model)
    target = pg_db()
    with pytest.raises(RelsynthError, match="failure injected"):
        write(tables, model.schema, target, plan=model.plan, fail_after="sales.orders")
    assert _scalar(target, "SELECT count(*) FROM pg_namespace WHERE nspname IN ('crm', 'sales')") == 0
    write(tables, model.schema, target, plan=model.plan)
    assert _tables(target, "crm") == {"customer", "note"}


MARIADB = """
CREATE TABLE {a}.account (id INTEGER PRIMARY KEY, kind VARCHAR(10) NOT NULL) ENGINE=InnoDB;
CREATE TABLE {b}.account (
  id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL, amount DECIMAL(8, 2) NOT NULL,
  FOREIGN KEY (owner_id) REFERENCES {a}.account (id)
) ENGINE=InnoDB;
"""


def test_mariadb_databases_are_schemas(mysql_db, pg_db) -> None:
    """On MariaDB a schema is a database: two databases in, two PostgreSQL schemas out, the FK
    between them kept. Into the same MariaDB server they would be the source's own databases."""
    first, second = mysql_db(), mysql_db()
    a, b = sa.make_url(first).database, sa.make_url(second).database
    run_sql(first, MARIADB.format(a=f"`{a}`", b=f"`{b}`"))
    run_sql(
        first,
        f"INSERT INTO `{a}`.account VALUES " + ", ".join(f"({i}, 'k{i % 3}')" for i in range(1, 41)) + ";",
    )
    rows = ", ".join(f"({i}, {1 + i % 40}, {i * 1.25})" for i in range(1, 101))
    run_sql(first, f"INSERT INTO `{b}`.account VALUES {rows};")
    try:
        target = pg_db()
        result = relsynth.synthesize(first, target, db_schema=(a, b), seed=3)
        assert result["write"].verification.problems == 0
        assert _tables(target, a) == {"account"} and _tables(target, b) == {"account"}
        assert _cross_fks(target) == {(f"{b}.account", f"{a}.account")}
        with pytest.raises(RelsynthError, match="is the source database itself"):  # the same server
            relsynth.synthesize(first, mysql_db(), db_schema=(a, b))
    finally:  # the FK between the databases would keep the first from being dropped
        run_sql(first, f"DROP TABLE `{b}`.account;")


def test_a_mariadb_target_gets_one_database_per_schema(pg_db, mysql_db) -> None:
    """Into MariaDB, each schema becomes a database of the same name on the target's server: created
    if missing (just before the swap), the FK between them kept; --replace works there too."""
    home = mysql_db()  # the target URL's own database: where the staging tables are made
    names = [sa.make_url(mysql_db()).database for _ in range(2)]
    engine = sa.create_engine(home)
    try:
        with engine.begin() as conn:
            for name in names:  # free names on the server, as a new target's would be
                conn.exec_driver_sql(f"DROP DATABASE `{name}`")
    finally:
        engine.dispose()
    source = pg_db()
    script = PG.replace("crm", names[0]).replace("sales", names[1])
    script = script.replace(f"{names[0]}.", f'"{names[0]}".').replace(f"{names[1]}.", f'"{names[1]}".')
    script = script.replace(f"SCHEMA {names[0]}", f'SCHEMA "{names[0]}"').replace(
        f"SCHEMA {names[1]}", f'SCHEMA "{names[1]}"'
    )
    run_sql(source, script)
    try:
        model = relsynth.fit(source, db_schema=tuple(names), seed=5)
        with pytest.raises(RelsynthError, match="failure injected"):  # nothing left: no database either
            write(
                relsynth.sample(model), model.schema, home, plan=model.plan, fail_after=f"{names[1]}.orders"
            )
        engine = sa.create_engine(home)
        try:
            assert not set(names) & set(sa.inspect(engine).get_schema_names())
            assert not {t for t in sa.inspect(engine).get_table_names() if t.startswith("_r")}
        finally:
            engine.dispose()
        for replace in (False, True):
            result = relsynth.synthesize(source, home, db_schema=tuple(names), seed=5, replace=replace)
            assert result["write"].verification.problems == 0
            assert _tables(home, names[0]) == {"customer", "note"}
            assert _tables(home, names[1]) == {"customer", "orders"}
            assert not {t for t in _tables(home) if t.startswith("_rs")}
        engine = sa.create_engine(home)
        try:
            with engine.connect() as conn:
                crossing = conn.exec_driver_sql(
                    "SELECT TABLE_SCHEMA, TABLE_NAME, REFERENCED_TABLE_SCHEMA FROM "
                    "information_schema.KEY_COLUMN_USAGE WHERE REFERENCED_TABLE_NAME IS NOT NULL "
                    "AND TABLE_SCHEMA <> REFERENCED_TABLE_SCHEMA AND TABLE_SCHEMA IN (%s, %s)",
                    tuple(names),
                ).all()
                notes = conn.exec_driver_sql(f"SELECT count(*) FROM `{names[0]}`.note").scalar()
        finally:
            engine.dispose()
        assert {(r[0], r[1], r[2]) for r in crossing} == {
            (names[1], "customer", names[0]),
            (names[0], "note", names[1]),
        }
        assert notes == 120
    finally:
        engine = sa.create_engine(home)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
                for name in names:
                    conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            engine.dispose()
