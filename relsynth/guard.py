"""What keeps relsynth from harming a database, checked before any data is read.

- **Which database is which** comes from what the server says about itself (PostgreSQL's
  ``system_identifier``, MySQL's ``server_uuid``, MariaDB's ``server_uid``, a SQLite file's device and
  inode), never from how a URL is spelled: ``localhost`` and ``127.0.0.1``, another user, a symlink or
  a hard link all name the same database, and relsynth refuses to write into its own source.
- **One run per target**: a lock held for the whole run on a connection of its own (PostgreSQL
  advisory lock, MySQL/MariaDB ``GET_LOCK``, ``flock`` on a SQLite file). A second run is told, in one
  line, that another run is writing there.
- **Nothing is dropped or emptied that something else depends on, or that would take something
  with it**: other tables' foreign keys and views, and a replaced table's own triggers, rules,
  policies, grants, ... are listed and the run refused, before any work.
- **Only what relsynth created is ever dropped**: MySQL/MariaDB staging tables are recorded in a
  bookkeeping table (``_relsynth_staging``) before they exist; a later run drops only what is recorded
  there under a name relsynth would have given, and never runs SQL read from it.
- **Where it writes is where it checked**: PostgreSQL names are qualified with the schema resolved
  here, SQLite files opened by their real path.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relsynth import dialects
from relsynth.errors import RelsynthError

if TYPE_CHECKING:
    import sqlalchemy as sa

log = logging.getLogger("relsynth")
BOOKKEEPING = "_relsynth_staging"  # MySQL/MariaDB: the tables relsynth created and may drop
_SYSTEM_SCHEMAS = {"pg_catalog", "information_schema"}
STAGING_PREFIX = "_rs"  # MySQL staging tables: _rs<run>_<n>, and _rsold<run>_<n> for swapped-out ones


class TargetBusy(RelsynthError):
    """Another relsynth run is writing into the same target."""


class SameDatabase(RelsynthError):
    """The target is the source: relsynth never writes into what it reads."""


@dataclass(frozen=True)
class Identity:
    """A database as its server identifies it: same identity, same data, however the URL is spelled."""

    kind: str
    server: str
    database: str
    schema: str | None = None
    schemas: tuple[str, ...] = ()  # a run over several schemas (MySQL/MariaDB: databases) at once
    # Other schemas (MySQL/MariaDB: databases) the source's foreign keys point into: its data
    # lives there too (a lookup table in schema ref), so no target may be there either.
    beside: tuple[str, ...] = ()
    # Other schemas (MySQL/MariaDB: databases) the source's views, triggers, routines and events
    # name, each with the first such object ("view v_orders"): written there, the target would
    # change what the source's view returns, or where its trigger writes (dialects.code_places).
    named: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["schemas"] = list(self.schemas)
        out["named"] = [list(pair) for pair in self.named]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Identity | None:
        if not data or not {"kind", "server", "database"} <= set(data):
            return None
        schemas = tuple(str(s) for s in data.get("schemas") or ())
        beside = tuple(str(s) for s in data.get("beside") or ())
        named = tuple(
            (str(p[0]), str(p[1]))
            for p in data.get("named") or ()
            if isinstance(p, list | tuple) and len(p) == 2
        )
        return cls(
            data["kind"],
            str(data["server"]),
            str(data["database"]),
            data.get("schema"),
            schemas,
            beside,
            named,
        )

    def places(self) -> set[tuple[str, str | None]]:
        """(database, schema) pairs this identity covers: a MySQL/MariaDB schema is a database."""
        if self.kind == "mysql":
            return {(d, None) for d in (self.schemas or (self.database,))}
        return {(self.database, s) for s in (self.schemas or (self.schema,))}

    def beside_of(self, source: Identity | None) -> bool:
        """A place (schema, or database) the source's foreign keys point into."""
        if source is None or self.kind != source.kind or not source.beside or self.server != source.server:
            return False
        if self.kind == "mysql":
            return bool(self.places() & {(d, None) for d in source.beside})
        return bool(self.places() & {(source.database, s) for s in source.beside})

    def named_by(self, source: Identity | None) -> tuple[str, str] | None:
        """(place, what): a place (schema, or database) this identity covers that one of the
        source's views, triggers, routines or events names ("view v_orders"); else None."""
        if source is None or self.kind != source.kind or not source.named or self.server != source.server:
            return None
        if self.kind == "mysql":
            mine = {d.lower(): d for d, _ in self.places()}
        else:
            mine = {s.lower(): s for d, s in self.places() if s and d == source.database}
        anywhere = next((what for p, what in source.named if p == dialects.ANY_SCHEMA), None)
        if anywhere is not None and mine:  # an event trigger of the database: every schema of it
            return next(iter(mine.values())), anywhere
        return next(((mine[p], what) for p, what in source.named if p in mine), None)

    def same_as(self, other: Identity | None) -> bool:
        """The same data, or (several schemas at once) any schema in common."""
        if other is None or self.kind != other.kind:
            return False
        if self.kind == "sqlite":
            return (bool(self.server) and self.server == other.server) or self.database == other.database
        return self.server == other.server and bool(self.places() & other.places())


def sqlite_identity(path: str | None) -> Identity:
    """A SQLite file by its device and inode (a hard link is the same file), else by its real path."""
    if not path or path == ":memory:" or path.startswith("file::memory:"):
        return Identity("sqlite", "", f":memory:{os.urandom(8).hex()}")  # equal to nothing else
    if path.startswith("file:"):
        path = path[5:].split("?", 1)[0]
    real = os.path.realpath(Path(path).expanduser())
    try:
        st = os.stat(real)
        server = f"{st.st_dev}:{st.st_ino}"
    except OSError:
        server = ""
    return Identity("sqlite", server, real)


def _canonical_sqlite(url: sa.URL) -> sa.URL:
    """The file by its real path, for the check, the lock and the writes alike: SQLite resolves '..'
    as text, the kernel after symlinks, so 'linkdir/../x.db' could otherwise be two different files."""
    path = url.database or ""
    if not path or path == ":memory:" or path.startswith("file::memory:"):
        return url
    if path.startswith("file:"):
        file, sep, query = path[5:].partition("?")
        return url.set(database=f"file:{os.path.realpath(Path(file).expanduser())}{sep}{query}")
    return url.set(database=os.path.realpath(Path(path).expanduser()))


def identity(conn: sa.Connection, schema: str | Sequence[str] | None = None) -> Identity:
    """Ask the server who it is (read-only queries, no privileges beyond connecting). Several
    schemas (a run over all of them) are all part of the identity."""
    import sqlalchemy as sa

    if schema is not None and not isinstance(schema, str):
        many = tuple(dict.fromkeys(schema))
        one = identity(conn, many[0] if many else None)
        return replace(one, schemas=many) if len(many) > 1 else one
    kind = dialects.family(conn)
    if kind == "sqlite":
        return sqlite_identity(conn.engine.url.database)
    if kind == "postgresql":
        allowed = conn.execute(
            sa.text("SELECT has_function_privilege('pg_control_system()', 'EXECUTE')")
        ).scalar()
        server = None
        if allowed:
            server = conn.execute(sa.text("SELECT system_identifier FROM pg_control_system()")).scalar()
        if server is None:  # a managed service may hide it: the address and start time of the server
            server = conn.execute(
                sa.text(
                    "SELECT COALESCE(host(inet_server_addr()), 'socket') || ':' || "
                    "COALESCE(inet_server_port(), 0) || '@' || pg_postmaster_start_time()"
                )
            ).scalar()
        database, current = conn.execute(sa.text("SELECT current_database(), current_schema()")).one()
        return Identity(kind, str(server), str(database), schema or current)
    if kind == "mysql":
        version = str(conn.execute(sa.text("SELECT VERSION()")).scalar() or "")
        variable = "@@server_uid" if "mariadb" in version.lower() else "@@server_uuid"
        server = conn.exec_driver_sql(f"SELECT {variable}").scalar()  # a fixed name, no user input
        if not server:
            server = conn.execute(sa.text("SELECT CONCAT(@@hostname, ':', @@port, ':', @@datadir)")).scalar()
        database = schema or conn.execute(sa.text("SELECT DATABASE()")).scalar()
        return Identity(kind, str(server), str(database or ""))
    url = conn.engine.url
    return Identity(kind, f"{url.host}:{url.port}", str(url.database), schema)


def refuse_same(source: Identity | None, target: Identity, described: str) -> None:
    """The one check with no override: the target must not be the source."""
    if source is not None and target.same_as(source):
        shared = sorted(str(s or d) for d, s in target.places() & source.places())
        where = f", schema {target.schema}" if target.schema and not target.schemas else ""
        where += f", schemas {', '.join(shared)}," if target.schemas or source.schemas else ""
        raise SameDatabase(
            f"The target {described}{where} is the source database itself (as "
            + ("the file system" if target.kind == "sqlite" else "the server")
            + " says, whatever the URL): relsynth never writes into its source; choose another target"
        )
    if source is not None and target.beside_of(source):
        where = "database" if target.kind == "mysql" else "schema"
        named = target.database if target.kind == "mysql" else target.schema
        raise SameDatabase(
            f"The target {described} ({where} {named}) is a {where} the source's foreign keys point "
            f"into (its data lives there too): relsynth never writes beside its source's tables; "
            f"choose another {where}"
        )
    hit = target.named_by(source) if source is not None else None
    if hit is not None and hit[1].startswith("event trigger"):
        raise SameDatabase(
            f"The target {described} (schema {hit[0]}) is in the source's database, whose {hit[1]} "
            "fires on the tables relsynth would create in any of its schemas (and may write into the "
            "source): write into another database, or disable that event trigger first"
        )
    if hit is not None and hit[1].startswith("search_path"):
        raise SameDatabase(
            f"The target {described} (schema {hit[0]}) is a schema the source database's {hit[1]} "
            "reaches: a trigger or function of the source naming a table without its schema would "
            "find the target's there; write into another database or another schema"
        )
    if hit is not None and hit[1].startswith(dialects.KIN):
        raise SameDatabase(
            f"The target {described} (schema {hit[0]}) holds the source's {hit[1]} (table inheritance "
            "or partitioning: the source table's rows include the child's): writing there, with or "
            "without --replace or --into-existing, would change the source; choose another schema"
        )
    if hit is not None:
        where = "database" if target.kind == "mysql" else "schema"
        raise SameDatabase(
            f"The target {described} ({where} {hit[0]}) is a {where} the source's {hit[1]} reads or "
            f"writes: tables written there would change what it returns or does, so relsynth never "
            f"writes there (with or without --replace); choose another {where}, or change that "
            f"{hit[1].split(' ', 1)[0]} in the source first"
        )


# -- one run per target ---------------------------------------------------------------------------
def _lock_name(ident: Identity) -> str:
    digest = hashlib.sha256(f"{ident.database}\0{ident.schema or ''}".encode()).hexdigest()
    return f"relsynth:{digest[:40]}"  # MySQL lock names are at most 64 characters


def _lock_names(ident: Identity) -> list[str]:
    """One lock per schema written (per database on MySQL/MariaDB), so a run over several schemas
    and a run into one of them exclude each other."""
    if not ident.schemas:
        return [_lock_name(ident)]
    if ident.kind == "mysql":
        return sorted(_lock_name(replace(ident, database=d, schema=None, schemas=())) for d in ident.schemas)
    return sorted(_lock_name(replace(ident, schema=s, schemas=())) for s in ident.schemas)


class TargetLock:
    """Held from the first check to the last write, on a connection of its own.

    A SQLite target that does not exist yet is created empty here (so it can be locked) and removed
    by :meth:`discard` if the run fails.
    """

    def __init__(self, engine: sa.Engine, ident: Identity, described: str) -> None:
        self.engine, self.ident, self.described = engine, ident, described
        self.created_file: Path | None = None
        self._conn: sa.Connection | None = None
        self._fd: int | None = None

    def acquire(self) -> TargetLock:
        import sqlalchemy as sa

        busy = TargetBusy(
            f"Another relsynth run is writing into the {self.described}; wait for it to finish, "
            "or choose another target"
        )
        kind = self.ident.kind
        if kind == "sqlite":
            self._lock_file(busy)
            return self
        if kind not in {"postgresql", "mysql"}:
            return self
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        for name in _lock_names(self.ident):
            if kind == "postgresql":
                key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
                got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            else:
                got = conn.execute(sa.text("SELECT GET_LOCK(:n, 0)"), {"n": name}).scalar()
            if not got:
                conn.invalidate()  # ends the session, and with it the locks already taken
                conn.close()
                raise busy
        self._conn = conn
        return self

    def _lock_file(self, busy: TargetBusy) -> None:
        import fcntl

        path = Path(self.ident.database)
        if self.ident.database.startswith(":memory:"):
            return
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            self.created_file = path
        except FileExistsError:
            fd = os.open(path, os.O_RDWR)
        except OSError as err:
            raise RelsynthError(
                f"Cannot create the {self.described}: {err.strerror}; check the path and its permissions"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise busy from None
        self._fd = fd

    def discard(self) -> None:
        """After a failed run: remove the SQLite file this run created (while still holding it)."""
        if self.created_file is not None:
            self.created_file.unlink(missing_ok=True)
            for suffix in ("-journal", "-wal", "-shm"):
                Path(f"{self.created_file}{suffix}").unlink(missing_ok=True)

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()  # closing the session releases its locks
            except Exception:  # a dead connection holds nothing
                log.debug("closing the lock connection failed", exc_info=True)
            self._conn = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


# -- what --replace would break -------------------------------------------------------------------
def _partitions(conn: sa.Connection, schema: str | None, tables: set[str]) -> set[str]:
    """The partitions (and their partitions) of ``tables`` in the PostgreSQL target's ``schema``."""
    import sqlalchemy as sa

    rows = conn.execute(
        sa.text(
            "SELECT p.relname, c.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = p.relnamespace "
            "JOIN pg_namespace cn ON cn.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND cn.nspname = :schema"
        ),
        {"schema": schema},
    ).all()
    found: set[str] = set()
    parents = set(tables)
    while True:
        more = {child for parent, child in rows if parent in parents} - found - set(tables)
        if not more:
            return found
        found |= more
        parents = more


def dependents(
    conn: sa.Connection,
    names: list[str],
    schema: str | None,
    *,
    dropping: bool,
    views: set[str],
    written: frozenset[tuple[str, str]] = frozenset(),
) -> list[str]:
    """Objects outside ``names`` that depend on them: other tables' foreign keys, and (when the tables
    are dropped) views other than those relsynth recreates. ``written``: the (schema, name) of every
    table and view of a several-schema run, which are relsynth's own in whichever schema."""
    import sqlalchemy as sa

    kind = dialects.family(conn)
    wanted = set(names)
    out: list[str] = []
    if kind == "postgresql":
        schema = schema or conn.execute(sa.text("SELECT current_schema()")).scalar()
        wanted |= _partitions(conn, schema, wanted)  # dropped with their table: a view on one is refused now
        rows = conn.execute(
            sa.text(
                "SELECT sn.nspname, s.relname, con.conname, d.relname FROM pg_constraint con "
                "JOIN pg_class s ON s.oid = con.conrelid JOIN pg_namespace sn ON sn.oid = s.relnamespace "
                "JOIN pg_class d ON d.oid = con.confrelid JOIN pg_namespace dn ON dn.oid = d.relnamespace "
                "WHERE con.contype = 'f' AND dn.nspname = :schema AND con.conparentid = 0"
            ),
            {"schema": schema},
        ).all()
        for s_schema, s_table, fk, d_table in rows:
            theirs = (s_table not in wanted or s_schema != schema) and (s_schema, s_table) not in written
            if d_table in wanted and theirs:
                out.append(f"foreign key {fk} of table {_qual(s_schema, s_table, schema)} -> {d_table}")
        if dropping:
            rows = conn.execute(
                sa.text(
                    "SELECT DISTINCT vn.nspname, v.relname, t.relname FROM pg_depend d "
                    "JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class "
                    "JOIN pg_namespace vn ON vn.oid = v.relnamespace "
                    "JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace "
                    "WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass "
                    "AND tn.nspname = :schema AND v.oid <> t.oid"
                ),
                {"schema": schema},
            ).all()
            for v_schema, view, table in rows:
                ours = (v_schema == schema and (view in views or view in wanted)) or (
                    v_schema,
                    view,
                ) in written
                if table in wanted and not ours:
                    out.append(f"view {_qual(v_schema, view, schema)} (uses {table})")

    elif kind == "mysql":
        own = schema or conn.execute(sa.text("SELECT DATABASE()")).scalar()
        rows = conn.execute(
            sa.text(
                "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, REFERENCED_TABLE_NAME "
                "FROM information_schema.REFERENTIAL_CONSTRAINTS "
                "WHERE UNIQUE_CONSTRAINT_SCHEMA = :schema"
            ),
            {"schema": own},
        ).all()
        for s_schema, s_table, fk, d_table in rows:
            theirs = (s_table not in wanted or s_schema != own) and (s_schema, s_table) not in written
            if d_table in wanted and theirs:
                out.append(f"foreign key {fk} of table {_qual(s_schema, s_table, own)} -> {d_table}")
    elif kind == "sqlite":
        others = [t for t in sa.inspect(conn).get_table_names() if t not in wanted]
        for table in others:
            for (ref,) in conn.execute(
                sa.text('SELECT DISTINCT "table" FROM pragma_foreign_key_list(:t)'), {"t": table}
            ):
                if ref in wanted:
                    out.append(f"a foreign key of table {table} -> {ref}")
    return sorted(set(out))


_PG_ATTACHED = {
    # what dropping a table takes with it, that relsynth does not recreate from the source
    "rule {1} on {0}": "SELECT tablename, rulename FROM pg_rules WHERE schemaname = :schema",
    "grants on table {0}": (
        "SELECT c.relname, '' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :schema AND c.relacl IS NOT NULL AND c.relacl <> acldefault('r', c.relowner)"
    ),
    "grants on column {0}.{1}": (
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :schema AND a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL"
    ),
    "owner {1} of {0}": (
        "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') AND c.relowner <> "
        "(SELECT oid FROM pg_roles WHERE rolname = current_user)"
    ),
    "publication {1} of {0}": (
        "SELECT tablename, pubname FROM pg_publication_tables WHERE schemaname = :schema"
    ),
    "extended statistics {1} on {0}": (
        "SELECT c.relname, s.stxname FROM pg_statistic_ext s JOIN pg_class c ON c.oid = s.stxrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema"
    ),
}


# ... and what relsynth recreates from the source, so lost only where the source's table has none of
# that name: an index, a CHECK or a policy a DBA added to the target's table, or a comment it wrote
# there; row-level security the source's table does not have.
_PG_OWN = {
    "index {1} on {0}": (
        "SELECT c.relname, i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :schema AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid)"
    ),
    "CHECK {1} on {0}": (
        "SELECT c.relname, k.conname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema AND k.contype = 'c'"
    ),
    "row-level policy {1} on {0}": (
        "SELECT c.relname, p.polname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema"
    ),
    "row-level security enabled on {0}": (
        "SELECT c.relname, '' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :schema AND (c.relrowsecurity OR c.relforcerowsecurity)"
    ),
    "comment on {0}": (
        "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :schema AND obj_description(c.oid, 'pg_class') IS NOT NULL"
    ),
}


# ... and on the partitions of those tables, dropped with them: what a DBA put on one partition
# (what partitioning cloned from the partitioned table is recreated with it).
_PG_PARTS = (
    "WITH RECURSIVE parts(oid, relname) AS ("
    "SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = :schema AND c.relname = ANY(:names) "
    "UNION SELECT i.inhrelid, k.relname FROM pg_inherits i JOIN parts p ON i.inhparent = p.oid "
    "JOIN pg_class k ON k.oid = i.inhrelid WHERE k.relispartition) "
)
_PG_ON_PARTITIONS = {
    "trigger {1} on partition {0}": (
        "SELECT p.relname, t.tgname FROM pg_trigger t JOIN parts p ON p.oid = t.tgrelid "
        "JOIN pg_class c ON c.oid = p.oid WHERE c.relispartition AND NOT t.tgisinternal AND t.tgparentid = 0"
    ),
    "CHECK {1} on partition {0}": (
        "SELECT p.relname, k.conname FROM pg_constraint k JOIN parts p ON p.oid = k.conrelid "
        "JOIN pg_class c ON c.oid = p.oid WHERE c.relispartition AND k.contype = 'c' AND k.conislocal"
    ),
    "index {1} on partition {0}": (
        "SELECT p.relname, i.relname FROM pg_index x JOIN parts p ON p.oid = x.indrelid "
        "JOIN pg_class c ON c.oid = p.oid JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE c.relispartition AND NOT i.relispartition AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid)"
    ),
    "grants on partition {0}": (
        "SELECT p.relname, '' FROM parts p JOIN pg_class c ON c.oid = p.oid "
        "WHERE c.relispartition AND c.relacl IS NOT NULL AND c.relacl <> acldefault('r', c.relowner)"
    ),
    "comment on partition {0}": (
        "SELECT p.relname, '' FROM parts p JOIN pg_class c ON c.oid = p.oid "
        "WHERE c.relispartition AND obj_description(c.oid, 'pg_class') IS NOT NULL"
    ),
}


def _the_sources(source: Any, table: str, template: str, detail: str) -> bool:
    """The source's table has this index, CHECK, policy (by name), row-level security or comment (as
    it is): recreated."""
    if table not in source.table_names:
        return False
    t = source.table(table)
    if template.startswith("index"):
        return detail in {ix.name for ix in t.indexes} | {u.name for u in t.unique if u.name}
    if template.startswith("row-level policy"):  # PostgreSQL's, recreated from the source
        return detail in {p.name for p in t.policies}
    if template.startswith("row-level security"):
        return t.row_security is not None
    if template.startswith("CHECK"):  # an unnamed one is named by the target: not told apart
        return detail in {c.name for c in t.checks} or any(c.name is None for c in t.checks)
    return detail == t.comment


def lost_with_tables(conn: sa.Connection, names: list[str], schema: str | None, source: Any) -> list[str]:
    """What dropping the tables --replace rewrites would silently take with it: triggers relsynth
    does not recreate from the source, and on PostgreSQL rules, policies, grants, row-level security,
    another owner, publications, extended statistics, and indexes, CHECKs and a comment the source's
    table does not have (its own are recreated)."""
    import sqlalchemy as sa

    wanted = set(names)
    out: list[str] = []
    for table, items in dialects.triggers(conn, schema, names).items():
        theirs = {t.name for t in source.table(table).triggers} if table in source.table_names else set()
        out += [f"trigger {name} on {table}" for name, _, _ in items if name not in theirs]
    if dialects.family(conn) == "postgresql":
        schema = schema or conn.execute(sa.text("SELECT current_schema()")).scalar()
        for template, query in _PG_ATTACHED.items():
            for table, detail in conn.execute(sa.text(query), {"schema": schema}).all():
                if table in wanted:
                    out.append(template.format(table, detail))
        for template, query in _PG_OWN.items():
            for table, detail in conn.execute(sa.text(query), {"schema": schema}).all():
                if table in wanted and not _the_sources(source, table, template, detail):
                    out.append(template.format(table, detail))  # a comment's text is never shown
        for template, query in _PG_ON_PARTITIONS.items():
            found = conn.execute(sa.text(_PG_PARTS + query), {"schema": schema, "names": sorted(wanted)})
            out += [template.format(table, detail) for table, detail in found.all()]
    return sorted(set(out))


_PG_SEQUENCE_USERS = (
    # what else needs a sequence of the target that --replace would drop and recreate: a column
    # DEFAULT drawing from it, the column owning it (a serial's, an identity's), a view reading it
    "SELECT 'the DEFAULT of', tn.nspname, t.relname, a.attname FROM pg_depend d "
    "JOIN pg_attrdef ad ON ad.oid = d.objid JOIN pg_class t ON t.oid = ad.adrelid "
    "JOIN pg_namespace tn ON tn.oid = t.relnamespace "
    "JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum "
    "WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = :seq "
    "UNION ALL SELECT 'owned by', tn.nspname, t.relname, a.attname FROM pg_depend d "
    "JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace "
    "JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
    "WHERE d.classid = 'pg_class'::regclass AND d.objid = :seq AND d.refclassid = 'pg_class'::regclass "
    "AND d.deptype IN ('a', 'i') "
    "UNION ALL SELECT 'read by view', vn.nspname, v.relname, NULL FROM pg_depend d "
    "JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class "
    "JOIN pg_namespace vn ON vn.oid = v.relnamespace "
    "WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = :seq"
)


def sequence_clashes(
    conn: sa.Connection,
    wanted: dict[str, list[tuple[str, str]]],
    schema: str | None,
    *,
    replace: bool,
    dropped: set[str],
    described: str,
) -> list[str]:
    """PostgreSQL: the sequences relsynth creates by name (``wanted``: name -> the (table, column)s
    drawing from it) that the target's ``schema`` already holds. An earlier run's or another
    application's was reused and advanced in silence (attack round 45). Without --replace it is
    refused in one line; with it, it is dropped and recreated (writer.py), and what else needs it
    (another table's DEFAULT or column owning it, a view, another owner, grants) is returned, to be
    refused with the other dependents. ``dropped``: the tables and views --replace drops there."""
    import sqlalchemy as sa

    if not wanted:
        return []
    rows = conn.execute(
        sa.text(
            "SELECT c.oid, c.relname, c.relkind::text, c.relowner = (SELECT oid FROM pg_roles "
            "WHERE rolname = current_user), c.relacl IS NOT NULL AND c.relacl <> acldefault('s', c.relowner) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relname = ANY(:names) ORDER BY c.relname"
        ),
        {"schema": schema, "names": sorted(wanted)},
    ).all()
    out: list[str] = []
    dropped = dropped | _partitions(conn, schema, dropped)  # dropped with their table
    for oid, name, relkind, mine, granted in rows:
        table, column = wanted[name][0]
        why = f"the DEFAULT of {table}.{column} draws from"
        if relkind != "S":
            what = _PG_KINDS.get(relkind, {"r": "table", "p": "table", "v": "view", "m": "view"}.get(relkind))
            raise RelsynthError(
                f"The {described}, schema {schema}, has a {what or 'relation'} named {name}, the name of the "
                f"sequence {why}; rename or drop it, or write into another schema"
            )
        if not replace:
            raise RelsynthError(
                f"The {described}, schema {schema}, already has a sequence {name}, the name of the one {why} "
                "(relsynth creates it, and would not use or advance another's); drop it, pass --replace to "
                "drop and recreate it, or write into another schema"
            )
        if not mine:
            out.append(f"sequence {name} (owned by another role)")
        if granted:
            out.append(f"grants on sequence {name}")
        for how, where, user, col in conn.execute(sa.text(_PG_SEQUENCE_USERS), {"seq": oid}).all():
            if where != schema or user not in dropped:
                place_ = f"{_qual(where, user, schema)}" + (f".{col}" if col else "")
                out.append(f"sequence {name} ({how} {place_})")
    return out


def mariadb_sequence_clashes(
    conn: sa.Connection,
    wanted: dict[str, list[tuple[str, str]]],
    schema: str | None,
    *,
    replace: bool,
    dropped: set[str],
    described: str,
) -> list[str]:
    """MariaDB: sequence_clashes for the SEQUENCEs of the source that the target's database already
    holds (one was reused, and left past its MAXVALUE behind the keys written, in silence). With
    --replace, a table that is not replaced and whose DEFAULT draws from it is returned (MariaDB
    keeps no dependencies: dropping the sequence would reset that table's numbering)."""
    import sqlalchemy as sa

    if not wanted or dialects.family(conn) != "mysql":
        return []
    here = schema or conn.execute(sa.text("SELECT DATABASE()")).scalar()
    rows = conn.execute(
        sa.text("SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = :db"),
        {"db": here},
    ).all()
    out: list[str] = []
    for name, kind in sorted((str(n), str(k)) for n, k in rows if str(n) in wanted):
        table, column = wanted[name][0]
        why = f"the DEFAULT of {table}.{column} draws from"
        if kind != "SEQUENCE":
            raise RelsynthError(
                f"The {described} has a {kind.lower()} named {name}, the name of the sequence {why}; "
                "rename or drop it, or write into another database"
            )
        if not replace:
            raise RelsynthError(
                f"The {described} already has a sequence {name}, the name of the one {why} (relsynth "
                "creates it, and would not use or advance another's); drop it, pass --replace to drop "
                "and recreate it, or write into another database"
            )
        users = conn.execute(
            sa.text(
                "SELECT table_schema, table_name, column_name, column_default "
                "FROM information_schema.columns WHERE column_default LIKE 'nextval(%'"
            )
        ).all()
        for db, user, col, default in users:
            m = dialects.MARIADB_NEXTVAL.match(str(default or ""))
            if m is None or m.group(2).replace("``", "`") != name:
                continue
            if (m.group(1) or db).replace("``", "`") == here and not (db == here and user in dropped):
                out.append(f"sequence {name} (the DEFAULT of {_qual(db, user, here)}.{col})")
    return out


def _qual(schema: str | None, name: str, default: str | None) -> str:
    return name if schema == default else f"{schema}.{name}"


def refuse_dependents(found: list[str], described: str, *, dropping: bool) -> None:
    if not found:
        return
    shown = "; ".join(found[:10]) + (f"; and {len(found) - 10} more" if len(found) > 10 else "")
    hint = (
        "; --into-existing --replace empties the tables instead of dropping them, keeping their grants, "
        "policies and triggers"
        if dropping
        else ""
    )
    raise RelsynthError(
        f"--replace would break or lose objects in the {described} that belong to or depend on the "
        f"tables relsynth writes ({shown}); nothing was changed. Drop or move those objects, write "
        "into another database, "
        f"or exclude the tables they need{hint}"
    )


# -- the target, before any data is read ----------------------------------------------------------
class Target:
    """The database relsynth writes into: reached, identified, compared with the source and locked
    before the source's data is read, and released after the write (``with Target(...) as t``)."""

    def __init__(
        self,
        url: str | sa.URL,
        *,
        target_schema: str | None = None,
        source: Identity | None = None,
        schemas: Sequence[str] = (),
    ) -> None:
        """``schemas``: a run over several database schemas writes each table into the schema of the
        same name (PostgreSQL targets only); ``target_schema`` is then not allowed."""
        from relsynth.io import describe, parse_url

        self.url = parse_url(url)
        self.kind = dialects.family(self.url.get_backend_name())
        self.schemas = tuple(dict.fromkeys(schemas)) if len(set(schemas)) > 1 else ()
        if self.schemas:
            _refuse_several(self.kind, self.schemas, target_schema)
        if self.kind == "sqlite":
            path = self.url.database or ""
            memory = self.url.query.get("mode") == "memory" or "mode=memory" in path
            if path in {"", ":memory:"} or memory or path.startswith("file::memory:"):
                raise RelsynthError(
                    "An in-memory SQLite database is gone when relsynth exits: give the target a file "
                    "path (sqlite:///synthetic.db)"
                )
            self.url = _canonical_sqlite(self.url)
        refuse_target_schema(self.url, target_schema)
        self.target_schema = target_schema if self.kind == "postgresql" else None
        self.source = source
        self.described = describe(self.url)
        self.ident: Identity | None = None
        self.cleaned: list[str] = []
        self.schema_missing = False
        self.missing: set[str] = set()  # schemas to create with the tables, in their transaction
        self.lock: TargetLock | None = None
        self.committed = False  # written whole: a failure (an interrupt) after it discards nothing
        self._engine: sa.Engine | None = None

    def __enter__(self) -> Target:
        self.open()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close(failed=exc_type is not None)

    def open(self) -> Target:
        import sqlalchemy as sa

        from relsynth.io import connection_error, make_engine, option_refused

        engine = make_engine(self.url, must_exist=False)
        self._engine = engine
        if self.kind == "sqlite":
            self.ident = sqlite_identity(self.url.database)
            refuse_same(self.source, self.ident, self.described)
        else:
            try:
                with engine.connect() as conn:
                    self.ident = identity(conn, self.schemas or self.target_schema)
                    refuse_same(self.source, self.ident, self.described)
                    have = set(sa.inspect(conn).get_schema_names())
                    self.missing = {s for s in (*self.schemas, self.target_schema) if s and s not in have}
                    self.schema_missing = bool(self.missing)
            except sa.exc.DBAPIError as err:
                raise connection_error(self.url, err) from None
            except (ValueError, TypeError, AttributeError, LookupError, OSError) as err:
                raise option_refused(self.url, err) from None
        if self.kind == "postgresql" and len((self.target_schema or "").encode()) > 63:
            raise RelsynthError(
                f"--target-schema is {len(self.target_schema or '')} characters long; PostgreSQL names are "
                "at most 63 bytes"
            )
        if self.kind == "postgresql" and self.schemas:  # each table names its own schema
            for s in self.schemas:
                if len(s.encode()) > 63 or s.startswith(("pg_temp", "pg_toast")) or s in _SYSTEM_SCHEMAS:
                    raise RelsynthError(
                        f"Schema '{s[:70]}' of the {self.described} is not one relsynth may write into "
                        "(a system or temporary schema, or a name over 63 bytes)"
                    )
        elif self.kind == "postgresql":
            # Every name is qualified with the schema resolved here, so a search_path (in the URL's
            # options, or the role's) cannot send a DROP to another schema than the one checked.
            resolved = self.ident.schema
            if not resolved or resolved.startswith(("pg_temp", "pg_toast")) or resolved in _SYSTEM_SCHEMAS:
                how = f"--target-schema {resolved}" if self.target_schema else "The search_path"
                raise RelsynthError(
                    f"{how} of the {self.described} names no schema relsynth may write into "
                    f"({resolved or 'none'}: a system or temporary schema, or none); name another with "
                    "--target-schema"
                )
            self.target_schema = resolved
        self.lock = TargetLock(engine, self.ident, self.described).acquire()
        if self.kind == "mysql":  # under the lock: no other run is alive, so leftovers are a dead run's
            with engine.connect() as conn:
                self.cleaned = clean_up(conn)
        return self

    def connect(self) -> sa.Connection:
        assert self._engine is not None, "open() first"
        return self._engine.connect()

    def check(self, schema: Any, names: list[str], *, replace: bool, into_existing: bool) -> None:
        """Everything about the target that can be known without the source's data; a run over
        several schemas is checked in each of them, with the same promises."""
        if schema is not None:  # a case-blind target cannot hold 'Name' beside 'name'
            from relsynth.ddl import refuse_column_clashes

            refuse_column_clashes(schema, names, self.kind)
        missing = sorted(self.missing)
        if into_existing and self.schemas and self.kind == "mysql":
            raise RelsynthError(
                "--into-existing loads one MySQL/MariaDB database at a time (its triggers are dropped and "
                "recreated around the load); give one --schema per run, or leave out --into-existing"
            )
        if into_existing and missing:
            raise RelsynthError(
                f"--into-existing: schema '{missing[0]}' does not exist in the {self.described}; "
                "create the schema first (your migrations), or drop --into-existing"
            )
        found: list[str] = []
        made: dict[tuple[str | None, str], list[tuple[str, str]]] = {}
        if schema is not None and not into_existing:
            from relsynth.ddl import created_sequences

            made = created_sequences(schema, names, self.kind, self.target_schema)
        with self.connect() as conn:
            if not self.schemas:
                found = self._check_one(
                    conn, schema, names, replace, into_existing, self.target_schema, frozenset(), made
                )
            else:
                objects = [] if schema is None else [*schema.tables, *schema.views]
                written = frozenset((t.schema, t.local_name) for t in objects)
                for s in self.schemas:
                    part = None if schema is None else schema.part(s)
                    local = [t.local_name for t in (schema.table(n) for n in names) if t.schema == s]
                    here = self._check_one(conn, part, local, replace, into_existing, s, written, made)
                    found += [f"in schema {s}: {item}" for item in here]
        refuse_dependents(found, self.described, dropping=not into_existing)

    def _check_one(
        self,
        conn: sa.Connection,
        schema: Any,
        names: list[str],
        replace: bool,
        into_existing: bool,
        target_schema: str | None,
        written: frozenset[tuple[str, str]],
        made: dict[tuple[str | None, str], list[tuple[str, str]]],
    ) -> list[str]:
        """The checks of one schema; what depends on the tables to replace is returned (refused by
        the caller, once for every schema). ``made``: the sequences the run creates, by schema."""
        if into_existing:
            check_existing(conn, schema, names, replace, target_schema, self.described)
            if not replace:
                return []
            return dependents(conn, names, target_schema, dropping=False, views=set(), written=written)
        self._may_create(conn, target_schema)
        if target_schema in self.missing:
            return []  # created by the run: nothing there to clash with, replace or break
        _refuse_name_clashes(conn, names, target_schema, self.described)
        conflicts = refuse_non_empty(conn, names, replace, target_schema, self.described)
        views = {v.name for v in schema.views} if schema is not None else set()
        sequences = {name: users for (where, name), users in made.items() if where == target_schema}
        clashes = mariadb_sequence_clashes if self.kind == "mysql" else sequence_clashes
        found = clashes(
            conn,
            sequences,
            target_schema,
            replace=replace,
            dropped=set(conflicts) | views,
            described=self.described,
        )
        if not conflicts:
            return found
        found += dependents(conn, conflicts, target_schema, dropping=True, views=views, written=written)
        return found + lost_with_tables(conn, conflicts, target_schema, schema)

    def _may_create(self, conn: sa.Connection, target_schema: str | None) -> None:
        """PostgreSQL: a user who may not create tables there is told now, not after the fit."""
        import sqlalchemy as sa

        if self.kind != "postgresql":
            return
        allowed = conn.execute(
            sa.text(
                "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = :s) "
                "THEN has_schema_privilege(:s, 'CREATE') "
                "ELSE has_database_privilege(current_database(), 'CREATE') END"
            ),
            {"s": target_schema},
        ).scalar()
        if not allowed:
            where = (
                f"the schema '{target_schema}' (it does not exist) in"
                if target_schema in self.missing
                else f"tables in schema '{target_schema}' of"
            )
            raise RelsynthError(
                f"User '{self.url.username}' may not create {where} the {self.described}: grant it CREATE "
                "there, or connect as another user"
            )

    def close(self, *, failed: bool) -> None:
        if self.lock is not None:
            if failed and not self.committed:
                self.lock.discard()
            self.lock.release()
            self.lock = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def refuse_target_schema(url: str | sa.URL, target_schema: str | None) -> None:
    """--target-schema names a schema inside the target database: PostgreSQL has them. A MySQL or
    MariaDB database is itself the schema, and a SQLite file holds one: there it was ignored and
    the tables went to the URL's database, without a word. Refused, before anything is read (the
    URL's own database named again is no change, and allowed). An empty or blank name is no schema:
    it was taken as no option at all, and the tables went to the default schema without a word."""
    from relsynth.io import parse_url

    if target_schema is None:
        return
    if not target_schema.strip():
        raise RelsynthError(
            f"--target-schema {target_schema!r} names no schema: give the schema to write into "
            "(PostgreSQL), or leave out --target-schema"
        )
    url = parse_url(url)
    kind = dialects.family(url.get_backend_name())
    if kind == "postgresql" or (kind == "mysql" and target_schema == url.database):
        return
    if kind == "mysql":
        raise RelsynthError(
            f"--target-schema {target_schema[:70]}: MySQL/MariaDB has no schemas inside a database (a "
            f"schema is a database); put the database in the target URL (mysql://HOST/{target_schema[:70]}) "
            "and leave out --target-schema"
        )
    raise RelsynthError(
        f"--target-schema {target_schema[:70]}: a {kind} target has no schemas to choose from; leave "
        "out --target-schema (it chooses a PostgreSQL target's schema)"
    )


def _refuse_several(kind: str, schemas: tuple[str, ...], target_schema: str | None) -> None:
    """Several schemas go into schemas of the same names: a PostgreSQL target holds them; a SQLite
    file holds one; a MySQL/MariaDB target would need databases of those names on its server."""
    listed = ", ".join(schemas)
    if target_schema:
        raise RelsynthError(
            f"--target-schema names one schema, but the source's schemas ({listed}) are written into "
            "schemas of the same names; leave out --target-schema, or synthesize one schema at a time"
        )
    if kind == "sqlite":
        raise RelsynthError(
            f"A SQLite target holds one schema, not the {len(schemas)} given ({listed}); write into a "
            "PostgreSQL database, or synthesize one schema at a time (one --schema)"
        )
    if kind not in {"postgresql", "mysql"}:
        raise RelsynthError(
            f"Several schemas ({listed}) need a target that holds several: write into a PostgreSQL "
            "database, or synthesize one schema at a time (one --schema)"
        )


def _refuse_name_clashes(
    conn: sa.Connection, names: list[str], target_schema: str | None, described: str
) -> None:
    """Names the target would take for another object: a view named like a table to write, and
    names that differ only in case where the target ignores case (SQLite; MySQL on some systems)."""
    import sqlalchemy as sa

    insp = sa.inspect(conn)
    kind = dialects.family(conn)
    views = set(insp.get_view_names(schema=target_schema))
    if kind == "postgresql":
        views |= set(insp.get_materialized_view_names(schema=target_schema))
    clash = sorted(set(names) & views)
    if clash:
        raise RelsynthError(
            f"The {described} has a view named {', '.join(clash[:5])}, the name of a table relsynth "
            "writes; drop or rename the view, or write into another database"
        )
    others = _other_objects(conn, kind, sorted(set(names)), target_schema)
    if others:
        shown = ", ".join(f"{'an' if what[0] in 'aeiou' else 'a'} {what} {name}" for name, what in others[:5])
        raise RelsynthError(
            f"The {described} has {shown}, the name of a table relsynth writes (no table may take "
            "it); drop or rename it, or write into another database"
        )
    folds = kind == "sqlite" or (
        kind == "mysql" and int(conn.execute(sa.text("SELECT @@lower_case_table_names")).scalar() or 0) > 0
    )
    if not folds:
        return
    seen: dict[str, str] = {}
    for name in [*names, *insp.get_table_names(schema=target_schema)]:
        other = seen.setdefault(name.lower(), name)
        if other != name:
            raise RelsynthError(
                f"Tables '{other}' and '{name}' differ only in case, which the {described} does not "
                "tell apart; exclude one (--exclude), rename it, or write into a PostgreSQL database"
            )


_PG_KINDS = {"S": "sequence", "f": "foreign table", "i": "index", "I": "index", "c": "type"}


def _other_objects(
    conn: sa.Connection, kind: str, names: list[str], target_schema: str | None
) -> list[tuple[str, str]]:
    """(name, what) of objects other than tables and views that hold a name of a table to write
    in the target's namespace (a sequence, foreign table, index or type on PostgreSQL; an index
    on SQLite; a SEQUENCE on MariaDB): the CREATE TABLE would fail after the whole run (attack
    round 28: an internal error once everything was learned and sampled)."""
    import sqlalchemy as sa

    if not names:
        return []
    if kind == "postgresql":
        rows = conn.execute(
            sa.text(
                "SELECT c.relname, c.relkind::text FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = COALESCE(:schema, current_schema()) AND c.relname = ANY(:names) "
                "AND c.relkind NOT IN ('r', 'p', 'v', 'm') "
                "UNION ALL SELECT t.typname, 'c' FROM pg_type t "
                "JOIN pg_namespace n ON n.oid = t.typnamespace "
                "WHERE n.nspname = COALESCE(:schema, current_schema()) AND t.typname = ANY(:names) "
                "AND t.typrelid = 0 AND t.typcategory <> 'A'"
            ),
            {"schema": target_schema, "names": names},
        ).all()
        return sorted({(str(name), _PG_KINDS.get(str(relkind), "object")) for name, relkind in rows})
    if kind == "sqlite":
        prefix = f"{conn.dialect.identifier_preparer.quote(target_schema)}." if target_schema else ""
        rows = conn.execute(sa.text(f"SELECT name FROM {prefix}sqlite_master WHERE type = 'index'")).all()
        wanted = {n.lower() for n in names}  # SQLite's names ignore case
        return sorted({(str(r[0]), "index") for r in rows if str(r[0]).lower() in wanted})
    if kind == "mysql":
        rows = conn.execute(
            sa.text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                "COALESCE(:schema, DATABASE()) AND table_type = 'SEQUENCE'"
            ),
            {"schema": target_schema},
        ).all()
        return sorted({(str(r[0]), "sequence") for r in rows if str(r[0]) in set(names)})
    return []


def existing_tables(conn: sa.Connection, target_schema: str | None) -> list[str]:
    import sqlalchemy as sa

    ours = recorded_tables(conn) | {BOOKKEEPING}
    return [t for t in sa.inspect(conn).get_table_names(schema=target_schema) if t not in ours]


def refuse_non_empty(
    conn: sa.Connection, names: list[str], replace: bool, target_schema: str | None, described: str
) -> list[str]:
    """A target with tables is refused unless --replace; returns the tables that will be replaced."""
    existing = existing_tables(conn, target_schema)
    if existing and not replace:
        shown = ", ".join(sorted(existing)[:6]) + (" ..." if len(existing) > 6 else "")
        where = f", schema {target_schema}," if target_schema else ""
        raise RelsynthError(
            f"The target {described}{where} is not empty (tables: {shown}); use a new database, "
            "or --replace to drop and recreate the tables relsynth writes"
        )
    return [n for n in names if n in existing]


def check_existing(
    conn: sa.Connection,
    schema: Any,
    names: list[str],
    replace: bool,
    target_schema: str | None,
    described: str,
) -> None:
    """--into-existing: every table is there with every column; non-empty ones need --replace."""
    import sqlalchemy as sa

    insp = sa.inspect(conn)
    have = set(insp.get_table_names(schema=target_schema))
    missing = [n for n in names if n not in have]
    if missing:
        raise RelsynthError(
            f"--into-existing: the {described} has no table {', '.join(missing[:5])}; create the schema "
            "first (your migrations), or drop --into-existing to let relsynth create it"
        )
    for name in names:
        reflected = insp.get_columns(name, schema=target_schema)
        if dialects.family(conn) == "mysql":  # `co``l` as SQLAlchemy's parser returns `co`l`
            reflected = dialects.undouble_backticks({name: reflected})[name]
        cols = {c["name"] for c in reflected}
        absent = [c.name for c in schema.table(name).columns if c.name not in cols and not c.computed]
        if absent:
            raise RelsynthError(
                f"--into-existing: table {name} in the target has no column {', '.join(absent[:5])}; "
                "its schema does not match the source"
            )
        unfilled = _unfilled(reflected, schema.table(name))
        if unfilled:
            raise RelsynthError(
                f"--into-existing: table {name} in the target has NOT NULL column {', '.join(unfilled[:5])} "
                "without a default, which the source does not have, so relsynth cannot fill it; give it a "
                "default or allow NULL, or drop --into-existing to let relsynth create the tables"
            )
    _refuse_secured(conn, names, target_schema, described)
    if dialects.family(conn) == "mysql":
        stuck = dialects.mysql_non_transactional(conn, target_schema, names)
        if stuck:
            shown = ", ".join(f"{name} ({engine})" for name, engine in stuck[:6])
            shown += " ..." if len(stuck) > 6 else ""
            raise RelsynthError(
                f"--into-existing: table{'s' if len(stuck) > 1 else ''} {shown} in the {described} "
                "cannot roll back a failed load (a non-transactional engine), so nothing was written; "
                f"make {'them' if len(stuck) > 1 else 'it'} transactional (ALTER TABLE {stuck[0][0]} "
                f"ENGINE=InnoDB{', each' if len(stuck) > 1 else ''}), or drop "
                "--into-existing to let relsynth create new (InnoDB) tables"
            )
    if not replace:
        for name in names:
            t = sa.table(name, schema=target_schema)
            if conn.execute(sa.select(sa.literal(1)).select_from(t).limit(1)).first() is not None:
                raise RelsynthError(
                    f"--into-existing: table {name} in the target is not empty; add --replace to empty "
                    "the tables relsynth writes (they are emptied, never dropped)"
                )


def _refuse_secured(conn: sa.Connection, names: list[str], target_schema: str | None, described: str) -> None:
    """--into-existing into PostgreSQL: a table whose row-level security applies to the target's
    user (not its owner, or FORCEd; no BYPASSRLS) cannot be loaded all or nothing: COPY refuses it
    (FeatureNotSupported, an internal error halfway through the load, attack round 45), INSERT
    would be filtered by its policies, and the verification could not read it whole. Refused in
    one line before anything is written."""
    hidden = dialects.hidden_rows(conn, [(target_schema, n) for n in names])
    if not hidden:
        return
    name, more, user, who = dialects.hidden_parts(conn, hidden, "binds")
    raise RelsynthError(
        f"--into-existing: row-level security of table {name} in the {described} applies to {user}{more}, "
        f"so its rows cannot be loaded and verified whole (PostgreSQL's COPY refuses such a table); nothing "
        f"was written. Load as {who}, or leave the table out (--exclude {name})"
    )


def _unfilled(reflected: list[Any], table: Any) -> list[str]:
    """The target's own columns (not the source's) that refuse every row relsynth writes: NOT NULL
    with no default, not generated, not counted by the database. Found before writing, on every
    dialect alike (SQLite's refusal is otherwise only a bare IntegrityError mid-load)."""
    known = {c.name.casefold() for c in table.columns}
    out = []
    for c in reflected:
        if c["name"].casefold() in known or c.get("nullable", True):
            continue
        if c.get("default") is not None or c.get("computed") or c.get("identity"):
            continue
        if c.get("autoincrement") is True:
            continue
        out.append(str(c["name"]))
    return out


# -- MySQL/MariaDB: what relsynth created, recorded before it exists ------------------------------
def _book(md: Any = None) -> sa.Table:
    import sqlalchemy as sa

    return sa.Table(
        BOOKKEEPING,
        md if md is not None else sa.MetaData(),
        sa.Column("run", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),  # 'table': drop it; 'trigger': recreate it
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("definition", sa.Text),
        mysql_comment="relsynth: objects a running or interrupted run created; removed when empty",
    )


def _book_exists(conn: sa.Connection) -> bool:
    import sqlalchemy as sa

    if BOOKKEEPING not in sa.inspect(conn).get_table_names():
        return False
    cols = {c["name"] for c in sa.inspect(conn).get_columns(BOOKKEEPING)}
    if cols != {"run", "kind", "name", "definition"}:
        raise RelsynthError(
            f"The target has a table named {BOOKKEEPING} that relsynth did not create; rename it, "
            "or write into another database"
        )
    return True


def record(conn: sa.Connection, run: str, kind: str, items: list[tuple[str, str | None]]) -> None:
    """Note (and commit) what this run is about to create or drop, before doing it."""
    if not items:
        return
    book = _book()
    if not _book_exists(conn):
        book.create(conn, checkfirst=True)
    conn.execute(book.insert(), [{"run": run, "kind": kind, "name": n, "definition": d} for n, d in items])
    conn.commit()


def forget(conn: sa.Connection, run: str, kind: str | None = None) -> None:
    """This run's records are done with; the bookkeeping table goes when it is empty."""
    import sqlalchemy as sa

    if not _book_exists(conn):
        return
    book = _book()
    where = [book.c.run == run] + ([book.c.kind == kind] if kind else [])
    conn.execute(sa.delete(book).where(*where))
    if conn.execute(sa.select(sa.func.count()).select_from(book)).scalar_one() == 0:
        book.drop(conn)
    conn.commit()


def _ours(run: str, name: str) -> bool:
    """A record is only believed if the name is one relsynth would have given that run: anyone who
    can write the target can also write rows here, and must not get a table of their choice dropped."""
    return bool(re.fullmatch(r"[0-9a-f]{12}", run)) and bool(
        re.fullmatch(rf"{STAGING_PREFIX}(?:old)?{run}_\d+", name)
    )


def recorded_tables(conn: sa.Connection) -> set[str]:
    import sqlalchemy as sa

    if dialects.family(conn) != "mysql" or not _book_exists(conn):
        return set()
    book = _book()
    rows = conn.execute(sa.select(book.c.run, book.c.name).where(book.c.kind == "table")).all()
    return {name for run, name in rows if _ours(run, name)}


def clean_up(conn: sa.Connection, run: str | None = None, triggers: list[str] | None = None) -> list[str]:
    """Drop the staging tables a run (or every interrupted run) recorded; ``triggers``: the CREATE
    TRIGGER statements this run read from the catalog and dropped, created again here.

    Only names relsynth would have given are dropped, and SQL stored in the bookkeeping table is never
    run: an interrupted run's dropped triggers are named, for a person to restore.
    """
    import sqlalchemy as sa

    for sql in triggers or []:  # the catalog's own text, as it is: with parameters a '%' is a placeholder
        conn.exec_driver_sql(sql, execution_options={"no_parameters": True})
    if not _book_exists(conn):
        return []
    book = _book()
    query = sa.select(book.c.run, book.c.kind, book.c.name, book.c.definition)
    rows = conn.execute(query.where(book.c.run == run) if run else query).all()
    prep = conn.dialect.identifier_preparer
    conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
    have = set(sa.inspect(conn).get_table_names())
    dropped: list[str] = []
    done: set[tuple[str, str]] = set()
    lost: list[str] = []
    for r, kind, name, definition in rows:
        if kind == "table" and _ours(r, name):
            if name in have:
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {prep.quote(name)}")
                dropped.append(name)
            done.add((r, name))
        elif kind == "trigger" and run is not None and r == run:
            done.add((r, name))  # this run created them again above
        elif kind == "trigger" and re.match(r"(?is)\s*CREATE\s+TRIGGER\b", definition or ""):
            lost.append(name)  # named for a person to check; never run from here
    for r, name in done:
        conn.execute(sa.delete(book).where(book.c.run == r, book.c.name == name))
    if conn.execute(sa.select(sa.func.count()).select_from(book)).scalar_one() == 0:
        book.drop(conn)
    conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")
    conn.commit()
    notes = []
    if dropped and run is None:
        notes.append(
            f"removed {len(dropped)} staging tables left by an interrupted relsynth run: " + _some(dropped, 5)
        )
    if lost:
        notes.append(
            f"an interrupted relsynth run dropped {len(lost)} triggers of this database ("
            + _some(sorted(lost), 10)
            + f"); their CREATE TRIGGER statements are in table {BOOKKEEPING} "
            "(kind 'trigger'): check and run them, then delete those rows"
        )
    return notes


def _some(names: list[str], most: int) -> str:
    """Up to ``most`` names, and how many more: a count and its list always agree."""
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def refuse_overwriting_database(path: str | os.PathLike[str], *urls: str | sa.URL | None) -> None:
    """An output file (model, report, JSON, schema) must not land on a SQLite database of the run:
    ``relsynth fit app.db -o app.db`` would otherwise replace the source with the model."""
    from relsynth.io import parse_url

    out = sqlite_identity(os.fspath(path))
    for url in urls:
        if url is None:
            continue
        try:
            parsed = parse_url(url)
        except RelsynthError:
            continue
        if parsed.get_backend_name() == "sqlite" and out.same_as(sqlite_identity(parsed.database)):
            raise SameDatabase(
                f"The output file {os.fspath(path)} is the SQLite database {parsed.database} of this run; "
                "choose another file name"
            )
