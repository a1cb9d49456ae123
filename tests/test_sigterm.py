"""SIGTERM (docker stop, systemd, a CI timeout) stops a CLI run as Ctrl-C does: the same clean-up
(no staging tables, no bookkeeping table, no half-loaded tables), `Interrupted.` and exit code 130.
Before, a SIGTERM during a MariaDB load left `_rs...` staging tables and `_relsynth_staging`, and the
process died silently with 143.

The signal comes from outside, as a supervisor sends it: the run is paused inside its load (a marker
file says it got there) and the test process sends SIGTERM to it. As a library, relsynth leaves the
caller's SIGTERM handler alone.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import relsynth
from relsynth.cli import main
from tests.conftest import table_names

PAUSED_IN_THE_LOAD = """
import sys, time
from pathlib import Path
import relsynth.writer as w
marker = Path(sys.argv.pop(1))
original = w._load
calls = []
def load(*args, **kwargs):
    calls.append(1)
    if len(calls) == 3:  # two tables loaded, the third under way
        marker.write_text("loading")
        time.sleep(120)
    return original(*args, **kwargs)
w._load = load
from relsynth.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_sigterm_during_the_load_cleans_up_like_ctrl_c(
    request: pytest.FixtureRequest, demo_db: str, kind: str, tmp_path: Path
) -> None:
    target = request.getfixturevalue("pg_db" if kind == "postgresql" else "mysql_db")()
    marker = tmp_path / "loading"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            PAUSED_IN_THE_LOAD,
            str(marker),
            "-q",
            "synthesize",
            demo_db,
            target,
            "--no-report",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never reached its load"
            time.sleep(0.05)
        if kind == "mysql":  # the load is under way in staging tables: what SIGTERM used to leave
            assert any(t.startswith("_rs") for t in table_names(target))
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert err.strip() == "Interrupted.", err
    assert table_names(target) == set()


def test_the_cli_restores_the_sigterm_handler_and_the_library_installs_none(demo_db: str) -> None:
    seen: list[object] = []

    def mine(signum: int, frame: object) -> None:  # the application's own handler
        seen.append(signum)

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        during: list[object] = []
        relsynth.reflect(demo_db, progress=lambda *_: during.append(signal.getsignal(signal.SIGTERM)))
        assert during and all(h is mine for h in during)  # the library leaves it alone
        result = CliRunner().invoke(main, ["-q", "inspect", demo_db])
        assert result.exit_code == 0, result.output
        assert signal.getsignal(signal.SIGTERM) is mine  # the CLI put it back
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert seen == []
