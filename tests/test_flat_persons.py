"""A flat export (no foreign keys) whose MRN names each row's patient, on 3-12 rows of theirs with
one birth date, e-mail, sex and diagnosis: the synthetic patients are too (model/persons.py).
Drawn row by row, 2,634 MRNs came out for 3,029 rows and every repeated MRN had two or more
birth dates and e-mails (attack round 41)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import relsynth
from tests.conftest import model_contents

DIAGNOSES = ["Hypertension", "Diabetes type 2", "Asthma", "COPD", "Migraine", "Anaemia", "Hypothyroidism"]
RARE_DX, RARE_BIRTH = "Erdheim-Chester disease", dt.date(1907, 6, 13)
CANARY_MAIL = "hortensia.blackwood-ferrars@canary.example"


def _build(url: str) -> pd.DataFrame:
    """400 patients on 3-12 rows each; a diabetic's glucose runs high. One canary patient of 30
    rows holds a diagnosis and a birth date no one else has."""
    rng = np.random.default_rng(41)
    rows = []
    for p in range(400):
        birth = dt.date(1935, 1, 1) + dt.timedelta(days=int(rng.integers(0, 25000)))
        mail = None if p % 9 == 0 else f"pt{p}@clinic-mail.example"
        dx, sex, n = DIAGNOSES[int(rng.integers(0, 7))], "FM"[p % 2], int(rng.integers(3, 13))
        if p == 123:
            birth, mail, dx, n = RARE_BIRTH, CANARY_MAIL, RARE_DX, 30
        for _ in range(n):
            code = ["HGB", "GLU", "TSH", "CRP"][int(rng.integers(0, 4))]
            mean = {"HGB": 14.0, "GLU": 160.0 if dx == "Diabetes type 2" else 95.0, "TSH": 2.0, "CRP": 4.0}
            taken = dt.datetime(2023, 1, 1) + dt.timedelta(minutes=int(rng.integers(0, 500000)))
            value = round(float(rng.normal(mean[code], mean[code] / 10)), 2)
            rows.append(
                {"mrn": f"M{100000 + p}", "birth_date": birth, "email": mail, "sex": sex, "diagnosis": dx,
                 "test_code": code, "result": value, "collected_at": taken}
            )  # fmt: skip
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE lab_export (row_id INTEGER PRIMARY KEY, mrn VARCHAR(10) NOT NULL,"
            " birth_date DATE NOT NULL, email VARCHAR(60) NULL, sex CHAR(1) NOT NULL,"
            " diagnosis VARCHAR(60) NOT NULL, test_code VARCHAR(8) NOT NULL, result DECIMAL(8,2) NULL,"
            " collected_at DATETIME NOT NULL)"
        )
        table = sa.Table("lab_export", sa.MetaData(), autoload_with=conn)
        conn.execute(table.insert(), [{"row_id": i + 1, **r} for i, r in enumerate(rows)])
    engine.dispose()
    return pd.DataFrame(rows)


def _read(url: str) -> pd.DataFrame:
    engine = sa.create_engine(url)
    try:
        return pd.read_sql("SELECT * FROM lab_export", engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("db", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def test_a_flat_tables_persons_keep_their_one_birth_date_and_row_counts(
    db: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    make = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    real = _build(source)
    relsynth.synthesize(source, target, seed=1)
    out = _read(target)
    assert abs(len(out) - len(real)) <= 0.05 * len(real)
    per = out.groupby("mrn").agg(
        n=("mrn", "size"),
        births=("birth_date", "nunique"),
        mails=("email", lambda s: s.nunique(dropna=False)),
        sexes=("sex", "nunique"),
        dxs=("diagnosis", "nunique"),
    )
    several = per[per["n"] >= 2]
    assert len(several) > 0.9 * len(per)
    for col in ["births", "mails", "sexes", "dxs"]:
        assert (several[col] == 1).all(), (col, int((several[col] > 1).sum()), len(several))
    source_mean = real.groupby("mrn").size().mean()
    assert abs(per["n"].mean() - source_mean) <= 0.3 * source_mean, (per["n"].mean(), source_mean)
    # No source MRN, and a diabetic's glucose still runs high.
    assert not set(out["mrn"]) & set(real["mrn"])
    glucose = out[out["test_code"] == "GLU"]
    diabetic = glucose["diagnosis"] == "Diabetes type 2"
    assert (
        glucose["result"][diabetic].astype(float).mean()
        > 1.3 * glucose["result"][~diabetic].astype(float).mean()
    )
    # The canary patient's diagnosis and birth date are one person's: in neither output nor model.
    assert RARE_DX not in set(out["diagnosis"])
    assert RARE_BIRTH not in set(pd.to_datetime(out["birth_date"]).dt.date)
    text, numbers = model_contents(relsynth.fit(source, seed=1), tmp_path / "m.rsm")
    assert RARE_DX not in text and "hortensia" not in text and "1907-06-13" not in text
    canary_seconds = (pd.Timestamp(RARE_BIRTH) - pd.Timestamp(0)).total_seconds()
    assert not np.isclose(numbers, canary_seconds).any()


def test_persons_learned_from_a_sample_of_rows_keep_the_sources_rows_per_person(
    sqlite_db, tmp_path: Path
) -> None:
    """Learned from 1,000 of the ~3,000 rows (--fit-rows), each patient shows a third of their rows:
    the counts are scaled to the source's rows per person. Saved and loaded, the persons hold."""
    source = sqlite_db()
    real = _build(source)
    relsynth.fit(source, seed=1, fit_rows=1000).save(tmp_path / "m.rsm")
    out = relsynth.sample(tmp_path / "m.rsm", seed=2)["lab_export"]
    per = out.groupby("mrn").agg(n=("mrn", "size"), births=("birth_date", "nunique"))
    source_mean = real.groupby("mrn").size().mean()
    assert abs(per["n"].mean() - source_mean) <= 0.3 * source_mean, (per["n"].mean(), source_mean)
    assert (per["births"] == 1).all()
