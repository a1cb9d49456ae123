"""Marginals of the values model/natives.py and model/geometry.py generate: numbers as smoothed
quantiles, categories as [value, count] levels. Plain JSON, so a model file needs no pickle."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from relsynth.model.rare import per_person_capped
from relsynth.transform import Continuous, blur_quantiles, decimals_of, nobodys, pull_in_tails, quantile_knots

KNOTS = 201
MAX_LEVELS = 30  # a JSON string or number with at most this many values, each seen often, is a code
MIN_SUPPORT = 5


# -- numbers: quantiles, smoothed by their local spacing ---------------------------------------------
def quantiles(x: np.ndarray) -> dict[str, Any]:
    x = np.sort(np.asarray(x, dtype=float)[np.isfinite(np.asarray(x, dtype=float))])
    if not len(x):
        return {"knots": [0.0, 1.0], "decimals": 3, "integer": False}
    raw = x
    x = pull_in_tails(x, MIN_SUPPORT)  # no knot at one row's extreme value
    # A knot per MIN_SUPPORT values, each moved off any one row's value, as a column's own
    # (transform.Continuous.fit): a range's lower bounds and lengths had a knot per row (every
    # stay's start and length in the model file, when fewer than KNOTS rows).
    count = min(KNOTS, len(x), max(2, -(-len(x) // MIN_SUPPORT)))
    knots = quantile_knots(x, count)  # without overflow between +-1.8e308
    integer = bool(np.all(x == np.round(x)))
    decimals = 0 if integer else decimals_of(x, cap=6)
    knots = nobodys(knots, raw, MIN_SUPPORT, decimals)
    return {"knots": [float(v) for v in knots], "decimals": decimals, "integer": integer}


def learned(x: np.ndarray, people: np.ndarray | None = None, k: int = MIN_SUPPORT) -> dict[str, Any]:
    """Quantiles as the copula learns a DOUBLE column's (fit.py's _number_encoder): of k people's
    values each (``people``: each value's person, -1 for none), a knot per k values, the ends pulled
    in to the k-th value and moved off any one row's value. A point's x was one knot per row, the
    source's extremes exact: 108 of 120 coordinates of a 60-row POINT column in the model file."""
    x = np.asarray(x, dtype=float)
    finite = np.isfinite(x)
    values = pd.Series(x[finite])
    if people is not None and len(people) == len(x):
        values = per_person_capped(values, np.asarray(people)[finite], k)
    kept = values.to_numpy(dtype=float)
    integer = bool(len(kept)) and bool(np.all(np.abs(kept - np.round(kept)) < 1e-9))
    enc = Continuous.fit(kept, integer=integer, tail=k)
    return {"knots": [float(v) for v in enc.knots], "decimals": enc.decimals, "integer": enc.integer}


def draw(q: dict[str, Any], u: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Values at probabilities u: between the source's quantiles, moved by half their local spacing
    (finite and within the knots, however large they are)."""
    return blur_quantiles(np.asarray(q["knots"], dtype=float), u, rng, int(q["decimals"]))


def choice(levels: list[list[Any]], n: int, rng: np.random.Generator) -> list[Any]:
    """n draws from [[value, count], ...]."""
    counts = np.asarray([c for _, c in levels], dtype=float)
    picks = rng.choice(len(levels), size=n, p=counts / counts.sum())
    return [levels[i][0] for i in picks]


def levels(values: list[Any]) -> list[list[Any]]:
    counts = Counter(values)
    return [[v, c] for v, c in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))]


def coded(values: list[Any]) -> bool:
    """Few distinct values, each seen often: a code list, whose values are kept as they are."""
    counts = Counter(values)
    return 0 < len(counts) <= MAX_LEVELS and min(counts.values()) >= MIN_SUPPORT


def common_levels(
    values: list[Any], holders: list[int] | None = None, k: int = 1, limit: int = MAX_LEVELS
) -> list[list[Any]]:
    """[value, count] of the values seen at least MIN_SUPPORT times and, given each value's holder
    (its person, or -1 - row for none), held by k people at least: the commonest ``limit`` of them.
    A rare value is none of them, whatever the other values are (one patient's city among 5,000
    documents' four common ones does not make the others rare too)."""
    counts = Counter(values)
    people: dict[Any, set[int]] = {}
    if holders is not None:
        for v, who in zip(values, holders, strict=True):
            people.setdefault(v, set()).add(who)
    kept = [
        [v, c]
        for v, c in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
        if c >= MIN_SUPPORT and (holders is None or len(people[v]) >= max(k, 1))
    ]
    return kept[:limit]
