"""What keeps synthetic values and rows off the source's own: built from the source, in memory,
and never saved.

A model file that held hashes of source records or values would let its holder test a guess
(a birth date, an e-mail) against the training data, salt or not: the salt sits beside them.
So the guards exist only while the source's rows are at hand: right after fitting (synthesize,
or fit and sample in one process), or rebuilt by reading the source again (`sample --source`).
A model loaded from a file without the source samples unguarded, and says so.

Each guard is a set of 8-byte keyed hashes under a key drawn from the operating system for this
process: compact for big tables, and meaningless outside it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from relsynth.model import natives
from relsynth.model.spec import ColumnSpec, Model
from relsynth.model.text import SourceGuard
from relsynth.model.values import exact_and_rounded_keys, unique_records

# A common first or last name may recur in the output (generated names come from name lists);
# an e-mail, a phone number, an address or a free-text value may not.
RECURRING_PII = frozenset({"first_name", "last_name"})


def attach(model: Model, frames: Mapping[str, pd.DataFrame]) -> None:
    """Build every guard of ``model`` from the source's ``frames`` (those it was fitted on)."""
    attach_chunks(model, ((name, frame) for name, frame in frames.items()))


def _hashed(spec: Any, table: Any) -> bool:
    """A column whose source values are hashed: generated values must equal none of them."""
    pii = table.column(spec.name).pii
    shaped_id = spec.how == "id" and spec.id_kind not in {"uuid", "integer"}  # "nick0017"
    return spec.how == "text" or shaped_id or (spec.how == "pii" and pii not in RECURRING_PII)


def guarded_columns(model: Model) -> dict[str, list[str]]:
    """Per table, the columns attach_chunks reads: a source streamed for the guards sends only
    these (TPC-H's lineitem: its keys stay in the database)."""
    out: dict[str, list[str]] = {}
    for name, tm in model.tables.items():
        if tm.role != "data":
            continue
        table = model.schema.table(name)
        cols = [s.name for s in tm.columns if _hashed(s, table) or s.how == "native"]
        cols += list(name_columns(model, name) or ()) + list(tm.record_columns or ())
        if cols:
            out[name] = list(dict.fromkeys(cols))
    return out


def attach_chunks(model: Model, chunks: Iterable[tuple[str, pd.DataFrame]]) -> None:
    """Build every guard from the source's rows, given a chunk of a table at a time (a model
    learned from a sample is guarded by every row of the source): only the hashes are kept."""
    key = os.urandom(16)
    values: dict[tuple[str, str], list[np.ndarray]] = {}  # (table, column) -> hashes per chunk
    natives_seen: dict[tuple[str, str], list[pd.Series]] = {}
    records: dict[str, list[np.ndarray]] = {}
    pairs_seen: dict[str, list[np.ndarray]] = {}  # table -> hashes of (first, last) name pairs
    for name, frame in chunks:
        tm = model.tables.get(name)
        if tm is None or tm.role != "data" or not len(frame):
            continue
        table = model.schema.table(name)
        for spec in tm.columns:
            if spec.name not in frame:
                continue
            if _hashed(spec, table):
                guard = SourceGuard.fit(frame[spec.name], key, fold=spec.how == "pii")
                values.setdefault((name, spec.name), []).append(guard.hashes)
            elif spec.how == "native":  # the strings inside JSON documents
                natives_seen.setdefault((name, spec.name), []).append(frame[spec.name])
        names = name_columns(model, name)
        if names is not None and all(c in frame for c in names):
            pairs = SourceGuard.fit(name_pairs(frame[names[0]], frame[names[1]]), key, fold=True)
            pairs_seen.setdefault(name, []).append(pairs.hashes)
        if tm.record_columns and all(c in frame for c in tm.record_columns):
            records.setdefault(name, []).append(exact_and_rounded_keys(table, frame, tm.record_columns))
    for (name, column), parts in values.items():
        spec = model.tables[name].column(column)
        spec.guard = SourceGuard.of(key, parts, fold=spec.how == "pii")
    for name, parts in pairs_seen.items():
        model.tables[name].name_columns = name_columns(model, name)
        model.tables[name].name_guard = SourceGuard.of(key, parts, fold=True)
    for (name, column), series in natives_seen.items():
        col = model.schema.table(name).column(column)
        model.tables[name].column(column).guard = natives.source_guard(
            col.type, pd.concat(series, ignore_index=True)
        )
    for name, parts in records.items():
        # A record held by a single row (to the last bit) is unique in the source; synthetic rows
        # are compared to 10 significant digits (values.record_keys).
        both = np.concatenate(parts, axis=1)
        unique = unique_records(both[0], both[1])
        digests = SourceGuard(key, np.empty(0, dtype=np.uint64)).digest(unique)
        model.tables[name].record_guard = SourceGuard(key, digests) if len(unique) else None
    model.guarded = True


def name_columns(model: Model, table: str) -> tuple[str, str] | None:
    """A table's generated first- and last-name columns: each name may recur, the pair of a
    source person may not."""
    tm = model.tables[table]
    pii = {c.name: c.pii for c in model.schema.table(table).columns}
    generated = [s.name for s in tm.columns if s.how == "pii"]
    first = next((c for c in generated if pii.get(c) == "first_name"), None)
    last = next((c for c in generated if pii.get(c) == "last_name"), None)
    return (first, last) if first and last else None


def name_pairs(first: pd.Series, last: pd.Series) -> pd.Series:
    """'first<US>last' per row, NULL where either is: what the name guard compares."""
    pair = first.astype(str).str.strip() + "\x1f" + last.astype(str).str.strip()
    return pair.where(first.notna().to_numpy() & last.notna().to_numpy())


def unguarded_tables(model: Model) -> list[str]:
    """Tables whose rows or generated values would be checked against the source, had it been given."""
    if model.guarded:
        return []
    return [
        name
        for name, tm in model.tables.items()
        if tm.role == "data" and (tm.record_columns or any(_checked(s) for s in tm.columns))
    ]


def _checked(spec: ColumnSpec) -> bool:
    json = spec.how == "native" and isinstance(spec.constant, dict) and spec.constant.get("family") == "json"
    return (
        spec.how in {"text", "pii"} or json or (spec.how == "id" and spec.id_kind not in {"uuid", "integer"})
    )
