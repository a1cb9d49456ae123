"""A UNIQUE number or time column drawn from its distribution: repeated values moved to free
values on the column's own grid, as few and as little as it takes.

Drawn values repeat where the distribution is dense (prices to the cent, timestamps to the
minute); the database refuses a repeat, and dropping the row loses it. Moving each repeat up to
the next free value was quadratic on a dense column and drifted the top of it (0-29.99 prices came
back up to 99.99 as identifier shapes); here the values are spread on the grid by least squares
(isotonic regression), kept within the drawn range where it has room.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from relsynth.schema import SqlType
from relsynth.sqltypes import INTEGER_TYPES, STRING_TYPES
from relsynth.transform import far_datetimes

MAX_DECIMALS = 12


def nudge_unique(
    frame: pd.DataFrame,
    col: str,
    keep: np.ndarray,
    dup: np.ndarray,
    sqltype: SqlType,
    taken: set[tuple[Any, ...]] | None = None,
    allowed: Callable[[float], bool] | None = None,
) -> tuple[np.ndarray, int | None]:
    """Move the kept rows' values of ``col`` so none repeats, nor one an earlier batch wrote
    (``taken``), within what ``allowed`` (the column's own CHECKs) admits. Returns the rows still
    repeated, to be dropped, and the number of values the type holds when that is why."""
    values = frame.loc[keep, col]
    if pd.api.types.is_timedelta64_dtype(values) or (
        values.dtype == object and _all_of(values, dt.timedelta)
    ):
        return _nudge_durations(frame, col, keep, dup, taken)  # a MySQL TIME: spread as seconds
    dates = values.dtype == object and _all_dates(values)
    stamps = values.dtype == object and _all_of(values, dt.datetime)  # timestamps held as objects
    if dates or stamps:  # a DATE column's Python dates: spread as days, given back as dates
        values = _stamps(pd.Series(values.to_numpy(), index=values.index))
    elif values.dtype == object and _all_of(values, dt.time):  # times of day: spread as seconds
        return _nudge_clock(frame, col, keep, dup, values, taken), None
    text = _text_format(values) if sqltype.name in STRING_TYPES else None
    if text is not None:  # dates as text ('2021-03-04'): spread as times, written back as text
        values = _text_stamps(values, text)
    if pd.api.types.is_datetime64_any_dtype(values):
        return _nudge_times(frame, col, keep, dup, values, dates, text, taken), None
    numbers = pd.to_numeric(values, errors="coerce")
    arr = numbers.to_numpy(dtype=float).copy()
    known = np.isfinite(arr)
    if not known.any() or np.abs(arr[known]).max() >= 2.0**53:  # past a float's integers
        return dup, None
    step, finest, lo, hi = _grid(arr[known], sqltype)
    base = float(np.min(arr[known]))
    width = float(np.max(arr[known])) - base
    while step < 1 and width / step + 1 < 2 * known.sum() and step / 10 >= finest:
        step /= 10  # ten times the rows of a dense column: one more decimal, not ten times its range
    index = np.round((arr[known] - base) / step)
    if np.abs(index).max() >= 2.0**52:  # a grid of a float's own spacing: each repeat one value up
        return _next_representable(frame, col, keep, dup, arr, sqltype.name == "float"), None
    far = 2.0**52  # a float's grid ends there
    first = int(np.ceil(max((lo - base) / step, -far)))
    last = int(np.floor(min((hi - base) / step, far)))
    used = _taken_index(taken, base, step)
    chosen = known.copy()
    room = last - first + 1 - len(used)
    if known.sum() > room:  # a TINYINT holds 256 values: the repeats past them are dropped
        chosen[np.flatnonzero(dup & known)[room - int(known.sum()) :]] = False
    ints = index[chosen[known]].astype(np.int64)
    window = _window(
        ints, (first, last), len(ints) + len(used), lambda i: allowed is None or allowed(base + i * step)
    )
    spread = None if window is None else spread_unique(ints, window)
    if spread is None:
        return dup, None
    if used:
        spread = _off_taken(spread, used, window)  # type: ignore[arg-type]
    moved = base + spread * step
    decimals = _decimals_of(step)
    if decimals is not None:
        moved = np.round(moved, decimals)
    if sqltype.name == "float":  # a 4-byte REAL stores fewer digits
        moved = moved.astype(np.float32).astype(float)
    arr[chosen] = moved
    frame.loc[keep, col] = arr
    left = dup.copy()
    left[chosen] = False
    return left, (room if chosen.sum() < known.sum() else None)


def _seconds(v: Any) -> float:
    return float("nan") if v is None or v is pd.NaT or v != v else pd.Timedelta(v).total_seconds()


def _nudge_durations(
    frame: pd.DataFrame,
    col: str,
    keep: np.ndarray,
    dup: np.ndarray,
    taken: set[tuple[Any, ...]] | None,
) -> tuple[np.ndarray, int | None]:
    """nudge_unique for durations (MySQL's and MariaDB's TIME, read as timedelta): as seconds,
    given back as timedelta."""
    seconds = pd.DataFrame({col: [_seconds(v) for v in frame[col].astype(object)]}, index=frame.index)
    known = seconds[col].dropna().to_numpy()
    whole = bool(len(known)) and bool(np.all(known == np.round(known)))
    before = None if taken is None else {tuple(_seconds(v) for v in key) for key in taken}
    left, room = nudge_unique(seconds, col, keep, dup, SqlType("integer" if whole else "double"), before)
    out = frame[col].astype(object).to_numpy(copy=True)
    moved = seconds[col].to_numpy()
    out[keep] = [None if s != s else dt.timedelta(seconds=float(s)) for s in moved[keep]]
    frame[col] = pd.Series(out, index=frame.index, dtype=object)
    return left, room


def _stamps(values: pd.Series) -> pd.Series:
    """Dates or datetimes as datetime64: nanoseconds, or microseconds where a value lies past
    pandas' nanoseconds (1677 to 2262: a period open until 9999-01-01 stopped the run)."""
    try:
        return pd.to_datetime(values)
    except (pd.errors.OutOfBoundsDatetime, OverflowError):
        aware = any(getattr(v, "tzinfo", None) is not None for v in values.dropna())
        return far_datetimes(values, utc=aware)


def _text_stamps(values: pd.Series, text: str) -> pd.Series:
    """Dates kept as text, read with their format: in microseconds where one lies past pandas'
    nanoseconds (read as NaT, it was written back as NULL)."""
    out = pd.to_datetime(values, format=text, errors="coerce")
    if not (out.isna() & values.notna()).any():
        return out
    try:
        read = [None if pd.isna(v) else dt.datetime.strptime(str(v), text) for v in values]
    except ValueError:  # text that is no date in this format: as before (NaT)
        return out
    return pd.Series(np.array(read, dtype="datetime64[us]"), index=values.index)


def _taken_index(taken: set[tuple[Any, ...]] | None, base: float, step: float) -> set[int]:
    """The grid positions of the values earlier batches wrote."""
    if not taken:
        return set()
    values = pd.to_numeric(pd.Series([t[0] for t in taken], dtype=object), errors="coerce").to_numpy(
        dtype=float
    )
    values = values[np.isfinite(values)]
    return set(np.round((values - base) / step).astype(np.int64).tolist())


def _off_taken(spread: np.ndarray, used: set[int], window: tuple[int, int]) -> np.ndarray:
    """Each value an earlier batch wrote moved to the nearest position neither holds."""
    out = spread.copy()
    held = set(out.tolist()) | used
    for i in np.flatnonzero(np.fromiter((v in used for v in out.tolist()), bool, len(out))):
        v = int(out[i])
        for d in range(1, window[1] - window[0] + 2):
            for c in (v + d, v - d):
                if window[0] <= c <= window[1] and c not in held:
                    break
            else:
                continue
            break
        held.add(c)
        out[i] = c
    return out


def _window(
    ints: np.ndarray, bounds: tuple[int, int], n: int, allowed: Callable[[int], bool]
) -> tuple[int, int] | None:
    """The positions values may take: the drawn range where it has room for n, else widened on
    both sides, or on one where the type or a CHECK (price >= 0) ends the other; None when
    neither has room."""
    if not len(ints):
        return bounds
    lo, hi = int(ints.min()), int(ints.max())
    if hi - lo + 1 < n:  # no room in the drawn range: widen it on both sides
        extra = n - (hi - lo + 1)
        lo, hi = lo - extra // 2, hi + (extra - extra // 2)
    lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    if not allowed(lo):  # a CHECK ends it below: start at the lowest drawn value
        lo = max(int(ints.min()), bounds[0])
        hi = min(bounds[1], max(hi, lo + n - 1))
    if not allowed(hi):
        hi = min(int(ints.max()), bounds[1])
        lo = max(bounds[0], min(lo, hi - n + 1))
    if hi - lo + 1 < n:
        lo = max(bounds[0], hi - n + 1)
        hi = min(bounds[1], lo + n - 1)
    if hi - lo + 1 < n or not (allowed(lo) and allowed(hi)):
        return None
    return lo, hi


def spread_unique(ints: np.ndarray, window: tuple[int, int]) -> np.ndarray | None:
    """Distinct integers as near to ``ints`` as least squares puts them, in the same order,
    inside ``window`` (_window); None when it holds too few."""
    n = len(ints)
    lo, hi = window
    if n == 0:
        return ints
    if hi - lo + 1 < n:
        return None
    from scipy.optimize import isotonic_regression

    order = np.argsort(ints, kind="stable")
    steps = np.arange(n, dtype=np.int64)
    fitted = isotonic_regression((ints[order] - steps).astype(float)).x  # non-decreasing
    out = np.round(fitted).astype(np.int64) + steps  # rounding keeps it so: strictly increasing
    out = np.maximum(out, lo + steps)  # the maximum (minimum) of two strictly increasing runs is one
    out = np.minimum(out, hi - (n - 1) + steps)
    result = np.empty(n, dtype=np.int64)
    result[order] = out
    return result


def _grid(values: np.ndarray, sqltype: SqlType) -> tuple[float, float, float, float]:
    """The step the values sit on (whole numbers: the one they keep; others: the decimals they
    show, at most a NUMERIC's scale, no finer than a float stores), the finest step the type
    stores, and the range it holds."""
    top = float(np.abs(values).max())
    if sqltype.name in INTEGER_TYPES or (sqltype.name == "numeric" and sqltype.scale == 0):
        from relsynth.model.keys import integer_bounds

        lo, hi = integer_bounds(sqltype)
        return float(_whole_step(values)), 1.0, float(lo), float(hi)
    if sqltype.name == "numeric" and sqltype.scale is not None:
        finest = 10.0 ** -int(sqltype.scale)
    elif sqltype.name == "float":
        finest = float(np.spacing(np.float32(top)))
    else:
        finest = float(np.spacing(top))
    step = max(_data_step(values), finest)
    if sqltype.name == "numeric" and sqltype.precision is not None and sqltype.scale is not None:
        whole = 10.0 ** (int(sqltype.precision) - int(sqltype.scale)) - finest
        return step, finest, -whole, whole
    return step, finest, -np.inf, np.inf


def _whole_step(values: np.ndarray) -> int:
    """The step whole numbers keep between them (levels 5, 10, 15: 5; a CHECK (lvl % 5 = 0)
    repaired them onto it, and spread by ones 151 of 400 broke it), 1 for most."""
    whole = np.unique(values[np.abs(values) < 2.0**53]).astype(np.int64)
    if len(whole) < 20:  # two values 50,000 apart are no grid of 50,000
        return 1
    return max(int(np.gcd.reduce(np.diff(whole))), 1)


def _data_step(values: np.ndarray) -> float:
    """The largest power of ten (at most 1) every value is a multiple of: 0.01 for prices."""
    sample = values[:5000]
    for d in range(MAX_DECIMALS + 1):
        scaled = sample * 10.0**d
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 * np.maximum(1.0, np.abs(scaled) * 1e-9)):
            return 10.0**-d
    return 0.0


def _decimals_of(step: float) -> int | None:
    """The decimals a power-of-ten step shows, None for any other step (a float's spacing)."""
    exponent = Decimal(repr(step)).normalize().as_tuple()
    if exponent.digits == (1,) and isinstance(exponent.exponent, int) and exponent.exponent <= 0:
        return -exponent.exponent
    return None


def _text_format(values: pd.Series) -> str | None:
    """The strftime format of text that holds dates, if every value follows one."""
    if values.dtype != object or not values.notna().any():
        return None
    from relsynth.transform import text_date_format

    return text_date_format(values.dropna().astype(str).str.strip())


def _nudge_times(
    frame: pd.DataFrame,
    col: str,
    keep: np.ndarray,
    dup: np.ndarray,
    values: pd.Series,
    dates: bool,
    text: str | None = None,
    taken: set[tuple[Any, ...]] | None = None,
) -> np.ndarray:
    """Times spread on their own grain (a timestamp every 37 minutes: a minute), counted in
    integers of their unit (nanoseconds; microseconds past 2262): nanoseconds as a float (1.6e18)
    did not move by one. Within what both the unit and Python's dates hold (years 1 to 9999)."""
    known = values.notna().to_numpy()
    if not known.any():
        return dup
    tz = getattr(values.dt, "tz", None)
    ns = values.dt.tz_convert("UTC").dt.tz_localize(None) if tz is not None else values  # as batches hold
    unit = str(getattr(ns.dt, "unit", "ns"))
    per = _PER_SECOND.get(unit)
    if per is None:
        return dup
    kind = f"datetime64[{unit}]"
    ints = ns.to_numpy(dtype=kind).astype(np.int64)
    from relsynth.transform import grain_of

    step = max(round(grain_of(ints[known] / per) * per), 1)
    base = int(ints[known].min())
    index = (ints[known] - base) // step
    first = max(int(np.iinfo(np.int64).min) + 1, _since_epoch(dt.datetime.min, unit))
    last = min(int(np.iinfo(np.int64).max), _since_epoch(dt.datetime.max, unit))
    bounds = (-((base - first) // step), (last - base) // step)
    used = _taken_times(taken, text, base, step, unit)
    window = _window(index, bounds, len(index) + len(used), lambda _: True)
    spread = None if window is None else spread_unique(index, window)
    if spread is None:
        return dup
    if used:  # clear of the times earlier batches wrote (2,000 of 3,000 dates were dropped)
        spread = _off_taken(spread, used, window)  # type: ignore[arg-type]
    moved = ints.copy()
    moved[known] = base + spread * step
    out = pd.Series(moved.astype(kind), index=values.index).where(known)
    if tz is not None:
        out = out.dt.tz_localize("UTC").dt.tz_convert(tz)
    if dates or text is not None:
        kept = frame[col].astype(object).to_numpy(copy=True)
        kept[np.flatnonzero(keep)] = [
            None if pd.isna(v) else (v.strftime(text) if text is not None else v.date()) for v in out
        ]
        frame[col] = kept
    else:
        frame.loc[keep, col] = out.astype(values.dtype)
    left = dup.copy()
    left[known] = False
    return left


def _next_representable(
    frame: pd.DataFrame, col: str, keep: np.ndarray, dup: np.ndarray, arr: np.ndarray, single: bool
) -> np.ndarray:
    """Doubles kept to all their digits rarely repeat: each repeat moves to the next value the
    column stores (a 4-byte REAL's when ``single``)."""
    kind = np.float32 if single else np.float64
    used = set(arr[np.isfinite(arr)].astype(kind).tolist())
    for i in np.flatnonzero(dup & np.isfinite(arr)):
        v = kind(arr[i])
        while float(v) in used:
            v = np.nextafter(v, kind(np.inf))
        used.add(float(v))
        arr[i] = float(v)
    frame.loc[keep, col] = arr
    left = dup.copy()
    left[np.isfinite(arr)] = False
    return left


_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


def _since_epoch(moment: dt.datetime, unit: str) -> int:
    """A naive datetime as integers of ``unit`` since 1970, exactly (no float)."""
    delta = moment - dt.datetime(1970, 1, 1)
    micros = (delta.days * 86400 + delta.seconds) * 10**6 + delta.microseconds
    return micros * _PER_SECOND[unit] // 10**6


def _taken_times(
    taken: set[tuple[Any, ...]] | None, text: str | None, base: int, step: int, unit: str = "ns"
) -> set[int]:
    """The grid positions of the times earlier batches wrote (values.key_values: seconds, or
    the text of a column of text dates), counted in ``unit``."""
    if not taken:
        return set()
    written = pd.Series([t[0] for t in taken], dtype=object)
    seconds = pd.to_numeric(written, errors="coerce")
    if seconds.notna().all():
        ints = (seconds.to_numpy(dtype=float) * _PER_SECOND[unit]).round().astype(np.int64)
    else:
        strings = written.astype(str)
        stamps = _text_stamps(strings, text) if text is not None else pd.to_datetime(strings, errors="coerce")
        ints = stamps.dropna().to_numpy(dtype=f"datetime64[{unit}]").astype(np.int64)
    return set(((ints - base) // step).tolist())


def _all_of(values: pd.Series, kind: type) -> bool:
    known = values.dropna()
    return bool(len(known)) and all(isinstance(v, kind) for v in known)


def _micros(v: dt.time) -> int:
    return (v.hour * 3600 + v.minute * 60 + v.second) * 10**6 + v.microsecond


def _nudge_clock(
    frame: pd.DataFrame,
    col: str,
    keep: np.ndarray,
    dup: np.ndarray,
    values: pd.Series,
    taken: set[tuple[Any, ...]] | None = None,
) -> np.ndarray:
    """Times of day (a TIME column) spread as seconds since midnight on their own grain (a
    minute), within the day: as objects they were no numbers, and 195 of 500 were dropped."""
    known = values.notna().to_numpy()
    micros = np.array([_micros(v) if k else 0 for v, k in zip(values, known, strict=True)], dtype=np.int64)
    from relsynth.transform import grain_of

    step = max(round(grain_of(micros[known] / 1e6) * 1e6), 1)
    step = min(step, 3600 * 10**6)  # a day's grain would leave no room in a day
    if 86400 * 10**6 // step < 2 * int(known.sum()):  # 1,500 times in a day of minutes: seconds
        step = min(step, 10**6)
    index = micros[known] // step
    used: set[int] = set()
    for t in taken or ():  # what earlier batches wrote, as text (values.key_values)
        try:
            used.add(_micros(dt.time.fromisoformat(str(t[0]))) // step)
        except ValueError:
            continue
    window = _window(index, (0, (86400 * 10**6 - 1) // step), len(index) + len(used), lambda _: True)
    spread = None if window is None else spread_unique(index, window)
    if spread is None:
        return dup
    if used:
        spread = _off_taken(spread, used, window)  # type: ignore[arg-type]
    kept = frame[col].astype(object).to_numpy(copy=True)
    tz = [getattr(v, "tzinfo", None) for v in values[known]]
    times = []
    for m, zone in zip((spread * step).tolist(), tz, strict=True):
        seconds, micro = divmod(int(m), 10**6)
        times.append(dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60, micro, tzinfo=zone))
    at = np.flatnonzero(keep)[known]
    kept[at] = times
    frame[col] = kept
    left = dup.copy()
    left[known] = False
    return left


def _all_dates(values: pd.Series) -> bool:
    """Whether every value is a date (not a datetime): what a DATE column holds before typing."""
    known = values.dropna()
    return bool(len(known)) and all(type(v) is dt.date for v in known)
