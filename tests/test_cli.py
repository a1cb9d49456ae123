"""The command line: help everywhere, instant start, one-line errors, no secrets, inspect's outputs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from relsynth.cli import main
from relsynth.schema import Schema


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_every_command_has_help() -> None:
    for name, command in main.commands.items():
        code, out, _ = run(name, "--help")
        assert code == 0, name
        assert command.help and "Usage:" in out, name


def test_help_is_instant_no_heavy_imports() -> None:
    code = (
        "import sys; from relsynth.cli import main; "
        "heavy = [m for m in ('pandas', 'numpy', 'sqlalchemy', 'sdv', 'torch', 'rich', 'networkx') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    help_out = subprocess.run([sys.executable, "-m", "relsynth", "--help"], capture_output=True, text=True)
    assert help_out.returncode == 0 and "inspect" in help_out.stdout


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://someone:topsecret@127.0.0.1:1/x", "Cannot reach the server"),
        ("mysql://root:topsecret@127.0.0.1:1/x", "Cannot reach the server"),
        ("not a url at all", "is not a database URL"),
        ("sqlite:///definitely/not/here.db", "does not exist"),
        ("postgresql+psycopg2://u:topsecret@127.0.0.1/x", "pip install psycopg2-binary"),
        ("nosuchdialect://x/y", "no dialect 'nosuchdialect'"),
    ],
)
def test_bad_input_is_one_line_exit_1_no_password(url: str, expected: str) -> None:
    code, out, err = run("inspect", url)
    assert code == 1
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("FAILED: "), err
    assert expected in lines[0]
    assert "topsecret" not in err and "Traceback" not in err


def test_traceback_flag_shows_the_traceback() -> None:
    result = CliRunner().invoke(main, ["--traceback", "inspect", "sqlite:///nope/x.db"])
    assert result.exit_code == 1 and result.exception is not None


@pytest.mark.postgresql
def test_server_errors_one_line(pg_server: str) -> None:
    import sqlalchemy as sa

    u = sa.make_url(pg_server)
    missing = u.set(database="relsynth_no_such_db").render_as_string(hide_password=False)
    code, _, err = run("inspect", missing)
    assert code == 1 and "does not exist: create it" in err
    code, _, err = run("inspect", u.render_as_string(hide_password=False), "--schema", "no_such_schema")
    assert code == 1 and "Schema 'no_such_schema' does not exist" in err


@pytest.mark.postgresql
def test_empty_database_is_a_clear_error(pg_db) -> None:
    code, _, err = run("inspect", pg_db())
    assert code == 1 and err.startswith("FAILED: No tables in the postgresql database")


@pytest.mark.mysql
def test_wrong_password_mysql(mysql_server: str) -> None:
    import sqlalchemy as sa

    url = sa.make_url(mysql_server).set(password="wrong-pass-123").render_as_string(hide_password=False)
    code, _, err = run("inspect", url)
    assert code == 1 and "Authentication failed" in err and "wrong-pass-123" not in err


def test_inspect_text_json_dot_and_schema_file(demo_db: str, tmp_path) -> None:
    code, out, _ = run("-q", "inspect", demo_db)
    assert code == 0
    for word in (
        "admissions",
        "reference tables",
        "diagnosis_codes",
        "cycle",
        "generation order",
        "care_team",
    ):
        assert word in out
    code, out, _ = run("-q", "inspect", demo_db, "--table", "lab_results")
    assert "collected_at" in out and "(admission_id, diagnosis_seq) -> diagnoses(admission_id, seq)" in out

    code, out, _ = run("-q", "inspect", demo_db, "--format", "json")
    data = json.loads(out)
    assert data["format"] == "relsynth.schema" and {t["name"] for t in data["tables"]} >= {
        "patients",
        "wards",
    }
    path = tmp_path / "schema.json"
    code, _, _ = run("-q", "inspect", demo_db, "--format", "json", "-o", str(path))
    assert Schema.load(path) == Schema.from_dict(data)

    # A user edit: exclude a table and mark a column as personal data; the plan follows it.
    for t in data["tables"]:
        if t["name"] == "transfers":
            t["exclude"] = True
        if t["name"] == "wards":
            next(c for c in t["columns"] if c["name"] == "name")["pii"] = "free_text"
    path.write_text(json.dumps(data))
    code, out, _ = run("-q", "inspect", demo_db, "--schema-file", str(path))
    assert code == 0 and "transfers" not in out and "name=free_text" in out

    code, out, _ = run("-q", "inspect", demo_db, "--format", "dot")
    assert out.startswith("digraph relsynth {") and '"admissions" -> "diagnoses"' in out
    assert out.rstrip().endswith("}")


def test_include_exclude_globs(demo_db: str) -> None:
    code, out, _ = run("-q", "inspect", demo_db, "--include", "p*", "--format", "json")
    assert {t["name"] for t in json.loads(out)["tables"]} == {"patients", "providers", "procedures"}
    code, out, _ = run("-q", "inspect", demo_db, "--exclude", "*s", "--format", "json")
    assert {t["name"] for t in json.loads(out)["tables"]} == {"care_team"}
    code, _, err = run("-q", "inspect", demo_db, "--include", "pateints")
    assert code == 1 and "Did you mean 'patients'" in err
    code, _, err = run("-q", "inspect", demo_db, "--table", "wardz")
    assert code == 1 and "Did you mean 'wards'" in err
