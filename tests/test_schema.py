"""Schema JSON: round trip (hypothesis), versioning, and the edits a user makes by hand."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relsynth.errors import SchemaError
from relsynth.graph import plan
from relsynth.schema import (
    SCHEMA_VERSION,
    Check,
    Column,
    ForeignKey,
    Index,
    Kind,
    Role,
    Schema,
    SqlType,
    Table,
    Unique,
)

names = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF, blacklist_characters='"\\'),
    min_size=1,
    max_size=12,
)
sql_types = st.builds(
    SqlType,
    name=st.sampled_from(["integer", "numeric", "string", "text", "datetime", "enum", "json", "uuid"]),
    native=st.text(max_size=20),
    length=st.none() | st.integers(1, 4000),
    precision=st.none() | st.integers(1, 38),
    scale=st.none() | st.integers(0, 10),
    timezone=st.booleans(),
    values=st.lists(st.text(max_size=8), max_size=4).map(tuple),
)


@st.composite
def schemas(draw: st.DrawFn) -> Schema:
    n_tables = draw(st.integers(1, 5))
    table_names = draw(st.lists(names, min_size=n_tables, max_size=n_tables, unique=True))
    tables: list[Table] = []
    for i, tname in enumerate(table_names):
        col_names = draw(st.lists(names, min_size=1, max_size=5, unique=True))
        cols = tuple(
            Column(
                name=c,
                type=draw(sql_types),
                nullable=draw(st.booleans()),
                default=draw(st.none() | st.text(max_size=10)),
                kind=draw(st.sampled_from(list(Kind))),
                kind_reason=draw(st.text(max_size=10)),
                pii=draw(st.none() | st.sampled_from(["email", "phone", "free_text"])),
            )
            for c in col_names
        )
        pk = tuple(draw(st.lists(st.sampled_from(col_names), max_size=2, unique=True)))
        fks = []
        if i and tables[0].primary_key:
            parent = tables[0]
            width = len(parent.primary_key)
            if len(col_names) >= width and draw(st.booleans()):
                fks.append(
                    ForeignKey(
                        name=f"fk{i}",
                        columns=tuple(col_names[:width]),
                        ref_table=parent.name,
                        ref_columns=parent.primary_key,
                        on_delete=draw(st.none() | st.sampled_from(["CASCADE", "SET NULL"])),
                        deferrable=draw(st.booleans()),
                        virtual=draw(st.booleans()),
                    )
                )
        tables.append(
            Table(
                name=tname,
                columns=cols,
                primary_key=pk,
                unique=tuple(
                    Unique(draw(st.none() | names), (c,)) for c in col_names[-1:] if draw(st.booleans())
                ),
                foreign_keys=tuple(fks),
                checks=tuple(
                    Check(None, s) for s in draw(st.lists(st.text(min_size=1, max_size=20), max_size=2))
                ),
                indexes=tuple(
                    Index("ix", (col_names[0],), draw(st.booleans())) for _ in range(draw(st.integers(0, 1)))
                ),
                row_count=draw(st.integers(0, 10**9)),
                row_count_exact=draw(st.booleans()),
                role=draw(st.none() | st.sampled_from(list(Role))),
                exclude=draw(st.booleans()),
            )
        )
    return Schema(
        tables=tuple(tables),
        dialect=draw(st.sampled_from(["postgresql", "mysql", "sqlite"])),
        database=draw(st.none() | names),
        notes=tuple(draw(st.lists(st.text(max_size=10), max_size=2))),
    )


@settings(max_examples=150, deadline=None)
@given(schemas())
def test_json_round_trip(schema: Schema) -> None:
    text = schema.to_json()
    data = json.loads(text)
    assert data["format"] == "relsynth.schema" and data["version"] == SCHEMA_VERSION
    assert {"tables"} <= set(data)
    for t in data["tables"]:
        assert "columns" in t
    assert Schema.from_json(text) == schema


def _small() -> Schema:
    t = SqlType("integer", native="INTEGER")
    patients = Table(
        "patients",
        (Column("id", t, nullable=False, kind=Kind.ID), Column("name", SqlType("string"), kind=Kind.TEXT)),
        primary_key=("id",),
        row_count=10,
    )
    visits = Table(
        "visits",
        (Column("id", t, nullable=False, kind=Kind.ID), Column("patient_id", t, kind=Kind.ID)),
        primary_key=("id",),
        foreign_keys=(ForeignKey("fk_v", ("patient_id",), "patients", ("id",)),),
        row_count=30,
    )
    return Schema((patients, visits), dialect="sqlite")


def test_user_edits_load_and_take_effect(tmp_path) -> None:
    data = _small().to_dict()
    visits = data["tables"][1]
    visits["columns"].append({"name": "doctor_id", "type": {"name": "integer"}, "kind": "id"})
    data["tables"].append(
        {
            "name": "doctors",
            "columns": [{"name": "id", "type": {"name": "integer"}, "nullable": False}],
            "primary_key": ["id"],
            "row_count": 3,
        }
    )
    visits["foreign_keys"].append(
        {
            "name": "fk_doc",
            "columns": ["doctor_id"],
            "ref_table": "doctors",
            "ref_columns": ["id"],
            "virtual": True,
        }
    )
    data["tables"][0]["columns"][1]["pii"] = "person_name"
    data["tables"][0]["columns"][1]["kind"] = "categorical"
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    schema = Schema.load(path)
    assert schema.table("patients").column("name").pii == "person_name"
    assert schema.table("patients").column("name").kind is Kind.CATEGORICAL
    fk = schema.table("visits").fk("fk_doc")
    assert fk.virtual and fk.table == "visits"
    p = plan(schema)
    tp = p["visits"]
    assert fk in (*tp.secondary, *tp.reference_fks, tp.context)

    # Excluding a table: it leaves the plan and the FK to it becomes a plain column.
    data["tables"][2]["exclude"] = True
    path.write_text(json.dumps(data))
    p = plan(Schema.load(path))
    assert "doctors" not in p.order
    assert [f.name for f in p["visits"].ignored_fks] == ["fk_doc"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(version=99), "version 99 is not supported"),
        (lambda d: d.pop("format"), "not a relsynth schema"),
        (lambda d: d["tables"][1]["foreign_keys"][0].update(ref_table="patient"), "Did you mean 'patients'"),
        (
            lambda d: d["tables"][1]["foreign_keys"][0].update(columns=["patiend_id"]),
            "Did you mean 'patient_id'",
        ),
        (
            lambda d: d["tables"][0]["columns"][1].update(kind="numeric"),
            r"not a valid kind\. Did you mean .numerical.",
        ),
        (lambda d: d["tables"][0]["columns"][1].update(pii="name"), "Unknown PII category"),
        (lambda d: d["tables"][0].update(primary_kee=["id"]), "Did you mean 'primary_key'"),
        (lambda d: d["tables"].append(d["tables"][0]), "appears twice"),
    ],
)
def test_bad_schema_files_say_what_to_fix(tmp_path, edit, message) -> None:
    data = _small().to_dict()
    edit(data)
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SchemaError, match=message):
        Schema.load(path)


def test_not_json(tmp_path) -> None:
    path = tmp_path / "s.json"
    path.write_text("{nope")
    with pytest.raises(SchemaError, match="not valid JSON"):
        Schema.load(path)
    with pytest.raises(SchemaError, match="does not exist"):
        Schema.load(tmp_path / "missing.json")


def test_unknown_names_suggest() -> None:
    s = _small()
    with pytest.raises(SchemaError, match="Did you mean 'patients'"):
        s.table("pateints")
    with pytest.raises(SchemaError, match="Did you mean 'patient_id'"):
        s.table("visits").column("patientid")
    assert replace(s, notes=("x",)) != s
