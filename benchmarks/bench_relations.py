"""Does the output keep the exact relations the source always satisfies? Violations counted in the
source and in relsynth's output, on diabetes130 and OMOP (Synthea 27 NJ).

Run by hand from the repository root (PostgreSQL on 127.0.0.1:5432, user postgres, trust):

    /work/venv/bin/python benchmarks/bench_relations.py                       # both, scales 1 and 3
    /work/venv/bin/python benchmarks/bench_relations.py --only omop_synthea27nj --seeds 0,1,2

Each dataset is loaded from ../shared/datasets (or $RELSYNTH_DATASETS) into `rs_bench_rel_<name>`,
fitted once (`relsynth.fit(url)`, every row), sampled in memory at each scale and seed, and the
database is dropped at the end. The checks are written here with pandas, independently of what
relsynth learns:

- diabetes130: `encounter.diabetes_med` is true exactly when the encounter has
  `encounter_medication` rows;
- OMOP: clinical dates before the person's birth (day level) or after the date in `death`; a
  `*_date` that is not the date of its `*_datetime` twin; `year_of_birth`, `month_of_birth`,
  `day_of_birth` that disagree with `birth_datetime`; (year, month, day) of birth that is no date;
  a condition whose person is not its visit's person.

Each row of the table is one check: the violations in the source, then in each sample (scale x
seed), then the rows checked. PASS when no sample has more violations than the source. Exit code
1 if any check FAILs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import sqlalchemy as sa
from common import DB_SCHEMAS, PG_DB, drop_database, load_dataset

import relsynth

Frames = dict[str, pd.DataFrame]

CLINICAL = {
    "visit_occurrence": ["visit_start_date", "visit_start_datetime", "visit_end_date", "visit_end_datetime"],
    "visit_detail": [
        "visit_detail_start_date",
        "visit_detail_start_datetime",
        "visit_detail_end_date",
        "visit_detail_end_datetime",
    ],
    "condition_occurrence": [
        "condition_start_date",
        "condition_start_datetime",
        "condition_end_date",
        "condition_end_datetime",
    ],
    "drug_exposure": [
        "drug_exposure_start_date",
        "drug_exposure_start_datetime",
        "drug_exposure_end_date",
        "drug_exposure_end_datetime",
    ],
    "procedure_occurrence": [
        "procedure_date",
        "procedure_datetime",
        "procedure_end_date",
        "procedure_end_datetime",
    ],
    "measurement": ["measurement_date", "measurement_datetime"],
    "observation": ["observation_date", "observation_datetime"],
    "observation_period": ["observation_period_start_date", "observation_period_end_date"],
    "condition_era": ["condition_era_start_date", "condition_era_end_date"],
    "death": ["death_date", "death_datetime"],
}


def _day(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.normalize()


def diabetes(f: Frames) -> dict[str, tuple[int, int]]:
    """{check: (violations, rows checked)}."""
    e = f["encounter"]
    has = e["encounter_id"].isin(set(f["encounter_medication"]["encounter_id"]))
    return {
        "diabetes_med <=> medication rows exist": (int((e["diabetes_med"].astype(bool) != has).sum()), len(e))
    }


def omop(f: Frames) -> dict[str, tuple[int, int]]:
    p = f["person"]
    birth = _day(p.set_index("person_id")["birth_datetime"])
    death = _day(f["death"].drop_duplicates("person_id").set_index("person_id")["death_date"])
    out: dict[str, list[int]] = {
        "dated before birth": [0, 0],
        "dated after death": [0, 0],
        "_date is not date(_datetime)": [0, 0],
    }
    for t, cols in CLINICAL.items():
        fr = f[t]
        b, d = fr["person_id"].map(birth), fr["person_id"].map(death)
        for c in cols:
            v = _day(fr[c])
            out["dated before birth"][0] += int((v < b).sum())
            out["dated before birth"][1] += int((v.notna() & b.notna()).sum())
            if t != "death":
                out["dated after death"][0] += int((v > d).sum())
                out["dated after death"][1] += int((v.notna() & d.notna()).sum())
            if c.endswith("_date") and c + "time" in fr:
                both = fr[c].notna() & fr[c + "time"].notna()
                out["_date is not date(_datetime)"][0] += int(
                    (_day(fr[c][both]) != _day(fr[c + "time"][both])).sum()
                )
                out["_date is not date(_datetime)"][1] += int(both.sum())
    bd = pd.to_datetime(p["birth_datetime"])
    known = bd.notna()
    result = {k: (v[0], v[1]) for k, v in out.items()}
    for part in ("year", "month", "day"):
        col = p[f"{part}_of_birth"]
        rows = known & col.notna()
        result[f"{part}_of_birth is not {part}(birth_datetime)"] = (
            int((col[rows] != getattr(bd[rows].dt, part)).sum()),
            int(rows.sum()),
        )
    ymd = p[["year_of_birth", "month_of_birth", "day_of_birth"]].dropna().astype(int)
    dates = pd.to_datetime(
        {"year": ymd["year_of_birth"], "month": ymd["month_of_birth"], "day": ymd["day_of_birth"]},
        errors="coerce",
    )
    result["(year, month, day) of birth is no date"] = (int(dates.isna().sum()), len(ymd))
    co, vo = f["condition_occurrence"], f["visit_occurrence"]
    m = co.merge(vo[["visit_occurrence_id", "person_id"]], on="visit_occurrence_id", suffixes=("", "_v"))
    result["condition's person is not its visit's"] = (
        int((m["person_id"] != m["person_id_v"]).sum()),
        len(m),
    )
    return result


CHECKS: dict[str, tuple[list[str], Callable[[Frames], dict[str, tuple[int, int]]]]] = {
    "diabetes130": (["encounter", "encounter_medication"], diabetes),
    "omop_synthea27nj": ([*CLINICAL, "person"], omop),
}


def read(url: str, schema: str | None, tables: list[str]) -> Frames:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            meta = sa.MetaData(schema=schema)
            return {t: pd.read_sql(sa.select(sa.Table(t, meta, autoload_with=conn)), conn) for t in tables}
    finally:
        engine.dispose()


def run(name: str, scales: list[float], seeds: list[int]) -> bool:
    db = f"rs_bench_rel_{name}"
    schema = DB_SCHEMAS.get(name)
    tables, count = CHECKS[name]
    try:
        load_dataset(name, db)
        url = PG_DB.format(db=db)
        source = count(read(url, schema, tables))
        started = time.perf_counter()
        model = relsynth.fit(url, db_schema=schema, seed=0)
        fitted = time.perf_counter() - started
        runs = {}
        for scale in scales:
            for seed in seeds:
                started = time.perf_counter()
                runs[scale, seed] = (
                    count(relsynth.sample(model, scale=scale, seed=seed)),
                    time.perf_counter() - started,
                )
    finally:
        drop_database(db)
    heads = [f"x{s:g} seed {d}" for s, d in runs]
    print(
        f"\n{name}: fit {fitted:.0f} s; sample "
        + ", ".join(f"{h} {t:.0f} s" for h, (_, t) in zip(heads, runs.values(), strict=True))
    )
    print(
        f"  {'check':45} {'source':>8} "
        + " ".join(f"{h:>12}" for h in heads)
        + f" {'rows (src)':>11}  verdict"
    )
    ok = True
    for check, (bad, rows) in source.items():
        synth = [r[check][0] for r, _ in runs.values()]
        passed = all(s <= bad for s in synth)
        ok &= passed
        cells = " ".join(f"{s:>12,}" for s in synth)
        print(f"  {check:45} {bad:>8,} {cells} {rows:>11,}  {'PASS' if passed else 'FAIL'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(CHECKS), help="a dataset (repeatable)")
    parser.add_argument("--scales", default="1,3", help="comma-separated scales (default 1,3)")
    parser.add_argument("--seeds", default="0,1", help="comma-separated seeds (default 0,1)")
    args = parser.parse_args()
    scales = [float(s) for s in args.scales.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    np.seterr(all="ignore")
    results = [run(name, scales, seeds) for name in (args.only or sorted(CHECKS))]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
