"""Laws a table's self-references hold in the source on every row, learned and kept in the output.

A forest (keys.Forest) gives each self-reference the source's depth profile, but who the parent is
was drawn blind to the rows' values: a mother could be male, born after her child, the father of
the same child, or there without a father. Learned here, for single-column self-references:

- a value every referenced row holds (a mother's sex F) where chance would not give it;
- the least time between a row and the row it names by the order it follows (a parent born 18
  years before the child at least: keys.following finds the order, this the margin, as the K-th
  smallest gap: no one pair's);
- two self-references that never name the same row (mother_id <> father_id);
- two self-references NULL on the same rows (both parents known, or neither).

A self-reference inside each context parent (a visit naming the same person's visit before) is
left to its forest, which draws within the group.

``keep`` then draws again the parents that break one, from the rows that fit (or leaves the row a
root, NULL, where none does and the column may be NULL).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from relsynth.model.keys import MIN_ORDERED_LINKS, RARE_K, Forest

MAX_LEVELS = 20  # values a column may have to be a category a referenced row must hold
CHANCE = 1e-3  # how unlikely by chance the referenced rows all sharing a value must be
WINDOW = 0.1  # share of the times' 10-90% spread the gaps' window must span to be kept
TRIES = 4  # draws a row gets to find a parent another self-reference does not name


def _positions(keys: pd.Series, refs: pd.Series) -> np.ndarray:
    from relsynth.model.relations import key_rows

    return np.asarray(key_rows(pd.Index(list(keys)), pd.Index(list(refs))), dtype=np.int64)


def _parents(frame: pd.DataFrame, fk: Any) -> np.ndarray:
    """Each row's parent position (-1 none or not found, the row itself a self-loop)."""
    from relsynth.model.relations import comparable

    c, r = fk.columns[0], fk.ref_columns[0]
    pos = _positions(comparable(frame[r]), comparable(frame[c]))
    pos[frame[c].isna().to_numpy()] = -1
    return pos


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def fit(
    table: Any,
    frame: pd.DataFrame,
    fks: tuple[Any, ...],
    forests: dict[str, Forest],
    times: dict[str, np.ndarray],
) -> None:
    """Store on each single-column self-reference's forest the laws above the source holds."""
    from relsynth.model.relations import comparable

    singles = [fk for fk in fks if len(fk.columns) == 1 and fk.name in forests]
    if not singles or not len(frame):
        return
    keyed = set(table.primary_key) | {c for f in table.foreign_keys for c in f.columns}
    categories: dict[str, pd.Series] = {}
    for col in table.columns:
        if col.name in keyed or col.name not in frame:
            continue
        values = comparable(frame[col.name])
        known = values.dropna()
        plain = len(known) and known.map(lambda v: isinstance(v, str | bool | float | int)).all()
        if plain and 2 <= known.nunique() <= MAX_LEVELS:
            categories[col.name] = values
    parents = {fk.name: _parents(frame, fk) for fk in singles}
    own = np.arange(len(frame))
    for fk in singles:
        forest, up = forests[fk.name], parents[fk.name]
        if forest.within_group:  # a chain inside each context parent (a person's visits): left to it
            continue
        linked = (up >= 0) & (up != own)
        targets = np.unique(up[linked])
        if len(targets) >= MIN_ORDERED_LINKS:
            for name, values in categories.items():
                held = values.iloc[targets]
                if held.isna().any() or held.nunique() != 1:
                    continue
                value = held.iloc[0]
                share = float((values == value).mean())
                if share < 1.0 and share ** len(targets) < CHANCE:
                    forest.target_values.append([name, _plain(value)])
        if forest.order_by is not None and forest.order_by in times and linked.sum() >= MIN_ORDERED_LINKS:
            t = times[forest.order_by]
            gap = t[linked] - t[up[linked]]
            gap = gap[~np.isnan(gap)]
            gap = np.sort(gap)
            least = gap[RARE_K - 1] if len(gap) >= MIN_ORDERED_LINKS else 0.0
            widest = gap[-RARE_K] if len(gap) >= MIN_ORDERED_LINKS else 0.0
            known = t[~np.isnan(t)]
            spread = float(np.subtract(*np.percentile(known, [90, 10]))) if len(known) else 0.0
            # The K-th smallest and widest (a spread's extremes pulled in: no one row's), where
            # they leave a window rows can be found in: a reflex test two hours after its order,
            # always, is a time drawn from the parent's, not a parent drawn in a window.
            if least > 0 and widest - least >= WINDOW * spread:
                forest.min_gap = float(least)
                forest.max_gap = float(widest)  # a mother of 157 where none was 72
        for other in singles:
            if other.name == fk.name:
                continue
            o = parents[other.name]
            both = (up >= 0) & (o >= 0)
            if both.sum() >= MIN_ORDERED_LINKS and not (up[both] == o[both]).any():
                forest.distinct_from.append(other.name)
            a, b = frame[fk.columns[0]].isna().to_numpy(), frame[other.columns[0]].isna().to_numpy()
            if a.any() and (~a).sum() >= MIN_ORDERED_LINKS and (a == b).all():
                forest.null_with.append(other.name)


def _fits(forest: Forest, categories: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Rows that may be named at all (hold every value referenced rows must hold)."""
    ok = np.ones(n, dtype=bool)
    for name, value in forest.target_values:
        ok &= categories[name] == value
    return ok


def _draw(
    up: np.ndarray,
    rows: np.ndarray,
    pool: np.ndarray,
    when: np.ndarray | None,
    t: np.ndarray | None,
    gap: float,
    widest: float,
    avoid: list[np.ndarray],
    nullable: bool,
    rng: np.random.Generator,
) -> int:
    """Each of ``rows`` given a parent drawn from ``pool`` (sorted by ``when``, the pool's times)
    no later than its own time less ``gap``, no earlier than less ``widest``, and no row another
    self-reference names for it; a row none fits is left a root where it may be NULL. How many
    were left roots."""
    if when is not None and t is not None:
        limit = np.where(np.isnan(t[rows]), np.inf, t[rows] - gap)
        ready = np.searchsorted(when, limit, side="right")
        first = np.searchsorted(when, np.where(np.isnan(t[rows]), -np.inf, t[rows] - widest), side="left")
    else:
        ready = np.full(len(rows), len(pool))
        first = np.zeros(len(rows), dtype=np.int64)
    lost = 0
    for row, start, upto in zip(rows.tolist(), first.tolist(), ready.tolist(), strict=True):
        chosen = -1
        if upto > start:
            for _ in range(TRIES):
                cand = int(pool[int(rng.integers(start, upto))])
                if cand != row and all(a[row] != cand for a in avoid) and not _below(up, cand, row):
                    chosen = cand
                    break
        if chosen >= 0 or nullable:
            lost += chosen < 0
            up[row] = chosen
        elif up[row] == -2:
            up[row] = -1
    return lost


def _below(up: np.ndarray, cand: int, row: int) -> bool:
    """Whether ``cand`` is ``row`` or one of its descendants (its chain of parents reaches it):
    naming it would close a loop. A parent drawn again among every lawful row, with no time to
    order them, made 299 of 300 AdventureWorks employees' manager chains loops (attack a45a).
    A chain longer than any walk allowed counts as a loop too."""
    c = cand
    for _ in range(WALK):
        if c == row:
            return True
        nxt = int(up[c])
        if nxt < 0 or nxt == c:
            return False
        c = nxt
    return True


WALK = 100_000  # parents followed up from a candidate before it is taken for a loop


def keep(
    table: Any,
    frame: pd.DataFrame,
    fks: tuple[Any, ...],
    forests: dict[str, Forest],
    rng: np.random.Generator,
) -> int:
    """Parents that break a law their self-reference holds in the source, drawn again (in place);
    how many rows changed."""
    from relsynth.model.exact_fit import seconds
    from relsynth.model.relations import comparable
    from relsynth.sqltypes import STRING_TYPES

    singles = [fk for fk in fks if len(fk.columns) == 1 and fk.name in forests and fk.columns[0] in frame]
    lawful = [
        fk
        for fk in singles
        if not forests[fk.name].within_group
        and (
            forests[fk.name].target_values
            or forests[fk.name].min_gap is not None
            or forests[fk.name].distinct_from
            or forests[fk.name].null_with
        )
    ]
    n = len(frame)
    if not lawful or not n:
        return 0
    categories = {}
    for fk in lawful:
        for name, _ in forests[fk.name].target_values:
            if name in frame and name not in categories:
                categories[name] = comparable(frame[name]).to_numpy(dtype=object)
    names = {fk.name: fk for fk in singles}
    parents = {fk.name: _parents(frame, fk) for fk in singles}
    before = {k: v.copy() for k, v in parents.items()}
    own = np.arange(n)
    # NULL together: the first of a group decides which rows are linked (its share is the source's).
    for fk in lawful:
        for other in forests[fk.name].null_with:
            if other not in names or not table.column(names[other].columns[0]).nullable:
                continue
            if list(names).index(other) < list(names).index(fk.name):
                continue
            linked = parents[fk.name] >= 0
            o = parents[other]
            o[~linked] = -1
            o[linked & (o < 0)] = -2  # wants a parent
    for fk in lawful:
        forest = forests[fk.name]
        if any(name not in categories for name, _ in forest.target_values):
            continue
        up = parents[fk.name]
        t = None
        if forest.order_by is not None and forest.order_by in frame:
            column = table.column(forest.order_by)
            t = seconds(frame[forest.order_by], column.type.name in STRING_TYPES)
        allowed = _fits(forest, categories, n)
        gap = forest.min_gap or 0.0
        widest = forest.max_gap if forest.max_gap is not None else np.inf
        avoid = [parents[o] for o in forest.distinct_from if o in parents and o != fk.name]
        wants = up == -2
        linked = (up >= 0) & (up != own)
        bad = linked & ~allowed[np.maximum(up, 0)]
        if t is not None and forest.min_gap is not None:
            bad |= linked & (t < t[np.maximum(up, 0)] + gap)  # NaN compares False: unknown is fine
            bad |= linked & (t > t[np.maximum(up, 0)] + widest)
        for a in avoid:
            bad |= linked & (up == a)
        redo = np.flatnonzero(bad | wants)
        if not len(redo):
            continue
        # Places: the parents the forest drew that may be named (one per child, so busy parents
        # stay busy), else every row that may be.
        pool = up[linked & allowed[np.maximum(up, 0)]]
        if not len(pool):
            pool = np.flatnonzero(allowed)
        when = None
        if t is not None:
            when = np.nan_to_num(t[pool], nan=-np.inf)
            sort = np.lexsort((pool, when))
            pool, when = pool[sort], when[sort]
        nullable = table.column(fk.columns[0]).nullable
        lost = _draw(up, redo, pool, when, t, gap, widest, avoid, nullable, rng)
        if t is not None and lost:
            # Rows left without a parent (born before anyone could be their mother) hand their
            # link to the latest roots, so the source's share of rows with a parent stays.
            roots = np.flatnonzero((up == -1) & ~np.isnan(t) & (before[fk.name] == -1))
            roots = roots[np.lexsort((roots, -t[roots]))][:lost]
            _draw(up, roots, pool, when, t, gap, widest, avoid, nullable, rng)
            got = roots[up[roots] >= 0]
            for other in forest.null_with:
                if other in parents and list(names).index(other) > list(names).index(fk.name):
                    o = parents[other]
                    o[got[o[got] < 0]] = -2
    # NULL together, again: a row left without one parent is left without the other.
    for fk in lawful:
        for other in forests[fk.name].null_with:
            if other not in names:
                continue
            both = [fk.columns[0], names[other].columns[0]]
            if all(table.column(c).nullable for c in both):
                none = (parents[fk.name] < 0) | (parents[other] < 0)
                parents[fk.name][none] = -1
                parents[other][none] = -1
    changed = 0
    for name, up in parents.items():
        fk = names[name]
        moved = np.flatnonzero(up != before[name])
        if not len(moved):
            continue
        changed += len(moved)
        c, r = fk.columns[0], fk.ref_columns[0]
        values = frame[c].to_numpy(dtype=object, copy=True)
        ref = frame[r].to_numpy(dtype=object)
        values[moved] = np.where(up[moved] >= 0, ref[np.maximum(up[moved], 0)], None)
        dtype = frame[c].dtype
        fixed = pd.Series(values, index=frame.index, dtype=object)
        frame[c] = fixed if dtype.kind == "O" else fixed.astype(dtype)
    return changed
