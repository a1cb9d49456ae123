"""The engine against real databases: the demo (SQLite), PostgreSQL and MariaDB; model files,
determinism across processes, --sample-rows, --holdout, the CLI and the SDV reference engine."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from relsynth.errors import ModelError, RelsynthError
from relsynth.evaluation.integrity import check_integrity
from relsynth.model.sample import SampleReport
from tests.conftest import run_sql


@pytest.fixture(scope="module")
def demo_model(demo_db: str):
    return relsynth.fit(demo_db, seed=4)


def test_demo_end_to_end(demo_model) -> None:
    synth = relsynth.sample(demo_model)
    assert check_integrity(demo_model.schema, synth).problems == 0
    assert len(synth["transfers"]) == 0  # empty stays empty
    assert len(synth["patients"]) == demo_model.tables["patients"].n_rows
    # The reference code list is copied verbatim; diagnoses keep codes from it.
    assert set(synth["diagnoses"]["code"]) <= set(synth["diagnosis_codes"]["code"])
    # The cycle wards <-> providers is closed: head nurses are nurses on their own ward.
    wards = synth["wards"].dropna(subset=["head_nurse_id"])
    nurses = synth["providers"].set_index("provider_id")
    assert len(wards) > 0
    assert (
        nurses.loc[wards["head_nurse_id"].astype(int), "ward_id"].to_numpy() == wards["ward_id"].to_numpy()
    ).all()
    # Personal data is generated, never copied.
    import sqlite3

    src = sqlite3.connect(demo_model.source["url"].removeprefix("sqlite:///"))
    real_mrn = {r[0] for r in src.execute("SELECT mrn FROM patients")}
    real_emails = {r[0] for r in src.execute("SELECT email FROM patients WHERE email IS NOT NULL")}
    assert not set(synth["patients"]["mrn"]) & real_mrn
    assert not set(synth["patients"]["email"].dropna()) & real_emails
    real_notes = {r[0] for r in src.execute("SELECT notes FROM admissions WHERE notes IS NOT NULL")}
    assert not set(synth["admissions"]["notes"].dropna()) & real_notes


@pytest.mark.parametrize("scale", [0.01, 10.0])
def test_demo_at_extreme_scales(demo_model, scale: float) -> None:
    synth = relsynth.sample(demo_model, scale=scale, seed=9)
    assert check_integrity(demo_model.schema, synth).problems == 0
    assert len(synth["diagnosis_codes"]) == demo_model.tables["diagnosis_codes"].n_rows  # never scaled
    expected = max(1, round(scale * demo_model.tables["patients"].n_rows))
    assert len(synth["patients"]) == expected


def test_rows_option(demo_model) -> None:
    synth = relsynth.sample(demo_model, rows={"patients": 50, "lab_results": 300})
    assert len(synth["patients"]) == 50
    assert abs(len(synth["lab_results"]) - 300) <= 3
    with pytest.raises(RelsynthError, match="Did you mean 'patients'"):
        relsynth.sample(demo_model, rows={"patiens": 5})


def test_model_file_round_trip_and_safety(demo_model, demo_db: str, tmp_path: Path) -> None:
    path = tmp_path / "m.rsm"
    demo_model.save(path)
    loaded = relsynth.Model.load(path)
    a = relsynth.sample(demo_model, seed=1)
    # The file holds nothing of the source: its guards come back from the source itself.
    b = relsynth.sample(loaded, seed=1, source=demo_db)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["arrays.npz", "model.json"]
        doc = json.loads(z.read("model.json"))
    assert doc["format"] == "relsynth.model" and doc["version"] == 1

    # Another format version: a clear error, not a crash.
    other = tmp_path / "v9.rsm"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(other, "w") as dst:
        dst.writestr("model.json", json.dumps({**doc, "version": 9}))
        dst.writestr("arrays.npz", src.read("arrays.npz"))
    with pytest.raises(ModelError, match=r"format version 9.*refit"):
        relsynth.Model.load(other)
    # A file that smuggles a pickled object array is refused (arrays load with allow_pickle=False).
    evil = tmp_path / "evil.rsm"
    buf = io.BytesIO()
    np.savez(buf, x=np.array([object()], dtype=object))
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(evil, "w") as dst:
        dst.writestr("model.json", src.read("model.json"))
        dst.writestr("arrays.npz", buf.getvalue())
    with pytest.raises(ModelError):
        relsynth.Model.load(evil)
    bogus = tmp_path / "bogus.rsm"
    bogus.write_text("not a model")
    with pytest.raises(ModelError, match="not a relsynth model"):
        relsynth.Model.load(bogus)


_DETERMINISM = """
import hashlib, sys
import relsynth
m = relsynth.fit(sys.argv[1], seed=13)
out = relsynth.sample(m, scale=0.5)
h = hashlib.sha256()
for name in sorted(out):
    h.update(name.encode()); h.update(out[name].to_csv(index=False).encode())
print(h.hexdigest())
"""


def test_byte_identical_across_processes_and_hash_seeds(demo_db: str) -> None:
    digests = set()
    for hash_seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", _DETERMINISM, demo_db], capture_output=True, text=True, env=env, check=True
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_sample_rows_and_holdout(demo_db: str) -> None:
    sampled = relsynth.fit(demo_db, seed=2, sample_rows=100)
    assert sampled.source["rows_read"]["patients"] == 100
    assert sampled.source["rows_read"]["admissions"] < 600  # only the sampled patients' admissions
    assert sampled.source["rows_read"]["diagnosis_codes"] == 59  # reference tables whole
    again = relsynth.fit(demo_db, seed=2, sample_rows=100)
    assert again.source["rows_read"] == sampled.source["rows_read"]
    # --scale counts the source's rows, not the sample's: scale 0.1 of 1000 patients is 100.
    assert sampled.source["source_rows"]["patients"] == 1000
    synth = relsynth.sample(sampled, scale=0.1)
    assert len(synth["patients"]) == 100 and check_integrity(sampled.schema, synth).problems == 0

    held = relsynth.fit(demo_db, seed=2, holdout=0.2)
    h = held.source["holdout"]
    assert h["fraction"] == 0.2 and 150 <= h["rows"]["patients"] <= 250
    assert h["rows"]["admissions"] > 0  # descendants withheld with their patient
    assert held.tables["patients"].n_rows == 1000 - h["rows"]["patients"]


def test_cli_fit_and_sample(demo_db: str, tmp_path: Path) -> None:
    model = tmp_path / "demo.rsm"
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["fit", demo_db, "-o", str(model), "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "keep it as safe as the source data" in result.stderr
    assert "exact relation: patients: city -> state" in result.stderr
    result = CliRunner().invoke(
        main,
        [
            "-q",
            "sample",
            str(model),
            "-o",
            str(out),
            "--scale",
            "0.2",
            "--format",
            "csv",
            "--rows",
            "wards=5",
        ],
    )
    assert result.exit_code == 0, result.output
    files = {Path(p).name for p in result.stdout.split()}
    assert "patients.csv" in files and "transfers.csv" in files
    patients = pd.read_csv(out / "patients.csv")
    assert len(patients) == 200
    assert len(pd.read_csv(out / "wards.csv")) == 5
    result = CliRunner().invoke(main, ["sample", str(model), "-o", str(out), "--rows", "wards"])
    assert result.exit_code == 1 and "TABLE=N" in result.stderr
    result = CliRunner().invoke(main, ["sample", str(tmp_path / "none.rsm"), "-o", str(out)])
    assert result.exit_code == 1 and "does not exist" in result.stderr


def test_sdv_engine_names_the_limits(demo_db: str) -> None:
    with pytest.raises(RelsynthError) as err:
        relsynth.fit(demo_db, engine="sdv")
    text = str(err.value)
    assert "tables (SDV's HMASynthesizer takes at most 5)" in text
    assert "composite primary key diagnoses(admission_id, seq)" in text
    assert "self-reference" in text and "cycle" in text


def test_sdv_engine_on_a_schema_it_accepts(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    parents = pd.DataFrame({"pid": range(1, 31), "size": rng.normal(0, 1, 30).round(2)})
    children = pd.DataFrame({"cid": range(1, 91), "pid": rng.integers(1, 31, 90), "v": rng.normal(0, 1, 90)})
    from relsynth.frames import schema_from_frames

    schema = schema_from_frames(
        {"parents": parents, "children": children},
        primary_keys={"parents": ["pid"], "children": ["cid"]},
        foreign_keys=[("children", ["pid"], "parents", ["pid"])],
    )
    model = relsynth.fit({"parents": parents, "children": children}, schema=schema, engine="sdv", seed=1)
    synth = relsynth.sample(model)
    assert set(synth) == {"parents", "children"} and len(synth["parents"]) == 30
    path = tmp_path / "sdv.pkl"
    model.save(str(path))
    result = CliRunner().invoke(main, ["sample", str(path), "-o", str(tmp_path / "o")])
    assert result.exit_code == 1 and "--allow-pickle" in result.stderr


CYCLE_DDL = """
CREATE TABLE dept (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL, head_id INTEGER NULL);
CREATE TABLE staff (id INTEGER PRIMARY KEY, dept_id INTEGER NOT NULL REFERENCES dept(id),
  boss_id INTEGER NULL REFERENCES staff(id), salary NUMERIC(10,2) NOT NULL CHECK (salary > 0),
  grade VARCHAR(2) NOT NULL CHECK (grade IN ('A', 'B', 'C')));
ALTER TABLE dept ADD CONSTRAINT fk_head FOREIGN KEY (head_id) REFERENCES staff(id);
"""


def _fill(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    rng = np.random.default_rng(1)
    with engine.begin() as conn:
        for d in range(1, 9):
            conn.execute(sa.text("INSERT INTO dept (id, name) VALUES (:i, :n)"), {"i": d, "n": f"dept {d}"})
        for s in range(1, 201):
            boss = None if s <= 8 else int(rng.integers(1, s))
            conn.execute(
                sa.text("INSERT INTO staff VALUES (:i, :d, :b, :s, :g)"),
                {
                    "i": s,
                    "d": int(rng.integers(1, 9)),
                    "b": boss,
                    "s": round(float(rng.gamma(5, 8000)), 2),
                    "g": str(rng.choice(["A", "B", "C"])),
                },
            )
        conn.execute(sa.text("UPDATE dept SET head_id = id WHERE id <= 6"))
    engine.dispose()


@pytest.mark.parametrize("server", ["postgresql", "mysql"])
def test_engine_on_a_server_with_a_cycle(request: pytest.FixtureRequest, server: str) -> None:
    url = request.getfixturevalue("pg_db" if server == "postgresql" else "mysql_db")()
    ddl = CYCLE_DDL
    if server == "mysql":
        ddl = ddl.replace(
            "dept_id INTEGER NOT NULL REFERENCES dept(id),\n  boss_id INTEGER NULL REFERENCES staff(id),",
            "dept_id INTEGER NOT NULL, boss_id INTEGER NULL,\n  FOREIGN KEY (dept_id) REFERENCES dept(id), "
            "FOREIGN KEY (boss_id) REFERENCES staff(id),",
        )
    run_sql(url, ddl)
    _fill(url)
    model = relsynth.fit(url, seed=5)
    assert len(model.plan.cycles) == 1
    report = SampleReport()
    synth = relsynth.sample(model, scale=2.0, report=report)
    assert check_integrity(model.schema, synth).problems == 0
    assert synth["dept"]["head_id"].notna().sum() > 0  # the cut FK is filled after both exist
    assert synth["staff"]["boss_id"].isna().sum() >= 1  # the forest has roots
    assert (synth["staff"]["salary"] > 0).all() and synth["staff"]["grade"].isin(["A", "B", "C"]).all()


@pytest.mark.datasets
@pytest.mark.postgresql
@pytest.mark.parametrize(("dataset", "db_schema"), [("chinook", None), ("omop_synthea27nj", "cdm")])
def test_engine_on_real_datasets(pg_datasets, dataset: str, db_schema: str | None) -> None:
    url = pg_datasets(dataset)
    model = relsynth.fit(url, db_schema=db_schema, seed=1)
    for scale in (0.1, 1.0):
        synth = relsynth.sample(model, scale=scale)
        integrity = check_integrity(model.schema, synth)
        assert integrity.problems == 0, integrity.lines()
    if dataset == "chinook":
        found = "\n".join(model.relations_summary())
        assert "invoice_line: unit_price = unit_price of its parent via" in found
        assert "invoice: total = sum(" in found


def _digest(frames: dict[str, pd.DataFrame]) -> str:
    h = hashlib.sha256()
    for name in sorted(frames):
        h.update(frames[name].to_csv(index=False).encode())
    return h.hexdigest()


@pytest.mark.datasets
@pytest.mark.mysql
def test_same_output_from_every_dialect(mysql_chinook: str, sqlite_chinook: str) -> None:
    """Reading in key order makes the model independent of the dialect the data came from."""
    a = relsynth.sample(relsynth.fit(sqlite_chinook, seed=8, include=("Customer", "Invoice", "InvoiceLine")))
    b = relsynth.sample(relsynth.fit(mysql_chinook, seed=8, include=("Customer", "Invoice", "InvoiceLine")))
    assert len(a["InvoiceLine"]) == len(b["InvoiceLine"])
    assert _digest({k: v[["InvoiceId"]] for k, v in a.items() if k == "Invoice"}) == _digest(
        {k: v[["InvoiceId"]] for k, v in b.items() if k == "Invoice"}
    )
