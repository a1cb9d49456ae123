"""Attack round 11 (a fresh-context attacker with the README only), on SQLite, PostgreSQL and
MariaDB: snowflake-style ids beside NULLs, and a child table learned from a sample.

- pandas makes floats of a column of integers and NULLs, so ids above 2**53 in a nullable foreign
  key merged with their neighbours: 6,000 children came out as 4, or piled onto a few parents.
- Under --fit-rows, a table whose only foreign key is optional is a root (no context parent) and
  was sampled on its own: the model saw the few children that both samples happened to hold, and
  learned that most parents have none (4,065 of 5,000 parents got no child, the rest 15 or 30).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import relsynth
from tests.conftest import EVERY_DATABASE, run_sql, scalar

BASE = 2**62


def _children_per_parent(url: str, parent: str, child: str, fk: str) -> dict[int, int]:
    import sqlalchemy as sa

    sql = (
        f"SELECT c, COUNT(*) FROM (SELECT p.id, COUNT({child}.id) AS c FROM {parent} p "
        f"LEFT JOIN {child} ON {child}.{fk} = p.id GROUP BY p.id) z GROUP BY c"
    )
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {int(c): int(n) for c, n in conn.execute(sa.text(sql))}
    finally:
        engine.dispose()


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_snowflake_ids_in_a_nullable_foreign_key_keep_their_children(
    db: str, request: pytest.FixtureRequest
) -> None:
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    rows = [
        "CREATE TABLE acct (id BIGINT PRIMARY KEY, flag INTEGER NOT NULL);",
        "CREATE TABLE evt (id INTEGER PRIMARY KEY, acct_id BIGINT REFERENCES acct(id), kind VARCHAR(4) NOT NULL);",
    ]
    n = 0
    for g in range(1, 601):
        rows.append(f"INSERT INTO acct VALUES ({BASE + g}, {g % 2});")
        for k in range(1, 2 + g % 3):
            n += 1
            ref = "NULL" if k == 3 else str(BASE + g)
            rows.append(f"INSERT INTO evt VALUES ({n}, {ref}, 'k{n % 4}');")
    run_sql(source, "\n".join(rows))
    relsynth.synthesize(source, target, seed=3)
    assert scalar(target, "SELECT COUNT(*) FROM evt") == n  # 2 of 1,200 before
    assert scalar(target, "SELECT MIN(id) FROM acct") > 2**53  # keys stay snowflake-sized
    per_parent = _children_per_parent(target, "acct", "evt", "acct_id")
    assert max(per_parent) <= 6  # the source's parents have 1 or 2 each; hundreds on one before
    assert per_parent.get(0, 0) < 0.2 * 600


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_child_under_an_optional_key_learned_from_a_sample_keeps_its_children_per_parent(
    db: str, request: pytest.FixtureRequest
) -> None:
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    rows = [
        "CREATE TABLE par (id INTEGER PRIMARY KEY, g VARCHAR(4) NOT NULL);",
        "CREATE TABLE ch (id INTEGER PRIMARY KEY, par_id INTEGER REFERENCES par(id), a VARCHAR(4) NOT NULL);",
    ]
    rows += [f"INSERT INTO par VALUES ({p}, 'g{p % 3}');" for p in range(1, 3001)]
    rows += [f"INSERT INTO ch VALUES ({c}, {1 + (c * 7919) % 3000}, 'a{c % 10}');" for c in range(1, 9001)]
    run_sql(source, "\n".join(rows))
    assert relsynth.plan(relsynth.reflect(source))["ch"].context is None  # a root: the case attacked
    relsynth.synthesize(source, target, seed=3, sample_rows=300)
    per_parent = _children_per_parent(target, "par", "ch", "par_id")
    assert scalar(target, "SELECT COUNT(*) FROM ch") == 9000  # --scale 1 counts the source's rows
    # Every source parent has exactly 3 children; before, 80% had none and the rest 15 or 30.
    assert per_parent.get(0, 0) < 0.1 * 3000
    assert max(per_parent) <= 8
