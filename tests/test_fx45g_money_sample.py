"""Attack round 45, f3: `inspect` said a PostgreSQL money column of a table over its sample size
(5,000 rows) was "all NULL in the sample" and "holds text that is no number": the sample drawn
from all over a big table (TABLESAMPLE) read money as its text ('$1,234.56'), not as the number
fit reads."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner

from relsynth.cli import main
from tests.conftest import run_sql

pytestmark = pytest.mark.postgresql


def test_inspect_reads_a_big_tables_money_as_numbers(pg_db: Callable[[], str]) -> None:
    url = pg_db()
    run_sql(
        url,
        "CREATE TABLE big (id serial PRIMARY KEY, x money NOT NULL);\n"
        "INSERT INTO big (x) SELECT round(g * 1.37 + 0.5 * mod(g, 7), 2)::numeric::money FROM generate_series(1, 6000) g;\n"
        "ANALYZE big;",
    )
    out = CliRunner().invoke(main, ["inspect", url, "--columns"])
    assert out.exit_code == 0, out.output
    assert "all NULL" not in out.output and "no number" not in out.output
    assert "numeric" in out.output
