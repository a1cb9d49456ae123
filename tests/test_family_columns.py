"""Columns every child of a parent shares (a patient's race on each encounter) come out shared.

Drawn per child, siblings disagreed (a patient Asian on one encounter, White on the next), which
a classifier told apart at once: diabetes130's patients by the distinct races of their
encounters (issue 11). The model draws them once per family and keeps them out of nothing else.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import relsynth
from relsynth.frames import schema_from_frames
from relsynth.model.spec import Model


def _hospital(seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = 300
    patients = pd.DataFrame({"patient_id": np.arange(1, n + 1), "age": rng.integers(20, 90, n)})
    sizes = rng.integers(1, 8, n)
    owner = np.repeat(patients["patient_id"].to_numpy(), sizes)
    race = rng.choice(["A", "B", "C", "D"], n, p=[0.5, 0.3, 0.15, 0.05])[owner - 1]
    gender = rng.choice(["F", "M"], n)[owner - 1]
    encounters = pd.DataFrame(
        {
            "encounter_id": np.arange(1, len(owner) + 1),
            "patient_id": owner,
            "race": race,
            "gender": gender,
            "ward": rng.choice(["w1", "w2", "w3"], len(owner)),  # varies within a patient
            # Mostly the patient's own payer, now and then another: shared, not always.
            "payer": np.where(
                rng.random(len(owner)) < 0.8,
                rng.choice(["P1", "P2", "P3", "P4", "P5"], n)[owner - 1],
                rng.choice(["P1", "P2", "P3", "P4", "P5"], len(owner)),
            ),
            "days": rng.integers(1, 15, len(owner)),
        }
    )
    return {"patient": patients, "encounter": encounters}


def _share_agreeing(frame: pd.DataFrame, column: str) -> float:
    several = frame.groupby("patient_id").filter(lambda g: len(g) >= 2)
    return float((several.groupby("patient_id")[column].nunique() == 1).mean())


def test_a_patients_race_is_one_value_for_all_their_encounters(tmp_path: Path) -> None:
    frames = _hospital()
    schema = schema_from_frames(
        frames,
        primary_keys={"patient": ["patient_id"], "encounter": ["encounter_id"]},
        foreign_keys=[("encounter", ["patient_id"], "patient", ["patient_id"])],
    )
    model = relsynth.fit(frames, schema=schema, seed=1)
    family = model.tables["encounter"].family
    assert set(family) == {"race", "gender", "payer"}  # ward varies: not a family trait
    assert family["race"] == family["gender"] == 1.0 and 0.5 < family["payer"] < 0.95
    path = tmp_path / "m.relsynth"
    model.save(path)
    loaded = Model.load(path)
    assert loaded.tables["encounter"].family == model.tables["encounter"].family
    out = relsynth.sample(loaded, seed=3)["encounter"]
    assert _share_agreeing(out, "race") == 1.0 and _share_agreeing(out, "gender") == 1.0
    assert _share_agreeing(out, "ward") < 0.5  # the others still vary
    real_payer = _share_agreeing(frames["encounter"], "payer")
    assert abs(_share_agreeing(out, "payer") - real_payer) < 0.12, (_share_agreeing(out, "payer"), real_payer)
    # The marginal is kept: each race's share of encounters near the source's.
    real = frames["encounter"]["race"].value_counts(normalize=True)
    drawn = out["race"].value_counts(normalize=True).reindex(real.index).fillna(0)
    assert float((real - drawn).abs().sum()) / 2 < 0.1
    assert any("race is one value for all children" in line for line in model.relations_summary())
