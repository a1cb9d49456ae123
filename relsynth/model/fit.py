"""Fit a whole database: every table's columns and copula, parents carrying their children's summary.

Pass 1 (any order): decide how each column is produced, find exact relations, encode each data
table's own columns into normal scores. Pass 2 (children first): summarise each child table per
parent row (count, and per child dimension a shrunk location and a spread) with vectorized
groupby, append those summaries to the parent, and fit the parent's copula over both. No model
is fitted per parent row, so the cost is one pass over the data per table.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from relsynth import dialects, partitions, transform
from relsynth.graph import Plan, TablePlan, is_person_table, is_subject_table
from relsynth.graph import plan as make_plan
from relsynth.model import (
    backrefs,
    by_level,
    exact_fit,
    guards,
    namers,
    natives,
    persons,
    rare,
    selfrefs,
    siblings,
    text_numbers,
)
from relsynth.model import exact as ex
from relsynth.model import levels as category_order
from relsynth.model import relations as rel
from relsynth.model import sentinels as sentinel_dates
from relsynth.model.assign import inherited_columns
from relsynth.model.copula import MAX_CORR_ROWS, cholesky, correlation, latent_correlation, nearest_pd
from relsynth.model.exact import TOLERANCE, TimeMatch, date_roots
from relsynth.model.generate import reference_personal
from relsynth.model.keys import Forest, following, rekeyed, self_ref_shared
from relsynth.model.pii import PiiModel, name_roles
from relsynth.model.spec import ColumnSpec, Dim, KeySpec, Model, TableModel
from relsynth.model.text import KEY_ROOM, Shapes, Vocabulary
from relsynth.model.values import as_objects, collated, empty_value, identifying, non_finite, value_codes
from relsynth.pii_detect import after_a_title
from relsynth.profile import MAX_CATEGORIES, UNLINKED_REASON, referenced_keys, unlinked_codes
from relsynth.schema import Column, ForeignKey, Kind, Schema, Table
from relsynth.sqltypes import INTEGER_TYPES, KIND_OF_TYPE, STRING_TYPES, learned_type
from relsynth.transform import (
    MAX_DISCRETE_LEVELS,
    MIN_DISCRETE_SUPPORT,
    Categorical,
    Continuous,
    Encoder,
    Temporal,
    fit_numeric,
    gap_step,
    is_duration,
    step_floor,
    text_date_format,
    to_epoch_seconds,
    to_normal,
)

log = logging.getLogger("relsynth")
Progress = Callable[[str, int, int], None]

# Within-parent spread is shrunk toward the pooled spread as if this many extra children were seen.
SCALE_PRIOR = 2.0
COPULA_KINDS = {Kind.NUMERICAL, Kind.CATEGORICAL, Kind.DATETIME, Kind.BOOLEAN}


@dataclass
class _Fitting:
    """Per data table, what pass 2 needs from pass 1."""

    frame: pd.DataFrame
    z: np.ndarray  # own dims: jittered normal scores (exact N(0,1) marginals), for child summaries
    scores: np.ndarray  # own dims: deterministic scores (ties at their mean), for correlations
    parent_pos: np.ndarray | None  # context parent row of each row (-1: none)
    seconds: dict[str, np.ndarray] = field(default_factory=dict)
    # Whose each row is (Whose.owner, Whose.holder): what the children's owners are found from.
    who: Whose | None = None
    # Category dims (their index) and values: ordered again once the children's summaries exist.
    categories: list[tuple[int, pd.Series]] = field(default_factory=list)


def positions(
    child: pd.DataFrame, cols: tuple[str, ...], parent: pd.DataFrame, ref: tuple[str, ...]
) -> np.ndarray:
    """For each child row, the row of the parent it points to through (cols -> ref); -1 if none."""
    if len(child) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(parent) == 0:
        return np.full(len(child), -1, dtype=np.int64)
    if len(cols) == 1:
        keys = pd.Index(rel.comparable(parent[ref[0]]))
        probe = pd.Index(rel.comparable(child[cols[0]]))
    else:
        keys = pd.MultiIndex.from_arrays([rel.comparable(parent[c]) for c in ref])
        probe = pd.MultiIndex.from_arrays([rel.comparable(child[c]) for c in cols])
    out = rel.key_rows(keys, probe)  # exactly, then as the collation compares text ('User1', 'user1')
    if len(cols) > 1:  # a composite key with a NULL part points nowhere
        nulls = np.zeros(len(child), dtype=bool)
        for c in cols:
            nulls |= child[c].isna().to_numpy()
        out[nulls] = -1
    return out.astype(np.int64)


def _in_key_spelling(tp: TablePlan, frame: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The frame with codes into a reference table spelled as its key ('DEP001' for the key
    'Dep001' under SQLite's NOCASE, a *_ci collation or citext): drawn as categories, the child's
    spelling was written, and a case-sensitive target (PostgreSQL, the verification) found no
    parent. The caller's frame is left as it is (the guards hash the source's own values)."""
    fixed: dict[str, pd.Series] = {}
    for fk in tp.reference_fks:
        parent = frames.get(fk.ref_table)
        if (
            parent is None
            or not all(c in frame for c in fk.columns)
            or not all(r in parent for r in fk.ref_columns)
            or not any(frame[c].dtype == object for c in fk.columns)  # numbers have no collation
        ):
            continue
        pos = positions(frame, fk.columns, parent, fk.ref_columns)
        for c, r in zip(fk.columns, fk.ref_columns, strict=True):
            own = fixed.get(c, frame[c])
            theirs = parent[r].to_numpy(dtype=object)[np.maximum(pos, 0)]
            own_values = own.to_numpy(dtype=object)
            differ = (pos >= 0) & np.fromiter(
                (isinstance(a, str) and a != b for a, b in zip(own_values, theirs, strict=True)),
                dtype=bool,
                count=len(pos),
            )
            if differ.any():
                values = own_values.copy()
                values[differ] = theirs[differ]
                fixed[c] = pd.Series(values, index=frame.index, dtype=object)
    return frame.assign(**fixed) if fixed else frame


def fit_tables(
    schema: Schema,
    frames: dict[str, pd.DataFrame],
    *,
    plan: Plan | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    rare_k: int = rare.RARE_K,
    guard: bool = True,
    ref_counts: Mapping[tuple[str, str], pd.DataFrame] | None = None,
    source_counts: SourceCounts | None = None,
) -> Model:
    """Learn every table of ``schema`` from ``frames`` (one DataFrame per table, source column names).

    ``guard=False``: the caller builds the guards itself (from every source row, when ``frames`` are
    a sample: api._fit_database), so hashing the frames here would be thrown away.

    Categories seen in fewer than ``rare_k`` rows (or parents) are never emitted (model/rare.py).
    ``ref_counts``: children per parent through secondary FKs, counted in the source when the frames
    are a sample (read.ReadResult.ref_counts); otherwise counted in the frames.
    ``source_counts``: when the frames are a sample, how many of the source's rows or people hold
    each code (read.SourceHolders): a code the sample sees rarely but rare_k of the source's people
    hold is kept; none held by fewer is.
    """
    plan = plan or make_plan(schema)
    held: dict[str, dict[str, np.ndarray]] = {}
    frames, sentinels = sentinel_dates.strip(schema, frames, held)  # 9999-01-01 means "not yet": a NULL
    newest = transform.NEWEST.set(_newest_time(schema, frames))
    try:
        return _fit_tables(
            schema, frames, sentinels, plan, seed, progress, rare_k, guard, ref_counts, source_counts, held
        )
    finally:
        transform.NEWEST.reset(newest)


def _newest_time(schema: Schema, frames: dict[str, pd.DataFrame]) -> float | None:
    """The newest time any date or timestamp column of the database holds (epoch seconds; sentinels
    already read as NULL): coarsened times gone by are drawn no later (transform.NEWEST)."""
    newest: float | None = None
    for name, frame in frames.items():
        if name not in schema.table_names:
            continue
        for col in schema.table(name).columns:
            if (
                col.kind is not Kind.DATETIME
                or col.name not in frame
                or col.type.name not in {"date", "datetime"}
            ):
                continue
            try:
                seconds = to_epoch_seconds_safe(frame[col.name].dropna(), False)
            except (TypeError, ValueError, OverflowError):
                continue
            seconds = seconds[np.isfinite(seconds)]
            if len(seconds):
                top = float(seconds.max())
                newest = top if newest is None else max(newest, top)
    return newest


def _fit_tables(
    schema: Schema,
    frames: dict[str, pd.DataFrame],
    sentinels: dict[str, dict[str, Any]],
    plan: Plan,
    seed: int,
    progress: Progress | None,
    rare_k: int,
    guard: bool,
    ref_counts: Mapping[tuple[str, str], pd.DataFrame] | None,
    source_counts: SourceCounts | None = None,
    sentinel_rows: dict[str, dict[str, np.ndarray]] | None = None,
) -> Model:
    schema = _promote_repeated(referenced_keys(unlinked_codes(schema)), plan, frames)  # unlinked keys: codes
    plan = make_plan(schema) if schema is not plan.schema else plan
    seeds = np.random.SeedSequence(seed).spawn(len(plan.order))
    rngs = {name: np.random.default_rng(s) for name, s in zip(plan.order, seeds, strict=True)}
    models: dict[str, TableModel] = {}
    states: dict[str, _Fitting] = {}
    values = _Comparable({n: f.reset_index(drop=True) for n, f in frames.items()})
    total = len(plan.order)
    for i, name in enumerate(plan.order):
        if progress:
            progress("fit", i, 2 * total)
        table = schema.table(name)
        frame = frames.get(name)
        frame = frame if frame is not None else pd.DataFrame(columns=list(table.column_names))
        role = plan[name].role
        if role == "data" and len(frame) == 0:
            role = "empty"
        if role == "reference":
            coded = {
                c
                for fk in table.foreign_keys
                if fk.ref_table != name and plan[fk.ref_table].role == "data" and rekeyed(table, fk)
                for c in fk.columns
            }
            models[name] = _reference(table, frame, schema, rngs[name], coded)
        elif role == "empty":
            models[name] = TableModel(
                name, "empty", 0, columns=[ColumnSpec(c.name, "constant") for c in table.columns]
            )
        else:
            models[name], states[name] = _fit_own(
                schema, plan, table, frame, frames, states, rngs[name], values, rare_k, source_counts
            )
    for i, name in enumerate(reversed(plan.order)):
        if progress:
            progress("fit", total + i, 2 * total)
        if name in states:
            _fit_hierarchy(
                schema, plan, models, states, name, rngs[name], rare_k, ref_counts or {}, source_counts
            )
    if progress:
        progress("fit", 2 * total, 2 * total)
    for name in states:  # needs every table's rows: a cycle's two ends
        models[name].back_refs = backrefs.find(schema, frames, name)
    _settled_number_orders(schema, models)
    for name, found in sentinels.items():
        for spec in models[name].columns:
            value = found.get(spec.name)
            rows = (sentinel_rows or {}).get(name, {}).get(spec.name)
            if value is not None and rows is not None and name in states:
                fitting = states[name]
                owner = fitting.who.owner if fitting.who is not None else None
                people = owner if owner is not None else fitting.parent_pos
                if rare.holders(rows, people) < rare_k:  # one patient's 40 rows of 1999-12-31: theirs
                    log.debug("%s.%s: a sentinel date held by too few people: not kept", name, spec.name)
                    value = None
            spec.sentinel = value
    _unread_spans(schema, models)
    model = Model(schema=schema, plan=plan, tables=models, seed=seed)
    if guard:
        guards.attach(model, frames)  # in memory only: gone when the model is saved
    return model


def _promote_repeated(schema: Schema, plan: Plan, frames: dict[str, pd.DataFrame]) -> Schema:
    """A parent's free-text column that a child repeats as a category (customer.city, repeated
    by every invoice's billing_city) is a category too: both must draw from the same levels."""
    from dataclasses import replace

    promote: dict[str, set[str]] = {}
    for name in plan.order:
        tp = plan[name]
        child = frames.get(name)
        if tp.role != "data" or child is None or len(child) == 0:
            continue
        table = schema.table(name)
        cats = [c.name for c in table.columns if c.kind is Kind.CATEGORICAL and not c.pii and c.name in child]
        for fk in (*([tp.context] if tp.context else []), *tp.secondary):
            parent = frames.get(fk.ref_table)
            if parent is None or len(parent) == 0 or not cats:
                continue
            ptable = schema.table(fk.ref_table)
            texts = [
                c.name
                for c in ptable.columns
                if c.kind in {Kind.TEXT, Kind.ID}
                and not c.pii
                and c.name in parent
                and c.name not in ptable.primary_key
                and c.name not in ptable.fk_columns()
            ]
            if not texts:
                continue
            pos = positions(child, fk.columns, parent, fk.ref_columns)
            linked = pos >= 0
            own = {c: rel.comparable(child[c]).to_numpy()[linked] for c in cats}
            par = {p: rel.comparable(parent[p]).to_numpy()[pos[linked]] for p in texts}
            for r in rel.repeats(own, par, fk.name, cats):
                promote.setdefault(fk.ref_table, set()).add(r.parent_column)
    if not promote:
        return schema
    tables = []
    for t in schema.tables:
        cols = promote.get(t.name, set())
        if cols:
            t = replace(
                t,
                columns=tuple(
                    replace(c, kind=Kind.CATEGORICAL, kind_reason="a child repeats it as a category")
                    if c.name in cols
                    else c
                    for c in t.columns
                ),
            )
        tables.append(t)
    return replace(schema, tables=tuple(tables))


def _reference(
    table: Table, frame: pd.DataFrame, schema: Schema, rng: np.random.Generator, coded: set[str] | None = None
) -> TableModel:
    """Reference tables are kept verbatim (as text per column, with their NULLs), except personal
    data (a shipper's phone): generated, never copied, as in any table. ``coded``: keys into a
    synthesized table (a dictionary's creator): each parent as a number of its own, in order of
    first appearance, since sampling names a synthetic parent (sample._rekey_reference)."""
    keep = {
        c
        for t in schema.active_tables
        for fk in t.foreign_keys
        if fk.ref_table == table.name
        for c in fk.ref_columns
    }
    personal = reference_personal(table, frame, schema.locale, rng, keep)
    data = {}
    for col in table.columns:
        values = frame[col.name] if col.name in frame else pd.Series([None] * len(frame))
        if col.name in personal:
            values = pd.Series(personal[col.name], dtype=object)
        if coded and col.name in coded:
            codes = pd.factorize(values, use_na_sentinel=True)[0]
            values = pd.Series([int(k) + 1 if k >= 0 else None for k in codes], dtype=object)
        # PostgreSQL's driver gives a json value decoded (the JSON string "123" as the str 123):
        # each is written back as JSON text; other databases give the text itself.
        decoded = col.type.name == "json" and dialects.family(schema.dialect) == "postgresql"
        data[col.name] = [_reference_text(v, decoded) for v in as_objects(values)]
    return TableModel(
        table.name,
        "reference",
        len(frame),
        columns=[ColumnSpec(c.name, "reference") for c in table.columns],
        reference=data,
    )


def _reference_text(value: Any, decoded: bool = False) -> str | None:
    """A reference table's value as text: bytes in hex; a document or an array (PostgreSQL's
    driver reads jsonb and arrays as Python objects) as JSON, not Python's repr, which COPY and
    the CSV files took for the value ({'en': 'Moscow'})."""
    if value is None:
        return None
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if decoded or isinstance(value, dict | list | tuple):
        import json

        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _data_key_columns(table: Table) -> set[str]:
    """Columns of a composite primary key that are data, not identifiers (an event's day): modelled
    like any column, with the key's uniqueness enforced after sampling. A primary key that is one
    date or time (a calendar's day) is data too: as a shaped string it gave '2020-47-83'."""
    fk_cols = table.fk_columns()
    if len(table.primary_key) == 1:
        (c,) = table.primary_key
        return {c} if c not in fk_cols and table.column(c).type.name in {"date", "datetime"} else set()
    # A LIST or RANGE partition key in the key (PostgreSQL requires it there): the values its
    # partitions take; generated afresh, no partition took them (attack round 43).
    return {
        c
        for c in table.primary_key
        if c not in fk_cols and table.column(c).type.name not in {*INTEGER_TYPES, *STRING_TYPES, "uuid"}
    } | (partitions.data_columns(table) & set(table.primary_key))


def _repeated_text_keys(table: Table, frame: pd.DataFrame) -> set[str]:
    """String columns of a composite primary key whose values repeat, at most one distinct value
    per two rows (a job title in titles(emp_no, title, from_date)): labels, modelled as categories
    with the key's uniqueness enforced after sampling, not replaced by fresh codes."""
    fk_cols = table.fk_columns()
    # Only beside a foreign key (a title within an employee): a key of text columns alone, (a, b)
    # of CHAR(1), is an identifier whose room relsynth fills.
    if len(table.primary_key) < 2 or not len(frame) or not set(table.primary_key) & fk_cols:
        return set()
    out = set()
    for c in table.primary_key:
        if c in fk_cols or c not in frame or table.column(c).type.name not in STRING_TYPES:
            continue
        values = frame[c].dropna()
        if len(values) and values.nunique() * 2 <= len(values):
            out.add(c)
    return out


def _repeating_keys(table: Table, context: ForeignKey | None, frame: pd.DataFrame) -> set[str]:
    """The integer key column that tells a parent's children apart, (encounter_id, seq), when it
    does not number them 1..n in all the data (some encounters have seq 2, 3 and no 1) and
    repeats across parents: its values are data, modelled like any column and made distinct
    within each parent after sampling. A table-wide unique sequence stays a generated key."""
    if context is None or len(frame) == 0:
        return set()
    local = [c for c in table.primary_key if c not in table.fk_columns()]
    if len(local) != 1 or set(table.primary_key) != {*context.columns, *local}:
        return set()
    c = local[0]
    if c not in frame or table.column(c).type.name not in INTEGER_TYPES or frame[c].isna().any():
        return set()
    if rel.numbering(frame, list(context.columns), c) is not None or frame[c].is_unique:
        return set()
    return {c}


def _column_roles(
    table: Table, plan: Plan, data_keys: set[str] | None = None
) -> tuple[dict[str, str], list[ForeignKey]]:
    """Which columns are keys, which are categorical values of a reference table's key."""
    tp = plan[table.name]
    roles: dict[str, str] = {}
    data_keys = _data_key_columns(table) if data_keys is None else data_keys
    ref_fks = []
    for fk in tp.reference_fks:
        if len(fk.columns) == 1:
            roles[fk.columns[0]] = "reference_fk"
        else:
            ref_fks.append(fk)
            for c in fk.columns:
                roles[c] = "reference_fk_part"
    for fk in (*([tp.context] if tp.context else []), *tp.secondary, *tp.self_refs, *tp.deferred):
        for c in fk.columns:
            roles.setdefault(c, "key")
    for c in table.primary_key:
        if c not in data_keys:
            roles.setdefault(c, "key")
    return roles, ref_fks


def _unique_columns(table: Table) -> set[str]:
    out = {u.columns[0] for u in table.unique if len(u.columns) == 1}
    out |= {
        ix.columns[0] for ix in table.indexes if ix.unique and len(ix.columns) == 1 and not ix.expressions
    }
    if len(table.primary_key) == 1:
        out.add(table.primary_key[0])
    return out


def _fit_own(
    schema: Schema,
    plan: Plan,
    table: Table,
    frame: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    states: dict[str, _Fitting],
    rng: np.random.Generator,
    comparables: _Comparable,
    rare_k: int,
    source_counts: SourceCounts | None = None,
) -> tuple[TableModel, _Fitting]:
    tp = plan[table.name]
    frame = _in_key_spelling(tp, frame, frames)
    model = TableModel(table.name, "data", len(frame))
    labels = _repeated_text_keys(table, frame)
    data_keys = _data_key_columns(table) | _repeating_keys(table, tp.context, frame) | labels
    roles, composite_ref_fks = _column_roles(table, plan, data_keys)
    uniques = _unique_columns(table)
    specs: dict[str, ColumnSpec] = {}
    copula_cols: list[str] = []
    # Whose the rows are (a person, a parent row, or their own), and the share under no parent.
    parents = {n: s.who for n, s in states.items()}
    who = whose(schema, plan, table, frame, frames, parents, rare_k, source_counts, data_keys)
    parent_pos, owner, holder, namer = who.parent_pos, who.owner, who.holder, who.namer
    if parent_pos is not None and tp.context is not None:
        model.null_context = float((parent_pos < 0).mean()) if len(parent_pos) else 0.0
        if tp.context.inferred is not None and len(frame):
            # An inferred key's orphans (a deleted user's meta rows) are rows of a parent that is
            # gone, not rows of none: drawn under a synthetic parent, as the others. Only NULLs
            # are under no parent.
            nulls = frame[list(tp.context.columns)].isna().any(axis=1).to_numpy()
            model.null_context = float((nulls & (parent_pos < 0)).mean())
        if not any(table.column(c).nullable for c in tp.context.columns):
            # Dangling keys of a NOT NULL key SQLite did not enforce: no row can be under no parent.
            model.null_context = 0.0
    parted = partitions.data_columns(table)  # profiled as the partitions' values (profile.infer_kind)
    if data_keys:  # profiled as ids because they are in the key; they are dates, numbers or labels
        table = replace(
            table,
            columns=tuple(
                replace(
                    c,
                    kind=Kind.CATEGORICAL
                    if c.name in labels
                    else (c.kind if c.kind is not Kind.ID else partitions.value_kind(table, c)[0])
                    if c.name in parted
                    else KIND_OF_TYPE.get(c.type.name) or Kind.CATEGORICAL,
                )
                if c.name in data_keys
                else c
                for c in table.columns
            ),
        )
    # Rare categories are never emitted (model/rare.py); a column of rare values only is no category.
    gone = _excluded_parents(schema, table)
    by_parent, people = who.by_parent, who.people
    # Which columns make a record a row must not copy is decided on the source's own values.
    original = frame
    # A text spelling a number beside it, with words of its own elsewhere ('14.23' or 'Negative'):
    # a category of those words; the spelled rows are derived (found again below with the rest).
    keep = set(roles) | data_keys | uniques | exact_fit.protected(table)
    frame, table, spelled_first = exact_fit.early_spellings(table, frame, keep)
    # A text of numbers in some rows and words in others (Synthea's observations.value): the numbers
    # are learned per level of the code (model/text_numbers.py), the rows as one placeholder level.
    frame, table, model.text_numbers = _numbers_in_text(
        table, frame, roles, data_keys, uniques, people, rare_k
    )
    # Counted in the source where the frames are a sample: who holds a code there (read.SourceHolders).
    in_source = None
    if source_counts is not None and (owner is None or holder is not None):
        in_source = _SourceHeld(source_counts, table.name, tp.context, holder)
    common = _common_levels(
        table, frame, roles, data_keys - labels, by_parent, rare_k, gone, owner, in_source,
        kept_codes(schema, table, frame, people),
    )  # fmt: skip
    for tn in model.text_numbers:  # where numbers go is no one's value: never withheld
        if tn.column in common:
            common[tn.column].add(tn.placeholder)
    # A key into a reference table of no common code (every diagnosis held by fewer than K
    # people) takes codes of the reference table at random: no text can stand for a key.
    any_code = {c for c, levels in common.items() if not levels and roles.get(c) == "reference_fk"}
    for c in any_code:
        common.pop(c)
    table = _demote_all_rare(table, common)
    for col in table.columns:
        values = frame[col.name] if col.name in frame else pd.Series([None] * len(frame), dtype=object)
        null_share = float(values.isna().mean()) if len(values) else 0.0
        role = roles.get(col.name)
        spec = ColumnSpec(col.name, "copula", null_share=null_share, unique=col.name in uniques)
        if role == "reference_fk":
            copula_cols.append(col.name)
        elif role in {"key", "reference_fk_part"}:
            spec.how = "key"
        elif natives.learned(col, null_share):
            spec.how = "native"  # generated validly, like the source's values (model/natives.py)
            spec.constant = natives.fit(learned_type(col), values, people, rare_k)
            if spec.constant["native"]["family"] == "range":  # bounds that are columns of the row
                natives.range_sources(spec.constant["native"]["range"], values, frame, table, col.name)
        elif col.kind is Kind.UNSUPPORTED or null_share >= 1.0:
            spec.how = "constant"
            spec.constant = None if col.nullable else empty_value(col.type)
        elif col.name == namer and not col.pii:
            spec.how = "id"  # a person's code (emp_no): new codes, none of theirs
            _fit_id(spec, col.type.name, values)
        elif col.pii:
            spec.how = "pii"
            spec.pii = PiiModel.fit(col.pii, values, unique=spec.unique)
        elif col.kind is Kind.TEXT:
            spec.how = "text"
            spaced = (
                values.dropna().astype(str).str.strip().str.contains(" ").mean()
                if values.notna().any()
                else 0
            )
            spec.vocabulary = (
                Vocabulary.fit(values, people, rare_k) if spaced >= 0.1 else None
            )  # codes keep their shape
            # A unique code's places stay even: skewed, fewer codes are left to draw distinct ones from.
            spec.shapes = (
                None
                if spec.vocabulary
                else Shapes.fit(values, frequencies=not spec.unique, rare_k=rare_k, people=people)
            )
        elif col.kind is Kind.ID:
            spec.how = "id"
            _fit_id(spec, col.type.name, values)
            if col.kind_reason == ALL_RARE and spec.id_kind == "integer":
                # A code all of whose values are rare (one customer's address id each): new codes
                # in its shape, none a source code (guarded), so none is taken for one person's.
                spec.id_kind = "shape"
        else:
            copula_cols.append(col.name)
        specs[col.name] = spec

    _second_names(specs, frame, rare_k)
    # Keys: primary key generation, numbering within the parent, self-references, FK null shares.
    _fit_keys(model, table, tp, frame, parent_pos, rng, data_keys)
    _fit_numbering(model, table, tp, frame, specs, copula_cols)

    # Exact relations inside the table and with parents. A generated column is learned (for a
    # target of another dialect) but is no input to any relation: the source's database computes
    # it from other columns, so a sum over it or a determinant of it would not hold there.
    kinds = {c.name: Kind.UNSUPPORTED if c.computed else c.kind for c in table.columns}
    # A determinant must come back as one of its source values, so only exact-level columns qualify.
    categorical_like = [
        c
        for c in copula_cols
        if kinds[c] in {Kind.CATEGORICAL, Kind.BOOLEAN}
        or roles.get(c) == "reference_fk"
        or (kinds[c] is Kind.NUMERICAL and _exact_levels(frame[c], people, rare_k, table.column(c)))
    ]
    # Values repeated from a parent come first: copying the parent is the most faithful relation.
    _fit_repeats(schema, plan, model, table, tp, frame, frames, specs, copula_cols, comparables)
    # Parts, differences, calendar dates, flags saying children exist: derived, not modelled.
    model.parts, model.differences, model.calendars = exact_fit.row_relations(table, frame, specs, kinds)
    model.parts += spelled_first
    model.parts = [_common_formats(p, common) for p in model.parts]
    # A text spelling a number where it is known (a lab's '7.6' beside 7.6) learns only its own
    # values ('Negative' where the number is NULL); the spelled rows are derived when sampled.
    frame = exact_fit.unspelled(frame, model.parts, specs)
    model.existence = exact_fit.existence(plan, table, frame, frames, specs, kinds)
    derived = {c for c, s in specs.items() if s.how in {"part", "difference", "existence"}}
    categorical_like = [c for c in categorical_like if c not in derived]

    # Whether a column is NULL can itself be fixed by another (status 'admitted' <=> no discharge).
    probe = frame[copula_cols].copy()
    null_targets = []
    for c in copula_cols:
        if kinds[c] in {Kind.NUMERICAL, Kind.DATETIME} and 0 < specs[c].null_share < 1 and c not in derived:
            probe[f"{c}#isnull"] = frame[c].isna()
            null_targets.append(f"{c}#isnull")
    free = [c for c in copula_cols if specs[c].how == "copula"]
    numbered = [nb.column for nb in model.numbering]  # is_primary is exactly (seq == 1)
    for c in numbered:
        probe[c] = frame[c]
    deps = rel.functional_dependencies(probe, [*categorical_like, *numbered], [*free, *null_targets])
    # A column's value says whether it is NULL (NULL is one of its levels): no relation, and taken as
    # one it would decide the column's NULLs from the column itself, so they would all be lost.
    deps = [d for d in deps if d.target != f"{d.determinant}#isnull"]
    deps = [d for d in deps if not _null_from_itself(d, deps)]
    for dep in deps:
        if dep.target.endswith("#isnull"):
            spec = specs[dep.target.removesuffix("#isnull")]
            spec.null_determinant = dep.determinant
            spec.null_mapping = rel.dependency_mapping(probe, dep)
            continue
        specs[dep.target].how = "dependency"
        specs[dep.target].determinant = dep.determinant
        specs[dep.target].mapping = rel.dependency_mapping(frame, dep)
    model.dependencies = [d for d in deps if not d.target.endswith("#isnull")]
    for spec in specs.values():  # no rare level is stored in a dependency's mapping, NULL neither
        if spec.mapping is not None and spec.determinant is not None:
            null_ok = rare.null_held(frame[spec.determinant], people, rare_k)
            spec.mapping = rare.filter_mapping(
                spec.mapping, common.get(spec.determinant), common.get(spec.name), rng, null_held=null_ok
            )
            target = table.column(spec.name)
            # A key-like code (a TrackId of a table left out) names a row of another table, no
            # trait of a person: kept as a code, as _common_levels keeps it (Song -> TrackId).
            code = target.kind_reason.startswith("key-like") or any(spec.name in cols for cols in gone)
            if kinds.get(spec.name) is not Kind.BOOLEAN and not target.type.values and not code:
                spec.mapping = rare.held_pairs(
                    spec.mapping, frame[spec.determinant], frame[spec.name], people, rare_k
                )
        if spec.null_determinant is not None:
            null_ok = rare.null_held(frame[spec.null_determinant], people, rare_k)
            spec.null_mapping = rare.filter_mapping(
                spec.null_mapping, common.get(spec.null_determinant), null_held=null_ok
            )
    modelled = [c for c in copula_cols if specs[c].how == "copula"]

    # Strong dependencies between categories: draw the target given its determinant.
    givens = [c for c in categorical_like if specs[c].how in {"copula", "dependency", "repeat"}]
    targets = [c for c in categorical_like if specs[c].how == "copula" and c in modelled]
    for cd in rel.conditionals(frame, givens, targets, existing=model.dependencies):
        specs[cd.target].how = "conditional"
        specs[cd.target].determinant = cd.determinant
        given = frame[cd.determinant] if not cd.also else rel.given_values(frame, cd)
        pairs = rare.common_pairs(given, frame[cd.target], people, rare_k)
        specs[cd.target].table = rare.filter_table(
            rel.conditional_table(frame, cd),
            # a pair of values K people hold: each of its values is held by them too
            common.get(cd.determinant) if not cd.also else rare.common_levels(given, people, rare_k),
            common.get(cd.target),
            pairs,
            rng,
            folded=rare.folded_targets(given, frame[cd.target], people, rare_k, pairs),
        )
        model.conditionals.append(cd)
    modelled = [c for c in modelled if specs[c].how == "copula"]

    seconds = {
        c: to_epoch_seconds_safe(frame[c], table.column(c).type.name in STRING_TYPES)
        for c in copula_cols
        if kinds[c] is Kind.DATETIME
    }
    parent_seconds: dict[str, np.ndarray] = {}
    if tp.context is not None and parent_pos is not None and tp.context.ref_table in states:
        for pc, ps in states[tp.context.ref_table].seconds.items():
            parent_seconds[pc] = np.where(parent_pos >= 0, ps[np.maximum(parent_pos, 0)], np.nan)
    twins = date_roots(model.parts)  # admit_date = date(admit_ts): ordered too, kept via admit_ts
    ordered = {  # a time of day is no point in time: never ordered against dates
        c: s
        for c, s in seconds.items()
        if (specs[c].how == "copula" or c in twins) and table.column(c).type.name != "time"
    }
    fk_name = tp.context.name if tp.context else None
    found = rel.orders(ordered, parent=parent_seconds, fk=fk_name, twins=twins)
    model.orders = found
    # An anchor's base must be decoded before the column: a modelled column (or its date), or a parent's.
    model.anchors = {
        c: o
        for c, o in rel.anchors(
            found, seconds, parent_seconds, twins, rel.day_orders(ordered, parent_seconds, fk_name, found)
        ).items()
        if c in modelled and (o.fk is not None or twins.get(o.base, o.base) in modelled)
    }
    model.spans = _spans(found, seconds, model.anchors, modelled, twins, rare_k)
    model.number_orders = _number_orders(schema, table, tp, frame, frames, specs)
    # Orders with rows reached through other keys; intervals that never overlap for one key.
    keep = exact_fit.protected(table)
    keep -= exact_fit.apart(table, frame, keep & set(seconds))  # a key's other columns unique alone
    own_times = {
        c: x
        for c, x in seconds.items()
        if specs[c].how == "copula" and c not in keep and table.column(c).type.name != "time"
    }
    model.reaches = exact_fit.reaches(schema, plan, table, comparables.frames, own_times, comparables.seconds)
    model.day_repeats = [
        rel.Repeat(c, fk, b)
        for c, fk, b in exact_fit.day_repeats(
            schema, plan, table, comparables.frames, own_times, comparables.seconds
        )
    ]
    model.time_matches = _time_matches(
        exact_fit.time_matches(schema, plan, table, comparables.frames, own_times, comparables.seconds),
        schema,
        table,
        comparables,
        seconds,
        rare_k,
    )
    interval_keys = [
        fk.columns[0] for fk in (*([tp.context] if tp.context else []), *tp.secondary) if len(fk.columns) == 1
    ]
    interval_keys += [c for c in categorical_like if c not in interval_keys and specs[c].how != "key"]
    # A start in the key (emp_no, from_date) is placed too: intervals that never overlap have
    # distinct starts per key, so placing them keeps the key unique (no_overlaps checks which).
    interval_times = {
        c: x for c, x in seconds.items() if specs[c].how == "copula" and table.column(c).type.name != "time"
    }
    model.no_overlap = exact_fit.no_overlaps(
        table, frame, interval_times, interval_keys, lambda k: comparables.codes(table.name, k)
    )

    # Own dims: nulls, values (anchored ones as their gap), reference keys, FK nullness.
    dims: list[Dim] = []
    columns_z: list[np.ndarray] = []
    columns_s: list[np.ndarray] = []
    categories: list[tuple[int, pd.Series]] = []  # (dim, values) of category columns
    numbers: list[tuple[int, pd.Series, np.ndarray]] = []  # (dim, non-NULL values, which rows)
    null_dims: list[tuple[int, pd.Series]] = []  # (dim, is the column NULL) of numbers and dates
    n = len(frame)
    enc: Encoder
    for c in modelled:
        col = table.column(c)
        values = frame[c] if c not in common else rare.fold(frame[c], common[c], rng)
        if c in any_code:
            values = _any_reference_code(frame[c], tp, frames, rng)
        isnull = values.isna().to_numpy()
        spec = specs[c]
        if kinds[c] in {Kind.CATEGORICAL, Kind.BOOLEAN} or roles.get(c) == "reference_fk":
            objects = pd.Series(as_objects(values))
            enc = Categorical.fit(objects)
            categories.append((len(dims), objects))
            dims.append(Dim(c, "value", enc, column=c))
            columns_z.append(enc.normal(objects, rng))
            columns_s.append(enc.scores(objects))
            continue
        if 0 < spec.null_share < 1 and spec.null_determinant is None:
            enc_null = Categorical.fit(pd.Series(isnull), ordered=True)
            null_dims.append((len(dims), pd.Series(isnull)))
            dims.append(Dim(f"{c}#null", "null", enc_null, column=c))
            columns_z.append(enc_null.normal(pd.Series(isnull), rng))
            columns_s.append(enc_null.scores(pd.Series(isnull)))
        known = values[~isnull]
        spec.offset = _exact_offset(col, known) if kinds[c] is not Kind.DATETIME else None
        if spec.offset is not None:  # learned as exact differences from it, which floats hold
            known = pd.Series([int(v) - spec.offset for v in known], index=known.index, dtype=float)
        # Quantiles of rare_k people each: a birth date repeated on one patient's 10 visits is one value.
        learned = rare.per_person(known, None if people is None else people[~isnull], rare_k)
        z = rng.standard_normal(n)
        sc = np.zeros(n)  # an unknown value scores at the latent's mean
        if kinds[c] is Kind.DATETIME:
            text = col.type.name in STRING_TYPES
            fmt = text_date_format(known) if text else None
            output = "text" if text else _temporal_output(col.type, known)
            enc = Temporal.fit(learned, output=output, text_format=fmt, tail=rare_k)
            anchor = model.anchors.get(c)
            if anchor is not None:
                base = parent_seconds[anchor.base] if anchor.fk else seconds[anchor.base]
                step = gap_step(enc.resolution)
                # Whole days from the base's day (a date drawn from a timestamp's day, as sampled)
                gap = np.round((seconds[c] - step_floor(base, step)) / step)
                enc = Temporal(
                    inner=_smoothed(Continuous.fit(gap[~isnull], integer=True, tail=rare_k)),
                    output=output,
                    resolution=enc.resolution if step != 1.0 else "second",
                    text_format=fmt,
                    bounds=_seconds_range(enc),
                    grain=enc.grain,
                    times=enc.times,
                )
                z[~isnull] = Continuous.normal_array(gap[~isnull], rng)
                sc[~isnull] = Continuous.scores_array(gap[~isnull])
            else:
                z[~isnull] = enc.normal(known, rng)
                sc[~isnull] = enc.scores(known)
        else:
            held = None if people is None else people[~isnull]
            enc = _number_encoder(
                known, held, rare_k, all_rare=col.kind_reason == ALL_RARE, years=calendar_years(col, known)
            )
            numeric = pd.to_numeric(known, errors="coerce").astype(float)
            z[~isnull] = enc.normal(numeric, rng)
            sc[~isnull] = enc.scores(numeric)
            spec.decimals = getattr(enc, "decimals", None)
            if col.kind_reason != ALL_RARE and spec.offset is None:  # shaped by its own values
                numbers.append((len(dims), numeric.reset_index(drop=True), ~isnull))
        dims.append(Dim(c, "value", enc, column=c))
        columns_z.append(z)
        columns_s.append(sc)
    for fk in composite_ref_fks:
        tuples = pd.Series(list(zip(*(as_objects(frame[c]) for c in fk.columns), strict=True)), dtype=object)
        tuples = tuples.map(lambda t: None if all(v is None for v in t) else t)
        enc = Categorical.fit(tuples, ordered=False)
        dims.append(Dim(f"{fk.name}#ref", "value", enc, fk=fk.name))
        columns_z.append(enc.normal(tuples, rng))
        columns_s.append(enc.scores(tuples))
    for fk in (*tp.secondary, *tp.deferred):
        share = model.fk_null.get(fk.name, 0.0)
        if 0 < share < 1 and not _derived_fk(model, fk):
            isnull = frame[list(fk.columns)].isna().any(axis=1).to_numpy()
            enc_null = Categorical.fit(pd.Series(isnull), ordered=True)
            dims.append(Dim(f"{fk.name}#null", "null", enc_null, fk=fk.name))
            columns_z.append(enc_null.normal(pd.Series(isnull), rng))
            columns_s.append(enc_null.scores(pd.Series(isnull)))

    # A number with few values is a category too when it sets another's shape (visit type 1, 2, 3).
    coded = [
        (i, pd.Series(as_objects(frame[str(dims[i].column)])))
        for i, _, _ in numbers
        if isinstance(dims[i].encoder, Categorical)
    ]
    shape_givens = categories + coded
    # A category the row takes from its parent (a patient's race on each visit) sets shapes too:
    # not drawn here, it is known before the row's numbers are (sample._decode_columns).
    inherited = [
        r.column
        for r in model.repeats
        if tp.context is not None and r.fk == tp.context.name and r.column in frame
    ]
    inherited += _coded_keys(tp, frame, set(inherited) | {str(d.column) for d in dims})
    _shape_by_level(frame, dims, columns_z, columns_s, numbers, shape_givens, people, rare_k, rng, inherited)
    _order_levels(dims, columns_z, columns_s, categories, rng)
    model.family = _family(frame, parent_pos, modelled)
    _shares_by_level(
        dims, columns_z, columns_s, categories, people, model.family, rare_k, rng, frame, inherited
    )
    _nulls_by_level(dims, columns_z, columns_s, null_dims, categories, people, model.family, rare_k, rng)
    model.columns = [specs[c.name] for c in table.columns]
    _spelled_steps(model.parts, specs)
    model.non_finite = non_finite(table, frame)
    _fit_record_guard(model, table, original, specs, rng)
    keyed = {c for cols in table.keysets() for c in cols} | set(roles) | uniques
    # A flat table of persons with rows; not where the person is part of a key (UNIQUE (mrn,
    # seq)): gathered into persons, rows would fall on each other's keys and be dropped.
    if namer is not None and tp.context is None and namer not in keyed:
        mine = [c.name for c in table.columns if c.name not in keyed and specs[c.name].how != "key"]
        spread = source_counts.spread(table.name, namer) if source_counts is not None else None
        model.persons = persons.fit(original, namer, mine, rare_k, spread)
        if model.persons is not None:
            log.debug("%s: rows gathered into persons by %s", table.name, namer)
    model.dims = dims
    model.n_own = len(dims)
    z_own = np.column_stack(columns_z) if columns_z else np.zeros((n, 0))
    s_own = np.column_stack(columns_s) if columns_s else np.zeros((n, 0))
    return model, _Fitting(
        frame=frame,
        z=z_own,
        scores=s_own,
        parent_pos=parent_pos,
        seconds=seconds,
        who=who,
        categories=categories,
    )


def _numbers_in_text(
    table: Table,
    frame: pd.DataFrame,
    roles: dict[str, str],
    data_keys: set[str],
    uniques: set[str],
    people: np.ndarray | None,
    rare_k: int,
) -> tuple[pd.DataFrame, Table, list[text_numbers.TextNumbers]]:
    """Text columns holding numbers in some rows and words in others, with no number column beside
    them (model/text_numbers.py): a new frame where their number rows hold one placeholder level,
    the table with such a column a category, and how its numbers are drawn. The caller's frame is
    left as it is (the guards against copying source records are built from it)."""

    def plain(c: Column) -> bool:
        return (
            c.name in frame
            and c.name not in data_keys
            and c.name not in roles
            and not c.pii
            and not c.computed
        )

    candidates = [
        c.name
        for c in table.columns
        if plain(c)
        and c.name not in uniques
        and c.kind in {Kind.CATEGORICAL, Kind.TEXT}
        and c.type.name in STRING_TYPES
        and not c.type.values
    ]
    if not candidates:
        return frame, table, []
    numbers = [c.name for c in table.columns if c.name in frame and c.kind is Kind.NUMERICAL]
    givens = [
        c.name
        for c in table.columns
        if (plain(c) or roles.get(c.name) == "reference_fk") and c.kind in {Kind.CATEGORICAL, Kind.BOOLEAN}
    ]
    found = text_numbers.find(frame, candidates, numbers, people, rare_k, givens)
    if not found:
        return frame, table, []
    out, replaced = [], {}
    for column, rows in found:
        words = frame[column][~rows].dropna()
        if words.nunique() + 1 > MAX_CATEGORIES:
            continue  # free text with some numbers in it: left to the text model
        placeholder = text_numbers.placeholder_for(frame[column])
        tn = text_numbers.fit(
            frame,
            column,
            rows,
            [g for g in givens if g != column],
            people,
            rare_k,
            lambda x, held: _number_encoder(x, held, rare_k, all_rare=False),
            placeholder,
        )
        values = frame[column].to_numpy(dtype=object).copy()
        values[rows] = placeholder
        replaced[column] = pd.Series(values, index=frame.index, dtype=object)
        out.append(tn)
        log.debug(
            "%s: %s holds numbers in %.0f%% of its rows: drawn per %s",
            table.name,
            column,
            100 * tn.share,
            tn.given,
        )
    if not out:
        return frame, table, []
    table = replace(
        table,
        columns=tuple(
            replace(c, kind=Kind.CATEGORICAL, kind_reason="words, and numbers drawn per level of a category")
            if c.name in replaced
            else c
            for c in table.columns
        ),
    )
    return frame.assign(**replaced), table, out


def _second_names(specs: dict[str, ColumnSpec], frame: pd.DataFrame, rare_k: int) -> None:
    """A second name column of a kind (mothersname beside fname) is another person's name,
    drawn apart from the row's own and equal to it as often as in the source (pii.name_roles)."""
    named = [(c, s.pii.category) for c, s in specs.items() if s.how == "pii" and s.pii is not None]
    for c, (whose, own, same) in name_roles(named, frame, rare_k).items():
        pii = specs[c].pii
        assert pii is not None
        pii.other, pii.own, pii.same = whose, own, same


def _exact_offset(col: Any, known: pd.Series) -> int | None:
    """Where an integer column holds a value beyond 2**53, where floats no longer tell integers
    apart (40 BIGINT UNSIGNED values near 2**64 were one float), an exact integer below its
    values to learn them from; else None."""
    if col.type.name not in {"smallint", "integer", "bigint"} and not (
        col.type.name == "numeric" and col.type.scale == 0
    ):
        return None
    if not len(known):
        return None
    numpy_dtype: Any = getattr(known.dtype, "numpy_dtype", known.dtype)  # Int64/UInt64: no NULL here
    try:
        if numpy_dtype.kind in "iu":  # vectorised: every integer column of every table asks
            arr = known.to_numpy(dtype=numpy_dtype)
            lo, hi = int(arr.min()), int(arr.max())
        else:
            ints = [int(v) for v in known]
            lo, hi = min(ints), max(ints)
    except (TypeError, ValueError, OverflowError):
        return None
    # Not the smallest value itself (one row's, stored exactly in the model file): the multiple of
    # 2**32 at or below it, from which the differences still fit a float's 53 bits.
    return lo - lo % 2**32 if max(abs(lo), abs(hi)) > 2**53 else None


def calendar_years(col: Column, known: pd.Series) -> bool:
    """Does the column hold calendar years: a YEAR type, or whole numbers of 1000..2999 in a column
    named for a year (release_year, yearOfBirth, fiscal_yr)? Their coarsest form (a table of
    fewer than rare-k rows) is then their calendar decade, not their order of magnitude."""
    if col.type.name == "year":
        return True
    if col.type.name not in INTEGER_TYPES and not (col.type.name == "numeric" and col.type.scale == 0):
        return False
    words = {w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", col.name)}
    if not words & {"year", "yr"}:
        return False
    x = pd.to_numeric(known, errors="coerce").to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    return bool(len(x)) and bool(np.all((x >= 1000) & (x <= 2999) & (x == np.round(x))))


def _number_encoder(
    known: pd.Series, people: np.ndarray | None, rare_k: int, *, all_rare: bool, years: bool = False
) -> Encoder:
    """A number's marginal: quantiles of rare_k people each (a birth date on one patient's ten
    visits is one value; one patient's forty readings are not its quantiles, rare.per_person_capped);
    exact levels where few values are well held, with their shares of rows
    (by people, Chinook's 1.99 tracks were a third of the lines instead of 5%). ``years``: calendar
    years (calendar_years)."""
    learned = rare.per_person_capped(known, people, rare_k)
    enc = fit_numeric(learned, tail=rare_k, levels=not all_rare, years=years)
    if not isinstance(enc, Categorical):
        return enc
    numeric = pd.to_numeric(known, errors="coerce").astype(float).reset_index(drop=True)
    # Exact levels held by rare_k people each, or none: a marginal per category level can be
    # two values, one of them one person's (a phone visit's single planted amount).
    common = rare.common_levels(numeric, people, rare_k)
    if not common:
        return fit_numeric(learned, tail=rare_k, levels=False, years=years)
    folded = rare.fold(numeric, common, np.random.default_rng(0))  # numbers: to the nearest, no draw
    if len(learned) < len(known) or len(common) < len(enc.levels):
        enc = Categorical.fit(pd.Series(pd.to_numeric(folded).to_numpy(dtype=float)), ordered=True)
    return enc


def _shape_by_level(
    frame: pd.DataFrame,
    dims: list[Dim],
    columns_z: list[np.ndarray],
    columns_s: list[np.ndarray],
    numbers: list[tuple[int, pd.Series, np.ndarray]],
    categories: list[tuple[int, pd.Series]],
    people: np.ndarray | None,
    rare_k: int,
    rng: np.random.Generator,
    inherited: Sequence[str] = (),
) -> None:
    """Numbers whose shape a category of the row sets get a marginal per level (model/by_level.py);
    ``inherited``: columns the row takes from its parent, categories of the row too."""
    if not numbers or not (categories or inherited):
        return
    candidates = []
    for j, objects in categories:
        held = pd.Series(as_objects(frame[str(dims[j].column)]))
        codes = dims[j].encoder.codes(objects)  # type: ignore[attr-defined]
        candidates.append((str(dims[j].column), codes, held, by_level.level_codes(held)))
    for name in inherited:
        held = pd.Series(as_objects(frame[name]))
        levels = by_level.level_codes(held)
        candidates.append((name, levels, held, levels))
    # Which numbers each shaped number is drawn given: a number with few values may be drawn per
    # level of a category and set another's shape in turn (diabetes130's procedures per specialty,
    # the time in hospital per procedures), never in a cycle (the sampler draws givens first).
    graph: dict[str, set[str]] = {}
    for i, numeric, known in numbers:
        own = str(dims[i].column)
        options = [c for c in candidates if c[0] != own and not _sets_through(graph, c[0], own)]
        given_name = by_level.strongest(columns_s[i], known, [(c[0], c[1], c[3]) for c in options], people)
        if given_name is None:
            continue
        # The category's own values: a rare level folded into a common one for the copula would
        # put its rows' numbers (one patient's 7000s) into that level's marginal.
        given = pd.Series(as_objects(frame[given_name]))[known].reset_index(drop=True)
        encoder = by_level.fit(
            numeric,
            given,
            given_name,
            None if people is None else people[known],
            dims[i].encoder,
            lambda v, who: _number_encoder(v, who, rare_k, all_rare=False),
        )
        if encoder is None:
            continue
        givens = pd.DataFrame({given_name: given})
        most = MAX_NUMBER_GIVENS_MANY if int(known.sum()) >= by_level.MANY_ROWS else MAX_NUMBER_GIVENS
        while len(givens.columns) < most:  # then per pair (per triple) of categories
            finer = _finer_numbers(
                encoder, columns_s[i][known], givens, options, known, people, rare_k, numeric
            )
            if finer is None:
                break
            encoder, givens = finer
        graph[own] = {str(g) for g in givens.columns}
        dims[i] = replace(dims[i], encoder=encoder)
        given_rows: Any = givens if encoder.also else given
        columns_z[i][known] = encoder.normal_given(numeric, given_rows, rng)
        columns_s[i][known] = encoder.scores_given(numeric, given_rows)


def _coded_keys(tp: TablePlan, frame: pd.DataFrame, besides: set[str]) -> list[str]:
    """Codes the row's key into its parent holds (a lab result keyed (order_id, loinc_code) into
    its order's tests): known from the parent before the row's values are drawn, they may set
    their shapes and shares as a column repeated from the parent does (the unit and value of a
    glucose test are a glucose test's). Ids (many values, or one per row) set nothing."""
    if tp.context is None or len(tp.context.columns) < 2:
        return []
    out = []
    for c in tp.context.columns:
        if c in besides or c not in frame:
            continue
        known = frame[c].dropna()
        distinct = int(known.nunique()) if len(known) else 0
        if 2 <= distinct <= by_level.MAX_GIVEN_LEVELS and distinct <= 0.5 * len(known):
            out.append(c)
    return out


MIN_NUMBER_GAIN = (
    0.005  # share of a number's score variance a further category must explain (by_level.CHANCE)
)
# Categories a number's marginal is drawn per (pairs): per triple, diabetes130's patients were
# told apart more often (aggregation detection 0.596 -> 0.612 at 2,000 patients), per pair less.
MAX_NUMBER_GIVENS = 2
# ... and per triple among MANY_ROWS rows or more, where a triple's levels are not a few rows
# each: diabetes130's 100,000 visits, whose lab procedures and stays depend on the specialty
# with the admission type and the payer, were told apart less often (single-table detection
# 0.613 -> 0.602 and 0.614 -> 0.605 with two seeds at 8,000 patients).
MAX_NUMBER_GIVENS_MANY = 3


def _finer_numbers(
    encoder: by_level.ByLevel,
    scores: np.ndarray,
    givens: pd.DataFrame,
    options: list[tuple[str, np.ndarray, pd.Series, np.ndarray]],
    known: np.ndarray,
    people: np.ndarray | None,
    rare_k: int,
    numeric: pd.Series,
) -> tuple[by_level.ByLevel, pd.DataFrame] | None:
    """A number drawn per level of one category, per tuple of it and the category that explains
    most of the rest (by_level.pair_eta_gain, at least MIN_NUMBER_GAIN): diabetes130's number of
    lab procedures depends on the admission type and, beyond it, on the HbA1c result (3% more
    of its variance)."""
    groups = encoder.group_codes(givens)
    who = None if people is None else people[known]
    best: tuple[float, str, pd.Series] | None = None
    for name, codes, values, own in options:
        if name in givens.columns or int(codes.max(initial=0)) >= by_level.MAX_GIVEN_LEVELS:
            continue
        gain = by_level.pair_eta_gain(scores, groups, own[known], who)
        if gain >= MIN_NUMBER_GAIN and (best is None or gain > best[0]):
            best = (gain, name, values[known].reset_index(drop=True))
    if best is None:
        return None
    more = givens.assign(**{best[1]: best[2].to_numpy()})
    finer = by_level.fit_tuples(
        numeric, more, encoder, who, lambda v, w: _number_encoder(v, w, rare_k, all_rare=False)
    )
    return None if finer is None else (finer, more)


def _shares_by_level(
    dims: list[Dim],
    columns_z: list[np.ndarray],
    columns_s: list[np.ndarray],
    categories: list[tuple[int, pd.Series]],
    people: np.ndarray | None,
    family: Mapping[str, float],
    rare_k: int,
    rng: np.random.Generator,
    frame: pd.DataFrame | None = None,
    inherited: Sequence[str] = (),
) -> None:
    """Categories whose shares another category of the row sets get them per level of it
    (model/by_level.py), strongest first; each has one such category, and none sets its own
    through a chain back to it (they are drawn one after the other). A column the children of a
    parent share (``family``: a patient's payer on each visit, with the chance a child takes its
    first sibling's) is drawn per level only of another such column shared at least as often:
    a child that takes the first sibling's value then takes the other's too (sample.py
    _one_per_family), so it still agrees with its sibling. Given a column drawn per row, it
    would differ between the parent's children."""
    if len(categories) + len(inherited) < 2:
        return
    coded = {
        i: dims[i].encoder.codes(objects)  # type: ignore[attr-defined]
        for i, objects in categories
        if isinstance(dims[i].encoder, Categorical)
    }
    objects = dict(categories)
    # A column the row takes from its parent sets shares too (it is known before the row's own
    # are drawn: sample._decode_columns), under a negative number of its own; the same for
    # every sibling, it may set a family column's.
    names = {i: str(dims[i].column) for i in coded}
    family = dict(family)
    for k, name in enumerate(inherited, start=1):
        if frame is None:
            break
        objects[-k] = pd.Series(as_objects(frame[name]))
        coded[-k] = by_level.level_codes(objects[-k])
        names[-k] = name
        family[name] = 1.0
    found = []
    for i, ci in coded.items():
        for j, cj in coded.items():
            if (
                i != j
                and i >= 0
                and _may_set(family, names[i], names[j])
                and int(cj.max(initial=0)) < by_level.MAX_GIVEN_LEVELS
                and int(ci.max(initial=0)) >= 1
            ):
                u = by_level.uncertainty(ci, cj)
                if u >= by_level.MIN_UNCERTAINTY:
                    found.append((u, i, j))
    found.sort(key=lambda f: (-f[0], f[1], f[2]))
    given_of: dict[int, int] = {}
    for _, i, j in found:
        if i in given_of or _sets_through({a: {b} for a, b in given_of.items()}, j, i):
            continue
        try:
            encoder = by_level.fit_shares(
                objects[i], objects[j], names[j], people, dims[i].encoder, rare_k, rng
            )
        except TypeError:  # unhashable levels (lists inside a category): shares of the whole column
            continue
        if encoder is None:
            continue
        given_of[i] = j
        dims[i] = replace(dims[i], encoder=encoder)
        columns_z[i] = encoder.normal_given(objects[i], objects[j], rng)
        columns_s[i] = encoder.scores_given(objects[i], objects[j])
    _second_givens(dims, columns_z, columns_s, coded, objects, names, given_of, people, family, rare_k, rng)


MAX_POOLED_NULLS = 0.25  # share of rows whose level has no NULL share of its own (_nulls_by_level)


def _nulls_by_level(
    dims: list[Dim],
    columns_z: list[np.ndarray],
    columns_s: list[np.ndarray],
    null_dims: list[tuple[int, pd.Series]],
    categories: list[tuple[int, pd.Series]],
    people: np.ndarray | None,
    family: Mapping[str, float],
    rare_k: int,
    rng: np.random.Generator,
) -> None:
    """Whether a number (or a date) is NULL, per level of the category of the row that explains
    most of it (by_level.uncertainty, beyond chance): a lab's valuenum is NULL for a text-only
    item and in 2% of the others' rows. One NULL share for the whole column, moved only along
    the copula's axis, gave the text-only item numbers on 60% of its rows and the others NULL
    on 10-18% (attack round 34). The shares are learned as a category's are (by_level.fit_shares:
    levels held by enough people, a rare NULL or value folded); other levels keep the column's."""
    if not null_dims or not categories:
        return
    coded = {
        i: by_level.level_codes(objects)
        for i, objects in categories
        if int(by_level.level_codes(objects).max(initial=0)) < by_level.MAX_GIVEN_LEVELS
    }
    objects = dict(categories)
    for i, isnull in null_dims:
        target = isnull.to_numpy(dtype=np.int64)
        name = str(dims[i].column)
        best: tuple[float, int] | None = None
        for j, cj in coded.items():
            if not _may_set(family, name, str(dims[j].column)):
                continue
            u = by_level.uncertainty(target, cj)
            if u >= by_level.MIN_UNCERTAINTY and (best is None or u > best[0]):
                best = (u, j)
        if best is None:
            continue
        j = best[1]
        try:
            encoder = by_level.fit_shares(
                isnull, objects[j], str(dims[j].column), people, dims[i].encoder, rare_k, rng
            )
        except TypeError:  # unhashable levels: the column's one share
            continue
        if encoder is None:
            continue
        # Levels of shares of their own for most rows: else the copula, which carried the
        # relation for all levels, loses it for the pooled rest (OMOP's condition end dates, NULL
        # per condition: 2 of 70 conditions had shares of their own, 46% of the rows pooled, and
        # condition_occurrence was told apart more often, 0.589 -> 0.619).
        groups = encoder._groups(objects[j])
        pooled = sum(len(rows) for rows, enc in groups if enc is encoder.pooled)
        if pooled > MAX_POOLED_NULLS * len(isnull):
            continue
        # Only where a level never holds a value (a text-only lab item): shares that merely differ
        # by level (a death date per age band) are the copula's, which keeps the value drawn with
        # them (overridden, the demo's death dates came from rows drawn as alive: KS 0.78 -> 0.49).
        nulls = isnull.to_numpy(dtype=bool)
        if not any(len(rows) and nulls[rows].all() for rows, enc in groups if enc is not encoder.pooled):
            continue
        dims[i] = replace(dims[i], encoder=encoder)
        columns_z[i] = encoder.normal_given(isnull, objects[j], rng)
        columns_s[i] = encoder.scores_given(isnull, objects[j])


MIN_PAIR_GAIN = 0.005  # share of a category's entropy a further category must explain (by_level.CHANCE)
MAX_GIVENS = 3  # categories that set another's shares together (a triple of levels at most)


def _second_givens(
    dims: list[Dim],
    columns_z: list[np.ndarray],
    columns_s: list[np.ndarray],
    coded: dict[int, np.ndarray],
    objects: dict[int, pd.Series],
    names: dict[int, str],
    given_of: dict[int, int],
    people: np.ndarray | None,
    family: Mapping[str, float],
    rare_k: int,
    rng: np.random.Generator,
) -> None:
    """A category whose shares one category sets gets them per pair, then per triple, of it and
    further categories, while each explains more (by_level.pair_gain, counted over the groups
    the model already has): diabetes130's medical specialty depends on the admission type, the
    admission source and the payer; drawn per (type, source), its pairs with the payer were as
    far from the real ones as an independent draw's. Tuples of few rows or people take the shares
    of one column fewer (by_level._levels_held), and no chain of givens returns."""
    graph = {i: {j} for i, j in given_of.items()}
    for i, j in sorted(given_of.items()):
        chosen = [j]
        while len(chosen) < MAX_GIVENS:
            current = dims[i].encoder
            assert isinstance(current, by_level.ByLevel) and current.pooled is not None
            chosen_names = [names[c] for c in chosen]
            frame = pd.DataFrame(
                {n: objects[c].to_numpy() for n, c in zip(chosen_names, chosen, strict=True)}
            )
            groups = current.group_codes(frame)
            best: tuple[float, int] | None = None
            for k, ck in coded.items():
                if (
                    k == i
                    or k in chosen
                    or not _may_set(family, names[i], names[k])
                    or int(ck.max(initial=0)) >= by_level.MAX_GIVEN_LEVELS
                    or _sets_through(graph, k, i)
                ):
                    continue
                gain = by_level.pair_gain(coded[i], groups, ck)
                if gain >= MIN_PAIR_GAIN and (best is None or gain > best[0]):
                    best = (gain, k)
            if best is None:
                break
            k = best[1]
            frame[names[k]] = objects[k].to_numpy()
            tuples = pd.Series(
                list(zip(*(rare.keys_of(frame[c]) for c in frame.columns), strict=True)), dtype=object
            )
            encoder = by_level.fit_shares(
                objects[i], tuples, chosen_names[0], people, current.pooled, rare_k, rng
            )
            if encoder is None:
                break
            encoder = replace(encoder, also=tuple(frame.columns[1:]), fallback=current)
            chosen.append(k)
            graph[i].add(k)
            dims[i] = replace(dims[i], encoder=encoder)
            columns_z[i] = encoder.normal_given(objects[i], frame, rng)
            columns_s[i] = encoder.scores_given(objects[i], frame)


def _null_from_itself(dep: rel.Dependency, deps: list[rel.Dependency]) -> bool:
    """Whether ``dep`` decides a column's NULLs from a column derived from that column (dep -> grp
    and grp -> whether dep is NULL: a NaN dep's rows, and their group, were never drawn)."""
    if not dep.target.endswith("#isnull"):
        return False
    column = dep.target.removesuffix("#isnull")
    reached, todo = set(), [column]
    while todo:
        node = todo.pop()
        for d in deps:
            if d.determinant == node and not d.target.endswith("#isnull") and d.target not in reached:
                reached.add(d.target)
                todo.append(d.target)
    return dep.determinant in reached


def _may_set(family: Mapping[str, float], target: str, given: str) -> bool:
    """Whether ``given`` may set the shares of ``target`` (see _shares_by_level)."""
    return target not in family or family.get(given, 0.0) >= family[target]


def _sets_through(givens: Mapping[Any, set[Any]], start: Any, target: Any) -> bool:
    """Whether ``target`` already sets ``start``'s shares, directly or through others."""
    seen: set[int] = set()
    todo = [start]
    while todo:
        node = todo.pop()
        if node == target:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(givens.get(node, ()))
    return False


def _order_levels(
    dims: list[Dim],
    columns_z: list[np.ndarray],
    columns_s: list[np.ndarray],
    categories: list[tuple[int, pd.Series]],
    rng: np.random.Generator,
) -> None:
    """Each category's levels put in the order the other columns vary along (model/levels.py),
    one column after another, each seeing the others' new scores."""
    for i, objects in categories:
        others = [s for j, s in enumerate(columns_s) if j != i]
        if not others:
            return
        enc = category_order.position(dims[i].encoder, objects, np.column_stack(others))  # type: ignore[arg-type]
        if enc is not None:
            dims[i] = replace(dims[i], encoder=enc)
            columns_z[i] = enc.normal(objects, rng)
            columns_s[i] = enc.scores(objects)


def _time_matches(
    found: dict[str, tuple[str, str]],
    schema: Schema,
    table: Table,
    comparables: _Comparable,
    seconds: dict[str, np.ndarray],
    rare_k: int,
) -> dict[str, TimeMatch]:
    """Each close pair of times with the marginal of their differences (in days where both are
    dates), learned as any gap from a bound is (anchors): quantiles with the extremes pulled in."""
    out: dict[str, TimeMatch] = {}
    for fk_name, (col, base) in found.items():
        pos = exact_fit.walk(schema, (("up", table.name, fk_name),), comparables.frames, len(seconds[col]))
        gap = seconds[col] - exact_fit.times_at(pos, comparables.seconds(table.fk(fk_name).ref_table, base))
        gap = gap[~np.isnan(gap)]
        unit = 86400.0 if len(gap) and not np.any(np.mod(gap, 86400.0)) else 1.0
        encoder = _smoothed(Continuous.fit(np.round(gap / unit), integer=True, tail=rare_k))
        out[fk_name] = TimeMatch(col, base, encoder, unit)
    return out


def _smoothed(encoder: Continuous) -> Continuous:
    encoder.smooth = True
    return encoder


MIN_PEOPLE = 20  # rows of a table (or values of a key) to count its rows as people: stores are not


@dataclass
class Whose:
    """Whose each row of a table is, as the model counts holders of a value (rare_k of them)."""

    parent_pos: np.ndarray | None  # the context parent's row (-1: none)
    # The person: the root ancestor through the context FKs (as a row of the topmost table large
    # enough to be people), or a column naming them in a flat table (``namer``); None if neither.
    owner: np.ndarray | None
    holder: Holder | None  # who the owner is in the source, for counts there (read.Holder)
    namer: str | None
    by_parent: np.ndarray | None  # the parent row where it says whose the rows are
    people: np.ndarray | None  # who holds a value: the owner, else by_parent, else (None) the row
    # ``people`` named in the source (read.Holder; ((), ()): rows), for counts there; None if they
    # cannot be (an owner whose table the source cannot join to).
    counted: Holder | None = None


def whose(
    schema: Schema,
    plan: Plan,
    table: Table,
    frame: pd.DataFrame,
    frames: Mapping[str, pd.DataFrame],
    parents: Mapping[str, Whose | None],
    rare_k: int,
    source_counts: SourceCounts | None = None,
    data_keys: set[str] | None = None,
) -> Whose:
    """Whose the rows of ``frame`` are (``parents``: the tables above it, found first). Fit withholds
    a value fewer than rare_k of the ``people`` hold; evaluate flags one (people_of)."""
    tp = plan[table.name]
    if data_keys is None:
        data_keys = _data_key_columns(table) | _repeating_keys(table, tp.context, frame)
        data_keys |= _repeated_text_keys(table, frame)
    parent_pos = None
    if tp.context is not None and frames.get(tp.context.ref_table) is not None:
        parent_pos = positions(
            frame, tp.context.columns, frames[tp.context.ref_table], tp.context.ref_columns
        )
    owner, holder = _owners(tp, parent_pos, parents, frames)
    if owner is None and tp.context is None:
        owner, holder = _secondary_owners(schema, tp, frame, parents, frames)
    # Where no parent says whose rows these are, a column of the table may name them. Where one
    # does (OMOP's measurement under person), a text value that fixes its number is no person.
    namer: str | None = None
    if owner is None:
        gone = _excluded_parents(schema, table)
        keyed = data_keys | {c for cols in gone for c in cols} | _keys_into_tables(schema, table)
        namer, owner = _named_owner(table, frame, keyed, rare_k, source_counts)
        holder = None if namer is None else ((), (namer,))
    if namer is not None:
        log.debug("%s: each row's person is named by %s: rare values counted by it", table.name, namer)
    # Rows under a branch (a parent table of fewer than MIN_PEOPLE rows that is itself under
    # another: 2 stores among 700 addresses) are their own people, not the branch's: counted by
    # their 2 stores, no value of 600 customers was kept. A small root table (11 patients) still
    # counts its rows' children by it; a small root table that is no one (REDCap's one project)
    # does not: one project held every value of its 3,000 log rows, so all were rare.
    by_parent = None if _under_a_branch(plan, tp, frames) or _under_no_one(schema, tp, frames) else parent_pos
    # Orphans (a key's value in no parent row: the meta rows of a WordPress user deleted since)
    # are each their key value's: one person per missing value, after every parent row's (and
    # every person's), never a person per row (a deleted user's 25 rows of one rare value were 25
    # people) nor one person for all of them.
    orphans = _orphan_codes(frame, tp.context, parent_pos)
    if orphans is not None and parent_pos is not None and tp.context is not None:
        rows = len(frames[tp.context.ref_table])
        if by_parent is not None:
            by_parent = np.where(orphans >= 0, rows + orphans, by_parent)
        if owner is not None:
            first = max(rows, int(owner.max(initial=-1)) + 1)
            owner = np.where(orphans >= 0, first + orphans, owner)
    # Who holds a value: a person (owner), a parent row, or the row itself; words, pairs and
    # quantiles must each be held by rare_k of them, not by rare_k rows of one person.
    people = owner if owner is not None else by_parent
    counted = holder if owner is not None else ((), ())
    if owner is None and by_parent is not None and tp.context is not None:
        counted = ((), tuple(tp.context.columns))
    return Whose(parent_pos, owner, holder, namer, by_parent, people, counted)


def people_of(
    schema: Schema,
    frames: Mapping[str, pd.DataFrame],
    plan: Plan | None = None,
    rare_k: int = rare.RARE_K,
    source_counts: SourceCounts | None = None,
) -> dict[str, Whose]:
    """Whose the rows of each data table of ``frames`` are, found as fit finds them (on the schema
    as fit reads it): what evaluate counts the source's holders of a value by. ``source_counts``:
    the frames are a sample, and whether a column names people is told in the source, as fit does."""
    plan = plan or make_plan(schema)
    frames = {n: f.reset_index(drop=True) for n, f in frames.items()}
    schema = _promote_repeated(referenced_keys(unlinked_codes(schema)), plan, frames)
    plan = make_plan(schema) if schema is not plan.schema else plan
    found: dict[str, Whose] = {}
    for name in plan.order:
        frame = frames.get(name)
        if plan[name].role != "data" or frame is None or not len(frame):
            continue
        tp = plan[name]
        spelled = _in_key_spelling(tp, frame, frames)
        found[name] = whose(schema, plan, schema.table(name), spelled, frames, found, rare_k, source_counts)
    return found


def _orphan_codes(
    frame: pd.DataFrame, context: ForeignKey | None, parent_pos: np.ndarray | None
) -> np.ndarray | None:
    """Per row, its orphan key value as a code 0, 1, ... (rows of one missing value share it), -1
    for a row under a parent or of a NULL key; None where the key has no orphan."""
    if context is None or parent_pos is None or not len(frame):
        return None
    if any(c not in frame for c in context.columns):
        return None
    known = ~frame[list(context.columns)].isna().any(axis=1).to_numpy()
    orphan = known & (parent_pos < 0)
    if not orphan.any():
        return None
    out = np.full(len(frame), -1, dtype=np.int64)
    out[orphan] = rare.entities(
        frame.loc[orphan, list(context.columns)].reset_index(drop=True), context.columns
    )
    return out


def _owners(
    tp: TablePlan,
    parent_pos: np.ndarray | None,
    states: Mapping[str, Whose | None],
    frames: Mapping[str, pd.DataFrame],
) -> tuple[np.ndarray | None, Holder | None]:
    """Each row's person (Whose.owner), and who that person is in the source (the foreign
    keys from this table to the person's table, the first, or to the table naming them, and the
    columns there that name them; None where they cannot be named there).

    The person is the parent's person, or the parent row itself when the parent table is the
    first one large enough to be people (MIN_PEOPLE rows: customers under two stores; 40 patients
    of a small clinic are people). Under a parent too small to be people the rows are their own:
    sakila's customers under 2 stores, each store at an address, were 2 people, and every value of
    theirs and of their payments was held by too few to be kept (a 0/1 flag came out 3..7, five
    prices one constant)."""
    context = tp.context
    if context is None or parent_pos is None or context.ref_table not in states:
        return None, None
    if len(frames.get(context.ref_table, ())) < MIN_PEOPLE:
        return None, None
    parent = states[context.ref_table]
    if parent is None or parent.owner is None:
        return parent_pos, ((), tuple(context.columns))
    owner = np.where(parent_pos >= 0, parent.owner[np.maximum(parent_pos, 0)], -1)
    return owner, None if parent.holder is None else ((context, *parent.holder[0]), parent.holder[1])


def _secondary_owners(
    schema: Schema,
    tp: TablePlan,
    frame: pd.DataFrame,
    states: Mapping[str, Whose | None],
    frames: Mapping[str, pd.DataFrame],
) -> tuple[np.ndarray | None, Holder | None]:
    """Each row's person for a table under no parent whose rows still point at people through a
    secondary key: an order's address, planned as a root (its nullable parent_id is no owner), is
    its order's customer's. Counted by rows, one customer's address id on the six addresses of
    their three orders was common and written on 14 synthetic rows; evaluate (people_of) counts
    by the same people. The key's parent must be people, or be under them (Whose.owner); the
    first such key by name decides."""
    for fk in sorted(tp.secondary, key=lambda f: f.name):
        parent = states.get(fk.ref_table)
        rows = frames.get(fk.ref_table)
        if parent is None or rows is None or len(rows) < MIN_PEOPLE:
            continue
        if any(c not in frame for c in fk.columns):
            continue
        table = schema.table(fk.ref_table)
        if parent.owner is None and not (is_subject_table(table) or is_person_table(table)):
            continue
        pos = positions(frame, fk.columns, rows, fk.ref_columns)
        if not (pos >= 0).any():
            continue
        if parent.owner is None:
            return pos, ((), tuple(fk.columns))
        owner = np.where(pos >= 0, parent.owner[np.maximum(pos, 0)], -1)
        return owner, None if parent.holder is None else ((fk, *parent.holder[0]), parent.holder[1])
    return None, None


# Who holds a code, named in the source (read.Holder), and a count of them per code there.
Holder = tuple[tuple[ForeignKey, ...], tuple[str, ...]]


class SourceCounts(Protocol):
    """The source's counts for a fit from a sample (read.SourceHolders)."""

    def __call__(
        self, table_name: str, column: str, holders: Sequence[Holder], wanted: set[Any]
    ) -> list[dict[Any, int]] | None: ...

    def spread(self, table_name: str, column: str) -> tuple[int, int] | None: ...


SOURCE_LEVELS = 10 * MAX_CATEGORIES  # a column of more codes in the sample is not counted in the source


@dataclass
class _SourceHeld:
    """A table's holders in the source, beside the frame's (_common_levels)."""

    counts: SourceCounts
    table: str
    context: ForeignKey | None
    holder: Holder | None

    def common(
        self, column: str, values: pd.Series, found: set[object], holders: list[Holder], k: int
    ) -> set[object]:
        """The codes of ``values`` outside ``found`` that at least k of the source's holders of each
        kind hold (rows, or distinct people: each of ``holders``)."""
        wanted = {v for v in pd.unique(values.dropna()) if v not in found}
        if not wanted or len(wanted) > SOURCE_LEVELS:
            return set()
        counted = self.counts(self.table, column, holders, wanted)
        if counted is None:
            return set()
        return {v for v in wanted if all(held.get(v, 0) >= k for held in counted)}


def _under_a_branch(plan: Plan, tp: TablePlan, frames: Mapping[str, pd.DataFrame]) -> bool:
    """Whether the context parent is a small table under another (see _owners)."""
    context = tp.context
    if context is None:
        return False
    return len(frames.get(context.ref_table, ())) < MIN_PEOPLE and plan[context.ref_table].context is not None


def _under_no_one(schema: Schema, tp: TablePlan, frames: Mapping[str, pd.DataFrame]) -> bool:
    """Whether the context parent is a table of fewer than MIN_PEOPLE rows that holds no people
    (a project, a site: not patients, not named or shaped like them). Its rows are not whose the
    child's rows are: counted by one project, every value of 3,000 rows was one owner's (rare)."""
    context = tp.context
    if context is None or len(frames.get(context.ref_table, ())) >= MIN_PEOPLE:
        return False
    parent = schema.table(context.ref_table)
    return not (is_subject_table(parent) or is_person_table(parent))


def _common_levels(
    table: Table,
    frame: pd.DataFrame,
    roles: dict[str, str],
    data_keys: set[str],
    parent_pos: np.ndarray | None,
    k: int,
    gone: tuple[tuple[str, ...], ...] = (),
    owner: np.ndarray | None = None,
    held: _SourceHeld | None = None,
    left_out: set[str] | frozenset[str] = frozenset(),
) -> dict[str, set[object]]:
    """Each category column's common levels (model/rare.py), for columns that have a rare one;
    an empty set for a column with no common level. Enum labels and booleans are public.

    A level must be common among people too, not only among parent rows: a diagnosis on one
    patient's 6 encounters is one person's. A key into a table left out of the run still tells
    whose row it is: its distinct values count as the entities too (one person's 17 visits are
    one person, not 17 rows).

    ``held``: the frame is a sample, and the source says who holds each code: a code is common
    when rare_k of the source's rows and people of each kind hold it (a ward code on 17 stays of
    the source is seen on 3 of a sample's)."""
    out: dict[str, set[object]] = {}
    # A key into a table left out counts its distinct values as people only where there are enough
    # of them (MIN_PEOPLE): a customer's support_rep_id names one of 3 employees,
    # and counted as owners it made every country rare (the Chinook chain: all random strings).
    owners = []
    holders: list[Holder] = [((), ())] if parent_pos is None else []
    if parent_pos is not None and held is not None and held.context is not None:
        holders.append(((), tuple(held.context.columns)))
    for cols in gone:
        if not all(c in frame for c in cols):
            continue
        e = rare.entities(frame, cols)
        if len(np.unique(e[e >= 0])) >= MIN_PEOPLE:
            owners.append(e)
            holders.append(((), tuple(cols)))
    if owner is not None and (parent_pos is None or not np.array_equal(owner, parent_pos)):
        owners.append(owner)
        if held is not None and held.holder is not None:
            holders.append(held.holder)
    # Every holder named in the source, or none counted there.
    whole = held is not None and len(holders) == 1 + len(owners)
    # A key-like code names a row of another table, not a trait of a person: kept as a code.
    codes = {c for cols in gone for c in cols} | left_out
    for col in table.columns:
        # A key into a reference table is a category of the row (a diagnosis' concept): which
        # person holds a rare one is theirs, though the list of codes is public.
        ref = roles.get(col.name) == "reference_fk"
        if col.name not in frame or col.name in data_keys or (col.name in roles and not ref) or col.pii:
            continue
        # A key-like code of no table left out (an order address' customer_address_id) is still
        # a value a person holds: one customer's address id is theirs, counted like any category.
        if not ref and col.name in codes:
            continue
        category = col.kind is Kind.CATEGORICAL or (col.kind is Kind.NUMERICAL and _discrete(frame[col.name]))
        if not ref and (col.type.values or not category):
            continue
        values = frame[col.name]
        levels = rare.common_levels(values, parent_pos, k)
        for owner in owners:
            levels &= rare.common_levels(values, owner, k)
        if whole and held is not None and len(levels) < rare.known_levels(values):
            levels |= held.common(col.name, values, levels, holders, k)
        if col.type.name in STRING_TYPES:  # 'MUDr. Kvapil' among 'self', 'ER', 'GP': a person, however common
            levels = {v for v in levels if not (isinstance(v, str) and after_a_title(v))}
        if len(levels) < rare.known_levels(values):
            out[col.name] = levels
    return out


# Personal data that names one person: repeated on every row of theirs in a flat table.
IDENTIFYING_PII = frozenset(
    {"record_number", "email", "phone", "national_id", "payment_card", "iban", "person_name", "ssn"}
)


# A value that is an opaque identifier: a hex digest (MD5, SHA-1, SHA-256) or a UUID.
_OPAQUE_VALUE = re.compile(
    r"[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?"
    r"|[0-9a-f]{24}"  # a MongoDB ObjectId
    r"|[0-9A-HJKMNP-TV-Z]{26}"  # a ULID
    r"|[A-Za-z0-9+/]{43}=|[A-Za-z0-9_-]{43}",  # a SHA-256 in base64 (or base64url)
    re.IGNORECASE,
)
# The words of a name that names no thing but an opaque identifier: pseudonym, hash_id, anon_id,
# uid, guid, token. product_uuid, ward_guid or session_token name a product, a ward, a session;
# a bare id, key or ref says nothing of what it is.
_OPAQUE_NAME_WORDS = frozenset(
    {
        "anon",
        "anonymous",
        "digest",
        "guid",
        "hash",
        "hashed",
        "id",
        "key",
        "masked",
        "md5",
        "opaque",
        "pseudo",
        "pseudonym",
        "ref",
        "sha1",
        "sha256",
        "token",
        "uid",
        "uuid",
    }
)


def _named_owner(
    table: Table, frame: pd.DataFrame, data_keys: set[str], k: int, source: SourceCounts | None = None
) -> tuple[str | None, np.ndarray | None]:
    """Each row's person in a flat table that repeats them (a visits export with the patient's
    MRN, birth date and postcode on every visit; a payroll with emp_no and salary each month):
    the column naming them and each row's person as positions (-1 for NULL); None, None if none.

    The column is personal data that identifies (an MRN, an e-mail), or a code or whole number
    whose every value fixes a number, a date or personal data of the row (emp_no -> salary,
    member_id -> birth date: a person's record, not a label; a key-like code too, unless its
    table was left out of the run), or an opaque identifier (an md5 hex or a UUID, in a column
    named after no thing: ``_opaque_identifier``) that fixes a category of the row (a patient's
    zip on each of their visits); its values repeat, and there are at least 2k of them (a
    support rep among three is not whom the row is about). Counted by it, a postcode of one
    patient's ten visits is rare. ``source``: the frame is a sample of the table, whose rows
    repeat a person less often than the source's do (3,000 MRNs on 6,069 visits, about 850 on a
    1,000-row sample): how often they repeat is counted in the source."""
    if len(frame) < 2 * k:
        return None, None
    skip = set(table.primary_key) | {c for fk in table.foreign_keys for c in fk.columns} | data_keys
    keyed_columns = {c for cols in table.keysets() for c in cols}
    best: tuple[int, str, bool] | None = None  # distinct values, column, named after the patient
    traits = _TraitCache(frame)  # each column's codes once, not once per candidate (wide tables)
    for col in table.columns:
        if col.name in skip or col.name not in frame or col.type.values:
            continue
        whole = col.kind is Kind.NUMERICAL and col.type.name in INTEGER_TYPES  # a 10-digit patient_nbr
        # A column named after the one the row is about (an EAV table's record, subject_id): the
        # person, though nothing else of the row is fixed by it (field names and values vary). Not
        # a column of a UNIQUE key: a type-2 dimension's customer_id of UNIQUE (customer_id,
        # valid_from) keys its versions, whose periods must not overlap (taken for the person, it
        # was drawn afresh per row and every customer lost its one current version).
        subject = namers.subject_named(col.name) and col.name not in keyed_columns
        patient = subject and namers.patient_named(col.name)
        opaque = _opaque_identifier(col, frame[col.name]) and col.name not in keyed_columns
        named = col.pii in IDENTIFYING_PII or subject or opaque
        if not (named or col.kind in {Kind.CATEGORICAL, Kind.ID} or whole):
            continue
        # A "none" value (post_parent's 0 on most posts) names no one, and a parent row of the
        # same table is not whom a row is about: namers.py.
        values = namers.as_people(frame[col.name])
        if namers.names_own_rows(table, frame, col.name, values):
            continue
        known = values.dropna()
        distinct, rows = int(known.astype(str).nunique()), len(known)
        if source is not None and 2 * distinct > rows and distinct >= 2 * k:  # an MRN, thinned
            spread = source.spread(table.name, col.name)  # one count over the table, for such columns only
            if spread is not None:
                rows, distinct = spread
        # A person on several rows: two or more per value on average (patients sharing a family
        # e-mail are still one row each). A column named after the patient (pid) goes before a
        # code that fixes traits (an encounter number fixing its date): six visits are one person.
        if (
            distinct < 2 * k
            or 2 * distinct > rows
            or (best is not None and (best[2], best[0]) >= (patient, distinct))
        ):
            continue
        # A name like a key (TrackId, member_id) into a table not in the run: a code of a row of
        # it (each track one price) unless it fixes a date or personal data (member_id -> birth).
        keylike = col.kind_reason.startswith("key-like")
        if (
            subject
            or col.pii in IDENTIFYING_PII
            or _fixes_a_trait(table, frame, col.name, skip, numbers=not keylike, cache=traits)
            or (opaque and _fixes_a_category(table, frame, col.name, skip, k))
        ):
            best = (distinct, col.name, patient)
    if best is None:
        return None, None
    return best[1], rare.entities(namers.as_people(frame[best[1]]).to_frame(), (best[1],))


def kept_codes(schema: Schema, table: Table, frame: pd.DataFrame, people: np.ndarray | None) -> set[str]:
    """Columns that name a row of another table, kept as codes and not counted as values of
    people (fit._common_levels and evaluate's rare_people alike): a foreign key into a table left
    out of the run, and a key-like code (a ``TrackId`` with ``Track`` excluded: each track one
    price) whose values people share. A key-like code each of whose values one person holds
    (an order address' ``customer_address_id``, one customer's address on the six rows of their
    three orders) is that person's: rare or common like any category."""
    out = {c for cols in _excluded_parents(schema, table) for c in cols}
    who = None if people is None else rare.persons(np.asarray(people))
    for col in table.columns:
        if col.name in out or not col.kind_reason.startswith("key-like") or col.name not in frame:
            continue
        if who is None or len(who) != len(frame) or not _one_persons(frame[col.name], who):
            out.add(col.name)
    return out


def _one_persons(values: pd.Series, who: np.ndarray) -> bool:
    """Whether nearly every value (FIXES_SHARE) seen on two rows or more is held by one person."""
    pairs = pd.DataFrame({"v": values.to_numpy(dtype=object), "p": who}).dropna()
    if pairs.empty:
        return False
    sizes = pairs.groupby("v")["p"].agg(["size", "nunique"])
    repeated = sizes[sizes["size"] >= 2]
    return len(repeated) > 0 and float((repeated["nunique"] == 1).mean()) >= FIXES_SHARE


def _keys_into_tables(schema: Schema, table: Table) -> set[str]:
    """Columns named like a key into a table the source has, in the run or left out (TrackId with
    Track excluded): they name a row of that table, not a person. member_id with no member table
    anywhere names nobody else."""
    from relsynth.infer import _forms, norm, split_key

    # The tables of the schema, and those left out that a foreign key still names (InvoiceLine.Song).
    tables = {t.name for t in schema.tables} | {fk.ref_table for fk in table.foreign_keys}
    names = {norm(n).replace("_", "") for n in tables}
    out = set()
    for col in table.columns:
        split = split_key(col.name)
        if split is not None and _forms(split[0]) & names:
            out.add(col.name)
    return out


def _opaque_identifier(col: Column, values: pd.Series) -> bool:
    """Whether a column is a pseudonymised export's stand-in for someone: every value a hex digest,
    a UUID, an ObjectId, a ULID or a base64 SHA-256 (an md5 of the patient number), and a name
    that names no thing (pseudonym, hash_id, guid; not product_uuid or ward_guid). Such a value
    means nothing but whom it stands for, so where it repeats and fixes the row's categories (a
    patient's zip, sex and insurer on each of their visits) it is that one's record repeated, not
    a label of the row. Kept narrow on purpose: a product, ward or session code of any spelling,
    or a digest column named after a thing, stays a category with its frequencies (taken for
    people, its values would be withheld or drawn as new codes)."""
    if not (col.type.name in STRING_TYPES or col.type.name == "uuid"):
        return False
    from relsynth.infer import norm

    words = [w for w in re.split(r"[^a-z0-9]+", norm(col.name)) if w]
    # Every word opaque, one of them saying so: a bare 'id', 'key' or 'ref' may be anything's.
    if not set(words) <= _OPAQUE_NAME_WORDS or not set(words) - {"id", "key", "ref"}:
        return False
    known = values.dropna().astype(str)
    return len(known) > 0 and bool(known.str.fullmatch(_OPAQUE_VALUE).all())


def _fixes_a_category(table: Table, frame: pd.DataFrame, name: str, skip: set[str], k: int) -> bool:
    """Whether an opaque identifier fixes a category of the row: on nearly every value of it seen
    on several rows (FIXES_SHARE of at least k such values), the category has one value, and the
    category is spread enough that repeats would not agree by chance (two rows of a column 90%
    'N' mostly do). Unlike ``_fixes_a_trait`` a coarse category counts: an opaque code is no
    number or date a category could be a band of, so a zip fixed by it is its holder's zip."""
    keys = frame[name].astype(str).where(frame[name].notna())
    repeated = keys.map(keys.value_counts()) >= 2
    if int(keys[repeated].nunique()) < k:
        return False
    for col in table.columns:
        if col.name == name or col.name in skip or col.name not in frame or col.kind is not Kind.CATEGORICAL:
            continue
        values = frame[col.name].astype(str).where(frame[col.name].notna())
        shares = values.value_counts(normalize=True)
        if len(shares) < 2 or float((shares**2).sum()) > 0.5:
            continue
        pairs = pd.DataFrame({"k": keys[repeated], "v": values[repeated]}).dropna()
        per_key = pairs.groupby("k")["v"].nunique()
        if len(per_key) >= k and float((per_key == 1).mean()) >= FIXES_SHARE:
            return True
    return False


FIXES_SHARE = 0.95  # of a code's values that must each fix the trait


class _TraitCache:
    """Each column of a frame as ``_fixes_a_trait`` reads it, computed once per column: its text
    values factorized (-1 for NULL) and its numbers. Recomputed per candidate code, a 300-column
    table spent minutes in astype(str) (quadratic in columns)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._codes: dict[str, tuple[np.ndarray, int]] = {}
        self._numbers: dict[tuple[str, bool], np.ndarray] = {}

    def codes(self, name: str) -> tuple[np.ndarray, int]:
        """The column's text values as codes 0.. (-1 for NULL) and how many distinct there are."""
        if name not in self._codes:
            col = self.frame[name]
            codes, uniques = pd.factorize(col.astype(str).where(col.notna()))
            self._codes[name] = (np.asarray(codes, dtype=np.int64), len(uniques))
        return self._codes[name]

    def numbers(self, name: str, code: bool) -> np.ndarray:
        """The column read as numbers (NaN where none), a code (``code``) as text first."""
        if (name, code) not in self._numbers:
            col = self.frame[name]
            if code:
                col = col.astype(object).where(col.notna())
            self._numbers[(name, code)] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        return self._numbers[(name, code)]


def _fixes_a_trait(
    table: Table,
    frame: pd.DataFrame,
    name: str,
    skip: set[str],
    numbers: bool = True,
    cache: _TraitCache | None = None,
) -> bool:
    """Whether (nearly) every value of ``name`` fixes another column that is a number
    (``numbers``), a date or personal data, not constant over the table: the person's own
    record, repeated. ``cache``: the frame's columns, read once for every candidate code."""
    cache = cache if cache is not None and cache.frame is frame else _TraitCache(frame)
    keys, _ = cache.codes(name)
    order = np.argsort(keys, kind="stable")  # rows grouped by the code's value, NULLs first
    keys_sorted = keys[order]
    for col in table.columns:
        if col.name == name or col.name in skip or col.name not in frame:
            continue
        if col.computed:  # the database's function of the row (g = sp * 2): no record of a person
            continue
        if not (col.pii or col.kind is Kind.DATETIME or (numbers and col.kind is Kind.NUMERICAL)):
            continue
        values, distinct = cache.codes(col.name)
        if distinct < 2:
            continue
        if col.kind is Kind.NUMERICAL and _same_numbers(
            cache.numbers(name, code=True), cache.numbers(col.name, code=False)
        ):
            continue  # the number itself, spelled ('13.6' beside 13.6: a lab value), is no person
        # Per value of the code (rows where both are known), how many values of the column.
        v = values[order]
        both = (keys_sorted >= 0) & (v >= 0)
        k, v = keys_sorted[both], v[both]
        starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]]) if len(k) else np.zeros(0, dtype=np.int64)
        # A coarsening of the code is no trait of a person: month (12 values) fixes quarter (4),
        # an age its age band, a score its grade. Taken for people, those codes were generated
        # afresh (months 1..12 came back as 12 on half the rows) and the coarsening lost its
        # levels. A person's own record (a birth date, a salary) differs between most people.
        if 2 * int(np.count_nonzero(np.bincount(v, minlength=1))) <= len(starts):
            continue
        # Nearly every value: one mistyped birth date must not make a person a category again.
        one = np.minimum.reduceat(v, starts) == np.maximum.reduceat(v, starts)
        if int(one.sum()) / len(starts) >= FIXES_SHARE:
            return True
    return False


def _spelled_steps(parts: list[ex.Part], specs: dict[str, ColumnSpec]) -> None:
    """A number a text spells moves off a source record (generate.avoid_records) by a step its
    text shows: by the column's 0.01 a value of one decimal moved from 16.4 to 16.41, read '16.4'
    again once the text was derived (and the number made to agree with it), so the row stayed on
    the record and was left out (477 of MIMIC-shaped labevents' rows)."""
    for p in parts:
        if p.part != "text" or not p.text_format or p.whole not in specs:
            continue
        if p.text_format.startswith(ex.BY_LEVEL):
            _, levels, other = ex.by_level_parts(p.text_format)
            formats = [f for _, f in levels] + [other]
        else:
            formats = [p.text_format]
        if not all(f.startswith("fixed:") for f in formats):
            continue  # 'plain': the shortest text of any number, whatever its step
        fewest = min(int(f.split(":", 1)[1]) for f in formats)
        spec = specs[p.whole]
        if spec.decimals is None or spec.decimals > fewest:
            spec.decimals = fewest


def _common_formats(part: ex.Part, common: dict[str, set[object]]) -> ex.Part:
    """A spelled number's format per level of a category (exact.by_level_format) names only the
    category's common levels: a rare one takes the other levels' format."""
    if part.part != "text" or not part.text_format or not part.text_format.startswith(ex.BY_LEVEL):
        return part
    given, levels, other = ex.by_level_parts(part.text_format)
    if given not in common:
        return part
    keys = {ex.level_key(v) for v in common[given]}
    kept = [(v, f) for v, f in levels if ex.level_key(v) in keys]
    return replace(part, text_format=ex.by_level_format(given, kept, other))


def _same_numbers(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether a code read as numbers ``x`` equals the numbers ``y`` on
    text_numbers.SPELLED_OF_NUMBER of the rows where both are known (MIN_ROWS of them): a text
    spelling the row's number, a copy (``_TraitCache.numbers`` reads both), or the number times a
    constant plus another (dbl = 3 * qty: qty was taken for a person's code and drawn as new
    codes -974..975 where the source's run -5..40)."""
    both = ~np.isnan(x) & ~np.isnan(y)
    if int(both.sum()) < text_numbers.MIN_ROWS:
        return False
    a, b = x[both], y[both]
    if float(np.isclose(a, b).mean()) >= text_numbers.SPELLED_OF_NUMBER:
        return True
    lo, hi = int(np.argmin(a)), int(np.argmax(a))
    if a[hi] == a[lo]:
        return False
    slope = (b[hi] - b[lo]) / (a[hi] - a[lo])
    line = b[lo] + slope * (a - a[lo])
    return slope != 0 and float(np.isclose(line, b).mean()) >= text_numbers.SPELLED_OF_NUMBER


def _excluded_parents(schema: Schema, table: Table) -> tuple[tuple[str, ...], ...]:
    """The columns of each foreign key into a table left out of the run, and each column profiled
    as such a key (its foreign key dropped with the table): codes now, still naming their owner."""
    active = {t.name for t in schema.active_tables}
    out = {tuple(fk.columns) for fk in table.foreign_keys if fk.ref_table not in active}
    suffix = UNLINKED_REASON.removeprefix("key into a table")  # " left out of the run: codes, ..."
    out |= {
        (c.name,)
        for c in table.columns
        if c.kind_reason == UNLINKED_REASON
        or c.kind_reason.endswith(suffix)
        or c.kind_reason.startswith("foreign key removed in the schema file")
    }
    return tuple(sorted(out))


ALL_RARE = "every value is rare (seen too few times to be kept as a category)"


MAX_ANY_CODES = 1000  # codes of a reference table drawn from, at most, where none is common


def _any_reference_code(
    values: pd.Series, tp: TablePlan, frames: dict[str, pd.DataFrame], rng: np.random.Generator
) -> pd.Series:
    """Each known value replaced by a code of the reference table it points into that no row of the
    source holds, drawn at random (from at most MAX_ANY_CODES of them): nothing of which rows held
    which code is left, and no held code is written. Where the source holds every code, any."""
    fk = next(f for f in tp.reference_fks if f.columns == (values.name,))
    keys = frames.get(fk.ref_table, pd.DataFrame())
    codes = keys[fk.ref_columns[0]].dropna().drop_duplicates() if len(keys) else pd.Series([], dtype=object)
    known = values.notna().to_numpy()
    if not len(codes):
        return values
    held = set(collated(rel.comparable(values.dropna())))  # 'abc' holds 'ABC' under a *_ci collation
    unheld = codes[~collated(rel.comparable(codes)).isin(held).to_numpy()]
    if len(unheld):
        codes = unheld
    else:
        log.info(
            "%s: every code of %s is held by fewer than K people: drawn at random", values.name, fk.ref_table
        )
    pool = rng.choice(codes.to_numpy(), size=min(len(codes), MAX_ANY_CODES), replace=False)
    out = values.to_numpy(dtype=object).copy()
    out[known] = pool[rng.integers(0, len(pool), int(known.sum()))]
    return pd.Series(out, index=values.index, dtype=object)


def _demote_all_rare(table: Table, common: dict[str, set[object]]) -> Table:
    """A category column whose every value is rare is generated like text (or like numbers)."""
    empty = {c for c, levels in common.items() if not levels}
    if not empty:
        return table
    for c in sorted(empty):
        common.pop(c)

    def kind(col: Column) -> Kind:  # a key-like code (customer_address_id) gets fresh identifiers
        if col.kind_reason.startswith("key-like"):
            return Kind.ID
        return KIND_OF_TYPE.get(col.type.name) or Kind.TEXT

    return replace(
        table,
        columns=tuple(
            replace(col, kind=kind(col), kind_reason=ALL_RARE) if col.name in empty else col
            for col in table.columns
        ),
    )


def _seconds_range(own: Temporal) -> list[float]:
    """The range a time learned as a gap from another (a discharge after its admission) is kept
    in: the ends the column's own encoder has (``own``, fitted on its values as a plain column's
    is), pulled in to the K-th value and moved off any one row's value. The column's own min and
    max, or an end moved out from the K-th value and stopped at them, were one admission's exact
    discharge time in the model file (attack round 45)."""
    if own.bounds:  # times of day: Temporal.fit set them from its knots
        return list(own.bounds)
    inner = own.inner
    if isinstance(inner, Continuous) and len(inner.knots):
        return [float(v) for v in own.position_seconds(inner.knots[[0, -1]])]
    if isinstance(inner, Categorical) and inner.levels:  # times common enough to be levels
        known = [float(v) for v in inner.levels if v is not None and np.isfinite(float(v))]
        return [min(known), max(known)] if known else []
    return []


def _exact_levels(values: pd.Series, people: np.ndarray | None, rare_k: int, col: Column) -> bool:
    """Will the column's encoder (_number_encoder) draw exact source values? Counted by people, a
    column of six values on 3,000 rows can have too few to be levels (a person's repeated value
    counts once): it is then drawn as a continuous number, and a dependency on it looked up a
    value it never had (a flag it fixed came back NULL on 87% of the rows)."""
    if col.kind_reason == ALL_RARE or not _discrete(values):
        return False
    isnull = values.isna().to_numpy()
    held = None if people is None else people[~isnull]
    return isinstance(_number_encoder(values[~isnull], held, rare_k, all_rare=False), Categorical)


def _discrete(values: pd.Series) -> bool:
    """Will fit_numeric model this column as exact levels?"""
    known = values.dropna()
    distinct = known.nunique()
    return distinct <= MAX_DISCRETE_LEVELS and len(known) >= MIN_DISCRETE_SUPPORT * distinct


def _fit_record_guard(
    model: TableModel,
    table: Table,
    frame: pd.DataFrame,
    specs: dict[str, ColumnSpec],
    rng: np.random.Generator,
) -> None:
    """Which columns make a record, and which one moves when a synthetic row equals a source
    record unique on them; the records themselves are checked in memory (relsynth.model.guards).

    The record is the evaluation's (values.record_columns: every column but keys and generated
    ones, personal data, text and JSON included), so what the guard lets through is what the
    evaluation counts. Left to numbers, dates and categories, it never checked an audit log
    whose (action, at) pairs are shared and whose JSON detail makes each row unique: 15,789 of
    42,506 synthetic rows equalled a unique source record (attack round 32)."""
    from relsynth.model.values import core_columns, record_columns, record_keys

    full = record_columns(table, frame.columns)
    # And, checked beside it, the record without the columns generated afresh (personal data, free
    # text, JSON): a row is kept off a source record unique on its numbers, dates and categories
    # whatever note or e-mail it was given, as before the record took every column.
    core = core_columns(table, full)

    def guarded(cols: list[str]) -> bool:
        if not identifying(frame, cols, table):
            return False  # one column, or columns of few combinations: a row equal to one copies nobody
        return bool((record_keys(table, frame, cols, exact=True).value_counts() == 1).any())

    # Columns whose generated values never equal a source value (free text, personal data, shaped
    # codes: their own guards see to it) cannot make a row equal a record: a record of the core and
    # those is no second record to fingerprint (TPC-H's lineitem and its comments: 6 million more).
    # Unless one holds NULLs: a generated NULL equals a source NULL. An order with no comment
    # equalled the one source order of its dates and status without one (another had a comment).
    if all(
        c in core or (guards.never_a_source_value(specs[c], table, model) and not frame[c].isna().any())
        for c in full
    ):
        full = core
    parts = [cols for cols in (full, core) if cols and guarded(cols)]
    if len(parts) == 2 and parts[0] == parts[1]:
        parts.pop()
    if not parts:
        return
    model.record_columns = parts[0]
    model.record_core = parts[1] if len(parts) > 1 else []
    cols = full
    # A number or date moves a step; a document of a native type (JSON, an array) is drawn
    # again from its own model (generate.avoid_records), which keeps its distribution.
    movable = [
        c
        for c in cols
        if (specs[c].how == "copula" and table.column(c).kind in {Kind.NUMERICAL, Kind.DATETIME})
        or (specs[c].how == "native" and isinstance(specs[c].constant, dict) and not specs[c].unique)
    ]
    # A text of numbers is moved by drawing its row's number again: moving the code its numbers
    # are drawn per (observations.code) would leave a glucose number on a haemoglobin row.
    numbered = [tn.column for tn in model.text_numbers if tn.column in cols]
    # A number a text spells (valuenum beside value) moved a step off its text ('16.4' beside
    # 16.41): another column moves where there is one.
    spelled = {p.whole for p in model.parts if p.part == "text"}
    movable = [c for c in movable if c not in spelled] or movable
    pool = movable or numbered or [c for c in cols if specs[c].how == "copula"]
    if pool:
        model.record_nudge = max(pool, key=lambda c: _distinct(table, frame, c))


def _distinct(table: Table, frame: pd.DataFrame, column: str) -> int:
    """How many values a column takes (JSON documents by their canonical text)."""
    from relsynth.model.values import canonical_json, json_column

    values = canonical_json(frame[column]) if json_column(table, column) else frame[column]
    codes = value_codes(values)
    return int(codes.max()) + 1 if len(codes) else 0


def to_epoch_seconds_safe(values: pd.Series, text: bool) -> np.ndarray:
    """Seconds since the epoch, NaN for NULL (text columns parsed as ISO dates)."""
    out = np.full(len(values), np.nan)
    known = values.notna().to_numpy()
    if known.any():
        kv = values[known]
        out[known] = to_epoch_seconds(kv, text_format=text_date_format(kv) if text else None)
    return out


def _temporal_output(t: object, values: pd.Series | None = None) -> str:
    name = getattr(t, "name", "")
    if name == "date":
        return "date"
    if name == "time":
        # MySQL's and MariaDB's TIME is a duration (-838:59:59..838:59:59), read as timedelta: kept
        # one (as a time of day, -5:00 and 30:00 came back 19:00 and 06:00).
        return "timedelta" if values is not None and is_duration(values) else "time"
    return "datetime_tz" if getattr(t, "timezone", False) else "datetime"


def _fit_id(spec: ColumnSpec, type_name: str, values: pd.Series) -> None:
    known = values.dropna()
    strings = known.astype(str)
    if type_name == "uuid" or (len(strings) and strings.str.fullmatch(r"[0-9a-fA-F-]{32,36}").mean() > 0.95):
        spec.id_kind = "uuid"
    elif type_name in INTEGER_TYPES:
        spec.id_kind = "integer"
        if known.dtype.kind == "f" and _whole(known):  # NULLs made them floats: 2001.0 is 2001
            strings = known.astype(np.int64).astype(str)
        spec.shapes = Shapes.fit(strings)
    else:
        spec.id_kind = "shape"
        spec.shapes = Shapes.fit(strings)
    spec.unique = spec.unique or (len(known) > 1 and known.is_unique)


def _whole(values: pd.Series) -> bool:
    """Every value a whole number (ints, or floats and Decimals without a fraction)."""
    try:
        return all(int(v) == v for v in values)
    except (TypeError, ValueError, OverflowError):
        return False


def _derived_fk(model: TableModel, fk: ForeignKey) -> bool:
    repeated = {r.column for r in model.repeats if r.fk != fk.name}
    return all(c in repeated for c in fk.columns)


class _Comparable:
    """Each table's columns converted once for equality tests (cached for the whole fit)."""

    def __init__(self, frames: dict[str, pd.DataFrame]) -> None:
        self.frames = frames
        self.cache: dict[tuple[str, str], np.ndarray] = {}

    def column(self, table: str, col: str) -> np.ndarray:
        key = (table, col)
        if key not in self.cache:
            self.cache[key] = rel.comparable(self.frames[table][col]).to_numpy()
        return self.cache[key]

    def seconds(self, table: str, col: str) -> np.ndarray:
        """A time column as float seconds (NaN for NULL), text parsed as ISO dates."""
        key = (table, f"{col}#seconds")
        if key not in self.cache:
            values = self.frames[table][col]
            text = bool(values.notna().any()) and isinstance(values.dropna().iloc[0], str)
            self.cache[key] = exact_fit.seconds(values, text)
        return self.cache[key]

    def codes(self, table: str, col: str) -> np.ndarray:
        """Integer codes of a column's values (-1 for NULL), for grouping rows by them."""
        return pd.factorize(pd.Series(self.column(table, col)))[0].astype(np.int64)

    def aligned(self, table: str, cols: list[str], pos: np.ndarray) -> dict[str, np.ndarray]:
        out = {}
        for c in cols:
            values = self.column(table, c)
            picked = values[np.maximum(pos, 0)] if len(values) else np.full(len(pos), None, dtype=object)
            picked = picked.astype(object) if picked.dtype != object else picked.copy()
            picked[pos < 0] = None
            out[c] = picked
        return out


def _fit_repeats(
    schema: Schema,
    plan: Plan,
    model: TableModel,
    table: Table,
    tp: object,
    frame: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    specs: dict[str, ColumnSpec],
    modelled: list[str],
    values: _Comparable,
) -> None:
    """Columns (and secondary FKs) equal to a parent's column; key columns, the context FK's
    included, that must match a parent's (payment.customer_id = its rental's). A handful of
    exceptions (TOLERANCE) does not hide a relation."""
    context = tp.context  # type: ignore[attr-defined]
    parents = [fk for fk in (*([context] if context else []), *tp.secondary, *tp.deferred)]  # type: ignore[attr-defined]
    secondary_cols = {c for fk in (*tp.secondary, *tp.deferred) for c in fk.columns}  # type: ignore[attr-defined]
    key_cols = set(table.primary_key) | secondary_cols
    match_cols = key_cols | set(context.columns if context else ())
    for fk in parents:
        parent = frames.get(fk.ref_table)
        if parent is None or len(parent) == 0:
            continue
        pos = positions(frame, fk.columns, parent, fk.ref_columns)
        pcols = [c for c in parent.columns if c not in fk.ref_columns]
        aligned = values.aligned(fk.ref_table, pcols, pos)
        candidates = [c for c in modelled if specs[c].how == "copula" and c not in fk.columns]
        candidates += [
            c for c, sp in specs.items() if sp.how in {"pii", "text", "id"} and c not in fk.columns
        ]
        own = {c: values.column(table.name, c) for c in {*candidates, *key_cols}}
        # Values the child repeats: derived after the FK is assigned.
        found = rel.repeats(own, aligned, fk.name, candidates, tolerance=TOLERANCE)
        for r in _keys_stay_keys(schema, plan, table, fk, found):
            specs[r.column].how = "repeat"
            model.repeats.append(r)
        _fit_copies(model, table, fk, pos, own, aligned, specs)
        if fk is context:
            # Secondary FK columns that follow from the context parent (visit_detail.person_id).
            others = [c for c in sorted(secondary_cols) if c not in fk.columns]
            found = rel.repeats(
                own,
                values.aligned(fk.ref_table, list(parent.columns), pos),
                fk.name,
                others,
                tolerance=TOLERANCE,
            )
            model.repeats.extend(_keys_stay_keys(schema, plan, table, fk, found))
        else:
            taken = {r.column for r in model.repeats}
            # The context FK counts too: payment.customer_id = its rental's customer_id.
            # An integer primary key of the table's own is numbered afresh: equal to a parent's
            # column in the source (a note's row_id beside its admission's, both counted 1, 2, ...)
            # it is a coincidence of numbering that no output can keep (90% of the notes lost
            # their admission).
            numbered = {
                c
                for c in table.primary_key
                if c not in table.fk_columns() and table.column(c).type.name in INTEGER_TYPES
            }
            own_keys = [c for c in sorted(match_cols - numbered) if c not in fk.columns and c not in taken]
            linked = pos >= 0  # a key match constrains only rows that have a parent
            # A parent's deferred key is not assigned yet when this table is sampled (a manager's
            # department, in a cycle): model/backrefs.py keeps that relation instead.
            late = {c for d in plan[fk.ref_table].deferred for c in d.columns}
            matches = rel.repeats(
                {c: values.column(table.name, c)[linked] for c in own_keys},
                {c: v[linked] for c, v in aligned.items() if c not in late},
                fk.name,
                own_keys,
                tolerance=TOLERANCE,
            )
            if matches:
                model.key_matches[fk.name] = [(m.column, m.parent_column) for m in matches]


def _fit_copies(
    model: TableModel,
    table: Table,
    fk: ForeignKey,
    pos: np.ndarray,
    own: dict[str, np.ndarray],
    aligned: dict[str, np.ndarray],
    specs: dict[str, ColumnSpec],
) -> None:
    """Personal data a row copies from its parent wherever it has one (an order's e-mail, its
    customer's), though rows under no parent hold their own (a guest's): generated per column, an
    order's e-mail named nobody of the synthetic customers (7,609 of 7,650). Copied after the
    values are generated, from the synthetic parent's, so nothing new is revealed."""
    linked = pos >= 0
    if linked.all() or int(linked.sum()) < rel.MIN_ROWS:
        return
    taken = {r.column for r in (*model.repeats, *model.copies)}
    candidates = [
        c for c, sp in specs.items()
        if sp.how == "pii" and c in own and c not in taken and c not in fk.columns and table.column(c).pii
    ]  # fmt: skip
    if not candidates:
        return
    found = rel.repeats(
        {c: own[c][linked] for c in candidates},
        {c: v[linked] for c, v in aligned.items()},
        fk.name,
        candidates,
        tolerance=TOLERANCE,
    )
    model.copies.extend(found)


def _keys_stay_keys(
    schema: Schema, plan: Plan, table: Table, via: ForeignKey, found: list[rel.Repeat]
) -> list[rel.Repeat]:
    """Drop repeats that would fill a foreign key with something that is not a key of its parent.

    Equal values in the source prove nothing about keys: when a child's two FKs hold equal ids
    (child.a_id = child.b_id), copying a's id into b_id yields orphans, since the synthetic a and
    b number their rows independently. A repeated FK is kept only if the parent's column is
    itself a key of the referenced table, sampled before the children (the parent's own key,
    or one of its FKs to that table, not a deferred one), whole for a composite FK, and never
    NULL where the child's column may not be.
    """
    if not found:
        return found
    ptable = schema.table(via.ref_table)
    ptp = plan[via.ref_table]
    sources = [{c.name: (ptable.name, c.name) for c in ptable.columns}]  # its own columns, as themselves
    for g in (*([ptp.context] if ptp.context else []), *ptp.secondary, *ptp.self_refs, *ptp.reference_fks):
        sources.append({c: (g.ref_table, r) for c, r in zip(g.columns, g.ref_columns, strict=True)})
    tp = plan[table.name]
    fks = [
        *([tp.context] if tp.context else []),
        *tp.secondary,
        *tp.deferred,
        *tp.self_refs,
        *tp.reference_fks,
    ]
    kept = list(found)
    while True:
        source_of = {r.column: r.parent_column for r in kept}
        bad: set[str] = set()
        for fk in fks:
            cols = [c for c in fk.columns if c in source_of]
            if not cols:
                continue
            pairs = [(source_of.get(c, ""), r) for c, r in zip(fk.columns, fk.ref_columns, strict=True)]
            is_key = any(all(s.get(p) == (fk.ref_table, r) for p, r in pairs) for s in sources)
            nulls_fit = all(
                table.column(c).nullable or not ptable.column(source_of[c]).nullable for c in cols
            )
            if not (is_key and nulls_fit):
                bad.update(cols)
        if not bad:
            return kept
        kept = [r for r in kept if r.column not in bad]


def _fit_numbering(
    model: TableModel,
    table: Table,
    tp: object,
    frame: pd.DataFrame,
    specs: dict[str, ColumnSpec],
    copula_cols: list[str],
) -> None:
    """Data columns that number a parent's rows (visit_number 1..n per patient) are numberings too,
    and each numbering keeps the order the source gives it (visit 2 never before visit 1)."""
    context = tp.context  # type: ignore[attr-defined]
    if context is None or not len(frame):
        return
    _fit_numbering_within(model, table, tp, frame, specs, copula_cols)
    group = list(context.columns)
    # UNIQUE (patient_id, visit_number) makes visit_number a key within the parent, no less a numbering.
    within = {
        c for cols in _unique_sets(table) for c in set(cols) - set(group) if len(set(cols) - set(group)) == 1
    }
    fixed = set(table.primary_key) | table.fk_columns() | {c for u in table.unique for c in u.columns}
    fixed -= within - set(table.primary_key) - table.fk_columns()
    for c in list(copula_cols):
        col = table.column(c)
        if c in fixed or col.type.name not in INTEGER_TYPES or specs[c].null_share > 0:
            continue
        nb = rel.numbering(frame, group, c)
        if nb is not None and frame.groupby(group, dropna=False)[c].size().gt(1).sum() >= rel.MIN_ROWS:
            model.numbering.append(nb)
            specs[c].how = "numbering"
            copula_cols.remove(c)
    candidates: dict[str, np.ndarray] = {}
    for col in table.columns:
        c = col.name
        if c not in frame or c in fixed or c in {nb.column for nb in model.numbering}:
            continue
        if col.kind is Kind.DATETIME and col.type.name != "time":
            candidates[c] = exact_fit.seconds(frame[c], col.type.name in STRING_TYPES)
        elif col.kind is Kind.NUMERICAL and pd.api.types.is_numeric_dtype(frame[c]):
            candidates[c] = pd.to_numeric(frame[c]).to_numpy(dtype=float)
    model.numbering = [
        replace(nb, by=rel.numbering_order(frame, list(nb.within) or group, nb.column, candidates))
        for nb in model.numbering
    ]


def _fit_numbering_within(
    model: TableModel,
    table: Table,
    tp: object,
    frame: pd.DataFrame,
    specs: dict[str, ColumnSpec],
    copula_cols: list[str],
) -> None:
    """Columns that number the rows of a parent other than the context (a journal line's line_no
    1..n per entry, under its account): numbered within that key's values once it is assigned
    (assign.numbering runs after assign_secondary). Drawn as data with a UNIQUE (entry_id,
    line_no) spread over them, 3,764 of 6,000 entries were not numbered 1..n, and 0 and -1 came out
    where the source's least is 1."""
    fk_cols = table.fk_columns()
    keyed = set(table.primary_key)
    for fk in tp.secondary:  # type: ignore[attr-defined]
        group = list(fk.columns)
        if not set(group) <= set(frame.columns):
            continue
        for c in list(copula_cols):
            col = table.column(c)
            if c in keyed or c in fk_cols or col.type.name not in INTEGER_TYPES or specs[c].null_share > 0:
                continue
            # A column of another UNIQUE (a global serial number) numbers no parent's rows.
            if any(c in u and set(u) - {c} != set(group) for u in _unique_sets(table)):
                continue
            nb = rel.numbering(frame, group, c)
            if nb is not None and frame.groupby(group, dropna=False)[c].size().gt(1).sum() >= rel.MIN_ROWS:
                model.numbering.append(replace(nb, within=tuple(group)))
                specs[c].how = "numbering"
                copula_cols.remove(c)


def _unique_sets(table: Table) -> list[tuple[str, ...]]:
    """The column sets UNIQUE constraints and unique indexes (on plain columns) declare."""
    sets = [tuple(u.columns) for u in table.unique]
    return sets + [
        tuple(ix.columns) for ix in table.indexes if ix.unique and ix.columns and not ix.expressions
    ]


def _fit_keys(
    model: TableModel,
    table: Table,
    tp: object,
    frame: pd.DataFrame,
    parent_pos: np.ndarray | None,
    rng: np.random.Generator,
    data_keys: set[str],
) -> None:
    """The key's kind and start, numberings among the key's columns, self-references' forests and
    foreign keys' NULL shares. ``data_keys``: key columns modelled as data (_fit_own)."""
    context = tp.context  # type: ignore[attr-defined]
    fk_cols = {c for fk in table.foreign_keys for c in fk.columns}
    local = [c for c in table.primary_key if c not in fk_cols]
    key = KeySpec(columns=table.primary_key)
    if not table.primary_key:
        key.kind = "none"
    elif not local:
        key.kind = "fk"
    elif len(table.primary_key) == 1:
        col = table.column(local[0])
        values = frame[local[0]].dropna()
        strings = values.astype(str)
        if col.type.name == "uuid" or (
            len(strings) and strings.str.fullmatch(r"[0-9a-fA-F-]{32,36}").mean() > 0.95
        ):
            key.kind = "uuid"
        elif col.type.name in INTEGER_TYPES or pd.api.types.is_integer_dtype(values):
            key.kind = "integer"
            numbers = pd.to_numeric(values, errors="coerce").dropna()  # SQLite: 'AC10' among 1..300
            key.start = int(numbers.min()) if len(numbers) else 1
        elif col.type.name == "numeric" and col.type.scale == 0 and len(values) and _whole(values):
            # NUMERIC(38,0) ids: counted on from the smallest, exactly (past 2**53 a float merges them)
            key.kind = "integer"
            key.start = min(int(v) for v in values)
        else:
            key.kind = "shape"
            key.shapes = Shapes.fit(strings, room=KEY_ROOM)  # wider when sampled as rows need
    else:
        key.kind = "composite"
        key.shapes = None
        if context is not None and set(context.columns) <= set(table.primary_key):
            for c in (c for c in local if c in frame):  # an unread type (a daterange) numbers nothing
                nb = rel.numbering(frame, list(context.columns), c)
                if nb is not None:
                    model.numbering.append(nb)
        # An instance number among otherwise equal keys, where every other key column is drawn
        # (a foreign key, or data): beside a column counted as the key (tenant_id of (tenant_id,
        # user_id)), each row would be its own group.
        drawn = inherited_columns(table, (*tp.self_refs, *tp.deferred)) | data_keys  # type: ignore[attr-defined]
        numbered = {nb.column for nb in model.numbering}
        for c in (c for c in local if c in frame and c not in numbered):
            rest = [k for k in table.primary_key if k != c]
            if set(rest) <= drawn and set(rest) <= set(frame) and table.column(c).type.name in INTEGER_TYPES:
                nb = rel.numbering(frame, rest, c)  # an instance number among otherwise equal keys
                if nb is not None:
                    model.numbering.append(replace(nb, within=tuple(rest)))
    model.key = key
    for fk in (*tp.secondary, *tp.deferred, *tp.self_refs):  # type: ignore[attr-defined]
        isnull = frame[list(fk.columns)].isna().any(axis=1)
        model.fk_null[fk.name] = float(isnull.mean()) if len(frame) else 0.0
    times = {
        c: exact_fit.seconds(frame[c], table.column(c).type.name in STRING_TYPES)
        for c in exact_fit.time_columns(table, frame)
    }
    for fk in tp.self_refs:  # type: ignore[attr-defined]
        groups = pd.Series(parent_pos) if parent_pos is not None else None
        if len(fk.columns) == 1:
            key_values = rel.comparable(frame[fk.ref_columns[0]])
            ref_values = rel.comparable(frame[fk.columns[0]])
            forest = Forest.fit(key_values, ref_values, groups)
            if times:  # a chain of visits in time: the next names the one before (a reflex test too)
                ups = rel.key_rows(pd.Index(list(key_values)), pd.Index(list(ref_values)))
                forest.order_by = following(np.where(ups == np.arange(len(ups)), -1, ups), times)
            model.forests[fk.name] = forest
            continue
        # Composite: column by column, so an integer key and its float FK (NULLs) compare equal.
        own = pd.DataFrame({r: rel.comparable(frame[r]) for r in fk.ref_columns})
        pairs = zip(fk.columns, fk.ref_columns, strict=True)
        refs = pd.DataFrame({r: rel.comparable(frame[c]) for c, r in pairs})
        shared = [c for c in self_ref_shared(table, fk) if c in fk.ref_columns]
        model.forests[fk.name] = Forest.fit_columns(own, refs, groups, shared)
    selfrefs.fit(table, frame, tp.self_refs, model.forests, times)  # type: ignore[attr-defined]


def _fit_hierarchy(
    schema: Schema,
    plan: Plan,
    models: dict[str, TableModel],
    states: dict[str, _Fitting],
    name: str,
    rng: np.random.Generator,
    rare_k: int = rare.RARE_K,
    ref_counts: Mapping[tuple[str, str], pd.DataFrame] | None = None,
    source_counts: SourceCounts | None = None,
) -> None:
    """Append child summaries (and secondary child counts) to a table, then fit its copula."""
    model, state = models[name], states[name]
    n = len(state.frame)
    ext_dims: list[Dim] = []
    ext_s: list[np.ndarray] = []
    for child in plan.children(name):
        if child not in states:
            continue
        cm, cs = models[child], states[child]
        pos = cs.parent_pos
        if pos is None:
            continue
        fk = plan[child].context.name  # type: ignore[union-attr]
        ok = pos >= 0
        counts = np.bincount(pos[ok], minlength=n).astype(float)
        learned = _most_children(counts, rare_k, rng)
        enc = fit_numeric(pd.Series(learned), counts=True)
        ext_dims.append(Dim(f"{child}#count", "count", enc, child=child, fk=fk))
        ext_s.append(enc.scores(pd.Series(learned)))
        z = cs.z[ok]
        p = pos[ok]
        d = z.shape[1]
        if d == 0:
            continue
        has = counts > 0
        # float even with no child linked (bincount of nothing is int: every row an orphan)
        sums = np.stack([np.bincount(p, weights=z[:, j], minlength=n) for j in range(d)], axis=1).astype(
            float
        )
        means = np.divide(sums, counts[:, None], out=np.zeros_like(sums), where=counts[:, None] > 0)
        resid = z - means[p]
        ss = np.stack(
            [np.bincount(p, weights=resid[:, j] ** 2, minlength=n) for j in range(d)], axis=1
        ).astype(float)
        dof = max(float((counts[has] - 1).sum()), 1.0)
        within = np.maximum(ss.sum(axis=0) / dof, 1e-6)
        # Shrunk towards the mean of families of its size, not towards 0: a patient seen once had
        # 0.18 earlier inpatient stays, one seen five times 2.1, and shrunk to 0 a lone child's
        # mean kept a quarter of it (synthetic: 0.58 and 0.72).
        prior = _by_family_size(counts, means)
        between = (
            np.maximum((means[has] - prior[has]).var(axis=0) - within / max(counts[has].mean(), 1.0), 1e-6)
            if has.any()
            else within
        )
        # Empirical Bayes: a parent with few children keeps less of its own mean (within / between
        # variance is the number of children a mean is worth), so sampled spreads add up right.
        shrink = within / between
        loc = prior + (means - prior) * (counts[:, None] / (counts[:, None] + shrink[None, :]))
        scale = np.sqrt((ss + SCALE_PRIOR * within[None, :]) / (counts[:, None] + SCALE_PRIOR))
        # The sampled child is loc + scale * e, so e's correlation is that of each child's distance
        # from its parent's (shrunk) loc in units of its scale, over every child. Taken from the
        # families of several children only, it was the dependence between siblings, and a lone
        # child (most encounters of diabetes130) got it: more inpatient visits, fewer readmissions.
        standard = (z - loc[p]) / scale[p]
        apart = correlation(standard, rng) if len(z) > d else np.eye(d)
        # ... set where that falls short of the table's own latent correlation, loc and e together
        # (a category every sibling holds varied between them as noise: _within_matching).
        if len(z) > d:
            apart = _within_matching(cs.scores[ok], loc[p], scale[p], apart)
        cm.within_chol = cholesky(apart)
        cm.sibling_corr = siblings.learn(counts, means, prior, loc, scale)
        for j in range(d):
            target = cm.dims[j].name
            for role, values in (("loc", loc[:, j]), ("scale", np.log(scale[:, j]))):
                # A knot per rare_k families and the ends pulled in, as a column's own numbers: a
                # knot per parent showed one patient's 40 extreme visits as a lone knot far out.
                enc = Continuous.fit(values[has], tail=rare_k) if has.any() else Continuous.fit(np.zeros(1))
                role_s = np.zeros(n)  # a parent without children scores at the latent's mean
                role_s[has] = Continuous.scores_array(values[has])
                ext_dims.append(Dim(f"{child}#{role}:{target}", role, enc, child=child, fk=fk, target=target))
                ext_s.append(role_s)
        _fit_aggregates(schema, plan, model, state, child, cs, fk)
    for child_name in plan.order:
        tp = plan[child_name]
        for fk in (*tp.secondary, *tp.deferred):
            if fk.ref_table != name or child_name not in states or _derived_fk(models[child_name], fk):
                continue
            counted = (ref_counts or {}).get((child_name, fk.name))
            cs = states[child_name]
            if counted is not None:  # from the source: the frames are samples
                pos = positions(counted, fk.columns, state.frame, fk.ref_columns)
                weights = counted["__n"].to_numpy(dtype=float)[pos >= 0]
            else:
                pos = positions(cs.frame, fk.columns, state.frame, fk.ref_columns)
                weights = None
            raw = np.bincount(pos[pos >= 0], weights=weights, minlength=n).astype(float)
            if rare_k > 1:
                held, members = _children_people(
                    cs, fk, state.frame, counted, n, source_counts, child_name, rare_k
                )
                raw = _nobodys_counts(raw, held, members, rare_k, rng)
            counts = _most_children(raw, rare_k, rng)
            enc = fit_numeric(pd.Series(counts), counts=True)
            ext_dims.append(
                Dim(f"{child_name}.{fk.name}#refcount", "refcount", enc, child=child_name, fk=fk.name)
            )
            ext_s.append(enc.scores(pd.Series(counts)))
    if ext_s:
        _order_by_children(model, state, ext_s, rng)
    model.dims = model.dims[: model.n_own] + ext_dims
    full = np.column_stack([state.scores, *ext_s]) if ext_s else state.scores
    model.corr = latent_correlation(full, rng)


MIN_WITHIN_SHARE = 0.05  # of a pair's variance the within-family parts must carry to be set


def _within_matching(
    scores: np.ndarray, loc: np.ndarray, scale: np.ndarray, within: np.ndarray
) -> np.ndarray:
    """The correlation of a child's within-family parts ``e`` (child = loc + scale * e) that gives
    its columns, loc and e together, the table's own latent correlation (of ``scores``, ties
    undone as for any copula), where ``within`` (the correlation of each child's distance from
    its family's loc) gives less. A category's latent is drawn at random inside its level's
    interval, so a value every child of a family holds (a patient's gender) varied between
    siblings as noise, its distance from the family's loc was that noise, and the mean of two
    such draws is a blurred category: diabetes130's gender and age band came back with a sixth of
    the source's mutual information, a family's sex and a visit's count with a third of their
    correlation (tests/test_within_correlation.py). Per pair: cov(loc) + E[scale scale] * w is
    the target covariance. Pairs whose within parts carry under MIN_WITHIN_SHARE of their
    variance keep ``within`` (a number equal on every sibling: w would be the target over ~0)."""
    d = len(within)
    if len(scores) > MAX_CORR_ROWS:  # evenly spaced rows: no draw of the fit's generator
        rows = np.linspace(0, len(scores) - 1, MAX_CORR_ROWS).astype(np.int64)
        scores, loc, scale = scores[rows], loc[rows], scale[rows]
    target = latent_correlation(scores)
    c = np.cov(loc, rowvar=False, bias=True).reshape(d, d)
    m = (scale.T @ scale) / len(scale)
    v = np.diag(c) + np.diag(m)
    spread = np.sqrt(np.outer(v, v))
    w = (target * spread - c) / np.maximum(m, 1e-12)
    out = np.where(m >= MIN_WITHIN_SHARE * spread, np.clip(w, -0.98, 0.98), within)
    np.fill_diagonal(out, 1.0)
    return nearest_pd(out)


def _by_family_size(counts: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Per parent, the mean of its children's scores over the parents with as many children (a
    size of fewer than MIN_PEOPLE parents pooled with the next smaller ones, so no family's own
    mean is one); 0 for a parent without children."""
    out = np.zeros_like(means)
    has = counts > 0
    if not has.any():
        return out
    sizes, per = np.unique(counts[has], return_counts=True)
    group = np.zeros(len(sizes), dtype=np.int64)
    g, filled = 0, 0
    for i, k in enumerate(per):  # from the smallest size up: a group closes at MIN_PEOPLE parents
        group[i] = g
        filled += int(k)
        if filled >= MIN_PEOPLE:
            g, filled = g + 1, 0
    if filled and g:  # the last, short group joins the one before
        group[group == g] = g - 1
    of = group[np.searchsorted(sizes, counts[has])]
    weights = counts[has]  # children, as E[child | size] weighs them
    total = np.bincount(of, weights=weights)
    for j in range(means.shape[1]):
        mean = np.bincount(of, weights=weights * means[has, j]) / np.maximum(total, 1e-12)
        out[has, j] = mean[of]
    return out


def _order_by_children(
    model: TableModel, state: _Fitting, ext_s: list[np.ndarray], rng: np.random.Generator
) -> None:
    """A category's levels ordered again along what the children say too (model/levels.py): a
    trade customer's many orders are no linear trend when trade sits between two segments of few
    (the copula then drew as many orders for every segment). Done before the table's own parent
    summarises its scores."""
    for i, objects in state.categories:
        if not isinstance(model.dims[i].encoder, Categorical):
            continue  # shares per level of another category (by_level): its order is its pooled one
        others = np.column_stack([np.delete(state.scores, i, axis=1), *ext_s])
        enc = category_order.position(model.dims[i].encoder, objects, others)  # type: ignore[arg-type]
        if enc is not None:
            model.dims[i] = replace(model.dims[i], encoder=enc)
            state.z[:, i] = enc.normal(objects, rng)
            state.scores[:, i] = enc.scores(objects)


MIN_KEEP = 0.3  # the least chance of taking the first sibling's value worth modelling
MIN_FAMILIES = 20  # parents with several children, to tell a family trait from chance


def _family(frame: pd.DataFrame, parent_pos: np.ndarray | None, columns: list[str]) -> dict[str, float]:
    """Columns whose value the children of one parent tend to share (a patient's gender and race
    on each encounter; their age band, payer, mostly): drawn per child, siblings disagree more
    than real ones, which a classifier sees in each parent's distinct counts. For each, the chance
    q that a child takes its first sibling's value instead of its own draw, so that later children
    agree with the first as often as in the source: agree = q + (1 - q) * c0, where c0 is the
    chance that two independent draws agree (the sum of the squared level shares)."""
    if parent_pos is None or not columns:
        return {}
    pos = np.asarray(parent_pos)
    linked = pos >= 0
    sizes = np.bincount(pos[linked]) if linked.any() else np.zeros(0, dtype=np.int64)
    several = linked & (sizes[np.maximum(pos, 0)] >= 2 if len(sizes) else False)
    if int((sizes >= 2).sum()) < MIN_FAMILIES:
        return {}
    out: dict[str, float] = {}
    for c in columns:
        known = frame[c][several].notna().to_numpy()
        values = pd.Series(value_codes(frame[c][several]))  # NULL: -1
        if values[known].nunique() < 2:
            continue
        rows = pd.DataFrame({"p": pos[several], "v": values.to_numpy(), "k": known})
        # Families with nothing known say nothing (a weight measured on no encounter of theirs).
        rows = rows[rows.groupby("p")["k"].transform("any").to_numpy()]
        if rows["p"].nunique() < MIN_FAMILIES:
            continue
        # How often a later child agrees with its parent's first: q + (1 - q) * c0 when sampled.
        firsts = rows.groupby("p")["v"].transform("first")
        later = ~rows["p"].duplicated(keep="first").to_numpy()
        agree = float((rows["v"] == firsts).to_numpy()[~later].mean())
        c0 = float((values.value_counts(normalize=True) ** 2).sum())
        keep = 1.0 if agree >= 0.995 else (agree - c0) / (1.0 - c0) if c0 < 1 else 0.0
        if keep >= MIN_KEEP:
            out[c] = round(min(keep, 1.0), 4)
    return out


def _children_people(
    cs: _Fitting,
    fk: ForeignKey,
    parent: pd.DataFrame,
    counted: pd.DataFrame | None,
    n: int,
    source_counts: SourceCounts | None,
    child_name: str,
    k: int,
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Per parent row, how many people hold its children through the secondary key ``fk`` (as
    the rare rule counts holders of a code: the child rows' Whose.people, a row of no person its
    own), and who they are for the parents fewer than k hold. A fit from a sample counts them in
    the source where it can: who they are is then known for the people the sample holds, and
    each other one is taken for someone else (parts each ordered by four orders are pooled by
    fives, not emptied); otherwise in the sample, which holds no more than the source: a parent
    is rare there at least as often."""
    who = cs.who
    pos = positions(cs.frame, fk.columns, parent, fk.ref_columns)
    people = rare.persons(np.arange(len(pos)) if who is None or who.people is None else who.people)
    ok = pos >= 0
    pairs = pd.DataFrame({"p": pos[ok], "who": people[ok]}).drop_duplicates()
    p = pairs["p"].to_numpy(dtype=np.int64)
    held = np.bincount(p, minlength=n)
    sourced = counted is not None and 0 < len(counted) <= SOURCE_LEVELS and len(fk.columns) == 1
    if sourced and source_counts is not None and who is not None and who.counted is not None:
        assert counted is not None
        col = fk.columns[0]
        found = source_counts(child_name, col, [who.counted], set(pd.unique(counted[col].dropna())))
        if found:
            cpos = positions(counted, fk.columns, parent, fk.ref_columns)
            cok = cpos >= 0
            in_source = np.zeros(n, dtype=np.int64)
            in_source[cpos[cok]] = [int(found[0].get(v, 0)) for v in counted[col].to_numpy()[cok]]
            held = np.maximum(held, in_source)
    few = pairs[held[p] < k].sort_values(["p", "who"], kind="stable")
    fp, fw = few["p"].to_numpy(dtype=np.int64), few["who"].to_numpy(dtype=np.int64)
    members: dict[int, np.ndarray] = {}
    if len(fp):
        bounds = np.flatnonzero(np.diff(fp)) + 1
        members = {int(q): w for q, w in zip(fp[np.r_[0, bounds]], np.split(fw, bounds), strict=True)}
    unseen = -(2**62)  # the source's people the sample does not hold: each one of their own
    for q in np.flatnonzero((held > 0) & (held < k)).tolist():
        known = members.get(q, np.zeros(0, dtype=np.int64))
        extra = int(held[q]) - len(known)
        if extra > 0:
            members[q] = np.concatenate([known, unseen - np.arange(extra)])
            unseen -= extra
    return held, members


def _nobodys_counts(
    counts: np.ndarray, held: np.ndarray, members: dict[int, np.ndarray], k: int, rng: np.random.Generator
) -> np.ndarray:
    """Children per parent through a secondary key, none of them a count that fewer than k people
    hold (``held``: how many hold each parent's children; ``members``: who, for the few-held). A
    parent whose children fewer than k people hold (a lab test that only one patient had, 30
    results) is a rare level of the children's key: its count is that person's. Such parents are
    pooled from the smallest count up into groups held by k people or more, and each takes its
    group's mean (the group's rows stay with it); a last group short of k people joins the one
    before, and where no group reaches k people the rare parents have no children, their rows
    spread over the others in proportion to their counts, as a rare code's rows are folded into
    the common ones. A parent without children, or held by k people, keeps its count."""
    rare_rows = (held < k) & (counts > 0)
    if not rare_rows.any():
        return counts
    out = counts.astype(float).copy()
    idx = np.flatnonzero(rare_rows)
    idx = idx[np.argsort(counts[idx], kind="stable")]
    groups: list[list[int]] = []
    current: list[int] = []
    people: set[int] = set()
    for i in idx.tolist():
        current.append(i)
        people.update(members.get(i, np.zeros(0, dtype=np.int64)).tolist())
        if len(people) >= k:
            groups.append(current)
            current, people = [], set()
    if current and groups:  # the last, short group joins the one before
        groups[-1].extend(current)
        current = []
    for g in groups:
        each, extra = divmod(round(float(counts[g].sum())), len(g))
        out[g] = each
        out[g[:extra]] += 1  # the group's rows all stay with it
    if current:  # fewer than k people hold all the rare parents' children together
        moved = round(float(counts[current].sum()))
        out[current] = 0
        room = np.where(rare_rows, 0.0, out)
        if room.sum() > 0:
            out += rng.multinomial(moved, room / room.sum()).astype(float)
        else:  # no parent k people hold: every parent as many (the table's size is no one's)
            each, extra = divmod(round(float(counts.sum())), len(out))
            out[:] = each
            out[:extra] += 1
    return out


def _spans(
    found: list[rel.Order],
    seconds: dict[str, np.ndarray],
    anchors: dict[str, rel.Order],
    modelled: list[str],
    twins: dict[str, str],
    k: int,
) -> list[list[Any]]:
    """[column, base, gap]: the K-th largest gap of each same-table order between two drawn times
    (a death after the birth), not anchored (a gap from an anchor is modelled, its extremes pulled
    in): drawn apart, the two made lives of 166 years where the source's longest was 117."""
    out: list[list[Any]] = []
    for o in found:
        if o.fk is not None or o.op != ">=" or o.column in anchors or o.column not in modelled:
            continue
        if twins.get(o.column, o.column) == twins.get(o.base, o.base) or o.base not in seconds:
            continue
        gap = seconds[o.column] - seconds[o.base]
        gap = np.sort(gap[~np.isnan(gap)])
        if len(gap) >= max(k, 1) * 4:
            out.append([o.column, o.base, float(gap[-max(k, 1)])])
    return out


def _number_orders(
    schema: Schema,
    table: Table,
    tp: Any,
    frame: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    specs: dict[str, ColumnSpec],
) -> list[rel.Order]:
    """Orders between the table's drawn numbers, and with the numbers of the rows its context and
    secondary foreign keys name (orderdetails.priceEach between its product's buyPrice and MSRP):
    the copula blurs them (3,282 of 8,892 lines above their product's MSRP)."""
    keys = exact_fit.protected(table) | set(table.fk_columns())

    def numbers(t: Table, f: pd.DataFrame, skip: set[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for c in t.columns:
            if len(out) >= ex.MAX_NUMBERS:  # pairs of them are tried: a wide table's first ones
                break
            if c.kind is Kind.NUMERICAL and not c.computed and c.name in f and c.name not in skip:
                x = exact_fit._numbers(f, c.name)
                if x is not None:
                    out[c.name] = x
        return out

    own = numbers(table, frame, keys | {c for c, sp in specs.items() if sp.how != "copula"})
    if not own:
        return []
    parents: dict[str, dict[str, np.ndarray]] = {}
    for fk in (*([tp.context] if tp.context else []), *tp.secondary):
        parent = frames.get(fk.ref_table)
        if parent is None or len(parent) == 0:
            continue
        ptable = schema.table(fk.ref_table)
        pnum = numbers(ptable, parent, exact_fit.protected(ptable) | set(ptable.fk_columns()))
        if not pnum:
            continue
        pos = positions(frame, fk.columns, parent, fk.ref_columns)
        linked = pos >= 0
        parents[fk.name] = {
            c: np.where(linked, y[np.maximum(pos, 0)], np.nan) if len(y) else np.full(len(pos), np.nan)
            for c, y in pnum.items()
        }
    return rel.number_orders(own, parents)


def _settled_number_orders(schema: Schema, models: dict[str, TableModel]) -> None:
    """A bound through a foreign key only on a parent's column final when the row is sampled: not
    a total of the parent's children (set after them), nor of a table not modelled."""
    for name, tm in models.items():
        if not tm.number_orders or name not in schema.table_names:
            continue
        fks = {fk.name: fk.ref_table for fk in schema.table(name).foreign_keys}
        kept = []
        for o in tm.number_orders:
            if o.fk is not None:
                pm = models.get(fks.get(o.fk, ""))
                if pm is None or pm.role != "data" or any(a.column == o.base for a in pm.aggregates):
                    continue
            kept.append(o)
        tm.number_orders = kept


def _unread_spans(schema: Schema, models: dict[str, TableModel]) -> None:
    """Spans kept only on times no other table's order reads (a death its admissions come before):
    drawn again, a death moved years back left an admission between a provider's hiring and it
    nowhere to go. Those are bounded by the other rows already."""
    read: set[tuple[str, str]] = set()
    for name, tm in models.items():
        if name not in schema.table_names:
            continue
        fks = {fk.name: fk.ref_table for fk in schema.table(name).foreign_keys}
        read |= {(fks[o.fk], o.base) for o in tm.orders if o.fk in fks}
        read |= {(fks[o.fk], o.base) for o in tm.anchors.values() if o.fk in fks}
        read |= {(r.table, r.base) for r in tm.reaches}
        read |= {(fks[k], m.base) for k, m in tm.time_matches.items() if k in fks}
    for name, tm in models.items():
        tm.spans = [sp for sp in tm.spans if (name, sp[0]) not in read]


def _most_children(counts: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Child counts above the k-th largest lowered to it, the rows taken off spread over the other
    parents (in proportion to their counts, none past the k-th largest): one patient's 150 visits
    among 1-6 is that patient's, and neither 150 nor a pooled 35 (whose sum gives 150 back) is a
    count of the model; the rows are all still there (popular tracks keep their lines)."""
    if k <= 1 or len(counts) <= k:
        return counts
    cap = max(float(np.sort(counts)[-k]), 1.0)  # that a few parents have any child is not theirs
    # Room for every row: where fewer than k parents hold children (4 of 6 categories hold 250
    # products), a cap of one lost 244 of them; at the mean count, the rows are the table's.
    cap = max(cap, float(np.ceil(counts.sum() / len(counts))))
    out = np.minimum(counts, cap)
    excess = round(float(counts.sum() - out.sum()))
    for _ in range(3):
        room = np.where(out < cap, out, 0.0)
        if room.sum() <= 0:  # every parent with a child is at the cap (one person's 1,023 links
            room = (out < cap).astype(float)  # among 846 of one each): to those with none
        if excess <= 0 or room.sum() <= 0:
            break
        added = rng.multinomial(excess, room / room.sum()).astype(float)
        grown = np.minimum(out + added, cap)
        excess -= round(float(grown.sum() - out.sum()))
        out = grown
    return out


def _fit_aggregates(
    schema: Schema, plan: Plan, model: TableModel, state: _Fitting, child: str, cs: _Fitting, fk: str
) -> None:
    table = schema.table(model.name)
    child_table = schema.table(child)
    alone = {cols[0] for cols in table.keysets() if len(cols) == 1}  # moved to stay UNIQUE: no total
    numeric = [
        c.name
        for c in table.columns
        if c.kind is Kind.NUMERICAL
        and not c.computed
        and model.column(c.name).how == "copula"
        and c.name not in alone
    ]
    child_numeric = [  # a generated line total is computed again by the database: no term
        c.name
        for c in child_table.columns
        if c.kind is Kind.NUMERICAL and not c.computed and c.name in cs.frame
    ]
    if not numeric or not child_numeric or cs.parent_pos is None:
        return
    decimals: dict[str, int] = {}
    for c in numeric:
        scale = table.column(c).type.scale
        decimals[c] = scale if scale is not None else 2
    pkey = state.frame.index.to_series().reset_index(drop=True)
    ckey = pd.Series(cs.parent_pos)
    found = rel.aggregates(
        state.frame.reset_index(drop=True),
        pkey,
        cs.frame.reset_index(drop=True),
        ckey,
        child,
        fk,
        numeric,
        child_numeric,
        decimals,
    )
    model.aggregates.extend(found)


__all__ = ["fit_tables", "positions", "to_normal"]
