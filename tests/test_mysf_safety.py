"""Attack atk41my: a target the source's own views, triggers, routines or events reach; a
--target-schema a MariaDB or SQLite target cannot honour; two messages that said less than they
should (a count beside fewer names, a rejected type without its column)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from relsynth.errors import RelsynthError
from relsynth.guard import SameDatabase, clean_up
from tests.conftest import fetch, run_raw, scalar

# What the source's object does with the other database (`other` is replaced by its name).
MARIADB_CODE = {
    "view v_order_voucher": "CREATE VIEW v_order_voucher AS SELECT o.order_id, v.code, v.value "
    "FROM shop_order o JOIN `other`.voucher v ON v.code = o.voucher_code",
    "trigger log_order": "CREATE TRIGGER log_order AFTER INSERT ON shop_order FOR EACH ROW "
    "INSERT INTO `other`.voucher (code, value) VALUES (CONCAT('T', NEW.order_id), 1)",
    "procedure count_vouchers": "CREATE PROCEDURE count_vouchers() SELECT COUNT(*) FROM `other`.voucher",
    "event purge_vouchers": "CREATE EVENT purge_vouchers ON SCHEDULE EVERY 1 DAY DISABLE "
    "DO DELETE FROM `other`.voucher WHERE value < 0",
}


def _stages() -> tuple[list[str], Callable[[str, int, int], None]]:
    seen: list[str] = []
    return seen, lambda stage, done, total: seen.append(stage)


def _mariadb_shop(source: str, other: str, code: str) -> None:
    """A shop whose `code` names database `other`, which holds real vouchers; the source has a
    voucher table of its own too (so --replace into `other` would rewrite that one)."""
    name = sa.make_url(other).database
    run_raw(
        other,
        "CREATE TABLE voucher (voucher_id INT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(8) NOT NULL UNIQUE, "
        "value DECIMAL(6,2) NOT NULL)",
        "INSERT INTO voucher (code, value) SELECT CONCAT('REAL', seq), 5 * (1 + seq % 4) FROM seq_1_to_2000",
    )
    run_raw(
        source,
        "CREATE TABLE shop_order (order_id INT AUTO_INCREMENT PRIMARY KEY, voucher_code VARCHAR(8) NULL, "
        "total DECIMAL(8,2) NOT NULL, ordered DATE NOT NULL)",
        "INSERT INTO shop_order (voucher_code, total, ordered) SELECT IF(seq % 3 = 0, "
        "CONCAT('REAL', seq % 2000 + 1), NULL), 10 + seq % 90, '2024-01-01' + INTERVAL seq % 200 DAY "
        "FROM seq_1_to_3000",
        "CREATE TABLE voucher (voucher_id INT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(8) NOT NULL UNIQUE, "
        "value DECIMAL(6,2) NOT NULL)",
        "INSERT INTO voucher (code, value) SELECT CONCAT('LOC', seq), 5 * (1 + seq % 4) FROM seq_1_to_500",
        code.replace("`other`", f"`{name}`"),
    )


def _vouchers(url: str) -> list[tuple[object, ...]]:
    return fetch(url, "SELECT COUNT(*), MIN(code), SUM(value), SUM(CRC32(code)) FROM voucher")


@pytest.mark.mysql
@pytest.mark.parametrize("what", list(MARIADB_CODE))
def test_no_target_in_a_database_the_sources_code_reaches(mysql_db: Callable[[], str], what: str) -> None:
    """f_replace_db_source_view_reads: the source's view joined rs_x.voucher, and `synthesize SRC
    .../rs_x --replace` replaced its 2,000 real rows (the view went from 1,000 rows to 0). A
    database a source's view, trigger, procedure or event names is refused as a target, with or
    without --replace, before the source is read; one line naming the object and the database."""
    source, other = mysql_db(), mysql_db()
    name = str(sa.make_url(other).database)
    _mariadb_shop(source, other, MARIADB_CODE[what])
    before = _vouchers(other)
    view = fetch(source, "SELECT COUNT(*) FROM v_order_voucher") if what.startswith("view") else None
    for replace in (True, False):
        seen, progress = _stages()
        with pytest.raises(SameDatabase) as caught:
            relsynth.synthesize(source, other, replace=replace, progress=progress)
        said = str(caught.value)
        assert f"(database {name}) is a database the source's {what} reads or writes" in said, said
        assert "choose another database" in said and "\n" not in said and "REAL" not in said
        assert "reflect" not in seen and "read" not in seen
    assert _vouchers(other) == before
    assert (
        scalar(other, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()") == 1
    )
    if view is not None:
        assert fetch(source, "SELECT COUNT(*) FROM v_order_voucher") == view


@pytest.mark.mysql
def test_an_empty_database_the_sources_code_names_is_refused_too(
    mysql_db: Callable[[], str], tmp_path: Path
) -> None:
    """Without --replace into an empty database: the tables created there are what the source's
    procedure would read from then on. Refused; also when a model file is sampled into it. Another
    database is fine (the view naming the other one is not recreated there, as before)."""
    source, other, third = mysql_db(), mysql_db(), mysql_db()
    run_raw(
        source,
        "CREATE TABLE shop_order (order_id INT PRIMARY KEY, total DECIMAL(8,2) NOT NULL)",
        "INSERT INTO shop_order SELECT seq, 10 + seq % 90 FROM seq_1_to_500",
        f"CREATE PROCEDURE totals() SELECT SUM(total) FROM `{sa.make_url(other).database}`.shop_order",
    )
    result = CliRunner().invoke(main, ["synthesize", source, other, "--no-report"])
    assert result.exit_code == 1, result.output
    assert "is a database the source's procedure totals reads or writes" in result.output
    assert (
        scalar(other, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()") == 0
    )
    model = tmp_path / "m.rsm"
    relsynth.fit(source, seed=0).save(model)
    result = CliRunner().invoke(main, ["sample", str(model), "--target", other])
    assert result.exit_code == 1 and "procedure totals reads or writes" in result.output, result.output
    assert (
        scalar(other, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()") == 0
    )
    # An unrelated database: written as ever.
    assert relsynth.synthesize(source, third, seed=1)["write"].verification.problems == 0
    assert scalar(third, "SELECT COUNT(*) FROM shop_order") > 0


PG_TRIGGER = r"""
CREATE SCHEMA reporting;
CREATE TABLE reporting.audit (id serial PRIMARY KEY, order_id int, at date);
INSERT INTO reporting.audit (order_id, at) SELECT g, DATE '2024-01-01' + g % 100 FROM generate_series(1, 500) g;
CREATE TABLE public.audit (id serial PRIMARY KEY, order_id int, at date);
INSERT INTO public.audit (order_id, at) SELECT g, DATE '2024-01-01' + g % 100 FROM generate_series(1, 50) g;
CREATE TABLE public.orders (id int PRIMARY KEY, qty int);
INSERT INTO public.orders SELECT g, g % 7 FROM generate_series(1, 1000) g;
CREATE FUNCTION public.log_order() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO reporting.audit (order_id, at) VALUES (NEW.id, current_date); RETURN NEW; END $$;
CREATE TRIGGER t_log AFTER INSERT ON public.orders FOR EACH ROW EXECUTE FUNCTION public.log_order();
CREATE FUNCTION public.n_orders() RETURNS bigint LANGUAGE plpgsql AS
  $$ BEGIN RETURN (SELECT count(*) FROM later.orders); END $$;
"""


@pytest.mark.postgresql
def test_no_target_schema_the_sources_code_reaches(pg_db: Callable[[], str]) -> None:
    """PostgreSQL, one database: synthesizing schema public into --target-schema reporting
    --replace replaced reporting.audit, which the source's trigger writes its real audit rows
    into (a function's body is no dependency PostgreSQL tracks). A schema of the source's
    database that a view, trigger or function names is refused, with or without --replace (an
    empty schema `later` that a function reads too); another schema is fine."""
    source = pg_db()
    run_raw(source, *[s for s in PG_TRIGGER.split(";\n") if s.strip()])
    audit = "SELECT count(*), sum(order_id), min(at) FROM reporting.audit"
    before = fetch(source, audit)
    for schema, replace, what in (
        ("reporting", True, "trigger t_log"),
        ("reporting", False, "trigger t_log"),
        ("later", False, "function n_orders"),
    ):
        seen, progress = _stages()
        with pytest.raises(SameDatabase) as caught:
            relsynth.synthesize(source, source, target_schema=schema, replace=replace, progress=progress)
        said = str(caught.value)
        assert f"(schema {schema}) is a schema the source's {what} reads or writes" in said, said
        assert "reflect" not in seen
    assert fetch(source, audit) == before
    assert scalar(source, "SELECT count(*) FROM pg_namespace WHERE nspname = 'later'") == 0
    assert (
        relsynth.synthesize(source, source, target_schema="synth", seed=1)["write"].verification.problems == 0
    )
    assert fetch(source, audit) == before


# -- --target-schema where the target has no schemas -------------------------------------------------
@pytest.mark.mysql
def test_target_schema_is_refused_where_it_cannot_be_honoured(
    mysql_db: Callable[[], str], tmp_path: Path
) -> None:
    """f_target_schema_ignored_mariadb: --target-schema wanted on a MariaDB target wrote into the
    URL's database without a word (a SQLite target alike). The README gives --target-schema to
    PostgreSQL; a MariaDB database is the schema itself. Refused in one line before any database is
    reached; the URL's own database named again changes nothing and is allowed."""
    source, target, wanted = mysql_db(), mysql_db(), mysql_db()
    run_raw(
        source,
        "CREATE TABLE item (id INT PRIMARY KEY, w DOUBLE)",
        "INSERT INTO item SELECT seq, seq * 0.5 FROM seq_1_to_200",
    )
    name = str(sa.make_url(wanted).database)
    result = CliRunner().invoke(main, ["synthesize", source, target, "--target-schema", name, "--no-report"])
    assert result.exit_code == 1, result.output
    assert "MySQL/MariaDB has no schemas inside a database" in result.output
    assert f"(mysql://HOST/{name})" in result.output
    for url in (target, wanted):
        assert (
            scalar(url, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()") == 0
        )
    with pytest.raises(RelsynthError, match="MySQL/MariaDB has no schemas"):
        relsynth.synthesize("mysql://nobody@127.0.0.1:1/none", target, target_schema=name)
    sqlite = tmp_path / "t.db"
    with pytest.raises(RelsynthError, match="a sqlite target has no schemas to choose from"):
        relsynth.synthesize(source, f"sqlite:///{sqlite}", target_schema="s")
    assert not sqlite.exists()
    from relsynth.guard import refuse_target_schema

    refuse_target_schema(target, str(sa.make_url(target).database))  # no change: allowed
    refuse_target_schema("postgresql://h/db", "s")


# -- messages ----------------------------------------------------------------------------------------
@pytest.mark.mysql
def test_removed_staging_tables_are_counted_as_named(mysql_db: Callable[[], str]) -> None:
    """ "removed 7 staging tables ...:" listed 5 names: the count and the list now agree."""
    url = mysql_db()
    names = [f"_rsdead0000beef_{i}" for i in range(7)]
    run_raw(
        url,
        *[f"CREATE TABLE {n} (id INT)" for n in names],
        "CREATE TABLE _relsynth_staging (run VARCHAR(32) NOT NULL, kind VARCHAR(8) NOT NULL, "
        "name VARCHAR(64) NOT NULL, definition TEXT)",
        "INSERT INTO _relsynth_staging VALUES "
        + ", ".join(f"('dead0000beef', 'table', '{n}', NULL)" for n in names),
    )
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            notes = clean_up(conn)
    finally:
        engine.dispose()
    (note,) = notes
    assert note.startswith("removed 7 staging tables left by an interrupted relsynth run: ")
    listed = note.split(": ", 1)[1]
    shown, _, more = listed.partition(" and ")
    assert len(shown.split(", ")) + int(more.split()[0] if more else 0) == 7, note
    assert scalar(url, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()") == 0


@pytest.mark.mysql
def test_a_type_rejected_into_existing_tables_names_its_column(mysql_db: Callable[[], str]) -> None:
    """t_emoji_latin1: a copied label holding an emoji, into an existing latin1 table: the error
    named the table but not the column. It names the column now, and never the value."""
    source, target = mysql_db(), mysql_db()
    for url, charset in ((source, "utf8mb4"), (target, "latin1")):
        run_raw(
            url,
            f"ALTER DATABASE CHARACTER SET {charset}",
            "CREATE TABLE order_status_type (status_code CHAR(2) PRIMARY KEY, label VARCHAR(40) NOT NULL)",
            "CREATE TABLE ticket (ticket_id INT AUTO_INCREMENT PRIMARY KEY, status_code CHAR(2) NOT NULL, "
            "opened DATE NOT NULL, FOREIGN KEY (status_code) REFERENCES order_status_type (status_code))",
        )
    run_raw(
        source,
        "INSERT INTO order_status_type VALUES ('OP', 'Open \U0001f680 SECRETLABEL'), ('CL', 'Closed \u5b8c\u4e86'), "
        "('HO', 'On hold')",
        "INSERT INTO ticket (status_code, opened) SELECT ELT(1 + seq % 3, 'OP', 'CL', 'HO'), "
        "'2024-01-01' + INTERVAL seq % 300 DAY FROM seq_1_to_3000",
    )
    with pytest.raises(RelsynthError) as caught:
        relsynth.synthesize(source, target, into_existing=True)
    said = str(caught.value)
    assert (
        "table order_status_type in the target rejected synthetic rows on a column's type (column label)"
        in said
    )
    assert "SECRET" not in said and "\\x" not in said and "\U0001f680" not in said
    assert scalar(target, "SELECT COUNT(*) FROM order_status_type") == 0
