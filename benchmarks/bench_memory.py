"""Peak memory of `relsynth fit` on a 64x database, with and without --sample-rows.

Run by hand from the repository root (PostgreSQL on 127.0.0.1:5432, user postgres, trust):

    /work/venv/bin/python benchmarks/bench_memory.py                  # TPC-H x64, N = 1x customers
    /work/venv/bin/python benchmarks/bench_memory.py --k 16 --sample-rows 300

TPC-H sf 0.001 is loaded from ../shared/datasets (or $RELSYNTH_DATASETS) into `rs_bench_mem_1x`.
Its customers are replicated k times with their orders and lineitems (`benchmarks/replica.py`;
parts, suppliers, nations stay once), and the replica is written into `rs_bench_mem_<k>x` with
pandas `to_sql` (the source's column types), after which NOT NULL, the primary keys and the
foreign keys are added with ALTER TABLE, so relsynth reflects the same schema as the 1x database.
Both databases are dropped at the end; writing them is not timed.

Each fit runs as its own process, `relsynth -q fit URL -o model.rsm [--sample-rows N]`, and its
peak resident memory is its `ru_maxrss` from `os.wait4` (the same number as `/usr/bin/time -v`'s
"Maximum resident set size"), taken by a minimal launcher process (see LAUNCHER) because a child
forked from this big process would inherit its peak. Rows:

- imports only: a Python process importing what `relsynth fit` imports (the floor);
- 1x database: `relsynth fit` on the original dataset (what a 1x-sized sample should cost);
- kx database: `relsynth fit` on the replica, reading everything;
- kx --sample-rows N: the same with N root rows per root table (default N = the 1x customer count,
  so the sample is about the 1x size).

Columns: rows = rows in the database; MB = peak RSS in MiB; s = wall-clock seconds of the process;
vs full = MB / MB of the full kx fit. The point: with --sample-rows, memory is bounded by the
sample (close to the 1x row), not by the database. PASS if the sampled fit's peak is at most
1.5x the 1x fit's peak. Exit code 1 if it FAILs or a fit fails.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from common import PG_DB, drop_database, fresh_database, load_dataset
from replica import load_frames, replicate

from relsynth.api import plan, reflect
from relsynth.schema import Schema

RELSYNTH = str(Path(sys.executable).with_name("relsynth"))
DATASET, ROOTS = "tpch_sf0001", ["customer"]
IMPORTS = (
    "import relsynth.api, relsynth.reflection, relsynth.read, relsynth.graph, relsynth.model.fit, "
    "relsynth.model.store, relsynth.io, pandas, sqlalchemy, psycopg"
)
LIMIT = 1.5


def write_replica(url_1x: str, db: str, schema: Schema, frames: dict[str, pd.DataFrame]) -> None:
    """The frames into a new database with to_sql (the 1x column types), then NOT NULL, PKs, FKs."""
    fresh_database(db)
    source = sa.create_engine(url_1x)
    meta = sa.MetaData()
    meta.reflect(source)
    source.dispose()
    engine = sa.create_engine(PG_DB.format(db=db))
    q = engine.dialect.identifier_preparer.quote
    with engine.begin() as conn:
        for name, frame in frames.items():
            types = {c.name: c.type for c in meta.tables[name].columns}
            frame.to_sql(name, conn, index=False, chunksize=20_000, dtype=types)
        for table in schema.active_tables:
            for col in table.columns:
                if not col.nullable:
                    sql = f"ALTER TABLE {q(table.name)} ALTER COLUMN {q(col.name)} SET NOT NULL"
                    conn.execute(sa.text(sql))
            if table.primary_key:
                cols = ", ".join(map(q, table.primary_key))
                conn.execute(sa.text(f"ALTER TABLE {q(table.name)} ADD PRIMARY KEY ({cols})"))
        for table in schema.active_tables:
            for fk in table.foreign_keys:
                conn.execute(
                    sa.text(
                        f"ALTER TABLE {q(table.name)} ADD CONSTRAINT {q(fk.name)} "
                        f"FOREIGN KEY ({', '.join(map(q, fk.columns))}) "
                        f"REFERENCES {q(fk.ref_table)} ({', '.join(map(q, fk.ref_columns))})"
                    )
                )
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()


# A fork (or vfork) child starts with its parent's peak RSS as its own ru_maxrss, and exec keeps it:
# measured straight from this process (which holds the 64x frames), every child would report at
# least this process's size. So a minimal Python launcher spawns the command and reports its peak.
LAUNCHER = (
    "import os, sys; pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ); "
    "_, status, usage = os.wait4(pid, 0); "
    "open(sys.argv[1], 'w').write(f'{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}')"
)


def peak(cmd: list[str]) -> tuple[float, float]:
    """(peak RSS in MiB, seconds) of one process (ru_maxrss from wait4); raises if it fails."""
    with tempfile.TemporaryDirectory() as tmp, open(f"{tmp}/stderr", "w+b") as err:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-c", LAUNCHER, f"{tmp}/usage", *cmd], stderr=err, check=True)
        seconds = time.perf_counter() - started
        code, maxrss_kib = map(int, Path(f"{tmp}/usage").read_text().split())
        if code != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip()[-500:]
            raise RuntimeError(f"{' '.join(cmd)} exited {code}: {tail}")
    return maxrss_kib / 1024, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=64, help="replication factor (default 64)")
    parser.add_argument("--sample-rows", type=int, help="N for --sample-rows (default: 1x customer rows)")
    parser.add_argument("--keep", action="store_true", help="keep the rs_bench_mem_* databases")
    args = parser.parse_args()
    db_1x, db_kx = "rs_bench_mem_1x", f"rs_bench_mem_{args.k}x"
    url_1x, url_kx = PG_DB.format(db=db_1x), PG_DB.format(db=db_kx)
    rows: list[tuple[str, int, float, float]] = []
    ok = True
    try:
        print(f"loading {DATASET} into {db_1x}", file=sys.stderr, flush=True)
        load_dataset(DATASET, db_1x)
        schema = reflect(url_1x)
        frames = load_frames(url_1x, [t.name for t in schema.active_tables])
        rows_1x = sum(len(f) for f in frames.values())
        big = replicate(schema, plan(schema), frames, ROOTS, args.k)
        rows_kx = sum(len(f) for f in big.values())
        n = args.sample_rows or len(frames[ROOTS[0]])
        print(f"writing the {args.k}x replica ({rows_kx:,} rows) into {db_kx}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        write_replica(url_1x, db_kx, schema, big)
        print(f"written in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
        del big, frames

        with tempfile.TemporaryDirectory(prefix="rs_bench_mem_") as tmp:
            runs = [
                ("imports only", 0, [sys.executable, "-c", IMPORTS]),
                ("1x database", rows_1x, [RELSYNTH, "-q", "fit", url_1x, "-o", f"{tmp}/1x.rsm"]),
                (f"{args.k}x database", rows_kx, [RELSYNTH, "-q", "fit", url_kx, "-o", f"{tmp}/kx.rsm"]),
                (
                    f"{args.k}x --sample-rows {n}",
                    rows_kx,
                    [RELSYNTH, "-q", "fit", url_kx, "-o", f"{tmp}/kx_s.rsm", "--sample-rows", str(n)],
                ),
            ]
            for label, count, cmd in runs:
                print(f"running: {label}", file=sys.stderr, flush=True)
                try:
                    mb, seconds = peak(cmd)
                except RuntimeError as err:
                    print(f"FAILED: {err}", file=sys.stderr)
                    mb, seconds, ok = float("nan"), float("nan"), False
                rows.append((label, count, mb, seconds))
    finally:
        if not args.keep:
            drop_database(db_kx)
            drop_database(db_1x)

    full = rows[2][2]
    head = f"{'fit':<26} {'rows':>9} {'peak MB':>8} {'s':>7} {'vs full':>7}"
    print(f"\nPeak RSS of `relsynth fit` (TPC-H sf 0.001 x{args.k}: customer -> orders -> lineitem)")
    print(head)
    print("-" * len(head))
    for label, count, mb, seconds in rows:
        print(f"{label:<26} {count:>9,} {mb:>8.0f} {seconds:>7.1f} {mb / full:>7.2f}")
    imports, one, sampled = rows[0][2], rows[1][2], rows[3][2]
    print(
        f"\nfull / sampled peak: {full / sampled:.2f}x;  above the imports floor: "
        f"full {full - imports:.0f} MB, sampled {sampled - imports:.0f} MB, 1x {one - imports:.0f} MB"
    )
    bounded = sampled <= LIMIT * one
    print(
        f"sampled fit peak {sampled:.0f} MB vs 1x fit peak {one:.0f} MB: "
        f"{'PASS' if bounded else 'FAIL'} (limit {LIMIT}x)"
    )
    return 0 if ok and bounded else 1


if __name__ == "__main__":
    sys.exit(main())
