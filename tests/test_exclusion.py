"""PostgreSQL EXCLUDE constraints: reflected, met by the synthetic rows, recreated (or said not to be)."""

from __future__ import annotations

import pandas as pd
import pytest

import relsynth
from relsynth.exclusion import form, repair
from relsynth.reflection import reflect
from relsynth.schema import Schema
from tests.conftest import fetch, run_sql, scalar

HR_EXCL = "title_hist_emp_no_during_excl"
BOOK_EXCL = "no_double_booking"

SOURCE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TABLE emp (emp_no int PRIMARY KEY, name text NOT NULL);
CREATE TABLE title_hist (
    emp_no int NOT NULL REFERENCES emp, title text NOT NULL, during daterange NOT NULL,
    PRIMARY KEY (emp_no, title, during),
    EXCLUDE USING gist (emp_no WITH =, during WITH &&));
CREATE TABLE room (room_id int PRIMARY KEY, label text NOT NULL);
CREATE TABLE booking (
    id int PRIMARY KEY, room_id int NOT NULL REFERENCES room, who text,
    starts timestamptz NOT NULL, ends timestamptz NOT NULL, CHECK (ends > starts),
    CONSTRAINT no_double_booking EXCLUDE USING gist (room_id WITH =, tstzrange(starts, ends) WITH &&));
INSERT INTO emp SELECT g, 'E' || g FROM generate_series(1, 120) g;
INSERT INTO title_hist
SELECT e, 'T' || k, daterange(DATE '1995-01-01' + (e * 7 + k * 400), DATE '1995-01-01' + (e * 7 + k * 400 + 300 + mod(e, 90)))
FROM generate_series(1, 120) e, generate_series(0, 2) k;
INSERT INTO room SELECT g, 'R' || g FROM generate_series(1, 6) g;
INSERT INTO booking
SELECT g, 1 + mod(g, 6), 'w' || mod(g, 17),
       TIMESTAMPTZ '2024-01-01 08:00+00' + (g / 6) * interval '3 hours',
       TIMESTAMPTZ '2024-01-01 08:00+00' + (g / 6) * interval '3 hours' + (30 + mod(g * 37, 120)) * interval '1 minute'
FROM generate_series(1, 300) g;
"""


def _source(request: pytest.FixtureRequest, extra: str = "") -> str:
    url = request.getfixturevalue("pg_db")()
    run_sql(url, SOURCE + extra)
    return url


def _overlapping(url: str) -> int:
    return int(
        scalar(
            url,
            "SELECT (SELECT count(*) FROM title_hist a JOIN title_hist b ON a.emp_no = b.emp_no "
            "AND a.ctid < b.ctid AND a.during && b.during) + (SELECT count(*) FROM booking a JOIN booking b "
            "ON a.room_id = b.room_id AND a.id < b.id AND tstzrange(a.starts, a.ends) && tstzrange(b.starts, b.ends))",
        )
    )


# -- reflection and the schema file ---------------------------------------------------------------
@pytest.mark.postgresql
def test_exclusions_are_reflected_and_kept_in_the_schema_file(request: pytest.FixtureRequest) -> None:
    source = _source(request)
    schema = reflect(source, profile=False)
    hist = schema.table("title_hist").exclusions
    assert [e.name for e in hist] == [HR_EXCL]
    assert hist[0].elements == (("emp_no", "="), ("during", "&&"))
    assert hist[0].extensions == ("btree_gist",)
    assert hist[0].sql.startswith("EXCLUDE USING gist")
    book = schema.table("booking").exclusions[0]
    assert book.name == BOOK_EXCL and book.elements[1] == ("tstzrange(starts, ends)", "&&")
    shape = form(schema.table("booking"), book)
    assert (
        shape is not None and shape.keys == ("room_id",) and (shape.lower, shape.upper) == ("starts", "ends")
    )
    again = Schema.from_json(schema.to_json())
    assert again == schema
    # An older file (no "exclusions") still loads, with none.
    old = schema.to_dict()
    for t in old["tables"]:
        t.pop("exclusions", None)
    assert Schema.from_dict(old).table("title_hist").exclusions == ()


# -- the repair, on frames -------------------------------------------------------------------------
def test_overlapping_ranges_are_moved_after_the_earlier_one() -> None:
    from relsynth.schema import Column, Exclusion, SqlType, Table

    table = Table(
        "h",
        (Column("k", SqlType("integer")), Column("during", SqlType("range", native="DATERANGE"))),
        exclusions=(Exclusion("x", "EXCLUDE ...", elements=(("k", "="), ("during", "&&"))),),
    )
    frame = pd.DataFrame(
        {
            "k": [1, 1, 2, 1, 1],
            "during": [
                "[2020-01-01,2020-01-11)",
                "[2020-01-05,2020-01-08)",
                "[2020-01-05,2020-01-08)",
                "[2020-01-07,)",
                "empty",
            ],
        }
    )
    shape = form(table, table.exclusions[0])
    assert shape is not None
    out, moved, stuck = repair(table, frame, shape)
    assert moved.tolist() == [False, True, False, True, False] and not stuck.any()
    assert out["during"].tolist() == [
        "[2020-01-01,2020-01-11)",
        "[2020-01-11,2020-01-14)",  # its 3 days, from where the first ends
        "[2020-01-05,2020-01-08)",  # another key
        "[2020-01-14,)",  # an open end moves too
        "empty",
    ]
    # An open-ended range goes after the closed ones of its key; a second one cannot follow it.
    frame2 = pd.DataFrame(
        {"k": [1, 1, 1], "during": ["[2020-01-01,)", "[2020-02-01,2020-02-03)", "[2020-01-09,)"]}
    )
    out2, moved2, stuck2 = repair(table, frame2, shape)
    assert moved2.tolist() == [True, False, False] and stuck2.tolist() == [False, False, True]
    assert out2["during"][0] == "[2020-02-03,)"


def test_two_timestamp_columns_are_moved_together() -> None:
    from relsynth.schema import Column, Exclusion, SqlType, Table

    table = Table(
        "b",
        (
            Column("room", SqlType("integer")),
            Column("starts", SqlType("datetime", timezone=True)),
            Column("ends", SqlType("datetime", timezone=True)),
        ),
        exclusions=(
            Exclusion("x", "EXCLUDE ...", elements=(("room", "="), ("tstzrange(starts, ends)", "&&"))),
        ),
    )
    t = pd.Timestamp("2024-01-01 08:00", tz="UTC")
    frame = pd.DataFrame(
        {
            "room": [1, 1, 1],
            "starts": [t, t + pd.Timedelta(hours=1), t + pd.Timedelta(hours=2)],
            "ends": [
                t + pd.Timedelta(hours=2),
                t + pd.Timedelta(hours=1, minutes=30),
                t + pd.Timedelta(hours=3),
            ],
        }
    )
    shape = form(table, table.exclusions[0])
    assert shape is not None
    out, moved, _ = repair(table, frame, shape)
    assert moved.tolist() == [False, True, True]
    assert out["starts"].dtype == frame["starts"].dtype
    assert out["starts"][1] == t + pd.Timedelta(hours=2) and out["ends"][1] == t + pd.Timedelta(
        hours=2, minutes=30
    )
    assert out["starts"][2] == t + pd.Timedelta(hours=2, minutes=30)
    assert (out["ends"] - out["starts"]).tolist() == (frame["ends"] - frame["starts"]).tolist()


# -- into PostgreSQL, SQLite, MariaDB --------------------------------------------------------------
@pytest.mark.postgresql
def test_into_postgresql_the_constraints_are_recreated_and_met(request: pytest.FixtureRequest) -> None:
    source = _source(request)
    target = request.getfixturevalue("pg_db")()
    run_sql(target, "DROP EXTENSION IF EXISTS btree_gist")
    out = relsynth.synthesize(source, target, seed=3)
    summary = out["write"]
    assert summary.verification.problems == 0
    got = dict(fetch(target, "SELECT conname, contype::text FROM pg_constraint WHERE contype = 'x'"))
    assert got == {HR_EXCL: "x", BOOK_EXCL: "x"}
    assert scalar(
        target, "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'no_double_booking'"
    ) == (
        scalar(
            source, "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'no_double_booking'"
        )
    )
    assert _overlapping(target) == 0
    assert not [line for line in summary.not_recreated if "EXCLUDE" in line]
    assert any("extension btree_gist created" in c for c in summary.changes)
    # The engine may sample bookings one after another already; the titles overlap and are moved.
    assert summary.moved_for_exclusions.get("title_hist", 0) > 0
    assert scalar(target, "SELECT count(*) FROM booking") == summary.rows["booking"] > 0
    assert not [line for line in summary.lines() if "2024-" in line or "20" + "25-" in line]  # no values


@pytest.mark.parametrize("db", [pytest.param("sqlite"), pytest.param("mysql", marks=pytest.mark.mysql)])
@pytest.mark.postgresql
def test_into_a_dialect_without_exclusions_they_are_listed(request: pytest.FixtureRequest, db: str) -> None:
    source = _source(request)
    target = request.getfixturevalue(f"{db}_db")()
    out = relsynth.synthesize(source, target, seed=4)
    summary = out["write"]
    assert summary.verification.problems == 0
    lines = summary.lines()
    for name, table in ((HR_EXCL, "title_hist"), (BOOK_EXCL, "booking")):
        assert any(
            line.startswith(f"not recreated: EXCLUDE constraint {name} on {table}:")
            and "has no exclusion constraints" in line
            for line in lines
        ), lines
    assert scalar(target, "SELECT count(*) FROM booking") == summary.rows["booking"] > 0


# -- what cannot be repaired -----------------------------------------------------------------------
@pytest.mark.postgresql
def test_overlaps_that_cannot_be_repaired_leave_a_complete_target(request: pytest.FixtureRequest) -> None:
    # An employee's last title is open-ended: a synthetic one after it can never start after it ends.
    # A form relsynth does not read (one column WITH =, no range) fails at creation: listed, not fatal.
    source = _source(
        request,
        """
        UPDATE title_hist SET during = daterange(lower(during), NULL) WHERE title = 'T2';
        CREATE TABLE tagged (id int PRIMARY KEY, tag text NOT NULL, CONSTRAINT one_per_tag EXCLUDE USING btree (tag WITH =));
        INSERT INTO tagged SELECT g, 'tag' || g FROM generate_series(1, 200) g;
        """,
    )
    target = request.getfixturevalue("pg_db")()
    out = relsynth.synthesize(source, target, seed=5)
    summary = out["write"]
    assert summary.verification.problems == 0
    names = {r[0] for r in fetch(target, "SELECT conname FROM pg_constraint WHERE contype = 'x'")}
    assert {HR_EXCL, BOOK_EXCL} <= names
    assert _overlapping(target) == 0
    assert summary.dropped_for_exclusions.get("title_hist", 0) > 0
    assert any("could not be moved" in line for line in summary.lines())
    tags_repeat = scalar(target, "SELECT count(*) - count(DISTINCT tag) FROM tagged") > 0
    if tags_repeat:  # the synthetic tags repeat: the constraint is listed, the load kept
        assert "one_per_tag" not in names
        assert any(
            "EXCLUDE constraint one_per_tag on tagged: its rows overlap" in line for line in summary.lines()
        )
    else:
        assert "one_per_tag" in names
    for table in ("emp", "title_hist", "room", "booking", "tagged"):
        assert scalar(target, f"SELECT count(*) FROM {table}") == summary.rows[table]


# -- inclusive bounds ('[]'): touching ranges overlap ----------------------------------------------
def _pairs_overlap(spans: list[tuple[object, object]], inclusive: bool) -> int:
    """How many pairs of (lower, upper) overlap, both ends included or '[)'."""
    count = 0
    for i, (a_lo, a_hi) in enumerate(spans):
        for b_lo, b_hi in spans[i + 1 :]:
            if inclusive:
                count += bool(a_lo <= b_hi and b_lo <= a_hi)  # type: ignore[operator]
            else:
                count += bool(a_lo < b_hi and b_lo < a_hi)  # type: ignore[operator]
    return count


def _two_column_table(kind: str, native: str, bounds: str, **type_args: int) -> object:
    from relsynth.schema import Column, Exclusion, SqlType, Table

    expr = f"{kind}(s, e, '{bounds}'::text)"
    return Table(
        "b2",
        (
            Column("k", SqlType("integer")),
            Column("s", SqlType(native.lower(), native=native, **type_args)),
            Column("e", SqlType(native.lower(), native=native, **type_args)),
        ),
        exclusions=(Exclusion("x", "EXCLUDE ...", elements=(("k", "="), (expr, "&&"))),),
    )


def test_inclusive_date_bounds_are_moved_a_day_after_the_earlier_end() -> None:
    import datetime as dt

    table = _two_column_table("daterange", "DATE", "[]")
    d = dt.date.fromisoformat
    frame = pd.DataFrame(
        {
            "k": [1, 1, 1, 1],
            "s": [d("2024-01-01"), d("2024-01-03"), d("2024-01-04"), d("2024-01-05")],
            "e": [d("2024-01-05"), d("2024-01-04"), d("2024-01-04"), d("2024-01-07")],
        }
    )
    shape = form(table, table.exclusions[0])  # type: ignore[attr-defined]
    assert shape is not None and shape.bounds == "[]"
    out, moved, stuck = repair(table, frame, shape)  # type: ignore[arg-type]
    assert moved.tolist() == [False, True, True, True] and not stuck.any()
    assert list(zip(out["s"], out["e"], strict=True)) == [
        (d("2024-01-01"), d("2024-01-05")),
        (d("2024-01-06"), d("2024-01-07")),  # its 2 days, the day after the first ends
        (d("2024-01-08"), d("2024-01-08")),  # one day
        (d("2024-01-09"), d("2024-01-11")),
    ]
    assert _pairs_overlap(list(zip(out["s"], out["e"], strict=True)), inclusive=True) == 0
    # '(]' and '()' on integers: the columns keep the expression's bounds, the rows their length.
    for bounds, want in (("(]", [(0, 10), (10, 13)]), ("()", [(0, 10), (9, 12)])):
        table = _two_column_table("int4range", "INTEGER", bounds)
        shape = form(table, table.exclusions[0])  # type: ignore[attr-defined]
        assert shape is not None
        ints = pd.DataFrame({"k": [1, 1], "s": [0, 5], "e": [10, 8]})
        out, moved, _ = repair(table, ints, shape)  # type: ignore[arg-type]
        assert list(zip(out["s"], out["e"], strict=True)) == want, bounds


def test_inclusive_continuous_bounds_are_moved_strictly_after() -> None:
    from decimal import Decimal

    table = _two_column_table("tsrange", "TIMESTAMP", "[]")
    t = pd.Timestamp("2024-01-01 08:00")
    frame = pd.DataFrame(
        {"k": [1, 1], "s": [t, t + pd.Timedelta(hours=1)], "e": [t + pd.Timedelta(hours=2)] * 2}
    )
    shape = form(table, table.exclusions[0])  # type: ignore[attr-defined]
    assert shape is not None
    out, moved, stuck = repair(table, frame, shape)  # type: ignore[arg-type]
    assert moved.tolist() == [False, True] and not stuck.any()  # moved, not left out
    assert out["s"][1] == t + pd.Timedelta(hours=2, microseconds=1)
    assert out["e"][1] - out["s"][1] == pd.Timedelta(hours=1)
    # numeric(8,2): a step of its scale, 0.01.
    table = _two_column_table("numrange", "NUMERIC", "[]", precision=8, scale=2)
    shape = form(table, table.exclusions[0])  # type: ignore[attr-defined]
    assert shape is not None
    nums = pd.DataFrame({"k": [1, 1], "s": [Decimal("1.00"), Decimal("2.00")], "e": [Decimal("3.00")] * 2})
    out, moved, stuck = repair(table, nums, shape)  # type: ignore[arg-type]
    assert moved.tolist() == [False, True] and not stuck.any()
    assert (out["s"][1], out["e"][1]) == (Decimal("3.01"), Decimal("4.01"))


INCLUSIVE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TABLE room (room_id int PRIMARY KEY, label text NOT NULL);
CREATE TABLE stay (id int PRIMARY KEY, room_id int NOT NULL REFERENCES room, s date NOT NULL, e date NOT NULL,
  CHECK (e >= s), CONSTRAINT stay_incl EXCLUDE USING gist (room_id WITH =, daterange(s, e, '[]') WITH &&));
CREATE TABLE visit (id int PRIMARY KEY, room_id int NOT NULL REFERENCES room, a timestamp NOT NULL,
  b timestamp NOT NULL, CHECK (b >= a), CONSTRAINT visit_incl EXCLUDE USING gist (room_id WITH =, tsrange(a, b, '[]') WITH &&));
INSERT INTO room SELECT g, 'R' || g FROM generate_series(1, 40) g;
INSERT INTO stay SELECT row_number() OVER (), r, DATE '2024-01-01' + k * 6 + mod(r, 3), DATE '2024-01-01' + k * 6 + mod(r, 3) + mod(r * k, 5)
FROM generate_series(1, 40) r, generate_series(0, 5) k;
INSERT INTO visit SELECT row_number() OVER (), r, TIMESTAMP '2024-01-01' + (k * 6) * interval '1 hour',
  TIMESTAMP '2024-01-01' + (k * 6 + 1 + mod(r * k, 5)) * interval '1 hour'
FROM generate_series(1, 40) r, generate_series(0, 5) k;
"""

INCLUSIVE_OVERLAPS = (
    "SELECT (SELECT count(*) FROM stay a JOIN stay b ON a.room_id = b.room_id AND a.id < b.id "
    "AND a.s <= b.e AND b.s <= a.e) + (SELECT count(*) FROM visit a JOIN visit b ON a.room_id = b.room_id "
    "AND a.id < b.id AND a.a <= b.b AND b.a <= a.b)"
)


@pytest.mark.postgresql
def test_inclusive_bounds_into_postgresql_the_constraints_are_created(request: pytest.FixtureRequest) -> None:
    source = request.getfixturevalue("pg_db")()
    run_sql(source, INCLUSIVE)
    target = request.getfixturevalue("pg_db")()
    summary = relsynth.synthesize(source, target, seed=1, scale=3)["write"]
    assert summary.verification.problems == 0
    names = {r[0] for r in fetch(target, "SELECT conname FROM pg_constraint WHERE contype = 'x'")}
    assert names == {"stay_incl", "visit_incl"}, summary.lines()
    assert scalar(target, INCLUSIVE_OVERLAPS) == 0
    assert summary.moved_for_exclusions.get("stay", 0) > 0
    assert not [line for line in summary.not_recreated if "EXCLUDE" in line]


@pytest.mark.postgresql
def test_into_sqlite_only_a_repaired_constraint_is_said_kept(request: pytest.FixtureRequest) -> None:
    source = request.getfixturevalue("pg_db")()
    run_sql(
        source,
        INCLUSIVE
        + """
        CREATE TABLE tagged (id int PRIMARY KEY, tag text NOT NULL, CONSTRAINT one_per_tag EXCLUDE USING btree (tag WITH =));
        INSERT INTO tagged SELECT g, 'tag' || g FROM generate_series(1, 50) g;
        """,
    )
    target = request.getfixturevalue("sqlite_db")()
    summary = relsynth.synthesize(source, target, seed=1, scale=3)["write"]
    assert summary.verification.problems == 0
    lines = summary.lines()
    for name, table in (("stay_incl", "stay"), ("visit_incl", "visit")):
        assert any(
            f"EXCLUDE constraint {name} on {table}:" in line and "the rows were kept from overlapping" in line
            for line in lines
        ), lines
    assert any(
        "EXCLUDE constraint one_per_tag on tagged:" in line
        and "not checked" in line
        and "kept from overlapping" not in line
        for line in lines
    ), lines
    import sqlite3

    path = target.split("///", 1)[1]
    with sqlite3.connect(path) as db:
        assert db.execute(INCLUSIVE_OVERLAPS).fetchone()[0] == 0


def test_a_constraint_not_yet_met_is_said_not_checked() -> None:
    from relsynth.exclusion import not_recreated
    from relsynth.schema import Column, Exclusion, SqlType, Table

    table = Table(
        "h",
        (Column("k", SqlType("integer")), Column("during", SqlType("range", native="DATERANGE"))),
        exclusions=(Exclusion("x", "EXCLUDE ...", elements=(("k", "="), ("during", "&&"))),),
    )
    schema = Schema(tables=(table,))
    # Its form is one relsynth can meet, but no repair ran on these rows: nothing is claimed.
    (line,) = not_recreated(schema, ["h"], "mysql")
    assert "not checked" in line and "kept from overlapping" not in line


# -- Ctrl-C while the constraints are created ------------------------------------------------------
@pytest.mark.postgresql
def test_ctrl_c_while_a_constraint_is_created_comes_out_as_is(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg
    import sqlalchemy as sa

    from relsynth.exclusion import recreate
    from relsynth.schema import Exclusion

    url = request.getfixturevalue("pg_db")()
    run_sql(url, "CREATE TABLE t (k int, during daterange)")
    exc = Exclusion("t_excl", "EXCLUDE USING gist (during WITH &&)", elements=(("during", "&&"),))
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    statements: list[str] = []
    try:
        with engine.connect() as conn:
            table = sa.Table("t", sa.MetaData(), autoload_with=conn)
            sa.event.listen(conn, "before_cursor_execute", lambda *a: statements.append(a[2]))
            real = psycopg.Cursor.execute

            def execute(self: psycopg.Cursor, query: object, *args: object, **kwargs: object) -> object:
                if str(query).startswith("ALTER TABLE"):
                    statements.append("ALTER TABLE (interrupted)")
                    raise KeyboardInterrupt
                return real(self, query, *args, **kwargs)  # type: ignore[arg-type]

            monkeypatch.setattr(psycopg.Cursor, "execute", execute)

            # As after a real Ctrl-C, the driver's cancel makes the savepoint's ROLLBACK fail too.
            def broken(*args: object, **kwargs: object) -> None:
                raise sa.exc.OperationalError("ROLLBACK TO SAVEPOINT", {}, psycopg.errors.QueryCanceled())

            monkeypatch.setattr(conn.dialect, "do_rollback_to_savepoint", broken)
            with pytest.raises(KeyboardInterrupt):
                recreate(conn, table, exc, lambda err: "refused")
            # No statement ran on the connection after the interrupt.
            assert statements[-1] == "ALTER TABLE (interrupted)", statements
            monkeypatch.undo()
            conn.invalidate()
    finally:
        engine.dispose()


@pytest.mark.postgresql
def test_batches_whose_ranges_overlap_are_not_said_kept(request: pytest.FixtureRequest) -> None:
    # A key that is no root's: its rows come in several batches, each repaired on its own; ranges of
    # two batches may overlap, and the summary must not say they were kept apart.
    source = request.getfixturevalue("pg_db")()
    run_sql(
        source,
        """
        CREATE EXTENSION IF NOT EXISTS btree_gist;
        CREATE TABLE ev (id int PRIMARY KEY, k int NOT NULL, s date NOT NULL, e date NOT NULL, CHECK (e >= s),
          CONSTRAINT ev_x EXCLUDE USING gist (k WITH =, daterange(s, e, '[]') WITH &&));
        INSERT INTO ev SELECT g, mod(g, 5), DATE '2024-01-01' + g * 3, DATE '2024-01-01' + g * 3 + 1
        FROM generate_series(1, 2000) g;
        """,
    )
    target = request.getfixturevalue("sqlite_db")()
    summary = relsynth.synthesize(source, target, seed=1, batch_rows=200)["write"]
    import sqlite3

    path = target.split("///", 1)[1]
    with sqlite3.connect(path) as db:
        pairs = db.execute(
            "SELECT count(*) FROM ev a JOIN ev b ON a.k = b.k AND a.id < b.id AND a.s <= b.e AND b.s <= a.e"
        ).fetchone()[0]
    (line,) = [x for x in summary.lines() if "EXCLUDE constraint ev_x" in x]
    assert ("kept from overlapping" in line) == (pairs == 0), (line, pairs)
