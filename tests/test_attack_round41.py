"""Attack round 41 (README-only helpers on unseen PostgreSQL and MariaDB databases), the value
shapes fixed here:

1. A PostgreSQL numeric without a scale holding whole numbers (a size in bytes) was written
   '2105.0' on every row: that column keeps the scale it is given.
2. A timestamptz kept to the microsecond, drawn as a gap from an earlier time of its row (a last
   login after sign-up), came out on whole seconds on 85% of the rows: the gap was counted in
   seconds from the base's whole second.
"""

from __future__ import annotations

import pytest

import relsynth
from tests.conftest import fetch, run_sql

USERS = """
CREATE TABLE users (id serial PRIMARY KEY, created_at timestamptz NOT NULL, last_login timestamptz,
    size_bytes numeric, ratio numeric);
INSERT INTO users (created_at, last_login, size_bytes, ratio)
SELECT t, t + (g %% 97) * interval '1 hour' + (g * 7919 %% 1000000) * interval '1 microsecond',
    (g * 37 %% 5000) + 100, (g %% 13) / 8.0
FROM (SELECT g, timestamptz '2022-01-01 00:00:00+00' + g * interval '1 hour'
              + (g * 104729 %% 1000000) * interval '1 microsecond' AS t
      FROM generate_series(1, 600) g) s;
"""


@pytest.mark.postgresql
def test_whole_numbers_of_a_numeric_without_scale_are_written_whole(pg_db) -> None:
    source, target = pg_db(), pg_db()
    run_sql(source, USERS)
    relsynth.synthesize(source, target, seed=1)
    ((dotted, halves, rows),) = fetch(
        target,
        "SELECT count(*) FILTER (WHERE size_bytes::text LIKE '%.%'),"
        " count(*) FILTER (WHERE ratio::text LIKE '%.%'), count(*) FROM users",
    )
    assert rows > 500 and dotted == 0 and halves > 0  # a fraction is still written as one


@pytest.mark.postgresql
def test_a_time_drawn_from_an_earlier_one_keeps_its_microseconds(pg_db) -> None:
    source, target = pg_db(), pg_db()
    run_sql(source, USERS)
    relsynth.synthesize(source, target, seed=1)
    ((whole, known, before),) = fetch(
        target,
        "SELECT count(*) FILTER (WHERE mod(extract(microseconds FROM last_login)::bigint, 1000000) = 0),"
        " count(last_login), count(*) FILTER (WHERE last_login < created_at) FROM users",
    )
    assert known > 500 and whole < 0.05 * known and before == 0, (whole, known, before)
