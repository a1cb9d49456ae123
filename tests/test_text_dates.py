"""A legacy SQLite app's dates kept as text in non-ISO spellings come back as valid dates in the
same spelling, with what ties them to the other columns.

Dates as 'dd/mm/YYYY HH:MM', 'YYYYMMDD' (also inserted as integers), 'dd.mm.YYYY' and
'mm/dd/YYYY' (unambiguous in the data) are read with their format and written with it; text no
single format reads stays text. A check-in at 14:00 and a check-out at 11:00 keep those times,
so nights = date(end) - date(start) still holds, and status = 'closed' exactly when closed_at is
set.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import relsynth
from relsynth.schema import Kind
from relsynth.transform import Temporal, from_seconds, text_date_format, to_epoch_seconds

ROWS = 240
# Legacy text columns of `booking` and the format each is stored in.
FORMATS = {
    "closed_at": "%d/%m/%Y %H:%M",
    "paid_on": "%Y%m%d",
    "paid_num": "%Y%m%d",
    "due": "%d.%m.%Y",
    "billed": "%m/%d/%Y %H:%M:%S",
}


def _legacy_source(url: str) -> None:
    """Customers and bookings like a legacy booking app's (check-in 14:00, check-out 11:00)."""
    rng = random.Random(7)
    conn = sqlite3.connect(sa.make_url(url).database or "")
    conn.executescript(
        "CREATE TABLE customer (id INTEGER PRIMARY KEY, created TEXT NOT NULL);\n"
        "CREATE TABLE booking (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customer(id),"
        " start_ts DATETIME NOT NULL, end_ts DATETIME NOT NULL, nights INTEGER NOT NULL,"
        " status TEXT NOT NULL CHECK (status IN ('open', 'closed')), closed_at TEXT, paid_on TEXT NOT NULL,"
        " paid_num TEXT NOT NULL, due TEXT NOT NULL, billed TEXT NOT NULL, mixed TEXT NOT NULL,"
        " CHECK (end_ts >= start_ts));"
    )
    booking = 0
    for i in range(1, ROWS // 2 + 1):
        created = dt.datetime(2019, 1, 1) + dt.timedelta(minutes=rng.randint(0, 10**6))
        conn.execute("INSERT INTO customer VALUES (?, ?)", (i, created.strftime("%Y-%m-%dT%H:%M:%SZ")))
        t = created + dt.timedelta(days=rng.randint(1, 30))
        for _ in range(2):
            booking += 1
            start = t.replace(hour=14, minute=0, second=0)
            nights = rng.randint(1, 7)
            end = start + dt.timedelta(days=nights, hours=-3)
            closed = rng.random() < 0.5
            paid = start.strftime("%Y%m%d")
            mixed = start.strftime("%d/%m/%Y") if booking % 9 == 0 else start.strftime("%Y-%m-%d")
            conn.execute(
                "INSERT INTO booking VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    booking,
                    i,
                    start.strftime("%Y-%m-%d %H:%M"),
                    end.strftime("%Y-%m-%d %H:%M"),
                    nights,
                    "closed" if closed else "open",
                    (end + dt.timedelta(hours=2)).strftime(FORMATS["closed_at"]) if closed else None,
                    paid,
                    int(paid),  # an integer: TEXT affinity stores it as the text '20200307'
                    (start + dt.timedelta(days=14)).strftime(FORMATS["due"]),
                    (end + dt.timedelta(minutes=rng.randint(0, 600))).strftime(FORMATS["billed"]),
                    mixed,
                ),
            )
            t = end + dt.timedelta(days=rng.randint(3, 90))
    conn.commit()
    conn.close()


def _bookings(url: str) -> pd.DataFrame:
    """The written bookings, the text columns as stored (no parsing)."""
    names = ["status", "mixed", *FORMATS, "nights", "start_ts", "end_ts"]
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            t = sa.table("booking", *[sa.column(c) for c in names])
            query = sa.select(*[sa.type_coerce(t.c[c], sa.String).label(c) for c in names[:-3]])
            rows = conn.execute(query.add_columns(t.c.nights, t.c.start_ts, t.c.end_ts)).all()
    finally:
        engine.dispose()
    frame = pd.DataFrame(rows, columns=names)
    for c in ("start_ts", "end_ts"):
        frame[c] = pd.to_datetime(frame[c])
    return frame


@pytest.fixture
def legacy(sqlite_db: Callable[[], str]) -> str:
    url = sqlite_db()
    _legacy_source(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def synthetic(request: pytest.FixtureRequest, legacy: str, sqlite_db: Callable[[], str]) -> pd.DataFrame:
    """The legacy source synthesized into SQLite and into PostgreSQL, its bookings as written."""
    target = sqlite_db() if request.param == "sqlite" else request.getfixturevalue("pg_db")()
    relsynth.synthesize(legacy, target, seed=1)
    frame = _bookings(target)
    assert len(frame) >= ROWS // 2
    return frame


def test_every_written_text_date_reads_with_its_source_format(synthetic: pd.DataFrame) -> None:
    for column, fmt in FORMATS.items():
        values = synthetic[column].dropna()
        assert len(values) > 20, column
        wrong = [v for v in values if not _reads(v, fmt)]
        assert not wrong, f"{column}: {len(wrong)} of {len(values)} values do not read with {fmt}"


def test_the_null_pairing_and_the_times_of_day_hold(synthetic: pd.DataFrame) -> None:
    closed = synthetic["status"] == "closed"
    assert 0 < closed.sum() < len(synthetic)
    assert (closed == synthetic["closed_at"].notna()).all(), "status = 'closed' iff closed_at is set"
    assert (synthetic["start_ts"].dt.strftime("%H:%M") == "14:00").all()
    assert (synthetic["end_ts"].dt.strftime("%H:%M") == "11:00").all()
    days = (synthetic["end_ts"].dt.normalize() - synthetic["start_ts"].dt.normalize()).dt.days
    assert (synthetic["nights"].astype(int) == days).all(), "nights = date(end) - date(start)"
    assert synthetic["nights"].nunique() > 3  # still the source's spread of stays


def test_text_no_single_format_reads_stays_text(legacy: str) -> None:
    """Mostly ISO dates with some dd/mm/YYYY ones: no format reads all, so no date column."""
    kinds = {c.name: c.kind for c in relsynth.reflect(legacy).table("booking").columns}
    assert kinds["mixed"] is not Kind.DATETIME
    assert all(kinds[c] is Kind.DATETIME for c in FORMATS)


@pytest.mark.parametrize(
    ("values", "fmt"),
    [
        (["09/03/2020 13:00", "25/03/2020 13:00"], "%d/%m/%Y %H:%M"),
        (["03/09/2020", "03/25/2020"], "%m/%d/%Y"),
        (["20200307", "20201231"], "%Y%m%d"),
        ([20200307, 20201231], "%Y%m%d"),
        (["31.12.2020 10:00:05", "01.01.2021 00:00:00"], "%d.%m.%Y %H:%M:%S"),
    ],
)
def test_a_date_format_is_found_and_round_trips(values: list[object], fmt: str) -> None:
    found = text_date_format(pd.Series(values))
    assert found == fmt
    seconds = to_epoch_seconds(pd.Series(values), text_format=found)
    assert list(from_seconds(seconds, "text", found)) == [str(v) for v in values]


def test_text_no_single_format_reads_is_no_date() -> None:
    """Every value is read, not the first few hundred; a format must read all of them, alone."""
    late = ["2020-01-03"] * 600 + ["03/01/2020"]  # ISO, then one day-first date
    assert text_date_format(pd.Series(late)) is None
    assert text_date_format(pd.Series(["01/02/2020", "03/04/2020", "12/11/2021"])) is None  # which first?
    assert text_date_format(pd.Series(["20201345", "20200101"])) is None  # no 45th of month 13
    assert text_date_format(pd.Series(["12345678", "20200101"])) is None  # a code, not a date


def test_a_handful_of_times_of_day_is_kept() -> None:
    rng = np.random.default_rng(0)
    days = rng.integers(18000, 18500, 400)
    times = np.where(rng.random(400) < 0.7, 14 * 3600, 11 * 3600)
    stamps = pd.Series(pd.to_datetime(days * 86400 + times, unit="s"))
    enc = Temporal.fit(stamps, output="datetime")
    back = enc.decode(rng.standard_normal(2000), rng)
    assert {(v.hour, v.minute, v.second) for v in back} == {(14, 0, 0), (11, 0, 0)}
    share = np.mean([v.hour == 14 for v in back])
    assert 0.6 < share < 0.8  # about the source's 70%
    state, arrays = enc.to_state()
    again = Temporal.from_state(state, arrays).decode(rng.standard_normal(200), rng)
    assert {(v.hour, v.minute) for v in again} <= {(14, 0), (11, 0)}


def test_a_time_of_day_fewer_rows_hold_is_written_at_the_common_one() -> None:
    """Attack round 30: 397 check-ins at 14:00 and 3 at 03:17 came back at 347 times of day. The
    three are too few to be a time of their own (nor written as themselves: too few rows)."""
    rng = np.random.default_rng(0)
    days = rng.integers(18000, 18500, 400)
    times = np.full(400, 14 * 3600)
    times[:3] = 3 * 3600 + 17 * 60
    enc = Temporal.fit(pd.Series(pd.to_datetime(days * 86400 + times, unit="s")), output="datetime")
    back = enc.decode(rng.standard_normal(2000), rng)
    assert {(v.hour, v.minute, v.second) for v in back} == {(14, 0, 0)}
    # A tenth of the rows at times of their own: times are not a handful, and stay spread.
    times[:40] = rng.integers(0, 86400, 40)
    enc = Temporal.fit(pd.Series(pd.to_datetime(days * 86400 + times, unit="s")), output="datetime")
    assert not enc.times


def _reads(value: object, fmt: str) -> bool:
    """The value is text that strptime reads with fmt and that fmt writes back the same."""
    if not isinstance(value, str):
        return False
    try:
        return dt.datetime.strptime(value, fmt).strftime(fmt) == value
    except ValueError:
        return False
