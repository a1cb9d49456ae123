"""Issue 8, the parts about what relsynth says and leaves behind: no partial files holding source
values (7), messages that never leak a password and name the real problem (8), nothing on a terminal
but relsynth's own lines (9), global options after the subcommand, output paths checked first.

Every database case runs on the real servers (PostgreSQL, MariaDB) and SQLite; users without grants
are created for a test and dropped after it. Whole-process behaviour (warnings, exit codes, a file
size limit that makes a write fail half-way) runs `python -m relsynth` in a subprocess.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from relsynth.cli import main
from tests.conftest import RUN_TOKEN, drop_pg_role, later, run_sql

if TYPE_CHECKING:
    import sqlalchemy as sa

SECRET = "s3cr@tpw"  # an unencoded '@' in a password: the case redaction used to get wrong
SECRET_PARTS = ("s3cr", "tpw")
UNREACHABLE = {
    "postgresql": "postgresql://someone@127.0.0.1:1/x",
    "mysql": "mysql://root@127.0.0.1:1/x",
    "sqlite": "sqlite:///definitely/not/here.db",
}


# -- helpers ----------------------------------------------------------------------------------------
def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def cli(
    *args: str, cwd: Path | None = None, preexec: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    """A real `relsynth` process: its stderr is what a user's terminal shows."""
    return subprocess.run(
        [sys.executable, "-m", "relsynth", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        preexec_fn=preexec,
        timeout=600,
    )


def one_failed_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("FAILED: "), err
    assert "Traceback" not in err
    return lines[0]


def small_script(dialect: str) -> str:
    """A parent, its children, and a one-row table (scipy warns comparing one row with one row)."""
    real = "DOUBLE" if dialect == "mysql" else "REAL"
    lines = [
        f"CREATE TABLE parent (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL, score {real});",
        f"CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL, amount {real}, "
        "FOREIGN KEY (parent_id) REFERENCES parent(id));",
        f"CREATE TABLE lonely (id INTEGER PRIMARY KEY, x {real});",
        "INSERT INTO lonely VALUES (1, 2.5);",
    ]
    child = 1
    for i in range(1, 31):
        lines.append(f"INSERT INTO parent VALUES ({i}, 'n{i % 5}', {i * 1.5});")
        for j in range(i % 4):
            lines.append(f"INSERT INTO child VALUES ({child}, {i}, {(i * j) % 7 + 0.5});")
            child += 1
    return "\n".join(lines)


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def new_db(backend: str, request: pytest.FixtureRequest) -> Callable[[], str]:
    """Factory of empty databases on the parametrized backend."""
    fixture = {"sqlite": "sqlite_db", "postgresql": "pg_db", "mysql": "mysql_db"}[backend]
    return request.getfixturevalue(fixture)


@pytest.fixture
def small_db(backend: str, new_db: Callable[[], str]) -> str:
    url = new_db()
    run_sql(url, small_script(backend))
    return url


def admin_url(backend: str, request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue({"postgresql": "pg_server", "mysql": "mysql_server"}[backend])


def _admin_engine(url: str) -> sa.Engine:
    import sqlalchemy as sa

    return sa.create_engine(url, isolation_level="AUTOCOMMIT")


def admin_sql(url: str, *statements: str) -> None:
    """Statements run as the admin; on MySQL '%' is written '%%' (PyMySQL formats every statement)."""
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            for stmt in statements:
                conn.exec_driver_sql(stmt)
    finally:
        engine.dispose()


def url_as_typed(url: str, user: str, password: str | None, **query: str) -> str:
    """The URL as a user types it: the password NOT percent-encoded."""
    import sqlalchemy as sa

    u = sa.make_url(url)
    auth = f"{user}:{password}" if password is not None else user
    text = f"{u.drivername}://{auth}@{u.host}:{u.port}/{u.database}"
    if query:
        text += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return text


@pytest.fixture
def db_user(request: pytest.FixtureRequest) -> Iterator[Callable[..., str]]:
    """Factory: a login user on a server, dropped after the test. ``grants`` (with {user}) run as
    the admin in ``database`` (PostgreSQL grants live in one database: revoked there at the end)."""
    made: list[tuple[str, str, str, str | None]] = []

    def make(
        backend: str, password: str | None = None, grants: tuple[str, ...] = (), database: str | None = None
    ) -> str:
        admin = admin_url(backend, request)
        name = f"rs_u_{RUN_TOKEN}_{len(made)}"
        made.append((backend, admin, name, database))
        if backend == "postgresql":
            pw = f" PASSWORD '{password}'" if password else ""
            admin_sql(admin, f'CREATE ROLE "{name}" LOGIN{pw}')
            admin_sql(database or admin, *(g.format(user=f'"{name}"') for g in grants))
        else:
            admin_sql(
                admin,
                f"CREATE USER '{name}'@'%%' IDENTIFIED BY '{password or ''}'",
                *(g.format(user=f"'{name}'@'%%'") for g in grants),
            )
        return name

    yield make
    for backend, admin, name, _ in made:
        if backend == "postgresql":
            later(drop_pg_role, name)  # after or between the drops of its databases
        else:
            admin_sql(admin, f"DROP USER IF EXISTS '{name}'@'%%'")


def db_name(url: str) -> str:
    import sqlalchemy as sa

    return str(sa.make_url(url).database)


# == 7. partial files with real data =================================================================
def _tiny_model():
    import pandas as pd

    import relsynth

    frame = pd.DataFrame({"id": range(1, 41), "city": ["Lyon", "Nice", "Metz", "Pau"] * 10})
    return relsynth.fit({"people": frame})


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_failed_model_save_leaves_no_temp_and_keeps_the_old_file(tmp_path: Path) -> None:
    """A value that fails to serialize half-way: the earlier model stays as it was, nothing else."""
    model = _tiny_model()
    path = tmp_path / "model.rsm"
    model.save(str(path))
    before = path.read_bytes()
    model.source["not json"] = object()
    with pytest.raises(TypeError):
        model.save(str(path))
    assert _leftovers(tmp_path) == ["model.rsm"]
    assert path.read_bytes() == before


def test_interrupted_model_save_leaves_nothing(tmp_path: Path) -> None:
    class Interrupting(dict):  # Ctrl-C arrives while model.json is being written
        def items(self):  # type: ignore[override]
            raise KeyboardInterrupt

    model = _tiny_model()
    model.source["late"] = Interrupting(a=1)
    with pytest.raises(KeyboardInterrupt):
        model.save(str(tmp_path / "model.rsm"))
    assert _leftovers(tmp_path) == []


def test_model_save_onto_a_directory_fails_in_one_line_and_leaves_no_temp(tmp_path: Path) -> None:
    from relsynth.errors import RelsynthError

    (tmp_path / "model.rsm").mkdir()
    with pytest.raises(RelsynthError, match="Cannot write"):
        _tiny_model().save(str(tmp_path / "model.rsm"))
    assert _leftovers(tmp_path) == ["model.rsm"] and not any((tmp_path / "model.rsm").iterdir())


def test_model_file_is_private(tmp_path: Path) -> None:
    """It holds source values: readable by its owner only (the temp file is 0600 from its creation)."""
    path = tmp_path / "model.rsm"
    _tiny_model().save(str(path))
    assert path.stat().st_mode & 0o777 == 0o600


def _file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:  # in the child: writes beyond `limit` bytes fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_cli_save_that_fails_half_way_leaves_nothing(demo_db: str, tmp_path: Path) -> None:
    """A real write failure in the middle of the model file (the file size limit): one line, no
    model.rsm, no model.rsm.tmp holding source values."""
    proc = cli("fit", demo_db, "-o", "model.rsm", "-q", cwd=tmp_path, preexec=_file_size_limit(3000))
    line = one_failed_line(proc.stderr)
    assert proc.returncode == 1 and "Cannot write model.rsm" in line
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("option", ["-o", "--json"])
def test_cli_report_that_fails_half_way_leaves_nothing(demo_db: str, tmp_path: Path, option: str) -> None:
    name = "report.html" if option == "-o" else "report.json"
    proc = cli(
        "evaluate", demo_db, demo_db, option, name, "--sample-rows", "200", "-q",
        cwd=tmp_path, preexec=_file_size_limit(4000),
    )  # fmt: skip
    line = one_failed_line(proc.stderr)
    assert proc.returncode == 1 and f"Cannot write {name}" in line
    assert _leftovers(tmp_path) == []


def test_interrupt_during_cli_save_is_exit_130_and_leaves_nothing(
    demo_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = zipfile.ZipFile.writestr

    def writestr(
        self: zipfile.ZipFile, name: str | zipfile.ZipInfo, data: bytes | str, *a: object, **k: object
    ) -> None:
        entry = name.filename if isinstance(name, zipfile.ZipInfo) else name
        if not entry.endswith(".npy"):  # the arrays, written into arrays.npz in memory first
            calls.append(entry)
        if entry == "arrays.npz":  # model.json is already in the file: Ctrl-C now
            raise KeyboardInterrupt
        real(self, name, data, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(zipfile.ZipFile, "writestr", writestr)
    monkeypatch.chdir(tmp_path)
    code, _, err = run("fit", demo_db, "-o", "model.rsm", "-q")
    assert calls == ["model.json", "arrays.npz"]
    assert code == 130 and err.strip() == "Interrupted."
    assert _leftovers(tmp_path) == []


def test_atomic_write_keeps_the_old_content_on_failure(tmp_path: Path) -> None:
    from relsynth.io import atomic_write

    path = tmp_path / "report.json"
    path.write_text("old", encoding="utf-8")
    for error in (ValueError, KeyboardInterrupt):
        with pytest.raises(error), atomic_write(path) as fh:
            fh.write("half of the new content")
            raise error
        assert path.read_text(encoding="utf-8") == "old" and _leftovers(tmp_path) == ["report.json"]
    with atomic_write(path) as fh:
        fh.write("new")
    assert path.read_text(encoding="utf-8") == "new" and _leftovers(tmp_path) == ["report.json"]


def test_atomic_write_follows_symlinks_and_writes_pipes_in_place(tmp_path: Path) -> None:
    """A link to a report is kept (its file is replaced), and -o /dev/stdout or a named pipe is
    written into, not replaced by a regular file."""
    import threading

    from relsynth.io import atomic_write, check_output_file

    real, link = tmp_path / "real.html", tmp_path / "link.html"
    real.write_text("old", encoding="utf-8")
    link.symlink_to(real)
    check_output_file(link, "the report")
    with atomic_write(link) as fh:
        fh.write("new")
    assert link.is_symlink() and real.read_text(encoding="utf-8") == "new"
    assert _leftovers(tmp_path) == ["link.html", "real.html"]

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text(encoding="utf-8")))
    reader.start()
    check_output_file(fifo, "the output")
    with atomic_write(fifo) as fh:
        fh.write("through the pipe")
    reader.join(timeout=10)
    assert received == ["through the pipe"] and fifo.is_fifo()


# == 8a. passwords with an unencoded '@' ==============================================================
@pytest.mark.parametrize(
    "text",
    [
        f"postgresql://u:{SECRET}@127.0.0.1/db",
        f"'mysql+pymysql://root:{SECRET}@h:3306/db' is not a database URL",
        f"cannot reach postgresql+psycopg://u:{SECRET}@host:5432/x, giving up",
        f"postgresql://u:{SECRET}@h/db and mysql://v:{SECRET}@k/db",
        f"host=h password={SECRET} dbname=x",
    ],
)
def test_redact_text_masks_a_password_holding_at_signs(text: str) -> None:
    from relsynth.io import redact_text

    masked = redact_text(text)
    assert not any(part in masked for part in SECRET_PARTS), masked
    assert "***" in masked


@pytest.mark.parametrize(
    "url",
    [
        f"postgres:{SECRET}@127.0.0.1/db",
        f"//postgres:{SECRET}@127.0.0.1/db",
        f"postgresql:/postgres:{SECRET}@127.0.0.1/db",
        f"postgresql//postgres:{SECRET}@127.0.0.1/db",
    ],
)
def test_a_url_with_a_mistyped_scheme_is_refused_without_its_password(url: str) -> None:
    """Attack round 30: with no '://' the URL's password was printed whole in the FAILED line."""
    from click.testing import CliRunner

    from relsynth.cli import main

    result = CliRunner().invoke(main, ["inspect", url])
    assert result.exit_code != 0
    assert "is not a database URL" in result.output and "@127.0.0.1/db" in result.output, result.output
    assert not any(part in result.output for part in SECRET_PARTS), result.output


def test_redact_text_leaves_urls_without_passwords_alone() -> None:
    from relsynth.io import redact_text

    for text in ("postgresql://u@127.0.0.1:5432/db", "sqlite:///C:/data/x.db", "sqlite:////tmp/a@b.db"):
        assert redact_text(text) == text


def test_parse_url_ends_the_user_info_at_the_last_at() -> None:
    """SQLAlchemy stops at the first '@' and takes 'tpw@127.0.0.1' for the host: the password's tail
    would then be printed as a host name in every connection error."""
    from relsynth.io import describe, parse_url

    url = parse_url(f"postgresql://u:{SECRET}@127.0.0.1:5432/db")
    assert (url.username, url.password, url.host, url.port) == ("u", SECRET, "127.0.0.1", 5432)
    assert not any(part in describe(url) for part in SECRET_PARTS)


def _assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert not any(part in text for part in SECRET_PARTS), text


def test_password_with_at_is_never_printed_when_unreachable_or_invalid(backend: str, tmp_path: Path) -> None:
    """Every command that echoes a URL, on a URL it cannot use (no server on port 1, or no URL)."""
    if backend == "sqlite":
        bad = f"postgresql://u:{SECRET}@127.0.0.1:notaport/db"  # does not parse: echoed in the error
    else:
        scheme = "postgresql" if backend == "postgresql" else "mysql"
        bad = f"{scheme}://u:{SECRET}@127.0.0.1:1/db"
    target = f"sqlite:///{tmp_path / 't.db'}"  # a real database on the other side of each command
    run_sql(target, small_script("sqlite"))
    model = tmp_path / "m.rsm"
    _tiny_model().save(str(model))
    for args in (
        ["inspect", bad],
        ["fit", bad, "-o", str(tmp_path / "x.rsm")],
        ["synthesize", bad, target, "--report", str(tmp_path / "r.html")],
        ["synthesize", target, bad, "--report", str(tmp_path / "r.html")],
        ["evaluate", bad, target],
        ["evaluate", target, bad],
        ["sample", str(model), "--target", bad],
    ):
        code, out, err = run(*args)
        assert code == 1, (args, err)
        one_failed_line(err)
        _assert_no_secret(out, err)


@pytest.mark.parametrize("server", ["postgresql", "mysql"])
def test_password_with_at_is_never_printed_on_success(
    server: str, request: pytest.FixtureRequest, db_user: Callable[..., str], tmp_path: Path
) -> None:
    """inspect's title, fit's model file, synthesize's summary and report, evaluate's summary,
    report and JSON, sample --target's summary: the password appears in none of them."""
    factory = request.getfixturevalue("pg_db" if server == "postgresql" else "mysql_db")
    source, target = factory(), factory()
    run_sql(source, small_script(server))
    if server == "postgresql":
        user = "postgres"  # trust authentication: any password is accepted, and must still be masked
    else:
        user = db_user(
            "mysql",
            password=SECRET,
            grants=(
                f"GRANT ALL ON `{db_name(source)}`.* TO {{user}}",
                f"GRANT ALL ON `{db_name(target)}`.* TO {{user}}",
            ),
        )
    src, tgt = url_as_typed(source, user, SECRET), url_as_typed(target, user, SECRET)
    model, report, js = tmp_path / "m.rsm", tmp_path / "r.html", tmp_path / "r.json"

    code, out, err = run("inspect", src, "-v")  # -v: debug lines must not hold it either
    assert code == 0, err
    _assert_no_secret(out, err)
    assert db_name(source) in out  # the title names the database, without the password
    code, out, err = run("fit", src, "-o", str(model), "-v")
    assert code == 0, err
    _assert_no_secret(out, err)
    with zipfile.ZipFile(model) as z:
        _assert_no_secret(z.read("model.json").decode())
    code, out, err = run("synthesize", src, tgt, "--report", str(report), "--replace", "-v")
    assert code == 0, err
    _assert_no_secret(out, err, report.read_text(encoding="utf-8"))
    code, out, err = run("evaluate", src, tgt, "-o", str(report), "--json", str(js), "-v")
    assert code == 0, err
    _assert_no_secret(out, err, report.read_text(encoding="utf-8"), js.read_text(encoding="utf-8"))
    code, out, err = run("sample", str(model), "--target", tgt, "--replace", "-v")
    assert code == 0, err
    _assert_no_secret(out, err)


# == 8b. database errors classified by code =========================================================
@pytest.mark.mysql
def test_mariadb_no_grant_on_the_database_is_not_a_wrong_password(
    mysql_db: Callable[[], str], db_user: Callable[..., str]
) -> None:
    """Error 1044 and 1045 both say 'Access denied': 1044 is a missing grant, not a wrong password."""
    url = mysql_db()
    user = db_user("mysql", password="right-password")
    code, _, err = run("inspect", url_as_typed(url, user, "right-password"))
    line = one_failed_line(err)
    assert code == 1 and "has no access to the mysql database" in line and "GRANT" in line
    assert "Authentication failed" not in line and "password" not in line.lower()
    code, _, err = run("inspect", url_as_typed(url, user, "wrong-password"))
    line = one_failed_line(err)
    assert "Authentication failed" in line and "wrong-password" not in err


@pytest.mark.mysql
def test_mariadb_missing_select_privilege_says_what_to_grant(
    mysql_db: Callable[[], str], db_user: Callable[..., str], tmp_path: Path
) -> None:
    url = mysql_db()
    run_sql(url, small_script("mysql"))
    user = db_user("mysql", password="pw12345", grants=(f"GRANT INSERT ON `{db_name(url)}`.* TO {{user}}",))
    code, _, err = run("fit", url_as_typed(url, user, "pw12345"), "-o", str(tmp_path / "m.rsm"))
    line = one_failed_line(err)
    assert code == 1 and "lacks a privilege" in line and "SELECT" in line and "GRANT" in line
    assert not (tmp_path / "m.rsm").exists()


@pytest.mark.postgresql
def test_postgres_missing_connect_privilege_and_missing_role(
    pg_db: Callable[[], str], db_user: Callable[..., str], pg_server: str
) -> None:
    url = pg_db()
    admin_sql(pg_server, f'REVOKE CONNECT ON DATABASE "{db_name(url)}" FROM PUBLIC')
    user = db_user("postgresql")
    code, _, err = run("inspect", url_as_typed(url, user, None))
    line = one_failed_line(err)
    assert code == 1 and "lacks a privilege" in line and "CONNECT" in line
    code, _, err = run("inspect", url_as_typed(url, f"rs_nobody_{RUN_TOKEN}", None))
    line = one_failed_line(err)
    assert code == 1 and "refuses user" in line and "check the user name" in line


@pytest.mark.postgresql
def test_postgres_missing_select_privilege_says_what_to_grant(
    pg_db: Callable[[], str], db_user: Callable[..., str], tmp_path: Path
) -> None:
    url = pg_db()
    run_sql(url, small_script("postgresql"))
    user = db_user("postgresql")
    code, _, err = run("fit", url_as_typed(url, user, None), "-o", str(tmp_path / "m.rsm"))
    line = one_failed_line(err)
    assert code == 1 and "lacks a privilege" in line and "permission denied" in line and "GRANT" in line
    assert not (tmp_path / "m.rsm").exists()


@pytest.mark.parametrize("server", ["postgresql", "mysql"])
def test_target_without_create_privilege_says_what_to_grant(
    server: str, request: pytest.FixtureRequest, db_user: Callable[..., str]
) -> None:
    """Reads the source, may not create tables in the target (PostgreSQL 15: no CREATE on public)."""
    factory = request.getfixturevalue("pg_db" if server == "postgresql" else "mysql_db")
    source, target = factory(), factory()
    run_sql(source, small_script(server))
    if server == "postgresql":
        user = db_user(
            server, grants=("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user}",), database=source
        )
        user_target = user  # PostgreSQL 15 grants PUBLIC no CREATE on schema public
    else:
        user = db_user(
            server,
            password="pw12345",
            grants=(
                f"GRANT SELECT ON `{db_name(source)}`.* TO {{user}}",
                f"GRANT SELECT ON `{db_name(target)}`.* TO {{user}}",
            ),
        )
        user_target = user
    password = None if server == "postgresql" else "pw12345"
    code, _, err = run(
        "synthesize",
        url_as_typed(source, user, password),
        url_as_typed(target, user_target, password),
        "--no-report",
    )
    line = one_failed_line(err)
    # said by the classifier (privilege) or by synthesize's own target check before reading: either way
    # what to grant, never a driver's exception name
    assert code == 1 and "CREATE" in line and "grant" in line.lower() and "Error" not in line, line


def test_sqlite_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are not the pages of a SQLite database " * 100)
    code, _, err = run("inspect", str(path))
    line = one_failed_line(err)
    assert code == 1 and "is not a SQLite database" in line


def _hold_lock(backend: str, url: str) -> Callable[[], None]:
    """Another session takes table 'parent' exclusively; returns its release."""
    import sqlalchemy as sa

    if backend == "sqlite":
        import sqlite3

        conn = sqlite3.connect(sa.make_url(url).database, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        return conn.close
    engine = sa.create_engine(url)
    conn = engine.connect()
    if backend == "postgresql":
        conn.exec_driver_sql("LOCK TABLE parent IN ACCESS EXCLUSIVE MODE")
    else:
        conn.exec_driver_sql("LOCK TABLES parent WRITE")

    def release() -> None:
        conn.close()
        engine.dispose()

    return release


def test_locked_table_is_reported_as_locked(backend: str, small_db: str) -> None:
    """The user's own lock timeout in the URL; the lock held by another session."""
    import sqlalchemy as sa

    query = {
        "sqlite": {"timeout": "0.2"},
        "postgresql": {"options": "-c%20lock_timeout%3D300"},
        "mysql": {"init_command": "SET%20SESSION%20lock_wait_timeout%3D1"},
    }[backend]
    u = sa.make_url(small_db)
    if backend == "sqlite":
        url = f"{small_db}?timeout=0.2"
    else:
        url = url_as_typed(small_db, u.username or "", u.password, **query)
    release = _hold_lock(backend, small_db)
    try:
        code, _, err = run("inspect", url)
    finally:
        release()
    line = one_failed_line(err)
    assert code == 1 and "locked by another session" in line


def _server_error(url: str, *statements: str) -> BaseException:
    """The real error a server raises for the last statement."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            for stmt in statements[:-1]:
                conn.exec_driver_sql(stmt)
            try:
                conn.exec_driver_sql(statements[-1])
            except sa.exc.DBAPIError as err:
                return err
    finally:
        engine.dispose()
    raise AssertionError(f"no error from {statements[-1]}")


@pytest.mark.postgresql
@pytest.mark.parametrize(
    ("statements", "kind"),
    [
        (("SET statement_timeout = 50", "SELECT pg_sleep(2)"), "cancelled"),
        (("CREATE TABLE no_such_schema.t (x int)",), "no_schema"),
        (("CREATE TABLE t (x int)", "SET ROLE pg_monitor", "SELECT * FROM t"), "privilege"),
        (("SELEC 1",), None),  # our SQL: a bug, not the user's to fix
        (
            (
                "CREATE TABLE u (email text PRIMARY KEY)",
                "INSERT INTO u VALUES ('a@b.c')",
                "INSERT INTO u VALUES ('a@b.c')",
            ),
            None,  # a duplicate key while writing is ours too (and its text holds the value)
        ),
    ],
)
def test_classify_postgres_by_sqlstate(
    pg_db: Callable[[], str], statements: tuple[str, ...], kind: str | None
) -> None:
    from relsynth.io import classify, database_error

    err = _server_error(pg_db(), *statements)
    problem = classify(err)
    assert (problem.kind if problem else None) == kind
    if kind is None:
        assert database_error(err) is None
    else:
        assert problem is not None and problem.code.startswith("SQLSTATE ")


@pytest.mark.mysql
@pytest.mark.parametrize(
    ("statements", "kind"),
    [
        (
            (
                "SET SESSION max_statement_time = 0.05",
                "SELECT COUNT(*) FROM information_schema.collations a, information_schema.collations b, "
                "information_schema.collations c",
            ),
            "cancelled",
        ),
        (("USE no_such_database_here",), "no_database"),
        (("SELEC 1",), None),
        (
            (
                "CREATE TABLE u (email VARCHAR(20) PRIMARY KEY)",
                "INSERT INTO u VALUES ('a@b.c')",
                "INSERT INTO u VALUES ('a@b.c')",
            ),
            None,
        ),
    ],
)
def test_classify_mariadb_by_error_number(
    mysql_db: Callable[[], str], statements: tuple[str, ...], kind: str | None
) -> None:
    from relsynth.io import classify

    problem = classify(_server_error(mysql_db(), *statements))
    assert (problem.kind if problem else None) == kind
    if problem:
        assert problem.code.startswith("MySQL error ")


def test_classify_sqlite_by_result_code(tmp_path: Path) -> None:
    from relsynth.io import classify

    url = f"sqlite:///{tmp_path / 'x.db'}"
    run_sql(url, "CREATE TABLE t (x INTEGER PRIMARY KEY);")
    release = _hold_lock("sqlite", url)
    try:
        busy = _server_error(f"{url}?timeout=0", "SELECT * FROM t")
    finally:
        release()
    assert classify(busy).kind == "locked"  # type: ignore[union-attr]
    assert classify(_server_error(url, "SELEC 1")) is None
    assert classify(_server_error(url, "INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (1)")) is None


def test_sqlite_source_with_a_hot_journal_says_so(tmp_path: Path) -> None:
    """A writer killed mid-transaction leaves a hot journal: a read-only connection cannot roll it
    back (SQLITE_READONLY_ROLLBACK), which is not "accepts no writes"."""
    import sqlite3

    path = tmp_path / "hot.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, "x" * 100) for i in range(20_000)])
    conn.commit()
    conn.close()
    writer = (
        "import os, sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('PRAGMA cache_size=2')\n"  # spill the change into the file before the commit
        "c.execute('BEGIN')\n"
        "c.execute(\"UPDATE t SET x = x || 'y'\")\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", writer, str(path)], check=True)
    assert (tmp_path / "hot.db-journal").exists()
    result = CliRunner().invoke(main, ["inspect", f"sqlite:///{path}"])
    assert result.exit_code == 1
    assert "holds an unfinished transaction" in result.stderr and "accepts no writes" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_classify_ignores_errors_that_are_not_from_a_database() -> None:
    from relsynth.io import classify

    assert classify(OSError(1045, "an errno that happens to be MySQL's 1045")) is None
    assert classify(ValueError(1044)) is None


# == 8c. model files told by content, never by name ==================================================
@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "model.rsm"
    _tiny_model().save(str(path))
    return path


@pytest.mark.parametrize("keep", [0, 1, 4, 40, 200, -200, -1])
def test_truncated_model_file_is_damaged_never_an_sdv_file(fitted: Path, tmp_path: Path, keep: int) -> None:
    data = fitted.read_bytes()
    cut = tmp_path / "cut.rsm"
    cut.write_bytes(data[:keep])
    for extra in ((), ("--allow-pickle",)):
        code, _, err = run("sample", str(cut), "-o", str(tmp_path / "out"), *extra)
        line = one_failed_line(err)
        assert code == 1
        assert "allow-pickle" not in line and "is an SDV model" not in line, line
        if keep == 0:
            assert "is empty" in line
        elif keep >= 40 or keep < 0:
            assert "damaged relsynth model file" in line and "relsynth fit URL -o" in line, line


def test_the_same_model_gives_the_same_file_byte_for_byte(tmp_path: Path) -> None:
    """The time of writing was in every zip entry (and in np.savez's): two saves of one model,
    or of two fits with one seed, differed."""
    import time

    first, second = tmp_path / "a.rsm", tmp_path / "b.rsm"
    _tiny_model().save(str(first))
    time.sleep(2.1)  # a zip's time has two-second steps
    _tiny_model().save(str(second))
    assert first.read_bytes() == second.read_bytes()
    from relsynth.model.spec import Model

    assert Model.load(str(first)).tables.keys() == {"people"}


@pytest.mark.parametrize("offset", [100, 200, 400])
def test_overwritten_bytes_in_the_compressed_stream_are_damaged_not_an_internal_error(
    fitted: Path, tmp_path: Path, offset: int
) -> None:
    """Attack round 16: bytes overwritten early in model.json's deflate stream made zlib raise its
    own error class, which fell through to an internal error (exit 2)."""
    data = bytearray(fitted.read_bytes())
    data[offset : offset + 8] = b"garbage!"
    bad = tmp_path / "bad.rsm"
    bad.write_bytes(bytes(data))
    code, _, err = run("sample", str(bad), "-o", str(tmp_path / "out"))
    line = one_failed_line(err)
    assert code == 1 and "damaged relsynth model file" in line, line


def test_random_bytes_are_not_called_an_sdv_model(tmp_path: Path) -> None:
    path = tmp_path / "random.rsm"
    path.write_bytes(bytes(range(7, 250)) * 20)
    code, _, err = run("sample", str(path), "-o", str(tmp_path / "out"))
    line = one_failed_line(err)
    assert code == 1 and "not a relsynth model file" in line and "allow-pickle" not in line


def test_other_zip_is_not_a_relsynth_model(tmp_path: Path) -> None:
    path = tmp_path / "photos.rsm"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("photo.jpg", b"\xff\xd8")
    code, _, err = run("sample", str(path), "-o", str(tmp_path / "out"))
    line = one_failed_line(err)
    assert code == 1 and "zip archive but not a relsynth model file" in line and "allow-pickle" not in line


def test_damaged_model_given_to_evaluate_is_reported_not_ignored(
    fitted: Path, demo_db: str, tmp_path: Path
) -> None:
    cut = tmp_path / "cut.rsm"
    cut.write_bytes(fitted.read_bytes()[:-100])
    code, _, err = run("evaluate", demo_db, demo_db, "--model", str(cut))
    line = one_failed_line(err)
    assert code == 1 and "damaged relsynth model file" in line


def test_model_files_known_by_content_whatever_their_name(tmp_path: Path) -> None:
    """A relsynth model named .pkl samples without --allow-pickle; an SDV pickle named .rsm is
    recognised as one, and only it suggests --allow-pickle."""
    url = f"sqlite:///{tmp_path / 'src.db'}"
    script = small_script("sqlite").splitlines()
    run_sql(url, "\n".join(line for line in script if "lonely" not in line))
    ours, theirs = tmp_path / "model.pkl", tmp_path / "sdv.rsm"
    assert run("fit", url, "-o", str(ours), "-q")[0] == 0
    code, _, err = run("sample", str(ours), "-o", str(tmp_path / "a"), "-q")
    assert code == 0, err
    assert run("fit", url, "-o", str(theirs), "--engine", "sdv", "-q")[0] == 0
    code, _, err = run("sample", str(theirs), "-o", str(tmp_path / "b"))
    line = one_failed_line(err)
    assert "is an SDV model file" in line and "--allow-pickle" in line
    code, _, err = run("sample", str(theirs), "-o", str(tmp_path / "b"), "--allow-pickle", "-q")
    assert code == 0, err
    code, _, err = run("sample", str(theirs), "--target", f"sqlite:///{tmp_path / 't.db'}", "--allow-pickle")
    assert code == 1 and "--target takes a relsynth model" in one_failed_line(err)


# == 8d. messages that do not contradict themselves ==================================================
def _edited(src: Path, dst: Path, edit: Callable[[dict], None]) -> Path:
    with zipfile.ZipFile(src) as z:
        doc = json.loads(z.read("model.json"))
        arrays = z.read("arrays.npz")
    edit(doc)
    with zipfile.ZipFile(dst, "w") as z:
        z.writestr("model.json", json.dumps(doc))
        z.writestr("arrays.npz", arrays)
    return dst


@pytest.mark.parametrize(
    ("version", "made_by", "expected"),
    [
        ("1", None, "not a whole number"),  # was: "format version 1 ... reads version 1"
        (2, None, "never writes: edited?"),  # was: "made by relsynth 0.1.0 ... this relsynth 0.1.0"
        (99, "9.9.9", "upgrade relsynth"),
        (0, "0.0.1", "older format version 0"),
    ],
)
def test_model_version_messages_do_not_contradict(
    fitted: Path, tmp_path: Path, version: object, made_by: str | None, expected: str
) -> None:
    from relsynth import __version__
    from relsynth.errors import ModelError
    from relsynth.model.spec import Model

    def edit(doc: dict) -> None:
        doc["version"] = version
        doc["relsynth"] = made_by or doc["relsynth"]

    path = _edited(fitted, tmp_path / "v.rsm", edit)
    with pytest.raises(ModelError) as info:
        Model.load(str(path))
    message = str(info.value)
    assert expected in message, message
    if made_by is None:  # this relsynth's own file: no "reads version N" beside the same N
        assert "reads" not in message, message
    assert message.count(f"relsynth {__version__}") <= 1, message  # never "made by X ... this X"
    assert "refit it with: relsynth fit URL -o" in message


def test_edited_plan_is_damaged_not_planned_by_another_relsynth(fitted: Path, tmp_path: Path) -> None:
    """Same relsynth version: 'planned differently by relsynth 0.1.0' (this one) made no sense."""
    from relsynth import __version__
    from relsynth.errors import ModelError
    from relsynth.model.spec import Model

    def edit(doc: dict) -> None:
        doc["plan"]["people"]["role"] = "reference"

    path = _edited(fitted, tmp_path / "p.rsm", edit)
    with pytest.raises(ModelError) as info:
        Model.load(str(path))
    assert "damaged" in str(info.value) and f"relsynth {__version__}" not in str(info.value)


# == 8e. FAILED, Interrupted, internal error ==========================================================
BUG_MESSAGE = "patient Jane Roe, born 1961-02-03"


def test_bug_is_one_line_internal_error_exit_2_without_values(
    demo_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import relsynth.show

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError(BUG_MESSAGE)  # what a bug's message may hold (named: tracebacks show this line)

    monkeypatch.setattr(relsynth.show, "summary", broken)
    code, out, err = run("inspect", demo_db, "--no-profile")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and out == ""
    assert lines[0].startswith("internal error: ValueError at relsynth/cli.py:")
    assert "report it" in lines[0] and "--traceback" in lines[0]
    assert "Jane" not in err and "1961" not in err and "Traceback" not in err
    for args in (("--traceback", "inspect", demo_db), ("inspect", demo_db, "--traceback")):
        code, out, err = run(*args, "--no-profile")
        assert code == 2, args  # the same exit code as without --traceback
        assert ("Traceback" in err and "relsynth/show.py" not in err) or "summary" in err
        assert "ValueError" in err and "Jane" not in err and "1961" not in err, err


def test_interrupt_is_exit_130(demo_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import relsynth.show

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(relsynth.show, "summary", interrupted)
    code, out, err = run("inspect", demo_db, "--no-profile")
    assert code == 130 and err.strip() == "Interrupted." and out == ""


def test_help_says_what_the_exit_codes_mean() -> None:
    code, out, _ = run("--help")
    assert code == 0 and "internal error" in out and "130" in out and "FAILED" in out


# == output paths, checked before any database ========================================================
@pytest.mark.parametrize("server", ["postgresql", "mysql", "sqlite"])
@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["fit", "{src}", "-o", "{bad}/m.rsm"], "model file"),
        (["inspect", "{src}", "-o", "{bad}/s.txt"], "output"),
        (["synthesize", "{src}", "sqlite:///{tmp}/t.db", "--report", "{bad}/r.html"], "report"),
        (["evaluate", "{src}", "{src}", "-o", "{bad}/r.html"], "HTML report"),
        (["evaluate", "{src}", "{src}", "--json", "{bad}/r.json"], "JSON report"),
        (["sample", "{tmp}/no-model.rsm", "-o", "{file}/out"], "synthetic tables"),
    ],
)
def test_output_paths_are_checked_before_any_database(
    server: str, args: list[str], what: str, tmp_path: Path
) -> None:
    """With a source that cannot be reached, the error must be the output path's: checked first."""
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    fill = {"src": UNREACHABLE[server], "bad": str(tmp_path / "missing" / "dir"), "tmp": str(tmp_path),
            "file": str(tmp_path / "a-file")}  # fmt: skip
    code, _, err = run(*(a.format(**fill) for a in args))
    line = one_failed_line(err)
    assert code == 1 and f"Cannot write the {what}" in line, line
    assert "does not exist; create it first" in line or "is not a directory" in line or "is a file" in line


def test_unwritable_output_directory(tmp_path: Path) -> None:
    if os.geteuid() == 0:  # root writes anywhere: a path under a file is unwritable for everyone
        target = tmp_path / "a-file"
        target.write_text("x", encoding="utf-8")
        out = target / "m.rsm"
    else:
        target = tmp_path / "read-only"
        target.mkdir()
        target.chmod(0o500)
        out = target / "m.rsm"
    code, _, err = run("fit", UNREACHABLE["postgresql"], "-o", str(out))
    line = one_failed_line(err)
    assert code == 1 and "Cannot write the model file" in line


# == 9. noise, and the global options after the subcommand ===========================================
def _only_relsynth_lines(stderr: str) -> None:
    for line in stderr.splitlines():
        assert line.startswith(("relsynth: ", "FAILED: ")) or not line.strip(), stderr
    assert "site-packages" not in stderr and ".py:" not in stderr and "Warning:" not in stderr


def test_nothing_but_relsynth_lines_on_stderr(backend: str, small_db: str, tmp_path: Path) -> None:
    """scipy warns comparing a one-row table; SQLAlchemy warns about types it does not know (PG point,
    MariaDB POINT). Under -q (typed after the command) none of it reaches the terminal; with -v it is
    a relsynth debug line, without file paths."""
    if backend != "sqlite":
        kind = "point" if backend == "postgresql" else "POINT"
        run_sql(small_db, f"CREATE TABLE shapes (id INTEGER PRIMARY KEY, p {kind});")
    proc = cli("fit", small_db, "-o", str(tmp_path / "m.rsm"), "-q")
    assert proc.returncode == 0, proc.stderr
    _only_relsynth_lines(proc.stderr)
    proc = cli("evaluate", small_db, small_db, "--json", str(tmp_path / "e.json"), "-q")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    proc = cli("evaluate", small_db, small_db, "-v")
    assert proc.returncode == 0
    _only_relsynth_lines(proc.stderr)
    assert "relsynth: RuntimeWarning from scipy" in proc.stderr
    if backend != "sqlite":
        proc = cli("inspect", small_db, "-v")
        _only_relsynth_lines(proc.stderr)
        assert "relsynth: SAWarning from sqlalchemy: Did not recognize type" in proc.stderr


def test_every_subcommand_takes_the_global_options() -> None:
    for name in main.commands:
        code, out, _ = run(name, "--help")
        assert code == 0 and all(opt in out for opt in ("--quiet", "--verbose", "--traceback")), name


def test_global_options_after_the_subcommand(demo_db: str, tmp_path: Path) -> None:
    code, out, err = run("inspect", demo_db, "-q", "--no-profile")
    assert code == 0 and err == "" and "patients" in out
    code, _, err = run("fit", demo_db, "-o", str(tmp_path / "m.rsm"), "-q")
    assert code == 0 and all(line.startswith("relsynth: The model file") for line in err.splitlines())
    code, _, err = run("fit", demo_db, "-o", str(tmp_path / "m.rsm"), "-v")
    assert code == 0 and "relsynth: fitted" in err
    code, _, err = run("sample", str(tmp_path / "m.rsm"), "-o", str(tmp_path / "out"), "-q")
    assert code == 0 and err == ""
