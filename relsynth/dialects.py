"""Everything that differs between PostgreSQL, MySQL/MariaDB and SQLite, in one place.

Capabilities are data (as dlt does it); catalog queries that SQLAlchemy's inspector does not
offer are small functions here. Names always travel as bound parameters, never as SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlalchemy as sa

    from relsynth.schema import Schema


@dataclass(frozen=True)
class Capabilities:
    """What a dialect can do, as data the writer and reader consult."""

    name: str
    max_bind_params: int
    transactional_ddl: bool
    deferrable_fks: bool
    has_copy: bool
    has_enums: bool
    has_schemas: bool
    row_estimates: bool


_CAPS = {
    "postgresql": Capabilities("postgresql", 65_535, True, True, True, True, True, True),
    "mysql": Capabilities("mysql", 65_535, False, False, False, True, False, True),
    "mariadb": Capabilities("mariadb", 65_535, False, False, False, True, False, True),
    "sqlite": Capabilities("sqlite", 32_766, True, True, False, False, False, False),
}
_GENERIC = Capabilities("generic", 2_000, False, False, False, False, True, False)


def capabilities(dialect_name: str) -> Capabilities:
    return _CAPS.get(dialect_name, _GENERIC)


# Keywords a server will not take as a bare name that SQLAlchemy's preparer for it does not quote
# (SQLAlchemy 2.1): a table or column so named broke the statements relsynth builds. SQLite: every
# keyword of its parser (sqlite3_keyword_name() of SQLite 3.40: `nothing` and `returning` fail bare);
# PostgreSQL: the reserved and type/function-name keywords of pg_get_keywords() it lacks; MariaDB:
# names its parser refuses bare (a table aliased `value` loses its columns). Quoting one more name
# than needed is harmless, so the lists err on the long side.
_SQLITE_WORDS = """
    abort action add after all alter always analyze and as asc attach autoincrement before begin
    between by cascade case cast check collate column commit conflict constraint create cross current
    current_date current_time current_timestamp database default deferrable deferred delete desc
    detach distinct do drop each else end escape except exclude exclusive exists explain fail filter
    first following for foreign from full generated glob group groups having if ignore immediate in
    index indexed initially inner insert instead intersect into is isnull join key last left like
    limit match materialized natural no not nothing notnull null nulls of offset on or order others
    outer over partition plan pragma preceding primary query raise range recursive references regexp
    reindex release rename replace restrict returning right rollback row rows savepoint select set
    table temp temporary then ties to transaction trigger unbounded union unique update using vacuum
    values view virtual when where window with without
    """
SQLITE_KEYWORDS = frozenset(_SQLITE_WORDS.split())
EXTRA_KEYWORDS = {
    "sqlite": SQLITE_KEYWORDS,
    "postgresql": frozenset({"collation", "concurrently", "lateral", "tablesample"}),
    "mysql": frozenset(
        {"delete_domain_id", "master_demote_to_replica", "master_demote_to_slave", "portion", "value"}
    ),
}


def quote_keywords(dialect: sa.Dialect) -> None:
    """Teach the dialect's identifier preparer the server's keywords it does not know, so every
    statement built through SQLAlchemy (Core, DDL, ``preparer.quote``) quotes them. Idempotent."""
    prep = dialect.identifier_preparer
    extra = EXTRA_KEYWORDS.get(family(dialect.name), frozenset())
    if not extra <= prep.reserved_words:
        prep.reserved_words = set(prep.reserved_words) | extra
        prep._strings.clear()  # names quoted (or not) before this are decided again


def quote_keywords_on_connect(engine: sa.Engine) -> None:
    """Keep ``quote_keywords`` in force on the engine: MySQL's dialect builds a new preparer (and
    MariaDB's resets its words) when it first connects, so it is applied again after each connect."""
    from sqlalchemy import event

    quote_keywords(engine.dialect)

    def _again(dbapi_connection: Any, record: Any) -> None:
        quote_keywords(engine.dialect)

    event.listen(engine, "connect", _again)  # after the dialect's own first-connect initialize


def utc_sessions(engine: sa.Engine) -> None:
    """MySQL/MariaDB: every session's time_zone is UTC, as mysqldump's (--tz-utc). A TIMESTAMP is
    an instant, read and written as the session's local time: in a zone with summer time a value
    drawn between two read ones could fall in the hour skipped in spring (no such local time), and
    a target server in another zone than the source's moved every value by the difference, past
    TIMESTAMP's range at its ends (1970-01-01 00:00:01 .. 2038-01-19 03:14:07 UTC), refused as "not
    a value of its column's type" after the whole run (attack round 45). DATETIME is unaffected."""
    if family(engine.dialect.name) != "mysql":
        return
    from sqlalchemy import event

    def _utc(dbapi_connection: Any, record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SET time_zone = '+00:00'")
        finally:
            cursor.close()

    event.listen(engine, "connect", _utc)


def tolerant_dates(conn: sa.Connection) -> None:
    """Let a PostgreSQL connection read every date it holds: psycopg fails a whole read on one
    value Python's dates cannot hold ('infinity', '-infinity', a BC date, a year past 9999; a
    timestamptz of 9999-12-31 seen from a time zone east of UTC). Such a value is given as its
    text instead; model/sentinels.read_special reads it as what it can be represented by.

    Idempotent, per DBAPI connection (a pooled one keeps it); nothing for other drivers."""
    raw = getattr(conn.connection, "driver_connection", None)
    adapters = getattr(raw, "adapters", None)
    if adapters is None or family(conn) != "postgresql" or type(raw).__module__.split(".")[0] != "psycopg":
        return
    from psycopg import pq

    for name in ("date", "timestamp", "timestamptz"):
        info = adapters.types.get(name)
        if info is None:
            continue
        inner = adapters.get_loader(info.oid, pq.Format.TEXT)
        if inner is None or getattr(inner, "tolerant", False):
            continue
        adapters.register_loader(info.oid, _tolerant_loader(inner))


def _tolerant_loader(inner: type) -> type:
    """A text loader that reads what ``inner`` (the driver's, C-optimised) reads, and gives the
    text of a value it refuses (psycopg.DataError) instead of failing the read."""
    from psycopg import DataError
    from psycopg.adapt import Loader

    class Tolerant(Loader):
        tolerant = True

        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self._load = inner(oid, context).load

        def load(self, data: Any) -> Any:
            try:
                return self._load(data)
            except (DataError, ValueError, OverflowError):
                return bytes(data).decode("ascii", "replace")

    Tolerant.__name__ = f"Tolerant{inner.__name__}"
    return Tolerant


def family(conn_or_name: sa.Connection | str) -> str:
    """'postgresql', 'mysql' (MariaDB included), 'sqlite' or the dialect's own name."""
    name = conn_or_name if isinstance(conn_or_name, str) else conn_or_name.dialect.name
    return "mysql" if name in {"mysql", "mariadb"} else name


def is_money(t: Any) -> bool:
    """A PostgreSQL money column (sqltypes.to_portable: the portable family numeric)."""
    return t.name == "numeric" and (t.native or "").upper() == "MONEY"


def readable(expr: Any, t: Any, kind: str) -> Any:
    """How a column of SqlType ``t`` is read, in dialect ``kind`` ('postgresql', 'mysql', ...):
    PostgreSQL's money as numeric (its text is lc_monetary's, '$1,234.56'), exact, in the
    database's own currency digits; other columns as they are."""
    import sqlalchemy as sa

    if kind == "postgresql" and is_money(t):
        return sa.cast(expr, sa.Numeric()).label(expr.name)
    return expr


def begin_read_only(conn: sa.Connection) -> sa.Connection:
    """Start one read-only transaction with a consistent snapshot for every read that follows.

    SQLAlchemy autobegins on the first statement; the statements below are that transaction's first.
    """
    kind = family(conn)
    if kind == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        if (conn.dialect.server_version_info or (0,)) >= (9, 5):
            # Row-level security never filters a read silently (a table its policies hide would be
            # learned as empty): with row_security off, such a read fails, as pg_dump's does.
            conn.exec_driver_sql("SET LOCAL row_security = off")
        if (conn.dialect.server_version_info or (0,)) >= (9, 6):
            # The snapshot stays open while the model learns (the guards' pass reads in it after):
            # a server that ends idle transactions would end it, as pg_dump also prevents.
            conn.exec_driver_sql("SET LOCAL idle_in_transaction_session_timeout = 0")
        tolerant_dates(conn)  # 'infinity' and BC dates are read, not a failed read
    elif kind == "mysql":
        conn.exec_driver_sql("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        conn.exec_driver_sql("SET SESSION TRANSACTION READ ONLY")
        conn.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
    elif kind == "sqlite":
        conn.exec_driver_sql("PRAGMA query_only = ON")
    return conn


# -- PostgreSQL row-level security ------------------------------------------------------------------
def _rls_server(conn: sa.Connection) -> bool:
    return family(conn) == "postgresql" and (conn.dialect.server_version_info or (0,)) >= (9, 5)


def hidden_rows(conn: sa.Connection, tables: Iterable[tuple[str | None, str]]) -> list[tuple[str, bool]]:
    """PostgreSQL: the tables, of (schema, name), whose rows row-level security would filter for
    this connection's user (not their owner, or FORCE ROW LEVEL SECURITY; no superuser or
    BYPASSRLS), each with whether it is FORCEd. Read from the catalog, no row read."""
    import sqlalchemy as sa

    if not _rls_server(conn):
        return []
    wanted = [(s or default_schema(conn) or "public", n) for s, n in tables]
    if not wanted:
        return []
    rows = conn.execute(
        sa.text(
            "SELECT n.nspname, c.relname, c.relforcerowsecurity FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relrowsecurity AND n.nspname = ANY(:schemas) AND row_security_active(c.oid) "
            "ORDER BY n.nspname, c.relname"
        ),
        {"schemas": sorted({s for s, _ in wanted})},
    ).all()
    keep = set(wanted)
    return [(name, bool(forced)) for space, name, forced in rows if (space, name) in keep]


def hidden_parts(
    conn: sa.Connection, hidden: list[tuple[str, bool]], forced_verb: str
) -> tuple[str, str, str, str]:
    """The first table row-level security binds, the others named after it, the connection's user,
    and who could read or load it: the words both refusals (reading, --into-existing) say."""
    name, forced = hidden[0]
    more = f" (and {len(hidden) - 1} more: {', '.join(n for n, _ in hidden[1:4])})" if len(hidden) > 1 else ""
    user = f"user '{conn.engine.url.username}'" if conn.engine.url.username else "the connection's user"
    who = (
        f"a role with BYPASSRLS or a superuser (FORCE ROW LEVEL SECURITY {forced_verb} its owner too)"
        if forced
        else "the table's owner or a role with BYPASSRLS"
    )
    return name, more, user, who


def refuse_hidden_rows(conn: sa.Connection, tables: Iterable[tuple[str | None, str]], what: str) -> None:
    """One clear line where row-level security would hide rows of a table to read from this
    connection's user (read with row_security off, such a read would fail; pg_dump's does)."""
    hidden = hidden_rows(conn, tables)
    if not hidden:
        return
    from relsynth.errors import RowsHidden

    name, more, user, who = hidden_parts(conn, hidden, "filters")
    raise RowsHidden(
        f"Row-level security of table {name} in the {what} hides rows from {user}{more}: relsynth "
        f"reads every row or none (as pg_dump does); read as {who}, "
        f"or leave the table out (--exclude {name})",
        conn.engine.url,
        name,
    )


def see_every_row(conn: sa.Connection, tables: Iterable[tuple[str | None, str]], what: str) -> None:
    """PostgreSQL: the transaction's reads of these tables see every row, or fail in one line
    before any is read (the writer's own verification, the evaluation of a target)."""
    if not _rls_server(conn):
        return
    conn.exec_driver_sql("SET LOCAL row_security = off")
    refuse_hidden_rows(conn, tables, what)


@dataclass(frozen=True)
class RowSecurity:
    """A PostgreSQL table's row-level security: ENABLE/FORCE and its policies (name, command,
    permissive, roles ('public' for PUBLIC), USING, WITH CHECK)."""

    enabled: bool
    forced: bool
    policies: tuple[tuple[str, str, bool, tuple[str, ...], str | None, str | None], ...] = ()


_POLICY_COMMANDS = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}


def row_security(conn: sa.Connection, schema: str | None, tables: list[str]) -> dict[str, RowSecurity]:
    """PostgreSQL: the row-level security of the tables that have any (enabled, or policies)."""
    import sqlalchemy as sa

    if not _rls_server(conn) or not tables:
        return {}
    permissive = "p.polpermissive" if (conn.dialect.server_version_info or (0,)) >= (10,) else "true"
    rows = conn.execute(
        sa.text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, p.polname, p.polcmd, "
            f"{permissive}, ARRAY(SELECT CASE WHEN r.oid = 0 THEN 'public' ELSE pg_get_userbyid(r.oid) END "
            "FROM unnest(p.polroles) WITH ORDINALITY AS r(oid, i) ORDER BY r.i), "
            "pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_policy p ON p.polrelid = c.oid "
            "WHERE n.nspname = :schema AND c.relname = ANY(:tables) "
            "AND (c.relrowsecurity OR c.relforcerowsecurity OR p.oid IS NOT NULL) "
            "ORDER BY c.relname, p.polname"
        ),
        {"schema": schema or default_schema(conn) or "public", "tables": list(tables)},
    ).all()
    out: dict[str, RowSecurity] = {}
    for table, enabled, forced, name, cmd, perm, roles, using, check in rows:
        got = out.get(table) or RowSecurity(bool(enabled), bool(forced))
        if name is not None:
            policy = (name, _POLICY_COMMANDS.get(cmd, "ALL"), bool(perm), tuple(roles or ()), using, check)
            got = RowSecurity(got.enabled, got.forced, (*got.policies, policy))
        out[table] = got
    return out


def chunks_of(conn: sa.Connection, query: Any, size: int, *, floats: bool = True) -> Iterator[Sequence[Any]]:
    """The rows of a SELECT, ``size`` at a time, through a server-side cursor.

    On PostgreSQL (psycopg) the driver's own named cursor (``floats``: NUMERIC read as float8):
    SQLAlchemy's Row objects and Decimals cost more than the database's work on a read of every
    row (the guards' pass over TPC-H SF 1). Elsewhere SQLAlchemy's."""
    raw = conn.connection.driver_connection
    psycopg3 = raw is not None and type(raw).__module__.split(".")[0] == "psycopg"
    if family(conn) == "postgresql" and psycopg3:
        import psycopg
        import sqlalchemy as sa
        from psycopg.types.numeric import FloatLoader

        compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        try:
            with raw.cursor(name="relsynth_stream") as cur:  # type: ignore[union-attr]
                if floats:
                    cur.adapters.register_loader("numeric", FloatLoader)
                cur.itersize = size
                cur.execute(str(compiled), compiled.params)  # a dict, even empty: "%%" is read as "%"
                while rows := cur.fetchmany(size):
                    yield rows
        except psycopg.Error as err:  # as SQLAlchemy raises it, for the callers' handlers (no values)
            raise sa.exc.DBAPIError.instance(
                str(compiled), None, err, psycopg.Error, hide_parameters=True, dialect=conn.dialect
            ) from err
        return
    result = conn.execute(query.execution_options(stream_results=True, max_row_buffer=size))
    yield from result.partitions(size)


def key_array(conn: sa.Connection, type_name: str, values: list[Any]) -> list[Any] | None:
    """Keys to read rows by as one array parameter (``key = ANY(:keys)``), or None where an IN list
    must do. On PostgreSQL an IN list of 16,000 parameters is parsed and planned for each batch:
    counting TPC-H SF 0.1's lineitem by its 600,000 order keys took 6.8 s that way, 1.4 s as arrays
    (a sampled read fetches far fewer keys, and gained little). Only keys
    whose array compares as the column does: integers (as Python ints: a float array would compare
    an integer column as floats, past its index) and variable-length text (a CHAR(n) key would be
    compared as text, its padding cut)."""
    import numpy as np

    from relsynth.sqltypes import INTEGER_TYPES

    if family(conn) != "postgresql" or not values:
        return None
    if type_name in INTEGER_TYPES:
        out = []
        for v in values:
            if isinstance(v, bool | np.bool_) or not isinstance(v, int | float | np.integer | np.floating):
                return None
            if v != v or int(v) != v:
                return None
            out.append(int(v))
        return out
    if type_name in {"string", "text"} and all(type(v) is str for v in values):
        return list(values)
    return None


def default_schema(conn: sa.Connection) -> str | None:
    import sqlalchemy as sa

    return sa.inspect(conn).default_schema_name


@dataclass(frozen=True)
class Partition:
    name: str
    parent: str  # the top partitioned table
    bound: str
    direct: str = ""  # the table it is a partition of (the top one, or a partition itself partitioned)


def partitions(conn: sa.Connection, schema: str | None) -> tuple[dict[str, str], list[Partition]]:
    """PostgreSQL: (partition key per partitioned table, every partition mapped to its top parent)."""
    import sqlalchemy as sa

    if family(conn) != "postgresql":
        return {}, []
    schema = schema or default_schema(conn)
    keys = conn.execute(
        sa.text(
            "SELECT c.relname, pg_get_partkeydef(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relkind = 'p'"
        ),
        {"schema": schema},
    ).all()
    rows = conn.execute(
        sa.text(
            "SELECT c.relname, p.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relispartition ORDER BY c.relname"
        ),
        {"schema": schema},
    ).all()
    direct = {child: parent for child, parent, _ in rows}

    def top(name: str) -> str:
        seen = set()
        while name in direct and name not in seen:
            seen.add(name)
            name = direct[name]
        return name

    parts = [Partition(child, top(child), bound or "", parent) for child, parent, bound in rows]
    return {name: key for name, key in keys}, parts


def mysql_partitioning(
    conn: sa.Connection, schema: str | None
) -> dict[str, tuple[str, tuple[tuple[str, str], ...]] | str]:
    """MySQL/MariaDB: each partitioned table's key (``RANGE (year(`sold`))``, with its
    SUBPARTITION BY clause) and partitions in order, each with its bound as the DDL spells it
    (``VALUES LESS THAN (2021)``, ``VALUES IN (1,2)``; a HASH or KEY partition's empty); or, for a
    partitioning not recreated (SYSTEM_TIME: history kept by the server), its method."""
    import sqlalchemy as sa

    if family(conn) != "mysql":
        return {}
    rows = conn.execute(
        sa.text(
            "SELECT TABLE_NAME, PARTITION_NAME, PARTITION_METHOD, PARTITION_EXPRESSION, "
            "PARTITION_DESCRIPTION, SUBPARTITION_METHOD, SUBPARTITION_EXPRESSION, SUBPARTITION_NAME "
            "FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = :schema AND PARTITION_NAME IS NOT NULL "
            "ORDER BY TABLE_NAME, PARTITION_ORDINAL_POSITION, SUBPARTITION_ORDINAL_POSITION"
        ),
        {"schema": schema or default_schema(conn)},
    ).all()
    keys: dict[str, str] = {}
    parts: dict[str, dict[str, str]] = {}
    subs: dict[str, set[tuple[str, str]]] = {}
    for table, part, method, expr, bound, sub_method, sub_expr, sub_name in rows:
        method = str(method).upper()
        keys[table] = method if method == "SYSTEM_TIME" else f"{method} ({expr or ''})"
        if sub_method:
            keys[table] += f" SUBPARTITION BY {str(sub_method).upper()} ({sub_expr or ''})"
            subs.setdefault(table, set()).add((part, sub_name))
        if method.startswith("RANGE"):
            spelled = f"VALUES LESS THAN ({bound})" if bound != "MAXVALUE" else "VALUES LESS THAN MAXVALUE"
        elif method.startswith("LIST"):
            spelled = "DEFAULT" if str(bound).upper() == "DEFAULT" else f"VALUES IN ({bound})"
        else:
            spelled = ""
        parts.setdefault(table, {})[part] = spelled
    out: dict[str, tuple[str, tuple[tuple[str, str], ...]] | str] = {}
    for table, key in keys.items():
        if key == "SYSTEM_TIME":
            out[table] = key
            continue
        if table in subs:  # as many subpartitions in each partition (MySQL requires it): the count
            key += f" SUBPARTITIONS {len(subs[table]) // max(len(parts[table]), 1)}"
        out[table] = (key, tuple(parts[table].items()))
    return out


def inherited_foreign_keys(conn: sa.Connection, schema: str | None) -> set[tuple[str, str]]:
    """PostgreSQL: (table, constraint) of the foreign keys partitioning cloned from another one.

    An FK into a partitioned table has one copy per partition (conparentid names the original), and
    an FK of a partitioned table one on each partition: the original alone is the table's key.
    """
    import sqlalchemy as sa

    if family(conn) != "postgresql":
        return set()
    rows = conn.execute(
        sa.text(
            "SELECT c.relname, k.conname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND k.contype = 'f' AND k.conparentid <> 0"
        ),
        {"schema": schema or default_schema(conn)},
    ).all()
    return {(table, name) for table, name in rows}


def row_estimates(conn: sa.Connection, schema: str | None) -> dict[str, int]:
    """Catalog row estimates (cheap, approximate); empty where the dialect keeps none."""
    import sqlalchemy as sa

    kind = family(conn)
    if kind == "postgresql":
        rows = conn.execute(
            sa.text(
                "SELECT c.relname, c.reltuples::bigint, c.relkind, c.relispartition, "
                "COALESCE((SELECT p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent "
                "WHERE i.inhrelid = c.oid LIMIT 1), '') "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :schema AND c.relkind IN ('r', 'p')"
            ),
            {"schema": schema or default_schema(conn)},
        ).all()
        # reltuples is -1 for a table never analyzed: unknown, so the caller counts exactly.
        out = {name: max(int(n), -1) for name, n, kind, _, _ in rows if kind == "r"}
        # A partitioned table holds no rows itself: its estimate is its partitions' sum, if all known.
        parts: dict[str, list[int]] = {}
        for _, n, _, is_part, parent in rows:
            if is_part and parent:
                parts.setdefault(parent, []).append(int(n))
        for name, _, kind, _, _ in rows:
            if kind == "p":
                counts = parts.get(name, [])
                out[name] = sum(counts) if counts and min(counts) >= 0 else -1
        return out
    if kind == "mysql":
        rows = conn.execute(
            sa.text(
                "SELECT TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = :schema AND TABLE_TYPE = 'BASE TABLE'"
            ),
            {"schema": schema or default_schema(conn)},
        ).all()
        return {name: int(n) if n is not None else -1 for name, n in rows}
    return {}


def sqlite_unique_and_actions(
    conn: sa.Connection, tables: list[str]
) -> tuple[dict[str, list[tuple[str, ...]]], dict[str, dict[tuple[str, ...], tuple[str, str]]]]:
    """SQLite: column-level UNIQUE constraints and FK ON DELETE/UPDATE, which the inspector misses."""
    import sqlalchemy as sa

    uniques: dict[str, list[tuple[str, ...]]] = {}
    actions: dict[str, dict[tuple[str, ...], tuple[str, str]]] = {}
    for table in tables:
        idx = conn.execute(
            sa.text("SELECT name, origin FROM pragma_index_list(:t) WHERE origin = 'u' ORDER BY seq"),
            {"t": table},
        ).all()
        for name, _ in idx:
            cols = conn.execute(
                sa.text("SELECT name FROM pragma_index_info(:i) ORDER BY seqno"), {"i": name}
            ).scalars()
            uniques.setdefault(table, []).append(tuple(cols))
        fks = conn.execute(
            sa.text(
                'SELECT id, "from", on_update, on_delete FROM pragma_foreign_key_list(:t) ORDER BY id, seq'
            ),
            {"t": table},
        ).all()
        grouped: dict[int, list] = {}
        for fk_id, col, on_update, on_delete in fks:
            grouped.setdefault(fk_id, [[], on_update, on_delete])[0].append(col)
        actions[table] = {tuple(cols): (upd, dele) for cols, upd, dele in grouped.values()}
    return uniques, actions


_MYSQL_STRING = re.compile(r"'(?:[^'\\]|''|\\.)*'")


def standard_strings(sql: str) -> str:
    """A MariaDB/MySQL expression with its string literals quoted the standard way: MariaDB
    writes 'b\'c' where SQL (and relsynth's CHECK parser) says 'b''c'. Other backslash escapes
    stay, so the text still means the same on MariaDB."""

    def fix(m: re.Match[str]) -> str:
        inner, out, i = m.group(0)[1:-1], [], 0
        while i < len(inner):
            pair = inner[i : i + 2]
            if pair in {"\\'", "''"}:
                out.append("''")
            elif pair == '\\"':
                out.append('"')
            elif pair[:1] == "\\":
                out.append(pair)  # \\, \n ...: MariaDB's own, left as they are
            else:
                out.append(inner[i])
                i += 1
                continue
            i += 2
        return "'" + "".join(out) + "'"

    return _MYSQL_STRING.sub(fix, sql)


# A string literal as each family's SQL writes it (the catalogs' text: CHECKs, DEFAULTs). MariaDB and
# MySQL read a backslash as an escape (their catalogs print one backslash as two, whatever the
# session's sql_mode); PostgreSQL's standard strings and SQLite's have none; PostgreSQL's E'...'
# strings have C-style escapes. A family not named here (none given) reads as PostgreSQL.
_STANDARD = r"'(?:[^']|'')*'"
_ESCAPED = r"'(?:[^'\\]|''|\\[\s\S])*'"
STRING_LITERAL = {"mysql": _ESCAPED, "sqlite": _STANDARD, "postgresql": rf"[eE]{_ESCAPED}|{_STANDARD}"}
_MYSQL_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a", "%": "\\%", "_": "\\_"}
_MYSQL_ESCAPE = re.compile(r"''|\\([\s\S])")
_C_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_C_ESCAPE = re.compile(
    r"''|\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|([\s\S]))"
)


def string_pattern(family_name: str | None) -> str:
    """The regular expression of a string literal in the family's SQL (no groups)."""
    return STRING_LITERAL.get(family_name or "", STRING_LITERAL["postgresql"])


def string_value(literal: str, family_name: str | None) -> str:
    r"""The value a string literal (quotes included) holds in the family's SQL: MariaDB's 'a\\b' is
    a\b (one backslash), as PostgreSQL's E'a\\b' is, where 'a\\b' is two. In MariaDB \% and \_ keep
    their backslash (LIKE's escapes), and any other escaped character is itself."""
    if family_name == "mysql":
        return _MYSQL_ESCAPE.sub(_mysql_escape, literal[1:-1])
    if literal[:1] in {"e", "E"} and family_name in {None, "", "postgresql"}:
        return _C_ESCAPE.sub(_c_escape, literal[2:-1])
    return literal[1:-1].replace("''", "'")


def _mysql_escape(m: re.Match[str]) -> str:
    escaped = m.group(1)
    return "'" if escaped is None else _MYSQL_ESCAPES.get(escaped, escaped)


def _c_escape(m: re.Match[str]) -> str:
    octal, hex2, u4, u8, other = m.groups()
    if m.group(0) == "''":
        return "'"
    if other is not None:
        return _C_ESCAPES.get(other, other)
    return chr(int(octal, 8) if octal else int(hex2 or u4 or u8, 16))


def unescape_enum_values(columns: dict[str, list[dict[str, Any]]]) -> None:
    r"""MySQL: each ENUM's and SET's values as the column holds them. SQLAlchemy reads them from SHOW
    CREATE TABLE, undoubling '' but leaving the backslash escapes: ENUM('a\\b','c') holds a\b, not a\\b
    (the target's DDL escapes the value again; the rows hold it once)."""
    from sqlalchemy.dialects import mysql

    def value(v: str) -> str:
        return string_value("'" + v.replace("'", "''") + "'", "mysql")

    for cols in columns.values():
        for c in cols:
            t = c["type"]
            kw = {"charset": getattr(t, "charset", None), "collation": getattr(t, "collation", None)}
            if isinstance(t, mysql.SET) and any("\\" in v for v in t.values):
                bitwise = getattr(t, "retrieve_as_bitwise", False)
                c["type"] = mysql.SET(*(value(v) for v in t.values), retrieve_as_bitwise=bitwise, **kw)
            elif isinstance(t, mysql.ENUM) and any("\\" in v for v in t.enums):
                c["type"] = mysql.ENUM(*(value(v) for v in t.enums), **kw)


def undouble_backticks(reflected: dict[str, Any]) -> dict[str, Any]:
    """MySQL: names as SQLAlchemy's SHOW CREATE TABLE parser returns them, with '``' made '`' again."""

    def fix(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("``", "`")
        if isinstance(value, list):
            return [fix(v) for v in value]
        if isinstance(value, dict):
            return {k: fix(v) if k in _NAME_KEYS else v for k, v in value.items()}
        return value

    return {table: fix(items) for table, items in reflected.items()}


_NAME_KEYS = {"name", "constrained_columns", "column_names", "referred_columns", "referred_table"}


def mysql_foreign_keys(
    conn: sa.Connection,
    schema: str | None,
    tables: list[str],
    parsed: dict[str, list[dict]] | None = None,
) -> dict[str, list[dict]]:
    """Every FK of the tables from information_schema, in the inspector's shape (composite keys in
    column order, ON DELETE/UPDATE actions), whatever characters the names hold.

    KEY_COLUMN_USAGE lists an FK to any user who may select from its table; MariaDB shows
    REFERENTIAL_CONSTRAINTS (the ON DELETE/UPDATE rules) only to one with a privilege beyond SELECT
    on it. Where that row is missing, the rules come from ``parsed`` (SQLAlchemy's reading of SHOW
    CREATE TABLE, which a SELECT-only user may run), matched by the constraint's name."""
    import sqlalchemy as sa

    db = schema or conn.execute(sa.text("SELECT DATABASE()")).scalar()
    rows = conn.execute(
        sa.text(
            "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA, "
            "k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.DELETE_RULE, r.UPDATE_RULE, "
            "r.CONSTRAINT_NAME IS NOT NULL "
            "FROM information_schema.KEY_COLUMN_USAGE k "
            "LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS r "
            "ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME "
            "AND r.TABLE_NAME = k.TABLE_NAME "
            "WHERE k.TABLE_SCHEMA = :db AND k.REFERENCED_TABLE_NAME IS NOT NULL "
            "ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION"
        ),
        {"db": db},
    ).all()
    wanted = set(tables)
    out: dict[str, dict[str, dict]] = {}
    for table, name, col, ref_schema, ref_table, ref_col, on_delete, on_update, ruled in rows:
        if table not in wanted:
            continue
        if not ruled:  # rules hidden from this user: as SHOW CREATE TABLE spells them
            rules = next(
                (fk.get("options") or {} for fk in (parsed or {}).get(table, []) if fk.get("name") == name),
                {},
            )
            on_delete, on_update = rules.get("ondelete"), rules.get("onupdate")
        fk = out.setdefault(table, {}).setdefault(
            name,
            {
                "name": name,
                "constrained_columns": [],
                "referred_schema": None if ref_schema == db else ref_schema,
                "referred_table": ref_table,
                "referred_columns": [],
                "options": {
                    k: v
                    for k, v in (("ondelete", on_delete), ("onupdate", on_update))
                    if v and str(v).upper() not in {"RESTRICT", "NO ACTION"}
                },
            },
        )
        fk["constrained_columns"].append(col)
        fk["referred_columns"].append(ref_col)
    return {table: list(by_name.values()) for table, by_name in out.items()} | {
        t: [] for t in tables if t not in out
    }


# Notes on what the source's user may not read (schema.notes); the writer lists them under "not recreated".
UNREAD_TRIGGERS = "triggers of the source not read: the source's user lacks the TRIGGER privilege"
UNREAD_VIEWS = "views of the source not read: the source's user lacks the SHOW VIEW privilege"
UNREAD = (UNREAD_TRIGGERS, UNREAD_VIEWS)


def mysql_without_trigger_privilege(conn: sa.Connection, schema: str | None, tables: list[str]) -> list[str]:
    """The tables whose triggers information_schema.TRIGGERS hides from this MySQL/MariaDB user: it
    lists a table's triggers only to a user with the TRIGGER privilege on it (globally, on the
    database or on the table). [] when the grants cannot be read (then nothing is claimed)."""
    import sqlalchemy as sa

    db = schema or conn.execute(sa.text("SELECT DATABASE()")).scalar()
    try:
        user = str(conn.execute(sa.text("SELECT CURRENT_USER()")).scalar() or "")
        role = conn.execute(sa.text("SELECT CURRENT_ROLE()")).scalar()
        name, _, host = user.rpartition("@")
        grantees = [f"'{name}'@'{host}'"] + ([f"'{role}'", f"'{role}'@''"] if role else [])
        params = {"grantees": grantees, "db": db}
        expanding: list[Any] = [sa.bindparam("grantees", expanding=True)]
        everywhere = conn.execute(
            sa.text(
                "SELECT 1 FROM information_schema.USER_PRIVILEGES WHERE GRANTEE IN :grantees "
                "AND PRIVILEGE_TYPE = 'TRIGGER' UNION ALL "
                "SELECT 1 FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE IN :grantees "
                "AND PRIVILEGE_TYPE = 'TRIGGER' AND :db LIKE TABLE_SCHEMA"
            ).bindparams(*expanding),
            params,
        ).first()
        if everywhere:
            return []
        granted = set(
            conn.execute(
                sa.text(
                    "SELECT TABLE_NAME FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE IN :grantees "
                    "AND PRIVILEGE_TYPE = 'TRIGGER' AND TABLE_SCHEMA = :db"
                ).bindparams(*expanding),
                params,
            )
            .scalars()
            .all()
        )
    except sa.exc.DBAPIError:
        return []
    return [t for t in tables if t not in granted]


def mysql_non_transactional(
    conn: sa.Connection, schema: str | None, tables: list[str]
) -> list[tuple[str, str]]:
    """(table, engine) of the MySQL/MariaDB tables among ``tables`` whose storage engine cannot roll
    back (MyISAM, Aria, MEMORY, CSV, ARCHIVE, ...: information_schema.ENGINES says TRANSACTIONS
    'NO'): a failed load would leave rows written into them, or them emptied (attack round 30)."""
    import sqlalchemy as sa

    rows = conn.execute(
        sa.text(
            "SELECT t.TABLE_NAME, t.ENGINE FROM information_schema.TABLES t "
            "LEFT JOIN information_schema.ENGINES e ON e.ENGINE = t.ENGINE "
            "WHERE t.TABLE_SCHEMA = COALESCE(:schema, DATABASE()) "
            "AND t.TABLE_TYPE NOT IN ('VIEW', 'SYSTEM VIEW', 'SEQUENCE') "  # system-versioned tables too
            "AND COALESCE(e.TRANSACTIONS, 'NO') <> 'YES'"
        ),
        {"schema": schema},
    ).all()
    wanted = set(tables)
    return sorted((str(name), str(engine)) for name, engine in rows if str(name) in wanted)


def mysql_small_integers(conn: sa.Connection, schema: str | None, table: str, columns: list[str]) -> set[str]:
    """The TINYINT(1) columns of ``table`` holding a value other than 0 and 1: MySQL's BOOLEAN is
    TINYINT(1), but legacy schemas keep small numbers in it too (a 0-5 rating); taken for a boolean
    by its type alone, every non-zero value came back as 1 (attack round 30). One scan of the table."""
    import sqlalchemy as sa

    if not columns:
        return set()
    cols: list[Any] = [sa.column(c) for c in columns]
    tests = [sa.func.max(sa.case((col.in_([0, 1]), 0), (col.is_(None), 0), else_=1)) for col in cols]
    row = conn.execute(sa.select(*tests).select_from(sa.table(table, *cols, schema=schema))).one()
    return {c for c, found in zip(columns, row, strict=True) if found}


def catalog_types(conn: sa.Connection, schema: str | None) -> dict[tuple[str, str], str]:
    """(table, column) -> the type as the catalog spells it, for the types SQLAlchemy does not know
    (PostgreSQL point, box, xml, ...; MySQL GEOMETRY): recreated as they were, not as 'unknown'."""
    import sqlalchemy as sa

    kind = family(conn)
    if kind == "postgresql":
        rows = conn.execute(
            sa.text(
                "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :schema AND a.attnum > 0 AND NOT a.attisdropped "
                "AND c.relkind IN ('r', 'p')"
            ),
            {"schema": schema or default_schema(conn)},
        ).all()
    elif kind == "mysql":
        rows = conn.execute(
            sa.text(
                "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = :schema"
            ),
            {"schema": schema or default_schema(conn)},
        ).all()
    else:
        return {}
    return {(table, column): str(spelled) for table, column, spelled in rows}


_JSON_VALID = re.compile(r"\s*json_valid\(`((?:[^`]|``)+)`\)\s*")


def _mariadb_checks(conn: sa.Connection, schema: str | None) -> list[tuple[str, str, str, str]]:
    """(table, constraint name, clause, level) of every CHECK in MariaDB's catalog; [] elsewhere."""
    import sqlalchemy as sa

    if family(conn) != "mysql" or not getattr(conn.dialect, "is_mariadb", False):
        return []
    rows = conn.execute(
        sa.text(
            "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE, LEVEL "
            "FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = :schema"
        ),
        {"schema": schema or default_schema(conn)},
    ).all()
    return [(str(t), str(n), str(c or ""), str(lv)) for t, n, c, lv in rows]


def mysql_json_columns(conn: sa.Connection, schema: str | None) -> set[tuple[str, str]]:
    """MariaDB's JSON is LONGTEXT with a column CHECK (json_valid(`col`)): (table, column) of each, so
    they are learned and recreated as JSON, not as free text."""
    out = set()
    for table, name, clause, _ in _mariadb_checks(conn, schema):
        found = _JSON_VALID.fullmatch(clause)
        if found and found.group(1).replace("``", "`") == name:
            out.add((table, name))
    return out


def mysql_column_checks(conn: sa.Connection, schema: str | None) -> dict[str, list[dict[str, Any]]]:
    """MariaDB's column-level CHECKs (`price DECIMAL CHECK (price > 0)`), which SQLAlchemy's
    reading of SHOW CREATE TABLE misses, by table; json_valid ones are JSON columns, not CHECKs.
    Recreated as table-level CHECKs, named {column}_check: the catalog's name, the column's, is the
    name MariaDB gives the column's UNIQUE key too (CREATE TABLE refused the two)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table, name, clause, level in _mariadb_checks(conn, schema):
        if level == "Column" and not _JSON_VALID.fullmatch(clause):
            out.setdefault(table, []).append({"name": f"{name}_check", "sqltext": clause})
    return out


def spread_sample(
    conn: sa.Connection, t: sa.TableClause, query: Any, key: tuple[str, ...], rows: int, limit: int
) -> list[Any] | None:
    """About ``limit`` rows from all over a big table, the same ones on every call: PostgreSQL's
    TABLESAMPLE (REPEATABLE), a hash of the key on MySQL/MariaDB, of the rowid on SQLite. None where
    the dialect offers no such filter (the caller reads the head instead)."""
    import sqlalchemy as sa
    from sqlalchemy.sql.util import ClauseAdapter

    kind = family(conn)
    every = max(2, rows // limit)
    if kind == "postgresql":
        percent = min(100.0, 110.0 * limit / rows)  # a little over: the LIMIT trims, rarely the sample
        sampled = sa.tablesample(t, sa.func.bernoulli(percent), seed=sa.literal(0))
        # Each column read as the query reads it, from the sample: money cast to numeric
        # (readable) was read as its text '$1,234.56', then taken for no number (all NULL).
        adapt = ClauseAdapter(sampled)
        query = query.with_only_columns(*[adapt.traverse(c) for c in query.selected_columns]).select_from(
            sampled
        )
        return list(conn.execute(query.order_by(None).limit(limit)).all())
    if kind == "mysql" and key:
        crc: Any = sa.func.crc32(sa.func.concat_ws(",", *[t.c[k] for k in key]))
        return list(conn.execute(query.where(crc % every == 0).limit(limit)).all())
    if kind == "sqlite":
        rowid: Any = sa.literal_column("rowid")
        hashed = (rowid * 2654435761) % 4294967296
        try:
            with conn.begin_nested():
                return list(conn.execute(query.where(hashed % every == 0).limit(limit)).all())
        except sa.exc.OperationalError:  # a WITHOUT ROWID table
            return None
    return None


def exact_count(conn: sa.Connection, table: sa.TableClause) -> int:
    import sqlalchemy as sa

    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def triggers(
    conn: sa.Connection, schema: str | None, tables: list[str]
) -> dict[str, list[tuple[str, str, str | None]]]:
    """User triggers per table: (name, full CREATE TRIGGER, PostgreSQL function definition or None)."""
    import sqlalchemy as sa

    kind = family(conn)
    out: dict[str, list[tuple[str, str, str | None]]] = {}
    if kind == "postgresql":
        rows = conn.execute(
            sa.text(
                "SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid), pg_get_functiondef(t.tgfoid) "
                "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE NOT t.tgisinternal AND n.nspname = :schema ORDER BY c.relname, t.tgname"
            ),
            {"schema": schema or default_schema(conn)},
        ).all()
    elif kind == "mysql":
        rows = conn.execute(
            sa.text(
                "SELECT EVENT_OBJECT_TABLE, TRIGGER_NAME, "
                "CONCAT('CREATE TRIGGER `', REPLACE(TRIGGER_NAME, '`', '``'), '` ', ACTION_TIMING, ' ', "
                "EVENT_MANIPULATION, ' ON `', REPLACE(EVENT_OBJECT_TABLE, '`', '``'), '` FOR EACH ROW ', "
                "ACTION_STATEMENT), NULL FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = :schema "
                "ORDER BY EVENT_OBJECT_TABLE, ACTION_ORDER"
            ),
            {"schema": schema or default_schema(conn)},
        ).all()
    elif kind == "sqlite":
        rows = conn.execute(
            sa.text(
                "SELECT tbl_name, name, sql, NULL FROM sqlite_master "
                "WHERE type = 'trigger' ORDER BY tbl_name, name"
            )
        ).all()
    else:
        return out
    wanted = set(tables)
    for table, name, sql, function in rows:
        if table in wanted and sql:
            out.setdefault(table, []).append((name, sql, function))
    return out


def has_uuid_type(conn: sa.Connection) -> bool:
    """A MySQL-family server with a native UUID type: MariaDB 10.7 and later (MySQL has none)."""
    if family(conn) != "mysql" or not getattr(conn.dialect, "is_mariadb", False):
        return False
    return tuple(conn.dialect.server_version_info or (0,)) >= (10, 7)


def database_names(conn: sa.Connection) -> tuple[set[str], set[str]]:
    """(every database (MySQL/MariaDB) or schema (PostgreSQL) the connection's user sees, those of
    them the connection itself is in): what a qualified name in a view's or trigger's SQL may
    reach. SQLite: none (a view or trigger there cannot name an attached database)."""
    import sqlalchemy as sa

    kind = family(conn)
    if kind == "mysql":
        every = conn.execute(sa.text("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")).scalars()
        own = conn.execute(sa.text("SELECT DATABASE()")).scalar()
    elif kind == "postgresql":
        every = conn.execute(sa.text("SELECT nspname FROM pg_catalog.pg_namespace")).scalars()
        own = conn.execute(sa.text("SELECT current_schema()")).scalar()
    else:
        return set(), set()
    return {str(n) for n in every}, ({str(own)} if own else set())


# A name written before a '.' (a bare word, not the tail of a longer one, or a quoted identifier),
# and the name after it.
_IDENT = r'([A-Za-z_][\w$]*)|`((?:[^`]|``)+)`|"((?:[^"]|"")+)"'
_QUALIFIER = re.compile(rf"(?<![\w$])(?:{_IDENT})\s*\.(?=\s*(?:{_IDENT})?)")


def _ident(bare: str, backquoted: str, quoted: str) -> str:
    return (bare or backquoted.replace("``", "`") or quoted.replace('""', '"')).lower()


def qualifiers(sql: str) -> set[tuple[str, str]]:
    """Every (name, next name), in lower case, that the SQL writes as ``name.next``: a database or
    schema and its table or function, or a table or alias and its column ("next" is '' where no
    name follows). String literals and comments are read too (a trigger may build SQL in a
    string): more, never fewer, names."""
    return {(_ident(*m[:3]), _ident(*m[3:])) for m in _QUALIFIER.findall(sql)}


def places_named(kind: str, statements: Sequence[str], columns: Mapping[str, frozenset[str]]) -> list[str]:
    """The schemas (PostgreSQL) or databases (MySQL/MariaDB), in lower case, that SQL of a view,
    trigger or routine may name: every ``name.next`` (more, never fewer: an alias too), but for a
    table's column (``columns``: table -> its columns, lower case: ``orders.qty`` is a column of
    table orders, also beside a database named orders), then PostgreSQL's ``SET search_path``
    schemas (which it names bare). The writer keeps a view that names another database out of
    the target (writer._reaches); the guard keeps the target out of a database the source's
    views name (guard.Identity.named)."""
    pairs = set().union(*(qualifiers(sql) for sql in statements))
    named = sorted({q for q, after in pairs if after not in columns.get(q, ())})
    if kind == "postgresql":
        paths = {p.lower() for sql in statements for p in search_path_schemas(sql)}
        named += sorted(paths - set(named))
    return named


_SEARCH_PATH = re.compile(r"""\bsearch_path\s*(?:=|\bto\b)\s*([^;$\n]+)""", re.IGNORECASE)
_BUILT_SQL = re.compile(
    r"\b(?:execute\s+(?!function\b|procedure\b)|query_to_xml(?:schema)?\s*\(|"
    r"query_to_xml_and_xmlschema\s*\(|set_config\s*\(|cursor_to_xml\s*\()",
    re.IGNORECASE,
)


def search_path_schemas(sql: str) -> list[str]:
    """The schemas a PostgreSQL function's ``SET search_path = a, "b"`` (or a SET inside its body)
    lists: its unqualified names are looked up there."""
    out = []
    for listed in _SEARCH_PATH.findall(sql):
        for part in listed.split(","):
            name = part.strip().strip("'").strip('"').strip()
            if name and name.lower() not in {"default", "$user", "pg_temp"}:
                out.append(name)
    return out


def builds_sql(sql: str) -> bool:
    """Whether PostgreSQL SQL builds SQL as it runs (PL/pgSQL EXECUTE, query_to_xml, set_config):
    what that SQL names cannot be read from the text. A trigger's EXECUTE FUNCTION is no such thing."""
    return bool(_BUILT_SQL.search(sql))


def views(conn: sa.Connection, schema: str | None) -> list[tuple[str, str, bool]]:
    """(name, definition, materialized) of every view; definitions as the catalog gives them."""
    import sqlalchemy as sa

    insp = sa.inspect(conn)
    out = []
    for name in insp.get_view_names(schema=schema):
        try:
            out.append((name, insp.get_view_definition(name, schema=schema) or "", False))
        except Exception:  # a view we may not read: listed without its definition
            out.append((name, "", False))
    if family(conn) == "postgresql":
        for name in insp.get_materialized_view_names(schema=schema):
            out.append((name, insp.get_view_definition(name, schema=schema) or "", True))
    return out


def transactional_sqlite(engine: sa.Engine) -> None:
    """Make pysqlite run DDL inside our transaction (its default commits before CREATE/DROP)."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # no implicit transactions: we say BEGIN ourselves

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")


def finish_sqlite_rollback(path: str) -> str | None:
    """Roll back what a failed write left in the SQLite file at ``path``; None once it is as it was,
    else SQLite's words for why not (no data values in them).

    After a full disk or a file size limit, SQLite's pager is in its error state: closing the
    connection leaves the journal hot, to be rolled back by the next connection that reads the
    file with write access. This is that connection. A read-only one then proves it: it refuses
    a file whose journal is still hot (SQLITE_READONLY_ROLLBACK)."""
    import sqlite3
    from pathlib import Path
    from urllib.parse import quote

    if not Path(f"{path}-journal").exists():
        return None
    try:
        for uri in (f"file:{quote(path)}?mode=rw", f"file:{quote(path)}?mode=ro"):
            con = sqlite3.connect(uri, uri=True, timeout=30)
            try:
                con.execute("SELECT count(*) FROM sqlite_master").fetchone()
            finally:
                con.close()
    except sqlite3.Error as err:
        return str(err).splitlines()[0] if str(err) else type(err).__name__
    return None


# Case- (and trailing-space-) sensitive utf8mb4 collations, best first: MariaDB's NO PAD binary,
# MySQL 8's (NO PAD), then the PAD SPACE binary both have.
_BINARY_COLLATIONS = ("utf8mb4_nopad_bin", "utf8mb4_0900_bin", "utf8mb4_bin")


def binary_collation(conn: sa.Connection) -> str:
    """The utf8mb4 collation of this MySQL/MariaDB server that compares strings as PostgreSQL and
    SQLite do by default: code point by code point, case and trailing spaces included."""
    import sqlalchemy as sa

    cached = conn.info.get("relsynth_binary_collation")
    if cached:
        return str(cached)
    have = set(
        conn.execute(
            sa.text(
                "SELECT COLLATION_NAME FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN :names"
            ).bindparams(sa.bindparam("names", expanding=True)),
            {"names": list(_BINARY_COLLATIONS)},
        )
        .scalars()
        .all()
    )
    found = next((c for c in _BINARY_COLLATIONS if c in have), "utf8mb4_bin")
    conn.info["relsynth_binary_collation"] = found
    return found


# What a MariaDB source has that relsynth does not copy (schema.notes): listed under "not recreated".
UNVERSIONED = "WITH SYSTEM VERSIONING of the source's tables (here they keep no history)"
ROUTINES = (
    "stored functions and procedures of the source (relsynth copies none: create them, and a view "
    "or trigger calling one, yourself)"
)
LONE_SEQUENCES = "sequences of the source that no column's DEFAULT draws from"
# What `sample --target` leaves out of a model file's schema (model/trust.py): never silent.
MODEL_SQL = "SQL from the model file"
NOT_COPIED = (*UNREAD, UNVERSIONED, ROUTINES, LONE_SEQUENCES, MODEL_SQL)
# A foreign key the source has and the target will not (its parent is not part of the run):
# schema.notes "<table>: foreign key ... not recreated: why", said under changed: by the DDL.
FK_NOT_RECREATED = ") not recreated: "
INVISIBLE = "relsynth_invisible"  # a MariaDB/MySQL table option: its INVISIBLE columns, as a JSON list
VERSIONED = "relsynth_system_versioning"  # a MariaDB table option: WITH SYSTEM VERSIONING (implicit period)
# MariaDB table options, as JSON: the declared ROW START/ROW END columns of a versioned table
# ([start, end, start's definition, end's definition], left out of the columns and added back with
# the versioning), the application-time periods ([[name, start, end], ...]) and the WITHOUT
# OVERLAPS keys ([[key name or null for the primary key, [columns], period], ...]) that relsynth
# does not enforce while generating (the rows of a WITHOUT OVERLAPS key are moved apart before the
# load: exclusion.settle) and adds after the load.
SYSTEM_PERIOD = "relsynth_system_period"
# PostgreSQL table inheritance (INHERITS, not partitions), as JSON lists of table names: a parent's
# children, read FROM ONLY the parent (its own rows), and a child's parents (no key inferred between).
INHERITED_BY = "relsynth_inherited_by"
INHERITS = "relsynth_inherits"
PERIODS = "relsynth_periods"
OVERLAPS = "relsynth_without_overlaps"
MARIADB_NEXTVAL = re.compile(
    r"^\s*nextval\(\s*(?:`((?:[^`]|``)+)`\.)?`((?:[^`]|``)+)`\s*\)\s*$", re.IGNORECASE
)


@dataclass(frozen=True)
class MysqlCatalog:
    """What SQLAlchemy's reading of SHOW CREATE TABLE misses on MySQL/MariaDB, from information_schema."""

    defaults: dict[tuple[str, str], str]  # (table, column) -> COLUMN_DEFAULT (MariaDB's spelling)
    invisible: dict[str, list[str]]  # table -> its INVISIBLE columns
    versioned: list[str]  # tables WITH SYSTEM VERSIONING
    periods: set[str]  # those of them that declare their ROW START/ROW END columns
    sequences: list[str]  # MariaDB SEQUENCE objects
    routines: list[str]  # stored functions and procedures
    # (table, column) -> its ON UPDATE expression: SQLAlchemy keeps it only after an unquoted DEFAULT
    on_update: dict[tuple[str, str], str] = field(default_factory=dict)


_ON_UPDATE_EXTRA = re.compile(r"\bon update (\w+(?:\(\d*\))?)", re.IGNORECASE)


def mysql_catalog(conn: sa.Connection, schema: str | None) -> MysqlCatalog:
    import sqlalchemy as sa

    db = schema or conn.execute(sa.text("SELECT DATABASE()")).scalar()
    mariadb = bool(getattr(conn.dialect, "is_mariadb", False))
    defaults: dict[tuple[str, str], str] = {}
    invisible: dict[str, list[str]] = {}
    periods: set[str] = set()
    on_update: dict[tuple[str, str], str] = {}
    for table, column, default, extra, generation in conn.execute(
        sa.text(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_DEFAULT, EXTRA, GENERATION_EXPRESSION "
            "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = :db ORDER BY TABLE_NAME, ORDINAL_POSITION"
        ),
        {"db": db},
    ):
        words = str(extra or "").upper()
        # MariaDB 10.11 says ROW START/ROW END in GENERATION_EXPRESSION (EXTRA: STORED GENERATED)
        if any(w in f"{words} {str(generation or '').upper()}" for w in ("ROW START", "ROW END")):
            periods.add(table)
        elif "INVISIBLE" in words.split():
            invisible.setdefault(table, []).append(column)
        if mariadb and default is not None and str(default).upper() != "NULL":
            defaults[(table, column)] = str(default)
        updated = _ON_UPDATE_EXTRA.search(str(extra or ""))
        if updated:
            on_update[(table, column)] = updated.group(1)
    kinds: dict[str, list[str]] = {}
    for table, kind in conn.execute(
        sa.text(
            "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = :db "
            "AND TABLE_TYPE IN ('SYSTEM VERSIONED', 'SEQUENCE') ORDER BY TABLE_NAME"
        ),
        {"db": db},
    ):
        kinds.setdefault(kind, []).append(table)
    routines = list(
        conn.execute(
            sa.text(
                "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = :db "
                "ORDER BY ROUTINE_NAME"
            ),
            {"db": db},
        ).scalars()
    )
    return MysqlCatalog(
        defaults,
        invisible,
        kinds.get("SYSTEM VERSIONED", []),
        periods,
        kinds.get("SEQUENCE", []),
        routines,
        on_update,
    )


def mariadb_sequence(conn: sa.Connection, schema: str | None, name: str) -> tuple[int, int, int, int, bool]:
    """(start, increment, min, max, cycle) of a MariaDB SEQUENCE (SELECT on it is enough)."""
    import sqlalchemy as sa

    # Its name quoted by the compiler, not put into text(): a ' :x' in it would be a bind parameter.
    fields = ("start_value", "increment", "minimum_value", "maximum_value", "cycle_option")
    query: Any = sa.select(*(sa.column(f) for f in fields)).select_from(sa.table(name, schema=schema))
    row: Any = conn.execute(query).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3]), bool(row[4])


_IDENT = r"`((?:[^`]|``)+)`"
_PERIOD_LINE = re.compile(
    rf"^\s*PERIOD\s+FOR\s+(SYSTEM_TIME|{_IDENT})\s*\(\s*{_IDENT}\s*,\s*{_IDENT}\s*\)", re.I
)
_KEY_LINE = re.compile(rf"^\s*(PRIMARY\s+KEY|UNIQUE\s+KEY\s+{_IDENT})\s*\((.*)\)\s*,?\s*$", re.I)
_COLUMN_LINE = re.compile(rf"^\s*{_IDENT}\s")


def _unquote(name: str) -> str:
    return name.replace("``", "`")


@dataclass(frozen=True)
class MariadbPeriods:
    """A MariaDB table's periods, from SHOW CREATE TABLE (information_schema.PERIODS is 11.4+)."""

    system: tuple[str, str, str, str] | None  # ROW START, ROW END columns and their definitions
    periods: list[tuple[str, str, str]]  # application-time: (name, start, end)
    overlaps: list[tuple[str | None, list[str], str]]  # WITHOUT OVERLAPS keys: (name, columns, period)


def mariadb_periods(conn: sa.Connection, schema: str | None, table: str) -> MariadbPeriods:
    prep = conn.dialect.identifier_preparer
    where = f"{prep.quote(schema)}." if schema else ""
    create = str(conn.exec_driver_sql(f"SHOW CREATE TABLE {where}{prep.quote(table)}").one()[1])
    definitions: dict[str, str] = {}
    system = None
    periods: list[tuple[str, str, str]] = []
    overlaps: list[tuple[str | None, list[str], str]] = []
    for line in create.splitlines():
        m = _COLUMN_LINE.match(line)
        if m:
            definitions[_unquote(m.group(1))] = line.strip().rstrip(",")
            continue
        m = _PERIOD_LINE.match(line)
        if m:
            start, end = _unquote(m.group(3)), _unquote(m.group(4))
            if m.group(2) is None:
                system = (start, end, definitions.get(start, ""), definitions.get(end, ""))
            else:
                periods.append((_unquote(m.group(2)), start, end))
            continue
        m = _KEY_LINE.match(line)
        if m and re.search(r"\bWITHOUT\s+OVERLAPS\s*$", m.group(3), re.I):
            parts = re.findall(_IDENT, m.group(3))
            if parts:
                name = None if m.group(2) is None else _unquote(m.group(2))
                overlaps.append((name, [_unquote(p) for p in parts[:-1]], _unquote(parts[-1])))
    return MariadbPeriods(system, periods, overlaps)


_OUTSIDE_NEEDS = """
WITH obj AS (
  SELECT 'pg_attrdef'::regclass AS classid, d.oid AS objid, 'column' AS kind, n.nspname AS nsp,
         c.relname AS owner, a.attname AS item
  FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
  WHERE n.nspname = :schema
  UNION ALL
  SELECT 'pg_constraint'::regclass, k.oid, 'check', n.nspname, c.relname, k.conname
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = :schema AND k.contype = 'c'
  UNION ALL
  SELECT 'pg_constraint'::regclass, k.oid, 'domain', n.nspname, t.typname, ''
  FROM pg_constraint k JOIN pg_type t ON t.oid = k.contypid JOIN pg_namespace n ON n.oid = t.typnamespace
  UNION ALL
  SELECT 'pg_type'::regclass, t.oid, 'domain', n.nspname, t.typname, ''
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'd'
)
SELECT DISTINCT o.kind, o.nsp, o.owner, o.item,
  CASE WHEN p.oid IS NOT NULL THEN 'function ' || pn.nspname || '.' || p.proname || '()'
       ELSE 'type ' || tn.nspname || '.' || t.typname END
FROM obj o JOIN pg_depend dep ON dep.classid = o.classid AND dep.objid = o.objid AND dep.deptype = 'n'
LEFT JOIN pg_proc p ON dep.refclassid = 'pg_proc'::regclass AND p.oid = dep.refobjid
LEFT JOIN pg_namespace pn ON pn.oid = p.pronamespace
LEFT JOIN pg_type t ON dep.refclassid = 'pg_type'::regclass AND t.oid = dep.refobjid
LEFT JOIN pg_namespace tn ON tn.oid = t.typnamespace
WHERE (p.oid IS NOT NULL AND pn.nspname NOT IN ('pg_catalog', 'information_schema'))
   OR (t.oid IS NOT NULL AND tn.nspname NOT IN ('pg_catalog', 'information_schema')
       AND t.typtype NOT IN ('e', 'd', 'c'))
ORDER BY 1, 2, 3, 4, 5
"""


def outside_needs(conn: sa.Connection, schema: str | None) -> list[tuple[str, str, str, str, str]]:
    """PostgreSQL: what the schema's column defaults and generated expressions ('column', schema,
    table, column), CHECKs ('check', schema, table, constraint) and every domain ('domain', schema,
    domain, '') use that is neither built in nor recreated by relsynth: a function not in pg_catalog
    (a user-defined one, an extension's such as uuid_generate_v4()) or such a type (citext), each
    as 'function schema.name()' or 'type schema.name'. From pg_depend: what the server recorded.
    A composite type is not one: a column of it is TEXT where the target lacks it, its own where
    the target has it (ddl), and a DEFAULT row('x', 1)::addr fills it there."""
    import sqlalchemy as sa

    if family(conn) != "postgresql":
        return []
    rows = conn.execute(sa.text(_OUTSIDE_NEEDS), {"schema": schema or default_schema(conn)}).all()
    return [(str(a), str(b), str(c), str(d), str(e)) for a, b, c, d, e in rows]


def next_identities(conn: sa.Connection, schema: str | None) -> dict[str, int]:
    """MySQL/MariaDB: each table's AUTO_INCREMENT option (the next number it gives); SQLite: one
    past sqlite_sequence's counter of each AUTOINCREMENT table. Only those past 1."""
    import sqlalchemy as sa

    kind = family(conn)
    rows: list[tuple[Any, Any]]
    if kind == "mysql":
        rows = [
            (name, value)
            for name, value in conn.execute(
                sa.text(
                    "SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = :schema AND AUTO_INCREMENT IS NOT NULL"
                ),
                {"schema": schema or default_schema(conn)},
            )
        ]
    elif kind == "sqlite":
        counters = sa.table("sqlite_sequence", sa.column("name"), sa.column("seq"), schema=schema)
        master = sa.table("sqlite_master", sa.column("name"), schema=schema)
        if not conn.execute(sa.select(master.c.name).where(master.c.name == "sqlite_sequence")).first():
            return {}
        rows = [(name, seq) for name, seq in conn.execute(sa.select(counters.c.name, counters.c.seq))]
    else:
        return {}
    out: dict[str, int] = {}
    for name, value in rows:
        try:
            number = int(value) + (kind == "sqlite")  # the counter is the last number given
        except (TypeError, ValueError):
            continue
        if number > 1:
            out[str(name)] = number
    return out


def inheritance(conn: sa.Connection, schema: str | None) -> dict[str, list[str]]:
    """PostgreSQL: each table of the schema that INHERITS from another (not a partition), with its
    parents of the same schema."""
    import sqlalchemy as sa

    if family(conn) != "postgresql":
        return {}
    rows = conn.execute(
        sa.text(
            "SELECT c.relname, p.relname FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND p.relnamespace = c.relnamespace AND NOT c.relispartition "
            "AND c.relkind IN ('r', 'p') ORDER BY i.inhrelid, i.inhseqno"
        ),
        {"schema": schema or default_schema(conn)},
    ).all()
    out: dict[str, list[str]] = {}
    for child, parent in rows:
        out.setdefault(child, []).append(parent)
    return out


def inheritance_children(conn: sa.Connection, schema: str | None) -> dict[str, list[str]]:
    """PostgreSQL: each table of the schema that some table INHERITS from (not a partition's
    parent), with every such child, of any schema, as schema.name: the parent is read FROM ONLY
    it, whether or not its children are read too (a child in another schema, or left out with
    --exclude, had its rows read as the parent's)."""
    import sqlalchemy as sa

    if family(conn) != "postgresql":
        return {}
    rows = conn.execute(
        sa.text(
            "SELECT p.relname, cn.nspname || '.' || c.relname FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "JOIN pg_namespace n ON n.oid = p.relnamespace JOIN pg_namespace cn ON cn.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND NOT c.relispartition AND p.relkind = 'r' "
            "AND c.relkind IN ('r', 'p', 'f') ORDER BY 1, 2"
        ),
        {"schema": schema or default_schema(conn)},
    ).all()
    out: dict[str, list[str]] = {}
    for parent, child in rows:
        out.setdefault(str(parent), []).append(str(child))
    return out


def source_table(name: str, *columns: Any, schema: str | None, only: bool = False) -> sa.TableClause:
    """A lightweight table to SELECT from; ``only``: a PostgreSQL parent of table inheritance, read
    FROM ONLY it (its own rows, not its children's)."""
    import sqlalchemy as sa

    if not only:
        return sa.table(name, *columns, schema=schema)
    return _only_table()(name, *columns, schema=schema)


_ONLY: list[Any] = []


def _only_table() -> Any:
    """The TableClause rendered as ONLY name in a PostgreSQL FROM (made once, on first use)."""
    if _ONLY:
        return _ONLY[0]
    from sqlalchemy.ext.compiler import compiles
    from sqlalchemy.sql.expression import TableClause

    class OnlyTable(TableClause):
        inherit_cache = True

    @compiles(OnlyTable, "postgresql")
    def _render(element: Any, compiler: Any, **kw: Any) -> str:
        return "ONLY " + compiler.visit_table(element, **kw)

    _ONLY.append(OnlyTable)
    return OnlyTable


def referenced_places(conn: sa.Connection, schemas: Sequence[str | None]) -> set[str]:
    """The other schemas (PostgreSQL) or databases (MySQL/MariaDB) that foreign keys of the
    source's tables point into: the source's data lives there too (a lookup table in schema
    ``ref``), so a target there would write beside it. SQLite has none."""
    given = [s or default_schema(conn) for s in schemas] or [default_schema(conn)]
    names = [n for n in given if n]
    found: set[str] = set()
    todo = list(names)
    while todo:  # and on: app -> mid.site -> deep.region makes deep the source's too
        reached = _referenced(conn, todo) - set(names) - found
        found |= reached
        todo = sorted(reached)
    return found


def _referenced(conn: sa.Connection, names: list[str]) -> set[str]:
    """The schemas (databases) the foreign keys of tables in ``names`` point into."""
    import sqlalchemy as sa

    kind = family(conn)
    if kind == "postgresql":
        rows = conn.execute(
            sa.text(
                "SELECT DISTINCT rn.nspname FROM pg_constraint c "
                "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace "
                "JOIN pg_class r ON r.oid = c.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace "
                "WHERE c.contype = 'f' AND tn.nspname = ANY(:names)"
            ),
            {"names": names},
        ).scalars()
    elif kind == "mysql":
        rows = conn.execute(
            sa.text(
                "SELECT DISTINCT REFERENCED_TABLE_SCHEMA FROM information_schema.KEY_COLUMN_USAGE "
                "WHERE REFERENCED_TABLE_SCHEMA IS NOT NULL AND TABLE_SCHEMA IN :names"
            ).bindparams(sa.bindparam("names", expanding=True)),
            {"names": names},
        ).scalars()
    else:
        return set()
    return {str(r) for r in rows if r is not None}


def code_places(conn: sa.Connection, schemas: Sequence[str | None]) -> list[tuple[str, str]]:
    """(schema or database, what) for every other schema (MySQL/MariaDB: database) that a view,
    trigger, routine or event of the source's schemas names in its SQL: ``what`` is the first such
    object, "view v_orders" and the like. Written there, the target would change what the
    source's view returns, or what its trigger or event writes into (see places_named: an alias
    may be counted too, never a name missed). SQLite has none (its views cannot name an attached
    database). Only names and catalog text are read, never a row."""
    kind = family(conn)
    if kind not in {"postgresql", "mysql"}:
        return []
    names = [n for n in (s or default_schema(conn) for s in schemas or [None]) if n]
    if not names:
        return []
    if kind == "postgresql":
        objects, columns = _pg_code(conn, names)
    else:
        objects, columns = _mysql_code(conn, names)
    own = {n.lower() for n in names} | {"pg_catalog", "information_schema"}
    out: dict[str, str] = {}  # each place with the first object that names it
    for what, statements, trigger in objects:
        named = places_named(kind, [s for s in statements if s], columns)
        for place in named:
            if place not in own and not (trigger and place in {"new", "old"}):
                out.setdefault(place, what)
    if kind == "postgresql":
        for place, what in [*_pg_kin(conn, names), *_pg_uses(conn, names), *_pg_reach(conn)]:
            if place not in own:
                out.setdefault(place, what)
    return sorted(out.items())


KIN = ("inheritance child ", "partition ", "parent table ")  # code_places: what _pg_kin names


def _pg_kin(conn: sa.Connection, names: list[str]) -> list[tuple[str, str]]:
    """PostgreSQL: the other schemas holding an inheritance child or a partition of a source
    table (at any depth: a SELECT of the source's table returns that child's rows, and a DROP of it
    took them from the source: 1000 -> 500), or a parent the source's table inherits from or is a
    partition of. Each with the first such table ("partition tgt.ev of table ev"). Catalog reads only."""
    import sqlalchemy as sa

    rows = conn.execute(
        sa.text(
            "WITH RECURSIVE mine AS (SELECT c.oid FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ANY(:names) AND c.relkind IN ('r', 'p', 'f')), "
            "down(oid, via) AS (SELECT oid, oid FROM mine UNION "
            "SELECT i.inhrelid, d.via FROM pg_inherits i JOIN down d ON i.inhparent = d.oid), "
            "up(oid, via) AS (SELECT oid, oid FROM mine UNION "
            "SELECT i.inhparent, u.via FROM pg_inherits i JOIN up u ON i.inhrelid = u.oid), "
            "kin(side, oid, via) AS (SELECT 'down', oid, via FROM down "
            "UNION ALL SELECT 'up', oid, via FROM up) "
            "SELECT k.side, n.nspname, c.relname, c.relispartition, v.relname, v.relispartition FROM kin k "
            "JOIN pg_class c ON c.oid = k.oid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_class v ON v.oid = k.via WHERE n.nspname <> ALL(:names) ORDER BY 1, 2, 3, 5"
        ),
        {"names": names},
    ).all()
    out = []
    for side, schema, name, partition, via, via_partition in rows:
        if side == "down":
            what = f"{KIN[1] if partition else KIN[0]}{schema}.{name} of table {via}"
        else:
            what = f"{KIN[2]}{schema}.{name} of {'partition' if via_partition else 'table'} {via}"
        out.append((str(schema).lower(), what))
    return out


ANY_SCHEMA = "*"  # code_places: a place every schema of the source's database is (an event trigger)


def _pg_uses(conn: sa.Connection, names: list[str]) -> list[tuple[str, str]]:
    """PostgreSQL: tables and sequences of other schemas that the source's defaults, row-level
    policies and constraints use, by the catalog's dependencies: a default drawing from a sequence
    there (writing there advanced it: the source's next invoice number 51 -> 3001), a policy
    reading a table there (rewriting it hid 500 of 500 rows from the source's reader)."""
    import sqlalchemy as sa

    rows = conn.execute(
        sa.text(
            "SELECT DISTINCT o.rank, rn.nspname, rc.relname, rc.relkind, t.relname, o.what FROM pg_depend d "
            "JOIN (SELECT 1 AS rank, 'pg_attrdef'::regclass AS cls, oid, adrelid AS rel, 'default' AS what "
            "FROM pg_attrdef UNION ALL SELECT 2, 'pg_policy'::regclass, oid, polrelid, 'row-level policy' "
            "FROM pg_policy UNION ALL SELECT 3, 'pg_constraint'::regclass, oid, conrelid, 'constraint' "
            "FROM pg_constraint) o ON o.cls = d.classid AND o.oid = d.objid "
            "JOIN pg_class t ON t.oid = o.rel JOIN pg_namespace tn ON tn.oid = t.relnamespace "
            "JOIN pg_class rc ON rc.oid = d.refobjid JOIN pg_namespace rn ON rn.oid = rc.relnamespace "
            "WHERE d.refclassid = 'pg_class'::regclass "
            "AND tn.nspname = ANY(:names) AND rn.nspname <> ALL(:names) ORDER BY 1, 2, 3, 5"
        ),
        {"names": names},
    ).all()
    out = []
    for _, schema, name, kind, table, what in rows:
        thing = "sequence" if kind == "S" else "table"
        out.append((str(schema).lower(), f"{thing} {schema}.{name} that a {what} of table {table} uses"))
    return out


def _pg_reach(conn: sa.Connection) -> list[tuple[str, str]]:
    """PostgreSQL: what reaches schemas of the source's database without naming them. An event
    trigger fires on the CREATE statements of any schema (one logging DDL into the source's table
    wrote there when the target was another schema of that database: ANY_SCHEMA). A search_path
    (the server's, the database's or a role's setting) makes a trigger's unqualified INSERT INTO
    audit find the first schema holding an audit: the schemas it lists, and with "$user" every
    schema named after a role. Catalog reads only."""
    import sqlalchemy as sa

    out = [
        (ANY_SCHEMA, f"event trigger {name}")
        for (name,) in conn.execute(
            sa.text("SELECT evtname FROM pg_event_trigger WHERE evtenabled <> 'D' ORDER BY evtname")
        )
    ]
    paths = [
        str(v)
        for (v,) in conn.execute(sa.text("SELECT reset_val FROM pg_settings WHERE name = 'search_path'"))
    ]
    for (config,) in conn.execute(
        sa.text(
            "SELECT unnest(setconfig) FROM pg_db_role_setting WHERE setdatabase IN "
            "(0, (SELECT oid FROM pg_database WHERE datname = current_database()))"
        )
    ):
        key, _, value = str(config).partition("=")
        if key.strip().lower() == "search_path":
            paths.append(value)
    users = False
    for path in paths:
        for item in path.split(","):
            name = item.strip()
            if name.startswith('"') and name.endswith('"') and len(name) > 1:
                name = name[1:-1].replace('""', '"')
            if name == "$user":
                users = True
            elif name:
                out.append((name.lower(), "search_path"))
    if users:
        roles = conn.execute(sa.text("SELECT rolname FROM pg_roles ORDER BY rolname"))
        out += [(str(r).lower(), 'search_path ("$user")') for (r,) in roles]
    return out


_Code = list[tuple[str, list[str], bool]]  # (what, its SQL, is a trigger)


def _table_columns(rows: Any) -> dict[str, frozenset[str]]:
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(str(table).lower(), set()).add(str(column).lower())
    return {t: frozenset(c) for t, c in columns.items()}


def _mysql_code(conn: sa.Connection, names: list[str]) -> tuple[_Code, dict[str, frozenset[str]]]:
    """MySQL/MariaDB: what information_schema shows the source's user (a definition it may not
    see is empty, and names nothing)."""
    import sqlalchemy as sa

    def rows(sql: str) -> list[Any]:
        query = sa.text(sql).bindparams(sa.bindparam("names", expanding=True))
        return list(conn.execute(query, {"names": names}).all())

    objects: _Code = []
    for name, sql in rows(
        "SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN :names"
    ):
        objects.append((f"view {name}", [str(sql or "")], False))
    for name, sql in rows(
        "SELECT TRIGGER_NAME, ACTION_STATEMENT FROM information_schema.TRIGGERS "
        "WHERE TRIGGER_SCHEMA IN :names"
    ):
        objects.append((f"trigger {name}", [str(sql or "")], True))
    for name, kind, sql in rows(
        "SELECT ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION FROM information_schema.ROUTINES "
        "WHERE ROUTINE_SCHEMA IN :names"
    ):
        objects.append((f"{str(kind).lower()} {name}", [str(sql or "")], False))
    for name, sql in rows(
        "SELECT EVENT_NAME, EVENT_DEFINITION FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN :names"
    ):
        objects.append((f"event {name}", [str(sql or "")], False))
    columns = _table_columns(
        rows("SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN :names")
    )
    return objects, columns


def _pg_code(conn: sa.Connection, names: list[str]) -> tuple[_Code, dict[str, frozenset[str]]]:
    """PostgreSQL: views (materialized too), triggers with their functions, and the functions and
    procedures of the schemas (not an extension's), printed under an empty search_path so that
    every table is named with its schema (``public.t`` too), then the search_path set back."""
    import sqlalchemy as sa

    path = conn.execute(sa.text("SELECT current_setting('search_path')")).scalar()
    conn.execute(sa.text("SELECT set_config('search_path', 'pg_catalog', true)"))
    try:
        objects: _Code = []
        for name, relkind, sql in conn.execute(
            sa.text(
                "SELECT c.relname, c.relkind, pg_get_viewdef(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY(:names) ORDER BY 1"
            ),
            {"names": names},
        ):
            what = "materialized view" if relkind == "m" else "view"
            objects.append((f"{what} {name}", [str(sql or "")], False))
        for name, sql, function in conn.execute(
            sa.text(
                "SELECT t.tgname, pg_get_triggerdef(t.oid), pg_get_functiondef(t.tgfoid) FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE NOT t.tgisinternal AND n.nspname = ANY(:names) ORDER BY 1"
            ),
            {"names": names},
        ):
            objects.append((f"trigger {name}", [str(sql or ""), str(function or "")], True))
        for name, prokind, sql, trigger in conn.execute(
            sa.text(
                "SELECT p.proname, p.prokind, pg_get_functiondef(p.oid), "
                "p.prorettype = 'pg_catalog.trigger'::regtype FROM pg_proc p "
                "JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE p.prokind IN ('f', 'p') AND n.nspname = ANY(:names) AND NOT EXISTS ("
                "SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid "
                "AND d.deptype = 'e') ORDER BY 1"
            ),
            {"names": names},
        ):
            what = "procedure" if prokind == "p" else "function"
            objects.append((f"{what} {name}", [str(sql or "")], bool(trigger)))  # NEW.x is no schema
        columns = _table_columns(
            conn.execute(
                sa.text(
                    "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY(:names) "
                    "AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
                ),
                {"names": names},
            )
        )
    finally:
        conn.execute(sa.text("SELECT set_config('search_path', :path, true)"), {"path": path})
    return objects, columns


def missing_types(conn: sa.Connection, schema: Schema, names: list[str]) -> frozenset[str]:
    """PostgreSQL to PostgreSQL: the source's own types (a composite type, an extension's such as
    PostGIS's geometry or citext) a column uses that the target does not know; CREATE TABLE failed."""
    import sqlalchemy as sa

    if family(conn) != "postgresql" or family(schema.dialect) != "postgresql":
        return frozenset()
    natives = {
        t.native
        for n in names
        for c in schema.table(n).columns
        for t in (c.type, c.type.item)
        if t is not None and t.name == "other" and t.native and not t.type_name
    }
    missing = set()
    for native in sorted(natives):
        try:
            with conn.begin_nested():
                known = conn.execute(sa.text("SELECT to_regtype(:t) IS NOT NULL"), {"t": native}).scalar()
        except sa.exc.DBAPIError:  # not even a type name the parser takes
            known = False
        if not known:
            missing.add(native)
    return frozenset(missing)
