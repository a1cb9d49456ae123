"""Batches that need nothing of each other (model/batches.py ``Batch.apart``), sampled in several
processes at once (``--workers N``, relsynth/ahead.py ``sampled_in_turn``).

What is attacked: the same seed giving another database on 1, 2 or 3 processes (the issue's
partition-count invariance), a batch whose rows depend on the batches sampled before it in the
same process, keys repeating across batches sampled apart (counted keys, keys of child tables whose
sizes differ batch to batch), foreign keys into the shared tables piling onto a few parents when
each batch deals them on its own, and synthesize --workers writing another database than the serial
run, on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import relsynth
from relsynth import api
from relsynth.model import batches as batching
from relsynth.model.batches import Batch, concat, partition, sample_batches
from relsynth.model.sample import SampleReport
from tests.conftest import EVERY_DATABASE, fetch, run_sql

SCHEMA = """
CREATE TABLE product (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL, price NUMERIC(8,2) NOT NULL);
CREATE TABLE customer (id INTEGER PRIMARY KEY, segment VARCHAR(10) NOT NULL, balance NUMERIC(10,2) NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customer(id),
                     placed DATE NOT NULL, priority VARCHAR(8) NOT NULL);
CREATE TABLE line (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id),
                   product_id INTEGER NOT NULL REFERENCES product(id), qty INTEGER NOT NULL CHECK (qty > 0));
"""


def _rows() -> str:
    """A shop without UNIQUE values drawn: 600 customers, 0-8 orders of 1-4 lines, 40 products."""
    rng = np.random.default_rng(11)
    out = []
    for p in range(1, 41):
        out.append(f"INSERT INTO product VALUES ({p}, 'product {p}', {rng.integers(100, 9000) / 100:.2f});")
    k = line = 0
    for c in range(1, 601):
        seg = ["retail", "trade", "online"][c % 3]
        out.append(f"INSERT INTO customer VALUES ({c}, '{seg}', {rng.normal(500, 90):.2f});")
        for _ in range(rng.integers(0, 5) if seg != "trade" else rng.integers(3, 9)):
            k += 1
            day = 1 + int(rng.integers(0, 28))
            out.append(
                f"INSERT INTO orders VALUES ({k}, {c}, '2024-03-{day:02d}', '{['low', 'high'][k % 2]}');"
            )
            for _ in range(int(rng.integers(1, 5))):
                line += 1
                out.append(
                    f"INSERT INTO line VALUES ({line}, {k}, {rng.integers(1, 41)}, {rng.integers(1, 9)});"
                )
    return "\n".join(out)


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batching, "MIN_BATCH_ROOTS", 10)
    monkeypatch.setattr(api, "MIN_SAMPLE_ROOTS", 10)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory):
    url = f"sqlite:///{tmp_path_factory.mktemp('apart') / 'shop.sqlite'}"
    run_sql(url, SCHEMA + _rows())
    return url, relsynth.fit(url, seed=2)


def _integrity(tables: dict[str, pd.DataFrame]) -> None:
    for name in ("customer", "orders", "line", "product"):
        assert not tables[name]["id"].duplicated().any(), name
    assert tables["orders"]["customer_id"].isin(tables["customer"]["id"]).all()
    assert tables["line"]["order_id"].isin(tables["orders"]["id"]).all()
    assert tables["line"]["product_id"].isin(tables["product"]["id"]).all()


def test_a_family_without_drawn_unique_values_is_apart(shop) -> None:
    _, model = shop
    part, _ = partition(model, 1.0, {}, 300)
    assert part is not None and part.family == ("customer", "orders", "line") and part.batches >= 4
    assert Batch(model, part.family, 0, part=part).apart


@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_the_same_database_on_one_two_or_three_processes(shop, scale: float) -> None:
    _, model = shop
    serial = concat(sample_batches(model, scale=scale, seed=4, batch_rows=300), model.plan.order)
    _integrity(serial)
    for workers in (2, 3):
        report = SampleReport()
        got = list(sample_batches(model, scale=scale, seed=4, batch_rows=300, workers=workers, report=report))
        assert "product" in got[0] and all("product" not in b for b in got[1:])
        tables = concat(iter(got), model.plan.order)
        for name in serial:
            pd.testing.assert_frame_equal(tables[name], serial[name], check_dtype=False)


def test_a_batch_is_the_same_whatever_was_sampled_before_it(shop) -> None:
    """Batch 3 alone, on a fresh process state, is batch 3 of the serial run."""
    _, model = shop
    part, _ = partition(model, 1.0, {}, 300)
    assert part is not None
    serial = list(sample_batches(model, seed=4, batch_rows=300))
    third = next(
        sample_batches_only(model, part, 3),
    )
    for name in part.family:
        pd.testing.assert_frame_equal(third[name], serial[3][name], check_dtype=False)


def sample_batches_only(model, part, number: int):
    """The family's batch ``number`` alone, from the shared tables as the serial run has them."""
    from relsynth.model.sample import finish_all, finished, sample_one, table_rngs

    report = SampleReport()
    rngs = table_rngs(model, 4)
    done: dict = {}
    for name in part.shared:
        sample_one(model, name, done, 1.0, None, rngs[name], report)
    finish_all(model, part.shared, done, rngs, report)
    for here in batching._family_batches(model, part, done, 1.0, 4, report, lambda b: b == number):
        yield {n: finished(model, n, here, here.rngs, report) for n in part.family}


def test_keys_into_shared_tables_stay_spread_when_dealt_apart(shop) -> None:
    """Each batch deals the products from its own share of their slots: together they give every
    product about the lines it wants, as one deck dealt over all batches did."""
    _, model = shop
    tables = concat(sample_batches(model, seed=6, batch_rows=150), model.plan.order)
    whole = relsynth.sample(model, seed=6, batch_rows=None)
    per_product = tables["line"]["product_id"].value_counts().reindex(tables["product"]["id"], fill_value=0)
    in_one = whole["line"]["product_id"].value_counts().reindex(whole["product"]["id"], fill_value=0)
    assert (per_product > 0).mean() >= 0.9
    assert per_product.std() <= 1.5 * in_one.std() + 2


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_synthesize_with_workers_writes_the_serial_database(shop, request, db: str) -> None:
    url, _ = shop
    make = request.getfixturevalue(f"{db}_db")
    one, two = make(), make()
    relsynth.synthesize(url, one, seed=3, batch_rows=300)
    relsynth.synthesize(url, two, seed=3, batch_rows=300, workers=2)
    for name in ("customer", "orders", "line", "product"):
        a = fetch(one, f"SELECT * FROM {name} ORDER BY id")
        b = fetch(two, f"SELECT * FROM {name} ORDER BY id")
        assert len(a) > 0 and a == b, name
