"""How alike the synthetic data is: column shapes, column pairs, child counts, parent-child trends.

Scores are complements of distances, 1.0 meaning identical distributions: KS complement for
numbers and dates, total-variation complement for categories (as sdmetrics defines them), a
correlation similarity for pairs of numbers and a contingency similarity otherwise. Each result
carries the small histograms the report draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from relsynth.evaluation.features import is_numeric_kind, labels, numeric_values
from relsynth.schema import ForeignKey, Table

BINS = 30
MAX_PAIR_COLUMNS = 15


def _finite(x: np.ndarray) -> np.ndarray:
    return x[~np.isnan(x)]


def ks_complement(real: np.ndarray, synth: np.ndarray) -> float:
    r, s = _finite(real), _finite(synth)
    if not len(r) or not len(s):
        return float(len(r) == len(s))
    return float(1.0 - stats.ks_2samp(r, s, method="asymp").statistic)


def tv_complement(real: pd.Series, synth: pd.Series) -> float:
    r = real.dropna().value_counts(normalize=True)
    s = synth.dropna().value_counts(normalize=True)
    if r.empty or s.empty:
        return float(r.empty == s.empty)
    keys = r.index.union(s.index)
    return float(1.0 - 0.5 * np.abs(r.reindex(keys, fill_value=0) - s.reindex(keys, fill_value=0)).sum())


def _histogram(real: np.ndarray, synth: np.ndarray) -> dict[str, Any]:
    r, s = _finite(real), _finite(synth)
    both = np.concatenate([r, s]) if len(r) or len(s) else np.zeros(1)
    lo, hi = float(np.min(both)), float(np.max(both))
    if hi <= lo:
        hi = lo + 1.0
    scale = max(abs(lo), abs(hi), 1.0)  # hi - lo overflows between -1.8e308 and 1.8e308
    edges = np.linspace(lo / scale, hi / scale, BINS + 1) * scale
    edges[0], edges[-1] = lo, hi
    hr = np.histogram(r, edges)[0] / max(len(r), 1)
    hs = np.histogram(s, edges)[0] / max(len(s), 1)
    return {"type": "hist", "edges": edges.tolist(), "real": hr.tolist(), "synthetic": hs.tolist()}


def _bars(real: pd.Series, synth: pd.Series, *, top: int = 20) -> dict[str, Any]:
    r = real.fillna("(NULL)").value_counts(normalize=True)
    s = synth.fillna("(NULL)").value_counts(normalize=True)
    keys = list(r.index[:top])
    keys += [k for k in s.index[:5] if k not in keys]
    return {
        "type": "bar",
        "labels": [str(k) for k in keys],
        "real": [float(r.get(k, 0.0)) for k in keys],
        "synthetic": [float(s.get(k, 0.0)) for k in keys],
    }


def column_shapes(
    table: Table, real: pd.DataFrame, synth: pd.DataFrame, columns: list[str]
) -> list[dict[str, Any]]:
    out = []
    for c in columns:
        null_r = float(real[c].isna().mean()) if len(real) else 0.0
        null_s = float(synth[c].isna().mean()) if len(synth) else 0.0
        if is_numeric_kind(table, c):
            xr, xs = numeric_values(real[c]), numeric_values(synth[c])
            score, metric, plot = ks_complement(xr, xs), "KSComplement", _histogram(xr, xs)
            if table.column(c).kind.value == "datetime":
                plot["datetime"] = True
        else:
            lr, ls = labels(real[c]), labels(synth[c])
            score, metric, plot = tv_complement(lr, ls), "TVComplement", _bars(lr, ls)
        out.append(
            {
                "name": c,
                "kind": table.column(c).kind.value,
                "metric": metric,
                "score": score,
                "null_real": null_r,
                "null_synthetic": null_s,
                "null_diff": abs(null_r - null_s),
                "plot": plot,
            }
        )
    return out


def _binned(real: pd.Series, synth: pd.Series, numeric: bool) -> tuple[np.ndarray, np.ndarray, int]:
    """Both sides as shared integer classes (at most 10 quantile bins for numbers; NULL a class)."""
    if numeric:
        xr, xs = numeric_values(real), numeric_values(synth)
        finite = _finite(xr)
        edges = np.unique(np.quantile(finite, np.linspace(0, 1, 11)))[1:-1] if len(finite) else np.zeros(0)
        cr = np.where(np.isnan(xr), len(edges) + 1, np.digitize(xr, edges))
        cs = np.where(np.isnan(xs), len(edges) + 1, np.digitize(xs, edges))
        return cr.astype(np.int64), cs.astype(np.int64), len(edges) + 2
    both = pd.concat([labels(real), labels(synth)], ignore_index=True).fillna("\x00")
    codes, uniques = pd.factorize(both)
    return codes[: len(real)].astype(np.int64), codes[len(real) :].astype(np.int64), max(len(uniques), 1)


def contingency_similarity(
    a: tuple[np.ndarray, np.ndarray, int], b: tuple[np.ndarray, np.ndarray, int]
) -> float:
    """1 - total variation distance between the joint distributions of two binned columns."""
    (ra, sa, _), (rb, sb, nb) = a, b
    if not len(ra) or not len(sa):
        return float("nan")
    # Only the cells some row holds, never the na x nb table: two columns of a few thousand
    # classes each (an EAV table's field_name and value, 43k rows) asked numpy for 11 GB.
    cells, where = np.unique(np.concatenate([ra * nb + rb, sa * nb + sb]), return_inverse=True)
    weights = np.concatenate([np.full(len(ra), 1.0 / len(ra)), np.full(len(sa), -1.0 / len(sa))])
    diff = np.bincount(where.ravel(), weights=weights, minlength=len(cells))
    return float(1.0 - 0.5 * np.abs(diff).sum())


def correlation_similarity(
    ra: np.ndarray, rb: np.ndarray, sa: np.ndarray, sb: np.ndarray
) -> tuple[float, float, float]:
    def rho(a: np.ndarray, b: np.ndarray) -> float:
        ok = ~np.isnan(a) & ~np.isnan(b)
        if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
            return float("nan")
        return float(stats.spearmanr(a[ok], b[ok])[0])

    r, s = rho(ra, rb), rho(sa, sb)
    if np.isnan(r) or np.isnan(s):
        return float("nan"), r, s
    return 1.0 - abs(r - s) / 2.0, r, s


class _Columns:
    """Each column's numbers and classes computed once, then shared by every pair it is in."""

    def __init__(self, table: Table, real: pd.DataFrame, synth: pd.DataFrame) -> None:
        self.table, self.real, self.synth = table, real, synth
        self._num: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._bin: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}

    def numeric(self, c: str) -> bool:
        return is_numeric_kind(self.table, c)

    def values(self, c: str) -> tuple[np.ndarray, np.ndarray]:
        if c not in self._num:
            self._num[c] = (numeric_values(self.real[c]), numeric_values(self.synth[c]))
        return self._num[c]

    def binned(self, c: str) -> tuple[np.ndarray, np.ndarray, int]:
        if c not in self._bin:
            self._bin[c] = _binned(self.real[c], self.synth[c], self.numeric(c))
        return self._bin[c]


def pair_score(left: _Columns, a: str, right: _Columns, b: str) -> dict[str, Any]:
    """One pair of columns (maybe from two tables, already aligned row by row)."""
    if left.numeric(a) and right.numeric(b):
        (ra, sa), (rb, sb) = left.values(a), right.values(b)
        score, r, s = correlation_similarity(ra, rb, sa, sb)
        if not np.isnan(score):
            return {
                "a": a,
                "b": b,
                "metric": "CorrelationSimilarity",
                "score": score,
                "real": r,
                "synthetic": s,
            }
    return {
        "a": a,
        "b": b,
        "metric": "ContingencySimilarity",
        "score": contingency_similarity(left.binned(a), right.binned(b)),
    }


def column_pairs(
    table: Table, real: pd.DataFrame, synth: pd.DataFrame, columns: list[str]
) -> list[dict[str, Any]]:
    cols = columns[:MAX_PAIR_COLUMNS]
    shared = _Columns(table, real, synth)
    return [pair_score(shared, a, shared, b) for i, a in enumerate(cols) for b in cols[i + 1 :]]


def correlation_matrix(table: Table, frame: pd.DataFrame, columns: list[str]) -> list[list[float]]:
    cols = [c for c in columns if is_numeric_kind(table, c)][:MAX_PAIR_COLUMNS]
    if len(cols) < 2 or not len(frame):
        return []
    data = pd.DataFrame({c: numeric_values(frame[c]) for c in cols})
    corr = data.corr(method="spearman").fillna(0.0)
    return corr.round(4).to_numpy().tolist()


def _child_counts(parent: pd.DataFrame, child: pd.DataFrame, fk: ForeignKey) -> np.ndarray:
    from relsynth.model.fit import positions

    pos = positions(child.reset_index(drop=True), fk.columns, parent.reset_index(drop=True), fk.ref_columns)
    return np.bincount(pos[pos >= 0], minlength=len(parent)).astype(float)


def relationship(
    fk: ForeignKey,
    child_t: Table,
    parent_t: Table,
    real: dict[str, pd.DataFrame],
    synth: dict[str, pd.DataFrame],
    child_cols: list[str],
    parent_cols: list[str],
) -> dict[str, Any]:
    """Child-count distribution per parent, and trends between parent and child columns."""
    from relsynth.model.fit import positions

    rc = _child_counts(real[fk.ref_table], real[child_t.name], fk)
    sc = _child_counts(synth[fk.ref_table], synth[child_t.name], fk)
    cardinality = ks_complement(rc, sc)
    top = int(max(rc.max(initial=0), sc.max(initial=0)))
    if top <= 30:
        edges = np.arange(-0.5, top + 1.5)
    else:
        edges = np.unique(np.quantile(np.concatenate([rc, sc]), np.linspace(0, 1, 21)))
        edges[-1] += 1
    counts = {
        "edges": edges.tolist(),
        "real": (np.histogram(rc, edges)[0] / max(len(rc), 1)).tolist(),
        "synthetic": (np.histogram(sc, edges)[0] / max(len(sc), 1)).tolist(),
    }
    trends = []
    if child_cols and parent_cols:
        pr = positions(
            real[child_t.name].reset_index(drop=True),
            fk.columns,
            real[fk.ref_table].reset_index(drop=True),
            fk.ref_columns,
        )
        ps = positions(
            synth[child_t.name].reset_index(drop=True),
            fk.columns,
            synth[fk.ref_table].reset_index(drop=True),
            fk.ref_columns,
        )
        rj, sj = pr >= 0, ps >= 0
        if rj.any() and sj.any():
            rp = real[fk.ref_table].reset_index(drop=True).iloc[pr[rj]].reset_index(drop=True)
            sp = synth[fk.ref_table].reset_index(drop=True).iloc[ps[sj]].reset_index(drop=True)
            rch = real[child_t.name].reset_index(drop=True)[rj].reset_index(drop=True)
            sch = synth[child_t.name].reset_index(drop=True)[sj].reset_index(drop=True)
            left, right = _Columns(parent_t, rp, sp), _Columns(child_t, rch, sch)
            for a in parent_cols[:8]:
                for b in child_cols[:8]:
                    t = pair_score(left, a, right, b)
                    trends.append(
                        {
                            "parent_column": a,
                            "child_column": b,
                            **{k: v for k, v in t.items() if k not in {"a", "b"}},
                        }
                    )
    scores = [t["score"] for t in trends if not np.isnan(t["score"])]
    return {
        "fk": fk.label,
        "child": child_t.name,
        "parent": fk.ref_table,
        "columns": list(fk.columns),
        "cardinality": cardinality,
        "counts": counts,
        "real_mean_children": float(rc.mean()) if len(rc) else 0.0,
        "synthetic_mean_children": float(sc.mean()) if len(sc) else 0.0,
        "trends": trends,
        "trend_score": float(np.mean(scores)) if scores else None,
    }
