"""Attack round 36, evaluation: ``relsynth evaluate`` on a 47k-row REDCap-like SQLite database (an
EAV table with no primary key under a 3-row events table) asked for over 22 GB and was killed by
the kernel (exit 137, no report; PostgreSQL's processes were on the OOM list of the machine).

- The 3-row root brought its child whole (--sample-rows counts root rows), and the contingency
  similarity of field_name x value counted a dense table of every real-or-synthetic class of one
  by every class of the other: 43,725 x 31,799 cells, twice (11 GB each). Now only the cells some
  row holds are counted: memory follows the rows, the score is the same.
- Out of memory, evaluate advised "--scale", an option it does not have.
"""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import numpy as np

from relsynth.evaluation.fidelity import contingency_similarity
from relsynth.terminal import State, _known

ROWS = 6000
FIELDS = [f"field_{i}" for i in range(15)]


def _eav(path: Path, *, synthetic: bool) -> None:
    """REDCap's shape: an EAV table (text record, field_name, value; no primary key, no declared
    key) beside a 3-row events table. The synthetic side spells every field_name and value
    afresh, as the engine did on REDCap (43,710 distinct field names for 15)."""
    rnd = random.Random(36 + synthetic)
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE events (event_id INTEGER PRIMARY KEY, arm_id INTEGER, day_offset REAL, descrip TEXT);"
        "CREATE TABLE eav (project_id INTEGER, event_id INTEGER, record TEXT, field_name TEXT, value TEXT);"
    )
    con.executemany(
        "INSERT INTO events VALUES (?, ?, ?, ?)",
        [(40, 1, 0, "Baseline"), (41, 1, 90, "3 months"), (42, 1, 365, "12 months")],
    )
    rows = []
    for i in range(ROWS):
        event = (40, 41, 42)[i % 3]
        if synthetic:
            field, value = f"f{i:05d}", f"v{i:05d}"
        else:
            field = FIELDS[i % len(FIELDS)]
            value = rnd.choice(
                ["0", "1", "2", f"{rnd.gauss(80, 15):.1f}", f"p{rnd.randrange(ROWS // 5)}@mail.example"]
            )
        rows.append((12, event, str(1000 + i // 20), field, value))
    con.executemany("INSERT INTO eav VALUES (?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()


PEAK = """
import json, resource, sys, tracemalloc
resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))  # never the machine's memory
import relsynth
relsynth.evaluate(sys.argv[1], sys.argv[2], seed=0, include=("events",))  # imports: not the data's
tracemalloc.start()
try:
    result = relsynth.evaluate(sys.argv[1], sys.argv[2], seed=0)
    error = None
except MemoryError:
    result, error = None, "MemoryError"
peak = tracemalloc.get_traced_memory()[1]
pairs = [] if result is None else result["tables"]["eav"]["pairs"]
print(json.dumps({"peak": peak, "error": error, "pairs": len(pairs)}))
"""


def test_evaluate_memory_follows_the_rows_of_an_eav_table(tmp_path: Path) -> None:
    source, synth = tmp_path / "source.db", tmp_path / "synth.db"
    _eav(source, synthetic=False)
    _eav(synth, synthetic=True)
    out = subprocess.run(
        [sys.executable, "-c", PEAK, f"sqlite:///{source}", f"sqlite:///{synth}"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["error"] is None, got
    assert got["pairs"] >= 1  # field_name x value was compared, not left out
    # Before: dense counts of field_name's 6,015 classes x value's thousands, twice: a 1.4 GB peak
    # for 6,000 rows of five short columns. Now: 19 MB (3 kB a row), all steps together.
    assert got["peak"] < 10_000 * ROWS, got


def test_contingency_counts_only_held_cells() -> None:
    """The same score as the dense table it no longer builds."""
    rng = np.random.default_rng(0)

    def dense(a: tuple[np.ndarray, np.ndarray, int], b: tuple[np.ndarray, np.ndarray, int]) -> float:
        (ra, sa, na), (rb, sb, nb) = a, b
        jr = np.bincount(ra * nb + rb, minlength=na * nb) / len(ra)
        js = np.bincount(sa * nb + sb, minlength=na * nb) / len(sa)
        return float(1.0 - 0.5 * np.abs(jr - js).sum())

    for _ in range(100):
        na, nb = (int(x) for x in rng.integers(1, 20, 2))
        n1, n2 = (int(x) for x in rng.integers(1, 300, 2))
        a = (rng.integers(0, na, n1), rng.integers(0, na, n2), na)
        b = (rng.integers(0, nb, n1), rng.integers(0, nb, n2), nb)
        assert abs(contingency_similarity(a, b) - dense(a, b)) < 1e-12


def test_out_of_memory_advice_names_only_options_of_the_command() -> None:
    from relsynth.cli import main

    for name, command in main.commands.items():  # type: ignore[attr-defined]
        ctx = click.Context(command, info_name=name)
        message = _known(MemoryError(), State(), name)
        assert message is not None and message.startswith("Out of memory: ")
        options = {o for p in command.get_params(ctx) for o in p.opts if o.startswith("--")}
        named = {w.strip("(),;.") for w in message.split() if w.startswith(("--", "(--"))}
        assert named <= options, (name, named - options)
    evaluate = _known(MemoryError(), State(), "evaluate") or ""
    assert "--scale" not in evaluate and "--sample-rows" in evaluate
