"""Sampling in batches at any scale: is each batch's cost and the memory held flat (issue 12)?

Run by hand from the repository root (PostgreSQL on 127.0.0.1:5432, user postgres, trust):

    .venv/bin/python benchmarks/bench_batches.py                          # scales 1000 and 10000
    .venv/bin/python benchmarks/bench_batches.py --scale 100,1000 --batches 4

TPC-H sf 0.001 from ../shared/datasets (or $RELSYNTH_DATASETS) is loaded into `rs_bench_batches`,
fitted once (`relsynth.fit`, seed 0) and dropped. The model is then sampled with
`sample_batches(model, scale=S, batch_rows=500,000)` (`--batch-rows`), no database involved, in
a process of its own per scale, so each peak is its own. Scale 10,000 is TPC-H SF 10's shape:
2 million parts with 8 million partsupp rows, the tables the customers' orders and lineitems point
to, 15 million orders. Each process samples the tables shared by the family, then the first
`--batches` batches of the customers' family, and stops; nothing is written.

Per scale it prints: the shared tables' rows and seconds (all of them: in batches of their own
where their family is large, kept as the few columns the customers' rows read), then for the
family's batches the seconds per batch (mean of the batches after the first, which builds the
decks of parents), the resident memory after the first batch and after the last (`/proc`,
after a garbage collection, the batch just sampled still held), and the process's peak
(`ru_maxrss`). The last column divides the seconds per batch by the smallest scale's, measured
in the same run: a batch's cost should not grow with the tables it points to (1.0).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import PG_DB, drop_database, fresh_database, load_dataset

DATASET, DB = "tpch_sf0001", "rs_bench_batches"


def _resident_mb() -> float:
    import gc

    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def measure(model_path: str, scale: float, batch_rows: int, batches: int) -> dict[str, float]:
    """In this process: the shared tables, then ``batches`` batches of the family."""
    from relsynth.model.batches import partition, sample_batches
    from relsynth.model.store import load

    model = load(model_path)
    part, _ = partition(model, scale, {}, batch_rows)
    if part is None:
        raise SystemExit(f"scale {scale}: nothing to cut into batches of {batch_rows:,} rows")
    t0 = time.perf_counter()
    out: dict[str, float] = {"shared_rows": 0, "family_batches": 0}
    times: list[float] = []
    last = t0
    for got in sample_batches(model, scale=scale, seed=0, batch_rows=batch_rows):
        now = time.perf_counter()
        if part.root not in got:  # a batch of the shared family
            out["shared_rows"] += sum(len(f) for f in got.values())
        else:
            if not times:  # the first holds every shared table sampled alone
                out["shared_rows"] += sum(len(f) for n, f in got.items() if n in part.shared)
                out["shared_s"] = last - t0
                out["after_first_mb"] = _resident_mb()
                times.append(now - last)
            else:
                times.append(now - last)
            out["after_last_mb"] = _resident_mb()
            if len(times) >= batches:
                break
        last = time.perf_counter()
    out["first_s"] = times[0]
    out["per_batch_s"] = sum(times[1:]) / max(len(times) - 1, 1)
    out["family_batches"] = part.batches
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="1000,10000", help="scales, comma list (smallest first)")
    parser.add_argument("--batch-rows", type=int, default=500_000)
    parser.add_argument("--batches", type=int, default=6, help="family batches sampled per scale")
    parser.add_argument("--measure", nargs=4, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.measure:
        path, scale, rows, k = args.measure
        print(json.dumps(measure(path, float(scale), int(rows), int(k))))
        return 0
    import relsynth

    scales = sorted(float(s) for s in args.scale.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        model_path = str(Path(tmp) / "tpch.rsm")
        fresh_database(DB)
        try:
            load_dataset(DATASET, DB)
            relsynth.fit(PG_DB.format(db=DB), seed=0).save(model_path)
        finally:
            drop_database(DB)
        print(
            f"{DATASET} model; sample_batches(batch_rows={args.batch_rows:,}), first {args.batches} batches"
        )
        head = (
            "scale",
            "shared rows",
            "shared s",
            "batches",
            "1st s",
            "s/batch",
            "MB 1st",
            "MB last",
            "peak MB",
            "vs 1st scale",
        )
        print("".join(f"{h:>13}" for h in head))
        base = None
        for scale in scales:
            run = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--measure",
                    model_path,
                    str(scale),
                    str(args.batch_rows),
                    str(args.batches),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(run.stdout.strip().splitlines()[-1])
            base = base or r["per_batch_s"]
            cells = (
                f"{scale:g}",
                f"{int(r['shared_rows']):,}",
                f"{r['shared_s']:.1f}",
                f"{int(r['family_batches'])}",
                f"{r['first_s']:.1f}",
                f"{r['per_batch_s']:.2f}",
                f"{r['after_first_mb']:.0f}",
                f"{r['after_last_mb']:.0f}",
                f"{r['peak_mb']:.0f}",
                f"{r['per_batch_s'] / base:.2f}",
            )
            print("".join(f"{c:>13}" for c in cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
