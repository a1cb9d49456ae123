"""Attacks on what relsynth promises never to do to a database, on SQLite, PostgreSQL and MariaDB:

- write into its source, however the target URL spells it (and with --replace);
- drop a table it did not create (a user's `_rss_feed`);
- break objects that depend on the tables --replace rewrites (other tables' FKs, views);
- let two runs write into one target;
- leave anything behind after Ctrl-C;
- find, after minutes of work, a problem it could have found before reading any data.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from relsynth.errors import RelsynthError
from relsynth.guard import BOOKKEEPING, SameDatabase, Target, TargetBusy
from relsynth.writer import write
from tests.conftest import MYSQL_ADMIN, PG_ADMIN, run_sql

KINDS = ["sqlite", "postgresql", "mysql"]


@pytest.fixture(scope="module")
def demo(demo_db: str):
    model = relsynth.fit(demo_db, seed=6)
    return model, relsynth.sample(model, scale=0.2)


def _new(request: pytest.FixtureRequest, kind: str) -> str:
    fixture = {"sqlite": "sqlite_db", "postgresql": "pg_db", "mysql": "mysql_db"}[kind]
    return request.getfixturevalue(fixture)()


def _filled(request: pytest.FixtureRequest, kind: str, demo) -> str:
    """A database holding the demo's tables and rows: a source, or a target written before."""
    model, tables = demo
    url = _new(request, kind)
    write(tables, model.schema, url, plan=model.plan)
    return url


@contextmanager
def _engine(url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def _fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Every table with its row count and a hash of its sorted rows: equal means untouched."""
    out = {}
    with _engine(url) as engine, engine.connect() as conn:
        for name in sa.inspect(conn).get_table_names():
            rows = conn.execute(sa.select(sa.text("*")).select_from(sa.table(name))).all()
            digest = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
            out[name] = (len(rows), digest)
    return out


def _tables(url: str) -> set[str]:
    with _engine(url) as engine:
        return set(sa.inspect(engine).get_table_names())


def _stages() -> tuple[list[str], Callable[[str, int, int], None]]:
    seen: list[str] = []
    return seen, lambda stage, done, total: seen.append(stage)


# -- 1. the source is never the target -------------------------------------------------------------
def _spellings(url: str, kind: str, tmp_path: Path, other_user: str | None) -> list[str]:
    """The same database, as a user might type it."""
    u = sa.make_url(url)
    if kind == "sqlite":
        path = Path(u.database)
        link = tmp_path / "link.sqlite"
        link.symlink_to(path)
        hard = tmp_path / "hard.sqlite"
        os.link(path, hard)
        return [
            url,
            str(path),
            f"sqlite:///{link}",
            f"sqlite:///{hard}",
            f"sqlite:///{path.parent}/./{path.name}",
        ]
    host = "localhost" if u.host in {"127.0.0.1", None} else "127.0.0.1"
    out = [
        url,
        u.set(host=host).render_as_string(hide_password=False),
        url.replace("+psycopg", "").replace("+pymysql", ""),
    ]
    if other_user:
        out.append(u.set(username=other_user, password=None).render_as_string(hide_password=False))
    if kind == "postgresql":  # a search_path that puts the temporary schema first
        out.append(url + "?options=-csearch_path%3Dpg_temp,public")
    return out


@pytest.fixture
def other_user(request: pytest.FixtureRequest) -> Iterator[Callable[[str, str], str]]:
    """Factory: a second login with full rights on one database (dropped after the test)."""
    made: list[tuple[str, str]] = []

    def make(kind: str, database: str) -> str:
        name = f"rs_other_{os.getpid()}"
        admin = PG_ADMIN if kind == "postgresql" else MYSQL_ADMIN
        with _engine(admin) as engine, engine.connect() as conn:
            if kind == "postgresql":
                conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{name}"')
                conn.exec_driver_sql(f'CREATE ROLE "{name}" LOGIN SUPERUSER')
            else:
                conn.exec_driver_sql(f"DROP USER IF EXISTS '{name}'@'%%'")
                conn.exec_driver_sql(f"CREATE USER '{name}'@'%%'")
                conn.exec_driver_sql(f"GRANT ALL ON `{database}`.* TO '{name}'@'%%'")
            conn.commit()
        made.append((kind, name))
        return name

    yield make
    for kind, name in made:
        admin = PG_ADMIN if kind == "postgresql" else MYSQL_ADMIN
        with _engine(admin) as engine, engine.connect() as conn:
            if kind == "postgresql":
                conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{name}"')
            else:
                conn.exec_driver_sql(f"DROP USER IF EXISTS '{name}'@'%%'")
            conn.commit()


@pytest.mark.parametrize("kind", KINDS)
def test_source_as_target_is_refused_however_spelled(
    request: pytest.FixtureRequest, demo, kind: str, tmp_path: Path, other_user
) -> None:
    source = _filled(request, kind, demo)
    before = _fingerprint(source)
    user = None if kind == "sqlite" else other_user(kind, sa.make_url(source).database)
    for spelling in _spellings(source, kind, tmp_path, user):
        result = CliRunner().invoke(main, ["-q", "synthesize", source, spelling, "--replace", "--no-report"])
        assert result.exit_code == 1, (spelling, result.output)
        assert "is the source database itself" in result.output or "search_path" in result.output
        assert "is the source database itself" in result.output or "pg_temp" in spelling, result.output
        assert result.output.count("\n") == 1, result.output  # one line
        seen, progress = _stages()
        with pytest.raises(RelsynthError, match=r"is the source database itself|search_path"):
            relsynth.synthesize(source, spelling, replace=True, into_existing=True, progress=progress)
        assert "reflect" not in seen and "read" not in seen  # refused before any work
    assert _fingerprint(source) == before


def test_sqlite_path_through_a_symlinked_directory_is_the_kernels_file(
    request: pytest.FixtureRequest, demo, tmp_path: Path
) -> None:
    """SQLite resolves '..' as text, the kernel after symlinks: 'dir/linkdir/../src.db' (linkdir -> dir)
    is the kernel's <parent of dir>/src.db, and that is where relsynth must write, not into the source."""
    source = _filled(request, "sqlite", demo)
    path = Path(sa.make_url(source).database)
    (path.parent / "linkdir").symlink_to(path.parent)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    spelled = f"sqlite:///{path.parent}/linkdir/../{path.name}"
    try:
        relsynth.synthesize(source, spelled, replace=True, scale=0.2)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
        assert (path.parent.parent / path.name).exists()
    finally:
        (path.parent.parent / path.name).unlink(missing_ok=True)


@pytest.mark.parametrize("kind", KINDS)
def test_model_sampled_into_its_source_is_refused(
    request: pytest.FixtureRequest, demo, kind: str, tmp_path: Path
) -> None:
    source = _filled(request, kind, demo)
    before = _fingerprint(source)
    model_file = tmp_path / "m.rsm"
    relsynth.fit(source, seed=1).save(model_file)
    result = CliRunner().invoke(main, ["-q", "sample", str(model_file), "--target", source, "--replace"])
    assert result.exit_code == 1 and "is the source database itself" in result.output, result.output
    assert _fingerprint(source) == before


def test_demo_output_onto_its_source_is_refused(tmp_path: Path) -> None:
    from relsynth.demo import demo_path

    source = demo_path()
    digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()
    result = CliRunner().invoke(main, ["-q", "demo", "-o", str(source), "--no-report"])
    assert result.exit_code == 1 and "is the SQLite database" in result.output, result.output
    assert hashlib.sha256(Path(source).read_bytes()).hexdigest() == digest


def test_same_server_other_schema_is_allowed(request: pytest.FixtureRequest, demo) -> None:
    """PostgreSQL: the identity is server + database + schema; another schema of the source's database
    is another target."""
    source = _filled(request, "postgresql", demo)
    run_sql(source, "CREATE SCHEMA synth;")
    result = relsynth.synthesize(source, source, target_schema="synth", scale=0.1)
    assert result["write"].verification.problems == 0
    with pytest.raises(SameDatabase):
        relsynth.synthesize(source, source, target_schema="public", replace=True)


# -- 2. only what relsynth created is dropped ------------------------------------------------------
USER_TABLES = (
    "CREATE TABLE _rss_feed (id INTEGER PRIMARY KEY, title VARCHAR(40));\n"
    "INSERT INTO _rss_feed VALUES (1, 'kept');\n"
    "CREATE TABLE _rs0a1b2c_0 (id INTEGER PRIMARY KEY);\n"
    "INSERT INTO _rs0a1b2c_0 VALUES (7);\n"
    "CREATE TABLE _rsold0a1b2c_0 (id INTEGER PRIMARY KEY);\n"
)


@pytest.mark.parametrize("kind", KINDS)
def test_user_tables_named_like_staging_are_never_dropped(
    request: pytest.FixtureRequest, demo, kind: str
) -> None:
    model, tables = demo
    url = _new(request, kind)
    run_sql(url, USER_TABLES)
    mine = {"_rss_feed", "_rs0a1b2c_0", "_rsold0a1b2c_0"}
    before = _fingerprint(url)
    with pytest.raises(RelsynthError, match="not empty"):
        write(tables, model.schema, url, plan=model.plan)  # refused: and the refusal drops nothing
    assert _fingerprint(url) == before
    write(tables, model.schema, url, plan=model.plan, replace=True)
    after = _fingerprint(url)
    assert {n: after[n] for n in mine} == {n: before[n] for n in mine}
    assert _tables(url) == mine | set(model.plan.order)


# -- 3. --replace and what depends on the replaced tables ------------------------------------------
DEPENDENTS = {
    "sqlite": "CREATE TABLE audit (id INTEGER PRIMARY KEY, patient_id INTEGER REFERENCES patients(patient_id));",
    "postgresql": (
        "CREATE TABLE audit (id INTEGER PRIMARY KEY, patient_id INTEGER REFERENCES patients(patient_id));\n"
        "CREATE VIEW busy_wards AS SELECT ward_id, COUNT(*) AS n FROM admissions GROUP BY ward_id;"
    ),
    "mysql": "CREATE TABLE audit (id INTEGER PRIMARY KEY, patient_id INTEGER, "
    "FOREIGN KEY (patient_id) REFERENCES patients(patient_id)) ENGINE=InnoDB;",
}


@pytest.mark.parametrize("kind", KINDS)
def test_replace_refuses_when_other_objects_depend(request: pytest.FixtureRequest, demo, kind: str) -> None:
    model, tables = demo
    url = _filled(request, kind, demo)
    run_sql(url, DEPENDENTS[kind])
    if kind == "postgresql":  # lost with a dropped table, never recreated from the source: refused too
        run_sql(url, "CREATE POLICY own_ward ON wards USING (true);")
    before = _fingerprint(url)
    for into_existing in (False, True):
        seen, progress = _stages()
        with pytest.raises(RelsynthError, match="depend on the tables relsynth writes") as err:
            relsynth.synthesize(
                _source_of(request, kind, demo),
                url,
                replace=True,
                into_existing=into_existing,
                progress=progress,
            )
        assert "audit" in str(err.value)
        if kind == "postgresql" and not into_existing:
            assert "busy_wards" in str(err.value) and "policy own_ward on wards" in str(err.value)
        assert "read" not in seen  # found before reading the source's data
    assert _fingerprint(url) == before
    # Without the dependents, --replace works, again and again (views it recreated are its own).
    run_sql(
        url,
        "DROP VIEW busy_wards;\nDROP TABLE audit;\nDROP POLICY own_ward ON wards;"
        if kind == "postgresql"
        else "DROP TABLE audit;",
    )
    for _ in range(2):
        summary = write(tables, model.schema, url, plan=model.plan, replace=True)
        assert summary.verification.problems == 0


def _source_of(request: pytest.FixtureRequest, kind: str, demo) -> str:
    return _filled(request, "sqlite", demo)


# -- 4. one run per target -------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_second_run_into_a_locked_target_is_refused(request: pytest.FixtureRequest, demo, kind: str) -> None:
    model, tables = demo
    url = _new(request, kind)
    first = Target(url).open()
    if kind == "mysql":  # the live run's recorded staging table, which the second run must not touch
        run_sql(
            url,
            "CREATE TABLE _rs11ee0000cafe_0 (id INTEGER);\n"
            f"CREATE TABLE {BOOKKEEPING} (run VARCHAR(32) NOT NULL, kind VARCHAR(8) NOT NULL, "
            "name VARCHAR(64) NOT NULL, definition TEXT);\n"
            f"INSERT INTO {BOOKKEEPING} VALUES ('11ee0000cafe', 'table', '_rs11ee0000cafe_0', NULL);",
        )
    try:
        with pytest.raises(TargetBusy, match="Another relsynth run is writing"):
            write(tables, model.schema, url, plan=model.plan)
        result = CliRunner().invoke(
            main, ["-q", "synthesize", _source_of(request, kind, demo), url, "--no-report"]
        )
        assert result.exit_code == 1 and "Another relsynth run is writing" in result.output, result.output
        if kind == "mysql":
            assert "_rs11ee0000cafe_0" in _tables(url)
    finally:
        first.close(failed=False)
    summary = write(tables, model.schema, url, plan=model.plan)  # the lock is gone with its holder
    assert summary.verification.problems == 0
    assert not {t for t in _tables(url) if t.startswith("_r")}


# -- 5. Ctrl-C leaves nothing behind ---------------------------------------------------------------
def _interrupt_at(table_index: int) -> Callable[[str, int, int], None]:
    def progress(stage: str, done: int, total: int) -> None:
        if stage == "write" and done == table_index:
            signal.raise_signal(signal.SIGINT)  # a real Ctrl-C, delivered between two tables

    return progress


@pytest.mark.parametrize("kind", KINDS)
def test_interrupt_leaves_the_target_as_it_was(request: pytest.FixtureRequest, demo, kind: str) -> None:
    model, tables = demo
    url = _new(request, kind)
    with pytest.raises(KeyboardInterrupt):
        write(tables, model.schema, url, plan=model.plan, progress=_interrupt_at(3))
    if kind == "sqlite":
        assert not Path(sa.make_url(url).database).exists()  # the new file is gone
    else:
        assert _tables(url) == set()  # no tables, no staging, no bookkeeping
    filled = _filled(request, kind, demo)
    before = _fingerprint(filled)
    with pytest.raises(KeyboardInterrupt):
        write(tables, model.schema, filled, plan=model.plan, replace=True, progress=_interrupt_at(4))
    assert _fingerprint(filled) == before


INTERRUPTING_CLI = """
import signal, sys
import relsynth.writer as w
original = w._load
calls = []
def load(*args, **kwargs):
    calls.append(1)
    if len(calls) == 3:
        signal.raise_signal(signal.SIGINT)
    return original(*args, **kwargs)
w._load = load
from relsynth.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("kind", KINDS)
def test_ctrl_c_in_the_cli_exits_130_and_cleans_up(
    request: pytest.FixtureRequest, demo, kind: str, tmp_path: Path
) -> None:
    model, _ = demo
    model_file = tmp_path / "m.rsm"
    model.save(model_file)
    url = _new(request, kind)
    proc = subprocess.run(
        [sys.executable, "-c", INTERRUPTING_CLI, "-q", "sample", str(model_file), "--target", url],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.strip() == "Interrupted.", proc.stderr
    if kind == "sqlite":
        assert not Path(sa.make_url(url).database).exists()
    else:
        assert _tables(url) == set()


# -- 6. what can be checked without data is checked before reading it ------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_target_problems_are_found_before_reading(request: pytest.FixtureRequest, demo, kind: str) -> None:
    source = _source_of(request, kind, demo)
    target = _filled(request, kind, demo)
    seen, progress = _stages()
    with pytest.raises(RelsynthError, match="not empty"):
        relsynth.synthesize(source, target, progress=progress)
    assert "reflect" not in seen and "read" not in seen
    with pytest.raises(RelsynthError, match="--scale must be a positive number"):
        relsynth.synthesize("postgresql://nobody@127.0.0.1:1/none", target, scale=0)
    if kind == "postgresql":
        fresh = _new(request, kind)
        seen, progress = _stages()
        with pytest.raises(RelsynthError, match="schema 'nowhere' does not exist"):
            relsynth.synthesize(source, fresh, target_schema="nowhere", into_existing=True, progress=progress)
        assert "reflect" not in seen
    unreachable = {
        "sqlite": "sqlite:////nonexistent-dir/x.db",
        "postgresql": "postgresql://postgres@127.0.0.1:1/x",
        "mysql": "mysql://root@127.0.0.1:1/x",
    }[kind]
    seen, progress = _stages()
    with pytest.raises(RelsynthError):
        relsynth.synthesize(source, unreachable, progress=progress)
    assert "reflect" not in seen


# -- 7. the source's connection cannot write, even if relsynth tried --------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_source_connection_refuses_every_write(request: pytest.FixtureRequest, demo, kind: str) -> None:
    from relsynth.io import connect

    source = _filled(request, kind, demo)
    before = _fingerprint(source)
    attacks = [
        "DELETE FROM patients",
        "CREATE TABLE intruder (id INTEGER)",
        "DROP TABLE care_team",
        "COMMIT",  # a read-only transaction ended by hand: the next one is read-only too
    ]
    for statement in attacks:
        with connect(source, read_only=True) as conn:
            try:
                conn.exec_driver_sql(statement)
            except sa.exc.DBAPIError:
                continue
            with pytest.raises(sa.exc.DBAPIError):
                conn.exec_driver_sql("DELETE FROM patients")
    relsynth.synthesize(source, _new(request, "sqlite"), scale=0.5)
    assert _fingerprint(source) == before


# -- 8. PostgreSQL schemas: the source's schema by default, created when missing --------------------
def test_tables_go_to_the_source_schema_created_if_missing(request: pytest.FixtureRequest, demo) -> None:
    model, tables = demo
    source = _new(request, "postgresql")
    write(
        tables, model.schema, source, plan=model.plan, target_schema="clinic"
    )  # created, in the transaction
    fresh = _new(request, "postgresql")
    result = relsynth.synthesize(source, fresh, db_schema="clinic", scale=0.5)
    assert result["write"].verification.problems == 0
    with _engine(fresh) as engine:
        insp = sa.inspect(engine)
        assert set(insp.get_table_names(schema="clinic")) == set(model.plan.order)
        assert insp.get_table_names(schema="public") == []
    evaluation = relsynth.evaluate(source, fresh, db_schema="clinic")  # found where they were written
    assert evaluation["integrity"]["problems"] == 0
    other = _new(request, "postgresql")
    relsynth.synthesize(source, other, db_schema="clinic", target_schema="copy", scale=0.5)
    with _engine(other) as engine:
        assert set(sa.inspect(engine).get_table_names(schema="copy")) == set(model.plan.order)


def test_planted_bookkeeping_rows_are_not_obeyed(request: pytest.FixtureRequest, demo) -> None:
    """Anyone who can write the target can write the bookkeeping table: a row naming a user's table is
    not believed, and SQL stored there is never run."""
    model, tables = demo
    url = _new(request, "mysql")
    victim = _new(request, "mysql")
    victim_db = sa.make_url(victim).database
    run_sql(
        url,
        "CREATE TABLE precious (x INTEGER);\nINSERT INTO precious VALUES (1);\n"
        f"CREATE TABLE {BOOKKEEPING} (run VARCHAR(32) NOT NULL, kind VARCHAR(8) NOT NULL, "
        "name VARCHAR(64) NOT NULL, definition TEXT);\n"
        f"INSERT INTO {BOOKKEEPING} VALUES ('deadbeef0000', 'table', 'precious', NULL), "
        f"('deadbeef0000', 'trigger', 'trg', 'DROP DATABASE `{victim_db}`');",
    )
    with pytest.raises(RelsynthError, match="not empty"):  # precious is a user table: not empty
        write(tables, model.schema, url, plan=model.plan)
    summary = write(tables, model.schema, url, plan=model.plan, replace=True)
    assert "precious" in _tables(url) and _fingerprint(url)["precious"][0] == 1
    with _engine(MYSQL_ADMIN) as engine:
        assert victim_db in sa.inspect(engine).get_schema_names()  # the stored SQL never ran
    assert not any("trg" in line for line in summary.lines())  # not a CREATE TRIGGER: not even named


SWALLOWED_CTRL_C = """
import signal, sys
import relsynth.writer as w
original = w._load
calls = []
class Doomed:
    def __del__(self):
        signal.raise_signal(signal.SIGINT)  # the KeyboardInterrupt is raised inside __del__: swallowed
def load(*args, **kwargs):
    calls.append(1)
    if len(calls) == 2:
        Doomed()
    return original(*args, **kwargs)
w._load = load
from relsynth.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("quiet", [True, False])
def test_a_swallowed_ctrl_c_still_stops_the_run(
    request: pytest.FixtureRequest, demo, kind: str, quiet: bool, tmp_path: Path
) -> None:
    """Python swallows a KeyboardInterrupt raised in a __del__ or GC callback; the run must stop all
    the same (exit 130, nothing written), and print no traceback."""
    model, _ = demo
    model_file = tmp_path / "m.rsm"
    model.save(model_file)
    url = _new(request, kind)
    args = ["sample", str(model_file), "--target", url] + (["-q"] if quiet else [])
    proc = subprocess.run(
        [sys.executable, "-c", SWALLOWED_CTRL_C, *args], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "Interrupted." and "Traceback" not in proc.stderr
    if kind == "sqlite":
        assert not Path(sa.make_url(url).database).exists()
    else:
        assert _tables(url) == set()


@pytest.mark.parametrize(
    "command",
    [
        ["fit", "{src}", "-o", "{src}"],
        ["inspect", "{src}", "--format", "json", "-o", "{src}"],
        ["synthesize", "{src}", "{tgt}", "--report", "{src}"],
        ["synthesize", "{src}", "{tgt}", "--report", "{tgt}"],
        ["evaluate", "{src}", "{tgt}", "-o", "{src}"],
        ["evaluate", "{src}", "{tgt}", "-o", "r.html", "--json", "{tgt}"],
        ["evaluate", "{src}", "{tgt}", "-o", "r.json", "--json", "r.json"],
        ["demo", "-o", "x.db", "--report", "x.db"],
    ],
)
def test_outputs_never_land_on_a_database_of_the_run(
    request: pytest.FixtureRequest, demo, command: list[str], tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    source = Path(sa.make_url(_filled(request, "sqlite", demo)).database)
    target = Path(sa.make_url(_filled(request, "sqlite", demo)).database)
    digests = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (source, target)}
    args = [a.format(src=source, tgt=target) for a in command]
    result = CliRunner().invoke(main, ["-q", *args])
    assert result.exit_code == 1, result.output
    assert "same file" in result.output or "is the SQLite database" in result.output, result.output
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (source, target)} == digests


# -- second attack round ------------------------------------------------------------------------
ATTACHED = {
    "sqlite": ["CREATE TRIGGER user_audit AFTER INSERT ON patients BEGIN SELECT 1; END;"],
    "mysql": ["CREATE TRIGGER user_audit AFTER INSERT ON patients FOR EACH ROW SET @x = 1;"],
    "postgresql": [
        "CREATE FUNCTION user_audit_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n"
        "CREATE TRIGGER user_audit AFTER INSERT ON patients FOR EACH ROW EXECUTE FUNCTION user_audit_fn();",
        "CREATE RULE user_rule AS ON INSERT TO wards DO ALSO NOTIFY wards_changed;",
        "GRANT SELECT (city) ON patients TO PUBLIC;",
        "ALTER TABLE admissions ENABLE ROW LEVEL SECURITY;",
        "CREATE PUBLICATION user_pub FOR TABLE providers;",
        "CREATE STATISTICS user_stats ON sex, state FROM patients;",
        # a DBA's own index, CHECK and comment on tables relsynth writes (attack round 30)
        "CREATE INDEX user_idx ON wards (name);",
        "ALTER TABLE diagnosis_codes ADD CONSTRAINT user_ck CHECK (code IS NOT NULL);",
        "COMMENT ON TABLE providers IS 'the staff list';",
    ],
}
EXPECTED = {
    "sqlite": ["trigger user_audit on patients"],
    "mysql": ["trigger user_audit on patients"],
    "postgresql": [
        "trigger user_audit on patients",
        "rule user_rule on wards",
        "grants on column patients.city",
        "row-level security enabled on admissions",
        "publication user_pub of providers",
        "extended statistics user_stats on patients",
        "index user_idx on wards",
        "comment on providers",
        "CHECK user_ck on diagnosis_codes",
    ],
}


@pytest.mark.parametrize("kind", KINDS)
def test_replace_refuses_to_lose_what_belongs_to_a_table(
    request: pytest.FixtureRequest, demo, kind: str
) -> None:
    model, tables = demo
    url = _filled(request, kind, demo)
    if kind == "postgresql":  # granted then revoked: the owner's default rights, nothing to lose
        run_sql(url, "GRANT SELECT ON care_team TO PUBLIC;\nREVOKE SELECT ON care_team FROM PUBLIC;")
    for statement in ATTACHED[kind]:
        run_sql(url, statement)
    before = _fingerprint(url)
    with pytest.raises(RelsynthError, match="nothing was changed") as err:
        write(tables, model.schema, url, plan=model.plan, replace=True)
    for item in EXPECTED[kind]:
        assert item in str(err.value), (item, str(err.value))
    assert "care_team" not in str(err.value)
    assert _fingerprint(url) == before
    summary = write(tables, model.schema, url, plan=model.plan, replace=True, into_existing=True)
    assert summary.verification.problems == 0  # emptied and refilled: what belongs to them stays


@pytest.mark.parametrize("kind", KINDS)
def test_name_clashes_are_refused_before_reading(request: pytest.FixtureRequest, demo, kind: str) -> None:
    source = _source_of(request, kind, demo)
    target = _new(request, kind)
    run_sql(
        target, "CREATE TABLE base (id INTEGER PRIMARY KEY);\nCREATE VIEW patients AS SELECT id FROM base;"
    )
    seen, progress = _stages()
    with pytest.raises(RelsynthError, match="has a view named patients"):
        relsynth.synthesize(source, target, replace=True, progress=progress)
    assert "read" not in seen
    if kind == "sqlite":
        other = _new(request, kind)
        run_sql(other, "CREATE TABLE Patients (id INTEGER PRIMARY KEY);")
        with pytest.raises(RelsynthError, match="differ only in case"):
            relsynth.synthesize(source, other, replace=True, progress=progress)


OTHER_OBJECTS = {
    "sqlite": [
        ("CREATE TABLE base (id INTEGER PRIMARY KEY);\nCREATE INDEX patients ON base (id);", "an index")
    ],
    "postgresql": [
        ("CREATE SEQUENCE patients;", "a sequence"),
        ("CREATE TYPE patients AS (a integer);", "a type"),
        ("CREATE TABLE base (id INTEGER PRIMARY KEY);\nCREATE INDEX patients ON base (id);", "an index"),
    ],
    "mysql": [("CREATE SEQUENCE patients;", "a sequence")],
}


@pytest.mark.parametrize("kind", KINDS)
def test_an_object_holding_a_tables_name_is_refused_before_reading(
    request: pytest.FixtureRequest, demo, kind: str
) -> None:
    """Attack round 28: a sequence, type, index or foreign table named like a table to write made
    its CREATE TABLE fail after everything was learned and sampled, as an internal error."""
    source = _source_of(request, kind, demo)
    for sql, what in OTHER_OBJECTS[kind]:
        target = _new(request, kind)
        run_sql(target, sql)
        seen, progress = _stages()
        with pytest.raises(RelsynthError, match=f"has {what} patients, the name of a table") as err:
            relsynth.synthesize(source, target, replace=True, progress=progress)
        assert "read" not in seen and "\n" not in str(err.value)


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_a_target_rule_the_source_lacks_is_one_line(request: pytest.FixtureRequest, demo, kind: str) -> None:
    model, tables = demo
    url = _new(request, kind)
    write(tables, model.schema, url, plan=model.plan, schema_only=True)
    run_sql(url, "ALTER TABLE wards ADD CONSTRAINT no_wards CHECK (beds < 0);")
    with pytest.raises(RelsynthError, match=r"rejected synthetic rows on a CHECK constraint") as err:
        write(tables, model.schema, url, plan=model.plan, into_existing=True)
    assert "\n" not in str(err.value)
    assert _fingerprint(url)["wards"][0] == 0


@pytest.mark.parametrize("kind", KINDS)
def test_a_target_unique_rule_the_source_lacks_is_one_line(
    request: pytest.FixtureRequest, demo, kind: str
) -> None:
    """SQLite's constraint errors were an internal error ('a bug in relsynth') before."""
    model, tables = demo
    assert tables["patients"]["sex"].duplicated().any()
    url = _new(request, kind)
    write(tables, model.schema, url, plan=model.plan, schema_only=True)
    run_sql(url, "CREATE UNIQUE INDEX one_patient_per_sex ON patients (sex);")
    with pytest.raises(RelsynthError, match=r"rejected synthetic rows on a unique key") as err:
        write(tables, model.schema, url, plan=model.plan, into_existing=True)
    assert "\n" not in str(err.value)
    assert _fingerprint(url)["patients"][0] == 0


def test_odd_option_values_fail_before_reading(demo_db: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # a memory URL that was taken for a file would land here
    target = f"sqlite:///{tmp_path / 'out.db'}"
    for kwargs, message in (
        ({"seed": -1}, "--seed must be"),
        ({"scale": 1e308}, "--scale"),
    ):
        seen, progress = _stages()
        with pytest.raises(RelsynthError, match=message):
            relsynth.synthesize(demo_db, target, progress=progress, **kwargs)
        assert seen == []
    for memory in ("sqlite://", "sqlite:///:memory:", "sqlite:///file:m?mode=memory&cache=shared&uri=true"):
        with pytest.raises(RelsynthError, match="in-memory SQLite"):
            relsynth.synthesize(demo_db, memory)
    assert list(tmp_path.iterdir()) == []


def test_demo_never_replaces_a_file_it_did_not_write(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("thesis.txt").write_text("my thesis")
    result = CliRunner().invoke(main, ["-q", "demo", "-o", "thesis.txt", "--no-report"])
    assert result.exit_code == 1 and "not an earlier demo output" in result.output
    assert Path("thesis.txt").read_text() == "my thesis"
    run_sql("sqlite:///mine.db", "CREATE TABLE mine (id INTEGER PRIMARY KEY);")
    result = CliRunner().invoke(main, ["-q", "demo", "-o", "mine.db", "--no-report"])
    assert result.exit_code == 1 and _tables("sqlite:///mine.db") == {"mine"}
    for _ in range(2):  # its own earlier output is replaced
        assert CliRunner().invoke(main, ["-q", "demo", "-o", "d.db", "--no-report"]).exit_code == 0


# -- third attack round -------------------------------------------------------------------------
def test_a_function_of_the_target_is_never_replaced(request: pytest.FixtureRequest, demo) -> None:
    source = _filled(request, "postgresql", demo)
    run_sql(
        source,
        "CREATE FUNCTION f_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n"
        "CREATE TRIGGER trg_audit AFTER INSERT ON patients FOR EACH ROW EXECUTE FUNCTION f_audit();",
    )
    target = _new(request, "postgresql")
    run_sql(
        target,
        "CREATE FUNCTION f_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'mine'; "
        "RETURN NEW; END $$;",
    )
    result = relsynth.synthesize(source, target, scale=0.3)
    with _engine(target) as engine, engine.connect() as conn:
        body = conn.exec_driver_sql("SELECT prosrc FROM pg_proc WHERE proname = 'f_audit'").scalar_one()
    assert "mine" in body
    assert any("trg_audit" in line for line in result["write"].not_recreated)


SECOND_CTRL_C = """
import signal, sys
import relsynth.guard as g
import relsynth.writer as w
original_load, original_clean = w._load, g.clean_up
calls = []
def load(*args, **kwargs):
    calls.append(1)
    if len(calls) == 3:
        signal.raise_signal(signal.SIGINT)
    return original_load(*args, **kwargs)
def clean_up(*args, **kwargs):
    signal.raise_signal(signal.SIGINT)  # pressed again while relsynth cleans up
    return original_clean(*args, **kwargs)
w._load, g.clean_up = load, clean_up
from relsynth.cli import main
main(sys.argv[1:])
"""


def test_a_second_ctrl_c_does_not_cut_the_clean_up_short(
    request: pytest.FixtureRequest, demo, tmp_path: Path
) -> None:
    model, _ = demo
    model_file = tmp_path / "m.rsm"
    model.save(model_file)
    url = _new(request, "mysql")
    proc = subprocess.run(
        [sys.executable, "-c", SECOND_CTRL_C, "-q", "sample", str(model_file), "--target", url],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 130, proc.stderr
    assert _tables(url) == set()


TYPE_MISMATCH = {
    "postgresql": "ALTER TABLE patients ALTER COLUMN city TYPE VARCHAR(2);",
    "mysql": "ALTER TABLE patients MODIFY insurance ENUM('nobody') NOT NULL;",
}


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_a_narrower_target_type_is_one_line(request: pytest.FixtureRequest, demo, kind: str) -> None:
    model, tables = demo
    url = _new(request, kind)
    write(tables, model.schema, url, plan=model.plan, schema_only=True)
    run_sql(url, TYPE_MISMATCH[kind])
    with pytest.raises(RelsynthError, match="rejected synthetic rows on a column's type"):
        write(tables, model.schema, url, plan=model.plan, into_existing=True)


def test_bad_url_options_and_names_are_one_line(request: pytest.FixtureRequest, demo) -> None:
    source = _filled(request, "mysql", demo)
    for option in ("charset=nonexist", "ssl_ca=/nonexistent/ca.pem"):
        result = CliRunner().invoke(main, ["-q", "inspect", f"{source}?{option}"])
        assert result.exit_code == 1 and result.output.startswith("FAILED: "), result.output
    seen, progress = _stages()
    with pytest.raises(RelsynthError, match="at most 63 bytes"):
        relsynth.synthesize(source, _new(request, "postgresql"), target_schema="s" * 80, progress=progress)
    assert "read" not in seen


# -- several schemas at once: every promise holds in every schema written ---------------------------
SEVERAL_KINDS = ["postgresql", "mysql"]  # the targets that hold several (MariaDB: as databases)


@contextmanager
def _several(request: pytest.FixtureRequest, kind: str) -> Iterator[tuple[str, tuple[str, str]]]:
    """A source with two schemas that reference each other, and their names. On MariaDB a schema is
    a database: two fresh ones, dropped afterwards (their cross-database FK first)."""
    from tests.test_schemas_multi import MARIADB, PG

    if kind == "postgresql":
        url = _new(request, "postgresql")
        run_sql(url, PG)
        yield url, ("crm", "sales")
        return
    first, second = _new(request, "mysql"), _new(request, "mysql")
    names = (str(sa.make_url(first).database), str(sa.make_url(second).database))
    run_sql(first, MARIADB.format(a=f"`{names[0]}`", b=f"`{names[1]}`"))
    run_sql(first, f"INSERT INTO `{names[0]}`.account VALUES (1, 'k'), (2, 'k'), (3, 'm');")
    run_sql(first, f"INSERT INTO `{names[1]}`.account VALUES (1, 1, 2.5), (2, 3, 4.0), (3, 3, 1.0);")
    try:
        yield first, names
    finally:
        run_sql(first, f"DROP TABLE IF EXISTS `{names[1]}`.account;")


def _counts(url: str, names: tuple[str, str]) -> dict[str, tuple[int, str]]:
    """Every table of the schemas with its row count and a hash of its sorted rows."""
    out = {}
    with _engine(url) as engine, engine.connect() as conn:
        insp = sa.inspect(conn)
        for schema in names:
            for name in insp.get_table_names(schema=schema):
                rows = conn.execute(sa.select(sa.text("*")).select_from(sa.table(name, schema=schema))).all()
                digest = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
                out[f"{schema}.{name}"] = (len(rows), digest)
    return out


@pytest.mark.parametrize("kind", SEVERAL_KINDS)
def test_several_schemas_never_write_into_their_source(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    with _several(request, kind) as (source, names):
        before = _counts(source, names)
        other = _new(request, kind)  # the same server: on MariaDB the same databases
        spellings = [source, sa.make_url(source).set(host="localhost").render_as_string(hide_password=False)]
        if kind == "mysql":
            spellings.append(other)
        for spelling in spellings:
            seen, progress = _stages()
            with pytest.raises(SameDatabase, match="is the source database itself"):
                relsynth.synthesize(source, spelling, db_schema=names, replace=True, progress=progress)
            assert "reflect" not in seen and "read" not in seen
            args = ["-q", "synthesize", source, spelling, "--schema", names[0], "--schema", names[1]]
            result = CliRunner().invoke(main, [*args, "--replace", "--no-report"])
            assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
        model_file = tmp_path / "m.rsm"
        relsynth.fit(source, db_schema=names, seed=1).save(model_file)
        result = CliRunner().invoke(main, ["-q", "sample", str(model_file), "--target", source, "--replace"])
        assert result.exit_code == 1 and "is the source database itself" in result.output, result.output
        assert _counts(source, names) == before


def _free_databases(request: pytest.FixtureRequest, kind: str) -> tuple[str, tuple[str, str]]:
    """A target URL and two schema names it does not have yet (MariaDB: free database names)."""
    target = _new(request, kind)
    if kind == "postgresql":
        return target, ("crm", "sales")
    names = tuple(str(sa.make_url(_new(request, "mysql")).database) for _ in range(2))
    run_sql(target, f"DROP DATABASE `{names[0]}`;\nDROP DATABASE `{names[1]}`;")
    return target, (names[0], names[1])


def _pg_source(request: pytest.FixtureRequest, names: tuple[str, str]) -> str:
    from tests.test_schemas_multi import PG

    script = PG
    for old, new in zip(("crm", "sales"), names, strict=True):
        script = script.replace(f"SCHEMA {old}", f'SCHEMA "{new}"').replace(f"{old}.", f'"{new}".')
    url = _new(request, "postgresql")
    run_sql(url, script)
    return url


@contextmanager
def _dropped_after(target: str, kind: str, names: tuple[str, str]) -> Iterator[None]:
    try:
        yield
    finally:
        if kind == "mysql":
            run_sql(
                target,
                "SET FOREIGN_KEY_CHECKS=0;\n" + "".join(f"DROP DATABASE IF EXISTS `{n}`;\n" for n in names),
            )


@pytest.mark.parametrize("kind", SEVERAL_KINDS)
def test_several_schemas_replace_refusals_hold_in_every_schema(
    request: pytest.FixtureRequest, kind: str
) -> None:
    target, names = _free_databases(request, kind)
    source = _pg_source(request, names)
    crm, sales = (f'"{n}"' if kind == "postgresql" else f"`{n}`" for n in names)
    with _dropped_after(target, kind, names):
        model = relsynth.fit(source, db_schema=names, seed=1)
        tables = relsynth.sample(model)
        write(tables, model.schema, target, plan=model.plan)
        with pytest.raises(RelsynthError, match="is not empty"):
            write(tables, model.schema, target, plan=model.plan)
        run_sql(
            target,
            f"CREATE TABLE {sales}.audit (id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES {sales}.orders (id));\n"
            f"CREATE VIEW {crm}.gold AS SELECT id FROM {crm}.customer WHERE tier = 'gold';",
        )
        before = _counts(target, names)
        for into_existing in (False, True) if kind == "postgresql" else (False,):
            seen, progress = _stages()
            with pytest.raises(RelsynthError, match="depend on the tables relsynth writes") as err:
                relsynth.synthesize(
                    source,
                    target,
                    db_schema=names,
                    replace=True,
                    into_existing=into_existing,
                    progress=progress,
                )
            assert "audit" in str(err.value)
            if kind == "postgresql" and not into_existing:  # MySQL keeps no dependency of a view
                assert "gold" in str(err.value)
            assert "read" not in seen
        assert _counts(target, names) == before
        # Without it, --replace works again and again: the FKs between the written schemas are its own.
        run_sql(target, f"DROP VIEW {crm}.gold;\nDROP TABLE {sales}.audit;")
        for _ in range(2):
            assert (
                write(tables, model.schema, target, plan=model.plan, replace=True).verification.problems == 0
            )


@pytest.mark.parametrize("kind", SEVERAL_KINDS)
def test_several_schemas_are_all_locked(request: pytest.FixtureRequest, kind: str) -> None:
    target, names = _free_databases(request, kind)
    source = _pg_source(request, names)
    with _dropped_after(target, kind, names):
        one_url = target
        if kind == "mysql":  # a run into the second database, which exists (and is empty)
            run_sql(target, f"CREATE DATABASE `{names[1]}`;")
            one_url = sa.make_url(target).set(database=names[1]).render_as_string(hide_password=False)
        one = Target(one_url, target_schema=names[1]).open()  # a run into one of them
        try:
            with pytest.raises(TargetBusy, match="Another relsynth run is writing"):
                relsynth.synthesize(source, target, db_schema=names)
        finally:
            one.close(failed=False)
        both = Target(target, schemas=names).open()
        try:
            with pytest.raises(TargetBusy, match="Another relsynth run is writing"):
                relsynth.synthesize(source, one_url, db_schema=names[0], target_schema=names[1])
        finally:
            both.close(failed=False)
        assert relsynth.synthesize(source, target, db_schema=names)["write"].verification.problems == 0
