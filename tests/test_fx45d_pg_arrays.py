"""PostgreSQL two-dimensional arrays (int[][], text[][]): a 3x2 matrix a row came out flattened
({1,2,3,4,5,6}). They keep the source's shapes (3x2 and 2x2 here), rectangular."""

from __future__ import annotations

import pytest

import relsynth
from tests.conftest import fetch, run_raw

_DDL = [
    "CREATE TABLE grids (id int PRIMARY KEY, m int[][], t text[][], v int[])",
    "INSERT INTO grids SELECT g, ARRAY[[g, g+1], [g+2, g+3], [g+4, g+5]],"
    " ARRAY[['a', 'b'], ['c', 'd'], ['e', CASE WHEN g % 3 = 0 THEN NULL ELSE 'f' END]], ARRAY[g, g * 2]"
    " FROM generate_series(1, 30) g",
    "INSERT INTO grids SELECT g, ARRAY[[g, 1], [2, g]], ARRAY[['x', 'y'], ['y', 'x']], ARRAY[g]"
    " FROM generate_series(31, 45) g",
]


@pytest.mark.postgresql
def test_two_dimensional_arrays_keep_their_shapes(pg_db) -> None:
    src, dst = pg_db(), pg_db()
    run_raw(src, *_DDL)
    out = relsynth.synthesize(src, dst, seed=1)
    assert out["write"].rows["grids"] == 45
    m = dict(fetch(dst, "SELECT array_dims(m), count(*) FROM grids WHERE m IS NOT NULL GROUP BY 1"))
    t = dict(fetch(dst, "SELECT array_dims(t), count(*) FROM grids WHERE t IS NOT NULL GROUP BY 1"))
    assert set(m) == {"[1:3][1:2]", "[1:2][1:2]"} and sum(m.values()) == 45
    assert set(t) == {"[1:3][1:2]", "[1:2][1:2]"} and sum(t.values()) == 45
    assert {n for (n,) in fetch(dst, "SELECT DISTINCT array_ndims(v) FROM grids")} == {1}
