"""What the benchmarks share: the PostgreSQL server they use, the real datasets and their loader,
and the --only selection of datasets. Not a benchmark itself."""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from pathlib import Path

import sqlalchemy as sa

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/{db}"
PG_ENV = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": "5432", "PGUSER": "postgres"}
SHARED = Path(__file__).resolve().parents[2] / "shared"
DATASETS = Path(os.environ.get("RELSYNTH_DATASETS") or SHARED / "datasets")
DB_SCHEMAS = {"omop_synthea27nj": "cdm"}  # datasets loaded into a schema other than public


def _admin(statement: str, db: str) -> None:
    """CREATE/DROP DATABASE outside a transaction, the name quoted by the dialect."""
    engine = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(statement.format(name=engine.dialect.identifier_preparer.quote(db)))
    finally:
        engine.dispose()


def drop_database(db: str) -> None:
    _admin("DROP DATABASE IF EXISTS {name} WITH (FORCE)", db)


def fresh_database(db: str) -> str:
    """An empty database (dropped first if a killed run left it); its URL."""
    drop_database(db)
    _admin("CREATE DATABASE {name}", db)
    return PG_DB.format(db=db)


def dataset_names() -> list[str]:
    return sorted(p.name for p in DATASETS.iterdir() if (p / "SOURCE.md").exists())


def load_dataset(name: str, db: str) -> float:
    """Load a dataset into a new database ``db`` with its loader; the seconds it took.

    Raises CalledProcessError (with the loader's stderr as text) if the loader fails."""
    started = time.perf_counter()
    subprocess.run([str(DATASETS / "load"), name, db], check=True, capture_output=True, text=True, env=PG_ENV)
    return time.perf_counter() - started


def chosen_datasets(parser: argparse.ArgumentParser, only: list[str] | None) -> list[str]:
    """Every dataset and the demo, or those named with --only (an unknown name is a usage error)."""
    names = [*dataset_names(), "demo"]
    if not only:
        return names
    unknown = set(only) - set(names)
    if unknown:
        parser.error(f"unknown dataset(s) {sorted(unknown)}; choose from {names}")
    return [n for n in names if n in only]


def per_second(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds > 0 else "-"
