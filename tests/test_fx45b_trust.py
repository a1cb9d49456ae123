"""Attack round 45 on the model file's SQL allowlist (relsynth/model/trust.py).

5. Harmless built-ins of CHECKs and DEFAULTs were refused (printf, typeof, group_concat, md5,
   clock_timestamp, string_agg, ...), so their CHECKs were not recreated from a model file; a
   comment in a model file's SQL was said as "calls a comment". The list is wider, and still
   refuses what reads files, runs code, sleeps, locks or reads the server's state.
"""

from __future__ import annotations

import pytest

from relsynth.model.trust import _problem, checked
from relsynth.schema import Check, Column, Schema, SqlType, Table


@pytest.mark.parametrize(
    "sql",
    [
        "printf('%05d', code) = code_text",  # SQLite
        "typeof(amount) IN ('integer', 'real')",
        "length(group_concat(tag)) < 100",
        "json_object('a', a) IS NOT NULL AND json_array_length(json_array(1, 2)) = 2",
        "hex(unhex('ab')) = 'AB' AND unicode(char(65)) = 65 AND quote(x) <> ''",
        "md5(email) <> '' AND sha256(convert_to(email, 'UTF8')) IS NOT NULL",  # PostgreSQL
        "created <= clock_timestamp() AND created >= statement_timestamp() - interval '1 year'",
        "string_agg(tag, ',') <> '' AND array_to_string(string_to_array(a, ','), ';') = b",
        "regexp_replace(code, '[^0-9]', '', 'g') ~ '^[0-9]+$' AND translate(a, 'x', 'y') = a",
        "jsonb_build_object('k', 1) ? 'k' AND jsonb_path_exists(doc, '$.a')",
        "lower_inc(tsrange(a, b)) AND NOT isempty(daterange(d1, d2))",
        "sha2(email, 256) <> '' AND crc32(code) > 0",  # MariaDB
        "datediff(ends, starts) >= 0 AND timestampdiff(MINUTE, starts, ends) < 600",
        "dayofweek(d) BETWEEN 2 AND 6 AND year(d) > 2000 AND last_day(d) >= d",
        "json_contains(tags, '\"a\"') AND json_length(tags) < 10 AND json_unquote(x) <> ''",
        "find_in_set('a', flags) > 0 AND locate('@', email) > 1 AND inet_aton(ip) IS NOT NULL",
    ],
)
def test_harmless_built_ins_are_allowed(sql: str) -> None:
    assert _problem(sql) == ("", False)


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ("pg_read_file('/etc/passwd') <> ''", "pg_read_file()"),
        ("load_extension('x') IS NULL", "load_extension()"),
        ("lo_import('/etc/passwd') > 0", "lo_import()"),
        ("dblink('host=x', 'select 1') IS NULL", "dblink()"),
        ("pg_sleep(10) IS NULL", "pg_sleep()"),
        ("sleep(10) = 0", "sleep()"),
        ("benchmark(1000000, md5('x')) = 0", "benchmark()"),
        ("sys_exec('rm -rf /') = 0", "sys_exec()"),
        ("load_file('/etc/passwd') IS NULL", "load_file()"),
        ("get_lock('x', 10) = 1", "get_lock()"),
        ("pg_advisory_lock(1) IS NULL", "pg_advisory_lock()"),
        ("setval('s', 1) > 0", "setval()"),
        ("currval('s') > 0", "currval()"),
        ("version() <> ''", "version()"),
        ("database() <> ''", "database()"),
        ("set_config('a.b', 'c', false) <> ''", "set_config()"),
        ("pg_terminate_backend(1)", "pg_terminate_backend()"),
        ("query_to_xml('select 1', true, true, '') IS NULL", "query_to_xml()"),
    ],
)
def test_what_reads_files_runs_code_or_sleeps_stays_refused(sql: str, found: str) -> None:
    assert _problem(sql) == (found, False)


def _schema(*checks: str) -> Schema:
    table = Table(
        name="t",
        columns=(Column("id", SqlType("integer")), Column("a", SqlType("integer"))),
        primary_key=("id",),
        checks=tuple(Check(f"c{i}", sql) for i, sql in enumerate(checks)),
    )
    return Schema(tables=(table,))


def test_a_comment_is_said_as_held_not_called() -> None:
    out = checked(_schema("a > 0 /* positive */", "a < 10 -- small", "a <> 5", "pg_sleep(1) IS NULL"))
    assert [c.sql for c in out.tables[0].checks] == ["a <> 5"]
    notes = list(out.notes)
    assert sum("holds a comment: CHECK c0 of t" in n for n in notes) == 1, notes
    assert sum("holds a comment: CHECK c1 of t" in n for n in notes) == 1, notes
    assert any("calls pg_sleep(): CHECK c3 of t" in n for n in notes), notes
    assert not any("calls a comment" in n for n in notes)
