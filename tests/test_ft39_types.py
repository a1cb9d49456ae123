"""Value types whose values were lost (attack round 39).

1. PostgreSQL money was not learned (SQLAlchemy's MONEY is no Numeric): every value came out
   $0.00, a generated total too, and the evaluation skipped the columns.
2. A MariaDB TIME is a duration (-838:59:59..838:59:59): -5, 30, 100 and 838 hours came back
   modulo 24 (18, 6, 4, 22), and into PostgreSQL the column was a time of day, which holds none.
3. A DECIMAL(18,8) came back with about 6 decimals (686.74016500): a number's decimals were
   counted to 6 significant digits (transform.decimals_of), not to what a double holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest

import relsynth
from tests.conftest import EVERY_DATABASE, fetch, run_sql

SHOP = """
CREATE TABLE customer (id int PRIMARY KEY, credit_limit money NOT NULL DEFAULT 0, region text NOT NULL);
CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES customer, subtotal money NOT NULL,
    tax money NOT NULL, total money GENERATED ALWAYS AS (subtotal + tax) STORED);
INSERT INTO customer SELECT g, ((g * 7919) %% 50 * 1000)::numeric::money, (ARRAY['N','S','E','W'])[1 + g %% 4]
    FROM generate_series(1, 300) g;
INSERT INTO orders SELECT g, 1 + g %% 300, s::money, round(s * 0.08, 2)::money
    FROM generate_series(1, 900) g, LATERAL (SELECT round(50 + (g * 7907 %% 4999) + (g %% 97) / 100.0, 2) + g * 0 AS s) x;
"""


@pytest.mark.postgresql
@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_money_is_learned_as_its_number(pg_db, db: str, request: pytest.FixtureRequest) -> None:
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    source, target = pg_db(), make()
    run_sql(source, SHOP)
    out = relsynth.synthesize(source, target, seed=1)
    assert out["write"].verification.problems == 0
    number = "{}::numeric" if db == "pg" else "{}"
    subtotal, tax, total = (number.format(c) for c in ("subtotal", "tax", "total"))
    ((distinct, low, high, n),) = fetch(
        target, f"SELECT COUNT(DISTINCT {subtotal}), MIN({subtotal}), MAX({subtotal}), COUNT(*) FROM orders"
    )
    assert n == 900 and distinct > 300, distinct  # not one fixed $0.00
    assert Decimal("50") <= Decimal(str(low)) and Decimal(str(high)) <= Decimal("5050"), (low, high)
    rows = fetch(target, f"SELECT {subtotal}, {tax}, {total} FROM orders")
    assert all(
        Decimal(str(s)) + Decimal(str(t)) == Decimal(str(z)) for s, t, z in rows
    )  # the generated total
    assert all(Decimal(str(s)) == Decimal(str(s)).quantize(Decimal("0.01")) for s, _, _ in rows)  # cents
    limits = fetch(target, f"SELECT COUNT(DISTINCT {number.format('credit_limit')}) FROM customer")
    assert limits[0][0] > 10
    if db == "pg":
        assert fetch(
            target, "SELECT data_type FROM information_schema.columns WHERE column_name = 'subtotal'"
        ) == [("money",)]
    scored = relsynth.evaluate(source, target, seed=1)["tables"]["orders"]["columns"]
    assert {"subtotal", "tax"} <= {c["name"] for c in scored}  # scored, not skipped


SHIFTS = """
CREATE TABLE shifts (id INT PRIMARY KEY AUTO_INCREMENT, worked TIME NOT NULL);
INSERT INTO shifts(worked) SELECT CONCAT(ELT(1 + seq %% 4, '-5', '30', '100', '838'), ':', LPAD(seq %% 60, 2, '0'), ':00')
    FROM seq_1_to_400;
"""


def _hours(value: object) -> float:
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 3600
    if isinstance(value, dt.time):
        return value.hour + value.minute / 60
    h, m, *_ = str(value).split(":")  # SQLite's text
    return int(h) + (-1 if h.startswith("-") else 1) * int(m) / 60


@pytest.mark.mysql
@pytest.mark.parametrize("db", ["sqlite", "pg", "mysql"])
def test_a_mariadb_time_keeps_its_durations(mysql_db, db: str, request: pytest.FixtureRequest) -> None:
    if db == "pg":
        request.applymarker(pytest.mark.postgresql)
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    source, target = mysql_db(), make()
    run_sql(source, SHIFTS)
    out = relsynth.synthesize(source, target, seed=1)
    assert out["write"].verification.problems == 0
    hours = [_hours(v) for (v,) in fetch(target, "SELECT worked FROM shifts")]
    assert len(hours) == 400
    assert min(hours) < 0 and max(hours) > 800, (min(hours), max(hours))  # not wrapped into a day
    assert sum(h > 24 for h in hours) > 250 and sum(h < 0 for h in hours) > 50
    assert all(-839 < h < 839 for h in hours)


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_decimal_keeps_the_digits_a_double_holds(db: str, request: pytest.FixtureRequest) -> None:
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    rows = ", ".join(f"({i}, {(i * 7919) % 1000}.{(i * 104729) % 10**8:08d})" for i in range(1, 601))
    run_sql(
        source,
        f"CREATE TABLE ledger (id INTEGER PRIMARY KEY, mid DECIMAL(18,8) NOT NULL);\nINSERT INTO ledger VALUES {rows};",
    )
    out = relsynth.synthesize(source, target, seed=1)
    assert out["write"].verification.problems == 0
    values = [Decimal(str(v)) for (v,) in fetch(target, "SELECT mid FROM ledger")]
    assert len(values) == 600
    eighth = sum(v * 10**7 % 1 != 0 for v in values)  # a digit in the 8th decimal
    assert eighth > 400, eighth
    assert all(v * 10**8 % 1 == 0 for v in values)  # and no more than 8
