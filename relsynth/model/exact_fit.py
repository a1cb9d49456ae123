"""What relsynth.model.exact looks for in a table being fitted, and where: its own columns (parts,
differences, calendar dates), its children (flags saying they exist), related rows reached through
foreign keys (orders) and its keys (intervals that never overlap). Derived columns leave the copula."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from relsynth.graph import Plan
from relsynth.model import exact as ex
from relsynth.model.spec import ColumnSpec
from relsynth.schema import Column, ForeignKey, Kind, Schema, Table
from relsynth.sqltypes import INTEGER_TYPES, STRING_TYPES, native_family
from relsynth.transform import decimals_of, grain_of, text_date_format, to_epoch_seconds

Seconds = Callable[[str, str], np.ndarray]


def _key_sets(table: Table) -> list[set[str]]:
    """The columns of each key or UNIQUE constraint (primary key, UNIQUE, unique indexes)."""
    sets = [set(table.primary_key), *(set(u.columns) for u in table.unique)]
    return sets + [set(ix.columns) for ix in table.indexes if ix.unique]


def protected(table: Table) -> set[str]:
    """Columns in a key or UNIQUE constraint: a relation never moves them (a clash would follow)."""
    return set().union(*_key_sets(table))


def apart(table: Table, frame: pd.DataFrame, columns: set[str] | None = None) -> set[str]:
    """Columns of keys (of ``columns``) that a relation may move all the same: every key or UNIQUE constraint
    holding one is met in ``frame`` by its other columns alone (NULLs never clash), so no value
    it takes can make two rows clash. A range-partitioned table must hold its time in the primary
    key, (tenant_id, event_id, occurred_at) with event_id new and unique: left where it was drawn,
    3,127 of 17,600 events came before their user (attack round 41)."""
    sets = _key_sets(table)
    unique: dict[frozenset[str], bool] = {}

    def met(rest: frozenset[str]) -> bool:
        if rest not in unique:
            cols = sorted(rest)
            ok = bool(cols) and all(c in frame for c in cols)
            if ok and len(frame):
                sub = frame[cols]
                sub = sub[sub.notna().all(axis=1)]
                try:
                    ok = not bool(sub.duplicated().any())
                except TypeError:  # unhashable values (JSON documents): not known to differ
                    ok = False
            unique[rest] = ok
        return unique[rest]

    held = set().union(*sets) if columns is None else set().union(*sets) & columns
    return {c for c in held if all(met(frozenset(cols - {c})) for cols in sets if c in cols)}


def _kept_unique(table: Table, column: str, key: str) -> bool:
    """Does every key or UNIQUE constraint on ``column`` also hold ``key``?"""
    return all(key in cols for cols in _key_sets(table) if column in cols)


def seconds(values: pd.Series, text: bool) -> np.ndarray:
    """Seconds since the epoch, NaN for NULL (text parsed as ISO dates)."""
    out = np.full(len(values), np.nan)
    known = values.notna().to_numpy()
    if known.any():
        kv = values[known].reset_index(drop=True)
        out[known] = to_epoch_seconds(kv, text_format=text_date_format(kv) if text else None)
    return out


def _is_time(table: Table, col: str, kinds: dict[str, Kind]) -> bool:
    return kinds.get(col) is Kind.DATETIME and table.column(col).type.name != "time"


def _numbers(frame: pd.DataFrame, col: str) -> np.ndarray | None:
    """The column as floats (NaN for NULL), or None when some value is not a number."""
    values = frame[col]
    if pd.api.types.is_bool_dtype(values):
        return None
    if values.dtype == object:
        first = values.dropna().head(1).tolist()
        if not first or isinstance(first[0], str | bytes | bool):
            return None  # text (a code stored as text) or flags: not a year, a term or a total
    x = pd.to_numeric(values, errors="coerce")
    if int(x.notna().sum()) != int(values.notna().sum()):
        return None
    out = x.to_numpy(dtype=float)
    return None if np.isinf(out).any() else out


def row_relations(
    table: Table,
    frame: pd.DataFrame,
    specs: dict[str, ColumnSpec],
    kinds: dict[str, Kind],
) -> tuple[list[ex.Part], list[ex.Difference], list[ex.Calendar]]:
    """Parts, differences and calendar dates among a table's columns; their targets leave the copula."""
    if len(frame) < ex.MIN_NAMED:
        return [], [], []
    keep = protected(table)
    values_of = {"copula", "repeat"}
    targets = {c for c, s in specs.items() if s.how == "copula" and c not in keep and c in frame}
    times = {
        c: seconds(frame[c], table.column(c).type.name in STRING_TYPES)
        for c in specs
        if c in frame and specs[c].how in values_of and _is_time(table, c, kinds)
    }
    numbers: dict[str, np.ndarray] = {}
    # A generated column (its kind UNSUPPORTED in ``kinds``: the source computes it) is no input to
    # a relation, but may be one's result: los_hours = round(epoch(dischtime - admittime) / 3600, 2)
    # written into SQLite or MariaDB, which cannot compute PostgreSQL's expression, was drawn on
    # its own and disagreed with its row's times on 97% of the rows.
    generated = {c.name for c in table.columns if c.computed and c.kind is Kind.NUMERICAL}
    for c, s in specs.items():
        number = kinds.get(c) in {Kind.NUMERICAL, Kind.CATEGORICAL} or c in generated
        if c in frame and s.how in values_of and number:
            x = _numbers(frame, c)
            if x is not None:
                numbers[c] = x
    integers = {
        c: x for c, x in numbers.items() if c not in generated and np.all(np.isnan(x) | (x == np.round(x)))
    }
    rank = {}
    for c, secs in times.items():
        known = secs[~np.isnan(secs)]
        step = grain_of(known) if len(known) else 86400.0
        rank[c] = (step, 0 if table.column(c).type.name == "datetime" else 1, c)

    parts = []
    for col, whole, part, blank in ex.find_parts(times, integers, targets, rank):
        output, fmt = "number", None
        if part == "date":
            ctype = table.column(col).type
            output = "text" if ctype.name in STRING_TYPES else _temporal_output(ctype)
            fmt = text_date_format(frame[col].dropna()) if output == "text" else None
        parts.append(ex.Part(col, whole, part, output, fmt, round(blank, 6)))
        specs[col].how = "part"
        targets.discard(col)
    for p in parts:
        if p.part == "date":
            times[p.column] = ex.part_of(times[p.whole], "date")  # the derived value, as sampled
    decimals = {
        c: 0 if table.column(c).type.name in INTEGER_TYPES else decimals_of(x[~np.isnan(x)])
        for c, x in numbers.items()
    }
    for c in generated & set(decimals):  # its expression's rounding, not only the source's values'
        decimals[c] = generated_decimals(table.column(c), decimals[c])
    # A UNIQUE column's repeats are moved after the relations are drawn (model/unique.py): a
    # total = net + tax with a UNIQUE total broke on 363 rows of 400. It is no term either.
    alone = {cols[0] for cols in table.keysets() if len(cols) == 1}
    diffs = ex.find_differences(
        {c: t for c, t in times.items() if c not in alone},
        {c: x for c, x in numbers.items() if c not in alone},
        targets,
        decimals,
        results_only=generated,
    )
    spans = _intervals(table, frame, specs, keep)
    diffs += ex.find_interval_differences(times, spans, set(spans))
    for d in diffs:
        specs[d.column].how = "difference"
        if d.column in spans:
            specs[d.column].constant = None  # derived, not drawn: natives' durations are not kept
        targets.discard(d.column)
    calendars = ex.find_calendars({c: x for c, x in integers.items() if specs[c].how in values_of}, targets)
    drawn = {c: x for c, x in numbers.items() if specs[c].how in values_of and c not in generated}
    # Categories a spelled number's format may differ by (a lab value of two decimals for one item).
    groups = {
        c: frame[c].reset_index(drop=True)
        for c, s in specs.items()
        if c in frame
        and kinds.get(c) in {Kind.CATEGORICAL, Kind.BOOLEAN}
        and s.how in {"copula", "dependency", "conditional", "repeat"}
        and not table.column(c).computed
    }
    parts += _spellings(table, frame, specs, keep, drawn, groups)
    return parts, diffs, calendars


_ROUNDED = re.compile(r"^\s*round\s*\((.*),\s*(\d{1,2})\s*\)\s*$", re.IGNORECASE | re.DOTALL)


def generated_decimals(col: Column, seen: int) -> int:
    """The decimals a generated number is computed to: its type's scale, or the N of an expression
    round(..., N) (a whole hour in every source row is 431.5 hours for times drawn half an hour
    apart); else those its source values show."""
    if col.type.name in INTEGER_TYPES:
        return 0
    if col.type.scale is not None:
        return int(col.type.scale)
    found = _ROUNDED.match(col.computed or "")
    return max(seen, int(found.group(2))) if found else seen


def _spellings(
    table: Table,
    frame: pd.DataFrame,
    specs: dict[str, ColumnSpec],
    keep: set[str],
    numbers: dict[str, np.ndarray],
    groups: dict[str, pd.Series] | None = None,
) -> list[ex.Part]:
    """Text columns that spell a number of the row ('7.6' beside 7.6): derived from the number as
    sampled, so the two agree as in the source. A text with values of its own where the number is
    NULL ('Negative') keeps drawing those (fit.py masks the spelled rows before learning it)."""
    texts = {}
    for c, s in specs.items():
        # An "id" too: a text of unique numbers ('611207.70' beside 611207.7) is their spelling.
        if c in keep or c not in frame or s.how not in {"copula", "text", "id"}:
            continue
        if table.column(c).type.name not in STRING_TYPES or table.column(c).computed:
            continue
        strings = _strings(frame, c)
        if strings is not None:
            texts[c] = strings
    nullable = {c for c in texts if table.column(c).nullable}
    out = []
    for col, number, fmt, blank, whole in ex.find_spellings(texts, numbers, nullable, groups):
        if not whole and specs[col].how != "copula":
            continue  # a text column's own values are generated, not drawn: nothing to mask
        out.append(ex.Part(col, number, "text", "text", fmt, blank))
        if whole:
            specs[col].how = "part"
    return out


def _strings(frame: pd.DataFrame, column: str) -> pd.Series | None:
    """The column, positions from 0, if its values are Python strings (the first SCREEN tell)."""
    known = frame[column].dropna()
    if len(known) and all(isinstance(v, str) for v in known.head(ex.SCREEN)):
        return frame[column].reset_index(drop=True)
    return None


MAX_OWN_WORDS = 100  # distinct values a spelled text may hold where its number is NULL, as a category


def early_spellings(
    table: Table, frame: pd.DataFrame, keep: set[str]
) -> tuple[pd.DataFrame, Table, list[ex.Part]]:
    """Text columns of too many values to be a category ('14.23', '98.46', ... beside the number)
    that spell a number where it is known and hold a few words elsewhere ('Negative'): found before
    the columns are learned, they become a category of those words (the spelled rows NULL in the
    frame returned), and the part derives the rest. Learned as free text, the words came out as
    random numbers ('842.19') and no text equalled its number. ``keep``: columns never touched
    (keys, personal data). The caller's frame is left as it is."""
    texts = {}
    for c in table.columns:
        if (
            c.kind is not Kind.TEXT
            or c.pii
            or c.computed
            or not c.nullable
            or c.type.name not in STRING_TYPES
            or c.name in keep
            or c.name not in frame
        ):
            continue
        strings = _strings(frame, c.name)
        if strings is not None:
            texts[c.name] = strings
    if not texts:
        return frame, table, []
    numbers = {}
    for c in table.columns:
        if c.kind is Kind.NUMERICAL and not c.computed and c.name in frame and c.name not in keep:
            x = _numbers(frame, c.name)
            if x is not None:
                numbers[c.name] = x
    parts, masked = [], {}
    for col, number, fmt, blank, whole in ex.find_spellings(texts, numbers, set(texts)):
        if whole:
            continue  # derived outright, found with the row's other relations (row_relations)
        values = frame[col].astype(object).mask(~np.isnan(numbers[number]), None)
        if values.nunique() > MAX_OWN_WORDS:
            continue
        masked[col] = values
        parts.append(ex.Part(col, number, "text", "text", fmt, blank))
    if not parts:
        return frame, table, []
    columns = tuple(replace(c, kind=Kind.CATEGORICAL) if c.name in masked else c for c in table.columns)
    return frame.assign(**masked), replace(table, columns=columns), parts


def unspelled(frame: pd.DataFrame, parts: list[ex.Part], specs: dict[str, ColumnSpec]) -> pd.DataFrame:
    """The frame a text that spells a number only where it has values of its own is learned from:
    NULL where the number is known (derived there), its own values ('Negative') elsewhere."""
    masked = {}
    for p in parts:
        if p.part == "text" and specs[p.column].how == "copula" and p.column in frame and p.whole in frame:
            number = pd.to_numeric(frame[p.whole], errors="coerce").notna().to_numpy()
            masked[p.column] = frame[p.column].astype(object).mask(number, None)
            specs[p.column].null_share = float(masked[p.column].isna().mean())
    return frame.assign(**masked) if masked else frame


def _intervals(
    table: Table, frame: pd.DataFrame, specs: dict[str, ColumnSpec], keep: set[str]
) -> dict[str, np.ndarray]:
    """Interval columns natives.py would draw, as seconds (NaN for NULL): a difference of two
    times may derive them instead."""
    out = {}
    for c, s in specs.items():
        if (
            s.how != "native"
            or c in keep
            or c not in frame
            or native_family(table.column(c).type) != "interval"
        ):
            continue
        values = frame[c]
        if pd.api.types.is_timedelta64_dtype(values):
            out[c] = values.dt.total_seconds().to_numpy(dtype=float)
            continue
        known = values.notna().to_numpy()
        if all(isinstance(v, dt.timedelta) for v in values[known]):
            # Each as Python's timedelta: an interval of '999 years' is past pandas' Timedelta
            # (about 292 years), and pd.to_timedelta stopped the run with OutOfBoundsTimedelta.
            secs = np.full(len(values), np.nan)
            secs[known] = [v.total_seconds() for v in values[known]]
            out[c] = secs
    return out  # anything else (text, numbers) is no duration read as one: left to natives.py


def _temporal_output(t: Any) -> str:
    name = getattr(t, "name", "")
    if name == "date":
        return "date"
    return "datetime_tz" if getattr(t, "timezone", False) else "datetime"


def existence(
    plan: Plan,
    table: Table,
    frame: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    specs: dict[str, ColumnSpec],
    kinds: dict[str, Kind],
) -> list[ex.Existence]:
    """Two-valued columns that say whether the row has children (through any FK of a data table)."""
    from relsynth.model.fit import positions

    keep = protected(table)
    flags = [
        c
        for c, s in specs.items()
        if s.how == "copula"
        and c not in keep
        and c in frame
        and kinds.get(c) in {Kind.BOOLEAN, Kind.CATEGORICAL, Kind.NUMERICAL}
        and frame[c].nunique(dropna=False) == 2
    ]
    if not flags or len(frame) < ex.MIN_SUPPORT:
        return []
    out: list[ex.Existence] = []
    for child in plan.order:
        tp = plan[child]
        cframe = frames.get(child)
        if tp.role != "data" or cframe is None or len(cframe) == 0 or not flags:
            continue
        for fk in (*([tp.context] if tp.context else []), *tp.secondary):
            if fk.ref_table != table.name:
                continue
            pos = positions(cframe, fk.columns, frame, fk.ref_columns)
            counts = np.bincount(pos[pos >= 0], minlength=len(frame))
            for c in list(flags):
                found = ex.find_existence(frame[c], counts)
                if found is not None:
                    out.append(ex.Existence(c, child, fk.name, *found))
                    specs[c].how = "existence"
                    flags.remove(c)
    return out


def walk(
    schema: Schema, path: tuple[tuple[str, str, str], ...], frames: dict[str, pd.DataFrame], n: int
) -> np.ndarray:
    """For each of n rows of the path's first table, the row of its last table it reaches (-1: none)."""
    from relsynth.model.fit import positions

    pos = np.arange(n, dtype=np.int64)
    for way, holder, name in path:
        fk = schema.table(holder).fk(name)
        child, parent = frames[holder], frames[fk.ref_table]
        step = positions(child, fk.columns, parent, fk.ref_columns)
        if way == "down":  # from each parent row to the first child row that points to it
            back = np.full(len(parent), -1, dtype=np.int64)
            rows = np.flatnonzero(step >= 0)[::-1]
            back[step[rows]] = rows
            step = back
        pos = np.where(pos >= 0, step[np.maximum(pos, 0)] if len(step) else -1, -1)
    return pos


def times_at(pos: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """For each row, the time (seconds) of the row ``pos`` it reaches (walk); NaN where none."""
    return np.where(pos >= 0, ys[np.maximum(pos, 0)] if len(ys) else np.nan, np.nan)


def day_repeats(
    schema: Schema,
    plan: Plan,
    table: Table,
    frames: dict[str, pd.DataFrame],
    own: dict[str, np.ndarray],
    seconds_of: Seconds,
) -> list[tuple[str, str, str]]:
    """(own date column, fk, parent time) where the date is the day of a timestamp of the row its
    context or secondary foreign key names, on every row but exact.allowed (invoice.issued_on =
    DATE(orders.ordered_at)): a repeat across types. Drawn and clipped, the day came out earlier
    than the order's where the order was earlier than the source's first (5 of 2,232 invoices),
    so the date is set from the parent's time instead. The parent's time must vary (20 rows of
    10 values at least) and hold times of day (a date repeated is a plain equality)."""
    out: list[tuple[str, str, str]] = []
    tp = plan[table.name]
    n = len(frames[table.name])
    taken: set[str] = set()
    for fk in (*([tp.context] if tp.context else []), *tp.secondary):
        end = fk.ref_table
        if end == table.name or end not in frames or plan[end].role != "data":
            continue
        pos = walk(schema, (("up", table.name, fk.name),), frames, n)
        for b in time_columns(schema.table(end), frames[end]):
            y = times_at(pos, seconds_of(end, b))
            yk = y[~np.isnan(y)]
            if not len(yk) or bool(np.all(np.mod(yk, 86400.0) == 0)):
                continue
            day = np.floor(y / 86400.0) * 86400.0
            for col, x in sorted(own.items()):
                known = ~np.isnan(x)
                both = known & ~np.isnan(y)
                m = int(both.sum())
                if col in taken or m < ex.MIN_SUPPORT or int((known & np.isnan(y)).sum()) > ex.allowed(m):
                    continue
                if np.any(np.mod(x[known], 86400.0) != 0) or not ex.enough_values(y[both], 10):
                    continue
                if int((x[both] != day[both]).sum()) <= ex.allowed(m):
                    out.append((col, fk.name, b))
                    taken.add(col)
    return out


def time_columns(table: Table, frame: pd.DataFrame) -> list[str]:
    """The table's date and timestamp columns the frame holds (times of day are no instants)."""
    return [
        c.name for c in table.columns if c.kind is Kind.DATETIME and c.type.name != "time" and c.name in frame
    ]


def _end(schema: Schema, path: tuple[tuple[str, str, str], ...]) -> str:
    way, holder, name = path[-1]
    return schema.table(holder).fk(name).ref_table if way == "up" else holder


def paths(schema: Schema, plan: Plan, table: Table, frames: dict[str, pd.DataFrame]) -> list[tuple[Any, ...]]:
    """Ways from a table to related rows: a secondary parent; a parent's parent; the one row of a
    sibling table that belongs to the same parent (a person's death record). The context parent
    itself is left to the orders relations.py learns."""

    def ups(name: str) -> list[ForeignKey]:
        tp = plan[name]
        fks = [*([tp.context] if tp.context else []), *tp.secondary]
        return [fk for fk in fks if plan[fk.ref_table].role == "data" and fk.ref_table in frames]

    tp = plan[table.name]
    out: list[tuple[Any, ...]] = []
    for fk in ups(table.name):
        first = ("up", table.name, fk.name)
        if fk is not tp.context:
            out.append((first,))
        for g in ups(fk.ref_table):
            out.append((first, ("up", fk.ref_table, g.name)))
        for sibling in plan.order:
            if sibling == table.name or plan[sibling].role != "data" or sibling not in frames:
                continue
            for h in ups(sibling):
                if h.ref_table == fk.ref_table and _one_per_parent(frames[sibling], h, frames[fk.ref_table]):
                    out.append((first, ("down", sibling, h.name)))
    return out


def _one_per_parent(child: pd.DataFrame, fk: ForeignKey, parent: pd.DataFrame) -> bool:
    from relsynth.model.fit import positions

    if len(child) == 0 or len(parent) == 0:
        return False
    pos = positions(child, fk.columns, parent, fk.ref_columns)
    counts = np.bincount(pos[pos >= 0], minlength=len(parent))
    return bool(counts.max(initial=0) == 1)


def reaches(
    schema: Schema,
    plan: Plan,
    table: Table,
    frames: dict[str, pd.DataFrame],
    own: dict[str, np.ndarray],
    seconds_of: Seconds,
) -> list[ex.Reach]:
    """Orders between the table's times and times of related rows reached through foreign keys."""
    if not own:
        return []
    out: list[ex.Reach] = []
    tp = plan[table.name]
    context = tp.context.ref_table if tp.context is not None else None
    covered: set[tuple[str, str]] = set()
    n = len(frames[table.name])
    if tp.context is not None and context in frames:
        out += _day_orders(schema, table, tp.context, frames, own, seconds_of)
    for path in sorted(paths(schema, plan, table, frames), key=len):
        end = _end(schema, path)
        if end == context:
            continue  # the context parent's times are relations.orders'
        bases = [b for b in time_columns(schema.table(end), frames[end]) if (end, b) not in covered]
        if not bases:
            continue
        pos = walk(schema, path, frames, n)
        if int((pos >= 0).sum()) < ex.MIN_NAMED:
            continue
        for b in bases:
            y = times_at(pos, seconds_of(end, b))
            found = False
            for col, x in own.items():
                day = _midnight(y) and not _midnight(x)
                op = ex.order_between(x, y, death=ex.ends_life(b, end), day=day)
                if op == "=":  # both bounds: the time of the row reached, where there is one
                    out += [ex.Reach(col, ">=", end, b, path), ex.Reach(col, "<=", end, b, path)]
                    found = True
                elif op is not None:
                    out.append(ex.Reach(col, op, end, b, path, day and op == "<="))
                    found = True
            if found:
                covered.add((end, b))
    return out


MATCH_TIGHTNESS = 0.05  # typical distance to the parent's time, as a share of the column's spread


def time_matches(
    schema: Schema,
    plan: Plan,
    table: Table,
    frames: dict[str, pd.DataFrame],
    own: dict[str, np.ndarray],
    seconds_of: Seconds,
) -> dict[str, tuple[str, str]]:
    """Per secondary foreign key, the (own time, parent time) pair that lie closest together: a
    drug exposure starts on the day of its visit. The visit is drawn among the person's visits
    after the row's dates, so without this the exposure named a visit years away (and its end,
    which must not be before the visit, was pushed there: supplies of 6 years). Sampling gives
    each group's parents to its rows in order of these times (assign.assign_secondary)."""
    out: dict[str, tuple[str, str]] = {}
    if not own:
        return out
    n = len(frames[table.name])
    spreads = {  # each column's 10-90% range: how close its parent's time must lie
        col: float(np.subtract(*np.percentile(x[~np.isnan(x)], [90, 10]))) if (~np.isnan(x)).any() else 0.0
        for col, x in own.items()
    }
    for fk in plan[table.name].secondary:
        end = fk.ref_table
        if end == table.name or end not in frames or plan[end].role != "data":
            continue
        pos = walk(schema, (("up", table.name, fk.name),), frames, n)
        best: tuple[float, str, str] | None = None
        for b in time_columns(schema.table(end), frames[end]):
            y = times_at(pos, seconds_of(end, b))
            for col, x in sorted(own.items()):
                both = ~np.isnan(x) & ~np.isnan(y)
                if int(both.sum()) < ex.MIN_SUPPORT or spreads[col] <= 0:
                    continue
                share = float(np.median(np.abs(x[both] - y[both]))) / spreads[col]
                if share <= MATCH_TIGHTNESS and (best is None or share < best[0]):
                    best = (share, col, b)
        if best is not None:
            out[fk.name] = (best[1], best[2])
    return out


def _day_orders(
    schema: Schema,
    table: Table,
    fk: ForeignKey,
    frames: dict[str, pd.DataFrame],
    own: dict[str, np.ndarray],
    seconds_of: Seconds,
) -> list[ex.Reach]:
    """'column on or before the parent's date' where the plain order fails only on that day: a
    discharge at 14:00 on the day of death. relations.orders compares instants, so it misses
    these; the others through the context parent are its."""
    path = (("up", table.name, fk.name),)
    pos = walk(schema, path, frames, len(frames[table.name]))
    if int((pos >= 0).sum()) < ex.MIN_NAMED:
        return []
    out = []
    for b in time_columns(schema.table(fk.ref_table), frames[fk.ref_table]):
        y = times_at(pos, seconds_of(fk.ref_table, b))
        if not _midnight(y):
            continue
        for col, x in own.items():
            both = ~np.isnan(x) & ~np.isnan(y)
            if _midnight(x) or not np.any(x[both] > y[both]):
                continue  # the plain order is relations.orders'
            if ex.order_between(x, y, death=ex.ends_life(b, fk.ref_table), day=True) == "<=":
                out.append(ex.Reach(col, "<=", fk.ref_table, b, path, True))
    return out


def _midnight(x: np.ndarray) -> bool:
    known = x[~np.isnan(x)]
    return bool(len(known)) and bool(np.all(np.mod(known, 86400.0) == 0))


def no_overlaps(
    table: Table,
    frame: pd.DataFrame,
    own: dict[str, np.ndarray],
    keys: list[str],
    codes_of: Callable[[str], np.ndarray],
) -> list[ex.NoOverlap]:
    """Pairs (start, end) of the table's times whose intervals never overlap for one key value.

    A time in a key or UNIQUE constraint is taken only where every such constraint also holds
    the interval's key (emp_no, from_date): placed intervals of one key never share a start or
    an end, so the constraint stays met; any other constraint could clash once times move."""
    if len(frame) < ex.MIN_SUPPORT:
        return []
    out: list[ex.NoOverlap] = []
    names = list(own)
    taken: set[str] = set()
    for s in names:
        for e in names:
            if s == e or s in taken or e in taken:
                continue
            for k in keys:
                if not (_kept_unique(table, s, k) and _kept_unique(table, e, k)):
                    continue
                if ex.never_overlap(codes_of(k), own[s], own[e]):
                    span = own[e] - own[s]
                    span = span[~np.isnan(span)]  # the durations sampled ones are kept within
                    shortest = float(max(span.min(), 0.0)) if len(span) else None
                    longest = float(span.max()) if len(span) else None
                    last_open = ex.last_open_share(codes_of(k), own[s], own[e])
                    out.append(ex.NoOverlap(s, e, k, shortest, longest, last_open))
                    taken.update((s, e))
                    break
    return out
