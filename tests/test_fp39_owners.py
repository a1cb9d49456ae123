"""Attack round 39 (MariaDB helper), findings F7 and F5: one person's rare categories counted by rows.

- F7: a flat visits export (no patients table) names its patient by an opaque CHAR(32) md5 hex
  (``patient_ref``) that fixes the patient's zip, sex and insurer, categories only. It was not
  taken for the person (``ref`` was no key suffix of a subject column, and a code that fixes only
  categories was taken for a label), so one patient's 30 visits counted as 30 people: their zip
  and diagnosis nobody else has were in the model file and on ~24 synthetic rows.
- F5: a WordPress layout with no declared foreign keys: ``wp_usermeta.user_id`` was not inferred
  to point at ``wp_users.ID`` (the ``wp_`` prefix hid the table's name), so one user's 25 rows of
  meta_key 'medical_condition' counted as 25 people: the key was in the model file and written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import relsynth
from relsynth.infer import candidates
from relsynth.schema import Column, Kind, Schema, SqlType, Table
from tests.conftest import EVERY_DATABASE, model_contents


def _url(kind: str, request: pytest.FixtureRequest) -> str:
    make: Callable[[], str] = request.getfixturevalue(f"{kind}_db")
    return make()


def _load(url: str, ddl: list[str], table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in ddl:
                conn.exec_driver_sql(statement)
            names = ", ".join(columns)
            marks = ", ".join(f":{c}" for c in columns)
            conn.execute(
                sa.text(f"INSERT INTO {table} ({names}) VALUES ({marks})"),  # test data: fixed names
                [dict(zip(columns, row, strict=True)) for row in rows],
            )
    finally:
        engine.dispose()


def _holds(frame: pd.DataFrame, secret: str) -> int:
    """Rows of ``frame`` with ``secret`` in any column."""
    text = frame.astype(str)
    return int(text.apply(lambda c: c.str.contains(secret, regex=False)).any(axis=1).sum())


# -- F7: a flat visits table names its patient by an md5 hex that fixes only categories -----------


def _visits(url: str, person: str) -> None:
    """600 patients on 1-6 visits each; patient 0 on 30 visits with a zip and a diagnosis of their own."""
    r = random.Random(7)
    ddl = [
        f"CREATE TABLE visits (visit_id INTEGER PRIMARY KEY, {person} CHAR(32) NOT NULL, zip CHAR(5) NOT NULL, "
        "sex CHAR(1) NOT NULL, insurer VARCHAR(20) NOT NULL, diagnosis VARCHAR(8) NOT NULL, visit_date DATE NOT NULL)"
    ]
    rows, i = [], 0
    for p in range(600):
        ref = hashlib.md5(b"patient%d" % p).hexdigest()
        zip_ = r.choice(["10001", "10002", "10003", "10011", "10025"])
        sex, insurer = r.choice("FM"), r.choice(["Aetna", "Cigna", "Medicare"])
        n = 30 if p == 0 else r.randint(1, 6)
        if p == 0:
            zip_ = "99950"
        for _ in range(n):
            i += 1
            dx = "Q87.40" if p == 0 else r.choice(["I10", "E11.9", "J18.9", "N39.0", "I50.9"])
            day = dt.date(2020, 1, 1) + dt.timedelta(days=r.randint(0, 1000))
            rows.append((i, ref, zip_, sex, insurer, dx, day))
    columns = ("visit_id", person, "zip", "sex", "insurer", "diagnosis", "visit_date")
    _load(url, ddl, "visits", columns, rows)


def _stored(model: relsynth.Model, path: Path) -> str:
    """The model file's model.json and every text array of its arrays.npz, as one text."""
    text, _ = model_contents(model, path)
    with zipfile.ZipFile(path) as z, np.load(io.BytesIO(z.read("arrays.npz"))) as arrays:
        words = [
            " ".join(map(str, np.ravel(arrays[k]))) for k in arrays.files if arrays[k].dtype.kind in "US"
        ]
    return "\n".join([text, *words])


def _no_secret(url: str, secrets: tuple[str, ...], tmp_path: Path, table: str) -> relsynth.Model:
    model = relsynth.fit(url, seed=1)
    text = _stored(model, tmp_path / "model.relsynth")
    out = relsynth.sample(model, seed=1)[table]
    assert len(out) > 100
    for secret in secrets:
        assert secret not in text, secret
        assert _holds(out, secret) == 0, secret
    return model


@pytest.mark.parametrize("kind", EVERY_DATABASE)
def test_a_patient_ref_hash_fixing_categories_is_the_person(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = _url(kind, request)
    _visits(url, "patient_ref")
    model = _no_secret(url, ("99950", "Q87.40"), tmp_path, "visits")
    # Common values are still kept: counted by patients, each zip is held by ~120 of them.
    out = relsynth.sample(model, seed=2)["visits"]
    assert set(out["zip"]) <= {"10001", "10002", "10003", "10011", "10025"}
    assert set(out["diagnosis"]) == {"I10", "E11.9", "J18.9", "N39.0", "I50.9"}


def test_an_opaque_digest_not_named_after_anyone_fixing_categories_is_the_person(
    sqlite_db: Callable[[], str], tmp_path: Path
) -> None:
    """The same export whose hash column is called ``pseudonym``: md5 hex values that repeat and
    fix the row's categories name a person, whatever the column is called."""
    url = sqlite_db()
    _visits(url, "pseudonym")
    _no_secret(url, ("99950", "Q87.40"), tmp_path, "visits")


def test_a_product_uuid_fixing_its_category_is_no_person(sqlite_db: Callable[[], str]) -> None:
    """An order line's product_uuid fixes the product's category: a product, not a person (its
    name says whose it is); kept as a category with its frequencies, not drawn as new codes."""
    url = sqlite_db()
    r = random.Random(5)
    products = [
        (hashlib.md5(b"product%d" % p).hexdigest(), r.choice(["toys", "books", "food"])) for p in range(40)
    ]
    ddl = [
        "CREATE TABLE order_lines (line_id INTEGER PRIMARY KEY, product_uuid CHAR(32) NOT NULL, "
        "category VARCHAR(10) NOT NULL, quantity INTEGER NOT NULL)"
    ]
    rows = []
    for i in range(1500):
        uuid, category = products[min(int(r.expovariate(0.1)), 39)]
        rows.append((i + 1, uuid, category, r.randint(1, 5)))
    _load(url, ddl, "order_lines", ("line_id", "product_uuid", "category", "quantity"), rows)
    model = relsynth.fit(url, seed=1)
    spec = next(c for c in model.tables["order_lines"].columns if c.name == "product_uuid")
    assert spec.how != "id"


# -- F5: WordPress users and their meta rows, no declared foreign keys -----------------------------


WORDPRESS = [
    "CREATE TABLE wp_users (ID BIGINT NOT NULL PRIMARY KEY, user_login VARCHAR(60) NOT NULL, "
    "user_registered TIMESTAMP NOT NULL)",
    "CREATE TABLE wp_usermeta (umeta_id BIGINT NOT NULL PRIMARY KEY, user_id BIGINT NOT NULL DEFAULT 0, "
    "meta_key VARCHAR(255), meta_value TEXT)",
    "CREATE INDEX user_id ON wp_usermeta (user_id)",
]


@pytest.mark.parametrize("kind", EVERY_DATABASE)
def test_wordpress_usermeta_is_the_users_and_one_users_meta_key_is_withheld(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = _url(kind, request)
    users = [(u, f"user{u}", dt.datetime(2015, 1, 1) + dt.timedelta(hours=3 * u)) for u in range(1, 401)]
    _load(url, WORDPRESS, "wp_users", ("ID", "user_login", "user_registered"), users)
    keys = ["nickname", "wp_user_level", "billing_phone", "session_tokens", "wp_capabilities"]
    meta, i = [], 0
    r = random.Random(5)
    for u in range(1, 401):
        for k in keys:
            i += 1
            meta.append((i, u, k, f"{k}-{r.randrange(1000)}"))
    for _ in range(25):
        i += 1
        meta.append((i, 7, "medical_condition", "HIV positive since 2011"))
    _load(url, [], "wp_usermeta", ("umeta_id", "user_id", "meta_key", "meta_value"), meta)
    model = _no_secret(url, ("medical_condition",), tmp_path, "wp_usermeta")
    fks = [fk for t in model.schema.tables if t.name == "wp_usermeta" for fk in t.foreign_keys]
    assert [(fk.columns, fk.ref_table) for fk in fks] == [(("user_id",), "wp_users")]
    out = relsynth.sample(model, seed=1)["wp_usermeta"]
    assert set(out["meta_key"]) == set(keys)


def _table(name: str, key: str, *others: str) -> Table:
    cols = tuple(Column(c, SqlType("bigint"), nullable=c != key, kind=Kind.ID) for c in (key, *others))
    return Table(name, cols, primary_key=(key,), row_count=10)


def test_a_shared_table_prefix_is_no_part_of_the_name_a_key_is_named_after() -> None:
    """wp_usermeta.user_id -> wp_users.ID; tbl_orders.customer_id -> tbl_customers.customer_id.
    No key where the stripped name names no table (wp_posts.post_author), nor without a prefix
    every table shares (a 'user_' of two tables among others is part of their names)."""
    wp = Schema(
        (
            _table("wp_users", "ID"),
            _table("wp_usermeta", "umeta_id", "user_id"),
            _table("wp_posts", "ID", "post_author"),
        )
    )
    found = {(c.table, c.column): (c.ref_table, c.ref_column) for cs in candidates(wp) for c in cs[:1]}
    assert found == {("wp_usermeta", "user_id"): ("wp_users", "ID")}
    tbl = Schema((_table("tbl_customers", "customer_id"), _table("tbl_orders", "order_id", "customer_id")))
    found = {(c.table, c.column): (c.ref_table, c.ref_column) for cs in candidates(tbl) for c in cs[:1]}
    assert found == {("tbl_orders", "customer_id"): ("tbl_customers", "customer_id")}
    mixed = Schema(
        (
            _table("user_accounts", "id"),
            _table("user_sessions", "id", "account_id"),
            _table("invoices", "id", "account_id"),
        )
    )
    assert candidates(mixed) == []


def test_which_columns_are_opaque_identifiers() -> None:
    """Hex digests or UUIDs in a column whose name says it is one and names no thing."""
    from relsynth.model.fit import _opaque_identifier

    digests = pd.Series([hashlib.md5(b"%d" % i).hexdigest() for i in range(20)])
    uuids = pd.Series([f"123e4567-e89b-12d3-a456-42661417400{i % 10}" for i in range(20)])
    text = SqlType("string", length=36)
    for name in ("pseudonym", "hash_id", "guid", "anonId", "token"):
        assert _opaque_identifier(Column(name, text), digests), name
        assert _opaque_identifier(Column(name, text), uuids), name
    for name in ("product_uuid", "ward_guid", "session_token", "id", "ref"):
        assert not _opaque_identifier(Column(name, text), digests), name
    assert not _opaque_identifier(Column("pseudonym", text), pd.Series(["W1", "W2"] * 10))
    assert not _opaque_identifier(Column("pseudonym", SqlType("integer")), pd.Series(range(20)))
