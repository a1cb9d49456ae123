"""Reflect a live database into a Schema: the only module that reads catalog metadata.

One multi-table inspector call per kind of object (columns, keys, constraints, indexes), so a
40-table PostgreSQL database costs a handful of catalog queries. Everything runs inside the
read-only transaction that ``io.connect(read_only=True)`` opens.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from relsynth import dialects, exclusion
from relsynth.errors import RelsynthError, SchemaError, did_you_mean
from relsynth.io import connect, describe, parse_url
from relsynth.profile import profile_table, referenced_keys
from relsynth.schema import (
    Check,
    Column,
    Domain,
    EnumType,
    ForeignKey,
    Index,
    Inferred,
    Partitioning,
    PartitionSecurity,
    PgSequence,
    Policy,
    Schema,
    Table,
    Trigger,
    Unique,
    View,
    place,
)
from relsynth.sqltypes import INTEGER_TYPES, to_portable, type_key

if TYPE_CHECKING:
    import pandas as pd
    import sqlalchemy as sa

    from relsynth.infer import NearMiss

log = logging.getLogger("relsynth")

# Tables with a catalog estimate above this are not counted exactly (COUNT(*) would scan them).
EXACT_COUNT_LIMIT = 1_000_000
PROFILE_ROWS = 2_000

Progress = Callable[[str, int, int], None]


def reflect(
    url: str | sa.URL,
    *,
    schema: str | Sequence[str] | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    profile: bool = True,
    infer_keys: bool = True,
    progress: Progress | None = None,
) -> Schema:
    """Reflect the database at ``url`` (read-only) into a Schema.

    ``include``/``exclude`` are glob patterns on table names, as pg_dump's --table/--exclude-table.
    ``schema``: one database schema, or several (tables are then named 'schema.table', and foreign
    keys between the schemas are kept).
    ``profile`` reads up to a few thousand rows per table to decide kinds and detect personal data.
    ``infer_keys`` adds the foreign keys the database does not declare, found by name and value
    containment (relsynth/infer.py), marked inferred.
    """
    with connect(url, read_only=True) as conn:
        return reflect_connection(
            conn,
            schema=schema,
            include=include,
            exclude=exclude,
            profile=profile,
            infer_keys=infer_keys,
            progress=progress,
        )


def select_tables(names: Iterable[str], include: Sequence[str], exclude: Sequence[str]) -> list[str]:
    """Apply --include/--exclude globs; a pattern that matches nothing is an error, with a hint."""
    names = list(names)
    for pattern in (*include, *exclude):
        if not any(fnmatch.fnmatchcase(n, pattern) for n in names):
            raise RelsynthError(
                f"No table matches '{pattern}'." + (did_you_mean(pattern, names) or f" Tables: {_few(names)}")
            )
    chosen = [n for n in names if not include or any(fnmatch.fnmatchcase(n, p) for p in include)]
    return [n for n in chosen if not any(fnmatch.fnmatchcase(n, p) for p in exclude)]


def _few(names: list[str], k: int = 8) -> str:
    shown = ", ".join(sorted(names)[:k])
    return shown + (f", ... ({len(names)} in all)" if len(names) > k else "")


def _check_schema_name(insp: Any, conn: sa.Connection, schema: str | None) -> str | None:
    if schema is None:
        return None
    names = insp.get_schema_names()
    if schema not in names:
        raise SchemaError(
            f"Schema '{schema}' does not exist in the {describe(conn.engine.url)}."
            + (did_you_mean(schema, names) or f" Schemas: {', '.join(sorted(names))}")
        )
    return schema


def _multi(method: Callable[..., dict], schema: str | None, names: list[str]) -> dict[str, Any]:
    """Call a get_multi_* method and key the result by bare table name."""
    try:
        result = method(schema=schema, filter_names=names)
    except NotImplementedError:
        return {}
    return {key[1]: value for key, value in result.items()}


def reflect_connection(
    conn: sa.Connection,
    *,
    schema: str | Sequence[str] | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    profile: bool = True,
    infer_keys: bool = True,
    progress: Progress | None = None,
    keep: Sequence[str] | None = None,
    others: frozenset[str] | None = None,
) -> Schema:
    """Reflect through an open (read-only) connection; see :func:`reflect`.

    ``keep`` and ``others`` are set by :func:`_reflect_many` for one schema of several: the tables
    chosen there, and the qualified names of every table of the run (names become 'schema.table').
    """
    import sqlalchemy as sa

    if schema is not None and not isinstance(schema, str):
        wanted = list(dict.fromkeys(schema))
        if len(wanted) > 1:
            return _reflect_many(conn, wanted, include, exclude, profile, infer_keys, progress)
        schema = wanted[0] if wanted else None
    insp = sa.inspect(conn)
    schema = _check_schema_name(insp, conn, schema)
    where = describe(conn.engine.url) + (f", schema {schema}" if schema else "")
    all_names = sorted(insp.get_table_names(schema=schema))  # the catalog's order is no order
    part_keys, parts = dialects.partitions(conn, schema)
    my_parts = dialects.mysql_partitioning(conn, schema)
    part_parent = {p.name: p.parent for p in parts}
    names = [n for n in all_names if n not in part_parent]
    if not names:
        raise RelsynthError(
            f"No tables in the {where}: check the database name"
            + (" and --schema" if dialects.family(conn) == "postgresql" else "")
        )
    names = select_tables(names, include, exclude) if keep is None else [n for n in names if n in set(keep)]
    if not names:
        raise RelsynthError(f"--include/--exclude leave no table of the {where} to work on")
    # Before any row or count is read: a table whose rows row-level security hides is no empty table.
    dialects.refuse_hidden_rows(conn, [(schema, n) for n in names], describe(conn.engine.url))
    kept_parts = [p.name for p in parts if p.parent in names]
    notes: list[str] = []
    catalog: dialects.MysqlCatalog | None = None

    with_parts = names + kept_parts
    columns = _multi(insp.get_multi_columns, schema, names)
    pks = _multi(insp.get_multi_pk_constraint, schema, names)
    fks = _multi(insp.get_multi_foreign_keys, schema, with_parts)
    cloned = dialects.inherited_foreign_keys(conn, schema)  # PostgreSQL partitions' copies of one FK
    if cloned:
        fks = {t: [f for f in fs if (t, f["name"]) not in cloned] for t, fs in fks.items()}
    with warnings.catch_warnings():  # SQLite: _sqlite_indexes reads what SQLAlchemy misses or skips
        warnings.filterwarnings("ignore", message="Failed to look up filter predicate")
        warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index")
        uniques = _multi(insp.get_multi_unique_constraints, schema, names)  # reads SQLite's indexes
        indexes = _multi(insp.get_multi_indexes, schema, names)
    checks = _multi(insp.get_multi_check_constraints, schema, names)
    comments = _multi(insp.get_multi_table_comment, schema, names)
    options = _multi(insp.get_multi_table_options, schema, names)
    table_triggers = dialects.triggers(conn, schema, names)
    table_exclusions = exclusion.reflect(conn, schema, names)  # PostgreSQL's EXCLUDE constraints
    table_security = dialects.row_security(conn, schema, with_parts)  # a partition's own too
    inherits = {c: [p for p in ps if p in names] for c, ps in dialects.inheritance(conn, schema).items()}
    inherits = {c: ps for c, ps in inherits.items() if ps and c in names}
    inherited_by: dict[str, list[str]] = {}
    for child, parents in inherits.items():
        for parent in parents:
            inherited_by.setdefault(parent, []).append(child)
    for parent, children in dialects.inheritance_children(conn, schema).items():
        if parent in names and parent not in inherited_by:  # its children are not read with it
            inherited_by[parent] = children
    if any(type(c["type"]).__name__ == "NullType" for cols in columns.values() for c in cols):
        spelled = dialects.catalog_types(conn, schema)
        for table_name, cols in columns.items():
            for c in cols:
                if type(c["type"]).__name__ == "NullType":
                    c["catalog_type"] = spelled.get((table_name, c["name"]))
    if dialects.family(conn) == "mysql":
        # SQLAlchemy parses SHOW CREATE TABLE: a backtick in a name comes back doubled, and an FK
        # whose referenced table's name has one is lost. The catalog has them right.
        columns, pks, uniques, indexes = (
            dialects.undouble_backticks(x) for x in (columns, pks, uniques, indexes)
        )
        dialects.unescape_enum_values(columns)
        _tinyint1_numbers(conn, schema, columns, notes)
        fks = {**fks, **dialects.mysql_foreign_keys(conn, schema, with_parts, parsed=fks)}
        hidden = dialects.mysql_without_trigger_privilege(conn, schema, names)
        if hidden:  # information_schema.TRIGGERS shows them only to a user with TRIGGER: never silent
            notes.append(
                dialects.UNREAD_TRIGGERS + ("" if len(hidden) == len(names) else f" on table {_few(hidden)}")
            )
        for table_name, column_checks in dialects.mysql_column_checks(conn, schema).items():
            if table_name in checks:  # a table of this run
                have = {c["name"] for c in checks[table_name]}
                checks[table_name] += [c for c in column_checks if c["name"] not in have]
        for table_checks in checks.values():
            for c in table_checks:
                c["sqltext"] = dialects.standard_strings(c["sqltext"])
        catalog = _mysql_extras(conn, schema, names, columns, options, notes)
        if getattr(conn.dialect, "is_mariadb", False):
            _mariadb_periods(conn, schema, names, catalog, (columns, pks, uniques, indexes), options)
    for table_name, column_name in dialects.mysql_json_columns(conn, schema):  # names undoubled first
        for c in columns.get(table_name, []):
            if c["name"] == column_name:
                c["json"] = True
    extra_uniques: dict[str, list[tuple[str, ...]]] = {}
    fk_actions: dict[str, dict[tuple[str, ...], tuple[str, str]]] = {}
    if dialects.family(conn) == "sqlite":
        extra_uniques, fk_actions = dialects.sqlite_unique_and_actions(conn, names)
        _sqlite_generated(conn, schema, columns)
        _sqlite_clauses(conn, schema, columns, fks, options)
        _sqlite_indexes(conn, schema, indexes, names, notes)

    enums: tuple[EnumType, ...] = ()
    domains: tuple[Domain, ...] = ()
    bases: dict[str, str] = {}
    if dialects.family(conn) == "postgresql":
        from sqlalchemy.dialects.postgresql.base import PGInspector

        assert isinstance(insp, PGInspector), "a PostgreSQL connection has PostgreSQL's inspector"
        # Every schema's types, keyed by type_key (schema.name): a column may use one from another, and
        # the target needs each in its own schema with its full definition.
        all_enums = insp.get_enums(schema="*")
        all_domains = insp.get_domains(schema="*")
        visible = {t["name"]: t["schema"] for t in [*all_enums, *all_domains] if t.get("visible")}
        for table_columns in columns.values():
            for c in table_columns:
                if getattr(c["type"], "name", None) in visible and getattr(c["type"], "schema", 0) is None:
                    c["type"].schema = visible[c["type"].name]  # an enum or domain found on the search_path
        used = {
            type_key(c["type"].schema, c["type"].name)
            for table_columns in columns.values()
            for c in table_columns
            if getattr(c["type"], "schema", None)
        }
        here = schema or "public"
        enums = tuple(
            EnumType(type_key(e["schema"], e["name"]), tuple(e["labels"]))
            for e in all_enums
            if e["schema"] == here or type_key(e["schema"], e["name"]) in used
        )
        bases = {  # the base type with its modifiers: SQLAlchemy's reflection drops numeric(38,10)'s
            type_key(r[0], r[1]): r[2]
            for r in conn.execute(
                sa.text(
                    "SELECT n.nspname, t.typname, format_type(t.typbasetype, t.typtypmod) "
                    "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'd'"
                )
            )
        }
        domains = tuple(
            _domain({**d, "name": q, "type": bases.get(q, d["type"])})
            for d in all_domains
            for q in [type_key(d["schema"], d["name"])]
            if d["schema"] == here or q in used
        )

    # FKs declared only on partitions belong to their partitioned parent (once per column set).
    for part in kept_parts:
        parent = part_parent[part]
        have = {(tuple(f["constrained_columns"]), f["referred_table"]) for f in fks.get(parent, [])}
        for fk in fks.get(part, []):
            key = (tuple(fk["constrained_columns"]), fk["referred_table"])
            if key not in have:
                have.add(key)
                fks.setdefault(parent, []).append(fk)
                notes.append(f"{parent}: foreign key {fk['name']} is declared on its partitions only")

    for table_name, number in dialects.next_identities(conn, schema).items():
        for c in columns.get(table_name, []):  # the key it numbers (MySQL: one column a table)
            c["next_identity"] = number

    # Columns of FKs into tables left out (or in another schema): kept as codes, never inferred.
    unlinked = _unlinked_columns(fks, names, part_parent, schema)
    estimates = dialects.row_estimates(conn, schema)
    tables = []
    for i, name in enumerate(names):
        if progress:
            progress("reflect", i, len(names))
        table = _table(
            conn,
            name,
            schema,
            columns.get(name, []),
            pks.get(name) or {},
            fks.get(name, []),
            uniques.get(name, []),
            extra_uniques.get(name, []),
            checks.get(name, []),
            indexes.get(name, []),
            (comments.get(name) or {}).get("text"),
            fk_actions.get(name, {}),
            part_parent,
            set(names),
            notes,
            others=others,
            home=schema if dialects.family(conn) == "mysql" else dialects.default_schema(conn),
        )
        if name in part_keys:
            table = replace(
                table,
                partitioning=Partitioning(
                    part_keys[name],
                    tuple((p.name, p.bound) for p in parts if p.direct in ("", name)),
                    tuple(
                        PartitionSecurity(
                            p.name,
                            _row_security(table_security[p.name]),
                            tuple(Policy(*q) for q in table_security[p.name].policies),
                        )
                        for p in parts
                        if p.direct in ("", name) and p.name in table_security
                    ),
                ),
            )
            deeper = sorted(p.name for p in parts if p.parent == name and p.direct not in ("", name))
            if deeper:  # partitions of partitions: each top partition holds its own partitions' rows
                notes.append(
                    f"{name}: its partitions are partitioned again ({_few(deeper)}): "
                    "one level of partitions is created"
                )
        table = _mysql_partitioned(table, my_parts.get(name), notes)
        table = replace(
            table,
            triggers=tuple(Trigger(n, sql, fn) for n, sql, fn in table_triggers.get(name, [])),
            exclusions=table_exclusions.get(name, ()),
            row_security=_row_security(table_security.get(name)),
            policies=tuple(Policy(*p) for p in getattr(table_security.get(name), "policies", ())),
            options=tuple(
                sorted(
                    [(k, str(v)) for k, v in (options.get(name) or {}).items() if v is not None]
                    + (
                        [(dialects.INHERITED_BY, json.dumps(inherited_by[name]))]
                        if name in inherited_by
                        else []
                    )
                    + ([(dialects.INHERITS, json.dumps(inherits[name]))] if name in inherits else [])
                )
            ),
        )
        if name in inherits:
            notes.append(
                f"{name}: inherits from {', '.join(inherits[name])} (table inheritance): each is "
                "read and created as a table of its own, the parent with its own rows only"
            )
        if ("sqlite_with_rowid", "False") in table.options:
            table = _without_rowid(table)
        table = _count(conn, table, schema, estimates)
        if table.row_count and dialects.family(conn) in {"mysql", "sqlite"}:
            table = _no_counter_start(table)
        tables.append(table)
    if progress:
        progress("reflect", len(names), len(names))
    if others is not None:  # FKs into the run's other schemas are kept: their columns are linked
        kept = {t.name: t.fk_columns() for t in tables}
        unlinked = {n: cols - kept.get(n, set()) for n, cols in unlinked.items()}
    if bases:
        tables = [_domain_modifiers(t, bases) for t in tables]
    if dialects.family(conn) == "postgresql":
        tables, domains = _outside_needs(conn, schema, tables, domains)
    if infer_keys:
        tables = _infer_keys(conn, tables, schema, unlinked, progress)

    if profile:
        several = f"{schema}." if others is not None and schema is not None else ""  # notes name it
        tables = [
            _profile(conn, t, schema, progress, i, len(tables), unlinked.get(t.name, set()), notes, several)
            for i, t in enumerate(tables)
        ]
        tables = list(referenced_keys(Schema(tables=tuple(tables))).tables)  # keys after all

    sequences: tuple[PgSequence, ...] = ()
    if dialects.family(conn) == "postgresql":
        sequences = _sequences(conn, schema, tables)
    elif catalog is not None:
        sequences = _mariadb_sequences(conn, schema, tables, catalog, notes)
    url = conn.engine.url
    views = [View(n, sql, mat) for n, sql, mat in dialects.views(conn, schema)]
    unread = [v.name for v in views if not v.sql.strip()]
    if unread and dialects.family(conn) == "mysql":  # SHOW VIEW hides a view's definition, not its name
        notes.append(f"{dialects.UNREAD_VIEWS} ({_few(unread)})")
        views = [v for v in views if v.sql.strip()]
    if others is not None and schema is not None:
        tables, views = (
            _qualified(tables, schema),
            [replace(v, name=f"{schema}.{v.name}", schema=schema) for v in views],
        )
        sequences = tuple(
            replace(
                q,
                owned_by=None if q.owned_by is None else (f"{schema}.{q.owned_by[0]}", q.owned_by[1]),
                used_by=tuple((f"{schema}.{t}", c) for t, c in q.used_by),
            )
            for q in sequences
        )
    return Schema(
        tables=tuple(tables),
        dialect=conn.dialect.name,
        database=url.database if url.get_backend_name() != "sqlite" else _sqlite_name(url),
        schema=schema,
        enums=enums,
        domains=domains,
        views=tuple(views),
        notes=tuple(notes),
        sequences=sequences,
    )


def _sqlite_master(schema: str | None) -> sa.TableClause:
    """SQLite's catalog table, of an attached schema too: its name quoted by the compiler (in a
    text() a ' :x' in the schema's name would be a bind parameter)."""
    import sqlalchemy as sa

    columns: list[sa.ColumnClause[Any]] = [sa.column(c) for c in ("type", "name", "tbl_name", "sql")]
    return sa.table("sqlite_master", *columns, schema=schema)


def _sqlite_generated(
    conn: sa.Connection, schema: str | None, columns: dict[str, list[dict[str, Any]]]
) -> None:
    """SQLite generated columns' expressions read from the CREATE TABLE with their parentheses
    balanced: SQLAlchemy's pattern runs to the last ')' of the line (two generated columns on one
    line merge) and misses the short ``name AS (expr)`` form."""
    import sqlalchemy as sa

    master = _sqlite_master(schema)
    for table_name, cols in columns.items():
        if not any(c.get("computed") for c in cols):
            continue
        sql = conn.execute(
            sa.select(master.c.sql).where(master.c.type == "table", master.c.name == table_name)
        ).scalar()
        found = _generated_expressions(sql or "")
        for c in cols:
            if c.get("computed") and c["name"] in found:
                c["computed"] = {**c["computed"], "sqltext": found[c["name"]]}


def _sqlite_indexes(
    conn: sa.Connection,
    schema: str | None,
    indexes: dict[str, list[dict[str, Any]]],
    tables: Iterable[str],
    notes: list[str],
) -> None:
    """SQLite indexes as their CREATE INDEX has them. A partial index's WHERE is read after the
    element list's closing parenthesis: SQLAlchemy's pattern stops at the end of a line (a predicate
    over two lines loses its second) and misses one after a comment or without a space
    (``(a)WHERE``). An index on expressions, which SQLAlchemy skips (with a warning), is added:
    its elements in their order, a column by its name (``pragma_index_xinfo`` tells which are
    columns; their COLLATE and ASC/DESC are left out, as SQLAlchemy leaves them out of an index on
    columns), an expression as written (with its own COLLATE and ASC/DESC: it is SQLite's SQL,
    recreated on SQLite only)."""
    import sqlalchemy as sa

    master = _sqlite_master(schema)
    rows = conn.execute(
        sa.select(master.c.tbl_name, master.c.name, master.c.sql)
        .where(master.c.type == "index", master.c.sql.is_not(None))
        .order_by(master.c.name)
    ).all()
    found = {(r[0], r[1]): _index_elements(r[2]) for r in rows}
    for table_name, table_indexes in indexes.items():
        for ix in table_indexes:
            parsed = found.get((table_name, ix.get("name")))
            if parsed is None:
                continue
            where = parsed[1]
            opts = {k: v for k, v in (ix.get("dialect_options") or {}).items() if k != "sqlite_where"}
            ix["dialect_options"] = {**opts, "sqlite_where": where} if where else opts
    wanted = set(tables)
    for table_name, name, sql in rows:
        if table_name not in wanted or any(ix.get("name") == name for ix in indexes.get(table_name, [])):
            continue
        elements, where = found[(table_name, name)]
        xinfo = conn.execute(
            sa.text(
                "SELECT cid, name FROM pragma_index_xinfo(:i"
                + ("" if schema is None else ", :s")
                + ") WHERE key = 1 ORDER BY seqno"
            ),
            {"i": name, "s": schema},
        ).all()
        if len(xinfo) != len(elements) or not elements:
            notes.append(f"{table_name}: index {name} could not be read from its CREATE INDEX; not copied")
            continue
        opts = {"sqlite_where": where} if where else {}
        indexes.setdefault(table_name, []).append(
            {
                "name": name,
                "column_names": [col if cid >= 0 else None for cid, col in xinfo],
                "expressions": [
                    col if cid >= 0 else text for (cid, col), text in zip(xinfo, elements, strict=True)
                ],
                "unique": bool(re.match(r"\s*CREATE\s+UNIQUE\b", _without_comments(sql), re.IGNORECASE)),
                "dialect_options": opts,
            }
        )
        indexes[table_name].sort(key=lambda d: d.get("name") or "~")  # as SQLAlchemy sorts them


def _index_elements(create_sql: str) -> tuple[list[str], str]:
    """The elements of a SQLite CREATE INDEX statement (split at the commas between them, each as
    written: a column or an expression, with any COLLATE and ASC/DESC), and its WHERE ("" for a
    full index); without comments."""
    text = _without_comments(create_sql)
    parts, end = _first_list(text)
    if end < 0:
        return [], ""
    m = re.match(r"\s*WHERE\b(.*)$", text[end:], re.IGNORECASE | re.DOTALL)
    return [p.strip() for p in parts], m.group(1).strip() if m else ""


def _first_list(sql: str) -> tuple[list[str], int]:
    """The first parenthesised list in ``sql`` outside quotes (a CREATE INDEX's elements, a CREATE
    TABLE's column definitions): its parts, split at its own commas, and the index just after its
    closing parenthesis (-1, and no parts, when it does not close)."""
    parts: list[str] = []
    depth, quote, start = 0, "", -1
    for i, ch in enumerate(sql):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"`[":
            quote = "]" if ch == "[" else ch
        elif ch == "(":
            depth += 1
            if depth == 1:
                start = i + 1
        elif ch == "," and depth == 1:
            parts.append(sql[start:i])
            start = i + 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                parts.append(sql[start:i])
                return parts, i + 1
    return [], -1


def _without_comments(sql: str) -> str:
    """SQL with its -- and /* */ comments (outside quotes) replaced by a space."""
    out: list[str] = []
    quote, i = "", 0
    while i < len(sql):
        ch = sql[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"`[":
            quote = "]" if ch == "[" else ch
        elif sql.startswith("--", i) or sql.startswith("/*", i):
            end = sql.find("\n", i) if ch == "-" else sql.find("*/", i + 2)
            i = len(sql) if end < 0 else end + (0 if ch == "-" else 2)
            out.append(" ")
            continue
        out.append(ch)
        i += 1
    return "".join(out)


_SQLITE_NAME = re.compile(r'\s*(?:"((?:[^"]|"")*)"|`((?:[^`]|``)*)`|\[([^\]]*)\]|([^\s(,]+))')
_GENERATED_AS = re.compile(r"(?:\bGENERATED\s+ALWAYS\s+)?\bAS\s*\($", re.IGNORECASE)


def _generated_expressions(create_sql: str) -> dict[str, str]:
    """{column: expression} of the generated columns in a SQLite CREATE TABLE statement."""
    parts, _ = _first_list(create_sql)  # the column definitions
    out: dict[str, str] = {}
    for part in parts:
        m = _SQLITE_NAME.match(part)
        if m is None:
            continue
        name = next(g for g in m.groups() if g is not None)
        name = name.replace('""', '"') if m.group(1) is not None else name.replace("``", "`")
        expr = _parenthesised_after_as(part[m.end() :])
        if expr is not None:
            out[name] = expr
    return out


_TABLE_CONSTRAINT = re.compile(r"\s*(?:CONSTRAINT|PRIMARY|UNIQUE|CHECK|FOREIGN)\b", re.IGNORECASE)
_SQLITE_COLLATIONS = {"nocase": "NOCASE", "rtrim": "RTRIM", "binary": "BINARY"}  # built in: usable anywhere


def _top_level(definition: str) -> str:
    """A column definition with its quoted names and strings, and what is inside parentheses
    (a CHECK's expression, a DEFAULT's), blanked out: the clauses of the column itself are left."""
    out: list[str] = []
    depth, quote = 0, ""
    for ch in definition:
        if quote:
            if ch == quote:
                quote = ""
            out.append(" ")
            continue
        if ch in "'\"`[":
            quote = "]" if ch == "[" else ch
            out.append(" ")
        elif ch == "(":
            depth += 1
            out.append(" ")
        elif ch == ")":
            depth -= 1
            out.append(" ")
        else:
            out.append(ch if depth == 0 else " ")
    return "".join(out)


def _sqlite_column_clauses(create_sql: str) -> dict[str, dict[str, Any]]:
    """{column: clauses} of a SQLite CREATE TABLE that SQLAlchemy's reflection does not read:
    ``collate`` (a built-in collation: NOCASE makes 'Bob' and 'bob' one key), ``deferred`` (an
    inline REFERENCES ... DEFERRABLE INITIALLY DEFERRED: True, or DEFERRABLE alone: False) and
    ``autoincrement`` (INTEGER PRIMARY KEY AUTOINCREMENT: rowids never reused) and ``any`` (a
    column declared ANY, which SQLAlchemy reads as NUMERIC: it holds text as much as numbers)."""
    parts, _ = _first_list(_without_comments(create_sql))
    out: dict[str, dict[str, Any]] = {}
    for part in parts:
        m = _SQLITE_NAME.match(part)
        if m is None or _TABLE_CONSTRAINT.match(part):
            continue
        name = next(g for g in m.groups() if g is not None)
        name = name.replace('""', '"') if m.group(1) is not None else name.replace("``", "`")
        rest = part[m.end() :]
        bare = _top_level(rest)
        found: dict[str, Any] = {}
        at = re.search(r"\bCOLLATE\b", bare, re.IGNORECASE)  # the column's own, not a CHECK's
        # Its name as written (bare blanks a quoted one): NOCASE, "nocase", [NoCase]
        collation = re.match(r"\s*[\"'`\[]?(\w+)", rest[at.end() :]) if at else None
        if collation is not None and collation.group(1).lower() in _SQLITE_COLLATIONS:
            found["collate"] = _SQLITE_COLLATIONS[collation.group(1).lower()]
        refs = re.search(r"\bREFERENCES\b(.*)", bare, re.IGNORECASE | re.DOTALL)
        if refs is not None:
            after = refs.group(1)
            deferrable = re.search(
                r"(?<!\bNOT\s)\bDEFERRABLE\b(?:\s+INITIALLY\s+(DEFERRED|IMMEDIATE))?", after, re.IGNORECASE
            )
            if deferrable is not None:
                found["deferred"] = (deferrable.group(1) or "").upper() == "DEFERRED"
        if re.search(r"\bAUTOINCREMENT\b", bare, re.IGNORECASE):
            found["autoincrement"] = True
        if re.match(r"\s*ANY\b", bare, re.IGNORECASE):
            found["any"] = True
        if found:
            out[name] = found
    return out


def _sqlite_clauses(
    conn: sa.Connection,
    schema: str | None,
    columns: dict[str, list[dict[str, Any]]],
    fks: dict[str, list[dict[str, Any]]],
    options: dict[str, dict[str, Any]],
) -> None:
    """What SQLAlchemy's SQLite reflection leaves out of each table: a column's COLLATE, an inline
    foreign key's DEFERRABLE, AUTOINCREMENT (ddl.py recreates them in a SQLite target and says
    what another target does without them)."""
    import sqlalchemy as sa

    master = _sqlite_master(schema)
    for table_name, cols in columns.items():
        sql = conn.execute(
            sa.select(master.c.sql).where(master.c.type == "table", master.c.name == table_name)
        ).scalar()
        clauses = _sqlite_column_clauses(sql or "")
        if not clauses:
            continue
        for c in cols:
            found = clauses.get(c["name"], {})
            if "collate" in found and hasattr(c["type"], "collation"):
                c["type"].collation = found["collate"]
            if found.get("any"):
                c["any"] = True
        for fk in fks.get(table_name, []):
            cols_ = fk.get("constrained_columns") or []
            found = clauses.get(cols_[0], {}) if len(cols_) == 1 else {}
            if "deferred" in found and not (fk.get("options") or {}).get("deferrable"):
                initially = {"initially": "DEFERRED"} if found["deferred"] else {}
                fk["options"] = {**(fk.get("options") or {}), "deferrable": True, **initially}
        if any(f.get("autoincrement") for f in clauses.values()):
            options[table_name] = {**(options.get(table_name) or {}), "sqlite_autoincrement": "True"}


def _parenthesised_after_as(definition: str) -> str | None:
    """The text inside the parentheses that follow ``AS`` (outside quotes) in a column definition."""
    depth, quote, opened = 0, "", -1
    for i, ch in enumerate(definition):
        if quote:
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"`[":
            quote = "]" if ch == "[" else ch
        elif ch == "(":
            if depth == 0 and opened < 0 and _GENERATED_AS.search(definition[: i + 1]):
                opened = i
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0 and opened >= 0:
                return definition[opened + 1 : i].strip()
    return None


NEXTVAL = re.compile(r"^\s*nextval\('((?:[^']|'')*)'(?:::regclass)?\)\s*$", re.IGNORECASE)
# nextval('seq') anywhere in a default: Odoo numbers orders by 'S' || lpad(nextval('seq')::text, ..)
NEXTVAL_ANYWHERE = re.compile(r"nextval\('((?:[^']|'')*)'(?:::regclass)?\)", re.IGNORECASE)


def _sequences(conn: sa.Connection, schema: str | None, tables: list[Table]) -> tuple[PgSequence, ...]:
    """The sequences of the schema that the tables' ``nextval(...)`` defaults draw from, with their
    bounds and the column that owns each (a serial's). A sequence in another schema is left out:
    its column then becomes an identity, and the summary says so (relsynth/ddl.py)."""
    import sqlalchemy as sa

    here = schema or dialects.default_schema(conn) or "public"
    found: dict[str, PgSequence] = {}
    for table in tables:
        for col, m in ((c, m) for c in table.columns for m in NEXTVAL_ANYWHERE.finditer(c.default or "")):
            row = conn.execute(
                sa.text(
                    "SELECT n.nspname, c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, "
                    "s.seqmin, s.seqmax, s.seqcycle, ("
                    " SELECT array[t.relname::text, a.attname::text, tn.nspname::text] FROM pg_depend d"
                    " JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace"
                    " JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
                    " WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid"
                    " AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a' LIMIT 1) "
                    "FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE s.seqrelid = to_regclass(:name)"
                ),
                {"name": m.group(1).replace("''", "'")},
            ).first()
            if row is None or row[0] != here:
                continue
            owner = row[8]
            seq = found.get(row[1]) or PgSequence(
                name=row[1],
                data_type=row[2],
                start=int(row[3]),
                increment=int(row[4]),
                min_value=int(row[5]),
                max_value=int(row[6]),
                cycle=bool(row[7]),
                owned_by=(owner[0], owner[1]) if owner and owner[2] == here else None,
            )
            if (table.name, col.name) not in seq.used_by:
                found[row[1]] = replace(seq, used_by=(*seq.used_by, (table.name, col.name)))
    return tuple(found.values())


def _mysql_extras(
    conn: sa.Connection,
    schema: str | None,
    names: list[str],
    columns: dict[str, Any],
    options: dict[str, Any],
    notes: list[str],
) -> dialects.MysqlCatalog:
    """MySQL/MariaDB: what SQLAlchemy's parse of SHOW CREATE TABLE misses, from information_schema:
    a DEFAULT after INVISIBLE or a DEFAULT NEXTVAL(seq) (MariaDB), the INVISIBLE flag (kept as the
    table option ``dialects.INVISIBLE``); and, as notes, what relsynth does not copy."""
    catalog = dialects.mysql_catalog(conn, schema)
    wanted = set(names)
    for table_name, cols in columns.items():
        for c in cols:
            if c.get("default") is None and not c.get("computed") and c.get("autoincrement") is not True:
                found = catalog.defaults.get((table_name, c["name"]))
                if found is not None:
                    c["default"] = found
            updated = catalog.on_update.get((table_name, c["name"]))
            if updated and "ON UPDATE" not in str(c.get("default") or "").upper():
                # DEFAULT '2020-01-01' ON UPDATE current_timestamp(): SQLAlchemy drops the ON UPDATE
                c["default"] = f"{c.get('default') or 'NULL'} ON UPDATE {updated}"
        hidden = catalog.invisible.get(table_name)
        if hidden and table_name in wanted:
            options[table_name] = {**(options.get(table_name) or {}), dialects.INVISIBLE: json.dumps(hidden)}
    mariadb = bool(getattr(conn.dialect, "is_mariadb", False))
    for t in catalog.versioned:
        if t in wanted and (mariadb or t not in catalog.periods):  # recreated by the writer, after the load
            options[t] = {**(options.get(t) or {}), dialects.VERSIONED: "True"}
    if catalog.routines:
        notes.append(f"{dialects.ROUTINES}: {_few(catalog.routines)}")
    return catalog


_TEMPORAL = {"DATE", "DATETIME", "TIMESTAMP"}


def _mariadb_periods(
    conn: sa.Connection,
    schema: str | None,
    names: list[str],
    catalog: dialects.MysqlCatalog,
    reflected: tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]],
    options: dict[str, Any],
) -> None:
    """MariaDB's periods, which SQLAlchemy does not read (from SHOW CREATE TABLE, table by table):

    * a versioned table's declared ROW START/ROW END columns are left out of its columns (the server
      sets them, relsynth never loads them) and of its keys (MariaDB adds ROW END to each unique
      key), and kept as the option ``dialects.SYSTEM_PERIOD``: the writer adds them back with the
      versioning;
    * application-time periods and WITHOUT OVERLAPS keys are kept as options (``dialects.PERIODS``,
      ``dialects.OVERLAPS``), recreated after the load; such a key is left out of the keys relsynth
      enforces (SQLAlchemy reads ``UNIQUE (room, stay WITHOUT OVERLAPS)`` as ``UNIQUE (room)``)."""
    columns, pks, uniques, indexes = reflected
    for name in names:
        cols = columns.get(name, [])
        temporal = sum(type(c["type"]).__name__.upper() in _TEMPORAL for c in cols)
        if name not in catalog.versioned and temporal < 2:
            continue
        found = dialects.mariadb_periods(conn, schema, name)
        extra: dict[str, str] = {}
        if found.system and name in catalog.versioned:
            start, end = found.system[0], found.system[1]
            drop = {start, end}
            columns[name] = [c for c in cols if c["name"] not in drop]
            pk = pks.get(name) or {}
            if pk.get("constrained_columns"):
                pks[name] = {
                    **pk,
                    "constrained_columns": [c for c in pk["constrained_columns"] if c not in drop],
                }
            for group in (uniques, indexes):
                kept = []
                for k in group.get(name, []):
                    left = [c for c in k.get("column_names") or [] if c not in drop]
                    if left:
                        kept.append({**k, "column_names": left})
                group[name] = kept
            hidden = [
                c
                for c in json.loads((options.get(name) or {}).get(dialects.INVISIBLE, "[]"))
                if c not in drop
            ]
            opts = dict(options.get(name) or {})
            opts.pop(dialects.INVISIBLE, None)
            if hidden:
                opts[dialects.INVISIBLE] = json.dumps(hidden)
            options[name] = opts
            extra[dialects.SYSTEM_PERIOD] = json.dumps(list(found.system))
        if found.periods:
            extra[dialects.PERIODS] = json.dumps([list(p) for p in found.periods])
        if found.overlaps:
            extra[dialects.OVERLAPS] = json.dumps([[k, c, p] for k, c, p in found.overlaps])
            named = {k for k, _, _ in found.overlaps if k is not None}
            for group in (uniques, indexes):
                group[name] = [k for k in group.get(name, []) if k.get("name") not in named]
            if any(k is None for k, _, _ in found.overlaps):
                pks[name] = {"name": None, "constrained_columns": []}
        if extra:
            options[name] = {**(options.get(name) or {}), **extra}


def _mariadb_sequences(
    conn: sa.Connection,
    schema: str | None,
    tables: list[Table],
    catalog: dialects.MysqlCatalog,
    notes: list[str],
) -> tuple[PgSequence, ...]:
    """MariaDB's SEQUENCE objects that the tables' ``DEFAULT NEXTVAL(seq)`` draw from (in the same
    database), with their bounds; the others are named in a note."""
    import sqlalchemy as sa

    here = schema or conn.execute(sa.text("SELECT DATABASE()")).scalar()
    found: dict[str, PgSequence] = {}
    for table in tables:
        for col in table.columns:
            m = dialects.MARIADB_NEXTVAL.match(col.default or "")
            if m is None:
                continue
            db = (m.group(1) or here or "").replace("``", "`")
            name = m.group(2).replace("``", "`")
            if db != here or name not in catalog.sequences:
                continue
            start, increment, low, high, cycle = dialects.mariadb_sequence(conn, db, name)
            seq = found.get(name) or PgSequence(
                name=name, start=start, increment=increment, min_value=low, max_value=high, cycle=cycle
            )
            found[name] = replace(seq, used_by=(*seq.used_by, (table.name, col.name)))
    lone = [q for q in catalog.sequences if q not in found]
    if lone:
        notes.append(f"{dialects.LONE_SEQUENCES}: {_few(lone)}")
    return tuple(found.values())


def _qualified(tables: list[Table], schema: str) -> list[Table]:
    """One schema's tables of a several-schema run, named 'schema.table'. Declared FKs already point
    to qualified names (see _table); inferred ones, found inside this schema, get them here."""
    out = []
    for t in tables:
        fks = tuple(
            replace(fk, ref_table=f"{schema}.{fk.ref_table}") if fk.inferred is not None else fk
            for fk in t.foreign_keys
        )
        out.append(replace(t, name=f"{schema}.{t.name}", schema=schema, foreign_keys=fks))
    return out


def _reflect_many(
    conn: sa.Connection,
    schemas: list[str],
    include: Sequence[str],
    exclude: Sequence[str],
    profile: bool,
    infer_keys: bool,
    progress: Progress | None,
) -> Schema:
    """Several database schemas as one Schema (as pg_dump --schema a --schema b): tables named
    'schema.table', so two tables of one name stay apart, and foreign keys between the schemas kept.
    --include/--exclude globs match the qualified names."""
    import sqlalchemy as sa

    insp = sa.inspect(conn)
    per: dict[str, list[str]] = {}
    for s in schemas:
        _check_schema_name(insp, conn, s)
        _, parts = dialects.partitions(conn, s)
        inner = {p.name for p in parts}
        per[s] = [n for n in insp.get_table_names(schema=s) if n not in inner]
    qualified = [f"{s}.{n}" for s in schemas for n in per[s]]
    where = f"{describe(conn.engine.url)}, schemas {', '.join(schemas)}"
    if not qualified:
        raise RelsynthError(f"No tables in the {where}: check the database name and --schema")
    chosen = frozenset(select_tables(qualified, include, exclude))
    if not chosen:
        raise RelsynthError(f"--include/--exclude leave no table of the {where} to work on")
    parts_: list[Schema] = []
    for s in schemas:
        keep = [n for n in per[s] if f"{s}.{n}" in chosen]
        if keep:
            parts_.append(
                reflect_connection(
                    conn,
                    schema=s,
                    profile=profile,
                    infer_keys=infer_keys,
                    progress=progress,
                    keep=keep,
                    others=chosen,
                )
            )
    enums = {e.name: e for p in parts_ for e in p.enums}
    domains = {d.name: d for p in parts_ for d in p.domains}
    first = parts_[0]
    return replace(
        first,
        tables=tuple(t for p in parts_ for t in p.tables),
        schema=None,
        schemas=tuple(schemas),
        enums=tuple(enums.values()),
        domains=tuple(domains.values()),
        views=tuple(v for p in parts_ for v in p.views),
        notes=tuple(n for p in parts_ for n in p.notes),
        sequences=tuple(q for p in parts_ for q in p.sequences),
    )


def _sqlite_name(url: sa.URL) -> str | None:
    db = url.database or ""
    return db.removeprefix("file:") or None


def _domain_modifiers(table: Table, bases: dict[str, str]) -> Table:
    """A domain column's length, precision and scale from its base type as PostgreSQL spells it
    (numeric(12,2), character varying(5)): SQLAlchemy's reflection of the domain drops them, and
    another dialect then gets DECIMAL(65,30) or TEXT."""
    columns = []
    for col in table.columns:
        base = bases.get(col.type.type_name or "") if col.type.name != "enum" else None
        found = re.search(r"\((\d+)(?:\s*,\s*(\d+))?\)", base or "")
        if found is None:
            columns.append(col)
            continue
        first, second = int(found.group(1)), found.group(2)
        if col.type.name in {"numeric", "decimal"}:
            t = replace(col.type, precision=first, scale=int(second) if second is not None else 0)
        elif col.type.name in {"string", "char", "varchar", "text", "binary", "bits"}:
            t = replace(col.type, length=first)
        else:
            t = col.type
        columns.append(replace(col, type=t))
    return replace(table, columns=tuple(columns))


def _outside_needs(
    conn: sa.Connection, schema: str | None, tables: list[Table], domains: tuple[Domain, ...]
) -> tuple[list[Table], tuple[Domain, ...]]:
    """PostgreSQL: each column DEFAULT or generated expression, CHECK and domain marked with the
    functions and types it uses that are neither built in nor recreated (dialects.outside_needs), so
    that a target lacking them is not sent what it would refuse."""
    columns: dict[tuple[str, str], list[str]] = {}
    checks: dict[tuple[str, str], list[str]] = {}
    of_domains: dict[str, list[str]] = {}
    for kind, nsp, owner, item, needed in dialects.outside_needs(conn, schema):
        if kind == "column":
            columns.setdefault((owner, item), []).append(needed)
        elif kind == "check":
            checks.setdefault((owner, item), []).append(needed)
        else:
            of_domains.setdefault(type_key(nsp, owner), []).append(needed)
    if not (columns or checks or of_domains):
        return tables, domains
    out = []
    for t in tables:
        local = t.local_name
        cols = tuple(
            replace(c, needs=tuple(dict.fromkeys(columns[(local, c.name)])))
            if (local, c.name) in columns
            else c
            for c in t.columns
        )
        cks = tuple(
            replace(k, needs=tuple(dict.fromkeys(checks[(local, k.name)])))
            if k.name is not None and (local, k.name) in checks
            else k
            for k in t.checks
        )
        out.append(replace(t, columns=cols, checks=cks))
    for name, uses in of_domains.items():  # a domain over citext depends on its I/O functions too
        if any(n.startswith("type ") for n in uses):
            of_domains[name] = [n for n in uses if n.startswith("type ")]
    marked = tuple(
        replace(d, needs=tuple(dict.fromkeys(of_domains[d.name]))) if d.name in of_domains else d
        for d in domains
    )
    return out, marked


def _domain(d: Mapping[str, Any]) -> Domain:
    from relsynth.schema import SqlType

    return Domain(
        name=d["name"],
        type=SqlType("other", native=str(d["type"])),
        nullable=bool(d.get("nullable", True)),
        default=d.get("default"),
        checks=tuple(c["check"] for c in d.get("constraints") or ()),
    )


def _fk_name(table: str, cols: Sequence[str], taken: set[str]) -> str:
    base = f"fk_{table}_{'_'.join(cols)}"
    name, k = base, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    return name


def _portable(c: dict[str, Any], dialect: Any) -> Any:
    if c.get("any"):  # SQLite's ANY: learned as text (numbers spelled), written back as it was read
        from relsynth.schema import SqlType

        return SqlType("text", native="ANY")
    t = to_portable(c["type"], dialect)
    return replace(t, name="smallint") if c.get("small_integer") else t


def _tinyint1_numbers(
    conn: sa.Connection, schema: str | None, columns: dict[str, Any], notes: list[str]
) -> None:
    """A TINYINT(1) column is a boolean only if its rows hold 0, 1 and NULL only; otherwise a small
    integer (marked for _table), and the notes say so."""
    for table_name, cols in columns.items():
        flags = [
            c["name"]
            for c in cols
            if type(c["type"]).__name__ == "TINYINT" and getattr(c["type"], "display_width", None) == 1
        ]
        for name in sorted(dialects.mysql_small_integers(conn, schema, table_name, flags)):
            for c in cols:
                if c["name"] == name:
                    c["small_integer"] = True
            notes.append(
                f"{table_name}.{name}: TINYINT(1) holding values other than 0 and 1: "
                "a small integer, not a boolean"
            )


def _spelled(t: Any, catalog_type: str | None, kind: str, json: bool = False) -> Any:
    """A type SQLAlchemy does not know keeps the catalog's spelling (point, xml, geometry); MySQL's
    spatial types are the portable family 'geometry' (values as WKT); MariaDB's JSON (LONGTEXT with
    a json_valid CHECK) is JSON."""
    from relsynth.schema import SqlType
    from relsynth.sqltypes import MYSQL_SPATIAL

    if json:
        return SqlType("json", native="JSON")
    if not catalog_type or t.native != "unknown":
        return t
    if kind == "mysql" and catalog_type.upper().split("(")[0].strip() in MYSQL_SPATIAL:
        return replace(t, name="geometry", native=catalog_type)
    return replace(t, native=catalog_type)


def _table(
    conn: sa.Connection,
    name: str,
    schema: str | None,
    cols: list[dict[str, Any]],
    pk: dict[str, Any],
    fks: list[dict[str, Any]],
    uniques: list[dict[str, Any]],
    extra_uniques: list[tuple[str, ...]],
    checks: list[dict[str, Any]],
    indexes: list[dict[str, Any]],
    comment: str | None,
    fk_actions: dict[tuple[str, ...], tuple[str, str]],
    part_parent: dict[str, str],
    names: set[str],
    notes: list[str],
    *,
    others: frozenset[str] | None = None,
    home: str | None = None,
) -> Table:
    """One table from the inspector's answers. ``others``: in a several-schema run, the qualified
    names of its tables; an FK's parent is then named 'schema.table' (``home``: the schema of a
    parent the catalog names without one)."""
    pk_cols = tuple(pk.get("constrained_columns") or ())
    columns = []
    for c in cols:
        identity = None
        start = c.get("next_identity")
        if c.get("identity"):
            identity = "always" if c["identity"].get("always") else "by default"
            start = c["identity"].get("start")
        elif c.get("autoincrement") is True and dialects.family(conn) == "mysql":
            identity = "auto_increment"
        elif (
            dialects.family(conn) == "sqlite"
            and pk_cols == (c["name"],)
            and str(c["type"]).upper() == "INTEGER"
        ):
            identity = "auto_increment"  # SQLite's INTEGER PRIMARY KEY is the rowid: assigned on insert
        columns.append(
            Column(
                name=c["name"],
                type=_spelled(
                    _portable(c, conn.dialect),
                    c.get("catalog_type"),
                    dialects.family(conn),
                    bool(c.get("json")),
                ),
                nullable=bool(c.get("nullable", True)) and c["name"] not in pk_cols,
                default=None if c.get("default") is None else str(c["default"]),
                identity=identity,
                identity_start=int(start) if identity and start is not None and int(start) > 1 else None,
                computed=(c.get("computed") or {}).get("sqltext"),
                virtual=bool(c.get("computed")) and c["computed"].get("persisted") is False,
                comment=c.get("comment"),
            )
        )
    taken: set[str] = set()
    foreign_keys = []
    for fk in fks:
        cols_ = tuple(fk["constrained_columns"])
        ref = part_parent.get(fk["referred_table"], fk["referred_table"])
        ref_schema = fk.get("referred_schema")
        parent = (
            f"{ref_schema or home}.{ref}"
            if others is not None or (ref_schema and ref_schema != schema)
            else ref
        )
        who = f"{schema}.{name}" if others is not None and schema else name  # as the run names it
        label = (
            f"{who}: foreign key {fk.get('name') or ''} ({', '.join(cols_)}) -> {parent} "
            f"({', '.join(fk['referred_columns'])}{dialects.FK_NOT_RECREATED}"
        ).replace("key  (", "key (")
        kept = (
            f"{who}.{cols_[0]} keeps its values as codes, unchecked"
            if len(cols_) == 1
            else "its columns keep their values as codes, unchecked"
        )
        if others is not None:
            ref = f"{ref_schema or home}.{ref}"
            if ref not in others:
                notes.append(f"{label}{parent} is not included in this run; {kept}")
                continue
        elif ref_schema and ref_schema != schema:
            where = "database" if dialects.family(conn) == "mysql" else "schema"
            notes.append(
                f"{label}it points into {where} {ref_schema}, which this run does not read (another "
                f"--schema {ref_schema} reads it too); {kept}"
            )
            continue
        elif ref not in names:
            notes.append(f"{label}{parent} is not included in this run; {kept}")
            continue
        options = fk.get("options") or {}
        upd, dele = fk_actions.get(cols_, (None, None))
        fk_name = fk.get("name") or _fk_name(name, cols_, taken)
        taken.add(fk_name)
        foreign_keys.append(
            ForeignKey(
                name=fk_name,
                columns=cols_,
                ref_table=ref,
                ref_columns=tuple(fk["referred_columns"]),
                on_delete=_action(options.get("ondelete") or dele),
                on_update=_action(options.get("onupdate") or upd),
                deferrable=bool(options.get("deferrable")),
                initially_deferred=str(options.get("initially", "")).upper() == "DEFERRED",
            )
        )
    uniq = [Unique(u.get("name"), tuple(u["column_names"])) for u in uniques]
    seen_uniq = {u.columns for u in uniq}
    for cols_ in extra_uniques:
        if cols_ not in seen_uniq and cols_ != pk_cols:
            uniq.append(Unique(None, cols_))
            seen_uniq.add(cols_)
    constraint_names = {u.name for u in uniq if u.name}
    idx = []
    for ix in indexes:
        if ix.get("duplicates_constraint") or ix.get("name") in constraint_names:
            continue
        names_ = list(ix.get("column_names") or ())
        given_exprs = list(ix.get("expressions") or ())
        if given_exprs and len(given_exprs) == len(names_):
            # SQLAlchemy 2: every element in order, a column's name where column_names has it
            # (None at an expression's place): (a, lower(b), c) keeps its order.
            at = tuple(i for i, c in enumerate(names_) if c is None)
            col_names = tuple(c for c in names_ if c is not None)
            exprs = tuple(given_exprs[i] for i in at)
            expression_at = () if at == tuple(range(len(col_names), len(names_))) else at
        else:
            col_names = tuple(c for c in names_ if c is not None)
            exprs = tuple(e for e in given_exprs if e not in col_names)
            expression_at = ()
        opts = ix.get("dialect_options") or {}
        method = str(opts.get("mysql_prefix") or opts.get("postgresql_using") or "").lower()
        if method == "btree":
            method = ""
        given = opts.get("mysql_length")
        per_col = given if isinstance(given, dict) else {c: given for c in col_names} if given else {}
        lengths = tuple(int(per_col.get(c) or 0) for c in col_names) if per_col else ()
        # A partial index's WHERE as the catalog gives it (PostgreSQL: pg_get_expr, parenthesised).
        where = str(opts.get("postgresql_where") or opts.get("sqlite_where") or "").strip()
        idx.append(
            Index(ix["name"], col_names, bool(ix.get("unique")), exprs, method, lengths, where, expression_at)
        )
    return Table(
        name=name,
        columns=tuple(columns),
        primary_key=pk_cols,
        unique=tuple(uniq),
        foreign_keys=tuple(foreign_keys),
        checks=tuple(Check(c.get("name"), c["sqltext"]) for c in checks),
        indexes=tuple(idx),
        comment=comment,
    )


def _without_rowid(table: Table) -> Table:
    """A SQLite WITHOUT ROWID table has no rowid: its INTEGER PRIMARY KEY numbers nothing itself."""
    return replace(
        table,
        columns=tuple(
            replace(c, identity=None, identity_start=None) if c.identity == "auto_increment" else c
            for c in table.columns
        ),
    )


def _action(value: str | None) -> str | None:
    if not value:
        return None
    value = value.upper()
    return None if value == "NO ACTION" else value


def sa_table(table: Table, schema: str | None) -> sa.TableClause:
    """A lightweight SQLAlchemy table for building quoted SELECTs (no metadata round trip); a table
    of a several-schema run by its own schema and name there."""
    import sqlalchemy as sa

    where, name = place(table, schema)
    only = dialects.INHERITED_BY in dict(table.options)
    return dialects.source_table(name, *[sa.column(c.name) for c in table.columns], schema=where, only=only)


def _no_counter_start(table: Table) -> Table:
    """A table with rows: its AUTO_INCREMENT or sqlite_sequence counter is where its rows left it
    (64 after 50 rows inserted at once), no start anyone declared; its keys are the source's to
    learn (they start at 1000 where the source's do), and the target numbers on past them."""
    return replace(table, columns=tuple(replace(c, identity_start=None) for c in table.columns))


def _row_security(security: dialects.RowSecurity | None) -> str | None:
    """ENABLE (and FORCE) ROW LEVEL SECURITY as Table.row_security holds it (FORCE alone does nothing)."""
    if security is None or not security.enabled:
        return None
    return "forced" if security.forced else "enabled"


def _count(conn: sa.Connection, table: Table, schema: str | None, estimates: dict[str, int]) -> Table:
    estimate = estimates.get(table.name, -1)
    if 0 <= EXACT_COUNT_LIMIT < estimate:
        return replace(table, row_count=estimate, row_count_exact=False)
    return replace(table, row_count=dialects.exact_count(conn, sa_table(table, schema)), row_count_exact=True)


def read_sample(conn: sa.Connection, table: Table, schema: str | None, limit: int) -> pd.DataFrame:
    """Up to ``limit`` rows of the learnable columns, spread over the whole table, not its head: a
    column NULL in its first rows (filled in later) must not look empty. Deterministic."""
    import pandas as pd
    import sqlalchemy as sa

    from relsynth.model.sentinels import read_special
    from relsynth.schema import Kind
    from relsynth.sqltypes import KIND_OF_TYPE

    wanted = [c.name for c in table.columns if KIND_OF_TYPE.get(c.type.name) is not Kind.UNSUPPORTED]
    if not wanted:
        return pd.DataFrame()
    dialects.tolerant_dates(conn)  # PostgreSQL's 'infinity' is read, not a failed read
    t = sa_table(table, schema)
    kind = dialects.family(conn)
    query = sa.select(*[dialects.readable(t.c[n], table.column(n).type, kind) for n in wanted])
    if table.primary_key:
        query = query.order_by(*[t.c[n] for n in table.primary_key])
    rows = table.row_count or 0
    if rows > limit:
        spread = dialects.spread_sample(conn, t, query, table.primary_key, rows, limit)
        if spread is not None:
            return read_special(table, pd.DataFrame(spread, columns=wanted))
    result = conn.execute(query.limit(limit))
    # 'infinity', BC and MariaDB's zero dates as what they can be represented by (model/sentinels.py)
    return read_special(table, pd.DataFrame(result.all(), columns=wanted))


def _with_text_formats(conn: sa.Connection, table: Table, schema: str | None, sample: pd.DataFrame) -> Table:
    """Each date/time column with the text format a SQLite target writes it in (SqlType.sqlite_format):
    a SQLite source's as its values are stored (read raw, as text, from all over the table), another
    dialect's plain ISO 8601, with a fraction only if a sampled value has one."""
    from relsynth.ddl import TEMPORAL, plain_format, stored_format

    names = [c.name for c in table.columns if c.type.name in TEMPORAL and c.name in sample.columns]
    if not names:
        return table
    if dialects.family(conn) == "sqlite":
        raw = read_raw_text(conn, table, schema, names, PROFILE_ROWS)
        found = {
            n: stored_format((row[i] for row in raw), table.column(n).type.name) for i, n in enumerate(names)
        }
    else:
        found = {n: plain_format(sample[n], table.column(n).type.name) for n in names}
    columns = tuple(
        replace(c, type=replace(c.type, sqlite_format=found[c.name])) if found.get(c.name) else c
        for c in table.columns
    )
    return replace(table, columns=columns)


def read_raw_text(
    conn: sa.Connection, table: Table, schema: str | None, names: list[str], limit: int
) -> list[Any]:
    """Up to ``limit`` rows of the columns' stored values as the database gives them, unparsed (a
    SQLite DATETIME's text), spread over the table as in :func:`read_sample`."""
    import sqlalchemy as sa

    t = sa_table(table, schema)
    query = sa.select(*[sa.type_coerce(t.c[n], sa.String).label(n) for n in names])
    rows = table.row_count or 0
    if rows > limit:
        spread = dialects.spread_sample(conn, t, query, table.primary_key, rows, limit)
        if spread is not None:
            return spread
    return list(conn.execute(query.limit(limit)).all())


def _profile(
    conn: sa.Connection,
    table: Table,
    schema: str | None,
    progress: Progress | None,
    i: int,
    n: int,
    unlinked: set[str],
    notes: list[str] | None = None,
    where: str = "",
) -> Table:
    """The table with what a sample of its rows tells (profile.py); ``notes``: what of its values
    relsynth reads otherwise than the database gives them (named ``where`` + table)."""
    if progress:
        progress("profile", i, n)
    sample = read_sample(conn, table, schema, PROFILE_ROWS) if table.row_count else None
    if sample is not None:
        table = _with_text_formats(conn, table, schema, sample)
        from relsynth.model.sentinels import SPECIAL, special_notes

        if notes is not None:
            notes += special_notes(where + table.name, sample.attrs.get(SPECIAL) or {})
    out = profile_table(table, sample, unlinked=unlinked)
    if progress and i == n - 1:
        progress("profile", n, n)
    return out


def _unlinked_columns(
    fks: dict[str, list[dict[str, Any]]], names: list[str], part_parent: dict[str, str], schema: str | None
) -> dict[str, set[str]]:
    """Per table, the columns of declared FKs whose parent is not part of this run."""
    out: dict[str, set[str]] = {}
    for name in names:
        for fk in fks.get(name, []):
            ref = part_parent.get(fk["referred_table"], fk["referred_table"])
            other_schema = fk.get("referred_schema") and fk.get("referred_schema") != schema
            if ref not in names or other_schema:
                out.setdefault(name, set()).update(fk["constrained_columns"])
    return out


# Candidate keys checked in one statement (MySQL joins at most 61 tables in one SELECT).
MAX_CHECKS_PER_STATEMENT = 20


def containment(
    conn: sa.Connection, schema: str | None, child: Table, checks: Sequence[tuple[str, Table, str]]
) -> list[tuple[int, int]] | None:
    """For each (column, parent, key): the column's non-NULL values and how many of them are missing
    from the parent's key. One read-only statement: the child is scanned once, LEFT JOINed to each
    parent's unique key (so no row counts twice). None when the database cannot compare them."""
    import sqlalchemy as sa

    c = sa_table(child, schema).alias("c")
    joined: Any = c
    counts = []
    for i, (column, parent, key) in enumerate(checks):
        p = sa_table(parent, schema).alias(f"p{i}")
        joined = joined.outerjoin(p, p.c[key] == c.c[column])
        counts += [sa.func.count(c.c[column]), sa.func.count(p.c[key])]
    try:
        with conn.begin_nested():  # a failed comparison must not end the read-only transaction
            row = conn.execute(sa.select(*counts).select_from(joined)).one()
    except sa.exc.DBAPIError as err:
        log.debug("containment in %s not checked: %s", child.name, type(err.orig).__name__)
        return None
    return [(int(row[2 * i]), int(row[2 * i]) - int(row[2 * i + 1])) for i in range(len(checks))]


def near_miss(
    conn: sa.Connection, schema: str | None, child: Table, column: str, parent: Table, key: str
) -> NearMiss | None:
    """What a column that misses the parent's key on a few rows tells beyond them (infer.NearMiss):
    its distinct values and how many the key lacks, and for a key of whole numbers, the values within
    the key's [min, max] and how full that range is. Two read-only statements; None when the
    database cannot answer them. Counts only: no value leaves the database."""
    import sqlalchemy as sa

    from relsynth import infer

    c = sa_table(child, schema).alias("c")
    p = sa_table(parent, schema).alias("p")
    col, ref = c.c[column], p.c[key]
    whole = _whole_number(child.column(column).type) and _whole_number(parent.column(key).type)
    try:
        with conn.begin_nested():  # a failed statement must not end the read-only transaction
            lo = hi = None
            keys = 0
            if whole:
                lo, hi, keys = conn.execute(
                    sa.select(sa.func.min(ref), sa.func.max(ref), sa.func.count(ref))
                ).one()
            counts = [
                sa.func.count(sa.distinct(col)),
                sa.func.count(sa.distinct(sa.case((ref.is_(None), col)))),
            ]
            if lo is not None and hi is not None:
                counts.append(sa.func.count(sa.distinct(sa.case((col.between(lo, hi), col)))))
            row = conn.execute(sa.select(*counts).select_from(c.outerjoin(p, ref == col))).one()
    except sa.exc.DBAPIError as err:
        log.debug("near miss in %s not checked: %s", child.name, type(err.orig).__name__)
        return None
    if lo is None or hi is None:
        return infer.NearMiss(int(row[0]), int(row[1]))
    span = int(hi) - int(lo) + 1
    density = min(1.0, int(keys) / span) if span > 0 else 1.0
    return infer.NearMiss(int(row[0]), int(row[1]), int(row[2]), density)


def _whole_number(t: Any) -> bool:
    """An integer type, or a decimal of no scale: a key that may be a range of whole numbers."""
    return t.name in INTEGER_TYPES or (t.name == "numeric" and t.precision is not None and not t.scale)


def _infer_keys(
    conn: sa.Connection,
    tables: list[Table],
    schema: str | None,
    unlinked: dict[str, set[str]],
    progress: Progress | None,
) -> list[Table]:
    """Add the FKs the database does not declare: each candidate by name (relsynth/infer.py),
    accepted if every value is found in the parent's key, or nearly every one (a few orphans:
    infer.accepted, told by near_miss); the first that holds wins, one with no orphans before one
    with some. Each round checks every column's next candidate, one statement per child table."""
    from relsynth import infer

    draft = Schema(tables=tuple(tables))
    by_name = {t.name: t for t in tables}
    groups = infer.candidates(draft, skip=[(t, c) for t, cols in unlinked.items() for c in cols])
    kin = {  # PostgreSQL table inheritance: a child repeats its parent's columns, not a key into it
        frozenset((t.name, p))
        for t in tables
        for p in json.loads(dict(t.options).get(dialects.INHERITS, "[]"))
    }
    if kin:
        groups = [
            kept
            for group in groups
            if (kept := [c for c in group if frozenset((c.table, c.ref_table)) not in kin])
        ]
    pending = dict(enumerate(groups))
    found: list[tuple[infer.Candidate, Inferred]] = []
    # A candidate accepted with orphans, kept while a later one of its column may hold every value.
    fallback: dict[int, tuple[infer.Candidate, Inferred]] = {}
    while pending:
        by_child: dict[str, list[tuple[int, infer.Candidate]]] = {}
        for i, options in pending.items():
            by_child.setdefault(options[0].table, []).append((i, options[0]))
        for n, (child, items) in enumerate(by_child.items()):
            if progress:
                progress("keys", n, len(by_child))
            for start in range(0, len(items), MAX_CHECKS_PER_STATEMENT):
                chunk = items[start : start + MAX_CHECKS_PER_STATEMENT]
                checks = [(c.column, by_name[c.ref_table], c.ref_column) for _, c in chunk]
                results = containment(conn, schema, by_name[child], checks)
                if results is None:  # one comparison the database refuses: check each on its own
                    refused = [(0, 1)]  # no values seen: never accepted
                    table = by_name[child]
                    results = [(containment(conn, schema, table, [one]) or refused)[0] for one in checks]
                for (i, cand), (values, missing) in zip(chunk, results, strict=True):
                    if infer.accepted(values, missing):
                        found.append((cand, Inferred(cand.by, values)))
                        fallback.pop(i, None)
                        pending[i] = []
                        continue
                    if i not in fallback and infer.near(values, missing):
                        nm = near_miss(
                            conn,
                            schema,
                            by_name[child],
                            cand.column,
                            by_name[cand.ref_table],
                            cand.ref_column,
                        )
                        if nm is not None and infer.accepted(values, missing, nm):
                            fallback[i] = (cand, Inferred(cand.by, values, missing, nm.missing))
                    pending[i] = pending[i][1:]
        for i in [i for i, options in pending.items() if not options and i in fallback]:
            cand, evidence = fallback.pop(i)
            found.append((cand, evidence))
            log.info(
                "inferred foreign key %s(%s) -> %s(%s) with %s orphan rows (%s values not in %s): "
                "each such value is counted as a person of its own",
                cand.table,
                cand.column,
                cand.ref_table,
                cand.ref_column,
                f"{evidence.orphans:,}",
                f"{evidence.orphan_values:,}",
                cand.ref_table,
            )
        pending = {i: options for i, options in pending.items() if options}
        if progress:
            progress("keys", len(by_child), len(by_child))
    if found:
        log.debug("inferred %d foreign keys the database does not declare", len(found))
    return list(infer.with_inferred(draft, found).tables)


def reflect_or_load(
    url: str | sa.URL | None,
    *,
    schema_file: str | None = None,
    schema: str | Sequence[str] | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    infer_keys: bool = True,
    progress: Progress | None = None,
) -> Schema:
    """The Schema a command works on: a user's schema file when given (its foreign keys, inferred
    ones included, are taken as they are), else a fresh reflection."""
    if schema_file:
        loaded = Schema.load(schema_file)
        if include or exclude:
            keep = set(select_tables(loaded.table_names, include, exclude))
            loaded = replace(
                loaded, tables=tuple(t if t.name in keep else replace(t, exclude=True) for t in loaded.tables)
            )
        return loaded
    if url is None:
        raise RelsynthError("Give a database URL or --schema-file")
    parse_url(url)
    return reflect(
        url, schema=schema, include=include, exclude=exclude, infer_keys=infer_keys, progress=progress
    )


def _mysql_partitioned(
    table: Table, found: tuple[str, tuple[tuple[str, str], ...]] | str | None, notes: list[str]
) -> Table:
    """A MySQL/MariaDB table with its partitioning (key and partitions, as the DDL spells them);
    a SYSTEM_TIME one (the server's history of a versioned table) is said and not kept."""
    if found is None:
        return table
    if isinstance(found, str):
        notes.append(f"{table.name}: partitioned by {found} in the source; one plain table is created")
        return table
    return replace(table, partitioning=Partitioning(found[0], found[1], dialect="mysql"))
