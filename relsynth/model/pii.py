"""Personal data: never learned, generated with Faker in the source's format and the schema's locale.

What is learned is only the *format*: phone templates ((###) ###-####), e-mail local-part patterns
(first.last, flast, digits) and common domains, identifier shapes, text lengths. Names and
e-mails in one row agree with each other, and first names follow a sex column when there is one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from relsynth.model.text import Shapes

POOL = 4000  # distinct names/addresses drawn from Faker, then sampled: fast for millions of rows
MIN_DOMAIN_COUNT = 5  # an e-mail domain is kept only if this many source rows use it

_EMAIL_PATTERNS = ("first.last", "firstlast", "flast", "f.last", "first_last", "first", "last.first", "other")


def _email_pattern(local: str) -> str:
    base = re.sub(r"\d+$", "", local.lower())
    if "." in base:
        left = base.partition(".")[0]
        return "f.last" if len(left) == 1 else "first.last"
    if "_" in base:
        return "first_last"
    return "other"


@dataclass
class PiiModel:
    """How one personal-data column is regenerated."""

    category: str
    shapes: Shapes | None = None  # phone, national_id, record_number
    patterns: dict[str, float] = field(default_factory=dict)  # e-mail local parts
    digits: float = 0.0  # share of e-mail locals ending in digits
    domains: dict[str, float] = field(default_factory=dict)
    lengths: list[int] = field(default_factory=list)  # free text lengths (quantiles)
    unique: bool = False

    @classmethod
    def fit(cls, category: str, values: pd.Series, *, unique: bool) -> PiiModel:
        strings = values.dropna().astype(str)
        model = cls(category=category, unique=unique)
        if category in {"phone", "national_id", "record_number"}:
            model.shapes = Shapes.fit(strings)
        elif category == "email" and not strings.empty:
            local = strings.str.split("@").str[0]
            patterns = local.map(_email_pattern).value_counts(normalize=True)
            model.patterns = {str(p): share for p, share in patterns.items()}
            model.digits = float(local.str.contains(r"\d$").mean())
            domains = strings.str.split("@").str[-1].str.lower().value_counts()
            kept = domains[domains >= MIN_DOMAIN_COUNT]
            model.domains = {str(d): share for d, share in (kept / kept.sum()).items()}
        elif category == "free_text" and not strings.empty:
            q = np.quantile(strings.str.len().to_numpy(), np.linspace(0, 1, 101))
            model.lengths = [int(x) for x in q]
        return model

    def to_state(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "shapes": None
            if self.shapes is None
            else {"templates": self.shapes.templates, "weights": self.shapes.weights},
            "patterns": self.patterns,
            "digits": self.digits,
            "domains": self.domains,
            "lengths": self.lengths,
            "unique": self.unique,
        }

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> PiiModel:
        shapes = None if s["shapes"] is None else Shapes(s["shapes"]["templates"], s["shapes"]["weights"])
        return cls(s["category"], shapes, s["patterns"], s["digits"], s["domains"], s["lengths"], s["unique"])


class PeopleFactory:
    """Faker pools for one table, seeded; names shared by the columns of a row.

    Name pools are drawn only when a name (or an e-mail made from one) is asked for, so a table
    whose only personal data is a phone or a comment costs no name generation.
    """

    def __init__(
        self, locale: str, seed: int, n: int, sexes: np.ndarray | None, rng: np.random.Generator
    ) -> None:
        from faker import Faker

        try:
            self.fake = Faker(locale)
        except AttributeError:
            self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.rng = rng
        self.n = n
        self.sexes = sexes
        self._names: tuple[np.ndarray, ...] | None = None

    def _pools(self) -> tuple[np.ndarray, ...]:
        if self._names is None:
            f, n, rng = self.fake, self.n, self.rng
            size = min(max(n, 50), POOL)
            female = np.array([f.first_name_female() for _ in range(size)], dtype=object)
            male = np.array([f.first_name_male() for _ in range(size)], dtype=object)
            last_pool = np.array([f.last_name() for _ in range(size)], dtype=object)
            is_female = rng.random(n) < 0.5 if self.sexes is None else self.sexes
            first = np.where(is_female, female[rng.integers(0, size, n)], male[rng.integers(0, size, n)])
            last = last_pool[rng.integers(0, size, n)]
            self._names = (female, male, last_pool, first, last)
        return self._names

    @property
    def female(self) -> np.ndarray:
        return self._pools()[0]

    @property
    def male(self) -> np.ndarray:
        return self._pools()[1]

    @property
    def last_pool(self) -> np.ndarray:
        return self._pools()[2]

    @property
    def first(self) -> np.ndarray:
        return self._pools()[3]

    @property
    def last(self) -> np.ndarray:
        return self._pools()[4]

    def generate(self, model: PiiModel, rng: np.random.Generator) -> np.ndarray:
        n, f = self.n, self.fake
        cat = model.category
        if cat == "first_name":
            return self.first.copy()
        if cat == "last_name":
            return self.last.copy()
        if cat == "person_name":
            return np.array([f"{a} {b}" for a, b in zip(self.first, self.last, strict=True)], dtype=object)
        if cat == "email":
            return self._emails(model, rng)
        if cat == "street_address":
            pool = np.array([f.street_address() for _ in range(min(max(n, 50), POOL))], dtype=object)
            return pool[rng.integers(0, len(pool), n)]
        if cat == "free_text":
            return self._text(model, rng)
        shapes = model.shapes or Shapes.fit(pd.Series(["##########"]))
        return shapes.generate(n, rng)

    def avoid(
        self, model: PiiModel, values: np.ndarray, is_copy: Any, rng: np.random.Generator
    ) -> np.ndarray:
        """Redraw values that happen to equal a source value (``is_copy`` tells which)."""
        out = np.asarray(values, dtype=object).copy()
        for _ in range(10):
            bad = np.flatnonzero(is_copy(out))
            if not len(bad):
                break
            k = len(bad)
            cat = model.category
            if cat == "email":
                nums = rng.integers(100, 10_000, k)
                out[bad] = [v.replace("@", f"{n}@", 1) for v, n in zip(out[bad], nums, strict=True)]
            elif cat == "person_name":
                first = np.concatenate([self.female, self.male])
                out[bad] = [
                    f"{a} {b}"
                    for a, b in zip(
                        first[rng.integers(0, len(first), k)],
                        self.last_pool[rng.integers(0, len(self.last_pool), k)],
                        strict=True,
                    )
                ]
            elif cat == "street_address":
                out[bad] = [self.fake.street_address() for _ in range(k)]
            elif cat == "free_text":
                out[bad] = [self.fake.sentence(nb_words=10) for _ in range(k)]
            elif model.shapes is not None:
                out[bad] = model.shapes.generate(k, rng)
        return out

    def _emails(self, model: PiiModel, rng: np.random.Generator) -> np.ndarray:
        n = self.n
        patterns = sorted(model.patterns) or ["first.last"]  # sorted: the same draws after save/load
        weights = np.asarray([model.patterns.get(p, 1.0) for p in patterns], dtype=float)
        chosen = np.asarray(patterns, dtype=object)[rng.choice(len(patterns), n, p=weights / weights.sum())]
        domains = sorted(model.domains) or ["example.com", "example.org", "example.net"]
        dw = np.asarray([model.domains.get(d, 1.0) for d in domains], dtype=float)
        dom = np.asarray(domains, dtype=object)[rng.choice(len(domains), n, p=dw / dw.sum())]
        digits = rng.random(n) < model.digits
        nums = rng.integers(1, 100, n)
        out = np.empty(n, dtype=object)
        for i in range(n):
            first = re.sub(r"[^a-z]", "", self.first[i].lower()) or "user"
            last = re.sub(r"[^a-z]", "", self.last[i].lower()) or "name"
            p = chosen[i]
            local = {
                "first.last": f"{first}.{last}",
                "f.last": f"{first[0]}.{last}",
                "first_last": f"{first}_{last}",
            }.get(p, f"{first[0]}{last}")
            out[i] = f"{local}{nums[i] if digits[i] else ''}@{dom[i]}"
        return out

    def _text(self, model: PiiModel, rng: np.random.Generator) -> np.ndarray:
        n = self.n
        sentences = [self.fake.sentence(nb_words=8) for _ in range(min(max(n, 50), 2000))]
        q = np.asarray(model.lengths or [40, 120], dtype=float)
        targets = np.interp(rng.random(n), np.linspace(0, 1, len(q)), q).astype(int)
        picks = rng.integers(0, len(sentences), (n, 12))
        out = np.empty(n, dtype=object)
        for i in range(n):
            parts, size = [], 0
            for j in picks[i]:
                if size >= targets[i]:
                    break
                parts.append(sentences[j])
                size += len(sentences[j]) + 1
            text = " ".join(parts)
            if len(text) > max(targets[i], 1):
                text = text[: max(targets[i], 1)].rsplit(" ", 1)[0] or text[: max(targets[i], 1)]
            out[i] = text
        return out


def sex_flags(frame: pd.DataFrame) -> np.ndarray | None:
    """True where a row's sex/gender column says female, if the table has such a column."""
    for col in frame.columns:
        if re.fullmatch(r"(sex|gender)(_code|_concept_id|_source_value)?", str(col).lower()):
            values = frame[col].astype(str).str.lower().str.strip()
            if values.isin(["f", "female", "w", "woman", "m", "male", "man"]).mean() > 0.8:
                return values.isin(["f", "female", "w", "woman"]).to_numpy()
    return None
