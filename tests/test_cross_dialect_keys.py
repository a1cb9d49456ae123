"""Cross-dialect schemas found by the adversarial run: keys whose types map apart, BIT values,
CHECKs with the portable string functions."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

import relsynth
from tests.conftest import run_raw


def _rows(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def _rejects(url: str, sql: str) -> bool:
    """Whether the database refuses the statement (a CHECK violation)."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql))
    except sa.exc.DBAPIError:
        return True
    finally:
        engine.dispose()
    return False


@pytest.mark.postgresql
@pytest.mark.mysql
def test_bigint_unsigned_key_mysql_to_pg(mysql_db, pg_db) -> None:
    """An AUTO_INCREMENT BIGINT UNSIGNED key and its foreign key: one type (numeric(20,0), which
    holds 0..2^64-1), the key numbered by a sequence it owns, advanced past the loaded keys."""
    source, target = mysql_db(), pg_db()
    run_raw(
        source,
        "CREATE TABLE orders (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, placed DATETIME NOT NULL)",
        "CREATE TABLE order_line (order_id BIGINT UNSIGNED NOT NULL, line_no INT NOT NULL, qty INT NOT NULL,"
        " PRIMARY KEY (order_id, line_no), FOREIGN KEY (order_id) REFERENCES orders (id))",
        "INSERT INTO orders (placed) SELECT '2022-01-01' + INTERVAL seq DAY FROM seq_1_to_50",
        "INSERT INTO order_line SELECT id, 1, 2 FROM orders",
    )
    out = relsynth.synthesize(source, target)
    assert out["write"].verification.problems == 0
    types = dict(
        _rows(
            target,
            "SELECT table_name || '.' || column_name, data_type || coalesce(numeric_precision::text, '') "
            "FROM information_schema.columns WHERE column_name IN ('id', 'order_id')",
        )
    )
    assert types == {"orders.id": "numeric20", "order_line.order_id": "numeric20"}
    assert _rows(target, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'") == [(1,)]
    top = _rows(target, "SELECT max(id) FROM orders")[0][0]
    run_raw(target, "INSERT INTO orders (placed) VALUES (now())")  # numbered by the database itself
    assert _rows(target, "SELECT max(id) FROM orders")[0][0] == top + 1


@pytest.mark.postgresql
@pytest.mark.mysql
def test_foreign_key_takes_the_referenced_type_pg_to_mysql(pg_db, mysql_db) -> None:
    """PostgreSQL lets a bigint column reference an integer key; MariaDB refuses integers of two
    sizes in one foreign key: the referencing column takes the key's type."""
    source, target = pg_db(), mysql_db()
    run_raw(
        source,
        "CREATE TABLE parent (id serial PRIMARY KEY, name text NOT NULL)",
        "CREATE TABLE child (id serial PRIMARY KEY, pid bigint NOT NULL REFERENCES parent (id))",
        "INSERT INTO parent (name) SELECT 'p' || g FROM generate_series(1, 60) g",
        "INSERT INTO child (pid) SELECT id FROM parent",
    )
    out = relsynth.synthesize(source, target)
    assert out["write"].verification.problems == 0
    types = dict(
        _rows(
            target,
            "SELECT CONCAT(table_name, '.', column_name), column_type FROM information_schema.columns "
            "WHERE table_schema = DATABASE() AND column_name IN ('id', 'pid')",
        )
    )
    assert types["child.pid"] == types["parent.id"]
    fks = (
        "SELECT count(*) FROM information_schema.referential_constraints WHERE constraint_schema = DATABASE()"
    )
    assert _rows(target, fks) == [(1,)]


@pytest.mark.mysql
@pytest.mark.postgresql
def test_bit_values_stay_bits_in_sqlite(mysql_db, pg_db, sqlite_db) -> None:
    """MariaDB BIT(3) and PostgreSQL bit(3) both arrive in SQLite as text of three bits ('100')."""
    my, pg = mysql_db(), pg_db()
    run_raw(
        my,
        "CREATE TABLE flags (id INT PRIMARY KEY, f BIT(3) NOT NULL)",
        "INSERT INTO flags SELECT seq, seq % 8 FROM seq_1_to_200",
    )
    run_raw(
        pg,
        "CREATE TABLE flags (id int PRIMARY KEY, f bit(3) NOT NULL)",
        "INSERT INTO flags SELECT g, (g % 8)::bit(3) FROM generate_series(1, 200) g",
    )
    for source in (my, pg):
        target = sqlite_db()
        out = relsynth.synthesize(source, target)
        assert out["write"].verification.problems == 0
        values = [v for (v,) in _rows(target, "SELECT f FROM flags")]
        assert len(values) == 200
        assert all(isinstance(v, str) and re.fullmatch("[01]{3}", v) for v in values), values[:5]
        assert len(set(values)) > 2  # the bits vary, as in the source
    target = pg_db()  # PostgreSQL loads with COPY, which skipped the conversion: '2' for 010
    out = relsynth.synthesize(my, target)
    assert out["write"].verification.problems == 0
    values = [v for (v,) in _rows(target, "SELECT f FROM flags")]
    assert all(isinstance(v, str) and re.fullmatch("[01]{3}", v) for v in values), values[:5]


@pytest.mark.postgresql
@pytest.mark.mysql
def test_length_checks_pg_to_mysql_and_sqlite(pg_db, mysql_db, sqlite_db) -> None:
    """length() in a table CHECK and in a domain CHECK: recreated in MariaDB (CHAR_LENGTH) and
    SQLite (length), and they hold there."""
    source = pg_db()
    run_raw(
        source,
        "CREATE DOMAIN short_name AS varchar(20) CHECK (length(VALUE) >= 3)",
        "CREATE TABLE room (id serial PRIMARY KEY, room_code char(4) NOT NULL, label short_name NOT NULL,"
        " CHECK (length(room_code) = 4), CHECK (upper(label) <> 'XXX'))",
        "INSERT INTO room (room_code, label) SELECT 'R' || lpad((g % 500)::text, 3, '0'),"
        " 'room ' || g FROM generate_series(1, 300) g",
    )
    my, lite = mysql_db(), sqlite_db()
    for target in (my, lite):
        out = relsynth.synthesize(source, target)
        assert out["write"].verification.problems == 0
        assert not any("CHECK" in c and "not recreated" in c for c in out["write"].changes), out[
            "write"
        ].changes
    assert _rejects(my, "INSERT INTO room (id, room_code, label) VALUES (9001, 'R12', 'abcd')")
    assert _rejects(my, "INSERT INTO room (id, room_code, label) VALUES (9002, 'R123', 'ab')")
    assert not _rejects(my, "INSERT INTO room (id, room_code, label) VALUES (9003, 'R123', 'abc')")
    assert _rejects(lite, "INSERT INTO room (id, room_code, label) VALUES (9001, 'R12', 'abcd')")
    assert _rejects(lite, "INSERT INTO room (id, room_code, label) VALUES (9002, 'R123', 'ab')")
    assert _rejects(lite, "INSERT INTO room (id, room_code, label) VALUES (9004, 'R123', 'xxx')")


@pytest.mark.postgresql
@pytest.mark.mysql
def test_char_length_check_mysql_to_pg(mysql_db, pg_db) -> None:
    """MariaDB's CHAR_LENGTH and LOWER in a CHECK: recreated in PostgreSQL."""
    source, target = mysql_db(), pg_db()
    run_raw(
        source,
        "CREATE TABLE room (id INT PRIMARY KEY, code VARCHAR(10) NOT NULL,"
        " CHECK (CHAR_LENGTH(code) BETWEEN 2 AND 4), CHECK (LOWER(code) = code))",
        "INSERT INTO room SELECT seq, CONCAT('r', LPAD(seq, 3, '0')) FROM seq_1_to_300",
    )
    out = relsynth.synthesize(source, target)
    assert out["write"].verification.problems == 0
    assert _rejects(target, "INSERT INTO room VALUES (9001, 'r1234')")
    assert _rejects(target, "INSERT INTO room VALUES (9002, 'r')")
    assert _rejects(target, "INSERT INTO room VALUES (9003, 'R123')")
    assert not _rejects(target, "INSERT INTO room VALUES (9004, 'r12')")


@pytest.mark.postgresql
@pytest.mark.mysql
def test_a_deferrable_foreign_key_into_mariadb(pg_db, mysql_db) -> None:
    """DEFERRABLE INITIALLY DEFERRED was written into MariaDB's DDL: a syntax error (internal
    error 42000). MariaDB has no deferrable constraints: the FK is kept, the clause is not."""
    source, target = pg_db(), mysql_db()
    run_raw(
        source,
        "CREATE TABLE department (id int PRIMARY KEY, head_id int)",
        "CREATE TABLE employee (id int PRIMARY KEY, dept_id int NOT NULL REFERENCES department)",
        "ALTER TABLE department ADD FOREIGN KEY (head_id) REFERENCES employee DEFERRABLE INITIALLY DEFERRED",
        "INSERT INTO department SELECT g, NULL FROM generate_series(1, 5) g",
        "INSERT INTO employee SELECT g, 1 + g % 5 FROM generate_series(1, 60) g",
        "UPDATE department SET head_id = id",
    )
    out = relsynth.synthesize(source, target)
    assert out["write"].verification.problems == 0
    assert any("DEFERRABLE in the source" in c for c in out["write"].changes)
