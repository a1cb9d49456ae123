"""The library API: each pipeline stage is one keyword-only function; the CLI calls these.

    schema = relsynth.reflect("postgresql+psycopg://postgres@127.0.0.1/chinook")
    model = relsynth.fit("postgresql+psycopg://postgres@127.0.0.1/chinook", seed=7)
    tables = relsynth.sample(model, scale=2.0)            # {name: DataFrame}

fit() also takes DataFrames ({name: frame} plus a Schema), so the engine runs without a database.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relsynth.errors import RelsynthError

if TYPE_CHECKING:
    import pandas as pd
    import sqlalchemy as sa

    from relsynth.guard import Identity, Target
    from relsynth.model.sample import SampleReport
    from relsynth.model.spec import Model
    from relsynth.schema import Schema, Table
    from relsynth.sdv_engine import SdvModel

log = logging.getLogger("relsynth")
Progress = Callable[[str, int, int], None]
# Rows of the largest family of tables sampled and written at once (model/batches.py): about 1 GB.
BATCH_ROWS = 500_000
# A source of more rows is learned from a seeded sample of its root rows with their descendants:
# fit's peak memory is about 2.5 KB per row read (TPC-H: 750,000 rows 1.85 GB, 1,000,000 2.35 GB).
FIT_ROWS = 600_000
MIN_SAMPLE_ROOTS = 1000  # root rows per root table a sample keeps at the least


def fit(
    source: str | sa.URL | Mapping[str, pd.DataFrame],
    *,
    schema: Schema | str | Path | None = None,
    db_schema: str | Sequence[str] | None = None,
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    seed: int = 0,
    sample_rows: int | None = None,
    holdout: float = 0.0,
    engine: str = "relsynth",
    infer_keys: bool = True,
    rare_k: int = 5,
    progress: Progress | None = None,
    fit_rows: int | None = FIT_ROWS,
) -> Model:
    """Learn a model of a whole database (a URL) or of DataFrames (with ``schema``).

    ``engine="sdv"`` fits SDV's HMASynthesizer instead (the reference engine, for schemas within
    its limits) and returns an ``SdvModel``.

    ``schema`` may be a Schema, or a path to a schema JSON file (`relsynth inspect -o`) whose
    edits (excluded tables, kinds, PII, virtual FKs) are used instead of what reflection guesses.
    ``sample_rows`` learns from N root rows per root table plus their descendants; without it, a
    database of more than ``fit_rows`` rows (None: no limit) is learned from as many root rows as
    make about that many rows, so memory is bounded by ``fit_rows``, not the database. ``holdout``
    withholds a seeded share of root entities (and descendants) for the privacy evaluation.
    ``infer_keys=False`` does not look for foreign keys the database does not declare.
    ``rare_k``: categories seen in fewer rows (or, in a child table, parents) are never emitted.
    """
    from relsynth.graph import plan as make_plan
    from relsynth.model.fit import fit_tables
    from relsynth.schema import Schema as SchemaCls

    _check_fit_options(engine, holdout, sample_rows, seed, rare_k)
    if isinstance(schema, str | Path):
        schema = (
            SchemaCls.load(schema)
            if isinstance(source, Mapping)
            else load_schema_file(schema, source, db_schema)
        )
    if isinstance(source, Mapping):
        if schema is None:
            from relsynth.frames import schema_from_frames

            schema = schema_from_frames(source)
        frames = {name: frame.reset_index(drop=True) for name, frame in source.items()}
        unknown = set(frames) - set(schema.table_names)
        if unknown:
            schema.table(sorted(unknown)[0])  # raises with a suggestion
        plan = make_plan(schema)
        if holdout:
            from relsynth.read import ReadResult, withhold

            result = ReadResult(frames=dict(frames))
            withhold(result, schema, plan, holdout, seed)
            frames = result.frames
        if engine == "sdv":
            return _fit_sdv(schema, plan, frames, seed)
        model = fit_tables(
            schema, frames, plan=plan, seed=seed, progress=progress, rare_k=rare_k, guard=not holdout
        )
        if holdout:  # guarded by every source row, the held-out ones too
            from relsynth.model import guards

            guards.attach(model, {name: frame.reset_index(drop=True) for name, frame in source.items()})
        model.source = {
            "kind": "frames",
            "rare_k": rare_k,
            "holdout": {"fraction": holdout, "seed": seed, "rows": result.holdout_rows} if holdout else None,
        }
        return model
    return _fit_database(
        source,
        schema=schema,
        db_schema=db_schema,
        include=include,
        exclude=exclude,
        seed=seed,
        sample_rows=sample_rows,
        holdout=holdout,
        engine=engine,
        infer_keys=infer_keys,
        rare_k=rare_k,
        progress=progress,
        fit_rows=fit_rows,
    )


MAX_SCALE = 1e6


def _check_scale(scale: float) -> None:
    import math

    if not (math.isfinite(scale) and scale > 0):
        raise RelsynthError(f"--scale must be a positive number, got {scale}")
    if scale > MAX_SCALE:
        raise RelsynthError(f"--scale {scale:g} is more than relsynth samples ({MAX_SCALE:g}x at most)")


def _check_seed(seed: int | None) -> None:
    if seed is not None and not 0 <= seed < 2**63:
        raise RelsynthError(f"--seed must be a whole number from 0 to 2^63 - 1, got {seed}")


def _check_fit_options(
    engine: str, holdout: float, sample_rows: int | None, seed: int = 0, rare_k: int = 5
) -> None:
    _check_seed(seed)
    if not 1 <= rare_k <= 1_000_000:
        raise RelsynthError(
            f"--rare-k must be a number of rows, 1 (keep every category) or more, got {rare_k}"
        )
    if engine not in {"relsynth", "sdv"}:
        raise RelsynthError(f"Unknown engine '{engine}': use relsynth or sdv")
    if not 0.0 <= holdout < 1.0:
        raise RelsynthError(f"--holdout must be a fraction in [0, 1), got {holdout}")
    if sample_rows is not None and sample_rows < 1:
        raise RelsynthError(f"--sample-rows must be a positive number of rows, got {sample_rows}")


class _Hooks:
    """synthesize's checks of the target, run inside fit: once the source is identified (before
    reflecting it), and once the plan is known (before reading any data)."""

    def connected(self, source: Identity) -> None: ...

    def planned(self, schema: Schema, plan: Any) -> None: ...


def _fit_sdv(schema: Schema, plan: Any, frames: Mapping[str, pd.DataFrame], seed: int) -> Any:
    from relsynth import sdv_engine

    synth = sdv_engine.fit(schema, plan, dict(frames), seed=seed)
    return sdv_engine.SdvModel(schema, plan, synth, seed)


def _fit_database(
    url: str | sa.URL,
    *,
    schema: Schema | None,
    db_schema: str | Sequence[str] | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    seed: int,
    sample_rows: int | None,
    holdout: float,
    engine: str,
    progress: Progress | None,
    hooks: _Hooks | None = None,
    infer_keys: bool = True,
    rare_k: int = 5,
    fit_rows: int | None = FIT_ROWS,
) -> Model:
    from dataclasses import replace

    from relsynth import dialects
    from relsynth.graph import plan as make_plan
    from relsynth.guard import identity
    from relsynth.io import connect, redact
    from relsynth.model.fit import fit_tables
    from relsynth.read import SourceHolders, read_tables
    from relsynth.reflection import reflect_connection, select_tables

    with connect(url, read_only=True) as conn, _read_while_unchanged(url):
        source_identity = identity(conn, _wanted_schemas(db_schema, schema))
        places = source_identity.places()
        names = [d for d, _ in places] if source_identity.kind == "mysql" else [s for _, s in places]
        reached = dialects.referenced_places(conn, names)
        if reached:
            source_identity = replace(source_identity, beside=tuple(sorted(reached)))
        named = dialects.code_places(conn, names)
        if named:
            source_identity = replace(source_identity, named=tuple(named))
        if hooks:
            hooks.connected(source_identity)
        live = reflect_connection(
            conn,
            schema=_wanted_schemas(db_schema, schema),
            include=include,
            exclude=exclude,
            profile=schema is None,
            infer_keys=infer_keys and schema is None,  # a schema file's FKs are taken as they are
            progress=progress,
        )
        if schema is None:
            schema = live
        else:
            if include or exclude:  # first: the live tables are those --include/--exclude chose
                keep = set(select_tables(schema.table_names, include, exclude))
                schema = replace(
                    schema,
                    tables=tuple(t if t.name in keep else replace(t, exclude=True) for t in schema.tables),
                )
            _check_matches(schema, live)
            _check_virtual_keys(conn, schema)
        plan = make_plan(schema)
        if engine == "sdv":
            from relsynth import sdv_engine

            hit = sdv_engine.limits(schema, plan)
            if hit:  # say it before reading any data
                raise RelsynthError(
                    "SDV's HMASynthesizer cannot model this schema: "
                    + "; ".join(hit)
                    + ". Use relsynth's own engine (the default), which has none of these limits"
                )
        if hooks:
            hooks.planned(schema, plan)
        if sample_rows is None and fit_rows:
            sample_rows = _rows_within(schema, plan, fit_rows)
        result = read_tables(
            conn, schema, plan, sample_rows=sample_rows, holdout=holdout, seed=seed, progress=progress
        )
        if engine == "sdv":
            return _fit_sdv(schema, plan, result.frames, seed)
        model = fit_tables(
            schema,
            result.frames,
            plan=plan,
            seed=seed,
            progress=progress,
            rare_k=rare_k,
            guard=not sample_rows and not holdout,
            ref_counts=result.ref_counts,
            # Rare codes decided on the source's counts, not the sample's (never the held-out rows')
            source_counts=SourceHolders(conn, schema) if sample_rows and holdout <= 0 else None,
        )
        # Guarded by every row of the source, not only the sample's nor only the training rows: a
        # held-out patient's phone or name is a real person's (and `sample --source` guards so).
        if sample_rows or holdout:
            from relsynth.model import guards
            from relsynth.read import smallest_keys, stream_rows

            if sample_rows:
                counted = [
                    n for n, tm in model.tables.items() if tm.role == "data" and tm.key.kind == "integer"
                ]
                for name, low in smallest_keys(conn, model.schema, counted).items():
                    model.tables[name].key.start = min(model.tables[name].key.start, low)

            result.frames.clear()
            # In the same transaction, so in the snapshot the sample was read from: a row deleted
            # from a live source while the model learned is guarded all the same.
            chunks = stream_rows(conn, schema, plan, progress, columns=guards.guarded_columns(model))
            guards.attach_chunks(model, chunks)
    model.source = {
        "kind": "database",
        "rare_k": rare_k,
        "url": redact(url),
        "identity": source_identity.to_dict(),
        "schema": schema.schema,
        "schemas": list(schema.schemas),
        "rows_read": result.rows_read,
        "sample_rows": sample_rows,
        "source_rows": result.source_rows,
        "holdout": {"fraction": holdout, "seed": seed, "rows": result.holdout_rows} if holdout else None,
    }
    if sample_rows:
        read, whole = sum(result.rows_read.values()), sum(schema.table(n).row_count for n in result.rows_read)
        log.info(
            "learned from a sample: %s of about %s rows (%s root rows per root table, with their "
            "descendants; --fit-rows sets the size, 0 learns from every row)",
            f"{read:,}",
            f"{whole:,}",
            f"{sample_rows:,}",
        )
    return model


@contextmanager
def _read_while_unchanged(url: str | sa.URL) -> Iterator[None]:
    """A column or table that another session drops or renames while the source is read is said
    in one line (it was an internal error, on PostgreSQL and MariaDB alike)."""
    import sqlalchemy as sa

    from relsynth.io import schema_changed

    try:
        yield
    except sa.exc.DBAPIError as err:
        changed = schema_changed(err, url)
        if changed is None:
            raise
        raise changed from None


def _rows_within(schema: Schema, plan: Any, budget: int) -> int | None:
    """Root rows per root table that make about ``budget`` rows with their descendants (by the
    catalog's row counts), or None when the whole database is within it."""
    rows = {n: schema.table(n).row_count for n in plan.order if plan[n].role == "data"}
    if sum(rows.values()) <= budget:
        return None
    family: dict[str, str] = {}  # table -> its root along context parents
    for name in plan.order:
        context = plan[name].context
        if name in rows:
            family[name] = family.get(context.ref_table, name) if context is not None else name
    roots = {r: max(rows.get(r, 0), 1) for r in set(family.values())}
    per_root = {r: sum(rows[n] for n, f in family.items() if f == r) / roots[r] for r in roots}

    def total(n: int) -> float:
        return sum(min(n, roots[r]) * per_root[r] for r in roots)

    lo, hi = 1, max(roots.values())
    while lo < hi:  # the largest n whose sample is within the budget
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if total(mid) <= budget else (lo, mid - 1)
    # A table of a few thousand rows is learned whole, whatever the budget: two products would
    # teach nothing of a hundred.
    return max(lo, MIN_SAMPLE_ROOTS)


def load_schema_file(
    path: str | Path, source: str | sa.URL, db_schema: str | Sequence[str] | None = None
) -> Schema:
    """A schema file for the database at ``source``. A file that fails its own checks is compared
    with the database first: a table renamed in the file is named as such, rather than the foreign
    keys that still point to its old name. A valid file is compared later, by the reflection that
    reads the database anyway (``_fit_database``) or by ``check_schema_file``."""
    from relsynth.errors import SchemaError
    from relsynth.schema import Schema as SchemaCls

    try:
        return SchemaCls.load(path)
    except SchemaError as err:
        try:
            parsed = SchemaCls.from_json(Path(path).read_text(encoding="utf-8"))
        except (SchemaError, OSError, UnicodeDecodeError):
            raise err from None  # it does not even parse: that is the problem to name
        try:
            live = _live(source, db_schema, parsed)
        except Exception:  # the database cannot tell (unreachable, say): the file's own problem
            raise err from None
        _check_matches(parsed, live)
        raise


def check_schema_file(
    source: str | sa.URL, schema: Schema, db_schema: str | Sequence[str] | None = None
) -> None:
    """``inspect --schema-file``: the file must describe the database, as fit and synthesize require
    (the same check, on the database's catalog only: no rows are read)."""
    _check_matches(schema, _live(source, db_schema, schema))


def _live(source: str | sa.URL, db_schema: str | Sequence[str] | None, schema: Schema) -> Schema:
    """The database's tables and columns, as a schema file is compared with them: no rows read."""
    from relsynth.reflection import reflect as _reflect

    return _reflect(source, schema=_wanted_schemas(db_schema, schema), profile=False, infer_keys=False)


def _check_matches(schema: Schema, live: Schema) -> None:
    """A schema file must describe the database it is used with: same tables and columns."""
    from relsynth.errors import SchemaError, did_you_mean

    for table in schema.active_tables:
        if table.name not in live.table_names:
            raise SchemaError(
                f"Table '{table.name}' of the schema file is not in the database."
                + did_you_mean(table.name, live.table_names)
                + ' Remove it from the file or set "exclude": true'
            )
        have = set(live.table(table.name).column_names)
        for col in table.columns:
            if col.name not in have and not col.computed:
                raise SchemaError(
                    f"Column '{table.name}.{col.name}' of the schema file is not in the database."
                    + did_you_mean(col.name, have)
                )
    active = {t.name for t in schema.active_tables}
    for table in schema.active_tables:
        for fk in table.foreign_keys:
            if not fk.virtual or fk.ref_table not in active or fk.ref_table not in live.table_names:
                continue
            mine, theirs = live.table(table.name), live.table(fk.ref_table)
            for c, r in zip(fk.columns, fk.ref_columns, strict=True):
                if c not in mine.column_names or r not in theirs.column_names:
                    continue  # a computed column of the file, or one the file's own checks name
                a, b = mine.column(c).type, theirs.column(r).type
                if _type_family(a.name) != _type_family(b.name):
                    raise SchemaError(
                        f"Virtual foreign key '{fk.name}' of table '{table.name}': column "
                        f"{table.name}.{c} ({a.native or a.name}) cannot reference {fk.ref_table}.{r} "
                        f"({b.native or b.name}): the types differ, so no value of one is a value of "
                        "the other. Fix the schema file (the columns, their order or the table) or "
                        "remove the key"
                    )


# What the engine compares a key's values as (model/relations.py comparable): numbers as numbers,
# dates and times as seconds, the rest as text. A key and its parent's must be of one family.
_TEXT_TYPES = frozenset({"string", "char", "text", "enum", "set", "uuid"})
_TIME_TYPES = frozenset({"date", "datetime"})


def _type_family(name: str) -> str:
    from relsynth.sqltypes import NUMBER_TYPES

    for family, names in (("number", NUMBER_TYPES), ("text", _TEXT_TYPES), ("time", _TIME_TYPES)):
        if name in names:
            return family
    return name


def _check_virtual_keys(conn: Any, schema: Schema) -> None:
    """Each virtual foreign key of a schema file (the database does not enforce it) is checked on
    the data, one read-only statement each: a key no row satisfies is a mistake in the file
    (columns swapped, the wrong table) and refused; rows that point to no parent row are orphans,
    learned as a declared key's are (rows under no parent), and said."""
    import sqlalchemy as sa

    from relsynth.errors import SchemaError
    from relsynth.reflection import sa_table

    active = {t.name for t in schema.active_tables}
    for table in schema.active_tables:
        for fk in table.foreign_keys:
            if not fk.virtual or fk.ref_table not in active:
                continue
            c = sa_table(table, schema.schema).alias("c")
            p = sa_table(schema.table(fk.ref_table), schema.schema).alias("p")
            pairs = list(zip(fk.columns, fk.ref_columns, strict=True))
            found = sa.exists().where(*(p.c[r] == c.c[k] for k, r in pairs))
            query = sa.select(sa.func.count(), sa.func.sum(sa.case((found, 0), else_=1))).where(
                *(c.c[k].isnot(None) for k in fk.columns)
            )
            what = f"({', '.join(fk.columns)})"
            parent = f"'{fk.ref_table}' ({', '.join(fk.ref_columns)})"
            try:
                with conn.begin_nested():  # a failed comparison must not end the read-only transaction
                    rows, orphans = conn.execute(query).one()
            except sa.exc.DBAPIError as err:
                log.debug("virtual key %s not checked: %s", fk.name, type(err.orig).__name__)
                raise SchemaError(
                    f"Virtual foreign key '{fk.name}' of table '{table.name}': the database cannot "
                    f"compare {what} with {parent}: the types differ. Fix the schema file (the "
                    "columns, their order or the table) or remove the key"
                ) from None
            rows, orphans = int(rows or 0), int(orphans or 0)
            if rows and orphans == rows:
                raise SchemaError(
                    f"Virtual foreign key '{fk.name}' of table '{table.name}': none of its {rows:,} "
                    f"rows with a value in {what} points to a row of {parent}. Fix the schema file "
                    "(the columns, their order or the table) or remove the key"
                )
            if orphans:
                log.info(
                    "virtual foreign key %s of table %s: %s of %s rows point to no row of %s; they "
                    "are learned as %s, each value a person of its own",
                    fk.name,
                    table.name,
                    f"{orphans:,}",
                    f"{rows:,}",
                    fk.ref_table,
                    "rows of a parent deleted since (drawn under a synthetic parent)"
                    if fk.inferred is not None
                    else "rows under no parent, as orphans of a declared key are",
                )


def sample(
    model: Model | SdvModel | str | Path,
    *,
    scale: float = 1.0,
    rows: Mapping[str, int] | None = None,
    seed: int | None = None,
    source: str | sa.URL | Mapping[str, pd.DataFrame] | None = None,
    progress: Progress | None = None,
    report: SampleReport | None = None,
    batch_rows: int | None = BATCH_ROWS,
) -> dict[str, pd.DataFrame]:
    """Synthetic tables from a model (or a model file): {table name: DataFrame}.

    ``scale`` multiplies root tables' rows; children follow their parents' sampled child counts,
    so per-parent distributions are kept at any scale. ``rows`` fixes some tables' row counts.
    Reference tables are copied and never scaled. A model just fitted keeps the source's rows
    off the output in memory; a model loaded from a file holds nothing of the source, so give
    ``source`` (the database it was fitted on, read-only, or its frames) for the same guarantee.
    ``batch_rows``: sampled in the batches synthesize writes (``sample_batches``), so the same
    seed gives the same tables; they are returned whole.
    """
    from relsynth.model.batches import concat
    from relsynth.model.spec import Model as ModelCls

    _check_scale(scale)
    _check_seed(seed)
    if isinstance(model, str | Path):
        model = ModelCls.load(model)
    if model.engine == "sdv":
        from relsynth import sdv_engine

        assert isinstance(model, sdv_engine.SdvModel), "only fit(engine='sdv') makes SDV models"
        return sdv_engine.sample(model.synth, scale=scale, seed=model.seed if seed is None else seed)
    assert isinstance(model, ModelCls)
    batches = sample_batches(
        model,
        scale=scale,
        rows=rows,
        seed=seed,
        source=source,
        progress=progress,
        report=report,
        batch_rows=batch_rows,
    )
    return concat(batches, model.plan.order)


def sample_batches(
    model: Model | str | Path,
    *,
    scale: float = 1.0,
    rows: Mapping[str, int] | None = None,
    seed: int | None = None,
    source: str | sa.URL | Mapping[str, pd.DataFrame] | None = None,
    progress: Progress | None = None,
    report: SampleReport | None = None,
    batch_rows: int | None = BATCH_ROWS,
    workers: int = 1,
    cluster: Any = None,
) -> Iterator[dict[str, pd.DataFrame]]:
    """``sample``, a batch at a time ({table: rows}, every table's rows split over the batches):
    the largest family of tables about ``batch_rows`` rows per batch (model/batches.py), so
    memory does not grow with ``scale``. What synthesize writes; ``write(first, more=rest)``.
    ``workers``: processes sampling the batches at once (relsynth/ahead.py), the same batches;
    ``cluster``: a Dask client sampling them (relsynth/cluster.py), the same batches again."""
    from relsynth.model import batches
    from relsynth.model.spec import Model as ModelCls

    _check_scale(scale)
    _check_seed(seed)
    if isinstance(model, str | Path):
        model = ModelCls.load(model)
    if model.engine == "sdv":
        raise RelsynthError("an SDV model is sampled whole: use sample()")
    if source is not None and not model.guarded:
        _guard_from(model, source, progress)
    return batches.sample_batches(
        model,
        scale=scale,
        rows=dict(rows or {}),
        seed=seed,
        batch_rows=batch_rows,
        progress=progress,
        report=report,
        workers=workers,
        cluster=cluster,
    )


def _guard_from(
    model: Model, source: str | sa.URL | Mapping[str, pd.DataFrame], progress: Progress | None
) -> None:
    """Rebuild the in-memory guards of a loaded model from its source, which must be the same
    database (by what its server says, as for the target guard)."""
    from relsynth.model import guards

    if isinstance(source, Mapping):
        guards.attach(model, {n: f.reset_index(drop=True) for n, f in source.items()})
        return
    from relsynth.guard import Identity, identity
    from relsynth.io import connect, redact

    with connect(source, read_only=True) as conn:
        fitted_on = Identity.from_dict(model.source.get("identity"))
        found = identity(conn, model.schema.schemas or model.schema.schema)
        if not found.same_as(fitted_on):
            raise RelsynthError(
                f"{redact(source)} is not the database this model was fitted on: give --source the "
                f"database fit read ({model.source.get('url') or 'recorded in the model file'}), "
                "or leave --source out"
            )
        from relsynth.read import stream_rows

        columns = guards.guarded_columns(model)
        guards.attach_chunks(model, stream_rows(conn, model.schema, model.plan, progress, columns=columns))


def write_files(
    tables: Mapping[str, pd.DataFrame],
    directory: str | Path,
    *,
    fmt: str = "parquet",
    schema: Schema | None = None,
) -> list[Path]:
    """One file per table (parquet or csv) in ``directory``, each written whole or not at all.

    With ``schema``, generated columns (``GENERATED ALWAYS AS``) are left out: the database
    computes them when the files are loaded (a load naming them fails), and a value drawn for
    one need not equal its expression (a total learned beside its price and quantity)."""
    from relsynth.io import atomic_path
    from relsynth.sqltypes import nan_valued

    if fmt not in {"csv", "parquet"}:
        raise RelsynthError(f"Unknown format '{fmt}': use parquet or csv")
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in tables.items():
        nan_cols: list[str] = []
        if schema is not None and name in schema.table_names:
            frame = frame.drop(columns=generated_columns(schema, name, frame))
            table = schema.table(name)
            nan_cols = [c.name for c in table.columns if c.name in frame and nan_valued(c)]
            if fmt == "csv":
                frame = _csv_ready(frame, table, nan_cols)
        path = out_dir / f"{name}.{fmt}"
        with atomic_path(path) as tmp:
            if fmt == "csv":
                _write_csv(frame, tmp)
            else:
                floats = [c for c in nan_cols if schema is not None and _is_float(schema, name, c)]
                _write_parquet(_parquet_ready(frame), tmp, floats)
        paths.append(path)
    return paths


def _is_float(schema: Schema, table: str, column: str) -> bool:
    from relsynth.sqltypes import FLOAT_TYPES

    return schema.table(table).column(column).type.name in FLOAT_TYPES


def _csv_ready(frame: pd.DataFrame, table: Table, nan_valued: list[str]) -> pd.DataFrame:
    """Files that load back into the schema: a NOT NULL float's NaN as NaN (an empty field is a
    NULL, which the column refuses), booleans as 1 and 0 (MariaDB's LOAD DATA read True as 0;
    PostgreSQL's COPY reads both)."""
    import pandas as pd

    out = frame.copy()
    for col in nan_valued:
        out[col] = out[col].astype(object).where(out[col].notna(), "NaN")
    for column in table.columns:
        if column.name in out and column.type.name == "boolean":
            flags = [None if pd.isna(v) else int(bool(v)) for v in out[column.name]]
            out[column.name] = pd.array(flags, dtype="Int64")  # 1, 0 and empty, never 1.0
    return out


_EMPTY = "\ue000"  # a private-use character: stands for an empty string until it is quoted
CSV_ROWS = 100_000  # rows written at a time


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """csv in which an empty string is a quoted empty field ("") and a NULL an empty one, as
    PostgreSQL's COPY reads them: both were empty, so the empty strings came back as NULL and a
    NOT NULL text column refused the file."""
    text = [c for c in frame.columns if frame[c].dtype == object]
    mark = not any(frame[c].astype(str).str.contains(_EMPTY, regex=False).any() for c in text)
    with open(path, "w", encoding="utf-8", newline="") as out:
        for start in range(0, max(len(frame), 1), CSV_ROWS):
            chunk = frame.iloc[start : start + CSV_ROWS]
            if mark and text:
                chunk = chunk.copy()
                for c in text:
                    chunk[c] = chunk[c].map(lambda v: _EMPTY if isinstance(v, str) and v == "" else v)
            written = chunk.to_csv(index=False, header=start == 0)
            out.write(written.replace(_EMPTY, '""') if mark else written)


def _write_parquet(frame: pd.DataFrame, path: Path, nan_valued: list[str]) -> None:
    """Parquet keeps a NOT NULL float's NaN as NaN: pandas' conversion reads every NaN as null."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    for col in nan_valued:
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        i = arrow.schema.get_field_index(col)
        arrow = arrow.set_column(i, col, pa.array(values, type=pa.float64(), from_pandas=False))
    pq.write_table(arrow, path)


def generated_columns(schema: Schema, name: str, frame: pd.DataFrame) -> list[str]:
    """The generated columns of table ``name`` that ``frame`` holds (write_files leaves them out)."""
    return [c.name for c in schema.table(name).columns if c.computed and c.name in frame]


def _parquet_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Parquet needs one type per column: lists/dicts (json, arrays) become JSON text, and
    integers past 64 bits decimals."""
    import json
    from decimal import Decimal

    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            sample = out[col].dropna().head(50)
            if any(isinstance(v, dict | list) for v in sample):
                out[col] = out[col].map(lambda v: None if v is None else json.dumps(v, default=str))
            elif any(isinstance(v, int) and not -(2**63) <= v < 2**63 for v in out[col].dropna()):
                # A NUMERIC(38,0) key past 64 bits: a decimal, which parquet holds (an internal error)
                out[col] = out[col].map(lambda v: None if v is None else Decimal(int(v)))
    return out


def write(
    tables: Mapping[str, pd.DataFrame],
    schema: Schema,
    target: str | sa.URL,
    *,
    more: Iterator[dict[str, pd.DataFrame]] | None = None,
    replace: bool = False,
    into_existing: bool = False,
    schema_only: bool = False,
    target_schema: str | None = None,
    progress: Progress | None = None,
    source: Identity | None = None,
    non_finite: Mapping[tuple[str, str], Iterable[str]] | None = None,
) -> Any:
    """Create the schema in ``target``, bulk-load ``tables``, verify, commit (or leave nothing).

    ``source``: the database the data came from (``Identity.from_dict(model.source["identity"])``),
    which the target is then checked not to be. ``more``: later batches of the same tables
    (``sample_batches``), loaded in the same transaction; with them, pass ``model.non_finite()``
    as ``non_finite`` (NOT NULL float columns a later batch may hold NaN in).
    """
    from relsynth.writer import write as _write

    return _write(
        dict(tables),
        schema,
        target,
        replace=replace,
        into_existing=into_existing,
        schema_only=schema_only,
        target_schema=target_schema,
        progress=progress,
        source=source,
        more=more,
        non_finite=non_finite,
    )


def synthesize(
    source: str | sa.URL,
    target: str | sa.URL,
    *,
    scale: float = 1.0,
    seed: int = 0,
    schema: Schema | str | Path | None = None,
    db_schema: str | Sequence[str] | None = None,
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    sample_rows: int | None = None,
    holdout: float = 0.0,
    replace: bool = False,
    into_existing: bool = False,
    schema_only: bool = False,
    target_schema: str | None = None,
    infer_keys: bool = True,
    rare_k: int = 5,
    progress: Progress | None = None,
    batch_rows: int | None = BATCH_ROWS,
    fit_rows: int | None = FIT_ROWS,
    workers: int = 1,
    cluster: Any = None,
) -> dict[str, Any]:
    """reflect -> fit -> sample -> write in one go; returns the model, tables, and write summary.

    ``workers``: the largest family's batches are sampled in that many processes while the parent
    loads them (relsynth/ahead.py), where batches need nothing of each other; else one process
    samples them ahead of the load. The same database whatever the number. ``cluster``: a Dask
    ``Client``, or a scheduler's address (tcp://HOST:8786), that samples those batches instead
    (relsynth/cluster.py; ``pip install 'relsynth[dask]'``): the same database again.

    ``fit_rows``: a larger source is learned from a sample of that many rows (see ``fit``).
    ``batch_rows``: the largest family of tables is sampled and written about this many rows at a
    time (model/batches.py), so memory does not grow with ``scale``; the tables returned are then
    only the first batch's. None samples everything at once.

    Everything that can go wrong without the data is found before the source's data is read: the
    options, the target (reachable, not the source, not locked by another run, empty or --replace
    without dependents, its schema present), the tables to write.
    """
    import time
    from contextlib import ExitStack

    from relsynth.io import parse_url

    _check_scale(scale)
    _check_fit_options("relsynth", holdout, sample_rows, seed, rare_k)
    if isinstance(schema, str | Path):
        schema = load_schema_file(schema, source, db_schema)
    from relsynth.writer import target_schema_for

    given = _wanted_schemas(db_schema, schema)
    several = () if given is None or isinstance(given, str) else tuple(given)
    from relsynth.guard import refuse_target_schema

    refuse_target_schema(target, target_schema)  # before any database is reached
    target_schema = target_schema_for(
        parse_url(source).get_backend_name(),
        given if isinstance(given, str) else None,
        parse_url(target),
        target_schema,
    )
    timings: dict[str, float] = {}
    with ExitStack() as stack:
        if cluster is not None:  # reached before anything is read or written
            from relsynth.cluster import client_for

            cluster = stack.enter_context(client_for(cluster))
        checks = _TargetChecks(stack, target, target_schema, replace, into_existing, several)
        t0 = time.perf_counter()
        model = _fit_database(
            source,
            schema=schema,
            db_schema=db_schema,
            include=include,
            exclude=exclude,
            seed=seed,
            sample_rows=sample_rows,
            holdout=holdout,
            engine="relsynth",
            progress=progress,
            hooks=checks,
            infer_keys=infer_keys,
            rare_k=rare_k,
            fit_rows=fit_rows,
        )
        timings["fit"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        from relsynth.model.sample import SampleReport

        report = SampleReport()

        sampled: Iterator[dict[str, pd.DataFrame]] = (
            iter([{}])
            if schema_only
            else sample_batches(
                model,
                scale=scale,
                seed=seed,
                batch_rows=batch_rows,
                progress=progress,
                report=report,
                workers=workers,
                cluster=cluster,
            )
        )
        batches = _timed(sampled, timings)
        tables = next(batches)
        first = timings["sample"]
        t0 = time.perf_counter()
        from relsynth.writer import write as _write

        summary = _write(
            tables,
            model.schema,
            target,
            plan=model.plan,
            replace=replace,
            into_existing=into_existing,
            schema_only=schema_only,
            target_schema=target_schema,
            progress=progress,
            guard=checks.target,
            more=batches,
            non_finite=model.non_finite(),
        )
        timings["write"] = time.perf_counter() - t0 - (timings["sample"] - first)
    return {
        "model": model,
        "tables": tables,
        "write": summary,
        "seconds": timings,
        "report": report,
        "target_schema": target_schema,
    }


def _timed(
    batches: Iterator[dict[str, pd.DataFrame]], timings: dict[str, float]
) -> Iterator[dict[str, pd.DataFrame]]:
    """The batches, the seconds spent sampling them added up in timings['sample'] (the writer
    asks for each batch while it loads: the two stages interleave)."""
    import time

    timings["sample"] = 0.0
    while True:
        t0 = time.perf_counter()
        try:
            got = next(batches)
        except StopIteration:
            return
        finally:
            timings["sample"] += time.perf_counter() - t0
        yield got


class _TargetChecks(_Hooks):
    """Opens and locks the target as soon as the source is identified; checks the tables once known."""

    def __init__(
        self,
        stack: Any,
        url: str | sa.URL,
        target_schema: str | None,
        replace: bool,
        into_existing: bool,
        schemas: tuple[str, ...] = (),
    ) -> None:
        self.stack, self.url, self.target_schema = stack, url, target_schema
        self.replace, self.into_existing, self.schemas = replace, into_existing, schemas
        self.target: Target | None = None

    def connected(self, source: Identity) -> None:
        from relsynth.guard import Target

        self.target = self.stack.enter_context(
            Target(self.url, target_schema=self.target_schema, source=source, schemas=self.schemas)
        )
        self.target.check(None, [], replace=self.replace, into_existing=self.into_existing)

    def planned(self, schema: Schema, plan: Any) -> None:
        assert self.target is not None
        active = {t.name for t in schema.active_tables}
        names = [n for n in plan.order if n in active]
        self.target.check(schema, names, replace=self.replace, into_existing=self.into_existing)


def evaluate(
    source: str | sa.URL | Mapping[str, pd.DataFrame],
    synthetic: str | sa.URL | Mapping[str, pd.DataFrame],
    *,
    schema: Schema | str | Path | None = None,
    model: Model | str | Path | None = None,
    db_schema: str | Sequence[str] | None = None,
    synthetic_schema: str | None = None,
    target: str | None = None,
    sdmetrics: bool = False,
    shareable: bool = False,
    sample_rows: int | None = 5000,
    seed: int = 0,
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    holdout: Mapping[str, Any] | None = None,
    infer_keys: bool = True,
    progress: Progress | None = None,
    rare_k: int | None = None,
) -> dict[str, Any]:
    """Fidelity, detectability, utility, integrity and privacy of ``synthetic`` against ``source``.

    Either side is a URL or {table: DataFrame}. Databases are read on a sample of ``sample_rows``
    root rows per root table with their descendants (None: everything); integrity of a synthetic
    database is checked with SQL over all its rows. ``model`` (or a model file) supplies the
    holdout the model was fitted without, the baseline of the privacy comparison (``holdout``
    gives it directly: synthesize passes its own); a relsynth model fitted with a holdout is
    also attacked as its file's holder would (relsynth.evaluation.membership). Without a model
    or schema, the source is reflected and profiled afresh, as fit does before learning: the
    numbers do not depend on the model's internal choices, so ``relsynth evaluate`` reproduces
    what synthesize printed. sdmetrics' QualityReport always runs beside relsynth's own scores
    (same rows, same columns); ``sdmetrics`` adds its DiagnosticReport. ``rare_k``: synthetic
    values fewer people hold in the source are flagged (the model's --rare-k when ``model`` is
    given and ``rare_k`` is not; else 5).
    """
    from dataclasses import replace

    from relsynth.evaluation import membership
    from relsynth.evaluation.integrity import check_integrity
    from relsynth.evaluation.run import evaluate_frames
    from relsynth.graph import plan as make_plan
    from relsynth.io import connect, redact
    from relsynth.model.rare import RARE_K
    from relsynth.model.spec import Model as ModelCls
    from relsynth.read import read_tables
    from relsynth.reflection import reflect_connection, select_tables
    from relsynth.schema import Schema as SchemaCls

    attacked: membership.FileSample | None = None  # what the model file's holder draws, or why not
    whole_source: Callable[[str, list[str]], Iterator[pd.DataFrame]] | None = None
    source_counts: _SourceCounts | None = None
    if isinstance(model, str | Path):
        from relsynth.errors import ModelError
        from relsynth.sdv_engine import is_sdv_file

        if not Path(model).is_file():
            raise ModelError(f"Model file {model} does not exist; check the path given to --model")
        model = None if is_sdv_file(str(model)) else ModelCls.load(model)
        if model is None:
            log.warning("--model is an SDV model file: it has no holdout, so privacy is compared without one")
            attacked = membership.FileSample(reason=membership.SDV_MODEL)
    if isinstance(schema, str | Path):
        schema = SchemaCls.load(schema)
    if schema is None and model is not None:
        schema = model.schema
    if model is not None:
        holdout = model.source.get("holdout") or None
        rare_k = rare_k or model.source.get("rare_k")
    labels = {"source": "source (in memory)", "synthetic": "synthetic (in memory)"}
    if isinstance(source, Mapping):
        real = {n: f.reset_index(drop=True) for n, f in source.items()}
        if schema is None:
            from relsynth.frames import schema_from_frames

            schema = schema_from_frames(real)
        plan = make_plan(schema)
    else:
        labels["source"] = redact(source)
        with connect(source, read_only=True) as conn:
            if schema is None:
                schema = reflect_connection(
                    conn,
                    schema=db_schema,
                    include=include,
                    exclude=exclude,
                    infer_keys=infer_keys,
                    progress=progress,
                )
            plan = make_plan(schema)
            read = read_tables(conn, schema, plan, sample_rows=sample_rows, seed=seed, progress=progress)
            real = read.frames
            if any(read.rows_read.get(n, 0) < rows for n, rows in read.source_rows.items()):
                # A sample: records seen once in it are checked against every source row, and
                # values its people hold rarely are counted again in the source.
                whole_source = functools.partial(_source_chunks, source, schema, plan)
                source_counts = _SourceCounts(source, schema)
    # --include/--exclude limit every part of the evaluation (a --model's schema has every table):
    # the other tables are still read, for the holdout and each row's person, and judged nowhere.
    only = set(select_tables(schema.table_names, include, exclude)) if include or exclude else None
    integrity: Any = None  # SQL verification of a database, or a check of frames
    if isinstance(synthetic, Mapping):
        synth = {n: f.reset_index(drop=True) for n, f in synthetic.items()}
    else:
        from relsynth.io import parse_url
        from relsynth.verify import verify
        from relsynth.writer import default_target_schema

        labels["synthetic"] = redact(synthetic)
        if schema.schemas and synthetic_schema:
            raise RelsynthError(
                "--synthetic-schema names one schema, but the source's schemas "
                f"({', '.join(schema.schemas)}) are read from schemas of the same names; leave it out"
            )
        synthetic_schema = default_target_schema(schema, parse_url(synthetic), synthetic_schema)
        target_schema = replace(schema, schema=synthetic_schema)
        with connect(synthetic, read_only=True) as conn:
            tables = _target_tables(conn, schema, plan, synthetic_schema)
            synth = read_tables(
                conn, target_schema, plan, sample_rows=sample_rows, seed=seed, progress=progress
            ).frames
            integrity = verify(conn, schema, {n: t for n, t in tables.items() if only is None or n in only})
    if integrity is None:
        integrity = check_integrity(schema, {n: f for n, f in synth.items() if only is None or n in only})
    if model is not None:
        attacked = membership.sample_as_file_holder(model, seed=seed, progress=progress)
    return evaluate_frames(
        real,
        synth,
        schema,
        plan=plan,
        holdout=dict(holdout) if holdout else None,
        target=target,
        sdmetrics=sdmetrics,
        shareable=shareable,
        seed=seed,
        integrity=integrity,
        labels=labels,
        progress=progress,
        model_sample=attacked,
        whole_source=whole_source,
        rare_k=rare_k or RARE_K,
        source_counts=source_counts,
        only=only,
    )


def _source_chunks(
    source: str | sa.URL, schema: Schema, plan: Any, table: str, columns: list[str]
) -> Iterator[pd.DataFrame]:
    """Every source row of ``table``, ``columns`` only, a chunk at a time (read.stream_rows, as the
    guards of a model learned from a sample read them)."""
    from relsynth.io import connect
    from relsynth.read import stream_rows

    with connect(source, read_only=True) as conn:
        for _, chunk in stream_rows(conn, schema, plan, columns={table: columns}):
            yield chunk


class _SourceCounts:
    """read.SourceHolders on the source, on a connection of its own for each count (evaluate's
    read is over): how many of the whole source's rows and people hold a value, as fit counts
    them when it learns from a sample (model.fit.SourceCounts)."""

    def __init__(self, source: str | sa.URL, schema: Schema) -> None:
        self.source, self.schema = source, schema

    def __call__(
        self, table_name: str, column: str, holders: Sequence[Any], wanted: set[Any]
    ) -> list[dict[Any, int]] | None:
        from relsynth.io import connect
        from relsynth.read import SourceHolders

        with connect(self.source, read_only=True) as conn:
            return SourceHolders(conn, self.schema)(table_name, column, holders, wanted)

    def spread(self, table_name: str, column: str) -> tuple[int, int] | None:
        from relsynth.io import connect
        from relsynth.read import SourceHolders

        with connect(self.source, read_only=True) as conn:
            return SourceHolders(conn, self.schema).spread(table_name, column)


def _target_tables(conn: Any, schema: Schema, plan: Any, target_schema: str | None) -> dict[str, Any]:
    import sqlalchemy as sa

    from relsynth.errors import RelsynthError
    from relsynth.schema import place
    from relsynth.writer import reflect_targets

    names = [n for n in plan.order if n in {t.name for t in schema.active_tables}]
    insp = sa.inspect(conn)
    have: dict[str | None, set[str]] = {}
    missing = []
    for n in names:
        where, local = place(schema.table(n), target_schema)
        if where not in have:
            have[where] = (
                set(insp.get_table_names(schema=where))
                if where is None or where in set(insp.get_schema_names())
                else set()
            )
        if local not in have[where]:
            missing.append(n)
    if missing:
        raise RelsynthError(
            f"The synthetic database has no table {', '.join(missing[:5])}: "
            "is it the right database (and --synthetic-schema)?"
        )
    return reflect_targets(conn, schema, names, target_schema)


def _wanted_schemas(
    db_schema: str | Sequence[str] | None, schema: Schema | None
) -> str | tuple[str, ...] | None:
    """The source schema(s) to read: --schema (repeatable), else the schema file's."""
    if db_schema is not None and not isinstance(db_schema, str):
        many = tuple(dict.fromkeys(db_schema))
        return many if len(many) > 1 else (many[0] if many else None) or _wanted_schemas(None, schema)
    if db_schema:
        return db_schema
    if schema is None:
        return None
    return schema.schemas or schema.schema


def reflect(url: str | sa.URL, **kw: Any) -> Schema:
    from relsynth.reflection import reflect as _reflect

    return _reflect(url, **kw)


def plan(schema: Schema) -> Any:
    from relsynth.graph import plan as _plan

    return _plan(schema)
