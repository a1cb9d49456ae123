"""Keys: new primary keys, foreign keys assigned so parents keep their child-count distribution,
link tables without duplicate pairs, and self-references as forests with the source's depths.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from relsynth.schema import ForeignKey, SqlType, Table


def allocate(weights: np.ndarray, total: int, rng: np.random.Generator) -> np.ndarray:
    """Integers proportional to weights that sum exactly to total (largest remainders, random ties)."""
    weights = np.maximum(np.asarray(weights, dtype=float), 0)
    if total <= 0 or len(weights) == 0:
        return np.zeros(len(weights), dtype=np.int64)
    if weights.sum() <= 0:
        weights = np.ones(len(weights))
    exact = weights * (total / weights.sum())
    base = np.floor(exact).astype(np.int64)
    rest = total - int(base.sum())
    if rest > 0:
        frac = exact - base + rng.random(len(exact)) * 1e-9
        base[np.argsort(-frac, kind="stable")[:rest]] += 1
    return base


def slots(counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Parent positions repeated by their counts, shuffled: one slot per child row."""
    out = np.repeat(np.arange(len(counts)), counts)
    rng.shuffle(out)
    return out


def grouped_slots(
    child_group: np.ndarray, parent_group: np.ndarray, weights: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Assign each child to a parent of the same group, parents filled in proportion to weights.

    Groups are integer codes (-1: none). Within each group the counts are allocated by largest
    remainder, in one vectorized pass for all groups. Children of a group without parents get -1.
    """
    n_groups = int(max(child_group.max(initial=-1), parent_group.max(initial=-1))) + 1
    target = np.full(len(child_group), -1, dtype=np.int64)
    if n_groups == 0:
        return target
    has_child = child_group >= 0
    need = np.bincount(child_group[has_child], minlength=n_groups)
    valid = parent_group >= 0
    w = np.where(valid, np.maximum(np.asarray(weights, dtype=float), 1e-9), 0.0)
    pg = np.where(valid, parent_group, 0)
    total_w = np.bincount(pg, weights=w, minlength=n_groups)
    exact = np.where(valid, w * need[pg] / np.maximum(total_w[pg], 1e-300), 0.0)
    base = np.floor(exact).astype(np.int64)
    rest = need - np.bincount(pg, weights=base, minlength=n_groups).astype(np.int64)
    frac = np.where(valid, exact - base + rng.random(len(exact)) * 1e-9, -1.0)
    order = np.lexsort((-frac, pg))
    g_sorted = pg[order]
    starts = np.r_[0, np.flatnonzero(g_sorted[1:] != g_sorted[:-1]) + 1]
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    bump = valid[order] & (rank < rest[g_sorted])
    base[order[bump]] += 1
    slot_parent = np.repeat(np.arange(len(base)), base)
    slot_parent = slot_parent[np.lexsort((rng.random(len(slot_parent)), pg[slot_parent]))]
    servable = has_child & (total_w[np.maximum(child_group, 0)] > 0)
    rows = np.flatnonzero(servable)
    rows = rows[np.lexsort((rng.random(len(rows)), child_group[rows]))]
    target[rows] = slot_parent[: len(rows)]
    return target


def capped(
    target: np.ndarray,
    child_group: np.ndarray,
    parent_group: np.ndarray,
    cap: int,
    wants: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Children past a parent's ``cap`` moved to parents of the same group with room (those
    wanting the most first); -1 where none has room. A rental has one payment or none in the
    source, and the per-customer payments, drawn apart from the rentals' wants, piled onto a few
    rentals (up to 10 payments each) while 31% of rentals had none."""
    out = target.copy()
    has = np.flatnonzero(out >= 0)
    if cap < 1 or not len(has):
        return out
    count = np.bincount(out[has], minlength=len(parent_group))
    if count.max(initial=0) <= cap:
        return out
    # Which of a crowded parent's children move: all but ``cap`` of them, chosen at random.
    rows = has[np.lexsort((rng.random(len(has)), out[has]))]
    p = out[rows]
    firsts = np.r_[0, np.flatnonzero(p[1:] != p[:-1]) + 1]
    rank = np.arange(len(rows)) - np.repeat(firsts, np.diff(np.r_[firsts, len(rows)]))
    moving = rows[rank >= cap]
    groups = child_group[moving]
    room = np.where(parent_group >= 0, np.maximum(cap - count, 0), 0)
    slot = np.repeat(np.arange(len(room)), room)
    w = np.asarray(wants, dtype=float)[slot] if len(wants) == len(room) else np.zeros(len(slot))
    slot = slot[np.lexsort((rng.random(len(slot)), -w, parent_group[slot]))]
    sg = parent_group[slot]
    moving = moving[np.lexsort((rng.random(len(moving)), groups))]
    groups = child_group[moving]
    firsts_m = np.r_[0, np.flatnonzero(groups[1:] != groups[:-1]) + 1] if len(moving) else np.zeros(0, int)
    rank_m = np.arange(len(moving)) - np.repeat(firsts_m, np.diff(np.r_[firsts_m, len(moving)]))
    start = np.searchsorted(sg, groups, side="left")
    end = np.searchsorted(sg, groups, side="right")
    fits = (groups >= 0) & (rank_m < end - start)
    out[moving] = -1
    out[moving[fits]] = slot[start[fits] + rank_m[fits]]
    return out


GOLDEN = (5**0.5 - 1) / 2  # a stride of this share of a deck spreads consecutive draws over all of it


@dataclass
class Deck:
    """Parents' slots for children that come in many batches (model/batches.py): each parent holds
    about as many slots as it wants children, and each group's slots are dealt one per child in a
    fixed pseudo-random order that carries on from batch to batch. ``grouped_slots`` fills parents
    in proportion within one call: called once per batch, each batch gave its few children to the
    parents wanting the most (a third of TPC-H's partsupp rows got no lineitem at all, the rest one
    per batch). Dealing also costs each batch its own children only, not a pass over every parent.
    """

    order: np.ndarray  # parent rows, each group's together, shuffled within the group
    ends: np.ndarray  # cumulative slots along ``order``
    start: np.ndarray  # per group: its first slot
    size: np.ndarray  # per group: its slots
    stride: np.ndarray  # per group: coprime with its size, so a cycle deals every slot once
    offset: np.ndarray  # per group
    dealt: np.ndarray  # per group: children dealt so far
    batch: int = -1  # the batch ``dealt`` counts in, when batches are dealt apart (``deal``'s share)

    @classmethod
    def build(cls, parent_group: np.ndarray, weights: np.ndarray, rng: np.random.Generator) -> Deck:
        groups = int(parent_group.max(initial=-1)) + 1
        rows = np.flatnonzero(parent_group >= 0)
        rows = rows[rng.permutation(len(rows))]
        order = rows[np.argsort(parent_group[rows], kind="stable")]
        group = parent_group[order]
        w = np.maximum(np.nan_to_num(np.asarray(weights, dtype=float)[order]), 0.0)
        # Whole slots by rounding the running sum: each parent within one slot of its weight.
        ends = np.floor(np.cumsum(w) + rng.random()).astype(np.int64)
        counts = np.diff(np.r_[0, ends]) if len(ends) else np.zeros(0, dtype=np.int64)
        size = np.bincount(group, weights=counts, minlength=groups).astype(np.int64)
        empty = np.bincount(group, minlength=groups) > 0
        empty &= size == 0
        if empty.any():  # parents that all want (next to) none: one slot each, drawn alike
            counts = np.where(empty[group], 1, counts)
            size = np.bincount(group, weights=counts, minlength=groups).astype(np.int64)
        ends = np.cumsum(counts)
        start = np.r_[0, np.cumsum(size)[:-1]].astype(np.int64) if groups else np.zeros(0, dtype=np.int64)
        stride = np.maximum(np.floor(size * GOLDEN).astype(np.int64), 1)
        while True:
            bad = (size > 1) & (np.gcd(stride, np.maximum(size, 1)) != 1)
            if not bad.any():
                break
            stride[bad] += 1
        offset = np.floor(rng.random(groups) * size).astype(np.int64)
        return cls(order, ends, start, size, stride, offset, np.zeros(groups, dtype=np.int64))

    def deal(
        self, child_group: np.ndarray, rng: np.random.Generator, share: tuple[int, float] | None = None
    ) -> np.ndarray:
        """A parent row for each child of a group with slots; -1 for the others (group -1 too).

        ``share``: (batch number, its first root row as a share of all root rows) when batches do
        not wait for each other (model/batches.py): a batch deals each group's slots from where
        that share of them begins, not from where the batch before stopped, and the next batch
        number starts over. Consecutive batches then meet within a few slots of each other."""
        if share is not None and share[0] != self.batch:
            self.batch = share[0]
            self.dealt = np.floor(self.size * share[1]).astype(np.int64)
        target = np.full(len(child_group), -1, dtype=np.int64)
        groups = len(self.size)
        g = np.where((child_group >= 0) & (child_group < groups), child_group, -1)
        rows = np.flatnonzero(g >= 0)
        rows = rows[self.size[g[rows]] > 0]
        if not len(rows):
            return target
        rows = rows[np.lexsort((rng.random(len(rows)), g[rows]))]
        gr = g[rows]
        firsts = np.r_[0, np.flatnonzero(gr[1:] != gr[:-1]) + 1]
        rank = np.arange(len(rows)) - np.repeat(firsts, np.diff(np.r_[firsts, len(rows)]))
        k = self.dealt[gr] + rank
        slot = (self.stride[gr] * (k % self.size[gr]) + self.offset[gr]) % self.size[gr]
        target[rows] = self.order[np.searchsorted(self.ends, self.start[gr] + slot, side="right")]
        self.dealt += np.bincount(gr, minlength=groups)
        return target


def integer_keys(n: int, start: int) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.int64)


_INT64 = (-(2**63), 2**63 - 1)
NUMERIC_DIGITS = 1000  # the digits PostgreSQL's NUMERIC without a precision is taken to hold
_NAME_BITS = {"smallint": 16, "integer": 32, "bigint": 64}


def integer_bounds(t: SqlType) -> tuple[int, int]:
    """The integers a column of this type holds wherever it is recreated: INTEGER is 32 bits (64 on
    SQLite, but not once written to PostgreSQL or MariaDB), MySQL's TINYINT, MEDIUMINT and UNSIGNED
    narrow or shift it, YEAR is 1901..2155."""
    from relsynth.model.values import integer_range

    if t.name == "year":
        return 1901, 2155
    if t.name == "numeric" and not t.scale:  # NUMERIC(38,0): its digits, past any integer type's
        top = 10 ** (t.precision or NUMERIC_DIGITS) - 1
        return (0 if "UNSIGNED" in (t.native or "").upper() else -top), top
    lo, hi = integer_range(t)
    bits = _NAME_BITS.get(t.name, 64)
    if "UNSIGNED" in (t.native or "").upper():
        return max(lo, 0), min(hi, 2**bits - 1)
    return max(lo, -(2 ** (bits - 1))), min(hi, 2 ** (bits - 1) - 1)


def _id_width(shapes: Any) -> tuple[int, bool]:
    """Digits of the source's longest identifier, and whether any is negative."""
    if shapes is None or not shapes.templates:
        return 1, False
    plain = [t.replace("\\", "") for t in shapes.templates]
    return max(max(len(t.lstrip("-")) for t in plain), 1), any(t.startswith("-") for t in plain)


def _uniform(lo: int, hi: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """k integers drawn uniformly from lo..hi, exactly, whatever the span (up to 2^64 values):
    int64 when they fit it, else uint64 (a BIGINT UNSIGNED's upper half)."""
    offsets = rng.integers(0, hi - lo + 1, k, dtype=np.uint64)
    shifted = offsets + np.uint64(lo % 2**64)  # wraps modulo 2^64: exact two's complement
    return shifted if hi > _INT64[1] else shifted.view(np.int64)


def integer_ids(
    n: int, shapes: Any, rng: np.random.Generator, *, unique: bool, bounds: tuple[int, int] = _INT64
) -> np.ndarray:
    """Identifier-like integers with the source's number of digits (and sign); unique when the
    source's were, and always inside ``bounds`` (the column type's range, ``integer_bounds``).

    When more values are needed than those digits allow (a large --scale), the range widens a digit
    at a time, then to the whole type, instead of repeating. Only a type too narrow for n distinct
    values (a TINYINT of 300 rows) repeats: every value once, then repeats, which the key check
    drops as duplicates.
    """
    lo, hi = max(bounds[0], _INT64[0]), min(bounds[1], 2**64 - 1)  # NUMERIC(38,0): drawn as 64 bits
    hi = min(hi, lo + 2**64 - 1)
    width, negative = _id_width(shapes)
    for digits in range(width, 21):
        top = 10**digits - 1
        a, b = max(lo, -top if negative else 0), min(hi, top)
        if a <= b and (not unique or b - a + 1 >= 2 * n):
            break
    else:  # no width of digits has room enough: the whole type
        a, b = lo, hi
    room = b - a + 1
    if not unique:
        return _uniform(a, b, n, rng).astype(object)
    if room < 4 * n:  # a narrow type: drawn without replacement, repeating only past its room
        offsets = rng.permutation(room)[:n] if room > n else np.resize(rng.permutation(room), n)
        return np.array([a + int(k) for k in offsets], dtype=object)
    picked: np.ndarray = np.zeros(0, dtype=np.int64 if b <= _INT64[1] else np.uint64)
    while len(picked) < n:
        more = _uniform(a, b, 2 * (n - len(picked)) + 16, rng)
        picked = pd.unique(np.concatenate([picked, more]))
    return picked[:n].astype(object)


# Key strings use digits and capitals only: no two are equal under any collation (MariaDB's
# case- and accent-insensitive ones included), and none ends in a space CHAR(n) would pad away.
KEY_SYMBOLS = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"))


def string_room(length: int | None) -> int | None:
    """How many distinct key strings a column of this length holds (None: more than any table)."""
    if not length or length >= 12:
        return None
    return len(KEY_SYMBOLS) ** length


def key_strings(index: np.ndarray, length: int | None) -> np.ndarray:
    """The key string of each (non-negative) index, distinct for distinct indices below
    ``string_room(length)`` and never longer than ``length``: 'K00000001' for index 0 where the
    column holds it, else the index in base 36, as wide as the column."""
    idx = np.asarray(index, dtype=np.int64)
    if not length or (length >= 9 and int(idx.max(initial=0)) + 1 < 10 ** (length - 1)):
        return np.array([f"K{i + 1:08d}" for i in idx.tolist()], dtype=object)
    width = length if length < 12 else 12
    rest = idx % len(KEY_SYMBOLS) ** width
    digits = np.empty((len(idx), width), dtype="<U1")
    for pos in range(width - 1, -1, -1):
        digits[:, pos] = KEY_SYMBOLS[rest % len(KEY_SYMBOLS)]
        rest = rest // len(KEY_SYMBOLS)
    return np.array(["".join(row) for row in digits], dtype=object)


def counted_from(index: np.ndarray, start: int, lo: int, hi: int, skip: int | None = None) -> np.ndarray:
    """start, start + 1, ... for indices 0, 1, ..., wrapping from hi to lo: never outside the type,
    distinct for indices below its room (hi - lo + 1, one less with ``skip``). Python ints, exact
    past 2**63 (a NUMERIC(38,0) key).

    ``skip``: a value of lo..hi never given: 0 in a key MariaDB numbers itself, where an inserted 0
    asks for the next AUTO_INCREMENT value (past a TINYINT's 255 once 1..255 are taken)."""
    idx = np.asarray(index, dtype=object)
    if skip is None or not lo <= skip <= hi:
        room = hi - lo + 1
        return np.array([lo + (start - lo + int(i)) % room for i in idx], dtype=object)
    first = start - lo - int(start > skip)  # start's rank among the values given
    out = [lo + (first + int(i)) % (hi - lo) for i in idx]
    return np.array([v + 1 if v >= skip else v for v in out], dtype=object)


def key_indices(
    n: int, rooms: list[int | None], offset: int = 0, step: int = 1
) -> tuple[list[np.ndarray], int]:
    """For the columns of a key, each row's index into each column's values (values 0..room - 1),
    so that no two rows share all of them: a column with room for n values alone counts 0..n - 1
    (and, as the key's sequences always did, so do the others, up to their room); when none has
    the room, they count together, as digits of one number (mixed radix).

    Also returns how many rows, counting earlier batches', get a distinct tuple: all of them, or
    the product of the rooms when smaller (rows past it repeat a tuple and are dropped as
    duplicates: the caller says so).

    ``offset``: rows of the table already keyed in earlier batches: their indices come first, so
    batches sampled one after another never share a key. ``step``: batches that do not wait for
    each other take every step-th index from their own offset (model/batches.py), so none shares
    a key with another whatever their sizes.
    """
    i = np.arange(n, dtype=np.int64) * step + offset
    total = offset + (n - 1) * step + 1 if n else offset
    if any(r is None or r >= total for r in rooms):
        return [i if r is None or r >= total else i % r for r in rooms], total
    out, step = [], 1
    for r in rooms:
        assert r is not None
        out.append((i // step) % r if step < total else np.zeros(n, dtype=np.int64))
        step *= r
    return out, min(total, step)


def _folded(v: Any) -> Any:
    """A string as a case-insensitive, PAD SPACE collation compares it (MariaDB's default)."""
    return v.casefold().rstrip(" ") if isinstance(v, str) else v


def fit_keys(values: np.ndarray, length: int | None) -> np.ndarray:
    """Key strings (a shaped key's) kept within ``length`` and distinct, even where case and
    trailing spaces do not count: one too long or repeated is replaced by a key string
    (``key_strings``) no other row holds, while the column has room; past it the value repeats."""
    out = np.asarray(values, dtype=object).copy()
    too_long = [isinstance(v, str) and length is not None and len(v) > length for v in out]
    folded = pd.Series([None if cut else _folded(v) for v, cut in zip(out, too_long, strict=True)])
    repeated = (folded.duplicated(keep="first") & folded.notna()).to_numpy(dtype=bool)
    bad = np.flatnonzero(np.array(too_long, dtype=np.bool_) | repeated)
    if not len(bad):
        return out
    taken = set(folded.dropna())
    room = string_room(length)
    count = len(bad) + len(taken) if room is None else min(room, len(bad) + len(taken))
    free = [v for v in key_strings(np.arange(count), length) if _folded(v) not in taken]
    for k, row in enumerate(bad.tolist()):
        out[row] = free[k] if k < len(free) else (free[-1] if free else str(out[row])[:length])
    return out


def uuid_keys(n: int, rng: np.random.Generator) -> np.ndarray:
    raw = rng.bytes(16 * n)
    out = np.empty(n, dtype=object)
    out[:] = [str(uuid.UUID(bytes=raw[16 * i : 16 * i + 16], version=4)) for i in range(n)]
    return out


def unique_pairs(
    first: np.ndarray, second: np.ndarray, rng: np.random.Generator, tries: int = 400
) -> np.ndarray:
    """Swap ``second`` values between rows until no (first, second) pair repeats.

    Swaps keep every value's count, so both parents keep their child counts. For each repeated
    row, partners are drawn until one holds a value its group lacks and can take the repeated
    value in return: this works even when one group already holds most values (a playlist of
    nearly every track). Returns a mask of the rows still repeated (more children than partners).
    """
    n = len(first)
    dup = pd.DataFrame({"a": first, "b": second}).duplicated(keep="first").to_numpy()
    if not dup.any():
        return dup
    groups: dict[Any, set[Any]] = {}
    for a, b in zip(first.tolist(), second.tolist(), strict=True):
        groups.setdefault(a, set()).add(b)
    left = np.zeros(n, dtype=bool)
    draws = rng.integers(0, n, (int(dup.sum()), tries))
    for k, i in enumerate(np.flatnonzero(dup).tolist()):
        a_i, b_i = first[i], second[i]
        mine = groups[a_i]
        for j in draws[k].tolist():
            a_j, b_j = first[j], second[j]
            if a_j == a_i or b_j in mine or b_i in groups[a_j]:
                continue
            # Row j gives b_j to group a_i and takes b_i; row i's duplicate b_i stays in a_i once.
            mine.add(b_j)
            groups[a_j].discard(b_j)
            groups[a_j].add(b_i)
            second[i], second[j] = b_j, b_i
            break
        else:
            left[i] = True
    return left


def self_ref_shared(table: Table, fk: ForeignKey) -> tuple[str, ...]:
    """Columns of a self-reference that stay the row's own: those referring to themselves (the
    tenant_id of (tenant_id, manager_id) -> (tenant_id, user_id): a manager of the same tenant)
    and those the primary key or another FK sets, while a column is left for the parent."""
    same = {c for c, r in zip(fk.columns, fk.ref_columns, strict=True) if c == r}
    others = set(table.primary_key) | {c for f in table.foreign_keys if f.name != fk.name for c in f.columns}
    kept = [c for c in fk.columns if c in same or c in others]
    if len(kept) == len(fk.columns):
        kept = [c for c in fk.columns if c in same]
    return tuple(kept)


RARE_K = 5  # rows a self-reference's depth level needs to be stored as its own (model/rare.py)
MAX_LEVELS = 1000  # depth levels stored at most (deeper rows are left out of the profile)


def _depths(parent: np.ndarray) -> np.ndarray:
    """Each row's distance from its root (-1 inside a cycle), breadth first: linear in the rows,
    whatever the depth (OMOP's preceding visits run 200 deep; a cap of 63 made a third roots)."""
    n = len(parent)
    depth = np.full(n, -1, dtype=np.int64)
    by_parent = np.argsort(parent, kind="stable")
    sorted_parent = parent[by_parent]
    starts = np.searchsorted(sorted_parent, np.arange(n), side="left")
    ends = np.searchsorted(sorted_parent, np.arange(n), side="right")
    frontier = np.flatnonzero(parent < 0)
    d = 0
    while len(frontier):
        depth[frontier] = d
        sizes = ends[frontier] - starts[frontier]
        total = int(sizes.sum())
        if not total:
            break
        offsets = np.arange(total) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        frontier = by_parent[np.repeat(starts[frontier], sizes) + offsets]
        d += 1
    return depth


@dataclass
class Forest:
    """A self-reference learned as levels: the share of rows at each depth and children per node."""

    level_share: list[float] = field(default_factory=lambda: [1.0])
    degree: list[float] = field(default_factory=lambda: [1.0])  # distribution of children per non-leaf node
    self_loops: float = 0.0  # share of roots that point at themselves (NOT NULL self-references)
    within_group: bool = False  # parent always in the same context-parent group
    chain: bool = False  # within a group, each row points at the one before it
    group_size: float = 1.0  # rows per group of the columns the FK shares with the key (a tenant's users)
    order_by: str | None = None  # a time no row is before its parent's (a visit after the one it names)
    # Laws of model/selfrefs.py: [column, value] every referenced row holds (a mother's sex), the
    # least and widest time a row's parent is before it by order_by, self-references (by name)
    # never naming the same row, and those NULL on the same rows.
    target_values: list[list[Any]] = field(default_factory=list)
    min_gap: float | None = None
    max_gap: float | None = None
    distinct_from: list[str] = field(default_factory=list)
    null_with: list[str] = field(default_factory=list)

    @classmethod
    def fit(cls, keys: pd.Series, refs: pd.Series, groups: pd.Series | None) -> Forest:
        """keys: each row's own key; refs: the key it points to (NULL for roots)."""
        from relsynth.model.relations import key_rows  # as the collation joins ('User1', 'user1')

        ref_pos = key_rows(pd.Index(list(keys)), pd.Index(list(refs)))
        return cls._fit_positions(ref_pos, groups)

    @classmethod
    def fit_columns(
        cls, own: pd.DataFrame, refs: pd.DataFrame, groups: pd.Series | None, shared: list[str]
    ) -> Forest:
        """A composite self-reference: ``own`` the referenced columns, ``refs`` the FK's (renamed
        to the referenced ones), both comparable; ``shared`` the columns the row keeps its own of
        (tenant_id), whose groups' mean size is learned so the synthetic key has such groups."""
        from relsynth.model.relations import key_rows  # as the collation joins ('User1', 'user1')

        ref_pos = np.full(len(refs), -1, dtype=np.int64)
        if len(own) and len(refs):
            ref_pos = key_rows(
                pd.MultiIndex.from_arrays([own[c].to_numpy(dtype=object) for c in own.columns]),
                pd.MultiIndex.from_arrays([refs[c].to_numpy(dtype=object) for c in own.columns]),
            )
            ref_pos[refs[list(own.columns)].isna().any(axis=1).to_numpy()] = -1  # a NULL part: a root
        forest = cls._fit_positions(ref_pos, groups)
        if shared and len(own):
            n_groups = len(own[shared].drop_duplicates())
            forest.group_size = len(own) / max(n_groups, 1)
        return forest

    @classmethod
    def _fit_positions(cls, ref_pos: np.ndarray, groups: pd.Series | None) -> Forest:
        """From each row's parent position (-1: none; itself: a self-loop)."""
        own = np.arange(len(ref_pos))
        loops = ref_pos == own
        parent = np.where((ref_pos >= 0) & ~loops, ref_pos, -1)
        depth = _depths(parent)
        depth[depth < 0] = 0  # cycles inside the self-reference: treated as roots
        levels = np.bincount(depth) if len(depth) else np.ones(1, dtype=np.int64)
        # Levels fewer than RARE_K rows reach are the longest chains of a few people (one
        # patient's 120th visit): left out, not pooled (a pooled tail gave back, row for row,
        # how long the longest chain was), and never more than MAX_LEVELS of them stored.
        held = np.flatnonzero(levels >= RARE_K)
        top = min(max(int(held.max()) if len(held) else 0, min(1, len(levels) - 1)), MAX_LEVELS)
        linked_rows = float(levels[1:].sum())
        levels = levels[: top + 1].astype(float)
        if levels[1:].sum() > 0:  # the share of linked rows stays the source's (one chain per patient)
            levels[1:] *= linked_rows / levels[1:].sum()
        children = np.bincount(parent[parent >= 0], minlength=len(ref_pos))
        has = children[children > 0]
        degree = np.bincount(has) / max(len(has), 1) if len(has) else np.array([0.0, 1.0])
        within = False
        if groups is not None and (parent >= 0).any():
            g = groups.to_numpy()
            linked = parent >= 0
            within = bool((g[linked] == g[parent[linked]]).all())
        roots = max(int((parent < 0).sum()), 1)
        return cls(
            level_share=list(levels / levels.sum()),
            degree=list(degree),
            self_loops=float(loops.sum()) / roots,
            within_group=within,
        )

    def sample(
        self,
        n: int,
        rng: np.random.Generator,
        groups: np.ndarray | None = None,
        shared: np.ndarray | None = None,
        order: np.ndarray | None = None,
    ) -> np.ndarray:
        """Parent position of each row (-1: root; the row itself: a self-loop root).

        ``shared``: group codes a parent must share (the tenant of a (tenant_id, manager_id) FK).
        ``order``: each row's value of ``order_by`` (NaN unknown): within a group, a row links to
        the one before it in that order, so a visit names an earlier one.
        """
        parent = np.full(n, -1, dtype=np.int64)
        if n == 0:
            return parent
        if shared is not None:
            if self.within_group and groups is not None:
                both = pd.MultiIndex.from_arrays([groups, shared])
                return self._within(n, rng, pd.factorize(both)[0])
            return self._leveled_within(n, rng, shared)
        if self.within_group and groups is not None:
            return self._within(n, rng, groups, order)
        times = order
        counts = allocate(np.asarray(self.level_share), n, rng)
        counts[0] = max(counts[0], 1)
        order = rng.permutation(n)
        start = 0
        previous = np.zeros(0, dtype=np.int64)
        for level, size in enumerate(counts):
            size = int(min(size, n - start))
            rows = order[start : start + size]
            start += size
            if level > 0 and len(previous) and size:
                degree = np.asarray(self.degree)  # children per node that has any
                wants = rng.choice(len(degree), size=len(previous), p=degree / degree.sum())
                # As many parents of the level above (in their random order) as the children
                # need at the children each wants: spread over all of them, 900 reflex tests
                # under 2,100 orders wanting 1-3 each were a child each (a chain, no tree).
                enough = int(np.searchsorted(np.cumsum(wants), size)) + 1
                wants[enough:] = 0
                parent[rows] = previous[
                    slots(allocate(np.maximum(wants, 1e-9 * (wants > 0)), size, rng), rng)
                ]
            previous = rows
        roots = np.flatnonzero(parent < 0)
        loops = rng.random(len(roots)) < self.self_loops
        parent[roots[loops]] = roots[loops]
        if times is not None and self.order_by is not None:  # across groups: a reflex test after its order
            parent = earlier_parents(parent, times, rng)
        return parent

    def _within(
        self, n: int, rng: np.random.Generator, groups: np.ndarray, by: np.ndarray | None = None
    ) -> np.ndarray:
        """Inside each group: each non-first row links to an earlier row with the source's rate
        (earlier in ``by`` where given, unknown values last)."""
        parent = np.full(n, -1, dtype=np.int64)
        linked_share = 1.0 - (self.level_share[0] if self.level_share else 1.0)
        if by is not None:
            known = ~np.isnan(by)
            order = np.lexsort((rng.random(n), np.where(known, by, 0.0), ~known, groups))
        else:
            order = np.lexsort((rng.random(n), groups))
        g = groups[order]
        first = np.ones(n, dtype=bool)
        first[1:] = g[1:] != g[:-1]
        link = (~first) & (rng.random(n) < linked_share / max(1e-9, 1 - first.mean()))
        if len(self.degree) <= 2:  # no row has two children: chains (a patient's visits)
            previous = np.roll(order, 1)
            parent[order[link]] = previous[link]
            return parent
        # A tree (folders, each made after its parent): the source's depth profile and children
        # per node in each group, its levels taken in time order, so a row's parent is earlier.
        return self._leveled_within(n, rng, groups, by)

    def _leveled_within(
        self, n: int, rng: np.random.Generator, groups: np.ndarray, by: np.ndarray | None = None
    ) -> np.ndarray:
        """The source's depth profile and children per node, each group a forest of its own: a
        group's rows take levels in the source's shares (its first a root), and each row at a
        level a parent one level up in its group, parents weighted by a drawn number of children.
        ``by``: levels in this order (unknown last), so a row comes after the row it names."""
        if by is not None:
            known = ~np.isnan(by)
            order = np.lexsort((rng.random(n), np.where(known, by, 0.0), ~known, groups))
        else:
            order = np.lexsort((rng.random(n), groups))
        g = groups[order]
        rank = _run_rank(g)
        size = np.bincount(g)[g] if n else np.zeros(0, dtype=np.int64)
        bounds = np.cumsum(np.asarray(self.level_share, dtype=float))
        level = np.searchsorted(bounds, (rank + 0.5) / size, side="right")
        level = np.minimum(level, len(bounds) - 1)
        level[rank == 0] = 0
        # Levels run without gaps inside a group (a level too rare for a small group is skipped).
        step = np.r_[0, (np.diff(level) > 0).astype(np.int64)] if n else level
        step[rank == 0] = 0
        dense = np.cumsum(step)
        dense -= dense[np.flatnonzero(rank == 0)][np.cumsum(rank == 0) - 1]
        lv = np.empty(n, dtype=np.int64)
        lv[order] = dense
        top = int(lv.max(initial=0)) + 1
        codes = groups.astype(np.int64) * top + lv
        uniq, parent_group = np.unique(codes, return_inverse=True)
        wanted = np.searchsorted(uniq, codes - 1)
        found = (lv > 0) & (wanted < len(uniq)) & (uniq[np.minimum(wanted, len(uniq) - 1)] == codes - 1)
        child_group = np.where(found, wanted, -1)
        degree = np.asarray(self.degree, dtype=float)
        weights = rng.choice(len(degree), size=n, p=degree / degree.sum()) if degree.sum() > 0 else np.ones(n)
        parent = grouped_slots(child_group, parent_group, np.maximum(weights, 1e-9), rng)
        roots = np.flatnonzero(parent < 0)
        loops = rng.random(len(roots)) < self.self_loops
        parent[roots[loops]] = roots[loops]
        return parent

    def to_state(self) -> dict[str, Any]:
        return {
            "level_share": [float(x) for x in self.level_share],
            "degree": [float(x) for x in self.degree],
            "self_loops": self.self_loops,
            "within_group": self.within_group,
            "chain": self.chain,
            "group_size": self.group_size,
            "order_by": self.order_by,
            "target_values": [list(p) for p in self.target_values],
            "min_gap": self.min_gap,
            "max_gap": self.max_gap,
            "distinct_from": list(self.distinct_from),
            "null_with": list(self.null_with),
        }

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> Forest:
        return cls(**s)


MIN_ORDERED_LINKS = 20  # links to tell a time order from chance


def following(parent: np.ndarray, times: dict[str, np.ndarray]) -> str | None:
    """The first time column (in the table's order) that no row has before its parent's, over
    MIN_ORDERED_LINKS links or more, and not all ties: the order the chain follows."""
    linked = np.flatnonzero(parent >= 0)
    for name, t in times.items():
        own, up = t[linked], t[parent[linked]]
        both = ~np.isnan(own) & ~np.isnan(up)
        if both.sum() >= MIN_ORDERED_LINKS and (own[both] >= up[both]).all() and (own[both] > up[both]).any():
            return name
    return None


def _run_rank(sorted_codes: np.ndarray) -> np.ndarray:
    """Position of each element inside its run of equal codes (codes already sorted): 0, 1, ..."""
    n = len(sorted_codes)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(sorted_codes[1:] != sorted_codes[:-1]) + 1]
    return np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))


def _nth_free(
    groups: np.ndarray, used: np.ndarray, want_groups: np.ndarray, want_rank: np.ndarray
) -> np.ndarray:
    """The ``want_rank``-th (0-based) non-negative integer missing from each group's ``used`` set.

    With a group's used values sorted as u_0 < u_1 < ..., f_i = u_i - i values are free below u_i,
    so the j-th free value is j + #{i : f_i <= j}: one merged sort counts that for every query.
    """
    order = np.lexsort((used, groups))
    g_u, u = groups[order], used[order]
    free_below = u - _run_rank(g_u)
    g_all = np.concatenate([g_u, want_groups])
    key_all = np.concatenate([free_below, want_rank])
    is_used = np.r_[np.ones(len(u), dtype=np.int64), np.zeros(len(want_rank), dtype=np.int64)]
    merged = np.lexsort((1 - is_used, key_all, g_all))  # a used entry counts for a query of equal key
    g_m, used_m = g_all[merged], is_used[merged]
    before = np.cumsum(used_m) - used_m  # used entries before each merged entry, over all groups
    first = np.arange(len(g_m)) - _run_rank(g_m)  # each entry's group's first merged position
    counted = np.empty(len(g_m), dtype=np.int64)
    counted[merged] = before - before[first]
    return want_rank + counted[len(u) :]


def distinct_within(
    groups: np.ndarray,
    values: np.ndarray | None,
    lo: int,
    hi: int,
    allowed: np.ndarray | None,
    base: int,
) -> np.ndarray:
    """Integer values distinct inside each group and inside the domain (lo..hi, or ``allowed``).

    A key (parent, seq) needs seq unique per parent: each group keeps the first row of each
    allowed value and the other rows move to the group's free values, taken in order from
    ``base`` (wrapping to lo after hi), so a group of k rows fits whenever k <= the domain's
    size. ``values=None`` numbers every group from ``base``. Groups are non-negative codes.
    """
    n = len(groups)
    span = 2**62  # index arithmetic stays inside int64
    if allowed is None:
        lo = max(lo, base - span // 2) if hi - lo >= span else lo
        hi = min(hi, lo + span - 1)
        size = hi - lo + 1
    else:
        size = len(allowed)
    if n == 0 or size <= 0:
        return np.zeros(n, dtype=np.int64) if values is None else np.asarray(values, dtype=np.int64)
    if allowed is None:
        b = min(max(base, lo), hi) - lo

        def to_index(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            ok = (v >= lo) & (v <= hi)
            return np.where(ok, v - lo, 0), ok

        def to_value(i: np.ndarray) -> np.ndarray:
            return i + lo

    else:
        b = min(int(np.searchsorted(allowed, base)), size - 1)

        def to_index(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            at = np.minimum(np.searchsorted(allowed, v), size - 1)
            return at, allowed[at] == v

        def to_value(i: np.ndarray) -> np.ndarray:
            return allowed[i]

    if values is None:
        rotated = np.zeros(n, dtype=np.int64)
        move = np.ones(n, dtype=bool)
    else:
        known = pd.notna(values)
        v = np.where(known, pd.to_numeric(pd.Series(values), errors="coerce").fillna(lo).to_numpy(), lo)
        whole = v == np.round(v)
        idx, ok = to_index(np.round(v).astype(np.int64))
        ok &= known & whole
        rotated = (idx - b) % size
        inside = np.flatnonzero(ok)
        move = ~ok
        move[inside] = pd.DataFrame({"g": groups[inside], "r": rotated[inside]}).duplicated().to_numpy()
    stay = ~move
    moving = np.flatnonzero(move)
    order = moving[np.argsort(groups[moving], kind="stable")]
    g_sorted = groups[order]
    free = _nth_free(groups[stay], rotated[stay], g_sorted, _run_rank(g_sorted))
    rotated[order] = np.minimum(free, size - 1)  # only past the domain when a group outgrew it
    return to_value((rotated + b) % size).astype(np.int64)


def breadth_first(rows: np.ndarray, first: np.ndarray, linked: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Parents of ``rows`` (sorted by group, then time; ``first``: a group's first row, a root)
    as a tree filled breadth first: each ``linked`` row is a child of the earliest row of its
    group with room left (``counts``: children each row takes), so every row comes after the
    row it names and the tree keeps its degrees and its depth; where none has room, of the row
    just before it. Others are roots."""
    from collections import deque

    out = np.full(len(rows), -1, dtype=np.int64)
    room: deque[list[int]] = deque()
    for k in range(len(rows)):
        if first[k]:
            room.clear()
        elif linked[k]:
            while room and room[0][1] == 0:
                room.popleft()
            if room:
                out[k] = rows[room[0][0]]
                room[0][1] -= 1
            else:
                out[k] = rows[k - 1]
        if counts[k] > 0:
            room.append([k, int(counts[k])])
    return out


def earlier_parents(parent: np.ndarray, order: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each linked row given a parent no later than itself (``order``: each row's time, NaN
    unknown), where rows name rows of any group (a reflex test names another patient's order).

    The rows of each depth take their parents again from the same parents' places, one place per
    child each parent had, so the depth profile and the children per node stay: in time order,
    each row draws among the places whose parent is no later than it. A row left with no such
    place becomes a root. Rows of unknown time keep their parent; a parent of unknown time is
    no later than any row."""
    n = len(parent)
    out = parent.copy()
    linked = (parent >= 0) & (parent != np.arange(n))
    up = order[np.maximum(parent, 0)]
    if not (linked & (order < up)).any():  # NaN on either side compares False
        return out
    depth = _depths(np.where(linked, parent, -1))
    movable = linked & ~np.isnan(order)
    for d in np.unique(depth[movable]):
        kids = np.flatnonzero(movable & (depth == d))
        kids = kids[np.lexsort((kids, order[kids]))]
        places = parent[kids]
        when = np.nan_to_num(order[places], nan=-np.inf)
        places = places[np.lexsort((places, when))]
        when = np.sort(when)
        ready = np.searchsorted(when, order[kids], side="right")  # places open to each kid
        pool: list[int] = []
        opened = 0
        for kid, upto in zip(kids.tolist(), ready.tolist(), strict=True):
            pool.extend(places[opened:upto].tolist())
            opened = max(opened, upto)
            if not pool:
                out[kid] = -1
                continue
            at = int(rng.integers(len(pool)))
            pool[at], pool[-1] = pool[-1], pool[at]
            out[kid] = pool.pop()
    return out


def relink_in_order(parent: np.ndarray, groups: np.ndarray, order: np.ndarray) -> np.ndarray:
    """A chain that names an earlier row by ``order`` again, after the order's values moved.

    ``parent``: each row's referenced position (-1 a root, the row itself a self-loop); ``groups``:
    each row's context parent; ``order``: each row's time (NaN unknown). In every group where a
    row names one later than itself, the group's linked rows are linked again, each to the row just
    before it in the final order (unknown values last, ties in their current order), as
    ``Forest._within`` drew them: a linked row now first in its group becomes a root. Other groups
    are left as they are.
    """
    n = len(parent)
    out = parent.copy()
    linked = (parent >= 0) & (parent != np.arange(n))
    up = order[np.maximum(parent, 0)]
    bad = linked & (order < up)  # NaN on either side compares False: unknown is never wrong
    if not bad.any():
        return out
    fix = np.isin(groups, np.unique(groups[bad]))
    rows = np.flatnonzero(fix)
    by = order[rows]
    known = ~np.isnan(by)
    sorted_rows = rows[np.lexsort((rows, np.where(known, by, 0.0), ~known, groups[rows]))]
    g = groups[sorted_rows]
    first = np.ones(len(sorted_rows), dtype=bool)
    first[1:] = g[1:] != g[:-1]
    relink = linked[sorted_rows]
    children = np.bincount(parent[linked], minlength=n)
    if children.max(initial=0) > 1:  # a tree: filled again breadth first, each row its own degree
        out[sorted_rows] = np.where(
            relink, breadth_first(sorted_rows, first, relink, children[sorted_rows]), -1
        )
        out[sorted_rows[~relink]] = parent[sorted_rows[~relink]]
        return out
    previous = np.roll(sorted_rows, 1)
    out[sorted_rows[relink & first]] = -1
    out[sorted_rows[relink & ~first]] = previous[relink & ~first]
    return out


def rekeyed(table: Table, fk: ForeignKey) -> bool:
    """A copied (reference) table's key into a synthesized table, which names a synthetic row
    when sampled: not one in its own primary key or a UNIQUE (two rows could get one parent)."""
    own = set(table.primary_key).union(*(set(u.columns) for u in table.unique))
    return not set(fk.columns) & own
