"""CHECK constraints: parse the simple forms, test rows against them, repair what can be repaired.

Understood: comparisons between a column and a constant or another column, IN lists (and
PostgreSQL's `= ANY (ARRAY[...])` spelling of them), BETWEEN, IS [NOT] NULL, AND/OR/NOT, casts
(`::numeric`). Anything else (functions, arithmetic) is reported as not interpretable and left to
the writer, which tests rows in the target itself.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
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
class Cmp:
    left: Col | Const
    op: str
    right: Col | Const


@dataclass(frozen=True)
class In:
    column: Col
    values: tuple[Any, ...]
    negated: bool = False


@dataclass(frozen=True)
class Between:
    column: Col
    low: Col | Const
    high: Col | Const
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


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokenize(text)
        self.i = 0

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
        return self.predicate()

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
            return Cmp(left, op, self.operand())
        negated = self.accept("kw", "NOT")
        if self.accept("kw", "IN"):
            self.take("op", "(")
            items = [self.constant()]
            while self.accept("op", ","):
                items.append(self.constant())
            self.take("op", ")")
            return In(self.as_col(left), tuple(items), negated)
        if self.accept("kw", "BETWEEN"):
            low = self.operand()
            self.take("kw", "AND")
            return Between(self.as_col(left), low, self.operand(), negated)
        if negated:
            raise NotInterpretable("NOT must precede IN or BETWEEN here")
        if self.accept("kw", "IS"):
            neg = self.accept("kw", "NOT")
            self.take("kw", "NULL")
            return IsNull(self.as_col(left), neg)
        return left

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

    def skip_casts(self) -> None:
        while self.accept("op", "::"):
            self.take("id")
            while self.peek()[0] == "id":  # character varying, double precision
                self.i += 1
            if self.accept("op", "("):
                while not self.accept("op", ")"):
                    self.i += 1
            while self.accept("op", "["):
                self.take("op", "]")

    def operand(self) -> Any:
        kind, value = self.peek()
        if kind == "op" and value == "(":
            self.i += 1
            inner = self.expr()
            self.take("op", ")")
            self.skip_casts()
            return inner
        self.i += 1
        if kind == "op" and value == "-" and self.peek()[0] == "num":
            node: Any = Const(-_number(self.take("num")[1]))
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
            if self.peek() == ("op", "("):
                raise NotInterpretable(f"function {value}()")
            node = Col(value)
        else:
            raise NotInterpretable(f"unexpected {value or kind}")
        self.skip_casts()
        if self.peek()[0] == "op" and self.peek()[1] in {"+", "*", "/", "%", "||"}:
            raise NotInterpretable("arithmetic")
        return node


def _number(text: str) -> float | int:
    return float(text) if any(c in text for c in ".eE") else int(text)


def parse(sql: str) -> Any:
    """The expression tree of a CHECK, or NotInterpretable."""
    return _Parser(sql).parse()


def columns_of(node: Any) -> set[str]:
    if isinstance(node, Col):
        return {node.name}
    if isinstance(node, Const):
        return set()
    if isinstance(node, Cmp):
        return columns_of(node.left) | columns_of(node.right)
    if isinstance(node, In | IsNull):
        return {node.column.name}
    if isinstance(node, Between):
        return {node.column.name} | columns_of(node.low) | columns_of(node.high)
    if isinstance(node, BoolOp):
        return set().union(*(columns_of(i) for i in node.items))
    if isinstance(node, Not):
        return columns_of(node.item)
    return set()


# -- evaluation (SQL three-valued logic: a CHECK fails only where it is FALSE) ----------------------
def _values(node: Col | Const, frame: pd.DataFrame, like: pd.Series | None = None) -> pd.Series:
    if isinstance(node, Col):
        return _normal(frame[node.name])
    value = node.value
    if like is not None and isinstance(value, str) and _is_temporal(like):
        value = pd.Timestamp(value)
    return pd.Series([value] * len(frame), index=frame.index, dtype=object)


def _is_temporal(s: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(s):
        return True
    non_null = s.dropna()
    return not non_null.empty and isinstance(non_null.iloc[0], dt.date | pd.Timestamp)


def _normal(s: pd.Series) -> pd.Series:
    """Comparable values: Decimal -> float, date/datetime -> Timestamp."""
    non_null = s.dropna()
    if non_null.empty:
        return s.astype(object)
    first = non_null.iloc[0]
    if isinstance(first, Decimal):
        return pd.to_numeric(s, errors="coerce")
    if isinstance(first, dt.date | dt.datetime) and not isinstance(first, pd.Timestamp):
        return pd.to_datetime(s, utc=isinstance(first, dt.datetime) and first.tzinfo is not None)
    return s


_OPS = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def truth(node: Any, frame: pd.DataFrame) -> pd.Series:
    """Per row: True, False or None (unknown), like SQL."""
    idx = frame.index
    if isinstance(node, Cmp):
        left_like = frame[node.right.name] if isinstance(node.right, Col) else None
        right_like = frame[node.left.name] if isinstance(node.left, Col) else None
        a = _values(node.left, frame, left_like)
        b = _values(node.right, frame, right_like)
        unknown = a.isna().to_numpy() | b.isna().to_numpy()
        result = np.zeros(len(frame), dtype=bool)
        ok = ~unknown
        if ok.any():
            result[ok] = np.asarray(_OPS[node.op](a[ok].to_numpy(), b[ok].to_numpy()), dtype=bool)
        return _tri(result, unknown, idx)
    if isinstance(node, In):
        v = _normal(frame[node.column.name])
        unknown = v.isna().to_numpy()
        allowed = set(node.values)
        allowed |= {float(x) for x in node.values if isinstance(x, int | float) and not isinstance(x, bool)}
        inside = np.array(
            [(x in allowed) or (str(x) in {str(a) for a in node.values}) for x in v], dtype=bool
        )
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
        pool = ok[ok.notna()].to_numpy() if ok.notna().any() else np.asarray(node.values, dtype=object)
        frame.loc[bad, col] = pool[rng.integers(0, len(pool), int(bad.sum()))]
        return
    if isinstance(node, IsNull) and node.column.name in free and node.negated is False:
        frame.loc[bad, node.column.name] = None
        return
    if isinstance(node, Cmp):
        _repair_cmp(node, frame, bad, free)


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
        frame[c] = values


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
    values = _values(source, frame, frame[target.name])[bad]
    column = frame[target.name]
    if op in {"<", ">"}:
        step = _smallest_step(column)
        values = values.map(lambda v: None if v is None else v + (step if op == ">" else -step))
    frame.loc[bad, target.name] = _like(values, column).to_numpy()


def _smallest_step(column: pd.Series) -> Any:
    non_null = column.dropna()
    if not non_null.empty and isinstance(non_null.iloc[0], dt.date | pd.Timestamp):
        return (
            pd.Timedelta(days=1)
            if isinstance(non_null.iloc[0], dt.date) and not isinstance(non_null.iloc[0], dt.datetime)
            else pd.Timedelta(seconds=1)
        )
    if pd.api.types.is_integer_dtype(column) or (
        not non_null.empty and all(float(v).is_integer() for v in non_null.head(100))
    ):
        return 1
    return 0.01


def _like(values: pd.Series, column: pd.Series) -> pd.Series:
    """Values converted to the column's own representation (dates stay dates)."""
    non_null = column.dropna()
    if non_null.empty:
        return values
    first = non_null.iloc[0]
    if isinstance(first, dt.datetime):
        return values.map(lambda v: v if v is None else pd.Timestamp(v).to_pydatetime())
    if isinstance(first, dt.date):
        return values.map(lambda v: v if v is None else pd.Timestamp(v).date())
    if isinstance(first, Decimal):
        return values.map(lambda v: v if v is None else Decimal(str(v)))
    return values


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
        v = right.value
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
    if isinstance(node, Between) and not node.negated and node.column.name == column:
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
