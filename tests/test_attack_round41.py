"""Attack round 41 (README-only helpers on unseen PostgreSQL and MariaDB databases), the value
shapes fixed here:

1. A PostgreSQL numeric without a scale holding whole numbers (a size in bytes) was written
   '2105.0' on every row: that column keeps the scale it is given.
2. A timestamptz kept to the microsecond, drawn as a gap from an earlier time of its row (a last
   login after sign-up), came out on whole seconds on 85% of the rows: the gap was counted in
   seconds from the base's whole second.
3. An order equal to a record unique in the source: see the test.
4. and 5. An OpenMRS-like record: people's relationships copied whole as an OMOP vocabulary
   table; a copied dictionary's keys into a synthesized table pointing at nobody at --scale 0.2.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import relsynth
from relsynth.schema import Role
from tests.conftest import fetch, run_sql

USERS = """
CREATE TABLE users (id serial PRIMARY KEY, created_at timestamptz NOT NULL, last_login timestamptz,
    size_bytes numeric, ratio numeric);
INSERT INTO users (created_at, last_login, size_bytes, ratio)
SELECT t, t + (g %% 97) * interval '1 hour' + (g * 7919 %% 1000000) * interval '1 microsecond',
    (g * 37 %% 5000) + 100, (g %% 13) / 8.0
FROM (SELECT g, timestamptz '2022-01-01 00:00:00+00' + g * interval '1 hour'
              + (g * 104729 %% 1000000) * interval '1 microsecond' AS t
      FROM generate_series(1, 600) g) s;
"""


@pytest.fixture
def users(pg_db) -> str:
    """USERS synthesized into PostgreSQL: the target's URL."""
    source, target = pg_db(), pg_db()
    run_sql(source, USERS)
    relsynth.synthesize(source, target, seed=1)
    return target


@pytest.mark.postgresql
def test_whole_numbers_of_a_numeric_without_scale_are_written_whole(users: str) -> None:
    ((dotted, halves, rows),) = fetch(
        users,
        "SELECT count(*) FILTER (WHERE size_bytes::text LIKE '%.%'),"
        " count(*) FILTER (WHERE ratio::text LIKE '%.%'), count(*) FROM users",
    )
    assert rows > 500 and dotted == 0 and halves > 0  # a fraction is still written as one


@pytest.mark.postgresql
def test_a_time_drawn_from_an_earlier_one_keeps_its_microseconds(users: str) -> None:
    ((whole, known, before),) = fetch(
        users,
        "SELECT count(*) FILTER (WHERE mod(extract(microseconds FROM last_login)::bigint, 1000000) = 0),"
        " count(last_login), count(*) FILTER (WHERE last_login < created_at) FROM users",
    )
    assert known > 500 and whole < 0.05 * known and before == 0, (whole, known, before)


def _orders(url: str) -> None:
    """600 orders on 40 days of 3 statuses (required a week after); most have no comment, a
    fifth a sentence of their own: many (day, status) pairs are two orders', one with a comment."""
    rng = np.random.default_rng(41)
    words = ["please", "ship", "call", "before", "friday", "fragile", "rush", "gift", "wrap", "back"]
    rows = []
    for i in range(1, 601):
        day = dt.date(2004, 1, 1) + dt.timedelta(days=int(rng.integers(0, 40)))
        status = ["Shipped", "Cancelled", "On Hold"][int(rng.choice(3, p=[0.8, 0.1, 0.1]))]
        note = "NULL" if rng.random() < 0.8 else "'" + " ".join(rng.choice(words, 6)) + f" {i}'"
        rows.append(f"({i}, '{day}', '{day + dt.timedelta(days=7)}', '{status}', {note})")
    run_sql(
        url,
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, ordered DATE NOT NULL, required DATE NOT NULL,"
        " status VARCHAR(15) NOT NULL, comments TEXT);\n"
        "INSERT INTO orders VALUES\n" + ",\n".join(rows) + ";\n",
    )


def test_a_row_with_no_comment_never_equals_the_one_source_record_without_one(sqlite_db) -> None:
    """3. A record's free text is generated, so it never equals a source value, and the guard
    left it out of the record: but a generated NULL equals a source NULL. An order with no comment
    equalled the one source order of its dates and status without one (another had a comment);
    evaluate counted the copy (classicmodels at --scale 3)."""
    url = sqlite_db()
    _orders(url)
    out = relsynth.sample(relsynth.fit(url, seed=1), seed=5, scale=3)
    source = pd.read_sql("SELECT ordered, required, status, comments FROM orders", url)
    cols = ["ordered", "required", "status", "comments"]
    key = source[cols].astype(str).agg("|".join, axis=1)
    unique = set(key[~key.duplicated(keep=False)])
    got = out["orders"][cols].astype(str).agg("|".join, axis=1)
    assert len(out["orders"]) > 1500 and not got.isin(unique).any(), int(got.isin(unique).sum())


EMR = """
CREATE TABLE users (user_id INTEGER PRIMARY KEY, username VARCHAR(20) NOT NULL, hired DATE NOT NULL);
CREATE TABLE person (person_id INTEGER PRIMARY KEY, gender CHAR(1) NOT NULL, birthdate DATE,
    creator INTEGER NOT NULL REFERENCES users (user_id));
CREATE TABLE concept (concept_id INTEGER PRIMARY KEY, short_name VARCHAR(20) NOT NULL,
    creator INTEGER NOT NULL REFERENCES users (user_id), changed_by INTEGER REFERENCES users (user_id));
CREATE TABLE obs (obs_id INTEGER PRIMARY KEY, person_id INTEGER NOT NULL REFERENCES person (person_id),
    concept_id INTEGER NOT NULL REFERENCES concept (concept_id), value NUMERIC(8, 2));
CREATE TABLE relationship (relationship_id INTEGER PRIMARY KEY,
    person_a INTEGER NOT NULL REFERENCES person (person_id),
    person_b INTEGER NOT NULL REFERENCES person (person_id), start_date DATE);
"""


def _emr(url: str) -> None:
    """An OpenMRS-like record: a concept dictionary whose rows name their creator among the users,
    and relationships between people (named like an OMOP vocabulary table: concept and person
    are here too)."""
    rng = np.random.default_rng(7)
    lines = [f"INSERT INTO users VALUES ({u}, 'user{u}', '2015-0{1 + u % 9}-01');" for u in range(1, 41)]
    for c in range(1, 31):
        changed = "NULL" if c % 3 else str(1 + c % 40)
        lines.append(f"INSERT INTO concept VALUES ({c}, 'C{c}', {10 + (c % 7) * 3}, {changed});")
    for p in range(1, 301):
        lines.append(
            f"INSERT INTO person VALUES ({p}, '{'MF'[p % 2]}', '19{50 + p % 40}-03-0{1 + p % 9}', {1 + p % 40});"
        )
        for k in range(int(rng.integers(1, 6))):
            lines.append(
                f"INSERT INTO obs VALUES ({p * 10 + k}, {p}, {1 + int(rng.integers(0, 30))}, {rng.normal(50, 9):.2f});"
            )
    for r in range(1, 121):
        a, b = int(rng.integers(1, 301)), int(rng.integers(1, 301))
        lines.append(f"INSERT INTO relationship VALUES ({r}, {a}, {b}, '2020-01-{1 + r % 28:02d}');")
    run_sql(url, EMR + "\n".join(lines))


def test_a_people_table_named_like_an_omop_vocabulary_is_not_copied(sqlite_db) -> None:
    """4. OpenMRS has concept and person tables, so its relationship (person_a, person_b) was
    taken for OMOP's vocabulary table of that name and copied whole: 525 of 525 rows."""
    url = sqlite_db()
    _emr(url)
    assert relsynth.plan(relsynth.reflect(url))["relationship"].role == "data"


def test_a_copied_table_names_synthetic_parents_at_any_scale(sqlite_db, tmp_path) -> None:
    """5. A copied dictionary keeps its keys into a synthesized table (concept.creator -> users): at
    --scale 0.2 the users it named were not there and the load failed on orphans, after the whole
    run. They name synthetic users now (one source user, one synthetic user), and the model file
    holds no source user's key."""
    url = sqlite_db()
    _emr(url)
    schema = relsynth.reflect(url)
    tables = tuple(replace(t, role=Role.REFERENCE) if t.name == "concept" else t for t in schema.tables)
    model = relsynth.fit(url, schema=replace(schema, tables=tables), seed=1)
    assert model.plan["concept"].role == "reference" and model.plan["users"].role == "data"
    creators = model.tables["concept"].reference["creator"]
    assert sorted({int(c) for c in creators}) == list(range(1, 8))  # codes by first appearance
    out = relsynth.sample(model, seed=2, scale=0.2)
    users = set(out["users"]["user_id"])
    concept = out["concept"]
    assert len(users) < 40 and set(concept["creator"]) <= users
    assert set(concept["changed_by"].dropna()) <= users and concept["changed_by"].isna().sum() == 20
    source = pd.read_sql("SELECT concept_id, creator FROM concept", url).set_index("concept_id")["creator"]
    same = concept.set_index("concept_id")["creator"]
    # rows that named one source user name one synthetic user
    assert (same.groupby(source).nunique() == 1).all()
