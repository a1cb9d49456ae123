"""Integrity of tables in a live database, checked with SQL: orphans, duplicate keys, NULLs, CHECKs,
row counts. Every name is quoted by SQLAlchemy; CHECK expressions come from the catalog."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from relsynth.schema import Schema

if TYPE_CHECKING:
    import sqlalchemy as sa


@dataclass
class Verification:
    rows: dict[str, int] = field(default_factory=dict)
    expected_rows: dict[str, int] = field(default_factory=dict)
    orphans: dict[str, int] = field(default_factory=dict)
    duplicate_keys: dict[str, int] = field(default_factory=dict)
    not_null: dict[str, int] = field(default_factory=dict)
    checks: dict[str, int] = field(default_factory=dict)
    loops: dict[str, int] = field(default_factory=dict)  # rows whose chain of parents loops

    @property
    def problems(self) -> int:
        wrong_counts = sum(1 for t, n in self.expected_rows.items() if self.rows.get(t) != n)
        return (
            sum(self.orphans.values())
            + sum(self.duplicate_keys.values())
            + sum(self.not_null.values())
            + sum(self.checks.values())
            + sum(self.loops.values())
            + wrong_counts
        )

    def lines(self) -> list[str]:
        out = [
            f"{t}: {self.rows.get(t)} rows, expected {n}"
            for t, n in self.expected_rows.items()
            if self.rows.get(t) != n
        ]
        out += [f"orphans {k}: {v}" for k, v in self.orphans.items() if v]
        out += [f"duplicate key {k}: {v}" for k, v in self.duplicate_keys.items() if v]
        out += [f"NULL in NOT NULL {k}: {v}" for k, v in self.not_null.items() if v]
        out += [f"CHECK {k}: {v}" for k, v in self.checks.items() if v]
        out += [f"rows whose parent chain loops {k}: {v}" for k, v in self.loops.items() if v]
        return out


def _scalar(conn: sa.Connection, query: Any) -> int:
    return int(conn.execute(query).scalar_one() or 0)


def verify(
    conn: sa.Connection,
    schema: Schema,
    tables: dict[str, sa.Table],
    *,
    expected: dict[str, int] | None = None,
    check_sql: bool = True,
) -> Verification:
    """Check every written table in the target. ``tables`` maps source names to target tables."""
    import sqlalchemy as sa

    from relsynth import dialects
    from relsynth.ddl import check_clause
    from relsynth.io import describe

    # Row-level security (the target's own, or FORCEd on its owner) never hides a row from the counts.
    dialects.see_every_row(conn, [(t.schema, t.name) for t in tables.values()], describe(conn.engine.url))
    out = Verification(expected_rows=dict(expected or {}))
    for name, t in tables.items():
        table = schema.table(name)
        out.rows[name] = _scalar(conn, sa.select(sa.func.count()).select_from(t))
        # The target's own definition: a column may accept NULL there (NaN in SQLite, listed as a change).
        not_null = [c for c in table.columns if not c.computed and c.name in t.c and not t.c[c.name].nullable]
        if not_null:
            sums = [
                sa.func.coalesce(sa.func.sum(sa.case((t.c[c.name].is_(None), 1), else_=0)), 0)
                for c in not_null
            ]
            counts = conn.execute(sa.select(*sums)).one()
            for c, k in zip(not_null, counts, strict=True):
                out.not_null[f"{name}.{c.name}"] = int(k or 0)
        for cols in [table.primary_key, *(u.columns for u in table.unique)]:
            if not cols:
                continue
            keys = [t.c[c] for c in cols]
            dup = (
                sa.select(*keys)
                .where(sa.and_(*(k.is_not(None) for k in keys)))
                .group_by(*keys)
                .having(sa.func.count() > 1)
                .subquery()
            )
            out.duplicate_keys[f"{name}({', '.join(cols)})"] = _scalar(
                conn, sa.select(sa.func.count()).select_from(dup)
            )
        for fk in table.foreign_keys:
            if fk.ref_table not in tables:
                continue
            parent = tables[fk.ref_table].alias("p")
            child = t.alias("c")
            on = sa.and_(
                *(child.c[a] == parent.c[b] for a, b in zip(fk.columns, fk.ref_columns, strict=True))
            )
            query = (
                sa.select(sa.func.count())
                .select_from(child.outerjoin(parent, on))
                .where(sa.and_(*(child.c[a].is_not(None) for a in fk.columns)))
                .where(parent.c[fk.ref_columns[0]].is_(None))
            )
            out.orphans[fk.label] = _scalar(conn, query)
            if fk.ref_table == name:
                out.loops[fk.label] = _looping(conn, t, fk.columns, fk.ref_columns)
        if check_sql:
            same = dialects.family(schema.dialect) == dialects.family(conn.dialect.name)
            for check in table.checks:
                # Into another dialect, the CHECK as its DDL recreated it, or none: the source's
                # text may run there and mean something else (date subtraction on SQLite's text).
                clause = (
                    sa.literal_column(f"({check.sql})", sa.Boolean)
                    if same
                    else check_clause(check.sql, table, schema.dialect, dialects.family(conn.dialect.name))
                )
                if clause is None:
                    continue
                query = sa.select(sa.func.count()).select_from(t).where(sa.not_(clause))
                try:
                    with conn.begin_nested():
                        out.checks[f"{name}: {check.sql}"] = _scalar(conn, query)
                except Exception:  # an expression that does not run here (another dialect's CHECK)
                    continue
    return out


def _looping(conn: sa.Connection, t: sa.Table, columns: tuple[str, ...], refs: tuple[str, ...]) -> int:
    """Rows of a self-reference in a loop of parents (evaluation.integrity.looping_rows)."""
    import pandas as pd
    import sqlalchemy as sa

    from relsynth.evaluation.integrity import looping_rows

    rows = conn.execute(sa.select(*(t.c[c] for c in dict.fromkeys((*columns, *refs))))).all()
    if not rows:
        return 0
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(dict.fromkeys((*columns, *refs))))
    return looping_rows(frame[list(refs)], frame[list(columns)])
