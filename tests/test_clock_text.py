"""Times kept as text, hours past 23 allowed (GTFS's stop times: '25:10:00' is 1:10 the next
morning): they were free text, each row drawing its own string, so 30,228 of 45,198 consecutive
stops of a trip went back in time and a trip of an hour lasted 27. They are now times: seconds
from midnight, learned as times are (each trip's spread, orders), written in the source's shape.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

import relsynth
from relsynth.schema import Kind
from relsynth.transform import clock_format, from_seconds, text_date_format, to_epoch_seconds
from tests.conftest import EVERY_DATABASE, fetch, run_sql, scalar


def test_clock_text_reads_as_seconds_and_is_written_back_in_its_shape() -> None:
    values = pd.Series(["05:00:00", "23:59:59", "25:10:00", "101:00:01"])
    assert text_date_format(values) == "[H]:%M:%S"
    seconds = to_epoch_seconds(values, text_format="[H]:%M:%S")
    assert list(seconds) == [18000, 86399, 90600, 363601]
    assert list(from_seconds(seconds, "text", "[H]:%M:%S")) == list(values)
    assert list(to_epoch_seconds(values, text_format="iso")) == list(seconds)  # read without the column
    assert clock_format(pd.Series(["08:15", "24:30"])) == "[H]:%M"
    assert list(from_seconds(np.array([29700.0, np.nan]), "text", "[H]:%M")) == ["08:15", None]
    assert clock_format(pd.Series(["8:15:00", "10:00:00"])) == "[h]:%M:%S"  # one hour digit (GTFS allows it)
    assert clock_format(pd.Series(["08:75:00"])) is None


def _gtfs(url: str) -> None:
    rnd = random.Random(2)
    rows = [
        "CREATE TABLE trips (trip_id VARCHAR(12) PRIMARY KEY, route VARCHAR(4) NOT NULL);",
        "CREATE TABLE stop_times (trip_id VARCHAR(12) NOT NULL REFERENCES trips(trip_id), "
        "arrival_time VARCHAR(8) NOT NULL, stop_sequence INTEGER NOT NULL, PRIMARY KEY (trip_id, stop_sequence));",
    ]
    for t in range(300):
        rows.append(f"INSERT INTO trips VALUES ('T{t}', 'R{t % 12}');")
        tm = rnd.randint(5 * 3600, 24 * 3600 + 1800)
        for k in range(rnd.randint(8, 20)):
            h, rest = divmod(tm, 3600)
            rows.append(
                f"INSERT INTO stop_times VALUES ('T{t}', '{h:02d}:{rest // 60:02d}:{rest % 60:02d}', {k + 1});"
            )
            tm += rnd.randint(60, 300)
    run_sql(url, "\n".join(rows))


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_stop_times_as_text_stay_times_that_move_forward_within_a_trip(
    db: str, request: pytest.FixtureRequest
) -> None:
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    _gtfs(source)
    schema = relsynth.reflect(source)
    assert schema.table("stop_times").column("arrival_time").kind is Kind.DATETIME
    relsynth.synthesize(source, target, seed=1)
    times = [r[0] for r in fetch(target, "SELECT arrival_time FROM stop_times")]
    assert all(len(t) == 8 and t[2] == ":" and t[5] == ":" for t in times)
    assert scalar(target, "SELECT COUNT(*) FROM stop_times WHERE arrival_time >= '24:00:00'") > 0
    seconds = {
        (trip, seq): int(t[:2]) * 3600 + int(t[3:5]) * 60 + int(t[6:])
        for trip, seq, t in fetch(target, "SELECT trip_id, stop_sequence, arrival_time FROM stop_times")
    }
    steps = [seconds[k] - seconds[(k[0], k[1] - 1)] for k in seconds if (k[0], k[1] - 1) in seconds]
    backwards = sum(s < 0 for s in steps)
    assert backwards < 0.1 * len(steps)  # 67% before (free text)
    spans: dict[str, list[int]] = {}
    for (trip, _), s in seconds.items():
        spans.setdefault(trip, []).append(s)
    mean_span = np.mean([max(v) - min(v) for v in spans.values()])
    assert mean_span < 3 * 14 * 180  # source: about 14 stops of 3 minutes; a whole day before
