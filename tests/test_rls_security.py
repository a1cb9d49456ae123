"""PostgreSQL row-level security (attack round 41).

1. A source read by a role that row-level security restricts: a 2,000-row table was learned as
   "empty" and written empty, with no word (pg_dump sets row_security = off and fails). The read
   transaction sets row_security = off, and the tables whose rows would be hidden are named in one
   line before any row is read.
2. ENABLE / FORCE ROW LEVEL SECURITY and CREATE POLICY were not recreated in a PostgreSQL target,
   and nothing said so: they are recreated after the load (PostgreSQL to PostgreSQL), and said
   under changed: into SQLite / MariaDB. The writer's verification and the evaluation still see
   every row.
3. An empty stderr line came before the one-line FAILED: message (rich's Progress.stop on a pipe).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

import relsynth
from relsynth.errors import RelsynthError
from tests.conftest import as_user, fetch, pg_admin, run_sql, scalar

TENANTS = """
CREATE TABLE tenants (tenant_id int PRIMARY KEY, plan text NOT NULL);
INSERT INTO tenants SELECT g, (ARRAY['free', 'pro'])[1 + mod(g, 2)] FROM generate_series(1, 40) g;
CREATE TABLE documents (tenant_id int NOT NULL REFERENCES tenants, doc_id int NOT NULL, title text NOT NULL,
    size_bytes int NOT NULL, PRIMARY KEY (tenant_id, doc_id));
INSERT INTO documents SELECT 1 + mod(g, 40), g, (ARRAY['Report', 'Notes', 'Invoice', 'Roadmap'])[1 + mod(g, 4)],
    mod(g * 7919, 1000000) FROM generate_series(1, 2000) g;
ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON documents USING (tenant_id = current_setting('app.tenant', true)::int);
"""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """A real process: its stderr is a pipe, as a user's redirected output."""
    return subprocess.run(
        [sys.executable, "-m", "relsynth", *args], capture_output=True, text=True, timeout=600
    )


def _one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("FAILED: "), repr(err)  # no empty line before it
    return err.strip()


@pytest.mark.postgresql
def test_a_source_row_level_security_hides_rows_from_is_one_line_not_an_empty_table(
    role, pg_db, tmp_path: Path
) -> None:
    source, target = pg_db(), pg_db()
    run_sql(source, TENANTS + f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};")
    reader = as_user(source, role)
    try:
        got = cli("synthesize", reader, target, "--seed", "1", "--no-report")
        assert got.returncode == 1, got.stdout + got.stderr
        line = _one_line(got.stderr)
        assert "documents" in line and "BYPASSRLS" in line and "--exclude documents" in line, line
        for value in ("Report", "Invoice", "tenant_isolation", "app.tenant"):
            assert value not in line
        assert scalar(target, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
        # inspect and evaluate read the same way
        got = cli("inspect", reader)
        assert got.returncode == 1 and "documents" in _one_line(got.stderr)
        relsynth.synthesize(source, target, seed=1)  # as the owner (a superuser here): every row
        assert scalar(target, "SELECT count(*) FROM documents") == 2000
        got = cli("evaluate", reader, target)
        assert got.returncode == 1 and "documents" in _one_line(got.stderr)
        # with a model file, whose schema is not reflected again: checked before the read too
        relsynth.fit(source).save(tmp_path / "m.rsm")
        got = cli("evaluate", reader, target, "--model", str(tmp_path / "m.rsm"))
        assert got.returncode == 1 and "documents" in _one_line(got.stderr)
        # --exclude leaves it out: the rest is read
        assert relsynth.synthesize(reader, pg_db(), seed=1, exclude=("documents",))["write"].rows == {
            "tenants": 40
        }
        # The read transaction itself never returns a filtered table: a read past the check fails.
        from relsynth.io import connect, database_error

        with connect(reader, read_only=True) as conn, pytest.raises(sa.exc.DBAPIError) as caught:
            conn.exec_driver_sql("SELECT count(*) FROM documents").scalar()
        message = str(database_error(caught.value))
        assert "Row-level security" in message and "BYPASSRLS" in message, message
    finally:
        pg_admin(f"REASSIGN OWNED BY {role} TO postgres")
        run_sql(source, f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")


POLICIES = """
CREATE TABLE documents (tenant_id int NOT NULL, doc_id int NOT NULL, title text NOT NULL,
    size_bytes int NOT NULL, PRIMARY KEY (tenant_id, doc_id));
INSERT INTO documents SELECT 1 + mod(g, 40), g, (ARRAY['Report', 'Notes', 'Invoice', 'Roadmap'])[1 + mod(g, 4)],
    mod(g * 7919, 1000000) FROM generate_series(1, 2000) g;
ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
ALTER TABLE documents FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON documents USING (tenant_id = current_setting('app.tenant', true)::int)
    WITH CHECK (tenant_id = current_setting('app.tenant', true)::int);
CREATE POLICY no_huge ON documents AS RESTRICTIVE FOR INSERT TO {role} WITH CHECK (size_bytes < 999999);
CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL);
INSERT INTO notes SELECT g, 'n' || g FROM generate_series(1, 50) g;
CREATE POLICY dormant ON notes FOR SELECT USING (id > 0);
"""
_POLICY_ROWS = (
    "SELECT tablename, policyname, permissive, roles::text, cmd, qual, with_check FROM pg_policies "
    "ORDER BY 1, 2"
)
_SECURITY = (
    "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
    "WHERE relname IN ('documents', 'notes') ORDER BY 1"
)


@pytest.mark.postgresql
def test_row_level_security_and_policies_are_recreated_into_postgresql(role, pg_db) -> None:
    source, target = pg_db(), pg_db()
    run_sql(source, POLICIES.format(role=role))
    out = relsynth.synthesize(source, target, seed=1)
    assert fetch(target, _POLICY_ROWS) == fetch(source, _POLICY_ROWS)
    assert fetch(target, _SECURITY) == [("documents", True, True), ("notes", False, False)]
    # Every row is there (and was verified): FORCE came last, after the load's own reads.
    assert out["write"].rows == {"documents": 2000, "notes": 50}
    assert out["write"].verification.rows == {"documents": 2000, "notes": 50}
    assert scalar(target, "SELECT count(*) FROM documents") == 2000
    assert not [c for c in out["write"].lines() if "polic" in c or "row-level" in c]
    # The evaluation reads every row of both (row_security = off, as a superuser here).
    relsynth.evaluate(source, target, sample_rows=None)
    # A second --replace keeps them: they are the source's, not a DBA's own on the target.
    relsynth.synthesize(source, target, seed=2, replace=True)
    assert fetch(target, _POLICY_ROWS) == fetch(source, _POLICY_ROWS)
    # A policy the target's DBA added is still refused, as before.
    run_sql(target, "CREATE POLICY mine ON notes USING (true)")
    with pytest.raises(RelsynthError, match="row-level policy mine on notes"):
        relsynth.synthesize(source, target, seed=2, replace=True)


@pytest.mark.postgresql
def test_a_policy_for_a_role_the_target_lacks_is_said_under_changed(role, pg_db, tmp_path: Path) -> None:
    source, target = pg_db(), pg_db()
    run_sql(source, POLICIES.format(role=role))
    path = tmp_path / "schema.json"  # as a source on another server, whose roles the target lacks
    path.write_text(relsynth.reflect(source).to_json().replace(f'"{role}"', '"rs_rls_nobody_here"'))
    out = relsynth.synthesize(source, target, seed=1, schema=path)
    lines = out["write"].lines()
    assert (
        "changed: policy no_huge on documents: not recreated: it is for role rs_rls_nobody_here, "
        "which the target's server does not have"
    ) in lines, lines
    # The restrictive no_huge is not there, so neither is the permissive policy it narrowed (round 42):
    # documents keeps FORCE ROW LEVEL SECURITY and no policy (no row for a non-owner role).
    assert {p for _, p, *_ in fetch(target, _POLICY_ROWS)} == {"dormant"}
    assert any(
        c.startswith("changed: documents: permissive policy tenant_isolation not recreated") for c in lines
    )


@pytest.mark.postgresql
def test_a_target_owner_that_row_level_security_filters_still_loads_and_the_evaluation_says_why(
    role, pg_db
) -> None:
    source, target = pg_db(), pg_db()
    run_sql(source, POLICIES.format(role=role))
    database = sa.make_url(target).database
    run_sql(
        target,
        f"GRANT CREATE, USAGE ON SCHEMA public TO {role}; GRANT CREATE ON DATABASE {database} TO {role}",
    )
    writer = as_user(target, role)
    try:
        out = relsynth.synthesize(source, writer, seed=1)  # the owner, FORCEd: verified before FORCE
        assert out["write"].verification.rows == {"documents": 2000, "notes": 50}
        assert scalar(target, "SELECT count(*) FROM documents") == 2000
        got = cli("evaluate", source, writer)
        assert got.returncode == 1
        line = _one_line(got.stderr)
        assert "documents" in line and "FORCE ROW LEVEL SECURITY" in line and "BYPASSRLS" in line, line
    finally:
        pg_admin(f"REASSIGN OWNED BY {role} TO postgres")
        run_sql(
            target, f"REVOKE ALL ON SCHEMA public FROM {role}; REVOKE ALL ON DATABASE {database} FROM {role}"
        )


@pytest.mark.postgresql
def test_row_level_security_into_sqlite_is_said_under_changed(role, pg_db, tmp_path: Path) -> None:
    source = pg_db()
    run_sql(source, POLICIES.format(role=role))
    out = relsynth.synthesize(source, f"sqlite:///{tmp_path / 'out.db'}", seed=1)
    lines = out["write"].lines()
    assert (
        "changed: documents: row-level security (FORCE) and its 2 policies not recreated: SQLite has no "
        "row-level security, so every row is visible to every user who may read the table"
    ) in lines, lines
    assert any(
        line.startswith("changed: notes: its 1 row-level security policy not recreated") for line in lines
    )
    assert out["write"].rows == {"documents": 2000, "notes": 50}


@pytest.mark.postgresql
@pytest.mark.mysql
def test_row_level_security_into_mariadb_is_said_under_changed(role, pg_db, mysql_db) -> None:
    source = pg_db()
    run_sql(source, POLICIES.format(role=role))
    out = relsynth.synthesize(source, mysql_db(), seed=1)
    lines = out["write"].lines()
    assert (
        "changed: documents: row-level security (FORCE) and its 2 policies not recreated: MySQL/MariaDB "
        "has no row-level security, so every row is visible to every user who may read the table"
    ) in lines, lines
    assert out["write"].rows == {"documents": 2000, "notes": 50}


def test_a_failure_is_one_stderr_line_without_an_empty_line_before_it(tmp_path: Path) -> None:
    path = tmp_path / "one.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE patients (id INTEGER PRIMARY KEY)")
        conn.executemany("INSERT INTO patients VALUES (?)", [(i,) for i in range(50)])
    got = cli("inspect", f"sqlite:///{path}", "--table", "patient")
    assert got.returncode == 1
    assert got.stderr == "FAILED: Unknown table 'patient'. Did you mean 'patients'?\n", repr(got.stderr)
