"""Metrics that train classifiers: detectability (can a model tell real from synthetic rows?) and
machine-learning utility (does a model trained on synthetic data work on real data?)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from relsynth.evaluation.features import Encoder, at_most, is_numeric_kind, labels, numeric_values
from relsynth.schema import Table

MAX_ROWS = 1_500  # rows per side: enough to tell real from synthetic, seconds not minutes
FOLDS = 3
TOP_FEATURES = 5  # what gives a table away, recorded per table


def _one_thread() -> Any:
    """One OpenMP thread for the small boosted trees: on a busy machine more threads spin and wait,
    and a metric that takes seconds alone takes minutes."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def feature_groups(enc: Encoder) -> list[str]:
    """One name per encoded matrix column, in Encoder.transform's order: the source column's name.

    A number's NULL flag and a category's one-hot levels carry their column's name, never a level:
    importances are summed per column, and a column, not a value, is what gives a table away."""
    names: list[str] = []
    for c in enc.columns:
        names += [c, c] if c in enc.ranges else [c] * len(enc.levels[c])
    return names


def _grouped_importance(
    clf: Any,
    x: np.ndarray,
    y: np.ndarray,
    groups: dict[str, list[int]],
    base: float,
    rng: np.random.Generator,
) -> dict[str, float]:
    """Drop of the held-out ROC AUC when a feature's matrix columns are shuffled together
    (permutation importance, one shuffle per fold): what the classifier relies on to tell rows apart."""
    from sklearn.metrics import roc_auc_score

    out = {}
    for name, idx in groups.items():
        shuffled = x.copy()
        shuffled[:, idx] = x[rng.permutation(len(x))][:, idx]
        out[name] = base - float(roc_auc_score(y, clf.predict_proba(shuffled)[:, 1]))
    return out


def detectability(
    table: Table,
    real: pd.DataFrame,
    synth: pd.DataFrame,
    columns: list[str],
    rng: np.random.Generator,
    extra_real: np.ndarray | None = None,
    extra_synth: np.ndarray | None = None,
    extra_names: list[str] | None = None,
) -> dict[str, Any]:
    """ROC AUC of a classifier telling real from synthetic rows (3-fold CV); 0.5 = indistinguishable.

    ``extra_*`` are columns joined onto each row (child counts and child-column means of a parent),
    so a table is also judged by the children it has, as the SyntheRela benchmark does;
    ``extra_names`` names them. ``top_features`` says what gives the table away: the features
    whose shuffling costs the held-out AUC most, with their share of the total drop.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    if (not columns and extra_real is None) or len(real) < 20 or len(synth) < 20:
        return {"available": False, "reason": "fewer than 20 rows on a side, or nothing to compare"}
    enc = Encoder(table, real, columns)
    xr, xs = enc.transform(real), enc.transform(synth)
    names = feature_groups(enc)
    if extra_real is not None and extra_synth is not None:
        xr, xs = np.column_stack([xr, extra_real]), np.column_stack([xs, extra_synth])
        extra = extra_names or [f"child feature {i + 1}" for i in range(extra_real.shape[1])]
        names += list(extra)
    if xr.shape[1] == 0:
        return {"available": False, "reason": "nothing to compare"}
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        groups.setdefault(name, []).append(i)
    k = min(len(xr), len(xs), MAX_ROWS)
    xr, xs = at_most(xr, k, rng), at_most(xs, k, rng)
    x = np.vstack([xr, xs])
    y = np.r_[np.ones(len(xr)), np.zeros(len(xs))]
    fold_seed = int(rng.integers(0, 2**31 - 1))
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=fold_seed)
    # The shuffles draw from their own generator: the evaluation's other draws stay as they were.
    shuffles = np.random.default_rng(fold_seed)
    aucs: list[float] = []
    drops: dict[str, float] = dict.fromkeys(groups, 0.0)
    with _one_thread():
        for train, test in folds.split(x, y):
            clf = HistGradientBoostingClassifier(max_iter=50, random_state=0).fit(x[train], y[train])
            auc = float(roc_auc_score(y[test], clf.predict_proba(x[test])[:, 1]))
            aucs.append(auc)
            for name, d in _grouped_importance(clf, x[test], y[test], groups, auc, shuffles).items():
                drops[name] += d / FOLDS
    auc = float(np.mean(aucs))
    total = sum(max(d, 0.0) for d in drops.values())
    ranked = sorted(drops.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_FEATURES]
    top = [
        {"feature": n, "auc_drop": d, "share": (max(d, 0.0) / total) if total > 0 else 0.0} for n, d in ranked
    ]
    return {
        "available": True,
        "auc": auc,
        "rows_per_side": k,
        "score": float(1.0 - 2 * max(auc - 0.5, 0.0)),
        "top_features": top,
    }


def utility(
    table: Table,
    real: pd.DataFrame,
    synth: pd.DataFrame,
    columns: list[str],
    target: str,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Train on synthetic, test on real (TSTR) against train on real, test on real (TRTR).

    The real rows are split once (70/30, seeded); both models are tested on the same real 30%.
    Classification for categories (macro F1), regression for numbers (R squared).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import f1_score, r2_score

    features = [c for c in columns if c != target]
    if not features:
        return {"available": False, "reason": "no other comparable column to predict from"}
    numeric = is_numeric_kind(table, target)
    real = real.sample(min(len(real), 4 * MAX_ROWS), random_state=int(rng.integers(0, 2**31 - 1)))
    real = real.reset_index(drop=True)
    cut = np.zeros(len(real), dtype=bool)
    cut[rng.choice(len(real), int(0.7 * len(real)), replace=False)] = True
    train, test = real[cut], real[~cut]
    synth = synth.sample(min(len(synth), 4 * MAX_ROWS), random_state=0) if len(synth) else synth
    enc = Encoder(table, train, features)

    def target_of(frame: pd.DataFrame) -> np.ndarray:
        return numeric_values(frame[target]) if numeric else labels(frame[target]).fillna("(NULL)").to_numpy()

    y_train, y_test, y_synth = target_of(train), target_of(test), target_of(synth)
    if numeric:
        keep = [~np.isnan(y) for y in (y_train, y_test, y_synth)]
    else:
        keep = [np.ones(len(y), dtype=bool) for y in (y_train, y_test, y_synth)]
    x_train, x_test, x_synth = (
        enc.transform(train)[keep[0]],
        enc.transform(test)[keep[1]],
        enc.transform(synth)[keep[2]],
    )
    y_train, y_test, y_synth = y_train[keep[0]], y_test[keep[1]], y_synth[keep[2]]
    if len(y_test) < 10 or len(y_train) < 10 or len(y_synth) < 10:
        return {"available": False, "reason": "too few rows with the target known"}
    if numeric:

        def score(x: np.ndarray, y: np.ndarray) -> float:
            model = HistGradientBoostingRegressor(max_iter=150, random_state=0).fit(x, y)
            return float(r2_score(y_test, model.predict(x_test)))

        metric = "r2"
    else:
        if len(set(y_synth)) < 2 or len(set(y_train)) < 2:
            return {"available": False, "reason": "the target has a single class on one side"}

        def score(x: np.ndarray, y: np.ndarray) -> float:
            model = HistGradientBoostingClassifier(max_iter=150, random_state=0).fit(x, y)
            return float(f1_score(y_test, model.predict(x_test), average="macro"))

        metric = "f1_macro"
    with _one_thread():
        trtr, tstr = score(x_train, y_train), score(x_synth, y_synth)
    return {
        "available": True,
        "target": f"{table.name}.{target}",
        "task": "regression" if numeric else "classification",
        "metric": metric,
        "trtr": trtr,
        "tstr": tstr,
        "ratio": float(tstr / trtr) if trtr > 0 else None,
        "test_rows": len(y_test),
    }
