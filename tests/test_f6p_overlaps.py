"""Ranges kept apart (MariaDB WITHOUT OVERLAPS, PostgreSQL EXCLUDE) next to a CHECK relsynth cannot read.

A booking the target's CHECK rejected (it starts on a Sunday) was repaired by taking every non-key
column of a passing sibling, its period too: the repaired booking then overlapped that sibling.
On MariaDB the WITHOUT OVERLAPS key was not recreated (said as MariaDB's error 1834 when another
table references the bookings); on PostgreSQL the EXCLUDE repair then moved the copies, onto
Sundays as well, and the load failed on the CHECK (an internal error).
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

import relsynth
from tests.conftest import fetch, run_sql

ROOMS, PER_ROOM = 16, 60

MARIADB = """
CREATE TABLE room (room_no INT PRIMARY KEY, beds INT NOT NULL);
CREATE TABLE booking (id INT PRIMARY KEY, room_no INT NOT NULL REFERENCES room(room_no), guest VARCHAR(40),
  d_from DATE NOT NULL, d_to DATE NOT NULL, PERIOD FOR stay (d_from, d_to),
  UNIQUE (room_no, stay WITHOUT OVERLAPS), CHECK (dayofweek(d_from) <> 1));
CREATE TABLE payment (id INT PRIMARY KEY, booking_id INT NOT NULL REFERENCES booking(id), amount INT NOT NULL);
"""

POSTGRES = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TABLE room (room_no INT PRIMARY KEY, beds INT NOT NULL);
CREATE TABLE booking (id INT PRIMARY KEY, room_no INT NOT NULL REFERENCES room(room_no), guest VARCHAR(40),
  d_from DATE NOT NULL, d_to DATE NOT NULL,
  EXCLUDE USING gist (room_no WITH =, daterange(d_from, d_to) WITH &&),
  CHECK (extract(dow from d_from) <> 0));
CREATE TABLE payment (id INT PRIMARY KEY, booking_id INT NOT NULL REFERENCES booking(id), amount INT NOT NULL);
"""

OVERLAPPING = (
    "SELECT COUNT(*) FROM booking a JOIN booking b ON a.room_no = b.room_no AND a.id < b.id "
    "AND a.d_from < b.d_to AND b.d_from < a.d_to"
)


def _bookings(url: str, schema: str) -> None:
    """Rooms with back-to-back bookings of one to seven days, none starting on a Sunday."""
    rnd = random.Random(7)
    rows, payments = [], []
    for room in range(1, ROOMS + 1):
        day = dt.date(2023, 1, 1) + dt.timedelta(days=rnd.randint(0, 5))
        for _ in range(PER_ROOM):
            day += dt.timedelta(days=rnd.randint(0, 3))
            while day.isoweekday() == 7:
                day += dt.timedelta(days=1)
            nights = rnd.randint(1, 7)
            rows.append(
                f"({len(rows) + 1}, {room}, 'guest{rnd.randint(1, 300)}', '{day}', "
                f"'{day + dt.timedelta(days=nights)}')"
            )
            day += dt.timedelta(days=nights)
    for i in range(1, len(rows) // 2):
        payments.append(f"({i}, {rnd.randint(1, len(rows))}, {rnd.randint(50, 900)})")
    run_sql(
        url,
        schema
        + "INSERT INTO room VALUES "
        + ", ".join(f"({r}, {1 + r % 4})" for r in range(1, ROOMS + 1))
        + ";\nINSERT INTO booking VALUES "
        + ", ".join(rows)
        + ";\nINSERT INTO payment VALUES "
        + ", ".join(payments)
        + ";",
    )


@pytest.mark.mysql
def test_repaired_bookings_keep_apart_and_the_without_overlaps_key_is_recreated(mysql_db) -> None:
    source, target = mysql_db(), mysql_db()
    _bookings(source, MARIADB)
    assert fetch(source, OVERLAPPING)[0][0] == 0
    out = relsynth.synthesize(source, target, seed=0)
    summary = out["write"]
    assert summary.verification.problems == 0
    assert summary.repaired_for_checks.get("booking", 0) > 50  # the CHECK did reject rows: repaired
    assert fetch(target, OVERLAPPING)[0][0] == 0
    assert fetch(target, "SELECT COUNT(*) FROM booking WHERE dayofweek(d_from) = 1")[0][0] == 0
    assert not [n for n in summary.not_recreated if "WITHOUT OVERLAPS" in n], summary.not_recreated
    create = fetch(target, "SHOW CREATE TABLE booking")[0][1]
    assert "WITHOUT OVERLAPS" in create
    # the same seed, the same bookings
    again = mysql_db()
    relsynth.synthesize(source, again, seed=0)
    listing = "SELECT id, room_no, guest, d_from, d_to FROM booking ORDER BY id"
    assert fetch(again, listing) == fetch(target, listing)


@pytest.mark.postgresql
def test_repaired_bookings_keep_apart_under_an_exclude_constraint(pg_db) -> None:
    source, target = pg_db(), pg_db()
    _bookings(source, POSTGRES)
    out = relsynth.synthesize(source, target, seed=0)
    summary = out["write"]
    assert summary.verification.problems == 0
    assert summary.repaired_for_checks.get("booking", 0) > 50
    assert fetch(target, OVERLAPPING)[0][0] == 0
    assert fetch(target, "SELECT COUNT(*) FROM booking WHERE extract(dow from d_from) = 0")[0][0] == 0
    assert not [n for n in summary.not_recreated if "EXCLUDE" in n], summary.not_recreated
    held = "SELECT COUNT(*) FROM pg_constraint WHERE contype = 'x' AND conrelid = 'booking'::regclass"
    assert fetch(target, held)[0][0] == 1


@pytest.mark.postgresql
def test_ranges_moved_apart_are_asked_the_check_relsynth_cannot_read(pg_db) -> None:
    """Sampled reservations (a tsrange column) overlap; exclusion.settle moved them to start where
    the earlier one ends, a Sunday too, and the load failed on the CHECK: an internal error. A move
    the CHECK rejects is not made: the row is left out and counted."""
    source, target = pg_db(), pg_db()
    rnd = random.Random(5)
    rows = []
    for room in range(1, 21):
        at = dt.datetime(2023, 1, 1, 8)
        for _ in range(60):
            at += dt.timedelta(hours=rnd.randint(0, 30))
            while at.isoweekday() == 7:
                at += dt.timedelta(hours=6)
            hours = rnd.randint(2, 40)
            rows.append(
                f"({len(rows) + 1}, {room}, '[{at},{at + dt.timedelta(hours=hours)})', 'n{rnd.randint(1, 40)}')"
            )
            at += dt.timedelta(hours=hours)
    run_sql(
        source,
        "CREATE EXTENSION IF NOT EXISTS btree_gist;\n"
        "CREATE TABLE room (room_no INT PRIMARY KEY);\n"
        "CREATE TABLE res (id INT PRIMARY KEY, room_no INT NOT NULL REFERENCES room, during TSRANGE NOT NULL,"
        " note TEXT, EXCLUDE USING gist (room_no WITH =, during WITH &&),"
        " CHECK (extract(dow from lower(during)) <> 0));\n"
        "INSERT INTO room SELECT generate_series(1, 20);\n"
        "INSERT INTO res VALUES " + ", ".join(rows) + ";",
    )
    out = relsynth.synthesize(source, target, seed=0)
    summary = out["write"]
    assert summary.verification.problems == 0
    assert summary.moved_for_exclusions.get("res", 0) > 0  # sampling did overlap: the case at hand
    assert fetch(target, "SELECT COUNT(*) FROM res WHERE extract(dow from lower(during)) = 0")[0][0] == 0
    overlapping = (
        "SELECT COUNT(*) FROM res a JOIN res b ON a.room_no = b.room_no AND a.id < b.id "
        "AND a.during && b.during"
    )
    assert fetch(target, overlapping)[0][0] == 0
    assert not [n for n in summary.not_recreated if "EXCLUDE" in n], summary.not_recreated


@pytest.mark.mysql
def test_sampled_rows_of_a_without_overlaps_key_are_moved_apart(mysql_db) -> None:
    """A key that is no foreign key (room, 200 values): sampled bookings of a room overlapped (795
    pairs) and the key was not recreated. They are moved apart before the load, as under a
    PostgreSQL EXCLUDE constraint, and the key is added after it."""
    source, target = mysql_db(), mysql_db()
    run_sql(
        source,
        "CREATE TABLE room_book (room INT NOT NULL, s DATE NOT NULL, e DATE NOT NULL, guest_n INT NOT NULL,\n"
        "  PERIOD FOR stay (s, e), UNIQUE KEY u_stay (room, stay WITHOUT OVERLAPS));\n"
        "INSERT INTO room_book SELECT 1 + seq MOD 200, '2024-01-01' + INTERVAL (seq DIV 200) * 7 DAY,\n"
        "  '2024-01-01' + INTERVAL (seq DIV 200) * 7 + 1 + seq MOD 6 DAY, 1 + seq MOD 3 FROM seq_0_to_1999;",
    )
    out = relsynth.synthesize(source, target, seed=1)
    summary = out["write"]
    assert summary.verification.problems == 0
    assert summary.moved_for_exclusions.get("room_book", 0) > 0
    overlapping = (
        "SELECT COUNT(*) FROM room_book a JOIN room_book b ON a.room = b.room AND (a.s, a.e) < (b.s, b.e) "
        "AND a.s < b.e AND b.s < a.e"
    )
    assert fetch(target, overlapping)[0][0] == 0
    assert "WITHOUT OVERLAPS" in fetch(target, "SHOW CREATE TABLE room_book")[0][1]
    assert not [n for n in summary.not_recreated if "WITHOUT OVERLAPS" in n], summary.not_recreated


@pytest.mark.mysql
def test_a_refused_without_overlaps_key_says_rows_overlap(mysql_db) -> None:
    """MariaDB refuses the key over overlapping rows with error 1062, or 1834 when another table
    references them: either way the summary says, in words and with no value, that rows overlap."""
    import sqlalchemy as sa

    from relsynth import writer

    url = mysql_db()
    run_sql(
        url,
        "CREATE TABLE b (id INT PRIMARY KEY, r INT, a DATE NOT NULL, z DATE NOT NULL, PERIOD FOR p (a, z));\n"
        "CREATE TABLE c (id INT PRIMARY KEY, b INT REFERENCES b(id));\n"
        "INSERT INTO b VALUES (1, 1, '2020-01-01', '2020-01-05'), (2, 1, '2020-01-04', '2020-01-06'),"
        " (3, 2, '2020-01-01', '2020-01-05'), (4, 1, '2020-01-06', '2020-01-07');\n"
        "INSERT INTO c VALUES (1, 1);",
    )
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            why = writer._attempt_period(conn, "ALTER TABLE `b` ADD UNIQUE (`r`, `p` WITHOUT OVERLAPS)")
            assert why is not None
            words = writer._overlap_refusal(conn, "`b`", ["r"], "a", "z", "p")
    finally:
        engine.dispose()
    assert words == "1 synthetic row has a period p overlapping an earlier row's with equal r"
