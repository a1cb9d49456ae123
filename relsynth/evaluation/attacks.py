"""Attack-based privacy risk: singling out, linkability and attribute inference.

The method of Giomi et al. (2022), "A Unified Framework for Quantifying Privacy Risk in Synthetic
Data" (the anonymeter library), written here with numpy and scikit-learn:

- Each attack uses only the synthetic data, and is run twice, identically: against rows the model
  was trained on, and against held-out rows it never saw (the control, as many rows). An attack
  that succeeds as often on the control learnt what the population is like, not who was in the
  training data: that is what synthetic data is for, and no privacy risk.
- The privacy risk is the excess success on training rows, (r_train - r_control) / (1 - r_control),
  clipped at 0, with a 95% interval from the Wilson intervals of both rates.
- A naive baseline (random guessing) shows whether the attack is any better than chance; an attack
  no better than guessing says little either way.

Only rates, counts and column names leave this module: never a value of the data.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from relsynth.evaluation.features import Encoder, is_numeric_kind, labels, numeric_values
from relsynth.schema import Kind, Table

Z = 1.96  # 95% intervals
MIN_CONTROL = 50  # fewer held-out rows than this give intervals too wide to say anything
MAX_SET_ROWS = 10_000  # singling out: rows per side (training sample and control), equal sizes
MAX_TARGETS = 2_000  # linkability and inference: target rows per side
MAX_SYNTH_ROWS = 20_000  # synthetic rows the attacker searches
N_QUERIES = 500  # singling-out queries wanted
MAX_ATTEMPTS = 5  # candidate queries drawn per query wanted
MIN_QUERIES = 10  # fewer queries that single out a synthetic row: nothing to measure
QUERY_COLUMNS = (3, 4)  # columns per singling-out query
TAIL = 0.1  # a number in the outer tenth of the synthetic values is queried with <= or >=
STEPS = 20  # other numbers are rounded to a twentieth of the synthetic interquartile range
N_NEIGHBOURS = 3  # linkability: a link succeeds if the k nearest rows on both halves overlap
MAX_SECRETS = 3  # inference: secret columns attacked per table
TOLERANCE = 0.05  # inference: a number guessed within 5% (relative) is a success
DAY = 86_400.0  # inference: a date or time guessed within a day (or 5% of its spread, if less)

_NULL = -1  # the code of NULL in a categorical column
_NO_BIN = np.iinfo(np.int64).min  # the bin of NULL in a numeric column


# -- rates, intervals, risk -------------------------------------------------------------------
def wilson(successes: int, n: int) -> tuple[float, float]:
    """Wilson 95% interval's centre and half-width: sound for rates near 0 or 1 and small n."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + Z * Z / n
    centre = (p + Z * Z / (2 * n)) / denom
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / denom
    return centre, half


def rate(successes: int, n: int) -> dict[str, Any]:
    centre, half = wilson(successes, n)
    return {
        "successes": int(successes),
        "attacks": int(n),
        "rate": successes / n if n else None,
        "ci": [max(0.0, centre - half), min(1.0, centre + half)],
    }


def risk(train: dict[str, Any], control: dict[str, Any]) -> dict[str, Any]:
    """(r_train - r_control) / (1 - r_control), clipped to [0, 1]: success beyond what the control
    explains. The value is taken at the Wilson centres (as anonymeter does); the interval at the
    ends of both Wilson intervals (low training against high control, and the reverse), not by
    anonymeter's linear error propagation, which shrinks where the control nears 1 (a secret
    everyone guesses) exactly when the ratio is least certain."""
    t, dt = wilson(train["successes"], train["attacks"])
    c, dc = wilson(control["successes"], control["attacks"])

    def excess(r_train: float, r_control: float) -> float:
        if r_control >= 1.0:  # the control always succeeds: nothing is left to attribute to training
            return 0.0
        return min(1.0, max(0.0, (r_train - r_control) / (1 - r_control)))

    return {
        "value": excess(t, c),
        "ci": [excess(t - dt, min(1.0, c + dc)), excess(min(1.0, t + dt), max(0.0, c - dc))],
    }


def _outcome(
    train: int, control: int, baseline: int, n: int, n_baseline: int | None = None
) -> dict[str, Any]:
    t, c = rate(train, n), rate(control, n)
    b = rate(baseline, n if n_baseline is None else n_baseline)
    return {
        "train": t,
        "control": c,
        "baseline": b,
        "risk": risk(t, c),
        "beats_baseline": bool(t["rate"] is not None and b["rate"] is not None and t["rate"] > b["rate"]),
    }


# -- entry point --------------------------------------------------------------------------------
def attacks(
    table: Table,
    train: pd.DataFrame,
    holdout: pd.DataFrame | None,
    synth: pd.DataFrame,
    columns: list[str],
    seed: int | tuple[int, ...],
) -> dict[str, Any]:
    """The three attacks on one table, training rows against held-out rows; ``seed`` fixes every
    draw, so the same inputs give the same numbers."""
    if holdout is None or len(holdout) < MIN_CONTROL:
        held = 0 if holdout is None else len(holdout)
        return {
            "available": False,
            "reason": (
                "no held-out rows: fit with --holdout F to measure attacks against rows the model never saw"
                if not held
                else f"only {held} held-out rows (under {MIN_CONTROL}): fit with a larger --holdout F"
            ),
        }
    if not columns or not len(synth) or not len(train):
        return {"available": False, "reason": "no comparable columns or no rows"}
    rng = np.random.default_rng(seed)
    return {
        "available": True,
        "control_rows": len(holdout),
        "singling_out": singling_out(table, train, holdout, synth, columns, rng),
        "linkability": linkability(table, train, holdout, synth, columns, rng),
        "inference": inference(table, train, holdout, synth, columns, rng),
    }


def exposed(result: dict[str, Any]) -> bool:
    """Does any attack's risk interval lie above 0 (its lower bound)?"""
    return any(
        (result.get(key) or {}).get("available") and result[key]["risk"]["ci"][0] > 0
        for key in ("singling_out", "linkability", "inference")
    )


def _rows(frame: pd.DataFrame, k: int, rng: np.random.Generator) -> pd.DataFrame:
    """At most ``k`` rows, drawn without replacement: the cost stays bounded on any table."""
    if len(frame) <= k:
        return frame.reset_index(drop=True)
    return frame.iloc[np.sort(rng.choice(len(frame), k, replace=False))].reset_index(drop=True)


# -- singling out -------------------------------------------------------------------------------
class _Coded:
    """Columns of several frames in one coding: categories as shared integer codes (NULL -1),
    numbers as floats and as rounding bins of the synthetic spread."""

    def __init__(self, table: Table, frames: list[pd.DataFrame], columns: list[str], synth: int) -> None:
        self.numeric = [is_numeric_kind(table, c) for c in columns]
        self.values: list[list[np.ndarray]] = [[] for _ in frames]
        self.bins: list[list[np.ndarray]] = [[] for _ in frames]
        self.sorted: list[np.ndarray] = []
        for c, numeric in zip(columns, self.numeric, strict=True):
            if numeric:
                xs = [numeric_values(f[c]) for f in frames]
                ref = np.sort(xs[synth][~np.isnan(xs[synth])])
                self.sorted.append(ref)
                step = _step(ref)
                for i, x in enumerate(xs):
                    self.values[i].append(x)
                    safe = np.where(np.isnan(x), 0.0, x / step)
                    self.bins[i].append(np.where(np.isnan(x), _NO_BIN, np.floor(safe).astype(np.int64)))
            else:
                lab = pd.concat([labels(f[c]) for f in frames], ignore_index=True)
                codes, _ = pd.factorize(lab, use_na_sentinel=True)
                start = 0
                for i, f in enumerate(frames):
                    self.values[i].append(codes[start : start + len(f)].astype(np.int64))
                    self.bins[i].append(self.values[i][-1])
                    start += len(f)
                self.sorted.append(np.empty(0))


def _step(ref: np.ndarray) -> float:
    """The rounding of a number's equality: a twentieth of the interquartile range (at least one
    unit for whole numbers), so that "equal" means "about the same", as an attacker would ask."""
    if not len(ref):
        return 1.0
    q1, q3 = np.quantile(ref, [0.25, 0.75])
    spread = q3 - q1 if q3 > q1 else ref[-1] - ref[0]
    step = spread / STEPS if spread > 0 else 1.0
    if np.all(ref == np.round(ref)):
        step = max(step, 1.0)
    return float(step)


# A predicate: (column index, operator, value); operators: "eq" (code or bin), "le", "ge", "null".
Predicate = tuple[int, str, float]


def _predicate(coded: _Coded, side: int, j: int, row: int) -> Predicate:
    if not coded.numeric[j]:
        return (j, "eq", float(coded.values[side][j][row]))
    x = coded.values[side][j][row]
    if np.isnan(x):
        return (j, "null", 0.0)
    ref = coded.sorted[j]
    below = np.searchsorted(ref, x, side="right") / max(len(ref), 1)
    above = 1.0 - np.searchsorted(ref, x, side="left") / max(len(ref), 1)
    if below <= TAIL:
        return (j, "le", float(x))
    if above <= TAIL:
        return (j, "ge", float(x))
    return (j, "eq", float(coded.bins[side][j][row]))


def _matches(coded: _Coded, side: int, query: tuple[Predicate, ...]) -> int:
    """How many rows of frame ``side`` the query selects."""
    mask: np.ndarray | None = None
    for j, op, v in query:
        if op == "eq":
            m = coded.bins[side][j] == int(v)
        elif op == "null":
            m = np.isnan(coded.values[side][j])
        elif op == "le":
            m = coded.values[side][j] <= v
        else:
            m = coded.values[side][j] >= v
        mask = m if mask is None else mask & m
        if not mask.any():
            return 0
    return int(mask.sum()) if mask is not None else 0


def singling_out(
    table: Table,
    train: pd.DataFrame,
    control: pd.DataFrame,
    synth: pd.DataFrame,
    columns: list[str],
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Queries over 3-4 columns, built from synthetic rows, that select exactly one synthetic row.

    Success: the query selects exactly one training row (one person singled out); control: exactly
    one held-out row, in a set of the same size. The baseline draws each column's value from a
    different synthetic row: queries that know the columns' values but not how they go together.
    """
    n = min(len(train), len(control), MAX_SET_ROWS)
    t, c, s = _rows(train, n, rng), _rows(control, n, rng), _rows(synth, MAX_SYNTH_ROWS, rng)
    coded = _Coded(table, [t, c, s], columns, synth=2)
    size = [min(k, len(columns)) for k in QUERY_COLUMNS]
    queries: list[tuple[Predicate, ...]] = []
    seen: set[tuple[Predicate, ...]] = set()
    for _ in range(N_QUERIES * MAX_ATTEMPTS):
        if len(queries) >= N_QUERIES:
            break
        cols = np.sort(rng.choice(len(columns), int(rng.choice(size)), replace=False))
        row = int(rng.integers(len(s)))
        query = tuple(_predicate(coded, 2, int(j), row) for j in cols)
        if query not in seen:
            seen.add(query)
            if _matches(coded, 2, query) == 1:
                queries.append(query)
    if len(queries) < MIN_QUERIES:
        return {
            "available": False,
            "reason": f"only {len(queries)} queries single out one synthetic row: nothing to measure",
        }
    baseline = []
    for query in queries:  # same columns, each value from its own random synthetic row
        baseline.append(tuple(_predicate(coded, 2, j, int(rng.integers(len(s)))) for j, _, _ in query))
    hits = [sum(_matches(coded, side, q) == 1 for q in queries) for side in (0, 1)]
    guessed = sum(_matches(coded, 0, q) == 1 for q in baseline)
    return {
        "available": True,
        "queries": len(queries),
        "rows_per_side": n,
        **_outcome(hits[0], hits[1], guessed, len(queries)),
    }


# -- linkability --------------------------------------------------------------------------------
def linkability(
    table: Table,
    train: pd.DataFrame,
    control: pd.DataFrame,
    synth: pd.DataFrame,
    columns: list[str],
    rng: np.random.Generator,
) -> dict[str, Any]:
    """An attacker holds two halves of a person's record, in two datasets, and links them through
    the synthetic data: the k synthetic rows nearest on one half and on the other share a row.

    Success: a training row's halves link; control: a held-out row's. Baseline: k random rows
    per half.
    """
    from sklearn.neighbors import NearestNeighbors

    if len(columns) < 2:
        return {"available": False, "reason": "fewer than 2 comparable columns: no two halves to link"}
    order = [columns[i] for i in rng.permutation(len(columns))]
    half_a, half_b = sorted(order[: len(order) // 2]), sorted(order[len(order) // 2 :])
    n = min(len(train), len(control), MAX_TARGETS)
    t, c, s = _rows(train, n, rng), _rows(control, n, rng), _rows(synth, MAX_SYNTH_ROWS, rng)
    k = min(N_NEIGHBOURS, len(s))
    found: list[list[np.ndarray]] = [[], []]
    for half in (half_a, half_b):
        enc = Encoder(table, t, half)
        near = NearestNeighbors(n_neighbors=k).fit(enc.transform(s))
        for side, frame in enumerate((t, c)):
            found[side].append(near.kneighbors(enc.transform(frame), return_distance=False))
    hits = [int(_overlap(a, b).sum()) for a, b in found]
    guessed = int(_overlap(rng.integers(len(s), size=(n, k)), rng.integers(len(s), size=(n, k))).sum())
    return {
        "available": True,
        "targets": n,
        "neighbours": k,
        "columns_a": half_a,
        "columns_b": half_b,
        **_outcome(hits[0], hits[1], guessed, n),
    }


def _overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row: do the two neighbour lists share an index?"""
    return (a[:, :, None] == b[:, None, :]).any(axis=(1, 2))


# -- attribute inference ------------------------------------------------------------------------
def secret_columns(table: Table, frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """The first MAX_SECRETS columns (schema order) that vary: a constant is no secret."""
    out = []
    for col in columns:
        kind = table.column(col).kind
        if kind not in {Kind.NUMERICAL, Kind.DATETIME, Kind.CATEGORICAL, Kind.BOOLEAN}:
            continue
        if labels(frame[col]).nunique(dropna=False) > 1:
            out.append(col)
        if len(out) >= MAX_SECRETS:
            break
    return out


def inference(
    table: Table,
    train: pd.DataFrame,
    control: pd.DataFrame,
    synth: pd.DataFrame,
    columns: list[str],
    rng: np.random.Generator,
) -> dict[str, Any]:
    """An attacker knows every column of a person but one, and guesses the secret one from the
    nearest synthetic row on the others.

    Success: the guess is right (categories equal; numbers within 5% relative; dates and times
    within a day, or 5% of the middle 90% spread if less); training rows against held-out rows.
    Baseline: a random synthetic row's value.
    """
    from sklearn.neighbors import NearestNeighbors

    if len(columns) < 2:
        return {"available": False, "reason": "fewer than 2 comparable columns: nothing to infer from"}
    n = min(len(train), len(control), MAX_TARGETS)
    t, c, s = _rows(train, n, rng), _rows(control, n, rng), _rows(synth, MAX_SYNTH_ROWS, rng)
    secrets = secret_columns(table, t, columns)
    if not secrets:
        return {"available": False, "reason": "no column varies: no secret to infer"}
    results = []
    for secret in secrets:
        aux = [col for col in columns if col != secret]
        enc = Encoder(table, t, aux)
        near = NearestNeighbors(n_neighbors=1).fit(enc.transform(s))
        right = _judge(table, t, secret)
        hits = [
            int(
                right(
                    s[secret].iloc[near.kneighbors(enc.transform(f), return_distance=False)[:, 0]], f[secret]
                ).sum()
            )
            for f in (t, c)
        ]
        guessed = int(right(s[secret].iloc[rng.integers(len(s), size=n)], t[secret]).sum())
        results.append({"column": secret, **_outcome(hits[0], hits[1], guessed, n)})
    worst = max(results, key=lambda r: (r["risk"]["ci"][0], r["risk"]["value"]))
    return {
        "available": True,
        "targets": n,
        "secrets": results,
        "worst_column": worst["column"],
        "risk": worst["risk"],
    }


def _judge(table: Table, reference: pd.DataFrame, column: str) -> Any:
    """A function (guesses, truths) -> bool array: is each guess right?"""
    kind = table.column(column).kind
    if kind in {Kind.NUMERICAL, Kind.DATETIME}:
        if kind == Kind.DATETIME:  # seconds since 1970 have no meaningful relative error
            x = numeric_values(reference[column])
            x = x[~np.isnan(x)]
            spread = float(np.subtract(*np.quantile(x, [0.95, 0.05]))) if len(x) else 0.0
            within: float | None = min(DAY, TOLERANCE * spread)
        else:
            within = None

        def numbers(guess: pd.Series, truth: pd.Series) -> np.ndarray:
            g, v = numeric_values(guess.reset_index(drop=True)), numeric_values(truth.reset_index(drop=True))
            tol = TOLERANCE * np.abs(v) if within is None else within
            both_null = np.isnan(g) & np.isnan(v)
            with np.errstate(invalid="ignore"):
                return both_null | (np.abs(g - v) <= tol)

        return numbers

    def categories(guess: pd.Series, truth: pd.Series) -> np.ndarray:
        g, v = labels(guess.reset_index(drop=True)), labels(truth.reset_index(drop=True))
        return ((g == v) | (g.isna() & v.isna())).to_numpy()

    return categories
