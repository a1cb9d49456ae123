"""Attack round 36, findings 01/07 and 05: whose rows a table's are, for the rare-value rule.

- An i2b2 star schema: observation_fact was modelled under concept_dimension (its FK named after
  it), so the concepts were the people: a location one patient held on 8 rows (one per concept)
  was a category level in the model file and in the output.
- A REDCap-like database: an inferred key into the one-row project table made the one project
  the owner of every log row, so every category was rare and generated as shaped text whose
  template spelled the source value ('\\a\\l\\i\\ca': every output row 'alic?').
"""

from __future__ import annotations

import datetime as dt
import random
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from relsynth.cli import main
from relsynth.model.text import Shapes
from tests.conftest import fetch

DATABASES = [pytest.param("sqlite"), pytest.param("pg", marks=pytest.mark.postgresql)]


def _url(kind: str, request: pytest.FixtureRequest) -> str:
    make: Callable[[], str] = request.getfixturevalue(f"{kind}_db")
    return make()


def _load(url: str, ddl: list[str], rows: dict[str, list[tuple]]) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in ddl:
                conn.exec_driver_sql(statement)
            for name, data in rows.items():
                marks = ", ".join(f":c{i}" for i in range(len(data[0])))
                conn.execute(
                    sa.text(f"INSERT INTO {name} VALUES ({marks})"),  # test data: fixed names
                    [{f"c{i}": v for i, v in enumerate(row)} for row in data],
                )
    finally:
        engine.dispose()


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, [*args])
    assert result.exit_code == 0, result.output
    return result.output


def _model_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".json"))


# -- findings 01/07: a star schema's facts are the patient's, not the concept's ---------------------

STAR = [
    "CREATE TABLE patient_dimension (patient_num INTEGER PRIMARY KEY, birth_date DATE, sex_cd VARCHAR(5))",
    "CREATE TABLE visit_dimension (encounter_num INTEGER NOT NULL, patient_num INTEGER NOT NULL "
    "REFERENCES patient_dimension, start_date DATE, inout_cd VARCHAR(5), "
    "PRIMARY KEY (encounter_num, patient_num))",
    "CREATE TABLE concept_dimension (concept_path VARCHAR(200) PRIMARY KEY, concept_cd VARCHAR(50) NOT NULL "
    "UNIQUE, name_char VARCHAR(200), update_date DATE)",
    "CREATE TABLE observation_fact (encounter_num INTEGER NOT NULL, patient_num INTEGER NOT NULL, "
    "concept_cd VARCHAR(50) NOT NULL REFERENCES concept_dimension (concept_cd), start_date TIMESTAMP NOT NULL, "
    "instance_num INTEGER NOT NULL, nval_num NUMERIC(10,2), location_cd VARCHAR(20), "
    "PRIMARY KEY (patient_num, concept_cd, start_date, encounter_num, instance_num), "
    "FOREIGN KEY (encounter_num, patient_num) REFERENCES visit_dimension (encounter_num, patient_num))",
]


def _star_rows() -> dict[str, list[tuple]]:
    r = random.Random(36)
    patients = [
        (p, dt.date(1940, 1, 1) + dt.timedelta(days=r.randrange(20000)), r.choice("MFU"))
        for p in range(1, 121)
    ]
    concepts = [
        (f"\\Labs\\C{i:02d}\\", f"LAB:{i:02d}", f"Lab {i}", dt.date(2015, 1, 1 + i % 28)) for i in range(30)
    ]
    visits, facts = [], []
    enc = 0
    for p, *_ in patients:
        for _ in range(r.choice([1, 2, 3])):
            enc += 1
            start = dt.date(2018, 1, 1) + dt.timedelta(days=r.randrange(1000))
            visits.append((enc, p, start, r.choice(["I", "O"])))
            for j, (_, cd, *_) in enumerate(r.sample(concepts, 6)):
                when = dt.datetime.combine(start, dt.time(8, j))
                facts.append((enc, p, cd, when, 1, round(r.gauss(100, 15), 2), r.choice(["LOCA", "LOCB"])))
    # ONE patient holds LOCZZ9, on one row of each of 8 concepts (8 "people" if concepts were people).
    enc, p = visits[10][0], visits[10][1]
    for j, (_, cd, *_) in enumerate(concepts[:8]):
        facts.append((enc, p, cd, dt.datetime(2019, 5, 5, 5, j), 2, 99.0, "LOCZZ9"))
    return {
        "patient_dimension": patients,
        "visit_dimension": visits,
        "concept_dimension": concepts,
        "observation_fact": facts,
    }


@pytest.mark.parametrize("kind", DATABASES)
def test_a_fact_is_the_patients_not_its_concepts(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Before: 'observation_fact under concept_dimension (the FK is named after it)', and LOCZZ9 (one
    patient, 8 concepts) was a level of the model file and written to the output."""
    source = _url(kind, request)
    _load(source, STAR, _star_rows())
    out = _run("inspect", source)
    line = next(x for x in out.splitlines() if x.startswith("observation_fact"))
    assert "child of visit_dimension" in line, out
    model = tmp_path / "star.rsm"
    _run("fit", source, "-o", str(model), "--seed", "1", "-q")
    text = _model_text(model)
    assert "LOCA" in text  # the common levels are categories still
    assert "LOCZZ9" not in text
    target = f"sqlite:///{tmp_path / 'out.db'}"
    _run("sample", str(model), "--target", target, "--seed", "1", "-q")
    locations = {v for (v,) in fetch(target, "SELECT DISTINCT location_cd FROM observation_fact")}
    assert "LOCZZ9" not in locations and "LOCA" in locations


# -- finding 05: a one-row project owns no one's rows; a template spells no value ------------------


def _redcap_rows() -> dict[str, list[tuple]]:
    r = random.Random(77)
    log = [
        (
            i + 1,
            12,
            20190601000000 + i * 37,
            r.choice(["alice", "bob", "site_coord"]),
            r.choice(["Update record", "Create record"]),
        )
        for i in range(900)
    ]
    fields = ["record_id", "sex", "weight", "smoker", "visit_date"]
    data = []
    for rec in range(1001, 1201):
        for f in fields:
            value = {
                "record_id": str(rec),
                "sex": r.choice("01"),
                "weight": f"{r.gauss(80, 15):.1f}",
                "smoker": r.choice("001"),
                "visit_date": (dt.date(2019, 6, 1) + dt.timedelta(days=r.randrange(60))).isoformat(),
            }[f]
            data.append((12, 40, str(rec), f, value))
        for _ in range(r.choice([0, 1, 2])):
            data.append((12, 40, str(rec), "med_name", r.choice(["Aspirin", "Warfarin", "Metoprolol"])))
    # ONE participant's medication, on 7 rows (a repeating instrument): rare by people, not by rows.
    data += [(12, 40, "1007", "med_name", "CANARYMED")] * 7
    return {
        "redcap_projects": [(12, "cardio_followup", "Cardiology Follow-up Study", "2019-03-01 09:00:00", 1)],
        "redcap_log_event": log,
        "redcap_data": data,
    }


REDCAP = [
    "CREATE TABLE redcap_projects (project_id INTEGER PRIMARY KEY, project_name TEXT NOT NULL, app_title TEXT, "
    "creation_time TEXT, status INTEGER)",
    "CREATE TABLE redcap_log_event (log_event_id INTEGER PRIMARY KEY, project_id INTEGER, ts BIGINT, "
    '"user" TEXT, description TEXT)',
    "CREATE TABLE redcap_data (project_id INTEGER, event_id INTEGER, record TEXT, field_name TEXT, value TEXT)",
]


@pytest.mark.parametrize("kind", DATABASES)
def test_a_one_row_parent_is_no_one(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Before: the inferred key into the 1-row project made every category rare; the model file held
    the template '\\a\\l\\i\\ca' and every output row read 'alic?'; the EAV field names were random.
    Counted by rows instead, one participant's medication on 7 rows was kept: the record column
    names whose row it is."""
    source = _url(kind, request)
    _load(source, REDCAP, _redcap_rows())
    assert "redcap_log_event(project_id) -> redcap_projects(project_id)" in _run("inspect", source)
    model = tmp_path / "rc.rsm"
    _run("fit", source, "-o", str(model), "--seed", "1", "-q")
    text = _model_text(model)
    assert "\\\\a\\\\l\\\\i" not in text and "\\\\r\\\\e\\\\c\\\\o\\\\r\\\\d" not in text
    target = f"sqlite:///{tmp_path / 'out.db'}"
    _run("sample", str(model), "--target", target, "--seed", "1", "-q")
    users = {v for (v,) in fetch(target, 'SELECT DISTINCT "user" FROM redcap_log_event')}
    assert users == {"alice", "bob", "site_coord"}
    assert {v for (v,) in fetch(target, "SELECT DISTINCT description FROM redcap_log_event")} == {
        "Update record",
        "Create record",
    }
    names = {v for (v,) in fetch(target, "SELECT DISTINCT field_name FROM redcap_data")}
    assert names == {"record_id", "sex", "weight", "smoker", "visit_date", "med_name"}
    assert "CANARYMED" not in text
    assert not fetch(target, "SELECT 1 FROM redcap_data WHERE value = 'CANARYMED'")
    assert fetch(target, "SELECT 1 FROM redcap_data WHERE value = 'Warfarin'")


def test_a_template_of_few_values_keeps_none_of_their_letters() -> None:
    """A shape too few distinct values hold, kept for want of another, fixed every character its
    rows share: the template was the source value with one place open."""
    for values in (
        ["alice"] * 1000 + ["bob"] * 990 + ["site_coord"] * 1010,
        ["Update record"] * 1500 + ["Create record"] * 1500,
    ):
        shapes = Shapes.fit(pd.Series(values), frequencies=True, rare_k=5)
        for template in shapes.templates:
            letters = [t for t in template.split("\\")[1:] if t[:1].isalnum()]
            assert not letters, template
        drawn = set(shapes.generate(200, np.random.default_rng(0)))
        assert not any(v[:3] in {"ali", "sit", "bob"} or v.endswith("ate record") for v in drawn)


def test_a_code_list_in_a_fact_key_is_a_vocabulary(tmp_path: Path) -> None:
    """Before: concept_dimension, in the key of every fact (beside patient, start and instance), was
    synthesized: new codes, every fact's concept drawn among them (i2b2: 18 concepts with 4,273 facts
    each, text facts under lab codes). Named like a code list and in the key of a fact row that is no
    link, it is a vocabulary: copied, and each fact keeps a source concept."""
    source = f"sqlite:///{tmp_path / 'star.db'}"
    rows = _star_rows()
    _load(source, STAR, rows)
    out = _run("inspect", source)
    assert "reference tables  concept_dimension" in out, out
    target = f"sqlite:///{tmp_path / 'out.db'}"
    _run("synthesize", source, target, "--seed", "1", "--no-report", "-q")
    codes = {c[1] for c in rows["concept_dimension"]}
    drawn = [v for (v,) in fetch(target, "SELECT concept_cd FROM observation_fact")]
    assert set(drawn) <= codes and len(set(drawn)) >= 25
    assert {v for (v,) in fetch(target, "SELECT concept_cd FROM concept_dimension")} == codes
