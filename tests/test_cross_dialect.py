"""Cross-dialect and odd-schema writes found by the adversarial run: identifiers with '%',
types in non-public schemas, type mappings that must keep values, per-schema index names."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import relsynth
from tests.conftest import EVERY_DATABASE, run_raw


def _scalar(url: str, sql: str, **params: object) -> object:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()
    finally:
        engine.dispose()


@pytest.mark.postgresql
def test_percent_table_with_serial_pg_to_pg(pg_db) -> None:
    """The sequence of a table named with '%' is advanced past the loaded keys."""
    source, target = pg_db(), pg_db()
    run_raw(
        source,
        'CREATE TABLE "lab%result" (id serial PRIMARY KEY, v int NOT NULL)',
        'INSERT INTO "lab%result" (v) SELECT g % 17 FROM generate_series(1, 300) g',
    )
    out = relsynth.synthesize(source, target)
    assert out["write"].verification.problems == 0
    top = _scalar(target, 'SELECT max(id) FROM "lab%result"')
    nxt = _scalar(target, "SELECT nextval(pg_get_serial_sequence('\"lab%result\"', 'id'))")
    assert nxt == top + 1


@pytest.mark.postgresql
@pytest.mark.mysql
def test_percent_table_mysql_to_pg(mysql_db, pg_db) -> None:
    source, target = mysql_db(), pg_db()
    run_raw(
        source,
        "CREATE TABLE `disc%` (id INT AUTO_INCREMENT PRIMARY KEY, `rate%` DECIMAL(5,2) NOT NULL)",
        "INSERT INTO `disc%` (`rate%`) SELECT (seq % 40) / 2 FROM seq_1_to_300",
    )
    out = relsynth.synthesize(source, target)
    assert out["write"].verification.problems == 0
    top = _scalar(target, 'SELECT max(id) FROM "disc%"')
    nxt = _scalar(target, "SELECT nextval(pg_get_serial_sequence('\"disc%\"', 'id'))")
    assert nxt == top + 1


def _pg_types(url: str) -> dict[tuple[str, str], str]:
    """(schema, name) of every enum and domain in the database -> its definition."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT n.nspname, t.typname, CASE t.typtype WHEN 'd' THEN "
                    "format_type(t.typbasetype, t.typtypmod) || CASE WHEN t.typnotnull THEN ' not null' ELSE '' END "
                    "ELSE (SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid) END "
                    "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                    "WHERE t.typtype IN ('e', 'd') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
                )
            ).all()
            return {(r[0], r[1]): r[2] for r in rows}
    finally:
        engine.dispose()


@pytest.mark.postgresql
def test_enum_and_domain_in_their_schema(pg_db) -> None:
    """An enum cast to in a CHECK, and a domain with a precision, are recreated in schema s."""
    source, target = pg_db(), pg_db()
    run_raw(
        source,
        "CREATE SCHEMA s",
        "CREATE TYPE s.st AS ENUM ('open', 'closed')",
        "CREATE DOMAIN s.amt AS numeric(38,10)",
        "CREATE DOMAIN s.posint AS int NOT NULL CHECK (VALUE > 0)",
        "CREATE TABLE s.t (id serial PRIMARY KEY, st s.st NOT NULL, closed_on date, a s.amt, n s.posint,"
        " CHECK ((st = 'open'::s.st) = (closed_on IS NULL)))",
        "INSERT INTO s.t (st, closed_on, a, n) SELECT CASE WHEN g % 3 = 0 THEN 'open' ELSE 'closed' END::s.st,"
        " CASE WHEN g % 3 = 0 THEN NULL ELSE date '2020-01-01' + g END, g / 7.0, g FROM generate_series(1, 300) g",
    )
    out = relsynth.synthesize(source, target, db_schema="s")
    assert out["write"].verification.problems == 0
    types = _pg_types(target)
    assert types[("s", "st")] == "open,closed"
    assert types[("s", "amt")] == "numeric(38,10)"
    assert types[("s", "posint")] == "integer not null"
    assert ("public", "amt") not in types and ("public", "st") not in types
    assert _scalar(target, "SELECT count(*) FROM s.t WHERE n <= 0") == 0


@pytest.mark.postgresql
def test_enum_in_public_used_from_another_schema(pg_db) -> None:
    source, target = pg_db(), pg_db()
    run_raw(
        source,
        "CREATE SCHEMA s",
        "CREATE TYPE public.st AS ENUM ('open', 'closed')",
        "CREATE TABLE s.t (id serial PRIMARY KEY, st public.st NOT NULL)",
        "INSERT INTO s.t (st) SELECT CASE WHEN g % 3 = 0 THEN 'open' ELSE 'closed' END::st FROM generate_series(1, 300) g",
    )
    out = relsynth.synthesize(source, target, db_schema="s")
    assert out["write"].verification.problems == 0
    assert _pg_types(target)[("public", "st")] == "open,closed"
    assert _scalar(target, "SELECT count(DISTINCT st) FROM s.t") == 2


def _sqlite_source(url: str, script: str) -> str:
    import sqlite3

    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        con.executescript(script)
        con.commit()
    finally:
        con.close()
    return url


_SQLITE_REAL = """CREATE TABLE t (id INTEGER PRIMARY KEY, lat REAL NOT NULL, flag BOOLEAN NOT NULL DEFAULT 0);
WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 300)
INSERT INTO t SELECT i, 52.123456789 + i * 0.000123457, i % 2 FROM g;"""


@pytest.mark.postgresql
def test_sqlite_real_and_boolean_default_to_pg(sqlite_db, pg_db) -> None:
    """SQLite's REAL is 8 bytes: a double here; its BOOLEAN DEFAULT 0 becomes DEFAULT false."""
    source, target = _sqlite_source(sqlite_db(), _SQLITE_REAL), pg_db()
    out = relsynth.synthesize(source, target)
    assert out["write"].verification.problems == 0
    kinds = {
        c: _scalar(
            target,
            f"SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = '{c}'",
        )
        for c in ("lat", "flag")
    }
    assert kinds == {"lat": "double precision", "flag": "boolean"}
    run_raw(target, "INSERT INTO t (id, lat) VALUES (100000, 1.0)")
    assert _scalar(target, "SELECT flag FROM t WHERE id = 100000") is False


@pytest.mark.mysql
def test_sqlite_real_to_mysql_is_double(sqlite_db, mysql_db) -> None:
    source, target = _sqlite_source(sqlite_db(), _SQLITE_REAL), mysql_db()
    out = relsynth.synthesize(source, target)
    assert out["write"].verification.problems == 0
    assert (
        _scalar(
            target,
            "SELECT data_type FROM information_schema.columns WHERE table_schema = DATABASE() AND column_name = 'lat'",
        )
        == "double"
    )


@pytest.mark.postgresql
@pytest.mark.mysql
def test_unconstrained_numeric_and_timetz_pg_to_mysql(pg_db, mysql_db) -> None:
    """A bare numeric keeps its fractions (not DECIMAL(10,0)); a timetz losing its offset is said."""
    source, target = pg_db(), mysql_db()
    run_raw(
        source,
        "CREATE TABLE m (id serial PRIMARY KEY, ratio numeric NOT NULL CHECK (ratio > 0), starts timetz NOT NULL)",
        "INSERT INTO m (ratio, starts) SELECT 0.001 + (g % 97) / 1000.0,"
        " (make_time(g % 24, 15, 0)::text || (ARRAY['+01', '+05:30', '-08'])[1 + g % 3])::timetz"
        " FROM generate_series(1, 300) g",
    )
    out = relsynth.synthesize(source, target)
    assert out["write"].verification.problems == 0
    changes = "\n".join(out["write"].changes)
    assert "m.ratio: NUMERIC -> DECIMAL(65,30)" in changes
    assert "m.starts:" in changes and "UTC offset is lost" in changes
    assert (
        _scalar(
            target,
            "SELECT numeric_scale FROM information_schema.columns WHERE table_schema = DATABASE() AND column_name = 'ratio'",
        )
        == 30
    )
    assert 0 < _scalar(target, "SELECT min(ratio) FROM m") < 1
    assert _scalar(target, "SELECT count(DISTINCT ratio) FROM m") > 10


@pytest.mark.postgresql
@pytest.mark.mysql
def test_mysql_index_names_repeated_across_tables_to_pg(mysql_db, pg_db) -> None:
    """MySQL names indexes per table; PostgreSQL per schema: the second store_id is renamed."""
    source, target = mysql_db(), pg_db()
    run_raw(
        source,
        "CREATE TABLE store (id INT PRIMARY KEY, n INT NOT NULL)",
        "CREATE TABLE sale (id INT PRIMARY KEY, store_id INT NOT NULL, amount INT NOT NULL,"
        " FOREIGN KEY (store_id) REFERENCES store (id))",
        "CREATE TABLE visit (id INT PRIMARY KEY, store_id INT NOT NULL, minutes INT NOT NULL,"
        " FOREIGN KEY (store_id) REFERENCES store (id))",
        "INSERT INTO store SELECT seq, seq % 7 FROM seq_1_to_30",
        "INSERT INTO sale SELECT seq, 1 + seq % 30, seq % 100 FROM seq_1_to_300",
        "INSERT INTO visit SELECT seq, 1 + seq % 30, seq % 60 FROM seq_1_to_300",
    )
    out = relsynth.synthesize(source, target)
    assert out["write"].verification.problems == 0
    assert any("index store_id renamed" in line for line in out["write"].changes)
    on = _scalar(
        target,
        "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_indexes WHERE indexdef LIKE '%(store_id)'",
    )
    assert on == "sale,visit"


def test_mariadb_column_level_checks_are_kept(request: pytest.FixtureRequest) -> None:
    """`price DECIMAL CHECK (price > 0)` is a column-level CHECK in MariaDB's catalog; SQLAlchemy
    reads only table-level ones, so these vanished from inspect and from every target."""
    source, target = request.getfixturevalue("mysql_db")(), request.getfixturevalue("pg_db")()
    engine = sa.create_engine(source)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE item (id int PRIMARY KEY, price decimal(10,2) CHECK (price > 0), "
            "qty int CHECK (qty BETWEEN 1 AND 20), doc json, CONSTRAINT few CHECK (qty < 100))"
        )
        conn.exec_driver_sql(
            "INSERT INTO item VALUES "
            + ", ".join(f"({i}, {i % 7 + 1}.5, {i % 20 + 1}, '{{}}')" for i in range(60))
        )
    engine.dispose()
    checks = {c.sql for c in relsynth.reflect(source).table("item").checks}
    assert checks == {"`price` > 0", "`qty` between 1 and 20", "`qty` < 100"}
    relsynth.synthesize(source, target, seed=1)
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        defs = (
            conn.exec_driver_sql(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'c' AND conrelid = 'item'::regclass"
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert len(defs) == 3, defs


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mysql"])
def test_timestamps_kept_to_whole_minutes_stay_so(kind: str, request: pytest.FixtureRequest) -> None:
    """Visits recorded to the minute (an admission at 10:37, a discharge so many minutes later):
    synthetic ones are too, ordered as in the source (seconds appeared on 490 of 500 rows)."""
    import datetime as dt

    fixture = {"sqlite": "sqlite_db", "postgresql": "pg_db", "mysql": "mysql_db"}[kind]
    make = request.getfixturevalue(fixture)
    source, target = make(), make()
    meta = sa.MetaData()
    visit = sa.Table(
        "visit",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("admitted_at", sa.DateTime, nullable=False),
        sa.Column("discharged_at", sa.DateTime),
    )
    start = dt.datetime(2019, 1, 1)
    rows = []
    for g in range(1, 301):
        admitted = start + dt.timedelta(minutes=g * 7919 % 500000)
        discharged = None if g % 5 == 0 else admitted + dt.timedelta(minutes=37 * (g % 97))
        rows.append({"id": g, "admitted_at": admitted, "discharged_at": discharged})
    engine = sa.create_engine(source)
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(visit.insert(), rows)
    engine.dispose()
    relsynth.synthesize(source, target, seed=2)
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        out = conn.execute(sa.select(visit.c.admitted_at, visit.c.discharged_at)).all()
    engine.dispose()
    assert len(out) == 300
    stamps = [v for row in out for v in row if v is not None]
    assert all(v.second == 0 and v.microsecond == 0 for v in stamps)
    assert all(b is None or b >= a for a, b in out)


DOTTED = (
    'CREATE SCHEMA "my.schema"',
    "CREATE DOMAIN amount AS numeric(12,2) CHECK (VALUE >= 0)",
    "CREATE DOMAIN code5 AS varchar(5)",
    'CREATE DOMAIN "my.schema"."dotted.type" AS varchar(7)',
    """CREATE TYPE "mood.kind" AS ENUM ('sad', 'ok', 'happy')""",
    'CREATE TABLE t (id serial PRIMARY KEY, a amount NOT NULL, c code5, d "my.schema"."dotted.type", m "mood.kind")',
    """INSERT INTO t (a, c, d, m) SELECT (g * 3.37)::numeric(12,2), substr(md5(g::text), 1, 5),
       substr(md5(g::text), 1, 7), (ARRAY['sad', 'ok', 'happy'])[1 + g % 3]::"mood.kind"
       FROM generate_series(1, 300) g""",
)


@pytest.mark.postgresql
@pytest.mark.parametrize("kind", ["postgresql", "mysql", "sqlite"])
def test_domains_keep_their_base_and_check_and_dotted_type_names_stay_whole(
    kind: str, request: pytest.FixtureRequest
) -> None:
    """numeric(12,2) and varchar(5) domains were DECIMAL(65,30) and TEXT in MariaDB and their CHECK
    was lost; a type named "mood.kind" (or in schema "my.schema") became type kind in a new schema mood."""
    source = request.getfixturevalue("pg_db")()
    target = request.getfixturevalue(
        {"postgresql": "pg_db", "mysql": "mysql_db", "sqlite": "sqlite_db"}[kind]
    )()
    run_raw(source, *DOTTED)
    out = relsynth.synthesize(source, target, seed=1)
    assert out["write"].verification.problems == 0
    engine = sa.create_engine(target)
    try:
        insp = sa.inspect(engine)
        if kind == "postgresql":
            assert (
                set(insp.get_schema_names()) >= {"public", "my.schema"}
                and "mood" not in insp.get_schema_names()
            )
            assert "my" not in insp.get_schema_names()
            types = _pg_types(target)
            assert types[("public", "amount")] == "numeric(12,2)"
            assert ("my.schema", "dotted.type") in types and ("public", "mood.kind") in types
        else:
            cols = {c["name"]: c["type"] for c in insp.get_columns("t")}
            assert (cols["a"].precision, cols["a"].scale) == (12, 2)
            assert cols["c"].length == 5 and cols["d"].length == 7
        with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:  # the domain's CHECK holds everywhere
            conn.execute(sa.text("INSERT INTO t (id, a) VALUES (100000, -1)"))
    finally:
        engine.dispose()


@pytest.mark.postgresql
@pytest.mark.mysql
@pytest.mark.parametrize("target_kind", ["mysql", "sqlite", "postgresql"])
def test_generated_columns_hold_values_in_every_target(
    target_kind: str, pg_db, request: pytest.FixtureRequest
) -> None:
    """A generated column whose expression another dialect cannot take is a plain column there,
    filled with learned values (it was written NULL); the same dialect computes it again."""
    source = pg_db()
    target = request.getfixturevalue(f"{'pg' if target_kind == 'postgresql' else target_kind}_db")()
    run_raw(
        source,
        "CREATE TABLE line (id int PRIMARY KEY, price numeric(8,2) NOT NULL, qty int NOT NULL, "
        "total numeric(10,2) GENERATED ALWAYS AS (price * qty) STORED)",
        "INSERT INTO line (id, price, qty) SELECT g, 5 + (g % 37) * 1.25, 1 + g % 6 "
        "FROM generate_series(1, 400) g",
    )
    out = relsynth.synthesize(source, target, seed=3)
    assert out["write"].verification.problems == 0
    assert _scalar(target, "SELECT count(*) FROM line WHERE total IS NULL") == 0
    low, high = _scalar(target, "SELECT min(total) FROM line"), _scalar(target, "SELECT max(total) FROM line")
    assert float(low) >= 5 and float(high) <= 50 * 6  # within the source's range of price * qty
    exact = _scalar(target, "SELECT count(*) FROM line WHERE total = price * qty")
    if target_kind == "postgresql":
        assert exact == _scalar(target, "SELECT count(*) FROM line")  # computed by the target


@pytest.mark.postgresql
@pytest.mark.parametrize("target_kind", ["postgresql", "sqlite"])
def test_a_total_over_lines_with_a_generated_column_still_adds_up(
    target_kind: str, pg_db, request: pytest.FixtureRequest
) -> None:
    """orders.total = sum(line_total) was learned with line_total, a generated column, as its
    term; the database computed line_total again from qty and unit_price drawn on their own, and
    153 of 500 totals no longer added up (fresh-context attack round). The sum is over qty *
    unit_price, which hold in every target."""
    source = pg_db()
    target = request.getfixturevalue(f"{'pg' if target_kind == 'postgresql' else target_kind}_db")()
    run_raw(
        source,
        "CREATE TABLE orders (order_id int PRIMARY KEY, total numeric(10,2) NOT NULL)",
        "CREATE TABLE order_line (order_id int NOT NULL REFERENCES orders, line_no int NOT NULL, "
        "qty int NOT NULL, unit_price numeric(10,2) NOT NULL, "
        "line_total numeric(12,2) GENERATED ALWAYS AS (qty * unit_price) STORED, PRIMARY KEY (order_id, line_no))",
        "INSERT INTO orders SELECT g, 0 FROM generate_series(1, 500) g",
        "INSERT INTO order_line (order_id, line_no, qty, unit_price) SELECT o, l, 1 + (o * l) % 4, "
        "(ARRAY[4.99, 9.99, 19.99, 49.5, 99])[1 + (o + 3 * l) % 5] FROM generate_series(1, 500) o, "
        "generate_series(1, 5) l WHERE l <= 1 + o % 5",
        "UPDATE orders o SET total = (SELECT sum(qty * unit_price) FROM order_line l WHERE l.order_id = o.order_id)",
    )
    out = relsynth.synthesize(source, target, seed=1)
    assert out["write"].verification.problems == 0
    wrong = _scalar(
        target,
        "SELECT count(*) FROM orders o WHERE abs(o.total - (SELECT sum(l.qty * l.unit_price) FROM order_line l "
        "WHERE l.order_id = o.order_id)) > 0.005",  # SQLite adds its decimals as doubles
    )
    assert wrong == 0


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_sample_files_leave_generated_columns_to_the_database(db: str, request, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`sample -o` wrote a drawn total beside its price and quantity (182.13 for 92.43 x 2), and
    a load of the file into the same table fails on the generated column. Left out, the files
    load as they are and the database computes the total."""
    import pandas as pd

    source, again = (request.getfixturevalue(f"{db}_db")() for _ in range(2))
    ddl = (
        "CREATE TABLE line (id INTEGER PRIMARY KEY, price DECIMAL(8,2) NOT NULL, qty INTEGER NOT NULL, "
        "total DECIMAL(10,2) GENERATED ALWAYS AS (price * qty) STORED)"
    )
    rows = ", ".join(f"({i}, {5 + (i % 37) * 1.25}, {1 + i % 6})" for i in range(1, 301))
    run_raw(source, ddl, f"INSERT INTO line (id, price, qty) VALUES {rows}")
    run_raw(again, ddl)
    out, result = _sample_files(source, tmp_path)
    assert "left out of the files: line.total" in result.stderr
    frame = pd.read_csv(out / "line.csv")
    assert list(frame.columns) == ["id", "price", "qty"]
    engine = sa.create_engine(again)
    try:
        frame.to_sql("line", engine, if_exists="append", index=False)
    finally:
        engine.dispose()
    assert _scalar(again, "SELECT count(*) FROM line WHERE total = price * qty") == len(frame) == 300


def _sample_files(source: str, tmp_path, fmt: str = "csv"):  # type: ignore[no-untyped-def]
    """`relsynth sample MODEL -o DIR --format fmt` of a model of ``source``: the directory and
    the command's result."""
    from click.testing import CliRunner

    from relsynth.cli import main

    model = tmp_path / "m.rsm"
    if not model.exists():
        relsynth.fit(source, seed=1).save(model)
    result = CliRunner().invoke(main, ["sample", str(model), "-o", str(tmp_path / fmt), "--format", fmt])
    assert result.exit_code == 0, result.output
    return tmp_path / fmt, result


def _copy_csv(url: str, table: str, path) -> None:  # type: ignore[no-untyped-def]
    """Load a csv file into a PostgreSQL table with COPY, as a user would."""
    import psycopg

    plain = sa.make_url(url).set(drivername="postgresql").render_as_string(False)
    with (
        psycopg.connect(plain) as conn,
        conn.cursor().copy(f"COPY {table} FROM STDIN (FORMAT csv, HEADER true)") as copy,
    ):
        copy.write(path.read_bytes())


def _flags_and_nan(db: str) -> str:
    """300 rows: a NOT NULL double with NaN in a fifth of them (PostgreSQL only holds NaN), a
    NOT NULL flag, and a nullable one."""
    nan = "'NaN'" if db == "pg" else "0"
    true, false = ("TRUE", "FALSE") if db == "pg" else ("1", "0")
    rows = ", ".join(
        f"({i}, {nan if i % 5 == 0 else i * 0.5}, {true if i % 3 else false}, "
        f"{'NULL' if i % 7 == 0 else (true if i % 2 else false)})"
        for i in range(1, 301)
    )
    return f"INSERT INTO t VALUES {rows}"


_FLAGS_DDL = {
    "pg": "CREATE TABLE t (id INTEGER PRIMARY KEY, x DOUBLE PRECISION NOT NULL, ok BOOLEAN NOT NULL, seen BOOLEAN)",
    "mysql": "CREATE TABLE t (id INTEGER PRIMARY KEY, x DOUBLE NOT NULL, ok BOOLEAN NOT NULL, seen BOOLEAN)",
}


@pytest.mark.parametrize("db", [EVERY_DATABASE[1], EVERY_DATABASE[2]])
def test_sample_files_load_back_with_their_nan_and_booleans(db: str, request, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`sample -o` wrote a NOT NULL float's NaN as an empty field (csv) or a null (parquet), which
    the column refuses on load, and booleans as True/False, which MariaDB's LOAD DATA reads as 0."""
    import pyarrow.parquet as pq

    source, again = (request.getfixturevalue(f"{db}_db")() for _ in range(2))
    run_raw(source, _FLAGS_DDL[db], _flags_and_nan(db))
    run_raw(again, _FLAGS_DDL[db])
    for fmt in ("csv", "parquet"):
        _sample_files(source, tmp_path, fmt)
    x = pq.read_table(tmp_path / "parquet" / "t.parquet").column("x")
    assert x.null_count == 0
    csv = tmp_path / "csv" / "t.csv"
    if db == "pg":
        assert 30 <= x.to_pandas().isna().sum() <= 90  # NaN, a fifth of 300
        _copy_csv(again, "t", csv)
        assert 30 <= _scalar(again, "SELECT count(*) FROM t WHERE x = 'NaN'") <= 90
    else:
        import pymysql

        url = sa.make_url(again)
        conn = pymysql.connect(
            host=url.host, port=url.port or 3306, user=url.username, database=url.database, local_infile=True
        )
        try:
            with conn.cursor() as cur:
                cur.execute(
                    f"LOAD DATA LOCAL INFILE '{csv}' INTO TABLE t FIELDS TERMINATED BY ',' "
                    "OPTIONALLY ENCLOSED BY '\"' IGNORE 1 LINES (id, x, ok, @seen) "
                    "SET seen = NULLIF(@seen, '')"
                )
            conn.commit()
        finally:
            conn.close()
    assert _scalar(again, "SELECT count(*) FROM t") == 300
    trues = _scalar(again, "SELECT count(*) FROM t WHERE ok")
    assert 150 <= trues <= 250  # two thirds of 300; read as 0, True was none
    assert 0 < _scalar(again, "SELECT count(*) FROM t WHERE seen") < 300


def test_parquet_files_hold_keys_past_64_bits(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Attack round 24: a NUMERIC(38,0) key of 2**70 stopped `sample -o --format parquet` with
    an internal error (OverflowError)."""
    import pandas as pd
    import pyarrow.parquet as pq

    frame = pd.DataFrame({"k": pd.Series([2**70 + 1, 5, None], dtype=object), "n": ["a", "b", "c"]})
    (path,) = relsynth.write_files({"t": frame}, tmp_path, fmt="parquet")
    back = pq.read_table(path).column("k").to_pylist()
    assert [None if v is None else int(v) for v in back] == [2**70 + 1, 5, None]


@pytest.mark.postgresql
def test_sample_csv_tells_an_empty_string_from_null(pg_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Attack round 25: '' and NULL were both an empty field, so COPY read the empty strings as
    NULL and refused the file for a NOT NULL text column."""

    source, again = pg_db(), pg_db()
    ddl = "CREATE TABLE e (id INTEGER PRIMARY KEY, code VARCHAR(10) NOT NULL, note TEXT)"
    rows = ", ".join(
        f"({g}, '{'' if g % 4 == 0 else 'c' + str(g % 3)}', {'NULL' if g % 3 == 0 else repr('n' + str(g % 2))})"
        for g in range(1, 401)
    )
    run_raw(source, ddl, f"INSERT INTO e VALUES {rows}")
    run_raw(again, ddl)
    out, _ = _sample_files(source, tmp_path)
    _copy_csv(again, "e", out / "e.csv")
    assert 50 <= _scalar(again, "SELECT count(*) FROM e WHERE code = ''") <= 150  # a quarter of 400
    assert 80 <= _scalar(again, "SELECT count(*) FROM e WHERE note IS NULL") <= 190  # a third
