"""Attack round 14, MariaDB.

A) PostgreSQL -> MariaDB: UNIQUE codes differing only in case (UCUM 'mm' millimetre, 'Mm'
   megametre) met MariaDB's case-insensitive default collation: the load failed with an internal
   error. String columns from a case-sensitive source now take a binary (NO PAD) collation, said
   once under "changed:".
B) A SELECT-only MariaDB source user (what the README asks of a source) lost every declared FK
   (MariaDB hides information_schema.REFERENTIAL_CONSTRAINTS from it: they came out "inferred"
   and were not created), and its triggers and views silently. FKs are read from
   KEY_COLUMN_USAGE (with their ON DELETE/UPDATE from SHOW CREATE TABLE); what the user cannot
   read is named with the privilege it lacks.
C) MariaDB -> MariaDB dropped silently a SEQUENCE with its DEFAULT NEXTVAL(seq), the INVISIBLE
   flag with its DEFAULT, WITH SYSTEM VERSIONING and stored functions. The first three are
   recreated (versioning after the load); stored routines are listed under "not recreated".
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest
import sqlalchemy as sa

import relsynth
from tests.conftest import fetch, run_sql, scalar

UNITS = [("mm", "millimeter"), ("Mm", "megameter"), ("ms", "millisecond"), ("Ms", "megasecond")]
UNITS += [("a", "year"), ("A", "ampere"), ("g", "gram"), ("kg", "kilogram"), ("L", "liter"), ("l", "litre")]


def _units_sql() -> str:
    rows = [
        "CREATE TABLE unit (unit_id int PRIMARY KEY, ucum_code varchar(20) NOT NULL UNIQUE, label text NOT NULL);",
        "CREATE TABLE reading (reading_id int PRIMARY KEY, "
        "unit_code varchar(20) NOT NULL REFERENCES unit (ucum_code), value numeric(10,3) NOT NULL);",
    ]
    rows += [f"INSERT INTO unit VALUES ({i}, '{c}', '{label}');" for i, (c, label) in enumerate(UNITS, 1)]
    rows += [
        f"INSERT INTO reading VALUES ({i}, '{UNITS[i % len(UNITS)][0]}', {i % 97}.5);" for i in range(1, 301)
    ]
    return "\n".join(rows)


@pytest.mark.postgresql
@pytest.mark.mysql
def test_case_distinct_unique_codes_from_postgresql_load_into_mariadb(request: pytest.FixtureRequest) -> None:
    source = request.getfixturevalue("pg_db")()
    target = request.getfixturevalue("mysql_db")()
    run_sql(source, _units_sql())
    result = relsynth.synthesize(source, target, seed=1)
    codes = [r[0] for r in fetch(target, "SELECT ucum_code FROM unit")]
    assert len(codes) == len(set(codes)) and {"mm", "Mm"} <= set(codes)
    db = sa.make_url(target).database
    collations = dict(
        fetch(
            target,
            "SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME), COLLATION_NAME FROM information_schema.COLUMNS "
            f"WHERE TABLE_SCHEMA = '{db}' AND COLLATION_NAME IS NOT NULL",
        )
    )
    # every string column compares case-sensitively, the FK pair alike
    assert collations["unit.ucum_code"] == collations["reading.unit_code"]
    assert all(c.endswith("_bin") for c in collations.values()), collations
    said = [c for c in result["write"].changes if "COLLATE" in c]
    assert len(said) == 1 and "case" in said[0]
    assert scalar(target, "SELECT COUNT(*) FROM unit WHERE ucum_code = 'MM'") == 0


READ_ONLY_SOURCE = """
CREATE TABLE address (address_id smallint unsigned PRIMARY KEY, city varchar(30) NOT NULL);
CREATE TABLE staff (staff_id int PRIMARY KEY, boss int, home smallint unsigned NOT NULL,
  CONSTRAINT fk_boss FOREIGN KEY (boss) REFERENCES staff (staff_id),
  CONSTRAINT fk_home FOREIGN KEY (home) REFERENCES address (address_id) ON DELETE CASCADE ON UPDATE CASCADE);
CREATE VIEW staff_city AS SELECT s.staff_id, a.city FROM staff s JOIN address a ON a.address_id = s.home;
CREATE TRIGGER trg_city BEFORE INSERT ON address FOR EACH ROW SET NEW.city = TRIM(NEW.city)
"""


@pytest.mark.mysql
def test_select_only_source_user_keeps_declared_foreign_keys(request: pytest.FixtureRequest) -> None:
    make: Callable[[], str] = request.getfixturevalue("mysql_db")
    source, target = make(), make()
    run_sql(source, READ_ONLY_SOURCE)
    rows = [f"INSERT INTO address VALUES ({i}, 'c{i % 7}');" for i in range(1, 61)]
    rows += [
        f"INSERT INTO staff VALUES ({i}, {'NULL' if i < 4 else 1 + i // 3}, {1 + i % 60});"
        for i in range(1, 201)
    ]
    run_sql(source, "\n".join(rows))
    url = sa.make_url(source)
    user, password = f"rs_fixh_ro_{secrets.token_hex(3)}", "Ro-" + secrets.token_hex(6)
    admin = url.set(database="")
    run_sql(
        admin.render_as_string(hide_password=False),
        f"CREATE USER '{user}'@'%%' IDENTIFIED BY '{password}';\n"
        f"GRANT SELECT ON `{url.database}`.* TO '{user}'@'%%'",
    )
    try:
        reader = url.set(username=user, password=password).render_as_string(hide_password=False)
        result = relsynth.synthesize(reader, target, seed=1)
        db = sa.make_url(target).database
        rules = dict(
            fetch(
                target,
                "SELECT CONSTRAINT_NAME, CONCAT(DELETE_RULE, '/', UPDATE_RULE) "
                f"FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '{db}'",
            )
        )
        assert rules == {"fk_boss": "RESTRICT/RESTRICT", "fk_home": "CASCADE/CASCADE"}
        lines = result["write"].not_recreated
        assert any("lacks the TRIGGER privilege" in line for line in lines), lines
        assert any("lacks the SHOW VIEW privilege" in line and "staff_city" in line for line in lines), lines
    finally:
        run_sql(admin.render_as_string(hide_password=False), f"DROP USER IF EXISTS '{user}'@'%%'")


@pytest.mark.mysql
def test_root_source_has_no_privilege_notes(request: pytest.FixtureRequest) -> None:
    make: Callable[[], str] = request.getfixturevalue("mysql_db")
    source, target = make(), make()
    run_sql(source, READ_ONLY_SOURCE)
    run_sql(source, "\n".join(f"INSERT INTO address VALUES ({i}, 'c{i}');" for i in range(1, 21)))
    result = relsynth.synthesize(source, target, seed=1)
    assert not [line for line in result["write"].not_recreated if "privilege" in line]
    assert (
        scalar(target, "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_NAME = 'trg_city'")
        >= 1
    )


MARIADB_FEATURES = """
CREATE SEQUENCE badge_seq START WITH 500000 INCREMENT BY 7;
CREATE TABLE badge (badge_id bigint NOT NULL DEFAULT NEXTVAL(badge_seq) PRIMARY KEY,
  handle varchar(40) NOT NULL, secret_level tinyint NOT NULL DEFAULT 2 INVISIBLE);
CREATE TABLE pay (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, grade smallint NOT NULL) WITH SYSTEM VERSIONING;
CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2
"""


@pytest.mark.mysql
def test_mariadb_sequence_invisible_versioning_and_functions(request: pytest.FixtureRequest) -> None:
    make: Callable[[], str] = request.getfixturevalue("mysql_db")
    source, target = make(), make()
    if not scalar(source, "SELECT VERSION()").lower().count("mariadb"):
        pytest.skip("MariaDB features")
    run_sql(source, MARIADB_FEATURES)
    rows = [f"INSERT INTO badge (handle) VALUES ('h{i}');" for i in range(120)]
    rows += [f"INSERT INTO pay (grade) VALUES ({i % 9});" for i in range(120)]
    run_sql(source, "\n".join(rows))
    result = relsynth.synthesize(source, target, seed=1)
    db = sa.make_url(target).database
    extra = scalar(
        target,
        f"SELECT EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{db}' "
        "AND TABLE_NAME = 'badge' AND COLUMN_NAME = 'secret_level'",
    )
    assert "INVISIBLE" in extra.upper()
    created = fetch(target, "SHOW CREATE TABLE badge")[0][1]
    assert "nextval(" in created.lower() and "INVISIBLE DEFAULT 2" in created
    assert (
        scalar(
            target,
            f"SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{db}' AND TABLE_TYPE = 'SEQUENCE'",
        )
        == 1
    )
    top = scalar(target, "SELECT MAX(badge_id) FROM badge")
    run_sql(target, "INSERT INTO badge (handle) VALUES ('new one')")  # as the application does
    new = scalar(target, "SELECT MAX(badge_id) FROM badge")
    assert new > top
    assert scalar(target, "SELECT secret_level FROM badge WHERE handle = 'new one'") == 2
    kinds = dict(
        fetch(
            target,
            f"SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{db}'",
        )
    )
    assert kinds["pay"] == "SYSTEM VERSIONED"
    assert any("pay: WITH SYSTEM VERSIONING" in line for line in result["write"].changes)
    lines = result["write"].not_recreated
    assert any("stored functions" in line and "twice" in line for line in lines), lines
