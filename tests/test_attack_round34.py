"""Attack round 34 (a README-only helper's unseen databases): safety and privacy fixes."""

from __future__ import annotations

import sqlite3
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from relsynth.errors import ModelError
from relsynth.guard import SameDatabase
from relsynth.pii_detect import detect
from tests.conftest import fetch, run_raw, scalar


def _pg_with_lookup_schema(url: str) -> None:
    run_raw(
        url,
        "CREATE SCHEMA ref",
        "CREATE TABLE ref.item (id int PRIMARY KEY, label text)",
        "INSERT INTO ref.item SELECT g, 'item ' || g FROM generate_series(1, 20) g",
        "CREATE TABLE public.lab (id int PRIMARY KEY, item_id int REFERENCES ref.item(id), v float)",
        "INSERT INTO public.lab SELECT g, 1 + g % 20, g * 0.37 FROM generate_series(1, 400) g",
        "CREATE SCHEMA synth",
    )


@pytest.mark.postgresql
def test_no_target_in_a_schema_the_source_points_into(pg_db: Callable[[], str], tmp_path: Path) -> None:
    """Reading schema public, whose lab rows point into ref.item, a target in schema ref (by
    --target-schema, or a search_path in the URL) wrote beside the source's lookup table. The
    source's data lives there too: refused, before anything is created; another schema is fine."""
    source = pg_db()
    _pg_with_lookup_schema(source)
    before = fetch(source, "SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2")
    by_path = sa.make_url(source).update_query_dict({"options": "-csearch_path=ref"})
    for target, kw in ((source, {"target_schema": "ref"}), (by_path.render_as_string(False), {})):
        with pytest.raises(SameDatabase, match=r"\(schema ref\) is a schema the source's foreign keys"):
            relsynth.synthesize(source, target, replace=True, **kw)
    result = CliRunner().invoke(
        main, ["synthesize", source, source, "--target-schema", "ref", "--replace", "--no-report"]
    )
    assert result.exit_code != 0 and "never writes beside its source's tables" in result.output
    assert (
        fetch(source, "SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2")
        == before
    )
    # A model file remembers it: sampling it into ref is refused too.
    model_path = tmp_path / "m.rsm"
    relsynth.fit(source, seed=0).save(model_path)
    result = CliRunner().invoke(
        main, ["sample", str(model_path), "--target", source, "--target-schema", "ref"]
    )
    assert result.exit_code != 0 and "never writes beside its source's tables" in result.output
    assert relsynth.synthesize(source, source, target_schema="synth")["write"].verification.problems == 0
    assert scalar(source, "SELECT count(*) FROM synth.lab") == 400


@pytest.mark.mysql
def test_no_target_in_a_database_the_source_points_into(mysql_db: Callable[[], str]) -> None:
    """MariaDB: a foreign key into another database (lookup.item) makes that database the source's."""
    source, lookup = mysql_db(), mysql_db()
    other = sa.make_url(lookup).database
    run_raw(
        lookup,
        "CREATE TABLE item (id INT PRIMARY KEY, label VARCHAR(20))",
        "INSERT INTO item VALUES " + ", ".join(f"({i}, 'item {i}')" for i in range(1, 21)),
    )
    run_raw(
        source,
        "CREATE TABLE lab (id INT PRIMARY KEY, item_id INT, v DOUBLE, "
        f"FOREIGN KEY (item_id) REFERENCES `{other}`.item(id))",
        "INSERT INTO lab VALUES " + ", ".join(f"({i}, {1 + i % 20}, {i * 0.37})" for i in range(1, 401)),
    )
    with pytest.raises(SameDatabase, match="is a database the source's foreign keys point into"):
        relsynth.synthesize(source, lookup, replace=True)
    assert (
        scalar(lookup, "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE()") == 1
    )


def test_fit_never_replaces_a_zip_that_only_starts_like_a_model(tmp_path: Path, demo_db: str) -> None:
    """A backup whose first member is named model.json (beside payroll.csv) was replaced by a model
    file; only an archive of exactly what relsynth saves is a model file."""
    backup = tmp_path / "backup.zip"
    with zipfile.ZipFile(backup, "w") as z:
        z.writestr("model.json", "{}")
        z.writestr("payroll.csv", "emp,salary\n1,5000\n")
    before = backup.read_bytes()
    result = CliRunner().invoke(main, ["fit", demo_db, "-o", str(backup), "--quiet"])
    assert result.exit_code != 0 and "is a zip archive, not a relsynth model file" in result.output
    assert backup.read_bytes() == before
    model = relsynth.fit(demo_db, seed=0)
    with pytest.raises(ModelError, match="a zip archive"):
        model.save(backup)
    real = tmp_path / "m.rsm"
    model.save(real)
    model.save(real)  # a model file is replaced
    assert type(model).load(real).tables.keys() == model.tables.keys()


def test_names_after_central_european_titles_are_personal_data(tmp_path: Path) -> None:
    """'Ing. Novák', 'Mgr. Svoboda' beside 'Dr. Dvořák': the titles were unknown, too few values
    read as titled, and every name was copied into the output."""
    import pandas as pd

    surnames = ["Novák", "Svoboda", "Novotná", "Dvořák", "Černá", "Procházka", "Kučera", "Veselý", "Horák"]
    titles = ["Ing.", "Mgr.", "Bc.", "MUDr.", "Dr."]
    values = pd.Series([f"{titles[i % 5]} {surnames[i % 9]}" for i in range(600)])
    kind, why = detect(values)
    assert kind in {"last_name", "person_name"}, why
    db = tmp_path / "cz.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, title_name TEXT, x INTEGER)")
    con.executemany("INSERT INTO users VALUES (?, ?, ?)", [(i, v, i % 7) for i, v in enumerate(values)])
    con.commit()
    con.close()
    out = relsynth.sample(relsynth.fit(f"sqlite:///{db}", seed=0), seed=0)["users"]
    assert not set(out["title_name"].dropna()) & set(values)


def test_an_empty_table_pointing_into_a_family_leaves_it_in_batches(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An empty `transfers` table pointing into admissions had the whole family sampled in one
    piece ("sampled in one piece: transfers points into admissions"): no row of it points anywhere."""
    import logging

    db = tmp_path / "adm.db"
    con = sqlite3.connect(db)
    con.executescript(
        "CREATE TABLE patient (id INTEGER PRIMARY KEY, age INTEGER);"
        "CREATE TABLE admission (id INTEGER PRIMARY KEY, patient_id INTEGER REFERENCES patient(id), los REAL);"
        "CREATE TABLE transfer (id INTEGER PRIMARY KEY, admission_id INTEGER REFERENCES admission(id));"
    )
    con.executemany("INSERT INTO patient VALUES (?, ?)", [(i, 20 + i % 60) for i in range(1, 3001)])
    rows = [(i, 1 + i % 3000, (i % 17) * 0.5) for i in range(1, 9001)]
    con.executemany("INSERT INTO admission VALUES (?, ?, ?)", rows)
    con.commit()
    con.close()
    model = relsynth.fit(f"sqlite:///{db}", seed=0)
    with caplog.at_level(logging.INFO, logger="relsynth"):
        batches = list(relsynth.api.sample_batches(model, seed=0, batch_rows=4000))
    assert len(batches) > 1, caplog.text
    assert "sampled in one piece" not in caplog.text
    assert sum(len(b.get("admission", ())) for b in batches) > 8000


def test_coarsened_times_gone_by_stay_before_the_sources_newest_time(tmp_path: Path) -> None:
    """A three-row table's times keep only their decade (2020-2029): none is drawn past the newest
    time anywhere in the source, a bound the clock does not move (the same model any month)."""
    import datetime as dt

    import numpy as np

    from relsynth.transform import NEWEST, decade_seconds

    db = tmp_path / "stores.db"
    con = sqlite3.connect(db)
    con.executescript(
        "CREATE TABLE store (id INTEGER PRIMARY KEY, last_update TIMESTAMP NOT NULL);"
        "INSERT INTO store VALUES (1, '2021-03-01 10:00:00'), (2, '2022-07-01 11:00:00'), (3, '2023-01-05 09:00:00');"
        "CREATE TABLE sale (id INTEGER PRIMARY KEY, store_id INTEGER REFERENCES store(id), at TIMESTAMP);"
    )
    rows = [(i, 1 + i % 3, f"2024-0{1 + i % 5}-1{i % 9} 12:00:00") for i in range(1, 400)]
    con.executemany("INSERT INTO sale VALUES (?, ?, ?)", rows)
    con.commit()
    con.close()
    newest = dt.datetime(2024, 5, 18, 12)
    for seed in (0, 1, 2):
        out = relsynth.sample(relsynth.fit(f"sqlite:///{db}", seed=seed), seed=seed)
        stamps = pd.to_datetime(out["store"]["last_update"])
        assert (stamps >= dt.datetime(2020, 1, 1)).all() and (stamps <= newest).all(), stamps.tolist()
    token = NEWEST.set(dt.datetime(2024, 5, 18, tzinfo=dt.UTC).timestamp())
    try:
        ends = decade_seconds(np.array([dt.datetime(2021, 3, 1, tzinfo=dt.UTC).timestamp()]), "datetime")
    finally:
        NEWEST.reset(token)
    assert dt.datetime.fromtimestamp(ends[1], dt.UTC) == dt.datetime(2024, 5, 18, tzinfo=dt.UTC)
