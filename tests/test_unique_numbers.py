"""UNIQUE columns of numbers that are measures (a price, a weight, a score): drawn from their
distribution with repeats spread on the column's grid, not generated as identifier shapes, which
lost their range (prices of 0-29.99 came back up to 99.99), collided as 4-byte floats, and at
--scale 10 dropped rows for want of distinct values. On SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import relsynth
from relsynth.model.unique import _window, nudge_unique, spread_unique
from relsynth.profile import UNIQUE_NUMBER_REASON, infer_kind
from relsynth.schema import Column, Kind, SqlType, Table, Unique
from tests.conftest import EVERY_DATABASE, fetch, run_sql, scalar

REAL4 = {"sqlite": "REAL", "pg": "REAL", "mysql": "FLOAT"}


def _measures(db: str) -> str:
    """3,000 rows: every cent of 0-29.99 once (dense), 4-byte floats within 0.03 of 50 (neighbours
    a float's step apart), scores of 100,000-199,999."""
    rng = np.random.default_rng(5)
    price = rng.permutation(3000) / 100
    weight = np.unique(rng.normal(50, 0.01, 6000).astype(np.float32))
    weight = rng.permutation(weight)[:3000]
    score = rng.choice(np.arange(100_000, 200_000), 3000, replace=False)
    rows = ", ".join(f"({i}, {price[i]:.2f}, {float(weight[i])!r}, {score[i]})" for i in range(3000))
    return (
        f"CREATE TABLE m (id INTEGER PRIMARY KEY, price NUMERIC(6,2) NOT NULL UNIQUE, "
        f"w {REAL4[db]} UNIQUE, score INTEGER UNIQUE);\n"
        f"INSERT INTO m VALUES {rows};"
    )


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_unique_measures_keep_their_range_and_every_row(db: str, request) -> None:  # type: ignore[no-untyped-def]
    source, target = (request.getfixturevalue(f"{db}_db")() for _ in range(2))
    run_sql(source, _measures(db))
    low, high = fetch(source, "SELECT MIN(w), MAX(w) FROM m")[0]
    result = relsynth.synthesize(source, target, seed=1)
    assert result["write"].verification.problems == 0
    rows = pd.DataFrame(fetch(target, "SELECT price, w, score FROM m"), columns=["price", "w", "score"])
    assert len(rows) == 3000
    for col in ("price", "w", "score"):  # counted by the database: MariaDB's FLOAT reads as 6 digits
        assert scalar(target, f"SELECT COUNT(DISTINCT {col}) FROM m") == 3000
    price = rows["price"].astype(float)
    assert price.min() >= 0 and price.max() <= 29.99  # as identifier shapes: up to 99.99
    assert rows["score"].min() >= 100_000 and rows["score"].max() <= 199_999  # from 461 up to 999,902
    assert low - 0.01 <= rows["w"].min() and rows["w"].max() <= high + 0.01  # from 0.02 up to 99.99
    assert abs(price.median() - 14.995) < 1.5

    bigger = request.getfixturevalue(f"{db}_db")()
    result = relsynth.synthesize(source, bigger, seed=1, scale=4)
    assert result["write"].verification.problems == 0
    assert scalar(bigger, "SELECT COUNT(*) FROM m") == 12_000  # 8,166 of 30,000 at --scale 10
    for col in ("price", "w", "score"):
        assert scalar(bigger, f"SELECT COUNT(DISTINCT {col}) FROM m") == 12_000


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_unique_number_a_foreign_key_refers_to_stays_a_key(db: str, request) -> None:  # type: ignore[no-untyped-def]
    """rank is UNIQUE and named like no key, but entry.slot refers to it: its values are keys."""
    source, target = (request.getfixturevalue(f"{db}_db")() for _ in range(2))
    parents = ", ".join(f"({i}, {1000 + 7 * i})" for i in range(1, 301))
    children = ", ".join(f"({i}, {1000 + 7 * (1 + i % 300)})" for i in range(1, 901))
    run_sql(
        source,
        "CREATE TABLE board (id INTEGER PRIMARY KEY, rank INTEGER NOT NULL UNIQUE);\n"
        "CREATE TABLE entry (id INTEGER PRIMARY KEY, slot INTEGER NOT NULL REFERENCES board(rank));\n"
        f"INSERT INTO board VALUES {parents};\nINSERT INTO entry VALUES {children};",
    )
    model = relsynth.fit(source, seed=2)
    rank = model.schema.table("board").column("rank")
    assert rank.kind is Kind.ID and "referred to" in rank.kind_reason
    result = relsynth.synthesize(source, target, seed=2)
    assert result["write"].verification.problems == 0
    orphans = "SELECT COUNT(*) FROM entry WHERE slot NOT IN (SELECT rank FROM board)"
    assert scalar(target, orphans) == 0


@pytest.mark.parametrize(
    ("name", "sqltype", "values", "kind"),
    [
        ("price", SqlType("numeric", precision=6, scale=2), [1.5, 2.25], Kind.NUMERICAL),
        ("weight", SqlType("float"), [1.5, 2.25], Kind.NUMERICAL),
        ("amount", SqlType("numeric"), [1.5, 2.0], Kind.NUMERICAL),
        ("score", SqlType("integer"), [100, 200], Kind.NUMERICAL),
        ("customer_no", SqlType("integer"), [100, 200], Kind.ID),
        ("account_id", SqlType("bigint"), [100, 200], Kind.ID),
        ("ref", SqlType("numeric"), [100, 200], Kind.NUMERICAL),
        ("snowflake", SqlType("bigint"), [1_700_000_000_000_000_000, 1_700_000_000_000_004_096], Kind.ID),
    ],
)
def test_which_unique_numbers_are_measures(name: str, sqltype: SqlType, values: list, kind: Kind) -> None:  # type: ignore[type-arg]
    table = Table("t", (Column(name, sqltype),), unique=(Unique(None, (name,)),))
    got, why = infer_kind(table, table.columns[0], pd.Series(values * 20))
    assert got is kind
    assert (why == UNIQUE_NUMBER_REASON) == (kind is Kind.NUMERICAL)


def test_spread_moves_repeats_as_little_as_it_takes() -> None:
    ints = np.array([5, 3, 5, 5, 9, 20])
    out = spread_unique(ints, (-100, 100))
    assert out is not None and len(set(out.tolist())) == len(ints)
    assert out[1] < out[0] and out[4] > out[0] and out[5] == 20  # order kept, far values untouched
    assert sorted(out[[0, 2, 3]].tolist()) == [4, 5, 6]  # a cluster spreads both ways


def test_the_window_is_the_drawn_range_while_it_has_room_then_the_type_and_checks_allow() -> None:
    rng = np.random.default_rng(0)
    dense = rng.integers(0, 1000, 1000)
    window = _window(dense, (-(10**6), 10**6), 1000, lambda _: True)
    assert window == (dense.min(), dense.min() + 999)
    out = spread_unique(dense, window)  # type: ignore[arg-type]
    assert out is not None and sorted(out.tolist()) == list(range(dense.min(), dense.min() + 1000))
    zeros = np.zeros(50, dtype=np.int64)
    assert _window(zeros, (0, 100), 50, lambda _: True) == (0, 49)  # the type ends it below
    assert _window(zeros, (-100, 100), 50, lambda i: i >= 0) == (0, 49)  # a CHECK does
    assert _window(zeros, (-100, 100), 50, lambda _: True) == (-24, 25)  # else both sides widen
    assert _window(zeros, (0, 48), 50, lambda _: True) is None
    assert spread_unique(zeros, (0, 48)) is None


def test_a_unique_column_avoids_the_values_earlier_batches_wrote() -> None:
    """--batch-rows: a UNIQUE price an earlier batch wrote was written again (the batches held
    it as text and as a number), and the load stopped with an internal error."""
    frame = pd.DataFrame({"p": [1.5, 1.5, 2.0, 3.25]})
    keep = np.ones(4, dtype=bool)
    dup = np.array([False, True, False, False])
    left, room = nudge_unique(
        frame, "p", keep, dup, SqlType("numeric", precision=6, scale=2), {("2.00",), (1.5,)}
    )
    assert not left.any() and room is None
    values = frame["p"].tolist()
    assert len(set(values)) == 4 and not {1.5, 2.0} & set(values)


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_unique_measures_hold_across_batches_and_within_their_checks(db: str, request) -> None:  # type: ignore[no-untyped-def]
    """Attack round 24: in batches of 1,000 a UNIQUE price repeated one an earlier batch wrote
    (an internal error); widened past its drawn range, a UNIQUE position broke its CHECK (30
    rows of 1..30 at --scale 3: all 90 dropped, though 1..100 holds them), prices went below 0."""
    source = request.getfixturevalue(f"{db}_db")()
    credits = ", ".join(f"({g}, {g * 0.37:.2f})" for g in range(1, 6001))
    run_sql(
        source,
        "CREATE TABLE c (id INTEGER PRIMARY KEY, credit NUMERIC(8,2) UNIQUE CHECK (credit >= 0));\n"
        "CREATE TABLE s (id INTEGER PRIMARY KEY, position SMALLINT NOT NULL UNIQUE "
        "CHECK (position BETWEEN 1 AND 100));\n"
        f"INSERT INTO c VALUES {credits};\n"
        "INSERT INTO s VALUES " + ", ".join(f"({g}, {g})" for g in range(1, 31)) + ";",
    )
    batched = request.getfixturevalue(f"{db}_db")()
    result = relsynth.synthesize(source, batched, seed=1, batch_rows=1000)
    assert result["write"].verification.problems == 0
    assert scalar(batched, "SELECT COUNT(DISTINCT credit) FROM c") == 6000
    wider = request.getfixturevalue(f"{db}_db")()
    result = relsynth.synthesize(source, wider, seed=1, scale=3)
    assert result["write"].verification.problems == 0
    assert scalar(wider, "SELECT COUNT(*) FROM s") == 90
    assert scalar(wider, "SELECT COUNT(*) FROM c") == 18_000
    assert scalar(wider, "SELECT MIN(credit) FROM c") >= 0


def _totals() -> str:
    """200 invoices whose UNIQUE total is the sum of their lines' amounts; 400 rows whose UNIQUE
    total is net + tax."""
    rng = np.random.default_rng(8)
    lines, invoices, used = [], [], set()
    for i in range(1, 201):
        while True:
            amounts = [round(float(a), 2) for a in rng.uniform(5, 120, rng.integers(1, 5))]
            total = round(sum(amounts), 2)
            if total not in used:
                break
        used.add(total)
        invoices.append(f"({i}, {total:.2f})")
        lines += [f"({len(lines) + j + 1}, {i}, {a:.2f})" for j, a in enumerate(amounts)]
    sums = []
    for i in range(1, 401):
        net, tax = 10 + i * 1.17, round(2 + (i % 13) * 0.5, 2)
        sums.append(f"({i}, {net:.2f}, {tax:.2f}, {net + tax:.2f})")
    return (
        "CREATE TABLE invoice (id INTEGER PRIMARY KEY, total NUMERIC(10,2) NOT NULL UNIQUE);\n"
        "CREATE TABLE line (id INTEGER PRIMARY KEY, invoice_id INTEGER NOT NULL REFERENCES invoice(id), "
        "amount NUMERIC(8,2) NOT NULL);\n"
        "CREATE TABLE inv (id INTEGER PRIMARY KEY, net NUMERIC(10,2), tax NUMERIC(10,2), "
        "total NUMERIC(10,2) UNIQUE);\n"
        f"INSERT INTO invoice VALUES {', '.join(invoices)};\n"
        f"INSERT INTO line VALUES {', '.join(lines)};\n"
        f"INSERT INTO inv VALUES {', '.join(sums)};"
    )


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_unique_total_is_no_relation_that_its_moves_would_break(db: str, request) -> None:  # type: ignore[no-untyped-def]
    """Attack round 24: a UNIQUE total learned as the sum of its lines was summed again after
    its repeats were moved (an internal error at --scale 2), and net = total - tax, with a
    UNIQUE total, broke on 363 rows of 400 once totals moved. Neither is learned now."""
    source, target = (request.getfixturevalue(f"{db}_db")() for _ in range(2))
    run_sql(source, _totals())
    model = relsynth.fit(source, seed=1)
    said = " ".join(model.relations_summary())
    assert "total" not in said, said
    result = relsynth.synthesize(source, target, seed=1, scale=2)
    assert result["write"].verification.problems == 0
    for table in ("invoice", "inv"):
        assert scalar(target, f"SELECT COUNT(DISTINCT total) FROM {table}") == scalar(
            target, f"SELECT COUNT(*) FROM {table}"
        )


@pytest.mark.postgresql
def test_a_unique_numeric_holds_nan_no_more_than_once(pg_db) -> None:  # type: ignore[no-untyped-def]
    """Attack round 24: NaN in a UNIQUE NOT NULL NUMERIC (PostgreSQL's NaN equals NaN there)
    drawn twice for some seeds: the load stopped with an internal error."""
    source = pg_db()
    run_sql(
        source,
        "CREATE TABLE q (id int PRIMARY KEY, v numeric NOT NULL UNIQUE);\n"
        "INSERT INTO q SELECT g, CASE WHEN g = 1 THEN 'NaN' ELSE g * 1.5 END FROM generate_series(1, 300) g;",
    )
    for seed in (0, 1, 2):
        target = pg_db()
        result = relsynth.synthesize(source, target, seed=seed, scale=3)
        assert result["write"].verification.problems == 0
        assert scalar(target, "SELECT COUNT(*) FROM q WHERE v = 'NaN'") <= 1


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_two_unique_constraints_sharing_a_column_both_hold(db: str, request) -> None:  # type: ignore[no-untyped-def]
    """Attack round 24: UNIQUE (x, y) and UNIQUE (y, z): y redrawn for the second repeated pairs
    of the first, which was checked before (an internal error on every dialect)."""
    source, target = (request.getfixturevalue(f"{db}_db")() for _ in range(2))
    rows = ", ".join(f"({g}, {g % 20}, {g // 20}, {(g * 7) % 20})" for g in range(1, 501))
    run_sql(
        source,
        "CREATE TABLE c (id INTEGER PRIMARY KEY, x INTEGER NOT NULL, y INTEGER NOT NULL, z INTEGER, "
        f"UNIQUE (x, y), UNIQUE (y, z));\nINSERT INTO c VALUES {rows};",
    )
    result = relsynth.synthesize(source, target, seed=1)
    assert result["write"].verification.problems == 0
    assert scalar(target, "SELECT COUNT(*) FROM c") > 0


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_drawn_number_in_a_composite_unique_is_spread_within_its_group(db: str, request) -> None:  # type: ignore[no-untyped-def]
    """Attack round 24: UNIQUE (league, position), 100 positions in each of 5 leagues: drawn
    again from the column's values, a league of more rows than positions kept 100 of them (496
    of 5,000 rows at --scale 10)."""
    source = request.getfixturevalue(f"{db}_db")()
    rows = ", ".join(f"({g + 1}, 'L{g // 100}', {1 + g % 100}, {(g * 37) % 11})" for g in range(500))
    run_sql(
        source,
        "CREATE TABLE st (id INTEGER PRIMARY KEY, league VARCHAR(5) NOT NULL, position INTEGER NOT NULL, "
        f"points INTEGER, UNIQUE (league, position));\nINSERT INTO st VALUES {rows};",
    )
    for scale in (1, 3):
        target = request.getfixturevalue(f"{db}_db")()
        result = relsynth.synthesize(source, target, seed=1, scale=scale)
        assert result["write"].verification.problems == 0
        assert result["report"].dropped_duplicates.get("st", 0) == 0  # (some equal a source record)


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_a_unique_text_column_of_dates_stays_dates(db: str, request) -> None:  # type: ignore[no-untyped-def]
    """Attack round 24: a UNIQUE VARCHAR(10) of one day a row was an identifier, written as
    shapes of its text: 2023-50-65, 381 of 400 no date."""
    import datetime as dt

    source, target = (request.getfixturevalue(f"{db}_db")() for _ in range(2))
    days = ", ".join(f"({g}, '{dt.date(2020, 1, 1) + dt.timedelta(days=g)}', {g % 7})" for g in range(1, 401))
    run_sql(
        source,
        f"CREATE TABLE d (id INTEGER PRIMARY KEY, day VARCHAR(10) NOT NULL UNIQUE, n INTEGER);\nINSERT INTO d VALUES {days};",
    )
    result = relsynth.synthesize(source, target, seed=1, scale=2)
    assert result["write"].verification.problems == 0
    days_out = [r[0] for r in fetch(target, "SELECT day FROM d")]
    assert len(days_out) >= 600 and len(set(days_out)) == len(days_out)  # (some equal a source record)
    assert all(dt.date.fromisoformat(d) for d in days_out)  # every one a date


def _times(db: str) -> str:
    """Hourly UNIQUE timestamps, daily UNIQUE dates, minutes of a day UNIQUE, and a composite
    UNIQUE (sensor, hour): 20 sensors read every hour."""
    import datetime as dt

    start = dt.datetime(2022, 1, 1)
    stamp = "TIMESTAMP" if db == "pg" else "DATETIME"
    return (
        f"CREATE TABLE h (id INTEGER PRIMARY KEY, ts {stamp} NOT NULL UNIQUE, note VARCHAR(5));\n"
        "CREATE TABLE d (id INTEGER PRIMARY KEY, day DATE NOT NULL UNIQUE, note VARCHAR(5));\n"
        "CREATE TABLE tm (id INTEGER PRIMARY KEY, t TIME NOT NULL UNIQUE, n INTEGER);\n"
        f"CREATE TABLE s (id INTEGER PRIMARY KEY, sensor INTEGER NOT NULL, ts {stamp} NOT NULL, v REAL, "
        "UNIQUE (sensor, ts));\n"
        "INSERT INTO h VALUES "
        + ", ".join(f"({g}, '{start + dt.timedelta(hours=g)}', 'x')" for g in range(1, 401))
        + ";\nINSERT INTO d VALUES "
        + ", ".join(f"({g}, '{(start + dt.timedelta(days=g)).date()}', 'x')" for g in range(1, 401))
        + ";\nINSERT INTO tm VALUES "
        + ", ".join(
            f"({g}, '{(start + dt.timedelta(minutes=2 * g)).time()}', {g % 5})" for g in range(1, 301)
        )
        + ";\nINSERT INTO s VALUES "
        + ", ".join(
            f"({g}, {g % 20}, '{start + dt.timedelta(hours=g // 20)}', {g % 7})" for g in range(1, 801)
        )
        + ";"
    )


@pytest.mark.parametrize("db", EVERY_DATABASE)
def test_unique_times_are_spread_in_one_batch_and_across_batches(db: str, request) -> None:  # type: ignore[no-untyped-def]
    """Attack round 25: hourly UNIQUE timestamps held as objects were no times to the spread (201
    of 800 kept), times of day neither (305 of 500), and in batches of 300 the dates and
    (sensor, ts) pairs an earlier batch wrote were dropped, not moved (1,000 of 3,000 kept)."""
    source = request.getfixturevalue(f"{db}_db")()
    run_sql(source, _times(db))
    for kwargs in ({"scale": 1}, {"scale": 3, "batch_rows": 300}):
        target = request.getfixturevalue(f"{db}_db")()
        result = relsynth.synthesize(source, target, seed=1, **kwargs)
        assert result["write"].verification.problems == 0
        assert result["report"].dropped_duplicates == {}, result["report"].lines()
        sensors = fetch(target, "SELECT MIN(sensor), MAX(sensor) FROM s")[0]
        assert sensors[0] >= 0 and sensors[1] <= 19  # the times move, not the sensors


@pytest.mark.parametrize(
    ("values", "sqltype", "step"),
    [
        # Attack round 24: pts = 2, 4, ... 800, UNIQUE double: spread on a tenth once the drawn
        # range was full, 96 of 400 rows came out as 685.9 and the like.
        (np.random.default_rng(1).integers(1, 400, 400) * 2.0, SqlType("double"), 1),
        # Attack round 25: levels 5, 10, ... 2,000 under CHECK (lvl % 5 = 0): spread by ones,
        # 151 of 400 broke the CHECK and were dropped.
        (np.random.default_rng(2).integers(1, 400, 400) * 5, SqlType("integer"), 5),
    ],
)
def test_unique_whole_numbers_keep_their_step(values: np.ndarray, sqltype: SqlType, step: int) -> None:
    frame = pd.DataFrame({"x": values})
    left, _ = nudge_unique(frame, "x", np.ones(400, dtype=bool), frame["x"].duplicated().to_numpy(), sqltype)
    assert not left.any() and frame["x"].is_unique
    assert (frame["x"] % step == 0).all()
