"""The Plan on hand-built schemas: cycles, contexts, references, links (no database)."""

from __future__ import annotations

from relsynth.graph import named_after, plan
from relsynth.schema import Column, ForeignKey, Kind, Role, Schema, SqlType, Table

INT = SqlType("integer")


def table(
    name: str,
    *cols: str,
    pk: tuple[str, ...] = ("id",),
    fks=(),
    rows: int = 100,
    nullable=(),
    pii: dict[str, str] | None = None,
    **kw,
) -> Table:
    columns = tuple(
        Column(
            c,
            INT,
            nullable=c in nullable,
            kind=Kind.ID
            if c in pk or c.endswith("_id")
            else (Kind.CATEGORICAL if c in {"name", "label"} else Kind.NUMERICAL),
            pii=(pii or {}).get(c),
        )
        for c in ("id", *cols)
        if c in pk or c in cols
    )
    return Table(name, columns, primary_key=pk, foreign_keys=tuple(fks), row_count=rows, **kw)


def fk(
    cols: str | tuple[str, ...], parent: str, ref: str | tuple[str, ...] = "id", name: str | None = None, **kw
) -> ForeignKey:
    cols = (cols,) if isinstance(cols, str) else cols
    ref = (ref,) if isinstance(ref, str) else ref
    return ForeignKey(name or f"fk_{'_'.join(cols)}_{parent}", cols, parent, ref, **kw)


def test_hospital_shape() -> None:
    s = Schema(
        (
            table("codes", "label", rows=50),
            table("patients", "first_name", rows=1000, pii={"first_name": "first_name"}),
            table(
                "wards",
                "head_nurse_id",
                rows=12,
                nullable=("head_nurse_id",),
                fks=[fk("head_nurse_id", "providers")],
            ),
            table(
                "providers",
                "ward_id",
                "supervisor_id",
                rows=120,
                nullable=("supervisor_id",),
                pii={"ward_id": None},
                fks=[fk("ward_id", "wards"), fk("supervisor_id", "providers")],
            ),
            table(
                "admissions",
                "patient_id",
                "ward_id",
                "attending_id",
                rows=2500,
                fks=[fk("patient_id", "patients"), fk("ward_id", "wards"), fk("attending_id", "providers")],
            ),
            table(
                "diagnoses",
                "admission_id",
                "seq",
                "code",
                pk=("admission_id", "seq"),
                rows=6000,
                fks=[fk("admission_id", "admissions"), fk("code", "codes")],
            ),
            table(
                "care_team",
                "admission_id",
                "provider_id",
                pk=("admission_id", "provider_id"),
                rows=5000,
                fks=[fk("provider_id", "providers"), fk("admission_id", "admissions")],
            ),
        )
    )
    p = plan(s)
    assert [c.fk.label for c in p.cycles] == ["wards(head_nurse_id) -> providers(id)"]
    assert "only nullable" in p.cycles[0].reason
    assert p["codes"].role == "reference"
    assert p["admissions"].context.ref_table == "patients"
    assert {f.ref_table for f in p["admissions"].secondary} == {"wards", "providers"}
    assert p["diagnoses"].context.ref_table == "admissions"
    assert [f.ref_table for f in p["diagnoses"].reference_fks] == ["codes"]
    assert p["care_team"].link and p["care_team"].context.ref_table == "admissions"
    assert "more specific" in p["care_team"].context_reason
    assert [f.columns for f in p["providers"].self_refs] == [("supervisor_id",)]
    assert p.roots == ("patients", "wards")
    pos = {n: i for i, n in enumerate(p.order)}
    assert pos["wards"] < pos["providers"] < pos["admissions"] < pos["care_team"]


def test_cycle_without_nullable_fk_is_reported() -> None:
    s = Schema(
        (
            table("a", "b_id", fks=[fk("b_id", "b")]),
            table("b", "a_id", fks=[fk("a_id", "a")]),
        )
    )
    p = plan(s)
    assert len(p.cycles) == 1
    assert "no FK in the cycle is nullable" in p.cycles[0].reason
    assert len(p.order) == 2


def test_busiest_nullable_fk_is_cut_in_overlapping_cycles() -> None:
    s = Schema(
        (
            table("a", "b_id", "c_id", fks=[fk("b_id", "b"), fk("c_id", "c")]),
            table("b", "x_id", fks=[fk("x_id", "x")]),
            table("c", "x_id", fks=[fk("x_id", "x")]),
            table("x", "a_id", "b_id", nullable=("a_id", "b_id"), fks=[fk("a_id", "a"), fk("b_id", "b")]),
        )
    )
    p = plan(s)
    # x(a_id) is on two cycles, x(b_id) on one: cutting x(a_id) first breaks the most.
    assert [c.fk.label for c in p.cycles] == ["x(a_id) -> a(id)", "x(b_id) -> b(id)"]
    assert "on 2 of the cycles" in p.cycles[0].reason


def test_optional_role_fk_is_not_an_owner() -> None:
    s = Schema(
        (
            table("employee", "first_name", rows=8, pii={"first_name": "first_name"}),
            table(
                "customer",
                "support_rep_id",
                rows=59,
                nullable=("support_rep_id",),
                fks=[fk("support_rep_id", "employee")],
            ),
            table("album", rows=2000),
            table("track", "album_id", rows=3500, nullable=("album_id",), fks=[fk("album_id", "album")]),
        )
    )
    p = plan(s)
    assert p["customer"].context is None and p["customer"].secondary
    assert p["track"].context is not None and p["track"].context.ref_table == "album"


def test_reference_detection_and_overrides() -> None:
    base = (
        table("region", "name", rows=5),
        table("nation", "region_id", "name", rows=25, fks=[fk("region_id", "region")]),
        table(
            "customer",
            "nation_id",
            "first_name",
            rows=150,
            pii={"first_name": "first_name"},
            fks=[fk("nation_id", "nation")],
        ),
        table("playlist", "name", rows=18),
        table(
            "playlist_track",
            "playlist_id",
            "track_id",
            pk=("playlist_id", "track_id"),
            rows=8000,
            fks=[fk("playlist_id", "playlist"), fk("track_id", "customer")],
        ),
    )
    p = plan(Schema(base))
    assert p.by_role("reference") == ("region", "nation")  # nation points only into a reference table
    assert p["playlist"].role == "data"  # referenced only through a link table's key
    overridden = Schema(
        tuple(
            t
            if t.name not in {"region", "playlist"}
            else t.__class__(**{**t.__dict__, "role": Role.DATA if t.name == "region" else Role.REFERENCE})
            for t in base
        )
    )
    p = plan(overridden)
    assert p["region"].role == "data" and p["nation"].role == "data"
    assert p["playlist"].role == "reference"


def test_empty_isolated_no_pk_and_context_override() -> None:
    s = Schema(
        (
            table("a", rows=10),
            table("b", "a_id", "c_id", rows=20, fks=[fk("a_id", "a", name="fa"), fk("c_id", "c", name="fc")]),
            table("c", rows=30),
            table("lonely", "v", rows=3),
            table("log", "v", pk=(), rows=0),
        )
    )
    p = plan(s)
    assert p["log"].role == "empty" and "log" in p.without_pk
    assert set(p.isolated) == {"lonely", "log"}
    s2 = s.replace_table(s.table("b").__class__(**{**s.table("b").__dict__, "context": "fc"}))
    assert plan(s2)["b"].context.name == "fc"
    assert plan(s2)["b"].context_reason == "set in the schema file"


def test_named_after() -> None:
    assert named_after(fk("patient_id", "patients"))
    assert named_after(fk("o_custkey", "customer"))
    assert named_after(fk("ps_suppkey", "supplier"))
    assert named_after(fk("InvoiceId", "Invoice"))
    assert not named_after(fk("attending_id", "providers"))
    assert not named_after(fk("reports_to", "employee"))
    assert not named_after(fk("support_rep_id", "employee"))
