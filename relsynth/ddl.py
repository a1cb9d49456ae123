"""The target schema: a reflected Schema as SQLAlchemy objects for any dialect, and what changed.

Same dialect: types, defaults, CHECKs, generated columns, enums, domains, partitions, comments
and MySQL table options are recreated as they were. Another dialect: types are mapped to keep
their meaning (a PostgreSQL uuid becomes CHAR(36) in MySQL), CHECKs relsynth can parse are
re-rendered for the target, and everything that had to change or could not be kept is listed.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from relsynth import dialects
from relsynth.errors import SchemaError
from relsynth.model import checks as ck
from relsynth.schema import Column, Domain, PgSequence, Schema, SqlType, Table
from relsynth.sqltypes import NUMBER_TYPES, STRING_TYPES, is_bit_flag

if TYPE_CHECKING:
    import sqlalchemy as sa


@dataclass
class TargetSchema:
    metadata: sa.MetaData
    tables: dict[str, sa.Table]  # by source table name
    foreign_keys: list[tuple[str, Any]] = field(
        default_factory=list
    )  # (table, ForeignKeyConstraint) added after load
    partitions: list[tuple[str, str, str]] = field(default_factory=list)  # (parent, partition, bound)
    changes: list[str] = field(default_factory=list)  # what was mapped or left out, one line each
    versioned: list[str] = field(default_factory=list)  # MariaDB: WITH SYSTEM VERSIONING after the load
    periods: list[str] = field(default_factory=list)  # MariaDB: PERIOD FOR, WITHOUT OVERLAPS after the load
    # PostgreSQL sequences behind nextval() defaults, recreated by name: (schema, name) -> (the
    # sequence, the (table, column)s drawing from it), advanced past their values after the load.
    sequences: dict[tuple[str | None, str], tuple[Any, list[tuple[str, str]]]] = field(default_factory=dict)
    same_dialect: bool = True


def _native(spelling: str) -> Any:
    """A column type written exactly as the source dialect spelled it (same dialect only)."""
    import sqlalchemy as sa

    class Native(sa.types.UserDefinedType):
        cache_ok = True

        def get_col_spec(self, **kw: Any) -> str:
            return spelling

    return Native()


def spatial_type(spelling: str) -> Any:
    """A MySQL/MariaDB spatial column: values are WKT text, written through ST_GeomFromText (the
    server's own parser, so a shape is a shape, never bytes it cannot read)."""
    import sqlalchemy as sa

    class Spatial(sa.types.UserDefinedType):
        cache_ok = True

        def get_col_spec(self, **kw: Any) -> str:
            return spelling

        def bind_expression(self, bindvalue: Any) -> Any:
            return sa.func.ST_GeomFromText(bindvalue, type_=self)

    return Spatial()


# A cast after it may name a quoted, schema-qualified type ('active'::"Shop"."Order Status").
_CAST_NAME = r'(?:[\w\s]+|"(?:[^"]|"")+")'
_LITERAL_DEFAULT = (
    r"^\(?\s*(-?\d+(?:\.\d+)?|{string}|true|false|null)\s*\)?"
    rf"(?:::{_CAST_NAME}(?:\.{_CAST_NAME})?)?$"
)


@functools.cache
def _literal_default(family: str) -> re.Pattern[str]:
    """A DEFAULT that is a constant (a cast after it allowed), its string spelled as ``family`` does."""
    return re.compile(_LITERAL_DEFAULT.replace("{string}", dialects.string_pattern(family)), re.IGNORECASE)


_NOW_DEFAULT = re.compile(
    r"^\(?\s*(now\(\)|current_timestamp(\(\))?|current_date|localtimestamp)\s*\)?$", re.IGNORECASE
)


_ON_UPDATE = re.compile(r"^(.*?)\s+ON\s+UPDATE\s+(.+)$", re.IGNORECASE)

# The only column types a SQLite STRICT table accepts.
STRICT_TYPES = frozenset({"INT", "INTEGER", "REAL", "TEXT", "BLOB", "ANY"})

KEY_VARCHAR = 255  # 4-byte characters: three such columns fit in one InnoDB key (3,072 bytes)


def _keyed(table: Table) -> set[str]:
    """Columns in a primary key, UNIQUE, foreign key or plain index of the table."""
    out = set(table.primary_key) | table.fk_columns()
    for u in table.unique:
        out |= set(u.columns)
    for ix in table.indexes:
        if ix.method.lower() in {"", "btree", "hash"}:  # a FULLTEXT index takes TEXT as it is
            out |= set(ix.columns)
    return out


def column_type(
    col: Column,
    table: Table,
    src: str,
    dst: str,
    missing: frozenset[str] = frozenset(),
    uuid_type: bool = False,
) -> tuple[Any, str | None]:
    """The SQLAlchemy type for a column in the target dialect, and a note when it had to change.
    ``missing``: native types of the source the target does not have (a composite type, an
    extension's type): such a column is TEXT there. ``uuid_type``: a MySQL-family target that has a
    UUID type (MariaDB 10.7+, dialects.has_uuid_type)."""
    import sqlalchemy as sa
    from sqlalchemy.dialects import mysql, postgresql

    t: SqlType = col.type
    same = dialects.family(src) == dialects.family(dst)
    target = dialects.family(dst)
    where = f"{table.name}.{col.name}"

    def changed(new: Any, why: str) -> tuple[Any, str]:
        return new, f"{where}: {t.native or t.name} -> {why}"

    if t.type_name and t.name != "enum" and src.startswith("postgresql"):  # a domain
        needy = t.type_name in missing  # one using what relsynth does not recreate (citext): not created
        if target == "postgresql" and not needy:
            return _native(quoted_type(t.type_name)), None
        note = f"the base type of domain {t.type_name}" + (
            " (the domain, with its DEFAULT and CHECKs, is not created)" if needy else ""
        )
        base = column_type(
            Column(
                col.name,
                SqlType(t.name, precision=t.precision, scale=t.scale, length=t.length, timezone=t.timezone),
            ),
            table,
            src,
            dst,
        )[0]
        return changed(base, note)
    name = t.name
    if name in {"smallint", "integer", "bigint"} and same and target == "mysql" and t.native:
        # MySQL to MySQL: TINYINT, MEDIUMINT and UNSIGNED as they were (they bound the values).
        native = t.native.upper()
        made = {
            "TINYINT": mysql.TINYINT,
            "SMALLINT": mysql.SMALLINT,
            "MEDIUMINT": mysql.MEDIUMINT,
            "INT": mysql.INTEGER,
            "INTEGER": mysql.INTEGER,
            "BIGINT": mysql.BIGINT,
        }.get(native.split("(")[0].split()[0])
        if native.startswith("TINYINT(1)"):  # a TINYINT(1) holding 0-5 (not a boolean) stays TINYINT(1)
            return mysql.TINYINT(display_width=1, unsigned="UNSIGNED" in native), None
        if made is not None:
            return made(unsigned="UNSIGNED" in native), None
    if name in {"smallint", "integer", "bigint"} and "unsigned" in (t.native or "").lower():
        # MySQL's UNSIGNED holds twice the range: widened elsewhere, so that no value overflows.
        if target == "mysql":
            made = {"smallint": mysql.SMALLINT, "integer": mysql.INTEGER, "bigint": mysql.BIGINT}[name]
            return made(unsigned=True), None
        if name == "bigint" and target == "sqlite" and past_63_bits(col, table):
            return changed(
                sa.Text(),
                f"TEXT of its digits with CHECK ({col.name} >= 0) (it holds integers above 2^63 - 1, past "
                "SQLite's INTEGER, which NUMERIC would keep as 15-digit floats; compared as text)",
            )
        wider = {"smallint": sa.Integer(), "integer": sa.BigInteger(), "bigint": sa.Numeric(20, 0)}[name]
        return changed(
            wider,
            f"{'NUMERIC(20, 0)' if name == 'bigint' else 'a wider integer'} with CHECK ({col.name} >= 0) "
            "(no UNSIGNED)",
        )
    if (
        name in {"smallint", "integer"}
        and src.startswith("sqlite")
        and target != "sqlite"
        and t.precision == 64
    ):
        # SQLite's integers are 64-bit whatever the column declares; one holding values past 32
        # bits (a millisecond epoch: profile._past_32_bits) overflowed PostgreSQL's integer.
        return sa.BigInteger(), None
    if name == "smallint":
        return sa.SmallInteger(), None
    if name == "integer":
        return sa.Integer(), None
    if name == "bigint":
        return sa.BigInteger(), None
    if name == "year":
        return (
            (mysql.YEAR(), None)
            if target == "mysql"
            else changed(sa.SmallInteger(), "SMALLINT (no YEAR type)")
        )
    if name in {"float", "double", "numeric"} and unsigned_number(t) and not same:
        # MySQL's DECIMAL/FLOAT/DOUBLE UNSIGNED: the same type with a CHECK (x >= 0), as an integer's
        # (_kept_type_checks); said, as an UNSIGNED integer's is.
        signed = re.sub(r"\s*\bUNSIGNED\b", "", t.native, flags=re.IGNORECASE)
        typ, _ = column_type(replace(col, type=replace(t, native=signed)), table, src, dst, missing)
        return changed(typ, f"{signed} with CHECK ({col.name} >= 0) (no UNSIGNED)")
    if name in {"float", "double"} and same and target == "mysql" and unsigned_number(t):
        # MySQL to MySQL: FLOAT/DOUBLE UNSIGNED bound the values, as DECIMAL UNSIGNED does.
        if name == "float":
            return mysql.FLOAT(unsigned=True), None
        return mysql.DOUBLE(asdecimal=False, unsigned=True), None
    if name == "float":
        return sa.REAL() if target != "mysql" else mysql.FLOAT(), None
    if name == "double":
        if same and target == "sqlite" and t.native:
            return _native(t.native), None  # SQLite's REAL is its double: spelled as it was
        return sa.Double(), None
    if name == "numeric":
        if dialects.is_money(t):  # PostgreSQL's money: money there, its number elsewhere
            if target == "postgresql":
                return postgresql.MONEY(), None
            return changed(sa.Numeric(19, 2), "NUMERIC(19, 2) (no money type)")
        if same and target == "mysql" and t.precision is not None and "UNSIGNED" in (t.native or "").upper():
            # MySQL to MySQL: DECIMAL(10,2) UNSIGNED bounds the values, as an UNSIGNED integer does.
            return mysql.DECIMAL(t.precision, t.scale, unsigned=True), None
        if t.precision is None and target == "mysql":
            # MySQL makes a bare DECIMAL a DECIMAL(10,0), dropping every fraction: take its widest.
            return changed(
                mysql.DECIMAL(65, 30),
                "DECIMAL(65,30) (MySQL has no unconstrained numeric; wider values do not fit)",
            )
        return sa.Numeric(t.precision, t.scale), None
    if name == "text" and t.native == "ANY" and src.startswith("sqlite"):  # reflection._portable
        if same:
            return _native("ANY"), None
        typ, _ = column_type(replace(col, type=replace(t, native="TEXT")), table, src, dst, missing)
        spelled = "VARCHAR" if isinstance(typ, sa.String) and not isinstance(typ, sa.Text) else "TEXT"
        return changed(typ, f"{spelled} (numbers in it as text)")
    if name == "text" and (t.native or "").lower().split(".")[-1].strip('"') == "citext":
        return changed(
            sa.Text(),
            "TEXT (citext is an extension's type, not recreated: comparisons are case-sensitive here)",
        )
    if name in {"string", "char", "text"}:
        collation = t.collation if same and target in {"mysql", "sqlite"} else None
        if src.startswith("sqlite") and not same and t.collation in {"NOCASE", "RTRIM"}:
            # SQLite's own collations: the target compares (and keys) the text as its default does.
            ignoring, sensitively = {
                "NOCASE": ("ASCII case", "case-sensitively"),
                "RTRIM": ("trailing spaces", "with its trailing spaces"),
            }[t.collation]
            typ, _ = column_type(replace(col, type=replace(t, collation=None)), table, src, dst, missing)
            return changed(
                typ,
                f"the same text without COLLATE {t.collation} (SQLite's own, ignoring {ignoring}): "
                f"compared and kept unique {sensitively} here",
            )
        if target == "mysql" and not same and t.length is None and col.name in _keyed(table):
            # MySQL indexes no TEXT without a prefix length: a key column becomes a VARCHAR.
            return changed(sa.String(KEY_VARCHAR), f"VARCHAR({KEY_VARCHAR}) (MySQL keys no TEXT column)")
        if name == "text":
            if same and target == "mysql" and t.native:
                return _native(t.native), None  # TEXT/MEDIUMTEXT/LONGTEXT with its charset and collation
            return sa.Text(collation=collation), None
        length = t.length
        if length is None and target == "mysql":
            return (
                changed(sa.Text(), "TEXT (MySQL needs a length for VARCHAR)")
                if name == "string"
                else (sa.CHAR(1), None)
            )
        cls = sa.CHAR if name == "char" else sa.String
        return cls(length, collation=collation), None
    if name == "time" and dialects.family(src) == "mysql" and target != "mysql":
        # MySQL's and MariaDB's TIME is a duration (-838:59:59..838:59:59): a time of day cannot hold it.
        if target == "postgresql":
            return changed(
                postgresql.INTERVAL(), "INTERVAL (a MariaDB TIME is a duration, -838:59:59..838:59:59)"
            )
        return changed(sa.Text(), "TEXT of the duration, '-05:00:00' to '838:59:59' (a MariaDB TIME)")
    if target == "sqlite" and name == "datetime" and t.timezone and not same:
        # SQLite has no time zones: the instant as UTC text ending in Z (ISO 8601, which SQLite's
        # date functions read as UTC); naive text would lose which instant it was.
        zulu = replace(text_format(t, name, where), zulu=True)
        return changed(
            sqlite_temporal(name, zulu.text, same, where),
            f"DATETIME, text in UTC marked Z ('{zulu.text}': SQLite has no time zone type)",
        )
    if target == "sqlite" and name in TEMPORAL and not (t.timezone and name == "time"):
        return sqlite_temporal(name, t.sqlite_format, same, where), None
    if name == "date":
        return sa.Date(), None
    if name == "datetime":
        if t.timezone and target == "mysql":
            return changed(sa.DateTime(), "DATETIME in UTC (MySQL keeps no time zone)")
        if same and target == "mysql" and t.native:
            return _native(t.native), None
        return sa.DateTime(timezone=t.timezone), None
    if name == "time":
        if t.timezone and target != "postgresql":
            return changed(sa.Time(), f"TIME (no time with time zone in {dst}: the UTC offset is lost)")
        return sa.Time(timezone=t.timezone), None
    if name == "interval":
        if target == "postgresql":
            return postgresql.INTERVAL(), None
        return changed(sa.Interval(), "an emulated interval (a timestamp offset from 1970)")
    if name == "boolean":
        if is_bit_flag(t):  # a MySQL/MariaDB BIT(1) flag: BIT(1) there, a boolean elsewhere
            if target == "mysql":
                return _native("BIT(1)"), None
            spelled = "BOOLEAN" if target == "postgresql" else "BOOLEAN of 0/1"
            return changed(sa.Boolean(create_constraint=False), f"{spelled} (a BIT(1) flag)")
        return sa.Boolean(create_constraint=False), None
    if name == "uuid":
        if target == "postgresql":
            return sa.Uuid(as_uuid=False), None
        if same and target == "mysql" and uuid_type:  # MariaDB to MariaDB 10.7+: 16 bytes, its order
            return _native("UUID"), None
        return changed(sa.CHAR(36), "CHAR(36) (no uuid type)")
    if name == "enum":
        if target == "postgresql":
            if t.type_name:
                type_schema, enum_name = split_type_name(t.type_name)
                return postgresql.ENUM(*t.values, name=enum_name, schema=type_schema, create_type=False), None
            enum_name = f"{table.local_name}_{col.name}_enum"
            return postgresql.ENUM(*t.values, name=enum_name, create_type=False), None
        if target == "mysql":
            return mysql.ENUM(*t.values), None
        longest = max((len(v) for v in t.values), default=1)
        return changed(
            sa.Enum(*t.values, native_enum=False, create_constraint=True, length=longest),
            f"VARCHAR({longest}) with a CHECK of its {len(t.values)} values",
        )
    if name == "set":
        if target == "mysql":
            return mysql.SET(*t.values), None
        return changed(sa.Text(), "TEXT (no SET type; values stay comma-separated)")
    if name == "json":
        if target == "postgresql":
            typed = postgresql.JSONB if "JSONB" in t.native.upper() else postgresql.JSON
            return typed(none_as_null=True), None  # NULL stays NULL (a JSON null is JSON.NULL)
        return sa.JSON(none_as_null=True), None  # NULL stays NULL, not the JSON text null
    if name == "binary":
        if same and t.native:
            return _native(t.native), None
        return sa.LargeBinary(), None
    if name == "array":
        if target == "postgresql" and t.item is not None:
            item, why = column_type(Column(col.name, t.item), table, src, dst, missing)
            if why is not None:
                return changed(sa.Text(), "TEXT (its element type is not in the target)")
            return postgresql.ARRAY(item), None
        return changed(sa.JSON(none_as_null=True), "JSON (no array type)")  # NULL stays NULL
    if name == "geometry":
        if target == "mysql":
            return spatial_type(t.native or "GEOMETRY"), None
        return changed(sa.Text(), "TEXT (shapes as WKT; no spatial type here)")
    if not same and bit_kind(t):
        width = bit_width(t.native or "")
        return changed(_bit_text_class()(width), "TEXT of '0'/'1' bits, most significant first (no BIT type)")
    if same and t.native and t.native in missing:
        return changed(sa.Text(), "TEXT (the type is not in the target: create it there first to keep it)")
    if same and t.native:
        return _native(t.native), None
    if target == "mysql" and col.name in _keyed(table):  # MySQL indexes no TEXT (a daterange in a key)
        return changed(
            sa.String(KEY_VARCHAR), f"VARCHAR({KEY_VARCHAR}) (no equivalent type; MySQL keys no TEXT)"
        )
    return changed(sa.Text(), "TEXT (no equivalent type)")


class _ConstraintNames:
    """The CHECK and foreign key names kept in another dialect's target: the source's, unless the
    target refuses it there (too long, or taken: PostgreSQL's and MariaDB's are unique per table,
    MySQL's and MariaDB's foreign keys per database, MySQL's CHECKs too), when the target names it
    and the change says so. The same dialect keeps them all, as the source had them."""

    def __init__(self, same: bool, dst: str, checks_per_database: bool, changes: list[str]) -> None:
        self.same, self.dst, self.target = same, dst, dialects.family(dst)
        self.changes = changes
        self.per_database = {"foreign key"} | ({"CHECK"} if checks_per_database else set())
        self.tables: dict[str, set[str]] = {}
        self.databases: dict[str, set[str]] = {}

    def kept(self, table: str, what: str, name: str | None) -> str | None:
        if self.same or name is None or self.target not in {"postgresql", "mysql"}:
            return name  # SQLite's need not be unique
        mysql = self.target == "mysql"
        key = name.lower() if mysql else name  # MySQL's constraint names ignore case
        here = self.tables.setdefault(table, set())
        database = self.databases.setdefault(what, set()) if mysql and what in self.per_database else set()
        why = None
        if mysql and len(name) > 64:
            why = "longer than its 64 characters"
        elif not mysql and len(name.encode()) > 63:
            why = "longer than its 63 bytes"
        elif key in here:
            why = "another constraint of the table has it"
        elif key in database:
            why = f"another table's {what} has it, and {self.dst} names them once per database"
        if why is not None:
            self.changes.append(f"{table}: {what} {name} -> a name {self.dst} chooses ({why})")
            return None
        here.add(key)
        database.add(key)
        return name


_BIT_NATIVE = re.compile(r"\s*(BIT|VARBIT|BIT\s+VARYING)\s*(\(\s*(\d+)\s*\))?\s*$", re.IGNORECASE)


def bit_kind(t: SqlType) -> bool:
    """Whether a column is MySQL's BIT(n) or PostgreSQL's bit(n)/bit varying(n)."""
    return t.name == "other" and _BIT_NATIVE.match(t.native or "") is not None


def bit_width(native: str) -> int | None:
    """The fixed width of a BIT(n) (BIT alone: 1); None for a varying one."""
    m = _BIT_NATIVE.match(native)
    if m is None or "VAR" in m.group(1).upper():
        return None
    return int(m.group(3) or 1)


def bit_text(value: Any, width: int | None) -> Any:
    """A bit value as text of '0'/'1' ('100'): MySQL hands BIT(3) over as bytes or a number (4),
    PostgreSQL as that text already; a fixed width keeps its leading zeros."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        value = int.from_bytes(bytes(value), "big")
    return format(int(value), "b").zfill(width or 1)


@functools.cache
def _bit_text_class() -> type:
    """TEXT that writes bit values as bit strings (made once: SQLAlchemy is imported lazily)."""
    import sqlalchemy as sa

    class BitText(sa.types.TypeDecorator):
        impl = sa.Text
        cache_ok = True

        def __init__(self, width: int | None = None) -> None:
            super().__init__()
            self.width = width

        def process_bind_param(self, value: Any, dialect: Any) -> Any:
            return bit_text(value, self.width)

    return BitText


TEMPORAL = ("date", "datetime", "time")
# A date/time text format (SqlType.sqlite_format): a date, 'T' or ' ', a time to the minute, its
# seconds with up to six fraction digits, and a trailing 'Z'.
_TEXT_FORMAT = re.compile(
    r"(?P<date>YYYY-MM-DD)?(?P<sep>[ T])?(?P<time>HH:MM(?P<sec>:SS(?:\.(?P<frac>f{1,6}))?)?)?(?P<z>Z)?"
)
# Another dialect's values in a SQLite target: no fraction unless a value has one (not '.000000').
PLAIN_FORMATS = {"datetime": "YYYY-MM-DD HH:MM:SS", "date": "YYYY-MM-DD", "time": "HH:MM:SS"}


@dataclass(frozen=True)
class TextFormat:
    """How a SQLite column holds dates and times as text, parsed from a format like 'YYYY-MM-DD
    HH:MM:SS.fff' (hashable: it is part of its SQLAlchemy type's cache key)."""

    date: bool = True
    sep: str = " "
    time: bool = True
    seconds: bool = True
    digits: int = 0
    zulu: bool = False

    @classmethod
    def parse(cls, text: str, family: str) -> TextFormat | None:
        """The format, or None when it is no date/time format a ``family`` column can use."""
        m = _TEXT_FORMAT.fullmatch(text)
        if m is None or not m["time" if family == "time" else "date"] or (family == "time" and m["date"]):
            return None
        if bool(m["sep"]) != bool(m["date"] and m["time"]):
            return None
        return cls(
            bool(m["date"]),
            m["sep"] or "",
            bool(m["time"]),
            bool(m["sec"]),
            len(m["frac"] or ""),
            bool(m["z"]),
        )

    @property
    def text(self) -> str:
        """The format as written in a schema: 'YYYY-MM-DDTHH:MM:SS.fffZ'."""
        out = "YYYY-MM-DD" if self.date else ""
        if self.time:
            out += (
                self.sep
                + "HH:MM"
                + (":SS" if self.seconds else "")
                + ("." + "f" * self.digits if self.digits else "")
            )
        return out + ("Z" if self.zulu else "")

    @property
    def storage(self) -> str:
        """SQLAlchemy's storage_format for it (the microseconds cut to ``digits`` by the caller)."""
        out = "%(year)04d-%(month)02d-%(day)02d" if self.date else ""
        if self.time:
            out += self.sep + "%(hour)02d:%(minute)02d" + (":%(second)02d" if self.seconds else "")
            out += f".%(microsecond)0{self.digits}d" if self.digits else ""
        return out + ("Z" if self.zulu else "")

    def holds(self, value: Any) -> bool:
        """Whether the value fits the format without losing any part of it."""
        hour, minute = int(getattr(value, "hour", 0)), int(getattr(value, "minute", 0))
        micro, second = int(getattr(value, "microsecond", 0)), int(getattr(value, "second", 0))
        if not self.time and (hour or minute or second or micro):
            return False
        if not self.seconds and (second or micro):
            return False
        return micro % 10 ** (6 - self.digits) == 0

    def widened(self, value: Any) -> TextFormat:
        """The format with the seconds and fraction a value needs (one the source sample never showed
        is written in full, not cut)."""
        digits = self.digits if getattr(value, "microsecond", 0) % 10 ** (6 - self.digits) == 0 else 6
        return replace(self, sep=self.sep or " " * self.date, time=True, seconds=True, digits=digits)


# A date/time as SQLite text: '2009-01-01 00:00:00', '2009-01-01T00:00:00.123Z', '10:30'.
_RAW_TEXT = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})?(?P<sep>[ T])?"
    r"(?P<time>\d{2}:\d{2}(?P<sec>:\d{2}(?:\.(?P<frac>\d+))?)?)?(?P<z>Z)?"
)


def stored_format(raw: Iterable[object], family: str) -> str | None:
    """The text format of a sample of a SQLite column's stored values: their commonest shape, with as
    many fraction digits (up to six) as any value of that shape has. None when no value is date or
    time text a ``family`` column can hold (numbers: julian days, epoch seconds)."""
    shapes: Counter[TextFormat] = Counter()
    digits: dict[TextFormat, int] = {}
    for value in raw:
        m = _RAW_TEXT.fullmatch(value) if isinstance(value, str) else None
        if m is None:
            continue
        shape = TextFormat(bool(m["date"]), m["sep"] or "", bool(m["time"]), bool(m["sec"]), 0, bool(m["z"]))
        shapes[shape] += 1
        digits[shape] = max(digits.get(shape, 0), min(6, len(m["frac"] or "")))
    for shape, _ in shapes.most_common():
        fmt = replace(shape, digits=digits[shape])
        if TextFormat.parse(fmt.text, family) == fmt:
            return fmt.text
    return None


def plain_format(values: Iterable[Any], family: str) -> str:
    """Another dialect's column as SQLite text: ISO 8601, with six fraction digits only when a
    value of the sample has a fraction."""
    if family != "date" and any(_micro(v) for v in values):
        return PLAIN_FORMATS[family] + ".ffffff"
    return PLAIN_FORMATS[family]


def _micro(value: Any) -> int:
    """A datetime's or time's microseconds; a timedelta's (MySQL TIME); 0 for NULL."""
    if value is None or value != value:  # NaT
        return 0
    found = getattr(value, "microsecond", None)
    return int(getattr(value, "microseconds", 0) if found is None else found)


def text_format(t: SqlType, family: str, where: str) -> TextFormat:
    """A column's SQLite text format: its recorded one, else the plain ISO one."""
    found = TextFormat.parse(t.sqlite_format or PLAIN_FORMATS[family], family)
    if found is None:
        raise SchemaError(
            f"Column {where}: sqlite_format '{t.sqlite_format}' is no {family} format; write it like "
            f"'{PLAIN_FORMATS[family]}', 'YYYY-MM-DDTHH:MM:SS.fffZ' or 'HH:MM', or delete it"
        )
    return found


def sqlite_temporal(family: str, recorded: str | None, same: bool, where: str) -> Any:
    """A SQLite DATE/DATETIME/TIME written in the text format its source used: SQLite's values as
    they were stored (a 'T', a 'Z', three fraction digits), another dialect's with no '.000000' on
    whole seconds. Values stay ISO 8601 text, which SQLite's date() and strftime() read, and
    SQLAlchemy's default parser reads back (a ``regexp`` would take '.123' for 123 microseconds)."""
    from sqlalchemy.dialects import sqlite

    if same and recorded is None:  # a schema from before formats were recorded: SQLAlchemy's format
        return {"date": sqlite.DATE, "datetime": sqlite.DATETIME, "time": sqlite.TIME}[family]()
    return _temporal_class(family)(
        text_format=text_format(SqlType(family, sqlite_format=recorded), family, where)
    )


@functools.cache
def _temporal_class(family: str) -> type:
    """sqlite.DATE/DATETIME/TIME writing a TextFormat (made once: SQLAlchemy is imported lazily)."""
    from sqlalchemy.dialects import sqlite

    base = {"date": sqlite.DATE, "datetime": sqlite.DATETIME, "time": sqlite.TIME}[family]

    class Formatted(base):  # type: ignore[valid-type,misc]
        def __init__(self, text_format: TextFormat, **kw: Any) -> None:
            kw.pop("storage_format", None)
            super().__init__(storage_format=text_format.storage, **kw)
            self.text_format = text_format

        def adapt(self, cls: type, **kw: Any) -> Any:
            if issubclass(cls, Formatted):
                kw["text_format"] = self.text_format
            return super().adapt(cls, **kw)

        def bind_processor(self, dialect: Any) -> Callable[[Any], str | None]:
            return _binder(self.text_format)

    Formatted.__name__ = base.__name__
    return Formatted


def _binder(fmt: TextFormat) -> Callable[[Any], str | None]:
    """Values to text in ``fmt``; a value it cannot hold whole is written in a widened format."""
    main, scale = fmt.storage, 10 ** (6 - fmt.digits)

    def process(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, dt.date | dt.time):
            raise TypeError("SQLite date/time types only accept Python date, datetime and time objects")
        if fmt.zulu and isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        parts = {
            name: getattr(value, name, 0) for name in ("year", "month", "day", "hour", "minute", "second")
        }
        micro = getattr(value, "microsecond", 0)
        if fmt.holds(value):
            return main % {**parts, "microsecond": micro // scale}
        wide = fmt.widened(value)
        return wide.storage % {**parts, "microsecond": micro // 10 ** (6 - wide.digits)}

    return process


def split_type_name(name: str) -> tuple[str, str]:
    """(schema, name) of a PostgreSQL enum or domain named as ``sqltypes.type_key`` does (bare:
    public; a part with a '.' double-quoted). Explicit, so that a type is not moved into its
    table's schema."""
    parts = [
        m.group(1).replace('""', '"') if m.group(1) is not None else m.group(2)
        for m in re.finditer(r'"((?:[^"]|"")*)"|([^."]+)', name)
    ]
    if len(parts) == 2:
        return parts[0], parts[1]
    if len(parts) == 1:
        return "public", parts[0]
    where, _, local = name.partition(".")  # not a key type_key makes: read as before
    return where, local


def quoted_type(name: str) -> str:
    """The type's schema-qualified name quoted for DDL; a '%' left single (raw DDL)."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in split_type_name(name))


def source_sql(sql: str) -> Any:
    """SQL text read from the source's catalog (a CHECK, a DEFAULT, a generated column's or an
    index's expression) as a clause the target's DDL renders as it is: ``sa.text`` reads ``:name``
    as a bind parameter (``'a :b'`` became ``'a NULL'``) and drops the backslash of ``\\:``. A '%'
    is doubled for a driver with %-style parameters, and single again when it runs the DDL."""
    import sqlalchemy as sa

    return sa.literal_column(sql)


def default_clause(col: Column, src: str, dst: str) -> tuple[Any, str | None]:
    r"""Server default for the target, or None with a note when it cannot be carried over.

    A constant carries its value: a string is read as the source spells it and handed to the target
    as a value, which its DDL quotes and escapes its own way (MariaDB's 'a\\b' is a\b, written 'a\b'
    in PostgreSQL and SQLite; PostgreSQL's 'a\:b' is written 'a\\:b' in MariaDB)."""
    import sqlalchemy as sa

    default = col.default
    if default is None or "nextval(" in default:
        return None, None  # serial columns become autoincrement columns
    family = dialects.family(src)
    if family == dialects.family(dst):
        return source_sql(default), None
    bit = re.fullmatch(r"\(?\s*b'([01])'\s*\)?", default.strip(), re.IGNORECASE)
    if bit and is_bit_flag(col.type):  # a BIT(1) flag's b'0' or b'1': the target's false or true
        on = bit.group(1) == "1"
        if dialects.family(dst) == "postgresql":
            return source_sql("true" if on else "false"), None
        return source_sql("1" if on else "0"), None
    literal = _literal_default(family).match(default.strip())
    if literal:
        value = literal.group(1)  # without parentheses and cast; a '::' inside a string stays
        text = dialects.string_value(value, family) if value[-1:] == "'" else None
        if col.type.name in {"date", "datetime"} and text is not None:
            from relsynth.transform import special_date

            if special_date(text)[0] is not None:  # 'infinity', a zero date: no date the target holds
                return None, f"default {default} of {col.name} is no date {dst} holds: not recreated"
        if (
            col.type.name == "boolean"
            and dialects.family(dst) == "postgresql"
            and value.strip("'") in {"0", "1"}
        ):
            # PostgreSQL casts no integer to boolean
            return source_sql("true" if value.strip("'") == "1" else "false"), None
        if text is not None:
            return text, None  # a value: the target's DDL renders it as its own literal
        return source_sql(value), None
    if _NOW_DEFAULT.match(default.strip()):
        return sa.func.current_timestamp(), None
    on_update = _ON_UPDATE.match(default.strip())
    if on_update:
        # MySQL's DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP: the default is portable
        kept, why = default_clause(replace(col, default=on_update.group(1)), src, dst)
        if kept is not None and why is None:
            spelled = "CURRENT_TIMESTAMP" if _NOW_DEFAULT.match(on_update.group(1)) else on_update.group(1)
            return kept, (
                f"{col.name}: DEFAULT {spelled} kept; ON UPDATE {on_update.group(2)} is specific "
                f"to {src}: not recreated (an update leaves the column as it was)"
            )
    return None, f"default {default} of {col.name} is specific to {src}: not recreated"


def _folded(name: str, target: str) -> str:
    """A column name as the target compares it: SQLite folds ASCII letters only, MySQL/MariaDB any
    letter; PostgreSQL keeps a quoted name as it is."""
    if target == "sqlite":
        return name.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"))
    return name.lower() if target == "mysql" else name


# The longest name a target takes: PostgreSQL's NAMEDATALEN - 1 bytes, MySQL/MariaDB's characters.
NAME_LIMITS = {"postgresql": (63, "bytes"), "mysql": (64, "characters")}


def refuse_target_names(schema: Schema, names: Iterable[str], dst: str) -> None:
    """Names of tables and columns the target cannot take, said before any data is read (not as an
    internal error once everything was sampled): longer than the target allows (a MariaDB name of
    64 characters into PostgreSQL, which would cut it and may make two columns one), and, in a
    MySQL/MariaDB target, the name of relsynth's own bookkeeping table."""
    from relsynth.guard import BOOKKEEPING

    target = dialects.family(dst)
    for name in names:
        table = schema.table(name)
        if target == "mysql" and table.local_name.lower() == BOOKKEEPING:
            raise SchemaError(
                f"Table {name}: the name {BOOKKEEPING} is reserved by relsynth in a MySQL/MariaDB target "
                f"(its bookkeeping table); leave the table out (--exclude {name}), rename it in the "
                "source, or write into a PostgreSQL or SQLite database"
            )
        if target not in NAME_LIMITS:
            continue
        limit, unit = NAME_LIMITS[target]
        dst_name = "PostgreSQL" if target == "postgresql" else "MySQL/MariaDB"
        for what, ident in [("table", table.local_name), *(("column", c.name) for c in table.columns)]:
            size = len(ident.encode("utf-8")) if unit == "bytes" else len(ident)
            if size > limit:
                where = f"Table {name}" if what == "table" else f"Column {name}.{ident}"
                out = " or leave the table out (--exclude)" if what == "table" else ""
                raise SchemaError(
                    f"{where}: the {what} name has {size} {unit}, and {dst_name} keeps at most {limit}; "
                    f"rename it in the source{out}, or write into another kind of database"
                )


def refuse_column_clashes(schema: Schema, names: Iterable[str], dst: str) -> None:
    """Two columns of a table whose names differ only in case (legal in PostgreSQL) are one name in
    SQLite or MySQL/MariaDB: said before anything is created, not as the target's failed CREATE.
    Names the target cannot take at all are refused first (refuse_target_names)."""
    names = list(names)
    refuse_target_names(schema, names, dst)
    target = dialects.family(dst)
    if target not in {"sqlite", "mysql"}:
        return
    for name in names:
        seen: dict[str, str] = {}
        for col in schema.table(name).columns:
            other = seen.setdefault(_folded(col.name, target), col.name)
            if other != col.name:
                raise SchemaError(
                    f"Table {name} has columns '{other}' and '{col.name}' that differ only in case, "
                    f"which a {'SQLite' if target == 'sqlite' else 'MySQL/MariaDB'} target does not tell "
                    "apart; exclude the table (--exclude), rename a column in the source, or write "
                    "into a PostgreSQL database"
                )


def build(
    schema: Schema,
    names: list[str],
    dst: str,
    *,
    physical: dict[str, str] | None = None,
    target_schema: str | None = None,
    fks_after_load: bool = True,
    nan_columns: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
    own_schemas: bool = True,
    virtual_generated: bool = False,
    text_collation: str | None = None,
    missing_types: frozenset[str] = frozenset(),
    checks_per_database: bool = False,
    uuid_type: bool = False,
) -> TargetSchema:
    """SQLAlchemy tables for ``names`` in dialect ``dst`` (``physical`` renames, e.g. staging).

    A table of a several-schema run goes into the schema of its name (``Table.schema``), the others
    into ``target_schema``; ``own_schemas=False`` keeps them all in the connection's own (MySQL
    staging tables, moved to their databases by the final RENAME). ``virtual_generated``: the
    PostgreSQL target has VIRTUAL generated columns (18+; MySQL/MariaDB and SQLite always do).
    ``text_collation``: a MySQL/MariaDB target's case-sensitive collation (``dialects.binary_collation``),
    the tables' own when the source compares strings case-sensitively (PostgreSQL, SQLite).
    ``missing_types``: the source's native types the target lacks (column_type).
    ``checks_per_database``: a MySQL target, whose CHECK names are unique per database (MariaDB's
    are per table, as PostgreSQL's). ``uuid_type``: the target has a UUID type (column_type)."""
    import sqlalchemy as sa

    refuse_column_clashes(schema, names, dst)
    _register_invisible()
    src = schema.dialect or dst
    same = dialects.family(src) == dialects.family(dst)
    target = dialects.family(dst)
    physical = physical or {n: schema.table(n).local_name for n in names}
    md = sa.MetaData(schema=target_schema)
    out = TargetSchema(metadata=md, tables={}, same_dialect=same)
    wanted = set(names)
    # PostgreSQL and SQLite name indexes per schema (beside tables), MySQL per table: a repeated
    # name is renamed. Keyed by the table's schema; the names taken start with the tables'.
    taken: dict[str | None, set[str]] = {}
    for name in names:
        taken.setdefault(_where(schema.table(name), target_schema, own_schemas), set()).add(
            physical[name].lower()
        )
    # PostgreSQL to PostgreSQL: domains using a function or type relsynth does not recreate are not
    # created (the target would refuse them): their columns take the base type.
    needy = (
        frozenset(d.name for d in schema.domains if d.needs)
        if same and target == "postgresql"
        else frozenset()
    )
    types = {
        name: {
            col.name: column_type(col, schema.table(name), src, dst, missing_types | needy, uuid_type)
            for col in schema.table(name).columns
        }
        for name in names
    }
    if not same:
        follow_references(schema, types, dst)
    drawn_from: dict[tuple[str, str], list[PgSequence]] = {}
    for q in schema.sequences:
        for user in q.used_by:
            drawn_from.setdefault(user, []).append(q)
    binary = case_sensitive_collation(schema, names, src, dst, text_collation)
    if binary:
        out.changes.append(
            f"string columns: COLLATE {binary} (case- and space-sensitive, as in {src}; the "
            f"database's default collation ignores case, so 'a' and 'A' would be one key)"
        )
    # The source's foreign keys into tables this run leaves out: the target lacks them.
    out.changes += [
        n for n in schema.notes if dialects.FK_NOT_RECREATED in n and n.split(": ", 1)[0] in wanted
    ]
    constraint_names = _ConstraintNames(same, dst, checks_per_database, out.changes)
    for name in names:
        table = schema.table(name)
        strict = target == "sqlite" and same and ("sqlite_strict", "True") in table.options
        hidden = set(json.loads(dict(table.options).get(dialects.INVISIBLE, "[]")))
        opts = dict(table.options)
        if (dialects.VERSIONED, "True") in table.options:
            if target == "mysql" and same:
                out.versioned.append(name)
            else:
                system = json.loads(opts.get(dialects.SYSTEM_PERIOD, "null"))
                out.changes.append(
                    f"{name}: WITH SYSTEM VERSIONING -> a table without history (none in {dst})"
                    + (
                        f"; its ROW START/ROW END columns {system[0]}, {system[1]} are left out"
                        if system
                        else ""
                    )
                )
        if dialects.PERIODS in opts or dialects.OVERLAPS in opts:
            if target == "mysql" and same:
                out.periods.append(name)
            else:
                out.changes += period_changes(name, opts, f"none in {dst}")
        if hidden and not same:
            out.changes.append(
                f"{name}: INVISIBLE column {', '.join(sorted(hidden))} -> visible "
                f"({dst} has no invisible columns)"
            )
        cols = []
        owned: list[tuple[Any, str]] = []  # (sequence, column) to own once the table exists
        before: list[Any] = []  # sequences to create before the table (if not there already)
        for col in table.columns:
            typ, note = types[name][col.name]
            if target == "sqlite" and _numbers_itself(table, col, src) and _spelled(typ, dst) != "INTEGER":
                typ, note = _sqlite_rowid_key(name, col)
            if strict and _spelled(typ, dst).split("(")[0].split()[0] not in STRICT_TYPES:  # TEXT COLLATE ..
                typ = _native("ANY")  # a STRICT table's ANY column reflects as NUMERIC, which STRICT refuses
            if note:
                out.changes.append(note)
            default, dnote = default_clause(col, src, dst)
            if dnote:
                out.changes.append(f"{name}.{dnote}")
            kw: dict[str, Any] = {"nullable": col.nullable, "comment": col.comment}
            if (name, col.name) in nan_columns and target in {"sqlite", "mysql"}:
                kw["nullable"] = True
                out.changes.append(
                    f"{name}.{col.name}: NaN has no representation in {dst} (nor an infinity in "
                    "MariaDB/MySQL): written as NULL, so the column accepts NULL here"
                )
            if default is not None and col.type.native in missing_types:
                out.changes.append(f"{name}.{col.name}: DEFAULT left out (it builds a type the target lacks)")
            elif default is not None and same and col.needs and not col.computed:
                out.changes.append(
                    f"{name}.{col.name}: DEFAULT {col.default} left out (it uses {_needs(col.needs)}, "
                    "which relsynth does not recreate)"
                )
            elif default is not None:
                kw["server_default"] = default
            extra: list[Any] = []
            if col.computed:
                if same and col.needs:
                    out.changes.append(
                        f"{name}.{col.name}: generated column is a plain column here: its expression uses "
                        f"{_needs(col.needs)}, which relsynth does not recreate (its values are learned "
                        "like any column's)"
                    )
                elif same:
                    virtual = col.virtual and (target != "postgresql" or virtual_generated)
                    extra.append(sa.Computed(source_sql(col.computed), persisted=not virtual))
                    if col.virtual and not virtual:
                        out.changes.append(
                            f"{name}.{col.name}: VIRTUAL generated column -> STORED (this PostgreSQL, "
                            "before 18, has no virtual generated columns)"
                        )
                else:
                    out.changes.append(
                        f"{name}.{col.name}: generated column is a plain column here: its values are learned "
                        "like any column's (its expression is not translated)"
                    )
            serial = _serial(col, src)
            auto = _numbers_itself(table, col, src)
            # Its own sequence (PostgreSQL, or MariaDB's SEQUENCE outside a several-database run)
            recreates = target == "postgresql" or (target == "mysql" and not schema.schemas)
            draws = drawn_from.get((name, col.name), []) if recreates and same else []
            drawn = draws[0] if draws and (serial or target != "postgresql") else None
            if draws and drawn is None:  # nextval() inside an expression: its sequences, then the expression
                where = _where(table, target_schema, own_schemas)
                renamed = {}
                for q in draws:
                    seq, users = out.sequences.get((where, q.name)) or (_sequence(sa, q, where), [])
                    if not users:
                        before.append(seq)
                    users.append((name, col.name))
                    out.sequences[(where, q.name)] = (seq, users)
                    renamed[q.name] = ".".join(_pg_ident(n) for n in (where, q.name) if n)
                    if q.owned_by == (name, col.name):
                        owned.append((seq, col.name))
                kw["server_default"] = source_sql(_renamed_nextvals(col.default or "", renamed))
            elif _nextval_inside(col, src) and target == "postgresql" and same:
                out.changes.append(
                    f"{name}.{col.name}: DEFAULT {col.default} -> no default (a sequence it uses is not "
                    "recreated)"
                )
            if drawn is not None:  # its own sequence, by name, not an identity
                where = _where(table, target_schema, own_schemas)
                seq, users = out.sequences.get((where, drawn.name)) or (
                    _sequence(sa, drawn, where, mysql=target == "mysql"),
                    [],
                )
                if not users and target == "postgresql":
                    before.append(seq)
                users.append((name, col.name))
                out.sequences[(where, drawn.name)] = (seq, users)
                if target == "postgresql":  # MariaDB: created with the DEFAULT after the swap (writer)
                    kw["server_default"] = seq.next_value()
                if drawn.owned_by == (name, col.name):
                    owned.append((seq, col.name))
                serial = auto = False
            elif serial and target == "postgresql" and same:
                note = _unrecreated_sequence(table, col, auto, kw["nullable"])
                if note:
                    out.changes.append(f"{name}.{col.name}: {note}")
            elif serial and dialects.family(src) == "mysql":  # a MariaDB SEQUENCE not recreated here
                numbered = auto or (target == "postgresql" and not kw["nullable"])
                becomes = "numbered by the target itself" if numbered else "no default"
                out.changes.append(
                    f"{name}.{col.name}: DEFAULT {col.default} -> {becomes} (its sequence is not recreated)"
                )
            if auto and target == "postgresql" and not same and wide_unsigned(col):
                # PostgreSQL's identities are at most bigint: a numeric(20,0) key numbers itself
                # from a sequence it owns (so that it is advanced past the loaded keys, like a serial).
                seq = sa.Sequence(
                    f"{physical[name]}_{col.name}_seq",
                    schema=_where(table, target_schema, own_schemas),
                    metadata=md,
                )
                extra.append(seq)
                kw["server_default"] = seq.next_value()
                owned.append((seq, col.name))
                auto = False
                out.changes.append(
                    f"{name}.{col.name}: AUTO_INCREMENT -> a default from sequence {seq.name}, which it "
                    "owns (identities stop at bigint; the sequence numbers new rows up to 2^63-1)"
                )
            if col.identity in {"always", "by default"} and target == "postgresql":
                extra.append(sa.Identity(always=col.identity == "always", start=col.identity_start))
            elif auto and target == "postgresql" and col.identity_start:
                # AUTO_INCREMENT=1000 (or SQLite's counter): an identity starting there, as a serial cannot
                extra.append(sa.Identity(always=False, start=col.identity_start))
            elif serial and not auto and target == "postgresql" and not kw["nullable"]:
                # a serial outside a one-column key (an identity is NOT NULL: a nullable one has no default)
                extra.append(sa.Identity(always=False))
            if not any(isinstance(e, sa.Identity) for e in extra):  # an Identity says it itself
                kw["autoincrement"] = auto
            if target == "mysql" and same and col.name in hidden:
                kw["info"] = {INVISIBLE: True}  # rendered by _create_column
            cols.append(sa.Column(col.name, typ, *extra, **kw))
        constraints: list[Any] = []
        if table.primary_key:
            constraints.append(sa.PrimaryKeyConstraint(*table.primary_key))
        for u in table.unique:
            constraints.append(sa.UniqueConstraint(*u.columns, name=u.name if same else None))
        auto_cols = {c.name for c in cols if c.autoincrement is True}
        for check in table.checks:
            if target == "mysql" and auto_cols and _mentions(check.sql, auto_cols, src):
                out.changes.append(
                    f"{name}: CHECK ({check.sql}) uses an AUTO_INCREMENT column, which "
                    "MySQL/MariaDB forbids: not recreated"
                )
                continue
            if same and check.needs:
                out.changes.append(
                    f"{name}: CHECK ({check.sql}) uses {_needs(check.needs)}, which relsynth does not "
                    "recreate: not recreated"
                )
                continue
            clause = _check(check.sql, same, {c.name: c.type for c in table.columns}, src, dst)
            if clause is None:
                out.changes.append(f"{name}: CHECK ({check.sql}) cannot be expressed in {dst}: not recreated")
                continue
            kept = constraint_names.kept(name, "CHECK", check.name)
            constraints.append(sa.CheckConstraint(clause, name=kept))
            if not same and (note := like_change(check.sql, src, dst)):
                out.changes.append(f"{name}: CHECK ({check.sql}): {note}")
        if not same:  # a PostgreSQL domain's CHECK holds for its columns: here, as their own CHECK
            for column, sql in domain_checks(schema, table):
                clause = _check(sql, False, {c.name: c.type for c in table.columns}, src, dst)
                if clause is None:
                    out.changes.append(
                        f"{name}.{column}: its domain's CHECK cannot be expressed in {dst}: not recreated"
                    )
                else:
                    constraints.append(sa.CheckConstraint(clause))
        if not same:
            constraints += _kept_type_checks(table, cols, src, dst, constraint_names, out.changes)
        kwargs: dict[str, Any] = {"comment": table.comment}
        if table.schema is not None and own_schemas:
            kwargs["schema"] = table.schema
        if target == "sqlite" and same:  # STRICT typing and WITHOUT ROWID storage, as they were
            opts = dict(table.options)
            if opts.get("sqlite_with_rowid") == "False":
                kwargs["sqlite_with_rowid"] = False
            if opts.get("sqlite_strict") == "True":
                kwargs["sqlite_strict"] = True
            if opts.get("sqlite_autoincrement") == "True":  # rowids never reused
                kwargs["sqlite_autoincrement"] = True
        if target == "sqlite" and any(
            c.identity_start and _numbers_itself(table, c, src) for c in table.columns
        ):
            # Only an AUTOINCREMENT table has a counter to start at the source's START WITH 1000
            # (writer.py sets it), as a sequence never gives a number twice either.
            kwargs["sqlite_autoincrement"] = True
        if target == "mysql":
            opts = dict(table.options) if same else {}
            # Always InnoDB: a table of another engine (MyISAM, Aria, MEMORY, ...) cannot roll back,
            # so no later --into-existing load could be all-or-nothing in it (attack round 30).
            kwargs["mysql_engine"] = "InnoDB"
            source_engine = opts.get("mysql_engine")
            if source_engine and source_engine.lower() != "innodb":
                out.changes.append(
                    f"{name}: ENGINE={source_engine} in the source; InnoDB here (transactional, "
                    "so a failed load is rolled back)"
                )
            kwargs["mysql_charset"] = opts.get("mysql_default charset", "utf8mb4")
            starts = [table.column(c).identity_start for c in sorted(auto_cols)]
            if any(starts):  # the source's AUTO_INCREMENT=1000 (or START WITH): new rows number on from it
                kwargs["mysql_auto_increment"] = str(max(s for s in starts if s))
            if "mysql_collate" in opts:
                kwargs["mysql_collate"] = opts["mysql_collate"]
            elif binary:  # every string column (keys and the FKs to them alike) compares as in the source
                kwargs["mysql_collate"] = binary
        if table.partitioning is not None:
            if target == "postgresql" and same and table.partitioning.dialect == "postgresql":
                kwargs["postgresql_partition_by"] = table.partitioning.key
                for part, bound in table.partitioning.partitions:
                    out.partitions.append((name, part, bound))
            elif target == "mysql" and same and table.partitioning.dialect == "mysql":
                for part, bound in table.partitioning.partitions:  # ALTER TABLE ... PARTITION BY (writer)
                    out.partitions.append((name, part, bound))
            else:
                out.changes.append(f"{name}: partitioned in the source; one plain table here")
        sa_table = sa.Table(physical[name], md, *cols, *constraints, **kwargs)
        out.tables[name] = sa_table
        for seq in before:
            sa.event.listen(sa_table, "before_create", _create_sequence(seq))
        for seq, column in owned:
            sa.event.listen(sa_table, "after_create", _owner(seq, column))
        for ix in table.indexes:
            if (ix.expressions or ix.method) and not same:
                what = f"a {ix.method.upper()} index" if ix.method else "an index on expressions"
                out.changes.append(f"{name}: index {ix.name} is {what}, specific to {src}: not recreated")
                continue
            parts = [source_sql(e) if is_expr else sa_table.c[e] for e, is_expr in ix.elements()]  # in order
            ix_name = ix.name
            if target != "mysql" and ix_name:
                used = taken.setdefault(_where(table, target_schema, own_schemas), set())
                ix_name = _free_name(ix_name, f"{physical[name]}_{ix_name}", used)
                why = f"index names are per schema in {dst}"
                if target == "postgresql" and len(ix_name.encode()) > NAME_LIMITS[target][0]:
                    ix_name, why = _fitted(ix_name, NAME_LIMITS[target][0]), "longer than its 63 bytes"
                    used.add(ix_name.lower())
                if ix_name != ix.name:
                    out.changes.append(f"{name}: index {ix.name} renamed {ix_name} ({why})")
            elif target == "mysql" and ix_name and len(ix_name) > NAME_LIMITS[target][0]:
                ix_name = _fitted(ix_name, NAME_LIMITS[target][0])  # a SQLite or PostgreSQL source's
                why = "longer than its 64 characters"
                out.changes.append(f"{name}: index {ix.name} renamed {ix_name} ({why})")
            partial: dict[str, Any] = {}
            if ix.where and target in {"postgresql", "sqlite"}:
                # The predicate names the table's columns only: a renamed (staging) table keeps it.
                # Into the other of the two, re-rendered as a CHECK is, where relsynth reads it.
                where = _check(ix.where, same, {c.name: c.type for c in table.columns}, src, dst)
                if where is not None:
                    partial[f"{target}_where"] = where
                    if ix.unique and not same and (note := like_change(ix.where, src, dst)):
                        out.changes.append(f"{name}: unique index {ix.name}: its WHERE: {note}")
            if ix.where and not partial:
                out.changes.append(
                    f"{name}: {'unique ' if ix.unique else ''}index {ix.name} is partial in the source "
                    + (
                        "(WHERE ...); MySQL and MariaDB have no partial indexes"
                        if target == "mysql"
                        else f"(its WHERE is {src} SQL that relsynth does not translate)"
                    )
                    + ": here it covers every row"
                    + (
                        " where the synthetic rows allow it (they are unique where its WHERE holds; "
                        "if not, it is listed as not recreated)"
                        if ix.unique
                        else ""
                    )
                )
            if parts:
                sa.Index(
                    ix_name,  # index names are per table on MySQL: a staging table keeps them
                    *parts,
                    unique=ix.unique,
                    _table=sa_table,
                    **_index_kind(ix, dialects.family(dst)),
                    **partial,
                    # The synthetic values are kept unique over its columns, not under expressions,
                    # nor outside a WHERE the target's index lost, and within one only as far as
                    # relsynth reads it on the values it checks: created apart (writer.py).
                    info={"may_be_refused": True} if ix.unique and (ix.expressions or ix.where) else {},
                )
    for name in names:
        table = schema.table(name)
        for fk in table.foreign_keys:
            if fk.ref_table not in wanted:
                continue
            if fk.virtual:
                continue  # relsynth keeps it valid; the database never had it
            constraint = sa.ForeignKeyConstraint(
                list(fk.columns),
                [out.tables[fk.ref_table].c[c] for c in fk.ref_columns],
                name=constraint_names.kept(name, "foreign key", fk.name),
                ondelete=fk.on_delete,
                onupdate=fk.on_update,
                # MySQL/MariaDB have no deferrable constraints (the clause is a syntax error there).
                deferrable=(fk.deferrable or None) if target != "mysql" else None,
                initially="DEFERRED" if fk.initially_deferred and target != "mysql" else None,
            )
            if fk.deferrable and target == "mysql":
                out.changes.append(f"{name}: foreign key {fk.label} is DEFERRABLE in the source; not here")
            if fks_after_load:
                out.foreign_keys.append((name, constraint))  # attached and created after the load
            else:
                out.tables[name].append_constraint(constraint)
    return out


def period_changes(name: str, options: dict[str, str], why: str) -> list[str]:
    """The lines saying a MariaDB table's application-time periods and WITHOUT OVERLAPS keys are not
    in the target (``why``: in words)."""
    out = [
        f"{name}: PERIOD FOR {p} ({s}, {e}) -> left out ({why}); {s} and {e} are ordinary columns"
        for p, s, e in json.loads(options.get(dialects.PERIODS, "[]"))
    ]
    out += [
        f"{name}: {overlaps_key(k, c, p)} -> left out ({why})"
        for k, c, p in json.loads(options.get(dialects.OVERLAPS, "[]"))
    ]
    return out


def overlaps_key(key: str | None, columns: list[str], period: str) -> str:
    """A WITHOUT OVERLAPS key as the summary names it."""
    head = "PRIMARY KEY" if key is None else f"UNIQUE KEY {key}"
    return f"{head} ({', '.join([*columns, f'{period} WITHOUT OVERLAPS'])})"


def unsigned_number(t: SqlType) -> bool:
    """A MySQL/MariaDB number column declared UNSIGNED: an integer, DECIMAL, FLOAT or DOUBLE."""
    numbers = {"smallint", "integer", "bigint", "numeric", "float", "double"}
    return t.name in numbers and "unsigned" in (t.native or "").lower()


def _kept_type_checks(
    table: Table, cols: list[Any], src: str, dst: str, names: _ConstraintNames, changes: list[str]
) -> list[Any]:
    """What another dialect's target needs to hold what the source's column types held, as CHECKs:
    an UNSIGNED integer's CHECK (x >= 0) and, in SQLite, a JSON document's CHECK (json_valid(x));
    and the changes that say what is not held (a MySQL key that ignored case)."""
    import sqlalchemy as sa

    target, source = dialects.family(dst), dialects.family(src)
    by_name = {c.name: c for c in cols}
    out: list[Any] = []
    for col in table.columns:
        column = by_name.get(col.name)
        if column is None:
            continue
        where = f"{table.name}.{col.name}"
        if source == "mysql" and target != "mysql" and unsigned_number(col.type):
            kept = names.kept(table.name, "CHECK", f"{col.name}_unsigned")
            out.append(sa.CheckConstraint(column >= 0, name=kept))
        elif col.type.name == "json" and target == "sqlite":
            kept = names.kept(table.name, "CHECK", f"{col.name}_json_valid")
            # json_valid(NULL) is 0 before SQLite 3.45 (NULL after): a NULL is no document to check
            out.append(sa.CheckConstraint(sa.or_(column.is_(None), sa.func.json_valid(column)), name=kept))
            changes.append(f"{where}: JSON -> JSON text with CHECK (json_valid({col.name})) (no JSON type)")
        elif col.type.name == "json" and target == "postgresql" and source == "mysql":
            spelled = "jsonb" if "JSONB" in (col.type.native or "").upper() else "json"
            changes.append(
                f"{where}: CHECK (JSON_VALID({col.name})) -> the {spelled} type, which validates "
                "every document itself"
            )
    if source == "mysql" and target != "mysql":
        default = dict(table.options).get("mysql_collate") or ""
        keys = ([table.primary_key] if table.primary_key else []) + [u.columns for u in table.unique]
        for key in keys:
            ignoring = [
                c
                for c in key
                if table.column(c).type.name in STRING_TYPES
                and (table.column(c).type.collation or default).lower().endswith("_ci")
            ]
            if ignoring:
                what = "PRIMARY KEY" if key is table.primary_key else "UNIQUE"
                changes.append(
                    f"{table.name}: {what} ({', '.join(key)}) ignored case in {src} "
                    f"(collation {(table.column(ignoring[0]).type.collation or default)}): case-sensitive "
                    "here, so 'a' and 'A' are two keys (the synthetic values differ ignoring case)"
                )
    return out


def case_sensitive_collation(
    schema: Schema, names: Iterable[str], src: str, dst: str, collation: str | None
) -> str | None:
    """The collation for a MySQL/MariaDB target's tables when the source (PostgreSQL, SQLite)
    compares strings case-sensitively and some table has a string column; else None."""
    if not collation or dialects.family(dst) != "mysql":
        return None
    if dialects.family(src) not in {"postgresql", "sqlite"}:
        return None
    stringy = {"string", "char", "text", "enum", "set"}
    if any(c.type.name in stringy for n in names for c in schema.table(n).columns):
        return collation
    return None


INVISIBLE = "relsynth_invisible"  # a column's info key: MySQL/MariaDB INVISIBLE


@functools.cache
def _register_invisible() -> None:
    """Teach SQLAlchemy's MySQL/MariaDB DDL a column's INVISIBLE flag (kept in its info)."""
    from sqlalchemy.ext.compiler import compiles
    from sqlalchemy.schema import CreateColumn

    @compiles(CreateColumn, "mysql")
    @compiles(CreateColumn, "mariadb")
    def _create_column(element: Any, compiler: Any, **kw: Any) -> str | None:
        text = compiler.visit_create_column(element, **kw)
        if text is not None and element.element.info.get(INVISIBLE):
            text += " INVISIBLE"
        return None if text is None else str(text)

    return None


def _serial(col: Column, src: str = "") -> bool:
    """A default that is a sequence's next value itself; not one using it inside an expression
    (PostgreSQL's ``'S' || lpad(nextval('seq')::text, 5, '0')``: an identity on that text column
    was an internal error, 22023, attack a45a)."""
    return bool(col.default and "nextval(" in col.default) and not _nextval_inside(col, src)


def _nextval_inside(col: Column, src: str) -> bool:
    """A PostgreSQL default calling nextval() inside a larger expression."""
    default = col.default or ""
    return (
        dialects.family(src) == "postgresql"
        and "nextval(" in default
        and _PLAIN_NEXTVAL.match(default) is None
    )


_PLAIN_NEXTVAL = re.compile(r"^\s*nextval\('((?:[^']|'')*)'(?:::regclass)?\)\s*$", re.IGNORECASE)
_ANY_NEXTVAL = re.compile(r"nextval\('((?:[^']|'')*)'(::regclass)?\)", re.IGNORECASE)


def _pg_ident(name: str) -> str:
    """A PostgreSQL identifier, always quoted (inside a regclass string)."""
    return '"' + name.replace('"', '""') + '"'


def _renamed_nextvals(default: str, names: dict[str, str]) -> str:
    """An expression default with each nextval('seq') naming the sequence as recreated (in the
    table's schema in the target, which may not be the source's)."""

    def swap(m: re.Match[str]) -> str:
        used = m.group(1).replace("''", "'")
        local = used.split(".")[-1].strip('"')
        new = names.get(local)
        if new is None:
            return m.group(0)
        return "nextval('" + new.replace("'", "''") + "'::regclass)"

    return _ANY_NEXTVAL.sub(swap, default)


def _numbers_itself(table: Table, col: Column, src: str = "") -> bool:
    """An identity, serial or AUTO_INCREMENT column that is the whole primary key: the target
    numbers new rows in it by itself."""
    serial = _serial(col, src)
    return bool(
        (col.identity or serial)
        and table.primary_key == (col.name,)
        and col.type.name in {"smallint", "integer", "bigint"}
    )


def _sqlite_rowid_key(name: str, col: Column) -> tuple[Any, str | None]:
    """SQLite numbers a new row's key only in a column declared exactly INTEGER PRIMARY KEY (the
    rowid, 64-bit whatever the name): a BIGINT or SMALLINT identity would refuse an INSERT without
    its key. A note only where the range changes (BIGINT UNSIGNED stops at 2^63-1 here)."""
    import sqlalchemy as sa

    note = None
    if wide_unsigned(col):
        note = (
            f"{name}.{col.name}: {col.type.native or col.type.name} -> INTEGER (SQLite numbers new rows "
            "only in an INTEGER PRIMARY KEY, which stops at 2^63-1)"
        )
    return sa.Integer(), note


def past_63_bits(col: Column, table: Table) -> bool:
    """A BIGINT UNSIGNED column, no key, whose source values go past 2^63 - 1 (profile marks it, as
    precision 64): SQLite's INTEGER cannot hold them and its NUMERIC keeps them as floats, which
    merged 300 distinct values into one. A key column is refused by the writer instead."""
    keyed = set(table.primary_key) | {c for u in table.unique for c in u.columns} | table.fk_columns()
    return wide_unsigned(col) and col.type.precision == 64 and col.name not in keyed


def wide_unsigned(col: Column) -> bool:
    """A MySQL BIGINT UNSIGNED: 0..2^64-1, beyond any other dialect's bigint."""
    return col.type.name == "bigint" and "unsigned" in (col.type.native or "").lower()


def _sequence(sa: Any, drawn: PgSequence, where: str | None, mysql: bool = False) -> Any:
    """The source's sequence, by its name, in the schema its table is created in."""
    types = {"smallint": sa.SmallInteger(), "integer": sa.Integer(), "bigint": sa.BigInteger()}
    if mysql:  # MariaDB before 11.5 knows no AS type: its sequences are BIGINT
        types = {}
    return sa.Sequence(
        drawn.name,
        start=drawn.start,
        increment=drawn.increment,
        minvalue=drawn.min_value,
        maxvalue=drawn.max_value,
        cycle=drawn.cycle,
        data_type=types.get(drawn.data_type),
        schema=where,
    )


def created_sequences(
    schema: Schema, names: list[str], dst: str, target_schema: str | None
) -> dict[tuple[str | None, str], list[tuple[str, str]]]:
    """The sequences ``build`` creates by name in a PostgreSQL target, as (schema, name) -> the
    (table, column)s drawing from them: the source's (PostgreSQL), and a MariaDB ``BIGINT UNSIGNED``
    key's own; in a MariaDB target, the source's SEQUENCEs (writer._mariadb_sequences). Checked
    against the target before any data is read (guard.sequence_clashes): one
    already there was reused and advanced, another application's included (attack round 45)."""
    wanted = set(names)
    out: dict[tuple[str | None, str], list[tuple[str, str]]] = {}
    if dialects.family(dst) == "mysql":  # MariaDB's SEQUENCEs, in the target's one database
        if dialects.family(schema.dialect or dst) == "mysql" and not schema.schemas:
            for seq in schema.sequences:
                users = [(t, c) for t, c in seq.used_by if t in wanted]
                if users:
                    out.setdefault((None, seq.name), []).extend(users)
        return out
    if dialects.family(dst) != "postgresql":
        return {}
    if dialects.family(schema.dialect or dst) == "postgresql":
        for seq in schema.sequences:
            users = [(t, c) for t, c in seq.used_by if t in wanted]
            if users:
                where = _where(schema.table(users[0][0]), target_schema, True)
                out.setdefault((where, seq.name), []).extend(users)
        return out
    for name in names:
        table = schema.table(name)
        for col in table.columns:
            if _numbers_itself(table, col) and wide_unsigned(col):
                key = (_where(table, target_schema, True), f"{table.local_name}_{col.name}_seq")
                out.setdefault(key, []).append((name, col.name))
    return out


def _create_sequence(seq: Any) -> Callable[..., None]:
    """Before a table's CREATE: the sequence its default draws from. Never one already there (IF NOT
    EXISTS reused another's and advanced it): the target was checked to hold none of that name,
    or --replace dropped it (writer.py)."""

    def create(table: Any, connection: Any, **kw: Any) -> None:
        from sqlalchemy.schema import CreateSequence

        connection.execute(CreateSequence(seq))

    return create


def _needs(needs: tuple[str, ...]) -> str:
    """'function public.f()', or the first few of several, for a note."""
    shown = ", ".join(needs[:3])
    return shown + (f" and {len(needs) - 3} more" if len(needs) > 3 else "")


_NEXTVAL_NAME = re.compile(r"nextval\('((?:[^']|'')*)'", re.IGNORECASE)


def _unrecreated_sequence(table: Table, col: Column, auto: bool, nullable: bool = False) -> str | None:
    """What a nextval() default whose sequence relsynth has no record of (one in another schema, or
    a schema file from before sequences were recorded) becomes, when that is not what it was: an
    identity, a serial with a sequence of another name, or (a column accepting NULL, which an
    identity cannot) no default."""
    m = _NEXTVAL_NAME.search(col.default or "")
    used = m.group(1).replace("''", "'") if m else "a sequence"
    if auto and used.split(".")[-1].strip('"') == f"{table.local_name}_{col.name}_seq":
        return None  # a serial key: SERIAL makes the same sequence
    if nullable and not auto:
        return (
            f"DEFAULT nextval('{used}') -> no default (the sequence {used} is not recreated, and an "
            "identity column cannot accept NULL)"
        )
    kind = "a serial with its own new sequence" if auto else "an identity column"
    return f"DEFAULT nextval('{used}') -> {kind} (the sequence {used} is not recreated)"


def _owner(seq: Any, column: str) -> Callable[..., None]:
    """After a table's CREATE: its key's sequence is owned by the key (pg_get_serial_sequence finds
    it, and it is dropped with the table)."""

    def own(table: Any, connection: Any, **kw: Any) -> None:
        prep = connection.dialect.identifier_preparer
        owner = f"{prep.format_table(table)}.{prep.quote(column)}"
        connection.exec_driver_sql(f"ALTER SEQUENCE {prep.format_sequence(seq)} OWNED BY {owner}")

    return own


def follow_references(schema: Schema, types: dict[str, dict[str, tuple[Any, str | None]]], dst: str) -> None:
    """Give each foreign key column the target type of the column it references (a mapping can
    make them differ: PostgreSQL refuses a key between integer and text, or serial and numeric).
    Chains (a key referencing a key) are followed to their end."""
    for _ in range(len(types) + 1):
        moved = False
        for name, cols in types.items():
            for fk in schema.table(name).foreign_keys:
                if fk.virtual or fk.ref_table not in types:
                    continue
                for column, ref in zip(fk.columns, fk.ref_columns, strict=True):
                    if column not in cols or ref not in types[fk.ref_table]:
                        continue
                    wanted = types[fk.ref_table][ref][0]
                    if _spelled(cols[column][0], dst) == _spelled(wanted, dst):
                        continue
                    source = schema.table(name).column(column).type
                    cols[column] = (
                        wanted,
                        f"{name}.{column}: {source.native or source.name} -> {_spelled(wanted, dst)} "
                        f"(the type of {fk.ref_table}.{ref}, which it references)",
                    )
                    moved = True
        if not moved:
            return


def _spelled(typ: Any, dst: str) -> str:
    """A type as the target's DDL writes it."""
    import sqlalchemy as sa

    family = dialects.family(dst)
    if family not in {"postgresql", "mysql", "sqlite"}:
        return repr(typ)
    try:
        return str(typ.compile(dialect=_dialect(family)))
    except sa.exc.CompileError:  # a type the dialect cannot compile alone: compared by description
        return repr(typ)


@functools.cache
def _dialect(family: str) -> Any:
    """A SQLAlchemy dialect of the family, to compile types with (no connection)."""
    from sqlalchemy.dialects import mysql, postgresql, sqlite

    return {"postgresql": postgresql, "mysql": mysql, "sqlite": sqlite}[family].dialect()


def _where(table: Table, target_schema: str | None, own_schemas: bool) -> str | None:
    """The schema a table is created in (as ``build`` places it)."""
    return table.schema if own_schemas and table.schema is not None else target_schema


def _fitted(name: str, limit: int) -> str:
    """A name cut to ``limit`` bytes, ending in a hash of the whole one (two long names that start
    alike stay two)."""
    import hashlib

    tail = "_" + hashlib.sha1(name.encode()).hexdigest()[:8]
    head = name.encode()[: limit - len(tail)].decode("utf-8", errors="ignore")
    return head + tail


def _free_name(name: str, fallback: str, used: set[str]) -> str:
    """``name`` if no other index or table of the schema has it, else ``fallback`` (numbered)."""
    out, k = name, 2
    if out.lower() in used:
        out = fallback
        while out.lower() in used:
            out, k = f"{fallback}_{k}", k + 1
    used.add(out.lower())
    return out


def _mentions(sql: str, columns: set[str], dialect: str) -> bool:
    try:
        return bool(ck.columns_of(ck.parse(sql, dialect)) & columns)
    except ck.NotInterpretable:
        return any(re.search(rf"\b{re.escape(c)}\b", sql) for c in columns)


def _index_kind(ix: Any, dialect: str) -> dict[str, Any]:
    """The index as the source made it: FULLTEXT/SPATIAL and prefix lengths on MySQL, the access
    method on PostgreSQL (a plain index on a TEXT column fails on MySQL; a B-tree is not a GIN)."""
    out: dict[str, Any] = {}
    if dialect in {"mysql", "mariadb"}:
        if ix.method in {"fulltext", "spatial"}:
            out["mysql_prefix"] = ix.method.upper()
        if any(ix.lengths):
            out["mysql_length"] = {c: n for c, n in zip(ix.columns, ix.lengths, strict=False) if n}
    elif dialect == "postgresql" and ix.method:
        out["postgresql_using"] = ix.method
    return out


_VALUE = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\bVALUE\b", re.IGNORECASE)


def domain_checks(schema: Schema, table: Table) -> list[tuple[str, str]]:
    """(column, CHECK) for each column of a domain type with CHECKs: VALUE named as the column. A
    domain over another domain holds that one's CHECKs too (small_pos AS pos: VALUE > 0 as well)."""
    domains = {d.name: d for d in schema.domains}
    out = []
    for col in table.columns:
        domain = domains.get(col.type.type_name or "")
        if domain is None or col.type.name == "enum":
            continue
        quoted = '"' + col.name.replace('"', '""') + '"'

        def named(m: re.Match[str], quoted: str = quoted) -> str:
            return quoted if m.group(0).upper() == "VALUE" else m.group(0)  # literals stay as they are

        seen: set[str] = set()
        while domain is not None and domain.name not in seen:
            seen.add(domain.name)
            out += [(col.name, _VALUE.sub(named, sql)) for sql in domain.checks]
            domain = _base_domain(domains, domain)
    return out


def _base_domain(domains: dict[str, Domain], domain: Domain) -> Domain | None:
    """The domain ``domain`` is over, as format_type names it ('pos', 'public.pos', '"My pos"')."""
    base = (domain.type.native or "").strip()
    if base in domains:
        return domains[base]
    parts = [p.strip().strip('"').replace('""', '"') for p in base.split(".")]
    unquoted = ".".join(parts)
    if unquoted in domains:
        return domains[unquoted]
    if len(parts) == 2 and parts[0] == "public":  # keyed by its name alone in the run's schema
        return domains.get(parts[1])
    return None


def _check(sql: str, same: bool, types: dict[str, SqlType], src: str = "", dst: str = "") -> Any:
    """The CHECK as a clause: its own text on the same dialect, else re-rendered if parseable."""
    if same:
        return source_sql(sql)
    try:
        node = ck.parse(sql, dialects.family(src) if src else None)
        return to_expression(node, types, dialects.family(dst) if dst else "")
    except ck.NotInterpretable:
        return None


def _function(name: str, arg: Any, target: str) -> Any:
    """A portable string function as the target spells it: length in characters is CHAR_LENGTH
    on MySQL (whose LENGTH counts bytes), octet_length is MySQL's LENGTH and SQLite's length of
    the value as a BLOB."""
    import sqlalchemy as sa

    if name == "length":
        return sa.func.char_length(arg) if target == "mysql" else sa.func.length(arg)
    if name == "octet_length":
        if target == "mysql":
            return sa.func.length(arg)
        if target == "sqlite":
            return sa.func.length(sa.cast(arg, sa.LargeBinary()))
        return sa.func.octet_length(arg)
    return getattr(sa.func, name)(arg)  # lower, upper, trim: spelled alike everywhere


_WHOLE = frozenset({"smallint", "integer", "bigint", "year"})


def _arithmetic(node: Any, operand: Callable[[Any], Any], types: dict[str, SqlType], target: str) -> Any:
    """Arithmetic between numeric columns and constants as the target spells it (``/`` and ``%``
    as plain operators: no casts). Not recreated (NotInterpretable) where it would mean something
    else there: a column that is not a number (date arithmetic differs in every dialect), or a
    division between MySQL's exact ``/`` and the others' integer one."""
    for name in ck.columns_of(node):
        t = types.get(name)
        if t is None or t.name not in NUMBER_TYPES:
            raise ck.NotInterpretable("arithmetic on a column that is not a number")
    whole = all(types[c].name in _WHOLE for c in ck.columns_of(node))
    if node.op == "%" and target == "sqlite" and not whole:
        raise ck.NotInterpretable("SQLite's % reads its operands as integers")
    if node.op == "/" and node.exact_div != (target == "mysql"):
        raise ck.NotInterpretable("division: integer in one dialect, exact in the other")
    left, right = operand(node.left), operand(node.right)
    return left.op(node.op)(right)


def _like(node: ck.Like, subject: Any, types: dict[str, SqlType], target: str) -> Any:
    """A LIKE as the target spells it. Letters compared case-sensitively (PostgreSQL's LIKE) stay so:
    SQLite's GLOB (its LIKE ignores the case of ASCII letters), MariaDB's LIKE under a binary
    collation. Compared without case (SQLite's LIKE, PostgreSQL's ILIKE, MariaDB's default
    collations): ILIKE, SQLite's LIKE, MariaDB's LOWER(x) LIKE lower pattern; like_change says how
    that can differ. A pattern without letters means the same in all three: LIKE."""
    import sqlalchemy as sa

    column = types.get(node.column.name) if isinstance(node.column, ck.Col) else None
    if target == "postgresql" and column is not None and column.name not in STRING_TYPES:
        subject = sa.cast(subject, sa.Text())  # PostgreSQL has no LIKE on numbers or dates
    sensitive = node.case == "sensitive" or not node.letters()
    if target == "sqlite" and sensitive and node.letters():
        glob = "".join(
            "*" if k == "%" else "?" if k == "_" else f"[{c}]" if c in "*?[" else c for k, c in node.parts
        )
        expr = subject.op("GLOB")(sa.literal(glob))
        return sa.not_(expr) if node.negated else expr
    literal = {c for k, c in node.parts if k == "="}
    escape = None
    if literal & {"%", "_"} or (target != "sqlite" and "\\" in literal):  # a backslash escapes there
        escape = next((c for c in "!#^~|" if c not in literal), None)
        if escape is None:
            raise ck.NotInterpretable("no escape character for this LIKE pattern")
    pattern = node.text(escape)
    if sensitive:
        if target == "mysql" and node.letters():
            subject = subject.collate("utf8mb4_bin")
        expr = subject.like(sa.literal(pattern), escape=escape)
    elif target == "postgresql":
        expr = subject.ilike(sa.literal(pattern), escape=escape)
    elif target == "mysql":
        expr = sa.func.lower(subject).like(sa.literal(pattern.lower()), escape=escape)
    else:
        expr = subject.like(sa.literal(pattern), escape=escape)
    return sa.not_(expr) if node.negated else expr


_LIKE_CASE = {
    "ascii": "ignores the case of ASCII letters only",
    "insensitive": "ignores the case of every letter (ILIKE)",
    "collation": "compares letters by the column's collation (by default without case or accents)",
}
_LIKE_HERE = {
    "postgresql": "ILIKE here ignores the case of every letter",
    "sqlite": "SQLite's LIKE here ignores the case of ASCII letters only",
    "mysql": "LOWER(...) LIKE here ignores case but not accents",
}


def like_change(sql: str, src: str, dst: str) -> str | None:
    """How a recreated CHECK's LIKE may hold for other values than in the source: where its pattern
    has letters and the source compares them without case (the target's form is the nearest, not
    the same); None where it means the same (case-sensitive, or a pattern without letters)."""
    try:
        node = ck.parse(sql, dialects.family(src))
    except ck.NotInterpretable:
        return None
    loose = [like for like in ck.likes(node) if like.case != "sensitive" and like.letters()]
    if not loose or dialects.family(src) == dialects.family(dst):
        return None
    return (
        f"its LIKE {_LIKE_CASE[loose[0].case]} in {src}; {_LIKE_HERE[dialects.family(dst)]}: a value "
        "differing from the pattern in the case or accent of a letter may pass in one and not the other"
    )


def check_clause(sql: str, table: Table, source: str, target: str) -> Any:
    """A CHECK as the DDL recreates it in another dialect (``target``, a family): the clause the
    target renders itself, None where it is not recreated. target_checks asks the target with it."""
    return _check(sql, False, {c.name: c.type for c in table.columns}, source, target)


def to_expression(node: Any, types: dict[str, SqlType] | None = None, target: str = "") -> Any:
    """A parsed CHECK as a SQLAlchemy expression, so each dialect renders and quotes it itself.

    Constants take the type of the column they meet (SQLite's ``flag IN (0, 1)`` on a boolean
    becomes ``flag IN (false, true)`` in PostgreSQL). ``target``: the dialect family, which
    spells the string functions.
    """
    import sqlalchemy as sa

    types = types or {}
    column_of = {"col": None}

    def typed(value: Any) -> Any:
        t = types.get(column_of["col"] or "")
        if t is not None and t.name == "boolean" and isinstance(value, int | float):
            return bool(value)
        return value

    def operand(x: Any) -> Any:
        if isinstance(x, ck.Func):
            return _function(x.name, operand(x.arg), target)
        if isinstance(x, ck.Arith):
            return _arithmetic(x, operand, types, target)
        return sa.column(x.name) if isinstance(x, ck.Col) else sa.literal(typed(x.value))

    for part in ("left", "right", "column"):
        if isinstance(getattr(node, part, None), ck.Col):
            column_of["col"] = getattr(node, part).name

    if isinstance(node, ck.Cmp):
        left, right = operand(node.left), operand(node.right)
        return {
            "=": left == right,
            "<>": left != right,
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
        }[node.op]
    if isinstance(node, ck.In):
        expr = sa.column(node.column.name).in_([sa.literal(typed(v)) for v in node.values])
        return ~expr if node.negated else expr
    if isinstance(node, ck.Between):
        expr = operand(node.column).between(operand(node.low), operand(node.high))
        return ~expr if node.negated else expr
    if isinstance(node, ck.Like):
        return _like(node, operand(node.column), types, target)
    if isinstance(node, ck.IsNull):
        col: sa.ColumnClause[Any] = sa.column(node.column.name)
        return col.is_not(None) if node.negated else col.is_(None)
    if isinstance(node, ck.Not):
        return sa.not_(to_expression(node.item, types, target))
    if isinstance(node, ck.BoolOp):
        parts = [to_expression(i, types, target) for i in node.items]
        return sa.and_(*parts) if node.op == "AND" else sa.or_(*parts)
    raise ck.NotInterpretable(type(node).__name__)
