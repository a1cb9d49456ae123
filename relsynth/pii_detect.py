"""Personal data recognised by what a column holds, whatever it is called.

Pure functions over a column's sampled values (the profiling sample, spread over the table): no
database. Each detector tells, value by value, whether it looks like one thing (a person's name, a
password hash, a checksummed card number); a column is marked only when most of its non-NULL
values do (``THRESHOLD``), so one odd value does not mark a column, and a column of a few repeated
hashes is still a column of hashes. ``detect`` returns the category and the reason shown by
``relsynth inspect --columns`` ("by content: 92% person names").
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import unicodedata
from collections.abc import Callable
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import pandas as pd

THRESHOLD = 0.8  # share of non-NULL values that must match, content alone
HINTED = 0.5  # the same when the column's name already points at the category
MIN_VALUES = 3  # fewer non-NULL values than this: names and shapes say too little (a small
# reference table of four departments with their heads' names and phones is personal data too)
MIN_STRONG = 3  # hashes, checksummed numbers: a few values are enough
MIN_NAMES = 10  # distinct matching values for single given names or surnames, content alone
MIN_ORGS = 20  # distinct organisation names that identify without being one row each
MAX_DISTINCT = 500  # distinct values looked at (the most frequent): enough to judge a share


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# -- person names -------------------------------------------------------------------------------
_TITLES = _words(
    "mr mrs ms miss mx dr prof sir dame rev fr mme mlle sr sra srta herr frau sig sigra dott "
    # academic titles before a name in Central Europe and the Low Countries ('Ing. Novák')
    "ing mgr bc mudr mvdr mddr phdr judr rndr paeddr thdr doc dipl dipl-ing mag dkfm drs "
    # German and Austrian professorships ('Univ.-Prof. Dr. Müller'), Russian and Bulgarian
    # abbreviations ('д-р Иванов', 'проф. Петров', 'г-н Смирнов')
    "univ-prof ao-univ-prof apl-prof hon-prof priv-doz д-р др проф доц акад г-н г-жа гн"
)
# What follows a doctorate before the name ('Dr. med. Müller', 'Dr. rer. nat. Klein', 'Dr. h.c.')
_FIELDS = _words("med dent vet rer nat pol oec phil jur iur theol techn habil hc sc agr ing mont")
# Degrees and honours after a name and a comma ('Novak, Ph.D.', 'Jan Kvapil, CSc., MBA')
_POST_NOMINALS = _words(
    "phd csc drsc dsc dis mba msc bsc llm jd md dds dmd dvm mph rn esq jr sr artd thd drhc facs frcs "
    "ктн дтн кмн дмн кфмн"
)
_SUFFIXES = _words("jr sr ii iii iv phd md esq")
_PARTICLES = _words(
    "de del della der den di da das do dos du van von ter la le bin ibn al el y e st mac ben bat"
)
_NAME_TOKEN = re.compile(r"^[^\W\d_]+(?:['’-][^\W\d_]+)*\.?\d{0,4}$")


@lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Lower case without accents or apostrophes: 'José' and 'Jose', "O'Brien" and 'obrien'."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"['’.]", "", plain).casefold()


@cache
def name_lists() -> tuple[frozenset[str], frozenset[str]]:
    """Given names and surnames of many locales, from relsynth/data/names.txt (read once)."""
    given: set[str] = set()
    family: set[str] = set()
    target = given
    text = resources.files("relsynth").joinpath("data/names.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            target = given if line[1:].startswith("given") else family
            continue
        target.update(fold(w) for w in line.split())
    return frozenset(given), frozenset(family)


def _known(token: str, names: frozenset[str]) -> bool:
    """A token is a known name as a whole, or each part of a hyphenated one (Jean-Pierre)."""
    t = fold(re.sub(r"\d+$", "", token))  # Synthea writes 'Abe604'
    if not t:
        return False
    if t in names or t.replace("-", "") in names:
        return True
    parts = [p for p in t.split("-") if p]
    return len(parts) > 1 and all(p in names for p in parts)


def _name_tokens(part: str) -> list[str] | None:
    """The name's own tokens (titles, suffixes and particles set aside), or None if not name-like."""
    tokens = part.replace(",", " ").split()
    if len(tokens) > 6:
        return None
    core = []
    for i, tok in enumerate(tokens):
        low = fold(tok)
        if not _NAME_TOKEN.match(tok):
            return None
        if (i == 0 and low in _TITLES) or (i == len(tokens) - 1 and low in _SUFFIXES and i > 0):
            continue
        if 0 < i < len(tokens) - 1 and low in _PARTICLES:
            continue
        core.append(tok)
    return core if 1 <= len(core) <= 4 else None


def person_name_kind(value: str) -> str | None:
    """'full' (Given Family, Family, Given), 'given', 'family', 'either' (one token, both lists), or None."""
    given, family = name_lists()
    text = value.strip()
    if text.count(",") == 1:  # Family, Given
        fam, giv = (_name_tokens(p) for p in text.split(","))
        if not fam or not giv or len(fam) > 3 or len(giv) > 3:
            return None
        known_fam, known_giv = _known(fam[-1], family), _known(giv[0], given)
        if (known_fam and known_giv) or ((known_fam or known_giv) and _capitalised(fam + giv)):
            return "full"
        return None
    tokens = _name_tokens(text)
    if not tokens:
        return None
    if len(tokens) == 1:
        g, f = _known(tokens[0], given), _known(tokens[0], family)
        return "either" if g and f else "given" if g else "family" if f else None
    first, last = tokens[0], tokens[-1]
    both = (_known(first, given) and _known(last, family)) or (_known(first, family) and _known(last, given))
    if both:
        return "full"
    if _capitalised(tokens) and (_known(first, given) or _known(last, family)):
        return "full"
    return None


def after_a_title(value: str) -> str | None:
    """'full' or 'family' for a capitalised name after personal titles ('Dr. Novak', 'Mrs. Ana
    Ito', 'Univ.-Prof. Dr. med. Müller', 'проф. Петров') or before degrees after a comma ('Novak,
    Ph.D.', 'Jan Kvapil, CSc., MBA'), whatever the name lists hold; None otherwise (a title alone
    is no one, nor are words after a comma that are not all degrees: 'Hypertension, unspecified')."""
    head, *tail = value.split(",")
    after = [fold(t) for part in tail for t in part.split()]
    if any(not part.strip() for part in tail) or not all(t in _POST_NOMINALS for t in after):
        return None
    tokens = head.split()
    titles = 0
    while tokens and (fold(tokens[0]) in _TITLES or (titles and fold(tokens[0]) in _FIELDS)):
        tokens.pop(0)
        titles += 1
    if not (titles or after) or not tokens:
        return None
    core = [t for i, t in enumerate(tokens) if not (0 < i < len(tokens) - 1 and fold(t) in _PARTICLES)]
    if len(core) > 3 or not all(_NAME_TOKEN.match(t) for t in core) or not _capitalised(core):
        return None
    return "full" if len(core) > 1 else "family"


def _capitalised(tokens: list[str]) -> bool:
    return all(t[:1].isupper() for t in tokens)


# -- organisations ------------------------------------------------------------------------------
_LEGAL_FORMS = _words(
    "inc incorporated ltd limited llc llp lp plc corp corporation co company gmbh ag kg ohg ug sa sas "
    "sarl spa srl sl sro bv nv ab oy oyj as asa aps hb kk pty pvt ltda cia cie sac zrt kft doo ooo "
    "pjsc jsc ehf"
)
_ORG_WORDS = _words(
    "bank banco banque hotel hospital clinic clinica university universidad universidade universite "
    "college school institute instituto foundation fundacion association society trading traders "
    "import imports importadora export exports market markets supermarket supermarkets supermercado "
    "supermarkt hipermercado hipermercados store stores shop shoppe grocery grocers restaurant "
    "restaurante ristorante bistro cafe deli delicatessen delikatessen gourmet foods logistics "
    "shipping express freight airlines airways services solutions systems technologies consulting "
    "partners associates industries enterprises international holdings group media studios labs "
    "laboratories pharmacy pharma farms motors bakery brewery winery cellars comercial distribuidora "
    "ventures capital insurance realty properties construction agency"
)
_ORG_SHAPE = re.compile(r"^[\w&'’().,/+-]+( [\w&'’().,/+-]+){0,7}$")


def name_like(value: str) -> bool:
    """A proper name of something (a person, a company): a few words, the first capitalised."""
    text = value.strip()
    return bool(_ORG_SHAPE.match(text)) and (text[:1].isupper() or text[:1].isdigit()) and not text.isdigit()


def is_org_name(value: str) -> bool:
    """A name with a legal form (GmbH, S.A., Inc.) or a word organisations are named with."""
    if not name_like(value):
        return False
    words = [fold(w) for w in re.split(r"[\s,&()/-]+", value) if w]
    return any(w in _LEGAL_FORMS or w in _ORG_WORDS for w in words)


# -- secrets and tokens -------------------------------------------------------------------------
_HEX_LENGTHS = frozenset({32, 40, 56, 64, 96, 128})
_SECRET_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("bcrypt", re.compile(r"^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$")),
    ("argon2", re.compile(r"^\$argon2(id|i|d)\$(v=\d+\$)?m=\d+,t=\d+,p=\d+\$[\w+/]+\$[\w+/]+$", re.ASCII)),
    ("crypt", re.compile(r"^\$(1|5|6|md5|sha1|y|7|gy)\$(rounds=\d+\$)?[./\w]{1,64}\$[./\w]{16,}$", re.ASCII)),
    (
        "django",
        re.compile(r"^(pbkdf2_sha256|pbkdf2_sha1|pbkdf2_sha512|bcrypt_sha256|scrypt|sha1|md5)\$[^\s]{8,}$"),
    ),
    ("werkzeug", re.compile(r"^(pbkdf2:sha\d+(:\d+)?|scrypt(:\d+){3})\$[^\s$]+\$[0-9a-f]{32,}$")),
    ("jwt", re.compile(r"^eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}$")),
    ("aws key", re.compile(r"^(AKIA|ASIA)[0-9A-Z]{16}$")),
)
_HEX = re.compile(r"^(?:[0-9a-f]+|[0-9A-F]+)$")
_TOKEN = re.compile(r"^(?P<prefix>(?:[A-Za-z][A-Za-z\d]{0,9}[_-]){0,3})(?P<core>[\w+/-]{20,})={0,2}$", re.A)
_DASHED_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _class_switches(text: str) -> float:
    """How often the character class changes from one character to the next: random strings
    switch often, words and codes seldom."""
    classes = ["d" if c.isdigit() else "u" if c.isupper() else "l" if c.islower() else "p" for c in text]
    return sum(a != b for a, b in itertools.pairwise(classes)) / max(len(text) - 1, 1)


def secret_kind(value: str) -> str | None:
    """'bcrypt', 'argon2', 'crypt', 'django', 'werkzeug', 'jwt', 'aws key', 'hex digest', 'token' or None."""
    text = value.strip()
    for kind, pattern in _SECRET_SHAPES:
        if pattern.match(text):
            return kind
    if _DASHED_UUID.match(text):
        return None
    mixed = re.search(r"\d", text) and re.search(r"[a-fA-F]", text)
    if len(text) in _HEX_LENGTHS and _HEX.match(text) and mixed:
        return "hex digest"
    m = _TOKEN.match(text)
    if m and _random(m.group("core")):
        return "token"
    return None


def _random(core: str) -> bool:
    """Drawn at random rather than written: letters and digits mixed all along (digits in several
    places, or hardly a character twice), not CamelCaseWords1 nor ORD2023000012345."""
    classes = sum(bool(re.search(p, core)) for p in (r"[a-z]", r"[A-Z]", r"\d"))
    if classes < 2 or not re.search(r"\d", core) or _class_switches(core) < 0.25:
        return False
    parts = [p for p in re.split(r"[_-]", core) if p]
    if len(parts) >= 3 and all(p.isalpha() or p.isdigit() for p in parts):
        return False  # Words_And_2023_Numbers: an identifier someone composed
    return len(re.findall(r"\d+", core)) >= 2 or len(set(core)) >= 0.75 * len(core)


def _uuid_like_hex(text: str) -> bool:
    """32 hex digits with a UUID's version and variant digits: a UUID without its dashes."""
    return len(text) == 32 and text[12] in "12345678" and text[16].lower() in "89ab"


# -- checksummed numbers ------------------------------------------------------------------------
def luhn_valid(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_number(value: str) -> bool:
    """13-19 digits (spaces or dashes between groups), an issuer's first digit, Luhn-valid."""
    text = value.strip()
    if not re.fullmatch(r"\d[\d -]{11,22}\d", text):
        return False
    digits = re.sub(r"[ -]", "", text)
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and len(set(digits)) > 1 and luhn_valid(digits)


def iban_valid(value: str) -> bool:
    """Country, two check digits, the account: mod 97 of the rearranged number is 1."""
    text = re.sub(r"\s", "", value).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", text):
        return False
    rearranged = text[4:] + text[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def _verhoeff_table() -> list[list[int]]:
    d = [[0] * 10 for _ in range(10)]
    for i in range(10):
        for j in range(10):
            if i < 5 and j < 5:
                d[i][j] = (i + j) % 5
            elif i < 5:
                d[i][j] = 5 + (i + j - 5) % 5
            elif j < 5:
                d[i][j] = 5 + (i - 5 - j) % 5
            else:
                d[i][j] = (i - j) % 5
    return d


_VD = _verhoeff_table()
_VP = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4]]
for _i in range(2, 8):
    _VP.append([_VP[1][_VP[_i - 1][k]] for k in range(10)])


def verhoeff_valid(digits: str) -> bool:
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _VD[c][_VP[i % 8][int(ch)]]
    return c == 0


def _mod11_weights(digits: str, weights: list[int]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False))


def _cpf(d: str) -> bool:  # Brazil
    if len(d) != 11 or len(set(d)) == 1:
        return False
    for n in (9, 10):
        r = _mod11_weights(d[:n], list(range(n + 1, 1, -1))) * 10 % 11 % 10
        if r != int(d[n]):
            return False
    return True


def _pesel(d: str) -> bool:  # Poland
    if len(d) != 11 or len(set(d)) == 1:
        return False
    return (10 - _mod11_weights(d[:10], [1, 3, 7, 9, 1, 3, 7, 9, 1, 3]) % 10) % 10 == int(d[10])


def _bsn(d: str) -> bool:  # Netherlands: the eleven test
    if len(d) != 9 or len(set(d)) == 1:
        return False
    return (_mod11_weights(d[:8], [9, 8, 7, 6, 5, 4, 3, 2]) - int(d[8])) % 11 == 0


def _china_id(text: str) -> bool:  # ISO 7064 MOD 11-2
    if not re.fullmatch(r"\d{17}[\dX]", text):
        return False
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[_mod11_weights(text[:17], weights) % 11] == text[17]


def _dni(text: str) -> bool:  # Spain: DNI and NIE
    m = re.fullmatch(r"([XYZ]?)(\d{7,8})-?([A-Z])", text)
    if not m:
        return False
    number = int(str("XYZ".index(m.group(1))) + m.group(2) if m.group(1) else m.group(2))
    return "TRWAGMYFPDXBNJZSQVHLCKE"[number % 23] == m.group(3)


_CF_ODD = dict(
    zip(
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        [1, 0, 5, 7, 9, 13, 15, 17, 19, 21] * 2 + [2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23],
        strict=True,
    )
)


def _codice_fiscale(text: str) -> bool:  # Italy
    if not re.fullmatch(r"[A-Z]{6}\d{2}[A-Z]\d{2}[A-Z]\d{3}[A-Z]", text):
        return False
    total = 0
    for i, ch in enumerate(text[:15]):
        if i % 2 == 0:
            total += _CF_ODD[ch]
        else:
            total += int(ch) if ch.isdigit() else ord(ch) - ord("A")
    return chr(ord("A") + total % 26) == text[15]


def _nir(d: str) -> bool:  # France: 13 digits and a key of 97
    return len(d) == 15 and d[0] in "12" and 97 - int(d[:13]) % 97 == int(d[13:])


def _personnummer(text: str) -> bool:  # Sweden: YYMMDD-NNNN, Luhn over the ten digits
    m = re.fullmatch(r"(\d{2})?(\d{6})[-+]?(\d{4})", text)
    if m is None:
        return False
    return 1 <= int(m.group(2)[2:4]) <= 12 and luhn_valid(m.group(2) + m.group(3))


_SSN = re.compile(r"\d{3}-\d{2}-\d{4}")
_NINO = re.compile(r"[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]")
_CPF_SHAPE = re.compile(r"\d{3}\.?\d{3}\.?\d{3}-?\d{2}")
_NIR_SHAPE = re.compile(r"[12][\d ]{14,20}")
_AADHAAR_SHAPE = re.compile(r"[2-9]\d{3} ?\d{4} ?\d{4}")
_NATIONAL_IDS: tuple[tuple[str, Callable[[str, str], bool]], ...] = (
    ("US SSN", lambda t, d: bool(_SSN.fullmatch(t))),
    ("UK NINO", lambda t, d: bool(_NINO.fullmatch(t))),
    ("CPF", lambda t, d: bool(_CPF_SHAPE.fullmatch(t)) and _cpf(d)),
    ("PESEL", lambda t, d: t.isdigit() and _pesel(d)),
    ("BSN", lambda t, d: t.isdigit() and _bsn(d)),
    ("resident id", lambda t, d: _china_id(t)),
    ("DNI/NIE", lambda t, d: _dni(t)),
    ("codice fiscale", lambda t, d: _codice_fiscale(t)),
    ("NIR", lambda t, d: bool(_NIR_SHAPE.fullmatch(t)) and _nir(d)),
    ("personnummer", lambda t, d: _personnummer(t)),
    ("Aadhaar", lambda t, d: bool(_AADHAAR_SHAPE.fullmatch(t)) and verhoeff_valid(d)),
)
_DIGITS = re.compile(r"\D")


def national_id_kind(value: str) -> str | None:
    """Which national identifier a value is, by its shape and, where it has one, its checksum."""
    text = value.strip().upper()
    digits = _DIGITS.sub("", text)
    for kind, check in _NATIONAL_IDS:
        if check(text, digits):
            return kind
    return None


# -- addresses on the network, phones -----------------------------------------------------------
EMAIL = re.compile(r"^[\w.+'-]+@[\w-]+(\.[\w-]+)+$")
_URL = re.compile(r"^(?:(?:https?|ftp)://|www\.)[^\s/?#@]+\.[^\s/?#]+(?:[/?#]\S*)?$", re.IGNORECASE)
_PHONE = re.compile(r"^\+?[\d\s().-]{7,24}(\s*(x|ext\.?)\s*\d+)?$")
_NOT_PHONE = re.compile(r"^\d{4}-\d{2}-\d{2}|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$|^-?\d+\.\d+$|^\d+$")


def ip_address(value: str) -> bool:
    """An IPv4 or IPv6 address that reaches a machine on the internet (a private 10.0.0.1 does not
    tell who someone is outside their network)."""
    try:
        return ipaddress.ip_address(value.strip()).is_global
    except ValueError:
        return False


def url(value: str) -> bool:
    return bool(_URL.match(value.strip()))


# Two numbers with a dash between (MIMIC's anchor_year_group '2008 - 2010', an income band
# '50000 - 74999'): a range, unless written as a phone's two groups ('2345-6789').
_RANGE = re.compile(r"^(\d+(?:\.\d+)?)(\s*)[-\u2013](\s*)(\d+(?:\.\d+)?)$")


def number_range(value: str) -> bool:
    """A range of two numbers, first the smaller: spaced around its dash ('2008 - 2010', '10000 -
    20000'), or two years of a span ('2008-2010', a season '1998-1999'); '555-1234' is a phone."""
    m = _RANGE.match(value.strip())
    if m is None:
        return False
    low, high = float(m.group(1)), float(m.group(4))
    if m.group(2) and m.group(3):
        return low < high
    years = all(len(g) == 4 for g in (m.group(1), m.group(4))) and 1000 <= low <= high <= 2999
    return years and high - low <= 200


def phone(value: str) -> bool:
    text = value.strip()
    if not _PHONE.match(text) or _NOT_PHONE.match(text) or number_range(text):
        return False
    return sum(c.isdigit() for c in text) >= 7


# -- a whole column -----------------------------------------------------------------------------
# A column is judged on its distinct values, each weighed by how many rows hold it: `counts` is
# the sample's value_counts(). Cheap patterns over the distinct values first rule out detectors a
# column cannot pass, so a column of free text costs a few vectorised scans, not every detector.
def _share(counts: pd.Series, test: Callable[[str], object]) -> float:
    if counts.empty:
        return 0.0
    mask = [bool(test(v)) for v in counts.index]
    return float(counts[mask].sum() / counts.sum())


def _kinds(counts: pd.Series, kind: Callable[[str], str | None]) -> pd.Series:
    return pd.Series([kind(v) for v in counts.index], index=counts.index, dtype=object)


def _weighed(counts: pd.Series, mask: pd.Series) -> float:
    return float(counts[mask.to_numpy()].sum() / counts.sum()) if len(counts) else 0.0


def _could(counts: pd.Series, pattern: str, need: float = THRESHOLD) -> bool:
    """Enough values match a cheap pattern for the real test to be worth running."""
    return _weighed(counts, pd.Series(counts.index.str.match(pattern), index=counts.index)) >= need


def _pct(share: float) -> str:
    return f"{int(share * 100)}%"


def _distinct_enough(counts: pd.Series) -> bool:
    """Names held by one row each (an entity's own name), or many of them: not a short code list."""
    return len(counts) >= 0.5 * counts.sum() or len(counts) >= MIN_ORGS


def detect(values: pd.Series, *, hint: str | None = None) -> tuple[str | None, str]:
    """PII category of a text column from its non-NULL sampled values, and why.

    ``hint`` is what the column's name suggests: 'person' (contact, cardholder: people only),
    'name' (ship_name, billing_name: people or organisations), 'org' (company_name). A hint lowers
    the share of values that must agree (``HINTED``); without one, content alone must be clear."""
    strings = values.dropna().astype(str).str.strip()
    counts = strings[strings != ""].value_counts().iloc[:MAX_DISTINCT]
    n = int(counts.sum())
    if n < MIN_STRONG:
        return None, ""
    for found in (_secret(counts), _checksummed(counts)):
        if found[0]:
            return found
    if n < MIN_VALUES:
        return _names(counts, hint) if hint else (None, "")
    for category, cheap, test, what in (
        ("email", r".*@", EMAIL.match, "e-mail addresses"),
        ("ip_address", r"^[\d.:a-fA-F]{3,45}$", ip_address, "public IP addresses"),
        ("url", r"^(?:[a-zA-Z]+://|www\.)", url, "URLs"),
        ("phone", r"^\+?[\d\s().-]{7,24}", phone, "phone numbers"),
    ):
        if not _could(counts, cheap):
            continue
        share = _share(counts, test)
        if share >= THRESHOLD:
            if category == "url" and not _distinct_enough(counts):
                continue  # a few links repeated over many rows: not anyone's own
            punctuated = pd.Series(counts.index.str.contains(r"[\s().-]"), index=counts.index)
            if category == "phone" and _weighed(counts, punctuated) <= 0.5:
                continue
            return category, f"by content: {_pct(share)} {what}"
    return _names(counts, hint)


def _secret(counts: pd.Series) -> tuple[str | None, str]:
    if not _could(counts, r"^\S{16,}$"):
        return None, ""
    kinds = _kinds(counts, secret_kind)
    share = _weighed(counts, kinds.notna())
    if share < THRESHOLD:
        return None, ""
    hexes = kinds == "hex digest"
    uuids = pd.Series([_uuid_like_hex(v) for v in counts.index], index=counts.index) & hexes
    if _weighed(counts, hexes) >= 0.5 and _weighed(counts, uuids) >= THRESHOLD * _weighed(counts, hexes):
        return None, ""  # UUIDs written without dashes: identifiers, not digests
    top = str(counts.groupby(kinds).sum().idxmax())
    what = {"token": "tokens or keys", "hex digest": "hex digests", "jwt": "JSON web tokens"}.get(
        top, f"password hashes ({top})" if top != "aws key" else "access keys"
    )
    return "secret", f"by content: {_pct(share)} {what}"


def _checksummed(counts: pd.Series) -> tuple[str | None, str]:
    if not _could(counts, r"^[\w .+/-]{8,42}$") or not _could(counts, r".*\d.*\d"):
        return None, ""
    for category, test, what in (
        ("payment_card", card_number, "card numbers (Luhn-valid)"),
        ("iban", iban_valid, "IBANs (mod-97 valid)"),
    ):
        share = _share(counts, test)
        if share >= THRESHOLD:
            return category, f"by content: {_pct(share)} {what}"
    kinds = _kinds(counts, national_id_kind)
    share = _weighed(counts, kinds.notna())
    if share >= THRESHOLD and len(counts) >= 2:  # one repeated number may be a placeholder
        top = counts.groupby(kinds).sum().idxmax()
        return "national_id", f"by content: {_pct(share)} national ids ({top})"
    return None, ""


def card_column(values: pd.Series) -> tuple[str | None, str]:
    """Card numbers kept in an integer column."""
    ints = values.dropna()
    if len(ints) < MIN_STRONG:
        return None, ""
    share = _share(ints.map(_integer_text).value_counts(), card_number)
    if share >= THRESHOLD:
        return "payment_card", f"by content: {_pct(share)} card numbers (Luhn-valid)"
    return None, ""


def _integer_text(v: Any) -> str:
    """An integer's digits; '' for anything else (a SQLite INTEGER column may hold 'N/A' or 1.5),
    which then counts as no card number."""
    if isinstance(v, bool):
        return ""
    if isinstance(v, str):
        return str(int(v.strip())) if re.fullmatch(r"-?[0-9]+", v.strip()) else ""
    try:
        whole = int(v)  # exact for ints, floats and Decimals alike
    except (TypeError, ValueError, OverflowError):
        return ""
    return str(whole) if whole == v else ""


def org_share(values: pd.Series) -> float:
    """Share of non-NULL values that carry a company's mark (a legal form, a trade word)."""
    return _share(values.dropna().astype(str).value_counts(), is_org_name)


def _names(counts: pd.Series, hint: str | None) -> tuple[str | None, str]:
    """Person names (full, given or family), then names of organisations."""
    need = HINTED if hint in {"person", "name"} else THRESHOLD
    by = "by column name and content" if hint else "by content"
    if not _could(counts, r"^[^\W\d_]", min(need, 0.5)):
        return None, ""  # names begin with a letter
    kinds = _kinds(counts, person_name_kind)
    matched = int(kinds.notna().sum())  # distinct values that are names
    full = _weighed(counts, kinds == "full")
    given = _weighed(counts, kinds.isin(["given", "either"]))
    family = _weighed(counts, kinds.isin(["family", "either"]))
    anyone = _weighed(counts, kinds.notna())
    if counts.sum() >= MIN_VALUES or hint:
        if anyone >= need and full >= need / 2 and matched >= (2 if hint else MIN_STRONG):
            return "person_name", f"{by}: {_pct(anyone)} person names"
        single = matched >= (3 if hint else MIN_NAMES)
        if single and given >= need and given >= family:
            return "first_name", f"{by}: {_pct(given)} given names"
        if single and family >= need:
            return "last_name", f"{by}: {_pct(family)} surnames"
    titled = _kinds(counts, after_a_title)  # 'Dr. Novak': a title says a person, known name or not
    if _weighed(counts, titled.notna()) >= need and len(counts) >= 2:
        kind = "person_name" if _weighed(counts, titled == "full") >= 0.5 else "last_name"
        return kind, f"{by}: {_pct(_weighed(counts, titled.notna()))} names after a title (Dr., Mrs.)"
    if hint == "name" or (hint == "org" and _distinct_enough(counts)):
        share = _share(counts, name_like)
        if share >= THRESHOLD:
            people = hint == "name" and _share(counts, is_org_name) < anyone
            what = "names of people or organisations" if people else "names of organisations"
            return "org_name", f"{by}: {_pct(share)} {what}"
    if hint is None and counts.sum() >= MIN_VALUES and _distinct_enough(counts):
        orgs = _share(counts, is_org_name)
        if orgs >= 0.6 and _share(counts, name_like) >= THRESHOLD:
            return "org_name", f"by content: {_pct(orgs)} organisation names"
    return None, ""
