"""A sequence that counts down (START -1 INCREMENT -1) is moved past the smallest key written.

It was left at its start (-1) while the synthetic table held -400..-1, so the application's next
INSERT was a duplicate key, on PostgreSQL and MariaDB, and nothing was said (attack round 46).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import relsynth
from tests.conftest import run_sql, scalar

PG = """
CREATE SEQUENCE down_seq START -1 INCREMENT -1 MINVALUE -1000000 MAXVALUE -1;
CREATE TABLE ledger (id integer PRIMARY KEY DEFAULT nextval('down_seq'), amount integer NOT NULL);
INSERT INTO ledger (amount) SELECT g %% 97 FROM generate_series(1, 400) g;
"""

MARIA = """
CREATE SEQUENCE dseq START WITH -1 INCREMENT BY -1 MINVALUE -1000000 MAXVALUE -1;
CREATE TABLE ledger (id INT PRIMARY KEY DEFAULT NEXTVAL(dseq), amount INT NOT NULL);
INSERT INTO ledger (amount) SELECT seq %% 97 FROM seq_1_to_400;
"""


@pytest.mark.parametrize("kind", ["pg", "mysql"])
def test_the_next_insert_after_a_run_takes_a_new_key(kind: str, request: pytest.FixtureRequest) -> None:
    make: Callable[[], str] = request.getfixturevalue(f"{kind}_db")
    source, target = make(), make()
    run_sql(source, PG if kind == "pg" else MARIA)
    relsynth.synthesize(source, target, seed=1)
    low = scalar(target, "SELECT MIN(id) FROM ledger")
    run_sql(target, "INSERT INTO ledger (amount) VALUES (5);")  # a duplicate key before
    assert scalar(target, "SELECT MIN(id) FROM ledger") < low
