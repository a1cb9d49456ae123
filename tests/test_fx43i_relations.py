"""Relations relsynth prints as exact hold in its output, on an i2b2-like star schema (attack
round 43a): a fact's value type says whether it has a number (valtype_cd -> whether nval_num is
NULL), though the type follows the units, drawn given the concept, and the facts take their
location from their visit (so relations are derived a second time after the parent's values
arrive)."""

from __future__ import annotations

import random

import pytest

import relsynth
from tests.conftest import EVERY_DATABASE, fetch, run_sql

LABS = [
    ("LOINC:2345-7", "mg/dL", 100, 20),
    ("LOINC:718-7", "g/dL", 14, 1.5),
    ("LOINC:2951-2", "mmol/L", 140, 3),
]
TEXT_LABS = [("LOINC:5778-6", ["Yellow", "Straw", "Amber"]), ("LOINC:5767-9", ["Clear", "Cloudy", "Turbid"])]
MEDS = ["RXNORM:197361", "RXNORM:310965", "RXNORM:314076"]


def _i2b2(visits: int = 300) -> str:
    """Visits and their facts: labs (a number and its units), text labs (a word, no units), and
    medications as pairs of a dose (a number in mg) and a route ('PO'/'IV', no number)."""
    rnd = random.Random(43)
    sql = [
        "CREATE TABLE visit (visit_id INTEGER PRIMARY KEY, inout_cd VARCHAR(2) NOT NULL, "
        "location_cd VARCHAR(20) NOT NULL, length_of_stay INTEGER NOT NULL)",
        "CREATE TABLE fact (fact_id INTEGER PRIMARY KEY, visit_id INTEGER NOT NULL REFERENCES visit (visit_id), "
        "concept_cd VARCHAR(30) NOT NULL, modifier_cd VARCHAR(20) NOT NULL, valtype_cd VARCHAR(2), "
        "tval_char VARCHAR(20), nval_num DECIMAL(18,5), units_cd VARCHAR(20), location_cd VARCHAR(20))",
    ]
    vrows: list[str] = []
    frows: list[tuple] = []
    for v in range(1, visits + 1):
        loc = rnd.choice(["LOC:ER", "LOC:ICU", "LOC:WARD3", "LOC:CLINIC"])
        inout = rnd.choice(["I", "O", "O", "E"])
        los = rnd.randint(1, 12) if inout == "I" else 0
        vrows.append(f"({v}, '{inout}', '{loc}', {los})")

        for _ in range(rnd.randint(2, 6)):
            c, u, mu, sd = rnd.choice(LABS)
            frows.append((v, loc, c, "@", "N", "E", round(rnd.gauss(mu, sd), 2), u))
        for _ in range(rnd.randint(0, 2)):
            c, opts = rnd.choice(TEXT_LABS)
            frows.append((v, loc, c, "@", "T", rnd.choice(opts), None, None))
        for _ in range(rnd.randint(0, 3)):
            m = rnd.choice(MEDS)
            frows.append((v, loc, m, "MED:DOSE", "N", "E", rnd.choice([5, 10, 20, 40, 81, 500]), "mg"))
            frows.append((v, loc, m, "MED:ROUTE", "T", rnd.choice(["PO", "IV"]), None, None))
    for i in range(0, len(vrows), 500):
        sql.append("INSERT INTO visit VALUES " + ", ".join(vrows[i : i + 500]))
    q = lambda x: "NULL" if x is None else f"'{x}'"  # noqa: E731
    spelled = [
        f"({i}, {v}, {q(c)}, {q(m)}, {q(vt)}, {q(tv)}, {'NULL' if nv is None else nv}, {q(un)}, {q(loc)})"
        for i, (v, loc, c, m, vt, tv, nv, un) in enumerate(frows, start=1)
    ]
    for i in range(0, len(spelled), 500):
        sql.append("INSERT INTO fact VALUES " + ", ".join(spelled[i : i + 500]))
    return ";\n".join(sql) + ";\n"


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_value_type_that_says_whether_a_number_is_null_holds_in_the_output(db: str, request) -> None:  # type: ignore[no-untyped-def]
    source, target = (request.getfixturevalue(f"{db}_db")() for _ in range(2))
    run_sql(source, _i2b2())
    exact = relsynth.fit(source, seed=7).relations_summary()
    assert "fact: valtype_cd -> whether nval_num is NULL" in exact
    relsynth.synthesize(source, target, seed=7)
    rows = fetch(
        target,
        "SELECT valtype_cd, nval_num IS NULL, COUNT(*) FROM fact GROUP BY valtype_cd, nval_num IS NULL",
    )
    counts = {(vt, bool(null)): n for vt, null, n in rows}
    assert counts.get(("N", True), 0) == 0, counts  # was 6% of the facts: the units drawn again
    assert counts.get(("T", False), 0) == 0, counts
    assert counts.get(("N", False), 0) > 0 and counts.get(("T", True), 0) > 0


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_medications_modifier_decides_its_value_columns_with_its_concept(db: str, request) -> None:  # type: ignore[no-untyped-def]
    """A medication's concept has a dose (a number in mg) and a route ('PO'/'IV', no number): the
    units and the text are drawn given (concept_cd, modifier_cd) (or the modifier given the
    concept and the units), not the concept alone (37% of the medication rows kept the rule:
    doses as text, routes in mg)."""
    source, target = (request.getfixturevalue(f"{db}_db")() for _ in range(2))
    run_sql(source, _i2b2())
    relsynth.synthesize(source, target, seed=7)
    rows = fetch(
        target,
        "SELECT modifier_cd, valtype_cd, units_cd, tval_char, nval_num IS NULL FROM fact "
        "WHERE modifier_cd IN ('MED:DOSE', 'MED:ROUTE')",
    )
    assert len(rows) > 100
    dose = [r for r in rows if r[0] == "MED:DOSE"]
    route = [r for r in rows if r[0] == "MED:ROUTE"]
    assert dose and route
    assert all(r[1:] == ("N", "mg", "E", False) for r in dose), sorted(set(dose))
    assert all(r[1] == "T" and r[2] is None and r[3] in ("PO", "IV") and r[4] for r in route), sorted(
        set(route)
    )
