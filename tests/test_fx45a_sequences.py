"""Attack round 45a, item 1: a PostgreSQL target's sequence named like one relsynth creates.

relsynth recreates the sequences the source's defaults draw from under their names
(``orders_id_seq``, ``ticket_seq``) with CREATE SEQUENCE IF NOT EXISTS: a sequence of that name
already in the target (an earlier run's, another application's) was silently reused, made owned
by the new table, and advanced; one with a MAXVALUE below the keys stopped the run with an internal
DataError after the whole load. Now it is refused in one line without --replace, and dropped and
recreated with --replace (refused where another table or view needs it). An --into-existing load
left a free-standing sequence its tables' defaults draw from behind the keys it wrote.
"""

from __future__ import annotations

import pytest

import relsynth
from relsynth.errors import RelsynthError
from tests.conftest import fetch, run_sql, scalar

SOURCE = """
CREATE TABLE orders (id serial PRIMARY KEY, amount int NOT NULL);
CREATE SEQUENCE ticket_seq START 1000;
CREATE TABLE tickets (no int PRIMARY KEY DEFAULT nextval('ticket_seq'), order_id int REFERENCES orders (id));
INSERT INTO orders (amount) SELECT mod(g * 7, 50) FROM generate_series(1, 60) g;
INSERT INTO tickets (order_id) SELECT 1 + mod(g * 13, 60) FROM generate_series(1, 60) g;
"""
SEQUENCES = "SELECT sequencename, last_value, start_value, max_value FROM pg_sequences ORDER BY 1"


def _next_is_past_the_keys(url: str) -> None:
    """An application's next row takes a key past every synthetic row's."""
    tops = "SELECT (SELECT max(id) FROM orders), (SELECT max(no) FROM tickets)"
    top_order, top_ticket = fetch(url, tops)[0]
    assert scalar(url, "INSERT INTO orders (amount) VALUES (1) RETURNING id") == top_order + 1
    assert scalar(url, "INSERT INTO tickets (order_id) VALUES (NULL) RETURNING no") == top_ticket + 1


@pytest.mark.postgresql
def test_a_sequence_of_the_name_already_there_is_refused_untouched(pg_db) -> None:  # type: ignore[no-untyped-def]
    source, target = pg_db(), pg_db()
    run_sql(source, SOURCE)
    run_sql(target, "CREATE SEQUENCE orders_id_seq START 5; SELECT setval('orders_id_seq', 7);")
    with pytest.raises(RelsynthError, match=r"already has a sequence orders_id_seq.*--replace") as err:
        relsynth.synthesize(source, target, seed=1)
    assert "\n" not in str(err.value)
    assert fetch(target, SEQUENCES) == [("orders_id_seq", 7, 5, 2**63 - 1)]  # not advanced
    assert scalar(target, "SELECT count(*) FROM pg_depend WHERE refobjid = 'orders_id_seq'::regclass") == 0


@pytest.mark.postgresql
def test_replace_drops_and_recreates_the_sequence(pg_db) -> None:  # type: ignore[no-untyped-def]
    source, target = pg_db(), pg_db()
    run_sql(source, SOURCE)
    # another run's (or application's) leftovers: a MAXVALUE below the keys was an internal error
    run_sql(target, "CREATE SEQUENCE orders_id_seq MAXVALUE 50; CREATE SEQUENCE ticket_seq START 5000;")
    run_sql(target, "SELECT setval('ticket_seq', 9000);")
    relsynth.synthesize(source, target, seed=1, replace=True)
    assert [r[0::2] for r in fetch(target, SEQUENCES)] == [("orders_id_seq", 1), ("ticket_seq", 1000)]
    assert scalar(target, "SELECT pg_get_serial_sequence('orders', 'id')") == "public.orders_id_seq"
    _next_is_past_the_keys(target)


@pytest.mark.postgresql
def test_replace_refuses_a_sequence_another_table_draws_from(pg_db) -> None:  # type: ignore[no-untyped-def]
    source, target = pg_db(), pg_db()
    run_sql(source, SOURCE)
    run_sql(target, "CREATE SEQUENCE ticket_seq; CREATE TABLE legacy (n int DEFAULT nextval('ticket_seq'));")
    with pytest.raises(RelsynthError, match=r"sequence ticket_seq \(the DEFAULT of legacy\.n\)"):
        relsynth.synthesize(source, target, seed=1, replace=True)
    run_sql(target, "INSERT INTO legacy DEFAULT VALUES;")
    assert scalar(target, "SELECT n FROM legacy") == 1


@pytest.mark.postgresql
def test_into_existing_advances_a_free_standing_sequence(pg_db) -> None:  # type: ignore[no-untyped-def]
    source, target = pg_db(), pg_db()
    run_sql(source, SOURCE)
    run_sql(target, SOURCE.split("INSERT")[0])  # the application's own schema, empty
    relsynth.synthesize(source, target, seed=1, into_existing=True)
    _next_is_past_the_keys(target)  # ticket_seq, owned by no column, gave 1000 again


MARIADB_SOURCE = """
CREATE SEQUENCE ticket_seq START WITH 1000;
CREATE TABLE tickets (no BIGINT PRIMARY KEY DEFAULT NEXTVAL(ticket_seq), v INT NOT NULL);
INSERT INTO tickets (v) SELECT MOD(seq, 9) FROM seq_1_to_60;
"""


@pytest.mark.mysql
def test_mariadb_a_sequence_of_the_name_already_there_is_refused_or_replaced(mysql_db) -> None:  # type: ignore[no-untyped-def]
    source, target = mysql_db(), mysql_db()
    run_sql(source, MARIADB_SOURCE)
    run_sql(target, "CREATE SEQUENCE ticket_seq START WITH 5 MAXVALUE 50;")  # reused, left exhausted
    with pytest.raises(RelsynthError, match=r"already has a sequence ticket_seq.*--replace"):
        relsynth.synthesize(source, target, seed=1)
    run_sql(target, "CREATE TABLE legacy (n BIGINT DEFAULT NEXTVAL(ticket_seq));")
    with pytest.raises(RelsynthError, match=r"sequence ticket_seq \(the DEFAULT of legacy\.n\)"):
        relsynth.synthesize(source, target, seed=1, replace=True)
    run_sql(target, "DROP TABLE legacy;")
    relsynth.synthesize(source, target, seed=1, replace=True)
    assert fetch(target, "SELECT start_value, maximum_value FROM ticket_seq") == [(1000, 2**63 - 2)]
    top = scalar(target, "SELECT MAX(no) FROM tickets")
    run_sql(target, "INSERT INTO tickets (v) VALUES (1);")
    assert scalar(target, "SELECT MAX(no) FROM tickets") == top + 1
