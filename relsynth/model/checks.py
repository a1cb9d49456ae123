r"""CHECK constraints: parse the simple forms, test rows against them, repair what can be repaired.

Understood: comparisons between a column and a constant or another column, IN lists (and
PostgreSQL's `= ANY (ARRAY[...])` spelling of them), BETWEEN, IS [NOT] NULL, AND/OR/NOT, casts
(`'-5'::integer` is -5) and typed literals (`DATE '2000-01-01'`). Text constants are read as the
kind of column they meet (a date, a timestamp, a time, a number), as the database reads them, and
as the dialect the CHECK is written in spells them: MariaDB's 'a\\b' is a\b (one backslash), as
PostgreSQL's E'a\\b' is, where 'a\\b' is two backslashes (``dialect``; none reads PostgreSQL's).
The portable string functions length/char_length, lower, upper and trim are understood on either
side of a comparison (MySQL's LENGTH counts bytes: read with ``dialect="mysql"``, it is
octet_length). Arithmetic (``+ - * / %``, unary minus, parentheses) between numeric columns and
constants is understood on either side of a comparison or BETWEEN, with SQL's semantics: a NULL
operand makes the value NULL (the CHECK passes), ``%`` is the remainder with the dividend's sign,
integer ``/`` integer truncates toward zero (except in MySQL, whose ``/`` is exact), and a division
by zero counts as a violation (PostgreSQL and strict MySQL reject the row; treating it as failing is
safe everywhere). Values are computed exactly (decimals as decimals, not binary floats). Arithmetic
on values that are not numbers (dates, text) is not evaluated here: unknown, see ``arithmetic_columns``.
Anything else (other functions, ``||``, regular expressions) is reported as not interpretable and
left to the writer, which tests rows in the target itself.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from relsynth import dialects


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
    arg: Col | Const | Func | Arith


@dataclass(frozen=True)
class Arith:
    """``left op right`` with op one of + - * / %; ``exact_div``: ``/`` never truncates (MySQL)."""

    op: str
    left: Col | Const | Func | Arith
    right: Col | Const | Func | Arith
    exact_div: bool = False


Value = Col | Const | Func | Arith


@dataclass(frozen=True)
class Cmp:
    left: Value
    op: str
    right: Value


@dataclass(frozen=True)
class In:
    column: Col
    values: tuple[Any, ...]
    negated: bool = False


@dataclass(frozen=True)
class Between:
    column: Col | Func | Arith
    low: Value
    high: Value
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    column: Col
    negated: bool = False


@dataclass(frozen=True)
class Like:
    """``column [NOT] LIKE pattern``: the pattern as parts, ``("%", "")`` any run of characters,
    ``("_", "")`` one character, ``("=", c)`` the character c itself (its escape already read).
    ``case`` is how letters compare in the dialect it was written in: "sensitive" (PostgreSQL's
    LIKE), "ascii" (SQLite's LIKE: ASCII letters only, the others as they are), "insensitive"
    (PostgreSQL's ILIKE), "collation" (MariaDB's LIKE: the column's collation, case- and
    accent-insensitive by default)."""

    column: Value
    parts: tuple[tuple[str, str], ...]
    negated: bool = False
    case: str = "sensitive"

    def letters(self) -> bool:
        """Does the pattern hold a letter that has a case (where the case rules matter)?"""
        return any(k == "=" and c.lower() != c.upper() for k, c in self.parts)

    def text(self, escape: str | None = None) -> str:
        """The pattern as LIKE reads it, its own % and _ (and the escape character) escaped with
        ``escape``."""
        out = []
        for kind, c in self.parts:
            if kind != "=":
                out.append(kind)
            elif escape and c in {"%", "_", escape}:
                out.append(escape + c)
            else:
                out.append(c)
        return "".join(out)


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND | OR
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Not:
    item: Any


_TOKENS = r"""\s*(?:
    (?P<num>\d+\.\d*|\.\d+|\d+(?:[eE][-+]?\d+)?)
    |(?P<str>{string})
    |(?P<qid>"(?:[^"]|"")*"|`(?:[^`]|``)*`)
    |(?P<bid>\[[^\]'",]+\])
    |(?P<op>!~~\*|~~\*|!~~|~~|<=|>=|<>|!=|==|::|=|<|>|\(|\)|,|\[|\]|-|\+|\*|/|%|\|\|)
    |(?P<id>[A-Za-z_][A-Za-z_0-9$]*)
    )"""


@functools.cache
def _token(dialect: str | None) -> re.Pattern[str]:
    """The tokens of a CHECK in the dialect: its string literals are spelled its own way (MariaDB's
    with backslash escapes, PostgreSQL's E'...' too)."""
    return re.compile(_TOKENS.replace("{string}", dialects.string_pattern(_family(dialect))), re.VERBOSE)


def _family(dialect: str | None) -> str | None:
    return dialects.family(dialect) if dialect else None


_KEYWORDS = {
    "AND", "OR", "NOT", "IN", "BETWEEN", "IS", "NULL", "TRUE", "FALSE", "ANY", "ARRAY", "SOME",
    "LIKE", "ILIKE", "ESCAPE", "GLOB",
}  # fmt: skip
# PostgreSQL's spelling of LIKE as it prints a CHECK: operator -> (negated, case-insensitive)
_LIKE_OPS = {"~~": (False, False), "!~~": (True, False), "~~*": (False, True), "!~~*": (True, True)}


def _tokenize(text: str, dialect: str | None = None) -> list[tuple[str, str]]:
    pos, out = 0, []
    text = text.strip()
    pattern = _token(dialect)
    while pos < len(text):
        m = pattern.match(text, pos)
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
        self.toks = _tokenize(text, dialect)
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
        if isinstance(node, Col | Const | Func | Arith):
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
        if tok[0] == "op" and tok[1] in _LIKE_OPS:
            self.i += 1
            negated, insensitive = _LIKE_OPS[tok[1]]
            return self.like(left, negated, insensitive)
        negated = self.accept("kw", "NOT")
        if self.peek() in {("kw", "LIKE"), ("kw", "ILIKE")}:
            return self.like(left, negated, self.take()[1] == "ILIKE")
        if self.accept("kw", "GLOB"):  # SQLite's case-sensitive LIKE: * ? and [c]
            subject, pattern = self.value(left), self.constant()
            if isinstance(subject, Const) or not isinstance(pattern, str):
                raise NotInterpretable("GLOB of a constant, or on a pattern that is not text")
            return Like(subject, _glob_parts(pattern), negated, "sensitive")
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

    def like(self, left: Any, negated: bool, insensitive: bool) -> Like:
        """``left [NOT] LIKE 'pattern' [ESCAPE 'c']`` (the keyword or operator already taken), or
        PostgreSQL's ``~~ like_escape('pattern', 'c')``."""
        subject = self.value(left)
        if isinstance(subject, Const):
            raise NotInterpretable("expected a column")
        family = _family(self.dialect)
        escape: str | None = None if family == "sqlite" else "\\"  # SQLite's LIKE has no default escape
        if self.peek()[0] == "id" and self.peek()[1].lower() == "like_escape":
            self.take("id")
            self.take("op", "(")
            pattern = self.constant()
            self.take("op", ",")
            escape = self.constant()
            self.take("op", ")")
            self.skip_casts()
        else:
            pattern = self.constant()
            if self.accept("kw", "ESCAPE"):
                escape = self.constant()
        if not isinstance(pattern, str) or not (escape is None or isinstance(escape, str)):
            raise NotInterpretable("a LIKE pattern that is not text")
        if escape is not None and len(escape) > 1:
            raise NotInterpretable("an ESCAPE of more than one character")
        case = "insensitive" if insensitive else {"sqlite": "ascii", "mysql": "collation"}.get(family or "")
        return Like(subject, _like_parts(pattern, escape or None), negated, case or "sensitive")

    def value(self, node: Any) -> Value:
        """A comparison's side: a column, a constant, a function of one or arithmetic; a condition there
        ((a = b) = (c IS NULL)) is not understood, so the CHECK is left to the database rather than
        misread."""
        if not isinstance(node, Col | Const | Func | Arith):
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
        """An arithmetic expression: terms joined by + and -."""
        node = self.term()
        while self.peek() in {("op", "+"), ("op", "-")}:
            op = self.take()[1]
            node = self.arith(op, node, self.term())
        if self.peek() == ("op", "||"):
            raise NotInterpretable("string concatenation")
        return node

    def term(self) -> Any:
        """Factors joined by *, / and % (binding tighter than + and -)."""
        node = self.unary()
        while self.peek() in {("op", "*"), ("op", "/"), ("op", "%")}:
            op = self.take()[1]
            node = self.arith(op, node, self.unary())
        return node

    def unary(self) -> Any:
        """Unary minus and plus: -5 is a constant, -x is 0 - x (NULL stays NULL)."""
        if self.accept("op", "-"):
            inner = self.unary()
            if (
                isinstance(inner, Const)
                and isinstance(inner.value, int | float)
                and not isinstance(inner.value, bool)
            ):
                return Const(-inner.value)
            return self.arith("-", Const(0), inner)
        if self.accept("op", "+"):
            return self.value(self.unary())
        return self.primary()

    def arith(self, op: str, left: Any, right: Any) -> Arith:
        return Arith(op, self.value(left), self.value(right), self.dialect in {"mysql", "mariadb"})

    def primary(self) -> Any:
        kind, value = self.peek()
        if kind == "op" and value == "(":
            self.i += 1
            if self.peek()[0] in {"id", "qid"} and self.peek(1) == ("op", ")"):
                # A column in parentheses is a value, as PostgreSQL prints one it casts:
                # ((status)::text = 'a'::text). Read as a condition, status became status = TRUE.
                inner = self.primary()
            else:
                inner = self.expr()
            self.take("op", ")")
            return self.cast(inner)
        self.i += 1
        node: Any
        if kind == "id" and value.upper() in _TYPED_LITERALS and self.peek()[0] == "str":
            text = self.take("str")[1]  # DATE '2000-01-01': a typed literal
            node = Const(_cast(self.string(text), value.lower()))
        elif kind == "num":
            node = Const(_number(value))
        elif kind == "str":
            node = Const(self.string(value))
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
        return self.cast(node)

    def string(self, literal: str) -> str:
        r"""The value a string literal holds in the dialect the CHECK was written in: MariaDB's
        'a\\b' is a\b (one backslash), as PostgreSQL's E'a\\b' is; its 'a\\b' is two."""
        return dialects.string_value(literal, _family(self.dialect))

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
        if not isinstance(arg, Col | Const | Func | Arith):
            raise NotInterpretable(f"a condition in {name}()")
        return Func(found, arg)


def _like_parts(pattern: str, escape: str | None) -> tuple[tuple[str, str], ...]:
    """A LIKE pattern's parts (see Like); an escape character before any character makes it itself."""
    parts: list[tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if escape and c == escape:
            if i + 1 == len(pattern):
                raise NotInterpretable("a LIKE pattern ending in its escape character")
            parts.append(("=", pattern[i + 1]))
            i += 2
            continue
        parts.append((c, "") if c in {"%", "_"} else ("=", c))
        i += 1
    return tuple(parts)


def _glob_parts(pattern: str) -> tuple[tuple[str, str], ...]:
    """A GLOB pattern's parts (see Like): * any run, ? one character, [c] the character c; a set
    of several characters has no LIKE spelling."""
    parts: list[tuple[str, str]] = []
    for m in re.finditer(r"\[(\]|[^\]]*)\]|.", pattern, re.DOTALL):
        inner = m.group(1)
        if (inner is not None and len(inner) != 1) or inner == "^" or m.group(0) == "[":
            raise NotInterpretable("a GLOB set of characters")
        c = m.group(0)
        parts.append(
            ("=", inner)
            if inner is not None
            else ("%", "")
            if c == "*"
            else ("_", "")
            if c == "?"
            else ("=", c)
        )
    return tuple(parts)


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
    if isinstance(node, Arith):
        return columns_of(node.left) | columns_of(node.right)
    if isinstance(node, Cmp):
        return columns_of(node.left) | columns_of(node.right)
    if isinstance(node, In | IsNull):
        return {node.column.name}
    if isinstance(node, Like):
        return columns_of(node.column)
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


def _side(node: Value, frame: pd.DataFrame, floating: bool = False) -> np.ndarray:
    """An operand's values as an object array of plain values (None for NULL); arithmetic computed
    exactly, or (``floating``) in binary floats, as SQLite computes its REAL decimals."""
    if isinstance(node, Const):
        return _repeat(node.value, len(frame))
    if isinstance(node, Arith):
        return _plain_numbers(_arith(node, frame, floating))
    if isinstance(node, Func):
        return _objects(map(_APPLY[node.name], _side(node.arg, frame, floating)), len(frame))
    s = frame[node.name]
    if s.dtype.kind in "iufbM":  # numbers and timestamps: vectorised
        out = s.to_numpy(dtype=object)
        out[s.isna().to_numpy()] = None
        return out
    objects = s.to_numpy(dtype=object)
    types = set(map(type, objects))  # in C: a generator per value was a tenth of diabetes130's sample
    if types <= _PLAIN_TYPES:  # text, dates, ... and NULLs: plain already
        return objects.copy()
    if types <= _PLAIN_TYPES | {float}:  # and floats: plain but NaN, which is NULL
        out = objects.copy()
        out[pd.isna(objects)] = None
        return out
    return _objects(map(_plain, s.tolist()), len(s))


# Types _plain gives back as they are (exact types: a subclass may be a numpy scalar)
_PLAIN_TYPES = frozenset({type(None), str, int, bool, dt.date, dt.datetime, dt.time})


def _unpadded(values: np.ndarray) -> np.ndarray:
    return _objects((v.rstrip(" ") if isinstance(v, str) else v for v in values), len(values))


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


class _Failed:
    """A value whose computation fails in the database (a division by zero): the row is rejected."""

    def __repr__(self) -> str:
        return "FAILED"


FAILED = _Failed()
_UNKNOWN = object()  # arithmetic on something that is not a number: not evaluated here


def _float(v: Any) -> Any:
    """A plain value as SQLite computes with it: ints stay ints, other numbers are floats."""
    if isinstance(v, float):
        return v if math.isfinite(v) else _UNKNOWN
    e = _exact(v)
    return float(e) if isinstance(e, Decimal) else e


def _exact(v: Any) -> Any:
    """A plain value as an exact number (ints stay ints, floats become the decimal they print as),
    None for NULL, FAILED as it is, _UNKNOWN for what is not a number."""
    if v is None or v is FAILED or v is _UNKNOWN:
        return v
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int | Decimal):
        return v
    if isinstance(v, float):
        return Decimal(repr(v)) if math.isfinite(v) else _UNKNOWN
    if isinstance(v, str):
        number = _as_number(v)
        return _UNKNOWN if number is None else _exact(number)
    return _UNKNOWN


def _exacts(values: np.ndarray, floating: bool = False) -> np.ndarray:
    return _objects(map(_float if floating else _exact, values), len(values))


def _sql_op(op: str, exact_div: bool) -> Any:
    """One arithmetic operator on two exact numbers, as SQL computes it."""

    def apply(a: Any, b: Any) -> Any:
        if a is None or b is None:
            return None
        if a is FAILED or b is FAILED:
            return FAILED
        if a is _UNKNOWN or b is _UNKNOWN:
            return _UNKNOWN
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if b == 0:
            return FAILED
        if op == "%":
            if isinstance(a, float) or isinstance(b, float):
                return math.fmod(a, b)
            return _remainder(a, b)
        if isinstance(a, int) and isinstance(b, int) and not exact_div:
            q = abs(a) // abs(b)
            return q if (a < 0) == (b < 0) else -q
        if isinstance(a, float) or isinstance(b, float):
            return a / b
        return Decimal(a) / Decimal(b)

    return apply


_ARITH_CACHE: dict[tuple[str, bool], Any] = {}


def _arith(node: Arith, frame: pd.DataFrame, floating: bool = False) -> np.ndarray:
    """Arithmetic over the rows, as exact numbers or (``floating``) binary floats (None for NULL,
    FAILED, _UNKNOWN)."""
    parts = []
    for side in (node.left, node.right):
        if isinstance(side, Arith):
            parts.append(_arith(side, frame, floating))
        else:
            parts.append(_exacts(_side(side, frame, floating), floating))
    key = (node.op, node.exact_div)
    if key not in _ARITH_CACHE:
        _ARITH_CACHE[key] = np.frompyfunc(_sql_op(*key), 2, 1)
    out = _ARITH_CACHE[key](parts[0], parts[1])
    return np.asarray(out, dtype=object).reshape(len(frame))


def _plain_numbers(values: np.ndarray) -> np.ndarray:
    """Computed values as plain ones: ints stay ints, decimals become the nearest float (rounding is
    monotone, so orders and equalities between numbers of a few digits are kept), _UNKNOWN is NULL."""

    def plain(v: Any) -> Any:
        if isinstance(v, Decimal):
            return float(v)
        return None if v is _UNKNOWN else v

    return _objects(map(plain, values), len(values))


def arithmetic_columns(node: Any) -> set[str]:
    """The columns a CHECK computes with: where one of them holds no numbers (a date, text), the
    arithmetic is not evaluated here, and the CHECK is the target's to judge."""
    if isinstance(node, Arith):
        return columns_of(node)
    out: set[str] = set()
    for part in ("left", "right", "column", "low", "high", "arg", "item"):
        child = getattr(node, part, None)
        if child is not None and not isinstance(child, Col | Const):
            out |= arithmetic_columns(child)
    for item in getattr(node, "items", ()) if isinstance(node, BoolOp) else ():
        out |= arithmetic_columns(item)
    return out


def _repeat(value: Any, n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


def _operands(
    left: Value, right: Value, frame: pd.DataFrame, floating: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Both sides of a comparison, row by row, as values of one kind where SQL would make them so."""
    a, b = _side(left, frame, floating), _side(right, frame, floating)
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


def _failed(values: np.ndarray) -> npt.NDArray[np.bool_]:
    if values.dtype != object or _Failed not in set(map(type, values)):  # types collected in C
        return np.zeros(len(values), dtype=bool)
    return np.fromiter((v is FAILED for v in values), dtype=bool, count=len(values))


def _compare(op: str, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(result, unknown) per row: unknown where a side is NULL or the values cannot be ordered;
    false where a side failed to compute (a division by zero: the database rejects the row)."""
    unknown = _nulls(a) | _nulls(b)
    failed = (_failed(a) | _failed(b)) & ~unknown
    unknown |= failed
    result = np.zeros(len(a), dtype=bool)
    ok = ~unknown
    if failed.any():
        unknown &= ~failed  # false, whatever the other side
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


def _inside(v: np.ndarray, lookup: set[Any], allowed: list[Any], mixed: bool) -> npt.NDArray[np.bool_]:
    """Per value: not NULL and a member of the IN list. Values of one kind (not ``mixed``) are
    looked up once per distinct value (pd.factorize merges values as the set does), the rows it
    finds NULL one at a time."""

    def one(x: Any) -> bool:
        return x is not None and _member(x, lookup, allowed, mixed)

    if not mixed:
        try:
            found, uniques = pd.factorize(v, use_na_sentinel=True)
        except TypeError:  # unhashable values (JSON): one at a time
            found = None
        if found is not None and not any(isinstance(u, tuple) for u in uniques):
            member = np.fromiter(map(one, uniques), dtype=bool, count=len(uniques))
            out = np.append(member, False)[np.where(found >= 0, found, len(member))]
            for i in np.flatnonzero(found < 0):
                out[i] = one(v[i])
            return out
    return np.fromiter(map(one, v), dtype=bool, count=len(v))


def truth(node: Any, frame: pd.DataFrame) -> pd.Series:
    """Per row: True, False or None (unknown), like SQL."""
    idx = frame.index
    if isinstance(node, Cmp) and arithmetic_columns(node):
        # Computed in binary floats (SQLite's REAL decimals, where 1.1 * 1.5 > 1.65) and exactly
        # (PostgreSQL, MySQL): a row passes only where both agree it does. Exactly only where a
        # float is involved and the two sides are close: elsewhere both agree.
        fa, fb = _operands(node.left, node.right, frame, floating=True)
        result, unknown = _compare(node.op, fa, fb)
        close = np.flatnonzero(_close(fa, fb) & ~unknown)
        if len(close):
            a, b = _operands(node.left, node.right, frame.iloc[close])
            exact, _ = _compare(node.op, a, b)
            result[close] &= exact
        return _tri(result, unknown, idx)
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
        if kinds == {"text"}:  # trailing blanks do not count (CHAR(n), and MySQL's PAD SPACE)
            v = _unpadded(v)
            allowed = [c.rstrip(" ") if isinstance(c, str) else c for c in allowed]
        lookup = set(allowed)  # constants: hashable
        mixed = len(kinds | {_kind(c) for c in allowed if c is not None}) > 1
        inside = _inside(v, lookup, allowed, mixed)
        unknown = _nulls(v)
        if None in allowed:  # x IN (1, NULL) is unknown, not false, where x is not 1
            unknown |= ~inside
        return _tri(inside != node.negated, unknown, idx)
    if isinstance(node, Like):
        v = _side(node.column, frame)
        unknown = _nulls(v)
        match = _like_match(node)
        found = np.fromiter((x is not None and match(_text(x)) for x in v), dtype=bool, count=len(v))
        return _tri(found != node.negated, unknown, idx)
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


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _fold(text: str, case: str) -> str:
    """Text as the case rule of a LIKE compares it (see Like.case)."""
    if case == "ascii":
        return text.translate(_ASCII_LOWER)
    if case == "insensitive":
        return text.lower()
    if case == "collation":  # MariaDB's default collations: case and accents do not count
        return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c))
    return text


@functools.cache
def _like_match(node: Like) -> Any:
    """A test of one text against the LIKE's pattern, under its case rule."""
    body = "".join(
        ".*" if kind == "%" else "." if kind == "_" else re.escape(_fold(c, node.case))
        for kind, c in node.parts
    )
    pattern = re.compile(body, re.DOTALL)
    return lambda text: pattern.fullmatch(_fold(text, node.case)) is not None


def likes(node: Any) -> list[Like]:
    """The LIKEs in a CHECK."""
    if isinstance(node, Like):
        return [node]
    if isinstance(node, BoolOp):
        return [like for item in node.items for like in likes(item)]
    if isinstance(node, Not):
        return likes(node.item)
    return []


def _close(a: np.ndarray, b: np.ndarray) -> npt.NDArray[np.bool_]:
    """Rows where a float meets a number within a millionth of a millionth (relative), or a
    value that is not a number: there binary floats and exact numbers may disagree."""
    inexact = np.fromiter(
        (type(x) is float or type(y) is float for x, y in zip(a, b, strict=True)), dtype=bool, count=len(a)
    )
    x = pd.to_numeric(pd.Series(a, dtype=object), errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(pd.Series(b, dtype=object), errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        far = np.abs(x - y) > 1e-12 * np.maximum(1.0, np.maximum(np.abs(x), np.abs(y)))
    numbers = ~(np.isnan(x) | np.isnan(y))
    return (inexact & ~(numbers & far)) | (~numbers & ~_nulls(a) & ~_nulls(b))


def _tri(values: np.ndarray, unknown: np.ndarray, idx: pd.Index) -> pd.Series:
    out = pd.Series(values, index=idx, dtype=object)
    out[unknown] = None
    return out


def truth_not(s: pd.Series) -> pd.Series:
    return s.map(lambda v: None if v is None else not v)


def _truths(a: pd.Series, b: pd.Series) -> tuple[np.ndarray, ...] | None:
    """(true, null) of each side where both hold only True, False and None (truth's own values),
    found with numpy; None for any other values (a row at a time, then)."""
    x, y = a.to_numpy(dtype=object), b.to_numpy(dtype=object)
    if not set(map(type, x)) | set(map(type, y)) <= {bool, type(None)}:
        return None
    # exact bools are the two singletons, so truthiness is identity with True here
    return x.astype(bool), pd.isna(x), y.astype(bool), pd.isna(y)


def _and(a: pd.Series, b: pd.Series) -> pd.Series:
    both = _truths(a, b)
    if both is not None:  # the list below, without a Python step per row (CHECKs of every row)
        tx, nx, ty, ny = both
        out = np.full(len(a), True, dtype=object)
        out[nx | ny] = None
        out[(~tx & ~nx) | (~ty & ~ny)] = False
        return pd.Series(out, index=a.index, dtype=object)
    return pd.Series(
        [
            False if (x is False or y is False) else (None if (x is None or y is None) else True)
            for x, y in zip(a, b, strict=True)
        ],
        index=a.index,
        dtype=object,
    )


def _or(a: pd.Series, b: pd.Series) -> pd.Series:
    both = _truths(a, b)
    if both is not None:  # as _and
        tx, nx, ty, ny = both
        out = np.full(len(a), False, dtype=object)
        out[nx | ny] = None
        out[tx | ty] = True
        return pd.Series(out, index=a.index, dtype=object)
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
        elif rest:
            _repair_by_equalities(rest, node, frame, free, rng)
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
    if (
        isinstance(node, Like)
        and not node.negated
        and isinstance(node.column, Col)
        and node.column.name in free
    ):
        _repair_like(node, frame, free, rng)
        return
    if isinstance(node, Cmp):
        _repair_cmp(node, frame, bad, free)


def _repair_like(node: Like, frame: pd.DataFrame, free: set[str], rng: np.random.Generator) -> None:
    """A text breaking ``col LIKE pattern`` takes the column's value of a row that keeps it where its
    values repeat (codes: the values stay synthetic and keep the marginal); else (values of their
    own, where another row's would repeat it) the pattern is spelled out with the row's own text in
    its first % (cut so that the new text is no longer than the old): the e-mails of a column whose
    generator wrote no '@' each get one."""
    name = node.column.name  # type: ignore[union-attr]
    held = truth(node, frame)
    bad = (held == False).to_numpy()  # noqa: E712  (True/False/None)
    good = np.flatnonzero((held == True).to_numpy())  # noqa: E712  (a NULL donor would empty the row)
    known = frame[name].notna().sum()
    if len(good) and frame[name].nunique() * 2 <= known:  # repeated values (codes): another row's
        donors = good[rng.integers(0, len(good), int(bad.sum()))]
        _put(frame, bad, name, frame[name].to_numpy(dtype=object)[donors])
        return
    values = frame[name].to_numpy(dtype=object)[bad]
    if not all(isinstance(v, str) for v in values):
        return  # a number or a date the pattern reads as text: left to the writer (repaired or dropped)
    fixed = sum(1 for kind, _ in node.parts if kind != "%")

    def spelled(text: str) -> str:
        out, room = [], text[: max(len(text) - fixed, 0)]
        for kind, c in node.parts:
            if kind == "%":
                out.append(room)
                room = ""
            else:
                out.append("x" if kind == "_" else c)
        return "".join(out)

    _put(frame, bad, name, _objects(map(spelled, values), len(values)))


def broken_by(
    sqls: Iterable[str],
    frame: pd.DataFrame,
    column: str,
    values: np.ndarray,
    rows: np.ndarray,
    dialect: str | None = None,
) -> npt.NDArray[np.bool_]:
    """Rows (among ``rows``) where ``values`` in place of ``column`` would make an understood CHECK
    false that the frame's own values keep: a move after the CHECKs were repaired (the record
    guard's nudge) that must not be made, or it reaches the target as a CHECK violation."""
    out = np.zeros(len(frame), dtype=bool)
    if not len(rows):
        return out
    for sql in sqls:
        try:
            node = parse(sql, dialect)
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
    if isinstance(sample, str):  # 'A  ' of CHECK (c IN ('A  ', 'B')) is the 'A' a CHAR(3) reads as
        listed = [v.rstrip(" ") if isinstance(v, str) else v for v in listed]
    return _like(_objects(listed, len(listed)), column)


def _settable(item: Any, free: set[str]) -> bool:
    """``col = constant`` on a free column: met by writing the constant."""
    if not isinstance(item, Cmp) or item.op != "=":
        return False
    sides = {type(item.left), type(item.right)}
    col = item.left if isinstance(item.left, Col) else item.right
    return sides == {Col, Const} and isinstance(col, Col) and col.name in free


def _repair_by_equalities(
    alternatives: list[Any], node: Any, frame: pd.DataFrame, free: set[str], rng: np.random.Generator
) -> None:
    """Rows breaking ``A OR B`` that meet one alternative once some of its ``col = constant``
    parts are written (a ledger line with a debit and a credit both set, under ``(debit > 0 AND
    credit = 0) OR (credit > 0 AND debit = 0)``): the fewest such parts are written, among equally
    few an alternative at random. Borrowing a good row's pair instead took a typical amount where
    these rows hold small ones (the two sides meet near 0), and the amounts' median rose 14%."""
    bad = violations(node, frame)
    if not bad.any():
        return
    cost = np.full((len(frame), len(alternatives)), np.inf)
    parts: list[list[tuple[Any, np.ndarray]]] = []
    for a, alt in enumerate(alternatives):
        items = alt.items if isinstance(alt, BoolOp) and alt.op == "AND" else [alt]
        fails = [(item, violations(item, frame)) for item in items]
        blocked = np.zeros(len(frame), dtype=bool)
        count = np.zeros(len(frame))
        for item, failing in fails:
            if _settable(item, free):
                count += failing
            else:
                blocked |= failing
        cost[:, a] = np.where(blocked, np.inf, count)
        parts.append([(item, failing) for item, failing in fails if _settable(item, free)])
    best = cost.min(axis=1)
    rows = bad & np.isfinite(best)
    if not rows.any():
        return
    noise = rng.random(cost.shape)
    choice = np.argmin(np.where(cost == best[:, None], noise, np.inf), axis=1)
    for a, settable in enumerate(parts):
        for item, failing in settable:
            mask = rows & (choice == a) & failing
            if mask.any():
                _repair_cmp(item, frame, mask, free)


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
    if isinstance(node.left, Arith) or isinstance(node.right, Arith):
        _repair_arith(node, frame, bad, free)
        return
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


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>"}


def _occurrences(node: Any, name: str) -> int:
    if isinstance(node, Col):
        return int(node.name == name)
    if isinstance(node, Arith):
        return _occurrences(node.left, name) + _occurrences(node.right, name)
    if isinstance(node, Func):
        return 99 if name in columns_of(node.arg) else 0  # not solvable through a function
    return 0


def _repair_arith(node: Cmp, frame: pd.DataFrame, bad: np.ndarray, free: set[str]) -> None:
    """Move one free column of a comparison with arithmetic to the nearest value that satisfies it.

    ``x % m = r``: x goes to the nearest value with that remainder; otherwise the side holding the
    column is undone step by step (a >= b * c is a >= (b * c); b * c <= a is b <= a / c, flipped
    where c is negative) and the column moves onto the bound, rounded inward on its grid (integers,
    or the decimals it holds). A column that occurs twice, or inside a function, is not moved.
    """
    sides = [(node.left, node.right, node.op), (node.right, node.left, _FLIP[node.op])]
    order = [c for c in sorted(columns_of(node)) if c in free]
    # A bare column side first (hi in hi >= lo * 1.5): moving it needs no division.
    order.sort(key=lambda c: not any(isinstance(a, Col) and a.name == c for a, _, _ in sides))
    for name in order:
        for holder, other, op in sides:
            if _occurrences(holder, name) == 1 and _occurrences(other, name) == 0 and op != "<>":
                _solve(holder, other, op, name, frame, bad)
                _nudge(node, name, frame, bad, op if holder is node.left else _FLIP[op])
                return


def _solve(holder: Value, other: Value, op: str, name: str, frame: pd.DataFrame, bad: np.ndarray) -> None:
    rows = np.flatnonzero(bad)
    sub = frame.iloc[rows]
    bound = _exacts(_arith(other, sub) if isinstance(other, Arith) else _side(other, sub))
    up = np.full(len(rows), op in {">", ">="}, dtype=bool)
    grid = _grid(frame[name])
    column = frame[name]
    node: Any = holder
    while isinstance(node, Arith):
        inside_left = _occurrences(node.left, name) == 1
        rest = node.right if inside_left else node.left
        value = _exacts(_arith(rest, sub) if isinstance(rest, Arith) else _side(rest, sub))
        if node.op == "%" and inside_left and op == "=" and node.left == Col(name):
            bound = _objects(map(_congruent, _exacts(_side(Col(name), sub)), value, bound), len(rows))
            bound = _objects((_on_grid(b, grid, None) for b in bound), len(rows))
            _put_exact(frame, rows, name, bound, column)
            return
        if node.op == "%":
            return
        step = np.frompyfunc(_undo(node.op, inside_left), 2, 1)(bound, value)
        flips = np.fromiter(
            ((node.op in {"*", "/"} and _negative(v)) or (node.op == "-" and not inside_left) for v in value),
            dtype=bool,
            count=len(rows),
        )
        if node.op == "/" and not inside_left:
            return  # a column dividing: not undone
        bound, up = np.asarray(step, dtype=object).reshape(len(rows)), up ^ flips
        node = node.left if inside_left else node.right
    strict = op in {"<", ">"}
    exact = op == "="
    moved = _objects(
        (_on_grid(b, grid, None if exact else bool(u), strict) for b, u in zip(bound, up, strict=True)),
        len(rows),
    )
    _put_exact(frame, rows, name, moved, column)


def _nudge(node: Cmp, name: str, frame: pd.DataFrame, bad: np.ndarray, op: str) -> None:
    """A moved value that still fails (binary floats disagreeing with the exact bound, as SQLite's
    REAL decimals do at the boundary) goes one step further on its grid, a few times at most."""
    if op not in {"<", "<=", ">", ">="} or not _occurs_bare(node, name):
        return
    grid = _grid(frame[name])
    rows = np.flatnonzero(bad)
    for _ in range(3):
        rows = rows[violations(node, frame.iloc[rows])]
        if not len(rows):
            return
        now = _exacts(_side(Col(name), frame.iloc[rows]))
        sign = 1 if op in {">", ">="} else -1
        moved = _objects((None if v is None else v + sign * grid for v in now), len(rows))
        _put_exact(frame, rows, name, moved, frame[name])


def _occurs_bare(node: Cmp, name: str) -> bool:
    """The column is a whole side of the comparison (so ``op``, read from its side, says which way)."""
    return Col(name) in (node.left, node.right)


def _negative(v: Any) -> bool:
    return isinstance(v, int | Decimal) and v < 0


def _undo(op: str, inside_left: bool) -> Any:
    """Given ``holder op rest`` compared to a bound, the bound the inner side is compared to."""

    def apply(bound: Any, rest: Any) -> Any:
        if not isinstance(bound, int | Decimal) or not isinstance(rest, int | Decimal):
            return None
        if op == "+":
            return bound - rest
        if op == "-":
            return bound + rest if inside_left else rest - bound
        if rest == 0:
            return None
        if op == "*":
            return Decimal(bound) / Decimal(rest)
        return bound * rest  # x / c compared to b: x compared to b * c (c's sign flips it)

    return apply


def _congruent(x: Any, m: Any, r: Any) -> Any:
    """The value nearest x whose SQL remainder by m is r (the dividend's sign), None if none is."""
    if not all(isinstance(v, int | Decimal) for v in (x, m, r)) or m == 0:
        return None
    m = abs(m)
    if abs(r) >= m:
        return None
    candidates = []
    base = x - (x - r) % m  # Python's %: base ≡ r (mod m), base <= x
    for c in (base, base + m, base - m, r):  # r itself where x has the other sign (-7 % 5 = 2: 2)
        if _remainder(c, m) == r:
            candidates.append(c)
    return min(candidates, key=lambda c: abs(c - x)) if candidates else None


def _remainder(a: Any, b: Any) -> Any:
    """SQL's remainder (the dividend's sign) of two exact numbers, b not zero."""
    if isinstance(a, int) and isinstance(b, int):
        r = abs(a) % abs(b)
        return -r if a < 0 else r
    return Decimal(a) % Decimal(b)


def _grid(column: pd.Series) -> Decimal:
    """The spacing of a column's values: 1 for integers, else the finest decimals it holds (at most
    6 places; 0.01 when it holds none yet)."""
    if pd.api.types.is_integer_dtype(column):
        return Decimal(1)
    places = 0
    seen = False
    for v in column.head(500).tolist():
        e = v if isinstance(v, Decimal) and v.is_finite() else _exact(_plain(v))  # 100.00: its scale
        if isinstance(e, Decimal):
            seen = True
            places = max(places, -int((e if e is v else e.normalize()).as_tuple().exponent))
        elif isinstance(e, int):
            seen = True
    if not seen:
        return Decimal("0.01")
    return Decimal(1).scaleb(-min(max(places, 0), 6))


def _on_grid(bound: Any, grid: Decimal, up: bool | None, strict: bool = False) -> Any:
    """The grid value nearest a bound on the allowed side (``up``: at or above it; None: exactly
    it, or None when the grid has no such value); a strict bound moves one step further."""
    if not isinstance(bound, int | Decimal):
        return None
    b = Decimal(bound)
    if up is None:
        q = b / grid
        return b if q == q.to_integral_value() else None
    rounding = "ROUND_CEILING" if up else "ROUND_FLOOR"
    out = (b / grid).to_integral_value(rounding=rounding) * grid
    if strict and out == b:
        out += grid if up else -grid
    return out


def _put_exact(
    frame: pd.DataFrame, rows: np.ndarray, name: str, values: np.ndarray, column: pd.Series
) -> None:
    """Write computed values (ints or decimals) where one was found; the other rows stay as they are."""
    found = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
    if not found.any():
        return
    integer = pd.api.types.is_integer_dtype(column) or _grid(column) == 1
    plain = (
        int(v) if integer and v == v.to_integral_value() else float(v) for v in map(Decimal, values[found])
    )
    mask = np.zeros(len(frame), dtype=bool)
    mask[rows[found]] = True
    _put(frame, mask, name, _like(_objects(plain, int(found.sum())), column))


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


def integer_domain(
    column: str, type_name: str, checks: list[str], *, unsigned: bool = False, dialect: str | None = None
) -> Domain:
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
            found = _interval(parse(sql, dialect), column)
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
