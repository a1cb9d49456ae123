"""MariaDB types that were written wrong, with exit code 0 (attack round 41).

1) INET4 and INET6 were "not learned: one fixed, valid value": a UNIQUE INET6 NOT NULL column
   made a 2,000-row table one row, a nullable INET4 was all NULL, a plain INET6 one constant in
   every target. Now generated as PostgreSQL's inet is: documentation (and benchmarking) ranges,
   the source's NULL share, distinct where UNIQUE, the column's address family.
2) BIT(1), a MySQL flag, was "bit strings generated" apart from the row: paid = 0 exactly where
   paid_on IS NULL broke on a fifth of the rows. It is a boolean now (BIT(1) in MariaDB, boolean in
   PostgreSQL, 0/1 in SQLite), learned with the row as a TINYINT(1) is.
3) MariaDB -> PostgreSQL/SQLite DDL: DEFAULT CURRENT_TIMESTAMP ON UPDATE ... lost its portable
   default; CHECK (JSON_VALID(x)), a case-insensitive UNIQUE and UNSIGNED were dropped with no
   "changed:" line. Now the default and an UNSIGNED's CHECK (x >= 0) are kept, SQLite gets
   CHECK (json_valid(x)), and each is said.
"""

from __future__ import annotations

import ipaddress
import sqlite3
from pathlib import Path

import psycopg
import pytest

import relsynth
from tests.conftest import fetch, run_raw, run_sql, scalar

pytestmark = pytest.mark.mysql

HOSTS = """
CREATE TABLE host (host_id INT AUTO_INCREMENT PRIMARY KEY, addr INET6 NOT NULL, addr4 INET4 NULL,
  hostname VARCHAR(40) NOT NULL, UNIQUE KEY uq_addr (addr), UNIQUE KEY uq_addr4 (addr4));
INSERT INTO host (addr, addr4, hostname) SELECT CONCAT('2001:db8::', HEX(seq)),
  IF(seq MOD 5 = 0, NULL, INET_NTOA(167772160 + seq)), CONCAT('srv', seq) FROM seq_1_to_2000
"""

DEVICES = """
CREATE TABLE device (device_id INT PRIMARY KEY, ip4 INET4 NULL, ip6 INET6 NOT NULL, mapped INET6 NULL);
INSERT INTO device SELECT seq, IF(seq MOD 5 = 0, NULL, INET_NTOA(167772160 + seq * 7)),
  CONCAT('2001:db8::', HEX(seq MOD 40)), IF(seq MOD 2 = 0, CONCAT('::ffff:10.0.0.', seq MOD 200),
  CONCAT('2001:db8::', HEX(seq))) FROM seq_1_to_3000
"""

INVOICES = """
CREATE TABLE invoice (invoice_id INT PRIMARY KEY, amount DECIMAL(10,2) NOT NULL,
  paid BIT(1) NOT NULL DEFAULT b'0', paid_on DATE NULL, wide BIT(4) NULL);
INSERT INTO invoice SELECT seq, 10 + seq MOD 300, IF(seq MOD 4 = 0, 0, 1),
  IF(seq MOD 4 = 0, NULL, '2024-01-01' + INTERVAL seq MOD 300 DAY), seq MOD 16 FROM seq_1_to_3000
"""

PATIENTS = """
CREATE TABLE patient (patient_id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
  insurance_no VARCHAR(20) COLLATE latin1_general_ci NULL, prefs JSON NULL CHECK (JSON_VALID(prefs)),
  visits SMALLINT UNSIGNED NOT NULL,
  last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  touched DATETIME NOT NULL DEFAULT '2020-01-01 00:00:00' ON UPDATE CURRENT_TIMESTAMP,
  UNIQUE KEY uq_ins (insurance_no)) DEFAULT CHARSET=latin1;
INSERT INTO patient (insurance_no, prefs, visits) SELECT CONCAT('INS', 100000 + seq),
  IF(seq MOD 2, '{"lang":"en"}', NULL), seq MOD 9 FROM seq_1_to_1000
"""

REFUSED = (sqlite3.IntegrityError, psycopg.errors.IntegrityError)  # the target's own refusal
_V4 = [
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15")
]
_V6 = ipaddress.ip_network("2001:db8::/32")


def _documentation(text: str) -> bool:
    address = ipaddress.ip_address(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in n for n in (_V6 if address.version == 6 else None, *_V4) if n is not None)


def test_unique_inet6_and_inet4_keep_every_row(request: pytest.FixtureRequest) -> None:
    source, target = request.getfixturevalue("mysql_db")(), request.getfixturevalue("mysql_db")()
    run_sql(source, HOSTS)
    relsynth.synthesize(source, target, seed=1)
    rows, distinct, distinct4, filled4 = fetch(
        target, "SELECT COUNT(*), COUNT(DISTINCT addr), COUNT(DISTINCT addr4), COUNT(addr4) FROM host"
    )[0]
    assert rows == distinct == 2000
    assert distinct4 == filled4 and 0.75 * 2000 < filled4 < 0.85 * 2000  # the source's 80% kept
    addresses = fetch(target, "SELECT CAST(addr AS CHAR), CAST(addr4 AS CHAR) FROM host")
    assert all(ipaddress.ip_address(a).version == 6 and _documentation(a) for a, _ in addresses)
    assert all(ipaddress.ip_address(b).version == 4 and _documentation(b) for _, b in addresses if b)


@pytest.mark.parametrize("kind", ["mysql_db", "pg_db", "sqlite_db"])
def test_inet_columns_are_generated_in_every_target(request: pytest.FixtureRequest, kind: str) -> None:
    source, target = request.getfixturevalue("mysql_db")(), request.getfixturevalue(kind)()
    run_sql(source, DEVICES)
    relsynth.synthesize(source, target, seed=1)
    cast = "CAST({} AS CHAR)" if kind == "mysql_db" else "CAST({} AS TEXT)"
    rows = fetch(
        target, f"SELECT {cast.format('ip4')}, {cast.format('ip6')}, {cast.format('mapped')} FROM device"
    )
    assert len(rows) == 3000
    ip4 = [r[0] for r in rows if r[0] is not None]
    assert 0.75 * 3000 < len(ip4) < 0.85 * 3000 and len(set(ip4)) > 100  # not all NULL, not one value
    assert all(ipaddress.ip_address(a).version == 4 and _documentation(a) for a in ip4)
    assert len({r[1] for r in rows}) > 100  # not one constant
    assert all(ipaddress.ip_address(r[1]).version == 6 and _documentation(r[1]) for r in rows)
    mapped = [ipaddress.ip_address(r[2]) for r in rows if r[2] is not None]
    share = sum(isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None for a in mapped) / len(
        mapped
    )
    assert 0.4 < share < 0.6  # IPv4-mapped addresses as often as in the source
    assert all(_documentation(str(a)) for a in mapped)


def test_inet_model_is_deterministic(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    source = request.getfixturevalue("mysql_db")()
    run_sql(source, HOSTS)
    run_sql(source, INVOICES)
    first, second = tmp_path / "a.rsm", tmp_path / "b.rsm"
    relsynth.fit(source, seed=3).save(first)
    relsynth.fit(source, seed=3).save(second)
    assert first.read_bytes() == second.read_bytes()
    a = relsynth.sample(relsynth.Model.load(first), seed=4)
    b = relsynth.sample(relsynth.Model.load(second), seed=4)
    for name in ("host", "invoice"):
        assert a[name].equals(b[name])


def _paid_mismatch(url: str) -> int:
    return int(
        scalar(url, "SELECT COUNT(*) FROM invoice WHERE (paid_on IS NULL) = (paid = TRUE)")  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("kind", ["mysql_db", "pg_db", "sqlite_db"])
def test_bit1_flag_is_a_boolean_learned_with_its_row(request: pytest.FixtureRequest, kind: str) -> None:
    source, target = request.getfixturevalue("mysql_db")(), request.getfixturevalue(kind)()
    run_sql(source, INVOICES)
    assert int(scalar(source, "SELECT COUNT(*) FROM invoice WHERE (paid_on IS NULL) = (paid = 1)")) == 0  # type: ignore[arg-type]
    result = relsynth.synthesize(source, target, seed=1)
    if kind == "mysql_db":
        assert int(scalar(target, "SELECT COUNT(*) FROM invoice WHERE (paid_on IS NULL) = (paid = 1)")) == 0  # type: ignore[arg-type]
        spelled = fetch(
            target,
            "SELECT COLUMN_NAME, COLUMN_TYPE, COLUMN_DEFAULT FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'invoice' AND COLUMN_NAME IN ('paid', 'wide') "
            "ORDER BY 1",
        )
        assert spelled == [("paid", "bit(1)", "b'0'"), ("wide", "bit(4)", "NULL")]
        run_raw(target, "INSERT INTO invoice (invoice_id, amount) VALUES (-1, 1)")
        assert int(scalar(target, "SELECT paid + 0 FROM invoice WHERE invoice_id = -1")) == 0  # type: ignore[arg-type]
    elif kind == "pg_db":
        assert _paid_mismatch(target) == 0
        assert fetch(
            target,
            "SELECT data_type, column_default FROM information_schema.columns "
            "WHERE table_name = 'invoice' AND column_name = 'paid'",
        ) == [("boolean", "false")]
        assert any("invoice.paid: BIT(1) -> BOOLEAN" in c for c in result["write"].changes)
    else:
        assert int(scalar(target, "SELECT COUNT(*) FROM invoice WHERE (paid_on IS NULL) = (paid = 1)")) == 0  # type: ignore[arg-type]
        assert {r[0] for r in fetch(target, "SELECT DISTINCT paid FROM invoice")} == {0, 1}
        run_raw(target, "INSERT INTO invoice (invoice_id, amount) VALUES (-1, 1)")
        assert scalar(target, "SELECT paid FROM invoice WHERE invoice_id = -1") == 0
    # Wider BIT(n) stays bit strings.
    widths = fetch(target, "SELECT wide FROM invoice WHERE wide IS NOT NULL")
    assert len(widths) > 2000


def test_bit1_is_a_boolean_in_inspect(request: pytest.FixtureRequest) -> None:
    source = request.getfixturevalue("mysql_db")()
    run_sql(source, INVOICES)
    schema = relsynth.reflect(source)
    table = schema.table("invoice")
    assert table.column("paid").type.name == "boolean"
    assert table.column("wide").type.name == "other"


def _changes(result: dict) -> list[str]:
    return list(result["write"].changes)


@pytest.mark.parametrize("kind", ["pg_db", "sqlite_db"])
def test_mariadb_schema_into_another_dialect_keeps_or_says(request: pytest.FixtureRequest, kind: str) -> None:
    source, target = request.getfixturevalue("mysql_db")(), request.getfixturevalue(kind)()
    run_sql(source, PATIENTS)
    changes = _changes(relsynth.synthesize(source, target, seed=1))
    # a) the portable DEFAULT CURRENT_TIMESTAMP is kept; ON UPDATE is said
    run_raw(target, "INSERT INTO patient (patient_id, insurance_no, visits) VALUES (5001, 'zz1', 1)")
    assert scalar(target, "SELECT last_update FROM patient WHERE patient_id = 5001") is not None
    assert str(scalar(target, "SELECT touched FROM patient WHERE patient_id = 5001")).startswith("2020-01-01")
    assert any("patient.touched: DEFAULT '2020-01-01 00:00:00' kept; ON UPDATE" in c for c in changes)
    assert any("patient.last_update" in c and "ON UPDATE" in c and "not recreated" in c for c in changes)
    # b) the JSON check: recreated in SQLite, the type's own in PostgreSQL; said either way
    assert any("patient.prefs" in c and "json" in c.lower() and "valid" in c for c in changes)
    if kind == "sqlite_db":
        with pytest.raises(REFUSED):
            run_raw(target, "INSERT INTO patient (patient_id, visits, prefs) VALUES (5002, 1, '{bad')")
        run_raw(target, "INSERT INTO patient (patient_id, visits, prefs) VALUES (5003, 1, NULL)")
    # c) the case-insensitive UNIQUE is said
    assert any("UNIQUE (insurance_no)" in c and "case" in c for c in changes)
    # d) UNSIGNED keeps its CHECK (x >= 0), said
    assert any("patient.visits" in c and "CHECK (visits >= 0)" in c for c in changes)
    with pytest.raises(REFUSED):
        run_raw(target, "INSERT INTO patient (patient_id, visits) VALUES (5004, -3)")
    assert int(scalar(target, "SELECT COUNT(*) FROM patient WHERE visits < 0")) == 0  # type: ignore[arg-type]


def test_on_update_after_a_quoted_default_is_kept_in_mariadb(request: pytest.FixtureRequest) -> None:
    """SQLAlchemy keeps ON UPDATE only after an unquoted DEFAULT: DATETIME DEFAULT '2020-01-01'
    ON UPDATE CURRENT_TIMESTAMP lost it, even MariaDB to MariaDB, and with no changed: line."""
    source, target = request.getfixturevalue("mysql_db")(), request.getfixturevalue("mysql_db")()
    run_sql(source, PATIENTS)
    relsynth.synthesize(source, target, seed=1)
    extra = fetch(
        target,
        "SELECT COLUMN_NAME, COLUMN_DEFAULT, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
        "AND TABLE_NAME = 'patient' AND COLUMN_NAME IN ('last_update', 'touched') ORDER BY 1",
    )
    assert extra == [
        ("last_update", "current_timestamp()", "on update current_timestamp()"),
        ("touched", "'2020-01-01 00:00:00'", "on update current_timestamp()"),
    ]
