"""Exact relations re-imposed on a sampled table (see relsynth.model.exact and relations.py).

In this order: times clipped to the orders they keep with related rows and with their own row and
context parent (a column the row's other times are bounded by first; an order on a date derived
from a time kept by moving that time); each key's intervals placed in sequence within those same
bounds and their columns' learned ranges, keeping their durations (not clipped: see settle); then
calendar dates, parts and differences derived from the final times. Flags saying whether a row has
children are set from the children sampled. A derived value never breaks a CHECK, a NOT NULL or its
type's range: where it would, the row keeps its sampled value (or, for a difference, the later time
moves instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from relsynth.model import checks as ck
from relsynth.model import exact as ex
from relsynth.model import text_numbers
from relsynth.model.assign import dim_values
from relsynth.model.exact_fit import apart, protected, times_at, walk
from relsynth.model.relations import Order, comparable
from relsynth.model.spec import TableModel
from relsynth.schema import Schema, Table
from relsynth.sqltypes import INTEGER_TYPES, native_family
from relsynth.transform import (
    _RESOLUTION_SECONDS,
    Categorical,
    Continuous,
    Temporal,
    from_seconds,
    gap_step,
    grain_of,
    to_epoch_seconds,
)


def seconds_of(values: pd.Series) -> np.ndarray:
    """Sampled times (dates, datetimes, ISO text) as float seconds; NaN for NULL."""
    out = np.full(len(values), np.nan)
    known = values.notna().to_numpy()
    if known.any():
        kv = values[known].reset_index(drop=True)
        fmt = "iso" if isinstance(kv.iloc[0], str) else None
        out[known] = to_epoch_seconds(kv, text_format=fmt)
    return out


def _numbers(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


class Times:
    """Seconds of the time columns of the frames being settled, each computed once and forgotten
    when the column is written (parsing dates is the slow part of settling)."""

    def __init__(self) -> None:
        self.cache: dict[tuple[int, str], np.ndarray] = {}
        self.walks: dict[tuple[Any, ...], np.ndarray] = {}  # keys never move while settling

    def of(self, frame: pd.DataFrame, col: str) -> np.ndarray:
        key = (id(frame), col)
        if key not in self.cache:
            self.cache[key] = seconds_of(frame[col])
        return self.cache[key]

    def forget(self, frame: pd.DataFrame, col: str) -> None:
        self.cache.pop((id(frame), col), None)


def _write_seconds(
    tm: TableModel,
    table: Table,
    frame: pd.DataFrame,
    col: str,
    rows: np.ndarray,
    secs: np.ndarray,
    times: Times,
) -> None:
    """Set a modelled time column on some rows, in the column's own form (date, text, ...), except
    where the new value would break a CHECK or a NOT NULL."""
    dim = next((d for d in tm.dims if d.column == col and d.role == "value"), None)
    if dim is None or not isinstance(dim.encoder, Temporal) or not rows.any():
        return
    out = frame[col].astype(object).to_numpy(copy=True)
    out[rows] = from_seconds(secs[rows], dim.encoder.output, dim.encoder.text_format)
    # A column whose NULL stands for a sentinel date (9999-01-01) takes NULL whatever its NOT NULL.
    _guarded(table, frame, col, out, open_ok=tm.column(col).sentinel is not None)
    times.forget(frame, col)


@dataclass(frozen=True)
class _Bound:
    """One bound on a modelled time column ``root``: ``root op y`` or, where the order is on a
    column derived as the date of root, ``date(root) op y``. y is the same row's ``base`` (itself
    maybe a derived date: ``base_date``), or read from another row (``order``'s parent, ``reach``)."""

    root: str
    op: str
    dated: bool
    base: str | None = None
    base_date: bool = False
    order: Order | None = None
    reach: ex.Reach | None = None


def _bounds(
    tm: TableModel, table: Table, frame: pd.DataFrame, frames: dict[str, pd.DataFrame], parent: bool
) -> list[_Bound]:
    """The bounds of the table's orders and reaches, each on the column that moves to keep it."""
    roots = ex.date_roots(tm.parts)
    # A key's column is moved only by placing intervals (no_overlaps took it: the key stays unique),
    # or where its key's other columns are unique alone (apart: a partitioned table's time).
    keep = protected(table) - {c for r in tm.no_overlap for c in (r.start, r.end)}
    bounded = {r.column for r in tm.reaches} | {roots.get(o.column, o.column) for o in tm.orders}
    if keep & bounded:
        keep -= apart(table, frame, keep & bounded)

    fixed = {r.column for r in tm.day_repeats}  # the day of a related row's time: set, not moved

    def movable(c: str) -> bool:
        return c in frame and c not in keep and c not in fixed and tm.column(c).how == "copula"

    out: list[_Bound] = []
    for r in tm.reaches:
        tables = {h for _, h, _ in r.path} | {r.table}
        if movable(r.column) and tables <= set(frames):
            out.append(_Bound(r.column, r.op, False, reach=r))
    for o in tm.orders:
        root = roots.get(o.column, o.column)
        if not movable(root) or (o.fk is not None and not parent):
            continue
        if o.fk is not None:
            out.append(_Bound(root, o.op, root != o.column, order=o))
            continue
        base = roots.get(o.base, o.base)
        if base != root and base in frame:  # an order between twins holds by derivation
            out.append(_Bound(root, o.op, root != o.column, base, base != o.base))
    return out


def _dependency_order(bounds: list[_Bound]) -> list[str]:
    """The moved columns, each after the same row's columns that bound it (admit, then procedure,
    then discharge), so a column moved later never breaks an order settled before it."""
    cols = list(dict.fromkeys(b.root for b in bounds))
    after = {c: {b.base for b in bounds if b.root == c and b.base in cols and b.base != c} for c in cols}
    out: list[str] = []
    while len(out) < len(cols):
        ready = [c for c in cols if c not in out and after[c] <= set(out)]
        out += ready or [next(c for c in cols if c not in out)]  # a loop (never learned): list order
    return out


def clip_times(
    schema: Schema,
    tm: TableModel,
    table: Table,
    frame: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    parent: pd.DataFrame | None,
    pos: np.ndarray | None,
    times: Times,
    skip: frozenset[str] = frozenset(),
    rng: np.random.Generator | None = None,
) -> None:
    """Each modelled time clipped into the bounds its orders set: with the same row (a derived
    date by the time it is the date of), the context parent and rows reached through foreign keys
    (anchored ones already hold). Columns go in dependency order; a lower bound wins where bounds
    cross. ``skip``: columns placed as intervals, within the same bounds (see _intervals)."""
    bounds = _bounds(tm, table, frame, frames, parent is not None and pos is not None)
    if not bounds or not len(frame):
        return
    for col in _dependency_order(bounds):
        if col in skip:
            continue
        x = times.of(frame, col)
        lo = np.full(len(frame), -np.inf)
        hi = np.full(len(frame), np.inf)
        for b in (b for b in bounds if b.root == col):
            y = _bound_values(schema, b, frame, frames, parent, pos, times)
            if b.dated:
                limit = ex.date_bound(x, y, b.op)
            elif b.op == ">=":
                limit = y
            else:
                limit = ex.upper_bound(x, y, b.reach is not None and b.reach.day)
            if b.op == ">=":
                lo = np.fmax(lo, limit)
            else:
                hi = np.fmin(hi, limit)
        step = _column_step(tm, col)
        if step >= 1.0:  # a date column holds no time of day: its bounds are whole days
            lo = np.ceil(lo / step) * step
            hi = np.floor(hi / step) * step
        new = np.minimum(x, hi)
        for _, base, span in (sp for sp in tm.spans if sp[0] == col and sp[1] in frame):
            new = _within_span(new, times.of(frame, base), float(span), rng)
        new = np.maximum(new, lo)
        bad = ~np.isnan(x) & (new != x)
        _clip_with_gaps(tm, table, frame, col, bad, new - x, times, skip)


def _within_span(x: np.ndarray, y: np.ndarray, span: float, rng: np.random.Generator | None) -> np.ndarray:
    """x no more than ``span`` after y: a row past it takes the gap of another row within it
    (drawn at random: the gaps keep their shape, no point mass at the span), or the span."""
    gap = x - y
    over = gap > span  # NaN compares False
    if not over.any():
        return x
    donors = gap[(gap >= 0) & (gap <= span)]
    out = x.copy()
    if rng is not None and len(donors):
        out[over] = y[over] + donors[rng.integers(len(donors), size=int(over.sum()))]
    else:
        out[over] = y[over] + span
    return out


def _clip_with_gaps(
    tm: TableModel,
    table: Table,
    frame: pd.DataFrame,
    col: str,
    rows: np.ndarray,
    delta: np.ndarray,
    times: Times,
    skip: frozenset[str],
) -> None:
    """Move ``col`` by ``delta`` on ``rows``, and the same row's columns sampled as a gap from it
    (an end after its start) by as much: a start raised to the hiring date alone broke
    CHECK (end_date >= start_date), was put back, and left the row before the hiring."""
    if not rows.any():
        return
    x = times.of(frame, col)
    gaps = [c for c, o in tm.anchors.items() if o.base == col and o.fk is None and c != col and c not in skip]
    shifted = {c: times.of(frame, c) + delta for c in gaps}
    up, down = rows & (delta > 0), rows & (delta < 0)
    for c in gaps:  # raised: the later column first, so each write keeps the order
        _write_seconds(tm, table, frame, c, up & ~np.isnan(shifted[c]), shifted[c], times)
    _write_seconds(tm, table, frame, col, rows, x + delta, times)
    for c in gaps:
        _write_seconds(tm, table, frame, c, down & ~np.isnan(shifted[c]), shifted[c], times)


def _bound_values(
    schema: Schema,
    b: _Bound,
    frame: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    parent: pd.DataFrame | None,
    pos: np.ndarray | None,
    times: Times,
) -> np.ndarray:
    """y of each row (NaN where unknown or unreached)."""
    if b.base is not None:
        y = times.of(frame, b.base)
        return ex.part_of(y, "date") if b.base_date else y
    if b.order is not None:
        if parent is None or pos is None or b.order.base not in parent:
            return np.full(len(frame), np.nan)
        ps, p = times.of(parent, b.order.base), pos
    else:
        assert b.reach is not None
        r = b.reach
        if r.path not in times.walks:
            times.walks[r.path] = walk(schema, r.path, frames, len(frame))
        ps, p = times.of(frames[r.table], r.base), times.walks[r.path]
    return np.where(p >= 0, ps[np.maximum(p, 0)] if len(ps) else np.nan, np.nan)


def _column_step(tm: TableModel, col: str) -> float:
    dim = next((d for d in tm.dims if d.column == col and d.role == "value"), None)
    if dim is None or not isinstance(dim.encoder, Temporal):
        return 0.0
    return 86400.0 if dim.encoder.resolution == "day" or dim.encoder.output == "date" else 0.0


def settle(
    schema: Schema,
    tm: TableModel,
    table: Table,
    frame: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    parent: pd.DataFrame | None,
    pos: np.ndarray | None,
    rng: np.random.Generator,
    times: Times | None = None,
) -> dict[str, int]:
    """Every order, interval and derived column of a sampled table, in dependency order.

    ``frames`` holds the tables sampled so far; an order through a table not sampled yet waits
    for the pass after all tables exist. ``parent`` is the context parent's frame, ``pos`` each
    row's parent row in it. ``times`` may carry parsed times over from an earlier call.

    The columns of intervals that never overlap are placed once, within every bound their orders
    and reaches set, not clipped first: clipping a start alone (an admission moved back to the
    death date, its discharge left years later) would make the duration a stretch of years, and
    clipping after placing would make overlaps again. Returns what placing had to bend (rows
    shortened, placed outside the learned range, or left breaking a bound).
    """
    times = times or Times()
    frames = {**frames, table.name: frame}
    placed = frozenset(
        c for r in tm.no_overlap if {r.start, r.end, r.key} <= set(frame) for c in (r.start, r.end)
    )
    day_repeats(schema, tm, table, frame, frames, times, placed)
    clip_times(schema, tm, table, frame, frames, parent, pos, times, skip=placed, rng=rng)
    bent: dict[str, int] = {}
    if placed:
        bent = _intervals(schema, tm, table, frame, frames, parent, pos, rng, times)
        clip_times(schema, tm, table, frame, frames, parent, pos, times, skip=placed, rng=rng)
    number_bounds(schema, tm, table, frame, frames, parent, pos, rng)
    derive_rows(tm, table, frame, rng, times)
    return bent


def day_repeats(
    schema: Schema,
    tm: TableModel,
    table: Table,
    frame: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    times: Times,
    skip: frozenset[str],
) -> None:
    """Each date that is the day of a related row's time (relations: exact_fit.day_repeats) set to
    it where the row has that related row and the date was drawn; the same row's columns drawn as
    a gap from the date move with it (a due date 30 days on). Before the orders are clipped, which
    then bound the row's other times by it."""
    for r in tm.day_repeats:
        fk = next((f for f in table.foreign_keys if f.name == r.fk), None)
        if fk is None or r.column not in frame or r.column in skip or fk.ref_table not in frames:
            continue
        ref = frames[fk.ref_table]
        if r.parent_column not in ref or not len(frame):
            continue
        p = walk(schema, (("up", table.name, fk.name),), frames, len(frame))
        day = np.floor(times_at(p, times.of(ref, r.parent_column)) / 86400.0) * 86400.0
        x = times.of(frame, r.column)
        rows = ~np.isnan(x) & ~np.isnan(day) & (x != day)
        _clip_with_gaps(tm, table, frame, r.column, rows, day - x, times, skip)


def number_bounds(
    schema: Schema,
    tm: TableModel,
    table: Table,
    frame: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    parent: pd.DataFrame | None,
    pos: np.ndarray | None,
    rng: np.random.Generator,
) -> None:
    """Each number kept within the bounds its orders set (relations.number_orders): the row's own
    numbers, and those of the rows its foreign keys name. A row out of bounds takes the place
    another row has between its bounds (a price at 40% of the way from its buy price to its
    MSRP), or, bounded on one side, another row's distance from its bound: no pile of rows on a
    bound. Rounded inwards to the column's decimals; a CHECK the new value would break keeps the
    drawn one (_guarded). Columns go in dependency order (msrp before the lines' prices)."""
    orders = [o for o in tm.number_orders if o.column in frame]
    if not orders or not len(frame):
        return
    from relsynth.model.fit import positions

    fks = {fk.name: fk for fk in table.foreign_keys}
    walked: dict[str, np.ndarray] = {}

    def bound(o: Order) -> np.ndarray:
        if o.fk is None:
            return _numbers(frame[o.base]) if o.base in frame else np.full(len(frame), np.nan)
        fk = fks.get(o.fk)
        ref = frames.get(fk.ref_table) if fk is not None else None
        if fk is None or ref is None or o.base not in ref or not len(ref):
            return np.full(len(frame), np.nan)
        if o.fk not in walked:  # the keys as assigned, context or not (rows may have been dropped)
            walked[o.fk] = positions(frame, fk.columns, ref, fk.ref_columns)
        p = walked[o.fk]
        y = _numbers(ref[o.base])
        return np.where(p >= 0, y[np.maximum(p, 0)], np.nan)

    cols = list(dict.fromkeys(o.column for o in orders))
    after = {c: {o.base for o in orders if o.column == c and o.fk is None and o.base in cols} for c in cols}
    done: list[str] = []
    while len(done) < len(cols):
        ready = [c for c in cols if c not in done and after[c] <= set(done)]
        done += ready or [next(c for c in cols if c not in done)]
    for col in done:
        x = _numbers(frame[col])
        lo = np.full(len(frame), -np.inf)
        hi = np.full(len(frame), np.inf)
        for o in (o for o in orders if o.column == col):
            y = bound(o)
            if o.op == ">=":
                lo = np.fmax(lo, y)  # NaN (unknown, no parent) bounds nothing
            else:
                hi = np.fmin(hi, y)
        hi = np.maximum(hi, lo)  # crossed bounds: the lower wins, as for times
        known = ~np.isnan(x)
        out_of = known & ((x < lo) | (x > hi))
        if not out_of.any():
            continue
        new = _within(x, lo, hi, known & ~out_of, out_of, rng)
        dec = _decimals(table, col)
        if dec is not None:
            step = 10.0**-dec
            new = np.round(new / step) * step
            up = np.ceil(np.round(lo / step, 6)) * step
            down = np.floor(np.round(hi / step, 6)) * step
            new = np.where(up <= down, np.clip(new, up, down), new)
            new = np.round(new, dec)
        values = frame[col].astype(object).to_numpy(copy=True)
        values[out_of] = [int(v) if dec == 0 else float(v) for v in new[out_of]]
        _guarded(table, frame, col, values)


def _within(
    x: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    fine: np.ndarray,
    rows: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """x with ``rows`` moved within [lo, hi]: to the relative place (both bounds) or the distance
    from the bound (one) of a random row of ``fine``; to the bound where no such row is."""
    out = x.copy()
    both = rows & np.isfinite(lo) & np.isfinite(hi)
    donors = fine & np.isfinite(lo) & np.isfinite(hi) & (hi > lo)
    if both.any():
        if donors.any():
            share = ((x - lo) / np.where(hi > lo, hi - lo, 1.0))[donors]
            t = share[rng.integers(len(share), size=int(both.sum()))]
        else:
            t = rng.random(int(both.sum()))
        out[both] = lo[both] + t * (hi[both] - lo[both])
    for side, sign in ((lo, 1.0), (hi, -1.0)):
        one = rows & ~both & np.isfinite(side)
        if not one.any():
            continue
        gaps = (sign * (x - side))[fine & np.isfinite(side)]
        gaps = gaps[gaps >= 0]
        gap = gaps[rng.integers(len(gaps), size=int(one.sum()))] if len(gaps) else np.zeros(int(one.sum()))
        out[one] = side[one] + sign * gap
    return out


def _decimals(table: Table, col: str) -> int | None:
    """The decimals a column holds by its type (None: a float, not rounded)."""
    t = table.column(col).type
    if t.name in INTEGER_TYPES:
        return 0
    return int(t.scale) if t.scale is not None else None


def _intervals(
    schema: Schema,
    tm: TableModel,
    table: Table,
    frame: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    parent: pd.DataFrame | None,
    pos: np.ndarray | None,
    rng: np.random.Generator,
    times: Times,
) -> dict[str, int]:
    """Each key's intervals placed in sequence so none overlap, within their bounds and their
    columns' learned ranges, each keeping its sampled duration (see exact.place)."""
    bent = {"closed": 0, "shortened": 0, "outside": 0, "unfit": 0}
    if not len(frame):
        return bent
    bounds = _bounds(tm, table, frame, frames, parent is not None and pos is not None)
    for r in tm.no_overlap:
        if not {r.start, r.end, r.key} <= set(frame.columns):
            continue
        key = pd.factorize(comparable(frame[r.key]))[0].astype(np.int64)
        s, e = times.of(frame, r.start), times.of(frame, r.end)
        known = s[~np.isnan(s)]
        step = grain_of(known) if len(known) else 1.0
        windows = ex.Windows(
            *_limits(schema, bounds, r.start, r.end, frame, frames, parent, pos, times, step),
            *_limits(schema, bounds, r.end, r.start, frame, frames, parent, pos, times, step),
            start_range=_learned_range(tm, r.start),
            end_range=_learned_range(tm, r.end),
        )
        span = _span(tm, r)
        # An open interval is closed if nothing says when the end is NULL; where something does
        # (status 'admitted'), only one another interval of its key follows, and that one says so.
        determinant = tm.column(r.end).null_determinant
        close = determinant is None
        follows = None  # is_current, set from the placed ends: one current row per key
        mapping = tm.column(r.end).null_mapping or []
        binary = len(mapping) == 2 and {bool(b) for _, b in mapping} == {True, False}
        if r.last_open is not None and (determinant is None or binary):
            e = _open_last(tm, table, frame, r, key, s, e, span, rng, times)
            follows, determinant, close = determinant, None, True
        if determinant is not None and determinant in frame:
            bent["closed"] += _restate(frame, determinant, ex.followed_open(key, s, e), e)
            close = bool(bent["closed"])
        fill = _closing(tm, r, s, e, span, rng) if close else None
        p = ex.place(key, s, e, step, close=close, fill=fill, span=span, windows=windows)
        moved_s = ~np.isnan(p.start) & (p.start != s)
        moved_e = ~np.isnan(p.end) & ((p.end != e) | np.isnan(e))
        # Ends moved later first, then starts, then the other ends: each write keeps end >= start
        # (a CHECK saying so would otherwise undo it, leaving an overlap).
        later = moved_e & ~np.isnan(e) & ~(p.end < e)  # an open end closed goes after its start
        _write_seconds(tm, table, frame, r.end, later, p.end, times)
        _write_seconds(tm, table, frame, r.start, moved_s, p.start, times)
        _write_seconds(tm, table, frame, r.end, moved_e & ~later, p.end, times)
        bent["shortened"] += int(p.shortened.sum())
        bent["outside"] += int(p.outside.sum())
        bent["unfit"] += int(p.unfit.sum())
        if follows is not None and follows in frame:
            placed_end = times.of(frame, r.end)
            _agree(frame, follows, tm.column(r.end).null_mapping or [], np.isnan(placed_end) & ~np.isnan(s))
    return bent


def _open_last(
    tm: TableModel,
    table: Table,
    frame: pd.DataFrame,
    r: ex.NoOverlap,
    key: np.ndarray,
    s: np.ndarray,
    e: np.ndarray,
    span: tuple[float, float],
    rng: np.random.Generator,
    times: Times,
) -> np.ndarray:
    """Where only a key's last interval is ever open (one current salary per employee), the last
    ones are open as often as the source's and every other one is closed: drawn independently,
    NULL ends gave some people two current periods and others none."""
    last = ex.last_of_key(key, s)
    want = last & (rng.random(len(s)) < float(r.last_open or 0.0))
    e = e.copy()
    # Every one drawn open but not to be is closed like the others: an earlier one left open was
    # placed last and kept open (ex.place), 730 current salaries for the source's 410.
    shut = ~want & np.isnan(e) & (key >= 0) & ~np.isnan(s)
    if shut.any():
        fill = _closing(tm, r, s, e, span, rng)
        if fill is not None:
            e[shut] = s[shut] + np.where(np.isnan(fill[shut]), max(span[0], 0.0), fill[shut])
            _write_seconds(tm, table, frame, r.end, shut & ~np.isnan(e), e, times)
    opened = want & ~np.isnan(e)
    if opened.any():
        e[opened] = np.nan
        _write_seconds(tm, table, frame, r.end, opened, e, times)
    return e


def _agree(frame: pd.DataFrame, determinant: str, mapping: list[list[Any]], open_: np.ndarray) -> None:
    """Set a two-valued column that says whether the end is NULL (is_current) to agree with each
    row's end: its open value where the end is open, its closed value elsewhere."""
    when_open = next((v for v, is_null in mapping if is_null), None)
    when_closed = next((v for v, is_null in mapping if not is_null), None)
    if when_open is None or when_closed is None:
        return
    column = frame[determinant]
    values = column.astype(object).to_numpy(copy=True)
    # Written as the column holds its values (1, not the mapping's 1.0), where a row has one.
    codes = comparable(column).to_numpy()
    same_open = codes == comparable(pd.Series([when_open])).iloc[0]
    same_closed = codes == comparable(pd.Series([when_closed])).iloc[0]
    as_open = values[same_open][0] if same_open.any() else when_open
    as_closed = values[same_closed][0] if same_closed.any() else when_closed
    values[open_ & ~same_open] = as_open
    values[~open_ & ~same_closed] = as_closed
    frame[determinant] = pd.Series(values, index=frame.index).astype(column.dtype, errors="ignore")


def _restate(frame: pd.DataFrame, determinant: str, rows: np.ndarray, end: np.ndarray) -> int:
    """Open intervals that another of their key follows (a patient sampled as 'admitted' twice)
    must end, but a column says their end is NULL: it is set to its most common value among the
    closed intervals, so the end it gets and the CHECKs tying the two agree. How many were."""
    if not rows.any():
        return 0
    closed = frame[determinant][~np.isnan(end)].dropna()
    if not len(closed):
        return 0
    codes = pd.factorize(comparable(closed))[0]
    top = int(np.bincount(codes[codes >= 0]).argmax())
    values = frame[determinant].astype(object).to_numpy(copy=True)
    values[rows] = closed.iloc[int(np.argmax(codes == top))]  # a value as sampled, in its own type
    frame[determinant] = values
    return int(rows.sum())


def _limits(
    schema: Schema,
    bounds: list[_Bound],
    col: str,
    other: str,
    frame: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    parent: pd.DataFrame | None,
    pos: np.ndarray | None,
    times: Times,
    step: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest value each row's ``col`` may take by its orders and reaches (those
    with the interval's other end aside: its duration keeps them). An order on a day (a date
    derived from col, or a reach to a date) bounds col by that day's first or last instant."""
    lo = np.full(len(frame), -np.inf)
    hi = np.full(len(frame), np.inf)
    for b in bounds:
        if b.root != col or b.base == other:
            continue
        y = _bound_values(schema, b, frame, frames, parent, pos, times)
        day = b.dated or (b.reach is not None and b.reach.day)
        if b.op == ">=":  # NaN (unknown, unreached) bounds nothing: fmax and fmin skip it
            lo = np.fmax(lo, np.ceil(y / 86400.0) * 86400.0 if b.dated else y)
        else:
            hi = np.fmin(hi, np.floor(y / 86400.0) * 86400.0 + 86400.0 - step if day else y)
    return lo, hi


def _value_dim(tm: TableModel, col: str) -> Any:
    return next((d for d in tm.dims if d.column == col and d.role == "value"), None)


def _learned_range(tm: TableModel, col: str) -> tuple[float, float]:
    """[min, max] of a modelled time column in the source, in seconds (unbounded if unknown)."""
    dim = _value_dim(tm, col)
    enc = dim.encoder if dim is not None else None
    if not isinstance(enc, Temporal):
        return -np.inf, np.inf
    if enc.bounds:
        return float(enc.bounds[0]), float(enc.bounds[1])
    if isinstance(enc.inner, Continuous) and len(enc.inner.knots):
        unit = _RESOLUTION_SECONDS.get(enc.resolution, 1.0)  # knots count the resolution's units
        return float(enc.inner.knots[0]) * unit, float(enc.inner.knots[-1]) * unit
    if isinstance(enc.inner, Categorical) and enc.inner.levels:
        levels = np.asarray([v for v in enc.inner.levels if v is not None], dtype=float)
        return (float(levels.min()), float(levels.max())) if len(levels) else (-np.inf, np.inf)
    return -np.inf, np.inf


def _gap_encoder(tm: TableModel, r: ex.NoOverlap) -> tuple[Continuous, float] | None:
    """The end's encoder of its gap from the start, and its unit, if the end is sampled as one."""
    anchor = tm.anchors.get(r.end)
    dim = _value_dim(tm, r.end)
    if anchor is None or anchor.fk is not None or anchor.base != r.start or dim is None:
        return None
    enc = dim.encoder
    if not isinstance(enc, Temporal) or not isinstance(enc.inner, Continuous) or not len(enc.inner.knots):
        return None
    return enc.inner, gap_step(enc.resolution)


def _span(tm: TableModel, r: ex.NoOverlap) -> tuple[float, float]:
    """The source's shortest and longest interval in seconds: learned with the relation, else
    (an older model file) the range of the end's gap from the start, else unbounded."""
    if r.shortest is not None and r.longest is not None:
        return r.shortest, r.longest
    gap = _gap_encoder(tm, r)
    if gap is not None:
        inner, unit = gap
        return max(float(inner.knots[0]) * unit, 0.0), float(inner.knots[-1]) * unit
    return 0.0, np.inf


def _closing(
    tm: TableModel,
    r: ex.NoOverlap,
    s: np.ndarray,
    e: np.ndarray,
    span: tuple[float, float],
    rng: np.random.Generator,
) -> np.ndarray | None:
    """A duration for each open interval, drawn like the source's, should place() close it: from
    the end's gap encoder where the end is sampled as its gap from the start, else from the
    durations of the sampled closed intervals (within the source's span)."""
    open_ = ~np.isnan(s) & np.isnan(e)
    if not open_.any():
        return None
    fill = np.full(len(s), np.nan)
    gap = _gap_encoder(tm, r)
    if gap is not None:
        inner, unit = gap
        fill[open_] = inner.decode(rng.standard_normal(int(open_.sum())), rng) * unit
        return fill
    closed = (e - s)[~np.isnan(e - s)]
    closed = closed[(closed >= span[0]) & (closed <= span[1])]
    if len(closed):
        fill[open_] = rng.choice(closed, size=int(open_.sum()))
    return fill


# -- derived columns ---------------------------------------------------------------------------
def derive_rows(
    tm: TableModel, table: Table, frame: pd.DataFrame, rng: np.random.Generator, times: Times
) -> None:
    """Calendar dates made valid, then parts and differences derived from the final values."""
    numbers_in_text(tm, table, frame, rng)
    if not (tm.calendars or tm.parts or tm.differences) or not len(frame):
        return
    for cal in tm.calendars:
        _calendar(table, frame, cal)
    moved = False
    for _ in range(2):
        for p in tm.parts:
            _part(table, frame, p, rng, times)
        for d in tm.differences:
            moved |= _difference(tm, table, frame, d, rng, times, move=not moved)
        if not moved:
            break


def numbers_in_text(tm: TableModel, table: Table, frame: pd.DataFrame, rng: np.random.Generator) -> None:
    """The rows of a text of numbers and words (model/text_numbers.py) drawn as numbers: a number
    of their row's level, in the source's spelling. A no-op once none is left."""
    for tn in tm.text_numbers:
        text_numbers.fill(tn, frame, rng, table.column(tn.column).type.length)


def _calendar(table: Table, frame: pd.DataFrame, cal: ex.Calendar) -> None:
    if not {cal.month, cal.day} <= set(frame.columns) or (cal.year and cal.year not in frame):
        return
    m = _numbers(frame[cal.month])
    d = _numbers(frame[cal.day])
    y = _numbers(frame[cal.year]) if cal.year else np.full(len(frame), 2000.0)
    last = ex.month_days(y, m)
    bad = ~np.isnan(d) & ~np.isnan(last) & (d > last)
    if bad.any():
        out = frame[cal.day].astype(object).to_numpy(copy=True)
        out[bad] = [int(v) for v in last[bad]]
        _guarded(table, frame, cal.day, out)


def _part(table: Table, frame: pd.DataFrame, p: ex.Part, rng: np.random.Generator, times: Times) -> None:
    if p.whole not in frame:
        return
    if p.part == "text":
        _spelled(table, frame, p, rng)
        return
    v = ex.part_of(times.of(frame, p.whole), p.part)
    col = table.column(p.column)
    if np.isnan(v).any() and not col.nullable and (~np.isnan(v)).any():
        # A NOT NULL part of a NULL whole: the part of another row's whole, never NULL.
        known = np.flatnonzero(~np.isnan(v))
        holes = np.isnan(v)
        v[holes] = v[rng.choice(known, size=int(holes.sum()))]
    out = _typed(v, p.output, p.text_format)
    if p.blank > 0 and col.nullable:
        out[rng.random(len(out)) < p.blank] = None
    _guarded(table, frame, p.column, out)
    times.forget(frame, p.column)


def _spelled(table: Table, frame: pd.DataFrame, p: ex.Part, rng: np.random.Generator) -> None:
    """The text of the number where it is known; elsewhere the column's own value as drawn (NULL
    when the text is only ever the number's)."""
    v = _numbers(frame[p.whole])
    known = ~np.isnan(v)
    if p.column in frame:
        drawn = frame[p.column].to_numpy(dtype=object)
    else:  # derived in every row the text is known
        drawn = np.full(len(frame), None, dtype=object)
    given = None
    if p.text_format and p.text_format.startswith(ex.BY_LEVEL):  # a format per level of a category
        name = ex.parse_by_level(p.text_format)[0]
        given = frame[name].to_numpy(dtype=object) if name in frame else None
    text = ex.spelled_by(v, p.text_format, given)
    # The number as its text says: a level spelled with one decimal has numbers of one decimal in
    # the source, and one drawn with the column's two (16.41, another level's) read '16.4'.
    said = np.array([np.nan if t is None else float(t) for t in text], dtype=float)
    off = known & ~np.isclose(said, v, rtol=0.0, atol=1e-9) & np.isfinite(said)
    if off.any():
        whole = frame[p.whole].astype(object).to_numpy(copy=True)
        whole[off] = said[off]
        _guarded(table, frame, p.whole, whole)
    length = table.column(p.column).type.length
    if length:  # a number longer than the column holds (none in the source): the drawn value
        known &= np.fromiter((t is None or len(t) <= length for t in text), dtype=bool, count=len(text))
    out = np.where(known, text, drawn)
    if p.blank > 0 and table.column(p.column).nullable:
        out[known & (rng.random(len(out)) < p.blank)] = None
    _guarded(table, frame, p.column, out)


def _typed(v: np.ndarray, output: str, text_format: str | None = None, decimals: int = 0) -> np.ndarray:
    if output == "number":
        out = np.empty(len(v), dtype=object)
        known = ~np.isnan(v)
        out[known] = [int(x) for x in v[known]] if decimals == 0 else [float(x) for x in v[known]]
        out[~known] = None
        return out
    return from_seconds(v, output, text_format)


def _difference(
    tm: TableModel,
    table: Table,
    frame: pd.DataFrame,
    d: ex.Difference,
    rng: np.random.Generator,
    times: Times,
    *,
    move: bool,
) -> bool:
    """Derive the column; where its type or CHECKs cannot hold the result, move the first term
    (the later time) so the relation still holds. True if a term moved."""
    if not {d.a, d.b} <= set(frame.columns):
        return False
    if d.dates:
        a, b = times.of(frame, d.a), times.of(frame, d.b)
    else:
        a, b = _numbers(frame[d.a]), _numbers(frame[d.b])
    c = ex.difference_values(d, a, b)
    col = table.column(d.column)
    moved = False
    if col.type.name in INTEGER_TYPES:
        unsigned = "UNSIGNED" in (col.type.native or "").upper()
        checks = [x.sql for x in table.checks]
        dom = ck.integer_domain(d.column, col.type.name, checks, unsigned=unsigned, dialect=table.sql_dialect)
        fixed = _into(c, dom)
        off = ~np.isnan(c) & (fixed != c)
        if off.any() and move and tm.column(d.a).how == "copula" and d.a not in protected(table):
            new_a = ex.solve_for_a(d, fixed, b, a)
            if d.dates:
                _write_seconds(tm, table, frame, d.a, off, new_a, times)
            else:
                out = frame[d.a].astype(object).to_numpy(copy=True)
                out[off] = [float(x) for x in new_a[off]]
                frame[d.a] = out
            moved = True
        c = fixed
    if d.dates and native_family(col.type) == "interval":  # los = discharged - admitted, an interval
        out = from_seconds(np.round(c * d.unit, ex.INTERVAL_DECIMALS), "timedelta")
    else:
        out = _typed(c, "number", decimals=d.decimals)
    if d.blank > 0 and col.nullable:
        out[rng.random(len(out)) < d.blank] = None
    _guarded(table, frame, d.column, out)
    return moved


def _into(c: np.ndarray, dom: ck.Domain) -> np.ndarray:
    """Each value moved to the nearest one the integer domain allows (NaN stays NaN)."""
    out = np.clip(c, dom.lo, dom.hi)
    listed = dom.allowed()
    if listed is not None and len(listed):
        known = ~np.isnan(out)
        idx = np.clip(np.searchsorted(listed, out[known]), 0, len(listed) - 1)
        lower = listed[np.maximum(idx - 1, 0)]
        upper = listed[idx]
        out[known] = np.where(np.abs(out[known] - lower) <= np.abs(upper - out[known]), lower, upper)
    return out


def _guarded(table: Table, frame: pd.DataFrame, col: str, new: np.ndarray, *, open_ok: bool = False) -> None:
    """Write derived values, except on rows where they would break a CHECK or a NOT NULL that the
    sampled value kept."""
    old = frame[col].astype(object).to_numpy(copy=True) if col in frame else np.full(len(frame), None)
    frame[col] = new
    bad = np.zeros(len(frame), dtype=bool)
    nullable = table.column(col).nullable or open_ok
    if not nullable:
        bad |= pd.isna(pd.Series(new, dtype=object)).to_numpy()
    for check in table.checks:
        try:
            node = ck.parse(check.sql, table.sql_dialect)
        except ck.NotInterpretable:
            continue
        if col in ck.columns_of(node) and ck.columns_of(node) <= set(frame.columns):
            bad |= ck.violations(node, frame)
    if bad.any():
        keep = pd.notna(pd.Series(old, dtype=object)).to_numpy() | nullable
        revert = bad & keep
        if revert.any():
            values = np.asarray(new, dtype=object).copy()
            values[revert] = old[revert]
            frame[col] = values


# -- flags saying whether children exist -------------------------------------------------------
def provisional_existence(tm: TableModel, frame: pd.DataFrame, z: np.ndarray) -> None:
    """Flags from the child counts drawn with the parent; set again from the children sampled."""
    for e in tm.existence:
        counts = dim_values(tm, z, f"{e.child}#count")
        if counts is None:
            counts = dim_values(tm, z, f"{e.child}.{e.fk}#refcount")
        if counts is None or e.column not in frame:
            continue
        has = np.round(np.asarray(counts, dtype=float)) > 0
        frame[e.column] = np.where(has, e.present, e.absent).astype(object) if len(frame) else []


def existence(schema: Schema, tm: TableModel, table: Table, frames: dict[str, pd.DataFrame]) -> None:
    """Each flag set from whether the row has children in the sampled child table."""
    from relsynth.model.fit import positions

    frame = frames[tm.name]
    for e in tm.existence:
        child = frames.get(e.child)
        if child is None or e.column not in frame:
            continue
        fk = schema.table(e.child).fk(e.fk)
        pos = positions(child, fk.columns, frame, fk.ref_columns)
        has = np.bincount(pos[pos >= 0], minlength=len(frame)) > 0
        values = np.empty(len(frame), dtype=object)
        values[has] = e.present
        values[~has] = e.absent
        _guarded(table, frame, e.column, values)
