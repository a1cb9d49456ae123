"""People in tables that repeat them: none of their records comes back (issue 10, attack round 4).

The attacks: a visits export repeating each patient's MRN, birth date, sex and postcode on every
visit (each postcode and birth date common by rows, one person's by people); a payroll repeating
each employee's number and salary every month with no employees table; a pair of common values
seen for one person only (postcode -> city); a surname in six notes of one patient; one patient's
150 visits among 1-6. Each looks in the target (SQLite, PostgreSQL, MariaDB, read back with SQL)
and in the model file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import relsynth
from relsynth.frames import schema_from_frames
from relsynth.model.text import Vocabulary
from tests.conftest import EVERY_DATABASE, model_contents


def _load(url: str, name: str, frame: pd.DataFrame, types: dict[str, sa.types.TypeEngine]) -> None:
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    table = sa.Table(
        name,
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        *(sa.Column(c, t) for c, t in types.items()),
    )
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), frame.to_dict("records"))
    engine.dispose()


def _read(url: str, name: str, cols: list[str]) -> pd.DataFrame:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return pd.read_sql(sa.select(sa.table(name, *[sa.column(c) for c in cols])), conn)
    finally:
        engine.dispose()


def _visits(seed: int = 10) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(80):
        mrn = f"MRN{rng.integers(10**7):07d}"
        born = date(1930, 1, 1) + timedelta(days=int(rng.integers(25_000)))
        sex, postcode = str(rng.choice(["M", "F"])), f"{rng.integers(100_000):05d}"
        for _ in range(int(rng.integers(5, 11))):
            visit = date(2022, 1, 1) + timedelta(days=int(rng.integers(700)))
            rows.append(
                (len(rows) + 1, mrn, born, sex, postcode, visit, round(float(rng.uniform(20, 800)), 2))
            )
    return pd.DataFrame(rows, columns=["id", "mrn", "birth_date", "sex", "postcode", "visit_date", "amount"])


VISIT_TYPES = {
    "mrn": sa.String(12),
    "birth_date": sa.Date(),
    "sex": sa.String(1),
    "postcode": sa.String(5),
    "visit_date": sa.Date(),
    "amount": sa.Float(),
}


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_flat_export_gives_back_no_patients_record(
    db: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Each postcode and birth date is on 5-10 rows, common by rows, and one patient's: counted by
    the MRN that names the patient, they are rare, and no (postcode, birth date) comes back."""
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    real = _visits()
    _load(source, "visits", real, VISIT_TYPES)
    relsynth.synthesize(source, target, seed=2)
    out = _read(target, "visits", ["mrn", "birth_date", "sex", "postcode"])
    assert len(out) == len(real)
    born = {str(d) for d in real["birth_date"]}
    assert not set(out["postcode"].dropna().astype(str)) & set(real["postcode"])
    # A date drawn over 70 years meets one of 80 real ones by chance (about 2 rows of 616); every
    # row carried one before.
    same = sum(str(pd.Timestamp(d).date()) in born for d in out["birth_date"].dropna())
    assert same < 0.05 * len(out), same
    assert not set(out["mrn"].dropna()) & set(real["mrn"])
    model = relsynth.fit(source, seed=2)
    text, _ = model_contents(model, tmp_path / "m.relsynth")
    assert not [p for p in real["postcode"].unique() if p in text]
    assert not [d for d in born if d in text]
    drawn = relsynth.sample(model, seed=5, scale=5.0)["visits"]
    pairs = set(zip(real["postcode"], real["birth_date"].astype(str), strict=True))
    assert (
        not {
            (str(p), str(pd.Timestamp(d).date()))
            for p, d in zip(drawn["postcode"], drawn["birth_date"], strict=True)
        }
        & pairs
    )


def _payroll(seed: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(40):
        emp, salary = int(rng.integers(100_000, 999_999)), round(float(rng.uniform(30_000, 120_000)), 2)
        grade = str(rng.choice(["A", "B", "C"]))
        for month in range(1, 13):
            rows.append((len(rows) + 1, emp, month, salary, grade))
    return pd.DataFrame(rows, columns=["id", "emp_no", "month", "salary", "grade"])


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_payroll_without_an_employees_table_gives_back_no_salary(
    db: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """emp_no fixes the salary on every month's row: it names the person. Their numbers, their
    salaries (the extremes and the quantiles) are neither written nor in the model file."""
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    real = _payroll()
    _load(
        source,
        "payroll",
        real,
        {"emp_no": sa.Integer(), "month": sa.Integer(), "salary": sa.Float(), "grade": sa.String(1)},
    )
    relsynth.synthesize(source, target, seed=1)
    out = _read(target, "payroll", ["emp_no", "salary"])
    assert len(out) == len(real)
    assert not set(out["emp_no"].dropna().astype(int)) & set(real["emp_no"])
    assert not set(out["salary"].dropna().round(2)) & set(real["salary"])
    model = relsynth.fit(source, seed=1)
    _, numbers = model_contents(model, tmp_path / "m.relsynth")
    assert not np.isin(real["salary"].unique(), numbers).any()
    assert not np.isin(real["emp_no"].unique().astype(float), numbers).any()


def test_a_pair_of_common_values_held_by_one_person_is_not_stored() -> None:
    """A postcode -> city conditional: ten postcodes of 30 rows, each nearly always its own city,
    and once another city (one row, one person). Both values are common; the pair is not."""
    rng = np.random.default_rng(3)
    rows = []
    for p in range(10):
        for i in range(30):
            city = f"City{p}" if i else f"City{(p + 1) % 10}"  # the rare pair: 1 row of 30
            rows.append((len(rows) + 1, f"P{p:03d}", city, str(rng.choice(["x", "y"]))))
    frame = pd.DataFrame(rows, columns=["id", "postcode", "city", "flag"])
    model = relsynth.fit({"site": frame}, seed=0)
    spec = next(c for c in model.tables["site"].columns if c.how == "conditional")
    assert {spec.name, spec.determinant} == {"postcode", "city"}
    flip = spec.name == "postcode"  # city -> postcode: the same pairs, read the other way
    stored = {(b, a) if flip else (a, b) for a, b, _ in spec.table["pairs"]}
    assert stored == {(f"P{p:03d}", f"City{p}") for p in range(10)}
    out = relsynth.sample(model, seed=1, scale=10.0)["site"]
    seen = set(zip(out["postcode"], out["city"], strict=True))
    assert not {(f"P{p:03d}", f"City{(p + 1) % 10}") for p in range(10)} & seen


def test_a_word_of_one_persons_notes_is_no_vocabulary_word() -> None:
    """Six notes of one patient name them: six values, one person. Counted by people, the
    surname is not kept; words many patients use are."""
    rng = np.random.default_rng(1)
    common = ["patient", "reports", "mild", "pain", "after", "walking", "stairs", "review", "in", "two"]
    notes, people = [], []
    for person in range(40):
        for _ in range(3):
            notes.append(" ".join(rng.choice(common, 6)))
            people.append(person)
    for i in range(6):
        notes.append(f"called Quixotelby at 555-0199 visit {i} pain review")
        people.append(40)
    vocab = Vocabulary.fit(pd.Series(notes), np.asarray(people))
    assert vocab is not None and "pain" in vocab.words
    assert "Quixotelby" not in vocab.words and "0199" not in vocab.words
    # Without people, six different values would keep it: what the attack used.
    unprotected = Vocabulary.fit(pd.Series(notes))
    assert unprotected is not None and "Quixotelby" in unprotected.words


def test_one_parents_extreme_number_of_children_is_not_drawn(tmp_path: Path) -> None:
    """One patient with 150 visits among 1-6: the count is that patient's. It is neither a level
    of the model file nor drawn, nor can it be worked out from what is (a pooled mean of the five
    largest, 35, gave 150 back by its sum); the k-th largest count is the most any parent gets."""
    rng = np.random.default_rng(4)
    patients = pd.DataFrame({"id": np.arange(1, 101), "age": rng.integers(20, 90, 100)})
    counts = rng.integers(1, 7, 100)
    counts[17] = 150
    owners = np.repeat(patients["id"].to_numpy(), counts)
    visits = pd.DataFrame(
        {
            "id": np.arange(1, len(owners) + 1),
            "patient_id": owners,
            "cost": rng.gamma(2, 50, len(owners)).round(2),
        }
    )
    frames = {"patient": patients, "visit": visits}
    schema = schema_from_frames(
        frames,
        primary_keys={"patient": ["id"], "visit": ["id"]},
        foreign_keys=[("visit", ["patient_id"], "patient", ["id"])],
    )
    model = relsynth.fit(frames, schema=schema, seed=0)
    text, numbers = model_contents(model, tmp_path / "m.relsynth")
    assert 150.0 not in numbers and "150" not in text
    fifth = int(np.sort(counts)[-5])  # the most any parent gets; no pooled mean gives 150 back
    assert f"{int(counts.sum() - 4 * fifth)}" not in text
    for seed in range(3):
        drawn = relsynth.sample(model, seed=seed, scale=2.0)["visit"]
        assert drawn["patient_id"].value_counts().max() <= fifth


@pytest.mark.parametrize("db", EVERY_DATABASE)
@pytest.mark.parametrize("column, sql_type", [("member_id", sa.Integer()), ("patient_nbr", sa.BigInteger())])
def test_a_whole_number_naming_the_person_is_counted_as_one(
    db: str, column: str, sql_type: sa.types.TypeEngine, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Attack round 5: a key-like integer (member_id, profiled as a code) and a 10-digit number
    learned as a plain number name the person as well as an MRN does: no (id, birth date) pair
    and no id of theirs comes back, nor is either in the model file."""
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    rng = np.random.default_rng(7)
    rows = []
    for _ in range(60):
        who = int(rng.integers(10**9, 10**10)) if column == "patient_nbr" else int(rng.integers(1000, 99999))
        born = date(1940, 1, 1) + timedelta(days=int(rng.integers(20_000)))
        for _ in range(int(rng.integers(3, 7))):
            rows.append((len(rows) + 1, who, born, round(float(rng.uniform(5, 500)), 2)))
    real = pd.DataFrame(rows, columns=["id", column, "birth_date", "cost"])
    _load(source, "claims", real, {column: sql_type, "birth_date": sa.Date(), "cost": sa.Float()})
    relsynth.synthesize(source, target, seed=3)
    out = _read(target, "claims", [column, "birth_date"])
    assert not set(out[column].dropna().astype("int64")) & set(real[column])
    pairs = set(zip(real[column], real["birth_date"].astype(str), strict=True))
    drawn = {
        (int(a), str(pd.Timestamp(b).date())) for a, b in zip(out[column], out["birth_date"], strict=True)
    }
    assert not drawn & pairs
    text, numbers = model_contents(relsynth.fit(source, seed=3), tmp_path / "m.relsynth")
    assert not np.isin(real[column].unique().astype(float), numbers).any()
    assert not [v for v in real[column].unique() if str(v) in text]


def test_a_small_clinics_patients_are_people(sqlite_db) -> None:
    """40 patients (under the 50 --holdout needs): one patient's diagnosis on 6 of their
    encounters is still one person's, not 6 rows'."""
    rng = np.random.default_rng(2)
    patients = pd.DataFrame({"id": np.arange(1, 41), "age": rng.integers(20, 90, 40)})
    owner = np.repeat(patients["id"].to_numpy(), rng.integers(3, 8, 40))
    codes = rng.choice(["E11", "I10", "J45", "K21"], len(owner)).astype(object)
    codes[owner == 7] = "B20.HIVQ"
    encounters = pd.DataFrame({"id": np.arange(1, len(owner) + 1), "patient_id": owner, "code": codes})
    frames = {"patient": patients, "encounter": encounters}
    schema = schema_from_frames(
        frames,
        primary_keys={"patient": ["id"], "encounter": ["id"]},
        foreign_keys=[("encounter", ["patient_id"], "patient", ["id"])],
    )
    assert (owner == 7).sum() >= 3
    model = relsynth.fit(frames, schema=schema, seed=0)
    for seed in range(3):
        assert "B20.HIVQ" not in set(relsynth.sample(model, seed=seed, scale=3.0)["encounter"]["code"])


def test_a_json_key_of_one_person_is_not_kept() -> None:
    """A key on six documents of one member is theirs (round 5): it needs k people, not 2 documents."""
    from relsynth.model.natives import _fit_json

    docs = [json.dumps({"dose": i % 3, "route": "oral"}) for i in range(60)]
    people = np.repeat(np.arange(20), 3)
    docs += [json.dumps({"dose": 1, "allergy_note": "x"}) for _ in range(6)]
    people = np.concatenate([people, np.full(6, 99)])
    fitted = json.dumps(_fit_json(docs, people, 5))
    assert "route" in fitted and "allergy_note" not in fitted


def test_a_rare_time_zone_offset_is_not_kept() -> None:
    from datetime import time, timezone

    from relsynth.transform import time_offsets

    utc, nepal = UTC, timezone(timedelta(hours=5, minutes=45))
    values = pd.Series([time(9, 0, tzinfo=utc)] * 399 + [time(9, 0, tzinfo=nepal)])
    assert [o for o, _ in time_offsets(values, 5)] == [0.0]
    assert len(time_offsets(values, 1)) == 2


def test_one_mistyped_row_does_not_make_the_person_a_category_again(tmp_path: Path) -> None:
    """Round 6: a policy number fixing a birth date on every row but one (a typo of one day) still
    names the person: no policy number and no birth date of theirs in the model file."""
    rng = np.random.default_rng(12)
    rows = []
    for _ in range(120):
        policy = f"POL-{rng.integers(10**6):06d}"
        born = date(1940, 1, 1) + timedelta(days=int(rng.integers(20_000)))
        for _ in range(int(rng.integers(5, 10))):
            rows.append((len(rows) + 1, policy, born, round(float(rng.uniform(10, 900)), 2)))
    frame = pd.DataFrame(rows, columns=["id", "policy_no", "dob", "amount"])
    frame.loc[0, "dob"] = frame.loc[0, "dob"] + timedelta(days=1)
    model = relsynth.fit({"claims": frame}, seed=0)
    text, _ = model_contents(model, tmp_path / "m.relsynth")
    assert not [p for p in frame["policy_no"].unique() if p in text]
    assert not [d for d in frame["dob"].astype(str).unique() if d in text]


def test_a_code_that_a_coarsening_of_it_follows_is_no_person() -> None:
    """Attack round 28: month (12 values) fixes quarter (4) on every row of a sales table, as an age
    fixes its band. That made month the column naming the person: it came back as fresh codes
    (12 on half the rows, 0..999 without a CHECK) and quarter with two of its four levels. A
    coarsening is no person's record: both keep their values and shares."""
    rng = np.random.default_rng(2)
    month = rng.integers(1, 13, 5000)
    sales = pd.DataFrame(
        {
            "id": np.arange(1, 5001),
            "month": month,
            "quarter": (month - 1) // 3 + 1,
            "amount": np.round(rng.lognormal(4, 1, 5000), 2),
        }
    )
    model = relsynth.fit({"sales": sales}, seed=0)
    out = relsynth.sample(model, seed=1)["sales"]
    assert set(out["month"].astype(int)) == set(range(1, 13))
    assert set(out["quarter"].astype(int)) == {1, 2, 3, 4}
    shares = out["month"].astype(int).value_counts(normalize=True)
    assert shares.max() < 0.15  # about 1/12 each, not one month on half the rows
