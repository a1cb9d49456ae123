"""The privacy evaluation's control set reaches the tables that hold people, and a distance test
that cannot tell (mostly ties) says so instead of passing at exactly one half."""

from __future__ import annotations

import numpy as np
import pandas as pd

import relsynth
from relsynth.evaluation import privacy
from relsynth.graph import plan as make_plan
from relsynth.read import holdout_masks
from relsynth.schema import Column, ForeignKey, Kind, Schema, SqlType, Table

INT = SqlType("integer")


def _shop() -> tuple[Schema, dict[str, pd.DataFrame]]:
    """store (2 rows) -> customer (300) -> payment (900): customers sit under a root too small to split."""
    rng = np.random.default_rng(0)
    store = pd.DataFrame({"store_id": [1, 2], "city": ["a", "b"]})
    customer = pd.DataFrame(
        {"customer_id": range(1, 301), "store_id": rng.integers(1, 3, 300), "age": rng.integers(18, 90, 300)}
    )
    payment = pd.DataFrame(
        {
            "payment_id": range(1, 901),
            "customer_id": rng.integers(1, 301, 900),
            "amount": rng.normal(10, 3, 900).round(2),
        }
    )

    def table(name: str, frame: pd.DataFrame, fks: tuple[ForeignKey, ...] = ()) -> Table:
        cols = tuple(
            Column(
                c,
                SqlType("double") if c == "amount" else SqlType("varchar") if c == "city" else INT,
                nullable=False,
                kind=Kind.ID if c.endswith("_id") else Kind.CATEGORICAL if c == "city" else Kind.NUMERICAL,
            )
            for c in frame.columns
        )
        return Table(name, cols, primary_key=(frame.columns[0],), foreign_keys=fks, row_count=len(frame))

    schema = Schema(
        (
            table("store", store),
            table("customer", customer, (ForeignKey("fk_c", ("store_id",), "store", ("store_id",)),)),
            table("payment", payment, (ForeignKey("fk_p", ("customer_id",), "customer", ("customer_id",)),)),
        ),
        dialect="pandas",
    )
    return schema, {"store": store, "customer": customer, "payment": payment}


def test_holdout_reaches_customers_under_a_tiny_root() -> None:
    schema, frames = _shop()
    plan = make_plan(schema)
    masks = holdout_masks(frames, schema, plan, 0.2, seed=7)
    assert "store" not in masks  # two stores: kept whole, never half the data
    share = masks["customer"].mean()
    assert 0.1 < share < 0.3
    gone = set(frames["customer"].customer_id[masks["customer"]])
    assert (frames["payment"].customer_id.isin(gone).to_numpy() == masks["payment"]).all()
    # fit withholds the same rows: its training data holds none of the held-out customers
    model = relsynth.fit(frames, schema=schema, holdout=0.2, seed=7)
    assert model.source["holdout"]["rows"]["customer"] == int(masks["customer"].sum())


def test_a_distance_test_of_ties_is_inconclusive() -> None:
    table = Table(
        "t",
        (
            Column("id", INT, nullable=False, kind=Kind.ID),
            Column("flag", SqlType("varchar"), kind=Kind.CATEGORICAL),
        ),
        primary_key=("id",),
    )
    rng = np.random.default_rng(1)
    train = pd.DataFrame({"id": range(200), "flag": rng.choice(["y", "n"], 200)})
    hold = pd.DataFrame({"id": range(200, 300), "flag": rng.choice(["y", "n"], 100)})
    synth = pd.DataFrame({"id": range(200), "flag": rng.choice(["y", "n"], 200)})
    out = privacy.distances(table, train, synth, ["flag"], hold, rng)
    assert out["tied"] == 1.0 and out["closer_to_training"] == 0.5
    assert "inconclusive" in out and not out["flagged"]


def test_copies_do_not_depend_on_being_told_the_holdout() -> None:
    """A record unique among the training rows but shared with a held-out row is nobody's in
    particular: evaluate with the model (holdout known) reported 114 copies, without it 0."""
    from relsynth.evaluation.privacy import exact_copies
    from relsynth.schema import Column, Kind, SqlType, Table

    t = SqlType("integer")
    table = Table(
        "e",
        (
            Column("id", t, kind=Kind.ID),
            Column("g", t, kind=Kind.NUMERICAL),
            Column("d", t, kind=Kind.NUMERICAL),
        ),
        primary_key=("id",),
    )
    real = pd.DataFrame({"id": range(6), "g": [1, 1, 2, 3, 4, 5], "d": [7, 7, 8, 9, 10, 11]})
    train = real.iloc[[0, 2, 3, 4, 5]]  # row 1 (the twin of row 0) was held out
    synth = pd.DataFrame({"id": [0, 1], "g": [1, 2], "d": [7, 8]})
    with_holdout = exact_copies(table, real, synth, ["g", "d"], train)
    without = exact_copies(table, real, synth, ["g", "d"])
    assert with_holdout["copies"] == without["copies"] == 1  # (2, 8) is unique; (1, 7) is two people's
