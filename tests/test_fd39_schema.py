"""How the source's schema is recreated in the target (attack round 39, MariaDB findings F8, F10-F13).

F8) A view or trigger whose SQL names another database (MariaDB) or schema (PostgreSQL) was
    recreated as it was: the synthetic database's view served the real people of that other
    database, and its trigger wrote into the SOURCE (``INSERT INTO <source>.audit``). Such a view,
    trigger or trigger function is now not recreated and listed under "changed:" (its name, never
    its SQL), like a foreign key into another schema.
F10) A source table named ``_relsynth_staging`` (relsynth's bookkeeping table in a MySQL/MariaDB
    target) ran the whole run, then failed at the final RENAME with an internal error: refused
    before any data is read.
F11) A MariaDB table or column name of 64 characters into PostgreSQL (63 bytes at most) failed
    with an internal error (IdentifierError, or ProgrammingError for two columns alike in their
    first 63): refused before any data is read, naming the table or column and the limit.
F12) MariaDB INET4 / INET6 NOT NULL, not learned, were written as '' (no address): then one valid
    address of the documentation ranges, as PostgreSQL's inet gets.
F13) MariaDB's UUID became CHAR(36) on a MariaDB 10.7+ target, which has the type: kept.
"""

from __future__ import annotations

import ipaddress

import pytest
import sqlalchemy as sa

import relsynth
from relsynth.errors import SchemaError
from tests.conftest import fetch, run_sql, scalar


def _db(url: str) -> str:
    name = sa.make_url(url).database
    assert name
    return name


@pytest.mark.mysql
def test_mariadb_views_and_triggers_naming_another_database_are_not_recreated(
    request: pytest.FixtureRequest,
) -> None:
    people = request.getfixturevalue("mysql_db")()
    source = request.getfixturevalue("mysql_db")()
    target = request.getfixturevalue("mysql_db")()
    ppl, src, dst = _db(people), _db(source), _db(target)
    run_sql(
        people,
        "CREATE TABLE patients (id INT PRIMARY KEY, full_name VARCHAR(60), ssn CHAR(11));\n"
        "INSERT INTO patients VALUES (1, 'Zebulon Quackenbush', '078-05-1120')",
    )
    run_sql(
        source,
        f"""
        CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, qty INT NOT NULL, placed DATE NOT NULL);
        CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, order_id INT);
        INSERT INTO orders(qty, placed) SELECT MOD(seq, 9) + 1, '2024-01-01' + INTERVAL seq DAY FROM seq_1_to_300;
        INSERT INTO audit(order_id) SELECT id FROM orders;
        CREATE VIEW v_people AS SELECT full_name, ssn FROM {ppl}.patients;
        CREATE VIEW v_qty AS SELECT qty, COUNT(*) AS n FROM orders GROUP BY qty;
        CREATE TRIGGER trg_orders AFTER INSERT ON orders FOR EACH ROW INSERT INTO {src}.audit(order_id) VALUES (NEW.id);
        CREATE TRIGGER trg_own BEFORE UPDATE ON orders FOR EACH ROW INSERT INTO audit(order_id) VALUES (OLD.id)
        """,
    )
    result = relsynth.synthesize(source, target, seed=1)
    changes = result["write"].changes
    assert any(c.startswith("view v_people: not recreated: it names database") and ppl in c for c in changes)
    assert any(c.startswith("trigger trg_orders on orders: not recreated") and src in c for c in changes)
    assert not any("078-05" in c or "INSERT" in c for c in changes)  # names only, never the SQL
    views = fetch(target, f"SELECT table_name FROM information_schema.views WHERE table_schema = '{dst}'")
    assert views == [("v_qty",)]  # a view of the target's own tables is kept
    triggers = fetch(
        target, f"SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = '{dst}'"
    )
    assert triggers == [("trg_own",)]
    before = scalar(source, "SELECT COUNT(*) FROM audit")
    run_sql(target, "INSERT INTO orders(qty, placed) VALUES (1, '2025-01-01')")
    assert scalar(source, "SELECT COUNT(*) FROM audit") == before  # nothing reaches the source


@pytest.mark.postgresql
def test_postgresql_view_naming_another_schema_is_not_recreated(request: pytest.FixtureRequest) -> None:
    """One database, the synthetic tables in schema synth: a view over ppl.patients would read the
    real people from the synthetic schema."""
    source = request.getfixturevalue("pg_db")()
    run_sql(
        source,
        """
        CREATE SCHEMA ppl;
        CREATE TABLE ppl.patients (id int PRIMARY KEY, full_name text, ssn text);
        INSERT INTO ppl.patients VALUES (1, 'Zebulon Quackenbush', '078-05-1120');
        CREATE TABLE orders (id serial PRIMARY KEY, qty int NOT NULL);
        INSERT INTO orders (qty) SELECT mod(g, 9) + 1 FROM generate_series(1, 300) g;
        CREATE VIEW v_people AS SELECT full_name, ssn FROM ppl.patients;
        CREATE VIEW v_qty AS SELECT qty, count(*) AS n FROM orders GROUP BY qty
        """,
    )
    result = relsynth.synthesize(source, source, db_schema="public", target_schema="synth", seed=1)
    changes = result["write"].changes
    assert any(c.startswith("view v_people: not recreated: it names schema ppl") for c in changes)
    views = fetch(source, "SELECT table_name FROM information_schema.views WHERE table_schema = 'synth'")
    assert views == [("v_qty",)]


@pytest.mark.postgresql
def test_postgresql_trigger_function_naming_another_schema_is_not_recreated(
    request: pytest.FixtureRequest,
) -> None:
    """The target database has a schema ppl too (a copy of the source's, say)."""
    source = request.getfixturevalue("pg_db")()
    target = request.getfixturevalue("pg_db")()
    run_sql(target, "CREATE SCHEMA ppl;\nCREATE TABLE ppl.log (order_id int)")
    run_sql(
        source,
        """
        CREATE SCHEMA ppl;
        CREATE TABLE ppl.log (order_id int);
        CREATE TABLE orders (id serial PRIMARY KEY, qty int NOT NULL);
        CREATE TABLE audit (order_id int);
        INSERT INTO orders (qty) SELECT mod(g, 9) + 1 FROM generate_series(1, 300) g;
        CREATE FUNCTION to_log() RETURNS trigger LANGUAGE plpgsql AS
          'BEGIN INSERT INTO ppl.log VALUES (NEW.id); RETURN NEW; END';
        CREATE FUNCTION to_audit() RETURNS trigger LANGUAGE plpgsql AS
          'BEGIN INSERT INTO audit VALUES (NEW.id); RETURN NEW; END';
        CREATE TRIGGER trg_log AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION to_log();
        CREATE TRIGGER trg_audit AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION to_audit()
        """,
    )
    result = relsynth.synthesize(source, target, seed=1)
    changes = result["write"].changes
    assert any(c.startswith("trigger trg_log on orders: not recreated: it names schema ppl") for c in changes)
    triggers = fetch(target, "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1")
    assert triggers == [("trg_audit",)]
    run_sql(target, "INSERT INTO orders (qty) VALUES (1)")
    assert scalar(target, "SELECT count(*) FROM ppl.log") == 0


@pytest.mark.mysql
def test_a_source_table_named_like_the_bookkeeping_table_is_refused_up_front(
    request: pytest.FixtureRequest,
) -> None:
    source = request.getfixturevalue("mysql_db")()
    target = request.getfixturevalue("mysql_db")()
    run_sql(
        source,
        "CREATE TABLE _relsynth_staging (id INT PRIMARY KEY, note VARCHAR(20));\n"
        "INSERT INTO _relsynth_staging SELECT seq, CONCAT('n', MOD(seq, 7)) FROM seq_1_to_100;\n"
        "CREATE TABLE t (id INT PRIMARY KEY, x INT);\n"
        "INSERT INTO t SELECT seq, MOD(seq, 9) FROM seq_1_to_100",
    )
    with pytest.raises(SchemaError, match=r"_relsynth_staging: the name _relsynth_staging is reserved"):
        relsynth.synthesize(source, target, seed=1)
    assert fetch(target, "SHOW TABLES") == []
    # Left out, the rest is written.
    relsynth.synthesize(source, target, seed=1, exclude=("_relsynth_staging",))
    assert scalar(target, "SELECT COUNT(*) FROM t") == 100


@pytest.mark.mysql
@pytest.mark.postgresql
@pytest.mark.parametrize("which", ["table", "column", "columns alike in 63"])
def test_names_longer_than_postgresql_takes_are_refused_up_front(
    request: pytest.FixtureRequest, which: str
) -> None:
    source = request.getfixturevalue("mysql_db")()
    target = request.getfixturevalue("pg_db")()
    long = "t" * 64
    cols = {
        "table": "v INT",
        "column": f"`{'c' * 64}` INT",
        "columns alike in 63": f"`{'c' * 63}a` INT, `{'c' * 63}b` INT",
    }
    table = long if which == "table" else "t"
    run_sql(
        source,
        f"CREATE TABLE `{table}` (id INT PRIMARY KEY, {cols[which]});\n"
        f"INSERT INTO `{table}` (id) SELECT seq FROM seq_1_to_100",
    )
    what = "Table" if which == "table" else "Column"
    with pytest.raises(
        SchemaError,
        match=rf"^{what} .*: the {what.lower()} name has 64 bytes, and PostgreSQL keeps at most 63",
    ):
        relsynth.synthesize(source, target, seed=1)
    assert fetch(target, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'") == []


@pytest.mark.mysql
@pytest.mark.parametrize("other", ["mysql", "sqlite"])
def test_mariadb_inet4_and_inet6_not_null_get_a_valid_address(
    request: pytest.FixtureRequest, other: str
) -> None:
    source = request.getfixturevalue("mysql_db")()
    target = request.getfixturevalue(f"{other}_db")()
    run_sql(
        source,
        "CREATE TABLE devices (id INT AUTO_INCREMENT PRIMARY KEY, ip4 INET4 NOT NULL, ip6 INET6 NOT NULL, "
        "kind VARCHAR(10) NOT NULL);\n"
        "INSERT INTO devices (ip4, ip6, kind) SELECT CONCAT('10.0.', seq DIV 250, '.', MOD(seq, 250)), "
        "CONCAT('fe80::', HEX(seq)), ELT(1 + MOD(seq, 3), 'phone', 'laptop', 'iot') FROM seq_1_to_500",
    )
    relsynth.synthesize(source, target, seed=1)
    rows = fetch(target, "SELECT CAST(ip4 AS CHAR), CAST(ip6 AS CHAR) FROM devices")
    # Generated now (tests/test_mytp_types.py): documentation addresses of the column's family.
    assert len(rows) == 500 and len({r[1] for r in rows}) > 100
    assert all(ipaddress.ip_address(a).version == 4 and ipaddress.ip_address(b).version == 6 for a, b in rows)
    assert all(ipaddress.ip_address(b) in ipaddress.ip_network("2001:db8::/32") for _, b in rows)


@pytest.mark.mysql
def test_mariadb_uuid_is_kept_on_a_target_that_has_the_type(request: pytest.FixtureRequest) -> None:
    source = request.getfixturevalue("mysql_db")()
    target = request.getfixturevalue("mysql_db")()
    version = tuple(int(p) for p in str(scalar(source, "SELECT VERSION()")).split("-")[0].split(".")[:2])
    if version < (10, 7) or "mariadb" not in str(scalar(source, "SELECT VERSION()")).lower():
        pytest.skip("MariaDB 10.7+ has the UUID type")
    run_sql(
        source,
        "CREATE TABLE devices (id UUID NOT NULL DEFAULT UUID() PRIMARY KEY, kind VARCHAR(10) NOT NULL);\n"
        "CREATE TABLE pings (n INT AUTO_INCREMENT PRIMARY KEY, device UUID NOT NULL, "
        "FOREIGN KEY (device) REFERENCES devices (id));\n"
        "INSERT INTO devices (kind) SELECT ELT(1 + MOD(seq, 3), 'phone', 'laptop', 'iot') FROM seq_1_to_300;\n"
        "INSERT INTO pings (device) SELECT id FROM devices, seq_1_to_2",
    )
    result = relsynth.synthesize(source, target, seed=1)
    assert not [c for c in result["write"].changes if "uuid" in c.lower()]
    db = _db(target)
    types = fetch(
        target,
        f"SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = '{db}' "
        "AND column_name IN ('id', 'device') ORDER BY 1",
    )
    assert types == [("devices", "id", "uuid"), ("pings", "device", "uuid")]
    assert scalar(target, "SELECT COUNT(*) FROM pings p JOIN devices d ON d.id = p.device") == scalar(
        target, "SELECT COUNT(*) FROM pings"
    )


def test_a_column_of_a_table_named_like_a_database_is_no_other_database() -> None:
    """MySQL's employees sample: database employees, table employees. Its views read
    ``employees.emp_no`` (the database's own prefix taken off): a column, not another database."""
    from relsynth.writer import _reaches

    others = {"employees", "ppl"}
    columns = {"employees": frozenset({"emp_no", "hired"})}
    view = "CREATE VIEW `v` AS select `employees`.`emp_no` AS `emp_no` from `employees`"
    assert _reaches("mysql", [view], others, columns) is None
    trigger = (
        "CREATE TRIGGER `t` AFTER INSERT ON `x` FOR EACH ROW INSERT INTO employees.audit VALUES (NEW.id)"
    )
    assert "database employees" in (_reaches("mysql", [trigger], others, columns) or "")
    assert "database ppl" in (
        _reaches("mysql", ["select p . ssn from ppl . patients p"], others, columns) or ""
    )


@pytest.mark.mysql
@pytest.mark.postgresql
def test_an_index_name_longer_than_postgresql_takes_is_shortened_and_said(
    request: pytest.FixtureRequest,
) -> None:
    """Index names are relsynth's to choose where the target refuses one (as FK and CHECK names):
    two of 64 characters alike in their first 63 stay two."""
    source = request.getfixturevalue("mysql_db")()
    target = request.getfixturevalue("pg_db")()
    a, b = "i" * 63 + "a", "i" * 63 + "b"
    run_sql(
        source,
        f"CREATE TABLE t (id INT PRIMARY KEY, v INT, w INT, KEY `{a}` (v), KEY `{b}` (w));\n"
        "INSERT INTO t SELECT seq, MOD(seq, 4), MOD(seq, 7) FROM seq_1_to_100",
    )
    result = relsynth.synthesize(source, target, seed=1)
    assert (
        sum(f"index {a} renamed" in c and "longer than its 63 bytes" in c for c in result["write"].changes)
        == 1
    )
    names = [r[0] for r in fetch(target, "SELECT indexname FROM pg_indexes WHERE tablename = 't' ORDER BY 1")]
    assert len(names) == 3 and all(len(n) <= 63 for n in names)
