"""Attack round 45, f2: a generated column computed from the key (AdventureWorks' accountnumber =
'AW' || lpad(customerid, 8, '0')) equals the source's on every row, since keys are numbered from
the source's smallest and the target computes the column itself; the summary said "the output
was altered or leaks". Such a column is left out of the personal-data count; a real column
holding a source identifier is still counted."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import sqlalchemy as sa

import relsynth
from relsynth.evaluation import privacy
from tests.conftest import fetch, run_raw, run_sql


def _customers(url: str, n: int = 300) -> None:
    rows = [
        "CREATE TABLE customer (customerid INTEGER PRIMARY KEY, territory TEXT NOT NULL,"
        " email TEXT NOT NULL,"
        " accountnumber TEXT GENERATED ALWAYS AS ('AW' || printf('%08d', customerid)) STORED);",
        "BEGIN;",
    ]
    for i in range(1, n + 1):
        territory = ["Northwest", "Southwest", "Canada", "France"][i * 7 % 4]
        rows.append(
            f"INSERT INTO customer (customerid, territory, email) VALUES ({i}, '{territory}', 'c{i * 37}@mail-a45.test');"
        )
    rows.append("COMMIT;")
    run_sql(url, "\n".join(rows))


def _found(source: str, target: str) -> dict[tuple[str, str], int]:
    """What the summary's personal-data line counts (evaluate's privacy.personal_copies)."""
    table = relsynth.reflect(source).table("customer")
    real, synth = (pd.read_sql_table("customer", sa.create_engine(u)) for u in (source, target))
    found = privacy.personal_copies(table, real, synth, None, 5, {}, np.random.default_rng(0))
    return {(c["column"], c["kind"]): c["synthetic_rows"] for c in found}


def test_a_generated_key_code_is_no_leak_a_copied_email_still_is(sqlite_db: Callable[[], str]) -> None:
    source, target = sqlite_db(), sqlite_db()
    _customers(source)
    relsynth.synthesize(source, target, seed=1)
    same = fetch(
        target, "SELECT count(*) FROM customer WHERE accountnumber = 'AW' || printf('%08d', customerid)"
    )
    assert same[0][0] > 0  # the target computed it: equal to source account numbers
    assert _found(source, target) == {}
    run_raw(
        target,
        "UPDATE customer SET email = 'c37@mail-a45.test' WHERE customerid IN (SELECT min(customerid) FROM customer)",
    )
    assert _found(source, target) == {("email", "value"): 1}
