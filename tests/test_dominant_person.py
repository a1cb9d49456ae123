"""A patient who holds most of a flat table's rows is still one person.

Round 45 read any value held by more than half a table's rows as "no person" (each row its own),
to keep WordPress' post_parent = 0 from being one person. A frequent patient with 60% of the
lab rows then counted as hundreds of people, and a code only they held was written. Only a "none"
value (0, -1, '') names no one now.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import relsynth
from tests.conftest import model_contents


def _labs(column: str = "patient_id") -> pd.DataFrame:
    """Patient 1 holds 600 of 1,000 rows, and alone the test code 'RARE-1' (on 30 of them)."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(1000):
        patient = 1 if i < 600 else int(rng.integers(2, 80))
        test = "RARE-1" if i < 30 else str(rng.choice(["HBA1C", "LDL", "TSH"]))
        rows.append((i + 1, patient, test, float(rng.normal(5, 1))))
    return pd.DataFrame(rows, columns=["id", column, "test", "value"])


def test_a_patient_with_most_rows_is_one_person(tmp_path: Path) -> None:
    model = relsynth.fit({"labs": _labs()}, seed=1)
    for seed in (1, 2):
        assert "RARE-1" not in set(relsynth.sample(model, seed=seed)["labs"]["test"])
    text, _ = model_contents(model, tmp_path / "m.relsynth")
    assert "RARE-1" not in text


@pytest.mark.parametrize("column", ["hn", "pat"])
def test_a_hospital_number_names_the_patient(column: str) -> None:
    """A flat table's patient as a hospital number (HN) or `pat`: a code one patient holds on 30
    rows was written (attack round 46), the column not taken for the person."""
    model = relsynth.fit({"labs": _labs(column)}, seed=1)
    assert "RARE-1" not in set(relsynth.sample(model, seed=1)["labs"]["test"])
