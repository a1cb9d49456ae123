"""A PostgreSQL interval column that is always the time between two of its row's times (los =
discharged - admitted) is derived from the sampled times, not drawn on its own (natives.py drew
it, and almost every output row broke the relation the source never breaks). Exact seconds, and
whole days: calendar days between two timestamps, and date - date kept as an interval of days.
Its NULLs follow the source's (a NULL discharge, a NULL los). Written into PostgreSQL, and into
SQLite and MariaDB, which hold an interval as a DATETIME offset from 1970: the relation holds in
that representation too."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

import relsynth
from relsynth.model.spec import Model
from tests.conftest import run_sql

SOURCE = """
CREATE TABLE admissions (
  id INTEGER PRIMARY KEY, admitted TIMESTAMP NOT NULL, discharged TIMESTAMP,
  los INTERVAL, los_days INTERVAL
);
INSERT INTO admissions (id, admitted, discharged)
SELECT g, t, CASE WHEN mod(g, 7) = 0 THEN NULL ELSE t + make_interval(mins => mod(g * 37, 9000) + 30) END
FROM (SELECT g, timestamp '2020-01-01' + make_interval(hours => g * 13, mins => mod(g * 17, 60)) AS t
      FROM generate_series(1, 300) g) s;
UPDATE admissions SET los = discharged - admitted,
  los_days = make_interval(days => discharged::date - admitted::date);
CREATE TABLE bookings (id INTEGER PRIMARY KEY, arrival DATE NOT NULL, departure DATE, nights INTERVAL);
INSERT INTO bookings (id, arrival, departure)
SELECT g, d, CASE WHEN mod(g, 5) = 0 THEN NULL ELSE d + mod(g * 11, 23) + 1 END
FROM (SELECT g, date '2021-03-01' + mod(g * 29, 700) AS d FROM generate_series(1, 250) g) s;
UPDATE bookings SET nights = (departure - arrival) * interval '1 day';
"""

LISTED = (
    "admissions: los = discharged - admitted in seconds (derived)",
    "admissions: los_days = discharged - admitted in calendar days (derived)",
    "bookings: nights = departure - arrival in seconds (derived)",
)

# Rows breaking each relation (a NULL on one side only breaks it too), per target dialect.
S = "CAST(strftime('%s', {}) AS INTEGER)"  # SQLite: seconds since 1970 of a DATETIME text
BROKEN = {
    "postgresql": {
        "los": "SELECT count(*) FROM admissions WHERE los IS DISTINCT FROM discharged - admitted",
        "los_days": "SELECT count(*) FROM admissions "
        "WHERE los_days IS DISTINCT FROM make_interval(days => discharged::date - admitted::date)",
        "nights": "SELECT count(*) FROM bookings "
        "WHERE nights IS DISTINCT FROM make_interval(days => departure - arrival)",
    },
    "mysql": {
        "los": "SELECT count(*) FROM admissions WHERE (los IS NULL) <> (discharged IS NULL) "
        "OR TIMESTAMPDIFF(SECOND, '1970-01-01', los) <> TIMESTAMPDIFF(SECOND, admitted, discharged)",
        "los_days": "SELECT count(*) FROM admissions WHERE (los_days IS NULL) <> (discharged IS NULL) "
        "OR TIMESTAMPDIFF(SECOND, '1970-01-01', los_days) <> DATEDIFF(discharged, admitted) * 86400",
        "nights": "SELECT count(*) FROM bookings WHERE (nights IS NULL) <> (departure IS NULL) "
        "OR TIMESTAMPDIFF(SECOND, '1970-01-01', nights) <> DATEDIFF(departure, arrival) * 86400",
    },
    "sqlite": {
        "los": "SELECT count(*) FROM admissions WHERE (los IS NULL) <> (discharged IS NULL) "
        f"OR {S.format('los')} <> {S.format('discharged')} - {S.format('admitted')}",
        "los_days": "SELECT count(*) FROM admissions WHERE (los_days IS NULL) <> (discharged IS NULL) "
        f"OR {S.format('los_days')} <> {S.format('date(discharged)')} - {S.format('date(admitted)')}",
        "nights": "SELECT count(*) FROM bookings WHERE (nights IS NULL) <> (departure IS NULL) "
        f"OR {S.format('nights')} <> {S.format('departure')} - {S.format('arrival')}",
    },
}
NULLS = {  # (rows with the interval NULL, rows with its later time NULL)
    "los": "SELECT count(*) FILTER (WHERE los IS NULL), count(*) FILTER (WHERE discharged IS NULL) "
    "FROM admissions",
    "nights": "SELECT count(*) FILTER (WHERE nights IS NULL), count(*) FILTER (WHERE departure IS NULL) "
    "FROM bookings",
}


def _scalars(url: str, sql: str) -> tuple:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(sa.text(sql)).one())
    finally:
        engine.dispose()


@pytest.fixture
def source(pg_db) -> str:
    url = pg_db()
    run_sql(url, SOURCE)
    for col, sql in BROKEN["postgresql"].items():  # the source keeps every relation
        assert _scalars(url, sql) == (0,), col
    return url


@pytest.mark.parametrize("target_kind", ["postgresql", "sqlite", "mysql"])
def test_an_interval_equal_to_a_time_difference_stays_equal(
    request: pytest.FixtureRequest, source: str, target_kind: str
) -> None:
    factory = {"postgresql": "pg_db", "sqlite": "sqlite_db", "mysql": "mysql_db"}[target_kind]
    target = request.getfixturevalue(factory)()
    result = relsynth.synthesize(source, target, seed=4)
    assert result["write"].verification.problems == 0
    model = result["model"]
    listed = model.relations_summary()
    for line in LISTED:
        assert line in listed, line
    for table, col in (("admissions", "los"), ("admissions", "los_days"), ("bookings", "nights")):
        assert model.tables[table].column(col).how == "difference"
    for col, sql in BROKEN[target_kind].items():
        assert _scalars(target, sql) == (0,), col
    if target_kind == "postgresql":
        for col, sql in NULLS.items():
            blank, open_ = _scalars(target, sql)
            assert blank == open_ > 0, col  # NULL exactly where the later time is
        (n,) = _scalars(target, "SELECT count(DISTINCT los) FROM admissions")
        assert n > 50  # durations as varied as the sampled times, not a constant


def test_a_loaded_model_derives_the_interval(source: str, tmp_path: Path) -> None:
    model = relsynth.fit(source, seed=2)
    path = tmp_path / "model.relsynth"
    model.save(path)
    with zipfile.ZipFile(path) as z:  # the relation is plain JSON in the model file
        derived = json.loads(z.read("model.json"))["tables"]["admissions"]["exact"]["differences"]
    assert {d[0] for d in derived} == {"los", "los_days"}
    loaded = Model.load(path)
    for scale in (1.0, 2.0):
        a = relsynth.sample(loaded, scale=scale, seed=6)["admissions"]
        admitted, discharged = pd.to_datetime(a["admitted"]), pd.to_datetime(a["discharged"])
        los = pd.to_timedelta(a["los"])
        assert int((~((los == discharged - admitted) | (los.isna() & discharged.isna()))).sum()) == 0
        days = pd.to_timedelta(a["los_days"])
        calendar = discharged.dt.normalize() - admitted.dt.normalize()
        assert int((~((days == calendar) | (days.isna() & discharged.isna()))).sum()) == 0
        assert los.isna().sum() == discharged.isna().sum() > 0
