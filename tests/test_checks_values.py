"""CHECKs whose constants are dates, timestamps, times, negative numbers and casts, on every dialect.

Each dialect prints a CHECK its own way (PostgreSQL: ``d >= '2000-01-01'::date``, ``v >= '-5'::integer``;
MariaDB: ``d >= '2000-01-01'``; SQLite: as written), and a sampled frame holds dates, datetimes,
pandas timestamps, Decimals or floats for integers. relsynth.model.checks must compare them as the
database does, repair what breaks a CHECK in the column's own representation, and the record guard's
nudge (after the repairs) must not break a CHECK again. The database tests create such tables on
PostgreSQL, MariaDB and SQLite and check what synthesize wrote with tests/adversarial.py's own SQL.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from relsynth.model import checks as ck
from tests.adversarial import CheckSpec, ColSpec, DbSpec, TableSpec, run

DIALECTS = ["postgresql", "mysql", "sqlite"]
DAY0, DAY1 = dt.date(1990, 9, 3), dt.date(2010, 12, 31)
STAMP0, STAMP1 = dt.datetime(1990, 1, 1), dt.datetime(2030, 1, 1, 12, 30)
ODDS = tuple(range(1, 25, 2))


# -- the parser: casts and typed literals give constants of their type ------------------------------
@pytest.mark.parametrize(
    ("sql", "constants"),
    [
        ("(v >= '-5'::integer)", [-5]),
        ("((v >= '-5'::integer) AND (v <= 40))", [-5, 40]),
        ("n >= '-12.5'::numeric AND n <= 99.25", [-12.5, 99.25]),
        ("v > (-5)", [-5]),
        ("v >= +3", [3]),
        ("(d >= '2000-01-01'::date)", ["2000-01-01"]),
        ("d >= DATE '2000-01-01'", ["2000-01-01"]),
        ("(ts <= '2030-01-01 12:30:00'::timestamp without time zone)", ["2030-01-01 12:30:00"]),
        ("(flag = 't'::boolean)", [True]),
        ("(code = (5)::text)", ["5"]),
    ],
)
def test_casts_give_typed_constants(sql: str, constants: list[object]) -> None:
    def found(node: object) -> list[object]:
        if isinstance(node, ck.Const):
            return [node.value]
        if isinstance(node, ck.Cmp):
            return found(node.left) + found(node.right)
        if isinstance(node, ck.BoolOp):
            return [v for i in node.items for v in found(i)]
        return []

    values = found(ck.parse(sql))
    assert values == constants
    assert [type(v) for v in values] == [type(c) for c in constants]


def test_negative_cast_bounds_an_integer_domain() -> None:
    dom = ck.integer_domain("v", "smallint", ["((v >= '-5'::integer) AND (v <= 40))"])
    assert (dom.lo, dom.hi) == (-5, 40)


# -- evaluation: each representation a frame may hold, against each way a constant is written -------
def _dates() -> pd.Series:
    return pd.Series([dt.date(1980, 1, 1), dt.date(2000, 1, 1), None, dt.date(2014, 1, 31)], dtype=object)


def _stamps() -> pd.Series:
    return pd.Series([dt.datetime(1980, 1, 1), dt.datetime(2000, 1, 1), None, dt.datetime(2014, 1, 31, 8)])


EVALUATED = [
    ("d >= '2000-01-01'", _dates(), [False, True, None, True]),
    ("(d >= '2000-01-01'::date)", _dates(), [False, True, None, True]),
    ("d BETWEEN '1990-01-01' AND '2010-12-31'", _dates(), [False, True, None, False]),
    ("d > '2000-01-01 12:00:00'", _dates(), [False, False, None, True]),
    ("d IN ('2000-01-01', '2014-01-31')", _dates(), [False, True, None, True]),
    ("(d = ANY (ARRAY['2000-01-01'::date, '2001-01-01'::date]))", _dates(), [False, True, None, False]),
    ("ts >= '2000-01-01 00:00:00.000000'", _stamps(), [False, True, None, True]),  # datetime64[ns]
    ("ts >= '2000-01-01'", _stamps().astype(object), [False, True, None, True]),
    (
        "(ts <= '2014-01-31 08:00:00'::timestamp without time zone)",
        _stamps().astype(object),
        [True, True, None, True],
    ),
    (
        "(z >= '2000-01-01 00:00:00+00'::timestamp with time zone)",
        pd.Series(pd.to_datetime(pd.Series(["1999-12-31 23:00", "2000-01-01 01:00", None]), utc=True)),
        [False, True, None],
    ),
    (
        "z >= '2000-01-01 00:00:00+00'",
        pd.Series(
            [
                dt.datetime(2000, 1, 1, 3, tzinfo=dt.timezone(dt.timedelta(hours=5))),
                dt.datetime(2000, 1, 1, 1),
            ],
            dtype=object,
        ),
        [False, True],
    ),
    (
        "(t >= '08:00:00'::time without time zone)",
        pd.Series([dt.time(7, 59), dt.time(8), None], dtype=object),
        [False, True, None],
    ),
    ("t < '08:00:00.000000'", pd.Series([dt.time(7, 59), dt.time(8)], dtype=object), [True, False]),
    (
        "v >= '-5'::integer AND v <= 40",
        pd.Series([-6.0, -5.0, None, 41.0], dtype=object),
        [False, True, None, False],
    ),
    ("v BETWEEN -5 AND 40", pd.Series([-6, -5, 40, 41]), [False, True, True, False]),
    ("v >= '-5'", pd.Series([-6.0, np.nan, 0.0]), [False, None, True]),
    (
        "n >= '-12.5'::numeric AND n <= 99.25",
        pd.Series([Decimal("-12.51"), Decimal("-12.5"), None, Decimal("99.26")], dtype=object),
        [False, True, None, False],
    ),
    ("n >= 0.01", pd.Series([Decimal("0.01"), Decimal("0.00")], dtype=object), [True, False]),
    ("v IN (1, NULL)", pd.Series([1.0, 2.0, None], dtype=object), [True, None, None]),
    ("v NOT IN (1, 3)", pd.Series([1, 2, 3]), [False, True, False]),
]


@pytest.mark.parametrize(("sql", "values", "expected"), EVALUATED, ids=[e[0] for e in EVALUATED])
def test_truth_reads_constants_as_the_column_they_meet(sql: str, values: pd.Series, expected: list) -> None:
    name = next(iter(ck.columns_of(ck.parse(sql))))
    assert list(ck.truth(ck.parse(sql), pd.DataFrame({name: values}))) == expected


def test_two_timestamp_columns_compare_and_repair_as_datetimes() -> None:
    a = pd.Series([dt.datetime(1993, 7, 23), dt.datetime(1990, 2, 22), None], dtype=object)
    b = pd.Series([dt.datetime(1992, 8, 15), dt.datetime(1995, 7, 20), dt.datetime(1995, 1, 1)], dtype=object)
    frame = pd.DataFrame({"a": a, "b": b})
    node = ck.parse('"a" < "b"')
    assert list(ck.truth(node, frame)) == [False, True, None]
    ck.repair(node, frame, {"a", "b"}, np.random.default_rng(0))
    assert list(ck.truth(node, frame)) == [True, True, None]
    assert frame.loc[0, "a"] == dt.datetime(1992, 8, 14, 23, 59, 59)
    assert all(isinstance(v, dt.datetime) for v in frame["a"].dropna())  # not numpy datetime64
    frame["a"] = pd.to_datetime(frame["a"])  # a datetime64 column against an object one
    assert list(ck.truth(node, frame)) == [True, True, None]


@pytest.mark.parametrize(
    ("sql", "values", "repaired"),
    [
        ("(d >= '1990-09-03'::date)", _dates(), [DAY0, dt.date(2000, 1, 1), None, dt.date(2014, 1, 31)]),
        (
            "d BETWEEN '1990-01-01' AND '2010-12-31'",
            _dates(),
            [dt.date(1990, 1, 1), dt.date(2000, 1, 1), None, DAY1],
        ),
        (
            "d IN ('2001-02-03')",
            pd.Series([dt.date(2000, 1, 1), None], dtype=object),
            [dt.date(2001, 2, 3), None],
        ),
        ("v >= '-5'::integer AND v <= 40", pd.Series([-9.0, 3.0, 50.0]), [-5.0, 3.0, 40.0]),
        ("v > -5.5", pd.Series([-9, 3]), [-5, 3]),
        (
            "n >= '-12.5'::numeric",
            pd.Series([Decimal("-20.25"), None, Decimal("3")], dtype=object),
            [Decimal("-12.5"), None, Decimal("3")],
        ),
        ("n >= -12.5", pd.Series([-20.0, 4.0]), [-12.0, 4.0]),  # whole numbers: an integer column's
        ("t > '08:00:00'", pd.Series([dt.time(7), dt.time(9)], dtype=object), [dt.time(8, 0, 1), dt.time(9)]),
    ],
)
def test_repairs_keep_the_columns_representation(sql: str, values: pd.Series, repaired: list) -> None:
    node = ck.parse(sql)
    name = next(iter(ck.columns_of(node)))
    frame = pd.DataFrame({name: values})
    ck.repair(node, frame, {name}, np.random.default_rng(0))
    got = frame[name].tolist()
    assert [None if pd.isna(v) else v for v in got] == repaired
    assert [type(v) for v in got if not pd.isna(v)] == [type(v) for v in repaired if v is not None]
    assert not ck.violations(node, frame).any()


def test_broken_by_flags_moves_that_break_a_check() -> None:
    frame = pd.DataFrame({"v": [1.0, 3.0, None, 5.0], "w": [0, 1, 2, 3]})
    moved = np.array([2.0, 3.0, 7.0, 6.0], dtype=object)
    # v <= w + 1 is read (arithmetic): NULL -> 7 with w = 2 breaks it; a function call is not
    # understood and is skipped.
    sqls = ["v IN (1, 3, 5, 7)", "v <= w + 1", "w >= 0", "date_trunc('month', v) = v"]
    broken = ck.broken_by(sqls, frame, "v", moved, np.array([0, 2, 3]))
    assert broken.tolist() == [True, False, True, True]


# -- every dialect: the CHECK forms written, read back and held -------------------------------------
def _col(name: str, kind: str, nullable: bool = True, **kw: object) -> ColSpec:
    return ColSpec(name, kind, nullable=nullable, **kw)  # type: ignore[arg-type]


def _day(rng: random.Random, lo: dt.date, hi: dt.date) -> dt.date:
    return lo + dt.timedelta(days=rng.randint(0, (hi - lo).days))


def checks_spec(dialect: str) -> DbSpec:
    """One table per shape: date and timestamp bounds, two timestamp columns ordered (no primary key),
    a time of day, negative bounds (smallint, numeric), an IN list with gaps that the record guard
    must not nudge a value into, and a nullable integer in 1..3 (the shrunk int_check_nulls)."""
    rng = random.Random(7)

    def maybe(value: object) -> object:  # NULL in about one row of seven
        return None if rng.random() < 0.15 else value

    dated = TableSpec(
        "dated",
        (_col("id", "integer", False), _col("d", "date"), _col("e", "date")),
        ("id",),
        checks=(
            CheckSpec("ck_d", "at_least", ("d",), (DAY0,)),
            CheckSpec("ck_e", "between", ("e",), (dt.date(2000, 1, 1), DAY1)),
        ),
        rows=tuple(
            (i, maybe(_day(rng, DAY0, dt.date(2020, 1, 1))), maybe(_day(rng, dt.date(2000, 1, 1), DAY1)))
            for i in range(1, 41)
        ),
    )
    stamp_rows = []
    for _ in range(30):
        a = dt.datetime.combine(_day(rng, STAMP0.date(), dt.date(2029, 1, 1)), dt.time(rng.randint(0, 23)))
        b = a + dt.timedelta(hours=rng.randint(0, 5000))
        stamp_rows.append((a, maybe(b), min(max(a, STAMP0), STAMP1)))
    stamped = TableSpec(
        "stamped",
        (_col("a", "timestamp"), _col("b", "timestamp"), _col("c", "timestamp")),
        checks=(
            CheckSpec("ck_ab", "le", ("a", "b")),
            CheckSpec("ck_c", "between", ("c",), (STAMP0, STAMP1)),
        ),
        rows=tuple(stamp_rows),
    )
    timed = TableSpec(
        "timed",
        (_col("id", "integer", False), _col("t", "time")),
        ("id",),
        checks=(CheckSpec("ck_t", "at_least", ("t",), (dt.time(8, 0),)),),
        rows=tuple((i, maybe(dt.time(rng.randint(8, 23), rng.randint(0, 59)))) for i in range(1, 31)),
    )
    negative = TableSpec(
        "negative",
        (_col("id", "integer", False), _col("v", "smallint"), _col("n", "numeric", length=6, scale=2)),
        ("id",),
        checks=(
            CheckSpec("ck_v", "between", ("v",), (-5, 40)),
            CheckSpec("ck_n", "between", ("n",), (Decimal("-12.5"), Decimal("99.25"))),
        ),
        rows=tuple(
            (i, maybe(rng.randint(-5, 40)), maybe(Decimal(rng.randint(-1250, 9925)).scaleb(-2)))
            for i in range(1, 41)
        ),
    )
    gapped = TableSpec(
        "gapped",
        (_col("id", "integer", False), _col("v", "integer"), _col("w", "smallint")),
        ("id",),
        checks=(CheckSpec("ck_in", "in", ("v",), ODDS),),
        rows=tuple(
            (i, v if i % 11 else None, w)
            for i, (v, w) in enumerate(((v, w) for v in ODDS for w in range(4)), 1)
        ),
    )
    nullable_ints = TableSpec(
        "nullable_ints",
        (_col("id", "integer", False), _col("v", "integer")),
        ("id",),
        checks=(CheckSpec("ck_v", "between", ("v",), (1, 3)),),
        rows=tuple(enumerate((1, 1, 3, None, 1, 1, 1, 1, 2, 1))),
    )
    tables = [dated, stamped, timed, negative, gapped, nullable_ints]
    if dialect == "postgresql":
        tables.append(
            TableSpec(
                "aware",
                (_col("id", "integer", False), _col("z", "timestamptz")),
                ("id",),
                checks=(CheckSpec("ck_z", "at_least", ("z",), (dt.datetime(2000, 1, 1, tzinfo=dt.UTC),)),),
                rows=tuple(
                    (i, dt.datetime(2000, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=rng.randint(0, 90000)))
                    for i in range(1, 31)
                ),
            )
        )
    return DbSpec(dialect, tuple(tables), seed=3)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_check_constants_of_every_type_hold_on_every_dialect(
    dialect: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if dialect == "sqlite":
        source, target = f"sqlite:///{tmp_path}/src.sqlite", f"sqlite:///{tmp_path}/tgt.sqlite"
    else:
        make: Callable[[], str] = request.getfixturevalue("pg_db" if dialect == "postgresql" else "mysql_db")
        source, target = make(), make()
    assert run(checks_spec(dialect), source, target) == []


@pytest.mark.parametrize(
    ("sql", "rows"),
    [
        # PostgreSQL prints a varchar column it casts in parentheses; read as a condition, (kind)
        # was kind = TRUE and the whole CHECK (or partial index WHERE) was not interpretable.
        ("((kind)::text = 'a'::text)", [True, False, None]),
        (
            "((kind)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[]))",
            [True, True, None],
        ),
        ("((flag) AND (NOT (kind)::text = 'b'::text))", [True, False, None]),
    ],
)
def test_a_column_in_parentheses_is_a_value(sql: str, rows: list[object]) -> None:
    frame = pd.DataFrame({"kind": ["a", "b", None], "flag": [True, True, True]})
    assert ck.truth(ck.parse(sql, "postgresql"), frame).tolist() == rows
