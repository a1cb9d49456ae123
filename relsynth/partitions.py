"""What a PostgreSQL partitioned table's partitions accept, read from their bounds.

A LIST or RANGE partition key is data (a region, a month's number), not an identifier: a row
whose key fits no partition is refused by the database ("no partition of relation found for
row"). The key's columns are modelled as values (model/fit.py ``_data_key_columns``), and the
bounds become one condition, a CHECK in all but name, that sampling repairs rows towards and the
writer drops the rest by (relsynth/target_checks.py), so the load never fails on a partition.
"""

from __future__ import annotations

import re

from relsynth.schema import Check, Column, Kind, Schema, Table
from relsynth.sqltypes import KIND_OF_TYPE

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_KEY = re.compile(r"^\s*(LIST|RANGE|HASH)\s*\((.*)\)\s*$", re.IGNORECASE | re.DOTALL)
_ELEMENT = re.compile(rf"^\s*({_IDENT})(?:\s+COLLATE\s+{_IDENT}(?:\.{_IDENT})?)?(?:\s+{_IDENT})?\s*$")
_LIST = re.compile(r"^\s*FOR\s+VALUES\s+IN\s*\((.*)\)\s*$", re.IGNORECASE | re.DOTALL)
_RANGE = re.compile(r"^\s*FOR\s+VALUES\s+FROM\s*\((.*)\)\s*TO\s*\((.*)\)\s*$", re.IGNORECASE | re.DOTALL)
# A literal as pg_get_expr prints a bound's value: a quoted string (a cast after it), a number, a boolean.
_LITERAL = re.compile(
    r"^(?:'(?:[^']|'')*'(?:::[A-Za-z_][\w ]*)?|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false)$"
)
_NAME = "partition bounds"  # the name the condition goes by: no CHECK of the source has it


def method(table: Table) -> str | None:
    """LIST, RANGE or HASH for a partitioned table; None for any other."""
    if table.partitioning is None:
        return None
    if _mysql(table):
        my = _MY_KEY.match(table.partitioning.key)
        return _MY_METHODS.get(my.group(2).upper()) if my else None
    found = _KEY.match(table.partitioning.key)
    return found.group(1).upper() if found else None


def key_columns(table: Table) -> tuple[str, ...]:
    """The columns of a LIST or RANGE partition key (a HASH key takes any value), in order; ()
    where an element is an expression (``lower(name)``) or names no column of the table."""
    if _mysql(table):
        return _my_key_columns(table)
    found = None if table.partitioning is None else _KEY.match(table.partitioning.key)
    if found is None or found.group(1).upper() == "HASH":
        return ()
    names = {c.name for c in table.columns}
    out = []
    for element in _split(found.group(2)):
        m = _ELEMENT.match(element)
        if m is None:
            return ()
        name = _unquote(m.group(1))
        if name not in names:
            return ()
        out.append(name)
    return tuple(out)


def data_columns(table: Table) -> set[str]:
    """Partition key columns that are values (a region, a month's number): not a foreign key's,
    nor a primary key alone (a row's identifier, counted within the bounds)."""
    lone = set(table.primary_key) if len(table.primary_key) == 1 else set()
    return set(key_columns(table)) - table.fk_columns() - lone


def value_kind(table: Table, col: Column) -> tuple[Kind, str]:
    """How a partition key column of ``data_columns`` is learned: a LIST key's values as categories,
    a RANGE key's as numbers or times (a text's as categories), with the reason to show."""
    if method(table) == "LIST":
        return Kind.CATEGORICAL, "LIST partition key: the values its partitions take"
    kind = KIND_OF_TYPE.get(col.type.name)
    kind = kind if kind in {Kind.NUMERICAL, Kind.DATETIME} else Kind.CATEGORICAL
    return kind, "RANGE partition key: values within its partitions' bounds"


def bounds_check(table: Table) -> Check | None:
    """The partitions' bounds as one condition over the key's columns (PostgreSQL's SQL, as a CHECK
    reads): a row meets it exactly when some partition takes it. None where any row fits (a
    DEFAULT partition, a HASH key) or a bound is not read."""
    if _mysql(table):
        return _my_bounds_check(table)
    columns = key_columns(table)
    if not columns or table.partitioning is None or not table.partitioning.partitions:
        return None
    quoted = ['"' + c.replace('"', '""') + '"' for c in columns]
    lists: list[str] = []
    nulls = False
    ranges: list[tuple[list[str], list[str]]] = []
    for _, bound in table.partitioning.partitions:
        if bound.strip().upper() == "DEFAULT":
            return None
        listed = _LIST.match(bound)
        ranged = _RANGE.match(bound)
        if listed and len(columns) == 1:
            for v in _split(listed.group(1)):
                if v.upper() == "NULL":
                    nulls = True
                elif _LITERAL.match(v):
                    lists.append(v)
                else:
                    return None
        elif ranged:
            low, high = _split(ranged.group(1)), _split(ranged.group(2))
            if len(low) != len(columns) or len(high) != len(columns):
                return None
            if not all(_LITERAL.match(v) or v.upper() in {"MINVALUE", "MAXVALUE"} for v in low + high):
                return None
            ranges.append((low, high))
        else:
            return None
    if lists or nulls:
        if ranges:
            return None
        parts = [f"{quoted[0]} IN ({', '.join(dict.fromkeys(lists))})"] if lists else []
        parts += [f"{quoted[0]} IS NULL"] if nulls else []
        return Check(_NAME, " OR ".join(parts))
    if len(columns) == 1:
        ranges = _merged(ranges)
    return Check(_NAME, " OR ".join(f"({_within(quoted, low, high)})" for low, high in ranges))


def checks(table: Table) -> list[Check]:
    """The bounds' condition as a list (empty where there is none), to add to a table's CHECKs."""
    found = bounds_check(table)
    return [found] if found is not None else []


def referenced_bounds(schema: Schema, table: Table) -> dict[str, list[str]]:
    """Each key column of ``table`` a partitioned table's one-column LIST or RANGE key refers to
    (measurements PARTITION BY LIST (site_id), site_id -> sites), with those partitions' bounds
    said of it: a site whose key no partition takes can have no measurement, so its keys are
    drawn from theirs first (model/assign.py)."""
    out: dict[str, list[str]] = {}
    for other in schema.active_tables:
        columns = key_columns(other)
        found = bounds_check(other) if len(columns) == 1 else None
        if found is None:
            continue
        for fk in other.foreign_keys:
            if fk.ref_table == table.name and fk.columns == columns:
                quote = _my_quote if _mysql(other) else _pg_quote
                sql = found.sql.replace(quote(columns[0]), quote(fk.ref_columns[0]))
                out.setdefault(fk.ref_columns[0], []).append(sql)
    return out


def _pg_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def is_bounds(check: Check) -> bool:
    """Whether ``check`` is the partitions' bounds (no constraint of the target's own)."""
    return check.name == _NAME


def _within(cols: list[str], low: list[str], high: list[str]) -> str:
    """low <= (cols) < high, row-wise as PostgreSQL compares a range partition's key."""
    parts = [p for p in (_at_least(cols, low, 0), _below(cols, high, 0)) if p != "TRUE"]
    return " AND ".join(f"({p})" for p in parts) if parts else f"{cols[0]} IS NOT NULL"


def _at_least(cols: list[str], low: list[str], i: int) -> str:
    if i == len(cols) or low[i].upper() == "MINVALUE":
        return "TRUE"
    if low[i].upper() == "MAXVALUE":
        return "FALSE"
    rest = _at_least(cols, low, i + 1)
    if rest == "TRUE":
        return f"{cols[i]} >= {low[i]}"
    if rest == "FALSE":
        return f"{cols[i]} > {low[i]}"
    return f"{cols[i]} > {low[i]} OR ({cols[i]} = {low[i]} AND ({rest}))"


def _below(cols: list[str], high: list[str], i: int) -> str:
    if i == len(cols) or high[i].upper() == "MINVALUE":
        return "FALSE"
    if high[i].upper() == "MAXVALUE":
        return "TRUE"
    rest = _below(cols, high, i + 1)
    if rest == "TRUE":
        return f"{cols[i]} <= {high[i]}"
    if rest == "FALSE":
        return f"{cols[i]} < {high[i]}"
    return f"{cols[i]} < {high[i]} OR ({cols[i]} = {high[i]} AND ({rest}))"


def _merged(ranges: list[tuple[list[str], list[str]]]) -> list[tuple[list[str], list[str]]]:
    """Single-column ranges joined where one ends where the next starts ([1, 50) and [50, 100) as
    [1, 100)), so a value between them is clipped into one instead of drawn from another row."""
    out: list[tuple[list[str], list[str]]] = []
    for low, high in sorted(ranges, key=lambda r: _order(r[0][0])):
        if out and out[-1][1][0] == low[0]:
            out[-1] = (out[-1][0], high)
        else:
            out.append((low, high))
    return out


def _order(v: str) -> tuple[int, float, str]:
    """A bound's place among the others: MINVALUE first, numbers by value, text as written."""
    if v.upper() == "MINVALUE":
        return (0, 0.0, "")
    if v.upper() == "MAXVALUE":
        return (3, 0.0, "")
    try:
        return (1, float(v), "")
    except ValueError:
        return (2, 0.0, v)


def _mysql(table: Table) -> bool:
    return table.partitioning is not None and table.partitioning.dialect == "mysql"


# MySQL/MariaDB: the method (LINEAR, COLUMNS), the key's expression, any SUBPARTITION BY after it.
_MY_KEY = re.compile(
    r"^\s*((?:LINEAR\s+)?(LIST|RANGE|HASH|KEY)(\s+COLUMNS)?)\s*\((.*?)\)\s*(?:SUBPARTITION\b.*)?$",
    re.IGNORECASE | re.DOTALL,
)
_MY_METHODS = {"LIST": "LIST", "RANGE": "RANGE", "HASH": "HASH", "KEY": "HASH"}  # any row fits a HASH or KEY
_MY_COLUMN = re.compile(r"^\s*(`(?:[^`]|``)+`|[A-Za-z_][A-Za-z0-9_$]*)\s*$")
# RANGE over a time by these functions: the bound a value of the time itself (YEAR(d) < 2023: d < 2023-01-01).
_MY_TIME = re.compile(
    r"^\s*(year|to_days)\s*\(\s*(`(?:[^`]|``)+`|[A-Za-z_][A-Za-z0-9_$]*)\s*\)\s*$", re.IGNORECASE
)
_MY_VALUES = re.compile(
    r"^\s*VALUES\s+(LESS\s+THAN|IN)\s*(?:\((.*)\)|(MAXVALUE))\s*$", re.IGNORECASE | re.DOTALL
)


def _my_unquote(name: str) -> str:
    return name[1:-1].replace("``", "`") if name.startswith("`") else name


def _my_quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _my_key(table: Table) -> tuple[str, bool, str, str | None] | None:
    """(method, COLUMNS?, the key's expression, the one column a time function reads) of a MySQL
    key; None where it is not read."""
    found = None if table.partitioning is None else _MY_KEY.match(table.partitioning.key)
    if found is None:
        return None
    timed = _MY_TIME.match(found.group(4))
    time_col = _my_unquote(timed.group(2)) if timed else None
    return _MY_METHODS[found.group(2).upper()], bool(found.group(3)), found.group(4), time_col


def _my_key_columns(table: Table) -> tuple[str, ...]:
    """A MySQL LIST or RANGE key's columns: its columns (COLUMNS, or one column), or the time a
    RANGE over YEAR() or TO_DAYS() reads; () for a HASH or KEY key or another expression."""
    key = _my_key(table)
    if key is None or key[0] == "HASH":
        return ()
    method, _, expr, time_col = key
    names = {c.name for c in table.columns}
    if method == "RANGE" and time_col is not None:
        return (time_col,) if time_col in names else ()
    out = []
    for element in _split(expr):
        m = _MY_COLUMN.match(element)
        if m is None or _my_unquote(m.group(1)) not in names:
            return ()
        out.append(_my_unquote(m.group(1)))
    return tuple(out)


def _my_bounds_check(table: Table) -> Check | None:
    """A MySQL partitioning's bounds as one condition (MySQL's SQL): below the last RANGE bound
    (the first partition takes every value below its own, NULL too), or among a LIST's values.
    One the engine cannot read (an expression of the key) is judged by the target (target_checks)."""
    key = _my_key(table)
    if key is None or key[0] == "HASH" or table.partitioning is None or not table.partitioning.partitions:
        return None
    method, _, expr, time_col = key
    columns = _my_key_columns(table)
    bounds = [_MY_VALUES.match(b) for _, b in table.partitioning.partitions]
    if not all(bounds):  # a DEFAULT partition takes every row
        return None
    if method == "RANGE":
        last = bounds[-1]
        assert last is not None
        if last.group(3) or last.group(2) is None:
            return None  # LESS THAN MAXVALUE: every row fits
        high = _split(last.group(2))
        if time_col is not None and columns and len(high) == 1:
            return _my_time_below(table, time_col, high[0])
        if columns and len(high) == len(columns):
            quoted = [_my_quote(c) for c in columns]
            return Check(_NAME, _below(quoted, high, 0))
        return Check(_NAME, f"({expr}) < ({last.group(2)})")  # the target judges it
    values = [v for b in bounds if b is not None and b.group(2) is not None for v in _split(b.group(2))]
    if len(columns) == 1:
        col = _my_quote(columns[0])
        listed = [v for v in values if v.upper() != "NULL"]
        parts = [f"{col} IN ({', '.join(dict.fromkeys(listed))})"] if listed else []
        parts += [f"{col} IS NULL"] if len(listed) < len(values) else []
        return Check(_NAME, " OR ".join(parts)) if parts else None
    target = f"({', '.join(_my_quote(c) for c in columns)})" if columns else f"({expr})"
    return Check(_NAME, f"{target} IN ({', '.join(dict.fromkeys(values))})")  # the target judges it


def _my_time_below(table: Table, column: str, bound: str) -> Check | None:
    """RANGE (YEAR(d)) or (TO_DAYS(d)) below ``bound``, said of d itself: d < the bound's first day."""
    import datetime as dt

    key = _my_key(table)
    assert key is not None and table.partitioning is not None
    fn = _MY_TIME.match(key[2])
    assert fn is not None
    try:
        number = int(bound)
        year = fn.group(1).lower() == "year"
        day = dt.date(number, 1, 1) if year else dt.date.fromordinal(number - 365)  # TO_DAYS(0001-01-01): 366
    except (ValueError, OverflowError):
        return Check(_NAME, f"({key[2]}) < ({bound})")  # the target judges it
    return Check(_NAME, f"{_my_quote(column)} < '{day.isoformat()}'")


def _split(text: str) -> list[str]:
    """Comma-separated items at the top level (not inside quotes or parentheses), stripped."""
    out, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
    tail = text[start:].strip()
    return [*out, tail] if tail or out else out


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name.lower()
