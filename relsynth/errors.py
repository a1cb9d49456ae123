"""One root error whose message is a single line that tells the user what to do.

The CLI prints ``FAILED: <message>`` and exits 1; a traceback only with ``--traceback``.
Messages never contain data values or passwords.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RelsynthError(Exception):
    """An error the user can fix; the message says how."""


class ConnectionFailed(RelsynthError):
    """The database could not be reached or refused us."""


class DatabaseFailed(RelsynthError):
    """The database refused an operation for a reason the user can fix (privileges, locks, timeouts)."""


class RowsHidden(RelsynthError):
    """PostgreSQL's row-level security would hide rows of a table to read from this user; ``url``
    is the database's (no password) and ``table`` the first such table, so a caller can tell a
    source's from a target's."""

    def __init__(self, message: str, url: object = None, table: str = "") -> None:
        super().__init__(message)
        self.url = url
        self.table = table


class SchemaError(RelsynthError):
    """The schema (reflected or from a file) is unusable as given."""


class ModelError(RelsynthError):
    """A model file is missing, damaged or of another format version."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Suffix for 'unknown X' messages, as sqlglot does: the closest valid names."""
    pool = list(candidates)
    close = difflib.get_close_matches(name, pool, n=3, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in pool}
        if name.lower() in lowered:
            close = [lowered[name.lower()]]
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"
