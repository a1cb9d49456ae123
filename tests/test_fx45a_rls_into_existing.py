"""Attack round 45a, item 2: --into-existing into a PostgreSQL table whose row-level security
applies to the target's role (an application role, not the table's owner).

The load died halfway with an internal error from COPY (FeatureNotSupported: COPY FROM not
supported with row-level security). Such a table cannot be loaded and verified whole by that role
(INSERT would be filtered by its policies, the verification could not read every row): it is
refused in one line, naming the table and what to do, before anything is written.
"""

from __future__ import annotations

import pytest

import relsynth
from relsynth.errors import RelsynthError
from tests.conftest import as_user, run_sql, scalar
from tests.test_target_roles import SOURCE, _grant


@pytest.mark.postgresql
def test_a_table_whose_row_security_binds_the_role_is_refused_before_writing(role, pg_db, sqlite_db) -> None:  # type: ignore[no-untyped-def]
    source, target = sqlite_db(), pg_db()
    run_sql(source, SOURCE)
    run_sql(target, SOURCE)  # owned by the admin, filled
    _grant(
        target,
        "ALTER TABLE stay ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY everyone ON stay USING (true) WITH CHECK (true)",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}",
    )
    with pytest.raises(RelsynthError, match=r"row-level security of table stay .*--exclude stay") as err:
        relsynth.synthesize(source, as_user(target, role), seed=1, into_existing=True, replace=True)
    assert "\n" not in str(err.value) and f"user '{role}'" in str(err.value)
    assert "owner or a role with BYPASSRLS" in str(err.value)
    assert scalar(target, "SELECT COUNT(*) FROM ward") == 40  # nothing emptied or written
