"""Column kinds and personal data are judged on rows from the whole table, not its head: a column
that is NULL in the first rows (by key) and filled later must not look empty."""

from __future__ import annotations

import pytest

import relsynth
from tests.conftest import run_sql

ROWS = 6000


def _script(kind: str) -> str:
    def row(i: int) -> str:
        if i <= ROWS // 2:
            return f"({i}, NULL, NULL)"
        return f"({i}, '{['north', 'south', 'east'][i % 3]}', 'person{i}@mail{i % 7}.example.org')"

    values = ", ".join(row(i) for i in range(1, ROWS + 1))
    return (
        "CREATE TABLE visit (id INTEGER PRIMARY KEY, region VARCHAR(10), contact VARCHAR(60));\n"
        f"INSERT INTO visit VALUES {values};"
    )


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mysql"])
def test_kinds_come_from_rows_across_the_table(request: pytest.FixtureRequest, kind: str) -> None:
    url = request.getfixturevalue({"sqlite": "sqlite_db", "postgresql": "pg_db", "mysql": "mysql_db"}[kind])()
    run_sql(url, _script(kind))
    schema = relsynth.reflect(url)
    region = schema.table("visit").column("region")
    assert region.kind.value == "categorical", (region.kind, region)
    contact = schema.table("visit").column("contact")
    assert contact.pii == "email", contact  # personal data, seen
    again = relsynth.reflect(url)  # the same rows, the same verdict
    assert again.table("visit").column("region") == region
