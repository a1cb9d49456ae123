"""Attack round 45a, item 5: a SIGTERM at the very end of a successful synthesize.

After the target had committed, a SIGTERM said `Interrupted.` (exit 130), which README says leaves
the target as it was, though the synthetic database was complete; one during Python's shutdown,
after the summary, killed the finished run with status 143. Now an interrupt after the commit says
that the target is complete and verified and what was not done, a newly created SQLite file is
kept, and one after the command is done is ignored (exit 0).

The signal comes from outside: the run pauses at a known point (a marker file says it got there)
and the test sends SIGTERM, as in tests/test_sigterm.py.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import run_sql, scalar

SOURCE = "CREATE TABLE ward (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n" + "\n".join(
    f"INSERT INTO ward VALUES ({i}, 'ward {i % 5}');" for i in range(1, 61)
)

PAUSED = """
import sys, time
from pathlib import Path
marker, where = Path(sys.argv.pop(1)), sys.argv.pop(1)
sent = Path(str(marker) + ".sent")

def pause():
    marker.write_text(where)
    while not sent.exists():  # until the test has sent its signal
        time.sleep(0.02)

import relsynth.cli as cli
import relsynth.writer as w
if where == "exit":  # the command done, Python shutting down
    import atexit
    atexit.register(pause)
elif where == "summary":  # after the commit, the summary under way
    original = cli._print_summary
    def summary(*args, **kwargs):
        pause()
        return original(*args, **kwargs)
    cli._print_summary = summary
else:  # "commit": verified, the COMMIT next (the signal is held until it is done)
    original = w._committing
    from contextlib import contextmanager
    @contextmanager
    def committing(*args, **kwargs):
        with original(*args, **kwargs) as hold:
            def held():
                hold()
                pause()
            yield held
    w._committing = committing
sys.argv[0] = "relsynth"
cli.main()  # as the console script calls it
"""


def _terminated_at(where: str, source: str, target: str, tmp_path: Path) -> tuple[int, str]:
    marker = tmp_path / "paused"
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSED, str(marker), where, "-q", "synthesize", source, target, "--no-report"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never got there"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        Path(f"{marker}.sent").write_text("")
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, err.strip()


def test_a_sigterm_after_the_commit_says_the_target_is_complete(sqlite_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source, target = sqlite_db(), sqlite_db()
    run_sql(source, SOURCE)
    code, err = _terminated_at("summary", source, target, tmp_path)
    assert code == 130, err
    assert err.startswith("Interrupted after the target was committed: the synthetic database is complete")
    assert "\n" not in err
    assert scalar(target, "SELECT COUNT(*) FROM ward") == 60


def test_a_sigterm_during_the_commit_is_held_and_the_new_file_kept(sqlite_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source, target = sqlite_db(), sqlite_db()  # the target file does not exist: the run creates it
    run_sql(source, SOURCE)
    code, err = _terminated_at("commit", source, target, tmp_path)
    assert code == 130, err
    assert err.startswith("Interrupted after the target was committed"), err
    assert scalar(target, "SELECT COUNT(*) FROM ward") == 60  # committed, and the file kept


def test_a_sigterm_once_the_command_is_done_changes_nothing(sqlite_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source, target = sqlite_db(), sqlite_db()
    run_sql(source, SOURCE)
    code, err = _terminated_at("exit", source, target, tmp_path)
    assert (code, err) == (0, "")  # killed by the signal before: status 143 (-15 here)
    assert scalar(target, "SELECT COUNT(*) FROM ward") == 60
