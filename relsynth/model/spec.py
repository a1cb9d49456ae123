"""What a fitted model holds, as plain dataclasses whose state is JSON plus numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from relsynth.graph import Plan
from relsynth.model.backrefs import BackRef
from relsynth.model.exact import Calendar, Difference, Existence, NoOverlap, Part, Reach, TimeMatch
from relsynth.model.keys import Forest
from relsynth.model.persons import Persons
from relsynth.model.pii import PiiModel
from relsynth.model.relations import Aggregate, Conditional, Dependency, Numbering, Order, Repeat
from relsynth.model.text import Shapes, SourceGuard, Vocabulary
from relsynth.model.text_numbers import TextNumbers
from relsynth.schema import Schema
from relsynth.transform import Encoder


@dataclass
class Dim:
    """One dimension of a table's copula.

    role: 'value' (a column, or its gap from an anchor), 'null' (is the column NULL), 'count'
    (children per row, under context), 'loc'/'scale' (a child dimension's per-parent location
    and spread), 'refcount' (children through a secondary FK).
    """

    name: str
    role: str
    encoder: Encoder
    column: str | None = None
    child: str | None = None
    fk: str | None = None
    target: str | None = None  # the child's dim a loc/scale describes


@dataclass
class ColumnSpec:
    """How one column is produced at sampling time.

    how: copula | dependency | conditional | repeat | aggregate | key | numbering | text | id | pii | constant
    | generated (left to the database) | reference_fk (categorical value of a reference key)
    | part | difference (derived from other columns of the row) | existence (from the children sampled).
    """

    name: str
    how: str
    null_share: float = 0.0
    unique: bool = False
    mapping: list[list[Any]] | None = None  # dependency: [[determinant, value], ...]
    determinant: str | None = None
    null_determinant: str | None = None  # the column is NULL exactly when null_mapping says so
    null_mapping: list[list[Any]] | None = None
    table: dict[str, Any] | None = None  # conditional: {"pairs": [[a, b, count]], "marginal": [[b, count]]}
    shapes: Shapes | None = None
    vocabulary: Vocabulary | None = None
    guard: SourceGuard | None = None
    pii: PiiModel | None = None
    id_kind: str | None = None  # 'uuid' | 'integer' | 'shape'
    constant: Any = None
    decimals: int | None = None
    sentinel: Any = None  # a date written where the column comes out NULL (model/sentinels.py)
    # An integer column beyond 2**53 (a BIGINT UNSIGNED near 2**64) is learned less this exact
    # integer (a multiple of 2**32 below its values): as floats they merged into one (attack round 30).
    offset: int | None = None


@dataclass
class KeySpec:
    """How the primary key (and key-like unique columns) are generated."""

    columns: tuple[str, ...] = ()
    kind: str = "none"  # 'integer' | 'uuid' | 'shape' | 'fk' (all from parents) | 'composite' | 'none'
    start: int = 1
    shapes: Shapes | None = None


@dataclass
class TableModel:
    name: str
    role: str  # data | reference | empty
    n_rows: int
    columns: list[ColumnSpec] = field(default_factory=list)
    dims: list[Dim] = field(default_factory=list)
    corr: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    n_own: int = 0  # dims[:n_own] describe this table's rows; the rest summarise children
    within_chol: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # pooled within-parent
    # Per own dim, the correlation of siblings' within-family parts (<= 0: children that spread a
    # value between them, as a customer's invoices of every size): model/siblings.py.
    sibling_corr: np.ndarray = field(default_factory=lambda: np.zeros(0))
    null_context: float = 0.0  # share of rows without a context parent
    key: KeySpec = field(default_factory=KeySpec)
    dependencies: list[Dependency] = field(default_factory=list)
    conditionals: list[Conditional] = field(default_factory=list)
    anchors: dict[str, Order] = field(default_factory=dict)
    orders: list[Order] = field(default_factory=list)
    # Orders between numbers, in the row or with a column of the row a foreign key names (fk):
    # price_each <= the product's msrp. Kept after sampling by exact_sample.number_bounds.
    number_orders: list[Order] = field(default_factory=list)
    # Dates that are the day of a time of the row a foreign key names (issued_on = DATE(ordered_at)):
    # set from it after sampling (exact_sample.day_repeats); parent_column is that time.
    day_repeats: list[Repeat] = field(default_factory=list)
    # [column, base, seconds]: a same-table order's widest gap kept (column - base past the K-th
    # largest of the source's drawn again: a life of 166 years where the source's longest is 117).
    spans: list[list[Any]] = field(default_factory=list)
    repeats: list[Repeat] = field(default_factory=list)
    # Personal values copied from the parent where the row has one (an order's e-mail, its
    # customer's), generated where it has none (a guest's): sample.copy_from_parents.
    copies: list[Repeat] = field(default_factory=list)
    aggregates: list[Aggregate] = field(default_factory=list)
    numbering: list[Numbering] = field(default_factory=list)
    forests: dict[str, Forest] = field(default_factory=dict)
    fk_null: dict[str, float] = field(default_factory=dict)  # null share of each assigned FK
    key_matches: dict[str, list[tuple[str, str]]] = field(
        default_factory=dict
    )  # fk -> [(own col, parent col)]
    parts: list[Part] = field(default_factory=list)  # relsynth.model.exact: derived, in order
    differences: list[Difference] = field(default_factory=list)
    calendars: list[Calendar] = field(default_factory=list)
    reaches: list[Reach] = field(default_factory=list)  # orders through related rows
    # fk -> own time that lies close to the parent's: parents given in order of them, the gap kept
    time_matches: dict[str, TimeMatch] = field(default_factory=dict)
    existence: list[Existence] = field(default_factory=list)  # flags: the row has children
    no_overlap: list[NoOverlap] = field(default_factory=list)
    # Text columns of numbers and words: numbers drawn per level of a category (model/text_numbers.py)
    text_numbers: list[TextNumbers] = field(default_factory=list)
    back_refs: list[BackRef] = field(default_factory=list)  # cycles of two tables that point back
    # Columns the children of one parent share (a patient's race on each encounter), each with the
    # chance a child takes its first sibling's value rather than a draw of its own (1: always).
    family: dict[str, float] = field(default_factory=dict)
    # A flat table's persons (an MRN on several rows with one birth date): model/persons.py.
    persons: Persons | None = None
    # NOT NULL float columns whose source holds NaN or an infinity ({"qty": ["nan"]}): the writer
    # makes them nullable in a target that has neither before any batch holding one is sampled.
    non_finite: dict[str, list[str]] = field(default_factory=dict)
    reference: dict[str, Any] | None = None  # verbatim rows of a reference table
    record_guard: SourceGuard | None = None  # in memory only: source records unique on record_columns
    record_columns: list[str] = field(default_factory=list)
    # The record without the columns generated afresh (personal data, free text, JSON): checked
    # too, so a row is kept off a source record unique on them whatever text it was given.
    record_core: list[str] = field(default_factory=list)
    record_nudge: str | None = None  # the column moved one step when a row equals such a record
    name_guard: SourceGuard | None = None  # in memory only: the source's (first, last) name pairs
    name_columns: tuple[str, str] | None = None  # the first- and last-name columns name_guard checks

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)


def _per(encoder: Any) -> str:
    """'(a, b) (40 pairs; others per a, 6 levels)': a ByLevel and the ones it falls back on."""
    words = {1: "levels", 2: "pairs", 3: "triples"}
    steps = []
    while encoder is not None:
        names = encoder.givens
        what = names[0] if len(names) == 1 else "(" + ", ".join(names) + ")"
        steps.append((what, f"{len(encoder.levels)} {words.get(len(names), 'tuples')}"))
        encoder = encoder.fallback
    (what, count), *rest = steps
    return f"{what} ({count}" + "".join(f"; others per {w}, {c}" for w, c in rest) + ")"


@dataclass
class Model:
    """A fitted relsynth model: the schema and plan it was fitted on, and one TableModel per table."""

    schema: Schema
    plan: Plan
    tables: dict[str, TableModel]
    seed: int
    source: dict[str, Any] = field(default_factory=dict)  # what was read: redacted URL, sample, holdout
    engine: str = "relsynth"
    guarded: bool = False  # guards built from the source's rows, in memory (relsynth.model.guards)

    def save(self, path: str | Path) -> None:
        from relsynth.model.store import save

        save(self, path)

    @classmethod
    def load(cls, path: str | Path) -> Model:
        from relsynth.model.store import load

        return load(path)

    def non_finite(self) -> dict[tuple[str, str], frozenset[str]]:
        """(table, column) -> {'nan', 'inf'}: what writer.write needs to know before the batches."""
        return {(t.name, c): frozenset(k) for t in self.tables.values() for c, k in t.non_finite.items()}

    def relations_summary(self) -> list[str]:
        """The exact relations found, one line each, for `relsynth inspect`-style reports."""
        out = []
        for t in self.tables.values():
            for d in t.dependencies:
                out.append(f"{t.name}: {d.determinant} -> {d.target} (functional dependency)")
            for cd in t.conditionals:
                out.append(
                    f"{t.name}: {cd.target} drawn given {', '.join(cd.givens)} (dependence {cd.strength:.2f})"
                )
            for c in t.columns:
                if c.null_determinant:
                    out.append(f"{t.name}: {c.null_determinant} -> whether {c.name} is NULL")
            for o in t.orders:
                base = f"parent.{o.base}" if o.fk else o.base
                out.append(f"{t.name}: {o.column} {o.op} {base}")
            for o in t.number_orders:
                base = f"{o.base} of the row {o.fk} points to" if o.fk else o.base
                out.append(f"{t.name}: {o.column} {o.op} {base}")
            for r in t.repeats:
                out.append(f"{t.name}: {r.column} = {r.parent_column} of its parent via {r.fk}")
            for r in t.day_repeats:
                out.append(f"{t.name}: {r.column} = date({r.parent_column}) of the row {r.fk} points to")
            for shared, keep in t.family.items():
                how = (
                    "one value for all children of a parent"
                    if keep >= 0.995
                    else (
                        f"shared by the children of a parent (a child keeps its first sibling's, {keep:.0%})"
                    )
                )
                out.append(f"{t.name}: {shared} is {how}")
            for dim, rho in zip(t.dims[: t.n_own], t.sibling_corr, strict=False):
                if rho < 0:  # model/siblings.py
                    what = dim.column or dim.name
                    what = f"whether {what} is NULL" if dim.role == "null" else what
                    out.append(
                        f"{t.name}: the children of a parent spread {what} between them "
                        f"(siblings' correlation {rho:.2f}: their mean steadier than free draws')"
                    )
            for name, forest in t.forests.items():
                if forest.order_by:
                    by = forest.order_by
                    where = " of the same parent" if forest.within_group else ""
                    out.append(f"{t.name}: {name} names an earlier row{where} by {by}")
                if forest.min_gap is not None:
                    out.append(f"{t.name}: {name} names a row earlier by a margin (the K-th least gap)")
            for column, base, _ in t.spans:
                out.append(f"{t.name}: {column} - {base} within the K-th largest gap")
            for name, forest in t.forests.items():
                for column, _ in forest.target_values:
                    out.append(f"{t.name}: {name} names rows of one {column} only")
                for other in forest.distinct_from:
                    out.append(f"{t.name}: {name} never names the row {other} does")
                for other in forest.null_with:
                    out.append(f"{t.name}: {name} is NULL where {other} is")
            for dim in t.dims:
                if dim.role == "value" and getattr(dim.encoder, "given", None):  # model/by_level.py
                    out.append(f"{t.name}: {dim.column} has its own distribution per {_per(dim.encoder)}")
            for a in t.aggregates:
                expr = "count" if not a.terms else "sum(" + " * ".join(a.terms) + ")"
                out.append(f"{t.name}: {a.column} = {expr} over {a.child}")
            for nb in t.numbering:
                by = f", in the order of {nb.by}" if nb.by else ""
                rows = f"rows of equal {', '.join(nb.within)}" if nb.within else "each parent"
                out.append(f"{t.name}: {nb.column} numbers rows {nb.start}..n within {rows}{by}")
            for fk, pairs in t.key_matches.items():
                for own, par in pairs:
                    out.append(f"{t.name}: {own} = {par} of the row {fk} points to")
            out += _exact_lines(t)
        return out


def _exact_lines(t: TableModel) -> list[str]:
    """The relations of relsynth.model.exact, one line each (names only, never values)."""
    out = []
    for p in t.parts:
        if p.part == "text":  # its own values elsewhere are drawn as usual: said so
            where = "" if t.column(p.column).how == "part" else f" where {p.whole} is known"
            out.append(f"{t.name}: {p.column} = {p.whole} as text{where} (derived)")
        else:
            out.append(f"{t.name}: {p.column} = {p.part}({p.whole}) (derived)")
    for d in t.differences:
        if d.dates:
            unit = {86400.0: "days", 3600.0: "hours", 60.0: "minutes"}.get(d.unit, "seconds")
            how = {"floor": "whole ", "days": "calendar ", "exact": ""}[d.mode]
            extra = f" {'+' if d.offset > 0 else '-'} {abs(d.offset)}" if d.offset else ""
            out.append(f"{t.name}: {d.column} = {d.a} - {d.b} in {how}{unit}{extra} (derived)")
        elif d.op == "*":
            out.append(f"{t.name}: {d.column} = {d.a} times a constant, rounded to its decimals (derived)")
        else:
            out.append(f"{t.name}: {d.column} = {d.a} {d.op} {d.b} (derived)")
    for spec in t.columns:  # ranges of two columns of the row (natives.range_sources)
        native = (
            spec.constant.get("native") if spec.how == "native" and isinstance(spec.constant, dict) else None
        )
        sources = native["range"].get("from") if native and native.get("family") == "range" else None
        if native and sources:
            ends = []
            for end in ("lower", "upper"):
                src = sources.get(end)
                step = "" if not src or not src[1] else f" + {src[1]:g}"
                name = f"date({src[0]})" if src and native["range"]["kind"] == "date" else src and src[0]
                ends.append(f"{name}{step}" if src else "drawn")
            out.append(f"{t.name}: {spec.name} = range [{ends[0]}, {ends[1]}) (derived)")
    for c in t.calendars:
        parts = ", ".join(x for x in (c.year, c.month, c.day) if x)
        out.append(f"{t.name}: ({parts}) is always a valid calendar date")
    for r in t.reaches:
        out.append(f"{t.name}: {r.column} {r.op} {r.table}.{r.base} of the row reached via {r.label()}")
    for fk_name, m in sorted(t.time_matches.items()):
        out.append(f"{t.name}: {m.column} follows {m.base} of the row {fk_name} names (given in time order)")
    for e in t.existence:
        out.append(f"{t.name}: {e.column} says whether the row has {e.child} rows (via {e.fk})")
    for o in t.no_overlap:
        out.append(f"{t.name}: intervals {o.start}..{o.end} never overlap for one {o.key}")
        if o.last_open is not None:
            out.append(f"{t.name}: only the last interval of a {o.key} is open ({o.end} NULL or a sentinel)")
    for b in t.back_refs:
        out.append(f"{t.name}: a row that {b.other} points to points back through {b.fk}")
        if b.last is not None:
            out.append(f"{t.name}: {b.other} points at the row's last by {b.last}")
        if b.every:
            out.append(f"{t.name}: {b.other} is set on every row with {t.name} rows")
    for tn in t.text_numbers:
        per = f"per {tn.given}" if tn.given else "from one distribution"
        said = f"holds numbers ({tn.share:.0%}) drawn {per}, spelled as the source (derived)"
        out.append(f"{t.name}: {tn.column} {said}")
    for spec in t.columns:
        if spec.sentinel is not None:
            out.append(f"{t.name}: {spec.name} holds a sentinel date for 'none yet' (modelled as NULL)")
    return out
