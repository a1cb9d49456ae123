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


def _folders(path: Path, composite: bool) -> str:
    """60 organisations, each a tree of 20 folders: one root, three children each, down three
    levels (1/3/9/7), every folder created after its parent (attack round 30's, on SQLite)."""
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE org (org_id INTEGER PRIMARY KEY, plan TEXT NOT NULL, seats INTEGER)")
    if composite:
        con.execute(
            "CREATE TABLE folder (org_id INTEGER NOT NULL REFERENCES org, id INTEGER NOT NULL, "
            "parent_id INTEGER, name TEXT, created DATE NOT NULL, PRIMARY KEY (org_id, id), "
            "FOREIGN KEY (org_id, parent_id) REFERENCES folder (org_id, id))"
        )
    else:
        con.execute(
            "CREATE TABLE folder (id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL REFERENCES org, "
            "parent_id INTEGER REFERENCES folder, name TEXT, created DATE NOT NULL)"
        )
    con.executemany(
        "INSERT INTO org VALUES (?, ?, ?)",
        [(g, ["free", "team", "ent"][g % 3], g % 50) for g in range(1, 61)],
    )
    rows = []
    for o in range(1, 61):
        for f in range(1, 21):
            up = None if f == 1 else 1 + (f - 2) // 3
            made = f"2023-01-{1 + f:02d}"
            if composite:
                rows.append((o, f, up, "folder", made))
            else:
                rows.append(((o - 1) * 20 + f, o, None if up is None else (o - 1) * 20 + up, "folder", made))
    con.executemany("INSERT INTO folder VALUES (?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()
    return f"sqlite:///{path}"


def _depths(url: str, composite: bool) -> dict[int, int]:
    join = "f.org_id = r.org_id AND f.parent_id = r.id" if composite else "f.parent_id = r.id"
    query = (
        "WITH RECURSIVE r(org_id, id, depth) AS (SELECT org_id, id, 0 FROM folder WHERE parent_id IS NULL "
        f"UNION ALL SELECT f.org_id, f.id, r.depth + 1 FROM folder f JOIN r ON {join} WHERE r.depth < 50) "
        "SELECT depth, count(*) FROM r GROUP BY depth ORDER BY depth"
    )
    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return dict(con.execute(query).fetchall())
    finally:
        con.close()


@pytest.mark.parametrize("composite", [False, True])
def test_a_tree_made_in_time_order_stays_a_tree(tmp_path: Path, composite: bool) -> None:
    """Attack round 30: a folder tree whose children are all made after their parent came back as
    chains of depth 19 (one child per folder), as a patient's visits are."""
    source, target = _folders(tmp_path / "src.db", composite), f"sqlite:///{tmp_path / 'out.db'}"
    relsynth.synthesize(source, target, seed=1)
    depths = _depths(target, composite)
    assert max(depths) <= 4 and depths[0] >= 40, depths  # the source's: 0-3, one root per organisation
    if not composite:  # a one-column self-reference names an earlier row (inspect --relations)
        con = sqlite3.connect(tmp_path / "out.db")
        later = con.execute(
            "SELECT count(*) FROM folder f JOIN folder p ON f.parent_id = p.id WHERE f.created < p.created"
        ).fetchone()[0]
        con.close()
        assert later == 0


FIXTURES = {"sqlite": "sqlite_db", "postgresql": "pg_db", "mysql": "mysql_db"}
KINDS = [
    pytest.param("sqlite"),
    pytest.param("postgresql", marks=pytest.mark.postgresql),
    pytest.param("mysql", marks=pytest.mark.mysql),
]


@pytest.mark.parametrize("kind", KINDS)
def test_a_key_generated_from_its_shape_is_no_source_key(kind: str, request: pytest.FixtureRequest) -> None:
    """Attack round 30: an MRN key drawn from its shape (MRN + five digits) equalled a patient's
    own MRN by chance; a copied e-mail is drawn again, and so is such a key now. 3,000 of 100,000
    possible MRNs are the source's: about 90 synthetic ones were theirs."""
    import numpy as np
    import sqlalchemy as sa

    make = request.getfixturevalue(FIXTURES[kind])
    source, target = make(), make()
    rng = np.random.default_rng(0)
    mrns = [f"MRN{v:05d}" for v in rng.choice(100_000, 3_000, replace=False)]
    ages = [int(a) for a in rng.integers(1, 90, 3_000)]
    engine = sa.create_engine(source)
    meta = sa.MetaData()
    patient = sa.Table(
        "patient", meta, sa.Column("mrn", sa.String(8), primary_key=True), sa.Column("age", sa.Integer)
    )
    with engine.begin() as conn:
        meta.create_all(conn)
        conn.execute(patient.insert(), [{"mrn": m, "age": a} for m, a in zip(mrns, ages, strict=True)])
    engine.dispose()
    relsynth.synthesize(source, target, seed=0)
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        made = list(conn.execute(sa.select(patient.c.mrn)).scalars())
    engine.dispose()
    assert len(made) == 3_000 and all(m.startswith("MRN") for m in made)
    assert not set(made) & set(mrns)
