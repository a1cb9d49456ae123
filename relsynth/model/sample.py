"""Sample a whole database from a Model: parents first, children for all parents at once.

A root table's rows come from its copula. A child's rows come from its parent's sampled
summaries: each parent row says how many children it has and where (location, spread) in the
child's copula space they lie; all children of all parents are drawn in one vectorized step.
Then keys are assigned (context, secondary, link, self-reference, cycle-breaking), exact
relations are re-imposed, CHECK constraints repaired, and values typed like their columns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from relsynth.model import checks as ck
from relsynth.model import keys as kz
from relsynth.model.copula import conditional, sample_conditional
from relsynth.model.copula import sample as copula_sample
from relsynth.model.pii import PeopleFactory, sex_flags
from relsynth.model.relations import comparable
from relsynth.model.spec import Model, TableModel
from relsynth.model.text import fresh
from relsynth.model.values import coerce
from relsynth.schema import ForeignKey, Table
from relsynth.transform import Categorical, Temporal, from_seconds, rank_normalize, to_epoch_seconds

log = logging.getLogger("relsynth")
Progress = Callable[[str, int, int], None]


@dataclass
class SampleReport:
    """What sampling had to bend, said per table (counts only, never values)."""

    dropped_duplicates: dict[str, int] = field(default_factory=dict)
    check_violations: dict[str, dict[str, int]] = field(default_factory=dict)
    uninterpretable_checks: dict[str, list[str]] = field(default_factory=dict)
    unmatched_keys: dict[str, int] = field(default_factory=dict)
    moved_records: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = []
        for t, k in self.moved_records.items():
            out.append(f"{t}: {k} rows moved one step off a source record they equalled by chance")
        for t, k in self.dropped_duplicates.items():
            out.append(f"{t}: {k} rows dropped to keep a key unique (more children than distinct partners)")
        for t, d in self.check_violations.items():
            for sql, k in d.items():
                out.append(f"{t}: {k} rows still violate CHECK ({sql}) after repair")
        for t, sqls in self.uninterpretable_checks.items():
            for sql in sqls:
                out.append(f"{t}: CHECK ({sql}) is not interpretable here; the writer tests it in the target")
        for t, k in self.unmatched_keys.items():
            out.append(f"{t}: {k} foreign keys could not honour a learned key match")
        return out


@dataclass
class _Sampled:
    frame: pd.DataFrame
    z: np.ndarray  # full copula scores (own + summaries) of the kept rows
    parent_pos: np.ndarray | None


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
    plan, schema = model.plan, model.schema
    rows = dict(rows or {})
    for name in rows:
        schema.table(name)  # unknown names fail with a suggestion
    seed = model.seed if seed is None else seed
    seeds = np.random.SeedSequence(seed).spawn(len(plan.order))
    rngs = {n: np.random.default_rng(s) for n, s in zip(plan.order, seeds, strict=True)}
    report = report if report is not None else SampleReport()
    done: dict[str, _Sampled] = {}
    total = len(plan.order)
    for i, name in enumerate(plan.order):
        if progress:
            progress("sample", i, total)
        tm = model.tables[name]
        table = schema.table(name)
        if tm.role == "reference":
            done[name] = _Sampled(_reference_frame(tm, table), np.zeros((tm.n_rows, 0)), None)
        elif tm.role == "empty":
            done[name] = _Sampled(_empty_frame(table), np.zeros((0, 0)), None)
        else:
            done[name] = _sample_table(model, tm, table, done, scale, rows.get(name), rngs[name], report)
            _apply_aggregates(model, name, done)
    for name in plan.order:
        for fk in plan[name].deferred:
            _assign_secondary(
                model, model.tables[name], schema.table(name), fk, done, rngs[name], report, deferred=True
            )
    out = {}
    for name in plan.order:
        out[name] = _finish(schema.table(name), model.tables[name], done[name].frame, rngs[name], report)
    if progress:
        progress("sample", total, total)
    return out


# -- whole-table frames -------------------------------------------------------------------------
def _reference_frame(tm: TableModel, table: Table) -> pd.DataFrame:
    data = tm.reference or {}
    cols = {}
    for col in table.columns:
        raw = pd.Series(data.get(col.name, [None] * tm.n_rows), dtype=object)
        if col.type.name == "binary":
            raw = raw.map(lambda v: None if v is None else bytes.fromhex(v))
        cols[col.name] = coerce(raw, col.type) if col.type.name not in {"binary", "json", "array"} else raw
    return pd.DataFrame(cols, columns=list(table.column_names))


def _empty_frame(table: Table) -> pd.DataFrame:
    return pd.DataFrame(
        {c.name: coerce(pd.Series([], dtype=object), c.type) for c in table.columns},
        columns=list(table.column_names),
    )


# -- one data table -----------------------------------------------------------------------------
def _sample_table(
    model: Model,
    tm: TableModel,
    table: Table,
    done: dict[str, _Sampled],
    scale: float,
    fixed_rows: int | None,
    rng: np.random.Generator,
    report: SampleReport,
) -> _Sampled:
    tp = model.plan[table.name]
    d_own = tm.n_own
    own_idx = list(range(d_own))
    ext_idx = list(range(d_own, len(tm.dims)))
    context = tp.context
    parent = done.get(context.ref_table) if context is not None else None
    if context is None or parent is None:
        # Scale is relative to the source: rows withheld for the holdout count as the source's.
        held = ((model.source or {}).get("holdout") or {}).get("rows", {}).get(table.name, 0)
        base = tm.n_rows + held
        n = fixed_rows if fixed_rows is not None else (max(1, round(scale * base)) if scale > 0 else 0)
        z = rank_normalize(copula_sample(n, tm.corr, rng), rng)
        parent_pos = None
    else:
        pm = model.tables[context.ref_table]
        counts = _decode_counts(pm, parent.z, f"{table.name}#count")
        if fixed_rows is not None:
            counts = kz.allocate(counts.astype(float), int(fixed_rows * (1 - tm.null_context)), rng)
        pos = np.repeat(np.arange(len(counts)), counts)
        n = len(pos)
        e = rng.standard_normal((n, d_own)) @ tm.within_chol.T if d_own else np.zeros((n, 0))
        z_own = np.zeros((n, d_own))
        for j, dim in enumerate(tm.dims[:d_own]):
            loc = _decode_ext(pm, parent.z, f"{table.name}#loc:{dim.name}")
            spread = np.exp(_decode_ext(pm, parent.z, f"{table.name}#scale:{dim.name}"))
            z_own[:, j] = loc[pos] + spread[pos] * e[:, j]
        z_own = rank_normalize(z_own, rng)
        b, chol = conditional(tm.corr, own_idx, ext_idx)
        z_ext = rank_normalize(sample_conditional(z_own, b, chol, rng), rng) if ext_idx else np.zeros((n, 0))
        z = np.column_stack([z_own, z_ext]) if len(tm.dims) else np.zeros((n, 0))
        orphans = 0
        if 0 < tm.null_context < 1:
            orphans = round(tm.null_context * n / (1 - tm.null_context))
        elif tm.null_context >= 1:
            orphans = fixed_rows if fixed_rows is not None else max(0, round(scale * tm.n_rows))
        if orphans:
            z = np.vstack([z, rank_normalize(copula_sample(orphans, tm.corr, rng), rng)])
            pos = np.concatenate([pos, np.full(orphans, -1)])
        parent_pos = pos
        n = len(pos)

    frame = pd.DataFrame(index=pd.RangeIndex(n))
    values = _decode_columns(model, tm, table, z, done, parent_pos, rng)
    for col in table.columns:
        frame[col.name] = values.get(col.name, pd.Series([None] * n, dtype=object))
    _primary_key(tm, table, frame, rng)
    if context is not None and parent is not None:
        _fill_fk(frame, context, parent.frame, parent_pos)
        _apply_repeats(tm, frame, context, parent.frame, parent_pos, derived_keys=True)
    unplaceable = np.zeros(len(frame), dtype=bool)
    for fk in tp.secondary:
        unplaceable |= _assign_secondary(
            model, tm, table, fk, done, rng, report, frame=frame, z=z, parent_pos=parent_pos
        )
    _numbering(tm, frame, parent_pos, rng)
    if tm.repeats or tm.numbering:
        _derive(
            tm, frame, rng
        )  # determinants that arrived from a parent, or were numbered (seq -> is_primary)
    for fk in tp.self_refs:
        _self_reference(tm, frame, fk, parent_pos, rng)
    _generated_columns(model, tm, table, frame, rng)
    _avoid_records(tm, table, frame, rng, report)
    _repair_checks(tm, table, frame, rng, report)
    _enforce_orders(tm, table, frame, context, parent.frame if parent else None, parent_pos)
    for sign in (1, -1, 1, -1):  # repairs may land on a record; a value on its bound moves off one way only
        if not _avoid_records(tm, table, frame, rng, report, sign=sign, rounds=1):
            break
        _enforce_orders(tm, table, frame, context, parent.frame if parent else None, parent_pos)
    keep = _unique_rows(tm, table, frame, parent_pos, tp, rng, report) & ~unplaceable
    frame = frame[keep].reset_index(drop=True)
    z = z[keep]
    parent_pos = parent_pos[keep] if parent_pos is not None else None
    return _Sampled(frame, z, parent_pos)


def _dim_values(tm: TableModel, z: np.ndarray, name: str) -> np.ndarray | None:
    for i, d in enumerate(tm.dims):
        if d.name == name:
            return d.encoder.decode(z[:, i]) if z.shape[0] else np.zeros(0)
    return None


def _decode_counts(pm: TableModel, z: np.ndarray, name: str) -> np.ndarray:
    v = _dim_values(pm, z, name)
    if v is None:
        return np.zeros(z.shape[0], dtype=np.int64)
    return np.maximum(np.round(np.asarray(v, dtype=float)), 0).astype(np.int64)


def _decode_ext(pm: TableModel, z: np.ndarray, name: str) -> np.ndarray:
    v = _dim_values(pm, z, name)
    return np.zeros(z.shape[0]) if v is None else np.asarray(v, dtype=float)


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
    for i, dim in enumerate(tm.dims[: tm.n_own]):
        if dim.role == "null" and dim.column:
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
    remaining = pending
    for _ in range(len(pending) + 1):
        later = []
        for i, dim in remaining:
            col = dim.column
            anchor = tm.anchors.get(col)
            if anchor is not None and anchor.fk is None and anchor.base not in seconds:
                later.append((i, dim))
                continue
            values: np.ndarray
            if isinstance(dim.encoder, Temporal):
                if anchor is not None:
                    base = (
                        seconds[anchor.base]
                        if anchor.fk is None
                        else _parent_seconds(parent_frame, anchor.base, parent_pos, n)
                    )
                    step = 86400.0 if dim.encoder.resolution == "day" else 1.0
                    s = base + dim.encoder.inner.decode(z[:, i], rng) * step
                else:
                    s = dim.encoder.decode_seconds(z[:, i], rng)
                if col in nulls:
                    s = np.where(nulls[col], np.nan, s)
                seconds[col] = s
                values = from_seconds(s, dim.encoder.output, dim.encoder.text_format)
            else:
                values = (
                    dim.encoder.decode(z[:, i], rng)
                    if not isinstance(dim.encoder, Categorical)
                    else dim.encoder.decode(z[:, i])
                )
                if not isinstance(dim.encoder, Categorical):
                    values = values.astype(object)
                if col in nulls:
                    values = np.where(nulls[col], None, values)
            out[col] = pd.Series(values, dtype=object)
        remaining = later
        if not remaining:
            break
    _derive(tm, out, rng)
    return out


def _derive(tm: TableModel, out: dict[str, pd.Series] | pd.DataFrame, rng: np.random.Generator) -> None:
    """Columns fixed by, or drawn given, other columns, in dependency order; and dependent NULLs.

    Runs once after decoding and again after parents' values arrive; a relation whose determinant
    is not known yet is skipped and done on the later run.
    """
    from graphlib import TopologicalSorter

    relations: dict[str, Any] = {d.target: d for d in tm.dependencies}
    relations.update({c.target: c for c in tm.conditionals})
    order = TopologicalSorter({t: {r.determinant} for t, r in relations.items()}).static_order()
    for target in order:
        relation = relations.get(target)
        if relation is None or relation.determinant not in out:
            continue
        given = pd.Series(out[relation.determinant])
        if given.isna().all() and len(given):
            continue  # its determinant has not arrived yet
        spec = tm.column(target)
        if target in {c.target for c in tm.conditionals}:
            out[target] = _draw_conditional(spec, given, rng)
        else:
            mapping = {_k(a): b for a, b in (spec.mapping or [])}
            out[target] = given.map(lambda v, m=mapping: m.get(_k(v))).to_numpy()
    for spec in tm.columns:
        if spec.null_determinant and spec.name in out and spec.null_determinant in out:
            mapping = {_k(a): b for a, b in (spec.null_mapping or [])}
            det = pd.Series(out[spec.null_determinant])
            isnull = det.map(lambda v, m=mapping: bool(m.get(_k(v), False))).to_numpy(dtype=bool)
            values = pd.Series(out[spec.name]).astype(object).to_numpy(copy=True)
            values[isnull] = None
            out[spec.name] = values


def _draw_conditional(spec: Any, given: pd.Series, rng: np.random.Generator) -> np.ndarray:
    """Draw each row's value from P(target | determinant), smoothed toward the target's marginal."""
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
    keys = given.map(_k)
    out = np.empty(len(given), dtype=object)
    codes, uniques = pd.factorize(keys, use_na_sentinel=False)
    for code, key in enumerate(uniques):
        counts = rows.get(key)
        p = marginal if counts is None else (counts + SMOOTHING * marginal) / (counts.sum() + SMOOTHING)
        where = np.flatnonzero(codes == code)
        out[where] = np.asarray(levels, dtype=object)[rng.choice(len(levels), size=len(where), p=p / p.sum())]
    return out


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


# -- keys ----------------------------------------------------------------------------------------
def _primary_key(tm: TableModel, table: Table, frame: pd.DataFrame, rng: np.random.Generator) -> None:
    key = tm.key
    n = len(frame)
    fk_cols = {c for fk in table.foreign_keys for c in fk.columns}
    local = [c for c in table.primary_key if c not in fk_cols]
    numbered = {nb.column for nb in tm.numbering}
    modelled = {s.name for s in tm.columns if s.how != "key"}
    for c in local:
        if c in numbered or c in modelled:
            continue
        col = table.column(c)
        if key.kind == "uuid" or col.type.name == "uuid":
            frame[c] = kz.uuid_keys(n, rng)
        elif key.kind == "shape" and key.shapes is not None:
            frame[c] = fresh(key.shapes.generate, n, rng, guard=None, unique=True)
        elif col.type.name in {"string", "char", "text"}:
            frame[c] = [f"K{i:08d}" for i in range(1, n + 1)]
        else:
            frame[c] = kz.integer_keys(n, key.start if key.kind == "integer" else 1)


def _already_set(model: Model, table: Table, fk: ForeignKey) -> set[str]:
    """Columns of ``fk`` that an earlier key (primary key, context FK, another FK) already set."""
    tp = model.plan[table.name]
    fk_cols = {c for f in table.foreign_keys for c in f.columns}
    earlier: set[str] = {c for c in table.primary_key if c not in fk_cols}  # generated locally
    if tp.context is not None:
        earlier |= set(tp.context.columns)
    for other in tp.secondary:
        if other.name == fk.name:
            break
        earlier |= set(other.columns)
    return {c for c in fk.columns if c in earlier}


def _fill_fk(
    frame: pd.DataFrame, fk: ForeignKey, parent: pd.DataFrame, pos: np.ndarray, skip: set[str] = frozenset()
) -> None:  # type: ignore[assignment]
    for c, r in zip(fk.columns, fk.ref_columns, strict=True):
        if c in skip:
            continue
        ref = parent[r].astype(object).to_numpy()
        vals = np.empty(len(pos), dtype=object)
        ok = pos >= 0
        vals[ok] = ref[pos[ok]] if len(ref) else None
        vals[~ok] = None
        frame[c] = vals


def _apply_repeats(
    tm: TableModel,
    frame: pd.DataFrame,
    fk: ForeignKey,
    parent: pd.DataFrame,
    pos: np.ndarray,
    *,
    derived_keys: bool,
) -> None:
    for r in tm.repeats:
        if r.fk != fk.name or r.parent_column not in parent:
            continue
        ref = parent[r.parent_column].astype(object).to_numpy()
        vals = np.empty(len(pos), dtype=object)
        ok = pos >= 0
        vals[ok] = ref[pos[ok]] if len(ref) else None
        vals[~ok] = None
        frame[r.column] = vals


def _assign_secondary(
    model: Model,
    tm: TableModel,
    table: Table,
    fk: ForeignKey,
    done: dict[str, _Sampled],
    rng: np.random.Generator,
    report: SampleReport,
    *,
    frame: pd.DataFrame | None = None,
    z: np.ndarray | None = None,
    parent_pos: np.ndarray | None = None,
    deferred: bool = False,
) -> np.ndarray:
    """Give each row a parent so every parent gets about its sampled number of children.

    Returns the rows that cannot have a valid parent (to be dropped): a composite FK sharing a
    NOT NULL column with the context parent, where that parent has no matching row.
    """
    if frame is None:
        frame = done[table.name].frame
        z = done[table.name].z
        parent_pos = done[table.name].parent_pos
    n = len(frame)
    drop = np.zeros(n, dtype=bool)
    if all(c in {r.column for r in tm.repeats if r.fk != fk.name} for c in fk.columns):
        return drop  # derived from the context parent, already filled
    q = done.get(fk.ref_table)
    if q is None or n == 0:
        return drop
    qm = model.tables[fk.ref_table]
    wants = (
        _decode_ext(qm, q.z, f"{table.name}.{fk.name}#refcount") if q.z.shape[0] else np.zeros(len(q.frame))
    )
    if len(wants) != len(q.frame):
        wants = np.ones(len(q.frame))
    nulls = np.zeros(n, dtype=bool)
    share = tm.fk_null.get(fk.name, 0.0)
    null_dim = _dim_values(tm, z, f"{fk.name}#null") if z is not None and z.shape[0] == n else None
    if null_dim is not None:
        nulls = np.asarray(null_dim, dtype=bool)
    elif share >= 1:
        nulls[:] = True
    elif share > 0:
        nulls = rng.random(n) < share
    if len(q.frame) == 0:
        nulls[:] = True
    target = np.full(n, -1, dtype=np.int64)
    rows = np.flatnonzero(~nulls)
    # Columns this FK shares with keys already set (lab_results.admission_id, in both its context FK
    # and its composite FK to diagnoses) are not chosen again: the parent must match them.
    fixed = _already_set(model, table, fk)
    matches = [
        *tm.key_matches.get(fk.name, []),
        *((c, r) for c, r in zip(fk.columns, fk.ref_columns, strict=True) if c in fixed),
    ]
    # NULL in any column the FK sets itself means "no parent" (MATCH SIMPLE), if that column allows it.
    can_null = any(table.column(c).nullable for c in fk.columns if c not in fixed)
    if len(rows):
        child_group = np.full(n, -1, dtype=np.int64)
        parent_group = np.zeros(len(q.frame), dtype=np.int64)
        if matches:
            own = [comparable(frame[c]).to_numpy()[rows] for c, _ in matches]
            par = [comparable(q.frame[p]).to_numpy() for _, p in matches]
            keys = pd.MultiIndex.from_arrays(
                [np.concatenate([o, p_]) for o, p_ in zip(own, par, strict=True)]
            )
            codes = pd.factorize(keys)[0]
            child_group[rows] = codes[: len(rows)]
            parent_group = codes[len(rows) :]
        else:
            child_group[rows] = 0
        target = kz.grouped_slots(child_group, parent_group, np.maximum(wants, 0), rng)
        unmatched = int(((child_group >= 0) & (target < 0)).sum())
        if unmatched:
            report.unmatched_keys[table.name] = report.unmatched_keys.get(table.name, 0) + unmatched
            if not can_null:
                stuck = np.flatnonzero((child_group >= 0) & (target < 0))
                if fixed:
                    drop[stuck] = True  # no parent can match the columns already set
                else:
                    target[stuck] = rng.integers(0, len(q.frame), len(stuck))
    # A link table (or any key/unique over context + this FK) cannot repeat a pair.
    if parent_pos is not None and _pair_must_be_unique(table, model.plan[table.name].context, fk):
        ok = np.flatnonzero(target >= 0)
        partner = target[ok].copy()
        left = kz.unique_pairs(parent_pos[ok], partner, rng)  # swaps partners in place
        target[ok] = partner
        if left.any() and can_null:
            target[ok[left]] = -1  # otherwise the duplicate rows are dropped with the key check
    _fill_fk(frame, fk, q.frame, target, skip=fixed)
    _apply_repeats(tm, frame, fk, q.frame, target, derived_keys=False)
    if deferred:
        done[table.name].frame = frame
    return drop


def _pair_must_be_unique(table: Table, context: ForeignKey | None, fk: ForeignKey) -> bool:
    if context is None:
        return False
    cols = set(context.columns) | set(fk.columns)
    keys = [set(table.primary_key)] + [set(u.columns) for u in table.unique]
    return any(k and k <= cols for k in keys)


def _numbering(tm: TableModel, frame: pd.DataFrame, pos: np.ndarray | None, rng: np.random.Generator) -> None:
    for nb in tm.numbering:
        n = len(frame)
        groups = pos if pos is not None else np.zeros(n, dtype=np.int64)
        order = np.lexsort((rng.random(n), groups))
        g = groups[order]
        starts = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
        rank = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
        values = np.empty(n, dtype=np.int64)
        values[order] = rank + nb.start
        frame[nb.column] = values


def _self_reference(
    tm: TableModel, frame: pd.DataFrame, fk: ForeignKey, pos: np.ndarray | None, rng: np.random.Generator
) -> None:
    forest = tm.forests.get(fk.name)
    n = len(frame)
    if forest is None or n == 0:
        return
    parent = forest.sample(n, rng, groups=pos)
    for c, r in zip(fk.columns, fk.ref_columns, strict=True):
        own = frame[r].astype(object).to_numpy()
        vals = np.empty(n, dtype=object)
        ok = parent >= 0
        vals[ok] = own[parent[ok]]
        vals[~ok] = None
        frame[c] = vals


# -- other columns ----------------------------------------------------------------------------
def _generated_columns(
    model: Model, tm: TableModel, table: Table, frame: pd.DataFrame, rng: np.random.Generator
) -> None:
    n = len(frame)
    people: PeopleFactory | None = None
    repeated = {r.column for r in tm.repeats}
    for spec in tm.columns:
        if spec.how not in {"text", "id", "pii", "constant", "generated"} or spec.name in repeated:
            continue
        col = spec.name
        if spec.how == "generated":
            frame[col] = None
            continue
        if spec.how == "constant":
            frame[col] = [spec.constant] * n
            continue
        if spec.how == "pii" and spec.pii is not None:
            if people is None:
                seed = int(rng.integers(0, 2**31 - 1))
                people = PeopleFactory(model.schema.locale, seed, n, sex_flags(frame), rng)
            values = people.generate(spec.pii, rng)
            if spec.guard is not None:
                values = people.avoid(spec.pii, values, spec.guard.copies, rng)
            if spec.unique:
                values = _make_unique(values, rng, table.column(col).type.length)
        elif spec.how == "text":
            length = table.column(col).type.length
            generator = (
                (lambda k, r, v=spec.vocabulary, m=length: v.generate(k, r, m))
                if spec.vocabulary
                else spec.shapes.generate  # type: ignore[union-attr]
            )
            values = fresh(generator, n, rng, guard=spec.guard, unique=spec.unique)
        elif spec.id_kind == "uuid":
            values = kz.uuid_keys(n, rng)
        elif spec.id_kind == "integer":
            values = kz.integer_ids(n, spec.shapes, rng, unique=spec.unique)
        else:
            values = fresh(spec.shapes.generate, n, rng, guard=None, unique=spec.unique)  # type: ignore[union-attr]
        values = _fit_length(
            np.asarray(values, dtype=object), table.column(col).type.length, spec.unique, rng
        )
        if spec.null_share > 0:
            values[rng.random(n) < spec.null_share] = None
        frame[col] = values


def _avoid_records(
    tm: TableModel,
    table: Table,
    frame: pd.DataFrame,
    rng: np.random.Generator,
    report: SampleReport,
    *,
    sign: int | None = None,
    rounds: int = 8,
) -> bool:
    """No synthetic row may equal a source record that is unique on the modelled columns: such a
    row is moved one step (a day, a unit, a cent) on its most varied column, or given another
    category, until it matches no such record."""
    from relsynth.model.values import record_keys

    if tm.record_guard is None or not tm.record_columns or tm.record_nudge is None or not len(frame):
        return False
    col = tm.record_nudge
    moved = False
    for _ in range(rounds):
        hit = tm.record_guard.copies(record_keys(table, frame, tm.record_columns).to_numpy())
        if not hit.any():
            return moved
        moved = True
        values = frame[col].astype(object).to_numpy(copy=True)
        rows = np.flatnonzero(hit)
        step = rng.choice([-1, 1], size=len(rows)) if sign is None else np.full(len(rows), sign)
        spec = tm.column(col)
        dim = next((d for d in tm.dims if d.column == col and d.role == "value"), None)
        for r, sgn in zip(rows, step, strict=True):
            values[r] = _step(values[r], int(sgn), spec, dim, values, rng)
        frame[col] = values
        report.moved_records[table.name] = report.moved_records.get(table.name, 0) + len(rows)
    return moved


def _step(value: Any, sign: int, spec: Any, dim: Any, column: np.ndarray, rng: np.random.Generator) -> Any:
    import datetime as dt

    if value is None or (isinstance(value, float) and value != value):
        return column[rng.integers(0, len(column))]
    if isinstance(value, dt.datetime):
        unit = (
            dt.timedelta(days=1)
            if dim is not None and getattr(dim.encoder, "resolution", "") == "day"
            else dt.timedelta(seconds=1)
        )
        return value + sign * unit
    if isinstance(value, dt.date):
        return value + sign * dt.timedelta(days=1)
    if isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_):
        unit = 10.0 ** -(spec.decimals or 0) if spec.decimals else 1
        return value + sign * unit
    return column[rng.integers(0, len(column))]  # a category: another one drawn from the column


def _make_unique(values: np.ndarray, rng: np.random.Generator, length: int | None = None) -> np.ndarray:
    """Repeated generated values get a number (before the @ of an e-mail), so a UNIQUE holds; within
    a declared length the number replaces the last characters instead of lengthening the value."""
    out = np.asarray(values, dtype=object).copy()
    seen: set[Any] = set()
    for i, v in enumerate(out):
        candidate = v
        tries = 0
        while candidate in seen:
            tries += 1
            k = str(int(rng.integers(1, 10 ** min(3 + tries // 20, 9))))
            text = str(v)
            if "@" in text:
                local, _, domain = text.partition("@")
                if length:
                    local = local[: max(1, length - len(domain) - 1 - len(k))]
                candidate = f"{local}{k}@{domain}"
            elif length and len(text) + len(k) > length:
                candidate = text[: max(0, length - len(k))] + k
            else:
                candidate = text + k
        seen.add(candidate)
        out[i] = candidate
    return out


def _fit_length(values: np.ndarray, length: int | None, unique: bool, rng: np.random.Generator) -> np.ndarray:
    """Generated strings cut to the column's declared length (VARCHAR(n), CHAR(n)), still unique."""
    if not length:
        return values
    out = np.array(
        [v[:length] if isinstance(v, str) and len(v) > length else v for v in values], dtype=object
    )
    if unique and pd.Series(out).dropna().duplicated().any():
        out = _make_unique(out, rng, length)
    return out


def _enforce_orders(
    tm: TableModel,
    table: Table,
    frame: pd.DataFrame,
    context: ForeignKey | None,
    parent: pd.DataFrame | None,
    pos: np.ndarray | None,
) -> None:
    """Clip dates so every learned order holds (anchored ones already do)."""
    for o in tm.orders:
        if tm.column(o.column).how != "copula" or o.column not in frame:
            continue
        col_vals = frame[o.column]
        if o.fk is not None:
            if parent is None or pos is None or o.base not in parent:
                continue
            base_vals = parent[o.base].astype(object).to_numpy()
            b = pd.Series([base_vals[p] if p >= 0 else None for p in pos], dtype=object)
        else:
            b = frame[o.base]
        x = _seconds(col_vals)
        y = _seconds(b)
        both = ~np.isnan(x) & ~np.isnan(y)
        bad = both & ((x < y) if o.op == ">=" else (x > y))
        if not bad.any():
            continue
        out = frame[o.column].astype(object).to_numpy(copy=True)
        fixed = np.where(bad, y, x)
        dim = next((d for d in tm.dims if d.column == o.column and d.role == "value"), None)
        if dim is not None and isinstance(dim.encoder, Temporal):
            out[bad] = from_seconds(fixed[bad], dim.encoder.output, dim.encoder.text_format)
        frame[o.column] = out


def _seconds(values: pd.Series) -> np.ndarray:
    out = np.full(len(values), np.nan)
    known = values.notna().to_numpy()
    if known.any():
        kv = values[known].reset_index(drop=True)
        fmt = "iso" if isinstance(kv.iloc[0], str) else None
        out[known] = to_epoch_seconds(kv, text_format=fmt)
    return out


def _unique_rows(
    tm: TableModel,
    table: Table,
    frame: pd.DataFrame,
    pos: np.ndarray | None,
    tp: Any,
    rng: np.random.Generator,
    report: SampleReport,
) -> np.ndarray:
    """Rows to keep so the primary key and every UNIQUE constraint hold (NULLs never clash)."""
    keep = np.ones(len(frame), dtype=bool)
    keysets = [table.primary_key] + [u.columns for u in table.unique]
    keysets += [ix.columns for ix in table.indexes if ix.unique and ix.columns and not ix.expressions]
    for cols in keysets:
        if not cols or not all(c in frame for c in cols):
            continue
        sub = frame.loc[keep, list(cols)]
        if sub.isna().any(axis=1).all():
            continue
        comp = pd.DataFrame({c: comparable(sub[c]) for c in cols})
        dup = comp.duplicated(keep="first").to_numpy() & ~sub.isna().any(axis=1).to_numpy()
        if dup.any() and len(cols) == 1 and tm.column(cols[0]).how == "copula":
            dup = _nudge_unique(frame, cols[0], keep, dup)
        if dup.any():
            idx = np.flatnonzero(keep)[dup]
            keep[idx] = False
            report.dropped_duplicates[table.name] = report.dropped_duplicates.get(table.name, 0) + len(idx)
    return keep


def _nudge_unique(frame: pd.DataFrame, col: str, keep: np.ndarray, dup: np.ndarray) -> np.ndarray:
    """A UNIQUE numeric column: move repeated values to the next free value."""
    values = pd.to_numeric(frame.loc[keep, col], errors="coerce")
    if values.isna().all():
        return dup
    used = set(values.dropna().tolist())
    step = 1.0
    arr = values.to_numpy(dtype=float).copy()
    for i in np.flatnonzero(dup):
        v = arr[i]
        while v in used:
            v += step
        used.add(v)
        arr[i] = v
    frame.loc[keep, col] = arr
    return np.zeros_like(dup)


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
        pframe[agg.column] = sums


def _repair_checks(
    tm: TableModel, table: Table, frame: pd.DataFrame, rng: np.random.Generator, report: SampleReport
) -> None:
    """Make interpretable CHECKs hold; count what is left (the writer tests the rest in the target)."""
    free = {s.name for s in tm.columns if s.how in {"copula", "dependency", "text", "id", "pii"}}
    tp_keys = set(table.primary_key)
    nullable = {c.name for c in table.columns if c.nullable and c.name not in tp_keys}
    for check in table.checks:
        try:
            node = ck.parse(check.sql)
        except ck.NotInterpretable:
            report.uninterpretable_checks.setdefault(table.name, []).append(check.sql)
            continue
        if not ck.columns_of(node) <= set(frame.columns):
            continue
        ck.repair(node, frame, free, rng, nullable=nullable)
        ck.borrow(node, frame, free, rng)
        left = int(ck.violations(node, frame).sum())
        if left:
            report.check_violations.setdefault(table.name, {})[check.sql] = left


def _finish(
    table: Table, tm: TableModel, frame: pd.DataFrame, rng: np.random.Generator, report: SampleReport
) -> pd.DataFrame:
    """Type every column like its SQL column and drop generated columns (the database fills them)."""
    cols = {}
    for col in table.columns:
        if col.computed:
            continue
        values = frame[col.name] if col.name in frame else pd.Series([None] * len(frame), dtype=object)
        cols[col.name] = (
            values
            if col.type.name in {"binary", "json", "array", "other", "interval"}
            else coerce(values, col.type)
        )
    return pd.DataFrame(cols, index=pd.RangeIndex(len(frame)))
