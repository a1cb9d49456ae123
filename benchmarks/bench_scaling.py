"""Does fit and sample time grow linearly with the data? 1x, 4x, 16x, 64x replicas of one dataset.

Run by hand from the repository root (PostgreSQL on 127.0.0.1:5432, user postgres, trust):

    /work/venv/bin/python benchmarks/bench_scaling.py                    # TPC-H, 1x 4x 16x 64x
    /work/venv/bin/python benchmarks/bench_scaling.py --dataset chinook --sizes 1,4,16

The dataset (TPC-H sf 0.001 by default, or Chinook) is loaded from ../shared/datasets (or
$RELSYNTH_DATASETS) into a temporary database `rs_bench_scaling_<name>`, reflected and read into
DataFrames, and the database is dropped. `benchmarks/replica.py` then copies the root entities
with all their descendants k times with new keys (TPC-H: customer -> orders -> lineitem; Chinook:
customer -> invoice -> invoice_line); the other tables (parts, suppliers, tracks...) stay as they
are. Each replica is fitted from the frames (`relsynth.fit(frames, schema=schema)`, no database
involved) and the fitted model is sampled at scale 1 (`relsynth.sample(model, scale=1)`), so the
sample is as large as the replica.

Columns: rows = all rows of the replica (fit) or of the sample; s = wall-clock seconds (the best of
up to 3 runs for runs under a second, after one untimed warm-up fit and sample of the 1x data);
rows/s = rows / s; x1x = time(kx) / time(1x), to compare with k. "problems" is the sample's
integrity (orphans + duplicate keys + NULLs in NOT NULL + CHECK violations; 0 expected).

Last, the exponent b of time ~ rows^b, fitted by least squares on log-log, for fit and for
sample: linear growth gives b = 1; PASS if b <= 1.15. Exit code 1 if either FAILs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from common import PG_DB, drop_database, load_dataset
from replica import load_frames, replicate

from relsynth.api import fit, plan, reflect, sample
from relsynth.evaluation.integrity import check_integrity

SOURCES = {  # name: (dataset folder, root tables replicated with their descendants)
    "tpch": ("tpch_sf0001", ["customer"]),
    "chinook": ("chinook", ["customer"]),
}
LIMIT_B = 1.15


def read_dataset(name: str) -> tuple[Any, dict[str, Any]]:
    """(Schema, {table: DataFrame}) of a dataset, through a temporary PostgreSQL database."""
    folder, _ = SOURCES[name]
    db = f"rs_bench_scaling_{name}"
    load_dataset(folder, db)
    try:
        url = PG_DB.format(db=db)
        schema = reflect(url)
        frames = load_frames(url, [t.name for t in schema.active_tables])
    finally:
        drop_database(db)
    return schema, frames


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Best wall-clock time of up to 3 runs (one run when it takes a second or more)."""
    best, out = float("inf"), None
    for _ in range(3):
        started = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - started
        best = min(best, seconds)
        if seconds >= 1.0:
            break
    return best, out


def exponent(rows: list[int], seconds: list[float]) -> float:
    return float(np.polyfit(np.log(rows), np.log(seconds), 1)[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(SOURCES), default="tpch")
    parser.add_argument("--sizes", default="1,4,16,64", help="replication factors, comma-separated")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if sizes[0] != 1:
        parser.error("--sizes must start with 1 (the ratios are to 1x)")

    print(f"[{args.dataset}] loading and reading", file=sys.stderr, flush=True)
    schema, frames = read_dataset(args.dataset)
    tree = plan(schema)
    roots = SOURCES[args.dataset][1]
    sample(fit(frames, schema=schema, seed=0), seed=1)  # warm-up: imports, caches

    rows: list[int] = []
    fit_s: list[float] = []
    sample_rows: list[int] = []
    sample_s: list[float] = []
    problems: list[int] = []
    for k in sizes:
        data = replicate(schema, tree, frames, roots, k)
        largest = {t: len(f) for t, f in data.items()}
        rows.append(sum(largest.values()))
        print(f"[{args.dataset}] {k}x: {rows[-1]:,} rows; fitting", file=sys.stderr, flush=True)
        seconds, model = timed(lambda data=data: fit(data, schema=schema, seed=0))
        fit_s.append(seconds)
        print(f"[{args.dataset}] {k}x: fitted in {seconds:.2f} s; sampling", file=sys.stderr, flush=True)
        seconds, tables = timed(lambda model=model: sample(model, scale=1.0, seed=1))
        sample_s.append(seconds)
        sample_rows.append(sum(len(f) for f in tables.values()))
        problems.append(check_integrity(schema, tables).problems)

    print(f"\n{args.dataset}: roots {', '.join(roots)}; rows per table at {sizes[-1]}x: {largest}")
    head = (
        f"{'k':>3} {'rows':>9} {'fit s':>7} {'fit rows/s':>10} {'x1x':>6}   "
        f"{'sample rows':>11} {'sample s':>8} {'rows/s':>9} {'x1x':>6} {'problems':>8}"
    )
    print(head)
    print("-" * len(head))
    for i, k in enumerate(sizes):
        print(
            f"{k:>3} {rows[i]:>9,} {fit_s[i]:>7.2f} {rows[i] / fit_s[i]:>10,.0f} "
            f"{fit_s[i] / fit_s[0]:>6.1f}   "
            f"{sample_rows[i]:>11,} {sample_s[i]:>8.2f} {sample_rows[i] / sample_s[i]:>9,.0f} "
            f"{sample_s[i] / sample_s[0]:>6.1f} {problems[i]:>8}"
        )
    ok = True
    print()
    for what, n, secs in (("fit", rows, fit_s), ("sample", sample_rows, sample_s)):
        b = exponent(n, secs)
        verdict = "PASS" if b <= LIMIT_B else "FAIL"
        ok &= b <= LIMIT_B
        print(f"{what:<6} time ~ rows^b: b = {b:.2f}  {verdict} (limit {LIMIT_B})")
    if any(problems):
        print(f"integrity: FAIL ({sum(problems)} problems in the samples)")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
