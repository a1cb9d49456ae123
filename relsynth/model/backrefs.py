"""Back-references in a cycle of two tables: a department's head works in that department.

departments.head_id -> employees and employees.dept_id -> departments form a cycle; the plan
breaks it by assigning one of the two keys after both tables are sampled (deferred). Drawn
independently, a head works anywhere (the source: 12 of 12 heads in their own department, the
output: 0 of 12). Where the source always points back, the deferred key is set to agree: the
head's department becomes the one they head, or a department's head is drawn among its own staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from relsynth.model import exact as ex
from relsynth.schema import ForeignKey, Schema, Table

MIN_PAIRS = 5


@dataclass(frozen=True)
class BackRef:
    """Every row of ``fk``'s parent that points here through ``other`` is pointed back at:
    departments.head_id = e  =>  e.dept_id = that department (fk: employees.dept_id)."""

    fk: str
    other: str


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
                out.append(BackRef(fk.name, other.name))
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
                # The parent points at one of its own children (a head among the staff).
                back = positions(child, fk.columns, parent, fk.ref_columns)
                staff = pd.Series(np.arange(len(child))).groupby(back).indices
                pick = pointed.copy()
                for p in np.flatnonzero(pointed >= 0):
                    if back[pointed[p]] == p:
                        continue
                    if p not in staff:
                        missed += 1
                        continue
                    pick[p] = rng.choice(staff[p])
                moved = np.flatnonzero(pick != pointed)
                for col, ref_col in zip(other.columns, other.ref_columns, strict=True):
                    values = parent[col].astype(object).to_numpy(copy=True)
                    values[moved] = child[ref_col].astype(object).to_numpy()[pick[moved]]
                    parent[col] = _typed(values, parent[col])
    return missed


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
