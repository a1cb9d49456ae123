"""evaluate flags synthetic values that fewer than rare_k PEOPLE hold in the source, counted as the
model counts them, whatever their row counts (attack round 38's leaks, which the row-counting
rare-categories check missed because each sat on many rows of one person):

1. a ward and a diagnosis of one patient on 30 visits of a flat export naming patients by an MRN;
2. a date (1999-12-31) on 40 visits of one patient (a person's sentinel);
3. a code group KOWALZ-0001..KOWALZ-0030 of one patient, whose letters begin synthetic codes.

The "synthetic" database is the source's rows copied with plain inserts, the leaked values
included (relsynth itself withholds them). A common value, and continuous numbers that equal a
source row's by chance, are not flagged.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import relsynth
from relsynth import api
from relsynth.cli import main
from tests.conftest import create_database, drop_later, new_db_name

KINDS = [
    pytest.param("sqlite"),
    pytest.param("pg", marks=pytest.mark.postgresql),
    pytest.param("mysql", marks=pytest.mark.mysql),
]


@pytest.fixture
def new_db(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Callable[[str], str]]:
    """Throwaway databases named rs_fe2_*, dropped after the test."""
    made: list[tuple[str, str]] = []
    count = iter(range(100))

    def make(kind: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{tmp_path / f'db{next(count)}.sqlite'}"
        server = request.getfixturevalue({"pg": "pg_server", "mysql": "mysql_server"}[kind])
        name = new_db_name("rs_fe2")
        made.append((server, name))
        return create_database(server, name)

    yield make
    for server, name in made:
        drop_later(server, name)


def _schema() -> sa.MetaData:
    md = sa.MetaData()
    sa.Table("person", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("age", sa.Integer))
    sa.Table(
        "visit",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("person.id"), nullable=False),
        sa.Column("ward", sa.String(20)),
        sa.Column("seen_on", sa.Date),
        sa.Column("lab_code", sa.String(20)),
        sa.Column("weight", sa.Float),
        sa.Column("channel", sa.String(10)),
        sa.CheckConstraint("channel IN ('ward', 'tele')", name="ck_channel"),
    )
    sa.Table(  # a flat export: the patient is named by the MRN on each of their visits
        "export",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("mrn", sa.String(12)),
        sa.Column("birth_date", sa.Date),
        sa.Column("ward", sa.String(20)),
        sa.Column("diagnosis", sa.String(20)),
        sa.Column("amount", sa.Float),
    )
    return md


WARDS = ["A1", "B2", "C3", "D4"]
DIAGNOSES = ["J10", "K35", "S72", "Z00"]
LABS = ["GLUC", "CHOL", "CREA"]
LEAK_PERSON, LEAK_MRN = 7, "MRN0007"


def _source_rows(rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    people = [{"id": p, "age": 20 + p % 60} for p in range(1, 81)]
    visits: list[dict[str, Any]] = []
    for p in range(1, 81):
        for j in range(3 + p % 3):
            visits.append(
                {
                    "person_id": p,
                    "ward": WARDS[(p + j) % 4],
                    "seen_on": dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(1000)),
                    "lab_code": f"{LABS[(p + j) % 3]}-{rng.randrange(10_000):04d}",
                    "weight": round(rng.uniform(40, 120), 4),
                    "channel": "ward",
                }
            )
    for p in range(1, 9):  # a ward of 8 patients: common in the source, rare in a sample of it
        visits.append(
            {
                "person_id": p,
                "ward": "E5",
                "seen_on": dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(1000)),
                "lab_code": f"{LABS[p % 3]}-{rng.randrange(10_000):04d}",
                "weight": round(rng.uniform(40, 120), 4),
                "channel": "ward",
            }
        )
    for i in range(1, 41):  # one patient's 40 visits: their ward, their sentinel date, their codes
        visits.append(
            {
                "person_id": LEAK_PERSON,
                "ward": "ZW-LEAK",
                "seen_on": dt.date(1999, 12, 31),
                "lab_code": f"KOWALZ-{min(i, 30):04d}",
                "weight": round(rng.uniform(40, 120), 4),
                "channel": "tele",  # one patient's, but the CHECK lists it: public
            }
        )
    export: list[dict[str, Any]] = []
    for m in range(1, 151):
        born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(20_000))
        for j in range(3):
            export.append(
                {
                    "mrn": f"MRN{m:04d}",
                    "birth_date": born,
                    "ward": WARDS[(m + j) % 4],
                    "diagnosis": DIAGNOSES[(m * 3 + j) % 4],
                    "amount": round(rng.uniform(10, 5000), 2),
                }
            )
    born = next(r["birth_date"] for r in export if r["mrn"] == LEAK_MRN)
    for _ in range(30):  # one patient's 30 visits of the export: their ward and diagnosis
        export.append(
            {
                "mrn": LEAK_MRN,
                "birth_date": born,
                "ward": "WQ-9",
                "diagnosis": "X99.9",
                "amount": round(rng.uniform(10, 5000), 2),
            }
        )
    for rows in (visits, export):
        for i, row in enumerate(rows, 1):
            row["id"] = i
    return {"person": people, "visit": visits, "export": export}


def _synthetic_rows(source: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The source's rows, leaked values included, with fresh MRNs and birth dates in the export and
    fresh lab codes of the source's letters (KOWALZ included: only its letters are the patient's)."""
    visits = [dict(r) for r in source["visit"]]
    for row in visits:  # codes of 5 digits, none of the source's (4 digits)
        row["lab_code"] = f"{str(row['lab_code']).split('-')[0]}-{10_000 + row['id']}"
    export = [
        {**r, "mrn": f"SYN{r['id']:05d}", "birth_date": dt.date(1930, 1, 1) + dt.timedelta(days=r["id"])}
        for r in source["export"]
    ]
    return {"person": [dict(r) for r in source["person"]], "visit": visits, "export": export}


def _build(url: str, rows: dict[str, list[dict[str, Any]]]) -> None:
    md = _schema()
    engine = sa.create_engine(url)
    try:
        md.create_all(engine)
        with engine.begin() as conn:
            for name in ("person", "visit", "export"):
                conn.execute(md.tables[name].insert(), rows[name])
    finally:
        engine.dispose()


@pytest.fixture
def pair(new_db: Callable[[str], str], request: pytest.FixtureRequest) -> tuple[str, str]:
    kind = request.node.callspec.params["kind"]
    source, target = new_db(kind), new_db(kind)
    rows = _source_rows(random.Random(5))
    _build(source, rows)
    _build(target, _synthetic_rows(rows))
    return source, target


def _flagged(result: dict[str, Any], table: str) -> dict[str, set[Any]]:
    out: dict[str, set[Any]] = {}
    for r in result["tables"][table]["privacy"]["rare_people"]:
        out.setdefault(r["column"], set()).add(str(r.get("value")))
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_values_of_one_person_on_many_rows_are_flagged(pair: tuple[str, str], kind: str) -> None:
    source, target = pair
    result = relsynth.evaluate(source, target, seed=1)
    visit, export = _flagged(result, "visit"), _flagged(result, "export")
    # One patient's ward on 40 rows, their sentinel date, their code group's letters.
    assert "ZW-LEAK" in visit.get("ward", set())
    assert "1999-12-31" in visit.get("seen_on", set())
    assert visit.get("lab_code") == {"KOWALZ"}  # GLUC, CHOL and CREA begin codes of every patient
    # The flat export: the MRN says whose the 30 rows are.
    assert "WQ-9" in export.get("ward", set())
    assert "X99.9" in export.get("diagnosis", set())
    # Common values, and continuous numbers equal to one source row's each, are not flagged.
    assert not visit.get("ward", set()) & {*WARDS, "E5"}
    assert not export.get("diagnosis", set()) & set(DIAGNOSES)
    assert "weight" not in visit and "amount" not in export
    assert "channel" not in visit  # a value the schema lists (CHECK ... IN) is no one's
    assert visit.get("seen_on", set()) == {"1999-12-31"}  # dates two people share by chance are no one's
    # The row-counting check alone let them pass (40 and 30 source rows each).
    rows_rare = {
        str(r.get("value")) for t in result["tables"].values() for r in t["privacy"]["rare_categories"]
    }
    assert not rows_rare & {"ZW-LEAK", "WQ-9", "X99.9"}
    item = next(r for r in result["tables"]["visit"]["privacy"]["rare_people"] if r.get("value") == "ZW-LEAK")
    assert (item["source_people"], item["source_rows"], item["synthetic_rows"]) == (1, 40, 40)
    assert result["scores"]["privacy"]["rare_people"]["export"] == ["diagnosis", "ward"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_sample_is_counted_again_in_the_source(
    new_db: Callable[[str], str], kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """evaluate reads a sample (25 of 80 patients): the ward of 8 patients is held by fewer than 5
    of the sample's, and the leaked ward by none of them unless patient 7 is drawn. Counted
    again in the whole source, as fit counts a sample's codes, the first is common and the
    second one patient's."""
    source, target = new_db(kind), new_db(kind)
    rows = _source_rows(random.Random(5))
    _build(source, rows)
    synthetic = _synthetic_rows(rows)
    firsts = {}
    for row in synthetic["visit"]:  # every synthetic patient's first visit on the leaked ward
        firsts.setdefault(row["person_id"], row)
    for row in firsts.values():
        row["ward"] = "ZW-LEAK"
    _build(target, synthetic)
    result = relsynth.evaluate(source, target, seed=1, sample_rows=25)
    assert result["tables"]["visit"]["rows"]["real"] < len(rows["visit"])  # a sample
    visit = result["tables"]["visit"]["privacy"]
    assert visit["rare_people_in_whole_source"]
    wards = {r["value"]: r for r in visit["rare_people"] if r["column"] == "ward"}
    assert set(wards) == {"ZW-LEAK"}, "E5 is held by 8 patients of the source"
    assert (wards["ZW-LEAK"]["source_people"], wards["ZW-LEAK"]["source_rows"]) == (1, 40)
    # Control: counted in the sample alone (the source answers nothing), E5 is flagged and the
    # leaked ward, on no sampled patient of the source, is not.
    monkeypatch.setattr(api._SourceCounts, "__call__", lambda self, *args: None)
    alone = relsynth.evaluate(source, target, seed=1, sample_rows=25)["tables"]["visit"]["privacy"]
    assert {r["value"] for r in alone["rare_people"] if r["column"] == "ward"} == {"E5"}


def test_shareable_result_and_summary_hold_counts_only(new_db: Callable[[str], str], tmp_path: Any) -> None:
    source, target = new_db("sqlite"), new_db("sqlite")
    rows = _source_rows(random.Random(5))
    _build(source, rows)
    _build(target, _synthetic_rows(rows))
    report, js = tmp_path / "r.html", tmp_path / "r.json"
    done = CliRunner().invoke(
        main, ["-q", "evaluate", source, target, "--shareable", "-o", str(report), "--json", str(js)]
    )
    assert done.exit_code == 0, done.output
    line = next(x for x in done.stdout.splitlines() if "held by fewer than 5 people" in x)
    assert "visit.ward" in line and "export.diagnosis" in line
    page, data = report.read_text(), js.read_text()
    assert "Held by fewer than 5 people" in page
    found = [r for t in json.loads(data)["tables"].values() for r in t["privacy"]["rare_people"]]
    assert len(found) == 5 and all("value" not in r and r["source_people"] == 1 for r in found)
    for leaked in ("ZW-LEAK", "WQ-9", "X99.9", "KOWALZ"):
        assert leaked not in done.stdout and leaked not in page and leaked not in data
    assert "1999-12-31" not in done.stdout  # the page's synthetic histogram may start there
    # A run's own --rare-k: 2 people are enough, so one person's values are still flagged.
    again = CliRunner().invoke(main, ["-q", "evaluate", source, target, "--rare-k", "2"])
    assert again.exit_code == 0, again.output
    assert "held by fewer than 2 people" in again.stdout
