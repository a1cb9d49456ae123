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
from relsynth import api
from relsynth.errors import RelsynthError
from relsynth.model import batches as batching
from relsynth.model.batches import concat, partition, sample_batches
from relsynth.model.sample import SampleReport
from relsynth.writer import write
from tests.conftest import EVERY_DATABASE, fetch, run_sql, scalar, table_names

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


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches and samples of a few rows, so a test database of hundreds is cut into several."""
    monkeypatch.setattr(batching, "MIN_BATCH_ROOTS", 10)
    monkeypatch.setattr(api, "MIN_SAMPLE_ROOTS", 10)


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


def test_a_few_hundred_root_rows_stay_in_one_piece_by_default(shop, monkeypatch) -> None:
    """Batches of a few roots would keep each row's references within its own family."""
    _, model = shop
    monkeypatch.setattr(batching, "MIN_BATCH_ROOTS", 1000)
    assert partition(model, 1.0, {}, 300) == (None, "")


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
    assert part is None and why == "audit points into orders"
    with caplog.at_level(logging.INFO, logger="relsynth"):
        batches = list(sample_batches(model, seed=1, batch_rows=300))
    assert len(batches) == 1 and "sampled in one piece, not in batches" in caplog.text
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


def test_the_sample_learned_from_is_not_what_guards_the_output(shop) -> None:
    """Learned from a sample, the output is still kept off every record of the source: the
    guards hold as many source records and values as those of a model learned from all rows."""
    source, whole = shop
    sampled = relsynth.fit(source, seed=2, fit_rows=2000)
    assert sampled.source["rows_read"]["orders"] < whole.tables["orders"].n_rows
    assert whole.tables["customer"].column("email").guard is not None  # something to compare
    assert any(whole.tables[n].record_guard is not None for n in ("customer", "orders"))
    for name in ("customer", "orders"):
        a, b = whole.tables[name], sampled.tables[name]
        assert (a.record_guard is None) == (b.record_guard is None)
        if a.record_guard is not None:
            assert len(b.record_guard.hashes) == len(a.record_guard.hashes)
        for spec in a.columns:
            if spec.guard is not None:
                assert len(sampled.tables[name].column(spec.name).guard.hashes) == len(spec.guard.hashes)


def test_rows_under_no_parent_are_read_with_a_sample(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'regions.sqlite'}"
    rows = ["CREATE TABLE region (id INTEGER PRIMARY KEY, name VARCHAR(10) NOT NULL, area INTEGER NOT NULL);"]
    rows.append(
        "CREATE TABLE person (id INTEGER PRIMARY KEY, region_id INTEGER REFERENCES region(id), age INTEGER);"
    )
    rows += [f"INSERT INTO region VALUES ({r}, 'r{r % 4}', {r * 37 % 101});" for r in range(1, 41)]
    rows += [
        f"INSERT INTO person VALUES ({p}, {'NULL' if p % 5 == 0 else 1 + p % 40}, {20 + p % 50});"
        for p in range(1, 1201)
    ]
    run_sql(url, "\n".join(rows))
    model = relsynth.fit(url, seed=1, fit_rows=400)
    assert model.plan["person"].context is not None  # people are read under their regions
    assert model.source["sample_rows"] < 40
    tables = relsynth.sample(model, seed=1)
    share = tables["person"]["region_id"].isna().mean()
    assert 0.1 < share < 0.3  # 20% of people have no region in the source


NARROW = """
CREATE TABLE club (id SMALLINT PRIMARY KEY, code CHAR(2) NOT NULL UNIQUE, name VARCHAR(20) NOT NULL);
CREATE TABLE member (id INTEGER PRIMARY KEY, club_id SMALLINT NOT NULL REFERENCES club(id), age INTEGER NOT NULL);
"""


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_narrow_keys_and_small_unique_spaces_do_not_repeat_across_batches(request, db: str) -> None:
    """A SMALLINT key runs out at 32,767 rows and a CHAR(2) code has 1,296 values: batches must
    not wrap onto an earlier batch's keys, nor drop rows an unbatched run keeps."""
    source = request.getfixturevalue(f"{db}_db")()
    rng = np.random.default_rng(0)
    inserts = [f"INSERT INTO club VALUES ({c}, 'C{c % 10}', 'club {c}');" for c in range(1, 201)]
    inserts = [
        i.replace(f"'C{c % 10}'", f"'{chr(65 + c // 26 % 26)}{chr(65 + c % 26)}'")
        for c, i in enumerate(inserts, 1)
    ]
    m = 0
    for c in range(1, 201):
        for _ in range(int(rng.integers(1, 4))):
            m += 1
            inserts.append(f"INSERT INTO member VALUES ({m}, {c}, {int(rng.integers(18, 80))});")
    run_sql(source, NARROW + "\n".join(inserts))
    model = relsynth.fit(source, seed=1)
    one = relsynth.sample(model, scale=3, seed=2)
    tables = concat(sample_batches(model, scale=3, seed=2, batch_rows=100), model.plan.order)
    assert not tables["club"]["id"].duplicated().any()
    assert not tables["club"]["code"].duplicated().any()
    assert tables["member"]["club_id"].isin(tables["club"]["id"]).all()
    assert len(tables["club"]) >= 0.95 * len(one["club"])


def test_a_one_to_one_key_into_a_table_sampled_once_keeps_the_family_whole(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'cards.sqlite'}"
    script = [
        "CREATE TABLE card (id INTEGER PRIMARY KEY, kind VARCHAR(5) NOT NULL);",
        "CREATE TABLE member (id INTEGER PRIMARY KEY, card_id INTEGER UNIQUE REFERENCES card(id), age INTEGER);",
        "CREATE TABLE visit (id INTEGER PRIMARY KEY, member_id INTEGER NOT NULL REFERENCES member(id), mins INTEGER);",
    ]
    script += [f"INSERT INTO card VALUES ({c}, 'k{c % 3}');" for c in range(1, 331)]
    script += [f"INSERT INTO member VALUES ({m}, {m}, {20 + m % 60});" for m in range(1, 301)]
    script += [f"INSERT INTO visit VALUES ({v}, {1 + v % 300}, {v % 90});" for v in range(1, 1201)]
    run_sql(url, "\n".join(script))
    model = relsynth.fit(url, seed=1)
    part, why = partition(model, 1.0, {}, 200)
    if part is not None:  # member sits under card: card's family is split, member with it
        assert "member" in part.family and "card" in part.family
    else:
        assert why == "member has one row per row of card at most (a UNIQUE key)"
    tables = concat(sample_batches(model, seed=1, batch_rows=200), model.plan.order)
    cards = tables["member"]["card_id"].dropna()
    assert not cards.duplicated().any() and cards.isin(tables["card"]["id"]).all()


def test_a_key_too_narrow_for_the_rows_is_reported_with_its_room_in_batches(tmp_path) -> None:
    """A key of 150 values: the rows past it are dropped, batched or not, and the summary gives
    its room (it said 'at most 0 distinct values' once the batches had used it up)."""
    from relsynth.model.sample import SampleReport

    url = f"sqlite:///{tmp_path / 'box.sqlite'}"
    script = ["CREATE TABLE box (id INTEGER PRIMARY KEY CHECK (id BETWEEN 1 AND 150), w INTEGER NOT NULL);"]
    script += [f"INSERT INTO box VALUES ({b}, {b * 7 % 31});" for b in range(1, 101)]
    run_sql(url, "\n".join(script))
    model = relsynth.fit(url, seed=1)
    whole, batched = SampleReport(), SampleReport()
    one = relsynth.sample(model, scale=5, seed=1, report=whole, batch_rows=None)
    many = concat(sample_batches(model, scale=5, seed=1, batch_rows=60, report=batched), model.plan.order)
    assert len(one["box"]) == len(many["box"]) == 150
    assert not many["box"]["id"].duplicated().any() and many["box"]["id"].between(1, 150).all()
    assert batched.narrow_keys == whole.narrow_keys == {"box": {("id",): 150}}


PARTS = """
CREATE TABLE part (id INTEGER PRIMARY KEY, kind VARCHAR(4) NOT NULL, price NUMERIC(8,2) NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, placed INTEGER NOT NULL);
CREATE TABLE line (order_id INTEGER NOT NULL REFERENCES orders(id), n INTEGER NOT NULL,
                   part_id INTEGER NOT NULL REFERENCES part(id), qty INTEGER NOT NULL, PRIMARY KEY (order_id, n));
"""


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_children_through_a_second_parent_are_counted_in_the_source_under_a_sample(request, db: str) -> None:
    """Lines are read under a sample of orders, parts as a sample of their own: each sampled part
    keeps only the lines of the sampled orders (a third of its lines, often none), and learned
    from that, the output gave lines to 56% of the parts that have them instead of 90% (the
    unsampled model). Counted in the source, per part read, they come back."""
    source = request.getfixturevalue(f"{db}_db")()
    rng = np.random.default_rng(0)
    parts = ", ".join(
        f"({i}, '{'hot' if i % 2 else 'cold'}', {rng.gamma(2, 10):.2f})" for i in range(1, 3001)
    )
    orders, lines = [], []
    for o in range(1, 3001):
        orders.append(f"({o}, {rng.integers(0, 1000)})")
        for n in range(1, int(rng.integers(1, 4)) + 1):
            lines.append(f"({o}, {n}, {rng.choice(np.arange(1, 3001, 2))}, {rng.integers(1, 9)})")
    run_sql(
        source,
        PARTS
        + f"INSERT INTO part VALUES {parts};\nINSERT INTO orders VALUES {', '.join(orders)};\n"
        + f"INSERT INTO line VALUES {', '.join(lines)};",
    )
    model = relsynth.fit(source, seed=1, sample_rows=500)
    assert model.source["rows_read"]["part"] == 500 and model.plan["line"].context.ref_table == "orders"
    tables = relsynth.sample(model, seed=1)
    part, line = tables["part"], tables["line"]
    hot = part["kind"] == "hot"
    has = part["id"].isin(line["part_id"])
    assert has[hot].mean() > 0.8  # 0.56 when counted in the samples
    assert has[~hot].mean() < 0.1


def _tables(url: str) -> dict[str, list[tuple[object, ...]]]:
    keys = {"product": "id", "customer": "id", "orders": "code", "line": "order_code, n"}
    return {t: fetch(url, f"SELECT * FROM {t} ORDER BY {k}") for t, k in keys.items()}


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_sampling_ahead_in_a_second_process_writes_the_same_database(shop, request, db: str, caplog) -> None:
    """--workers 2 samples the next batch while one is loaded: the same rows, keys and report as
    the serial run, and the child's log lines are the parent's."""
    source, _ = shop
    make = request.getfixturevalue(f"{db}_db")
    serial, ahead = make(), make()
    one = relsynth.synthesize(source, serial, seed=4, batch_rows=300)
    with caplog.at_level(logging.INFO, logger="relsynth"):
        two = relsynth.synthesize(source, ahead, seed=4, batch_rows=300, workers=2)
    assert "in 5 batches" in caplog.text or "batches of" in caplog.text
    assert two["write"].verification.problems == 0
    assert two["write"].rows == one["write"].rows and sum(two["write"].rows.values()) > 1000
    assert _tables(ahead) == _tables(serial)
    assert two["report"].lines() == one["report"].lines()


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_failure_while_sampling_ahead_leaves_nothing_behind(shop, request, db: str, monkeypatch) -> None:
    """The sampling process fails in its third batch, after two were loaded: the error is the
    parent's, and the target is as it was."""
    source, _ = shop
    target = request.getfixturevalue(f"{db}_db")()
    real = batching.finish_all
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:  # the shared tables, then batches 1 and 2
            raise ValueError("the sampler died in batch 3")
        return real(*args, **kwargs)

    monkeypatch.setattr(batching, "finish_all", failing)
    with pytest.raises(ValueError, match="batch 3"):
        relsynth.synthesize(source, target, seed=4, batch_rows=300, workers=2)
    assert {t for t in table_names(target) if not t.startswith("relsynth")} == set()


WIDE_SHOP = """
CREATE TABLE product (id INTEGER PRIMARY KEY, kind VARCHAR(10) NOT NULL);
CREATE TABLE customer (id INTEGER PRIMARY KEY, segment VARCHAR(10) NOT NULL);
CREATE TABLE line (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customer(id),
                   product_id INTEGER NOT NULL REFERENCES product(id), qty INTEGER NOT NULL);
"""


def test_a_shared_parent_keeps_its_children_when_they_come_in_many_batches(tmp_path) -> None:
    """600 products, each bought about 5 times; batches of 10 customers buy about 35 lines each.
    Each batch gave its few lines to the products wanting the most, the same ones every time:
    90% of the products were never bought (the old code)."""
    rng = np.random.default_rng(4)
    rows = [f"INSERT INTO product VALUES ({p}, '{['a', 'b', 'c'][p % 3]}');" for p in range(1, 601)]
    k = 0
    for c in range(1, 801):
        rows.append(f"INSERT INTO customer VALUES ({c}, '{['x', 'y'][c % 2]}');")
        for _ in range(int(rng.integers(1, 7))):
            k += 1
            rows.append(f"INSERT INTO line VALUES ({k}, {c}, {rng.integers(1, 601)}, {rng.integers(1, 9)});")
    url = f"sqlite:///{tmp_path / 'wide.sqlite'}"
    run_sql(url, WIDE_SHOP + "\n".join(rows))
    model = relsynth.fit(url, seed=0)
    part, _ = partition(model, 1.0, {}, 40)
    assert part is not None and part.shared == ("product",) and part.batches >= 40
    whole = relsynth.sample(model, seed=3)
    cut = concat(sample_batches(model, seed=3, batch_rows=40), model.plan.order)

    def bought(tables: dict[str, pd.DataFrame]) -> pd.Series:
        return tables["line"]["product_id"].value_counts().reindex(tables["product"]["id"], fill_value=0)

    in_one, in_batches = bought(whole), bought(cut)
    assert (in_one == 0).mean() < 0.05
    assert (in_batches == 0).mean() < (in_one == 0).mean() + 0.03
    assert in_batches.std() < in_one.std() * 1.3
    assert in_batches.max() < 3 * in_one.max()


def _deal_all(deck, groups: np.ndarray, cuts: list[int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    parts = np.split(groups, cuts)
    return np.concatenate([deck.deal(p, rng) for p in parts])


@pytest.mark.parametrize("cuts", [[], [1, 2, 3], list(range(7, 300, 7)), [150]])
def test_a_deck_deals_each_parent_its_slots_over_a_cycle_however_the_batches_fall(cuts) -> None:
    from relsynth.model.keys import Deck

    weights = np.array([0.0, 1.0, 2.4, 7.0, 0.2, 3.0, 3.0, 9.9, 1.5])
    groups = np.array([0, 0, 0, 1, 1, 1, 1, 2, -1])  # the last parent is in no group
    deck = Deck.build(groups, weights, np.random.default_rng(1))
    assert (np.abs(deck.size - np.bincount(groups[:8], weights=weights[:8])) < 1).all()
    children = np.repeat([0, 1, 2], deck.size)
    np.random.default_rng(2).shuffle(children)
    got = _deal_all(deck, children, [c for c in cuts if c < len(children)], seed=3)
    counts = np.bincount(got, minlength=len(weights))
    assert (groups[got] == children).all()  # a child is dealt a parent of its group
    assert counts[8] == 0 and counts[0] == 0  # no group, no weight: no child
    assert (np.abs(counts[:8] - weights[:8]) < 1 + 1e-9).all()  # within a slot of its weight
    for g in range(3):
        assert counts[groups == g].sum() == deck.size[g]  # a cycle deals every slot once
    # The same parents again in the next cycle, and a group it has no slots for gets none.
    again = deck.deal(np.array([1] * int(deck.size[1]) + [3, -1]), np.random.default_rng(4))
    assert (again[-2:] == -1).all()
    assert (
        np.bincount(again[:-2], minlength=9).tolist() == np.bincount(got[children == 1], minlength=9).tolist()
    )


def test_a_deck_of_parents_that_want_no_children_deals_them_alike() -> None:
    from relsynth.model.keys import Deck

    deck = Deck.build(np.zeros(4, dtype=np.int64), np.zeros(4), np.random.default_rng(0))
    got = deck.deal(np.zeros(400, dtype=np.int64), np.random.default_rng(1))
    assert np.bincount(got, minlength=4).tolist() == [100, 100, 100, 100]


def test_rows_find_the_group_of_the_values_they_must_match_nulls_too() -> None:
    from relsynth.model.batches import Steady
    from relsynth.model.keys import Deck

    firsts = [np.array([1, 2, None, 2], dtype=object), np.array(["a", "a", "b", "b"], dtype=object)]
    deck = Deck.build(np.arange(4), np.ones(4), np.random.default_rng(0))
    steady = Steady.of(np.ones(4), np.arange(4), firsts, deck)
    own = [np.array([2, None, 1, 9, 2], dtype=object), np.array(["b", "b", "a", "a", "c"], dtype=object)]
    assert steady.child_groups(own, 5).tolist() == [3, 2, 0, 4, 4]


PARTSUPP = """
CREATE TABLE part (id INTEGER PRIMARY KEY, size INTEGER NOT NULL);
CREATE TABLE supplier (id INTEGER PRIMARY KEY, region VARCHAR(8) NOT NULL);
CREATE TABLE partsupp (part_id INTEGER NOT NULL REFERENCES part(id), supplier_id INTEGER NOT NULL REFERENCES supplier(id),
                       cost INTEGER NOT NULL, PRIMARY KEY (part_id, supplier_id));
CREATE TABLE customer (id INTEGER PRIMARY KEY, segment VARCHAR(8) NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customer(id));
CREATE TABLE line (order_id INTEGER NOT NULL REFERENCES orders(id), n INTEGER NOT NULL,
                   part_id INTEGER NOT NULL REFERENCES part(id), supplier_id INTEGER NOT NULL,
                   qty INTEGER NOT NULL, PRIMARY KEY (order_id, n),
                   FOREIGN KEY (part_id, supplier_id) REFERENCES partsupp(part_id, supplier_id));
"""


def _parts_script(nan_share: float = 0.0) -> str:
    """TPC-H's shape: lines point to a part and to one of its four suppliers (a composite key
    sharing the part's column); 600 parts with their 2,400 partsupp rows are a family of their
    own. ``nan_share``: a line's quantity is NaN this often (a float NOT NULL column; PostgreSQL)."""
    rng = np.random.default_rng(8)
    rows = [f"INSERT INTO supplier VALUES ({s}, '{['eu', 'us'][s % 2]}');" for s in range(1, 41)]
    for p in range(1, 601):
        rows.append(f"INSERT INTO part VALUES ({p}, {rng.integers(1, 50)});")
        for s in rng.choice(np.arange(1, 41), 4, replace=False):
            rows.append(f"INSERT INTO partsupp VALUES ({p}, {s}, {rng.integers(1, 999)});")
    pairs = [r.split("(")[1].split(",")[:2] for r in rows if r.startswith("INSERT INTO partsupp")]
    o = 0
    for c in range(1, 401):
        rows.append(f"INSERT INTO customer VALUES ({c}, '{['x', 'y'][c % 2]}');")
        for _ in range(int(rng.integers(1, 6))):
            o += 1
            rows.append(f"INSERT INTO orders VALUES ({o}, {c});")
            for k in range(1, int(rng.integers(2, 8))):
                p, s = pairs[int(rng.integers(0, len(pairs)))]
                qty = "'NaN'" if rng.random() < nan_share else str(rng.integers(1, 9))
                rows.append(f"INSERT INTO line VALUES ({o}, {k}, {p}, {s.strip()}, {qty});")
    script = PARTSUPP if not nan_share else PARTSUPP.replace("qty INTEGER", "qty DOUBLE PRECISION")
    return script + "\n".join(rows)


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory):
    url = f"sqlite:///{tmp_path_factory.mktemp('parts') / 'parts.sqlite'}"
    run_sql(url, _parts_script())
    return relsynth.fit(url, seed=0)


def test_a_large_shared_family_is_sampled_in_batches_too_and_keys_into_it_hold(parts) -> None:
    """part -> partsupp (10 million rows at TPC-H SF 10, held whole: 8.6 GiB) is sampled in
    batches before the customers' family, twice: once to keep its keys, once to be written."""
    part, _ = partition(parts, 1.0, {}, 400)
    assert part is not None and part.root == "customer"
    split = batching.split_shared(parts, part, 1.0, {}, 400)
    assert split is not None and split.family == ("part", "partsupp") and split.batches >= 4
    batches = list(sample_batches(parts, seed=2, batch_rows=400))
    assert len(batches) == part.batches + split.batches
    assert {"part", "partsupp", "supplier"} <= set(batches[0]) and "line" not in batches[0]
    assert all("part" not in b for b in batches[split.batches :])
    tables = concat(iter(batches), parts.plan.order)
    again = concat(sample_batches(parts, seed=2, batch_rows=400), parts.plan.order)
    for name in tables:
        pd.testing.assert_frame_equal(tables[name], again[name])
    ps = tables["partsupp"]
    assert not ps[["part_id", "supplier_id"]].duplicated().any()
    assert (
        ps["part_id"].isin(tables["part"]["id"]).all()
        and ps["supplier_id"].isin(tables["supplier"]["id"]).all()
    )
    line = tables["line"]
    held = pd.MultiIndex.from_frame(ps[["part_id", "supplier_id"]])
    assert pd.MultiIndex.from_frame(line[["part_id", "supplier_id"]]).isin(held).all()
    assert len(line) > 0.8 * len(relsynth.sample(parts, seed=2)["line"])
    per = line.groupby(["part_id", "supplier_id"]).size().reindex(held, fill_value=0)
    assert (per == 0).mean() < 0.3  # about 1.8 lines per partsupp row: Poisson leaves 0.17 without


@pytest.mark.parametrize("empty", ["supplier", "partsupp", "part"])
def test_a_shared_table_sampled_empty_drops_the_rows_that_need_it(parts, empty: str) -> None:
    """--rows supplier=0 leaves partsupp empty: the deck of lines' composite key into it crashed."""
    tables = concat(sample_batches(parts, seed=2, batch_rows=400, rows={empty: 0}), parts.plan.order)
    assert len(tables["line"]) == 0 and len(tables[empty]) == 0


def test_rows_left_without_two_parents_are_counted_once(parts) -> None:
    """--rows part=0 leaves a line without its part and without its partsupp row: it was counted
    as dropped once for each (the summary said twice the lines there were)."""
    counts = []
    for empty in ("part", "partsupp"):  # the same lines drawn, one key or two without a parent
        report = SampleReport()
        list(sample_batches(parts, seed=2, batch_rows=400, rows={empty: 0}, report=report))
        counts.append(report.dropped_no_parent["line"])
    assert counts[0] == counts[1] > 0


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_nan_first_met_in_a_later_batch_is_written_where_the_target_can(request, pg_db, db: str) -> None:
    """PostgreSQL keeps NaN in a NOT NULL float; SQLite and MariaDB cannot, so the writer makes
    such a column nullable, deciding from the first batch. Lines come only after the shared family
    (the first batch holds no line at all): the load failed with the target's NOT NULL error."""
    source = pg_db()
    run_sql(source, _parts_script(nan_share=0.1))
    model = relsynth.fit(source, seed=0)
    assert model.tables["line"].non_finite == {"qty": ["nan"]}
    first = next(sample_batches(model, seed=2, batch_rows=400))
    assert "line" not in first  # what the writer decides from holds no line
    target = request.getfixturevalue(f"{db}_db")()
    result = relsynth.synthesize(source, target, seed=2, batch_rows=400)
    assert result["write"].verification.problems == 0
    nan = "qty = 'NaN'" if db == "pg" else "qty IS NULL"
    assert 0.05 < scalar(target, f"SELECT AVG(CASE WHEN {nan} THEN 1.0 ELSE 0 END) FROM line") < 0.15


def test_a_model_without_its_nan_columns_stops_a_later_batch_with_one_line(pg_db, tmp_path) -> None:
    """A model file saved before relsynth recorded NaN columns: the later batch is refused in
    words, not by the target's constraint from the middle of the load, and nothing is left."""
    source = pg_db()
    run_sql(source, _parts_script(nan_share=0.1))
    model = relsynth.fit(source, seed=0)
    path = tmp_path / "m.rsm"
    model.save(path)
    assert relsynth.Model.load(path).non_finite() == {("line", "qty"): frozenset({"nan"})}
    model.tables["line"].non_finite = {}
    target = f"sqlite:///{tmp_path / 'out.sqlite'}"
    batches = sample_batches(model, seed=2, batch_rows=400)
    with pytest.raises(RelsynthError, match=r"^line\.qty: a later batch holds NaN"):
        write(
            next(batches), model.schema, target, plan=model.plan, more=batches, non_finite=model.non_finite()
        )
    assert table_names(target) == set()


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_loaded_batch_is_let_go_before_the_next_is_sampled(shop, request, db: str) -> None:
    """The writer held a loaded batch (its dict, the last table's frame) while the next was
    sampled: two batches in memory where one is the bound (issue 12). Each batch's frames must
    be gone when the sampler is asked for the next one."""
    import gc
    import weakref

    _, model = shop
    target = request.getfixturevalue(f"{db}_db")()
    batches = sample_batches(model, seed=4, batch_rows=300)
    first = next(batches)
    alive: list[list[str]] = []

    def watched():
        held: list[tuple[str, weakref.ref]] = []
        for got in batches:
            gc.collect()
            alive.append([name for name, ref in held if ref() is not None])
            held = [(name, weakref.ref(frame)) for name, frame in got.items()]
            yield got
            del got

    summary = write(first, model.schema, target, plan=model.plan, more=watched())
    assert summary.verification.problems == 0
    assert len(alive) >= 2, "the shop is sampled in several batches"
    assert alive[1:] == [[]] * (len(alive) - 1), alive
