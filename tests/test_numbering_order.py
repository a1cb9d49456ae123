"""Numberings that follow time: admission 2 of a patient is never before admission 1.

Before: a key (patient_id, seq) got its numbers in random order within each patient, and a data
column numbering a patient's visits (visit_number 1..n) was modelled as a plain number, so the
output had successive admissions out of order and visit numbers repeated or skipped.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import relsynth
from tests.conftest import run_sql

FIXTURE = {"sqlite": "sqlite_db", "postgresql": "pg_db", "mysql": "mysql_db"}
DDL = """
CREATE TABLE patients (id INTEGER PRIMARY KEY, age INTEGER NOT NULL);
CREATE TABLE admissions (id INTEGER PRIMARY KEY, patient_id INTEGER NOT NULL,
  admission_number INTEGER NOT NULL, admitted TIMESTAMP NOT NULL, cost NUMERIC(9,2) NOT NULL,
  FOREIGN KEY (patient_id) REFERENCES patients (id));
CREATE TABLE visits (patient_id INTEGER NOT NULL, seq SMALLINT NOT NULL, visit_date DATE NOT NULL,
  PRIMARY KEY (patient_id, seq), FOREIGN KEY (patient_id) REFERENCES patients (id));
CREATE TABLE stays (id INTEGER PRIMARY KEY, patient_id INTEGER NOT NULL, stay_no INTEGER NOT NULL,
  started DATE NOT NULL, UNIQUE (patient_id, stay_no), FOREIGN KEY (patient_id) REFERENCES patients (id));
"""


def _fill(url: str) -> None:
    rng = np.random.default_rng(7)
    patients, admissions, visits, stays = [], [], [], []
    aid = 0
    for p in range(1, 161):
        patients.append({"id": p, "age": int(rng.integers(20, 90))})
        t = dt.datetime(2015, 1, 1) + dt.timedelta(days=int(rng.integers(0, 900)))
        for k in range(1, int(rng.integers(1, 7)) + 1):
            aid += 1
            t += dt.timedelta(days=int(rng.integers(3, 200)), hours=int(rng.integers(0, 24)))
            admissions.append(
                {
                    "id": aid,
                    "patient_id": p,
                    "admission_number": k,
                    "admitted": t,
                    "cost": round(float(rng.gamma(2, 900)), 2),
                }
            )
        d = dt.date(2018, 1, 1) + dt.timedelta(days=int(rng.integers(0, 300)))
        for k in range(1, int(rng.integers(1, 5)) + 1):
            d += dt.timedelta(days=int(rng.integers(1, 90)))
            visits.append({"patient_id": p, "seq": k, "visit_date": d})
            stays.append({"id": len(stays) + 1, "patient_id": p, "stay_no": k, "started": d})
    run_sql(url, DDL)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        md = sa.MetaData()
        md.reflect(conn)
        for name, rows in (
            ("patients", patients),
            ("admissions", admissions),
            ("visits", visits),
            ("stays", stays),
        ):
            conn.execute(md.tables[name].insert(), rows)
    engine.dispose()


def _out_of_order(frame: pd.DataFrame, number: str, time: str) -> int:
    f = frame.assign(_t=pd.to_datetime(frame[time].astype(str))).sort_values(["patient_id", number])
    back = f.groupby("patient_id")["_t"].diff().dt.total_seconds() < 0
    return int(back.sum())


def _numbered(frame: pd.DataFrame, number: str) -> bool:
    g = frame.groupby("patient_id")[number].agg(["min", "max", "count", "nunique"])
    return bool(((g["min"] == 1) & (g["max"] == g["count"]) & (g["nunique"] == g["count"])).all())


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mysql"])
def test_numberings_follow_the_time_they_number(request: pytest.FixtureRequest, kind: str) -> None:
    make = request.getfixturevalue(FIXTURE[kind])
    source, target = make(), make()
    _fill(source)
    model = relsynth.fit(source, seed=3)
    numbering = {nb.column: nb.by for nb in model.tables["admissions"].numbering}
    assert numbering == {"admission_number": "admitted"}
    assert {nb.column: nb.by for nb in model.tables["visits"].numbering} == {"seq": "visit_date"}
    # UNIQUE (patient_id, stay_no) makes stay_no a key within the patient: a numbering all the same.
    assert {nb.column: nb.by for nb in model.tables["stays"].numbering} == {"stay_no": "started"}
    result = relsynth.synthesize(source, target, seed=3, scale=2.0)
    assert result["write"].verification.problems == 0
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        admissions = pd.read_sql(
            sa.text("SELECT patient_id, admission_number, admitted FROM admissions"), conn
        )
        visits = pd.read_sql(sa.text("SELECT patient_id, seq, visit_date FROM visits"), conn)
        stays = pd.read_sql(sa.text("SELECT patient_id, stay_no, started FROM stays"), conn)
    engine.dispose()
    assert len(admissions) > 500 and len(visits) > 300
    assert _numbered(admissions, "admission_number")
    assert _out_of_order(admissions, "admission_number", "admitted") == 0
    assert _numbered(visits, "seq")
    assert _out_of_order(visits, "seq", "visit_date") == 0
    assert _numbered(stays, "stay_no")
    assert _out_of_order(stays, "stay_no", "started") == 0
    lines = "\n".join(model.relations_summary())
    assert "admission_number numbers rows 1..n within each parent, in the order of admitted" in lines
