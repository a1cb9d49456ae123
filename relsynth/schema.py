"""The Schema: frozen dataclasses for tables, columns and keys, and their versioned JSON.

A Schema is what every later stage reads. It is plain data (no engine, no SQLAlchemy objects),
so it can be written to a file, edited by a user, and loaded back into an equal object.
Composite keys are first-class: every key is a tuple of column names.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from relsynth.errors import SchemaError, did_you_mean

SCHEMA_FORMAT = "relsynth.schema"
INFERRED_BY = ("name", "key name", "name suffix", "self-reference name")  # relsynth/infer.py's rules
SCHEMA_VERSION = 2  # 2: foreign keys may carry "inferred" (found by relsynth, with the evidence)
READABLE_VERSIONS = (1, 2)  # a version-1 file is a version-2 file without inferred keys


class Kind(StrEnum):
    """How a column is modelled: the semantic kind, independent of its SQL spelling."""

    ID = "id"
    NUMERICAL = "numerical"
    CATEGORICAL = "categorical"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    TEXT = "text"
    UNSUPPORTED = "unsupported"


class Role(StrEnum):
    """A user's override of what relsynth does with a table."""

    DATA = "data"  # synthesize it
    REFERENCE = "reference"  # copy it verbatim (code lists, vocabularies)


PII_CATEGORIES = (
    "person_name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "street_address",
    "national_id",
    "record_number",
    "free_text",
    # found by content (relsynth/pii_detect.py)
    "org_name",
    "secret",
    "payment_card",
    "iban",
    "url",
    "ip_address",
)


@dataclass(frozen=True)
class SqlType:
    """A portable description of a column type, enough to recreate it in another dialect.

    ``name`` is a portable family (integer, numeric, string, datetime, ...); ``native`` keeps the
    source dialect's own spelling so the same dialect can recreate it exactly.
    """

    name: str
    native: str = ""
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    timezone: bool = False
    values: tuple[str, ...] = ()
    type_name: str | None = None  # a named type: PostgreSQL enum or domain name
    item: SqlType | None = None  # array element type
    collation: str | None = None
    charset: str | None = None
    # A date/time column's text format in a SQLite target, as the source keeps it: 'YYYY-MM-DD
    # HH:MM:SS', 'YYYY-MM-DDTHH:MM:SS.fffZ', 'HH:MM' (see relsynth/ddl.py sqlite_temporal).
    sqlite_format: str | None = None


@dataclass(frozen=True)
class Column:
    name: str
    type: SqlType
    nullable: bool = True
    default: str | None = None
    kind: Kind = Kind.UNSUPPORTED
    kind_reason: str = ""
    pii: str | None = None
    pii_reason: str = ""
    identity: str | None = None  # 'always' | 'by default' | 'auto_increment'
    # The number an identity gives a row first where none is loaded, past 1: PostgreSQL's START
    # WITH, MySQL/MariaDB's AUTO_INCREMENT table option, one past SQLite's sqlite_sequence.
    identity_start: int | None = None
    computed: str | None = None  # generation expression of a generated column
    # A generated column computed when read (VIRTUAL), not stored: MySQL/MariaDB and SQLite have
    # both kinds, and the same dialect recreates the one it had (an older file: stored).
    virtual: bool = False
    comment: str | None = None
    # PostgreSQL: what its DEFAULT or generated expression calls that is neither built in nor
    # recreated (a user-defined function, an extension's function or type): 'function s.f()'.
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inferred:
    """Why relsynth believes in a foreign key the database does not declare.

    ``by`` is the naming rule that proposed it (see relsynth/infer.py); ``values`` is how many
    non-NULL values of the column were checked, every one of them found in the parent's key but
    ``orphans`` (rows whose value is in no parent row: a WordPress site's meta rows of users deleted
    since), of ``orphan_values`` distinct values. An orphan's person is its own value (each missing
    value one person: model/fit.py whose), and a synthetic row points to a synthetic parent.
    """

    by: str
    values: int = 0
    orphans: int = 0
    orphan_values: int = 0

    @property
    def evidence(self) -> str:
        """'by name and containment: 100% of 2,240 values found', for inspect; with orphans, their
        count (never a value): '2,025 of 2,026 values found, 1 orphan row (1 value not in the
        parent; its own person)'."""
        if not self.orphans:
            return f"by {self.by} and containment: 100% of {self.values:,} values found"
        rows = "row" if self.orphans == 1 else "rows"
        what = "value" if self.orphan_values == 1 else "values"
        person = "its own person" if self.orphan_values == 1 else "each its own person"
        return (
            f"by {self.by} and containment: {self.values - self.orphans:,} of {self.values:,} values "
            f"found, {self.orphans:,} orphan {rows} ({self.orphan_values:,} {what} not in the parent; "
            f"{person})"
        )


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str | None = None
    on_update: str | None = None
    deferrable: bool = False
    initially_deferred: bool = False
    virtual: bool = False  # declared in a schema file, not in the database
    # Found by relsynth (name and value containment), not declared: always virtual too. Delete the
    # FK from a schema file to reject it; delete just "inferred" to keep it as your own virtual FK.
    inferred: Inferred | None = None
    table: str = ""  # the referencing table (filled by Table)

    @property
    def label(self) -> str:
        """'child(a, b) -> parent(x, y)', for messages and reports."""
        return f"{self.table}({', '.join(self.columns)}) -> {self.ref_table}({', '.join(self.ref_columns)})"


@dataclass(frozen=True)
class Unique:
    name: str | None
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Check:
    name: str | None
    sql: str
    needs: tuple[str, ...] = ()  # as Column.needs: what it calls that the target may lack


@dataclass(frozen=True)
class Exclusion:
    """A PostgreSQL EXCLUDE constraint: its definition as pg_get_constraintdef gives it (recreated as it
    is on a PostgreSQL target), and what relsynth reads of it to keep sampled rows from breaking it.

    ``elements`` are (column or expression, operator) in the catalog's order: ``(("room_id", "="),
    ("tstzrange(starts, ends)", "&&"))``. ``extensions``: those whose operator classes it uses
    (btree_gist for ``=`` on a scalar under gist), which the target must have."""

    name: str
    sql: str
    method: str = "gist"
    elements: tuple[tuple[str, str], ...] = ()
    where: str | None = None
    extensions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]
    unique: bool = False
    expressions: tuple[str, ...] = ()
    # The source dialect's index kind: PostgreSQL's access method (gin, gist, hash, brin, spgist) or
    # MySQL's FULLTEXT / SPATIAL; "" for a plain B-tree. MySQL prefix lengths, one per column (0: whole).
    method: str = ""
    lengths: tuple[int, ...] = ()
    # A partial index's predicate in the source dialect's SQL (PostgreSQL, SQLite); "" for an index
    # over every row. Recreated on the same dialect; elsewhere the index covers every row.
    where: str = ""
    # Where the expressions stand among the index's elements (0-based), when a column follows one:
    # (a, lower(b), c) is columns (a, c), expressions (lower(b),), expression_at (1,). (): the
    # columns come first, then the expressions (as every index written before this field).
    expression_at: tuple[int, ...] = ()

    def elements(self) -> tuple[tuple[str, bool], ...]:
        """Each element in the index's order: (a column's name or an expression's SQL, is an expression)."""
        size = len(self.columns) + len(self.expressions)
        at = set(self.expression_at)
        if not self.ordered():  # () or not as relsynth writes it (validate names that): columns first
            at = set(range(len(self.columns), size))
        cols, exprs = iter(self.columns), iter(self.expressions)
        return tuple((next(exprs), True) if i in at else (next(cols), False) for i in range(size))

    def ordered(self) -> bool:
        """expression_at gives a place to each expression, within the index's elements."""
        at, size = self.expression_at, len(self.columns) + len(self.expressions)
        return (
            bool(at) and len(set(at)) == len(at) == len(self.expressions) and all(0 <= i < size for i in at)
        )


@dataclass(frozen=True)
class Trigger:
    """A trigger's full definition in the source dialect (recreated after the load, same dialect)."""

    name: str
    sql: str
    function: str | None = None  # PostgreSQL: the trigger function's CREATE FUNCTION


@dataclass(frozen=True)
class Policy:
    """A PostgreSQL row-level security policy, as its catalog holds it (recreated after the load,
    PostgreSQL to PostgreSQL)."""

    name: str
    command: str = "ALL"  # ALL, SELECT, INSERT, UPDATE or DELETE
    permissive: bool = True  # False: AS RESTRICTIVE
    roles: tuple[str, ...] = ("public",)  # 'public': PUBLIC
    using: str | None = None
    check: str | None = None  # WITH CHECK


@dataclass(frozen=True)
class View:
    name: str
    sql: str  # the defining SELECT (or full CREATE VIEW where the dialect gives only that)
    materialized: bool = False
    schema: str | None = None  # as Table.schema

    @property
    def local_name(self) -> str:
        return _local(self.name, self.schema)


@dataclass(frozen=True)
class PartitionSecurity:
    """A partition's own row-level security (it applies where the partition is queried by its
    name): "enabled" or "forced" as Table.row_security, and its policies."""

    partition: str
    row_security: str | None = None
    policies: tuple[Policy, ...] = ()


@dataclass(frozen=True)
class Partitioning:
    """Declarative partitioning: the key, and each partition with its bound, as the source's
    dialect spells them (PostgreSQL's ``FOR VALUES IN (1)``; MySQL's ``VALUES IN (1)``)."""

    key: str
    partitions: tuple[tuple[str, str], ...] = ()
    security: tuple[PartitionSecurity, ...] = ()  # the partitions that have any (an older file: none)
    dialect: str = "postgresql"  # or "mysql" (MariaDB too): whose SQL the key and bounds are


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    unique: tuple[Unique, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    checks: tuple[Check, ...] = ()
    indexes: tuple[Index, ...] = ()
    row_count: int = 0
    row_count_exact: bool = True
    comment: str | None = None
    partitioning: Partitioning | None = None
    triggers: tuple[Trigger, ...] = ()
    options: tuple[tuple[str, str], ...] = ()  # dialect table options (MySQL engine, charset, collation)
    role: Role | None = None  # None: let the plan decide
    context: str | None = None  # name of the FK to model this table under; None: plan decides
    exclude: bool = False
    # The database schema the table lives in, when a run spans several (--schema a --schema b); its
    # name is then 'schema.table', unique across them. None: the run's one schema.
    schema: str | None = None
    # PostgreSQL EXCLUDE constraints (an older file has none; left out of the file when empty).
    exclusions: tuple[Exclusion, ...] = ()
    # PostgreSQL row-level security: "enabled", "forced" (FORCE: its owner too) or None; its policies.
    row_security: str | None = None
    policies: tuple[Policy, ...] = ()
    # The dialect its CHECKs, DEFAULTs and index WHEREs are written in (the source's): the Schema that
    # holds the table sets it (not in the file). It says what a string constant there holds: MariaDB's
    # 'a\\b' is a\b, one backslash; PostgreSQL's and SQLite's 'a\\b' is two.
    sql_dialect: str = field(default="", compare=False, repr=False)

    @property
    def local_name(self) -> str:
        """The table's name inside its database schema."""
        return _local(self.name, self.schema)

    def __post_init__(self) -> None:
        fks = tuple(fk if fk.table == self.name else replace(fk, table=self.name) for fk in self.foreign_keys)
        object.__setattr__(self, "foreign_keys", fks)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise SchemaError(
            f"Unknown column '{name}' in table '{self.name}'."
            + did_you_mean(name, [c.name for c in self.columns])
        )

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def fk_columns(self) -> set[str]:
        return {c for fk in self.foreign_keys for c in fk.columns}

    def keysets(self) -> list[tuple[str, ...]]:
        """The primary key and every UNIQUE constraint or unique index over plain columns, once each."""
        sets = [tuple(self.primary_key)] + [tuple(u.columns) for u in self.unique]
        sets += [tuple(ix.columns) for ix in self.indexes if ix.unique and ix.columns and not ix.expressions]
        return [s for s in dict.fromkeys(sets) if s]

    def fk(self, name: str) -> ForeignKey:
        for fk in self.foreign_keys:
            if fk.name == name:
                return fk
        raise SchemaError(
            f"Unknown foreign key '{name}' on table '{self.name}'."
            + did_you_mean(name, [f.name for f in self.foreign_keys])
        )


@dataclass(frozen=True)
class EnumType:
    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Domain:
    name: str
    type: SqlType
    nullable: bool = True
    default: str | None = None
    checks: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # as Column.needs, of its base type, DEFAULT and CHECKs


@dataclass(frozen=True)
class PgSequence:
    """A PostgreSQL sequence that column defaults draw from (``DEFAULT nextval('name')``): recreated
    with its name and bounds on a PostgreSQL target, not turned into an identity.

    ``owned_by`` is the (table, column) it belongs to, as a serial's (dropped with it); ``used_by``
    every (table, column) whose default is its nextval. An older file has none: its nextval
    defaults become identity columns, as before.
    """

    name: str
    data_type: str = "bigint"
    start: int = 1
    increment: int = 1
    min_value: int | None = None
    max_value: int | None = None
    cycle: bool = False
    owned_by: tuple[str, str] | None = None
    used_by: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Schema:
    tables: tuple[Table, ...]
    dialect: str = ""
    database: str | None = None
    schema: str | None = None
    enums: tuple[EnumType, ...] = ()
    domains: tuple[Domain, ...] = ()
    views: tuple[View, ...] = ()
    locale: str = "en_US"
    notes: tuple[str, ...] = field(default=(), compare=True)
    schemas: tuple[str, ...] = ()  # several database schemas at once; tables are then 'schema.table'
    sequences: tuple[PgSequence, ...] = ()  # PostgreSQL sequences behind nextval() defaults

    def __post_init__(self) -> None:
        if any(t.sql_dialect != self.dialect for t in self.tables):
            tables = tuple(
                t if t.sql_dialect == self.dialect else replace(t, sql_dialect=self.dialect)
                for t in self.tables
            )
            object.__setattr__(self, "tables", tables)

    def part(self, db_schema: str) -> Schema:
        """The tables and views of one database schema of a several-schema run, under their own names
        there (what a check of that one schema needs)."""
        tables = tuple(
            replace(t, name=t.local_name, schema=None) for t in self.tables if t.schema == db_schema
        )
        views = tuple(replace(v, name=v.local_name, schema=None) for v in self.views if v.schema == db_schema)
        return replace(self, tables=tables, views=views, schema=db_schema, schemas=())

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise SchemaError(f"Unknown table '{name}'." + did_you_mean(name, self.table_names))

    @property
    def table_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tables)

    @property
    def active_tables(self) -> tuple[Table, ...]:
        return tuple(t for t in self.tables if not t.exclude)

    def replace_table(self, table: Table) -> Schema:
        return replace(self, tables=tuple(table if t.name == table.name else t for t in self.tables))

    # -- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"format": SCHEMA_FORMAT, "version": SCHEMA_VERSION, **_encode(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        if data.get("format") != SCHEMA_FORMAT:
            raise SchemaError(
                'This JSON file is not a relsynth schema (no "format": "relsynth.schema"); '
                "create one with: relsynth inspect URL --format json -o schema.json"
            )
        version = data.get("version")
        if version not in READABLE_VERSIONS or isinstance(version, bool):
            raise SchemaError(
                f"Schema file version {version} is not supported by this relsynth (it reads versions "
                f"{', '.join(map(str, READABLE_VERSIONS))}); re-create it with: "
                "relsynth inspect URL --format json -o schema.json"
            )
        try:
            return _build(cls, {k: v for k, v in data.items() if k not in {"format", "version"}})
        except (TypeError, ValueError, KeyError) as err:
            said = str(err).strip().rstrip(".")
            raise SchemaError(
                f"Schema file is not valid: {said}{' ' if said.endswith('?') else '. '}Fix it or re-create it"
            ) from None

    @classmethod
    def from_json(cls, text: str) -> Schema:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise SchemaError(f"Schema file is not valid JSON (line {err.lineno}): {err.msg}") from None
        if not isinstance(data, dict):
            raise SchemaError("Schema file must hold a JSON object with a 'tables' list")
        return cls.from_dict(data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Schema:
        p = Path(path)
        if not p.exists():
            raise SchemaError(f"Schema file {p} does not exist")
        schema = cls.from_json(p.read_text(encoding="utf-8"))
        validate(schema)
        return schema


def _local(name: str, schema: str | None) -> str:
    return name[len(schema) + 1 :] if schema and name.startswith(f"{schema}.") else name


def place(item: Table | View, default: str | None) -> tuple[str | None, str]:
    """(database schema, name there) of a table or view: its own schema in a several-schema run,
    else ``default`` (the run's one schema, or the target's)."""
    return item.schema or default, item.local_name


def _encode(obj: Any) -> Any:
    """Dataclass -> JSON-ready dict, leaving out fields at their default so the file stays editable."""
    if is_dataclass(obj):
        out: dict[str, Any] = {}
        for f in fields(obj):
            value = getattr(obj, f.name)
            if isinstance(obj, ForeignKey) and f.name == "table":
                continue  # implied by the table that holds the key
            if isinstance(obj, Table) and f.name == "sql_dialect":
                continue  # the schema's
            if f.default is not MISSING and value == f.default:
                continue
            if f.default_factory is not MISSING and value == f.default_factory():
                continue
            out[f.name] = _encode(value)
        return out
    if isinstance(value := obj, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(obj, StrEnum):
        return obj.value
    return obj


_NESTED: dict[tuple[type, str], type] = {}


def _build(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild a frozen dataclass (and its nested ones) from parsed JSON."""
    known = {f.name: f for f in fields(cls)}
    unknown = set(data) - set(known)
    if unknown:
        what = "".join(f" {c}" if c.isupper() else c for c in cls.__name__).strip().lower()  # foreign key
        raise ValueError(
            f"unknown field '{sorted(unknown)[0]}' in {what}." + did_you_mean(sorted(unknown)[0], known)
        )
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        nested = _NESTED.get((cls, name))
        if nested is not None and value is not None:
            if isinstance(value, list):
                value = tuple(_build(nested, v) if isinstance(v, dict) else v for v in value)
            elif isinstance(value, dict):
                value = _build(nested, value)
        elif name == "kind":
            value = _member(Kind, value, "kind")
        elif name == "role" and value is not None:
            value = _member(Role, value, "role")
        elif name in {"partitions", "options", "used_by", "elements"}:
            value = tuple(tuple(p) for p in value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)


def _member(enum: Any, value: Any, field: str) -> Any:
    """An enum member by its value, or an error naming the closest valid ones ('numerica')."""
    try:
        return enum(value)
    except ValueError:
        choices = [m.value for m in enum]
        raise ValueError(f"'{value}' is not a valid {field}." + did_you_mean(str(value), choices)) from None


_NESTED.update(
    {
        (Schema, "tables"): Table,
        (Schema, "enums"): EnumType,
        (Schema, "domains"): Domain,
        (Domain, "type"): SqlType,
        (Table, "columns"): Column,
        (Table, "unique"): Unique,
        (Table, "foreign_keys"): ForeignKey,
        (ForeignKey, "inferred"): Inferred,
        (Table, "checks"): Check,
        (Table, "indexes"): Index,
        (Table, "partitioning"): Partitioning,
        (Table, "triggers"): Trigger,
        (Table, "exclusions"): Exclusion,
        (Table, "policies"): Policy,
        (Partitioning, "security"): PartitionSecurity,
        (PartitionSecurity, "policies"): Policy,
        (Schema, "views"): View,
        (Schema, "sequences"): PgSequence,
        (Column, "type"): SqlType,
        (SqlType, "item"): SqlType,
    }
)


def validate(schema: Schema) -> None:
    """Check references inside a (possibly hand-edited) schema; name the first problem found."""
    names = set(schema.table_names)
    if len(names) != len(schema.tables):
        dup = next(n for n in schema.table_names if schema.table_names.count(n) > 1)
        raise SchemaError(f"Table '{dup}' appears twice in the schema; keep one")
    for table in schema.tables:
        if table.schema is not None and (
            not table.name.startswith(f"{table.schema}.") or table.schema not in schema.schemas
        ):
            raise SchemaError(
                f"Table '{table.name}' is in schema '{table.schema}': its name must be "
                f"'{table.schema}.<table>' and the schema one of \"schemas\" ({', '.join(schema.schemas)})"
            )
        cols = table.column_names
        if len(set(cols)) != len(cols):
            dup = next(c for c in cols if cols.count(c) > 1)
            raise SchemaError(f"Column '{dup}' appears twice in table '{table.name}'; keep one")
        for col in (*table.primary_key, *(c for u in table.unique for c in u.columns)):
            table.column(col)
        for fk in table.foreign_keys:
            for col in fk.columns:
                table.column(col)
            if fk.ref_table not in names:
                raise SchemaError(
                    f"Foreign key {fk.name} of table '{table.name}' points to unknown table "
                    f"'{fk.ref_table}'." + did_you_mean(fk.ref_table, names)
                )
            parent = schema.table(fk.ref_table)
            for col in fk.ref_columns:
                parent.column(col)
            if fk.inferred is not None and (
                fk.inferred.by not in INFERRED_BY
                or not isinstance(fk.inferred.values, int)
                or fk.inferred.values < 1
                or not isinstance(fk.inferred.orphans, int)
                or not isinstance(fk.inferred.orphan_values, int)
                or not 0 <= fk.inferred.orphans < fk.inferred.values
                or not 0 <= fk.inferred.orphan_values <= fk.inferred.orphans
                or (fk.inferred.orphans > 0) != (fk.inferred.orphan_values > 0)
                or not fk.virtual
            ):
                raise SchemaError(
                    f"Foreign key {fk.name} of table '{table.name}' says it was inferred, but not as "
                    f'relsynth writes it ("by" one of {", ".join(INFERRED_BY)}, "values" a positive '
                    'count, "orphans" and "orphan_values" fewer, "virtual": true); delete "inferred" '
                    "to keep it as your own virtual key"
                )
            if len(fk.columns) != len(fk.ref_columns) or not fk.columns:
                raise SchemaError(
                    f"Foreign key {fk.name} of table '{table.name}' has {len(fk.columns)} columns but "
                    f"refers to {len(fk.ref_columns)}; list the same number on both sides"
                )
        for ix in table.indexes:
            if ix.expression_at and not ix.ordered():
                raise SchemaError(
                    f"Index {ix.name} of table '{table.name}' has \"expression_at\" "
                    f"{list(ix.expression_at)}: it needs one distinct position (0-based) per expression "
                    f"({len(ix.expressions)}), below {len(ix.columns) + len(ix.expressions)}; delete it "
                    "to put the expressions after the columns"
                )
        if table.context is not None:
            table.fk(table.context)
        for column in table.columns:
            if column.pii is not None and column.pii not in PII_CATEGORIES:
                raise SchemaError(
                    f"Unknown PII category '{column.pii}' for column {table.name}.{column.name}; use one of "
                    + ", ".join(PII_CATEGORIES)
                )
