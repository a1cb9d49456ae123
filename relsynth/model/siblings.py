"""Siblings that spread a value between them.

A child is drawn as its family's loc plus its scale times a within-family part e (fit._fit_hierarchy).
Drawn independently, the e of n siblings average to noise of variance 1/n, so a family's mean
strays from its loc by scale / sqrt(n). Where the source's families are steadier than that,
siblings complement each other: each Chinook customer holds invoices of 1, 2, 2, 4, 6, 9 and 14
lines, so every customer's mean invoice total is nearly the same (sd 0.42 against 1.79 drawn
independently), and a classifier told real customers from synthetic ones by that mean alone.

Such a column gets a siblings' correlation rho < 0, learned so that the drawn family means
spread as the source's do. A share t = -rho (n - 1) (at most 1) of the families of n children
draw that column's e stratified: the siblings' e take one stratum each of the normal, in the
order of their own draw (a deck dealt to the family, as the source's), the rest independently;
at t = 1 every family's e cover the distribution evenly. rho is 0 where siblings are independent or alike
(positive dependence is the loc's: the empirical Bayes split keeps it).
"""

from __future__ import annotations

from functools import cache

import numpy as np
from scipy.special import ndtri

MIN_FAMILIES = 20  # families of two children or more to learn rho from
STEPS = 40  # bisection steps for rho in [-1, 0]


@cache
def _stratified_mean_var(n: int) -> float:
    """var(mean of e) where n siblings' e take one stratum (k/n, (k+1)/n) of the normal each."""
    if n < 2:
        return 1.0
    q = ndtri(np.linspace(0.0, 1.0, n + 1))  # -inf .. inf
    pdf = np.exp(-(q**2) / 2) / np.sqrt(2 * np.pi)
    qpdf = np.where(np.isfinite(q), np.nan_to_num(q) * pdf, 0.0)
    first = (pdf[:-1] - pdf[1:]) * n  # E[X | stratum]
    second = 1.0 + (qpdf[:-1] - qpdf[1:]) * n  # E[X^2 | stratum]
    return float(np.maximum(second - first**2, 0.0).sum() / n**2)


def _shares(rho: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The stratified share t of each family (rows: n) for each column's rho."""
    return np.clip(-rho[None, :] * (n - 1.0), 0.0, 1.0)


def _mean_var(rho: np.ndarray, n: np.ndarray) -> np.ndarray:
    strat = np.array([_stratified_mean_var(int(k)) for k in n[:, 0]])[:, None]
    t = _shares(rho, n)
    return (1.0 - t) / n + t * strat


def learn(
    counts: np.ndarray, means: np.ndarray, prior: np.ndarray, loc: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """Per column, the siblings' correlation rho <= 0 that gives the families of several children
    the source's spread of their means around the mean of their size (``prior``): the drawn mean
    is loc + scale * mean(e), so E[(mean - prior)^2] = E[(loc - prior)^2] + E[scale^2 var(mean e)]."""
    d = means.shape[1]
    several = counts >= 2
    if int(several.sum()) < MIN_FAMILIES or d == 0:
        return np.zeros(d)
    n = counts[several].astype(float)[:, None]
    s2 = scale[several] ** 2
    seen = ((means[several] - prior[several]) ** 2).mean(axis=0)
    want = seen - ((loc[several] - prior[several]) ** 2).mean(axis=0)

    def drawn(rho: np.ndarray) -> np.ndarray:
        return (s2 * _mean_var(rho, n)).mean(axis=0)

    lo, hi = np.full(d, -1.0), np.zeros(d)
    for _ in range(STEPS):  # the drawn spread grows with rho: bisection, every column at once
        mid = (lo + hi) / 2
        low = drawn(mid) < want
        lo = np.where(low, mid, lo)
        hi = np.where(low, hi, mid)
    return np.where(drawn(np.zeros(d)) > want, np.round((lo + hi) / 2, 6), 0.0)


def apart(e: np.ndarray, pos: np.ndarray, rho: np.ndarray, u: np.ndarray, pick: np.ndarray) -> np.ndarray:
    """The within-family parts ``e`` (rows of one family share ``pos``) with a share t of the
    families stratified per column: there the k-th smallest of the family's e becomes the
    normal's quantile (k + u) / n (a monotone change inside the family, so the columns keep
    their dependence), chosen where the family's ``pick`` (uniform, per parent) is below t.
    Each row's e stays standard normal, and var(mean of e) is (1 - t) / n + t v(n)."""
    cols = np.flatnonzero(rho < 0)
    ok = np.flatnonzero(pos >= 0)
    if not len(cols) or not len(ok):
        return e
    p = pos[ok]
    counts = np.bincount(p)
    n = counts[p].astype(float)
    first = np.concatenate([[0], np.cumsum(counts)])[p]  # the family's first row among ok
    out = e.copy()
    for j in cols:
        order = np.lexsort((e[ok, j], p))  # by family, then by e
        k = np.empty(len(ok), dtype=float)
        k[order] = np.arange(len(ok)) - first[order]
        t = np.clip(-rho[j] * (n - 1.0), 0.0, 1.0)
        dealt = pick[p, j] < t
        rows = ok[dealt]
        out[rows, j] = ndtri(np.clip((k[dealt] + u[rows, j]) / n[dealt], 1e-12, 1 - 1e-12))
    return out
