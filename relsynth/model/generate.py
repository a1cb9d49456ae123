"""Columns that never go through the copula: personal data (Faker, in the source's format), free
text and identifiers (shapes and vocabularies), constants; and the guard that moves a row off a
source record it equals by chance."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from relsynth.model import checks as ck
from relsynth.model import keys as kz
from relsynth.model import text_numbers
from relsynth.model.pii import PERSONAL, PeopleFactory, PiiModel, sex_flags
from relsynth.model.spec import ColumnSpec, Model, TableModel
from relsynth.model.text import SourceGuard, fresh
from relsynth.model.values import whole_numbers
from relsynth.schema import Table
from relsynth.sqltypes import NUMBER_TYPES
from relsynth.transform import learned_range

if TYPE_CHECKING:
    from relsynth.model.sample import SampleReport


def generated_columns(
    model: Model,
    tm: TableModel,
    table: Table,
    frame: pd.DataFrame,
    rng: np.random.Generator,
    report: SampleReport | None = None,
) -> None:
    """Fill the columns that are generated, not learned, so no source value is reused. A unique
    column whose type holds fewer distinct values than rows (a TINYINT, a CHAR(1)) keeps repeats,
    which the key check drops; the report says why."""
    n = len(frame)
    people: PeopleFactory | None = None
    repeated = {r.column for r in tm.repeats}
    for spec in tm.columns:
        if spec.how not in {"text", "id", "pii", "constant", "generated"} or spec.name in repeated:
            continue
        col = spec.name
        if spec.how == "generated":
            frame[col] = None
            continue
        if spec.how == "constant":
            frame[col] = [spec.constant] * n
            continue
        if spec.how == "pii" and spec.pii is not None:
            if people is None:
                seed = int(rng.integers(0, 2**31 - 1))
                people = PeopleFactory(model.schema.locale, seed, n, sex_flags(frame), rng)
                people.limits = personal_limits(
                    (str(sp.pii.category), table.column(sp.name).type.length)
                    for sp in tm.columns
                    if sp.how == "pii" and sp.pii is not None
                )
            if spec.unique and spec.pii.category not in PERSONAL:
                # A repeat is drawn again in the source's format: a number appended to it would
                # break that format (an MRN of 8 digits with a 9th, against a CHECK on its shape).
                draw = partial(people.draw, spec.pii)
                values = fresh(draw, n, rng, guard=spec.guard, unique=True, numbered=False)
            else:
                values = people.generate(spec.pii, rng)
                if spec.guard is not None:
                    values = people.avoid(spec.pii, values, spec.guard.copies, rng)
            if spec.unique:
                values = make_unique(values, rng, table.column(col).type.length)
        elif spec.how == "text":
            length = table.column(col).type.length
            generator = (
                (lambda k, r, v=spec.vocabulary, m=length: v.generate(k, r, m))
                if spec.vocabulary
                else spec.shapes.generate  # type: ignore[union-attr]
            )
            values = fresh(generator, n, rng, guard=spec.guard, unique=spec.unique)
        elif spec.id_kind == "uuid":
            values = kz.uuid_keys(n, rng)
        elif spec.id_kind == "integer":
            bounds = kz.integer_bounds(table.column(col).type)
            values = kz.integer_ids(n, spec.shapes, rng, unique=spec.unique, bounds=bounds)
        else:
            numeric = table.column(col).type.name in NUMBER_TYPES
            shapes = spec.shapes
            assert shapes is not None  # an id column of no uuid or integer kind has its shapes
            values = fresh(shapes.generate, n, rng, guard=spec.guard, unique=spec.unique, numeric=numeric)
        length = table.column(col).type.length
        values = fit_length(np.asarray(values, dtype=object), length, spec.unique, rng)
        if spec.guard is not None and spec.id_kind not in {"uuid", "integer"}:
            values = _off_source(values, spec, people, length, rng)
        if spec.null_share > 0 and (table.column(col).nullable or not spec.unique):
            # A NOT NULL float's "NULL" is the source's NaN, which a UNIQUE column holds once.
            values[rng.random(n) < spec.null_share] = None
        known = pd.Series(values).dropna()
        if spec.unique and report is not None and known.duplicated().any():
            report.narrow_keys.setdefault(table.name, {})[(col,)] = int(known.nunique())
        frame[col] = values
    _same_names(tm, table, frame, rng)
    if people is not None and tm.name_guard is not None and tm.name_columns is not None:
        _avoid_name_pairs(tm, table, frame, people, rng)


def _same_names(tm: TableModel, table: Table, frame: pd.DataFrame, rng: np.random.Generator) -> None:
    """A second name column (mothersname), drawn apart, takes the row's own name (fname) on the
    source's share of rows, where both are set and the name fits the column."""
    for spec in tm.columns:
        pii = spec.pii if spec.how == "pii" else None
        if pii is None or not pii.other or pii.same <= 0 or pii.own not in frame or spec.name not in frame:
            continue
        own = frame[pii.own].astype(object).to_numpy()
        values = frame[spec.name].astype(object).to_numpy(copy=True)
        length = table.column(spec.name).type.length
        fits = np.array([v is not None and v == v and (not length or len(str(v)) <= length) for v in own])
        take = fits & pd.notna(values) & (rng.random(len(values)) < pii.same)
        values[take] = own[take]
        frame[spec.name] = values


def _avoid_name_pairs(
    tm: TableModel, table: Table, frame: pd.DataFrame, people: PeopleFactory, rng: np.random.Generator
) -> None:
    """A generated person whose first and last name are a source person's (ignoring case) gets
    another last name: one of the pair may recur, both together may not."""
    from relsynth.model.guards import name_pairs

    first, last = tm.name_columns  # type: ignore[misc]
    guard = tm.name_guard
    assert guard is not None
    pool = people.last_pool
    length = table.column(last).type.length
    for _ in range(20):
        pairs = name_pairs(frame[first], frame[last])
        hit = np.flatnonzero(pairs.notna().to_numpy() & guard.copies(pairs.fillna("").to_numpy()))
        if not len(hit):
            return
        values = frame[last].astype(object).to_numpy(copy=True)
        values[hit] = fit_length(pool[rng.integers(0, len(pool), len(hit))], length, False, rng)
        frame[last] = values


_LIMITED = {"first_name": "first", "last_name": "last", "person_name": "full", "email": "email"}


def personal_limits(columns: Iterable[tuple[str, int | None]]) -> dict[str, int]:
    """The tightest declared length per kind of name (PeopleFactory.limits), from (category,
    length) of a table's personal columns: names and e-mails are made to fit, not cut."""
    out: dict[str, int] = {}
    for category, length in columns:
        kind = _LIMITED.get(category)
        if kind and length:
            out[kind] = min(out.get(kind, length), length)
    return out


def reference_personal(
    table: Table, frame: pd.DataFrame, locale: str, rng: np.random.Generator, keep: set[str]
) -> dict[str, list[Any]]:
    """Personal data in a reference table (a shipper's phone, a code list's contact person): the
    table is kept as it is but for these columns, generated as in any table and kept off the
    source's values right here, while they are at hand (the guard dies with this call). Columns
    that other tables' foreign keys point at (``keep``) stay, or those keys would point nowhere."""
    cols = [c for c in table.columns if c.pii and c.name in frame and c.name not in keep]
    if not cols or not len(frame):
        return {}
    people = PeopleFactory(locale, int(rng.integers(0, 2**31 - 1)), len(frame), sex_flags(frame), rng)
    people.limits = personal_limits((str(c.pii), c.type.length) for c in cols)
    key = os.urandom(16)
    unique = {u.columns[0] for u in table.unique if len(u.columns) == 1} | {
        ix.columns[0] for ix in table.indexes if ix.unique and len(ix.columns) == 1 and not ix.expressions
    }
    out: dict[str, list[Any]] = {}
    for col in cols:
        source = frame[col.name].reset_index(drop=True)
        model = PiiModel.fit(str(col.pii), source, unique=col.name in unique)
        guard = SourceGuard.fit(source, key, fold=True)
        values = people.avoid(model, people.generate(model, rng), guard.copies, rng)
        if model.unique:
            values = make_unique(values, rng, col.type.length)
        values = fit_length(np.asarray(values, dtype=object), col.type.length, model.unique, rng)
        values[source.isna().to_numpy()] = None
        out[col.name] = list(values)
    return out


def record_copies(tm: TableModel, table: Table, frame: pd.DataFrame) -> np.ndarray:
    """Rows equal to a source record unique on the record's columns (checked in memory)."""
    if tm.record_guard is None or not tm.record_columns or not len(frame):
        return np.zeros(len(frame), dtype=bool)
    return _record_hits(tm, table, frame)


def _record_hits(tm: TableModel, table: Table, frame: pd.DataFrame) -> np.ndarray:
    """Rows equal to a unique source record: the whole record (the evaluation's), or its columns
    the engine does not generate afresh (guards.record_parts)."""
    from relsynth.model.guards import record_parts
    from relsynth.model.values import record_keys

    assert tm.record_guard is not None
    hit = np.zeros(len(frame), dtype=bool)
    for columns in record_parts(tm):
        hit |= np.asarray(tm.record_guard.copies(record_keys(table, frame, columns).to_numpy()), dtype=bool)
    return hit


def avoid_records(
    tm: TableModel,
    table: Table,
    frame: pd.DataFrame,
    rng: np.random.Generator,
    report: SampleReport,
    *,
    sign: int | None = None,
    rounds: int = 8,
    floor: np.ndarray | None = None,
) -> bool:
    """No synthetic row may equal a source record that is unique on the modelled columns: such a
    row is moved one step (a day, a unit, a cent) on its most varied column, or given another
    category, until it matches no such record. ``floor``: the seconds each row's time may not go
    below (its anchor's day): a step there goes the other way, as one breaking a CHECK does."""
    if tm.record_guard is None or not tm.record_columns or not len(frame):
        return False
    if tm.record_nudge is None:  # nothing can move them: said in the report, not hidden
        hit = _record_hits(tm, table, frame)
        if hit.any():
            report.unmoved_records[table.name] = int(hit.sum())
        else:
            report.unmoved_records.pop(table.name, None)
        return False
    col = tm.record_nudge
    moved = False
    for _ in range(rounds):
        hit = _record_hits(tm, table, frame)
        if not hit.any():
            return moved
        moved = True
        values = frame[col].astype(object).to_numpy(copy=True)
        rows = np.flatnonzero(hit)
        step = rng.choice([-1, 1], size=len(rows)) if sign is None else np.full(len(rows), sign)
        spec = tm.column(col)
        dim = next((d for d in tm.dims if d.column == col and d.role == "value"), None)
        old = values.copy()
        whole = whole_numbers(table.column(col).type)  # compared exactly (values.record_keys)
        numbers = next((t for t in tm.text_numbers if t.column == col), None)
        if numbers is not None:  # a number drawn again for its row's level (model/text_numbers.py)
            values = text_numbers.redraw(numbers, frame, rows, rng, table.column(col).type.length)
        elif _redrawn(spec):  # a JSON document (an audit log's detail): drawn again from its model
            values[rows] = _redraw(spec, old, rows, rng)
        else:
            for r, sgn in zip(rows, step, strict=True):
                values[r] = nudge_value(values[r], int(sgn), spec, dim, values, rng, whole=whole)
        # CHECKs come first: a move that breaks one goes the other way, or to a value drawn from
        # the column, or is not made (the rows stay hits, for the next round).
        checks = [c.sql for c in table.checks]
        for retry in (True, False, None):
            broken = ck.broken_by(checks, frame, col, values, rows, table.sql_dialect)
            if floor is not None:
                broken[rows] |= _below(values[rows], floor[rows]) & ~_below(old[rows], floor[rows])
            for r, sgn in zip(rows, step, strict=True):
                if broken[r]:
                    if retry is None:
                        values[r] = old[r]
                    elif retry and _redrawn(spec):
                        values[r] = _redraw(spec, old, np.array([r]), rng)[0]
                    elif retry:
                        values[r] = nudge_value(old[r], -int(sgn), spec, dim, values, rng, whole=whole)
                    else:
                        values[r] = values[rng.integers(0, len(values))]
        frame[col] = values
        rows = rows[~broken[rows]]
        moved_rows = report.moved_rows.setdefault(table.name, set())  # a row moved twice is one row
        moved_rows.update(frame.index[rows].tolist())
        report.moved_records[table.name] = len(moved_rows)
    return moved


def _below(values: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """Which times are before their floor (NULLs and values that are no times are not)."""
    from relsynth.model.exact_fit import seconds

    series = pd.Series(values, dtype=object)
    first = series.dropna().head(1).tolist()
    try:
        at = seconds(series, text=bool(first) and isinstance(first[0], str))
    except (TypeError, ValueError, OverflowError):
        return np.zeros(len(values), dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.asarray(at < floor, dtype=bool)


def _redrawn(spec: Any) -> bool:
    """A column of a native type (JSON, arrays, ranges): a row equal to a source record moves off
    it by a new draw of its value, not by a step."""
    return spec.how == "native" and isinstance(spec.constant, dict)


def _redraw(spec: Any, values: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """New values for ``rows`` of a native column from its model (natives.generate); a row
    whose value is NULL takes another row's value, as nudge_value moves a NULL (the column's
    share of NULLs holds, on average)."""
    from relsynth.model.natives import generate

    fresh = generate(spec.constant, len(rows), rng, guard=spec.guard)
    null = np.array([v is None or (isinstance(v, float) and v != v) for v in values[rows]], dtype=bool)
    if null.any():
        fresh[null] = values[rng.integers(0, len(values), size=int(null.sum()))]
    return fresh


def nudge_value(
    value: Any,
    sign: int,
    spec: Any,
    dim: Any,
    column: np.ndarray,
    rng: np.random.Generator,
    *,
    whole: bool = False,
) -> Any:
    """``value`` moved a step ``sign``wards within its learned range. ``whole``: an integer
    column, whose records compare exactly (values.record_keys): one unit moves it, where a step
    of a billionth of it (past 10 digits) left the learned range of 2,000 counters 3 apart."""
    import datetime as dt

    if value is None or (isinstance(value, float) and value != value):
        return column[rng.integers(0, len(column))]
    if isinstance(value, dt.date):
        daily = not isinstance(value, dt.datetime) or (
            dim is not None and getattr(dim.encoder, "resolution", "") == "day"
        )
        grain = float(getattr(dim.encoder, "grain", 0.0) or 0.0) if dim is not None else 0.0
        unit = dt.timedelta(days=1) if daily else dt.timedelta(seconds=max(1.0, grain))
        try:
            return value + sign * unit
        except (OverflowError, ValueError):  # past 9999-12-31 or before 0001-01-01: the other way
            return value - sign * unit
    if isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_):
        step = 10.0 ** -(spec.decimals or 0) if spec.decimals else 1
        size = abs(float(value))
        step = max(step, size - math.nextafter(size, 0.0))  # a step a float this large can take
        if not whole:  # and one a record key (10 significant digits) can tell apart
            step = max(step, size * 1e-9)
        if isinstance(value, int | np.integer):
            step = math.ceil(step)  # an integer stays an integer (exact above 2^53, as ints are)
        lo, hi = learned_range(dim.encoder) if dim is not None else (-np.inf, np.inf)
        if getattr(spec, "offset", None) is not None and dim is not None:  # learned less it (exact)
            lo = spec.offset + math.floor(lo) if math.isfinite(lo) else lo
            hi = spec.offset + math.ceil(hi) if math.isfinite(hi) else hi
        for moved in (value + sign * step, value - sign * step):  # the source's range holds (its type)
            if spec.decimals and not isinstance(moved, int | np.integer):
                # Back on the column's grid: 13.889999999 beside the 13.89 of every other row
                # marked the moved rows, and a step back gave the source record (attack, issue 11).
                moved = round(float(moved), int(spec.decimals))
            if lo <= moved <= hi:
                return moved
        return value
    return column[rng.integers(0, len(column))]  # a category: another one drawn from the column


def _off_source(
    values: np.ndarray,
    spec: ColumnSpec,
    people: PeopleFactory | None,
    length: int | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """The guard has the last word: a value that a cut to the column's length or a uniqueness
    number turned into a source value (MRN0012 + '345') is drawn again."""
    guard = spec.guard
    assert guard is not None
    for _ in range(10):
        bad = guard.copies(values)
        if not bad.any():
            break
        if spec.how == "pii" and people is not None and spec.pii is not None:
            values = people.avoid(spec.pii, values, guard.copies, rng)
        else:
            values = values.copy()
            if spec.vocabulary is not None:
                values[bad] = spec.vocabulary.generate(int(bad.sum()), rng, length)
            elif spec.shapes is not None:
                values[bad] = spec.shapes.generate(int(bad.sum()), rng)
        values = fit_length(np.asarray(values, dtype=object), length, spec.unique, rng)
    return values


SAME_SHAPE_TRIES = 40  # a repeated code's own last digits drawn again before a number is added


def _other_digits(text: str, tries: int, rng: np.random.Generator) -> str | None:
    """The text with its last digits drawn again (one more of them every ten tries, the last run
    of digits at most): MRN10012345 -> MRN10012871, same length and shape. None without digits."""
    places = [i for i, ch in enumerate(text) if ch.isascii() and ch.isdigit()]
    if not places:
        return None
    run = 1
    while run < len(places) and places[-run - 1] == places[-run] - 1:
        run += 1
    chars = list(text)
    for pos in places[-min(run, 2 + tries // 10) :]:
        chars[pos] = str(int(rng.integers(0, 10)))
    return "".join(chars)


def make_unique(
    values: np.ndarray,
    rng: np.random.Generator,
    length: int | None = None,
    taken: Callable[[Any], bool] | None = None,
) -> np.ndarray:
    """Repeated generated values get other last digits where they have digits (a code keeps its
    format: a CHECK on its shape holds), else, or when those are used up, a number (before the @ of
    an e-mail), so a UNIQUE holds; within
    a declared length the number replaces the last characters instead of lengthening the value, and
    where no number fits, a key string does (keys.fit_keys): never longer than the column.
    ``taken``: values that count as repeated too (an earlier batch's, model/batches.py)."""
    out = np.asarray(values, dtype=object).copy()
    seen: set[Any] = set()
    for i, v in enumerate(out):
        candidate = v
        tries = shaped = 0
        while candidate in seen or (taken is not None and candidate is not None and taken(candidate)):
            if shaped < SAME_SHAPE_TRIES and isinstance(v, str) and "@" not in v:
                shaped += 1
                other = _other_digits(v, shaped, rng)  # a code keeps its length and format
                if other is not None:
                    candidate = other
                    continue
                shaped = SAME_SHAPE_TRIES  # no digits: numbered at once
            tries += 1
            k = str(int(rng.integers(1, 10 ** min(3 + tries // 20, 9))))
            if length and len(k) > length:  # no room for a number: left repeated, fixed below
                break
            text = str(v)
            if "@" in text:
                local, _, domain = text.partition("@")
                if length:
                    local = local[: max(1, length - len(domain) - 1 - len(k))]
                candidate = f"{local}{k}@{domain}"
            elif length and len(text) + len(k) > length:
                candidate = text[: max(0, length - len(k))] + k
            else:
                candidate = text + k
        seen.add(candidate)
        out[i] = candidate
    return kz.fit_keys(out, length) if length else out


def fit_length(values: np.ndarray, length: int | None, unique: bool, rng: np.random.Generator) -> np.ndarray:
    """Generated strings cut to the column's declared length (VARCHAR(n), CHAR(n)), still unique."""
    if not length:
        return values
    if set(map(type, values)) <= {str}:  # generated text: only the long ones cut, lengths in C
        out = np.array(values, dtype=object)
        long = np.flatnonzero(np.fromiter(map(len, out), dtype=np.int64, count=len(out)) > length)
        out[long] = [v[:length] for v in out[long]]
    else:
        out = np.array(
            [v[:length] if isinstance(v, str) and len(v) > length else v for v in values], dtype=object
        )
    if unique and pd.Series(out).dropna().duplicated().any():
        out = make_unique(out, rng, length)
    return out
