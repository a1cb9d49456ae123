"""Attack round 13 (a fresh-context attacker, README only), the model's share: a small table between
a large parent and large children (sakila: address -> store -> customer -> rental -> payment).

What is attacked: who the people are below a table of two rows (every customer and payment was
counted as one of two people, so no value was kept: a 0/1 flag came out 3..7, five prices as one
constant), and a small scale emptying that table and every table under it. And an HR history
keyed by a PostgreSQL daterange, (emp_no, title, during), which stopped fit with a KeyError.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import relsynth
from relsynth.frames import schema_from_frames
from tests.conftest import EVERY_DATABASE, fetch, run_sql


def _shop(seed: int = 1) -> tuple[dict[str, pd.DataFrame], object]:
    rng = np.random.default_rng(seed)
    frames = {
        "address": pd.DataFrame(
            {"address_id": np.arange(1, 701), "district": rng.choice(list("ABCDEFG"), 700)}
        ),
        "store": pd.DataFrame({"store_id": [1, 2], "address_id": [1, 2]}),
        "customer": pd.DataFrame(
            {
                "customer_id": np.arange(1, 601),
                "store_id": rng.integers(1, 3, 600),
                "active": rng.choice([1, 1, 1, 0], 600),
                "score": np.round(rng.normal(50, 10, 600), 1),
            }
        ),
        "payment": pd.DataFrame(
            {
                "payment_id": np.arange(1, 8001),
                "customer_id": rng.integers(1, 601, 8000),
                "amount": rng.choice([0.99, 2.99, 4.99, 5.99, 11.99], 8000),
            }
        ),
    }
    schema = schema_from_frames(
        frames,
        primary_keys={t: [f"{t}_id"] for t in frames},
        foreign_keys=[
            ("store", ["address_id"], "address", ["address_id"]),
            ("customer", ["store_id"], "store", ["store_id"]),
            ("payment", ["customer_id"], "customer", ["customer_id"]),
        ],
    )
    return frames, schema


def test_rows_under_a_table_of_two_rows_are_not_two_peoples() -> None:
    frames, schema = _shop()
    model = relsynth.fit(frames, schema=schema, seed=0)
    assert model.plan["customer"].context.ref_table == "store"  # type: ignore[union-attr]
    out = relsynth.sample(model, seed=0)
    assert set(out["customer"]["active"].astype(int)) == {0, 1}  # was 3..7: a decade of 0/1
    amounts = out["payment"]["amount"].astype(float)
    assert set(amounts.round(2)) == {0.99, 2.99, 4.99, 5.99, 11.99}  # was one constant, 3.99
    assert amounts.value_counts(normalize=True).max() < 0.3


def test_a_small_scale_keeps_a_row_of_a_small_table_and_what_is_under_it() -> None:
    frames, schema = _shop()
    model = relsynth.fit(frames, schema=schema, seed=0)
    out = relsynth.sample(model, seed=0, scale=0.1)
    assert len(out["address"]) == 70
    assert len(out["store"]) >= 1  # was 0, and 0 customers and payments with it
    assert len(out["customer"]) > 0 and len(out["payment"]) > 0
    assert out["customer"]["store_id"].isin(out["store"]["store_id"]).all()


HISTORY = """
CREATE TABLE emp (emp_no int PRIMARY KEY, dept text NOT NULL);
CREATE TABLE title_hist (emp_no int NOT NULL REFERENCES emp, title text NOT NULL, during daterange NOT NULL,
                         PRIMARY KEY (emp_no, title, during));
INSERT INTO emp SELECT g, 'd' || mod(g, 5) FROM generate_series(1, 500) g;
INSERT INTO title_hist SELECT e, 'T' || k,
       daterange(date '2000-01-01' + (e + k * 400), date '2000-01-01' + (e + k * 400 + 390 + mod(e, 7)))
  FROM generate_series(1, 500) e, generate_series(0, 2) k WHERE mod(e + k, 3) <> 0 OR k = 0;
"""


@pytest.mark.postgresql
@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_daterange_in_a_primary_key_is_generated(request: pytest.FixtureRequest, db: str) -> None:
    source: str = request.getfixturevalue("pg_db")()
    target: str = request.getfixturevalue(f"{db}_db")()
    run_sql(source, HISTORY)
    relsynth.synthesize(source, target, seed=1)
    rows = fetch(target, "SELECT emp_no, title, during FROM title_hist")
    assert len(rows) == len({(e, t, str(d)) for e, t, d in rows}) > 500
    if db == "pg":
        (days, low, high), *_ = fetch(
            target,
            "SELECT avg(upper(during) - lower(during)), min(lower(during)), max(lower(during)) FROM title_hist",
        )
        assert 385 <= float(days) <= 400  # the source's: 390 to 396 days
        assert str(low) >= "2000-01-02" and str(high) <= "2003-08-01"
    else:  # as text, '[lower,upper)'
        assert all(str(d).startswith("[") and str(d).endswith(")") for _, _, d in rows)
