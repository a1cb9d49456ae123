"""PostgreSQL EXCLUDE constraints: read from the source, met by the sampled rows, recreated in the target.

- Reading (PostgreSQL): each table's exclusion constraints, with their definition as
  ``pg_get_constraintdef`` gives it, their elements (column or expression, operator) and the
  extensions whose operator classes they use (btree_gist for ``emp_no WITH =`` under gist).
- Meeting them, before the load, for any target: in the common form (columns ``WITH =``, and one
  range column, or a range built from two columns, ``WITH &&``), rows of the same key whose ranges
  overlap are repaired: the later range is moved to start where the earlier ends, keeping its
  length. A row that cannot be moved (an open end, the type's last value, a key another table
  references, a UNIQUE or CHECK the move would break) is left out with its descendants, and
  counted. Other forms are left to the target, which is asked in a savepoint.
- Recreating (PostgreSQL target, same dialect): after the data, in the load's transaction, each in a
  savepoint: the extensions it needs are created if missing, and a refusal (rows that still overlap,
  SQLSTATE 23P01; an extension the target cannot have) is said in words, never the driver's text.

Every PostgreSQL statement about exclusion constraints is in this module.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
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


# -- meeting them before the load --------------------------------------------------------------------
def repair(table: Table, frame: pd.DataFrame, exc_form: Form) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Move overlapping ranges of the same key: (new frame, rows moved, rows that cannot be moved).

    Within a key, ranges are taken by their start (open-ended ones last: nothing can follow them);
    one that starts before the earlier ones end is moved to start where they end, with its own
    length (and the next ones after it, in turn). After an open end nothing can start: such a row
    (a second open-ended range of the key) cannot be moved."""
    from relsynth.model.relations import comparable

    n = len(frame)
    moved = np.zeros(n, dtype=bool)
    stuck = np.zeros(n, dtype=bool)
    needed = [*exc_form.keys, *exc_form.moved_columns]
    if not n or not set(needed) <= set(frame.columns):
        return frame, moved, stuck
    kind = exc_form.kind
    if exc_form.column:
        spans = [_span(v, kind) for v in frame[exc_form.column].tolist()]
    else:
        lo_inc, hi_inc = exc_form.bounds[0] == "[", exc_form.bounds[1] == "]"
        spans = []
        for a, b in zip(
            frame[str(exc_form.lower)].tolist(), frame[str(exc_form.upper)].tolist(), strict=True
        ):
            try:
                pa, pb = _plain(a, kind), _plain(b, kind)
                spans.append(_canonical(_Span(pa, pb, lo_inc, hi_inc), kind))
            except (ValueError, TypeError, InvalidOperation):
                spans.append(None)
    if exc_form.keys:
        keyed = pd.DataFrame({k: comparable(frame[k]) for k in exc_form.keys})
        null_key = keyed.isna().any(axis=1).to_numpy()
        codes = keyed.astype(str).agg("\x1f".join, axis=1).factorize()[0]
    else:
        null_key = np.zeros(n, dtype=bool)
        codes = np.zeros(n, dtype=np.int64)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        if spans[i] is not None and not null_key[i]:
            groups.setdefault(int(codes[i]), []).append(i)
    new_spans: dict[int, _Span] = {}
    for rows in groups.values():
        if len(rows) < 2:
            continue
        opened = [i for i in rows if spans[i].lo is None]  # type: ignore[union-attr]
        closed = [i for i in rows if spans[i].lo is not None]  # type: ignore[union-attr]
        try:
            # Open-ended ranges last: one of them can follow every closed range, none can precede one.
            closed.sort(key=lambda i: (spans[i].hi is None, spans[i].lo))  # type: ignore[union-attr]
        except TypeError:  # values of mixed kinds (naive and aware): left to the target
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
            # After an end the earlier range holds ('...]'), this one starts just after it: a
            # range column says so with '('; two columns' bounds are the expression's to say.
            if end_inc and not exc_form.column and exc_form.bounds[0] == "[":
                stuck[i] = True
                continue
            lo_inc = not end_inc if exc_form.column else exc_form.bounds[0] == "["
            try:
                hi = None if span.hi is None else end + (span.hi - span.lo)
            except (OverflowError, ValueError):
                stuck[i] = True
                continue
            new = _Span(end, hi, lo_inc, span.hi_inc)
            new_spans[i] = new
            moved[i] = True
            end, end_inc = new.hi, new.hi_inc
    if not moved.any():
        return frame, moved, stuck
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
        for col, part in ((str(exc_form.lower), "lo"), (str(exc_form.upper), "hi")):
            column = frame[col]
            values = column.to_numpy(dtype=object, copy=True)
            for i, s in new_spans.items():
                values[i] = _like(getattr(s, part), column, kind)
            frame[col] = _restore(values, column)
    return frame, moved, stuck


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


def _unique_sets(table: Table) -> list[tuple[str, ...]]:
    sets = [table.primary_key] if table.primary_key else []
    sets += [u.columns for u in table.unique]
    sets += [ix.columns for ix in table.indexes if ix.unique and ix.columns and not ix.expressions]
    return sets


def settle(
    schema: Schema,
    names: list[str],
    name: str,
    frames: dict[str, pd.DataFrame],
    moved_counts: dict[str, int],
    dropped: dict[str, int],
) -> None:
    """Meet the table's exclusion constraints of the common form before the load (any target):
    overlapping ranges moved, rows that cannot be moved left out with their descendants."""
    from relsynth import target_checks

    table = schema.table(name)
    if not table.exclusions or name not in frames or not len(frames[name]):
        return
    referenced = {
        c
        for other in names
        for fk in schema.table(other).foreign_keys
        if fk.ref_table == name
        for c in fk.ref_columns
    }
    for exc in table.exclusions:
        shape = form(table, exc)
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
            for cols in _unique_sets(table):
                if set(cols) & set(shape.moved_columns) and set(cols) <= set(after.columns):
                    clash = after.duplicated(subset=list(cols), keep=False).to_numpy() & moved
                    stuck |= clash
            broken = target_checks._still_broken(table, after) & moved
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


# -- the target --------------------------------------------------------------------------------------
def not_recreated(schema: Schema, names: list[str], kind: str) -> list[str]:
    """Into a dialect without exclusion constraints (SQLite, MySQL/MariaDB): what is lost, in words."""
    out = []
    said = {"mysql": "MySQL/MariaDB", "sqlite": "SQLite"}.get(kind, kind)
    for name in names:
        table = schema.table(name)
        for exc in table.exclusions:
            kept = form(table, exc) is not None
            out.append(
                f"EXCLUDE constraint {exc.name} on {name}: {said} has no exclusion constraints"
                + (" (the rows were kept from overlapping)" if kept else " (its rows may overlap)")
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
            with conn.begin_nested():
                conn.exec_driver_sql(f"CREATE EXTENSION IF NOT EXISTS {prep.quote(ext)}")
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
        with conn.begin_nested():
            # Through the driver's cursor without parameters: a '%' in the definition stays as is.
            conn.connection.cursor().execute(statement)
    except sa.exc.DBAPIError as err:
        code = getattr(getattr(err, "orig", None), "sqlstate", None)
        return ("its rows overlap" if code == "23P01" else refusal(err)), created
    except Exception as err:  # the driver's own error, raised from its cursor
        code = getattr(err, "sqlstate", None)
        if code is None:
            raise
        return ("its rows overlap" if code == "23P01" else refusal(err)), created
    return None, created
