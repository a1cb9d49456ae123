"""Shared fixtures: throwaway databases on the real servers, and the real datasets.

Servers: PostgreSQL and MariaDB/MySQL at the URLs in RELSYNTH_TEST_PG / RELSYNTH_TEST_MYSQL
(defaults: postgres@127.0.0.1:5432 with trust auth, root@127.0.0.1:3306 without password).
Every test database is created for this run and dropped after it. When a server cannot be
reached the test fails under CI=true and is skipped otherwise.
Datasets: ../shared/datasets (or RELSYNTH_DATASETS); skipped when absent, except under CI=true.
"""

from __future__ import annotations

import itertools
import os
import queue
import shutil
import subprocess
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, settings

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("RELSYNTH_DATASETS", ROOT.parent / "shared" / "datasets"))
PG_ADMIN = os.environ.get("RELSYNTH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MYSQL_ADMIN = os.environ.get("RELSYNTH_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Hypothesis: in CI the same examples every run (derandomize), a fixed budget, deadlines with room
# for a loaded machine, and no shrinking (which can take minutes on a slow property). The failing
# example is printed with its reproduce_failure blob; shrink it locally under the "dev" profile.
# A test's own @settings (max_examples, deadline) still wins. HYPOTHESIS_PROFILE picks one by hand.
# Both start from Hypothesis' own defaults, whatever CI variables it detects itself.
_defaults = settings.get_profile("default")
settings.register_profile("dev", _defaults, deadline=timedelta(seconds=2), print_blob=True)
settings.register_profile(
    "ci",
    _defaults,
    derandomize=True,
    database=None,
    max_examples=50,
    deadline=timedelta(seconds=5),
    print_blob=True,
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target),
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if IN_CI else "dev"))
RUN_TOKEN = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
_counter = itertools.count()


def unavailable(message: str) -> None:
    """Fail in CI (the servers must be there), skip on a developer's machine."""
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _admin_engine(url: str):
    import sqlalchemy as sa

    return sa.create_engine(url, isolation_level="AUTOCOMMIT")


def _server(url: str, what: str, env: str) -> str:
    import sqlalchemy as sa

    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as err:  # any driver failure means: no server for these tests
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        unavailable(
            f"{what} at {sa.make_url(url).render_as_string(hide_password=True)} is not reachable "
            f"({first}); start it (docker compose up -d) or point {env} at one"
        )
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def pg_server() -> str:
    return _server(PG_ADMIN, "PostgreSQL", "RELSYNTH_TEST_PG")


@pytest.fixture(scope="session")
def mysql_server() -> str:
    return _server(MYSQL_ADMIN, "MariaDB/MySQL", "RELSYNTH_TEST_MYSQL")


def new_db_name(prefix: str = "rs_test") -> str:
    return f"{prefix}_{RUN_TOKEN}_{next(_counter)}"


def create_database(admin_url: str, name: str) -> str:
    """CREATE DATABASE name on the admin URL's server; returns the new database's URL."""
    import sqlalchemy as sa

    engine = _admin_engine(admin_url)
    try:
        with engine.connect() as conn:
            quoted = conn.dialect.identifier_preparer.quote(name)
            conn.exec_driver_sql(f"CREATE DATABASE {quoted}")
    finally:
        engine.dispose()
    return sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    engine = _admin_engine(admin_url)
    try:
        with engine.connect() as conn:
            quoted = conn.dialect.identifier_preparer.quote(name)
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
            else:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted}")
    finally:
        engine.dispose()


# A test's databases are dropped by a thread of the worker's own, not in the test's teardown:
# PostgreSQL's DROP DATABASE waits for a checkpoint (0.3 to 7 s on a busy machine), which the
# next test need not wait for. The session waits for the thread before it ends.
_to_drop: queue.Queue[tuple[Callable[..., None], tuple[str, ...]] | None] = queue.Queue()
_dropper: list[threading.Thread] = []


def _drop_queued() -> None:
    while (item := _to_drop.get()) is not None:
        what, args = item
        try:
            what(*args)
        except Exception as err:  # a database left behind is no test's failure; say it at the end
            warnings.warn(f"{what.__name__}{args[1:]} failed: {type(err).__name__}", stacklevel=1)


def later(what: Callable[..., None], *args: str) -> None:
    """Run what(*args) on the dropping thread, after the drops queued before it (a role after
    the databases that hold its grants)."""
    if not _dropper:
        _dropper.append(threading.Thread(target=_drop_queued, name="drop-test-databases", daemon=True))
        _dropper[0].start()
    _to_drop.put((what, args))


def drop_later(admin_url: str, name: str) -> None:
    later(drop_database, admin_url, name)


@pytest.fixture(scope="session", autouse=True)
def _drop_at_the_end() -> Iterator[None]:
    yield
    if _dropper:
        _to_drop.put(None)
        _dropper[0].join()


@pytest.fixture
def pg_db(pg_server: str) -> Iterator[Callable[[], str]]:
    """Factory: each call creates a fresh PostgreSQL database (dropped after the test)."""
    made: list[str] = []

    def make() -> str:
        name = new_db_name()
        made.append(name)
        return create_database(pg_server, name)

    yield make
    for name in made:
        drop_later(pg_server, name)


@pytest.fixture
def mysql_db(mysql_server: str) -> Iterator[Callable[[], str]]:
    made: list[str] = []

    def make() -> str:
        name = new_db_name()
        made.append(name)
        return create_database(mysql_server, name)

    yield make
    for name in made:
        drop_later(mysql_server, name)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Callable[[], str]:
    paths = (tmp_path / f"db{i}.sqlite" for i in itertools.count())
    return lambda: f"sqlite:///{next(paths)}"


# The three databases a test runs on, as the *_db fixtures' prefixes (sqlite_db, pg_db, mysql_db).
EVERY_DATABASE = [
    pytest.param("sqlite"),
    pytest.param("pg", marks=pytest.mark.postgresql),
    pytest.param("mysql", marks=pytest.mark.mysql),
]


def table_names(url: str) -> set[str]:
    """The tables a database holds, read from its catalog."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def scalar(url: str, sql: str) -> Any:
    """The one value a query returns."""
    rows = fetch(url, sql)
    return rows[0][0] if rows else None


def fetch(url: str, sql: str) -> list[tuple[Any, ...]]:
    """The rows a query returns."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def run_raw(url: str, *statements: str) -> None:
    """Run statements through the driver without parameters: a '%' or a backslash stays as written."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            for stmt in statements:
                cur.execute(stmt)
            raw.commit()
        finally:
            raw.close()
    finally:
        engine.dispose()


def run_sql(url: str, script: str) -> None:
    """Run a DDL/DML script (statements separated by ';' at line ends) on a test database."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.connection.executescript(script)
                return
            for stmt in _statements(script):
                conn.exec_driver_sql(stmt)
    finally:
        engine.dispose()


def _statements(script: str) -> list[str]:
    out, buf = [], []
    for line in script.splitlines():
        buf.append(line)
        if line.rstrip().endswith(";"):
            stmt = "\n".join(buf).strip().rstrip(";")
            if stmt:
                out.append(stmt)
            buf = []
    rest = "\n".join(buf).strip()
    if rest:
        out.append(rest)
    return out


# -- real datasets ------------------------------------------------------------------------------
def datasets_dir() -> Path:
    if not (DATASETS / "load").exists():
        message = f"the real datasets are not at {DATASETS} (set RELSYNTH_DATASETS)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return DATASETS


def load_pg_dataset(admin_url: str, name: str) -> tuple[str, str]:
    """Load a dataset into a new PostgreSQL database with ../shared/datasets/load; (url, dbname)."""
    import sqlalchemy as sa

    folder = datasets_dir()
    if shutil.which("psql") is None:
        unavailable(
            "psql (the PostgreSQL client) is needed to load the datasets: apt install postgresql-client"
        )
    db = new_db_name(f"rs_ds_{name[:8]}")
    u = sa.make_url(admin_url)
    env = {
        **os.environ,
        "PGHOST": u.host or "127.0.0.1",
        "PGPORT": str(u.port or 5432),
        "PGUSER": u.username or "postgres",
    }
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    subprocess.run([str(folder / "load"), name, db], check=True, env=env, capture_output=True)
    return u.set(database=db).render_as_string(hide_password=False), db


def load_mysql_chinook(admin_url: str) -> tuple[str, str]:
    """Chinook's MySQL script into a new MariaDB database (the loader's documented sed recipe)."""
    import sqlalchemy as sa

    folder = datasets_dir()
    client = shutil.which("mariadb") or shutil.which("mysql")
    if client is None:
        unavailable("the mariadb (or mysql) client is needed to load Chinook: apt install mariadb-client")
    db = new_db_name("rs_ds_chinook")
    u = sa.make_url(admin_url)
    script = (folder / "chinook" / "Chinook_MySql.sql").read_text(encoding="utf-8")
    script = script.replace("`Chinook`", f"`{db}`")
    args = [client, f"-h{u.host or '127.0.0.1'}", f"-P{u.port or 3306}", f"-u{u.username or 'root'}"]
    env = {**os.environ}
    if u.password:
        env["MYSQL_PWD"] = str(u.password)
    subprocess.run(args, input=script.encode(), check=True, env=env, capture_output=True)
    return u.set(database=db).render_as_string(hide_password=False), db


@pytest.fixture(scope="session")
def pg_datasets(request: pytest.FixtureRequest) -> Iterator[Callable[[str], str]]:
    """Session-wide: each dataset loaded once into PostgreSQL, all dropped at the end."""
    admin = request.getfixturevalue("pg_server")
    loaded: dict[str, tuple[str, str]] = {}

    def get(name: str) -> str:
        if name not in loaded:
            loaded[name] = load_pg_dataset(admin, name)
        return loaded[name][0]

    yield get
    for _, db in loaded.values():
        drop_database(admin, db)


@pytest.fixture(scope="session")
def mysql_chinook(request: pytest.FixtureRequest) -> Iterator[str]:
    admin = request.getfixturevalue("mysql_server")
    url, db = load_mysql_chinook(admin)
    yield url
    drop_database(admin, db)


@pytest.fixture(scope="session")
def sqlite_chinook(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A copy of the ready Chinook SQLite file (the original is read-only and shared)."""
    src = datasets_dir() / "chinook" / "Chinook_Sqlite.sqlite"
    dst = tmp_path_factory.mktemp("chinook") / "Chinook.sqlite"
    shutil.copyfile(src, dst)
    return f"sqlite:///{dst}"


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    from relsynth.demos import hospital

    path = tmp_path_factory.mktemp("demo") / "hospital.db"
    hospital.build(path)
    return f"sqlite:///{path}"


def model_contents(model: Any, path: Path) -> tuple[str, Any]:
    """A model saved to ``path``: its model.json as text and every number of its arrays.npz, to
    look for source values in both."""
    import io
    import zipfile

    import numpy as np

    model.save(path)
    with zipfile.ZipFile(path) as z:
        text = z.read("model.json").decode()
        with np.load(io.BytesIO(z.read("arrays.npz"))) as arrays:
            numbers = [
                np.ravel(arrays[k]).astype(float) for k in arrays.files if arrays[k].dtype.kind in "fiu"
            ]
    return text, np.concatenate(numbers) if numbers else np.zeros(0)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 10 roots, so that a few hundred rows make many batches."""
    from relsynth import api
    from relsynth.model import batches

    monkeypatch.setattr(batches, "MIN_BATCH_ROOTS", 10)
    monkeypatch.setattr(api, "MIN_SAMPLE_ROOTS", 10)


@pytest.fixture(scope="session")
def apart_shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Any]:
    """tests/shop.py on SQLite and its model (seed 2)."""
    import relsynth
    from tests import shop

    url = f"sqlite:///{tmp_path_factory.mktemp('apart') / 'shop.sqlite'}"
    run_sql(url, shop.SCHEMA + shop.rows())
    return url, relsynth.fit(url, seed=2)


def pg_admin(sql: str) -> None:
    """One statement on the PostgreSQL server's admin database, outside a transaction (roles)."""
    import sqlalchemy as sa

    engine = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


@pytest.fixture
def role(pg_server: str) -> Iterator[str]:
    """A throwaway PostgreSQL login role (no superuser, no BYPASSRLS), dropped after."""
    name = f"rs_role_{uuid.uuid4().hex[:10]}"
    pg_admin(f"CREATE ROLE {name} LOGIN")
    yield name
    later(drop_pg_role, name)  # on the thread that drops the databases holding its grants


def drop_pg_role(name: str) -> None:
    """A test role, with what it holds in the databases not dropped yet (drop_later): run on the
    dropping thread (later), so no database is dropped while this reads or connects to it."""
    import sqlalchemy as sa

    pg_admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{name}'")
    engine = sa.create_engine(PG_ADMIN)
    try:
        with engine.connect() as conn:
            held = conn.exec_driver_sql(
                "SELECT DISTINCT d.datname FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid "
                "JOIN pg_roles r ON r.oid = s.refobjid WHERE r.rolname = %(n)s",
                {"n": name},
            ).all()
    finally:
        engine.dispose()
    for (database,) in held:
        url = sa.make_url(PG_ADMIN).set(database=database).render_as_string(hide_password=False)
        run_sql(url, f'DROP OWNED BY "{name}"')
    pg_admin(f'DROP ROLE IF EXISTS "{name}"')


def as_user(url: str, user: str) -> str:
    """The same database's URL for another user."""
    import sqlalchemy as sa

    return sa.make_url(url).set(username=user).render_as_string(hide_password=False)
