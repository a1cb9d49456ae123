"""Regressions from the issue tracker, on planted data and through the writer on every database.

- Equal foreign keys: a child whose two FKs hold equal values (child.a_id = child.b_id, the
  parents' ids coincide) had one FK learned as a copy of the other parent's id: orphans, and an
  IntegrityError on load.
- Numbering keys: a key (encounter_id, seq) with seq in 1..3 that numbers only some parents'
  children 1..n was generated as one sequence over the whole table: CHECK violations, and a
  smallint overflow without the CHECK. Child counts must also fit what such a key allows.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import relsynth
from relsynth.evaluation.integrity import check_integrity
from relsynth.frames import schema_from_frames
from relsynth.model import checks as ck
from relsynth.model import keys as kz
from relsynth.model.assign import children_bound
from relsynth.model.sample import SampleReport
from relsynth.schema import Check, Schema, SqlType
from relsynth.writer import write
from tests.conftest import run_sql

SEQ_CHECK = Check("seq_range", "seq BETWEEN 1 AND 3")


# -- planted data -------------------------------------------------------------------------------
def _equal_fks(seed: int) -> dict[str, pd.DataFrame]:
    """a (60 rows) and b (30 rows) with ids 1..n; every child has a_id == b_id."""
    rng = np.random.default_rng(seed)
    a = pd.DataFrame({"id": np.arange(1, 61), "x": rng.normal(size=60).round(2)})
    b = pd.DataFrame({"id": np.arange(1, 31), "y": rng.normal(size=30).round(2)})
    ids = rng.integers(1, 31, 200)
    child = pd.DataFrame(
        {"id": np.arange(1, 201), "a_id": ids, "b_id": ids, "v": rng.normal(size=200).round(3)}
    )
    return {"a": a, "b": b, "child": child}


def _equal_fks_schema(frames: dict[str, pd.DataFrame]) -> Schema:
    return schema_from_frames(
        frames,
        primary_keys={"a": ["id"], "b": ["id"], "child": ["id"]},
        foreign_keys=[("child", ["a_id"], "a", ["id"]), ("child", ["b_id"], "b", ["id"])],
    )


def _orphans(synth: dict[str, pd.DataFrame], child: str, col: str, parent: str) -> int:
    values = synth[child][col].dropna()
    return int((~values.isin(synth[parent]["id"])).sum())


@pytest.mark.parametrize("seed", range(6))
def test_equal_foreign_keys_leave_no_orphans(seed: int) -> None:
    frames = _equal_fks(seed)
    schema = _equal_fks_schema(frames)
    model = relsynth.fit(frames, schema=schema, seed=seed)
    tm = model.tables["child"]
    assert not [r for r in tm.repeats if r.column in {"a_id", "b_id"}], tm.repeats
    for scale in (0.5, 1.0, 2.0):
        synth = relsynth.sample(model, scale=scale, seed=seed)
        assert _orphans(synth, "child", "a_id", "a") == 0
        assert _orphans(synth, "child", "b_id", "b") == 0
        integrity = check_integrity(schema, synth)
        assert integrity.problems == 0, integrity.lines()


def _visits(seed: int = 0) -> dict[str, pd.DataFrame]:
    """visit_detail.person_id is always its visit's person_id: a key of person, so it is copied."""
    rng = np.random.default_rng(seed)
    person = pd.DataFrame({"id": np.arange(1, 81), "age": rng.integers(18, 90, 80)})
    visit = pd.DataFrame({"id": np.arange(1, 301), "person_id": rng.integers(1, 81, 300)})
    visit["cost"] = rng.gamma(2, 50, 300).round(2)
    vid = rng.integers(1, 301, 900)
    detail = pd.DataFrame(
        {
            "id": np.arange(1, 901),
            "visit_id": vid,
            "person_id": visit["person_id"].to_numpy()[vid - 1],
            "minutes": rng.integers(5, 120, 900),
        }
    )
    return {"person": person, "visit": visit, "visit_detail": detail}


def test_foreign_key_that_follows_from_a_parent_is_still_derived() -> None:
    frames = _visits()
    schema = schema_from_frames(
        frames,
        primary_keys={"person": ["id"], "visit": ["id"], "visit_detail": ["id"]},
        foreign_keys=[
            ("visit", ["person_id"], "person", ["id"]),
            ("visit_detail", ["visit_id"], "visit", ["id"]),
            ("visit_detail", ["person_id"], "person", ["id"]),
        ],
    )
    model = relsynth.fit(frames, schema=schema, seed=3)
    assert "visit_detail: person_id = person_id of its parent via fk_visit_detail_visit_id" in (
        model.relations_summary()
    )
    synth = relsynth.sample(model, scale=1.5, seed=3)
    assert check_integrity(schema, synth).problems == 0
    joined = synth["visit_detail"].merge(synth["visit"], left_on="visit_id", right_on="id")
    assert (joined["person_id_x"] == joined["person_id_y"]).all()


# -- numbering keys -----------------------------------------------------------------------------
GAPPED = [[1], [1, 2], [1, 2, 3], [2, 3], [1, 3], [2], [3]]
NUMBERED = [[1], [1, 2], [1, 2, 3]]


def _encounters(patterns: list[list[int]], n: int = 400, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Encounters and their items keyed (encounter_id, seq), seq from the given patterns."""
    rng = np.random.default_rng(seed)
    enc = pd.DataFrame({"encounter_id": np.arange(1, n + 1), "age": rng.integers(20, 90, n)})
    pick = rng.integers(0, len(patterns), n)
    sizes = np.array([len(patterns[k]) for k in pick])
    items = pd.DataFrame(
        {
            "encounter_id": np.repeat(enc["encounter_id"].to_numpy(), sizes),
            "seq": np.concatenate([patterns[k] for k in pick]),
        }
    )
    items["dose"] = (5 + 0.5 * items["seq"] + rng.normal(0, 1, len(items))).round(2)
    return {"encounters": enc, "items": items}


def _encounters_schema(frames: dict[str, pd.DataFrame], *, check: bool = True) -> Schema:
    schema = schema_from_frames(
        frames,
        primary_keys={"encounters": ["encounter_id"], "items": ["encounter_id", "seq"]},
        foreign_keys=[("items", ["encounter_id"], "encounters", ["encounter_id"])],
    )
    items = schema.table("items")
    columns = tuple(replace(c, type=SqlType("smallint")) if c.name == "seq" else c for c in items.columns)
    return schema.replace_table(replace(items, columns=columns, checks=(SEQ_CHECK,) if check else ()))


def _per_parent(items: pd.DataFrame) -> pd.DataFrame:
    return items.groupby("encounter_id")["seq"].agg(["min", "max", "count", "nunique"])


def test_partial_numbering_is_not_a_numbering() -> None:
    frames = _encounters(GAPPED)
    schema = _encounters_schema(frames)
    model = relsynth.fit(frames, schema=schema, seed=4)
    tm = model.tables["items"]
    assert tm.numbering == []
    assert not any("numbers rows" in line for line in model.relations_summary())
    for scale in (0.5, 1.0, 3.0):
        synth = relsynth.sample(model, scale=scale, seed=4)
        items = synth["items"]
        assert items["seq"].between(1, 3).all()
        stats = _per_parent(items)
        assert (stats["nunique"] == stats["count"]).all()
        assert check_integrity(schema, synth).problems == 0
    # seq is data now: its levels, gaps included (parents starting at 2), survive.
    starts = _per_parent(synth["items"])["min"]
    assert (starts > 1).mean() > 0.1
    shares = synth["items"]["seq"].value_counts(normalize=True)
    real = frames["items"]["seq"].value_counts(normalize=True)
    assert (shares - real).abs().max() < 0.1, (shares, real)


def test_partial_numbering_without_check_stays_inside_smallint() -> None:
    frames = _encounters(GAPPED)
    schema = _encounters_schema(frames, check=False)
    model = relsynth.fit(frames, schema=schema, seed=5)
    synth = relsynth.sample(model, scale=5.0, seed=5)
    seq = synth["items"]["seq"]
    assert seq.between(1, 3).all() and seq.max() < 2**15
    assert check_integrity(schema, synth).problems == 0


def test_full_numbering_is_detected_and_kept() -> None:
    frames = _encounters(NUMBERED)
    schema = _encounters_schema(frames)
    model = relsynth.fit(frames, schema=schema, seed=6)
    assert [nb.column for nb in model.tables["items"].numbering] == ["seq"]
    synth = relsynth.sample(model, scale=2.0, seed=6)
    stats = _per_parent(synth["items"])
    assert (stats["min"] == 1).all() and (stats["max"] == stats["count"]).all()
    assert check_integrity(schema, synth).problems == 0


def test_children_beyond_the_key_are_clipped_and_reported() -> None:
    frames = _encounters(NUMBERED)
    schema = _encounters_schema(frames)
    model = relsynth.fit(frames, schema=schema, seed=7)
    report = SampleReport()
    asked = 4 * len(frames["items"])  # more than three items per encounter on average
    synth = relsynth.sample(model, rows={"items": asked}, seed=7, report=report)
    items = synth["items"]
    assert _per_parent(items)["count"].max() <= 3
    assert report.clipped_children["items"] == asked - len(items) > 0
    assert any("items:" in line and "more children per parent" in line for line in report.lines())
    assert check_integrity(schema, synth).problems == 0


def test_a_table_wide_sequence_that_outgrows_smallint_is_counted_per_parent() -> None:
    """seq unique over the whole source table is generated as one sequence, unless that sequence
    would leave the smallint: then it counts each parent's children."""
    frames = _encounters(NUMBERED, n=300)
    frames["items"]["seq"] = np.arange(1, len(frames["items"]) + 1)
    schema = _encounters_schema(frames, check=False)
    model = relsynth.fit(frames, schema=schema, seed=8)
    assert model.tables["items"].column("seq").how == "key"
    small = relsynth.sample(model, seed=8)["items"]
    assert small["seq"].is_unique  # still one sequence while it fits
    synth = relsynth.sample(model, rows={"encounters": 20_000}, seed=8)
    assert len(synth["items"]) >= 2**15
    assert synth["items"]["seq"].between(1, 2**15 - 1).all()
    assert check_integrity(schema, synth).problems == 0


def test_children_bound_from_type_and_checks() -> None:
    frames = _encounters(NUMBERED, n=50)
    schema = _encounters_schema(frames, check=False)
    model = relsynth.fit(frames, schema=schema, seed=9)
    table, tm = schema.table("items"), model.tables["items"]
    context = model.plan["items"].context
    assert children_bound(tm, table, context) == 2**15 - 1  # a smallint numbering from 1
    for sql, bound in [
        ("seq BETWEEN 1 AND 3", 3),
        ("((seq >= 1) AND (seq <= 3))", 3),  # PostgreSQL's spelling
        ("seq > 0 AND seq < 4", 3),
        ("seq IN (1, 2, 3, 5)", 3),  # a numbering needs consecutive values
        ("seq IS NULL OR seq <= 10", 10),
        ("dose > 0", 2**15 - 1),
    ]:
        checked = replace(table, checks=(Check(None, sql),))
        assert children_bound(tm, checked, context) == bound, sql
    unnumbered = replace(tm, numbering=[])
    assert (
        children_bound(unnumbered, replace(table, checks=(Check(None, "seq IN (1, 2, 3, 5)"),)), context) == 4
    )


def test_integer_domain_and_distinct_values_within_groups() -> None:
    dom = ck.integer_domain("seq", "integer", ["seq >= 0", "seq < 5 OR seq = 9", "other > 1"])
    assert (dom.lo, dom.hi, dom.values, dom.size()) == (0, 9, None, 10)
    assert ck.integer_domain("seq", "smallint", ["seq IN (2, 4)"]).size() == 2
    assert ck.integer_domain("seq", "smallint", [], unsigned=True).hi == 2**16 - 1
    assert ck.integer_domain("seq", "integer", ["NOT (seq > 3)"]).size() == 2**32  # not understood: no bound
    groups = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    values = np.array([1, 1, 2, 3, 3, 9, 1, 1], dtype=object)
    out = kz.distinct_within(groups, values, 1, 3, None, 1)
    assert out.tolist() == [1, 3, 2, 3, 1, 2, 1, 3]  # firsts stay, repeats take free values
    out = kz.distinct_within(groups, values, 1, 10, np.array([1, 5, 7]), 1)
    assert out.tolist() == [1, 5, 7, 1, 5, 5, 1, 7]
    assert kz.distinct_within(groups, None, 1, 3, None, 1).tolist() == [1, 2, 3, 1, 2, 1, 2, 3]
    rng = np.random.default_rng(0)
    big = np.repeat(np.arange(50_000), 3)
    out = kz.distinct_within(big, rng.integers(1, 4, len(big)), 1, 3, None, 1)
    assert not pd.DataFrame({"g": big, "v": out}).duplicated().any() and set(out) == {1, 2, 3}


# -- every database, through the writer ---------------------------------------------------------
def _case(name: str) -> tuple[dict[str, pd.DataFrame], Schema]:
    if name == "equal_fks":
        frames = _equal_fks(1)
        return frames, _equal_fks_schema(frames)
    frames = _encounters(GAPPED if name == "gapped_seq" else NUMBERED)
    return frames, _encounters_schema(frames)


def _target(request: pytest.FixtureRequest, kind: str) -> str:
    fixture = {"sqlite": "sqlite_db", "postgresql": "pg_db", "mysql": "mysql_db"}[kind]
    return request.getfixturevalue(fixture)()


@pytest.mark.parametrize("case", ["equal_fks", "gapped_seq", "numbered_seq"])
@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mysql"])
def test_sampled_tables_load_into_every_database(
    request: pytest.FixtureRequest, kind: str, case: str
) -> None:
    frames, schema = _case(case)
    model = relsynth.fit(frames, schema=schema, seed=10)
    rows = {"items": 4 * len(frames["items"])} if case == "numbered_seq" else None  # forces clipping
    synth = relsynth.sample(model, scale=2.0, rows=rows, seed=10)
    assert check_integrity(schema, synth).problems == 0
    url = _target(request, kind)
    summary = write(synth, model.schema, url, plan=model.plan)
    assert summary.verification.problems == 0, summary.verification.lines()
    assert not summary.dropped_for_checks
    assert summary.rows == {n: len(synth[n]) for n in model.plan.order}


SOURCE_DDL = """
CREATE TABLE a (id INTEGER PRIMARY KEY, x DOUBLE PRECISION NOT NULL);
CREATE TABLE b (id INTEGER PRIMARY KEY, y DOUBLE PRECISION NOT NULL);
CREATE TABLE child (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL, b_id INTEGER NOT NULL,
  v DOUBLE PRECISION NOT NULL, FOREIGN KEY (a_id) REFERENCES a (id), FOREIGN KEY (b_id) REFERENCES b (id));
CREATE TABLE encounters (encounter_id INTEGER PRIMARY KEY, age INTEGER NOT NULL);
CREATE TABLE items (encounter_id INTEGER NOT NULL, seq SMALLINT NOT NULL, dose NUMERIC(6,2) NOT NULL,
  PRIMARY KEY (encounter_id, seq), FOREIGN KEY (encounter_id) REFERENCES encounters (encounter_id),
  CONSTRAINT seq_range CHECK (seq BETWEEN 1 AND 3));
"""


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mysql"])
def test_source_database_with_both_cases_synthesizes_and_loads(
    request: pytest.FixtureRequest, kind: str
) -> None:
    """Reflected from a real database (its CHECK spelling, its smallint), written to another."""
    source = _target(request, kind)
    run_sql(source, SOURCE_DDL)
    engine = sa.create_engine(source)
    with engine.begin() as conn:
        for frames in (_equal_fks(2), _encounters(GAPPED)):
            for name, frame in frames.items():
                frame.to_sql(name, conn, if_exists="append", index=False)
    engine.dispose()
    model = relsynth.fit(source, seed=11)
    assert model.tables["items"].numbering == []
    assert not [r for r in model.tables["child"].repeats if r.column in {"a_id", "b_id"}]
    report = SampleReport()
    synth = relsynth.sample(model, scale=3.0, seed=11, report=report)
    assert check_integrity(model.schema, synth).problems == 0
    assert synth["items"]["seq"].between(1, 3).all()
    summary = write(synth, model.schema, _target(request, kind), plan=model.plan)
    assert summary.verification.problems == 0, summary.verification.lines()
    assert not summary.dropped_for_checks
    assert summary.rows == {n: len(synth[n]) for n in model.plan.order}


def test_a_null_determinant_still_gives_its_target() -> None:
    """prefix NULL -> gender F is a learned value like any other: a sample whose every prefix is
    NULL (one patient at scale 0.1) once left gender NULL in a NOT NULL column."""
    import numpy as np
    import pandas as pd

    import relsynth

    rng = np.random.default_rng(0)
    prefix = ["Mrs."] * 8 + ["Mr."] * 8 + [None] * 8
    gender = ["F" if p in {"Mrs.", None} else "M" for p in prefix]
    people = pd.DataFrame(
        {"id": range(1, 25), "prefix": prefix, "gender": gender, "age": rng.integers(20, 80, 24)}
    )
    model = relsynth.fit({"people": people}, seed=0)
    assert model.tables["people"].column("gender").how == "dependency"
    saw_null_prefix = False
    for seed in range(12):
        out = relsynth.sample(model, rows={"people": 1}, seed=seed)["people"]
        saw_null_prefix |= bool(out["prefix"].isna().all())
        assert out["gender"].notna().all(), seed
    assert saw_null_prefix


def test_a_key_of_one_column_may_be_given_as_its_name() -> None:
    """schema_from_frames(primary_keys={"t": "id"}) and a foreign key ("c", "p_id", "p", "id")
    took a name as its letters: "Unknown column 'i'"."""
    from relsynth.frames import schema_from_frames

    frames = {
        "p": pd.DataFrame({"id": [1, 2, 3]}),
        "c": pd.DataFrame({"cid": [1, 2, 3, 4], "p_id": [1, 1, 2, 3]}),
    }
    schema = schema_from_frames(
        frames, primary_keys={"p": "id", "c": "cid"}, foreign_keys=[("c", "p_id", "p", "id")]
    )
    assert schema.table("p").primary_key == ("id",)
    assert schema.table("c").foreign_keys[0].columns == ("p_id",)
    assert schema.table("c").foreign_keys[0].ref_columns == ("id",)
