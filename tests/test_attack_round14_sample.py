"""Attack round 14, sampling: a NOT NULL column never sampled NULL, and a self-reference ordered
by a time still names an earlier row after the times moved.

- A condition's NOT NULL start date is its visit's start date (a value repeated from a parent).
  A condition of a person drawn without visits gets no visit, and its start date came out NULL:
  the load failed on OMOP-like sources (condition_occurrence.condition_start_date,
  measurement.measurement_date). The copy now gives way on such a row.
- ``preceding_visit_id names an earlier row of the same parent by start_date``: the links were
  drawn before settling moved the dates (intervals that never overlap, orders), so a visit could
  start before the visit it names. The chains are linked again in the final order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import relsynth
from relsynth.frames import schema_from_frames
from relsynth.model import exact_sample as xs
from relsynth.model import keys as kz
from relsynth.model import sample as sample_module
from relsynth.model.spec import Model
from relsynth.schema import Schema


def _clinic(seed: int = 0) -> dict[str, pd.DataFrame]:
    """Persons, their visits (a chain: each names the one before), and conditions dated on their
    visit; a fifth of the persons have neither (so some are drawn with conditions, no visits)."""
    rng = np.random.default_rng(seed)
    persons, visits, conds = [], [], []
    vid = 1
    for pid in range(1, 401):
        born = dt.date(1940, 1, 1) + dt.timedelta(days=int(rng.integers(0, 20000)))
        persons.append((pid, born, str(rng.choice(["F", "M"]))))
        n = 0 if pid % 5 == 0 else int(rng.integers(1, 5))
        day = born + dt.timedelta(days=int(rng.integers(6600, 9000)))
        prev = None
        mine = []
        for _ in range(n):
            end = day + dt.timedelta(days=int(rng.choice([0, 0, 1, 2, 5])))
            visits.append((vid, pid, day, end, prev, str(rng.choice(["IP", "OP", "ER"]))))
            mine.append((vid, day))
            prev = vid
            vid += 1
            day = end + dt.timedelta(days=int(rng.integers(1, 60)))
        for _ in range(int(rng.integers(1, 3)) if mine else 0):
            v, d = mine[int(rng.integers(0, len(mine)))]
            conds.append((pid, v, d, str(rng.choice(["c1", "c2", "c3"]))))
    person = pd.DataFrame(persons, columns=["person_id", "birth_date", "sex"])
    visit = pd.DataFrame(
        visits, columns=["visit_id", "person_id", "start_date", "end_date", "preceding_visit_id", "kind"]
    )
    visit["preceding_visit_id"] = visit["preceding_visit_id"].astype("Int64")
    cond = pd.DataFrame(conds, columns=["person_id", "visit_id", "start_date", "code"])
    cond.insert(0, "condition_id", np.arange(1, len(cond) + 1))
    cond["visit_id"] = cond["visit_id"].astype("Int64")
    for frame, cols in (
        (person, ["birth_date"]),
        (visit, ["start_date", "end_date"]),
        (cond, ["start_date"]),
    ):
        for c in cols:
            frame[c] = pd.to_datetime(frame[c])
    return {"person": person, "visit": visit, "condition": cond}


def _schema(frames: dict[str, pd.DataFrame]) -> Schema:
    """The condition's visit may be NULL, as in OMOP's DDL (the source has none)."""
    schema = schema_from_frames(
        frames,
        primary_keys={"person": ["person_id"], "visit": ["visit_id"], "condition": ["condition_id"]},
        foreign_keys=[
            ("visit", ["person_id"], "person", ["person_id"]),
            ("visit", ["preceding_visit_id"], "visit", ["visit_id"]),
            ("condition", ["person_id"], "person", ["person_id"]),
            ("condition", ["visit_id"], "visit", ["visit_id"]),
        ],
    )
    return _nullable(schema, "condition", "visit_id", True)


def _nullable(schema: Schema, table: str, column: str, nullable: bool) -> Schema:
    t = schema.table(table)
    cols = tuple(replace(c, nullable=nullable) if c.name == column else c for c in t.columns)
    return replace(
        schema, tables=tuple(replace(x, columns=cols) if x.name == table else x for x in schema.tables)
    )


def _violations(visit: pd.DataFrame) -> int:
    start = pd.to_datetime(visit.set_index("visit_id")["start_date"])
    linked = visit[visit["preceding_visit_id"].notna()]
    before = start.reindex(linked["preceding_visit_id"].astype("int64")).to_numpy()
    return int((pd.to_datetime(linked["start_date"]).to_numpy() < before).sum())


def test_a_not_null_date_copied_from_a_missing_parent_is_never_null() -> None:
    frames = _clinic()
    schema = _schema(frames)
    model = relsynth.fit(frames, schema=schema, seed=3)
    tm = model.tables["condition"]
    assert any(r.column == "start_date" for r in tm.repeats), tm.repeats  # the copy is learned
    assert not schema.table("condition").column("start_date").nullable
    for seed in (1, 2, 3):
        out = relsynth.sample(model, seed=seed)
        cond = out["condition"]
        # Conditions go only to persons with a visit, as in the source (round 45: a row under a
        # person without one had no visit to name); the date is never NULL either way.
        assert not cond["visit_id"].isna().any()
        assert not cond["start_date"].isna().any(), seed
        # The copy holds wherever there is a visit.
        visit = out["visit"].set_index("visit_id")["start_date"]
        has = cond[cond["visit_id"].notna()]
        copied = visit.reindex(has["visit_id"].astype("int64")).to_numpy()
        assert (pd.to_datetime(has["start_date"]).to_numpy() == pd.to_datetime(copied)).all()


def test_no_not_null_column_is_written_null_by_a_relation(monkeypatch: pytest.MonkeyPatch) -> None:
    """The last net, before typing: a NOT NULL column a relation left NULL (here with the repeat's
    own fallback switched off) takes another row's value."""
    monkeypatch.setattr(sample_module, "_unrepeated", lambda *args: None, raising=False)
    frames = _clinic(1)
    schema = _schema(frames)
    model = relsynth.fit(frames, schema=schema, seed=0)
    for scale in (1.0, 3.0):
        out = relsynth.sample(model, seed=5, scale=scale)
        for t in model.schema.tables:
            for c in t.columns:
                if not c.nullable and c.name in out[t.name]:
                    assert not out[t.name][c.name].isna().any(), (t.name, c.name, scale)


def test_relink_in_order_names_an_earlier_row() -> None:
    # One group: rows 0 -> root, 1 -> 0, 2 -> 1; then the times moved so row 1 is last.
    parent = np.array([-1, 0, 1, -1, 3])
    groups = np.array([0, 0, 0, 1, 1])
    order = np.array([10.0, 30.0, 20.0, 5.0, 6.0])
    new = kz.relink_in_order(parent, groups, order)
    linked = new >= 0
    assert (order[linked] >= order[new[linked]]).all()
    assert new[3] == -1 and new[4] == 3  # a group that holds is left as it is
    assert int((new[:3] >= 0).sum()) == 2  # as many links as before: 0 <- 2 <- 1
    assert new[2] == 0 and new[1] == 2
    # NOT violated: unchanged, the very same array values
    same = kz.relink_in_order(np.array([-1, 0]), np.array([0, 0]), np.array([1.0, np.nan]))
    assert same.tolist() == [-1, 0]


@pytest.mark.parametrize("from_file", [False, True])
def test_a_visit_never_starts_before_the_visit_it_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path, from_file: bool
) -> None:  # type: ignore[no-untyped-def]
    """Whatever moves a visit's date after the links were drawn, the chain follows the dates."""
    frames = _clinic(2)
    model = relsynth.fit(frames, schema=_schema(frames), seed=1)
    forest = model.tables["visit"].forests
    assert any(f.order_by == "start_date" for f in forest.values()), forest
    if from_file:
        model.save(tmp_path / "m.rsm")
        model = Model.load(tmp_path / "m.rsm")
    settle = xs.settle

    def moving(schema, tm, table, frame, *args, **kwargs):  # type: ignore[no-untyped-def]
        out = settle(schema, tm, table, frame, *args, **kwargs)
        if table.name == "visit" and len(frame):  # a later step moves some dates back a few days
            start = pd.to_datetime(frame["start_date"])
            moved = start - pd.to_timedelta(np.arange(len(frame)) % 7 * 3, unit="D")
            frame["start_date"] = moved.astype(object).where(start.notna(), None)
            frame["end_date"] = pd.to_datetime(frame["end_date"]).where(
                pd.to_datetime(frame["end_date"]) >= moved, moved
            )
        return out

    monkeypatch.setattr(xs, "settle", moving)
    for seed in (1, 2):
        out = relsynth.sample(model, seed=seed)
        visit = out["visit"]
        assert visit["preceding_visit_id"].notna().sum() > 50
        assert _violations(visit) == 0, seed
        person = visit.groupby("visit_id")["person_id"].first()
        linked = visit[visit["preceding_visit_id"].notna()]
        same = person.reindex(linked["preceding_visit_id"].astype("int64")).to_numpy()
        assert (linked["person_id"].to_numpy() == same).all()  # still within the same person


def test_settling_does_not_leave_a_visit_before_the_one_it_names() -> None:
    """Unpatched: settling the visits' dates (intervals that never overlap for one person, never
    before the person's birth) moved one visit before the one it named (seed 5, before the fix)."""
    frames = _clinic(2)
    model = relsynth.fit(frames, schema=_schema(frames), seed=2)
    for seed in range(1, 6):
        assert _violations(relsynth.sample(model, seed=seed)["visit"]) == 0, seed
