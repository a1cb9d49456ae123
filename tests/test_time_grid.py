"""Times a source keeps on a grid (appointments every quarter hour, shifts on the hour) stay on it:
an appointment at 10:07 is a tell that the data is synthetic, and a clinic's schedule has none."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import relsynth
from relsynth.frames import schema_from_frames
from relsynth.transform import grain_of


def _clinic(step_minutes: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = 600
    day = pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    slot = rng.integers(8 * 60 // step_minutes, 17 * 60 // step_minutes, n) * step_minutes
    start = day + pd.to_timedelta(slot, unit="m")
    length = rng.choice([1, 2, 3], n) * step_minutes
    frame = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "starts_at": start,
            "ends_at": start + pd.to_timedelta(length, unit="m"),
            "fee": rng.gamma(3, 20, n).round(2),
        }
    )
    return {"appointment": frame}


@pytest.mark.parametrize("step", [5, 15, 30, 60])
def test_grid_of_minutes_is_kept(step: int) -> None:
    frames = _clinic(step)
    schema = schema_from_frames(frames, primary_keys={"appointment": ["id"]})
    model = relsynth.fit(frames, schema=schema, seed=1)
    out = relsynth.sample(model, seed=2)["appointment"]
    for col in ("starts_at", "ends_at"):
        minutes = pd.to_datetime(out[col]).dropna()
        off = (minutes.dt.minute % step != 0) | (minutes.dt.second != 0)
        assert not off.any(), f"{col}: {int(off.sum())} of {len(minutes)} values off the {step}-minute grid"
        # The grid is kept, not collapsed onto a coarser one: several slots in the hour appear.
        if step < 60:
            assert minutes.dt.minute.nunique() > 1


def test_a_grid_is_believed_only_from_enough_values() -> None:
    """Five timestamps that happen to fall on the hour say nothing about a schedule."""
    hours = np.array([dt.datetime(2024, 1, d, 9 + d).timestamp() for d in range(1, 6)])
    assert grain_of(hours) == 60.0
    many = np.array([dt.datetime(2024, 1, 1 + d % 28, 8 + d % 9).timestamp() for d in range(40)])
    assert grain_of(many) == 3600.0
    assert grain_of(many + 60) == 60.0  # one minute past every hour: a minute grid, not an hour
