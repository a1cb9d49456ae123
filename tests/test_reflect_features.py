"""Reflection of the awkward-but-legal schema features, the same cases on SQLite, PostgreSQL, MariaDB."""

from __future__ import annotations

import pytest

from relsynth.graph import plan
from relsynth.reflection import reflect
from relsynth.schema import Kind, Schema
from tests.conftest import run_sql

# One schema with every structural case; {Q} is the dialect's identifier quote, {AUTO} etc. are
# the few spellings that differ. Cycles are closed with ALTER TABLE where the dialect needs it.
COMMON = """
CREATE TABLE customer (
  id INTEGER PRIMARY KEY,
  email VARCHAR(80) UNIQUE,
  referred_by INTEGER NULL REFERENCES customer(id)
);
CREATE TABLE {Q}Order{Q} (
  {Q}OrderId{Q} INTEGER PRIMARY KEY,
  {Q}select{Q} VARCHAR(20),
  customer_id INTEGER NOT NULL REFERENCES customer(id)
);
CREATE TABLE order_line (
  order_id INTEGER NOT NULL,
  line_no INTEGER NOT NULL,
  qty INTEGER NOT NULL CHECK (qty > 0),
  PRIMARY KEY (order_id, line_no),
  FOREIGN KEY (order_id) REFERENCES {Q}Order{Q}({Q}OrderId{Q}) ON DELETE CASCADE
);
CREATE TABLE line_note (
  order_id INTEGER,
  line_no INTEGER,
  note VARCHAR(200),
  FOREIGN KEY (order_id, line_no) REFERENCES order_line(order_id, line_no)
);
CREATE TABLE tag (id INTEGER PRIMARY KEY, label VARCHAR(20) NOT NULL);
CREATE TABLE order_tag (
  order_id INTEGER NOT NULL REFERENCES {Q}Order{Q}({Q}OrderId{Q}),
  tag_id INTEGER NOT NULL REFERENCES tag(id),
  PRIMARY KEY (order_id, tag_id)
);
CREATE TABLE transfer (
  id INTEGER PRIMARY KEY,
  from_customer INTEGER NOT NULL REFERENCES customer(id),
  to_customer INTEGER NULL REFERENCES customer(id)
);
CREATE TABLE voucher (id INTEGER PRIMARY KEY, code VARCHAR(12) NOT NULL UNIQUE);
CREATE TABLE redemption (id INTEGER PRIMARY KEY, voucher_code VARCHAR(12) NOT NULL REFERENCES voucher(code));
INSERT INTO customer (id, email, referred_by) VALUES (1, 'a@example.org', NULL), (2, 'b@example.org', 1);
INSERT INTO {Q}Order{Q} ({Q}OrderId{Q}, {Q}select{Q}, customer_id) VALUES (10, 'x', 1), (11, 'y', 2), (12, 'x', 2);
INSERT INTO order_line (order_id, line_no, qty) VALUES (10, 1, 2), (10, 2, 1), (11, 1, 5);
INSERT INTO transfer (id, from_customer, to_customer) VALUES (1, 1, 2), (2, 2, NULL);
INSERT INTO line_note (order_id, line_no, note) VALUES (10, 1, 'fragile'), (NULL, NULL, 'orphan note');
"""

CYCLES_ALTER = """
CREATE TABLE cyc_a (id INTEGER PRIMARY KEY, b_id INTEGER NOT NULL);
CREATE TABLE cyc_b (id INTEGER PRIMARY KEY, a_id INTEGER NULL REFERENCES cyc_a(id));
ALTER TABLE cyc_a ADD CONSTRAINT fk_cyc_a_b FOREIGN KEY (b_id) REFERENCES cyc_b(id);
CREATE TABLE tri_x (id INTEGER PRIMARY KEY, y_id INTEGER NOT NULL);
CREATE TABLE tri_y (id INTEGER PRIMARY KEY, z_id INTEGER NOT NULL);
CREATE TABLE tri_z (id INTEGER PRIMARY KEY, x_id INTEGER NULL REFERENCES tri_x(id));
ALTER TABLE tri_x ADD CONSTRAINT fk_tri_x_y FOREIGN KEY (y_id) REFERENCES tri_y(id);
ALTER TABLE tri_y ADD CONSTRAINT fk_tri_y_z FOREIGN KEY (z_id) REFERENCES tri_z(id);
"""

CYCLES_SQLITE = """
CREATE TABLE cyc_a (id INTEGER PRIMARY KEY, b_id INTEGER NOT NULL REFERENCES cyc_b(id));
CREATE TABLE cyc_b (id INTEGER PRIMARY KEY, a_id INTEGER NULL REFERENCES cyc_a(id));
CREATE TABLE tri_x (id INTEGER PRIMARY KEY, y_id INTEGER NOT NULL REFERENCES tri_y(id));
CREATE TABLE tri_y (id INTEGER PRIMARY KEY, z_id INTEGER NOT NULL REFERENCES tri_z(id));
CREATE TABLE tri_z (id INTEGER PRIMARY KEY, x_id INTEGER NULL REFERENCES tri_x(id));
"""

TABLES = {
    "customer",
    "Order",
    "order_line",
    "line_note",
    "tag",
    "order_tag",
    "transfer",
    "voucher",
    "redemption",
    "cyc_a",
    "cyc_b",
    "tri_x",
    "tri_y",
    "tri_z",
}


def _build(url: str, dialect: str) -> None:
    quote = {"sqlite": '"', "postgresql": '"', "mysql": "`"}[dialect]
    script = COMMON.replace("{Q}", quote)
    script += CYCLES_SQLITE if dialect == "sqlite" else CYCLES_ALTER
    if dialect == "mysql":
        # MariaDB ignores inline column REFERENCES; spell every FK as a table constraint.
        script = (
            script.replace(
                "referred_by INTEGER NULL REFERENCES customer(id)",
                "referred_by INTEGER NULL, FOREIGN KEY (referred_by) REFERENCES customer(id)",
            )
            .replace(
                "customer_id INTEGER NOT NULL REFERENCES customer(id)",
                "customer_id INTEGER NOT NULL, FOREIGN KEY (customer_id) REFERENCES customer(id)",
            )
            .replace(
                "order_id INTEGER NOT NULL REFERENCES `Order`(`OrderId`),\n  tag_id INTEGER NOT NULL REFERENCES tag(id),",
                "order_id INTEGER NOT NULL, tag_id INTEGER NOT NULL,\n"
                "  FOREIGN KEY (order_id) REFERENCES `Order`(`OrderId`), FOREIGN KEY (tag_id) REFERENCES tag(id),",
            )
            .replace(
                "from_customer INTEGER NOT NULL REFERENCES customer(id),\n  to_customer INTEGER NULL REFERENCES customer(id)",
                "from_customer INTEGER NOT NULL, to_customer INTEGER NULL,\n"
                "  FOREIGN KEY (from_customer) REFERENCES customer(id), FOREIGN KEY (to_customer) REFERENCES customer(id)",
            )
            .replace(
                "voucher_code VARCHAR(12) NOT NULL REFERENCES voucher(code)",
                "voucher_code VARCHAR(12) NOT NULL, FOREIGN KEY (voucher_code) REFERENCES voucher(code)",
            )
            .replace(
                "a_id INTEGER NULL REFERENCES cyc_a(id)",
                "a_id INTEGER NULL, FOREIGN KEY (a_id) REFERENCES cyc_a(id)",
            )
            .replace(
                "x_id INTEGER NULL REFERENCES tri_x(id)",
                "x_id INTEGER NULL, FOREIGN KEY (x_id) REFERENCES tri_x(id)",
            )
        )
    run_sql(url, script)


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def features(request: pytest.FixtureRequest) -> Schema:
    dialect = request.param
    if dialect == "sqlite":
        url = request.getfixturevalue("sqlite_db")()
    elif dialect == "postgresql":
        url = request.getfixturevalue("pg_db")()
    else:
        url = request.getfixturevalue("mysql_db")()
    _build(url, dialect)
    return reflect(url)


def _fk(schema: Schema, table: str, cols: tuple[str, ...]):
    return next(fk for fk in schema.table(table).foreign_keys if fk.columns == cols)


def test_tables_and_identifiers(features: Schema) -> None:
    assert set(features.table_names) == TABLES
    order = features.table("Order")
    assert order.column_names == ("OrderId", "select", "customer_id")
    assert order.primary_key == ("OrderId",)
    assert order.row_count == 3 and order.row_count_exact
    # Reading sample rows through quoted reserved/mixed-case names worked: kinds came from data.
    assert order.column("select").kind is Kind.CATEGORICAL


def test_composite_keys(features: Schema) -> None:
    assert features.table("order_line").primary_key == ("order_id", "line_no")
    fk = _fk(features, "line_note", ("order_id", "line_no"))
    assert (fk.ref_table, fk.ref_columns) == ("order_line", ("order_id", "line_no"))
    cascade = _fk(features, "order_line", ("order_id",))
    assert cascade.ref_table == "Order" and cascade.ref_columns == ("OrderId",)
    assert cascade.on_delete == "CASCADE"


def test_self_reference_and_same_parent_twice(features: Schema) -> None:
    p = plan(features)
    assert [fk.columns for fk in p["customer"].self_refs] == [("referred_by",)]
    transfer = features.table("transfer")
    assert sorted(fk.columns for fk in transfer.foreign_keys) == [("from_customer",), ("to_customer",)]
    assert {fk.ref_table for fk in transfer.foreign_keys} == {"customer"}
    assert transfer.column("to_customer").nullable and not transfer.column("from_customer").nullable
    assert p["transfer"].context is not None and p["transfer"].context.columns == ("from_customer",)


def test_cycles_are_cut_at_the_nullable_fk(features: Schema) -> None:
    p = plan(features)
    cuts = {c.tables: c.fk.label for c in p.cycles}
    assert cuts == {
        ("cyc_a", "cyc_b"): "cyc_b(a_id) -> cyc_a(id)",
        ("tri_x", "tri_y", "tri_z"): "tri_z(x_id) -> tri_x(id)",
    }
    assert all("nullable" in c.reason for c in p.cycles)
    pos = {n: i for i, n in enumerate(p.order)}
    assert pos["cyc_b"] < pos["cyc_a"] and pos["tri_x"] > pos["tri_y"] > pos["tri_z"]
    assert p["cyc_b"].deferred and p["cyc_b"].deferred[0].columns == ("a_id",)


def test_link_unique_target_and_no_pk(features: Schema) -> None:
    p = plan(features)
    assert p["order_tag"].link
    fk = _fk(features, "redemption", ("voucher_code",))
    assert fk.ref_columns == ("code",)
    assert ("code",) in {u.columns for u in features.table("voucher").unique}
    assert ("email",) in {u.columns for u in features.table("customer").unique}
    assert features.table("line_note").primary_key == ()
    assert "line_note" in p.without_pk
    # Parents before children everywhere except the cut edges.
    pos = {n: i for i, n in enumerate(p.order)}
    for t in features.tables:
        for fk in t.foreign_keys:
            if fk.ref_table != t.name and fk not in p[t.name].deferred:
                assert pos[fk.ref_table] < pos[t.name], fk.label


def test_json_round_trip(features: Schema) -> None:
    again = Schema.from_json(features.to_json())
    assert again == features


PG_TYPES = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS INTEGER CHECK (VALUE > 0);
CREATE TABLE kinds (
  id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  m mood NOT NULL DEFAULT 'ok',
  p posint,
  arr INTEGER[],
  j JSONB,
  js JSON,
  u UUID UNIQUE,
  b BYTEA,
  n NUMERIC(10, 2),
  ts TIMESTAMPTZ,
  t TIMESTAMP,
  doubled INTEGER GENERATED ALWAYS AS (p * 2) STORED
);
CREATE TABLE measurement (id INTEGER NOT NULL, logdate DATE NOT NULL, kinds_id INTEGER) PARTITION BY RANGE (logdate);
CREATE TABLE measurement_2020 PARTITION OF measurement FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE TABLE measurement_2021 PARTITION OF measurement FOR VALUES FROM ('2021-01-01') TO ('2022-01-01');
ALTER TABLE measurement_2020 ADD CONSTRAINT fk_m2020 FOREIGN KEY (kinds_id) REFERENCES kinds(id);
ALTER TABLE measurement_2021 ADD CONSTRAINT fk_m2021 FOREIGN KEY (kinds_id) REFERENCES kinds(id);
INSERT INTO kinds (m, p, arr, j, u, n, ts) VALUES ('happy', 3, '{1,2}', '{"a": 1}', gen_random_uuid(), 12.5, now());
INSERT INTO measurement VALUES (1, '2020-05-01', 1), (2, '2021-05-01', 1);
"""


@pytest.mark.postgresql
def test_postgresql_types_and_partitions(pg_db) -> None:
    url = pg_db()
    run_sql(url, PG_TYPES)
    schema = reflect(url)
    assert set(schema.table_names) == {"kinds", "measurement"}  # partitions are not tables
    k = schema.table("kinds")
    c = {col.name: col for col in k.columns}
    assert c["id"].identity == "always"
    assert (c["m"].type.name, c["m"].type.values, c["m"].type.type_name) == (
        "enum",
        ("sad", "ok", "happy"),
        "mood",
    )
    assert c["m"].kind is Kind.CATEGORICAL
    assert (c["p"].type.name, c["p"].type.type_name) == ("integer", "posint")
    assert c["arr"].type.name == "array" and c["arr"].type.item.name == "integer"
    assert c["arr"].kind is Kind.UNSUPPORTED and "array of integer" in c["arr"].kind_reason
    assert c["j"].type.name == "json" and c["js"].type.name == "json" and c["j"].kind is Kind.UNSUPPORTED
    assert c["u"].type.name == "uuid" and c["u"].kind is Kind.ID
    assert c["b"].type.name == "binary" and c["b"].kind is Kind.UNSUPPORTED
    assert (c["n"].type.name, c["n"].type.precision, c["n"].type.scale) == ("numeric", 10, 2)
    assert c["ts"].type.name == "datetime" and c["ts"].type.timezone
    assert c["t"].type.name == "datetime" and not c["t"].type.timezone
    assert c["doubled"].computed and c["doubled"].kind is Kind.NUMERICAL  # learned, for other dialects
    assert schema.enums[0].name == "mood" and schema.enums[0].values == ("sad", "ok", "happy")
    assert [d.name for d in schema.domains] == ["posint"] and "VALUE > 0" in schema.domains[0].checks[0]
    m = schema.table("measurement")
    assert m.partitioning is not None and "logdate" in m.partitioning.key
    assert [name for name, _ in m.partitioning.partitions] == ["measurement_2020", "measurement_2021"]
    # The FK declared only on the partitions belongs to the partitioned parent, once.
    assert [(fk.columns, fk.ref_table) for fk in m.foreign_keys] == [(("kinds_id",), "kinds")]
    assert m.row_count == 2
    assert Schema.from_json(schema.to_json()) == schema


MYSQL_TYPES = """
CREATE TABLE kinds (
  id INTEGER AUTO_INCREMENT PRIMARY KEY,
  m ENUM('sad', 'ok', 'happy') NOT NULL DEFAULT 'ok',
  s SET('red', 'green', 'blue'),
  y YEAR,
  bl BLOB,
  n DECIMAL(10, 2),
  flag TINYINT(1),
  ts DATETIME(3)
) CHARACTER SET utf8mb4;
INSERT INTO kinds (m, s, y, n, flag, ts) VALUES ('happy', 'red,blue', 2020, 1.50, 1, NOW(3));
"""


@pytest.mark.mysql
def test_mysql_types(mysql_db) -> None:
    url = mysql_db()
    run_sql(url, MYSQL_TYPES)
    schema = reflect(url)
    c = {col.name: col for col in schema.table("kinds").columns}
    assert c["id"].identity == "auto_increment"
    assert (c["m"].type.name, c["m"].type.values) == ("enum", ("sad", "ok", "happy"))
    assert (c["s"].type.name, c["s"].type.values) == ("set", ("red", "green", "blue"))
    assert c["s"].kind is Kind.CATEGORICAL
    assert c["y"].type.name == "year" and c["y"].kind is Kind.NUMERICAL
    assert c["bl"].type.name == "binary" and c["bl"].kind is Kind.UNSUPPORTED
    assert (c["n"].type.name, c["n"].type.precision, c["n"].type.scale) == ("numeric", 10, 2)
    assert c["flag"].type.name == "boolean"
    assert c["ts"].type.name == "datetime"
    assert Schema.from_json(schema.to_json()) == schema
