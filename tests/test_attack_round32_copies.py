"""Attack round 32: the guard against copied records and the evaluation's count of copies.

F6) An audit log (emp_no, action, at, detail JSON) filled by a trigger: one action, two
    timestamps, and a JSON detail {"s": salary} whose number the model draws from the source's
    own dense range of salaries. The engine's record guard left the JSON column out of the record
    (numbers, dates, categories and booleans only), so (action, at) was never identifying and
    nothing was checked; the evaluation counts every column but the keys, and found 15,789 of
    42,506 synthetic rows equal to a record unique in the source. Both now take the record from
    one function (model.values.record_columns), JSON documents compare by their value (key
    order, spacing, 1 and 1.0 alike: PostgreSQL gives dicts, MariaDB and SQLite text), and a row
    equal to a unique record is moved off it (its JSON drawn again).
F9) Evaluated on a sample (5,000 root rows by default), a record seen once in the sample counted
    as a copy although it was common in the source: 13 "copies" of (fare_conditions, amount) in
    an airline whose 270,000 tickets hold no unique such record. A candidate copy now counts only
    if its record is unique among every source row.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

import relsynth
from relsynth.evaluation import privacy
from relsynth.model.generate import avoid_records, record_copies
from relsynth.model.sample import SampleReport
from tests.conftest import fetch, run_sql

N_EMP, N_LOG = 300, 2000

# One action in three, two timestamps, and a document whose number lies in a dense range of
# integers: a row drawn from the model lands on a source record unique by its document often.
_LOG_ROWS = [
    (
        i,
        1 + (i * 7919) % N_EMP,
        ("raise", "move", "hire")[i % 3],
        "2024-05-01 10:00:00" if (i * 31) % 5 < 3 else "2024-05-01 10:00:01",
        40000 + (i * 104729) % 6000,
        ("a", "b")[(i * 13) % 2],
    )
    for i in range(1, N_LOG + 1)
]


def _script(json_type: str, text_json: bool, doc: Callable[[int, str], str]) -> str:
    emp = ", ".join(f"({e}, 'e{e}')" for e in range(1, N_EMP + 1))
    rows = ", ".join(
        f"({i}, {e}, '{a}', '{at}', {doc(s, k) if not text_json else repr(doc(s, k))})"
        for i, e, a, at, s, k in _LOG_ROWS
    )
    return f"""
    CREATE TABLE emp (emp_no INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL);
    CREATE TABLE audit_log (id INTEGER PRIMARY KEY, emp_no INTEGER REFERENCES emp(emp_no),
      action VARCHAR(10) NOT NULL, at TIMESTAMP NOT NULL, detail {json_type});
    INSERT INTO emp VALUES {emp};
    INSERT INTO audit_log VALUES {rows};
    """


def _pg_doc(s: int, k: str) -> str:
    return f"jsonb_build_object('s', {s}, 'k', '{k}')"


def _maria_doc(s: int, k: str) -> str:
    return f"JSON_OBJECT('s', {s}, 'k', '{k}')"


def _text_doc(s: int, k: str) -> str:
    return json.dumps({"s": s, "k": k})


SOURCES = {
    "pg": ("JSONB", False, _pg_doc),
    "mysql": ("JSON", False, _maria_doc),
    "sqlite": ("JSON", True, _text_doc),
}


@pytest.mark.parametrize(
    "db",
    [
        pytest.param("pg", marks=pytest.mark.postgresql),
        pytest.param("mysql", marks=pytest.mark.mysql),
        pytest.param("sqlite"),
    ],
)
def test_a_json_document_is_part_of_the_record_the_guard_moves_rows_off(
    request: pytest.FixtureRequest, db: str
) -> None:
    source, target = request.getfixturevalue(f"{db}_db")(), request.getfixturevalue(f"{db}_db")()
    json_type, text_json, doc = SOURCES[db]
    run_sql(source, _script(json_type, text_json, doc))
    result = relsynth.synthesize(source, target, seed=3)
    evaluation = relsynth.evaluate(source, target, sample_rows=None)
    audit = evaluation["tables"]["audit_log"]["privacy"]
    assert audit["assessed"] and audit["record_columns"] == 3
    assert audit["copies"] == 0, audit
    # The guard moved rows that equalled a source record by chance (a hundred or more of 2,000):
    # before, it never looked at the documents, and the evaluation counted them as copies.
    assert result["report"].moved_records.get("audit_log", 0) > 50
    # The same by SQL-free reading of both sides: no synthetic row equals a record unique in
    # the source, its document compared by value.
    src = _records(source)
    syn = _records(target)
    once = src.value_counts()
    assert not syn.isin(set(once[once == 1].index)).any()


def canonical_json(values: pd.Series) -> pd.Series:
    """Each document as its value spelled one way (keys sorted, no blanks, 1.0 as 1)."""

    def spell(v: object) -> str:
        doc = json.loads(v) if isinstance(v, str) else v
        assert isinstance(doc, dict)
        whole = {k: int(x) if isinstance(x, float) and x.is_integer() else x for k, x in doc.items()}
        return json.dumps(whole, sort_keys=True)

    return values.map(spell)


def _records(url: str) -> pd.Series:
    rows = fetch(url, "SELECT action, at, detail FROM audit_log")
    frame = pd.DataFrame(rows, columns=["action", "at", "detail"])
    frame["at"] = pd.to_datetime(frame["at"]).dt.strftime("%Y-%m-%d %H:%M:%S")
    detail = canonical_json(frame["detail"])
    return frame["action"].astype(str) + "|" + frame["at"] + "|" + detail.astype(str)


@pytest.mark.parametrize(
    "db",
    [
        pytest.param("pg", marks=pytest.mark.postgresql),
        pytest.param("mysql", marks=pytest.mark.mysql),
        pytest.param("sqlite"),
    ],
)
def test_a_planted_copy_is_counted_and_moved_whatever_its_json_spelling(
    request: pytest.FixtureRequest, db: str
) -> None:
    source = request.getfixturevalue(f"{db}_db")()
    json_type, text_json, doc = SOURCES[db]
    run_sql(source, _script(json_type, text_json, doc))
    model = relsynth.fit(source, seed=3)  # fitted in this process: guarded by the source's rows
    tm, table = model.tables["audit_log"], model.schema.table("audit_log")
    assert tm.record_columns == ["action", "at", "detail"]  # the evaluation's record (its keys aside)
    assert "detail" in tm.record_columns and tm.record_nudge == "detail"
    real = pd.DataFrame(fetch(source, "SELECT * FROM audit_log"), columns=list(table.column_names))
    records = real[["action", "at"]].astype(str).agg("|".join, axis=1) + "|" + canonical_json(real["detail"])
    unique = real[~records.duplicated(keep=False).to_numpy()].head(5)
    assert len(unique) == 5
    # The same records, their documents spelled otherwise: keys reordered, blanks, 1 as 1.0,
    # a dict where the source gave text and text where it gave a dict.
    planted = unique.copy()
    respelled = []
    for i, value in enumerate(planted["detail"]):
        d = value if isinstance(value, dict) else json.loads(value)
        d = {"k": d["k"], "s": float(d["s"]) if i % 2 else d["s"]}
        respelled.append(json.dumps(d, indent=1) if isinstance(value, dict) else d)
    planted["detail"] = pd.Series(respelled, index=planted.index, dtype=object)
    fresh = real.sample(200, random_state=1)
    fresh = fresh[~fresh.index.isin(unique.index)]
    fresh["detail"] = json.dumps({"s": 1, "k": "zz"})  # records of nobody
    synth = pd.concat([planted, fresh], ignore_index=True)
    columns = privacy.record_columns(table, real, synth)
    assert privacy.exact_copies(table, real, synth, columns)["copies"] == 5
    hit = record_copies(tm, table, synth)
    assert hit.sum() == 5 and hit[:5].all()
    report = SampleReport()
    assert avoid_records(tm, table, synth, np.random.default_rng(0), report)
    assert not record_copies(tm, table, synth).any()
    assert privacy.exact_copies(table, real, synth, columns)["copies"] == 0
    assert (synth["detail"].iloc[5:] == json.dumps({"s": 1, "k": "zz"})).all()  # only the copies moved


# -- F9: a sample's "unique" record that the source holds many times is nobody's ----------------
N_BOOKINGS = 400


def _air_script() -> str:
    bookings = ", ".join(f"({b}, '{('web', 'app', 'agent')[b % 3]}')" for b in range(1, N_BOOKINGS + 1))
    rows, t = [], 0
    for b in range(1, N_BOOKINGS + 1):
        # Common fares: 3 classes x 40 amounts, each pair held by about 13 tickets of the source,
        # so a sample of 40 bookings sees many of them once.
        for k in range(4):
            t += 1
            fare = ("Economy", "Comfort", "Business")[(b * 7 + k) % 3]
            rows.append(f"({t}, {b}, '{fare}', {100 + ((b * 31 + k * 17) % 40)}.00)")
        t += 1  # and one ticket per booking whose record is its own: a real copy when copied
        rows.append(f"({t}, {b}, 'First', {10000 + b}.00)")
    return f"""
    CREATE TABLE booking (book_ref INTEGER PRIMARY KEY, channel VARCHAR(5) NOT NULL);
    CREATE TABLE ticket (ticket_no INTEGER PRIMARY KEY, book_ref INTEGER NOT NULL REFERENCES booking(book_ref),
      fare_conditions VARCHAR(10) NOT NULL, amount NUMERIC(10, 2) NOT NULL);
    INSERT INTO booking VALUES {bookings};
    INSERT INTO ticket VALUES {", ".join(rows)};
    """


@pytest.mark.postgresql
def test_a_copy_counted_on_a_sample_is_unique_in_the_whole_source(request: pytest.FixtureRequest) -> None:
    source, copy = request.getfixturevalue("pg_db")(), request.getfixturevalue("pg_db")()
    run_sql(source, _air_script())
    run_sql(copy, _air_script())  # "synthetic" rows equal to the source's: every record copied
    whole = fetch(
        source,
        "SELECT count(*) FROM (SELECT 1 FROM ticket GROUP BY fare_conditions, amount HAVING count(*) = 1) u",
    )[0][0]
    assert whole == N_BOOKINGS  # only the First tickets are unique in the source
    sampled = relsynth.evaluate(source, copy, sample_rows=40)["tables"]["ticket"]["privacy"]
    # Each side reads a sample of tickets; the First tickets that both samples hold
    # are copies of records unique in the source, and the common fares that a sample happens to
    # see once are not.
    shared = _sampled_firsts(source) & _sampled_firsts(copy)
    assert shared, "the two samples share no First ticket: the test proves nothing"
    assert sampled["copies"] == len(shared), sampled
    assert sampled["matching_common_rows"] > 0  # those common fares: no longer counted as copies
    assert sampled.get("checked_in_whole_source") is True
    full = relsynth.evaluate(source, copy, sample_rows=None)["tables"]["ticket"]["privacy"]
    assert full["copies"] == N_BOOKINGS and "checked_in_whole_source" not in full


def _sampled_firsts(url: str) -> set[int]:
    """The First tickets evaluate reads from ``url`` with --sample-rows 40 (its default seed)."""
    from relsynth.graph import plan
    from relsynth.io import connect
    from relsynth.read import read_tables

    schema = relsynth.reflect(url)
    with connect(url, read_only=True) as conn:
        frames = read_tables(conn, schema, plan(schema), sample_rows=40, seed=0).frames
    ticket = frames["ticket"]
    assert len(ticket) < 2 * N_BOOKINGS  # a sample
    return {int(t) for t in ticket.loc[ticket["fare_conditions"] == "First", "ticket_no"]}
