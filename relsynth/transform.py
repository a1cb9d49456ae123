"""Reversible column encoders: values <-> standard-normal scores for the Gaussian copula.

Each encoder learns a column's exact domain (levels, bounds, decimals, resolution, format) and
maps values to normal scores and back. Their fitted state is plain JSON plus numpy arrays, so a
model file never needs pickle. (rdt's transformers keep their state as Python objects that can
only be pickled, which is why these small encoders exist.)

Null values are not seen here: the table model gives nullable columns a separate null dimension.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from relsynth.jsontags import jsonable, unjson

# Columns with at most this many distinct values, each seen often, are modelled as categories.
MAX_DISCRETE_LEVELS = 30
MIN_DISCRETE_SUPPORT = 5
N_KNOTS = 1001
_EPS = 1e-9


def to_normal(u: np.ndarray) -> np.ndarray:
    return ndtri(np.clip(u, _EPS, 1 - _EPS))


def to_uniform(z: np.ndarray) -> np.ndarray:
    return ndtr(z)


def tie_bounds(x: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.searchsorted(sx, x, side="left")`` and ``side="right"`` for sx = x[order] (x sorted):
    where each value's run of equal values (NaNs one run, last) starts and ends. Read off the
    runs, not searched for: a search per value misses the cache at every step (a tenth of TPC-H
    SF 0.1's fit)."""
    n = len(x)
    sx = x[order]
    if x.dtype.kind not in "fiub" or n == 0:
        return np.searchsorted(sx, x, side="left"), np.searchsorted(sx, x, side="right")
    new = np.empty(n, dtype=bool)
    new[0] = True
    if x.dtype.kind == "f":
        nan = np.isnan(sx)
        new[1:] = (sx[1:] != sx[:-1]) & ~(nan[1:] & nan[:-1])
    else:
        new[1:] = sx[1:] != sx[:-1]
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n)
    run = np.cumsum(new) - 1
    first = np.empty(n, dtype=np.intp)
    last = np.empty(n, dtype=np.intp)
    first[order] = starts[run]
    last[order] = ends[run]
    return first, last


def interval_mean(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """E[Z | lo < Phi(Z) < hi] for a standard normal Z: the score of a block of tied values."""
    from scipy.stats import norm

    a = ndtri(np.clip(lo, 0, 1))
    b = ndtri(np.clip(hi, 0, 1))
    width = np.maximum(hi - lo, 1e-12)
    out = (norm.pdf(a) - norm.pdf(b)) / width
    point = (hi - lo) < 1e-9
    out[point] = to_normal((lo[point] + hi[point]) / 2)
    return out


def rank_normalize(z: np.ndarray, rng: np.random.Generator, exact: list[bool] | None = None) -> np.ndarray:
    """Map each column by rank onto n sorted uniform draws: a standard normal marginal, the
    dependence kept.

    Sampled copula scores are re-standardized this way before decoding, so no column drifts from
    its marginal. The draws are random, not the n exact quantiles: those would give back every
    level's source count exactly at scale 1 (counts are sampled, not copied). Columns marked
    ``exact`` (children per parent) take the exact quantiles: each table keeps its row count.
    """
    n = z.shape[0]
    if n == 0:
        return z
    out = np.empty_like(z)
    for j in range(z.shape[1]):
        # Not stable: ties (a degenerate score) take an order fixed by the input, twice as fast.
        order = np.argsort(z[:, j])
        u = (np.arange(n) + rng.random(n)) / n if exact is not None and exact[j] else np.sort(rng.random(n))
        column = np.empty(n)
        column[order] = to_normal(u)  # the k-th smallest score takes the k-th smallest draw
        out[:, j] = column
    return out


def _py(value: Any) -> Any:
    """numpy/Decimal scalars -> JSON-ready Python values."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Decimal):
        return float(value)
    return value


# Floats at or above 2^52 are whole numbers: rounding them to decimals changes nothing, and scaling
# them by 10^d (as np.round does) could overflow to inf near the double's limit (1.8e308).
_WHOLE = 2.0**52


def decimals_of(values: np.ndarray, cap: int = 10) -> int:
    """How many decimals the values use (0 for integers), looking at a sample: as many as a double
    tells apart (about 13 significant digits; a DECIMAL(18,8)'s 686.74016512 keeps its 8), or, for
    values a 4-byte REAL holds exactly, as many as it does (about 7: 0.1 read as 0.10000000149).
    The sample is spread over the distinct values: the first 2,000 of sorted amounts were all 0
    where half the rows hold it (a ledger's debit beside its credit), and cents came back whole."""
    distinct = np.unique(np.asarray(values, dtype=float))
    sample = distinct[np.linspace(0, len(distinct) - 1, min(len(distinct), 2000)).astype(np.int64)]
    sample = sample[np.abs(sample) < _WHOLE]  # larger (and non-finite) values have no decimals
    with np.errstate(over="ignore", invalid="ignore"):
        single = bool(len(sample)) and bool(np.all(sample.astype(np.float32).astype(float) == sample))
    relative = 1e-6 if single else 1e-13  # a double's noise (254.49000000000004) is about 1e-16
    for d in range(cap + 1):
        scaled = sample * 10**d
        if np.all(np.abs(scaled - np.round(scaled)) < np.maximum(1e-6, relative * np.abs(scaled))):
            return d
    return cap


def round_safe(x: np.ndarray, decimals: int) -> np.ndarray:
    """np.round without its overflow: values too large to have decimals are kept as they are."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < _WHOLE
    return np.where(small, np.round(np.where(small, x, 0.0), decimals), x)


def headroom(values: np.ndarray) -> float:
    """A power of two to divide values by so that differences and blurs of them stay finite: the
    difference of two doubles near +-1.8e308 is inf, and inf - inf is NaN. Dividing by a power of
    two is exact (save for values near 1e-308, which may lose low bits)."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    top = float(np.max(np.abs(finite))) if len(finite) else 0.0
    if top <= 2.0**1000:
        return 1.0
    return float(2.0 ** (math.frexp(top)[1] - 1000))


def pull_in_tails(x: np.ndarray, k: int) -> np.ndarray:
    """Sorted x with its k - 1 smallest values raised to the k-th smallest and its k - 1 largest
    lowered to the k-th largest: the oldest patient's exact age or the largest bill is no knot
    of a model and never comes back; at least k source rows lie at or beyond every extreme kept.
    (Fewer than 2k rows: each moved halfway to the mean instead.)"""
    if k <= 1 or not len(x):
        return x
    if len(x) < 2 * k:
        # Too few rows for k at each end (9 drugs): every value halfway to their mean, so no knot is
        # a row's value (nor a median of 5, which is one) and the order and half the spread stay.
        mean = float(np.mean(x))
        return mean + (np.asarray(x, dtype=float) - mean) / 2
    out = np.array(x, dtype=float)
    out[: k - 1] = out[k - 1]
    out[len(out) - k + 1 :] = out[len(out) - k]
    return out


def decade_span(x: np.ndarray, *, years: bool = False) -> np.ndarray:
    """For a column of fewer than k values (a one-row table's number): no value is shared by k
    rows, so none may come out, nor their mean; only their order of magnitude does. The decade
    around them, [10^d, 10^(d+1)] (32 -> [10, 100]; negatives mirrored; both signs -> [-10^(d+1),
    10^(d+1)]), as the two ends of a uniform draw.

    ``years`` (a YEAR column, a release_year): the calendar decade of their mean, as for dates
    (2005, 2008, 2015 -> 2000..2009); their order of magnitude was 1000..10000, years a YEAR
    column (1901..2155) does not hold."""
    finite = np.asarray(x, dtype=float)
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        return np.zeros(1)
    if years:
        start = math.floor(float(np.mean(finite)) / 10) * 10
        end = start + 9
        newest = NEWEST.get()
        if newest is not None:  # years gone by (a store opened): none past the source's newest time
            year = dt.datetime.fromtimestamp(newest, dt.UTC).year
            if finite.max() <= year:
                end = max(min(end, year), start)
        return np.array([float(start), float(end)])
    top = float(np.max(np.abs(finite)))
    if top == 0:
        return np.array([0.0, 1.0])
    low = 10.0 ** math.floor(math.log10(top))
    if finite.min() >= 0:
        return np.array([low if finite.min() >= low else 0.0, 10 * low])
    if finite.max() <= 0:
        return np.array([-10 * low, -low if finite.max() <= -low else 0.0])
    return np.array([-10 * low, 10 * low])


def decade_seconds(seconds: np.ndarray, output: str) -> np.ndarray:
    """decade_span for times (epoch seconds): the calendar decade of their mean (1987-05-02 ->
    1980-01-01 .. 1990-01-01); a time of day -> the whole day; a duration -> its decade."""
    finite = np.asarray(seconds, dtype=float)
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        return np.zeros(1)
    if output == "time":
        return np.array([0.0, 86399.0])
    if output == "timedelta":
        return decade_span(finite)
    year = int(np.datetime64(int(np.mean(finite)), "s").astype("datetime64[Y]").astype(int)) + 1970
    start = min(max(year - year % 10, 1), 9980)
    ends = [float(np.datetime64(f"{y:04d}-01-01", "s").astype(np.int64)) for y in (start, start + 10)]
    ends[1] -= 1
    # Times gone by (every last_update of a three-row table is the day it was loaded): none drawn
    # past the newest time in the source database (2027 from a 2026 load was no last update). The
    # database's, not the clock's: the same source gives the same model whenever it is fitted, and
    # not the column's own newest, which would be one of a few rows' values.
    newest = NEWEST.get()
    if newest is not None and finite.max() <= newest:
        ends[1] = max(min(ends[1], newest), ends[0])
    return np.array(ends)


# The newest time (epoch seconds) in the database being fitted (model/fit.py fit_tables sets it):
# the latest a coarsened time or year gone by is drawn at. None: no bound.
NEWEST: ContextVar[float | None] = ContextVar("relsynth_newest_time", default=None)


def nobodys(knots: np.ndarray, x: np.ndarray, k: int, decimals: int = 10) -> np.ndarray:
    """Knots moved off values that fewer than k rows of x (before its tails were pulled in) hold,
    halfway to the next value inward: the k-th salary from the top, or a quantile that lands on
    one row, is that person's amount; halfway to its neighbour it is nobody's, and the k rows
    beyond it stay beyond it. The halfway point is on the values' grid (``decimals``: 1980 and
    1983 -> 1981.0; 9.99 and 10.02 -> 10.0); where the grid has no point between the two (1980 and
    1981; 11.03 and 11.04) the knot stays: a draw there is as near to the neighbour's value."""
    values, counts = np.unique(x[np.isfinite(x)], return_counts=True)
    if len(values) < 2:
        return knots
    grid = 10.0**-decimals
    out = np.array(knots, dtype=float)
    at = _nearest(values, out)
    lonely = _at_value(values[at], out) & (counts[at] < k)
    last = len(out) - 1
    for i in np.flatnonzero(lonely):
        j = at[i]
        toward = j - 1 if (i == last and j > 0) or j == len(values) - 1 else j + 1
        a, b = values[j], values[toward]
        mid = a / 2 + b / 2  # no overflow between doubles near 1.8e308
        # Rounded toward a, on the grid: strictly between a and b, or not moved at all. A double
        # past 2^52 grid steps is on the grid already (and floor(mid / grid) would overflow).
        if abs(mid) / grid < 2.0**52:
            mid = math.floor(mid / grid) * grid if b > a else math.ceil(mid / grid) * grid
            mid = round(mid, decimals)
        if min(a, b) < mid < max(a, b):
            out[i] = mid
    return out


def _nearest(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Index of the sorted values' nearest to each x."""
    at = np.clip(np.searchsorted(values, x), 0, len(values) - 1)
    below = np.clip(at - 1, 0, len(values) - 1)
    with np.errstate(invalid="ignore"):
        closer = np.abs(values[below] - x) < np.abs(values[at] - x)
    return np.where(closer, below, at)


def _at_value(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """x is the value but for a quantile's rounding: a knot that interpolation put a few units in
    the last place off a row's value (5727365428145490 microseconds for that admission's ...491,
    5206.080000000001 for a charge of 5206.08) is that row's value all the same."""
    with np.errstate(invalid="ignore"):
        return np.abs(values - x) <= 4 * np.spacing(np.maximum(np.abs(values), np.abs(x)))


def quantile_knots(x: np.ndarray, k: int) -> np.ndarray:
    """k evenly spaced quantiles of sorted finite x (all of x when k covers it), without overflow."""
    if k >= len(x):
        return x
    f = headroom(x)
    p = np.linspace(0, 1, k)
    if np.isfinite(x[[0, -1]]).all():
        return np.quantile(x / f, p, method="linear") * f
    # Between infinite values (a double column may hold +-inf) interpolation gives NaN: take values.
    return np.quantile(x / f, p, method="closest_observation") * f


def blur_quantiles(
    knots: np.ndarray, u: np.ndarray, rng: np.random.Generator | None, decimals: int
) -> np.ndarray:
    """Values at probabilities u between the knots, moved by noise of half the local knot spacing
    (without an rng: not moved), rounded to decimals and kept within the knots' range.

    Computed on knots divided by their headroom, so that knots near the double's limits give finite
    values instead of inf or NaN."""
    k = len(knots)
    f = headroom(knots)
    scaled = knots / f
    finite = np.isfinite(scaled)
    if not finite.all():  # +-inf knots (sorted first and last): positions at them are infinite
        t = np.asarray(u, dtype=float) * (k - 1)
        low, high = int(np.sum(scaled == -np.inf)), int(np.sum(scaled == np.inf))
        inner = scaled[finite] if finite.any() else np.zeros(1)
        x = blur_quantiles(inner * f, _inner_u(t, low, k - high), rng, decimals)
        return np.where(t < low, -np.inf, np.where(t > k - 1 - high, np.inf, x))
    x = np.interp(u, np.linspace(0, 1, k), scaled)
    if rng is not None and k > 2:
        spacing = np.diff(scaled)[np.clip((u * (k - 1)).astype(np.int64), 0, k - 2)]
        x = x + rng.normal(0.0, 0.5, len(x)) * spacing
    x = np.clip(x, scaled[0], scaled[-1]) * f
    return np.clip(round_safe(x, decimals), knots[0], knots[-1])


def _inner_u(t: np.ndarray, first: int, stop: int) -> np.ndarray:
    """Knot positions t as probabilities within the knots first..stop-1 (the finite ones)."""
    span = max(stop - 1 - first, 1)
    return np.clip((t - first) / span, 0.0, 1.0)


@dataclass
class Encoder:
    """Base: one column -> one normal dimension."""

    kind: str = ""

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        raise NotImplementedError

    def normal(self, values: pd.Series, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def scores(self, values: pd.Series) -> np.ndarray:
        raise NotImplementedError

    def decode(self, z: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Normal scores back to values; ``rng`` is for encoders that add noise (smoothing)."""
        raise NotImplementedError


@dataclass
class Categorical(Encoder):
    """Levels as intervals of [0, 1] in order (by value for numbers, by frequency otherwise)."""

    kind: str = "categorical"
    levels: list[Any] = field(default_factory=list)
    cum: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def fit(cls, values: pd.Series, *, ordered: bool | None = None) -> Categorical:
        counts = values.value_counts(dropna=False, sort=False)
        keys = [_py(k) for k in counts.index]
        freq = counts.to_numpy(dtype=float)
        numeric = all(isinstance(k, int | float) and not isinstance(k, bool) for k in keys if k is not None)
        if ordered if ordered is not None else numeric:
            order = sorted(
                range(len(keys)), key=lambda i: (keys[i] is None, keys[i] if keys[i] is not None else 0)
            )
        else:
            order = sorted(range(len(keys)), key=lambda i: (-freq[i], str(keys[i])))
        levels = [keys[i] for i in order]
        p = freq[order] / max(freq.sum(), 1)
        return cls(levels=levels, cum=np.cumsum(p))

    def codes(self, values: pd.Series) -> np.ndarray:
        index = {(_key(v)): i for i, v in enumerate(self.levels)}
        # An unseen value counts as the commonest level (the first, unless levels were reordered).
        commonest = int(np.argmax(np.diff(self.cum, prepend=0.0))) if len(self.cum) else 0
        objects = np.asarray(values, dtype=object)
        try:  # each distinct value looked up once (a dict merges equal values as factorize does)
            found, uniques = pd.factorize(objects, use_na_sentinel=True)
        except TypeError:  # unhashable values (lists): one at a time
            return np.fromiter(
                (index.get(_key(_py(v)), commonest) for v in objects), dtype=np.int64, count=len(objects)
            )
        mapped = np.fromiter(
            (index.get(_key(_py(u)), commonest) for u in uniques), dtype=np.int64, count=len(uniques)
        )
        missing = index.get(None, commonest)
        return np.append(mapped, missing)[np.where(found >= 0, found, len(mapped))]

    def normal(self, values: pd.Series, rng: np.random.Generator) -> np.ndarray:
        codes = self.codes(values)
        lo = np.concatenate([[0.0], self.cum[:-1]])[codes]
        hi = self.cum[codes]
        return to_normal(lo + (hi - lo) * rng.random(len(codes)))

    def scores(self, values: pd.Series) -> np.ndarray:
        """Deterministic normal scores: each level's conditional mean (for estimating correlations)."""
        codes = self.codes(values)
        lo = np.concatenate([[0.0], self.cum[:-1]])[codes]
        return interval_mean(lo, self.cum[codes])

    def decode_codes(self, z: np.ndarray) -> np.ndarray:
        return np.minimum(np.searchsorted(self.cum, to_uniform(z), side="right"), len(self.levels) - 1)

    def decode(self, z: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        codes = self.decode_codes(z)
        if not any(isinstance(v, list | tuple | np.ndarray) for v in self.levels):
            levels = np.empty(len(self.levels), dtype=object)  # the level objects themselves
            for i, v in enumerate(self.levels):
                levels[i] = v
            return levels[codes]  # levels are exact: no noise, rng unused
        out = np.empty(len(z), dtype=object)
        out[:] = [self.levels[i] for i in codes]
        return out

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"kind": self.kind, "levels": [jsonable(v) for v in self.levels]}, {"cum": self.cum}

    @classmethod
    def from_state(cls, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> Categorical:
        return cls(levels=[unjson(v) for v in state["levels"]], cum=arrays["cum"])


def _key(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, list):
        return tuple(v)
    return v


@dataclass
class Continuous(Encoder):
    """Empirical quantile function: exact marginal, bounds and decimals of the source."""

    kind: str = "continuous"
    knots: np.ndarray = field(default_factory=lambda: np.zeros(0))
    decimals: int = 0
    integer: bool = False
    step: bool = False  # step quantiles: only values seen (counts), no interpolation between them
    smooth: bool = False  # values: blur each draw by its local quantile spacing (see decode)

    @classmethod
    def fit(
        cls,
        x: np.ndarray,
        *,
        integer: bool = False,
        decimals: int | None = None,
        step: bool = False,
        tail: int = 1,
        years: bool = False,
    ) -> Continuous:
        """``tail``: extremes pulled in to the tail-th value from each end (pull_in_tails).
        ``years``: the values are calendar years (decade_span)."""
        x = np.sort(np.asarray(x, dtype=float))
        if len(x) == 0:
            return cls(knots=np.zeros(1), integer=integer, step=step)
        if tail > 1 and not step and len(x) < tail:
            # No value held by `tail` rows: a uniform draw over their decade (decade_span).
            x = decade_span(x, years=years)
        raw = x
        x = pull_in_tails(x, tail)
        # A knot per `tail` values (the rare-k), not one per row: with a knot on every training
        # value, draws landed on training values twice as often as on held-out ones (membership
        # told from a sampled model file); quantiles of k rows each are nobody's value.
        k = min(len(x), N_KNOTS) if tail <= 1 or step else min(N_KNOTS, max(2, -(-len(x) // tail)))
        knots = quantile_knots(x, k)
        dec = 0 if integer else (decimals_of(x) if decimals is None else decimals)
        if tail > 1 and not step:
            knots = nobodys(knots, raw, tail, dec)
        if step and k < len(x):
            knots = np.quantile(x, (np.arange(k) + 0.5) / k, method="inverted_cdf")
        return cls(knots=knots, integer=integer, decimals=dec, step=step)

    def normal(self, values: pd.Series, rng: np.random.Generator) -> np.ndarray:
        x = np.asarray(values, dtype=float)
        return self.normal_array(x, rng)

    @staticmethod
    def normal_array(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Mid-rank with random tie-breaking: ties spread over their probability interval."""
        n = len(x)
        if n == 0:
            return np.zeros(0)
        order = np.argsort(x, kind="stable")
        # For each value: position of its first and one-past-last equal element.
        first, last = tie_bounds(x, order)
        u = (first + rng.random(n) * (last - first)) / n
        return to_normal(u)

    def scores(self, values: pd.Series) -> np.ndarray:
        return Continuous.scores_array(np.asarray(values, dtype=float))

    @staticmethod
    def scores_array(x: np.ndarray) -> np.ndarray:
        """Deterministic scores: ties share the conditional mean of their probability interval."""
        n = len(x)
        if n == 0:
            return np.zeros(0)
        first, last = tie_bounds(x, np.argsort(x, kind="stable"))
        return interval_mean(first / n, last / n)

    def decode(self, z: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Normal scores back to values.

        With ``smooth`` (and an rng), each value is moved by noise of half the local spacing of the
        quantile knots: interpolating between training values alone would place synthetic values
        systematically nearer to the rows the model was trained on than fresh data would be.
        """
        u = to_uniform(z)
        if self.step:
            idx = np.minimum((u * len(self.knots)).astype(np.int64), len(self.knots) - 1)
            return self.knots[idx]
        return blur_quantiles(self.knots, u, rng if self.smooth else None, self.decimals)

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state = {
            "kind": self.kind,
            "decimals": self.decimals,
            "integer": self.integer,
            "step": self.step,
            "smooth": self.smooth,
        }
        return state, {"knots": self.knots}

    @classmethod
    def from_state(cls, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> Continuous:
        return cls(
            knots=arrays["knots"],
            decimals=state["decimals"],
            integer=state["integer"],
            step=state["step"],
            smooth=state.get("smooth", False),
        )


_DATE_FORMATS = (
    (re.compile(r"^\d{4}-\d{2}-\d{2}$"), "%Y-%m-%d"),
    (re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"), "%Y-%m-%d %H:%M:%S"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"), "%Y-%m-%dT%H:%M:%S"),
    (re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+$"), "%Y-%m-%d %H:%M:%S.%f"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+$"), "%Y-%m-%dT%H:%M:%S.%f"),
    (re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$"), "%Y-%m-%d %H:%M"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"), "%Y-%m-%dT%H:%M:%SZ"),
)
_TIMES_OF_DAY = (("", ""), (r" \d{2}:\d{2}", " %H:%M"), (r" \d{2}:\d{2}:\d{2}", " %H:%M:%S"))
# Legacy (non-ISO) date texts, read with strptime: day first or month first (the data decides
# which, and a column both read, every day and month at most 12, is no date), dotted, slashed
# year first, and compact YYYYMMDD (a year 1800-2199: other 8-digit codes are no dates).
_LEGACY_DATES = (
    (r"\d{2}/\d{2}/\d{4}", "%d/%m/%Y"),
    (r"\d{2}/\d{2}/\d{4}", "%m/%d/%Y"),
    (r"\d{2}\.\d{2}\.\d{4}", "%d.%m.%Y"),
    (r"\d{2}-\d{2}-\d{4}", "%d-%m-%Y"),
    (r"\d{4}/\d{2}/\d{2}", "%Y/%m/%d"),
    (r"(?:18|19|20|21)\d{6}", "%Y%m%d"),
)
_LEGACY_FORMATS = tuple(
    (re.compile(f"^{d}{t}$"), f"{fd}{ft}") for d, fd in _LEGACY_DATES for t, ft in _TIMES_OF_DAY
)
LEGACY_DATE_FORMATS = frozenset(fmt for _, fmt in _LEGACY_FORMATS)
_RESOLUTION_SECONDS = {
    "day": 86400.0,
    "second": 1.0,
    "minute": 60.0,
    "millisecond": 1e-3,
    "microsecond": 1e-6,
}


# Times as text, hours past 23 allowed: GTFS's stop times ('25:10:00' is 1:10 the next morning),
# durations, opening hours. Read as seconds from midnight, written back in the same shape: [H]
# hours of two digits at least, [h] hours as they come ('9:05:00', which GTFS allows too: as text
# of 1,000 distinct values they were categories, their rare times folded into a few).
CLOCK_FORMATS = {
    "[H]:%M:%S": re.compile(r"^\d{2,3}:[0-5]\d:[0-5]\d$"),
    "[H]:%M": re.compile(r"^\d{2,3}:[0-5]\d$"),
    "[h]:%M:%S": re.compile(r"^\d{1,3}:[0-5]\d:[0-5]\d$"),
    "[h]:%M": re.compile(r"^\d{1,3}:[0-5]\d$"),
}


def clock_format(strings: pd.Series) -> str | None:
    """The clock shape every string has ('HH:MM:SS' or 'HH:MM', two or three hour digits)."""
    for fmt, pattern in CLOCK_FORMATS.items():
        if _all_match(strings, pattern):
            return fmt
    return None


def _clock_seconds(strings: pd.Series) -> np.ndarray:
    parts = strings.str.split(":", expand=True).astype(float)
    out = parts[0].to_numpy() * 3600 + parts[1].to_numpy() * 60
    return out + (parts[2].to_numpy() if parts.shape[1] > 2 else 0.0)


def clock_text(seconds: np.ndarray, text_format: str) -> list[str]:
    """Seconds from midnight in the clock shape: hours of at least two digits ([H]) or as they come
    ([h]), never negative."""
    whole = np.maximum(np.round(np.asarray(seconds, dtype=float)), 0).astype(np.int64)
    h, rest = np.divmod(whole, 3600)
    m, sec = np.divmod(rest, 60)
    width = 2 if text_format.startswith("[H]") else 1
    if not text_format.endswith("%S"):
        return [f"{a:0{width}d}:{b:02d}" for a, b in zip(h, m, strict=True)]
    return [f"{a:0{width}d}:{b:02d}:{c:02d}" for a, b, c in zip(h, m, sec, strict=True)]


def text_date_format(values: pd.Series) -> str | None:
    """The strftime format every string follows, if exactly one: ISO ones by shape, legacy ones
    (dd/mm/YYYY, YYYYMMDD, ...) also by every value being a valid date, or a clock shape
    (CLOCK_FORMATS). None when no format or two (01/02/2020 is 1 February or 2 January) read
    all of them: such text is no date column."""
    strings = values.dropna().astype(str)
    if strings.empty:
        return None
    for pattern, fmt in _DATE_FORMATS:
        if _all_match(strings, pattern):
            return fmt
    clock = clock_format(strings)
    if clock is not None:
        return clock
    found = legacy_formats(strings)
    return found[0] if len(found) == 1 else None


def _all_match(strings: pd.Series, pattern: re.Pattern[str]) -> bool:
    """Every string has the pattern's shape (the first few hundred looked at first: most columns
    are told apart by them, without a pass over a large table)."""
    return bool(strings.head(500).str.match(pattern.pattern).all()) and bool(
        strings.str.match(pattern.pattern).all()
    )


def legacy_formats(strings: pd.Series) -> list[str]:
    """The legacy formats that read every string as a valid date."""
    found = []
    for pattern, fmt in _LEGACY_FORMATS:
        if not _all_match(strings, pattern):
            continue
        parsed = pd.to_datetime(strings, format=fmt, errors="coerce")
        if not parsed.isna().any():
            found.append(fmt)
    return found


def _reading_format(strings: pd.Series, text_format: str) -> str | None:
    """The strptime format to read date text with: the one given when it is a legacy format;
    for 'iso' or an ISO format (values read without knowing their column), a legacy format the
    values follow (day first when they read both ways), else None (ISO 8601)."""
    if text_format in LEGACY_DATE_FORMATS:
        return text_format
    if strings.str.match(r"^\d{4}-\d{2}-\d{2}").all():
        return None
    found = legacy_formats(strings)
    return found[0] if found else None


def is_duration(values: pd.Series) -> bool:
    """Durations, as MySQL's drivers read its TIME (timedelta), not times of day."""
    if pd.api.types.is_timedelta64_dtype(values):
        return True
    known = values.dropna()
    return bool(len(known)) and isinstance(known.iloc[0], dt.timedelta)


def duration_text(value: Any) -> str:
    """A duration as MySQL spells a TIME: '-05:03:00', '838:59:59', '30:00:00.250000'."""
    micros = round(pd.Timedelta(value).total_seconds() * 1e6)
    sign, micros = ("-" if micros < 0 else ""), abs(micros)
    seconds, fraction = divmod(micros, 1_000_000)
    text = f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{text}.{fraction:06d}" if fraction else text


def to_epoch_seconds(values: pd.Series, *, text_format: str | None = None) -> np.ndarray:
    """Dates, datetimes (naive or aware, as UTC), times of day or date text -> float seconds.
    Text is read with ``text_format`` when it is a legacy one (dd/mm/YYYY), else as ISO 8601."""
    if len(values) == 0:
        return np.zeros(0)
    first = values.iloc[0]
    if isinstance(first, dt.time):
        return np.array([t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6 for t in values])
    if isinstance(first, dt.timedelta) or pd.api.types.is_timedelta64_dtype(values):
        return pd.to_timedelta(values).dt.total_seconds().to_numpy(dtype=float)
    legacy = None
    if text_format is not None:
        clock = text_format if text_format in CLOCK_FORMATS else clock_format(values.astype(str))
        if clock is not None:
            return _clock_seconds(values.astype(str))
    try:
        if text_format is not None:
            strings = values.astype(str)
            legacy = _reading_format(strings, text_format)
            if legacy is not None:
                ts = pd.to_datetime(strings, format=legacy)
            else:
                ts = pd.to_datetime(strings.str.replace("Z", "", regex=False), format="ISO8601")
        else:
            try:
                ts = pd.to_datetime(values, utc=_has_tz(values))
            except ValueError:  # SQLite text: '... 00:00:00' beside '... 00:00:00.5' (str(datetime))
                ts = pd.to_datetime(values, utc=_has_tz(values), format="mixed")
    except pd.errors.OutOfBoundsDatetime:
        # pandas' nanoseconds end in 1677 and 2262; a date column holds 0001-01-01 to 9999-12-31.
        return _far_epoch_seconds(values, legacy)
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return micros_to_seconds(ts.to_numpy(dtype="datetime64[us]").astype(np.int64))


def micros_to_seconds(micros: np.ndarray) -> np.ndarray:
    """Integer microseconds as float seconds, seconds and fraction apart: micros / 1e6 would first
    round them to a float, losing up to 16 us near year 9999."""
    whole, frac = np.divmod(np.asarray(micros, dtype=np.int64), 1_000_000)
    return whole.astype(float) + frac / 1e6


def _far_epoch_seconds(values: pd.Series, text_format: str | None = None) -> np.ndarray:
    """Seconds of dates, datetimes or date text outside pandas' nanosecond range."""
    if text_format is not None:
        values = pd.Series([dt.datetime.strptime(str(v), text_format) for v in values], dtype=object)
    return micros_to_seconds(far_datetimes(values).to_numpy().astype(np.int64))


def far_datetimes(values: pd.Series, *, utc: bool = False) -> pd.Series:
    """Dates, datetimes (aware ones as UTC) or ISO strings as datetime64[us], whose 290,000 years
    hold every SQL date: pandas' nanoseconds end in 1677 and 2262. ``utc``: aware, in UTC."""
    out: list[Any] = []
    for v in values:
        if v is None or (not isinstance(v, dt.date | str) and pd.isna(v)):
            out.append(None)
            continue
        if isinstance(v, str):
            v = dt.datetime.fromisoformat(v.strip().replace("Z", "+00:00"))
        elif isinstance(v, pd.Timestamp):
            v = v.to_pydatetime()
        if isinstance(v, dt.datetime) and v.tzinfo is not None:
            v = v.astimezone(dt.UTC).replace(tzinfo=None)
        out.append(v)
    stamps = pd.Series(np.array(out, dtype="datetime64[us]"), index=values.index)
    return stamps.dt.tz_localize("UTC") if utc else stamps


# -- dates Python's cannot hold, or text that is no date ------------------------------------------
# What a date or timestamp column may hold beyond Python's dates (years 1 to 9999): PostgreSQL's
# 'infinity' and '-infinity' (an open end), BC dates and years past 9999 (given as text by
# dialects.tolerant_dates); MariaDB's zero dates ('0000-00-00', a legacy "no date", which the
# driver gives as text) and dates with a zero month or day; text in a SQLite DATE column that is
# no date. Each kind, in words (never a value), and what it is read as (model/sentinels.py).
SPECIAL_DATE_KINDS: dict[str, tuple[str, str]] = {
    "infinity": ("'infinity'", "latest"),
    "-infinity": ("'-infinity'", "earliest"),
    "bc": ("BC dates", "earliest"),
    "beyond": ("dates after year 9999", "latest"),
    "zero": ("zero dates", "earliest"),
    "part": ("dates with a zero or impossible month or day", "nearest"),
    "text": ("text that is no date", "null"),
    "words": ("text that is no number", "null"),  # SQLite: a number column holds any text
    "blob": ("blobs", "null"),  # SQLite: an ANY column, learned as text (model/sentinels.py)
    "inf": ("infinities in an integer column", "null"),  # SQLite: 1e999 stored as a REAL
}
_DATE_START = re.compile(r"([+-]?)(\d{4,})-(\d{1,2})-(\d{1,2})(.*)", re.DOTALL)


def date_bound(which: str, family: str, *, timezone: bool = False, text: bool = False) -> Any:
    """The "latest" or "earliest" value of a date or datetime column in Python (9999-12-31 or
    0001-01-01; a timestamp's to the whole second, aware in UTC with ``timezone``); ISO text with
    ``text`` (a SQLite column's values are text)."""
    day = dt.date(9999, 12, 31) if which == "latest" else dt.date(1, 1, 1)
    if family == "date":
        return day.isoformat() if text else day
    moment = dt.datetime.combine(day, dt.time(23, 59, 59) if which == "latest" else dt.time())
    if text:
        return moment.isoformat(sep=" ")
    return moment.replace(tzinfo=dt.UTC) if timezone else moment


# ISO dates (and times) that are surely real: years 1 to 9999, months 1 to 12, days 1 to 28.
_PLAIN_DATE = (
    r"\s*(?!0000)\d{4}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])"
    r"([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?\s*"
)


def plain_dates(texts: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Which texts are surely ordinary ISO dates (special_date need not look at them): one
    vectorised match, as a SQLite column holds a million of them."""
    if not len(texts):
        return np.zeros(0, dtype=bool)
    found = pd.Series(np.asarray(texts, dtype=object)).str.fullmatch(_PLAIN_DATE)
    return found.fillna(False).to_numpy(dtype=bool)


def special_date(text: str) -> tuple[str | None, str | None]:
    """The kind (SPECIAL_DATE_KINDS) of a text value read from a date or datetime column, or None
    for a date pandas reads as it is; for a "part", the nearest real date as ISO text (a zero
    month or day as the first, 31 April as the 30th), the time of day kept."""
    s = text.strip()
    low = s.lower()
    if low in {"infinity", "+infinity"}:
        return "infinity", None
    if low == "-infinity":
        return "-infinity", None
    if low.endswith(" bc"):
        return "bc", None
    m = _DATE_START.fullmatch(s)
    if m is not None:
        sign, year, month, day = m[1], int(m[2]), int(m[3]), int(m[4])
        if sign == "-":
            return "bc", None
        if year > 9999:
            return "beyond", None
        if year == 0:
            return "zero", None
        if month <= 12 and day <= 31:
            last = calendar.monthrange(year, max(month, 1))[1]
            if month == 0 or day == 0 or day > last:
                return "part", f"{year:04d}-{max(month, 1):02d}-{min(max(day, 1), last):02d}{m[5]}"
    return (None, None) if _readable_date(s) else ("text", None)


def _readable_date(text: str) -> bool:
    """Does to_epoch_seconds read this text as a date: ISO 8601, or within pandas' years (whose
    parser reads 25/12/2020; beyond them only ISO text is read)?"""
    try:
        dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return True
    except ValueError:
        pass
    try:
        pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):  # OutOfBoundsDatetime is a ValueError
        return False
    return True


def date_value(text: str, family: str, *, timezone: bool = False) -> Any:
    """ISO text as a date (family "date") or datetime (aware in UTC with ``timezone`` when it
    carries no offset); None when it is none."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if family == "date":
        return value.date()
    if timezone and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _has_tz(values: pd.Series) -> bool:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return True
    first = values.iloc[0]
    return isinstance(first, dt.datetime) and first.tzinfo is not None


# Steps coarser than a minute that schedules keep (appointments every quarter hour), believed only
# from enough values: 20 values on the hour by chance, from half-hour data, is one in a million.
_GRID_SECONDS = (3600.0, 1800.0, 900.0, 600.0, 300.0)
MIN_GRID_VALUES = 20


def gap_step(resolution: str) -> float:
    """The unit a time's gap from its base is counted in: a day for dates, the source's fraction
    of a second where it keeps one (a last login 12.345678 s after sign-up), else a second."""
    return _RESOLUTION_SECONDS[resolution] if resolution in {"day", "millisecond", "microsecond"} else 1.0


def step_floor(seconds: np.ndarray, step: float) -> np.ndarray:
    """Seconds down to their step (a timestamp's day, its whole second); a step under a second
    with a thousandth of it to spare, or a float's error (1.7e15 microseconds since 1970 are
    spaced 0.25 apart) takes a microsecond off a value already on it."""
    spare = 1e-3 if step < 1.0 else 0.0
    return np.floor(np.asarray(seconds, dtype=float) / step + spare) * step


def grain_of(seconds: np.ndarray) -> float:
    """The step every value sits on, in seconds: a day, an hour or a grid of minutes (every 5,
    10, 15 or 30), a minute (timestamps kept to whole minutes), a second, a millisecond or a
    microsecond."""
    sample = np.asarray(seconds[:5000], dtype=float)
    sample = sample[np.isfinite(sample)]
    if not len(sample):
        return 1.0
    error = 2 * np.spacing(np.abs(sample))
    grids = _GRID_SECONDS if len(sample) >= MIN_GRID_VALUES else ()
    steps = (86400.0, *grids, 60.0, 1.0, 1e-3)
    for step in steps:
        if np.all(np.abs(sample / step - np.round(sample / step)) < np.maximum(1e-6, error / step)):
            return step
    return 1e-6


def _grain(seconds: np.ndarray) -> float:
    """A grid of a minute up to an hour that every value sits on, else 0 (no rounding)."""
    step = grain_of(seconds) if len(seconds) else 0.0
    return step if 60.0 <= step < 86400.0 else 0.0


def resolution_of(seconds: np.ndarray) -> str:
    sample = np.asarray(seconds[:5000], dtype=float)
    # Float seconds are exact to a few microseconds only in this era; near year 9999 to 30 us: a
    # value is on a step when within its own float spacing of it.
    error = 2 * np.spacing(np.abs(sample))
    for name in ("day", "minute", "second", "millisecond"):
        step = _RESOLUTION_SECONDS[name]
        if np.all(np.abs(sample / step - np.round(sample / step)) < np.maximum(1e-6, error / step)):
            return "second" if name == "minute" else name
    return "microsecond"


@dataclass
class Temporal(Encoder):
    """Dates, datetimes and times as seconds, through a Continuous or Categorical encoder.

    ``output`` says how to give values back: date, datetime, datetime_tz, time, text (with
    ``text_format``), or timedelta. ``resolution`` rounds sampled values like the source's.
    """

    kind: str = "temporal"
    inner: Encoder = field(default_factory=Continuous)
    output: str = "datetime"
    resolution: str = "second"
    text_format: str | None = None
    # Times with a time zone (PostgreSQL timetz): the local time is modelled, and each value gets one
    # of the source's UTC offsets, [seconds, share], as often as there.
    offsets: list[list[float]] = field(default_factory=list)
    # A column sampled as a gap from another (an admission as the age at it): its own range in
    # seconds, [min, max], so that base + gap stays in it (birth 2020 + age 90 is no admission).
    bounds: list[float] = field(default_factory=list)
    # Timestamps the source keeps to whole minutes, or to a grid of them (every quarter hour), are
    # written on it, in seconds (0: no rounding).
    grain: float = 0.0
    # Times of day (seconds after midnight) every value sits at, when the source has a handful
    # (check-in at 14:00): each value is written at the nearest one. ``coded``: the inner encoder
    # counts day * len(times) + the time's index (in time order), not resolution units.
    times: list[float] = field(default_factory=list)
    coded: bool = False

    @classmethod
    def fit(
        cls, values: pd.Series, *, output: str, text_format: str | None = None, tail: int = 1
    ) -> Temporal:
        seconds = to_epoch_seconds(values, text_format=text_format)
        resolution = resolution_of(seconds)
        if tail > 1 and 0 < len(seconds) < tail:
            # No time held by `tail` rows (a one-row table's date): their calendar decade, no more.
            seconds, tail = decade_seconds(seconds, output), 1
        step = _RESOLUTION_SECONDS[resolution]
        distinct = len(np.unique(seconds))
        times: list[float] = []
        if 1 < distinct <= MAX_DISCRETE_LEVELS and len(seconds) >= MIN_DISCRETE_SUPPORT * distinct:
            inner: Encoder = Categorical.fit(pd.Series(seconds), ordered=True)
        else:
            times = times_of_day(seconds) if output not in {"date", "time", "timedelta"} else []
            units = day_positions(seconds, times) if times else np.round(seconds / step)
            inner = Continuous.fit(units, integer=True, tail=tail)
            inner.smooth = True
        enc = cls(
            inner=inner,
            output=output,
            resolution=resolution,
            text_format=text_format,
            offsets=time_offsets(values, tail) if output == "time" else [],
            grain=_grain(seconds) if output != "date" else 0.0,
            times=times,
            coded=bool(times),
        )
        if times:  # a whole day is the step that keeps the times of day (a nudged value moves by it)
            enc.grain = 86400.0
            knots = enc.inner.knots if isinstance(enc.inner, Continuous) else np.zeros(0)
            enc.bounds = [float(b) for b in enc.position_seconds(knots[[0, -1]])] if len(knots) else []
        return enc

    def positions(self, seconds: np.ndarray) -> np.ndarray:
        """Seconds as what the inner Continuous counts: day-and-time-of-day positions when
        ``coded``, else resolution units."""
        if self.coded:
            return day_positions(seconds, self.times)
        return np.round(seconds / _RESOLUTION_SECONDS[self.resolution])

    def position_seconds(self, positions: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """The inverse of positions (a coded position is a day and one of the times of day).

        ``u`` (the positions' probabilities): the time of day is the nearest knot's, not the one
        between two knots a day apart, where interpolation would give each time an equal share."""
        p = np.asarray(positions, dtype=float)
        if not self.coded:
            return p * _RESOLUTION_SECONDS[self.resolution]
        k = len(self.times)
        day = np.floor(p / k)
        code = p - day * k
        knots = self.inner.knots if isinstance(self.inner, Continuous) else np.zeros(0)
        if u is not None and len(knots):
            nearest = np.clip(np.round(np.asarray(u) * (len(knots) - 1)), 0, len(knots) - 1)
            code = np.mod(np.round(knots[nearest.astype(np.int64)]), k)
        code = np.clip(np.nan_to_num(code).astype(np.int64), 0, k - 1)
        return day * 86400.0 + np.asarray(self.times, dtype=float)[code]

    def values(self, seconds: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Seconds as the column's values; times of a timetz get the source's offsets (the most
        common one without ``rng``)."""
        if self.times:  # a gap from a base moves forward: never before the base it follows
            seconds = at_times_of_day(np.asarray(seconds, dtype=float), self.times, forward=not self.coded)
        elif self.grain > 1 and self.output != "date":
            seconds = np.round(np.asarray(seconds, dtype=float) / self.grain) * self.grain
        out = from_seconds(seconds, self.output, self.text_format, self.resolution)
        if not self.offsets:
            return out
        shares = np.asarray([s for _, s in self.offsets], dtype=float)
        picks = (
            rng.choice(len(self.offsets), size=len(out), p=shares / shares.sum())
            if rng is not None
            else np.full(len(out), int(np.argmax(shares)))
        )
        zones = [dt.timezone(dt.timedelta(seconds=float(o))) for o, _ in self.offsets]
        return np.array(
            [None if v is None else v.replace(tzinfo=zones[k]) for v, k in zip(out, picks, strict=True)],
            dtype=object,
        )

    def seconds(self, values: pd.Series) -> np.ndarray:
        return to_epoch_seconds(values, text_format=self.text_format)

    def normal(self, values: pd.Series, rng: np.random.Generator) -> np.ndarray:
        s = self.seconds(values)
        if isinstance(self.inner, Continuous):
            return Continuous.normal_array(self.positions(s), rng)
        return self.inner.normal(pd.Series(s), rng)

    def scores(self, values: pd.Series) -> np.ndarray:
        s = self.seconds(values)
        if isinstance(self.inner, Continuous):
            return Continuous.scores_array(self.positions(s))
        return self.inner.scores(pd.Series(s))

    def decode_seconds(self, z: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        if isinstance(self.inner, Continuous):
            return self.position_seconds(self.inner.decode(z, rng), to_uniform(z))
        return np.asarray(self.inner.decode(z), dtype=float)

    def decode(self, z: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return self.values(self.decode_seconds(z, rng), rng)

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        inner_state, arrays = self.inner.to_state()
        return {
            "kind": self.kind,
            "inner": inner_state,
            "output": self.output,
            "resolution": self.resolution,
            "text_format": self.text_format,
            "offsets": self.offsets,
            "bounds": self.bounds,
            "grain": self.grain,
            "times": self.times,
            "coded": self.coded,
        }, arrays

    @classmethod
    def from_state(cls, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> Temporal:
        return cls(
            inner=encoder_from_state(state["inner"], arrays),
            output=state["output"],
            resolution=state["resolution"],
            text_format=state["text_format"],
            offsets=[list(o) for o in state.get("offsets") or []],
            bounds=[float(b) for b in state.get("bounds") or []],
            grain=float(state.get("grain") or 0.0),
            times=[float(t) for t in state.get("times") or []],
            coded=bool(state.get("coded")),
        )


# Most times of day a timestamp column may keep as its only ones (a handful: check-in and
# check-out, shift starts, half-hour slots), each seen at least MIN_DISCRETE_SUPPORT times.
MAX_TIMES_OF_DAY = 24
# Values at other times (each seen fewer times) are written at the nearest of those, when they
# are this share of the values at most: three check-ins at 03:17 among 400 at 14:00 spread the
# synthetic ones over 347 times of day.
MAX_OFF_TIMES = 0.05


def times_of_day(seconds: np.ndarray) -> list[float]:
    """The source's times of day (seconds after midnight, in order) when its values sit at a
    few, each well supported, on more than one day, all but MAX_OFF_TIMES of them (a time held
    by fewer rows is not one of them: its values are written at the nearest); else [] (midnight
    alone is a date's)."""
    x = np.asarray(seconds, dtype=float)
    x = x[np.isfinite(x)]
    if not len(x):
        return []
    tod = np.round(np.mod(x, 86400.0), 6)
    levels, counts = np.unique(tod, return_counts=True)
    held = counts >= MIN_DISCRETE_SUPPORT
    levels = levels[held]
    if not 0 < len(levels) <= MAX_TIMES_OF_DAY or counts[~held].sum() > MAX_OFF_TIMES * len(x):
        return []
    if (len(levels) == 1 and levels[0] == 0) or len(np.unique(np.floor(x / 86400.0))) < 2:
        return []
    return [float(v) for v in levels]


def day_positions(seconds: np.ndarray, times: list[float]) -> np.ndarray:
    """day * len(times) + the index of the time of day nearest each value's: integers in time
    order, so the inner encoder interpolates between them and never leaves the times of day."""
    s = at_times_of_day(np.asarray(seconds, dtype=float), times)
    day = np.floor(s / 86400.0)
    code = np.searchsorted(np.asarray(times, dtype=float), np.round(s - day * 86400.0, 6))
    return day * len(times) + np.minimum(code, len(times) - 1)


def at_times_of_day(seconds: np.ndarray, times: list[float], *, forward: bool = False) -> np.ndarray:
    """Each value moved to the nearest of the times of day (the day before or after when nearer;
    ``forward``: the next one at or after it): a value sampled as a gap from another (check-out
    from check-in) keeps the source's times."""
    levels = np.asarray(times, dtype=float)
    tod = np.mod(seconds, 86400.0)
    half = 0.0 if forward else 43200.0
    shift = np.mod(levels[None, :] - tod[:, None] + half, 86400.0) - half
    pick = np.argmin(np.abs(np.nan_to_num(shift, nan=np.inf)), axis=1)
    return seconds + shift[np.arange(len(seconds)), pick]


def time_offsets(values: pd.Series, tail: int = 1) -> list[list[float]]:
    """[UTC offset in seconds, share] of times that carry a time zone; [] for plain times. An
    offset fewer than ``tail`` rows carry (+05:45 on one row) is left out, unless none is common."""
    seen = [v.utcoffset() for v in values if isinstance(v, dt.time) and v.tzinfo is not None]
    known = [o.total_seconds() for o in seen if o is not None]
    if not known:
        return []
    counts = Counter(known)
    common = {o: c for o, c in counts.items() if c >= tail} or dict(counts.most_common(1))
    total = sum(common.values())
    return [[o, common[o] / total] for o in sorted(common)]


# Python's datetimes (and the SQL date types relsynth writes) span years 1 to 9999: a value decoded
# beyond them (a parent's date plus a learned gap) stops at their ends.
_EPOCH = dt.datetime(1970, 1, 1)
_FIRST_US = (dt.datetime.min - _EPOCH) // dt.timedelta(microseconds=1)
_LAST_US = (dt.datetime.max - _EPOCH) // dt.timedelta(microseconds=1)


def from_seconds(
    seconds: np.ndarray, output: str, text_format: str | None = None, resolution: str | None = None
) -> np.ndarray:
    """Float seconds -> the column's own value type (object array; None stays None); datetimes of
    a sub-second ``resolution`` rounded to it (float seconds far from 1970 carry noise below it)."""
    s = np.asarray(seconds, dtype=float)
    mask = np.isnan(s)
    safe = np.where(mask, 0, s)
    out = np.empty(len(s), dtype=object)
    values: Sequence[object]
    if output == "text" and text_format in CLOCK_FORMATS:
        out[:] = clock_text(safe, text_format)
        out[mask] = None
        return out
    if output == "time":
        values = [
            dt.time(int(x // 3600) % 24, int(x % 3600 // 60), int(x % 60), round((x % 1) * 1e6) % 1_000_000)
            for x in safe
        ]
    elif output == "timedelta":
        values = [dt.timedelta(seconds=float(x)) for x in safe]
    else:
        # numpy's microseconds, not pandas' nanoseconds (1677-2262): any date a column holds.
        # Whole seconds and their fraction apart: seconds * 1e6 near year 9999 is off by up to 16 us.
        within = np.clip(safe, _FIRST_US / 1e6, _LAST_US / 1e6)
        whole = np.floor(within)
        micros = whole.astype(np.int64) * 1_000_000 + np.round((within - whole) * 1e6).astype(np.int64)
        unit = round(_RESOLUTION_SECONDS.get(resolution or "microsecond", 1e-6) * 1e6)
        if 1 < unit < 1_000_000:  # whole seconds and days are exact floats: they keep their floor
            micros = (micros + unit // 2) // unit * unit
        micros = np.clip(micros, _FIRST_US, _LAST_US)
        if output == "date":  # numpy makes the date objects (floored to the day, as .date() is)
            out[:] = (micros // 86_400_000_000).astype("datetime64[D]").astype(object)
            out[mask] = None
            return out
        stamps = micros.astype("datetime64[us]").astype(object)  # datetime.datetime objects
        if output == "text":
            fmt = text_format or "%Y-%m-%d %H:%M:%S"
            # strftime's %Y does not pad years before 1000 (year 1 is '1'): 4 digits, as ISO has.
            texts = [t.strftime(fmt.replace("%Y", f"{t.year:04d}")) for t in stamps]
            if text_format and "%f" in text_format:
                texts = [v.rstrip("0").rstrip(".") if "." in v else v for v in texts]
            values = texts
        elif output == "datetime_tz":
            values = [t.replace(tzinfo=dt.UTC) for t in stamps]
        else:
            values = list(stamps)
    out[:] = values
    out[mask] = None
    return out


def learned_range(encoder: Encoder) -> tuple[float, float]:
    """The smallest and largest number an encoder gives back (unbounded if it gives no numbers):
    a value moved after sampling stays within it, and so within its column's type."""
    if isinstance(encoder, Continuous) and len(encoder.knots):
        return float(encoder.knots[0]), float(encoder.knots[-1])
    if encoder.kind == "by_level":  # each level's marginal, and the pooled one
        ranges = [learned_range(e) for e in (encoder.pooled, *encoder.encoders)]  # type: ignore[attr-defined]
        return min(lo for lo, _ in ranges), max(hi for _, hi in ranges)
    if isinstance(encoder, Categorical):
        numbers = [v for v in encoder.levels if isinstance(v, int | float) and not isinstance(v, bool)]
        if numbers and len(numbers) == sum(v is not None for v in encoder.levels):
            return float(min(numbers)), float(max(numbers))
    return -math.inf, math.inf


def encoder_from_state(state: dict[str, Any], arrays: dict[str, np.ndarray]) -> Encoder:
    if state["kind"] == "by_level":  # a number with a marginal per level of a category
        from relsynth.model.by_level import ByLevel

        return ByLevel.from_state(state, arrays)
    kinds: dict[str, Any] = {"categorical": Categorical, "continuous": Continuous, "temporal": Temporal}
    return kinds[state["kind"]].from_state(state, arrays)


def fit_numeric(
    values: pd.Series, *, counts: bool = False, tail: int = 1, levels: bool = True, years: bool = False
) -> Encoder:
    """Few, well-supported distinct values -> Categorical (prices 0.99/1.99); else Continuous.

    ``counts`` (children per parent): exact seen values only, so totals and sizes stay true.
    ``tail``: a Continuous's extremes pulled in (pull_in_tails). ``levels=False``: never exact
    levels (a column whose every value is rare: its values must not come back as themselves).
    """
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    distinct = len(np.unique(x))
    if levels and distinct <= MAX_DISCRETE_LEVELS and len(x) >= MIN_DISCRETE_SUPPORT * distinct:
        return Categorical.fit(pd.Series(x), ordered=True)
    finite = x[np.isfinite(x)]  # +-inf (a double may hold them) is no fraction
    integer = bool(np.all(np.abs(finite - np.round(finite)) < 1e-9))
    encoder = Continuous.fit(x, integer=integer, step=counts, tail=1 if counts else tail, years=years)
    encoder.smooth = not counts
    return encoder
