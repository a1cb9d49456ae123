"""Python values as JSON and back, for model files: dates, times, durations, bytes, UUIDs and tuples
are tagged so they come back as what they were. Plain JSON, so a model file never needs pickle."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import numpy as np


def jsonable(v: Any) -> Any:
    """A Python value as JSON (dates, bytes, Decimals and tuples tagged so they come back)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, float) and v != v:
        return None
    if isinstance(v, tuple):
        return {"tuple": [jsonable(x) for x in v]}
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return {"iso": v.isoformat(), "type": type(v).__name__}
    if isinstance(v, dt.timedelta):
        return {"seconds": v.total_seconds()}
    if isinstance(v, bytes | memoryview):
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
            kinds: dict[str, type[dt.date] | type[dt.time]] = {
                "datetime": dt.datetime,
                "date": dt.date,
                "time": dt.time,
            }
            kind = kinds[v["type"]]
            return kind.fromisoformat(v["iso"])
        if "seconds" in v:
            return dt.timedelta(seconds=v["seconds"])
        if "hex" in v:
            return bytes.fromhex(v["hex"])
        if "uuid" in v:
            return uuid.UUID(v["uuid"])
    return v
