"""Sentinel dates: a far-off date that stands for "no date yet" (a current salary period ends on
9999-01-01, a row valid until 2999-12-31, a birth date of 1900-01-01 for "unknown").

Such a value is no point in time: modelled as one, it drags a column's quantiles across
centuries, and an interval ending there is placed as eight thousand years long, pushing the others
of its key out of range. It means what a NULL would, so the fit reads it as one (an open interval,
an unknown date) and the sampler writes the sentinel back wherever the column came out NULL. Only
in a column with no NULL of its own, so that the two never mix.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from relsynth.schema import Kind, Schema, Table
from relsynth.sqltypes import STRING_TYPES

MIN_ROWS = 5  # a sentinel is a common value: a rare one is a person's date, not a convention
MIN_SHARE = 0.01
YEAR = 365.25 * 86400.0


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
    spread (and at least a year): 9999-01-01 beside 1985..2002, not 2002-08-01 beside 2002-07-31."""
    if not len(secs) or np.isnan(secs).any():
        return None
    levels, counts = np.unique(secs, return_counts=True)
    if len(levels) < 3:
        return None
    for end, nxt, count in ((levels[-1], levels[-2], counts[-1]), (levels[0], levels[1], counts[0])):
        rest = levels[:-1] if end == levels[-1] else levels[1:]
        spread = float(rest[-1] - rest[0])
        if count >= max(MIN_ROWS, MIN_SHARE * len(secs)) and abs(end - nxt) > max(spread, YEAR):
            return float(end)
    return None


def strip(
    schema: Schema, frames: dict[str, pd.DataFrame]
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, Any]]]:
    """Frames with every sentinel read as NULL, and the sentinels found, per table."""
    found: dict[str, dict[str, Any]] = {}
    out = dict(frames)
    for name, frame in frames.items():
        if name not in schema.table_names or not len(frame):
            continue
        sentinels = find(schema.table(name), frame)
        if not sentinels:
            continue
        found[name] = sentinels
        frame = frame.copy()
        for col, value in sentinels.items():
            values = frame[col].astype(object).to_numpy(copy=True)
            values[frame[col].astype(object).to_numpy() == value] = None
            frame[col] = values
        out[name] = frame
    return out, found


def restore(frame: pd.DataFrame, sentinels: dict[str, Any]) -> None:
    """Write each sentinel where its column came out NULL."""
    for col, value in sentinels.items():
        if col in frame:
            values = frame[col].astype(object)
            frame[col] = values.where(values.notna(), value)
