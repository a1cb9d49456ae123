"""Attack round 13, keys: a NUMERIC(38,0) primary key, and a small integer key at a larger --scale.

- A NUMERIC(38,0) key the model learned as a shape (digits) reached the writer as strings, read as
  floats: every new key came out as 1e+37 and the load died on the primary key (PostgreSQL,
  MariaDB). Keys must be exact distinct integers, and the children's foreign keys match them.
- A TINYINT UNSIGNED AUTO_INCREMENT key (sakila's staff_id) of 200 rows at --scale 2: its keys
  wrapped through 0, which MariaDB takes as "the next AUTO_INCREMENT value", 256: out of range,
  and the load died. The rows past the type's room must be dropped, as a SMALLINT's are.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import relsynth
from relsynth.model import keys as kz
from relsynth.schema import SqlType
from tests.conftest import fetch, run_sql, scalar

BIG = 10**37


def _make(request: pytest.FixtureRequest, db: str) -> tuple[str, str]:
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    return make(), make()


def _orphans(url: str, child: str, parent: str, column: str) -> int:
    return int(
        scalar(
            url,
            f"SELECT COUNT(*) FROM {child} c LEFT JOIN {parent} p ON c.{column} = p.{column} "
            f"WHERE p.{column} IS NULL",
        )
    )


@pytest.mark.parametrize(
    "db", [pytest.param("pg", marks=pytest.mark.postgresql), pytest.param("mysql", marks=pytest.mark.mysql)]
)
@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_a_numeric_38_0_key_gets_exact_distinct_integer_keys(
    db: str, scale: float, request: pytest.FixtureRequest
) -> None:
    source, target = _make(request, db)
    rows = [
        "CREATE TABLE ledger (entry_id NUMERIC(38,0) PRIMARY KEY, amount NUMERIC(12,2) NOT NULL, "
        "kind VARCHAR(6) NOT NULL);",
        "CREATE TABLE posting (id INTEGER PRIMARY KEY, entry_id NUMERIC(38,0) NOT NULL "
        "REFERENCES ledger(entry_id), side VARCHAR(6) NOT NULL);",
    ]
    n = 0
    for g in range(1, 401):
        rows.append(
            f"INSERT INTO ledger VALUES ({BIG + g * 7919}, {g % 977}, '{'debit' if g % 3 else 'credit'}');"
        )
        for _ in range(1 + g % 3):
            n += 1
            rows.append(f"INSERT INTO posting VALUES ({n}, {BIG + g * 7919}, 's{n % 2}');")
    run_sql(source, "\n".join(rows))
    relsynth.synthesize(source, target, seed=5, scale=scale)  # died on a repeated 1e+37 before
    keys = [int(k) for (k,) in fetch(target, "SELECT entry_id FROM ledger")]
    assert len(keys) == round(400 * scale)
    assert len(set(keys)) == len(keys)
    assert all(2**53 < k < 10**38 for k in keys)  # exact integers of the column's domain
    refs = {int(k) for (k,) in fetch(target, "SELECT entry_id FROM posting")}
    assert refs <= set(keys) and len(refs) > 0.5 * len(keys)
    assert _orphans(target, "posting", "ledger", "entry_id") == 0
    assert scalar(target, "SELECT COUNT(*) FROM posting") == round(n * scale)


@pytest.mark.mysql
@pytest.mark.parametrize(
    ("declared", "rows", "scale", "lo", "hi"),
    [
        ("TINYINT UNSIGNED", 200, 2.0, 1, 255),  # sakila's staff_id, store_id
        ("TINYINT", 100, 3.0, -128, 127),
        ("SMALLINT UNSIGNED", 33000, 2.0, 1, 65535),
    ],
)
def test_a_small_auto_increment_key_past_its_room_drops_rows_on_mariadb(
    declared: str, rows: int, scale: float, lo: int, hi: int, request: pytest.FixtureRequest
) -> None:
    source, target = _make(request, "mysql")
    run_sql(
        source,
        f"""CREATE TABLE staff (staff_id {declared} PRIMARY KEY AUTO_INCREMENT, active TINYINT(1) NOT NULL,
            city VARCHAR(10) NOT NULL);
        INSERT INTO staff SELECT seq, MOD(seq, 5) > 0, CONCAT('c', MOD(seq, 7)) FROM seq_1_to_{rows};
        CREATE TABLE payment (payment_id INTEGER PRIMARY KEY, staff_id {declared} NOT NULL REFERENCES staff(staff_id),
            amount INTEGER NOT NULL);
        INSERT INTO payment SELECT seq, 1 + MOD(seq, 100), MOD(seq, 13) FROM seq_1_to_300;""",
    )
    result = relsynth.synthesize(source, target, seed=7, scale=scale)  # error 22003 before
    room = hi - lo + 1 - (lo <= 0)  # every value of the type but 0, MariaDB's "number it yourself"
    got = fetch(target, "SELECT COUNT(*), COUNT(DISTINCT staff_id), MIN(staff_id), MAX(staff_id) FROM staff")
    count, distinct, low, high = (int(v) for v in got[0])
    assert count == distinct == room
    assert lo <= low and high <= hi
    assert scalar(target, "SELECT COUNT(*) FROM staff WHERE staff_id = 0") == 0
    assert _orphans(target, "payment", "staff", "staff_id") == 0
    lines = result["report"].lines()
    assert any(f"staff: (staff_id) holds at most {room} distinct values" in line for line in lines)


def test_counted_keys_skip_zero_and_stay_exact_past_bigint() -> None:
    """The counting behind both: a TINYINT UNSIGNED's 255 keys without 0, a signed one's 255 over
    both signs, and a NUMERIC(38,0)'s keys as exact Python ints."""
    unsigned = kz.counted_from(np.arange(300), 1, 0, 255, skip=0)
    assert set(unsigned[:255]) == set(range(1, 256)) and list(unsigned[255:258]) == [1, 2, 3]
    signed = kz.counted_from(np.arange(255), 1, -128, 127, skip=0)
    assert set(signed) == set(range(-128, 128)) - {0}
    assert kz.integer_bounds(SqlType("numeric", "NUMERIC(38, 0)", precision=38, scale=0)) == (
        -(10**38 - 1),
        10**38 - 1,
    )
    big = kz.counted_from(np.arange(3), BIG + 1, -(10**38 - 1), 10**38 - 1)
    assert [type(v) for v in big] == [int] * 3 and list(big) == [BIG + 1, BIG + 2, BIG + 3]
    for native, bounds in [
        ("TINYINT(3) UNSIGNED", (0, 255)),
        ("TINYINT(4)", (-128, 127)),
        ("SMALLINT(5) UNSIGNED", (0, 65535)),
        ("MEDIUMINT(8) UNSIGNED", (0, 2**24 - 1)),
        ("MEDIUMINT(9)", (-(2**23), 2**23 - 1)),
    ]:
        name = "smallint" if native.startswith(("TINYINT", "SMALLINT")) else "integer"
        assert kz.integer_bounds(SqlType(name, native)) == bounds
