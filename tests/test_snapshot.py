"""A model learned from a sample is guarded by every source row in the snapshot it was learned
from (issue 12: one consistent snapshot). The guards' pass used to open a connection of its own
after the model was fitted: on a live source, rows deleted meanwhile were never guarded, though
the model had learned from them, and rows inserted meanwhile were guarded instead."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

import relsynth
from relsynth.model import fit as fit_module
from relsynth.model import guards
from tests.conftest import run_sql

ROWS = 3000


def _source(make: Callable[[], str]) -> str:
    url = make()
    run_sql(url, "CREATE TABLE person (id INTEGER PRIMARY KEY, age INTEGER, income FLOAT)")
    rows = pd.DataFrame(
        {
            "id": range(1, ROWS + 1),
            "age": [20 + i % 60 for i in range(ROWS)],
            "income": [i * 1.5 for i in range(ROWS)],
        }
    )
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        rows.to_sql("person", conn, if_exists="append", index=False)
    engine.dispose()
    return url


@pytest.mark.parametrize("db", ["pg_db", "mysql_db"])
def test_the_guards_read_the_snapshot_the_model_learned_from(
    db: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _source(request.getfixturevalue(db))
    learn = fit_module.fit_tables

    def learn_while_the_source_changes(*args: Any, **kwargs: Any) -> Any:
        model = learn(*args, **kwargs)
        other = sa.create_engine(url)
        with other.begin() as conn:  # another client, committed while the model was learning
            conn.execute(sa.text("DELETE FROM person WHERE id <= 1000"))
            conn.execute(sa.text("INSERT INTO person (id, age, income) VALUES (99999, 30, 1.0)"))
        other.dispose()
        time.sleep(1.5)  # past the idle-transaction timeout the PostgreSQL database sets below
        return model

    seen: list[int] = []
    attach = guards.attach_chunks

    def counted(model: Any, chunks: Iterable[tuple[str, pd.DataFrame]]) -> None:
        def each() -> Any:
            for name, frame in chunks:
                seen.append(len(frame))
                yield name, frame

        attach(model, each())

    monkeypatch.setattr(fit_module, "fit_tables", learn_while_the_source_changes)
    monkeypatch.setattr(guards, "attach_chunks", counted)
    if db == "pg_db":  # a server that ends idle transactions (as managed PostgreSQL often does)
        name = sa.make_url(url).database
        run_sql(url, f"ALTER DATABASE \"{name}\" SET idle_in_transaction_session_timeout = '1s'")
    model = relsynth.fit(url, seed=0, sample_rows=500)
    assert model.source["sample_rows"] == 500
    assert sum(seen) == ROWS  # the snapshot's rows: 1,000 deleted ones still guarded, the new one not


@pytest.mark.parametrize("db", ["pg_db", "mysql_db"])
def test_a_column_dropped_while_the_source_is_read_is_said_in_one_line(
    db: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another session drops a column after the catalog was read and before the rows are: it was
    an internal error (attack round 26, about one run in five with an ALTER TABLE loop)."""
    from relsynth import reflection
    from relsynth.errors import DatabaseFailed

    url = _source(request.getfixturevalue(db))
    count = reflection._count
    dropped: list[bool] = []

    def drop_then_count(*args: Any, **kwargs: Any) -> Any:
        # After the catalog is read, before this run's first read of the table (which locks it
        # against an ALTER until the run ends).
        if not dropped:
            other = sa.create_engine(url)
            with other.begin() as conn:
                conn.execute(sa.text("ALTER TABLE person DROP COLUMN income"))
            other.dispose()
            dropped.append(True)
        return count(*args, **kwargs)

    monkeypatch.setattr(reflection, "_count", drop_then_count)
    with pytest.raises(DatabaseFailed, match="tables changed while relsynth read them") as caught:
        relsynth.fit(url, seed=0)
    assert "\n" not in str(caught.value) and "run again" in str(caught.value)
