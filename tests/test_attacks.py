"""Attack-based privacy risk (singling out, linkability, inference) tells a model that memorizes
from one that does not, with the holdout as control, and reveals no value of the data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import relsynth
from relsynth.evaluation import attacks
from relsynth.evaluation.report import render_html
from relsynth.evaluation.summary import summary_lines
from relsynth.schema import Column, Kind, SqlType, Table
from tests.conftest import run_sql

KINDS = {"id": Kind.ID, "age": Kind.NUMERICAL, "income": Kind.NUMERICAL, "city": Kind.CATEGORICAL}
KINDS |= {"job": Kind.CATEGORICAL, "score": Kind.NUMERICAL}


def _people(n: int, seed: int) -> pd.DataFrame:
    """People whose columns go together (income follows age and job), as in real data."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, n)
    job = rng.choice([f"job{i}" for i in range(8)], n)
    jobs = np.array([int(j[3:]) for j in job])
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "age": age,
            "income": (1000 + 40 * age + 300 * jobs + rng.normal(0, 500, n)).round(2),
            "city": rng.choice([f"city{i}" for i in range(12)], n),
            "job": job,
            "score": rng.normal(50, 10, n).round(3),
        }
    )


TABLE = Table(
    "people",
    tuple(
        Column(
            c,
            SqlType("varchar" if k == Kind.CATEGORICAL else "double"),
            nullable=False,
            kind=k,
        )
        for c, k in KINDS.items()
    ),
    primary_key=("id",),
)
COLUMNS = ["age", "income", "city", "job", "score"]


def _run(train: pd.DataFrame, hold: pd.DataFrame, synth: pd.DataFrame) -> dict[str, Any]:
    return attacks.attacks(TABLE, train, hold, synth, COLUMNS, seed=3)


def _risks(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        "singling_out": out["singling_out"]["risk"],
        "linkability": out["linkability"]["risk"],
        "inference": out["inference"]["risk"],
    }


def test_a_model_that_memorizes_is_at_risk() -> None:
    people = _people(3000, 0)
    train, hold = people.iloc[:2000], people.iloc[2000:]
    out = _run(train, hold, train.copy())  # synthetic = the training rows
    assert out["available"] and out["control_rows"] == 1000
    for name, r in _risks(out).items():
        assert r["ci"][0] > 0.2, (name, r)  # a lower bound clearly above 0
        assert out[name]["train"]["rate"] > out[name]["control"]["rate"] if name != "inference" else True
    so = out["singling_out"]
    assert so["queries"] >= 100 and so["rows_per_side"] == 1000
    assert so["beats_baseline"]
    link = out["linkability"]
    assert link["train"]["rate"] > 0.9 and link["control"]["rate"] < 0.2
    assert set(link["columns_a"]).isdisjoint(link["columns_b"])
    assert set(link["columns_a"]) | set(link["columns_b"]) == set(COLUMNS)
    inf = out["inference"]
    assert [s["column"] for s in inf["secrets"]] == ["age", "income", "city"]
    assert all(s["train"]["rate"] > 0.95 for s in inf["secrets"])
    # deterministic given the seed
    assert _run(train, hold, train.copy()) == out


def test_independent_synthetic_data_is_not_at_risk() -> None:
    people = _people(4000, 1)
    train, hold = people.iloc[:2000], people.iloc[2000:3000]
    # Drawn from the same distribution, never from the training rows: a fresh sample of people.
    synth = _people(2000, 2).assign(id=np.arange(2000))
    out = _run(train, hold, synth)
    for name, r in _risks(out).items():
        assert r["ci"][0] == 0.0 or r["value"] < 0.05, (name, r)
        assert r["value"] < 0.1, (name, r)
    # The attacks still work on the population: inference of income beats guessing (income follows
    # age and job), but as well on held-out people as on training ones.
    income = next(s for s in out["inference"]["secrets"] if s["column"] == "income")
    assert income["beats_baseline"]
    # Independent columns resampled: a second kind of data that generalizes, equally safe.
    rng = np.random.default_rng(4)
    shuffled = train.apply(lambda c: pd.Series(rng.choice(c.to_numpy(), len(c)), index=c.index))
    out = _run(train, hold, shuffled)
    for name, r in _risks(out).items():
        assert r["value"] < 0.1, (name, r)


def test_too_small_a_holdout_says_to_fit_with_one() -> None:
    people = _people(300, 0)
    none = attacks.attacks(TABLE, people, None, people, COLUMNS, seed=0)
    assert none == {"available": False, "reason": none["reason"]} and "--holdout" in none["reason"]
    few = attacks.attacks(TABLE, people.iloc[:280], people.iloc[280:], people, COLUMNS, seed=0)
    assert not few["available"] and "--holdout" in few["reason"]


def test_wilson_interval_and_risk() -> None:
    centre, half = attacks.wilson(0, 100)
    assert centre - half == pytest.approx(0.0, abs=1e-12) and 0.03 < centre + half < 0.04
    t, c = attacks.rate(80, 100), attacks.rate(10, 100)
    r = attacks.risk(t, c)
    assert 0.7 < r["value"] < 0.8 and r["ci"][0] < r["value"] < r["ci"][1]
    assert attacks.risk(c, t) == {"value": 0.0, "ci": [0.0, 0.0]}  # worse than control: no risk


PLANTED_CITIES = [f"Qzorbington{i}" for i in range(6)]
PLANTED_JOBS = [f"Xylographer{i}" for i in range(5)]
DDL = """
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, age INTEGER NOT NULL, city VARCHAR(30) NOT NULL,
  job VARCHAR(30) NOT NULL, income REAL NOT NULL);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers(customer_id), amount REAL NOT NULL,
  status VARCHAR(10) NOT NULL);
"""


def _shop_db(url: str) -> None:
    rng = np.random.default_rng(11)
    n = 600
    age = rng.integers(18, 90, n)
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1),
            "age": age,
            "city": rng.choice(PLANTED_CITIES, n),
            "job": rng.choice(PLANTED_JOBS, n),
            "income": (20_000 + 500 * age + rng.normal(0, 4000, n)).round(2),
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": np.arange(1, 3 * n + 1),
            "customer_id": rng.integers(1, n + 1, 3 * n),
            "amount": rng.lognormal(3, 0.7, 3 * n).round(2),
            "status": rng.choice(["paid", "open", "refunded"], 3 * n, p=[0.7, 0.2, 0.1]),
        }
    )
    run_sql(url, DDL)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        customers.to_sql("customers", conn, if_exists="append", index=False)
        orders.to_sql("orders", conn, if_exists="append", index=False)
    engine.dispose()


def test_evaluate_reports_attacks_without_values(sqlite_db, tmp_path: Path) -> None:
    url = sqlite_db()
    _shop_db(url)
    model = relsynth.fit(url, holdout=0.3, seed=2)
    synth = relsynth.sample(model, seed=2)
    result = relsynth.evaluate(url, synth, model=model)
    held = model.source["holdout"]["rows"]
    for name in ("customers", "orders"):
        a = result["tables"][name]["privacy"]["attacks"]
        assert a["available"] and a["control_rows"] == held[name] >= 100, (name, a)
        for key in ("singling_out", "linkability", "inference"):
            x = a[key]
            if name == "orders" and key == "singling_out" and not x["available"]:
                # Two columns (amount, status): about 10 synthetic rows are unique on a query,
                # on either side of the 10 the attack needs; it says so instead of guessing.
                assert "queries single out one synthetic row" in x["reason"], x
                continue
            assert x["available"], (name, key, x)
            outcomes = x["secrets"] if key == "inference" else [x]
            for o in outcomes:
                for side in ("train", "control", "baseline"):
                    r = o[side]
                    assert r["attacks"] > 0 and r["ci"][0] <= r["rate"] <= r["ci"][1] <= 1
                assert o["train"]["attacks"] == o["control"]["attacks"]
                assert 0 <= o["risk"]["ci"][0] <= o["risk"]["value"] <= o["risk"]["ci"][1] <= 1
                assert o["risk"]["value"] < 0.3, (name, key, o["risk"])  # a model, not a copy
    assert any(line.startswith("attacks on customers") for line in summary_lines(result))
    assert result["scores"]["privacy"]["attacks_run"] is True
    # The attack output holds rates, counts and column names: no value of the data.
    attack_text = json.dumps({n: t["privacy"]["attacks"] for n, t in result["tables"].items()})
    assert not any(v in attack_text for v in PLANTED_CITIES + PLANTED_JOBS + ["paid", "refunded"])
    assert "income" in attack_text  # column names are there
    # A shareable report (JSON and HTML) shows the attacks and holds no planted value.
    shared = relsynth.evaluate(url, synth, model=model, shareable=True)
    page = render_html(shared)
    assert "Attacks (singling out, linkability, inference)" in page and "held-out rows" in page
    for text in (json.dumps(shared, default=str), page):
        assert not any(v in text for v in PLANTED_CITIES + PLANTED_JOBS)

    # Fitted without a holdout: the section says how to get one.
    plain = relsynth.fit(url, seed=2)
    result = relsynth.evaluate(url, relsynth.sample(plain, seed=2), model=plain)
    a = result["tables"]["customers"]["privacy"]["attacks"]
    assert not a["available"] and "--holdout" in a["reason"]
    assert "--holdout" in render_html(result)
    assert any(line.startswith("attacks: not run") for line in summary_lines(result))


def test_evaluate_flags_a_copy_of_the_training_rows(sqlite_db) -> None:
    from relsynth.read import holdout_masks

    url = sqlite_db()
    _shop_db(url)
    model = relsynth.fit(url, holdout=0.3, seed=2)
    engine = sa.create_engine(url)
    real = {n: pd.read_sql_table(n, engine) for n in ("customers", "orders")}
    engine.dispose()
    masks = holdout_masks(real, model.schema, model.plan, 0.3, model.seed)
    memorized = {n: f[~masks[n]].copy() for n, f in real.items()}
    result = relsynth.evaluate(real, memorized, model=model)
    a = result["tables"]["customers"]["privacy"]["attacks"]
    assert a["linkability"]["risk"]["ci"][0] > 0.2
    assert a["inference"]["risk"]["ci"][0] > 0.2
    line = next(x for x in summary_lines(result) if x.startswith("attacks on customers"))
    assert line.endswith("<- above 0")
    assert "customers" in result["scores"]["privacy"]["attack_risk_tables"]
    assert "attack risk" in render_html(result)
