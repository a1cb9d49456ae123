"""Leftovers of attack round 35: what a user saw, fixed (one test or more per finding)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from relsynth.cli import main
from relsynth.model import checks as ck
from tests.conftest import fetch, run_raw, scalar


def _db(path: Path, *script: str) -> str:
    con = sqlite3.connect(path)
    for statement in script:
        con.execute(statement)
    con.commit()
    con.close()
    return f"sqlite:///{path}"


def _synthesize(source: str, target: str, *extra: str) -> str:
    result = CliRunner().invoke(main, ["synthesize", source, target, "--seed", "1", "--no-report", *extra])
    assert result.exit_code == 0, result.output
    return result.output


_SERIES = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) "

# -- 1. CHECK ... LIKE ------------------------------------------------------------------------------


def test_like_is_read_in_every_spelling() -> None:
    """PostgreSQL prints LIKE as ~~ (ILIKE ~~*, NOT !~~, an ESCAPE as like_escape(...)); MariaDB and
    SQLite keep the words. Each was 'not interpretable' and, into another dialect, dropped."""
    like = ck.parse("((email)::text ~~ '%@%'::text)", "postgresql")
    assert like == ck.Like(ck.Col("email"), (("%", ""), ("=", "@"), ("%", "")), False, "sensitive")
    assert ck.parse("(a ~~ like_escape('x#%'::text, '#'::text))", "postgresql").parts == (
        ("=", "x"),
        ("=", "%"),
    )
    assert ck.parse("note !~~ '%x\\_y%'::text", "postgresql").negated
    assert ck.parse("nm ~~* 'b%'::text", "postgresql").case == "insensitive"
    assert ck.parse("`e` not like 'a!_%' escape '!'", "mysql") == ck.Like(
        ck.Col("e"), (("=", "a"), ("=", "_"), ("%", "")), True, "collation"
    )
    assert ck.parse("code NOT GLOB 'A*'", "sqlite") == ck.Like(ck.Col("code"), (("=", "A"), ("%", "")), True)
    assert ck.parse("code LIKE 'a\\%'", "sqlite").parts == (("=", "a"), ("=", "\\"), ("%", ""))  # no escape
    frame = pd.DataFrame({"code": ["Abc", "abc", "bcd", None, "Ábc"]})
    assert ck.truth(ck.parse("code LIKE 'a%'", "sqlite"), frame).tolist() == [True, True, False, None, False]
    assert ck.truth(ck.parse("code ~~ 'a%'", "postgresql"), frame).tolist() == [
        False,
        True,
        False,
        None,
        False,
    ]
    assert ck.truth(ck.parse("code like 'a%'", "mysql"), frame).tolist() == [True, True, False, None, True]


def test_a_like_check_is_kept_by_the_sampled_values() -> None:
    """Values of their own breaking the pattern (e-mails generated without '@') get it; codes that
    repeat take another row's code that keeps it."""
    rng = np.random.default_rng(0)
    node = ck.parse("email ~~ '%@%'::text", "postgresql")
    frame = pd.DataFrame({"email": ["anna.k", "bob", None, "carl.m@x.test", "dora"]})
    ck.repair(node, frame, {"email"}, rng)
    assert not ck.violations(node, frame).any()
    assert frame["email"].tolist()[2] is None and frame["email"].nunique() == 4
    assert all(
        len(new) <= len(old)
        for new, old in zip(frame["email"][[0, 1, 4]], ["anna.k", "bob", "dora"], strict=True)
    )
    node = ck.parse("code LIKE 'A%'", "sqlite")
    frame = pd.DataFrame({"code": ["A1", "A2", "B1", "A1", "A2", "A1", "B1", "A2"]})
    ck.repair(node, frame, {"code"}, rng)
    assert set(frame["code"]) == {"A1", "A2"}


_LIKE_TABLE = (
    "CREATE TABLE person (id int PRIMARY KEY, email text NOT NULL CHECK (email LIKE '%@%'), "
    "code varchar(10) CHECK (code LIKE 'A%'), note text CHECK (note NOT LIKE '%x\\_y%'), "
    "nm text CHECK (nm ILIKE 'b%'))",
    "INSERT INTO person SELECT i, 'user' || i || '@mail.test', 'A' || (i % 50), 'n' || (i % 7), "
    "CASE WHEN i % 2 = 0 THEN 'Bob' ELSE 'bea' END FROM generate_series(1, 300) i",
)


@pytest.mark.postgresql
@pytest.mark.parametrize("into", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def test_like_checks_are_recreated_in_another_dialect(
    into: str, tmp_path: Path, pg_db: Callable[[], str], request: pytest.FixtureRequest
) -> None:
    """CHECK (email LIKE '%@%') and its kin from PostgreSQL: "cannot be expressed in sqlite: not
    recreated" before. Now each is recreated, case-sensitive where PostgreSQL's LIKE is (SQLite's
    GLOB, MariaDB's binary collation), and the ILIKE's different letter rules said."""
    source = pg_db()
    run_raw(source, *_LIKE_TABLE)
    target = f"sqlite:///{tmp_path / 'out.db'}" if into == "sqlite" else request.getfixturevalue("mysql_db")()
    output = _synthesize(source, target)
    assert "cannot be expressed" not in output, output
    assert "person: CHECK (nm ~~* 'b%'::text): its LIKE ignores the case of every letter (ILIKE)" in output
    assert "CHECK (email" not in output.replace("changed: person: CHECK (nm", "")
    if into == "sqlite":
        ddl = scalar(target, "SELECT sql FROM sqlite_master WHERE name = 'person'")
        assert "email LIKE '%@%'" in ddl and "code GLOB 'A*'" in ddl and "note GLOB '*x_y*'" in ddl, ddl
    else:
        sql = "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()"
        checks = [r[0] for r in fetch(target, sql)]
        assert len(checks) == 4 and any("utf8mb4_bin like 'A%'" in c for c in checks), checks
    assert scalar(target, "SELECT count(*) FROM person") == 300
    assert scalar(target, "SELECT count(*) FROM person WHERE email NOT LIKE '%@%' OR code NOT LIKE 'A%'") == 0


@pytest.mark.postgresql
def test_a_sqlite_like_into_postgresql(tmp_path: Path, pg_db: Callable[[], str]) -> None:
    """SQLite's LIKE ignores the case of ASCII letters: ILIKE in PostgreSQL, and said; a pattern
    without letters is LIKE, and nothing to say; its GLOB is a LIKE (was: not recreated)."""
    source = _db(
        tmp_path / "s.db",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT CHECK (code LIKE 'ab%'), "
        "mail TEXT CHECK (mail LIKE '%@%'), ref TEXT CHECK (ref GLOB 'R-*'))",
        _SERIES
        + "INSERT INTO t SELECT i, CASE WHEN i % 2 THEN 'AB' ELSE 'ab' END || (i % 9), i || '@x', 'R-' || i FROM n",
    )
    target = pg_db()
    output = _synthesize(source, target)
    assert "cannot be expressed" not in output, output
    assert (
        "t: CHECK (code LIKE 'ab%'): its LIKE ignores the case of ASCII letters only in sqlite; ILIKE"
        in output
    )
    assert "CHECK (mail" not in output
    defs = [
        r[0]
        for r in fetch(
            target,
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'c' AND conrelid = 't'::regclass",
        )
    ]
    assert sorted(defs) == [
        "CHECK ((code ~~* 'ab%'::text))",
        "CHECK ((mail ~~ '%@%'::text))",
        "CHECK ((ref ~~ 'R-%'::text))",  # SQLite's GLOB: a case-sensitive LIKE
    ], defs
    assert (
        scalar(target, "SELECT count(*) FROM t WHERE code ILIKE 'ab%' AND mail LIKE '%@%' AND ref LIKE 'R-%'")
        == 300
    )


def test_generated_text_keeps_a_like_check(tmp_path: Path) -> None:
    """Free text generated from words (no '@' in any) broke CHECK (memo LIKE '%@%'): SQLite judged
    every row and all 300 were dropped. Now each text holds its '@', and the key's prefix stays."""
    source = _db(
        tmp_path / "s.db",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, memo TEXT CHECK (memo LIKE '%@%'), "
        "ref TEXT UNIQUE CHECK (ref LIKE 'R-%'))",
        _SERIES
        + "INSERT INTO t SELECT i, 'please write to the office ' || (i * 7919 % 1000) || ' at desk@firm' "
        "|| (i % 13) || ' about the order of ' || (i * 31 % 97) || ' parcels', 'R-' || hex(randomblob(4)) FROM n",
    )
    target = f"sqlite:///{tmp_path / 'out.db'}"
    output = _synthesize(source, target)
    assert "dropped" not in output, output
    assert scalar(target, "SELECT count(*) FROM t WHERE memo LIKE '%@%' AND ref LIKE 'R-%'") == 300


# -- 2. a foreign key into a schema the run does not read ---------------------------------------------


@pytest.mark.postgresql
def test_a_foreign_key_into_another_schema_is_said_lost(tmp_path: Path, pg_db: Callable[[], str]) -> None:
    """customer.country -> ref.country: the target got customer alone, without its foreign key, and
    no line said so (only `inspect` listed it). Now a changed: line names the key and why."""
    source = pg_db()
    run_raw(
        source,
        "CREATE SCHEMA ref",
        "CREATE TABLE ref.country (code char(2) PRIMARY KEY, name text)",
        "INSERT INTO ref.country VALUES ('CZ', 'Czechia'), ('DE', 'Germany'), ('AT', 'Austria')",
        "CREATE TABLE customer (id int PRIMARY KEY, country char(2) NOT NULL REFERENCES ref.country (code))",
        "INSERT INTO customer SELECT i, (ARRAY['CZ', 'DE', 'AT'])[1 + i % 3] FROM generate_series(1, 200) i",
    )
    output = _synthesize(source, f"sqlite:///{tmp_path / 'out.db'}")
    assert (
        "changed: customer: foreign key customer_country_fkey (country) -> ref.country (code) not recreated: "
        "it points into schema ref, which this run does not read" in output
    ), output
    assert "customer.country keeps its values as codes, unchecked" in output


# -- 3. timestamptz into SQLite ---------------------------------------------------------------------


@pytest.mark.postgresql
def test_a_timestamptz_keeps_its_offset_in_sqlite(tmp_path: Path, pg_db: Callable[[], str]) -> None:
    """A timestamptz came out as naive text ('2024-01-19 06:07:00'), which instant unsaid. Now the
    text is UTC marked Z, which SQLite's date functions read as UTC, and a changed: line says so."""
    source = pg_db()
    run_raw(
        source,
        "CREATE TABLE ev (id int PRIMARY KEY, at timestamptz NOT NULL, local_at timestamp)",
        "INSERT INTO ev SELECT i, timestamptz '2024-01-01 10:00+02' + i * interval '7 hours 13 minutes', "
        "timestamp '2024-01-01' + i * interval '1 day' FROM generate_series(1, 200) i",
    )
    target = f"sqlite:///{tmp_path / 'out.db'}"
    output = _synthesize(source, target)
    assert (
        "changed: ev.at: TIMESTAMP WITH TIME ZONE -> DATETIME, text in UTC marked Z "
        "('YYYY-MM-DD HH:MM:SSZ': SQLite has no time zone type)" in output
    ), output
    assert "ev.local_at" not in output
    assert scalar(target, "SELECT count(*) FROM ev WHERE at LIKE '____-__-__ __:__:__Z'") == 200
    assert scalar(target, "SELECT count(*) FROM ev WHERE local_at LIKE '%Z'") == 0
    # the instants are the source's: between its first and last, read as UTC by SQLite itself
    assert scalar(
        target, "SELECT min(unixepoch(at)) >= 1704090780 AND max(unixepoch(at)) <= 1709292000 FROM ev"
    )


# -- 4. names around titles ------------------------------------------------------------------------

_SURNAMES = ["Kvapil", "Zrnecký", "Brabcová", "Hloušek", "Petrák", "Vondruška", "Žampach", "Ocelík"]
_DOCTORS = [
    form.format(s=s, c=c)
    for s, c in zip(_SURNAMES, ["Иванов", "Петров", "Смирнов", "Кузнецов"] * 2, strict=True)
    for form in (
        "{s}, Ph.D.",
        "Jan {s}, CSc.",
        "Univ.-Prof. Dr. med. {s}",
        "Prof. Dr. {s}",
        "д-р {c}",
        "проф. {c}",
    )
]
_DIAGNOSES = [
    "Hypertension, unspecified",
    "Diabetes mellitus, type 2",
    "Fracture of femur, closed",
    "Asthma, mild intermittent",
    "Migraine without aura",
    "Anemia, iron deficiency",
]
_PRODUCTS = ["Aspirin, 500 mg", "Vitamin D, 1000 IU", "Ibuprofen Forte", "Paracetamol, tablets"]


def test_names_around_titles_are_personal_data() -> None:
    from relsynth.pii_detect import after_a_title, detect

    assert [after_a_title(v) for v in ("Novak, Ph.D.", "Jan Novák, CSc.", "Univ.-Prof. Dr. med. Müller")] == [
        "family",
        "full",
        "family",
    ]
    assert [after_a_title(v) for v in ("Prof. Dr. Schmidt", "д-р Иванов", "проф. Петров")] == ["family"] * 3
    assert detect(pd.Series(_DOCTORS * 3))[0] in {"person_name", "last_name"}
    for ordinary in (_DIAGNOSES, _PRODUCTS, ["Dr. med.", "Prof.", "Ph.D.", "Hypertension, MD?"]):
        assert detect(pd.Series(ordinary * 20))[0] is None, ordinary


def test_a_referring_physician_after_titles_is_never_copied(tmp_path: Path) -> None:
    """'Univ.-Prof. Dr. med. Žampach', 'Kvapil, Ph.D.', 'проф. Петров' on every referral: not seen
    as names, the column was a category and each value was copied. Now generated; the diagnoses
    and products beside them stay categories."""
    con = sqlite3.connect(tmp_path / "s.db")
    con.execute(
        "CREATE TABLE referral (id INTEGER PRIMARY KEY, referring_physician TEXT, diagnosis TEXT, product TEXT)"
    )
    con.executemany(
        "INSERT INTO referral VALUES (?, ?, ?, ?)",
        [
            (i, _DOCTORS[i % len(_DOCTORS)], _DIAGNOSES[i % len(_DIAGNOSES)], _PRODUCTS[i % len(_PRODUCTS)])
            for i in range(1, 481)
        ],
    )
    con.commit()
    con.close()
    target = f"sqlite:///{tmp_path / 'out.db'}"
    _synthesize(f"sqlite:///{tmp_path / 's.db'}", target)
    rows = fetch(target, "SELECT referring_physician, diagnosis, product FROM referral")
    assert len(rows) == 480
    assert not {r[0] for r in rows} & set(_DOCTORS)
    assert {r[1] for r in rows} <= set(_DIAGNOSES) and {r[2] for r in rows} <= set(_PRODUCTS)


# -- 5. words in a foreign key, fitted from a sample -----------------------------------------------


def test_a_sampled_fit_reads_rows_whose_key_is_a_word(tmp_path: Path) -> None:
    """'N/A' on 10% of an INTEGER foreign key: a full fit learns those rows as rows under no parent
    (NULL keys, 10%); --fit-rows read the children of its sampled parents and the rows whose key IS
    NULL, never these, so its model drew no NULL key at all (and 4,500 rows for 5,000)."""
    source = _db(
        tmp_path / "s.db",
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT, size REAL)",
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id), amount REAL)",
        _SERIES.replace("300", "2000")
        + "INSERT INTO parent SELECT i, 'p' || (i * 7919 % 2000), (i % 37) * 1.25 FROM n",
        _SERIES.replace("300", "5000") + "INSERT INTO child SELECT i, CASE WHEN i % 10 = 0 THEN 'N/A' "
        "ELSE 1 + (i * 7) % 2000 END, (i % 100) * 1.5 FROM n",
    )
    model, out = tmp_path / "m.rsm", tmp_path / "out"
    result = CliRunner().invoke(main, ["fit", source, "-o", str(model), "--fit-rows", "1000", "-q"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["sample", str(model), "-o", str(out), "--format", "csv", "-q"])
    assert result.exit_code == 0, result.output
    child = pd.read_csv(out / "child.csv")
    assert 4_700 <= len(child) <= 5_300, len(child)
    assert 0.07 <= child["parent_id"].isna().mean() <= 0.13, child["parent_id"].isna().mean()
