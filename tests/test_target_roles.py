"""A PostgreSQL target written by an application role, not the owner (attack round 43):

1. A role with CREATE on schema public only (PostgreSQL 15's usual grant) could not be a target:
   relsynth ran CREATE SCHEMA IF NOT EXISTS public, which asks for CREATE on the database, and
   failed after the whole source was read. The schema is now created only when missing.
2. --into-existing --replace by a role with every privilege on tables it does not own failed on
   ALTER TABLE ... DISABLE TRIGGER USER ("must be owner"), though the tables had no triggers.
   Triggers are now disabled only on tables that have some.
"""

from __future__ import annotations

import sqlalchemy as sa

import relsynth
from tests.conftest import as_user, run_sql, scalar

SOURCE = (
    """
CREATE TABLE ward (ward_id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL);
CREATE TABLE stay (stay_id INTEGER PRIMARY KEY, ward_id INTEGER NOT NULL REFERENCES ward(ward_id),
    days INTEGER NOT NULL);
"""
    + "\n".join(f"INSERT INTO ward VALUES ({w}, 'ward {w % 7}');" for w in range(1, 41))
    + "\n"
    + "\n".join(f"INSERT INTO stay VALUES ({s}, {1 + s % 40}, {s % 9});" for s in range(1, 601))
)


def _grant(url: str, *statements: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for sql in statements:
                conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def test_a_role_with_create_on_schema_public_only_can_be_the_target(role, pg_db, sqlite_db) -> None:
    source, target = sqlite_db(), pg_db()
    run_sql(source, SOURCE)
    database = sa.make_url(target).database
    _grant(
        target,
        f'REVOKE CREATE ON DATABASE "{database}" FROM PUBLIC',
        f'GRANT CONNECT ON DATABASE "{database}" TO {role}',
        f"GRANT USAGE, CREATE ON SCHEMA public TO {role}",
    )
    relsynth.synthesize(source, as_user(target, role), seed=1)
    assert scalar(target, "SELECT COUNT(*) FROM stay") == 600


def test_into_existing_tables_the_role_may_write_but_does_not_own(role, pg_db, sqlite_db) -> None:
    source, target = sqlite_db(), pg_db()
    run_sql(source, SOURCE)
    run_sql(target, SOURCE)  # owned by the admin, filled
    _grant(
        target,
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}",
    )
    relsynth.synthesize(source, as_user(target, role), seed=1, into_existing=True, replace=True)
    assert scalar(target, "SELECT COUNT(*) FROM stay") == 600
    assert scalar(target, "SELECT COUNT(*) FROM stay WHERE ward_id NOT IN (SELECT ward_id FROM ward)") == 0
