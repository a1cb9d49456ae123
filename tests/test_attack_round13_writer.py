"""Attack round 13, the writer: triggers, views and name clashes in the target.

- --into-existing into tables with a DEFERRABLE INITIALLY DEFERRED foreign key and a user trigger
  (pagila's store <-> staff) crashed: re-enabling the triggers is an ALTER TABLE, which PostgreSQL
  refuses while the deferred FK's checks of the loaded rows are pending (55006).
- A second --replace into a target relsynth wrote itself lost the triggers: the trigger function of
  the first run was there, word for word the source's, and blocked creating it again.
- MariaDB commits each CREATE TRIGGER / VIEW at once, so the savepoint around it was gone before
  its release: triggers and views that were created were reported "not recreated", quoting the
  driver's error; and a view over a table left out by --include got the same savepoint text.
- Columns whose names differ only in case ("Name" and name, legal in PostgreSQL) crashed a SQLite
  or MariaDB target's CREATE TABLE after the fit instead of being refused with a reason.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import relsynth
from relsynth.errors import RelsynthError
from tests.conftest import EVERY_DATABASE, fetch, run_sql, scalar, table_names

DEFERRED = """
CREATE TABLE store (store_id int PRIMARY KEY, manager_staff_id int NOT NULL, city text NOT NULL);
CREATE TABLE staff (staff_id int PRIMARY KEY, store_id int NOT NULL REFERENCES store, active boolean NOT NULL,
  last_update timestamp NOT NULL DEFAULT now());
ALTER TABLE store ADD FOREIGN KEY (manager_staff_id) REFERENCES staff DEFERRABLE INITIALLY DEFERRED;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.last_update = now(); RETURN NEW; END $$;
CREATE TRIGGER touch BEFORE UPDATE ON staff FOR EACH ROW EXECUTE FUNCTION touch();
"""


def _deferred_source(pg_db: Callable[[], str]) -> str:
    source = pg_db()
    rows = [f"INSERT INTO store VALUES ({g}, {g}, 'c{g % 7}');" for g in range(1, 41)]
    rows += [
        f"INSERT INTO staff VALUES ({g}, {1 + g % 40}, {str(g % 3 > 0).lower()});" for g in range(1, 161)
    ]
    run_sql(source, DEFERRED + "BEGIN;\n" + "\n".join(rows) + "\nCOMMIT;")
    return source


@pytest.mark.postgresql
@pytest.mark.parametrize("replace", [False, True])
def test_into_existing_with_a_deferred_foreign_key_and_a_trigger(pg_db, replace: bool) -> None:
    source = _deferred_source(pg_db)
    target = pg_db()
    relsynth.synthesize(source, target, schema_only=True)
    if replace:  # the staging refresh: a target already holding an earlier run's rows
        relsynth.synthesize(source, target, into_existing=True, seed=1)
    out = relsynth.synthesize(source, target, into_existing=True, replace=replace, seed=2)
    assert out["write"].verification.problems == 0
    assert scalar(target, "SELECT COUNT(*) FROM store") == 40
    assert scalar(target, "SELECT COUNT(*) FROM staff") == 160
    # the trigger is enabled again (O: fires in origin sessions), and the deferred FK holds
    assert fetch(target, "SELECT tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal") == [
        ("touch", "O")
    ]
    assert (
        scalar(
            target,
            "SELECT COUNT(*) FROM store s LEFT JOIN staff f ON f.staff_id = s.manager_staff_id "
            "WHERE f.staff_id IS NULL",
        )
        == 0
    )


TRIGGERED = """
CREATE TABLE actor (actor_id int PRIMARY KEY, name text NOT NULL, last_update timestamp NOT NULL DEFAULT now());
CREATE TABLE film (film_id int PRIMARY KEY, title text NOT NULL, last_update timestamp NOT NULL DEFAULT now());
CREATE FUNCTION last_updated() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.last_update = now(); RETURN NEW; END $$;
CREATE TRIGGER last_updated BEFORE UPDATE ON actor FOR EACH ROW EXECUTE FUNCTION last_updated();
CREATE TRIGGER last_updated BEFORE UPDATE ON film FOR EACH ROW EXECUTE FUNCTION last_updated();
"""


def _user_triggers(url: str) -> list[tuple[str, str]]:
    return fetch(
        url,
        "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal ORDER BY 1",
    )


@pytest.mark.postgresql
def test_a_second_replace_keeps_the_triggers_and_their_function(pg_db) -> None:
    source = pg_db()
    rows = [f"INSERT INTO actor VALUES ({g}, 'a{g % 9}');" for g in range(1, 61)]
    rows += [f"INSERT INTO film VALUES ({g}, 't{g % 5}');" for g in range(1, 61)]
    run_sql(source, TRIGGERED + "\n".join(rows))
    target = pg_db()
    first = relsynth.synthesize(source, target, seed=1)
    assert first["write"].not_recreated == []
    second = relsynth.synthesize(source, target, seed=2, replace=True)
    assert second["write"].not_recreated == []
    assert _user_triggers(target) == [("actor", "last_updated"), ("film", "last_updated")]
    assert scalar(target, "SELECT COUNT(*) FROM pg_proc WHERE proname = 'last_updated'") == 1


@pytest.mark.postgresql
def test_a_different_function_of_the_target_is_still_never_replaced(pg_db) -> None:
    source = pg_db()
    run_sql(
        source, TRIGGERED + "\n".join(f"INSERT INTO actor VALUES ({g}, 'a{g % 9}');" for g in range(1, 61))
    )
    target = pg_db()
    run_sql(
        target,
        "CREATE FUNCTION last_updated() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'mine'; "
        "RETURN NEW; END $$;",
    )
    out = relsynth.synthesize(source, target, seed=1)
    assert "mine" in scalar(target, "SELECT prosrc FROM pg_proc WHERE proname = 'last_updated'")
    assert _user_triggers(target) == []
    lines = out["write"].not_recreated
    assert lines and all("different function of that name" in line for line in lines), lines


MARIADB_SALARIES = """
CREATE TABLE salaries (emp_no INT NOT NULL, salary INT UNSIGNED NOT NULL, from_date DATE NOT NULL,
  PRIMARY KEY (emp_no, from_date));
CREATE TABLE dept (id INT PRIMARY KEY, n INT NOT NULL);
CREATE TRIGGER sal_ins BEFORE INSERT ON salaries FOR EACH ROW SET NEW.salary = GREATEST(NEW.salary, 1);
CREATE VIEW high AS SELECT emp_no FROM salaries WHERE salary > 80000;
CREATE VIEW small_depts AS SELECT id FROM dept WHERE n < 2;
"""


def _mariadb_source(mysql_db: Callable[[], str]) -> str:
    source = mysql_db()
    rows = [
        f"INSERT INTO salaries VALUES ({g // 5}, {40000 + (g * 7919) % 50000}, '{2000 + g % 5}-01-01');"
        for g in range(600)
    ]
    rows += [f"INSERT INTO dept VALUES ({g}, {g % 5});" for g in range(1, 101)]
    run_sql(source, MARIADB_SALARIES + "\n".join(rows))
    return source


def _mariadb_objects(url: str) -> tuple[int, set[str]]:
    triggers = scalar(
        url, "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()"
    )
    views = {
        r[0]
        for r in fetch(url, "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()")
    }
    return int(triggers), views


@pytest.mark.mysql
def test_mariadb_triggers_and_views_created_are_not_reported_missing(mysql_db) -> None:
    source = _mariadb_source(mysql_db)
    target = mysql_db()
    out = relsynth.synthesize(source, target, seed=1)
    assert out["write"].not_recreated == []
    assert _mariadb_objects(target) == (1, {"high", "small_depts"})
    again = relsynth.synthesize(source, target, seed=2, replace=True)  # the source's views are its own
    assert again["write"].not_recreated == []
    assert _mariadb_objects(target) == (1, {"high", "small_depts"})


@pytest.mark.mysql
def test_mariadb_a_view_over_a_table_left_out_says_why(mysql_db) -> None:
    source = _mariadb_source(mysql_db)
    target = mysql_db()
    out = relsynth.synthesize(source, target, seed=1, include=("dept",))
    lines = out["write"].not_recreated
    assert len(lines) == 1 and lines[0].startswith("view high: it reads a table or view not in the target")
    assert "SAVEPOINT" not in lines[0] and "(" not in lines[0].split("(")[0]
    assert _mariadb_objects(target) == (0, {"small_depts"})


@pytest.mark.parametrize(
    "db", [pytest.param("pg", marks=pytest.mark.postgresql), pytest.param("mysql", marks=pytest.mark.mysql)]
)
def test_a_view_over_a_view_is_created_whatever_their_order(db: str, request: pytest.FixtureRequest) -> None:
    """MariaDB lists views by name: a_cheapest came before the z_cheap it reads, and was refused."""
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    source = make()
    run_sql(
        source,
        "CREATE TABLE item (id int PRIMARY KEY, price int NOT NULL);\n"
        "CREATE VIEW z_cheap AS SELECT id, price FROM item WHERE price < 50;\n"
        "CREATE VIEW a_cheapest AS SELECT id FROM z_cheap WHERE price < 10;\n"
        + "\n".join(f"INSERT INTO item VALUES ({g}, {g % 100});" for g in range(1, 201)),
    )
    target = make()
    out = relsynth.synthesize(source, target, seed=1)
    assert out["write"].not_recreated == []
    assert scalar(target, "SELECT COUNT(*) FROM a_cheapest") == scalar(
        target, "SELECT COUNT(*) FROM item WHERE price < 10"
    )


CASES = 'CREATE TABLE items (id int PRIMARY KEY, "MixedCase" int, mixedcase int);\n' + "\n".join(
    f"INSERT INTO items VALUES ({g}, {g % 7}, {g % 3});" for g in range(1, 201)
)


@pytest.mark.postgresql
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def test_columns_that_differ_only_in_case_are_refused_for_a_case_blind_target(
    pg_db, request: pytest.FixtureRequest, kind: str
) -> None:
    source = pg_db()
    run_sql(source, CASES)
    target = request.getfixturevalue(f"{kind}_db")()
    with pytest.raises(
        RelsynthError, match=r"columns 'MixedCase' and 'mixedcase' that differ only in case"
    ) as err:
        relsynth.synthesize(source, target)
    assert "\n" not in str(err.value)
    if kind == "mysql":
        assert table_names(target) == set()
    # into PostgreSQL, the two columns are two columns
    other = pg_db()
    relsynth.synthesize(source, other)
    assert scalar(other, 'SELECT COUNT(DISTINCT "MixedCase") + COUNT(DISTINCT mixedcase) FROM items') > 2


@pytest.mark.postgresql
def test_columns_that_differ_only_in_case_are_refused_before_reading(pg_db, sqlite_db) -> None:
    source = pg_db()
    run_sql(source, CASES)
    seen: list[str] = []
    with pytest.raises(RelsynthError, match="differ only in case"):
        relsynth.synthesize(source, sqlite_db(), progress=lambda stage, done, total: seen.append(stage))
    assert "read" not in seen


@pytest.mark.postgresql
def test_a_deferred_rule_of_the_target_that_rejects_rows_leaves_it_as_it_was(pg_db) -> None:
    """Checked before the triggers are enabled again (not at the commit): still all or nothing,
    and said in one line without the rows' values."""
    source = _deferred_source(pg_db)
    target = pg_db()
    relsynth.synthesize(source, target, schema_only=True)
    run_sql(
        target,
        "CREATE TABLE towns (name text PRIMARY KEY);\n"
        "ALTER TABLE store ADD CONSTRAINT store_town FOREIGN KEY (city) REFERENCES towns "
        "DEFERRABLE INITIALLY DEFERRED;",
    )
    with pytest.raises(
        RelsynthError, match=r"table store in the target rejected .* foreign key \(store_town\)"
    ) as err:
        relsynth.synthesize(source, target, into_existing=True)
    assert "\n" not in str(err.value) and "c1" not in str(err.value)
    assert scalar(target, "SELECT COUNT(*) FROM store") == 0
    assert scalar(target, "SELECT COUNT(*) FROM staff") == 0
    assert fetch(target, "SELECT tgenabled FROM pg_trigger WHERE tgname = 'touch'") == [("O",)]


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_view_with_a_percent_sign_is_recreated(request: pytest.FixtureRequest, db: str) -> None:
    """A view's LIKE 'n1%' went to the driver with parameters (none), which read the '%' as a
    placeholder: PostgreSQL listed the view as refused."""
    make = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    import sqlalchemy as sa

    engine = sa.create_engine(source)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE person (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL)")
            conn.exec_driver_sql(
                "INSERT INTO person VALUES " + ", ".join(f"({i}, 'n{i % 7}')" for i in range(1, 60))
            )
            conn.exec_driver_sql(
                "CREATE VIEW n1_people AS SELECT id FROM person WHERE name LIKE 'n1%'",
                execution_options={"no_parameters": True},
            )
    finally:
        engine.dispose()
    result = relsynth.synthesize(source, target, seed=1)
    assert not [line for line in result["write"].not_recreated if "n1_people" in line]
    views = sa.inspect(sa.create_engine(target)).get_view_names()
    assert "n1_people" in {v.lower() for v in views}
