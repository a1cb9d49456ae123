"""Names with characters that break naive SQL: '%' (a DB-API parameter marker), backticks and double
quotes (the dialects' own quote characters), spaces. Written, reflected back with every key, and
synthesized again, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import pandas as pd
import pytest

import relsynth
from relsynth.frames import schema_from_frames

PARENT, CHILD = "pa%rent", 'ch`il"d'


def _frames() -> dict[str, pd.DataFrame]:
    parent = pd.DataFrame(
        {"id": range(1, 61), "rate%": [i * 1.5 for i in range(60)], "na`me": [f"x{i % 5}" for i in range(60)]}
    )
    child = pd.DataFrame(
        {
            "id": range(1, 241),
            "p id": [1 + i % 60 for i in range(240)],
            'v%s"q': [i % 7 for i in range(240)],
        }
    )
    return {PARENT: parent, CHILD: child}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mysql"])
def test_odd_identifiers_round_trip(request: pytest.FixtureRequest, kind: str) -> None:
    frames = _frames()
    schema = schema_from_frames(
        frames,
        primary_keys={PARENT: ["id"], CHILD: ["id"]},
        foreign_keys=[(CHILD, ["p id"], PARENT, ["id"])],
    )
    model = relsynth.fit(frames, schema=schema, seed=1)
    url = request.getfixturevalue({"sqlite": "sqlite_db", "postgresql": "pg_db", "mysql": "mysql_db"}[kind])()
    summary = relsynth.write(relsynth.sample(model), model.schema, url)
    assert summary.verification.problems == 0
    assert summary.rows == {PARENT: 60, CHILD: 240}
    reflected = relsynth.reflect(url)
    assert set(reflected.table_names) == {PARENT, CHILD}
    assert set(reflected.table(PARENT).column_names) == {"id", "rate%", "na`me"}
    fks = reflected.table(CHILD).foreign_keys
    assert [(fk.columns, fk.ref_table) for fk in fks] == [(("p id",), PARENT)]  # not silently lost
    again = relsynth.sample(relsynth.fit(url, seed=2))
    assert set(again[CHILD]["p id"]) <= set(again[PARENT]["id"])
