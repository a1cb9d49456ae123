"""evaluate's safety net for personal data (privacy.personal_copies) and generated personal
values that fit their column whole (attack round 41, findings 3 and 9)."""

from __future__ import annotations

import json
import random

import pytest

import relsynth
from tests.conftest import fetch, run_raw

FIRST = ["Anna", "Ben", "Chloe", "David", "Emma", "Felix", "Greta", "Hugo", "Ida", "Jonas"]
LAST = ["Berg", "Costa", "Dahl", "Engel", "Frank", "Gruber", "Hansen", "Ivanov", "Jansen", "Keller"]


def _hospital(url: str) -> None:
    r = random.Random(4)
    run_raw(
        url,
        "CREATE TABLE patient (patient_id INTEGER PRIMARY KEY, mrn VARCHAR(12) NOT NULL UNIQUE, "
        "given_name VARCHAR(40) NOT NULL, surname VARCHAR(40) NOT NULL, birth_date DATE NOT NULL, "
        "email VARCHAR(80), insurance_no VARCHAR(16), prefs JSON)",
        "CREATE TABLE admission (admission_id INTEGER PRIMARY KEY, patient_id INTEGER NOT NULL "
        "REFERENCES patient(patient_id), ward VARCHAR(10) NOT NULL, clinician_note VARCHAR(300))",
    )
    patients, admissions = [], []
    for i in range(1, 401):
        f, last = r.choice(FIRST), r.choice(LAST) + ("" if i % 3 else f"-{LAST[i % 10]}")
        prefs = {"lang": r.choice(["en", "de"]), "sms": r.random() < 0.5}
        if i == 7:
            prefs["canary_allergy_note"] = "x"
        patients.append(
            (
                i,
                f"MRN{100000 + i}",
                f,
                last,
                f"19{r.randint(30, 99)}-0{r.randint(1, 9)}-1{r.randint(0, 9)}",
                f"{f.lower()}.{i}@mail.example.org",
                f"INS{r.randint(10**8, 10**9 - 1)}",
                json.dumps(prefs),
            )
        )
    for j in range(1, 1201):
        p = r.randint(1, 400)
        note = r.choice(
            [
                "Stable overnight, eating well.",
                "Reports mild pain after the walk.",
                None,
                "Discharge planned.",
            ]
        )
        admissions.append((j, p, r.choice(["A", "B", "C"]), note))
    run_raw(
        url,
        *[
            "INSERT INTO patient VALUES ({}, '{}', '{}', '{}', '{}', '{}', '{}', '{}')".format(*p)
            for p in patients
        ],
        *[
            "INSERT INTO admission VALUES ({}, {}, '{}', {})".format(
                a[0], a[1], a[2], "NULL" if a[3] is None else f"'{a[3]}'"
            )
            for a in admissions
        ],
    )


@pytest.mark.mysql
def test_evaluate_counts_real_people_planted_in_the_output(mysql_db) -> None:
    src, dst = mysql_db(), mysql_db()
    _hospital(src)
    relsynth.synthesize(src, dst, seed=1)
    honest = relsynth.evaluate(src, dst)["scores"]["privacy"]
    assert honest["personal_copies"] == {} and honest["personal_copies_found"] == 0  # no false alarm
    # six real patients over six synthetic ones, their MRN changed; a note naming one of them
    run_raw(
        dst,
        "UPDATE patient p JOIN {}.patient s ON s.patient_id = p.patient_id + 4 SET p.given_name = s.given_name, "
        "p.surname = s.surname, p.birth_date = s.birth_date, p.email = s.email, "
        "p.insurance_no = s.insurance_no, p.prefs = s.prefs WHERE p.patient_id BETWEEN 1 AND 6".format(
            src.rsplit("/", 1)[1]
        ),
    )
    canary = fetch(src, "SELECT given_name, surname FROM patient WHERE patient_id = 7")[0]
    run_raw(
        dst,
        f"UPDATE admission SET clinician_note = 'Seen with {canary[0]} {canary[1]} today' WHERE patient_id = 3",
    )
    result = relsynth.evaluate(src, dst, shareable=True)
    found = {
        (c["column"], c["kind"]): c["synthetic_rows"]
        for c in result["scores"]["privacy"]["personal_copies"]["patient"]
    }
    assert found[("email", "value")] == 6
    assert found[("insurance_no", "value")] == 6
    assert found[("birth_date", "name and birth date")] == 6
    assert found[("prefs", "rare JSON key")] == 1
    notes = result["scores"]["privacy"]["personal_copies"]["admission"]
    assert any(c["kind"] == "source name in text" and c["synthetic_rows"] >= 1 for c in notes)
    assert result["scores"]["privacy"]["passed"] is False
    assert canary[1] not in json.dumps(result)  # counts and column names only, never a value


def test_honest_demo_like_output_has_no_personal_copies(sqlite_db) -> None:
    src, dst = sqlite_db(), sqlite_db()
    run_raw(
        src,
        "CREATE TABLE customer (id INTEGER PRIMARY KEY, first_name VARCHAR(30), last_name VARCHAR(30), "
        "email VARCHAR(60), phone VARCHAR(20), note TEXT)",
        *[
            f"INSERT INTO customer VALUES ({i}, '{FIRST[i % 10]}', '{LAST[(i * 7) % 10]}', "
            f"'{FIRST[i % 10].lower()}{i}@example.com', '(555) 010-{i:04d}', "
            f"'{'Prefers mail' if i % 2 else 'Called about an order'}')"
            for i in range(1, 301)
        ],
    )
    relsynth.synthesize(src, dst, seed=2)
    p = relsynth.evaluate(src, dst)["scores"]["privacy"]
    assert p["personal_copies"] == {} and p["personal_copies_found"] == 0


def test_short_email_and_name_columns_get_whole_values(sqlite_db) -> None:
    src, dst = sqlite_db(), sqlite_db()
    r = random.Random(9)
    first, last = ["Ann", "Bo", "Eva", "Li", "Max", "Ola"], ["Lee", "Ng", "Oh", "Roe", "Poe", "Fox"]
    rows = []
    for i in range(1500):
        f, la = r.choice(first), r.choice(last)
        rows.append(f"INSERT INTO member VALUES ({i + 1}, '{f} {la}', '{f}', '{f.lower()}{i}@x.io')")
    run_raw(
        src,
        "CREATE TABLE member (member_id INTEGER PRIMARY KEY, full_name VARCHAR(12) NOT NULL, "
        "first_name VARCHAR(6) NOT NULL, email VARCHAR(20) NOT NULL UNIQUE)",
        *rows,
    )
    relsynth.synthesize(src, dst, seed=1)
    out = fetch(dst, "SELECT full_name, first_name, email FROM member")
    assert len(out) == 1500
    assert all("@" in e and "." in e.split("@")[1] and len(e) <= 20 for _, _, e in out)
    assert len({e for _, _, e in out}) == 1500
    # whole names: the first name column is the full name's first word, nothing cut
    assert all(len(full) <= 12 and len(f) <= 6 and full.split(" ")[0] == f for full, f, _ in out)


def test_fit_with_holdout_keeps_held_out_peoples_values_off_the_output(sqlite_db) -> None:
    """The guard is built from every source row, held-out ones included: a held-out person's phone
    is a real person's (the demo, fitted with a holdout, wrote one, and five full names)."""
    src, dst = sqlite_db(), sqlite_db()
    r = random.Random(5)
    phones = r.sample(range(1000), 400)
    run_raw(
        src,
        "CREATE TABLE customer (id INTEGER PRIMARY KEY, first_name VARCHAR(30), last_name VARCHAR(30), "
        "phone VARCHAR(20), city VARCHAR(10))",
        *[
            f"INSERT INTO customer VALUES ({i + 1}, '{FIRST[i % 10]}', '{LAST[(i * 7) % 10]}', "
            f"'(555) 010-2{p:03d}', '{r.choice(['Oslo', 'Rome'])}')"
            for i, p in enumerate(phones)
        ],
    )
    relsynth.synthesize(src, dst, seed=3, holdout=0.3)
    source = {p for (p,) in fetch(src, "SELECT phone FROM customer")}
    out = [p for (p,) in fetch(dst, "SELECT phone FROM customer")]
    assert len(out) > 100 and all(p.startswith("(555) 010-") for p in out if p)
    assert not [p for p in out if p in source]
    assert relsynth.evaluate(src, dst)["scores"]["privacy"]["personal_copies_found"] == 0
