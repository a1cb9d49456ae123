"""Attack round 34: values a small table, a range or a generated column, and a postcode gave back.

1. A table of fewer than rare-k rows keeps only a column's decade: a YEAR (2005, 2008, 2015) came
   back as 971..9999 (its order of magnitude), which MariaDB's YEAR refused with a message about
   NUMERIC precision; into SQLite as years like 4828, and a last_update of today as 2027-28.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

import relsynth
from relsynth.errors import RelsynthError
from tests.conftest import fetch, run_sql


def _store(url: str, year_type: str) -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                f"CREATE TABLE store (store_id INTEGER PRIMARY KEY, opened {year_type} NOT NULL, "
                "release_year INTEGER NOT NULL, last_update TIMESTAMP NULL)"
            )
            for i, y in enumerate((2005, 2008, 2015), start=1):
                conn.execute(
                    sa.text("INSERT INTO store VALUES (:i, :y, :r, :t)"),
                    {"i": i, "y": y, "r": y - 3, "t": now - dt.timedelta(minutes=i)},
                )
    finally:
        engine.dispose()


def _check_store(url: str, *, year_type: bool) -> None:
    rows = fetch(url, "SELECT opened, release_year, last_update FROM store")
    assert len(rows) == 3
    for opened, release, last in rows:
        if year_type:  # an INTEGER named "opened" is no year to tell
            assert 2000 <= int(opened) <= 2019, opened  # the decade of 2005..2015, a year YEAR holds
        assert 2000 <= int(release) <= 2009, release
        when = pd.Timestamp(last)
        assert when.year >= 2020 and when <= pd.Timestamp.now(tz="UTC").tz_localize(None), when


@pytest.mark.parametrize("target_kind", ["sqlite", "mysql"])
def test_a_small_tables_years_stay_years_and_its_times_stay_past(
    target_kind: str, request: pytest.FixtureRequest
) -> None:
    source = request.getfixturevalue("sqlite_db")()
    _store(source, "INTEGER")
    target = request.getfixturevalue(f"{target_kind}_db")()
    relsynth.synthesize(source, target, seed=1)
    _check_store(target, year_type=False)


@pytest.mark.mysql
def test_mariadb_year_of_a_small_table_is_written_into_mariadb(request: pytest.FixtureRequest) -> None:
    source, target = request.getfixturevalue("mysql_db")(), request.getfixturevalue("mysql_db")()
    _store(source, "YEAR")
    for seed in (1, 2, 3):
        relsynth.synthesize(source, target, seed=seed, replace=True)
        _check_store(target, year_type=True)
    sqlite = request.getfixturevalue("sqlite_db")()
    relsynth.synthesize(source, sqlite, seed=1)
    _check_store(sqlite, year_type=True)


@pytest.mark.postgresql
@pytest.mark.mysql
def test_a_value_mariadb_refuses_names_its_table_and_column(request: pytest.FixtureRequest) -> None:
    """The refusal names acct.bal (not only the table), and no value."""
    source, target = request.getfixturevalue("pg_db")(), request.getfixturevalue("mysql_db")()
    run_sql(source, "CREATE TABLE acct (id INTEGER PRIMARY KEY, bal NUMERIC NOT NULL);")
    run_sql(source, "INSERT INTO acct SELECT g, 10::numeric ^ 40 + g * 7919 FROM generate_series(1, 200) g;")
    with pytest.raises(RelsynthError, match=r"^acct\.bal: .*out of the range of its column's type") as err:
        relsynth.synthesize(source, target, seed=1)
    assert "\n" not in str(err.value) and "10000" not in str(err.value)


# 2. A generated column written into a target that cannot compute it (PostgreSQL's expression into
#    SQLite or MariaDB) was drawn on its own: los_hours disagreed with its row's times on 97% of
#    rows. It is derived from them as the expression does (a difference in hours, to 2 decimals:
#    whole hours in every source row, but not between drawn times).
GENERATED = """
CREATE TABLE stay (
  id INTEGER PRIMARY KEY,
  admittime TIMESTAMPTZ NOT NULL,
  dischtime TIMESTAMPTZ NOT NULL,
  los_hours NUMERIC GENERATED ALWAYS AS (round(extract(epoch FROM (dischtime - admittime)) / 3600, 2)) STORED
);
INSERT INTO stay (id, admittime, dischtime)
SELECT g, a, a + make_interval(hours => (4 + (g * 7919) %% 480)::int)
FROM (SELECT g, timestamptz '2150-01-01 00:00+00' + make_interval(hours => (g * 104729) %% 14400)
                + make_interval(mins => 30 * (g %% 2)) AS a
      FROM generate_series(1, 400) g) s;
"""


@pytest.mark.postgresql
@pytest.mark.parametrize("target_kind", ["sqlite", "mysql"])
def test_a_generated_column_holds_its_expression_where_the_target_cannot_compute_it(
    target_kind: str, request: pytest.FixtureRequest
) -> None:
    source = request.getfixturevalue("pg_db")()
    run_sql(source, GENERATED)
    target = request.getfixturevalue(f"{target_kind}_db")()
    relsynth.synthesize(source, target, seed=1)
    rows = fetch(target, "SELECT admittime, dischtime, los_hours FROM stay")
    assert len(rows) == 400
    wrong = 0
    for admit, disch, hours in rows:
        span = (pd.Timestamp(disch) - pd.Timestamp(admit)).total_seconds() / 3600
        wrong += abs(round(span, 2) - float(hours)) > 0.006
    assert wrong == 0, wrong


# 3. Postcodes (digit strings with leading zeros, learned as shapes) kept their zeros but not their
#    distribution: first digits 0, 1, 2, 7 (half of them 0) came back uniform over 0-9. Each place's
#    characters held by rare-k distinct values keep their shares; no whole value is stored.
def _postcodes(n: int = 1500) -> list[str]:
    import random

    r = random.Random(7)
    return [f"{r.choice([0, 0, 0, 1, 2, 7])}{r.randint(0, 9999):04d}" for _ in range(n)]


@pytest.mark.parametrize("kind", ["sqlite", "pg"])
def test_postcodes_keep_each_places_digits(kind: str, request: pytest.FixtureRequest, tmp_path) -> None:
    from tests.conftest import model_contents

    codes = _postcodes()
    source = request.getfixturevalue(f"{kind}_db")()
    engine = sa.create_engine(source)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE person (id INTEGER PRIMARY KEY, postcode VARCHAR(5) NOT NULL)")
            conn.execute(
                sa.text("INSERT INTO person VALUES (:i, :p)"), [{"i": i, "p": p} for i, p in enumerate(codes)]
            )
    finally:
        engine.dispose()
    model = relsynth.fit(source, seed=1)
    text, _ = model_contents(model, tmp_path / "m.relsynth")
    assert not any(f'"{c}"' in text or f'"{c}' in text for c in codes)  # no whole postcode stored
    target = request.getfixturevalue(f"{kind}_db")()
    relsynth.synthesize(source, target, seed=1)
    out = [str(r[0]) for r in fetch(target, "SELECT postcode FROM person")]
    assert len(out) == len(codes) and all(len(p) == 5 and p.isdigit() for p in out)
    first = pd.Series([p[0] for p in out]).value_counts(normalize=True)
    assert set(first.index) <= {"0", "1", "2", "7"}, first.to_dict()
    assert 0.42 <= first.get("0", 0) <= 0.58, first.to_dict()
    assert len(set(out) & set(codes)) <= len(codes) // 5  # no copies beyond chance


# 2b. Ranges whose bounds are columns of the row (stay = [admit::date, discharge::date + 1), an ICU
#     stay's tstzrange [intime, outtime)) were drawn apart from those columns: 0 of 1,626 matched.
RANGES = """
CREATE TABLE icu (
  id INTEGER PRIMARY KEY,
  intime TIMESTAMPTZ NOT NULL,
  outtime TIMESTAMPTZ NOT NULL,
  stay TSTZRANGE,
  days DATERANGE
);
INSERT INTO icu
SELECT g, a, b, tstzrange(a, b), daterange((a AT TIME ZONE 'UTC')::date, (b AT TIME ZONE 'UTC')::date, '[]')
FROM (SELECT g, a, a + make_interval(mins => (300 + (g * 7919) %% 4000)::int) AS b
      FROM (SELECT g, timestamptz '2150-01-01 00:00+00' + make_interval(mins => (g * 104729) %% 900000) AS a
            FROM generate_series(1, 300) g) s) t;
"""


@pytest.mark.postgresql
@pytest.mark.parametrize("target_kind", ["sqlite", "pg"])
def test_a_range_of_two_columns_of_its_row_is_derived_from_them(
    target_kind: str, request: pytest.FixtureRequest
) -> None:
    source = request.getfixturevalue("pg_db")()
    run_sql(source, RANGES)
    target = request.getfixturevalue(f"{target_kind}_db")()
    relsynth.synthesize(source, target, seed=1)
    rows = fetch(target, "SELECT intime, outtime, CAST(stay AS TEXT), CAST(days AS TEXT) FROM icu")
    assert len(rows) == 300
    off = 0
    for intime, outtime, stay, days in rows:
        a, b = pd.Timestamp(intime), pd.Timestamp(outtime)
        a = a.tz_convert("UTC") if a.tzinfo else a.tz_localize("UTC")
        b = b.tz_convert("UTC") if b.tzinfo else b.tz_localize("UTC")
        lo, hi = (pd.Timestamp(x.strip('"')) for x in stay.strip("[)").split(","))
        lo = lo.tz_convert("UTC") if lo.tzinfo else lo.tz_localize("UTC")
        hi = hi.tz_convert("UTC") if hi.tzinfo else hi.tz_localize("UTC")
        first, last = days.strip("[)").split(",")
        off += (lo, hi) != (a, b)
        off += (first, last) != (str(a.date()), str((b + pd.Timedelta(days=1)).date()))
    assert off == 0, off
