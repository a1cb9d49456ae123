"""Values at the ends of their types' domains: doubles at +-1.797e308, reals at +-3.4e38, numeric(p, s)
at +-(10^(p-s) - 10^-s) (p up to 38), dates and timestamps at 0001-01-01 and 9999-12-31 (outside
pandas' nanosecond range, 1677-2262). Synthesized on PostgreSQL, MariaDB and SQLite, every value
written must be valid for its column (finite, NOT NULL kept, within precision, a real date) and lie
within the range learned from the source. The encoders are also tested alone, on more values than
they keep as quantile knots.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from relsynth.model import marginals
from relsynth.model.generate import nudge_value
from relsynth.model.spec import ColumnSpec, Dim
from relsynth.transform import (
    N_KNOTS,
    Continuous,
    Temporal,
    decimals_of,
    fit_numeric,
    from_seconds,
    to_epoch_seconds,
)
from tests.adversarial import ColSpec, DbSpec, FkSpec, TableSpec, run

DBL_MAX = 1.7976931348623157e308
DBL_MIN = 2.2250738585072014e-308  # the smallest normal double
FLT_MAX = 3.4028234663852886e38
FIRST_DAY, LAST_DAY = dt.date(1, 1, 1), dt.date(9999, 12, 31)
FIRST_TS, LAST_TS = dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59)


def _doubles(n: int, seed: int) -> np.ndarray:
    rng = random.Random(seed)
    body = [round(rng.gauss(100, 50), rng.randint(0, 6)) for _ in range(n - 4)]
    return np.array([DBL_MAX, -DBL_MAX, DBL_MIN, 0.0, *body])


# -- the encoders alone -----------------------------------------------------------------------------
@pytest.mark.parametrize("n", [40, N_KNOTS + 200])
def test_continuous_keeps_huge_doubles_finite_and_in_range(n: int) -> None:
    x = _doubles(n, seed=n)
    enc = fit_numeric(pd.Series(x))
    assert isinstance(enc, Continuous) and enc.smooth
    assert np.isfinite(enc.knots).all()
    rng = np.random.default_rng(0)
    out = np.asarray(enc.decode(rng.standard_normal(20_000), rng), dtype=float)
    assert np.isfinite(out).all()
    assert out.min() >= -DBL_MAX and out.max() <= DBL_MAX
    # both tails are reached: the extremes are modelled, not dropped
    assert (out < -1e300).any() and (out > 1e300).any()
    # ordinary values keep their decimals (the extremes do not make every value a whole number)
    body = out[np.abs(out) < 1e6]
    assert len(body) and not np.all(body == np.round(body))


def test_decimals_ignore_values_too_large_to_have_any() -> None:
    assert decimals_of(np.array([DBL_MAX, -DBL_MAX, 1.25, 3.5])) == 2
    assert decimals_of(np.array([DBL_MAX, 7.0])) == 0


def test_infinite_doubles_stay_infinite_never_nan() -> None:
    """PostgreSQL's double precision holds +-Infinity: they come back as themselves, never as NaN."""
    x = np.concatenate([[np.inf, -np.inf], np.arange(N_KNOTS + 10, dtype=float) / 4])
    enc = fit_numeric(pd.Series(x))
    rng = np.random.default_rng(2)
    out = np.asarray(enc.decode(rng.standard_normal(50_000), rng), dtype=float)
    assert not np.isnan(out).any()
    finite = out[np.isfinite(out)]
    assert finite.min() >= 0 and finite.max() <= x[np.isfinite(x)].max()


@pytest.mark.parametrize("n", [40, marginals.KNOTS + 100])
def test_json_number_marginals_keep_huge_values_finite(n: int) -> None:
    # Each extreme held by 5 rows: one row's extreme is pulled in (no knot points at one person).
    q = marginals.quantiles(np.concatenate([_doubles(n, seed=3), [DBL_MAX, -DBL_MAX] * 4]))
    rng = np.random.default_rng(3)
    out = marginals.draw(q, rng.random(20_000), rng)
    assert np.isfinite(out).all() and out.min() >= -DBL_MAX and out.max() <= DBL_MAX
    assert (out < -1e300).any() and (out > 1e300).any()


@pytest.mark.parametrize("top", [99999999999.9, 9.999999999999998e37, DBL_MAX, 32767.0])
def test_a_moved_value_stays_within_the_learned_range(top: float) -> None:
    """A synthetic row equal to a source record is moved a step (relsynth.model.generate): never out
    of the range the column was learned with, the type's own ends included."""
    rng = np.random.default_rng(5)
    x = np.concatenate([[-top, top], np.round(rng.normal(0, 100, 40), 1)])
    for enc in (fit_numeric(pd.Series(x)), fit_numeric(pd.Series([-top, top, 0.5] * 10))):
        dim = Dim("n", "value", enc, column="n")
        spec = ColumnSpec("n", "copula", decimals=1)
        for value, sign in ((top, 1), (-top, -1), (top, -1), (-top, 1)):
            moved = nudge_value(value, sign, spec, dim, x, rng)
            assert -top <= moved <= top and moved != value


@pytest.mark.parametrize(
    ("value", "sign"),
    [(LAST_DAY, 1), (FIRST_DAY, -1), (LAST_TS, 1), (FIRST_TS, -1), (dt.datetime(9999, 12, 31, 12), 1)],
)
def test_a_moved_date_stays_a_date(value: dt.date, sign: int) -> None:
    enc = Temporal.fit(pd.Series([FIRST_TS, LAST_TS, dt.datetime(2000, 1, 2)] * 3), output="datetime")
    dim = Dim("d", "value", enc, column="d")
    moved = nudge_value(
        value, sign, ColumnSpec("d", "copula"), dim, np.array([value]), np.random.default_rng(6)
    )
    assert type(moved) is type(value) and moved != value


FAR = [
    (pd.Series([FIRST_DAY, LAST_DAY, dt.date(2000, 1, 2)]), "date", None),
    (pd.Series([FIRST_TS, LAST_TS, dt.datetime(2000, 1, 2, 3, 4, 5)]), "datetime", None),
    (
        pd.Series(
            [dt.datetime(1, 1, 2, tzinfo=dt.UTC), dt.datetime(9999, 12, 30, 23, 59, 59, tzinfo=dt.UTC)]
        ),
        "datetime_tz",
        None,
    ),
    (pd.Series(["0001-01-01", "9999-12-31", "2000-01-02"]), "text", "%Y-%m-%d"),
    (pd.Series(["0001-01-01 00:00:00", "9999-12-31 23:59:59"]), "text", "%Y-%m-%d %H:%M:%S"),
    (pd.Series(["0001-01-01T00:00:00.5", "9999-12-31T23:59:59.25"]), "text", "%Y-%m-%dT%H:%M:%S.%f"),
]


@pytest.mark.parametrize(("values", "output", "fmt"), FAR)
def test_far_dates_round_trip_through_seconds(values: pd.Series, output: str, fmt: str | None) -> None:
    seconds = to_epoch_seconds(values, text_format=fmt)
    assert np.isfinite(seconds).all()
    assert list(from_seconds(seconds, output, fmt)) == list(values)


@pytest.mark.parametrize(("values", "output", "fmt"), FAR)
def test_far_dates_are_modelled_and_sampled_within_their_range(
    values: pd.Series, output: str, fmt: str | None
) -> None:
    many = pd.Series(list(values) * 20)  # enough rows for a continuous model, not levels
    enc = Temporal.fit(many, output=output, text_format=fmt)
    rng = np.random.default_rng(4)
    out = enc.decode(rng.standard_normal(5_000), rng)
    assert all(v is not None for v in out)
    first, last = min(values), max(values)
    if output == "text":
        parse = dt.date.fromisoformat if fmt == "%Y-%m-%d" else dt.datetime.fromisoformat
        assert all(parse(first) <= parse(v) <= parse(last) for v in out)
        assert all(dt.datetime.strptime(v.split(".")[0], fmt.split(".")[0]) for v in out)
    else:
        assert all(type(v) is type(first) and first <= v <= last for v in out)


# -- whole databases ---------------------------------------------------------------------------------
KINDS = ("doubles", "numerics", "dates")


def _extreme_spec(dialect: str, kind: str, *, rows: int = 60) -> DbSpec:
    """A parent and a child with the same columns of one kind, NOT NULL ones among them, the first
    two rows at the ends of their types: doubles (+-DBL_MAX, a real at +-FLT_MAX), numerics (numeric
    (12, 1), and numeric(38, x) but on SQLite, which keeps them as doubles) or dates (years 1 and
    9999: date, timestamp, PostgreSQL's timestamptz)."""
    rng = random.Random(11)
    cols = {
        "doubles": [ColSpec("x", "double", nullable=False), ColSpec("r", "real", nullable=False)],
        "numerics": [ColSpec("n", "numeric", nullable=False, length=12, scale=1)],
        "dates": [ColSpec("d", "date", nullable=False), ColSpec("ts", "timestamp")],
    }[kind]
    if kind == "numerics" and dialect != "sqlite":
        cols += [ColSpec("w", "numeric", length=38, scale=10), ColSpec("m", "numeric", length=38, scale=0)]
    if kind == "dates" and dialect == "postgresql":
        cols.append(ColSpec("tz", "timestamptz"))

    def value(col: ColSpec, i: int) -> Any:
        sign = 1 if i % 2 else -1
        day = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 30000))
        stamp = dt.datetime.combine(day, dt.time(rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)))
        edge = i < 2
        if col.type == "double":
            return (
                sign * DBL_MAX
                if edge
                else DBL_MIN
                if i == 2
                else round(rng.gauss(100, 50), rng.randint(0, 6))
            )
        if col.type == "real":
            return sign * FLT_MAX if edge else round(rng.uniform(-1000, 1000), 2)
        if col.type == "numeric":
            top = 10 ** (col.length or 0) - 1
            return (
                Decimal(f"{sign * top}E-{col.scale}") if edge else Decimal(rng.randint(-999999, 999999)) / 10
            )
        if col.type == "date":
            return (LAST_DAY if sign > 0 else FIRST_DAY) if edge else day
        if col.type == "timestamp":
            return (LAST_TS if sign > 0 else FIRST_TS) if edge else (None if i % 7 == 0 else stamp)
        far = dt.datetime(9999, 12, 30, 23, 59, 59) if sign > 0 else dt.datetime(1, 1, 2)
        return (far if edge else stamp).replace(tzinfo=dt.UTC)

    id_ = ColSpec("id", "integer", nullable=False)
    n_parents = rows // 3
    parent = TableSpec(
        "p",
        (id_, *cols),
        ("id",),
        rows=tuple((i + 1, *(value(c, i) for c in cols)) for i in range(n_parents)),
    )
    child = TableSpec(
        "c",
        (id_, ColSpec("p_id", "integer", nullable=False), *cols),
        ("id",),
        foreign_keys=(FkSpec(("p_id",), "p", ("id",)),),
        rows=tuple((i + 1, 1 + i % n_parents, *(value(c, i) for c in cols)) for i in range(rows)),
    )
    return DbSpec(dialect, (parent, child), seed=5)


def _as_comparable(v: Any) -> Any:
    """A value read back, comparable across dialects: SQLite's dates are ISO text."""
    if isinstance(v, str):
        return dt.datetime.fromisoformat(v) if len(v) > 10 else dt.date.fromisoformat(v)
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.UTC).replace(tzinfo=None)
    return v


def _column(url: str, table: str, column: str) -> list[Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            t = sa.table(table, sa.column(column))
            return [_as_comparable(r[0]) for r in conn.execute(sa.select(t.c[column]))]
    finally:
        engine.dispose()


def _range_problems(spec: DbSpec, source: str, target: str) -> list[str]:
    """Target values outside the source's range, non-finite numbers, dates that are not dates."""
    out = []
    for table in spec.tables:
        for col in table.columns:
            if col.name in {"id", "p_id"}:
                continue
            src = [v for v in _column(source, table.name, col.name) if v is not None]
            tgt = [v for v in _column(target, table.name, col.name) if v is not None]
            if col.type in {"date", "timestamp", "timestamptz"}:
                want = dt.date if col.type == "date" else dt.datetime
                if not all(isinstance(v, want) for v in tgt):
                    out.append(f"not a {want.__name__}: {table.name}.{col.name}")
                    continue
            elif not all(math.isfinite(float(v)) for v in tgt):
                out.append(f"not finite: {table.name}.{col.name}")
                continue
            if tgt and (min(tgt) < min(src) or max(tgt) > max(src)):
                out.append(f"outside the learned range: {table.name}.{col.name}")
    return out


def _databases(request: pytest.FixtureRequest, dialect: str, tmp_path: Path) -> tuple[str, str]:
    if dialect == "sqlite":
        return f"sqlite:///{tmp_path}/src.sqlite", f"sqlite:///{tmp_path}/tgt.sqlite"
    make: Callable[[], str] = request.getfixturevalue("pg_db" if dialect == "postgresql" else "mysql_db")
    return make(), make()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dialect", ["postgresql", "mysql", "sqlite"])
def test_extremes_synthesize_validly_within_their_range(
    dialect: str, kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    spec = _extreme_spec(dialect, kind)
    source, target = _databases(request, dialect, tmp_path)
    assert run(spec, source, target) == []
    assert _range_problems(spec, source, target) == []


@pytest.mark.parametrize("kind", KINDS)
def test_extremes_in_a_large_child_table_on_sqlite(kind: str, tmp_path: Path) -> None:
    """More rows than the encoders keep as knots: quantiles between +-DBL_MAX are taken too."""
    spec = _extreme_spec("sqlite", kind, rows=3 * N_KNOTS)
    source, target = f"sqlite:///{tmp_path}/src.sqlite", f"sqlite:///{tmp_path}/tgt.sqlite"
    assert run(spec, source, target) == []
    assert _range_problems(spec, source, target) == []


@pytest.mark.parametrize("dialect", ["postgresql", "mysql", "sqlite"])
def test_huge_doubles_of_a_small_child_table_stay_finite_and_not_null(
    dialect: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Nine children, two of them at +-DBL_MAX: few quantile knots, so the steps between them are
    as wide as the double's range (their differences overflowed, and the values became NaN, written
    as NULL into a NOT NULL column). Scaled up, so that many values are drawn between them."""
    x = _doubles(9, seed=8)
    parent = TableSpec(
        "p", (ColSpec("id", "integer", nullable=False),), ("id",), rows=tuple((i,) for i in range(1, 21))
    )
    child = TableSpec(
        "c",
        (
            ColSpec("id", "integer", nullable=False),
            ColSpec("p_id", "integer", nullable=False),
            ColSpec("x", "double", nullable=False),
        ),
        ("id",),
        foreign_keys=(FkSpec(("p_id",), "p", ("id",)),),
        rows=tuple((i + 1, 1 + 2 * i, float(v)) for i, v in enumerate(x)),
    )
    spec = DbSpec(dialect, (parent, child), seed=3, scale=100.0)
    source, target = _databases(request, dialect, tmp_path)
    assert run(spec, source, target) == []
    assert _range_problems(spec, source, target) == []
    assert len(_column(target, "c", "x")) > 300  # enough values drawn to have met the wide steps
    if dialect == "sqlite":  # the evaluation reads +-DBL_MAX too (its histograms' edges overflowed)
        import relsynth

        result = relsynth.evaluate(source, target)
        assert result["integrity"]["problems"] == 0
