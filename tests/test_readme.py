"""The README's two set-up commands are what users and CI run: keep them true. And what a user
installs (the wheel's packages, the declared dependencies) is what the code needs."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
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
    assert "ruff check ." in tests and "mypy relsynth" in tests
    head = (ROOT / "README.md").read_text(encoding="utf-8")[:1500]
    assert main_job in head and tests in head


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci[-1] == setup_commands()[1]
    assert "export CI=true" in ci
    assert any(re.search(r'venv/bin/relsynth"? demo', line) for line in ci), "CI runs the wheel's demo"


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_wheel_lists_every_package() -> None:
    """setuptools' packages are listed by hand (the demos are renamed from schemas/): none forgotten."""
    listed = set(pyproject()["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "relsynth").rglob("__init__.py")
    }
    assert found | {"relsynth.demos"} == listed
    assert pyproject()["tool"]["setuptools"]["package-dir"] == {"relsynth.demos": "schemas"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# Imported, but installed by another dependency on purpose: torch comes with SDV, and must stay the
# CPU build the README installs first.
TRANSITIVE = {"torch"}


# Extras a feature needs and only its module imports, each import behind `except ImportError`
# that says how to install it: `relsynth synthesize --cluster` (relsynth[dask]).
EXTRAS = {"dask": ("dask", "relsynth/cluster.py")}


def test_every_imported_package_is_a_declared_dependency() -> None:
    """Top-level and lazy (function-level) imports alike: `pip install relsynth` must bring them,
    but for an extra's package, imported only by its feature's module, where a missing one is a
    one-line message (EXTRAS)."""
    imported: set[str] = set()
    where: dict[str, set[str]] = {}
    for path in [*(ROOT / "relsynth").rglob("*.py"), *(ROOT / "schemas").rglob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        guarded = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.Try)
            and any(isinstance(h.type, ast.Name) and h.type.id == "ImportError" for h in node.handlers)
            for stmt in node.body
            for inner in ast.walk(stmt)
        }
        for node in ast.walk(tree):
            names: set[str] = set()
            if isinstance(node, ast.Import):
                names = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = {node.module.split(".")[0]}
            imported |= names
            for name in names:
                rel = str(path.relative_to(ROOT))
                where.setdefault(name, set()).add(rel if id(node) in guarded else f"{rel} (unguarded)")
    extras = pyproject()["project"]["optional-dependencies"]
    for extra, (module, home) in EXTRAS.items():
        assert any(_canonical(d).startswith(module) for d in extras[extra]), extra
        assert where.get(module, {home}) == {home}, f"{module} imported outside {home} or unguarded"
        imported.discard(module)
    third_party = imported - set(sys.stdlib_module_names) - {"relsynth"} - TRANSITIVE
    declared = {
        _canonical(m.group(0))
        for dep in pyproject()["project"]["dependencies"]
        if (m := re.match(r"[A-Za-z0-9._-]+", dep))
    }
    dists = packages_distributions()
    missing = {
        module: dists.get(module, [module])
        for module in sorted(third_party)
        if not {_canonical(d) for d in dists.get(module, [module])} & declared
    }
    assert not missing, f"imported but not in pyproject's dependencies: {missing}"
