"""One patient's rare value inside a JSON document (city "Nantucket") sent the whole leaf to shape
templates: every document's city came out as random letters, though four cities each held by a
quarter of the patients are a code list. Now the common values are kept with their share and the
rare ones withheld (not written, not in the model file). And where no source array repeats an
element (a set of tags), no generated array does ({vip,vip})."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import relsynth
from tests.conftest import model_contents, run_sql

ROWS = 800
CITIES = ["Leeds", "York", "Hull", "Bath"]
DIAGNOSES = ["asthma", "copd", "diabetes"]
RARE = ("Nantucket", "fabry-disease", "huntington-carrier")


def _rows() -> list[tuple[int, str, str]]:
    rng = random.Random(4)
    rows = []
    for i in range(1, ROWS + 1):
        tags = ["vip"] if rng.random() < 0.3 else ["frail", "falls-risk"] if rng.random() < 0.2 else []
        doc = {"city": CITIES[i % 4], "diagnosis": DIAGNOSES[i % 3]}
        if i == 421:  # one patient's rare values
            tags, doc = ["huntington-carrier"], {"city": "Nantucket", "diagnosis": "fabry-disease"}
        rows.append((i, json.dumps(tags), json.dumps(doc)))
    return rows


def _load(url: str, dialect: str) -> None:
    tags_type, doc_type = ("TEXT[]", "JSONB") if dialect == "pg" else ("JSON", "JSON")
    values = ",\n".join(f"({i}, {_tags_literal(t, dialect)}, '{d}')" for i, t, d in _rows())
    run_sql(
        url,
        f"CREATE TABLE patient (id INTEGER PRIMARY KEY, tags {tags_type} NOT NULL,"
        f" resource {doc_type} NOT NULL);\n"
        f"INSERT INTO patient (id, tags, resource) VALUES\n{values};\n",
    )


def _tags_literal(tags: str, dialect: str) -> str:
    if dialect == "pg":
        return "ARRAY[" + ",".join(f"'{t}'" for t in json.loads(tags)) + "]::text[]"
    return f"'{tags}'"


def _doc(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


@pytest.mark.parametrize("dialect", ["pg", "sqlite"])
def test_rare_json_value_keeps_the_common_ones_and_is_withheld(
    request: pytest.FixtureRequest, tmp_path: Path, dialect: str
) -> None:
    url = request.getfixturevalue(f"{dialect}_db")()
    _load(url, dialect)
    model = relsynth.fit(url, seed=1)
    text, _ = model_contents(model, tmp_path / "m.rsm")
    for rare in RARE:
        assert rare not in text
    patient = relsynth.sample(model, seed=2)["patient"]
    docs = [_doc(v) for v in patient["resource"]]
    assert len(docs) == ROWS
    cities = Counter(d["city"] for d in docs)
    diagnoses = Counter(d["diagnosis"] for d in docs)
    # Every document's city and diagnosis a common one (1 rare row of 800 folded into them),
    # each about as often as in the source.
    assert set(cities) == set(CITIES), cities
    assert set(diagnoses) == set(DIAGNOSES), diagnoses
    assert all(abs(c / ROWS - 0.25) < 0.07 for c in cities.values()), cities
    assert all(abs(c / ROWS - 1 / 3) < 0.07 for c in diagnoses.values()), diagnoses
    tags = [_doc(v) for v in patient["tags"]]
    elements = {e for t in tags for e in t}
    assert not elements & set(RARE)


@pytest.mark.postgresql
def test_no_generated_array_repeats_an_element_where_no_source_array_does(pg_db: Any, tmp_path: Path) -> None:
    url = pg_db()
    _load(url, "pg")
    patient = relsynth.sample(relsynth.fit(url, seed=1), seed=3)["patient"]
    tags = [list(t) for t in patient["tags"]]
    assert sum(len(t) > 1 for t in tags) > 20  # arrays of two elements are drawn
    repeated = [t for t in tags if len(set(t)) < len(t)]
    assert not repeated, repeated[:5]
    # The lengths stay the source's (one or two tags, a share empty).
    assert {len(t) for t in tags} <= {0, 1, 2}


def _invoices(url: str) -> None:
    rng = random.Random(30)
    day = dt.date(2020, 1, 1)
    rows = []
    for i in range(1, 401):
        issued = day + dt.timedelta(days=rng.randint(0, 1000))
        reminder = issued + dt.timedelta(days=rng.randint(20, 29))
        rows.append(f"({i}, '{issued}', '{reminder}', '{issued + dt.timedelta(days=30)}')")
    run_sql(
        url,
        "CREATE TABLE invoice (id INTEGER PRIMARY KEY, issued DATE NOT NULL, reminder DATE NOT NULL,"
        " due DATE NOT NULL);\n"
        "INSERT INTO invoice (id, issued, reminder, due) VALUES\n" + ",\n".join(rows) + ";\n",
    )


@pytest.mark.parametrize("dialect", ["pg", "sqlite"])
def test_a_constant_gap_between_dates_is_kept(request: pytest.FixtureRequest, dialect: str) -> None:
    """due = issued + 30 on every row, a reminder 1 to 10 days before due: due was drawn as a gap
    from the closer bound (the reminder), so due - issued was almost never 30."""
    url = request.getfixturevalue(f"{dialect}_db")()
    _invoices(url)
    invoice = relsynth.sample(relsynth.fit(url, seed=1), seed=2)["invoice"]
    issued = pd.to_datetime(invoice["issued"])
    due = pd.to_datetime(invoice["due"])
    gaps = (due - issued).dt.days
    assert (gaps == 30).all(), gaps.value_counts().head(5).to_dict()


def _orders(url: str, dialect: str) -> None:
    rng = random.Random(31)
    start = dt.datetime(2020, 1, 1)
    orders, invoices = [], []
    for i in range(1, 601):
        at = start + dt.timedelta(seconds=rng.randint(0, 1000 * 86400))
        orders.append(f"({i}, '{at:%Y-%m-%d %H:%M:%S}{'+00' if dialect == 'pg' else ''}')")
        if rng.random() < 0.6:  # an invoice for most orders
            invoices.append(f"({i}, {i}, '{at.date()}', '{at.date() + dt.timedelta(days=30)}')")
    stamp = "TIMESTAMPTZ" if dialect == "pg" else "DATETIME"
    run_sql(
        url,
        f"CREATE TABLE order_header (id INTEGER PRIMARY KEY, order_date {stamp} NOT NULL);\n"
        "CREATE TABLE invoice (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL UNIQUE"
        " REFERENCES order_header (id), issued DATE NOT NULL, due DATE NOT NULL);\n"
        "INSERT INTO order_header (id, order_date) VALUES\n" + ",\n".join(orders) + ";\n"
        "INSERT INTO invoice (id, order_id, issued, due) VALUES\n" + ",\n".join(invoices) + ";\n",
    )


@pytest.mark.parametrize("dialect", ["pg", "sqlite"])
def test_a_date_on_its_parents_day_is_kept(request: pytest.FixtureRequest, dialect: str) -> None:
    """invoice.issued is the date of its order's order_date (a timestamp) on every row: as
    instants issued (midnight) is before order_date, so only 'issued <= order_date' was learned
    and half the invoices were issued days before their order."""
    url = request.getfixturevalue(f"{dialect}_db")()
    _orders(url, dialect)
    out = relsynth.sample(relsynth.fit(url, seed=1), seed=2)
    orders = out["order_header"].set_index("id")["order_date"]
    invoice = out["invoice"]
    ordered = pd.to_datetime(invoice["order_id"].map(orders), utc=True).dt.tz_localize(None).dt.normalize()
    issued = pd.to_datetime(invoice["issued"])
    days = (issued - ordered).dt.days
    # A row moved a day off a unique source record (issued, due) moves up from its order's day,
    # never below it: 50 of 365 invoices were issued the day before their order.
    assert (days == 0).all(), days.value_counts().head(5).to_dict()
    assert ((pd.to_datetime(invoice["due"]) - issued).dt.days == 30).mean() > 0.7
