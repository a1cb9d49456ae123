"""Can a classifier tell relsynth's output from the real data? (issue 11)

    .venv/bin/python benchmarks/bench_fidelity.py                       # every case below
    .venv/bin/python benchmarks/bench_fidelity.py --quick               # Chinook chain 1x only
    .venv/bin/python benchmarks/bench_fidelity.py --only chain --big    # chain 1x, 4x and 16x
    .venv/bin/python benchmarks/bench_fidelity.py --only diabetes130 --max-rows 3000

Cases (--only, repeatable): chain (Chinook customer -> invoice -> invoice_line at 1x and 4x, 16x
with --big; benchmarks/replica.py copies every customer with its invoices and lines k times),
hub (Chinook playlist, playlist_track, track, invoice_line, invoice; playlist_track's composite
primary key is removed for every engine, as bench_sdv.py does, so SDV can take it), northwind,
omop_synthea27nj, synthea_csv_11p, diabetes130. Each dataset is loaded with
../shared/datasets/load into a throwaway PostgreSQL database rs_bench_fid_<name>, read once with
relsynth's reader (the frames `relsynth.fit(url)` would learn from) and dropped at the end.

Per case four sources of "synthetic" data are scored against the real data, all in this run:
  relsynth  relsynth.fit(frames, schema=..., seed) + relsynth.sample(model, scale=1, seed)
  shuffle   the real tables with every non-key column shuffled independently within its table
            (keys kept): exact marginals and child counts, no dependency at all (a floor)
  resample  root rows drawn with replacement, each copy with all its descendants (along the
            tables' context FKs), every single-column key renumbered (a ceiling: real families)
  SDV       SDV's HMASynthesizer through relsynth.sdv_engine, only where it accepts the schema
            ("refused" otherwise, with the limit it hits)

Detection follows SyntheRela (github.com/martinjurkovic/syntherela, SynthData @ ICLR 2025:
metrics/base.py DetectionBaseMetric, single_table/detection, multi_table/detection/
aggregation_detection.py, utils.py CustomHyperTransformer; the benchmark's XGBClassifier(seed=0)):
  * aggregation detection (C2ST-Agg), for each table with children: every row gets, for each
    child table and FK into it, the number of children, the mean of each numerical child column
    and the number of distinct values of each categorical child column (children only, one level).
  * single-table detection: the same without aggregates.
  * keys dropped; the same number of real (label 0) and synthetic (label 1) rows, drawn at random;
    numbers kept (NULL -> mean), booleans as 0/1, categories one-hot, dates and times split into
    year, month, day (+ hour, minute, second where any is non-zero); infinities as NULL; constant
    columns dropped; rows permuted with the seed; StratifiedKFold(5) without shuffling; in each fold
    a Pipeline(SimpleImputer, StandardScaler, XGBClassifier(seed)). The accuracy is the mean over
    every held-out row and its standard error std(hits) / sqrt(n), as SyntheRela reports them
    (0.5: the classifier cannot tell; 1.0: it always can).
  * feature importances: XGBoost's feature_importances_ averaged over the 5 fold models, one-hot
    columns and date parts summed back into the column (or aggregate) they came from.
What differs from SyntheRela: the columns and their kinds come from relsynth's Schema rather than
SyntheRela's metadata; personal data (names, e-mails, addresses) and free text are dropped, not
only ids (relsynth generates them with Faker by design; as one-hot they only add noise), as are
kinds relsynth cannot learn; a categorical column stored as a number is one-hot encoded (SyntheRela
goes by pandas dtype and would treat it as a number); one-hot keeps a column's 100 most frequent
levels (the rest as one "other" column); a composite FK gets no aggregates; a table whose
classifier sees more than --max-table-rows rows per side is sampled to that many (stated); and
with --max-rows the real data and each synthetic output are cut to that many root rows per root
table with all their descendants before anything is scored (stated).

Also per case: sdmetrics' multi-table QualityReport (overall, Column Shapes, Column Pair Trends,
Cardinality, Intertable Trends) with SDV metadata from relsynth.sdv_engine.metadata; "KS" is the
mean KSComplement of the numerical and datetime columns (from the Column Shapes details); TSTR is
relsynth.evaluation.learn.utility on one target column (train on synthetic, test on a real 30%;
macro F1 for a category, R squared for a number; synthetic labels the real data never holds become
one class), printed as TSTR/TRTR; and the fit+sample seconds.
Reference tables (copied verbatim by relsynth) get aggregation detection only.
Deterministic for a given --seed (up to sdmetrics' own sampling in Column Pair Trends).
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from common import DB_SCHEMAS, PG_DB, drop_database, load_dataset

try:
    import xgboost
except ImportError:
    sys.exit("bench_fidelity.py needs xgboost: pip install -e '.[bench]' (or pip install 'xgboost>=2')")

from relsynth.graph import Plan
from relsynth.schema import Kind, Schema, Table

PREFIX = os.environ.get("RELSYNTH_BENCH_PREFIX") or "rs_bench_fid_"  # helpers running beside: their own
CHAIN = ["customer", "invoice", "invoice_line"]
HUB = ["playlist", "playlist_track", "track", "invoice_line", "invoice"]
CASES = ["chain", "hub", "northwind", "omop_synthea27nj", "synthea_csv_11p", "diabetes130"]
# One target per dataset for TSTR (table, column); a dataset without one is skipped (OMOP: its
# categorical columns are keys into the concept table, which relsynth's utility leaves out).
TARGETS: dict[str, tuple[str, str]] = {
    "chain": ("invoice", "billing_country"),
    "hub": ("track", "milliseconds"),
    "northwind": ("orders", "freight"),
    "synthea_csv_11p": ("encounters", "encounterclass"),
    "diabetes130": ("encounter", "readmitted"),
}
PROPS = ["Column Shapes", "Column Pair Trends", "Cardinality", "Intertable Trends"]
ENGINES = ["relsynth", "shuffle", "resample", "sdv"]
MAX_LEVELS = 100  # one-hot levels kept per categorical column
FOLDS = 5
SHOW_ABOVE = 0.65  # print the classifier's top features where relsynth's accuracy exceeds this


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Cases: a dataset (or a Chinook subset at a size) read into frames
# --------------------------------------------------------------------------------------------


@dataclass
class Case:
    label: str
    key: str  # entry of CASES / TARGETS
    schema: Schema
    plan: Plan
    frames: dict[str, pd.DataFrame]
    notes: list[str] = field(default_factory=list)

    @property
    def data_tables(self) -> list[str]:
        return [n for n in self.plan.order if n in self.frames and self.plan[n].role == "data"]

    @property
    def tables(self) -> list[str]:
        return [n for n in self.plan.order if n in self.frames]


def read(url: str, db_schema: str | None, include: list[str] | None = None) -> tuple[Schema, Plan, Any]:
    """The schema, plan and frames relsynth.fit(url) would learn from (its own reader)."""
    import relsynth
    from relsynth.io import connect
    from relsynth.read import read_tables

    schema = relsynth.reflect(url, schema=db_schema, include=include or ())
    plan = relsynth.api.plan(schema)
    with connect(url, read_only=True) as conn:
        frames = read_tables(conn, schema, plan).frames
    return schema, plan, frames


def chinook_cases(url: str, which: list[str], sizes: list[int]) -> list[Case]:
    from replica import replicate

    import relsynth

    out = []
    if "chain" in which:
        schema, plan, frames = read(url, None, CHAIN)
        for k in sizes:
            copies = replicate(schema, plan, frames, ["customer"], k)
            out.append(Case(f"chinook chain {k}x", "chain", schema, plan, copies))
    if "hub" in which:
        schema, _, frames = read(url, None, HUB)
        schema = schema.replace_table(replace(schema.table("playlist_track"), primary_key=()))
        plan = relsynth.api.plan(schema)
        case = Case("chinook hub", "hub", schema, plan, frames)
        case.notes.append("playlist_track's composite primary key removed for every engine (SDV needs it)")
        out.append(case)
    return out


# --------------------------------------------------------------------------------------------
# Families: the trees of rows under each root table, for resample and --max-rows
# --------------------------------------------------------------------------------------------


def _fk_parent_map(case: Case) -> dict[str, Any]:
    """table -> the single-column FK that ties it to its family (its context), or None for a root."""
    via: dict[str, Any] = {}
    for name in case.data_tables:
        ctx = case.plan[name].context
        if ctx is None or ctx.ref_table == name or ctx.ref_table not in case.frames:
            via[name] = None
        elif len(ctx.columns) == 1 and case.plan[ctx.ref_table].role == "data":
            via[name] = ctx
        else:
            via[name] = None  # composite context: treated as its own root
    return via


def families(
    case: Case,
    tables: dict[str, pd.DataFrame],
    rng: np.random.Generator,
    n_roots: int | None,
    bootstrap: bool,
) -> dict[str, pd.DataFrame]:
    """Root rows drawn (with replacement if ``bootstrap``, else n_roots of them without), each with
    all its descendants along context FKs. A family that tables of another family point into
    (organizations, providers, tracks: shared lookups) is kept whole, keys unchanged, so those
    references stay as they are. With bootstrap every single-column key of a drawn family is
    renumbered, and an FK inside the family points to the row of the same copy."""
    via = _fk_parent_map(case)
    root_of: dict[str, str] = {}
    for name in [n for n in case.plan.order if n in via]:
        fk = via[name]
        root_of[name] = name if fk is None else root_of.get(fk.ref_table, name)
    shared = {
        root_of[fk.ref_table]
        for name in root_of
        for fk in case.schema.table(name).foreign_keys
        if len(fk.columns) == 1 and fk.ref_table in root_of and root_of[fk.ref_table] != root_of[name]
    }
    out = {n: f for n, f in tables.items()}
    pairs: dict[str, pd.DataFrame] = {}  # table -> (__old, __new, __copy) of every row's primary key
    copies: dict[str, np.ndarray] = {}  # table -> each row's copy of its family root
    for name in [n for n in root_of if n in tables and root_of[n] not in shared]:
        table, base, fk = case.schema.table(name), tables[name].reset_index(drop=True), via[name]
        pk = table.primary_key[0] if len(table.primary_key) == 1 else None
        if fk is None:
            if bootstrap:
                pick = rng.integers(0, len(base), len(base))
            elif n_roots is not None and len(base) > n_roots:
                pick = np.sort(rng.choice(len(base), n_roots, replace=False))
            else:
                pick = np.arange(len(base))
            part = base.iloc[pick].reset_index(drop=True)
            copy = np.arange(len(part))
        elif fk.ref_table not in pairs:
            continue  # parent without a single-column key: kept whole
        else:
            col = fk.columns[0]
            part = base.merge(pairs[fk.ref_table], left_on=col, right_on="__old", how="inner")
            part = part.sort_values("__new", kind="stable").reset_index(drop=True)
            part[col] = part["__new"].to_numpy()
            copy = part["__copy"].to_numpy()
            part = part.drop(columns=["__old", "__new", "__copy"])
        copies[name] = copy
        if pk is not None:
            new = np.arange(1, len(part) + 1, dtype=np.int64) if bootstrap else part[pk].to_numpy()
            pairs[name] = pd.DataFrame({"__old": part[pk].to_numpy(), "__new": new, "__copy": copy})
            if bootstrap:
                part = part.copy()
                part[pk] = new
        out[name] = part[list(base.columns)]
    if bootstrap:
        for name in copies:
            for other in case.schema.table(name).foreign_keys:
                if len(other.columns) == 1 and other.ref_table in pairs and other != via[name]:
                    col = other.columns[0]
                    out[name] = out[name].copy()
                    out[name][col] = _remap(out[name][col], copies[name], pairs[other.ref_table], rng)
    return out


def _remap(values: pd.Series, copy: np.ndarray, pairs: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
    """Old keys to the new key of the same family copy; else to a random copy of the old row;
    else (the row was not drawn) to a random new key."""
    if not len(pairs):
        return values
    numeric = pd.api.types.is_numeric_dtype(values) and pd.api.types.is_numeric_dtype(pairs["__old"])

    def norm(v: pd.Series) -> np.ndarray:  # one comparable type on both sides of the merge
        return v.astype(float).to_numpy() if numeric else v.astype(str).to_numpy()

    pairs = pairs.assign(__old=norm(pairs["__old"]))
    old = pd.Series(norm(values), index=values.index)
    frame = pd.DataFrame({"__old": old.to_numpy(), "__copy": copy})
    same = frame.merge(pairs.drop_duplicates(["__old", "__copy"]), on=["__old", "__copy"], how="left")
    mapped = pd.Series(same["__new"].to_numpy(), index=values.index, dtype=float)
    first = pairs.iloc[rng.permutation(len(pairs))].drop_duplicates("__old")
    any_copy = old.map(pd.Series(first["__new"].to_numpy(), index=first["__old"].to_numpy()))
    mapped = mapped.where(mapped.notna(), any_copy.astype(float))
    lost = mapped.isna() & values.notna()
    mapped[lost] = rng.choice(pairs["__new"].to_numpy(), int(lost.sum()))
    return mapped.astype("int64") if mapped.notna().all() else mapped


def shuffled(case: Case, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    out = {}
    for name, frame in case.frames.items():
        table = case.schema.table(name)
        if case.plan[name].role != "data":
            out[name] = frame
            continue
        keys = set(table.primary_key) | table.fk_columns()
        part = frame.copy()
        for col in part.columns:
            if col not in keys:
                part[col] = frame[col].iloc[rng.permutation(len(frame))].to_numpy()
        out[name] = part
    return out


# --------------------------------------------------------------------------------------------
# Detection (SyntheRela's C2ST and C2ST-Agg)
# --------------------------------------------------------------------------------------------


def feature_columns(table: Table, frame: pd.DataFrame) -> list[str]:
    from relsynth.evaluation.features import comparable_columns

    return comparable_columns(table, frame)


def aggregates(case: Case, name: str, tables: dict[str, pd.DataFrame]) -> pd.DataFrame | None:
    """Per row of ``name``: child counts, numerical means and categorical distinct counts of each
    child table (one column set per FK into ``name``); None if no table of the case points to it."""
    parent = tables[name]
    table = case.schema.table(name)
    out: dict[str, np.ndarray] = {}
    found = False
    for child_name in case.tables:
        if child_name not in tables:
            continue
        child_t = case.schema.table(child_name)
        for fk in child_t.foreign_keys:
            if fk.ref_table != name or len(fk.columns) != 1:
                continue
            found = True
            ref = fk.ref_columns[0] if fk.ref_columns else table.primary_key[0]
            keys = parent[ref]
            child = tables[child_name]
            col = fk.columns[0]
            prefix = f"{child_name}.{col}"
            counts = child[col].value_counts()
            out[f"{prefix}:count"] = keys.map(counts).fillna(0).astype(float).to_numpy()
            kinds = {c.name: c.kind for c in child_t.columns}
            for c in feature_columns(child_t, child):
                if kinds[c] is Kind.CATEGORICAL:
                    nunique = child.groupby(col)[c].nunique()
                    out[f"{prefix}:{c}:nunique"] = keys.map(nunique).fillna(0).astype(float).to_numpy()
                elif kinds[c] is Kind.NUMERICAL:
                    values = pd.to_numeric(child[c], errors="coerce").astype(float)
                    mean = values.groupby(child[col]).mean()
                    out[f"{prefix}:{c}:mean"] = keys.map(mean).astype(float).to_numpy()
    return pd.DataFrame(out, index=parent.index) if found else None


def _as_datetime(values: pd.Series) -> pd.Series | None:
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = values
    else:
        sample = values.dropna()
        if len(sample) and all(hasattr(v, "hour") and not hasattr(v, "year") for v in sample.head(20)):
            seconds = values.map(lambda v: None if v is None else v.hour * 3600 + v.minute * 60 + v.second)
            return pd.to_numeric(seconds, errors="coerce").astype(float).rename("__time__")
        try:
            stamps = pd.to_datetime(values, errors="coerce", utc=True)
        except (TypeError, ValueError):
            return None
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps


def encode(
    real: pd.DataFrame, synth: pd.DataFrame, table: Table
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Both sides as numbers, SyntheRela's way; and each encoded column's source feature."""
    kinds = {c.name: c.kind for c in table.columns}
    out_r: dict[str, Any] = {}
    out_s: dict[str, Any] = {}
    source: dict[str, str] = {}
    for col in real.columns:
        kind = kinds.get(col, Kind.NUMERICAL)  # aggregates are numbers
        r, s = real[col], synth[col]
        if kind is Kind.DATETIME:
            rd, sd = _as_datetime(r), _as_datetime(s)
            if rd is None or sd is None:
                continue
            if rd.name == "__time__":
                out_r[col], out_s[col], source[col] = rd.to_numpy(), sd.to_numpy(), col
                continue
            both = pd.concat([rd, sd])
            parts = ["year", "month", "day"] + [
                p for p in ("hour", "minute", "second") if (getattr(both.dt, p).fillna(0) != 0).any()
            ]
            for p in parts:
                name = f"{col}_{p}"
                out_r[name] = getattr(rd.dt, p).astype(float).to_numpy()
                out_s[name] = getattr(sd.dt, p).astype(float).to_numpy()
                source[name] = col
        elif kind is Kind.CATEGORICAL and not pd.api.types.is_bool_dtype(r):
            rs = r.astype(object).where(r.notna(), "<NULL>").astype(str)
            ss = s.astype(object).where(s.notna(), "<NULL>").astype(str)
            top = pd.concat([rs, ss]).value_counts()
            levels = list(top.index[:MAX_LEVELS])
            for i, level in enumerate(levels):
                name = f"{col}_{i}"
                out_r[name] = (rs == level).astype(float).to_numpy()
                out_s[name] = (ss == level).astype(float).to_numpy()
                source[name] = col
            if len(top) > MAX_LEVELS:
                name = f"{col}_other"
                out_r[name] = (~rs.isin(levels)).astype(float).to_numpy()
                out_s[name] = (~ss.isin(levels)).astype(float).to_numpy()
                source[name] = col
        else:  # numbers, booleans, aggregates
            out_r[col] = pd.to_numeric(r.astype(object), errors="coerce").astype(float).to_numpy()
            out_s[col] = pd.to_numeric(s.astype(object), errors="coerce").astype(float).to_numpy()
            source[col] = col
    return pd.DataFrame(out_r), pd.DataFrame(out_s), source


@dataclass
class Detection:
    accuracy: float = math.nan
    se: float = math.nan
    rows: int = 0  # per side
    capped: bool = False
    importances: dict[str, float] = field(default_factory=dict)
    error: str = ""
    floor: float = math.nan  # the best accuracy one categorical column allows alone (column_floor)
    floor_column: str = ""


def detect(
    case: Case,
    name: str,
    real: dict[str, pd.DataFrame],
    synth: dict[str, pd.DataFrame],
    with_aggregates: bool,
    seed: int,
    max_rows: int,
) -> Detection:
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    table = case.schema.table(name)
    if name not in synth or not len(synth[name]) or not len(real[name]):
        return Detection(error="no rows")
    cols = feature_columns(table, real[name])
    r = real[name][cols].reset_index(drop=True)
    s = synth[name][cols].reset_index(drop=True)
    if with_aggregates:
        ra, sa = aggregates(case, name, real), aggregates(case, name, synth)
        if ra is None or sa is None:
            return Detection(error="no children")
        r = pd.concat([r, ra.reset_index(drop=True)], axis=1)
        s = pd.concat([s, sa.reset_index(drop=True)], axis=1)
    if not r.shape[1]:
        return Detection(error="no comparable column")
    n = min(len(r), len(s))
    capped = n > max_rows
    n = min(n, max_rows)
    r = r.sample(n, random_state=seed).reset_index(drop=True)
    s = s.sample(n, random_state=seed + 1).reset_index(drop=True)
    floor, floor_column = column_floor(r, s, table)
    xr, xs, source = encode(r, s, table)
    x = pd.concat([xr, xs], ignore_index=True).replace([np.inf, -np.inf], np.nan)
    y = np.concatenate([np.zeros(len(xr), dtype=int), np.ones(len(xs), dtype=int)])
    if x.shape[1] > 1:
        x = x.loc[:, x.nunique() > 1]
    if not x.shape[1] or n < FOLDS:
        return Detection(error="nothing to learn from", rows=n)
    order = np.random.RandomState(seed).permutation(len(y))
    x, y = x.iloc[order].reset_index(drop=True), y[order]
    hits: list[int] = []
    importance = np.zeros(x.shape[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for train, test in StratifiedKFold(n_splits=FOLDS).split(x, y):
            model = Pipeline(
                [
                    ("imputer", SimpleImputer()),
                    ("scaler", StandardScaler()),
                    ("clf", xgboost.XGBClassifier(seed=seed, n_jobs=THREADS, verbosity=0)),
                ]
            )
            model.fit(x.iloc[train], y[train])
            pred = model.predict_proba(x.iloc[test]).argmax(axis=1)
            hits.extend((pred == y[test]).astype(int).tolist())
            # SimpleImputer drops all-NaN columns in a fold: align importances by kept names
            kept = model["imputer"].get_feature_names_out(list(x.columns))
            fold = dict(zip(kept, model["clf"].feature_importances_, strict=True))
            importance += np.array([fold.get(c, 0.0) for c in x.columns])
    grouped: dict[str, float] = {}
    for col, value in zip(x.columns, importance / FOLDS, strict=True):
        key = source[col]
        grouped[key] = grouped.get(key, 0.0) + float(value)
    h = np.array(hits, dtype=float)
    return Detection(
        accuracy=float(h.mean()),
        se=float(h.std() / math.sqrt(len(h))),
        rows=n,
        capped=capped,
        importances=dict(sorted(grouped.items(), key=lambda kv: -kv[1])),
        floor=floor,
        floor_column=floor_column,
    )


def column_floor(real: pd.DataFrame, synth: pd.DataFrame, table: Table) -> tuple[float, str]:
    """The accuracy a classifier reaches from one categorical column alone, at best: 0.5 + TV / 2,
    TV the total variation distance between the column's values on the two sides (equal row
    counts), values held by one row of a side pooled into one "seen once" value (a classifier
    can only learn that such a row holds no common value). Where rare values are withheld
    (--rare-k), the real rows holding them count in full: no synthesizer that withholds them can
    score below this on that column."""
    kinds = {c.name: c.kind for c in table.columns}
    best, name = 0.5, ""
    for col in real.columns:
        if kinds.get(col) is not Kind.CATEGORICAL or col not in synth:
            continue
        shares = []
        for side in (real[col], synth[col]):
            values = side.astype(object).where(side.notna(), "<NULL>").astype(str)
            counts = values.value_counts()
            once = counts.index[counts == 1]
            values = values.where(~values.isin(once), "<seen once>")
            shares.append(values.value_counts(normalize=True))
        tv = 0.5 * float(shares[0].sub(shares[1], fill_value=0.0).abs().sum())
        if 0.5 + tv / 2 > best:
            best, name = 0.5 + tv / 2, col
    return best, name


# --------------------------------------------------------------------------------------------
# sdmetrics QualityReport, KS, TSTR
# --------------------------------------------------------------------------------------------


def quality(case: Case, tables: dict[str, pd.DataFrame], real: dict[str, pd.DataFrame]) -> dict[str, Any]:
    from sdmetrics.reports.multi_table import QualityReport

    from relsynth import sdv_engine

    try:
        meta = sdv_engine.metadata(case.schema, case.plan).to_dict()
        r, s = {}, {}
        for name, spec in meta["tables"].items():
            cols = list(spec["columns"])
            r[name] = real[name][cols].reset_index(drop=True)
            s[name] = tables[name][cols].reset_index(drop=True)
        for rel in meta["relationships"]:  # sdmetrics wants a key and its FK both text or both not
            parent, child = rel["parent_table_name"], rel["child_table_name"]
            key, fk = rel["parent_primary_key"], rel["child_foreign_key"]
            for side in (r, s):
                if side[parent][key].dtype != object and side[child][fk].dtype == object:
                    side[child][fk] = pd.to_numeric(side[child][fk], errors="coerce")
                elif side[parent][key].dtype == object and side[child][fk].dtype != object:
                    side[child][fk] = side[child][fk].astype(object)
        report = QualityReport()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report.generate(r, s, meta, verbose=False)
        props = report.get_properties()
        scores = {str(p): float(v) for p, v in zip(props["Property"], props["Score"], strict=True)}
        shapes = report.get_details("Column Shapes")
        ks = shapes[shapes["Metric"] == "KSComplement"]["Score"]
        return {
            "overall": float(report.get_score()),
            **scores,
            "KS": float(ks.mean()) if len(ks) else math.nan,
        }
    except Exception as err:
        return {"error": f"sdmetrics failed: {type(err).__name__}"}  # no message: it can quote data


def tstr(case: Case, tables: dict[str, pd.DataFrame], real: dict[str, pd.DataFrame], seed: int) -> str:
    from relsynth.evaluation import learn

    target = TARGETS.get(case.key)
    if target is None or target[0] not in real or target[1] not in real[target[0]].columns:
        return "-"
    name, column = target
    table = case.schema.table(name)
    cols = feature_columns(table, real[name])
    if column not in cols:
        return "-"
    synth = tables[name]
    if table.column(column).kind is not Kind.NUMERICAL:
        # a synthetic label the real data never holds can only be a wrong answer: one class for all
        # of them, so thousands of generated labels do not make thousands of classes
        seen = set(real[name][column].dropna().tolist())
        unseen = synth[column].notna() & ~synth[column].isin(seen)
        if unseen.any():
            synth = synth.copy()
            synth[column] = synth[column].astype(object).where(~unseen, "(unseen)")
    try:
        res = learn.utility(table, real[name], synth, cols, column, np.random.default_rng(seed))
    except Exception as err:
        return f"error {type(err).__name__}"
    if not res.get("available"):
        return "n/a"
    return f"{res['tstr']:.3f}/{res['trtr']:.3f}"


# --------------------------------------------------------------------------------------------
# Running one case
# --------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    tables: dict[str, pd.DataFrame] | None = None
    seconds: float = math.nan
    error: str = ""


def run_engines(case: Case, seed: int, skip_sdv: bool) -> dict[str, Outcome]:
    import relsynth
    from relsynth import sdv_engine

    out: dict[str, Outcome] = {}
    started = time.perf_counter()
    try:
        model = relsynth.fit(case.frames, schema=case.schema, seed=seed, rare_k=RARE_K)
        synth = relsynth.sample(model, scale=1.0, seed=seed)
        out["relsynth"] = Outcome(synth, time.perf_counter() - started)
    except Exception as err:
        out["relsynth"] = Outcome(error=f"{type(err).__name__} at {_where(err)}")
    log(f"[{case.label}] relsynth fit+sample {out['relsynth'].seconds:.1f} s")
    rng = np.random.default_rng(seed)
    out["shuffle"] = Outcome(shuffled(case, rng), 0.0)
    out["resample"] = Outcome(families(case, case.frames, rng, None, bootstrap=True), 0.0)
    hit = sdv_engine.limits(case.schema, case.plan)
    if skip_sdv:
        out["sdv"] = Outcome(error="skipped")
    elif hit:
        out["sdv"] = Outcome(error="refused")
        case.notes.append("SDV refuses: " + "; ".join(hit))
    else:
        started = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sdv_model = relsynth.fit(case.frames, schema=case.schema, seed=seed, engine="sdv")
                tables = relsynth.sample(sdv_model, scale=1.0, seed=seed)
            out["sdv"] = Outcome(tables, time.perf_counter() - started)
            log(f"[{case.label}] SDV fit+sample {out['sdv'].seconds:.1f} s")
        except Exception as err:
            out["sdv"] = Outcome(error=f"failed: {type(err).__name__}")
            # the type and place only: an error message can quote data values
            case.notes.append(f"SDV failed: {type(err).__name__} at {_where(err)}")
    return out


def _where(err: BaseException) -> str:
    frames = traceback.extract_tb(err.__traceback__)
    inside = [f for f in frames if "relsynth" in f.filename] or frames
    return f"{os.path.relpath(inside[-1].filename)}:{inside[-1].lineno}" if inside else "?"


@dataclass
class Result:
    case: Case
    outcomes: dict[str, Outcome]
    agg: dict[tuple[str, str], Detection] = field(default_factory=dict)  # (engine, table)
    single: dict[tuple[str, str], Detection] = field(default_factory=dict)
    quality: dict[str, dict[str, Any]] = field(default_factory=dict)
    tstr: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def run_case(case: Case, args: argparse.Namespace) -> Result:
    started = time.perf_counter()
    outcomes = run_engines(case, args.seed, args.no_sdv)
    result = Result(case, outcomes)
    rng = np.random.default_rng(args.seed + 1)
    real = case.frames
    if args.max_rows:
        before = {n: len(f) for n, f in real.items()}
        real = families(case, real, rng, args.max_rows, bootstrap=False)
        if any(len(real[n]) < before[n] for n in real):
            case.notes.append(
                f"--max-rows {args.max_rows}: scored on {args.max_rows} root rows per root table with their "
                "descendants, for the real data and each output"
            )
    for engine in ENGINES:
        outcome = outcomes[engine]
        if outcome.tables is None:
            continue
        synth = outcome.tables
        if args.max_rows:
            synth = families(case, synth, rng, args.max_rows, bootstrap=False)
        for name in case.tables:
            if name not in synth:
                continue
            agg = detect(case, name, real, synth, True, args.seed, args.max_table_rows)
            if not agg.error:
                result.agg[(engine, name)] = agg
            if case.plan[name].role == "data":
                result.single[(engine, name)] = detect(
                    case, name, real, synth, False, args.seed, args.max_table_rows
                )
        log(f"[{case.label}] {engine}: detection done")
        if not args.no_quality:
            result.quality[engine] = quality(case, synth, real)
            log(f"[{case.label}] {engine}: quality done")
        result.tstr[engine] = tstr(case, synth, real, args.seed)
    capped = sorted({n for (_, n), d in [*result.agg.items(), *result.single.items()] if d.capped})
    if capped:
        case.notes.append(
            f"--max-table-rows {args.max_table_rows}: the classifier saw that many rows per side of "
            + ", ".join(capped)
        )
    result.seconds = time.perf_counter() - started
    return result


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def _acc(d: Detection | None, se: bool = False) -> str:
    if d is None:
        return "-"
    if d.error:
        return d.error if len(d.error) < 12 else "n/a"
    return f"{d.accuracy:.3f}±{d.se:.3f}" if se else f"{d.accuracy:.3f}"


def print_result(res: Result) -> None:
    case, out = res.case, res.outcomes
    print(
        f"\n## {case.label}  ({sum(len(f) for f in case.frames.values()):,} real rows; "
        f"case {res.seconds:.0f} s)"
    )
    for engine in ENGINES:
        if out[engine].error and engine != "sdv":
            print(f"  {engine}: {out[engine].error}")
    sdv_state = out["sdv"].error if out["sdv"].tables is None else None
    header = (
        "| table | rows | agg relsynth | agg shuffle | agg resample | agg SDV "
        "| single relsynth | single shuffle | single resample | single SDV |"
    )
    print(header)
    print("|" + "---|" * 10)
    for name in case.tables:
        if not any((e, name) in res.agg or (e, name) in res.single for e in ENGINES):
            continue
        role = " (ref)" if case.plan[name].role == "reference" else ""
        cells = [f"{name}{role}", f"{len(case.frames[name]):,}"]
        for kind, table in (("agg", res.agg), ("single", res.single)):
            for engine in ENGINES:
                if engine == "sdv" and sdv_state:
                    cells.append(sdv_state)
                    continue
                cells.append(_acc(table.get((engine, name)), se=engine == "relsynth"))
            del kind
        print("| " + " | ".join(cells) + " |")
    print()
    print("| engine | overall | shapes | pairs | card | inter | KS | TSTR/TRTR | fit+sample s |")
    print("|" + "---|" * 9)
    for engine in ENGINES:
        if out[engine].tables is None:
            print(f"| {engine} | {out[engine].error} |" + " |" * 7)
            continue
        q = res.quality.get(engine, {})
        if "error" in q:
            cells = [q["error"][:60], "", "", "", "", ""]
        else:
            cells = [_num(q.get("overall")), *[_num(q.get(p)) for p in PROPS], _num(q.get("KS"))]
        secs = f"{out[engine].seconds:.1f}" if engine in {"relsynth", "sdv"} else "-"
        print(f"| {engine} | " + " | ".join(cells) + f" | {res.tstr.get(engine, '-')} | {secs} |")
    target = TARGETS.get(case.key)
    if target:
        print(f"TSTR target: {target[0]}.{target[1]}")
    for note in case.notes:
        print(f"note: {note}")
    print(
        "note: resample shares whole real rows with the real data, so its accuracy can fall below 0.5 "
        "(the classifier learns a row's label in training and meets its copy with the other label)"
    )
    shown = False
    for kind, table in (("agg", res.agg), ("single", res.single)):
        for (engine, name), d in table.items():
            if engine != "relsynth" or d.error or d.accuracy <= SHOW_ABOVE:
                continue
            if not shown:
                print(f"What gives relsynth away (accuracy > {SHOW_ABOVE}; top 5 feature importances):")
                shown = True
            top = ", ".join(f"{k} {v:.2f}" for k, v in list(d.importances.items())[:5])
            alone = f"; {d.floor_column} alone allows {d.floor:.3f}" if d.floor_column else ""
            print(f"  {name} [{kind} {d.accuracy:.3f}{alone}]: {top}")
    sys.stdout.flush()


def _num(value: Any) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


THREADS = 1
RARE_K = 5  # relsynth's default; --rare-k 1 shows what withholding rare categories costs


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=CASES, help="case to run (repeatable)")
    parser.add_argument("--quick", action="store_true", help="Chinook chain 1x only (a smoke run)")
    parser.add_argument("--big", action="store_true", help="also the chain at 16x")
    parser.add_argument("--sizes", help="the chain's sizes, e.g. 16 or 1,4,16 (default 1,4)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-rows", type=int, default=0, help="score on N root rows per root table + descendants (0: all)"
    )
    parser.add_argument(
        "--max-table-rows", type=int, default=20000, help="rows per side the classifier sees at most"
    )
    parser.add_argument("--threads", type=int, default=1, help="XGBoost threads (the machine is shared)")
    parser.add_argument("--rare-k", type=int, default=5, help="relsynth.fit(rare_k=...); 5 is its default")
    parser.add_argument("--no-sdv", action="store_true", help="skip SDV")
    parser.add_argument("--no-quality", action="store_true", help="skip sdmetrics' QualityReport")
    parser.add_argument("--keep", action="store_true", help="keep the rs_bench_fid_* databases")
    return parser.parse_args()


def loaded(name: str, keep: bool, body: Callable[[str], None]) -> None:
    db = PREFIX + name
    log(f"[{name}] loading into {db}")
    try:
        seconds = load_dataset(name, db)
        log(f"[{name}] loaded in {seconds:.1f} s")
        body(PG_DB.format(db=db))
    except subprocess.CalledProcessError as err:
        print(f"\n## {name}: load failed: {err.stderr.strip()[-300:]}")
    finally:
        if not keep:
            drop_database(db)


def main() -> int:
    global THREADS, RARE_K
    args = parse_args()
    THREADS, RARE_K = args.threads, args.rare_k
    which = ["chain"] if args.quick else (args.only or CASES)
    sizes = [1] if args.quick else [1, 4, 16] if args.big else [1, 4]
    if args.sizes and not args.quick:
        sizes = [int(k) for k in args.sizes.split(",")]
    started = time.perf_counter()
    print(
        f"bench_fidelity: seed {args.seed}, xgboost {xgboost.__version__}, "
        f"max-rows {args.max_rows or 'all'}, rare-k {args.rare_k}, "
        f"max-table-rows {args.max_table_rows}; accuracy 0.5 = indistinguishable"
    )
    failed = 0

    def run(case: Case) -> None:
        nonlocal failed
        log(f"[{case.label}] {len(case.frames)} tables, {sum(len(f) for f in case.frames.values()):,} rows")
        try:
            print_result(run_case(case, args))
        except Exception as err:
            failed += 1
            print(f"\n## {case.label}: FAILED {type(err).__name__} at {_where(err)}")
            traceback.print_exc(file=sys.stderr)

    if {"chain", "hub"} & set(which):

        def chinook(url: str) -> None:
            for case in chinook_cases(url, [w for w in which if w in {"chain", "hub"}], sizes):
                run(case)

        loaded("chinook", args.keep, chinook)
    for name in [w for w in which if w not in {"chain", "hub"}]:

        def whole(url: str, name: str = name) -> None:
            schema, plan, frames = read(url, DB_SCHEMAS.get(name))
            run(Case(name, name, schema, plan, frames))

        loaded(name, args.keep, whole)
    print(f"\nwall-clock {time.perf_counter() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
