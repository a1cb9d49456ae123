"""CHECKs relsynth cannot interpret: the target judges the rows, failing rows are repaired, the rest dropped.

A CHECK like ``extract(dow FROM visit_date) BETWEEN 1 AND 5`` is outside what the engine reads, so
sampled rows may break it. Only a server of the source's dialect can evaluate its SQL: the rows go
into a temporary table there and each such CHECK is asked which rows it rejects. A rejected row then
takes every column but its keys from a row that passes every CHECK (a synthetic sibling where there
is one, never a source row), so the table keeps its size and the row its own relations; only a row
that cannot be repaired (the CHECK reads a key, or no row passes) is dropped, with its descendants,
and the summary says how many. Rows still breaking a CHECK the engine reads (sampling found no
repair) are dropped the same way, for any target: the load would fail on them.

Ranges kept apart (a PostgreSQL EXCLUDE of the common form, a MariaDB WITHOUT OVERLAPS key; see
relsynth/exclusion.py ``overlap_forms``): a repair keeps the row's key columns, and its donor is one
whose range overlaps no other row of that key (the sibling chosen where it does, else the passing
row nearest in start), so a repair never makes two rows overlap: a sibling's copied period always
overlapped the sibling. A row no such donor repairs is dropped as above. Rows exclusion.settle then
moves apart are asked again (``judge``): one the CHECKs reject is not moved but dropped.

Into another dialect the target judges as well, each CHECK as the DDL recreated it there (the
clause relsynth/ddl.py renders for the target); one the DDL did not recreate is not asked (the
target does not hold it). There the target is asked also when a recreated CHECK computes
(``hi >= lo * 1.5``): its numbers may not be the source's (SQLite's REAL decimals). ``hard`` also
covers CHECKs whose arithmetic reads columns that are not numbers (date arithmetic): the engine
reads their form but does not evaluate it, and MariaDB's LIKEs on letters (its column's collation
says how they compare). A LIKE recreated in another dialect is asked too.
"""

from __future__ import annotations

import re
import secrets
import zlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from relsynth import dialects, exclusion, partitions
from relsynth.schema import Check, Schema, Table
from relsynth.sqltypes import NUMBER_TYPES

if TYPE_CHECKING:
    import sqlalchemy as sa

# Inserts a frame's columns into a table: the writer's own loader, so values convert as in the load.
Insert = Callable[["sa.Connection", "sa.Table", Table, list[str], pd.DataFrame], None]
ROUNDS = 4  # repairs tried per row before it is dropped
_WORD = re.compile(
    r"'(?:[^']|'')*'|" + r'"((?:[^"]|"")+)"|`((?:[^`]|``)+)`|\[([^\]]+)\]|([A-Za-z_][A-Za-z0-9_$]*)'
)


def all_checks(schema: Schema | None, table: Table) -> list[Check]:
    """The table's CHECKs and its columns' domains' (PostgreSQL), VALUE named as the column: a
    domain's CHECK holds for every row as a column's does (and is recreated with the domain, or
    as the column's own CHECK in another dialect), so its rows are judged the same way. A domain
    that uses what relsynth does not recreate keeps its ``needs``: not created, not asked."""
    from relsynth.ddl import domain_checks

    own = [*table.checks, *partitions.checks(table)]  # a row no partition takes is refused as well
    if schema is None or not schema.domains:
        return own
    needs = {d.name: d.needs for d in schema.domains}
    return own + [
        Check(None, sql, needs=needs.get(table.column(column).type.type_name or "", ()))
        for column, sql in domain_checks(schema, table)
    ]


def hard_checks(table: Table, checks: Sequence[Check] | None = None) -> list[Check]:
    """The table's CHECKs (or ``checks``) the engine could not interpret (and so could not keep
    while sampling): those it cannot read, and those computing with columns that are not numbers."""
    from relsynth.model import checks as ck

    hard = []
    for check in table.checks if checks is None else checks:
        try:
            node = ck.parse(check.sql, table.sql_dialect)
        except ck.NotInterpretable:
            hard.append(check)
            continue
        names = {c.name: c for c in table.columns}
        if any(n not in names or names[n].type.name not in NUMBER_TYPES for n in ck.arithmetic_columns(node)):
            hard.append(check)
        elif any(like.case == "collation" and like.letters() for like in ck.likes(node)):
            hard.append(check)  # MariaDB's LIKE on letters: as the column's collation compares them
    return hard


# A CHECK as the target is asked it: the CHECK, and its SQL text (same dialect) or the clause the
# target renders (another dialect).
Judge = tuple[Check, Any]


def judges(schema: Schema, table: Table, kind: str) -> list[Judge]:
    """The table's CHECKs the target holds, as it holds them; none where nothing needs asking (every
    CHECK is the engine's, and, into another dialect, none computes)."""
    from relsynth.model import checks as ck

    every = all_checks(schema, table)
    if dialects.family(schema.dialect) == kind:  # not one using what the target lacks (not recreated)
        held = [check for check in every if not check.needs]
        return (
            [(check, check.sql) for check in held]
            if any(c in held for c in hard_checks(table, every))
            else []
        )
    from relsynth.ddl import check_clause

    hard = hard_checks(table, every)
    out: list[Judge] = []
    ask = False
    for check in every:
        clause = check_clause(check.sql, table, schema.dialect, kind)
        if clause is None:
            continue
        out.append((check, clause))
        node = ck.parse(check.sql, dialects.family(schema.dialect))  # recreated: it parses
        # a LIKE is asked too: its letters may compare otherwise here (ddl.like_change)
        ask = ask or check in hard or bool(ck.arithmetic_columns(node)) or bool(ck.likes(node))
    return out if ask else []


def check_columns(check: Check, table: Table) -> list[str]:
    """The table's columns a CHECK's SQL names (quoted or bare, case-insensitive for bare words)."""
    exact = {c.name for c in table.columns}
    folded = {c.name.lower(): c.name for c in table.columns}
    found: list[str] = []
    for m in _WORD.finditer(check.sql):
        quoted = m.group(1) or m.group(2) or m.group(3)
        if m.group(0).startswith("'"):
            continue  # a string literal, not a name
        if quoted is not None:
            name = quoted.replace('""', '"').replace("``", "`")
            hit = name if name in exact else folded.get(name.lower())
        else:
            hit = folded.get(m.group(4).lower())
        if hit is not None and hit not in found:
            found.append(hit)
    return found


def _fixed(table: Table) -> set[str]:
    """Columns a repair must not copy between rows: keys, UNIQUE columns, foreign keys."""
    cols = set(table.primary_key) | table.fk_columns()
    for u in table.unique:
        cols |= set(u.columns)
    for ix in table.indexes:
        if ix.unique:
            cols |= set(ix.columns)
    return cols | {c.name for c in table.columns if c.computed}


def rejected(
    conn: sa.Connection,
    schema: Schema,
    name: str,
    frame: pd.DataFrame,
    kind: str,
    checks: Sequence[Check | Judge],
    insert: Insert,
) -> np.ndarray:
    """One mask per CHECK (rows x checks): the rows the target's own evaluation rejects. A CHECK is
    asked in its SQL text, or as a Judge's text or clause (see ``judges``)."""
    import sqlalchemy as sa

    from relsynth.ddl import case_sensitive_collation, column_type

    table = schema.table(name)
    bad = np.zeros((len(frame), len(checks)), dtype=bool)
    if not checks or not len(frame):
        return bad
    columns = [c.name for c in table.columns if not c.computed and c.name in frame.columns]
    md = sa.MetaData()
    cols = [sa.Column("_rs_row", sa.Integer)]
    # A domain column is of its base type here: the domain's CHECK would refuse the very rows asked about.
    bases = frozenset(d.name for d in schema.domains)
    # A type the target lacks (ltree without its extension) is text here, as in the target's table.
    bases |= dialects.missing_types(conn, schema, [name])
    cols += [
        sa.Column(c, column_type(table.column(c), table, schema.dialect, kind, bases)[0]) for c in columns
    ]
    options: dict[str, Any] = {}
    if kind == "mysql":  # compared as the target's table will compare them (see ddl.build)
        binary = case_sensitive_collation(
            schema, [name], schema.dialect or kind, kind, dialects.binary_collation(conn)
        )
        if binary:
            options = {"mysql_charset": "utf8mb4", "mysql_collate": binary}
    temp = sa.Table(f"_rs_check_{secrets.token_hex(4)}", md, *cols, prefixes=["TEMPORARY"], **options)
    numbered = frame[columns].reset_index(drop=True).assign(_rs_row=np.arange(len(frame)))
    with conn.begin_nested():
        temp.create(conn)
        insert(conn, temp, table, ["_rs_row", *columns], numbered)
        for j, check in enumerate(checks):
            expr = check.sql if isinstance(check, Check) else check[1]
            condition = sa.literal_column(f"({expr})", sa.Boolean) if isinstance(expr, str) else expr
            query = sa.select(temp.c["_rs_row"]).select_from(temp).where(sa.not_(condition))
            for (i,) in conn.execute(query):
                bad[int(i), j] = True
        if kind == "mysql":  # a plain DROP TABLE commits implicitly on MySQL, ending the savepoint
            conn.exec_driver_sql(
                f"DROP TEMPORARY TABLE {conn.dialect.identifier_preparer.format_table(temp)}"
            )
        else:
            temp.drop(conn)
    return bad


def settle(
    conn: sa.Connection,
    schema: Schema,
    names: list[str],
    name: str,
    frames: dict[str, pd.DataFrame],
    kind: str,
    insert: Insert,
    repaired: dict[str, int],
    dropped: dict[str, int],
    broke: dict[str, list[str]] | None = None,
) -> None:
    """Repair the rows the target rejects, then drop (with descendants) those still rejected.

    A repaired row takes every column but its keys from a passing row, a sibling under the same
    parents where there is one: copying only the CHECK's columns would break what ties them to
    the others (ends_at > starts_at, duration = ends_at - starts_at). All the table's CHECKs are
    asked, the ones the engine kept too, so a repair that breaks one is not loaded. ``broke``
    gathers, by table, the CHECKs dropped rows broke (``label``: said with the count, no value)."""
    table = schema.table(name)
    frame = frames[name]
    broken, which = _still_broken_by(table, frame, schema)
    if broken.any():  # what sampling could not repair is not loaded (the load would fail on it)
        _blame(broke, name, which)
        drop_rows(frames, schema, names, name, broken, dropped)
        frame = frames[name]
    checks = judges(schema, table, kind)
    if not checks or not len(frame):
        return
    bad = rejected(conn, schema, name, frame, kind, checks, insert)
    # Ranges kept apart (EXCLUDE, WITHOUT OVERLAPS): a repair never moves a row to another key, and
    # takes a range only where it overlaps no other row of the row's key.
    forms = exclusion.overlap_forms(table)
    fixed = _fixed(table) | {k for f in forms for k in f.keys}
    readable = [c for c in table.columns if c.name in frame.columns]
    movable = [c.name for c in readable if c.name not in fixed]
    repairable = np.asarray([not (set(check_columns(ch, table)) & fixed) for ch, _ in checks], dtype=bool)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    groups = _groups(table, frame)
    # a form whose range a repair does not copy keeps its rows as they are
    forms = [f for f in forms if set(f.moved_columns) <= set(movable) and set(f.keys) <= set(frame.columns)]
    ever = bad.any(axis=1)
    touched = np.zeros(len(frame), dtype=bool)
    for _ in range(ROUNDS):
        failing = np.asarray(bad.any(axis=1), dtype=bool)
        rows = np.flatnonzero(failing & ~(bad & ~repairable).any(axis=1))  # every failed CHECK repairable
        if not len(rows) or failing.all() or not movable:
            break
        give = _donors(rows, ~failing, groups, rng)
        if forms:
            rows, give = _apart_donors(frame, forms, rows, give, ~failing)
            if not len(rows):
                break
        touched[rows] = True
        for c in movable:
            column = frame[c]
            values = column.to_numpy(copy=True)
            values[rows] = values[give]
            frame[c] = pd.Series(values, index=frame.index, dtype=column.dtype)
        bad[rows] = rejected(conn, schema, name, frame.iloc[rows], kind, checks, insert)
    still = np.asarray(bad.any(axis=1), dtype=bool)
    for f in forms:  # one reaching further back than Apart looks: not loaded
        still |= touched & exclusion.overlapping(frame, f)
    count = int((ever & ~still).sum())
    if count:
        repaired[name] = repaired.get(name, 0) + count
    if still.any():
        _blame(broke, name, [ch for (ch, _), hit in zip(checks, bad[still].any(axis=0), strict=True) if hit])
        drop_rows(frames, schema, names, name, still, dropped)


def label(check: Check) -> str:
    """A CHECK as a summary names it: its name, else its SQL (schema, not data), cut short."""
    if check.name:
        return check.name
    sql = " ".join(check.sql.split())
    return sql if len(sql) <= 80 else sql[:77] + "..."


def _blame(broke: dict[str, list[str]] | None, name: str, checks: Sequence[Check]) -> None:
    if broke is None:
        return
    seen = broke.setdefault(name, [])
    seen += [w for w in dict.fromkeys(label(c) for c in checks) if w not in seen]


# Passing rows tried as a repaired row's donor, nearest in start first, when the one _donors chose
# would overlap another row of its key.
NEAR = 256


def _apart_donors(
    frame: pd.DataFrame, forms: list[exclusion.Form], rows: np.ndarray, give: np.ndarray, passing: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The rows to repair whose donor's range (under every form) overlaps no other row of the row's
    key, with those donors: the one ``_donors`` chose where it does, else the passing row whose range
    starts nearest the row's own (up to ``NEAR`` tried); a row with none is not repaired this round."""
    import bisect

    aparts = [exclusion.Apart(frame, f) for f in forms]
    first = aparts[0]
    pool = [int(i) for i in np.flatnonzero(passing)]
    ranged = [i for i in pool if first.spans[i] is not None]
    try:
        ranged.sort(key=lambda i: exclusion.start_of(first.spans[i]))
        starts = [exclusion.start_of(first.spans[i]) for i in ranged]
    except TypeError:  # values of mixed kinds: only the chosen donors are tried
        ranged, starts = [], []

    def fits(row: int, donor: int) -> bool:
        return all(a.fits(row, a.spans[donor]) for a in aparts)

    def near(row: int) -> list[int]:
        own = first.spans[row]
        if own is None or not ranged:
            return ranged[:NEAR]
        try:
            at = bisect.bisect_left(starts, exclusion.start_of(own))
        except TypeError:
            return []
        out: list[int] = []
        lo, hi = at - 1, at
        while len(out) < NEAR and (lo >= 0 or hi < len(ranged)):
            if hi < len(ranged):
                out.append(ranged[hi])
                hi += 1
            if lo >= 0:
                out.append(ranged[lo])
                lo -= 1
        return out

    keep_rows: list[int] = []
    keep_give: list[int] = []
    for row, donor in zip(rows.tolist(), give.tolist(), strict=True):
        found = donor if fits(row, donor) else next((d for d in near(row) if fits(row, d)), None)
        if found is None:
            continue
        for a in aparts:
            a.take(row, a.spans[found])
        keep_rows.append(row)
        keep_give.append(found)
    return np.asarray(keep_rows, dtype=np.intp), np.asarray(keep_give, dtype=np.intp)


def judge(
    conn: sa.Connection, schema: Schema, name: str, kind: str, insert: Insert
) -> Callable[[pd.DataFrame], np.ndarray]:
    """The rows (of a frame of the table) the target's CHECKs reject, for a step that changes rows
    after settle (exclusion.settle moving ranges): none where no CHECK needs the target's word. The
    CHECKs are found when first asked."""
    found: list[list[Judge]] = []

    def ask(frame: pd.DataFrame) -> np.ndarray:
        if not found:
            found.append(judges(schema, schema.table(name), kind))
        if not found[0]:
            return np.zeros(len(frame), dtype=bool)
        return np.asarray(rejected(conn, schema, name, frame, kind, found[0], insert).any(axis=1), dtype=bool)

    return ask


def _still_broken(table: Table, frame: pd.DataFrame, schema: Schema | None = None) -> np.ndarray:
    """Rows breaking a CHECK the engine reads (evaluated here, in Python, for any target), a
    domain's too when ``schema`` is given."""
    return _still_broken_by(table, frame, schema)[0]


def _still_broken_by(
    table: Table, frame: pd.DataFrame, schema: Schema | None = None
) -> tuple[np.ndarray, list[Check]]:
    """``_still_broken``, with the CHECKs some row breaks."""
    from relsynth.model import checks as ck

    bad = np.zeros(len(frame), dtype=bool)
    which: list[Check] = []
    for check in all_checks(schema, table):
        try:
            node = ck.parse(check.sql, table.sql_dialect)
        except ck.NotInterpretable:
            continue
        if len(frame) and ck.columns_of(node) <= set(frame.columns):
            hit = np.asarray(ck.violations(node, frame), dtype=bool)
            if hit.any():
                which.append(check)
            bad |= hit
    return bad, which


def _groups(table: Table, frame: pd.DataFrame) -> list[np.ndarray]:
    """Sibling groups, strictest first: rows under the same parents through every foreign key,
    then through each one alone."""
    from relsynth.model.relations import comparable

    fks = [fk for fk in table.foreign_keys if all(c in frame.columns for c in fk.columns)]
    sets = ([[c for fk in fks for c in fk.columns]] if len(fks) > 1 else []) + [
        list(fk.columns) for fk in fks
    ]
    out = []
    for cols in sets:
        keyed = pd.DataFrame({c: comparable(frame[c]) for c in dict.fromkeys(cols)})
        out.append(keyed.astype(str).agg("\x1f".join, axis=1).factorize()[0])
    return out


def _donors(
    rows: np.ndarray, passing: np.ndarray, groups: list[np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    """A passing row for each row to repair: a sibling where one exists, else any passing row."""
    pool = np.flatnonzero(passing)
    give = pool[rng.integers(0, len(pool), len(rows))]
    done = np.zeros(len(rows), dtype=bool)
    for codes in groups:
        by_group: dict[int, np.ndarray] = {}
        for g in np.unique(codes[rows[~done]]):
            by_group[int(g)] = pool[codes[pool] == g]
        for i in np.flatnonzero(~done):
            siblings = by_group.get(int(codes[rows[i]]))
            if siblings is not None and len(siblings):
                give[i] = siblings[rng.integers(0, len(siblings))]
                done[i] = True
    return give


def drop_rows(
    frames: dict[str, pd.DataFrame],
    schema: Schema,
    names: list[str],
    name: str,
    bad: np.ndarray,
    dropped: dict[str, int],
) -> None:
    """Drop rows and, through every FK that points at them, their descendants (or NULL the FK)."""
    from relsynth.model.relations import comparable

    gone = frames[name][bad]
    frames[name] = frames[name][~bad].reset_index(drop=True)
    dropped[name] = dropped.get(name, 0) + int(bad.sum())
    for child in names:
        table = schema.table(child)
        for fk in table.foreign_keys:
            if fk.ref_table != name or child not in frames or not len(frames[child]):
                continue
            keys = set(
                map(
                    tuple,
                    pd.DataFrame(
                        {c: comparable(gone[r]) for c, r in zip(fk.columns, fk.ref_columns, strict=True)}
                    ).itertuples(index=False, name=None),
                )
            )
            cf = frames[child]
            mine = pd.DataFrame({c: comparable(cf[c]) for c in fk.columns})
            hit = np.fromiter(
                (k in keys for k in mine.itertuples(index=False, name=None)), dtype=bool, count=len(cf)
            )
            if not hit.any():
                continue
            if all(table.column(c).nullable for c in fk.columns) and child != name:
                for c in fk.columns:
                    cf.loc[hit, c] = None
            else:
                drop_rows(frames, schema, names, child, hit, dropped)
