"""relsynth: turn a real relational database into a synthetic one."""

__version__ = "0.1.0"
