"""Sentinel dates: a far-off date that stands for "no date yet" (a current salary period ends on
9999-01-01, a row valid until 2999-12-31, a birth date of 1900-01-01 for "unknown").

Such a value is no point in time: modelled as one, it drags a column's quantiles across
centuries, and an interval ending there is placed as eight thousand years long, pushing the others
of its key out of range. It means what a NULL would, so the fit reads it as one (an open interval,
an unknown date) and the sampler writes the sentinel back wherever the column came out NULL. Only
in a column with no NULL of its own, so that the two never mix.

Dates a column's type holds but Python's cannot (PostgreSQL's 'infinity', '-infinity', BC dates,
years past 9999; MariaDB's zero dates) are read as the latest or earliest date Python holds
(read_special) and, common enough, kept as such a sentinel; else read as NULL for learning. One
line per column says which and what became of them, never a value.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
import pandas as pd

from relsynth.schema import Column, Kind, Schema, Table
from relsynth.sqltypes import INTEGER_TYPES, NUMBER_TYPES, STRING_TYPES
from relsynth.transform import SPECIAL_DATE_KINDS, date_bound, date_value, plain_dates, special_date

log = logging.getLogger("relsynth")

MIN_ROWS = 5  # a sentinel is a common value: a rare one is a person's date, not a convention
MIN_SHARE = 0.01
YEAR = 365.25 * 86400.0
# A value this far off the others (and FAR_SPREAD times further than they spread) is no one's date
# at any share of the rows: MIN_ROWS of them make it a sentinel (9999-01-01 ending the current one
# of 14 salary periods, 0.96% of the rows, beside 1985..2012).
FAR = 100 * YEAR
FAR_SPREAD = 3.0


def find(table: Table, frame: pd.DataFrame) -> dict[str, Any]:
    """The table's date columns that hold a sentinel, and its value (as read)."""
    from relsynth.model.exact_fit import protected
    from relsynth.model.fit import to_epoch_seconds_safe

    keep = protected(table)
    out: dict[str, Any] = {}
    for col in table.columns:
        if (
            col.name not in frame
            or col.name in keep
            or col.kind is not Kind.DATETIME
            or col.type.name not in {"date", "datetime", *STRING_TYPES}  # dates kept as text too
            or col.name in table.fk_columns()
        ):
            continue
        values = frame[col.name]
        if values.isna().any() or len(values) < MIN_ROWS:
            continue
        try:
            secs = to_epoch_seconds_safe(values, col.type.name in STRING_TYPES)
        except (TypeError, ValueError, OverflowError):
            continue
        value = _sentinel(secs)
        if value is not None:
            out[col.name] = values.iloc[int(np.flatnonzero(secs == value)[0])]
    return out


def _sentinel(secs: np.ndarray) -> float | None:
    """The extreme value, shared by enough rows, that lies further from the others than they
    spread (and at least a year): 9999-01-01 beside 1985..2002, not 2002-08-01 beside 2002-07-31.
    Enough rows: MIN_SHARE of them, or only MIN_ROWS for a value centuries off (FAR)."""
    if not len(secs) or np.isnan(secs).any():
        return None
    levels, counts = np.unique(secs, return_counts=True)
    if len(levels) < 3:
        return None
    for end, nxt, count in ((levels[-1], levels[-2], counts[-1]), (levels[0], levels[1], counts[0])):
        rest = levels[:-1] if end == levels[-1] else levels[1:]
        spread = float(rest[-1] - rest[0])
        gap = abs(end - nxt)
        far = gap > max(FAR_SPREAD * spread, FAR)
        if count >= (MIN_ROWS if far else max(MIN_ROWS, MIN_SHARE * len(secs))) and gap > max(spread, YEAR):
            return float(end)
    return None


def strip(
    schema: Schema, frames: dict[str, pd.DataFrame], rows: dict[str, dict[str, np.ndarray]] | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, Any]]]:
    """Frames with every sentinel read as NULL, and the sentinels found, per table. Dates Python
    cannot hold are read first (read_special): kept as a sentinel when they are one, else NULL.
    ``rows``: filled with the rows that held each sentinel (per table and column), so the caller
    can tell whose it is (one patient's 40 rows of 1999-12-31 are no sentinel to keep)."""
    found: dict[str, dict[str, Any]] = {}
    out = dict(frames)
    for name, frame in frames.items():
        if name not in schema.table_names or not len(frame):
            continue
        table = schema.table(name)
        frame = read_special(table, frame)
        sentinels = find(table, frame)
        special = frame.attrs.get(SPECIAL) or {}
        if special:
            frame = _settle(table, frame, special, sentinels)
        out[name] = frame
        if not sentinels:
            continue
        found[name] = sentinels
        frame = frame.copy()
        for col, value in sentinels.items():
            values = frame[col].astype(object).to_numpy(copy=True)
            hit = frame[col].astype(object).to_numpy() == value
            values[hit] = None
            frame[col] = values
            if rows is not None:
                rows.setdefault(name, {})[col] = hit
        out[name] = frame
    return out, found


# frame.attrs key: per column, how many values of each kind read_special read, the kinds it read as
# NULL, and the latest and earliest dates it read some as
# ({"counts": {kind: n}, "null": [kind], "latest": value, "earliest": value}).
SPECIAL = "relsynth.special_dates"
CHECKED = "relsynth.special_dates_read"  # the columns read_special has read
_MYSQL_TIMESTAMP = re.compile(r"TIMESTAMP(\(\d+\))?")  # 1970 to 2038: no room for a far date


def read_special(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with each value of a date or timestamp column that Python's dates cannot hold,
    or that is no date, read as what it can be represented by: 'infinity' and years past 9999 as
    the latest date the column's type holds, '-infinity', BC and zero dates as the earliest, a
    zero or impossible month or day as the nearest real date, other text as NULL (a zero date in
    a MySQL TIMESTAMP, whose range holds neither end, too). What was read how, per column, in
    ``frame.attrs[SPECIAL]``; a frame with none is returned as it is, its columns marked as read
    (``attrs[CHECKED]``: the fit does not read a million SQLite texts twice)."""
    done: dict[str, Any] = dict(frame.attrs.get(SPECIAL) or {})
    checked = set(frame.attrs.get(CHECKED) or ())
    columns: dict[str, np.ndarray] = {}
    for col in table.columns:
        if col.name not in frame or col.name in checked:
            continue
        if col.type.native == "ANY" and col.type.name == "text":
            objects = frame[col.name].to_numpy(dtype=object)
            columns[col.name] = any_as_text(objects)
            checked.add(col.name)
            blobs = sum(isinstance(v, bytes | bytearray | memoryview) for v in objects)
            if blobs:
                _count(done, col.name, {"blob": blobs}, {"blob"}, {})
            continue
        if col.type.name in INTEGER_TYPES and frame[col.name].dtype.kind == "f":
            infinite = np.isinf(frame[col.name].to_numpy(dtype=float))
            if infinite.any():  # SQLite keeps 1e999 in an INTEGER column as a REAL infinity
                checked.add(col.name)
                values = frame[col.name].to_numpy(dtype=float, copy=True)
                values[infinite] = np.nan
                columns[col.name] = values
                _count(done, col.name, {"inf": int(infinite.sum())}, {"inf"}, {})
                continue
        if col.type.name not in {"date", "datetime", *NUMBER_TYPES} or frame[col.name].dtype != object:
            continue
        checked.add(col.name)
        objects = frame[col.name].to_numpy(dtype=object)
        if col.type.name in NUMBER_TYPES:
            # A key's words ('AC10' among 1..300) are identities like its numbers: kept
            keyed = col.name in table.primary_key or col.name in table.fk_columns()
            read = None if keyed else _read_numbers(col, objects)
        else:
            read = _read_column(col, objects)
        if read is None:
            continue
        values, counts, nulls, bounds = read
        columns[col.name] = values
        _count(done, col.name, counts, nulls, bounds)
    if columns:
        frame = frame.assign(**{c: pd.Series(v, index=frame.index, dtype=object) for c, v in columns.items()})
        if done:
            frame.attrs[SPECIAL] = done
    frame.attrs[CHECKED] = tuple(sorted(checked))
    return frame


def _count(
    done: dict[str, Any], name: str, counts: dict[str, int], nulls: set[str], bounds: dict[str, Any]
) -> None:
    """Adds what was read of a column (a chunk's) to what earlier chunks read of it."""
    info = dict(done.get(name) or {"counts": {}, "null": [], "latest": None, "earliest": None})
    done[name] = info
    info["counts"] = {k: info["counts"].get(k, 0) + counts.get(k, 0) for k in {*info["counts"], *counts}}
    info["null"] = sorted({*info["null"], *nulls})
    info.update({k: v for k, v in bounds.items() if v is not None})


def _read_column(
    col: Column, objects: np.ndarray
) -> tuple[np.ndarray, dict[str, int], set[str], dict[str, Any]] | None:
    """read_special for one column: its values, the count of each kind read, the kinds read as
    NULL, and the bounds used."""
    if pd.api.types.infer_dtype(objects, skipna=True) in {"date", "datetime", "empty"}:
        return None  # the driver's dates and NULLs only, told in C (every value read goes by here)
    texts = np.fromiter((type(v) is str for v in objects), dtype=bool, count=len(objects))
    if not texts.any():
        return None
    at = np.flatnonzero(texts)
    codes, uniques = pd.factorize(objects[at])
    # A column of text (SQLite's) gets text; one of dates (the driver's) gets dates.
    as_text = len(at) == int(pd.notna(objects).sum())
    family, tz = col.type.name, bool(col.type.timezone)
    narrow = bool(_MYSQL_TIMESTAMP.fullmatch((col.type.native or "").strip().upper()))
    kinds: list[str | None] = [None] * len(uniques)
    nulls: set[str] = set()
    repl = np.empty(len(uniques), dtype=object)
    bounds: dict[str, Any] = {"latest": None, "earliest": None}
    for i in np.flatnonzero(~plain_dates(uniques)):  # the rest are dates pandas reads
        kind, nearest = special_date(str(uniques[i]))
        action = SPECIAL_DATE_KINDS[kind][1] if kind else ""
        if kind == "zero" and narrow:
            action = "null"
        if action == "nearest":
            repl[i] = nearest if as_text else date_value(str(nearest), family, timezone=tz)
            if repl[i] is None:
                kind, action = "text", "null"
        elif action in bounds:
            repl[i] = bounds[action] = date_bound(action, family, timezone=tz, text=as_text)
        if action == "null" and kind is not None:
            nulls.add(kind)
        kinds[i] = kind
    hit = np.array([k is not None for k in kinds], dtype=bool)
    if not hit.any():
        return None
    out = objects.copy()
    chosen = hit[codes]
    out[at[chosen]] = repl[codes[chosen]]
    per_code = np.bincount(codes, minlength=len(uniques))
    counts: dict[str, int] = {}
    for kind, n in zip(kinds, per_code, strict=True):
        if kind is not None:
            counts[kind] = counts.get(kind, 0) + int(n)
    return out, counts, nulls, bounds


def _read_numbers(
    col: Column, objects: np.ndarray
) -> tuple[np.ndarray, dict[str, int], set[str], dict[str, Any]] | None:
    """read_special for a number column of SQLite, which holds any text ('N/A' in an INTEGER
    column, the norm of a CSV import): a text spelling a number is read as that number, any other
    text as NULL ("words"), said in a note. Left to chance, a REAL column's words came out as
    numbers and an INTEGER column's as NULL, and neither was said."""
    if pd.api.types.infer_dtype(objects, skipna=True) not in {"string", "mixed", "mixed-integer"}:
        return None  # the driver's numbers (Decimal, int, float) and NULLs, told in C
    texts = np.fromiter((isinstance(v, str) for v in objects), dtype=bool, count=len(objects))
    if not texts.any():
        return None
    at = np.flatnonzero(texts)
    codes, uniques = pd.factorize(objects[at])
    whole = col.type.name in INTEGER_TYPES
    repl = np.empty(len(uniques), dtype=object)
    for i, text in enumerate(uniques):
        repl[i] = _number(str(text), whole)
    words = np.fromiter((v is None for v in repl), dtype=bool, count=len(repl))
    out = objects.copy()
    out[at] = repl[codes]
    n = int(words[codes].sum())
    counts, gaps = ({"words": n} if n else {}), at[words[codes]]
    if whole:  # 1e999 beside the words: a REAL infinity no integer holds
        infinite = np.flatnonzero([isinstance(v, float) and not np.isfinite(v) for v in out])
        if len(infinite):
            out[infinite] = None
            counts["inf"] = len(infinite)
            gaps = np.sort(np.concatenate([gaps, infinite]))
    if len(gaps) and not col.nullable:
        # NOT NULL: those rows take other rows' numbers (in a float column a NULL is read as the
        # source's NaN, a value: 'N/A' beside 1.5 came out as NaN, or broke the NOT NULL)
        held = np.flatnonzero(pd.notna(out))
        if len(held):
            out[gaps] = out[held[(np.arange(len(gaps)) * 7919) % len(held)]]
    return out, counts, set(counts), {"latest": None, "earliest": None}


def any_as_text(objects: np.ndarray) -> np.ndarray:
    """A SQLite ANY column's values as text, learned as a text column: a number as Python spells
    it (12, 0.1), which the writer gives back as that number (writer.py); blobs as NULL."""
    out = np.empty(len(objects), dtype=object)
    for i, v in enumerate(objects):
        if v is None or isinstance(v, bytes | bytearray | memoryview) or (isinstance(v, float) and v != v):
            out[i] = None
        else:
            out[i] = v if isinstance(v, str) else repr(v) if isinstance(v, float) else str(v)
    return out


def spelled_back(text: Any) -> Any:
    """The number a text of an ANY column was read from (any_as_text), else the text itself."""
    if not isinstance(text, str):
        return text
    if text in {"inf", "-inf"}:  # repr of SQLite's REAL infinities
        return float(text)
    if _WHOLE.fullmatch(text) and str(int(text)) == text:
        return int(text)
    if _DECIMAL.fullmatch(text):
        value = float(text)
        return value if repr(value) == text else text
    return text


def _number(text: str, whole: bool) -> Any:
    """The number a text spells (an int where it is whole and the column is), None if none
    ('nan', 'inf', '1_000' and '0x1F' are words: Python's float() would read them)."""
    s = text.strip()
    if whole and _WHOLE.fullmatch(s):
        return int(s)
    return float(s) if _DECIMAL.fullmatch(s) else None


_WHOLE = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _settle(
    table: Table, frame: pd.DataFrame, special: dict[str, Any], sentinels: dict[str, Any]
) -> pd.DataFrame:
    """What becomes of the dates read_special read: the latest or earliest date kept as the
    column's sentinel when it is one, as a value in a key (a relation never moves those), else
    read as NULL for learning. Says so, one line a column."""
    from relsynth.model.exact_fit import protected

    keep = protected(table) | table.fk_columns()
    frame = frame.copy()
    for name, info in special.items():
        if name not in frame or name not in table.column_names:
            continue
        col = table.column(name)
        counts = {k: n for k, n in (info.get("counts") or {}).items() if n}
        if not counts:
            continue
        nulls = [k for k in counts if k in set(info.get("null") or ())]
        sentinel = sentinels.get(name)
        said: list[str] = []
        bounds = {w: info[w] for w in ("latest", "earliest") if info.get(w) is not None}
        for which, value in bounds.items():
            kinds = [k for k in counts if SPECIAL_DATE_KINDS[k][1] == which and k not in nulls]
            if not kinds:
                continue
            if name in keep:
                said.append(f"{_words(kinds)} read as {_BOUND_WORDS[which]} (a key column: kept so)")
            elif sentinel is not None and _same(sentinel, value):
                said.append(
                    f"{_words(kinds)} read as {_BOUND_WORDS[which]}, kept as a sentinel date "
                    "(written there in about the same share)"
                )
            else:
                values = frame[name].to_numpy(dtype=object).copy()
                values[_equal(values, value)] = None
                frame[name] = pd.Series(values, index=frame.index, dtype=object)
                nulls += kinds
        near = [k for k in counts if SPECIAL_DATE_KINDS[k][1] == "nearest"]
        if near:
            said.append(f"{_words(near)} read as the nearest real date (a zero month or day as the first)")
        if nulls:
            if sentinel is not None:
                then = "written as the column's sentinel date"
            elif col.nullable:
                then = "written as NULL in about the same share"
            else:
                then = "the column is NOT NULL, so those rows get values drawn like its others"
            said.append(f"{_words(nulls)} read as NULL for learning, {then}")
        if said:
            log.warning("%s.%s: %s", table.name, name, "; ".join(said))
    return frame


def special_notes(table: str, special: dict[str, Any]) -> list[str]:
    """What read_special found in a sample (a schema's notes, before anything is learned): one
    line a column, naming kinds, never values."""
    out = []
    for name, info in special.items():
        counts = {k: n for k, n in (info.get("counts") or {}).items() if n}
        nulls = set(info.get("null") or ())
        said = []
        for which in ("latest", "earliest"):
            kinds = [k for k in counts if SPECIAL_DATE_KINDS[k][1] == which and k not in nulls]
            if kinds:
                said.append(
                    f"{_words(kinds)} read as {_BOUND_WORDS[which]} "
                    "(kept as a sentinel date where common, else NULL for learning)"
                )
        near = [k for k in counts if SPECIAL_DATE_KINDS[k][1] == "nearest"]
        if near:
            said.append(f"{_words(near)} read as the nearest real date")
        if nulls & set(counts):
            said.append(f"{_words(nulls & set(counts))} read as NULL for learning")
        if said:
            out.append(f"{table}.{name}: holds {'; '.join(said)}")
    return out


# relsynth's own values (date_bound), no source's: the note may say them
_BOUND_WORDS = {
    "latest": "the latest date Python holds (9999-12-31)",
    "earliest": "the earliest date Python holds (0001-01-01)",
}


def _words(kinds: Any) -> str:
    names = [SPECIAL_DATE_KINDS[k][0] for k in sorted(set(kinds), key=list(SPECIAL_DATE_KINDS).index)]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _equal(values: np.ndarray, value: Any) -> np.ndarray:
    return np.fromiter((_same(v, value) for v in values), dtype=bool, count=len(values))


def _same(a: Any, b: Any) -> bool:
    """Equal values of one type (a date is no datetime; an aware one no naive one)."""
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except TypeError:
        return False


def restore(frame: pd.DataFrame, sentinels: dict[str, Any]) -> None:
    """Write each sentinel where its column came out NULL."""
    for col, value in sentinels.items():
        if col in frame:
            values = frame[col].astype(object)
            frame[col] = values.where(values.notna(), value)
