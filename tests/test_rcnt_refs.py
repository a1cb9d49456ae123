"""Attack round 41 (atk41pg): secondary keys into small dictionaries.

1. Through a secondary foreign key (results.test_code -> a 12-row test_catalog,
   prescriptions.drug_id -> drugs), the model stored each parent's number of children, one
   count per parent: a test only one patient ever had (37 results) kept its exact count in the
   model file, and came back as a synthetic test with exactly 37 results. Such a parent is a rare
   level of the children's key; its count is withheld (fit.py: _nobodys_counts).
2. A small dictionary copied as a reference table (a rule tried in this round and withdrawn: a
   12-row list of VIPs or of rare diagnoses each one patient's is copied just as well): a table of
   people is no dictionary; a key into a reference table is a category evaluate checks.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import relsynth
from relsynth.schema import Role, Schema
from tests.conftest import create_database, drop_later, new_db_name, run_sql

TESTS = [  # code, name, unit, low, high
    ("K", "Potassium", "mmol/L", 3.5, 5.1),
    ("NA", "Sodium", "mmol/L", 135, 145),
    ("GLU", "Glucose", "mg/dL", 70, 99),
    ("HGB", "Hemoglobin", "g/dL", 12, 17.5),
    ("WBC", "Leukocytes", "10^9/L", 4, 11),
    ("CREA", "Creatinine", "mg/dL", 0.6, 1.3),
    ("TSH", "Thyrotropin", "mIU/L", 0.4, 4.0),
    ("CRP", "C-reactive protein", "mg/L", 0, 5),
    ("PLT", "Platelets", "10^9/L", 150, 400),
    ("ALT", "Alanine aminotransferase", "U/L", 7, 56),
    ("PORPH", "Porphobilinogen urine", "mg/24h", 0, 2),
    ("CULT", "Culture", "n/a", None, None),
]
COMMON = [t for t in TESTS if t[0] not in {"PORPH", "CULT"}]
ONE_PERSONS = 37  # PORPH results, all of patient 1
DRUGS = [  # name, class, strength, form
    ("Metoprolol", 100, 50, "tablet"),
    ("Atenolol", 100, 25, "tablet"),
    ("Lisinopril", 11, 10, "tablet"),
    ("Atorvastatin", 12, 20, "tablet"),
    ("Amoxicillin", 20, 500, "capsule"),
    ("Azithromycin", 21, 250, "tablet"),
    ("Sertraline", 30, 50, "tablet"),
    ("Lorazepam", 31, 1, "tablet"),
    ("Oxycodone", 32, 5, "tablet"),
    ("Tramadol", 32, 50, "tablet"),
    ("Fluoxetine", 30, 20, "capsule"),
    ("Simvastatin", 12, 40, "tablet"),
    ("Nusinersen", 40, 12, "injection"),
]
CLASSES = [
    (1, None, "Cardiovascular"),
    (2, None, "Anti-infective"),
    (3, None, "CNS"),
    (4, None, "Neuromuscular"),
    (10, 1, "Beta blocker"),
    (11, 1, "ACE inhibitor"),
    (12, 1, "Statin"),
    (20, 2, "Penicillin"),
    (21, 2, "Macrolide"),
    (30, 3, "SSRI"),
    (31, 3, "Benzodiazepine"),
    (32, 3, "Opioid"),
    (40, 4, "Antisense oligonucleotide"),
    (100, 10, "Cardioselective beta blocker"),
]
ONE_PERSONS_RX = 41  # Nusinersen prescriptions, all of patient 1


def _sql(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _insert(table: str, rows: list[tuple[Any, ...]]) -> str:
    out = []
    for i in range(0, len(rows), 500):
        values = ",".join("(" + ",".join(_sql(v) for v in r) + ")" for r in rows[i : i + 500])
        out.append(f"INSERT INTO {table} VALUES {values};")
    return "\n".join(out)


def _clinic() -> str:
    """300 patients, their lab orders, ~3,600 results over 10 common tests and one rare test held
    by patient 1 alone (37 results); 13 drugs in 14 classes, ~3,000 prescriptions, one drug held
    by patient 1 alone (41 prescriptions)."""
    rng = random.Random(41)
    script = [
        "CREATE TABLE test_catalog (test_code VARCHAR(10) PRIMARY KEY, test_name VARCHAR(60) NOT NULL,"
        " unit VARCHAR(20) NOT NULL, ref_low NUMERIC(10,3), ref_high NUMERIC(10,3));",
        "CREATE TABLE patients (patient_id INTEGER PRIMARY KEY, first_name VARCHAR(40) NOT NULL,"
        " last_name VARCHAR(40) NOT NULL, birth_date DATE NOT NULL);",
        "CREATE TABLE lab_orders (order_id INTEGER PRIMARY KEY,"
        " patient_id INTEGER NOT NULL REFERENCES patients(patient_id), ordered_on DATE NOT NULL);",
        "CREATE TABLE results (result_id INTEGER PRIMARY KEY,"
        " order_id INTEGER NOT NULL REFERENCES lab_orders(order_id),"
        " test_code VARCHAR(10) NOT NULL REFERENCES test_catalog(test_code), value_num NUMERIC(10,3));",
        "CREATE TABLE drug_class (class_id INTEGER PRIMARY KEY,"
        " parent_class_id INTEGER REFERENCES drug_class(class_id), class_name VARCHAR(60) NOT NULL UNIQUE);",
        "CREATE TABLE drugs (drug_id INTEGER PRIMARY KEY, ndc VARCHAR(13) NOT NULL UNIQUE,"
        " drug_name VARCHAR(60) NOT NULL, class_id INTEGER NOT NULL REFERENCES drug_class(class_id),"
        " strength_mg NUMERIC(8,2) NOT NULL, form VARCHAR(20) NOT NULL);",
        "CREATE TABLE prescriptions (rx_id INTEGER PRIMARY KEY,"
        " patient_id INTEGER NOT NULL REFERENCES patients(patient_id),"
        " drug_id INTEGER NOT NULL REFERENCES drugs(drug_id), written_on DATE NOT NULL, quantity INTEGER NOT NULL);",
    ]
    script.append(_insert("test_catalog", TESTS))
    first = ["Anna", "John", "Maria", "Peter", "Eva", "Lukas", "Sofia", "Tomas", "Julia", "Martin"]
    last = ["Smith", "Novak", "Garcia", "Muller", "Rossi", "Kowalski", "Brown", "Silva", "Jensen"]
    patients = [
        (p, rng.choice(first), rng.choice(last), f"{rng.randint(1930, 2005)}-{rng.randint(1, 12):02d}-15")
        for p in range(1, 301)
    ]
    script.append(_insert("patients", patients))
    orders, results = [], []
    for o in range(1, 1201):
        patient = 1 if o <= ONE_PERSONS else rng.randint(2, 300)
        orders.append((o, patient, f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"))
        if o <= ONE_PERSONS:  # patient 1: one PORPH result on each of 37 orders
            results.append((len(results) + 1, o, "PORPH", round(rng.uniform(0, 2), 3)))
            continue
        for _ in range(rng.randint(1, 5)):
            code, _, _, low, high = rng.choice(COMMON)
            results.append((len(results) + 1, o, code, round(rng.uniform(low, high), 3)))
    script.append(_insert("lab_orders", orders))
    script.append(_insert("results", results))
    script.append(_insert("drug_class", CLASSES))
    drugs = [
        (i, f"0093-{i:04d}-01", name, cls, strength, form)
        for i, (name, cls, strength, form) in enumerate(DRUGS, start=1)
    ]
    script.append(_insert("drugs", drugs))
    rx = [(r, 1, 13, f"2022-{1 + r % 12:02d}-{1 + r % 28:02d}", 1) for r in range(1, ONE_PERSONS_RX + 1)]
    for r in range(ONE_PERSONS_RX + 1, 3001):
        rx.append(
            (
                r,
                rng.randint(2, 300),
                rng.randint(1, 12),
                f"2022-{rng.randint(1, 12):02d}-15",
                rng.choice([7, 30, 90]),
            )
        )
    script.append(_insert("prescriptions", rx))
    return "\n".join(script)


@pytest.fixture
def clinic(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The clinic in a fresh database of the parametrized kind (a rs_rcnt_* one on PostgreSQL)."""
    made: list[tuple[str, str]] = []
    if request.param == "pg":
        server = request.getfixturevalue("pg_server")
        name = new_db_name("rs_rcnt")
        made.append((server, name))
        url = create_database(server, name)
    else:
        url = f"sqlite:///{tmp_path / 'clinic.sqlite'}"
    try:
        run_sql(url, _clinic())
        yield url
    finally:
        for server, name in made:
            drop_later(server, name)


BOTH = [pytest.param("sqlite"), pytest.param("pg", marks=pytest.mark.postgresql)]


def _as_data(schema: Schema, *names: str) -> Schema:
    """The schema with ``names`` marked "role": "data" (as a schema file may)."""
    tables = tuple(dataclasses.replace(t, role=Role.DATA) if t.name in names else t for t in schema.tables)
    return dataclasses.replace(schema, tables=tables)


def _refcounts(model: Any, table: str) -> list[float]:
    """Every number the model holds for children through a secondary key into ``table``."""
    out: list[float] = []
    for dim in model.tables[table].dims:
        if dim.role == "refcount":
            _, arrays = dim.encoder.to_state()
            for values in arrays.values():
                out += np.ravel(values).astype(float).tolist()
    return out


@pytest.mark.parametrize("clinic", BOTH, indirect=True)
def test_a_parent_held_by_one_person_keeps_no_child_count(clinic: str, tmp_path: Path) -> None:
    """The parents synthesized as data (a schema file's "role": "data"): the one-patient test's
    37 results and the one-patient drug's 41 prescriptions are neither in the model file nor a
    synthetic parent's number of children (both were before)."""
    schema = _as_data(relsynth.reflect(clinic), "test_catalog", "drugs", "drug_class")
    model = relsynth.fit(clinic, schema=schema, seed=1)
    assert model.plan["test_catalog"].role == "data" and model.plan["drugs"].role == "data"
    tests, drugs = _refcounts(model, "test_catalog"), _refcounts(model, "drugs")
    assert len(tests) == len(TESTS) and len(drugs) == len(DRUGS)  # a count per parent, as before
    # [0, 38, 286, ...] before: patient 1's 37 results, and one of the rows the largest counts
    # give up (the cap at the K-th largest); [41, ...] for the drug
    assert ONE_PERSONS not in tests and not [c for c in tests if 0 < c < 200]
    assert ONE_PERSONS_RX not in drugs and not [c for c in drugs if 0 < c < 150]
    path = tmp_path / "m.rsm"
    model.save(path)
    again = relsynth.Model.load(path)
    assert ONE_PERSONS not in _refcounts(again, "test_catalog")
    assert ONE_PERSONS_RX not in _refcounts(again, "drugs")
    for seed in (1, 2):
        out = relsynth.sample(model, seed=seed)
        per_test = out["results"].groupby("test_code").size()
        per_drug = out["prescriptions"].groupby("drug_id").size()
        assert ONE_PERSONS not in set(per_test.tolist())  # a synthetic test had 37-38 before
        assert per_test.min() > 200 and per_drug.min() > 150
        assert len(out["results"]) == pytest.approx(3_600, rel=0.1)  # every row still has a test


@pytest.mark.parametrize("clinic", BOTH, indirect=True)
def test_a_fit_from_a_sample_counts_the_parents_people_in_the_source(clinic: str) -> None:
    """From a sample, children per parent are counted in the source (read.ref_counts), the
    one-patient test's 37 among them whether or not patient 1 is in the sample; so are the people
    holding them."""
    schema = _as_data(relsynth.reflect(clinic), "test_catalog", "drugs", "drug_class")
    model = relsynth.fit(clinic, schema=schema, seed=1, sample_rows=120)
    tests, drugs = _refcounts(model, "test_catalog"), _refcounts(model, "drugs")
    assert ONE_PERSONS not in tests and not [c for c in tests if 0 < c < 200]
    assert ONE_PERSONS_RX not in drugs and not [c for c in drugs if 0 < c < 150]


def test_fit_stays_deterministic_with_rare_parents(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'clinic.sqlite'}"
    run_sql(url, _clinic())
    schema = _as_data(relsynth.reflect(url), "test_catalog", "drugs", "drug_class")
    a = relsynth.fit(url, schema=schema, seed=3)
    b = relsynth.fit(url, schema=schema, seed=3)
    assert _refcounts(a, "test_catalog") == _refcounts(b, "test_catalog")
    assert _refcounts(a, "drugs") == _refcounts(b, "drugs")


def test_a_small_table_of_people_is_not_a_dictionary(tmp_path: Path) -> None:
    """12 rows pointed at by 400 visits, named and with birth dates (or with a birth date only):
    people, synthesized, never copied as a dictionary."""
    rng = random.Random(5)
    for cols, row in (
        ("full_name VARCHAR(60) NOT NULL, tier_name VARCHAR(10)", lambda i: (f"Anna Novak{i}", "gold")),
        ("birth_date DATE NOT NULL, tier_name VARCHAR(10)", lambda i: (f"19{50 + i}-03-04", "gold")),
    ):
        url = f"sqlite:///{tmp_path / f'vip{len(cols)}.sqlite'}"
        run_sql(
            url,
            f"CREATE TABLE vip (vip_id INTEGER PRIMARY KEY, {cols}, credit NUMERIC(8,2));"
            "CREATE TABLE visit (visit_id INTEGER PRIMARY KEY, vip_id INTEGER NOT NULL REFERENCES vip(vip_id),"
            " amount NUMERIC(8,2));\n"
            + _insert("vip", [(i, *row(i), 100.0 * i) for i in range(1, 13)])
            + "\n"
            + _insert("visit", [(v, rng.randint(1, 12), rng.randint(5, 90)) for v in range(1, 401)]),
        )
        assert relsynth.plan(relsynth.reflect(url))["vip"].role == "data"


@pytest.mark.parametrize("clinic", BOTH, indirect=True)
def test_evaluate_flags_a_one_persons_code_of_a_key_into_a_dictionary(clinic: str) -> None:
    """A key into a reference table is a category the rare rule withholds; evaluate skipped every
    key column, so an output holding one patient's test (as every output did while test_catalog
    was synthesized, its 37 results) went unflagged."""
    schema = relsynth.reflect(clinic)
    tables = tuple(
        dataclasses.replace(t, role=Role.REFERENCE) if t.name == "test_catalog" else t for t in schema.tables
    )
    model = relsynth.fit(clinic, schema=dataclasses.replace(schema, tables=tables), seed=1)
    out = relsynth.sample(model, seed=1)

    def flagged(synthetic: dict[str, Any]) -> list[dict[str, Any]]:
        result = relsynth.evaluate(clinic, synthetic, model=model, sample_rows=None)
        found = result["tables"]["results"]["privacy"]["rare_people"]
        return [f for f in found if f["column"] == "test_code"]

    assert flagged(out) == []  # an honest output: no false alarm
    leaked = {name: frame.copy() for name, frame in out.items()}
    leaked["results"].loc[leaked["results"].index[:ONE_PERSONS], "test_code"] = "PORPH"
    hits = flagged(leaked)
    assert [(h["value"], h["source_people"], h["synthetic_rows"]) for h in hits] == [
        ("PORPH", 1, ONE_PERSONS)
    ]
