"""Python values as JSON and back, for model files: dates, times, durations, bytes, UUIDs and tuples
are tagged so they come back as what they were. Plain JSON, so a model file never needs pickle.

Every value a source frame can hand over is covered, pandas' and numpy's own too: a pd.Timestamp
(a timestamptz or DATETIME a category fixes) was saved as type 'Timestamp', which the loader did
not know, and pd.NaT as 'NaTType' with iso 'NaT': the model file was refused as damaged."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd


def jsonable(v: Any) -> Any:
    """A Python value as JSON (dates, bytes, Decimals and tuples tagged so they come back)."""
    if isinstance(v, np.datetime64):  # .item() of a nanosecond one is an int
        v = pd.Timestamp(v) if not np.isnat(v) else None
    elif isinstance(v, np.timedelta64):
        v = pd.Timedelta(v) if not np.isnat(v) else None
    elif isinstance(v, np.generic):
        v = v.item()
    if v is None or v is pd.NaT or v is pd.NA:  # NULLs of pandas: NULL
        return None
    if isinstance(v, pd.Timestamp):  # nanoseconds and its zone kept; back as a pd.Timestamp
        return {"iso": v.isoformat(), "type": "Timestamp"}
    if isinstance(v, pd.Timedelta):
        return {"nanoseconds": int(v.value)}
    if isinstance(v, Decimal):
        v = float(v)  # a NaN one is NULL below
    if isinstance(v, float) and v != v:
        return None
    if isinstance(v, tuple):
        return {"tuple": [jsonable(x) for x in v]}
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    if isinstance(v, dt.datetime | dt.date | dt.time):  # a subclass's name is no type unjson knows
        kind = "datetime" if isinstance(v, dt.datetime) else "date" if isinstance(v, dt.date) else "time"
        return {"iso": v.isoformat(), "type": kind}
    if isinstance(v, dt.timedelta):
        return {"seconds": v.total_seconds()}
    if isinstance(v, bytes | bytearray | memoryview):
        return {"hex": bytes(v).hex()}
    if isinstance(v, uuid.UUID):  # PostgreSQL's uuid columns (a level of Synthea's claims: no save)
        return {"uuid": str(v)}
    return v


def unjson(v: Any) -> Any:
    """The value ``jsonable`` was given, back from its JSON form."""
    if isinstance(v, list):
        return [unjson(x) for x in v]
    if isinstance(v, dict):
        if "tuple" in v:
            return tuple(unjson(x) for x in v["tuple"])
        if "iso" in v:
            if v["type"] == "Timestamp":
                return pd.Timestamp(v["iso"])
            kinds: dict[str, type[dt.date] | type[dt.time]] = {
                "datetime": dt.datetime,
                "date": dt.date,
                "time": dt.time,
            }
            kind = kinds[v["type"]]
            return kind.fromisoformat(v["iso"])
        if "nanoseconds" in v:
            return pd.Timedelta(int(v["nanoseconds"]), unit="ns")
        if "seconds" in v:
            return dt.timedelta(seconds=v["seconds"])
        if "hex" in v:
            return bytes.fromhex(v["hex"])
        if "uuid" in v:
            return uuid.UUID(v["uuid"])
    return v
