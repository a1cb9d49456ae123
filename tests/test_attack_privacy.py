"""Attacks on the privacy promises (README "Privacy: who holds what"), each read back with SQL.

1. record numbers in a narrow shape (MRN0000001..MRN0000600, CHAR(10) on PostgreSQL): no
   synthetic value may be a source one, blank-padded or not;
3. a category of one person repeated on their 17 visits, with the person table excluded: the
   former foreign key still says whose visits they are, so the category is rare and never written.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import relsynth
from relsynth.model.text import ROOM, Shapes, SourceGuard
from tests.conftest import run_sql

KINDS = ["sqlite", "postgresql"]


def _new(request: pytest.FixtureRequest, kind: str) -> str:
    fixture = {"sqlite": "sqlite_db", "postgresql": "pg_db"}[kind]
    return request.getfixturevalue(fixture)()


def _column(url: str, sql: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.exec_driver_sql(sql)]
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", KINDS)
def test_record_numbers_in_a_narrow_shape_are_never_real(kind: str, request: pytest.FixtureRequest) -> None:
    src, dst = _new(request, kind), _new(request, kind)
    mrn = "TEXT" if kind == "sqlite" else "CHAR(10)"
    rows = ",\n".join(f"({i}, 'MRN{i:07d}', {1 + i % 97})" for i in range(1, 601))
    run_sql(
        src,
        f"CREATE TABLE patient (id INTEGER PRIMARY KEY, mrn {mrn} NOT NULL UNIQUE, age INTEGER NOT NULL);\n"
        f"INSERT INTO patient (id, mrn, age) VALUES\n{rows};",
    )
    relsynth.synthesize(src, dst, seed=1)
    real = {v.strip() for v in _column(src, "SELECT mrn FROM patient")}
    synthetic = [v.strip() for v in _column(dst, "SELECT mrn FROM patient")]
    assert len(synthetic) == 600
    copies = sorted(real & set(synthetic))
    assert not copies, f"{len(copies)} synthetic record numbers are real ones"


def _people(url: str) -> None:
    common = ["checkup", "flu", "fracture", "vaccination"]
    visits, vid = [], 0
    for p in range(1, 61):
        for j in range(3 + p % 3):
            vid += 1
            visits.append(f"({vid}, {p}, '{common[(p + j) % 4]}')")
    for _ in range(17):  # one person's 17 visits: a rare category, however many rows
        vid += 1
        visits.append(f"({vid}, 7, 'gene therapy trial GT-17')")
    rows = ",\n".join(visits)
    people = ",\n".join(f"({p}, {20 + p % 50})" for p in range(1, 61))
    run_sql(
        url,
        "CREATE TABLE person (id INTEGER PRIMARY KEY, age INTEGER NOT NULL);\n"
        "CREATE TABLE visit (id INTEGER PRIMARY KEY, person_id INTEGER NOT NULL REFERENCES person (id),"
        " reason VARCHAR(40) NOT NULL);\n"
        f"INSERT INTO person (id, age) VALUES\n{people};\n"
        f"INSERT INTO visit (id, person_id, reason) VALUES\n{rows};",
    )


@pytest.mark.parametrize("kind", KINDS)
def test_rare_category_stays_rare_when_its_parent_is_excluded(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    src, dst = _new(request, kind), _new(request, kind)
    _people(src)
    relsynth.synthesize(src, dst, exclude=("person",), seed=1)
    reasons = set(_column(dst, "SELECT reason FROM visit"))
    assert "checkup" in reasons  # common levels are kept
    assert not any("gene" in r or "GT-17" in r for r in reasons)
    path = tmp_path / "m.rsm"
    relsynth.fit(src, exclude=("person",)).save(path)
    with zipfile.ZipFile(path) as z:
        text = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    assert "gene therapy" not in text and "GT-17" not in text


NAMES = ["Margaret Thornbury", "Oswald Quimby", "Beatrix Fairweather", "Cornelius Pettigrew"]
LEAKS = ["thornbury", "quimby", "fairweather", "pettigrew", "margaret", "acme"]


@pytest.mark.parametrize("kind", KINDS)
def test_text_inside_json_is_not_kept_or_written(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    src, dst = _new(request, kind), _new(request, kind)
    doc = "JSON" if kind == "sqlite" else "JSONB"
    docs = [
        json.dumps(
            {"contact": f"{NAMES[g % 4]} {g}", "email": f"m.thornbury{g}@acme-health.com", "age": g % 60}
        )
        for g in range(1, 301)
    ]
    rows = ",\n".join(f"({g}, '{d}')" for g, d in enumerate(docs, 1))
    run_sql(
        src,
        f"CREATE TABLE person (id INTEGER PRIMARY KEY, doc {doc} NOT NULL);\nINSERT INTO person VALUES\n{rows};",
    )
    path = tmp_path / "m.rsm"
    relsynth.fit(src).save(path)
    with zipfile.ZipFile(path) as z:
        model_text = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist()).lower()
    assert [w for w in LEAKS if w in model_text] == []
    relsynth.synthesize(src, dst, seed=1)
    out = [d if isinstance(d, dict) else json.loads(d) for d in _column(dst, "SELECT doc FROM person")]
    assert len(out) == 300 and all("contact" in d and "email" in d for d in out)
    written = " ".join(f"{d['contact']} {d['email']}" for d in out).lower()
    assert [w for w in LEAKS if w in written] == []
    source = {s.lower() for d in docs for s in json.loads(d).values() if isinstance(s, str)}
    assert not source & {str(d[k]).lower() for d in out for k in ("contact", "email")}


def test_the_guard_sees_a_blank_padded_copy() -> None:
    """CHAR(n) pads with blanks: 'MRN0000001  ' read from the source is the value 'MRN0000001'."""
    guard = SourceGuard.fit(pd.Series(["MRN0000001  ", "MRN0000002"]), os.urandom(16))
    assert guard.copies(np.asarray(["MRN0000001", "MRN0000002  ", "MRN0000003"], dtype=object)).tolist() == [
        True,
        True,
        False,
    ]


def test_a_narrow_shape_is_widened_past_the_source() -> None:
    """MRN0000001..MRN0000600 share 'MRN0000' at the front: a template keeping it all can make 1,000
    values, 600 of them real. Widened, it makes at least ROOM times as many as the source has."""
    shapes = Shapes.fit(pd.Series([f"MRN{i:07d}" for i in range(1, 601)]))
    (template,) = shapes.templates
    assert template.startswith("\\M\\R\\N")
    free = len(re.findall(r"(?<!\\)9", template))  # free digits; a kept one is written "\\0"
    assert 10**free >= ROOM * 600
