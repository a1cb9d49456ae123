"""Exact relations between a row's columns, related rows and sibling rows, found in the source and
derived (not sampled) at sampling time, so the output keeps what the source always satisfies:

- parts: a column that is a part of another in the same row (visit_date = date(visit_datetime),
  year_of_birth = year(birth_datetime));
- differences: a column that is the difference or sum of two others (length_of_stay = discharge -
  admit in days, duration = end - start in minutes, an interval los = discharged - admitted,
  total = net + tax), or a constant multiple of another rounded to its decimals (tax =
  round(0.2 * net, 2));
- calendar dates kept valid when they are stored as year, month and day columns (no 31 November);
- orders through any related row, not only the context parent: an event never before its
  person's birth (a secondary parent, a grandparent) nor after the death a sibling table records;
- flags that say whether a row has children (diabetes_med <=> the encounter has medication rows);
- intervals that never overlap for one key (two rentals of one inventory item).

Each kind is screened on a few rows, then confirmed on every row. A relation must rest on at least
MIN_SUPPORT rows and may fail on at most TOLERANCE of them (a handful of exceptions in many
thousands of rows, which the output then no longer has); a coincidence on 10 rows is no law.
Where the names say it too (visit_date and visit_datetime; nothing after a death date), MIN_NAMED
rows are enough: a person table of 28 rows, a death table of 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

TOLERANCE = 0.001  # share of rows a relation may fail on in the source (5 of 16,000 rows)
MIN_SUPPORT = 20  # rows (or pairs of intervals) a relation must rest on
MIN_NAMED = 3  # enough rows when the names say it too: visit_date, visit_datetime; a death date
END_OF_LIFE = frozenset({"death", "died", "deceased", "dod", "expired"})  # nothing happens after these
MIN_SIDE = 5  # a flag needs this many rows with children, and this many without
SCREEN = 256  # rows a candidate is screened on before it is confirmed on all
PARTS = ("date", "year", "month", "day")
UNITS = (("day", 86400.0), ("hour", 3600.0), ("minute", 60.0), ("second", 1.0))
MAX_NUMBERS = 40  # numeric columns tried as sums and differences of each other (cubic cost)


@dataclass(frozen=True)
class Part:
    """column = part(whole) in the same row (part: date, year, month or day)."""

    column: str
    whole: str
    part: str
    output: str = "number"  # how values are given back: number, or a Temporal output (date, text, ...)
    text_format: str | None = None
    blank: float = 0.0  # share of rows with the whole known where the column is NULL in the source


@dataclass(frozen=True)
class Difference:
    """column = (a - b) / unit + offset for dates (unit in seconds), or a - b / a + b for numbers,
    or (op '*') a * unit rounded half away from zero to ``decimals`` (b is a again: tax = 0.2 * net).

    mode: 'exact' (rounded to the column's decimals), 'floor' (whole units elapsed), or 'days'
    (calendar days between the two dates). An interval column (its type says so) holds that many
    units as a duration.
    """

    column: str
    a: str
    b: str
    op: str = "-"
    unit: float = 1.0
    mode: str = "exact"
    offset: int = 0
    decimals: int = 0
    dates: bool = False
    blank: float = 0.0


@dataclass(frozen=True)
class Calendar:
    """(year, month, day) columns that always make a valid date; year may be absent (29 Feb allowed)."""

    year: str | None
    month: str
    day: str


@dataclass(frozen=True)
class TimeMatch:
    """A row's ``column`` lies close to ``base`` of the row its foreign key names (a drug exposure
    starts on the day of its visit): parents are given to rows in order of the two, and the
    column is then its parent's ``base`` plus ``gap`` (a marginal of the source's differences, in
    ``unit`` seconds; None: the rows keep their own times)."""

    column: str
    base: str
    gap: Any = None
    unit: float = 1.0


@dataclass(frozen=True)
class Reach:
    """column op base, where base is a column of another row reached through foreign keys.

    path: steps ('up', table, fk) follow table's fk to its parent; ('down', table, fk) go from a
    row to the one row of table whose fk points to it (a person's death record).
    """

    column: str
    op: str
    table: str
    base: str
    path: tuple[tuple[str, str, str], ...]
    day: bool = False  # base is a date: 'column <= base' means no later than that day

    def label(self) -> str:
        return " -> ".join(f"{fk}" if way == "up" else f"{t} via {fk}" for way, t, fk in self.path)


@dataclass(frozen=True)
class Existence:
    """A parent's column says whether it has children through fk: present when it has, else absent."""

    column: str
    child: str
    fk: str
    present: Any
    absent: Any


@dataclass(frozen=True)
class NoOverlap:
    """Intervals start..end of rows sharing key never overlap (a NULL end is still open).

    shortest, longest: the source's closed intervals' durations in seconds (None in a model file
    written before they were kept): a sampled one is kept within them. last_open: where only a
    key's last interval is ever open (a current salary period), the share of keys whose last one
    is; None where open intervals fall anywhere, or never.
    """

    start: str
    end: str
    key: str
    shortest: float | None = None
    longest: float | None = None
    last_open: float | None = None


def last_of_key(key: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Each key's row with the latest start (rows without a key or a start are none)."""
    ok = np.flatnonzero((key >= 0) & ~np.isnan(start))
    out = np.zeros(len(key), dtype=bool)
    if not len(ok):
        return out
    order = ok[np.lexsort((start[ok], key[ok]))]
    k = key[order]
    out[order[np.r_[k[1:] != k[:-1], True]]] = True
    return out


def last_open_share(key: np.ndarray, start: np.ndarray, end: np.ndarray) -> float | None:
    """The share of keys whose last interval is open, if no other interval ever is."""
    last = last_of_key(key, start)
    open_ = (key >= 0) & ~np.isnan(start) & np.isnan(end)
    if not open_.any() or (open_ & ~last).any():
        return None
    return float(open_[last].mean())


def allowed(n: int) -> int:
    """Exceptions a relation holding on n rows may have."""
    return int(TOLERANCE * n)


# -- parts -----------------------------------------------------------------------------------
def part_of(seconds: np.ndarray, part: str) -> np.ndarray:
    """The date (as seconds at midnight), year, month or day of each time; NaN stays NaN."""
    out = np.full(len(seconds), np.nan)
    known = ~np.isnan(seconds)
    if not known.any():
        return out
    stamps = np.round(seconds[known] * 1e6).astype(np.int64).astype("datetime64[us]")
    if part == "date":
        out[known] = stamps.astype("datetime64[D]").astype(np.int64) * 86400.0
    elif part == "year":
        out[known] = stamps.astype("datetime64[Y]").astype(np.int64) + 1970
    elif part == "month":
        out[known] = stamps.astype("datetime64[M]").astype(np.int64) % 12 + 1
    elif part == "day":
        days = stamps.astype("datetime64[D]") - stamps.astype("datetime64[M]").astype("datetime64[D]")
        out[known] = days.astype(np.int64) + 1
    else:
        raise ValueError(part)
    return out


_FILLER = {"date", "datetime", "time", "dt", "of"}


def _tokens(name: str) -> set[str]:
    return {t for t in name.lower().replace("-", "_").split("_") if t} - _FILLER


def _likeness(a: str, b: str) -> tuple[int, int]:
    """How alike two names are: shared words, then the length of their common prefix."""
    prefix = 0
    for x, y in zip(a.lower(), b.lower(), strict=False):
        if x != y:
            break
        prefix += 1
    return len(_tokens(a) & _tokens(b)), prefix


def named_part(target: str, whole: str, part: str) -> bool:
    """Do the names say it (x_date of x_datetime, year_of_birth of birth_datetime)?"""
    t, w = _tokens(target), _tokens(whole)
    if part == "date":
        return bool(t) and t == w
    rest = t - {part}
    return part in t and bool(rest) and rest <= w


def ends_life(*names: str) -> bool:
    """Is this a death date (by its column's or its table's name)?"""
    return any(_tokens(n) & END_OF_LIFE for n in names)


def _holds(
    target: np.ndarray, expected: np.ndarray, whole_known: np.ndarray, min_rows: int
) -> tuple[int, float] | None:
    """(exceptions, blank share) if target = expected where both are known, the target is never
    known without the whole, and the relation rests on enough varied rows; else None."""
    t_known = ~np.isnan(target)
    both = t_known & whole_known
    n = int(both.sum())
    if n < min_rows or int((t_known & ~whole_known).sum()) > allowed(int(t_known.sum())):
        return None
    idx = np.flatnonzero(both)
    head = idx[:SCREEN]
    if int((target[head] != expected[head]).sum()) > allowed(n):
        return None
    bad = int((target[idx] != expected[idx]).sum())
    if bad > allowed(n) or len(np.unique(target[idx[:5000]])) < 2:
        return None
    blank = float((whole_known & ~t_known).sum() / max(int(whole_known.sum()), 1))
    return bad, blank


def find_parts(
    times: dict[str, np.ndarray],
    numbers: dict[str, np.ndarray],
    targets: set[str],
    rank: dict[str, tuple[Any, ...]],
) -> list[tuple[str, str, str, float]]:
    """(column, whole, part, blank) for columns that are a part of a time in the same row.

    ``times``: seconds of the row's time columns (wholes, and targets of a 'date' part);
    ``numbers``: integer columns that may be a year, month or day; ``targets``: the columns that may
    be derived; ``rank``: orders wholes, finest first. Each target takes the whole it matches with
    the fewest exceptions, then the one named most alike; no column is derived from itself.
    """
    hits: dict[str, list[tuple[tuple[Any, ...], str, str, float]]] = {}
    for w in sorted(times, key=lambda c: rank[c]):
        ws = times[w]
        wk = ~np.isnan(ws)
        if int(wk.sum()) < MIN_NAMED:
            continue
        parts: dict[str, np.ndarray] = {}
        candidates = [(t, "date", times[t]) for t in times if t != w and t in targets]
        candidates += [(t, p, numbers[t]) for t in numbers if t != w and t in targets for p in PARTS[1:]]
        for t, part, values in candidates:
            if part not in parts:
                parts[part] = part_of(ws, part)
            least = MIN_NAMED if named_part(t, w, part) else MIN_SUPPORT
            found = _holds(values, parts[part], wk, least)
            if found is None:
                continue
            bad, blank = found
            shared, prefix = _likeness(t, w)
            hits.setdefault(t, []).append(((bad, -shared, -prefix, rank[w]), w, part, blank))
    choice = {t: min(options, key=lambda o: o[0]) for t, options in hits.items()}
    # Break loops (x_date <-> x_datetime when every time is at midnight): the finer whole stays.
    for t in sorted(choice, key=lambda c: rank.get(c, (np.inf, 9, c))):
        seen, cur = {t}, choice[t][1]
        while cur in choice:
            if cur in seen:
                del choice[t]
                break
            seen.add(cur)
            cur = choice[cur][1]
    out = [(t, w, part, blank) for t, (_, w, part, blank) in choice.items()]
    return derivation_order(out, lambda r: r[0], lambda r: [r[1]])


def spelled(values: np.ndarray, text_format: str | None) -> np.ndarray:
    """Numbers as the source spelled them (a 'text' part): 'fixed:D' with D decimals (7.6 -> '7.6',
    64 -> '64.0' at one), 'plain' as the shortest text (64 -> '64', 7.6 -> '7.6'). NaN -> None."""
    out = np.full(len(values), None, dtype=object)
    values = np.asarray(values, dtype=float) + 0.0  # -0.0 is '0.0', as a database prints it
    known = ~np.isnan(values)
    if text_format and text_format.startswith("fixed:"):
        d = int(text_format.split(":", 1)[1])
        out[known] = [f"{x:.{d}f}" for x in np.round(values[known], d) + 0.0]  # -0.04: '0.0'

    else:
        out[known] = [str(int(x)) if x == int(x) else repr(float(x)) for x in values[known]]
    return out


BY_LEVEL = "by:"  # a text_format with a format per level of a category of the row (spelled_by)
MAX_FORMAT_LEVELS = 200


def level_key(value: Any) -> str | None:
    """A level as a key that survives the model's JSON: 1, 1.0 and '1' are one level."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    try:
        return repr(float(value))
    except (TypeError, ValueError):
        return str(value)


def by_level_format(given: str, levels: list[tuple[Any, str]], other: str) -> str:
    """A text_format spelling a number by the format of the row's level of ``given``."""
    import json

    from relsynth.jsontags import jsonable

    pairs = [[jsonable(v), f] for v, f in levels]
    return BY_LEVEL + json.dumps({"given": given, "levels": pairs, "other": other})


def by_level_parts(text_format: str) -> tuple[str, list[tuple[Any, str]], str]:
    """(given, [(level, format)], the other levels' format) of a by_level_format."""
    import json

    from relsynth.jsontags import unjson

    d = json.loads(text_format[len(BY_LEVEL) :])
    return d["given"], [(unjson(v), f) for v, f in d["levels"]], d["other"]


def parse_by_level(text_format: str) -> tuple[str, dict[str | None, str], str]:
    """(given, level key -> format, the other levels' format) of a by_level_format."""
    given, levels, other = by_level_parts(text_format)
    return given, {level_key(v): f for v, f in levels}, other


def spelled_by(values: np.ndarray, text_format: str | None, given: Any = None) -> np.ndarray:
    """spelled(), with a by_level_format spelled per level of ``given`` (the row's values of it)."""
    if not text_format or not text_format.startswith(BY_LEVEL):
        return spelled(values, text_format)
    _, formats, other = parse_by_level(text_format)
    values = np.asarray(values, dtype=float)
    out = np.full(len(values), None, dtype=object)
    which = (
        np.array([formats.get(level_key(v), other) for v in given], dtype=object)
        if given is not None
        else np.full(len(values), other, dtype=object)
    )
    for fmt in sorted(set(which.tolist())):
        rows = np.flatnonzero(which == fmt)
        out[rows] = spelled(values[rows], fmt)
    return out


def _by_level(
    x: np.ndarray, series: pd.Series, both: np.ndarray, groups: dict[str, pd.Series]
) -> tuple[int, str] | None:
    """(misspelled rows, format) of the first category of ``groups`` whose levels each spell the
    number in one format (a lab's value: one decimal for most items, two for one): None if none."""
    for g in sorted(groups):
        keys = np.array([level_key(v) for v in groups[g].to_numpy(dtype=object)[both]], dtype=object)
        levels = pd.unique(keys)
        if len(levels) < 2 or len(levels) > MAX_FORMAT_LEVELS:
            continue
        texts = series.iloc[both].to_numpy(dtype=object)
        found, ok = [], True
        for level in levels:
            mine = keys == level
            if int(mine.sum()) < MIN_SUPPORT:
                continue  # the other levels' format
            fmt = _spelling([str(v) for v in texts[mine] if _number_like(v)])  # a stray word is misspelled
            if fmt is None:
                ok = False
                break
            found.append((level, fmt, int(mine.sum())))
        if not ok or len({f for _, f, _ in found}) < 2:
            continue
        weight: dict[str, int] = {}
        for _, f, n in found:
            weight[f] = weight.get(f, 0) + n
        other = max(sorted(weight), key=lambda f: weight[f])
        original = {level_key(v): v for v in groups[g].to_numpy(dtype=object)[both]}
        fmt = by_level_format(g, [(original[lv], f) for lv, f, _ in found if f != other], other)
        bad = int((spelled_by(x[both], fmt, groups[g].to_numpy(dtype=object)[both]) != texts).sum())
        if bad <= allowed(len(both)):
            return bad, fmt
    return None


def _spelling(texts: list[str]) -> str | None:
    """The format of numbers spelled as these texts: as many decimals in each, else the shortest."""
    if not texts or any(not t or "e" in t.lower() or t.strip() != t for t in texts):
        return None
    decimals = {len(t.split(".", 1)[1]) if "." in t else 0 for t in texts}
    return f"fixed:{decimals.pop()}" if len(decimals) == 1 else "plain"


def _number_like(value: object) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def _misspelled(x: np.ndarray, texts: pd.Series, rows: np.ndarray, fmt: str) -> int:
    return int((spelled(x[rows], fmt) != texts.iloc[rows].to_numpy(dtype=object)).sum())


def find_spellings(
    texts: dict[str, pd.Series],
    numbers: dict[str, np.ndarray],
    nullable: set[str],
    groups: dict[str, pd.Series] | None = None,
) -> list[tuple[str, str, str, float, bool]]:
    """(column, number, format, blank, whole) for text columns that spell a number of the same row
    wherever it is known (a lab result's value_source_value '7.6' beside value_as_number 7.6; MIMIC's
    value and valuenum). ``whole``: the text is never known without the number; else (a nullable
    text) its other values ('Negative') stay the column's own, drawn as before. ``blank``: share of
    rows with the number known where the text is NULL. ``groups``: categories of the row (positions
    from 0) whose levels may each spell the number in a format of their own (by_level_format)."""
    out = []
    known = {n: ~np.isnan(x) & (np.abs(np.nan_to_num(x)) < 2.0**53) for n, x in numbers.items()}
    for t, series in texts.items():
        tk = series.notna().to_numpy()
        if int(tk.sum()) < MIN_SUPPORT or not any(_number_like(v) for v in series[tk].head(SCREEN)):
            continue  # words and codes (most text columns): no pass over the numbers
        best: tuple[int, str, str, float, bool] | None = None
        for n in sorted(numbers):
            x, nk = numbers[n], known[n]
            both = np.flatnonzero(tk & nk)
            if len(both) < MIN_SUPPORT:
                continue
            head = both[:SCREEN]
            # A stray word where the number is known ('ERROR') is one misspelled row, not no format.
            fmt = _spelling([str(v) for v in series.iloc[head] if _number_like(v)])
            if fmt is None and not groups:
                continue
            if fmt is not None and _misspelled(x, series, head, fmt) <= allowed(len(both)):
                bad = _misspelled(x, series, both, fmt)
            else:
                bad = len(both) + 1
            if bad > allowed(len(both)) and groups:
                per_level = _by_level(x, series, both, {g: s for g, s in groups.items() if g != t})
                if per_level is not None:
                    bad, fmt = per_level
            if fmt is None or bad > allowed(len(both)) or len(np.unique(x[both[:5000]])) < 2:
                continue
            alone = int((tk & ~nk).sum())
            whole = alone <= allowed(int(tk.sum()))
            if not whole and t not in nullable:
                continue  # its own values would be masked as NULL: a NOT NULL text cannot be
            blank = float((nk & ~tk).sum() / max(int(nk.sum()), 1))
            if best is None or bad < best[0]:
                best = (bad, n, fmt, blank, whole)
        if best is not None:
            out.append((t, best[1], best[2], round(best[3], 6), best[4]))
    return out


def date_roots(parts: list[Part]) -> dict[str, str]:
    """Each column derived as the date of a time (directly, or as the date of such a column) ->
    the column whose date it is: an order on the derived column is kept by moving that one."""
    whole = {p.column: p.whole for p in parts if p.part == "date"}
    out = {}
    for c in whole:
        seen, cur = {c}, whole[c]
        while cur in whole and cur not in seen:
            seen.add(cur)
            cur = whole[cur]
        out[c] = cur
    return out


def derivation_order(items: list[Any], target: Any, inputs: Any) -> list[Any]:
    """Items ordered so that a column is derived before anything derived from it (stable: the
    same order in every process, since derivations may draw from the random generator)."""
    targets = {target(i) for i in items}
    done: set[str] = set()
    out: list[Any] = []
    left = list(items)
    while left:
        ready = [i for i in left if all(x in done or x not in targets for x in inputs(i))]
        if not ready:  # a loop: find_parts breaks them, so this is only a guard
            ready = left[:1]
        for i in ready:
            out.append(i)
            done.add(target(i))
        left = [i for i in left if i not in ready]
    return out


# -- differences -------------------------------------------------------------------------------
def _tolerance(decimals: int) -> float:
    return 0.5 * 10.0 ** (-decimals) + 1e-9


def find_differences(
    times: dict[str, np.ndarray],
    numbers: dict[str, np.ndarray],
    targets: set[str],
    decimals: dict[str, int],
    results_only: frozenset[str] | set[str] = frozenset(),
) -> list[Difference]:
    """Numeric columns equal to the time between two time columns (in days, hours, minutes or
    seconds; exact, whole units elapsed, or calendar days; plus a constant 0 or 1), or to the sum
    or difference of two numeric columns. A column is derived once, never from a derived one, nor
    from one of ``results_only`` (generated columns: the source computes them from others)."""
    found: list[Difference] = []
    derived: set[str] = set()
    used: set[str] = set()
    names = list(times)
    for c in [t for t in numbers if t in targets]:
        y = numbers[c]
        c_known = ~np.isnan(y)
        if int(c_known.sum()) < MIN_SUPPORT:
            continue
        # A generated column's expression computes, not counts: round(epoch(b - a) / 3600, 2) fits
        # whole hours elapsed too where the source's times are whole hours, but not times drawn.
        ways = _exact_first() if c in results_only else None
        rel = _time_difference(c, y, times, names, decimals.get(c, 0), ways)
        if rel is not None:
            found.append(rel)
            derived.add(c)
            used.update((rel.a, rel.b))
    pool = [c for c in numbers if c not in derived][:MAX_NUMBERS]
    triples: set[frozenset[str]] = set()
    for op in ("+", "-"):  # a column that is the sum of two others is their total, not a term
        for c in pool:
            if c not in targets or c in used or c in derived:
                continue
            inputs = [x for x in pool if x != c and x not in derived and x not in results_only]
            rel = _number_difference(c, numbers, inputs, decimals, op)
            if rel is None or frozenset((rel.a, rel.b, c)) in triples:
                continue
            triples.add(frozenset((rel.a, rel.b, c)))
            found.append(rel)
            derived.add(c)
            used.update((rel.a, rel.b))
    # Constant multiples (tax = round(0.2 * net, 2)): derived first, so a sum of them (total = net
    # + tax) is derived from the multiple's final value. A sum's term may be one; a base may not.
    ratios: list[Difference] = []
    bases: set[str] = set()
    for c in pool:
        if c not in targets or c in derived or c in bases or c in results_only:
            continue
        inputs = [x for x in pool if x != c and x not in derived and x not in results_only]
        rel = _ratio(c, numbers, inputs, decimals)
        if rel is not None:
            ratios.append(rel)
            derived.add(c)
            bases.add(rel.a)
    return [*ratios, *found]


MAX_RATIO_DECIMALS = 10  # a ratio is kept as the shortest decimal within what every row allows
MIN_RATIO_LEVELS = 5  # distinct values of the base a multiple must vary over (no coincidence)


def round_half_up(x: np.ndarray, decimals: int) -> np.ndarray:
    """Rounded half away from zero, as SQL's round() and Decimal arithmetic do (numpy rounds half to
    even), with a margin for the float error of a product (0.075 * 30.0 is 2.2499999...)."""
    scale = 10.0**decimals
    return np.sign(x) * np.floor(np.abs(x) * scale + 0.5 + 1e-7) / scale


def _ratio(
    c: str, numbers: dict[str, np.ndarray], pool: list[str], decimals: dict[str, int]
) -> Difference | None:
    """c = round(r * a, decimals of c) for a constant r on all rows but the tolerated few: each row
    bounds r to an interval; r is the shortest decimal in their intersection (0.2, 0.075), checked
    on every row. c and a must vary (MIN_RATIO_LEVELS values of a), r is neither 0 nor 1."""
    y = numbers[c]
    c_known = ~np.isnan(y)
    dec = decimals.get(c, 0)
    tol = 0.5 * 10.0 ** (-dec)
    for a in pool:
        x = numbers[a]
        ok = ~np.isnan(x)
        rows = c_known & ok
        n = int(rows.sum())
        if n < MIN_SUPPORT or int((c_known & ~ok).sum()) > allowed(int(c_known.sum())):
            continue
        idx = np.flatnonzero(rows)
        xs, ys = x[idx], y[idx]
        nz = xs != 0
        if int(nz.sum()) < MIN_SUPPORT or len(np.unique(xs[nz][:5000])) < MIN_RATIO_LEVELS:
            continue
        if len(np.unique(ys[:5000])) < MIN_RATIO_LEVELS:
            continue
        lo_r = (ys[nz] - tol) / xs[nz]
        hi_r = (ys[nz] + tol) / xs[nz]
        lo_r, hi_r = np.minimum(lo_r, hi_r), np.maximum(lo_r, hi_r)
        skip = allowed(n)  # the few rows that may break it may not set the bounds
        lo = float(np.sort(lo_r)[len(lo_r) - 1 - skip]) if len(lo_r) > skip else -np.inf
        hi = float(np.sort(hi_r)[skip]) if len(hi_r) > skip else np.inf
        if not lo <= hi:
            continue
        r = _shortest_decimal(lo, hi)
        if r in (0.0, 1.0) or r == -1.0:
            continue
        calc = round_half_up(r * xs, dec)
        if int((np.abs(ys - calc) > 1e-9 * np.maximum(1.0, np.abs(ys))).sum()) > allowed(n):
            continue
        blank = float((ok & ~c_known).sum() / max(int(ok.sum()), 1))
        return Difference(c, a, a, "*", r, "exact", 0, dec, False, blank)
    return None


def _shortest_decimal(lo: float, hi: float) -> float:
    """The number of fewest decimals in [lo, hi] (its midpoint where none has MAX_RATIO_DECIMALS)."""
    for d in range(MAX_RATIO_DECIMALS + 1):
        step = 10.0**-d
        k = np.ceil(lo / step - 1e-9)
        if k * step <= hi + 1e-12:
            return round(float(k * step), d)
    return (lo + hi) / 2


def _ways() -> list[tuple[float, str]]:
    """(unit, mode) a number may count the time between two columns in, whole units first."""
    return [
        (unit, mode)
        for name, unit in UNITS
        for mode in ("floor", "exact", *(("days",) if name == "day" else ()))
    ]


def _exact_first() -> list[tuple[float, str]]:
    """_ways with the exact time before whole units elapsed, unit by unit."""
    order = {unit: i for i, (_, unit) in enumerate(UNITS)}
    return sorted(_ways(), key=lambda w: (order[w[0]], w[1] != "exact"))


def _time_difference(
    c: str,
    y: np.ndarray,
    times: dict[str, np.ndarray],
    names: list[str],
    dec: int,
    ways: list[tuple[float, str]] | None = None,
) -> Difference | None:
    """The first difference that fits, one without a constant offset before any with one: days
    from a datetime to a date fit 'whole days + 1' too, except where the datetime is at midnight,
    which the source may just not have had (a sampled one then would be a day off). ``ways``: the
    (unit, mode) pairs tried, in order (all of them by default)."""
    first: Difference | None = None
    c_known = ~np.isnan(y)
    for a in names:
        for b in names:
            if a == b:
                continue
            sa, sb = times[a], times[b]
            ab = ~np.isnan(sa) & ~np.isnan(sb)
            both = c_known & ab
            n = int(both.sum())
            if n < MIN_SUPPORT or int((c_known & ~ab).sum()) > allowed(int(c_known.sum())):
                continue
            idx = np.flatnonzero(both)
            tried = ways or _ways()
            passed = _screen_times(y, sa, sb, idx, tried, dec, n)
            for (unit, mode), ok in zip(tried, passed, strict=True):
                rel = _check_time(c, a, b, y, sa, sb, idx, unit, mode, dec, n) if ok else None
                if rel is not None:
                    blank = float((ab & ~c_known).sum() / max(int(ab.sum()), 1))
                    found = Difference(c, a, b, "-", unit, mode, rel, dec, True, blank)
                    if rel == 0:
                        return found
                    first = first or found
    return first


INTERVAL_DECIMALS = 6  # an interval holds microseconds: its seconds are kept to them


def find_interval_differences(
    times: dict[str, np.ndarray], intervals: dict[str, np.ndarray], targets: set[str]
) -> list[Difference]:
    """Interval columns (their seconds, NaN for NULL) equal to the time between two time columns
    (los = discharged - admitted): in exact seconds, else, where every source interval is whole
    days, in calendar days (discharged::date - admitted::date) or whole days elapsed."""
    found: list[Difference] = []
    names = list(times)
    for c, secs in intervals.items():
        known = secs[~np.isnan(secs)]
        if c not in targets or len(known) < MIN_SUPPORT:
            continue
        rel = _time_difference(c, secs, times, names, INTERVAL_DECIMALS, [(1.0, "exact")])
        if rel is None and bool(np.all(np.mod(known, 86400.0) == 0)):
            days = [(86400.0, "days"), (86400.0, "floor")]
            rel = _time_difference(c, secs / 86400.0, times, names, 0, days)
        if rel is not None:
            found.append(rel)
    return found


def time_steps(sa: np.ndarray, sb: np.ndarray, unit: float, mode: str) -> np.ndarray:
    """The time from b to a in units: exact, whole units elapsed, or calendar days."""
    if mode == "days":
        return np.floor(sa / 86400.0) - np.floor(sb / 86400.0)
    q = (sa - sb) / unit
    return np.floor(q + 1e-9) if mode == "floor" else q


def _screen_times(
    y: np.ndarray,
    sa: np.ndarray,
    sb: np.ndarray,
    idx: np.ndarray,
    ways: list[tuple[float, str]],
    dec: int,
    n: int,
) -> list[bool]:
    """Per (unit, mode) of ``ways``, whether it passes ``_check_time``'s screen on the first
    SCREEN rows: all ways at once, the same numbers. One way at a time, the screen of every number
    against every pair of times made a 300-column table's fit cubic in Python calls."""
    head = idx[:SCREEN]
    ya, ha, hb = y[head], sa[head], sb[head]
    # time_steps of every way, in the same float operations.
    units = np.array([[unit] for unit, _ in ways])
    modes = np.array([[mode] for _, mode in ways])
    q = (ha - hb)[None, :] / units
    days = np.floor(ha / 86400.0) - np.floor(hb / 86400.0)
    steps = np.where(modes == "days", days[None, :], np.where(modes == "floor", np.floor(q + 1e-9), q))
    gaps = ya[None, :] - steps
    offsets = np.round(np.median(gaps, axis=1))
    misses = (np.abs(gaps - offsets[:, None]) > _tolerance(dec)).sum(axis=1)
    return [bool(o in (-1.0, 0.0, 1.0) and m <= allowed(n)) for o, m in zip(offsets, misses, strict=True)]


def _check_time(
    c: str,
    a: str,
    b: str,
    y: np.ndarray,
    sa: np.ndarray,
    sb: np.ndarray,
    idx: np.ndarray,
    unit: float,
    mode: str,
    dec: int,
    n: int,
) -> int | None:
    """The constant offset (0, 1 or -1) if c = steps(a - b) + offset on the rows idx, else None."""
    tol = _tolerance(dec)
    head = idx[:SCREEN]
    q = time_steps(sa[head], sb[head], unit, mode)
    offset = round(float(np.median(y[head] - q)))
    if offset not in (-1, 0, 1) or int((np.abs(y[head] - q - offset) > tol).sum()) > allowed(n):
        return None
    q = time_steps(sa[idx], sb[idx], unit, mode)
    if len(np.unique(q[:5000])) < 2 or int((np.abs(y[idx] - q - offset) > tol).sum()) > allowed(n):
        return None
    return offset


def _number_difference(
    c: str, numbers: dict[str, np.ndarray], pool: list[str], decimals: dict[str, int], op: str
) -> Difference | None:
    """c = a + b (or a - b) on all rows but the tolerated few, c known only where a and b are."""
    y = numbers[c]
    c_known = ~np.isnan(y)
    dec = decimals.get(c, 0)
    tol = _tolerance(dec)
    for i, a in enumerate(pool):
        for j, b in enumerate(pool):
            if a == b or (op == "+" and j < i):  # a + b is b + a
                continue
            xa, xb = numbers[a], numbers[b]
            ab = ~np.isnan(xa) & ~np.isnan(xb)
            rows = c_known & ab
            n = int(rows.sum())
            if n < MIN_SUPPORT or int((c_known & ~ab).sum()) > allowed(int(c_known.sum())):
                continue
            idx = np.flatnonzero(rows)
            head = idx[:SCREEN]
            calc = xa[head] + xb[head] if op == "+" else xa[head] - xb[head]
            if int((np.abs(y[head] - calc) > tol + 1e-9 * np.abs(y[head])).sum()) > allowed(n):
                continue
            calc = xa[idx] + xb[idx] if op == "+" else xa[idx] - xb[idx]
            if int((np.abs(y[idx] - calc) > tol + 1e-9 * np.abs(y[idx])).sum()) > allowed(n):
                continue
            # Both terms must matter: a sum with a column that is nearly always 0 is an equality.
            if int(((xa[idx] != 0) & (xb[idx] != 0)).sum()) < MIN_SUPPORT:
                continue
            blank = float((ab & ~c_known).sum() / max(int(ab.sum()), 1))
            return Difference(c, a, b, op, 1.0, "exact", 0, dec, False, blank)
    return None


def difference_values(rel: Difference, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The derived column from a and b (seconds for dates, numbers otherwise); NaN where unknown."""
    if rel.dates:
        out = time_steps(a, b, rel.unit, rel.mode) + rel.offset
    elif rel.op == "*":
        return round_half_up(a * rel.unit, rel.decimals)
    else:
        out = a + b if rel.op == "+" else a - b
    return np.round(out, rel.decimals)


def solve_for_a(rel: Difference, value: np.ndarray, b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """The a that gives the derived column ``value`` (to move a when value had to change)."""
    if not rel.dates:
        if rel.op == "*":
            return value / rel.unit
        return value - b if rel.op == "+" else value + b
    steps = value - rel.offset
    if rel.mode == "days":
        return a + (steps - (np.floor(a / 86400.0) - np.floor(b / 86400.0))) * 86400.0
    return b + steps * rel.unit


# -- calendar dates ----------------------------------------------------------------------------
def find_calendars(numbers: dict[str, np.ndarray], targets: set[str]) -> list[Calendar]:
    """Year/month/day columns named alike (year_of_birth, month_of_birth, day_of_birth) that always
    make a valid date, so a sampled 31 November is moved to the month's last day."""
    out = []
    for m in numbers:
        low = m.lower()
        if "month" not in low:
            continue
        d = next((x for x in numbers if x.lower() == low.replace("month", "day") and x in targets), None)
        if d is None:
            continue
        y = next((x for x in numbers if x.lower() == low.replace("month", "year")), None)
        mv, dv = numbers[m], numbers[d]
        yv = numbers[y] if y is not None else np.full(len(mv), 2000.0)  # a leap year: 29 Feb is valid
        rows = ~np.isnan(mv) & ~np.isnan(dv) & ~np.isnan(yv)
        if int(rows.sum()) < MIN_SUPPORT:
            continue
        last = month_days(yv[rows], mv[rows])
        ok = (mv[rows] >= 1) & (mv[rows] <= 12) & (dv[rows] >= 1) & (dv[rows] <= last)
        if int((~ok).sum()) <= allowed(int(rows.sum())) and np.nanmax(dv[rows]) >= 28:
            out.append(Calendar(y, m, d))
    return out


def month_days(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Days in each month (NaN for an impossible month)."""
    y = np.nan_to_num(year, nan=2000).astype(np.int64)
    m = np.nan_to_num(month, nan=1).astype(np.int64)
    ok = (m >= 1) & (m <= 12)
    m = np.clip(m, 1, 12)
    first = (y - 1970) * 12 + (m - 1)
    days = (
        (first + 1).astype("datetime64[M]").astype("datetime64[D]")
        - first.astype("datetime64[M]").astype("datetime64[D]")
    ).astype(np.int64)
    return np.where(ok, days, np.nan)


# -- orders through related rows ---------------------------------------------------------------
def order_between(x: np.ndarray, y: np.ndarray, *, death: bool = False, day: bool = False) -> str | None:
    """'>=' if x >= y on the rows where both are known, '<=' if x <= y, '=' if x = y (within the
    tolerance).

    ``y`` is the time of a related row, so the order must rest on MIN_SUPPORT distinct values of
    it, not only on MIN_SUPPORT rows: 1,400 rentals all returned before the one last_update of a
    2-row staff table is a coincidence (that constant, drawn again anywhere in its decade, then
    pinned every return date to its rental date). '=' is both orders: a payment dated with its
    rental through a key that may be NULL (no repeat of the rental's value is learned then, and
    neither order held strictly: 842 of 2,868 payments came out before their rental).

    ``day``: y is a date, so x <= y means x falls on that day or before (a discharge at 14:00 on
    the day of death). Nothing is dated after a death: that order needs MIN_NAMED rows only.
    """
    both = ~np.isnan(x) & ~np.isnan(y)
    n = int(both.sum())
    xs, ys = x[both], y[both]
    below = np.floor(xs / 86400.0) * 86400.0 if day else xs
    if n < MIN_SUPPORT or not enough_values(ys):
        if not death or n < MIN_NAMED:
            return None
        return "<=" if bool(np.all(below <= ys)) else None
    if int((xs < ys).sum()) <= allowed(n) and np.any(xs > ys):
        return ">="
    if int((below > ys).sum()) <= allowed(n) and np.any(below < ys):
        return "<="
    if not day and int((xs != ys).sum()) <= allowed(n):
        return "="
    return None


def enough_values(y: np.ndarray, least: int = MIN_SUPPORT) -> bool:
    """Does y (no NaN) hold ``least`` distinct values? A prefix settles most columns."""
    if len(np.unique(y[: 4 * least])) >= least:
        return True
    return len(np.unique(y)) >= least


def upper_bound(x: np.ndarray, y: np.ndarray, day: bool) -> np.ndarray:
    """The latest x may be given a bound y: y itself, or (y a date) the same time on that day."""
    return date_bound(x, y, "<=") if day else y


def date_bound(x: np.ndarray, y: np.ndarray, op: str) -> np.ndarray:
    """The bound that keeps date(x) op y ('>=' a lower bound, '<=' an upper one), moving x by whole
    days so its time of day stays (an admission moved to the day it must not precede keeps its
    hour); -inf or inf where the order already holds or y is unknown."""
    day = np.floor(x / 86400.0) * 86400.0
    if op == ">=":
        least = np.ceil(y / 86400.0) * 86400.0
        return np.where(day < least, least + (x - day), -np.inf)
    most = np.floor(y / 86400.0) * 86400.0
    return np.where(day > most, most + (x - day), np.inf)


# -- children exist ----------------------------------------------------------------------------
def find_existence(flag: pd.Series, counts: np.ndarray) -> tuple[Any, Any] | None:
    """(value with children, value without) if a two-valued, never NULL column says whether each
    row has children; None otherwise."""
    from relsynth.model.relations import _plain, comparable

    n = len(flag)
    if n < MIN_SUPPORT or flag.isna().any():
        return None
    has = np.asarray(counts) > 0
    if int(has.sum()) < MIN_SIDE or int((~has).sum()) < MIN_SIDE:
        return None
    codes, levels = pd.factorize(comparable(flag))
    if len(levels) != 2:
        return None
    for present in (0, 1):
        if int(((codes == present) != has).sum()) <= allowed(n):
            first = flag.to_numpy(dtype=object)
            return (
                _plain(first[np.argmax(codes == present)]),
                _plain(first[np.argmax(codes != present)]),
            )
    return None


# -- intervals that never overlap --------------------------------------------------------------
def overlaps(key: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[int, int]:
    """(consecutive pairs of intervals of one key, how many of them overlap); a NULL end is open.

    Sorted by start within each key, intervals never overlap exactly when each starts no earlier
    than the one before it ends.
    """
    ok = (key >= 0) & ~np.isnan(start)
    k, s = key[ok], start[ok]
    e = np.where(np.isnan(end[ok]), np.inf, end[ok])
    order = np.lexsort((e, s, k))
    k, s, e = k[order], s[order], e[order]
    same = k[1:] == k[:-1]
    return int(same.sum()), int((same & (s[1:] < e[:-1])).sum())


def never_overlap(key: np.ndarray, start: np.ndarray, end: np.ndarray) -> bool:
    """Do the intervals of each key never overlap, where overlaps would be common if keys were
    given to intervals at random (so sparse data proves nothing)?"""
    ends = ~np.isnan(end)
    both = ~np.isnan(start) & ends
    if int((end[both] < start[both]).sum()) > allowed(int(both.sum())):
        return False
    pairs, bad = overlaps(key, start, end)
    if pairs < MIN_SUPPORT or bad > allowed(pairs):
        return False
    shuffled = np.random.default_rng(0).permutation(key)
    _, chance = overlaps(shuffled, start, end)
    return chance >= max(MIN_SUPPORT // 2, 10 * max(bad, 1))


def isotonic(y: np.ndarray) -> np.ndarray:
    """The non-decreasing sequence nearest to y (least squares; pool adjacent violators)."""
    values: list[float] = []
    weights: list[int] = []
    for v in y.tolist():
        values.append(v)
        weights.append(1)
        while len(values) > 1 and values[-2] > values[-1]:
            v2, w2 = values.pop(), weights.pop()
            values[-1] = (values[-1] * weights[-1] + v2 * w2) / (weights[-1] + w2)
            weights[-1] += w2
    return np.repeat(np.array(values), weights)


@dataclass
class Windows:
    """Where each row's interval may lie: the bounds its relations set on the start and on the end
    (-inf/inf where none: a birth, a hiring, a death), and the columns' learned ranges, which give
    way only where the relations leave no room inside them."""

    start_lo: np.ndarray
    start_hi: np.ndarray
    end_lo: np.ndarray
    end_hi: np.ndarray
    start_range: tuple[float, float] = (-np.inf, np.inf)
    end_range: tuple[float, float] = (-np.inf, np.inf)

    @classmethod
    def unbounded(cls, n: int) -> Windows:
        return cls(np.full(n, -np.inf), np.full(n, np.inf), np.full(n, -np.inf), np.full(n, np.inf))


@dataclass
class Placement:
    """Placed starts and ends, and the rows that had to give: a duration cut (never below the
    source's shortest) to fit between bounds, a date outside its column's learned range because a
    relation forced it there, or a bound still broken because the bounds cross."""

    start: np.ndarray
    end: np.ndarray
    shortened: np.ndarray
    outside: np.ndarray
    unfit: np.ndarray


def _last_per_group(gid: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The last row of each group among the rows in mask (rows sorted by group)."""
    out = np.zeros(len(gid), dtype=bool)
    idx = np.flatnonzero(mask)[::-1]
    if len(idx):
        _, first = np.unique(gid[idx], return_index=True)
        out[idx[first]] = True
    return out


def followed_open(key: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Open intervals (NULL end) with a later open one of the same key: with ``close``, place()
    closes these and keeps each key's last open one open."""
    ok = (key >= 0) & ~np.isnan(start) & np.isnan(end)
    out = np.zeros(len(start), dtype=bool)
    rows = np.flatnonzero(ok)
    if len(rows) < 2:
        return out
    rows = rows[np.lexsort((start[rows], key[rows]))]
    gid = np.cumsum(np.r_[True, key[rows][1:] != key[rows][:-1]]) - 1
    out[rows] = ~_last_per_group(gid, np.ones(len(rows), dtype=bool))
    return out


def _schedule(t: np.ndarray, d: np.ndarray, lo: np.ndarray, hi: np.ndarray, step: float) -> np.ndarray | None:
    """The starts nearest to t (least squares) with each start at least the duration before it
    after the previous one and within [lo, hi]; None if no such starts exist.

    With u = start - (durations before it), the intervals never overlap exactly when u does not
    decrease; the bounds on u then are non-decreasing too (cumulative max and min), so the
    isotonic regression of t clipped to them is the answer, and none exists where they cross.
    """
    before = np.r_[0.0, np.cumsum(d)[:-1]]
    low = np.maximum.accumulate(lo - before)
    high = np.minimum.accumulate((hi - before)[::-1])[::-1]
    if np.any(low > high + 1e-3 * step):  # both on the step's grid: crossed by a step at least
        return None
    u = np.round(isotonic(t - before) / step) * step
    s = np.minimum(np.maximum(u, low), high) + before
    for j in range(1, len(s)):  # float rounding (sub-second steps) may leave a sliver: push forward
        s[j] = max(s[j], s[j - 1] + d[j - 1])
    return s


def place(
    key: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    step: float,
    *,
    close: bool = True,
    fill: np.ndarray | None = None,
    span: tuple[float, float] = (0.0, np.inf),
    windows: Windows | None = None,
) -> Placement:
    """Each key's intervals in sequence, none overlapping, each within its windows and keeping
    its duration (kept within the source's ``span``), starts moved as little as possible (least
    squares) and kept on the column's resolution ``step``.

    An open interval (NULL end) is still going on. With ``close``, a key's last open interval
    (by start) stays open and goes last, and any other is closed with its ``fill`` duration (drawn
    like the source's; the median closed duration where none is given), never at the next start:
    that gap may be years. Without ``close`` (a status says the end is NULL) all stay open and go
    last; a key with two cannot avoid an overlap and its earlier ones are counted unfit.

    Where a key's intervals cannot all fit, in this order: durations are cut toward the source's
    shortest (as little as needed, the same share for each); then the columns' learned ranges
    give way to the relations' bounds (durations full again, then cut); then, the bounds crossing
    even so, upper bounds (a death) give way to lower ones (a birth, a hiring) and to no overlap,
    as clipping does where bounds cross. Each is counted in the Placement.
    """
    n = len(start)
    s, e = start.astype(float), end.astype(float)
    out = Placement(s, e, np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool))
    ok = (key >= 0) & ~np.isnan(start)
    if not ok.any():
        return out
    w = windows or Windows.unbounded(n)
    shortest, longest = max(float(span[0]), 0.0), float(span[1])
    rows = np.flatnonzero(ok)
    rows = rows[np.lexsort((start[rows], key[rows]))]
    gid = np.cumsum(np.r_[True, key[rows][1:] != key[rows][:-1]]) - 1
    is_open = np.isnan(end[rows])
    kept = is_open & (_last_per_group(gid, is_open) if close else True)
    order = np.lexsort((start[rows], kept, gid))  # stays-open intervals go last
    rows, gid, is_open, kept = rows[order], gid[order], is_open[order], kept[order]
    closing = is_open & ~kept

    t = start[rows]
    now = end[rows] - t
    d = np.clip(np.where(is_open, 0.0, now), shortest, longest)
    if closing.any():
        drawn = fill[rows] if fill is not None else np.full(len(rows), np.nan)
        closed = now[~is_open]
        typical = float(np.median(np.clip(closed, shortest, longest))) if len(closed) else shortest
        d = np.where(closing, np.clip(np.where(np.isnan(drawn), typical, drawn), shortest, longest), d)
    d = np.where(kept, 0.0, np.round(d / step) * step)

    tol = max(1e-3 * step, 1e-6)  # well above float noise in seconds since 1970, below a step
    lo, hi = _window(w, rows, kept, d, step, ranged=True)
    same = np.r_[False, gid[1:] == gid[:-1]]
    overlap = same & (t < np.r_[-np.inf, (t + d)[:-1]] - tol)
    twice = kept & same & np.r_[False, kept[:-1]]  # a key's two open ones kept open: one overlaps
    needs = closing | overlap | twice | (t < lo - tol) | (t > hi + tol)
    needs |= ~is_open & (np.abs(now - d) > tol)
    edges = np.flatnonzero(np.r_[True, gid[1:] != gid[:-1], True])
    for g in np.flatnonzero(np.bincount(gid, weights=needs.astype(float)) > 0):
        a, b = edges[g], edges[g + 1]
        r, k = rows[a:b], kept[a:b]
        new, dur = _fit_group(w, r, k, t[a:b], d[a:b], shortest, step)
        ends = np.where(k, np.nan, new + dur)
        s[r], e[r] = new, ends
        out.shortened[r] = ~k & (dur < d[a:b] - tol)
        outside = (new < w.start_range[0] - tol) | (new > w.start_range[1] + tol)
        out.outside[r] = outside | (~k & ((ends < w.end_range[0] - tol) | (ends > w.end_range[1] + tol)))
        unfit = (new < w.start_lo[r] - tol) | (new > w.start_hi[r] + tol) | twice[a:b]
        out.unfit[r] = unfit | (~k & ((ends < w.end_lo[r] - tol) | (ends > w.end_hi[r] + tol)))
    return out


def _window(
    w: Windows,
    rows: np.ndarray,
    kept: np.ndarray,
    dur: np.ndarray,
    step: float,
    *,
    ranged: bool,
    upper: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds on the rows' starts given their durations: the start's own and the end's (less the
    duration; none for an interval that stays open), with the learned ranges or without; on the
    step's grid, so that starts placed within them keep their bounds exactly."""
    lo = np.fmax(w.start_lo[rows], np.where(kept, -np.inf, w.end_lo[rows] - dur))
    hi = np.fmin(w.start_hi[rows], np.where(kept, np.inf, w.end_hi[rows] - dur))
    if ranged:
        lo = np.fmax(lo, np.fmax(w.start_range[0], np.where(kept, -np.inf, w.end_range[0] - dur)))
        hi = np.fmin(hi, np.fmin(w.start_range[1], np.where(kept, np.inf, w.end_range[1] - dur)))
    if not upper:
        hi = np.full(len(lo), np.inf)
    return np.ceil(lo / step) * step, np.floor(hi / step) * step


def _fit_group(
    w: Windows,
    rows: np.ndarray,
    kept: np.ndarray,
    t: np.ndarray,
    d: np.ndarray,
    shortest: float,
    step: float,
) -> tuple[np.ndarray, np.ndarray]:
    """One key's starts and durations, giving way in place()'s order where they cannot all fit."""
    least = np.where(kept, 0.0, np.minimum(d, np.ceil(shortest / step) * step))  # never lengthened
    for ranged in (True, False):

        def starts(dur: np.ndarray, ranged: bool = ranged) -> np.ndarray | None:
            return _schedule(t, dur, *_window(w, rows, kept, dur, step, ranged=ranged), step)

        got = starts(d)
        if got is not None:
            return got, d
        best = starts(least)
        if best is None:
            continue
        fit, low, high = least, 0.0, 1.0
        for _ in range(12):  # the largest share of each duration above the shortest that fits
            mid = (low + high) / 2
            dur = least + np.floor((d - least) * mid / step) * step
            got = starts(dur)
            if got is None:
                high = mid
            else:
                low, fit, best = mid, dur, got
        return best, fit
    lo, hi = _window(w, rows, kept, least, step, ranged=False)
    return _crowded(t, least, lo, hi, kept, step), least


def _crowded(
    t: np.ndarray, d: np.ndarray, lo: np.ndarray, hi: np.ndarray, kept: np.ndarray, step: float
) -> np.ndarray:
    """Starts where no schedule keeps every bound: each as near its drawn time as its own window
    allows, then pushed later only as far as no overlap needs. Lower bounds always hold; an upper
    bound gives way only on the rows crowded past it (or whose own bounds cross). Dropped for every
    row of the key, one crowded ICU stay sent the chart events of all others past their stays' ends.
    A key's intervals kept open still go last."""
    want = np.where(lo <= hi, np.clip(t, lo, hi), lo)
    want = np.fmax(np.round(want / step) * step, lo)  # lo is on the grid (or -inf)
    order = np.lexsort((want, kept))
    dur = d[order]
    before = np.r_[0.0, np.cumsum(dur)[:-1]]
    placed = np.maximum.accumulate(want[order] - before) + before
    for j in range(1, len(placed)):  # float rounding (sub-second steps) may leave a sliver: push forward
        placed[j] = max(placed[j], placed[j - 1] + dur[j - 1])
    out = np.empty(len(t))
    out[order] = placed
    return out
