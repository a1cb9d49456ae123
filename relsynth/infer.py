"""Foreign keys a database does not declare: proposed by name, accepted only on the values.

A column named like another table's key (``TrackId`` -> ``Track``, ``person_id`` -> ``person``,
``visit_occurrence_id``, ``preceding_visit_occurrence_id``, ``parent_id`` onto its own table) is a
*candidate*; it becomes an inferred foreign key when every non-NULL value it holds exists in
that key, which reflection checks in the database (``reflection.containment``), or nearly every
one (``accepted``: a few orphans, such as the meta rows of WordPress users deleted since, where the
values say more than chance would). Names alone are never enough: an integer column named like a
key whose values are not in the parent stays a column. Pure functions over a Schema: no database
here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from relsynth.schema import ForeignKey, Inferred, Schema, SqlType, Table
from relsynth.sqltypes import INTEGER_TYPES, STRING_TYPES

# The naming rules, strongest first (the text inspect shows after "by").
BY_NAME = "name"  # person_id -> table person(s), TrackId -> Track
BY_KEY_NAME = "key name"  # exactly the name of another table's single-column key
BY_SUFFIX = "name suffix"  # preceding_visit_occurrence_id -> visit_occurrence
BY_SELF = "self-reference name"  # parent_id, manager_id -> the table's own key

# What ends a key's name: person_id, person_key, country_code, order_no, TrackId, trackid.
KEY_SUFFIXES = ("id", "key", "code", "no", "nr", "num", "number", "fk", "ref")
# A column naming its own table's row: a self-reference by name (only with containment).
SELF_WORDS = frozenset(
    {
        "parent",
        "manager",
        "supervisor",
        "boss",
        "superior",
        "mentor",
        "reports_to",
        "predecessor",
        "successor",
        "previous",
        "prev",
        "next",
        "prior",
        "preceding",
        "following",
        "original",
        "replaced_by",
        "replaces",
        "merged_into",
        "duplicate_of",
        "referrer",
        "referred_by",
        "root",
    }
)
_IRREGULAR = {"person": "people", "child": "children", "man": "men", "woman": "women"}


@dataclass(frozen=True)
class Candidate:
    """child.column -> ref_table.ref_column, proposed by the rule ``by``; still to be checked."""

    table: str
    column: str
    ref_table: str
    ref_column: str
    by: str


def norm(name: str) -> str:
    """snake_case, lower: 'TrackId', 'track_id' and 'TRACK_ID' read alike."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower().replace(" ", "_").replace("-", "_")


def _flat(name: str) -> str:
    return norm(name).replace("_", "")


def split_key(name: str) -> tuple[str, str] | None:
    """'person_id' -> ('person', 'id'), 'TrackId' -> ('track', 'id'), 'trackid' -> ('track', 'id');
    None when the name does not end like a key."""
    n = norm(name)
    for suffix in KEY_SUFFIXES:
        if n.endswith("_" + suffix) and len(n) > len(suffix) + 1:
            return n[: -len(suffix) - 1], suffix
    for suffix in ("id", "key"):  # no separator: trackid, custkey (a stem of 3+ letters)
        if n.endswith(suffix) and len(n) >= len(suffix) + 3:
            return n[: -len(suffix)], suffix
    return None


def _forms(stem: str) -> set[str]:
    """The table names a stem may be spelled as: singular, plural, irregular plural."""
    s = stem.replace("_", "")
    out = {s, s + "s", s + "es"}
    if s.endswith("y"):
        out.add(s[:-1] + "ies")
    last = stem.rsplit("_", 1)[-1]
    if last in _IRREGULAR:
        out.add(s[: -len(last)] + _IRREGULAR[last])
    return out


def names_table(stem: str, table: str, prefix: str = "") -> bool:
    """Does a column stem name this table ('person' names person and persons)? ``prefix``: the
    one every table's name starts with (``table_prefix``), which the stem need not spell: 'user'
    names wp_users too."""
    forms = _forms(stem)
    return _flat(table) in forms or (bool(prefix) and _flat(_unprefixed(table, prefix)) in forms)


def table_prefix(names: Iterable[str]) -> str:
    """The first word every table's name starts with, with its separator (WordPress' 'wp_',
    Moodle's 'mdl_', 'tbl_', 't_'), or '' where the names do not all share one (or there is
    a single table). An application's tables share it, so it names none of them: wp_usermeta's
    user_id is wp_users' key, whose name no column spells with the 'wp_'. Only a prefix all of
    them share: 'user_' of user_accounts and user_sessions among other tables is part of their
    names, and a table that merely starts like another is not it."""
    words = set()
    count = 0
    for name in names:
        n = norm(name.rsplit(".", 1)[-1])
        first, sep, rest = n.partition("_")
        if not sep or not first or not rest.strip("_"):
            return ""
        words.add(first)
        count += 1
    return next(iter(words)) + "_" if count >= 2 and len(words) == 1 else ""


def _unprefixed(table: str, prefix: str) -> str:
    """wp_users -> users where every table's name starts with 'wp_' (``table_prefix``)."""
    n = norm(table.rsplit(".", 1)[-1])
    return n[len(prefix) :] if prefix and n.startswith(prefix) else n


def _keys(table: Table) -> list[str]:
    """The table's single-column keys: primary key first, then UNIQUE constraints and indexes."""
    out = [table.primary_key[0]] if len(table.primary_key) == 1 else []
    out += [u.columns[0] for u in table.unique if len(u.columns) == 1]
    out += [
        ix.columns[0] for ix in table.indexes if ix.unique and len(ix.columns) == 1 and not ix.expressions
    ]
    return [c for c in dict.fromkeys(out) if not table.column(c).computed]


def comparable_types(a: SqlType, b: SqlType) -> bool:
    """Can the database compare the two columns without a cast (and without an error)?"""
    if a.name == "year" or b.name == "year":
        return False
    if (a.name in INTEGER_TYPES or _whole(a)) and (b.name in INTEGER_TYPES or _whole(b)):
        return True
    if a.name in STRING_TYPES and b.name in STRING_TYPES:
        # MySQL refuses to compare columns of different collations; a different charset is no key.
        return (a.charset, a.collation) == (b.charset, b.collation) or not (a.collation and b.collation)
    return a.name == b.name == "uuid"


def _whole(t: SqlType) -> bool:
    """NUMERIC(10) / NUMBER(10,0): an integer spelled as a decimal."""
    return t.name == "numeric" and t.precision is not None and not t.scale


def _parent_key(parent: Table, stem: str, suffix: str, column: str, prefix: str = "") -> str | None:
    """The parent's key a column named like it points to: the column's own name, 'id', the bare
    suffix ('code'), or '<parent>_<suffix>' (the parent's name without the tables' ``prefix``
    too: tbl_customers' customers_id)."""
    parents = {_flat(parent.name), _flat(_unprefixed(parent.name, prefix))}
    wanted = {_flat(column), "id", suffix, stem.replace("_", "") + suffix} | {p + suffix for p in parents}
    if suffix in {"fk", "ref"}:
        wanted |= {stem.replace("_", "") + "id"} | {p + "id" for p in parents}
    for key in _keys(parent):
        if _flat(key) in wanted:
            return key
    return None


def candidates(schema: Schema, skip: Iterable[tuple[str, str]] = ()) -> list[list[Candidate]]:
    """For every column that may be an undeclared foreign key, its possible parents in order of
    preference (the first whose key contains every value wins). ``skip``: (table, column) pairs
    not to consider (a foreign key into a table left out of the run)."""
    tables = [t for t in schema.active_tables if t.row_count > 0]
    prefix = table_prefix(t.name for t in schema.tables)
    skipped = set(skip)
    out: list[list[Candidate]] = []
    for table in tables:
        declared = table.fk_columns()
        for col in table.columns:
            if col.name in declared or col.computed or (table.name, col.name) in skipped:
                continue
            found = _for_column(table, col.name, tables, prefix)
            if found:
                out.append(found)
    return out


def _for_column(table: Table, column: str, tables: list[Table], prefix: str = "") -> list[Candidate]:
    col = table.column(column)
    is_own_key = table.primary_key == (column,)
    split = split_key(column)
    n = norm(column)

    def make(parent: Table, key: str | None, by: str) -> Candidate | None:
        if key is None or (parent.name == table.name and key == column):
            return None
        if not comparable_types(col.type, parent.column(key).type):
            return None
        return Candidate(table.name, column, parent.name, key, by)

    def keep(items: Iterable[Candidate | None]) -> list[Candidate]:
        return [c for c in items if c is not None]

    if split is not None:
        stem, suffix = split
        if names_table(stem, table.name, prefix):
            return []  # the table's own key (or a copy of it): not a reference
        by_name = keep(
            make(p, _parent_key(p, stem, suffix, column, prefix), BY_NAME)
            for p in tables
            if names_table(stem, p.name, prefix)
        )
        if by_name or is_own_key:
            return by_name  # a primary key refers elsewhere only when named after that table
        by_key = keep(
            make(p, key, BY_KEY_NAME)
            for p in sorted(tables, key=lambda t: (-t.row_count, t.name))
            if p.name != table.name
            for key in _keys(p)
            if _flat(key) == _flat(column) and (ks := split_key(key)) is not None and ks[0]
        )
        if by_key:
            return by_key
        if stem in SELF_WORDS:
            return keep([make(table, _keys(table)[0], BY_SELF)] if _keys(table) else [])
        by_suffix = []
        for p in tables:
            for key in _keys(p):
                ks = split_key(key)
                ends_in_key = ks is not None and ks[0] != "" and n.endswith("_" + norm(key))
                ends_in_table = any(
                    stem.endswith("_" + form) for form in {norm(p.name), *_plain_forms(norm(p.name))}
                ) and _flat(key) in {"id", suffix, _flat(p.name) + suffix}
                if ends_in_key or ends_in_table:
                    hit = make(p, key, BY_SELF if p.name == table.name else BY_SUFFIX)
                    if hit is not None:
                        by_suffix.append((-len(_flat(p.name)), p.name, hit))
        return [c for *_, c in sorted(by_suffix, key=lambda x: (x[0], x[1]))][:1]
    if n in SELF_WORDS and not is_own_key and _keys(table):
        return keep([make(table, _keys(table)[0], BY_SELF)])
    return []


def _plain_forms(table: str) -> set[str]:
    """'visit_occurrences' -> {'visit_occurrence'}: a suffix may name the table in the singular."""
    out = set()
    if table.endswith("ies"):
        out.add(table[:-3] + "y")
    if table.endswith("es"):
        out.add(table[:-2])
    if table.endswith("s"):
        out.add(table[:-1])
    return out


# Orphans an inferred key may have: rows, and distinct values, whose value is in no parent row (a
# WordPress site's meta rows of deleted users), as a share of the column's. At most 1% of the rows
# and of the distinct values: a value may be missing only where the column holds 100 or more.
MAX_ORPHAN_SHARE = 0.01
# How unlikely it must be that values unrelated to a whole-number key keep off its gaps as well as
# the column's do (``by_chance``): one in a thousand, on top of the name and of 99% found.
CHANCE = 1e-3


@dataclass(frozen=True)
class NearMiss:
    """What a column that misses the parent's key on a few rows tells, beyond row counts
    (reflection.near_miss): its distinct non-NULL values, how many of them the key lacks, and, where
    the key is whole numbers, how many of the values lie within its [min, max] and how full that
    range is (keys / whole numbers in it); ``density`` None for a key of text."""

    distinct: int
    missing: int
    in_range: int = 0
    density: float | None = None


def near(values: int, missing: int) -> bool:
    """Whether a column's misses are few enough (by rows) to look at its distinct values."""
    return values > 0 and 0 < missing <= MAX_ORPHAN_SHARE * values


def accepted(values: int, missing: int, near_miss: NearMiss | None = None) -> bool:
    """Containment: some values, and every one found in the parent's key; or nearly every one
    (``near_miss`` tells which): at most 1% of the rows and of the distinct values missing (few
    orphans), and the values found in the key not what chance gives (``by_chance``)."""
    if values <= 0 or missing < 0:
        return False
    if missing == 0:
        return True
    if near_miss is None or not near(values, missing):
        return False
    nm = near_miss
    found = nm.distinct - nm.missing
    if found <= 0 or nm.missing > MAX_ORPHAN_SHARE * nm.distinct:
        return False
    return not by_chance(found, nm.in_range, nm.density)


def by_chance(found: int, in_range: int, density: float | None) -> bool:
    """Whether ``found`` of the ``in_range`` distinct values lying within a whole-number key's
    [min, max] are on a key no more often than values unrelated to it would be: an unrelated value
    in that range is on a key with the probability ``density`` (how full the range is), so an
    unrelated numbering that overlaps a key with gaps (rows deleted) falls into the gaps, and the
    column's orphans are as many as chance gives. Where the key's gaps are enough to tell (values
    that kept off every one would be rarer than CHANCE), the values must keep off them beyond
    chance (the binomial tail, bounded by Chernoff: exp(-n KL(found/n || density)) below CHANCE).
    A key with too few gaps to tell (a dense range: ids 1..400 with none deleted) leaves it to the
    name, as a key that holds every value does. A dense small range (status codes 1..5 against a
    5-row table) holds fewer values than 1% of which could be orphans: no orphan is accepted there
    (``accepted``). A key of text (``density`` None): no value is on it by chance."""
    if density is None:
        return False
    if in_range <= 0 or found > in_range:
        return True
    if density >= 1.0 or density <= 0.0:
        return False  # no gap, or no key in the range (the key's [min, max] is one of the values')
    limit = math.log(1 / CHANCE)
    if in_range * math.log(1 / density) < limit:
        return False  # too few gaps to tell: the name decides
    share = found / in_range
    if share <= density:
        return True
    kl = share * math.log(share / density)
    if share < 1.0:
        kl += (1 - share) * math.log((1 - share) / (1 - density))
    return in_range * kl < limit


def with_inferred(schema: Schema, found: Iterable[tuple[Candidate, Inferred | int]]) -> Schema:
    """The schema with each confirmed candidate added as a virtual, inferred foreign key, with its
    evidence (an Inferred, or the count of values checked)."""
    by_table: dict[str, list[tuple[Candidate, Inferred]]] = {}
    for cand, evidence in found:
        if not isinstance(evidence, Inferred):
            evidence = Inferred(cand.by, evidence)
        by_table.setdefault(cand.table, []).append((cand, evidence))
    tables = []
    for table in schema.tables:
        extra = by_table.get(table.name, [])
        if not extra:
            tables.append(table)
            continue
        taken = {fk.name for fk in table.foreign_keys}
        fks = list(table.foreign_keys)
        for cand, evidence in extra:
            name = _fk_name(table.name, cand.column, taken)
            taken.add(name)
            fks.append(
                ForeignKey(
                    name=name,
                    columns=(cand.column,),
                    ref_table=cand.ref_table,
                    ref_columns=(cand.ref_column,),
                    virtual=True,
                    inferred=evidence,
                )
            )
        tables.append(replace(table, foreign_keys=tuple(fks)))
    return replace(schema, tables=tuple(tables))


def _fk_name(table: str, column: str, taken: set[str]) -> str:
    base = f"fk_{table}_{column}_inferred"
    name, k = base, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    return name


def inferred_fks(schema: Schema) -> list[ForeignKey]:
    """Every inferred foreign key of the active tables, in table order (for inspect)."""
    return [fk for t in schema.active_tables for fk in t.foreign_keys if fk.inferred is not None]
