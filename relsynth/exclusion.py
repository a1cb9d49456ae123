"""PostgreSQL EXCLUDE constraints: read from the source, met by the sampled rows, recreated in the target.

- Reading (PostgreSQL): each table's exclusion constraints, with their definition as
  ``pg_get_constraintdef`` gives it, their elements (column or expression, operator) and the
  extensions whose operator classes they use (btree_gist for ``emp_no WITH =`` under gist).
- Meeting them, before the load, for any target: in the common form (columns ``WITH =``, and one
  range column, or a range built from two columns, ``WITH &&``), rows of the same key whose ranges
  overlap are repaired: the later range is moved to start where the earlier ends, keeping its
  length. A row that cannot be moved (an open end, the type's last value, a key another table
  references, a UNIQUE or CHECK the move would break, a CHECK only the target can read included)
  is left out with its descendants, and counted. Other forms are left to the target, which is
  asked in a savepoint.
- Recreating (PostgreSQL target, same dialect): after the data, in the load's transaction, each in a
  savepoint: the extensions it needs are created if missing, and a refusal (rows that still overlap,
  SQLSTATE 23P01; an extension the target cannot have) is said in words, never the driver's text.

Every PostgreSQL statement about exclusion constraints is in this module.
"""

from __future__ import annotations

import datetime as dt
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from relsynth.schema import Exclusion, Schema, Table

if TYPE_CHECKING:
    import sqlalchemy as sa

_REFLECT = """
SELECT c.relname, x.conname, pg_get_constraintdef(x.oid), am.amname,
  ARRAY(SELECT pg_get_indexdef(x.conindid, k::int, true) FROM generate_series(1, i.indnkeyatts) k ORDER BY k),
  ARRAY(SELECT o.oprname::text FROM unnest(x.conexclop) WITH ORDINALITY u(op, k)
        JOIN pg_operator o ON o.oid = u.op ORDER BY u.k),
  ARRAY(SELECT DISTINCT e.extname::text FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
        WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
          AND ((d.classid = 'pg_opclass'::regclass AND d.objid = ANY(i.indclass::oid[]))
            OR (d.classid = 'pg_operator'::regclass AND d.objid = ANY(x.conexclop)))),
  pg_get_expr(i.indpred, i.indrelid, true)
FROM pg_constraint x
JOIN pg_class c ON c.oid = x.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_index i ON i.indexrelid = x.conindid
JOIN pg_class ic ON ic.oid = x.conindid
JOIN pg_am am ON am.oid = ic.relam
WHERE x.contype = 'x' AND n.nspname = :schema
ORDER BY c.relname, x.conname
"""


def reflect(conn: sa.Connection, schema: str | None, tables: list[str]) -> dict[str, tuple[Exclusion, ...]]:
    """PostgreSQL: the exclusion constraints of each of ``tables`` (by name in ``schema``)."""
    import sqlalchemy as sa

    from relsynth import dialects

    if dialects.family(conn) != "postgresql":
        return {}
    rows = conn.execute(sa.text(_REFLECT), {"schema": schema or dialects.default_schema(conn)}).all()
    wanted = set(tables)
    out: dict[str, list[Exclusion]] = {}
    for table, name, sql, method, exprs, ops, extensions, where in rows:
        if table not in wanted:
            continue
        elements = tuple(zip(list(exprs or ()), list(ops or ()), strict=False))
        out.setdefault(table, []).append(
            Exclusion(name, sql, method, elements, where, tuple(sorted(extensions or ())))
        )
    return {t: tuple(items) for t, items in out.items()}


# -- the common form ---------------------------------------------------------------------------------
_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_CONSTRUCTOR = re.compile(
    rf"^\s*(?:pg_catalog\.)?(tsrange|tstzrange|daterange|int4range|int8range|numrange)\(\s*({_IDENT})\s*,"
    rf"\s*({_IDENT})\s*(?:,\s*'([\[(][\])])'(?:::text)?\s*)?\)\s*$",
    re.IGNORECASE,
)
_RANGE_KINDS = {
    "daterange": "date",
    "tsrange": "ts",
    "tstzrange": "tstz",
    "int4range": "int",
    "int8range": "int",
    "numrange": "num",
}
_RANGE_TEXT = re.compile(
    r'^\s*([\[(])\s*("(?:[^"]|"")*"|[^,]*?)\s*,\s*("(?:[^"]|"")*"|[^\])]*?)\s*([\])])\s*$'
)


@dataclass(frozen=True)
class Form:
    """An exclusion constraint relsynth can meet: ``keys`` WITH =, and a range WITH &&: the range
    column ``column``, or the range ``kind``(``lower``, ``upper``, ``bounds``) of two columns."""

    keys: tuple[str, ...]
    kind: str  # date | ts | tstz | int | num
    column: str | None = None
    lower: str | None = None
    upper: str | None = None
    bounds: str = "[)"

    @property
    def moved_columns(self) -> tuple[str, ...]:
        return (self.column,) if self.column else (str(self.lower), str(self.upper))


def _column(expr: str, table: Table) -> str | None:
    text = expr.strip()
    if text.startswith('"') and text.endswith('"'):
        name = text[1:-1].replace('""', '"')
    elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", text):
        name = text
    else:
        return None
    return name if name in table.column_names else None


def form(table: Table, exc: Exclusion) -> Form | None:
    """The common form of ``exc``, or None when relsynth cannot meet it itself (the target decides)."""
    keys: list[str] = []
    ranges: list[Form] = []
    for expr, op in exc.elements:
        if op == "=":
            col = _column(expr, table)
            if col is None:
                return None
            keys.append(col)
        elif op == "&&":
            col = _column(expr, table)
            if col is not None:
                native = (table.column(col).type.native or "").lower().split("(")[0].strip()
                if native not in _RANGE_KINDS:
                    return None
                ranges.append(Form((), _RANGE_KINDS[native], column=col))
                continue
            m = _CONSTRUCTOR.match(expr)
            if not m:
                return None
            lo, hi = _column(m.group(2), table), _column(m.group(3), table)
            if lo is None or hi is None or lo == hi:
                return None
            ranges.append(
                Form((), _RANGE_KINDS[m.group(1).lower()], lower=lo, upper=hi, bounds=m.group(4) or "[)")
            )
        else:
            return None
    if len(ranges) != 1 or set(keys) & set(ranges[0].moved_columns):
        return None
    r = ranges[0]
    return Form(tuple(keys), r.kind, r.column, r.lower, r.upper, r.bounds)


# -- bounds as Python values -------------------------------------------------------------------------
def _bound(text: str, kind: str) -> Any:
    """A range bound's text as a value: date, datetime (aware for tstz), int or Decimal; None: open."""
    text = text.strip()
    if text.startswith('"'):
        text = text[1:-1].replace('""', '"')
    if text == "" or text.lower() in {"infinity", "-infinity"}:
        return None
    if kind == "date":
        return dt.date.fromisoformat(text)
    if kind in {"ts", "tstz"}:
        moment = dt.datetime.fromisoformat(text.replace(" ", "T", 1))
        if kind == "tstz" and moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment
    if kind == "int":
        return int(text)
    return Decimal(text)


def _text(value: Any, kind: str) -> str:
    if kind == "date":
        return str(value.isoformat())
    if kind in {"ts", "tstz"}:
        return str(value.isoformat(sep=" "))
    return str(value)


def _plain(value: Any, kind: str) -> Any:
    """A column's value (two-column form) as a comparable value; None for NULL."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, str):
        return _bound(value, kind)
    if kind in {"ts", "tstz"} and isinstance(value, dt.datetime):
        moment = pd.Timestamp(value)
        return moment.tz_localize("UTC") if kind == "tstz" and moment.tzinfo is None else moment
    if kind == "date" and isinstance(value, pd.Timestamp):
        return value.date()
    if kind == "num" and isinstance(value, float | np.floating):
        return Decimal(repr(float(value)))
    if kind == "int" and isinstance(value, float | np.floating):
        return int(value)
    return value


@dataclass
class _Span:
    lo: Any  # None: open (minus infinity)
    hi: Any  # None: open (infinity)
    lo_inc: bool = True
    hi_inc: bool = False


def _span(value: Any, kind: str) -> _Span | None:
    """A range column's value as a span; None for NULL, empty or unreadable (never overlaps)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    try:
        if isinstance(value, str):
            if value.strip().lower() == "empty":
                return None
            m = _RANGE_TEXT.match(value)
            if not m:
                return None
            span = _Span(
                _bound(m.group(2), kind), _bound(m.group(3), kind), m.group(1) == "[", m.group(4) == "]"
            )
        elif hasattr(value, "lower"):
            if getattr(value, "isempty", False) or getattr(value, "empty", False):
                return None
            bounds = str(getattr(value, "bounds", "[)"))
            span = _Span(
                _plain(value.lower, kind), _plain(value.upper, kind), bounds[:1] == "[", bounds[1:] == "]"
            )
        else:
            return None
    except (ValueError, TypeError, InvalidOperation):
        return None
    return _canonical(span, kind)


def _canonical(span: _Span, kind: str) -> _Span | None:
    """Discrete ranges as PostgreSQL keeps them, '[lo,hi)'; None when empty."""
    if kind in {"date", "int"}:
        step: Any = dt.timedelta(days=1) if kind == "date" else 1
        try:
            if span.lo is not None and not span.lo_inc:
                span.lo, span.lo_inc = span.lo + step, True
            if span.hi is not None and span.hi_inc:
                span.hi, span.hi_inc = span.hi + step, False
        except OverflowError:
            return None
    closed = span.lo is not None and span.hi is not None
    if closed and (span.hi < span.lo or (span.hi == span.lo and not (span.lo_inc and span.hi_inc))):
        return None
    span.lo_inc = span.lo_inc and span.lo is not None
    span.hi_inc = span.hi_inc and span.hi is not None
    return span


def _overlaps(end: Any, end_inc: bool, span: _Span) -> bool:
    """Does ``span`` start before the running end of the earlier ranges (None: infinity)?"""
    if end is None:
        return True
    if span.lo is None:
        return True
    return bool(span.lo < end or (span.lo == end and end_inc and span.lo_inc))


def overlap_forms(table: Table) -> list[Form]:
    """Every range key the table's rows must keep apart, in the common form: its PostgreSQL EXCLUDE
    constraints relsynth can meet, and its MariaDB WITHOUT OVERLAPS keys (``period_forms``)."""
    return [f for f in (form(table, exc) for exc in table.exclusions) if f is not None] + period_forms(table)


def period_forms(table: Table) -> list[Form]:
    """A MariaDB table's WITHOUT OVERLAPS keys in the common form: the key's columns WITH =, its
    application-time period '[start, end)' WITH &&."""
    import json

    from relsynth import dialects

    out: list[Form] = []
    options = dict(table.options)
    periods = {p: (s, e) for p, s, e in json.loads(options.get(dialects.PERIODS, "[]"))}
    for _, columns, period in json.loads(options.get(dialects.OVERLAPS, "[]")):
        if period not in periods or not {*periods[period], *columns} <= set(table.column_names):
            continue
        start, end = periods[period]
        dates = all(table.column(c).type.name == "date" for c in (start, end))
        out.append(Form(tuple(columns), "date" if dates else "ts", lower=start, upper=end))
    return out


def _meet(a: _Span, b: _Span) -> bool:
    """Do two spans overlap?"""
    return _overlaps(a.hi, a.hi_inc, b) and _overlaps(b.hi, b.hi_inc, a)


class Apart:
    """A frame's ranges by key, under one form: would a row's new range overlap another row's of its
    key (``fits``), and the row taking it (``take``). Ranges are found by their start: those starting
    within the new range, and the nearest ones before it (``_BACK``; a longer reach back is found
    afterwards by ``overlapping``)."""

    _BACK = 32

    def __init__(self, frame: pd.DataFrame, exc_form: Form) -> None:
        self.form = exc_form
        self.spans, self.keys = _read(frame, exc_form)
        self.index: dict[str, tuple[list[tuple[Any, ...]], list[int]]] = {}
        self.mixed: set[str] = set()  # keys whose ranges hold values of mixed kinds: never found apart
        for i, (span, key) in enumerate(zip(self.spans, self.keys, strict=True)):
            if span is not None and key is not None:
                self._add(i, span, key)

    def _add(self, row: int, span: _Span, key: str) -> None:
        import bisect

        if key in self.mixed:
            return
        starts, rows = self.index.setdefault(key, ([], []))
        try:
            at = bisect.bisect_right(starts, _start(span))
        except TypeError:
            self.mixed.add(key)
            return
        starts.insert(at, _start(span))
        rows.insert(at, row)

    def fits(self, row: int, span: _Span | None) -> bool:
        """Would ``row`` holding ``span`` overlap no other row of its key?"""
        import bisect

        key = self.keys[row]
        if key in self.mixed:
            return False
        if span is None or key is None or key not in self.index:
            return True
        starts, rows = self.index[key]
        try:
            at = bisect.bisect_left(starts, _start(span))
            for j in range(at, len(rows)):  # those starting at or after it: only while they start within
                other = self.spans[rows[j]]
                assert other is not None
                if not _overlaps(span.hi, span.hi_inc, other):
                    break
                if rows[j] != row:
                    return False
            for j in range(at - 1, max(at - 1 - self._BACK, -1), -1):
                other = self.spans[rows[j]]
                assert other is not None
                if rows[j] != row and _meet(other, span):
                    return False
        except TypeError:  # values of mixed kinds: not found apart
            return False
        return True

    def take(self, row: int, span: _Span | None) -> None:
        """``row`` now holds ``span`` (its key unchanged)."""
        import bisect

        key, old = self.keys[row], self.spans[row]
        if key is not None and old is not None and key not in self.mixed:
            starts, rows = self.index[key]
            at = bisect.bisect_left(starts, _start(old))
            while rows[at] != row:
                at += 1
            del starts[at], rows[at]
        self.spans[row] = span
        if key is not None and span is not None:
            self._add(row, span, key)


def overlapping(frame: pd.DataFrame, exc_form: Form) -> np.ndarray:
    """Every row whose range overlaps another row's of the same key (both rows of each pair)."""
    spans, keys = _read(frame, exc_form)
    out = np.zeros(len(frame), dtype=bool)
    groups: dict[str, list[int]] = {}
    for i, (span, key) in enumerate(zip(spans, keys, strict=True)):
        if span is not None and key is not None:
            groups.setdefault(key, []).append(i)
    for rows in groups.values():
        try:
            rows.sort(key=lambda i: _start(spans[i]))  # type: ignore[arg-type]
        except TypeError:  # values of mixed kinds: left to the target
            continue
        active: list[int] = []  # earlier rows whose range may still reach the next start
        for i in rows:
            span = spans[i]
            assert span is not None
            active = [j for j in active if _overlaps(spans[j].hi, spans[j].hi_inc, span)]  # type: ignore[union-attr]
            if active:
                out[i] = True
                out[active] = True
            active.append(i)
    return out


# -- meeting them before the load --------------------------------------------------------------------
def _read(frame: pd.DataFrame, exc_form: Form) -> tuple[list[_Span | None], list[str | None]]:
    """Each row's range (None: NULL, empty, unreadable) and key (None: a NULL in it)."""
    from relsynth.model.relations import comparable

    kind, bounds = exc_form.kind, exc_form.bounds
    spans: list[_Span | None]
    if exc_form.column:
        spans = [_span(v, kind) for v in frame[exc_form.column].tolist()]
    else:
        lo_inc, hi_inc = bounds[0] == "[", bounds[1] == "]"
        spans = []
        for a, b in zip(
            frame[str(exc_form.lower)].tolist(), frame[str(exc_form.upper)].tolist(), strict=True
        ):
            try:
                pa, pb = _plain(a, kind), _plain(b, kind)
                spans.append(_canonical(_Span(pa, pb, lo_inc, hi_inc), kind))
            except (ValueError, TypeError, InvalidOperation):
                spans.append(None)
    if not exc_form.keys:
        return spans, [""] * len(frame)
    keyed = pd.DataFrame({k: comparable(frame[k]) for k in exc_form.keys})
    null_key = keyed.isna().any(axis=1).to_numpy()
    joined = keyed.astype(str).agg("\x1f".join, axis=1).tolist()
    return spans, [None if null else str(key) for key, null in zip(joined, null_key, strict=True)]


def _step(table: Table, exc_form: Form, sample: Any) -> Any:
    """The smallest step after a value of the range: a day (dates), 1 (integers), a microsecond, or
    the precision a timestamp column declares; for numeric, its column's scale (or the value's own
    when the column declares none)."""
    kind = exc_form.kind
    if kind == "date":
        return dt.timedelta(days=1)
    if kind == "int":
        return 1
    sql_types = [table.column(c).type for c in exc_form.moved_columns if c in table.column_names]
    if kind in {"ts", "tstz"}:
        if any((t.native or t.name).lower().split("(")[0].strip() == "date" for t in sql_types):
            return dt.timedelta(days=1)  # tsrange(d1, d2) of two date columns
        digits = min(
            (t.precision for t in sql_types if t.precision is not None and t.precision >= 0), default=6
        )
        return dt.timedelta(microseconds=10 ** (6 - min(digits, 6)))
    scales = [t.scale for t in sql_types if t.scale is not None]
    if scales:
        return Decimal(1).scaleb(-min(scales))
    exponent = Decimal(str(sample)).as_tuple().exponent if sample is not None else 0
    return Decimal(1).scaleb(exponent) if isinstance(exponent, int) and exponent < 0 else Decimal(1)


def _columns_of(span: _Span, kind: str, bounds: str, step: Any) -> tuple[Any, Any]:
    """A canonical span of a discrete kind ('[lo,hi)') as the two columns' values under ``bounds``."""
    if kind not in {"date", "int"}:
        return span.lo, span.hi
    lo = span.lo if bounds[0] == "[" else span.lo - step
    hi = None if span.hi is None else span.hi if bounds[1] == ")" else span.hi - step
    return lo, hi


def repair(table: Table, frame: pd.DataFrame, exc_form: Form) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Move overlapping ranges of the same key: (new frame, rows moved, rows that cannot be moved).

    Within a key, ranges are taken by their start (open-ended ones last: nothing can follow them);
    one that starts before the earlier ones end is moved to start just after them, with its own
    length (and the next ones after it, in turn): where they end when that end is excluded
    ('...)'), one step after it when it is included ('...]': a day, 1, a microsecond, the numeric's
    scale; a range column's value starts with '(' instead). After an open end nothing can start:
    such a row (a second open-ended range of the key) cannot be moved."""
    out, moved, stuck, _ = _repair(table, frame, exc_form)
    return out, moved, stuck


def _repair(
    table: Table, frame: pd.DataFrame, exc_form: Form
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, bool]:
    """repair(), and whether some key's ranges were left unread (values of mixed kinds)."""

    n = len(frame)
    moved = np.zeros(n, dtype=bool)
    stuck = np.zeros(n, dtype=bool)
    skipped = False
    needed = [*exc_form.keys, *exc_form.moved_columns]
    if not n or not set(needed) <= set(frame.columns):
        return frame, moved, stuck, bool(n)
    kind = exc_form.kind
    bounds = exc_form.bounds
    spans, keys = _read(frame, exc_form)
    groups: dict[str, list[int]] = {}
    for i in range(n):
        key = keys[i]
        if spans[i] is not None and key is not None:
            groups.setdefault(key, []).append(i)
    new_spans: dict[int, _Span] = {}
    new_values: dict[int, tuple[Any, Any]] = {}  # two columns: the moved row's (lower, upper)
    for rows in groups.values():
        if len(rows) < 2:
            continue
        opened = [i for i in rows if spans[i].lo is None]  # type: ignore[union-attr]
        closed = [i for i in rows if spans[i].lo is not None]  # type: ignore[union-attr]
        try:
            # Open-ended ranges last: one of them can follow every closed range, none can precede one.
            closed.sort(key=lambda i: (spans[i].hi is None, spans[i].lo))  # type: ignore[union-attr]
        except TypeError:  # values of mixed kinds (naive and aware): left to the target
            skipped = True
            continue
        rows = opened + closed
        first = spans[rows[0]]
        assert first is not None
        end, end_inc = first.hi, first.hi_inc
        for i in rows[1:]:
            span = spans[i]
            assert span is not None
            if not _overlaps(end, end_inc, span):
                if span.hi is None or (end is not None and span.hi > end):
                    end, end_inc = span.hi, span.hi_inc
                elif end is not None and span.hi == end:
                    end_inc = end_inc or span.hi_inc
                continue
            if end is None or span.lo is None:  # after an open end, or of no length: cannot move
                stuck[i] = True
                continue
            try:
                if exc_form.column:
                    # A range column's value says its own bounds: '(' after an end the earlier holds.
                    lo, lo_inc = end, not end_inc
                elif kind in {"date", "int"}:
                    # Canonical '[lo,hi)': an earlier end is excluded; the columns follow the bounds.
                    lo, lo_inc = (end + _step(table, exc_form, end), True) if end_inc else (end, True)
                elif end_inc and bounds[0] == "[":
                    # The earlier range holds its end and this one would hold its start: just after it.
                    lo, lo_inc = end + _step(table, exc_form, end), True
                else:
                    lo, lo_inc = end, bounds[0] == "["
                hi = None if span.hi is None else lo + (span.hi - span.lo)
                new = _Span(lo, hi, lo_inc, span.hi_inc)
                if not exc_form.column:
                    new_values[i] = _columns_of(new, kind, bounds, _step(table, exc_form, lo))
            except (OverflowError, ValueError, TypeError, InvalidOperation):
                stuck[i] = True
                continue
            new_spans[i] = new
            moved[i] = True
            end, end_inc = new.hi, new.hi_inc
    if not moved.any():
        return frame, moved, stuck, skipped
    frame = frame.copy()
    if exc_form.column:
        values = frame[exc_form.column].to_numpy(dtype=object, copy=True)
        for i, s in new_spans.items():
            values[i] = (
                ("[" if s.lo_inc else "(")
                + _text(s.lo, kind)
                + ","
                + ("" if s.hi is None else _text(s.hi, kind))
                + ("]" if s.hi_inc else ")")
            )
        frame[exc_form.column] = pd.Series(values, index=frame.index, dtype=frame[exc_form.column].dtype)
    else:
        for col, part in ((str(exc_form.lower), 0), (str(exc_form.upper), 1)):
            column = frame[col]
            values = column.to_numpy(dtype=object, copy=True)
            for i, pair in new_values.items():
                values[i] = _like(pair[part], column, kind)
            frame[col] = _restore(values, column)
    return frame, moved, stuck, skipped


def _like(value: Any, column: pd.Series, kind: str) -> Any:
    """A moved bound in the form its column holds its values."""
    if value is None:
        return None
    if pd.api.types.is_datetime64_any_dtype(column):
        moment = pd.Timestamp(value)
        tz = getattr(column.dtype, "tz", None)
        if tz is None and moment.tzinfo is not None:
            moment = moment.tz_convert("UTC").tz_localize(None)
        elif tz is not None:
            moment = moment.tz_localize(tz) if moment.tzinfo is None else moment.tz_convert(tz)
        return moment
    known = column.dropna()
    sample = known.iloc[0] if len(known) else None
    if isinstance(sample, str):
        return _text(value, kind)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, Decimal) and pd.api.types.is_float_dtype(column):
        return float(value)
    return value


def _restore(values: np.ndarray, column: pd.Series) -> pd.Series:
    try:
        return pd.Series(values, index=column.index).astype(column.dtype)
    except (TypeError, ValueError):
        return pd.Series(values, index=column.index, dtype=object)


def settle(
    schema: Schema,
    names: list[str],
    name: str,
    frames: dict[str, pd.DataFrame],
    moved_counts: dict[str, int],
    dropped: dict[str, int],
    judge: Callable[[pd.DataFrame], np.ndarray] | None = None,
    periods: bool = False,
) -> None:
    """Meet the table's exclusion constraints of the common form before the load (any target):
    overlapping ranges moved, rows that cannot be moved left out with their descendants. ``judge``
    (target_checks.judge): the rows the target's CHECKs reject; a moved row it rejects (a CHECK
    relsynth cannot read, on the moved start) cannot be moved either. ``periods`` (a MariaDB target,
    which gets them back after the load): its WITHOUT OVERLAPS keys are met the same way."""
    from relsynth import target_checks

    table = schema.table(name)
    shapes: list[tuple[Exclusion | None, Form | None]] = [(exc, form(table, exc)) for exc in table.exclusions]
    if periods:
        shapes += [(None, f) for f in period_forms(table)]
    if not shapes or name not in frames or not len(frames[name]):
        return
    referenced = {
        c
        for other in names
        for fk in schema.table(other).foreign_keys
        if fk.ref_table == name
        for c in fk.ref_columns
    }
    for _, shape in shapes:
        if shape is None:
            continue
        before = frames[name]
        after, moved, stuck = repair(table, before, shape)
        if moved.any() and set(shape.moved_columns) & referenced:
            # Another table points at these values: moving them would orphan its rows.
            stuck |= moved
            moved = np.zeros_like(moved)
            after = before
        if moved.any():
            for cols in table.keysets():
                if set(cols) & set(shape.moved_columns) and set(cols) <= set(after.columns):
                    clash = after.duplicated(subset=list(cols), keep=False).to_numpy() & moved
                    stuck |= clash
            broken = target_checks._still_broken(table, after, schema) & moved
            if judge is not None and (moved & ~broken).any():
                asked = np.flatnonzero(moved & ~broken)
                broken[asked] |= judge(after.iloc[asked])
            stuck |= broken
            keep = moved & ~stuck
            if stuck.any():  # a row that could not be moved keeps its values (it is dropped below)
                for col in shape.moved_columns:
                    values = after[col].to_numpy(dtype=object, copy=True)
                    values[stuck] = before[col].to_numpy(dtype=object)[stuck]
                    after[col] = _restore(values, before[col])
            frames[name] = after
            if keep.any():
                moved_counts[name] = moved_counts.get(name, 0) + int(keep.sum())
        if stuck.any():
            target_checks.drop_rows(frames, schema, names, name, stuck, dropped)
    # What the rows are now: a constraint is said met only when its form was repaired and its rows
    # read again overlap nowhere, nor the rows of the run's earlier batches (a batch is repaired on
    # its own: a key's ranges in two batches are not moved apart, only found).
    record = _record(schema, moved_counts)
    for exc, shape in shapes:
        if exc is None:  # a WITHOUT OVERLAPS key: MariaDB itself says whether its rows overlap
            continue
        key = (name, exc.name)
        met = shape is not None and name in frames and record.met.get(key, True)
        if met and shape is not None:
            _, again, still, skipped = _repair(table, frames[name], shape)
            met = not (again.any() or still.any() or skipped)
            if met:
                met = _apart(record.seen.setdefault(key, {}), frames[name], shape)
        record.met[key] = met
        if not met:
            record.seen.pop(key, None)


@dataclass
class _Record:
    """One run's word on its constraints: (table, constraint) -> met in every batch so far, and the
    ranges of the earlier batches, by key (sorted, apart), to find one a later batch overlaps."""

    schema: weakref.ref[Schema]
    run: dict[str, int]  # the run's moved_counts: a new one, a new run
    met: dict[tuple[str, str], bool]
    seen: dict[tuple[str, str], dict[str, tuple[list[Any], list[_Span]]]]


# Per schema, by identity while it lives: not_recreated() says the rows were kept from overlapping
# only on this record's word.
_RECORDS: dict[int, _Record] = {}


def _record(schema: Schema, run: dict[str, int]) -> _Record:
    for key, old in list(_RECORDS.items()):
        if old.schema() is None:
            del _RECORDS[key]
    rec = _RECORDS.get(id(schema))
    if rec is not None and rec.schema() is schema and rec.run is run:
        return rec
    fresh = _Record(weakref.ref(schema), run, {}, {})
    _RECORDS[id(schema)] = fresh
    return fresh


def _apart(seen: dict[str, tuple[list[Any], list[_Span]]], frame: pd.DataFrame, exc_form: Form) -> bool:
    """Do this batch's ranges keep apart from the earlier batches' (which it then joins)?"""
    import bisect

    spans, keys = _read(frame, exc_form)
    try:
        for span, key in zip(spans, keys, strict=True):
            if span is None or key is None:
                continue
            starts, held = seen.setdefault(key, ([], []))
            at = bisect.bisect_left(starts, _start(span))
            before = held[at - 1] if at else None
            after = held[at] if at < len(held) else None
            if before is not None and _overlaps(before.hi, before.hi_inc, span):
                return False
            if after is not None and _overlaps(span.hi, span.hi_inc, after):
                return False
            starts.insert(at, _start(span))
            held.insert(at, span)
    except TypeError:  # values of mixed kinds: not found apart
        return False
    return True


def _start(span: _Span) -> tuple[Any, ...]:
    return (0,) if span.lo is None else (1, span.lo)


def start_of(span: Any) -> tuple[Any, ...]:
    """A span's start, as ranges are ordered (an open start first)."""
    return _start(span)


def not_recreated(schema: Schema, names: list[str], kind: str) -> list[str]:
    """Into a dialect without exclusion constraints (SQLite, MySQL/MariaDB): what is lost, in words."""
    out = []
    said = {"mysql": "MySQL/MariaDB", "sqlite": "SQLite"}.get(kind, kind)
    rec = _RECORDS.get(id(schema))
    outcome = rec.met if rec is not None and rec.schema() is schema else {}
    for name in names:
        table = schema.table(name)
        for exc in table.exclusions:
            # Only when settle() repaired this constraint's form and found no overlap left.
            kept = form(table, exc) is not None and outcome.get((name, exc.name), False)
            out.append(
                f"EXCLUDE constraint {exc.name} on {name}: {said} has no exclusion constraints"
                + (
                    " (the rows were kept from overlapping)"
                    if kept
                    else " (not checked: its rows may overlap)"
                )
            )
    return out


Refusal = Callable[[BaseException], str]


def recreate(
    conn: sa.Connection, sa_table: sa.Table, exc: Exclusion, refusal: Refusal
) -> tuple[str | None, list[str]]:
    """PostgreSQL: the constraint on the loaded table, in a savepoint, with the extensions it needs.

    Returns (why not, or None when created; the extensions created for it)."""
    import sqlalchemy as sa

    prep = conn.dialect.identifier_preparer
    created: list[str] = []
    for ext in exc.extensions:
        have = conn.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = :e"), {"e": ext}).first()
        if have:
            continue
        try:
            _in_savepoint(
                conn, partial(conn.exec_driver_sql, f"CREATE EXTENSION IF NOT EXISTS {prep.quote(ext)}")
            )
        except sa.exc.DBAPIError as err:
            code = getattr(getattr(err, "orig", None), "sqlstate", None)
            why = (
                "the target's user may not create it"
                if code == "42501"
                else "the server does not have it installed"
                if code in {"58P01", "0A000", "22023"}
                else refusal(err)
            )
            return f"it needs the extension {ext}, which the target does not have ({why})", created
        created.append(ext)
    statement = f"ALTER TABLE {prep.format_table(sa_table)} ADD CONSTRAINT {prep.quote(exc.name)} {exc.sql}"
    try:
        # Through the driver's cursor without parameters: a '%' in the definition stays as is.
        _in_savepoint(conn, lambda: conn.connection.cursor().execute(statement))
    except sa.exc.DBAPIError as err:
        code = getattr(getattr(err, "orig", None), "sqlstate", None)
        return ("its rows overlap" if code == "23P01" else refusal(err)), created
    except Exception as err:  # the driver's own error, raised from its cursor
        code = getattr(err, "sqlstate", None)
        if code is None:
            raise
        return ("its rows overlap" if code == "23P01" else refusal(err)), created
    return None, created


def _interrupt(err: BaseException) -> BaseException | None:
    """A KeyboardInterrupt (or other BaseException that is no Exception) that ``err`` was raised
    while handling, if any: a refusal met after a Ctrl-C is the Ctrl-C."""
    seen: set[int] = set()
    at: BaseException | None = err
    while at is not None and id(at) not in seen:
        if not isinstance(at, Exception):
            return at
        seen.add(id(at))
        at = at.__cause__ or at.__context__
    return None


def _in_savepoint(conn: sa.Connection, work: Callable[[], object]) -> None:
    """``work`` in a savepoint: released when it succeeds, rolled back when it fails with an error.

    A KeyboardInterrupt (or SystemExit...) goes on as it came, with no statement run after it: the
    driver may have been stopped mid-statement and the connection is the caller's to abandon (the
    load's transaction is rolled back with it). So is an error met while an interrupt is handled."""
    savepoint = conn.begin_nested()
    try:
        work()
    except Exception as err:
        stop = _interrupt(err)
        if stop is not None:
            raise stop from None
        try:
            savepoint.rollback()
        except Exception as again:
            stop = _interrupt(again)
            if stop is not None:
                raise stop from None
            raise
        raise
    # A BaseException that is no Exception (KeyboardInterrupt) is not caught: no ROLLBACK after it.
    savepoint.commit()
