"""A shop whose largest family draws no UNIQUE value, so its batches are sampled apart
(model/batches.py ``Batch.apart``): the data the tests of --workers and --cluster share."""

from __future__ import annotations

import numpy as np
import pandas as pd

SCHEMA = """
CREATE TABLE product (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL, price NUMERIC(8,2) NOT NULL);
CREATE TABLE customer (id INTEGER PRIMARY KEY, segment VARCHAR(10) NOT NULL, balance NUMERIC(10,2) NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customer(id),
                     placed DATE NOT NULL, priority VARCHAR(8) NOT NULL);
CREATE TABLE line (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id),
                   product_id INTEGER NOT NULL REFERENCES product(id), qty INTEGER NOT NULL CHECK (qty > 0));
"""


def rows() -> str:
    """A shop without UNIQUE values drawn: 600 customers, 0-8 orders of 1-4 lines, 40 products."""
    rng = np.random.default_rng(11)
    out = []
    for p in range(1, 41):
        out.append(f"INSERT INTO product VALUES ({p}, 'product {p}', {rng.integers(100, 9000) / 100:.2f});")
    k = line = 0
    for c in range(1, 601):
        seg = ["retail", "trade", "online"][c % 3]
        out.append(f"INSERT INTO customer VALUES ({c}, '{seg}', {rng.normal(500, 90):.2f});")
        for _ in range(rng.integers(0, 5) if seg != "trade" else rng.integers(3, 9)):
            k += 1
            day = 1 + int(rng.integers(0, 28))
            out.append(
                f"INSERT INTO orders VALUES ({k}, {c}, '2024-03-{day:02d}', '{['low', 'high'][k % 2]}');"
            )
            for _ in range(int(rng.integers(1, 5))):
                line += 1
                out.append(
                    f"INSERT INTO line VALUES ({line}, {k}, {rng.integers(1, 41)}, {rng.integers(1, 9)});"
                )
    return "\n".join(out)


def integrity(tables: dict[str, pd.DataFrame]) -> None:
    for name in ("customer", "orders", "line", "product"):
        assert not tables[name]["id"].duplicated().any(), name
    assert tables["orders"]["customer_id"].isin(tables["customer"]["id"]).all()
    assert tables["line"]["order_id"].isin(tables["orders"]["id"]).all()
    assert tables["line"]["product_id"].isin(tables["product"]["id"]).all()
