"""Attack round 26: a MariaDB ENUM or SET value with a backslash, SQLite's --replace and its views,
and constraint names kept in MariaDB."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

import relsynth
from tests.conftest import fetch


def _raw(url: str, *statements: str) -> None:
    """Run statements through the driver without parameters: a backslash stays as written."""
    engine = sa.create_engine(url)
    try:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            for stmt in statements:
                cur.execute(stmt)
            raw.commit()
        finally:
            raw.close()
    finally:
        engine.dispose()


def _levels(url: str, table: str, column: str) -> set[str]:
    q = "`" if url.startswith("mysql") else '"'
    return {r[0] for r in fetch(url, f"SELECT DISTINCT {q}{column}{q} FROM {q}{table}{q}")}


# -- 1. MariaDB's ENUM('a\\b', ...) holds a\b (one backslash): SQLAlchemy's reflection left it two --
ENUM_SOURCE = [
    "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, e ENUM('a\\\\b', 'c''d', 'x\\\\') NOT NULL,"
    " s SET('p\\\\q', 'r'), n INT)",
    "INSERT INTO t (e, s, n) SELECT elt(1 + seq % 3, 'a\\\\b', 'c''d', 'x\\\\'),"
    " elt(1 + seq % 3, 'p\\\\q', 'r', 'p\\\\q,r'), seq FROM seq_1_to_120",
]


@pytest.mark.mysql
@pytest.mark.parametrize("target_kind", ["mysql", pytest.param("pg", marks=pytest.mark.postgresql), "sqlite"])
def test_mariadb_enum_and_set_values_with_a_backslash(
    target_kind: str, mysql_db: Callable[[], str], request: pytest.FixtureRequest
) -> None:
    source = mysql_db()
    target = request.getfixturevalue(f"{target_kind}_db")()
    _raw(source, *ENUM_SOURCE)
    assert _levels(source, "t", "e") == {"a\\b", "c'd", "x\\"}  # one backslash each

    relsynth.synthesize(source, target, seed=0)  # was DataError (MariaDB), InvalidTextRepresentation (PG)

    assert _levels(target, "t", "e") == {"a\\b", "c'd", "x\\"}
    assert _levels(target, "t", "s") == {"p\\q", "r", "p\\q,r"}
    if target_kind == "mysql":  # the target's ENUM and SET hold the same values
        engine = sa.create_engine(target)
        try:
            types = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns("t")}
        finally:
            engine.dispose()
        assert "enum('a\\\\b','c''d','x\\\\')" in str(fetch(target, "SHOW CREATE TABLE t")[0][1])
        assert "set('p\\\\q','r')" in str(fetch(target, "SHOW CREATE TABLE t")[0][1])
        assert len(types["e"].enums) == 3


# -- 2. SQLite --replace drops the target's views it recreates (CREATE VIEW refused the old one) ------
def test_sqlite_replace_recreates_the_sources_views(sqlite_db: Callable[[], str]) -> None:
    import sqlite3

    source, target = sqlite_db(), sqlite_db()
    con = sqlite3.connect(source.removeprefix("sqlite:///"))
    con.executescript(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INT);"
        "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 300)"
        " INSERT INTO t SELECT x, 'v' || (x % 5), x % 13 FROM g;"
        "CREATE VIEW vv AS SELECT a, count(*) AS c FROM t GROUP BY a;"
    )
    con.close()
    relsynth.synthesize(source, target, seed=0)
    con = sqlite3.connect(target.removeprefix("sqlite:///"))
    con.executescript("DROP VIEW vv; CREATE VIEW vv AS SELECT 'stale' AS a, 0 AS c;")  # an older one
    con.close()

    summary = relsynth.synthesize(source, target, seed=1, replace=True)["write"]

    assert not [n for n in summary.not_recreated if "vv" in n]  # was: the target refused it
    sql = fetch(target, "SELECT sql FROM sqlite_master WHERE name = 'vv'")[0][0]
    assert "stale" not in sql and "GROUP BY a" in sql
    assert sum(r[1] for r in fetch(target, "SELECT a, c FROM vv")) == 300
