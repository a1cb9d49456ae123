"""Attack round 37 (a README-only helper on --workers and --cluster): what a user was told.

1. A --cluster address where another server answers first (MariaDB's port) was "Out of memory":
   Dask read the greeting as a message length.
2. A sampling process killed (the kernel's out-of-memory killer) was "internal error ... a bug in
   relsynth", its reason left out.
3. A cluster that lost its workers was an internal error too (FutureCancelledError).
4. A stalled worker kept the run waiting with nothing said.
5. A model learned from a sample numbered its keys from the sample's smallest key (4, 6, 16), not
   the source's.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from relsynth.errors import RelsynthError
from relsynth.model.batches import sample_batches
from tests import shop
from tests.conftest import run_sql

distributed = pytest.importorskip("dask.distributed")


pytestmark = pytest.mark.usefixtures("small_batches")


@pytest.fixture
def talker() -> Iterator[int]:
    """A port where a server speaks first, as MariaDB's does: 100 bytes of greeting."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with contextlib.suppress(OSError):
                conn.sendall(b"\x4a\x00\x00\x00\x0a5.5.5-10.11-MariaDB" + b"\xff" * 80)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    server.close()


def test_a_port_of_another_server_is_no_scheduler_not_out_of_memory(
    apart_shop, talker: int, tmp_path: Path
) -> None:
    from relsynth import cluster

    url, _ = apart_shop
    target = f"sqlite:///{tmp_path / 'out.sqlite'}"
    cluster.CONNECT_TIMEOUT = "3s"
    try:
        got = CliRunner().invoke(
            main, ["synthesize", url, target, "--cluster", f"tcp://127.0.0.1:{talker}", "--quiet"]
        )
    finally:
        cluster.CONNECT_TIMEOUT = "15s"
    assert got.exit_code == 1, got.output
    assert f"cannot reach a Dask scheduler at tcp://127.0.0.1:{talker}" in got.output
    assert "memory" not in got.output.lower()


def test_a_killed_sampling_process_is_said_in_one_line(apart_shop) -> None:
    _, model = apart_shop
    batches = sample_batches(model, seed=4, batch_rows=150, workers=2)
    next(batches)
    children = [p for p in multiprocessing.active_children() if p.name.startswith("relsynth-sample")]
    assert len(children) == 2
    os.kill(children[1].pid, signal.SIGKILL)
    with pytest.raises(RelsynthError, match=r"ended before its batches were done \(killed by signal 9\)"):
        for _ in batches:
            pass


def test_a_task_the_cluster_lost_is_said_in_one_line() -> None:
    from relsynth.cluster import _result

    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        future = client.submit(time.sleep, 30, pure=False)
        future.cancel()
        with pytest.raises(RelsynthError, match="the Dask cluster lost batch 3"):
            _result(future, 3)


def test_a_batch_awaited_long_is_said(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from relsynth import cluster

    monkeypatch.setattr(cluster, "WAIT_NOTE", 1)
    caplog.set_level(logging.WARNING, logger="relsynth")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as local,
        distributed.Client(local) as client,
    ):
        future = client.submit(time.sleep, 2.5, pure=False)
        cluster._result(future, 5)
    assert "batch 5: still waiting for the Dask cluster after 1 s" in caplog.text


def test_a_model_learned_from_a_sample_numbers_keys_from_the_sources_smallest(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.sqlite'}"
    run_sql(url, shop.SCHEMA + shop.rows())
    model = relsynth.fit(url, seed=0, fit_rows=400)
    assert model.source["sample_rows"], "learned from every row: nothing to attack"
    assert model.source["rows_read"]["customer"] < 600
    for name in ("customer", "orders", "line"):
        assert model.tables[name].key.start == 1, name
