"""The sample stage's shortcuts (issue 12, speed) give what the general path gives, value for value
and type for type: sampled columns are object arrays of Python floats, ints, dates and strings, and
they skip the per-value parsing (pd.to_numeric, pd.isna) that other spellings still go through."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from relsynth.model import values as V
from relsynth.schema import SqlType
from relsynth.transform import Categorical

SPELLINGS: dict[str, list[Any]] = {
    "floats": [1.5, 2.25, float("nan"), 3.0],
    "floats and None": [1.5, None, 2.0],
    "ints": [1, 2, 3],
    "ints past 2^53": [2**60, 1],
    "ints past 2^64": [2**70, 1],
    "ints past a float": [2**1100, 1],
    "ints and floats": [1, 2.5],
    "decimals": [Decimal("1.5"), None],
    "text": ["a", " b", "c"],
    "numbers as text": ["1.5", "2"],
    "numpy text": [np.str_("a"), "b"],
    "text and None": ["a", None],
    "dates": [dt.date(2020, 1, 1), dt.date(1500, 1, 1), dt.date(2300, 5, 5)],
    "dates after 64 NULLs": [None] * 70 + [dt.date(2020, 1, 1), None],
    "dates and datetimes": [dt.datetime(2020, 1, 1, 3), dt.date(2020, 1, 2)],
    "booleans": [True, False],
    "nothing": [],
    "NULLs": [None, None],
    "NaNs": [float("nan"), float("nan")],
    "numpy numbers": [np.float32(1.5), np.float64(2.5), np.int64(3)],
    "numpy ints": [np.int64(3), np.uint64(2**63)],
    "times": [dt.time(1, 2, 3), None],
}
TYPES = [
    SqlType("integer"),
    SqlType("numeric", precision=10, scale=2),
    SqlType("numeric", precision=20, scale=0),
    SqlType("double"),
    SqlType("date"),
    SqlType("string"),
    SqlType("uuid"),
]


def _general_numeric_values(values: pd.Series) -> np.ndarray:
    """numeric_values as it was before its shortcuts, for object columns."""
    known = values.dropna()
    if known.empty:
        return np.full(len(values), np.nan)
    first = known.iloc[0]
    if isinstance(first, str) or hasattr(first, "isoformat"):
        return V.numeric_values(values)  # the unchanged branches
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def _spelled(x: Any) -> Any:
    if isinstance(x, pd.Series):
        return (str(x.dtype), x.name, list(x.index), [(type(v).__name__, repr(v)) for v in x])
    x = np.asarray(x)
    return (str(x.dtype), x.shape, [repr(v) for v in x.tolist()])


def _outcome(f: Any, *args: Any) -> Any:
    try:
        return _spelled(f(*args))
    except Exception as err:  # the same error either way
        return type(err).__name__


@pytest.mark.parametrize("name", sorted(SPELLINGS))
def test_numeric_values_of_object_columns_as_before(name: str) -> None:
    s = pd.Series(SPELLINGS[name], dtype=object, name="c", index=pd.RangeIndex(len(SPELLINGS[name])) + 3)
    assert _outcome(V.numeric_values, s) == _outcome(_general_numeric_values, s)


def test_sampled_numbers_are_not_parsed_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Object columns of Python floats and ints (as decoded) become floats without pd.to_numeric,
    and a date column's first value is found without a pass over the whole column."""
    floats = pd.Series([1.25, float("nan"), 3.0], dtype=object)
    ints = pd.Series([1, 2, 3], dtype=object)
    dates = pd.Series([dt.date(2020, 1, 1)] * 1000, dtype=object)

    def refuse(*args: Any, **kw: Any) -> Any:
        raise AssertionError("parsed one value at a time")

    monkeypatch.setattr(V.pd, "to_numeric", refuse)
    np.testing.assert_array_equal(V.numeric_values(floats), [1.25, np.nan, 3.0])
    np.testing.assert_array_equal(V.numeric_values(ints), [1.0, 2.0, 3.0])
    assert V.coerce(floats, SqlType("numeric", precision=10, scale=1)).tolist()[::2] == [1.2, 3.0]
    assert V.coerce(ints, SqlType("integer")).tolist() == [1, 2, 3]
    dropna = pd.Series.dropna

    def head_only(self: pd.Series, *args: Any, **kw: Any) -> pd.Series:
        assert len(self) <= 64, "a pass over the whole column"
        return dropna(self, *args, **kw)

    monkeypatch.setattr(pd.Series, "dropna", head_only)
    assert V.numeric_values(dates)[0] == 1577836800.0


@pytest.mark.parametrize("t", TYPES, ids=lambda t: f"{t.name}{t.precision or ''}")
@pytest.mark.parametrize("name", sorted(SPELLINGS))
def test_coerce_as_before(name: str, t: SqlType, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each shortcut of coerce against coerce with the shortcuts turned off (no column is 'all
    floats', 'all dates' or 'all text')."""
    s = pd.Series(SPELLINGS[name], dtype=object, name="c", index=pd.RangeIndex(len(SPELLINGS[name])) + 3)
    fast = _outcome(V.coerce, s, t)
    monkeypatch.setattr(V, "_floats", lambda values: None)
    monkeypatch.setattr(V, "_all_of_type", lambda objects, kind: False)
    assert fast == _outcome(V.coerce, s, t)


def test_categorical_decode_gives_the_level_objects() -> None:
    levels = ["a", 2, None, dt.date(2020, 1, 1), Decimal("1.5")]
    enc = Categorical(levels=levels, cum=np.cumsum(np.full(len(levels), 1 / len(levels))))
    z = np.random.default_rng(0).standard_normal(200)
    out = enc.decode(z)
    assert out.dtype == object and len(out) == 200
    codes = enc.decode_codes(z)
    assert all(v is levels[k] for v, k in zip(out, codes, strict=True))
    assert len(enc.decode(np.zeros(0))) == 0


MIXED_LEVELS: list[Any] = [
    1, True, 1.0, 2, "1", "a", None, float("nan"), pd.NaT, pd.NA, Decimal("2"), dt.date(2020, 1, 1),
    ("t", 1), ("t", float("nan")), np.int64(3), 3.0, -0.0, 0,
]  # fmt: skip


def _row_by_row(columns: list[Any], index: dict[Any, int], tuples: bool) -> np.ndarray:
    from relsynth.model.rare import _key

    keyed = zip(*(map(_key, c) for c in columns), strict=True) if tuples else map(_key, columns[0])
    return np.fromiter((index.get(v, -1) for v in keyed), dtype=np.int64, count=len(columns[0]))


@pytest.mark.parametrize("seed", range(6))
def test_level_codes_as_row_by_row(seed: int) -> None:
    """ByLevel's rows per level, found per distinct value, are those found row by row (values
    merged as a dict merges them, every kind of NULL a key of its own)."""
    from relsynth.model.by_level import _level_codes
    from relsynth.model.rare import _key

    rng = np.random.default_rng(seed)
    pick = [MIXED_LEVELS[i] for i in rng.integers(0, len(MIXED_LEVELS), 300)]
    other = [MIXED_LEVELS[i] for i in rng.integers(0, len(MIXED_LEVELS), 300)]
    one = {_key(v): i for i, v in enumerate(MIXED_LEVELS[::2]) if not isinstance(v, tuple)}
    got = _level_codes([pd.Series(pick, dtype=object)], one, False)
    want = _row_by_row([pd.Series(pick, dtype=object)], one, False)
    assert got is None or (got == want).all()
    plain = [v for v in pick if not isinstance(v, tuple)]
    got = _level_codes([pd.Series(plain, dtype=object)], one, False)
    assert got is not None and (got == _row_by_row([pd.Series(plain, dtype=object)], one, False)).all()
    pairs = {(_key(a), _key(b)): i for i, (a, b) in enumerate(zip(plain[:40], other[:40], strict=False))}
    cols = [pd.Series(plain, dtype=object), pd.Series(other[: len(plain)], dtype=object)]
    got = _level_codes(cols, pairs, True)
    want = _row_by_row(cols, pairs, True)
    assert got is None or (got == want).all()
    floats = [pd.Series(rng.integers(0, 5, 200).astype(float)), pd.Series(rng.integers(0, 3, 200))]
    levels = {(float(a), int(b)): i for i, (a, b) in enumerate([(0, 0), (1, 2), (4, 1), (3, 3)])}
    got = _level_codes(floats, levels, True)
    assert got is not None and (got == _row_by_row(floats, levels, True)).all()
    assert _level_codes([pd.Series([[1], [2]], dtype=object)], {}, False) is None  # unhashable


@pytest.mark.parametrize("seed", range(4))
def test_in_list_membership_as_row_by_row(seed: int) -> None:
    """A CHECK's IN list looked up per distinct value gives what a lookup per row gives."""
    from relsynth.model import checks as ck

    rng = np.random.default_rng(seed)
    values = ["a", "b", "c ", None, "d", 1, 2.0, True, dt.date(2020, 1, 1)]
    for allowed in (["a", "b"], ["a", None], [1, 2], [1, "2"], [dt.date(2020, 1, 1), "x"]):
        v = np.array([values[i] for i in rng.integers(0, len(values), 500)] + [[1]], dtype=object)
        v[-1] = None
        lookup = set(allowed)
        for mixed in (False, True):
            want = np.fromiter(
                (x is not None and ck._member(x, lookup, allowed, mixed) for x in v), bool, len(v)
            )
            assert (ck._inside(v, lookup, allowed, mixed) == want).all()


def test_a_text_operand_is_its_values() -> None:
    from relsynth.model import checks as ck
    from relsynth.model.checks import Col

    frame = pd.DataFrame({"t": pd.Series(["a", None, "b "], dtype=object)})
    frame["m"] = pd.Series(["a", float("nan"), Decimal("1.5")], dtype=object)
    assert ck._side(Col("t"), frame).tolist() == ["a", None, "b "]
    assert ck._side(Col("m"), frame).tolist() == ["a", None, 1.5]


def test_stable_order_is_the_stable_argsort() -> None:
    from relsynth.model.sample import _stable_order

    rng = np.random.default_rng(0)
    distinct = rng.standard_normal(1000)
    ties = np.round(distinct, 1)
    nans = distinct.copy()
    nans[[3, 70, 500]] = np.nan
    zeros = np.array([0.0, -0.0, 1.0, 0.0])
    for x in (distinct, ties, nans, zeros, np.zeros(0), np.ones(1), np.column_stack([ties, distinct])[:, 0]):
        assert (_stable_order(x) == np.argsort(x, kind="stable")).all()


@pytest.mark.parametrize("fold", [False, True])
def test_guard_digest_of_text_as_through_pandas(fold: bool) -> None:
    from relsynth.model.text import SourceGuard
    from relsynth.model.values import hashed_text

    guard = SourceGuard(b"0123456789abcdef", np.array([1, 2], dtype=np.uint64), fold=fold)
    text = np.array([" Ann ", "BOB", "straße", "a\\b", "x\x00y", "", "ǅ"], dtype=object)
    series = pd.Series(text, dtype=object).astype(str).str.strip()
    series = series.str.casefold() if fold else series
    want = hashed_text(series.to_numpy(dtype=object), guard._hash_key)
    assert (guard.digest(text) == want).all()
    mixed = np.array([" Ann ", None, 3], dtype=object)  # not all text: through pandas, as before
    series = pd.Series(mixed, dtype=object).astype(str).str.strip()
    series = series.str.casefold() if fold else series
    assert (guard.digest(mixed) == hashed_text(series.to_numpy(dtype=object), guard._hash_key)).all()


def test_int64_as_astype() -> None:
    for floats in ([1.0, np.nan, -3.0, 2.0**62], [np.nan, np.nan], [], [5.0]):
        num = pd.Series(floats, dtype=float, name="n", index=pd.RangeIndex(len(floats)) + 2)
        got, want = V._int64(num), num.astype("Int64")
        assert got.equals(want) and got.name == want.name and got.index.equals(want.index)
        assert (got.array._data == want.array._data).all() and (got.array._mask == want.array._mask).all()
    with pytest.raises(TypeError):
        V._int64(pd.Series([1.5]))
