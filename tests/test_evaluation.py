"""The evaluation tells good synthetic data from copies, from shuffles and from broken data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from relsynth.frames import schema_from_frames


@pytest.fixture(scope="module")
def demo(demo_db: str):
    """The demo's real tables, a model fitted with a holdout, and its synthetic tables."""
    model = relsynth.fit(demo_db, seed=5, holdout=0.2)
    engine = sa.create_engine(demo_db)
    real = {n: pd.read_sql_table(n, engine) for n in model.plan.order}
    engine.dispose()
    return real, model, relsynth.sample(model)


@pytest.fixture(scope="module")
def good(demo):
    real, model, synth = demo
    return relsynth.evaluate(real, synth, model=model, target="patients.insurance")


def test_good_synthetic_data(good) -> None:
    s = good["scores"]
    assert s["overall"] > 0.85 and s["column_shapes"] > 0.93
    assert s["integrity_problems"] == 0
    assert s["exact_copies"] == 0
    assert s["privacy"]["holdout"] is True
    assert good["utility"]["available"] and good["utility"]["tstr"] > 0.5 * good["utility"]["trtr"]
    assert 0.5 <= s["detectability_auc"] < 0.95
    assert {"patients", "admissions", "lab_results"} <= set(good["tables"])
    assert "diagnosis_codes" not in good["tables"]  # a copied reference table is not judged


def test_a_copy_scores_one_and_fails_privacy(demo, good) -> None:
    real, model, _ = demo
    copy = relsynth.evaluate(real, {n: f.copy() for n, f in real.items()}, model=model)
    s = copy["scores"]
    assert s["overall"] > 0.99 and s["column_shapes"] > 0.999 and s["cardinality"] > 0.999
    assert s["exact_copies"] > 1000
    assert s["privacy"]["passed"] is False
    assert s["overall"] > good["scores"]["overall"]
    # A model that memorizes emits its training rows: they sit on training rows, not on the holdout's.
    from relsynth.read import holdout_masks

    masks = holdout_masks(real, model.schema, model.plan, 0.2, model.seed)
    memorized = {n: (f[~masks[n]] if n in masks else f).copy() for n, f in real.items()}
    leak = relsynth.evaluate(real, memorized, model=model)
    assert {"patients", "admissions", "lab_results"} <= set(leak["scores"]["privacy"]["flagged_tables"])


def test_shuffled_columns_and_broken_links_score_lower(demo, good) -> None:
    real, model, synth = demo
    rng = np.random.default_rng(0)
    shuffled = {}
    for name, frame in synth.items():
        frame = frame.copy()
        table = model.schema.table(name)
        keys = set(table.primary_key) | table.fk_columns()
        for c in frame.columns:
            if c not in keys:
                frame[c] = frame[c].to_numpy()[rng.permutation(len(frame))]
        shuffled[name] = frame
    worse = relsynth.evaluate(real, shuffled, model=model)
    assert worse["scores"]["column_pairs"] < good["scores"]["column_pairs"] - 0.02
    assert worse["scores"]["parent_child"] < good["scores"]["parent_child"] - 0.03
    assert worse["scores"]["overall"] < good["scores"]["overall"]

    def pair(result: dict, table: str, a: str, b: str) -> float:
        return next(p["score"] for p in result["tables"][table]["pairs"] if {p["a"], p["b"]} == {a, b})

    assert pair(good, "lab_results", "test_name", "unit") > 0.95
    assert pair(worse, "lab_results", "test_name", "unit") < 0.6  # a strong dependency, destroyed

    broken = {n: f.copy() for n, f in synth.items()}
    labs = broken["lab_results"]
    broken["lab_results"] = labs.assign(
        admission_id=labs["admission_id"].to_numpy()[rng.permutation(len(labs))]
    )
    relinked = relsynth.evaluate(real, broken, model=model)
    by_fk = {r["fk"]: r for r in relinked["relationships"]}
    good_fk = {r["fk"]: r for r in good["relationships"]}
    key = "lab_results(admission_id) -> admissions(admission_id)"
    assert by_fk[key]["trend_score"] < good_fk[key]["trend_score"]

    def trend(rel: dict) -> float:
        return next(
            t["score"]
            for t in rel["trends"]
            if t["parent_column"] == "admitted_at" and t["child_column"] == "collected_at"
        )

    assert trend(good_fk[key]) > 0.95
    assert trend(by_fk[key]) < 0.7  # labs no longer fall within their admission
    assert relinked["scores"]["integrity_problems"] > 0  # the composite FK to diagnoses now dangles


def test_orphans_duplicates_and_nulls_are_detected(demo) -> None:
    real, model, synth = demo
    bad = {n: f.copy() for n, f in synth.items()}
    bad["admissions"].loc[0, "patient_id"] = 10**9  # an orphan
    bad["patients"] = pd.concat(
        [bad["patients"], bad["patients"].head(3)], ignore_index=True
    )  # duplicate keys
    bad["wards"].loc[0, "name"] = None  # NULL in NOT NULL
    result = relsynth.evaluate(real, bad, model=model)
    integrity = result["integrity"]
    assert integrity["orphans"]["admissions(patient_id) -> patients(patient_id)"] == 1
    assert integrity["duplicate_keys"]["patients(patient_id)"] == 3
    assert integrity["not_null"]["wards.name"] == 1
    assert result["scores"]["integrity_problems"] >= 5


def test_no_holdout_says_why(demo) -> None:
    real, model, _ = demo
    plain = relsynth.fit(real, schema=model.schema, seed=1)
    result = relsynth.evaluate(real, relsynth.sample(plain), model=plain)
    assert result["scores"]["privacy"]["holdout"] is False
    assert "--holdout" in result["scores"]["privacy"]["note"]


def test_shareable_holds_no_source_values(demo, good) -> None:
    real, model, synth = demo
    shared = relsynth.evaluate(real, synth, model=model, shareable=True)
    text = json.dumps(shared, default=str)
    for table in shared["tables"].values():
        for col in table["columns"]:
            assert col["plot"]["real"] is None
        assert table["correlation"]["real"] is None
    real_labels = {
        lab
        for t in good["tables"].values()
        for c in t["columns"]
        if c["plot"]["type"] == "bar"
        for lab in c["plot"]["labels"]
        if len(lab) > 3
    }
    assert real_labels and not any(f'"{lab}"' in text for lab in real_labels)


def test_cli_evaluate_databases(demo_db: str, tmp_path: Path) -> None:
    target = tmp_path / "syn.db"
    model = tmp_path / "m.rsm"
    assert (
        CliRunner().invoke(main, ["-q", "fit", demo_db, "-o", str(model), "--holdout", "0.2"]).exit_code == 0
    )
    assert (
        CliRunner().invoke(main, ["-q", "sample", str(model), "--target", f"sqlite:///{target}"]).exit_code
        == 0
    )
    report, data = tmp_path / "r.html", tmp_path / "r.json"
    result = CliRunner().invoke(
        main,
        [
            "-q",
            "evaluate",
            demo_db,
            f"sqlite:///{target}",
            "--model",
            str(model),
            "-o",
            str(report),
            "--json",
            str(data),
            "--target",
            "lab_results.flag",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "quality" in result.stdout and "integrity: 0 problems" in result.stdout
    assert "utility (lab_results.flag" in result.stdout
    assert json.loads(data.read_text())["scores"]["integrity_problems"] == 0
    assert report.stat().st_size > 1000
    bad = CliRunner().invoke(main, ["-q", "evaluate", demo_db, f"sqlite:///{target}", "--target", "nope.col"])
    assert bad.exit_code == 1 and "Unknown table 'nope'" in bad.stderr


def test_synthesize_ends_with_a_report(demo_db: str, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    result = CliRunner().invoke(
        main,
        [
            "-q",
            "synthesize",
            demo_db,
            f"sqlite:///{tmp_path / 's.db'}",
            "--scale",
            "0.2",
            "--holdout",
            "0.2",
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "quality" in result.stdout and report.exists()
    result = CliRunner().invoke(
        main,
        [
            "-q",
            "synthesize",
            demo_db,
            f"sqlite:///{tmp_path / 't.db'}",
            "--scale",
            "0.1",
            "--no-report",
            "--report",
            str(tmp_path / "none.html"),
        ],
    )
    assert result.exit_code == 0 and "quality" not in result.stdout and not (tmp_path / "none.html").exists()


def test_a_child_table_empty_on_one_side_only_still_evaluates() -> None:
    """Detectability gave each parent row its children's features, chosen from whichever side it
    looked at: a child table sampled empty (scale 0.5 of a small one) dropped its features on the
    synthetic side only, and evaluate crashed on mismatched widths (adversarial run 4, MariaDB)."""
    from relsynth.evaluation.run import evaluate_frames
    from relsynth.frames import schema_from_frames

    rng = np.random.default_rng(0)
    parent = pd.DataFrame({"id": np.arange(1, 61), "x": rng.normal(size=60)})
    child = pd.DataFrame({"id": np.arange(1, 31), "p": rng.integers(1, 61, 30), "y": rng.normal(size=30)})
    other = pd.DataFrame({"id": np.arange(1, 91), "p": rng.integers(1, 61, 90), "z": rng.normal(size=90)})
    real = {"parent": parent, "child": child, "other": other}
    schema = schema_from_frames(
        real,
        primary_keys={"parent": ["id"], "child": ["id"], "other": ["id"]},
        foreign_keys=[("child", ["p"], "parent", ["id"]), ("other", ["p"], "parent", ["id"])],
    )
    synth = {"parent": parent.assign(x=rng.normal(size=60)), "child": child.iloc[:0], "other": other}
    result = evaluate_frames(real, synth, schema)
    assert result["tables"]["parent"]["detectability"]["available"]


def test_a_shareable_report_of_infinite_floats() -> None:
    """Attack round 28: a PostgreSQL float column holding 'Infinity' (heights of unknown, as some
    exports write them) made --shareable an internal error: the synthetic histogram had no range."""
    rng = np.random.default_rng(4)
    height = rng.normal(170, 10, 400)
    height[::40] = np.inf
    real = {
        "people": pd.DataFrame({"id": np.arange(400), "height": height, "sex": rng.choice(["F", "M"], 400)})
    }
    synth = {"people": real["people"].assign(height=np.where(np.isinf(height), np.inf, height + 1))}
    schema = schema_from_frames(real, primary_keys={"people": ["id"]})
    shared = relsynth.evaluate(real, synth, schema=schema, shareable=True)
    plot = next(c["plot"] for c in shared["tables"]["people"]["columns"] if c["name"] == "height")
    assert all(np.isfinite(plot["edges"]))
