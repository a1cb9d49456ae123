"""Gaussian copula algebra: shrunk correlation, joint and conditional sampling, all vectorized."""

from __future__ import annotations

import numpy as np

# Rows used to estimate a correlation: more adds time, not accuracy.
MAX_CORR_ROWS = 200_000
# Added to the diagonal of the givens' correlation in a conditional draw (see conditional).
RIDGE = 0.05


def _estimable(z: np.ndarray, rng: np.random.Generator | None) -> np.ndarray | None:
    """The rows to estimate from (a seeded subsample of big tables), or None if there is nothing to
    estimate: the caller then returns the identity (or an empty matrix)."""
    n, d = z.shape
    if d == 0 or n < 3:
        return None
    if n > MAX_CORR_ROWS and rng is not None:
        return z[rng.choice(n, MAX_CORR_ROWS, replace=False)]
    return z


def correlation(z: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Correlation of normal scores, shrunk toward the identity (Ledoit-Wolf style).

    Shrinkage keeps the matrix well conditioned when a table has few rows and many dimensions
    (a parent with many child summaries), which plain estimates cannot do.
    """
    d = z.shape[1]
    estimable = _estimable(z, rng)
    if estimable is None:
        return np.eye(d)
    z = estimable
    n = z.shape[0]
    x = z - z.mean(axis=0)
    sd = x.std(axis=0)
    sd[sd < 1e-12] = 1.0
    x = x / sd
    sample = (x.T @ x) / n
    alpha = _shrinkage(z)
    shrunk = (1 - alpha) * sample + alpha * np.eye(d)
    np.fill_diagonal(shrunk, 1.0)
    return nearest_pd(shrunk)


def latent_correlation(s: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Correlation of the latent normals behind deterministic scores (ties scored by their mean).

    A column with tied values (a category, a block of zero counts) has scores of variance v < 1;
    to first order its covariance with another column is rho * v_i * v_j, so dividing by the
    variances undoes the attenuation that ties cause (as polychoric correlations do), then the
    result is shrunk and made positive definite like any other estimate.
    """
    d = s.shape[1]
    estimable = _estimable(s, rng)
    if estimable is None:
        return np.eye(d)
    s = estimable
    n = s.shape[0]
    x = s - s.mean(axis=0)
    var = np.maximum((x**2).mean(axis=0), 1e-6)
    cov = (x.T @ x) / n
    rho = np.clip(cov / np.outer(var, var), -0.98, 0.98)
    np.fill_diagonal(rho, 1.0)
    alpha = _shrinkage(s)
    shrunk = (1 - alpha) * rho + alpha * np.eye(d)
    np.fill_diagonal(shrunk, 1.0)
    return nearest_pd(shrunk)


def _shrinkage(z: np.ndarray) -> float:
    """Ledoit-Wolf: the optimal weight on the identity given the sampling noise of each entry."""
    n, d = z.shape
    x = z - z.mean(axis=0)
    sd = x.std(axis=0)
    sd[sd < 1e-12] = 1.0
    x = x / sd
    sample = (x.T @ x) / n
    off = sample - np.eye(d)
    noise = ((x**2).T @ (x**2)) / n - sample**2
    den = (off**2).sum()
    return 1.0 if den <= 0 else float(np.clip(noise.sum() / n / den, 0.0, 1.0))


def nearest_pd(c: np.ndarray, floor: float = 1e-6) -> np.ndarray:
    """Clip eigenvalues so the matrix is a valid (positive definite) correlation."""
    if c.size == 0:
        return c
    w, v = np.linalg.eigh((c + c.T) / 2)
    if w.min() >= floor:
        return c
    w = np.maximum(w, floor)
    out = (v * w) @ v.T
    d = np.sqrt(np.diag(out))
    out = out / np.outer(d, d)
    np.fill_diagonal(out, 1.0)
    return out


def cholesky(c: np.ndarray) -> np.ndarray:
    if c.size == 0:
        return c
    try:
        return np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        return np.linalg.cholesky(nearest_pd(c, 1e-4))


def sample(n: int, corr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    d = corr.shape[0]
    return rng.standard_normal((n, d)) @ cholesky(corr).T if d else np.zeros((n, 0))


def conditional(corr: np.ndarray, given: list[int], target: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """For z_target | z_given: the regression matrix B and the Cholesky factor of the residual.

    z_target = z_given @ B + e @ L.T, with e standard normal. The regression is a ridge one
    (RIDGE): the givens are sampled children, whose correlation is never exactly the matrix's,
    and a nearly singular block turns that gap into coefficients of 4 and -8 (diabetes130's
    medication count) and dependencies the source does not have.
    """
    if not target:
        return np.zeros((len(given), 0)), np.zeros((0, 0))
    s_tt = corr[np.ix_(target, target)]
    if not given:
        return np.zeros((0, len(target))), cholesky(s_tt)
    s_gg = corr[np.ix_(given, given)]
    s_gt = corr[np.ix_(given, target)]
    b = np.linalg.solve(s_gg + RIDGE * np.eye(len(given)), s_gt)
    resid = s_tt - s_gt.T @ b
    resid = (resid + resid.T) / 2
    w, v = np.linalg.eigh(resid)
    w = np.maximum(w, 1e-9)
    return b, v * np.sqrt(w)


def sample_conditional(
    z_given: np.ndarray, b: np.ndarray, chol: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    n = z_given.shape[0]
    k = chol.shape[0]
    if k == 0:
        return np.zeros((n, 0))
    mean = z_given @ b if b.size else np.zeros((n, k))
    return mean + rng.standard_normal((n, k)) @ chol.T
