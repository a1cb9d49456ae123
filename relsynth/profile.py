"""Semantic kinds and personal data, decided from the catalog plus a small sample of rows.

Pure functions over a Table and a DataFrame: no database here. The reasons are kept with each
column so `relsynth inspect` can show why, and a user can correct it in the schema file.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pandas as pd

from relsynth.schema import Column, Kind, Table
from relsynth.sqltypes import INTEGER_TYPES, KIND_OF_TYPE, STRING_TYPES, unsupported_reason

# Personal data that may be stored in number columns too.
NUMERIC_PII = frozenset({"phone", "national_id", "record_number"})
# Categories that identify a person (a free-text comment or a company phone does not).
PERSON_PII = frozenset({"person_name", "first_name", "last_name", "national_id", "record_number", "email"})

# Most distinct values a column may have and still be modelled as categories.
MAX_CATEGORIES = 1000

_PERSON_TABLES = re.compile(
    r"(^|_)(patient|person|people|customer|client|employee|staff|user|member|contact|provider|"
    r"physician|doctor|nurse|student|teacher|guardian|driver|author|owner|applicant|subscriber|"
    r"passenger|donor|caregiver|practitioner|clinician)s?($|_)"
)
_NAME_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"e_?mail")),
    ("phone", re.compile(r"phone|(^|_)fax($|_)|mobile|(^|_)cell($|_)|telephone|(^|_)tel($|_)")),
    ("first_name", re.compile(r"first_?name|given_?name|fore_?name|(^|_)fname$|middle_?name")),
    ("last_name", re.compile(r"last_?name|sur_?name|family_?name|(^|_)lname$|maiden")),
    (
        "person_name",
        re.compile(
            r"(contact|patient|customer|employee|person|client|member|user|guardian|mother|father|spouse|"
            r"doctor|physician|nurse|provider|student|owner|full)_?name"
        ),
    ),
    ("street_address", re.compile(r"(^|_)(street|address|addr)(_?line)?_?\d?$|home_?address|street_?addr")),
    (
        "national_id",
        re.compile(
            r"(^|_)ssn($|_)|social_?sec|national_?id|passport|(^|_)drivers?($|_)|drivers?_?licen|"
            r"licen[cs]e_?(no|num)|tax_?id|(^|_)nhs($|_)|(^|_)npi($|_)"
        ),
    ),
    ("record_number", re.compile(r"(^|_)mrn($|_)|medical_?record|record_?(no|num)|chart_?(no|num)")),
    ("free_text", re.compile(r"(^|_)(notes?|comments?|remarks?|narrative|free_?text|note_?text)($|_)")),
)
_EMAIL = re.compile(r"^[\w.+'-]+@[\w-]+(\.[\w-]+)+$")
_PHONE = re.compile(r"^\+?[\d\s().-]{7,24}(\s*(x|ext\.?)\s*\d+)?$")
_SSN = re.compile(r"^\d{3}-\d{2}-\d{4}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
_ID_NAME = re.compile(r"(^id$|_id$|id$|_key$|_code$|_no$|_num$|_number$|_nr$)", re.IGNORECASE)


def _norm(name: str) -> str:
    """snake_case, lower: 'FirstName' and 'first_name' match the same rules."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower().replace(" ", "_")


def _share(values: pd.Series, pattern: re.Pattern[str]) -> float:
    if values.empty:
        return 0.0
    return float(values.map(lambda v: bool(pattern.match(v))).mean())


def detect_pii(table: Table, col: Column, values: pd.Series | None) -> tuple[str | None, str]:
    """PII category of a column and why, from its name, its table and its content."""
    if col.kind in {Kind.UNSUPPORTED, Kind.BOOLEAN, Kind.DATETIME}:
        return None, ""
    if col.name in table.primary_key or col.name in table.fk_columns():
        return None, ""
    name = _norm(col.name)
    strings = _strings(values)
    textual = col.type.name in STRING_TYPES
    for category, pattern in _NAME_RULES:
        if not pattern.search(name):
            continue
        if not textual and category not in NUMERIC_PII:
            continue
        if category in {"free_text", "street_address"} and _ID_NAME.search(col.name):
            continue
        present = strings if strings is not None and not strings.empty else None
        if category == "email" and present is not None and _share(present, _EMAIL) < 0.5:
            continue
        if category == "street_address" and re.search(r"(ip|mac|web|url|email)_?addr", name):
            continue
        if (
            category == "free_text"
            and present is not None
            and (present.str.len().mean() < 15 or not present.str.contains(" ").mean() > 0.5)
        ):
            continue
        return category, "by column name"
    if textual and _PERSON_TABLES.search(_norm(table.name)):
        if name in {"name", "full_name", "fullname"}:
            return "person_name", "by column name in a table of people"
        if name in {"first", "given", "middle", "forename"}:
            return "first_name", "by column name in a table of people"
        if name in {"last", "family", "surname"}:
            return "last_name", "by column name in a table of people"
    if strings is not None and len(strings) >= 5 and textual:
        if _share(strings, _EMAIL) >= 0.8:
            return "email", "by content"
        if _share(strings, _SSN) >= 0.8:
            return "national_id", "by content"
        digits = strings.str.count(r"\d")
        if (
            _share(strings, _PHONE) >= 0.8
            and digits.mean() >= 7
            and strings.str.contains(r"[\s().-]").mean() > 0.5
        ):
            return "phone", "by content"
    return None, ""


def _strings(values: pd.Series | None) -> pd.Series | None:
    if values is None:
        return None
    v = values.dropna()
    if v.empty or not all(isinstance(x, str) for x in v.head(50)):
        return None
    return v.astype(str)


def infer_kind(table: Table, col: Column, values: pd.Series | None) -> tuple[Kind, str]:
    """The column's kind and the reason, from keys, type and (when given) a sample of its values."""
    t = col.type
    type_kind = KIND_OF_TYPE.get(t.name, Kind.UNSUPPORTED)
    single_unique = {u.columns[0] for u in table.unique if len(u.columns) == 1} | {
        ix.columns[0] for ix in table.indexes if ix.unique and len(ix.columns) == 1
    }
    if col.computed:
        return Kind.UNSUPPORTED, "generated column: left to the database"
    if type_kind is Kind.UNSUPPORTED:
        return Kind.UNSUPPORTED, unsupported_reason(t, col.nullable)
    if col.name in table.primary_key:
        return Kind.ID, "primary key" if len(table.primary_key) == 1 else "part of the primary key"
    if col.name in table.fk_columns():
        return Kind.ID, "foreign key"
    if type_kind is Kind.CATEGORICAL:
        return Kind.CATEGORICAL, f"{t.name} of {len(t.values)} values"
    if type_kind in {Kind.BOOLEAN, Kind.DATETIME}:
        return type_kind, t.name
    if type_kind is Kind.ID:
        return Kind.ID, t.name
    sample = None if values is None else values.dropna()
    if col.name in single_unique:
        return Kind.ID, "unique"
    if sample is None or sample.empty:
        if type_kind is Kind.NUMERICAL:
            return Kind.NUMERICAL, t.name + ("" if sample is None else "; all NULL in the sample")
        why = "no data to look at" if sample is None else "all NULL in the sample: written as NULL"
        return (Kind.TEXT if t.name == "text" else Kind.CATEGORICAL), why
    n = len(sample)
    distinct = sample.nunique()
    if type_kind is Kind.NUMERICAL:
        if t.name in INTEGER_TYPES and _ID_NAME.search(col.name) and t.name != "year":
            if distinct >= 0.95 * n and n >= 20:
                return Kind.ID, "identifier-like integers (unique in the sample)"
            if distinct <= 50 or distinct <= 0.1 * n:
                return Kind.CATEGORICAL, f"code-like integers ({distinct} distinct in the sample)"
        return Kind.NUMERICAL, t.name
    if t.name in STRING_TYPES:
        strings = sample.astype(str).str.strip()  # char(n) pads with spaces
        distinct = strings.nunique()
        if _share(strings, _DATE) >= 0.95:
            return Kind.DATETIME, "text holding dates"
        if _share(strings, _UUID) >= 0.95:
            return Kind.ID, "text holding UUIDs"
        lengths = strings.str.len()
        words = strings.str.count(r"\s+") + 1
        if distinct <= 20 and distinct < n:
            return Kind.CATEGORICAL, f"{distinct} distinct values in the sample"
        if words.mean() > 3 or lengths.mean() > 50:
            return Kind.TEXT, "free text"
        if distinct <= MAX_CATEGORIES and distinct <= 0.5 * n:
            return Kind.CATEGORICAL, f"{distinct} distinct values in the sample"
        if distinct == n and n >= 20 and not strings.str.contains(" ").any():
            return Kind.ID, "identifier-like strings (unique in the sample)"
        return Kind.TEXT, f"{distinct} distinct values in {n}: too many to copy as categories"
    return Kind.UNSUPPORTED, unsupported_reason(t, col.nullable)


def profile_table(table: Table, sample: pd.DataFrame | None) -> Table:
    """Fill in kind and PII of every column (a column already marked in a schema file is kept)."""
    cols = []
    for col in table.columns:
        values = sample[col.name] if sample is not None and col.name in sample else None
        kind, why = infer_kind(table, col, values)
        col = replace(col, kind=kind, kind_reason=why)
        pii, pii_why = detect_pii(table, col, values)
        cols.append(replace(col, pii=pii, pii_reason=pii_why))
    return replace(table, columns=tuple(cols))
