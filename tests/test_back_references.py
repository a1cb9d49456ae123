"""A cycle of two tables that point back at each other (Oracle's HR schema: a department's manager
works in that department). The plan assigns one side after both are sampled; drawn independently,
0 of 12 managers worked in the department they ran. Found by the fresh-context attack round."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa

import relsynth
from tests.conftest import EVERY_DATABASE, run_sql


def _load(url: str, kind: str) -> None:
    rng = np.random.default_rng(0)
    n_emp, n_dep = 300, 12
    dept_of = rng.integers(1, n_dep + 1, n_emp)
    managers = [int(rng.choice(np.flatnonzero(dept_of == d)) + 1) for d in range(1, n_dep + 1)]
    inline = " REFERENCES employees (employee_id)" if kind == "sqlite" else ""
    run_sql(
        url,
        f"""
CREATE TABLE departments (department_id INT PRIMARY KEY, department_name VARCHAR(30) NOT NULL,
  budget INT NOT NULL, manager_id INT{inline});
CREATE TABLE employees (employee_id INT PRIMARY KEY, salary INT NOT NULL,
  department_id INT REFERENCES departments (department_id));
""",
    )
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO departments VALUES (:d, :n, :b, NULL)"),
                [
                    {"d": d, "n": f"Dept {d}", "b": int(rng.integers(10, 99)) * 1000}
                    for d in range(1, n_dep + 1)
                ],
            )
            conn.execute(
                sa.text("INSERT INTO employees VALUES (:e, :s, :d)"),
                [
                    {"e": e + 1, "s": int(rng.integers(3, 20)) * 1000, "d": int(dept_of[e])}
                    for e in range(n_emp)
                ],
            )
            for d, m in enumerate(managers, start=1):
                conn.execute(
                    sa.text("UPDATE departments SET manager_id = :m WHERE department_id = :d"),
                    {"m": m, "d": d},
                )
            if kind != "sqlite":
                conn.execute(
                    sa.text(
                        "ALTER TABLE departments ADD CONSTRAINT fk_manager FOREIGN KEY (manager_id) "
                        "REFERENCES employees (employee_id)"
                    )
                )
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", EVERY_DATABASE)
def test_a_manager_works_in_the_department_they_run(kind: str, request: pytest.FixtureRequest) -> None:
    make = request.getfixturevalue(f"{kind}_db")
    source, target = make(), make()
    _load(source, kind)
    out = relsynth.synthesize(source, target, seed=2)
    assert out["write"].verification.problems == 0
    assert any("points back" in line for line in out["model"].relations_summary())
    engine = sa.create_engine(target)
    try:
        with engine.connect() as conn:
            managed, elsewhere = conn.execute(
                sa.text(
                    "SELECT count(*), sum(CASE WHEN e.department_id = d.department_id THEN 0 ELSE 1 END) "
                    "FROM departments d JOIN employees e ON e.employee_id = d.manager_id"
                )
            ).one()
    finally:
        engine.dispose()
    assert managed >= 8 and not elsewhere
