"""Kinds and personal data from a sample of values (no database)."""

from __future__ import annotations

import pandas as pd
import pytest

from relsynth.profile import profile_table
from relsynth.schema import Column, ForeignKey, Kind, SqlType, Table, Unique


def _one(name: str, values: list, type_name: str = "string", table: str = "things", **kw) -> Column:
    col = Column(name, SqlType(type_name), nullable=True)
    t = Table(table, (Column("id", SqlType("integer"), nullable=False), col), primary_key=("id",), **kw)
    sample = pd.DataFrame({"id": range(len(values)), name: values})
    return profile_table(t, sample).column(name)


@pytest.mark.parametrize(
    ("name", "values", "type_name", "kind"),
    [
        ("status", ["open", "closed", "open", None] * 50, "string", Kind.CATEGORICAL),
        ("title", [f"Album number {i} of the year" for i in range(200)], "string", Kind.TEXT),
        ("sku", [f"SKU-{i:05d}" for i in range(200)], "string", Kind.ID),
        ("born", [f"1990-01-0{i % 9 + 1}" for i in range(200)], "text", Kind.DATETIME),
        ("token", [f"0b9e0c1e-8f3a-4c55-9d8e-{i:012d}" for i in range(100)], "string", Kind.ID),
        ("price", [0.99, 1.99] * 100, "numeric", Kind.NUMERICAL),
        ("gender_code", [1, 2] * 100, "integer", Kind.CATEGORICAL),
        ("external_id", list(range(200)), "integer", Kind.ID),
        ("year", [2000 + i % 20 for i in range(200)], "year", Kind.NUMERICAL),
        ("nothing", [None] * 50, "string", Kind.CATEGORICAL),
        ("payload", ['{"a": 1}'] * 50, "json", Kind.UNSUPPORTED),
    ],
)
def test_kinds(name: str, values: list, type_name: str, kind: Kind) -> None:
    col = _one(name, values, type_name)
    assert col.kind is kind, col.kind_reason
    assert col.kind_reason


def test_all_null_and_unsupported_say_what_happens() -> None:
    assert "all NULL" in _one("nothing", [None] * 50).kind_reason
    assert "generated: json" in _one("payload", ['{"a": 1}'] * 5, "json").kind_reason


def test_keys_are_ids() -> None:
    cols = (
        Column("id", SqlType("integer"), nullable=False),
        Column("parent_id", SqlType("integer")),
        Column("code", SqlType("string")),
    )
    t = Table(
        "t",
        cols,
        primary_key=("id",),
        unique=(Unique(None, ("code",)),),
        foreign_keys=(ForeignKey("f", ("parent_id",), "p", ("id",)),),
    )
    out = profile_table(t, pd.DataFrame({"id": [1, 2], "parent_id": [1, 1], "code": ["a", "b"]}))
    assert [c.kind for c in out.columns] == [Kind.ID, Kind.ID, Kind.ID]
    assert [c.kind_reason for c in out.columns] == ["primary key", "foreign key", "unique"]


@pytest.mark.parametrize(
    ("name", "values", "table", "pii"),
    [
        ("Email", ["ann@example.org", "bob@example.com"] * 10, "customers", "email"),
        ("contact", ["ann@example.org", "bob@example.com"] * 10, "things", "email"),
        ("FirstName", ["Ann", "Bob"] * 10, "customers", "first_name"),
        ("last", ["Smith", "Jones"] * 10, "patients", "last_name"),
        ("name", ["Ann Smith", "Bob Jones"] * 10, "patients", "person_name"),
        ("name", ["Rock", "Jazz"] * 10, "genre", None),
        ("phone", ["+1 (555) 010-0100", "(555) 010-0199"] * 10, "things", "phone"),
        ("contact_no", ["+1 (555) 010-0100", "(555) 010-0199"] * 10, "things", "phone"),
        ("ssn", ["999-12-3456"] * 20, "patients", "national_id"),
        ("ref", ["999-12-3456", "999-65-4321"] * 10, "things", "national_id"),
        ("mrn", ["MRN0000001", "MRN0000002"] * 10, "patients", "record_number"),
        ("street", ["1 Main St", "2 Oak Ave"] * 10, "patients", "street_address"),
        ("ip_address", ["10.0.0.1", "10.0.0.2"] * 10, "things", None),
        ("notes", ["Patient stable overnight, no complaints."] * 20, "visits", "free_text"),
        ("notes", ["ok", "no"] * 10, "visits", None),
        ("note_id", [1, 2] * 10, "visits", None),
        ("price", ["1.99", "2.99"] * 10, "things", None),
    ],
)
def test_pii(name: str, values: list, table: str, pii: str | None) -> None:
    type_name = "integer" if isinstance(values[0], int) else "string"
    col = _one(name, values, type_name, table=table)
    assert col.pii == pii, col.pii_reason
    if pii:
        assert col.pii_reason
