"""The bundled demo database, built on first use into the user's cache directory."""

from __future__ import annotations

import os
from pathlib import Path

# Bump when schemas/hospital.* change, so a stale cached copy is rebuilt.
DEMO_VERSION = 2


def cache_dir() -> Path:
    base = os.environ.get("RELSYNTH_CACHE") or os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    path = Path(base).expanduser() / "relsynth"
    path.mkdir(parents=True, exist_ok=True)
    return path


def demo_path(*, rebuild: bool = False) -> Path:
    """Path of the demo hospital SQLite file (built deterministically from schemas/hospital.py)."""
    from relsynth.demos import hospital

    path = cache_dir() / f"hospital-v{DEMO_VERSION}.db"
    if rebuild or not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        hospital.build(tmp)
        tmp.replace(path)
    return path
