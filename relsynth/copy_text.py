"""PostgreSQL COPY text of a table's rows, built a whole column at a time (issue 12).

The writer used to feed COPY row by row with psycopg's ``copy.write_row``: per value, psycopg
finds a dumper for the Python value the writer prepared (``writer._python_column``), writes its
text (``str`` of an int, a date, a datetime or a Decimal, ``repr`` of a float, ``t``/``f``, a
string's UTF-8), escapes backslash, backspace, tab, newline, vertical tab, form feed and carriage
return with a backslash, and writes NULL as ``\\N``. At TPC-H SF 1 that loop was most of the
write. ``block`` gives the same bytes for a chunk of rows, column by column with Arrow, and
``copy.write`` sends them at once.

It only takes what it can spell exactly as psycopg does. It returns None (the writer then uses
``write_row``) for a column of any other kind: bits, JSON, arrays, strings of a type that is not
a string (enums, domains of other types, ...), values of mixed Python types, strings holding NUL,
or anything that fails here (a lone surrogate): the row path then does, or fails, as it did.

Floats: ``repr`` (the C function psycopg's float dumper calls) is most of the cost, so a float
column is spelled from integers where that is exactly ``repr``'s text. A finite float x equal to
the double nearest to D = k / 10**s (k an integer, |k| < 10**15, so D has at most 15 significant
digits) is written as D's digits: ``repr`` gives the shortest digits that read back as x, and two
decimals of at most 15 significant digits (DBL_DIG) never read back as the same double, so those
digits are D's, trailing zeros dropped. With 1e-4 <= |D| < 1e15 (or D = 0), ``repr`` uses fixed
notation (it switches to an exponent below 1e-4 and from 1e16) and adds ``.0`` to a whole number;
the sign is x's (``-0.0``). Other finite floats go through ``repr`` itself; NaN and infinities
are spelled as the row path sends them (``nan``, ``inf``, ``-inf``; NaN is NULL where the writer
makes it None).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from relsynth.ddl import bit_kind
from relsynth.sqltypes import INTEGER_TYPES, STRING_TYPES

log = logging.getLogger("relsynth")

NULL = "\\N"
# What psycopg escapes in every value's text (its copy_escape_lut), the backslash first so that
# the backslashes the others add are not doubled again.
ESCAPES = (
    ("\\", "\\\\"),
    ("\b", "\\b"),
    ("\t", "\\t"),
    ("\n", "\\n"),
    ("\v", "\\v"),
    ("\f", "\\f"),
    ("\r", "\\r"),
)
_TEXT_TYPES = STRING_TYPES | {"uuid"}  # the writer makes these str (writer._python_column)
_PASS_THROUGH = frozenset({"json", "array"})  # dicts, lists: left to psycopg
MAX_SCALE = 9  # decimals tried for a float column's exact fixed-point spelling
_DIGITS = 1e15  # |k| below it: at most 15 significant digits

PythonColumn = Callable[[pd.Series, Any, str], list[Any]]


def block(
    frame: pd.DataFrame,
    table: Any,
    columns: Sequence[str],
    python_column: PythonColumn,
    fifteen_digits: Callable[[np.ndarray], np.ndarray],
) -> bytes | None:
    """The COPY text psycopg's write_row would send for these rows, or None if a column is of a
    kind this module does not spell (the caller then writes the rows with write_row)."""
    cols = [table.column(c) for c in columns]
    if not len(frame) or not cols or any(_left_out(col) for col in cols):
        return None
    try:
        texts = []
        for name, col in zip(columns, cols, strict=True):
            text = column_text(frame[name], col, python_column, fifteen_digits)
            if text is None:
                return None
            texts.append(text)
        rows = pc.binary_join_element_wise(*texts, "\t")
        rows = pc.binary_join_element_wise(rows, "", "\n")
        return _data(rows)
    except Exception as err:
        log.debug("COPY text of %s by rows: %s", getattr(table, "name", "?"), type(err).__name__)
        return None


def _left_out(col: Any) -> bool:
    return bit_kind(col.type) or col.type.name in _PASS_THROUGH


def column_text(
    values: pd.Series,
    col: Any,
    python_column: PythonColumn,
    fifteen_digits: Callable[[np.ndarray], np.ndarray],
) -> pa.Array | None:
    """One column's values as COPY text (a string array without nulls: NULL is ``\\N``), the
    branches of writer._python_column for PostgreSQL, or None."""
    t = col.type
    if _left_out(col):
        return None
    if pd.api.types.is_float_dtype(values):
        arr = values.to_numpy(dtype=float)
        if t.name in INTEGER_TYPES:  # floats holding integers: written as the integers
            known = ~np.isnan(arr)
            if np.abs(arr[known]).max(initial=0) >= 2.0**63:
                return None
            ints = np.zeros(len(arr), dtype=np.int64)
            ints[known] = arr[known].astype(np.int64)
            return _filled(pa.array(ints, mask=~known).cast(pa.string()))
        if t.name == "numeric":
            arr = fifteen_digits(arr)
        text = float_text(arr, keep_nan=not col.nullable)
        whole = _whole_numbers(arr) if t.name == "numeric" and t.scale is None else None
        if whole is not None and whole.any():
            # PostgreSQL's numeric without a scale keeps the one it is given: 2105 sent as
            # '2105.0' was stored and shown so (a size in bytes, every value whole)
            ints = pa.array(np.where(whole, arr, 0.0).astype(np.int64)).cast(pa.string())
            return pc.if_else(pa.array(whole), ints, text)
        return text
    if isinstance(values.dtype, pd.Int64Dtype) or pd.api.types.is_integer_dtype(values):
        return _filled(pa.array(values).cast(pa.string()))  # Python ints there: str
    if values.dtype == object:
        text = object_text(values, t.name)
        if text is not None:
            return text
    return python_text(python_column(values, col, "postgresql"), t.name)


def object_text(values: pd.Series, type_name: str) -> pa.Array | None:
    """The two object columns the writer passes on as they are, read without Python values: str
    in a string column (``str(v)`` is v) and dates. writer._python_column makes the values
    ``values.notna()`` marks None and keeps the others, the same objects."""
    obj = values.to_numpy(dtype=object)
    null = values.isna().to_numpy(dtype=bool)
    kinds = set(map(type, obj[~null]))
    if len(kinds) != 1:
        return None
    (kind,) = kinds
    if kind is str and type_name in _TEXT_TYPES:
        return string_text(pa.array(obj, type=pa.string(), mask=null))
    if kind is dt.date and type_name not in _TEXT_TYPES:  # YYYY-MM-DD, as str() (the test checks every day)
        return _filled(pa.array(obj, type=pa.date32(), mask=null).cast(pa.string()))
    return None


def python_text(values: list[Any], type_name: str) -> pa.Array | None:
    """Prepared Python values (None for NULL) as psycopg spells them, if all of one known type."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if not kinds:
        return pa.array([NULL] * len(values), type=pa.string())
    if len(kinds) > 1:
        return None
    (kind,) = kinds
    if kind is str:
        return string_text(pa.array(values, type=pa.string())) if type_name in _TEXT_TYPES else None
    if kind is bool:
        return _filled(pc.if_else(pa.array(values, type=pa.bool_()), "t", "f"))
    if kind is int:
        try:
            ints = pa.array(values, type=pa.int64())
        except (OverflowError, pa.ArrowInvalid):
            return _mapped(values, str)
        return _filled(ints.cast(pa.string()))
    if kind is dt.date:  # YYYY-MM-DD, years zero-padded to four digits as str() does
        return _filled(pa.array(values, type=pa.date32()).cast(pa.string()))
    if kind is dt.datetime:  # str(): a time zone's offset as Python writes it
        return _mapped(values, str)
    if kind is Decimal:
        return _mapped(values, _decimal)
    if kind is float:  # an object column of floats (its NaN already None)
        return _mapped(values, float.__repr__)
    return None


def _decimal(value: Decimal) -> str:
    text = str(value)
    return "NaN" if text[0] == "s" else text  # psycopg: sNaN is sent as NaN


def _mapped(values: list[Any], spell: Callable[[Any], str]) -> pa.Array:
    out = [NULL if v is None else spell(v) for v in values]
    return pa.array(out, type=pa.string())


def string_text(arr: pa.Array) -> pa.Array | None:
    """Strings escaped for COPY; None where one holds NUL (PostgreSQL text cannot: psycopg's own
    error is kept). The characters are looked for in the UTF-8 of all the strings at once (no
    byte of a multi-byte character is below 0x80)."""
    data = _payload(arr)
    if b"\x00" in data:
        return None
    if any(char.encode() in data for char, _ in ESCAPES):
        for char, escaped in ESCAPES:
            arr = pc.replace_substring(arr, char, escaped)
    return _filled(arr)


def _payload(arr: pa.Array) -> bytes:
    """A string array's values end to end (nulls are empty), as UTF-8."""
    if not len(arr) or arr.buffers()[2] is None:
        return b""
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
    start, end = int(offsets[0]), int(offsets[-1])
    return arr.buffers()[2].slice(start, end - start).to_pybytes()


def _whole_numbers(arr: np.ndarray) -> np.ndarray:
    """Which floats are whole numbers an int64 holds exactly."""
    with np.errstate(invalid="ignore"):
        return np.asarray(np.isfinite(arr) & (np.abs(arr) < 2.0**53) & (arr == np.round(arr)), dtype=bool)


def float_text(arr: np.ndarray, keep_nan: bool) -> pa.Array:
    """float64 values as repr spells them (module docstring); NaN as NULL unless keep_nan."""
    finite = np.isfinite(arr)
    if finite.all():
        return _finite_text(arr)
    values = np.where(finite, arr, 0.0)
    special = np.where(np.isnan(arr), "nan" if keep_nan else NULL, np.where(arr > 0, "inf", "-inf"))
    return pc.if_else(pa.array(finite), _finite_text(values), pa.array(special.tolist(), type=pa.string()))


def _finite_text(x: np.ndarray) -> pa.Array:
    best: tuple[int, np.ndarray, np.ndarray] | None = None
    with np.errstate(over="ignore", invalid="ignore"):
        for s in range(MAX_SCALE + 1):
            p = 10.0**s
            k = np.round(x * p)
            size = np.abs(k)
            ok = (size < _DIGITS) & (k / p == x) & ((k == 0) | (size >= 10.0 ** (s - 4)))
            count = int(ok.sum())
            if best is None or count > int(best[1].sum()):
                best = (s, ok, k)
            if count == len(x):
                break
    assert best is not None
    s, ok, k = best
    if not ok.any():
        return pa.array(list(map(float.__repr__, x.tolist())), type=pa.string())
    digits = np.where(ok, np.abs(k), 0).astype(np.int64)
    scale = 10**s
    whole = pa.array(digits // scale).cast(pa.string())
    if s:
        part = digits % scale
        trimmed = pc.utf8_rtrim(
            pc.utf8_lpad(pa.array(part).cast(pa.string()), width=s, padding="0"), characters="0"
        )
        fraction = pc.if_else(pa.array(part == 0), "0", trimmed)
    else:
        fraction = pa.array(["0"] * len(x), type=pa.string())
    sign = pc.if_else(pa.array(np.signbit(x)), "-", "")
    fixed = pc.binary_join_element_wise(sign, whole, ".", fraction, "")
    if ok.all():
        return fixed
    others = np.full(len(x), "", dtype=object)
    others[~ok] = list(map(float.__repr__, x[~ok].tolist()))
    return pc.if_else(pa.array(ok), fixed, pa.array(others.tolist(), type=pa.string()))


def _filled(arr: pa.Array) -> pa.Array:
    return arr.fill_null(NULL)


def _data(rows: pa.Array) -> bytes:
    """The rows' text, one buffer: a string array's values lie end to end in its data buffer."""
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    assert rows.null_count == 0 and rows.type == pa.string()
    return _payload(rows)
