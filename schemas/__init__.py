"""Bundled demo databases, installed as ``relsynth.demos``."""
