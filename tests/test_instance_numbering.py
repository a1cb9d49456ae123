"""An instance number among otherwise equal keys (i2b2's observation_fact: a 7-column primary key
whose instance_num is 1 unless a fact repeats with every other key column equal).

What is attacked: the column counted over the whole table as a sequence (1..10,112 on a source
whose facts are instance 1, 2 or 3), and the composite key repeated where two facts differ only in
a code's case (one key on MariaDB, whose collation ignores case), on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import numpy as np
import pytest

import relsynth
from tests.conftest import EVERY_DATABASE, fetch, run_sql

SCHEMA = """
CREATE TABLE patient_dimension (patient_num INTEGER PRIMARY KEY, sex_cd VARCHAR(10) NOT NULL);
CREATE TABLE visit_dimension (encounter_num INTEGER PRIMARY KEY,
    patient_num INTEGER NOT NULL REFERENCES patient_dimension(patient_num), start_date DATE NOT NULL);
CREATE TABLE observation_fact (
    encounter_num INTEGER NOT NULL REFERENCES visit_dimension(encounter_num),
    patient_num INTEGER NOT NULL REFERENCES patient_dimension(patient_num),
    concept_cd VARCHAR(50) NOT NULL, provider_id VARCHAR(50) NOT NULL, start_date DATE NOT NULL,
    modifier_cd VARCHAR(100) NOT NULL, instance_num INTEGER NOT NULL, nval_num NUMERIC(18,5),
    PRIMARY KEY (patient_num, concept_cd, modifier_cd, start_date, encounter_num, instance_num, provider_id));
"""


def _rows() -> str:
    """400 patients, 1-3 visits of 4 facts each, a fact repeated as instances 2 and 3 at times; the
    codes come in two cases (glu and GLU are different codes here, the same to MariaDB)."""
    rng = np.random.default_rng(5)
    concepts = [f"lab{i}" for i in range(12)] + [f"LAB{i}" for i in range(12)]
    out, visit = [], 0
    for p in range(1, 401):
        out.append(f"INSERT INTO patient_dimension VALUES ({p}, '{'MF'[p % 2]}');")
        for _ in range(int(rng.integers(1, 4))):
            visit += 1
            day = f"2021-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d}"
            out.append(f"INSERT INTO visit_dimension VALUES ({visit}, {p}, '{day}');")
            for code in rng.choice(concepts, 4, replace=False):
                for instance in range(1, int(rng.choice([1, 1, 1, 2, 3])) + 1):
                    out.append(
                        f"INSERT INTO observation_fact VALUES ({visit}, {p}, '{code}', '@', '{day}', '@', "
                        f"{instance}, {rng.normal(100, 15):.2f});"
                    )
    return "\n".join(out)


@pytest.fixture(scope="module")
def i2b2(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('i2b2') / 'i2b2.sqlite'}"
    run_sql(url, SCHEMA + _rows())
    return url


def test_the_instance_is_numbered_among_facts_of_equal_keys(i2b2: str) -> None:
    model = relsynth.fit(i2b2, seed=1)
    (nb,) = model.tables["observation_fact"].numbering
    assert nb.column == "instance_num" and nb.start == 1
    assert set(nb.within) == {
        "patient_num",
        "concept_cd",
        "modifier_cd",
        "start_date",
        "encounter_num",
        "provider_id",
    }
    assert any(
        "instance_num numbers rows 1..n within rows of equal" in line for line in model.relations_summary()
    )


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_instances_start_at_one_and_the_key_holds_on_every_target(i2b2: str, request, db: str) -> None:
    target = request.getfixturevalue(f"{db}_db")()
    relsynth.synthesize(i2b2, target, seed=2)
    source = dict(fetch(i2b2, "SELECT instance_num, COUNT(*) FROM observation_fact GROUP BY instance_num"))
    got = dict(fetch(target, "SELECT instance_num, COUNT(*) FROM observation_fact GROUP BY instance_num"))
    total = sum(got.values())
    assert total >= 0.9 * sum(source.values())
    # Counted over the table, every value was taken once (1..n): a number per fact, not an instance.
    assert got[1] / total > 0.6 and max(got) <= 6
    first = fetch(
        target,
        "SELECT COUNT(*) FROM observation_fact o WHERE instance_num > 1 AND NOT EXISTS (SELECT 1 "
        "FROM observation_fact f WHERE f.patient_num = o.patient_num AND LOWER(f.concept_cd) = LOWER(o.concept_cd) "
        "AND f.modifier_cd = o.modifier_cd AND f.start_date = o.start_date "
        "AND f.encounter_num = o.encounter_num AND f.provider_id = o.provider_id AND f.instance_num = 1)",
    )
    assert first == [(0,)]  # an instance 2 always beside its instance 1 (lab1 and LAB1: one key to MariaDB)
