"""Sampling and writing the largest family of tables in batches (relsynth/model/batches.py).

What is attacked: keys that repeat across batches (counted keys, UNIQUE values drawn afresh, text
keys), foreign keys into rows of another batch or of the tables sampled once, the same seed giving
another database, a failure in a later batch leaving rows behind (all-or-nothing), on SQLite,
PostgreSQL and MariaDB; and the schemas that cannot be split, which are sampled whole.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import relsynth
from relsynth.model.batches import concat, partition, sample_batches
from relsynth.writer import write
from tests.conftest import EVERY_DATABASE, run_sql, scalar, table_names

SCHEMA = """
CREATE TABLE product (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL, price NUMERIC(8,2) NOT NULL);
CREATE TABLE customer (id INTEGER PRIMARY KEY, email VARCHAR(60) NOT NULL UNIQUE, segment VARCHAR(10) NOT NULL,
                       balance NUMERIC(10,2) NOT NULL);
CREATE TABLE orders (code VARCHAR(12) PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customer(id),
                     placed DATE NOT NULL, priority VARCHAR(8) NOT NULL);
CREATE TABLE line (order_code VARCHAR(12) NOT NULL REFERENCES orders(code), n INTEGER NOT NULL,
                   product_id INTEGER NOT NULL REFERENCES product(id), qty INTEGER NOT NULL CHECK (qty > 0),
                   PRIMARY KEY (order_code, n));
"""


def _rows() -> str:
    """A shop: 400 customers with 0-6 orders of 1-4 lines each, 30 products."""
    rng = np.random.default_rng(3)
    out = []
    for p in range(1, 31):
        out.append(f"INSERT INTO product VALUES ({p}, 'product {p}', {rng.integers(100, 9000) / 100:.2f});")
    k = 0
    for c in range(1, 401):
        seg = ["retail", "trade", "online"][c % 3]
        out.append(
            f"INSERT INTO customer VALUES ({c}, 'person{c}@example.org', '{seg}', {rng.normal(500, 90):.2f});"
        )
        for _ in range(rng.integers(0, 7) if seg != "trade" else rng.integers(3, 9)):
            k += 1
            day = 1 + int(rng.integers(0, 28))
            out.append(
                f"INSERT INTO orders VALUES ('O{k:06d}', {c}, '2024-03-{day:02d}', '{['low', 'high'][k % 2]}');"
            )
            for n in range(1, int(rng.integers(1, 5)) + 1):
                out.append(
                    f"INSERT INTO line VALUES ('O{k:06d}', {n}, {rng.integers(1, 31)}, {rng.integers(1, 9)});"
                )
    return "\n".join(out)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory):
    url = f"sqlite:///{tmp_path_factory.mktemp('shop') / 'shop.sqlite'}"
    run_sql(url, SCHEMA + _rows())
    return url, relsynth.fit(url, seed=2)


def _check_integrity(tables: dict[str, pd.DataFrame]) -> None:
    assert not tables["customer"]["id"].duplicated().any()
    assert not tables["customer"]["email"].duplicated().any()
    assert not tables["orders"]["code"].duplicated().any()
    assert not tables["line"][["order_code", "n"]].duplicated().any()
    assert tables["orders"]["customer_id"].isin(tables["customer"]["id"]).all()
    assert tables["line"]["order_code"].isin(tables["orders"]["code"]).all()
    assert tables["line"]["product_id"].isin(tables["product"]["id"]).all()
    assert (tables["line"]["qty"] > 0).all()


def test_the_family_is_split_and_the_rest_sampled_once(shop) -> None:
    _, model = shop
    part, why = partition(model, 1.0, {}, 300)
    assert why == ""
    assert part is not None and part.root == "customer"
    assert part.family == ("customer", "orders", "line")
    assert part.shared == ("product",)
    assert part.batches >= 4
    batches = list(sample_batches(model, seed=5, batch_rows=300))
    assert len(batches) == part.batches
    assert "product" in batches[0] and all("product" not in b for b in batches[1:])
    assert sum(len(b["customer"]) for b in batches) == part.root_rows


@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_no_key_or_unique_value_repeats_across_batches(shop, scale: float) -> None:
    _, model = shop
    tables = concat(sample_batches(model, scale=scale, seed=5, batch_rows=250), model.plan.order)
    _check_integrity(tables)
    # A row repeating a drawn UNIQUE value of an earlier batch is dropped, as in one piece.
    assert round(400 * scale) * 0.99 <= len(tables["customer"]) <= round(400 * scale)


def test_drawn_unique_values_taken_by_an_earlier_batch_are_not_written_again(shop) -> None:
    """Emails are drawn, not counted: batches of one customer each would repeat some without
    the values earlier batches wrote."""
    _, model = shop
    tables = concat(sample_batches(model, seed=1, batch_rows=12), model.plan.order)
    _check_integrity(tables)


def test_same_seed_same_batches_and_children_as_in_one_piece(shop) -> None:
    _, model = shop
    one = concat(sample_batches(model, seed=9, batch_rows=300), model.plan.order)
    two = concat(sample_batches(model, seed=9, batch_rows=300), model.plan.order)
    for name in one:
        pd.testing.assert_frame_equal(one[name], two[name])
    other = concat(sample_batches(model, seed=10, batch_rows=300), model.plan.order)
    assert not one["orders"].equals(other["orders"])
    whole = relsynth.sample(model, seed=9)
    # Children per parent keep their distribution when the family is cut into batches.
    per_whole = len(whole["line"]) / len(whole["customer"])
    per_batch = len(one["line"]) / len(one["customer"])
    assert abs(per_batch - per_whole) / per_whole < 0.15
    trade = one["customer"].loc[one["customer"]["segment"] == "trade", "id"]
    retail = one["customer"].loc[one["customer"]["segment"] != "trade", "id"]
    orders_per = one["orders"]["customer_id"].value_counts()
    # Trade customers have more orders (5.8 against 3.2): the count follows the parent's category.
    assert (
        orders_per.reindex(trade, fill_value=0).mean() > orders_per.reindex(retail, fill_value=0).mean() + 0.7
    )


def test_a_table_pointing_into_the_family_keeps_it_whole(tmp_path, caplog) -> None:
    url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    run_sql(
        url,
        SCHEMA + "CREATE TABLE audit (id INTEGER PRIMARY KEY, order_code VARCHAR(12) REFERENCES orders(code),"
        " note VARCHAR(20));\n"
        + _rows()
        + "\nINSERT INTO audit SELECT rowid, code, 'seen' FROM orders WHERE rowid % 3 = 0;",
    )
    model = relsynth.fit(url, seed=2)
    part, why = partition(model, 1.0, {}, 300)
    assert part is None and "audit points into" in why
    with caplog.at_level(logging.INFO, logger="relsynth"):
        batches = list(sample_batches(model, seed=1, batch_rows=300))
    assert len(batches) == 1 and "sampled whole" in caplog.text
    assert batches[0]["audit"]["order_code"].dropna().isin(batches[0]["orders"]["code"]).all()


def test_a_source_above_fit_rows_is_learned_from_a_sample_and_scaled_as_a_whole(shop) -> None:
    source, whole = shop
    assert whole.source["sample_rows"] is None  # 6,000 rows: within the default
    sampled = relsynth.fit(source, seed=2, fit_rows=2000)
    read = sum(sampled.source["rows_read"].values())
    assert 1500 <= read <= 2300 and sampled.source["rows_read"]["product"] == 30  # shared: whole
    assert sampled.source["source_rows"]["customer"] == 400
    assert sampled.source["rows_read"]["customer"] < 200
    tables = concat(sample_batches(sampled, seed=3, batch_rows=500), sampled.plan.order)
    assert len(tables["customer"]) == 400  # --scale 1: the source's customers, not the sample's
    _check_integrity(tables)
    per = len(tables["line"]) / len(tables["customer"])
    assert abs(per - whole.tables["line"].n_rows / 400) < 2.0


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_synthesize_in_batches_writes_every_batch_and_verifies(shop, request, db: str) -> None:
    source, _ = shop
    target = request.getfixturevalue(f"{db}_db")()
    result = relsynth.synthesize(source, target, seed=4, batch_rows=300)
    summary = result["write"]
    assert summary.verification.problems == 0
    engine = sa.create_engine(target)
    try:
        with engine.connect() as conn:
            tables = {t: pd.read_sql_table(t, conn) for t in ("product", "customer", "orders", "line")}
    finally:
        engine.dispose()
    assert {t: len(f) for t, f in tables.items()} == {t: summary.rows[t] for t in tables}
    assert len(tables["customer"]) == 400
    _check_integrity(tables)


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_failure_in_a_later_batch_leaves_nothing_behind(shop, request, db: str) -> None:
    """The first batch is loaded when the second fails to arrive: nothing may remain."""
    _, model = shop
    target = request.getfixturevalue(f"{db}_db")()
    batches = sample_batches(model, seed=4, batch_rows=300)
    first = next(batches)

    def then_fail():
        yield next(batches)
        raise RuntimeError("the sampler died in batch 3")

    with pytest.raises(RuntimeError, match="batch 3"):
        write(first, model.schema, target, plan=model.plan, more=then_fail())
    left = {t for t in table_names(target) if not t.startswith("relsynth")}
    assert left == set()
    if db != "sqlite":
        assert scalar(target, "SELECT 1") == 1  # the server is still usable
