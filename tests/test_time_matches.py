"""A row's secondary parent matches it in time (issue 11).

OMOP's drug exposures hang under the person (NOT NULL) and name a visit through a nullable key.
The visit was drawn among the person's visits regardless of the exposure's dates, and the order
the source always keeps (an exposure never ends before its visit starts) then pushed the end
alone: supplies of up to 39 years where the source has at most 371 days (days_supply = end -
start, KS complement 0.64), events dated years away from their visit. Now the parents a row may
take are given to the rows of a group in order of time, a row earlier than its parent allows takes
an earlier parent, and an interval with none is moved whole. Each test fails before the change.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import relsynth
from relsynth.frames import schema_from_frames
from relsynth.model.assign import in_time, not_before
from relsynth.model.spec import Model

DAY = 86400.0
START = pd.Timestamp("2000-01-01")


def _clinic(seed: int = 0) -> dict[str, pd.DataFrame]:
    """People with 2-10 visits over 20 years; each visit 0-2 drug exposures starting on its day
    (1% up to 3 days before), lasting 0, 30, 90 or 365 days; 1% of exposures name no visit."""
    rng = np.random.default_rng(seed)
    people = 400
    visits = rng.integers(2, 11, people)
    owner = np.repeat(np.arange(1, people + 1), visits)
    when = START + pd.to_timedelta(rng.integers(0, 20 * 365, len(owner)), unit="D")
    visit = pd.DataFrame({"visit_id": np.arange(1, len(owner) + 1), "person_id": owner, "visit_start": when})
    drugs = rng.integers(0, 3, len(visit))
    of = np.repeat(np.arange(len(visit)), drugs)
    early = np.where(rng.random(len(of)) < 0.01, -rng.integers(1, 4, len(of)), 0)
    start = visit["visit_start"].to_numpy()[of] + pd.to_timedelta(early, unit="D").to_numpy()
    supply = rng.choice([0, 30, 90, 365], len(of), p=[0.1, 0.4, 0.3, 0.2])
    visit_id = visit["visit_id"].to_numpy()[of].astype(float)
    visit_id[rng.random(len(of)) < 0.01] = np.nan
    drug = pd.DataFrame(
        {
            "drug_id": np.arange(1, len(of) + 1),
            "person_id": visit["person_id"].to_numpy()[of],
            "visit_id": visit_id,
            "drug_start": start,
            "drug_end": start + pd.to_timedelta(supply, unit="D").to_numpy(),
            "days_supply": supply,
        }
    )
    person = pd.DataFrame(
        {
            "person_id": np.arange(1, people + 1),
            "birth": START - pd.to_timedelta(rng.integers(20, 80, people) * 365, unit="D"),
        }
    )
    return {"person": person, "visit": visit, "drug": drug}


def _fit(seed: int = 0) -> Model:
    frames = _clinic(seed)
    schema = schema_from_frames(
        frames,
        primary_keys={"person": ["person_id"], "visit": ["visit_id"], "drug": ["drug_id"]},
        foreign_keys=[
            ("visit", ["person_id"], "person", ["person_id"]),
            ("drug", ["person_id"], "person", ["person_id"]),
            ("drug", ["visit_id"], "visit", ["visit_id"]),
        ],
    )
    return relsynth.fit(frames, schema=schema, seed=0)


def _joined(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    drug = tables["drug"].dropna(subset=["visit_id"]).copy()
    drug["visit_id"] = drug["visit_id"].astype("int64")
    visit = tables["visit"][["visit_id", "person_id", "visit_start"]]
    return drug.merge(visit, on="visit_id", suffixes=("", "_of_visit"))


def _check(out: dict[str, pd.DataFrame]) -> None:
    drug = out["drug"]
    days = (pd.to_datetime(drug["drug_end"]) - pd.to_datetime(drug["drug_start"])).dt.days
    # The source's longest supply is 365 days; the end pushed to a later visit made years.
    assert (days <= 366).mean() >= 0.99, days.describe().to_dict()
    assert (pd.to_numeric(drug["days_supply"]) == days).all()
    joined = _joined(out)
    assert (joined["person_id"] == joined["person_id_of_visit"]).all()
    lag = (pd.to_datetime(joined["drug_start"]) - pd.to_datetime(joined["visit_start"])).dt.days
    # The source's exposures start no more than 3 days before their visit: the drawn visit was
    # any of the person's, before or after, about half the time.
    assert (lag >= -3).mean() >= 0.97, lag.describe().to_dict()


def test_the_drug_of_a_visit_keeps_its_days_and_its_visit() -> None:
    model = _fit()
    assert model.plan["drug"].context is not None and model.plan["drug"].context.ref_table == "person"
    for seed in (0, 7):
        _check(relsynth.sample(model, seed=seed))


def test_the_match_is_learned_said_and_kept_in_the_model_file(tmp_path: Path) -> None:
    model = _fit()
    match = model.tables["drug"].time_matches
    assert list(match) == ["fk_drug_visit_id"]
    assert any("drug_start follows visit_start" in line for line in model.relations_summary())
    path = tmp_path / "m.rsm"
    model.save(path)
    loaded = Model.load(path).tables["drug"].time_matches["fk_drug_visit_id"]
    kept = match["fk_drug_visit_id"]
    assert (
        (loaded.column, loaded.base, loaded.unit)
        == (kept.column, kept.base, kept.unit)
        == (
            "drug_start",
            "visit_start",
            DAY,
        )
    )
    z = np.linspace(-3, 3, 61)
    np.testing.assert_array_equal(loaded.gap.decode(z), kept.gap.decode(z))
    _check(relsynth.sample(Model.load(path), seed=3))


def test_parents_are_given_in_order_of_time_and_keep_their_counts() -> None:
    target = np.array([0, 0, 1, 2, 3, 3, -1])
    group = np.array([0, 0, 0, 0, 1, 1, 0])
    x = np.array([5.0, 1.0, 3.0, 2.0, 9.0, 8.0, 0.0])
    y = np.array([30.0, 10.0, 20.0, 1.0])  # parents 0-2 in group 0, parent 3 in group 1
    out = in_time(target, group, x, y)
    assert sorted(out[:4]) == sorted(target[:4]) and out[6] == -1
    # In group 0 the rows in time order (1, 3, 2, 0) get the parents in time order (1, 2, 0, 0).
    assert out.tolist()[:4] == [0, 1, 0, 2]


def test_a_row_before_its_parent_takes_the_latest_earlier_parent_of_its_group() -> None:
    parent_group = np.array([0, 0, 0, 1])
    y = np.array([10.0, 20.0, 30.0, 5.0])
    target = np.array([2, 1, 0, 3])
    group = np.array([0, 0, 0, 1])
    x = np.array([25.0, 12.0, 3.0, 1.0])
    out = not_before(target, group, parent_group, x, y, lowest=-1.0)
    # 25 before parent 2 (30): takes parent 1 (20); 12 before 1 (20): takes 0 (10); 3 and 1 have
    # no earlier parent of their group and keep theirs.
    assert out.tolist() == [1, 0, 0, 3]
