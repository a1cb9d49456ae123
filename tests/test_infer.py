"""Undeclared foreign keys (found by name and value containment) and key-like integers as codes.

The shop below declares no foreign key: InvoiceLine.TrackId points to Track by name and every value
is there; Track.GenreId is named like a key into Genre but holds ids Genre does not have. Track ids
are sparse (1000 + 7k) and lines favour a few tracks, so a key modelled as a number instead of a
code shows at once (values no track has, a flat frequency profile, several prices per track).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from relsynth import infer
from relsynth.cli import main
from relsynth.model.spec import Model
from relsynth.profile import unlinked_codes
from relsynth.schema import Column, ForeignKey, Inferred, Kind, Schema, SqlType, Table, Unique

DIALECTS = ["sqlite", "postgresql", "mysql"]
N_TRACKS, N_LINES = 400, 2000


# -- the naming rules (no database) -----------------------------------------------------------
def _t(name: str, cols: list[str], pk: tuple[str, ...] = (), rows: int = 10, **kw) -> Table:
    columns = tuple(Column(c, SqlType("integer")) for c in cols)
    return Table(name, columns, primary_key=pk, row_count=rows, **kw)


def _proposed(schema: Schema) -> dict[tuple[str, str], list[tuple[str, str, str]]]:
    return {
        (g[0].table, g[0].column): [(c.ref_table, c.ref_column, c.by) for c in g]
        for g in infer.candidates(schema)
    }


def test_name_rules() -> None:
    schema = Schema(
        (
            _t("Track", ["TrackId", "AlbumId"], ("TrackId",)),
            _t("InvoiceLine", ["InvoiceLineId", "TrackId", "trackid2"], ("InvoiceLineId",)),
            _t("persons", ["id"], ("id",)),
            _t("categories", ["category_id", "parent_id", "ParentCategoryId"], ("category_id",)),
            _t(
                "visit_occurrence",
                ["visit_occurrence_id", "person_id", "preceding_visit_occurrence_id"],
                ("visit_occurrence_id",),
            ),
            _t(
                "condition", ["condition_id", "visit_occurrence_id", "person_id", "amount"], ("condition_id",)
            ),
            _t("death", ["person_id"], ("person_id",)),
            _t("empty_parent", ["empty_parent_id"], ("empty_parent_id",), rows=0),
            _t("child", ["child_id", "empty_parent_id"], ("child_id",)),
        )
    )
    got = _proposed(schema)
    assert got[("InvoiceLine", "TrackId")] == [("Track", "TrackId", infer.BY_NAME)]  # camelCase
    assert got[("visit_occurrence", "person_id")] == [("persons", "id", infer.BY_NAME)]  # plural, 'id'
    assert got[("condition", "visit_occurrence_id")] == [("visit_occurrence", "visit_occurrence_id", "name")]
    assert got[("visit_occurrence", "preceding_visit_occurrence_id")] == [
        ("visit_occurrence", "visit_occurrence_id", infer.BY_SELF)  # a suffix naming its own table
    ]
    assert got[("categories", "parent_id")] == [("categories", "category_id", infer.BY_SELF)]
    assert got[("categories", "ParentCategoryId")] == [("categories", "category_id", infer.BY_SELF)]
    assert got[("death", "person_id")] == [("persons", "id", infer.BY_NAME)]  # a 1:1 key, by name
    # Never the column's own table's key, never a plain number, never an empty parent.
    for own in [("Track", "TrackId"), ("categories", "category_id"), ("condition", "amount")]:
        assert own not in got
    assert ("child", "empty_parent_id") not in got and ("Track", "AlbumId") not in got


def test_key_name_and_suffix_rules_and_types() -> None:
    strings = Table(
        "country", (Column("iso_code", SqlType("string", length=2)),), primary_key=("iso_code",), row_count=5
    )
    schema = Schema(
        (
            _t("staff", ["staff_id"], ("staff_id",)),
            _t("ward", ["ward_id", "head_staff_id", "staff_id"], ("ward_id",)),
            strings,
            Table(
                "city",
                (Column("city_id", SqlType("integer")), Column("iso_code", SqlType("integer"))),
                primary_key=("city_id",),
                row_count=5,
            ),
        )
    )
    got = _proposed(schema)
    assert got[("ward", "staff_id")] == [("staff", "staff_id", infer.BY_NAME)]
    assert got[("ward", "head_staff_id")] == [("staff", "staff_id", infer.BY_SUFFIX)]
    assert ("city", "iso_code") not in got  # integer vs string: not comparable, never queried


def test_containment_allows_no_exception() -> None:
    assert infer.accepted(3503, 0)
    assert not infer.accepted(3503, 1)
    assert not infer.accepted(0, 0)  # an all-NULL column proves nothing


def test_inferred_keys_in_the_schema_file_and_old_files_load() -> None:
    fk = ForeignKey(
        "fk_x", ("TrackId",), "Track", ("TrackId",), virtual=True, inferred=Inferred("name", 2240)
    )
    schema = Schema(
        (
            _t("Track", ["TrackId"], ("TrackId",)),
            _t("InvoiceLine", ["InvoiceLineId", "TrackId"], ("InvoiceLineId",), foreign_keys=(fk,)),
        )
    )
    data = json.loads(schema.to_json())
    assert data["version"] == 2
    assert data["tables"][1]["foreign_keys"][0]["inferred"] == {"by": "name", "values": 2240}
    assert Schema.from_json(schema.to_json()) == schema
    assert (
        fk.inferred is not None
        and fk.inferred.evidence == "by name and containment: 100% of 2,240 values found"
    )
    old = {**data, "version": 1}
    old["tables"][1]["foreign_keys"] = []
    assert Schema.from_dict(old).table("InvoiceLine").foreign_keys == ()
    # evidence relsynth never wrote is refused, not shown as if it were relsynth's
    from relsynth.errors import SchemaError
    from relsynth.schema import validate

    for bad in ({"by": "telepathy", "values": 3}, {"by": "name", "values": -5}):
        forged = json.loads(schema.to_json())
        forged["tables"][1]["foreign_keys"][0]["inferred"] = bad
        with pytest.raises(SchemaError, match="says it was inferred"):
            validate(Schema.from_dict(forged))


def test_keys_that_link_nothing_become_codes() -> None:
    cols = (
        Column("id", SqlType("integer"), kind=Kind.ID, kind_reason="primary key"),
        Column("track_id", SqlType("integer"), kind=Kind.ID, kind_reason="foreign key"),
        Column("genre_id", SqlType("integer"), kind=Kind.ID, kind_reason="foreign key"),
        Column("album_id", SqlType("integer"), kind=Kind.ID, kind_reason="foreign key"),
        Column("code", SqlType("integer"), kind=Kind.ID, kind_reason="foreign key"),
    )
    lines = Table(
        "lines",
        cols,
        primary_key=("id",),
        unique=(Unique(None, ("code",)),),
        foreign_keys=(
            ForeignKey("f1", ("track_id",), "tracks", ("id",)),
            ForeignKey("f2", ("genre_id",), "genres", ("id",)),
            ForeignKey("f3", ("code",), "tracks", ("id",)),
        ),  # album_id: a foreign key a schema file removed
    )
    schema = Schema((lines, _t("tracks", ["id"], ("id",), exclude=True), _t("genres", ["id"], ("id",))))
    out = unlinked_codes(schema).table("lines")
    kinds = {c.name: c.kind for c in out.columns}
    assert kinds == {
        "id": Kind.ID,
        "track_id": Kind.CATEGORICAL,  # its parent is excluded
        "genre_id": Kind.ID,  # still linked
        "album_id": Kind.CATEGORICAL,
        "code": Kind.ID,  # unique: codes would repeat
    }
    assert "left out of the run" in out.column("track_id").kind_reason
    linked = Schema((_t("genres", ["id"], ("id",)),))
    assert unlinked_codes(linked) is linked  # nothing to change: the same object (no re-planning)


# -- a shop without declared foreign keys, on every dialect -----------------------------------
def _url(request: pytest.FixtureRequest, kind: str) -> str:
    fixture = {"sqlite": "sqlite_db", "postgresql": "pg_db", "mysql": "mysql_db"}[kind]
    return request.getfixturevalue(fixture)()


def _shop(url: str, *, declared: bool = False) -> dict[str, pd.DataFrame]:
    """Genre, Track and InvoiceLine; ``declared`` adds InvoiceLine.Song with a declared FK to Track."""
    rng = np.random.default_rng(8)
    track_ids = 1000 + 7 * np.arange(N_TRACKS)
    prices = rng.choice([0.99, 1.99], size=N_TRACKS, p=[0.7, 0.3])
    tracks = pd.DataFrame(
        {"TrackId": track_ids, "GenreId": rng.integers(1, 9, N_TRACKS), "UnitPrice": prices}
    )  # GenreId 6..8 are not genres
    weights = 1 / np.arange(1, N_TRACKS + 1) ** 1.2
    which = rng.permutation(N_TRACKS)[rng.choice(N_TRACKS, size=N_LINES, p=weights / weights.sum())]
    lines = pd.DataFrame(
        {
            "InvoiceLineId": np.arange(1, N_LINES + 1),
            "TrackId": track_ids[which],
            "UnitPrice": prices[which],
            "Quantity": rng.integers(1, 3, N_LINES),
        }
    )
    if declared:
        lines["Song"] = track_ids[which]
    md = sa.MetaData()
    sa.Table(
        "Genre", md, sa.Column("GenreId", sa.Integer, primary_key=True), sa.Column("Name", sa.String(20))
    )
    sa.Table(
        "Track",
        md,
        sa.Column("TrackId", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("GenreId", sa.Integer),
        sa.Column("UnitPrice", sa.Numeric(5, 2), nullable=False),
    )
    sa.Table(
        "InvoiceLine",
        md,
        sa.Column("InvoiceLineId", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("TrackId", sa.Integer, nullable=False),
        sa.Column("UnitPrice", sa.Numeric(5, 2), nullable=False),
        sa.Column("Quantity", sa.Integer, nullable=False),
        *([sa.Column("Song", sa.Integer, sa.ForeignKey("Track.TrackId"))] if declared else []),
    )
    genres = pd.DataFrame({"GenreId": range(1, 6), "Name": ["Rock", "Jazz", "Metal", "Pop", "Blues"]})
    engine = sa.create_engine(url)
    try:
        md.create_all(engine)
        with engine.begin() as conn:
            for name, frame in (("Genre", genres), ("Track", tracks), ("InvoiceLine", lines)):
                conn.execute(md.tables[name].insert(), frame.astype(object).to_dict("records"))
    finally:
        engine.dispose()
    return {"Track": tracks, "InvoiceLine": lines}


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, ["-q", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def _read(url: str, table: str) -> pd.DataFrame:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return pd.read_sql_table(table, conn)
    finally:
        engine.dispose()


def _inferred(schema_json: str) -> set[tuple[str, str, str, str]]:
    data = json.loads(schema_json)
    return {
        (t["name"], fk["columns"][0], fk["ref_table"], fk["ref_columns"][0])
        for t in data["tables"]
        for fk in t.get("foreign_keys", [])
        if fk.get("inferred")
    }


@pytest.mark.parametrize("kind", DIALECTS)
def test_inspect_finds_the_undeclared_key_and_not_the_false_one(request, kind: str) -> None:
    url = _url(request, kind)
    _shop(url)
    assert _inferred(_cli("inspect", url, "--format", "json")) == {
        ("InvoiceLine", "TrackId", "Track", "TrackId")
    }
    text = _cli("inspect", url)
    assert (
        "InvoiceLine(TrackId) -> Track(TrackId): by name and containment: 100% of 2,000 values found" in text
    )
    assert "(1 inferred)" in text and "Genre" not in text.split("inferred key", 1)[1].split("\n", 1)[0]
    assert '"TrackId (inferred)"' in _cli("inspect", url, "--format", "dot")
    assert _inferred(_cli("inspect", url, "--format", "json", "--no-infer-keys")) == set()


@pytest.mark.parametrize("kind", DIALECTS)
def test_synthetic_output_keeps_the_inferred_link(request, kind: str) -> None:
    source, target = _url(request, kind), _url(request, kind)
    _shop(source)
    _cli("synthesize", source, target, "--no-report", "--seed", "3")
    tracks, lines = _read(target, "Track"), _read(target, "InvoiceLine")
    assert len(lines) == N_LINES
    assert lines["TrackId"].isin(tracks["TrackId"]).all()  # no orphans
    joined = lines.merge(tracks, on="TrackId", suffixes=("", "_track"))
    assert (joined["UnitPrice"] == joined["UnitPrice_track"]).all()  # each line costs its track's price
    engine = sa.create_engine(target)
    try:
        assert sa.inspect(engine).get_foreign_keys("InvoiceLine") == []  # not created as a constraint
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", DIALECTS)
def test_no_infer_keys_fits_without_them(request, kind: str, tmp_path: Path) -> None:
    url = _url(request, kind)
    _shop(url)
    _cli("fit", url, "-o", str(tmp_path / "m.rsm"), "--no-infer-keys")
    schema = Model.load(tmp_path / "m.rsm").schema
    assert schema.table("InvoiceLine").foreign_keys == ()
    assert schema.table("InvoiceLine").column("TrackId").kind is Kind.CATEGORICAL  # a code, not a number


def _tv(a: pd.Series, b: pd.Series) -> float:
    p, q = a.value_counts(normalize=True), b.value_counts(normalize=True)
    return float(p.sub(q, fill_value=0).abs().sum() / 2)


def _one_price_per_code(lines: pd.DataFrame, column: str = "TrackId") -> bool:
    return bool((lines.groupby(column)["UnitPrice"].nunique() == 1).all())


@pytest.mark.parametrize("kind", DIALECTS)
def test_a_rejected_key_in_the_schema_file_is_obeyed(request, kind: str, tmp_path: Path) -> None:
    source, target = _url(request, kind), _url(request, kind)
    real = _shop(source)
    path = tmp_path / "schema.json"
    _cli("inspect", source, "--format", "json", "-o", str(path))
    data = json.loads(path.read_text())
    line = next(t for t in data["tables"] if t["name"] == "InvoiceLine")
    assert [fk["ref_table"] for fk in line["foreign_keys"]] == ["Track"]
    line["foreign_keys"] = []  # rejected
    path.write_text(json.dumps(data))
    _cli("synthesize", source, target, "--no-report", "--seed", "3", "--schema-file", str(path))
    lines = _read(target, "InvoiceLine")
    # Not linked to the synthetic tracks: the source's codes, with their frequencies and prices.
    assert lines["TrackId"].isin(real["InvoiceLine"]["TrackId"]).all()
    assert _tv(lines["TrackId"], real["InvoiceLine"]["TrackId"]) < 0.2
    assert _one_price_per_code(lines)


@pytest.mark.parametrize("how", ["--exclude", "schema file"])
@pytest.mark.parametrize("kind", DIALECTS)
def test_a_key_into_an_excluded_table_keeps_its_codes(request, kind: str, how: str, tmp_path: Path) -> None:
    source, target = _url(request, kind), _url(request, kind)
    real = _shop(source, declared=True)["InvoiceLine"]
    if how == "--exclude":
        _cli("synthesize", source, target, "--no-report", "--seed", "4", "--exclude", "Track")
    else:  # the keys were found with Track in the run, then the user left Track out in the file
        path = tmp_path / "schema.json"
        _cli("inspect", source, "--format", "json", "-o", str(path))
        data = json.loads(path.read_text())
        next(t for t in data["tables"] if t["name"] == "Track")["exclude"] = True
        path.write_text(json.dumps(data))
        _cli("synthesize", source, target, "--no-report", "--seed", "4", "--schema-file", str(path))
    lines = _read(target, "InvoiceLine")
    for column in ("TrackId", "Song"):  # named like a key; a declared FK into the excluded table
        assert lines[column].isin(real[column]).all(), column
        assert _tv(lines[column], real[column]) < 0.2, column
        assert _one_price_per_code(lines, column), column


# -- the real OMOP CDM with its foreign keys left undeclared ----------------------------------
OMOP_TABLES = [
    "person",
    "observation_period",
    "visit_occurrence",
    "condition_occurrence",
    "provider",
    "death",
]


def _omop_measures(url: str, schema: str | None) -> dict[str, int]:
    engine = sa.create_engine(url)
    s = f"{schema}." if schema else ""
    try:
        with engine.connect() as conn:

            def q(sql: str) -> int:
                return int(conn.exec_driver_sql(sql.replace("@", s)).scalar_one())

            return {
                "persons": q("select count(*) from @person"),
                "persons without an observation period": q(
                    "select count(*) from @person p where not exists "
                    "(select 1 from @observation_period o where o.person_id = p.person_id)"
                ),
                "visits without their person": q(
                    "select count(*) from @visit_occurrence v where not exists "
                    "(select 1 from @person p where p.person_id = v.person_id)"
                ),
                "conditions whose visit is missing": q(
                    "select count(*) from @condition_occurrence c where c.visit_occurrence_id is not null "
                    "and not exists (select 1 from @visit_occurrence v "
                    "where v.visit_occurrence_id = c.visit_occurrence_id)"
                ),
                "conditions in a visit of another person": q(
                    "select count(*) from @condition_occurrence c join @visit_occurrence v "
                    "on v.visit_occurrence_id = c.visit_occurrence_id where v.person_id <> c.person_id"
                ),
            }
    finally:
        engine.dispose()


@pytest.mark.datasets
@pytest.mark.postgresql
def test_omop_without_declared_keys(pg_server: str, tmp_path: Path) -> None:
    from tests.conftest import drop_database, load_pg_dataset

    if shutil.which("psql") is None:
        pytest.skip("psql is needed to load the dataset")
    url, db = load_pg_dataset(pg_server, "omop_synthea27nj")
    try:
        engine = sa.create_engine(url)
        with engine.begin() as conn:  # this throwaway copy declares no foreign key at all
            quote = conn.dialect.identifier_preparer.quote
            for table, name in conn.exec_driver_sql(
                "select table_name, constraint_name from information_schema.table_constraints "
                "where constraint_type = 'FOREIGN KEY' and table_schema = 'cdm'"
            ).all():
                conn.exec_driver_sql(f"alter table cdm.{quote(table)} drop constraint {quote(name)}")
        engine.dispose()
        include = [w for t in OMOP_TABLES for w in ("--include", t)]
        before, after = tmp_path / "before.db", tmp_path / "after.db"
        common = ["--schema", "cdm", "--no-report", "--seed", "1", *include]
        _cli("synthesize", url, f"sqlite:///{before}", "--no-infer-keys", *common)
        _cli("synthesize", url, f"sqlite:///{after}", *common)
        real = _omop_measures(url, "cdm")
        old, new = _omop_measures(f"sqlite:///{before}", None), _omop_measures(f"sqlite:///{after}", None)
        print({"source": real, "no inference": old, "inferred keys": new})  # the numbers, with -s
        assert real["persons without an observation period"] == 0
        assert old["persons without an observation period"] > 0.2 * old["persons"]  # the bug, measured
        assert new["persons without an observation period"] == 0
        assert new["visits without their person"] == 0
        assert new["conditions whose visit is missing"] == 0
    finally:
        drop_database(pg_server, db)


@pytest.mark.datasets
@pytest.mark.postgresql
def test_inference_reads_each_child_table_once(pg_datasets) -> None:
    """OMOP declares its keys, and dozens of concept columns whose keys do not hold are candidates:
    they are checked with one statement per child table (plus its savepoint), not one per column."""
    from relsynth.reflection import reflect
    from tests.test_datasets_reflect import captured_statements

    url = pg_datasets("omop_synthea27nj")
    with captured_statements() as plain:
        declared = reflect(url, schema="cdm", profile=False, infer_keys=False)
    with captured_statements() as inferring:
        schema = reflect(url, schema="cdm", profile=False)
    assert schema == declared  # no key is inferred where the declared ones are all there is
    candidates = infer.candidates(declared)
    children = {g[0].table for g in candidates}
    assert len(candidates) > 2 * len(children)  # many columns, few tables
    rounds = max(len(g) for g in candidates)
    assert len(inferring) - len(plain) <= 3 * len(children) * rounds
