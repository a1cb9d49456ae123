"""The same --seed gives the same output in every process.

Python salts the hash of strings per process (PYTHONHASHSEED), so iterating a set of strings (or a
dict built from one) can change order between runs; one such loop feeding the random generator
makes two runs with the same seed differ. The tests in one process never see it: each run here is
its own interpreter, with a different hash seed.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

# Fit, save, load and sample in a fresh interpreter; print each table's row count and a digest of
# its rows in output order (order is part of "the same output").
_RUN = """
import hashlib, json, sys, warnings
warnings.filterwarnings("ignore")
from relsynth import api
from relsynth.model.spec import Model
source, model_file = sys.argv[1], sys.argv[2]
api.fit(f"sqlite:///{source}", seed=11).save(model_file)
tables = api.sample(Model.load(model_file), seed=11, source=f"sqlite:///{source}")
out = {}
for name, frame in sorted(tables.items()):
    text = frame.to_csv(index=False).encode()
    out[name] = [len(frame), hashlib.sha256(text).hexdigest()]
print(json.dumps(out))
"""

_WARDS = ["cardiology", "oncology", "neurology", "pediatrics", "orthopedics", "geriatrics"]
_CITIES = ["Lyon", "Porto", "Graz", "Turku", "Ghent", "Brno", "Cork", "Split"]
_DIAGNOSES = ["I10", "E11", "J45", "K21", "M54", "F32", "N39", "J18", "R51", "L40"]
_TESTS = ["HB", "GLU", "CRP", "NA", "K", "ALT"]


def _build(path: Path) -> None:
    """Three tables in a chain, text categories everywhere (some levels rare, one column under a
    CHECK list of strings), dates in order: the parts of the model that hold sets of strings."""
    rng = random.Random(5)
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE patients(
          patient_id INTEGER PRIMARY KEY,
          sex TEXT NOT NULL CHECK (sex IN ('F', 'M', 'X')),
          city TEXT NOT NULL,
          blood TEXT CHECK (blood IN ('A', 'B', 'AB', 'O')),
          born DATE NOT NULL
        );
        CREATE TABLE visits(
          visit_id INTEGER PRIMARY KEY,
          patient_id INTEGER NOT NULL REFERENCES patients(patient_id),
          ward TEXT NOT NULL,
          diagnosis TEXT NOT NULL,
          admitted DATE NOT NULL,
          discharged DATE NOT NULL,
          cost REAL NOT NULL,
          CHECK (discharged >= admitted)
        );
        CREATE TABLE labs(
          lab_id INTEGER PRIMARY KEY,
          visit_id INTEGER NOT NULL REFERENCES visits(visit_id),
          test_code TEXT NOT NULL,
          flag TEXT,
          value REAL
        );
        """
    )
    visit = lab = 0
    for p in range(1, 151):
        city = _CITIES[p % 3] if p % 40 == 0 else rng.choice(_CITIES)
        sex = "X" if p < 4 else rng.choice("FM")
        blood = rng.choice(["A", "B", "AB", "O", None])
        born = f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        con.execute("INSERT INTO patients VALUES (?, ?, ?, ?, ?)", (p, sex, city, blood, born))
        for _ in range(rng.randint(0, 3)):
            visit += 1
            day = rng.randint(1, 20)
            ward = "burns" if visit % 97 == 0 else rng.choice(_WARDS)  # a rare level
            con.execute(
                "INSERT INTO visits VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    visit,
                    p,
                    ward,
                    rng.choice(_DIAGNOSES),
                    f"2023-{rng.randint(1, 12):02d}-{day:02d}",
                    f"2023-12-{day + rng.randint(0, 8):02d}",
                    round(rng.uniform(50, 900), 2),
                ),
            )
            for _ in range(rng.randint(0, 3)):
                lab += 1
                con.execute(
                    "INSERT INTO labs VALUES (?, ?, ?, ?, ?)",
                    (
                        lab,
                        visit,
                        rng.choice(_TESTS),
                        rng.choice(["low", "high", "normal", "critical", None]),
                        round(rng.uniform(1, 200), 1) if rng.random() < 0.8 else None,
                    ),
                )
    con.commit()
    con.close()


def _run(source: Path, work: Path, hash_seed: int) -> dict[str, tuple[int, str]]:
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
    done = subprocess.run(
        [sys.executable, "-c", _RUN, str(source), str(work / f"m{hash_seed}.rsm")],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    printed = json.loads(done.stdout.strip().splitlines()[-1])
    return {table: (int(rows), str(digest)) for table, (rows, digest) in printed.items()}


def test_same_seed_same_output_whatever_the_hash_seed(tmp_path: Path) -> None:
    """Three processes, three string-hash salts, one --seed: every table the same, row for row."""
    source = tmp_path / "clinic.db"
    _build(source)
    runs = {h: _run(source, tmp_path, h) for h in (0, 1, 2)}
    first = runs[0]
    assert set(first) == {"patients", "visits", "labs"}
    assert all(rows > 0 for rows, _ in first.values())
    for h, other in runs.items():
        for table in first:
            assert other[table] == first[table], f"{table} differs under PYTHONHASHSEED={h}"
