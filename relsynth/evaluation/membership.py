"""Membership inference by whoever holds the model file: is a person's row in the training data?

The output is one draw; the model file gives as many as its holder wants, unchecked against the
source (a model loaded from a file holds none of the source's rows, so it samples "not checked
against the source"). A model that memorized its training rows leaves draws on or near them, and
the more draws, the more of them land there. So the attack samples a copy of the model as a file
holder would (saved and loaded again, nothing kept in memory from the fit, no source given) several
times the source's size, and looks from the real side, as the output's distance test does: for
training rows and for held-out rows the model never saw, the distance to the nearest sampled row.
The AUC is the chance that a training row lies nearer than a held-out row (one half when the model
generalizes), with a 95% DeLong interval over the units of the holdout split; a table whose
interval lies above FLAG_AUC is flagged. Only rates and counts are reported, never a value.
"""

from __future__ import annotations

import hashlib
import logging
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from relsynth.evaluation.features import Encoder, at_most
from relsynth.evaluation.privacy import CLOSER_LIMIT, MAX_TIED, MIN_HOLDOUT
from relsynth.graph import Plan
from relsynth.schema import Table

log = logging.getLogger("relsynth")

SCALE = 3.0  # draws per source row: more than the output's one, the file holder's advantage
MAX_ROWS = 200_000  # all tables together: bounds the cost of sampling
MAX_QUERY = 5_000  # training rows, and held-out rows, compared per table
MAX_SAMPLE = 100_000  # sampled rows searched per table
# Flagged when the whole 95% interval lies above this: the bar of the output's distance test
# (privacy.CLOSER_LIMIT), so the two AUCs read alike. Below it, an interval above 0.5 is a small
# signal, shown as such (a model's marginals follow its training rows a little more closely than
# the population's; on the demo, timestamps give about 0.55).
FLAG_AUC = CLOSER_LIMIT
Z95 = 1.959963984540054


@dataclass
class FileSample:
    """What a file holder sampled (frames) or why nothing was (reason)."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    reason: str | None = None
    scale: float = 0.0
    rows: int = 0

    def info(self) -> dict[str, Any]:
        """How much was drawn: the scale and the rows of every data table (not the seconds, so a
        result repeats exactly for a given seed); capped: fewer than SCALE times the source's
        rows, to stay within MAX_ROWS."""
        return {"scale": self.scale, "sampled_rows_all_tables": self.rows, "capped": self.scale < SCALE}


_DRAWN: dict[tuple[str, int], FileSample] = {}  # the last draw, by the file's digest and seed

NO_MODEL = "no model file given (synthesize writes none; fit -o FILE does): pass it as --model FILE"
SDV_MODEL = "an SDV model file: it records no holdout to compare with"


def draw_seed(seed: int) -> int:
    """The seed of the file holder's draws: its own stream, not the output's (sampled with the
    evaluation's seed, a model would repeat the output's rows)."""
    return int(np.random.SeedSequence([abs(seed), 0x4D4941]).generate_state(1, np.uint64)[0] >> 1)


def sample_as_file_holder(model: Any, *, seed: int, progress: Any = None) -> FileSample:
    """Sample a copy of ``model`` read back from its file, without the source: what anyone holding
    the file can draw. About SCALE times the source's rows, at most MAX_ROWS in all."""
    from relsynth.api import sample
    from relsynth.model.sample import SampleReport
    from relsynth.model.spec import Model

    if not isinstance(model, Model):
        return FileSample(reason=SDV_MODEL)
    holdout = model.source.get("holdout") or {}
    if not holdout.get("fraction"):
        return FileSample(reason="the model was fitted without --holdout: no held-out rows to compare with")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="relsynth_mia_") as tmp:
        path = Path(tmp) / "model.rsm"
        model.save(path)
        copy = Model.load(path)  # nothing from the fit survives: no guard, no source row
        copy.save(path)  # as loaded models save (tables in one order): the same contents, one digest
        key = (_digest(path), seed)
    if key in _DRAWN:  # the same file and seed draw the same rows: evaluated again, not redrawn
        return _DRAWN[key]
    data = {n: t for n, t in copy.tables.items() if t.role == "data"}
    # Scale 1 gives about the source's rows: the training rows and the held-out share beside them.
    per_scale = sum(t.n_rows for t in data.values()) / max(1.0 - float(holdout["fraction"]), 1e-9)
    scale = min(SCALE, MAX_ROWS / max(per_scale, 1.0))
    stage = (lambda _s, i, n: progress("model-file sample", i, n)) if progress else None
    frames = sample(copy, scale=scale, seed=draw_seed(seed), report=SampleReport(), progress=stage)
    rows = sum(len(frames[n]) for n in data if n in frames)
    seconds = time.perf_counter() - started
    log.debug("model-file sample: %d rows at scale %.3g in %.1f s", rows, scale, seconds)
    _DRAWN.clear()  # one kept: a full and a --shareable evaluation of one model share it
    _DRAWN[key] = FileSample(frames, None, scale, rows)
    return _DRAWN[key]


def _digest(path: Path) -> str:
    """What a model file holds, not when it was written (zip entries carry their time)."""
    import io
    import zipfile

    h = hashlib.sha256()
    with zipfile.ZipFile(path) as z:
        h.update(z.read("model.json"))
        with np.load(io.BytesIO(z.read("arrays.npz")), allow_pickle=False) as arrays:
            for name in sorted(arrays.files):
                a = arrays[name]
                h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
                h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def split_units(
    frames: dict[str, pd.DataFrame], plan: Plan, masks: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Per row of each split table, the entity of the holdout split it belongs to (a row of the
    table the split started at), the same rule as relsynth.read.holdout_masks: a patient's
    admissions and diagnoses go to training or holdout together, so they are one unit of the
    interval, not independent rows."""
    from relsynth.model.fit import positions

    out: dict[str, np.ndarray] = {}
    for name in plan.order:
        if name not in masks or name not in frames:
            continue
        n = len(frames[name])
        fk = plan[name].context
        if fk is not None and fk.ref_table in out:
            pos = positions(
                frames[name].reset_index(drop=True),
                fk.columns,
                frames[fk.ref_table].reset_index(drop=True),
                fk.ref_columns,
            )
            parent = out[fk.ref_table]
            # a row without a parent stays in training on its own: a unit of its own
            orphan = -1 - np.arange(n, dtype=np.int64)
            out[name] = np.where(pos >= 0, parent[np.maximum(pos, 0)], orphan)
        else:
            out[name] = np.arange(n, dtype=np.int64)
    return out


def delong(
    d_in: np.ndarray,
    d_out: np.ndarray,
    units_in: np.ndarray | None = None,
    units_out: np.ndarray | None = None,
) -> tuple[float, float, float]:
    """The AUC of "a member sits nearer" (a training row's distance ``d_in`` below a held-out row's
    ``d_out``, ties counted half), its standard error, and the share of tied pairs.

    DeLong's placement values (DeLong et al. 1988; exact for the Mann-Whitney statistic, ties
    included), summed per unit of the split when rows come in units (Obuchowski 1997): rows of one
    patient are not independent draws, and an interval that treated them so would be too narrow."""
    a, b = np.asarray(d_in, float), np.asarray(d_out, float)
    n, m = len(a), len(b)
    sa, sb = np.sort(a), np.sort(b)
    # per member: the share of non-members farther away (+ half the equal ones); and conversely
    b_le, b_lt = np.searchsorted(sb, a, "right"), np.searchsorted(sb, a, "left")
    v_in = ((m - b_le) + 0.5 * (b_le - b_lt)) / m
    a_lt, a_le = np.searchsorted(sa, b, "left"), np.searchsorted(sa, b, "right")
    v_out = (a_lt + 0.5 * (a_le - a_lt)) / n
    auc = float(v_in.mean())
    var = _mean_variance(v_in, units_in) + _mean_variance(v_out, units_out)
    tied = float((b_le - b_lt).sum()) / (n * m)
    return auc, math.sqrt(max(var, 0.0)), tied


def _mean_variance(v: np.ndarray, units: np.ndarray | None) -> float:
    """Variance of the mean of ``v``, rows grouped by ``units`` (cluster-robust; each row its own
    unit when None)."""
    if units is None:
        return float(v.var(ddof=1)) / len(v) if len(v) > 1 else 0.0
    _, inverse = np.unique(units, return_inverse=True)
    k = int(inverse.max()) + 1 if len(inverse) else 0
    if k < 2:
        return 0.0
    resid = np.bincount(inverse, weights=v - v.mean(), minlength=k)  # per unit: sum of deviations
    return float(k / (k - 1) * np.sum(resid**2)) / len(v) ** 2


def _some(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``k`` of ``n`` row positions, drawn without replacement: bounds the cost."""
    return np.arange(n) if n <= k else np.sort(rng.choice(n, k, replace=False))


def membership(
    table: Table,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    drawn: pd.DataFrame,
    columns: list[str],
    rng: np.random.Generator,
    units: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Training rows against held-out rows: which sit nearer to the rows ``drawn`` from the model?
    ``units``: the split's unit of each training and each held-out row (None: rows are units)."""
    from sklearn.neighbors import NearestNeighbors

    columns = [c for c in columns if c in drawn.columns]
    if not columns or not len(drawn) or len(train) < 3:
        return {"available": False, "reason": "too few rows or no comparable columns"}
    if len(holdout) < MIN_HOLDOUT:
        return {"available": False, "reason": f"only {len(holdout)} held-out rows: too few to compare"}
    enc = Encoder(table, drawn, columns)  # scaled by what the file holder sees, not by the source
    s = at_most(enc.transform(drawn), MAX_SAMPLE, rng)
    if s.shape[1] == 0:
        return {"available": False, "reason": "too few rows or no comparable columns"}
    ti, hi_ = _some(len(train), MAX_QUERY, rng), _some(len(holdout), MAX_QUERY, rng)
    t = enc.transform(train.iloc[ti])
    h = enc.transform(holdout.iloc[hi_])
    near = NearestNeighbors(n_neighbors=1).fit(s)
    d_train, d_hold = near.kneighbors(t)[0][:, 0], near.kneighbors(h)[0][:, 0]
    u_in, u_out = (units[0][ti], units[1][hi_]) if units is not None else (None, None)
    auc, se, tied = delong(d_train, d_hold, u_in, u_out)
    lo, hi = max(0.0, auc - Z95 * se), min(1.0, auc + Z95 * se)
    out: dict[str, Any] = {
        "available": True,
        "auc": auc,
        "ci": [lo, hi],
        "tied": tied,
        "training_rows": len(t),
        "holdout_rows": len(h),
        "holdout_units": len(np.unique(u_out)) if u_out is not None else len(h),
        "sampled_rows": len(drawn),
        "searched_rows": len(s),
        "dcr_train_median": float(np.median(d_train)),
        "dcr_holdout_median": float(np.median(d_hold)),
        "flag_above": FLAG_AUC,
        "flagged": lo > FLAG_AUC,
    }
    if tied > MAX_TIED:  # ties score one half each: mostly ties pass whatever the model learned
        out["inconclusive"] = (
            f"{tied:.0%} of (training, held-out) row pairs are equally near the sampled rows "
            "(the compared columns take few values): this test cannot tell memorization here"
        )
    return out


def table_result(
    name: str,
    table: Table,
    train: pd.DataFrame,
    holdout: pd.DataFrame | None,
    sampled: FileSample | None,
    columns: list[str],
    rng: np.random.Generator,
    units: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """One table's model-file membership result, or why it was not run."""
    if sampled is None:
        return {"available": False, "reason": NO_MODEL}
    if sampled.reason:
        return {"available": False, "reason": sampled.reason}
    if holdout is None:
        return {"available": False, "reason": "no held-out rows of this table"}
    drawn = sampled.frames.get(name)
    if drawn is None:
        return {"available": False, "reason": "the model file holds no model of this table"}
    out = membership(table, train, holdout, drawn.reset_index(drop=True), columns, rng, units)
    return {**out, **sampled.info()} if out["available"] else out


def exposed(result: dict[str, Any] | None) -> bool:
    return bool(result and result.get("available") and result.get("flagged"))
