"""Fit and sample every real dataset and the demo, then synthesize each into PostgreSQL, MariaDB and
SQLite and evaluate it; time them and check the output's integrity.

Run by hand from the repository root (PostgreSQL on 127.0.0.1:5432, user postgres, trust; MariaDB
on 127.0.0.1:3306, user root, no password, or $RELSYNTH_TEST_MYSQL):

    /work/venv/bin/python benchmarks/bench_datasets.py            # every dataset + the demo
    /work/venv/bin/python benchmarks/bench_datasets.py --only chinook --only demo
    /work/venv/bin/python benchmarks/bench_datasets.py --only northwind --targets mysql,sqlite
    /work/venv/bin/python benchmarks/bench_datasets.py --targets none          # fit and sample only

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
under the table.

Then, per dataset and target dialect (--targets, default postgresql,mysql,sqlite), into a fresh
empty target (PostgreSQL `rs_bench_ds_tgt_<name>`, MariaDB `rs_bench_ds_tgt_<name>`, a SQLite file
in a temporary directory; dropped right after):

- synth s: `relsynth.synthesize(source, target, seed=0)` (reflect, fit, sample, write, verify);
- eval s: `relsynth.evaluate(source, target)` on what was written;
- rows: rows written; quality: the evaluation's overall score;
- problems: relsynth's own verification problems plus the evaluation's integrity problems;
- ok: no error and 0 problems (an error's first line is printed under the table).

Exit code 1 if any dataset FAILs or any synthesize run is not ok.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from common import DB_SCHEMAS, PG_DB, chosen_datasets, drop_database, fresh_database, load_dataset, per_second

from relsynth.api import evaluate, fit, sample, synthesize
from relsynth.evaluation.integrity import check_integrity

SCALES = (1.0, 0.1, 10.0)
TARGETS = ("postgresql", "mysql", "sqlite")
TARGET_NAMES = {"postgresql": "PostgreSQL", "mysql": "MariaDB", "sqlite": "SQLite"}
MYSQL_ADMIN = os.environ.get("RELSYNTH_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/")


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


@dataclass
class Synth:
    """One dataset synthesized into one target dialect, then evaluated."""

    dataset: str
    target: str
    seconds: float = 0.0
    eval_seconds: float = 0.0
    rows: int = 0
    quality: float | None = None
    problems: int = 0
    details: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.problems == 0


def _mysql_admin(statement: str, db: str) -> None:
    engine = sa.create_engine(MYSQL_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(statement.format(name=engine.dialect.identifier_preparer.quote(db)))
    finally:
        engine.dispose()


@contextmanager
def target_database(kind: str, name: str, workdir: Path) -> Iterator[str]:
    """A fresh empty target of ``kind``, dropped (or deleted) afterwards."""
    db = f"rs_bench_ds_tgt_{name}"
    if kind == "sqlite":
        path = workdir / f"{db}.sqlite"
        try:
            yield f"sqlite:///{path}"
        finally:
            path.unlink(missing_ok=True)
    elif kind == "postgresql":
        try:
            yield fresh_database(db)
        finally:
            drop_database(db)
    else:
        _mysql_admin("DROP DATABASE IF EXISTS {name}", db)
        _mysql_admin("CREATE DATABASE {name} CHARACTER SET utf8mb4", db)
        try:
            yield sa.make_url(MYSQL_ADMIN).set(database=db).render_as_string(hide_password=False)
        finally:
            _mysql_admin("DROP DATABASE IF EXISTS {name}", db)


def synthesize_into(name: str, url: str, db_schema: str | None, kind: str, workdir: Path) -> Synth:
    run = Synth(name, kind)
    try:
        with target_database(kind, name, workdir) as target:
            started = time.perf_counter()
            result = synthesize(url, target, db_schema=db_schema, seed=0)
            run.seconds = time.perf_counter() - started
            summary = result["write"]
            run.rows = sum(summary.rows.values())
            run.problems = summary.verification.problems
            run.details = summary.verification.lines()
            started = time.perf_counter()
            report = evaluate(url, target, db_schema=db_schema, seed=0)
            run.eval_seconds = time.perf_counter() - started
            run.problems += report["integrity"]["problems"]
            run.details += report["integrity"]["lines"]
            run.quality = report["scores"]["overall"]
    except Exception as err:
        run.error = f"{type(err).__name__}: {err}".splitlines()[0]
        traceback.print_exc()
    return run


def print_synth(runs: list[Synth]) -> None:
    head = (
        f"{'dataset':<18} {'target':<10} {'rows':>9} {'synth s':>8} {'eval s':>7} {'quality':>7} "
        f"{'problems':>8}  {'result':<6}"
    )
    print("\nSynthesize + evaluate (seed 0, scale 1)")
    print(head)
    print("-" * len(head))
    for r in runs:
        quality = f"{r.quality:.3f}" if r.quality is not None else "-"
        verdict = "ok" if r.ok else ("ERROR" if r.error else "FAIL")
        print(
            f"{r.dataset:<18} {TARGET_NAMES[r.target]:<10} {r.rows:>9,} {r.seconds:>8.1f} "
            f"{r.eval_seconds:>7.1f} {quality:>7} {r.problems:>8}  {verdict:<6}"
        )
    for r in runs:
        for line in ([r.error] if r.error else []) + r.details:
            print(f"  {r.dataset} -> {TARGET_NAMES[r.target]}: {line}")
    ok = sum(r.ok for r in runs)
    print(f"\n{ok}/{len(runs)} synthesize runs ok (no error, 0 problems)")


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
    parser.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help="target dialects to synthesize into, comma-separated (postgresql,mysql,sqlite), or 'none'",
    )
    args = parser.parse_args()
    names = chosen_datasets(parser, args.only)
    targets = [t for t in args.targets.split(",") if t and t != "none"]
    if set(targets) - set(TARGETS):
        parser.error(f"unknown target(s) {sorted(set(targets) - set(TARGETS))}; choose from {list(TARGETS)}")
    results: list[Result] = []
    synths: list[Synth] = []
    with tempfile.TemporaryDirectory(prefix="rs_bench_ds_") as tmp:
        for name in names:
            if name == "demo":
                from relsynth.demo import demo_path

                print(f"[{name}] fitting the demo hospital (SQLite)", file=sys.stderr, flush=True)
                url = f"sqlite:///{demo_path()}"
                results.append(bench(name, url, None, Path(tmp)))
                synths += [synthesize_into(name, url, None, t, Path(tmp)) for t in targets]
                continue
            db = f"rs_bench_ds_{name}"
            print(f"[{name}] loading into {db}", file=sys.stderr, flush=True)
            try:
                seconds = load_dataset(name, db)
                print(f"[{name}] loaded in {seconds:.1f} s; fitting", file=sys.stderr, flush=True)
                url, db_schema = PG_DB.format(db=db), DB_SCHEMAS.get(name)
                results.append(bench(name, url, db_schema, Path(tmp)))
                for t in targets:
                    print(f"[{name}] synthesizing into {TARGET_NAMES[t]}", file=sys.stderr, flush=True)
                    synths.append(synthesize_into(name, url, db_schema, t, Path(tmp)))
            except subprocess.CalledProcessError as err:
                results.append(Result(name, error=f"load failed: {err.stderr.strip()[-300:]}"))
            finally:
                if not args.keep:
                    drop_database(db)
            print(f"[{name}] done", file=sys.stderr, flush=True)
    print_tables(results)
    if synths:
        print_synth(synths)
    return 0 if all(r.passed for r in results) and all(r.ok for r in synths) else 1


if __name__ == "__main__":
    sys.exit(main())
