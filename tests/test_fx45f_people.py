"""Who a flat table's person is, and small code lists keyed by a code (attack a45b, MariaDB).

- WordPress' wp_posts: post_parent, a self-reference whose 0 means "no parent" on most rows, was
  taken for the person, so the top-level posts were one person and every post type only they held
  (2,500 orders) was withheld as rare: the output had no order.
- A "none" value (0) of a column named after the patient is no patient.
- OpenEMR names the patient ``pid``: not recognised, a diagnosis one patient held on six visits
  was written (six rows >= K).
- employees' departments (char(4) key + name, pointed at from the key of dated memberships) was
  synthesized: random letters for names, one department at --scale 0.1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from tests.conftest import model_contents


def _posts(rng: np.random.Generator) -> pd.DataFrame:
    """Top-level posts (post_parent 0) are orders and products; children are revisions and
    variations of a top-level post, dated as it is (which the parent then fixes)."""
    start = pd.Timestamp("2020-01-01")
    dates = {i: start + pd.Timedelta(hours=int(rng.integers(20_000))) for i in range(1, 601)}
    rows = [(i, 0, "shop_order" if i % 4 else "product", dates[i]) for i in range(1, 601)]
    for i in range(601, 901):
        parent = int(rng.integers(1, 120))
        rows.append((i, parent, str(rng.choice(["revision", "product_variation"])), dates[parent]))
    return pd.DataFrame(rows, columns=["ID", "post_parent", "post_type", "post_date"])


def test_a_self_reference_with_zero_for_none_is_no_person() -> None:
    frame = _posts(np.random.default_rng(1))
    out = relsynth.sample(relsynth.fit({"wp_posts": frame}, seed=0), seed=1)["wp_posts"]
    kinds = out["post_type"].value_counts()
    assert kinds.get("shop_order", 0) > 0.35 * len(out)  # source: 450 of 900
    assert kinds.get("product", 0) > 0.08 * len(out)  # source: 150 of 900
    assert (out["post_parent"] == 0).mean() > 0.5  # source: 600 of 900


def test_a_zero_patient_is_no_patient() -> None:
    """Walk-in samples (patient_id 0, 60% of rows) are each their own, not one patient whose
    panel only they have is rare."""
    rng = np.random.default_rng(2)
    rows = [(0, "walkin_panel", float(rng.normal(5, 1))) for _ in range(600)]
    for pid in range(1, 101):
        for _ in range(int(rng.integers(3, 6))):
            rows.append((pid, str(rng.choice(["cbc", "lipids"])), float(rng.normal(5, 1))))
    frame = pd.DataFrame(rows, columns=["patient_id", "test", "value"])
    frame.insert(0, "id", range(1, len(frame) + 1))
    out = relsynth.sample(relsynth.fit({"labs": frame}, seed=0), seed=1)["labs"]
    assert (out["test"] == "walkin_panel").mean() > 0.3  # source: 60%


def _billing(column: str, staff: bool = False, lines: int = 1) -> pd.DataFrame:
    """OpenEMR's billing: no foreign keys, the patient in ``pid``, one encounter number per visit;
    patient 7 alone holds B20.RARE, on six visits. The encounter number fixes its visit's date (a
    code that fixes a trait, as the patient does): taken for the person, the six were six people."""
    rng = np.random.default_rng(8)
    rows, enc = [], 0
    for pid in range(1, 301):
        for _ in range(6 if pid == 7 else int(rng.integers(1, 7))):
            enc += 1
            day = pd.Timestamp("2018-01-01") + pd.Timedelta(hours=int(rng.integers(40_000)))
            for j in range(int(rng.integers(lines, lines + 3))):
                code = "B20.RARE" if pid == 7 and j == 0 else str(rng.choice(["99213", "99214", "I10"]))
                user = f"staff{rng.integers(12)}"  # who entered the row, not whom it is about
                rows.append((pid, enc, day, code, float(rng.choice([0, 35, 75])), user))
    frame = pd.DataFrame(rows, columns=[column, "encounter", "date", "code", "fee", "user"])
    if not staff:
        frame = frame.drop(columns="user")
    frame.insert(0, "id", range(1, len(frame) + 1))
    return frame


def test_a_code_one_pid_holds_is_not_written(tmp_path: Path) -> None:
    model = relsynth.fit({"billing": _billing("pid")}, seed=1)
    for seed in (1, 2):
        assert "B20.RARE" not in set(relsynth.sample(model, seed=seed, scale=2.0)["billing"]["code"])
    text, _ = model_contents(model, tmp_path / "m.relsynth")
    assert "B20.RARE" not in text


def test_the_patient_goes_before_an_encounter_number_fixing_its_date() -> None:
    """Both name people (the encounter fixes its visit's date), the encounter more of them: the
    patient's six visits are one person, not six (OpenEMR's billing and forms)."""
    model = relsynth.fit({"billing": _billing("patient_id", lines=2)}, seed=1)
    for seed in (1, 2):
        assert "B20.RARE" not in set(relsynth.sample(model, seed=seed, scale=2.0)["billing"]["code"])


def test_inspect_says_which_column_names_a_flat_tables_people(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'emr.db'}"
    engine = sa.create_engine(url)
    _billing("pid", staff=True).head(50).to_sql("billing", engine, index=False)
    engine.dispose()
    result = CliRunner().invoke(main, ["inspect", url])
    assert result.exit_code == 0, result.output
    assert "people named by" in result.output
    assert "billing(pid)" in result.output  # not billing(pid, user): user is who entered the row


def _employees_db(path: Path) -> str:
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    names = ["Marketing", "Finance", "Human Resources", "Production", "Development", "Sales"]
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE departments (dept_no CHAR(4) PRIMARY KEY, dept_name VARCHAR(40))"))
        conn.execute(sa.text("CREATE TABLE employees (emp_no INTEGER PRIMARY KEY, hired DATE)"))
        conn.execute(
            sa.text(
                "CREATE TABLE dept_emp (emp_no INTEGER REFERENCES employees(emp_no), "
                "dept_no CHAR(4) REFERENCES departments(dept_no), from_date DATE, to_date DATE, "
                "PRIMARY KEY (emp_no, dept_no))"
            )
        )
        conn.execute(
            sa.text("INSERT INTO departments VALUES (:n, :d)"),
            [{"n": f"d{i:03d}", "d": d} for i, d in enumerate(names, 1)],
        )
        conn.execute(
            sa.text("INSERT INTO employees VALUES (:e, :h)"),
            [{"e": e, "h": f"199{e % 10}-01-0{e % 9 + 1}"} for e in range(1, 121)],
        )
        conn.execute(
            sa.text("INSERT INTO dept_emp VALUES (:e, :n, :f, '9999-01-01')"),
            [{"e": e, "n": f"d{e % 6 + 1:03d}", "f": f"199{e % 10}-02-01"} for e in range(1, 121)],
        )
    engine.dispose()
    return url


def test_a_code_keyed_list_in_the_key_of_dated_memberships_is_a_reference_table(tmp_path: Path) -> None:
    url = _employees_db(tmp_path / "emp.db")
    plan = relsynth.plan(relsynth.reflect(url))
    assert "departments" in plan.by_role("reference")
    target = f"sqlite:///{tmp_path / 'out.db'}"
    relsynth.synthesize(url, target, seed=2, scale=0.1)
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        names = {r[0] for r in conn.execute(sa.text("SELECT dept_name FROM departments"))}
    engine.dispose()
    assert names == {"Marketing", "Finance", "Human Resources", "Production", "Development", "Sales"}
