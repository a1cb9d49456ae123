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
