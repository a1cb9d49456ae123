"""Connections and files: URL parsing and redaction, engines, read-only source sessions, database
errors classified by code, and the one way relsynth writes a file.

Everything that turns a user's URL into a live connection, or writes a file a user asked for, lives
here, so that the rules (mask passwords, never write to a source, one clear line per failure, no
half-written file left holding source values) hold everywhere.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from relsynth.errors import ConnectionFailed, DatabaseFailed, RelsynthError

if TYPE_CHECKING:
    import sqlalchemy as sa

# Default drivers: the ones relsynth installs. SQLAlchemy's own defaults (psycopg2, mysqlclient)
# are separate packages that most users will not have.
_DEFAULT_DRIVERS = {"postgresql": "psycopg", "postgres": "psycopg", "mysql": "pymysql", "mariadb": "pymysql"}

# DBAPI module name -> what to pip install for it.
_DRIVER_PACKAGES = {
    "psycopg2": "psycopg2-binary",
    "psycopg": "'psycopg[binary]'",
    "asyncpg": "asyncpg",
    "pg8000": "pg8000",
    "MySQLdb": "mysqlclient",
    "mysqldb": "mysqlclient",
    "pymysql": "pymysql",
    "mysql": "mysql-connector-python",
    "mysqlconnector": "mysql-connector-python",
    "mariadb": "mariadb",
    "mariadbconnector": "mariadb",
    "pyodbc": "pyodbc",
    "pymssql": "pymssql",
    "oracledb": "oracledb",
    "cx_Oracle": "cx_Oracle",
    "duckdb": "duckdb-engine",
}

# A password runs from 'user:' to the LAST '@' of the URL: users type unencoded '@'s in passwords
# (postgresql://u:p@ss@host/db), and stopping at the first one would print the rest.
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)((?:(?!://)\S)*)(@)")
_KEY_PASSWORD = re.compile(r"((?:password|passwd|pwd)=)([^&\s]*)", re.IGNORECASE)


def redact_text(text: str) -> str:
    """Mask anything that looks like a password inside a URL (or a password= parameter) in free text."""
    return _KEY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***\3", text))


def _unparsed(text: str) -> str:
    """Text that is no URL, as it may be printed: where its scheme is mistyped
    (`postgres:secret@host/db`, `postgresql//u:secret@host`), redact_text finds no `://` to start
    a password at, so everything between the first ':' and the last '@' is masked."""
    text = redact_text(text)
    head, at, tail = text.rpartition("@")
    if at and ":" in head:
        head = head.split(":", 1)[0] + ":***"
    return head + at + tail


def parse_url(text: str | sa.URL) -> sa.URL:
    """A SQLAlchemy URL from what a user typed: a URL, or a path to an existing SQLite file."""
    import sqlalchemy as sa

    if isinstance(text, sa.URL):
        url = text
    else:
        text = str(text).strip()
        path = Path(text).expanduser()
        if "://" not in text and path.suffix.lower() in {".db", ".sqlite", ".sqlite3"}:
            return sa.URL.create("sqlite", database=str(path))
        try:
            url = sa.make_url(text)
        except (sa.exc.ArgumentError, ValueError):
            raise RelsynthError(
                f"'{_unparsed(text)}' is not a database URL; expected one like "
                "postgresql+psycopg://user@host/dbname, mysql+pymysql://root@host/dbname or sqlite:///file.db"
            ) from None
    if url.host and "@" in url.host:
        # SQLAlchemy ends the user info at the first '@'; a host never holds one, so the user info
        # really ends at the last: the rest belongs to the password (or, without one, the user name).
        extra, host = url.host.rsplit("@", 1)
        if url.password is not None:
            url = url.set(password=f"{url.password}@{extra}", host=host)
        else:
            url = url.set(username=f"{url.username or ''}@{extra}", host=host)
    backend, _, driver = url.drivername.partition("+")
    if backend == "postgres":
        backend = "postgresql"
    if not driver and backend in _DEFAULT_DRIVERS:
        url = url.set(drivername=f"{backend}+{_DEFAULT_DRIVERS[backend]}")
    elif backend != url.get_backend_name():
        url = url.set(drivername=f"{backend}+{driver}" if driver else backend)
    return url


def redact(url: str | sa.URL) -> str:
    """The URL as it may be printed or logged: password masked."""
    import sqlalchemy as sa

    if isinstance(url, sa.URL):
        return url.render_as_string(hide_password=True)
    return redact_text(str(url))


def describe(url: sa.URL) -> str:
    """Short human name of a database for messages: 'postgresql database chinook on 127.0.0.1:5432'."""
    if url.get_backend_name() == "sqlite":
        return f"SQLite file {url.database}" if url.database else "in-memory SQLite database"
    where = f"{url.host or 'localhost'}" + (f":{url.port}" if url.port else "")
    name = f" {url.database}" if url.database else ""
    return f"{url.get_backend_name()} database{name} on {where}"


def _missing_driver(url: sa.URL, err: BaseException) -> ConnectionFailed:
    module = getattr(err, "name", None) or str(err).split("'")[-2 if "'" in str(err) else -1]
    top = (module or "").split(".")[0]
    package = _DRIVER_PACKAGES.get(top) or _DRIVER_PACKAGES.get(url.get_driver_name()) or top
    hint = ""
    if url.get_backend_name() == "postgresql":
        hint = " (or use postgresql+psycopg://, which relsynth installs)"
    elif url.get_backend_name() in {"mysql", "mariadb"}:
        hint = " (or use mysql+pymysql://, which relsynth installs)"
    return ConnectionFailed(
        f"The database driver for {url.drivername}:// is not installed: pip install {package}{hint}"
    )


# MySQL/MariaDB URL options that set what the URL itself says (SQLAlchemy hands every option of the
# query to the driver as a keyword): ?db= beside a database in the path was ignored by PyMySQL, and
# ?database= replaced it, in silence (attack round 45), as ?user= did the URL's user.
_MYSQL_URL_PARTS = {
    "db": "database",
    "database": "database",
    "user": "username",
    "username": "username",
    "passwd": "password",
    "password": "password",
    "host": "host",
    "port": "port",
    "unix_socket": "host",
}
_MYSQL_UNSUPPORTED = {"compress", "named_pipe"}  # PyMySQL: NotImplementedError (an internal error)


def refuse_ignored_options(url: sa.URL) -> None:
    """MySQL/MariaDB: an option of the URL's query that one of its own parts gives (the database is
    its path, always; a user, password, host or port where the URL has one), or that the driver does
    not support, is refused in one line instead of being ignored or silently winning. An option the
    driver does not know at all is refused by the driver itself (option_refused)."""
    if url.get_backend_name() not in {"mysql", "mariadb"}:
        return
    form = f"{url.drivername}://USER@HOST:PORT/DATABASE"
    for key in sorted(url.query):
        part = _MYSQL_URL_PARTS.get(key)
        if part == "database":
            raise ConnectionFailed(
                f"The URL's option ?{key}= names the database, which is the URL's path ({form}): "
                f"write the database there and leave ?{key}= out"
            )
        if part is not None and getattr(url, part) is not None:
            raise ConnectionFailed(
                f"The URL's option ?{key}= sets the {part}, which the URL already gives ({form}): "
                f"keep one of the two"
            )
        if key in _MYSQL_UNSUPPORTED:
            driver = url.get_driver_name()
            raise ConnectionFailed(
                f"The URL's option ?{key}= is not supported by the {driver} driver; leave it out"
            )


def make_engine(url: str | sa.URL, *, read_only: bool = False, must_exist: bool = True) -> sa.Engine:
    """An engine for the URL; SQLite sources are opened with mode=ro so they cannot be written."""
    import sqlalchemy as sa

    url = parse_url(url)
    refuse_ignored_options(url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database).expanduser()
        if must_exist and not path.exists():
            raise ConnectionFailed(f"SQLite file {path} does not exist; check the path in the URL")
        if read_only:
            query = dict(url.query)
            query.update({"mode": "ro", "uri": "true"})
            url = url.set(database=f"file:{path.resolve()}", query=query)
    try:
        # hide_parameters: a statement's bound values (rows of data) never reach an error message.
        engine = sa.create_engine(url, pool_pre_ping=False, hide_parameters=True)
    except sa.exc.NoSuchModuleError:
        raise ConnectionFailed(
            f"SQLAlchemy has no dialect '{url.drivername}'; check the URL scheme "
            "(postgresql+psycopg, mysql+pymysql, sqlite) or install the dialect's package"
        ) from None
    except ImportError as err:
        raise _missing_driver(url, err) from None
    except (ValueError, TypeError):  # ?connect_timeout=abc: the dialect could not read an option
        names = ", ".join(sorted(url.query)) or "none"
        raise ConnectionFailed(
            f"The URL's options are not valid for {url.get_backend_name()} (options given: {names}); "
            "check their values (a timeout is a whole number of seconds) or leave them out"
        ) from None
    from relsynth import dialects

    dialects.quote_keywords_on_connect(engine)  # names that are keywords SQLAlchemy does not know
    dialects.utc_sessions(engine)
    return engine


# -- database errors, classified by code ------------------------------------------------------------
# What went wrong is read from the error's code, never from its text: servers translate their messages
# (lc_messages), and texts overlap ("Access denied" is MySQL's wording for both a wrong password, 1045,
# and a missing grant on the database, 1044). Anything not listed here is not the user's to fix.
_PG_STATES = {
    "28P01": "auth",
    "28000": "refused",
    "3D000": "no_database",
    "42501": "privilege",
    "3F000": "no_schema",
    "55P03": "locked",
    "57014": "cancelled",
    "25006": "read_only",
    "57P01": "lost",
    "57P02": "lost",
    "57P03": "unreachable",
}
_PG_CLASSES = {"08": "lost", "53": "resources"}  # connection exceptions; insufficient resources
_MYSQL_CODES = {
    1044: "no_grant",
    1045: "auth",
    1049: "no_database",
    1142: "privilege",
    1143: "privilege",
    1227: "privilege",
    1370: "privilege",
    2002: "unreachable",
    2003: "unreachable",
    2005: "unreachable",
    2006: "lost",
    2013: "lost",
    1205: "locked",
    1317: "cancelled",
    1969: "cancelled",  # MariaDB: max_statement_time exceeded
    3024: "cancelled",  # MySQL: max_execution_time exceeded
    1040: "resources",
    1021: "resources",
    1114: "resources",
    1290: "read_only",
    1792: "read_only",
}
_SQLITE_EXTENDED = {  # extended result codes that mean something else than their primary code
    776: "hot_journal",  # SQLITE_READONLY_ROLLBACK: a hot journal, and a read-only connection
}
_SQLITE_CODES = {  # primary result codes (the low byte of an extended code)
    5: "locked",
    6: "locked",
    8: "read_only",
    9: "cancelled",
    10: "io_error",  # SQLITE_IOERR: a full disk, a file size limit, a failing device
    11: "corrupt",
    13: "resources",
    14: "cannot_open",
    26: "not_a_database",
}
_MESSAGES = {
    "auth": "Authentication failed for {whom} on {what}: check the user name and password",
    "refused": "{What} refuses {whom} (no such user, or the server's access rules do not let it in): "
    "check the user name in the URL",
    "needs_password": "{What} asks for a password for {whom}: add it to the URL (user:password@host)",
    "no_database": "The {what} does not exist: create it, or check the database name in the URL",
    "no_grant": "{Who} has no access to the {what} ({detail}): GRANT it privileges on this "
    "database, or connect as a user who has them",
    "privilege": "{Who} lacks a privilege on {what} ({detail}): GRANT what relsynth needs (CONNECT to the "
    "database; SELECT on a source's tables; CREATE and INSERT on a target), or connect as a user who has it",
    "no_schema": "A schema is missing on {what} ({detail}): check --schema or --target-schema",
    "locked": "{What} has a table locked by another session ({detail}): try again when that session is done",
    "cancelled": "A query on {what} was cancelled ({detail}): a statement timeout or an administrator "
    "stopped it; raise the timeout or try again",
    "read_only": "{What} accepts no writes ({detail}): write into a database that does",
    "row_security": "Row-level security of a table in {what} hides rows from {whom} ({detail}): relsynth "
    "reads every row or none (as pg_dump does); read as the table's owner or a role with BYPASSRLS "
    "(FORCE ROW LEVEL SECURITY: BYPASSRLS or a superuser), or leave the table out (--exclude)",
    "hot_journal": "The {what} holds an unfinished transaction (a journal left by a writer that stopped): "
    "let SQLite roll it back by opening it once with write access (sqlite3 FILE 'PRAGMA quick_check'), "
    "then run relsynth again",
    "resources": "{What} ran out of resources ({detail}): free disk, memory or connections there, "
    "then try again",
    "unreachable": "Cannot reach the server of the {what}: is it running, and are host and port right?",
    "lost": "The connection to {what} was lost ({detail}): is the server up? Then run the command again",
    "cannot_open": "Cannot open the {what}: check the path and its permissions",
    "io_error": "{What} could not be written or read ({detail}): a full disk, a file size limit "
    "(ulimit -f) or a failing device; free space or write elsewhere, then try again",
    "not_a_database": "The {what} is not a SQLite database (or it is encrypted): check the path",
    "corrupt": "The {what} is damaged ({detail}): restore it from a backup",
}
# Which table an error's code is read in: the driver's top-level module.
_DRIVER_FAMILIES = {
    "sqlite3": "sqlite",
    "pysqlite2": "sqlite",
    "pymysql": "mysql",
    "MySQLdb": "mysql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "psycopg": "postgresql",
    "psycopg2": "postgresql",
}
_CONNECT_KINDS = {"auth", "refused", "needs_password", "no_database", "no_grant", "unreachable"}


@dataclass(frozen=True)
class Problem:
    """A database error the user can act on: its kind, the code it was read from, the server's words."""

    kind: str
    code: str
    detail: str


def _driver_error(err: BaseException) -> BaseException:
    return getattr(err, "orig", None) or err


def _detail(orig: BaseException) -> str:
    """The server's first line: names objects and users, never row values, for the kinds we report."""
    args: tuple[Any, ...] = getattr(orig, "args", ())
    text = str(args[1]) if len(args) > 1 and isinstance(args[0], int) else str(orig)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return redact_text(lines[0]) if lines else type(orig).__name__


def classify(err: BaseException) -> Problem | None:
    """What a database error means for the user, from its code; None when it is not theirs to fix.

    MySQL/MariaDB errors carry an error number, SQLite errors a result code, PostgreSQL errors a
    SQLSTATE. libpq alone gives no SQLSTATE when a connection fails (the server's reply is folded
    into a message), so those are read from libpq's flags and, last, its message.
    """
    orig = _driver_error(err)
    family = _DRIVER_FAMILIES.get(type(orig).__module__.split(".")[0])
    if family == "sqlite":
        code = getattr(orig, "sqlite_errorcode", None)
        kind = (
            (_SQLITE_EXTENDED.get(code) or _SQLITE_CODES.get(code & 0xFF)) if isinstance(code, int) else None
        )
        name = getattr(orig, "sqlite_errorname", None) or f"SQLite result code {code}"
        return Problem(kind, name, _detail(orig)) if kind else None
    if family == "mysql":
        args: tuple[Any, ...] = getattr(orig, "args", ())
        errno = getattr(orig, "errno", None)
        if not isinstance(errno, int) and args and isinstance(args[0], int):
            errno = args[0]
        kind = _MYSQL_CODES.get(errno) if isinstance(errno, int) else None
        return Problem(kind, f"MySQL error {errno}", _detail(orig)) if kind else None
    if family == "postgresql":
        state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        if isinstance(state, str) and state:
            kind = _PG_STATES.get(state) or _PG_CLASSES.get(state[:2])
            if state == "42501" and "row-level security" in str(orig):
                # Found before reading (dialects.refuse_hidden_rows), but for a policy enabled while
                # relsynth reads: the same code as a missing grant, and only English text tells.
                kind = "row_security"
            return Problem(kind, f"SQLSTATE {state}", _detail(orig)) if kind else None
        if "OperationalError" in type(orig).__name__:
            return _libpq_connect_failure(orig)
    return None


# libpq's connection failures: no SQLSTATE exists for them, so its message is all there is.
_LIBPQ_PHRASES = (
    ("password authentication failed", "auth"),
    ("no password supplied", "needs_password"),
    ("database", "does not exist", "no_database"),
    ("role", "does not exist", "refused"),
    ("no pg_hba.conf entry", "refused"),
    ("permission denied for database", "privilege"),
    ("connection refused", "unreachable"),
    ("could not translate host name", "unreachable"),
    ("failed to resolve host", "unreachable"),
    ("timeout expired", "unreachable"),
    ("no route to host", "unreachable"),
    ("network is unreachable", "unreachable"),
    ("could not connect to server", "unreachable"),
    ("is the server running", "unreachable"),
)


def _libpq_connect_failure(orig: BaseException) -> Problem | None:
    pgconn = getattr(orig, "pgconn", None)
    if pgconn is not None and getattr(pgconn, "needs_password", False) and not pgconn.used_password:
        return Problem("needs_password", "libpq", "")
    low = str(orig).lower()
    for *words, kind in _LIBPQ_PHRASES:
        if all(w in low for w in words):
            return Problem(kind, "libpq", _detail(orig))
    return None


def _message(problem: Problem, url: sa.URL | None) -> str:
    what = describe(url) if url is not None else "the database"
    if url is None and problem.kind in {"unreachable", "no_database", "cannot_open", "not_a_database"}:
        what = "database"
    name = url.username if url is not None else None
    whom = f"user '{name}'" if name else "the user"
    text = _MESSAGES[problem.kind].format(
        what=what,
        What=what[:1].upper() + what[1:],
        whom=whom,
        Who=whom[:1].upper() + whom[1:],
        detail=problem.detail or problem.code,
    )
    if url is not None and url.password:
        text = text.replace(str(url.password), "***")
    return text


def database_error(err: BaseException, url: sa.URL | None = None) -> RelsynthError | None:
    """The one-line error for a classified database failure (None: unclassified, a bug to report)."""
    problem = classify(err)
    if problem is None:
        return None
    message = _message(problem, url)
    return ConnectionFailed(message) if problem.kind in _CONNECT_KINDS else DatabaseFailed(message)


# A column or table named in a query is gone: read from a source, its schema changed after it was
# reflected (an ALTER TABLE by another client; relsynth takes no lock that would stop one).
_GONE = {("postgresql", "42703"), ("postgresql", "42P01"), ("mysql", "1054"), ("mysql", "1146")}


def schema_changed(err: BaseException, url: str | sa.URL) -> DatabaseFailed | None:
    """The one-line error for a source whose tables changed while it was read; None otherwise."""
    orig = _driver_error(err)
    family = _DRIVER_FAMILIES.get(type(orig).__module__.split(".")[0])
    args: tuple[Any, ...] = getattr(orig, "args", ())
    errno = str(args[0]) if args and isinstance(args[0], int) else None  # MySQL's number, first
    code = errno if family == "mysql" else getattr(orig, "sqlstate", None)
    if (family, code) not in _GONE:
        return None
    return DatabaseFailed(
        f"The {describe(parse_url(url))}'s tables changed while relsynth read them ({_detail(orig)}): "
        "a column or table was added, dropped or renamed by another session; run again once "
        "that change is done"
    )


def connection_error(url: sa.URL, err: BaseException) -> ConnectionFailed:
    """Turn a driver's connect failure into one line that says what to do (no password, no data)."""
    problem = classify(err)
    if problem is not None:
        return ConnectionFailed(_message(problem, url))
    detail = _detail(_driver_error(err))
    if url.password:
        detail = detail.replace(str(url.password), "***")
    return ConnectionFailed(f"Cannot connect to the {describe(url)}: {detail}")


def option_refused(url: sa.URL, err: BaseException) -> ConnectionFailed:
    """A driver that fails on an option of the URL's query (?charset=..., ?ssl_ca=...) before
    reaching the server raises its own exception types: still the user's URL to fix. Without
    options, on PostgreSQL: a SQL_ASCII database, whose server version psycopg hands over as
    bytes that SQLAlchemy cannot read (attack round 29: "refused an option" of a URL with none)."""
    if not url.query and url.get_backend_name() == "postgresql":
        return ConnectionFailed(
            f"Cannot connect to the {describe(url)}: the driver failed on the server's reply "
            f"({type(err).__name__}), as it does with a database in SQL_ASCII encoding; add "
            "?client_encoding=utf8 to the URL"
        )
    return ConnectionFailed(
        f"Cannot connect to the {describe(url)}: the driver refused an option of the URL "
        f"({type(err).__name__}); check the options after '?'"
    )


@contextmanager
def connect(url: str | sa.URL, *, read_only: bool = False) -> Iterator[sa.Connection]:
    """A connection that fails with one clear line; read-only ones can never write."""
    import sqlalchemy as sa

    from relsynth import dialects

    parsed = parse_url(url)
    engine = make_engine(parsed, read_only=read_only)
    try:
        try:
            conn = engine.connect()
        except ImportError as err:
            raise _missing_driver(parsed, err) from None
        except sa.exc.DBAPIError as err:
            raise connection_error(parsed, err) from None
        except (ValueError, TypeError, AttributeError, LookupError, OSError) as err:
            raise option_refused(parsed, err) from None
        try:
            if read_only:
                conn = dialects.begin_read_only(conn)
            yield conn
        finally:
            conn.close()
    finally:
        engine.dispose()


# -- files ------------------------------------------------------------------------------------------
@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A private temporary file next to ``path`` that replaces it only once complete.

    The temporary file has a unique name and mode 0600 from the start, and is removed on any failure,
    Ctrl-C included: a half-written model or report would otherwise be left behind holding source
    values. Same directory, so the final rename is atomic. A symlink is followed (the file it points
    to is replaced, not the link); a device or a pipe (/dev/stdout) is written in place.
    """
    target = _real_target(path)
    if _special(target):
        yield target
        return
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as err:
        raise _write_failed(target, err) from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException as err:
        with suppress(OSError):
            tmp.unlink()
        if isinstance(err, OSError):
            raise _write_failed(target, err) from None
        raise


@contextmanager
def atomic_write(path: str | Path, *, binary: bool = False) -> Iterator[IO[Any]]:
    """An open file (text: UTF-8) whose content becomes ``path`` all at once, or not at all."""
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") if binary else open(tmp, "w", encoding="utf-8") as fh:
            yield fh
            fh.flush()
            if tmp.is_file():  # on disk before the rename makes it the file; a pipe has nothing to sync
                os.fsync(fh.fileno())
    except OSError as err:
        if err.filename or isinstance(err, BrokenPipeError):
            raise
        # A full device fails a write with no file named (/dev/full, ENOSPC): name the one asked for.
        raise OSError(err.errno, err.strerror, str(path)) from err


def _real_target(path: str | Path) -> Path:
    """The file to replace: a symlink's target; a device or a pipe (/dev/stdout) as named."""
    target = Path(path)
    if _special(target):
        return target
    return target.resolve() if target.is_symlink() else target


def _special(target: Path) -> bool:
    """A device or a pipe: it cannot be replaced by a rename, and holds nothing half-written."""
    return target.exists() and not target.is_file() and not target.is_dir()


def _write_failed(target: Path, err: OSError) -> RelsynthError:
    reason = (err.strerror or type(err).__name__).lower()
    return RelsynthError(f"Cannot write {target}: {reason}; nothing was written there")


def check_output_file(path: str | Path, what: str) -> None:
    """Fail now if ``path`` cannot be written: checked before any database is read, so that a long
    run does not end on a path it could have refused at the start."""
    target = _real_target(path)
    if target.is_dir():
        raise RelsynthError(f"Cannot write {what} to {target}: it is a directory; give a file name")
    if _special(target):
        if not os.access(target, os.W_OK):
            raise RelsynthError(f"Cannot write {what} to {target}: permission denied")
        return
    _probe(target.parent, target, what)


def check_output_dir(path: str | Path, what: str) -> None:
    """As check_output_file, for a directory that is created (with its parents) if missing."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise RelsynthError(f"Cannot write {what} into {target}: it is a file, not a directory")
    existing = target
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    _probe(existing, target, what)


def _probe(directory: Path, target: Path, what: str) -> None:
    """Create and remove a file in ``directory``: the one test that holds for ACLs, read-only mounts
    and root alike (permission bits do not tell)."""
    shown = directory.resolve() if str(directory) in {"", "."} else directory
    if not directory.exists():
        raise RelsynthError(
            f"Cannot write {what} {target}: directory {shown} does not exist; create it first"
        )
    if not directory.is_dir():
        raise RelsynthError(f"Cannot write {what} {target}: {shown} is not a directory")
    try:
        fd, name = tempfile.mkstemp(prefix=".relsynth-probe.", dir=directory)
    except OSError as err:
        reason = (err.strerror or type(err).__name__).lower()
        raise RelsynthError(
            f"Cannot write {what} {target}: directory {shown} is not writable ({reason})"
        ) from None
    os.close(fd)
    os.unlink(name)
