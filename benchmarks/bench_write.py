"""Write throughput into PostgreSQL: relsynth.writer.write against a plain COPY of the same rows.

Run by hand from the repository root (PostgreSQL on 127.0.0.1:5432, user postgres, trust; psql and
pg_dump on the PATH):

    /work/venv/bin/python benchmarks/bench_write.py                        # TPC-H sf0.001 at 10x
    /work/venv/bin/python benchmarks/bench_write.py --dataset demo --scale 10 --repeat 3

The source (a dataset of ../shared/datasets loaded with its `load` script into
`rs_bench_write_src`, or the demo hospital's SQLite file) is fitted and sampled once at --scale;
then, --repeat times (the best run of each side is reported):

- relsynth: `relsynth.writer.write(tables, schema, url, plan=plan)` into a fresh empty database
  `rs_bench_write_rs`. The time is the wall-clock seconds of the call: it creates the tables, turns
  the DataFrames into COPY text and COPYs them (psycopg 3), adds foreign keys and indexes, advances
  sequences, verifies with SQL and commits. Its stages (`summary.seconds`) are printed as well.
- baseline: the schema of the relsynth target, dumped with `pg_dump --schema-only`, is restored into
  another fresh database `rs_bench_write_copy`, so every primary key, UNIQUE, CHECK, foreign key and
  index is there before the load, as a DBA loading into a prepared schema would have it. The rows
  are read back from the relsynth target as Python tuples (not timed), so both sides load exactly
  the same rows. Timed: one transaction of `cursor.copy("COPY t (cols) FROM STDIN")` +
  `copy.write_row(row)` per table, parents first, and the COMMIT.

Afterwards the md5 of every table's sorted rows is compared between the two databases (they must
be equal: "same rows" is checked, not assumed). Printed: rows, seconds, rows/s of both, and
ratio = relsynth seconds / baseline seconds. The target is ratio <= 2 (PASS/FAIL; exit code 1 on
FAIL). All rs_bench_write_* databases are dropped at the end (unless --keep).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field

import pandas as pd
import psycopg
from common import DB_SCHEMAS, PG_DB, PG_ENV, drop_database, fresh_database, load_dataset, per_second
from psycopg import sql

from relsynth.api import fit, sample
from relsynth.writer import write

LIBPQ = "host=127.0.0.1 port=5432 user=postgres dbname={db}"
SRC, RS, BASE = "rs_bench_write_src", "rs_bench_write_rs", "rs_bench_write_copy"
TARGET_RATIO = 2.0


@dataclass
class Side:
    seconds: float = float("inf")
    stages: dict[str, float] = field(default_factory=dict)
    rows: int = 0


def time_relsynth(tables: dict[str, pd.DataFrame], model, url: str) -> Side:
    started = time.perf_counter()
    summary = write(tables, model.schema, url, plan=model.plan)
    seconds = time.perf_counter() - started
    if summary.verification.problems:
        raise SystemExit(f"relsynth's write has verification problems: {summary.verification.lines()}")
    return Side(seconds, dict(summary.seconds), sum(summary.rows.values()))


def read_rows(db: str, order: list[str]) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every table's columns (without generated ones) and rows, from the relsynth target."""
    out = {}
    with psycopg.connect(LIBPQ.format(db=db)) as conn:
        for name in order:
            cols = [
                r[0]
                for r in conn.execute(
                    "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                    "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
                    (sql.Identifier(name).as_string(conn),),
                )
            ]
            query = sql.SQL("SELECT {} FROM {}").format(
                sql.SQL(", ").join(map(sql.Identifier, cols)), sql.Identifier(name)
            )
            out[name] = (cols, conn.execute(query).fetchall())
    return out


def copy_schema(src_db: str, dst_db: str) -> None:
    dump = subprocess.run(
        ["pg_dump", "--schema-only", "--no-owner", "--no-privileges", src_db],
        check=True,
        capture_output=True,
        env=PG_ENV,
    ).stdout
    subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dst_db],
        input=dump,
        check=True,
        capture_output=True,
        env=PG_ENV,
    )


def time_copy(db: str, data: dict[str, tuple[list[str], list[tuple]]]) -> Side:
    """The baseline: the simplest COPY FROM STDIN + write_row loop, one transaction."""
    with psycopg.connect(LIBPQ.format(db=db)) as conn:
        started = time.perf_counter()
        with conn.cursor() as cur:
            for name, (cols, rows) in data.items():
                statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(name), sql.SQL(", ").join(map(sql.Identifier, cols))
                )
                with cur.copy(statement) as copy:
                    for row in rows:
                        copy.write_row(row)
        conn.commit()
        seconds = time.perf_counter() - started
    return Side(seconds, {}, sum(len(rows) for _, rows in data.values()))


def checksums(db: str, names: list[str]) -> dict[str, tuple[int, str]]:
    out = {}
    with psycopg.connect(LIBPQ.format(db=db)) as conn:
        for name in names:
            query = sql.SQL(
                "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM {} t"
            ).format(sql.Identifier(name))
            out[name] = tuple(conn.execute(query).fetchone())
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="tpch_sf0001", help="a dataset of ../shared/datasets, or 'demo'")
    parser.add_argument("--scale", type=float, default=10.0, help="sample scale (default 10)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side; the best is kept")
    parser.add_argument("--keep", action="store_true", help="keep the rs_bench_write_* databases")
    args = parser.parse_args()
    try:
        if args.dataset == "demo":
            from relsynth.demo import demo_path

            source, db_schema = f"sqlite:///{demo_path()}", None
        else:
            print(f"loading {args.dataset} into {SRC}", file=sys.stderr, flush=True)
            load_dataset(args.dataset, SRC)
            source, db_schema = PG_DB.format(db=SRC), DB_SCHEMAS.get(args.dataset)
        print(f"fitting and sampling at scale {args.scale:g}", file=sys.stderr, flush=True)
        model = fit(source, db_schema=db_schema, seed=0)
        tables = sample(model, scale=args.scale, seed=0)
        order = [n for n in model.plan.order if n in {t.name for t in model.schema.active_tables}]
        best_rs, best_copy = Side(), Side()
        error = None
        for i in range(args.repeat):
            print(f"run {i + 1}/{args.repeat}: relsynth write", file=sys.stderr, flush=True)
            try:
                rs = time_relsynth(tables, model, fresh_database(RS))
            except Exception as err:  # a relsynth failure is the benchmark's result: FAIL
                traceback.print_exc()
                error = f"{type(err).__name__}: {err}".strip().splitlines()[0]
                break
            best_rs = min(best_rs, rs, key=lambda s: s.seconds)
            copy_target = fresh_database(BASE)
            copy_schema(RS, BASE)
            data = read_rows(RS, order)
            print(f"run {i + 1}/{args.repeat}: baseline COPY", file=sys.stderr, flush=True)
            base = time_copy(BASE, data)
            best_copy = min(best_copy, base, key=lambda s: s.seconds)
            same = checksums(RS, order) == checksums(BASE, order)
            if not same:
                raise SystemExit(f"the baseline database {copy_target} does not hold the same rows")
    finally:
        if not args.keep:
            for db in (SRC, RS, BASE):
                drop_database(db)

    print(
        f"\nWrite into PostgreSQL: {args.dataset} at scale {args.scale:g}, {len(order)} tables, "
        f"best of {args.repeat}"
    )
    if error:
        print(f"relsynth.writer.write failed: {error}\nFAIL")
        return 1
    ratio = best_rs.seconds / best_copy.seconds
    head = f"{'writer':<34} {'rows':>9} {'seconds':>8} {'rows/s':>10}"
    print(head)
    print("-" * len(head))
    print(
        f"{'relsynth.writer.write (total)':<34} {best_rs.rows:>9,} {best_rs.seconds:>8.3f} "
        f"{per_second(best_rs.rows, best_rs.seconds):>10}"
    )
    for stage in ("schema", "load", "constraints", "verify"):
        if stage in best_rs.stages:
            s = best_rs.stages[stage]
            speed = per_second(best_rs.rows, s) if stage == "load" else ""
            print(f"{'  ' + stage:<34} {'':>9} {s:>8.3f} {speed:>10}")
    print(
        f"{'COPY + write_row (baseline)':<34} {best_copy.rows:>9,} {best_copy.seconds:>8.3f} "
        f"{per_second(best_copy.rows, best_copy.seconds):>10}"
    )
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(f"\nratio relsynth / baseline = {ratio:.2f} (target <= {TARGET_RATIO:g}): {verdict}")
    print("same rows in both databases (md5 of every table): yes")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
