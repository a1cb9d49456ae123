"""The engine on data with planted structure: thresholds that an engine ignoring the hierarchy,
the correlations or the exact relations fails. No database: DataFrames in, DataFrames out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import relsynth
from relsynth.evaluation.integrity import check_integrity
from relsynth.frames import schema_from_frames
from relsynth.model.sample import SampleReport
from relsynth.schema import Check, Kind


def _hierarchy(seed: int = 0, n_parents: int = 600) -> dict[str, pd.DataFrame]:
    """Parents whose 'risk' drives how many children they have and the children's 'level'.

    70% of parents have no children at all, a few have hundreds (a skewed count distribution).
    """
    rng = np.random.default_rng(seed)
    risk = rng.normal(0, 1, n_parents)
    heavy = rng.random(n_parents) < 0.03
    zero = rng.random(n_parents) < 1 / (1 + np.exp(2.0 * risk - 1.0))  # low risk: usually no children
    lam = np.where(zero, 0, np.exp(1.0 + 0.8 * risk))
    counts = np.where(heavy, rng.integers(150, 400, n_parents), rng.poisson(lam))
    parents = pd.DataFrame(
        {
            "parent_id": np.arange(1, n_parents + 1),
            "risk": risk.round(3),
            "group": rng.choice(["a", "b", "c"], n_parents),
        }
    )
    pid = np.repeat(parents["parent_id"].to_numpy(), counts)
    prisk = np.repeat(risk, counts)
    start = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, len(pid)), unit="D")
    children = pd.DataFrame(
        {
            "child_id": np.arange(1, len(pid) + 1),
            "parent_id": pid,
            "level": (10 + 5 * prisk + rng.normal(0, 1, len(pid))).round(2),
            "x": rng.normal(0, 1, len(pid)).round(4),
            "start": start,
            "end": start + pd.to_timedelta(rng.integers(0, 30, len(pid)), unit="D"),
        }
    )
    children["y"] = (0.8 * children["x"] + 0.6 * rng.normal(0, 1, len(pid))).round(4)
    return {"parents": parents, "children": children}


@pytest.fixture(scope="module")
def planted() -> tuple[dict[str, pd.DataFrame], relsynth.Schema, dict[str, pd.DataFrame], object]:
    real = _hierarchy()
    schema = schema_from_frames(
        real,
        primary_keys={"parents": ["parent_id"], "children": ["child_id"]},
        foreign_keys=[("children", ["parent_id"], "parents", ["parent_id"])],
    )
    model = relsynth.fit(real, schema=schema, seed=11)
    return real, schema, relsynth.sample(model), model


def _per_parent(parents: pd.DataFrame, children: pd.DataFrame) -> pd.DataFrame:
    g = children.groupby("parent_id").agg(n=("child_id", "size"), level=("level", "mean"))
    return parents.set_index("parent_id").join(g).fillna({"n": 0})


def test_parent_attribute_drives_child_count_and_values(planted) -> None:
    real, _, synth, _ = planted
    r = _per_parent(real["parents"], real["children"])
    s = _per_parent(synth["parents"], synth["children"])
    real_count_corr = stats.spearmanr(r["risk"], r["n"])[0]
    synth_count_corr = stats.spearmanr(s["risk"], s["n"])[0]
    assert real_count_corr > 0.3
    assert synth_count_corr > 0.6 * real_count_corr, (real_count_corr, synth_count_corr)
    has = r["n"] > 0
    real_level_corr = stats.pearsonr(r.loc[has, "risk"], r.loc[has, "level"])[0]
    shas = s["n"] > 0
    synth_level_corr = stats.pearsonr(s.loc[shas, "risk"], s.loc[shas, "level"])[0]
    assert real_level_corr > 0.8
    assert synth_level_corr > 0.7, (real_level_corr, synth_level_corr)


def test_correlation_inside_a_table(planted) -> None:
    real, _, synth, _ = planted
    r = stats.spearmanr(real["children"]["x"], real["children"]["y"])[0]
    s = stats.spearmanr(synth["children"]["x"], synth["children"]["y"])[0]
    assert abs(r - s) < 0.08, (r, s)


def test_skewed_child_counts_are_kept(planted) -> None:
    real, _, synth, _ = planted
    r = _per_parent(real["parents"], real["children"])["n"]
    s = _per_parent(synth["parents"], synth["children"])["n"]
    assert abs((r == 0).mean() - (s == 0).mean()) < 0.05
    assert s.max() >= 100
    assert stats.ks_2samp(r, s).statistic < 0.08


@pytest.mark.parametrize("scale", [0.1, 10.0])
def test_scale_keeps_per_parent_count_distribution(planted, scale: float) -> None:
    real, _, _, model = planted
    report = SampleReport()
    synth = relsynth.sample(model, scale=scale, seed=3, report=report)
    # Rows left on a unique source record after every move are left out, and counted.
    left_out = report.dropped_records.get("parents", 0)
    assert left_out <= 0.001 * scale * len(real["parents"])
    assert abs(len(synth["parents"]) + left_out - scale * len(real["parents"])) <= 1
    r = _per_parent(real["parents"], real["children"])["n"]
    s = _per_parent(synth["parents"], synth["children"])["n"]
    assert stats.ks_2samp(r, s).statistic < (0.15 if scale < 1 else 0.05)
    assert abs((r == 0).mean() - (s == 0).mean()) < (0.1 if scale < 1 else 0.03)


def test_marginals_and_order_relation(planted) -> None:
    """x keeps its marginal. level's low tail is one heavy parent's 300 children (7% of the rows,
    -12 to -8): values beyond the K-th parent's lowest are no one's to give back (README: the ends
    of the K-th person), so its rows are drawn inside the others' range, and the KS distance is
    that tail's (0.10), not more."""
    real, _, synth, _ = planted
    assert stats.ks_2samp(real["children"]["x"], synth["children"]["x"]).statistic < 0.05
    level = synth["children"]["level"].astype(float)
    lowest = real["children"].groupby("parent_id")["level"].min().sort_values()
    assert level.min() >= lowest.iloc[4]  # the 5th parent's lowest (K = 5)
    assert stats.ks_2samp(real["children"]["level"], level).statistic < 0.12
    c = synth["children"]
    assert (c["end"] >= c["start"]).all()  # learned from data: end is never before start
    assert c["start"].min() >= real["children"]["start"].min()
    assert check_integrity(synth_schema(planted), synth).problems == 0


def synth_schema(planted) -> relsynth.Schema:
    return planted[1]


def test_same_seed_same_output_other_seed_differs(planted) -> None:
    _, _, _, model = planted
    a = relsynth.sample(model, seed=5)
    b = relsynth.sample(model, seed=5)
    c = relsynth.sample(model, seed=6)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["children"].equals(c["children"])


def _shop(seed: int = 1, n: int = 400) -> dict[str, pd.DataFrame]:
    """Exact relations to learn: city -> state, a price repeated from the product, a total that is
    the sum of its lines, line numbers 1..n per order, a status that says whether shipped is NULL."""
    rng = np.random.default_rng(seed)
    cities = {"Columbus": "OH", "Dayton": "OH", "Austin": "TX", "Dallas": "TX", "Reno": "NV"}
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1),
            "city": rng.choice(list(cities), n),
        }
    )
    customers["state"] = customers["city"].map(cities)
    categories = pd.DataFrame({"category_id": [1, 2, 3], "label": ["music", "video", "books"]})
    products = pd.DataFrame(
        {
            "product_id": np.arange(1, 41),
            "category_id": rng.integers(1, 4, 40),
            "price": rng.choice([0.99, 1.99, 4.99], 40),
        }
    )
    n_orders = n * 3
    orders = pd.DataFrame(
        {
            "order_id": np.arange(1, n_orders + 1),
            "customer_id": rng.integers(1, n + 1, n_orders),
            "status": rng.choice(["open", "shipped"], n_orders, p=[0.3, 0.7]),
            "ordered": pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 700, n_orders), unit="D"),
        }
    )
    orders["shipped"] = (orders["ordered"] + pd.Timedelta(days=3)).where(orders["status"] == "shipped")
    lines = []
    for oid in orders["order_id"]:
        for k in range(1, rng.integers(1, 6) + 1):
            pid = int(rng.integers(1, 41))
            lines.append((oid, k, pid, int(rng.integers(1, 4))))
    lines = pd.DataFrame(lines, columns=["order_id", "line_no", "product_id", "qty"])
    lines["unit_price"] = lines["product_id"].map(products.set_index("product_id")["price"])
    totals = (lines["unit_price"] * lines["qty"]).groupby(lines["order_id"]).sum().round(2)
    orders["total"] = orders["order_id"].map(totals).fillna(0.0)
    return {
        "categories": categories,
        "customers": customers,
        "products": products,
        "orders": orders,
        "lines": lines,
    }


@pytest.fixture(scope="module")
def shop():
    real = _shop()
    schema = schema_from_frames(
        real,
        primary_keys={
            "customers": ["customer_id"],
            "products": ["product_id"],
            "orders": ["order_id"],
            "lines": ["order_id", "line_no"],
            "categories": ["category_id"],
        },
        foreign_keys=[
            ("products", ["category_id"], "categories", ["category_id"]),
            ("orders", ["customer_id"], "customers", ["customer_id"]),
            ("lines", ["order_id"], "orders", ["order_id"]),
            ("lines", ["product_id"], "products", ["product_id"]),
        ],
    )
    # A declared CHECK the engine must meet, and one it cannot interpret.
    lines_t = schema.table("lines")
    schema = schema.replace_table(
        lines_t.__class__(
            **{
                **lines_t.__dict__,
                "checks": (
                    Check("qty_pos", "qty BETWEEN 1 AND 3"),
                    Check("odd", "mod(qty, 2) = 1 OR qty > 0"),
                ),
            }
        )
    )
    model = relsynth.fit(real, schema=schema, seed=2)
    return real, schema, model, relsynth.sample(model, scale=2.0)


def test_exact_relations_are_learned(shop) -> None:
    _, _, model, _ = shop
    found = "\n".join(model.relations_summary())
    assert "customers: city -> state" in found
    assert "lines: unit_price = price of its parent" in found
    assert "orders: total = sum(qty * unit_price) over lines" in found or "sum(unit_price * qty)" in found
    assert "lines: line_no numbers rows 1..n" in found
    assert "orders: status -> whether shipped is NULL" in found


def test_exact_relations_hold_in_the_sample(shop) -> None:
    _, schema, _, synth = shop
    cities = {"Columbus": "OH", "Dayton": "OH", "Austin": "TX", "Dallas": "TX", "Reno": "NV"}
    c = synth["customers"]
    assert (c["city"].map(cities) == c["state"]).all()
    lines = synth["lines"].merge(synth["products"], on="product_id")
    assert np.allclose(lines["unit_price"], lines["price"])
    totals = (lines["unit_price"] * lines["qty"]).groupby(lines["order_id"]).sum()
    o = synth["orders"].set_index("order_id")
    assert np.allclose(o.loc[totals.index, "total"], totals.round(2), atol=0.006)
    numbered = synth["lines"].groupby("order_id")["line_no"].agg(["min", "max", "count", "nunique"])
    assert (numbered["min"] == 1).all() and (numbered["max"] == numbered["count"]).all()
    assert (numbered["nunique"] == numbered["count"]).all()
    shipped = synth["orders"]["shipped"].notna()
    assert (shipped == (synth["orders"]["status"] == "shipped")).all()
    assert synth["lines"]["qty"].between(1, 3).all()
    assert check_integrity(schema, synth).problems == 0


def test_uninterpretable_check_is_reported(shop) -> None:
    _, _, model, _ = shop
    from relsynth.model.sample import SampleReport

    report = SampleReport()
    relsynth.sample(model, report=report)
    assert any("mod(qty, 2) = 1" in line and "not interpretable" in line for line in report.lines())


def test_reference_table_copied_and_its_keys_kept(shop) -> None:
    real, _, model, synth = shop
    # categories is a code list (key + label, referenced 13 times per row): copied, never scaled.
    assert model.plan["categories"].role == "reference"
    assert model.plan["customers"].role == "data" and model.plan["products"].role == "data"
    pd.testing.assert_frame_equal(synth["categories"], real["categories"], check_dtype=False)
    assert set(synth["products"]["category_id"]) <= set(real["categories"]["category_id"])


def test_kinds_from_frames() -> None:
    real = _shop()
    schema = schema_from_frames(real, primary_keys={"orders": ["order_id"]})
    assert schema.table("orders").column("status").kind is Kind.CATEGORICAL
    assert schema.table("orders").column("ordered").kind is Kind.DATETIME
    assert schema.table("orders").column("order_id").kind is Kind.ID
