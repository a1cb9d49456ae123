"""The order of a category's levels along its copula dimension.

A Gaussian copula keeps linear dependence between normal scores, and a category's score is the
position of its level's interval in [0, 1]. Ordered by frequency, the positions mean nothing:
a medical specialty that comes with many procedures can sit between two that come with few, and
the copula can say nothing about that. Ordering the levels along the direction in which the other
columns' means differ most between levels (the leading principal axis of the per-level means, as
correspondence analysis and optimal scaling do) turns as much of the dependence as one axis can
hold into a linear one. The marginal is unchanged: each level keeps its share.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from relsynth.transform import Categorical

# A level's mean is shrunk toward 0 as if this many rows at the overall mean were added: a level
# of three rows has a noisy mean and would otherwise decide the order.
PRIOR_ROWS = 10.0
# Below this between-level variance (in standardized scores) there is nothing to order by.
MIN_SIGNAL = 1e-4


def position(encoder: Categorical, values: pd.Series, others: np.ndarray) -> Categorical | None:
    """The encoder with its levels ordered by their other-column means, or None to keep it.

    ``others`` holds the deterministic scores of the table's other dimensions (rows x d).
    """
    k = len(encoder.levels)
    n = len(values)
    if k < 3 or n == 0 or others.size == 0:
        return None
    x = others - others.mean(axis=0)
    sd = x.std(axis=0)
    keep = sd > 1e-12
    if not keep.any():
        return None
    x = x[:, keep] / sd[keep]
    codes = encoder.codes(values)
    rows = np.bincount(codes, minlength=k).astype(float)
    sums = np.zeros((k, x.shape[1]))
    np.add.at(sums, codes, x)
    means = sums / (rows + PRIOR_ROWS)[:, None]
    weight = rows / max(rows.sum(), 1.0)
    between = (means * weight[:, None]).T @ means
    values_, vectors = np.linalg.eigh(between)
    if values_[-1] < MIN_SIGNAL:
        return None
    axis = means @ vectors[:, -1]
    order = np.argsort(axis, kind="stable")  # ties keep the frequency order
    shares = np.diff(np.concatenate([[0.0], encoder.cum]))
    return Categorical(levels=[encoder.levels[i] for i in order], cum=np.cumsum(shares[order]))
