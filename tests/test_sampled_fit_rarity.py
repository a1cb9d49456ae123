"""A fit from a sample of a large source (--fit-rows, 600,000 rows by default) decides which codes
are rare on the SOURCE's counts (read.SourceHolders), not the sample's: a ward code on 17 of 5,000
stays is seen on about 3 stays of a 1,000-patient sample, and the rare-k rule withheld nearly every
code of a lookup table (the key came out NULL on 22% of the stays for 10%, 59 of 300 codes drawn).
The rule keeps its meaning: a code fewer than rare_k of the source's people hold (however many rows
they hold it on, and counted up to the person through a grandchild's parent) is never in the
output or the model file."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

import relsynth
from relsynth.graph import plan as make_plan
from relsynth.io import connect
from relsynth.read import SourceHolders, read_tables
from relsynth.reflection import reflect_connection
from relsynth.schema import ForeignKey
from tests.conftest import EVERY_DATABASE

PATIENTS = 5_000
WARDS = 290  # common codes of the ward table (about 15 patients each); 10 more are rare
UNITS = 240  # common values of a category column (about 19 patients each)
SERVICES = 120  # beside the ward code: a sample's 1,000 stays see each (service, ward) about once
RARE = 30  # rare codes of each kind, each held by 2 patients on 8 rows


def _load(url: str, twins: bool = False) -> None:
    """``twins``: the rare units are lowercase twins of common ones ('u005' beside 'U005'), in a
    column whose collation (SQLite's NOCASE, MariaDB's default) compares them equal."""
    rng = np.random.default_rng(7)
    meta = sa.MetaData()
    ward = sa.Table(
        "ward", meta, sa.Column("code", sa.String(12), primary_key=True), sa.Column("name", sa.String(40))
    )
    drugs = sa.Table("druglist", meta, sa.Column("code", sa.String(12), primary_key=True))
    patient = sa.Table(
        "patient", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("sex", sa.String(1))
    )
    stay = sa.Table(
        "stay",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("patient_id", sa.Integer, sa.ForeignKey("patient.id"), nullable=False),
        sa.Column("ward_code", sa.String(12), sa.ForeignKey("ward.code"), nullable=True),
        sa.Column(
            "unit", sa.String(12, collation="NOCASE" if twins and "sqlite" in url else None), nullable=False
        ),
        sa.Column("service", sa.String(12), nullable=False),
        sa.Column("days", sa.Integer, nullable=False),
    )
    drug = sa.Table(
        "drug",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("stay_id", sa.Integer, sa.ForeignKey("stay.id"), nullable=False),
        sa.Column("drug_code", sa.String(12), sa.ForeignKey("druglist.code"), nullable=False),
    )
    wards = [f"W{i:03d}" for i in range(WARDS)] + [f"WR{i:02d}" for i in range(RARE)]
    codes = [f"D{i:03d}" for i in range(150)] + [f"DR{i:02d}" for i in range(RARE)]
    stays, drug_rows = [], []
    rare_patients = rng.permutation(np.arange(1, PATIENTS + 1))[: 2 * RARE].reshape(RARE, 2)
    for i in range(1, PATIENTS + 1):
        null = rng.random() < 0.1
        stays.append(
            {
                "id": i,
                "patient_id": i,
                "ward_code": None if null else wards[rng.integers(WARDS)],
                "unit": f"U{rng.integers(UNITS):03d}",
                "service": f"S{rng.integers(SERVICES):03d}",
                "days": int(rng.integers(1, 30)),
            }
        )
    # Each rare code: 2 patients, 4 more stays each (8 rows, 8 stays: rows and parents enough).
    for r, pair in enumerate(rare_patients):
        for p in pair:
            for _ in range(4):
                stays.append(
                    {
                        "id": len(stays) + 1,
                        "patient_id": int(p),
                        "ward_code": f"WR{r:02d}",
                        "unit": f"u{r:03d}" if twins else f"UR{r:02d}",
                        "service": f"S{r:03d}",
                        "days": int(rng.integers(1, 30)),
                    }
                )
    if twins:  # the twins' rows first: a case-blind GROUP BY would name the group by them
        stays = sorted(stays, key=lambda s: not s["unit"].startswith("u"))
        for i, s in enumerate(stays):
            s["id"] = i + 1
    for s in stays:
        rare_stay = s["ward_code"] is not None and s["ward_code"].startswith("WR")
        for _ in range(2):
            code = f"DR{s['ward_code'][2:]}" if rare_stay else codes[rng.integers(150)]
            drug_rows.append({"id": len(drug_rows) + 1, "stay_id": s["id"], "drug_code": code})
    engine = sa.create_engine(url)
    meta.create_all(engine)
    if twins and engine.dialect.name == "postgresql":  # citext: compared and grouped case-blind
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS citext")
            conn.exec_driver_sql("ALTER TABLE stay ALTER COLUMN unit TYPE citext")
    with engine.begin() as conn:
        conn.execute(ward.insert(), [{"code": w, "name": f"Ward {w}"} for w in wards])
        conn.execute(drugs.insert(), [{"code": c} for c in codes])
        conn.execute(patient.insert(), [{"id": i, "sex": "MF"[i % 2]} for i in range(1, PATIENTS + 1)])
        conn.execute(stay.insert(), stays)
        conn.execute(drug.insert(), drug_rows)
    engine.dispose()


def _sampled(url: str, sample_rows: int) -> dict[str, set[str]]:
    """The rare codes a sample of ``sample_rows`` patients holds (a precondition: else none could leak)."""
    with connect(url, read_only=True) as conn:
        schema = reflect_connection(conn)
        frames = read_tables(conn, schema, make_plan(schema), sample_rows=sample_rows, seed=0).frames
    return {
        "ward_code": {v for v in frames["stay"]["ward_code"].dropna() if v.startswith("WR")},
        "unit": {v for v in frames["stay"]["unit"].dropna() if v.startswith(("UR", "u"))},
        "drug_code": {v for v in frames["drug"]["drug_code"].dropna() if v.startswith("DR")},
    }


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_sampled_fit_keeps_codes_the_source_holds_and_withholds_rare_ones(
    db: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    url = make()
    _load(url)
    model = relsynth.fit(url, seed=0, fit_rows=1_000)
    sample_rows = model.source["sample_rows"]
    assert sample_rows and model.source["rows_read"]["stay"] < 2_000  # learned from a sample
    present = _sampled(url, sample_rows)
    assert all(len(v) >= 3 for v in present.values()), present  # rare codes in the sample to withhold
    out = relsynth.sample(model, seed=1)
    stay, drug = out["stay"], out["drug"]

    # Fidelity: the lookup key NULL as often as in the source (10%), most of the codes drawn.
    assert abs(stay["ward_code"].isna().mean() - 0.1) < 0.04, stay["ward_code"].isna().mean()
    assert stay["ward_code"].nunique() >= 200
    assert stay["unit"].nunique() >= 180
    assert drug["drug_code"].nunique() >= 120

    # Privacy: a code of 2 source patients (on 8 stays, or 16 drug rows of 8 stays) never comes out.
    assert not stay["ward_code"].dropna().str.startswith("WR").any()
    assert not stay["unit"].str.startswith("UR").any()
    assert not drug["drug_code"].str.startswith("DR").any()
    # Nor is a rare unit in the model file (the ward and drug lists are reference tables, stored whole).
    path = tmp_path / "model.relsynth"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        arrays = np.load(io.BytesIO(z.read("arrays.npz")), allow_pickle=False)
        stored = z.read("model.json").decode() + "".join(str(arrays[k].tolist()) for k in arrays.files)
    assert "U001" in stored  # a common unit is
    for code in present["unit"]:
        assert code not in stored, code


def test_a_code_rare_in_the_source_is_withheld_with_rare_k_above_its_holders(
    sqlite_db: Callable[[], str],
) -> None:
    """rare_k 2 keeps a code of 2 source patients; rare_k 3 does not, however the sample sees it."""
    url = sqlite_db()
    _load(url)
    kept = relsynth.sample(relsynth.fit(url, seed=0, fit_rows=1_000, rare_k=2), seed=1)["stay"]
    assert kept["unit"].str.startswith("UR").any()
    withheld = relsynth.sample(relsynth.fit(url, seed=0, fit_rows=1_000, rare_k=3), seed=1)["stay"]
    assert not withheld["unit"].str.startswith("UR").any()


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_rare_code_is_not_counted_with_its_twin_under_a_case_blind_collation(
    db: str, request: pytest.FixtureRequest
) -> None:
    """'u005' on 8 stays of 2 patients beside 'U005' of 20: grouped by a case-blind collation
    (SQLite's NOCASE, MariaDB's utf8mb4 default, PostgreSQL's citext) the source would say 22
    patients hold 'u005'."""
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    url = make()
    _load(url, twins=True)
    model = relsynth.fit(url, seed=0, fit_rows=1_000)
    present = _sampled(url, model.source["sample_rows"])
    assert len(present["unit"]) >= 3, present
    stay = relsynth.sample(model, seed=1)["stay"]
    assert stay["unit"].nunique() >= 180
    assert not stay["unit"].str.startswith("u").any()


def test_a_count_the_source_refuses_leaves_the_sample_to_decide(pg_db: Callable[[], str]) -> None:
    """A holder through keys PostgreSQL cannot compare (text = integer) is no count, and the
    read-only transaction goes on (the guards' pass reads every row in it after the fit)."""
    url = pg_db()
    _load(url)
    with connect(url, read_only=True) as conn:
        schema = reflect_connection(conn)
        odd = ForeignKey("odd", ("unit",), "patient", ("id",))
        held = SourceHolders(conn, schema)
        assert held("stay", "unit", [((odd,), ("sex",))], {"U001"}) is None
        rows = held("stay", "unit", [((), ())], {"U001", "UR03"})
        assert rows is not None and rows[0]["UR03"] == 8 and rows[0]["U001"] > 10
