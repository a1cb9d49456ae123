"""Column values in the types of their SQL column: what sampled tables hold and what is written."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from relsynth.schema import SqlType
from relsynth.sqltypes import INTEGER_TYPES

EMPTY_VALUES: dict[str, Any] = {
    "json": "{}",
    "array": [],
    "binary": b"",
    "interval": dt.timedelta(0),
    "string": "",
    "text": "",
    "char": "",
}


def output_kind(t: SqlType) -> str:
    """int | float | bool | str | date | datetime | datetime_tz | time | uuid | object."""
    if t.name in INTEGER_TYPES:
        return "int"
    if t.name in {"float", "double", "numeric"}:
        return "float"
    if t.name == "boolean":
        return "bool"
    if t.name == "date":
        return "date"
    if t.name == "datetime":
        return "datetime_tz" if t.timezone else "datetime"
    if t.name == "time":
        return "time"
    if t.name == "uuid":
        return "uuid"
    if t.name in {"string", "char", "text", "enum", "set"}:
        return "str"
    return "object"


def coerce(values: Any, t: SqlType) -> pd.Series:
    """Values as the column's type: nullable integers, floats, booleans, dates, strings."""
    s = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    kind = output_kind(t)
    if kind == "int":
        num = pd.to_numeric(s, errors="coerce")
        return num.round().astype("Int64")
    if kind == "float":
        num = pd.to_numeric(s, errors="coerce").astype(float)
        return num.round(t.scale) if t.scale is not None else num
    if kind == "bool":
        return s.map(_to_bool).astype("boolean")
    if kind == "date":
        return s.map(
            lambda v: (
                v
                if v is None or (isinstance(v, dt.date) and not isinstance(v, dt.datetime))
                else (None if _isna(v) else pd.Timestamp(v).date())
            )
        )
    if kind in {"datetime", "datetime_tz"}:
        out = pd.to_datetime(
            s, utc=kind == "datetime_tz", format="ISO8601" if s.map(type).eq(str).any() else None
        )
        return out
    if kind in {"str", "uuid"}:
        return s.map(lambda v: None if _isna(v) else str(v)).astype(object)
    return s.astype(object)


def _isna(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _to_bool(v: Any) -> Any:
    if _isna(v):
        return None
    if isinstance(v, str):
        return v.strip().lower() in {"1", "t", "true", "y", "yes"}
    return bool(v)


def empty_value(t: SqlType) -> Any:
    """A valid non-NULL value for a NOT NULL column relsynth does not learn."""
    if t.name in EMPTY_VALUES:
        return EMPTY_VALUES[t.name]
    if t.name in INTEGER_TYPES or t.name in {"float", "double", "numeric"}:
        return 0
    if t.name == "boolean":
        return False
    if t.values:
        return t.values[0]
    return ""


def as_objects(s: pd.Series) -> np.ndarray:
    """Plain Python values (None for missing), for hashing, JSON and comparisons."""
    out = s.astype(object).to_numpy(copy=True)
    mask = pd.isna(s).to_numpy() if len(s) else np.zeros(0, dtype=bool)
    out[mask] = None
    return out
