"""Which columns can be compared, and tables as numeric matrices for distances and classifiers.

Keys are identities, not data; generated columns (personal data, free text, identifiers) carry
no signal of the source by design. What remains is compared: numbers, dates, categories, booleans.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from relsynth.model.values import labels, numeric_values
from relsynth.schema import Kind, Table

__all__ = ["Encoder", "comparable_columns", "is_numeric_kind", "labels", "numeric_values"]

TOP_LEVELS = 20


def comparable_columns(table: Table, frame: pd.DataFrame) -> list[str]:
    """Non-key columns of a kind that relsynth models (not generated, not keys)."""
    keys = set(table.primary_key) | table.fk_columns()
    out = []
    for col in table.columns:
        if col.name in keys or col.pii or col.computed or col.name not in frame.columns:
            continue
        if col.kind in {Kind.NUMERICAL, Kind.DATETIME, Kind.CATEGORICAL, Kind.BOOLEAN}:
            out.append(col.name)
    return out


def is_numeric_kind(table: Table, column: str) -> bool:
    return table.column(column).kind in {Kind.NUMERICAL, Kind.DATETIME}


class Encoder:
    """Real-fitted scaling: numbers by their range, categories one-hot (top levels), NULL flags."""

    def __init__(self, table: Table, real: pd.DataFrame, columns: list[str]) -> None:
        self.table = table
        self.columns = columns
        self.ranges: dict[str, tuple[float, float]] = {}
        self.levels: dict[str, list[str]] = {}
        for c in columns:
            if is_numeric_kind(table, c):
                x = numeric_values(real[c])
                x = x[~np.isnan(x)]
                lo, hi = (float(x.min()), float(x.max())) if len(x) else (0.0, 1.0)
                self.ranges[c] = (lo, hi if hi > lo else lo + 1.0)
            else:
                counts = labels(real[c]).value_counts()
                self.levels[c] = [str(v) for v in counts.index[:TOP_LEVELS]]

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        parts = []
        for c in self.columns:
            if c in self.ranges:
                lo, hi = self.ranges[c]
                x = (numeric_values(frame[c]) - lo) / (hi - lo)
                missing = np.isnan(x)
                parts.append(np.where(missing, 0.0, np.clip(x, -1, 2)))
                parts.append(missing.astype(float))  # always present: every matrix has the same columns
            else:
                lab = labels(frame[c])
                for level in self.levels[c]:
                    parts.append((lab == level).to_numpy(dtype=float))
        if not parts:
            return np.zeros((len(frame), 0))
        return np.column_stack(parts)


def at_most(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``k`` rows of ``x``, drawn without replacement: bounds the cost of a metric."""
    return x if len(x) <= k else x[rng.choice(len(x), k, replace=False)]
