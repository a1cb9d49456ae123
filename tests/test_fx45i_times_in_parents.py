"""Attack round 45 (a45a f8), MIMIC-like: chart events hang under the patient and name an
admission and an ICU stay through nullable keys the source never leaves NULL.

1. Events lay years outside the stay they were given: a row later than its parent by more than
   the source ever is kept its own time, and one item's events that could not all fit their
   bounds without overlapping lost every upper bound, for every stay. Now such a row is placed
   between its parent's times (the stay's intime..outtime) at its own rank, and only the rows
   crowded past a bound give way.
2. A patient drawn no ICU stay had chart events all the same, written with stay_id NULL (the
   source has none): rows go only to patients with a stay.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

import relsynth

SCHEMA = """
create table patients (subject_id integer primary key, anchor_year integer not null);
create table admissions (hadm_id integer primary key, subject_id integer not null references patients,
  admittime timestamp not null, dischtime timestamp not null);
create table icustays (stay_id integer primary key, subject_id integer not null references patients,
  hadm_id integer not null references admissions, intime timestamp not null, outtime timestamp not null);
create table chartevents (id integer primary key, subject_id integer not null references patients,
  hadm_id integer references admissions, stay_id integer references icustays,
  charttime timestamp not null, storetime timestamp, itemid integer not null, valuenum real);
"""


def _source(path: Path) -> str:
    r = random.Random(7)
    con = sqlite3.connect(path)
    con.executescript(SCHEMA)
    hadm, stay, event = 100, 500, 1
    for subject in range(1, 101):
        year = 2110 + r.randrange(90)
        con.execute("insert into patients values (?, ?)", (subject, year))
        t = dt.datetime(year, 1, 1) + dt.timedelta(days=r.randrange(100))
        for _ in range(r.randint(1, 3)):
            admit = t + dt.timedelta(hours=r.randrange(24))
            disch = admit + dt.timedelta(days=2 + r.random() * 8)
            hadm += 1
            con.execute("insert into admissions values (?, ?, ?, ?)", (hadm, subject, admit, disch))
            t = disch + dt.timedelta(days=30 + r.randrange(200))
            if r.random() < 0.5:  # an admission without an ICU stay
                continue
            intime = admit + dt.timedelta(hours=2 + r.random() * 10)
            outtime = intime + (disch - intime) * (0.3 + 0.5 * r.random())
            stay += 1
            con.execute("insert into icustays values (?, ?, ?, ?, ?)", (stay, subject, hadm, intime, outtime))
            ct = intime
            while ct < outtime:  # vitals every 4 hours, stored within 30 minutes
                for item in (1, 2, 3):
                    store = ct + dt.timedelta(minutes=r.randrange(30))
                    row = (event, subject, hadm, stay, ct, store, item, round(60 + 40 * r.random()))
                    con.execute("insert into chartevents values (?, ?, ?, ?, ?, ?, ?, ?)", row)
                    event += 1
                ct += dt.timedelta(hours=4)
    con.commit()
    con.close()
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    url = _source(tmp_path_factory.mktemp("fx45i") / "mimic.db")
    return relsynth.sample(relsynth.fit(url), seed=3)


def test_events_fall_in_the_stay_they_name(synthetic: dict[str, pd.DataFrame]) -> None:
    events, stays = synthetic["chartevents"], synthetic["icustays"]
    assert len(events) > 100
    joined = events.merge(stays[["stay_id", "intime", "outtime"]], on="stay_id")
    ct, lo, hi = (pd.to_datetime(joined[c]) for c in ("charttime", "intime", "outtime"))
    outside = int(((ct < lo) | (ct > hi)).sum())
    assert outside <= 0.02 * len(events)  # was 2,956 of 6,111
    piled = int(((ct - hi).abs() < pd.Timedelta(minutes=1)).sum())  # not clipped onto the stay's end
    assert piled <= 0.05 * len(events)  # crowded stays (more events than their span holds) end there


def test_events_keep_their_stay(synthetic: dict[str, pd.DataFrame]) -> None:
    events = synthetic["chartevents"]
    assert len(events) > 100
    assert events["stay_id"].isna().sum() == 0  # the source has none; was 645
