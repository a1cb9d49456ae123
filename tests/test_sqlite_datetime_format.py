"""A SQLite target writes each date/time column in the text format its source used.

SQLite keeps dates as text: a column the source stores as '2009-01-01 00:00:00' must not come back
as SQLAlchemy's '2009-01-01 00:00:00.000000', and another dialect's whole-second timestamps get no
'.000000' either. Every written raw value is matched whole, and SQLite's own time() must read it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from relsynth.ddl import sqlite_temporal, stored_format
from tests.conftest import run_sql

ROWS = 120
D, T = r"\d{4}-\d{2}-\d{2}", r"\d{2}:\d{2}"
# SQLite source columns: (declared type, how a value is stored, the whole-value pattern of each).
SQLITE_COLUMNS = {
    "spaced": ("DATETIME", "%Y-%m-%d %H:%M:%S", rf"{D} {T}:\d{{2}}"),
    "iso_t": ("TIMESTAMP", "%Y-%m-%dT%H:%M:%S", rf"{D}T{T}:\d{{2}}"),
    "millis_z": ("DATETIME", "%Y-%m-%dT%H:%M:%S.{ms}Z", rf"{D}T{T}:\d{{2}}\.\d{{3}}Z"),
    "micros": ("DATETIME", "%Y-%m-%d %H:%M:%S.{us}", rf"{D} {T}:\d{{2}}\.\d{{6}}"),
    "minutes": ("DATETIME", "%Y-%m-%dT%H:%M", rf"{D}T{T}"),
    "day": ("DATE", "%Y-%m-%d", D),
    "clock": ("TIME", "%H:%M", T),
}


def _stored(i: int, spelling: str) -> str:
    when = dt.datetime(2009, 1, 1) + dt.timedelta(days=i * 3, hours=i % 17, minutes=(i * 7) % 60)
    if "%S" in spelling:
        when += dt.timedelta(seconds=(i * 13) % 60)
    return when.strftime(spelling).format(ms=f"{(i * 37) % 1000:03d}", us=f"{(i * 7919) % 10**6:06d}")


def _sqlite_source(url: str) -> None:
    cols = ", ".join(f"{name} {decl}" for name, (decl, _, _) in SQLITE_COLUMNS.items())
    rows = "".join(
        f"INSERT INTO event VALUES ({i}, "
        + ", ".join(f"'{_stored(i, spelling)}'" for _, spelling, _ in SQLITE_COLUMNS.values())
        + ");\n"
        for i in range(1, ROWS + 1)
    )
    run_sql(url, f"CREATE TABLE event (id INTEGER PRIMARY KEY, {cols});\n{rows}")


def _raw(url: str, table: str, columns: list[str]) -> dict[str, list[object]]:
    """Each column's stored values as SQLite gives them (no parsing), and what date() makes of them."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            t = sa.table(table, *[sa.column(c) for c in columns])
            out: dict[str, list[object]] = {}
            for c in columns:
                col = sa.type_coerce(t.c[c], sa.String)
                query = sa.select(col, sa.func.typeof(t.c[c]), sa.func.time(t.c[c])).where(
                    t.c[c].is_not(None)
                )
                rows = conn.execute(query).all()
                assert rows and all(kind == "text" and parsed is not None for _, kind, parsed in rows), c
                out[c] = [value for value, _, _ in rows]
            return out
    finally:
        engine.dispose()


def _assert_formats(raw: dict[str, list[object]], patterns: dict[str, str]) -> None:
    for column, pattern in patterns.items():
        wrong = [v for v in raw[column] if not (isinstance(v, str) and re.fullmatch(pattern, v))]
        assert len(wrong) == 0, (
            f"{column}: {len(wrong)} of {len(raw[column])} values not in the source's format"
        )


def test_a_sqlite_source_keeps_each_columns_format_through_a_saved_model(
    sqlite_db: Callable[[], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, target = sqlite_db(), sqlite_db()
    _sqlite_source(source)
    model = relsynth.fit(source, seed=3)
    path = tmp_path / "m.rsm"
    model.save(path)
    loaded = relsynth.Model.load(path)
    recorded = {c.name: c.type.sqlite_format for c in loaded.schema.table("event").columns}
    assert recorded["millis_z"] == "YYYY-MM-DDTHH:MM:SS.fffZ" and recorded["minutes"] == "YYYY-MM-DDTHH:MM"
    relsynth.write(relsynth.sample(loaded, seed=5), loaded.schema, target)
    _assert_formats(
        _raw(target, "event", list(SQLITE_COLUMNS)), {c: p for c, (_, _, p) in SQLITE_COLUMNS.items()}
    )
    monkeypatch.chdir(tmp_path)  # evaluate reads the values back (they parse) and writes its report here
    evaluated = CliRunner().invoke(main, ["-q", "evaluate", source, target])
    assert evaluated.exit_code == 0, evaluated.output


def test_another_dialects_whole_seconds_get_no_fraction_in_sqlite(
    pg_db: Callable[[], str], sqlite_db: Callable[[], str]
) -> None:
    source, target = pg_db(), sqlite_db()
    stamps = ", ".join(
        f"({i}, timestamp '2020-01-01 08:00:00' + interval '{i * 3607} seconds', "
        f"timestamp '2020-01-01' + interval '{i * 1000003} microseconds', time '10:00' + interval '{i * 61} seconds')"
        for i in range(1, ROWS + 1)
    )
    run_sql(
        source,
        "CREATE TABLE visit (id integer PRIMARY KEY, seen timestamp NOT NULL, exact timestamp(6), at time);\n"
        f"INSERT INTO visit VALUES {stamps};",
    )
    relsynth.synthesize(source, target, seed=1)
    raw = _raw(target, "visit", ["seen", "exact", "at"])
    _assert_formats(
        raw, {"seen": rf"{D} {T}:\d{{2}}", "exact": rf"{D} {T}:\d{{2}}\.\d{{6}}", "at": rf"{T}:\d{{2}}"}
    )


def test_a_value_finer_than_the_format_is_written_whole() -> None:
    """A fraction the source sample never showed is written in full, never cut off."""
    typ = sqlite_temporal("datetime", "YYYY-MM-DD HH:MM", False, "t.c")
    engine = sa.create_engine("sqlite://")
    t = sa.Table("t", sa.MetaData(), sa.Column("c", typ))
    values = [
        dt.datetime(2020, 1, 2, 3, 4),
        dt.datetime(2020, 1, 2, 3, 4, 5),
        dt.datetime(2020, 1, 2, 3, 4, 5, 600),
    ]
    with engine.begin() as conn:
        t.create(conn)
        conn.execute(t.insert(), [{"c": v} for v in values])
        raw = conn.execute(sa.select(sa.type_coerce(t.c.c, sa.String))).scalars().all()
        back = conn.execute(sa.select(t.c.c)).scalars().all()
    assert raw == ["2020-01-02 03:04", "2020-01-02 03:04:05", "2020-01-02 03:04:05.000600"]
    assert back == values


def test_the_format_is_the_commonest_shape_of_the_stored_text() -> None:
    raw = ["2020-01-02T03:04:05.1Z", "2020-01-02T03:04:05.25Z", "2020-01-02 03:04:05", 2458850.5, None]
    assert stored_format(raw, "datetime") == "YYYY-MM-DDTHH:MM:SS.ffZ"
    assert stored_format([2458850.5, "not a date"], "datetime") is None
    assert stored_format(["10:30", "11:45:00"], "time") == "HH:MM"


def test_whole_and_fractional_seconds_in_one_text_column_are_read(tmp_path: Path) -> None:
    """Attack round 9: Python's str(datetime) writes '... 00:00:00' beside '... 00:00:00.5', and
    pandas, guessing one format from the first value, failed on the others: synthesize stopped
    with an internal error (SQLite only; the servers return datetimes)."""
    import sqlite3

    src, out = tmp_path / "mixed.db", tmp_path / "out.db"
    values = ["2020-01-01 00:00:00", "2020-01-01 12:00:00", "2020-01-02 00:00:00", "2020-01-01 00:00:00.5"]
    con = sqlite3.connect(src)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b TIMESTAMP, d DATE, c TEXT)")
    con.executemany(
        "INSERT INTO t VALUES (?, ?, ?, ?)",
        [
            (
                i,
                values[i % 4],
                f"2020-01-0{1 + i % 3}" + (" 00:00:00" if i % 5 == 0 else ""),
                "mnokl"[i % 5],
            )
            for i in range(1, 401)
        ],
    )
    con.commit()
    con.close()
    relsynth.synthesize(f"sqlite:///{src}", f"sqlite:///{out}", seed=0)
    engine = sa.create_engine(f"sqlite:///{out}")
    with engine.connect() as conn:
        written = conn.exec_driver_sql("SELECT b FROM t").scalars().all()
    engine.dispose()
    assert len(written) == 400
    assert all(str(v).startswith("2020-01-0") for v in written)
