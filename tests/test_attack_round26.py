"""Attack round 26: a MariaDB ENUM or SET value with a backslash, SQLite's --replace and its views,
and constraint names kept in MariaDB."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

import relsynth
from tests.conftest import fetch, run_raw, scalar


def _levels(url: str, table: str, column: str) -> set[str]:
    q = "`" if url.startswith("mysql") else '"'
    return {r[0] for r in fetch(url, f"SELECT DISTINCT {q}{column}{q} FROM {q}{table}{q}")}


# -- 1. MariaDB's ENUM('a\\b', ...) holds a\b (one backslash): SQLAlchemy's reflection left it two --
ENUM_SOURCE = [
    "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, e ENUM('a\\\\b', 'c''d', 'x\\\\') NOT NULL,"
    " s SET('p\\\\q', 'r'), n INT)",
    "INSERT INTO t (e, s, n) SELECT elt(1 + seq % 3, 'a\\\\b', 'c''d', 'x\\\\'),"
    " elt(1 + seq % 3, 'p\\\\q', 'r', 'p\\\\q,r'), seq FROM seq_1_to_120",
]


@pytest.mark.mysql
@pytest.mark.parametrize("target_kind", ["mysql", pytest.param("pg", marks=pytest.mark.postgresql), "sqlite"])
def test_mariadb_enum_and_set_values_with_a_backslash(
    target_kind: str, mysql_db: Callable[[], str], request: pytest.FixtureRequest
) -> None:
    source = mysql_db()
    target = request.getfixturevalue(f"{target_kind}_db")()
    run_raw(source, *ENUM_SOURCE)
    assert _levels(source, "t", "e") == {"a\\b", "c'd", "x\\"}  # one backslash each

    relsynth.synthesize(source, target, seed=0)  # was DataError (MariaDB), InvalidTextRepresentation (PG)

    assert _levels(target, "t", "e") == {"a\\b", "c'd", "x\\"}
    assert _levels(target, "t", "s") == {"p\\q", "r", "p\\q,r"}
    if target_kind == "mysql":  # the target's ENUM and SET hold the same values
        engine = sa.create_engine(target)
        try:
            types = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns("t")}
        finally:
            engine.dispose()
        assert "enum('a\\\\b','c''d','x\\\\')" in str(fetch(target, "SHOW CREATE TABLE t")[0][1])
        assert "set('p\\\\q','r')" in str(fetch(target, "SHOW CREATE TABLE t")[0][1])
        assert len(types["e"].enums) == 3


# -- 2. SQLite --replace drops the target's views it recreates (CREATE VIEW refused the old one) ------
def test_sqlite_replace_recreates_the_sources_views(sqlite_db: Callable[[], str]) -> None:
    import sqlite3

    source, target = sqlite_db(), sqlite_db()
    con = sqlite3.connect(source.removeprefix("sqlite:///"))
    con.executescript(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INT);"
        "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 300)"
        " INSERT INTO t SELECT x, 'v' || (x % 5), x % 13 FROM g;"
        "CREATE VIEW vv AS SELECT a, count(*) AS c FROM t GROUP BY a;"
    )
    con.close()
    relsynth.synthesize(source, target, seed=0)
    con = sqlite3.connect(target.removeprefix("sqlite:///"))
    con.executescript("DROP VIEW vv; CREATE VIEW vv AS SELECT 'stale' AS a, 0 AS c;")  # an older one
    con.close()

    summary = relsynth.synthesize(source, target, seed=1, replace=True)["write"]

    assert not [n for n in summary.not_recreated if "vv" in n]  # was: the target refused it
    sql = fetch(target, "SELECT sql FROM sqlite_master WHERE name = 'vv'")[0][0]
    assert "stale" not in sql and "GROUP BY a" in sql
    assert sum(r[1] for r in fetch(target, "SELECT a, c FROM vv")) == 300


# -- 3. constraint names are kept in MariaDB (and from it) -------------------------------------------
def _mysql_constraints(url: str, table: str) -> set[tuple[str, str]]:
    return {
        (str(r[0]), str(r[1]))
        for r in fetch(
            url,
            "SELECT CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS "
            f"WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = '{table}' "
            "AND CONSTRAINT_TYPE IN ('CHECK', 'FOREIGN KEY')",
        )
    }


@pytest.mark.postgresql
@pytest.mark.mysql
def test_postgresql_constraint_names_kept_in_mariadb(
    pg_db: Callable[[], str], mysql_db: Callable[[], str]
) -> None:
    source, target = pg_db(), mysql_db()
    run_raw(
        source,
        "CREATE TABLE par (id int PRIMARY KEY, closed boolean NOT NULL, closed_on date,"
        " CONSTRAINT closed_has_date CHECK (NOT closed OR closed_on IS NOT NULL))",
        'CREATE TABLE "chi:ld" (id int PRIMARY KEY, pid int NOT NULL REFERENCES par (id),'
        " n int CHECK (n >= 0), CONSTRAINT same CHECK (n < 1000))",
        "CREATE TABLE other (id int PRIMARY KEY, pid int REFERENCES par (id), CONSTRAINT same CHECK (id > 0),"
        ' CONSTRAINT "chi:ld_pid_fkey" CHECK (pid > 0))',  # an FK's name, as a CHECK: per table
        "INSERT INTO par SELECT g, g % 2 = 0, CASE WHEN g % 2 = 0 THEN DATE '2020-01-01' + g END"
        " FROM generate_series(1, 50) g",
        'INSERT INTO "chi:ld" SELECT g, 1 + g % 50, g % 9 FROM generate_series(1, 200) g',
        "INSERT INTO other SELECT g, 1 + g % 50 FROM generate_series(1, 40) g",
    )

    out = relsynth.synthesize(source, target, seed=0)

    assert ("closed_has_date", "CHECK") in _mysql_constraints(target, "par")  # was CONSTRAINT_1
    assert _mysql_constraints(target, "chi:ld") == {  # was chi:ld_ibfk_1 and CONSTRAINT_n
        ("chi:ld_pid_fkey", "FOREIGN KEY"),
        ("chi:ld_n_check", "CHECK"),
        ("same", "CHECK"),
    }
    # MariaDB names CHECKs per table (same twice is kept), foreign keys per database: other's
    # other_pid_fkey is its own; its CHECK chi:ld_pid_fkey is kept beside the FK of that name.
    assert _mysql_constraints(target, "other") == {
        ("other_pid_fkey", "FOREIGN KEY"),
        ("same", "CHECK"),
        ("chi:ld_pid_fkey", "CHECK"),
    }
    assert not [c for c in out["write"].changes if "chooses" in c]


@pytest.mark.mysql
def test_mariadb_constraint_names_kept(mysql_db: Callable[[], str], pg_db: Callable[[], str]) -> None:
    """Table-level CHECK and foreign key names are kept; a column-level CHECK, named after its
    column in MariaDB's catalog, is recreated table-level as k_check (a UNIQUE column's key has
    the column's name too, and one table cannot hold both)."""
    source, target = mysql_db(), mysql_db()
    run_raw(
        source,
        "CREATE TABLE p (id INT PRIMARY KEY)",
        "CREATE TABLE c (id INT PRIMARY KEY, k INT CHECK (k > 0), pid INT,"
        " CONSTRAINT few CHECK (k < 100), CONSTRAINT c_to_p FOREIGN KEY (pid) REFERENCES p (id))",
        "INSERT INTO p SELECT seq FROM seq_1_to_20",
        "INSERT INTO c SELECT seq, 1 + seq % 50, 1 + seq % 20 FROM seq_1_to_100",
    )
    assert _mysql_constraints(source, "c") == {("k", "CHECK"), ("few", "CHECK"), ("c_to_p", "FOREIGN KEY")}
    want = {("k_check", "CHECK"), ("few", "CHECK"), ("c_to_p", "FOREIGN KEY")}

    relsynth.synthesize(source, target, seed=0)
    assert _mysql_constraints(target, "c") == want
    relsynth.synthesize(source, target, seed=1, replace=True)  # the staging tables' names given back
    assert _mysql_constraints(target, "c") == want


def test_a_name_the_target_refuses_is_said() -> None:
    """Too long for MariaDB, or taken twice there: the target names it, and the change says so."""
    from relsynth.ddl import _ConstraintNames

    changes: list[str] = []
    names = _ConstraintNames(False, "mysql", False, changes)
    assert names.kept("a", "CHECK", "x" * 64) == "x" * 64
    assert names.kept("a", "CHECK", "y" * 65) is None
    assert names.kept("a", "foreign key", "fk") == "fk"
    assert names.kept("b", "foreign key", "FK") is None  # per database, whatever the case
    assert names.kept("b", "CHECK", "fk") == "fk"
    assert names.kept("b", "CHECK", "Fk") is None  # per table
    assert len(changes) == 3 and all("-> a name mysql chooses" in c for c in changes)
    assert _ConstraintNames(True, "mysql", False, changes).kept("a", "CHECK", "y" * 65) == "y" * 65


@pytest.mark.postgresql
@pytest.mark.mysql
def test_a_kept_name_another_table_of_the_target_holds_is_said_not_a_failure(pg_db, mysql_db) -> None:
    """A foreign key name is kept into MariaDB, where FK names are per database: a table this run
    does not write already holds it. The staging table's FK took a temporary name, and giving its
    own back after the swap failed the run with its tables already in place."""
    source, target = pg_db(), mysql_db()
    run_raw(
        source,
        "CREATE TABLE p (id int PRIMARY KEY, v int NOT NULL)",
        "CREATE TABLE c (id int PRIMARY KEY, p_id int NOT NULL, CONSTRAINT fk_x FOREIGN KEY (p_id) REFERENCES p (id))",
        "INSERT INTO p SELECT g, g % 7 FROM generate_series(1, 50) g",
        "INSERT INTO c SELECT g, 1 + g % 50 FROM generate_series(1, 200) g",
    )
    run_raw(
        target,
        "CREATE TABLE other_p (id int PRIMARY KEY)",
        "CREATE TABLE other_c (id int PRIMARY KEY, p int, CONSTRAINT fk_x FOREIGN KEY (p) REFERENCES other_p (id))",
    )
    out = relsynth.synthesize(source, target, seed=0, replace=True)
    assert out["write"].verification.problems == 0
    assert any("constraint fk_x is named" in c for c in out["write"].changes), out["write"].changes
    assert scalar(target, "SELECT count(*) FROM c") > 0
