"""A number whose shape a category sets: one marginal per level of that category; and a category
whose shares another category sets (a payer's medical specialties): its shares per level of it.

A lab value is a haemoglobin around 14, a glucose around 100 or a 0/1 flag depending on its test
code. One marginal for the whole column is a mixture of them, and a copula, which only moves a
value up or down its marginal, draws haemoglobins of 97 and flags of 36. Where a category of the
same row explains much of a number's variance (the correlation ratio), the number gets an encoder
per common level of that category, fitted under the same privacy rules as the column's own (a
knot per k people, extremes pulled in), and its copula score is its rank within the level; the
sampled level picks the encoder that turns the score back into a value.

The same holds between two categories. The copula orders a category's levels along one axis, so
of a joint table of 18 payers by 70 specialties it keeps one trend and draws the rest as if
independent (on diabetes130 the synthetic (payer, specialty) pairs were as far from the real ones,
0.16 in total variation, as an independent draw's). A category that another explains in part
(Theil's uncertainty coefficient U >= MIN_UNCERTAINTY, and more than chance would) gets its level
shares per level of that one: only pairs held by k people each are shares of their own, in
levels of MIN_LEVEL_PEOPLE people.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from relsynth.jsontags import jsonable, unjson
from relsynth.model.rare import (  # _key: NULL and NaN as one key, as rare levels are counted
    _key,
    _keys_and_nones,
    keys_of,
    person_cap,
    persons,
)
from relsynth.model.values import distinct
from relsynth.transform import Encoder, encoder_from_state

MIN_ETA = 0.05  # share of a number's score variance its category must explain (and CHANCE)
# ... or this much, among MANY_ROWS rows or more. Per level of a few hundred rows a number's
# marginal is coarse: Northwind's quantity per discount (2,155 rows, 150 a level) drew 10% of its
# values off the source's where 4% before, and was told apart more often (0.563 -> 0.595);
# diabetes130's weak trends among 100,000 visits cost it 0.008 of its detection accuracy.
MIN_ETA_MANY = 0.01
MANY_ROWS = 20_000
MIN_LEVEL_ROWS = 30  # rows of a level to learn its own marginal
MIN_LEVEL_PEOPLE = 20  # and people holding them (four times the default rare-k)
# ... or a third of the people, twice the default rare-k at least, where there are fewer than 60
# of them: among OMOP's 28 persons the sodium, potassium and chloride tests (229 rows of 10
# persons each) missed the 20 and took the pooled marginal of every such test, sodium 122 +- 53
# against the source's 140 +- 2.4. Each level's marginal keeps the column's privacy rules.
MIN_FEW_PEOPLE = 10
MAX_GIVEN_LEVELS = 200  # a category of more levels is no shape-setter here
MIN_UNCERTAINTY = 0.005  # share of a category's entropy another must explain to set its shares
# ... and more than chance would: an independent column explains this share or more this seldom
# (a G-test). 0.03 alone kept diabetes130's race from setting its 100,000 visits' age bands
# (U = 0.009); 0.005 alone takes chance for a trend among a few hundred rows.
CHANCE = 1e-3


Given = pd.Series | np.ndarray | pd.DataFrame


def _level_codes(columns: list[Any], index: dict[Any, int], tuples: bool) -> np.ndarray | None:
    """index.get(key, -1) of each row, key the row's _key of each column (a tuple of them with
    ``tuples``), each distinct key looked up once: pd.factorize merges values as the dict does
    (1, 1.0 and True), and a row where it finds a NULL other than None and NaN (both the key
    None) is looked up on its own (NaT and NA are keys of their own, not one with None). None
    where values cannot be hashed (a row at a time, then)."""
    objects = [np.asarray(c, dtype=object) for c in columns]
    n = len(objects[0])
    group = np.zeros(n, dtype=np.int64)
    odd = np.zeros(n, dtype=bool)  # a NULL other than None or NaN (NaT, NA): looked up on its own
    for values in objects:
        try:
            found, uniques = pd.factorize(values, use_na_sentinel=True)
        except TypeError:  # unhashable values (lists)
            return None
        if any(isinstance(u, tuple) for u in uniques):  # holding NaN: equal for pandas, not a dict
            return None
        null = np.flatnonzero(found < 0)
        if len(null):
            odd[null] |= ~_keys_and_nones(values[null])[1]
        group = pd.factorize(group * (len(uniques) + 1) + (found + 1))[0]
    # The NULLs of a group that are all None or NaN make one key with the group's other rows.
    group = pd.factorize(group * 2 + odd)[0]

    def code(i: Any) -> int:
        keys = tuple(_key(values[i]) for values in objects)
        return index.get(keys if tuples else keys[0], -1)

    # factorize numbers groups in the order they first occur: each first row raises the maximum
    seen = np.maximum.accumulate(group)
    first = np.flatnonzero(np.concatenate([[True], seen[1:] > seen[:-1]]))
    codes = np.fromiter(map(code, first), dtype=np.int64, count=len(first))[group]
    for i in np.flatnonzero(odd):
        codes[i] = code(int(i))
    return codes


def rows_per_code(codes: np.ndarray, k: int) -> list[np.ndarray]:
    """``np.flatnonzero(codes == i)`` for each i in range(k): with many levels from one stable
    sort, not a pass over every row per level (diabetes130's levels: a few percent of sampling)."""
    if k < 8:
        return [np.flatnonzero(codes == i) for i in range(k)]
    order = np.argsort(codes, kind="stable")  # each code's rows stay in their order
    bounds = np.searchsorted(codes[order], np.arange(k + 1), side="left")
    return [order[bounds[i] : bounds[i + 1]].copy() for i in range(k)]


@dataclass
class ByLevel(Encoder):
    """Per level of ``given`` (a column of the same row) an encoder; others use ``pooled``.

    With ``also`` (more columns of the row), a level is a tuple (given, *also) and ``given``
    arguments are frames of those columns; a tuple without shares of its own takes those of its
    ``fallback`` (a ByLevel of one column fewer), and so on down to the pooled ones."""

    kind: str = "by_level"
    given: str = ""
    levels: list[Any] = field(default_factory=list)
    encoders: list[Encoder] = field(default_factory=list)
    pooled: Encoder | None = None
    also: tuple[str, ...] = ()
    fallback: ByLevel | None = None

    @property
    def givens(self) -> tuple[str, ...]:
        return (self.given, *self.also)

    def _groups(self, given: Given) -> list[tuple[np.ndarray, Encoder]]:
        """Row positions per encoder, the pooled one last (rows of no level of their own)."""
        index = {v if self.also else _key(v): i for i, v in enumerate(self.levels)}
        keyed: Any
        if self.also:
            assert isinstance(given, pd.DataFrame)
            codes = _level_codes([given[g] for g in self.givens], index, True) if len(given) else None
            keyed = zip(*(map(_key, given[g]) for g in self.givens), strict=True)
        else:
            codes = _level_codes([given], index, False) if len(given) else None
            keyed = map(_key, given)
        if codes is None:
            codes = np.fromiter((index.get(v, -1) for v in keyed), dtype=np.int64, count=len(given))
        out = list(zip(rows_per_code(codes, len(self.encoders)), self.encoders, strict=True))
        rest = np.flatnonzero(codes < 0)
        if self.fallback is not None and len(rest):
            assert isinstance(given, pd.DataFrame)
            fewer, left = self.fallback, given.iloc[rest]
            sub = fewer._groups(left[list(fewer.givens)] if fewer.also else left[fewer.given])
            return [*out, *((rest[rows], enc) for rows, enc in sub)]
        assert self.pooled is not None
        return [*out, (rest, self.pooled)]

    def group_codes(self, given: pd.DataFrame) -> np.ndarray:
        """Each row's encoder as a code, as _groups finds it (where a finer level is learned)."""
        out = np.zeros(len(given), dtype=np.int64)
        for code, (rows, _) in enumerate(self._groups(given if self.also else given[self.given])):
            out[rows] = code
        return out

    def normal_given(self, values: pd.Series, given: Given, rng: np.random.Generator) -> np.ndarray:
        out = np.zeros(len(values))
        for rows, enc in self._groups(given):
            if len(rows):
                out[rows] = enc.normal(values.iloc[rows], rng)
        return out

    def scores_given(self, values: pd.Series, given: Given) -> np.ndarray:
        out = np.zeros(len(values))
        for rows, enc in self._groups(given):
            if len(rows):
                out[rows] = enc.scores(values.iloc[rows])
        return out

    def decode_given(self, z: np.ndarray, given: Given, rng: np.random.Generator | None = None) -> np.ndarray:
        out = np.empty(len(z), dtype=object)
        for rows, enc in self._groups(given):
            if len(rows):
                out[rows] = list(enc.decode(z[rows], rng))
        return out

    def decode(self, z: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Without the category (a caller that does not know it): the pooled marginal."""
        assert self.pooled is not None
        return self.pooled.decode(z, rng)

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        assert self.pooled is not None
        arrays: dict[str, np.ndarray] = {}
        states = []
        for i, enc in enumerate([self.pooled, *self.encoders]):
            state, arrs = enc.to_state()
            states.append(state)
            arrays.update({f"{i}.{k}": v for k, v in arrs.items()})
        state = {
            "kind": self.kind,
            "given": self.given,
            "levels": [jsonable(v) for v in self.levels],
            "encoders": states,
        }
        if self.also:  # one column as the text it was before triples (model files stay readable)
            state["also"] = self.also[0] if len(self.also) == 1 else list(self.also)
            if self.fallback is not None:
                fallback, arrs = self.fallback.to_state()
                state["fallback"] = fallback
                arrays.update({f"f.{k}": v for k, v in arrs.items()})
        return state, arrays

    @classmethod
    def from_state(cls, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> ByLevel:
        encs = []
        for i, sub in enumerate(state["encoders"]):
            prefix = f"{i}."
            encs.append(
                encoder_from_state(
                    sub, {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
                )
            )
        fallback = None
        if state.get("fallback"):
            fallback = cls.from_state(
                state["fallback"], {k[2:]: v for k, v in arrays.items() if k.startswith("f.")}
            )
        return cls(
            given=state["given"],
            levels=[unjson(v) for v in state["levels"]],
            encoders=encs[1:],
            pooled=encs[0],
            also=_names(state.get("also")),
            fallback=fallback,
        )


def _names(also: str | list[str] | None) -> tuple[str, ...]:
    if not also:
        return ()
    return (also,) if isinstance(also, str) else tuple(also)


def strongest(
    scores: np.ndarray,
    known: np.ndarray,
    candidates: list[tuple[str, np.ndarray, np.ndarray]],
    people: np.ndarray | None,
) -> str | None:
    """The category (name, codes of the copula and codes of its own values per row, -1 for
    NULL: level_codes) explaining most of a number's score variance, if any explains at least
    MIN_ETA of it (MIN_ETA_MANY among MANY_ROWS rows). Counted as the model would draw it: its
    levels of MIN_LEVEL_ROWS rows and MIN_LEVEL_PEOPLE people (two at least), the rest one group;
    adjusted for the number of groups (epsilon squared), since 96 levels of 20 rows each explain
    5% of anything by chance, and a finer column holding a coarser one seemed to explain more;
    and more than chance would (_explains)."""
    s = scores[known]
    who = None if people is None else people[known]
    best: tuple[float, str] | None = None
    for name, codes, own in candidates:
        c = codes[known]
        if not len(c) or c.max() + 1 > MAX_GIVEN_LEVELS:
            continue
        groups = held_groups(own[known], who)  # 0: the rows of no level of their own
        if groups.max(initial=0) < 2:  # one level of its own says little of the rest
            continue
        epsilon = _epsilon(s, groups)
        if (
            epsilon >= (MIN_ETA_MANY if len(s) >= MANY_ROWS else MIN_ETA)
            and (best is None or epsilon > best[0])
            and _explains(s, np.zeros_like(groups), groups)
        ):
            best = (epsilon, name)
    return best[1] if best else None


def level_codes(values: pd.Series) -> np.ndarray:
    """A code per row for its value (-1: NULL or NaN), the levels _levels_held counts."""
    return np.asarray(pd.factorize(values.astype(object), use_na_sentinel=True)[0], dtype=np.int64)


def held_groups(codes: np.ndarray, people: np.ndarray | None) -> np.ndarray:
    """Per row, its level's number (1, 2, ...) where the level has MIN_LEVEL_ROWS rows held by
    MIN_LEVEL_PEOPLE people, as _levels_held keeps them; 0 for the other rows and NULL (-1).
    Counted on integer codes: in Python per level it was a third of fitting diabetes130."""
    out = np.zeros(len(codes), dtype=np.int64)
    ok = codes >= 0
    if not ok.any():
        return out
    c = codes[ok]
    rows = np.bincount(c)
    if people is None:
        held = rows
    else:
        who = pd.factorize(persons(people)[ok])[0].astype(np.int64)
        pairs = distinct(c * (int(who.max()) + 1) + who)
        held = np.bincount(pairs // (int(who.max()) + 1), minlength=len(rows))
    enough = (rows >= MIN_LEVEL_ROWS) & (held >= level_people(people))
    out[ok] = (np.cumsum(enough) * enough)[c]
    return out


def level_people(people: np.ndarray | None) -> int:
    """The people a level needs for a marginal or shares of its own: MIN_LEVEL_PEOPLE, or a third
    of all (MIN_FEW_PEOPLE at least) where they are few; rows count where there are no people."""
    if people is None:
        return MIN_LEVEL_PEOPLE
    total = len(np.unique(persons(people)))
    return min(MIN_LEVEL_PEOPLE, max(MIN_FEW_PEOPLE, -(-total // 3)))


def _epsilon(s: np.ndarray, groups: np.ndarray) -> float:
    """The share of the scores' variance the groups (codes >= 0) explain, adjusted for their
    number (epsilon squared); 0 when there is nothing to explain or too few rows."""
    total = float(((s - s.mean()) ** 2).sum()) if len(s) else 0.0
    n = np.bincount(groups).astype(float)
    k = int((n > 0).sum())
    if total <= 0 or len(s) <= k:
        return 0.0
    sums = np.bincount(groups, weights=s)
    between = float((sums[n > 0] ** 2 / n[n > 0]).sum() - s.sum() ** 2 / len(s))
    return 1.0 - ((total - between) / (len(s) - k)) / (total / (len(s) - 1))


def pair_eta_gain(
    scores: np.ndarray, groups: np.ndarray, second: np.ndarray, people: np.ndarray | None
) -> float:
    """How much more of a number's score variance (epsilon squared) the pairs of its current
    groups (codes, as ByLevel.group_codes) and a second category's levels (level_codes; NULL a
    level of its own here, as in a tuple) explain, counted as the model would draw them: a pair
    of too few rows or people stays in its group."""
    pairs = pd.factorize(groups.astype(np.int64) * (int(second.max(initial=-1)) + 2) + second + 1)[0]
    held = held_groups(np.asarray(pairs, dtype=np.int64), people)
    finer = groups.copy()
    top = int(groups.max(initial=0)) + 1
    finer[held > 0] = top + held[held > 0] - 1
    finer = pd.factorize(finer)[0]
    if not _explains(scores, groups, finer):
        return 0.0
    return _epsilon(scores, finer) - _epsilon(scores, groups)


def _explains(s: np.ndarray, before: np.ndarray, after: np.ndarray) -> bool:
    """Whether the scores' groups ``after`` (a finer grouping than ``before``; codes >= 0)
    explain more of their variance than chance would (an F-test at CHANCE): a 1% share is a
    trend among 100,000 visits and noise among a few hundred."""
    from scipy.stats import f

    def within(groups: np.ndarray) -> tuple[float, int]:
        n = np.bincount(groups).astype(float)
        sums = np.bincount(groups, weights=s)
        return float((s**2).sum() - (sums[n > 0] ** 2 / n[n > 0]).sum()), int((n > 0).sum())

    (coarse, k0), (fine, k1) = within(before), within(after)
    df1, df2 = k1 - k0, len(s) - k1
    if df1 <= 0 or df2 <= 0 or coarse <= fine:
        return False
    if fine <= 0:
        return True
    return bool(f.sf(((coarse - fine) / df1) / (fine / df2), df1, df2) < CHANCE)


def fit_tuples(
    values: pd.Series,
    given: pd.DataFrame,
    current: ByLevel,
    people: np.ndarray | None,
    fit_one: Callable[[pd.Series, np.ndarray | None], Encoder],
) -> ByLevel | None:
    """Encoders per tuple of ``given``'s columns (the current given first) with enough rows and
    people; the other rows keep ``current``'s (its level's, or its pooled one)."""
    tuples = pd.Series(list(zip(*(keys_of(given[c]) for c in given.columns), strict=True)), dtype=object)
    levels: list[Any] = []
    encoders: list[Encoder] = []
    for level, pos, who in _levels_held(tuples, people, null=False):
        levels.append(level)
        encoders.append(fit_one(values.iloc[pos].reset_index(drop=True), who))
    assert current.pooled is not None
    out = _by_level(current.given, levels, encoders, current.pooled)
    return None if out is None else replace(out, also=tuple(given.columns[1:]), fallback=current)


def fit(
    values: pd.Series,
    given: pd.Series,
    given_name: str,
    people: np.ndarray | None,
    pooled: Encoder,
    fit_one: Callable[[pd.Series, np.ndarray | None], Encoder],
) -> ByLevel | None:
    """Encoders for the levels of ``given`` with enough rows and people (``values`` and ``given``
    are the non-NULL rows of the number, aligned; ``people`` each row's person or None). The
    rows of other levels get an encoder of their own where they are as many as a level needs:
    drawn from the whole column's, they took the held levels' values too (Northwind's products
    out of stock by units on order: one level held, the rest drawn like it, KS 0.92 -> 0.81)."""
    levels: list[Any] = []
    encoders: list[Encoder] = []
    held = np.zeros(len(values), dtype=bool)
    for level, pos, who in _levels_held(given, people, null=False):
        levels.append(level)
        encoders.append(fit_one(values.iloc[pos].reset_index(drop=True), who))
        held[pos] = True
    rest = np.flatnonzero(~held)
    others = None if people is None else people[rest]
    if levels and _enough(rest, others, level_people(people)):
        pooled = fit_one(values.iloc[rest].reset_index(drop=True), others)
    return _by_level(given_name, levels, encoders, pooled)


def _levels_held(
    given: pd.Series, people: np.ndarray | None, *, null: bool
) -> Iterator[tuple[Any, np.ndarray, np.ndarray | None]]:
    """(level, its row positions, their people) for each level of ``given`` with MIN_LEVEL_ROWS
    rows and MIN_LEVEL_PEOPLE people (held_groups), in order of first appearance; ``null``: NULL
    is a level too."""
    keys = pd.Series(keys_of(given), dtype=object)
    group, uniques = pd.factorize(keys, use_na_sentinel=not null)
    held = held_groups(np.asarray(group, dtype=np.int64), people)
    levels = np.unique(group[held > 0]) if held.any() else np.zeros(0, dtype=np.int64)
    order = np.argsort(held, kind="stable")
    bounds = np.searchsorted(held[order], np.arange(len(levels) + 2))
    for g, code in enumerate(levels, start=1):
        pos = order[bounds[g] : bounds[g + 1]]
        yield _key(uniques[code]), pos, None if people is None else people[pos]


def _enough(rows: np.ndarray, people: np.ndarray | None, need: int = MIN_LEVEL_PEOPLE) -> bool:
    """Whether rows are a level of their own: MIN_LEVEL_ROWS of them, held by ``need`` people
    (level_people of the whole column; a row of no person is a person of its own)."""
    held = len(rows) if people is None else len(np.unique(persons(people)))
    return len(rows) >= MIN_LEVEL_ROWS and held >= need


def _by_level(given_name: str, levels: list[Any], encoders: list[Encoder], pooled: Encoder) -> ByLevel | None:
    if not levels:
        return None
    order = sorted(range(len(levels)), key=lambda i: str(levels[i]))  # deterministic
    return ByLevel(
        given=given_name,
        levels=[levels[i] for i in order],
        encoders=[encoders[i] for i in order],
        pooled=pooled,
    )


def uncertainty(target: np.ndarray, given: np.ndarray) -> float:
    """Theil's U(target | given) from two code arrays (-1: NULL, a level of its own): the share of
    the target's entropy that knowing the given removes, each group's entropy corrected for its
    size as in pair_gain (96 levels of 30 rows each seemed to explain 5% of an independent
    column, plug-in); 0 where chance would explain as much (_beyond_chance)."""
    t, g = target + 1, given + 1
    whole = _conditional_entropy(t, np.zeros_like(t))
    if whole <= 0:
        return 0.0
    share = 1.0 - _conditional_entropy(t, g) / whole
    return share if _beyond_chance(t, share * whole, np.zeros_like(g), g) else 0.0


def _beyond_chance(target: np.ndarray, nats: float, before: np.ndarray, after: np.ndarray) -> bool:
    """Whether grouping the rows by ``after`` instead of ``before`` (a finer grouping) removes
    ``nats`` of the target's entropy by more than chance: 2 n nats against chi-square with a
    degree of freedom per target level and new group. A weak trend holds among 100,000 visits
    and not among 600."""
    from scipy.stats import chi2

    levels = len(np.unique(target))
    groups = len(np.unique(after)) - len(np.unique(before))
    df = max(levels - 1, 1) * max(groups, 1)
    return bool(nats > 0 and chi2.sf(2.0 * len(target) * nats, df) < CHANCE)


def _conditional_entropy(target: np.ndarray, group: np.ndarray) -> float:
    """H(target | group) in nats from codes >= 0, each group's plug-in entropy corrected for its
    size (Miller-Madow: + (levels seen - 1) / 2n): 30 rows spread over 70 levels look far more
    certain than they are, and a finer grouping would always seem to explain more."""
    nt = int(target.max(initial=0)) + 1
    ng = int(group.max(initial=0)) + 1
    joint = np.bincount(group * nt + target, minlength=ng * nt).reshape(ng, nt).astype(float)
    rows = joint.sum(axis=1)
    p = joint / np.maximum(rows[:, None], 1.0)
    plug = -(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)).sum(axis=1)
    corrected = plug + ((joint > 0).sum(axis=1) - 1) / (2 * np.maximum(rows, 1.0))
    return float((corrected * rows).sum() / max(rows.sum(), 1.0))


def pair_gain(target: np.ndarray, given: np.ndarray, second: np.ndarray) -> float:
    """The share of ``target``'s entropy that the pairs (given, second) explain beyond ``given``
    alone (codes, -1: NULL), counting as the model would: a pair of fewer than MIN_LEVEL_ROWS
    rows goes by its ``given`` level. 0 where chance would explain as much (_beyond_chance)."""
    t, g, s = target + 1, given + 1, second + 1
    pair = g * (int(s.max(initial=0)) + 1) + s
    small = np.bincount(pair)[pair] < MIN_LEVEL_ROWS
    backoff = pd.factorize(np.where(small, -1 - g, pair))[0]
    whole = _conditional_entropy(t, np.zeros_like(t))
    if whole <= 0:
        return 0.0
    nats = _conditional_entropy(t, g) - _conditional_entropy(t, backoff)
    return nats / whole if _beyond_chance(t, nats, g, backoff) else 0.0


def fit_shares(
    values: pd.Series,
    given: pd.Series,
    given_name: str,
    people: np.ndarray | None,
    pooled: Any,
    k: int,
    rng: np.random.Generator,
) -> ByLevel | None:
    """Per level of ``given`` (enough rows and people), ``values``' shares in ``pooled``'s level
    order (so the copula's axis means the same in every level). Within a level, a value (NULL
    too) fewer than k people hold has no share: its rows are folded into the level's other
    values, drawn by the column's shares, so neither which rare value the level held nor how many
    rows it had shows. No person counts above 1/k of a level's rows (one patient's 40 visits
    among 29 people's few would be the level's shares). None when no level qualifies."""
    from relsynth.transform import Categorical

    codes = pooled.codes(values)
    levels: list[Any] = []
    encoders: list[Encoder] = []
    # NULL is a level too: a payer left blank comes with its own specialties, and the pooled
    # shares would give those rows everyone's.
    found = []
    for level, pos, who in _levels_held(given, people, null=True):
        here = codes[pos]
        weight = _capped(who, k, len(pos))
        held = _held_values(here, who, k)
        counts = np.bincount(here[held], weights=weight[held], minlength=len(pooled.levels))
        if held.sum() >= MIN_LEVEL_ROWS and counts.sum() > 0:
            found.append((level, pos, counts, round(float(weight[~held].sum())), ~held))
    tail = _folded_shares(codes, people, [pos[rare] for _, pos, _, _, rare in found], k, len(pooled.levels))
    null = next((i for i, v in enumerate(pooled.levels) if _key(v) is None), None)
    for level, _, counts, rest, _ in found:
        if rest:  # drawn among the level's values: the level's (one person's) own would grow by them
            nulls = 0
            if null is not None and tail is not None and counts[null] == 0:  # as among all of them
                nulls = int(rest * tail[null] / tail.sum() + rng.random())
            shares = np.where(counts > 0, tail if tail is not None else 0.0, 0.0)
            if shares.sum() <= 0:  # none of the level's values folded elsewhere: the column's shares
                shares = np.where(counts > 0, np.diff(pooled.cum, prepend=0.0), 0.0)
            counts = counts + rng.multinomial(rest - nulls, shares / shares.sum())
            if nulls:
                counts[null] += nulls
        present = np.flatnonzero(counts > 0)
        levels.append(level)
        encoders.append(
            Categorical(
                levels=[pooled.levels[i] for i in present],
                cum=np.cumsum(counts[present] / counts[present].sum()),
            )
        )
    return _by_level(given_name, levels, encoders, pooled)


def _folded_shares(
    codes: np.ndarray, people: np.ndarray | None, folded: list[np.ndarray], k: int, n_levels: int
) -> np.ndarray | None:
    """The shares of the values of all levels' folded rows together, of the values k rows and k
    people among them hold, no person above 1/k of them (None if none): what such rows hold in
    the whole table, by which a level's folded rows are drawn among its own values. Drawn at the
    column's shares, a value common in the table took most of them: a NULL held by 10 of a
    ward's 75 visits came back in 22 (13% of the source's rows, 22% of the output's). NULL,
    where common among them, is drawn at its share of them in every level that folds rows: held
    by 3 in each of 90 wards, it was never drawn."""
    rows = np.concatenate(folded) if folded else np.zeros(0, dtype=np.int64)
    if not len(rows):
        return None
    here, who = codes[rows], None if people is None else people[rows]
    held = _held_values(here, who, k)
    if not held.any():
        return None
    weight = _capped(who, k, len(rows))
    return np.bincount(here[held], weights=weight[held], minlength=n_levels)


def _held_values(codes: np.ndarray, people: np.ndarray | None, k: int) -> np.ndarray:
    """Rows whose value (a code; NULL's too) k rows and k people of the level hold."""
    rows = np.bincount(codes, minlength=int(codes.max(initial=0)) + 1)
    if people is None:
        return rows[codes] >= k
    who = persons(people)
    pairs = pd.DataFrame({"v": codes, "p": who}).drop_duplicates()
    holders = np.bincount(pairs["v"].to_numpy(), minlength=len(rows))
    return (rows[codes] >= k) & (holders[codes] >= k)


def _capped(people: np.ndarray | None, k: int, n: int) -> np.ndarray:
    """Row weights: 1, but for a person with more than the cap's rows, cap / their rows. The cap
    is rare.person_cap, as for the numbers' quantiles."""
    if people is None:
        return np.ones(n)
    who = persons(people)
    codes = pd.factorize(who)[0]
    counts = np.bincount(codes)
    if len(counts) < k or k <= 1:
        return np.ones(n)
    return np.minimum(1.0, person_cap(counts, k) / counts[codes])
