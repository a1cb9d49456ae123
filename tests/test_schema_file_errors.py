"""A schema file that does not describe its database is refused the same way by every command, with
the problem named first:

- `inspect URL --schema-file FILE` used to accept a table the database does not have (exit 0) while
  fit and synthesize refused the file; now all three give the same one line;
- a table renamed in the file was blamed on the foreign keys still pointing to its old name ("did you
  mean 'drugz'"); now the renamed table itself is named, with the database's name as the suggestion;
- every "Did you mean" follows a full sentence (an unknown field in a foreign key lacked the stop).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from relsynth.errors import SchemaError
from relsynth.schema import Schema

PHARMACY = """
CREATE TABLE drug (code TEXT PRIMARY KEY, name TEXT NOT NULL, unit_cost REAL NOT NULL);
CREATE TABLE patient (patient_id INTEGER PRIMARY KEY, city TEXT NOT NULL, born TEXT NOT NULL);
CREATE TABLE prescription (
    rx_id INTEGER PRIMARY KEY,
    patient_id INTEGER NOT NULL REFERENCES patient (patient_id),
    drug_code TEXT NOT NULL REFERENCES drug (code),
    qty INTEGER NOT NULL
);
"""


@pytest.fixture
def pharmacy(tmp_path: Path) -> tuple[str, dict[str, Any]]:
    """A small SQLite database and its schema file, as `relsynth inspect --format json` writes it."""
    path = tmp_path / "pharmacy.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(PHARMACY)
        conn.executemany(
            "INSERT INTO drug VALUES (?, ?, ?)", [(f"D{i}", f"drug {i}", 1.5 + i) for i in range(20)]
        )
        conn.executemany(
            "INSERT INTO patient VALUES (?, ?, ?)",
            [(i, ["Oslo", "Bergen"][i % 2], "2000-01-01") for i in range(1, 61)],
        )
        conn.executemany(
            "INSERT INTO prescription VALUES (?, ?, ?, ?)",
            [(i, 1 + i % 60, f"D{i % 20}", 1 + i % 4) for i in range(1, 201)],
        )
    url = f"sqlite:///{path}"
    out = tmp_path / "schema.json"
    result = CliRunner().invoke(main, ["-q", "inspect", url, "--format", "json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return url, json.loads(out.read_text())


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in data["tables"] if t["name"] == name)


def _write(tmp_path: Path, data: dict[str, Any]) -> str:
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data))
    return str(path)


def _commands(url: str, file: str, tmp_path: Path) -> dict[str, list[str]]:
    return {
        "inspect": ["-q", "inspect", url, "--schema-file", file],
        "fit": ["-q", "fit", url, "--schema-file", file, "-o", str(tmp_path / "m.rsm")],
        "synthesize": [
            "-q",
            "synthesize",
            url,
            f"sqlite:///{tmp_path / 'out.db'}",
            "--schema-file",
            file,
            "--no-report",
        ],
    }


def _failures(url: str, file: str, tmp_path: Path) -> dict[str, str]:
    """Each command's stderr line; each must fail with exit code 1."""
    lines = {}
    for command, args in _commands(url, file, tmp_path).items():
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, (command, result.output)
        lines[command] = result.stderr.strip()
    return lines


def _renamed_table(data: dict[str, Any]) -> None:
    _table(data, "drug")["name"] = "drugz"  # prescription's FK still says 'drug'


def _extra_table(data: dict[str, Any]) -> None:
    extra = json.loads(json.dumps(_table(data, "patient")))
    extra["name"] = "patients"
    data["tables"].append(extra)


def _renamed_column(data: dict[str, Any]) -> None:
    next(c for c in _table(data, "patient")["columns"] if c["name"] == "born")["name"] = "borne"


def _renamed_key_column(data: dict[str, Any]) -> None:
    patient = _table(data, "patient")
    next(c for c in patient["columns"] if c["name"] == "patient_id")["name"] = "patient_ident"


@pytest.mark.parametrize(
    ("edit", "line"),
    [
        (
            _extra_table,
            "FAILED: Table 'patients' of the schema file is not in the database. Did you mean 'patient'? "
            'Remove it from the file or set "exclude": true',
        ),
        (
            _renamed_table,
            "FAILED: Table 'drugz' of the schema file is not in the database. Did you mean 'drug'? "
            'Remove it from the file or set "exclude": true',
        ),
        (
            _renamed_column,
            "FAILED: Column 'patient.borne' of the schema file is not in the database. Did you mean 'born'?",
        ),
        (
            _renamed_key_column,
            "FAILED: Column 'patient.patient_ident' of the schema file is not in the database. "
            "Did you mean 'patient_id'?",
        ),
    ],
    ids=["extra table", "renamed table", "renamed column", "renamed key column"],
)
def test_every_command_refuses_a_file_that_does_not_match_with_the_same_line(
    pharmacy, tmp_path: Path, edit: Callable[[dict[str, Any]], None], line: str
) -> None:
    url, data = pharmacy
    edit(data)
    lines = _failures(url, _write(tmp_path, data), tmp_path)
    assert lines == {"inspect": line, "fit": line, "synthesize": line}
    assert not (tmp_path / "m.rsm").exists() and not (tmp_path / "out.db").exists()


def test_the_library_names_a_renamed_table_first(pharmacy, tmp_path: Path) -> None:
    url, data = pharmacy
    _renamed_table(data)
    file = _write(tmp_path, data)
    for call in (
        lambda: relsynth.fit(url, schema=file),
        lambda: relsynth.synthesize(url, f"sqlite:///{tmp_path / 'lib.db'}", schema=file),
    ):
        with pytest.raises(SchemaError, match=r"^Table 'drugz' of the schema file is not in the database\."):
            call()
    # Without a database to compare with, the file's own check still names the foreign key.
    with pytest.raises(SchemaError, match=r"points to unknown table 'drug'\. Did you mean 'drugz'"):
        Schema.load(file)


def test_an_unreachable_database_leaves_the_files_own_problem(pharmacy, tmp_path: Path) -> None:
    _, data = pharmacy
    _renamed_table(data)
    file = _write(tmp_path, data)
    with pytest.raises(SchemaError, match=r"Foreign key .* points to unknown table 'drug'"):
        relsynth.fit("sqlite:////nonexistent-dir/none.db", schema=file)


def test_a_matching_file_is_accepted_and_exclude_still_works(pharmacy, tmp_path: Path) -> None:
    url, data = pharmacy
    file = _write(tmp_path, data)
    result = CliRunner().invoke(main, ["-q", "inspect", url, "--schema-file", file])
    assert result.exit_code == 0, result.output
    # --exclude with a schema file: the excluded table is neither read nor missed
    result = CliRunner().invoke(
        main,
        ["-q", "fit", url, "--schema-file", file, "--exclude", "prescription", "-o", str(tmp_path / "m.rsm")],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m.rsm").exists()


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: _table(d, "prescription")["foreign_keys"][0].update(referred_table=None),
        lambda d: _table(d, "patient").update(primary_kee=["patient_id"]),
        lambda d: _table(d, "patient")["columns"][0]["type"].update(nativ="INTEGER"),
        lambda d: _table(d, "prescription")["foreign_keys"][0].update(ref_table="drugs"),
        lambda d: _table(d, "prescription")["foreign_keys"][0].update(columns=["drug_cod"]),
        lambda d: _table(d, "patient")["columns"][0].update(kind="numerica"),
    ],
    ids=["fk field", "table field", "type field", "fk table", "fk column", "kind"],
)
def test_schema_file_messages_are_sentences(pharmacy, tmp_path: Path, edit) -> None:
    """ "Did you mean" starts a new sentence: the text before it ends with a full stop."""
    url, data = pharmacy
    edit(data)
    file = _write(tmp_path, data)
    result = CliRunner().invoke(main, ["-q", "inspect", url, "--schema-file", file])
    assert result.exit_code == 1, result.output
    line = result.stderr.strip()
    assert line.startswith("FAILED: ") and "\n" not in line
    for at in (m.start() for m in re.finditer("Did you mean", line)):
        assert line[at - 2 : at] == ". ", line
    assert "?;" not in line and ".." not in line, line


@pytest.mark.parametrize(
    ("field", "wrong", "right"), [("kind", "numerica", "numerical"), ("role", "refrence", "reference")]
)
def test_a_mistyped_kind_or_role_names_the_closest_valid_one(
    pharmacy, tmp_path: Path, field: str, wrong: str, right: str
) -> None:
    url, data = pharmacy
    if field == "kind":
        _table(data, "patient")["columns"][0]["kind"] = wrong
    else:
        _table(data, "drug")["role"] = wrong
    result = CliRunner().invoke(main, ["-q", "inspect", url, "--schema-file", _write(tmp_path, data)])
    assert result.exit_code == 1, result.output
    assert f"'{wrong}' is not a valid {field}. Did you mean '{right}'?" in result.stderr, result.stderr
