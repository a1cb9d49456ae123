"""Fixes of attack a45a (README-only attacker, PostgreSQL AdventureWorks/Odoo-like databases).

1. `--into-existing --replace` left materialized views over the written tables unrefreshed: a
   staging copy of production kept every real customer's name and total in its view.
2. A default drawing from a sequence inside an expression (Odoo's numbering,
   `'S' || lpad(nextval('so_seq')::text, 5, '0')`) crashed the write (DataError 22023).
3. A self-reference whose table's key is also an FK (AdventureWorks' employee -> person) came out
   with manager loops, and the integrity check passed them.
4. Audit columns (create_uid -> a small users table) collapsed a catalog: 250 products -> 6.
"""

from __future__ import annotations

import pytest

import relsynth
from tests.conftest import run_raw, scalar

SHOP = [
    "CREATE TABLE customer (id serial PRIMARY KEY, name varchar NOT NULL)",
    "INSERT INTO customer (name) SELECT 'Customer ' || g FROM generate_series(1, 60) g",
    "CREATE TABLE orders (id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES customer,"
    " total numeric(10,2) NOT NULL)",
    "INSERT INTO orders (customer_id, total) SELECT 1 + g % 60, (g * 7919 % 900)::numeric / 3"
    " FROM generate_series(1, 300) g",
    "CREATE VIEW v_orders AS SELECT customer_id, total FROM orders",
    "CREATE MATERIALIZED VIEW mv_totals AS SELECT c.id, c.name, sum(o.total) spent"
    " FROM customer c JOIN orders o ON o.customer_id = c.id GROUP BY 1, 2",
    "CREATE MATERIALIZED VIEW mv_count AS SELECT count(*) n FROM v_orders",
    "CREATE MATERIALIZED VIEW mv_top AS SELECT max(spent) top FROM mv_totals",
]

STALE = (
    "SELECT count(*) FROM mv_totals m WHERE (m.id, m.name, m.spent) NOT IN"
    " (SELECT c.id, c.name, sum(o.total) FROM customer c JOIN orders o ON o.customer_id = c.id GROUP BY 1, 2)"
)


@pytest.mark.postgresql
def test_into_existing_refreshes_the_materialized_views_over_the_written_tables(pg_db) -> None:
    source, target = pg_db(), pg_db()
    run_raw(source, *SHOP)
    run_raw(target, *SHOP)  # a staging restore of production
    summary = relsynth.synthesize(source, target, into_existing=True, replace=True, seed=1)
    assert scalar(target, STALE) == 0
    assert scalar(target, "SELECT count(*) FROM mv_totals WHERE name LIKE 'Customer %'") == 0
    assert scalar(target, "SELECT n FROM mv_count") == scalar(target, "SELECT count(*) FROM orders")
    # a materialized view over another one is refreshed after it
    assert scalar(target, "SELECT top FROM mv_top") == scalar(target, "SELECT max(spent) FROM mv_totals")
    said = "\n".join(summary["write"].changes)
    assert "mv_totals: refreshed" in said


@pytest.mark.postgresql
def test_a_default_using_a_sequence_inside_an_expression_keeps_it(pg_db) -> None:
    source, target = pg_db(), pg_db()
    run_raw(
        source,
        "CREATE SEQUENCE so_seq START 1000",
        "CREATE TABLE so (id serial PRIMARY KEY, name varchar NOT NULL"
        " DEFAULT ('S' || lpad(nextval('so_seq')::text, 5, '0')), amount int)",
        "INSERT INTO so (amount) SELECT g FROM generate_series(1, 40) g",
    )
    relsynth.synthesize(source, target, seed=1)
    assert scalar(target, "SELECT count(*) FROM so") == 40
    assert scalar(target, "SELECT start_value FROM pg_sequences WHERE sequencename = 'so_seq'") == 1000
    assert "nextval" in scalar(
        target,
        "SELECT column_default FROM information_schema.columns WHERE table_name = 'so' AND column_name = 'name'",
    )
    loaded = scalar(target, "SELECT max(substring(name from '(\\d+)$')::bigint) FROM so")
    run_raw(target, "INSERT INTO so (amount) VALUES (1)")
    new = scalar(target, "SELECT name FROM so WHERE id = (SELECT max(id) FROM so)")
    assert new.startswith("S") and int(new[1:]) > max(int(loaded or 0), 999)


def _loops(ids: list[int], ups: list[int | None]) -> int:
    parent = dict(zip(ids, ups, strict=True))
    bad = 0
    for start in ids:
        seen, at = set(), start
        while at is not None and at in parent:
            if at in seen:
                bad += 1
                break
            seen.add(at)
            at = parent[at]
    return bad


def test_a_self_reference_law_drawn_again_makes_no_loops() -> None:
    """Managers are salaried in the source (a law of the forest): rows whose drawn manager was not
    were given another among every salaried row, their own reports included, with no time to
    order them: 299 of 300 AdventureWorks employees ended in manager loops."""
    import numpy as np
    import pandas as pd

    from relsynth.model import selfrefs
    from relsynth.model.keys import Forest
    from relsynth.schema import Column, ForeignKey, SqlType, Table

    n = 300
    rng = np.random.default_rng(3)
    ups = [None] + [int(rng.integers(1, i + 1)) for i in range(1, n)]  # a tree: parents come first
    frame = pd.DataFrame(
        {"id": np.arange(1, n + 1), "manager": pd.array(ups, dtype="Int64"), "salaried": rng.random(n) < 0.1}
    )
    fk = ForeignKey(name="mgr", columns=("manager",), ref_table="e", ref_columns=("id",), table="e")
    table = Table(
        name="e",
        columns=(
            Column("id", SqlType("integer"), nullable=False),
            Column("manager", SqlType("integer")),
            Column("salaried", SqlType("boolean"), nullable=False),
        ),
        primary_key=("id",),
        foreign_keys=(fk,),
    )
    forest = Forest(level_share=[0.1, 0.9], degree=[0.0, 1.0], target_values=[["salaried", True]])
    assert selfrefs.keep(table, frame, (fk,), {"mgr": forest}, rng) > 0
    ids, got = frame["id"].tolist(), [None if pd.isna(v) else int(v) for v in frame["manager"]]
    assert _loops(ids, got) == 0
    assert sum(v is not None for v in got) > n // 2  # still a forest with links, not all roots


def test_the_integrity_check_counts_rows_whose_parent_chain_loops(tmp_path) -> None:
    import sqlalchemy as sa

    from relsynth.schema import Column, ForeignKey, Schema, SqlType, Table
    from relsynth.verify import verify

    fk = ForeignKey(name="up", columns=("up",), ref_table="t", ref_columns=("id",), table="t")
    table = Table(
        name="t",
        columns=(Column("id", SqlType("integer"), nullable=False), Column("up", SqlType("integer"))),
        primary_key=("id",),
        foreign_keys=(fk,),
    )
    engine = sa.create_engine(f"sqlite:///{tmp_path / 't.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, up INTEGER REFERENCES t(id))")
        # a tree (1 <- 2 <- 3), a row naming itself (8), and a loop 4 -> 5 -> 6 -> 4 with 7 under it
        conn.exec_driver_sql(
            "INSERT INTO t VALUES (1, NULL), (2, 1), (3, 2), (4, 5), (5, 6), (6, 4), (7, 6), (8, 8)"
        )
        t = sa.Table("t", sa.MetaData(), autoload_with=conn)
        got = verify(conn, Schema(tables=(table,), dialect="sqlite"), {"t": t})
    engine.dispose()
    assert got.loops == {fk.label: 4}
    assert got.problems == 4
    assert any("loops" in line for line in got.lines())
    # the same count on frames (sample -o, evaluate)
    import pandas as pd

    from relsynth.evaluation.integrity import check_integrity

    frame = pd.DataFrame({"id": [1, 2, 3, 4, 5, 6, 7, 8], "up": [None, 1, 2, 5, 6, 4, 6, 8]})
    on_frames = check_integrity(Schema(tables=(table,), dialect="sqlite"), {"t": frame})
    assert on_frames.loops == {fk.label: 4} and on_frames.problems == 4


def test_child_counts_capped_by_rare_k_keep_every_row_when_few_parents_hold_children() -> None:
    """4 of 6 categories hold the 250 products: the 5th largest count is 0, and capping every
    category at one product wrote 6 of 250 (and 10 of their 350 variants)."""
    import numpy as np

    from relsynth.model.fit import _most_children

    counts = np.array([0.0, 45.0, 0.0, 90.0, 55.0, 60.0])
    out = _most_children(counts, 5, np.random.default_rng(1))
    assert out.sum() == counts.sum()
    assert out.max() < counts.max()  # no category keeps its own count of 90


def test_a_table_written_with_under_half_its_rows_is_warned_about(tmp_path) -> None:
    import sqlalchemy as sa

    from relsynth.cli import _shrunk
    from relsynth.writer import WriteSummary

    url = f"sqlite:///{tmp_path / 's.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v REAL)")
        conn.exec_driver_sql("INSERT INTO t (v) VALUES " + ", ".join(f"({i * 1.5})" for i in range(40)))
    engine.dispose()
    model = relsynth.fit(url, seed=1)
    lost = _shrunk(model, WriteSummary(target="x", rows={"t": 6}), 1.0, {}, [])
    assert len(lost) == 1 and lost[0].startswith("WARNING: t: 6 rows written where 40")
    assert _shrunk(model, WriteSummary(target="x", rows={"t": 40}), 1.0, {}, []) == []
    assert _shrunk(model, WriteSummary(target="x", rows={"t": 4}), 0.1, {}, []) == []
    assert _shrunk(model, WriteSummary(target="x", rows={"t": 6}), 1.0, {"t": 6}, []) == []


@pytest.mark.postgresql
def test_a_materialized_view_that_cannot_be_refreshed_fails_the_run_and_leaves_the_target(pg_db) -> None:
    from relsynth.errors import RelsynthError

    source, target = pg_db(), pg_db()
    run_raw(source, *SHOP[:4])
    run_raw(target, *SHOP[:4])
    # refreshed over synthetic names (none is 'Customer N'), it divides by zero
    run_raw(
        target,
        "CREATE MATERIALIZED VIEW mv_bad AS SELECT 1 / (SELECT count(*) FROM customer"
        " WHERE name LIKE 'Customer %') AS x",
    )
    with pytest.raises(RelsynthError, match=r"materialized view public\.mv_bad .* could not be refreshed"):
        relsynth.synthesize(source, target, into_existing=True, replace=True, seed=1)
    assert scalar(target, "SELECT count(*) FROM customer WHERE name LIKE 'Customer %'") == 60
    assert scalar(target, "SELECT x FROM mv_bad") == 0
