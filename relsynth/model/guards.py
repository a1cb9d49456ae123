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
from relsynth.model.hashsets import HashCollector
from relsynth.model.spec import ColumnSpec, Model
from relsynth.model.text import SourceGuard
from relsynth.model.values import exact_and_rounded_keys
from relsynth.sqltypes import learned_type

# A common first or last name may recur in the output (generated names come from name lists);
# an e-mail, a phone number, an address or a free-text value may not.
RECURRING_PII = frozenset({"first_name", "last_name"})


def attach(model: Model, frames: Mapping[str, pd.DataFrame]) -> None:
    """Build every guard of ``model`` from the source's ``frames`` (those it was fitted on)."""
    attach_chunks(model, ((name, frame) for name, frame in frames.items()))


def never_a_source_value(spec: Any, table: Any, tm: Any) -> bool:
    """A column whose source values are hashed: generated values must equal none of them (free
    text, personal data that may not recur, shaped codes), so a synthetic row never equals a
    record through it."""
    pii = table.column(spec.name).pii
    shaped_id = spec.how == "id" and spec.id_kind not in {"uuid", "integer"}  # "nick0017"
    # A key generated from its shape (MRN0012345) that equalled a patient's own MRN would point
    # at that patient, as a copied e-mail would.
    shaped_key = spec.how == "key" and tm.key.kind == "shape" and list(table.primary_key) == [spec.name]
    return spec.how == "text" or shaped_id or shaped_key or (spec.how == "pii" and pii not in RECURRING_PII)


def guarded_columns(model: Model) -> dict[str, list[str]]:
    """Per table, the columns attach_chunks reads: a source streamed for the guards sends only
    these (TPC-H's lineitem: its keys stay in the database)."""
    out: dict[str, list[str]] = {}
    for name, tm in model.tables.items():
        if tm.role != "data":
            continue
        table = model.schema.table(name)
        cols = [s.name for s in tm.columns if never_a_source_value(s, table, tm) or s.how == "native"]
        cols += list(name_columns(model, name) or ()) + list(tm.record_columns or ()) + list(tm.record_core)
        if cols:
            out[name] = list(dict.fromkeys(cols))
    return out


def attach_chunks(model: Model, chunks: Iterable[tuple[str, pd.DataFrame]]) -> None:
    """Build every guard from the source's rows, given a chunk of a table at a time (a model
    learned from a sample is guarded by every row of the source): only the hashes are kept, and
    a table's are made into its guards once its last chunk is in, so only one table's collection
    is ever held (on disk past hashsets.SPILL_HASHES). A table's chunks come one after another."""
    key = os.urandom(16)
    current: _Table | None = None
    done: set[str] = set()
    for name, frame in chunks:
        tm = model.tables.get(name)
        if tm is None or tm.role != "data" or not len(frame):
            continue
        if current is None or current.name != name:
            if current is not None:
                current.finish()
            if name in done:
                raise AssertionError(f"the chunks of {name} came apart: its guards are already made")
            done.add(name)
            current = _Table(model, name, key)
        current.add(frame)
    if current is not None:
        current.finish()
    model.guarded = True


class _Table:
    """One table's hashes while its chunks come in."""

    def __init__(self, model: Model, name: str, key: bytes) -> None:
        self.model, self.name, self.key = model, name, key
        self.tm = model.tables[name]
        self.table = model.schema.table(name)
        self.values: dict[str, HashCollector] = {}
        self.natives: dict[str, list[pd.Series]] = {}
        self.pairs = HashCollector()
        self.records = HashCollector(paired=True)
        self.names = name_columns(model, name)

    def add(self, frame: pd.DataFrame) -> None:
        tm, table, key = self.tm, self.table, self.key
        for spec in tm.columns:
            if spec.name not in frame:
                continue
            if never_a_source_value(spec, table, tm):
                guard = SourceGuard.fit(frame[spec.name], key, fold=spec.how == "pii")
                self.values.setdefault(spec.name, HashCollector()).add(guard.hashes)
            elif spec.how == "native":  # the strings inside JSON documents
                self.natives.setdefault(spec.name, []).append(frame[spec.name])
        names = self.names
        if names is not None and all(c in frame for c in names):
            pairs = SourceGuard.fit(name_pairs(frame[names[0]], frame[names[1]]), key, fold=True)
            self.pairs.add(pairs.hashes)
        for columns in record_parts(tm):  # each a record of its own (fingerprints never meet)
            if all(c in frame for c in columns):
                exact, rounded = exact_and_rounded_keys(table, frame, columns)
                self.records.add(exact, rounded)

    def finish(self) -> None:
        tm, key = self.tm, self.key
        for column, collector in self.values.items():
            spec = tm.column(column)
            spec.guard = SourceGuard(key, collector.distinct(), fold=spec.how == "pii")
        pairs = self.pairs.distinct()
        if len(pairs):
            tm.name_columns = self.names
            tm.name_guard = SourceGuard(key, pairs, fold=True)
        for column, series in self.natives.items():
            col = self.table.column(column)
            tm.column(column).guard = natives.source_guard(
                learned_type(col), pd.concat(series, ignore_index=True)
            )
        if tm.record_columns:
            # A record held by a single row (to the last bit) is unique in the source; synthetic
            # rows are compared to 10 significant digits (values.record_keys).
            unique = self.records.once(SourceGuard(key, np.empty(0, dtype=np.uint64)).digest)
            tm.record_guard = SourceGuard(key, unique) if len(unique) else None


def record_parts(tm: Any) -> list[list[str]]:
    """The column lists a table's record guard checks: the record (values.record_columns, the
    evaluation's), and its columns the engine does not generate afresh, if they differ."""
    return [cols for cols in (tm.record_columns, tm.record_core) if cols]


def name_columns(model: Model, table: str) -> tuple[str, str] | None:
    """A table's generated first- and last-name columns: each name may recur, the pair of a
    source person may not."""
    tm = model.tables[table]
    pii = {c.name: c.pii for c in model.schema.table(table).columns}
    generated = [s.name for s in tm.columns if s.how == "pii" and not (s.pii and s.pii.other)]
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
