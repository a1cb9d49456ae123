"""Sampling the largest family of tables a batch of root rows at a time: memory bounded by a batch.

A family is a root table and every table under it along context parents (customer -> orders ->
lineitem): each batch of root rows is sampled with all its descendants, handed to the writer and
dropped, so child counts and parent-child trends stay whole within each family. Tables outside the
family (other roots, the tables the family's rows point to) are sampled once, first: the family's
other foreign keys are dealt from them over all batches (keys.Deck), and once written they keep
only the columns the family reads. The largest family among them, when large itself (TPC-H's part
-> partsupp), is sampled in batches too, before the first: once to keep those columns, once more
to be written, row for row the same.

Batch boundaries come from the model, the scale and ``batch_rows`` only, and each batch draws
from its own seed, spawned from the user's by (table, batch number): the same seed and batch size
give the same database. Where the family draws no UNIQUE value, batches need nothing of each
other (``Batch.apart``: keys and decks placed by the batch's number) and run in several processes
at once (relsynth/ahead.py); elsewhere counted keys continue from one batch to the next
(model/keys.py ``key_indices``), and UNIQUE columns whose values are drawn (not counted) remember
what earlier batches wrote. Either way no key repeats across batches.

A schema whose family others depend on (a table outside it pointing into it, cycles, flags on a
shared table about the family's rows) is sampled whole, and ``partition`` says why.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from relsynth.model import keys as kz
from relsynth.model.assign import inherited_columns, secondary_order
from relsynth.model.generate import make_unique
from relsynth.model.guards import unguarded_tables
from relsynth.model.sample import (
    SampleReport,
    check_rows,
    finish_all,
    finished,
    planned_rows,
    sample_one,
    sample_tables,
    sampled,
    table_rngs,
)
from relsynth.model.spec import Model
from relsynth.model.values import collate, key_values

log = logging.getLogger("relsynth")
Progress = Callable[[str, int, int], None]
Batches = Iterator[dict[str, pd.DataFrame]]
# Root rows of a batch at the least: a self-reference or a shared value is drawn among the rows of
# one batch, so batches of a few roots would confine each row's references to its own family.
MIN_BATCH_ROOTS = 1000
# Rounds of drawing a generated UNIQUE value again when an earlier batch wrote it: with most of a
# small space taken (CHAR(3) codes, the source's and two batches'), 8 rounds left 8% unplaced.
REDRAWS = 40


@dataclass(frozen=True)
class Partition:
    root: str
    family: tuple[str, ...]  # plan order, the root first
    shared: tuple[str, ...]  # plan order: sampled once, before the family
    root_rows: int  # the root's planned rows
    per_batch: int  # root rows per batch

    @property
    def batches(self) -> int:
        return math.ceil(self.root_rows / self.per_batch)


def family_of(model: Model, root: str) -> tuple[str, ...]:
    """The root and every table whose context chain leads to it, in plan order."""
    plan = model.plan
    members = {root}
    for name in plan.order:
        context = plan[name].context
        if context is not None and context.ref_table in members and model.tables[name].role == "data":
            members.add(name)
    return tuple(n for n in plan.order if n in members)


def partition(
    model: Model, scale: float, rows: Mapping[str, int], batch_rows: int | None
) -> tuple[Partition | None, str]:
    """The family sampled in batches of about ``batch_rows`` rows, or None and why not."""
    if not batch_rows or batch_rows <= 0:
        return None, ""
    plan = model.plan
    roots = [n for n in plan.order if model.tables[n].role == "data" and plan[n].context is None]
    return _largest(model, roots, scale, rows, batch_rows, frozenset())


def split_shared(
    model: Model, part: Partition, scale: float, rows: Mapping[str, int], batch_rows: int
) -> Partition | None:
    """The largest family among the tables ``part`` shares (part -> partsupp, 10 million rows at
    TPC-H SF 10), when large enough to be sampled in batches too: None otherwise."""
    plan = model.plan
    roots = [n for n in part.shared if model.tables[n].role == "data" and plan[n].context is None]
    found, why = _largest(model, roots, scale, rows, batch_rows, frozenset(part.family))
    if why:
        log.info("the tables %s points to are sampled in one piece: %s", part.root, why)
    return found


def _largest(
    model: Model,
    roots: list[str],
    scale: float,
    rows: Mapping[str, int],
    batch_rows: int,
    besides: frozenset[str],
) -> tuple[Partition | None, str]:
    """The family of the root with the most expected rows, in batches if it can be cut."""
    best: tuple[int, str, tuple[str, ...]] | None = None
    for root in roots:
        family = family_of(model, root)
        fixed = rows.get(root)
        n_root = fixed if fixed is not None else planned_rows(model, root, scale)
        source_root = max(model.tables[root].n_rows, 1)
        expected = round(n_root * sum(model.tables[n].n_rows for n in family) / source_root)
        if best is None or expected > best[0]:
            best = (expected, root, family)
    if best is None or best[0] <= batch_rows:
        return None, ""
    expected, root, family = best
    why = _why_whole(model, root, family, rows, besides)
    if why:
        return None, why
    fixed = rows.get(root)
    n_root = fixed if fixed is not None else planned_rows(model, root, scale)
    per_batch = max(MIN_BATCH_ROOTS, math.floor(batch_rows * n_root / max(expected, 1)))
    if per_batch >= n_root:
        return None, ""
    shared = tuple(n for n in model.plan.order if n not in family and n not in besides)
    return Partition(root, family, shared, n_root, per_batch), ""


def _why_whole(
    model: Model, root: str, family: tuple[str, ...], rows: Mapping[str, int], besides: frozenset[str]
) -> str:
    """What keeps the family from being sampled in batches ('' when nothing does). ``besides``: a
    family sampled in batches after this one, whose keys into it are dealt from all its rows."""
    plan, schema = model.plan, model.schema
    members = set(family)
    for name in plan.order:
        if name in members or name in besides or plan[name].role == "empty":  # no rows point anywhere
            continue
        for fk in schema.table(name).foreign_keys:
            if fk.ref_table in members:
                return f"{name} points into {fk.ref_table}"
        tm = model.tables[name]
        for reach in tm.reaches:
            if {t for _, t, _ in reach.path} & members or reach.table in members:
                return f"{name}.{reach.column} is ordered through rows of {reach.table}"
        for ex in tm.existence:
            if ex.child in members:
                return f"{name}.{ex.column} says whether rows of {ex.child} exist"
    apart = _keyed_apart(model, family)
    for name in family:
        tm = model.tables[name]
        table = schema.table(name)
        for cols in table.keysets():
            outside = [
                fk for fk in table.foreign_keys if fk.ref_table not in members and set(fk.columns) & set(cols)
            ]
            if outside and not set(cols) & apart[name]:
                return f"{name} has one row per row of {outside[0].ref_table} at most (a UNIQUE key)"
        if name != root and name in rows:
            return f"--rows fixes {name}, a child table of {root}"
        if plan[name].deferred or tm.back_refs:
            return f"{name} is part of a cycle of foreign keys"
        if name != root and tm.null_context >= 1:
            return f"{name} has no rows under its parent {plan[name].context.ref_table}"  # type: ignore[union-attr]
    return ""


@dataclass
class Steady:
    """The parents a family table's foreign key draws from, when every batch shares them (a table
    sampled once, before the family): worked out in the first batch, dealt from in every batch."""

    wants: np.ndarray
    group: np.ndarray  # each parent's group (assign.assign_secondary)
    deck: kz.Deck
    levels: list[pd.Index]  # per matched column: its distinct values
    radix: list[int]
    lookup: pd.Index | None  # groups by their columns' level codes, group g at g

    @classmethod
    def of(cls, wants: np.ndarray, group: np.ndarray, firsts: list[np.ndarray], deck: kz.Deck) -> Steady:
        """Indexes of the groups' values (``firsts``: each group's, group g at g), so each batch
        looks its rows up instead of factorizing them together with every parent."""
        codes, levels = [], []
        for values in firsts:
            c, uniques = pd.factorize(values, use_na_sentinel=False)
            levels.append(pd.Index(uniques, dtype=object))
            codes.append(c.astype(np.int64))
        out = cls(wants, group, deck, levels, [len(ix) + 1 for ix in levels], None)
        if codes:
            out.lookup = pd.Index(out._combined(codes))
        return out

    def _combined(self, codes: list[np.ndarray]) -> np.ndarray:
        out = np.zeros(len(codes[0]), dtype=object if math.prod(self.radix) >= 2**62 else np.int64)
        for c, r in zip(codes, self.radix, strict=True):
            out = out * r + c
        return out

    def child_groups(self, own: list[np.ndarray], n: int) -> np.ndarray:
        """Each row's group by the values it must match (NULL matching NULL, as a factorized
        MultiIndex does), a group no parent holds past every parent's."""
        if self.lookup is None:
            return np.zeros(n, dtype=np.int64)
        codes = [ix.get_indexer(_nan_for_null(o)) for ix, o in zip(self.levels, own, strict=True)]
        known = np.logical_and.reduce([c >= 0 for c in codes])
        out = np.full(n, len(self.lookup), dtype=np.int64)  # past every group: no parent holds it
        if known.any():
            found = self.lookup.get_indexer(pd.Index(self._combined([c[known] for c in codes])))
            out[np.flatnonzero(known)[found >= 0]] = found[found >= 0]
        return out


def _nan_for_null(values: np.ndarray) -> pd.Index:
    """None as NaN, as factorizing made the parents' (an index tells them apart)."""
    out = np.array(values, dtype=object)
    out[pd.isna(out)] = np.nan
    return pd.Index(out, dtype=object)


@dataclass
class Batch:
    """What a batch needs of the batches before it: how many keys each table has counted, the
    values of UNIQUE columns that are drawn rather than counted, and the decks the family's keys
    into shared tables deal from.

    When no UNIQUE value of the family is drawn (every key counted, a uuid or a foreign key into
    such a key: ``apart``), a batch needs nothing of the others: the root's keys continue from
    the root rows before it (known in advance), every other table takes every ``batches``-th
    counted key from its batch number, and decks deal from the batch's share of the root rows.
    Batches can then be sampled in any order, on other processes, with the same rows."""

    model: Model
    family: tuple[str, ...]
    seed: int = 0
    used: dict[str, int] = field(default_factory=dict)
    kept: dict[str, dict[tuple[str, ...], set[tuple[Any, ...]]]] = field(default_factory=dict)
    steady: dict[tuple[str, str, int], Steady | None] = field(default_factory=dict)
    part: Partition | None = None
    number: int = 0  # the batch being sampled

    @property
    def apart(self) -> bool:
        """Whether batches need nothing of each other (see the class)."""
        return self.part is not None and not self.kept

    def __post_init__(self) -> None:
        for name, keysets in _drawn_keysets(self.model, self.family).items():
            self.kept[name] = {cols: set() for cols in keysets}

    def parents(
        self,
        name: str,
        fk: Any,
        build: Callable[[np.random.Generator], tuple[Any, ...]],
        some: int = 0,
    ) -> Steady | None:
        """The steady parents of ``name``'s key ``fk`` (``build`` works them out from a generator
        of their own; ``some``: matched on some of its columns only, a bit each), or None when a
        batch's own rows decide them: the parent is in the family, or a later key of the row is
        (assign._with_later_parents)."""
        key = (name, fk.name, some)
        if key not in self.steady:
            fks = secondary_order(self.model.tables[name], self.model.plan[name].secondary)
            at = [o.name for o in fks].index(fk.name) if fk in fks else -1
            members = set(self.family)
            if at < 0 or fk.ref_table in members or any(o.ref_table in members for o in fks[at + 1 :]):
                self.steady[key] = None
            else:  # three numbers or more: no table's generator (sample.table_rngs: one or two)
                spawn = (self.model.plan.order.index(name), at, *((1,) if not some else (2, some)))
                rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=spawn))
                self.steady[key] = Steady.of(*build(rng))
        return self.steady[key]

    def offset(self, name: str, n: int) -> tuple[int, int]:
        """The first counted key index of ``name``'s n rows in this batch, and the step between
        them (kz.key_indices): after the rows keyed in earlier batches, or, ``apart``, the root's
        planned rows before this batch and, for the other tables, the batch number."""
        if self.apart and self.part is not None:
            if name == self.part.root:
                return self.number * self.part.per_batch, 1
            return self.number, self.part.batches
        start = self.used.get(name, 0)
        self.used[name] = start + n
        return start, 1

    def share(self) -> tuple[int, float] | None:
        """For a deck (kz.Deck.deal), when ``apart``: the batch number and the share of the root's
        rows before it."""
        if not self.apart or self.part is None:
            return None
        return self.number, self.number * self.part.per_batch / max(self.part.root_rows, 1)

    def taken(self, name: str) -> dict[tuple[str, ...], set[tuple[Any, ...]]] | None:
        return self.kept.get(name)

    def clash(self, name: str, column: str, values: pd.Series) -> np.ndarray:
        """Which of a UNIQUE column's values an earlier batch wrote."""
        seen = self.kept.get(name, {}).get((column,))
        if not seen:
            return np.zeros(len(values), dtype=bool)
        comp = key_values(values, self.model.schema.table(name).column(column).type)
        return np.fromiter(((v,) in seen for v in comp), dtype=bool, count=len(values))

    def redraw(
        self,
        name: str,
        frame: pd.DataFrame,
        draw: Callable[[pd.DataFrame], pd.DataFrame],
        columns: set[str],
        rng: np.random.Generator,
    ) -> None:
        """Rows whose generated UNIQUE value an earlier batch wrote get new generated values
        (``draw`` fills a frame of them): dropping them would lose rows with every batch. When the
        space is nearly used up (CHAR(2) codes), the last clashes are numbered, as repeats within
        one batch are (generate.make_unique)."""
        table = self.model.schema.table(name)
        for cols in self.kept.get(name, {}):
            c = cols[0]
            if len(cols) != 1 or c not in columns or c not in frame:
                continue
            for _ in range(REDRAWS):
                hit = self.clash(name, c, frame[c]) & frame[c].notna().to_numpy()
                if not hit.any():
                    break
                again = draw(frame.loc[hit].reset_index(drop=True))
                for other in again.columns.intersection(sorted(columns)):
                    frame.loc[hit, other] = again[other].to_numpy()
            values = frame[c]
            if self.clash(name, c, values).any() or values.dropna().duplicated().any():
                spec = next((s for s in self.model.tables[name].columns if s.name == c), None)
                taken = _taken(self.kept[name][cols], spec.guard if spec is not None else None)
                length = table.column(c).type.length
                frame[c] = _key_strings_where_taken(
                    make_unique(frame[c].to_numpy(dtype=object), rng, length, taken), taken, length, rng
                )

    def keep(self, name: str, frame: pd.DataFrame) -> None:
        for cols, seen in self.kept.get(name, {}).items():
            if not all(c in frame for c in cols):
                continue
            sub = frame[list(cols)]
            known = ~sub.isna().any(axis=1).to_numpy()
            table = self.model.schema.table(name)
            values = pd.DataFrame({c: key_values(sub.loc[known, c], table.column(c).type) for c in cols})
            seen.update(values.itertuples(index=False, name=None))


def _key_strings_where_taken(
    values: np.ndarray, taken: Callable[[Any], bool], length: int | None, rng: np.random.Generator
) -> np.ndarray:
    """Values still taken, or repeated, where no number fitted (a CHAR(2) code): key strings drawn
    from the column's whole room instead (keys.key_strings), which every batch would otherwise
    start again from '00'."""
    out = np.asarray(values, dtype=object).copy()
    room = kz.string_room(length) or 36**12
    for _ in range(REDRAWS):
        known = pd.Series(out).notna().to_numpy()
        bad = pd.Series(out).duplicated(keep="first").to_numpy() & known
        bad |= np.fromiter(
            (bool(k) and taken(v) for v, k in zip(out, known, strict=True)), dtype=bool, count=len(out)
        )
        if not bad.any():
            break
        out[bad] = kz.key_strings(rng.integers(0, room, int(bad.sum())), length)
    return out


def _taken(seen: set[tuple[Any, ...]], guard: Any) -> Callable[[Any], bool]:
    """Whether a candidate value was written by an earlier batch, or is the source's own."""

    def taken(value: Any) -> bool:
        if (collate(str(value)),) in seen:  # as Batch.keep collated it
            return True
        return guard is not None and bool(guard.copies(np.array([value], dtype=object))[0])

    return taken


def _wide(table: Any, column: str) -> bool:
    """A counted key column with room for any number of rows: no batch runs out of it and wraps
    around onto an earlier batch's keys (a SMALLINT, a CHAR(4), a CHECK range would)."""
    col = table.column(column)
    if any(column in check.sql for check in table.checks):
        return False
    if col.type.name in {"string", "char", "text"}:
        return not col.type.length or col.type.length >= 12
    if col.type.name == "uuid":
        return True
    if col.type.name not in {"integer", "bigint", "smallint"}:
        return False
    lo, hi = kz.integer_bounds(col.type)
    return hi - lo >= 2**31 - 1


def _drawn_keysets(model: Model, family: tuple[str, ...]) -> dict[str, list[tuple[str, ...]]]:
    """Per family table with any, its UNIQUE keys whose values are drawn, so one batch's values
    must be looked for in the next: none, and the family's batches are apart."""
    apart = _keyed_apart(model, family)
    drawn = {n: [c for c in model.schema.table(n).keysets() if not set(c) & apart[n]] for n in family}
    return {n: keysets for n, keysets in drawn.items() if keysets}


def _keyed_apart(model: Model, family: tuple[str, ...]) -> dict[str, set[str]]:
    """Per family table, the columns whose values no two batches share: keys counted on from the
    batch before (model/assign.py primary_key with an offset), uuids, and foreign keys into a
    family table's key that is itself apart. A key holding one of them repeats across no batches."""
    plan, schema = model.plan, model.schema
    out: dict[str, set[str]] = {}
    apart_pk: dict[str, bool] = {}
    for name in family:
        table, tm = schema.table(name), model.tables[name]
        late = (*plan[name].self_refs, *plan[name].deferred)
        inherited = inherited_columns(table, late)
        numbered = {nb.column for nb in tm.numbering}
        modelled = {s.name for s in tm.columns if s.how != "key"}
        cols: set[str] = set()
        if tm.key.kind != "shape":
            cols |= {
                c
                for c in table.primary_key
                if c not in inherited and c not in numbered and c not in modelled and _wide(table, c)
            }
        for fk in table.foreign_keys:
            ref = fk.ref_table
            if (
                ref in apart_pk
                and apart_pk[ref]
                and set(fk.ref_columns) == set(schema.table(ref).primary_key)
            ):
                cols |= set(fk.columns)
        out[name] = cols
        apart_pk[name] = bool(set(table.primary_key) & cols)
    return out


# What a table's model says about other tables' rows: the columns these name are read from them.
RELATIONS = (
    "dependencies", "conditionals", "anchors", "orders", "number_orders", "day_repeats", "repeats",
    "aggregates", "numbering", "forests", "key_matches", "parts", "differences", "calendars", "reaches",
    "time_matches", "existence", "no_overlap", "back_refs", "family",
)  # fmt: skip


def _read_by_family(model: Model, family: tuple[str, ...], name: str) -> set[str]:
    """The columns of a shared table the family's rows may read: every key column (theirs point
    to it, its own lead on to other tables), and any column a family table's relations name.
    The others (TPC-H's comments, 8 million of them at SF 10) are let go once written."""
    table = model.schema.table(name)
    out = set(table.fk_columns()) | set(table.primary_key)
    out |= {c for cols in table.keysets() for c in cols}
    for other in model.schema.tables:
        out |= {r for fk in other.foreign_keys if fk.ref_table == name for r in fk.ref_columns}
    named: set[str] = set()
    for member in family:
        for attr in RELATIONS:
            _strings(getattr(model.tables[member], attr), named)
    return {c.name for c in table.columns if c.name in out or c.name in named}


def _strings(value: Any, out: set[str]) -> None:
    if isinstance(value, str):
        out.add(value)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _strings(k, out)
            _strings(v, out)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            _strings(v, out)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _strings(getattr(value, f.name), out)


def sample_batches(
    model: Model,
    *,
    scale: float = 1.0,
    rows: Mapping[str, int] | None = None,
    seed: int | None = None,
    batch_rows: int | None,
    progress: Progress | None = None,
    report: SampleReport | None = None,
    workers: int = 1,
    cluster: Any = None,
) -> Iterator[dict[str, pd.DataFrame]]:
    """Synthetic tables as batches ({table: rows}), every table's rows split over them; one batch,
    the whole database, when nothing is large enough to split (or cannot be: logged).

    ``workers``: the family's batches are sampled in that many processes at once where they need
    nothing of each other (``Batch.apart``), else in one process ahead of the caller: the same
    batches either way. ``cluster``: a Dask client that samples them instead (relsynth/cluster.py),
    where they need nothing of each other."""
    rows = dict(rows or {})
    check_rows(model, rows)
    seed = model.seed if seed is None else seed
    report = report if report is not None else SampleReport()
    part, why = partition(model, scale, rows, batch_rows)
    if part is None:
        if why:
            log.info("sampled in one piece, not in batches (--batch-rows): %s", why)
        yield sample_tables(model, scale=scale, rows=rows, seed=seed, progress=progress, report=report)
        return
    log.info(
        "sampling %s (with %s) in %d batches of %s root rows",
        part.root,
        ", ".join(part.family[1:]) or "no child tables",
        part.batches,
        f"{part.per_batch:,}",
    )
    report.unguarded = unguarded_tables(model)
    rngs = table_rngs(model, seed)
    split = split_shared(model, part, scale, rows, batch_rows or 0)
    alone = tuple(n for n in part.shared if split is None or n not in split.family)
    done: dict[str, Any] = {}
    for name in alone:
        sample_one(model, name, done, scale, rows.get(name), rngs[name], report)
    finish_all(model, alone, done, rngs, report)
    first = {}
    readers = part.family + (split.family if split is not None else ())
    reached = _reached_by(model, readers)
    for name in alone:  # typed for writing; the families read them as sampled, and only some
        read = sorted(_read_by_family(model, readers, name)) if name in reached else []
        kept = done[name].frame[read].copy()
        first[name] = finished(model, name, done, rngs, report)
        done[name] = _narrowed(model, readers, name, kept, done[name].z)
    total = part.batches + (split.batches if split is not None else 0)
    if split is not None:
        log.info(
            "sampling %s (with %s) in %d batches of %s root rows, twice: once for the keys %s reads",
            split.root,
            ", ".join(split.family[1:]) or "no child tables",
            split.batches,
            f"{split.per_batch:,}",
            part.root,
        )
        kept_rows = _kept_rows(model, split, part.family, done, scale, seed)
        at = dict.fromkeys(split.family, 0)
        for b, out in enumerate(_family_batches(model, split, done, scale, seed, report)):
            if progress:
                progress("sample", b, total)
            for name in split.family:  # the rows written are those the family's keys were dealt
                held = kept_rows[name].frame
                again = _compact(out[name].frame[list(held.columns)].copy())
                if not held.iloc[at[name] : at[name] + len(again)].reset_index(drop=True).equals(again):
                    raise AssertionError(f"{name}: batch {b} sampled again is not the batch kept")
                at[name] += len(again)
            typed = {**first, **{n: finished(model, n, out, out.rngs, report) for n in split.family}}
            out.clear()  # the batch as sampled: held until the next was built, beside its typed copy
            first = {}
            yield typed
            del typed
        done.update(kept_rows)

    def in_turn(k: int, every: int, into: SampleReport) -> Callable[[Progress | None], Batches]:
        """Batches k, k + every, ... of the family, typed (the first with the shared tables)."""

        def make(shown: Progress | None) -> Iterator[dict[str, Any]]:
            only = (lambda b: b % every == k) if every > 1 else None
            for here in _family_batches(model, part, done, scale, seed, into, only):
                if shown:
                    shown("sample", total - part.batches + here.number, total)
                typed = {n: finished(model, n, here, here.rngs, into) for n in part.family}
                here.clear()  # as above
                yield {**first, **typed} if here.number == 0 else typed
                del typed

        return make

    apart = not _drawn_keysets(model, part.family)
    several = cluster is not None or (workers > 1 and part.batches > 1)
    if several and not apart:
        log.info(
            "sampling %s's batches one after another%s: a UNIQUE value drawn (not counted) in one "
            "batch is looked for in the next",
            part.root,
            ", here, not on the cluster" if cluster is not None else ", ahead of the load",
        )
    if cluster is not None and apart:
        from relsynth.cluster import sampled_on

        log.info("sampling %s's %d batches on the Dask cluster", part.root, part.batches)
        for b, typed in enumerate(sampled_on(cluster, model, part, done, scale, seed, report)):
            if progress:
                progress("sample", total - part.batches + b, total)
            yield {**first, **typed} if b == 0 else typed
            del typed
    elif several and apart:
        from relsynth.ahead import sampled_in_turn

        n = min(workers, part.batches)
        log.info("sampling %s's batches in %d processes", part.root, n)
        mine = [SampleReport() for _ in range(n)]
        makes = [in_turn(k, n, mine[k]) for k in range(n)]
        yield from sampled_in_turn(makes, progress, mine, report.merge)
    elif several and cluster is None:
        from relsynth.ahead import sampled_ahead

        yield from sampled_ahead(in_turn(0, 1, report), progress, report)
    else:
        yield from in_turn(0, 1, report)(progress)
    if progress:
        progress("sample", total, total)


def family_batch(
    model: Model, part: Partition, done: dict[str, Any], scale: float, seed: int, number: int
) -> tuple[dict[str, pd.DataFrame], SampleReport]:
    """Batch ``number`` of an ``apart`` family alone, typed, and what sampling it bent: what a
    Dask worker computes (relsynth/cluster.py), the rows the serial run gives that batch."""
    report = SampleReport()
    for here in _family_batches(model, part, done, scale, seed, report, lambda b: b == number):
        return {n: finished(model, n, here, here.rngs, report) for n in part.family}, report
    raise ValueError(f"{part.root} has no batch {number}")


def _compact(frame: pd.DataFrame) -> pd.DataFrame:
    """Keys sampled as Python integers held as int64: 8 bytes a value, not 36 (partsupp's two at
    SF 10: 549 MB -> 128 MB). Read back, they are the same integers."""
    for c in frame.columns:
        if frame[c].dtype == object:
            typed = frame[c].infer_objects()
            if pd.api.types.is_integer_dtype(typed) and not pd.api.types.is_bool_dtype(typed):
                frame[c] = typed
    return frame


class _Here(dict[str, Any]):
    """A batch's tables as sampled (the shared ones too), its number and its generators."""

    number: int
    rngs: dict[str, np.random.Generator]


def _family_batches(
    model: Model,
    part: Partition,
    done: dict[str, Any],
    scale: float,
    seed: int,
    report: SampleReport,
    only: Callable[[int], bool] | None = None,
) -> Iterator[_Here]:
    """Each batch of ``part``'s family sampled, as sampled: from the batch's own generators, and a
    ``Batch`` carrying keys and decks over, so running it again gives the same rows. ``only``:
    the batch numbers wanted, when the batches are ``apart`` (the others are not sampled)."""
    batch = Batch(model, part.family, seed, part=part)
    left = part.root_rows
    for b in range(part.batches):
        n = min(part.per_batch, left)
        left -= n
        if only is not None and not only(b):
            continue
        batch.number = b
        here = _Here(done)
        here.number = b
        here.rngs = table_rngs(model, seed, b)
        for name in part.family:
            rng = here.rngs[name]
            sample_one(model, name, here, scale, n if name == part.root else None, rng, report, batch)
        finish_all(model, part.family, here, here.rngs, report)
        yield here


def _kept_rows(
    model: Model, split: Partition, family: tuple[str, ...], done: dict[str, Any], scale: float, seed: int
) -> dict[str, Any]:
    """Every batch of the shared family sampled once to keep what ``family`` reads of its rows
    (keys, the columns a relation names, the summaries that say how many rows point to each):
    a few columns of 10 million rows, where holding them whole took 8.6 GiB at TPC-H SF 10. The
    batches are sampled again to be written, row for row the same (_family_batches)."""
    parts: dict[str, list[Any]] = {n: [] for n in split.family}
    reached = _reached_by(model, family)
    read = {  # a table the family never reaches (partsupp: 8 million rows at SF 10), its rows only
        name: sorted(_read_by_family(model, family, name)) if name in reached else [] for name in split.family
    }
    for here in _family_batches(model, split, done, scale, seed, SampleReport()):
        for name in split.family:
            got = here[name]
            parts[name].append(_narrowed(model, family, name, _compact(got.frame[read[name]].copy()), got.z))
        here.clear()
    out = {}
    for name, got in parts.items():
        frame = pd.concat([s.frame for s in got], ignore_index=True) if got else pd.DataFrame()
        z = np.vstack([s.z for s in got]) if got else np.zeros((0, 0))
        out[name] = sampled(frame, z, got[0].dims if got else ())
        got.clear()
    return out


def _reached_by(model: Model, family: tuple[str, ...]) -> set[str]:
    """The tables the family's rows may read: those their foreign keys point to or their
    relations name, and on along those tables' own foreign keys."""
    named: set[str] = set()
    for member in family:
        for attr in RELATIONS:
            _strings(getattr(model.tables[member], attr), named)
    out = {n for n in model.plan.order if n in named or n in family}
    todo = list(out)
    while todo:
        for fk in model.schema.table(todo.pop()).foreign_keys:
            if fk.ref_table not in out:
                out.add(fk.ref_table)
                todo.append(fk.ref_table)
    return out


def _narrowed(model: Model, readers: tuple[str, ...], name: str, frame: pd.DataFrame, z: np.ndarray) -> Any:
    """A shared table's kept rows with only the latent dimensions ``readers`` decode: how many of
    their rows point to each (``{reader}.{fk}#refcount``) and, for a child, its count and spread
    (none in TPC-H: part's 10 dimensions down to 1, 153 MB -> 15 MB at SF 10)."""
    dims = model.tables[name].dims
    mine = tuple(f"{r}#" for r in readers if (c := model.plan[r].context) is not None and c.ref_table == name)
    read = tuple(f"{r}." for r in readers)
    keep = [
        i
        for i, d in enumerate(dims)
        if (d.name.startswith(read) and d.name.endswith("#refcount")) or d.name.startswith(mine)
    ]
    if z.shape[1] != len(dims):  # not the model's dimensions (a reference or empty table's none)
        return sampled(frame, z)
    return sampled(frame, np.ascontiguousarray(z[:, keep]), tuple(dims[i].name for i in keep))


def concat(batches: Iterator[dict[str, pd.DataFrame]], names: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """All batches as one frame per table (for files and tests; the writer streams them)."""
    parts: dict[str, list[pd.DataFrame]] = {n: [] for n in names}
    for got in batches:
        for name, frame in got.items():
            parts[name].append(frame)
    return {n: pd.concat(p, ignore_index=True) if len(p) > 1 else p[0] for n, p in parts.items() if p}
