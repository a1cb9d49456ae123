"""Strings that look like the source's without being the source's: shapes and vocabularies.

High-cardinality text and identifier-like strings are never copied. A *shape* keeps each
position's character class (A upper, a lower, 9 digit) and the characters every value shares at
that position ("MRN" in MRN0012345); a *vocabulary* keeps words used in several different values
(so no word unique to one record survives) and the source's distribution of word counts.
Generated values that collide with a source value are drawn again (checked by keyed hashes held
in memory only, relsynth.model.guards: the model file holds no source string, nor a hash of one).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from relsynth.model.hashsets import HashSet
from relsynth.model.rare import holders, persons
from relsynth.model.values import collated, hashed_text

_UPPER = np.array(list(string.ascii_uppercase))
_LOWER = np.array(list(string.ascii_lowercase))
_DIGIT = np.array(list(string.digits))
_WORD = re.compile(r"\w+", re.UNICODE)
MIN_WORD_VALUES = 3  # a word must appear in this many distinct values to be reused
MAX_SHAPES = 200


def _classify(ch: str) -> str:
    if ch.isdigit():
        return "9"
    if ch.isalpha():
        return "A" if ch.isupper() else "a"
    return ch


def shape_of(value: str) -> str:
    return "".join(_classify(c) for c in value)


MIN_SHAPE_VALUES = 5  # distinct values a shape needs to be kept
MAX_PREFIXES = 64  # leading letters kept per shape (a category's codes, a state's two letters)
PREFIX_SHARE = 0.5  # of a shape's distinct values the kept leading letters must hold together


@dataclass
class Shapes:
    """Per-shape templates: a class or a literal at each position, with frequencies."""

    templates: list[str] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    # Per template, per token: [] (its class drawn uniformly), or [characters, their shares] (a
    # postcode's first digit 0 in half the rows, 1, 2 or 7 in the rest), the rest of the share
    # spread evenly over the class's other characters. Only characters MIN_SHAPE_VALUES (and
    # rare-k) distinct values hold at that place: a per-place count, no value.
    chars: list[list[list[Any]]] = field(default_factory=list)

    @classmethod
    def fit(
        cls,
        values: pd.Series,
        *,
        varied_letters: bool = False,
        literals: bool = True,
        frequencies: bool = False,
        rare_k: int = 1,
        room: int = 0,
        people: np.ndarray | None = None,
    ) -> Shapes:
        """``varied_letters``: a letter is kept only where values that differ in their letters share
        it ("Margaret Thornbury 17", "... 18" are one name with a counter: no letter is kept, "ORD-"
        of ORD-AB12, ORD-XY34, ... is); ``literals=False`` keeps no letter or digit at all.
        ``frequencies``: each place's characters as often as there (place_frequencies).
        ``room``: values a template must hold per distinct source value (ROOM unless given; a
        key's, KEY_ROOM: it is made wider when sampled only as its rows need, Shapes.holding).
        ``people``: each row's person (-1: none), by position in ``values``: a group of values
        fewer than rare_k people hold keeps no letter or digit of theirs, however many values it
        has (one patient's 30 accessions KOWALZ-0001..0030 spelled KOWALZ in every output row)."""
        who = None if people is None else pd.Series(np.asarray(people), index=values.index)
        strings = values.dropna().astype(str)
        if strings.empty:
            return cls(["aaaaaaaa"], [1.0])
        if len(strings) > 20_000:  # shapes are a format: a sample shows them all
            strings = strings.sample(20_000, random_state=0)
        shapes = strings.map(shape_of)
        counts = shapes.value_counts()
        # A shape only a few values have is itself a trace of them ("aaAA_aaaaaaa_999"): only
        # shapes of at least MIN_SHAPE_VALUES distinct values are kept (else the commonest one).
        distinct = strings.groupby(shapes).nunique()
        common = counts[distinct.reindex(counts.index).to_numpy() >= MIN_SHAPE_VALUES]
        counts = common if len(common) else counts.head(1)
        # Within a shape, the leading letters a code's values share with many others (INV of
        # INV-000123, A and B of A17 and B204, a category's EL, FU) are a group of their own, so
        # they are kept as they are (a CHECK (code LIKE 'A%') holds): only a prefix at least
        # MIN_SHAPE_VALUES distinct values hold; the values of rarer prefixes stay in one group
        # with the letters free (dropped if fewer than MIN_SHAPE_VALUES distinct values are left).
        # Only where such prefixes are the column's format: a few of them (MAX_PREFIXES) held by
        # most of the shape's values, not one person's five logins (jsmith01..jsmith05) among
        # others' names.
        split = literals and not varied_letters
        groups: list[tuple[str, pd.Series, float, int]] = []
        for shape, count in counts.head(MAX_SHAPES).items():
            members = strings[shapes == shape]
            lead = len(str(shape)) - len(str(shape).lstrip("Aa"))
            if not split or lead == 0 or lead == len(str(shape)):
                groups.append((str(shape), members, float(count), int(distinct.get(shape, 1))))
                continue
            prefixes = members.str[:lead]
            held = members.drop_duplicates().str[:lead].value_counts()
            shared = held[held >= MIN_SHAPE_VALUES].index
            if len(shared) > MAX_PREFIXES or held[shared].sum() < PREFIX_SHARE * held.sum():
                shared = held.index[:0]
            for prefix in sorted(shared, key=lambda p: (-int(held[p]), str(p))):
                mine = members[prefixes == prefix]
                groups.append((str(shape), mine, float(len(mine)), int(held[prefix])))
            rest = members[~prefixes.isin(shared)]
            left = int(rest.nunique())
            if left >= MIN_SHAPE_VALUES or (left and not len(shared)):
                groups.append((str(shape), rest, float(len(rest)), left))
        templates: list[str] = []
        weights: list[float] = []
        by_place: list[list[list[Any]]] = []
        for form, members, weight, held_by in groups[:MAX_SHAPES]:
            chars = np.array([list(s) for s in members.head(5000)])
            tpl = []
            for pos, cls_ in enumerate(form):
                column = chars[:, pos] if chars.ndim == 2 and chars.shape[1] > pos else np.array([])
                constant = len(column) >= 3 and (column == column[0]).all()
                if cls_ not in "Aa9":
                    tpl.append("\\" + cls_)  # punctuation and spaces are literal
                elif constant:
                    tpl.append("\\" + column[0])  # a character every value shares here
                else:
                    tpl.append(cls_)
            if not literals or (
                varied_letters and members.str.replace(r"\d", "0", regex=True).nunique() < MIN_SHAPE_VALUES
            ):
                keep = "" if literals else None
                tpl = [_free(t, keep) for t in tpl]
            few = who is not None and _persons_among(who, members) < max(MIN_SHAPE_VALUES, rare_k)
            if held_by < max(MIN_SHAPE_VALUES, rare_k) or few:
                # Fewer values than that (the commonest shape kept for want of another: 'alice' on
                # 1,000 log rows) spell themselves in the characters their rows share ('\a\l\i\ca',
                # every output row 'alic?'): no letter or digit of theirs is kept.
                tpl = [_free(t, None) for t in tpl]
            narrow = list(tpl)
            widened = _widened(tpl, held_by, room or ROOM)
            template = "".join(widened)
            places: list[list[Any]] = []
            if frequencies and widened == narrow and not few:  # a widened one has places the source lacks
                places = place_frequencies(members, narrow, max(MIN_SHAPE_VALUES, rare_k))
            if template in templates:  # A99 and A999 both widened to A9999: one template
                at = templates.index(template)
                weights[at] += weight
                by_place[at] = []  # two groups' places: drawn evenly
            else:
                templates.append(template)
                weights.append(weight)
                by_place.append(places)
        total = sum(weights)
        return cls(templates, [w / total for w in weights], by_place if any(by_place) else [])

    def holding(self, n: int) -> Shapes:
        """The shapes with each template made wide enough for its share of ``n`` values KEY_ROOM
        times over (shared digits freed, then the last run of digits grown, as _widened does):
        keys DEP001..DEP040 stay three digits for 40 rows (four before, as any shape of 40 values
        was made room for 800), and grow a digit where 1,200 rows need it."""
        templates, places = [], []
        for i, (template, weight) in enumerate(zip(self.templates, self.weights, strict=True)):
            tokens = _tokens(template)
            wider = "".join(_widened(list(tokens), int(np.ceil(weight * n)), KEY_ROOM))
            templates.append(wider)
            places.append(self.chars[i] if i < len(self.chars) and wider == template else [])
        return Shapes(templates, list(self.weights), places if any(places) else [])

    def generate(self, n: int, rng: np.random.Generator) -> np.ndarray:
        out = np.empty(n, dtype=object)
        if n == 0:
            return out
        picks = rng.choice(len(self.templates), size=n, p=np.asarray(self.weights))
        for t_index in np.unique(picks):
            rows = np.flatnonzero(picks == t_index)
            tokens = _tokens(self.templates[t_index])
            places = self.chars[t_index] if t_index < len(self.chars) else []
            cols = []
            for i, tok in enumerate(tokens):
                place = places[i] if len(places) == len(tokens) else []
                if place and tok in _ALPHABETS:
                    alphabet = _ALPHABETS[tok]
                    cols.append(
                        alphabet[rng.choice(len(alphabet), len(rows), p=_place_shares(alphabet, place))]
                    )
                elif tok == "A":
                    cols.append(_UPPER[rng.integers(0, 26, len(rows))])
                elif tok == "a":
                    cols.append(_LOWER[rng.integers(0, 26, len(rows))])
                elif tok == "9":
                    cols.append(_DIGIT[rng.integers(0, 10, len(rows))])
                else:
                    cols.append(np.full(len(rows), tok[-1]))  # a literal (written \A for the letter A)
            joined = (
                np.array(["".join(parts) for parts in zip(*cols, strict=True)])
                if cols
                else np.full(len(rows), "")
            )
            out[rows] = joined
        return out


_ALPHABETS = {"A": _UPPER, "a": _LOWER, "9": _DIGIT}


def place_frequencies(members: pd.Series, tpl: list[str], least: int) -> list[list[Any]]:
    """Per token of ``tpl`` (the shape of every member), [characters, shares of rows] of those at
    least ``least`` distinct members hold there, for a class token (A, a, 9); [] for a literal or
    where no character is that well held. Shares are rounded to 1e-4: a count, never a value."""
    strings = members.astype(str)
    distinct = strings.drop_duplicates()
    out: list[list[Any]] = []
    for pos, tok in enumerate(tpl):
        if tok not in _ALPHABETS:
            out.append([])
            continue
        alphabet = set(_ALPHABETS[tok].tolist())
        rows = strings.str[pos].value_counts()
        held = distinct.str[pos].value_counts()
        kept = sorted(str(c) for c, k in held.items() if k >= least and c in alphabet)
        if not kept:
            out.append([])
            continue
        shares = [round(float(rows.get(c, 0)) / len(strings), 4) for c in kept]
        out.append(["".join(kept), shares])
    return out if any(out) else []


def _place_shares(alphabet: np.ndarray, place: list[Any]) -> np.ndarray:
    """Probabilities over ``alphabet``: the kept characters' shares, the rest evenly on the others."""
    kept, shares = str(place[0]), [float(x) for x in place[1]]
    p = np.zeros(len(alphabet))
    index = {c: i for i, c in enumerate(alphabet.tolist())}
    for c, share in zip(kept, shares, strict=True):
        p[index[c]] = share
    others = np.array([c not in kept for c in alphabet.tolist()])
    rest = max(1.0 - float(p.sum()), 0.0)
    if others.any():
        p[others] = rest / int(others.sum())
    return p / p.sum() if p.sum() > 0 else np.full(len(alphabet), 1.0 / len(alphabet))


ROOM = 20  # a template must hold this many values per distinct source value of its shape
KEY_ROOM = 2  # a key's template, this many per value it is to hold (its rows and the source's keys)

_FREE = {"A": 26, "a": 26, "9": 10}


def _free(token: str, digits: str | None) -> str:
    """A template token with a literal letter (and, if ``digits`` is None, a literal digit) freed
    to its character class; punctuation and spaces stay."""
    ch = token[1:] if token.startswith("\\") else ""
    if ch.isascii() and (ch.isalpha() or (digits is None and ch.isdigit())):
        return _classify(ch)
    return token


MAX_MORE_DIGITS = 6  # digits a template's last run of digits may grow by to make room


def _widened(tpl: list[str], members: int, per: int = ROOM) -> list[str]:
    """The template with shared digits freed (then, if still too narrow, letters), right to left,
    until it can make ``per`` (ROOM) times as many values as the source has of its shape: "MRN0000999"
    (1,000 values, 600 of them real) is the source's list, not a shape; "MRN0099999" is one.

    Before a letter is freed ("MRN", the A of A100..A400), the last run of digits grows (A999 ->
    A9999, as a counter does), so a CHECK (code LIKE 'A%') still holds."""
    room = 1
    for t in tpl:
        room *= _FREE.get(t, 1)
    digits = [pos for pos, t in enumerate(tpl) if t == "9" or (t.startswith("\\") and t[1:].isdigit())]
    for wanted in (str.isdigit, None, str.isalpha):
        if wanted is None:  # the last run of digits grows, up to MAX_MORE_DIGITS digits
            for _ in range(MAX_MORE_DIGITS if digits else 0):
                if room >= per * members:
                    return tpl
                tpl.insert(digits[-1], "9")
                room *= 10
            continue
        for pos in range(len(tpl) - 1, -1, -1):
            if room >= per * members:
                return tpl
            ch = tpl[pos][1:] if tpl[pos].startswith("\\") else ""
            if ch.isascii() and wanted(ch):
                tpl[pos] = _classify(ch)
                room *= _FREE[tpl[pos]]
    return tpl


def _tokens(template: str) -> list[str]:
    out, i = [], 0
    while i < len(template):
        if template[i] == "\\" and i + 1 < len(template):
            out.append(template[i : i + 2])  # kept escaped: a literal A, a or 9 is no class
            i += 2
        else:
            out.append(template[i])
            i += 1
    return out


@dataclass
class Vocabulary:
    """Multi-word text: word count distribution plus words shared by several values."""

    words: list[str] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)  # number of words, one entry per source value (sorted)
    capitalized: float = 0.0
    endings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def fit(cls, values: pd.Series, people: np.ndarray | None = None, rare_k: int = 1) -> Vocabulary | None:
        """``people``: each row's person (or parent) position, -1 for none: a word is kept only if
        MIN_WORD_VALUES different values *and* rare_k people (MIN_WORD_VALUES at least) use it (a
        surname in six notes of one patient is that patient's; a rare disease named in four
        patients' notes is theirs under the default K of 5)."""
        known = values.notna().to_numpy()
        strings = values[known].astype(str)
        if strings.empty:
            return None
        tokenized = strings.map(_WORD.findall)
        doc_freq: Counter[str] = Counter()  # in how many *different* values: one customer's city on
        total: Counter[str] = Counter()  # their 7 invoices is one value, not 7
        for words in tokenized:
            total.update(words)
        # Values that differ only in case or surrounding blanks are one value ('silent', 'Silent ').
        for words in strings.str.strip().str.casefold().drop_duplicates().map(_WORD.findall):
            doc_freq.update(set(words))
        holders: Counter[str] = doc_freq
        if people is not None:
            who = persons(np.asarray(people)[known])
            holders = Counter()
            seen = pd.DataFrame(
                {
                    "p": np.repeat(who, tokenized.map(len).to_numpy()),
                    "w": [w.casefold() for ws in tokenized for w in ws],
                }
            ).drop_duplicates()
            holders.update(seen["w"].tolist())
        keep = [
            w
            for w in total
            if doc_freq[w.casefold()] >= MIN_WORD_VALUES
            and holders[w.casefold()] >= max(MIN_WORD_VALUES, rare_k)
        ]
        if len(keep) < 10:
            return None
        keep.sort(key=lambda w: (-total[w], w))
        weights = np.array([total[w] for w in keep], dtype=float)
        endings = (
            strings.str.strip().str[-1:].map(lambda c: c if c in ".!?" else "").value_counts(normalize=True)
        )
        lengths = sorted(len(w) for w in tokenized)
        step = max(1, len(lengths) // 1000)
        return cls(
            words=keep,
            weights=list(weights / weights.sum()),
            lengths=lengths[::step],
            capitalized=float(strings.str.match(r"^[A-Z]").mean()),
            endings={str(k): float(v) for k, v in endings.items()},
        )

    def generate(self, n: int, rng: np.random.Generator, max_length: int | None = None) -> np.ndarray:
        out = np.empty(n, dtype=object)
        if n == 0:
            return out
        counts = np.maximum(np.asarray(self.lengths)[rng.integers(0, len(self.lengths), n)], 1)
        words = np.asarray(self.words, dtype=object)[
            rng.choice(len(self.words), size=int(counts.sum()), p=np.asarray(self.weights))
        ]
        cap = rng.random(n) < self.capitalized
        end_keys = sorted(self.endings) or [""]  # sorted: the same draws after save/load
        end_p = np.asarray([self.endings.get(k, 0.0) for k in end_keys]) if self.endings else np.ones(1)
        ends = np.asarray(end_keys, dtype=object)[rng.choice(len(end_keys), size=n, p=end_p / end_p.sum())]
        pos = 0
        for i, k in enumerate(counts):
            chosen = words[pos : pos + k]
            pos += k
            text = " ".join(chosen)
            while max_length and len(text) > max_length and len(chosen) > 1:  # whole words within the length
                chosen = chosen[:-1]
                text = " ".join(chosen)
            if cap[i]:
                text = text[:1].upper() + text[1:]
            out[i] = text + ends[i]
        return out


class SourceGuard:
    """Keyed 8-byte hashes of source values: tells whether a generated string is a copy. Held in
    memory only (relsynth.model.guards): never written to a model file. A large one is on disk
    behind a filter in memory while the process runs (relsynth.model.hashsets)."""

    def __init__(self, key: bytes, hashes: np.ndarray | HashSet, *, fold: bool = False) -> None:
        self.key = key
        self.fold = fold  # compare without case and surrounding spaces (e-mails, names)
        self.members = hashes if isinstance(hashes, HashSet) else HashSet.of(hashes)

    @property
    def hashes(self) -> np.ndarray:
        """The sorted distinct hashes."""
        return np.asarray(self.members.hashes)

    def __len__(self) -> int:
        return len(self.members)

    def digest(self, values: Any) -> np.ndarray:
        """Keyed 64-bit hashes (pandas' SipHash, vectorized: a guard reads every source row):
        of text, always stripped (CHAR(n) pads with blanks, so 'MRN001    ' and 'MRN001' are one
        value), or of record fingerprints (values.record_keys), mixed with the key."""
        values = np.asarray(values)
        if values.dtype == np.uint64:
            return np.asarray(pd.util.hash_array(values ^ self._mix), dtype=np.uint64)
        if values.ndim == 1 and set(map(type, values)) <= {str}:  # generated text: no conversion, no NULL
            # str's own methods mapped in C, not a Python loop per value (millions of TPC-H comments)
            stripped = map(str.strip, values)
            texts = list(map(str.casefold, stripped) if self.fold else stripped)
            return hashed_text(np.array(texts, dtype=object), self._hash_key)
        text = pd.Series(values, dtype=object).astype(str).str.strip()
        if self.fold:
            text = text.str.casefold()
        return hashed_text(text.to_numpy(dtype=object), self._hash_key)

    @property
    def _hash_key(self) -> str:
        return self.key.hex()[:16]

    @property
    def _mix(self) -> np.uint64:
        return np.uint64(int.from_bytes(self.key[:8].ljust(8, b"\0"), "little"))

    @classmethod
    def fit(cls, values: pd.Series, key: bytes, *, fold: bool = False) -> SourceGuard:
        """From text values, or from record fingerprints (a uint64 series: values.record_keys)."""
        guard = cls(key, np.empty(0, dtype=np.uint64), fold=fold)
        known = values.dropna()
        floats = known.dtype.kind == "f" and len(known) and bool(np.isfinite(known).all())
        if floats and bool((known == np.floor(known)).all()):
            known = known.astype(np.int64)  # whole numbers made floats by NULLs: 2001.0 is '2001'
        guard.members = HashSet.of(
            guard.digest(known.unique() if known.dtype == np.uint64 else known.astype(str).unique())
        )
        return guard

    def copies(self, values: np.ndarray) -> np.ndarray:
        if len(self.members) == 0 or len(values) == 0:
            return np.zeros(len(values), dtype=bool)
        return self.members.contains(self.digest(values))


def fresh(
    generate: Any,
    n: int,
    rng: np.random.Generator,
    *,
    guard: SourceGuard | None,
    unique: bool,
    numeric: bool = False,
    numbered: bool = True,
) -> np.ndarray:
    """Generate n strings, drawing again those that copy a source value or repeat (if unique).
    ``numeric``: the column holds numbers, so '495.7' and '495.70' repeat (a UNIQUE double
    column failed the load on them). ``numbered=False``: what still clashes after every draw is
    left as it is for the caller (generate.make_unique varies a code's own digits first)."""
    out = generate(n, rng)
    check = np.arange(n)  # after the first round, only the values drawn again meet the guard
    for _ in range(20):
        bad = np.zeros(n, dtype=bool)
        if guard is not None and len(check):
            bad[check] = guard.copies(out[check])
        if unique:
            bad |= _repeats(out, numeric)
        if not bad.any():
            return out
        out[bad] = generate(int(bad.sum()), rng)
        check = np.flatnonzero(bad)
    # Still clashing after many draws (a tiny shape space): a counter suffix makes them new.
    bad = guard.copies(out) if guard is not None else np.zeros(n, dtype=bool)
    if unique:
        bad |= _repeats(out, numeric)
    if numeric or not numbered:  # no suffix makes a number: left to the key check, which drops the rows
        return out
    out[bad] = [f"{v}-{i}" for i, v in zip(np.flatnonzero(bad), out[bad], strict=True)]
    return out


def _repeats(values: np.ndarray, numeric: bool) -> np.ndarray:
    """Values equal to an earlier one: as text under the collation, or as numbers."""
    series = pd.Series(values, dtype=object)
    if numeric:
        number = pd.to_numeric(series, errors="coerce")
        series = series.where(number.isna(), number)  # text that is no number stays text
    return collated(series).duplicated(keep="first").to_numpy()


def _persons_among(who: pd.Series, members: pd.Series) -> int:
    """Distinct people holding ``members`` (rows of no person: each its own)."""
    return holders(np.ones(len(members), dtype=bool), who.reindex(members.index).to_numpy())
