"""Attack round 15, MariaDB periods.

A) A system-versioned table that declares its period columns (``rs ... GENERATED ALWAYS AS ROW
   START INVISIBLE, re ... AS ROW END INVISIBLE, PERIOD FOR SYSTEM_TIME (rs, re)``) stopped the run
   with an internal error: MariaDB 10.11 says ROW START in GENERATION_EXPRESSION, not EXTRA, so the
   columns were created as plain TIMESTAMPs beside a key on ``re``. They are now left out of the
   columns relsynth loads and added back, with the PERIOD, by the ALTER that adds the versioning.
B) An application-time ``PERIOD FOR stay (s, e)`` with ``UNIQUE (room, stay WITHOUT OVERLAPS)``
   came out as ``UNIQUE (room)`` without the PERIOD, silently, and one booking per room. The key is
   no longer one relsynth enforces; the PERIOD and the key are added after the load, and one the
   synthetic rows break is listed under "not recreated", saying why.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import relsynth
from relsynth.reflection import reflect
from tests.conftest import fetch, run_sql, scalar

SYSVER = """
CREATE TABLE price_hist (item INT NOT NULL, price DECIMAL(8,2) NOT NULL,
  rs TIMESTAMP(6) GENERATED ALWAYS AS ROW START INVISIBLE, re TIMESTAMP(6) GENERATED ALWAYS AS ROW END INVISIBLE,
  PERIOD FOR SYSTEM_TIME (rs, re), PRIMARY KEY (item)) WITH SYSTEM VERSIONING;
INSERT INTO price_hist (item, price) SELECT seq, seq MOD 50 + 0.99 FROM seq_1_to_300;
UPDATE price_hist SET price = price + 1 WHERE item MOD 3 = 0
"""

BOOKINGS = """
CREATE TABLE room_book (room INT NOT NULL, s DATE NOT NULL, e DATE NOT NULL, guest_n INT NOT NULL,
  PERIOD FOR stay (s, e), UNIQUE KEY u_stay (room, stay WITHOUT OVERLAPS));
INSERT INTO room_book SELECT 1 + seq MOD 200, '2024-01-01' + INTERVAL (seq DIV 200) * 7 DAY,
  '2024-01-01' + INTERVAL (seq DIV 200) * 7 + 1 + seq MOD 6 DAY, 1 + seq MOD 3 FROM seq_0_to_1999;
CREATE TABLE loan (loan_id INT NOT NULL PRIMARY KEY, s DATE NOT NULL, e DATE NOT NULL,
  PERIOD FOR term (s, e), UNIQUE KEY u_term (loan_id, term WITHOUT OVERLAPS));
INSERT INTO loan SELECT seq, '2024-01-01' + INTERVAL seq DAY, '2024-02-01' + INTERVAL seq DAY FROM seq_1_to_300
"""


def _create(url: str, table: str) -> str:
    return str(fetch(url, f"SHOW CREATE TABLE {table}")[0][1])


@pytest.mark.mysql
def test_versioned_table_with_declared_period_columns_is_recreated(request: pytest.FixtureRequest) -> None:
    source = request.getfixturevalue("mysql_db")()
    target = request.getfixturevalue("mysql_db")()
    run_sql(source, SYSVER)
    result = relsynth.synthesize(source, target, seed=1)
    ddl = _create(target, "price_hist")
    assert "WITH SYSTEM VERSIONING" in ddl
    assert "PERIOD FOR SYSTEM_TIME (`rs`, `re`)" in ddl
    assert "GENERATED ALWAYS AS ROW START INVISIBLE" in ddl and "GENERATED ALWAYS AS ROW END INVISIBLE" in ddl
    assert scalar(target, "SELECT COUNT(*) FROM price_hist") == 300
    # the current rows only: no history was loaded, the server set the row start
    assert scalar(target, "SELECT COUNT(*) FROM price_hist FOR SYSTEM_TIME ALL") == 300
    assert any("WITH SYSTEM VERSIONING" in c for c in result["write"].changes)
    assert not any("price_hist" in n for n in result["write"].not_recreated)


@pytest.mark.mysql
def test_without_overlaps_key_is_not_learned_as_unique_and_recreated(request: pytest.FixtureRequest) -> None:
    source = request.getfixturevalue("mysql_db")()
    target = request.getfixturevalue("mysql_db")()
    run_sql(source, BOOKINGS)
    book = reflect(source, profile=False).table("room_book")
    assert not any(set(u.columns) == {"room"} for u in book.unique)
    assert not any(set(i.columns) == {"room"} for i in book.indexes if i.unique)
    result = relsynth.synthesize(source, target, seed=1)
    w = result["write"]
    # the data keeps several bookings per room (UNIQUE (room) made 2000 rooms of one booking each)
    assert scalar(target, "SELECT COUNT(DISTINCT room) FROM room_book") <= 200
    assert "PERIOD FOR `stay` (`s`, `e`)" in _create(target, "room_book")
    ddl = _create(target, "room_book")
    assert "UNIQUE KEY `u_stay` (`room`)" not in ddl
    said = [*w.changes, *w.not_recreated]
    if "WITHOUT OVERLAPS" not in ddl:  # overlapping synthetic bookings: said, in words
        assert any("u_stay" in n and "overlapping" in n for n in w.not_recreated), said
    # a key the synthetic rows cannot break is recreated
    assert "PERIOD FOR `term` (`s`, `e`)" in _create(target, "loan")
    assert "UNIQUE KEY `u_term` (`loan_id`,`term` WITHOUT OVERLAPS)" in _create(target, "loan")
    assert any("u_term" in c for c in w.changes), said


@pytest.mark.mysql
def test_periods_into_sqlite_are_said(request: pytest.FixtureRequest) -> None:
    source = request.getfixturevalue("mysql_db")()
    target = request.getfixturevalue("sqlite_db")()
    run_sql(source, BOOKINGS + ";\n" + SYSVER)
    result = relsynth.synthesize(source, target, seed=1)
    changes = result["write"].changes
    assert any("PERIOD FOR stay" in c and "room_book" in c for c in changes), changes
    assert any("u_stay" in c and "WITHOUT OVERLAPS" in c for c in changes), changes
    assert any("price_hist" in c and "rs, re" in c for c in changes), changes
    cols = [r[1] for r in fetch(target, "PRAGMA table_info(price_hist)")]
    assert cols == ["item", "price"]
    assert sa.make_url(target).get_backend_name() == "sqlite"
