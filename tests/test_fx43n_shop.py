"""A Magento-like shop on MariaDB (attack round 43b).

1. sales_creditmemo.created_at (TIMESTAMP NOT NULL DEFAULT current_timestamp()) is its order's
   updated_at; the order is the memo's secondary parent, and its key is copied from the context
   parent (the invoice's order_id). That key was left alone as "derived", and with it the date it
   carries: NULL on every row. MariaDB stored the load time for the NULL (and verified 0
   problems), PostgreSQL and SQLite gave an internal error. Now the date is copied from the
   order the derived key names; a NOT NULL column no row has a value for draws from the parent
   column it copies; and the writer refuses a NULL in a NOT NULL column before MariaDB rewrites it.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import relsynth
from relsynth.errors import RelsynthError
from tests.conftest import EVERY_DATABASE, fetch, run_sql, scalar

SHOP = """
CREATE TABLE sales_order (entity_id INT UNSIGNED PRIMARY KEY, state VARCHAR(16) NOT NULL,
  grand_total DECIMAL(12,2) NOT NULL, created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE sales_invoice (entity_id INT UNSIGNED PRIMARY KEY, order_id INT UNSIGNED NOT NULL,
  grand_total DECIMAL(12,2), FOREIGN KEY (order_id) REFERENCES sales_order(entity_id));
CREATE TABLE sales_creditmemo (entity_id INT UNSIGNED PRIMARY KEY, order_id INT UNSIGNED NOT NULL,
  invoice_id INT UNSIGNED NOT NULL, adjustment DECIMAL(12,2),
  created_at TIMESTAMP NOT NULL DEFAULT current_timestamp(),
  FOREIGN KEY (order_id) REFERENCES sales_order(entity_id),
  FOREIGN KEY (invoice_id) REFERENCES sales_invoice(entity_id));
INSERT INTO sales_order SELECT seq, ELT(1 + seq MOD 3, 'complete', 'closed', 'new'), 10 + (seq * 37) MOD 300,
  TIMESTAMP '2019-01-01 00:00:00' + INTERVAL seq * 31 HOUR + INTERVAL (seq * 7) MOD 3600 SECOND,
  TIMESTAMP '2019-01-01 00:00:00' + INTERVAL seq * 31 HOUR + INTERVAL (seq * 7) MOD 3600 SECOND
    + INTERVAL 5 + seq MOD 40 HOUR
  FROM seq_1_to_600;
INSERT INTO sales_invoice SELECT ROW_NUMBER() OVER (ORDER BY entity_id), entity_id, grand_total
  FROM sales_order WHERE state <> 'new';
INSERT INTO sales_creditmemo SELECT ROW_NUMBER() OVER (ORDER BY i.entity_id), o.entity_id, i.entity_id, 0,
  o.updated_at FROM sales_invoice i JOIN sales_order o ON o.entity_id = i.order_id WHERE o.state = 'closed'
"""


def _shop(request: pytest.FixtureRequest) -> str:
    source = request.getfixturevalue("mysql_db")()
    run_sql(source, SHOP)
    return source


def _instant(value: object) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))


@pytest.mark.mysql
@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_date_copied_through_a_derived_key_is_written(request: pytest.FixtureRequest, db: str) -> None:
    source = _shop(request)
    target = request.getfixturevalue(f"{db}_db")()
    result = relsynth.synthesize(source, target, seed=1)
    assert result["write"].verification.problems == 0
    rows = fetch(
        target,
        "SELECT c.created_at, o.updated_at FROM sales_creditmemo c "
        "JOIN sales_order o ON o.entity_id = c.order_id",
    )
    assert len(rows) == scalar(target, "SELECT COUNT(*) FROM sales_creditmemo") > 150
    created = [_instant(r[0]) for r in rows]
    assert all(_instant(c) == _instant(u) for c, u in rows)  # the order's, as in the source
    assert len(set(created)) > 150  # not the load time on every row
    assert max(created) < dt.datetime(2022, 1, 1)


@pytest.mark.mysql
def test_a_not_null_column_no_row_has_a_value_for_draws_from_its_parent_column(
    request: pytest.FixtureRequest,
) -> None:
    from relsynth.model.sample import _not_null

    schema = relsynth.reflect(_shop(request))
    table = schema.table("sales_creditmemo")
    frame = pd.DataFrame(
        {
            "entity_id": [1, 2, 3],
            "order_id": [1, 2, 3],
            "invoice_id": [1, 2, 3],
            "adjustment": [0.0, 0.0, 0.0],
            "created_at": pd.Series([pd.NaT] * 3, dtype="datetime64[ns]"),
        }
    )
    parent = pd.Series(pd.to_datetime(["2019-03-01 10:00:00", "2020-05-02 11:00:00", None]))
    _not_null(table, frame, np.random.default_rng(0), fallback={"created_at": parent})
    assert frame["created_at"].notna().all()
    assert set(frame["created_at"]) <= set(parent.dropna())


@pytest.mark.mysql
def test_the_writer_refuses_a_null_in_a_not_null_column_before_mariadb_rewrites_it(
    request: pytest.FixtureRequest,
) -> None:
    source = _shop(request)
    target = request.getfixturevalue("mysql_db")()
    model = relsynth.fit(source, seed=1)
    tables = relsynth.sample(model, seed=1)
    tables["sales_creditmemo"]["created_at"] = pd.NaT
    with pytest.raises(RelsynthError, match=r"^sales_creditmemo\.created_at: \d+ synthetic rows are NULL"):
        relsynth.write(tables, model.schema, target)
    assert not fetch(target, "SHOW TABLES")


# 2. customer_entity under customer_group (4 rows, "customer" in its name): the groups were taken
#    for the customers' people, so every value was held by at most 4 "people": the constant
#    website_id (in UNIQUE (email, website_id)) came out 3..8, never 1, and gender 1, 2, 3, NULL
#    as 2 and NULL only; evaluate listed gender as held by fewer than 5 people.
CUSTOMERS = """
CREATE TABLE customer_group (customer_group_id INT UNSIGNED PRIMARY KEY, customer_group_code VARCHAR(32) NOT NULL);
CREATE TABLE customer_entity (entity_id INT UNSIGNED PRIMARY KEY, website_id SMALLINT UNSIGNED,
  email VARCHAR(255) NOT NULL, group_id INT UNSIGNED NOT NULL, gender SMALLINT UNSIGNED,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  UNIQUE KEY (email, website_id), FOREIGN KEY (group_id) REFERENCES customer_group(customer_group_id));
INSERT INTO customer_group VALUES (0, 'NOT LOGGED IN'), (1, 'General'), (2, 'Wholesale'), (3, 'Retailer');
INSERT INTO customer_entity SELECT seq, 1,
  CONCAT(ELT(1 + seq MOD 7, 'anna', 'bert', 'carl', 'dora', 'emil', 'fay', 'gus'), '.',
         ELT(1 + (seq DIV 7) MOD 9, 'smith', 'jones', 'brown', 'lee', 'khan', 'diaz', 'ng', 'roy', 'fox'),
         seq, '@', ELT(1 + seq MOD 3, 'gmail.com', 'yahoo.com', 'hotmail.com')),
  ELT(1 + (seq * 7) MOD 5, 1, 1, 1, 2, 3), ELT(1 + (seq * 3) MOD 4, 1, 2, 3, NULL),
  TIMESTAMP '2019-01-01 00:00:00' + INTERVAL seq * 17 HOUR
  FROM seq_1_to_600
"""


@pytest.mark.mysql
def test_a_group_of_customers_is_no_customer_so_their_values_are_kept(request: pytest.FixtureRequest) -> None:
    source = request.getfixturevalue("mysql_db")()
    run_sql(source, CUSTOMERS)
    target = request.getfixturevalue("sqlite_db")()
    result = relsynth.synthesize(source, target, seed=1)
    assert result["write"].verification.problems == 0
    assert fetch(target, "SELECT DISTINCT website_id FROM customer_entity") == [(1,)]
    assert scalar(target, "SELECT COUNT(*) FROM customer_entity") == 600
    genders = {g for (g,) in fetch(target, "SELECT DISTINCT gender FROM customer_entity")}
    assert genders == {1, 2, 3, None}
    held = relsynth.evaluate(source, target, seed=1)["scores"]["privacy"]["rare_people"]
    assert "gender" not in held.get("customer_entity", ())
    assert "website_id" not in held.get("customer_entity", ())
