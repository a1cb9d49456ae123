"""Composite FKs that share columns with the key: a self-reference (tenant_id, manager_id) ->
(tenant_id, user_id), and a cycle cut through (tenant_id, owner_user) -> usr(tenant_id, user_id).
Both crashed with a NOT NULL violation (tenant_id written NULL); a manager or owner must be a
user of the row's own tenant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
import sqlalchemy as sa

import relsynth

FIXTURES = {"sqlite": "sqlite_db", "postgresql": "pg_db", "mysql": "mysql_db"}
KINDS = [
    pytest.param("sqlite"),
    pytest.param("postgresql", marks=pytest.mark.postgresql),
    pytest.param("mysql", marks=pytest.mark.mysql),
]

SELF_REF = (
    "CREATE TABLE usr (tenant_id INT NOT NULL, user_id INT NOT NULL, manager_id INT, score INT NOT NULL,"
    " PRIMARY KEY (tenant_id, user_id),"
    " FOREIGN KEY (tenant_id, manager_id) REFERENCES usr (tenant_id, user_id))",
)
# SQLite cannot add a FK later: its tenant declares the FK to usr up front.
TENANT = "CREATE TABLE tenant (tenant_id INT PRIMARY KEY, plan VARCHAR(10) NOT NULL, owner_user INT{fk})"
TENANT_FK = ", FOREIGN KEY (tenant_id, owner_user) REFERENCES usr (tenant_id, user_id)"
USR = (
    "CREATE TABLE usr (tenant_id INT NOT NULL, user_id INT NOT NULL, score INT NOT NULL,"
    " PRIMARY KEY (tenant_id, user_id), FOREIGN KEY (tenant_id) REFERENCES tenant (tenant_id))"
)
ADD_TENANT_FK = "ALTER TABLE tenant ADD" + TENANT_FK.removeprefix(",")


def _cycle_ddl(kind: str) -> tuple[str, ...]:
    if kind == "sqlite":
        return (TENANT.format(fk=TENANT_FK), USR)
    return (TENANT.format(fk=""), USR, ADD_TENANT_FK)


Rows = tuple[tuple[str, Sequence[Mapping[str, object]]], ...]


def _run(url: str, statements: tuple[str, ...], rows: Rows = ()) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for stmt in statements:
                conn.exec_driver_sql(stmt)
            for sql, params in rows:
                conn.execute(sa.text(sql), params)
    finally:
        engine.dispose()


def _one(url: str, sql: str) -> tuple:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(sa.text(sql)).one())
    finally:
        engine.dispose()


def _self_ref_source(url: str) -> None:
    """30 tenants of 6 users each; user 1 of each tenant manages the other five."""
    rows = [
        {"t": t, "u": u, "m": 1 if u > 1 else None, "s": (t * u) % 17}
        for u in range(1, 7)  # managers first: MariaDB checks the FK row by row
        for t in range(1, 31)
    ]
    _run(url, SELF_REF, (("INSERT INTO usr VALUES (:t, :u, :m, :s)", rows),))


def _cycle_source(url: str, kind: str) -> None:
    """40 tenants, 1 to 5 users each, every tenant owned by its user 1."""
    tenants = [{"t": t, "p": ("free", "pro")[t % 2]} for t in range(1, 41)]
    users = [{"t": t, "u": u, "s": (t * u) % 17} for t in range(1, 41) for u in range(1, 2 + t % 5)]
    _run(
        url,
        _cycle_ddl(kind),
        (
            ("INSERT INTO tenant (tenant_id, plan) VALUES (:t, :p)", tenants),
            ("INSERT INTO usr VALUES (:t, :u, :s)", users),
            ("UPDATE tenant SET owner_user = 1", [{}]),
        ),
    )


def _check_managers(url: str) -> None:
    rows, managed, tenants, stray = _one(
        url,
        "SELECT count(*), count(manager_id), count(DISTINCT tenant_id),"
        " sum(CASE WHEN manager_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM usr p"
        "  WHERE p.tenant_id = u.tenant_id AND p.user_id = u.manager_id) THEN 1 ELSE 0 END)"
        " FROM usr u",
    )
    assert rows == 180
    assert 1 < tenants < rows  # tenants of several users, as in the source
    assert managed > rows / 2  # five of six have a manager in the source
    assert stray == 0  # every manager is a user of the same tenant


def _check_owners(url: str) -> None:
    tenants, owned, stray, unowned = _one(
        url,
        "SELECT count(*), count(owner_user),"
        " sum(CASE WHEN owner_user IS NOT NULL AND NOT EXISTS (SELECT 1 FROM usr u"
        "  WHERE u.tenant_id = t.tenant_id AND u.user_id = t.owner_user) THEN 1 ELSE 0 END),"
        " sum(CASE WHEN owner_user IS NULL AND EXISTS (SELECT 1 FROM usr u"
        "  WHERE u.tenant_id = t.tenant_id) THEN 1 ELSE 0 END)"
        " FROM tenant t",
    )
    assert tenants == 40
    assert owned > 0 and stray == 0  # the cut FK filled in, with a user of the same tenant
    assert unowned == 0  # every tenant with users has an owner, as in the source


@pytest.mark.parametrize("kind", KINDS)
def test_composite_self_reference_stays_within_the_tenant(kind: str, request: pytest.FixtureRequest) -> None:
    make = request.getfixturevalue(FIXTURES[kind])
    source, target = make(), make()
    _self_ref_source(source)
    out = relsynth.synthesize(source, target, seed=1)
    assert out["write"].verification.problems == 0
    _check_managers(target)


@pytest.mark.parametrize("kind", KINDS)
def test_cycle_cut_through_a_composite_fk_keeps_the_key(kind: str, request: pytest.FixtureRequest) -> None:
    make = request.getfixturevalue(FIXTURES[kind])
    source, target = make(), make()
    _cycle_source(source, kind)
    out = relsynth.synthesize(source, target, seed=1)
    assert out["write"].verification.problems == 0
    _check_owners(target)


@pytest.mark.postgresql
def test_cycle_into_existing_tables_nulls_only_the_fks_own_columns(pg_db) -> None:
    """Into existing tables the FKs are live: owner_user is written NULL and filled in afterwards,
    tenant_id (the key) is written at once."""
    source, target = pg_db(), pg_db()
    _cycle_source(source, "postgresql")
    _run(target, _cycle_ddl("postgresql"))
    out = relsynth.synthesize(source, target, seed=1, into_existing=True)
    assert out["write"].verification.problems == 0
    _check_owners(target)
