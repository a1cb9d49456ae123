"""Writing synthetic databases: end to end on SQLite, PostgreSQL and MariaDB; safety (non-empty
targets, all-or-nothing loads, staging leftovers, an untouched source); what a DBA expects to
survive (sequences, triggers, views, enums, partitions); across dialects."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from relsynth.errors import RelsynthError
from relsynth.writer import write
from tests.conftest import run_sql, table_names


@pytest.fixture(scope="module")
def demo(demo_db: str):
    model = relsynth.fit(demo_db, seed=6)
    return model, relsynth.sample(model, scale=0.3)


def _target(request: pytest.FixtureRequest, kind: str) -> str:
    fixture = {"sqlite": "sqlite_db", "postgresql": "pg_db", "mysql": "mysql_db"}[kind]
    return request.getfixturevalue(fixture)()


def _count(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mysql"])
def test_demo_end_to_end(request: pytest.FixtureRequest, demo, kind: str) -> None:
    model, tables = demo
    url = _target(request, kind)
    summary = write(tables, model.schema, url, plan=model.plan)
    assert summary.verification.problems == 0, summary.verification.lines()
    assert summary.rows == {n: len(tables[n]) for n in model.plan.order}
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        insp = sa.inspect(conn)
        assert set(insp.get_table_names()) == set(model.plan.order)
        fks = sum(len(insp.get_foreign_keys(t)) for t in model.plan.order)
        assert fks == sum(len(model.schema.table(t).foreign_keys) for t in model.plan.order)
        assert insp.get_pk_constraint("diagnoses")["constrained_columns"] == ["admission_id", "seq"]
        # The cycle wards -> providers (head nurse) is in place in the target.
        heads = conn.execute(
            sa.text("SELECT COUNT(*) FROM wards WHERE head_nurse_id IS NOT NULL")
        ).scalar_one()
        assert heads > 0
        # The key sequence continues after the loaded keys: an application can insert right away.
        top = conn.execute(sa.text("SELECT MAX(patient_id) FROM patients")).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO patients (mrn, first_name, last_name, sex, birth_date, city, state, insurance) "
                "VALUES ('MRN9999999', 'A', 'B', 'F', '1980-01-01', 'Columbus', 'OH', 'private')"
            )
        )
        new = conn.execute(sa.text("SELECT MAX(patient_id) FROM patients")).scalar_one()
        assert new == top + 1
        conn.rollback()
    engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mysql"])
def test_non_empty_target_refused_then_replaced(request: pytest.FixtureRequest, demo, kind: str) -> None:
    model, tables = demo
    url = _target(request, kind)
    run_sql(url, "CREATE TABLE keep_me (id INTEGER PRIMARY KEY);\nINSERT INTO keep_me VALUES (1);")
    with pytest.raises(RelsynthError, match=r"is not empty .*keep_me.*--replace"):
        write(tables, model.schema, url, plan=model.plan)
    assert table_names(url) == {"keep_me"}
    write(tables, model.schema, url, plan=model.plan, replace=True)
    again = relsynth.sample(model, scale=0.1, seed=2)
    summary = write(again, model.schema, url, plan=model.plan, replace=True)
    assert summary.verification.problems == 0
    assert _count(url, "patients") == len(again["patients"])
    assert _count(url, "keep_me") == 1  # --replace touches only the tables relsynth writes


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mysql"])
def test_failure_mid_load_leaves_the_target_as_it_was(
    request: pytest.FixtureRequest, demo, kind: str
) -> None:
    model, tables = demo
    url = _target(request, kind)
    # A fresh target stays empty.
    with pytest.raises(RelsynthError, match="failure injected"):
        write(tables, model.schema, url, plan=model.plan, fail_after="admissions")
    if kind == "sqlite":
        assert not Path(sa.make_url(url).database).exists()  # the new file is removed
    else:
        assert table_names(url) == set()
    # A target with a previous synthetic database keeps it exactly, through a failed --replace.
    write(tables, model.schema, url, plan=model.plan)
    before = _count(url, "lab_results")
    other = relsynth.sample(model, scale=0.05, seed=3)
    with pytest.raises(RelsynthError, match="failure injected"):
        write(other, model.schema, url, plan=model.plan, replace=True, fail_after="diagnoses")
    assert _count(url, "lab_results") == before
    assert table_names(url) == set(model.plan.order)


@pytest.mark.mysql
def test_mysql_staging_leftovers_are_removed(request: pytest.FixtureRequest, demo) -> None:
    """A killed run's staging tables are recorded in the bookkeeping table: the next run drops
    exactly those, and the bookkeeping table with them."""
    model, tables = demo
    url = _target(request, "mysql")
    run_sql(
        url,
        "CREATE TABLE _rsdead0000beef_0 (id INTEGER);\nCREATE TABLE _rsdead0000beef_1 (id INTEGER);\n"
        "CREATE TABLE _relsynth_staging (run VARCHAR(32) NOT NULL, kind VARCHAR(8) NOT NULL, "
        "name VARCHAR(64) NOT NULL, definition TEXT);\n"
        "INSERT INTO _relsynth_staging VALUES ('dead0000beef', 'table', '_rsdead0000beef_0', NULL), "
        "('dead0000beef', 'table', '_rsdead0000beef_1', NULL);",
    )
    summary = write(tables, model.schema, url, plan=model.plan)
    assert any("removed 2 staging tables" in line for line in summary.lines())
    assert table_names(url) == set(model.plan.order)


PG_RICH = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS INTEGER CHECK (VALUE > 0);
CREATE TABLE account (
  id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  token UUID NOT NULL UNIQUE,
  m mood NOT NULL DEFAULT 'ok',
  score posint,
  tags TEXT[],
  meta JSONB,
  amount NUMERIC(10, 2) NOT NULL CHECK (amount >= 0),
  name VARCHAR(40) NOT NULL CHECK (length(name) > 3),
  doubled NUMERIC GENERATED ALWAYS AS (amount * 2) STORED,
  created TIMESTAMPTZ NOT NULL DEFAULT now()
);
COMMENT ON TABLE account IS 'customer accounts';
CREATE TABLE event (id BIGSERIAL, account_id INTEGER NOT NULL REFERENCES account(id),
  day DATE NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE event_2023 PARTITION OF event FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE event_2024 PARTITION OF event FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE audit (id SERIAL PRIMARY KEY, what TEXT);
CREATE FUNCTION note_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO audit (what) VALUES ('event'); RETURN NEW; END $$;
CREATE TRIGGER event_audit AFTER INSERT ON event FOR EACH ROW EXECUTE FUNCTION note_event();
CREATE VIEW big_accounts AS SELECT id, name FROM account WHERE amount > 100;
"""


def _fill_pg_rich(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for i in range(60):
            conn.execute(
                sa.text(
                    "INSERT INTO account (token, m, score, tags, meta, amount, name) VALUES "
                    "(gen_random_uuid(), :m, :s, ARRAY['a', 'b'], '{\"k\": 1}', :a, :n)"
                ),
                {"m": ["sad", "ok", "happy"][i % 3], "s": i % 7 + 1, "a": i * 3.5, "n": f"acct-{i:04d}"},
            )
        for i in range(300):
            conn.execute(
                sa.text("INSERT INTO event (account_id, day, n) VALUES (:a, :d, :n)"),
                {"a": i % 60 + 1, "d": f"202{3 + i % 2}-0{i % 9 + 1}-1{i % 9}", "n": i % 11},
            )
        conn.execute(sa.text("DELETE FROM audit"))
    engine.dispose()


@pytest.mark.postgresql
def test_postgresql_features_survive(pg_db) -> None:
    source = pg_db()
    run_sql(source, PG_RICH)
    _fill_pg_rich(source)
    model = relsynth.fit(source, seed=3)
    tables = relsynth.sample(model, scale=2)
    target = pg_db()
    summary = write(tables, model.schema, target, plan=model.plan)
    assert summary.verification.problems == 0, summary.verification.lines()
    assert summary.not_recreated == []
    assert "none fired" in summary.triggers
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        insp = sa.inspect(conn)
        assert set(insp.get_table_names()) >= {"account", "event", "audit"}
        assert "event_2023" in insp.get_table_names()  # partitions recreated
        assert conn.execute(sa.text("SELECT COUNT(*) FROM audit")).scalar_one() == 0  # trigger did not fire
        assert insp.get_view_names() == ["big_accounts"]
        assert [e["name"] for e in insp.get_enums()] == ["mood"]
        assert insp.get_table_comment("account")["text"] == "customer accounts"
        cols = {c["name"]: c for c in insp.get_columns("account")}
        assert cols["id"].get("identity", {}).get("always") is True
        assert cols["doubled"].get("computed")
        doubled = conn.execute(
            sa.text("SELECT COUNT(*) FROM account WHERE doubled = amount * 2")
        ).scalar_one()
        assert doubled == len(tables["account"])  # generated values computed by the database
        # The identity continues after the loaded keys.
        conn.execute(
            sa.text("INSERT INTO account (token, amount, name) VALUES (gen_random_uuid(), 1, 'abcd')")
        )
        assert conn.execute(sa.text("SELECT MAX(id) FROM account")).scalar_one() == len(tables["account"]) + 1
        # The trigger exists afterwards and works.
        conn.execute(sa.text("INSERT INTO event (account_id, day, n) VALUES (1, '2023-05-05', 1)"))
        assert conn.execute(sa.text("SELECT COUNT(*) FROM audit")).scalar_one() == 1
        # Rows breaking the CHECK relsynth cannot interpret (length(name) > 3) were dropped before loading.
        assert conn.execute(sa.text("SELECT COUNT(*) FROM account WHERE length(name) <= 3")).scalar_one() == 0
        conn.rollback()
    engine.dispose()


@pytest.mark.postgresql
@pytest.mark.parametrize("other", ["sqlite", "mysql"])
def test_postgresql_to_other_dialects(request: pytest.FixtureRequest, pg_db, other: str) -> None:
    source = pg_db()
    run_sql(source, PG_RICH)
    _fill_pg_rich(source)
    model = relsynth.fit(source, seed=3)
    tables = relsynth.sample(model)
    target = _target(request, other)
    summary = write(tables, model.schema, target, plan=model.plan)
    assert summary.verification.problems == 0, summary.verification.lines()
    changes = "\n".join(summary.changes)
    assert "account.token: UUID -> CHAR(36)" in changes
    assert "account.tags: TEXT[] -> JSON" in changes
    assert "length(name::text) > 3) cannot be expressed" not in changes  # CHAR_LENGTH / length there
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        short = (
            sa.select(sa.func.count())
            .select_from(sa.table("account"))
            .where(sa.func.length(sa.column("name")) <= 3)
        )
        assert conn.execute(short).scalar_one() == 0
    engine.dispose()
    assert "partitioned in the source" in changes
    assert any("another dialect" in line for line in summary.not_recreated)
    assert _count(target, "account") == len(tables["account"])


@pytest.mark.postgresql
def test_into_existing_replace_keeps_tables_and_triggers(request: pytest.FixtureRequest, pg_db) -> None:
    source = pg_db()
    run_sql(source, PG_RICH)
    _fill_pg_rich(source)
    model = relsynth.fit(source, seed=3)
    target = pg_db()
    run_sql(target, PG_RICH)  # the staging database's schema, owned by migrations
    run_sql(
        target,
        "INSERT INTO audit (what) VALUES ('kept by the application');\nGRANT SELECT ON account TO PUBLIC;",
    )
    tables = relsynth.sample(model)
    with pytest.raises(RelsynthError, match="not empty"):
        write(tables, model.schema, target, plan=model.plan, into_existing=True)
    summary = write(tables, model.schema, target, plan=model.plan, into_existing=True, replace=True)
    assert summary.verification.problems == 0
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        # audit is one of the written tables, so it was emptied and refilled, never dropped; the
        # trigger on event did not fire during the load (audit holds exactly the synthetic rows).
        assert conn.execute(sa.text("SELECT COUNT(*) FROM audit")).scalar_one() == len(tables["audit"])
        enabled = (
            conn.execute(sa.text("SELECT tgenabled FROM pg_trigger WHERE tgname = 'event_audit'"))
            .scalars()
            .all()
        )
        assert enabled and set(enabled) == {"O"}  # enabled again after the load (parent and partitions)
        grants = conn.execute(
            sa.text(
                "SELECT COUNT(*) FROM information_schema.role_table_grants WHERE table_name = 'account' "
                "AND grantee = 'PUBLIC'"
            )
        ).scalar_one()
        assert grants == 1
    engine.dispose()


def test_source_is_unchanged(demo_db: str, tmp_path: Path) -> None:
    path = Path(sa.make_url(demo_db).database)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    relsynth.synthesize(demo_db, f"sqlite:///{tmp_path / 'out.db'}", scale=0.2)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_cli_demo_synthesize_and_sample_target(
    demo_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # synthesize writes its report into the working directory
    out = tmp_path / "demo.db"
    result = CliRunner().invoke(main, ["-q", "demo", "-o", str(out), "--scale", "0.2"])
    assert result.exit_code == 0, result.output
    assert "verified in the target: 0 problems" in result.stdout
    assert _count(f"sqlite:///{out}", "patients") == 200  # scale is relative to the source, holdout included
    result = CliRunner().invoke(main, ["-q", "demo", "-o", str(out), "--scale", "0.1"])  # re-runnable
    assert result.exit_code == 0 and _count(f"sqlite:///{out}", "patients") == 100

    target = tmp_path / "syn.db"
    result = CliRunner().invoke(main, ["-q", "synthesize", demo_db, f"sqlite:///{target}", "--scale", "0.1"])
    assert result.exit_code == 0, result.output
    assert "stage" in result.stdout and "write" in result.stdout
    assert (tmp_path / "relsynth_report.html").exists()  # the default --report
    result = CliRunner().invoke(main, ["-q", "synthesize", demo_db, f"sqlite:///{target}"])
    assert result.exit_code == 1 and "--replace" in result.stderr

    model = tmp_path / "m.rsm"
    assert CliRunner().invoke(main, ["-q", "fit", demo_db, "-o", str(model)]).exit_code == 0
    result = CliRunner().invoke(
        main, ["-q", "sample", str(model), "--target", f"sqlite:///{target}", "--replace", "--scale", "0.05"]
    )
    assert result.exit_code == 0, result.output
    assert _count(f"sqlite:///{target}", "patients") == 50
    result = CliRunner().invoke(
        main, ["-q", "synthesize", demo_db, f"sqlite:///{tmp_path / 's.db'}", "--schema-only"]
    )
    assert result.exit_code == 0 and _count(f"sqlite:///{tmp_path / 's.db'}", "patients") == 0


@pytest.mark.mysql
def test_mysql_into_existing_triggers_do_not_fire(request: pytest.FixtureRequest, demo) -> None:
    model, tables = demo
    url = _target(request, "mysql")
    write(tables, model.schema, url, plan=model.plan, schema_only=True)
    run_sql(url, "CREATE TABLE hits (n INTEGER);\nINSERT INTO hits VALUES (0);")
    run_sql(
        url, "CREATE TRIGGER count_patients AFTER INSERT ON patients FOR EACH ROW UPDATE hits SET n = n + 1;"
    )
    summary = write(tables, model.schema, url, plan=model.plan, into_existing=True)
    assert summary.verification.problems == 0
    assert "dropped for the load and created again" in summary.triggers
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT n FROM hits")).scalar_one() == 0
        conn.execute(
            sa.text(
                "INSERT INTO patients (mrn, first_name, last_name, sex, birth_date, city, state, insurance) "
                "VALUES ('MRN9999999', 'A', 'B', 'F', '1980-01-01', 'Columbus', 'OH', 'private')"
            )
        )
        assert conn.execute(sa.text("SELECT n FROM hits")).scalar_one() == 1  # the trigger is back
    engine.dispose()


def _contents(url: str, tables: list[str]) -> dict[str, str]:
    """Each table's rows, sorted, hashed: what a chunked and a whole load must agree on."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            out = {}
            meta = sa.MetaData()
            meta.reflect(conn, only=tables)
            for t in tables:
                rows = sorted(repr(tuple(r)) for r in conn.execute(sa.select(meta.tables[t])))
                out[t] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
            return out
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mysql"])
def test_a_load_in_chunks_writes_the_same_rows_and_stays_all_or_nothing(
    request: pytest.FixtureRequest, demo, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rows are turned into Python values a chunk at a time (memory); the result must not change,
    # and a failure after several chunks of a table were sent must still leave nothing behind.
    import relsynth.writer as writer

    model, tables = demo
    whole = _target(request, kind)
    write(tables, model.schema, whole, plan=model.plan)
    monkeypatch.setattr(writer, "LOAD_CHUNK", 7)
    chunked = _target(request, kind)
    summary = write(tables, model.schema, chunked, plan=model.plan)
    assert summary.verification.problems == 0
    assert summary.rows == {n: len(tables[n]) for n in model.plan.order}
    assert _contents(chunked, model.plan.order) == _contents(whole, model.plan.order)
    failed = _target(request, kind)
    with pytest.raises(RelsynthError, match="failure injected"):
        write(tables, model.schema, failed, plan=model.plan, fail_after="lab_results")
    if kind == "sqlite":
        assert not Path(sa.make_url(failed).database).exists()
    else:
        assert table_names(failed) == set()
