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
