"""PostgreSQL COPY text built a column at a time (relsynth/copy_text.py, issue 12) is what psycopg's
``copy.write_row`` sends for the writer's Python values, byte for byte: checked on the bytes
themselves (against psycopg's own text formatter), and in PostgreSQL, where a frame of tricky
values of every type copy_text spells is written once by columns and once row by row (the path
it replaces) and the two tables must hold the same values (rows in order, and md5 of their text).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import struct
import uuid
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import relsynth.writer as writer
from relsynth import copy_text
from relsynth.api import reflect
from relsynth.writer import write
from tests.conftest import fetch, run_sql

# The psycopg formatter Copy.write_row uses (its C version when psycopg[binary] is installed).
_copy_base = pytest.importorskip("psycopg._copy_base")

STRINGS = [
    "plain",
    "back\\slash",
    "\\",
    "\\\\",
    "tab\there",
    "new\nline",
    "carriage\rreturn",
    "\r\n",
    "\b\v\f",
    "\\N",  # a literal backslash-N: a string, not NULL
    "N",
    "",  # the empty string, not NULL
    None,
    "é ü ß",
    "😀 emoji 👩‍👩‍👧",
    "日本語\t中文",
    "trailing backslash\\",
    "\\t is not a tab",
    "'quotes' \"double\"",
    "  spaces  ",
]
FLOATS = [
    0.0,
    -0.0,
    1.5,
    -2.25,
    0.1 + 0.2,
    254.49000000000004,
    1e16,
    -1e16,
    1e15,
    999999999999999.0,
    123456789012345.67,
    0.0001,
    1e-05,
    -0.00012,
    5e-324,
    2.2250738585072014e-308,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    1e22,
    1e-300,
    3.141592653589793,
    100.0,
    1234.5,
    math.nan,
    math.inf,
    -math.inf,
]
INTS = [0, 1, -1, 10**16, -(10**16), 2**53 + 1, 2**63 - 1, -(2**63) + 1, 42]


def _frame(n: int) -> pd.DataFrame:
    """n rows cycling through the tricky values, one column per type copy_text spells."""
    rng = random.Random(n)

    def take(values: list, i: int, shift: int = 0):
        return values[(i + shift) % len(values)]

    floats = [take(FLOATS, i) for i in range(n)]
    not_null = [f if i % 7 else math.nan for i, f in enumerate(floats)]  # NaN kept in a NOT NULL double
    ints = [take(INTS, i) for i in range(n)]
    ts = pd.Series(
        pd.to_datetime(
            [
                [
                    "2020-02-29 13:14:15.123456",
                    "1700-01-01 00:00:00",
                    "1899-12-31 23:59:59.999999",
                    "1969-12-31 23:59:59.999999999",  # nanoseconds: dropped by to_pydatetime
                    "2261-12-31 00:00:00.000001",
                    None,
                    "1970-01-01",
                ][i % 7]
                for i in range(n)
            ],
            format="ISO8601",
        )
    )
    return pd.DataFrame(
        {
            "id": pd.array(range(1, n + 1), dtype="Int64"),
            "i": pd.array([None if i % 5 == 3 else v for i, v in enumerate(ints)], dtype="Int64"),
            "i_np": np.array([take(INTS, i, 3) for i in range(n)], dtype=np.int64),
            "i_small": pd.array([None if i % 4 == 0 else i - 50 for i in range(n)], dtype="Int32"),
            "i_float": [math.nan if i % 6 == 0 else float(take([0, -7, 10**16, 2**53], i)) for i in range(n)],
            "f": floats,
            "f_nn": not_null,
            "f_real": np.array([take([1.5, 0.1, -3.25e10, 7e-3], i) for i in range(n)], dtype=np.float32),
            "f_obj": pd.Series(
                [None if i % 3 == 0 else take([0.5, 2.0, 1e300], i) for i in range(n)], dtype=object
            ),
            "n": [take([*FLOATS[:-3], math.nan], i, 1) for i in range(n)],
            "n_small": [round(rng.uniform(-1e6, 1e6), rng.randint(0, 4)) for _ in range(n)],
            "n_dec": pd.Series(
                [
                    take([Decimal("1.50"), Decimal("-0"), Decimal("1E+3"), None, Decimal("-12345.678901")], i)
                    for i in range(n)
                ],
                dtype=object,
            ),
            "b": pd.array([take([True, False, None], i) for i in range(n)], dtype="boolean"),
            "b_np": np.array([i % 2 == 0 for i in range(n)]),
            "s": [take(STRINGS, i) for i in range(n)],
            "v": [take(STRINGS, i, 7) for i in range(n)],
            "c": [take(["a", "b\\", "\t", None, "xyz"], i) for i in range(n)],
            "u": [None if i % 4 == 1 else uuid.UUID(int=rng.getrandbits(128)) for i in range(n)],
            "d": pd.Series(
                [
                    take(
                        [
                            dt.date(1, 1, 1),
                            dt.date(1850, 3, 1),
                            dt.date(1899, 12, 31),
                            None,
                            dt.date(2024, 2, 29),
                            dt.date(9999, 12, 31),
                        ],
                        i,
                    )
                    for i in range(n)
                ],
                dtype=object,
            ),
            "ts": ts,
            "tstz": ts.dt.tz_localize("UTC"),
            "tstz_far": ts.dt.tz_localize("Asia/Kolkata"),  # kept in its zone: +05:30 (1700: LMT)
            "ts_from_tz": ts.dt.tz_localize("America/New_York"),  # into a timestamp: made UTC first
        }
    )


DDL = """
CREATE TABLE tricky (
    id integer PRIMARY KEY,
    i bigint,
    i_np bigint NOT NULL,
    i_small integer,
    i_float bigint,
    f double precision,
    f_nn double precision NOT NULL,
    f_real real NOT NULL,
    f_obj double precision,
    n numeric,
    n_small numeric(12, 4) NOT NULL,
    n_dec numeric,
    b boolean,
    b_np boolean NOT NULL,
    s text,
    v varchar(60),
    c char(4),
    u uuid,
    d date,
    ts timestamp(6),
    tstz timestamptz,
    tstz_far timestamptz,
    ts_from_tz timestamp
);
"""


@pytest.fixture
def tricky_schema(pg_db):
    source = pg_db()
    run_sql(source, DDL)
    return reflect(source)


def _written_bytes(frame: pd.DataFrame, table, columns: list[str]) -> bytes:
    """What write_row sends for the writer's rows of this frame: psycopg's own formatter."""
    from psycopg.adapt import Transformer

    formatter = _copy_base.TextFormatter(Transformer())
    out = b"".join(
        bytes(formatter.write_row(row)) for row in writer._rows(frame, table, columns, "postgresql")
    )
    return out + bytes(formatter.end())


def test_every_column_is_spelled_by_columns_and_as_write_row_spells_it(tricky_schema) -> None:
    table = tricky_schema.table("tricky")
    frame = _frame(60)
    for name in frame.columns:  # each column alone: a mistake is named by its column
        text = copy_text.column_text(
            frame[name], table.column(name), writer._python_column, writer._fifteen_digits
        )
        assert text is not None, f"{name} left to the row path"
        ours = "".join(f"{v}\n" for v in text.to_pylist()).encode()
        assert ours == _written_bytes(frame, table, [name]), name
    columns = list(frame.columns)
    block = copy_text.block(frame, table, columns, writer._python_column, writer._fifteen_digits)
    assert block == _written_bytes(frame, table, columns)


def _contents(url: str) -> tuple[list[tuple], str]:
    rows = fetch(url, "SELECT t::text FROM tricky t ORDER BY id")
    md5 = fetch(url, "SELECT md5(string_agg(t::text, E'\\n' ORDER BY id)) FROM tricky t")[0][0]
    columns = fetch(url, "SELECT * FROM tricky ORDER BY id")
    return rows, md5, columns


@pytest.mark.parametrize("chunk", [50_000, 7])
def test_the_database_holds_the_same_values_by_columns_and_by_rows(
    tricky_schema, pg_db, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    frame = _frame(90)
    monkeypatch.setattr(writer, "LOAD_CHUNK", chunk)
    blocks = []
    spell = copy_text.block

    def counted(*args, **kw):
        out = spell(*args, **kw)
        blocks.append(out is not None)
        return out

    monkeypatch.setattr(copy_text, "block", counted)
    by_columns = pg_db()
    write({"tricky": frame}, tricky_schema, by_columns)
    assert blocks and all(blocks), "every chunk went by columns"
    monkeypatch.setattr(writer, "COPY_BY_COLUMNS", False)
    by_rows = pg_db()
    write({"tricky": frame}, tricky_schema, by_rows)
    ours, theirs = _contents(by_columns), _contents(by_rows)
    assert ours[0] == theirs[0]  # row by row, as text
    assert ours[1] == theirs[1]  # md5 of the table's text
    assert [repr(r) for r in ours[2]] == [repr(r) for r in theirs[2]]  # the values psycopg reads back
    # and what was written is what the frame says (a mistake both paths share would pass above)
    got = dict(fetch(by_columns, "SELECT id, s FROM tricky"))
    assert [got[i + 1] for i in range(len(frame))] == frame["s"].tolist()
    nan_rows = fetch(by_columns, "SELECT count(*) FROM tricky WHERE f_nn = 'NaN'")[0][0]
    assert nan_rows == int(frame["f_nn"].isna().sum()) > 0


def test_a_table_with_a_type_left_to_the_rows_falls_back_whole(
    pg_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A json column (or a later chunk of mixed types) sends the rest of the table by write_row, in
    the rows' order: psycopg holds write_row's rows back, so a block after them would overtake."""
    source = pg_db()
    run_sql(
        source,
        "CREATE TABLE j (id integer PRIMARY KEY, doc jsonb, s text);\n"
        "CREATE TABLE m (id integer PRIMARY KEY, d date);",
    )
    schema = reflect(source)
    table = schema.table("j")
    frame = pd.DataFrame(
        {"id": pd.array([1, 2], dtype="Int64"), "doc": ['{"a": 1}', None], "s": ["x\ty", None]}
    )
    assert (
        copy_text.block(frame, table, ["id", "doc", "s"], writer._python_column, writer._fifteen_digits)
        is None
    )
    dates = (
        [dt.date(2000, 1, i + 1) for i in range(10)]
        + [dt.datetime(2001, 1, 1, 5)]
        + [dt.date(2002, 1, 1)] * 9
    )
    mixed = pd.DataFrame({"id": pd.array(range(1, 21), dtype="Int64"), "d": pd.Series(dates, dtype=object)})
    monkeypatch.setattr(writer, "LOAD_CHUNK", 4)  # chunks 1-2 by columns, 3 (the datetime) on by rows
    target = pg_db()
    write({"j": frame, "m": mixed}, schema, target)
    assert fetch(target, "SELECT id, doc::text, s FROM j ORDER BY id") == [
        (1, '{"a": 1}', "x\ty"),
        (2, None, None),
    ]
    physical = fetch(target, "SELECT id FROM m ORDER BY ctid")
    assert [r[0] for r in physical] == list(range(1, 21))  # loaded in the frame's order
    assert fetch(target, "SELECT d::text FROM m WHERE id = 11") == [("2001-01-01",)]


def _random_doubles(n: int, seed: int) -> np.ndarray:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.4:  # decimals of a few places, as numeric columns and sampled money hold
            out.append(round(rng.uniform(-1, 1) * 10 ** rng.randint(-6, 16), rng.randint(0, 12)))
        elif kind < 0.6:
            out.append(rng.randint(-(10**17), 10**17) / 10 ** rng.randint(0, 20))
        elif kind < 0.8:  # any double at all
            out.append(struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0])
        else:
            out.append(rng.gauss(0, 10 ** rng.randint(-10, 20)))
    return np.array(out)


@pytest.mark.parametrize("seed", range(4))
def test_floats_are_spelled_as_repr_spells_them(seed: int) -> None:
    x = _random_doubles(20_000, seed)
    x[::97] = np.nan
    for keep_nan in (True, False):
        got = copy_text.float_text(x, keep_nan=keep_nan).to_pylist()
        want = [("nan" if keep_nan else copy_text.NULL) if v != v else repr(v) for v in x.tolist()]
        assert got == want
    # a column of one scale each: the fixed-point spelling alone
    for places in range(0, copy_text.MAX_SCALE + 3):
        y = np.round(np.random.default_rng(seed).uniform(-1e5, 1e5, 5_000), places)
        assert copy_text.float_text(y, keep_nan=False).to_pylist() == [repr(v) for v in y.tolist()]


def test_every_date_is_spelled_as_str_spells_it() -> None:
    first, last = dt.date(1, 1, 1).toordinal(), dt.date(9999, 12, 31).toordinal()
    days = [dt.date.fromordinal(o) for o in range(first, last + 1)]
    got = copy_text.python_text(days, "date")
    assert got is not None and got.equals(pa.array([str(d) for d in days]))


def test_strings_holding_nul_are_left_to_psycopg() -> None:
    assert copy_text.python_text(["a", "b\x00c"], "text") is None
    assert copy_text.python_text(["a\\b", None], "text").to_pylist() == ["a\\\\b", "\\N"]
    assert copy_text.python_text(["enum label"], "enum") is None  # other string types: by rows
