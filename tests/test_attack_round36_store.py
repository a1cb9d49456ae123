"""Attack round 36: model files of dependencies that map a value to a date, and a SQLite target
left with a hot journal by a full disk.

A column fixing a timestamp (a status -> a timestamptz; OpenMRS' voided -> date_voided) stored
pd.Timestamp and NaT values the loader did not know: `relsynth fit -o` wrote a file `relsynth
sample` refused as damaged, however often it was refitted. And the pair stored the date of the
one voided row: a value one row holds, in the model file."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
import zipfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import relsynth
from relsynth.jsontags import jsonable, unjson
from relsynth.model.spec import Model

FIXTURES = {"sqlite": "sqlite_db", "postgresql": "pg_db", "mysql": "mysql_db"}
KINDS = [
    pytest.param("sqlite"),
    pytest.param("postgresql", marks=pytest.mark.postgresql),
    pytest.param("mysql", marks=pytest.mark.mysql),
]

UTC = dt.UTC
PLUS2 = dt.timezone(dt.timedelta(hours=2))


@pytest.mark.parametrize(
    "value",
    [
        pd.Timestamp("2024-01-02 03:04:05.123456789"),
        pd.Timestamp("2024-01-02 03:04:05", tz="UTC"),
        pd.Timestamp("2024-01-02 03:04:05", tz="Europe/Prague"),
        np.datetime64("2024-01-02T03:04:05.123456789"),
        dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=PLUS2),
        dt.datetime(2024, 1, 2, 3, 4, 5, 6),
        dt.date(2024, 1, 2),
        dt.time(3, 4, 5, 6),
        dt.time(3, 4, 5, tzinfo=PLUS2),
        dt.timedelta(days=1, seconds=3, microseconds=4),
        pd.Timedelta("1 days 00:00:00.000000001"),
        np.timedelta64(90, "s"),
        Decimal("12.25"),
        np.int64(7),
        np.float32(0.5),
        np.bool_(True),
        b"\x00\xffab",
        bytearray(b"\x01\x02"),
        memoryview(b"\x03\x04"),
        uuid.UUID(int=12345),
        ("a", 1),
        "text",
        None,
    ],
    # A memoryview's repr holds its address: another id in each pytest-xdist worker.
    ids=lambda v: f"memoryview({bytes(v)!r})" if isinstance(v, memoryview) else repr(v),
)
def test_every_value_a_mapping_holds_comes_back_from_the_model_json(value: object) -> None:
    back = unjson(json.loads(json.dumps(jsonable(value), allow_nan=False)))
    if isinstance(value, np.datetime64 | np.timedelta64):
        assert back == pd.Timestamp(value) if isinstance(value, np.datetime64) else pd.Timedelta(value)
    elif isinstance(value, Decimal):
        assert back == float(value)
    elif isinstance(value, bytearray | memoryview):
        assert back == bytes(value)
    elif isinstance(value, np.generic):
        assert back == value.item() and type(back) is type(value.item())
    else:
        assert back == value
        assert type(back) is type(value)
        if isinstance(value, dt.datetime | dt.time) and value.tzinfo is not None:
            assert back.utcoffset() == value.utcoffset()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "value", [pd.NaT, pd.NA, np.datetime64("NaT"), Decimal("NaN"), float("nan")], ids=repr
)
def test_a_null_of_pandas_is_null_in_the_model_json(value: object) -> None:
    assert jsonable(value) is None


def _import_log(url: str) -> None:
    """70 import runs: 'row ok' (50) and 'row bad' (20) each fix the run's time (a timestamptz on
    PostgreSQL), its date, its time of day and its amount."""
    engine = sa.create_engine(url)
    stamp = sa.DateTime(timezone=True) if engine.dialect.name == "postgresql" else sa.DateTime()
    meta = sa.MetaData()
    log = sa.Table(
        "import_log",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("line", sa.String(10), nullable=False),
        sa.Column("loaded_at", stamp),
        sa.Column("day", sa.Date),
        sa.Column("at", sa.Time),
        sa.Column("amount", sa.Numeric(10, 2)),
    )
    ok = (dt.datetime(2024, 1, 1, 6, 7, tzinfo=UTC), dt.date(2024, 1, 1), dt.time(6, 7), Decimal("10.50"))
    bad = (dt.datetime(2024, 1, 2, 8, 9, tzinfo=UTC), dt.date(2024, 1, 2), dt.time(8, 9), Decimal("-3.25"))
    rows = []
    for i in range(70):
        line, (stamped, day, at, amount) = ("row ok", ok) if i % 7 < 5 else ("row bad", bad)
        if engine.dialect.name != "postgresql":
            stamped = stamped.replace(tzinfo=None)
        rows.append({"id": i + 1, "line": line, "loaded_at": stamped, "day": day, "at": at, "amount": amount})
    with engine.begin() as conn:
        meta.create_all(conn)
        conn.execute(log.insert(), rows)
    engine.dispose()


@pytest.mark.parametrize("kind", KINDS)
def test_a_value_fixing_a_timestamp_fits_to_a_model_file_that_samples(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """fit -> save -> load -> sample, where a text fixes a timestamp (with time zone on
    PostgreSQL): the file loads, and samples what the model in memory samples."""
    source = request.getfixturevalue(FIXTURES[kind])()
    _import_log(source)
    model = relsynth.fit(source, seed=0)
    spec = model.tables["import_log"].column("loaded_at")
    assert spec.how == "dependency" and spec.determinant is not None  # what the round trip is about
    path = tmp_path / "m.rsm"
    model.save(path)
    loaded = Model.load(path)  # was: ModelError "damaged relsynth model file"
    assert loaded.tables["import_log"].column("loaded_at").mapping == spec.mapping
    got = relsynth.sample(loaded, seed=1)["import_log"]
    want = relsynth.sample(model, seed=1)["import_log"]
    pd.testing.assert_frame_equal(got, want)
    stamps = got.groupby("line")["loaded_at"].nunique()
    assert len(got) == 70 and (stamps == 1).all(), stamps
    by_line = {line: pd.Timestamp(v) for line, v in got.groupby("line")["loaded_at"].first().items()}
    ok, bad = by_line["row ok"], by_line["row bad"]
    if ok.tzinfo is not None:
        ok, bad = ok.tz_convert("UTC").tz_localize(None), bad.tz_convert("UTC").tz_localize(None)
    assert ok == pd.Timestamp("2024-01-01 06:07") and bad == pd.Timestamp("2024-01-02 08:09")


def _obs(url: str, voided_rows: int) -> None:
    """2,000 observations of 400 people; the first ``voided_rows`` of them voided on one day (the
    only day date_voided holds): voided fixes date_voided."""
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    obs = sa.Table(
        "obs",
        meta,
        sa.Column("obs_id", sa.Integer, primary_key=True),
        sa.Column("person_id", sa.Integer, nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("voided", sa.Boolean, nullable=False),
        sa.Column("date_voided", sa.DateTime),
    )
    rng = np.random.default_rng(0)
    rows = [
        {
            "obs_id": i + 1,
            "person_id": (i * 7) % 400 + 1,
            "value": float(rng.normal(50, 10)),
            "voided": i < voided_rows,
            "date_voided": dt.datetime(2019, 1, 4, 13, 14, 15) if i < voided_rows else None,
        }
        for i in range(2000)
    ]
    with engine.begin() as conn:
        meta.create_all(conn)
        conn.execute(obs.insert(), rows)
    engine.dispose()


PRIVACY_KINDS = [pytest.param("sqlite"), pytest.param("mysql", marks=pytest.mark.mysql)]


@pytest.mark.parametrize("kind", PRIVACY_KINDS)
def test_the_date_of_the_one_voided_row_is_not_in_the_model_file(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """OpenMRS' obs: one row voided. voided (a boolean: public) fixes date_voided, and the pair
    [1, that row's date] was stored. A value one row holds is in neither file nor output."""
    source = request.getfixturevalue(FIXTURES[kind])()
    _obs(source, voided_rows=1)
    model = relsynth.fit(source, seed=0)
    path = tmp_path / "m.rsm"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        stored = z.read("model.json").decode()
    assert "2019-01-04" not in stored
    out = relsynth.sample(Model.load(path), seed=1, scale=5)["obs"]
    assert not out["date_voided"].astype(str).str.startswith("2019-01-04").any()


@pytest.mark.parametrize("kind", PRIVACY_KINDS)
def test_a_date_many_people_hold_is_still_fixed_by_its_flag(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The other side: 100 voided rows of many people on one day keep voided -> date_voided."""
    source = request.getfixturevalue(FIXTURES[kind])()
    _obs(source, voided_rows=100)
    model = relsynth.fit(source, seed=0)
    path = tmp_path / "m.rsm"
    model.save(path)
    out = relsynth.sample(Model.load(path), seed=1)["obs"]
    voided = out["voided"].astype(bool)
    assert voided.any()
    stamps = pd.to_datetime(out.loc[voided, "date_voided"])
    assert (stamps == pd.Timestamp("2019-01-04 13:14:15")).all()
    assert out.loc[~voided, "date_voided"].isna().all()


def _items(path: Path, rows: int) -> None:
    """A table of ``rows`` items, each with a note of twelve words (about 100 bytes a row)."""
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    rng = np.random.default_rng(1)
    picks = rng.integers(0, len(words), size=(rows, 13))
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, cat TEXT, note TEXT, v REAL)")
    con.executemany(
        "INSERT INTO item VALUES (?, ?, ?, ?)",
        [(i, words[p[0]], " ".join(words[x] for x in p[1:]), float(i % 97)) for i, p in enumerate(picks)],
    )
    con.commit()
    con.close()


def _limited(limit: int) -> None:
    """In the child: files no larger than ``limit`` bytes (a full disk, as SQLite sees it)."""
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_sqlite_target_a_full_disk_stopped_is_left_as_it_was(tmp_path: Path) -> None:
    """Attack round 36: --replace into an existing SQLite file that the disk cannot hold (a 5 MB
    tmpfs; here ulimit -f) failed cleanly, but left the .db grown beside a hot journal: copied
    alone or opened read-only it was malformed, and relsynth refused it until SQLite had opened it
    once with write access. Now the rollback is finished before the run ends."""
    import hashlib
    import os
    import subprocess
    import sys

    source, target = tmp_path / "src.db", tmp_path / "target.db"
    _items(source, 80_000)  # beyond SQLite's page cache: pages reach the file before COMMIT
    _items(target, 16_000)
    before = hashlib.sha256(target.read_bytes()).hexdigest()
    size = target.stat().st_size
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = ["synthesize", f"sqlite:///{source}", f"sqlite:///{target}", "--replace", "--no-report", "-q"]
    run = subprocess.run(
        [sys.executable, "-m", "relsynth", *command],
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=lambda: _limited(size + 600_000),  # the child only, before exec
        timeout=600,
    )
    assert run.returncode == 1, run.stderr
    assert "FAILED" in run.stderr and "Traceback" not in run.stderr
    assert not Path(f"{target}-journal").exists()  # was: a hot journal beside a grown file
    assert hashlib.sha256(target.read_bytes()).hexdigest() == before
    alone = tmp_path / "alone.db"
    alone.write_bytes(target.read_bytes())
    con = sqlite3.connect(f"file:{alone}?mode=ro", uri=True)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert con.execute("SELECT count(*) FROM item").fetchone() == (16_000,)
    con.close()
