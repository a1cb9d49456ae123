"""PostgreSQL types SQLAlchemy does not know (geometric, xml, bit strings, network addresses): the
target gets the same types, not 'unknown' (which failed the whole load), and a NOT NULL column of a
type relsynth does not learn gets one valid value of that type."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import relsynth
from tests.conftest import run_sql

DEVICES = """
CREATE TABLE device (
  id INTEGER PRIMARY KEY,
  ip INET NOT NULL, net CIDR NOT NULL, mac MACADDR NOT NULL,
  flags BIT(4) NOT NULL, bits VARBIT NOT NULL,
  loc POINT NOT NULL, area BOX NOT NULL, zone CIRCLE NOT NULL, route PATH NOT NULL,
  doc XML NOT NULL, spare_loc POINT
);
INSERT INTO device
SELECT g, ('10.0.0.' || mod(g, 250))::inet, '10.1.0.0/16', '08:00:2b:01:02:03', B'1010', B'101',
       point(g, g), box(point(0, 0), point(g, g)), circle(point(0, 0), g), '[(0,0),(1,1)]'::path,
       xmlparse(content '<a>x</a>'), NULL
FROM generate_series(1, 60) g;
"""


@pytest.mark.parametrize("target_kind", ["postgresql", "sqlite"])
def test_types_sqlalchemy_does_not_know_are_written(request: pytest.FixtureRequest, target_kind: str) -> None:
    source = request.getfixturevalue("pg_db")()
    run_sql(source, DEVICES)
    target = request.getfixturevalue("pg_db" if target_kind == "postgresql" else "sqlite_db")()
    result = relsynth.synthesize(source, target, seed=1)
    assert result["write"].verification.problems == 0
    assert result["write"].rows["device"] == 60
    if target_kind == "postgresql":
        engine = sa.create_engine(target)
        with engine.connect() as conn:
            types = dict(
                conn.exec_driver_sql(
                    "SELECT column_name, udt_name FROM information_schema.columns WHERE table_name = 'device'"
                ).all()
            )
        engine.dispose()
        assert {types[c] for c in ("loc", "area", "zone", "route", "doc")} == {
            "point",
            "box",
            "circle",
            "path",
            "xml",
        }
