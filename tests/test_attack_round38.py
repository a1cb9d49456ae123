"""Attack round 38 (a README-only helper aiming at the session's privacy changes): one person's
values kept because they were counted by rows.

1. A flat export whose rows name their person by a column (an MRN), learned from a sample
   (--fit-rows): in the sample most MRNs are on one row, so the column was not taken for the
   person, and one patient's ward, codes and note (30 rows) were kept in the model and output.
2. A shaped-text template kept one patient's letters: 30 accessions KOWALZ-nnnn of one patient
   among 1,500 were 30 distinct values, enough for a shape, and KOWALZ came out on 33 rows.
3. A date one patient's 40 rows share, far from the others, was kept as a sentinel ("not yet")
   value in the model file.
Each test fails on the code before the fix.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import zipfile
from pathlib import Path

import pandas as pd

import relsynth


def _model_text(model, tmp_path: Path) -> str:
    path = tmp_path / "model.relsynth"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        return "".join(z.read(n).decode("latin-1") for n in z.namelist())


def _flat(path: Path) -> str:
    """3,000 MRNs on 2-4 visits each; MRN0000007 on 30 with a ward, code and note of its own."""
    r = random.Random(2)
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE visits (id INTEGER PRIMARY KEY, mrn VARCHAR(20), birth_date DATE, zip VARCHAR(5), "
        "ward VARCHAR(20), alert_code VARCHAR(10), note VARCHAR(80))"
    )
    rows, i = [], 0
    for m in range(1, 3001):
        born = str(dt.date(1950, 1, 1) + dt.timedelta(days=r.randrange(20000)))
        zip_code = f"{r.randrange(100, 140)}00"
        for _ in range(30 if m == 7 else r.randint(2, 4)):
            i += 1
            a = r.randrange(1, 6)
            row = (
                i,
                f"MRN{m:07d}",
                born,
                zip_code,
                r.choice(["W1", "W2", "W3", "W4"]),
                f"A{a}",
                f"routine flag {a}",
            )
            if m == 7:
                row = (*row[:4], "SECRETWARD", "AZQ", "Zqnovak positive")
            rows.append(row)
    con.executemany("INSERT INTO visits VALUES (?,?,?,?,?,?,?)", rows)
    con.commit()
    con.close()
    return f"sqlite:///{path}"


def test_a_person_named_by_a_column_is_one_person_in_a_sampled_fit(tmp_path: Path) -> None:
    url = _flat(tmp_path / "flat.sqlite")
    model = relsynth.fit(url, seed=0, fit_rows=1000)
    assert model.source["sample_rows"] and model.source["rows_read"]["visits"] < 2000  # of 9,000
    stored = _model_text(model, tmp_path)
    out = relsynth.sample(model, seed=1)["visits"]
    for secret in ("SECRETWARD", "AZQ", "Zqnovak"):
        assert secret not in stored, secret
        assert not out.astype(str).apply(lambda c, s=secret: c.str.contains(s)).any().any(), secret


def _labs(path: Path) -> str:
    r = random.Random(3)
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE patient (id INTEGER PRIMARY KEY, birth_date DATE, sex TEXT);"
        "CREATE TABLE lab (id INTEGER PRIMARY KEY, patient_id INTEGER REFERENCES patient(id), "
        "accession TEXT, value REAL);"
    )
    con.executemany(
        "INSERT INTO patient VALUES (?,?,?)",
        [
            (i, str(dt.date(1950, 1, 1) + dt.timedelta(days=r.randrange(20000))), r.choice("MF"))
            for i in range(1, 1501)
        ],
    )
    rows, k = [], 0
    for i in range(1, 1501):
        for _ in range(30 if i == 77 else r.randint(1, 3)):
            k += 1
            prefix = "KOWALZ" if i == 77 else r.choice(["AB", "CD", "EF", "GH", "JK", "LM"])
            rows.append((k, i, f"{prefix}-{r.randrange(1000, 9999)}", round(r.gauss(5, 1), 2)))
    con.executemany("INSERT INTO lab VALUES (?,?,?,?)", rows)
    con.commit()
    con.close()
    return f"sqlite:///{path}"


def test_a_template_keeps_no_letters_of_one_patient(tmp_path: Path) -> None:
    url = _labs(tmp_path / "labs.sqlite")
    model = relsynth.fit(url, seed=0, fit_rows=0)
    stored = _model_text(model, tmp_path)
    assert "\\\\K\\\\O\\\\W" not in stored and "KOWALZ" not in stored
    out = relsynth.sample(model, seed=1)["lab"]
    assert not out["accession"].astype(str).str.contains("KOWALZ").any()
    assert (
        out["accession"].astype(str).str.match(r"^(AB|CD|EF|GH|JK|LM)-\d{4}$").mean() > 0.8
    )  # the others' stay


def _recalls(path: Path) -> str:
    r = random.Random(6)
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE patient (id INTEGER PRIMARY KEY, birth_date DATE, sex TEXT);"
        "CREATE TABLE enc (id INTEGER PRIMARY KEY, patient_id INTEGER REFERENCES patient(id), "
        "recall_code TEXT, recall_date DATE, los INTEGER);"
    )
    con.executemany(
        "INSERT INTO patient VALUES (?,?,?)",
        [
            (i, str(dt.date(1950, 1, 1) + dt.timedelta(days=r.randrange(20000))), r.choice("MF"))
            for i in range(1, 1501)
        ],
    )
    codes = {f"R{j}": str(dt.date(2020, j, 1)) for j in range(1, 6)}
    rows, k = [], 0
    for i in range(1, 1501):
        for _ in range(40 if i == 5 else r.randint(1, 3)):
            k += 1
            c = r.choice(list(codes))
            rows.append((k, i, "RZQ", "1999-12-31", 3) if i == 5 else (k, i, c, codes[c], r.randint(0, 9)))
    con.executemany("INSERT INTO enc VALUES (?,?,?,?,?)", rows)
    con.commit()
    con.close()
    return f"sqlite:///{path}"


def test_a_date_one_patients_rows_share_is_no_sentinel_kept(tmp_path: Path) -> None:
    url = _recalls(tmp_path / "recalls.sqlite")
    model = relsynth.fit(url, seed=0, fit_rows=0)
    stored = _model_text(model, tmp_path)
    assert "1999-12-31" not in stored and "RZQ" not in stored
    out = relsynth.sample(model, seed=1)["enc"]
    assert not (pd.to_datetime(out["recall_date"], errors="coerce").dt.year == 1999).any()
