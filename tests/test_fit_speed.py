"""The fit's vectorized paths give what the per-value code they replaced gave (issue 12: the fit
stage's CPU seconds). Each reference below is the replaced code, kept verbatim; the inputs are
the awkward ones: NULLs of every kind (None, NaN, NaT, NA, a Decimal NaN, a float32 NaN), mixed
types (1, 1.0 and True), integers past a float's and int64's, -0.0, unicode, tuples."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from relsynth.model import by_level, rare
from relsynth.model.rare import _key
from relsynth.model.relations import _codes_of
from relsynth.model.values import _factorized, value_codes
from relsynth.read import _rstripped
from relsynth.transform import Continuous, tie_bounds

ODD = [
    None,
    np.nan,
    float("nan"),
    pd.NaT,
    pd.NA,
    Decimal("NaN"),
    np.float32("nan"),
    np.datetime64("NaT"),
    1,
    1.0,
    True,
    0.0,
    -0.0,
    2**53 + 1,
    2**70,
    -(2**63),
    Decimal("1.50"),
    "é",
    "日本",
    "a ",
    "",
    (1, None),
    dt.date(2020, 1, 1),
    pd.Timestamp("2020-01-01"),
    b"x",
]


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _series_cases() -> list[Any]:
    rng = np.random.default_rng(7)
    picks = [ODD[i] for i in rng.integers(0, len(ODD), 400)]
    return [
        pd.Series(_objects(picks), dtype=object),
        _objects(picks),
        pd.Series([1.5, np.nan, -0.0, 0.0, np.inf, 2.0] * 20),
        pd.Series(np.array([1.5, np.nan, 2.5], dtype=np.float32)),
        pd.Series([1, 2, 2**62, -5] * 10),
        pd.Series(np.array([2**64 - 1, 0], dtype=np.uint64)),
        pd.Series([True, False, True]),
        pd.Series(pd.to_datetime(["2020-01-01", None, "2021-05-06"])),
        pd.Series([1, None, 3], dtype="Int64"),
        pd.Series(["a", None, "b"], dtype="category"),
        pd.Series(["x", None, "y"], dtype="string"),
        np.array([1.0, np.nan, 2.0]),
        np.array([np.float32(np.nan), np.float32(1)], dtype=np.float32),
        np.array([3, 4, 3]),
        [None, float("nan"), "a", 1],
        pd.Series([], dtype=object),
    ]


def _same(a: Any, b: Any) -> bool:
    """Equal and of one type, NaN-like values by identity or both NaN."""
    if type(a) is not type(b):
        return False
    if a is b:
        return True
    try:
        if a != a and b != b:
            return True
    except TypeError:
        pass
    try:
        return bool(a == b)
    except TypeError:
        return False


@pytest.mark.parametrize("values", _series_cases())
def test_keys_of_is_key_per_value(values: Any) -> None:
    want = [_key(v) for v in values]
    got = rare.keys_of(values)
    assert got.dtype == object and got.shape == (len(want),)
    assert all(_same(g, w) for g, w in zip(got, want, strict=True))
    _, nones = rare._keys_and_nones(values)
    assert nones.tolist() == [w is None for w in want]


def _old_fold_rare(values: pd.Series, common: set[Any]) -> np.ndarray:
    keys = np.array([_key(v) for v in values.to_numpy(dtype=object)], dtype=object)
    return np.array([k is not None and k not in common for k in keys], dtype=bool)


def _old_fold(values: pd.Series, common: set[Any], rng: np.random.Generator) -> pd.Series:
    objects = values.to_numpy(dtype=object).copy()
    keys = np.array([_key(v) for v in objects], dtype=object)
    rare_ = np.array([k is not None and k not in common for k in keys], dtype=bool)
    if not rare_.any():
        return values
    levels = sorted(common, key=str)
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in levels)
    if numeric:
        grid = np.asarray(sorted(levels), dtype=float)
        x = np.asarray([float(v) for v in keys[rare_]])
        right = np.clip(np.searchsorted(grid, x), 0, len(grid) - 1)
        left = np.clip(right - 1, 0, len(grid) - 1)
        pick = np.where(np.abs(grid[left] - x) <= np.abs(grid[right] - x), left, right)
        chosen = [sorted(levels)[i] for i in pick]
    else:
        seen = pd.Series(keys[~rare_ & (keys != None)]).value_counts()  # noqa: E711
        counts = seen.reindex(levels).fillna(0).to_numpy(dtype=float) + 1.0
        chosen = [levels[i] for i in rng.choice(len(levels), size=int(rare_.sum()), p=counts / counts.sum())]
    out = objects
    out[np.flatnonzero(rare_)] = chosen
    return pd.Series(out, index=values.index, dtype=object)


@pytest.mark.parametrize(
    ("values", "common"),
    [
        (
            pd.Series(_objects([1, 1.0, True, 2, None, np.nan, pd.NaT, 3, 2**70, Decimal("2")] * 5)),
            {1, 2**70},
        ),
        (pd.Series(_objects(["é", "日本", None, "a", "b", np.nan, pd.NA] * 5)), {"日本", "a"}),
        (pd.Series(_objects(["é", "日本", None, "a", "b", np.nan, pd.NaT, 1, True] * 5)), {"日本", "a", 1}),
        (pd.Series([1.5, 2.5, np.nan, -0.0, 0.0, 7.0] * 5), {0.0, 7.0}),
        (pd.Series([1, 5, 9, 12] * 5), {5, 12}),
        (pd.Series(_objects([1, 1.0, True, 2, None, np.nan, 3, 2**70, Decimal("2"), 2.6] * 5)), {1, 3}),
        (pd.Series(_objects([(1, None), (2, 3), None, (1, None)])), {(1, None)}),
    ],
)
def test_fold_as_per_value(values: pd.Series, common: set[Any]) -> None:
    keys, nones = rare._keys_and_nones(values.to_numpy(dtype=object))
    assert rare._outside(keys, nones, common).tolist() == _old_fold_rare(values, common).tolist()
    got = _outcome(lambda: rare.fold(values, common, np.random.default_rng(3)))
    want = _outcome(lambda: _old_fold(values, common, np.random.default_rng(3)))
    assert got[0] == want[0]  # a value, or the same error (a NaT among numbers has no float)
    if got[0] == "value":
        assert all(_same(g, w) for g, w in zip(got[1], want[1], strict=True))


def _outcome(f: Any) -> tuple[Any, Any]:
    try:
        return "value", f()
    except Exception as err:
        return type(err), None


@pytest.mark.parametrize("values", [v for v in _series_cases() if isinstance(v, pd.Series)])
def test_known_levels_as_map_nunique(values: pd.Series) -> None:
    assert rare.known_levels(values) == values.dropna().map(_key).nunique()


@pytest.mark.parametrize(
    "values",
    [
        [1, 2.0, 2**53 + 1, 3.5],
        [2**64 + 1, 3, 3],
        [pd.Timestamp("2020-01-01"), dt.datetime(2020, 1, 1), None],
        [pd.Timestamp("2020-01-01", tz="UTC"), pd.Timestamp("2020-01-01", tz="Europe/Paris")],
        [True, 1, "1", b"1", Decimal("1")],
        [dt.date(2020, 1, 1), dt.time(1, 2), pd.Timedelta(1), pd.Period("2020-01")],
    ],
)
def test_known_levels_mixed_objects(values: list[Any]) -> None:
    series = pd.Series(_objects(values), dtype=object)
    assert rare.known_levels(series) == series.dropna().map(_key).nunique()


def _old_level_codes(columns: list[Any], index: dict[Any, int], tuples: bool) -> np.ndarray:
    objects = [np.asarray(c, dtype=object) for c in columns]
    keys = [tuple(_key(values[i]) for values in objects) for i in range(len(objects[0]))]
    return np.array([index.get(k if tuples else k[0], -1) for k in keys], dtype=np.int64)


def test_level_codes_as_a_lookup_per_row() -> None:
    rng = np.random.default_rng(11)
    pool = [None, np.nan, pd.NaT, pd.NA, np.float32("nan"), 1, 1.0, True, "a", "é", 2**70]
    a = _objects([pool[i] for i in rng.integers(0, len(pool), 300)])
    b = _objects([pool[i] for i in rng.integers(0, len(pool), 300)])
    single = {_key(v): i for i, v in enumerate([None, 1, "a", pd.NaT, 2**70])}
    got = by_level._level_codes([a], single, False)
    assert got is not None and got.tolist() == _old_level_codes([a], single, False).tolist()
    pairs = {
        (x, y): i for i, (x, y) in enumerate([(None, None), (1, "a"), ("a", None), (None, 1), (pd.NaT, 1)])
    }
    got = by_level._level_codes([a, b], pairs, True)
    assert got is not None and got.tolist() == _old_level_codes([a, b], pairs, True).tolist()


def test_codes_of_as_factorized_tuples() -> None:
    rng = np.random.default_rng(5)
    pool = [None, np.nan, 1, 1.0, True, 2, "x", "\0null", 2**70, -0.0, 0.0]
    frame = pd.DataFrame(
        {
            "a": _objects([pool[i] for i in rng.integers(0, len(pool), 500)]),
            "b": rng.integers(0, 4, 500),
            "c": np.where(rng.random(500) < 0.2, np.nan, rng.integers(0, 3, 500).astype(float)),
        }
    )
    for cols in (["a"], ["b"], ["a", "b"], ["a", "b", "c"], ["c", "a"]):
        part = frame[cols]
        want = part.astype(object).where(part.notna(), "\0null").apply(tuple, axis=1).factorize()[0]
        assert _codes_of(part).tolist() == want.tolist()


@pytest.mark.parametrize(
    "x",
    [
        np.array([3.0, 1.0, np.nan, 1.0, -0.0, 0.0, np.inf, -np.inf, np.nan, 3.0]),
        np.array([5, 1, 5, 5, 2]),
        np.array([True, False, True]),
        np.array([0.5]),
        np.zeros(0),
    ],
)
def test_tie_bounds_as_searchsorted(x: np.ndarray) -> None:
    for order in (np.argsort(x, kind="stable"), np.argsort(x)):
        sx = x[order]
        first, last = tie_bounds(x, order)
        assert first.tolist() == np.searchsorted(sx, x, side="left").tolist()
        assert last.tolist() == np.searchsorted(sx, x, side="right").tolist()


def test_scores_as_before() -> None:
    x = np.array([3.0, 1.0, 1.0, 2.0, np.nan, 2.0, 2.0, -0.0, 0.0])
    sx = np.sort(x, kind="stable")
    from relsynth.transform import interval_mean

    n = len(x)
    want = interval_mean(np.searchsorted(sx, x, side="left") / n, np.searchsorted(sx, x, side="right") / n)
    assert np.array_equal(Continuous.scores_array(x), want, equal_nan=True)


@pytest.mark.parametrize(
    "values",
    [
        pd.Series([0.0, -0.0, np.nan, 1.0, 2**53, 2**53 + 2.0, np.inf]),
        pd.Series([2**62, -(2**62), 0, 2**62]),
        pd.Series(np.array([2**64 - 1, 2**63, 1, 2**63], dtype=np.uint64)),
        pd.Series([True, False, False]),
        pd.Series(np.array([1.5, np.nan, 1.5], dtype=np.float32)),
    ],
)
def test_numeric_value_codes_as_objects(values: pd.Series) -> None:
    got, want = value_codes(values), _factorized(values)[0]
    assert got.tolist() == want.tolist() and got.dtype == want.dtype


@pytest.mark.parametrize(
    "values",
    [
        _objects(["MAIL      ", "AIR ", None, "MAIL      ", np.nan, "日本  ", "", "  x  "]),
        _objects(["a ", 1, None]),  # not all text: value by value
        _objects([["unhashable "], "b "]),
        _objects([]),
    ],
)
def test_rstripped_as_per_value(values: np.ndarray) -> None:
    want = np.array([v.rstrip(" ") if type(v) is str else v for v in values], dtype=object)
    got = _rstripped(values)
    assert got.dtype == object and len(got) == len(want)
    assert all(_same(g, w) for g, w in zip(got, want, strict=True))


def _old_beyond_kth_people(x: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros(len(x), dtype=bool)
    known = ~np.isnan(x)
    if not known.any():
        return out
    by = pd.DataFrame({"c": codes[known], "x": x[known]})
    highs = np.sort(by.groupby("c")["x"].max().to_numpy())[::-1]
    lows = np.sort(by.groupby("c")["x"].min().to_numpy())
    if len(highs) < k:
        return out
    for beyond, nearest_first in (
        (np.flatnonzero(known & (x > highs[k - 1])), 1.0),
        (np.flatnonzero(known & (x < lows[k - 1])), -1.0),
    ):
        if len(beyond) >= k:
            order = beyond[np.argsort(nearest_first * x[beyond], kind="stable")]
            out[order[k - 1 :]] = True
    return out


def test_beyond_kth_people_as_grouped() -> None:
    rng = np.random.default_rng(23)
    pool = np.array([0.0, -0.0, 1.0, 2.5, np.inf, -np.inf, np.nan, 7.0, 777.0, 3.0])
    for trial in range(300):
        n = int(rng.integers(1, 200))
        x = rng.choice(pool, n) if trial % 2 else rng.normal(size=n).round(1)
        codes = pd.factorize(rng.integers(-3, 25, n))[0]
        for k in (1, 2, 5):
            assert (
                rare._beyond_kth_people(x, codes, k).tolist() == _old_beyond_kth_people(x, codes, k).tolist()
            )


def _old_has_text(objects: np.ndarray) -> bool:
    return bool(np.fromiter((type(v) is str for v in objects), dtype=bool, count=len(objects)).any())


@pytest.mark.parametrize(
    "values",
    [
        [dt.date(2020, 1, 1), None, dt.date(1999, 12, 31)],
        [dt.datetime(2020, 1, 1), pd.NaT, np.nan, pd.Timestamp("2021-01-01")],
        [dt.datetime(2020, 1, 1, tzinfo=dt.UTC), None],
        [None, None],
        [],
        [dt.date(2020, 1, 1), "infinity"],
        ["-infinity", None],
        ["2020-01-01", "0000-00-00"],
    ],
)
def test_special_dates_skip_only_columns_without_text(values: list[Any]) -> None:
    from relsynth.model import sentinels
    from relsynth.schema import Column, SqlType

    col = Column("d", SqlType("date"))
    objects = _objects(values)
    read = sentinels._read_column(col, objects)
    if not _old_has_text(objects):
        assert read is None
    else:
        assert read is not None
