"""Attack round 7 (issue 11's changes, attacked from the README alone).

- A synthetic row equal to a unique source record is moved one step (a cent). The move left the
  float off the column's grid (13.889999999 beside every other row's 13.89), which marked the
  moved rows in every target, and a step back gave the source record.
- A self-reference's depth profile pooled the levels fewer than K rows reach into its last one:
  that count was, row for row, how long one patient's longest chain of visits was.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import relsynth
from relsynth.frames import schema_from_frames
from tests.conftest import EVERY_DATABASE


def _labs(seed: int = 3) -> pd.DataFrame:
    """Lab values on a cent grid in a narrow range: many (code, value) records are unique and a
    synthetic row meets one often, so rows are moved."""
    rng = np.random.default_rng(seed)
    n = 1500
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "code": rng.choice(["glu", "hb", "crp"], n),
            "value": np.round(rng.uniform(1.0, 4.0, n), 2),
        }
    )


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_moved_row_stays_on_the_columns_grid(db: str, request: pytest.FixtureRequest) -> None:
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    real = _labs()
    engine = sa.create_engine(source)
    meta = sa.MetaData()
    table = sa.Table(
        "lab",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("code", sa.String(8)),
        sa.Column("value", sa.Float()),
    )
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), real.to_dict("records"))
    engine.dispose()
    result = relsynth.synthesize(source, target, seed=1)
    assert result["report"].moved_records.get("lab", 0) > 0  # the attack needs moved rows
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        values = [r[0] for r in conn.execute(sa.text("SELECT value FROM lab")) if r[0] is not None]
    engine.dispose()
    off = [v for v in values if round(float(v), 2) != float(v)]
    assert not off, f"{len(off)} values off the cent grid"


def _visits(longest: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(0)
    sizes = np.concatenate([rng.integers(1, 12, 300), [longest]])
    owner = np.repeat(np.arange(1, len(sizes) + 1), sizes)
    ids = np.arange(1, len(owner) + 1)
    first = np.r_[True, owner[1:] != owner[:-1]]
    prev = pd.array(np.where(first, 0, ids - 1), dtype="Int64")
    prev[first] = pd.NA
    return {
        "patient": pd.DataFrame({"patient_id": np.arange(1, len(sizes) + 1)}),
        "visit": pd.DataFrame(
            {
                "visit_id": ids,
                "patient_id": owner,
                "prev_visit_id": prev,
                "days": rng.integers(1, 9, len(ids)),
            }
        ),
    }


def _fit_visits(frames: dict[str, pd.DataFrame]) -> relsynth.Model:
    """Patients and their visits, each visit naming the one before it (prev_visit_id)."""
    schema = schema_from_frames(
        frames,
        primary_keys={"patient": ["patient_id"], "visit": ["visit_id"]},
        foreign_keys=[
            ("visit", ["patient_id"], "patient", ["patient_id"]),
            ("visit", ["prev_visit_id"], "visit", ["visit_id"]),
        ],
    )
    return relsynth.fit(frames, schema=schema, seed=0)


def test_the_depth_profile_does_not_say_how_long_one_persons_chain_is() -> None:
    def stored(longest: int) -> tuple[float, np.ndarray]:
        frames = _visits(longest)
        model = _fit_visits(frames)
        (forest,) = model.tables["visit"].forests.values()
        share = np.asarray(forest.level_share)
        return float(share[0] * model.tables["visit"].n_rows), share[1:] / share[1:].sum()

    # One patient with 200 visits or with 120, all else equal: the same chain starts and the same
    # profile of depths (the deep levels only that patient reaches are not stored, nor their sum).
    (roots_a, shape_a), (roots_b, shape_b) = stored(200), stored(120)
    assert round(roots_a, 6) == round(roots_b, 6)
    assert len(shape_a) == len(shape_b) and np.allclose(shape_a, shape_b)


def _tiny_source(tmp_path) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / "src.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    _labs().to_sql("lab", engine, index=False)
    engine.dispose()
    return str(path)


@pytest.mark.skipif(not __import__("os").path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_device_is_one_failed_line_not_an_internal_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from relsynth.cli import main

    result = CliRunner().invoke(main, ["--quiet", "fit", _tiny_source(tmp_path), "-o", "/dev/full"])
    assert result.exit_code == 1, result.output
    assert "/dev/full" in result.output and "internal error" not in result.output
    assert len(result.output.strip().splitlines()) == 1  # refused before the fit: no regular file


def test_the_model_file_may_not_overwrite_the_schema_file_it_reads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from relsynth.cli import main

    source = _tiny_source(tmp_path)
    schema = tmp_path / "schema.json"
    runner = CliRunner()
    assert runner.invoke(main, ["--quiet", "inspect", source, "-o", str(schema)]).exit_code == 0
    before = schema.read_bytes()
    result = runner.invoke(main, ["--quiet", "fit", source, "--schema-file", str(schema), "-o", str(schema)])
    assert result.exit_code == 1 and "same file" in result.output, result.output
    assert schema.read_bytes() == before


def _lab_frames(levels: dict[str, list[tuple[int, int, float, float]]]) -> dict[str, pd.DataFrame]:
    """Labs of patients: per test code, (patients, rows each, mean, sd) groups."""
    rng = np.random.default_rng(5)
    rows, next_patient = [], 1
    for code, groups in levels.items():
        for people, each, mean, sd in groups:
            for p in range(next_patient, next_patient + people):
                for _ in range(each):
                    rows.append((p, code, round(float(rng.normal(mean, sd)), 2)))
            next_patient += people
    lab = pd.DataFrame(rows, columns=["patient_id", "code", "value"])
    lab.insert(0, "lab_id", np.arange(1, len(lab) + 1))
    return {"patient": pd.DataFrame({"patient_id": np.arange(1, next_patient)}), "lab": lab}


def _fit_sample(frames: dict[str, pd.DataFrame], scale: float = 1.0) -> pd.DataFrame:
    schema = schema_from_frames(
        frames,
        primary_keys={"patient": ["patient_id"], "lab": ["lab_id"]},
        foreign_keys=[("lab", ["patient_id"], "patient", ["patient_id"])],
    )
    out = relsynth.sample(relsynth.fit(frames, schema=schema, seed=0), seed=1, scale=scale)["lab"]
    out["value"] = pd.to_numeric(out["value"])
    return out


def test_one_patients_many_readings_are_not_a_levels_quantiles() -> None:
    # DOM: 19 patients with one reading near 100, one with 40 near 500 (two thirds of the rows).
    frames = _lab_frames(
        {
            "DOM": [(19, 1, 100, 5), (1, 40, 500, 10)],
            "GLU": [(60, 5, 100, 10)],
            "HGB": [(60, 5, 14, 1)],
        }
    )
    out = _fit_sample(frames, scale=3)
    dom = out.loc[out["code"] == "DOM", "value"]
    assert len(dom) and (dom > 300).sum() == 0, int((dom > 300).sum())


def test_a_rare_levels_numbers_stay_out_of_the_common_levels() -> None:
    # ONEP: one patient's 40 readings near 7000 (a rare code, folded into common ones for the
    # copula); glucose and haemoglobin must not take them.
    frames = _lab_frames({"ONEP": [(1, 40, 7000, 40)], "GLU": [(60, 5, 100, 10)], "HGB": [(60, 5, 14, 1)]})
    out = _fit_sample(frames, scale=3)
    assert out["value"].max() < 1000, float(out["value"].max())
    hgb = out.loc[out["code"] == "HGB", "value"]
    assert abs(hgb.mean() - 14) < 0.5 and hgb.std() < 1.5


def test_an_integer_coded_category_sets_a_numbers_shape() -> None:
    frames = _lab_frames({"1": [(60, 5, 1, 0.5)], "2": [(60, 5, 1000, 50)], "3": [(60, 5, 50, 5)]})
    frames["lab"]["code"] = frames["lab"]["code"].astype(int)
    out = _fit_sample(frames)
    means = out.groupby(pd.to_numeric(out["code"]))["value"].mean()
    assert abs(means[1] - 1) < 5 and abs(means[2] - 1000) < 30 and abs(means[3] - 50) < 5, means.to_dict()


def test_a_visit_names_an_earlier_visit() -> None:
    rng = np.random.default_rng(2)
    sizes = rng.integers(1, 12, 200)
    owner = np.repeat(np.arange(1, len(sizes) + 1), sizes)
    ids = np.arange(1, len(owner) + 1)
    first = np.r_[True, owner[1:] != owner[:-1]]
    prev = pd.array(np.where(first, 0, ids - 1), dtype="Int64")
    prev[first] = pd.NA
    start = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 400, len(sizes)), unit="D")
    gaps = pd.to_timedelta(rng.integers(1, 60, len(owner)), unit="D")
    day = pd.Series(gaps).groupby(owner).cumsum().to_numpy() + start[owner - 1].to_numpy()
    frames = {
        "patient": pd.DataFrame({"patient_id": np.arange(1, len(sizes) + 1)}),
        "visit": pd.DataFrame(
            {"visit_id": ids, "patient_id": owner, "prev_visit_id": prev, "visit_date": day}
        ),
    }
    model = _fit_visits(frames)
    out = relsynth.sample(model, seed=1)["visit"]
    when = pd.to_datetime(out.set_index("visit_id")["visit_date"])
    linked = out.dropna(subset=["prev_visit_id"])
    before = when.reindex(linked["prev_visit_id"].astype(int)).to_numpy()
    assert len(linked) and (pd.to_datetime(linked["visit_date"]).to_numpy() >= before).all()
    assert any("names an earlier row" in line for line in model.relations_summary())
