"""Semantic kinds and personal data, decided from the catalog plus a small sample of rows.

Pure functions over a Table and a DataFrame: no database here. The reasons are kept with each
column so `relsynth inspect` can show why, and a user can correct it in the schema file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import replace

import pandas as pd

from relsynth import partitions, pii_detect
from relsynth.infer import split_key
from relsynth.schema import Column, Kind, Schema, Table
from relsynth.sqltypes import (
    FLOAT_TYPES,
    INTEGER_TYPES,
    JSON_TEXT_REASON,
    KIND_OF_TYPE,
    STRING_TYPES,
    unsupported_reason,
)
from relsynth.transform import CLOCK_FORMATS, LEGACY_DATE_FORMATS, text_date_format, to_epoch_seconds

# Personal data that may be stored in number columns too.
NUMERIC_PII = frozenset({"phone", "national_id", "record_number", "payment_card"})
# Categories that identify a person (a free-text comment or a company phone does not).
PERSON_PII = frozenset({"person_name", "first_name", "last_name", "national_id", "record_number", "email"})

# Most distinct values a column may have and still be modelled as categories. Codes (key-like
# integers without a foreign key, keys into a table left out) are categories at any count: their
# values mean something only as themselves, and their frequencies are the information.
MAX_CATEGORIES = 1000
FK_REASON = "foreign key"
INFERRED_FK_REASON = "inferred foreign key (not declared in the database)"
UNLINKED_REASON = "key into a table left out of the run: codes, with their frequencies"

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
    (
        "secret",
        re.compile(
            r"passw(or)?d|(^|_)(pwd|pass_?hash|salt|totp|otp_?secret)($|_)|secret|api_?key|access_?key|"
            r"(auth|access|refresh|session|api|reset|bearer|csrf|remember|verification)_?token|private_?key"
        ),
    ),
    ("free_text", re.compile(r"(^|_)(notes?|comments?|remarks?|narrative|free_?text|note_?text)($|_)")),
)
_EMAIL = pii_detect.EMAIL
# What a column's name says about the names it may hold; its content decides (pii_detect.detect).
# 'person': people only (contact, cardholder); 'name': people or organisations (ship_name,
# billing_name); 'org': organisations (company_name).
_PERSON_HINT = re.compile(
    r"(\w+_)?(contact|card_?holder|account_?holder|recipient|consignee|addressee|attn|attention|payee|"
    r"beneficiary|guarantor|next_?of_?kin|signatory|attendee|sales_?rep|salesperson|assignee|reporter|"
    r"requester|requestor|(ship|bill|sold|deliver)_?to|emergency_?contact|spouse|guardian|referrer)"
)
_NAME_HINT = re.compile(
    r"(\w+_)?(ship|shipping|bill|billing|delivery|recipient|consignee|contact|card_?holder|"
    r"account_?holder|holder|payee|payer|beneficiary|sender|receiver|addressee|buyer|seller|guarantor|"
    r"signatory|insured|attendee|guest|passenger|tenant|landlord|referrer|customer|client|patient|person|"
    r"member|employee|user|owner|full|display|legal|doctor|physician|nurse|provider|student|guardian|"
    r"mother|father|spouse|(ship|bill|sold|deliver)_?to)_?name"
)
_ORG_HINT = re.compile(
    r"(\w+_)?(compan(y|ies)|organi[sz]ation|org|employer|business|firm|supplier|vendor|merchant)(_?name)?"
)
_ORG_TABLES = re.compile(r"(^|_)(compan(y|ies)|organi[sz]ations?|suppliers?|vendors?|merchants?|employers?)$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
UNIQUE_NUMBER_REASON = "unique numbers: drawn from their distribution, repeats moved to free values"
_ID_NAME = re.compile(r"(^id$|_id$|id$|_key$|_code$|_no$|_num$|_number$|_nr$)", re.IGNORECASE)


def _norm(name: str) -> str:
    """snake_case, lower: 'FirstName' and 'first_name' match the same rules."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower().replace(" ", "_")


# Columns named for a product or article code (NDC, SKU, UPC, EAN, GTIN, ISBN): digits in groups
# that read as a phone number are that code, not anyone's phone (attack round 41: drugs.ndc).
_PRODUCT_CODE = re.compile(r"(^|_)(ndc|sku|upc|ean|gtin|isbn|issn|product_code|article_code)($|_)")


def _share(values: pd.Series, pattern: re.Pattern[str]) -> float:
    if values.empty:
        return 0.0
    return float(values.map(lambda v: bool(pattern.match(v))).mean())


def _date_text(strings: pd.Series) -> str | None:
    """The format every string reads as a date in (ISO 8601 or one legacy format: dd/mm/YYYY,
    YYYYMMDD, ...), or None: text that no single format reads stays text, never invalid dates."""
    found = text_date_format(strings)
    if found is not None:
        return found
    if _share(strings, _DATE) < 1.0:
        return None
    try:  # ISO shapes no fixed format covers (time zones, 'T' to the minute): read as a model would
        to_epoch_seconds(strings)
    except (ValueError, TypeError, OverflowError):
        return None
    return "ISO 8601"


def detect_pii(table: Table, col: Column, values: pd.Series | None) -> tuple[str | None, str]:
    """PII category of a column and why, from its name, its table and its content."""
    if col.kind in {Kind.UNSUPPORTED, Kind.BOOLEAN, Kind.DATETIME}:
        return None, ""
    if col.name in table.primary_key or col.name in table.fk_columns():
        return None, ""
    name = _norm(col.name)
    strings = _strings(values)
    textual = col.type.name in STRING_TYPES
    hint = _name_hint(name, _norm(table.name))
    found: tuple[str | None, str] = (None, "")
    if textual and strings is not None:
        found = pii_detect.detect(strings, hint=hint)  # what the values are, in any table
        if found[0] == "phone" and _PRODUCT_CODE.search(name):
            found = (None, "")  # a drug's NDC 0093-0001-01 is written like a phone number
    elif values is not None and col.type.name in INTEGER_TYPES:
        found = pii_detect.card_column(values)
    for category, pattern in _NAME_RULES:
        if not pattern.search(name):
            continue
        if not textual and category not in NUMERIC_PII:
            continue
        if category in {"free_text", "street_address", "secret"} and _ID_NAME.search(col.name):
            continue
        present = strings if strings is not None and not strings.empty else None
        if category == "email" and present is not None and _share(present, _EMAIL) < 0.5:
            continue
        if category == "street_address" and re.search(r"(^|_)(ip|mac|web|url|email)_?addr", name):
            continue
        if (
            category == "free_text"
            and present is not None
            and (present.str.len().mean() < 15 or not present.str.contains(" ").mean() > 0.5)
        ):
            continue
        return _by_name(category, "by column name", found, strings)
    if textual and _PERSON_TABLES.search(_norm(table.name)):
        if name in {"name", "full_name", "fullname"}:
            return _by_name("person_name", "by column name in a table of people", found, strings)
        if name in {"first", "given", "middle", "forename"}:
            return "first_name", "by column name in a table of people"
        if name in {"last", "family", "surname"}:
            return "last_name", "by column name in a table of people"
    return found


def _by_name(
    category: str, why: str, found: tuple[str | None, str], strings: pd.Series | None
) -> tuple[str | None, str]:
    """A name rule's category, unless the content clearly says otherwise: hashes, card numbers or
    e-mails in a column called anything, companies (Inc., GmbH, Market) in a `customer_name`.
    When both agree, the reason says what the content showed."""
    content, reason = found
    if content == category:
        return category, reason if reason.startswith("by column name") else f"{why} and {reason[3:]}"
    if content in _STRONG_CONTENT:
        return content, reason
    if (
        content == "org_name"
        and category == "person_name"
        and strings is not None
        and pii_detect.org_share(strings) >= ORG_EVIDENCE
    ):
        return content, reason
    return category, why


# Share of values with a company's mark (a legal form, Market, Trading) that turns a column named
# for a person (customer_name) into names of organisations.
ORG_EVIDENCE = 0.3
# Content that outweighs a column's name: shapes and checksums nothing else has.
_STRONG_CONTENT = frozenset({"secret", "payment_card", "iban", "email", "ip_address", "url"})


def _name_hint(name: str, table: str) -> str | None:
    if _PERSON_HINT.fullmatch(name):
        return "person"
    if _NAME_HINT.fullmatch(name) or (name in {"name", "full_name"} and _PERSON_TABLES.search(table)):
        return "name"
    if _ORG_HINT.fullmatch(name) or (name == "name" and _ORG_TABLES.search(table)):
        return "org"
    return None


def _strings(values: pd.Series | None) -> pd.Series | None:
    if values is None:
        return None
    v = values.dropna()
    if v.empty or not all(isinstance(x, str) for x in v.head(50)):
        return None
    return v.astype(str)


def _unique_number(col: Column, sample: pd.Series | None) -> bool:
    """A UNIQUE column of numbers that are measures, not identifiers: fractions (a price, a
    weight), or integers not named like a key (a rank, a score). Drawn as identifier shapes they
    lost their range (prices of 0-29.99 came back up to 99.99, scores of 100,000-200,000 from 461)."""
    t = col.type
    numbers = None if sample is None else pd.to_numeric(sample, errors="coerce").dropna()
    if numbers is not None and len(numbers) and float(numbers.abs().max()) >= 2.0**53:
        return False  # snowflake ids, nanosecond stamps: past a float's integers, kept as keys
    if t.name in FLOAT_TYPES or (t.name == "numeric" and t.scale):
        return True
    fractions = numbers is not None and bool((numbers != numbers.round()).any())
    if t.name == "numeric" and fractions:
        return True
    whole = t.name in INTEGER_TYPES or t.name == "numeric"
    return whole and not _ID_NAME.search(col.name) and split_key(col.name) is None


def referenced_keys(schema: Schema) -> Schema:
    """A unique number that a foreign key (declared, inferred or from a schema file) refers to is
    a key after all: its values are given out as keys, not drawn. The same Schema object when
    there is nothing to change."""
    referred = {(fk.ref_table, c) for t in schema.tables for fk in t.foreign_keys for c in fk.ref_columns}
    tables = []
    changed = False
    for table in schema.tables:
        cols = tuple(
            replace(col, kind=Kind.ID, kind_reason="unique, referred to by a foreign key")
            if col.kind_reason == UNIQUE_NUMBER_REASON and (table.name, col.name) in referred
            else col
            for col in table.columns
        )
        changed |= cols != table.columns
        tables.append(replace(table, columns=cols) if cols != table.columns else table)
    return replace(schema, tables=tuple(tables)) if changed else schema


def infer_kind(
    table: Table, col: Column, values: pd.Series | None, *, unlinked: bool = False
) -> tuple[Kind, str]:
    """The column's kind and the reason, from keys, type and (when given) a sample of its values.

    ``unlinked``: the column is in a foreign key whose parent is left out of the run; its values
    are codes (categories with their frequencies), not numbers and not fresh identifiers."""
    t = col.type
    type_kind = KIND_OF_TYPE.get(t.name, Kind.UNSUPPORTED)
    single_unique = {u.columns[0] for u in table.unique if len(u.columns) == 1} | {
        ix.columns[0] for ix in table.indexes if ix.unique and len(ix.columns) == 1 and not ix.expressions
    }
    if type_kind is Kind.UNSUPPORTED:
        return Kind.UNSUPPORTED, unsupported_reason(t, col.nullable)
    if col.name in partitions.data_columns(table):
        # Values its partitions take, not fresh identifiers (no partition took a generated one),
        # though PostgreSQL makes it part of the primary key: the key's other columns keep it unique.
        return partitions.value_kind(table, col)
    if col.name in table.primary_key:
        return Kind.ID, "primary key" if len(table.primary_key) == 1 else "part of the primary key"
    if col.name in table.fk_columns():
        inferred = any(fk.inferred and col.name in fk.columns for fk in table.foreign_keys)
        return Kind.ID, INFERRED_FK_REASON if inferred else FK_REASON
    if type_kind is Kind.CATEGORICAL:
        return Kind.CATEGORICAL, f"{t.name} of {len(t.values)} values"
    if type_kind in {Kind.BOOLEAN, Kind.DATETIME}:
        return type_kind, t.name
    if type_kind is Kind.ID:
        return Kind.ID, t.name
    sample = None if values is None else values.dropna()
    if col.name in single_unique:
        if _unique_number(col, sample):
            return Kind.NUMERICAL, UNIQUE_NUMBER_REASON
        strings = _strings(sample) if t.name in STRING_TYPES else None
        dates = None if strings is None or len(strings) < 20 else _date_text(strings.str.strip())
        if dates is not None:  # one row a day, as text: dates (as identifier shapes: 2023-50-65)
            return Kind.DATETIME, "unique text holding dates" + (
                f" ({dates})" if dates in LEGACY_DATE_FORMATS else ""
            )
        return Kind.ID, "unique"
    if unlinked and (t.name in INTEGER_TYPES or t.name in STRING_TYPES or t.name == "numeric"):
        return Kind.CATEGORICAL, UNLINKED_REASON
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
            if split_key(col.name) is not None:
                return (
                    Kind.CATEGORICAL,
                    f"key-like integers without a foreign key: codes ({distinct} distinct)",
                )
        return Kind.NUMERICAL, t.name
    if t.name in STRING_TYPES:
        if _json_documents(sample):  # generated as a JSON column is (model/natives.py)
            return Kind.UNSUPPORTED, JSON_TEXT_REASON
        strings = sample.astype(str).str.strip()  # char(n) pads with spaces
        distinct = strings.nunique()
        dates = _date_text(strings)
        if dates in CLOCK_FORMATS:
            return Kind.DATETIME, "text holding times (HH:MM[:SS], hours past 23 allowed)"
        if dates is not None:
            return Kind.DATETIME, "text holding dates" + (
                f" ({dates})" if dates in LEGACY_DATE_FORMATS else ""
            )
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


MIN_JSON_DOCUMENTS = 5  # values a text column needs to be taken for one of JSON documents


def _json_documents(values: pd.Series) -> bool:
    """Every value a JSON object or array (an app's JSON kept as text: SQLite has no JSON type); as
    words, its documents came out as random words."""
    if len(values) < MIN_JSON_DOCUMENTS:
        return False
    for v in values:
        text = v.strip() if isinstance(v, str) else ""
        if not text or text[0] not in "{[":
            return False
        try:
            json.loads(text)
        except ValueError:
            return False
    return True


def _past_32_bits(col: Column, values: pd.Series) -> bool:
    if col.type.name not in {"smallint", "integer"} or "unsigned" in (col.type.native or "").lower():
        return False
    x = pd.to_numeric(values, errors="coerce").abs()
    return bool(x.notna().any() and x.max() > 2**31 - 1)


def _past_63_bits(col: Column, values: pd.Series) -> bool:
    if col.type.name != "bigint" or "unsigned" not in (col.type.native or "").lower():
        return False
    x = pd.to_numeric(values, errors="coerce")
    return bool(x.notna().any() and x.max() > 2**63 - 1)


def profile_table(table: Table, sample: pd.DataFrame | None, *, unlinked: Iterable[str] = ()) -> Table:
    """Fill in kind and PII of every column (a column already marked in a schema file is kept).
    ``unlinked``: columns of foreign keys into tables left out of the run (modelled as codes)."""
    cols = []
    unlinked = set(unlinked)
    for col in table.columns:
        values = sample[col.name] if sample is not None and col.name in sample else None
        kind, why = infer_kind(table, col, values, unlinked=col.name in unlinked)
        col = replace(col, kind=kind, kind_reason=why)
        if values is not None and _past_32_bits(col, values):
            # Only SQLite's INTEGER holds them (64-bit whatever it declares): BIGINT in another
            # database (relsynth/ddl.py), where a millisecond epoch overflowed an integer.
            col = replace(col, type=replace(col.type, precision=64))
        elif values is not None and _past_63_bits(col, values):
            # A BIGINT UNSIGNED's upper half: no integer of SQLite holds it (TEXT there, ddl.past_63_bits).
            col = replace(col, type=replace(col.type, precision=64))
        pii, pii_why = detect_pii(table, col, values)
        cols.append(replace(col, pii=pii, pii_reason=pii_why))
    return replace(table, columns=tuple(cols))


def unlinked_codes(schema: Schema) -> Schema:
    """Columns profiled as foreign keys that link nothing in this run (their parent is excluded,
    or a schema file removed the key) become codes: categories with their source frequencies, so
    a child keeps how often each code occurs and what it determines (each track one price), not
    fresh identifiers. The same Schema object when there is nothing to change.

    Foreign keys into excluded tables are dropped from the tables of the run, as reflection with
    --exclude never has them: a schema file that excludes a parent (``"exclude": true`` or
    --exclude) is learned as the same run without the file. A key column such a foreign key
    shared, salaries(emp_no, from_date), is then the table's own, given fresh values like any
    key column, not left to a parent that is not sampled (NULL or repeated keys). A context the
    schema file chose among them is left to the plan."""
    active = {t.name for t in schema.active_tables}
    tables = []
    changed = False
    for table in schema.tables:
        if table.exclude:
            tables.append(table)
            continue
        kept = tuple(fk for fk in table.foreign_keys if fk.ref_table in active)
        linked = {c for fk in kept for c in fk.columns}
        gone = {
            c: fk.ref_table for fk in table.foreign_keys if fk.ref_table not in active for c in fk.columns
        }
        unique = {u.columns[0] for u in table.unique if len(u.columns) == 1} | {
            ix.columns[0] for ix in table.indexes if ix.unique and len(ix.columns) == 1 and not ix.expressions
        }
        cols = []
        mine = len(kept) < len(table.foreign_keys)
        for col in table.columns:
            if (
                col.kind is Kind.ID
                and col.kind_reason in {FK_REASON, INFERRED_FK_REASON}
                and col.name not in linked
                and col.name not in unique
                and col.name not in table.primary_key
            ):
                why = (
                    f"key into {gone[col.name]}, left out of the run: codes, with their frequencies"
                    if col.name in gone
                    else "foreign key removed in the schema file: codes, with their frequencies"
                )
                col = replace(col, kind=Kind.CATEGORICAL, kind_reason=why)
                mine = True
            cols.append(col)
        if mine:
            changed = True
            context = table.context if table.context in {fk.name for fk in kept} else None
            table = replace(table, columns=tuple(cols), foreign_keys=kept, context=context)
        tables.append(table)
    return replace(schema, tables=tuple(tables)) if changed else schema
