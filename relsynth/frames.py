"""A Schema for DataFrames that never lived in a database, so the engine runs on pandas alone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import pandas as pd

from relsynth.profile import profile_table
from relsynth.schema import Column, ForeignKey, Schema, SqlType, Table


def _sql_type(values: pd.Series) -> SqlType:
    if pd.api.types.is_bool_dtype(values):
        return SqlType("boolean")
    if pd.api.types.is_integer_dtype(values):
        return SqlType("bigint")
    if pd.api.types.is_float_dtype(values):
        return SqlType("double")
    if pd.api.types.is_datetime64_any_dtype(values):
        return SqlType("datetime", timezone=getattr(values.dt, "tz", None) is not None)
    non_null = values.dropna()
    head = list(non_null.head(100))
    if head and all(isinstance(v, bool) for v in head):
        return SqlType("boolean")
    if head and all(isinstance(v, dt.datetime) for v in head):
        return SqlType("datetime", timezone=head[0].tzinfo is not None)
    if head and all(isinstance(v, dt.date) for v in head):
        return SqlType("date")
    return SqlType("text")


def _names(columns: str | Sequence[str]) -> tuple[str, ...]:
    """Column names; one name alone is one column, not its letters ('id' was 'i' and 'd')."""
    return (columns,) if isinstance(columns, str) else tuple(columns)


def schema_from_frames(
    frames: Mapping[str, pd.DataFrame],
    *,
    primary_keys: Mapping[str, str | Sequence[str]] | None = None,
    foreign_keys: Sequence[tuple[str, str | Sequence[str], str, str | Sequence[str]]] = (),
) -> Schema:
    """Tables, types and kinds from DataFrames; keys as given.

    ``foreign_keys``: (child table, child columns, parent table, parent columns) tuples. A key of
    one column may be given as its name ("id" for ["id"]).
    """
    primary_keys = primary_keys or {}
    tables = []
    for name, frame in frames.items():
        pk = _names(primary_keys.get(name, ()))
        fks = tuple(
            ForeignKey(f"fk_{child}_{'_'.join(_names(cols))}", _names(cols), parent, _names(ref))
            for child, cols, parent, ref in foreign_keys
            if child == name
        )
        cols = tuple(
            Column(c, _sql_type(frame[c]), nullable=c not in pk and bool(frame[c].isna().any()))
            for c in frame.columns
        )
        table = Table(name, cols, primary_key=pk, foreign_keys=fks, row_count=len(frame))
        tables.append(profile_table(table, frame.head(2000)))
    return Schema(tuple(tables), dialect="pandas")
