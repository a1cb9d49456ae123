"""A model file lets nobody test whether a record or value was in the training data, and the guard
that keeps synthetic rows and values off the source's works without it: in memory right after
fitting, or from the source given again to `relsynth sample --source`.

The attack: two sources that differ only in one person's e-mail, phone and record number (same
shapes, same domain) must give the same model file. Salted hashes of those values (what the model
file held before) make the two differ, and let a holder test a guessed e-mail against them."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from relsynth.evaluation import privacy
from relsynth.model.sample import SampleReport
from relsynth.schema import Column, Kind, Schema, SqlType, Table
from relsynth.writer import write

KINDS = ["sqlite", "postgresql", "mysql"]


@pytest.fixture(scope="module")
def demo(demo_db: str):
    engine = sa.create_engine(demo_db)
    model = relsynth.fit(demo_db, seed=2)
    frames = {n: pd.read_sql_table(n, engine) for n in model.plan.order}
    engine.dispose()
    return model, frames


def _new(request: pytest.FixtureRequest, kind: str) -> str:
    fixture = {"sqlite": "sqlite_db", "postgresql": "pg_db", "mysql": "mysql_db"}[kind]
    return request.getfixturevalue(fixture)()


def _contents(path: Path) -> tuple[dict, dict[str, bytes]]:
    """The model file's JSON and every array, without the zip's timestamps."""
    with zipfile.ZipFile(path) as z:
        doc = json.loads(z.read("model.json"))
        arrays = np.load(io.BytesIO(z.read("arrays.npz")), allow_pickle=False)
        return doc, {k: arrays[k].tobytes() for k in arrays.files}


def _other_person(frame: pd.DataFrame) -> pd.DataFrame:
    """The same patients, but one of them with another e-mail, phone and record number: the same
    shapes, the same domain, and still unique (what the output itself shows of these columns, the
    characters every value shares, their number of distinct values, stays as it was)."""
    out = frame.copy()
    cols = ["email", "phone", "mrn"]
    unique = np.logical_and.reduce([~out[c].duplicated(keep=False) & out[c].notna() for c in cols])
    row = out.index[unique][0]
    for c in cols:
        value = out.at[row, c]
        end = value.index("@") if c == "email" else len(value)  # an e-mail keeps its domain
        for i in range(end - 1, -1, -1):  # the last position where values differ, made new
            if out[c].dropna().str[i].nunique() < 2 or not value[i].isalnum():
                continue
            alphabet = "0123456789" if value[i].isdigit() else "abcdefghijklmnopqrstuvwxyz"
            options = [value[:i] + ch + value[i + 1 :] for ch in alphabet if ch != value[i]]
            fresh = [v for v in options if v not in set(out[c])]
            if fresh:
                out.at[row, c] = fresh[0]
                break
        assert out.at[row, c] != frame.at[row, c], c
    return out


def _walk_keys(doc: object) -> set[str]:
    if isinstance(doc, dict):
        return set(doc) | {k for v in doc.values() for k in _walk_keys(v)}
    if isinstance(doc, list):
        return {k for v in doc for k in _walk_keys(v)}
    return set()


@pytest.mark.parametrize("kind", KINDS)
def test_one_persons_values_leave_no_trace_in_the_model_file(
    request: pytest.FixtureRequest, tmp_path: Path, demo, kind: str
) -> None:
    model, frames = demo
    files = []
    for i, tables in enumerate((frames, {**frames, "patients": _other_person(frames["patients"])})):
        url = _new(request, kind)
        write(tables, model.schema, url, plan=model.plan)
        path = tmp_path / f"m{i}.rsm"
        relsynth.fit(url, seed=2).save(path)
        files.append(_contents(path))
    (doc_a, arrays_a), (doc_b, arrays_b) = files
    for doc in (doc_a, doc_b):  # where each was read from differs: the URL, the server, the file
        doc.pop("source", None)
        doc["schema"].pop("database", None)
    assert doc_a == doc_b and arrays_a == arrays_b
    assert not {"guard", "record_guard", "salt", "hashes"} & _walk_keys(doc_a)
    text = json.dumps(doc_a)
    emails = frames["patients"].email.dropna()
    assert not any(e in text for e in emails)


def _pairs() -> tuple[Schema, dict[str, pd.DataFrame]]:
    """Records of two categorical columns where a few combinations are unique: chance copies."""
    rng = np.random.default_rng(0)
    a = rng.choice(list("pqrs"), 400, p=[0.4, 0.3, 0.2, 0.1])
    b = rng.choice(list("wxyz"), 400, p=[0.4, 0.3, 0.2, 0.1])
    c = rng.integers(0, 3, 400)
    frame = pd.DataFrame({"id": range(400), "a": a, "b": b, "c": c})
    table = Table(
        "t",
        (
            Column("id", SqlType("integer"), nullable=False, kind=Kind.ID),
            Column("a", SqlType("varchar"), nullable=False, kind=Kind.CATEGORICAL),
            Column("b", SqlType("varchar"), nullable=False, kind=Kind.CATEGORICAL),
            Column("c", SqlType("integer"), nullable=False, kind=Kind.NUMERICAL),
        ),
        primary_key=("id",),
        row_count=400,
    )
    return Schema((table,), dialect="pandas"), {"t": frame}


def _copies(schema: Schema, real: pd.DataFrame, synth: pd.DataFrame) -> int:
    table = schema.table("t")
    return privacy.exact_copies(table, real, synth, privacy.record_columns(table, real, synth))["copies"]


def test_the_guard_works_from_memory_and_from_the_source_not_from_the_file(tmp_path: Path) -> None:
    schema, frames = _pairs()
    model = relsynth.fit(frames, schema=schema, seed=1)
    report = SampleReport()
    guarded = relsynth.sample(model, scale=3, seed=4, report=report)["t"]
    assert _copies(schema, frames["t"], guarded) == 0 and report.moved_records.get("t", 0) > 0
    assert report.moved_records["t"] <= len(guarded)  # rows, each counted once however often moved
    assert not report.unguarded
    path = tmp_path / "m.rsm"
    model.save(path)
    loaded = relsynth.Model.load(path)
    report = SampleReport()
    bare = relsynth.sample(loaded, scale=3, seed=4, report=report)["t"]
    assert report.unguarded == ["t"] and any("not checked against the source" in x for x in report.lines())
    assert _copies(schema, frames["t"], bare) > 0  # the file alone cannot keep them off
    again = relsynth.sample(relsynth.Model.load(path), scale=3, seed=4, source=frames)["t"]
    pd.testing.assert_frame_equal(again, guarded)  # the source given again: the same output


@pytest.mark.parametrize("kind", KINDS)
def test_sample_source_guards_and_refuses_another_database(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    schema, frames = _pairs()
    source = _new(request, kind)
    write(frames, schema, source)
    model_path = tmp_path / "m.rsm"
    run = CliRunner().invoke(main, ["-q", "fit", source, "-o", str(model_path), "--seed", "1"])
    assert run.exit_code == 0, run.output
    engine = sa.create_engine(source)
    real = pd.read_sql_table("t", engine)
    engine.dispose()
    for extra, guarded in (([], False), (["--source", source], True)):
        out = tmp_path / f"out{int(guarded)}"
        args = ["sample", str(model_path), "-o", str(out), "--format", "csv", "--scale", "3", *extra]
        run = CliRunner().invoke(main, args)
        assert run.exit_code == 0, run.output
        assert ("not checked against the source" in run.stderr) is not guarded
        synth = pd.read_csv(out / "t.csv", dtype={"a": str, "b": str})
        assert (_copies(schema, real, synth) == 0) is guarded
    other = _new(request, kind)
    write(frames, schema, other)
    run = CliRunner().invoke(
        main, ["-q", "sample", str(model_path), "-o", str(tmp_path / "x"), "--source", other]
    )
    assert run.exit_code == 1 and "is not the database this model was fitted on" in run.stderr


def test_a_shape_only_one_value_has_is_not_kept() -> None:
    """One odd handle among 300 regular ones: its shape would be a trace of it in the model file."""
    from relsynth.model.text import Shapes

    values = [f"user{i:04d}" for i in range(300)] + ["zzQQ_unusual_handle_999"]
    shapes = Shapes.fit(pd.Series(values))
    assert (
        len(shapes.templates) == 1
        and shapes.templates[0].startswith("\\u\\s\\e\\r")
        and shapes.weights == [1.0]
    )


def test_generated_identifiers_never_equal_a_source_value() -> None:
    """Identifier-like strings regenerated in the source's shape once hit 93 of 300 source values."""
    values = [f"nickUNIQUE{i:03d}" for i in range(1, 301)]
    frame = pd.DataFrame({"id": range(300), "nick": values})
    table = Table(
        "t",
        (
            Column("id", SqlType("integer"), nullable=False, kind=Kind.ID),
            Column("nick", SqlType("varchar"), nullable=False, kind=Kind.ID),
        ),
        primary_key=("id",),
        row_count=300,
    )
    schema = Schema((table,), dialect="pandas")
    model = relsynth.fit({"t": frame}, schema=schema, seed=1)
    out = relsynth.sample(model, scale=2, seed=1)["t"]
    assert not set(out.nick) & set(values)


@pytest.mark.parametrize("kind", KINDS)
def test_no_source_person_comes_back_by_name(kind: str, request: pytest.FixtureRequest) -> None:
    """A first name may recur, a last name may recur; a source person's pair (ignoring case) may
    not. Names drawn from the generator's own lists make chance pairs likely."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(5)
    n = 3000
    people = pd.DataFrame(
        {
            "id": range(1, n + 1),
            "first_name": [fake.first_name() for _ in range(n)],
            "last_name": [fake.last_name().upper() for _ in range(n)],  # the case must not matter
            "age": np.random.default_rng(1).integers(18, 90, n),
        }
    )
    source, target = _new(request, kind), _new(request, kind)
    engine = sa.create_engine(source)
    meta = sa.MetaData()
    person = sa.Table(
        "person",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("first_name", sa.String(40), nullable=False),
        sa.Column("last_name", sa.String(40), nullable=False),
        sa.Column("age", sa.Integer),
    )
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(person.insert(), people.to_dict("records"))
    engine.dispose()
    relsynth.synthesize(source, target, seed=2, scale=2.0)
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        out = pd.DataFrame(conn.execute(sa.select(person.c.first_name, person.c.last_name)).fetchall())
    engine.dispose()

    def pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
        return {
            (a.casefold(), b.casefold()) for a, b in zip(frame["first_name"], frame["last_name"], strict=True)
        }

    assert len(out) == 2 * n
    assert not pairs(out) & pairs(people)
    assert set(out["first_name"]) & set(people["first_name"])  # names themselves do recur


def test_records_nothing_can_move_are_said_not_hidden() -> None:
    """A record whose every column follows from others has no column to move: the rows equal to
    a unique source record are counted in the summary, not passed over in silence."""
    from relsynth.model.generate import avoid_records
    from relsynth.model.spec import TableModel
    from relsynth.model.text import SourceGuard
    from relsynth.model.values import record_keys

    table = Table(
        "t",
        (
            Column("id", SqlType("integer"), nullable=False, kind=Kind.ID),
            Column("a", SqlType("integer"), kind=Kind.NUMERICAL),
            Column("b", SqlType("string"), kind=Kind.CATEGORICAL),
        ),
        primary_key=("id",),
    )
    source = pd.DataFrame({"id": [1, 2, 3], "a": [1, 2, 3], "b": ["x", "y", "z"]})
    tm = TableModel("t", "data", 3, record_columns=["a", "b"])
    unique = record_keys(table, source, ["a", "b"])
    tm.record_guard = SourceGuard.fit(unique, b"k" * 16)
    report = SampleReport()
    synthetic = pd.DataFrame({"id": [7, 8], "a": [2, 5], "b": ["y", "y"]})
    assert not avoid_records(tm, table, synthetic, np.random.default_rng(0), report)
    assert report.unmoved_records == {"t": 1}
    assert any("1 rows equal a source record" in line for line in report.lines())


def test_rows_equal_to_a_unique_record_that_nothing_can_move_are_not_written(sqlite_db) -> None:
    """Every column of a line repeats its product's (name code and price): no column of the line
    can move, and the pair (code, price) of a product sold once is a unique record. Such rows were
    only counted; now they are left out, and the summary says how many."""
    from relsynth.model.values import record_keys

    rng = np.random.default_rng(3)
    n_products = 60
    # Products 1-10 (codes A and B) sell often; 50 products of code C share 4 prices (each pair
    # (C, price) held by 12 products: nothing rare about a product), but only 4 of them sold, once
    # each: among lines, each (C, price) is one sale, a unique record.
    products = pd.DataFrame(
        {
            "id": np.arange(1, n_products + 1),
            "code": [*rng.choice(["A", "B"], 10), *["C"] * 50],
            "price": [*rng.choice([1.5, 2.5, 3.5, 4.5], 10), *[1.5, 2.5, 3.5, 4.5] * 12, 1.5, 2.5],
        }
    )
    sold = np.concatenate([rng.integers(1, 11, 600), [11, 12, 13, 14]])
    lines = pd.DataFrame({"id": np.arange(1, len(sold) + 1), "product_id": sold})
    lines = lines.merge(products, left_on="product_id", right_on="id", suffixes=("", "_p")).drop(
        columns="id_p"
    )
    url = sqlite_db()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE product (id INTEGER PRIMARY KEY, code TEXT NOT NULL, price REAL NOT NULL)"
        )
        conn.exec_driver_sql(
            "CREATE TABLE line (id INTEGER PRIMARY KEY, product_id INTEGER NOT NULL REFERENCES product (id),"
            " code TEXT NOT NULL, price REAL NOT NULL)"
        )
        products.to_sql("product", conn, if_exists="append", index=False)
        lines[["id", "product_id", "code", "price"]].to_sql("line", conn, if_exists="append", index=False)
    engine.dispose()
    model = relsynth.fit(url, seed=1)
    tm = model.tables["line"]
    assert tm.record_columns and tm.record_nudge is None  # nothing in a line can move
    table = model.schema.table("line")
    source_keys = record_keys(table, lines, tm.record_columns).value_counts()
    unique = set(source_keys.index[source_keys == 1])
    dropped = 0
    for seed in range(3):
        report = SampleReport()
        out = relsynth.sample(model, scale=2.0, seed=seed, report=report)
        assert not set(record_keys(table, out["line"], tm.record_columns)) & unique
        dropped += report.dropped_records.get("line", 0)
        assert not report.unmoved_records
    assert dropped > 0  # the attack would have found copies: they were there to leave out


def test_a_word_of_one_value_repeated_on_many_rows_is_not_learned() -> None:
    """One customer's street repeated on all their invoices: many rows, one value. Words were
    kept when they appeared in 3 rows, so 'Quartermaine' (one person's street) was in the model
    file and in generated text; they must appear in 3 different values."""
    from relsynth.model.text import Vocabulary

    common = [
        "north road",
        "high street",
        "main street",
        "station road",
        "park lane",
        "mill lane",
        "old church way",
    ]
    rows = [f"{i} {common[i % len(common)]}" for i in range(60)] + ["12 Quartermaine Close"] * 9
    vocab = Vocabulary.fit(pd.Series(rows))
    assert vocab is not None
    assert "Quartermaine" not in vocab.words and "Close" not in vocab.words
    assert {"road", "street", "lane"} <= set(vocab.words)


def test_vocabulary_counts_values_that_differ_only_in_case_or_blanks_once() -> None:
    """One part's whole comment, 'silent', was a vocabulary word: it was in three distinct raw
    values, two of them the same comment but for a trailing blank (bench_privacy, TPC-H)."""
    from relsynth.model.text import Vocabulary

    adverbs = ("carefully", "quickly", "slyly", "furiously")
    adjectives = ("ironic", "bold", "even", "regular")
    nouns = ("deposits", "accounts", "requests", "packages")
    filler = [f"{a} {b} {c}" for a in adverbs for b in adjectives for c in nouns]
    rows = [*filler, "silent", "silent ", "ly silent"]
    vocab = Vocabulary.fit(pd.Series(rows))
    assert vocab is not None and "carefully" in vocab.words
    assert "silent" not in vocab.words


def test_one_familys_summary_is_no_knot_of_its_own() -> None:
    """Each parent's children are summarised (their mean and spread on the copula's scale) and
    the parent table learns those summaries. They were stored a knot per parent: one person's 40
    visits of 55,555.55 stood as a lone knot at 1.83 where the next was 0.56, and whether that
    person is in the source showed from the file. Now a knot per rare_k families, ends pulled in."""
    rng = np.random.default_rng(4)
    n = 300
    counts = rng.integers(0, 6, n)
    counts[0] = 40
    owner = np.repeat(np.arange(1, n + 1), counts)
    cost = np.where(owner == 1, 55555.55, np.round(rng.normal(300, 80, len(owner)), 2))
    frames = {
        "person": pd.DataFrame({"id": np.arange(1, n + 1), "age": rng.integers(20, 80, n)}),
        "visit": pd.DataFrame({"id": np.arange(1, len(owner) + 1), "person_id": owner, "cost": cost}),
    }
    from relsynth.frames import schema_from_frames

    schema = schema_from_frames(
        frames,
        primary_keys={"person": "id", "visit": "id"},
        foreign_keys=[("visit", "person_id", "person", "id")],
    )
    model = relsynth.fit(frames, schema=schema, seed=0)
    families = int((counts > 0).sum())
    summaries = [d for d in model.tables["person"].dims if d.role in {"loc", "scale"}]
    assert summaries
    for dim in summaries:
        knots = np.sort(np.asarray(dim.encoder.knots))  # type: ignore[attr-defined]
        assert len(knots) <= -(-families // 5) + 1, (dim.name, len(knots), families)
        gaps = np.diff(knots)
        assert gaps[-1] <= 5 * np.median(gaps[gaps > 0]), (dim.name, knots[-4:])
