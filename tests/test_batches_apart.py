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

import pandas as pd
import pytest

import relsynth
from relsynth.model import batches as batching
from relsynth.model.batches import Batch, concat, partition, sample_batches
from relsynth.model.sample import SampleReport
from tests import shop
from tests.conftest import EVERY_DATABASE, fetch

pytestmark = pytest.mark.usefixtures("small_batches")


def test_a_family_without_drawn_unique_values_is_apart(apart_shop) -> None:
    _, model = apart_shop
    part, _ = partition(model, 1.0, {}, 300)
    assert part is not None and part.family == ("customer", "orders", "line") and part.batches >= 4
    assert Batch(model, part.family, 0, part=part).apart


@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_the_same_database_on_one_two_or_three_processes(apart_shop, scale: float) -> None:
    _, model = apart_shop
    serial = concat(sample_batches(model, scale=scale, seed=4, batch_rows=300), model.plan.order)
    shop.integrity(serial)
    for workers in (2, 3):
        report = SampleReport()
        got = list(sample_batches(model, scale=scale, seed=4, batch_rows=300, workers=workers, report=report))
        assert "product" in got[0] and all("product" not in b for b in got[1:])
        tables = concat(iter(got), model.plan.order)
        for name in serial:
            pd.testing.assert_frame_equal(tables[name], serial[name], check_dtype=False)


def test_a_batch_is_the_same_whatever_was_sampled_before_it(apart_shop) -> None:
    """Batch 3 alone, on a fresh process state, is batch 3 of the serial run."""
    _, model = apart_shop
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


def test_keys_into_shared_tables_stay_spread_when_dealt_apart(apart_shop) -> None:
    """Each batch deals the products from its own share of their slots: together they give every
    product about the lines it wants, as one deck dealt over all batches did."""
    _, model = apart_shop
    tables = concat(sample_batches(model, seed=6, batch_rows=150), model.plan.order)
    whole = relsynth.sample(model, seed=6, batch_rows=None)
    per_product = tables["line"]["product_id"].value_counts().reindex(tables["product"]["id"], fill_value=0)
    in_one = whole["line"]["product_id"].value_counts().reindex(whole["product"]["id"], fill_value=0)
    assert (per_product > 0).mean() >= 0.9
    assert per_product.std() <= 1.5 * in_one.std() + 2


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_synthesize_with_workers_writes_the_serial_database(apart_shop, request, db: str) -> None:
    url, _ = apart_shop
    make = request.getfixturevalue(f"{db}_db")
    one, two = make(), make()
    relsynth.synthesize(url, one, seed=3, batch_rows=300)
    relsynth.synthesize(url, two, seed=3, batch_rows=300, workers=2)
    for name in ("customer", "orders", "line", "product"):
        a = fetch(one, f"SELECT * FROM {name} ORDER BY id")
        b = fetch(two, f"SELECT * FROM {name} ORDER BY id")
        assert len(a) > 0 and a == b, name
