"""Attack round 36, the small things: an enum column's default into MariaDB, a score of -0.00."""

from __future__ import annotations

import pytest

import relsynth
from relsynth.evaluation.summary import _fmt
from tests.conftest import run_sql, scalar

_QUOTED_ENUM = """
CREATE SCHEMA "Shop";
CREATE TYPE "Shop"."Order Status" AS ENUM ('new', 'shipped', 'cancelled');
CREATE TABLE "Shop".orders (id integer PRIMARY KEY, status "Shop"."Order Status" NOT NULL DEFAULT 'new',
                            total numeric(8,2) NOT NULL);
INSERT INTO "Shop".orders SELECT g, (ARRAY['new','shipped','cancelled']::"Shop"."Order Status"[])[1 + mod(g, 3)],
                                 mod(g, 97) + 0.5 FROM generate_series(1, 300) g;
"""


@pytest.mark.postgresql
@pytest.mark.mysql
def test_a_quoted_enum_types_default_reaches_mariadb(pg_db, mysql_db) -> None:
    """'new'::"Shop"."Order Status" was "specific to postgresql: not recreated", though the ENUM's
    labels were: the target's column had no default."""
    source, target = pg_db(), mysql_db()
    run_sql(source, _QUOTED_ENUM)
    out = relsynth.synthesize(source, target, seed=0, db_schema="Shop")
    assert out["write"].verification.problems == 0
    assert not [c for c in out["write"].changes if "default" in c and "status" in c]
    default = scalar(
        target,
        "SELECT COLUMN_DEFAULT FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'orders' AND COLUMN_NAME = 'status'",
    )
    assert default in {"'new'", "new"}


def test_a_score_that_rounds_to_zero_is_not_negative() -> None:
    assert _fmt(-0.0004, 2) == "0.00"
    assert _fmt(-0.004, 3) == "-0.004"
    assert _fmt(0.5, 2) == "0.50"
    assert _fmt(None) == "n/a"
