"""One evaluation, one set of numbers: what synthesize prints at its end is what `relsynth evaluate`
prints for the same two databases, on every dialect, with table CHECKs in the source (a PostgreSQL
savepoint through a server-side cursor once crashed evaluate there). And a "copy of a unique
source record" is a whole record, never one equal value."""

from __future__ import annotations

import shlex

import pandas as pd
import pytest
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from relsynth.evaluation import privacy
from relsynth.schema import Column, Kind, SqlType, Table
from relsynth.writer import write

KINDS = ["sqlite", "postgresql", "mysql"]
SUMMARY = ("detection", "quality", "integrity", "privacy", "weakest columns", "weakest links")


@pytest.fixture(scope="module")
def demo(demo_db: str):
    model = relsynth.fit(demo_db, seed=3)
    return model, relsynth.sample(model, scale=0.3, seed=3)


def _new(request: pytest.FixtureRequest, kind: str) -> str:
    fixture = {"sqlite": "sqlite_db", "postgresql": "pg_db", "mysql": "mysql_db"}[kind]
    return request.getfixturevalue(fixture)()


def _summary(stdout: str) -> list[str]:
    """The summary's lines, with those indented under detection and quality."""
    return [
        line
        for line in stdout.splitlines()
        if line.startswith(SUMMARY)
        or (line.startswith("  ") and ("given away by" in line or "relsynth:" in line))
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_synthesize_prints_what_evaluate_reproduces(request: pytest.FixtureRequest, demo, kind: str) -> None:
    model, tables = demo
    source = _new(request, kind)
    write(tables, model.schema, source, plan=model.plan)  # the demo's tables, their CHECKs included
    target = _new(request, kind)
    report = request.getfixturevalue("tmp_path") / "r.html"
    done = CliRunner().invoke(
        main, ["-q", "synthesize", source, target, "--seed", "4", "--report", str(report)]
    )
    assert done.exit_code == 0, done.output
    printed = _summary(done.stdout)
    heads = [line.split(" ")[0] for line in printed if not line.startswith("  ")]
    assert heads[:4] == ["detection:", "quality:", "integrity:", "privacy:"]
    again = [line for line in done.stdout.splitlines() if line.startswith("the same numbers: ")]
    assert len(again) == 1
    words = shlex.split(again[0].removeprefix("the same numbers: "))
    assert words[:2] == ["relsynth", "evaluate"]
    evaluated = CliRunner().invoke(main, ["-q", *words[1:]])
    assert evaluated.exit_code == 0, evaluated.output
    assert _summary(evaluated.stdout) == printed
    assert "integrity: 0 problems" in evaluated.stdout


def _table(*names: str) -> Table:
    cols = [Column("id", SqlType("integer"), nullable=False, kind=Kind.ID)]
    cols += [Column(n, SqlType("varchar"), kind=Kind.CATEGORICAL) for n in names]
    return Table("t", tuple(cols), primary_key=("id",))


def test_one_equal_value_is_not_a_copy_of_a_record() -> None:
    real = pd.DataFrame({"id": range(6), "name": list("abcdef")})
    synth = pd.DataFrame({"id": range(10, 16), "name": list("abcdef")})
    out = privacy.exact_copies(
        _table("name"), real, synth, privacy.record_columns(_table("name"), real, synth)
    )
    assert out["copies"] == 0 and out["assessed"] is False


def test_a_copy_is_equal_on_the_whole_record() -> None:
    table = _table("city", "email")
    real = pd.DataFrame({"id": range(4), "city": list("wxyz"), "email": ["a@x", "b@x", "c@x", "d@x"]})
    partial = pd.DataFrame({"id": range(4), "city": list("wxyz"), "email": ["p@q", "r@q", "s@q", "t@q"]})
    whole = pd.DataFrame({"id": [9, 8], "city": ["w", "x"], "email": ["a@x", "b@x"]})
    cols = privacy.record_columns(table, real, partial)
    assert cols == ["city", "email"]  # keys aside, personal data included
    assert privacy.exact_copies(table, real, partial, cols)["copies"] == 0
    assert privacy.exact_copies(table, real, whole, cols) == {
        "copies": 2,
        "matching_common_rows": 0,
        "unique_source_rows": 4,
        "record_columns": 2,
        "assessed": True,
        "near_copies": 0,  # city and e-mail: no core of two columns to be near
        "near_copy_columns": {},
    }


@pytest.mark.parametrize("kind", KINDS)
def test_evaluation_reads_json_columns(request: pytest.FixtureRequest, kind: str) -> None:
    """A JSON column comes back from a driver as dicts, which are not hashable: the evaluation
    (copies of records included) must still run, after a synthesize that committed its target."""
    from tests.conftest import run_sql

    source = _new(request, kind)
    json_type = {"postgresql": "JSONB", "mysql": "JSON", "sqlite": "JSON"}[kind]
    rows = ",".join(f'({i}, \'{{"k": {i % 7}, "tag": "t{i % 3}"}}\', {i % 5})' for i in range(1, 61))
    run_sql(
        source, f"CREATE TABLE doc (id INTEGER PRIMARY KEY, body {json_type} NOT NULL, n INTEGER NOT NULL);"
    )
    run_sql(source, f"INSERT INTO doc VALUES {rows};")
    target = _new(request, kind)
    done = CliRunner().invoke(main, ["-q", "synthesize", source, target, "--no-report"])
    assert done.exit_code == 0, done.output
    evaluated = CliRunner().invoke(main, ["-q", "evaluate", source, target])
    assert evaluated.exit_code == 0, evaluated.output
    assert "integrity: 0 problems" in evaluated.stdout


def test_labels_spell_json_documents() -> None:
    from relsynth.model.values import labels

    out = labels(pd.Series([{"b": 1, "a": [1, 2]}, None, {"a": [1, 2], "b": 1}], dtype=object))
    assert out[0] == out[2] and out[1] is None
