"""Read tables for fitting: in chunks, in primary-key order, optionally a seeded sample of entities.

Every table is read with ORDER BY (its primary key, else its columns), so the same database gives
the same rows in the same order on every run and dialect. ``sample_rows`` keeps N root rows per
root table, chosen by a keyed hash of the primary key computed here in Python (so PostgreSQL,
MySQL and SQLite choose the same rows), and fetches their descendants along each table's context
parent: memory is bounded by the sample, not the database. ``holdout`` withholds a seeded share
of root entities with all their descendants, by the same kind of hash.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from relsynth import dialects
from relsynth.errors import SchemaError
from relsynth.graph import Plan
from relsynth.model.sentinels import read_special
from relsynth.model.values import BEYOND_FLOAT, exact_integers
from relsynth.schema import Kind, Schema, Table, place
from relsynth.sqltypes import STRING_TYPES, column_family

if TYPE_CHECKING:
    import sqlalchemy as sa

log = logging.getLogger("relsynth")
CHUNK_ROWS = 50_000
ARRAY_KEYS = 100_000  # keys per query where they go as one array (dialects.key_array)
COMPOSITE_KEYS = 1_000  # composite keys per IN list
Progress = Callable[[str, int, int], None]


@dataclass
class ReadResult:
    frames: dict[str, pd.DataFrame]
    rows_read: dict[str, int] = field(default_factory=dict)
    holdout_rows: dict[str, int] = field(default_factory=dict)
    # Root tables read as a sample: their rows in the source (every key is scanned to choose).
    source_rows: dict[str, int] = field(default_factory=dict)
    # (child, FK name) -> the FK's columns and "n": how many source rows of the child name each
    # parent row read, through a secondary FK, when either side was read as a sample.
    ref_counts: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)


def canonical(value: Any) -> str:
    """One spelling of a key value on every dialect: 7, 7.0 and Decimal('7') are all '7'."""
    if value is None:
        return "\x00"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "as_tuple"):  # Decimal
        return str(int(value)) if value == value.to_integral_value() else str(value.normalize())
    if isinstance(value, bytes):
        return value.hex()
    return str(value).lower() if _looks_uuid(value) else str(value)


def _looks_uuid(value: Any) -> bool:
    return type(value).__name__ == "UUID" or (
        isinstance(value, str) and len(value) == 36 and value.count("-") == 4
    )


def key_hash(keys: list[tuple[Any, ...]], purpose: str, seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per key, fixed by (purpose, seed): the sampling and holdout rule."""
    salt = hashlib.blake2b(f"relsynth/{purpose}/{seed}".encode(), digest_size=16).digest()
    out = np.empty(len(keys))
    for i, key in enumerate(keys):
        text = "\x1f".join(canonical(v) for v in key).encode("utf-8")
        h = hashlib.blake2b(text, digest_size=8, key=salt).digest()
        out[i] = int.from_bytes(h, "little") / 2.0**64
    return out


def _readable(table: Table) -> list[str]:
    """Columns worth reading: not of types relsynth never learns (bytea, xml...); types generated
    like the source's (points, addresses, JSON: model/natives.py) are read, and so are generated
    columns, learned for a target that cannot compute them (another dialect)."""
    return [c.name for c in table.columns if c.kind is not Kind.UNSUPPORTED or column_family(c) is not None]


def _order_columns(table: Table, cols: list[str]) -> list[str]:
    if table.primary_key:
        return list(table.primary_key)
    unordered = {"json", "binary", "array", "other", "geometry"}
    return [c for c in cols if table.column(c).type.name not in unordered]


def smallest_keys(conn: sa.Connection, schema: Schema, names: list[str]) -> dict[str, int]:
    """The smallest value of each named table's one-column primary key in the whole source: a
    model learned from a sample numbers its keys from there, as one learned from every row does
    (the sample's smallest was 4, 6 or 16). One MIN over the key's index each."""
    import sqlalchemy as sa

    out: dict[str, int] = {}
    for name in names:
        table = schema.table(name)
        if len(table.primary_key) != 1:
            continue
        t, _ = _select(table, schema.schema, list(table.primary_key))
        try:
            with conn.begin_nested():  # a key the database cannot take the MIN of: no number
                found = conn.execute(sa.select(sa.func.min(t.c[table.primary_key[0]]))).scalar()
        except sa.exc.DBAPIError:
            continue
        if found is None:
            continue
        try:
            out[name] = int(found)
        except (TypeError, ValueError):
            continue
    return out


def _select(table: Table, schema_name: str | None, cols: list[str], kind: str = "") -> tuple[Any, Any]:
    """The table (by its name in its database schema) and an ordered SELECT of ``cols``; MySQL's
    spatial values are read as WKT text."""
    import sqlalchemy as sa

    where, name = place(table, schema_name)
    only = dialects.INHERITED_BY in dict(table.options)  # a parent of table inheritance: its own rows
    t = dialects.source_table(name, *[sa.column(c) for c in table.column_names], schema=where, only=only)

    def column(c: str) -> Any:
        if kind == "mysql" and table.column(c).type.name == "geometry":
            return sa.func.ST_AsText(t.c[c]).label(c)
        return dialects.readable(t.c[c], table.column(c).type, kind)

    return t, sa.select(*[column(c) for c in cols]).order_by(*[t.c[c] for c in _order_columns(table, cols)])


def _streamed(query: Any) -> Any:
    """A server-side cursor for this statement only: set on the connection (which SQLAlchemy 2 does in
    place) it would also carry a later SAVEPOINT, which PostgreSQL cannot DECLARE a cursor for."""
    return query.execution_options(stream_results=True, max_row_buffer=CHUNK_ROWS)


def _fetch(conn: sa.Connection, query: Any, cols: list[str], table: Table | None = None) -> pd.DataFrame:
    """The rows of ``query``, a chunk at a time; with ``table``, its NUMERIC columns become floats
    chunk by chunk (a million Decimal objects held at once were most of a large read's memory)."""
    parts = [
        _native_numbers(_frame(chunk, cols), table) if table is not None else _frame(chunk, cols)
        for chunk in dialects.chunks_of(conn, query, CHUNK_ROWS, floats=False)
    ]
    if not parts:
        return pd.DataFrame(columns=cols)
    return _concat(parts)


def _frame(chunk: Sequence[Any], cols: list[str]) -> pd.DataFrame:
    """Rows as a frame. pandas makes floats of a column of integers and NULLs, which merges
    neighbouring snowflake ids (2**60 + 1 and 2**60 + 2): such a column is made again from the
    driver's integers, exactly (exact_integers)."""
    frame = pd.DataFrame(chunk, columns=cols)
    for i, c in enumerate(cols):
        values = frame[c]
        if values.dtype.kind == "f" and values.abs().max() >= BEYOND_FLOAT:
            raw = [row[i] for row in chunk]
            if all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in raw):
                frame[c] = exact_integers(pd.Series(raw, dtype=object))
    return frame


def _python_int(values: pd.Series) -> bool:
    """Is the first known value an integer beyond a float's? (Found by walking to it: isna over a
    whole object column, for every column of every chunk, was 8% of a sampled read.)"""
    for v in values.to_numpy(dtype=object):
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
            continue
        return isinstance(v, int) and not isinstance(v, bool) and abs(v) >= BEYOND_FLOAT
    return False


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """pd.concat, with a column made exact in one part (_frame) made exact in all: beside a part
    of floats, pandas would make floats of it again."""
    if len(parts) == 1:
        return parts[0]
    exact = {
        c
        for p in parts
        for c in p.columns
        if isinstance(p[c].dtype, pd.Int64Dtype | pd.UInt64Dtype)
        or (p[c].dtype == object and _python_int(p[c]))  # beyond UInt64
    }
    if not exact:
        return pd.concat(parts, ignore_index=True)
    objects = [p.astype({c: object for c in exact if c in p}) for p in parts]
    frame = pd.concat(objects, ignore_index=True)
    for c in exact:
        frame[c] = exact_integers(frame[c])
    return frame


def _fetch_in(
    conn: sa.Connection,
    table: Table,
    schema_name: str | None,
    cols: list[str],
    key_cols: tuple[str, ...],
    keys: list[tuple[Any, ...]],
    nocase: bool = False,
) -> pd.DataFrame:
    """Rows whose key_cols are among keys, in batches within the dialect's bind limit. ``nocase``:
    a SQLite key compared under NOCASE, as its parent's key column is (the FK joins so)."""
    import sqlalchemy as sa

    if not keys:
        return pd.DataFrame(columns=cols)
    t, base = _select(table, schema_name, cols, dialects.family(conn))
    single = len(key_cols) == 1
    first = table.column(key_cols[0]).type
    # citext = ANY(text[]) compares as text, case and all ('user1' is not 'User1'); an IN list of
    # untyped parameters compares as citext, as the database joins its keys.
    blind = (first.native or "").lower() == "citext"
    array = dialects.key_array(conn, first.name, [k[0] for k in keys]) if single and not blind else None
    parts = []
    if array is not None:  # one parameter for many keys (PostgreSQL)
        for start in range(0, len(array), ARRAY_KEYS):
            cond = t.c[key_cols[0]] == sa.any_(sa.bindparam("keys", array[start : start + ARRAY_KEYS]))
            parts.append(_fetch(conn, base.where(cond), cols))
        keys = []
    limit = max(1, dialects.capabilities(conn.dialect.name).max_bind_params // (2 * len(key_cols)))
    if not single:  # PostgreSQL refuses 8,000 (a, b) pairs in one IN as too complex (54001)
        limit = min(limit, COMPOSITE_KEYS)
    for start in range(0, len(keys), limit):
        batch = keys[start : start + limit]
        if single:  # untyped: SQLAlchemy would cast each to INTEGER, which 2**63 (a NUMERIC key) overflows
            column = t.c[key_cols[0]].collate("NOCASE") if nocase else t.c[key_cols[0]]
            cond = column.in_(
                sa.bindparam("keys", [k[0] for k in batch], expanding=True, type_=sa.types.NullType())
            )
        else:
            cond = sa.tuple_(*[t.c[c] for c in key_cols]).in_(batch)
        parts.append(_fetch(conn, base.where(cond), cols))
    frame = _concat(parts)
    order = _order_columns(table, cols)
    if not order or not len(frame):
        return frame
    try:
        return frame.sort_values(order, kind="stable").reset_index(drop=True)
    except TypeError:  # SQLite: a key of numbers and text ('AC10' among 1..300), ordered as SQLite does
        return frame.sort_values(order, kind="stable", key=_sqlite_order).reset_index(drop=True)


def _sqlite_order(values: pd.Series) -> pd.Series:
    """A column of numbers and text in SQLite's order: NULL, numbers, text, blobs."""

    def rank(v: Any) -> tuple[int, Any]:
        if v is None or (isinstance(v, float) and v != v):
            return (0, 0)
        if isinstance(v, int | float):
            return (1, v)
        return (2, v) if isinstance(v, str) else (3, bytes(v))

    return values.map(rank)


def read_tables(
    conn: sa.Connection,
    schema: Schema,
    plan: Plan,
    *,
    sample_rows: int | None = None,
    holdout: float = 0.0,
    seed: int = 0,
    progress: Progress | None = None,
) -> ReadResult:
    """Every table of the plan as a DataFrame (reference tables whole, samples as asked)."""
    result = ReadResult(frames={})
    sampled: set[str] = set()
    names = [n for n in plan.order if plan[n].role != "empty"]
    _every_row(conn, schema, names)
    dialects.tolerant_dates(conn)  # PostgreSQL's 'infinity' is read, not a failed read
    for i, name in enumerate(names):
        if progress:
            progress("read", i, len(names))
        table = schema.table(name)
        cols = _readable(table)
        tp = plan[name]
        try:
            if tp.role == "reference" or not sample_rows:
                query = _select(table, schema.schema, cols, dialects.family(conn))[1]
                frame = _fetch(conn, query, cols, table if tp.role != "reference" else None)
            elif tp.context is None and _sampled_parent(table, sampled) is None:
                frame, result.source_rows[name] = _sample_roots(
                    conn, table, schema.schema, cols, sample_rows, seed
                )
            else:
                # Under the sampled parent's rows: the context's, or for a root table the first
                # FK into a sampled table (an optional owner_id). Sampled on its own, each parent
                # would keep the few children the two samples happen to share, and the model
                # learn that most parents have none.
                via = tp.context or _sampled_parent(table, sampled)
                assert via is not None
                parent = result.frames.get(via.ref_table)
                keys = [] if parent is None else _keys(parent, via.ref_columns)
                nocase = _nocase_key(conn, schema.table(via.ref_table), schema.schema, via.ref_columns)
                frame = _fetch_in(conn, table, schema.schema, cols, via.columns, keys, nocase)
                if any(table.column(c).nullable for c in via.columns):
                    # Rows under no parent: the same share of them as of the parent's rows.
                    total = schema.table(via.ref_table).row_count
                    share = min(1.0, len(parent) / total) if parent is not None and total > 0 else 1.0
                    alone, _ = _sample_roots(
                        conn,
                        table,
                        schema.schema,
                        cols,
                        sample_rows,
                        seed,
                        null_in=via.columns,
                        share=share,
                        parent=(schema.table(via.ref_table), via),
                    )
                    frame = _concat([frame, alone]) if len(alone) else frame
                if tp.context is None:  # a root table: --scale counts the source's rows
                    t = _select(table, schema.schema, cols[:1])[0]
                    result.source_rows[name] = dialects.exact_count(conn, t)
        except Exception as err:
            missing = _missing(conn, table, schema.schema, cols, err)
            if missing:
                raise SchemaError(missing) from err
            raise
        frame = _unpadded(frame, table, dialects.family(conn))
        # 'infinity', BC, MariaDB's zero dates, SQLite's words in a number column: as what they can
        # be represented by, recorded in attrs (before the numbers, which would read words as NaN)
        frame = read_special(table, frame)
        if tp.role != "reference":
            frame = _native_numbers(frame, table)
            if sample_rows:
                sampled.add(name)
        result.rows_read[name] = len(frame)
        result.frames[name] = frame
    if sampled and holdout <= 0:  # counts over held-out rows would let the model see them
        for name in (n for n in names if plan[n].role == "data"):
            for fk in (*plan[name].secondary, *plan[name].deferred):
                data = fk.ref_table in result.frames and plan[fk.ref_table].role == "data"
                if data and (name in sampled or fk.ref_table in sampled):
                    counts = _child_counts(conn, schema, fk, name, result.frames[fk.ref_table])
                    result.ref_counts[(name, fk.name)] = counts
    if holdout > 0:
        withhold(result, schema, plan, holdout, seed)
    if progress:
        progress("read", len(names), len(names))
    return result


def _child_counts(
    conn: sa.Connection, schema: Schema, fk: Any, child: str, parent: pd.DataFrame
) -> pd.DataFrame:
    """How many rows of the child each row of the parent's frame has in the source, through a
    secondary FK. Read as two unrelated samples (lineitem under its orders, partsupp under its
    parts), a parent keeps only the few children the samples happen to share, and the model
    would learn that most parents have none. One grouped scan, kept a chunk at a time."""
    import sqlalchemy as sa

    from relsynth.model.fit import positions

    table = schema.table(child)
    cols = list(fk.columns)
    t = _select(table, schema.schema, cols)[0]
    query = (
        sa.select(*[t.c[c] for c in cols], sa.func.count().label("__n"))
        .where(*[t.c[c].is_not(None) for c in cols])
        .group_by(*[t.c[c] for c in cols])
    )
    parts = []
    for chunk in conn.execute(_streamed(query)).partitions(CHUNK_ROWS):
        frame = _native_numbers(_unpadded(_frame(chunk, [*cols, "__n"]), table, dialects.family(conn)), table)
        parts.append(frame[positions(frame, fk.columns, parent, fk.ref_columns) >= 0])
    if not parts:
        return pd.DataFrame(columns=[*cols, "__n"])
    return _concat(parts).reset_index(drop=True)


def _every_row(conn: sa.Connection, schema: Schema, names: Sequence[str]) -> None:
    """A table whose rows PostgreSQL's row-level security would hide is said in one line before
    it is read (a model file's or schema file's tables too: reflection checked only its own)."""
    from relsynth.io import describe

    tables = [place(schema.table(n), schema.schema) for n in names]
    dialects.refuse_hidden_rows(conn, tables, describe(conn.engine.url))


def stream_rows(
    conn: sa.Connection,
    schema: Schema,
    plan: Plan,
    progress: Progress | None = None,
    columns: Mapping[str, Sequence[str]] | None = None,
) -> Iterator[tuple[str, pd.DataFrame]]:
    """Every data table's rows, a chunk at a time and never a whole table at once: what guards a
    model learned from a sample against copying any of the source's rows. ``columns``: only these
    per table (tables not named are not read)."""
    names = [n for n in plan.order if plan[n].role == "data" and (columns is None or columns.get(n))]
    _every_row(conn, schema, names)
    dialects.tolerant_dates(conn)
    kind = dialects.family(conn)
    # Counted in rows (the catalog's estimate, raised if the rows outnumber it): the pass over
    # TPC-H SF 10's lineitem alone takes minutes, which a bar by tables would spend on one step.
    total, done = sum(max(schema.table(n).row_count, 0) for n in names), 0
    for name in names:
        table = schema.table(name)
        cols = [c for c in _readable(table) if columns is None or c in columns[name]]
        if not cols:
            continue
        if progress:
            progress("guard rows", done, max(total, done))
        # In the database's own order: a guard is a set, and an ORDER BY over every row is a sort
        query = _select(table, schema.schema, cols, kind)[1].order_by(None)
        for chunk in dialects.chunks_of(conn, query, CHUNK_ROWS):
            frame = _unpadded(_frame(chunk, cols), table, kind)
            yield name, _native_numbers(read_special(table, frame), table)
            done += len(chunk)
            if progress:
                progress("guard rows", done, max(total, done))
    if progress:
        progress("guard rows", done, done)


def _missing(
    conn: sa.Connection, table: Table, schema_name: str | None, cols: list[str], err: Exception
) -> str:
    """Why a read failed when the database lacks the table or columns the schema has (evaluate given a
    database synthesize did not write, or one changed since): a one-line message; '' otherwise."""
    import sqlalchemy as sa

    if not isinstance(err, sa.exc.DBAPIError):
        return ""
    where, name = place(table, schema_name)
    try:
        if conn.in_transaction():
            conn.rollback()  # PostgreSQL answers nothing more in a failed transaction
        inspector = sa.inspect(conn)
        have = (
            {c["name"].casefold() for c in inspector.get_columns(name, schema=where)}
            if inspector.has_table(name, schema=where)
            else None
        )
    except sa.exc.SQLAlchemyError:
        return ""
    shown = f"{where}.{name}" if where else name
    fix = (
        "read a database with the same tables and columns "
        "(for evaluate: the one synthesize wrote, or its schema with --synthetic-schema)"
    )
    if have is None:
        return f"the database being read has no table {shown}, which the source schema has: {fix}"
    lost = [c for c in cols if c.casefold() not in have]
    if not lost:
        return ""
    return (
        f"table {shown} in the database being read has no column {', '.join(lost)}, "
        f"which the source schema has: {fix}"
    )


def _native_numbers(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """NUMERIC columns arrive as Decimal objects: floats model (and compare) many times faster.
    Synthetic values are rounded back to the column's scale when sampled."""
    for col in table.columns:
        if col.type.name == "numeric" and col.name in frame and frame[col.name].dtype == object:
            try:  # Decimal and None: four times faster than to_numeric
                floats = frame[col.name].astype(float)
            except (TypeError, ValueError):
                if any(isinstance(v, str) for v in frame[col.name].to_numpy(dtype=object)):
                    continue  # SQLite's words in a number column: read_special says what they become
                floats = pd.to_numeric(frame[col.name], errors="coerce").astype(float)
            if col.type.scale == 0 and floats.abs().max() >= BEYOND_FLOAT:
                # NUMERIC(20,0) ids (a BIGINT UNSIGNED's copy): integers a float would merge
                floats = exact_integers(frame[col.name])
            frame[col.name] = floats
    return frame


def _unpadded(frame: pd.DataFrame, table: Table, kind: str) -> pd.DataFrame:
    """CHAR(n) values without their trailing blanks, as SQL compares them and MySQL and MariaDB
    return them: PostgreSQL returns 'k1    ', which matched no VARCHAR 'k1' pointing at it
    in memory (children lost), and no key of an array of them (attack round 18)."""
    if kind != "postgresql":
        return frame
    for col in table.columns:
        if col.type.name == "char" and col.name in frame and frame[col.name].dtype == object:
            frame[col.name] = _rstripped(frame[col.name].to_numpy())
    return frame


def _rstripped(values: np.ndarray) -> np.ndarray:
    """``[v.rstrip(" ") if type(v) is str else v for v in values]``, each distinct value
    stripped once (a CHAR column holds few: TPC-H's ship modes, priorities, segments)."""
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:  # unhashable values
        uniques = None
    if uniques is None or any(type(u) is not str for u in uniques):  # what the driver gives: str
        return np.array([v.rstrip(" ") if type(v) is str else v for v in values], dtype=object)
    stripped = np.empty(len(uniques), dtype=object)
    stripped[:] = [u.rstrip(" ") for u in uniques]
    out = np.array(values, dtype=object)  # a copy: NULLs (-1) kept as they are
    known = codes >= 0
    out[known] = stripped[codes[known]]
    return out


def _nocase_key(conn: sa.Connection, parent: Table, schema_name: str | None, cols: tuple[str, ...]) -> bool:
    """Whether a SQLite parent's key (one column) compares under NOCASE: its unique index says so.
    A foreign key joins as its parent's key compares, so 'user1' names the key 'User1' there, and
    a child read by its key's values in the column's own (BINARY) collation was left out."""
    if dialects.family(conn) != "sqlite" or len(cols) != 1:
        return False
    import sqlalchemy as sa

    where, name = place(parent, schema_name)
    at = {"schema": where or "main"}
    indexes = conn.execute(sa.text("SELECT * FROM pragma_index_list(:t, :schema)"), {"t": name, **at})
    for index in indexes.mappings().all():
        if not index["unique"]:
            continue
        columns = conn.execute(
            sa.text("SELECT * FROM pragma_index_xinfo(:i, :schema)"), {"i": index["name"], **at}
        )
        keyed = [r for r in columns.mappings() if r["key"]]
        if [r["name"] for r in keyed] == list(cols):
            return str(keyed[0]["coll"]).upper() == "NOCASE"
    return False


def _sampled_parent(table: Table, sampled: set[str]) -> Any:
    """A root table's first foreign key into a table read as a sample (not itself, not a
    reference table read whole), or None."""
    for fk in table.foreign_keys:
        if fk.ref_table != table.name and fk.ref_table in sampled:
            return fk
    return None


def _keys(frame: pd.DataFrame, cols: tuple[str, ...]) -> list[tuple[Any, ...]]:
    sub = frame[list(cols)].dropna()
    return list(dict.fromkeys(map(tuple, sub.itertuples(index=False, name=None))))


def _sample_roots(
    conn: sa.Connection,
    table: Table,
    schema_name: str | None,
    cols: list[str],
    n: int,
    seed: int,
    null_in: tuple[str, ...] = (),
    share: float | None = None,
    parent: tuple[Table, Any] | None = None,
) -> tuple[pd.DataFrame, int]:
    """N rows chosen by hash of the primary key, and the table's rows: only the key column is
    scanned in full. ``null_in``: only rows with a NULL in one of these columns (no parent);
    ``share``: the rows whose hash is below it instead of N (a share of any number of rows).
    ``parent`` (the parent table and the foreign key ``null_in`` is): also rows whose key names
    no parent row, which the full read sees too (SQLite's 'N/A' in an INTEGER foreign key, a
    dangling number where foreign keys were not enforced): they were never read, and a sampled
    fit learned no NULL keys."""
    import sqlalchemy as sa

    key_cols = table.primary_key or tuple(cols)
    t, query = _select(table, schema_name, list(key_cols))
    if null_in:
        alone = [t.c[c].is_(None) for c in null_in]
        if parent is not None:
            ref, fk = parent
            p = _select(ref, schema_name, list(fk.ref_columns))[0].alias("rs_parent")
            # the parent's column first: SQLite compares with its collation (a NOCASE key), as the join does
            pairs = zip(fk.ref_columns, fk.columns, strict=True)
            alone.append(~sa.exists().where(*[p.c[r] == t.c[c] for r, c in pairs]))
        query = query.where(sa.or_(*alone))
    best: pd.DataFrame | None = None
    total = 0
    result = conn.execute(_streamed(query))
    for chunk in result.partitions(CHUNK_ROWS):
        keys = [tuple(r) for r in chunk]
        total += len(keys)
        part = pd.DataFrame({"key": keys, "h": key_hash(keys, "sample", seed)})
        if share is not None:
            part = part[part["h"] < share]
        best = part if best is None else pd.concat([best, part], ignore_index=True)
        if share is None:
            best = best.nsmallest(n, "h", keep="first")
    if best is None or best.empty:
        return pd.DataFrame(columns=cols), total
    return _fetch_in(conn, table, schema_name, cols, tuple(key_cols), list(best["key"])), total


MIN_HOLDOUT_UNITS = 50  # a table with fewer rows is not split: its children start their own split


def holdout_masks(
    frames: dict[str, pd.DataFrame], schema: Schema, plan: Plan, fraction: float, seed: int
) -> dict[str, np.ndarray]:
    """Rows of each table that belong to the holdout: a hash-chosen share of entities and, through
    context parents, all their descendants. The same rule on any copy of the data.

    The split starts at every table that has no split parent (a root, or the child of a reference
    table or of a table too small to split: two stores), so customers under two stores still get a
    control set; a table of fewer than MIN_HOLDOUT_UNITS rows (by the catalog's count, the same
    whatever sample is read) is kept whole."""
    out: dict[str, np.ndarray] = {}
    for name in plan.order:
        frame = frames.get(name)
        tp = plan[name]
        if frame is None or tp.role != "data" or len(frame) == 0:
            continue
        table = schema.table(name)
        if tp.context is not None and tp.context.ref_table in out:
            parent = frames[tp.context.ref_table]
            gone = parent[out[tp.context.ref_table]]
            gone_keys = set(map(tuple, gone[list(tp.context.ref_columns)].itertuples(index=False, name=None)))
            mine = map(tuple, frame[list(tp.context.columns)].itertuples(index=False, name=None))
            out[name] = np.fromiter((k in gone_keys for k in mine), dtype=bool, count=len(frame))
        elif (table.row_count or len(frame)) >= MIN_HOLDOUT_UNITS:
            key_cols = table.primary_key or tuple(frame.columns)
            keys = list(map(tuple, frame[list(key_cols)].itertuples(index=False, name=None)))
            out[name] = key_hash(keys, "holdout", seed) < fraction
    return out


def withhold(result: ReadResult, schema: Schema, plan: Plan, fraction: float, seed: int) -> None:
    """Drop a hash-chosen share of root entities and, through context parents, their descendants."""
    for name, out in holdout_masks(result.frames, schema, plan, fraction, seed).items():
        if out.any():
            frame = result.frames[name]
            result.frames[name] = frame[~out].reset_index(drop=True)
            result.holdout_rows[name] = int(out.sum())


# Who holds a code, for a count in the source: each row's (joined along these foreign keys from the
# table, in order) values of these columns of the last table reached. No foreign keys and no
# columns: the rows themselves.
Holder = tuple[tuple[Any, ...], tuple[str, ...]]


class SourceHolders:
    """How many of the source's rows or people hold each code of a column, for a fit from a sample:
    a code is rare, and withheld, when fewer than rare_k of the SOURCE's people hold it (a ward code
    on 17 of 5,000 stays is seen on about 3 of a 1,000-row sample, and was withheld). One GROUP BY
    per holder, read-only, in the snapshot the sample was read from; codes grouped exactly (case,
    accents and trailing blanks apart, whatever the column's collation), and people counted as
    distinct key values (rows of no person count as one together): never more than the source
    has. Only codes of the sample are kept (``wanted``), so memory is bounded by the sample."""

    def __init__(self, conn: sa.Connection, schema: Schema) -> None:
        self.conn = conn
        self.schema = schema

    def __call__(
        self, table_name: str, column: str, holders: Sequence[Holder], wanted: set[Any]
    ) -> list[dict[Any, int]] | None:
        """Per holder, the codes of ``wanted`` (in the frame's spelling) and how many hold each;
        None where the source cannot count them (the sample's counts decide)."""
        import sqlalchemy as sa

        table = self.schema.table(table_name)
        kind = dialects.family(self.conn)
        if kind not in {"postgresql", "sqlite", "mysql"}:
            return None
        try:
            with self.conn.begin_nested():  # a failed count must not end the read-only transaction
                out = [self._held(table, column, fks, cols, wanted, kind) for fks, cols in holders]
        except sa.exc.DBAPIError as err:  # keys of types the database cannot join: the sample decides
            log.debug(
                "%s.%s: codes not counted in the source (%s)", table_name, column, type(err.orig).__name__
            )
            return None
        return None if any(held is None for held in out) else [held for held in out if held is not None]

    def spread(self, table_name: str, column: str) -> tuple[int, int] | None:
        """How many of the table's rows hold a value of ``column``, and how many distinct values:
        whether a column names people on several rows is told in the source, not the sample."""
        import sqlalchemy as sa

        table = self.schema.table(table_name)
        kind = dialects.family(self.conn)
        base = _select(table, self.schema.schema, [column])[0]
        code = _exact_code(base.c[column], table.column(column).type.name, kind)
        query = sa.select(sa.func.count(base.c[column]), sa.func.count(sa.distinct(code)))
        try:
            with self.conn.begin_nested():
                rows, distinct = self.conn.execute(query).one()
        except sa.exc.DBAPIError:
            return None
        return int(rows), int(distinct)

    def _held(
        self,
        table: Table,
        column: str,
        fks: tuple[Any, ...],
        cols: tuple[str, ...],
        wanted: set[Any],
        kind: str,
    ) -> dict[Any, int] | None:
        """The codes of ``wanted`` and how many rows (no ``cols``) or distinct ``cols`` of the
        table the foreign keys ``fks`` lead to hold each; None if the keys lead nowhere."""
        import sqlalchemy as sa

        schema = self.schema
        base = _select(table, schema.schema, [column])[0].alias()
        code = _exact_code(base.c[column], table.column(column).type.name, kind)
        joined: Any = base
        last, last_table = base, table
        for fk in fks:
            if (
                any(c not in last_table.column_names for c in fk.columns)
                or fk.ref_table not in schema.table_names
            ):
                return None
            parent = schema.table(fk.ref_table)
            nxt = _select(parent, schema.schema, list(parent.column_names))[0].alias()
            on = sa.and_(*[last.c[a] == nxt.c[b] for a, b in zip(fk.columns, fk.ref_columns, strict=True)])
            joined = joined.outerjoin(nxt, on)
            last, last_table = nxt, parent
        if any(c not in last_table.column_names for c in cols):
            return None
        if cols:
            pairs = (
                sa.select(code.label("__code"), *[last.c[c].label(f"__o{i}") for i, c in enumerate(cols)])
                .select_from(joined)
                .where(base.c[column].is_not(None))
                .distinct()
                .subquery()
            )
            query = sa.select(pairs.c["__code"], sa.func.count().label("__n")).group_by(pairs.c["__code"])
        else:
            query = (
                sa.select(code.label("__code"), sa.func.count().label("__n"))
                .select_from(base)
                .where(base.c[column].is_not(None))
                .group_by(code)
            )
        counts: dict[Any, int] = {}
        for chunk in self.conn.execute(_streamed(query)).partitions(CHUNK_ROWS):
            frame = pd.DataFrame(list(chunk), columns=[column, "__n"])
            if kind == "mysql" and table.column(column).type.name in STRING_TYPES:
                frame[column] = [_decoded(v) for v in frame[column]]
            frame = _native_numbers(_unpadded(frame, table, kind), table)
            for v, n in zip(frame[column].to_numpy(dtype=object), frame["__n"], strict=True):
                try:  # two groups of one spelling: the larger, never their sum (the same people)
                    if v in wanted:
                        counts[v] = max(counts.get(v, 0), int(n))
                except TypeError:  # unhashable: not a code of the sample's
                    continue
        return counts


def _exact_code(column: Any, type_name: str, kind: str) -> Any:
    """A text column as its exact characters, grouped apart where its collation would merge them
    ('A' and 'a' under MariaDB's utf8mb4_general_ci, a citext, SQLite's NOCASE): merged, a code
    held by 2 people would count a near twin's 4 too."""
    import sqlalchemy as sa

    if type_name not in STRING_TYPES:
        return column
    if kind == "postgresql":
        return sa.cast(column, sa.Text).collate("C")
    if kind == "sqlite":
        return column.collate("BINARY")
    return sa.cast(column, sa.LargeBinary)  # MySQL and MariaDB: CAST(... AS BINARY), bytes


def _decoded(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return None  # another character set: counted for no code (the sample decides)
    return value
