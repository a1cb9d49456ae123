"""Attack round 45a, item 3: a MariaDB TIMESTAMP's synthetic value refused as "not a value of its
column's type".

A TIMESTAMP is an instant, read and written as the session's local time. In a session time zone
with summer time, a value drawn between two read ones fell in the hour skipped in spring (no such
local time: MariaDB refuses it, error 1292); and a target whose session zone differs from the
source's moved every value by the difference, past TIMESTAMP's range at its ends. relsynth now
reads and writes every MySQL/MariaDB session in UTC (as mysqldump does), whatever the server's or
the URL's zone.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest

import relsynth
from tests.conftest import fetch, run_sql, scalar

TABLE = "CREATE TABLE ev (id INT PRIMARY KEY, opened TIMESTAMP NULL, closed TIMESTAMP NULL, v INT NOT NULL);"
UTC = "SET time_zone = '+00:00';"


def _zoned(url: str, zone: str) -> str:
    """The URL of a session in ``zone`` (a server configured so: default_time_zone)."""
    return f"{url}?init_command={quote(f'SET time_zone = {chr(39)}{zone}{chr(39)}')}"


def _in_utc(url: str, sql: str) -> list[tuple[object, ...]]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(UTC)
            return [tuple(r) for r in conn.exec_driver_sql(sql)]
    finally:
        engine.dispose()


@pytest.mark.mysql
def test_timestamps_at_the_ends_of_the_range_are_written_by_a_server_in_another_zone(mysql_db) -> None:  # type: ignore[no-untyped-def]
    source, target = mysql_db(), mysql_db()
    end, start = "TIMESTAMP'2038-01-19 03:14:07'", "TIMESTAMP'1970-01-01 00:00:01'"
    rows = ",".join(
        f"({i}, {end} - INTERVAL {i * 50} SECOND, LEAST({end} - INTERVAL {i * 50 - 600} SECOND, {end}), 1)"
        if i % 2
        else f"({i}, {start} + INTERVAL {i * 50} SECOND, {start} + INTERVAL {i * 50 + 600} SECOND, 2)"
        for i in range(1, 201)
    )
    run_sql(source, f"{UTC}\n{TABLE}\nINSERT INTO ev VALUES {rows};")
    low, high = _in_utc(source, "SELECT MIN(LEAST(opened, closed)), MAX(GREATEST(opened, closed)) FROM ev")[0]
    assert high == dt.datetime(2038, 1, 19, 3, 14, 7)  # the last second TIMESTAMP holds
    # the target server's zone is five hours west: the source's last second was past its range there
    relsynth.synthesize(source, _zoned(target, "-05:00"), seed=1)
    assert scalar(target, "SELECT COUNT(*) FROM ev") == 200
    got = _in_utc(target, "SELECT MIN(LEAST(opened, closed)), MAX(GREATEST(opened, closed)) FROM ev")[0]
    assert low <= got[0] and got[1] <= high  # the same instants' range, not moved by the zones


def _has_zone(url: str, zone: str) -> bool:
    return bool(fetch(url, f"SELECT 1 FROM mysql.time_zone_name WHERE Name = '{zone}'"))


@pytest.mark.mysql
def test_timestamps_around_a_summer_time_change_are_written_in_that_zone(mysql_db) -> None:  # type: ignore[no-untyped-def]
    source, target = mysql_db(), mysql_db()
    if not _has_zone(source, "Europe/Berlin"):
        pytest.skip("the server's time zone tables are not loaded (mariadb-tzinfo-to-sql)")
    # around 2024-03-31 01:00 UTC, when Berlin's clocks jump from 02:00 to 03:00
    rows = ",".join(
        f"({i}, TIMESTAMP'2024-03-30 22:00:00' + INTERVAL {i * 97} SECOND, NULL, {i % 5})"
        for i in range(1, 301)
    )
    run_sql(source, f"{UTC}\n{TABLE}\nINSERT INTO ev VALUES {rows};")
    relsynth.synthesize(_zoned(source, "Europe/Berlin"), _zoned(target, "Europe/Berlin"), seed=2)
    low, high = _in_utc(source, "SELECT MIN(opened), MAX(opened) FROM ev")[0]
    got = _in_utc(target, "SELECT MIN(opened), MAX(opened), COUNT(*) FROM ev")[0]
    assert got[2] == 300 and low <= got[0] and got[1] <= high
