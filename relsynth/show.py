"""Human views of a Schema and its Plan: the one-screen summary, column detail, Graphviz dot."""

from __future__ import annotations

from typing import TYPE_CHECKING

from relsynth.graph import Plan
from relsynth.model.namers import patient_named, subject_named
from relsynth.schema import ForeignKey, Kind, Table

if TYPE_CHECKING:
    from rich.console import RenderableType


def _role(plan: Plan, name: str) -> str:
    tp = plan[name]
    if tp.role == "reference":
        return "reference (copied)"
    if tp.role == "empty":
        return "empty"
    parts = []
    if tp.link:
        parents = [fk.ref_table for fk in (*((tp.context,) if tp.context else ()), *tp.secondary)]
        parents += [fk.ref_table for fk in tp.reference_fks]
        parts.append("link " + " <-> ".join(dict.fromkeys(parents)))
    elif tp.context is not None:
        parts.append(f"child of {tp.context.ref_table}")
        if tp.secondary:
            parts.append("also " + ", ".join(dict.fromkeys(fk.ref_table for fk in tp.secondary)))
    else:
        parts.append("root")
    if tp.self_refs:
        parts.append("self-ref")
    if tp.deferred:
        parts.append("cycle")
    return "; ".join(parts)


def _rows(table: Table) -> str:
    return f"{table.row_count:,}" if table.row_count_exact else f"~{table.row_count:,}"


def _keys(table: Table) -> str:
    return ", ".join(table.primary_key) if table.primary_key else "(none)"


def summary(plan: Plan, *, title: str) -> list[RenderableType]:
    """The one-screen view: one line per table, then the graph facts."""
    from rich.table import Table as RichTable
    from rich.text import Text

    schema = plan.schema
    tables = [schema.table(n) for n in plan.order]
    n_fks = sum(len(t.foreign_keys) for t in tables)
    n_inferred = sum(1 for t in tables for fk in t.foreign_keys if fk.inferred is not None)
    total = sum(t.row_count for t in tables)
    approx = "~" if any(not t.row_count_exact for t in tables) else ""
    head = Text.assemble(
        (title, "bold"),
        f": {len(tables)} tables, {approx}{total:,} rows, {n_fks} foreign keys"
        + (f" ({n_inferred} inferred)" if n_inferred else ""),
    )
    grid = RichTable(box=None, pad_edge=False, show_edge=False, header_style="bold")
    grid.add_column("table", overflow="fold")
    grid.add_column("rows", justify="right")
    grid.add_column("cols", justify="right")
    grid.add_column("primary key", overflow="fold", max_width=32)
    grid.add_column("fks", justify="right")
    grid.add_column("role", overflow="fold")
    for t in tables:
        grid.add_row(
            t.name, _rows(t), str(len(t.columns)), _keys(t), str(len(t.foreign_keys)), _role(plan, t.name)
        )
    out: list[RenderableType] = [head, grid, Text("")]
    out.append(graph_facts(plan))
    return out


def _list(items: list[str], empty: str = "none") -> str:
    return ", ".join(items) if items else empty


def graph_facts(plan: Plan) -> RenderableType:
    from rich.text import Text

    schema = plan.schema
    lines: list[tuple[str, str]] = []
    lines.append(("roots", _list(list(plan.roots))))
    lines.append(("depth", str(plan.depth)))
    selfs = [f"{fk.table}({', '.join(fk.columns)})" for tp in plan.tables.values() for fk in tp.self_refs]
    lines.append(("self-references", _list(selfs)))
    if plan.cycles:
        for cut in plan.cycles:
            lines.append(("cycle", f"{' <-> '.join(cut.tables)}: cut {cut.fk.label}: {cut.reason}"))
    else:
        lines.append(("cycles", "none"))
    links = []
    for n in plan.order:
        tp = plan[n]
        if tp.link:
            parents = [
                fk.ref_table
                for fk in (*((tp.context,) if tp.context else ()), *tp.secondary, *tp.reference_fks)
            ]
            links.append(f"{n} ({' <-> '.join(dict.fromkeys(parents))})")
    lines.append(("link tables", _list(links)))
    refs = [f"{n} ({plan[n].role_reason})" for n in plan.by_role("reference")]
    lines.append(("reference tables", _list(refs)))
    lines.append(("empty tables", _list(list(plan.by_role("empty")))))
    lines.append(("no primary key", _list(list(plan.without_pk))))
    lines.append(("isolated", _list(list(plan.isolated))))
    contexts = [
        f"{n} under {tp.context.ref_table} ({tp.context_reason})"
        for n, tp in ((n, plan[n]) for n in plan.order)
        if tp.context is not None and len([*tp.secondary]) > 0
    ]
    if contexts:
        lines.append(("context parents", "; ".join(contexts)))
    named = _people_by_name(plan)
    if named:
        lines.append(("people named by", "; ".join(named) + " (by name; fit -v says what the data chose)"))
    pii = []
    for t in (schema.table(n) for n in plan.order):
        cols = [f"{c.name}={c.pii}" for c in t.columns if c.pii]
        if cols:
            pii.append(f"{t.name}({', '.join(cols)})")
    lines.append(
        ("personal data", _list(pii, "none detected") + ("; generated, never copied" if pii else ""))
    )
    unsupported = [
        f"{t.name}.{c.name} ({c.kind_reason})"
        for t in (schema.table(n) for n in plan.order)
        for c in t.columns
        if c.kind is Kind.UNSUPPORTED
    ]
    if unsupported:
        lines.append(("not learned", "; ".join(unsupported)))
    lines += _inferred_lines(plan)
    lines.append(("generation order", " -> ".join(plan.order)))
    for note in (*schema.notes, *plan.notes):
        lines.append(("note", note))
    text = Text()
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        text.append(f"{key:>{width}}  ", style="bold")
        text.append(value + "\n")
    return text


def _people_by_name(plan: Plan) -> list[str]:
    """The column that names each flat table's people by its name (pid, patient_id): whose rare
    values are counted by it. A table under a parent is its parent's people's, and said so above."""
    out = []
    for n in plan.order:
        tp = plan[n]
        if tp.role != "data" or tp.context is not None:
            continue
        t = plan.schema.table(n)
        keyed = t.fk_columns() | {c for cols in t.keysets() for c in cols}
        cols = [c.name for c in t.columns if c.name not in keyed and subject_named(c.name)]
        first = [c for c in cols if patient_named(c)]  # before a bare `user`, who entered the row
        cols = first[:1] or cols
        if cols:
            out.append(f"{n}({', '.join(cols)})")
    return out


# Inferred keys listed one per line in the summary; more are counted (--columns shows each).
MAX_INFERRED_LINES = 12


def _inferred_lines(plan: Plan) -> list[tuple[str, str]]:
    """Foreign keys relsynth found (not declared in the database), each with its evidence."""
    fks = [fk for n in plan.order for fk in plan.schema.table(n).foreign_keys if fk.inferred is not None]
    out = [
        ("inferred key", f"{fk.label}: {fk.inferred.evidence}")
        for fk in fks[:MAX_INFERRED_LINES]
        if fk.inferred
    ]
    if len(fks) > MAX_INFERRED_LINES:
        out.append(("inferred key", f"... and {len(fks) - MAX_INFERRED_LINES} more (--columns shows each)"))
    if fks:
        out.append(
            (
                "inferred keys",
                "kept valid, not created as constraints; reject one by deleting it from the schema file "
                "(--format json -o), or use --no-infer-keys",
            )
        )
    return out


def _fk_mark(fk: ForeignKey) -> str:
    if fk.inferred is not None:
        return f" [inferred {fk.inferred.evidence}]"
    return " [virtual]" if fk.virtual else ""


def columns_detail(plan: Plan, table: Table) -> list[RenderableType]:
    """Every column with its SQL type, nullability, default, kind (and why) and PII."""
    from rich.table import Table as RichTable
    from rich.text import Text

    tp = plan[table.name]
    out: list[RenderableType] = [
        Text.assemble((table.name, "bold"), f"  {_rows(table)} rows, {tp.role}: {tp.role_reason}")
    ]
    grid = RichTable(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for name in ("column", "type", "null", "default", "kind", "why", "pii"):
        grid.add_column(name, overflow="fold")
    for c in table.columns:
        extra = []
        if c.identity:
            extra.append(f"identity {c.identity}")
        if c.computed:
            extra.append(f"generated as {c.computed}")
        default = c.default or ""
        if extra:
            default = "; ".join([*([default] if default else []), *extra])
        grid.add_row(
            c.name,
            c.type.native or c.type.name,
            "yes" if c.nullable else "no",
            default,
            c.kind.value,
            c.kind_reason,
            f"{c.pii} ({c.pii_reason})" if c.pii else "",
        )
    out.append(grid)
    facts = Text()
    facts.append(f"  primary key: {_keys(table)}\n")
    for u in table.unique:
        facts.append(f"  unique{' ' + u.name if u.name else ''}: ({', '.join(u.columns)})\n")
    for fk in table.foreign_keys:
        actions = "".join(
            f" ON {what} {act}" for what, act in (("DELETE", fk.on_delete), ("UPDATE", fk.on_update)) if act
        )
        how = []
        if tp.context is fk:
            how.append(f"context parent: {tp.context_reason}")
        elif fk in tp.secondary:
            how.append("secondary: assigned after sampling")
        elif fk in tp.reference_fks:
            how.append("into a reference table: modelled as a category")
        elif fk in tp.self_refs:
            how.append("self-reference: sampled as a forest")
        elif fk in tp.deferred:
            how.append("cuts a cycle: filled after both tables exist")
        elif fk in tp.ignored_fks:
            how.append("parent excluded: its values kept as codes")
        target = f"{fk.ref_table}({', '.join(fk.ref_columns)})"
        facts.append(
            f"  foreign key {fk.name}: ({', '.join(fk.columns)}) -> {target}"
            f"{actions}{' DEFERRABLE' if fk.deferrable else ''}{_fk_mark(fk)}"
            + (f"  [{how[0]}]" if how else "")
            + "\n"
        )
    for ck in table.checks:
        facts.append(f"  check{' ' + ck.name if ck.name else ''}: {ck.sql}\n")
    for exc in table.exclusions:
        facts.append(f"  exclusion {exc.name}: {exc.sql}\n")
    for c in table.columns:
        if c.type.values:
            facts.append(f"  {c.type.name} {c.type.type_name or c.name}: {', '.join(c.type.values)}\n")
    for ix in table.indexes:
        cols = ", ".join(e for e, _ in ix.elements())
        where = f" where {' '.join(ix.where.split())}" if ix.where else ""
        facts.append(f"  {'unique ' if ix.unique else ''}index {ix.name}: ({cols}){where}\n")
    if table.partitioning:
        facts.append(
            f"  partitioned by {table.partitioning.key}: {len(table.partitioning.partitions)} partitions\n"
        )
    out.append(facts)
    return out


def _dot_id(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(plan: Plan) -> str:
    """The FK graph for Graphviz: solid context edges, dashed secondary, dotted cut/reference."""
    lines = [
        "digraph relsynth {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded", fontname="Helvetica"];',
    ]
    for n in plan.order:
        tp = plan[n]
        table = plan.schema.table(n)
        style = {
            "reference": ', style="rounded,filled", fillcolor="#e8e8e8"',
            "empty": ', style="rounded,dashed"',
        }
        # Graphviz reads the two characters backslash-n inside a quoted label as a line break.
        label = _dot_id(n)[:-1] + "\\n" + _rows(table) + ' rows"'
        lines.append(f"  {_dot_id(n)} [label={label}{style.get(tp.role, '')}];")
    for n in plan.order:
        tp = plan[n]
        kinds = [(tp.context, "solid")] if tp.context else []
        kinds += [(fk, "dashed") for fk in tp.secondary]
        kinds += [(fk, "dotted") for fk in (*tp.reference_fks, *tp.deferred, *tp.self_refs)]
        for fk, edge_style in kinds:
            color = ', color="red"' if fk in tp.deferred else ', color="blue"' if fk.inferred else ""
            label = ", ".join(fk.columns) + (" (inferred)" if fk.inferred else "")
            tip = f", tooltip={_dot_id(fk.inferred.evidence)}" if fk.inferred else ""
            lines.append(
                f"  {_dot_id(fk.ref_table)} -> {_dot_id(n)} [label={_dot_id(label)}, "
                f"style={edge_style}{color}{tip}];"
            )
    lines.append("}")
    return "\n".join(lines) + "\n"
