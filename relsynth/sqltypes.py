"""SQLAlchemy column types <-> portable SqlType, and the kind a type implies before any data is seen.

Kept apart from reflection so the writer can map the same portable types into another dialect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from relsynth.schema import Column, Kind, SqlType

if TYPE_CHECKING:
    import sqlalchemy as sa

# Portable families and the kind each implies; None: the data decides (strings).
KIND_OF_TYPE: dict[str, Kind | None] = {
    "smallint": Kind.NUMERICAL,
    "integer": Kind.NUMERICAL,
    "bigint": Kind.NUMERICAL,
    "float": Kind.NUMERICAL,
    "double": Kind.NUMERICAL,
    "numeric": Kind.NUMERICAL,
    "year": Kind.NUMERICAL,
    "string": None,
    "char": None,
    "text": None,
    "date": Kind.DATETIME,
    "datetime": Kind.DATETIME,
    "time": Kind.DATETIME,
    "interval": Kind.UNSUPPORTED,
    "boolean": Kind.BOOLEAN,
    "uuid": Kind.ID,
    "enum": Kind.CATEGORICAL,
    "set": Kind.CATEGORICAL,
    "json": Kind.UNSUPPORTED,
    "geometry": Kind.UNSUPPORTED,  # MySQL/MariaDB spatial types, as WKT
    "binary": Kind.UNSUPPORTED,
    "array": Kind.UNSUPPORTED,
    "other": Kind.UNSUPPORTED,
}

INTEGER_TYPES = frozenset({"smallint", "integer", "bigint", "year"})
FLOAT_TYPES = frozenset({"float", "double"})  # the types that hold NaN and infinities
NUMBER_TYPES = INTEGER_TYPES | FLOAT_TYPES | {"numeric"}
STRING_TYPES = frozenset({"string", "char", "text"})
TIME_TYPES = frozenset({"date", "datetime", "time"})


def nan_valued(column: Column) -> bool:
    """A NOT NULL float or NUMERIC: what is missing in it is the source's NaN, a value, not a
    NULL (PostgreSQL's NaN equals NaN in a key; a file's empty field would load as NULL)."""
    return (column.type.name in FLOAT_TYPES or column.type.name == "numeric") and not column.nullable


def native_spelling(sqltype: Any, dialect: Any) -> str:
    try:
        return str(sqltype.compile(dialect=dialect))
    except Exception:  # some reflected types cannot compile (NullType); their repr still helps
        return str(sqltype) if type(sqltype).__name__ != "NullType" else "unknown"


def to_portable(sqltype: sa.types.TypeEngine, dialect: Any) -> SqlType:
    """Describe a reflected SQLAlchemy type as a portable SqlType."""
    import sqlalchemy as sa
    from sqlalchemy.dialects.postgresql import DOMAIN

    native = native_spelling(sqltype, dialect)
    cls_names = {c.__name__.upper() for c in type(sqltype).__mro__}
    name = type(sqltype).__name__.upper()
    collation = getattr(sqltype, "collation", None)
    charset = getattr(sqltype, "charset", None)

    def make(family: str, **kw: Any) -> SqlType:
        return SqlType(family, native=native, collation=collation, charset=charset, **kw)

    if isinstance(sqltype, DOMAIN):
        base = to_portable(sqltype.data_type, dialect)
        return SqlType(
            base.name,
            native=native,
            length=base.length,
            precision=base.precision,
            scale=base.scale,
            timezone=base.timezone,
            values=base.values,
            type_name=_qualified(sqltype),
        )
    if "SET" in cls_names and hasattr(sqltype, "values"):
        return make("set", values=tuple(str(v) for v in sqltype.values))
    if isinstance(sqltype, sa.Enum):
        return make("enum", values=tuple(sqltype.enums), type_name=_qualified(sqltype))
    if isinstance(sqltype, sa.ARRAY):
        return make("array", item=to_portable(sqltype.item_type, dialect))
    if isinstance(sqltype, sa.JSON):
        return make("json")
    if isinstance(sqltype, sa.Boolean):
        return make("boolean")
    if name == "BIT" and getattr(sqltype, "length", None) in {None, 1} and _mysql(dialect):
        # MySQL's and MariaDB's BIT(1) is a flag, as a TINYINT(1) is: learned as a boolean with the
        # row (paid = 0 exactly where paid_on is NULL), written back as BIT(1) there.
        return make("boolean")
    if "YEAR" in cls_names:
        return make("year")
    if isinstance(sqltype, sa.Interval) or name == "INTERVAL":
        return make("interval")
    if isinstance(sqltype, sa.Uuid):
        return make("uuid")
    if isinstance(sqltype, sa.Integer):
        if isinstance(sqltype, sa.BigInteger):
            return make("bigint")
        if name == "MEDIUMINT":  # 24 bits: more than a SMALLINT holds
            return make("integer")
        if isinstance(sqltype, sa.SmallInteger) or name == "TINYINT":
            width = getattr(sqltype, "display_width", None)
            if name == "TINYINT" and width == 1:
                return make("boolean")
            return make("smallint")
        return make("integer")
    if name == "MONEY":
        # PostgreSQL's money (not a Numeric in SQLAlchemy): a number with the 2 decimals of a C or
        # en_US lc_monetary, read as numeric (dialects.readable) and written back as money there.
        return make("numeric", precision=19, scale=2)
    if isinstance(sqltype, sa.Float) or name in {"REAL", "DOUBLE", "DOUBLE_PRECISION", "FLOAT"}:
        # SQLAlchemy 2.1: Float is no longer a Numeric subclass, so test it first.
        double = (
            name in {"DOUBLE", "DOUBLE_PRECISION"}
            or (getattr(sqltype, "precision", None) or 0) > 24
            or getattr(dialect, "name", dialect) == "sqlite"  # SQLite's REAL/FLOAT is an 8-byte double
        )
        return make("double" if double else "float")
    if isinstance(sqltype, sa.Numeric):
        return make("numeric", precision=sqltype.precision, scale=sqltype.scale)
    if isinstance(sqltype, sa.DateTime):
        return make("datetime", timezone=bool(getattr(sqltype, "timezone", False)))
    if isinstance(sqltype, sa.Date):
        return make("date")
    if isinstance(sqltype, sa.Time):
        return make("time", timezone=bool(getattr(sqltype, "timezone", False)))
    if isinstance(sqltype, sa.LargeBinary | sa.types._Binary):
        return make("binary", length=getattr(sqltype, "length", None))
    if isinstance(sqltype, sa.String):
        length = getattr(sqltype, "length", None)
        if isinstance(sqltype, sa.Text) or name in {"TEXT", "CLOB", "LONGTEXT", "MEDIUMTEXT", "TINYTEXT"}:
            return make("text", length=length)
        if name in {"CHAR", "NCHAR", "CHARACTER", "BPCHAR"}:
            return make("char", length=length)
        return make("string", length=length)
    return make("other")


# Types the copula does not model but relsynth.model.natives generates validly, resembling the source.
PG_GEOMETRIC = frozenset({"POINT", "BOX", "CIRCLE", "LSEG", "LINE", "PATH", "POLYGON"})
MYSQL_SPATIAL = frozenset(
    {
        "GEOMETRY",
        "POINT",
        "LINESTRING",
        "POLYGON",
        "MULTIPOINT",
        "MULTILINESTRING",
        "MULTIPOLYGON",
        "GEOMETRYCOLLECTION",
        "GEOMCOLLECTION",
    }
)
_NATIVE_FAMILIES = {
    "INET": "inet",
    "INET4": "inet4",  # MariaDB's: IPv4 only, no prefix
    "INET6": "inet6",  # MariaDB's: IPv6 only (IPv4-mapped too), no prefix
    "CIDR": "cidr",
    "MACADDR": "macaddr",
    "MACADDR8": "macaddr8",
    "BIT": "bits",
    "VARBIT": "bits",
    "BIT VARYING": "bits",
    "INT4RANGE": "range",
    "INT8RANGE": "range",
    "NUMRANGE": "range",
    "DATERANGE": "range",
    "TSRANGE": "range",
    "TSTZRANGE": "range",
    **{f"{r}MULTIRANGE": "multirange" for r in ("INT4", "INT8", "NUM", "DATE", "TS", "TSTZ")},
}
_GENERATED = {
    "point": "valid points, x and y learned as two numbers (x, y)",
    "shape": "valid shapes, centres and sizes learned, within the source's bounding box",
    "inet": "addresses from the documentation ranges (192.0.2.0/24, 2001:db8::/32, ...), prefixes as learned",
    "inet4": "IPv4 addresses from the documentation and benchmarking ranges (192.0.2.0/24, "
    "198.51.100.0/24, 203.0.113.0/24, 198.18.0.0/15), distinct where UNIQUE",
    "inet6": "IPv6 addresses from the documentation range 2001:db8::/32 (IPv4-mapped ones as often "
    "as in the source), distinct where UNIQUE",
    "cidr": "networks from the documentation ranges, prefixes as learned",
    "macaddr": "locally administered addresses",
    "macaddr8": "locally administered addresses",
    "bits": "bit strings of the column's width, each bit as often set as in the source",
    "interval": "durations learned as numbers",
    "range": "ranges: lower bounds and lengths learned as numbers, empty ranges and open or infinite "
    "ends as often as in the source",
    "multirange": "multiranges: how many ranges, the first's lower bound, lengths and gaps learned as "
    "numbers, empty ones and open or infinite ends as often as in the source",
    "json": "documents with the source's keys (keys are schema), values generated by type",
    "array": "lengths, empty arrays and NULL elements as in the source, elements by type (numbers and "
    "dates learned, common codes kept, other strings from their shapes)",
}
# Element types an array family generates (model/natives.py): their own model, or a native family.
_OTHER_ITEMS = frozenset(
    {"float", "double", "numeric", "boolean", "date", "datetime", "time", "uuid", "enum"}
)
ARRAY_ITEMS = INTEGER_TYPES | STRING_TYPES | _OTHER_ITEMS


def native_family(t: SqlType) -> str | None:
    """The generator for a type the copula does not model, or None (NULL, or one fixed valid value).

    pg_<shape> for PostgreSQL's geometric types, wkt for MySQL/MariaDB spatial ones (portable family
    'geometry'), inet, inet4 and inet6 (MariaDB's), cidr, macaddr, macaddr8, bits, interval, json,
    and array (of numbers, strings, booleans, dates and times, uuids, enum labels, or of a type with
    its own family: inet[], json[])."""
    if t.name == "array":
        return "array" if t.item is not None and _array_item(t.item) else None
    if t.name == "geometry":
        return "wkt"
    if t.name == "interval":
        return "interval"
    if t.name == "json":
        return "json"
    if t.name != "other":
        return None
    base = (t.native or "").upper().split("(")[0].strip()
    if base in PG_GEOMETRIC:
        return f"pg_{base.lower()}"
    return _NATIVE_FAMILIES.get(base)


# A text column whose every value is a JSON object or array (SQLite has no JSON type; apps keep JSON
# as text anywhere): its kind_reason, read by ``column_family``: such a column is generated as a JSON
# column is (model/natives.py), and keeps its text type.
JSON_TEXT_REASON = "generated: text holding JSON documents: " + _GENERATED["json"]


def json_text(col: Column) -> bool:
    """A text column profiled as holding JSON documents (``JSON_TEXT_REASON``)."""
    return (
        col.kind is Kind.UNSUPPORTED and col.kind_reason == JSON_TEXT_REASON and col.type.name in STRING_TYPES
    )


def column_family(col: Column) -> str | None:
    """``native_family`` of the column's type, or "json" for a text column of JSON documents."""
    return "json" if json_text(col) else native_family(col.type)


def learned_type(col: Column) -> SqlType:
    """The type a column's values are learned as: JSON for a text column of JSON documents."""
    return SqlType("json", native=col.type.native) if json_text(col) else col.type


def _array_item(item: SqlType) -> bool:
    return item.name in ARRAY_ITEMS or (item.name != "array" and native_family(item) is not None)


def unsupported_reason(t: SqlType, nullable: bool) -> str:
    """What relsynth does with a column it cannot learn, said once, in the user's terms."""
    family = native_family(t)
    if family is not None:
        what = (t.native or t.name).lower()
        if family == "array" and t.item is not None:
            what = f"{what} (array of {t.item.name})"
        key = "point" if family in {"pg_point", "wkt"} and what.startswith("point") else family
        key = "shape" if key.startswith("pg_") or key == "wkt" else key
        return f"generated: {what}: {_GENERATED[key]}"
    what = {
        "json": "JSON",
        "binary": "binary data",
        "array": f"array of {t.item.name if t.item else 'values'}",
        "interval": "time interval",
    }.get(t.name, f"type {t.native or t.name}")
    action = "written as NULL" if nullable else "written as one fixed, valid value of the type"
    return f"{what} is not learned: {action}"


def _mysql(dialect: Any) -> bool:
    return str(getattr(dialect, "name", dialect)) in {"mysql", "mariadb"}


def is_bit_flag(t: SqlType) -> bool:
    """A MySQL/MariaDB BIT(1) learned as a boolean (to_portable)."""
    return t.name == "boolean" and (t.native or "").upper().replace(" ", "") in {"BIT", "BIT(1)"}


def _qualified(sqltype: Any) -> str | None:
    """A named type's key (see ``type_key``), so it is recreated in its own schema."""
    name = getattr(sqltype, "name", None)
    return type_key(getattr(sqltype, "schema", None), name) if name else name


def type_key(schema: str | None, name: str) -> str:
    """How a PostgreSQL enum or domain is named in a model: schema.name, the bare name in public. A
    part holding a '.' or '"' is double-quoted, so that ddl.split_type_name reads it back whole."""
    return _key_part(name) if schema in {None, "public"} else f"{_key_part(schema)}.{_key_part(name)}"


def _key_part(part: str) -> str:
    return '"' + part.replace('"', '""') + '"' if "." in part or '"' in part else part
