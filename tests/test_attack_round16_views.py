"""Attack round 16, views and triggers written where the tables go.

A) MariaDB, one ``--schema S`` on the server the target is on (the URL naming another database):
   SHOW CREATE VIEW names every table, and the view itself, as ``S``.``x``. Only the URL's
   database was taken off, so the view was created in the source: with --replace the source's own
   views were dropped and recreated (their character set changed), and without it the run said
   the target "already has a table or view of that name". A view left reading ``S`` would also
   show the source's real rows from inside the synthetic database. The names are now the
   target's own, and a view or trigger that would still be created in, or on a table of, another
   database is not created (listed under "not recreated").
B) PostgreSQL, one ``--schema bookings``: the tables went to the target's ``bookings``, the view
   to its ``public``.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import relsynth
from relsynth.writer import _elsewhere, _unqualified
from tests.conftest import fetch, run_sql, scalar

EMPLOYEES = """
CREATE TABLE dept (dept_no CHAR(4) NOT NULL PRIMARY KEY, dept_name VARCHAR(40) NOT NULL);
INSERT INTO dept SELECT CONCAT('d', LPAD(seq, 3, '0')), CONCAT('Department ', seq) FROM seq_1_to_9;
CREATE TABLE emp (emp_no INT NOT NULL PRIMARY KEY, dept_no CHAR(4) NOT NULL, hired DATE NOT NULL,
  salary INT NOT NULL, FOREIGN KEY (dept_no) REFERENCES dept (dept_no));
INSERT INTO emp SELECT seq, CONCAT('d', LPAD(1 + seq MOD 9, 3, '0')), '2000-01-01' + INTERVAL seq DAY,
  30000 + (seq * 7919) MOD 50000 FROM seq_1_to_400;
CREATE TABLE audit (audit_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, emp_no INT NOT NULL);
CREATE TRIGGER emp_audit AFTER UPDATE ON emp FOR EACH ROW INSERT INTO audit (emp_no) VALUES (NEW.emp_no);
SET NAMES latin1;
CREATE VIEW dept_pay AS SELECT d.dept_name, AVG(e.salary) AS pay FROM emp e JOIN dept d ON d.dept_no = e.dept_no
  GROUP BY d.dept_name
"""


def _views(url: str, database: str) -> list[tuple[object, ...]]:
    return fetch(
        url,
        "SELECT table_name, view_definition, character_set_client FROM information_schema.views "
        f"WHERE table_schema = '{database}' ORDER BY table_name",
    )


@pytest.mark.mysql
@pytest.mark.parametrize("replace", [False, True])
def test_one_schema_on_the_targets_server_writes_its_views_into_the_target(
    request: pytest.FixtureRequest, replace: bool
) -> None:
    data = request.getfixturevalue("mysql_db")()
    other = request.getfixturevalue("mysql_db")()  # the URL's database: empty
    target = request.getfixturevalue("mysql_db")()
    run_sql(data, EMPLOYEES)
    name = sa.make_url(data).database
    target_name = sa.make_url(target).database
    assert name and target_name
    before = _views(data, name)
    if replace:
        run_sql(target, "CREATE TABLE dept (x INT);\nINSERT INTO dept VALUES (1)")
    result = relsynth.synthesize(other, target, db_schema=name, seed=1, replace=replace)
    assert _views(data, name) == before  # the source's views untouched, character set and all
    made = _views(target, target_name)
    assert [v[0] for v in made] == ["dept_pay"]
    assert f"`{name}`" not in str(made[0][1])  # reads the target's own tables, not the source's
    assert scalar(target, "SELECT COUNT(*) FROM dept_pay") == scalar(
        target, "SELECT COUNT(DISTINCT dept_no) FROM emp"
    )
    triggers = fetch(
        target, f"SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = '{target_name}'"
    )
    assert triggers == [("emp_audit",)]
    assert not result["write"].not_recreated


def test_a_view_or_trigger_that_names_another_database_is_not_created() -> None:
    source = ("src",)
    view = "CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `src`.`v` AS select `src`.`t`.`a` AS `a` from `src`.`t`"
    assert _unqualified(view, "mysql", source) == (
        "CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v` AS select `t`.`a` AS `a` from `t`"
    )
    assert _elsewhere(_unqualified(view, "mysql", source), "mysql") is None
    # Another database (or the source's name in another case, another database on Linux) stays.
    assert _elsewhere(_unqualified(view, "mysql", ("other",)), "mysql")
    assert _elsewhere(_unqualified(view.replace("`src`", "`Src`"), "mysql", source), "mysql")
    trigger = "CREATE TRIGGER `t1` BEFORE INSERT ON `x`.`t` FOR EACH ROW SET NEW.a = 1"
    assert _elsewhere(trigger, "mysql")
    assert _elsewhere(trigger.replace("`x`.", ""), "mysql") is None
    assert _unqualified(view, "postgresql", source) == view
    # Only the statement's own name counts: a view joining a table named trigger ON a column
    # is no view of another database.
    joined = "CREATE VIEW `v` AS select 1 AS `a` from `trigger` join `u` on `u`.`id` = `trigger`.`id`"
    assert _elsewhere(joined, "mysql") is None


@pytest.mark.postgresql
def test_one_postgresql_schema_gets_its_views_beside_its_tables(request: pytest.FixtureRequest) -> None:
    source = request.getfixturevalue("pg_db")()
    target = request.getfixturevalue("pg_db")()
    run_sql(
        source,
        """
        CREATE SCHEMA bookings;
        CREATE TABLE bookings.flights (flight_id serial PRIMARY KEY, dep timestamptz NOT NULL,
          arr timestamptz NOT NULL, CHECK (arr > dep));
        INSERT INTO bookings.flights (dep, arr) SELECT timestamptz '2017-07-15' + g * interval '1 hour',
          timestamptz '2017-07-15' + g * interval '1 hour' + (60 + mod(g, 300)) * interval '1 minute'
          FROM generate_series(1, 300) g;
        CREATE VIEW bookings.flights_v AS SELECT flight_id, arr - dep AS duration FROM bookings.flights
        """,
    )
    relsynth.synthesize(source, target, db_schema="bookings", seed=1)
    views = fetch(
        target,
        "SELECT table_schema, table_name FROM information_schema.views "
        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    )
    assert views == [("bookings", "flights_v")]
    assert scalar(target, "SELECT COUNT(*) FROM bookings.flights_v") == 300


CYCLE = """
CREATE TABLE staff (staff_id INT NOT NULL PRIMARY KEY, store_id INT NOT NULL, name VARCHAR(20) NOT NULL);
CREATE TABLE store (store_id INT NOT NULL PRIMARY KEY, manager_staff_id INT NOT NULL UNIQUE,
  FOREIGN KEY (manager_staff_id) REFERENCES staff (staff_id));
ALTER TABLE staff ADD FOREIGN KEY (store_id) REFERENCES store (store_id);
SET FOREIGN_KEY_CHECKS = 0;
INSERT INTO staff SELECT seq, 1 + seq MOD 2, CONCAT('s', seq) FROM seq_1_to_40;
INSERT INTO store VALUES (1, 1), (2, 2);
SET FOREIGN_KEY_CHECKS = 1
"""


@pytest.mark.mysql
def test_into_existing_mariadb_cycle_is_refused_with_advice_mariadb_can_follow(
    request: pytest.FixtureRequest,
) -> None:
    """C) The refusal said "make it DEFERRABLE", which MariaDB cannot do."""
    source = request.getfixturevalue("mysql_db")()
    target = request.getfixturevalue("mysql_db")()
    run_sql(source, CYCLE)
    relsynth.synthesize(source, target, seed=1)
    with pytest.raises(relsynth.RelsynthError) as err:
        relsynth.synthesize(source, target, seed=2, into_existing=True, replace=True)
    assert "accept NULL" in str(err.value) and "DEFERRABLE," not in str(err.value).split(";")[1]


INDEXED = """
CREATE TABLE item (id INT NOT NULL PRIMARY KEY, a INT NOT NULL, b INT NOT NULL, c VARCHAR(20) NOT NULL,
  d DATE NOT NULL, e INT NOT NULL, KEY ix_a (a), KEY ix_b (b), KEY ix_c (c), KEY ix_d (d), KEY ix_e (e),
  KEY ix_ab (a, b), KEY ix_cd (c, d), UNIQUE KEY ux_ce (c, e));
INSERT INTO item SELECT seq, seq MOD 7, seq MOD 11, CONCAT('c', seq), '2020-01-01' + INTERVAL seq DAY, seq
  FROM seq_1_to_300
"""


@pytest.mark.mysql
def test_the_same_seed_gives_the_same_mariadb_schema_in_every_process(request: pytest.FixtureRequest) -> None:
    """D) The target's KEY lines came in another order from one process to the next: the indexes
    were created from a set of SQLAlchemy Index objects, whose order is their memory addresses'."""
    import os
    import subprocess
    import sys

    source = request.getfixturevalue("mysql_db")()
    run_sql(source, INDEXED)
    shapes = []
    for hash_seed in (0, 1, 2):
        target = request.getfixturevalue("mysql_db")()
        code = f"import relsynth; relsynth.synthesize({source!r}, {target!r}, seed=1)"
        env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
        subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
        shapes.append(fetch(target, "SHOW CREATE TABLE item")[0][1])
    assert shapes[0] == shapes[1] == shapes[2]
