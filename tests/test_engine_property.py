"""Property test: random FK graphs (composite, nullable, self-referencing keys) and random data
that satisfies them -> fit -> sample -> no orphan, unique keys, NOT NULL held, at any scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import relsynth
from relsynth.evaluation.integrity import check_integrity
from relsynth.profile import profile_table
from relsynth.schema import Column, ForeignKey, Schema, SqlType, Table

INT = SqlType("integer")


@st.composite
def databases(draw: st.DrawFn) -> tuple[Schema, dict[str, pd.DataFrame]]:
    """Tables created in order; each may point to earlier ones (and to itself)."""
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n_tables = draw(st.integers(1, 5))
    tables: list[Table] = []
    frames: dict[str, pd.DataFrame] = {}
    for i in range(n_tables):
        name = f"t{i}"
        n = draw(st.integers(0, 40)) if i else draw(st.integers(1, 40))
        composite = i > 0 and draw(st.booleans())
        data: dict[str, np.ndarray | list] = {}
        cols: list[Column] = []
        fks: list[ForeignKey] = []
        pk: tuple[str, ...]
        parents = [t for t in tables if len(frames[t.name])]
        if composite and parents:
            # Composite key: (parent key..., seq) numbering rows inside each parent.
            parent = parents[draw(st.integers(0, len(parents) - 1))]
            pf = frames[parent.name]
            rows = pf.sample(n, replace=True, random_state=seed % 1000) if n else pf.head(0)
            ref_cols = parent.primary_key
            for j, rc in enumerate(ref_cols):
                data[f"p{j}"] = rows[rc].to_numpy()
                cols.append(Column(f"p{j}", INT, nullable=False))
            data["seq"] = rows.groupby(list(ref_cols)).cumcount().to_numpy() + 1 if n else np.zeros(0, int)
            cols.append(Column("seq", INT, nullable=False))
            pk = (*(f"p{j}" for j in range(len(ref_cols))), "seq")
            fks.append(
                ForeignKey(
                    f"fk_{name}_ctx", tuple(f"p{j}" for j in range(len(ref_cols))), parent.name, ref_cols
                )
            )
        else:
            data["id"] = np.arange(1, n + 1)
            cols.append(Column("id", INT, nullable=False))
            pk = ("id",)
        # Extra FKs to earlier tables, some nullable.
        for k, parent in enumerate(parents[: draw(st.integers(0, 2))]):
            nullable = draw(st.booleans())
            pf = frames[parent.name]
            picks = pf.sample(n, replace=True, random_state=(seed + k) % 1000) if n else pf.head(0)
            names = []
            for j, rc in enumerate(parent.primary_key):
                col = f"f{k}_{j}"
                vals = picks[rc].to_numpy().astype(object)
                if nullable and n:
                    vals[rng.random(n) < 0.3] = None
                data[col] = vals
                cols.append(Column(col, INT, nullable=nullable))
                names.append(col)
            fks.append(ForeignKey(f"fk_{name}_{k}", tuple(names), parent.name, parent.primary_key))
        if pk == ("id",) and n and draw(st.booleans()):
            # A nullable self-reference forming a forest: each row may point to an earlier one.
            refs = np.array(
                [rng.integers(1, i + 1) if i and rng.random() < 0.6 else None for i in range(n)], dtype=object
            )
            data["boss"] = refs
            cols.append(Column("boss", INT, nullable=True))
            fks.append(ForeignKey(f"fk_{name}_self", ("boss",), name, ("id",)))
        data["v"] = rng.normal(0, 1, n).round(3)
        data["c"] = rng.choice(["x", "y", "z"], n)
        cols += [Column("v", SqlType("double"), nullable=False), Column("c", SqlType("text"), nullable=False)]
        frame = pd.DataFrame(data)
        table = Table(name, tuple(cols), primary_key=pk, foreign_keys=tuple(fks), row_count=n)
        tables.append(profile_table(table, frame))
        frames[name] = frame
    return Schema(tuple(tables), dialect="pandas"), frames


@settings(
    max_examples=int(__import__("os").environ.get("RELSYNTH_HYPOTHESIS_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(databases(), st.sampled_from([0.01, 0.5, 1.0, 3.0]))
def test_any_schema_samples_with_valid_keys(db: tuple[Schema, dict[str, pd.DataFrame]], scale: float) -> None:
    schema, frames = db
    model = relsynth.fit(frames, schema=schema, seed=1)
    synth = relsynth.sample(model, scale=scale, seed=2)
    assert set(synth) == set(frames)
    integrity = check_integrity(schema, synth)
    assert integrity.problems == 0, integrity.lines()
    for table in schema.tables:
        assert list(synth[table.name].columns) == list(table.column_names)
