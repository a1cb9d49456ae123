"""Attack round 16, dates Python's cannot hold.

A) PostgreSQL: a date, timestamp or timestamptz column holding 'infinity' or '-infinity' (an open
   end: valid_to), a BC date or a year past 9999 stopped ``inspect`` and ``synthesize`` with an
   internal error (psycopg's DataError reading the profile sample). Such values are now read as
   the latest or earliest date Python holds: a common one is kept as the column's sentinel date
   (written back in about the source's share), a rare one (or one in a column with NULLs) read as
   NULL for learning; a NOT NULL column still gets a date.
B) MariaDB: zero dates ('0000-00-00 00:00:00', WordPress's post_date_gmt of a draft) and dates with
   a zero month or day ('2020-00-00') stopped the fit with DateParseError (the driver gives them as
   text). Zero dates are now read like '-infinity' (as NULL in a TIMESTAMP, whose range holds no
   far date), a zero month or day as the first.
C) SQLite: the same values stored as text in a DATE/DATETIME column, and text that is no date.

Each column with such values gets one line in the run's log (and the schema's notes), saying what
was done, never a value.
"""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import pytest

import relsynth
from relsynth.schema import Column, SqlType, Table
from tests.conftest import fetch, run_sql, scalar

ROWS = 400

# PostgreSQL: valid_to a quarter 'infinity' (a sentinel), ended NOT NULL with a few '-infinity' and
# one 'infinity' (too rare for a sentinel), born with BC dates beside NULLs, far a year past 9999.
PG_SOURCE = f"""
CREATE TABLE contract (id serial PRIMARY KEY, valid_from date NOT NULL, valid_to date,
  ended timestamptz NOT NULL, seen timestamp NOT NULL, born date, far timestamptz, amount int NOT NULL);
INSERT INTO contract (valid_from, valid_to, ended, seen, born, far, amount)
SELECT date '2020-01-01' + g,
  CASE WHEN mod(g, 4) = 0 THEN 'infinity'::date ELSE date '2021-01-01' + g END,
  CASE WHEN g = 7 THEN 'infinity'::timestamptz WHEN g IN (11, 12) THEN '-infinity'
       ELSE timestamptz '2020-01-01 10:00+00' + g * interval '1 hour' END,
  CASE WHEN mod(g, 10) = 0 THEN '-infinity'::timestamp
       ELSE timestamp '2020-01-01 03:00' + mod(g * 7, {ROWS}) * interval '1 day' END,
  CASE WHEN mod(g, 3) = 0 THEN NULL WHEN mod(g, 11) = 0 THEN '0044-03-15 BC'::date
       ELSE date '1990-01-01' + g END,
  CASE WHEN mod(g, 5) = 0 THEN '12000-01-01 00:00+00'::timestamptz
       ELSE timestamptz '2019-01-01 00:00+00' + g * interval '1 day' END,
  mod(g, 50)
FROM generate_series(1, {ROWS}) g
"""
PG_NOT_NULL = ("valid_from", "ended", "seen", "amount")
# Values of the source a note must never show (dates of its rows, the BC date, the far year).
PG_VALUES = ("2021-", "2020-", "1990-", "0044", "12000", "03-15")


@contextmanager
def _relsynth_log() -> Iterator[list[str]]:
    """The relsynth logger's lines while the block runs (whatever the CLI's setup did to it)."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    log = logging.getLogger("relsynth")
    handler, level = Keep(level=logging.INFO), log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


def _notes_about(lines: list[str], where: str) -> list[str]:
    return [line for line in lines if line.startswith(where + ":")]


def _no_values(lines: list[str], values: tuple[str, ...]) -> None:
    for line in lines:
        assert not any(v in line for v in values), line


def _no_nulls(url: str, table: str, columns: tuple[str, ...]) -> None:
    for c in columns:
        assert scalar(url, f"SELECT COUNT(*) FROM {table} WHERE {c} IS NULL") == 0, c


def _inspect(url: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "relsynth", "inspect", url], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "internal error" not in done.stdout + done.stderr
    return done.stdout


# -- A) PostgreSQL -------------------------------------------------------------------------------------
@pytest.mark.postgresql
def test_pg_inspect_reads_infinity_bc_and_far_dates_and_notes_them(request: pytest.FixtureRequest) -> None:
    source = request.getfixturevalue("pg_db")()
    run_sql(source, PG_SOURCE)
    out = _inspect(source)
    notes = [line.split("note", 1)[1].strip() for line in out.splitlines() if line.strip().startswith("note")]
    for column in ("valid_to", "ended", "seen", "born", "far"):
        assert _notes_about(notes, f"contract.{column}"), out
    assert not _notes_about(notes, "contract.valid_from")
    _no_values(notes, PG_VALUES)


@pytest.mark.postgresql
def test_pg_infinity_is_kept_as_a_sentinel_and_the_rest_synthesized(request: pytest.FixtureRequest) -> None:
    source = request.getfixturevalue("pg_db")()
    target = request.getfixturevalue("pg_db")()
    run_sql(source, PG_SOURCE)
    with _relsynth_log() as lines:
        result = relsynth.synthesize(source, target, seed=3)
    assert result["write"].verification.problems == 0
    assert scalar(target, "SELECT COUNT(*) FROM contract") == ROWS
    _no_nulls(target, "contract", PG_NOT_NULL)
    # valid_to: a quarter 'infinity', kept as a sentinel: about the same share at the type's end
    share = scalar(target, "SELECT AVG((valid_to = date '9999-12-31')::int) FROM contract")
    assert 0.15 <= float(share) <= 0.35
    assert scalar(target, "SELECT COUNT(*) FROM contract WHERE valid_to IS NULL") == 0
    # seen: a tenth '-infinity', NOT NULL: kept at the earliest date
    assert scalar(target, "SELECT COUNT(*) FROM contract WHERE seen < timestamp '1000-01-01'") > 0
    # born: BC dates beside NULLs read as NULL; far: years past 9999 (beside no NULL, a sentinel)
    assert scalar(target, "SELECT COUNT(*) FROM contract WHERE born < date '1000-01-01'") == 0
    assert scalar(target, "SELECT MAX(born) FROM contract") < dt.date(2000, 1, 1)
    for column in ("valid_to", "ended", "seen", "born", "far"):
        assert len(_notes_about(lines, f"contract.{column}")) == 1, lines
    assert "sentinel" in _notes_about(lines, "contract.valid_to")[0]
    assert "NOT NULL" in _notes_about(lines, "contract.ended")[0]
    assert "NULL for learning" in _notes_about(lines, "contract.born")[0]
    assert not _notes_about(lines, "contract.valid_from")
    _no_values(lines, PG_VALUES)


@pytest.mark.postgresql
@pytest.mark.parametrize("kind", ["sqlite", "mysql"])
def test_pg_infinity_into_another_dialect_is_a_valid_date(kind: str, request: pytest.FixtureRequest) -> None:
    if kind == "mysql":
        request.applymarker(pytest.mark.mysql)
    source = request.getfixturevalue("pg_db")()
    target = request.getfixturevalue(f"{kind}_db")()
    run_sql(source, PG_SOURCE)
    result = relsynth.synthesize(source, target, seed=3)
    assert result["write"].verification.problems == 0
    assert scalar(target, "SELECT COUNT(*) FROM contract") == ROWS
    _no_nulls(target, "contract", PG_NOT_NULL)
    top = scalar(target, "SELECT MAX(valid_to) FROM contract")
    assert str(top).startswith("9999-12-31")


# -- B) MariaDB ---------------------------------------------------------------------------------------
MARIADB_SOURCE = f"""
SET SESSION sql_mode = '';
CREATE TABLE wp_posts (ID bigint unsigned AUTO_INCREMENT PRIMARY KEY,
  post_date datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  post_date_gmt datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  post_status varchar(20) NOT NULL,
  shown date, due date NOT NULL,
  touched timestamp NOT NULL DEFAULT '0000-00-00 00:00:00',
  old datetime NOT NULL);
INSERT INTO wp_posts (post_date, post_date_gmt, post_status, shown, due, touched, old)
SELECT '2020-01-01' + INTERVAL seq HOUR,
  IF(seq MOD 5 = 0, '0000-00-00 00:00:00', '2020-01-01' + INTERVAL seq HOUR),
  IF(seq MOD 5 = 0, 'draft', 'publish'),
  CASE WHEN seq MOD 7 = 0 THEN '0000-00-00' WHEN seq MOD 11 = 0 THEN NULL
       WHEN seq MOD 13 = 0 THEN '2020-00-00' ELSE '2020-01-01' + INTERVAL seq DAY END,
  IF(seq MOD 4 = 0, '2019-06-00', '2019-01-01' + INTERVAL seq DAY),
  IF(seq MOD 6 = 0, '0000-00-00 00:00:00', '2015-01-01' + INTERVAL seq MINUTE),
  CASE seq MOD 3 WHEN 0 THEN '0000-00-00 00:00:00' WHEN 1 THEN '1200-05-05 00:00:00'
       ELSE '1500-01-01' + INTERVAL seq DAY END
FROM seq_1_to_{ROWS}
"""
MARIADB_NOT_NULL = ("post_date", "post_date_gmt", "post_status", "due", "touched", "old")
MARIADB_VALUES = ("0000", "2020-", "2019-", "2015-", "1200-", "1500-", "-00")


@pytest.mark.mysql
def test_mariadb_zero_dates_are_synthesized(request: pytest.FixtureRequest) -> None:
    source = request.getfixturevalue("mysql_db")()
    target = request.getfixturevalue("mysql_db")()
    run_sql(source, MARIADB_SOURCE)
    notes = [line for line in _inspect(source).splitlines() if line.strip().startswith("note")]
    assert any("wp_posts.post_date_gmt:" in n for n in notes), notes
    _no_values(notes, MARIADB_VALUES)
    with _relsynth_log() as lines:
        result = relsynth.synthesize(source, target, seed=2)
    assert result["write"].verification.problems == 0
    assert scalar(target, "SELECT COUNT(*) FROM wp_posts") == ROWS
    _no_nulls(target, "wp_posts", MARIADB_NOT_NULL)
    # the drafts' zero dates: a sentinel at the earliest date, about a fifth of the rows, drafts mostly
    drafts = fetch(
        target, "SELECT post_status, COUNT(*) FROM wp_posts WHERE YEAR(post_date_gmt) = 1 GROUP BY 1"
    )
    assert 0.1 * ROWS <= sum(n for _, n in drafts) <= 0.3 * ROWS
    assert dict(drafts).get("draft", 0) > dict(drafts).get("publish", 0)
    # a zero month: the first of the month; a TIMESTAMP's zero dates: NOT NULL, another date
    assert scalar(target, "SELECT COUNT(*) FROM wp_posts WHERE due < '1000-01-01'") == 0
    assert scalar(target, "SELECT MIN(touched) FROM wp_posts") >= dt.datetime(2015, 1, 1)
    for column in ("post_date_gmt", "shown", "due", "touched", "old"):
        assert len(_notes_about(lines, f"wp_posts.{column}")) == 1, lines
    assert not _notes_about(lines, "wp_posts.post_date")
    assert "NOT NULL" in _notes_about(lines, "wp_posts.touched")[0]
    _no_values(lines, MARIADB_VALUES)


@pytest.mark.mysql
def test_mariadb_zero_dates_into_sqlite(request: pytest.FixtureRequest) -> None:
    source = request.getfixturevalue("mysql_db")()
    target = request.getfixturevalue("sqlite_db")()
    run_sql(source, MARIADB_SOURCE)
    result = relsynth.synthesize(source, target, seed=2)
    assert result["write"].verification.problems == 0
    _no_nulls(target, "wp_posts", MARIADB_NOT_NULL)
    assert scalar(target, "SELECT COUNT(*) FROM wp_posts WHERE post_date_gmt LIKE '0001-01-01%'") > 0


# -- C) SQLite ----------------------------------------------------------------------------------------
def _sqlite_source(url: str) -> None:
    odd = ["infinity", "-infinity", "0000-00-00", "2020-00-00", "12000-01-01", "-0044-03-15", "unknown"]
    rows = []
    for g in range(1, ROWS + 1):
        vt = odd[g % len(odd)] if g % 4 == 0 else f"2021-{1 + g % 12:02d}-{1 + g % 28:02d}"
        ts = "0000-00-00 00:00:00" if g % 5 == 0 else f"2020-01-01 10:{g % 60:02d}:00"
        rows.append(
            f"INSERT INTO contract VALUES ({g}, '2020-02-{1 + g % 28:02d}', '{vt}', '{ts}', {g % 50});"
        )
    run_sql(
        url,
        "CREATE TABLE contract (id INTEGER PRIMARY KEY, valid_from DATE NOT NULL, valid_to DATE, "
        "stamp DATETIME NOT NULL, amount INT);\n" + "\n".join(rows),
    )


def test_sqlite_text_dates_python_cannot_hold_are_synthesized(request: pytest.FixtureRequest) -> None:
    source = request.getfixturevalue("sqlite_db")()
    target = request.getfixturevalue("sqlite_db")()
    _sqlite_source(source)
    with _relsynth_log() as lines:
        result = relsynth.synthesize(source, target, seed=1)
    assert result["write"].verification.problems == 0
    assert scalar(target, "SELECT COUNT(*) FROM contract") == ROWS
    _no_nulls(target, "contract", ("valid_from", "stamp"))
    # the zero timestamps (a fifth): kept as a sentinel; every value written is a date SQLite reads
    share = scalar(target, "SELECT AVG(stamp LIKE '0001-01-01%') FROM contract")
    assert 0.1 <= float(share) <= 0.3
    assert (
        scalar(target, "SELECT COUNT(*) FROM contract WHERE valid_to IS NOT NULL AND date(valid_to) IS NULL")
        == 0
    )
    assert scalar(target, "SELECT COUNT(*) FROM contract WHERE datetime(stamp) IS NULL") == 0
    assert (
        len(_notes_about(lines, "contract.valid_to")) == 1 and len(_notes_about(lines, "contract.stamp")) == 1
    )
    _no_values(lines, ("unknown", "0044", "12000", "2020-", "2021-", "10:"))


# -- the pieces ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "kind", "nearest"),
    [
        ("infinity", "infinity", None),
        ("-infinity", "-infinity", None),
        ("0044-03-15 BC", "bc", None),
        ("0044-03-15 10:00:00+00 BC", "bc", None),
        ("-0044-03-15", "bc", None),
        ("12000-01-01 00:00:00+00", "beyond", None),
        ("0000-00-00 00:00:00", "zero", None),
        ("0000-00-00", "zero", None),
        ("2020-00-00", "part", "2020-01-01"),
        ("2019-06-00 10:00:00", "part", "2019-06-01 10:00:00"),
        ("2021-02-30", "part", "2021-02-28"),
        ("unknown", "text", None),
        ("2020-01-05", None, None),
        ("2020-01-05T10:00:00.123Z", None, None),
        ("0001-01-01 00:00:00", None, None),
        ("25/12/2020", None, None),
    ],
)
def test_special_date_kinds(text: str, kind: str | None, nearest: str | None) -> None:
    from relsynth.transform import special_date

    assert special_date(text) == (kind, nearest)


def test_read_special_reads_what_the_drivers_give_as_text() -> None:
    from relsynth.model import sentinels

    table = Table(
        name="t",
        columns=(
            Column("d", SqlType("date")),
            Column("ts", SqlType("datetime", timezone=True)),
            Column("my", SqlType("datetime", native="TIMESTAMP")),
            Column("txt", SqlType("date")),
        ),
    )
    day = dt.date(2020, 1, 1)
    moment = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    frame = pd.DataFrame(
        {
            "d": [day, "infinity", "0044-03-15 BC", None],
            "ts": [moment, "-infinity", "12000-01-01 00:00:00+00", moment],
            "my": [dt.datetime(2020, 1, 1), "0000-00-00 00:00:00", dt.datetime(2020, 1, 2), None],
            "txt": ["2020-01-01", "0000-00-00", "2020-00-00", "no date"],
        }
    )
    out = sentinels.read_special(table, frame)
    assert list(out["d"]) == [day, dt.date(9999, 12, 31), dt.date(1, 1, 1), None]
    assert list(out["ts"]) == [
        moment,
        dt.datetime(1, 1, 1, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
        moment,
    ]
    assert out["my"][1] is None  # a MySQL TIMESTAMP holds no far date: its zero date is NULL
    assert list(out["txt"]) == ["2020-01-01", "0001-01-01", "2020-01-01", None]
    found = out.attrs[sentinels.SPECIAL]
    assert found["d"]["counts"] == {"infinity": 1, "bc": 1}
    assert found["my"]["null"] == ["zero"]
    assert found["txt"]["counts"] == {"zero": 1, "part": 1, "text": 1}
    again = sentinels.read_special(table, out)  # read once: nothing counted twice
    assert again.attrs[sentinels.SPECIAL] == found


@pytest.mark.parametrize(
    ("source_db", "target_db", "ddl"),
    [
        (
            "mysql_db",
            "pg_db",
            "CREATE TABLE post (id INT PRIMARY KEY, d DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00');\n"
            "INSERT INTO post (id, d) SELECT seq, '2020-01-01' + INTERVAL seq DAY FROM seq_1_to_100",
        ),
        (
            "pg_db",
            "mysql_db",
            "CREATE TABLE post (id INT PRIMARY KEY, d DATE NOT NULL DEFAULT 'infinity');\n"
            "INSERT INTO post (id, d) SELECT g, date '2020-01-01' + g FROM generate_series(1, 100) g",
        ),
    ],
)
def test_a_default_no_date_of_the_target_is_left_out_with_a_note(
    request: pytest.FixtureRequest, source_db: str, target_db: str, ddl: str
) -> None:
    """D) Into another dialect, a DEFAULT of a zero date or 'infinity' stopped CREATE TABLE."""
    source = request.getfixturevalue(source_db)()
    target = request.getfixturevalue(target_db)()
    if source_db == "mysql_db":
        run_sql(source, "SET SESSION sql_mode = ''")  # a session of its own: run_sql's connection
        ddl = ddl.replace("CREATE TABLE", "SET SESSION sql_mode = '';\nCREATE TABLE", 1)
    run_sql(source, ddl)
    result = relsynth.synthesize(source, target, seed=1)
    assert scalar(target, "SELECT COUNT(*) FROM post") == 100
    assert any("is no date" in c and "not recreated" in c for c in result["write"].changes)
