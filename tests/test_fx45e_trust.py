"""Attack a45b, finding 4: `sample MODEL --target` dropped MySQL/MariaDB's `DEFAULT CURRENT_TIMESTAMP
ON UPDATE CURRENT_TIMESTAMP` ("SQL from the model file calls UPDATE"), so an application's INSERT
that leaves the column out failed. ON UPDATE with a clock is no statement: the DEFAULT is kept;
a real statement, or a call outside the allowed list, is still refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from relsynth.errors import RelsynthError
from relsynth.model.trust import checked
from relsynth.schema import Column, Schema, SqlType, Table
from tests.conftest import run_sql, scalar


def _schema(default: str) -> Schema:
    table = Table(
        name="lists",
        columns=(
            Column("id", SqlType("integer")),
            Column("modifydate", SqlType("datetime"), default=default),
        ),
        primary_key=("id",),
    )
    return Schema(tables=(table,))


@pytest.mark.parametrize(
    "default",
    [
        "current_timestamp() ON UPDATE current_timestamp()",  # as MariaDB's catalog spells it
        "CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP",
        "current_timestamp(6) ON UPDATE current_timestamp(6)",
        "now() ON UPDATE now()",
        "'2020-01-01 00:00:00' ON UPDATE localtimestamp",
        "NULL on update current_timestamp()",
    ],
)
def test_on_update_with_a_clock_keeps_the_default(default: str) -> None:
    out = checked(_schema(default))
    assert out.tables[0].column("modifydate").default == default
    assert not out.notes


@pytest.mark.parametrize(
    ("default", "said"),
    [
        ("current_timestamp() ON UPDATE sleep(10)", "UPDATE"),
        ("now() ON UPDATE t SET a = 1", "UPDATE"),
        ("now() ON UPDATE now() + sleep(1)", "UPDATE"),
        ("load_file('/etc/passwd') ON UPDATE current_timestamp()", "load_file()"),
    ],
)
def test_other_on_update_text_is_still_refused(default: str, said: str) -> None:
    out = checked(_schema(default))
    assert out.tables[0].column("modifydate").default is None
    assert len(out.notes) == 1 and said in out.notes[0], out.notes


def test_a_second_statement_behind_on_update_is_refused() -> None:
    with pytest.raises(RelsynthError, match="second SQL statement"):
        checked(_schema("now(); UPDATE t SET a = 1 ON UPDATE now()"))


@pytest.fixture
def maria(mysql_db: Callable[[], str]) -> Callable[[], str]:
    return mysql_db


def test_sample_target_keeps_on_update_current_timestamp(maria: Callable[[], str], tmp_path: Path) -> None:
    """MariaDB -> MariaDB from a model file: the DEFAULT (and its ON UPDATE) is recreated, so an
    application's INSERT without the column works."""
    source, target = maria(), maria()
    run_sql(
        source,
        "CREATE TABLE lists (id INT PRIMARY KEY AUTO_INCREMENT, title VARCHAR(40) NOT NULL, "
        "modifydate TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP);",
    )
    rows = ", ".join(f"('{t}', '2020-01-0{1 + i % 9} 10:00:00')" for i, t in enumerate(["a", "b", "c"] * 10))
    run_sql(source, f"INSERT INTO lists (title, modifydate) VALUES {rows};")
    path = tmp_path / "m.rsm"
    relsynth.fit(source, seed=1).save(path)
    result = CliRunner().invoke(main, ["sample", str(path), "--target", target, "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "UPDATE" not in result.output
    default = scalar(
        target,
        "SELECT column_default FROM information_schema.columns WHERE table_schema = DATABASE() "
        "AND table_name = 'lists' AND column_name = 'modifydate'",
    )
    assert "current_timestamp" in str(default).lower()
    run_sql(target, "INSERT INTO lists (title) VALUES ('app insert');")
