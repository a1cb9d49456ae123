"""Sampling ahead of the load, in a process of its own (``--workers 2``).

synthesize samples a batch, then loads it, then samples the next: on TPC-H at scale factor 1 the
two took about 150 and 70 seconds one after the other, on one core of two. Here a forked process
runs the very same batch generator and hands each batch over a queue of one, so batch k + 1 is
sampled while batch k is loaded. The output is the same database: the child draws exactly what
the serial run draws, in the same order; only the waiting overlaps. Memory holds at most three
batches (one being sampled, one queued, one being loaded).

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
    import multiprocessing
    import sys

    ctx = multiprocessing.get_context("fork")
    channel: Any = ctx.Queue(maxsize=1)
    parent = os.getpid()

    def put(item: tuple[Any, ...]) -> None:
        while True:  # a parent that died (killed) leaves nobody to read: the child ends too
            try:
                channel.put(item, timeout=1.0)
                return
            except queue.Full:
                if os.getppid() != parent:
                    os._exit(1)

    def child() -> None:
        import signal

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

    worker = ctx.Process(target=child, name="relsynth-sample", daemon=True)
    worker.start()
    try:
        while True:
            try:
                item = channel.get(timeout=5.0)
            except queue.Empty:
                if not worker.is_alive():
                    code = worker.exitcode
                    raise RuntimeError(f"the sampling process ended (exit code {code})") from None
                continue
            kind = item[0]
            if kind == "batch":
                yield item[1]
            elif kind == "progress":
                if progress:
                    progress(*item[1:])
            elif kind == "log":
                logging.getLogger(item[1].name).handle(item[1])
            elif kind == "error":
                raise item[1]
            else:
                if state is not None and item[1] is not None:
                    state.__dict__.update(item[1].__dict__)
                return
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join(timeout=10)
        channel.close()
