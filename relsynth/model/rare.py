"""Rare categories are never emitted as themselves.

A category seen in fewer than ``k`` rows, or (in a child table) for fewer than ``k`` distinct
parents, points at a handful of people: a rare birth year, the one patient of a specialty, a
postal code of one customer repeated on all their invoices. Such levels are left out of
everything a model stores and samples from (the copula's levels, dependency mappings, the
tables of conditional draws); their rows are folded into the column's common levels (numbers
into the nearest common value, other values drawn by frequency), so the fit still sees them.
A column with no common level at all is not a category: it is generated like text or numbers.

An enum's labels (the schema declares them) and booleans are public and kept; so are reference
tables, which are copied as lookup data by design. Folding only ever writes values the source
holds, so a CHECK that held there holds here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas._libs import lib

from relsynth.model.values import value_codes

RARE_K = 5  # the default threshold; `--rare-k` sets it (1 keeps every category)


def _key(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return v


def keys_of(values: Any) -> np.ndarray:
    """``[_key(v) for v in values]`` as an object array, each value looked at on its own only
    where pandas finds a NULL: a Python call per value was a fifth of diabetes130's fit."""
    return _keys_and_nones(values)[0]


def _keys_and_nones(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """keys_of(values), and where it holds None (a None or a float NaN of ``values``)."""
    dtype = getattr(values, "dtype", None)
    numpy_backed = isinstance(dtype, np.dtype) and dtype.kind in "biufcO"
    floats = isinstance(dtype, np.dtype) and dtype.kind == "f"
    if isinstance(values, np.ndarray) and values.dtype.kind == "O":
        out = values.copy()
    elif isinstance(values, pd.Series) and numpy_backed:  # Python scalars, as iterating gives
        out = values.to_numpy(dtype=object, copy=True)
    else:  # numpy scalars, datetimes, extension arrays, lists: as iterating gives them
        out = np.fromiter(iter(values), dtype=object, count=len(values))
    nones = pd.isna(out) if len(out) else np.zeros(0, dtype=bool)
    at = np.flatnonzero(nones)
    if len(at) and floats and isinstance(values, pd.Series):  # every NULL a float NaN
        out[at] = None
    elif len(at):  # NULLs other than None and a float NaN (NaT, NA, a Decimal NaN) stay themselves
        held = out[at]
        is_none = np.fromiter(
            (v is None or (isinstance(v, float) and np.isnan(v)) for v in held), dtype=bool, count=len(at)
        )
        nones[at[~is_none]] = False
        out[at[is_none]] = None
    return out, nones


def common_levels(values: pd.Series, parents: np.ndarray | None, k: int) -> set[Any]:
    """Non-NULL levels seen in at least k rows and, with ``parents`` (each row's parent position,
    -1 for none), for at least k distinct parents (rows without one count as their own)."""
    known = values.notna().to_numpy()
    if not known.any():
        return set()
    keys = pd.Series(values.to_numpy(dtype=object)[known])  # no NULL left for _key to fold
    rows = keys.value_counts()
    common = rows[rows >= k]
    if parents is None or not len(common):
        return set(common.index)
    pos = np.asarray(parents)[known]
    entity = persons(pos)
    distinct = pd.DataFrame({"v": keys.to_numpy(), "e": entity}).drop_duplicates().groupby("v").size()
    return {v for v in common.index if distinct.get(v, 0) >= k}


def known_levels(values: pd.Series) -> int:
    """``values.dropna().map(_key).nunique()`` without a Python call per value: _key leaves every
    non-NULL value as it is, and Series.map then converts the objects as
    lib.maybe_convert_objects does (ints and floats to float64, Timestamps to datetime64)."""
    known = values.dropna()
    dtype = known.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        return int(known.nunique())
    if isinstance(dtype, np.dtype) and dtype.kind == "O" and len(known):
        objects = known.to_numpy(dtype=object, copy=True)
        converted = lib.maybe_convert_objects(objects, convert_non_numeric=True)  # type: ignore[attr-defined]
        return int(pd.Series(converted).nunique())
    return int(known.map(_key).nunique())


def entities(frame: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """Each row's owner as a position (-1 for NULL), from the columns that identify it (a key into
    a parent left out of the run): what ``common_levels`` counts instead of parent rows."""
    if not len(frame):
        return np.zeros(0, dtype=np.int64)
    parts = frame[list(columns)]
    keyed = pd.Series(list(zip(*(parts[c].astype(str) for c in columns), strict=True)), dtype=object)
    codes = pd.factorize(keyed)[0].astype(np.int64)
    codes[parts.isna().any(axis=1).to_numpy()] = -1
    return codes


def null_held(values: pd.Series, people: np.ndarray | None, k: int) -> bool:
    """Whether k rows, and k people where rows have people, hold NULL in ``values``."""
    rows = values.isna().to_numpy()
    if rows.sum() < k:
        return False
    return people is None or len(np.unique(persons(np.asarray(people)[rows]))) >= k


def persons(people: np.ndarray) -> np.ndarray:
    """Each row's person; a row of no person (-1: a NULL key) is a person of its own."""
    people = np.asarray(people)
    return np.where(people >= 0, people, -1 - np.arange(len(people)))


def per_person(values: pd.Series, people: np.ndarray | None, k: int | None = None) -> pd.Series:
    """The values with each person's repeats of one value kept once (rows of no person all kept):
    quantiles of k values are then quantiles of k people's values, and a birth date on one
    patient's ten visits is no quantile of its own. With ``k``, a value k people or more hold
    keeps every row: it is nobody's, and the marginal is the rows' (the copula's scores are): a
    ledger line's debit is 0 on half the rows, but once per entry it was 0 on 39% of the values,
    and lines under their entry came out with a debit and a credit both set."""
    if people is None or not len(values):
        return values
    who = persons(people)
    keys = pd.DataFrame({"p": who, "v": value_codes(values)})
    firsts = ~keys.duplicated().to_numpy()
    if k is not None and k > 1 and not firsts.all():
        held = keys[firsts].groupby("v").size()
        firsts |= keys["v"].map(held).to_numpy() >= k
    return values[firsts]


def person_cap(counts: np.ndarray, k: int) -> int:
    """The most values (or rows) one person may count with: the largest c with c <= (the values
    left after capping every person at c) / k."""
    cap = int(counts.max())
    while cap > 1 and cap * k > np.minimum(counts, cap).sum():
        cap -= 1
    return cap


def per_person_capped(values: pd.Series, people: np.ndarray | None, k: int) -> pd.Series:
    """``per_person`` (with k), then no person above 1/k of the values: a patient with 40 readings among
    19 with one counts with 4 of them, spread over their range, so no quantile of k values is
    theirs alone. Row weights are otherwise kept (a patient's three visits count three times), so
    marginals stay the rows' (the ends: pull_in_tails, by values)."""
    if people is None or not len(values):
        return values
    who_all = persons(people)
    pairs = pd.DataFrame({"p": who_all, "v": value_codes(values)})
    firsts = ~pairs.duplicated().to_numpy()
    if k > 1 and not firsts.all():  # a value k people hold keeps its rows (per_person)
        firsts |= pairs["v"].map(pairs[firsts].groupby("v").size()).to_numpy() >= k
    kept, who = values[firsts], who_all[firsts]
    x = pd.to_numeric(kept, errors="coerce").to_numpy(dtype=float)
    codes = pd.factorize(who)[0]
    counts = np.bincount(codes)
    if len(counts) < k or k <= 1:
        return kept
    cap = person_cap(counts, k)
    keep = np.ones(len(kept), dtype=bool)
    if counts.max() > cap:  # spread each capped person's kept values over their range
        order = np.lexsort((np.nan_to_num(x, nan=np.inf), codes))
        sorted_codes = codes[order]
        starts = np.r_[0, np.flatnonzero(sorted_codes[1:] != sorted_codes[:-1]) + 1]
        rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
        size = counts[sorted_codes]
        bucket = np.floor(rank * cap / size)
        keep_sorted = (size <= cap) | (rank == np.floor((bucket + 0.5) * size / cap))
        keep = np.zeros(len(kept), dtype=bool)
        keep[order[keep_sorted]] = True
    # Then the ends of the k-th person (of the values each person still counts with).
    keep[keep] = ~_beyond_kth_people(x[keep], codes[keep], k)
    return kept[keep]


def _beyond_kth_people(x: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """Values past the k-th person's largest (smallest) one beyond the k - 1 that the ends, pulled
    in by values (transform.pull_in_tails), lower to it: three patients' nine readings of 777-779
    among readings below 83 were more than k values, so the ends kept them, in the model file and
    the output (attack round 23). Left out, not set to that person's value (k copies of it would
    seem held by k people); where fewer than k lie beyond, nothing is (no end is pulled twice)."""
    out = np.zeros(len(x), dtype=bool)
    known = ~np.isnan(x)
    if not known.any():
        return out
    # Each person's largest and smallest value (codes: pd.factorize's, from 0), without a groupby
    # per call: fit once per level of a category, it was a tenth of diabetes130's fit.
    c, v = codes[known], x[known]
    people = int(c.max()) + 1
    top = np.full(people, -np.inf)
    bottom = np.full(people, np.inf)
    np.maximum.at(top, c, v)
    np.minimum.at(bottom, c, v)
    held = np.bincount(c, minlength=people) > 0
    highs = np.sort(top[held])[::-1]
    lows = np.sort(bottom[held])
    if len(highs) < k:
        return out
    for beyond, nearest_first in (
        (np.flatnonzero(known & (x > highs[k - 1])), 1.0),
        (np.flatnonzero(known & (x < lows[k - 1])), -1.0),
    ):
        if len(beyond) >= k:  # keep the k - 1 nearest the end: pull_in_tails lowers them to it
            order = beyond[np.argsort(nearest_first * x[beyond], kind="stable")]
            out[order[k - 1 :]] = True
    return out


def common_pairs(
    determinant: pd.Series, target: pd.Series, people: np.ndarray | None, k: int
) -> set[tuple[Any, Any]]:
    """(determinant, target) pairs held by at least k rows and k people: a postcode with the one
    city of one person is that person's record, though each value alone is common."""
    # Keyed value by value: Series.map gives a float column back, its None keys as NaN, and a
    # (level, NaN) pair was then no (level, None) pair: a NaN of a NOT NULL float became a number.
    keys = [keys_of(s.to_numpy(dtype=object)) for s in (determinant, target)]
    pairs = pd.Series(list(zip(*keys, strict=True)), index=determinant.index, dtype=object)
    return common_levels(pairs, people, k)


def folded_targets(
    determinant: pd.Series,
    target: pd.Series,
    people: np.ndarray | None,
    k: int,
    common_pair: set[tuple[Any, Any]],
) -> dict[Any, float]:
    """The targets (NULL too) of the rows whose pair is rare, those k rows and k people of them
    hold, with their rows (no person above 1/k of them): by these filter_table draws a rare
    pair's rows among its determinant's other targets. Drawn by the targets' own counts, a target
    common in the table took most of them."""
    keys = [keys_of(s.to_numpy(dtype=object)) for s in (determinant, target)]
    rare = np.array([pair not in common_pair for pair in zip(*keys, strict=True)], dtype=bool)
    if not rare.any():
        return {}
    values = pd.Series(np.asarray(keys[1], dtype=object)[rare], dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    rows = np.bincount(codes, minlength=len(uniques))
    holders, weight = rows, np.ones(len(codes))
    if people is not None:
        who = persons(np.asarray(people)[rare])
        pairs = pd.DataFrame({"v": codes, "p": who}).drop_duplicates()
        holders = np.bincount(pairs["v"].to_numpy(), minlength=len(uniques))
        person = pd.factorize(who)[0]
        per = np.bincount(person)
        if len(per) >= k > 1:
            weight = np.minimum(1.0, person_cap(per, k) / per[person])
    counts = np.bincount(codes, weights=weight, minlength=len(uniques))
    return {_key(v): float(counts[i]) for i, v in enumerate(uniques) if rows[i] >= k and holders[i] >= k}


def fold(values: pd.Series, common: set[Any], rng: np.random.Generator) -> pd.Series:
    """The column with each rare non-NULL value replaced by a common one (numbers: the nearest;
    others: drawn by the common levels' frequencies). ``common`` must not be empty."""
    objects = values.to_numpy(dtype=object).copy()
    keys, nones = _keys_and_nones(objects)
    rare = _outside(keys, nones, common)
    if not rare.any():
        return values
    levels = sorted(common, key=str)
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in levels)
    if numeric:
        ordered = sorted(levels)
        grid = np.asarray(ordered, dtype=float)
        x = np.asarray([float(v) for v in keys[rare]])
        right = np.clip(np.searchsorted(grid, x), 0, len(grid) - 1)
        left = np.clip(right - 1, 0, len(grid) - 1)
        pick = np.where(np.abs(grid[left] - x) <= np.abs(grid[right] - x), left, right)
        chosen = [ordered[i] for i in pick]
    else:
        seen = pd.Series(keys[~rare & (keys != None)]).value_counts()  # noqa: E711
        counts = seen.reindex(levels).fillna(0).to_numpy(dtype=float) + 1.0
        chosen = [levels[i] for i in rng.choice(len(levels), size=int(rare.sum()), p=counts / counts.sum())]
    out = objects
    out[np.flatnonzero(rare)] = chosen
    return pd.Series(out, index=values.index, dtype=object)


def _outside(keys: np.ndarray, nones: np.ndarray, common: set[Any]) -> np.ndarray:
    """``[k is not None and k not in common for k in keys]``, each distinct key looked up once:
    pd.factorize merges keys as a set does (1, 1.0 and True); a NULL it finds other than None
    (NaT, NA) is looked up on its own."""
    try:
        codes, uniques = pd.factorize(keys, use_na_sentinel=True)
    except TypeError:  # unhashable keys (lists): the set says so, one at a time
        return np.array([k is not None and k not in common for k in keys], dtype=bool)
    inside = np.fromiter((u in common for u in uniques), dtype=bool, count=len(uniques))
    out = np.zeros(len(keys), dtype=bool)
    known = codes >= 0
    out[known] = ~inside[codes[known]]
    for i in np.flatnonzero(~known & ~nones):
        out[i] = keys[i] not in common
    return out


def filter_mapping(
    pairs: list[list[Any]] | None,
    common: set[Any] | None,
    common_target: set[Any] | None = None,
    rng: np.random.Generator | None = None,
    null_held: bool = True,
) -> list[list[Any]] | None:
    """A dependency's [[determinant, target], ...] without rare determinants, its rare targets
    folded into common ones (a target can be rare by parents where its determinant is not).
    ``null_held``: whether K people hold a NULL determinant; if not, its pair is left out too
    (three patients' NULL specialty, all in ward A, said so in the model file and the output)."""
    if pairs is None:
        return None
    kept = [
        list(p)
        for p in pairs
        if (_key(p[0]) is None and null_held)
        or (_key(p[0]) is not None and (common is None or _key(p[0]) in common))
    ]
    if common_target:
        targets = fold(
            pd.Series([p[1] for p in kept], dtype=object), common_target, rng or np.random.default_rng(0)
        )
        for p, t in zip(kept, targets, strict=True):
            p[1] = t
    return kept


def held_pairs(
    pairs: list[list[Any]] | None,
    determinant: pd.Series,
    target: pd.Series,
    people: np.ndarray | None,
    k: int,
) -> list[list[Any]] | None:
    """A dependency's pairs whose target value k people hold, or whose determinant level k people
    hold (then so do they its target); NULL targets stay. A level of a public column (a boolean, an
    enum label) is no one's, but the value it fixes is: OpenMRS' voided -> date_voided stored the
    date of the one voided obs row in the model file. Such a pair is left out (its rows' target
    is NULL), as filter_mapping leaves out a rare determinant."""
    if pairs is None:
        return None
    common_det = common_levels(determinant, people, k)
    common_target = common_levels(target, people, k)
    return [
        p
        for p in pairs
        if _key(p[1]) is None
        or p[1] is pd.NaT
        or (_key(p[0]) is not None and _key(p[0]) in common_det)
        or _key(p[1]) in common_target
    ]


def filter_table(
    table: dict[str, Any] | None,
    common_det: set[Any] | None,
    common_target: set[Any] | None,
    common_pair: set[tuple[Any, Any]] | None = None,
    rng: np.random.Generator | None = None,
    folded: dict[Any, float] | None = None,
) -> dict[str, Any] | None:
    """A conditional's counts without rare determinants, rare targets or rare pairs (NULL stays);
    with ``rng``, a rare pair's rows are folded into its determinant's other pairs, drawn as the
    ``folded`` targets (folded_targets) are."""
    if table is None:
        return None

    def ok(v: Any, common: set[Any] | None) -> bool:
        return common is None or _key(v) is None or _key(v) in common

    def kept(p: list[Any]) -> bool:
        return ok(p[1], common_target) and (common_pair is None or (_key(p[0]), _key(p[1])) in common_pair)

    tail = folded or {}
    marginal = [m for m in table["marginal"] if ok(m[0], common_target)]
    shares = {_key(b): float(k) for b, k in marginal}
    pairs: list[list[Any]] = []
    by_det: dict[Any, list[list[Any]]] = {}
    for p in table["pairs"]:
        if ok(p[0], common_det):
            by_det.setdefault(_key(p[0]), []).append(p)
    for group in by_det.values():
        keep = [list(p) for p in group if kept(p)]
        dropped = sum(int(p[2]) for p in group if not kept(p))
        if keep and dropped and rng is not None:
            # A rare pair's rows go to the determinant's other targets, drawn as all rare pairs'
            # rows are (folded_targets; else by the targets' own counts), and to NULL at its share
            # of those where common among them: neither the pair nor its rows can be told from
            # the counts that are stored, and a NULL held by fewer than k people with each of 90
            # determinants (9% of the rows) is still drawn.
            nulls = 0
            if None in tail and ok(None, common_target) and all(_key(p[1]) is not None for p in keep):
                nulls = int(dropped * tail[None] / sum(tail.values()) + rng.random())
            weight = np.array([tail.get(_key(p[1]), 0.0) for p in keep])
            if weight.sum() <= 0:
                weight = np.array([shares.get(_key(p[1]), 0.0) + 1e-12 for p in keep])
            for p, extra in zip(keep, rng.multinomial(dropped - nulls, weight / weight.sum()), strict=True):
                p[2] = int(p[2]) + int(extra)
            if nulls:
                keep.append([group[0][0], None, nulls])
        pairs.extend(keep)
    # The target's counts are the stored pairs' own: a marginal counted over every row, rare pairs
    # included, gave a rare pair back as the difference.
    total: dict[Any, int] = {}
    for _, b, k in pairs:
        total[_key(b)] = total.get(_key(b), 0) + int(k)
    marginal = [[b, total[_key(b)]] for b, _ in marginal if total.get(_key(b), 0) > 0] or marginal
    return {"pairs": pairs, "marginal": marginal or [[None, 1]]}


def holders(rows: np.ndarray, people: np.ndarray | None) -> int:
    """How many people hold the rows marked in ``rows`` (``people``: each row's, -1 for none, which
    count one each; None: the rows are their own people)."""
    marked = np.asarray(rows, dtype=bool)
    if people is None or len(people) != len(marked):
        return int(marked.sum())
    who = np.asarray(people)[marked]
    return int(len(np.unique(who[who >= 0])) + (who < 0).sum())
