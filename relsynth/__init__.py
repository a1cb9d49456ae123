"""relsynth: turn a real relational database into a synthetic one.

The pipeline, one function per stage (see relsynth.api):
    reflect -> plan -> fit -> sample -> write -> evaluate
Heavy packages are imported on first use, so importing relsynth is cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = {
    "reflect",
    "plan",
    "fit",
    "sample",
    "sample_batches",
    "write",
    "write_files",
    "synthesize",
    "evaluate",
}
_TYPES = {"Schema": "relsynth.schema", "Model": "relsynth.model.spec", "RelsynthError": "relsynth.errors"}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _API:
        return getattr(importlib.import_module("relsynth.api"), name)
    if name in _TYPES:
        return getattr(importlib.import_module(_TYPES[name]), name)
    raise AttributeError(f"module 'relsynth' has no attribute {name!r}")


__all__ = [
    "Model",
    "RelsynthError",
    "Schema",
    "fit",
    "plan",
    "reflect",
    "sample",
    "sample_batches",
    "synthesize",
    "write",
    "write_files",
]
