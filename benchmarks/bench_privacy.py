"""Does relsynth's output, or its model file, give away a source record? One row per dataset.

Run by hand from the repository root (PostgreSQL on 127.0.0.1:5432, user postgres, trust):

    .venv/bin/python benchmarks/bench_privacy.py                       # every dataset + the demo
    .venv/bin/python benchmarks/bench_privacy.py --only chinook --only demo

Each dataset of ../shared/datasets (or $RELSYNTH_DATASETS) is loaded with its `load` script into
a fresh database `rs_bench_priv_<name>` (dropped at the end; loading is not timed); the demo
hospital is built with `relsynth.demos.hospital.build` into a SQLite file in a temporary
directory. Then, in this process, with the library API: `fit(url, seed=0, holdout=0.2,
rare_k=5)`, `sample(model, seed=0, report=SampleReport())`, `evaluate(url, tables, model=model,
seed=0)`, the model saved with `model.save`, and the whole source read once more (every row) to
check the output against. Reference tables are left out of checks 2-4: they are copied verbatim
by design (and stored in the model file as such).

- copies: whole-row copies of source records unique on their non-key columns, i.e. the sum over
  tables of `evaluate`'s `["tables"][t]["privacy"]["copies"]`. Must be 0.
- verbatim: over every column the model generates rather than learns (`ColumnSpec.how` "pii" or
  "text", relsynth/model/spec.py), synthetic values equal (stripped, ignoring case) to a value of
  that column seen at most 4 times in the source and held by a row the model was fitted on (a
  held-out row's value is the population's: equal by chance). Labels a CHECK of the table spells
  out are public and not counted; first and last names are counted as whole (first, last) pairs,
  since single names recur by design. Must be 0. The details under the table list every hit.
- rare: over every categorical column (`Kind.CATEGORICAL`; enum labels and booleans are public
  and left out, as are key-like codes and foreign keys, which name rows), distinct synthetic values
  seen in fewer than K = rare_k = 5 source rows. Must be 0.
- in model: distinct source values found verbatim (stripped, ignoring case) among the strings
  (and whole numbers) of the saved model file, in model.json or arrays.npz: the values of rare
  levels (fewer than K rows) of those categorical columns, and every value of the generated
  columns of `verbatim`, each at least 4 characters long (a shorter one also spells the file's
  own names, codes and formats). Such a value would confirm a unique source record to anyone
  holding the file by enumerating a column's domain. A word of a text vocabulary that is found in
  at least 3 different values of one of its table's text columns is not counted (a word of song
  titles, 'Love', that is also one song's whole title, is nobody's record). Counted: values found
  in their own table's part of the file (a value rare in one table may be a common level of
  another's column, stored there by right) and seen in fewer than K rows of every other column
  of that table (a diagnosis code rare as diagnosis 4 but common as diagnosis 2 is diagnosis 2's
  level, by right); the details list every place. Must be 0.
- singling out / linkability / inference: the attacks of `evaluate`
  (`["tables"][t]["privacy"]["attacks"]`, relsynth/evaluation/attacks.py): the largest risk over
  tables, with its 95% interval, of each attack (the excess success on training rows over the
  held-out control). "n/a" where the evaluation has no attacks or none could run.
- model AUC: membership inference by whoever holds the model file (`evaluate`'s
  `["tables"][t]["privacy"]["model_membership"]`, relsynth/evaluation/membership.py): the model
  read back from its file and sampled without the source at 3x the source's rows; the largest
  AUC over tables (training vs held-out rows' distance to the nearest sampled row; 0.5 = no
  signal) with its 95% interval, whose upper bound is the worst the data allow. A table flagged
  (interval wholly above 0.6) is listed under the table; reported, not part of PASS.
- q k=5 / q k=1 / cost: `evaluate`'s overall quality score of the model fitted with rare_k=5 and
  of one fitted with rare_k=1 (every category kept), both seed 0 and holdout 0.2; cost = k=1 - k=5,
  what withholding rare categories costs in fidelity.
- time s: wall-clock seconds for the dataset: both fits, samples and evaluations and the checks.

Under the table, names and counts only (never a value): each column behind a non-zero count;
for `verbatim`, how many hits are values of rows the model was fitted on (the others are held-out
rows' values, which the model never saw), how many are labels a CHECK of the table spells out
(public, in the DDL) and, for first/last names the model guards as pairs, how many synthetic
(first, last) pairs are scarce source pairs; for `in model`, how many were found in the column's
own table's part of the file and where (the path of JSON keys or the array's name, e.g.
`model.json:.tables.track.columns.vocabulary.words`); SampleReport's moved records; errors.

Exit code 1 if copies, verbatim, rare or in model is non-zero for any dataset, or a dataset fails
with an error.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import re
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from common import DB_SCHEMAS, PG_DB, chosen_datasets, drop_database, load_dataset

from relsynth.api import evaluate, fit, sample
from relsynth.io import connect
from relsynth.model.sample import SampleReport
from relsynth.model.spec import Model
from relsynth.read import canonical, read_tables
from relsynth.schema import Kind

RARE_K = 5
SEED = 0
HOLDOUT = 0.2
MAX_VERBATIM = 4  # a generated value seen at most this many times in the source points at someone
MIN_LENGTH = 4  # shorter values are not looked for in the model file
GENERATED = frozenset({"pii", "text"})
ATTACKS = (("singling_out", "singling out"), ("linkability", "linkability"), ("inference", "inference"))


@dataclass
class Result:
    name: str
    copies: int = 0
    verbatim: int = 0
    rare: int = 0
    in_model: int = 0
    attacks: dict[str, str] = field(default_factory=dict)
    membership: str = "n/a"  # model-file membership: the largest AUC over tables [95% CI]
    quality: float | None = None
    quality_all: float | None = None  # rare_k=1
    seconds: float = 0.0
    details: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def leaks(self) -> int:
        return self.copies + self.verbatim + self.rare + self.in_model

    @property
    def passed(self) -> bool:
        return self.error is None and self.leaks == 0


def _norm(value: Any) -> str | None:
    """A value as compared with the source: stripped, case folded; None for NULL or empty."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = canonical(value).strip().casefold()
    return text or None


def _normed(values: pd.Series) -> pd.Series:
    return values.map(_norm).dropna()


def _columns(model: Model, how: set[str] | frozenset[str]) -> Iterator[tuple[str, str]]:
    """(table, column) of the data tables' columns the model produces one of the ``how`` ways."""
    for name, t in model.tables.items():
        if t.role != "data":
            continue
        for spec in t.columns:
            if spec.how in how:
                yield name, spec.name


def _categorical(model: Model) -> Iterator[tuple[str, str]]:
    """(table, column) of the data tables' categorical columns the model learns: enums left out
    (labels are public), key-like codes and foreign keys (a concept id names a row of another
    table), and generated columns (personal data, text), which
    `verbatim` counts."""
    generated = set(_columns(model, GENERATED))
    for name, t in model.tables.items():
        if t.role != "data":
            continue
        table = model.schema.table(name)
        # A foreign key (a concept id) names a row of another table, not a trait of a person; its
        # values are that table's keys (the parent's own rows are checked where it is a data table).
        lookups = table.fk_columns()
        for col in table.columns:
            if col.name in lookups:
                continue
            code = col.kind_reason.startswith("key-like") or "left out of the run" in col.kind_reason
            if (
                col.kind is Kind.CATEGORICAL
                and not col.type.values
                and (name, col.name) not in generated
                and not code
            ):
                yield name, col.name


def _present(frames: dict[str, pd.DataFrame], table: str, column: str) -> bool:
    return table in frames and column in frames[table].columns


Frames = dict[str, pd.DataFrame]


def _scarce(values: pd.Series) -> set[str]:
    counts = _normed(values).value_counts()
    return set(counts[counts <= MAX_VERBATIM].index)


def _pairs(frame: pd.DataFrame, columns: tuple[str, str]) -> pd.Series:
    """(first, last) per row as one normalized string, what the model's name guard compares."""
    first, last = (frame[c].map(_norm) for c in columns)
    return (first + "\x1f" + last).dropna()


def _name_pairs(model: Model, table: str, real: Frames, synth: Frames, training: Frames) -> tuple[str, int]:
    """Synthetic (first, last) pairs equal to a pair seen at most 4 times in the source, and how
    many of them a training row's: what the model's name guard is meant to prevent."""
    columns = model.tables[table].name_columns
    assert columns is not None
    if not all(_present(f, table, c) for f in (real, synth) for c in columns):
        return "n/a", 0
    counts = _pairs(real[table], columns).value_counts()
    hits = _pairs(synth[table], columns)
    hits = hits[hits.isin(set(counts[counts <= MAX_VERBATIM].index))]
    trained = int(hits.isin(set(_pairs(training[table], columns))).sum())
    return f"{len(hits)} scarce pairs, {trained} of them a training row's", trained


def _check_labels(model: Model, table: str) -> set[str]:
    """The quoted literals of the table's CHECK constraints (IN lists): public, from the DDL."""
    return {_norm(v) or "" for c in model.schema.table(table).checks for v in re.findall(r"'([^']*)'", c.sql)}


def verbatim_values(
    model: Model, real: Frames, synth: Frames, training: Callable[[], Frames], out: list[str]
) -> int:
    """Synthetic values of generated columns equal to a source value seen at most 4 times.

    Each hit is told apart under the table: how many equal a value of a row the model was fitted
    on (the rest are held-out rows' values, which the model never saw), and, for name columns the
    model guards as (first, last) pairs, how many whole pairs are scarce source pairs."""
    total = 0
    for table, column in _columns(model, GENERATED):
        if not (_present(real, table, column) and _present(synth, table, column)):
            continue
        hits = _normed(synth[table][column])
        hits = hits[hits.isin(_scarce(real[table][column]))]
        if not len(hits):
            continue
        trained = int(hits.isin(set(_normed(training()[table][column]))).sum())
        public = int(
            (
                hits.isin(_check_labels(model, table)) & hits.isin(set(_normed(training()[table][column])))
            ).sum()
        )
        names = column in (model.tables[table].name_columns or ())
        # Counted: values of rows the model was fitted on, but a label a CHECK spells out (public,
        # in the DDL) and a single first or last name (names recur; the guard is on the whole
        # (first, last) pair, counted once per table below).
        total += 0 if names else trained - public
        how = model.tables[table].column(column).how
        line = f"verbatim: {table}.{column} ({how}): {len(hits)} values, {trained} of them a training row's"
        listed = _check_labels(model, table)
        if listed:
            line += f", {int(hits.isin(listed).sum())} of them labels a CHECK of the table spells out"
        if names:
            pairs, trained_pairs = _name_pairs(model, table, real, synth, training())
            line += f"; guarded as (first, last) pairs: {pairs}"
            if column == (model.tables[table].name_columns or ("",))[0]:
                total += trained_pairs
        out.append(line)
    return total


def _real_levels(values: pd.Series) -> pd.Series:
    """Rows per source level, bools left out (public)."""
    kept = values[values.notna() & ~values.map(lambda v: isinstance(v, bool | np.bool_))]
    return kept.map(canonical).value_counts()


def rare_levels(
    model: Model, real: dict[str, pd.DataFrame], synth: dict[str, pd.DataFrame], out: list[str]
) -> int:
    """Distinct synthetic values of categorical columns seen in fewer than K source rows."""
    total = 0
    for table, column in _categorical(model):
        if not (_present(real, table, column) and _present(synth, table, column)):
            continue
        counts = _real_levels(real[table][column])
        rare = set(counts[counts < RARE_K].index)
        emitted = set(synth[table][column].dropna().map(canonical))
        found = len(emitted & rare)
        if found:
            out.append(f"rare: {table}.{column}: {found} rare levels emitted")
        total += found
    return total


Places = dict[str, set[str]]  # normalized string -> where in the model file it is


def _leaves(node: Any, where: str, into: Places) -> None:
    """Every string and whole number of a JSON document with its path of keys (list positions
    left out; dict keys are names, not data)."""
    stack = [(node, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, f"{path}.{k}") for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, path) for v in item)
        elif isinstance(item, str) or (isinstance(item, int | float) and not isinstance(item, bool)):
            text = _norm(item)
            if text is not None:
                into.setdefault(text, set()).add(path)


def model_strings(path: Path) -> Places:
    """The normalized strings of a model file and where each is, reference tables' verbatim rows
    left out (arrays named by their table: t3/... is the model's 4th table)."""
    with zipfile.ZipFile(path) as z:
        doc = json.loads(z.read("model.json"))
        npz = np.load(io.BytesIO(z.read("arrays.npz")), allow_pickle=False)
        reference: Places = {}
        tables = list(doc.get("tables", {}))
        for t in doc.get("tables", {}).values():
            _leaves(t.pop("reference", {}), "", reference)  # the names of the copied rows' arrays
        found: Places = {}
        _leaves(doc, "model.json:", found)
        for key in npz.files:
            array = npz[key]
            if key.casefold() in reference or array.dtype.kind not in "US":
                continue
            head, _, rest = key.partition("/")
            index = int(head[1:]) if head[1:].isdigit() else -1
            place = f"arrays.npz:{tables[index] if 0 <= index < len(tables) else head}/{rest}"
            for v in map(_norm, array.ravel().tolist()):
                if v is not None:
                    found.setdefault(v, set()).add(place)
    return found


def _under(place: str, table: str) -> bool:
    """Whether a place in the model file belongs to ``table``'s model."""
    return place.startswith((f"model.json:.tables.{table}.", f"arrays.npz:{table}/"))


def _shared_words(model: Model, real: Frames) -> dict[str, set[str]]:
    """Per table, the words found in at least 3 different values of one of its text columns: what
    a vocabulary may hold by design (a word of titles, 'Love', is nobody's record)."""
    out: dict[str, set[str]] = {}
    for table, column in _columns(model, GENERATED):
        if not _present(real, table, column):
            continue
        freq: dict[str, int] = {}
        for value in set(_normed(real[table][column])):
            for word in set(re.findall(r"\w+", value)):
                freq[word] = freq.get(word, 0) + 1
        out.setdefault(table, set()).update(w for w, n in freq.items() if n >= 3)
    return out


def _only_shared_word(value: str, strings: Places, shared: dict[str, set[str]]) -> bool:
    """The value is in the file only as a vocabulary word of tables where that word is shared."""
    places = strings[value]
    for place in places:
        if not place.endswith(".vocabulary.words"):
            return False
        table = place.removeprefix("model.json:.tables.").partition(".columns")[0]
        if value not in shared.get(table, set()):
            return False
    return True


def values_in_model(model: Model, real: Frames, path: Path, out: list[str]) -> int:
    """Distinct rare levels and generated columns' values of the source found in the model file."""
    strings = model_strings(path)
    total = 0
    wanted: list[tuple[str, str, str, set[str]]] = []
    for table, column in _categorical(model):
        if _present(real, table, column):
            counts = _real_levels(real[table][column])
            wanted.append(
                (table, column, "rare level", {_norm(v) or "" for v in counts[counts < RARE_K].index})
            )
    for table, column in _columns(model, GENERATED):
        if _present(real, table, column):
            wanted.append((table, column, "generated column", set(_normed(real[table][column]))))
    shared = _shared_words(model, real)
    for table, column, what, values in wanted:
        hits = [
            v
            for v in values
            if len(v) >= MIN_LENGTH and v in strings and not _only_shared_word(v, strings, shared)
        ]
        if hits:
            places = sorted({p for v in hits for p in strings[v]})
            more = f" and {len(places) - 3} more" if len(places) > 3 else ""
            at = ", ".join(places[:3]) + more
            common = _common_elsewhere(real, table, column)
            own = sum(any(_under(p, table) for p in strings[v]) and v not in common for v in hits)
            out.append(
                f"in model: {table}.{column} ({what}): {len(hits)} source values, {own} of them in "
                f"its own table's part of the file; at {at}"
            )
            total += own  # a value rare here but common in another table is that table's level
    return total


def _common_elsewhere(real: Frames, table: str, column: str) -> set[str]:
    """Values seen in at least K rows of another column of the same table: that column's common
    level, stored in the file by right (a diagnosis code rare as diagnosis 4, common as diagnosis 2)."""
    out: set[str] = set()
    frame = real.get(table)
    if frame is None:
        return out
    for other in frame.columns:
        if other == column:
            continue
        values = _normed(frame[other])
        counts = values.value_counts()
        out |= set(counts[counts >= RARE_K].index)
    return out


def worst_attacks(report: dict[str, Any]) -> dict[str, str]:
    """Each attack's largest risk over tables with its interval, or 'n/a' (read defensively:
    older evaluations carry no attacks)."""
    worst: dict[str, tuple[float, list[float]]] = {}
    for t in (report.get("tables") or {}).values():
        a = (t.get("privacy") or {}).get("attacks") if isinstance(t, dict) else None
        if not isinstance(a, dict) or not a.get("available"):
            continue
        for key, _ in ATTACKS:
            x = a.get(key)
            risk = x.get("risk") if isinstance(x, dict) and x.get("available") else None
            if not isinstance(risk, dict) or "value" not in risk:
                continue
            ci = list(risk.get("ci") or [float("nan"), float("nan")])
            if key not in worst or risk["value"] > worst[key][0]:
                worst[key] = (float(risk["value"]), ci)
    return {
        key: f"{worst[key][0]:.2f} [{worst[key][1][0]:.2f}, {worst[key][1][1]:.2f}]"
        if key in worst
        else "n/a"
        for key, _ in ATTACKS
    }


def worst_membership(report: dict[str, Any], out: list[str]) -> str:
    """The largest model-file membership AUC over tables with its interval, or 'n/a' (read
    defensively: older evaluations carry none); flagged tables named in ``out``."""
    worst: tuple[float, list[float]] | None = None
    for name, t in (report.get("tables") or {}).items():
        m = (t.get("privacy") or {}).get("model_membership") if isinstance(t, dict) else None
        if not isinstance(m, dict) or not m.get("available"):
            continue
        if m.get("flagged"):
            lo, hi = m["ci"]
            out.append(f"model-file membership: {name}: AUC {m['auc']:.3f} [{lo:.3f}, {hi:.3f}] flagged")
        if worst is None or m["auc"] > worst[0]:
            worst = (float(m["auc"]), list(m["ci"]))
    return "n/a" if worst is None else f"{worst[0]:.2f} [{worst[1][0]:.2f}, {worst[1][1]:.2f}]"


def read_source(url: str, model: Model, holdout: float = 0.0) -> Frames:
    """Every row of the source (held-out rows too): what the output must not give away. With
    ``holdout``, the rows the model was fitted on (fit's split: same fraction and seed)."""
    with connect(url, read_only=True) as conn:
        return read_tables(conn, model.schema, model.plan, holdout=holdout, seed=SEED).frames


def _report_notes(report: SampleReport) -> list[str]:
    notes = [f"sample: unguarded {u}" for u in report.unguarded]
    notes += [
        f"sample: {t}: {n} rows moved off a source record" for t, n in report.moved_records.items() if n
    ]
    notes += [
        f"sample: {t}: {n} records no column could move" for t, n in report.unmoved_records.items() if n
    ]
    return notes


def measure(result: Result, url: str, db_schema: str | None, workdir: Path) -> None:
    """Checks 1-5 and the quality at rare_k=5, into ``result``."""
    model = fit(url, db_schema=db_schema, seed=SEED, holdout=HOLDOUT, rare_k=RARE_K)
    report = SampleReport()
    tables = sample(model, seed=SEED, report=report)
    evaluation = evaluate(url, tables, model=model, db_schema=db_schema, seed=SEED)
    result.quality = evaluation["scores"]["overall"]
    result.attacks = worst_attacks(evaluation)
    result.membership = worst_membership(evaluation, result.details)
    for t, e in evaluation["tables"].items():
        result.copies += int(e["privacy"]["copies"])
        if e["privacy"]["copies"]:
            result.details.append(f"copies: {t}: {e['privacy']['copies']} rows")
    real = read_source(url, model)
    training = functools.cache(lambda: read_source(url, model, HOLDOUT))
    result.verbatim = verbatim_values(model, real, tables, training, result.details)
    result.rare = rare_levels(model, real, tables, result.details)
    path = workdir / f"{result.name}.rsm"
    model.save(str(path))
    try:
        result.in_model = values_in_model(model, real, path, result.details)
    finally:
        path.unlink()
    result.details += _report_notes(report)


def quality_keeping_all(url: str, db_schema: str | None) -> float:
    """The overall quality score of a model that keeps every category (rare_k=1), same seeds."""
    model = fit(url, db_schema=db_schema, seed=SEED, holdout=HOLDOUT, rare_k=1)
    tables = sample(model, seed=SEED, report=SampleReport())
    return float(evaluate(url, tables, model=model, db_schema=db_schema, seed=SEED)["scores"]["overall"])


def bench(name: str, url: str, db_schema: str | None, workdir: Path) -> Result:
    result = Result(name)
    started = time.perf_counter()
    try:
        measure(result, url, db_schema, workdir)
        result.quality_all = quality_keeping_all(url, db_schema)
    except Exception as err:
        result.error = f"{type(err).__name__}: {err}".splitlines()[0]
        traceback.print_exc()
    result.seconds = time.perf_counter() - started
    return result


def _score(value: float | None, sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.3f}" if sign else f"{value:.3f}"


def print_table(results: list[Result]) -> None:
    head = (
        f"{'dataset':<18} {'copies':>6} {'verbatim':>8} {'rare':>5} {'in model':>8} "
        f"{'singling out':>18} {'linkability':>18} {'inference':>18} {'model AUC':>18} "
        f"{'q k=5':>6} {'q k=1':>6} {'cost':>6} {'time s':>7}  {'result':<6}"
    )
    print(f"\nPrivacy (fit seed {SEED}, holdout {HOLDOUT:g}, rare_k {RARE_K}; sample seed {SEED})")
    print(head)
    print("-" * len(head))
    for r in results:
        cost = r.quality_all - r.quality if r.quality is not None and r.quality_all is not None else None
        verdict = "PASS" if r.passed else ("ERROR" if r.error else "FAIL")
        a = {key: r.attacks.get(key, "n/a") for key, _ in ATTACKS}
        print(
            f"{r.name:<18} {r.copies:>6} {r.verbatim:>8} {r.rare:>5} {r.in_model:>8} "
            f"{a['singling_out']:>18} {a['linkability']:>18} {a['inference']:>18} {r.membership:>18} "
            f"{_score(r.quality):>6} {_score(r.quality_all):>6} {_score(cost, True):>6} "
            f"{r.seconds:>7.1f}  {verdict:<6}"
        )
    for r in results:
        for line in ([r.error] if r.error else []) + r.details:
            print(f"  {r.name}: {line}")
    passed = sum(r.passed for r in results)
    print(
        f"\n{passed}/{len(results)} datasets PASS "
        "(0 copies, verbatim values, rare levels emitted, source values in the model file)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", metavar="NAME", help="dataset name or 'demo' (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the rs_bench_priv_* databases")
    args = parser.parse_args()
    names = chosen_datasets(parser, args.only)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="rs_bench_priv_") as tmp:
        for name in names:
            if name == "demo":
                from relsynth.demos import hospital

                path = Path(tmp) / "hospital.db"
                print(f"[{name}] building the demo hospital (SQLite)", file=sys.stderr, flush=True)
                hospital.build(path)
                results.append(bench(name, f"sqlite:///{path}", None, Path(tmp)))
                continue
            db = f"rs_bench_priv_{name}"
            print(f"[{name}] loading into {db}", file=sys.stderr, flush=True)
            try:
                seconds = load_dataset(name, db)
                print(f"[{name}] loaded in {seconds:.1f} s; measuring", file=sys.stderr, flush=True)
                results.append(bench(name, PG_DB.format(db=db), DB_SCHEMAS.get(name), Path(tmp)))
            except subprocess.CalledProcessError as err:
                results.append(Result(name, error=f"load failed: {err.stderr.strip()[-300:]}"))
            finally:
                if not args.keep:
                    drop_database(db)
            print(f"[{name}] done", file=sys.stderr, flush=True)
    print_table(results)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
