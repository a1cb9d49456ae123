"""Attack round 16, values the writer could not take.

A) A reference table with a jsonb column (PostgresPro's airline demo: airports_data.city) was kept
   as Python's repr of the decoded documents ({'en': 'Moscow'}): COPY refused it (an internal
   error, nothing written) and `sample -o --format csv` wrote it. Arrays of a reference table went
   the same way (['a', 'b']). They are now kept as JSON and written as the source has them.
B) A column of a PostgreSQL composite type (CREATE TYPE addr AS (street text, zip int)), which
   `inspect` says is written as NULL, stopped the run: the type is not in the target. A type the
   target lacks (a composite, an extension's) now makes the column TEXT, said among the changes,
   and a NOT NULL one with a DEFAULT gets the default where the type is there.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import relsynth
from tests.conftest import fetch, run_sql, scalar

AIRPORTS = """
CREATE TABLE airport_code (code char(3) PRIMARY KEY, city jsonb NOT NULL, names json, tags text[] NOT NULL,
  nums int[], days date[], plain jsonb);
INSERT INTO airport_code VALUES
  ('DME', '{"en": "Moscow", "ru": "Moskva"}', '[1, "x"]', '{"a b",c}', '{1,2}', '{2020-01-01}', '"plain"'),
  ('LED', '{"en": "St. Petersburg"}', '{"k": null}', '{}', NULL, '{2021-02-03,2022-01-01}', '123'),
  ('KZN', '{"en": "Kazan"}', NULL, '{"q\\"uote"}', '{3}', NULL, '"123"');
CREATE TABLE flight (id serial PRIMARY KEY, dep char(3) NOT NULL REFERENCES airport_code, minutes int NOT NULL);
INSERT INTO flight (dep, minutes) SELECT (array['DME','LED','KZN'])[1 + mod(g, 3)], 60 + mod(g, 200)
  FROM generate_series(1, 600) g
"""

TABLE = "SELECT code, city::text, names::text, tags, nums, days, plain::text FROM airport_code ORDER BY code"


@pytest.mark.postgresql
def test_a_reference_tables_documents_and_arrays_are_written_as_the_source_has_them(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    source = request.getfixturevalue("pg_db")()
    target = request.getfixturevalue("pg_db")()
    run_sql(source, AIRPORTS)
    model = relsynth.fit(source, seed=1)
    assert model.tables["airport_code"].role == "reference"
    relsynth.synthesize(source, target, seed=1)
    assert fetch(target, TABLE) == fetch(source, TABLE)
    relsynth.write_files(relsynth.sample(model, seed=1), tmp_path, fmt="csv")
    with open(tmp_path / "airport_code.csv", newline="") as f:
        rows = {r["code"]: r for r in csv.DictReader(f)}
    assert rows["DME"]["city"] == '{"en": "Moscow", "ru": "Moskva"}'
    assert rows["KZN"]["plain"] == '"123"' and rows["LED"]["plain"] == "123"


@pytest.mark.mysql
def test_a_mariadb_reference_tables_json_stays_json(request: pytest.FixtureRequest) -> None:
    source = request.getfixturevalue("mysql_db")()
    target = request.getfixturevalue("mysql_db")()
    run_sql(
        source,
        """
        CREATE TABLE airport_code (code CHAR(3) PRIMARY KEY, city JSON NOT NULL);
        INSERT INTO airport_code VALUES ('DME', '{"en": "Moscow"}'), ('LED', '{"en": "St. Petersburg"}'),
          ('KZN', '"Kazan"');
        CREATE TABLE flight (id INT AUTO_INCREMENT PRIMARY KEY, dep CHAR(3) NOT NULL, minutes INT NOT NULL,
          FOREIGN KEY (dep) REFERENCES airport_code (code));
        INSERT INTO flight (dep, minutes) SELECT ELT(1 + seq MOD 3, 'DME', 'LED', 'KZN'), 60 + seq MOD 200
          FROM seq_1_to_600
        """,
    )
    relsynth.synthesize(source, target, seed=1)
    query = "SELECT code, city FROM airport_code ORDER BY code"
    assert fetch(target, query) == fetch(source, query)


COMPOSITE = """
CREATE TYPE addr AS (street text, zip int);
CREATE TABLE customer (id serial PRIMARY KEY, home addr, score int, home2 addr NOT NULL DEFAULT row('x', 1)::addr,
  homes addr[]);
INSERT INTO customer (home, score, homes) SELECT row(g || ' Main St', 10000 + g)::addr, mod(g, 10),
  array[row('a', 1)::addr] FROM generate_series(1, 300) g
"""


@pytest.mark.postgresql
@pytest.mark.parametrize("type_in_target", [False, True])
def test_a_column_of_a_type_the_target_lacks_is_text_there(
    request: pytest.FixtureRequest, type_in_target: bool
) -> None:
    source = request.getfixturevalue("pg_db")()
    target = request.getfixturevalue("pg_db")()
    run_sql(source, COMPOSITE)
    if type_in_target:
        run_sql(target, "CREATE TYPE addr AS (street text, zip int)")
    result = relsynth.synthesize(source, target, seed=1)
    assert scalar(target, "SELECT COUNT(*) FROM customer") == 300
    assert scalar(target, "SELECT COUNT(*) FROM customer WHERE home IS NOT NULL") == 0
    kinds = dict(
        fetch(
            target,
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'customer'",
        )
    )
    changes = " ".join(result["write"].changes)
    if type_in_target:
        assert kinds["home"] == kinds["home2"] == "USER-DEFINED"
        assert scalar(target, "SELECT COUNT(*) FROM customer WHERE home2 = row('x', 1)::addr") == 300
        assert "addr -> TEXT" not in changes
    else:
        assert kinds["home"] == kinds["home2"] == kinds["homes"] == "text"
        assert "customer.home: addr -> TEXT" in changes
        assert scalar(target, "SELECT COUNT(*) FROM customer WHERE home2 IS NULL") == 0


@pytest.mark.postgresql
def test_a_not_null_float_keeps_its_nan(request: pytest.FixtureRequest) -> None:
    """C) A NOT NULL double precision column with 100 NaN of 500 came out with none: its NaN, read
    as missing values, were filled with other rows' numbers (the README says it keeps them)."""
    source = request.getfixturevalue("pg_db")()
    target = request.getfixturevalue("pg_db")()
    run_sql(
        source,
        """
        CREATE TABLE reading (id serial PRIMARY KEY, ratio double precision NOT NULL);
        INSERT INTO reading (ratio) SELECT CASE WHEN mod(g, 5) = 0 THEN 'NaN'::float8 ELSE g / 7.0 END
          FROM generate_series(1, 500) g
        """,
    )
    relsynth.synthesize(source, target, seed=1)
    nan = scalar(target, "SELECT COUNT(*) FROM reading WHERE ratio = 'NaN'::float8")
    assert 60 <= nan <= 140, nan
    assert scalar(target, "SELECT COUNT(*) FROM reading WHERE ratio IS NULL") == 0


@pytest.mark.parametrize("db", ["mysql_db", "pg_db", "sqlite_db"])
def test_decimals_are_written_without_float_noise(request: pytest.FixtureRequest, db: str) -> None:
    """D) DECIMAL(65,30) values of two decimals came back as 411.989999999999950000...: a float the
    model computed went to the driver as its repr, and the column kept every digit."""
    source = request.getfixturevalue(db)()
    target = request.getfixturevalue(db)()
    rows = ", ".join(f"({i}, {round(i * 1.37, 2)}, {round(i * 2.11, 2)})" for i in range(1, 401))
    run_sql(
        source,
        "CREATE TABLE job (id INT PRIMARY KEY, cost DECIMAL(65, 30) NOT NULL, fee NUMERIC(20, 10) NOT NULL);\n"
        f"INSERT INTO job VALUES {rows}",
    )
    relsynth.synthesize(source, target, seed=1)
    values = [float(c) for row in fetch(target, "SELECT cost, fee FROM job") for c in row]
    assert len(values) == 800
    noisy = [v for v in values if abs(v * 100 - round(v * 100)) > 1e-6]
    assert not noisy, noisy[:3]
    digits = [str(c).rstrip("0") for (c,) in fetch(target, "SELECT cost FROM job")]
    assert all(len(d.split(".")[1]) <= 2 for d in digits if "." in d), digits[:3]


def test_fifteen_digits_rounds_away_only_float_noise() -> None:
    import numpy as np

    from relsynth.writer import _fifteen_digits

    got = _fifteen_digits(
        np.array([254.49000000000004, 0.1 + 0.2, -7.25, 1 / 3, 1e20 / 3, 1e30, np.nan, 0.0])
    )
    assert [repr(float(x)) for x in got[:5]] == [
        "254.49",
        "0.3",
        "-7.25",
        "0.333333333333333",
        "3.33333333333333e+19",
    ]
    assert got[5] == 1e30 and np.isnan(got[6]) and got[7] == 0.0
