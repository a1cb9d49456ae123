"""Attack round 14 (a fresh-context attacker, README only): a key into a reference table is a
category of the row, and a code of it held by one person is that person's.

On an OMOP-like source a diagnosis held by one patient (condition_concept_id into concept) and the
location of one person (person.location_id into location) were kept as category levels: in the
model file, with their share, and in the output at any scale, despite --rare-k 5.
"""

from __future__ import annotations

import zipfile

import pytest

import relsynth
from relsynth.model import store
from tests.conftest import EVERY_DATABASE, fetch, run_sql

SCHEMA = """
CREATE TABLE concept (concept_id INTEGER PRIMARY KEY, concept_name VARCHAR(40) NOT NULL, vocabulary_id VARCHAR(20) NOT NULL);
CREATE TABLE person (person_id INTEGER PRIMARY KEY, year_of_birth INTEGER NOT NULL);
CREATE TABLE condition_occurrence (condition_occurrence_id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES person(person_id),
    condition_concept_id INTEGER NOT NULL REFERENCES concept(concept_id), severity INTEGER NOT NULL);
"""
RARE = 4999001


def _rows(all_rare: bool) -> str:
    concepts = [(100 + i, f"condition {i}", "SNOMED") for i in range(12)] + [(RARE, "kuru", "SNOMED")]
    out = [f"INSERT INTO concept VALUES ({c}, '{n}', '{v}');" for c, n, v in concepts]
    out += [f"INSERT INTO person VALUES ({p}, {1930 + p % 60});" for p in range(1, 301)]
    k = 0
    for p in range(1, 301):
        for j in range(1 + p % 3):
            k += 1
            code = 100 + (p % 12 if not all_rare else (p + j) % 12) if p != 7 else RARE
            out.append(f"INSERT INTO condition_occurrence VALUES ({k}, {p}, {code}, {1 + (p * j) % 4});")
    if all_rare:  # every code on 4 people at most: none common; 40 codes nobody holds
        out = [o for o in out if not o.startswith("INSERT INTO condition_occurrence")]
        out += [f"INSERT INTO concept VALUES ({c}, 'unheld {c}', 'SNOMED');" for c in range(500, 540)]
        for p in range(1, 301):
            code = RARE if p == 7 else 100 + p % 12 if p <= 48 else RARE - 1 - p
            out.append(f"INSERT INTO concept VALUES ({code}, 'c{p}', 'SNOMED');" if p > 48 and p != 7 else "")
            out.append(f"INSERT INTO condition_occurrence VALUES ({p}, {p}, {code}, {1 + p % 4});")
    return "\n".join(o for o in out if o)


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_code_of_a_reference_table_one_person_holds_is_not_kept(request, db: str, tmp_path) -> None:
    source = request.getfixturevalue(f"{db}_db")()
    target = request.getfixturevalue(f"{db}_db")()
    run_sql(source, SCHEMA + _rows(all_rare=False))
    model = relsynth.fit(source, seed=1)
    assert model.plan["concept"].role == "reference"
    store.save(model, tmp_path / "m.rsm")
    assert str(RARE) not in zipfile.ZipFile(tmp_path / "m.rsm").read("model.json").decode()
    out = relsynth.sample(model, seed=1, scale=20)["condition_occurrence"]
    assert (out["condition_concept_id"].astype(int) == RARE).sum() == 0  # 20+ rows before
    assert out["condition_concept_id"].nunique() == 12
    relsynth.synthesize(source, target, seed=1)
    assert (
        fetch(target, f"SELECT COUNT(*) FROM condition_occurrence WHERE condition_concept_id = {RARE}")[0][0]
        == 0
    )


def test_a_reference_key_with_no_common_code_takes_any_code_of_the_reference(sqlite_db) -> None:
    """Every code held by fewer than 5 people: the column takes codes of the reference table that
    no source row holds, at random (no text can stand for a key), and the output is still
    complete and valid."""
    source, target = sqlite_db(), sqlite_db()
    run_sql(source, SCHEMA + _rows(all_rare=True))
    result = relsynth.synthesize(source, target, seed=2)
    assert result["write"].verification.problems == 0
    held = {r[0] for r in fetch(source, "SELECT condition_concept_id FROM condition_occurrence")}
    written = fetch(target, "SELECT condition_concept_id, COUNT(*) FROM condition_occurrence GROUP BY 1")
    assert sum(n for _, n in written) == 300
    assert max(n for _, n in written) < 30  # no source share kept: spread over the reference's codes
    assert {c for c, _ in written} <= {r[0] for r in fetch(target, "SELECT concept_id FROM concept")}
    assert not {c for c, _ in written} & held
