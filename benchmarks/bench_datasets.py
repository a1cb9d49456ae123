"""Fit and sample every real dataset and the demo; time them and check the output's integrity.

Run by hand from the repository root (PostgreSQL on 127.0.0.1:5432, user postgres, trust):

    /work/venv/bin/python benchmarks/bench_datasets.py            # every dataset + the demo
    /work/venv/bin/python benchmarks/bench_datasets.py --only chinook --only demo

Each dataset of ../shared/datasets (or $RELSYNTH_DATASETS) is loaded with its `load` script into
a fresh database `rs_bench_ds_<name>` (dropped at the end; loading is not timed); the demo
hospital is read from its SQLite file. Then, in this process:

- fit s: `relsynth.fit(url)`, i.e. reflect + read + fit, wall-clock seconds;
  fit rows/s = source rows (rows read from the database) / fit s;
- model MB: size of the saved model file (`model.save`);
- sample s: `relsynth.sample(model, scale=F)` for F in 1, 0.1 and 10; sample rows/s = synthetic
  rows (all tables, reference tables included) / sample s;
- orphans / dup keys / NOT NULL / CHECK: rows breaking FKs, PRIMARY KEY or UNIQUE, NOT NULL and the
  CHECK constraints relsynth can interpret (`relsynth.evaluation.integrity.check_integrity`).

The target is 0 integrity problems at every scale: a dataset PASSes only if all of its samples
have none (an error in fit or sample is a FAIL too). The details of every problem are printed
under the table. Exit code 1 if any dataset FAILs.
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

from common import DB_SCHEMAS, PG_DB, chosen_datasets, drop_database, load_dataset, per_second

from relsynth.api import fit, sample
from relsynth.evaluation.integrity import check_integrity

SCALES = (1.0, 0.1, 10.0)


@dataclass
class Run:
    scale: float
    rows: int = 0
    seconds: float = 0.0
    orphans: int = 0
    dup_keys: int = 0
    not_null: int = 0
    checks: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def problems(self) -> int:
        return self.orphans + self.dup_keys + self.not_null + self.checks


@dataclass
class Result:
    name: str
    tables: int = 0
    source_rows: int = 0
    fit_seconds: float = 0.0
    model_bytes: int = 0
    runs: list[Run] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> bool:
        complete = self.error is None and len(self.runs) == len(SCALES)
        return complete and all(r.problems == 0 for r in self.runs)


def bench(name: str, url: str, db_schema: str | None, workdir: Path) -> Result:
    result = Result(name)
    try:
        started = time.perf_counter()
        model = fit(url, db_schema=db_schema, seed=0)
        result.fit_seconds = time.perf_counter() - started
        result.tables = len(model.schema.active_tables)
        result.source_rows = sum(model.source.get("rows_read", {}).values())
        path = workdir / f"{name}.rsm"
        model.save(str(path))
        result.model_bytes = path.stat().st_size
        for scale in SCALES:
            run = Run(scale)
            started = time.perf_counter()
            tables = sample(model, scale=scale, seed=1)
            run.seconds = time.perf_counter() - started
            run.rows = sum(len(f) for f in tables.values())
            integrity = check_integrity(model.schema, tables)
            run.orphans = sum(integrity.orphans.values())
            run.dup_keys = sum(integrity.duplicate_keys.values())
            run.not_null = sum(integrity.not_null.values())
            run.checks = sum(integrity.checks.values())
            run.details = integrity.lines()
            result.runs.append(run)
    except Exception as err:
        result.error = f"{type(err).__name__}: {err}".splitlines()[0]
        traceback.print_exc()
    return result


def print_tables(results: list[Result]) -> None:
    head = (
        f"{'dataset':<18} {'tables':>6} {'source rows':>11} {'fit s':>7} {'fit rows/s':>10} "
        f"{'model MB':>8}  {'result':<6}"
    )
    print("\nFit (reflect + read + fit)")
    print(head)
    print("-" * len(head))
    for r in results:
        verdict = "PASS" if r.passed else "FAIL"
        print(
            f"{r.name:<18} {r.tables:>6} {r.source_rows:>11,} {r.fit_seconds:>7.2f} "
            f"{per_second(r.source_rows, r.fit_seconds):>10} {r.model_bytes / 1e6:>8.2f}  {verdict:<6}"
        )
    head = (
        f"{'dataset':<18} {'scale':>5} {'synthetic rows':>14} {'sample s':>8} {'rows/s':>9} "
        f"{'orphans':>7} {'dup keys':>8} {'NOT NULL':>8} {'CHECK':>5}  {'result':<6}"
    )
    print("\nSample + integrity")
    print(head)
    print("-" * len(head))
    for r in results:
        if r.error and not r.runs:
            print(f"{r.name:<18} ERROR {r.error}")
            continue
        for run in r.runs:
            verdict = "PASS" if run.problems == 0 else "FAIL"
            print(
                f"{r.name:<18} {run.scale:>5g} {run.rows:>14,} {run.seconds:>8.2f} "
                f"{per_second(run.rows, run.seconds):>9} {run.orphans:>7} {run.dup_keys:>8} "
                f"{run.not_null:>8} {run.checks:>5}  {verdict:<6}"
            )
        if r.error:
            print(f"{r.name:<18} ERROR {r.error}")
    problems = [(r.name, run) for r in results for run in r.runs if run.details]
    if problems:
        print("\nIntegrity problems")
        for name, run in problems:
            for line in run.details:
                print(f"  {name} scale {run.scale:g}: {line}")
    passed = sum(r.passed for r in results)
    scales = ", ".join(f"{s:g}" for s in SCALES)
    print(f"\n{passed}/{len(results)} datasets PASS (0 integrity problems at scales {scales})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", metavar="NAME", help="dataset name or 'demo' (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the rs_bench_ds_* databases")
    args = parser.parse_args()
    names = chosen_datasets(parser, args.only)
    results = []
    with tempfile.TemporaryDirectory(prefix="rs_bench_ds_") as tmp:
        for name in names:
            if name == "demo":
                from relsynth.demo import demo_path

                print(f"[{name}] fitting the demo hospital (SQLite)", file=sys.stderr, flush=True)
                results.append(bench(name, f"sqlite:///{demo_path()}", None, Path(tmp)))
                continue
            db = f"rs_bench_ds_{name}"
            print(f"[{name}] loading into {db}", file=sys.stderr, flush=True)
            try:
                seconds = load_dataset(name, db)
                print(f"[{name}] loaded in {seconds:.1f} s; fitting", file=sys.stderr, flush=True)
                results.append(bench(name, PG_DB.format(db=db), DB_SCHEMAS.get(name), Path(tmp)))
            except subprocess.CalledProcessError as err:
                results.append(Result(name, error=f"load failed: {err.stderr.strip()[-300:]}"))
            finally:
                if not args.keep:
                    drop_database(db)
            print(f"[{name}] done", file=sys.stderr, flush=True)
    print_tables(results)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
