"""`relsynth.synthesize` of every real dataset and the demo, into PostgreSQL and into SQLite: time per stage.

Run by hand from the repository root (PostgreSQL on 127.0.0.1:5432, user postgres, trust):

    /work/venv/bin/python benchmarks/bench_synthesize.py                  # every dataset + demo, scale 1
    /work/venv/bin/python benchmarks/bench_synthesize.py --only chinook --only demo --scale 2
    /work/venv/bin/python benchmarks/bench_synthesize.py --target sqlite

Each dataset of ../shared/datasets (or $RELSYNTH_DATASETS) is loaded with its `load` script into a
fresh database `rs_bench_syn_src_<name>` (OMOP into schema `cdm`; loading is not timed); the demo
hospital is read from its SQLite file. Each source is then synthesized, in this process, with
`relsynth.synthesize(source, target, scale=F, seed=0)` into

- postgresql: a fresh empty database `rs_bench_syn_<name>` (COPY, one transaction);
- sqlite: a new file in a temporary directory (batched INSERTs, one transaction).

Printed per run, in wall-clock seconds: fit (reflect + read + fit), sample, write (the whole
`relsynth.writer.write`), and write's own stages from `summary.seconds`: schema (CREATE TABLE),
load (rows into the tables), constraints (foreign keys and indexes added after the load, sequences,
triggers, views), verify (relsynth's SQL verification in the target). Then the synthetic rows
written (all tables, reference tables included), rows/s of the whole run (rows / (fit + sample +
write)) and of the write alone, and the verification problems (orphans, duplicate keys, NULLs in
NOT NULL, failed CHECKs, wrong row counts). A run PASSes with 0 problems; a run that raises is an
ERROR (its first line is printed under the table) and FAILs. Exit code 1 if any run FAILs.
All rs_bench_syn_* databases are dropped at the end (unless --keep).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from common import DB_SCHEMAS, PG_DB, chosen_datasets, drop_database, fresh_database, load_dataset, per_second

from relsynth.api import synthesize

STAGES = ("schema", "load", "constraints", "verify")
TARGETS = ("postgresql", "sqlite")


@dataclass
class Run:
    dataset: str
    target: str
    seconds: dict[str, float] = field(default_factory=dict)  # fit, sample, write
    stages: dict[str, float] = field(default_factory=dict)  # of write
    rows: int = 0
    problems: int = 0
    details: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and self.problems == 0


def run_one(
    name: str, source: str, db_schema: str | None, target_kind: str, target: str, scale: float
) -> Run:
    run = Run(name, target_kind)
    try:
        result = synthesize(source, target, db_schema=db_schema, scale=scale, seed=0)
    except Exception as err:
        traceback.print_exc()
        lines = [ln.strip() for ln in f"{type(err).__name__}: {err}".splitlines() if ln.strip()]
        run.error = " | ".join(ln for ln in lines[:3] if not ln.startswith(("[SQL", "[parameters")))[:300]
        return run
    summary = result["write"]
    run.seconds = dict(result["seconds"])
    run.stages = {s: summary.seconds.get(s, 0.0) for s in STAGES}
    run.rows = sum(summary.rows.values())
    run.problems = summary.verification.problems
    run.details = summary.verification.lines()
    return run


def print_table(runs: list[Run], scale: float) -> None:
    head = (
        f"{'dataset':<17} {'target':<10} {'fit s':>6} {'sample s':>8} {'write s':>7} "
        + " ".join(f"{s:>{max(len(s), 6)}}" for s in STAGES)
        + f" {'rows':>9} {'rows/s':>8} {'write rows/s':>12} {'problems':>8}  result"
    )
    print(f"\nsynthesize at scale {scale:g} (seconds; write = schema + load + constraints + verify + commit)")
    print(head)
    print("-" * len(head))
    for r in runs:
        if r.error:
            print(f"{r.dataset:<17} {r.target:<10} ERROR (see below)".ljust(len(head) - 6) + "FAIL")
            continue
        total = sum(r.seconds.values())
        print(
            f"{r.dataset:<17} {r.target:<10} {r.seconds['fit']:>6.2f} {r.seconds['sample']:>8.2f} "
            f"{r.seconds['write']:>7.2f} "
            + " ".join(f"{r.stages[s]:>{max(len(s), 6)}.2f}" for s in STAGES)
            + f" {r.rows:>9,} {per_second(r.rows, total):>8} {per_second(r.rows, r.seconds['write']):>12}"
            f" {r.problems:>8}  {'PASS' if r.passed else 'FAIL'}"
        )
    errors = [r for r in runs if r.error]
    if errors:
        print("\nErrors")
        for r in errors:
            print(f"  {r.dataset} -> {r.target}: {r.error}")
    problems = [r for r in runs if r.details]
    if problems:
        print("\nVerification problems")
        for r in problems:
            for line in r.details:
                print(f"  {r.dataset} -> {r.target}: {line}")
    passed = sum(r.passed for r in runs)
    print(f"\n{passed}/{len(runs)} runs PASS (0 verification problems, no error)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", metavar="NAME", help="dataset name or 'demo' (repeatable)")
    parser.add_argument("--target", action="append", choices=TARGETS, help="postgresql and/or sqlite")
    parser.add_argument("--scale", type=float, default=1.0, help="sample scale (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the rs_bench_syn_* databases")
    args = parser.parse_args()
    names = chosen_datasets(parser, args.only)
    targets = args.target or list(TARGETS)
    runs: list[Run] = []
    made: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="rs_bench_syn_") as tmp:
            for name in names:
                if name == "demo":
                    from relsynth.demo import demo_path

                    source, db_schema = f"sqlite:///{demo_path()}", None
                else:
                    src_db = f"rs_bench_syn_src_{name}"
                    made.append(src_db)
                    print(f"[{name}] loading into {src_db}", file=sys.stderr, flush=True)
                    try:
                        load_dataset(name, src_db)
                    except subprocess.CalledProcessError as err:
                        for kind in targets:
                            runs.append(Run(name, kind, error=f"load failed: {err.stderr.strip()[-300:]}"))
                        continue
                    source, db_schema = PG_DB.format(db=src_db), DB_SCHEMAS.get(name)
                for kind in targets:
                    print(f"[{name}] synthesize -> {kind}", file=sys.stderr, flush=True)
                    if kind == "postgresql":
                        db = f"rs_bench_syn_{name}"
                        made.append(db)
                        target = fresh_database(db)
                    else:
                        target = f"sqlite:///{Path(tmp) / f'{name}.sqlite'}"
                    started = time.perf_counter()
                    runs.append(run_one(name, source, db_schema, kind, target, args.scale))
                    print(
                        f"[{name}] -> {kind}: {time.perf_counter() - started:.1f} s",
                        file=sys.stderr,
                        flush=True,
                    )
                if not args.keep:  # drop as we go: the databases are not needed after their run
                    for db in made:
                        drop_database(db)
                    made.clear()
    finally:
        if not args.keep:
            for db in made:
                drop_database(db)
    print_table(runs, args.scale)
    return 0 if all(r.passed for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
