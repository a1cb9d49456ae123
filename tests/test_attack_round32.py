"""Attack round 32 (a README-only helper's unseen databases): what was fixed in the main line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from relsynth.errors import ModelError


def _app_db(path: Path) -> bytes:
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL);"
        "INSERT INTO note VALUES (1, 'keep me'), (2, 'and me');"
    )
    con.commit()
    con.close()
    return path.read_bytes()


def test_fit_never_replaces_a_file_that_is_not_a_model(tmp_path: Path, demo_db: str) -> None:
    """`fit URL -o app.db` where app.db is another application's SQLite database wrote a model over
    it; now refused in one line before the source is read, and the file is left as it was."""
    victim = tmp_path / "app.db"
    before = _app_db(victim)
    result = CliRunner().invoke(main, ["fit", demo_db, "-o", str(victim), "--quiet"])
    assert result.exit_code != 0
    assert "is a SQLite database, not a relsynth model file" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert victim.read_bytes() == before
    other = tmp_path / "notes.txt"
    other.write_text("a list")
    result = CliRunner().invoke(main, ["fit", demo_db, "-o", str(other), "--quiet"])
    assert result.exit_code != 0 and "a file of another kind" in result.output
    assert other.read_text() == "a list"
    # The library refuses too; a model file and an empty file are replaced as before.
    model = relsynth.fit(demo_db, seed=0)
    with pytest.raises(ModelError, match="a SQLite database"):
        model.save(victim)
    assert victim.read_bytes() == before
    empty = tmp_path / "m.rsm"
    empty.touch()
    model.save(empty)
    model.save(empty)
    assert type(model).load(empty).tables.keys() == model.tables.keys()


_APP = """
CREATE TABLE account (
  id integer primary key autoincrement,
  handle text not null unique collate nocase,
  referrer_handle text references account(handle) deferrable initially deferred,
  seen_ms integer not null
);
CREATE TABLE device (
  account_handle text not null collate "NoCase" references account(handle),
  device_no integer not null,
  primary key (account_handle, device_no)
) without rowid;
"""


def _app(path: Path) -> str:
    con = sqlite3.connect(path)
    con.executescript(_APP)
    for i in range(1, 401):
        ref = f"'user{i - 1}'" if i > 1 and i % 3 else "NULL"
        con.execute(f"INSERT INTO account VALUES ({i}, 'user{i}', {ref}, {1_700_000_000_000 + i * 997})")
        for d in range(1, 1 + i % 3):
            con.execute(f"INSERT INTO device VALUES ('user{i}', {d})")
    con.commit()
    con.close()
    return f"sqlite:///{path}"


def test_sqlite_keeps_its_collations_deferrable_keys_and_autoincrement(tmp_path: Path) -> None:
    """SQLite to SQLite lost COLLATE NOCASE, an inline REFERENCES ... DEFERRABLE INITIALLY DEFERRED
    and AUTOINCREMENT, and said nothing: 'BOB' and 'bob' became two accounts, a referrer inserted
    after its account failed at once."""
    source, target = _app(tmp_path / "app.db"), tmp_path / "out.db"
    relsynth.synthesize(source, f"sqlite:///{target}", seed=2)
    con = sqlite3.connect(target)
    con.execute("PRAGMA foreign_keys = ON")
    ddl = " ".join(r[0] for r in con.execute("SELECT sql FROM sqlite_master WHERE type = 'table'") if r[0])
    assert "AUTOINCREMENT" in ddl
    handle = con.execute("SELECT handle FROM account LIMIT 1").fetchone()[0]
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):  # one key, whatever the case
        con.execute("INSERT INTO account (handle, seen_ms) VALUES (?, 1)", (handle.upper(),))
    con.execute("INSERT INTO device VALUES (?, 99)", (handle.upper(),))  # the key matches, case aside
    con.rollback()
    with con:  # a referrer named before its account exists: checked at COMMIT
        con.execute("INSERT INTO account (handle, referrer_handle, seen_ms) VALUES ('zz1', 'zz2', 1)")
        con.execute("INSERT INTO account (handle, seen_ms) VALUES ('zz2', 1)")
    con.close()


@pytest.mark.parametrize("db", ["pg", "mysql"])
def test_sqlite_integers_past_32_bits_reach_another_database(
    db: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A millisecond epoch in a SQLite INTEGER overflowed PostgreSQL's integer: the load stopped
    with an internal error. SQLite's integers are 64-bit: BIGINT in the target. What NOCASE did
    there is said under changed:."""
    from tests.conftest import fetch

    target = request.getfixturevalue(f"{db}_db")()
    result = relsynth.synthesize(_app(tmp_path / "app.db"), target, seed=2)
    assert fetch(target, "SELECT MIN(seen_ms) FROM account")[0][0] > 2**31
    changes = " ".join(result["write"].changes)
    assert "account.handle" in changes and "without COLLATE NOCASE" in changes


_UNITS = {"GLU": ("mg/dL", 100.0, 15.0), "HGB": ("g/dL", 14.0, 1.5), "K": ("mmol/L", 4.2, 0.4)}


def _lab(url: str) -> None:
    from tests.conftest import run_sql

    rng = np.random.default_rng(5)
    rows = [
        "CREATE TABLE lab_order (id INTEGER PRIMARY KEY, ward VARCHAR(4) NOT NULL);",
        "CREATE TABLE order_test (order_id INTEGER NOT NULL REFERENCES lab_order(id), code VARCHAR(8) NOT NULL,"
        " PRIMARY KEY (order_id, code));",
        "CREATE TABLE result (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, code VARCHAR(8) NOT NULL,"
        " unit VARCHAR(8) NOT NULL, value DECIMAL(8,2) NOT NULL,"
        " FOREIGN KEY (order_id, code) REFERENCES order_test(order_id, code));",
    ]
    n = 0
    for o in range(1, 1201):
        rows.append(f"INSERT INTO lab_order VALUES ({o}, 'W{o % 4}');")
        for code in rng.choice(list(_UNITS), size=int(rng.integers(1, 4)), replace=False):
            rows.append(f"INSERT INTO order_test VALUES ({o}, '{code}');")
            unit, mean, sd = _UNITS[str(code)]
            n += 1
            rows.append(
                f"INSERT INTO result VALUES ({n}, {o}, '{code}', '{unit}', {rng.normal(mean, sd):.2f});"
            )
    run_sql(url, "\n".join(rows))


@pytest.mark.parametrize("db", ["sqlite", "pg", "mysql"])
def test_a_code_in_the_key_into_the_parent_sets_the_values_drawn(
    db: str, request: pytest.FixtureRequest
) -> None:
    """Results keyed (order_id, loinc_code) into their order's tests: the code came from the key,
    the unit and value were drawn without it, and 52% of results carried another test's unit."""
    from tests.conftest import fetch

    make = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    _lab(source)
    relsynth.synthesize(source, target, seed=1)
    rows = fetch(target, "SELECT code, unit, value FROM result")
    assert len(rows) > 1500
    wrong = sum(unit != _UNITS[code][0] for code, unit, _ in rows)
    assert wrong <= 0.02 * len(rows)  # 2%: the units of rare folds aside
    for code, (_, mean, sd) in _UNITS.items():
        values = np.array([float(v) for c, _, v in rows if c == code])
        assert abs(values.mean() - mean) < sd, code


def _orders(url: str) -> None:
    from tests.conftest import run_sql

    rng = np.random.default_rng(8)
    rows = [
        "CREATE TABLE patient (id INTEGER PRIMARY KEY, sex VARCHAR(1) NOT NULL);",
        "CREATE TABLE lab_order (id INTEGER PRIMARY KEY, patient_id INTEGER NOT NULL REFERENCES patient(id),"
        " ordered_at TIMESTAMP NOT NULL, reflex_of INTEGER REFERENCES lab_order(id));",
    ]
    rows += [f"INSERT INTO patient VALUES ({p}, '{'FM'[p % 2]}');" for p in range(1, 301)]
    when = {}
    for o in range(1, 3001):
        patient = int(rng.integers(1, 301))  # a reflex test's order is another patient's, as random
        if o % 10 == 0:
            when[o] = when[o - 1] + 7200
            ref = str(o - 1)
        else:
            when[o] = 1_640_995_200 + int(rng.integers(0, 700 * 86400))
            ref = "NULL"
        stamp = f"'{np.datetime64(when[o], 's').astype(str).replace('T', ' ')}'"
        rows.append(f"INSERT INTO lab_order VALUES ({o}, {patient}, {stamp}, {ref});")
    run_sql(url, "\n".join(rows))


@pytest.mark.parametrize("db", ["sqlite", "pg"])
def test_a_self_reference_across_parents_still_names_an_earlier_row(
    db: str, request: pytest.FixtureRequest
) -> None:
    """Every reflex test is ordered after the test it reflexes off, an order of any patient: the
    README's promise held only for chains within one parent, and 561 of 1,154 synthetic reflex
    orders came before the order they named."""
    from tests.conftest import fetch

    make = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    _orders(source)
    said = relsynth.fit(source, seed=0).relations_summary()
    assert any("names an earlier row by ordered_at" in line for line in said)
    relsynth.synthesize(source, target, seed=1)
    pairs = fetch(
        target,
        "SELECT o.ordered_at, p.ordered_at FROM lab_order o JOIN lab_order p ON p.id = o.reflex_of",
    )
    assert len(pairs) > 200
    assert all(str(child) >= str(parent) for child, parent in pairs)


def test_names_after_a_title_are_personal_data_whatever_the_name_lists() -> None:
    """'Dr. Novak', 'Dr. Okafor': four doctors called about critical results were copied into the
    output and the model file, their names in no name list and too few to count as surnames."""
    import pandas as pd

    from relsynth.pii_detect import detect

    assert detect(pd.Series(["Dr. Novak", "Dr. Ito", "Dr. Okafor", "Dr. Silva"] * 50))[0] == "last_name"
    assert detect(pd.Series(["Dr. Ana Ito", "Mrs. Maria Silva", "Prof. Okafor"] * 50))[0] == "person_name"
    assert detect(pd.Series(["Mr.", "Ms.", "Dr.", "Mrs."] * 50))[0] is None  # titles alone: no one


@pytest.mark.parametrize("db", ["sqlite", "pg", "mysql"])
def test_a_composite_key_with_a_null_member_keeps_its_not_null_columns(
    db: str, request: pytest.FixtureRequest
) -> None:
    """Results keyed (order_id, loinc_code) into their order's tests, 5% of them with no code: the
    row has no parent (MATCH SIMPLE), and its NOT NULL order_id was written NULL (NotNullViolation
    on PostgreSQL, the whole write lost)."""
    from tests.conftest import fetch, run_sql

    make = request.getfixturevalue(f"{db}_db")
    source, target = make(), make()
    rng = np.random.default_rng(4)
    rows = [
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, ward VARCHAR(4) NOT NULL);",
        "CREATE TABLE order_test (order_id INTEGER NOT NULL REFERENCES orders(id), code VARCHAR(8) NOT NULL,"
        " PRIMARY KEY (order_id, code));",
        "CREATE TABLE result (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, code VARCHAR(8),"
        " value REAL, FOREIGN KEY (order_id, code) REFERENCES order_test(order_id, code));",
    ]
    n = 0
    for o in range(1, 801):
        rows.append(f"INSERT INTO orders VALUES ({o}, 'W{o % 3}');")
        for code in rng.choice(["GLU", "HGB", "K", "NA"], size=int(rng.integers(1, 4)), replace=False):
            rows.append(f"INSERT INTO order_test VALUES ({o}, '{code}');")
            n += 1
            rows.append(f"INSERT INTO result VALUES ({n}, {o}, '{code}', {rng.normal(50, 9):.2f});")
            if rng.random() < 0.05:
                n += 1
                rows.append(f"INSERT INTO result VALUES ({n}, {o}, NULL, NULL);")
    run_sql(source, "\n".join(rows))
    relsynth.synthesize(source, target, seed=1)
    ((total, coded, ordered),) = fetch(target, "SELECT COUNT(*), COUNT(code), COUNT(order_id) FROM result")
    assert ordered == total > 1000
    assert 0 < total - coded < 0.15 * total  # the rows of no code are still there


@pytest.mark.parametrize("db", ["sqlite", "pg", "mysql"])
def test_codes_spelled_otherwise_than_their_nocase_key_reach_every_target(
    db: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A third of the employees name their department 'DEP001' for the NOCASE key 'Dep001': valid
    in SQLite, drawn as the child's own spelling, and then 'orphans' in a SQLite target's check
    and an IntegrityError that stopped the write into PostgreSQL."""
    from tests.conftest import fetch

    path = tmp_path / "src.db"
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE dept (dept_id INTEGER PRIMARY KEY, code TEXT NOT NULL COLLATE NOCASE UNIQUE, label TEXT);"
        "CREATE TABLE emp (emp_id INTEGER PRIMARY KEY, dept_code TEXT REFERENCES dept(code), salary INTEGER);"
    )
    con.executemany(
        "INSERT INTO dept VALUES (?, ?, ?)", [(i, f"Dep{i:03d}", f"label {i % 7}") for i in range(1, 201)]
    )
    rng = np.random.default_rng(2)
    rows = []
    for e in range(1, 3001):
        code = f"Dep{int(rng.integers(1, 201)):03d}"
        rows.append((e, code.upper() if e % 3 == 0 else code, int(rng.integers(1000, 9000))))
    con.executemany("INSERT INTO emp VALUES (?, ?, ?)", rows)
    con.commit()
    con.close()
    target = request.getfixturevalue(f"{db}_db")()
    result = relsynth.synthesize(f"sqlite:///{path}", target, seed=1)
    assert not result["write"].verification.problems
    spelled = fetch(
        target,
        "SELECT COUNT(*) FROM emp WHERE dept_code IS NOT NULL AND dept_code NOT IN (SELECT code FROM dept)",
    )
    assert spelled == [(0,)]  # every code as its key spells it, whatever the target compares


def test_a_self_reference_across_parents_keeps_its_children_per_node(tmp_path: Path) -> None:
    """Reflex tests of random earlier orders, a tenth of those with two or three: the forest's
    levels spread the children over every row of the level above, each took one, and the tree
    came out as chains (673 / 100 / 8 nodes with 1 / 2 / 3 children -> 897 / 0 / 0)."""
    rng = np.random.default_rng(5)
    path = tmp_path / "src.db"
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE patient (id INTEGER PRIMARY KEY, sex TEXT NOT NULL);"
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, patient_id INTEGER NOT NULL REFERENCES patient(id),"
        " ordered_at TEXT NOT NULL, reflex_of INTEGER REFERENCES orders(id));"
    )
    con.executemany("INSERT INTO patient VALUES (?, ?)", [(p, "FM"[p % 2]) for p in range(1, 401)])
    times = np.sort(rng.integers(0, 40_000, 3000)) * 900 + 1_640_995_200
    rows = []
    for i, t in enumerate(times, 1):
        ref = int(rng.integers(max(1, i - 200), i)) if i > 50 and rng.random() < 0.3 else None
        stamp = np.datetime64(int(t), "s").astype(str).replace("T", " ")
        rows.append((i, int(rng.integers(1, 401)), stamp, ref))
    con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", rows)
    con.commit()
    con.close()

    def per_node(db: Path) -> dict[int, int]:
        c = sqlite3.connect(db)
        got = c.execute(
            "SELECT n, COUNT(*) FROM (SELECT COUNT(*) AS n FROM orders WHERE reflex_of IS NOT NULL"
            " GROUP BY reflex_of) GROUP BY n"
        ).fetchall()
        c.close()
        return dict(got)

    relsynth.synthesize(f"sqlite:///{path}", f"sqlite:///{tmp_path / 'out.db'}", seed=1)
    source, output = per_node(path), per_node(tmp_path / "out.db")
    several = sum(v for k, v in output.items() if k >= 2)
    assert several >= 0.5 * sum(v for k, v in source.items() if k >= 2)
    c = sqlite3.connect(tmp_path / "out.db")
    before = c.execute(
        "SELECT COUNT(*) FROM orders o JOIN orders p ON p.id = o.reflex_of WHERE o.ordered_at < p.ordered_at"
    ).fetchone()[0]
    c.close()
    assert before == 0
