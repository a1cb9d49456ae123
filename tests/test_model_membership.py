"""Membership inference by whoever holds the model file: the metric tells memorization from a model
that generalizes, its interval counts a patient's rows once, and evaluate runs the attack on the
model read back from its file (SQLite, PostgreSQL), or says why it did not."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import relsynth
from relsynth.evaluation import membership
from relsynth.evaluation.report import render_html
from relsynth.evaluation.summary import summary_lines
from relsynth.schema import Column, Kind, SqlType, Table
from tests.conftest import run_sql

KINDS = {"id": Kind.ID, "age": Kind.NUMERICAL, "income": Kind.NUMERICAL, "city": Kind.CATEGORICAL}
KINDS |= {"score": Kind.NUMERICAL}
TABLE = Table(
    "people",
    tuple(
        Column(c, SqlType("varchar" if k == Kind.CATEGORICAL else "double"), nullable=False, kind=k)
        for c, k in KINDS.items()
    ),
    primary_key=("id",),
)
COLUMNS = ["age", "income", "city", "score"]


def _people(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, n)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "age": age,
            "income": (1000 + 40 * age + rng.normal(0, 500, n)).round(2),
            "city": rng.choice([f"city{i}" for i in range(12)], n),
            "score": rng.normal(50, 10, n).round(3),
        }
    )


def _attack(train: pd.DataFrame, hold: pd.DataFrame, drawn: pd.DataFrame) -> dict[str, Any]:
    return membership.membership(TABLE, train, hold, drawn, COLUMNS, np.random.default_rng(5))


def test_a_sample_holding_the_training_rows_is_flagged() -> None:
    people = _people(1400, 0)
    train, hold = people.iloc[:1000], people.iloc[1000:]
    drawn = pd.concat([train, _people(2000, 1)], ignore_index=True)  # memorized, among fresh draws
    out = _attack(train, hold, drawn)
    assert out["available"] and out["training_rows"] == 1000 and out["holdout_rows"] == 400
    assert out["auc"] > 0.95, out
    lo, hi = out["ci"]
    assert 0.5 < lo <= out["auc"] <= hi <= 1.0 and out["flagged"], out
    assert out["dcr_train_median"] == 0.0 < out["dcr_holdout_median"]
    assert _attack(train, hold, drawn) == out  # deterministic given the generator's seed


def test_an_independent_sample_is_not_flagged() -> None:
    people = _people(1400, 0)
    train, hold = people.iloc[:1000], people.iloc[1000:]
    out = _attack(train, hold, _people(4000, 2))  # the same population, never the training rows
    assert out["available"] and not out["flagged"] and "inconclusive" not in out, out
    lo, hi = out["ci"]
    assert abs(out["auc"] - 0.5) < 0.05 and lo < 0.5 < hi, out
    # A few held-out rows cannot tell anything: said, not computed.
    few = _attack(train, hold.iloc[:20], _people(4000, 2))
    assert not few["available"] and "20 held-out rows" in few["reason"]


def test_delong_agrees_with_roc_auc_and_the_bootstrap() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    d_in = rng.exponential(1.0, 600).round(1)  # rounded: many ties, counted half
    d_out = rng.exponential(1.3, 300).round(1)
    auc, se, tied = membership.delong(d_in, d_out)
    labels = np.r_[np.ones(len(d_in)), np.zeros(len(d_out))]
    assert auc == pytest.approx(roc_auc_score(labels, -np.r_[d_in, d_out]))
    assert tied == pytest.approx(np.mean(d_in[:, None] == d_out[None, :]))
    boot = [
        membership.delong(rng.choice(d_in, len(d_in)), rng.choice(d_out, len(d_out)))[0] for _ in range(400)
    ]
    assert se == pytest.approx(np.std(boot), rel=0.15)


def test_rows_of_one_unit_count_once_in_the_interval() -> None:
    """A patient's four rows, all in training or all held out, are one draw, not four: the interval
    must not narrow because each person has more rows."""
    rng = np.random.default_rng(4)
    d_in, d_out = rng.exponential(1.0, 400), rng.exponential(1.1, 200)
    _, se, _ = membership.delong(d_in, d_out)
    four_in, four_out = np.repeat(d_in, 4), np.repeat(d_out, 4)
    units_in, units_out = np.repeat(np.arange(400), 4), np.repeat(np.arange(200), 4)
    _, naive, _ = membership.delong(four_in, four_out)
    _, clustered, _ = membership.delong(four_in, four_out, units_in, units_out)
    assert naive < 0.6 * se  # rows taken as independent: far too narrow
    assert clustered == pytest.approx(se, rel=0.05)


# -- evaluate, end to end -----------------------------------------------------------------------
ATTACKED = ("patients", "admissions", "care_team", "diagnoses", "lab_results", "procedures")


def _sections(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: t["privacy"]["model_membership"] for n, t in result["tables"].items()}


@pytest.fixture(scope="module")
def demo_runs(demo_db: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import sklearn.ensemble  # noqa: F401 - loads the OpenMP runtime, so that the limit below reaches it
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        model = relsynth.fit(demo_db, seed=1, holdout=0.2)
        path = tmp_path_factory.mktemp("mia") / "demo.rsm"
        model.save(path)
        synth = relsynth.sample(model, scale=0.3, seed=1)
        by_file = relsynth.evaluate(demo_db, synth, model=str(path))
        shared = relsynth.evaluate(demo_db, synth, model=model, shareable=True)
    return {"model": model, "synth": synth, "by_file": by_file, "shared": shared}


def test_evaluate_attacks_the_demo_model_file(demo_runs: dict[str, Any]) -> None:
    result, synth = demo_runs["by_file"], demo_runs["synth"]
    sections = _sections(result)
    for name in ATTACKED:
        m = sections[name]
        assert m["available"], (name, m)
        lo, hi = m["ci"]
        assert 0.0 <= lo <= m["auc"] <= hi <= 1.0, (name, m)
        assert hi - lo < 0.2, (name, m)  # hundreds of held-out rows: an interval that says something
        assert not m["flagged"], (name, m)  # the demo's model generalizes
        assert m["auc"] < 0.6, (name, m)
        # The file holder draws more than the output holds: about three times the source.
        assert m["sampled_rows"] > 2 * len(synth[name]) and m["scale"] == pytest.approx(3.0)
        assert m["holdout_rows"] == min(demo_runs["model"].source["holdout"]["rows"][name], 5000)
    # A patient's admissions count once in the interval: fewer units than rows.
    assert sections["admissions"]["holdout_units"] < sections["admissions"]["holdout_rows"]
    assert sections["patients"]["holdout_units"] == sections["patients"]["holdout_rows"]
    assert not sections["wards"]["available"] and sections["wards"]["reason"]  # too few to split
    assert result["scores"]["privacy"]["model_membership_run"] is True
    assert result["scores"]["privacy"]["model_membership_tables"] == []
    lines = [x for x in summary_lines(result) if x.startswith("membership from the model file")]
    named = [x.split(":")[0].removeprefix("membership from the model file, ") for x in lines[:-1]]
    assert named == [n for n in result["tables"] if n in ATTACKED]  # one verdict per table
    assert lines[-1].startswith("membership from the model file: not run on 2 tables: ")
    auc = sections["diagnoses"]["auc"]
    assert any(x.startswith(f"membership from the model file, diagnoses: AUC {auc:.3f}") for x in lines)
    # The model passed in memory keeps its guards: the attack sampled a copy read from a file.
    assert demo_runs["model"].guarded


def test_the_attack_repeats_and_survives_shareable(demo_runs: dict[str, Any]) -> None:
    """The file and the object give the same draws (the same seed, the same file contents), and
    --shareable keeps these numbers: rates and counts, no value."""
    assert _sections(demo_runs["shared"]) == _sections(demo_runs["by_file"])
    page = render_html(demo_runs["shared"])
    assert page.count("Membership from the model file") == len(demo_runs["shared"]["tables"])
    auc = _sections(demo_runs["shared"])["lab_results"]["auc"]
    assert f"{auc:.3f}" in page
    # Numbers only: the one text a section holds is a fixed sentence saying why (or that it cannot tell).
    for m in _sections(demo_runs["shared"]).values():
        for key, value in m.items():
            assert isinstance(value, bool | int | float | list) or key in {"reason", "inconclusive"}, key
            assert all(isinstance(v, float) for v in value) if isinstance(value, list) else True
    assert json.dumps(_sections(demo_runs["shared"]))  # and JSON-ready


def test_the_attack_draws_what_a_file_holder_draws(tmp_path: Path) -> None:
    """The rows attacked are those anyone with the file samples (no source, no guard), at about
    three times the source's size."""
    from relsynth.model.spec import Model

    frames = {"people": _people(400, 0)}
    model = relsynth.fit(frames, seed=2, holdout=0.3)
    assert model.guarded  # fitted in memory: guarded against the source
    drawn = membership.sample_as_file_holder(model, seed=11)
    path = tmp_path / "m.rsm"
    model.save(path)
    holder = relsynth.sample(Model.load(path), scale=drawn.scale, seed=membership.draw_seed(11))
    pd.testing.assert_frame_equal(drawn.frames["people"], holder["people"])
    assert drawn.scale == pytest.approx(3.0) and drawn.rows == len(holder["people"]) == 1200
    assert model.guarded  # the caller's model is left as it was


def test_without_a_model_file_to_attack_the_section_says_why(tmp_path: Path) -> None:
    people = _people(400, 0)
    frames = {"people": people}
    plain = relsynth.fit(frames, seed=2)
    synth = relsynth.sample(plain, seed=2)
    cases = {
        "no model": relsynth.evaluate(frames, synth, holdout={"fraction": 0.3, "seed": 2}),
        "no holdout": relsynth.evaluate(frames, synth, model=plain),
    }
    sdv = tmp_path / "sdv.pkl"
    sdv.write_bytes(pickle.dumps({"not": "a model"}, protocol=4))  # sniffed as pickle, never loaded
    cases["sdv"] = relsynth.evaluate(frames, synth, model=sdv)
    reasons = {k: r["tables"]["people"]["privacy"]["model_membership"] for k, r in cases.items()}
    assert reasons["no model"] == {"available": False, "reason": membership.NO_MODEL}
    assert "--holdout" in reasons["no holdout"]["reason"] and not reasons["no holdout"]["available"]
    assert reasons["sdv"] == {"available": False, "reason": membership.SDV_MODEL}
    for k, r in cases.items():
        line = next(x for x in summary_lines(r) if x.startswith("membership from the model file"))
        assert line == f"membership from the model file: not run: {reasons[k]['reason']}", k
        assert "not run: " in render_html(r)
        assert r["scores"]["privacy"]["model_membership_run"] is False


def test_evaluate_attacks_a_model_file_on_postgresql(pg_db, tmp_path: Path) -> None:
    url = pg_db()
    rng = np.random.default_rng(7)
    people = _people(500, 3)
    visits = pd.DataFrame(
        {
            "id": np.arange(1500),
            "person_id": rng.integers(0, 500, 1500),
            "amount": rng.gamma(2.0, 30.0, 1500).round(2),
            "kind": rng.choice(["a", "b", "c", "d"], 1500),
        }
    )
    run_sql(
        url,
        "CREATE TABLE people (id integer PRIMARY KEY, age integer NOT NULL, income double precision,"
        " city varchar(20), score double precision);\n"
        "CREATE TABLE visits (id integer PRIMARY KEY, person_id integer NOT NULL REFERENCES people(id),"
        " amount double precision, kind varchar(4));",
    )
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            people.to_sql("people", conn, if_exists="append", index=False)
            visits.to_sql("visits", conn, if_exists="append", index=False)
    finally:
        engine.dispose()
    model = relsynth.fit(url, seed=2, holdout=0.3)
    path = tmp_path / "pg.rsm"
    model.save(path)
    synth = relsynth.sample(path, seed=2)
    result = relsynth.evaluate(url, synth, model=path)
    lines = summary_lines(result)
    for name in ("people", "visits"):
        m = result["tables"][name]["privacy"]["model_membership"]
        assert m["available"] and m["sampled_rows"] > 2 * len(synth[name]), (name, m)
        lo, hi = m["ci"]
        assert 0.0 <= lo <= m["auc"] <= hi <= 1.0 and hi - lo < 0.2, (name, m)
        assert m["holdout_rows"] == model.source["holdout"]["rows"][name]
        assert m["flagged"] == (lo > membership.FLAG_AUC)
        # A knot on every training value let sampled amounts land on training values twice as
        # often as on held-out ones: visits scored 0.676 [0.650, 0.703], flagged. A knot per k
        # values: about 0.54.
        assert not m["flagged"] and m["auc"] < 0.6, (name, m)
        line = next(x for x in lines if x.startswith(f"membership from the model file, {name}: "))
        assert line.endswith(f"<- above {membership.FLAG_AUC:g}") == m["flagged"]
        assert (name in result["scores"]["privacy"]["model_membership_tables"]) == m["flagged"]
    visits_m = result["tables"]["visits"]["privacy"]["model_membership"]
    assert visits_m["holdout_units"] < visits_m["holdout_rows"]  # a person's visits: one unit
