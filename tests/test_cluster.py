"""Batches sampled on a Dask cluster (relsynth/cluster.py, ``synthesize --cluster``), here a
``dask.distributed.LocalCluster`` of two worker processes.

What is attacked: the cluster writing another database than one process does (the issue's
"byte-identical to the serial run"), guards that do not reach the workers (a source record copied
because the worker had no guard, a guard on disk that cannot travel), a family whose batches do
wait for each other sent to the cluster anyway, an unreachable scheduler as an internal error.
"""

from __future__ import annotations

import pickle
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from relsynth.model import hashsets
from relsynth.model.batches import concat, sample_batches
from relsynth.model.sample import SampleReport
from tests import shop
from tests.conftest import EVERY_DATABASE, fetch, run_sql

distributed = pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50
    )
    with distributed.Client(cluster) as got:
        yield got
    cluster.close()


pytestmark = pytest.mark.usefixtures("small_batches")


def test_the_cluster_samples_the_batches_one_process_samples(apart_shop, client) -> None:
    _, model = apart_shop
    serial = concat(sample_batches(model, seed=4, batch_rows=300), model.plan.order)
    report = SampleReport()
    got = list(sample_batches(model, seed=4, batch_rows=300, cluster=client, report=report))
    assert len(got) >= 4 and "product" in got[0] and all("product" not in b for b in got[1:])
    tables = concat(iter(got), model.plan.order)
    shop.integrity(tables)
    for name in serial:
        pd.testing.assert_frame_equal(tables[name], serial[name], check_dtype=False)


def test_the_guards_reach_the_workers(tmp_path: Path, client) -> None:
    """A worker checks generated phone numbers against the source's, as this process does: the
    guard and its key travel with the model (a worker without them would let copies through)."""
    url = f"sqlite:///{tmp_path / 'phones.sqlite'}"
    schema = shop.SCHEMA.replace(
        "segment VARCHAR(10) NOT NULL,", "segment VARCHAR(10) NOT NULL, phone VARCHAR(20),"
    )
    rows = shop.rows().replace(
        "INSERT INTO customer VALUES (", "INSERT INTO customer (id, segment, balance) VALUES ("
    )
    run_sql(url, schema + rows)
    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    con.execute("UPDATE customer SET phone = '+1 555 01' || printf('%04d', id * 7)")
    con.commit()
    con.close()
    model = relsynth.fit(url, seed=1)
    spec = model.tables["customer"].column("phone")
    assert spec.guard is not None
    probes = np.array(["+1 555 010007", "+1 555 010014", "+1 555 010008"], dtype=object)
    here = spec.guard.copies(probes).tolist()
    assert here == [True, True, False]

    def on_a_worker(shared: tuple, values: np.ndarray) -> list[bool]:
        (got, *_rest) = shared
        return got.tables["customer"].column("phone").guard.copies(values).tolist()

    shared = client.scatter((model, 0), broadcast=True, hash=False)
    assert client.submit(on_a_worker, shared, probes, pure=False).result() == here
    serial = concat(sample_batches(model, seed=2, batch_rows=300), model.plan.order)
    got = concat(sample_batches(model, seed=2, batch_rows=300, cluster=client), model.plan.order)
    for name in serial:
        pd.testing.assert_frame_equal(got[name], serial[name], check_dtype=False)


def test_a_guard_kept_on_disk_travels_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashsets, "SPILL_HASHES", 1000)
    monkeypatch.setattr(hashsets, "MEMORY_HASHES", 1000)
    collector = hashsets.HashCollector()
    values = np.random.default_rng(0).integers(0, 2**63, 5000, dtype=np.int64).astype(np.uint64)
    collector.add(values)
    on_disk = collector.distinct()
    assert on_disk.on_disk
    copy = pickle.loads(pickle.dumps(on_disk))
    probes = np.concatenate([values[:50], values[:50] + np.uint64(1)])
    assert copy.contains(probes).tolist() == on_disk.contains(probes).tolist()
    assert not isinstance(copy.hashes, np.memmap)


def test_a_family_that_draws_unique_values_is_sampled_here(tmp_path: Path, client, caplog) -> None:
    """E-mails drawn per batch are checked against the batches before: not apart, not sent."""
    url = f"sqlite:///{tmp_path / 'mail.sqlite'}"
    schema = shop.SCHEMA.replace(
        "segment VARCHAR(10) NOT NULL,", "segment VARCHAR(10) NOT NULL, email VARCHAR(60) UNIQUE,"
    )
    rows = shop.rows().replace(
        "INSERT INTO customer VALUES (", "INSERT INTO customer (id, segment, balance) VALUES ("
    )
    run_sql(url, schema + rows)
    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    con.execute("UPDATE customer SET email = 'person' || id || '@example.org'")
    con.commit()
    con.close()
    model = relsynth.fit(url, seed=1)
    caplog.set_level("INFO", logger="relsynth")
    serial = concat(sample_batches(model, seed=3, batch_rows=300), model.plan.order)
    got = concat(sample_batches(model, seed=3, batch_rows=300, cluster=client), model.plan.order)
    assert "not on the cluster" in caplog.text
    for name in serial:
        pd.testing.assert_frame_equal(got[name], serial[name], check_dtype=False)
    assert not got["customer"]["email"].dropna().duplicated().any()


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_synthesize_on_a_cluster_writes_the_serial_database(apart_shop, client, request, db: str) -> None:
    url, _ = apart_shop
    make = request.getfixturevalue(f"{db}_db")
    one, two = make(), make()
    relsynth.synthesize(url, one, seed=3, batch_rows=300)
    relsynth.synthesize(url, two, seed=3, batch_rows=300, cluster=client)
    for name in ("customer", "orders", "line", "product"):
        a = fetch(one, f"SELECT * FROM {name} ORDER BY id")
        assert len(a) > 0 and a == fetch(two, f"SELECT * FROM {name} ORDER BY id"), name


def test_an_unreachable_scheduler_is_one_line(
    apart_shop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relsynth import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "2s")
    url, _ = apart_shop
    target = f"sqlite:///{tmp_path / 'out.sqlite'}"
    got = CliRunner().invoke(main, ["synthesize", url, target, "--cluster", "tcp://127.0.0.1:9", "--quiet"])
    assert got.exit_code != 0
    assert "cannot reach a Dask scheduler at tcp://127.0.0.1:9" in got.output
    assert "Traceback" not in got.output
    assert not (tmp_path / "out.sqlite").exists() or not fetch(target, "SELECT name FROM sqlite_master")
