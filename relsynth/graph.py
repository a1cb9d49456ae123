"""Schema -> foreign-key graph (networkx) -> Plan: what is synthesized, under which parent, in what order.

The Plan answers, for every table: is it data, a reference table (copied), or empty; which FK is
its *context* (the parent it is modelled under, as HMA does); which FKs are *secondary* (assigned
after sampling); which FKs break cycles (filled in a second pass); which are self-references.
All graph work uses networkx algorithms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, cmp_to_key

import networkx as nx

from relsynth.profile import PERSON_PII
from relsynth.schema import ForeignKey, Kind, Role, Schema, Table


@dataclass(frozen=True)
class CycleCut:
    """One strongly connected group of tables and the FK cut to make it a DAG."""

    tables: tuple[str, ...]
    fk: ForeignKey
    reason: str


@dataclass(frozen=True)
class TablePlan:
    name: str
    role: str  # 'data' | 'reference' | 'empty'
    role_reason: str
    depth: int
    context: ForeignKey | None = None
    context_reason: str = ""
    secondary: tuple[ForeignKey, ...] = ()
    reference_fks: tuple[ForeignKey, ...] = ()  # FKs into reference tables: modelled as categories
    self_refs: tuple[ForeignKey, ...] = ()
    deferred: tuple[ForeignKey, ...] = ()  # cycle-breaking FKs: written after both tables exist
    link: bool = False
    ignored_fks: tuple[ForeignKey, ...] = ()  # FKs into excluded tables: their values kept as codes

    @property
    def parents(self) -> tuple[str, ...]:
        fks = (*((self.context,) if self.context else ()), *self.secondary)
        return tuple(dict.fromkeys(fk.ref_table for fk in fks))


@dataclass(frozen=True)
class Plan:
    schema: Schema
    order: tuple[str, ...]
    tables: dict[str, TablePlan]
    cycles: tuple[CycleCut, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def __getitem__(self, name: str) -> TablePlan:
        return self.tables[name]

    @cached_property
    def graph(self) -> nx.MultiDiGraph:
        return fk_graph(self.schema)

    def by_role(self, role: str) -> tuple[str, ...]:
        return tuple(n for n in self.order if self.tables[n].role == role)

    @property
    def roots(self) -> tuple[str, ...]:
        """Data tables modelled on their own (no context parent)."""
        return tuple(
            n for n in self.order if self.tables[n].role == "data" and self.tables[n].context is None
        )

    @property
    def depth(self) -> int:
        return max((p.depth for p in self.tables.values()), default=0)

    def children(self, name: str) -> tuple[str, ...]:
        """Tables modelled under ``name`` (it is their context parent), in plan order."""
        return tuple(
            n for n in self.order if (c := self.tables[n].context) is not None and c.ref_table == name
        )

    @property
    def isolated(self) -> tuple[str, ...]:
        g = self.graph
        return tuple(n for n in self.order if g.degree(n) - _self_loops(g, n) * 2 == 0)

    @property
    def without_pk(self) -> tuple[str, ...]:
        return tuple(n for n in self.order if not self.schema.table(n).primary_key)


def _self_loops(g: nx.MultiDiGraph, n: str) -> int:
    return g.number_of_edges(n, n)


def fk_graph(schema: Schema) -> nx.MultiDiGraph:
    """Parent -> child edges, one per FK, keyed by FK name; excluded tables left out."""
    g = nx.MultiDiGraph()
    active = {t.name for t in schema.active_tables}
    for table in schema.active_tables:
        g.add_node(table.name, rows=table.row_count)
    for table in schema.active_tables:
        for fk in table.foreign_keys:
            if fk.ref_table in active:
                g.add_edge(fk.ref_table, table.name, key=fk.name, fk=fk)
    return g


def _nullable(table: Table, fk: ForeignKey) -> bool:
    return any(table.column(c).nullable for c in fk.columns)


def _optional(table: Table, fk: ForeignKey) -> bool:
    """A nullable FK, unless it is an inferred one that no row of the source leaves NULL: MIMIC
    declares no keys on its events, and its icustay_id, NULL in none of them, is what they hang
    under (inference rests on the data already)."""
    if fk.inferred is not None and table.row_count and fk.inferred.values >= table.row_count:
        return False
    return _nullable(table, fk)


def late_columns(table: Table, fk: ForeignKey) -> tuple[str, ...]:
    """The columns of a cycle-cutting FK written NULL first and filled in once both tables exist:
    its nullable ones the primary key and the other FKs do not hold (owner_user, not tenant_id,
    of (tenant_id, owner_user)); else its nullable ones outside the primary key. Empty: the FK
    cannot be written NULL."""
    others = {c for f in table.foreign_keys if f.name != fk.name for c in f.columns}
    nullable = [c for c in fk.columns if table.column(c).nullable and c not in table.primary_key]
    own = tuple(c for c in nullable if c not in others)
    return own or tuple(nullable)


def _cut_cycles(schema: Schema, g: nx.MultiDiGraph) -> tuple[nx.MultiDiGraph, list[CycleCut]]:
    """Remove one FK per cycle until the graph (self-loops aside) is a DAG, and say why each."""
    dag = nx.MultiDiGraph(g)
    dag.remove_edges_from([(u, v, k) for u, v, k in g.edges(keys=True) if u == v])
    cuts: list[CycleCut] = []
    while True:
        groups = [sorted(c) for c in nx.strongly_connected_components(dag) if len(c) > 1]
        if not groups:
            return dag, cuts
        group = min(groups)
        sub = dag.subgraph(group)
        # How many (short) cycles each FK is on: cutting a busy edge breaks more at once.
        # FK names are unique per table only, so edges are counted by (child, name).
        on_cycles: dict[tuple[str, str], int] = {}
        for k, cycle in enumerate(nx.simple_cycles(sub, length_bound=len(group))):
            for u, v in zip(cycle, [*cycle[1:], cycle[0]], strict=True):
                for key in sub[u][v]:
                    on_cycles[(v, key)] = on_cycles.get((v, key), 0) + 1
            if k > 2000:
                break
        candidates = []
        for u, v, key, data in sub.edges(keys=True, data=True):
            fk: ForeignKey = data["fk"]
            child = schema.table(v)
            nullable = bool(late_columns(child, fk))
            in_pk = set(fk.columns) <= set(child.primary_key)
            score = (
                nullable,
                fk.deferrable,
                not in_pk,
                on_cycles.get((v, key), 0),
                -schema.table(u).row_count,
            )
            candidates.append((score, fk.name, u, v, key, fk, nullable))
        candidates.sort(key=lambda c: (c[0], c[3], c[1]), reverse=True)
        score, _, u, v, key, fk, nullable = candidates[0]
        n_nullable = sum(1 for c in candidates if c[6])
        if nullable and n_nullable == 1:
            reason = "the only nullable FK in the cycle: written as NULL, filled in after both tables exist"
        elif nullable:
            reason = (
                f"nullable, and on {score[3]} of the cycles (most among the {n_nullable} nullable FKs): "
                "written as NULL, filled in after both tables exist"
            )
        elif fk.deferrable:
            reason = "no FK in the cycle is nullable; this one is DEFERRABLE, so it is checked at commit"
        else:
            reason = (
                "no FK in the cycle is nullable or deferrable: relsynth loads it with its check "
                "deferred or switched off during the load, then verifies it"
            )
        cuts.append(CycleCut(tuple(group), fk, reason))
        dag.remove_edge(u, v, key)


_REFERENCE_NAME = re.compile(
    r"(^|_)(concept|vocabulary|vocabularies|domain|lookup|lkp|codes?|code_?list|types?|statuse?s?|"
    r"categor(y|ies)|class(es)?|units?|currenc(y|ies)|countr(y|ies)|languages?|genres?|"
    r"enum|ref|reference|dict|dictionary|tags?|labels?|keywords?|topics?)($|_)"
    r"|^d_",  # MIMIC's dictionaries: d_items, d_labitems, d_icd_diagnoses
    re.IGNORECASE,
)


OMOP_VOCABULARY = frozenset(
    {
        "concept",
        "vocabulary",
        "domain",
        "concept_class",
        "concept_relationship",
        "relationship",
        "concept_synonym",
        "concept_ancestor",
        "source_to_concept_map",
        "drug_strength",
    }
)


def _snake(name: str) -> str:
    """'MediaType' -> 'media_type', so name rules read every dialect's spelling alike."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _stem(name: str) -> str:
    n = _snake(name)
    return n[:-1] if n.endswith("s") and not n.endswith("ss") else n


def _label_shape(table: Table) -> bool:
    """A code list: a key plus a few labels (names, codes, descriptions), no measurements."""
    keys = set(table.primary_key) | table.fk_columns()
    others = [c for c in table.columns if c.name not in keys]
    labels = {Kind.CATEGORICAL, Kind.TEXT, Kind.BOOLEAN, Kind.UNSUPPORTED, Kind.ID}
    return len(others) <= 4 and all(c.kind in labels for c in others)


# Rows of a code list known only by its shape (a key and a few labels, not named like one): the
# unnamed code lists numbered by a surrogate key are short (5 regions, 25 nations, 53
# territories). Past this, an integer key and a name pointed at by many rows are as often
# entities of the data (200 teams with their staff and offers); copied, their names were the
# source's and every child's team a code. A key that is itself a code (text: 'W017', 'J45.9') or
# a table of nothing but its key is a code list up to UNNAMED_TEXT_CODES rows.
UNNAMED_CODES = 100
UNNAMED_TEXT_CODES = 1000


def _code_keyed(table: Table) -> bool:
    """A table keyed by a code of its own (one text column), or holding nothing but its key."""
    key = table.primary_key
    if len(key) == 1 and table.column(key[0]).type.name in {"string", "char", "text"}:
        return True
    return bool(key) and all(c.name in key for c in table.columns)


_PEOPLE = re.compile(
    r"(^|_)(patient|person|people|customer|client|employee|staff|user|member|contact|provider|"
    r"physician|doctor|nurse|student|subscriber|account)s?($|_)"
)


# A people word followed by a word for a kind names a list of kinds of people, not people
# (Magento's customer_group, member_type, patient_status): counted as people, the 4 groups of
# 3,000 customers held every value of theirs, so a constant website_id and the genders were rare.
_KIND_OF = re.compile(r"_(group|type|category|class|status|segment|tier|level|role|kind)s?$")


def _named_for_people(name: str, pattern: re.Pattern[str]) -> bool:
    """Whether a table's name (snake case) names people by ``pattern``, and not kinds of them."""
    return bool(pattern.search(name)) and not _KIND_OF.search(name)


def _reference_tables(schema: Schema, g: nx.MultiDiGraph) -> dict[str, str]:
    """Code lists and vocabularies the data points into; copied, not synthesized. Name -> reason."""
    refs: dict[str, str] = {}
    tables = {t.name: t for t in schema.active_tables}
    forced = {n for n, t in tables.items() if t.role is Role.REFERENCE}
    data = {n for n, t in tables.items() if t.role is Role.DATA}
    for n in forced:
        refs[n] = "marked as reference in the schema file"

    def parents(n: str) -> set[str]:
        return {u for u, _ in g.in_edges(n) if u != n}

    def referencing_rows(n: str) -> int:
        return sum(tables[v].row_count for _, v in g.out_edges(n) if v != n)

    omop = any(n.lower() == "concept" for n in tables) and any(n.lower() == "person" for n in tables)
    changed = True
    while changed:  # a code list may point to another code list (nation -> region)
        changed = False
        for n in sorted(tables):
            t = tables[n]
            if (
                n in refs
                or n in data
                or t.row_count == 0
                or is_person_table(t)
                or _named_for_people(_snake(n), _PEOPLE)
            ):
                continue
            # Named like one, and pointing only into the vocabulary: OpenMRS's relationship
            # (person_a, person_b -> person) is people's, and was copied whole (attack round 41).
            vocabulary = all(p.lower() in OMOP_VOCABULARY for p in parents(n))
            if omop and n.lower() in OMOP_VOCABULARY and vocabulary:
                refs[n] = "a standardized vocabulary table of the OMOP CDM"
                changed = True
                continue
            if not parents(n) <= set(refs):
                continue
            children = {v for _, v in g.out_edges(n) if v != n}
            # A code list is pointed at by a plain attribute somewhere, not only by the keys of
            # link tables (a playlist in playlist_track is an entity of a many-to-many, not a code).
            attribute = any(
                not set(d["fk"].columns) <= set(tables[v].primary_key)
                for _, v, d in g.out_edges(n, data=True)
                if v != n
            )
            ratio = referencing_rows(n) / max(t.row_count, 1)
            named = bool(_REFERENCE_NAME.search(_snake(n)))
            # Named like one, a code list may be in the key of a fact row that is no link (i2b2's
            # observation_fact: patient, concept, start, instance, ...): its concept is an attribute.
            attribute = attribute or (named and any(_beyond_links(tables[v]) for v in children))
            # A list keyed by a code of its own ('d001') is a code list in the key of a dated
            # membership too, whose key holds two foreign keys (employees' dept_emp: emp_no,
            # dept_no, from and to): as data, 9 departments' names came out as random letters, and
            # one at --scale 0.1. Not a trip's stops, keyed by trip and sequence: the trip's own
            # (300 trips copied left their stop times unordered).
            attribute = attribute or (
                _code_keyed(t) and any(_measures(tables[v]) and _membership(tables[v]) for v in children)
            )
            reason = None
            if children and attribute and named and ratio >= 1 and t.row_count <= 100_000:
                reason = f"{t.row_count} rows, named like a code list, referenced by {len(children)} table(s)"
            elif (
                children
                and attribute
                and _label_shape(t)
                and t.row_count <= (UNNAMED_TEXT_CODES if _code_keyed(t) else UNNAMED_CODES)
                and ratio >= 5
            ):
                reason = f"{t.row_count} rows of key and label, {ratio:.0f} referencing rows per row"
            elif children and named and _label_shape(t) and t.row_count <= 1000 and ratio >= 5:
                # Named like one, a code list pointed at by link tables only (post_tag -> tag): as
                # data, its 5 labels were each one row's, withheld as rare and generated.
                reason = (
                    f"{t.row_count} rows of key and label, named like a code list, "
                    f"linked to {ratio:.0f} times a row"
                )
            elif (
                not children
                and parents(n)
                and not _measures(t)
                and (
                    any(_stem(n).startswith(_stem(p)) for p in parents(n))
                    or len({fk.name for fk in t.foreign_keys if fk.ref_table != n}) >= 2
                )
            ):
                reason = "points only into reference tables and nothing points to it (a vocabulary table)"
            if reason:
                refs[n] = reason
                changed = True
    return refs


def _beyond_links(table: Table) -> bool:
    """A primary key with columns of its own besides its foreign keys' (a date, a counter)."""
    return bool(set(table.primary_key) - table.fk_columns())


def _membership(table: Table) -> bool:
    """A primary key holding two foreign keys or more (dept_emp: emp_no and dept_no)."""
    key = set(table.primary_key)
    return sum(1 for fk in table.foreign_keys if set(fk.columns) <= key) >= 2


def _measures(table: Table) -> bool:
    """A date or a number of its own (not a key): a fact about someone (a stay's admission time
    and cost under a ward and an admission type), never copied as a vocabulary would be (3,000
    stays came back verbatim, attack round 31)."""
    keys = set(table.primary_key) | table.fk_columns()
    return any(c.kind in {Kind.DATETIME, Kind.NUMERICAL} for c in table.columns if c.name not in keys)


def _is_link(table: Table, data_fks: list[ForeignKey]) -> bool:
    """Many-to-many: the key (or all columns) made of two FKs to other tables."""
    if len(data_fks) < 2:
        return False
    key = set(table.primary_key) or next((set(u.columns) for u in table.unique), set())
    fk_cols = [set(fk.columns) for fk in data_fks]
    if key:
        covering = [c for c in fk_cols if c <= key]
        return len(covering) >= 2 and set().union(*covering) == key
    return {c.name for c in table.columns} == set().union(*fk_cols)


def _column_stem(column: str) -> str:
    """'o_custkey' -> 'cust', 'PatientId' -> 'patient', 'admission_id' -> 'admission'."""
    n = re.sub(r"^[a-z]{1,2}_", "", _snake(column))
    return re.sub(r"_?(id|key|code|no|num|fk|ref|seq)$", "", n)


def named_after(fk: ForeignKey) -> bool:
    """Is the FK named after the table it points to (an ownership), not after a role (attending_id)?"""
    parent = _stem(fk.ref_table)
    for col in fk.columns:
        stem = _column_stem(col)
        common = next((i for i, (a, b) in enumerate(zip(stem, parent, strict=False)) if a != b), None)
        common = min(len(stem), len(parent)) if common is None else common
        if common >= 4 and common >= 0.6 * min(len(stem), len(parent)):
            return True
    return False


def _choose_context(
    schema: Schema, table: Table, fks: list[ForeignKey], dag: nx.MultiDiGraph, hubs: dict[str, int]
) -> tuple[ForeignKey | None, str]:
    """The parent a table is modelled under (HMA's parent); the other FKs become secondary.

    Catalog facts only, in this order: the FK is part of the primary key; NOT NULL; named after
    its parent (patient_id, not attending_id); the more specific of two parents where one descends
    from the other (visit_detail goes under visit_occurrence, not person); ON DELETE CASCADE; a
    parent holding the people the rows are about; the table named after the parent (invoice_line,
    invoice); the parent of more tables; the parent with more rows. A nullable FK is an owner only
    when named after its parent and the parent has fewer rows. The schema file can set it
    ("context").
    """
    if table.context:
        fk = table.fk(table.context)
        if fk.ref_table in {t.name for t in schema.active_tables}:  # a parent left out models nothing
            return fk, "set in the schema file"

    def eligible(fk: ForeignKey) -> bool:
        parent = schema.table(fk.ref_table)
        if parent.row_count == 0 and _optional(table, fk):
            return False  # an empty parent can own nothing
        if _optional(table, fk):
            # An optional link is an owner only if named after it and parents are fewer than children.
            return named_after(fk) and parent.row_count <= max(table.row_count, 1)
        return True

    fks = [fk for fk in fks if eligible(fk)]
    if not fks:
        return None, ""
    ancestors = {fk.name: nx.ancestors(dag, fk.ref_table) for fk in fks}

    def about(fk: ForeignKey) -> int:
        """2: the parent, or a table above it, is the person the rows are about (a patient, or an
        encounter of one); 1: the parent holds people (a provider); 0: neither (a code table)."""
        tables = [fk.ref_table, *sorted(ancestors[fk.name])]
        if any(is_subject_table(schema.table(n)) for n in tables):
            return 2
        return int(is_person_table(schema.table(fk.ref_table)))

    def head(fk: ForeignKey) -> tuple:
        in_key = set(fk.columns) <= set(table.primary_key)
        return (in_key, not _optional(table, fk), about(fk), named_after(fk))

    def tail(fk: ForeignKey) -> tuple:
        parent = schema.table(fk.ref_table)
        return (
            fk.on_delete == "CASCADE",
            is_person_table(parent),
            _stem(table.name).startswith(_stem(fk.ref_table)),
            hubs.get(fk.ref_table, 0),
            parent.row_count,
        )

    head_reasons = [
        "part of its primary key",
        "NOT NULL",
        "the rows are about the person it holds or is of",
        "the FK is named after it",
    ]
    tail_reasons = [
        "ON DELETE CASCADE",
        "it holds the people the rows are about",
        "the table is named after it",
        "the parent of more tables",
        "the parent with more rows",
    ]

    def compare(a: ForeignKey, b: ForeignKey) -> tuple[int, str]:
        """> 0 when a is the better context, with the deciding reason."""
        # One parent above the other is decided by which is the more specific (below), not by
        # which is about a person (care_team under its admission, not its provider).
        nested = b.ref_table in ancestors[a.name] or a.ref_table in ancestors[b.name]
        for i, (reason, x, y) in enumerate(zip(head_reasons, head(a), head(b), strict=True)):
            if x != y and not (i == 2 and nested):
                return (1 if x > y else -1), reason
        if b.ref_table in ancestors[a.name] and a.ref_table not in ancestors[b.name]:
            return 1, "the more specific parent (a descendant of the other)"
        if a.ref_table in ancestors[b.name] and b.ref_table not in ancestors[a.name]:
            return -1, "the more specific parent (a descendant of the other)"
        for reason, x, y in zip(tail_reasons, tail(a), tail(b), strict=True):
            if x != y:
                return (1 if x > y else -1), reason
        return (1 if a.name < b.name else -1), "first by name"

    def better_first(a: ForeignKey, b: ForeignKey) -> int:
        return -compare(a, b)[0]

    ranked = sorted(sorted(fks, key=lambda f: f.name), key=cmp_to_key(better_first))
    best = ranked[0]
    if len(ranked) == 1:
        return best, "its only parent"
    return best, compare(best, ranked[1])[1]


_SUBJECTS = re.compile(
    r"(^|_)(patient|person|people|subject|participant|member|customer|client|citizen|resident|"
    r"beneficiar(y|ies)|enrollee|student)s?($|_)"
)
_BIRTH = re.compile(r"(^|_)(birth_?(date|day|dt|ts|time)|date_?of_?birth|dob|birth)($|_)")
_TRAIT = re.compile(r"(^|_)(sex|gender|zip|zip_?code|post_?code|postal_?code|age|age_in_years)($|_)")


def is_subject_table(table: Table) -> bool:
    """A table whose rows are the people data is about, not staff or codes: named after them
    (patient_dimension, person, members) or holding a birth date, or two of sex, age and postcode.
    A fact table (i2b2's observation_fact) is about them, not about its concept list."""
    if _named_for_people(_snake(table.name), _SUBJECTS):
        return True
    names = [_snake(c.name) for c in table.columns]
    traits = {m.group(2) for n in names if (m := _TRAIT.search(n))}
    return any(_BIRTH.search(n) for n in names) or len(traits) >= 2


def is_person_table(table: Table) -> bool:
    """Rows about people: names, national ids or record numbers (not a company's phone)."""
    return any(c.pii in PERSON_PII for c in table.columns)


def plan(schema: Schema) -> Plan:
    """Build the Plan for a Schema (excluded tables left out; FKs to them kept as codes)."""
    g = fk_graph(schema)
    dag, cuts = _cut_cycles(schema, g)
    refs = _reference_tables(schema, g)
    active = {t.name for t in schema.active_tables}
    cut_names = {(c.fk.table, c.fk.name) for c in cuts}
    hubs = {n: len({v for _, v in g.out_edges(n) if v != n}) for n in g.nodes}

    # Generation order: topological over the cut graph, ties broken by name for determinism.
    order = tuple(nx.lexicographical_topological_sort(dag))
    depth: dict[str, int] = {}
    for n in order:
        depth[n] = max((depth[u] + 1 for u, _ in dag.in_edges(n) if u not in refs), default=0)

    tables: dict[str, TablePlan] = {}
    notes: list[str] = []
    for name in order:
        table = schema.table(name)
        ignored = tuple(fk for fk in table.foreign_keys if fk.ref_table not in active)
        for fk in ignored:
            notes.append(f"{fk.label}: the parent is excluded, so the column keeps its values as codes")
        live = [fk for fk in table.foreign_keys if fk.ref_table in active]
        self_refs = tuple(fk for fk in live if fk.ref_table == name)
        deferred = tuple(fk for fk in live if (name, fk.name) in cut_names)
        rest = [fk for fk in live if fk not in self_refs and fk not in deferred]
        ref_fks = tuple(fk for fk in rest if fk.ref_table in refs)
        data_fks = [fk for fk in rest if fk.ref_table not in refs]
        if name in refs:
            role, why = "reference", refs[name]
        elif table.row_count == 0:
            role, why = "empty", "no rows in the source: recreated empty"
        else:
            role, why = "data", "synthesized"
        context, context_why = (None, "")
        if role == "data":
            context, context_why = _choose_context(schema, table, data_fks, dag, hubs)
        secondary = tuple(fk for fk in data_fks if fk is not context)
        tables[name] = TablePlan(
            name=name,
            role=role,
            role_reason=why,
            depth=depth.get(name, 0),
            context=context,
            context_reason=context_why,
            secondary=secondary,
            reference_fks=ref_fks,
            self_refs=self_refs,
            deferred=deferred,
            link=_is_link(table, [*data_fks, *ref_fks]),
            ignored_fks=ignored,
        )
    return Plan(schema=schema, order=order, tables=tables, cycles=tuple(cuts), notes=tuple(notes))
