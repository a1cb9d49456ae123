"""The bundled hospital demo: its planted structure and correlations are what relsynth's own tests lean on,
so these tests fail loudly if either goes missing."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from relsynth.demos import hospital

TABLES = (
    "diagnosis_codes",
    "wards",
    "providers",
    "patients",
    "admissions",
    "diagnoses",
    "lab_results",
    "procedures",
    "care_team",
    "transfers",
)
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """One scale-1 build shared by the module (its speed is measured in benchmarks/, not here)."""
    path = tmp_path_factory.mktemp("hospital") / "hospital.db"
    return hospital.build(path), 0.0


@pytest.fixture(scope="module")
def con(built: tuple[Path, float]) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(built[0])
    yield connection
    connection.close()


def _scalar(con: sqlite3.Connection, sql: str) -> object:
    """Most checks are a single COUNT or AVG."""
    return con.execute(sql).fetchone()[0]


def _pk_columns(con: sqlite3.Connection, table: str) -> list[str]:
    """Ordering by the real key (composite ones included) makes row lists comparable across builds."""
    info = con.execute(f"PRAGMA table_info({table})").fetchall()
    return [row[1] for row in sorted(info, key=lambda r: r[5]) if row[5] > 0]


def _dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows in primary-key order, so two builds can be compared exactly."""
    connection = sqlite3.connect(path)
    try:
        return {
            t: connection.execute(
                f"SELECT * FROM {t} ORDER BY {', '.join(_pk_columns(connection, t))}"
            ).fetchall()
            for t in TABLES
        }
    finally:
        connection.close()


def _spearman(x: list[float], y: list[float]) -> float:
    """Rank correlation without scipy, so the demo's tests need only numpy and sqlite3."""

    def ranks(values: list[float]) -> np.ndarray:
        arr = np.asarray(values, dtype=float)
        order = np.argsort(arr, kind="mergesort")
        raw = np.empty(len(arr))
        raw[order] = np.arange(len(arr))
        _, inverse, counts = np.unique(arr, return_inverse=True, return_counts=True)
        return (np.bincount(inverse, weights=raw) / counts)[inverse]  # ties get their average rank

    return float(np.corrcoef(ranks(x), ranks(y))[0, 1])


# ------------------------------------------------------------------------------------------------------
# Build, determinism, CLI
# ------------------------------------------------------------------------------------------------------


def test_builds_small(built: tuple[Path, float]) -> None:
    """The demo is rebuilt by many tests elsewhere; it has to stay small."""
    path, _ = built
    assert path.stat().st_size < 3_500_000


def test_same_seed_same_rows_other_seed_other_rows(built: tuple[Path, float], tmp_path: Path) -> None:
    """Downstream tests compare against fixed expectations, so a seed must pin every row."""
    again = _dump(hospital.build(tmp_path / "again.db", seed=7))
    first = _dump(built[0])
    for table in TABLES:
        assert first[table] == again[table], table
    small_a = _dump(hospital.build(tmp_path / "a.db", seed=7, scale=0.2))
    small_b = _dump(hospital.build(tmp_path / "b.db", seed=8, scale=0.2))
    for table in ("providers", "patients", "admissions", "lab_results"):
        assert small_a[table] != small_b[table], table
    assert small_a["diagnosis_codes"] == small_b["diagnosis_codes"]  # reference data is fixed


def test_scale_changes_patients_not_staff(con: sqlite3.Connection, tmp_path: Path) -> None:
    """Scale grows the patient side only; the reference side stays the same."""
    small = sqlite3.connect(hospital.build(tmp_path / "small.db", scale=0.1))
    try:
        assert _scalar(small, "SELECT COUNT(*) FROM patients") == 100
        assert _scalar(con, "SELECT COUNT(*) FROM patients") == 1000
        for table in ("providers", "wards", "diagnosis_codes"):
            assert _scalar(small, f"SELECT COUNT(*) FROM {table}") == _scalar(
                con, f"SELECT COUNT(*) FROM {table}"
            )
        assert _scalar(small, "SELECT COUNT(*) FROM admissions") < _scalar(
            con, "SELECT COUNT(*) FROM admissions"
        )
    finally:
        small.close()


def test_overwrites_existing_file_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m relsynth.demos.hospital OUT.db` must replace whatever is at OUT.db."""
    out = tmp_path / "cli.db"
    out.write_bytes(b"not a database")
    assert hospital.main([str(out), "--seed", "3", "--scale", "0.05"]) == 0
    assert "admissions" in capsys.readouterr().out
    connection = sqlite3.connect(out)
    try:
        assert _scalar(connection, "SELECT COUNT(*) FROM patients") == 50
    finally:
        connection.close()
    with pytest.raises(ValueError):
        hospital.build(tmp_path / "bad.db", scale=0)


# ------------------------------------------------------------------------------------------------------
# Schema structure
# ------------------------------------------------------------------------------------------------------


def test_tables_and_row_counts(con: sqlite3.Connection) -> None:
    """An empty table is a planted case too (transfers)."""
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert set(TABLES) <= names
    counts = {t: _scalar(con, f"SELECT COUNT(*) FROM {t}") for t in TABLES}
    assert counts["transfers"] == 0
    assert all(counts[t] > 0 for t in TABLES if t != "transfers"), counts
    assert 40 <= counts["diagnosis_codes"] <= 60
    assert counts["wards"] == 12 and counts["providers"] == 120 and counts["patients"] == 1000
    assert 2000 <= counts["admissions"] <= 3200
    assert 8000 <= counts["lab_results"] <= 13000


def test_integrity_and_foreign_keys(con: sqlite3.Connection) -> None:
    """The build checks this itself; assert it again on the file that was written."""
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    assert _scalar(con, "PRAGMA integrity_check") == "ok"


def test_planted_keys(con: sqlite3.Connection) -> None:
    """The structures a reflector must handle: cycle, self-reference, composite and double FKs."""

    def fks(table: str) -> dict[int, list[tuple[str, str, str]]]:
        grouped: dict[int, list[tuple[str, str, str]]] = {}
        for row in con.execute(f"PRAGMA foreign_key_list({table})"):
            grouped.setdefault(row[0], []).append((row[2], row[3], row[4]))  # parent, from, to
        return grouped

    # the wards <-> providers cycle, broken by a nullable column
    assert ("providers", "head_nurse_id", "provider_id") in [c for g in fks("wards").values() for c in g]
    assert ("wards", "ward_id", "ward_id") in [c for g in fks("providers").values() for c in g]
    notnull = {r[1]: r[3] for r in con.execute("PRAGMA table_info(wards)")}
    assert notnull["head_nurse_id"] == 0
    # self-reference
    assert ("providers", "supervisor_id", "provider_id") in [c for g in fks("providers").values() for c in g]
    # composite PK on diagnoses, referenced by a composite FK
    assert _pk_columns(con, "diagnoses") == ["admission_id", "seq"]
    composite = [g for g in fks("lab_results").values() if len(g) == 2]
    assert composite and sorted(composite[0]) == [
        ("diagnoses", "admission_id", "admission_id"),
        ("diagnoses", "diagnosis_seq", "seq"),
    ]
    # two FKs from procedures to providers
    to_providers = [c for g in fks("procedures").values() for c in g if c[0] == "providers"]
    assert sorted(c[1] for c in to_providers) == ["assisted_by", "performed_by"]
    # link table
    assert _pk_columns(con, "care_team") == ["admission_id", "provider_id"]
    # single-column UNIQUE constraints (table-level, so SQLAlchemy's SQLite reflection sees them too)
    for table, column in [
        ("providers", "license_no"),
        ("providers", "email"),
        ("patients", "mrn"),
        ("wards", "name"),
    ]:
        unique_cols = [
            [c[2] for c in con.execute(f"PRAGMA index_info('{idx[1]}')")]
            for idx in con.execute(f"PRAGMA index_list({table})")
            if idx[2]
        ]
        assert [column] in unique_cols, (table, column)
    # declared types survive for reflection
    types = {r[1]: r[2] for r in con.execute("PRAGMA table_info(admissions)")}
    assert types["total_charge"] == "NUMERIC(10,2)" and types["admitted_at"] == "TIMESTAMP"
    assert {r[1]: r[2] for r in con.execute("PRAGMA table_info(diagnoses)")}["is_primary"] == "BOOLEAN"
    assert {r[1]: r[2] for r in con.execute("PRAGMA table_info(patients)")}["birth_date"] == "DATE"


def test_constraints_are_enforced(con: sqlite3.Connection, tmp_path: Path) -> None:
    """CHECK/UNIQUE/FK constraints are real, not decoration: SQLite rejects violations."""
    scratch = sqlite3.connect(hospital.build(tmp_path / "scratch.db", scale=0.02))
    try:
        scratch.execute("PRAGMA foreign_keys = ON")
        bad = [
            "INSERT INTO wards (name, specialty, floor, beds) VALUES ('X', 'dentistry', 1, 5)",
            "INSERT INTO wards (name, specialty, floor, beds) VALUES ('Y', 'icu', 13, 5)",
            "UPDATE patients SET sex = 'Q' WHERE patient_id = 1",
            "UPDATE patients SET death_date = '1800-01-01' WHERE patient_id = 1",
            "UPDATE admissions SET discharged_at = '2000-01-01 00:00:00' "
            "WHERE admission_id = (SELECT MIN(admission_id) FROM admissions)",
            "UPDATE admissions SET ward_id = 999 "
            "WHERE admission_id = (SELECT MIN(admission_id) FROM admissions)",
            "UPDATE providers SET license_no = (SELECT license_no FROM providers WHERE provider_id = 2) "
            "WHERE provider_id = 1",
            "INSERT INTO transfers (admission_id, from_ward_id, to_ward_id, transferred_at) "
            "VALUES ((SELECT MIN(admission_id) FROM admissions), 1, 1, '2020-01-01 00:00:00')",
        ]
        for sql in bad:
            with pytest.raises(sqlite3.IntegrityError):
                scratch.execute(sql)
    finally:
        scratch.close()


# ------------------------------------------------------------------------------------------------------
# Cross-table facts
# ------------------------------------------------------------------------------------------------------


def test_formats(con: sqlite3.Connection) -> None:
    """Dates and timestamps as text SQLAlchemy parses; identifiers with their fixed shapes."""
    for table, column in [
        ("admissions", "admitted_at"),
        ("admissions", "discharged_at"),
        ("diagnoses", "diagnosed_at"),
        ("lab_results", "collected_at"),
        ("procedures", "performed_at"),
    ]:
        values = [r[0] for r in con.execute(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL")]
        assert values and all(TIMESTAMP.match(v) for v in values), (table, column)
    for table, column in [("patients", "birth_date"), ("patients", "death_date"), ("providers", "hired_on")]:
        values = [r[0] for r in con.execute(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL")]
        assert values and all(DATE.match(v) for v in values), (table, column)
    assert _scalar(con, "SELECT MIN(admitted_at) FROM admissions") >= "2019-01-01"
    assert _scalar(con, "SELECT MAX(admitted_at) FROM admissions") <= "2024-12-31 23:59:59"
    assert all(re.fullmatch(r"MRN\d{7}", r[0]) for r in con.execute("SELECT mrn FROM patients"))
    assert all(re.fullmatch(r"LIC-\d{7}", r[0]) for r in con.execute("SELECT license_no FROM providers"))
    phones = [r[0] for r in con.execute("SELECT phone FROM patients WHERE phone IS NOT NULL")]
    assert phones and all(re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}", p) for p in phones)
    assert _scalar(con, "SELECT COUNT(*) FROM patients WHERE phone IS NULL") > 0
    assert _scalar(con, "SELECT COUNT(*) FROM providers WHERE email IS NULL") > 0
    assert _scalar(con, "SELECT COUNT(*) FROM admissions WHERE total_charge <> ROUND(total_charge, 2)") == 0
    assert _scalar(con, "SELECT COUNT(*) FROM diagnoses WHERE is_primary NOT IN (0, 1)") == 0


def test_no_admission_after_death_and_deceased_matches(con: sqlite3.Connection) -> None:
    """Cross-table temporal facts a synthesizer is expected to keep."""
    after_death = _scalar(
        con,
        "SELECT COUNT(*) FROM admissions a JOIN patients p USING (patient_id) "
        "WHERE p.death_date IS NOT NULL AND date(a.admitted_at) > p.death_date",
    )
    assert after_death == 0
    deceased = con.execute(
        "SELECT date(a.discharged_at), p.death_date FROM admissions a JOIN patients p USING (patient_id) "
        "WHERE a.status = 'deceased'"
    ).fetchall()
    assert deceased and all(d == death for d, death in deceased)
    assert (
        _scalar(con, "SELECT COUNT(*) FROM admissions WHERE (status = 'admitted') <> (discharged_at IS NULL)")
        == 0
    )
    assert _scalar(con, "SELECT COUNT(DISTINCT status) FROM admissions") == 4


def test_stays_do_not_overlap(con: sqlite3.Connection) -> None:
    """A patient is in one bed at a time."""
    overlaps = _scalar(
        con,
        "SELECT COUNT(*) FROM admissions a JOIN admissions b ON a.patient_id = b.patient_id "
        "AND a.admission_id <> b.admission_id AND b.admitted_at >= a.admitted_at "
        "AND b.admitted_at < COALESCE(a.discharged_at, '9999')",
    )
    assert overlaps == 0


def test_diagnosis_sequence_and_primary(con: sqlite3.Connection) -> None:
    """seq numbers 1..n per admission, and seq 1 is the one primary diagnosis."""
    rows = con.execute(
        "SELECT admission_id, MIN(seq), MAX(seq), COUNT(*), SUM(is_primary), "
        "SUM(is_primary * (seq = 1)) FROM diagnoses GROUP BY admission_id"
    ).fetchall()
    assert len(rows) == _scalar(con, "SELECT COUNT(*) FROM admissions")  # every admission has diagnoses
    for _, lo, hi, n, primaries, primary_first in rows:
        assert lo == 1 and hi == n and 1 <= n <= 6
        assert primaries == 1 and primary_first == 1
    outside = _scalar(
        con,
        "SELECT COUNT(*) FROM diagnoses d JOIN admissions a USING (admission_id) "
        "WHERE d.diagnosed_at < a.admitted_at "
        "OR d.diagnosed_at > COALESCE(a.discharged_at, '2024-12-31 23:59:59')",
    )
    assert outside == 0
    assert (
        _scalar(con, "SELECT COUNT(*) FROM diagnosis_codes WHERE code NOT IN (SELECT code FROM diagnoses)")
        > 0
    )


def test_events_within_stay(con: sqlite3.Connection) -> None:
    """Labs and procedures happen while the patient is in hospital."""
    for table, column in [("lab_results", "collected_at"), ("procedures", "performed_at")]:
        outside = _scalar(
            con,
            f"SELECT COUNT(*) FROM {table} t JOIN admissions a USING (admission_id) "
            f"WHERE t.{column} < a.admitted_at "
            f"OR t.{column} > COALESCE(a.discharged_at, '2024-12-31 23:59:59')",
        )
        assert outside == 0, table


def test_care_team_includes_attending(con: sqlite3.Connection) -> None:
    """The link table must agree with admissions.attending_id."""
    missing = _scalar(
        con,
        "SELECT COUNT(*) FROM admissions a WHERE NOT EXISTS (SELECT 1 FROM care_team c "
        "WHERE c.admission_id = a.admission_id AND c.provider_id = a.attending_id "
        "AND c.care_role = 'attending')",
    )
    assert missing == 0
    sizes = con.execute(
        "SELECT MIN(n), MAX(n), MAX(att) FROM (SELECT COUNT(*) n, SUM(care_role = 'attending') att "
        "FROM care_team GROUP BY admission_id)"
    ).fetchone()
    assert sizes[0] >= 1 and sizes[1] <= 5 and sizes[2] == 1
    roles = {r[0] for r in con.execute("SELECT DISTINCT care_role FROM care_team")}
    assert roles == {"attending", "consulting", "nursing"}
    non_doctors = _scalar(
        con,
        "SELECT COUNT(*) FROM admissions a JOIN providers p ON p.provider_id = a.attending_id "
        "WHERE p.role NOT IN ('physician', 'surgeon')",
    )
    assert non_doctors == 0
    same_ward = _scalar(
        con,
        "SELECT AVG(a.ward_id = p.ward_id) FROM admissions a "
        "JOIN providers p ON p.provider_id = a.attending_id",
    )
    assert same_ward > 0.8


def test_head_nurse_is_a_nurse_on_that_ward(con: sqlite3.Connection) -> None:
    """The cycle is meaningful: the head nurse works on the ward they head."""
    rows = con.execute(
        "SELECT w.ward_id, w.head_nurse_id, p.role, p.ward_id FROM wards w "
        "LEFT JOIN providers p ON p.provider_id = w.head_nurse_id"
    ).fetchall()
    with_head = [r for r in rows if r[1] is not None]
    assert 1 <= len(rows) - len(with_head) <= 2
    assert with_head and all(role == "nurse" and ward == ward_id for ward_id, _, role, ward in with_head)


def test_supervisor_tree(con: sqlite3.Connection) -> None:
    """The self-reference is a shallow tree, never a cycle."""
    parent = dict(con.execute("SELECT provider_id, supervisor_id FROM providers").fetchall())
    depths = []
    for pid in parent:
        depth, node = 1, pid
        while parent[node] is not None:
            node = parent[node]
            depth += 1
            assert depth <= 10, "cycle in supervisor_id"
        depths.append(depth)
    assert 2 <= max(depths) <= 3 and min(depths) == 1
    assert {r[0] for r in con.execute("SELECT DISTINCT role FROM providers")} == {
        "physician",
        "surgeon",
        "nurse",
        "therapist",
    }


def test_procedures_two_provider_fks(con: sqlite3.Connection) -> None:
    """Two FKs to one parent that must never point at the same row."""
    same = _scalar(con, "SELECT COUNT(*) FROM procedures WHERE assisted_by = performed_by")
    assert same == 0
    share_null = _scalar(con, "SELECT AVG(assisted_by IS NULL) FROM procedures")
    assert 0.35 < share_null < 0.65
    assert _scalar(con, "SELECT COUNT(DISTINCT procedure_code) FROM procedures") >= 20
    per_admission = _scalar(
        con, "SELECT MAX(n) FROM (SELECT COUNT(*) n FROM procedures GROUP BY admission_id)"
    )
    assert per_admission <= 4


def test_functional_dependencies(con: sqlite3.Connection) -> None:
    """Exact FDs (city -> state, test_name -> unit) a synthesizer should preserve."""
    assert _scalar(con, "SELECT COUNT(DISTINCT city) FROM patients") > 5
    assert (
        con.execute("SELECT city FROM patients GROUP BY city HAVING COUNT(DISTINCT state) > 1").fetchall()
        == []
    )
    assert _scalar(con, "SELECT COUNT(DISTINCT state) FROM patients") > 1
    assert _scalar(con, "SELECT COUNT(DISTINCT test_name) FROM lab_results") == 7
    assert (
        con.execute(
            "SELECT test_name FROM lab_results GROUP BY test_name HAVING COUNT(DISTINCT unit) > 1"
        ).fetchall()
        == []
    )


def test_lab_flags_follow_ranges(con: sqlite3.Connection) -> None:
    """flag is derived from value, another exact dependency."""
    rows = con.execute("SELECT test_name, value, flag FROM lab_results").fetchall()
    for test, value, flag in rows:
        _, low, high, _ = hospital.LAB_TESTS[test]
        assert flag == ("L" if value < low else "H" if value > high else "N")
    assert _scalar(con, "SELECT COUNT(*) FROM lab_results WHERE diagnosis_seq IS NULL") > 0
    assert _scalar(con, "SELECT COUNT(*) FROM lab_results WHERE diagnosis_seq IS NOT NULL") > 0


def test_pregnancy_codes_only_where_they_belong(con: sqlite3.Connection) -> None:
    """Pregnancy codes need a woman of child-bearing age in the maternity ward."""
    rows = con.execute(
        "SELECT p.sex, (julianday(a.admitted_at) - julianday(p.birth_date)) / 365.25, w.specialty "
        "FROM diagnoses d JOIN diagnosis_codes c USING (code) JOIN admissions a USING (admission_id) "
        "JOIN patients p USING (patient_id) JOIN wards w ON w.ward_id = a.ward_id "
        "WHERE c.chapter = 'pregnancy'"
    ).fetchall()
    assert len(rows) > 20
    assert all(sex == "F" and 16 <= age <= 46 and spec == "maternity" for sex, age, spec in rows)


def test_notes_never_contain_patient_names(con: sqlite3.Connection) -> None:
    """Free text is synthetic-safe: no identifiers leak into notes."""
    rows = con.execute(
        "SELECT a.notes, p.first_name, p.last_name FROM admissions a JOIN patients p USING (patient_id) "
        "WHERE a.notes IS NOT NULL"
    ).fetchall()
    assert len(rows) > 100
    assert _scalar(con, "SELECT COUNT(*) FROM admissions WHERE notes IS NULL") > 0
    for notes, first, last in rows:
        words = set(re.findall(r"[A-Za-z']+", notes))
        assert first not in words and last not in words, notes


# ------------------------------------------------------------------------------------------------------
# Planted correlations (a column-independent generator would fail these)
# ------------------------------------------------------------------------------------------------------


def test_admissions_per_patient_rise_with_age_and_are_skewed(con: sqlite3.Connection) -> None:
    """Older patients come back more; most come once, a few very often."""
    rows = con.execute(
        "SELECT julianday('2019-01-01') - julianday(p.birth_date), "
        "(SELECT COUNT(*) FROM admissions a WHERE a.patient_id = p.patient_id) FROM patients p"
    ).fetchall()
    ages = [r[0] for r in rows]
    counts = [r[1] for r in rows]
    assert _spearman(ages, counts) > 0.2
    hist = np.bincount(counts)
    assert hist[0] > 0 and len(hist) - 1 >= 8
    assert int(np.argmax(hist)) == 1  # one stay is the most common history
    assert np.mean(counts) > np.median(counts)


def test_length_of_stay_depends_on_ward(con: sqlite3.Connection) -> None:
    """Length of stay is a ward effect (ICU and oncology long, maternity short)."""
    mean_los = dict(
        con.execute(
            "SELECT w.specialty, AVG(julianday(a.discharged_at) - julianday(a.admitted_at)) "
            "FROM admissions a JOIN wards w USING (ward_id) WHERE a.discharged_at IS NOT NULL "
            "GROUP BY w.specialty"
        ).fetchall()
    )
    assert mean_los["icu"] > 2 * mean_los["maternity"]
    assert mean_los["oncology"] > 2 * mean_los["maternity"]
    assert mean_los["maternity"] < 3


def test_diabetes_raises_glucose(con: sqlite3.Connection) -> None:
    """Diagnoses drive lab values (diabetes -> glucose, kidney disease -> creatinine)."""
    means = dict(
        con.execute(
            "SELECT EXISTS (SELECT 1 FROM diagnoses d WHERE d.admission_id = l.admission_id "
            "AND (d.code LIKE 'E10%' OR d.code LIKE 'E11%')), AVG(l.value) "
            "FROM lab_results l WHERE l.test_name = 'glucose' GROUP BY 1"
        ).fetchall()
    )
    assert means[1] > 1.4 * means[0]
    renal = dict(
        con.execute(
            "SELECT EXISTS (SELECT 1 FROM diagnoses d WHERE d.admission_id = l.admission_id "
            "AND (d.code LIKE 'N17%' OR d.code LIKE 'N18%')), AVG(l.value) "
            "FROM lab_results l WHERE l.test_name = 'creatinine' GROUP BY 1"
        ).fetchall()
    )
    assert renal[1] > 1.5 * renal[0]


def test_circulatory_primaries_rise_with_age(con: sqlite3.Connection) -> None:
    """Age drives the primary diagnosis."""
    share = dict(
        con.execute(
            "SELECT CASE WHEN age > 65 THEN 'old' WHEN age < 40 THEN 'young' ELSE 'mid' END, "
            "AVG(code LIKE 'I%') "
            "FROM (SELECT (julianday(a.admitted_at) - julianday(p.birth_date)) / 365.25 AS age, d.code "
            "FROM diagnoses d JOIN admissions a USING (admission_id) JOIN patients p USING (patient_id) "
            "WHERE d.seq = 1) GROUP BY 1"
        ).fetchall()
    )
    assert share["old"] > 2 * share["young"] and share["old"] - share["young"] > 0.1


def test_ward_matches_primary_chapter_mostly(con: sqlite3.Connection) -> None:
    """The ward follows the primary diagnosis most of the time."""
    expected = {
        "circulatory": ("cardiology", "icu"),
        "pregnancy": ("maternity",),
        "mental": ("psychiatry",),
        "neoplasm": ("oncology",),
        "musculoskeletal": ("orthopedics", "general_medicine"),
        "digestive": ("surgery", "general_medicine"),
    }
    rows = con.execute(
        "SELECT c.chapter, w.specialty FROM diagnoses d JOIN diagnosis_codes c USING (code) "
        "JOIN admissions a USING (admission_id) JOIN wards w ON w.ward_id = a.ward_id WHERE d.seq = 1"
    ).fetchall()
    relevant = [(chapter, spec) for chapter, spec in rows if chapter in expected]
    hits = sum(spec in expected[chapter] for chapter, spec in relevant)
    assert hits / len(relevant) > 0.75
