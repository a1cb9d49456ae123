"""Sample a whole database from a Model: parents first, children for all parents at once.

A root table's rows come from its copula. A child's rows come from its parent's sampled
summaries: each parent row says how many children it has and where (location, spread) in the
child's copula space they lie; all children of all parents are drawn in one vectorized step.
Then keys are assigned (context, secondary, link, self-reference, cycle-breaking), exact
relations are re-imposed, CHECK constraints repaired, and values typed like their columns.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from relsynth import partitions
from relsynth.model import backrefs, persons, selfrefs, siblings
from relsynth.model import checks as ck
from relsynth.model import exact_sample as xs
from relsynth.model import keys as kz
from relsynth.model import sentinels as sentinel_dates
from relsynth.model.assign import (
    _take,
    apply_repeats,
    assign_secondary,
    children_bound,
    decode_counts,
    decode_ext,
    distinct_within_parent,
    fill_fk,
    most_wanted,
    numbering,
    parent_wants,
    primary_key,
    renumber,
    secondary_order,
    self_reference,
    unique_rows,
)
from relsynth.model.by_level import ByLevel
from relsynth.model.copula import conditional, sample_conditional
from relsynth.model.copula import sample as copula_sample
from relsynth.model.exact import date_roots, part_of
from relsynth.model.generate import avoid_records, generated_columns, record_copies
from relsynth.model.guards import unguarded_tables
from relsynth.model.natives import derive_ranges, native_columns
from relsynth.model.spec import Dim, Model, TableModel
from relsynth.model.text import fresh
from relsynth.model.values import coerce
from relsynth.schema import ForeignKey, Table
from relsynth.sqltypes import FLOAT_TYPES
from relsynth.transform import Categorical, Temporal, gap_step, rank_normalize, step_floor, to_epoch_seconds

if TYPE_CHECKING:
    from relsynth.model.batches import Batch

log = logging.getLogger("relsynth")
Progress = Callable[[str, int, int], None]


@dataclass
class SampleReport:
    """What sampling had to bend, said per table (counts only, never values)."""

    dropped_duplicates: dict[str, int] = field(default_factory=dict)
    check_violations: dict[str, dict[str, int]] = field(default_factory=dict)
    uninterpretable_checks: dict[str, list[str]] = field(default_factory=dict)
    unmatched_keys: dict[str, int] = field(default_factory=dict)
    full_parents: dict[str, int] = field(default_factory=dict)  # NULL: parents had their most rows
    moved_records: dict[str, int] = field(default_factory=dict)
    dropped_no_parent: dict[str, int] = field(default_factory=dict)
    dropped_unmatched: dict[str, int] = field(default_factory=dict)  # no parent holds what is set
    clipped_children: dict[str, int] = field(default_factory=dict)
    narrow_keys: dict[str, dict[tuple[str, ...], int]] = field(default_factory=dict)  # -> room
    # Intervals that could not all keep their durations, ranges and bounds: shortened, outside, unfit.
    bent_intervals: dict[str, dict[str, int]] = field(default_factory=dict)
    unmoved_records: dict[str, int] = field(default_factory=dict)  # no column could move them
    dropped_records: dict[str, int] = field(default_factory=dict)  # ... so they were not written
    unguarded: list[str] = field(default_factory=list)
    moved_rows: dict[str, set[Any]] = field(default_factory=dict, repr=False)  # behind moved_records

    def merge(self, other: SampleReport) -> None:
        """Add what another process's batches bent (model/batches.py): counts added up, a key's
        room the smallest said, lists and sets joined."""
        for f in dataclasses.fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, list):
                mine.extend(v for v in theirs if v not in mine)
                continue
            for table, value in theirs.items():
                if isinstance(value, set):
                    mine.setdefault(table, set()).update(value)
                elif isinstance(value, int):
                    mine[table] = mine.get(table, 0) + value
                elif isinstance(value, list):
                    mine.setdefault(table, []).extend(v for v in value if v not in mine.get(table, []))
                else:  # per table: {check: rows}, {interval: rows}, {columns: room}
                    got = mine.setdefault(table, {})
                    for k, v in value.items():
                        got[k] = min(got[k], v) if f.name == "narrow_keys" and k in got else got.get(k, 0) + v

    def lines(self) -> list[str]:
        out = []
        if self.unguarded:
            out.append(
                f"not checked against the source ({len(self.unguarded)} tables: "
                f"{', '.join(self.unguarded[:5])}{', ...' if len(self.unguarded) > 5 else ''}): "
                "a model file holds no source record, so rows and generated values equal to the "
                "source's by chance are not moved; give the source (sample --source URL) to check"
            )
        for t, k in self.moved_records.items():
            out.append(f"{t}: {k} rows moved one step off a source record they equalled by chance")
        for t, k in self.dropped_records.items():
            out.append(
                f"{t}: {k} rows left out: each still equalled a source record unique on its columns "
                "after every move (or had no column that could move); no children are drawn for them"
            )
        for t, k in self.unmoved_records.items():
            out.append(
                f"{t}: {k} rows equal a source record unique on their columns and were not moved: "
                "every column of the record follows from other columns or tables"
            )
        for t, k in self.dropped_duplicates.items():
            out.append(
                f"{t}: {k} rows dropped to keep a key or UNIQUE constraint unique (more rows than the "
                "distinct values it allows: children than partners, or a type or CHECK too narrow); "
                "no children are drawn for them"
            )
        for t, d in self.check_violations.items():
            for sql, k in d.items():
                out.append(f"{t}: {k} rows still violate CHECK ({sql}) after repair")
        for t, sqls in self.uninterpretable_checks.items():
            for sql in sqls:
                out.append(f"{t}: CHECK ({sql}) is not interpretable here; the writer tests it in the target")
        for t, k in self.unmatched_keys.items():
            out.append(
                f"{t}: {k} foreign keys found no parent holding the values the row's other keys set "
                "(a learned key match): NULL where the key allows it, else another parent"
            )
        for t, k in self.full_parents.items():
            out.append(
                f"{t}: {k} foreign keys left NULL: every parent they could take already had as many "
                "rows as any source parent has"
            )
        for t, k in self.dropped_unmatched.items():
            out.append(
                f"{t}: {k} rows left out: no parent of a NOT NULL foreign key holds the values the "
                "row's other keys set"
            )
        for t, k in self.dropped_no_parent.items():
            out.append(f"{t}: {k} rows dropped (a NOT NULL foreign key's parent table was sampled empty)")
        for t, k in self.clipped_children.items():
            out.append(f"{t}: {k} rows not sampled: more children per parent than its key's values allow")
        for t, keys in self.narrow_keys.items():
            for cols, room in keys.items():
                out.append(
                    f"{t}: ({', '.join(cols)}) holds at most {room} distinct values in its declared "
                    "types and lengths: the rows past them were dropped to keep the key unique"
                )
        for t, bent in self.bent_intervals.items():
            if bent.get("closed"):
                out.append(
                    f"{t}: {bent['closed']} open intervals closed because a later one of their key "
                    "follows (the column saying their end is NULL set to its most common other value)"
                )
            if bent.get("shortened"):
                out.append(
                    f"{t}: {bent['shortened']} intervals shortened (never below the source's shortest) "
                    "to fit between their bounds without overlapping"
                )
            if bent.get("outside"):
                out.append(
                    f"{t}: {bent['outside']} intervals placed outside their columns' source range: "
                    "their bounds left no room inside it"
                )
            if bent.get("unfit"):
                out.append(
                    f"{t}: {bent['unfit']} intervals still break an upper bound or overlap: "
                    "their bounds cross (lower bounds and no overlap were kept)"
                )
        return out

    def bent(self, table: str, counts: dict[str, int]) -> None:
        """Note what settling a table's intervals had to bend; a table is settled several times
        (the later passes find the earlier ones' work done), so the most seen is kept."""
        mine = self.bent_intervals.setdefault(table, {})
        for kind, k in counts.items():
            mine[kind] = max(mine.get(kind, 0), k)
        if not any(mine.values()):
            del self.bent_intervals[table]


@dataclass
class _Sampled:
    frame: pd.DataFrame
    z: np.ndarray  # full copula scores (own + summaries) of the kept rows
    parent_pos: np.ndarray | None
    dims: tuple[str, ...] | None = None  # z's columns when only some are kept (model/batches.py)
    # How many times more rows than --scale asks for the table holds because a table of its family
    # kept at least one row (2 stores at --scale 0.001): its children are drawn as many times fewer.
    excess: float = 1.0


def sampled(frame: pd.DataFrame, z: np.ndarray, dims: tuple[str, ...] | None = None) -> _Sampled:
    """Rows held for the tables sampled after them (model/batches.py keeps a few columns, and of
    z the dimensions ``dims`` only)."""
    return _Sampled(frame, z, None, dims)


def sample_tables(
    model: Model,
    *,
    scale: float = 1.0,
    rows: dict[str, int] | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
    report: SampleReport | None = None,
) -> dict[str, pd.DataFrame]:
    """Synthetic tables for every table in the model's plan (same column names and order)."""
    plan = model.plan
    rows = dict(rows or {})
    check_rows(model, rows)
    seed = model.seed if seed is None else seed
    rngs = table_rngs(model, seed)
    report = report if report is not None else SampleReport()
    report.unguarded = unguarded_tables(model)
    done: dict[str, _Sampled] = {}
    total = len(plan.order)
    for i, name in enumerate(plan.order):
        if progress:
            progress("sample", i, total)
        sample_one(model, name, done, scale, rows.get(name), rngs[name], report)
    finish_all(model, plan.order, done, rngs, report)
    out = {name: finished(model, name, done, rngs, report) for name in plan.order}
    if progress:
        progress("sample", total, total)
    return out


def check_rows(model: Model, rows: Mapping[str, int]) -> None:
    """--rows names tables that are sampled: an unknown name fails with a suggestion, and a
    reference table (copied whole) or one left out is said in one line, not silently ignored."""
    from relsynth.errors import RelsynthError

    for name in rows:
        model.schema.table(name)
        role = model.tables[name].role if name in model.tables else "excluded"
        if role == "reference":
            raise RelsynthError(
                f"--rows {name}: {name} is a reference table, copied whole and never sampled; "
                "give it the role data in a schema file (inspect -o) to sample it"
            )
        if role != "data":
            raise RelsynthError(f"--rows {name}: {name} is not sampled ({role}); leave it out of --rows")


def source_rows(model: Model, name: str) -> int:
    """A table's rows in the source: rows withheld for the holdout count as the source's, and a
    table learned from a sample of its rows counts all of them."""
    source = model.source or {}
    sampled = (source.get("source_rows") or {}).get(name)
    held = (source.get("holdout") or {}).get("rows", {}).get(name, 0)
    return int(sampled if sampled is not None else model.tables[name].n_rows + held)


def planned_rows(model: Model, name: str, scale: float) -> int:
    """A root table's rows at ``scale``, relative to the source (source_rows), one at least."""
    return max(1, round(scale * source_rows(model, name))) if scale > 0 else 0


MAX_EXCESS = 1.25  # past this, a table's children are thinned to the rows --scale asks for


def _thinned(counts: np.ndarray, excess: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Children per parent where the parents are ``excess`` times more than --scale asks for (a
    family's root kept at one row, 2 stores at --scale 0.001): as many times fewer, in proportion
    to the counts drawn, one at least; and the children's own excess (rounding up to one row).
    Drawn as if at full size, one store's 9,000 rentals all went to the one film sampled."""
    drawn = int(counts.sum())
    if excess <= MAX_EXCESS or not drawn:
        return counts, excess
    wanted = drawn / excess
    total = max(1, round(wanted))
    return kz.allocate(counts.astype(float), total, rng), total / wanted


def table_rngs(model: Model, seed: int, batch: int | None = None) -> dict[str, np.random.Generator]:
    """One generator per table, spawned from the seed by the table's place in the plan (and, for
    a batch of a partitioned family, by the batch's number: model/batches.py)."""
    order = model.plan.order
    keys = [(i,) if batch is None else (i, batch) for i in range(len(order))]
    return {
        n: np.random.default_rng(np.random.SeedSequence(seed, spawn_key=k))
        for n, k in zip(order, keys, strict=True)
    }


def sample_one(
    model: Model,
    name: str,
    done: dict[str, _Sampled],
    scale: float,
    fixed_rows: int | None,
    rng: np.random.Generator,
    report: SampleReport,
    batch: Batch | None = None,
) -> None:
    """Sample one table into ``done`` (its parents and the tables it points to are there)."""
    tm = model.tables[name]
    table = model.schema.table(name)
    if tm.role == "reference":
        frame = _reference_frame(tm, table)
        _rekey_reference(model, table, frame, done, rng)
        done[name] = _Sampled(frame, np.zeros((tm.n_rows, 0)), None)
    elif tm.role == "empty":
        done[name] = _Sampled(_empty_frame(table), np.zeros((0, 0)), None)
    else:
        done[name] = _sample_table(model, tm, table, done, scale, fixed_rows, rng, report, batch)
        _apply_aggregates(model, name, done)


def finish_all(
    model: Model,
    names: Sequence[str],
    done: dict[str, _Sampled],
    rngs: dict[str, np.random.Generator],
    report: SampleReport,
) -> None:
    """What needs every table of ``names`` sampled: cycle-cutting keys, back references, orders
    and flags settled late."""
    plan, schema = model.plan, model.schema
    for name in names:
        for fk in plan[name].deferred:
            assign_secondary(
                model, model.tables[name], schema.table(name), fk, done, rngs[name], report, deferred=True
            )
    deferred = {n: plan[n].deferred for n in plan.order}
    for name in names:  # a department's head works in it: the deferred key agrees
        if model.tables[name].back_refs:
            frames = {n: s.frame for n, s in done.items()}
            backrefs.apply(schema, deferred, frames, {name: model.tables[name].back_refs}, rngs[name])
    _settle_late(model, done, rngs, report, names)
    for name in names:  # last: settling moved the times a chain of visits is ordered by
        _ordered_self_refs(model, name, done, rngs[name])


def finished(
    model: Model,
    name: str,
    done: dict[str, _Sampled],
    rngs: dict[str, np.random.Generator],
    report: SampleReport,
    *,
    copy: bool = False,
) -> pd.DataFrame:
    """The table's frame typed like its SQL columns: what is written (``copy``: the sampled frame
    is left as it is, for tables sampled later to read)."""
    frame = done[name].frame
    table = model.schema.table(name)
    return _finish(
        table,
        model.tables[name],
        frame.copy() if copy else frame,
        rngs[name],
        report,
        fallback=_repeated_from(model, table, done),
    )


def _repeated_from(model: Model, table: Table, done: Mapping[str, _Sampled]) -> dict[str, pd.Series]:
    """For each NOT NULL column the table copies from a parent (relations' repeats), the parent's
    column as sampled: what a row draws from where no row of its own got a value to share (the
    parent was not found on any row; a credit memo's date was NULL on every row)."""
    out: dict[str, pd.Series] = {}
    tm = model.tables[table.name]
    fks = {fk.name: fk for fk in table.foreign_keys}
    for r in tm.repeats:
        fk = fks.get(r.fk)
        parent = done.get(fk.ref_table) if fk is not None else None
        if parent is None or r.column not in table.column_names or table.column(r.column).nullable:
            continue
        if r.parent_column in parent.frame:
            out.setdefault(r.column, parent.frame[r.parent_column])
    return out


# -- whole-table frames -------------------------------------------------------------------------
def _json_text(value: Any) -> Any:
    """A reference table's JSON value as JSON text, as generated documents are: PostgreSQL's driver
    reads jsonb as Python objects, which the writer and the CSV files would give as Python's repr
    ({'en': 'Moscow'}), and COPY refused. Text that is JSON already (MariaDB, SQLite) stays."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            json.loads(value)
            return value
        except ValueError:
            return json.dumps(value, ensure_ascii=False)  # a JSON string read as a Python str
    return json.dumps(value, ensure_ascii=False, default=str)


def _array_value(value: Any) -> Any:
    """A reference table's array, kept as JSON text in the model, as the list the writer takes."""
    if isinstance(value, str) and value.startswith("["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _reference_frame(tm: TableModel, table: Table) -> pd.DataFrame:
    data = tm.reference or {}
    cols = {}
    for col in table.columns:
        raw = pd.Series(data.get(col.name, [None] * tm.n_rows), dtype=object)
        if col.type.name == "binary":
            raw = raw.map(lambda v: None if v is None else bytes.fromhex(v))
        if col.type.name == "json":
            raw = raw.map(_json_text)
        if col.type.name == "array":
            raw = raw.map(_array_value)
        cols[col.name] = coerce(raw, col.type) if col.type.name not in {"binary", "json", "array"} else raw
    return pd.DataFrame(cols, columns=list(table.column_names))


def _rekey_reference(
    model: Model, table: Table, frame: pd.DataFrame, done: dict[str, _Sampled], rng: np.random.Generator
) -> None:
    """A copied table's keys into a synthesized one (a dictionary's creator -> users) name the
    synthetic rows: the source's keys named whoever the synthetic table happened to hold under
    those numbers, and nobody at --scale 0.2 (the load failed on orphans). Rows that named one
    parent name one synthetic parent (model.fit stores each parent as a code, never its key);
    a parent table sampled with no rows leaves the key NULL."""
    for fk in table.foreign_keys:
        parent = done.get(fk.ref_table)
        tm = model.tables.get(fk.ref_table)
        if fk.ref_table == table.name or tm is None or tm.role != "data" or parent is None:
            continue
        cols = list(fk.columns)
        if not kz.rekeyed(table, fk) or not all(c in frame for c in cols):
            continue
        known = frame[cols].notna().all(axis=1).to_numpy()
        codes, distinct = pd.factorize(frame.loc[known, cols].astype(str).agg("\x1f".join, axis=1))
        keys = parent.frame[list(fk.ref_columns)].dropna().drop_duplicates()
        if len(keys) and len(distinct) <= len(keys):
            picks = rng.permutation(len(keys))[: len(distinct)]
        else:
            picks = rng.integers(0, max(len(keys), 1), len(distinct))
        for c, rc in zip(cols, fk.ref_columns, strict=True):
            values = np.full(len(frame), None, dtype=object)
            if len(keys):
                values[known] = keys[rc].to_numpy(dtype=object)[picks[codes]]
            frame[c] = values


def _empty_frame(table: Table) -> pd.DataFrame:
    return pd.DataFrame(
        {c.name: coerce(pd.Series([], dtype=object), c.type) for c in table.columns},
        columns=list(table.column_names),
    )


def _one_each(
    model: Model,
    tm: TableModel,
    table: Table,
    context: ForeignKey,
    parent: _Sampled,
    done: dict[str, _Sampled],
    counts: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Rows per context parent where each row also has one of the parent's other children, and
    no such child more than one (a customer's payments, each of one of the customer's rentals or
    of none): as many as those children want, and the share without one. Drawn apart from the
    rentals, a customer's 30 payments met 20 rentals: rentals paid twice, or payments of none."""
    for fk in model.plan[table.name].secondary:
        q = done.get(fk.ref_table)
        sibling = model.plan[fk.ref_table].context if fk.ref_table in model.plan.tables else None
        if (
            q is None
            or q.parent_pos is None
            or len(q.parent_pos) != len(q.frame)
            or sibling is None
            or sibling.ref_table != context.ref_table
            or sibling.ref_columns != context.ref_columns
            or done.get(sibling.ref_table) is not parent
        ):
            continue
        matched = set(tm.key_matches.get(fk.name, []))
        if not all(pair in matched for pair in zip(context.columns, sibling.columns, strict=True)):
            continue
        if most_wanted(model, table, fk) != 1:
            continue
        wants = np.clip(np.round(np.nan_to_num(parent_wants(model, table, fk, q))), 0, 1)
        at = q.parent_pos
        ok = (at >= 0) & (at < len(counts))
        per = np.bincount(at[ok], weights=wants[ok], minlength=len(counts)).astype(np.int64)
        # The rows without one: as many as the drawn counts leave over (each multiset is the
        # source's, so at --scale 1 the table keeps its number of rows), spread like the counts.
        return per + kz.allocate(counts.astype(float), int(counts.sum() - per.sum()), rng)
    return counts


def _where_keyed(
    model: Model,
    tm: TableModel,
    table: Table,
    context: ForeignKey,
    parent: _Sampled,
    done: dict[str, _Sampled],
    counts: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Rows only for context parents that have a row each of them must name: a chart event under
    its patient names one of the patient's ICU stays (a key the source never leaves NULL, whose
    match binds it to the context parent). Drawn apart from the stays, a patient drawn no stay
    had chart events all the same, written without one (1,189 of 5,196). Their rows go to the
    parents that have one, spread like the counts, so the table keeps its number of rows."""
    from relsynth.model.relations import comparable

    if not len(counts) or not counts.sum():
        return counts
    for fk in model.plan[table.name].secondary:
        q = done.get(fk.ref_table)
        matched = dict(tm.key_matches.get(fk.name, []))
        if q is None or not len(q.frame) or tm.fk_null.get(fk.name, 1.0) > 0:
            continue
        if not all(c in matched and matched[c] in q.frame for c in context.columns):
            continue
        mine = pd.MultiIndex.from_arrays(
            [comparable(parent.frame[r]).to_numpy() for r in context.ref_columns]
        )
        theirs = pd.MultiIndex.from_arrays(
            [comparable(q.frame[matched[c]]).to_numpy() for c in context.columns]
        )
        has = np.asarray(mine.isin(theirs), dtype=bool)
        if not has.any() or has.all():
            continue
        moved = int(counts[~has].sum())
        counts = np.where(has, counts, 0)
        counts = counts + kz.allocate(counts.astype(float), moved, rng)
    return counts


# -- one data table -----------------------------------------------------------------------------
def _partitioned_parents(
    table: Table, context: ForeignKey, parents: pd.DataFrame, pos: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Rows whose context parent's key no partition takes (the partition key is that FK: a site
    of a scaled-up database past the partitions' listed sites) moved to a parent's whose key one
    does, drawn at random: each row keeps its place in a partition and a parent that exists."""
    found = partitions.bounds_check(table)
    if found is None or partitions.key_columns(table) != context.columns or not len(pos):
        return pos
    try:
        node = ck.parse(found.sql, table.sql_dialect)
    except ck.NotInterpretable:  # an expression of the key: the target judges the rows (target_checks)
        return pos
    keys = pd.DataFrame({context.columns[0]: parents[context.ref_columns[0]].to_numpy()})
    refused = ck.violations(node, keys)
    if not refused.any():
        return pos
    taken = np.flatnonzero(~refused)
    if not len(taken):
        return pos  # no parent any partition takes: the rows are dropped and said (target_checks)
    moved = refused[pos]
    out = pos.copy()
    out[moved] = taken[rng.integers(0, len(taken), int(moved.sum()))]
    return out


def _sample_table(
    model: Model,
    tm: TableModel,
    table: Table,
    done: dict[str, _Sampled],
    scale: float,
    fixed_rows: int | None,
    rng: np.random.Generator,
    report: SampleReport,
    batch: Batch | None = None,
) -> _Sampled:
    tp = model.plan[table.name]
    d_own = tm.n_own
    own_idx = list(range(d_own))
    ext_idx = list(range(d_own, len(tm.dims)))
    context = tp.context
    parent = done.get(context.ref_table) if context is not None else None
    excess = 1.0
    if context is None or parent is None:
        n = fixed_rows if fixed_rows is not None else planned_rows(model, table.name, scale)
        asked = scale * source_rows(model, table.name)
        if fixed_rows is None and 0 < asked < n:
            excess = n / asked
        z = rank_normalize(copula_sample(n, tm.corr, rng), rng, _counts(tm.dims))
        parent_pos = None
    else:
        pm = model.tables[context.ref_table]
        counts = decode_counts(pm, parent.z, f"{table.name}#count", parent.dims)
        if fixed_rows is not None:
            counts = kz.allocate(counts.astype(float), int(fixed_rows * (1 - tm.null_context)), rng)
        elif not counts.sum() and len(counts) and tm.n_rows and tm.null_context < 1 and scale > 0:
            counts = _one_child(pm, parent.z, table.name, counts, parent.dims)
            # One row where --scale asks for fewer: its children are thinned as much.
            asked = scale * source_rows(model, table.name)
            excess = 1 / asked if 0 < asked < 1 else 1.0
        else:
            counts, excess = _thinned(counts, parent.excess, rng)
        if fixed_rows is None:
            counts = _one_each(model, tm, table, context, parent, done, counts, rng)
        counts = _where_keyed(model, tm, table, context, parent, done, counts, rng)
        bound = children_bound(tm, table, context)
        if bound is not None and counts.max(initial=0) > bound:
            # A key (parent, seq) with seq in 1..3 holds three children per parent, whatever was drawn.
            clipped = int(np.maximum(counts - bound, 0).sum())
            report.clipped_children[table.name] = report.clipped_children.get(table.name, 0) + clipped
            counts = np.minimum(counts, bound)
        pos = np.repeat(np.arange(len(counts)), counts)
        n = len(pos)
        e = rng.standard_normal((n, d_own)) @ tm.within_chol.T if d_own else np.zeros((n, 0))
        if len(tm.sibling_corr) == d_own and (tm.sibling_corr < 0).any():  # siblings that spread a value
            u, pick = rng.random((n, d_own)), rng.random((len(counts), d_own))
            e = siblings.apart(e, pos, tm.sibling_corr, u, pick)
        z_own = np.zeros((n, d_own))
        for j, dim in enumerate(tm.dims[:d_own]):
            loc = decode_ext(pm, parent.z, f"{table.name}#loc:{dim.name}", parent.dims)
            spread = np.exp(decode_ext(pm, parent.z, f"{table.name}#scale:{dim.name}", parent.dims))
            z_own[:, j] = loc[pos] + spread[pos] * e[:, j]
        z_own = rank_normalize(z_own, rng)
        b, chol = conditional(tm.corr, own_idx, ext_idx)
        z_ext = (
            rank_normalize(sample_conditional(z_own, b, chol, rng), rng, _counts(tm.dims[d_own:]))
            if ext_idx
            else np.zeros((n, 0))
        )
        z = np.column_stack([z_own, z_ext]) if len(tm.dims) else np.zeros((n, 0))
        z = _one_per_family(tm, z, pos, rng)
        orphans = 0
        if 0 < tm.null_context < 1:
            orphans = round(tm.null_context * n / (1 - tm.null_context))
        elif tm.null_context >= 1:
            orphans = fixed_rows if fixed_rows is not None else max(0, round(scale * tm.n_rows))
        if orphans:
            z = np.vstack([z, rank_normalize(copula_sample(orphans, tm.corr, rng), rng, _counts(tm.dims))])
            pos = np.concatenate([pos, np.full(orphans, -1)])
        parent_pos = pos
        n = len(pos)

    frame = pd.DataFrame(index=pd.RangeIndex(n))
    values = _decode_columns(model, tm, table, z, done, parent_pos, rng)
    # Columns set after the first derivation (keys, repeats, numberings): the second derives only
    # from them. Run whole, it drew the conditionals again (units_cd given concept_cd, and so
    # valtype_cd) after the first run had set the NULLs they decide (nval_num): i2b2's
    # 'valtype_cd -> whether nval_num is NULL' failed on 6% of the facts (attack round 43a W1).
    arrived = {c.name for c in table.columns if c.name not in values}
    arrived |= {r.column for r in tm.repeats} | {nb.column for nb in tm.numbering}
    for col in table.columns:
        frame[col.name] = values.get(col.name, pd.Series(np.full(n, None, dtype=object)))
    xs.provisional_existence(tm, frame, z)
    late = (*tp.self_refs, *tp.deferred)
    offset, step = batch.offset(table.name, len(frame)) if batch is not None else (0, 1)
    primary_key(
        tm,
        table,
        frame,
        rng,
        context=context,
        pos=parent_pos,
        report=report,
        late=late,
        offset=offset,
        step=step,
        referenced=partitions.referenced_bounds(model.schema, table),
    )
    if context is not None and parent is not None and parent_pos is not None:
        parent_pos = _partitioned_parents(table, context, parent.frame, parent_pos, rng)
        fill_fk(frame, context, parent.frame, parent_pos)
        apply_repeats(tm, frame, context, parent.frame, parent_pos, rng)
    unplaceable = np.zeros(len(frame), dtype=bool)
    for fk in secondary_order(tm, tp.secondary):
        unplaceable |= assign_secondary(
            model,
            tm,
            table,
            fk,
            done,
            rng,
            report,
            frame=frame,
            z=z,
            parent_pos=parent_pos,
            batch=batch,
            dropped=unplaceable,
        )
    _unrepeated(tm, table, frame, rng)
    numbering(tm, frame, parent_pos, rng)
    if tm.repeats or tm.numbering:  # determinants that arrived from a parent, or were numbered
        _derive(tm, frame, rng, after=arrived)  # (seq -> is_primary)
    xs.numbers_in_text(tm, table, frame, rng)  # before records are avoided and CHECKs repaired
    for fk in tp.self_refs:
        self_reference(tm, frame, fk, parent_pos, rng, table)
        _self_ref_checks(table, frame, fk)
    generated_columns(model, tm, table, frame, rng, report)
    native_columns(tm, table, frame, rng)
    if tm.persons is not None and context is None:  # a flat table's rows, gathered into persons
        persons.gather(tm.persons, frame, rng)
    copy_from_parents(tm, table, frame, context, parent_pos, done)
    avoid_records(tm, table, frame, rng, report, floor=_floor(tm, frame, parent, parent_pos))
    _unordered_pairs(model, tm, table, frame, context, parent.frame if parent else None, parent_pos)
    _repair_checks(tm, table, frame, rng, report)
    frames = {name: s.frame for name, s in done.items()}
    _settle(model, tm, table, frame, frames, parent.frame if parent else None, parent_pos, rng, report)
    if renumber(tm, frame, parent_pos, rng):  # visits numbered in the order settling left their dates
        _derive(tm, frame, rng, after={nb.column for nb in tm.numbering})
        xs.numbers_in_text(tm, table, frame, rng)
    derive_ranges(tm, table, frame)  # from the row's times as settled
    # Not re-derived after: a moved value may be outside a dependency's mapping (a NULL), and
    # conditionals drawn again would undo the CHECK repairs above.
    distinct_within_parent(tm, table, frame, parent_pos, context)
    taken = None
    if batch is not None:  # last: the steps above may move a generated value back onto a taken one
        _redraw_taken(model, tm, table, frame, rng, batch)
        taken = batch.taken(table.name)
    keep = unique_rows(tm, table, frame, parent_pos, tp, rng, report, taken) & ~unplaceable
    # A row still equal to a unique source record (no column could move it off) is not written;
    # its children are never sampled, since they are drawn for the rows kept here.
    copies = record_copies(tm, table, frame) & keep
    report.unmoved_records.pop(table.name, None)
    if copies.any():
        report.dropped_records[table.name] = report.dropped_records.get(table.name, 0) + int(copies.sum())
        keep &= ~copies
    keep = _no_dangling_self_refs(table, frame, keep, tp.self_refs)
    # One copy of the rows kept (frame[keep].reset_index copied them twice, the whole table when
    # every row is kept); the public take marks no copy of a slice, as reset_index's copy did not.
    frame = frame.copy() if keep.all() else frame.take(np.flatnonzero(keep))
    frame.index = pd.RangeIndex(len(frame))
    z = z[keep]
    parent_pos = parent_pos[keep] if parent_pos is not None else None
    if tm.numbering and not keep.all():  # rows left out leave no gap in a numbering (1, 2, 4)
        numbering(tm, frame, parent_pos, rng)
        _derive(tm, frame, rng, after={nb.column for nb in tm.numbering})
        xs.numbers_in_text(tm, table, frame, rng)
    if batch is not None:
        batch.keep(table.name, frame)
    return _Sampled(frame, z, parent_pos, excess=excess)


def copy_from_parents(
    tm: TableModel,
    table: Table,
    frame: pd.DataFrame,
    context: ForeignKey | None,
    parent_pos: np.ndarray | None,
    done: dict[str, Any],
) -> None:
    """Personal values the source copies from the parent wherever a row has one (TableModel.copies:
    an order's e-mail, its customer's) are the synthetic parent's generated value on those rows;
    rows under no parent (a guest's order) keep their own generated one."""
    from relsynth.model.fit import positions

    for r in tm.copies:
        fk = table.fk(r.fk)
        got = done.get(fk.ref_table)
        if r.column not in frame or got is None or r.parent_column not in got.frame:
            continue
        parent = got.frame
        if context is not None and fk.name == context.name and parent_pos is not None:
            pos = parent_pos
        elif all(c in frame for c in fk.columns):
            pos = positions(frame, fk.columns, parent, fk.ref_columns)
        else:
            continue
        linked = pos >= 0
        if not linked.any():
            continue
        values = frame[r.column].to_numpy(dtype=object, copy=True)
        values[linked] = parent[r.parent_column].to_numpy(dtype=object)[pos[linked]]
        frame[r.column] = values


def _unrepeated(tm: TableModel, table: Table, frame: pd.DataFrame, rng: np.random.Generator) -> None:
    """A NOT NULL column copied from a parent the row did not get (a condition's start date, the
    start of its visit, where its person was drawn no visit) gives way: it takes the value of
    another row of the table, drawn at random, and is settled with the row's other relations. The
    copy holds wherever there is a parent."""
    for r in tm.repeats:
        if r.column not in frame or table.column(r.column).nullable:
            continue
        _fill_nulls(frame, r.column, rng)


def _fill_nulls(
    frame: pd.DataFrame, column: str, rng: np.random.Generator, only: np.ndarray | None = None
) -> int:
    """NULLs of ``column`` (those of ``only`` rows) replaced by values of other rows, drawn at
    random; how many were."""
    missing = frame[column].isna().to_numpy()
    if only is not None:
        missing &= only
    have = np.flatnonzero(~missing)
    if not missing.any() or not len(have):
        return 0
    values = frame[column].to_numpy(dtype=object, copy=True)
    values[missing] = values[rng.choice(have, int(missing.sum()))]
    dtype = frame[column].dtype
    filled = pd.Series(values, index=frame.index, dtype=object)
    frame[column] = filled if dtype.kind == "O" else filled.astype(dtype)
    return int(missing.sum())


def _draw_nulls(frame: pd.DataFrame, column: str, pool: pd.Series, rng: np.random.Generator) -> int:
    """NULLs of ``column`` replaced by values drawn from ``pool``'s (where it has any); how many were."""
    missing = frame[column].isna().to_numpy()
    have = pool.dropna().to_numpy(dtype=object)
    if not missing.any() or not len(have):
        return 0
    values = frame[column].to_numpy(dtype=object, copy=True)
    values[missing] = have[rng.integers(0, len(have), int(missing.sum()))]
    dtype = frame[column].dtype
    filled = pd.Series(values, index=frame.index, dtype=object)
    frame[column] = filled if dtype.kind == "O" else filled.astype(dtype)
    return int(missing.sum())


def _ordered_self_refs(model: Model, name: str, done: dict[str, _Sampled], rng: np.random.Generator) -> None:
    """A self-reference that names an earlier row by a time (a visit's preceding visit) still
    does, whatever moved the times after the links were drawn (settling orders and intervals,
    moving a row off a source record): the chains of the groups it no longer holds in are linked
    again in the final order (keys.relink_in_order)."""
    from relsynth.model.exact_fit import seconds
    from relsynth.model.relations import comparable
    from relsynth.sqltypes import STRING_TYPES

    tm = model.tables[name]
    if tm.role != "data" or name not in done:
        return
    table = model.schema.table(name)
    s = done[name]
    frame = s.frame
    for fk in model.plan[name].self_refs:
        forest = tm.forests.get(fk.name)
        if forest is None or forest.order_by is None or len(fk.columns) != 1 or not len(frame):
            continue
        if forest.order_by not in frame or fk.columns[0] not in frame:
            continue
        c, r = fk.columns[0], fk.ref_columns[0]
        order = seconds(frame[forest.order_by], table.column(forest.order_by).type.name in STRING_TYPES)
        keys = pd.Index(list(comparable(frame[r])))
        parent = np.asarray(keys.get_indexer(list(comparable(frame[c]))), dtype=np.int64)
        groups = s.parent_pos if s.parent_pos is not None else np.zeros(len(frame), dtype=np.int64)
        if forest.within_group:
            new = kz.relink_in_order(parent, np.asarray(groups, dtype=np.int64), order)
        else:  # rows name rows of other groups: each takes an earlier row's place
            new = kz.earlier_parents(parent, order, rng)
        changed = np.flatnonzero(new != parent)
        if not len(changed):
            continue
        values = frame[c].to_numpy(dtype=object, copy=True)
        ref = frame[r].to_numpy(dtype=object)
        to = new[changed]
        roots = to < 0
        nullable = table.column(c).nullable
        values[changed] = np.where(roots, None if nullable else ref[changed], ref[np.maximum(to, 0)])
        dtype = frame[c].dtype
        fixed = pd.Series(values, index=frame.index, dtype=object)
        frame[c] = fixed if dtype.kind == "O" else fixed.astype(dtype)
    # The laws its self-references hold (a mother is female, 18 years older, not the father).
    selfrefs.keep(table, frame, model.plan[name].self_refs, tm.forests, rng)


def _redraw_taken(
    model: Model, tm: TableModel, table: Table, frame: pd.DataFrame, rng: np.random.Generator, batch: Batch
) -> None:
    """Generated UNIQUE values (an e-mail, a shaped key) that an earlier batch wrote, drawn again."""
    drawn = {s.name for s in tm.columns if s.how in {"pii", "text", "id"}}
    shaped = tm.key.kind == "shape" and tm.key.shapes is not None and len(table.primary_key) == 1
    if shaped:
        drawn.add(table.primary_key[0])

    def draw(rows: pd.DataFrame) -> pd.DataFrame:
        generated_columns(model, tm, table, rows, rng, None)
        if shaped:
            col = table.column(table.primary_key[0])
            guard = tm.column(col.name).guard
            written = len((batch.taken(table.name) or {}).get((col.name,), ()))  # earlier batches'
            held = len(frame) + written + (len(guard) if guard is not None else 0)
            shapes = tm.key.shapes.holding(held)  # type: ignore[union-attr]
            made = fresh(shapes.generate, len(rows), rng, guard=guard, unique=True)
            rows[col.name] = kz.fit_keys(made, col.type.length)
        return rows

    batch.redraw(table.name, frame, draw, drawn, rng)


def _self_ref_checks(table: Table, frame: pd.DataFrame, fk: Any) -> None:
    """A self-reference drawn from the table's own keys may break a CHECK on its columns
    (parent_id IN (7, 16)): there it becomes NULL where its own columns may be."""
    from relsynth.graph import late_columns

    own = late_columns(table, fk)
    if not own or not len(frame):
        return
    for check in table.checks:
        try:
            node = ck.parse(check.sql, table.sql_dialect)
        except ck.NotInterpretable:
            continue
        cols = ck.columns_of(node)
        if not cols & set(fk.columns) or not cols <= set(frame.columns):
            continue
        bad = np.asarray(ck.violations(node, frame), dtype=bool)
        for c in own:
            values = frame[c].astype(object).to_numpy(copy=True)
            values[bad] = None
            frame[c] = values


def _no_dangling_self_refs(
    table: Table, frame: pd.DataFrame, keep: np.ndarray, fks: tuple[Any, ...] | list[Any]
) -> np.ndarray:
    """Rows left out may be another row's parent (a preceding visit): such a reference becomes
    NULL where its own columns may be (late_columns), else the row is left out too."""
    from relsynth.graph import late_columns
    from relsynth.model.relations import comparable

    keep = keep.copy()
    changed = True
    while changed and not keep.all():
        changed = False
        for fk in fks:
            keys = pd.DataFrame({r: comparable(frame[r]) for r in fk.ref_columns})
            kept = set(keys[keep].itertuples(index=False, name=None))
            refs = pd.DataFrame({c: comparable(frame[c]) for c in fk.columns})
            known = frame[list(fk.columns)].notna().all(axis=1).to_numpy()
            found = np.fromiter(
                (r in kept for r in refs.itertuples(index=False, name=None)), dtype=bool, count=len(frame)
            )
            dangling = keep & known & ~found
            if not dangling.any():
                continue
            own = late_columns(table, fk)
            if own:
                for c in own:
                    values = frame[c].astype(object).to_numpy(copy=True)
                    values[dangling] = None
                    frame[c] = values
            else:
                keep &= ~dangling
                changed = True
    return keep


def _one_child(
    pm: TableModel, z: np.ndarray, name: str, counts: np.ndarray, dims: tuple[str, ...] | None = None
) -> np.ndarray:
    """At least one row, as a root table keeps one at any scale: sakila's 2 stores under 700
    addresses drew none at --scale 0.1, and every customer, rental and payment under them went
    with them. The parent whose count was drawn highest has it."""
    names = dims if dims is not None else tuple(d.name for d in pm.dims)
    idx = next((i for i, d in enumerate(names) if d == f"{name}#count"), None)
    counts = counts.copy()
    counts[int(np.argmax(z[:, idx])) if idx is not None and z.shape[0] else 0] = 1
    return counts


def _one_per_family(tm: TableModel, z: np.ndarray, pos: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The latent values of a family column (tm.family: a patient's race on each encounter) and
    of its NULL flag taken from each parent's first child, by each child with the column's chance,
    so that siblings agree as often as real ones do. ``pos`` is sorted (children are laid out
    parent by parent). One draw per child decides for every column (a child takes the first
    sibling's value of each column whose chance is above it): decided column by column, a child
    took the first's admission type and its own admission source one time in four, pairs the
    source seldom has (diabetes130: the pair's total variation 0.32); a column shared less often
    is then shared only with the columns shared more often, as a visit repeats its type and
    source together."""
    if not tm.family or not len(pos):
        return z
    first = np.searchsorted(pos, pos, side="left")
    before = z
    z = z.copy()
    u = rng.random(len(pos))
    taken = np.zeros(len(pos), dtype=np.int64)  # how many family columns each child takes
    shared: list[np.ndarray] = []  # their dims, most often shared first
    for column, keep in sorted(tm.family.items(), key=lambda item: (-item[1], item[0])):
        idx = np.array([j for j, d in enumerate(tm.dims[: tm.n_own]) if d.column == column], dtype=np.int64)
        if not len(idx):
            continue
        rows = np.flatnonzero(u < keep) if keep < 1 else np.arange(len(pos))
        z[np.ix_(rows, idx)] = z[np.ix_(first[rows], idx)]
        taken[rows] += 1
        shared.append(idx)
    return _given_shared(tm.corr, before, z, taken, shared)


def _given_shared(
    corr: np.ndarray, before: np.ndarray, z: np.ndarray, taken: np.ndarray, shared: list[np.ndarray]
) -> np.ndarray:
    """A child's other latent values moved with the family values it took from its first
    sibling, as the copula has them depend on those: z_rest + B (z_taken - z_drawn), B the
    regression of the rest on the taken columns. Left as drawn, a patient's race on a later
    encounter was its first's while the payer and admission type had been drawn with another
    race (diabetes130: race x payer among the pairs a classifier told apart)."""
    if corr.shape != (z.shape[1], z.shape[1]) or not np.isfinite(corr).all():
        return z
    moved_dims: set[int] = set()
    for m in range(1, len(shared) + 1):
        rows = np.flatnonzero(taken == m)
        if not len(rows):
            continue
        fam = np.concatenate(shared[:m])
        rest = np.setdiff1d(np.arange(z.shape[1]), fam)
        delta = z[np.ix_(rows, fam)] - before[np.ix_(rows, fam)]
        moved = np.flatnonzero(np.abs(delta).max(axis=1) > 0)
        if not len(rest) or not len(moved):
            continue
        b = np.linalg.lstsq(corr[np.ix_(fam, fam)], corr[np.ix_(fam, rest)], rcond=1e-8)[0]
        z[np.ix_(rows[moved], rest)] += delta[moved] @ b
        moved_dims.update(int(j) for j in rest)
    # Each moved column keeps the values it was drawn with, in the new order: children per parent
    # stay at their exact quantiles (each table keeps its row count), the rest their marginals.
    for j in sorted(moved_dims - {int(j) for idx in shared for j in idx}):
        z[_stable_order(z[:, j]), j] = np.sort(before[:, j])
    return z


def _stable_order(x: np.ndarray) -> np.ndarray:
    """np.argsort(x, kind="stable"), by the faster unstable sort where no two values tie (NaN
    included), which then gives the one order there is."""
    x = np.ascontiguousarray(x)
    order = np.argsort(x)
    ranked = x[order]
    if (ranked[1:] == ranked[:-1]).any() or np.isnan(ranked[-1:]).any():
        return np.argsort(x, kind="stable")
    return order


def _counts(dims: list[Dim]) -> list[bool]:
    """Which dimensions are children per parent: drawn at their exact quantiles, so a table's row
    count at scale 1 is the source's (values are sampled: their counts are not copied)."""
    return [d.role in {"count", "refcount"} for d in dims]


def _decode_columns(
    model: Model,
    tm: TableModel,
    table: Table,
    z: np.ndarray,
    done: dict[str, _Sampled],
    parent_pos: np.ndarray | None,
    rng: np.random.Generator,
) -> dict[str, pd.Series]:
    n = z.shape[0]
    out: dict[str, pd.Series] = {}
    nulls: dict[str, np.ndarray] = {}
    pending: list[tuple[int, Any]] = []
    late_nulls: dict[str, tuple[int, ByLevel]] = {}  # NULL shares per level of a category of the row
    for i, dim in enumerate(tm.dims[: tm.n_own]):
        if dim.role == "null" and dim.column and isinstance(dim.encoder, ByLevel):
            late_nulls[dim.column] = (i, dim.encoder)
        elif dim.role == "null" and dim.column:
            nulls[dim.column] = np.asarray(dim.encoder.decode(z[:, i]), dtype=bool)
        elif dim.role == "value" and dim.fk and dim.name.endswith("#ref"):
            fk = next(f for f in table.foreign_keys if f.name == dim.fk)
            tuples = dim.encoder.decode(z[:, i])
            for k, c in enumerate(fk.columns):
                out[c] = pd.Series([None if t is None else t[k] for t in tuples], dtype=object)
        elif dim.role == "value":
            pending.append((i, dim))
    # Anchored columns need their base first: decode in anchor order.
    context = model.plan[table.name].context
    parent_frame = (
        done[context.ref_table].frame if context is not None and context.ref_table in done else None
    )
    seconds: dict[str, np.ndarray] = {}
    twins = date_roots(tm.parts)  # a base derived as the date of a time: computed from that time
    keyed: list[str] = []
    if context is not None and parent_frame is not None and parent_pos is not None:
        # What the row takes from its parent, first: a number may be drawn per level of it (a
        # lab value per patient's race); apply_repeats sets it again, with its NULLs, after.
        for r in tm.repeats:
            if r.fk == context.name and r.parent_column in parent_frame and r.column not in out:
                out[r.column] = pd.Series(_take(parent_frame[r.parent_column], parent_pos), dtype=object)
        # A code of the key into the parent (a result's loinc_code): its parent's, which key
        # assignment sets again after; meanwhile it picks the level of the values drawn per code.
        by_code = {g for _, d in pending if isinstance(d.encoder, ByLevel) for g in d.encoder.givens}
        for c, pc in zip(context.columns, context.ref_columns, strict=True):
            if c in by_code and c not in out and pc in parent_frame:
                out[c] = pd.Series(_take(parent_frame[pc], parent_pos), dtype=object)
                keyed.append(c)
    remaining = pending
    for _ in range(len(pending) + 1):
        later = []
        waiting = {d.column for _, d in remaining if d.column not in out}
        for i, dim in remaining:
            col = dim.column
            if col in late_nulls and col not in nulls:
                j, by = late_nulls[col]
                if set(by.givens) & waiting:
                    later.append((i, dim))  # its category first: the level picks the NULL share
                    continue
                given = _given_frame(out, by, n)
                nulls[col] = np.asarray(by.decode_given(z[:, j], given, rng), dtype=bool)
            anchor = tm.anchors.get(col)
            own_base = twins.get(anchor.base, anchor.base) if anchor is not None else ""
            if anchor is not None and anchor.fk is None and own_base not in seconds:
                later.append((i, dim))
                continue
            values: np.ndarray
            if isinstance(dim.encoder, Temporal):
                if anchor is not None:
                    base = (
                        (seconds[own_base] if own_base == anchor.base else part_of(seconds[own_base], "date"))
                        if anchor.fk is None
                        else _parent_seconds(parent_frame, anchor.base, parent_pos, n)
                    )
                    step = gap_step(dim.encoder.resolution)
                    # whole days from the base's day (fit.py learns the gap so)
                    s = step_floor(base, step) + dim.encoder.inner.decode(z[:, i], rng) * step
                    if dim.encoder.bounds:  # in the column's own range, and never before its base
                        lo, hi = dim.encoder.bounds
                        s = np.where(np.isnan(s), s, np.clip(s, lo, np.fmax(hi, base)))
                else:
                    s = dim.encoder.decode_seconds(z[:, i], rng)
                if col in nulls:
                    s = np.where(nulls[col], np.nan, s)
                seconds[col] = s
                values = dim.encoder.values(s, rng)
            elif isinstance(dim.encoder, ByLevel) and set(dim.encoder.givens) & waiting:
                later.append((i, dim))  # its categories first: the level picks the marginal
                continue
            else:
                if isinstance(dim.encoder, ByLevel):
                    values = dim.encoder.decode_given(z[:, i], _given_frame(out, dim.encoder, n), rng)
                else:
                    values = (
                        dim.encoder.decode(z[:, i], rng)
                        if not isinstance(dim.encoder, Categorical)
                        else dim.encoder.decode(z[:, i])
                    )
                if not isinstance(dim.encoder, Categorical):
                    values = values.astype(object)
                offset = tm.column(col).offset if col is not None else None
                if offset is not None:  # exact integers again (model/spec.py ColumnSpec.offset)
                    values = np.array(
                        [None if pd.isna(v) else offset + round(float(v)) for v in values], dtype=object
                    )
                if col in nulls:
                    values = np.where(nulls[col], np.full(len(values), None, dtype=object), values)
            out[col] = pd.Series(values, dtype=object)
        remaining = later
        if not remaining:
            break
    for c in keyed:  # key assignment sets them, as for any key
        out.pop(c, None)
    _derive(tm, out, rng)
    return out


def _given_frame(out: dict[str, pd.Series], by: ByLevel, n: int) -> pd.DataFrame | pd.Series:
    """The columns a ByLevel encoder draws given, as decoded so far (NULL where not)."""
    none = pd.Series([None] * n, dtype=object)
    given = pd.DataFrame({g: out.get(g, none) for g in by.givens})
    return given if by.also else given[by.given]


def _derive(
    tm: TableModel,
    out: dict[str, Any] | pd.DataFrame,
    rng: np.random.Generator,
    after: set[str] | None = None,
) -> None:
    """Columns fixed by, or drawn given, other columns, in dependency order; and dependent NULLs.

    Runs once after decoding and again after parents' values arrive; a relation whose determinant
    is not known yet is skipped and done on the later run. ``after``: only what follows from these
    columns (renumbered ones), directly or through another derived column.
    """
    from graphlib import TopologicalSorter

    from relsynth.model.relations import given_values

    relations: dict[str, Any] = {d.target: d for d in tm.dependencies}
    relations.update({c.target: c for c in tm.conditionals})
    givens = {t: getattr(r, "givens", (r.determinant,)) for t, r in relations.items()}
    order = TopologicalSorter({t: set(givens[t]) for t in relations}).static_order()
    for target in order:
        relation = relations.get(target)
        if relation is None or any(g not in out for g in givens[target]):
            continue
        if after is not None:
            if not set(givens[target]) & after:
                continue
            after = after | {target}
        given = pd.Series(out[relation.determinant])
        spec = tm.column(target)
        if given.isna().all() and len(given) and not _null_is_a_value(spec):
            continue  # its determinant has not arrived yet (or a later run derives it again)
        if target in {c.target for c in tm.conditionals}:
            if len(givens[target]) > 1:  # drawn per pair of values of its columns
                given = given_values(out, relation).set_axis(given.index)
            out[target] = _draw_conditional(spec, given, rng)
        else:
            out[target] = _per_distinct(given, _lookup(spec.mapping, None))
    for spec in tm.columns:
        if after is not None and spec.null_determinant not in after:
            continue
        if spec.null_determinant and spec.name in out and spec.null_determinant in out:
            det = pd.Series(out[spec.null_determinant])
            isnull = _per_distinct(det, _lookup(spec.null_mapping, False)).astype(bool)
            values = pd.Series(out[spec.name]).astype(object).to_numpy(copy=True)
            values[isnull] = None
            out[spec.name] = values


def _null_is_a_value(spec: Any) -> bool:
    """Whether a NULL determinant has its own target in the source (prefix NULL -> gender F)."""
    if spec.mapping:
        return any(a is None for a, _ in spec.mapping)
    if spec.table:
        return any(a is None for a, _, _ in spec.table["pairs"])
    return False


def _draw_conditional(spec: Any, given: pd.Series, rng: np.random.Generator) -> np.ndarray:
    """Draw each row's value from P(target | determinant), smoothed toward the target's marginal
    among the targets seen with that determinant: a level never seen with it (a city with another
    city's postal code) is a pair no source row has, the first thing a classifier tells apart."""
    from relsynth.model.relations import SMOOTHING

    table = spec.table or {"pairs": [], "marginal": [[None, 1]]}
    levels = [b for b, _ in table["marginal"]]
    index = {_k(b): i for i, b in enumerate(levels)}
    marginal = np.array([k for _, k in table["marginal"]], dtype=float)
    marginal /= marginal.sum()
    rows: dict[Any, np.ndarray] = {}
    for a, b, k in table["pairs"]:
        counts = rows.setdefault(_k(a), np.zeros(len(levels)))
        counts[index[_k(b)]] += k
    keys = _per_distinct(given, _k)
    out = np.empty(len(given), dtype=object)
    codes, uniques = pd.factorize(keys, use_na_sentinel=False)
    for code, key in enumerate(uniques):
        seen = rows.get(key)
        p = marginal if seen is None else seen + SMOOTHING * np.where(seen > 0, marginal, 0.0)
        where = np.flatnonzero(codes == code)
        out[where] = np.asarray(levels, dtype=object)[rng.choice(len(levels), size=len(where), p=p / p.sum())]
    return out


def _lookup(pairs: list[list[Any]] | None, default: Any) -> Callable[[Any], Any]:
    """value -> its mapped value from [[key, value], ...] pairs, keys matched across spellings."""
    mapping = {_k(a): b for a, b in (pairs or [])}
    return lambda v: mapping.get(_k(v), default)


def _per_distinct(values: pd.Series, fn: Callable[[Any], Any]) -> np.ndarray:
    """fn of each value (an object array), called once per distinct value: a determinant has a few
    levels and a child table millions of rows. Values equal in Python (1, 1.0, True) are one
    level, as they are one dictionary key to fn's lookups."""
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
    except TypeError:  # unhashable values (lists)
        return values.map(fn).to_numpy(dtype=object)
    mapped = np.empty(len(uniques), dtype=object)
    for i, u in enumerate(uniques):  # one by one: a tuple is one value, not a row to spread
        mapped[i] = fn(u)
    return mapped[codes]


def _k(v: Any) -> Any:
    """A dictionary key that matches across int/float/Decimal/numpy spellings of a value."""
    if isinstance(v, np.generic):
        v = v.item()
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if hasattr(v, "as_tuple"):  # Decimal
        v = float(v)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, list):
        return tuple(v)
    if isinstance(v, tuple):  # a pair's values (relations.given_values), each a key as above
        return tuple(_k(x) for x in v)
    return v


def _parent_seconds(parent: pd.DataFrame | None, column: str, pos: np.ndarray | None, n: int) -> np.ndarray:
    if parent is None or pos is None or column not in parent:
        return np.zeros(n)
    values = parent[column]
    secs = np.full(len(values), np.nan)
    known = values.notna().to_numpy()
    if known.any():
        kv = values[known]
        text = isinstance(kv.iloc[0], str)
        secs[known] = to_epoch_seconds(kv.reset_index(drop=True), text_format="iso" if text else None)
    out = np.where(pos >= 0, secs[np.maximum(pos, 0)], np.nan)
    return out


def _floor(
    tm: TableModel, frame: pd.DataFrame, parent: _Sampled | pd.DataFrame | None, parent_pos: np.ndarray | None
) -> np.ndarray | None:
    """The seconds the record guard's column may not be moved below on each row: the day (or the
    instant) of the base it was drawn from (_decode_columns), an invoice's order's day. A step of a
    day off a source record put 14% of invoices issued on their order's day on the day before."""
    col = tm.record_nudge
    anchor = tm.anchors.get(col) if col is not None else None
    dim = next((d for d in tm.dims if d.column == col and d.role == "value"), None)
    if anchor is None or dim is None or not isinstance(dim.encoder, Temporal):
        return None
    parent_frame = parent.frame if isinstance(parent, _Sampled) else parent
    root = date_roots(tm.parts).get(anchor.base, anchor.base)
    if anchor.fk is not None:
        if parent_frame is None or parent_pos is None or anchor.base not in parent_frame:
            return None
        base = _parent_seconds(parent_frame, anchor.base, parent_pos, len(frame))
    elif root in frame:
        base = _parent_seconds(frame, root, np.arange(len(frame)), len(frame))
    else:
        return None
    step = 86400.0 if root != anchor.base else gap_step(dim.encoder.resolution)
    return step_floor(base, step)


def _settle(
    model: Model,
    tm: TableModel,
    table: Table,
    frame: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    parent: pd.DataFrame | None,
    parent_pos: np.ndarray | None,
    rng: np.random.Generator,
    report: SampleReport,
) -> None:
    """Orders, intervals and derived columns (exact_sample.settle), then no row left equal to a
    unique source record: a row moved off one is settled again."""
    times = xs.Times()
    report.bent(table.name, xs.settle(model.schema, tm, table, frame, frames, parent, parent_pos, rng, times))
    for sign in (1, -1, 1, -1):  # repairs may land on a record; a value on its bound moves off one way only
        floor = _floor(tm, frame, parent, parent_pos)
        if not avoid_records(tm, table, frame, rng, report, sign=sign, rounds=1, floor=floor):
            break
        if tm.record_nudge is not None:
            times.forget(frame, tm.record_nudge)
        report.bent(
            table.name, xs.settle(model.schema, tm, table, frame, frames, parent, parent_pos, rng, times)
        )


def _settle_late(
    model: Model,
    done: dict[str, _Sampled],
    rngs: dict[str, np.random.Generator],
    report: SampleReport,
    names: Sequence[str],
) -> None:
    """Once every table exists: orders through rows sampled after a table (a death recorded in a
    sibling table), flags saying whether children exist, and whatever follows from them, parents
    first so a child settles against its parent's final values."""
    frames = {name: s.frame for name, s in done.items()}
    changed: set[str] = set()
    for name in names:
        tm = model.tables[name]
        context = model.plan[name].context
        touched = context is not None and context.ref_table in changed
        if tm.role != "data" or not (tm.reaches or tm.existence or touched):
            continue
        table = model.schema.table(name)
        s = done[name]
        before = s.frame.copy()
        xs.existence(model.schema, tm, table, frames)
        parent = done[context.ref_table].frame if context is not None and context.ref_table in done else None
        report.bent(
            name, xs.settle(model.schema, tm, table, s.frame, frames, parent, s.parent_pos, rngs[name])
        )
        if not s.frame.equals(before):
            changed.add(name)
            _settle(model, tm, table, s.frame, frames, parent, s.parent_pos, rngs[name], report)
            _drop_late_copies(model, name, done, report)
            frames[name] = done[name].frame
            _apply_aggregates(model, name, done)


def _drop_late_copies(model: Model, name: str, done: dict[str, _Sampled], report: SampleReport) -> None:
    """Rows that settling late (orders through tables sampled after this one) left equal to a
    unique source record, after every move: not written, as when the table was sampled (at
    --scale 3, 4 of 8,920 OMOP drug exposures equalled one). Only where no row of another table
    names this one's rows yet: dropping a parent would leave its children pointing nowhere."""
    s = done[name]
    copies = record_copies(model.tables[name], model.schema.table(name), s.frame)
    if not copies.any():
        return
    named = any(
        fk.ref_table == name and other != name
        for other in done
        for fk in model.schema.table(other).foreign_keys
    )
    if named:
        report.unmoved_records[name] = report.unmoved_records.get(name, 0) + int(copies.sum())
        return
    keep = ~copies
    report.dropped_records[name] = report.dropped_records.get(name, 0) + int(copies.sum())
    pos = s.parent_pos[keep] if s.parent_pos is not None else None
    done[name] = _Sampled(s.frame[keep].reset_index(drop=True), s.z[keep], pos, s.dims, s.excess)


def _apply_aggregates(model: Model, child: str, done: dict[str, _Sampled]) -> None:
    """Parent columns that are sums over this child's rows (invoice.total)."""
    tp = model.plan[child]
    if tp.context is None or tp.context.ref_table not in done:
        return
    parent_name = tp.context.ref_table
    pm = model.tables[parent_name]
    c = done[child]
    if c.parent_pos is None:
        return
    pframe = done[parent_name].frame
    pos = c.parent_pos
    ok = pos >= 0
    for agg in pm.aggregates:
        if agg.child != child:
            continue
        values = np.ones(len(c.frame))
        for term in agg.terms:
            values = values * pd.to_numeric(c.frame[term], errors="coerce").to_numpy(dtype=float)
        sums = np.bincount(pos[ok], weights=np.nan_to_num(values[ok]), minlength=len(pframe))
        before = pframe[agg.column].copy()
        pframe[agg.column] = sums
        # The relation gives way where it would break a CHECK (price > 0 of a booking whose
        # payments were all left out): such a row keeps the value it was sampled with.
        broken = _breaks_checks(model.schema.table(parent_name), pframe, agg.column)
        if broken.any():
            values_now = pframe[agg.column].astype(object).to_numpy(copy=True)
            values_now[broken] = before.astype(object).to_numpy()[broken]
            pframe[agg.column] = pd.Series(values_now, index=pframe.index).infer_objects()


def _breaks_checks(table: Table, frame: pd.DataFrame, column: str) -> np.ndarray:
    """Rows breaking an interpretable CHECK that reads ``column``."""
    bad = np.zeros(len(frame), dtype=bool)
    for check in table.checks:
        try:
            node = ck.parse(check.sql, table.sql_dialect)
        except ck.NotInterpretable:
            continue
        cols = ck.columns_of(node)
        if column in cols and cols <= set(frame.columns):
            bad |= np.asarray(ck.violations(node, frame), dtype=bool)
    return bad


def _unordered_pairs(
    model: Model,
    tm: TableModel,
    table: Table,
    frame: pd.DataFrame,
    context: Any = None,
    parent: pd.DataFrame | None = None,
    parent_pos: np.ndarray | None = None,
) -> None:
    """Two keys to the same rows a CHECK orders (friendships: a < b) hold an unordered pair: a row
    drawn the other way round has them swapped, not dropped (half of the rows were). Only where
    nothing else tells the two apart: no other CHECK on them, and no relation (a date after a's,
    a value repeated from b's row, a parent's count of its rows by a) learned through either. An
    order through the context key (a friendship since after a's birth) is settled afterwards with
    the new parent: ``parent_pos`` (rows' positions in ``parent``) is moved with the swap."""
    if not len(frame):
        return
    singles = {fk.columns[0]: fk for fk in table.foreign_keys if len(fk.columns) == 1}
    for check in table.checks:
        try:
            node = ck.parse(check.sql, table.sql_dialect)
        except ck.NotInterpretable:
            continue
        if not isinstance(node, ck.Cmp) or node.op not in {"<", ">", "<=", ">="}:
            continue
        if not isinstance(node.left, ck.Col) or not isinstance(node.right, ck.Col):
            continue
        a, b = singles.get(node.left.name), singles.get(node.right.name)
        if (
            a is None
            or b is None
            or a.name == b.name
            or a.columns[0] not in frame
            or b.columns[0] not in frame
        ):
            continue
        if (a.ref_table, a.ref_columns) != (b.ref_table, b.ref_columns):
            continue
        pair = {a.columns[0], b.columns[0]}
        others = [c for c in table.checks if c is not check]
        if any(
            ck.columns_of(ck.parse(c.sql, table.sql_dialect)) & pair for c in others if _parses(c.sql, table)
        ):
            continue
        settled = context is not None and parent is not None and parent_pos is not None
        ordered = [o.fk for o in tm.orders if not settled or o.fk != context.name]
        through = ordered + [o.fk for o in tm.anchors.values()] + [r.fk for r in tm.repeats]
        if a.name in through or b.name in through:
            continue
        learned = repr((tm.reaches, tm.time_matches, tm.key_matches, tm.back_refs, tm.aggregates))
        if a.name in learned or b.name in learned:
            continue
        referenced = model.tables.get(a.ref_table)
        if referenced is not None and table.name in repr(referenced.aggregates):
            continue
        bad = np.asarray(ck.violations(node, frame), dtype=bool)
        x, y = (
            frame[a.columns[0]].to_numpy(dtype=object, copy=True),
            frame[b.columns[0]].to_numpy(dtype=object, copy=True),
        )
        x[bad], y[bad] = y[bad], x[bad].copy()
        swapped = np.asarray(
            ck.violations(node, frame.assign(**{a.columns[0]: x, b.columns[0]: y})), dtype=bool
        )
        undo = bad & swapped  # equal keys stay broken either way: left to the repair
        x[undo], y[undo] = y[undo], x[undo].copy()
        moved = np.flatnonzero(bad & ~undo)
        if settled and parent is not None and context.name in (a.name, b.name) and len(moved):
            from relsynth.model.relations import comparable, key_rows

            now = x if context.name == a.name else y
            keys = pd.Index(list(comparable(parent[context.ref_columns[0]])))
            pos = key_rows(keys, pd.Index(list(comparable(pd.Series(now[moved])))))
            parent_pos[moved] = np.where(pos >= 0, pos, parent_pos[moved])  # type: ignore[index]
        for c, v in ((a.columns[0], x), (b.columns[0], y)):
            dtype = frame[c].dtype
            fixed = pd.Series(v, index=frame.index, dtype=object)
            frame[c] = fixed if dtype.kind == "O" else fixed.astype(dtype)


def _parses(sql: str, table: Table) -> bool:
    try:
        ck.parse(sql, table.sql_dialect)
    except ck.NotInterpretable:
        return False
    return True


def _repair_checks(
    tm: TableModel, table: Table, frame: pd.DataFrame, rng: np.random.Generator, report: SampleReport
) -> None:
    """Make interpretable CHECKs hold; count what is left (the writer tests the rest in the target)."""
    free = {s.name for s in tm.columns if s.how in {"copula", "dependency", "text", "id", "pii"}}
    tp_keys = set(table.primary_key)
    nullable = {c.name for c in table.columns if c.nullable and c.name not in tp_keys}
    # A partitioned table's rows must each fit a partition: its bounds are kept as a CHECK is.
    for check in [*table.checks, *partitions.checks(table)]:
        try:
            node = ck.parse(check.sql, table.sql_dialect)
        except ck.NotInterpretable:
            report.uninterpretable_checks.setdefault(table.name, []).append(check.sql)
            continue
        if not ck.columns_of(node) <= set(frame.columns):
            continue
        if not ck.violations(node, frame).any():
            # repair and borrow would each find no row breaking it and return, changing nothing
            # and drawing nothing: the CHECK evaluated once instead of three times
            continue
        ck.repair(node, frame, free, rng, nullable=nullable)
        ck.borrow(node, frame, free, rng)
        left = int(ck.violations(node, frame).sum())
        if left:
            report.check_violations.setdefault(table.name, {})[check.sql] = left


def _not_null(
    table: Table,
    frame: pd.DataFrame,
    rng: np.random.Generator,
    tm: TableModel | None = None,
    fallback: Mapping[str, pd.Series] | None = None,
) -> None:
    """No NOT NULL column is written NULL: a value a relation left NULL (derived from a row that
    is not there) gives way to another row's value, or, where no row has one, to a value drawn
    from ``fallback`` (the parent column it is copied from): MariaDB stored the load time for
    such a NULL, PostgreSQL and SQLite refused it. Keys and UNIQUE columns are left to their own
    checks: another row's value would repeat them. A NOT NULL float column's missing values are
    the source's NaN (read as NULL: the only missing value it can hold), drawn at its share: kept."""
    nan = {
        s.name
        for s in (tm.columns if tm is not None else [])
        if s.null_share > 0 and table.column(s.name).type.name in FLOAT_TYPES
    }
    keyed = set(table.primary_key) | nan
    for fk in table.foreign_keys:
        keyed |= set(fk.columns)
    for u in table.unique:
        keyed |= set(u.columns)
    for col in table.columns:
        if col.nullable or col.name in keyed or col.name not in frame:
            continue
        filled = _fill_nulls(frame, col.name, rng)
        pool = (fallback or {}).get(col.name)
        if pool is not None and frame[col.name].isna().any():
            filled += _draw_nulls(frame, col.name, pool, rng)
        if filled:
            log.debug("%s.%s: %d NULLs took other rows' values (NOT NULL)", table.name, col.name, filled)
    for fk in table.foreign_keys:  # a result of no test code: (order_id, NULL) points nowhere
        if len(fk.columns) < 2 or not all(c in frame for c in fk.columns):
            continue
        nulls = frame[list(fk.columns)].isna().to_numpy()
        for k, c in enumerate(fk.columns):
            if table.column(c).nullable or c in table.primary_key:
                continue
            # Another column of the key NULL: the FK holds whatever this one is (MATCH SIMPLE), and
            # the row had no parent to take it from; another row's value, never a NULL it refuses.
            others = np.asarray(np.delete(nulls, k, axis=1).any(axis=1), dtype=bool)
            _fill_nulls(frame, c, rng, only=others)


def _finish(
    table: Table,
    tm: TableModel,
    frame: pd.DataFrame,
    rng: np.random.Generator,
    report: SampleReport,
    fallback: Mapping[str, pd.Series] | None = None,
) -> pd.DataFrame:
    """Type every column like its SQL column. A generated column keeps its learned values: a
    database that computes it ignores them, one that cannot (another dialect) stores them."""
    sentinel_dates.restore(frame, {c.name: c.sentinel for c in tm.columns if c.sentinel is not None})
    _not_null(table, frame, rng, tm, fallback)
    cols = {}
    for col in table.columns:
        values = frame[col.name] if col.name in frame else pd.Series([None] * len(frame), dtype=object)
        cols[col.name] = (
            values
            if col.type.name in {"binary", "json", "array", "other", "interval"}
            else coerce(values, col.type)
        )
    return pd.DataFrame(cols, index=pd.RangeIndex(len(frame)))
