"""SQLite number columns holding text ('N/A' in an INTEGER column after a CSV import): the words are
read as NULL for learning and written as NULL in about the same share, with a note that names the
column and never a value. Before, a REAL column's words came out as numbers and an INTEGER
column's as NULL, and neither was said."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from relsynth.cli import main
from tests.conftest import scalar


def _source(path: Path) -> None:
    rng = random.Random(3)
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE reading (id INTEGER PRIMARY KEY, qty INTEGER, score REAL, amount NUMERIC)")
    rows = []
    for i in range(1, 1001):
        qty: object = "N/A-QX7" if rng.random() < 0.2 else rng.randint(1, 40)
        score: object = "missing-QX7" if rng.random() < 0.2 else rng.gauss(50, 10)
        amount: object = "pending-QX7" if rng.random() < 0.2 else round(rng.uniform(1, 500), 2)
        rows.append((i, qty, score, amount))
    con.executemany("INSERT INTO reading VALUES (?, ?, ?, ?)", rows)
    con.commit()
    con.close()


def _shares(path: Path, column: str) -> dict[str, float]:
    con = sqlite3.connect(path)
    got = dict(con.execute(f"SELECT typeof({column}), count(*) FROM reading GROUP BY 1").fetchall())
    con.close()
    total = sum(got.values())
    return {k: v / total for k, v in got.items()}


def test_words_in_number_columns_are_null_in_their_share_and_said(tmp_path: Path) -> None:
    src, out = tmp_path / "src.db", tmp_path / "out.db"
    _source(src)
    result = CliRunner().invoke(
        main, ["synthesize", f"sqlite:///{src}", f"sqlite:///{out}", "--seed", "0", "--no-report"]
    )
    assert result.exit_code == 0, result.output
    for column in ("qty", "score", "amount"):
        assert f"reading.{column}: text that is no number read as NULL for learning" in result.output
        shares = _shares(out, column)
        assert 0.12 <= shares.get("null", 0.0) <= 0.28, (column, shares)  # the source: 0.2
        assert shares.get("text", 0.0) == 0.0
    assert "QX7" not in result.output  # the note names kinds, never a value
    inspected = CliRunner().invoke(main, ["inspect", f"sqlite:///{src}"])
    assert "reading.qty: holds text that is no number" in inspected.output


def test_a_text_spelling_a_number_is_that_number() -> None:
    from relsynth.model.sentinels import _number

    assert _number(" 12 ", whole=True) == 12 and isinstance(_number("12", whole=True), int)
    assert _number("12", whole=False) == 12.0
    assert _number("-3.5e2", whole=False) == -350.0
    assert _number(".5", whole=True) == 0.5
    for word in ("N/A", "nan", "inf", "-Infinity", "1_000", "0x1F", "", "1.2.3", "12 kg"):
        assert _number(word, whole=False) is None, word


def _any_source(path: Path) -> None:
    rng = random.Random(5)
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, note ANY, qty INTEGER NOT NULL) STRICT")
    rows = []
    for i in range(1, 1201):
        r = rng.random()
        note: object = (
            rng.choice(["red", "green", "blue", "large", "small"])
            if r < 0.5
            else rng.randint(1, 6)
            if r < 0.8
            else 2.5
            if r < 0.95
            else None
        )
        rows.append((i, note, rng.randint(1, 9)))
    con.executemany("INSERT INTO item VALUES (?, ?, ?)", rows)
    con.commit()
    con.close()


def test_a_strict_any_column_keeps_its_text_and_its_numbers(tmp_path: Path, pg_db: Callable[[], str]) -> None:
    """A STRICT table's ANY column reflected as NUMERIC: its text (half the rows) was written as
    NULL. Learned as text now, written back as ANY with numbers as numbers; TEXT elsewhere."""
    src, out = tmp_path / "src.db", tmp_path / "out.db"
    _any_source(src)
    result = CliRunner().invoke(
        main, ["synthesize", f"sqlite:///{src}", f"sqlite:///{out}", "--seed", "0", "--no-report"]
    )
    assert result.exit_code == 0, result.output
    con = sqlite3.connect(out)
    got = dict(con.execute("SELECT typeof(note), count(*) FROM item GROUP BY 1").fetchall())
    words = {w for (w,) in con.execute("SELECT DISTINCT note FROM item WHERE typeof(note) = 'text'")}
    ddl = con.execute("SELECT sql FROM sqlite_master WHERE name = 'item'").fetchone()[0]
    con.close()
    assert 450 <= got.get("text", 0) <= 750, got  # the source: about 600
    assert words <= {"red", "green", "blue", "large", "small"}, words
    assert got.get("integer", 0) >= 200 and got.get("real", 0) >= 80, got  # about 360 and 180
    assert " ANY" in ddl and "STRICT" in ddl
    pg_url = pg_db()
    result = CliRunner().invoke(
        main, ["synthesize", f"sqlite:///{src}", pg_url, "--seed", "0", "--no-report"]
    )
    assert result.exit_code == 0, result.output
    assert "item.note: ANY -> TEXT (numbers in it as text)" in result.output
    assert scalar(pg_url, "SELECT count(*) FROM item WHERE note IN ('red', 'blue')") > 100
