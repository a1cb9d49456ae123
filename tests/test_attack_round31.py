"""Attack round 31: a table of facts (times, costs) that points only into code lists was taken for
a vocabulary table and copied, every record the source's."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

import relsynth


def _stays(path: Path) -> list[tuple[object, ...]]:
    rng = np.random.default_rng(0)
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE ward (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
        "CREATE TABLE admission_type (id INTEGER PRIMARY KEY, label TEXT NOT NULL);"
        "CREATE TABLE stay (id INTEGER PRIMARY KEY, ward_id INTEGER NOT NULL REFERENCES ward,"
        " admission_type_id INTEGER NOT NULL REFERENCES admission_type, admitted TIMESTAMP NOT NULL,"
        " cost REAL NOT NULL, age INTEGER NOT NULL);"
    )
    con.executemany("INSERT INTO ward VALUES (?, ?)", [(i, f"ward {i}") for i in range(1, 13)])
    con.executemany("INSERT INTO admission_type VALUES (?, ?)", [(i, f"type {i}") for i in range(1, 6)])
    rows = [
        (
            g,
            int(rng.integers(1, 13)),
            int(rng.integers(1, 6)),
            f"2023-{1 + g % 12:02d}-{1 + g % 28:02d} {g % 24:02d}:{g % 60:02d}:00",
            round(float(rng.lognormal(8, 1)), 2),
            int(rng.integers(18, 95)),
        )
        for g in range(1, 3001)
    ]
    con.executemany("INSERT INTO stay VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()
    return [r[3:] for r in rows]


def test_facts_under_code_lists_are_learned_not_copied(tmp_path: Path) -> None:
    source = _stays(tmp_path / "src.db")
    model = relsynth.fit(f"sqlite:///{tmp_path / 'src.db'}", seed=0)
    assert model.plan["stay"].role == "data"
    assert model.plan["ward"].role == "reference"  # the code lists are still copied
    out = relsynth.sample(model, scale=0.5, seed=1)["stay"]
    assert 1_000 < len(out) < 2_000  # --scale applies
    made = set(
        zip(out["admitted"].astype(str), out["cost"].astype(float), out["age"].astype(int), strict=True)
    )
    assert not made & {(a, float(c), int(g)) for a, c, g in source}


@pytest.mark.mysql
def test_children_equal_to_their_parent_without_accents_are_kept(request: pytest.FixtureRequest) -> None:
    """MariaDB's *_ci collations ignore accents: 'cafe7' joins the key 'café7'. Half of 800
    children were spelled so, and 400 came out."""
    import sqlalchemy as sa

    source, target = request.getfixturevalue("mysql_db")(), request.getfixturevalue("mysql_db")()
    engine = sa.create_engine(source)
    with engine.begin() as conn:
        options = " CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
        conn.exec_driver_sql(f"CREATE TABLE shop (name VARCHAR(20) PRIMARY KEY, size INT NOT NULL){options}")
        conn.exec_driver_sql(
            "CREATE TABLE sale (id INT PRIMARY KEY, shop VARCHAR(20) NOT NULL REFERENCES shop (name), "
            f"amount INT NOT NULL, FOREIGN KEY (shop) REFERENCES shop (name)){options}"
        )
        conn.execute(
            sa.text("INSERT INTO shop VALUES (:n, :s)"),
            [{"n": f"café{g}", "s": g % 7} for g in range(1, 201)],
        )
        sales = [{"i": g, "s": f"{('café', 'cafe')[g % 2]}{1 + g % 200}", "a": g % 50} for g in range(1, 801)]
        conn.execute(sa.text("INSERT INTO sale VALUES (:i, :s, :a)"), sales)
    engine.dispose()
    out = relsynth.synthesize(source, target, seed=0)
    assert out["write"].verification.problems == 0
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        sold = conn.execute(sa.text("SELECT count(*) FROM sale")).scalar()
    engine.dispose()
    assert sold is not None and sold > 680, sold  # 800 (about), not 400


@pytest.mark.postgresql
def test_an_index_calling_a_function_the_target_lacks_is_listed_not_fatal(
    request: pytest.FixtureRequest,
) -> None:
    """An index on norm(code) and one WHERE is_big(qty), functions of the source the target does
    not have, ended the run in an internal error."""
    import sqlalchemy as sa

    source, target = request.getfixturevalue("pg_db")(), request.getfixturevalue("pg_db")()
    engine = sa.create_engine(source)
    with engine.begin() as conn:
        for sql in (
            "CREATE FUNCTION norm(t text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT lower(trim(t))'",
            "CREATE FUNCTION is_big(n int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT n > 100'",
            "CREATE TABLE item (id INT PRIMARY KEY, code TEXT, qty INT)",
            "CREATE UNIQUE INDEX item_norm_code ON item (norm(code))",
            "CREATE INDEX item_big ON item (qty) WHERE is_big(qty)",
            "INSERT INTO item SELECT g, 'C' || g, mod(g, 300) FROM generate_series(1, 1000) g",
        ):
            conn.exec_driver_sql(sql)
    engine.dispose()
    out = relsynth.synthesize(source, target, seed=1)
    summary = out["write"]
    assert summary.verification.problems == 0
    listed = " ".join(summary.not_recreated)
    assert "index item_norm_code on item" in listed and "index item_big on item" in listed


def test_uuids_round_trip_through_a_model_file() -> None:
    """A level of a category may be a PostgreSQL uuid (Synthea's claims): the model file could
    not be written (UUID is not JSON)."""
    import uuid

    from relsynth.jsontags import jsonable, unjson

    value = (uuid.UUID(int=7), "x", 3)
    assert unjson(jsonable(value)) == value


@pytest.mark.postgresql
def test_replace_refuses_to_drop_what_a_dba_put_on_a_partition(request: pytest.FixtureRequest) -> None:
    """What a DBA added to one partition of a table --replace rewrites (a trigger, a CHECK, an
    index, a grant, a comment) was dropped with it, without a word; relsynth's own partitions, as
    a first run made them, are replaced again without a refusal."""
    import sqlalchemy as sa

    from relsynth.errors import RelsynthError

    source, target = request.getfixturevalue("pg_db")(), request.getfixturevalue("pg_db")()

    def run(url: str, *sql: str) -> None:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            for statement in sql:
                conn.exec_driver_sql(statement)
        engine.dispose()

    run(
        source,
        "CREATE TABLE event (id INT NOT NULL, at DATE NOT NULL, kind TEXT CHECK (kind <> ''), "
        "PRIMARY KEY (id, at)) PARTITION BY RANGE (at)",
        "CREATE TABLE event_2021 PARTITION OF event FOR VALUES FROM ('2021-01-01') TO ('2022-01-01')",
        "CREATE TABLE event_2022 PARTITION OF event FOR VALUES FROM ('2022-01-01') TO ('2023-01-01')",
        "CREATE INDEX event_kind ON event (kind)",
        "INSERT INTO event SELECT g, DATE '2021-01-01' + mod(g * 7, 700), 'k' || mod(g, 5) "
        "FROM generate_series(1, 2000) g",
    )
    relsynth.synthesize(source, target, seed=0)
    relsynth.synthesize(source, target, seed=1, replace=True)  # its own partitions: no refusal
    run(
        target,
        "CREATE FUNCTION dba_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
        "CREATE TRIGGER dba_trg BEFORE INSERT ON event_2021 FOR EACH ROW EXECUTE FUNCTION dba_fn()",
        "ALTER TABLE event_2021 ADD CONSTRAINT dba_ck CHECK (id > 0)",
        "CREATE INDEX dba_idx ON event_2021 (id)",
        "GRANT SELECT ON event_2021 TO PUBLIC",
        "COMMENT ON TABLE event_2021 IS 'hot data'",
    )
    with pytest.raises(RelsynthError, match="nothing was changed") as err:
        relsynth.synthesize(source, target, seed=2, replace=True)
    for item in (
        "trigger dba_trg on partition event_2021",
        "CHECK dba_ck on partition event_2021",
        "index dba_idx on partition event_2021",
        "grants on partition event_2021",
        "comment on partition event_2021",
    ):
        assert item in str(err.value), (item, str(err.value))
