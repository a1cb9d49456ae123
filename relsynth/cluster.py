"""Sampling the largest family's batches on a Dask cluster (``--cluster ADDRESS``; relsynth[dask]).

Where the batches need nothing of each other (model/batches.py ``Batch.apart``), each is one task:
the model (with its guards) and the tables sampled once are sent to every worker once, and batch
b is sampled from them, its number and the seed alone, so the database is the one a single
process writes. This process takes the batches in order and loads them in its one transaction,
as always: all or nothing. At most two tasks per worker thread are queued ahead of the one being
loaded, so this process holds a bounded number of batches whatever the size.

Fitting stays in this process (it learns from a bounded sample of the source, ``--fit-rows``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

from relsynth.errors import RelsynthError

log = logging.getLogger("relsynth")
CONNECT_TIMEOUT = "15s"  # a scheduler that does not answer by then is not there


@contextmanager
def client_for(cluster: Any) -> Iterator[Any]:
    """A Dask client: the one given, or one connected to a scheduler's address (closed after)."""
    if not isinstance(cluster, str):
        yield cluster
        return
    try:
        from dask.distributed import Client
    except ImportError:
        raise RelsynthError(
            "--cluster needs Dask: pip install -e '.[dask]' in relsynth's clone "
            "(or pip install 'dask[distributed]')"
        ) from None
    try:
        client = Client(cluster, timeout=CONNECT_TIMEOUT)
    except Exception as err:  # a port where another server answers: Dask reads its greeting as a
        # message length and asks for gigabytes (MemoryError), which is no advice about memory
        raise RelsynthError(
            f"cannot reach a Dask scheduler at {cluster} ({_why(err)}): check the address "
            "(tcp://HOST:8786) and that `dask scheduler` runs there"
        ) from None
    try:
        yield client
    finally:
        client.close()


def _why(err: Exception) -> str:
    """Why a connection failed, in words: a MemoryError means another server answered."""
    if isinstance(err, MemoryError | ValueError | TypeError):
        return "something else answers there"
    return "no answer" if isinstance(err, TimeoutError | OSError) else type(err).__name__


def sampled_on(
    client: Any, model: Any, part: Any, done: dict[str, Any], scale: float, seed: int, report: Any
) -> Iterator[dict[str, pd.DataFrame]]:
    """The family's batches, typed, in order, each sampled by a task on the cluster; what each
    bent is added to ``report``."""
    workers = client.scheduler_info().get("workers", {})
    if not workers:
        raise RelsynthError("the Dask cluster has no workers: start some (`dask worker ADDRESS`)")
    threads = sum(int(w.get("nthreads", 1)) for w in workers.values())
    shared = client.scatter((model, part, dict(done), scale, seed), broadcast=True, hash=False)
    run = uuid.uuid4().hex[:8]
    ahead = max(2, 2 * threads)
    futures: dict[int, Any] = {}
    submitted = 0
    try:
        for b in range(part.batches):
            while submitted < part.batches and submitted < b + 1 + ahead:
                futures[submitted] = client.submit(
                    _one_batch, shared, submitted, key=f"relsynth-batch-{run}-{submitted}", pure=False
                )
                submitted += 1
            typed, bent = _result(futures.pop(b), b)
            report.merge(bent)
            yield typed
    finally:
        for future in futures.values():
            future.cancel()
        client.cancel([shared])


def _result(future: Any, number: int) -> Any:
    """The task's result; while it runs, a line a minute (a stalled worker keeps it waiting, and
    Dask gives up on a worker only after minutes); a task the cluster lost, said in one line."""
    waited = 0
    while True:
        try:
            return future.result(timeout=WAIT_NOTE)
        except TimeoutError:
            waited += WAIT_NOTE
            log.warning(
                "batch %d: still waiting for the Dask cluster after %d s (a worker may be stalled "
                "or lost; Ctrl-C stops the run, and nothing is written)",
                number,
                waited,
            )
        except Exception as err:
            if type(err).__name__ in _LOST:
                raise RelsynthError(
                    f"the Dask cluster lost batch {number} ({type(err).__name__}: its workers ended "
                    "or were stopped); nothing was written. Check the workers and run again"
                ) from None
            raise


# What Dask raises for a task whose workers died or were removed, not for a failure of its own.
_LOST = frozenset({"FutureCancelledError", "CancelledError", "KilledWorker", "CommClosedError"})
WAIT_NOTE = 60  # seconds between the lines saying a batch is still awaited


def _one_batch(shared: tuple[Any, ...], number: int) -> tuple[dict[str, pd.DataFrame], Any]:
    from relsynth.model.batches import family_batch

    model, part, done, scale, seed = shared
    return family_batch(model, part, done, scale, seed, number)
