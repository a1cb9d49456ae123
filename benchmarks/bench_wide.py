"""Does synthesize grow linearly with the number of columns? One wide SQLite table, 50-300 columns.

Run by hand from the repository root (no server needed, only SQLite):

    /work/venv/bin/python benchmarks/bench_wide.py                       # 50,100,200,300 x 5,000 rows
    /work/venv/bin/python benchmarks/bench_wide.py --columns 50,100 --rows 2000 --evaluate

An attacker's table (300 columns x 5,000 rows, `--batch-rows 1000`) ran for minutes where a narrow
table of 3 million rows took 8: a screen over pairs of columns made fit quadratic in columns. Each
case builds a SQLite file in a temporary folder: an integer primary key and N columns cycling
through integer, float, short category, date, and nullable integer, float and category (20% NULL),
from a fixed seed. The narrow baseline is the same table with `--narrow` columns (10).

Each case runs `relsynth synthesize SRC TGT --seed 1 --batch-rows B` (1000 by default; 0: all at
once) in a fresh process with `--no-report` unless `--evaluate` (the evaluation at the end adds
sdmetrics' QualityReport, whose column pairs are quadratic in columns by design). Columns:
columns = N; s = wall-clock seconds of the process; s/col = s / N; x narrow = s / the narrow
baseline's s in the same run; per-cell ratio = (s / N) / (narrow s / narrow N), ~1 where time is
linear in columns (process start and imports weigh on the narrow case, so it is below 1 at first).

Last, the exponent b of time ~ columns^b, fitted by least squares on log-log over the wide cases:
linear growth gives b = 1. The machine is shared: compare runs made back to back.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

KINDS = ("int", "float", "cat", "date", "intnull", "floatnull", "catnull")
DDL = {
    "int": "INTEGER NOT NULL",
    "intnull": "INTEGER",
    "float": "REAL NOT NULL",
    "floatnull": "REAL",
    "cat": "TEXT NOT NULL",
    "catnull": "TEXT",
    "date": "DATE NOT NULL",
}


def build(path: Path, ncols: int, nrows: int, seed: int = 7) -> None:
    """A wide table ``wide`` of ``ncols`` mixed columns and ``nrows`` rows, the same for a seed."""
    rng = random.Random(seed)
    cols = [(f"c{i:03d}_{KINDS[i % len(KINDS)]}", KINDS[i % len(KINDS)]) for i in range(ncols)]
    base = datetime.date(2000, 1, 1)
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE wide (id INTEGER PRIMARY KEY, " + ", ".join(f"{n} {DDL[k]}" for n, k in cols) + ")"
    )
    rows = []
    for r in range(nrows):
        row: list[object] = [r + 1]
        for j, (_, k) in enumerate(cols):
            if k.endswith("null") and rng.random() < 0.2:
                row.append(None)
            elif k.startswith("int"):
                row.append(rng.randint(0, 1000 + j))
            elif k.startswith("float"):
                row.append(round(rng.gauss(j, 10), 3))
            elif k.startswith("cat"):
                row.append(rng.choice(["a", "b", "c", "dd", "eee", f"x{j}"]))
            else:
                row.append((base + datetime.timedelta(days=rng.randint(0, 5000))).isoformat())
        rows.append(row)
    con.executemany(f"INSERT INTO wide VALUES ({','.join('?' * (ncols + 1))})", rows)
    con.commit()
    con.close()


def run(folder: Path, ncols: int, args: argparse.Namespace) -> float:
    """Seconds of one ``relsynth synthesize`` of an ``ncols``-column table, in a fresh process."""
    src, tgt = folder / f"src{ncols}.db", folder / f"tgt{ncols}.db"
    build(src, ncols, args.rows)
    cmd = [sys.executable, "-m", "relsynth", "synthesize", f"sqlite:///{src}", f"sqlite:///{tgt}"]
    cmd += ["--seed", "1", "--batch-rows", str(args.batch_rows)]
    cmd += ["--report", str(folder / f"report{ncols}.html")] if args.evaluate else ["--no-report"]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH", "")]
    )
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--columns", default="50,100,200,300", help="column counts, comma-separated")
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--narrow", type=int, default=10, help="columns of the narrow baseline")
    ap.add_argument("--batch-rows", type=int, default=1000, help="synthesize --batch-rows (0: all at once)")
    ap.add_argument("--evaluate", action="store_true", help="keep the evaluation at the end (sdmetrics)")
    args = ap.parse_args()
    wide = [int(c) for c in args.columns.split(",")]
    with tempfile.TemporaryDirectory(prefix="rs_bench_wide_") as tmp:
        folder = Path(tmp)
        narrow = run(folder, args.narrow, args)
        print(f"rows {args.rows:,}, --batch-rows {args.batch_rows}, evaluate {args.evaluate}")
        print(f"{'columns':>8} {'s':>8} {'s/col':>8} {'x narrow':>9} {'per-cell ratio':>15}")
        print(f"{args.narrow:>8} {narrow:>8.1f} {narrow / args.narrow:>8.3f} {1:>9.1f} {1:>15.2f}")
        times = []
        for n in wide:
            s = run(folder, n, args)
            times.append(s)
            per_cell = (s / n) / (narrow / args.narrow)
            print(f"{n:>8} {s:>8.1f} {s / n:>8.3f} {s / narrow:>9.1f} {per_cell:>15.2f}", flush=True)
    if len(wide) >= 2:
        b = float(np.polyfit(np.log(wide), np.log(times), 1)[0])
        print(f"time ~ columns^{b:.2f} (1.0: linear)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
