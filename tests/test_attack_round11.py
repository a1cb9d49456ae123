"""Attack round 11 (a fresh-context attacker with the README only), on SQLite, PostgreSQL and
MariaDB: snowflake-style ids beside NULLs, and a child table learned from a sample.

- pandas makes floats of a column of integers and NULLs, so ids above 2**53 in a nullable foreign
  key merged with their neighbours: 6,000 children came out as 4, or piled onto a few parents.
- Under --fit-rows, a table whose only foreign key is optional is a root (no context parent) and
  was sampled on its own: the model saw the few children that both samples happened to hold, and
  learned that most parents have none (4,065 of 5,000 parents got no child, the rest 15 or 30).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import relsynth
from tests.conftest import EVERY_DATABASE, fetch, run_sql, scalar

BASE = 2**62


def _children_per_parent(url: str, parent: str, child: str, fk: str) -> dict[int, int]:
    sql = (
        f"SELECT c, COUNT(*) FROM (SELECT p.id, COUNT({child}.id) AS c FROM {parent} p "
        f"LEFT JOIN {child} ON {child}.{fk} = p.id GROUP BY p.id) z GROUP BY c"
    )
    return {int(c): int(n) for c, n in fetch(url, sql)}


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_snowflake_ids_in_a_nullable_foreign_key_keep_their_children(
    db: str, request: pytest.FixtureRequest
) -> None:
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    rows = [
        "CREATE TABLE acct (id BIGINT PRIMARY KEY, flag INTEGER NOT NULL);",
        "CREATE TABLE evt (id INTEGER PRIMARY KEY, acct_id BIGINT REFERENCES acct(id), kind VARCHAR(4) NOT NULL);",
    ]
    n = 0
    for g in range(1, 601):
        rows.append(f"INSERT INTO acct VALUES ({BASE + g}, {g % 2});")
        for k in range(1, 2 + g % 3):
            n += 1
            ref = "NULL" if k == 3 else str(BASE + g)
            rows.append(f"INSERT INTO evt VALUES ({n}, {ref}, 'k{n % 4}');")
    run_sql(source, "\n".join(rows))
    relsynth.synthesize(source, target, seed=3)
    assert scalar(target, "SELECT COUNT(*) FROM evt") == n  # 2 of 1,200 before
    assert scalar(target, "SELECT MIN(id) FROM acct") > 2**53  # keys stay snowflake-sized
    per_parent = _children_per_parent(target, "acct", "evt", "acct_id")
    assert max(per_parent) <= 6  # the source's parents have 1 or 2 each; hundreds on one before
    assert per_parent.get(0, 0) < 0.2 * 600


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_child_under_an_optional_key_learned_from_a_sample_keeps_its_children_per_parent(
    db: str, request: pytest.FixtureRequest
) -> None:
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    rows = [
        "CREATE TABLE par (id INTEGER PRIMARY KEY, g VARCHAR(4) NOT NULL);",
        "CREATE TABLE ch (id INTEGER PRIMARY KEY, par_id INTEGER REFERENCES par(id), a VARCHAR(4) NOT NULL);",
    ]
    rows += [f"INSERT INTO par VALUES ({p}, 'g{p % 3}');" for p in range(1, 3001)]
    rows += [f"INSERT INTO ch VALUES ({c}, {1 + (c * 7919) % 3000}, 'a{c % 10}');" for c in range(1, 9001)]
    run_sql(source, "\n".join(rows))
    assert relsynth.plan(relsynth.reflect(source))["ch"].context is None  # a root: the case attacked
    relsynth.synthesize(source, target, seed=3, sample_rows=300)
    per_parent = _children_per_parent(target, "par", "ch", "par_id")
    assert scalar(target, "SELECT COUNT(*) FROM ch") == 9000  # --scale 1 counts the source's rows
    # Every source parent has exactly 3 children; before, 80% had none and the rest 15 or 30.
    assert per_parent.get(0, 0) < 0.1 * 3000
    assert max(per_parent) <= 8


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_unique_codes_that_differ_only_in_case_are_not_generated(
    db: str, request: pytest.FixtureRequest
) -> None:
    """MariaDB's default collation compares text without case: generated codes 'qXa' and 'QxA'
    in a UNIQUE VARCHAR(3) stopped the load with an internal error (IntegrityError). Codes are now
    drawn again until they differ as that collation sees them, and every row is written."""
    import random
    import string

    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    rng = random.Random(12)
    codes: dict[str, str] = {}
    while len(codes) < 3000:
        code = "".join(rng.choice(string.ascii_letters) for _ in range(3))
        codes.setdefault(code.lower(), code)
    rows = ["CREATE TABLE k (id INTEGER PRIMARY KEY, code VARCHAR(3) NOT NULL UNIQUE);"]
    rows += [f"INSERT INTO k VALUES ({i}, '{c}');" for i, c in enumerate(codes.values())]
    run_sql(source, "\n".join(rows))
    relsynth.synthesize(source, target, seed=1)
    assert scalar(target, "SELECT COUNT(*) FROM k") == 3000
    assert scalar(target, "SELECT COUNT(DISTINCT LOWER(code)) FROM k") == 3000


@pytest.mark.mysql
@pytest.mark.parametrize("into", EVERY_DATABASE)
def test_bigint_unsigned_keys_past_2_63_stay_there(
    into: str, mysql_db: Callable[[], str], request: pytest.FixtureRequest, tmp_path
) -> None:
    """MariaDB's BIGINT UNSIGNED keys from 2**63 + 1: the key domain was clipped to a signed
    BIGINT, so they came out as 0, 1, ... and 2**63 - 1, and every child under one parent. SQLite
    cannot hold them exactly: a one-line error, and no target left behind."""

    source = mysql_db()
    top = 2**63
    rows = [
        "CREATE TABLE acct (id BIGINT UNSIGNED PRIMARY KEY, flag INTEGER NOT NULL);",
        "CREATE TABLE pos (id INTEGER PRIMARY KEY, acct_id BIGINT UNSIGNED NOT NULL REFERENCES acct(id), v INTEGER);",
    ]
    rows += [f"INSERT INTO acct VALUES ({top + g}, {g % 2});" for g in range(1, 801)]
    rows += [f"INSERT INTO pos VALUES ({c}, {top + 1 + c % 800}, {c % 7});" for c in range(1, 2401)]
    run_sql(source, "\n".join(rows))
    if into == "sqlite":
        path = tmp_path / "out.sqlite"
        with pytest.raises(relsynth.RelsynthError, match="SQLite cannot store"):
            relsynth.synthesize(source, f"sqlite:///{path}", seed=2)
        assert not path.exists()
        return
    target = request.getfixturevalue(f"{into}_db")()
    relsynth.synthesize(source, target, seed=2)
    low = scalar(target, "SELECT MIN(id) FROM acct")
    most = scalar(target, "SELECT MAX(c) FROM (SELECT COUNT(*) AS c FROM pos GROUP BY acct_id) z")
    assert int(low) > top  # from the source's smallest key up
    assert int(most) <= 8  # three children each in the source; all 2,400 under one parent before


@pytest.mark.postgresql
@pytest.mark.mysql
def test_infinities_from_postgresql_are_written_to_mariadb(
    pg_db: Callable[[], str], mysql_db: Callable[[], str]
) -> None:
    """PostgreSQL floats hold NaN and +-Infinity, MariaDB neither: the load stopped with an
    internal error (ProgrammingError). They are written as NULL there, and the summary says so."""
    source, target = pg_db(), mysql_db()
    run_sql(
        source,
        "CREATE TABLE m (id INTEGER PRIMARY KEY, x DOUBLE PRECISION NOT NULL, y DOUBLE PRECISION);\n"
        "INSERT INTO m SELECT g, CASE WHEN MOD(g, 10) = 1 THEN 'Infinity'::float8 WHEN MOD(g, 10) = 2 THEN "
        "'-Infinity'::float8 WHEN MOD(g, 10) = 3 THEN 'NaN'::float8 ELSE g * 0.5 END, "
        "CASE WHEN MOD(g, 9) = 0 THEN 'Infinity'::float8 ELSE g END FROM generate_series(1, 1000) g;",
    )
    out = relsynth.synthesize(source, target, seed=1)
    assert scalar(target, "SELECT COUNT(*) FROM m") >= 990  # a few left out: equal to a unique source record
    assert scalar(target, "SELECT COUNT(*) FROM m WHERE x IS NULL") > 0  # the infinities and NaN
    assert any("m.x" in change for change in out["write"].changes)


@pytest.mark.mysql
def test_a_composite_unique_key_of_text_holds_under_mariadbs_collation(mysql_db: Callable[[], str]) -> None:
    """Attack round 12: UNIQUE(region, code), codes of mixed case. A repeated pair took another
    region, chosen comparing the codes exactly, so ('NA', 'xYz') met ('NA', 'XyZ') and the load
    failed with an internal error. Chosen as MariaDB's default collation compares them now."""
    import random
    import string

    source, target = mysql_db(), mysql_db()
    rng = random.Random(4)
    rows = [
        "CREATE TABLE u4 (id INTEGER PRIMARY KEY, region VARCHAR(2) NOT NULL, code VARCHAR(3) NOT NULL, "
        "q INTEGER NOT NULL, UNIQUE (region, code));"
    ]
    seen: set[tuple[str, str]] = set()
    while len(seen) < 1500:
        region = rng.choice(["NA", "EU", "AS"])
        code = "".join(rng.choice(string.ascii_letters) for _ in range(3))
        if (region, code.lower()) not in {(r, c.lower()) for r, c in seen}:
            seen.add((region, code))
    rows += [f"INSERT INTO u4 VALUES ({i}, '{r}', '{c}', {i % 10});" for i, (r, c) in enumerate(sorted(seen))]
    run_sql(source, "\n".join(rows))
    relsynth.synthesize(source, target, seed=0)
    assert scalar(target, "SELECT COUNT(*) FROM u4") > 1400


@pytest.mark.parametrize("top", [2**60, 2**64 - 1])
@pytest.mark.parametrize("db", [p for p in EVERY_DATABASE if p.values[0] != "sqlite"])
def test_numeric_keys_past_a_floats_integers_stay_exact(
    db: str, top: int, request: pytest.FixtureRequest
) -> None:
    """Attack round 12: NUMERIC(20,0) keys (relsynth's own PostgreSQL copy of a BIGINT UNSIGNED)
    were read as floats, so neighbouring keys merged and the load failed with an internal error
    (UniqueViolation). Read, sampled and written as exact integers now."""
    make: Callable[[], str] = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    base = top - 450
    rows = [
        "CREATE TABLE p (id NUMERIC(20,0) PRIMARY KEY, v INTEGER NOT NULL);",
        "CREATE TABLE c (id NUMERIC(20,0) PRIMARY KEY, p_id NUMERIC(20,0) NOT NULL REFERENCES p(id), w INTEGER NOT NULL);",
    ]
    rows += [f"INSERT INTO p VALUES ({base + i}, {i % 9});" for i in range(400)]
    k = 0
    for i in range(400):
        for _ in range(i % 3):
            rows.append(f"INSERT INTO c VALUES ({base - 200_000 + k}, {base + i}, {k % 50});")
            k += 1
    run_sql(source, "\n".join(rows))
    relsynth.synthesize(source, target, seed=1)
    assert scalar(target, "SELECT COUNT(*) FROM p") == 400
    assert int(scalar(target, "SELECT MIN(id) FROM p")) == base  # from the source's smallest key up
    per_parent = _children_per_parent(target, "p", "c", "p_id")
    assert max(per_parent) <= 4  # 0, 1 or 2 children each in the source
