"""The adversarial generator's CI slice, on PostgreSQL, MariaDB and SQLite: a fixed (derandomized)
handful of drawn databases and four hand-written ones for the shapes issue 9 names, each created in
a real source, synthesized into a fresh target and checked by tests/adversarial.py's own SQL
(orphans, duplicate keys, NOT NULL, CHECKs present and held, tables, columns and types, row counts,
the source unchanged). The checker itself is tested on targets with planted problems.

Shapes of open relsynth bugs are left out (``AVOID``, from ``KNOWN_BUGS``); remove a name there
once its bug is fixed (RELSYNTH_ADVERSARIAL_FILTERS=none runs them all). The long random run is benchmarks/bench_adversarial.py.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from tests.adversarial import (
    KNOWN_BUGS,
    VALUE_TYPES,
    CheckSpec,
    ColSpec,
    DbSpec,
    FkSpec,
    TableSpec,
    check,
    db_specs,
    fill_rows,
    realize,
    run,
    snapshot,
    to_python,
)

DIALECTS = ["postgresql", "mysql", "sqlite"]
# RELSYNTH_ADVERSARIAL_FILTERS=none (or a comma-separated subset) checks whether a bug is fixed.
_FILTERS = os.environ.get("RELSYNTH_ADVERSARIAL_FILTERS")
AVOID = frozenset(KNOWN_BUGS) if _FILTERS is None else frozenset(_FILTERS.split(",")) & set(KNOWN_BUGS)
NIL = "nil" if "sqlite_keywords" in AVOID else "nothing"  # a keyword SQLite has and SQLAlchemy does not quote
_files = itertools.count()


def _databases(request: pytest.FixtureRequest, dialect: str, tmp_path: Path) -> tuple[str, str]:
    """A new empty source and target (the conftest fixtures drop them after the test)."""
    if dialect == "sqlite":
        n = next(_files)
        return f"sqlite:///{tmp_path}/src{n}.sqlite", f"sqlite:///{tmp_path}/tgt{n}.sqlite"
    make: Callable[[], str] = request.getfixturevalue("pg_db" if dialect == "postgresql" else "mysql_db")
    return make(), make()


def _run(request: pytest.FixtureRequest, spec: DbSpec, tmp_path: Path) -> list[str]:
    source, target = _databases(request, spec.dialect, tmp_path)
    return run(spec, source, target)


# -- drawn databases ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dialect", DIALECTS)
@settings(
    derandomize=True,
    max_examples=2,
    deadline=None,
    database=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_drawn_databases_synthesize_cleanly(
    dialect: str, request: pytest.FixtureRequest, tmp_path: Path, data: st.DataObject
) -> None:
    spec = data.draw(db_specs(dialect, AVOID))
    note(to_python(spec))
    assert _run(request, spec, tmp_path) == []


# -- hand-written databases ----------------------------------------------------------------------------
def _int(name: str, nullable: bool = False, **kw: object) -> ColSpec:
    return ColSpec(name, "integer", nullable=nullable, **kw)  # type: ignore[arg-type]


def keys_spec(dialect: str) -> DbSpec:
    """Two FKs of one row holding equal values (the parents' ids coincide); a (parent, seq) key with
    seq BETWEEN 1 AND 3 numbering only some parents 1..n; a composite FK into it with an overlapping
    UNIQUE; an empty table."""
    n = 20
    parent_a = TableSpec("parent_a", (_int("id"), ColSpec("label", "varchar", length=20)), ("id",))
    parent_b = TableSpec("parent_b", (_int("id"), ColSpec("score", "double")), ("id",))
    child = TableSpec(
        "child",
        (_int("id"), _int("a_id"), _int("b_id"), ColSpec("qty", "smallint")),
        ("id",),
        foreign_keys=(FkSpec(("a_id",), "parent_a", ("id",)), FkSpec(("b_id",), "parent_b", ("id",))),
        rows=tuple((i, 1 + i % n, 1 + i % n, i % 7) for i in range(1, 41)),
    )
    patterns = [(1,), (1, 2), (1, 2, 3), (2, 3), (1, 3), (2,), (3,)]
    visit_rows = [(p, s, f"v{p}.{s}") for p in range(1, n + 1) for s in patterns[p % len(patterns)]]
    visit = TableSpec(
        "visit",
        (_int("a_id"), ColSpec("seq", "smallint", nullable=False), ColSpec("note", "text")),
        ("a_id", "seq"),
        foreign_keys=(FkSpec(("a_id",), "parent_a", ("id",)),),
        checks=(CheckSpec("ck_seq", "between", ("seq",), (1, 3)),),
        rows=tuple(visit_rows),
    )
    detail = TableSpec(
        "detail",
        (_int("id"), _int("a_id"), ColSpec("seq", "smallint", nullable=False), _int("rank")),
        ("id",),
        unique=(("seq", "rank"),),
        foreign_keys=(FkSpec(("a_id", "seq"), "visit", ("a_id", "seq")),),
        rows=tuple((i, r[0], r[1], i) for i, r in enumerate(visit_rows[::2], start=1)),
    )
    empty = TableSpec(
        "empty",
        (_int("id"), _int("a_id", nullable=True)),
        ("id",),
        foreign_keys=(FkSpec(("a_id",), "parent_a", ("id",)),),
    )
    rows = {
        "parent_a": tuple((i, f"a{i}") for i in range(1, n + 1)),
        "parent_b": tuple((i, i / 3) for i in range(1, n + 1)),
    }
    tables = [
        replace(t, rows=rows.get(t.name, t.rows)) for t in (parent_a, parent_b, child, visit, detail, empty)
    ]
    return DbSpec(dialect, tuple(tables), seed=3)


def graph_spec(dialect: str) -> DbSpec:
    """A cycle through a nullable FK (dept.head -> staff -> dept), a self-reference (staff.boss), a
    link table (staff x project) and all-NULL columns; rows drawn by fill_rows."""
    dept = TableSpec(
        "dept",
        (_int("id"), ColSpec("name", "varchar", length=30), _int("head", True)),
        ("id",),
        foreign_keys=(FkSpec(("head",), "staff", ("id",), cycle=True),),
        shape="entity",
        size=8,
    )
    staff = TableSpec(
        "staff",
        (
            _int("id"),
            _int("dept_id", True),
            _int("boss", True),
            ColSpec("hired", "date"),
            ColSpec("unused", "text", fill="null"),
        ),
        ("id",),
        foreign_keys=(FkSpec(("dept_id",), "dept", ("id",)), FkSpec(("boss",), "staff", ("id",))),
        size=40,
    )
    project = TableSpec(
        "project", (_int("id"), ColSpec("budget", "numeric", length=12, scale=2)), ("id",), size=12
    )
    link = TableSpec(
        "staff_project",
        (_int("staff_id"), _int("project_id"), ColSpec("since", "date", fill="null")),
        ("staff_id", "project_id"),
        foreign_keys=(FkSpec(("staff_id",), "staff", ("id",)), FkSpec(("project_id",), "project", ("id",))),
        shape="link",
        size=50,
    )
    return fill_rows(DbSpec(dialect, (dept, staff, project, link), seed=5), 11, AVOID)


def identifiers_spec(dialect: str) -> DbSpec:
    """Names with quotes, %, backticks, spaces, unicode and reserved words, in tables, columns, keys
    and CHECKs."""
    order = TableSpec(
        "order",
        (
            ColSpec("user", "varchar", nullable=False, length=12),
            ColSpec("pct%", "integer"),
            ColSpec('q"uote', "text"),
            ColSpec("select", "date"),
        ),
        ("user",),
        checks=(CheckSpec("ck_pct", "between", ("pct%",), (0, 100)),),
        size=30,
    )
    line = TableSpec(
        "it's 50%",
        (
            _int("from"),
            ColSpec("user", "varchar", nullable=False, length=12),
            ColSpec("two words", "smallint"),
            ColSpec("back`tick", "varchar", length=10),
            ColSpec("Straße", "integer"),
        ),
        ("from",),
        unique=(("Straße",),),
        foreign_keys=(FkSpec(("user",), "order", ("user",)),),
        checks=(CheckSpec("ck_tw", "at_least", ("two words",), (0,)),),
        size=50,
    )
    tick = TableSpec(
        "back`tick 表",
        (_int("%s"), _int("%(x)s", True)),
        ("%s",),
        foreign_keys=(FkSpec(("%(x)s",), "it's 50%", ("from",)),),
        size=20,
    )
    return fill_rows(DbSpec(dialect, (order, line, tick), seed=2), 7, AVOID)


def values_spec(dialect: str) -> DbSpec:
    """Every column type of the dialect at its extremes (int bounds, BIGINT UNSIGNED above 2^63, strings
    at their length limit), all-NULL columns, and every CHECK form, one relsynth cannot parse included."""
    cols = [ColSpec("id", "integer", nullable=False)]
    for i, t in enumerate(VALUE_TYPES[dialect]):
        kw = {
            "varchar": {"length": 25},
            "char": {"length": 4},
            "numeric": {"length": 10, "scale": 3},
            "enum": {"labels": ("a", "b'c", "with space")},
        }.get(t, {})
        cols.append(ColSpec(f"{t} {i}", t, fill="extreme", **kw))  # type: ignore[arg-type]
    cols += [
        ColSpec(NIL, "integer", fill="null"),
        ColSpec("lo", "integer"),
        ColSpec("hi", "integer"),
        ColSpec("rng", "smallint"),
        ColSpec("code", "varchar", length=12),
        ColSpec("txt", "text"),
        ColSpec("mag", "integer"),
        ColSpec("day", "date"),
    ]
    checks = (
        CheckSpec("ck_between", "between", ("rng",), (0 if "negative_check_bounds" in AVOID else -5, 40)),
        CheckSpec("ck_in", "in", ("code",), ("a", "b'c", "%")),
        CheckSpec("ck_le", "le", ("lo", "hi")),
        CheckSpec("ck_nulls", "null_pair", ("lo", NIL)),
        CheckSpec("ck_len", "length", ("txt",), (1,)),
        CheckSpec("ck_abs", "abs", ("mag",), (300,)),
        CheckSpec("ck_day", "at_least", ("day",), (dt.date(2000, 1, 1),)),
    )
    if "date_checks" in AVOID:
        checks = checks[:-1]
    table = TableSpec("every_type", tuple(cols), ("id",), checks=checks, size=45)
    return fill_rows(DbSpec(dialect, (table,), seed=1), 13, AVOID)


HAND_WRITTEN = {
    "keys": keys_spec,
    "graph": graph_spec,
    "identifiers": identifiers_spec,
    "values": values_spec,
}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("shape", list(HAND_WRITTEN))
def test_hand_written_databases_synthesize_cleanly(
    shape: str, dialect: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    spec = HAND_WRITTEN[shape](dialect)
    assert all(t.rows or t.name == "empty" for t in spec.tables), "every table but 'empty' has rows"
    assert _run(request, spec, tmp_path) == [], to_python(spec)


# -- reproductions of the bugs the generator found ---------------------------------------------------
def _d(*ymd: int) -> dt.date:
    return dt.date(*ymd)


def _ts(*ymd: int) -> dt.datetime:
    return dt.datetime(*ymd)


def _one(name: str, cols: tuple[ColSpec, ...], rows: tuple[tuple, ...], **kw: object) -> TableSpec:
    return TableSpec(name, cols, rows=rows, **kw)  # type: ignore[arg-type]


_rng = random.Random(3)
NUMERICS = [Decimal("-99999999999.9"), Decimal("99999999999.9")]
NUMERICS += [Decimal(_rng.randint(-999999, 999999)) / 10 for _ in range(38)]
HUGE_DOUBLES = [1.7976931348623157e308, -1.7976931348623157e308, 2.2250738585072014e-308, 0.0]
HUGE_DOUBLES += [51.72, 93.0, 162.72233, 167.232]

# Each known bug (KNOWN_BUGS) shrunk to a small database, on the quickest dialect that shows it. While
# the bug is filtered out of the generator, its case is xfail(strict): fixing it XPASSes and fails the
# run, so the name is taken out of KNOWN_BUGS, and the case stays as a regression test.
REPRODUCTIONS: dict[str, DbSpec] = {
    "far_dates": DbSpec(
        "sqlite",
        (
            _one(
                "t",
                (_int("id"), ColSpec("d", "date")),
                ((1, _d(9999, 12, 31)), (2, _d(2000, 1, 2))),
                primary_key=("id",),
            ),
        ),
    ),
    "date_checks": DbSpec(
        "sqlite",
        (
            _one(
                "t",
                (ColSpec("d", "date"),),
                ((_d(2014, 1, 31),),),
                checks=(CheckSpec("ck", "at_least", ("d",), (_d(1990, 9, 3),)),),
            ),
        ),
    ),
    "timestamp_checks": DbSpec(
        "sqlite",
        (
            _one(
                "t",
                (ColSpec("a", "timestamp"), ColSpec("b", "timestamp")),
                ((_ts(1990, 1, 1), _ts(1991, 1, 1)), (_ts(1995, 1, 1), _ts(1996, 1, 1))),
                checks=(CheckSpec("ck", "le", ("a", "b")),),
            ),
        ),
    ),
    "wide_unique_ints": DbSpec(
        "sqlite",
        (
            _one(
                "t",
                (_int("id"), ColSpec("u", "bigint", nullable=False)),
                tuple(
                    enumerate(
                        (-497515131422601619, 7484470594450727590, -9057789246465114242, 3555903557212131066)
                    )
                ),
                primary_key=("id",),
                unique=(("u",),),
            ),
        ),
    ),
    "unique_smallint_nulls": DbSpec(
        "sqlite",
        (
            _one(
                "t",
                (ColSpec("u", "smallint"),),
                ((1447,), (207,), (None,), (408,), (1665,)),
                unique=(("u",),),
            ),
        ),
    ),
    "negative_check_bounds": DbSpec(
        "postgresql",
        (
            _one(
                "t",
                (_int("id"), ColSpec("v", "smallint")),
                tuple(enumerate((9, 40, -3, 27, 1))),
                primary_key=("id",),
                checks=(CheckSpec("ck", "between", ("v",), (-5, 40)),),
            ),
        ),
    ),
    "int_check_nulls": DbSpec(
        "sqlite",
        (
            _one(
                "t",
                (_int("id"), _int("v", True)),
                tuple(enumerate((1, 1, 3, None, 1, 1, 1, 1, 2, 1))),
                primary_key=("id",),
                checks=(CheckSpec("ck", "between", ("v",), (1, 3)),),
            ),
        ),
    ),
    "composite_string_keys": DbSpec(
        "sqlite",
        (
            _one(
                "t",
                (_int("a"), ColSpec("k", "char", nullable=False, length=3)),
                ((7919, "z0"),),
                primary_key=("a", "k"),
            ),
        ),
    ),
    "numeric_limits": DbSpec(
        "postgresql",
        (
            _one("p", (_int("id"),), tuple((i,) for i in range(1, 11)), primary_key=("id",)),
            _one(
                "c",
                (_int("id"), _int("p_id"), ColSpec("x", "numeric", length=12, scale=1)),
                tuple((i, 1 + i % 10, x) for i, x in enumerate(NUMERICS)),
                primary_key=("id",),
                foreign_keys=(FkSpec(("p_id",), "p", ("id",)),),
            ),
        ),
    ),
    "id_int_extremes": DbSpec(
        "sqlite",
        (_one("t", (_int("id"),), tuple((v,) for v in (-(2**31), 2**31 - 1, *range(2746, 2770)))),),
    ),
    "huge_doubles": DbSpec(
        "sqlite",
        (
            _one("p", (_int("id"),), ((1,),), primary_key=("id",)),
            _one(
                "c",
                (_int("id"), _int("p_id"), ColSpec("x", "double", nullable=False)),
                tuple((i, 1, x) for i, x in enumerate(HUGE_DOUBLES)),
                primary_key=("id",),
                foreign_keys=(FkSpec(("p_id",), "p", ("id",)),),
            ),
        ),
        seed=1,
    ),
    "sqlite_keywords": DbSpec(
        "sqlite",
        (
            _one(
                "t",
                (_int("id"), _int("nothing", True)),
                tuple((i, 2 * i) for i in range(1, 11)),
                primary_key=("id",),
            ),
        ),
    ),
    # Five rows, too few for 5 at each end: the numbers became their median, one row's value, so
    # every synthetic row equalled a unique record and was left out (2 of 5 rows written).
    "tiny_table_median": DbSpec(
        "sqlite",
        (
            TableSpec(
                "user",
                (ColSpec("ümlaut", "boolean"), ColSpec("from", "real")),
                shape="composite",
                size=5,
                rows=((True, -630.45), (False, -647.76), (False, 878.02), (None, -284.71), (True, 98.13)),
            ),
        ),
    ),
    # Unsigned bigints near 2^64: a row moved "one unit" off a unique record still equalled it in
    # the record key (10 significant digits), so 7 of 21 root rows were left out.
    "huge_unsigned_record": DbSpec(
        "mysql",
        (
            TableSpec(
                "t",
                shape="composite",
                size=21,
                equal_fks=False,
                columns=(
                    ColSpec(name="数量", type="bigint_unsigned", nullable=False),
                    ColSpec(name="parent_id", type="bigint", nullable=False),
                    ColSpec(name="user", type="bigint_unsigned"),
                    ColSpec(name='dq"x', type="text", fill="extreme"),
                ),
                primary_key=("数量", "parent_id"),
                rows=(
                    (12969131444895142030, 2159260042572957883, 1951502145465998276, 'x"y'),
                    (9339063402684671961, -5041980415142874800, 6700273151254909599, "b'c"),
                    (5478160679470472380, -1326429523874942140, 10756558117322740212, "a"),
                    (9939096010671916546, -5855093112204599816, 13369584996252037863, "UPPER"),
                    (10371696899466340593, 3855326107935797025, 15690090058577383164, "b'c"),
                    (5457751291115920182, -5134022011496898393, 10947828956984936973, "b'c"),
                    (17331843365990833977, -9046915883438677319, 6427833414250377303, "b'c"),
                    (8327040090803423629, -8511556378095281768, None, 'x"y'),
                    (17907558503023480063, 2538293692306734605, 5020951641443859909, "b'c"),
                    (16230791333809083659, 7642348479011403557, 11892891299799718088, 'x"y'),
                    (11819083102983375290, 4264873332123795485, 7260856585988144266, "b'c"),
                    (4008121381589622762, 6297076434447678260, 11252930287504100472, 'x"y'),
                    (7376263688656235733, 8963908382883543279, 18009814547540422544, "UPPER"),
                    (6391653101970310767, -386151207468294242, 3707810203919698018, 'x"y'),
                    (2345688044286369114, 1096327901400051607, 16672951886322077138, "b'c"),
                    (14742034796246482212, 1419370542502518042, 13108909461585817431, "b'c"),
                    (2086409941559386832, -1705682178568209717, 17330918407784697458, "UPPER"),
                    (1371531661357205099, -2915846252468314753, 14193950577939429971, None),
                    (14807091204600375606, -7599830698925490944, 14614719123692949956, 'x"y'),
                    (16547653328048594049, -5310354481405360456, 10820892650955065484, "a"),
                    (8037468384662074360, -2790679751118165555, 18379671131031127983, "b'c"),
                ),
            ),
        ),
    ),
    # parent_id (a self-reference inferred from its name) under CHECK (parent_id IN (16, 7)): parents
    # drawn from all the table's keys broke the CHECK at the load (MariaDB error 4025).
    "self_ref_under_check": DbSpec(
        "mysql",
        (
            TableSpec(
                "t",
                (ColSpec("code", "int_unsigned", nullable=False), ColSpec("parent_id", "integer")),
                primary_key=("code",),
                shape="entity",
                size=31,
                checks=(CheckSpec("ck_0_0", "in", ("parent_id",), (16, 7)),),
                rows=tuple((i, (16, 7, None)[i % 3]) for i in range(1, 32)),
            ),
        ),
    ),
    # A 26-row table whose one row still equalled a unique source record after every move was
    # left out, as the README says, but the checker did not count such rows (adversarial run 4).
    "record_left_out_counted": DbSpec(
        "mysql",
        (
            TableSpec(
                "sp ace",
                shape="nokey",
                size=26,
                equal_fks=False,
                columns=(
                    ColSpec(name="数量", type="bigint", nullable=False),
                    ColSpec(name="%(x)s", type="boolean", nullable=False, fill="extreme"),
                    ColSpec(name="order", type="enum", nullable=False, labels=("%", "ü")),
                    ColSpec(name="when", type="enum", labels=("select", "ü")),
                    ColSpec(name="value", type="tinyint"),
                ),
                unique=(("数量",),),
                checks=(CheckSpec(name="ck_0_0", form="null_pair", columns=("when", "value")),),
                rows=(
                    (-1267618711588609868, False, "%", "ü", -45),
                    (-8074927148429448780, False, "%", "ü", 31),
                    (3551104529625191030, False, "%", "ü", 106),
                    (6578903943593462565, False, "ü", "select", 126),
                    (9104129806676187877, False, "%", "select", 86),
                    (8713207064745432131, False, "%", "ü", -41),
                    (6958241935007302000, False, "%", "ü", None),
                    (2919347605946042759, False, "ü", "ü", 83),
                    (-1577178063452518083, True, "ü", None, None),
                    (2343858185581159049, True, "%", "ü", 4),
                    (7752582290023258996, False, "ü", "select", -19),
                    (2659945898794419768, False, "%", "select", None),
                    (7905935334571885653, True, "%", "select", 2),
                    (4461224123652156330, False, "%", "select", 92),
                    (5847636235702888351, False, "ü", None, None),
                    (3479774619888857681, False, "ü", "ü", 117),
                    (2702417516624286894, False, "%", None, None),
                    (-1370874247196669883, False, "ü", "select", 84),
                    (-5338383043497318504, False, "ü", "select", 41),
                    (-8910228439490068515, False, "ü", "ü", -33),
                    (295081774714456379, False, "%", "select", 78),
                    (4432793089589281898, False, "%", None, None),
                    (1970211910361151759, False, "%", "ü", 49),
                    (-534688920268500094, False, "ü", "select", 99),
                    (-805762012465634762, True, "ü", "select", -15),
                    (3339748124135603060, True, "ü", "select", 17),
                ),
            ),
        ),
    ),
}


@pytest.mark.parametrize(
    "bug",
    [
        pytest.param(n, marks=[pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[n])] if n in AVOID else [])
        for n in REPRODUCTIONS
    ],
)
def test_reproductions_of_found_bugs(bug: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    assert _run(request, REPRODUCTIONS[bug], tmp_path) == []


WITHOUT_SMALL_REPRODUCTION: set[str] = set()  # a bug found in a database too big to shrink here


def test_every_known_bug_has_a_reproduction() -> None:
    """Every open bug has one; a fixed bug's stays, as a regression test."""
    assert set(KNOWN_BUGS) - WITHOUT_SMALL_REPRODUCTION <= set(REPRODUCTIONS)


# -- the checker itself ------------------------------------------------------------------------------------
def _planted(dialect: str) -> tuple[DbSpec, DbSpec]:
    """A source, and a 'target' of the same tables without its constraints and with one row of each
    problem: an orphan, a repeated key, a NULL in a NOT NULL column, a CHECK violated."""
    parent = TableSpec("p", (_int("id"),), ("id",), rows=((1,), (2,)))
    child = TableSpec(
        "c",
        (_int("id"), _int("p_id"), _int("v", True), _int("u", True)),
        ("id",),
        unique=(("u",),),
        foreign_keys=(FkSpec(("p_id",), "p", ("id",)),),
        checks=(CheckSpec("ck_v", "between", ("v",), (1, 3)),),
        rows=((1, 1, 1, 10), (2, 2, 3, 20)),
    )
    loose = replace(
        child,
        columns=(_int("id"), _int("p_id", True), _int("v", True), _int("u", True)),
        primary_key=(),
        unique=(),
        foreign_keys=(),
        checks=(),
        rows=((1, 1, 1, 10), (1, 99, 7, 10), (3, None, 2, 30)),
    )
    return DbSpec(dialect, (parent, child)), DbSpec(dialect, (parent, loose))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_checker_finds_planted_problems(dialect: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    source_spec, target_spec = _planted(dialect)
    source, target = _databases(request, dialect, tmp_path)
    realize(source_spec, source)
    realize(target_spec, target)
    before = snapshot(source)
    problems = check(source, target)
    kinds = {p.split(": ")[0] for p in problems}
    assert kinds == {
        "NOT NULL dropped",
        "NULL in NOT NULL",
        "primary key changed",
        "UNIQUE missing",
        "duplicate key",
        "FK missing",
        "orphans",
        "CHECK missing",
        "CHECK violated",
    }, problems
    assert not any("99" in p for p in problems)  # counts and names, not the orphan's value
    assert check(source, source) == []
    assert snapshot(source) == before
    engine = sa.create_engine(source)
    try:
        with engine.begin() as conn:
            conn.execute(sa.table("p", sa.column("id")).insert().values(id=3))
    finally:
        engine.dispose()
    after = snapshot(source)
    assert set(after) == set(before) and after["p"] != before["p"] and after["c"] == before["c"]


def test_evaluate_and_replace_name_backtick_columns(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Found by the long run: SQLAlchemy reads a MariaDB column `back``tick` (a backtick in its name)
    doubled, so evaluate's SQL checks (and --replace's emptying) named a column that is not there."""
    parent = _one(
        "sp ace", (ColSpec("%s", "varchar", nullable=False, length=3),), (("lte",),), primary_key=("%s",)
    )
    child = _one(
        "Straße",
        (ColSpec("back`tick", "varchar", length=3),),
        (("lte",), (None,), ("lte",)),
        foreign_keys=(FkSpec(("back`tick",), "sp ace", ("%s",)),),
    )
    spec = DbSpec("mysql", (parent, child))
    source, target = _databases(request, "mysql", tmp_path)
    assert run(spec, source, target, evaluate=True) == []
    import relsynth

    relsynth.synthesize(source, target, replace=True)


def test_evaluate_a_table_of_keys_and_empty_columns(tmp_path: Path) -> None:
    """Found by the long run: a table whose only non-key column is all NULL left the distance to
    closest record nothing to compare, and evaluate raised (sklearn: 0 features)."""
    table = _one(
        "表",
        (_int("id"), ColSpec("order", "varchar", length=12, fill="null")),
        ((-98742266, None), (-1028677693, None), (-2087175000, None)),
        unique=(("id",),),
    )
    spec = DbSpec("sqlite", (table,))
    assert run(spec, f"sqlite:///{tmp_path}/s.sqlite", f"sqlite:///{tmp_path}/t.sqlite", evaluate=True) == []


def test_mariadb_check_with_an_escaped_quote(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Found by the long run: MariaDB renders CHECK (x IN ('b''c')) as 'b\\'c'; relsynth could not
    parse it, generated a value outside the list, the target rejected the parent row, and its
    child in a cycle was left an orphan."""
    table = _one(
        "t",
        (_int("id"), ColSpec("pct%", "text")),
        ((1, "%"), (2, "b'c")),  # too few to be categories: generated, then repaired into the list
        primary_key=("id",),
        checks=(CheckSpec("ck", "in", ("pct%",), ("ü", "b'c", "%")),),
    )
    source, target = _databases(request, "mysql", tmp_path)
    assert run(replace(DbSpec("mysql", (table,)), seed=4), source, target) == []
    from relsynth.model import checks as ck
    from relsynth.reflection import reflect

    (check,) = reflect(source).table("t").checks
    assert ck.parse(check.sql) == ck.In(ck.Col("pct%"), ("ü", "b'c", "%"))
