"""Back-references in a cycle of two tables: a department's head works in that department.

departments.head_id -> employees and employees.dept_id -> departments form a cycle; the plan
breaks it by assigning one of the two keys after both tables are sampled (deferred). Drawn
independently, a head works anywhere (the source: 12 of 12 heads in their own department, the
output: 0 of 12). Where the source always points back, the deferred key is set to agree: the
head's department becomes the one they head, or a department's head is drawn among its own staff.
Where the source says so, that child is the parent's last one by a time or number (a
prescription's last dispensing: its latest fill), every parent with children points at one, and
a parent left without children points at none (its key NULL, as in the source).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from relsynth.model import exact as ex
from relsynth.schema import ForeignKey, Kind, Schema, Table

MIN_PAIRS = 5


@dataclass(frozen=True)
class BackRef:
    """Every row of ``fk``'s parent that points here through ``other`` is pointed back at:
    departments.head_id = e  =>  e.dept_id = that department (fk: employees.dept_id)."""

    fk: str
    other: str
    every: bool = False  # every row of the parent with children points at one of them
    last: str | None = None  # the child pointed at is the last by this column of the child's


def find(schema: Schema, frames: dict[str, pd.DataFrame], name: str) -> list[BackRef]:
    """The back-references the source of table ``name`` always keeps."""
    from relsynth.model.fit import positions

    table = schema.table(name)
    child = frames.get(name)
    if child is None or not len(child):
        return []
    out = []
    for fk in table.foreign_keys:
        if fk.ref_table == name or fk.ref_table not in frames or not len(frames[fk.ref_table]):
            continue
        parent = frames[fk.ref_table]
        for other in schema.table(fk.ref_table).foreign_keys:
            if other.ref_table != name:
                continue
            pointed = positions(parent, other.columns, child, other.ref_columns)  # parent row -> child row
            has = pointed >= 0
            if int(has.sum()) < MIN_PAIRS:
                continue
            back = positions(child, fk.columns, parent, fk.ref_columns)  # child row -> parent row
            wrong = int((back[pointed[has]] != np.flatnonzero(has)).sum())
            if wrong <= ex.allowed(int(has.sum())):
                with_children = np.zeros(len(parent), dtype=bool)
                with_children[back[back >= 0]] = True
                silent = int((with_children & ~has).sum())  # parents with children pointing at none
                every = silent <= ex.allowed(int(with_children.sum()))
                out.append(BackRef(fk.name, other.name, every, _last_by(table, child, back, pointed, has)))
    return out


def _order_values(child: pd.DataFrame, column: str) -> np.ndarray | None:
    """The column as floats (times as seconds), or None if it is not numbers or times. Sampled
    times are Python datetimes (objects) until written."""
    import datetime as dt

    from relsynth.model.exact_fit import seconds
    from relsynth.model.relations import comparable

    values = comparable(child[column])
    if values.dtype != object:
        return values.to_numpy(dtype=float)
    known = child[column].dropna()
    if len(known) and all(isinstance(v, dt.date) for v in known.head(100)):
        try:
            return seconds(child[column], False)
        except (TypeError, ValueError):
            return None
    return None


def _last_by(
    table: Table, child: pd.DataFrame, back: np.ndarray, pointed: np.ndarray, has: np.ndarray
) -> str | None:
    """The child column (a time first, then a number not in a key) by which the child each
    parent points at is its last child, but for the tolerated few; None if none is. Parents
    with two or more children must be MIN_PAIRS at least, or any column would do."""
    from relsynth.model.exact_fit import protected

    counts = np.bincount(back[back >= 0], minlength=len(has))
    several = has & (counts >= 2)
    if int(several.sum()) < MIN_PAIRS:
        return None
    keys = protected(table) | table.fk_columns()
    times = [c.name for c in table.columns if c.kind is Kind.DATETIME and c.type.name != "time"]
    numbers = [c.name for c in table.columns if c.kind is Kind.NUMERICAL and c.name not in keys]
    for name in [*times, *numbers]:
        if name not in child:
            continue
        values = _order_values(child, name)
        if values is None:
            continue
        mine = values[pointed[several]]
        most = _group_max(back, values, len(has))[several]
        wrong = int((np.isnan(mine) | (mine < most)).sum())
        if wrong <= ex.allowed(int(several.sum())):
            return name
    return None


def _group_max(back: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per parent row, the largest known value of its children (-inf if none)."""
    out = np.full(n, -np.inf)
    ok = (back >= 0) & ~np.isnan(values)
    np.maximum.at(out, back[ok], values[ok])
    return out


def apply(
    schema: Schema,
    deferred: dict[str, tuple[ForeignKey, ...]],
    frames: dict[str, pd.DataFrame],
    refs: dict[str, list[BackRef]],
    rng: np.random.Generator,
) -> int:
    """Set the deferred side of each back-reference to agree; returns the rows it could not."""
    from relsynth.model.fit import positions

    missed = 0
    for name, found in refs.items():
        table = schema.table(name)
        for ref in found:
            fk = next(f for f in table.foreign_keys if f.name == ref.fk)
            parent_table = schema.table(fk.ref_table)
            other = next(f for f in parent_table.foreign_keys if f.name == ref.other)
            child, parent = frames.get(name), frames.get(fk.ref_table)
            if child is None or parent is None or not len(child) or not len(parent):
                continue
            pointed = positions(parent, other.columns, child, other.ref_columns)
            if fk in deferred.get(name, ()) and _free(table, fk.columns):
                # The child's key follows the parent that points at it (a head's department).
                rows = np.flatnonzero(pointed >= 0)
                for col, ref_col in zip(fk.columns, fk.ref_columns, strict=True):
                    values = child[col].astype(object).to_numpy(copy=True)
                    values[pointed[rows]] = parent[ref_col].astype(object).to_numpy()[rows]
                    child[col] = _typed(values, child[col])
            elif other in deferred.get(fk.ref_table, ()) and _free(parent_table, other.columns):
                # The parent points at one of its own children (a head among the staff), its last
                # where the source's is; none where it has none: drawn apart from the children,
                # 971 of 12,000 prescriptions named another one's dispensing (attack round 41).
                back = positions(child, fk.columns, parent, fk.ref_columns)
                staff = pd.Series(np.arange(len(child))).groupby(back).indices
                last = _lasts(child, back, len(parent), ref.last)
                nullable = all(parent_table.column(c).nullable for c in other.columns)
                pick = pointed.copy()
                for p in range(len(parent)):
                    if pointed[p] < 0 and not (ref.every and p in staff):
                        continue
                    if p not in staff:
                        if nullable:
                            pick[p] = -1
                        else:
                            missed += 1
                        continue
                    if last is not None and last[p] >= 0:
                        pick[p] = last[p]
                    elif pointed[p] < 0 or back[pointed[p]] != p:
                        pick[p] = rng.choice(staff[p])
                moved = np.flatnonzero(pick != pointed)
                for col, ref_col in zip(other.columns, other.ref_columns, strict=True):
                    values = parent[col].astype(object).to_numpy(copy=True)
                    refs_at = child[ref_col].astype(object).to_numpy()
                    values[moved] = [None if k < 0 else refs_at[k] for k in pick[moved]]
                    parent[col] = _typed(values, parent[col])
    return missed


def _lasts(child: pd.DataFrame, back: np.ndarray, n: int, column: str | None) -> np.ndarray | None:
    """Per parent row, its child with the largest ``column`` (the first of equals; -1: none)."""
    if column is None or column not in child:
        return None
    values = _order_values(child, column)
    if values is None:
        return None
    out = np.full(n, -1, dtype=np.int64)
    ok = np.flatnonzero((back >= 0) & ~np.isnan(values))
    # Children by parent, then value descending, then row: each parent's first is its last child.
    order = ok[np.lexsort((ok, -values[ok], back[ok]))]
    first = np.r_[True, back[order][1:] != back[order][:-1]]
    out[back[order][first]] = order[first]
    return out


def _free(table: Table, cols: tuple[str, ...]) -> bool:
    """May these columns be changed: in no key, UNIQUE or CHECK (a clash or a violation would follow)?"""
    from relsynth.model import checks as ck
    from relsynth.model.exact_fit import protected

    if set(cols) & protected(table):
        return False
    for check in table.checks:
        try:
            if set(cols) & ck.columns_of(ck.parse(check.sql, table.sql_dialect)):
                return False
        except ck.NotInterpretable:
            return False
    return True


def _typed(values: np.ndarray, like: pd.Series) -> Any:
    """Values back in the column's dtype where it holds them (integers stay integers)."""
    try:
        return pd.Series(values, index=like.index).astype(like.dtype)
    except (TypeError, ValueError):
        return pd.Series(values, index=like.index)
