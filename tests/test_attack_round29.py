"""Attack round 29: a number that fixes another column (a functional dependency) must come back as
one of its source values, or the column it fixes is looked up for a value it never had."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

import relsynth
from relsynth.errors import RelsynthError
from tests.conftest import scalar


def _source(path: Path) -> str:
    # f: six float values, 500 rows each; it fixes flag (0/1, nullable, never NULL) and `who`;
    # `who` (3 values) fixes the date d, so it is taken for the column naming the rows' people,
    # and f's values are counted by them (a person's repeated value counts once).
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, f REAL, flag BOOLEAN, who INTEGER, d DATE)")
    fl = [0.1, 0.25, 0.5, 1.5, 2.5, 3.5]
    dates = ["2001-01-01", "2002-02-02", "2003-03-03"]
    con.executemany(
        "INSERT INTO item VALUES (?, ?, ?, ?, ?)",
        [(g, fl[g % 6], g % 2, g % 3, dates[g % 3]) for g in range(1, 3001)],
    )
    con.commit()
    con.close()
    return str(path)


@pytest.mark.parametrize("rare_k", [1, 5])
def test_a_dependency_on_a_number_never_writes_null_for_values_it_had(tmp_path: Path, rare_k: int) -> None:
    source = _source(tmp_path / "src.db")
    target = tmp_path / "out.db"
    relsynth.synthesize(source, f"sqlite:///{target}", seed=5, rare_k=rare_k)
    con = sqlite3.connect(target)
    nulls = con.execute("SELECT count(*) FROM item WHERE flag IS NULL").fetchone()[0]
    values = {r[0] for r in con.execute("SELECT DISTINCT flag FROM item")}
    con.close()
    # was: 2,624 of 3,000 rows NULL at rare_k=1 (f drawn as a continuous number, looked up in f -> flag)
    assert nulls == 0
    assert values == {0, 1}


# -- 2. a string psycopg cannot send was an internal error after the whole run --


def _text_source(path: Path, values: list[str]) -> str:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, label TEXT, n INTEGER)")
    con.executemany(
        "INSERT INTO note VALUES (?, ?, ?)", [(g, values[g % len(values)], g % 7) for g in range(1, 601)]
    )
    con.commit()
    con.close()
    return str(path)


def _encoded(target: str, admin_url: str, encoding: str) -> str:
    """The fresh database ``target`` made again in ``encoding`` (C locale): the same URL."""
    name = sa.make_url(target).database
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE "{name}"')
        conn.exec_driver_sql(
            f"CREATE DATABASE \"{name}\" ENCODING '{encoding}' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'"
        )
    admin.dispose()
    return target


@pytest.mark.postgresql
def test_a_nul_character_into_postgresql_is_one_line(tmp_path: Path, pg_db: Callable[[], str]) -> None:
    source = _text_source(tmp_path / "src.db", ["a\x00b", "plain", "other"])
    target = pg_db()
    with pytest.raises(RelsynthError, match=r"note, column label: a value holds a NUL character") as err:
        relsynth.synthesize(source, target, seed=0, rare_k=1)  # was psycopg.DataError
    assert "a\x00b" not in str(err.value)
    assert scalar(target, "SELECT count(*) FROM pg_tables WHERE tablename = 'note'") == 0  # nothing written


@pytest.mark.postgresql
def test_a_character_the_target_encoding_lacks_is_one_line(
    tmp_path: Path, pg_db: Callable[[], str], pg_server: str
) -> None:
    source = _text_source(tmp_path / "src.db", ["emoji \U0001f600", "caf\u00e9", "plain"])
    target = _encoded(pg_db(), pg_server, "LATIN1")
    with pytest.raises(RelsynthError, match=r"note, column label: a value holds a character the target's"):
        relsynth.synthesize(source, target, seed=0, rare_k=1)  # was UnicodeEncodeError
    assert scalar(target, "SELECT count(*) FROM pg_tables WHERE tablename = 'note'") == 0


@pytest.mark.postgresql
def test_a_sql_ascii_database_says_how_to_connect(
    tmp_path: Path, pg_db: Callable[[], str], pg_server: str
) -> None:
    """psycopg hands a SQL_ASCII database's server version over as bytes, and the connection
    failed as "the driver refused an option of the URL" of a URL with no option."""
    source = _text_source(tmp_path / "src.db", ["caf\u00e9", "plain", "other"])
    target = _encoded(pg_db(), pg_server, "SQL_ASCII")
    with pytest.raises(RelsynthError, match=r"SQL_ASCII encoding; add \?client_encoding=utf8") as err:
        relsynth.synthesize(source, target, seed=0, rare_k=1)
    assert "refused an option" not in str(err.value)
    relsynth.synthesize(source, f"{target}?client_encoding=utf8", seed=0, rare_k=1)  # as it says
    rows = sqlite3.connect(source).execute("SELECT count(*) FROM note").fetchone()[0]
    assert scalar(f"{target}?client_encoding=utf8", "SELECT count(*) FROM note") == rows
