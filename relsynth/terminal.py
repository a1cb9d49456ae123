"""What reaches the user's terminal, and nothing else: relsynth's own log lines on stderr, library
warnings and logs as debug lines (-v), every error as one line, Ctrl-C (and SIGTERM) as exit 130.

A RelsynthError or a database error the user can act on becomes `FAILED: <one line>` and exit code
1; Ctrl-C or SIGTERM `Interrupted.` and 130; anything else is a bug, `internal error: ...` and 2.
Messages never hold a password (those typed on the command line are masked too) or a data value.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

log = logging.getLogger("relsynth")


class State:
    quiet: bool = False
    verbose: int = 0
    traceback: bool = False
    url: str | None = None  # the one database a command works on, named in its database errors
    committed: bool = False  # the target's transaction (or MariaDB's swap) is done: it is complete


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (a test runner swaps it between commands)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class _LibraryLogs(logging.Handler):
    """Library loggers' records (SQLAlchemy, SDV, ...) become relsynth debug lines, seen only with -v."""

    def emit(self, record: logging.LogRecord) -> None:
        log.debug("%s: %s", record.name, record.getMessage())


def _show_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, *_: Any, **__: Any
) -> None:
    """Python warnings (scipy's RuntimeWarnings, SQLAlchemy's SAWarnings) are for developers: a debug
    line naming the package, no file paths."""
    package = category.__module__.split(".")[0]  # SAWarning: sqlalchemy
    if package == "builtins":  # RuntimeWarning and the like: the package of the file that warned
        parts = filename.replace("\\", "/").split("/")
        package = parts[parts.index("site-packages") + 1] if "site-packages" in parts else parts[-1]
    log.debug("%s from %s: %s", category.__name__, package.removesuffix(".py"), message)


def _unraisable(unraisable: Any) -> None:
    """An exception Python could not raise (in a __del__ or a GC callback, a Ctrl-C among them): a
    debug line, not a traceback on the user's terminal."""
    log.debug("ignored %s in %r", type(unraisable.exc_value).__name__, unraisable.object)


def setup_logging(state: State) -> None:
    """relsynth's own lines on stderr; everything else (warnings, library logs) only under -v."""
    import warnings

    level = logging.WARNING if state.quiet else (logging.DEBUG if state.verbose else logging.INFO)
    handler = _Stderr()
    handler.setFormatter(logging.Formatter("relsynth: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False
    warnings.showwarning = _show_warning
    sys.unraisablehook = _unraisable
    root = logging.getLogger()
    if not any(isinstance(h, _LibraryLogs) for h in root.handlers):
        root.addHandler(_LibraryLogs())  # also keeps logging's last-resort printer quiet


class _Interrupt:
    """Ctrl-C, remembered: Python may deliver the KeyboardInterrupt inside a garbage-collection
    callback, which swallows it; every progress report checks the flag and raises it again."""

    seen = False


def on_interrupt(signum: int, frame: Any) -> None:
    """SIGINT and, in the CLI, SIGTERM: a KeyboardInterrupt, so that both take Ctrl-C's clean-up."""
    _Interrupt.seen = True
    raise KeyboardInterrupt


def checkpoint() -> None:
    if _Interrupt.seen:
        raise KeyboardInterrupt


def _secrets(ctx: click.Context) -> list[str]:
    """The passwords in the URLs the user typed, decoded and as typed: masked in any message."""
    import re

    from relsynth.io import parse_url

    found: set[str] = set()
    for arg in ctx.meta.get("relsynth.args", []):
        if "://" not in arg:
            continue
        typed = re.search(r"://[^:/@\s]*:(.*)@", arg)
        if typed:
            found.add(typed.group(1))
        try:
            password = parse_url(arg).password
        except Exception:  # not a URL: the pattern above is all there is
            continue
        if password:
            found.add(str(password))
    return sorted((s for s in found if len(s) >= 4), key=len, reverse=True)


def _one_line(ctx: click.Context, message: str) -> str:
    from relsynth.io import redact_text

    text = " ".join(line.strip() for line in str(message).splitlines() if line.strip())
    try:
        secrets = _secrets(ctx)
    except Exception:  # masking must never be the failure
        secrets = []
    for secret in secrets:
        text = text.replace(secret, "***")
    return redact_text(text)


def _fail(message: str) -> None:
    click.echo(f"FAILED: {message}", err=True)
    sys.exit(1)


def _issues_url() -> str:
    """Where bugs go: the Issues URL of the installed package's metadata, when it has one."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        urls = metadata("relsynth").get_all("Project-URL") or []
    except PackageNotFoundError:
        urls = []
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() in {"issues", "bug tracker", "bugs", "tracker"}:
            return url.strip()
    return "the relsynth issue tracker"


def _internal(err: BaseException) -> None:
    """A bug: say so in one line, with where it happened, but not its message (it may hold values)."""
    from pathlib import Path

    import relsynth

    root = Path(relsynth.__file__).resolve().parent.parent
    where = ""
    tb = err.__traceback__
    while tb is not None:
        path = Path(tb.tb_frame.f_code.co_filename).resolve()
        if path.is_relative_to(root / "relsynth"):
            where = f" at {path.relative_to(root).as_posix()}:{tb.tb_lineno}"
        tb = tb.tb_next
    click.echo(
        f"internal error: {type(err).__name__}{where}. This is a bug in relsynth, not in your data or "
        f"setup: please report it at {_issues_url()}, with the output of this command run with --traceback",
        err=True,
    )
    sys.exit(2)


# What each command can do with less memory: only options it has (evaluate has no --scale).
_OUT_OF_MEMORY = {
    "": "learn from fewer rows (--sample-rows N) or sample fewer (--scale)",
    "inspect": "read fewer rows (--sample-rows N) or fewer tables (--include, --exclude)",
    "fit": "learn from fewer rows (--sample-rows N, --fit-rows N) or fewer tables (--include, --exclude)",
    "demo": "sample fewer rows (--scale F under 1)",
    "sample": "sample fewer rows (--scale F under 1) or in batches (--batch-rows N)",
    "synthesize": (
        "learn from fewer rows (--sample-rows N, --fit-rows N), sample fewer (--scale F under 1) or in "
        "batches (--batch-rows N); if it was the evaluation at the end, run with --no-report and then "
        "relsynth evaluate on fewer rows (--sample-rows N)"
    ),
    "evaluate": (
        "evaluate on fewer rows (--sample-rows N root rows per root table; the child tables of a "
        "root come with all their rows) or fewer tables (--include, --exclude)"
    ),
}


def _known(err: Exception, state: State, command: str | None = None) -> str | None:
    """The message of an error that is not relsynth's but the user's to fix; None for a bug.
    ``command`` (evaluate, fit, ...) picks advice that names options it has."""
    from relsynth.io import database_error, parse_url

    url = None
    if state.url:
        try:
            url = parse_url(state.url)
        except Exception:  # a URL that does not parse names nothing
            url = None
    mapped = database_error(err, url)
    if mapped is not None:
        return str(mapped)
    if isinstance(err, MemoryError):
        return "Out of memory: " + _OUT_OF_MEMORY.get(command or "", _OUT_OF_MEMORY[""])
    if isinstance(err, OSError) and err.filename and not isinstance(err, BrokenPipeError):
        return f"Cannot use {err.filename}: {(err.strerror or type(err).__name__).lower()}"
    return None


def _print_traceback(ctx: click.Context, err: BaseException) -> None:
    """--traceback: where it happened, for a bug report, without values: a database error's text
    (a server's DETAIL or CONTEXT, a driver's parameters) and another library's message may quote
    rows, so each exception of the chain shows its type, a database error its code, and only
    relsynth's own errors their message. The exit code stays the one without --traceback."""
    import traceback

    chain: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    lines = ["Traceback (most recent call last), innermost exception last:"]
    for exc in reversed(chain):
        lines += [line.rstrip("\n") for line in traceback.format_tb(exc.__traceback__)]
        orig = getattr(exc, "orig", None) or exc
        code = getattr(orig, "sqlstate", None)
        args = getattr(orig, "args", None) or ()
        from relsynth.errors import RelsynthError

        if isinstance(exc, RelsynthError):  # our own words: no values by construction
            shown = _one_line(ctx, str(exc))
        elif code or (args and isinstance(args[0], int)) or hasattr(exc, "orig"):
            number = code or (args[0] if args and isinstance(args[0], int) else "")
            shown = f"database error {number}".strip()
        else:
            shown = "(message left out: it may hold data values)"
        lines.append(f"{type(exc).__module__}.{type(exc).__name__}: {shown}")
    click.echo("\n".join(lines), err=True)


def _interrupted(state: State) -> str:
    """What a Ctrl-C or SIGTERM left: before the commit, the target as it was (the load rolled
    back); after it, a complete, verified target, though the command did not finish (attack round
    45: a SIGTERM just after the commit said "Interrupted." as if nothing had been written)."""
    if not state.committed:
        return "Interrupted."
    return (
        "Interrupted after the target was committed: the synthetic database is complete and verified; "
        "what came after it (the evaluation, the report) was not done (relsynth evaluate SOURCE TARGET "
        "makes them)"
    )


@contextmanager
def errors(ctx: click.Context) -> Iterator[None]:
    """RelsynthError and classified database errors: one `FAILED:` line, exit 1. Ctrl-C, SIGTERM: 130.
    Anything else is a bug: one `internal error:` line, exit 2. A traceback only with --traceback;
    never a password; never a data value (only our own messages and servers' codes are shown)."""
    from relsynth.errors import RelsynthError

    state: State = ctx.find_object(State) or State()
    try:
        yield
    except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except RelsynthError as err:
        if state.traceback:
            _print_traceback(ctx, err)
        _fail(_one_line(ctx, str(err)))
    except KeyboardInterrupt:
        click.echo(_interrupted(state), err=True)
        sys.exit(130)
    except BrokenPipeError:  # `relsynth inspect ... | head`: the reader left, nothing to say
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except Exception as err:
        if state.traceback:
            _print_traceback(ctx, err)
        known = _known(err, state, ctx.info_name if ctx.parent is not None else ctx.invoked_subcommand)
        if known is not None:
            _fail(_one_line(ctx, known))
        _internal(err)
