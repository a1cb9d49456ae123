"""PostgreSQL ranges with infinite bounds and multiranges (PostgreSQL 14+).

'[2020-01-01,infinity)' came out as '[2020-01-01,)' (an open end is not an infinite bound:
upper_inf() differs), and int4multirange/datemultirange columns were written as NULL. Both keep
the source's share of infinite, open and empty values.
"""

from __future__ import annotations

import pytest

import relsynth
from tests.conftest import fetch, run_raw

_DDL = [
    "CREATE TABLE spans (id int PRIMARY KEY, d daterange, ts tsrange, n int4range,"
    " mr int4multirange, dm datemultirange)",
    "INSERT INTO spans SELECT g,"
    " CASE WHEN g % 4 = 0 THEN daterange('2020-01-01'::date + g, 'infinity')"
    "  WHEN g % 7 = 0 THEN 'empty'::daterange ELSE daterange('2020-01-01'::date + g, '2020-02-01'::date + g) END,"
    " CASE WHEN g % 3 = 0 THEN tsrange('-infinity', '2020-01-01')"
    "  ELSE tsrange('2020-01-01'::timestamp + g * interval '1 hour', '2020-01-02'::timestamp + g * interval '1 hour') END,"
    " CASE WHEN g % 5 = 0 THEN '(,5]'::int4range ELSE int4range(g, g + 10) END,"
    " CASE WHEN g % 5 = 0 THEN '{}'::int4multirange ELSE int4multirange(int4range(g, g + 3), int4range(g + 10, g + 20)) END,"
    " CASE WHEN g % 4 = 0 THEN datemultirange(daterange('2020-01-01'::date + g, 'infinity'))"
    "  ELSE datemultirange(daterange('2020-01-01'::date + g, '2020-01-05'::date + g)) END"
    " FROM generate_series(1, 200) g",
]
_SHARES = (
    "SELECT avg((upper(d) = 'infinity')::int), avg(isempty(d)::int), avg((lower(ts) = '-infinity')::int),"
    " avg(lower_inf(n)::int), avg(isempty(mr)::int), avg((upper(dm) = 'infinity')::int),"
    " avg((mr IS NULL OR dm IS NULL)::int), avg(CASE WHEN isempty(mr) THEN NULL ELSE"
    " (SELECT count(*) FROM unnest(mr)) END) FROM spans"
)


@pytest.mark.postgresql
def test_infinite_bounds_and_multiranges_keep_the_sources_shares(pg_db) -> None:
    src, dst = pg_db(), pg_db()
    run_raw(src, *_DDL)
    want = [float(v) for v in fetch(src, _SHARES)[0]]
    out = relsynth.synthesize(src, dst, seed=1)
    assert out["write"].rows["spans"] == 200
    got = [-1.0 if v is None else float(v) for v in fetch(dst, _SHARES)[0]]
    assert want[6] == got[6] == 0.0  # no NULL multirange
    for w, g in zip(want[:6], got[:6], strict=True):
        assert abs(w - g) < 0.08, (want, got)
    assert abs(want[7] - got[7]) < 0.3  # ranges a multirange holds (2 in the source)
