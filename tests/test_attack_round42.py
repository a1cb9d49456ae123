"""Attack round 42 (a README-only helper on this session's merged work): a target that is another
schema of the source's own PostgreSQL database (--target-schema) reached without being named.

1. An event trigger of the source's database, logging DDL into the source's table, fired on the
   CREATE TABLEs relsynth ran in the target schema: the source was written (0 -> 3 rows).
2. A search_path (ALTER DATABASE ... SET search_path, or the default "$user" with a schema named
   after a role) made the source's trigger's unqualified INSERT INTO audit land in the target's
   audit once the copy was there.
Both are refused before anything is read or written.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import relsynth
from relsynth.guard import SameDatabase
from tests.conftest import run_raw, scalar

PATIENTS = """
CREATE TABLE patient (patient_id int PRIMARY KEY, born date NOT NULL, sex char(1) NOT NULL);
INSERT INTO patient SELECT g, date '1950-01-01' + g * 11, CASE WHEN g %% 2 = 0 THEN 'F' ELSE 'M' END
    FROM generate_series(1, 300) g;
CREATE TABLE ddl_log (id serial PRIMARY KEY, tag text);
"""


@pytest.mark.postgresql
def test_an_event_trigger_of_the_source_database_refuses_a_target_schema_there(pg_db) -> None:
    url = pg_db()
    run_raw(
        url,
        *[s for s in PATIENTS.replace("%%", "%").split(";\n") if s.strip()],
        "CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ DECLARE r record; BEGIN "
        "FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP "
        "INSERT INTO public.ddl_log (tag) VALUES (r.command_tag); END LOOP; END $$",
        "CREATE EVENT TRIGGER rs_audit_ddl ON ddl_command_end EXECUTE FUNCTION log_ddl()",
    )
    with pytest.raises(SameDatabase, match="event trigger rs_audit_ddl"):
        relsynth.synthesize(url, url, target_schema="syn", seed=1)
    assert scalar(url, "SELECT count(*) FROM ddl_log") == 0
    assert scalar(url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'syn'") == 0


@pytest.mark.postgresql
def test_a_schema_the_source_databases_search_path_lists_is_refused(pg_db) -> None:
    url = pg_db()
    run_raw(url, *[s for s in PATIENTS.replace("%%", "%").split(";\n") if s.strip()])
    database = sa.make_url(url).database
    run_raw(url, f'ALTER DATABASE "{database}" SET search_path = syn, public')
    with pytest.raises(SameDatabase, match="search_path"):
        relsynth.synthesize(url, url, target_schema="syn", seed=1)
    relsynth.synthesize(url, url, target_schema="other", seed=1)  # a schema nothing reaches: written
    assert scalar(url, "SELECT count(*) FROM other.patient") > 0
