"""CHECK constraints: parse the simple forms, test rows against them, repair what can be repaired.

Understood: comparisons between a column and a constant or another column, IN lists (and
PostgreSQL's `= ANY (ARRAY[...])` spelling of them), BETWEEN, IS [NOT] NULL, AND/OR/NOT, casts
(`'-5'::integer` is -5) and typed literals (`DATE '2000-01-01'`). Text constants are read as the
kind of column they meet (a date, a timestamp, a time, a number), as the database reads them.
The portable string functions length/char_length, lower, upper and trim are understood on either
side of a comparison (MySQL's LENGTH counts bytes: read with ``dialect="mysql"``, it is
octet_length). Anything else (other functions, arithmetic, regular expressions) is reported as
not interpretable and left to the writer, which tests rows in the target itself.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd


class NotInterpretable(ValueError):
    """The expression uses something beyond the simple forms."""


@dataclass(frozen=True)
class Col:
    name: str


@dataclass(frozen=True)
class Const:
    value: Any


@dataclass(frozen=True)
class Func:
    """A portable string function of one operand: length (in characters), octet_length (in bytes:
    MySQL's LENGTH), lower, upper, trim (spaces at both ends)."""

    name: str
    arg: Col | Const | Func


@dataclass(frozen=True)
class Cmp:
    left: Col | Const | Func
    op: str
    right: Col | Const | Func


@dataclass(frozen=True)
class In:
    column: Col
    values: tuple[Any, ...]
    negated: bool = False


@dataclass(frozen=True)
class Between:
    column: Col | Func
    low: Col | Const | Func
    high: Col | Const | Func
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    column: Col
    negated: bool = False


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND | OR
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Not:
    item: Any


_TOKEN = re.compile(
    r"""\s*(?:
    (?P<num>\d+\.\d*|\.\d+|\d+(?:[eE][-+]?\d+)?)
    |(?P<str>'(?:[^']|'')*')
    |(?P<qid>"(?:[^"]|"")*"|`(?:[^`]|``)*`)
    |(?P<bid>\[[^\]'",]+\])
    |(?P<op><=|>=|<>|!=|==|::|=|<|>|\(|\)|,|\[|\]|-|\+|\*|/|%|\|\|)
    |(?P<id>[A-Za-z_][A-Za-z_0-9$]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"AND", "OR", "NOT", "IN", "BETWEEN", "IS", "NULL", "TRUE", "FALSE", "ANY", "ARRAY", "SOME"}


def _tokenize(text: str) -> list[tuple[str, str]]:
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise NotInterpretable(f"unexpected character at {pos}")
        pos = m.end()
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "bid":  # SQLite's [name] quoting (ARRAY[...] never matches: it holds quotes/commas)
            kind, value = "qid", '"' + value[1:-1] + '"'
        if kind == "id" and value.upper() in _KEYWORDS:
            out.append(("kw", value.upper()))
        else:
            out.append((kind, value))
    return out


# Function names as spelled in a CHECK -> the portable function (length counts characters).
_FUNCTIONS = {
    "length": "length",
    "char_length": "length",
    "character_length": "length",
    "octet_length": "octet_length",
    "lower": "lower",
    "lcase": "lower",
    "upper": "upper",
    "ucase": "upper",
    "trim": "trim",
}


class _Parser:
    def __init__(self, text: str, dialect: str | None = None) -> None:
        self.toks = _tokenize(text)
        self.i = 0
        self.dialect = dialect

    def peek(self, k: int = 0) -> tuple[str, str]:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else ("eof", "")

    def take(self, kind: str | None = None, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if (kind and tok[0] != kind) or (value and tok[1].upper() != value):
            raise NotInterpretable(f"expected {value or kind}, got {tok[1] or 'end'}")
        self.i += 1
        return tok

    def accept(self, kind: str, value: str | None = None) -> bool:
        tok = self.peek()
        if tok[0] == kind and (value is None or tok[1].upper() == value):
            self.i += 1
            return True
        return False

    def parse(self) -> Any:
        node = self.expr()
        if self.peek()[0] != "eof":
            raise NotInterpretable(f"unexpected {self.peek()[1]}")
        if isinstance(node, Col | Const):
            raise NotInterpretable("not a condition")
        return node

    def expr(self) -> Any:
        items = [self.conj()]
        while self.accept("kw", "OR"):
            items.append(self.conj())
        return items[0] if len(items) == 1 else BoolOp("OR", tuple(items))

    def conj(self) -> Any:
        items = [self.neg()]
        while self.accept("kw", "AND"):
            items.append(self.neg())
        return items[0] if len(items) == 1 else BoolOp("AND", tuple(items))

    def neg(self) -> Any:
        if self.accept("kw", "NOT"):
            return Not(self.neg())
        node = self.predicate()
        if isinstance(node, Col) and self.peek()[1] in {"AND", "OR", ")", None, ""}:
            return Cmp(node, "=", Const(True))  # a boolean column as a condition: NOT flag OR n <= 2
        return node

    def predicate(self) -> Any:
        left = self.operand()
        tok = self.peek()
        if tok[0] == "op" and tok[1] in {"=", "==", "<>", "!=", "<", "<=", ">", ">="}:
            self.i += 1
            op = {"==": "=", "!=": "<>"}.get(tok[1], tok[1])
            if self.peek() in {("kw", "ANY"), ("kw", "SOME")}:
                self.i += 1
                values = self.array_list()
                if op != "=":
                    raise NotInterpretable("only = ANY is understood")
                return In(self.as_col(left), values)
            return Cmp(self.value(left), op, self.value(self.operand()))
        negated = self.accept("kw", "NOT")
        if self.accept("kw", "IN"):
            self.take("op", "(")
            items = [self.constant()]
            while self.accept("op", ","):
                items.append(self.constant())
            self.take("op", ")")
            return In(self.as_col(left), tuple(items), negated)
        if self.accept("kw", "BETWEEN"):
            low = self.value(self.operand())
            self.take("kw", "AND")
            subject = self.value(left)  # a column, or a function of one: length(x) BETWEEN 1 AND 5
            if isinstance(subject, Const):
                raise NotInterpretable("expected a column")
            return Between(subject, low, self.value(self.operand()), negated)
        if negated:
            raise NotInterpretable("NOT must precede IN or BETWEEN here")
        if self.accept("kw", "IS"):
            neg = self.accept("kw", "NOT")
            self.take("kw", "NULL")
            return IsNull(self.as_col(left), neg)
        return left

    def value(self, node: Any) -> Col | Const | Func:
        """A comparison's side: a column, a constant or a function of one; a condition there
        ((a = b) = (c IS NULL)) is not understood, so the CHECK is left to the database rather than
        misread."""
        if not isinstance(node, Col | Const | Func):
            raise NotInterpretable("a condition compared as a value")
        return node

    def as_col(self, node: Any) -> Col:
        if not isinstance(node, Col):
            raise NotInterpretable("expected a column")
        return node

    def array_list(self) -> tuple[Any, ...]:
        """(ARRAY[...]) with any number of parentheses and casts around it, as PostgreSQL prints it."""
        depth = 0
        while self.accept("op", "("):
            depth += 1
        self.take("kw", "ARRAY")
        self.take("op", "[")
        values = [self.constant()]
        while self.accept("op", ","):
            values.append(self.constant())
        self.take("op", "]")
        self.skip_casts()
        for _ in range(depth):
            self.take("op", ")")
            self.skip_casts()
        return tuple(values)

    def constant(self) -> Any:
        node = self.operand()
        if not isinstance(node, Const):
            raise NotInterpretable("expected a constant")
        return node.value

    def skip_casts(self) -> str | None:
        """Skip ``::type`` suffixes; the last type's name (lower case), None if there was none."""
        last = None
        while self.accept("op", "::"):
            words = [self.take("id")[1]]
            while self.peek()[0] == "id":  # character varying, double precision
                words.append(self.take()[1])
            if self.accept("op", "("):
                while not self.accept("op", ")"):
                    if self.take()[0] == "eof":
                        raise NotInterpretable("unclosed (")
            array = False
            while self.accept("op", "["):
                self.take("op", "]")
                array = True
            last = None if array else " ".join(words).lower()
        return last

    def cast(self, node: Any) -> Any:
        """Casts after an operand; a constant takes the cast's value ('-5'::integer is -5)."""
        type_name = self.skip_casts()
        if isinstance(node, Const) and type_name is not None:
            return Const(_cast(node.value, type_name))
        return node

    def operand(self) -> Any:
        kind, value = self.peek()
        if kind == "op" and value == "(":
            self.i += 1
            inner = self.expr()
            self.take("op", ")")
            return self.cast(inner)
        self.i += 1
        if kind == "op" and value in {"-", "+"} and self.peek()[0] == "num":
            number = _number(self.take("num")[1])
            node: Any = Const(-number if value == "-" else number)
        elif kind == "id" and value.upper() in _TYPED_LITERALS and self.peek()[0] == "str":
            text = self.take("str")[1]  # DATE '2000-01-01': a typed literal
            node = Const(_cast(text[1:-1].replace("''", "'"), value.lower()))
        elif kind == "num":
            node = Const(_number(value))
        elif kind == "str":
            node = Const(value[1:-1].replace("''", "'"))
        elif kind == "qid":
            node = Col(value[1:-1].replace('""', '"').replace("``", "`"))
        elif kind == "kw" and value in {"TRUE", "FALSE"}:
            node = Const(value == "TRUE")
        elif kind == "kw" and value == "NULL":
            node = Const(None)
        elif kind == "id":
            node = self.function(value) if self.peek() == ("op", "(") else Col(value)
        else:
            raise NotInterpretable(f"unexpected {value or kind}")
        node = self.cast(node)
        if self.peek()[0] == "op" and self.peek()[1] in {"+", "*", "/", "%", "||"}:
            raise NotInterpretable("arithmetic")
        return node

    def function(self, name: str) -> Func:
        """A portable function of one operand: ``length(x)``; any other is not understood."""
        found = _FUNCTIONS.get(name.lower())
        if found == "length" and name.lower() == "length" and self.dialect in {"mysql", "mariadb"}:
            found = "octet_length"  # MySQL's LENGTH counts bytes
        if found is None:
            raise NotInterpretable(f"function {name}()")
        self.take("op", "(")
        arg = self.operand()
        self.take("op", ")")
        if not isinstance(arg, Col | Const | Func):
            raise NotInterpretable(f"a condition in {name}()")
        return Func(found, arg)


def _number(text: str) -> float | int:
    return float(text) if any(c in text for c in ".eE") else int(text)


_TYPED_LITERALS = {"DATE", "TIME", "TIMESTAMP"}
_INTEGER_TYPES = {"smallint", "integer", "int", "bigint", "int2", "int4", "int8", "tinyint", "mediumint"}
_NUMBER_TYPES = {"numeric", "decimal", "real", "double precision", "float", "float4", "float8", "double"}
_TEXT_TYPES = {"text", "character varying", "varchar", "character", "char", "bpchar", "name"}


def _cast(value: Any, type_name: str) -> Any:
    """A constant as the cast makes it: numbers from text ('-5'::integer), text from numbers; dates
    and times stay text here, read against the column they meet when rows are tested."""
    base = type_name.split("(")[0].strip()
    if isinstance(value, str) and (base in _INTEGER_TYPES or base in _NUMBER_TYPES):
        number = _as_number(value)
        if number is None:
            raise NotInterpretable(f"cast to {base}")
        return round(number) if base in _INTEGER_TYPES and isinstance(number, float) else number
    if isinstance(value, str) and base in {"boolean", "bool"}:
        flag = value.strip().lower()
        if flag in {"t", "true", "y", "yes", "on", "1"}:
            return True
        if flag in {"f", "false", "n", "no", "off", "0"}:
            return False
        raise NotInterpretable(f"cast to {base}")
    if base in _TEXT_TYPES and value is not None and not isinstance(value, str):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return value


def _as_number(text: str) -> float | int | None:
    try:
        return _number(text.strip())
    except ValueError:
        return None


def parse(sql: str, dialect: str | None = None) -> Any:
    """The expression tree of a CHECK, or NotInterpretable (``dialect``: the one it was written
    for, where a function's meaning depends on it)."""
    return _Parser(sql, dialect).parse()


def columns_of(node: Any) -> set[str]:
    if isinstance(node, Col):
        return {node.name}
    if isinstance(node, Const):
        return set()
    if isinstance(node, Func):
        return columns_of(node.arg)
    if isinstance(node, Cmp):
        return columns_of(node.left) | columns_of(node.right)
    if isinstance(node, In | IsNull):
        return {node.column.name}
    if isinstance(node, Between):
        return columns_of(node.column) | columns_of(node.low) | columns_of(node.high)
    if isinstance(node, BoolOp):
        return set().union(*(columns_of(i) for i in node.items))
    if isinstance(node, Not):
        return columns_of(node.item)
    return set()


# -- evaluation (SQL three-valued logic: a CHECK fails only where it is FALSE) ----------------------
# Values are compared as plain Python values of one kind per pair (number, date, datetime, aware
# datetime, time, text), because a frame holds whatever its column became (dates, pandas or numpy
# timestamps, Decimals, floats for integers) and a constant is whatever the CHECK's text says. Text
# meeting another kind is read as that kind, as the database reads a literal ('2000-01-01', '-5'); a
# date meeting a datetime is that day's midnight; a naive datetime meeting an aware one is UTC.
# Values that still cannot be ordered make the comparison unknown: the target judges them.
def _plain(v: Any) -> Any:
    """One value as SQL compares it: None for NULL (None, NaN, NaT), numpy scalars and Decimals as
    Python numbers, numpy datetimes as datetimes."""
    if v is None or v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, float | np.floating):
        return None if v != v else float(v)
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, Decimal):
        return None if v.is_nan() else float(v)
    if isinstance(v, np.datetime64):
        return None if np.isnat(v) else v.astype("datetime64[us]").item()
    return v


def _kind(v: Any) -> str:
    if isinstance(v, bool | int | float):
        return "number"
    if isinstance(v, dt.datetime):
        return "datetime" if v.utcoffset() is None else "aware"
    if isinstance(v, dt.date):
        return "date"
    if isinstance(v, dt.time):
        return "time"
    return "text" if isinstance(v, str) else "other"


def _kinds(values: np.ndarray) -> set[str]:
    """The kinds of the non-NULL values (by type; datetimes one by one, for their time zones)."""
    types = set(map(type, values)) - {type(None)}
    out: set[str] = set()
    for t in types:
        if issubclass(t, dt.datetime):
            out |= {_kind(v) for v in values if isinstance(v, t)}
        else:
            out.add(_kind_of_type(t))
    return out


def _kind_of_type(t: type) -> str:
    if issubclass(t, bool | int | float):
        return "number"
    if issubclass(t, dt.date):
        return "date"
    if issubclass(t, dt.time):
        return "time"
    return "text" if issubclass(t, str) else "other"


@functools.lru_cache(maxsize=4096)
def _read(text: str, kind: str) -> Any:
    """Text as a literal of ``kind``, as the database reads it; the text itself if it is not one."""
    t = text.strip()
    try:
        if kind == "number":
            return _number(t)
        if kind in {"date", "datetime", "aware"}:
            return dt.date.fromisoformat(t) if len(t) == 10 else dt.datetime.fromisoformat(t)
        if kind == "time":
            return dt.time.fromisoformat(t)
    except ValueError:
        pass
    return text


def _pair(x: Any, y: Any) -> tuple[Any, Any]:
    """Two non-NULL values brought to one kind, where SQL would compare them so."""
    kx, ky = _kind(x), _kind(y)
    if kx == ky:
        return x, y
    if kx == "text" and ky != "text":
        x = _read(x, ky)
    elif ky == "text" and kx != "text":
        y = _read(y, kx)
    kx, ky = _kind(x), _kind(y)
    if kx == "date" and ky in {"datetime", "aware"}:
        x, kx = _midnight(x, ky == "aware"), ky
    elif ky == "date" and kx in {"datetime", "aware"}:
        y, ky = _midnight(y, kx == "aware"), kx
    if {kx, ky} == {"datetime", "aware"}:
        x, y = (x.replace(tzinfo=dt.UTC), y) if kx == "datetime" else (x, y.replace(tzinfo=dt.UTC))
    return x, y


def _midnight(day: dt.date, aware: bool) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC if aware else None)


def _objects(values: Any, n: int) -> np.ndarray:
    """An object array of n values (lists and tuples stay single values)."""
    return np.fromiter(values, dtype=object, count=n)


def _side(node: Col | Const | Func, frame: pd.DataFrame) -> np.ndarray:
    """An operand's values as an object array of plain values (None for NULL)."""
    if isinstance(node, Const):
        return _repeat(node.value, len(frame))
    if isinstance(node, Func):
        return _objects(map(_APPLY[node.name], _side(node.arg, frame)), len(frame))
    s = frame[node.name]
    if s.dtype.kind in "iufbM":  # numbers and timestamps: vectorised
        out = s.to_numpy(dtype=object)
        out[s.isna().to_numpy()] = None
        return out
    return _objects(map(_plain, s.tolist()), len(s))


def _text(v: Any) -> str:
    """A value as the text a string function reads (numbers as SQL prints them: 5, not 5.0)."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return v if isinstance(v, str) else str(v)


def _null_safe(f: Any) -> Any:
    return lambda v: None if v is None else f(_text(v))


_APPLY = {
    "length": _null_safe(len),
    "octet_length": _null_safe(lambda s: len(s.encode("utf-8"))),
    "lower": _null_safe(str.lower),
    "upper": _null_safe(str.upper),
    "trim": _null_safe(lambda s: s.strip(" ")),
}


def _repeat(value: Any, n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


def _operands(
    left: Col | Const | Func, right: Col | Const | Func, frame: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Both sides of a comparison, row by row, as values of one kind where SQL would make them so."""
    a, b = _side(left, frame), _side(right, frame)
    ka, kb = _kinds(a), _kinds(b)
    if len(ka | kb) <= 1:
        return a, b
    # A constant is read once as the kind of the column it meets.
    for node, mine, other, theirs in ((left, a, b, kb), (right, b, a, ka)):
        if isinstance(node, Const) and node.value is not None and len(theirs) == 1:
            sample = next(v for v in other if v is not None)
            mine.fill(_pair(node.value, sample)[0])
    if len(_kinds(a) | _kinds(b)) <= 1:
        return a, b
    a, b = a.copy(), b.copy()
    for i in range(len(a)):
        if a[i] is not None and b[i] is not None:
            a[i], b[i] = _pair(a[i], b[i])
    return a, b


_OPS = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _nulls(values: np.ndarray) -> npt.NDArray[np.bool_]:
    return np.asarray(pd.isna(values), dtype=bool)


def _compare(op: str, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(result, unknown) per row: unknown where a side is NULL or the values cannot be ordered."""
    unknown = _nulls(a) | _nulls(b)
    result = np.zeros(len(a), dtype=bool)
    ok = ~unknown
    if not ok.any():
        return result, unknown
    try:
        result[ok] = np.asarray(_OPS[op](a[ok], b[ok]), dtype=bool)
    except TypeError:
        for i in np.flatnonzero(ok):
            try:
                result[i] = bool(_OPS[op](a[i], b[i]))
            except TypeError:
                unknown[i] = True
    return result, unknown


def _member(x: Any, lookup: set[Any], allowed: list[Any], mixed: bool) -> bool:
    try:
        if x in lookup:
            return True
    except TypeError:  # unhashable (a JSON value)
        pass
    if not mixed:
        return False
    for v in allowed:
        if v is None:
            continue
        p, q = _pair(x, v)
        try:
            if p == q or (isinstance(q, str) and _kind(p) == "other" and str(p) == q):
                return True
        except TypeError:
            continue
    return False


def truth(node: Any, frame: pd.DataFrame) -> pd.Series:
    """Per row: True, False or None (unknown), like SQL."""
    idx = frame.index
    if isinstance(node, Cmp):
        a, b = _operands(node.left, node.right, frame)
        result, unknown = _compare(node.op, a, b)
        return _tri(result, unknown, idx)
    if isinstance(node, In):
        v = _side(node.column, frame)
        kinds = _kinds(v)
        sample = next((x for x in v if x is not None), None)
        allowed = [
            None if c is None else (_pair(c, sample)[0] if len(kinds) == 1 else c) for c in node.values
        ]
        lookup = set(allowed)  # constants: hashable
        mixed = len(kinds | {_kind(c) for c in allowed if c is not None}) > 1
        inside = np.fromiter((x is not None and _member(x, lookup, allowed, mixed) for x in v), bool, len(v))
        unknown = _nulls(v)
        if None in allowed:  # x IN (1, NULL) is unknown, not false, where x is not 1
            unknown |= ~inside
        return _tri(inside != node.negated, unknown, idx)
    if isinstance(node, Between):
        low = Cmp(node.column, ">=", node.low)
        high = Cmp(node.column, "<=", node.high)
        inner = truth(BoolOp("AND", (low, high)), frame)
        return truth_not(inner) if node.negated else inner
    if isinstance(node, IsNull):
        isnull = frame[node.column.name].isna().to_numpy()
        return pd.Series(isnull != node.negated, index=idx, dtype=object)
    if isinstance(node, Not):
        return truth_not(truth(node.item, frame))
    if isinstance(node, BoolOp):
        parts = [truth(i, frame) for i in node.items]
        out = parts[0]
        for p in parts[1:]:
            out = _and(out, p) if node.op == "AND" else _or(out, p)
        return out
    if isinstance(node, Col) and node.name in frame:  # a boolean column on its own: NOT flag OR ...
        values = frame[node.name]
        known = values.notna().to_numpy()
        out = pd.Series([None] * len(frame), index=idx, dtype=object)
        out[known] = [bool(v) for v in values[known]]
        return out
    raise NotInterpretable(type(node).__name__)


def _tri(values: np.ndarray, unknown: np.ndarray, idx: pd.Index) -> pd.Series:
    out = pd.Series(values, index=idx, dtype=object)
    out[unknown] = None
    return out


def truth_not(s: pd.Series) -> pd.Series:
    return s.map(lambda v: None if v is None else not v)


def _and(a: pd.Series, b: pd.Series) -> pd.Series:
    return pd.Series(
        [
            False if (x is False or y is False) else (None if (x is None or y is None) else True)
            for x, y in zip(a, b, strict=True)
        ],
        index=a.index,
        dtype=object,
    )


def _or(a: pd.Series, b: pd.Series) -> pd.Series:
    return pd.Series(
        [
            True if (x is True or y is True) else (None if (x is None or y is None) else False)
            for x, y in zip(a, b, strict=True)
        ],
        index=a.index,
        dtype=object,
    )


def violations(node: Any, frame: pd.DataFrame) -> np.ndarray:
    """Rows where the CHECK is FALSE (SQL passes NULL)."""
    return (truth(node, frame) == False).to_numpy()  # noqa: E712  (object series of True/False/None)


# -- repair -------------------------------------------------------------------------------------
def repair(
    node: Any,
    frame: pd.DataFrame,
    free: set[str],
    rng: np.random.Generator,
    *,
    nullable: set[str] = frozenset(),  # type: ignore[assignment]
) -> None:
    """Change ``free`` columns (not keys) of violating rows so the CHECK holds, where the form allows.

    Comparisons with constants clip; comparisons between columns move the free side onto the
    other; IN lists draw an allowed value seen in the column; ``x IS NULL OR cond`` repairs cond.
    """
    bad = violations(node, frame)
    if not bad.any():
        return
    if isinstance(node, BoolOp) and node.op == "AND":
        for item in node.items:
            repair(item, frame, free, rng, nullable=nullable)
        return
    if isinstance(node, BoolOp) and node.op == "OR":
        null_ok = [i for i in node.items if isinstance(i, IsNull) and not i.negated]
        rest = [i for i in node.items if i not in null_ok]
        if len(rest) == 1:
            repair(rest[0], frame, free, rng, nullable=nullable)
        # "x IS NULL OR ...": where that still fails and x may be NULL, NULL satisfies it.
        still = violations(node, frame)
        for item in null_ok:
            if still.any() and item.column.name in nullable:
                frame.loc[still, item.column.name] = None
                still = violations(node, frame)
        return
    if isinstance(node, Between) and not node.negated:
        repair(Cmp(node.column, ">=", node.low), frame, free, rng, nullable=nullable)
        repair(Cmp(node.column, "<=", node.high), frame, free, rng, nullable=nullable)
        return
    if isinstance(node, In) and not node.negated and node.column.name in free:
        col = node.column.name
        ok = frame.loc[~bad, col]
        pool = ok[ok.notna()].to_numpy() if ok.notna().any() else _listed(node, frame[col])
        if len(pool):
            _put(frame, bad, col, _objects(pool[rng.integers(0, len(pool), int(bad.sum()))], int(bad.sum())))
        return
    if isinstance(node, IsNull) and node.column.name in free and node.negated is False:
        frame.loc[bad, node.column.name] = None
        return
    if isinstance(node, Cmp):
        _repair_cmp(node, frame, bad, free)


def broken_by(
    sqls: Iterable[str], frame: pd.DataFrame, column: str, values: np.ndarray, rows: np.ndarray
) -> npt.NDArray[np.bool_]:
    """Rows (among ``rows``) where ``values`` in place of ``column`` would make an understood CHECK
    false that the frame's own values keep: a move after the CHECKs were repaired (the record
    guard's nudge) that must not be made, or it reaches the target as a CHECK violation."""
    out = np.zeros(len(frame), dtype=bool)
    if not len(rows):
        return out
    for sql in sqls:
        try:
            node = parse(sql)
        except NotInterpretable:
            continue
        cols = columns_of(node)
        if column not in cols or not cols <= set(frame.columns):
            continue
        before = frame.iloc[rows][sorted(cols)]
        after = before.copy()
        after[column] = pd.Series(values[rows], index=after.index, dtype=object)
        out[rows] |= violations(node, after) & ~violations(node, before)
    return out


def _listed(node: In, column: pd.Series) -> np.ndarray:
    """An IN list's values as values of the column ('2000-01-01' as a date in a date column)."""
    sample = next((p for p in (_plain(v) for v in column.tolist()) if p is not None), None)
    listed = [v if sample is None else _pair(v, sample)[0] for v in node.values if v is not None]
    return _like(_objects(listed, len(listed)), column)


def borrow(node: Any, frame: pd.DataFrame, free: set[str], rng: np.random.Generator) -> None:
    """Last resort for any understood CHECK over free columns: take those columns' values from a
    random row that satisfies it (the values stay synthetic and keep the marginals)."""
    cols = sorted(columns_of(node))
    if not cols or not set(cols) <= free:
        return
    bad = violations(node, frame)
    good = np.flatnonzero(~bad)
    if not bad.any() or len(good) == 0:
        return
    donors = good[rng.integers(0, len(good), int(bad.sum()))]
    for c in cols:
        values = frame[c].astype(object).to_numpy(copy=True)
        values[bad] = values[donors]
        # An object column stays one (pandas would turn its datetimes into datetime64).
        frame[c] = pd.Series(values, index=frame.index, dtype=object) if frame[c].dtype == object else values


def _repair_cmp(node: Cmp, frame: pd.DataFrame, bad: np.ndarray, free: set[str]) -> None:
    op = node.op
    left, right = node.left, node.right
    if isinstance(left, Const) and isinstance(right, Col):
        flip = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>"}
        left, right, op = right, left, flip[op]
    if not isinstance(left, Col) or op == "<>":
        return
    target, source = (left, right)
    if target.name not in free and isinstance(right, Col) and right.name in free:
        flip = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}
        target, source, op = right, left, flip[op]
    if target.name not in free:
        return
    column = frame[target.name]
    step = _smallest_step(column)
    up = op in {">", ">="}

    def onto(v: Any) -> Any:
        if step == 1 and isinstance(v, float) and math.isfinite(v) and not v.is_integer():
            return math.ceil(v) if up else math.floor(v)  # an integer column: the nearest integer inside
        return _shift(v, step if up else -step) if op in {"<", ">"} else v

    values = _operands(target, source, frame)[1][bad]
    _put(frame, bad, target.name, _like(_objects((onto(v) for v in values), len(values)), column))


def _put(frame: pd.DataFrame, rows: npt.NDArray[np.bool_], name: str, values: np.ndarray) -> None:
    """Write values into some rows of a column; a numeric column stays numeric (floats if need be)."""
    dtype = frame[name].dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
        numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy()
        if dtype.kind != "f" and numbers.dtype.kind != dtype.kind:
            dtype = np.dtype(float)
            frame[name] = frame[name].astype(dtype)
        frame.loc[rows, name] = numbers.astype(dtype)
        return
    frame.loc[rows, name] = values


def _smallest_step(column: pd.Series) -> Any:
    known = [p for p in (_plain(v) for v in column.tolist()) if p is not None]
    first = known[0] if known else None
    if isinstance(first, dt.datetime | dt.time):
        return dt.timedelta(seconds=1)
    if isinstance(first, dt.date):
        return dt.timedelta(days=1)
    if pd.api.types.is_integer_dtype(column) or (
        known and all(isinstance(v, int | float) and float(v).is_integer() for v in known[:100])
    ):
        return 1
    return 0.01


def _shift(value: Any, step: Any) -> Any:
    """value + step; the value itself where it cannot move (a time past midnight, date.max)."""
    if value is None:
        return None
    try:
        if isinstance(value, dt.time):
            day = dt.date(2000, 1, 1)
            moved = dt.datetime.combine(day, value) + step
            return moved.time().replace(tzinfo=value.tzinfo) if moved.date() == day else value
        return value + step
    except (OverflowError, TypeError):
        return value


def _like(values: np.ndarray, column: pd.Series) -> np.ndarray:
    """Values in the column's own representation (dates stay dates, Decimals Decimals), as an
    object array (so that pandas does not turn datetimes into numpy's)."""
    raw = next((v for v in column.tolist() if _plain(v) is not None), None)
    return _objects((v if v is None else _as_like(v, raw) for v in values), len(values))


def _as_like(v: Any, raw: Any) -> Any:
    first = _plain(raw)
    if isinstance(first, dt.datetime) and isinstance(v, dt.date):
        if not isinstance(v, dt.datetime):
            return _midnight(v, first.utcoffset() is not None)
        if first.utcoffset() is not None and v.utcoffset() is None:
            return v.replace(tzinfo=dt.UTC)
        if first.utcoffset() is None and v.utcoffset() is not None:
            return v.astimezone(dt.UTC).replace(tzinfo=None)
        return v
    if isinstance(first, dt.date) and isinstance(v, dt.datetime):
        return v.date()
    if isinstance(raw, Decimal) and isinstance(v, int | float) and not isinstance(v, bool):
        return Decimal(str(v))
    return v


# -- the integers a key column may hold ---------------------------------------------------------
TYPE_RANGES: dict[str, tuple[int, int]] = {
    "smallint": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}


@dataclass(frozen=True)
class Domain:
    """The integers lo..hi a column may hold (only ``values`` among them when a CHECK lists them)."""

    lo: int
    hi: int
    values: tuple[int, ...] | None = None

    def allowed(self) -> np.ndarray | None:
        """The listed values inside lo..hi, sorted; None when every integer of lo..hi is allowed."""
        if self.values is None:
            return None
        return np.array(sorted(v for v in set(self.values) if self.lo <= v <= self.hi), dtype=np.int64)

    def size(self) -> int:
        listed = self.allowed()
        return len(listed) if listed is not None else max(self.hi - self.lo + 1, 0)

    def run_from(self, start: int) -> int:
        """How many consecutive integers start, start + 1, ... are allowed (a numbering's room)."""
        if start < self.lo or start > self.hi:
            return 0
        listed = self.allowed()
        if listed is None:
            return self.hi - start + 1
        steps = listed[listed >= start] - start
        gaps = np.flatnonzero(steps != np.arange(len(steps)))
        return int(gaps[0]) if len(gaps) else len(steps)


def integer_domain(column: str, type_name: str, checks: list[str], *, unsigned: bool = False) -> Domain:
    """What the column's integer type and CHECKs allow it to hold (CHECKs not understood allow all).

    A key numbering children within a parent can take only this many values per parent, so it
    bounds the children a parent may have (seq BETWEEN 1 AND 3: three lines per order at most).
    """
    lo, hi = TYPE_RANGES.get(type_name, TYPE_RANGES["bigint"])
    if unsigned:
        lo, hi = 0, 2 * hi + 1
    values: set[int] | None = None
    for sql in checks:
        try:
            found = _interval(parse(sql), column)
        except NotInterpretable:
            continue
        if found is None:
            continue
        a, b, listed = found
        lo, hi = max(lo, a), min(hi, b)
        if listed is not None:
            values = set(listed) if values is None else values & set(listed)
    return Domain(lo, hi, None if values is None else tuple(sorted(values)))


_NO_LIMIT = (-(2**63), 2**63 - 1)


def _interval(node: Any, column: str) -> tuple[int, int, frozenset[int] | None] | None:
    """Integer bounds a (not NULL) column must satisfy for the CHECK to hold; None: unbounded."""
    if isinstance(node, Cmp):
        left, op, right = node.left, node.op, node.right
        if isinstance(left, Const) and isinstance(right, Col):
            left, right = right, left
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        if not (isinstance(left, Col) and left.name == column and isinstance(right, Const)):
            return None
        v = _as_number(right.value) if isinstance(right.value, str) else right.value  # v >= '5'
        if isinstance(v, bool) or not isinstance(v, int | float):
            return None
        lo, hi = _NO_LIMIT
        if op == "=":
            return (int(v), int(v), None) if float(v).is_integer() else (1, 0, None)
        if op in {">", ">="}:
            lo = int(np.floor(v)) + 1 if (op == ">" or not float(v).is_integer()) else int(v)
        elif op in {"<", "<="}:
            hi = int(np.ceil(v)) - 1 if (op == "<" or not float(v).is_integer()) else int(v)
        else:
            return None
        return lo, hi, None
    if isinstance(node, Between) and not node.negated and node.column == Col(column):
        low = _interval(Cmp(node.column, ">=", node.low), column)
        high = _interval(Cmp(node.column, "<=", node.high), column)
        return _intersect([x for x in (low, high) if x is not None])
    if isinstance(node, In) and not node.negated and node.column.name == column:
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in node.values):
            return None
        ints = [int(v) for v in node.values if float(v).is_integer()]  # 1.5 is never an integer's
        return (min(ints), max(ints), frozenset(ints)) if ints else (1, 0, frozenset())
    if isinstance(node, BoolOp) and node.op == "AND":
        return _intersect([x for x in (_interval(i, column) for i in node.items) if x is not None])
    if isinstance(node, BoolOp) and node.op == "OR":
        # A key column is never NULL, so "col IS NULL OR ..." constrains it like the rest.
        items = [
            i for i in node.items if not (isinstance(i, IsNull) and not i.negated and i.column.name == column)
        ]
        parts = [_interval(i, column) for i in items]
        if not parts or any(p is None for p in parts):
            return None
        known = [p for p in parts if p is not None]
        listed = None if any(p[2] is None for p in known) else frozenset().union(*(p[2] or () for p in known))
        return min(p[0] for p in known), max(p[1] for p in known), listed
    return None


def _intersect(
    parts: list[tuple[int, int, frozenset[int] | None]],
) -> tuple[int, int, frozenset[int] | None] | None:
    if not parts:
        return None
    lo = max(p[0] for p in parts)
    hi = min(p[1] for p in parts)
    listed = None
    for p in parts:
        if p[2] is not None:
            listed = p[2] if listed is None else listed & p[2]
    return lo, hi, listed
