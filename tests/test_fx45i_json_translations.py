"""Attack round 45 (a45a f6), Odoo's translated names: a jsonb {"en_US": .., "fr_FR": ..} per row.

1. In a small table whose rows one admin made (res_groups: 10 groups, create_uid 1), every
   document came out {}: the keys were taken for one person's data. A key every document holds is
   the column's schema and is kept.
2. Elsewhere each language was drawn apart: "Great cabinet" beside "Super tiroir". The leaves of a
   document are drawn together: a common name keeps its translation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import relsynth
from tests.conftest import create_database, drop_later, new_db_name, run_sql

NAMES = [
    ("Chair", "Chaise"),
    ("Table", "Table"),
    ("Great cabinet", "Grande armoire"),
    ("Drawer", "Tiroir"),
    ("Desk", "Bureau"),
    ("Lamp", "Lampe"),
]

SCHEMA = """
create table res_users (id serial primary key, login varchar not null unique);
insert into res_users (login) select 'user' || i || '@example.com' from generate_series(1, 30) i;
create table res_groups (id serial primary key, name jsonb not null,
  create_uid int references res_users);
insert into res_groups (name, create_uid) select jsonb_build_object('en_US', 'Group ' || i,
  'fr_FR', 'Groupe ' || i), 1 from generate_series(1, 10) i;
create table product (id serial primary key, name jsonb not null, create_uid int references res_users);
"""


def _products() -> str:
    rows = []
    for i in range(120):
        en, fr = NAMES[i % len(NAMES)]
        doc = json.dumps({"en_US": en, "fr_FR": fr}).replace("'", "''")
        rows.append(f"('{doc}', {1 + i % 30})")
    return "insert into product (name, create_uid) values " + ", ".join(rows) + ";"


@pytest.fixture(scope="module")
def synthetic(pg_server: str) -> Iterator[dict[str, list[dict[str, str]]]]:
    name = new_db_name("rs_fx45i")
    url = create_database(pg_server, name)
    try:
        run_sql(url, SCHEMA + _products())
        out = relsynth.sample(relsynth.fit(url), seed=2)
        yield {
            t: [json.loads(v) if isinstance(v, str) else v for v in out[t]["name"]]
            for t in ("res_groups", "product")
        }
    finally:
        drop_later(pg_server, name)


def test_keys_every_document_holds_are_kept(synthetic: dict[str, list[dict[str, str]]]) -> None:
    groups = synthetic["res_groups"]  # 10 groups, all made by one admin: was {} on every row
    assert groups and all(set(doc) == {"en_US", "fr_FR"} for doc in groups)


def test_a_name_keeps_its_translation(synthetic: dict[str, list[dict[str, str]]]) -> None:
    products = synthetic["product"]
    assert products and all(set(doc) == {"en_US", "fr_FR"} for doc in products)
    matched = sum((doc["en_US"], doc["fr_FR"]) in set(NAMES) for doc in products)
    assert matched == len(products)  # drawn apart: "Great cabinet" beside "Tiroir"
