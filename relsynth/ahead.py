"""Sampling in processes of their own (``--workers N``), ahead of the load.

synthesize samples a batch, then loads it, then samples the next: on TPC-H at scale factor 1 the
two took about 150 and 70 seconds one after the other, on one core of two. Here a forked process
runs the very same batch generator and hands each batch over a queue of one, so batch k + 1 is
sampled while batch k is loaded. The output is the same database: the child draws exactly what
the serial run draws, in the same order; only the waiting overlaps. Memory holds at most three
batches (one being sampled, one queued, one being loaded).

Where the batches need nothing of each other (model/batches.py ``Batch.apart``), N children sample
them at once, child k every N-th batch from batch k, and the parent takes them in turn: the same
database again, since each batch's rows come from its number and the seed alone.

The child never touches a database connection (the fork copies the parent's, which it leaves
alone and never closes: it ends with os._exit, as multiprocessing's children do), never the
parent's progress display (its reports and log records travel over the queue and are shown by
the parent), and stops when the parent goes away.
"""

from __future__ import annotations

import logging
import os
import queue
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

from relsynth.errors import RelsynthError

log = logging.getLogger("relsynth")
Progress = Callable[[str, int, int], None]
Batches = Iterator[dict[str, pd.DataFrame]]


class _ToQueue(logging.Handler):
    """The child's log records, sent to the parent to be shown by its own handlers."""

    def __init__(self, put: Callable[[tuple[Any, ...]], None]) -> None:
        super().__init__()
        self.put = put

    def emit(self, record: logging.LogRecord) -> None:
        record.msg, record.args = record.getMessage(), None  # formatted here: args may not pickle
        record.exc_info = None
        self.put(("log", record))


def sampled_ahead(
    make: Callable[[Progress | None], Batches], progress: Progress | None = None, state: Any = None
) -> Batches:
    """The batches ``make(progress)`` yields, sampled in a child process one batch ahead.
    ``state``: an object the sampling fills in (a SampleReport), copied back at the end."""

    def copy_back(got: Any) -> None:
        if state is not None and got is not None:
            state.__dict__.update(got.__dict__)

    return sampled_in_turn([make], progress, [state], copy_back)


def sampled_in_turn(
    makes: list[Callable[[Progress | None], Batches]],
    progress: Progress | None = None,
    states: list[Any] | None = None,
    collect: Callable[[Any], None] | None = None,
) -> Batches:
    """The batches of ``makes``, each run in a child process of its own, taken one from each in
    turn: the first child's first batch, the second's first, ..., the first's second. Each child
    samples one batch ahead of the one taken from it, so k children sample k batches at once.
    ``states``: per child, an object its sampling fills in (a SampleReport); ``collect`` is given
    each child's copy of it at the end, in child order."""
    import multiprocessing
    import sys

    ctx = multiprocessing.get_context("fork")
    parent = os.getpid()
    channels: list[Any] = [ctx.Queue(maxsize=1) for _ in makes]

    def child(make: Callable[[Progress | None], Batches], channel: Any, state: Any) -> None:
        import signal

        def put(item: tuple[Any, ...]) -> None:
            while True:  # a parent that died (killed) leaves nobody to read: the child ends too
                try:
                    channel.put(item, timeout=1.0)
                    return
                except queue.Full:
                    if os.getppid() != parent:
                        os._exit(1)

        # Ctrl-C is the parent's to handle (it stops the load, cleans up and ends this process);
        # ended, this process goes quietly.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        # Nothing of the parent's display: its lock may have been held by another thread at the fork.
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        for name in ("", "relsynth"):
            logger = logging.getLogger(name)
            logger.handlers[:] = [_ToQueue(put)]
        logging.getLogger("relsynth").propagate = False
        try:
            for batch in make(lambda stage, done, total: put(("progress", stage, done, total))):
                put(("batch", batch))
            put(("done", state))
        except BaseException as err:  # every failure is the parent's to raise
            try:
                put(("error", err))
            except Exception:  # an exception that does not pickle: its type, never its text
                put(("error", RuntimeError(f"sampling failed ({type(err).__name__})")))

    given = states if states is not None else [None] * len(makes)
    workers = [
        ctx.Process(target=child, args=(make, channel, state), name=f"relsynth-sample-{k}", daemon=True)
        for k, (make, channel, state) in enumerate(zip(makes, channels, given, strict=True))
    ]
    for worker in workers:
        worker.start()
    ended: list[Any] = [None] * len(workers)
    try:
        active = list(range(len(workers)))
        while active:
            for k in list(active):
                kind, got = _next_batch(workers[k], channels[k], progress)
                if kind == "done":
                    active.remove(k)
                    ended[k] = got
                else:
                    yield got
        if collect is not None:
            for got in ended:
                collect(got)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join(timeout=10)
        for channel in channels:
            channel.close()


def _next_batch(worker: Any, channel: Any, progress: Progress | None) -> tuple[str, Any]:
    """("batch", the child's next batch) or ("done", its final state); its logs and progress
    shown on the way, its failure raised here."""
    while True:
        try:
            item = channel.get(timeout=5.0)
        except queue.Empty:
            if not worker.is_alive():
                raise _ended(worker.exitcode) from None
            continue
        kind = item[0]
        if kind in {"batch", "done"}:
            return kind, item[1]
        if kind == "progress":
            if progress:
                progress(*item[1:])
        elif kind == "log":
            logging.getLogger(item[1].name).handle(item[1])
        elif kind == "error":
            raise item[1]


def _ended(code: int | None) -> RelsynthError:
    """A sampling process that ended before its batches: how, and what to do (the load in the
    parent is rolled back by the caller)."""
    how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
    return RelsynthError(
        f"a sampling process (--workers) ended before its batches were done ({how}); nothing was "
        "written. If the system ran out of memory (signal 9 is the kernel's out-of-memory killer), "
        "use fewer --workers or a smaller --batch-rows"
    )
