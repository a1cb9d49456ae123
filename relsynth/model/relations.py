"""Exact relations the source always satisfies, found in the data and enforced after sampling.

A copula can only blur these, so they are learned separately:
- functional dependencies inside a table (test_name -> unit, city -> state);
- date orders (admitted <= discharged; a child's date after its parent's; nothing after death);
- orders between numbers (msrp >= buy_price; a line's price_each <= its product's msrp, through
  the context or any secondary foreign key);
- values a child repeats from a parent (invoice_line.unit_price = track.unit_price), including
  foreign keys that follow from another parent (visit_detail.person_id = its visit's person_id)
  or must match it (payment.customer_id = its rental's customer_id), with a handful of
  exceptions tolerated (exact.TOLERANCE: 5 in 16,000 rows);
- sums over children (invoice.total = sum(unit_price * quantity) of its lines);
- keys that number children within a parent (lineitem's linenumber 1..n per order).
Detection screens on a sample, then confirms on every row. More kinds (parts of a time,
differences, orders through any related row, flags saying children exist, intervals that never
overlap) are in exact.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from relsynth.model.exact import MIN_NAMED, allowed, ends_life, enough_values
from relsynth.model.exact import MIN_SUPPORT as MIN_ORDERED
from relsynth.model.values import beyond_float, distinct

SCREEN_ROWS = 50_000
MIN_ROWS = 10  # fewer rows than this prove nothing
ANCHOR_TIGHTNESS = 0.25  # anchor a date on a bound only if their typical gap is this small vs its spread


@dataclass(frozen=True)
class Dependency:
    """target is a function of determinant: target = mapping[determinant]."""

    determinant: str
    target: str


@dataclass(frozen=True)
class Order:
    """column >= base (op '>=') or column <= base (op '<='); base may be a parent's column."""

    column: str
    base: str
    op: str
    fk: str | None = None  # None: same table; else the FK (context) through which base is read


@dataclass(frozen=True)
class Repeat:
    """column equals parent_column of the row's parent through fk."""

    column: str
    fk: str
    parent_column: str


@dataclass(frozen=True)
class Aggregate:
    """A parent's column = sum over its children (through fk) of a, or a * b, or their count."""

    column: str
    child: str
    fk: str
    terms: tuple[str, ...]  # () = count, (a,) = sum(a), (a, b) = sum(a * b)


@dataclass(frozen=True)
class Numbering:
    """column numbers the rows within each parent: start, start + 1, ... (in the order of ``by``,
    when the source's numbers always follow that column: visit 2 is never before visit 1).

    ``within``: the rows are those sharing these columns' values instead, the rest of a composite
    primary key (i2b2's instance_num, 1 unless a fact repeats with every other key column equal):
    counted over the table, it ran 1..n and no fact was an instance 1."""

    column: str
    start: int
    by: str | None = None
    within: tuple[str, ...] = ()


def comparable(values: pd.Series) -> pd.Series:
    """One representation for equality tests across dtypes: numbers as float, times as seconds,
    everything else as text (UUID objects and their strings compare equal)."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype(object)
    if pd.api.types.is_integer_dtype(values) and beyond_float(values.dropna().to_numpy()):
        return _python_ints(values)  # snowflake-style ids: a float would merge neighbours
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.Series(
            values.to_numpy(dtype="datetime64[us]").astype(np.int64) / 1e6, index=values.index
        ).where(values.notna())
    known = values.notna()
    non_null = values[known]
    if non_null.empty:
        return values.astype(object)
    first = non_null.iloc[0]
    if isinstance(first, bool | np.bool_):
        return values.astype(object)
    if isinstance(first, int | np.integer):
        ints = _object_ints(non_null)
        if ints is None:
            return _python_ints(values)
        if len(ints):
            out_f = np.full(len(values), np.nan)
            out_f[known.to_numpy()] = ints
            return pd.Series(out_f, index=values.index)
    if hasattr(first, "as_tuple") or isinstance(first, int | float | np.number):  # Decimal or numbers
        return pd.to_numeric(values, errors="coerce").astype(float)
    out = pd.Series(np.full(len(values), None, dtype=object), index=values.index)
    text = pd.api.types.infer_dtype(non_null, skipna=False) == "string"  # already str: no copy each
    out[known] = non_null.to_numpy() if text else _spelled_once(non_null)
    return out


def key_rows(keys: pd.Index, probe: pd.Index) -> np.ndarray:
    """For each value of ``probe``, the position of its first equal in ``keys`` (-1 if none), as
    the database joins them: exactly first, then, for values left unmatched, as a collation
    compares text (trailing blanks, then case, then accents ignored: _FOLDS). MariaDB's default *_ci
    collations and PostgreSQL's citext take 'user1' for the key 'User1'; matched exactly only,
    3,000 such children were orphans and 1 came out. A case-sensitive database's FKs match
    exactly, so its joins are as before. ``keys`` and ``probe``: comparable values (a MultiIndex
    of them for a composite key)."""
    first = ~keys.duplicated()
    where = np.flatnonzero(first)
    found = np.asarray(keys[first].get_indexer(probe), dtype=np.int64)
    out = np.where(found >= 0, where[np.maximum(found, 0)], -1).astype(np.int64)
    levels = [probe.get_level_values(i) for i in range(probe.nlevels)]
    unmatched = out < 0
    for level in levels:
        unmatched &= np.asarray(level.notna())  # NULL matches nothing
    rows = np.flatnonzero(unmatched)
    if not len(rows) or not any(
        _text(level) and any(isinstance(v, str) for v in level[rows]) for level in levels
    ):  # only text has a collation
        return out
    # Folds from the strictest, each for the values the ones before left unmatched, each onto a
    # key only it names alone (two keys one fold makes equal are two keys to the database): a
    # binary collation that pads blanks ('kN  ' is 'kN', not 'KN'), SQLite's NOCASE (ASCII letters
    # only: 'éCOLE1' is 'école1', not 'ÉCOLE1'), MariaDB's *_ci and citext (case), and *_ci's
    # accents ('cafe1' is 'café1': 104 such children of 1,307 were lost, attack round 31).
    for fold in _FOLDS:
        folded = _collated_index(keys, fold)
        alone = ~folded.duplicated(keep=False)
        where = np.flatnonzero(alone)
        found = np.asarray(folded[alone].get_indexer(_collated_index(probe[rows], fold)), dtype=np.int64)
        out[rows] = np.where(found >= 0, where[np.maximum(found, 0)], -1)
        rows = rows[found < 0]
        if not len(rows):
            break
    return out


def _ascii_lower(value: str) -> str:
    return value.translate(_ASCII_LOWER)


def _unaccented(value: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", value.casefold()) if not unicodedata.combining(c))


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_FOLDS: tuple[Callable[[str], str], ...] = (
    lambda v: v.rstrip(" "),
    lambda v: _ascii_lower(v).rstrip(" "),
    lambda v: v.casefold().rstrip(" "),  # collate()
    lambda v: _unaccented(v).rstrip(" "),
)


def _collated_index(index: pd.Index, fold: Callable[[str], str]) -> pd.Index:
    """``index`` with its text folded as a collation compares it."""

    def folded(values: pd.Index) -> pd.Index:
        return values.map(lambda v: fold(v) if isinstance(v, str) else v) if _text(values) else values

    if isinstance(index, pd.MultiIndex):
        arrays = [index.get_level_values(i) for i in range(index.nlevels)]
        return pd.MultiIndex.from_arrays([folded(a) for a in arrays])
    return folded(index)


def _text(index: pd.Index) -> bool:
    """Whether ``index`` may hold text (objects or a string dtype)."""
    return index.dtype == object or pd.api.types.is_string_dtype(index.dtype)


def _spelled_once(values: pd.Series) -> np.ndarray:
    """str() of each value, each distinct value spelled once: dates from the driver repeat, and
    astype(str) of half a million of them took ten times their factorize."""
    try:
        codes, uniques = pd.factorize(values)
    except TypeError:  # unhashable (JSON documents)
        return values.astype(str).to_numpy()
    kinds = {type(u) for u in uniques}
    if len(kinds) > 1:  # 1, 1.0 and True are one hash key, not one text
        return values.astype(str).to_numpy()
    return np.asarray([str(u) for u in uniques], dtype=object)[codes]


def _python_ints(values: pd.Series) -> pd.Series:
    """Python integers and None, as objects: Series.map would make floats of them beside a NULL."""
    known = values.notna().to_numpy()
    out = pd.Series(np.full(len(values), None, dtype=object), index=values.index)
    out[known] = np.fromiter((int(v) for v in values[known]), dtype=object, count=int(known.sum()))
    return out


def _object_ints(non_null: pd.Series) -> np.ndarray | None:
    """Python integers (an object column, keys read from a driver) as int64, converted in one
    pass (millions of keys a batch); None if one is beyond float64's exact integers, an empty
    array if they are not all integers (bools, floats, Decimals mixed in)."""
    if pd.api.types.infer_dtype(non_null, skipna=False) == "integer":
        try:
            ints = non_null.to_numpy().astype(np.int64)
        except OverflowError:  # beyond int64, so beyond float64's exact integers
            return None
        return None if beyond_float(ints) else ints
    if not all(isinstance(v, int | np.integer) for v in non_null):
        return np.empty(0, dtype=np.int64)
    ints_o = non_null.map(int)
    return (
        None
        if beyond_float(np.asarray([min(ints_o), max(ints_o)], dtype=object))
        else np.empty(0, dtype=np.int64)
    )


def _codes(values: pd.Series) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(comparable(values), use_na_sentinel=False)
    return codes.astype(np.int64), len(uniques)


def functional_dependencies(
    frame: pd.DataFrame, determinants: list[str], targets: list[str], *, max_levels: int = 1000
) -> list[Dependency]:
    """For each target, the coarsest determinant that fixes it exactly (acyclic; None is a value)."""
    n = len(frame)
    if n < MIN_ROWS:
        return []
    screen = frame if n <= SCREEN_ROWS else frame.sample(SCREEN_ROWS, random_state=0)
    codes = {c: _codes(frame[c]) for c in dict.fromkeys([*determinants, *targets])}
    scodes = {c: _codes(screen[c]) for c in codes}
    found: dict[str, tuple[int, str]] = {}
    for t in targets:
        t_codes, t_levels = codes[t]
        if t_levels < 2:
            continue
        for d in determinants:
            if d == t:
                continue
            d_codes, d_levels = codes[d]
            if d_levels < 2 or d_levels > max_levels or d_levels > 0.5 * n or d_levels < t_levels:
                continue
            sd = scodes[d][0]
            st, stl = scodes[t]
            if len(distinct(sd * (stl + 1) + st)) != len(distinct(sd)):
                continue
            if len(distinct(d_codes * (t_levels + 1) + t_codes)) != d_levels:
                continue
            if t not in found or d_levels < found[t][0]:
                found[t] = (d_levels, d)
    # A bijection (code <-> label) yields both directions: the first kept wins, the loop is dropped.
    return _acyclic([Dependency(found[t][1], t) for t in targets if t in found])


def _acyclic(deps: list[Dependency]) -> list[Dependency]:
    """Keep dependencies in order, dropping any that would close a loop."""
    import networkx as nx

    g = nx.DiGraph()
    kept = []
    for dep in deps:
        g.add_edge(dep.determinant, dep.target)
        if not nx.is_directed_acyclic_graph(g):
            g.remove_edge(dep.determinant, dep.target)
            continue
        kept.append(dep)
    return kept


@dataclass(frozen=True)
class Conditional:
    """target is drawn from P(target | determinant), learned with smoothing toward its marginal."""

    determinant: str
    target: str
    strength: float  # uncertainty coefficient U(target | determinant), 0..1
    # Further columns drawn before it that, with ``determinant``, fix the target where it alone
    # does not: a medication fact's units follow (concept_cd, modifier_cd), its dose 'mg' and its
    # route none (i2b2); given the concept alone, doses came out as text and routes in mg.
    also: tuple[str, ...] = ()

    @property
    def givens(self) -> tuple[str, ...]:
        return (self.determinant, *self.also)


MIN_UNCERTAINTY = 0.5
# A pair is a determinant only where it explains a third or more of what the first column leaves
# of the target (i2b2's tval_char given the concept: U 0.75, with the modifier 0.87: a route 'PO'
# or 'IV', a dose none), and this much more of it, with PAIR_SUPPORT rows a pair on average.
PAIR_SHARE = 1 / 3
PAIR_GAIN = 0.05
PAIR_SUPPORT = 20
MIN_SUPPORT = 5  # rows per determinant level, on average
SMOOTHING = 2.0  # pseudo-rows of the target's marginal added to every determinant level's seen targets


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def conditionals(
    frame: pd.DataFrame,
    determinants: list[str],
    targets: list[str],
    *,
    max_levels: int = 1000,
    existing: list[Dependency] = (),  # type: ignore[assignment]
) -> list[Conditional]:
    """Strong (not exact) dependencies between categories: city -> postal code, city -> sales rep.

    Each target gets its strongest determinant with U(target | determinant) >= MIN_UNCERTAINTY,
    where the determinant has at most half as many levels as rows (a unique column would just
    copy rows). Kept acyclic, strongest first.
    """
    n = len(frame)
    if n < MIN_ROWS:
        return []
    codes = {c: _codes(frame[c]) for c in dict.fromkeys([*determinants, *targets])}
    found = []
    for t in targets:
        t_codes, t_levels = codes[t]
        if t_levels < 2 or t_levels > max_levels:
            continue
        h_t = _entropy(np.bincount(t_codes))
        if h_t <= 0:
            continue
        best: tuple[float, str] | None = None
        for d in determinants:
            d_codes, d_levels = codes[d]
            # Each determinant level needs support, or small tables look falsely dependent.
            if d == t or d_levels < 2 or d_levels > min(max_levels, n / MIN_SUPPORT):
                continue
            joint = np.bincount(d_codes * t_levels + t_codes, minlength=d_levels * t_levels).reshape(
                d_levels, t_levels
            )
            h_cond = sum(_entropy(row) * row.sum() / n for row in joint if row.sum())
            u = 1.0 - h_cond / h_t
            if u >= MIN_UNCERTAINTY and (best is None or u > best[0]):
                best = (u, d)
        if best is not None:
            single = Conditional(best[1], t, best[0])
            found.append((_paired(single, codes, determinants, h_t, n, max_levels), single))
    found.sort(key=lambda c: -c[0].strength)
    return _acyclic_conditionals(existing, found)


def _paired(
    cond: Conditional,
    codes: dict[str, tuple[np.ndarray, int]],
    determinants: list[str],
    h_t: float,
    n: int,
    max_levels: int,
) -> Conditional:
    """``cond`` with a second determinant where the pair explains much of what the first leaves
    open of the target (PAIR_SHARE, PAIR_GAIN, PAIR_SUPPORT)."""
    if cond.strength >= 1.0 - PAIR_GAIN:
        return cond
    t_codes, t_levels = codes[cond.target]
    d_codes, _ = codes[cond.determinant]
    best: tuple[float, str] | None = None
    for e in determinants:
        e_codes, e_levels = codes[e]
        if e in (cond.determinant, cond.target) or e_levels < 2:
            continue
        pair, levels = pd.factorize(d_codes * e_levels + e_codes)
        if len(levels) > min(max_levels, n / PAIR_SUPPORT):
            continue
        joint = np.bincount(pair * t_levels + t_codes, minlength=len(levels) * t_levels).reshape(
            len(levels), t_levels
        )
        u = 1.0 - sum(_entropy(row) * row.sum() / n for row in joint if row.sum()) / h_t
        gain = u - cond.strength
        if gain >= PAIR_GAIN and gain >= PAIR_SHARE * (1.0 - cond.strength) and (best is None or u > best[0]):
            best = (u, e)
    return cond if best is None else Conditional(cond.determinant, cond.target, best[0], (best[1],))


def _acyclic_conditionals(
    existing: list[Dependency], found: list[tuple[Conditional, Conditional]]
) -> list[Conditional]:
    """The conditionals, strongest first, that close no loop with the dependencies or each other
    (a pair's second column is drawn before the target too); one whose pair would, tried with its
    first column alone (``found``: each as (with its pair, alone))."""
    import networkx as nx

    g = nx.DiGraph()
    for dep in _acyclic(list(existing)):
        g.add_edge(dep.determinant, dep.target)
    kept = []
    for paired, single in found:
        for option in (paired, single) if paired.also else (single,):
            edges = [(d, option.target) for d in option.givens]
            g.add_edges_from(edges)
            if nx.is_directed_acyclic_graph(g):
                kept.append(option)
                break
            g.remove_edges_from(edges)
    return kept


def conditional_table(frame: pd.DataFrame, cond: Conditional) -> dict[str, Any]:
    """Observed (determinant, target) counts and the target's marginal, as JSON-ready lists (a
    pair's determinant value as a tuple of its columns' values)."""
    target = frame[cond.target].map(_plain)
    marginal = target.value_counts(dropna=False)
    if cond.also:
        codes, uniques = pd.factorize(given_values(frame, cond), use_na_sentinel=False)
        counts = pd.DataFrame({"g": codes, "t": target.to_numpy(dtype=object)}).groupby(
            ["g", "t"], dropna=False
        )
        sizes = counts.size()
        pairs = [
            [_json_given(uniques[g]), _plain(b), int(k)] for (g, b), k in zip(sizes.index, sizes, strict=True)
        ]
    else:
        counts = frame.groupby([frame[cond.determinant].map(_plain), target], dropna=False)
        sizes = counts.size()
        pairs = [[_plain(a), _plain(b), int(k)] for (a, b), k in zip(sizes.index, sizes, strict=True)]
    return {"pairs": pairs, "marginal": [[_plain(b), int(k)] for b, k in marginal.items()]}


def given_values(frame: pd.DataFrame | dict[str, Any], cond: Conditional) -> pd.Series:
    """Each row's determinant value: the column's, or a tuple of the pair's."""
    first = pd.Series(frame[cond.determinant]).map(_plain)
    if not cond.also:
        return first
    columns = [first.to_numpy(dtype=object)]
    columns += [pd.Series(frame[c]).map(_plain).to_numpy(dtype=object) for c in cond.also]
    return pd.Series(list(zip(*columns, strict=True)), index=first.index, dtype=object)


def _json_given(v: Any) -> Any:
    return tuple(_plain(x) for x in v) if isinstance(v, tuple) else _plain(v)


def dependency_mapping(frame: pd.DataFrame, dep: Dependency) -> list[list[Any]]:
    """[[determinant value, target value], ...] as seen in the source."""
    pairs = frame[[dep.determinant, dep.target]].drop_duplicates(subset=[dep.determinant])
    return [[_plain(a), _plain(b)] for a, b in pairs.itertuples(index=False)]


def _plain(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def orders(
    seconds: dict[str, np.ndarray],
    *,
    parent: dict[str, np.ndarray] | None = None,
    fk: str | None = None,
    twins: dict[str, str] | None = None,
) -> list[Order]:
    """Every pair (a, b) with a <= b on all rows where both are known but the tolerated few
    (exact.allowed: 0.1%, as every other relation), and a < b somewhere.

    ``seconds`` maps own datetime columns to float seconds (NaN for NULL); ``parent`` maps the
    context parent's datetime columns, aligned to the child's rows. ``twins`` maps a column derived
    as the date of another (admit_date of admit_ts) to that one: its orders are learned too, since
    the sampled twin is no better ordered than the time it is the date of (discharge_date >=
    admit_date holds where discharge_date >= admit_ts does not), but not those that follow from
    the derivation (admit_date <= admit_ts) or from an order between the twins' times.
    """
    twins = twins or {}
    found: list[Order] = []
    names = list(seconds)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if twins.get(a, a) == twins.get(b, b):
                continue
            x, y = seconds[a], seconds[b]
            both = ~np.isnan(x) & ~np.isnan(y)
            n = int(both.sum())
            if n < MIN_ROWS:
                continue
            xs, ys = x[both], y[both]
            above, below = int((xs > ys).sum()), int((xs < ys).sum())
            # The direction with the fewer exceptions, if few enough (nearly always equal: neither).
            if above <= allowed(n) and below > above:
                found.append(Order(b, a, ">="))
            elif below <= allowed(n) and above > below:
                found.append(Order(a, b, ">="))
    for col, x in seconds.items():
        for pcol, y in (parent or {}).items():
            both = ~np.isnan(x) & ~np.isnan(y)
            # The parent's time must vary too: every rental before the one last_update of a
            # 2-row staff table is a coincidence, not a law (that constant is drawn again).
            if both.sum() < MIN_ROWS or not enough_values(y[both], MIN_ROWS):
                # A death comes after the birth (of its parent, the person), however few the deaths.
                if ends_life(col) and both.sum() >= MIN_NAMED and np.all(x[both] >= y[both]):
                    found.append(Order(col, pcol, ">=", fk))
                continue
            # One row of 3,361 created before its tenant is a data error, no reason to drop the
            # order: 526 synthetic users then came before theirs (attack round 41).
            n = int(both.sum())
            early, late = int((x[both] < y[both]).sum()), int((x[both] > y[both]).sum())
            if early <= allowed(n) and early <= late:
                found.append(Order(col, pcol, ">=", fk))
            elif late <= allowed(n):
                found.append(Order(col, pcol, "<=", fk))
    return [o for o in found if not _implied(o, found, twins)]


MIN_EXPECTED = 10  # exceptions an order of numbers would show were its two sides independent


def number_orders(own: dict[str, np.ndarray], parents: dict[str, dict[str, np.ndarray]]) -> list[Order]:
    """Orders between numbers (msrp >= buy_price in a row; a line's price_each <= its product's msrp
    through any foreign key): ``own`` maps the table's free numeric columns to floats (NaN for NULL),
    ``parents`` each FK to its parent's numeric columns aligned to the rows. The column of an Order
    is the one moved to keep it. Beside the rules of dates (every row but exact.allowed, strict
    somewhere, exact.MIN_SUPPORT rows, enough values of each side), an order the two columns' ranges
    alone imply is none (an age below a salary): were the sides independent, at least
    MIN_EXPECTED rows (and 10 times the exceptions seen) would break it, so 20 rows ordered by
    chance are not taken for a law."""
    found: list[Order] = []
    names = list(own)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            op = _number_order(own[a], own[b])
            if op is not None:  # the larger one moves up to the other: a >= b or b >= a
                found.append(Order(a, b, ">=") if op == ">=" else Order(b, a, ">="))
    for fk, columns in parents.items():
        for c, x in own.items():
            for p, y in columns.items():
                op = _number_order(x, y)
                if op is not None:
                    found.append(Order(c, p, op, fk))
    return found


def _number_order(x: np.ndarray, y: np.ndarray) -> str | None:
    """'>=' if x >= y on all rows where both are known (but exact.allowed), '<=' if x <= y; None if
    neither, or if the order is no more than the two distributions' ranges."""
    both = ~np.isnan(x) & ~np.isnan(y)
    n = int(both.sum())
    if n < MIN_ORDERED:
        return None
    xs, ys = x[both], y[both]
    if not enough_values(xs, MIN_ROWS) or not enough_values(ys, MIN_ROWS):
        return None
    above, below = int((xs > ys).sum()), int((xs < ys).sum())
    if above <= allowed(n) and below > above:
        op, broken, seen = "<=", _pairs_above(xs, ys), above
    elif below <= allowed(n) and above > below:
        op, broken, seen = ">=", _pairs_above(ys, xs), below
    else:
        return None
    # The tolerated exceptions must be few beside those independence would make: 100 in 100,000
    # rows where it would make 120 is no law.
    return op if broken * n >= max(MIN_EXPECTED, 10 * seen) else None


def _pairs_above(xs: np.ndarray, ys: np.ndarray) -> float:
    """The share of pairs (x of one row, y of any row) with x > y: how often x <= y would break
    were x and y independent."""
    return float(np.searchsorted(np.sort(ys), xs, side="left").mean() / len(ys))


def _implied(o: Order, found: list[Order], twins: dict[str, str]) -> bool:
    """Does a same-table order between times imply this one on a twin? x >= y implies x >= date(y)
    and date(x) >= date(y), since date(t) <= t and date keeps the order; not date(x) >= y."""
    if o.fk is not None or not (o.column in twins or o.base in twins):
        return False
    if o.column in twins and o.base not in twins:
        return False
    column, base = twins.get(o.column, o.column), twins.get(o.base, o.base)
    return any(f.fk is None and f.column == column and f.base == base and f.op == o.op for f in found)


DAY = 86400.0


def _midnight(x: np.ndarray) -> bool:
    known = x[~np.isnan(x)]
    return bool(len(known)) and bool(np.all(np.mod(known, DAY) == 0))


def day_orders(
    seconds: dict[str, np.ndarray], parent: dict[str, np.ndarray], fk: str | None, found: list[Order]
) -> list[Order]:
    """A date column on or after the day of a parent's timestamp (an invoice issued on its order's
    date): 'issued >= order_date' fails as instants (midnight before 14:00), so orders() finds only
    'issued <= order_date', true of any earlier date. Anchors only: the date is then drawn as days
    from that day (clip_times compares instants, so these are no orders it clips by)."""
    out: list[Order] = []
    if fk is None:
        return out
    for col, x in seconds.items():
        if not _midnight(x):
            continue
        for pcol, y in parent.items():
            both = ~np.isnan(x) & ~np.isnan(y)
            if both.sum() < MIN_ROWS or _midnight(y) or not enough_values(y[both], MIN_ROWS):
                continue
            if any(o.column == col and o.base == pcol and o.op == ">=" for o in found):
                continue
            if np.all(x[both] >= np.floor(y[both] / DAY) * DAY):
                out.append(Order(col, pcol, ">=", fk))
    return out


def anchors(
    found: list[Order],
    seconds: dict[str, np.ndarray],
    parent: dict[str, np.ndarray],
    twins: dict[str, str] | None = None,
    days: list[Order] | None = None,
) -> dict[str, Order]:
    """For each column, the closest lower bound that is always known when the column is.

    The column is then modelled as its gap from that bound, so the order holds by construction.
    A bound derived as the date of a time (``twins``) is computed from that time when sampling.
    """
    twins = twins or {}
    best: dict[str, tuple[tuple[bool, float], Order]] = {}
    on_day = set(days or [])
    for o in [*found, *(days or [])]:
        if o.op != ">=":
            continue
        x = seconds[o.column]
        y = parent[o.base] if o.fk else seconds[o.base]
        if o in on_day:
            y = np.floor(y / DAY) * DAY  # from the day of the parent's time
        known = ~np.isnan(x)
        if not known.any() or np.isnan(y[known]).any():
            continue
        gap = float(np.median(x[known] - y[known]))
        # Only a tight bound is worth modelling the gap (discharge after admission: days, over
        # years of admissions); a loose one (admission after birth: decades) is just clipped.
        spread = float(np.subtract(*np.percentile(x[known], [90, 10])))
        if gap > ANCHOR_TIGHTNESS * max(spread, 1.0):
            continue
        # A bound at the same distance on every row (due = issued + 30 days) before a closer one
        # it is not (the order's time, 29.4 days before due): the gap from it is a constant, kept.
        diff = x[known] - y[known]
        rank = (bool(np.ptp(diff) > 0), gap)
        if o.column not in best or rank < best[o.column][0]:
            best[o.column] = (rank, o)
    chosen = {c: o for c, (_, o) in best.items()}
    # Same-table anchors must not form a loop (they cannot, with a strict somewhere, but be safe).
    for c in list(chosen):
        seen, cur = {c}, chosen[c]
        while cur.fk is None and twins.get(cur.base, cur.base) in chosen:
            base = twins.get(cur.base, cur.base)
            if base in seen:
                del chosen[c]
                break
            seen.add(base)
            cur = chosen[base]
    return chosen


def repeats(
    child: dict[str, np.ndarray],
    parent: dict[str, np.ndarray],
    fk: str,
    columns: list[str],
    *,
    tolerance: float = 0.0,
) -> list[Repeat]:
    """Child columns equal to a parent's column on every row where the child's is known, but for
    ``tolerance`` of them at most (5 exceptions in 16,000 rows are data errors, not a new law).

    Both sides are ``comparable`` arrays aligned row by row (the parent's value of each child
    row; None/NaN where the child has no parent, which no tolerance covers). A prefix screens
    pairs first. The values must vary: two columns that are both always 0 are no relation.
    """
    out = []
    for c in columns:
        x_all = child[c]
        known = ~pd.isna(x_all)
        n = int(known.sum())
        if n < MIN_ROWS:
            continue
        x = x_all[known]
        slack = int(tolerance * n)
        if len(pd.unique(x[:5000])) < 2 and len(pd.unique(x)) < 2:
            continue
        # A prefix holding more mismatches than the whole may have settles most pairs (exactly:
        # the prefix's mismatches are some of the whole's), at 4 x slack rows, not every row.
        head = min(len(x), max(64, 4 * (slack + 1)))
        for p, y_all in parent.items():
            y = y_all[known]
            if type(x[0]) is not type(y[0]) and not (isinstance(x[0], float) and isinstance(y[0], float)):
                continue
            if int((x[:head] != y[:head]).sum()) > slack:
                continue
            if int((x != y).sum()) <= slack and not pd.isna(y).any():
                out.append(Repeat(c, fk, p))
                break
    return out


def aggregates(
    parent: pd.DataFrame,
    parent_key: pd.Series,
    child: pd.DataFrame,
    child_key: pd.Series,
    child_name: str,
    fk: str,
    columns: list[str],
    child_columns: list[str],
    decimals: dict[str, int],
) -> list[Aggregate]:
    """Parent columns equal to sum(a), sum(a * b) or the count of its children, on every parent."""
    if len(parent) < MIN_ROWS or not columns:
        return []
    index = pd.Index(parent_key)
    pos = index.get_indexer(child_key)
    ok = pos >= 0
    numeric = {c: pd.to_numeric(child[c], errors="coerce").to_numpy(dtype=float) for c in child_columns}
    candidates: list[tuple[tuple[str, ...], np.ndarray]] = [((), np.ones(len(child)))]
    candidates += [((a,), v) for a, v in numeric.items()]
    names = list(numeric)
    for i, a in enumerate(names):
        for b in names[i:]:
            candidates.append(((a, b), numeric[a] * numeric[b]))
    out = []
    for col in columns:
        y = pd.to_numeric(parent[col], errors="coerce").to_numpy(dtype=float)
        if np.isnan(y).any() or np.all(y == 0):
            continue
        tol = 0.5 * 10.0 ** -decimals.get(col, 2) + 1e-9
        for terms, values in candidates:
            if np.isnan(values[ok]).any():
                continue
            sums = np.bincount(pos[ok], weights=values[ok], minlength=len(parent))
            if np.all(np.abs(sums - y) <= tol + 1e-9 * np.abs(y)):
                out.append(Aggregate(col, child_name, fk, terms))
                break
    return out


def numbering(frame: pd.DataFrame, group: list[str], column: str) -> Numbering | None:
    """Does column count 1..n (or 0..n-1) inside each group of rows?"""
    values = pd.to_numeric(frame[column], errors="coerce")
    if len(frame) < MIN_ROWS or values.isna().any() or not (values == values.round()).all():
        return None
    start = int(values.min())
    if start not in (0, 1):
        return None
    g = frame[group].copy()
    g["_v"] = values.to_numpy()
    stats = g.groupby(group, dropna=False)["_v"].agg(["min", "max", "count", "nunique"])
    if (
        (stats["min"] == start)
        & (stats["max"] == start + stats["count"] - 1)
        & (stats["nunique"] == stats["count"])
    ).all():
        return Numbering(column, start)
    return None


def numbering_order(
    frame: pd.DataFrame, group: list[str], column: str, candidates: dict[str, np.ndarray]
) -> str | None:
    """The candidate (times as seconds, numbers) that never decreases as ``column`` numbers the
    rows of a group, and increases often enough to be the reason for the numbering."""
    if not group or len(frame) < MIN_ROWS:
        return None
    g = pd.DataFrame(
        {"_g": pd.Series(_codes_of(frame[group])), "_n": pd.to_numeric(frame[column]).to_numpy()}
    )
    order = np.lexsort((g["_n"].to_numpy(), g["_g"].to_numpy()))
    gid = g["_g"].to_numpy()[order]
    same = gid[1:] == gid[:-1]
    if int(same.sum()) < MIN_ROWS:
        return None  # hardly any parent has two rows: nothing to order
    best, best_steps = None, 0
    for name, values in candidates.items():
        v = values[order]
        if np.isnan(v).any():
            continue
        step = np.diff(v)[same]
        steps = int((step > 0).sum())
        if (step < 0).any() or steps < max(MIN_ROWS, len(step) // 2) or steps <= best_steps:
            continue
        best, best_steps = name, steps
    return best


def _codes_of(frame: pd.DataFrame) -> np.ndarray:
    """One integer per distinct row of the group columns (NULL a value of its own), numbered in
    the order rows first occur, as factorizing each row's tuple does; column by column, and
    without a tuple per row (4 s of TPC-H SF 0.1's fit)."""
    filled = frame.astype(object).where(frame.notna(), "\0null")
    codes = np.zeros(len(filled), dtype=np.int64)
    for c in range(filled.shape[1]):
        found, uniques = pd.factorize(filled.iloc[:, c].to_numpy(dtype=object))
        codes = pd.factorize(codes * len(uniques) + found)[0]
    return codes
