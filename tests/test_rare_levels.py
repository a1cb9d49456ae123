"""Rare categories are never emitted as themselves, and counts are sampled, not copied.

The attack (issue 10, items 2 and 4): plant values that point at few people (a specialty of two
patients, a birth year of one, a postal code of one customer repeated on all their invoices), then
look for them in the synthetic database (read back with SQL, on SQLite, PostgreSQL and MariaDB) and
in the model file. The counts of common levels at scale 1 must not be the source's exact counts.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import relsynth
from relsynth.model import rare
from tests.conftest import model_contents

KINDS = ["sqlite", "postgresql", "mysql"]
RARE_SPECIALTIES = ["Zoonotic-Rare", "Hyperbaric-Rare"]  # 2 and 1 patients
RARE_CODES = [f"RP-{i:03d}" for i in range(30)]  # each customer's own postal code


def _frames(seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = 120
    common_specialties = ["cardiology", "surgery", "oncology", "pediatrics"]
    specialty = list(rng.choice(common_specialties, n - 3)) + ["Zoonotic-Rare"] * 2 + ["Hyperbaric-Rare"]
    # Postal codes: 3 shared by many customers, 30 of one customer each.
    postal = list(rng.choice(["10001", "20002", "30003"], n - 30)) + RARE_CODES
    customers = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "specialty": specialty,
            "postal_code": postal,
            "visits": [*rng.integers(1, 4, n - 1), 9],  # 9 visits: one customer
        }
    )
    rows = []
    for cid, code in zip(customers["id"], customers["postal_code"], strict=True):
        for _ in range(int(rng.integers(3, 8))):
            rows.append((len(rows) + 1, int(cid), code, str(rng.choice(["card", "cash", "wire"]))))
    invoices = pd.DataFrame(rows, columns=["id", "customer_id", "billing_postal_code", "method"])
    return {"customer": customers, "invoice": invoices}


def _load(url: str, frames: dict[str, pd.DataFrame]) -> None:
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    sa.Table(
        "customer",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("specialty", sa.String(40), nullable=False),
        sa.Column("postal_code", sa.String(10)),
        sa.Column("visits", sa.Integer),
    )
    sa.Table(
        "invoice",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customer.id"), nullable=False),
        sa.Column("billing_postal_code", sa.String(10)),
        sa.Column("method", sa.String(10)),
    )
    meta.create_all(engine)
    with engine.begin() as conn:
        for name in ("customer", "invoice"):
            conn.execute(meta.tables[name].insert(), frames[name].to_dict("records"))
    engine.dispose()


def _read(url: str) -> dict[str, pd.DataFrame]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                n: pd.read_sql(sa.select(sa.table(n, *[sa.column(c) for c in cols])), conn)
                for n, cols in (
                    ("customer", ["id", "specialty", "postal_code", "visits"]),
                    ("invoice", ["id", "customer_id", "billing_postal_code", "method"]),
                )
            }
    finally:
        engine.dispose()


def _new(request: pytest.FixtureRequest, kind: str) -> str:
    fixture = {"sqlite": "sqlite_db", "postgresql": "pg_db", "mysql": "mysql_db"}[kind]
    return request.getfixturevalue(fixture)()


def _rare_values_in(out: dict[str, pd.DataFrame]) -> list[str]:
    found = []
    for name, frame in out.items():
        for col in frame.columns:
            values = set(frame[col].dropna().astype(str))
            found += [f"{name}.{col}={v}" for v in sorted(values & {*RARE_SPECIALTIES, *RARE_CODES})]
    if (out["customer"]["visits"].dropna() == 9).any():
        found.append("customer.visits=9")
    return found


@pytest.mark.parametrize("kind", KINDS)
def test_rare_values_never_reach_the_target(kind: str, request: pytest.FixtureRequest) -> None:
    source, target = _new(request, kind), _new(request, kind)
    frames = _frames()
    _load(source, frames)
    relsynth.synthesize(source, target, seed=3, scale=2.0)
    out = _read(target)
    assert len(out["customer"]) == 240
    assert _rare_values_in(out) == []
    # The common levels are still there: the protection is no blanket suppression.
    assert {"cardiology", "surgery"} <= set(out["customer"]["specialty"])
    assert {"10001", "20002"} <= set(out["customer"]["postal_code"].dropna())
    # Invoices still repeat their customer's postal code.
    merged = out["invoice"].merge(out["customer"], left_on="customer_id", right_on="id")
    assert (merged["billing_postal_code"] == merged["postal_code"]).all()


def test_rare_values_are_not_in_the_model_file(tmp_path: Path, sqlite_db) -> None:
    source = sqlite_db()
    _load(source, _frames())
    model = relsynth.fit(source, seed=1)
    path = tmp_path / "m.relsynth"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        text = z.read("model.json").decode()
        arrays = z.read("arrays.npz")
    for value in [*RARE_SPECIALTIES, *RARE_CODES]:
        assert value not in text
        assert value.encode() not in arrays
    assert model.source["rare_k"] == 5
    synthetic = relsynth.sample(model, seed=1)
    assert _rare_values_in(synthetic) == []


def test_a_lower_k_keeps_what_it_allows(tmp_path: Path) -> None:
    """k is the user's: at k=2 the specialty of two patients may come back, the one of one never."""
    model = relsynth.fit(_frames(), seed=1, rare_k=2)  # no FK between frames: counted by rows
    levels = repr([spec.__dict__ for t in model.tables.values() for spec in t.columns]) + repr(
        [d.encoder.to_state()[0] for t in model.tables.values() for d in t.dims]
    )
    assert "Zoonotic-Rare" in levels
    assert "Hyperbaric-Rare" not in levels


def test_counts_are_sampled_not_copied() -> None:
    """At scale 1 the common levels' counts vary from seed to seed around the source's."""
    frames = _frames()
    source = frames["invoice"]["method"].value_counts().sort_index()
    seen = []
    for seed in range(4):
        out = relsynth.sample(relsynth.fit(frames, seed=seed), seed=seed)
        counts = out["invoice"]["method"].value_counts().reindex(source.index, fill_value=0)
        seen.append(tuple(counts))
        assert np.abs(counts - source).max() < 0.25 * source.max()  # still the source's shape
    assert tuple(source) not in seen or len(set(seen)) > 1


def test_rare_helpers() -> None:
    values = pd.Series(["a"] * 6 + ["b"] * 5 + ["c"] * 4 + [None])
    assert rare.common_levels(values, None, 5) == {"a", "b"}
    # 'b' has 5 rows but for 2 parents only: rare in a child table.
    parents = np.array([0, 1, 2, 3, 4, 5] + [7] * 4 + [8] + [9] * 4 + [-1])
    assert rare.common_levels(values, parents, 5) == {"a"}
    folded = rare.fold(values, {"a", "b"}, np.random.default_rng(0))
    assert set(folded.dropna()) <= {"a", "b"} and folded.isna().sum() == 1
    numbers = pd.Series([1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 7, 3])
    assert list(rare.fold(numbers, {1, 2}, np.random.default_rng(0))[-2:]) == [2, 2]
    assert rare.filter_mapping([["a", 1], ["c", 2], [None, 3]], {"a"}) == [["a", 1], [None, 3]]


def _extremes(seed: int = 0) -> dict[str, pd.DataFrame]:
    """One patient far older than the rest, one bill far larger, one admission far earlier."""
    rng = np.random.default_rng(seed)
    n = 400
    age = np.round(rng.normal(50, 12, n)).clip(20, 85)
    age[7] = 104
    bill = np.round(rng.gamma(2.0, 800.0, n), 2)
    bill[11] = 987_654.32
    admitted = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    admitted = admitted.to_numpy()
    admitted[13] = np.datetime64("1971-06-15")
    return {
        "patient": pd.DataFrame({"id": np.arange(1, n + 1), "age": age, "bill": bill, "admitted": admitted})
    }


def test_one_rows_extremes_are_never_emitted_nor_stored(tmp_path: Path) -> None:
    """The oldest patient's age, the largest bill, the earliest date: each is one person's, so no
    knot, bound or sampled value reaches them; every extreme kept has at least k rows at or beyond it."""
    frames = _extremes()
    src = frames["patient"]
    model = relsynth.fit(frames, seed=2)
    text, stored = model_contents(model, tmp_path / "m.relsynth")
    assert "987654.32" not in text and not np.isin([104.0, 987_654.32], stored).any()
    fifth = {c: np.sort(src[c].to_numpy())[[4, -5]] for c in ("age", "bill")}
    for seed in range(3):
        out = relsynth.sample(model, scale=3.0, seed=seed)["patient"]
        for c, (low, high) in fifth.items():
            assert out[c].min() >= low and out[c].max() <= high, c
        assert pd.to_datetime(out["admitted"]).min() >= np.sort(src["admitted"].to_numpy())[4]
    # k is the user's: at k=1 the extremes are data like any other.
    model = relsynth.fit(frames, seed=2, rare_k=1)
    out = relsynth.sample(model, scale=3.0, seed=0)["patient"]
    assert out["age"].max() > fifth["age"][1] or out["bill"].max() > fifth["bill"][1]


def test_a_level_is_rare_when_few_people_hold_it_however_many_rows_or_parents(sqlite_db) -> None:
    """A diagnosis on 6 encounters of one patient: 6 rows, 6 distinct parents, 1 person. Counted
    per encounter it passed as common; counted per patient (the table --holdout splits) it is rare."""
    rng = np.random.default_rng(4)
    patients = pd.DataFrame({"id": np.arange(1, 81), "age": rng.integers(20, 90, 80)})
    encounters, diagnoses = [], []
    for pid in patients["id"]:
        for _ in range(int(rng.integers(2, 5)) + (6 if pid == 1 else 0)):
            eid = len(encounters) + 1
            encounters.append((eid, int(pid), int(rng.integers(1, 20))))
            code = (
                "Q87.40-ONE-PERSON" if pid == 1 and eid % 2 == 0 else str(rng.choice(["E11", "I10", "J45"]))
            )
            diagnoses.append((len(diagnoses) + 1, eid, code))
    held = sum(code == "Q87.40-ONE-PERSON" for _, _, code in diagnoses)
    assert held >= 5  # common by rows and by encounters: only the person count makes it rare
    url = sqlite_db()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE patient (id INTEGER PRIMARY KEY, age INTEGER)")
        conn.exec_driver_sql(
            "CREATE TABLE encounter (id INTEGER PRIMARY KEY, patient_id INTEGER NOT NULL REFERENCES patient (id),"
            " los INTEGER)"
        )
        conn.exec_driver_sql(
            "CREATE TABLE diagnosis (id INTEGER PRIMARY KEY, encounter_id INTEGER NOT NULL"
            " REFERENCES encounter (id), code TEXT NOT NULL)"
        )
        patients.to_sql("patient", conn, if_exists="append", index=False)
        pd.DataFrame(encounters, columns=["id", "patient_id", "los"]).to_sql(
            "encounter", conn, if_exists="append", index=False
        )
        pd.DataFrame(diagnoses, columns=["id", "encounter_id", "code"]).to_sql(
            "diagnosis", conn, if_exists="append", index=False
        )
    engine.dispose()
    model = relsynth.fit(url, seed=1)
    for seed in range(3):
        out = relsynth.sample(model, scale=2.0, seed=seed)
        assert "Q87.40-ONE-PERSON" not in set(out["diagnosis"]["code"])
        assert set(out["diagnosis"]["code"]) == {"E11", "I10", "J45"}
    kept = relsynth.sample(relsynth.fit(url, seed=1, rare_k=1), seed=0)
    assert "Q87.40-ONE-PERSON" in set(kept["diagnosis"]["code"])  # k=1: the user asked for no folding


def test_a_key_with_few_values_into_a_table_left_out_counts_no_people(tmp_path) -> None:
    """customer.support_rep_id points at 3 employees, a table left out of the run: counting its
    values as owners made every country rare (5 owners needed, 3 exist) and the Chinook chain's
    countries came out as random strings (bench_fidelity, issue 11)."""
    import sqlite3

    path = tmp_path / "shop.db"
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE employee (id INTEGER PRIMARY KEY, name TEXT);"
        "CREATE TABLE customer (id INTEGER PRIMARY KEY, country TEXT NOT NULL, "
        "support_rep_id INTEGER REFERENCES employee (id));"
    )
    con.executemany("INSERT INTO employee VALUES (?, ?)", [(1, "A"), (2, "B"), (3, "C")])
    countries = ["USA"] * 13 + ["Canada"] * 8 + ["France"] * 5 + ["Brazil"] * 5 + ["Germany"] * 6 + ["Chile"]
    con.executemany(
        "INSERT INTO customer VALUES (?, ?, ?)", [(i + 1, c, 1 + i % 3) for i, c in enumerate(countries)]
    )
    con.commit()
    con.close()
    model = relsynth.fit(f"sqlite:///{path}", exclude=("employee",), seed=0)
    out = relsynth.sample(model, seed=0)["customer"]
    assert set(out["country"]) <= {"USA", "Canada", "France", "Brazil", "Germany"}  # Chile: one customer
    assert {"USA", "Canada"} <= set(out["country"])


def _tiny(url: str) -> None:
    """A one-row settings table and a three-row child table (three deaths among 60 people): every
    value in them is held by fewer than k rows, constant columns included."""
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    settings = sa.Table(
        "settings",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version_code", sa.Integer, nullable=False),
        sa.Column("site_name", sa.String(40), nullable=False),
        sa.Column("opened", sa.Date, nullable=False),
        sa.Column("ratio", sa.Float, nullable=False),
    )
    person = sa.Table(
        "person",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("born", sa.Integer, nullable=False),
        sa.Column("sex", sa.String(1), nullable=False),
    )
    death = sa.Table(
        "death",
        meta,
        sa.Column("person_id", sa.Integer, sa.ForeignKey("person.id"), primary_key=True, autoincrement=False),
        sa.Column("death_type", sa.Integer, nullable=False),
        sa.Column("died", sa.Date, nullable=False),
    )
    meta.create_all(engine)
    rng = np.random.default_rng(5)
    with engine.begin() as conn:
        conn.execute(
            settings.insert(),
            [
                {
                    "id": 1,
                    "version_code": 532,
                    "site_name": "Nightingale Ward",
                    "opened": pd.Timestamp("1987-05-02").date(),
                    "ratio": 0.731,
                }
            ],
        )
        conn.execute(
            person.insert(),
            [{"id": i, "born": int(rng.integers(1930, 2000)), "sex": "FM"[i % 2]} for i in range(1, 61)],
        )
        conn.execute(
            death.insert(),
            [
                {"person_id": i, "death_type": 38003565, "died": pd.Timestamp("2019-03-04").date()}
                for i in (4, 9, 31)
            ],
        )
    engine.dispose()


TINY_VALUES = {"532", "Nightingale Ward", "1987-05-02", "0.731", "38003565", "2019-03-04"}


def _tiny_values_in(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            found = []
            for name, cols in (
                ("settings", ["version_code", "site_name", "opened", "ratio"]),
                ("death", ["death_type", "died"]),
            ):
                frame = pd.read_sql(sa.select(sa.table(name, *[sa.column(c) for c in cols])), conn)
                for col in cols:
                    values = {
                        str(v)[:10] if col in {"opened", "died"} else str(v) for v in frame[col].dropna()
                    }
                    found += [f"{name}.{col}" for v in values if v in TINY_VALUES]
            return found
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", KINDS)
def test_a_table_of_fewer_than_k_rows_gives_back_none_of_its_values(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Every value of a one-row table, and a constant held by three rows, is held by fewer than k
    rows: none may come back as itself, in the target or in the model file (OMOP's one-row
    cdm_source and three-row death table gave theirs back). Only the decade is kept."""
    source, target = _new(request, kind), _new(request, kind)
    _tiny(source)
    model = relsynth.fit(source, seed=4)
    text, stored = model_contents(model, tmp_path / "m.relsynth")
    assert "Nightingale" not in text and "38003565" not in text and "0.731" not in text
    assert not np.isin([532.0, 38003565.0, 0.731], stored).any()
    relsynth.synthesize(source, target, seed=4, scale=3.0)
    assert _tiny_values_in(target) == []
    out = relsynth.sample(model, seed=1, scale=3.0)
    types = out["death"]["death_type"]
    assert len(types) and (types >= 10**7).all() and (types <= 10**8).all()  # the decade is kept
    opened = pd.to_datetime(out["settings"]["opened"])
    assert ((opened >= "1980-01-01") & (opened < "1990-01-01")).all()


def test_a_rare_pair_of_a_conditional_cannot_be_subtracted_back() -> None:
    """Attack round 10: a target drawn given its determinant stored the pairs without the rare
    one but the target's counts over every row, and the determinant's shares counted every row
    too: the differences gave one person's (payer, specialty) and its row count back. The rare
    pair's rows are folded into the determinant's other pairs, and the target's counts are the
    pairs' own."""
    from relsynth.frames import schema_from_frames

    rng = np.random.default_rng(2)
    n = 3000
    spec = rng.integers(0, 12, n)
    payer = np.where((rng.random(n) < 0.9) | (spec == 0), spec % 4, rng.integers(0, 4, n))
    frame = pd.DataFrame(  # S0 always comes with MA, but for one person's three visits with MD
        {
            "visit_id": np.arange(1, n + 4),
            "specialty": np.concatenate([np.array([f"S{i}" for i in range(12)])[spec], ["S0"] * 3]),
            "payer": np.concatenate([np.array(["MA", "MB", "MC", "MD"])[payer], ["MD"] * 3]),
        }
    )
    frames = {"visit": frame}
    model = relsynth.fit(
        frames, schema=schema_from_frames(frames, primary_keys={"visit": ["visit_id"]}), seed=0
    )
    shaped = [c for c in model.tables["visit"].columns if c.how == "conditional"]
    assert shaped, model.relations_summary()
    table = shaped[0].table
    column = {}
    for _, b, k in table["pairs"]:
        column[b] = column.get(b, 0) + k
    assert ["S0", "MD"] not in [p[:2] for p in table["pairs"]]
    assert {b: k for b, k in table["marginal"]} == column  # no difference to read a pair from
    det = {}
    for a, _, k in table["pairs"]:
        det[a] = det.get(a, 0) + k
    real = frame[shaped[0].determinant].value_counts()
    assert all(det[a] == real[a] for a in det if a in real.index)  # every row of a level is in its pairs
