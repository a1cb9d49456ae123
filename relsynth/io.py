"""Connections: URL parsing and redaction, engines, read-only source sessions, driver errors.

Everything that turns a user's URL into a live connection lives here, so that the rules
(mask passwords, never write to a source, one clear line per failure) hold everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from relsynth.errors import ConnectionFailed, RelsynthError

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

_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)([^@\s]*)(@)")


def redact_text(text: str) -> str:
    """Mask anything that looks like a password inside a URL in free text."""
    return _URL_PASSWORD.sub(r"\1***\3", text)


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
                f"'{redact_text(text)}' is not a database URL; expected one like "
                "postgresql+psycopg://user@host/dbname, mysql+pymysql://root@host/dbname or sqlite:///file.db"
            ) from None
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


def make_engine(url: str | sa.URL, *, read_only: bool = False, must_exist: bool = True) -> sa.Engine:
    """An engine for the URL; SQLite sources are opened with mode=ro so they cannot be written."""
    import sqlalchemy as sa

    url = parse_url(url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database).expanduser()
        if must_exist and not path.exists():
            raise ConnectionFailed(f"SQLite file {path} does not exist; check the path in the URL")
        if read_only:
            query = dict(url.query)
            query.update({"mode": "ro", "uri": "true"})
            url = url.set(database=f"file:{path.resolve()}", query=query)
    try:
        return sa.create_engine(url, pool_pre_ping=False)
    except sa.exc.NoSuchModuleError:
        raise ConnectionFailed(
            f"SQLAlchemy has no dialect '{url.drivername}'; check the URL scheme "
            "(postgresql+psycopg, mysql+pymysql, sqlite) or install the dialect's package"
        ) from None
    except ImportError as err:
        raise _missing_driver(url, err) from None


def connection_error(url: sa.URL, err: BaseException) -> ConnectionFailed:
    """Turn a driver's connect failure into one line that says what to do (no password, no data)."""
    text = str(getattr(err, "orig", None) or err)
    if url.password:
        text = text.replace(str(url.password), "***")
    low = text.lower()
    what = describe(url)
    code = None
    orig = getattr(err, "orig", None)
    if orig is not None and getattr(orig, "args", None) and isinstance(orig.args[0], int):
        code = orig.args[0]
    if "password authentication failed" in low or code == 1045 or "access denied" in low:
        msg = f"Authentication failed for user '{url.username}' on {what}: check the user name and password"
    elif ("database" in low and "does not exist" in low) or code == 1049 or "unknown database" in low:
        msg = f"The {what} does not exist: create it, or check the database name in the URL"
    elif "role" in low and "does not exist" in low:
        msg = f"User '{url.username}' does not exist on {what}: check the user name in the URL"
    elif "no password supplied" in low or "fe_sendauth" in low:
        msg = f"{what} asks for a password for user '{url.username}': add it to the URL (user:password@host)"
    elif (
        code in {2002, 2003, 2005, 2006, 2013}
        or "connection refused" in low
        or "could not connect" in low
        or "timeout" in low
        or "timed out" in low
        or "could not translate host name" in low
        or "name or service not known" in low
        or "connection failed" in low
        or "can't connect" in low
    ):
        msg = f"Cannot reach the server of the {what}: is it running, and are host and port right?"
    elif "unable to open database file" in low:
        msg = f"Cannot open the {what}: check the path and its permissions"
    else:
        first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
        msg = f"Cannot connect to the {what}: {first}"
    return ConnectionFailed(msg)


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
        try:
            if read_only:
                conn = dialects.begin_read_only(conn)
            yield conn
        finally:
            conn.close()
    finally:
        engine.dispose()
