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


# -- perfsample (issue 12): per-value Python loops of the sample stage replaced; each against the
# code it replaced, kept here as the reference ------------------------------------------------------
class _Str(str):
    pass


ODD_VALUES: list[Any] = [
    "a", "", " b ", "ǅé\u3000", "x\x00y", _Str("sub"), np.str_("np"), None, float("nan"), 1.5, -0.0,
    2**60 + 1, 2**70, 1, True, False, np.bool_(True), np.int64(3), np.float64(2.5), Decimal("1.5"),
    dt.date(2020, 1, 1), dt.datetime(2020, 1, 1, 3), pd.Timestamp("2020-01-02"), dt.time(1, 2),
    pd.NaT, pd.NA,
]  # fmt: skip


def _draws(rng: np.random.Generator, pool: list[Any], n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[:] = [pool[i] for i in rng.integers(0, len(pool), n)] if n else []
    return out


def _samples(seed: int) -> list[np.ndarray]:
    """Object arrays: empty, one value, all of one type, mixed, each NULL kind."""
    rng = np.random.default_rng(seed)
    out = [np.empty(0, dtype=object)]
    for v in ODD_VALUES:
        out.append(_draws(rng, [v], 1))
        out.append(_draws(rng, [v], 5))
        out.append(_draws(rng, [v, None], 20))
    for _ in range(30):
        k = int(rng.integers(1, 4))
        pool = [ODD_VALUES[i] for i in rng.integers(0, len(ODD_VALUES), k)]
        out.append(_draws(rng, pool, int(rng.integers(0, 50))))
    return out


@pytest.mark.parametrize("seed", range(3))
def test_all_of_type_as_the_generator(seed: int) -> None:
    for objects in _samples(seed):
        for kind in (str, dt.date, dt.datetime, int, float, bool, type(None)):
            assert V._all_of_type(objects, kind) == all(type(v) is kind for v in objects)


def _old_coerce_text(objects: np.ndarray) -> np.ndarray:
    """coerce's str/uuid branch past its first shortcut, as it was."""
    missing = pd.isna(objects)
    return np.array(
        [None if m else v if type(v) is str else str(v) for v, m in zip(objects, missing, strict=True)],
        dtype=object,
    )


def _old_coerce_date(s: pd.Series) -> pd.Series:
    """coerce's date branch past its first shortcut, as it was."""
    objects = s.to_numpy(dtype=object)
    missing = pd.isna(objects)
    if all(m or type(v) is dt.date for v, m in zip(objects, missing, strict=True)):
        dates = objects.copy()
        dates[missing] = None
        return pd.Series(dates, index=s.index, dtype=object)
    return s.map(
        lambda v: (
            v
            if v is None or (isinstance(v, dt.date) and not isinstance(v, dt.datetime))
            else (None if V._isna(v) else pd.Timestamp(v).date())
        )
    )


@pytest.mark.parametrize("seed", range(3))
def test_coerce_text_and_dates_with_nulls_as_before(seed: int) -> None:
    for objects in _samples(seed):
        s = pd.Series(objects, dtype=object, name="c", index=pd.RangeIndex(len(objects)) + 7)
        want = pd.Series(_old_coerce_text(objects), index=s.index, dtype=object)
        if all(type(v) is str for v in objects):  # coerce's first shortcut, unchanged
            want = pd.Series(objects.copy(), index=s.index, dtype=object)
        for t in (SqlType("string"), SqlType("uuid")):
            assert _spelled(V.coerce(s, t)) == _spelled(want)
        dates = [v for v in objects if type(v) is dt.date or v is None or v is pd.NaT or v is pd.NA]
        s = pd.Series(np.array(dates + [None] * (not dates), dtype=object), dtype=object)
        assert _spelled(V.coerce(s, SqlType("date"))) == _spelled(_old_coerce_date(s))
    mixed = pd.Series([dt.date(2020, 1, 1), None, "2021-02-03"], dtype=object)
    assert _outcome(V.coerce, mixed, SqlType("date")) == _outcome(_old_coerce_date, mixed)


@pytest.mark.parametrize("fold", [False, True])
def test_guard_digest_of_odd_text_as_through_pandas(fold: bool) -> None:
    from relsynth.model.text import SourceGuard
    from relsynth.model.values import hashed_text

    guard = SourceGuard(b"0123456789abcdef", np.array([1, 2], dtype=np.uint64), fold=fold)
    rng = np.random.default_rng(1)
    chars = [*"aZ ß\u3000\xa0\x1c\t\nǅİ\\", "\U0001f600"]
    texts = ["".join(rng.choice(chars, int(rng.integers(0, 6)))) for _ in range(300)]
    for text in (np.array(texts, dtype=object), np.array(texts[:1], dtype=object), np.empty(0, dtype=object)):
        series = pd.Series(text, dtype=object).astype(str).str.strip()
        series = series.str.casefold() if fold else series
        want = hashed_text(series.to_numpy(dtype=object), guard._hash_key)
        assert (guard.digest(text) == want).all() and len(guard.digest(text)) == len(text)


def _old_cut(run: str, begins: np.ndarray, targets: np.ndarray) -> list[str]:
    """PeopleFactory._text's loop, as it was."""
    out = []
    for b, t in zip(begins, targets, strict=True):
        text = run[b : b + t + 1]
        if len(text) > t:
            text = text[:t].rsplit(" ", 1)[0] or text[:t]
        out.append(text.strip())
    return out


@pytest.mark.parametrize("seed", range(4))
def test_cut_texts_as_the_loop(seed: int) -> None:
    from relsynth.model.pii import _cut_texts

    rng = np.random.default_rng(seed)
    for alphabet in ("ab  .X", "a ", " ", "ab", "Lorem ipsum. Dolor sit amet. "):
        for _ in range(300):
            size = int(rng.integers(0, 80))
            run = "".join(rng.choice(list(alphabet), size))
            n = int(rng.integers(0, 12))
            begins, targets = rng.integers(0, size + 3, n), rng.integers(1, 20, n)
            got = _cut_texts(run, begins, targets)
            assert got is not None and got.dtype == object
            assert got.tolist() == _old_cut(run, begins, targets)
    for odd in ("a\tb c", "a\nb", "café au lait", "a\x1fb", "a\u3000b"):  # strip() removes more: the loop
        assert _cut_texts(odd, np.array([0]), np.array([3])) is None


def test_free_text_as_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Faker's own sentences, through the whole of _text, with and without the shortcut."""
    from relsynth.model import pii

    for n, lengths in ((1, [5, 9]), (3, [1, 2]), (700, [10, 44, 117]), (2500, [40, 120])):
        model = pii.PiiModel(category="free_text", lengths=lengths)
        people = pii.PeopleFactory("en_US", n, n, None, np.random.default_rng(n))
        fast = people._text(model, np.random.default_rng(5))
        with monkeypatch.context() as m:
            m.setattr(pii, "_cut_texts", lambda *a: None)
            people = pii.PeopleFactory("en_US", n, n, None, np.random.default_rng(n))
            slow = people._text(model, np.random.default_rng(5))
        assert fast.dtype == slow.dtype == object and fast.tolist() == slow.tolist()


def _old_fit_length(values: np.ndarray, length: int) -> np.ndarray:
    return np.array(
        [v[:length] if isinstance(v, str) and len(v) > length else v for v in values], dtype=object
    )


@pytest.mark.parametrize("seed", range(3))
def test_fit_length_as_the_list(seed: int) -> None:
    from relsynth.model.generate import fit_length

    rng = np.random.default_rng(seed)
    words = ["", "a", "abcd", "abcdef", "ǅéß\U0001f600xyz", "  ab  ", "x" * 40]
    arrays = [_draws(rng, words, k) for k in (0, 1, 2, 50)] + _samples(seed)
    for values in arrays:
        for length in (1, 3, 4, 10):
            got = fit_length(values.copy(), length, False, rng)
            assert _spelled(got) == _spelled(_old_fit_length(values, length))
    strs = _draws(rng, words, 30)
    assert fit_length(strs, 3, False, rng) is not strs  # a new array, as before


def _old_and(a: pd.Series, b: pd.Series) -> pd.Series:
    return pd.Series(
        [
            False if (x is False or y is False) else (None if (x is None or y is None) else True)
            for x, y in zip(a, b, strict=True)
        ],
        index=a.index,
        dtype=object,
    )


def _old_or(a: pd.Series, b: pd.Series) -> pd.Series:
    return pd.Series(
        [
            True if (x is True or y is True) else (None if (x is None or y is None) else False)
            for x, y in zip(a, b, strict=True)
        ],
        index=a.index,
        dtype=object,
    )


@pytest.mark.parametrize("seed", range(3))
def test_check_and_or_as_the_lists(seed: int) -> None:
    from relsynth.model import checks as ck

    rng = np.random.default_rng(seed)
    pools: list[list[Any]] = [
        [True, False, None],
        [True],
        [None],
        [False, None],
        [np.bool_(False), True, None],
    ]
    for pa_, pb in [(p, q) for p in pools for q in pools]:
        for n in (0, 1, 40):
            idx = pd.RangeIndex(n) + 5
            a = pd.Series(_draws(rng, pa_, n), index=idx, dtype=object)
            b = pd.Series(_draws(rng, pb, n), index=idx, dtype=object)
            for x in (a, a.astype(bool) if n and None not in pa_ else a):
                assert _spelled(ck._and(x, b)) == _spelled(_old_and(x, b))
                assert _spelled(ck._or(x, b)) == _spelled(_old_or(x, b))


@pytest.mark.parametrize("seed", range(3))
def test_check_failed_and_side_as_before(seed: int) -> None:
    from relsynth.model import checks as ck
    from relsynth.model.checks import Col

    for objects in _samples(seed):
        with_failed = objects.copy()
        if len(with_failed):
            with_failed[0] = ck.FAILED
        for v in (objects, with_failed, np.zeros(3)):
            want = (
                np.fromiter((x is ck.FAILED for x in v), dtype=bool, count=len(v))
                if v.dtype == object
                else np.zeros(len(v), dtype=bool)
            )
            assert (ck._failed(v) == want).all()
        frame = pd.DataFrame({"c": pd.Series(objects, dtype=object)})
        if all(type(v) is str or v is None for v in objects):
            want_side = objects.copy()
        else:
            want_side = ck._objects(map(ck._plain, frame["c"].tolist()), len(frame))
        assert _spelled(ck._side(Col("c"), frame)) == _spelled(want_side)


@pytest.mark.parametrize("seed", range(4))
def test_free_places_as_the_list(seed: int) -> None:
    """A repeated row's choices in a composite UNIQUE (assign._redraw_member): the domain's places
    whose key is not taken, found from the taken keys, are those the list of every place found."""
    from relsynth.model.assign import _free_places, _places

    rng = np.random.default_rng(seed)
    nan = float("nan")
    pool: list[Any] = [
        1, 1.0, True, 0, False, "a", "ǅ", "", None, nan, 2**60 + 1, 2**60, dt.date(2020, 1, 1), ("t", 1),
    ]  # fmt: skip
    for size in (0, 1, 5, 40):
        keys = [pool[i] for i in rng.integers(0, len(pool), size)]
        places = _places(keys)
        for k in (0, 1, 3, 60):
            taken = {pool[i] for i in rng.integers(0, len(pool), k)} | ({nan} if k == 3 else set())
            want = [j for j, v in enumerate(keys) if v not in taken]
            got = _free_places(keys, places, taken)
            assert [int(j) for j in got] == want and len(got) == len(want)


def _old_repair_checks(
    tm: Any, table: Any, frame: pd.DataFrame, rng: np.random.Generator, report: Any
) -> None:
    """sample._repair_checks as it was: repair, borrow and a count for every CHECK."""
    from relsynth.model import checks as ck

    free = {s.name for s in tm.columns if s.how in {"copula", "dependency", "text", "id", "pii"}}
    tp_keys = set(table.primary_key)
    nullable = {c.name for c in table.columns if c.nullable and c.name not in tp_keys}
    for check in table.checks:
        try:
            node = ck.parse(check.sql, table.sql_dialect)
        except ck.NotInterpretable:
            report.uninterpretable_checks.setdefault(table.name, []).append(check.sql)
            continue
        if not ck.columns_of(node) <= set(frame.columns):
            continue
        ck.repair(node, frame, free, rng, nullable=nullable)
        ck.borrow(node, frame, free, rng)
        left = int(ck.violations(node, frame).sum())
        if left:
            report.check_violations.setdefault(table.name, {})[check.sql] = left


@pytest.mark.parametrize("seed", range(4))
def test_repair_checks_as_before(seed: int) -> None:
    """A CHECK no row breaks is evaluated once, not by repair, borrow and the count: the same
    frame, report and random draws as before, whether rows break it or not."""
    from types import SimpleNamespace

    from relsynth.model.sample import SampleReport, _repair_checks
    from relsynth.schema import Check, Column, Table

    checks = (
        "a >= 0",
        "a < b",
        "c IN ('x', 'y')",
        "a IS NULL OR a <= 50",
        "b BETWEEN 0 AND 90 AND c <> 'z'",
        "length(c) = 1",
        "nonsense((",
    )
    cols = (
        Column("a", SqlType("integer")),
        Column("b", SqlType("double")),
        Column("c", SqlType("string")),
    )
    table = Table("t", cols, checks=tuple(Check(None, sql) for sql in checks))
    tm = SimpleNamespace(columns=[SimpleNamespace(name=c, how="copula") for c in "abc"])
    rng = np.random.default_rng(seed)
    repaired = 0
    for n, spread in ((0, 1), (1, 1), (50, 0), (50, 1), (300, 1)):  # spread 0: nothing breaks
        a = rng.integers(0, 40, n) + spread * rng.integers(-30, 40, n)
        frame = pd.DataFrame(
            {
                "a": pd.Series(a, dtype=object).where(rng.random(n) > 0.1 * spread, None),
                "b": 41.0 + rng.random(n) * (1 + 60 * spread),
                "c": pd.Series(rng.choice(["x", "y", "z", "xx"][: 2 + 2 * spread], n), dtype=object),
            }
        )
        got, want = frame.copy(), frame.copy()
        r_got, r_want = np.random.default_rng(seed), np.random.default_rng(seed)
        rep_got, rep_want = SampleReport(), SampleReport()
        _repair_checks(tm, table, got, r_got, rep_got)  # type: ignore[arg-type]
        _old_repair_checks(tm, table, want, r_want, rep_want)
        assert got.equals(want) and [_spelled(got[c]) for c in got] == [_spelled(want[c]) for c in want]
        assert r_got.bit_generator.state == r_want.bit_generator.state
        assert rep_got.check_violations == rep_want.check_violations
        assert rep_got.uninterpretable_checks == rep_want.uninterpretable_checks
        repaired += not want.equals(frame)
    assert repaired  # the repairs ran too


EDGE_DATES: list[Any] = [
    dt.date(1, 1, 1), dt.date(1677, 9, 21), dt.date(1677, 9, 22), dt.date(1969, 12, 31), dt.date(1970, 1, 1),
    dt.date(2020, 2, 29), dt.date(2262, 4, 11), dt.date(2262, 4, 12), dt.date(9999, 12, 31), None,
]  # fmt: skip


@pytest.mark.parametrize("seed", range(3))
def test_date_seconds_as_through_to_datetime(seed: int) -> None:
    """Dates and None as seconds: numpy's conversion gives pd.to_datetime's, bit for bit, NaN past
    nanoseconds' range; any other column is left to it."""

    def old(values: pd.Series) -> np.ndarray:
        first = values.dropna().iloc[0]
        utc = getattr(first, "tzinfo", None) is not None
        return V.numeric_values(pd.to_datetime(values, errors="coerce", utc=utc))

    rng = np.random.default_rng(seed)
    for size in [1, 2, 5, 300]:
        for _ in range(40):
            vals = [EDGE_DATES[i] for i in rng.integers(0, len(EDGE_DATES), size)]
            vals[int(rng.integers(0, size))] = EDGE_DATES[int(rng.integers(0, len(EDGE_DATES) - 1))]
            s = pd.Series(vals, dtype=object)
            got = V.numeric_values(s)
            assert got.dtype == np.float64 and got.tobytes() == old(s).tobytes()
    for odd in (
        [dt.date(2020, 1, 1), dt.datetime(2020, 1, 1, 5)],
        [dt.date(2020, 1, 1), pd.NaT],
        [dt.date(2020, 1, 1), float("nan")],
        [pd.Timestamp("2020-01-01").date(), "2020-01-02"],
    ):
        assert V._date_seconds(pd.Series(odd, dtype=object)) is None
    assert V._date_seconds(pd.Series([], dtype=object)) is not None


def test_powers_of_ten_as_numpy_computes_them() -> None:
    """Every power _number_codes looks up is numpy's 10.0 ** k, alone or among others (SIMD loops
    and their remainders), and the codes are those of the powers computed."""
    ks = np.arange(-V._POWERS, V._POWERS + 1)
    for k in ks:
        assert V._power_of_ten(np.array([k])).tobytes() == (10.0 ** np.array([k])).tobytes()
    rng = np.random.default_rng(0)
    for size in (1, 3, 7, 8, 9, 17, 1000):
        k = rng.integers(-V._POWERS, V._POWERS + 1, size)
        assert V._power_of_ten(k).tobytes() == (10.0**k).tobytes()
        assert V._power_of_ten(k[1:]).tobytes() == (10.0 ** k[1:]).tobytes()  # unaligned

    def old_number_codes(x: np.ndarray) -> np.ndarray:
        with pytest.MonkeyPatch.context() as m:
            m.setattr(V, "_power_of_ten", lambda k: 10.0**k)
            return V._number_codes(x)

    x = np.concatenate(
        [
            rng.standard_normal(2000) * 10.0 ** rng.integers(-300, 300, 2000),
            [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-320, 5e-324, 1.7e308, 9.9999999999, 12.5, 1e289, 1e-289],
            np.round(rng.random(500), 2),
        ]
    )
    assert (V._number_codes(x) == old_number_codes(x)).all()


@pytest.mark.parametrize("seed", range(3))
def test_rows_per_code_as_a_pass_per_level(seed: int) -> None:
    from relsynth.model.by_level import rows_per_code

    rng = np.random.default_rng(seed)
    for n in (0, 1, 7, 1000):
        for k in (0, 1, 3, 8, 9, 40, 2000):
            codes = rng.integers(-2, k + 3, n)  # -1, -2: no level; k and above: none of these
            got = rows_per_code(codes, k)
            want = [np.flatnonzero(codes == i) for i in range(k)]
            assert len(got) == len(want)
            assert all(
                g.dtype == w.dtype and g.tolist() == w.tolist() for g, w in zip(got, want, strict=True)
            )
