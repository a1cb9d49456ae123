"""Dates inside JSON documents stay dates (attack round 43, a FHIR resource store): a leaf whose
every string is an ISO date or time was generated from its character shapes, so 1,453 of 1,501
birthDates came out as impossible dates ('9846-91-77') and 19,465 of 19,962 effectiveDateTimes
as '2021-40-01S48:00:00+00:00'. Such a leaf is now learned as times are (quantiles, no tail of
one document) and written in its format, with its one UTC offset kept."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

import relsynth
from relsynth.model import natives
from tests.conftest import fetch, run_raw


def _docs(n: int) -> list[str]:
    out = []
    for i in range(n):
        born = dt.date(1940, 1, 1) + dt.timedelta(days=97 * i % 20000)
        seen = dt.datetime(2021, 1, 1) + dt.timedelta(hours=7 * i)
        out.append(
            json.dumps(
                {
                    "resourceType": "Patient",
                    "birthDate": born.isoformat(),
                    "effectiveDateTime": seen.isoformat() + "+00:00",
                    "code": f"C{i % 4}",
                }
            )
        )
    return out


def test_a_leaf_of_iso_dates_is_drawn_as_dates_in_its_format() -> None:
    m = natives._fit_json(_docs(300))
    drawn = [json.loads(d) for d in natives._draw_json(m, 200, np.random.default_rng(1), None)]
    births = [dt.date.fromisoformat(d["birthDate"]) for d in drawn]  # raises on '9846-91-77'
    assert min(births) >= dt.date(1940, 1, 1) and max(births) <= dt.date(1995, 1, 1)
    for d in drawn:
        assert d["effectiveDateTime"].endswith("+00:00")
        dt.datetime.fromisoformat(d["effectiveDateTime"])
    assert {d["code"] for d in drawn} <= {"C0", "C1", "C2", "C3"}


def test_mixed_leaves_stay_strings() -> None:
    docs = [json.dumps({"when": "2021-01-01" if i % 2 else "soon"}) for i in range(100)]
    m = natives._fit_json(docs)
    assert "date" not in m["leaves"][".when"]


@pytest.mark.postgresql
def test_jsonb_documents_keep_valid_dates_in_postgresql(pg_db) -> None:
    source, target = pg_db(), pg_db()
    run_raw(source, "CREATE TABLE resource (id integer PRIMARY KEY, body jsonb NOT NULL)")
    values = ", ".join(f"({i}, '{d}')" for i, d in enumerate(_docs(400)))
    run_raw(source, f"INSERT INTO resource VALUES {values}")
    relsynth.synthesize(source, target, seed=1)
    rows = fetch(target, "SELECT body->>'birthDate', body->>'effectiveDateTime' FROM resource")
    assert len(rows) == 400
    for born, seen in rows:
        dt.date.fromisoformat(born)
        dt.datetime.fromisoformat(seen)
