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


# -- geometric, network, bit, interval, timetz and JSON values: generated validly, resembling the source --
SHAPES = """
CREATE TABLE site (
  id INTEGER PRIMARY KEY,
  loc POINT NOT NULL, spare POINT,
  area BOX NOT NULL, zone CIRCLE NOT NULL, edge LSEG NOT NULL, border LINE NOT NULL,
  route PATH NOT NULL, shape POLYGON NOT NULL
);
INSERT INTO site
SELECT g, point(100 + mod(g, 37), -20 - mod(g, 23)), CASE WHEN mod(g, 3) = 0 THEN NULL ELSE point(g, g) END,
       box(point(mod(g, 10), mod(g, 7)), point(mod(g, 10) + 5, mod(g, 7) + 3)), circle(point(mod(g, 11), mod(g, 13)), 1 + mod(g, 4)),
       lseg(point(mod(g, 17), mod(g, 5)), point(mod(g, 17) + 2, 3 + mod(g, 7))),
       line(point(0, mod(g, 29)), point(1 + mod(g, 3), mod(g, 29) + 2)),
       path(polygon(box(point(mod(g, 6), 1), point(mod(g, 6) + 4, 6)))), polygon(box(point(0, mod(g, 8)), point(3, mod(g, 8) + 2)))
FROM generate_series(1, 150) g;
"""

_POINT = r"^\((-?[\d.e+-]+),(-?[\d.e+-]+)\)$"


def _read(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql).all()]
    finally:
        engine.dispose()


@pytest.mark.parametrize("target_kind", ["postgresql", "sqlite", "mysql"])
def test_geometric_values_are_generated_like_the_source(
    request: pytest.FixtureRequest, target_kind: str
) -> None:
    """Points and shapes were one constant ((0,0), a unit box) or NULL: now many valid values, in the
    region the source's lie in, NULL only where the column allows it."""
    import re

    source = request.getfixturevalue("pg_db")()
    run_sql(source, SHAPES)
    fixture = {"postgresql": "pg_db", "sqlite": "sqlite_db", "mysql": "mysql_db"}[target_kind]
    target = request.getfixturevalue(fixture)()
    result = relsynth.synthesize(source, target, seed=4)
    assert result["write"].verification.problems == 0
    rows = _read(target, "SELECT loc, spare, area, zone, edge, border, route, shape FROM site")
    assert len(rows) == 150
    columns = list(zip(*rows, strict=True))
    for i, values in enumerate(columns):
        known = [v for v in values if v is not None]
        assert len(set(map(str, known))) > 20, f"column {i} is not generated: {len(set(known))} values"
    spare_nulls = sum(v is None for v in columns[1]) / 150
    assert 0.15 < spare_nulls < 0.55
    points = [re.match(_POINT, str(v).replace(" ", "")) for v in columns[0]]
    assert all(points), "a point is written as (x,y)"
    xs = [float(m.group(1)) for m in points if m]
    ys = [float(m.group(2)) for m in points if m]
    assert min(xs) >= 100 and max(xs) <= 136 and min(ys) >= -42 and max(ys) <= -20
    if target_kind == "postgresql":
        inside = _read(
            target,
            "SELECT bool_and(box(point(0, 0), point(15, 10)) @> area), "
            "bool_and(box(point(-4, -4), point(15, 17)) @> center(zone)), "
            "bool_and(shape <@ polygon(box(point(-1, -1), point(8, 10)))) FROM site",
        )[0]
        assert inside == (True, True, True), inside


INTERNET = """
CREATE TABLE device (
  id INTEGER PRIMARY KEY,
  ip INET NOT NULL, net CIDR NOT NULL, mac MACADDR NOT NULL, flags BIT(4) NOT NULL, spare_ip INET,
  uptime INTERVAL NOT NULL, opened TIMETZ NOT NULL
);
INSERT INTO device
SELECT g, ('10.0.' || (g / 250) || '.' || mod(g, 250))::inet, ('10.' || mod(g, 7) || '.0.0/16')::cidr,
       ('08:00:2b:01:02:' || lpad(to_hex(mod(g, 250)), 2, '0'))::macaddr,
       (CASE WHEN mod(g, 2) = 0 THEN B'1000' ELSE B'1011' END),
       CASE WHEN mod(g, 4) = 0 THEN NULL ELSE ('192.168.1.' || mod(g, 200))::inet END,
       make_interval(mins => g * 7), (('0' || mod(g, 10) || ':' || lpad(mod(g, 60)::text, 2, '0') || ':00')
       || CASE WHEN mod(g, 3) = 0 THEN '+02' ELSE '-05:30' END)::timetz
FROM generate_series(1, 150) g;
"""


@pytest.mark.parametrize("target_kind", ["postgresql", "sqlite"])
def test_addresses_bits_intervals_and_offsets_are_generated(
    request: pytest.FixtureRequest, target_kind: str
) -> None:
    """NOT NULL inet/cidr/macaddr/bit were one constant, an interval was 0 or NULL, and a timetz lost
    its offset: now addresses from documentation ranges, bits of the column's width, durations in the
    source's range, and times that keep the source's offsets."""
    import ipaddress

    source = request.getfixturevalue("pg_db")()
    run_sql(source, INTERNET)
    target = request.getfixturevalue("pg_db" if target_kind == "postgresql" else "sqlite_db")()
    result = relsynth.synthesize(source, target, seed=5)
    assert result["write"].verification.problems == 0
    rows = _read(target, "SELECT ip, net, mac, flags, spare_ip FROM device")
    ips = [ipaddress.ip_interface(str(r[0])) for r in rows]
    docs = [
        ipaddress.ip_network(n)
        for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15")
    ]
    assert all(any(ip.ip in d for d in docs) for ip in ips)
    assert len({str(r[0]) for r in rows}) > 40 and len({str(r[2]) for r in rows}) > 40
    nets = [ipaddress.ip_network(str(r[1])) for r in rows]  # strict: no host bits in a cidr
    assert {n.prefixlen for n in nets} == {16}
    assert all(len(str(r[3])) == 4 and set(str(r[3])) <= {"0", "1"} for r in rows)
    assert len({str(r[3]) for r in rows}) > 1
    assert 0.1 < sum(r[4] is None for r in rows) / len(rows) < 0.45
    if target_kind == "postgresql":
        minutes = _read(target, "SELECT extract(epoch FROM uptime) / 60 FROM device")
        values = [float(m[0]) for m in minutes]
        assert len(set(values)) > 40 and min(values) >= 7 and max(values) <= 1050
        offsets = {r[0] for r in _read(target, "SELECT extract(timezone FROM opened)::int FROM device")}
        assert offsets == {7200, -19800}


JSON_DOCS = """
CREATE TABLE event (id INTEGER PRIMARY KEY, doc JSONB NOT NULL, meta JSON);
INSERT INTO event
SELECT g, jsonb_build_object(
         'kind', CASE WHEN mod(g, 3) = 0 THEN 'visit' ELSE 'call' END,
         'score', g * 1.5,
         'ok', mod(g, 2) = 0,
         'owner', jsonb_build_object('name', 'Person ' || md5(g::text), 'age', 20 + mod(g, 50)),
         'tags', CASE WHEN mod(g, 5) = 0 THEN jsonb_build_array('red', 'blue') ELSE jsonb_build_array('green') END),
       CASE WHEN mod(g, 4) = 0 THEN NULL ELSE json_build_object('v', mod(g, 3), 'note', NULL) END
FROM generate_series(1, 150) g;
"""


def _paths(doc: object, prefix: str = "") -> frozenset[str]:
    """A JSON document's key structure: its key paths and the JSON types at their ends."""
    if isinstance(doc, dict):
        return frozenset().union(*(_paths(v, f"{prefix}.{k}") for k, v in doc.items())) or frozenset({prefix})
    if isinstance(doc, list):
        return frozenset().union(*(_paths(v, f"{prefix}[]") for v in doc)) or frozenset({f"{prefix}[]"})
    kind = "null" if doc is None else "bool" if isinstance(doc, bool) else type(doc).__name__
    return frozenset({f"{prefix}:{'number' if kind in {'int', 'float'} else kind}"})


def json_structures_kept(source_docs: list, target_docs: list) -> None:
    """Shared by the PostgreSQL and MariaDB tests: keys kept, values by type, no string copied."""
    import json

    def loaded(docs: list) -> list:
        return [json.loads(d) if isinstance(d, str) else d for d in docs if d is not None]

    src, out = loaded(source_docs), loaded(target_docs)
    allowed = {_paths(d) for d in src}
    assert out and all(_paths(d) in allowed for d in out), "keys are schema: kept as in the source"
    names = {d["owner"]["name"] for d in src if isinstance(d, dict) and "owner" in d}
    assert not names & {d["owner"]["name"] for d in out if isinstance(d, dict) and "owner" in d}
    scores = [d["score"] for d in out if isinstance(d, dict) and "score" in d]
    if scores:
        assert len(set(scores)) > 20 and min(scores) >= 1.5 and max(scores) <= 225


@pytest.mark.parametrize("target_kind", ["postgresql", "sqlite"])
def test_json_keys_are_kept_and_values_generated(request: pytest.FixtureRequest, target_kind: str) -> None:
    source = request.getfixturevalue("pg_db")()
    run_sql(source, JSON_DOCS)
    target = request.getfixturevalue("pg_db" if target_kind == "postgresql" else "sqlite_db")()
    result = relsynth.synthesize(source, target, seed=6)
    assert result["write"].verification.problems == 0
    for column in ("doc", "meta"):
        json_structures_kept(
            [r[0] for r in _read(source, f"SELECT {column} FROM event")],
            [r[0] for r in _read(target, f"SELECT {column} FROM event")],
        )
    nulls = sum(r[0] is None for r in _read(target, "SELECT meta FROM event"))
    assert 0.1 < nulls / 150 < 0.45


def test_inspect_says_how_each_type_is_generated(request: pytest.FixtureRequest) -> None:
    source = request.getfixturevalue("pg_db")()
    run_sql(source, SHAPES)
    schema = relsynth.reflect(source)
    reasons = {c.name: c.kind_reason for c in schema.table("site").columns}
    assert reasons["loc"].startswith("generated:") and "x, y" in reasons["loc"]
    assert reasons["shape"].startswith("generated:")
