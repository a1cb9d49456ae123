"""Column values in the types of their SQL column: what sampled tables hold and what is written."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from relsynth.schema import Kind, SqlType, Table
from relsynth.sqltypes import FLOAT_TYPES, INTEGER_TYPES
from relsynth.transform import far_datetimes, round_safe

EMPTY_VALUES: dict[str, Any] = {
    "json": "{}",
    "array": [],
    "binary": b"",
    "interval": dt.timedelta(0),
    "string": "",
    "text": "",
    "char": "",
}


def non_finite(table: Table, frame: pd.DataFrame) -> dict[str, list[str]]:
    """NOT NULL float columns holding NaN (read like NULL) or an infinity ({"qty": ["nan"]}),
    which SQLite and MariaDB cannot store there: fit keeps them so the writer knows before it
    has seen every batch."""
    out: dict[str, list[str]] = {}
    for col in table.columns:
        if col.nullable or col.type.name not in FLOAT_TYPES or col.name not in frame:
            continue
        x = pd.to_numeric(frame[col.name], errors="coerce").to_numpy(dtype=float)
        kinds = [k for k, hit in (("inf", np.isinf(x).any()), ("nan", np.isnan(x).any())) if hit]
        if kinds:
            out[col.name] = kinds
    return out


MIN_RECORD_COLUMNS = 2  # a "record" of one column is a value, not an entity
CHANCE = 0.5  # above this chance of landing on a unique record by luck, equality says nothing


def output_kind(t: SqlType) -> str:
    """int | float | bool | str | date | datetime | datetime_tz | time | uuid | object."""
    if t.name in INTEGER_TYPES:
        return "int"
    if t.name in {"float", "double", "numeric"}:
        return "float"
    if t.name == "boolean":
        return "bool"
    if t.name == "date":
        return "date"
    if t.name == "datetime":
        return "datetime_tz" if t.timezone else "datetime"
    if t.name == "time":
        return "time"
    if t.name == "uuid":
        return "uuid"
    if t.name in {"string", "char", "text", "enum", "set"}:
        return "str"
    return "object"


# The largest floats below 2^64 and 2^63: sampled values are floats, and a float that rounds up to
# 2^64 (or 2^63) does not fit the column's integer type.
_U64_TOP = float(np.nextafter(2.0**64, 0))
_I64_TOP = float(np.nextafter(2.0**63, 0))


# INT/INTEGER is 32 bits on PostgreSQL and MySQL but 64 on SQLite: only an UNSIGNED INT (MySQL's
# alone) is bounded by it; the others are names every dialect reads the same way.
_INT_BITS = {"TINYINT": 8, "SMALLINT": 16, "MEDIUMINT": 24, "BIGINT": 64}


YEARS = (1901, 2155)  # the years MySQL's YEAR holds (besides 0)


def integer_range(t: SqlType) -> tuple[int, int]:
    """The values an integer column's declared type holds (MySQL's TINYINT/MEDIUMINT and UNSIGNED
    included): a generated value outside them would fail the whole load."""
    native = (t.native or "").upper()
    base = native.split("(")[0].split()[0] if native else ""
    unsigned = "UNSIGNED" in native
    bits = _INT_BITS.get(base, 32 if unsigned and base in {"INT", "INTEGER"} else 64)
    if unsigned:
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def numeric_top(t: SqlType) -> float | None:
    """The largest float a NUMERIC(p, s) column holds, 10^(p-s) - 10^-s rounded toward zero: values
    are modelled as floats, and the float nearest 10^38 - 1 is written as 1e+38, a digit too many."""
    if t.name != "numeric" or not t.precision:
        return None
    scale = t.scale or 0
    with decimal.localcontext() as ctx:
        ctx.prec = t.precision + abs(scale) + 2
        top = Decimal(10) ** (t.precision - scale) - Decimal(10) ** -scale
    f = float(top)
    while Decimal(repr(f)) > top:  # drivers write a float as its shortest repr
        f = math.nextafter(f, 0.0)
    return f


def coerce(values: Any, t: SqlType) -> pd.Series:
    """Values as the column's type: nullable integers, floats, booleans, dates, strings."""
    s = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    kind = output_kind(t)
    if kind == "int":
        num = _as_floats(s).round()
        lo, hi = integer_range(t)
        if (num.abs() >= BEYOND_FLOAT).any():  # past a float's 53 bits: ids 2^53 + 1 and + 2 would merge
            return _exact_integers(s, lo, hi)
        if hi > 2**63:  # BIGINT UNSIGNED: up to 2^64 - 1
            return num.clip(0, _U64_TOP).astype("UInt64")
        if t.name == "year":  # MySQL's YEAR: 1901..2155, and 0 ('0000'), a year it could not read
            num = num.where(num.isna() | (num == 0), num.clip(*YEARS))
        return _int64(num.clip(float(lo), min(float(hi), _I64_TOP)))
    if kind == "float":
        if t.scale == 0 and _integers_beyond_float(s):  # NUMERIC(20,0) ids: kept exact
            top_int = 10 ** (t.precision or 38) - 1
            return exact_integers(pd.Series(_clipped_ints(s, -top_int, top_int), index=s.index, dtype=object))
        num = _as_floats(s)
        if t.scale is not None:
            num = pd.Series(round_safe(num.to_numpy(), t.scale), index=num.index)
        top = numeric_top(t)
        return num.clip(-top, top) if top is not None else num
    if kind == "bool":
        return s.map(_to_bool).astype("boolean")
    if kind == "date":
        objects = s.to_numpy(dtype=object)
        if _all_of_type(objects, dt.date):  # dates already, no NULL: kept as they are
            return pd.Series(objects.copy(), index=s.index, dtype=object)
        missing = pd.isna(objects)
        if _types_within(objects[~missing], {dt.date}):  # dates already (as sampled), and NULLs
            dates = objects.copy()  # dates already (as sampled): only the NULLs to spell as None
            dates[missing] = None
            return pd.Series(dates, index=s.index, dtype=object)
        return s.map(
            lambda v: (
                v
                if v is None or (isinstance(v, dt.date) and not isinstance(v, dt.datetime))
                else (None if _isna(v) else pd.Timestamp(v).date())
            )
        )
    if kind in {"datetime", "datetime_tz"}:
        try:
            out = pd.to_datetime(
                s, utc=kind == "datetime_tz", format="ISO8601" if any(type(v) is str for v in s) else None
            )
        except pd.errors.OutOfBoundsDatetime:  # before 1677 or after 2262: microseconds, not ns
            out = far_datetimes(s, utc=kind == "datetime_tz")
        return out
    if kind in {"str", "uuid"}:
        objects = s.to_numpy(dtype=object)
        if _all_of_type(objects, str):  # text already, no NULL: kept as it is
            return pd.Series(objects.copy(), index=s.index, dtype=object)
        missing = pd.isna(objects)
        texts = objects.copy()
        texts[missing] = None
        if not _types_within(objects[~missing], {str}):  # str() of the rest: numbers, dates, ...
            texts = np.array(
                [
                    None if m else v if type(v) is str else str(v)
                    for v, m in zip(objects, missing, strict=True)
                ],
                dtype=object,
            )
        return pd.Series(texts, index=s.index, dtype=object)
    return s.astype(object)


BEYOND_FLOAT = 2**53  # from here on a float64 cannot tell neighbouring integers apart


def beyond_float(x: np.ndarray) -> bool:
    """Integers a float64 cannot hold exactly (from 2**53 on)."""
    if not len(x):
        return False
    lo, hi = (x.min(), x.max()) if x.dtype.kind in "iu" else (min(x), max(x))  # numpy's: no Python loop
    return max(abs(int(lo)), abs(int(hi))) >= BEYOND_FLOAT


def _integers_beyond_float(s: pd.Series) -> bool:
    """Integers (exact: Int64, UInt64, Python ints) past what a float holds exactly."""
    if isinstance(s.dtype, pd.Int64Dtype | pd.UInt64Dtype) or s.dtype.kind in "iu":
        return beyond_float(s.dropna().to_numpy())
    if s.dtype != object:
        return False
    ints = [v for v in s if isinstance(v, int | np.integer) and not isinstance(v, bool)]
    return beyond_float(np.asarray(ints, dtype=object))


def _exact_integers(s: pd.Series, lo: int, hi: int) -> pd.Series:
    """Integers kept exact (Python ints, not floats), others rounded, all clipped to lo..hi."""
    return pd.Series(
        pd.array(_clipped_ints(s, lo, hi), dtype="UInt64" if hi > 2**63 else "Int64"), index=s.index
    )


def _clipped_ints(s: pd.Series, lo: int, hi: int) -> list[int | None]:
    out: list[int | None] = []
    for v in s.tolist():
        if _isna(v):
            out.append(None)
            continue
        try:
            k = int(v) if isinstance(v, int | np.integer) else round(float(v))
        except (TypeError, ValueError, OverflowError):  # text that is no number; inf
            out.append(None)
            continue
        out.append(min(max(k, lo), hi))
    return out


def exact_integers(values: pd.Series) -> pd.Series:
    """Integers and NULLs as pandas' nullable Int64 (UInt64 above 2**63, Python ints beyond)."""
    ints = [None if v is None or pd.isna(v) else int(v) for v in values]
    known = [v for v in ints if v is not None]
    lo, hi = (min(known), max(known)) if known else (0, 0)
    if lo >= -(2**63) and hi < 2**63:
        return pd.Series(pd.array(ints, dtype="Int64"), index=values.index)
    if lo >= 0 and hi < 2**64:
        return pd.Series(pd.array(ints, dtype="UInt64"), index=values.index)
    return pd.Series(ints, index=values.index, dtype=object)


def _isna(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _to_bool(v: Any) -> Any:
    if _isna(v):
        return None
    if isinstance(v, str):
        return v.strip().lower() in {"1", "t", "true", "y", "yes"}
    if isinstance(v, bytes | bytearray | memoryview):  # a MySQL BIT(1): b'\x00' or b'\x01'
        return int.from_bytes(bytes(v), "big") != 0
    return bool(v)


# NOT NULL columns of types relsynth does not learn get one valid value of their type (an address is
# an address, a point a point): documentation addresses and unit shapes, nothing from the source.
NATIVE_EMPTY: dict[str, str] = {
    "INET": "192.0.2.1",
    "INET4": "192.0.2.1",  # MariaDB's
    "INET6": "2001:db8::1",
    "CIDR": "192.0.2.0/24",
    "MACADDR": "00:00:5e:00:53:00",
    "MACADDR8": "00:00:5e:ff:fe:00:53:00",
    "POINT": "(0,0)",
    "LINE": "{1,-1,0}",
    "LSEG": "[(0,0),(1,1)]",
    "BOX": "((1,1),(0,0))",
    "PATH": "[(0,0),(1,1)]",
    "POLYGON": "((0,0),(1,0),(1,1))",
    "CIRCLE": "<(0,0),1>",
    "XML": "<empty/>",
    "TSVECTOR": "",
    "VARBIT": "0",
    "BIT VARYING": "0",
}


def empty_value(t: SqlType) -> Any:
    """A valid non-NULL value for a NOT NULL column relsynth does not learn."""
    native = (t.native or "").upper().strip()
    base = native.split("(")[0].strip()
    if base in NATIVE_EMPTY:
        return NATIVE_EMPTY[base]
    if base == "BIT":  # BIT(n) takes exactly n bits
        width = native[4:].strip(" ()") if "(" in native else "1"
        return "0" * int(width) if width.isdigit() else "0"
    if t.name in EMPTY_VALUES:
        return EMPTY_VALUES[t.name]
    if t.name in INTEGER_TYPES or t.name in {"float", "double", "numeric"}:
        return 0
    if t.name == "boolean":
        return False
    if t.values:
        return t.values[0]
    return ""


def as_objects(s: pd.Series) -> np.ndarray:
    """Plain Python values (None for missing), for hashing, JSON and comparisons."""
    out = s.astype(object).to_numpy(copy=True)
    mask = pd.isna(s).to_numpy() if len(s) else np.zeros(0, dtype=bool)
    out[mask] = None
    return out


def numeric_values(values: pd.Series) -> np.ndarray:
    """Numbers as floats, dates and times as seconds, NaN for NULL."""
    if pd.api.types.is_datetime64_any_dtype(values):
        v = (
            values.dt.tz_convert("UTC").dt.tz_localize(None)
            if getattr(values.dt, "tz", None) is not None
            else values
        )
        out = v.to_numpy(dtype="datetime64[us]").astype(np.int64) / 1e6
        return np.where(values.isna().to_numpy(), np.nan, out)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    floats = _floats(values)
    if floats is not None:
        return floats
    known = values.iloc[:64].dropna()  # the first known value; the whole column only if need be
    if known.empty:
        known = values.dropna()
    if known.empty:
        return np.full(len(values), np.nan)
    first = known.iloc[0]
    if isinstance(first, str):
        parsed = pd.to_datetime(values, errors="coerce", format="ISO8601")
        return numeric_values(parsed)
    if hasattr(first, "isoformat"):  # date / datetime / time objects
        if hasattr(first, "hour") and not hasattr(first, "year"):
            return np.array(
                [np.nan if v is None or v != v else v.hour * 3600 + v.minute * 60 + v.second for v in values],
                dtype=float,
            )
        seconds = _date_seconds(values)
        if seconds is not None:
            return seconds
        return numeric_values(
            pd.to_datetime(values, errors="coerce", utc=getattr(first, "tzinfo", None) is not None)
        )
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


# The days pandas' nanosecond timestamps hold at midnight: pd.to_datetime(errors="coerce") makes
# the others NaT (Timestamp.min is 1677-09-21 00:12:43, Timestamp.max 2262-04-11 23:47:16)
_NS_FIRST_DAY = (dt.date(1677, 9, 22) - dt.date(1970, 1, 1)).days
_NS_LAST_DAY = (dt.date(2262, 4, 11) - dt.date(1970, 1, 1)).days
_MICROS_A_DAY = 86_400_000_000


def _date_seconds(values: pd.Series) -> np.ndarray | None:
    """numeric_values of an object column of dates (exactly dt.date) and None, as through
    pd.to_datetime (a date's midnight in seconds, NaN for NULL and past nanoseconds' range),
    converted by Arrow in C (numpy's own conversion is 60 times slower): pandas' parsing was a
    twentieth of sampling TPC-H, whose fingerprints read every date. None for any other column."""
    import pyarrow as pa

    objects = values.to_numpy(dtype=object)
    if not _types_within(objects, {dt.date, type(None)}):
        return None
    days = pa.array(objects, type=pa.date32())  # days since 1970-01-01, None as null
    whole = days.cast(pa.int32()).fill_null(0).to_numpy().astype(np.int64)
    out = (whole * _MICROS_A_DAY) / 1e6  # as numeric_values divides the microseconds
    null = days.is_null().to_numpy(zero_copy_only=False)
    out[null | (whole < _NS_FIRST_DAY) | (whole > _NS_LAST_DAY)] = np.nan
    return out


def _floats(values: pd.Series) -> np.ndarray | None:
    """An object column of floats (NaN for NULL) or of integers a float holds exactly as a float
    array, as pd.to_numeric(errors="coerce") gives it, without its parsing of each value (sampled
    numbers are Python floats and ints); None for any other column."""
    if values.dtype != object:
        return None
    objects = values.to_numpy()
    inferred = pd.api.types.infer_dtype(objects, skipna=False)
    if inferred not in {"floating", "integer"}:
        return None
    try:
        out = objects.astype(float)
    except OverflowError:  # an integer past a float's range
        return None
    if inferred == "integer" and len(out) and np.abs(out).max() >= BEYOND_FLOAT:
        return None
    return out


def _int64(num: pd.Series) -> pd.Series:
    """Whole floats (NaN for NULL) as Int64: what num.astype("Int64") gives (the data under a
    NULL is pandas' fill value, 1), without its per-value search for missing values."""
    values = num.to_numpy(dtype=np.float64, copy=True)
    mask = np.isnan(values)
    values[mask] = 1
    data = values.astype(np.int64)
    if not np.array_equal(data, values):  # fractions: astype's own error
        return num.astype("Int64")
    return pd.Series(pd.arrays.IntegerArray(data, mask), index=num.index, name=num.name)


def _all_of_type(objects: np.ndarray, kind: type) -> bool:
    """Is every value exactly of type ``kind`` (no NULL, no subclass: a datetime is no date)?"""
    return _types_within(objects, {kind})


def _types_within(objects: np.ndarray, kinds: set[type]) -> bool:
    """Is every value's exact type one of ``kinds``? The types are collected in C: a generator's
    per-value step was a tenth of sampling TPC-H."""
    return set(map(type, objects)) <= kinds


def _as_floats(s: pd.Series) -> pd.Series:
    """pd.to_numeric(s, errors="coerce") as floats."""
    floats = _floats(s)
    if floats is None:
        return pd.to_numeric(s, errors="coerce").astype(float)
    return pd.Series(floats, index=s.index, name=s.name)


def _label(v: object) -> object:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, bool | np.bool_):
        return "1" if v else "0"  # SQLite and MySQL store booleans as 0/1
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _factorized(values: pd.Series) -> tuple[np.ndarray, Any]:
    values = values.astype(object)
    try:
        return pd.factorize(values, use_na_sentinel=True)
    except TypeError:  # JSON documents (dicts, lists) are not hashable: spelled as JSON first
        return pd.factorize(values.map(_hashable), use_na_sentinel=True)


def _hashable(v: Any) -> Any:
    """A JSON document as its JSON, another unhashable value (psycopg's Multirange) as its text."""
    import json

    if isinstance(v, dict | list):
        return json.dumps(v, sort_keys=True, default=str)
    try:
        hash(v)
    except TypeError:
        return str(v)
    return v


def _spelled(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each row's code into its distinct values spelled as text (NULL: the last, None)."""
    codes, uniques = _factorized(values)
    return codes, np.array([_label(u) for u in uniques] + [None], dtype=object)


def value_codes(values: pd.Series) -> np.ndarray:
    """Each row's code of its value (every NULL -1; JSON documents by their text): for grouping
    and counting without spelling millions of values."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        # The same codes as the Python objects' (first seen first; -0.0 is 0.0, NaN is NULL),
        # without making a million of them.
        return pd.factorize(values.to_numpy(), use_na_sentinel=True)[0]
    return _factorized(values)[0]


def labels(values: pd.Series) -> pd.Series:
    """Categories as text, NULL kept as None (so 1, 1.0, True and '1' agree across sources).

    Each distinct value is spelled once and mapped back, so millions of rows cost little.
    """
    codes, spelled = _spelled(values)
    return pd.Series(spelled[codes], index=values.index, dtype=object)


_FINGERPRINT_KEY = "relsynth/records"  # 16 bytes: pandas' SipHash key (fingerprints stay in memory)
_POWERS = 300  # 10**k looked up for |k| up to this (_number_codes needs -282 to 300)
_NAN, _POS_INF, _NEG_INF = 1, 2, 3  # codes no finite number takes (those are >= 1e9 * 1024 apart from 0)


def _number_codes(x: np.ndarray) -> np.ndarray:
    """One int64 per number, equal for numbers equal to 10 significant digits (Decimal 12.50, the
    float 12.5 and 12.499999999999998 alike): the mantissa's 10 digits and the exponent, packed."""
    out = np.zeros(len(x), dtype=np.int64)  # zero stays 0
    out[np.isnan(x)] = _NAN
    out[np.isposinf(x)] = _POS_INF
    out[np.isneginf(x)] = _NEG_INF
    idx = np.flatnonzero(np.isfinite(x) & (x != 0))
    if not len(idx):
        return out
    v = x[idx]
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        e = np.floor(np.log10(np.abs(v))).astype(np.int64)
        normal = (e > -290) & (e < 290)
        m = np.zeros(len(v))
        m[normal] = np.rint(v[normal] * _power_of_ten(9 - e[normal]))
        for _ in range(2):  # log10 a digit off, or 9.9999999999 rounding up to 10 digits + 1
            up = normal & (np.abs(m) >= 1e10)
            e[up] += 1
            down = normal & (np.abs(m) < 1e9)
            e[down] -= 1
            fix = up | down
            m[fix] = np.rint(v[fix] * _power_of_ten(9 - e[fix]))
    out[idx[normal]] = m[normal].astype(np.int64) * 1024 + (e[normal] + 512)
    odd = idx[~normal]  # beyond 1e+-290: spelled, as few as they are
    if len(odd):
        text = np.char.mod("%.10g", x[odd]).astype(object)
        out[odd] = pd.util.hash_array(text, hash_key=_FINGERPRINT_KEY).view(np.int64)
    return out


_TEN_TO = 10.0 ** np.arange(-_POWERS, _POWERS + 1)  # numpy's own powers, looked up


def _power_of_ten(k: np.ndarray) -> np.ndarray:
    """``10.0 ** k`` for integers |k| <= _POWERS: the same doubles numpy's power computes (the
    test compares every one), read from a table instead of computed per value, a third of
    _number_codes."""
    return _TEN_TO[k + _POWERS]


def hashed_text(text: np.ndarray, key: str) -> np.ndarray:
    """pandas' keyed SipHash of each string (``text``: str objects). The hash stops at a NUL
    character (a, NUL, b would hash as a, and a record holding it as another's), so strings
    holding a NUL or a backslash are escaped first: the same escape in every call, so the hashes
    of any two calls compare."""
    text = np.asarray(text, dtype=object)
    joined = "".join(text)  # one pass in C; most columns hold neither character
    if "\x00" in joined or "\\" in joined:
        series = pd.Series(text, dtype=object)
        odd = series.str.contains("\x00", regex=False) | series.str.contains("\\", regex=False)
        escaped = series[odd].str.replace("\\", "\\\\", regex=False).str.replace("\x00", "\\0", regex=False)
        text = text.copy()
        text[odd.to_numpy()] = escaped.to_numpy(dtype=object)
    return np.asarray(pd.util.hash_array(text, hash_key=key, categorize=False), dtype=np.uint64)


def _exact_codes(x: np.ndarray) -> np.ndarray:
    """Each number's own bits (-0.0 as 0.0, every NaN as one): numbers 1e-12 apart stay apart."""
    out = (x + 0.0).view(np.int64).copy()
    out[np.isnan(x)] = np.array([np.nan]).view(np.int64)[0]
    return out


WHOLE_DIGITS = 1e10  # whole numbers from here on have more than the 10 digits _number_codes keeps
_WHOLE_TAG = np.uint64(0x9E3779B97F4A7C15)  # sets their codes apart from _number_codes' own


def whole_numbers(sqltype: SqlType) -> bool:
    """A column of integers: an integer type, or NUMERIC(p, 0) (a BIGINT UNSIGNED's copy)."""
    return sqltype.name in INTEGER_TYPES or (sqltype.name == "numeric" and sqltype.scale == 0)


def _whole_beyond_digits(x: np.ndarray) -> np.ndarray:
    """Rows of an integer column whose number has more digits than _number_codes keeps."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(x) & (np.abs(x) >= WHOLE_DIGITS)


def _integer_codes(values: pd.Series) -> np.ndarray:
    """An integer column's values (all known, past 10 digits) compared exactly, as the integers
    the database holds: a snowflake id or a BIGINT UNSIGNED counter past 2**53 is one value, and
    its neighbour another. To 10 digits, 2,000 counters 3 apart were one record with each other,
    every synthetic row a copy of a source one a step could not move: all 2,000 were left out.
    A fraction is rounded, as the column stores it."""
    if isinstance(values.dtype, pd.Int64Dtype | pd.UInt64Dtype) or values.dtype.kind in "iu":
        unsigned = isinstance(values.dtype, pd.UInt64Dtype) or values.dtype.kind == "u"
        bits = values.to_numpy(dtype=np.uint64 if unsigned else np.int64).view(np.uint64)
    else:
        bits = np.fromiter((_integer_bits(v) for v in values), dtype=np.uint64, count=len(values))
    return (pd.util.hash_array(bits) ^ _WHOLE_TAG).view(np.int64)


def _integer_bits(value: Any) -> np.uint64:
    """One integer's 64 bits (two's complement; unsigned past 2**63), or a hash of its digits past
    64 bits; a fraction rounded to the nearest integer."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        n = int(value)
    elif isinstance(value, Decimal):
        n = int(value.to_integral_value())
    elif isinstance(value, float | np.floating):
        n = round(float(value))
    else:
        try:
            n = int(value)  # digits as text
        except (TypeError, ValueError):
            n = round(float(value))
    if -(2**63) <= n < 2**64:
        return np.uint64(n & (2**64 - 1))
    return np.uint64(pd.util.hash_array(np.array([str(n)], dtype=object), hash_key=_FINGERPRINT_KEY)[0])


def record_columns(table: Table, present: Any) -> list[str]:
    """The columns that make up a table's record: every column but its keys (primary and
    foreign: relsynth generates them) and generated (computed) columns, among ``present``.
    The one definition of a record: the guard that moves synthetic rows off unique source
    records (model.fit) and the evaluation that counts copies (evaluation.privacy) both use it.
    Personal data, free text and JSON documents are part of the record: a row equal to a source
    record unique only by its JSON document (an audit log's detail) is that record's copy."""
    keys = set(table.primary_key) | table.fk_columns()
    return [c.name for c in table.columns if c.name not in keys and not c.computed and c.name in present]


def core_columns(table: Table, record: list[str]) -> list[str]:
    """The record without the columns generated afresh (personal data, free text, JSON, codes):
    its numbers, dates, categories and flags. The guard keeps rows off a source record unique on
    these whatever note or e-mail they were given (model.fit), and the evaluation counts a row
    equal to one, or to one on all of them but one, as a copy (evaluation.privacy)."""
    kinds = {Kind.NUMERICAL, Kind.DATETIME, Kind.CATEGORICAL, Kind.BOOLEAN}
    return [c for c in record if not table.column(c).pii and table.column(c).kind in kinds]


def _json_document(value: Any) -> Any:
    """A JSON document as its value: PostgreSQL gives dicts and lists, MariaDB and SQLite text;
    text that is no JSON stays as it is."""
    if isinstance(value, bytes | bytearray | memoryview):
        value = bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _json_number(value: Any) -> Any:
    """Numbers as one value each: 1, 1.0 and Decimal('1.0') (PostgreSQL's jsonb keeps the 0) alike."""
    if isinstance(value, dict):
        return {str(k): _json_number(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_number(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal | float | np.floating):
        x = float(value)
        return int(x) if x.is_integer() and abs(x) < 2**53 else x
    if isinstance(value, np.integer):
        return int(value)
    return value


def canonical_json(values: pd.Series) -> pd.Series:
    """Each JSON document spelled one way (keys sorted, no blanks, numbers as numbers), so that
    PostgreSQL's dicts, MariaDB's text and a generated document compare equal when their values
    are: key order and whitespace do not count. NULL stays None; text that is no JSON stays as it
    is. Each distinct spelling is parsed once."""
    out = values.astype(object)
    known = out.notna().to_numpy()
    if not known.any():
        return out

    def spell(v: Any) -> Any:
        doc = _json_document(v)
        if isinstance(doc, str) and doc is v:
            return v  # no JSON: as it was
        return json.dumps(_json_number(doc), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    kept = out[known]
    if all(isinstance(v, str) for v in kept):  # text: each distinct spelling once
        codes, uniques = pd.factorize(kept)
        spelled = np.array([spell(u) for u in uniques], dtype=object)
        out[known] = spelled[codes]
    else:
        out[known] = [spell(v) for v in kept]
    return out


def json_column(table: Any, column: str) -> bool:
    from relsynth.sqltypes import column_family

    return column_family(table.column(column)) == "json"


def record_keys(table: Any, frame: pd.DataFrame, columns: list[str], *, exact: bool = False) -> pd.Series:
    """One 64-bit fingerprint per row over ``columns``, alike whatever the source spelled (Decimal
    12.50 and the float 12.5, a date and its ISO text, 1 and '1'): equal fingerprints mean equal
    records (two different records share one with a chance of about rows / 2**64). Vectorized:
    every source row of a large table goes through it once, and every synthetic row.

    Numbers count to 10 significant digits (12.499999999999998 is 12.5: a copy, written to a
    NUMERIC(8,2)), but an integer column's numbers past 10 digits as the integers they are (a
    snowflake id is not a copy of the one 4,194,304 beside it); ``exact``: to their last bit, to
    tell which source records are unique (0.3 and 0.30000000000000004 are two records, each of
    which may be copied: unique_records)."""
    (keys,) = _fingerprints(table, frame, columns, (exact,))
    return pd.Series(keys, index=frame.index, dtype=np.uint64)


def exact_and_rounded_keys(table: Any, frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """record_keys both ways (exact, then to 10 digits), stacked, in one pass over the columns:
    the guards read every source row, and the values of each column are found once."""
    return np.stack(_fingerprints(table, frame, columns, (True, False)))


def _fingerprints(
    table: Any, frame: pd.DataFrame, columns: list[str], modes: tuple[bool, ...]
) -> list[np.ndarray]:
    from relsynth.schema import Kind

    outs = [np.zeros(len(frame), dtype=np.uint64) for _ in modes]
    for c in columns:
        if table.column(c).kind in {Kind.NUMERICAL, Kind.DATETIME}:
            x = numeric_values(frame[c])
            big = (
                _whole_beyond_digits(x)
                if whole_numbers(table.column(c).type)
                else np.zeros(len(x), dtype=bool)
            )
            numbers = [_exact_codes(x) if exact else _number_codes(x) for exact in modes]
            if big.any():  # whole numbers past 10 digits: each its own, in every mode
                for code in numbers:
                    code[big] = _integer_codes(frame[c][big])
            hs = [pd.util.hash_array(code) for code in numbers]
        else:
            values = canonical_json(frame[c]) if json_column(table, c) else frame[c]
            codes, spelled = _spelled(values)
            h = hashed_text(spelled[:-1], _FINGERPRINT_KEY)
            hs = [np.append(h, np.uint64(_NAN))[codes]] * len(modes)  # NULL: no text's hash (nor '')
        # the order of the columns counts
        outs = [(out * np.uint64(0x100000001B3)) ^ h for out, h in zip(outs, hs, strict=True)]
    return [np.asarray(pd.util.hash_array(out), dtype=np.uint64) for out in outs]


def collate(value: Any) -> Any:
    """Text as the strictest common collation compares it (MariaDB's default: case-insensitive,
    trailing blanks ignored): 'abC' and 'ABC' are one value of a UNIQUE column there, and a load
    would fail on the pair. Other values as they are."""
    return value.casefold().rstrip(" ") if isinstance(value, str) else value


def collated(values: pd.Series) -> pd.Series:
    """collate, for a column."""
    return values.map(collate) if values.dtype == object else values


def key_values(values: pd.Series, sqltype: SqlType) -> pd.Series:
    """A key column's values as the database tells repeats, the same in every batch: fractions
    (NUMERIC with decimals, floats) as floats, whether a batch holds them as text ('36.04') or
    numbers, dates and timestamps as seconds, and text as its collation compares it. A batch of
    text and one of floats never matched, and 18 repeated UNIQUE prices stopped the load."""
    from relsynth.model.relations import comparable

    fraction = sqltype.name in FLOAT_TYPES or (sqltype.name == "numeric" and bool(sqltype.scale))
    if sqltype.name in {"date", "datetime"} and values.dtype == object and values.notna().any():
        stamps = pd.to_datetime(values, errors="coerce", utc=True)  # dates and timestamps alike
        values = stamps if stamps.notna().sum() == values.notna().sum() else values
    elif fraction and values.dtype == object:
        number = pd.to_numeric(values, errors="coerce")
        values = number.where(number.notna() | values.isna(), np.nan) if number.notna().any() else values
    return collated(comparable(values))


def distinct(values: np.ndarray) -> np.ndarray:
    """np.unique by a sort: numpy 2.4's np.unique of integers with millions of distinct values
    (fingerprints, hashes) took 50 times as long as sorting them."""
    s = np.sort(np.asarray(values))
    return s[np.concatenate([[True], s[1:] != s[:-1]])] if len(s) else s


def unique_records(exact: np.ndarray, rounded: np.ndarray) -> np.ndarray:
    """The fingerprints (record_keys) of the records one row holds, unique by ``exact`` ones and
    given as ``rounded`` ones: what a synthetic row must not equal. Two source records equal to 10
    digits but not exactly (0.3 and 0.30000000000000004) are each unique, and both are guarded."""
    once = ~pd.Series(exact).duplicated(keep=False).to_numpy()
    return distinct(np.asarray(rounded)[once])


def identifying(frame: pd.DataFrame, columns: list[str], table: Any = None) -> bool:
    """Does equality with a record unique on ``columns`` say anything? Not when a row drawn from the
    columns' own frequencies, knowing nobody, would land on such a record more often than not (12
    ward codes x 4 floors filled by 48 rows: every cell is unique, and any row is on one). The chance
    is the sum, over the unique records, of the product of their values' frequencies."""
    if len(columns) < MIN_RECORD_COLUMNS or not len(frame):
        return False
    return chance_of_unique(frame, columns, table) <= CHANCE


def chance_of_unique(frame: pd.DataFrame, columns: list[str], table: Any = None) -> float:
    """The chance that a row drawn from the columns' own frequencies, each column apart, lands on
    a record unique on ``columns``: the sum, over the unique records, of the product of their
    values' frequencies (identifying; evaluation.privacy's near copies weigh it by the rows)."""
    probability = np.ones(len(frame))
    codes = {}
    for c in columns:
        values = canonical_json(frame[c]) if table is not None and json_column(table, c) else frame[c]
        codes[c] = value_codes(values)  # NULL: a value of its own (-1)
        counts = np.bincount(codes[c] + 1, minlength=1)
        probability *= counts[codes[c] + 1] / len(frame)
    unique = ~pd.DataFrame(codes).duplicated(keep=False).to_numpy()
    return float(probability[unique].sum())
