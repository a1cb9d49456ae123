"""The long adversarial run: random databases (tests/adversarial.py) through `relsynth.synthesize`
until the time is up, each checked with SQL independent of relsynth's own verifier.

Run by hand from the repository root (PostgreSQL on 127.0.0.1:5432 and MariaDB on 127.0.0.1:3306,
as for the tests; RELSYNTH_TEST_PG / RELSYNTH_TEST_MYSQL point elsewhere):

    .venv/bin/python benchmarks/bench_adversarial.py --minutes 20 --dialect all
    .venv/bin/python benchmarks/bench_adversarial.py --minutes 5 --dialect postgresql --no-filters --evaluate

Examples are drawn by hypothesis (random, not derandomized), each for a dialect drawn among those chosen,
into a fresh source and target database (dropped afterwards). A failure whose kind (the problem
without its table, e.g. "orphans" or "synthesize raised ValueError at relsynth/model/keys.py:95")
was not seen before is shrunk greedily (tables, rows, keys, CHECKs and columns dropped while the
same kind still fails, for --shrink-seconds) and printed as a runnable Python reproduction (the
spec, its synthesize seed and dialect), also written to --out. Shapes of known relsynth bugs
(tests/adversarial.py KNOWN_BUGS) are left out unless --no-filters. At the end: examples run and
failed per dialect, and failures by kind. Exit code 1 if anything failed.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.adversarial import (
    DIALECTS,
    KNOWN_BUGS,
    DbSpec,
    TableSpec,
    db_specs,
    kind,
    run,
    scratch,
    to_python,
)

NAMES = {"postgresql": "PostgreSQL", "mysql": "MariaDB", "sqlite": "SQLite"}


class TimeUp(BaseException):
    """Raised through hypothesis (which lets BaseException pass) to end the run."""


# -- greedy shrinking ---------------------------------------------------------------------------------
def _dicts(t: TableSpec) -> list[dict]:
    return [dict(zip([c.name for c in t.columns], r, strict=True)) for r in t.rows]


def _with_rows(t: TableSpec, rows: list[dict]) -> TableSpec:
    return replace(t, rows=tuple(tuple(r[c.name] for c in t.columns) for r in rows))


def _cascade(spec: DbSpec) -> DbSpec:
    """Rows whose parent row is gone are dropped (NOT NULL FK) or get a NULL FK, to a fixed point."""
    rows = {t.name: _dicts(t) for t in spec.tables}
    changed = True
    while changed:
        changed = False
        for t in spec.tables:
            for fk in t.foreign_keys:
                have = {tuple(r[c] for c in fk.ref_columns) for r in rows[fk.ref_table]}
                nullable = all(t.col(c).nullable for c in fk.columns)
                kept = []
                for r in rows[t.name]:
                    v = tuple(r[c] for c in fk.columns)
                    if None in v or v in have:
                        kept.append(r)
                    else:
                        changed = True
                        if nullable:
                            kept.append({**r, **dict.fromkeys(fk.columns)})
                rows[t.name] = kept
    return replace(spec, tables=tuple(_with_rows(t, rows[t.name]) for t in spec.tables))


def _drop_table(spec: DbSpec, name: str) -> DbSpec:
    tables = []
    for t in spec.tables:
        if t.name != name:
            tables.append(replace(t, foreign_keys=tuple(f for f in t.foreign_keys if f.ref_table != name)))
    return replace(spec, tables=tuple(tables))


def _drop_column(t: TableSpec, name: str) -> TableSpec:
    keep = [i for i, c in enumerate(t.columns) if c.name != name]
    return replace(
        t, columns=tuple(t.columns[i] for i in keep), rows=tuple(tuple(r[i] for i in keep) for r in t.rows)
    )


def _used(spec: DbSpec, t: TableSpec) -> set[str]:
    """Columns a key, FK or CHECK names (of this table, or that another table's FK points to)."""
    out = set(t.primary_key) | {c for u in t.unique for c in u}
    out |= {c for f in t.foreign_keys for c in f.columns} | {c for ck in t.checks for c in ck.columns}
    out |= {c for o in spec.tables for f in o.foreign_keys if f.ref_table == t.name for c in f.ref_columns}
    return out


def _candidates(spec: DbSpec) -> Iterator[tuple[DbSpec, ...]]:
    """Groups of smaller specs, biggest cuts first (a group: alternatives of one cut)."""
    if spec.scale != 1.0 or spec.seed:
        yield replace(spec, scale=1.0), replace(spec, seed=0)
    for t in reversed(spec.tables):
        if len(spec.tables) > 1:
            yield (_cascade(_drop_table(spec, t.name)),)
    for i, t in enumerate(spec.tables):
        n = len(t.rows)
        halves = [t.rows[: n // 2], t.rows[n // 2 :]] if n > 1 else [()] if n == 1 and i else []
        outs = []
        for rows in halves:
            tables = list(spec.tables)
            tables[i] = replace(t, rows=rows)
            outs.append(_cascade(replace(spec, tables=tuple(tables))))
        yield tuple(outs)
    for i, t in enumerate(spec.tables):
        edits = [
            replace(t, foreign_keys=t.foreign_keys[:k] + t.foreign_keys[k + 1 :])
            for k in range(len(t.foreign_keys))
        ]
        edits += [replace(t, checks=t.checks[:k] + t.checks[k + 1 :]) for k in range(len(t.checks))]
        edits += [replace(t, unique=t.unique[:k] + t.unique[k + 1 :]) for k in range(len(t.unique))]
        if t.primary_key and not any(f.ref_table == t.name for o in spec.tables for f in o.foreign_keys):
            edits.append(replace(t, primary_key=()))
        for e in edits:
            yield (replace(spec, tables=(*spec.tables[:i], e, *spec.tables[i + 1 :])),)
    for i, t in enumerate(spec.tables):
        for c in t.columns:
            if c.name not in _used(spec, t) and len(t.columns) > 1:
                e = _drop_column(t, c.name)
                yield (replace(spec, tables=(*spec.tables[:i], e, *spec.tables[i + 1 :])),)


def shrink(spec: DbSpec, fails: Callable[[DbSpec], bool], seconds: float) -> tuple[DbSpec, int]:
    """The smallest spec found (greedily, within ``seconds``) that still ``fails``; and the runs made."""
    deadline = time.monotonic() + seconds
    runs = 0
    progress = True
    while progress and time.monotonic() < deadline:
        progress = False
        for group in _candidates(spec):
            for candidate in group:
                if candidate == spec:
                    continue
                if time.monotonic() > deadline:
                    return spec, runs
                runs += 1
                if fails(candidate):
                    spec, progress = candidate, True
                    break
            if progress:
                break
    return spec, runs


# -- the run ------------------------------------------------------------------------------------------
def _run(spec: DbSpec, workdir: Path, evaluate: bool) -> list[str]:
    """Problems of one spec; an error of this harness itself (not relsynth) is a problem too."""
    try:
        with scratch(spec.dialect, workdir) as (source, target):
            return run(spec, source, target, evaluate=evaluate)
    except Exception as err:
        where = traceback.extract_tb(err.__traceback__)[-1]
        return [f"harness error {type(err).__name__} at {Path(where.filename).name}:{where.lineno}: -"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0, help="how long to generate examples")
    parser.add_argument("--dialect", choices=[*DIALECTS, "all"], default="all")
    parser.add_argument("--no-filters", action="store_true", help="include the shapes of known bugs")
    parser.add_argument("--evaluate", action="store_true", help="also run relsynth.evaluate on each target")
    parser.add_argument("--shrink-seconds", type=float, default=120.0, help="time to shrink each new failure")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "relsynth_adversarial")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # relsynth's and the libraries' warnings are not findings
    dialects = list(DIALECTS) if args.dialect == "all" else [args.dialect]
    avoid = frozenset() if args.no_filters else frozenset(KNOWN_BUGS)
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = ", ".join(NAMES[d] for d in dialects)
    print(f"dialects: {chosen}; {args.minutes:g} minutes; reproductions in {args.out}")
    for name in sorted(avoid):
        print(f"filter (known bug, left out): {name}: {KNOWN_BUGS[name]}")
    examples: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    seen: set[str] = set()
    deadline = time.monotonic() + args.minutes * 60

    @settings(
        max_examples=10**9,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(data=st.data())
    def one(data: st.DataObject) -> None:
        dialect = data.draw(st.sampled_from(dialects))  # drawn, so hypothesis can replay an example
        spec = data.draw(db_specs(dialect, avoid))
        if stopping or time.monotonic() > deadline:  # after the draw: hypothesis' replay draws the same
            raise TimeUp
        with tempfile.TemporaryDirectory() as tmp:
            problems = _run(spec, Path(tmp), args.evaluate)
            examples[dialect] += 1
            if not problems:
                return
            failed[dialect] += 1
            now = {kind(p) for p in problems}
            for k in now:
                kinds[k][dialect] += 1
            new = now - seen
            seen.update(now)
            if new:
                report(spec, problems, new, Path(tmp))

    def report(spec: DbSpec, problems: list[str], new: set[str], tmp: Path) -> None:
        n = sum(examples.values())
        print(f"\n=== new failure at example {n} ({NAMES[spec.dialect]}): {sorted(new)}", flush=True)
        small, runs = shrink(
            spec, lambda s: bool(new & {kind(p) for p in _run(s, tmp, args.evaluate)}), args.shrink_seconds
        )
        path = args.out / f"repro_{len(seen)}_{spec.dialect}.py"
        found = _run(small, tmp, args.evaluate)
        header = "".join(f"# {p}\n" for p in found)
        path.write_text(
            f"# {NAMES[small.dialect]}: run from the repository root; it prints:\n{header}"
            + to_python(small)
            + "\n"
        )
        rows = sum(len(t.rows) for t in small.tables)
        print(f"shrunk in {runs} runs to {len(small.tables)} tables, {rows} rows:")
        print(to_python(small))
        print("its problems: " + "; ".join(found))
        print(f"(written to {path})", flush=True)

    def stop(*_: object) -> None:  # SIGTERM: stop like Ctrl-C, so scratch databases are dropped
        stopping.append(True)
        raise TimeUp

    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, stop)
    started = time.monotonic()
    with contextlib.suppress(TimeUp, KeyboardInterrupt):
        one()
    minutes = (time.monotonic() - started) / 60
    print(f"\nSummary after {minutes:.1f} minutes")
    print(f"{'dialect':<12} {'examples':>8} {'failed':>6}")
    for d in dialects:
        print(f"{NAMES[d]:<12} {examples[d]:>8} {failed[d]:>6}")
    if kinds:
        print("\nFailures by kind (examples per dialect)")
        for k, per in sorted(kinds.items(), key=lambda kv: -sum(kv[1].values())):
            counts = ", ".join(f"{NAMES[d]} {c}" for d, c in sorted(per.items()))
            print(f"  {k}: {counts}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
