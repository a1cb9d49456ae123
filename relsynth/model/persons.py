"""Persons of a flat table: a lab export with each patient's MRN on 3-12 rows, and on each of them
the one birth date, e-mail and diagnosis of that patient.

A table under no parent whose rows a column names the person of (fit._named_owner: the MRN) is a
table of persons with rows. The columns the source holds constant within each person (the
functional dependency person -> column on every person of two rows or more, but for the
exceptions exact.TOLERANCE allows) are the person's; the rest are the row's. Drawn row by row,
each row had a person of its own: 2,634 MRNs for 3,029 rows, every repeated MRN with two birth
dates. After the rows are drawn (sample._sample_table), they are gathered into persons whose row
counts follow the source's (counts fewer than rare_k persons have are never kept), rows alike in
the person's columns together (sorted by them, the coarsest first: a diagnosis stays with the
results drawn for it), and each person's columns are those of one of its rows, drawn at random
(not the first, the lowest birth date of the run the sort put together): one MRN, birth date
and e-mail per person, every value one the model drew (none is the source's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from relsynth.model import exact as ex
from relsynth.model import rare
from relsynth.model.values import value_codes


@dataclass
class Persons:
    column: str  # the column naming the row's person (an MRN)
    columns: list[str]  # the person's own columns, constant within each person in the source
    counts: list[int]  # rows per person, each held by rare_k persons at least
    weights: list[float]  # the share of persons with each count

    def to_json(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "columns": list(self.columns),
            "counts": self.counts,
            "weights": self.weights,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> Persons | None:
        if not d:
            return None
        return cls(str(d["column"]), [str(c) for c in d["columns"]], [int(c) for c in d["counts"]],
                   [float(w) for w in d["weights"]])  # fmt: skip


def fit(
    frame: pd.DataFrame,
    column: str,
    candidates: list[str],
    rare_k: int,
    spread: tuple[int, int] | None = None,
) -> Persons | None:
    """The persons of ``frame`` named by ``column`` and the ``candidates`` that are theirs; None
    where no column is, or no count of rows per person is held by rare_k persons. ``spread``: the
    frame is a sample of the table, whose (rows, distinct persons) these are: a sample of rows
    holds fewer of each person's, and the counts are scaled to the source's rows per person."""
    if column not in frame or not len(frame):
        return None
    codes = rare.entities(frame, (column,))
    known = codes >= 0
    who = pd.Series(codes[known])
    sizes = who.value_counts()
    several = who.map(sizes).to_numpy() >= 2
    if int((sizes >= 2).sum()) < rare_k:
        return None
    people = who.to_numpy()[several]
    rows = len(people)
    own = []
    for c in candidates:
        if c == column or c not in frame:
            continue
        values = pd.Series(value_codes(frame[c]), dtype=np.int64).to_numpy()[known][several]  # NULL: -1
        if len(np.unique(values)) < 2:
            continue
        pairs = pd.DataFrame({"p": people, "v": values})
        mode = pairs.groupby(["p", "v"]).size().groupby(level=0).max()
        if rows - int(mode.sum()) <= ex.allowed(rows):
            own.append(c)
    if not own:
        return None
    if spread is not None and spread[1] and len(sizes):
        scaled = (spread[0] / spread[1]) / float(sizes.mean())
        if scaled > 1:
            sizes = (sizes * scaled).round().clip(lower=1).astype(np.int64)
    per_count = sizes.value_counts().sort_index()
    per_count = per_count[per_count >= rare_k]  # one patient's 30 rows: a count of theirs, not kept
    if per_count.empty or int(per_count.index.max()) < 2:
        return None
    total = float(per_count.sum())
    return Persons(
        column,
        own,
        [int(c) for c in per_count.index],
        [round(float(w) / total, 6) for w in per_count.to_numpy()],
    )


def gather(persons: Persons, frame: pd.DataFrame, rng: np.random.Generator) -> None:
    """Rows of ``frame`` (drawn one by one) gathered into persons, in place: see the module."""
    if persons.column not in frame:
        return
    rows = np.flatnonzero(frame[persons.column].notna().to_numpy())
    n = len(rows)
    if n < 2:
        return
    cols = [c for c in persons.columns if c in frame]
    counts = np.asarray(persons.counts, dtype=np.int64)
    weights = np.asarray(persons.weights, dtype=float)
    p = weights / weights.sum()
    mean = max(1.0, float(counts @ p))
    drawn = rng.choice(counts, size=int(np.ceil(2 * n / mean)) + 1, p=p)  # twice the rows' worth
    sizes = drawn[: int(np.searchsorted(np.cumsum(drawn), n)) + 1]
    while sizes.sum() < n:  # as good as never
        sizes = np.append(sizes, rng.choice(counts, p=p))
    sizes[-1] -= int(sizes.sum()) - n
    # Alike rows together: sorted by the person's columns of fewest values first (a diagnosis,
    # then a birth date), ties at random; each run of ``sizes`` rows is one person.
    sub = frame.iloc[rows]
    keys = sorted(cols, key=lambda c: (sub[c].nunique(dropna=False), c))
    order = np.lexsort([rng.random(n), *(_in_order(sub[c]) for c in reversed(keys))])
    group = np.repeat(np.arange(len(sizes)), sizes)
    firsts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    picked = rows[order[firsts + (rng.random(len(sizes)) * sizes).astype(np.int64)]]
    first_row = picked[group]  # each sorted row's person's row that speaks for it
    target = rows[order]
    # One name per person: its row's, or where two persons drew the same, one no other person has.
    names = frame[persons.column].to_numpy(dtype=object)
    chosen = names[picked].copy()
    seen: set[Any] = set()
    used = set(chosen)
    spare = iter(v for v in pd.unique(names[rows]) if v not in used)
    for i, v in enumerate(chosen):
        if v in seen:
            chosen[i] = next(spare, v)
        seen.add(chosen[i])
    for c in cols:
        values = frame[c].to_numpy(dtype=object, copy=True)
        values[target] = values[first_row]
        _put(frame, c, values)
    values = names.copy()
    values[target] = chosen[group]
    _put(frame, persons.column, values)


def _in_order(values: pd.Series) -> np.ndarray:
    """Each value's place among the column's values (NULL first), or where they do not compare
    (mixed types), its code."""
    try:
        return pd.factorize(values.to_numpy(), sort=True, use_na_sentinel=True)[0]
    except TypeError:
        return np.asarray(value_codes(values))


def _put(frame: pd.DataFrame, column: str, values: np.ndarray) -> None:
    dtype = frame[column].dtype
    series = pd.Series(values, index=frame.index, dtype=object)
    frame[column] = series if dtype.kind == "O" else series.astype(dtype)
