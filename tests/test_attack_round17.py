"""Attack round 17.

A) A UNIQUE timestamp column (900 rows, one every 37 minutes) never finished: repeated values
   were moved by 1 to the next free value, counted as a float of nanoseconds (1.6e18, where 1 is
   below a float's step), so the search never ended. They move by the column's own grain now.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import fetch, run_sql

GRID = {
    "pg_db": "INSERT INTO t SELECT g, timestamp '2020-01-01' + g * interval '37 minutes', mod(g, 7) "
    "FROM generate_series(1, 900) g",
    "mysql_db": "INSERT INTO t SELECT seq, '2020-01-01' + INTERVAL seq * 37 MINUTE, seq MOD 7 FROM seq_1_to_900",
    "sqlite_db": "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 900) "
    "INSERT INTO t SELECT n, datetime('2020-01-01', '+' || (n * 37) || ' minutes'), n % 7 FROM g",
}


@pytest.mark.parametrize("db", ["pg_db", "mysql_db", "sqlite_db"])
def test_a_unique_timestamp_on_a_grid_is_synthesized(request: pytest.FixtureRequest, db: str) -> None:
    source = request.getfixturevalue(db)()
    target = request.getfixturevalue(db)()
    run_sql(
        source,
        "CREATE TABLE t (t_id INT PRIMARY KEY, ts TIMESTAMP NOT NULL UNIQUE, k INT NOT NULL);\n" + GRID[db],
    )
    code = f"import relsynth; relsynth.synthesize({source!r}, {target!r}, seed=1)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-1500:]
    rows, distinct = fetch(target, "SELECT COUNT(*), COUNT(DISTINCT ts) FROM t")[0]
    assert rows == distinct and rows >= 850, (rows, distinct)


SCHEMA_A = """
CREATE SCHEMA a;
CREATE TABLE a.customer (customer_id int PRIMARY KEY, region text NOT NULL, income int NOT NULL);
INSERT INTO a.customer SELECT g, (array['n','s','e','w'])[1 + mod(g, 4)], 1000 + g * 7 FROM generate_series(1, 400) g;
CREATE VIEW a.v_rich AS SELECT customer_id, region, income FROM a.customer WHERE income > 3000;
CREATE FUNCTION a.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.income := NEW.income; RETURN NEW; END $$;
CREATE TRIGGER trg BEFORE UPDATE ON a.customer FOR EACH ROW EXECUTE FUNCTION a.touch()
"""


@pytest.mark.postgresql
@pytest.mark.parametrize("same_database", [True, False])
def test_views_into_another_schema_never_read_the_source_schema(
    request: pytest.FixtureRequest, same_database: bool
) -> None:
    """B) --schema a --target-schema z, in the source's own database: z.v_rich was recreated word
    for word, reading a.customer, so the synthetic schema showed 115 real records. A view or
    trigger naming the source's schema is now listed as not recreated, saying why."""
    import relsynth

    source = request.getfixturevalue("pg_db")()
    target = source if same_database else request.getfixturevalue("pg_db")()
    run_sql(source, SCHEMA_A)
    if not same_database:
        run_sql(target, SCHEMA_A)  # a target with a schema a of its own: z must not read it either
    before = fetch(source, "SELECT count(*), sum(income) FROM a.customer")
    result = relsynth.synthesize(source, target, db_schema="a", target_schema="z", seed=1)
    assert fetch(source, "SELECT count(*), sum(income) FROM a.customer") == before
    assert fetch(target, "SELECT viewname FROM pg_views WHERE schemaname = 'z'") == []
    assert fetch(
        target,
        "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'z' AND NOT t.tgisinternal",
    ) == [(0,)]
    said = " ".join(result["write"].not_recreated)
    assert "view v_rich: it names the source's schema a" in said, said
    assert "trigger trg on customer: it names the source's schema a" in said, said


DATE_KEYS = {
    "pg_db": """
CREATE TABLE calendar (day DATE PRIMARY KEY, label VARCHAR(20));
INSERT INTO calendar SELECT DATE '2020-01-01' + g, 'd' || g FROM generate_series(1, 300) g;
CREATE TABLE event (id INT PRIMARY KEY, day DATE NOT NULL REFERENCES calendar (day), n INT NOT NULL);
INSERT INTO event SELECT g, DATE '2020-01-01' + (1 + mod(g, 300)), g FROM generate_series(1, 600) g;
CREATE TABLE daily (report_day DATE NOT NULL UNIQUE, n INT NOT NULL);
INSERT INTO daily SELECT DATE '2020-01-01' + g, g FROM generate_series(1, 900) g
""",
    "mysql_db": """
CREATE TABLE calendar (day DATE PRIMARY KEY, label VARCHAR(20));
INSERT INTO calendar SELECT '2020-01-01' + INTERVAL seq DAY, CONCAT('d', seq) FROM seq_1_to_300;
CREATE TABLE event (id INT PRIMARY KEY, day DATE NOT NULL, n INT NOT NULL, FOREIGN KEY (day) REFERENCES calendar (day));
INSERT INTO event SELECT seq, '2020-01-01' + INTERVAL (1 + seq MOD 300) DAY, seq FROM seq_1_to_600;
CREATE TABLE daily (report_day DATE NOT NULL UNIQUE, n INT NOT NULL);
INSERT INTO daily SELECT '2020-01-01' + INTERVAL seq DAY, seq FROM seq_1_to_900
""",
}


@pytest.mark.parametrize("db", ["pg_db", "mysql_db"])
def test_a_date_key_is_a_date_and_a_unique_date_keeps_its_rows(
    request: pytest.FixtureRequest, db: str
) -> None:
    """C) A calendar keyed by its DATE stopped the run (the key was drawn as a shaped string,
    '2020-47-83'); a UNIQUE date column (one row a day) kept 557 of 900 rows: repeated dates were
    dropped, not moved to a free day."""
    import relsynth

    source = request.getfixturevalue(db)()
    target = request.getfixturevalue(db)()
    run_sql(source, DATE_KEYS[db])
    relsynth.synthesize(source, target, seed=1)
    assert fetch(target, "SELECT COUNT(*), COUNT(DISTINCT day) FROM calendar") == [(300, 300)]
    assert fetch(
        target, "SELECT COUNT(*) FROM event e LEFT JOIN calendar c ON c.day = e.day WHERE c.day IS NULL"
    ) == [(0,)]
    rows, distinct = fetch(target, "SELECT COUNT(*), COUNT(DISTINCT report_day) FROM daily")[0]
    assert rows == distinct and rows >= 880, rows


UNIQUE_AMOUNTS = {
    "pg_db": "INSERT INTO t SELECT g, g * 1.5, mod(g, 7) FROM generate_series(1, 900) g",
    "mysql_db": "INSERT INTO t SELECT seq, seq * 1.5, seq MOD 7 FROM seq_1_to_900",
    "sqlite_db": "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 900) "
    "INSERT INTO t SELECT n, n * 1.5, n % 7 FROM g",
}


@pytest.mark.parametrize("db", ["pg_db", "mysql_db", "sqlite_db"])
def test_a_unique_decimal_holds_as_the_database_stores_it(request: pytest.FixtureRequest, db: str) -> None:
    """D) A UNIQUE NUMERIC(10,2): '3.0' and '3' (or 3.004 and 3.001) were two values to relsynth
    and one to the database, and the load failed with a UniqueViolation."""
    import relsynth

    source = request.getfixturevalue(db)()
    target = request.getfixturevalue(db)()
    run_sql(
        source,
        "CREATE TABLE t (t_id INT PRIMARY KEY, amt NUMERIC(10, 2) NOT NULL UNIQUE, k INT NOT NULL);\n"
        + UNIQUE_AMOUNTS[db],
    )
    relsynth.synthesize(source, target, seed=1)
    rows, distinct = fetch(target, "SELECT COUNT(*), COUNT(DISTINCT amt) FROM t")[0]
    assert rows == distinct and rows >= 880, (rows, distinct)


@pytest.mark.postgresql
def test_replace_refuses_when_another_schemas_view_reads_a_view_it_recreates(
    request: pytest.FixtureRequest,
) -> None:
    """E) --replace of schema b, where a view of schema a (not written) reads b's view: the DROP
    VIEW failed with an internal error (2BP01) instead of the refusal tables get."""
    import relsynth

    source = request.getfixturevalue("pg_db")()
    target = request.getfixturevalue("pg_db")()
    run_sql(
        source,
        """
        CREATE SCHEMA a; CREATE SCHEMA b;
        CREATE TABLE a.customer (customer_id int PRIMARY KEY, region text NOT NULL);
        CREATE TABLE b.orders (order_id int PRIMARY KEY, customer_id int NOT NULL REFERENCES a.customer,
          amount numeric(10, 2) NOT NULL);
        INSERT INTO a.customer SELECT g, (array['n','s','e','w'])[1 + mod(g, 4)] FROM generate_series(1, 300) g;
        INSERT INTO b.orders SELECT g, 1 + mod(g * 13, 300), round(mod(g * 37, 50000) / 100.0, 2)
          FROM generate_series(1, 1000) g;
        CREATE VIEW b.v_big AS SELECT order_id, amount FROM b.orders WHERE amount > 100;
        CREATE VIEW a.v_vv AS SELECT * FROM b.v_big WHERE amount > 200
        """,
    )
    relsynth.synthesize(source, target, db_schema=["a", "b"], seed=1)
    before = fetch(target, "SELECT count(*), sum(amount) FROM b.orders")
    with pytest.raises(relsynth.RelsynthError, match=r"v_vv depends on view b\.v_big"):
        relsynth.synthesize(source, target, db_schema="b", replace=True, seed=2)
    assert fetch(target, "SELECT count(*), sum(amount) FROM b.orders") == before


def _omop_like() -> str:
    """People with 1-8 visits; drug exposures start within their visit, last 0-90 days, and a
    zero-length one has no days_supply; a few name no visit."""
    import datetime as dt
    import random

    r = random.Random(31)
    out = [
        "CREATE TABLE person (person_id int PRIMARY KEY, gender_concept_id int NOT NULL, year_of_birth int NOT NULL);",
        "CREATE TABLE visit_occurrence (visit_occurrence_id int PRIMARY KEY, person_id int NOT NULL REFERENCES person,"
        " visit_concept_id int NOT NULL, visit_start_date date NOT NULL, visit_end_date date NOT NULL);",
        "CREATE TABLE drug_exposure (drug_exposure_id int PRIMARY KEY, person_id int NOT NULL REFERENCES person,"
        " drug_concept_id int NOT NULL, drug_exposure_start_date date NOT NULL, drug_exposure_end_date date NOT NULL,"
        " days_supply int, visit_occurrence_id int REFERENCES visit_occurrence);",
    ]
    vid, did = 1000, 1
    for pid in range(1, 301):
        out.append(f"INSERT INTO person VALUES ({pid}, {r.choice([8507, 8532])}, {r.randint(1930, 2005)});")
        t = dt.date(2015, 1, 1) + dt.timedelta(days=r.randint(0, 600))
        for _ in range(r.randint(1, 8)):
            t += dt.timedelta(days=r.randint(5, 200))
            los = r.choice([0, 0, 0, 1, 2, 3, 5, 8])
            out.append(
                f"INSERT INTO visit_occurrence VALUES ({vid}, {pid}, {9201 if los else 9202}, '{t}', "
                f"'{t + dt.timedelta(days=los)}');"
            )
            for _ in range(r.randint(0, 4)):
                start = t + dt.timedelta(days=r.randint(0, los))
                dur = r.choice([0, 7, 14, 30, 30, 30, 90])
                drug = r.choice([1125315, 1127433, 19019073, 1112807, 40163554])
                out.append(
                    f"INSERT INTO drug_exposure VALUES ({did}, {pid}, {drug}, '{start}', "
                    f"'{start + dt.timedelta(days=dur)}', {dur or 'NULL'}, {vid});"
                )
                did += 1
            vid += 1
    return "\n".join(out)


@pytest.mark.postgresql
@pytest.mark.parametrize("scale", [2.0, 3.0])
def test_no_row_equals_a_unique_source_record_at_any_scale(
    request: pytest.FixtureRequest, scale: float
) -> None:
    """F) At --scale 2 and 3, 7 and 4 OMOP-like drug exposures equalled a record unique in the
    source (a code, a start, the same end, no supply): settling them against their visits once
    every table existed moved them back onto it after the check, and nothing checked again."""
    from collections import Counter

    import relsynth

    source = request.getfixturevalue("pg_db")()
    target = request.getfixturevalue("pg_db")()
    run_sql(source, _omop_like())
    relsynth.synthesize(source, target, scale=scale, seed=2)
    cols = "drug_concept_id, drug_exposure_start_date, drug_exposure_end_date, days_supply"
    counts = Counter(fetch(source, f"SELECT {cols} FROM drug_exposure"))
    unique = {row for row, n in counts.items() if n == 1}
    copies = [row for row in fetch(target, f"SELECT {cols} FROM drug_exposure") if row in unique]
    assert not copies, copies[:3]
