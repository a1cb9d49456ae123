"""The guards' hash sets past what memory holds (relsynth.model.hashsets): collected on disk, kept on
disk behind a filter. Attacked: the set on disk must answer exactly as the set in memory does
(no source value let through, no synthetic value stopped by a false alarm, so the same seed
gives the same database), records held twice must stay unguarded as before, and the files must
go with the set."""

from __future__ import annotations

import gc
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import relsynth
from relsynth.model import guards, hashsets
from relsynth.model.generate import record_copies
from tests.conftest import EVERY_DATABASE


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sets spill past 500 hashes and stay on disk past 800: every guard of a small table does."""
    monkeypatch.setattr(hashsets, "SPILL_HASHES", 500)
    monkeypatch.setattr(hashsets, "MEMORY_HASHES", 800)


def _chunks(values: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def test_a_set_on_disk_answers_as_the_set_in_memory(tiny: None) -> None:
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2**64 - 1, 20_000, dtype=np.uint64)
    keys[:4_000] = keys[4_000:8_000]  # repeated
    keys[8_000:8_100] = np.arange(100, dtype=np.uint64)  # small hashes: one part of the split
    collector = hashsets.HashCollector()
    for part in _chunks(keys, 333):
        collector.add(part)
        assert collector._held <= hashsets.SPILL_HASHES
    on_disk = collector.distinct()
    assert on_disk.on_disk and len(on_disk) == len(np.unique(keys))
    assert np.array_equal(np.asarray(on_disk.hashes), np.unique(keys))
    probes = np.concatenate([keys, rng.integers(0, 2**64 - 1, 200_000, dtype=np.uint64), keys + np.uint64(1)])
    assert np.array_equal(on_disk.contains(probes), np.isin(probes, keys))
    assert np.array_equal(hashsets.HashSet.of(keys).contains(probes), np.isin(probes, keys))


def test_records_held_once_are_found_across_the_split(tiny: None) -> None:
    rng = np.random.default_rng(1)
    exact = rng.integers(0, 2**64 - 1, 6_000, dtype=np.uint64)
    exact[:1_000] = exact[5_000:]  # 1,000 records held twice: first and last chunks
    rounded = exact ^ np.uint64(0xABCDEF)
    rounded[1_500:1_600] = rounded[2_000:2_100]  # two unique records equal to 10 digits: one hash
    collector = hashsets.HashCollector(paired=True)
    for e, r in zip(_chunks(exact, 700), _chunks(rounded, 700), strict=True):
        collector.add(e, r)
    held = collector.once()
    values, counts = np.unique(exact, return_counts=True)
    once = np.isin(exact, values[counts == 1])
    assert np.array_equal(np.asarray(held.hashes), np.unique(rounded[once]))
    assert not held.contains(rounded[:1_000]).any()  # the records held twice


def test_the_files_are_private_and_go_with_the_set(tiny: None) -> None:
    collector = hashsets.HashCollector()
    for part in _chunks(np.arange(1, 5_001, dtype=np.uint64) * np.uint64(2654435761), 400):
        collector.add(part)
    held = collector.distinct()
    home = held._home
    assert home is not None
    path = home.path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
    assert [p.name for p in path.iterdir()] == ["set"]  # the collection's own files are gone
    del held, home
    gc.collect()
    assert not path.exists()


def _load(url: str, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "price": rng.integers(100, 100_000, n) / 100,
            "code": rng.choice(["a", "b", "c", "d", "e"], n),
            "ward": rng.choice([f"W{i}" for i in range(40)], n),
            "note": [f"seen on day {i} by the {w} team" for i, w in enumerate(rng.integers(0, 9, n))],
        }
    )
    held_twice = ["price", "code", "ward"]
    frame.loc[: n // 10, held_twice] = frame.loc[n // 2 : n // 2 + n // 10, held_twice].to_numpy()
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    sa.Table(
        "t",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("price", sa.Numeric(10, 2), nullable=False),
        sa.Column("code", sa.String(4), nullable=False),
        sa.Column("ward", sa.String(8), nullable=False),
        sa.Column("note", sa.String(80)),
    )
    u = sa.Table("u", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("label", sa.String(8)))
    meta.create_all(engine)
    with engine.begin() as conn:
        frame.to_sql("t", conn, if_exists="append", index=False)
        conn.execute(u.insert(), [{"id": i, "label": f"L{i % 7}"} for i in range(1, 101)])
    engine.dispose()
    return frame


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_guards_on_disk_give_the_database_guards_in_memory_give(
    db: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source whose guards spill and stay on disk (thresholds made tiny) is guarded exactly as
    one whose guards fit in memory: every source record and text caught, none one cent off, and the
    same seed samples the same rows."""
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    url = make()
    source = _load(url, 3_000)
    in_memory = relsynth.fit(url, seed=0, sample_rows=500)
    monkeypatch.setattr(hashsets, "SPILL_HASHES", 300)
    monkeypatch.setattr(hashsets, "MEMORY_HASHES", 400)
    on_disk = relsynth.fit(url, seed=0, sample_rows=500)
    tm_mem, tm_disk = in_memory.tables["t"], on_disk.tables["t"]
    assert tm_disk.record_guard is not None and tm_disk.record_guard.members.on_disk
    note = tm_disk.column("note").guard
    assert note is not None and note.members.on_disk
    assert len(tm_disk.record_guard) == len(tm_mem.record_guard)
    table = on_disk.schema.table("t")
    rows = source.assign(price=source["price"].astype(float))
    for tm in (tm_mem, tm_disk):
        held_once = ~rows[["price", "code", "ward"]].duplicated(keep=False).to_numpy()
        caught = record_copies(tm, table, rows)
        assert caught[held_once].all() and not caught[~held_once].any()
        # The note is generated and kept off every source note by its own guard: no second record
        # with it, and another note leaves a row the copy of its numbers and categories it was.
        assert (record_copies(tm, table, rows.assign(note=rows["note"] + ".")) == caught).all()
        assert not record_copies(tm, table, rows.assign(price=rows["price"] + 0.01)).any()
        guard = tm.column("note").guard
        assert guard is not None and guard.copies(rows["note"].to_numpy(dtype=object)).all()
        assert not guard.copies((rows["note"] + ".").to_numpy(dtype=object)).any()
    a = relsynth.sample(in_memory, seed=3)
    b = relsynth.sample(on_disk, seed=3)
    pd.testing.assert_frame_equal(a["t"], b["t"])


def test_a_table_whose_chunks_come_apart_is_refused(sqlite_db: Callable[[], str]) -> None:
    """Guards are made when a table's last chunk is in: a table seen again would get a second,
    partial guard in place of the first, letting its first chunks' records through."""
    url = sqlite_db()
    source = _load(url, 400)
    model = relsynth.fit(url, seed=0)
    other = pd.read_sql_table("u", sa.create_engine(url))
    guards.attach_chunks(model, [("t", source[:200]), ("t", source[200:]), ("u", other)])
    with pytest.raises(AssertionError, match="came apart"):
        guards.attach_chunks(model, [("t", source[:200]), ("u", other), ("t", source[200:])])


_LOW = """
import sys
import relsynth.model.hashsets as h
h.SPILL_HASHES, h.MEMORY_HASHES = 200, 300
from relsynth.cli import main
sys.argv[0] = "relsynth"
sys.exit(main())
"""


@pytest.mark.parametrize("where", ["guards", "target"])
def test_no_room_on_disk_is_a_one_line_failure(
    where: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A disk that takes less than it is given (a file size limit here; a full disk alike): for the
    guards' files a line that names TMPDIR, for a SQLite target one that says what to free; no
    internal error, nothing left behind."""
    import resource
    import subprocess
    import sys

    source = f"sqlite:///{tmp_path / 'source.db'}"
    _load(source, 3_000)
    if where == "guards":  # a PostgreSQL target: the server writes it, only the guards' files are ours
        target = request.getfixturevalue("pg_db")()
        size = 16 * 1024
    else:
        target, size = f"sqlite:///{tmp_path / 'out.db'}", 64 * 1024

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    run = subprocess.run(
        [sys.executable, "-c", _LOW, "synthesize", source, target, "--fit-rows", "500", "--no-report", "-q"],
        env={**os.environ, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        preexec_fn=limit,
        timeout=300,
    )
    assert run.returncode == 1, run.stderr
    assert run.stderr.startswith("FAILED:") and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert ("TMPDIR" if where == "guards" else "file size limit") in run.stderr
    assert not list(tmp_path.glob("relsynth-guard-*"))
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        assert not sa.inspect(conn).get_table_names()
    engine.dispose()
