"""PostgreSQL array columns (text[], integer[], double precision[], date[]) were written as NULL, or
as one empty array when NOT NULL: now generated like the source's (lengths, empty arrays, NULL
elements, elements by type), as arrays in PostgreSQL and as JSON lists in MariaDB and SQLite, with
no rare source string in the output or in the model file."""

from __future__ import annotations

import datetime as dt
import json
import random
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import relsynth
from relsynth.model.natives import _array_value

RARE_ONCE = "ZqxPlantedRare"  # one tag of one row
RARE_FEW = "Wombatish"  # a tag of four rows: fewer than five, so no code either
TAGS = ["red", "green", "blue", "alpha", "beta", "gamma"]
ROWS = 300
FIXTURES = {"postgresql": "pg_db", "mysql": "mysql_db", "sqlite": "sqlite_db"}

SCHEMA = """
CREATE TABLE item (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  tags TEXT[] NOT NULL,
  scores INTEGER[],
  readings DOUBLE PRECISION[] NOT NULL,
  dates DATE[],
  names TEXT[],
  grid INTEGER[][] NOT NULL
)
"""
INSERT = (
    "INSERT INTO item (id, kind, tags, scores, readings, dates, names, grid)"
    " VALUES (:id, :kind, :tags, :scores, :readings, :dates, :names, :grid)"
)


def _rows() -> list[dict[str, Any]]:
    rng = random.Random(7)
    rows = []
    for i in range(ROWS):
        tags = [rng.choice(TAGS) for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 4]))]
        tags += [RARE_ONCE] if i == 11 else [RARE_FEW] if i in {20, 40, 60, 80} else []
        scores = (
            None
            if rng.random() < 0.2
            else []
            if rng.random() < 0.25
            else [None if rng.random() < 0.1 else rng.randint(0, 100) for _ in range(rng.randint(1, 5))]
        )
        day = dt.date(2020, 1, 1)
        rows.append(
            {
                "id": i + 1,
                "kind": rng.choice("abc"),
                "tags": tags,
                "scores": scores,
                "readings": [rng.gauss(20, 5) for _ in range(rng.randint(1, 3))],
                "dates": None
                if rng.random() < 0.3
                else [day + dt.timedelta(days=rng.randint(0, 900)) for _ in range(rng.randint(0, 3))],
                "names": [
                    f"{rng.choice(['Ann', 'Bob', 'Cyd', 'Dee'])}{rng.randint(1000, 9999)}" for _ in "ab"
                ],
                "grid": [[i, i + 1], [i + 2, i + 3]],
            }
        )
    return rows


def _source(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    url = request.getfixturevalue("pg_db")()
    rows = _rows()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(SCHEMA)
            conn.execute(sa.text(INSERT), rows)
    finally:
        engine.dispose()
    return url, rows


def _read(url: str) -> list[dict[str, Any]]:
    """The target's rows, arrays as lists (JSON text in MariaDB and SQLite: a JSON list there)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM item"))]
    finally:
        engine.dispose()
    for row in rows:
        for c in ("tags", "scores", "readings", "dates", "names", "grid"):
            if isinstance(row[c], str):
                row[c] = json.loads(row[c])
    return rows


def _sql_nulls(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT COUNT(*) FROM item WHERE scores IS NULL")).scalar_one())
    finally:
        engine.dispose()


def _lengths(rows: list[dict[str, Any]], column: str) -> Counter[int]:
    return Counter(len(r[column]) for r in rows if r[column] is not None)


def _close(a: Counter[int], b: Counter[int], tolerance: float) -> bool:
    na, nb = sum(a.values()), sum(b.values())
    return all(abs(a[k] / na - b[k] / nb) <= tolerance for k in set(a) | set(b))


@pytest.mark.parametrize("kind", ["postgresql", "mysql", "sqlite"])
def test_arrays_are_generated_like_the_source(request: pytest.FixtureRequest, kind: str) -> None:
    source, real = _source(request)
    target = request.getfixturevalue(FIXTURES[kind])()
    out = relsynth.synthesize(source, target, seed=3)
    assert out["write"].verification.problems == 0
    synth = _read(target)
    assert len(synth) == ROWS
    assert _sql_nulls(target) == sum(r["scores"] is None for r in synth)  # SQL NULLs, not JSON 'null'
    # No NULL where the source has none; the source's share where it has some (the JSON text
    # 'null' would be a value, not a NULL).
    for column in ("tags", "readings", "names", "grid"):
        assert all(isinstance(r[column], list) for r in synth), column
    for column in ("scores", "dates"):
        share = sum(r[column] is None for r in real) / ROWS
        assert abs(sum(r[column] is None for r in synth) / ROWS - share) < 0.08, column
        assert all(r[column] is None or isinstance(r[column], list) for r in synth), column
    # Lengths, empty arrays and NULL elements as in the source.
    for column in ("tags", "scores", "readings", "dates"):
        assert _close(_lengths(real, column), _lengths(synth, column), 0.1), column
    assert _lengths(synth, "scores")[0] > 0 and _lengths(synth, "tags")[0] > 0
    elements = [e for r in synth if r["scores"] for e in r["scores"]]
    assert 0.03 < sum(e is None for e in elements) / len(elements) < 0.2
    # Elements of the element type.
    assert all(isinstance(e, int) and 0 <= e <= 100 for e in elements if e is not None)
    readings = [e for r in synth for e in r["readings"]]
    assert all(isinstance(e, float | int) for e in readings) and 15 < sum(readings) / len(readings) < 25
    days = [
        e if isinstance(e, dt.date) else dt.date.fromisoformat(e)
        for r in synth
        if r["dates"]
        for e in r["dates"]
    ]
    assert days and all(dt.date(2019, 12, 1) <= d <= dt.date(2022, 7, 1) for d in days)
    # 2x2 as in the source (tests/test_fx45d_pg_arrays.py), in every target (a JSON list of lists)
    assert all(len(r["grid"]) == 2 and all(len(row) == 2 for row in r["grid"]) for r in synth)
    assert all(isinstance(e, int) for r in synth for row in r["grid"] for e in row)
    # Common tags kept, rare ones never, generated strings never a source string.
    tags = Counter(e for r in synth for e in r["tags"])
    assert set(TAGS) <= set(tags) and all(isinstance(t, str) for t in tags)
    assert RARE_ONCE not in tags and RARE_FEW not in tags
    source_names = {n for r in real for n in r["names"]}
    names = [n for r in synth for n in r["names"]]
    assert len(names) == 2 * ROWS and not source_names & set(names)


def test_the_model_file_holds_no_rare_array_string(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    source, real = _source(request)
    path = tmp_path / "m.rsm"
    relsynth.fit(source, seed=1).save(path)
    with zipfile.ZipFile(path) as z:
        contents = b"".join(z.read(name) for name in z.namelist())
    assert b'"red"' in contents and b'"gamma"' in contents  # the common tags are codes
    assert RARE_ONCE.encode() not in contents and RARE_FEW.encode() not in contents
    assert not any(n.encode() in contents for r in real for n in r["names"])
    # And a model loaded from the file (no source guard) samples valid arrays.
    sampled = relsynth.sample(relsynth.Model.load(path), seed=2)["item"]
    assert sampled["tags"].map(lambda v: isinstance(v, list)).all()
    assert sampled["names"].map(lambda v: v is None or all(isinstance(s, str) for s in v)).all()


def test_inspect_says_how_arrays_are_generated(request: pytest.FixtureRequest) -> None:
    source, _ = _source(request)
    reasons = {c.name: c.kind_reason for c in relsynth.reflect(source).table("item").columns}
    for column, item in (("tags", "text"), ("scores", "integer"), ("readings", "double"), ("dates", "date")):
        assert reasons[column].startswith("generated:") and f"array of {item}" in reasons[column], column


def test_arrays_psycopg_returns_as_text_are_parsed() -> None:
    """psycopg returns an enum[] as PostgreSQL's array text."""
    assert _array_value('{sad,NULL,"a \\"b\\"",""}') == ["sad", None, 'a "b"', ""]
    assert _array_value("{{1,2},{3,4}}") == [["1", "2"], ["3", "4"]]
    assert _array_value("[0:1]={x,y}") == ["x", "y"]
    assert _array_value("{}") == [] and _array_value("{a,b") is None and _array_value("x") is None
