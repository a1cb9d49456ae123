"""Generated codes keep what every source code of their shape shares: the leading letters.

Attack round 26: a UNIQUE code under CHECK (code LIKE 'A%%' OR code ~ '^B[0-9]+$') was generated
with random leading letters (K36, U639), so 94% of the parents (and their children) broke the
CHECK and were dropped. A prefix many distinct source values share (A, B; INV; a category's EL)
is kept, and the digits after it grow instead when the template needs room; generated codes are
still never a source code.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

import relsynth
from relsynth.model.text import MIN_SHAPE_VALUES, ROOM, Shapes
from tests.conftest import fetch, run_sql

AB_CODES = [("A" if g % 2 == 0 else "B") + str(g) for g in range(1, 401)]
AB_CHECK = re.compile(r"^A|^B[0-9]+$")


def _generated(values: list[str], n: int = 2000) -> list[str]:
    return list(Shapes.fit(pd.Series(values)).generate(n, np.random.default_rng(0)))


def _room(template: str) -> int:
    free = re.sub(r"\\.", "", template)
    return 26 ** sum(c in "Aa" for c in free) * 10 ** free.count("9")


def test_a_dense_counter_keeps_its_leading_letter() -> None:
    """A2, B1 .. A400, B399: position 0 is A or B in every source code, and so in every generated one."""
    shapes = Shapes.fit(pd.Series(AB_CODES))
    made = _generated(AB_CODES)
    assert all(AB_CHECK.match(v) for v in made), [v for v in made if not AB_CHECK.match(v)][:5]
    assert {v[0] for v in made} == {"A", "B"}
    # still a shape, not the source's list: each template makes ROOM times its source values
    assert all(_room(t) >= ROOM * 5 for t in shapes.templates)


def test_a_constant_prefix_stays() -> None:
    """X1..X400: a dense counter behind one letter grows a digit rather than losing the X."""
    made = _generated([f"X{i}" for i in range(1, 401)])
    assert all(v.startswith("X") and v[1:].isdigit() for v in made)


def test_a_literal_a_or_9_is_not_a_class() -> None:
    """A template's literal A (written \\A) was generated as any capital letter, a literal 9 as any digit."""
    made = Shapes(["\\A\\9\\a-9"], [1.0]).generate(50, np.random.default_rng(0))
    assert {v[:3] for v in made} == {"A9a"}


def test_invoice_numbers_keep_their_prefix() -> None:
    """CHECK (code LIKE 'INV-%'): INV-000123 kept it already (zeros were freed for room); INV-1 ..
    INV-400 had its V freed (INA-123), now its number grows instead."""
    made = _generated([f"INV-{i:06d}" for i in range(1, 401)])
    assert all(re.fullmatch(r"INV-\d{6}", v) for v in made)
    made = _generated([f"INV-{i}" for i in range(1, 401)])
    assert all(re.fullmatch(r"INV-\d+", v) for v in made), [v for v in made if not v.startswith("INV-")][:5]


def test_a_category_prefix_is_kept_whole() -> None:
    """EL1000, FU1001, TO1002 ...: the leading letters are a category, kept together (no 'EU')."""
    values = [["EL", "FU", "TO"][i % 3] + str(1000 + i) for i in range(300)]
    made = _generated(values)
    assert {v[:2] for v in made} == {"EL", "FU", "TO"}
    assert all(v[2:].isdigit() for v in made)


def test_a_rare_prefix_is_not_kept() -> None:
    """A prefix fewer than MIN_SHAPE_VALUES distinct values hold is not in the model."""
    values = [f"AB{i:04d}" for i in range(300)] + [f"QZ{i:04d}" for i in range(MIN_SHAPE_VALUES - 1)]
    shapes = Shapes.fit(pd.Series(values))
    assert not any("\\Q\\Z" in t for t in shapes.templates)
    assert any(t.startswith("\\A\\B") for t in shapes.templates)
    # Nor one person's logins (jsmith01..jsmith07) among 500 others': their letters are a name,
    # not the column's format.
    rng = np.random.default_rng(0)
    logins = [
        "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), 6)) + f"{rng.integers(100):02d}"
        for _ in range(500)
    ]
    shapes = Shapes.fit(pd.Series(logins + [f"jsmith{i:02d}" for i in range(1, 8)]))
    assert not any("\\j\\s" in t for t in shapes.templates), shapes.templates


def _source(url: str) -> None:
    """The repro's tables (% written %% for the driver)."""
    run_sql(
        url,
        """CREATE TABLE p (id serial PRIMARY KEY, code varchar(10) UNIQUE CHECK (code LIKE 'A%%' OR code ~ '^B[0-9]+$'), v int);
INSERT INTO p (code, v) SELECT CASE WHEN g %% 2 = 0 THEN 'A' || g ELSE 'B' || g END, g %% 9 FROM generate_series(1, 400) g;
CREATE TABLE c (id serial PRIMARY KEY, pid int NOT NULL REFERENCES p (id), w int);
INSERT INTO c (pid, w) SELECT 1 + g %% 400, g %% 5 FROM generate_series(1, 2000) g;""",
    )


@pytest.mark.postgresql
def test_a_checked_code_keeps_its_rows_on_postgresql(pg_db: Callable[[], str]) -> None:
    source, target = pg_db(), pg_db()
    _source(source)
    relsynth.synthesize(source, target, seed=1)
    codes = [r[0] for r in fetch(target, "SELECT code FROM p")]
    assert len(codes) >= 0.9 * 400
    assert fetch(target, "SELECT count(*) FROM c")[0][0] >= 0.9 * 2000
    assert all(AB_CHECK.match(c) for c in codes)
    assert not set(codes) & set(AB_CODES)  # no source code copied


@pytest.mark.postgresql
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def test_codes_keep_their_prefix_in_other_dialects(kind: str, request: pytest.FixtureRequest) -> None:
    """Into SQLite or MariaDB, where the PostgreSQL regex CHECK is not recreated, the codes still
    start with A or B (and the B ones are all digits after it)."""
    source, target = request.getfixturevalue("pg_db")(), request.getfixturevalue(f"{kind}_db")()
    _source(source)
    relsynth.synthesize(source, target, seed=1)
    codes = [r[0] for r in fetch(target, "SELECT code FROM p")]
    assert len(codes) >= 0.9 * 400
    assert all(AB_CHECK.match(c) for c in codes), [c for c in codes if not AB_CHECK.match(c)][:5]
    assert not set(codes) & set(AB_CODES)
