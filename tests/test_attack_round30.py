"""Attack round 30: a word of free text that fewer than K people wrote is theirs, as a rare
category is: it must reach neither the model file nor the output."""

from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path

import pytest

import relsynth


def _notes(path: Path) -> str:
    """2,000 visits whose reasons share common words; 'Fabry' in four visits' notes, 'Zyxwvut' in
    three, 'Gaucher' in twelve (each visit its own person)."""
    common = (["cough", "fever", "pain", "rash", "checkup"], ["mild", "severe", "recurring", "acute"])
    rows = [(g, f"{common[0][g % 5]} {common[1][(g // 5) % 4]} case {g}") for g in range(1, 2001)]
    rare = {**{i: "suspected Fabry disease case" for i in (3, 77, 400, 1200)}}
    rare |= {i: "Zyxwvut syndrome referral" for i in (5, 6, 7)}
    rare |= {i: "Gaucher disease follow up" for i in range(100, 1300, 100)}
    rows = [(g, f"{rare[g]} {g}" if g in rare else text) for g, text in rows]
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE visit (id INTEGER PRIMARY KEY, reason TEXT)")
    con.executemany("INSERT INTO visit VALUES (?, ?)", rows)
    con.commit()
    con.close()
    return f"sqlite:///{path}"


@pytest.mark.parametrize("rare_k", [5, 10])
def test_a_word_fewer_than_k_people_wrote_is_in_neither_model_nor_output(tmp_path: Path, rare_k: int) -> None:
    model = relsynth.fit(_notes(tmp_path / "src.db"), seed=0, rare_k=rare_k)
    words = set(model.tables["visit"].column("reason").vocabulary.words)  # type: ignore[union-attr]
    assert "Gaucher" in words  # twelve people: a word of the vocabulary (the test can see one)
    path = tmp_path / "m.rsm"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        stored = b"".join(z.read(n) for n in z.namelist())
    out = relsynth.sample(model, scale=3, seed=1)["visit"]["reason"].str.cat(sep=" ")
    for word in ("Fabry", "Zyxwvut"):  # four and three people: fewer than K
        assert word.encode() not in stored, word
        assert word not in out, word
