"""The README's two set-up commands are what users and CI run: keep them true."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_two_setup_commands_near_the_top() -> None:
    commands = setup_commands()
    assert len(commands) == 2
    main_job, tests = commands
    assert "pip install torch==2.13.0" in main_job and "pip install -e ." in main_job
    assert "relsynth " in main_job and "demo" in main_job
    assert "pip install -e '.[test]'" in tests and "pytest" in tests
    head = (ROOT / "README.md").read_text(encoding="utf-8")[:1500]
    assert main_job in head and tests in head


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert setup_commands()[1] in ci
    assert "export CI=true" in ci
