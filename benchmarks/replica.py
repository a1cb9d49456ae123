"""Replicate a database's entity trees k times with new keys (for scaling benchmarks).

Each root entity (a customer) is copied k times; its descendants along context parents
(invoices, their lines) are copied with it, every primary key renumbered and every foreign key
rewritten to the copy. Tables outside those trees (tracks, employees) are kept once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from relsynth.graph import Plan
from relsynth.schema import Schema


def replicate(
    schema: Schema, plan: Plan, frames: dict[str, pd.DataFrame], roots: list[str], k: int
) -> dict[str, pd.DataFrame]:
    """Copies of the trees under ``roots`` (k in all); integer single-column keys renumbered."""
    if k == 1:
        return {n: f.copy() for n, f in frames.items()}
    out = {n: f.copy() for n, f in frames.items()}
    tree = list(roots)
    for name in plan.order:
        tp = plan[name]
        if tp.context is not None and tp.context.ref_table in tree and name not in tree:
            tree.append(name)
    offsets: dict[str, int] = {}
    key_maps: dict[str, list[dict]] = {}
    for name in [n for n in plan.order if n in tree]:
        table = schema.table(name)
        base = frames[name]
        pk = table.primary_key[0] if len(table.primary_key) == 1 else None
        step = int(pd.to_numeric(base[pk]).max()) if pk is not None and len(base) else 0
        copies = []
        maps = []
        for i in range(k):
            part = base.copy()
            mapping = {}
            if pk is not None:
                new = pd.to_numeric(part[pk]) + i * step
                mapping = dict(zip(part[pk].tolist(), new.tolist(), strict=True))
                part[pk] = new
            for fk in table.foreign_keys:
                if fk.ref_table in tree and fk.ref_table in key_maps and len(fk.columns) == 1:
                    m = key_maps[fk.ref_table][i]
                    part[fk.columns[0]] = part[fk.columns[0]].map(lambda v, m=m: m.get(v, v))
            maps.append(mapping)
            copies.append(part)
        key_maps[name] = maps
        offsets[name] = step
        out[name] = pd.concat(copies, ignore_index=True)
    return out


def load_frames(url: str, tables: list[str]) -> dict[str, pd.DataFrame]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine, only=tables)
    with engine.connect() as conn:
        out = {}
        for t in tables:
            table = meta.tables[t]
            query = sa.select(table).order_by(*table.primary_key.columns)
            out[t] = pd.read_sql(query, conn)
        return out


__all__ = ["load_frames", "np", "replicate"]
