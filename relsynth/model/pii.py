"""Personal data: never learned, generated with Faker in the source's format and the schema's locale.

What is learned is only the *format*: phone templates ((###) ###-####), e-mail local-part patterns
(first.last, flast, digits) and common domains, identifier shapes, text lengths; for secrets
(password hashes, tokens) the algorithm, its parameters and each part's alphabet and length
($2b$12$ then 53 characters), never a character of a value. Names and e-mails in one row agree
with each other, and first names follow a sex column when there is one; a second name column
(mothersname beside fname) is another person's, equal to the row's own as often as in the source.
Card numbers and IBANs are generated valid (Luhn, mod 97); organisations get Faker company names.
"""

from __future__ import annotations

import ipaddress
import json
import re
import string
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from relsynth import pii_detect
from relsynth.model.text import Shapes

POOL = 4000  # distinct names/addresses drawn from Faker, then sampled: fast for millions of rows
MIN_DOMAIN_COUNT = 5  # a public mail provider's domain is kept only if this many source rows use it
# Domains anyone can have an address at: kept with their share. Any other domain (a company's, a
# hospital's) says whose data this is, so its share goes to documentation domains (RFC 2606).
_PUBLIC_MAIL_LINES = (
    "gmail.com googlemail.com yahoo.com yahoo.co.uk yahoo.fr yahoo.de yahoo.es yahoo.it yahoo.com.br",
    "yahoo.co.in yahoo.co.jp ymail.com hotmail.com hotmail.co.uk hotmail.fr hotmail.de hotmail.es",
    "hotmail.it outlook.com outlook.fr outlook.de live.com live.co.uk live.fr msn.com aol.com",
    "icloud.com me.com mac.com mail.com gmx.com gmx.de gmx.net gmx.at web.de t-online.de freenet.de",
    "protonmail.com proton.me pm.me zoho.com yandex.ru yandex.com mail.ru inbox.ru bk.ru list.ru",
    "rambler.ru qq.com 163.com 126.com sina.com sohu.com naver.com daum.net hanmail.net",
    "orange.fr wanadoo.fr free.fr laposte.net sfr.fr libero.it virgilio.it tiscali.it alice.it",
    "seznam.cz wp.pl o2.pl interia.pl onet.pl comcast.net verizon.net att.net sbcglobal.net",
    "bellsouth.net cox.net charter.net earthlink.net btinternet.com sky.com virginmedia.com",
    "rediffmail.com uol.com.br bol.com.br terra.com.br ig.com.br shaw.ca rogers.com sympatico.ca",
    "bigpond.com optusnet.com.au telstra.com xtra.co.nz",
)
PUBLIC_MAIL = frozenset(d for line in _PUBLIC_MAIL_LINES for d in line.split())
DOCUMENTATION_DOMAINS = ("example.com", "example.org", "example.net")
# Reserved names (RFC 2606/6761: .test is for testing) short enough for a tight e-mail column
# (VARCHAR(20) holding ann12@x.io): an address must fit whole, never be cut or replaced by a code.
SHORT_DOMAINS = ("mail.test", "ex.test", "x.test")
MIN_LOCAL = 10  # characters of local part (with room for numbers) a domain must leave in the column

# Categories generated from the source's shapes (each position's class, characters every distinct
# value shares), then made valid where the category has a checksum.
SHAPED = frozenset({"phone", "national_id", "record_number", "payment_card", "iban"})
# Categories with a person behind each value (generate); every other one is drawn (draw), so a
# repeated value of a UNIQUE column is drawn again in its own format, not numbered.
PERSONAL = frozenset({"first_name", "last_name", "person_name", "email", "street_address", "free_text"})
MAX_TEMPLATES = 50  # secret formats kept (the most frequent)
_ALPHABETS = {
    "digits": string.digits,
    "hex": "0123456789abcdef",
    "HEX": "0123456789ABCDEF",
    "lower": string.ascii_lowercase + string.digits,
    "upper": string.ascii_uppercase + string.digits,
    "alnum": string.ascii_letters + string.digits,
    "crypt": "./" + string.ascii_letters + string.digits,
    "b64": string.ascii_letters + string.digits + "+/",
    "b64url": string.ascii_letters + string.digits + "-_",
    "print": string.ascii_letters + string.digits + "!#%&*+-./:;=?@^_~",
}
# Parts of a password hash that are its algorithm and parameters, not its secret: kept as written.
_HASH_PARAM = re.compile(
    r"^(2[abxy]?|\d{1,7}|argon2(id|i|d)?|v=\d+|m=\d+,t=\d+,p=\d+|rounds=\d+|pbkdf2(_sha\d+)?|sha\d+|md5|"
    r"scrypt|bcrypt(_sha256)?|gy|y)$"
)
_HASH_FAMILIES = frozenset({"bcrypt", "argon2", "crypt", "django", "werkzeug", "jwt"})

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
    formats: dict[str, float] = field(default_factory=dict)  # secrets: templates; ip: v4/v6
    # A second name column of its kind (a patient's mothersname beside fname): whose name it is
    # ("female", "male", "any" person, or "same" person as the row's), the row's own name column
    # of the kind, and the share of rows where the two are equal (name_roles).
    other: str = ""
    own: str = ""
    same: float = 0.0

    @classmethod
    def fit(cls, category: str, values: pd.Series, *, unique: bool) -> PiiModel:
        strings = values.dropna().astype(str)
        model = cls(category=category, unique=unique)
        if category in SHAPED:
            # Distinct values: a character is kept only where several different values share it,
            # so one value repeated over many rows is never written into the model as a template.
            model.shapes = Shapes.fit(strings.str.strip().drop_duplicates())
        elif category == "secret":
            model.formats = secret_formats(strings)
        elif category == "url" and not strings.empty:
            model.patterns, model.domains = _url_parts(strings)
        elif category == "ip_address" and not strings.empty:
            v6 = float(strings.str.contains(":").mean())
            model.formats = {k: v for k, v in {"v4": 1.0 - v6, "v6": v6}.items() if v > 0}
        elif category == "email" and not strings.empty:
            local = strings.str.split("@").str[0]
            patterns = local.map(_email_pattern).value_counts(normalize=True)
            model.patterns = {str(p): share for p, share in patterns.items()}
            model.digits = float(local.str.contains(r"\d$").mean())
            model.domains = _email_domains(strings)
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
            "formats": self.formats,
            "other": self.other,
            "own": self.own,
            "same": self.same,
        }

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> PiiModel:
        shapes = None if s["shapes"] is None else Shapes(s["shapes"]["templates"], s["shapes"]["weights"])
        return cls(
            s["category"],
            shapes,
            s["patterns"],
            s["digits"],
            s["domains"],
            s["lengths"],
            s["unique"],
            s.get("formats", {}),
            s.get("other", ""),
            s.get("own", ""),
            s.get("same", 0.0),
        )


# Whose name a second name column holds, by the words of its name (mothersname, father_first_name,
# guardian_name, emergency_contact_name): a woman's, a man's or anyone's. Long words are found
# inside a name written as one word; short ones only as a word ('son' is in 'person').
_FEMALE = ("mother", "maiden", "grandmother", "sister", "daughter", "wife", "aunt", "mom", "mum")
_MALE = ("father", "grandfather", "brother", "husband", "uncle", "son", "dad")
_ANYONE = (
    "guardian", "spouse", "partner", "parent", "emergency", "contact", "relative", "sibling",
    "child", "kin", "nok", "caregiver", "carer", "sponsor", "referrer", "witness", "informant",
)  # fmt: skip
NAME_KINDS = frozenset({"first_name", "last_name", "person_name"})


def _whose(column: str) -> str:
    """'female', 'male' or 'any' for a column naming another person; '' for none."""
    words = {w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", column)}
    low = column.lower()
    for sex, stems in (("female", _FEMALE), ("male", _MALE), ("any", _ANYONE)):
        if any(w in words or (len(w) >= 6 and w in low) for w in stems):
            return sex
    return ""


def name_roles(
    columns: list[tuple[str, str]], frame: pd.DataFrame, k: int
) -> dict[str, tuple[str, str, float]]:
    """For each name column (``columns``: (name, category) of first, last or full names, in the
    table's order) that is not the row's own: (whose name, the row's own column of its kind or '',
    the share of rows where both are equal). Every name column took the row's own name: an
    OpenEMR patient's mothersname was the patient's first name on 1,000 of 1,000 rows (the source:
    63), a guardian_name the patient's full name. The own column of a kind is the first that names
    no other person; a column naming one (mothersname) is another's beside any own name column. A
    share of fewer than k equal rows is 0."""
    out: dict[str, tuple[str, str, float]] = {}
    someone = any(not _whose(c) for c, cat in columns if cat in NAME_KINDS)  # the row's own person
    for kind in sorted(NAME_KINDS):
        named = [c for c, cat in columns if cat == kind]
        own = next((c for c in named if not _whose(c)), None if someone or not named else named[0])
        for c in named:
            if c != own:
                out[c] = (_whose(c) or "same", own or "", _same_share(frame, own, c, k))
    return out


def _same_share(frame: pd.DataFrame, own: str | None, other: str, k: int) -> float:
    """The share of rows, of those where both are set, whose two names are equal (ignoring case);
    0 where fewer than k rows are."""
    if own is None or own not in frame or other not in frame:
        return 0.0
    both = frame[own].notna().to_numpy() & frame[other].notna().to_numpy()
    a = frame[own].astype(str).str.strip().str.casefold()
    equal = both & (a == frame[other].astype(str).str.strip().str.casefold()).to_numpy()
    return round(float(equal.sum() / both.sum()), 4) if equal.sum() >= max(k, 1) else 0.0


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
        # declared lengths the generated values must fit whole: "first", "last", "full" (a person
        # name column), "email"; a name too long is drawn again from those that fit, never cut
        self.limits: dict[str, int] = {}

    def _pools(self) -> tuple[np.ndarray, ...]:
        if self._names is None:
            f, n, rng = self.fake, self.n, self.rng
            size = min(max(n, 50), POOL)
            female = np.array([f.first_name_female() for _ in range(size)], dtype=object)
            male = np.array([f.first_name_male() for _ in range(size)], dtype=object)
            last_pool = np.array([f.last_name() for _ in range(size)], dtype=object)
            full = self.limits.get("full")
            first_max = min(self.limits.get("first", 10**9), (full or 10**9) - 2)
            last_max = min(self.limits.get("last", 10**9), (full or 10**9) - 2)
            female, male = _fitting(female, first_max), _fitting(male, first_max)
            last_pool = _fitting(last_pool, last_max)
            is_female = rng.random(n) < 0.5 if self.sexes is None else self.sexes
            first = np.where(
                is_female, female[rng.integers(0, len(female), n)], male[rng.integers(0, len(male), n)]
            )
            last = last_pool[rng.integers(0, len(last_pool), n)]
            if full:  # first and last together within the name column: the last name drawn again
                for _ in range(20):
                    long = np.flatnonzero(_lengths(first) + 1 + _lengths(last) > full)
                    if not len(long):
                        break
                    last[long] = last_pool[rng.integers(0, len(last_pool), len(long))]
                long = np.flatnonzero(_lengths(first) + 1 + _lengths(last) > full)
                if len(long):  # still too long: the shortest last name, then the shortest first
                    last[long] = min(last_pool, key=len)
                    short_first = min(np.concatenate([female, male]), key=len)
                    again = long[_lengths(first[long]) + 1 + _lengths(last[long]) > full]
                    first[again] = short_first
            self._names = (female, male, last_pool, first, last, np.asarray(is_female, dtype=bool))
        return self._names

    @property
    def is_female(self) -> np.ndarray:
        """Each row's person's sex as their first name was drawn for."""
        return self._pools()[5]

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
        if model.other and cat in NAME_KINDS:
            return self._other_names(model, rng)
        if cat == "first_name":
            return self.first.copy()
        if cat == "last_name":
            return self.last.copy()
        if cat == "person_name":
            return np.asarray(self.first, dtype=object) + " " + np.asarray(self.last, dtype=object)
        if cat == "email":
            return self._emails(model, rng)
        if cat == "street_address":
            pool = np.array([f.street_address() for _ in range(min(max(n, 50), POOL))], dtype=object)
            return pool[rng.integers(0, len(pool), n)]
        if cat == "free_text":
            return self._text(model, rng)
        return self.draw(model, n, rng)

    def _other_names(self, model: PiiModel, rng: np.random.Generator) -> np.ndarray:
        """Another person's names, drawn apart from the row's own: a mother's a woman's given name,
        a guardian's anyone's, a second given name of the row's person of the row's sex. Each
        fits its column as the row's own names do (they are drawn from the same pools)."""
        n = self.n
        if model.category == "last_name":
            return self.last_pool[rng.integers(0, len(self.last_pool), n)]
        if model.category == "person_name":  # another row's full name, so it fits the column whole
            full = np.asarray(self.first, dtype=object) + " " + np.asarray(self.last, dtype=object)
            return full[rng.integers(0, n, n)] if n else full
        female, male = self.female, self.male
        if model.other == "same":
            is_female = self.is_female
        else:
            is_female = np.full(n, model.other == "female") if model.other != "any" else rng.random(n) < 0.5
        return np.where(
            is_female, female[rng.integers(0, len(female), n)], male[rng.integers(0, len(male), n)]
        )

    def draw(self, model: PiiModel, k: int, rng: np.random.Generator) -> np.ndarray:
        """k fresh values of the categories that need no person behind them (not names, e-mails,
        addresses, text): also how a copy of a source value is drawn again."""
        cat = model.category
        if cat == "org_name":  # a pool of Faker companies, drawn from: fast for millions of rows
            pool = np.array([self.fake.company() for _ in range(min(max(k, 50), POOL))], dtype=object)
            return pool[rng.integers(0, len(pool), k)]
        if cat == "secret":
            return secrets(model.formats, k, rng)
        if cat == "url":
            return self._urls(model, k, rng)
        if cat == "ip_address":
            return ip_addresses(model.formats, k, rng)
        shapes = model.shapes or Shapes.fit(pd.Series(["##########"]))
        values = shapes.generate(k, rng)
        if cat == "payment_card":
            issuers = np.array(list("3456"))[rng.integers(0, 4, k)]
            return np.array(
                [
                    with_luhn(v if v[:1] in "23456" else i + v[1:])
                    for v, i in zip(values, issuers, strict=True)
                ],
                dtype=object,
            )
        if cat == "iban":
            return np.array([with_iban_check(v) for v in values], dtype=object)
        return values

    def _urls(self, model: PiiModel, k: int, rng: np.random.Generator) -> np.ndarray:
        schemes = sorted(model.patterns) or ["https://"]
        sw = np.asarray([model.patterns.get(p, 1.0) for p in schemes], dtype=float)
        prefix = np.asarray(schemes, dtype=object)[rng.choice(len(schemes), k, p=sw / sw.sum())]
        hosts = sorted(model.domains)
        kept = sum(model.domains.values())  # the share of source URLs on a common host
        size = min(max(k, 50), POOL)
        own = np.array([self.fake.domain_name() for _ in range(size)], dtype=object)
        paths = np.array([self.fake.uri_path() for _ in range(size)], dtype=object)
        host = own[rng.integers(0, size, k)]
        if hosts:
            hw = np.asarray([model.domains[h] for h in hosts], dtype=float)
            common = rng.random(k) < kept
            host[common] = np.asarray(hosts, dtype=object)[
                rng.choice(len(hosts), int(common.sum()), p=hw / hw.sum())
            ]
        path = paths[rng.integers(0, size, k)]
        return np.array([f"{a}{b}/{c}" for a, b, c in zip(prefix, host, path, strict=True)], dtype=object)

    def avoid(
        self, model: PiiModel, values: np.ndarray, is_copy: Any, rng: np.random.Generator
    ) -> np.ndarray:
        """Redraw values that happen to equal a source value (``is_copy`` tells which)."""
        out = np.asarray(values, dtype=object).copy()
        check = np.arange(len(out))  # after the first round, only the values drawn again
        for _ in range(10):
            bad = check[np.asarray(is_copy(out[check]), dtype=bool)] if len(check) else check
            if not len(bad):
                break
            check = bad
            k = len(bad)
            cat = model.category
            if cat == "email":
                nums = rng.integers(100, 10_000, k)
                out[bad] = [v.replace("@", f"{n}@", 1) for v, n in zip(out[bad], nums, strict=True)]
            elif cat == "person_name":
                first = np.concatenate([self.female, self.male])
                full = self.limits.get("full") or 10**9
                names = []
                for a in first[rng.integers(0, len(first), k)]:
                    fits = self.last_pool[_lengths(self.last_pool) <= full - 1 - len(a)]  # whole, not cut
                    pool = fits if len(fits) else self.last_pool
                    names.append(f"{a} {pool[rng.integers(0, len(pool))]}")
                out[bad] = names
            elif cat == "street_address":
                out[bad] = [self.fake.street_address() for _ in range(k)]
            elif cat == "free_text":
                out[bad] = [self.fake.sentence(nb_words=10) for _ in range(k)]
            elif cat in {"first_name", "last_name"}:
                pool = self.female if cat == "first_name" else self.last_pool
                out[bad] = pool[rng.integers(0, len(pool), k)]
            else:
                out[bad] = self.draw(model, k, rng)
        return out

    def _emails(self, model: PiiModel, rng: np.random.Generator) -> np.ndarray:
        n = self.n
        patterns = sorted(model.patterns) or ["first.last"]  # sorted: the same draws after save/load
        weights = np.asarray([model.patterns.get(p, 1.0) for p in patterns], dtype=float)
        chosen = np.asarray(patterns, dtype=object)[rng.choice(len(patterns), n, p=weights / weights.sum())]
        domains = sorted(model.domains) or list(DOCUMENTATION_DOMAINS)
        dw = np.asarray([model.domains.get(d, 1.0) for d in domains], dtype=float)
        dom = np.asarray(domains, dtype=object)[rng.choice(len(domains), n, p=dw / dw.sum())]
        limit = self.limits.get("email")
        if limit:  # a domain that leaves room for a local part: the source's if it fits, else a short one
            room = [d for d in (*DOCUMENTATION_DOMAINS, *SHORT_DOMAINS) if len(d) + 1 + MIN_LOCAL <= limit]
            short = room[0] if room else min(SHORT_DOMAINS, key=len)
            dom[_lengths(dom) + 1 + MIN_LOCAL > limit] = short
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
            number = str(nums[i]) if digits[i] else ""
            if limit:  # shorter forms of the same person, whole: flast, first, f + part of last
                space = limit - 1 - len(dom[i]) - len(number) - 2  # 2: left for make_unique's number
                for shorter in (local, f"{first[0]}{last}", first, last, f"{first[0]}{last[:2]}"):
                    if len(shorter) <= space:
                        local = shorter
                        break
                else:
                    local = local[: max(1, space)]
            out[i] = f"{local}{number}@{dom[i]}"
        return out

    def _text(self, model: PiiModel, rng: np.random.Generator) -> np.ndarray:
        """Texts of the source's lengths, cut at a word from one run of pooled sentences: the
        sentences are joined once, not per row (TPC-H's comments: millions of rows)."""
        n = self.n
        if n == 0:
            return np.empty(0, dtype=object)
        sentences = np.array(
            [self.fake.sentence(nb_words=8) for _ in range(min(max(n, 50), 2000))], dtype=object
        )
        q = np.asarray(model.lengths or [40, 120], dtype=float)
        targets = np.maximum(np.interp(rng.random(n), np.linspace(0, 1, len(q)), q).astype(int), 1)
        lengths = np.array([len(x) + 1 for x in sentences])  # each with the space after it
        need = int(targets.sum()) + n + int(lengths.max())  # the last text may start a sentence late
        picks = rng.integers(0, len(sentences), int(need / lengths.mean() * 1.1) + 25)
        while lengths[picks].sum() < need:
            picks = np.concatenate([picks, rng.integers(0, len(sentences), 25 + len(picks) // 10)])
        run = " ".join(sentences[picks])
        # each text starts at the first sentence of its stretch of the run
        starts_at = np.concatenate([[0], np.cumsum(lengths[picks])])
        begin = np.concatenate([[0], np.cumsum(targets[:-1] + 1)])
        first = np.searchsorted(starts_at, begin)
        fast = _cut_texts(run, starts_at[first], targets)
        if fast is not None:
            return fast
        out = np.empty(n, dtype=object)
        for i, (b, t) in enumerate(zip(starts_at[first], targets, strict=True)):
            text = run[b : b + t + 1]
            if len(text) > t:  # whole words within the length
                text = text[:t].rsplit(" ", 1)[0] or text[:t]
            out[i] = text.strip()
        return out


def _lengths(values: np.ndarray) -> np.ndarray:
    return np.fromiter(map(len, values), dtype=np.int64, count=len(values))


def _fitting(pool: np.ndarray, limit: int) -> np.ndarray:
    """The pool's names of at most ``limit`` characters (the whole pool if none is)."""
    short = pool[_lengths(pool) <= limit]
    return short if len(short) else pool


def _cut_texts(run: str, begins: np.ndarray, targets: np.ndarray) -> np.ndarray | None:
    """PeopleFactory._text's texts, its loop's bounds found with numpy (the loop was a tenth of
    sampling TPC-H, whose every table has a comment): text i is run[b:b + t + 1] (b, t: begins[i],
    targets[i] >= 1), cut before its last space within run[b:b + t] when longer than t (kept at t
    characters if that leaves nothing), then stripped. Only for ASCII with no whitespace but
    spaces (Faker's en_US sentences), where strip() removes spaces alone; None otherwise."""
    if not run.isascii():
        return None
    chars = np.frombuffer(run.encode("ascii"), dtype=np.uint8)
    if np.isin(chars, _OTHER_ASCII_SPACE).any():
        return None
    size = len(chars)
    begins = np.asarray(begins, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    spaces = np.flatnonzero(chars == 32)
    cut = begins + targets + 1 <= size  # text longer than t
    # the last space before b + t, if at or after b: text[:t].rsplit(" ", 1)[0] ends there,
    # unless that is b itself (an empty head: text[:t] is kept)
    at = np.searchsorted(spaces, begins + targets, side="left") - 1
    last = spaces[np.maximum(at, 0)] if len(spaces) else np.zeros(len(begins), dtype=np.int64)
    split = (at >= 0) & (last > begins)
    ends = np.where(cut, np.where(split, last, begins + targets), size)
    starts = np.minimum(begins, size)
    # strip(): past the run of spaces holding the first character, before the one holding the last
    if len(spaces):
        breaks = np.flatnonzero(np.diff(spaces) != 1)
        run_start = spaces[np.concatenate([[0], breaks + 1])]
        run_end = spaces[np.concatenate([breaks, [len(spaces) - 1]])] + 1
        k = np.searchsorted(run_start, starts, side="right") - 1
        inside = (k >= 0) & (starts < run_end[np.maximum(k, 0)])
        starts = np.where(inside, run_end[np.maximum(k, 0)], starts)
        k = np.searchsorted(run_start, ends - 1, side="right") - 1
        inside = (k >= 0) & (ends - 1 < run_end[np.maximum(k, 0)]) & (ends > 0)
        ends = np.where(inside, run_start[np.maximum(k, 0)], ends)
    out = np.empty(len(begins), dtype=object)
    out[:] = list(map(run.__getitem__, map(slice, starts.tolist(), ends.tolist())))
    return out


# ASCII characters str.strip() removes besides the space (tab, newline, ..., \x1c-\x1f)
_OTHER_ASCII_SPACE = np.array([c for c in range(128) if chr(c).isspace() and c != 32], dtype=np.uint8)


def sex_flags(frame: pd.DataFrame) -> np.ndarray | None:
    """True where a row's sex/gender column says female, if the table has such a column."""
    for col in frame.columns:
        if re.fullmatch(r"(sex|gender)(_code|_concept_id|_source_value)?", str(col).lower()):
            values = frame[col].astype(str).str.lower().str.strip()
            if values.isin(["f", "female", "w", "woman", "m", "male", "man"]).mean() > 0.8:
                return values.isin(["f", "female", "w", "woman"]).to_numpy()
    return None


# -- secrets, checksums, network addresses ------------------------------------------------------
def _alphabet(part: str) -> str:
    chars = set(part)
    for name in ("digits", "hex", "HEX", "lower", "upper", "alnum", "crypt", "b64", "b64url"):
        if chars <= set(_ALPHABETS[name]):
            return name
    return "print"


def _random_part(part: str, alphabet: str | None = None) -> list[Any]:
    """A part of a secret as its alphabet and length, its '=' padding kept as written."""
    core = part.rstrip("=")
    pad = len(part) - len(core)
    parts: list[Any] = [["seg", alphabet or _alphabet(core), len(core)]] if core else []
    return parts + ([["lit", "=" * pad]] if pad else [])


# How each family of hashes is cut into parts, and the alphabet of its random parts (the last
# part, the digest, may differ from the salt before it).
_FAMILY_SPLIT = {"jwt": r"([.])", "werkzeug": r"([$:])"}
_FAMILY_ALPHABET = {
    "bcrypt": ("crypt", "crypt"),
    "crypt": ("crypt", "crypt"),
    "argon2": ("b64", "b64"),
    "django": ("alnum", "b64"),
    "werkzeug": ("alnum", "hex"),
    "jwt": ("b64url", "b64url"),
}


def secret_template(value: str) -> tuple[list[Any], str]:
    """A secret's format: literal parts (a hash's algorithm and parameters) and random parts
    (alphabet, length); and a token's prefix (sk_live_), kept only if several values share it."""
    text = value.strip()
    kind = pii_detect.secret_kind(text)
    if kind in _HASH_FAMILIES:
        salt, digest = _FAMILY_ALPHABET[str(kind)]
        pieces = re.split(_FAMILY_SPLIT.get(str(kind), r"([$])"), text)
        last = max(i for i, p in enumerate(pieces) if p)
        parts: list[Any] = []
        for i, piece in enumerate(pieces):
            if piece in {"$", ":", "."} or (kind != "jwt" and _HASH_PARAM.match(piece)):
                parts.append(["lit", piece])
            elif kind == "jwt" and i == 0 and piece.startswith("eyJ"):
                parts += [["lit", "eyJ"], *_random_part(piece[3:], salt)]
            elif piece:
                parts += _random_part(piece, digest if i == last else salt)
        return parts, ""
    m = re.match(r"^((?:[A-Za-z]{1,10}[_-]){1,3})(?=[\w-]{16})", text)
    if m:
        return [["lit", m.group(1)], *_random_part(text[len(m.group(1)) :])], m.group(1)
    if kind == "aws key":
        return [["lit", text[:4]], *_random_part(text[4:])], ""
    return _random_part(text), ""


def secret_formats(strings: pd.Series) -> dict[str, float]:
    """Templates of a secret column with their shares: nothing of any value but its format."""
    templates: dict[str, float] = {}
    distinct = strings.str.strip().drop_duplicates()
    prefixes = distinct.map(lambda v: secret_template(v)[1])
    common = {p for p, c in prefixes.value_counts().items() if p and c >= MIN_DOMAIN_COUNT}
    for value, count in strings.str.strip().value_counts().items():
        parts, prefix = secret_template(str(value))
        if prefix and prefix not in common:  # a prefix of one user's own: random like the rest
            parts = _random_part(str(value))
        key = json.dumps(parts, separators=(",", ":"))
        templates[key] = templates.get(key, 0.0) + float(count)
    top = sorted(templates.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TEMPLATES]
    total = sum(w for _, w in top) or 1.0
    return {k: w / total for k, w in top}


def secrets(formats: dict[str, float], k: int, rng: np.random.Generator) -> np.ndarray:
    """k secrets in the source's formats, every random character drawn afresh."""
    keys = sorted(formats) or [json.dumps([["seg", "alnum", 32]], separators=(",", ":"))]
    weights = np.asarray([formats.get(t, 1.0) for t in keys], dtype=float)
    picks = rng.choice(len(keys), size=k, p=weights / weights.sum())
    out = np.empty(k, dtype=object)
    for t in np.unique(picks):
        rows = np.flatnonzero(picks == t)
        columns = []
        for part in json.loads(keys[t]):
            if part[0] == "lit":
                columns.append(np.full(len(rows), part[1], dtype=object))
            else:
                alphabet = np.array(list(_ALPHABETS.get(part[1], _ALPHABETS["alnum"])))
                draws = alphabet[rng.integers(0, len(alphabet), (len(rows), int(part[2])))]
                columns.append(np.array(["".join(r) for r in draws], dtype=object))
        out[rows] = ["".join(p) for p in zip(*columns, strict=True)] if columns else ""
    return out


def with_luhn(value: str) -> str:
    """The generated card number with its last digit set so that the Luhn check holds."""
    digits = [c for c in value if c.isdigit()]
    if len(digits) < 2:
        return value
    body = "".join(digits[:-1])
    check = next(str(d) for d in range(10) if pii_detect.luhn_valid(body + str(d)))
    last = max(i for i, c in enumerate(value) if c.isdigit())
    return value[:last] + check + value[last + 1 :]


def with_iban_check(value: str) -> str:
    """The generated IBAN with check digits that make its mod-97 test hold, its spacing kept."""
    compact = re.sub(r"\s", "", value).upper()
    if len(compact) < 5 or not compact[:2].isalpha():
        return value
    rearranged = compact[4:] + compact[:2] + "00"
    try:
        number = int("".join(str(int(c, 36)) for c in rearranged))
    except ValueError:
        return value
    fixed = compact[:2] + f"{98 - number % 97:02d}" + compact[4:]
    out, j = [], 0
    for c in value:  # put the characters back where the spaces were
        if c.isspace():
            out.append(c)
        else:
            out.append(fixed[j])
            j += 1
    return "".join(out)


def ip_addresses(formats: dict[str, float], k: int, rng: np.random.Generator) -> np.ndarray:
    """Random public addresses, IPv6 as often as in the source."""
    v6 = formats.get("v6", 0.0) / (sum(formats.values()) or 1.0)
    out = np.empty(k, dtype=object)
    six = rng.random(k) < v6
    for i in range(k):
        while True:
            if six[i]:  # global unicast, 2000::/3
                high = int(rng.integers(0x2001, 0x3FFF))
                low = int(rng.integers(0, 2**56)) << 56 | int(rng.integers(0, 2**56))
                addr: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv6Address(high << 112 | low)
            else:
                addr = ipaddress.IPv4Address(int(rng.integers(1 << 24, 224 << 24)))
            if addr.is_global:
                break
        out[i] = str(addr)
    return out


def _url_parts(strings: pd.Series) -> tuple[dict[str, float], dict[str, float]]:
    """Schemes ('https://', 'www.') with their shares, and hosts that at least MIN_DOMAIN_COUNT
    distinct URLs use (a site, not one person's page) with the share of URLs on each."""
    distinct = strings.str.strip().drop_duplicates()
    m = distinct.str.extract(r"^(?P<scheme>(?:[a-zA-Z]+://)?(?:www\.)?)(?P<host>[^/?#:]+)")
    schemes = m["scheme"].fillna("").str.lower().value_counts(normalize=True)
    hosts = m["host"].fillna("").str.lower()
    hosts = hosts.str.replace(r"^www\.", "", regex=True)
    counts = hosts.value_counts()
    kept = counts[(counts >= MIN_DOMAIN_COUNT) & (counts.index != "")]
    return (
        {str(p) or "https://": float(v) for p, v in schemes.items()},
        {str(h): float(c) / len(distinct) for h, c in kept.items()},
    )


def _email_domains(strings: pd.Series) -> dict[str, float]:
    """Each kept domain's share: public providers used by enough rows; every other address's
    share goes to the documentation domains, never to the source's own domain."""
    domains = strings.str.split("@").str[-1].str.strip().str.lower().value_counts()
    if domains.empty:
        return {}
    public = domains[[d in PUBLIC_MAIL and k >= MIN_DOMAIN_COUNT for d, k in domains.items()]]
    other = float(domains.sum() - public.sum())
    out = {str(d): float(k) for d, k in public.items()}
    for d in DOCUMENTATION_DOMAINS:
        if other:
            out[d] = other / len(DOCUMENTATION_DOMAINS)
    total = sum(out.values())
    return {d: k / total for d, k in sorted(out.items())}
