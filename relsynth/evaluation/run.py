"""Evaluate synthetic tables against their source: one JSON-ready result with every number.

The result feeds the terminal summary, the JSON file and the HTML report. With ``shareable``
it holds no source-side detail: no real histograms, no real correlations, no category values.
"""

from __future__ import annotations

import logging
import math
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from relsynth.evaluation import attacks, fidelity, learn, membership, privacy
from relsynth.evaluation.features import comparable_columns, is_numeric_kind, numeric_values
from relsynth.evaluation.integrity import check_integrity
from relsynth.evaluation.summary import TOLD_APART_AUC
from relsynth.graph import Plan
from relsynth.graph import plan as make_plan
from relsynth.schema import Schema

log = logging.getLogger("relsynth")
Progress = Callable[[str, int, int], None]
RESULT_FORMAT = "relsynth.evaluation"


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(kept)) if kept else None


def _child_features(
    name: str,
    plan: Plan,
    schema: Schema,
    frames: dict[str, pd.DataFrame],
    real: dict[str, pd.DataFrame],
) -> tuple[np.ndarray | None, list[str]]:
    """Per parent row: how many children it has in each child table, and their numbers' means,
    with the features' names (tables and columns, never values).

    The children and columns are chosen from the ``real`` frames, so real and synthetic rows get
    the same features (a child column all NULL in one of them is still a column)."""
    from relsynth.model.fit import positions

    parent = frames[name].reset_index(drop=True)
    cols, names = [], []
    for child in plan.children(name):
        if child not in real or not len(real[child]):
            continue
        fk = plan[child].context
        assert fk is not None, "Plan.children lists the tables modelled under their context FK"
        table = schema.table(child)
        child_frame = frames.get(child, pd.DataFrame(columns=list(table.column_names))).reset_index(drop=True)
        pos = positions(child_frame, fk.columns, parent, fk.ref_columns)
        ok = pos >= 0
        counts = np.bincount(pos[ok], minlength=len(parent)).astype(float)
        cols.append(np.log1p(counts))
        names.append(f"{child}: rows per {name}")
        for c in comparable_columns(table, real[child])[:5]:
            if not is_numeric_kind(table, c):
                continue
            x = numeric_values(child_frame[c])
            good = ok & ~np.isnan(x)
            sums = np.bincount(pos[good], weights=x[good], minlength=len(parent))
            n = np.bincount(pos[good], minlength=len(parent))
            cols.append(np.where(n > 0, sums / np.maximum(n, 1), 0.0))
            names.append(f"{child}.{c}: mean per {name}")
    if not cols:
        return None, []
    return np.column_stack(cols), names


def _child_pair(
    name: str, plan: Plan, schema: Schema, real: dict[str, pd.DataFrame], synth: dict[str, pd.DataFrame]
) -> tuple[np.ndarray | None, np.ndarray | None, list[str]]:
    """_child_features of both sides, scaled alike by the real side's mean and spread.

    Scaled each by its own, the same child count landed on two floats (-1.077 real, -1.079
    synthetic) and a tree split between them: the demo's admissions were told apart with AUC 1.00
    by their procedure counts, whose distributions agree to a few rows."""
    xr, names = _child_features(name, plan, schema, real, real)
    xs, _ = _child_features(name, plan, schema, synth, real)
    if xr is None or xs is None:
        return None, None, []
    centre, spread = xr.mean(axis=0), xr.std(axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    return (xr - centre) / spread, (xs - centre) / spread, names


def evaluate_frames(
    real: dict[str, pd.DataFrame],
    synth: dict[str, pd.DataFrame],
    schema: Schema,
    *,
    plan: Plan | None = None,
    holdout: dict[str, Any] | None = None,
    target: str | None = None,
    sdmetrics: bool = False,
    shareable: bool = False,
    seed: int = 0,
    integrity: Any = None,
    labels: dict[str, str] | None = None,
    progress: Progress | None = None,
    model_sample: membership.FileSample | None = None,
) -> dict[str, Any]:
    """Compare ``synth`` with ``real`` table by table and relationship by relationship.

    ``holdout`` is what the model recorded (fraction, seed): the real rows it withheld are
    rebuilt by the same hash rule and used as the privacy baseline. ``model_sample`` is what a
    holder of the model file drew from it (relsynth.evaluation.membership), or why nothing was.
    """
    from relsynth.read import holdout_masks

    plan = plan or make_plan(schema)
    rng = np.random.default_rng(seed)
    data = [n for n in plan.order if plan[n].role == "data" and n in real and n in synth and len(real[n])]
    masks: dict[str, np.ndarray] = {}
    if holdout and holdout.get("fraction"):
        masks = holdout_masks(real, schema, plan, holdout["fraction"], holdout.get("seed", 0))
    units = membership.split_units(real, plan, masks) if model_sample and not model_sample.reason else {}
    notes: list[str] = []
    tables: dict[str, Any] = {}
    for i, name in enumerate(data):
        if progress:
            progress("evaluate", i, len(data))
        table = schema.table(name)
        r, s = real[name].reset_index(drop=True), synth[name].reset_index(drop=True)
        cols = comparable_columns(table, r)
        shapes = fidelity.column_shapes(table, r, s, cols)
        pairs = fidelity.column_pairs(table, r, s, cols)
        extra_real, extra_synth, extra_names = _child_pair(name, plan, schema, real, synth)
        detect = learn.detectability(table, r, s, cols, rng, extra_real, extra_synth, extra_names)
        held = masks.get(name)
        train = r[~held] if held is not None else r
        hold = r[held] if held is not None and held.any() else None
        corr_cols = [c for c in cols if is_numeric_kind(table, c)][: fidelity.MAX_PAIR_COLUMNS]
        tables[name] = {
            "role": plan[name].role,
            "rows": {"real": len(r), "synthetic": len(s)},
            "columns": shapes,
            "column_shapes": _mean([c["score"] for c in shapes]),
            "pairs": pairs,
            "column_pairs": _mean([p["score"] for p in pairs]),
            "correlation": {
                "columns": corr_cols,
                "real": None if shareable else fidelity.correlation_matrix(table, r, cols),
                "synthetic": fidelity.correlation_matrix(table, s, cols),
            },
            "detectability": detect,
            "privacy": {
                **privacy.exact_copies(
                    table, r, s, privacy.record_columns(table, r, s), train if held is not None else None
                ),
                "distance": privacy.distances(table, train, s, cols, hold, rng),
                "rare_categories": privacy.rare_categories(
                    r, s, [c for c in cols if not is_numeric_kind(table, c)], values=not shareable
                ),
                # Its own seed per table: the attacks leave the other metrics' draws as they were.
                "attacks": attacks.attacks(
                    table, train, hold, s, cols, (abs(seed), zlib.crc32(name.encode("utf-8")))
                ),
                "model_membership": membership.table_result(
                    name,
                    table,
                    train,
                    hold,
                    model_sample,
                    cols,
                    np.random.default_rng((abs(seed), zlib.crc32(name.encode("utf-8")), 1)),
                    (units[name][~held], units[name][held]) if name in units and held is not None else None,
                ),
            },
            "not_compared": [
                c.name
                for c in table.columns
                if c.name not in cols
                and (c.pii or c.kind.value in {"text", "id"})
                and c.name not in set(table.primary_key) | table.fk_columns()
            ],
        }
    relationships = []
    for name in plan.order:
        if name not in real or name not in synth or not len(real[name]):
            continue
        table = schema.table(name)
        tp = plan[name]
        for fk in (*([tp.context] if tp.context else []), *tp.secondary, *tp.reference_fks):
            parent = fk.ref_table
            if parent not in real or parent not in synth or not len(real[parent]):
                continue
            child_cols = comparable_columns(table, real[name])
            parent_cols = (
                comparable_columns(schema.table(parent), real[parent]) if plan[parent].role == "data" else []
            )
            relationships.append(
                fidelity.relationship(fk, table, schema.table(parent), real, synth, child_cols, parent_cols)
            )
    if integrity is None:
        integrity = check_integrity(schema, synth)
    result: dict[str, Any] = {
        "format": RESULT_FORMAT,
        "version": 1,
        "source": (labels or {}).get("source", "source"),
        "synthetic": (labels or {}).get("synthetic", "synthetic"),
        "shareable": shareable,
        "tables": tables,
        "relationships": relationships,
        "integrity": {
            "problems": integrity.problems,
            "lines": integrity.lines(),
            "orphans": integrity.orphans,
            "duplicate_keys": integrity.duplicate_keys,
            "not_null": integrity.not_null,
            "checks": integrity.checks,
        },
        "graph": _graph(plan, real, synth),
        "notes": notes,
    }
    if target:
        result["utility"] = _utility(schema, real, synth, target, rng)
    # sdmetrics' QualityReport always (an independent scorer beside ours, on the same rows);
    # ``sdmetrics`` adds its DiagnosticReport.
    result["sdmetrics"] = _sdmetrics(schema, plan, real, synth, diagnostic=sdmetrics, seed=seed)
    if shareable:
        _strip_source_detail(result, synth)
    result["scores"] = _scores(result, bool(masks))
    result["worst"] = _worst(result)
    if progress:
        progress("evaluate", len(data), len(data))
    return _clean(result)


def _clean(value: Any) -> Any:
    """NaN and infinities as None, so the JSON is valid JSON."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float | np.floating) and not math.isfinite(float(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _scores(result: dict[str, Any], has_holdout: bool) -> dict[str, Any]:
    tables = result["tables"].values()
    rels = result["relationships"]
    shapes = _mean([c["score"] for t in tables for c in t["columns"]])
    pairs = _mean([p["score"] for t in tables for p in t["pairs"]])
    cardinality = _mean([r["cardinality"] for r in rels])
    trends = _mean([r["trend_score"] for r in rels])
    detect = [t["detectability"] for t in tables if t["detectability"].get("available")]
    judged = {
        n: t["detectability"] for n, t in result["tables"].items() if t["detectability"].get("available")
    }
    dist = {n: t["privacy"]["distance"] for n, t in result["tables"].items()}
    flagged = [n for n, d in dist.items() if d.get("flagged")]
    inconclusive = [n for n, d in dist.items() if d.get("inconclusive")]
    attacked = {n: t["privacy"].get("attacks") or {} for n, t in result["tables"].items()}
    members = {n: t["privacy"].get("model_membership") or {} for n, t in result["tables"].items()}
    overall = _mean([shapes, pairs, cardinality, trends])
    sd_quality = (result.get("sdmetrics") or {}).get("quality") or {}
    sd_score = sd_quality.get("score")
    return {
        # What the headline leads with: how many tables a classifier tells from the source.
        "detection": {
            "threshold_auc": TOLD_APART_AUC,
            "tables": len(judged),
            "told_apart": sorted(
                (n for n, d in judged.items() if d["auc"] >= TOLD_APART_AUC),
                key=lambda n: (-judged[n]["auc"], n),
            ),
            "worst_auc": max((d["auc"] for d in judged.values()), default=None),
        },
        "overall": overall,
        # The independent scorer's number beside ours, and how far ours sits above it.
        "sdmetrics_quality": sd_score,
        "quality_gap": None if sd_score is None or overall is None else overall - sd_score,
        "column_shapes": shapes,
        "column_pairs": pairs,
        "cardinality": cardinality,
        "parent_child": trends,
        "detectability_auc": _mean([d["auc"] for d in detect]),
        "detectability": _mean([d["score"] for d in detect]),
        "null_rate_diff": _mean([c["null_diff"] for t in tables for c in t["columns"]]),
        "integrity_problems": result["integrity"]["problems"],
        "exact_copies": sum(t["privacy"]["copies"] for t in tables),
        "privacy": {
            "holdout": has_holdout,
            "flagged_tables": flagged,
            "inconclusive_tables": inconclusive,
            # Reported, not part of the verdict: an attack whose risk interval lies above 0.
            "attack_risk_tables": [n for n, a in attacked.items() if attacks.exposed(a)],
            "attacks_run": any(a.get("available") for a in attacked.values()),
            # Reported, not part of the verdict: the model file's holder, sampling at will.
            "model_membership_tables": [n for n, m in members.items() if membership.exposed(m)],
            "model_membership_run": any(m.get("available") for m in members.values()),
            # Without a holdout there is no baseline: no verdict, only the copies and distances.
            # A table the distance test cannot judge (mostly ties) withholds a pass.
            "passed": (
                False
                if flagged or sum(t["privacy"]["copies"] for t in tables)
                else (None if inconclusive else True)
            )
            if has_holdout
            else (False if sum(t["privacy"]["copies"] for t in tables) else None),
            "note": None
            if has_holdout
            else "no holdout: the model was fitted without --holdout, so synthetic rows could not be "
            "compared with rows the model never saw; only copies and distances to the source are reported",
        },
    }


def _worst(result: dict[str, Any], k: int = 5) -> dict[str, Any]:
    cols = [
        {"table": n, "column": c["name"], "metric": c["metric"], "score": c["score"]}
        for n, t in result["tables"].items()
        for c in t["columns"]
    ]
    rels = [
        {"fk": r["fk"], "cardinality": r["cardinality"], "trend_score": r["trend_score"]}
        for r in result["relationships"]
    ]
    return {
        "columns": sorted(cols, key=lambda c: c["score"])[:k],
        "relationships": sorted(rels, key=lambda r: min(r["cardinality"], r["trend_score"] or 1.0))[:k],
    }


def _graph(plan: Plan, real: dict[str, pd.DataFrame], synth: dict[str, pd.DataFrame]) -> dict[str, Any]:
    nodes = [
        {
            "name": n,
            "role": plan[n].role,
            "depth": plan[n].depth,
            "rows_real": len(real.get(n, ())),
            "rows_synthetic": len(synth.get(n, ())),
        }
        for n in plan.order
    ]
    edges = []
    for n in plan.order:
        tp = plan[n]
        kinds = [(tp.context, "context")] if tp.context else []
        kinds += [(fk, "secondary") for fk in tp.secondary] + [(fk, "reference") for fk in tp.reference_fks]
        kinds += [(fk, "self") for fk in tp.self_refs] + [(fk, "cut") for fk in tp.deferred]
        edges += [
            {"parent": fk.ref_table, "child": n, "columns": list(fk.columns), "kind": k} for fk, k in kinds
        ]
    return {"nodes": nodes, "edges": edges}


def _utility(
    schema: Schema,
    real: dict[str, pd.DataFrame],
    synth: dict[str, pd.DataFrame],
    target: str,
    rng: np.random.Generator,
) -> dict[str, Any]:
    from relsynth.errors import RelsynthError

    name, _, column = target.partition(".")
    if not column:
        raise RelsynthError(f"--target takes TABLE.COLUMN, got '{target}'")
    table = schema.table(name)
    table.column(column)
    cols = comparable_columns(table, real[name])
    if column not in cols:
        raise RelsynthError(
            f"--target {target}: the column is a key or generated data; choose a modelled column"
        )
    return learn.utility(table, real[name], synth[name], cols, column, rng)


def _sdmetrics(
    schema: Schema,
    plan: Plan,
    real: dict[str, pd.DataFrame],
    synth: dict[str, pd.DataFrame],
    *,
    diagnostic: bool,
    seed: int,
) -> dict[str, Any]:
    """sdmetrics' multi-table QualityReport (and DiagnosticReport), next to relsynth's numbers.

    Same rows as ours (the evaluation's sample) and the same columns: keys, generated and text
    columns are ids to sdmetrics, and a copied reference table keeps only its keys (relsynth
    does not judge it; sdmetrics would score the copy 1.0). sdmetrics subsamples large tables
    with numpy's global generator: it is seeded here, and restored after, so numbers repeat."""
    import warnings

    from relsynth import sdv_engine

    state = np.random.get_state()
    try:
        meta = sdv_engine.metadata(schema, plan).to_dict()
        for name, spec in meta["tables"].items():
            if plan[name].role != "data":
                spec["columns"] = {c: v for c, v in spec["columns"].items() if v.get("sdtype") == "id"}
        keep = set(meta["tables"])
        r = {n: real[n][list(meta["tables"][n]["columns"])] for n in keep if n in real}
        s = {n: synth[n][list(meta["tables"][n]["columns"])] for n in keep if n in synth}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from sdmetrics.reports.multi_table import DiagnosticReport, QualityReport

            np.random.seed(abs(seed) % 2**32)
            out: dict[str, Any] = {}
            reports: list[tuple[str, Any]] = [("quality", QualityReport())]
            if diagnostic:
                reports.append(("diagnostic", DiagnosticReport()))
            for key, report in reports:
                report.generate(r, s, meta, verbose=False)
                props = report.get_properties()
                out[key] = {
                    "score": float(report.get_score()),
                    "properties": {
                        str(p): (None if pd.isna(v) else float(v))
                        for p, v in zip(props["Property"], props["Score"], strict=True)
                    },
                }
        return out
    except Exception as err:  # sdmetrics refuses some schemas: keep our numbers
        # The type only: sdmetrics' messages can quote a value, and this line reaches the summary.
        log.debug("sdmetrics failed: %s", type(err).__name__)
        return {"error": f"sdmetrics failed on this data ({type(err).__name__})"}
    finally:
        np.random.set_state(state)


def _strip_source_detail(result: dict[str, Any], synth: dict[str, pd.DataFrame]) -> None:
    """--shareable: nothing that describes the source's values survives. Plots are redrawn from
    the synthetic data alone (its own bins, its own category order, no labels); real correlations,
    real child counts and rare values are removed."""
    for name, t in result["tables"].items():
        frame = synth.get(name)
        for c in t["columns"]:
            plot = c["plot"]
            values = (
                frame[c["name"]] if frame is not None and c["name"] in frame else pd.Series([], dtype=object)
            )
            if plot.get("type") == "hist":
                x = numeric_values(values)
                x = x[~np.isnan(x)]
                counts, edges = (
                    np.histogram(x, bins=len(plot["edges"]) - 1) if len(x) else (np.zeros(1), np.zeros(2))
                )
                plot.update(edges=edges.tolist(), synthetic=(counts / max(len(x), 1)).tolist())
            else:
                shares = (
                    values.astype(object)
                    .where(values.notna(), None)  # type: ignore[call-overload]  # stubs: other=None is valid
                    .value_counts(normalize=True, dropna=False)
                )
                plot.update(
                    labels=[f"category {i + 1}" for i in range(len(shares[:20]))],
                    synthetic=[float(v) for v in shares[:20]],
                )
            plot["real"] = None
        for p in t["pairs"]:
            p.pop("real", None)
        for r in t["privacy"]["rare_categories"]:
            r.pop("value", None)
    for rel in result["relationships"]:
        rel["counts"]["real"] = None
        rel.pop("real_mean_children", None)
        for trend in rel["trends"]:
            trend.pop("real", None)
        synthetic = np.asarray(rel["counts"]["synthetic"], dtype=float)
        rel["counts"]["edges"] = list(range(len(synthetic) + 1))  # bin numbers, not the source's quantiles
