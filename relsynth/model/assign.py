"""Keys of sampled rows: new primary keys, foreign keys to context and secondary parents (each
parent keeping its sampled number of children, link tables without repeated pairs), numbering
within a parent, self-reference forests, and the rows dropped to keep a key unique."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from relsynth import partitions
from relsynth.model import checks as ck
from relsynth.model import keys as kz
from relsynth.model.exact import TimeMatch, date_roots
from relsynth.model.relations import Numbering, comparable
from relsynth.model.spec import Model, TableModel
from relsynth.model.text import fresh
from relsynth.model.unique import nudge_unique
from relsynth.model.values import collated, key_values
from relsynth.schema import ForeignKey, SqlType, Table
from relsynth.sqltypes import FLOAT_TYPES, INTEGER_TYPES, NUMBER_TYPES, STRING_TYPES, TIME_TYPES, nan_valued
from relsynth.transform import Categorical, Continuous, Temporal

if TYPE_CHECKING:
    from relsynth.model.batches import Batch
    from relsynth.model.sample import SampleReport


def dim_values(
    tm: TableModel, z: np.ndarray, name: str, dims: tuple[str, ...] | None = None
) -> np.ndarray | None:
    """A sampled summary dimension (child count, null share, ...) decoded; None if not modelled.
    ``dims``: the names of z's columns when it holds only some of the table's (a shared table
    kept by model/batches.py); None: all of them, in the model's order."""
    if dims is None:
        for i, d in enumerate(tm.dims):
            if d.name == name:
                return d.encoder.decode(z[:, i]) if z.shape[0] else np.zeros(0)
        return None
    if name not in dims:
        return None
    encoder = next(d.encoder for d in tm.dims if d.name == name)
    return encoder.decode(z[:, dims.index(name)]) if z.shape[0] else np.zeros(0)


def decode_counts(
    pm: TableModel, z: np.ndarray, name: str, dims: tuple[str, ...] | None = None
) -> np.ndarray:
    v = dim_values(pm, z, name, dims)
    if v is None:
        return np.zeros(z.shape[0], dtype=np.int64)
    return np.maximum(np.round(np.asarray(v, dtype=float)), 0).astype(np.int64)


def decode_ext(pm: TableModel, z: np.ndarray, name: str, dims: tuple[str, ...] | None = None) -> np.ndarray:
    v = dim_values(pm, z, name, dims)
    return np.zeros(z.shape[0]) if v is None else np.asarray(v, dtype=float)


def keys_within_parent(table: Table, context: ForeignKey | None) -> dict[str, ck.Domain]:
    """Integer columns that with the context FK make a key, (order_id, line_no), and the values
    their type and CHECKs allow: each parent's children must take distinct ones."""
    if context is None:
        return {}
    own = set(context.columns)
    fk_cols = table.fk_columns()
    keysets = [table.primary_key, *(u.columns for u in table.unique)]
    keysets += [ix.columns for ix in table.indexes if ix.unique and ix.columns and not ix.expressions]
    checks = [c.sql for c in table.checks]
    out: dict[str, ck.Domain] = {}
    for cols in keysets:
        rest = set(cols) - own
        if not own <= set(cols) or len(rest) != 1:
            continue
        c = rest.pop()
        col = table.column(c)
        if c in fk_cols or col.type.name not in INTEGER_TYPES or c in out:
            continue
        unsigned = "UNSIGNED" in (col.type.native or "").upper()
        out[c] = ck.integer_domain(c, col.type.name, checks, unsigned=unsigned, dialect=table.sql_dialect)
    return out


def children_bound(tm: TableModel, table: Table, context: ForeignKey | None) -> int | None:
    """The most children a parent can have: a key (parent, seq) with seq in 1..3 allows three.

    A numbering needs consecutive values from its start; other key values any allowed ones.
    """
    starts = {nb.column: nb.start for nb in tm.numbering}
    domains = keys_within_parent(table, context)
    checks = [c.sql for c in table.checks]
    for c in starts:  # a numbering that is data (visit_number) is bounded by its type and CHECKs too
        if c not in domains and context is not None:
            col = table.column(c)
            unsigned = "UNSIGNED" in (col.type.native or "").upper()
            domains[c] = ck.integer_domain(
                c, col.type.name, checks, unsigned=unsigned, dialect=table.sql_dialect
            )
    bounds = [dom.run_from(starts[c]) if c in starts else dom.size() for c, dom in domains.items()]
    return min(bounds) if bounds else None


def distinct_within_parent(
    tm: TableModel, table: Table, frame: pd.DataFrame, pos: np.ndarray | None, context: ForeignKey | None
) -> list[str]:
    """Sampled key values (seq as data, not a numbering) made distinct within each parent and kept
    to their allowed values, moving as few rows as possible; returns the columns changed."""
    numbered = {nb.column for nb in tm.numbering}
    groups = (pos + 1) if pos is not None else np.zeros(len(frame), dtype=np.int64)
    changed = []
    for c, dom in keys_within_parent(table, context).items():
        if c in numbered or tm.column(c).how == "key" or c not in frame or not len(frame):
            continue
        values = pd.to_numeric(frame[c], errors="coerce")
        inside = values[(values >= dom.lo) & (values <= dom.hi)]
        base = int(inside.min()) if len(inside) else dom.lo
        new = kz.distinct_within(groups, frame[c].to_numpy(), dom.lo, dom.hi, dom.allowed(), base)
        if not (new == values.to_numpy()).all():
            frame[c] = new.astype(object)
            changed.append(c)
    return changed


def primary_key(
    tm: TableModel,
    table: Table,
    frame: pd.DataFrame,
    rng: np.random.Generator,
    *,
    context: ForeignKey | None = None,
    pos: np.ndarray | None = None,
    report: SampleReport | None = None,
    late: tuple[ForeignKey, ...] = (),
    offset: int = 0,
    step: int = 1,
    referenced: Mapping[str, list[str]] | None = None,
) -> None:
    """New values for the key columns that are this table's own (not FKs, not numbered, not
    modelled): never the source's keys, in the source's form (sequence, uuid, shaped string).
    Columns only a self-reference or a cycle-cutting FK (``late``) shares are the row's own too.

    A sequence that would outgrow what a within-parent key allows (a smallint, a CHECK) is
    counted per parent instead. Strings fit the column's length and sequences its type; when
    together they cannot hold n distinct keys (a CHAR(1) and a SMALLINT), the rows past their room
    repeat a key and are dropped as duplicates, and the report says why. ``offset``: the table's
    rows keyed in earlier batches (model/batches.py), whose counted keys these continue; ``step``:
    every step-th index from it (kz.key_indices), for batches that do not wait for each other.
    ``referenced``: conditions a partitioned child's key puts on a column (partitions.referenced_bounds):
    a one-column integer key takes the values they list first, then the sequence past them."""
    key = tm.key
    n = len(frame)
    total = offset + (n - 1) * step + 1 if n else offset
    within = keys_within_parent(table, context)
    fk_cols = inherited_columns(table, late)
    local = [c for c in table.primary_key if c not in fk_cols]
    numbered = {nb.column for nb in tm.numbering}
    modelled = {s.name for s in tm.columns if s.how != "key"}
    checks = [c.sql for c in [*table.checks, *partitions.checks(table)]]  # a RANGE-partitioned id's bounds
    counted: dict[str, tuple[int | None, int, int, int, int | None]] = {}  # -> room, start, lo, hi, skip
    listed: dict[str, np.ndarray] = {}  # column -> the only values its CHECKs allow
    preferred: dict[str, np.ndarray] = {}  # column -> values a partitioned child's key takes (first)
    for c in local:
        if c in numbered or c in modelled:
            continue
        col = table.column(c)
        if key.kind == "uuid" or col.type.name == "uuid":
            frame[c] = kz.uuid_keys(n, rng)
        elif key.kind == "shape" and key.shapes is not None:
            guard = tm.column(c).guard
            shapes = key.shapes.holding(total + (len(guard) if guard is not None else 0))
            made = fresh(shapes.generate, n, rng, guard=guard, unique=True)
            shaped = kz.fit_keys(made, col.type.length)
            if _integer_valued(col.type):
                shaped = _exact_keys(shaped, *kz.integer_bounds(col.type))
            frame[c] = shaped
            distinct = int(pd.Series(shaped).nunique())
            if distinct < n:  # a CHAR(1) key of more rows than it holds
                _narrow(report, table.name, (c,), distinct)
        elif col.type.name in {"string", "char", "text"}:
            counted[c] = (kz.string_room(col.type.length), 0, 0, 0, None)
        else:
            start = key.start if key.kind == "integer" else 1
            dom = within.get(c)
            if dom is not None and (dom.values is not None or start < dom.lo or start + total - 1 > dom.hi):
                groups = (pos + 1) if pos is not None else np.zeros(n, dtype=np.int64)
                frame[c] = kz.distinct_within(groups, None, dom.lo, dom.hi, dom.allowed(), start)
                continue
            lo, hi = kz.integer_bounds(col.type)
            if not lo <= start <= hi:  # the source holds more than the type's name says (SQLite)
                lo, hi = min(lo, start), max(hi, start + total - 1)
            # A key column of a composite key keeps to its CHECKs too (slot BETWEEN 1 AND 3): only
            # their bounds, not bigint's (a BIGINT UNSIGNED's upper half, a NUMERIC(38,0)'s digits).
            dom = ck.integer_domain(c, "bigint", checks, unsigned=hi > 2**63 - 1, dialect=table.sql_dialect)
            plain = ck.integer_domain(c, "bigint", [], unsigned=hi > 2**63 - 1)
            lo = max(lo, dom.lo) if dom.lo != plain.lo else lo
            hi = min(hi, dom.hi) if dom.hi != plain.hi else hi
            skip = 0 if _numbers_itself(table, c) else None
            if referenced and c in referenced and local == [c]:
                soft = ck.integer_domain(c, "bigint", [*checks, *referenced[c]], dialect=table.sql_dialect)
                first = soft.allowed()
                if first is None and soft.lo != plain.lo:
                    start = max(start, soft.lo)  # a RANGE's first bound: its partitions' keys first
                elif first is not None and dom.allowed() is None:
                    preferred[c] = first[(first >= lo) & (first <= hi) & (first != skip)]
            allowed = dom.allowed()
            if allowed is not None:
                listed[c] = allowed[(allowed >= lo) & (allowed <= hi) & (allowed != skip)]
                counted[c] = (max(len(listed[c]), 1), 0, 0, 0, None)
                continue
            hi = max(hi, lo)  # CHECKs allowing nothing: the load reports them
            start = min(max(start, lo), hi)
            skip = skip if skip is not None and lo <= skip <= hi and hi > lo else None
            counted[c] = (hi - lo + 1 - (skip is not None), start, lo, hi, skip)
    if not counted:
        return
    rooms = [room for room, *_ in counted.values()]
    indices, distinct = kz.key_indices(n, rooms, offset, step)
    grouped = _tenant_sizes(tm, table, list(counted), rooms, n)
    indices = [idx // grouped[c] if c in grouped else idx for c, idx in zip(counted, indices, strict=True)]
    for (c, (_, start, lo, hi, skip)), idx in zip(counted.items(), indices, strict=True):
        col = table.column(c)
        if col.type.name in {"string", "char", "text"}:
            frame[c] = kz.key_strings(idx, col.type.length)
        elif c in listed:
            frame[c] = listed[c][idx] if len(listed[c]) else np.full(n, start, dtype=np.int64)
        elif c in preferred and len(preferred[c]) and hi > int(preferred[c].max()) + total:
            first = preferred[c]
            past = max(int(first.max()), start - 1) + 1 + idx - len(first)  # the sequence after them
            frame[c] = np.where(idx < len(first), first[np.minimum(idx, len(first) - 1)], past)
        elif start + total - 1 <= min(hi, 2**63 - 1) and not (skip is not None and start <= skip):
            frame[c] = start + idx  # the plain sequence, as every key without a tight type gets
        else:
            frame[c] = kz.counted_from(idx, start, lo, hi, skip)
    if distinct < total and not set(table.primary_key) - set(counted):
        _narrow(report, table.name, tuple(counted), distinct)


def _numbers_itself(table: Table, column: str) -> bool:
    """A key the target numbers itself (relsynth/ddl.py makes it AUTO_INCREMENT on MariaDB), where
    an inserted 0 means "the next value": the sequence must not give it (TINYINT UNSIGNED's 256th)."""
    col = table.column(column)
    serial = bool(col.default and "nextval(" in col.default)
    return bool((col.identity or serial) and table.primary_key == (column,))


def _integer_valued(t: SqlType) -> bool:
    """A type holding integers only: an integer type, or a NUMERIC(p, 0)."""
    return t.name in INTEGER_TYPES or (t.name == "numeric" and t.scale == 0)


def _exact_keys(values: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Shaped keys of an integer column (NUMERIC(38,0) ids the model saw as digits) as exact
    Python ints: left as strings, the writer read them as floats, every one 1e+37 past 2**53.
    One repeated, out of range or no integer ('007' beside '7', a 'K00000001' fit_keys gave a
    repeat) takes the next free integer; past the type's room the row repeats and is dropped."""
    ints: list[int | None] = []
    for v in values:
        try:
            ints.append(int(v))
        except (TypeError, ValueError):
            ints.append(None)
    seen: set[int] = set()
    bad: list[int] = []
    for i, k in enumerate(ints):
        if k is not None and lo <= k <= hi and k not in seen:
            seen.add(k)
        else:
            bad.append(i)
    free = max(seen, default=min(max(1, lo), hi) - 1) + 1
    for i in bad:
        if len(seen) > hi - lo:
            ints[i] = lo
            continue
        while free > hi or free in seen:
            free = lo if free > hi else free + 1
        ints[i] = free
        seen.add(free)
    return np.array(ints, dtype=object)


def inherited_columns(table: Table, late: tuple[ForeignKey, ...] | list[ForeignKey] = ()) -> set[str]:
    """Columns a parent sampled before the row sets: its FKs' to other tables, cut ones aside."""
    skip = {fk.name for fk in late}
    return {
        c
        for fk in table.foreign_keys
        if fk.ref_table != table.name and fk.name not in skip
        for c in fk.columns
    }


def _tenant_sizes(
    tm: TableModel, table: Table, counted: list[str], rooms: list[int | None], n: int
) -> dict[str, int]:
    """Key columns a composite self-reference keeps (tenant_id of (tenant_id, manager_id)), with
    the source's rows per value, so parents can be found within them; only while another
    counted column keeps the key unique."""
    unique = [c for c, r in zip(counted, rooms, strict=True) if r is None or r >= n]
    out: dict[str, int] = {}
    for fk in table.foreign_keys:
        forest = tm.forests.get(fk.name)
        if fk.ref_table != table.name or forest is None or round(forest.group_size) <= 1:
            continue
        for c, r in zip(fk.columns, fk.ref_columns, strict=True):
            if c == r and c in counted and any(u != c for u in unique):
                out[c] = round(forest.group_size)
    return out


def _narrow(report: SampleReport | None, table: str, columns: tuple[str, ...], room: int) -> None:
    """Note a key whose columns' types hold fewer distinct values than the rows asked."""
    if report is not None:
        report.narrow_keys.setdefault(table, {})[columns] = room


def secondary_order(tm: TableModel, secondary: tuple[ForeignKey, ...] | list[ForeignKey]) -> list[ForeignKey]:
    """Secondary FKs in the order they are assigned: one whose parent must match a column another
    FK sets (condition.visit_detail_id: its visit_occurrence_id = the condition's) after that FK;
    otherwise as planned."""
    fks = list(secondary)
    needs = {
        fk.name: {
            o.name
            for o in fks
            if o is not fk and {c for c, _ in tm.key_matches.get(fk.name, [])} & set(o.columns)
        }
        for fk in fks
    }
    out: list[ForeignKey] = []
    while fks:
        ready = [fk for fk in fks if needs[fk.name] <= {o.name for o in out}] or fks[:1]  # a loop: as planned
        out.append(ready[0])
        fks.remove(ready[0])
    return out


def already_set(model: Model, table: Table, fk: ForeignKey) -> set[str]:
    """Columns of ``fk`` that an earlier key (primary key, context FK, another FK) already set."""
    tp = model.plan[table.name]
    fk_cols = inherited_columns(table, tp.deferred)
    earlier: set[str] = {c for c in table.primary_key if c not in fk_cols}  # generated locally
    if tp.context is not None:
        earlier |= set(tp.context.columns)
    for other in secondary_order(model.tables[table.name], tp.secondary):
        if other.name == fk.name:
            break
        earlier |= set(other.columns)
    return {c for c in fk.columns if c in earlier}


def _take(values: pd.Series, pos: np.ndarray) -> np.ndarray:
    """Row ``pos[i]`` of ``values`` for each row; -1 (no parent) gives NULL. Taken, then made
    objects: a batch's rows take from 8 million shared ones (TPC-H SF 10's partsupp)."""
    out = np.empty(len(pos), dtype=object)
    ok = pos >= 0
    out[ok] = values.take(pos[ok]).astype(object).to_numpy() if len(values) else None
    out[~ok] = None
    return out


def fill_fk(
    frame: pd.DataFrame,
    fk: ForeignKey,
    parent: pd.DataFrame,
    pos: np.ndarray,
    skip: set[str] | frozenset[str] = frozenset(),
) -> None:
    """Copy the referenced key of each row's parent into the FK columns (composite keys whole)."""
    for c, r in zip(fk.columns, fk.ref_columns, strict=True):
        if c not in skip:
            frame[c] = _take(parent[r], pos)


def apply_repeats(
    tm: TableModel,
    frame: pd.DataFrame,
    fk: ForeignKey,
    parent: pd.DataFrame,
    pos: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Columns the source always copies from this parent where they are known (invoice_line's
    unit_price is its track's) are copied, not sampled, so the relation holds exactly; NULL
    where the source's rows are NULL beside a known parent value, as often (a line's sku left out
    a time in three came out never NULL)."""
    for r in tm.repeats:
        if r.fk != fk.name or r.parent_column not in parent:
            continue
        values = _take(parent[r.parent_column], pos)
        share = next((c.null_share for c in tm.columns if c.name == r.column), 0.0)
        known = ~pd.isna(values)
        if share > 0 and known.any():
            left = (share - (1 - known.mean())) / known.mean()  # the rest come NULL from the parent
            if left > 0:
                values[known & (rng.random(len(values)) < left)] = None
        frame[r.column] = values


def assign_secondary(
    model: Model,
    tm: TableModel,
    table: Table,
    fk: ForeignKey,
    done: dict[str, Any],
    rng: np.random.Generator,
    report: SampleReport,
    *,
    frame: pd.DataFrame | None = None,
    z: np.ndarray | None = None,
    parent_pos: np.ndarray | None = None,
    deferred: bool = False,
    batch: Batch | None = None,
    dropped: np.ndarray | None = None,
) -> np.ndarray:
    """Give each row a parent so every parent gets about its sampled number of children.

    Returns the rows that cannot have a valid parent (to be dropped): a composite FK sharing a
    NOT NULL column with the context parent, where that parent has no matching row. ``batch``: the
    rows are one batch of many (model/batches.py), and parents sampled once for all of them are
    dealt from a deck that carries on over the batches (keys.Deck). ``dropped``: rows an earlier
    key of the row already leaves out (counted once).
    """
    if frame is None:
        frame = done[table.name].frame
        z = done[table.name].z
        parent_pos = done[table.name].parent_pos
    n = len(frame)
    drop = np.zeros(n, dtype=bool)
    q = done.get(fk.ref_table)
    if all(c in {r.column for r in tm.repeats if r.fk != fk.name} for c in fk.columns):
        # derived from the context parent, already filled; the key's own repeats are still copied
        # from the parent it names (a credit memo's date is its order's, the order its invoice's):
        # skipped, the NOT NULL date was written NULL on every row
        if q is not None and n and any(r.fk == fk.name for r in tm.repeats):
            from relsynth.model.fit import positions

            pos = positions(frame, fk.columns, q.frame, fk.ref_columns)
            apply_repeats(tm, frame, fk, q.frame, pos, rng)
            if deferred:
                done[table.name].frame = frame
        return drop
    if q is None or n == 0:
        return drop
    # Columns this FK shares with keys already set (lab_results.admission_id, in both its context FK
    # and its composite FK to diagnoses) are not chosen again: the parent must match them.
    fixed = already_set(model, table, fk)
    # A NULL in one of them is no parent at all (MATCH SIMPLE): a line whose vendor is NULL has no
    # (product, vendor) offer. Such rows were matched against no parent and dropped (31% of them).
    forced = frame[sorted(fixed)].isna().any(axis=1).to_numpy() if fixed else np.zeros(n, dtype=bool)
    nulls = forced.copy()
    share = tm.fk_null.get(fk.name, 0.0)
    null_dim = dim_values(tm, z, f"{fk.name}#null") if z is not None and z.shape[0] == n else None
    if set(fk.columns) <= fixed:  # every column already set: NULL or not, nothing is left to draw
        pass
    elif null_dim is not None:
        nulls |= np.asarray(null_dim, dtype=bool)
    elif share >= 1:
        nulls[:] = True
    elif share > 0:  # the learned share holds the forced rows already
        nulls |= rng.random(n) < (share - forced.mean()) / max(1 - forced.mean(), 1e-12)
    if len(q.frame) == 0:
        nulls[:] = True
    # A key NULL in some columns keeps values in the others: its NOT NULL ones (child(a NOT NULL,
    # b) -> parent(a, b) with b NULL: every column was cleared, and the load failed), and those
    # the source keeps in such rows (a sale's region beside no item). A parent is drawn for them
    # as for the others, then columns are cleared as often as the source's are.
    solid = [c for c in fk.columns if c not in fixed and not table.column(c).nullable]
    open_cols = [c for c in fk.columns if c not in fixed and table.column(c).nullable]
    spec_nulls = {s.name: s.null_share for s in tm.columns}
    blank = {c: min(1.0, spec_nulls.get(c, share) / share) if share > 0 else 1.0 for c in open_cols}
    partly = bool(solid) or (len(open_cols) > 1 and any(p < 0.99 for p in blank.values()))
    cleared = nulls & ~forced if partly and len(q.frame) else np.zeros(n, dtype=bool)
    nulls &= ~cleared
    target = np.full(n, -1, dtype=np.int64)
    rows = np.flatnonzero(~nulls)
    matches = [
        *tm.key_matches.get(fk.name, []),
        *((c, r) for c, r in zip(fk.columns, fk.ref_columns, strict=True) if c in fixed),
    ]
    # NULL in any column the FK sets itself means "no parent" (MATCH SIMPLE), if that column allows it.
    can_null = any(table.column(c).nullable for c in fk.columns if c not in fixed)
    if len(q.frame) == 0 and not can_null and not deferred:
        # A NOT NULL key into a parent sampled without rows (a small --scale): no row can exist.
        gone = n - int(dropped.sum()) if dropped is not None else n  # once, not once per such key
        report.dropped_no_parent[table.name] = report.dropped_no_parent.get(table.name, 0) + gone
        drop[:] = True
    wants = None
    if len(rows):
        own = {c: comparable(frame[c]).to_numpy() for c, _ in matches}
        # A key match binds a row only where its column is known (relations.repeats learns it so):
        # a line without a sku takes any offer of its product, not only one whose sku is NULL.
        known = np.ones(n, dtype=bool)
        for c, _ in matches:
            if c not in fixed:
                known &= ~pd.isna(own[c])
        main = rows[known[rows]]
        child_group, parent_group, target, wants = _draw_parents(
            model, tm, table, fk, q, done, own, main, matches, batch, rng, n
        )
        cap = most_wanted(model, table, fk)
        had = target >= 0
        target = _capped(target, child_group, parent_group, cap, wants, rng, can_null)
        loose = rows[~known[rows]]
        if len(loose):
            seen = np.column_stack([~pd.isna(own[c][loose]) for c, _ in matches])
            for pattern in np.unique(seen, axis=0):
                these = loose[(seen == pattern).all(axis=1)]
                bits = sum(1 << i for i, k in enumerate(pattern) if k) + (1 << len(matches))
                sub = [m for m, k in zip(matches, pattern, strict=True) if k]
                drawn = _draw_parents(model, tm, table, fk, q, done, own, these, sub, batch, rng, n, bits)
                target[these] = drawn[2][these]
        matched = tm.time_matches.get(fk.name)
        if matched is not None and matched.column in frame and matched.base in q.frame:
            x, y = _instants(frame[matched.column]), _instants(q.frame[matched.base])
            target = in_time(target, child_group, x, y)
            target = not_before(target, child_group, parent_group, x, y, lowest_gap(matched))
            # not_before piles late rows onto a group's latest earlier parent: past its cap they
            # move again (follow_parent then puts their times after their new parent's)
            target = _capped(target, child_group, parent_group, cap, wants, rng, can_null)
            if z is not None and z.shape[0] == n:
                upper = parent_upper(tm, table, fk, matched, q.frame)
                follow_parent(tm, frame, matched, target, x, y, z, upper)
        if matches:
            _loosen(model, table, fk, frame, q.frame, matches, main, target, wants, rng)
        grouped = child_group >= 0
        grouped[loose] = True  # loose rows are drawn apart: the time matches leave them be
        full = had & (target < 0)  # parents there were, but each had the most the source has
        if full.any():
            report.full_parents[table.name] = report.full_parents.get(table.name, 0) + int(full.sum())
        grouped &= ~full
        unmatched = int((grouped & (target < 0)).sum())
        if unmatched:
            stuck = np.flatnonzero(grouped & (target < 0))
            if not can_null and fixed:  # no parent can match the columns already set: left out
                drop[stuck] = True
                gone = int((~dropped[stuck]).sum()) if dropped is not None else len(stuck)
                report.dropped_unmatched[table.name] = report.dropped_unmatched.get(table.name, 0) + gone
            else:
                report.unmatched_keys[table.name] = report.unmatched_keys.get(table.name, 0) + unmatched
                if not can_null:
                    target[stuck] = rng.integers(0, len(q.frame), len(stuck))
    # A link table (or any key/unique over context + this FK) cannot repeat a pair.
    if parent_pos is not None and pair_must_be_unique(table, model.plan[table.name].context, fk):
        ok = np.flatnonzero(target >= 0)
        partner = target[ok].copy()
        left = kz.unique_pairs(parent_pos[ok], partner, rng)  # swaps partners in place
        target[ok] = partner
        if left.any() and can_null:
            target[ok[left]] = -1  # otherwise the duplicate rows are dropped with the key check
    fill_fk(frame, fk, q.frame, target, skip=fixed)
    apply_repeats(tm, frame, fk, q.frame, target, rng)
    if cleared.any() and open_cols:
        at = np.flatnonzero(cleared)
        empty = {c: rng.random(len(at)) < blank[c] for c in open_cols}
        empty[max(open_cols, key=blank.__getitem__)] |= ~np.logical_or.reduce(list(empty.values()))
        for c in open_cols:  # one NULL at least: the row has no parent through this key
            values = frame[c].astype(object).to_numpy(copy=True)
            values[at[empty[c]]] = None
            frame[c] = values
    if deferred:
        done[table.name].frame = frame
    return drop


def _draw_parents(
    model: Model,
    tm: TableModel,
    table: Table,
    fk: ForeignKey,
    q: Any,
    done: dict[str, Any],
    own: dict[str, np.ndarray],
    rows: np.ndarray,
    matches: list[tuple[str, str]],
    batch: Batch | None,
    rng: np.random.Generator,
    n: int,
    some: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A parent for each of ``rows`` among those matching its ``matches`` columns, filled in
    proportion to what they want: each row's group, each parent's, each row's parent (-1: none;
    the other rows too) and the parents' wants. From a deck carrying over the batches where
    every batch shares the parents (keys.Deck)."""
    child_group = np.full(n, -1, dtype=np.int64)
    steady = None
    if batch is not None:
        steady = batch.parents(
            table.name,
            fk,
            lambda r: _steady_parents(model, tm, table, fk, q, done, matches, r),
            some,
        )
    if steady is not None:
        child_group[rows] = steady.child_groups([own[c][rows] for c, _ in matches], len(rows))
        dealt = steady.deck.deal(child_group, rng, batch.share() if batch is not None else None)
        return child_group, steady.group, dealt, steady.wants
    wants = parent_wants(model, table, fk, q)
    parent_group = np.zeros(len(q.frame), dtype=np.int64)
    if matches:
        child_group[rows], parent_group = _joint_groups(
            [own[c][rows] for c, _ in matches], [comparable(q.frame[p]).to_numpy() for _, p in matches]
        )
    else:
        child_group[rows] = 0
    parent_group = _with_later_parents(model, tm, table, fk, q.frame, done, parent_group)
    return (
        child_group,
        parent_group,
        kz.grouped_slots(child_group, parent_group, np.maximum(wants, 0), rng),
        wants,
    )


def _joint_groups(own: list[np.ndarray], par: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Rows' and parents' groups by the values they share, factorized together (NULL a value)."""
    keys = pd.MultiIndex.from_arrays([np.concatenate([o, p]) for o, p in zip(own, par, strict=True)])
    codes = pd.factorize(keys)[0]
    return codes[: len(own[0])], codes[len(own[0]) :]


def _capped(
    target: np.ndarray,
    child_group: np.ndarray,
    parent_group: np.ndarray,
    cap: int | None,
    wants: np.ndarray,
    rng: np.random.Generator,
    can_null: bool,
) -> np.ndarray:
    """keys.capped where the source bounds the children. A row no other parent has room for keeps
    its parent, unless every source parent has at most one such row (a rental's payment: a
    de facto unique key) and the key may be NULL: a second payment of one rental is not data the
    source holds, a few more rows without a parent is."""
    if cap is None:
        return target
    moved = kz.capped(target, child_group, parent_group, cap, wants, rng)
    return moved if can_null and cap == 1 else np.where(moved >= 0, moved, target)


def most_wanted(model: Model, table: Table, fk: ForeignKey) -> int | None:
    """The most rows any source parent has through ``fk`` (after the privacy rule's pooling), so
    no synthetic parent gets more; None if unknown."""
    qm = model.tables.get(fk.ref_table)
    name = f"{table.name}.{fk.name}#refcount"
    enc = next((d.encoder for d in qm.dims if d.name == name), None) if qm is not None else None
    if isinstance(enc, Categorical):
        tops = [v for v in enc.levels if isinstance(v, int | float) and np.isfinite(v)]
        return int(max(tops)) if tops else None
    if isinstance(enc, Continuous) and len(enc.knots):
        return int(np.ceil(enc.knots[-1]))
    return None


def parent_wants(model: Model, table: Table, fk: ForeignKey, q: Any) -> np.ndarray:
    """How many rows of ``table`` each parent row wants through ``fk`` (its sampled summary)."""
    qm = model.tables[fk.ref_table]
    wants = (
        decode_ext(qm, q.z, f"{table.name}.{fk.name}#refcount", q.dims)
        if q.z.shape[0]
        else np.zeros(len(q.frame))
    )
    return wants if len(wants) == len(q.frame) else np.ones(len(q.frame))


def _steady_parents(
    model: Model,
    tm: TableModel,
    table: Table,
    fk: ForeignKey,
    q: Any,
    done: dict[str, Any],
    matches: list[tuple[str, str]],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], kz.Deck]:
    """The parent side of a key whose parents every batch shares: worked out once, not per batch."""
    wants = parent_wants(model, table, fk, q)
    firsts: list[np.ndarray] = []
    group = np.zeros(len(q.frame), dtype=np.int64)
    if matches and len(q.frame):  # none (--rows partsupp=0): every row's group has no parent
        par = [comparable(q.frame[p]).to_numpy() for _, p in matches]
        group = pd.factorize(pd.MultiIndex.from_arrays(par))[0]
        _, first = np.unique(group[group >= 0], return_index=True)
        first = np.flatnonzero(group >= 0)[first]  # codes follow first appearance: group g at g
        firsts = [p[first] for p in par]
    group = _with_later_parents(model, tm, table, fk, q.frame, done, group)
    return wants, group, firsts, kz.Deck.build(group, np.maximum(wants, 0), rng)


def _loosen(
    model: Model,
    table: Table,
    fk: ForeignKey,
    frame: pd.DataFrame,
    parents: pd.DataFrame,
    matches: list[tuple[str, str]],
    rows: np.ndarray,
    target: np.ndarray,
    wants: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Rows no parent of their group matches (a payment whose customer was drawn no rental with
    that staff member) take a parent matching the other columns only, and the columns another of
    the table's own foreign keys sets (payment.customer_id) from it (the rental's customer_id,
    a key of the same table): the key match holds, and the row is not left without a parent
    (sakila's payments without a rental went from 34 to 132; a line whose code and sku were
    drawn apart, both keys of product, was dropped)."""
    stuck = rows[target[rows] < 0]
    if not len(stuck):
        return
    tp = model.plan[table.name]
    ptp = model.plan[fk.ref_table]
    pfks = [g for g in (*([ptp.context] if ptp.context else []), *ptp.secondary) if len(g.columns) == 1]
    own = {g.columns[0]: g for g in tp.secondary if g is not fk and len(g.columns) == 1}
    # Only a column no other key match reads or sets (notes.visit_id must stay its person's visit).
    tm = model.tables[table.name]
    matched_elsewhere = {c for name, ms in tm.key_matches.items() if name != fk.name for c, _ in ms}
    movable = {
        c
        for c, p in matches
        if c in own
        and c not in matched_elsewhere
        and not tm.key_matches.get(own[c].name)
        and (
            any(
                g.columns[0] == p and g.ref_table == own[c].ref_table and g.ref_columns == own[c].ref_columns
                for g in pfks
            )
            # line.sku -> product(sku) beside line.code -> product(code): the parent's own sku is
            # a key of the row's other parent, the same row (NULL there: no parent, if allowed).
            or (own[c].ref_table == fk.ref_table and own[c].ref_columns == (p,) and table.column(c).nullable)
        )
    }
    if not movable:
        return
    kept = [(c, p) for c, p in matches if c not in movable]
    n_parents = len(parents)
    if kept:
        group, pgroup = _joint_groups(
            [comparable(frame[c]).to_numpy()[stuck] for c, _ in kept],
            [comparable(parents[p]).to_numpy() for _, p in kept],
        )
    else:
        group, pgroup = np.zeros(len(stuck), dtype=np.int64), np.zeros(n_parents, dtype=np.int64)
    chosen = kz.grouped_slots(group, pgroup, np.maximum(wants, 0), rng)
    ok = chosen >= 0
    target[stuck[ok]] = chosen[ok]
    for c in movable:
        p = next(p for cc, p in matches if cc == c)
        values = frame[c].astype(object).to_numpy(copy=True)
        values[stuck[ok]] = _take(parents[p], chosen[ok])
        frame[c] = values


def in_time(target: np.ndarray, group: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The parents chosen in each group, given to its rows in order of time: the row with the
    earliest ``x`` gets the chosen parent with the earliest ``y``. Every parent keeps its number
    of rows and every row a parent of its group (a visit of its own person); rows or parents
    without a time keep theirs."""
    out = target.copy()
    rows = np.flatnonzero((target >= 0) & (group >= 0) & ~np.isnan(x))
    rows = rows[~np.isnan(y[target[rows]])]
    if len(rows) < 2:
        return out
    by_row = rows[np.lexsort((x[rows], group[rows]))]
    by_parent = rows[np.lexsort((y[target[rows]], group[rows]))]
    out[by_row] = target[by_parent]
    return out


def lowest_gap(match: TimeMatch) -> float:
    """The least time the source's rows lie after their parent's (seconds; negative: before)."""
    if match.gap is None:
        return 0.0
    return float(np.asarray(match.gap.decode(np.array([-8.0])), dtype=float)[0]) * match.unit


def highest_gap(match: TimeMatch) -> float:
    """The most time the source's rows lie after their parent's (seconds; its ends pulled in as
    any column's): a row later than that is further from its parent than any source row."""
    if match.gap is None:
        return np.inf
    return float(np.asarray(match.gap.decode(np.array([8.0])), dtype=float)[0]) * match.unit


def not_before(
    target: np.ndarray,
    group: np.ndarray,
    parent_group: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    lowest: float,
) -> np.ndarray:
    """A row earlier than its parent allows (a drug exposure before its visit) gets the latest
    parent of its group that it may follow instead, where there is one: its times stay as drawn."""
    out = target.copy()
    rows = np.flatnonzero((target >= 0) & (group >= 0) & ~np.isnan(x))
    rows = rows[~np.isnan(y[target[rows]])]
    rows = rows[x[rows] < y[target[rows]] + lowest]
    parents = np.flatnonzero((parent_group >= 0) & ~np.isnan(y))
    if not len(rows) or not len(parents):
        return out
    # Parents sorted by (group, time); each row looks up the last one of its group at or before
    # its own time less the gap, through integer keys (group, rank of the time).
    times = np.sort(y[parents])
    span = len(times) + 1
    order = parents[np.lexsort((y[parents], parent_group[parents]))]
    keys = parent_group[order].astype(np.int64) * span + np.searchsorted(times, y[order], side="left")
    limit = x[rows] - lowest
    wanted = group[rows].astype(np.int64) * span + np.searchsorted(times, limit, side="right")
    at = np.searchsorted(keys, wanted, side="left") - 1
    pick = order[np.maximum(at, 0)]
    ok = (at >= 0) & (parent_group[pick] == group[rows]) & (y[pick] <= limit)
    out[rows[ok]] = pick[ok]
    return out


def parent_upper(
    tm: TableModel, table: Table, fk: ForeignKey, match: TimeMatch, parents: pd.DataFrame
) -> np.ndarray:
    """Per parent row, the latest time its rows' ``match.column`` may have by a learned order
    through ``fk`` (a chart event no later than its ICU stay's outtime; NaN where none)."""
    out = np.full(len(parents), np.nan)
    path = (("up", table.name, fk.name),)
    for r in tm.reaches:
        if r.path == path and r.op == "<=" and r.column == match.column and r.base in parents:
            out = np.fmin(out, _instants(parents[r.base]))
    return out


def follow_parent(
    tm: TableModel,
    frame: pd.DataFrame,
    match: TimeMatch,
    target: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    upper: np.ndarray | None = None,
) -> None:
    """An interval that starts before its parent's time by more than the source ever does, with
    no earlier parent to take (not_before), moved to the parent's time plus a gap of the
    source's, drawn at the row's own rank, its end (modelled as a gap from the start) moved by as
    much. The order "end not before the visit" would otherwise push the end alone: an exposure
    of six years. So is a row later than the source's latest gap, or than its parent's ``upper``
    (a learned order through the key: a chart event no later than its stay's end): a chart event
    drawn under its patient lay years after the ICU stay it was given (the stay's time was drawn
    apart from it), where the source's lie within the stay. Where the parent has such an end, the
    row goes between its two times at its own rank (not clipped to the end: rows piled on it). Rows
    within the source's range keep their own times; orders and derived dates settle after."""
    dims = {d.column: (i, d.encoder) for i, d in enumerate(tm.dims) if d.role == "value" and d.column}
    if match.gap is None or match.column not in dims:
        return
    i, encoder = dims[match.column]
    followers = _followers(tm, match.column, set(frame.columns) & set(dims))
    if not followers or not isinstance(encoder, Temporal) or encoder.offsets:
        return
    rows = np.flatnonzero((target >= 0) & ~np.isnan(x))
    rows = rows[~np.isnan(y[target[rows]])]
    at = target[rows]
    end = upper[at] if upper is not None else np.full(len(rows), np.nan)
    gap = x[rows] - y[at]
    away = (gap < lowest_gap(match)) | (gap > highest_gap(match)) | (x[rows] > end)
    rows, at, end = rows[away], at[away], end[away]
    if not len(rows):
        return
    moved = y[at] + np.asarray(match.gap.decode(z[rows, i]), dtype=float) * match.unit
    within = end > y[at]  # NaN compares False: no end, the gap as drawn
    start = y[at] + max(lowest_gap(match), 0.0)
    share = ndtr(z[rows, i])
    moved = np.where(within, start + share * np.maximum(end - start, 0.0), moved)
    shift = moved - x[rows]
    _set_seconds(frame, match.column, encoder, rows, moved)
    for c in followers:
        enc = dims[c][1]
        if not isinstance(enc, Temporal) or enc.offsets:
            continue
        xc = _instants(frame[c])[rows]
        known = ~np.isnan(xc)
        _set_seconds(frame, c, enc, rows[known], xc[known] + shift[known])


def _followers(tm: TableModel, column: str, present: set[str]) -> list[str]:
    """The columns modelled as a gap from ``column`` (or from one of those), in order."""
    roots = date_roots(tm.parts)
    out: list[str] = []
    todo = [column]
    while todo:
        base = todo.pop()
        for c, o in sorted(tm.anchors.items()):
            if o.fk is None and roots.get(o.base, o.base) == base and c in present and c not in out:
                out.append(c)
                todo.append(c)
    return out


def _set_seconds(
    frame: pd.DataFrame, column: str, encoder: Temporal, rows: np.ndarray, seconds: np.ndarray
) -> None:
    """Rows of a time column set from seconds, as the column's encoder gives its values back."""
    values = pd.Series(encoder.values(seconds))
    column_values = frame[column].copy()
    column_values.iloc[rows] = values.to_numpy()
    frame[column] = column_values


def _instants(values: pd.Series) -> np.ndarray:
    """A time column as seconds (NaN for NULL), for ordering only."""
    from relsynth.model.exact_fit import seconds

    first = values.dropna().head(1).tolist()
    try:
        return seconds(values, text=bool(first) and isinstance(first[0], str))
    except (TypeError, ValueError, OverflowError):  # not a time after all: no order
        return np.full(len(values), np.nan)


def _with_later_parents(
    model: Model,
    tm: TableModel,
    table: Table,
    fk: ForeignKey,
    parents: pd.DataFrame,
    done: dict[str, Any],
    parent_group: np.ndarray,
) -> np.ndarray:
    """A chart event names an admission, then an ICU stay of that admission (a later key whose
    match holds this key's columns). Where every source row has that later parent, only the
    parents a later parent row belongs to are drawn: an admission without an ICU stay left 14% of
    the events without one (NULL, the source has none). A group with none of them keeps all."""
    order = [o.name for o in secondary_order(tm, model.plan[table.name].secondary)]
    if fk.name not in order or not len(parents):
        return parent_group
    for later in order[order.index(fk.name) + 1 :]:
        pairs = dict(tm.key_matches.get(later, []))
        other = table.fk(later)
        held = done.get(other.ref_table)
        if (
            not set(fk.columns) <= set(pairs)
            or tm.fk_null.get(later, 0.0) > 0
            or held is None
            or not len(held.frame)
            or not all(pairs[c] in held.frame for c in fk.columns)
        ):
            continue
        mine = pd.MultiIndex.from_arrays([comparable(parents[r]).to_numpy() for r in fk.ref_columns])
        theirs = pd.MultiIndex.from_arrays([comparable(held.frame[pairs[c]]).to_numpy() for c in fk.columns])
        has = np.asarray(mine.isin(theirs), dtype=bool)
        served = np.unique(parent_group[has & (parent_group >= 0)])
        keep = has | ~np.isin(parent_group, served)
        return np.where(keep, parent_group, -1)
    return parent_group


def pair_must_be_unique(table: Table, context: ForeignKey | None, fk: ForeignKey) -> bool:
    """A link table: the (context parent, this parent) pair is a key, so a row may not repeat it."""
    if context is None:
        return False
    cols = set(context.columns) | set(fk.columns)
    keys = [set(table.primary_key)] + [set(u.columns) for u in table.unique]
    return any(k and k <= cols for k in keys)


def numbering(tm: TableModel, frame: pd.DataFrame, pos: np.ndarray | None, rng: np.random.Generator) -> None:
    """Keys that number children within a parent (lineitem's linenumber) run start..n per parent,
    in the order of the column the source numbers by (ties in random order)."""
    for nb in tm.numbering:
        _number(nb, frame, pos, rng)


def renumber(tm: TableModel, frame: pd.DataFrame, pos: np.ndarray | None, rng: np.random.Generator) -> bool:
    """Numberings again after the columns they follow were settled; whether any number changed."""
    changed = False
    for nb in tm.numbering:
        if (nb.by is not None or nb.within) and nb.column in frame:
            before = frame[nb.column].to_numpy(copy=True)
            _number(nb, frame, pos, rng)
            changed |= not np.array_equal(before, frame[nb.column].to_numpy())
    return changed


def _number(nb: Numbering, frame: pd.DataFrame, pos: np.ndarray | None, rng: np.random.Generator) -> None:
    n = len(frame)
    if nb.within:  # equal as the key compares them (case and accents aside, as MariaDB does)
        same = pd.DataFrame({c: collated(comparable(frame[c])) for c in nb.within})
        groups = same.groupby(list(nb.within), dropna=False, sort=False).ngroup().to_numpy(dtype=np.int64)
    else:
        groups = pos if pos is not None else np.zeros(n, dtype=np.int64)
    order = np.lexsort((rng.random(n), _sort_values(frame, nb.by), groups))
    g = groups[order]
    starts = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    rank = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    values = np.empty(n, dtype=np.int64)
    values[order] = rank + nb.start
    frame[nb.column] = values


def _sort_values(frame: pd.DataFrame, column: str | None) -> np.ndarray:
    """A column as sortable floats (times as epoch nanoseconds; NULL and unparsable last)."""
    if column is None or column not in frame:
        return np.zeros(len(frame))
    values = frame[column]
    if pd.api.types.is_datetime64_any_dtype(values):
        out = values.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(float)
        out[values.isna().to_numpy()] = np.inf
        return out
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().sum() < values.notna().sum():  # dates as objects or text
        stamps = pd.to_datetime(values.astype(object), errors="coerce", format="mixed")
        numbers = pd.Series(stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64), index=values.index)
        numbers = numbers.astype(float).where(stamps.notna())
    return numbers.astype(float).fillna(np.inf).to_numpy(dtype=float)


def self_reference(
    tm: TableModel,
    frame: pd.DataFrame,
    fk: ForeignKey,
    pos: np.ndarray | None,
    rng: np.random.Generator,
    table: Table | None = None,
) -> None:
    """A self-reference forms a forest with the source's depth profile, within each context parent.

    Columns the FK shares with the row's key or other FKs (tenant_id of (tenant_id, manager_id))
    stay the row's own: parents are drawn within their groups, only the other columns point at
    the parent, and a root has those NULL (or points at itself where none may be NULL).
    """
    forest = tm.forests.get(fk.name)
    n = len(frame)
    if forest is None or n == 0:
        return
    order = None
    if forest.order_by is not None and forest.order_by in frame:  # a visit names an earlier one
        from relsynth.model.exact_fit import seconds

        column = table.column(forest.order_by) if table is not None else None
        order = seconds(frame[forest.order_by], column is not None and column.type.name in STRING_TYPES)
    if table is None:
        parent = forest.sample(n, rng, groups=pos, order=order)
        for c, r in zip(fk.columns, fk.ref_columns, strict=True):
            frame[c] = _take(frame[r], parent)
        return
    kept = kz.self_ref_shared(table, fk)
    same = [c for c in kept if c in fk.ref_columns and fk.ref_columns[fk.columns.index(c)] == c]
    shared = None
    if same:
        arrays = [comparable(frame[c]).astype(object).to_numpy() for c in same]
        shared = pd.factorize(pd.MultiIndex.from_arrays(arrays), use_na_sentinel=False)[0].astype(np.int64)
    parent = forest.sample(n, rng, groups=pos, shared=shared, order=order)
    for c, r in zip(fk.columns, fk.ref_columns, strict=True):
        if c in kept and c != r:  # kept, and the parent must hold it in the column it refers to
            own, ref = comparable(frame[c]).to_numpy(), comparable(frame[r]).to_numpy()
            parent[(parent >= 0) & (own != ref[np.maximum(parent, 0)])] = -1
    free = [(c, r) for c, r in zip(fk.columns, fk.ref_columns, strict=True) if c not in kept]
    nullable = {c for c, _ in free if table.column(c).nullable}
    roots = parent < 0
    to = np.where(roots, np.arange(n), parent)  # a root's NOT NULL columns: its own key (a self-loop)
    for c, r in free:
        values = _take(frame[r], to)
        if c in nullable:
            values[roots] = None
        frame[c] = values


# -- other columns ----------------------------------------------------------------------------


def unique_rows(
    tm: TableModel,
    table: Table,
    frame: pd.DataFrame,
    pos: np.ndarray | None,
    tp: Any,
    rng: np.random.Generator,
    report: SampleReport,
    taken: dict[tuple[str, ...], set[tuple[Any, ...]]] | None = None,
) -> np.ndarray:
    """Rows to keep so the primary key and every UNIQUE constraint hold (NULLs never clash).

    ``taken``: for the keys an earlier batch may also have drawn (model/batches.py), the values it
    wrote; a row repeating one is not kept either."""
    keep = np.ones(len(frame), dtype=bool)
    keysets = [table.primary_key] + [u.columns for u in table.unique]
    keysets += [ix.columns for ix in table.indexes if ix.unique and ix.columns and not ix.expressions]
    for c in {c for cols in keysets for c in cols}:
        _to_scale(frame, table, c)
    scoped = _partial_scopes(table, frame)
    moved = set()
    for cols, scope, where in scoped:
        if not cols or not all(c in frame for c in cols):
            continue
        dup = _repeated(table, frame, keep, cols, scope)
        if scope is not None and where is not None and dup.any():
            dup = _leave_scope(tm, table, frame, keep, dup, scope, where)
        seen = (taken or {}).get(tuple(cols))
        if (dup.any() or seen) and len(cols) == 1 and tm.column(cols[0]).how == "copula":
            column = table.column(cols[0])
            dup, room = nudge_unique(frame, cols[0], keep, dup, column.type, seen, _allowed(table, cols[0]))
            moved.add(cols[0])
            if room is not None:
                report.narrow_keys.setdefault(table.name, {})[tuple(cols)] = room
        elif (dup.any() or seen) and len(cols) > 1:
            dup = _redraw_member(tm, table, frame, tuple(cols), keep, dup, rng, seen)
            moved.update(cols)
        taken_rows = _taken_rows(table, frame, keep, cols, seen)
        if scope is not None:
            taken_rows &= scope[keep]
        _drop(table, report, keep, dup | taken_rows)
    for cols, scope, _ in scoped:  # a later key moved a column an earlier one holds: UNIQUE(x, y), (y, z)
        if cols and all(c in frame for c in cols) and moved & set(cols):
            _drop(table, report, keep, _repeated(table, frame, keep, cols, scope))
    return keep


def _leave_scope(
    tm: TableModel,
    table: Table,
    frame: pd.DataFrame,
    keep: np.ndarray,
    dup: np.ndarray,
    scope: np.ndarray,
    where: Any,
) -> np.ndarray:
    """Repeats of a partial unique key (``dup``, over the kept rows) moved out of its WHERE where a
    drawn column of the WHERE can take another of its values that leaves the WHERE unmet and
    breaks no CHECK: a person's second primary address becomes one of the others, as in the
    source, rather than being left out (the copula draws is_primary row by row). ``scope`` is
    updated; the repeats still in it are returned."""
    rows = np.flatnonzero(keep)[dup]
    checks = [c.sql for c in table.checks]
    # A column other columns follow exactly (a code's label drawn from it) is not moved alone.
    determinants = {d.determinant for d in tm.dependencies} | {g for c in tm.conditionals for g in c.givens}
    determinants |= {spec.null_determinant for spec in tm.columns if spec.null_determinant}
    for col in sorted(ck.columns_of(where)):
        spec = next((c for c in tm.columns if c.name == col), None)
        if spec is None or spec.how != "copula" or col not in frame or col in determinants:
            continue
        for value in pd.unique(frame[col].dropna())[:MAX_SCOPE_VALUES]:
            if not len(rows):
                break
            trial = frame.iloc[rows].reset_index(drop=True)
            trial[col] = pd.Series([value] * len(rows), dtype=object)
            out = ~ck.truth(where, trial).eq(True).to_numpy(dtype=bool)
            if checks and out.any():
                values = np.empty(len(frame), dtype=object)
                values[rows] = value
                out &= ~ck.broken_by(checks, frame, col, values, rows, table.sql_dialect)[rows]
            if out.any():
                column = frame[col].to_numpy(dtype=object, copy=True)
                column[rows[out]] = value
                frame[col] = column
                scope[rows[out]] = False
                rows = rows[~out]
    still = np.zeros(len(frame), dtype=bool)
    still[rows] = True
    return still[keep]


MAX_SCOPE_VALUES = 20  # values of a WHERE's column tried to move a repeat out of it


def _partial_scopes(
    table: Table, frame: pd.DataFrame
) -> list[tuple[tuple[str, ...], np.ndarray | None, Any]]:
    """Each key that must be unique, once, with the rows it holds for: all (None), or for a
    partial unique index (``UNIQUE (person_id) WHERE is_primary``) those its WHERE holds for.
    Made unique over every row, a person's 1-4 addresses became one (60% of the rows dropped);
    two such indexes (a home and a work address each) are two keys, not one over both WHEREs. A
    WHERE relsynth cannot read keeps the key unique over every row, which meets it too."""
    full = [tuple(table.primary_key)] + [tuple(u.columns) for u in table.unique]
    full += [tuple(ix.columns) for ix in table.indexes if ix.unique and not ix.where and not ix.expressions]
    partial: list[tuple[tuple[str, ...], np.ndarray, Any]] = []
    for ix in table.indexes:
        cols = tuple(ix.columns)
        if not (ix.unique and ix.where and cols and not ix.expressions):
            continue
        try:
            node = ck.parse(ix.where, table.sql_dialect)
            if not ck.columns_of(node) <= set(frame.columns):
                raise ck.NotInterpretable("a column not drawn")
            rows = ck.truth(node, frame.reset_index(drop=True)).eq(True).to_numpy(dtype=bool)
        except (ck.NotInterpretable, ValueError, TypeError):
            full.append(cols)
            continue
        partial.append((cols, rows, node))
    keys = list(dict.fromkeys(c for c in full if c))
    return [(c, None, None) for c in keys] + [(c, rows, node) for c, rows, node in partial if c not in keys]


def _repeated(
    table: Table, frame: pd.DataFrame, keep: np.ndarray, cols: Any, scope: np.ndarray | None = None
) -> np.ndarray:
    """Which kept rows repeat an earlier kept row's key (NULLs never clash; nor rows outside a
    partial index's ``scope``), over the kept rows."""
    sub = frame.loc[keep, list(cols)]
    # A NOT NULL float's missing value is the source's NaN, a value: PostgreSQL's NaN = NaN.
    nan_cols = [c for c in cols if nan_valued(table.column(c))]
    null = sub[[c for c in cols if c not in nan_cols]].isna().any(axis=1).to_numpy()
    if scope is not None:
        null |= ~scope[keep]
    if null.all():
        return np.zeros(len(sub), dtype=bool)
    comp = pd.DataFrame({c: collated(comparable(sub[c])) for c in cols})
    for c in nan_cols:
        comp[c] = comp[c].astype(object).where(comp[c].notna(), "NaN")
    out = np.zeros(len(sub), dtype=bool)
    out[~null] = comp[~null].duplicated(keep="first").to_numpy()  # rows outside a scope hold no key
    return out


def _taken_rows(
    table: Table, frame: pd.DataFrame, keep: np.ndarray, cols: Any, seen: set[tuple[Any, ...]] | None
) -> np.ndarray:
    """Which kept rows repeat a key an earlier batch wrote, over the kept rows."""
    if not seen:
        return np.zeros(int(keep.sum()), dtype=bool)
    now = pd.DataFrame({c: key_values(frame.loc[keep, c], table.column(c).type) for c in cols})
    return np.fromiter((t in seen for t in now.itertuples(index=False, name=None)), bool, len(now))


def _drop(table: Table, report: SampleReport, keep: np.ndarray, dup: np.ndarray) -> None:
    """Leave out the kept rows ``dup`` marks (over the kept rows), counted in the report."""
    if dup.any():
        idx = np.flatnonzero(keep)[dup]
        keep[idx] = False
        report.dropped_duplicates[table.name] = report.dropped_duplicates.get(table.name, 0) + len(idx)


def _allowed(table: Table, column: str) -> Any:
    """Whether a value passes the CHECKs on ``column`` alone (price >= 0), for nudge_unique; None
    when there are none (or none relsynth reads)."""
    nodes = []
    for check in table.checks:
        try:
            node = ck.parse(check.sql, table.sql_dialect)
        except ck.NotInterpretable:
            continue
        if ck.columns_of(node) == {column}:
            nodes.append(node)
    if not nodes:
        return None

    def allowed(value: float) -> bool:
        one = pd.DataFrame({column: [value]})
        return not any(ck.violations(node, one).any() for node in nodes)

    return allowed


def _to_scale(frame: pd.DataFrame, table: Table, column: str) -> None:
    """A key's NUMERIC(p, s) numbers as the database stores them, s decimals: '3.0' and '3', or
    3.004 and 3.001 in a NUMERIC(10,2), are one value there (the load failed on a UNIQUE one).
    A float column's generated text ('495.7', '495.70') as the floats it is written as, and a
    4-byte REAL's as it stores them (two doubles, one float)."""
    t = table.column(column).type
    if column not in frame:
        return
    if t.name in FLOAT_TYPES:
        values = frame[column]
        number = pd.to_numeric(values, errors="coerce") if values.dtype == object else values
        if t.name == "float" and pd.api.types.is_float_dtype(number):
            number = number.astype(np.float32).astype(float)
        if values.dtype == object:  # text that is no number stays
            frame[column] = values.where(number.isna(), number)
        elif pd.api.types.is_float_dtype(values):
            frame[column] = number
        return
    if t.name != "numeric" or t.scale is None:
        return
    scale = int(t.scale)
    values = frame[column]
    if pd.api.types.is_float_dtype(values):
        frame[column] = values.round(scale)
        return
    if values.dtype != object:
        return
    step = Decimal(1).scaleb(-scale)

    def stored(v: Any) -> Any:
        if v is None or isinstance(v, int) or (isinstance(v, float) and np.isnan(v)):
            return v  # an exact integer (a NUMERIC(20,0) key past a float's) stays one
        try:
            return format(Decimal(str(v)).quantize(step), "f")
        except (InvalidOperation, ValueError):
            return v

    frame[column] = values.map(stored)


MAX_SPREAD_GROUPS = 500  # groups of a composite key spread per table and batch (about 1 s)


def _spread_within(
    table: Table,
    frame: pd.DataFrame,
    cols: tuple[str, ...],
    col: str,
    keep: np.ndarray,
    dup: np.ndarray,
    seen: set[tuple[Any, ...]] | None,
) -> np.ndarray:
    """A composite UNIQUE with a drawn number or time, UNIQUE(league, position): within each
    group of the other columns, its repeats are spread as a UNIQUE number's are, clear of what
    earlier batches wrote in the group (model/unique.py); drawn again from the column's values,
    a league of more rows than positions lost the rest. The rows still repeated are returned."""
    rest = [c for c in cols if c != col]
    at_col, at_rest = cols.index(col), [cols.index(c) for c in rest]
    sub = frame.loc[keep, rest]
    keys = [key_values(sub[c], table.column(c).type).to_numpy() for c in rest]
    tuples = list(zip(*keys, strict=True))
    group, uniques = pd.factorize(pd.Series(tuples, dtype=object))
    written: dict[tuple[Any, ...], set[tuple[Any, ...]]] = {}
    for t in seen or ():  # the key's values in its order, ``col`` where the others are not
        written.setdefault(tuple(t[i] for i in at_rest), set()).add((t[at_col],))
    left = dup.copy()
    allowed = _allowed(table, col)
    at = np.flatnonzero(keep)
    busy = {i for i, u in enumerate(uniques) if u in written}
    repeats = np.bincount(group[dup], minlength=len(uniques))
    todo = sorted(set(np.flatnonzero(repeats).tolist()) | busy, key=lambda g: (-repeats[g], g))
    for g in sorted(todo[:MAX_SPREAD_GROUPS]):  # each a few milliseconds: the rest are drawn again
        members = group == g
        mine = np.zeros(len(frame), dtype=bool)
        mine[at[members]] = True
        taken = written.get(uniques[g])
        still, _ = nudge_unique(frame, col, mine, dup[members], table.column(col).type, taken, allowed)
        left[members] = still
    return left


def _places(keys: list[Any]) -> dict[Any, list[int]]:
    """Each key's places in ``keys`` (equal keys, 1 and 1.0, share theirs)."""
    out: dict[Any, list[int]] = {}
    for j, v in enumerate(keys):
        out.setdefault(v, []).append(j)
    return out


def _free_places(keys: list[Any], places: dict[Any, list[int]], taken: set[Any]) -> Any:
    """The places j of keys with keys[j] not in taken, in order: a repeated row's choices. Found
    from the few taken keys where they are fewer than the keys, not by testing every key for
    every repeated row (a domain of 1,000 values was 6% of sampling diabetes130)."""
    if len(taken) >= len(keys):
        return [j for j, v in enumerate(keys) if v not in taken]
    free = np.ones(len(keys), dtype=bool)
    free[[j for v in taken for j in places.get(v, ())]] = False
    return np.flatnonzero(free)


def _redraw_member(
    tm: TableModel,
    table: Table,
    frame: pd.DataFrame,
    cols: tuple[str, ...],
    keep: np.ndarray,
    dup: np.ndarray,
    rng: np.random.Generator,
    seen: set[tuple[Any, ...]] | None = None,
) -> np.ndarray:
    """A composite UNIQUE of data columns, UNIQUE(batch_no, pos): its most varied drawn number
    or time spread within each group of the others, clear of the keys earlier batches wrote
    (``seen``; _spread_within), or else a repeated row takes another of
    its most varied modelled column's sampled values, one not yet used with the rest of its key
    (drawn independently, 38% of 1,500 rows repeated a pair and were dropped). Rows with no such
    value left stay repeated (and are dropped)."""
    # A code into a reference table (post_tag's tag_id) is drawn like any category, and any other
    # code drawn is a tag that exists: a post's second 'python' takes another tag, not dropped
    # (12% of the links were). Not one other columns follow, nor one of a composite key.
    determinants = {d.determinant for d in tm.dependencies} | {g for c in tm.conditionals for g in c.givens}
    coded = {
        fk.columns[0]
        for fk in table.foreign_keys
        if len(fk.columns) == 1
        and tm.column(fk.columns[0]).how == "copula"
        and fk.columns[0] not in determinants
    }
    fixed = table.fk_columns() - coded
    movable = [c for c in cols if c not in fixed and tm.column(c).how == "copula"]
    spreadable = [
        c for c in movable if table.column(c).type.name in NUMBER_TYPES | TIME_TYPES and c not in coded
    ]
    if spreadable:
        sub = frame.loc[keep]
        col = max(spreadable, key=lambda c: (sub[c].nunique(), -cols.index(c)))
        dup = _spread_within(table, frame, cols, col, keep, dup, seen)
    if not movable or not dup.any():
        return dup
    sub = frame.loc[keep]
    col = max(movable, key=lambda c: sub[c].nunique())
    rest = [c for c in cols if c != col]
    counts = sub[col].dropna().value_counts()
    domain = list(counts.index[:1000])
    if not domain:
        return dup
    weights = counts.to_numpy()[: len(domain)].astype(float)
    keys = list(zip(*(collated(comparable(sub[c])).tolist() for c in rest), strict=True))
    mine = collated(comparable(sub[col])).tolist()
    domain_keys = collated(comparable(pd.Series(domain, dtype=object))).tolist()
    used: dict[tuple[Any, ...], set[Any]] = {}
    for i in np.flatnonzero(~dup):
        used.setdefault(keys[i], set()).add(mine[i])
    values = sub[col].astype(object).to_numpy(copy=True)
    left = dup.copy()
    positions = _places(domain_keys)
    for i in np.flatnonzero(dup):
        taken = used.setdefault(keys[i], set())
        free = _free_places(domain_keys, positions, taken)
        if not len(free):
            continue
        w = weights[free]
        j = free[int(rng.choice(len(free), p=w / w.sum()))]
        values[i] = domain[j]
        taken.add(domain_keys[j])
        left[i] = False
    frame.loc[keep, col] = pd.Series(values, index=sub.index).astype(frame[col].dtype, errors="ignore")
    return left
