"""Safety fixes of round 43 (attacker atk43d).

S1. A --target-schema inside the source's own PostgreSQL database that holds an inheritance child
    (or a partition) of a source table: `--replace` dropped the child, and the source table lost its
    rows (1000 -> 500). Refused before anything is read or written, like the other reach checks.
    A parent whose children are not read with it (another schema, --exclude) is read FROM ONLY.
"""

from __future__ import annotations

import pytest

import relsynth
from relsynth.guard import SameDatabase
from tests.conftest import run_raw, scalar

INHERIT = [
    "CREATE SCHEMA tgt",
    "CREATE TABLE public.base (id int PRIMARY KEY, v int)",
    "INSERT INTO public.base SELECT g, g % 10 FROM generate_series(1, 500) g",
    "CREATE TABLE tgt.base () INHERITS (public.base)",
    "INSERT INTO tgt.base SELECT g, g % 7 FROM generate_series(1001, 1500) g",
]


def _links(url: str) -> int:
    return int(scalar(url, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.base'::regclass"))


@pytest.mark.postgresql
@pytest.mark.parametrize("mode", ["replace", "into_existing"])
def test_a_target_schema_holding_an_inheritance_child_of_a_source_table_is_refused(pg_db, mode) -> None:
    url = pg_db()
    run_raw(url, *INHERIT)
    with pytest.raises(SameDatabase, match=r"inheritance child tgt\.base of table base"):
        relsynth.synthesize(
            url, url, target_schema="tgt", seed=1, replace=True, into_existing=mode == "into_existing"
        )
    assert scalar(url, "SELECT count(*) FROM public.base") == 1000
    assert scalar(url, "SELECT count(*) FROM tgt.base") == 500
    assert _links(url) == 1


@pytest.mark.postgresql
def test_a_target_schema_holding_a_partition_of_a_source_table_is_refused(pg_db) -> None:
    url = pg_db()
    run_raw(
        url,
        "CREATE SCHEMA tgt",
        "CREATE TABLE public.ev (id int, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)",
        "CREATE TABLE public.ev_old PARTITION OF public.ev FOR VALUES FROM ('2000-01-01') TO ('2020-01-01')",
        "CREATE TABLE tgt.ev (id int, at date NOT NULL, PRIMARY KEY (id, at))",
        "ALTER TABLE public.ev ATTACH PARTITION tgt.ev FOR VALUES FROM ('2020-01-01') TO ('2030-01-01')",
        "INSERT INTO public.ev SELECT g, date '2015-01-01' + g * 5 FROM generate_series(1, 800) g",
    )
    before = scalar(url, "SELECT count(*) FROM public.ev")
    with pytest.raises(SameDatabase, match=r"partition tgt\.ev of table ev"):
        relsynth.synthesize(url, url, target_schema="tgt", seed=1, replace=True)
    assert scalar(url, "SELECT count(*) FROM public.ev") == before
    assert scalar(url, "SELECT count(*) FROM tgt.ev") > 0


@pytest.mark.postgresql
def test_a_target_schema_holding_a_parent_of_a_source_table_is_refused(pg_db) -> None:
    url = pg_db()
    run_raw(
        url,
        "CREATE SCHEMA tgt",
        "CREATE TABLE tgt.base (id int PRIMARY KEY, v int)",
        "CREATE TABLE public.child (w int) INHERITS (tgt.base)",
        "INSERT INTO public.child SELECT g, g % 3, g FROM generate_series(1, 300) g",
    )
    with pytest.raises(SameDatabase, match=r"parent table tgt\.base of table child"):
        relsynth.synthesize(url, url, target_schema="tgt", seed=1, replace=True)
    assert scalar(url, "SELECT count(*) FROM public.child") == 300


@pytest.mark.postgresql
def test_a_grandchild_in_the_target_schema_is_refused(pg_db) -> None:
    url = pg_db()
    run_raw(
        url,
        "CREATE SCHEMA mid",
        "CREATE SCHEMA tgt",
        "CREATE TABLE public.base (id int PRIMARY KEY, v int)",
        "CREATE TABLE mid.base () INHERITS (public.base)",
        "CREATE TABLE tgt.base () INHERITS (mid.base)",
        "INSERT INTO tgt.base SELECT g, g FROM generate_series(1, 200) g",
    )
    with pytest.raises(SameDatabase, match=r"inheritance child tgt\.base of table base"):
        relsynth.synthesize(url, url, target_schema="tgt", seed=1, replace=True)
    assert scalar(url, "SELECT count(*) FROM public.base") == 200


@pytest.mark.postgresql
def test_a_parent_whose_child_is_in_another_schema_is_read_from_only(pg_db, sqlite_db) -> None:
    url = pg_db()
    run_raw(url, *INHERIT)
    target = sqlite_db()
    out = relsynth.synthesize(url, target, seed=1)
    assert out["model"].schema.table("base").row_count == 500  # was 1000: the child's rows too
    assert scalar(target, "SELECT count(*) FROM base") == 500
    assert scalar(target, "SELECT max(id) FROM base") <= 500  # no key learned from the child's 1001..1500
