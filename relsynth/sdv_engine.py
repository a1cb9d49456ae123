"""SDV's HMASynthesizer as a reference engine, for the schemas it accepts.

SDV Community refuses more than 5 tables, relationship depth over 2 (counting tables), composite
keys, cycles and self-references. relsynth checks those first and names the limit that a schema
hits, instead of letting SDV fail deep inside. SDV saves models with pickle, so SDV model files
are never loaded unless the user says they trust the file (--allow-pickle).
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from relsynth.errors import ModelError, RelsynthError
from relsynth.graph import Plan
from relsynth.schema import Kind, Schema

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("relsynth")

SDV_PII = {
    "first_name": "first_name",
    "last_name": "last_name",
    "person_name": "name",
    "email": "email",
    "phone": "phone_number",
    "street_address": "street_address",
    "national_id": "ssn",
    "record_number": "id",
    "free_text": "text",
}


def limits(schema: Schema, plan: Plan, *, max_tables: int = 5, max_depth: int = 2) -> list[str]:
    """Every SDV Community limit this schema hits, in words a user can act on."""
    problems = []
    tables = [t for t in schema.active_tables if plan[t.name].role != "empty"]
    if len(tables) > max_tables:
        problems.append(
            f"{len(tables)} tables (SDV's HMASynthesizer takes at most {max_tables}); "
            "narrow it with --include"
        )
    for t in tables:
        if len(t.primary_key) > 1:
            problems.append(f"composite primary key {t.name}({', '.join(t.primary_key)})")
        for fk in t.foreign_keys:
            if len(fk.columns) > 1:
                problems.append(f"composite foreign key {fk.label}")
            if fk.ref_table == t.name:
                problems.append(f"self-reference {fk.label}")
    if plan.cycles:
        problems.append("a cycle of foreign keys: " + ", ".join(" <-> ".join(c.tables) for c in plan.cycles))
    g = nx.DiGraph()
    names = {t.name for t in tables}
    for t in tables:
        g.add_node(t.name)
        for fk in t.foreign_keys:
            if fk.ref_table in names and fk.ref_table != t.name:
                g.add_edge(fk.ref_table, t.name)
    if nx.is_directed_acyclic_graph(g):
        depth = nx.dag_longest_path_length(g) + 1 if len(g) else 0
        if depth > max_depth:
            path = " -> ".join(nx.dag_longest_path(g))
            problems.append(
                f"relationship depth {depth} ({path}); SDV's HMASynthesizer takes at most {max_depth}"
            )
    return problems


def metadata(schema: Schema, plan: Plan) -> Any:
    """SDV Metadata for the schema: keys, relationships, sdtypes, and PII columns marked as such."""
    from sdv.metadata import Metadata

    tables: dict[str, Any] = {}
    relationships = []
    for t in schema.active_tables:
        if plan[t.name].role == "empty":
            continue
        cols: dict[str, Any] = {}
        fk_cols = {c for fk in t.foreign_keys for c in fk.columns}
        for c in t.columns:
            if c.kind is Kind.UNSUPPORTED or c.computed:
                continue
            if c.name in t.primary_key or c.name in fk_cols or (c.kind is Kind.ID and not c.pii):
                cols[c.name] = {"sdtype": "id"}
            elif c.pii:
                cols[c.name] = {"sdtype": SDV_PII.get(c.pii, "id"), "pii": True}
                if SDV_PII.get(c.pii) == "id":
                    cols[c.name] = {"sdtype": "id"}
            elif c.kind is Kind.TEXT:
                cols[c.name] = {"sdtype": "id"}
            elif c.kind is Kind.DATETIME:
                cols[c.name] = {"sdtype": "datetime"}
            else:
                cols[c.name] = {"sdtype": c.kind.value}
        table: dict[str, Any] = {"columns": cols}
        if len(t.primary_key) == 1:
            table["primary_key"] = t.primary_key[0]
        tables[t.name] = table
    kept = set(tables)
    for t in schema.active_tables:
        if t.name not in kept:
            continue
        for fk in t.foreign_keys:
            if len(fk.columns) == 1 and fk.ref_table in kept and fk.ref_table != t.name:
                relationships.append(
                    {
                        "parent_table_name": fk.ref_table,
                        "child_table_name": t.name,
                        "parent_primary_key": fk.ref_columns[0],
                        "child_foreign_key": fk.columns[0],
                    }
                )
    return Metadata.load_from_dict(
        {"tables": tables, "relationships": relationships, "METADATA_SPEC_VERSION": "V1"}
    )


class SdvModel:
    """A fitted SDV HMASynthesizer with the Schema it was fitted on. Saved with SDV's own pickle."""

    engine = "sdv"

    def __init__(self, schema: Schema, plan: Plan, synth: Any, seed: int) -> None:
        self.schema, self.plan, self.synth, self.seed = schema, plan, synth, seed
        self.source: dict[str, Any] = {}

    def save(self, path: str) -> None:
        """SDV's own save, into a private temporary file that replaces ``path`` only once complete."""
        from relsynth.io import atomic_path

        with atomic_path(path) as tmp:
            self.synth.save(str(tmp))

    @classmethod
    def load(cls, path: str, *, allow_pickle: bool) -> Any:
        """An SDV model file, recognised by its content (a pickle), loaded only with the user's consent."""
        if not is_sdv_file(path):
            from relsynth.model.store import load

            load(path)  # not a pickle: raises what the file really is (damaged, missing, another format)
            raise ModelError(
                f"{path} is a relsynth model file, not an SDV one: sample it without --allow-pickle"
            )
        if not allow_pickle:
            raise ModelError(
                f"{path} is an SDV model file, which is a Python pickle and can run code when loaded; "
                "load it only if you made it yourself, with --allow-pickle"
            )
        try:  # SDV's own loader (HMASynthesizer.load is deprecated in late 1.x and gone in 2)
            from sdv.utils import load_synthesizer
        except ImportError:
            from sdv.multi_table import HMASynthesizer

            load_synthesizer = HMASynthesizer.load
        try:
            return load_synthesizer(path)
        except Exception as err:  # a truncated pickle, or one from another SDV: nothing to sample from
            raise ModelError(
                f"{path} is an SDV model file that this SDV cannot load ({type(err).__name__}: damaged, "
                f"or made by another SDV version); recreate it with: relsynth fit URL --engine sdv -o {path}"
            ) from None


def is_sdv_file(path: str) -> bool:
    """An SDV model file is a pickle: told by its first bytes, never by its name."""
    from relsynth.model.store import sniff

    return sniff(path) == "pickle"


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # SDV's HMA itself does not need torch
        pass


def fit(
    schema: Schema, plan: Plan, frames: dict[str, pd.DataFrame], *, seed: int = 0, check_limits: bool = True
) -> Any:
    """Fit SDV's HMASynthesizer; a schema beyond SDV's limits fails with each limit named."""
    if check_limits:
        hit = limits(schema, plan)
        if hit:
            raise RelsynthError(
                "SDV's HMASynthesizer cannot model this schema: "
                + "; ".join(hit)
                + ". Use relsynth's own engine (the default), which has none of these limits"
            )
    from sdv.multi_table import HMASynthesizer

    meta = metadata(schema, plan)
    data = {}
    for name in meta.tables:
        frame = frames[name]
        cols = list(meta.tables[name].columns)
        data[name] = frame[cols].copy()
    data = _without_orphans(data, meta)
    _seed(seed)
    if check_limits:
        synth = HMASynthesizer(meta, verbose=False)
        synth.fit(data)
        return synth

    class Ungated(HMASynthesizer):  # benchmarks only: measure SDV beyond its complexity gate
        def _validate_schema_complexity(self) -> None:
            return None

    synth = Ungated(meta, verbose=False)
    synth.fit(data)
    return synth


def _without_orphans(data: dict[str, pd.DataFrame], meta: Any) -> dict[str, pd.DataFrame]:
    """The frames without rows whose foreign key points to no parent row (a key SQLite did not
    enforce, an inferred key's orphans: a WordPress user's meta rows kept after the user was
    deleted), nor rows under those: SDV refuses them, naming the missing values in its error."""
    links = [
        (r["parent_table_name"], r["child_table_name"], r["parent_primary_key"], r["child_foreign_key"])
        for r in meta.relationships
    ]
    changed = True
    while changed:
        changed = False
        for parent, child, key, column in links:
            values = data[child][column]
            lost = values.notna() & ~values.isin(data[parent][key])
            if lost.any():
                log.debug(
                    "%s: %d rows point to no row of %s, left out of SDV's fit", child, int(lost.sum()), parent
                )
                data[child] = data[child][~lost.to_numpy()].reset_index(drop=True)
                changed = True
    return data


def sample(synth: Any, *, scale: float = 1.0, seed: int = 0) -> dict[str, pd.DataFrame]:
    _seed(seed)
    if hasattr(synth, "sample_scale"):  # SDV 2.x; earlier releases took sample(scale=...)
        return synth.sample_scale(scale=scale)
    return synth.sample(scale=scale)
