"""Attack round 43b (a Magento-like shop and a Moodle-like LMS on MariaDB), privacy and copies:

1. P1: an order's address table, planned as a root (its nullable ``parent_id`` into the orders is
   no owner), counted its values by rows: the undeclared key ``customer_address_id`` (a
   "key-like" code, exempt from the rare rule) of one customer, on the six addresses of their
   three orders, was written on synthetic rows, though evaluate flagged it. The rows are now
   their order's customer's, in fit and evaluate alike, and such codes follow the rare rule.
2. W5: an order's e-mail repeats its customer's, an address' e-mail its order's: generated per
   column they named nobody of the synthetic customers.
3. W8: columns taken for person names by their name alone (a preference key ``name``, a course's
   ``fullname``, a login ``username``) were given Faker names.
"""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

import relsynth
from tests.conftest import EVERY_DATABASE, fetch

FIRST = ["anna", "bert", "cleo", "dirk", "emma", "finn", "gina", "hugo", "iris", "jack", "kate", "liam"]
LAST = ["smith", "jones", "brown", "white", "green", "black", "young", "king", "scott", "adams"]
CANARY_ADDRESS = 979


def _shop(url: str, customers: int = 120) -> None:
    """Customers with addresses, their orders (e-mail copied from the customer), and the orders'
    addresses (e-mail copied from the order; customer_address_id an undeclared key). Customer 77
    has three orders, so its address id sits on six address rows, one person's."""
    rnd = random.Random(43)
    md = sa.MetaData()
    customer = sa.Table(
        "customer_entity", md,
        sa.Column("entity_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("firstname", sa.String(255)),
        sa.Column("lastname", sa.String(255)),
        sa.Column("group_id", sa.Integer, nullable=False),
    )  # fmt: skip
    order = sa.Table(
        "sales_order", md,
        sa.Column("entity_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customer_entity.entity_id"), nullable=True),
        sa.Column("customer_email", sa.String(128)),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("grand_total", sa.Numeric(12, 2), nullable=False),
    )  # fmt: skip
    address = sa.Table(
        "sales_order_address", md,
        sa.Column("entity_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("sales_order.entity_id"), nullable=True),
        sa.Column("customer_address_id", sa.Integer),
        sa.Column("email", sa.String(255)),
        sa.Column("telephone", sa.String(32)),
        sa.Column("address_type", sa.String(32)),
        sa.Column("country_id", sa.String(2)),
    )  # fmt: skip
    engine = sa.create_engine(url)
    md.create_all(engine)
    cust, orders, addrs = [], [], []
    address_of: dict[int, int] = {}
    for c in range(1, customers + 1):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        cust.append({"entity_id": c, "email": f"{first}.{last}{c}@example.org", "firstname": first.title(),
                     "lastname": last.title(), "group_id": rnd.choice([1, 1, 2, 3])})  # fmt: skip
        address_of[c] = CANARY_ADDRESS if c == 77 else 2000 + c
    a = 0
    # Registered customers' orders, then guests' (no customer, no customer address, a phone each):
    # the phone, of more values than the address ids, is what names the rows' person in the table.
    buyers = [c for c in range(1, customers + 1) for _ in range(3 if c == 77 else rnd.choice([1, 2]))]
    for o, c in enumerate(buyers + [None] * (customers + 40), start=1):
        guest = f"guest{o}@example.net"
        email = guest if c is None else cust[c - 1]["email"]
        phone = f"+1-555-{rnd.randrange(10**6):06d}" if c is None else f"+1-555-{c:06d}"
        orders.append({"entity_id": o, "customer_id": c, "customer_email": email,
                       "state": rnd.choice(["new", "complete", "complete", "canceled"]),
                       "grand_total": round(rnd.uniform(5, 300), 2)})  # fmt: skip
        for kind in ("billing", "shipping"):
            a += 1
            addrs.append({"entity_id": a, "parent_id": o, "customer_address_id": None if c is None else address_of[c],
                          "email": email, "telephone": phone, "address_type": kind, "country_id": "US"})  # fmt: skip
    with engine.begin() as conn:
        conn.execute(customer.insert(), cust)
        conn.execute(order.insert(), orders)
        conn.execute(address.insert(), addrs)
    engine.dispose()


@pytest.fixture
def shop(request: pytest.FixtureRequest) -> tuple[str, str]:
    source = request.getfixturevalue(f"{request.param}_db")()
    target = request.getfixturevalue(f"{request.param}_db")()
    _shop(source)
    return source, target


@pytest.mark.parametrize("shop", EVERY_DATABASE, indirect=True)
def test_one_customers_address_id_on_a_root_tables_rows_is_not_written(shop: tuple[str, str]) -> None:
    source, target = shop
    held = fetch(
        source, f"SELECT COUNT(*) FROM sales_order_address WHERE customer_address_id = {CANARY_ADDRESS}"
    )
    assert held[0][0] == 6, "control: one customer's address id on six rows"
    relsynth.synthesize(source, target, seed=1)
    written = {r[0] for r in fetch(target, "SELECT DISTINCT customer_address_id FROM sales_order_address")}
    assert CANARY_ADDRESS not in written
    # Every address id of the source is one customer's: none is written (new codes, in the
    # source's shape, drawn off the source's codes).
    source_ids = {r[0] for r in fetch(source, "SELECT DISTINCT customer_address_id FROM sales_order_address")}
    source_ids.discard(None)
    assert written - {None}, "control: the column is written"
    assert written & source_ids == set()


@pytest.mark.parametrize("shop", EVERY_DATABASE, indirect=True)
def test_an_orders_email_is_its_synthetic_customers(shop: tuple[str, str]) -> None:
    source, target = shop
    registered = "SELECT COUNT(*), SUM(CASE WHEN o.customer_email = c.email THEN 1 ELSE 0 END) FROM sales_order o JOIN customer_entity c ON c.entity_id = o.customer_id"
    addressed = "SELECT COUNT(*), SUM(CASE WHEN a.email = o.customer_email THEN 1 ELSE 0 END) FROM sales_order_address a JOIN sales_order o ON o.entity_id = a.parent_id"
    n, same = fetch(source, registered)[0]
    assert n and same == n, "control: the source copies the customer's e-mail"
    relsynth.synthesize(source, target, seed=1)
    n, same = fetch(target, registered)[0]
    assert n > 50 and same == n
    n, same = fetch(target, addressed)[0]
    assert n > 50 and same == n
    # Guests' orders keep e-mails of their own, none of the source's.
    guests = {r[0] for r in fetch(target, "SELECT customer_email FROM sales_order WHERE customer_id IS NULL")}
    emails = {r[0] for r in fetch(source, "SELECT customer_email FROM sales_order")}
    assert guests - {None} and not guests & emails
