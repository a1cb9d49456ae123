"""evaluate's personal-data check (privacy.personal_copies) on outputs altered after an honest run
(attack round 42, findings f17, f11 b/c, f22): a common full name is no false alarm, a name
written "Last, First" is still a name, a source identifier moved into another column is counted,
and a JSON key is compared case aside."""

from __future__ import annotations

from typing import Any

import pytest

import relsynth
from tests.conftest import _statements, run_raw

pytestmark = pytest.mark.postgresql


def _found(src: str, dst: str) -> dict[tuple[str, str], int]:
    p = relsynth.evaluate(src, dst, shareable=True)["scores"]["privacy"]
    return {(c["column"], c["kind"]): c["synthetic_rows"] for fs in p["personal_copies"].values() for c in fs}


def _honest(pg_db: Any, script: str) -> tuple[str, str, str]:
    """A source, an honest output of it, and a database to alter (a second honest output)."""
    src, out, alt = pg_db(), pg_db(), pg_db()
    run_raw(src, *_statements(script))
    relsynth.synthesize(src, out, seed=5)
    relsynth.synthesize(src, alt, seed=5)
    return src, out, alt


_PATIENTS = """
CREATE TABLE patient (patient_id int PRIMARY KEY, full_name text NOT NULL, email text NOT NULL,
  phone text NOT NULL, ssn text, birth_date date NOT NULL, city text NOT NULL);
INSERT INTO patient SELECT g,
 (ARRAY['John Smith','Mary Johnson','Robert Brown','Linda Davis','James Wilson','Patricia Moore',
        'Michael Taylor','Barbara Anderson'])[1+g%8] || CASE WHEN g%3=0 THEN '' ELSE ' ' || chr(65+g%26) || '.' END,
 CASE WHEN g%5=0 THEN 'n/a' WHEN g%5=1 THEN 'unknown@example.com' ELSE 'p'||g||'@mail-a42.test' END,
 CASE WHEN g%4=0 THEN '000-000-0000' ELSE '555-01'||lpad((g%100)::text,2,'0') END,
 CASE WHEN g%3=0 THEN NULL WHEN g%3=1 THEN '000-00-0000' ELSE lpad((100000000+g*7919)::text,3,'0') END,
 date '1950-01-01' + (g*31)%20000, (ARRAY['Oslo','Bergen','Trondheim'])[1+g%3]
FROM generate_series(1,600) g;
"""


def test_common_full_name_is_no_false_alarm_and_last_first_is_a_name(pg_db) -> None:
    """'Mary Johnson' is 25 source people's (born on 25 days), found as few people through the
    shared placeholder phone: it was counted as a rare name and failed the privacy verdict.
    'Johnson, Mary' with her real birth date was missed."""
    src, out, alt = _honest(pg_db, _PATIENTS)
    assert _found(src, out) == {}
    first = "(SELECT min(patient_id) FROM patient)"
    run_raw(
        alt,
        f"UPDATE patient SET full_name = 'Mary Johnson', birth_date = '1901-01-01' WHERE patient_id = {first}",
    )
    assert _found(src, alt) == {}  # 25 people hold it: no source person's
    # patient 9 of the source: Mary Johnson, born 1950-01-01 + 279 days
    run_raw(
        alt,
        f"UPDATE patient SET full_name = 'Johnson, Mary', birth_date = '1950-10-07' WHERE patient_id = {first}",
    )
    assert _found(src, alt) == {("birth_date", "name and birth date"): 1}


_LAB = """
CREATE TABLE lab_export (row_id int PRIMARY KEY, mrn varchar(12) NOT NULL, birth_date date NOT NULL,
  email varchar(60) NOT NULL, diagnosis varchar(40) NOT NULL, test_code varchar(8) NOT NULL,
  value numeric(7,2) NOT NULL, taken_at date NOT NULL);
WITH p AS (SELECT g AS pid, 'MRN'||lpad((g*7907 % 1000000)::text,7,'0') AS mrn,
             date '1940-01-01' + (g*97 % 25000) AS bd, 'pat'||g||'@mail-a42.test' AS em,
             (ARRAY['diabetes','asthma','hypertension','copd','ckd'])[1+g%5] AS dx, 3 + (g*5)%10 AS n
           FROM generate_series(1,400) g)
INSERT INTO lab_export SELECT row_number() OVER (), mrn, bd, em, dx, (ARRAY['HB','GLU','NA','K'])[1+(pid+k)%4],
  10+((pid*k*31)%900)/10.0, date '2022-01-01' + (pid+k*13)%700
FROM p, generate_series(1,n) k;
INSERT INTO lab_export SELECT 100000+k, 'MRN9999999', date '1931-02-03', 'only.one@mail-a42.test', 'kuru',
  'GLU', 950.5, date '2022-03-01'+k FROM generate_series(1,30) k;
"""


def test_source_identifier_moved_into_another_column_is_counted(pg_db) -> None:
    src, out, alt = _honest(pg_db, _LAB)
    assert _found(src, out) == {}
    first = "(SELECT min(row_id) FROM lab_export)"
    run_raw(alt, f"UPDATE lab_export SET diagnosis = 'pat17@mail-a42.test' WHERE row_id = {first}")
    assert _found(src, alt) == {("diagnosis", "identifier of another column"): 1}
    run_raw(
        alt,
        f"UPDATE lab_export SET diagnosis = 'asthma' WHERE row_id = {first}",
        f"UPDATE lab_export SET email = 'MRN9999999' WHERE row_id = {first}",
    )
    assert _found(src, alt) == {("email", "identifier of another column"): 1}


_MEMBERS = """
CREATE TABLE member (member_id int PRIMARY KEY, full_name text NOT NULL, prefs jsonb NOT NULL,
  clinician_note text NOT NULL, born date NOT NULL);
INSERT INTO member SELECT g,
 (ARRAY['Oskar','Greta','Henrik','Liv','Magnus','Sigrid','Torvald','Ylva'])[1+g%8] || ' ' ||
 (ARRAY['Lindqvist','Aberg','Nystrom','Holmgren','Sjoberg','Ekdahl','Wennerberg'])[1+g%7],
 CASE WHEN g=7 THEN '{"theme":"dark","allergy_note":"peanut"}'::jsonb
      ELSE jsonb_build_object('theme', CASE WHEN g%2=0 THEN 'dark' ELSE 'light' END, 'lang', 'en') END,
 'Patient seen today, stable. Follow up in ' || (g%6+1) || ' weeks. Discussed diet and exercise with the family.',
 date '1950-01-01' + g*30 FROM generate_series(1,500) g;
UPDATE member SET full_name='Ingeborg Vasquez-Thorsen' WHERE member_id=11;
"""


def test_json_key_case_aside_and_last_first_name_in_text(pg_db) -> None:
    src, out, alt = _honest(pg_db, _MEMBERS)
    assert _found(src, out) == {}
    first = "(SELECT min(member_id) FROM member)"
    run_raw(alt, f"""UPDATE member SET prefs = prefs || '{{"Allergy_Note":"x"}}' WHERE member_id = {first}""")
    assert _found(src, alt) == {("prefs", "rare JSON key"): 1}
    run_raw(
        alt,
        f"UPDATE member SET prefs = '{{}}', clinician_note = 'Seen with Vasquez-Thorsen, Ingeborg today.' "
        f"WHERE member_id = {first}",
    )
    assert _found(src, alt) == {("clinician_note", "source name in text"): 1}
