"""PostgreSQL: a table partitioned by LIST on a foreign key (measurements by site_id -> sites).

The parent's keys were generated afresh (1..n): no partition took a measurement of site 11 when
the partitions list 10, 20, ... 50, and 80% of the rows were dropped ("violate CHECK"). The
parent's key takes the values the child's partitions list first; at a larger scale, the rows of
a parent past them move to a parent a partition takes: every row has a partition and a parent.
"""

from __future__ import annotations

import pytest

import relsynth
from tests.conftest import fetch, run_raw, scalar

_DDL = [
    "CREATE TABLE sites (site_id int PRIMARY KEY, name text NOT NULL)",
    "CREATE TABLE measurements (id bigint NOT NULL, site_id int NOT NULL REFERENCES sites,"
    " taken date NOT NULL, val numeric(6,2), PRIMARY KEY (id, site_id)) PARTITION BY LIST (site_id)",
    "CREATE TABLE m_1 PARTITION OF measurements FOR VALUES IN (10, 20)",
    "CREATE TABLE m_2 PARTITION OF measurements FOR VALUES IN (30)",
    "CREATE TABLE m_3 PARTITION OF measurements FOR VALUES IN (40, 50)",
    "INSERT INTO sites SELECT g * 10, 'site ' || g FROM generate_series(1, 5) g",
    "INSERT INTO measurements SELECT g, 10 * (1 + (g * 7) % 5), date '2021-01-01' + (g % 300),"
    " (g % 97) * 1.5 FROM generate_series(1, 150) g",
]


@pytest.mark.postgresql
@pytest.mark.parametrize("scale", [1, 3])
def test_a_list_partition_key_that_is_a_foreign_key_keeps_every_row(pg_db, scale) -> None:
    src, dst = pg_db(), pg_db()
    run_raw(src, *_DDL)
    out = relsynth.synthesize(src, dst, seed=1, scale=scale)
    assert out["write"].rows["measurements"] == 150 * scale  # none dropped
    assert scalar(dst, "SELECT count(*) FROM measurements") == 150 * scale
    sites = {v for (v,) in fetch(dst, "SELECT site_id FROM sites")}
    assert {10, 20, 30, 40, 50} <= sites and len(sites) == 5 * scale
    used = {v for (v,) in fetch(dst, "SELECT DISTINCT site_id FROM measurements")}
    assert used == {10, 20, 30, 40, 50}  # each a partition's and a site's
    parts = scalar(
        dst, "SELECT (SELECT count(*) FROM m_1) + (SELECT count(*) FROM m_2) + (SELECT count(*) FROM m_3)"
    )
    assert parts == 150 * scale
