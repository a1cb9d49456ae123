"""relsynth synthesize against the physical limit: a plain `pg_dump | psql` copy of TPC-H (issue 12).

Run by hand from the repository root (PostgreSQL on 127.0.0.1:5432, user postgres, trust; psql and
pg_dump on the PATH; tpchgen-cli in the venv, `pip install tpchgen-cli`):

    .venv/bin/python benchmarks/bench_copy.py                     # TPC-H SF 0.01 and 0.1 (~7 min)
    .venv/bin/python benchmarks/bench_copy.py --sf 1              # 8.7M rows, ~30 min
    .venv/bin/python benchmarks/bench_copy.py --sf 0.01 --cli     # the command line, no stage seconds
    .venv/bin/python benchmarks/bench_copy.py --sf 1 --workers 2  # batches sampled in 2 processes
    .venv/bin/python benchmarks/bench_copy.py --sf 1 --workers 1,2,dask2  # side by side, same output?

Data: for each scale factor of --sf, `tpchgen-cli -s SF --output-dir DIR` (the venv's, next to
sys.executable) writes the eight .tbl files, cached in /tmp/relsynth_tpch/sf<SF> and reused when
present. The schema is ../shared/datasets/tpch_sf0001/tpch_schema_postgres.sql with the spec's full
keys: after the load (each file with its trailing `|` stripped by sed, into psql's
`\\copy t from pstdin with (format text, delimiter '|')`) partsupp gets `PRIMARY KEY (ps_partkey,
ps_suppkey)` and lineitem `FOREIGN KEY (l_partkey, l_suppkey) REFERENCES partsupp` (the script
stops with a message if partsupp has duplicate pairs, as it does at SF 0.001). The source database
is `rs_bench_copy_src_<sf>` ('.' as '_'); loading it is not timed.

Measured per SF, each into a fresh empty database:

- copy s: wall-clock seconds of `pg_dump SRC | psql COPY` (two processes joined by a pipe, into
  `rs_bench_copy_dump_<sf>`): a DBA's plain copy, COPY of every row, then indexes and foreign keys.
  The copy's row count is checked against the source.
- relsynth: by default a child Python process runs `relsynth.api.synthesize(SRC, TGT, seed=0)` into
  `rs_bench_copy_rs_<sf>` and prints its stage seconds as JSON. That is what `relsynth synthesize
  SRC TGT --seed 0 --quiet --no-report` runs (the CLI adds only messages and the evaluation
  report, which is skipped). With --cli the command itself runs instead, and only its total is known.
  fit s (reflect + read + fit), sample s, write s (CREATE, COPY, keys, SQL verification, COMMIT) are
  the child's own timings; total s is the wall-clock seconds of the whole process, Python start-up
  and imports included. peak MB is the child's peak resident memory (`ru_maxrss` from `os.wait4`,
  MiB), taken by a minimal launcher process because a child forked straight from this process
  would start from this process's peak. cpu s is the child's user + system CPU seconds (cpu s close
  to total s: one core).

Printed per SF: source rows, rows relsynth wrote, copy s, fit / sample / write / total s, ratio =
relsynth total / copy, fit+sample rows/s = source rows / (fit + sample seconds) (relsynth runs on one
core, so this is per core), peak MB, cpu s. With more than one SF, the exponent b of a least-squares
fit of log(total seconds) on log(source rows), for relsynth and for the copy (linear growth: b = 1;
Python's start-up, a second or two, pulls b below 1 at small sizes). Each is marked PASS or FAIL
against the issue's targets: ratio <= 3, fit+sample >= 200,000 rows/s per core, b <= 1.05, peak
RSS <= 2 GiB. `--workers daskN` runs synthesize(cluster=client) on a dask.distributed.LocalCluster of N
one-thread worker processes started in the child (their CPU and memory are not in the child's cpu s
and peak MB). With several --workers counts (`--workers 1,2`), relsynth runs once per count into the
same fresh target, one after the other: each run's line says its count, each SF gets the speedup of
its runs against the first count's (target >= 1.7x for 1 -> 2 processes) and whether every run wrote
the same database (a digest per table: the sum of a 64-bit hash of each row's text and the row
count, so the order rows were written in does not matter). The benchmark reports and does not gate:
exit code 0 whatever the verdicts, 1 only if something errored (a load, the copy, or relsynth). All
rs_bench_copy_* databases are dropped at the end (unless --keep); the copy as soon as its rows are
counted, so SF 10 needs disk for two databases, not three. Timings move by tens of percent when
other work shares the machine.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from common import DATASETS, PG_ENV, drop_database, fresh_database

BIN = Path(sys.executable).parent
TPCHGEN, RELSYNTH = BIN / "tpchgen-cli", BIN / "relsynth"
CACHE = Path("/tmp/relsynth_tpch")
SCHEMA_SQL = DATASETS / "tpch_sf0001" / "tpch_schema_postgres.sql"
# parents first
TABLES = ("region", "nation", "part", "supplier", "partsupp", "customer", "orders", "lineitem")
URL = "postgresql://postgres@127.0.0.1:5432/{db}"
PREFIX = "rs_bench_copy_"
MAX_RATIO, MIN_ROWS_PER_S, MAX_B, MAX_MB, MIN_SPEEDUP = 3.0, 200_000, 1.05, 2048, 1.7

# A fork (or vfork) child starts with its parent's peak RSS as its own ru_maxrss and exec keeps it,
# so a minimal launcher spawns the measured process and reports its exit code, peak and CPU time.
LAUNCHER = (
    "import os, sys; pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ); "
    "_, status, u = os.wait4(pid, 0); open(sys.argv[1], 'w').write("
    "f'{os.waitstatus_to_exitcode(status)} {u.ru_maxrss} {u.ru_utime + u.ru_stime}')"
)
RUNNER = (
    "import json, sys\n"
    "from relsynth.api import synthesize\n"
    "how, client = sys.argv[3], None\n"
    "if how.startswith('dask'):\n"
    "    from dask.distributed import Client, LocalCluster\n"
    "    cluster = LocalCluster(n_workers=int(how[4:]), threads_per_worker=1, dashboard_address=':0')\n"
    "    client = Client(cluster)\n"
    "    result = synthesize(sys.argv[1], sys.argv[2], seed=0, cluster=client)\n"
    "else:\n"
    "    result = synthesize(sys.argv[1], sys.argv[2], seed=0, workers=int(how))\n"
    "summary = result['write']\n"
    "print(json.dumps({'seconds': result['seconds'], 'problems': summary.verification.problems,"
    " 'details': summary.verification.lines()}))\n"
)


@dataclass
class Run:
    sf: str
    rows: int = 0
    copy: float = math.nan
    stages: dict[str, float] = field(default_factory=dict)  # fit, sample, write
    total: float = math.nan
    peak_mb: float = math.nan
    cpu: float = math.nan
    written: int = 0
    workers: str = "1"  # a process count, or daskN: a LocalCluster of N one-thread workers
    digest: str = ""
    problems: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ratio(self) -> float:
        return self.total / self.copy

    @property
    def fit_sample_rate(self) -> float:
        if "fit" not in self.stages:
            return math.nan
        return self.rows / (self.stages["fit"] + self.stages["sample"])


def psql(db: str, *args: str, stdin: bytes | int | None = None) -> str:
    """psql -X -q -At on db, stopping at the first error; its stdout."""
    cmd = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, *args]
    if isinstance(stdin, bytes):
        out = subprocess.run(cmd, input=stdin, check=True, capture_output=True, env=PG_ENV)
    else:
        out = subprocess.run(cmd, stdin=stdin, check=True, capture_output=True, env=PG_ENV)
    return out.stdout.decode()


def digest(db: str) -> str:
    """Per table, the sum of a 64-bit hash of every row's text and the row count: the same
    database whatever order its rows were loaded in."""
    parts = [
        f"(SELECT '{t}:' || count(*) || ':' || coalesce(sum(hashtextextended(x::text, 0)::numeric), 0)"
        f" FROM {t} x)"
        for t in TABLES
    ]
    return psql(db, "-c", "SELECT " + " || ' ' || ".join(parts)).strip()


def row_count(db: str) -> int:
    query = " + ".join(f"(SELECT count(*) FROM {t})" for t in TABLES)
    return int(psql(db, "-c", f"SELECT {query}"))


def generate(sf: str) -> Path:
    """The .tbl files of scale factor sf, generated once into the cache (a partial run is not reused)."""
    out = CACHE / f"sf{sf}"
    if all((out / f"{t}.tbl").exists() for t in TABLES):
        return out
    if not TPCHGEN.exists():
        raise SystemExit(f"tpchgen-cli not found next to {sys.executable}: pip install tpchgen-cli")
    print(f"generating TPC-H SF {sf} into {out}", file=sys.stderr, flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".sf{sf}.", dir=CACHE))
    try:
        subprocess.run([str(TPCHGEN), "-s", sf, "--output-dir", str(tmp)], check=True, capture_output=True)
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def load(files: Path, db: str, sf: str) -> int:
    """The spec's schema and the .tbl files into a fresh database ``db``; its row count."""
    fresh_database(db)
    psql(db, stdin=SCHEMA_SQL.read_bytes())
    for table in TABLES:
        with open(files / f"{table}.tbl", "rb") as tbl:
            sed = subprocess.Popen(["sed", "s/|$//"], stdin=tbl, stdout=subprocess.PIPE)
            assert sed.stdout is not None
            try:
                copy = f"\\copy {table} from pstdin with (format text, delimiter '|')"
                psql(db, "-c", copy, stdin=sed.stdout)
            finally:
                sed.stdout.close()
                sed.wait()
    pairs = "SELECT 1 FROM partsupp GROUP BY ps_partkey, ps_suppkey HAVING count(*) > 1"
    dupes = int(psql(db, "-c", f"SELECT count(*) FROM ({pairs}) d"))
    if dupes:
        raise SystemExit(
            f"SF {sf}: partsupp has {dupes} duplicate (ps_partkey, ps_suppkey) pairs, so the spec's "
            "PRIMARY KEY and lineitem's composite FOREIGN KEY cannot be declared; use SF >= 0.01"
        )
    psql(
        db,
        "-c",
        "ALTER TABLE partsupp ADD PRIMARY KEY (ps_partkey, ps_suppkey); "
        "ALTER TABLE lineitem ADD FOREIGN KEY (l_partkey, l_suppkey) REFERENCES partsupp; ANALYZE",
    )
    return row_count(db)


def copy_baseline(src: str, dst: str) -> float:
    """Wall-clock seconds of `pg_dump src | psql dst` into a fresh database."""
    fresh_database(dst)
    with tempfile.TemporaryFile() as dump_err:
        started = time.perf_counter()
        dump = subprocess.Popen(["pg_dump", src], stdout=subprocess.PIPE, stderr=dump_err, env=PG_ENV)
        assert dump.stdout is not None
        restore = subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dst],
            stdin=dump.stdout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=PG_ENV,
        )
        dump.stdout.close()
        dump.wait()
        seconds = time.perf_counter() - started
        if dump.returncode or restore.returncode:
            dump_err.seek(0)
            tail = (dump_err.read() + restore.stderr).decode(errors="replace").strip()[-500:]
            raise RuntimeError(f"pg_dump | psql failed ({dump.returncode}, {restore.returncode}): {tail}")
    return seconds


def run_relsynth(run: Run, src: str, tgt: str, cli: bool, workers: str = "1") -> None:
    """relsynth into the fresh database tgt as its own process: stages, wall seconds, peak RSS, CPU."""
    fresh_database(tgt)
    source, target = URL.format(db=src), URL.format(db=tgt)
    if cli:
        cmd = [str(RELSYNTH), "synthesize", source, target, "--seed", "0", "--quiet", "--no-report"]
        cmd += ["--workers", workers]
    else:
        cmd = [sys.executable, "-c", RUNNER, source, target, str(workers)]
    with tempfile.TemporaryDirectory(prefix=PREFIX) as tmp, open(f"{tmp}/out", "w+b") as out:
        with open(f"{tmp}/err", "w+b") as err:
            started = time.perf_counter()
            launch = [sys.executable, "-I", "-c", LAUNCHER, f"{tmp}/usage", *cmd]
            subprocess.run(launch, stdout=out, stderr=err, check=True)
            run.total = time.perf_counter() - started
            err.seek(0)
            run.stderr = [ln for ln in err.read().decode(errors="replace").splitlines() if ln.strip()]
        code, maxrss_kib, cpu = Path(f"{tmp}/usage").read_text().split()
        run.peak_mb, run.cpu = int(maxrss_kib) / 1024, float(cpu)
        if int(code) != 0:
            run.error = f"exited {code}: " + " | ".join(run.stderr[-3:])[-500:]
            return
        if not cli:
            out.seek(0)
            result = json.loads(out.read().decode().strip().splitlines()[-1])
            run.stages = result["seconds"]
            run.problems = result["details"] if result["problems"] else []
    run.written = row_count(tgt)
    run.workers = workers
    run.digest = digest(tgt)


def exponent(xs: list[float], ys: list[float]) -> float:
    """The slope b of a least-squares fit of log(y) on log(x)."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum((a - mx) ** 2 for a in lx)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(runs: list[Run], cli: bool, workers: tuple[str, ...] = ("1",)) -> None:
    if not runs:
        return
    counts = ",".join(map(str, workers))
    mode = f"relsynth.api.synthesize(seed=0, workers={counts})"
    if cli:
        mode = f"`relsynth synthesize ... --seed 0 --quiet --no-report --workers {counts}`"
    print(f"\nTPC-H into PostgreSQL: {mode} against `pg_dump | psql`")
    head = (
        f"{'SF':>6} {'workers':>7} {'rows':>10} {'rows out':>10} {'copy s':>7} {'fit s':>7} "
        f"{'sample s':>8} {'write s':>7} "
        f"{'total s':>7} {'ratio':>6} {'fit+sample rows/s':>17} {'peak MB':>7} {'cpu s':>7}"
    )
    print(head)
    print("-" * len(head))

    def cell(value: float, width: int, fmt: str) -> str:
        return f"{'-':>{width}}" if math.isnan(value) else f"{value:>{width}{fmt}}"

    for r in runs:
        if r.error:
            failed = f"relsynth FAILED: {r.error}"
            print(f"{r.sf:>6} {r.workers:>7} {r.rows:>10,} {'':>10} {cell(r.copy, 7, '.1f')}  {failed}")
            continue
        fit, sample, write = (r.stages.get(s, math.nan) for s in ("fit", "sample", "write"))
        print(
            f"{r.sf:>6} {r.workers:>7} {r.rows:>10,} {r.written:>10,} {r.copy:>7.1f} {cell(fit, 7, '.1f')} "
            f"{cell(sample, 8, '.1f')} {cell(write, 7, '.1f')} {r.total:>7.1f} {r.ratio:>6.1f} "
            f"{cell(r.fit_sample_rate, 17, ',.0f')} {r.peak_mb:>7.0f} {r.cpu:>7.1f}"
        )
    done = [r for r in runs if not r.error]
    print("\nTargets (issue 12):")
    for r in done:
        ratio = f"ratio {r.ratio:.1f} (<= {MAX_RATIO:g}) {verdict(r.ratio <= MAX_RATIO)}"
        line = f"  SF {r.sf}, {r.workers} worker(s): {ratio}"
        if not math.isnan(r.fit_sample_rate):
            rate = r.fit_sample_rate
            ok = verdict(rate >= MIN_ROWS_PER_S)
            line += f"; fit+sample {rate:,.0f} rows/s (>= {MIN_ROWS_PER_S:,}) {ok}"
        line += f"; peak {r.peak_mb:.0f} MB (<= {MAX_MB}) {verdict(r.peak_mb <= MAX_MB)}"
        print(line)
    for sf in dict.fromkeys(r.sf for r in done):
        same = [r for r in done if r.sf == sf]
        if len(same) < 2:
            continue
        first = same[0]
        for r in same[1:]:
            speedup = first.total / r.total
            ok = (
                verdict(speedup >= MIN_SPEEDUP) if (first.workers, r.workers) == ("1", "2") else "(no target)"
            )
            equal = "the same database" if r.digest == first.digest else "a DIFFERENT database"
            print(
                f"  SF {sf}: {first.workers} -> {r.workers} workers: {speedup:.2f}x "
                f"(>= {MIN_SPEEDUP} for 1 -> 2) {ok}; {equal} as with {first.workers}"
            )
    done = [r for r in done if r.workers == done[0].workers]  # one run per SF for the exponent
    if len(done) > 1:
        rows = [r.rows for r in done]
        b = exponent(rows, [r.total for r in done])
        b_copy = exponent(rows, [r.copy for r in done])
        ok = verdict(b <= MAX_B)
        print(f"  time ~ rows^b: relsynth b = {b:.2f} (<= {MAX_B}) {ok}; copy b = {b_copy:.2f}")
    for r in runs:
        if r.problems:
            print(f"  SF {r.sf}: relsynth's verification problems: {'; '.join(r.problems)[:500]}")
        if r.stderr:
            seen = list(dict.fromkeys(ln.strip()[:200] for ln in r.stderr))
            print(f"  SF {r.sf}: relsynth's stderr ({len(r.stderr)} lines): {' | '.join(seen[:5])}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sf", default="0.01,0.1", help="TPC-H scale factors, comma list")
    parser.add_argument("--cli", action="store_true", help="run `relsynth synthesize` (no stages)")
    parser.add_argument("--keep", action="store_true", help="keep the rs_bench_copy_* databases")
    parser.add_argument(
        "--workers",
        default="1",
        help="synthesize(workers=N), comma list (1,2: both, compared); daskN: a LocalCluster of N "
        "one-thread workers (synthesize(cluster=client))",
    )
    args = parser.parse_args()
    try:
        sfs = [f"{float(s):g}" for s in args.sf.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sf takes numbers separated by commas, not {args.sf!r}")
    if not sfs or any(float(s) <= 0 for s in sfs):
        parser.error("--sf needs positive scale factors")
    workers = tuple(w.strip() for w in args.workers.split(",") if w.strip())
    if not workers or not all(
        w.removeprefix("dask").isdigit() and int(w.removeprefix("dask")) >= 1 for w in workers
    ):
        parser.error(
            f"--workers takes counts of 1 or more (or daskN) separated by commas, not {args.workers!r}"
        )
    if args.cli and any(w.startswith("dask") for w in workers):
        parser.error("daskN runs through the API, not --cli")
    if not SCHEMA_SQL.exists():
        parser.error(f"{SCHEMA_SQL} not found (set $RELSYNTH_DATASETS)")
    if args.cli and not RELSYNTH.exists():
        parser.error(f"relsynth not found next to {sys.executable}: pip install -e .")
    runs: list[Run] = []
    databases: list[str] = []
    try:
        for sf in sfs:
            tag = sf.replace(".", "_")
            src, dump, tgt = f"{PREFIX}src_{tag}", f"{PREFIX}dump_{tag}", f"{PREFIX}rs_{tag}"
            databases += [src, dump, tgt]
            run = Run(sf)
            files = generate(sf)
            print(f"SF {sf}: loading into {src}", file=sys.stderr, flush=True)
            started = time.perf_counter()
            run.rows = load(files, src, sf)
            seconds = time.perf_counter() - started
            print(f"SF {sf}: {run.rows:,} rows loaded in {seconds:.1f} s", file=sys.stderr)
            print(f"SF {sf}: pg_dump | psql into {dump}", file=sys.stderr, flush=True)
            run.copy = copy_baseline(src, dump)
            copied = row_count(dump)
            if copied != run.rows:
                raise RuntimeError(f"SF {sf}: the copy holds {copied:,} rows, the source {run.rows:,}")
            if not args.keep:  # its disk back before relsynth writes (SF 10: tens of GB each)
                drop_database(dump)
            for n in workers:
                this = Run(sf, rows=run.rows, copy=run.copy)
                print(f"SF {sf}: relsynth into {tgt}, {n} worker(s)", file=sys.stderr, flush=True)
                run_relsynth(this, src, tgt, args.cli, n)
                runs.append(this)
    except (subprocess.CalledProcessError, RuntimeError) as err:
        if isinstance(err, subprocess.CalledProcessError):
            tail = (err.stderr or b"").decode(errors="replace").strip()[-500:]
            err = RuntimeError(f"{' '.join(map(str, err.cmd))[:200]} exited {err.returncode}: {tail}")
        print(f"ERROR: {err}", file=sys.stderr)
        report(runs, args.cli, workers)
        return 1
    finally:
        if not args.keep:
            for db in databases:
                drop_database(db)
    report(runs, args.cli, workers)
    return 1 if any(r.error for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
