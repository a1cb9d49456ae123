"""Leftovers of attack rounds 33-34 (a DVD rental on MariaDB, a small org database on SQLite).

1. A 200-row team(team_id, name) table pointed at by 1,200 staff and 355 offers was taken for a
   code list (a key and a label, 8 referencing rows per row) and copied: the team names were the
   source's, and the offers' team_id a category whose every level was rare, so every offer went
   to a team that had none in the source, and UNIQUE(team_id, code) dropped half of them.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import relsynth
from relsynth.graph import plan
from relsynth.schema import Schema
from tests.test_graph import fk, table

WORDS = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Gamma", "Sigma"]


def _org(path: Path) -> int:
    """200 teams, 2-10 staff each, 1-4 offers (codes A-E, UNIQUE per team) on 148 of them."""
    rng = random.Random(7)
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE team (team_id INTEGER PRIMARY KEY, name TEXT NOT NULL);
        CREATE TABLE employee (employee_id INTEGER PRIMARY KEY,
                               team_id INTEGER NOT NULL REFERENCES team(team_id),
                               first_name TEXT, salary INTEGER);
        CREATE TABLE offer (offer_id INTEGER PRIMARY KEY, team_id INTEGER NOT NULL REFERENCES team(team_id),
                            code TEXT NOT NULL, price REAL, UNIQUE (team_id, code));
        """
    )
    con.executemany(
        "INSERT INTO team VALUES (?, ?)", [(t, f"Team {WORDS[t % 8]} {t}") for t in range(1, 201)]
    )
    e = 0
    for t in range(1, 201):
        for _ in range(rng.randint(2, 10)):
            e += 1
            con.execute(
                "INSERT INTO employee VALUES (?, ?, ?, ?)",
                (e, t, rng.choice(["Ann", "Bob", "Cy", "Di"]), rng.randint(30, 90) * 1000),
            )
    o = 0
    for t in sorted(rng.sample(range(1, 201), 148)):
        for c in rng.sample(["A", "B", "C", "D", "E"], rng.randint(1, 4)):
            o += 1
            con.execute("INSERT INTO offer VALUES (?, ?, ?, ?)", (o, t, c, round(rng.uniform(5, 50), 2)))
    con.commit()
    con.close()
    return o


def test_a_200_row_team_table_is_data_and_its_offers_spread_like_the_sources(tmp_path: Path) -> None:
    src = tmp_path / "org.db"
    offers = _org(src)
    model = relsynth.fit(f"sqlite:///{src}", seed=0)
    assert model.plan["team"].role == "data"  # reference (copied) before
    out = relsynth.sample(model, seed=0)
    assert not set(out["team"]["name"]) & {f"Team {WORDS[t % 8]} {t}" for t in range(1, 201)}
    got = out["offer"]
    assert len(got) >= 0.95 * offers  # 247 of 355 before: UNIQUE(team_id, code) dropped the rest
    assert not got.duplicated(["team_id", "code"]).any()
    per_team = got.groupby("team_id").size()
    assert 120 <= len(per_team) <= 175  # 148 of 200 teams hold offers in the source; 50 before
    assert per_team.max() <= 5


def test_an_unnamed_key_and_label_table_is_a_code_list_while_short() -> None:
    def roles(rows: int) -> str:
        s = Schema(
            (
                table("team", "name", rows=rows),
                table("employee", "team_id", "salary", rows=rows * 8, fks=[fk("team_id", "team")]),
            )
        )
        return plan(s)["team"].role

    assert roles(25) == "reference"  # 25 nations, 12 wards: still copied
    assert roles(100) == "reference"
    assert roles(200) == "data"  # reference before
