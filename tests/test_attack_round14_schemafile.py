"""Round 14, the schema file:

- Excluding a parent table together with a schema file (``--exclude employees`` or ``"exclude":
  true``) sampled the children whose primary key holds the FK column, salaries(emp_no, from_date),
  with NULL or repeated keys, and the load failed with an internal error; the same run without the
  file worked. A file's foreign keys into excluded tables are now dropped before the fit, as
  reflection with --exclude never has them: both runs are the same.
- A user-added composite ``"virtual": true`` FK that no row satisfies crashed fit (UFuncTypeError
  in fit.py). Now a virtual key of columns of different types, or one no row satisfies, is refused
  with one line naming it; one some rows satisfy is learned, its orphans said.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from relsynth.profile import unlinked_codes
from relsynth.schema import Schema
from tests.conftest import EVERY_DATABASE, fetch, run_sql

EMPLOYEES = """
CREATE TABLE employees (emp_no INTEGER NOT NULL PRIMARY KEY, hire_date DATE NOT NULL, gender CHAR(1) NOT NULL);
CREATE TABLE departments (dept_no CHAR(4) NOT NULL PRIMARY KEY, dept_name VARCHAR(40) NOT NULL);
CREATE TABLE salaries (
    emp_no INTEGER NOT NULL REFERENCES employees (emp_no),
    salary INTEGER NOT NULL,
    from_date DATE NOT NULL,
    PRIMARY KEY (emp_no, from_date)
);
CREATE TABLE titles (
    emp_no INTEGER NOT NULL REFERENCES employees (emp_no),
    title VARCHAR(30) NOT NULL,
    from_date DATE NOT NULL,
    PRIMARY KEY (emp_no, title, from_date)
);
CREATE TABLE dept_emp (
    emp_no INTEGER NOT NULL REFERENCES employees (emp_no),
    dept_no CHAR(4) NOT NULL REFERENCES departments (dept_no),
    from_date DATE NOT NULL,
    PRIMARY KEY (emp_no, dept_no)
);
"""

# Children whose primary key holds the FK into employees, with that key.
CHILD_KEYS = {
    "salaries": "emp_no, from_date",
    "titles": "emp_no, title, from_date",
    "dept_emp": "emp_no, dept_no",
}


def _values(rows: list[tuple[Any, ...]]) -> str:
    return ", ".join("(" + ", ".join(repr(v) for v in row) + ")" for row in rows)


def _employees(url: str) -> None:
    run_sql(url, EMPLOYEES)
    emps = [(i, f"19{80 + i % 15}-0{1 + i % 9}-1{i % 10}", "MF"[i % 2]) for i in range(1, 121)]
    depts = [(f"d00{i}", f"Department {i}") for i in range(1, 7)]
    salaries = [
        (e, 40000 + (e * 37 + k * 1000) % 30000, f"{1995 + k}-0{1 + e % 9}-1{e % 10}")
        for e in range(1, 121)
        for k in range(1 + e % 5)
    ]
    titles = [
        (e, ["Engineer", "Staff", "Senior Engineer"][k], f"{1996 + 2 * k}-0{1 + e % 9}-0{1 + e % 9}")
        for e in range(1, 121)
        for k in range(1 + e % 3)
    ]
    dept_emp = [(e, f"d00{1 + e % 6}", f"199{e % 10}-01-01") for e in range(1, 121)]
    run_sql(
        url,
        f"INSERT INTO employees VALUES {_values(emps)};\n"
        f"INSERT INTO departments VALUES {_values(depts)};\n"
        f"INSERT INTO salaries VALUES {_values(salaries)};\n"
        f"INSERT INTO titles VALUES {_values(titles)};\n"
        f"INSERT INTO dept_emp VALUES {_values(dept_emp)};\n",
    )


def _inspect(url: str, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "schema.json"
    result = CliRunner().invoke(main, ["-q", "inspect", url, "--format", "json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in data["tables"] if t["name"] == name)


def _write(tmp_path: Path, data: dict[str, Any], name: str = "edited.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def _synthesize(source: str, target: str, *args: str) -> None:
    result = CliRunner().invoke(main, ["-q", "synthesize", source, target, *args, "--no-report"])
    assert result.exit_code == 0, result.output


def _counts(url: str) -> dict[str, int]:
    return {t: fetch(url, f"SELECT COUNT(*) FROM {t}")[0][0] for t in CHILD_KEYS}


def _source(request: pytest.FixtureRequest, backend: str) -> str:
    make: Callable[[], str] = request.getfixturevalue(f"{backend}_db")
    url = make()
    _employees(url)
    return url


@pytest.mark.parametrize("backend", EVERY_DATABASE)
def test_excluded_parent_with_a_schema_file_is_the_run_without_it(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> None:
    source = _source(request, backend)
    data = _inspect(source, tmp_path)
    plain = _write(tmp_path, data, "plain.json")
    _table(data, "employees")["exclude"] = True
    excluded = _write(tmp_path, data, "excluded.json")
    runs = {
        "without the file": ["--exclude", "employees"],
        "file and --exclude": ["--schema-file", plain, "--exclude", "employees"],
        'file with "exclude": true': ["--schema-file", excluded],
    }
    counts = {}
    for i, (what, args) in enumerate(runs.items()):
        target = f"sqlite:///{tmp_path / f'out{i}.db'}"
        _synthesize(source, target, *args)  # used to fail with "internal error: IntegrityError"
        for table, key in CHILD_KEYS.items():
            assert fetch(
                target,
                f"SELECT COUNT(*) FROM (SELECT {key} FROM {table} GROUP BY {key} HAVING COUNT(*) > 1) d",
            ) == [(0,)], (what, table)
            first = key.split(",")[0]
            assert fetch(target, f"SELECT COUNT(*) FROM {table} WHERE {first} IS NULL") == [(0,)], (
                what,
                table,
            )
        counts[what] = _counts(target)
    assert len(set(map(tuple, (sorted(c.items()) for c in counts.values())))) == 1, counts


@pytest.mark.postgresql
def test_excluded_parent_and_only_its_child_to_a_postgresql_target(
    request: pytest.FixtureRequest, sqlite_db: Callable[[], str], tmp_path: Path
) -> None:
    """The repro's second form: --include of one child, and a PostgreSQL target (NotNullViolation)."""
    source = sqlite_db()
    _employees(source)
    file = _write(tmp_path, _inspect(source, tmp_path))
    _synthesize(
        source,
        f"sqlite:///{tmp_path / 'one.db'}",
        "--schema-file",
        file,
        "--exclude",
        "employees",
        "--include",
        "salaries",
    )
    make: Callable[[], str] = request.getfixturevalue("pg_db")
    target = make()
    _synthesize(source, target, "--schema-file", file, "--exclude", "employees")
    assert fetch(target, "SELECT COUNT(*) FROM salaries WHERE emp_no IS NULL") == [(0,)]


def test_a_context_chosen_in_the_file_among_excluded_parents_is_left_to_the_plan(
    sqlite_db: Callable[[], str], tmp_path: Path
) -> None:
    source = sqlite_db()
    _employees(source)
    data = _inspect(source, tmp_path)
    dept_emp = _table(data, "dept_emp")
    dept_emp["context"] = next(
        fk["name"] for fk in dept_emp["foreign_keys"] if fk["ref_table"] == "employees"
    )
    _table(data, "employees")["exclude"] = True
    target = f"sqlite:///{tmp_path / 'out.db'}"
    _synthesize(source, target, "--schema-file", _write(tmp_path, data))
    assert fetch(target, "SELECT COUNT(*) FROM dept_emp WHERE emp_no IS NULL") == [(0,)]


def test_foreign_keys_into_excluded_tables_are_dropped_before_the_fit(
    sqlite_db: Callable[[], str], tmp_path: Path
) -> None:
    source = sqlite_db()
    _employees(source)
    schema = Schema.from_json(json.dumps(_inspect(source, tmp_path)))
    schema = replace(schema, tables=tuple(replace(t, exclude=t.name == "employees") for t in schema.tables))
    out = unlinked_codes(schema)
    salaries = out.table("salaries")
    assert salaries.foreign_keys == ()
    assert salaries.column("emp_no").kind.value == "id"  # a key column: the table's own now
    dept_emp = out.table("dept_emp")
    assert [fk.ref_table for fk in dept_emp.foreign_keys] == ["departments"]
    assert out.table("employees").exclude
    assert unlinked_codes(out) is out  # nothing left to change


# -- virtual foreign keys the data does not satisfy ---------------------------------------------------

VFK = """
CREATE TABLE emp (emp_no INTEGER PRIMARY KEY, hired DATE NOT NULL);
CREATE TABLE dept (dept_no CHAR(4) PRIMARY KEY, name VARCHAR(20) NOT NULL);
CREATE TABLE dept_emp (
    emp_no INTEGER NOT NULL REFERENCES emp (emp_no),
    dept_no CHAR(4) NOT NULL REFERENCES dept (dept_no),
    from_date DATE NOT NULL,
    PRIMARY KEY (emp_no, dept_no)
);
CREATE TABLE dept_manager (
    emp_no INTEGER NOT NULL REFERENCES emp (emp_no),
    dept_no CHAR(4) NOT NULL REFERENCES dept (dept_no),
    from_date DATE NOT NULL,
    PRIMARY KEY (emp_no, dept_no)
);
"""


def _managers(url: str, matching: int) -> None:
    """dept_manager's first ``matching`` of 40 rows are rows of dept_emp; the rest point to none."""
    run_sql(url, VFK)
    depts = [(f"d00{i}", f"Dept {i}") for i in range(1, 10)]
    emps = [(i, f"199{i % 10}-01-0{1 + i % 9}") for i in range(1, 601)]
    dept_emp = [(i, f"d00{1 + i % 9}", f"199{5 + i % 5}-02-0{1 + i % 9}") for i in range(1, 601)]
    managers = [
        (e, f"d00{1 + (e if k < matching else e + 1) % 9}", f"1996-03-0{1 + k % 9}")
        for k, e in enumerate(i * 11 for i in range(1, 41))
    ]
    run_sql(
        url,
        f"INSERT INTO dept VALUES {_values(depts)};\n"
        f"INSERT INTO emp VALUES {_values(emps)};\n"
        f"INSERT INTO dept_emp VALUES {_values(dept_emp)};\n"
        f"INSERT INTO dept_manager VALUES {_values(managers)};\n",
    )


def _with_virtual(data: dict[str, Any], columns: list[str], ref_columns: list[str]) -> dict[str, Any]:
    _table(data, "dept_manager")["foreign_keys"].append(
        {
            "name": "fk_mgr_de",
            "columns": columns,
            "ref_table": "dept_emp",
            "ref_columns": ref_columns,
            "virtual": True,
        }
    )
    return data


def _fit(url: str, file: str, tmp_path: Path, *flags: str) -> Any:
    return CliRunner().invoke(
        main, [*flags, "fit", url, "--schema-file", file, "-o", str(tmp_path / "m.rsm")]
    )


@pytest.mark.parametrize("backend", EVERY_DATABASE)
def test_a_virtual_key_no_row_satisfies_is_refused_in_one_line(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> None:
    make: Callable[[], str] = request.getfixturevalue(f"{backend}_db")
    url = make()
    _managers(url, matching=0)
    file = _write(
        tmp_path, _with_virtual(_inspect(url, tmp_path), ["emp_no", "dept_no"], ["emp_no", "dept_no"])
    )
    result = _fit(url, file, tmp_path, "-q")
    assert result.exit_code == 1, result.output  # was 2: internal error: UFuncTypeError
    assert result.stderr.strip() == (
        "FAILED: Virtual foreign key 'fk_mgr_de' of table 'dept_manager': none of its 40 rows with a value "
        "in (emp_no, dept_no) points to a row of 'dept_emp' (emp_no, dept_no). Fix the schema file (the "
        "columns, their order or the table) or remove the key"
    )


@pytest.mark.parametrize("command", ["inspect", "fit"])
def test_a_virtual_key_of_columns_of_other_types_is_refused(
    sqlite_db: Callable[[], str], tmp_path: Path, command: str
) -> None:
    url = sqlite_db()
    _managers(url, matching=40)
    file = _write(
        tmp_path, _with_virtual(_inspect(url, tmp_path), ["emp_no", "dept_no"], ["dept_no", "emp_no"])
    )
    args = ["-q", "inspect", url, "--schema-file", file] if command == "inspect" else None
    result = CliRunner().invoke(main, args) if args else _fit(url, file, tmp_path, "-q")
    assert result.exit_code == 1, result.output
    line = result.stderr.strip()
    assert line.startswith(
        "FAILED: Virtual foreign key 'fk_mgr_de' of table 'dept_manager': column dept_manager.emp_no (INTEGER) "
        "cannot reference dept_emp.dept_no (CHAR(4)): the types differ"
    ), line
    assert "\n" not in line


def test_a_virtual_key_some_rows_satisfy_is_learned_with_its_orphans_said(
    sqlite_db: Callable[[], str], tmp_path: Path
) -> None:
    url = sqlite_db()
    _managers(url, matching=18)
    file = _write(
        tmp_path, _with_virtual(_inspect(url, tmp_path), ["emp_no", "dept_no"], ["emp_no", "dept_no"])
    )
    result = _fit(url, file, tmp_path)
    assert result.exit_code == 0, result.output
    assert (
        "virtual foreign key fk_mgr_de of table dept_manager: 22 of 40 rows point to no row of dept_emp"
        in (result.stderr)
    )
    tables = relsynth.sample(str(tmp_path / "m.rsm"), seed=1)
    assert len(tables["dept_manager"]) > 0


def test_a_virtual_key_every_row_satisfies_is_learned_silently(
    sqlite_db: Callable[[], str], tmp_path: Path
) -> None:
    url = sqlite_db()
    _managers(url, matching=40)
    file = _write(
        tmp_path, _with_virtual(_inspect(url, tmp_path), ["emp_no", "dept_no"], ["emp_no", "dept_no"])
    )
    result = _fit(url, file, tmp_path)
    assert result.exit_code == 0, result.output
    assert "virtual foreign key" not in result.stderr


def test_a_child_whose_rows_all_point_nowhere_is_learned(sqlite_db) -> None:
    """A declared key SQLite did not enforce, every row an orphan: the children's summaries were
    integer sums no float could be divided into (UFuncTypeError in fit)."""
    source = sqlite_db()
    rows = [
        "CREATE TABLE ward (id INTEGER PRIMARY KEY, beds INTEGER NOT NULL);",
        "CREATE TABLE stay (id INTEGER PRIMARY KEY, ward_id INTEGER REFERENCES ward(id), days INTEGER NOT NULL);",
    ]
    rows += [f"INSERT INTO ward VALUES ({i}, {10 + i % 7});" for i in range(1, 51)]
    rows += [f"INSERT INTO stay VALUES ({i}, {1000 + i}, {1 + i % 9});" for i in range(1, 101)]
    run_sql(source, "\n".join(rows))
    model = relsynth.fit(source, seed=1)
    out = relsynth.sample(model, seed=1)
    assert len(out["ward"]) == 50


def test_dangling_rows_of_a_not_null_key_are_not_written_without_a_parent(sqlite_db) -> None:
    """SQLite does not enforce a NOT NULL key's parent: a fifth of the stays named no ward, and
    were sampled as rows under no parent, NULL in a NOT NULL column (an internal error at the load)."""
    source, target = sqlite_db(), sqlite_db()
    rows = [
        "CREATE TABLE ward (id INTEGER PRIMARY KEY, beds INTEGER NOT NULL);",
        "CREATE TABLE stay (id INTEGER PRIMARY KEY, ward_id INTEGER NOT NULL REFERENCES ward(id), days INTEGER NOT NULL);",
    ]
    rows += [f"INSERT INTO ward VALUES ({i}, {10 + i % 7});" for i in range(1, 51)]
    rows += [
        f"INSERT INTO stay VALUES ({i}, {1000 + i if i % 5 == 0 else 1 + i % 50}, {1 + i % 9});"
        for i in range(1, 301)
    ]
    run_sql(source, "\n".join(rows))
    result = relsynth.synthesize(source, target, seed=1)
    assert result["write"].verification.problems == 0
    assert fetch(target, "SELECT COUNT(*) FROM stay WHERE ward_id IS NULL")[0][0] == 0


def test_rows_of_a_reference_table_is_refused_in_one_line(sqlite_db) -> None:
    """--rows departments=3 on a reference table (copied whole) wrote its 9 rows and said nothing."""
    from relsynth.errors import RelsynthError

    source = sqlite_db()
    rows = ["CREATE TABLE department_type (id INTEGER PRIMARY KEY, label VARCHAR(20) NOT NULL);"]
    rows += [
        "CREATE TABLE ward (id INTEGER PRIMARY KEY, type_id INTEGER NOT NULL REFERENCES department_type(id));"
    ]
    rows += [f"INSERT INTO department_type VALUES ({i}, 'type {i}');" for i in range(1, 10)]
    rows += [f"INSERT INTO ward VALUES ({i}, {1 + i % 9});" for i in range(1, 200)]
    run_sql(source, "\n".join(rows))
    model = relsynth.fit(source, seed=1)
    assert model.plan["department_type"].role == "reference"
    with pytest.raises(RelsynthError, match="reference table, copied whole"):
        relsynth.sample(model, rows={"department_type": 3})
    assert len(relsynth.sample(model, rows={"ward": 50})["ward"]) == 50
