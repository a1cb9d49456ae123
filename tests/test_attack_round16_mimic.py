"""Attack round 16, a MIMIC-III-like schema (its event tables declare no keys; relsynth infers them).

A) One discharge note per admission, both tables numbered 1, 2, ... in the same order: the note's
   row_id equalled its admission's row_id, and that was learned as a key the note must match.
   Primary keys are numbered afresh, so almost no note found its admission: 90% of the notes'
   hadm_id came out NULL where the source has none. A table's own integer key is no such match.
B) MIMIC's dictionaries are named d_items, d_labitems, d_icd_diagnoses: d_items was synthesized as
   data (its labels and units random letters), so a chart event's item was no category and every
   item's valuenum had one shared distribution (heart rates of 18 and respiratory rates of 80).
   A table named d_... is a code list like a lookup or a concept table.
"""

from __future__ import annotations

import numpy as np
import pytest

import relsynth
from tests.conftest import fetch, run_sql

ITEMS = [
    (211, "Heart Rate", "bpm", 80, 15),
    (618, "Respiratory Rate", "insp/min", 18, 4),
    (646, "SpO2", "percent", 97, 2),
]


def _mimic() -> str:
    rng = np.random.default_rng(3)
    out = [
        "CREATE TABLE patients (row_id int PRIMARY KEY, subject_id int NOT NULL UNIQUE, gender varchar(5) NOT NULL);",
        "CREATE TABLE admissions (row_id int PRIMARY KEY, subject_id int NOT NULL REFERENCES patients (subject_id),"
        " hadm_id int NOT NULL UNIQUE, admittime timestamp NOT NULL, insurance varchar(20) NOT NULL);",
        "CREATE TABLE d_items (row_id int PRIMARY KEY, itemid int NOT NULL UNIQUE, label varchar(200),"
        " abbreviation varchar(100), dbsource varchar(20), linksto varchar(50), unitname varchar(100));",
        "CREATE TABLE noteevents (row_id int PRIMARY KEY, subject_id int NOT NULL, hadm_id int, category varchar(50));",
        "CREATE TABLE chartevents (row_id int NOT NULL, subject_id int NOT NULL, hadm_id int, itemid int,"
        " valuenum double precision);",
    ]
    out += [
        f"INSERT INTO d_items VALUES ({i + 1}, {it}, '{label}', '{label[:4]}', 'carevue', 'chartevents', '{unit}');"
        for i, (it, label, unit, _, _) in enumerate(ITEMS)
    ]
    hadm, chart = 100000, 0
    for p in range(1, 151):
        sid = 10000 + 3 * p
        out.append(f"INSERT INTO patients VALUES ({p}, {sid}, '{'MF'[p % 2]}');")
        for _ in range(int(rng.choice([1, 1, 2, 3]))):
            hadm += 1
            row = hadm - 100000
            day = int(rng.integers(0, 3000))
            out.append(
                f"INSERT INTO admissions VALUES ({row}, {sid}, {hadm}, timestamp '2100-01-01' + interval '{day} days',"
                f" '{rng.choice(['Medicare', 'Private', 'Medicaid'])}');"
            )
            out.append(f"INSERT INTO noteevents VALUES ({row}, {sid}, {hadm}, 'Discharge summary');")
            for _ in range(int(rng.integers(3, 12))):
                chart += 1
                it, _, _, mean, sd = ITEMS[int(rng.integers(0, len(ITEMS)))]
                value = round(float(rng.normal(mean, sd)), 1)
                out.append(f"INSERT INTO chartevents VALUES ({chart}, {sid}, {hadm}, {it}, {value});")
    return "\n".join(out)


@pytest.mark.postgresql
def test_notes_keep_their_admission_and_items_their_values(request: pytest.FixtureRequest) -> None:
    source = request.getfixturevalue("pg_db")()
    target = request.getfixturevalue("pg_db")()
    run_sql(source, _mimic())
    model = relsynth.fit(source, seed=2)
    assert model.plan["d_items"].role == "reference"
    matched = [c for pairs in model.tables["noteevents"].key_matches.values() for c, _ in pairs]
    assert "row_id" not in matched
    relsynth.synthesize(source, target, seed=2)
    notes = fetch(target, "SELECT COUNT(*), COUNT(hadm_id) FROM noteevents")[0]
    assert notes[0] > 0 and notes[1] == notes[0], notes
    assert fetch(target, "SELECT label, unitname FROM d_items ORDER BY 1") == fetch(
        source, "SELECT label, unitname FROM d_items ORDER BY 1"
    )
    means = dict(
        fetch(
            target,
            "SELECT d.label, AVG(c.valuenum) FROM chartevents c JOIN d_items d USING (itemid) GROUP BY d.label",
        )
    )
    for _, label, _, mean, sd in ITEMS:
        assert abs(float(means[label]) - mean) < sd, (label, means[label])


def _icu() -> str:
    """Every patient has two or three admissions, one of them with an ICU stay; chart events are
    recorded in ICU stays only, and name the stay, its admission and the patient (no keys
    declared on them, as in MIMIC)."""
    rng = np.random.default_rng(5)
    out = [
        "CREATE TABLE patients (row_id int PRIMARY KEY, subject_id int NOT NULL UNIQUE);",
        "CREATE TABLE admissions (row_id int PRIMARY KEY, subject_id int NOT NULL REFERENCES patients (subject_id),"
        " hadm_id int NOT NULL UNIQUE, insurance varchar(20) NOT NULL);",
        "CREATE TABLE icustays (row_id int PRIMARY KEY, subject_id int NOT NULL REFERENCES patients (subject_id),"
        " hadm_id int NOT NULL REFERENCES admissions (hadm_id), icustay_id int NOT NULL UNIQUE, unit varchar(10));",
        "CREATE TABLE chartevents (row_id int NOT NULL, subject_id int NOT NULL, hadm_id int, icustay_id int,"
        " valuenum double precision);",
    ]
    hadm, icu, chart = 100000, 200000, 0
    for p in range(1, 201):
        sid = 10000 + 3 * p
        out.append(f"INSERT INTO patients VALUES ({p}, {sid});")
        stays = int(rng.integers(2, 4))
        with_icu = int(rng.integers(0, stays))
        for a in range(stays):
            hadm += 1
            out.append(f"INSERT INTO admissions VALUES ({hadm - 100000}, {sid}, {hadm}, 'Medicare');")
            if a != with_icu:
                continue
            icu += 1
            out.append(f"INSERT INTO icustays VALUES ({icu - 200000}, {sid}, {hadm}, {icu}, 'MICU');")
            for _ in range(int(rng.integers(3, 10))):
                chart += 1
                out.append(
                    f"INSERT INTO chartevents VALUES ({chart}, {sid}, {hadm}, {icu}, {round(float(rng.normal(80, 15)), 1)});"
                )
    return "\n".join(out)


@pytest.mark.postgresql
def test_an_event_names_an_admission_that_has_its_icu_stay(request: pytest.FixtureRequest) -> None:
    """C) A chart event drew its admission among the patient's, then an ICU stay of that admission:
    one without a stay left the event's icustay_id NULL (the source has none)."""
    source = request.getfixturevalue("pg_db")()
    target = request.getfixturevalue("pg_db")()
    run_sql(source, _icu())
    relsynth.synthesize(source, target, seed=2)
    rows, named = fetch(target, "SELECT COUNT(*), COUNT(icustay_id) FROM chartevents")[0]
    assert rows > 0 and named == rows, (rows, named)
    assert fetch(
        target,
        "SELECT COUNT(*) FROM chartevents c JOIN icustays i USING (icustay_id) WHERE i.hadm_id <> c.hadm_id",
    ) == [(0,)]


@pytest.mark.postgresql
def test_with_declared_nullable_keys_the_admission_drawn_has_an_icu_stay_where_the_patient_has_one(
    request: pytest.FixtureRequest,
) -> None:
    """D) The same with the keys declared (nullable, as MIMIC's DDL has them): the event stays under
    the patient, and its admission is drawn among the patient's admissions that have an ICU stay
    where there is one (relsynth.model.assign._with_later_parents): an event whose patient has a
    stay names one."""
    source = request.getfixturevalue("pg_db")()
    target = request.getfixturevalue("pg_db")()
    run_sql(
        source,
        _icu()
        + "\nALTER TABLE chartevents ADD FOREIGN KEY (subject_id) REFERENCES patients (subject_id);"
        + "\nALTER TABLE chartevents ADD FOREIGN KEY (hadm_id) REFERENCES admissions (hadm_id);"
        + "\nALTER TABLE chartevents ADD FOREIGN KEY (icustay_id) REFERENCES icustays (icustay_id);",
    )
    model = relsynth.fit(source, seed=2)
    assert model.plan["chartevents"].context.ref_table == "patients"  # type: ignore[union-attr]
    relsynth.synthesize(source, target, seed=2)
    unnamed = fetch(
        target,
        "SELECT COUNT(*) FROM chartevents c WHERE c.icustay_id IS NULL "
        "AND EXISTS (SELECT 1 FROM icustays i WHERE i.subject_id = c.subject_id)",
    )
    assert unnamed == [(0,)]
