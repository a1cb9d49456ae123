"""Attack round 30, MariaDB.

3) A target table of a non-transactional engine (MyISAM, Aria, MEMORY, ...) cannot be rolled
   back: --into-existing wrote into it and a failure left it half-written (or, with --replace,
   emptied). It is now refused before anything is written; and the tables relsynth creates are
   InnoDB whatever the source's engine (a "changed:" line says so).
4) --into-existing into a table with a POINT (any spatial) column was an internal error (22003):
   the reflected column is NullType, so the WKT text went in as it is; now through ST_GeomFromText,
   as into the tables relsynth creates.
"""

from __future__ import annotations

import pytest

import relsynth
from relsynth.errors import RelsynthError
from tests.conftest import fetch, run_sql, scalar

pytestmark = pytest.mark.mysql

ZONES = """
CREATE TABLE zone (id INT PRIMARY KEY, name VARCHAR(10), floor INT) ENGINE=MyISAM;
CREATE TABLE room (id INT PRIMARY KEY, seats INT NOT NULL, label VARCHAR(10)) ENGINE=InnoDB;
INSERT INTO zone SELECT seq, CONCAT('z', seq MOD 7), seq MOD 4 FROM seq_1_to_100;
INSERT INTO room SELECT seq, 2 + seq MOD 9, ELT(1 + seq MOD 3, 'a', 'b', 'c') FROM seq_1_to_500
"""


def _engine(url: str, table: str) -> str:
    return str(
        scalar(
            url,
            "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
            f"AND TABLE_NAME = '{table}'",
        )
    )


def test_new_tables_are_innodb_whatever_the_source_engine(request: pytest.FixtureRequest) -> None:
    source, target = request.getfixturevalue("mysql_db")(), request.getfixturevalue("mysql_db")()
    run_sql(source, ZONES)
    result = relsynth.synthesize(source, target, seed=1)
    assert _engine(target, "zone") == "InnoDB"
    assert any("zone" in c and "MyISAM" in c and "InnoDB" in c for c in result["write"].changes)
    assert not any(c.startswith("room:") and "ENGINE" in c for c in result["write"].changes)


@pytest.mark.parametrize("replace", [False, True])
def test_into_existing_refuses_non_transactional_tables_before_writing(
    request: pytest.FixtureRequest, replace: bool
) -> None:
    source, target = request.getfixturevalue("mysql_db")(), request.getfixturevalue("mysql_db")()
    run_sql(source, ZONES)
    relsynth.synthesize(source, target, seed=1, schema_only=not replace)
    run_sql(target, "ALTER TABLE zone ENGINE=MyISAM;")
    before = fetch(target, "SELECT * FROM zone ORDER BY id")
    with pytest.raises(RelsynthError, match=r"zone \(MyISAM\).*ALTER TABLE zone ENGINE=InnoDB") as err:
        relsynth.synthesize(source, target, seed=2, into_existing=True, replace=replace)
    assert "\n" not in str(err.value) and "room" not in str(err.value)
    assert fetch(target, "SELECT * FROM zone ORDER BY id") == before
    assert scalar(target, "SELECT COUNT(*) FROM room") == (500 if replace else 0)
    # made transactional as the message says, the same load goes through
    run_sql(target, "ALTER TABLE zone ENGINE=InnoDB;")
    result = relsynth.synthesize(source, target, seed=2, into_existing=True, replace=replace)
    assert result["write"].verification.problems == 0


def test_into_existing_writes_spatial_columns(request: pytest.FixtureRequest) -> None:
    from tests.test_mysql_objects import PLACES, _places

    source, target = request.getfixturevalue("mysql_db")(), request.getfixturevalue("mysql_db")()
    run_sql(source, PLACES)
    _places(source)
    relsynth.synthesize(source, target, seed=1, schema_only=True)
    result = relsynth.synthesize(source, target, seed=2, into_existing=True)
    assert result["write"].verification.problems == 0
    assert scalar(target, "SELECT COUNT(*) FROM place") == 150
    rows = fetch(target, "SELECT ST_GeometryType(p), ST_AsText(g), ST_AsText(a) FROM place")
    assert {r[0] for r in rows} == {"POINT"}
    assert all(r[1] and r[2].startswith("POLYGON") for r in rows)
    again = relsynth.synthesize(source, target, seed=3, into_existing=True, replace=True)
    assert again["write"].verification.problems == 0
    assert scalar(target, "SELECT COUNT(*) FROM place") == 150


ITEMS = """
CREATE TABLE item (id INT PRIMARY KEY, stars TINYINT(1) NOT NULL, flag TINYINT(1), active BOOLEAN NOT NULL);
INSERT INTO item SELECT seq, seq MOD 6, IF(seq MOD 5 = 0, NULL, seq MOD 2), seq MOD 3 = 0 FROM seq_1_to_600
"""


def test_tinyint1_holding_numbers_is_a_small_integer_not_a_boolean(request: pytest.FixtureRequest) -> None:
    """15) A TINYINT(1) holding 0-5 (a legacy rating) came back as zeros and ones: a boolean by its
    type alone. It is a boolean only when its rows hold 0, 1 and NULL."""
    from relsynth.reflection import reflect

    source, target = request.getfixturevalue("mysql_db")(), request.getfixturevalue("mysql_db")()
    run_sql(source, ITEMS)
    item = reflect(source, profile=False).table("item")
    assert item.column("stars").type.name == "smallint"
    assert item.column("flag").type.name == "boolean" and item.column("active").type.name == "boolean"
    relsynth.synthesize(source, target, seed=1)
    stars = {r[0] for r in fetch(target, "SELECT DISTINCT stars FROM item")}
    assert len(stars) >= 4 and stars <= set(range(6))
    assert {r[0] for r in fetch(target, "SELECT DISTINCT flag FROM item")} <= {0, 1, None}
    assert "`stars` tinyint(1) NOT NULL" in str(fetch(target, "SHOW CREATE TABLE item")[0][1])


def test_bigint_unsigned_near_2_to_64_keeps_distinct_values(
    request: pytest.FixtureRequest, tmp_path: pytest.TempPathFactory
) -> None:
    """15) A non-key BIGINT UNSIGNED with 40 values near 2**64 (7 apart) came back as one value:
    as floats (spacing 4096 there) they were one number. Learned as exact differences from the
    column's smallest value, kept through a saved model."""
    from relsynth.api import sample
    from relsynth.model.spec import Model

    source = request.getfixturevalue("mysql_db")()
    run_sql(
        source,
        "CREATE TABLE counter (id INT PRIMARY KEY, big BIGINT UNSIGNED NOT NULL, n INT NOT NULL);\n"
        "INSERT INTO counter SELECT seq, 18446744073709551615 - (seq MOD 40) * 7, seq MOD 9 FROM seq_1_to_1000",
    )
    model = relsynth.fit(source, seed=0)
    path = tmp_path / "model.json"  # type: ignore[operator]
    model.save(path)
    for m in (model, Model.load(path)):
        big = [int(v) for v in sample(m, seed=1)["counter"]["big"]]
        assert len(set(big)) >= 20
        assert min(big) >= 2**64 - 1 - 39 * 7 and max(big) <= 2**64 - 1
    import zipfile

    with zipfile.ZipFile(path) as z:  # the exact integer it is learned from is no source value
        stored = b"".join(z.read(n) for n in z.namelist())
    assert not any(str(2**64 - 1 - k * 7).encode() in stored for k in range(40))
