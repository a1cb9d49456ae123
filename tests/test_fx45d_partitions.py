"""MariaDB partitioned tables (attack rounds: "not read").

A table PARTITION BY RANGE, LIST or HASH was read as a plain table: the target got no partitions,
and a LIST key in the primary key (as MariaDB requires) was generated afresh as an identifier
(1..n), values no partition of the source takes. The partitioning is reflected, recreated in a
MariaDB target (same partitions, in order), its key learned as data and every row lands in a
partition; into another dialect the table is a plain one, said under "changed:".
"""

from __future__ import annotations

import random

import pytest

import relsynth
from tests.conftest import fetch, run_raw, scalar

_DDL = [
    "CREATE TABLE sales (id INT NOT NULL, sold DATE NOT NULL, amount DECIMAL(8,2), PRIMARY KEY (id, sold))"
    " PARTITION BY RANGE (YEAR(sold)) (PARTITION p2020 VALUES LESS THAN (2021),"
    " PARTITION p2021 VALUES LESS THAN (2022), PARTITION p2022 VALUES LESS THAN (2023))",
    "CREATE TABLE shops (id INT NOT NULL, region_code INT NOT NULL, name VARCHAR(20),"
    " PRIMARY KEY (id, region_code)) PARTITION BY LIST (region_code)"
    " (PARTITION pn VALUES IN (1,2), PARTITION ps VALUES IN (3,4))",
    "CREATE TABLE hits (id INT NOT NULL PRIMARY KEY, n INT) PARTITION BY HASH (id) PARTITIONS 3",
    "CREATE TABLE visits (id INT NOT NULL, at DATETIME NOT NULL, region VARCHAR(5) NOT NULL,"
    " PRIMARY KEY (id, at, region)) PARTITION BY RANGE COLUMNS (at)"
    " (PARTITION old VALUES LESS THAN ('2021-01-01'), PARTITION new VALUES LESS THAN ('2021-07-01'))",
]


def _source(url: str) -> None:
    r = random.Random(3)
    rows = [
        "INSERT INTO sales VALUES "
        + ",".join(
            f"({i}, '{r.choice([2020, 2021, 2022])}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}', {i}.5)"
            for i in range(1, 61)
        ),
        "INSERT INTO shops VALUES " + ",".join(f"({i}, {r.randint(1, 4)}, 's{i}')" for i in range(1, 41)),
        "INSERT INTO hits VALUES " + ",".join(f"({i}, {r.randint(0, 9)})" for i in range(1, 31)),
        "INSERT INTO visits VALUES "
        + ",".join(
            f"({i}, '{r.choice([2020, 2021])}-{r.randint(1, 6):02d}-{r.randint(1, 28):02d} 10:00:00',"
            f" '{r.choice(['n', 's', 'e'])}')"
            for i in range(1, 61)
        ),
    ]
    run_raw(url, *_DDL, *rows)


_PARTS = (
    "SELECT TABLE_NAME, PARTITION_NAME, PARTITION_METHOD, PARTITION_EXPRESSION, PARTITION_DESCRIPTION "
    "FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = DATABASE() "
    "ORDER BY TABLE_NAME, PARTITION_ORDINAL_POSITION"
)


@pytest.mark.mysql
def test_mariadb_partitioned_tables_are_recreated_and_every_row_has_a_partition(mysql_db) -> None:
    src, dst = mysql_db(), mysql_db()
    _source(src)
    out = relsynth.synthesize(src, dst, seed=1, scale=2)
    assert fetch(dst, _PARTS) == fetch(src, _PARTS)  # the same partitions, in order
    for table, n in {"sales": 120, "shops": 80, "hits": 60, "visits": 120}.items():
        assert out["write"].rows[table] == n
        parts = [p for t, p, *_ in fetch(dst, _PARTS) if t == table]
        # each row in a partition that exists (MariaDB refuses any other), counted partition by partition
        assert sum(scalar(dst, f"SELECT count(*) FROM {table} PARTITION ({p})") for p in parts) == n
    # the LIST key is data: the values its partitions list, not identifiers 1..n
    assert {v for (v,) in fetch(dst, "SELECT DISTINCT region_code FROM shops")} <= {1, 2, 3, 4}
    assert scalar(dst, "SELECT max(sold) < '2023-01-01' AND max(at) < '2021-07-01' FROM sales, visits") == 1


@pytest.mark.mysql
@pytest.mark.postgresql
def test_a_mariadb_partitioned_table_is_a_plain_table_in_postgresql(mysql_db, pg_db) -> None:
    src, dst = mysql_db(), pg_db()
    _source(src)
    out = relsynth.synthesize(src, dst, seed=1)
    assert out["write"].rows["shops"] == 40
    assert any("shops: partitioned in the source; one plain table here" in c for c in out["write"].changes)
    assert scalar(dst, "SELECT count(*) FROM pg_partitioned_table") == 0
    assert {v for (v,) in fetch(dst, "SELECT DISTINCT region_code FROM shops")} <= {1, 2, 3, 4}


@pytest.mark.mysql
def test_a_model_file_recreates_the_mariadb_partitions(mysql_db, tmp_path) -> None:
    from click.testing import CliRunner

    from relsynth.cli import main

    src, dst = mysql_db(), mysql_db()
    _source(src)
    model = tmp_path / "m.rsm"
    assert CliRunner().invoke(main, ["fit", src, "-o", str(model), "-q"]).exit_code == 0
    # the bounds' YEAR() and LESS THAN are side-effect-free SQL: no --trust-model-sql needed
    done = CliRunner().invoke(main, ["sample", str(model), "--target", dst, "-q"])
    assert done.exit_code == 0, done.output
    assert fetch(dst, _PARTS) == fetch(src, _PARTS)
