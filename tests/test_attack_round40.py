"""Attack round 40 (a README-only helper on this session's changes).

1. PostgreSQL trigger functions and views that reach another schema past the qualified-name check
   were recreated: a function's SET search_path = other, SQL built as it runs (EXECUTE format(...),
   set_config('search_path', ...), query_to_xml('select ... from ' || 'oth' || 'er.shadow')).
"""

from __future__ import annotations

import pytest

import relsynth
from tests.conftest import fetch, run_sql

REACHING = """
CREATE SCHEMA other;
CREATE TABLE other.shadow (id int, s text);
CREATE SCHEMA app;
CREATE TABLE app.patients (id serial PRIMARY KEY, ward text NOT NULL, note text);
INSERT INTO app.patients (ward, note) SELECT (ARRAY['A', 'B', 'C', 'D'])[1 + g %% 4], 'n' || (g %% 10)
    FROM generate_series(1, 200) g;
CREATE VIEW app.v_plain AS SELECT id, ward FROM app.patients;
CREATE VIEW app.v_xml AS SELECT query_to_xml('select s from ' || 'oth' || 'er.shadow', true, false, '') AS x;
CREATE FUNCTION app.f_dyn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    EXECUTE format('insert into %%I.shadow values (1, $1)', 'oth' || 'er') USING new.note; RETURN new; END $$;
CREATE TRIGGER t_dyn AFTER INSERT ON app.patients FOR EACH ROW EXECUTE FUNCTION app.f_dyn();
CREATE FUNCTION app.f_sp() RETURNS trigger LANGUAGE plpgsql SET search_path = other AS $$ BEGIN
    INSERT INTO shadow VALUES (2, new.note); RETURN new; END $$;
CREATE TRIGGER t_sp AFTER UPDATE ON app.patients FOR EACH ROW EXECUTE FUNCTION app.f_sp();
CREATE FUNCTION app.f_plain() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    new.note := coalesce(new.note, 'none'); RETURN new; END $$;
CREATE TRIGGER t_plain BEFORE INSERT ON app.patients FOR EACH ROW EXECUTE FUNCTION app.f_plain();
"""


@pytest.mark.postgresql
def test_functions_and_views_that_reach_another_schema_are_not_recreated(pg_db) -> None:
    source, target = pg_db(), pg_db()
    run_sql(source, REACHING)
    run_sql(target, "CREATE SCHEMA other; CREATE TABLE other.shadow (id int, s text)")
    out = relsynth.synthesize(source, target, db_schema="app", seed=1)
    changed = "\n".join(out["write"].changes)
    for name in ("v_xml", "t_dyn", "t_sp"):
        assert f"{name}" in changed and "not recreated" in changed, (name, changed)
    views = {
        v
        for (v,) in fetch(
            target, "SELECT table_name FROM information_schema.views WHERE table_schema = 'app'"
        )
    }
    triggers = {t for (t,) in fetch(target, "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")}
    assert views == {"v_plain"} and triggers == {"t_plain"}
    run_sql(target, "INSERT INTO app.patients (ward) VALUES ('A'); UPDATE app.patients SET ward = 'B'")
    assert fetch(target, "SELECT COUNT(*) FROM other.shadow") == [(0,)]


@pytest.mark.mysql
def test_an_index_name_longer_than_mariadb_takes_is_shortened(sqlite_db, mysql_db) -> None:
    """2. SQLite to MariaDB, index names over 64 characters: an internal error at CREATE INDEX."""
    source, target = sqlite_db(), mysql_db()
    table, stem = "c" * 60, "c" * 40 + "_idx_" + "a" * 30
    run_sql(
        source,
        f'CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE "{table}" (id INTEGER PRIMARY KEY, '
        f'parent_a INTEGER REFERENCES p(id), parent_b INTEGER REFERENCES p(id)); CREATE INDEX "{stem}1" ON "{table}"'
        f'(parent_a); CREATE INDEX "{stem}2" ON "{table}"(parent_b);'
        + "".join(f"INSERT INTO p VALUES ({i}, 'n{i % 7}');" for i in range(1, 101))
        + "".join(
            f'INSERT INTO "{table}" VALUES ({i}, {1 + i % 100}, {1 + (i * 7) % 100});' for i in range(1, 401)
        ),
    )
    out = relsynth.synthesize(source, target, seed=1)
    assert out["write"].verification.problems == 0
    renamed = [c for c in out["write"].changes if "renamed" in c and "longer than its 64 characters" in c]
    assert len(renamed) == 2
    names = {
        n
        for (n,) in fetch(
            target,
            f"SELECT DISTINCT index_name FROM information_schema.statistics WHERE table_name = '{table}'",
        )
    }
    assert len({n for n in names if n.startswith("c" * 40)}) == 2


def _ident(i: int, shape: str) -> object:
    import base64
    import hashlib
    import uuid

    digest = hashlib.md5(f"p{i}".encode()).hexdigest()
    return {
        "md5": digest,
        "uuid": str(uuid.UUID(digest)),
        "oid": digest[:24],
        "ulid": "01H" + digest[:23].upper(),
        "b64": base64.b64encode(hashlib.sha256(f"p{i}".encode()).digest()).decode(),
        "int": 100000 + i * 7,
    }[shape]


@pytest.mark.parametrize(
    ("column", "shape"),
    [
        ("user_hash", "md5"),
        ("owner_guid", "uuid"),
        ("user_key", "uuid"),
        ("client_pid", "int"),
        ("pseudonym", "oid"),
        ("pseudonym", "ulid"),
        ("hash_id", "b64"),
    ],
)
def test_a_person_named_by_other_words_or_shapes_holds_their_values(
    sqlite_db, tmp_path, column: str, shape: str
) -> None:
    """3. A flat visits table whose person column is user_hash, owner_guid, user_key, client_pid,
    or a pseudonym holding ObjectIds, ULIDs or base64 SHA-256s: its 30 visits of one person were 30
    people, and the person's zip (ZZ999) reached the output (33 rows) and the model file."""
    import random

    from tests.conftest import model_contents

    source, target = sqlite_db(), sqlite_db()
    kind = "INTEGER" if shape == "int" else "TEXT"
    r = random.Random(1)
    rows = []
    for i in range(60):
        zip_, tier = (
            ("ZZ999", "PLATINUM_X") if i == 0 else (f"1000{i % 6}", ("gold", "silver", "bronze")[i % 3])
        )
        for _ in range(30 if i == 0 else r.randint(3, 12)):
            who = _ident(i, shape)
            who = who if shape == "int" else f"'{who}'"
            rows.append(
                f"INSERT INTO visits ({column}, zip, tier, amount) VALUES ({who}, '{zip_}', '{tier}', {r.uniform(10, 500):.2f});"
            )
    run_sql(
        source,
        f"CREATE TABLE visits (id INTEGER PRIMARY KEY, {column} {kind} NOT NULL, zip TEXT, tier TEXT, amount REAL);"
        + "".join(rows),
    )
    model = relsynth.fit(source, seed=1)
    text, _ = model_contents(model, tmp_path / "m.rsm")
    assert "ZZ999" not in text and "PLATINUM_X" not in text
    relsynth.synthesize(source, target, seed=1)
    assert fetch(target, "SELECT COUNT(*) FROM visits WHERE zip = 'ZZ999' OR tier = 'PLATINUM_X'") == [(0,)]
    assert fetch(target, "SELECT COUNT(DISTINCT zip) FROM visits") == [(6,)]  # the common zips kept


def test_a_birth_date_drawn_by_chance_is_no_leak(sqlite_db) -> None:
    """4. evaluate flagged synthetic birth dates that equal a source person's (repeated on their
    visits, so a point mass of the source) on one synthetic row each: chance, not a copy."""
    import hashlib
    import random

    source, target = sqlite_db(), sqlite_db()
    r = random.Random(1)
    rows = []
    for i in range(60):
        who = hashlib.md5(f"p{i}".encode()).hexdigest()
        zip_, tier = (
            ("ZZ999", "PLATINUM_X") if i == 0 else (f"1000{1 + i % 6}", ("gold", "silver", "bronze")[i % 3])
        )
        for _ in range(30 if i == 0 else r.randint(3, 12)):
            amount, day = round(r.uniform(10, 500), 2), f"2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
            born = f"19{40 + i % 50}-{1 + i % 12:02d}-{1 + i % 28:02d}"
            rows.append(
                f"INSERT INTO visits (patient_ref, zip, tier, amount, visit_day, born) VALUES ('{who}', '{zip_}', '{tier}', {amount}, '{day}', '{born}');"
            )
    run_sql(
        source,
        "CREATE TABLE visits (id INTEGER PRIMARY KEY, patient_ref TEXT NOT NULL, zip TEXT, tier TEXT, "
        "amount REAL, visit_day TEXT, born TEXT);" + "".join(rows),
    )
    relsynth.synthesize(source, target, seed=0)
    result = relsynth.evaluate(source, target, seed=0)
    flagged = [f for f in result["tables"]["visits"]["privacy"]["rare_people"] if f["column"] == "born"]
    assert flagged == []
