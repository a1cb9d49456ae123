"""A text column that holds numbers in some rows and words in others, with no number column beside
it: Synthea's ``observations.value`` ('101.8' for a body height, '3.0' for a pain score, 'Never
smoked tobacco (finding)' for a survey answer; the row's ``code`` says which), an EHR's
``result_value``.

Learned as categories, each number text is held by few people, so the rare-level rule withheld
most of them and the output's numeric rows got a handful of common values. Instead the number rows
are learned as one placeholder level (never a source value, never withheld), so the copula and the
relations learn where numbers go; the numbers themselves are learned per level of the category
column that best predicts them (the code), as privacy-aware marginals (quantile knots held by
rare_k people each); at sampling each placeholder becomes a number drawn from its row's level,
spelled in the source's format ('fixed:1': one decimal in every text). The word rows stay as
before.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from relsynth.model import exact as ex
from relsynth.model import rare
from relsynth.transform import Encoder

MIN_SHARE = 0.3  # of the column's non-NULL values that are numbers
# ... and at most: a column of numbers alone is far likelier codes than results (SNOMED, RxNorm,
# ZIP codes as text: 97.8% to 100% of Synthea's code columns are numbers, 60% of its values)
MAX_SHARE = 0.95
LABEL = 0.95  # a category whose levels fix the number on this share of rows: it is a label's code
MIN_ROWS = 20  # rows holding a number
MIN_DISTINCT = 10  # distinct numbers
MIN_WITHHELD = 0.2  # share of number rows whose text is held by fewer than rare_k people (ICD-9
# codes as text, 250.83: 7% at 2,000 diabetes130 encounters, 1% at 20,000)
MIN_LEVEL_ROWS = 20  # number rows a level needs for a distribution of its own
MIN_EXPLAINED = 0.1  # share of the numbers' rank variance a category must explain to be used
SPELLED_OF_NUMBER = 0.9  # a text equal to a number column on this share of rows spells that one
PLACEHOLDER = "\x00relsynth:number"  # PostgreSQL text cannot even hold a NUL

# A number as a database or an export spells it: no sign but '-', no leading zero, no exponent.
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,8})?")


@dataclass
class TextNumbers:
    """Where ``column`` equals ``placeholder`` after drawing, a number is drawn from the encoder of
    the row's ``given`` level (``pooled`` for a level without one) and spelled in its format."""

    column: str
    placeholder: str
    share: float  # of the column's non-NULL source values that were numbers
    given: str | None = None
    levels: list[Any] = field(default_factory=list)
    encoders: list[Encoder] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    pooled: Encoder | None = None
    pooled_format: str = "plain"


def number_texts(values: pd.Series) -> np.ndarray:
    """Which values are numbers spelled canonically (each text is its float with as many decimals)."""
    if not len(values):
        return np.zeros(0, dtype=bool)
    found = pd.Series(values.to_numpy(dtype=object), dtype=object).str.fullmatch(_NUMBER.pattern)
    return found.astype(object).eq(True).to_numpy(dtype=bool)  # not a string: NaN, no number


def spelling_of(texts: list[str]) -> str:
    """'fixed:D' when every text has D decimals; else 'plain' if the shortest spelling gives each
    text back; else the commonest number of decimals."""
    fmt = ex._spelling(texts)
    if fmt is not None and fmt.startswith("fixed:"):
        return fmt
    x = np.array([float(t) for t in texts])
    if (ex.spelled(x, "plain") == np.array(texts, dtype=object)).mean() >= 0.99:
        return "plain"
    decimals = Counter(len(t.split(".", 1)[1]) if "." in t else 0 for t in texts)
    return f"fixed:{decimals.most_common(1)[0][0]}"


def find(
    frame: pd.DataFrame,
    candidates: list[str],
    number_columns: list[str],
    people: np.ndarray | None,
    rare_k: int,
    givens: Sequence[str] = (),
) -> list[tuple[str, np.ndarray]]:
    """(column, which rows hold a number) for each candidate text column that holds numbers in
    MIN_SHARE to MAX_SHARE of its non-NULL rows (MIN_ROWS rows, MIN_DISTINCT numbers), at least
    MIN_WITHHELD of them held by fewer than rare_k people (else categories keep them), spelling no
    number column of the row (exact.find_spellings derives that one from its number) and fixed by
    no category of ``givens`` (a description's code: 'Acute bronchitis' -> '10509002')."""
    out = []
    for c in candidates:
        values = frame[c]
        known = values.notna().to_numpy()
        if int(known.sum()) < MIN_ROWS:
            continue
        head = values[known].head(200)
        if not all(isinstance(v, str) for v in head):
            continue
        if number_texts(head).sum() < 0.1 * len(head) and len(head) == 200:
            continue  # no number among the first values: not read through
        rows = number_texts(values)
        n = int(rows.sum())
        if n < MIN_ROWS or not MIN_SHARE * int(known.sum()) <= n <= MAX_SHARE * int(known.sum()):
            continue
        texts = values[rows]
        if texts.nunique() < MIN_DISTINCT or _codes(values[known]):
            continue
        held = rare.common_levels(
            texts.reset_index(drop=True), None if people is None else people[rows], rare_k
        )
        if texts.isin(held).mean() > 1 - MIN_WITHHELD:
            continue  # numbers held by enough people: kept as categories
        x = pd.to_numeric(texts, errors="coerce").to_numpy(dtype=float)
        if _spells_a_number(frame, rows, x, number_columns):
            continue
        if any(_fixes(frame[g][rows], texts) for g in givens if g != c):
            continue
        out.append((c, rows))
    return out


_LEADING_ZERO = re.compile(r"0[0-9]")


def _codes(known: pd.Series) -> bool:
    """Digit strings with a leading zero among them ('00883' beside '18196': postcodes), or every
    number a whole one of one width: codes, not measurements. Drawn as numbers, a postcode held by
    one patient came back as itself (test_flat_people)."""
    texts = known.astype(str)
    if texts.str.match(_LEADING_ZERO).any():
        return True
    numbers = texts[number_texts(texts)]
    return (
        bool(len(numbers))
        and not numbers.str.contains(".", regex=False).any()
        and numbers.str.len().nunique() == 1
    )


def _fixes(groups: pd.Series, texts: pd.Series) -> bool:
    """Whether each level of ``groups`` has one text on LABEL of the rows (NULL a level too)."""
    if groups.nunique(dropna=False) > 0.5 * len(groups):
        return False  # levels of a row or two each fix anything
    pairs = pd.DataFrame({"g": groups.to_numpy(dtype=object), "t": texts.to_numpy(dtype=object)})
    sizes = pairs.groupby(["g", "t"], dropna=False).size()
    return float(sizes.groupby(level=0, dropna=False).max().sum()) >= LABEL * len(pairs)


def _spells_a_number(frame: pd.DataFrame, rows: np.ndarray, x: np.ndarray, number_columns: list[str]) -> bool:
    for n in number_columns:
        y = pd.to_numeric(frame[n], errors="coerce").to_numpy(dtype=float)[rows]
        both = ~np.isnan(y)
        if both.sum() >= MIN_ROWS and (np.isclose(x[both], y[both])).mean() >= SPELLED_OF_NUMBER:
            return True
    return False


def placeholder_for(values: pd.Series) -> str:
    """A level no value of the column is."""
    taken = set(values.dropna().astype(str))
    p = PLACEHOLDER
    while p in taken:
        p += "#"
    return p


def _explained(ranks: np.ndarray, groups: pd.Series) -> float:
    """Share of the variance of ``ranks`` the levels of ``groups`` explain (eta squared)."""
    total = float(((ranks - ranks.mean()) ** 2).sum())
    if total <= 0:
        return 0.0
    frame = pd.DataFrame({"g": groups.to_numpy(dtype=object), "r": ranks})
    means = frame.groupby("g", dropna=True)["r"].transform("mean").to_numpy(dtype=float)
    known = groups.notna().to_numpy()
    within = float(((ranks[known] - means[known]) ** 2).sum()) + float(
        ((ranks[~known] - ranks[~known].mean()) ** 2).sum() if (~known).any() else 0.0
    )
    return max(0.0, 1.0 - within / total)


def fit(
    frame: pd.DataFrame,
    column: str,
    rows: np.ndarray,
    givens: list[str],
    people: np.ndarray | None,
    rare_k: int,
    encode: Callable[[pd.Series, np.ndarray | None], Encoder],
    placeholder: str,
) -> TextNumbers:
    """The numbers of ``column`` (its ``rows``), per level of the given that explains most of their
    rank variance (at least MIN_EXPLAINED); a level gets its own encoder where it is held by rare_k
    people among the number rows and has MIN_LEVEL_ROWS of them, the rest share a pooled one.
    ``encode(numbers, their people)`` builds a privacy-aware marginal (fit._number_encoder)."""
    texts = frame[column][rows].reset_index(drop=True)
    x = pd.to_numeric(texts, errors="coerce").astype(float)
    held = None if people is None else people[rows]
    known = int(frame[column].notna().sum())
    out = TextNumbers(column, placeholder, share=round(len(texts) / max(known, 1), 6))
    out.pooled = encode(x, held)
    out.pooled_format = spelling_of(list(texts))
    ranks = x.rank().to_numpy(dtype=float)
    best, score = None, MIN_EXPLAINED
    for g in givens:
        groups = frame[g][rows].reset_index(drop=True)
        if groups.nunique() < 2 or groups.nunique() >= len(groups):
            continue
        explained = _explained(ranks, groups)
        if explained > score + 1e-9:
            best, score = g, explained
    if best is None:
        return out
    out.given = best
    groups = frame[best][rows].reset_index(drop=True)
    common = rare.common_levels(groups, held, rare_k)
    keys = groups.map(rare._key)
    for level in sorted(common, key=lambda v: (str(type(v)), str(v))):
        mine = (keys == rare._key(level)).to_numpy()
        if mine.sum() < MIN_LEVEL_ROWS:
            continue
        out.levels.append(level)
        out.encoders.append(encode(x[mine].reset_index(drop=True), None if held is None else held[mine]))
        out.formats.append(spelling_of(list(texts[mine])))
    return out


def fill(tn: TextNumbers, frame: pd.DataFrame, rng: np.random.Generator, length: int | None) -> None:
    """Each row whose ``column`` is the placeholder gets a number drawn from its level's encoder,
    spelled in its format; a text longer than ``length`` takes another such row's text."""
    if tn.column not in frame or not len(frame):
        return
    values = frame[tn.column].to_numpy(dtype=object).copy()
    rows = np.flatnonzero(np.fromiter((v == tn.placeholder for v in values), dtype=bool, count=len(values)))
    if not len(rows):
        return
    which = np.full(len(rows), -1, dtype=np.int64)
    if tn.given is not None and tn.given in frame and tn.levels:
        index = {rare._key(v): i for i, v in enumerate(tn.levels)}
        given = frame[tn.given].to_numpy(dtype=object)[rows]
        which = np.fromiter((index.get(rare._key(v), -1) for v in given), dtype=np.int64, count=len(rows))
    texts = np.full(len(rows), None, dtype=object)
    z = rng.standard_normal(len(rows))
    for i in range(-1, len(tn.levels)):
        mine = which == i
        if not mine.any():
            continue
        enc = tn.pooled if i < 0 else tn.encoders[i]
        fmt = tn.pooled_format if i < 0 else tn.formats[i]
        assert enc is not None
        x = pd.to_numeric(pd.Series(enc.decode(z[mine], rng)), errors="coerce").to_numpy(dtype=float)
        texts[mine] = ex.spelled(np.nan_to_num(x), fmt)
    if length:
        fits = np.fromiter((len(t) <= length for t in texts), dtype=bool, count=len(texts))
        if not fits.all():
            pool = texts[fits] if fits.any() else np.array(["0"], dtype=object)
            texts[~fits] = pool[rng.integers(0, len(pool), int((~fits).sum()))]
    values[rows] = texts
    frame[tn.column] = values


def redraw(
    tn: TextNumbers, frame: pd.DataFrame, rows: np.ndarray, rng: np.random.Generator, length: int | None
) -> np.ndarray:
    """The column with ``rows`` moved off a source record (generate.avoid_records): a number drawn
    again for its row's level; a word taken from another row of the same level."""
    values = frame[tn.column].to_numpy(dtype=object).copy()
    numbered = number_texts(pd.Series(values[rows], dtype=object))
    given = frame[tn.given].to_numpy(dtype=object) if tn.given is not None and tn.given in frame else None
    for r in rows[~numbered]:
        same = np.flatnonzero(given == given[r]) if given is not None else np.arange(len(values))
        values[r] = values[same[rng.integers(0, len(same))]]
    values[rows[numbered]] = tn.placeholder
    moved = pd.DataFrame({tn.column: values})
    if given is not None:
        moved[tn.given] = given
    fill(tn, moved, rng, length)
    return moved[tn.column].to_numpy(dtype=object)
