"""Attack round 39 (README-only helpers on unseen MariaDB and PostgreSQL databases): crashes.

1. A URL option the driver cannot read (?connect_timeout=abc) was "internal error: ValueError".
2. A BIGINT UNSIGNED AUTO_INCREMENT key past 2^63-1 into PostgreSQL failed at the end, when its
   sequence (at most 2^63-1) was set past the loaded keys: "internal error: DataError".
3. sdmetrics was given such keys as Int64 and failed (TypeError): no independent score.
4. A CHECK relsynth cannot read beside a column of a type the target lacks (ltree without its
   extension) failed: the table asking the target about the CHECK took the source's type, not
   the text the target's table gets.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from tests.conftest import fetch, run_sql


@pytest.mark.parametrize("option", ["connect_timeout=abc", "read_timeout=10s", "local_infile=2"])
def test_an_option_the_driver_cannot_read_is_one_line(option: str) -> None:
    got = CliRunner().invoke(main, ["inspect", f"mysql://root:secret@127.0.0.1/rs_nowhere?{option}"])
    assert got.exit_code == 1, got.output
    last = got.output.strip().splitlines()[-1]
    assert (
        last.startswith("FAILED: The URL's options are not valid for mysql") and option.split("=")[0] in last
    )
    assert "secret" not in got.output and option.split("=")[1] not in last


TICKETS = """
CREATE TABLE orders (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, qty INT NOT NULL)
    AUTO_INCREMENT=18446744073709500000;
CREATE TABLE lines_ (order_id BIGINT UNSIGNED NOT NULL, n INT NOT NULL, price DECIMAL(8,2) NOT NULL,
    PRIMARY KEY (order_id, n), FOREIGN KEY (order_id) REFERENCES orders(id));
INSERT INTO orders(qty) SELECT MOD(seq, 17) + 1 FROM seq_1_to_300;
INSERT INTO lines_ SELECT o.id, s.seq, MOD(o.id, 1000) / 10 + s.seq FROM orders o JOIN seq_1_to_3 s ON s.seq <= 1 + MOD(o.id, 3);
"""


@pytest.mark.mysql
@pytest.mark.postgresql
def test_unsigned_keys_past_2_63_reach_postgresql_and_are_scored(mysql_db, pg_db) -> None:
    source, target = mysql_db(), pg_db()
    run_sql(source, TICKETS)
    out = relsynth.synthesize(source, target, seed=1)
    assert out["write"].verification.problems == 0
    ((low, n),) = fetch(target, "SELECT MIN(id), COUNT(*) FROM orders")
    assert n == 300 and low >= 2**63  # the keys keep the source's range
    fetch(target, "INSERT INTO orders (qty) VALUES (3) RETURNING id")  # the sequence still numbers
    sd = relsynth.evaluate(source, target, seed=1)["sdmetrics"]
    assert "error" not in sd and sd["quality"], sd


@pytest.mark.postgresql
@pytest.mark.parametrize(
    "ddl",
    [
        "CREATE EXTENSION IF NOT EXISTS ltree; CREATE TABLE employee (id int PRIMARY KEY, birth_date date NOT NULL, "
        "hire_date date NOT NULL, org_node ltree, CHECK (hire_date > birth_date + 6570)); "
        "INSERT INTO employee SELECT g, date '1960-01-01' + g, date '2000-01-01' + g, ('1.' || g)::ltree "
        "FROM generate_series(1, 300) g;",
        "CREATE TYPE addr AS (street text, zip text); CREATE TABLE employee (id int PRIMARY KEY, "
        "birth_date date NOT NULL, hire_date date NOT NULL, home addr, CHECK (hire_date > birth_date + 6570)); "
        "INSERT INTO employee SELECT g, date '1960-01-01' + g, date '2000-01-01' + g, ROW('x', 'y')::addr "
        "FROM generate_series(1, 300) g;",
    ],
    ids=["extension-type", "composite-type"],
)
def test_a_check_beside_a_type_the_target_lacks(pg_db, ddl: str) -> None:
    source, target = pg_db(), pg_db()
    run_sql(source, ddl)
    out = relsynth.synthesize(source, target, seed=1)
    assert out["write"].verification.problems == 0
    assert fetch(target, "SELECT COUNT(*) FROM employee WHERE NOT (hire_date > birth_date + 6570)") == [(0,)]


PARTITIONED = """
CREATE TABLE visit (id int PRIMARY KEY, kind text NOT NULL);
CREATE TABLE obs (id bigint, visit_id int NOT NULL REFERENCES visit, at timestamptz NOT NULL, v numeric,
    PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE obs_2023 PARTITION OF obs FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE obs_rest PARTITION OF obs DEFAULT;
INSERT INTO visit SELECT g, (ARRAY['a', 'b', 'c'])[1 + g %% 3] FROM generate_series(1, 300) g;
INSERT INTO obs SELECT row_number() OVER (), v.id, timestamptz '2023-06-01+00' + (v.id %% 400) * interval '1 day'
    + k * interval '1 hour', v.id %% 97 + k FROM visit v, generate_series(1, 3) k;
"""


@pytest.mark.postgresql
def test_replace_refuses_a_view_on_a_partition_before_reading_the_source(
    pg_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    """5. A materialized view on a partition of a table --replace drops was found only when the
    table was dropped, after the source was read, fitted and sampled (a view on a table at once)."""
    from relsynth.errors import RelsynthError
    from relsynth.model import fit

    source, target = pg_db(), pg_db()
    run_sql(source, PARTITIONED)
    relsynth.synthesize(source, target, seed=1)
    run_sql(target, "CREATE MATERIALIZED VIEW mv_obs AS SELECT count(*) AS n FROM obs_2023")

    def fitted(*args: object, **kwargs: object) -> None:
        raise AssertionError("the source was read and fitted before the target was checked")

    monkeypatch.setattr(fit, "fit_tables", fitted)
    with pytest.raises(RelsynthError, match=r"view mv_obs \(uses obs_2023\)"):
        relsynth.synthesize(source, target, seed=2, replace=True)
