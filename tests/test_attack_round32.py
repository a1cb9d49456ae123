"""Attack round 32 (a README-only helper's unseen databases): what was fixed in the main line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from relsynth.errors import ModelError


def _app_db(path: Path) -> bytes:
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL);"
        "INSERT INTO note VALUES (1, 'keep me'), (2, 'and me');"
    )
    con.commit()
    con.close()
    return path.read_bytes()


def test_fit_never_replaces_a_file_that_is_not_a_model(tmp_path: Path, demo_db: str) -> None:
    """`fit URL -o app.db` where app.db is another application's SQLite database wrote a model over
    it; now refused in one line before the source is read, and the file is left as it was."""
    victim = tmp_path / "app.db"
    before = _app_db(victim)
    result = CliRunner().invoke(main, ["fit", demo_db, "-o", str(victim), "--quiet"])
    assert result.exit_code != 0
    assert "is a SQLite database, not a relsynth model file" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert victim.read_bytes() == before
    other = tmp_path / "notes.txt"
    other.write_text("a list")
    result = CliRunner().invoke(main, ["fit", demo_db, "-o", str(other), "--quiet"])
    assert result.exit_code != 0 and "a file of another kind" in result.output
    assert other.read_text() == "a list"
    # The library refuses too; a model file and an empty file are replaced as before.
    model = relsynth.fit(demo_db, seed=0)
    with pytest.raises(ModelError, match="a SQLite database"):
        model.save(victim)
    assert victim.read_bytes() == before
    empty = tmp_path / "m.rsm"
    empty.touch()
    model.save(empty)
    model.save(empty)
    assert type(model).load(empty).tables.keys() == model.tables.keys()
