"""The evaluation says no more than the data does: the summary and the report lead with detection
(tables a classifier tells from the source, and what gives each away), and quality is sdmetrics'
QualityReport beside relsynth's own, on the same rows and columns. In-memory frames, no database."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

import relsynth
from relsynth.evaluation.report import render_html
from relsynth.evaluation.summary import QUALITY_GAP, TOLD_APART_AUC, summary_lines
from relsynth.frames import schema_from_frames

LEVELS = ["alpha-level", "bravo-level", "charlie-level"]  # values that must never name a feature


def _people(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": np.arange(n),
            "age": rng.normal(50, 10, n).round(1),
            "weight": rng.normal(70 + shift, 8, n).round(1),
            "height": rng.normal(170, 9, n).round(1),
            "group": rng.choice(LEVELS, n),
        }
    )


@pytest.fixture(scope="module")
def shifted() -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame], Any]:
    """Real people, and synthetic ones whose weight alone is 25 kg off: obvious in one column."""
    real = {"people": _people(np.random.default_rng(1), 800)}
    synth = {"people": _people(np.random.default_rng(2), 800, shift=25.0)}
    return real, synth, schema_from_frames(real, primary_keys={"people": ["person_id"]})


@pytest.fixture(scope="module")
def evaluated(shifted) -> dict[str, Any]:
    real, synth, schema = shifted
    return relsynth.evaluate(real, synth, schema=schema)


def test_the_column_that_differs_is_what_gives_the_table_away(shifted, evaluated) -> None:
    d = evaluated["tables"]["people"]["detectability"]
    assert d["auc"] >= TOLD_APART_AUC
    top = d["top_features"]
    assert top[0]["feature"] == "weight" and top[0]["share"] > 0.5
    assert {f["feature"] for f in top} <= {"age", "weight", "height", "group"}  # names, never levels
    assert abs(sum(f["share"] for f in top) - 1.0) < 1e-9  # every feature of this table is listed
    s = evaluated["scores"]["detection"]
    assert s["told_apart"] == ["people"] and s["tables"] == 1 and s["threshold_auc"] == TOLD_APART_AUC
    # Deterministic under the evaluation's seed.
    real, synth, schema = shifted
    again = relsynth.evaluate(real, synth, schema=schema)
    assert again["tables"]["people"]["detectability"] == d


def test_the_summary_leads_with_detection_not_quality(evaluated) -> None:
    lines = summary_lines(evaluated)
    assert lines[0].startswith("detection: a classifier tells 1 of 1 tables from the source")
    assert lines[1].startswith("  people: AUC") and "given away by weight (" in lines[1]
    quality = next(i for i, line in enumerate(lines) if line.startswith("quality"))
    assert quality > 1, "a quality score must not come before what the classifier tells apart"
    assert not any(v in line for line in lines for v in LEVELS)


def test_sdmetrics_quality_is_beside_ours_by_default(evaluated) -> None:
    sd = evaluated["sdmetrics"]["quality"]
    assert 0.0 < sd["score"] <= 1.0 and "diagnostic" not in evaluated["sdmetrics"]
    s = evaluated["scores"]
    assert s["sdmetrics_quality"] == sd["score"]
    assert s["quality_gap"] == pytest.approx(s["overall"] - sd["score"])
    line = next(x for x in summary_lines(evaluated) if x.startswith("quality"))
    assert (
        f"sdmetrics QualityReport {sd['score']:.3f}" in line and f"relsynth's own {s['overall']:.3f}" in line
    )
    # The same columns: a single table's column shapes agree with sdmetrics'.
    assert sd["properties"]["Column Shapes"] == pytest.approx(s["column_shapes"], abs=0.02)


def test_a_wide_gap_with_sdmetrics_is_said() -> None:
    rng = np.random.default_rng(3)
    real = {"people": _people(rng, 300)}
    result = relsynth.evaluate(real, {"people": _people(rng, 300)}, schema=schema_from_frames(real))
    line = next(x for x in summary_lines(result) if x.startswith("quality"))
    assert "quote sdmetrics'" not in line or abs(result["scores"]["quality_gap"]) > QUALITY_GAP
    inflated = copy.deepcopy(result)
    inflated["sdmetrics"]["quality"]["score"] = result["scores"]["overall"] - 0.2
    line = next(x for x in summary_lines(inflated) if x.startswith("quality"))
    assert "ours 0.20 above sdmetrics'" in line
    broken = copy.deepcopy(result)
    broken["sdmetrics"] = {"error": "sdmetrics failed on this data (ValueError)"}
    line = next(x for x in summary_lines(broken) if x.startswith("quality"))
    assert line.startswith("quality: relsynth's own") and "not reproduced by an independent scorer" in line


def test_the_report_leads_with_detection_and_shows_no_green_quality(shifted, evaluated) -> None:
    page = render_html(evaluated)
    summary = page[page.index('id="summary"') : page.index('id="schema"')]
    assert summary.index('id="detection"') < summary.index('id="quality"')
    detection = summary[summary.index('id="detection"') : summary.index('id="quality"')]
    assert '<div class="big poor">1 of 1</div>' in detection and "<code>weight</code>" in detection
    quality = summary[summary.index('id="quality"') :]
    assert '<div class="big good">' not in quality[: quality.index("</div></div>")]
    assert "sdmetrics" in quality
    section = page[page.index('data-table="people"') :]
    assert "What the classifier relies on" in section and "<code>weight</code>" in section
    # Shareable: the features are there, the source's values are not.
    real, synth, schema = shifted
    shared = relsynth.evaluate(real, synth, schema=schema, shareable=True)
    assert shared["tables"]["people"]["detectability"]["top_features"][0]["feature"] == "weight"
    shared_page = render_html(shared)
    assert "<code>weight</code>" in shared_page
    assert not any(v in shared_page for v in LEVELS)
    assert not any(v in json.dumps(shared) for v in LEVELS)


def test_like_data_is_not_told_apart_by_its_children() -> None:
    """Two independent draws of one family: child counts and child means agree in distribution, so
    the parents are not told apart. Scaled each by its own mean, the same count landed on two
    floats and a tree split between them (AUC 1.00 on the demo's admissions)."""

    def family(seed: int) -> dict[str, pd.DataFrame]:
        rng = np.random.default_rng(seed)
        parents = pd.DataFrame({"pid": np.arange(600), "size": rng.normal(10, 2, 600).round(2)})
        counts = rng.poisson(3, 600)
        children = pd.DataFrame(
            {
                "cid": np.arange(counts.sum()),
                "pid": np.repeat(parents["pid"].to_numpy(), counts),
                "amount": rng.gamma(2.0, 10.0, counts.sum()).round(2),
            }
        )
        return {"parent": parents, "child": children}

    real, synth = family(1), family(2)
    schema = schema_from_frames(
        real,
        primary_keys={"parent": ["pid"], "child": ["cid"]},
        foreign_keys=[("child", ["pid"], "parent", ["pid"])],
    )
    result = relsynth.evaluate(real, synth, schema=schema)
    d = result["tables"]["parent"]["detectability"]
    assert d["auc"] < 0.65, d
    assert summary_lines(result)[0].startswith("detection: a classifier tells none of 2 tables")
    # A child count that differs is named as what gives the parent away.
    more = family(2)
    counts = np.random.default_rng(5).poisson(6, 600)
    more["child"] = pd.DataFrame(
        {
            "cid": np.arange(counts.sum()),
            "pid": np.repeat(np.arange(600), counts),
            "amount": np.random.default_rng(6).gamma(2.0, 10.0, counts.sum()).round(2),
        }
    )
    told = relsynth.evaluate(real, more, schema=schema)["tables"]["parent"]["detectability"]
    assert told["auc"] >= TOLD_APART_AUC
    assert told["top_features"][0]["feature"] == "child: rows per parent"
