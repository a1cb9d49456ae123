"""The command line: a thin layer over the library. Each command is one library call.

Only click is imported at start-up, so `relsynth --help` is instant; pandas, SQLAlchemy and the
SDV family are imported inside the commands that need them. Data goes to stdout, logs and
progress to stderr; how errors, warnings and Ctrl-C reach the terminal is relsynth.terminal's job.
Every file is written whole or not at all (io.atomic_write), and every output path is checked
before any database is read.
"""

from __future__ import annotations

import logging
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from relsynth.api import BATCH_ROWS, FIT_ROWS
from relsynth.terminal import State, _one_line, checkpoint, errors, on_interrupt, setup_logging

log = logging.getLogger("relsynth")

URL_HELP = (
    "SQLAlchemy URL (postgresql+psycopg://user@host/db, mysql+pymysql://root@host/db, sqlite:///file.db), "
    "a path to a SQLite file, or 'demo' for the bundled hospital database"
)


def _global_flag(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """-q, -v and --traceback given after the subcommand: the same as before it."""
    if not value:
        return value
    state = ctx.ensure_object(State)
    if param.name == "quiet":
        state.quiet = True
    elif param.name == "verbose":
        state.verbose += value
    else:
        state.traceback = True
    setup_logging(state)
    return value


_GLOBAL_OPTIONS = (
    click.option(
        "-q",
        "--quiet",
        is_flag=True,
        expose_value=False,
        callback=_global_flag,
        help="No progress bars or info messages (errors still shown).",
    ),
    click.option(
        "-v",
        "--verbose",
        count=True,
        expose_value=False,
        callback=_global_flag,
        help="More detail on stderr.",
    ),
    click.option(
        "--traceback",
        is_flag=True,
        expose_value=False,
        callback=_global_flag,
        help="Show the full Python traceback on errors.",
    ),
)


def _global_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Every subcommand takes the global options too, since users type them at the end."""
    for option in reversed(_GLOBAL_OPTIONS):
        command = option(command)
    return command


def _done_now() -> None:
    """The command is done and said so: a SIGTERM (or Ctrl-C) while Python shuts down (which takes a
    few tenths of a second with the libraries loaded) is ignored, instead of killing a finished,
    successful run with exit status 143 (attack round 45)."""
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


class _Main(click.Group):
    """The group: remembers the raw arguments (to mask their passwords in any message) and turns any
    error, wherever raised, into one line."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["relsynth.args"] = list(args)
        return super().parse_args(ctx, args)

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        """A usage error (an unknown option, a missing argument) in one line, as every other error,
        instead of click's usage block; exit code 1, as every FAILED line has (click's 2 is what
        the README keeps for a bug in relsynth: a typo was filed as one)."""
        run: Any = super().main
        if not standalone_mode:
            return run(*args, standalone_mode=False, **kwargs)
        try:
            result = run(*args, standalone_mode=False, **kwargs)
        except click.exceptions.UsageError as err:
            from relsynth.io import redact_text

            where = err.ctx.command_path if err.ctx is not None else "relsynth"
            message = err.format_message().rstrip(".")
            line = _one_line(err.ctx, message) if err.ctx is not None else redact_text(message)
            click.echo(f"FAILED: {line}; '{where} --help' lists what it takes", err=True)
            sys.exit(1)
        except click.exceptions.ClickException as err:
            err.show()
            sys.exit(err.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        if "args" not in kwargs and not args:  # the process's own program (not a test's runner)
            _done_now()
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        import signal

        ctx.ensure_object(State)
        # SIGTERM (docker stop, systemd, a CI timeout) stops the run as Ctrl-C does: same clean-up,
        # same line, same exit code. Only here, in the CLI: a library's caller keeps its own handlers.
        previous = {sig: signal.signal(sig, on_interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            with errors(ctx):
                return super().invoke(ctx)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="relsynth")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or info messages (errors still shown).")
@click.option("-v", "--verbose", count=True, help="More detail on stderr.")
@click.option("--traceback", is_flag=True, help="Show the full Python traceback on errors.")
@click.pass_context
def main(ctx: click.Context, quiet: bool, verbose: int, traceback: bool) -> None:
    """relsynth: turn a real relational database into a synthetic one.

    \b
    Pipeline: reflect -> plan -> fit -> sample -> write -> evaluate.
    Start with:  relsynth inspect demo
    -q, -v and --traceback may also follow the command (relsynth fit URL -o m.rsm -q).

    \b
    Exit status: 0 done; 1 FAILED (the one-line message says what to fix, wrong usage too);
    2 an internal error (a bug in relsynth: please report it); 130 interrupted (Ctrl-C or SIGTERM).
    """
    state = ctx.ensure_object(State)
    state.quiet = state.quiet or quiet
    state.verbose += verbose
    state.traceback = state.traceback or traceback
    setup_logging(state)


def _check_outputs(
    files: dict[str, str | None],
    directory: tuple[str, str | None] = ("", None),
    databases: tuple[str | None, ...] = (),
    inputs: dict[str, str | None] | None = None,
) -> None:
    """Every path a command will write, checked before any database is touched or read: a run must
    not read a database for an hour, then fail on a path it could have refused at once. No output
    may land on a SQLite database of the run (``fit app.db -o app.db``), on a file the run reads
    (``--schema-file s.json -o s.json``), nor on another output."""
    import os

    from relsynth.errors import RelsynthError
    from relsynth.guard import refuse_overwriting_database, sqlite_identity
    from relsynth.io import check_output_dir, check_output_file

    read = {what: path for what, path in (inputs or {}).items() if path and os.path.exists(path)}
    seen: list[tuple[str, Any]] = [(what, sqlite_identity(path)) for what, path in read.items()]
    for what, path in files.items():
        if path:
            refuse_overwriting_database(path, *(_source(d) for d in databases if d))
            ident = sqlite_identity(path)
            for other, other_ident in seen:
                if ident.same_as(other_ident):
                    raise RelsynthError(f"{what} and {other} are the same file ({path}); give each its own")
            seen.append((what, ident))
            check_output_file(path, what)
    what, path = directory
    if path:
        check_output_dir(path, what)


def _uses(ctx: click.Context, url: str) -> None:
    """The database a single-database command works on: its errors name it."""
    ctx.ensure_object(State).url = url


def _source(url: str) -> str:
    """'demo' means the bundled hospital database, built on first use."""
    if url == "demo":
        from relsynth.demo import demo_path

        return f"sqlite:///{demo_path()}"
    return url


@contextmanager
def _progress(ctx: click.Context) -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress callback drawing rich bars on stderr (started on first use; none under --quiet)
    that also raises a Ctrl-C that Python swallowed (see _Interrupt)."""
    state: State = ctx.find_object(State) or State()
    if state.quiet:

        def quiet(stage: str, done: int, total: int) -> None:
            state.committed = state.committed or stage == "committed"
            checkpoint()

        yield quiet
        return
    bars: dict[str, Any] = {}
    live: list[Any] = []

    def report(stage: str, done: int, total: int) -> None:
        if stage == "committed":  # no bar: what an interrupt from here on leaves (terminal._interrupted)
            state.committed = True
            checkpoint()
            return
        checkpoint()
        if not live:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            console = Console(stderr=True)
            if not console.is_interactive:
                # Transient bars draw nothing on a file, a pipe or a dumb terminal, and rich's
                # Progress.stop writes an empty line there (before a FAILED: line, say): no bars.
                live.append(None)
                return
            progress = Progress(
                TextColumn("{task.description:>10}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            progress.start()
            live.append(progress)
        progress = live[0]
        if progress is None:
            return
        if stage not in bars:
            bars[stage] = progress.add_task(stage, total=total)
        progress.update(bars[stage], completed=done, total=total)

    try:
        yield report
    finally:
        if live and live[0] is not None:
            live[0].stop()


def _stdout_console() -> Any:
    from rich.console import Console

    # Soft wrap: each fact stays one line (grep-able); the terminal folds it if it must.
    probe = Console()
    return Console(soft_wrap=True, width=max(100, probe.width) if probe.is_terminal else 160)


# Undeclared foreign keys: found by name and value containment unless turned off (relsynth/infer.py).
_no_infer_keys = click.option(
    "--no-infer-keys",
    is_flag=True,
    help="Do not look for foreign keys the database does not declare (found by name and values).",
)


# Rare categories are never emitted as themselves (relsynth/model/rare.py).
_rare_k = click.option(
    "--rare-k",
    type=int,
    default=5,
    show_default=True,
    metavar="K",
    help="Values held by fewer than K people (the persons found behind the rows, README: Privacy) "
    "are never written as themselves; 1 keeps every value.",
)

# The largest family of tables is sampled and written a batch at a time (relsynth/model/batches.py).
_batch_rows = click.option(
    "--batch-rows",
    type=click.IntRange(min=0),
    default=BATCH_ROWS,
    show_default=True,
    metavar="N",
    help="Sample and write the largest family of tables about N rows at a time: memory no longer "
    "grows with --scale. 0: all at once. The same seed and N give the same database.",
)

# Sampling batches in N processes while they are loaded (relsynth/ahead.py).
_workers = click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="N",
    help="Sample the largest family's batches in N processes while they are loaded; the same "
    "database for any N. Pays where cores are free beside the database server (README).",
)

# A large source is learned from a sample of its families (relsynth/api.py _rows_within).
_fit_rows = click.option(
    "--fit-rows",
    type=click.IntRange(min=0),
    default=FIT_ROWS,
    show_default=True,
    metavar="N",
    help="Learn a larger source from a seeded sample of about N rows (root rows with their "
    "descendants): memory is bounded by N, not the database. 0: every row. --sample-rows sets "
    "the root rows instead.",
)


@main.command()
@click.argument("url")
@click.option(
    "--schema",
    "db_schema",
    multiple=True,
    help="Database schema to reflect (PostgreSQL: default public; repeatable: several at once).",
)
@click.option("--schema-file", type=click.Path(dir_okay=False), help="Use this edited schema JSON instead.")
@click.option("--include", multiple=True, metavar="GLOB", help="Only tables matching (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Leave out tables matching (repeatable).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "dot"]),
    default="text",
    show_default=True,
    help="text: one-screen summary; json: the Schema (editable, versioned); dot: the FK graph for Graphviz.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to this file.")
@click.option("--table", "tables", multiple=True, help="Show the column detail of this table (repeatable).")
@click.option("--columns", is_flag=True, help="Show the column detail of every table.")
@click.option("--no-profile", is_flag=True, help="Do not read sample rows (kinds from types only).")
@_no_infer_keys
@click.option("--relations", is_flag=True, help="Also learn and list exact relations (reads data).")
@click.option(
    "--sample-rows",
    type=int,
    default=5000,
    show_default=True,
    metavar="N",
    help="With --relations: learn from N root rows per root table and their descendants.",
)
@_global_options
@click.pass_context
def inspect(
    ctx: click.Context,
    url: str,
    db_schema: tuple[str, ...],
    schema_file: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    fmt: str,
    output: str | None,
    tables: tuple[str, ...],
    columns: bool,
    no_profile: bool,
    no_infer_keys: bool,
    relations: bool,
    sample_rows: int,
) -> None:
    """Show what relsynth sees in a database: tables, keys, kinds, the FK graph and the plan.

    URL is a SQLAlchemy URL, a SQLite file, or 'demo'. Nothing is written to the database.
    """
    with errors(ctx):
        _check_outputs(files={"the output": output}, databases=(url,))
        from relsynth.graph import plan as make_plan
        from relsynth.io import redact
        from relsynth.reflection import reflect, reflect_or_load

        source = _source(url)
        _uses(ctx, source)
        with _progress(ctx) as progress:
            if schema_file:
                from relsynth.api import check_schema_file, load_schema_file

                # the file must describe this database, as fit and synthesize require
                check_schema_file(source, load_schema_file(schema_file, source, db_schema), db_schema)
                schema = reflect_or_load(None, schema_file=schema_file, include=include, exclude=exclude)
            else:
                schema = reflect(
                    source,
                    schema=db_schema,
                    include=include,
                    exclude=exclude,
                    profile=not no_profile,
                    infer_keys=not no_infer_keys,
                    progress=progress,
                )
        for name in tables:
            schema.table(name)  # unknown names fail here, with a suggestion
        p = make_plan(schema)
        if fmt == "json":
            _emit(schema.to_json(), output)
        elif fmt == "dot":
            from relsynth.show import dot

            _emit(dot(p), output)
        else:
            from relsynth.show import columns_detail, summary

            title = "demo (hospital)" if url == "demo" else redact(source)
            items = summary(p, title=title)
            if relations:
                items += _relations(ctx, source, schema, db_schema, sample_rows)
            for name in p.order if columns else tables:
                items += columns_detail(p, schema.table(name))
            _print(items, output)


def _relations(
    ctx: click.Context, source: str, schema: Any, db_schema: tuple[str, ...], sample_rows: int
) -> list[Any]:
    """The exact relations the engine finds, learned on a bounded sample of the data."""
    from rich.text import Text

    from relsynth.api import fit as fit_model

    with _progress(ctx) as progress:
        model = fit_model(
            source, schema=schema, db_schema=db_schema, sample_rows=sample_rows, progress=progress
        )
    text = Text()
    text.append(
        f"exact relations (learned from up to {sample_rows:,} root rows per root table)\n", style="bold"
    )
    for line in model.relations_summary() or ["none found"]:
        text.append(f"  {line}\n")
    return [text]


MODEL_WARNING = (
    "The model file holds real values from the source (category levels, value ranges, whole reference "
    "tables): keep it as safe as the source data."
)


@main.command()
@click.argument("url")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="Model file to write (.rsm)."
)
@click.option(
    "--schema",
    "db_schema",
    multiple=True,
    help="Database schema to read (PostgreSQL: default public; repeatable: several at once).",
)
@click.option(
    "--schema-file", type=click.Path(dir_okay=False), help="Edited schema JSON (relsynth inspect -o)."
)
@click.option("--include", multiple=True, metavar="GLOB", help="Only tables matching (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Leave out tables matching (repeatable).")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same model.")
@click.option(
    "--sample-rows",
    type=int,
    metavar="N",
    help="Learn from N root rows per root table and their descendants.",
)
@click.option(
    "--holdout",
    type=float,
    default=0.0,
    show_default=True,
    metavar="F",
    help="Withhold this share of root entities (with descendants) for the privacy evaluation.",
)
@click.option(
    "--engine",
    type=click.Choice(["relsynth", "sdv"]),
    default="relsynth",
    show_default=True,
    help="sdv: SDV's HMASynthesizer, the reference engine (saved as a pickle).",
)
@_fit_rows
@_no_infer_keys
@_rare_k
@_global_options
@click.pass_context
def fit(
    ctx: click.Context,
    url: str,
    output: str,
    db_schema: tuple[str, ...],
    schema_file: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    seed: int,
    sample_rows: int | None,
    holdout: float,
    engine: str,
    fit_rows: int,
    no_infer_keys: bool,
    rare_k: int,
) -> None:
    """Learn every table of a database and save the model.

    URL is read-only. The model learns each table's columns (a Gaussian copula), each parent's
    children (how many, and what they look like), and exact relations (dependencies, date orders,
    values repeated from parents, sums). Personal data is never learned.
    """
    import time

    with errors(ctx):
        _check_outputs(
            files={"the model file": output}, databases=(url,), inputs={"the schema file": schema_file}
        )
        from relsynth.model.store import refuse_replacing

        refuse_replacing(output)  # before the source is read: the fit may take an hour
        from relsynth.api import fit as fit_model

        _uses(ctx, _source(url))
        started = time.perf_counter()
        with _progress(ctx) as progress:
            model = fit_model(
                _source(url),
                schema=schema_file,
                db_schema=db_schema,
                include=include,
                exclude=exclude,
                seed=seed,
                sample_rows=sample_rows,
                holdout=holdout,
                engine=engine,
                infer_keys=not no_infer_keys,
                rare_k=rare_k,
                progress=progress,
                fit_rows=fit_rows or None,
            )
        model.save(output)
        seconds = time.perf_counter() - started
        roles = [p.role for p in model.plan.tables.values()]
        log.info(
            "fitted %d tables (%d synthesized, %d reference, %d empty) in %.1f s -> %s",
            len(roles),
            roles.count("data"),
            roles.count("reference"),
            roles.count("empty"),
            seconds,
            output,
        )
        if engine == "relsynth":
            for line in model.relations_summary():
                log.info("  exact relation: %s", line)
            if holdout:
                held = sum((model.source.get("holdout") or {}).get("rows", {}).values())
                log.info("held out %d rows (%.0f%% of root entities, with descendants)", held, 100 * holdout)
        log.warning(MODEL_WARNING)


def _parse_rows(values: tuple[str, ...]) -> dict[str, int]:
    from relsynth.errors import RelsynthError

    out = {}
    for item in values:
        name, sep, count = item.partition("=")
        if not sep or not count.strip().isdigit():
            raise RelsynthError(f"--rows takes TABLE=N (a table name and a row count), got '{item}'")
        out[name.strip()] = int(count)
    return out


@main.command()
@click.argument("model_file", type=click.Path(dir_okay=False))
@click.option(
    "-o", "--output", type=click.Path(file_okay=False), help="Directory for the tables (or --target)."
)
@click.option(
    "--scale", type=float, default=1.0, show_default=True, help="Root tables' rows x F; children follow."
)
@click.option("--rows", multiple=True, metavar="TABLE=N", help="Fix a table's row count (repeatable).")
@click.option("--seed", type=int, help="Default: the seed the model was fitted with.")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet", show_default=True)
@click.option("--allow-pickle", is_flag=True, help="Load an SDV model file (a pickle: only your own files).")
@click.option(
    "--target", metavar="URL", help="Write into this database instead of files (as synthesize does)."
)
@click.option("--replace", is_flag=True, help="With --target: drop and recreate the tables relsynth writes.")
@click.option(
    "--into-existing", is_flag=True, help="With --target: load into existing tables (checked to match)."
)
@click.option("--target-schema", help="With --target: the PostgreSQL schema to write into.")
@click.option(
    "--trust-model-sql",
    is_flag=True,
    help="With --target: run the model file's SQL (CHECKs, DEFAULTs, views, triggers) as it is, "
    "whatever functions it calls. Only for model files you made.",
)
@click.option(
    "--source",
    "source_url",
    metavar="URL",
    help="The database the model was fitted on (read-only): keeps its records and values off the "
    "output, as synthesize does. The model file holds none of them.",
)
@_batch_rows
@_global_options
@click.pass_context
def sample(
    ctx: click.Context,
    model_file: str,
    output: str | None,
    scale: float,
    rows: tuple[str, ...],
    seed: int | None,
    fmt: str,
    allow_pickle: bool,
    target: str | None,
    replace: bool,
    into_existing: bool,
    target_schema: str | None,
    trust_model_sql: bool,
    source_url: str | None,
    batch_rows: int,
) -> None:
    """Sample synthetic tables from a model into a directory (one file per table).

    Every key is valid and every NOT NULL and understood CHECK constraint holds in the result.
    """
    import time

    with errors(ctx):
        from relsynth.errors import RelsynthError

        if not output and not target:
            raise RelsynthError("Say where the synthetic tables go: -o DIRECTORY, or --target URL")
        _check_outputs({}, ("the synthetic tables", None if target else output))
        from relsynth.api import generated_columns, write_files
        from relsynth.api import sample as sample_model
        from relsynth.evaluation.integrity import check_integrity
        from relsynth.model.sample import SampleReport
        from relsynth.sdv_engine import SdvModel, is_sdv_file

        started = time.perf_counter()
        if is_sdv_file(model_file):  # by content: a pickle, whatever its name
            if target:
                raise RelsynthError(
                    "--target takes a relsynth model; an SDV model file is sampled into files: -o DIRECTORY"
                )
            synth = SdvModel.load(model_file, allow_pickle=allow_pickle)
            from relsynth import sdv_engine

            tables = sdv_engine.sample(synth, scale=scale, seed=seed or 0)
            integrity = None
            report = SampleReport()
            schema = None  # an SDV model's tables: no generated columns known
        else:
            from relsynth.guard import Identity
            from relsynth.model.spec import Model

            loaded = Model.load(model_file)
            schema = loaded.schema
            report = SampleReport()
            if target:  # a batch at a time, as synthesize writes (the same seed, the same rows)
                from relsynth.api import sample_batches
                from relsynth.model import trust

                # Its SQL runs in the target: only side-effect-free built-ins, unless the user vouches.
                written = trust.checked(loaded.schema, trust=trust_model_sql)
                from relsynth.writer import write as write_db

                _uses(ctx, _source(target))
                with _progress(ctx) as progress:
                    batches = sample_batches(
                        loaded,
                        scale=scale,
                        rows=_parse_rows(rows),
                        seed=seed,
                        source=_source(source_url) if source_url else None,
                        progress=progress,
                        report=report,
                        batch_rows=batch_rows or None,
                    )
                    summary = write_db(
                        next(batches),
                        written,
                        _source(target),
                        plan=loaded.plan,
                        source=Identity.from_dict(loaded.source.get("identity")),
                        replace=replace,
                        into_existing=into_existing,
                        target_schema=target_schema,
                        progress=progress,
                        more=batches,
                        non_finite=loaded.non_finite(),
                    )
                _print_summary(
                    loaded,
                    {},
                    summary,
                    {"sample": time.perf_counter() - started},
                    report,
                    scale=scale,
                    fixed=_parse_rows(rows),
                )
                return
            with _progress(ctx) as progress:
                tables = sample_model(
                    loaded,
                    scale=scale,
                    rows=_parse_rows(rows),
                    seed=seed,
                    source=_source(source_url) if source_url else None,
                    progress=progress,
                    report=report,
                    batch_rows=batch_rows or None,
                )
            integrity = check_integrity(loaded.schema, tables)
        assert output  # checked above: no --target means -o
        paths = write_files(tables, output, fmt=fmt, schema=schema)
        left_out = (
            []
            if schema is None
            else [f"{n}.{c}" for n in tables for c in generated_columns(schema, n, tables[n])]
        )
        if left_out:
            log.info(
                "left out of the files: %s (generated columns: the database computes them on load)",
                ", ".join(left_out),
            )
        seconds = time.perf_counter() - started
        total = sum(len(t) for t in tables.values())
        log.info("sampled %d tables, %d rows in %.1f s -> %s", len(tables), total, seconds, output)
        for line in report.lines():
            log.info("  %s", line)
        if integrity is not None:
            log.info("integrity: %d problems", integrity.problems)
            for line in integrity.lines():
                log.warning("  %s", line)
        for path in paths:
            click.echo(str(path))


@main.command()
@click.argument("source")
@click.argument("target")
@click.option(
    "--scale", type=float, default=1.0, show_default=True, help="Rows of root tables x F; children follow."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same synthetic database.")
@click.option(
    "--schema",
    "db_schema",
    multiple=True,
    help="Source database schema (PostgreSQL: default public; repeatable: several, each written to "
    "the target's schema of the same name).",
)
@click.option(
    "--schema-file", type=click.Path(dir_okay=False), help="Edited schema JSON (relsynth inspect -o)."
)
@click.option("--include", multiple=True, metavar="GLOB", help="Only tables matching (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Leave out tables matching (repeatable).")
@click.option(
    "--sample-rows", type=int, metavar="N", help="Learn from N root rows per root table (big sources)."
)
@click.option(
    "--holdout",
    type=float,
    default=0.0,
    show_default=True,
    metavar="F",
    help="Withhold this share of root entities from fitting: the report's privacy baseline.",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Drop and recreate the tables relsynth writes (with --into-existing: empty them).",
)
@click.option(
    "--into-existing", is_flag=True, help="Load into tables that already exist (DDL owned by migrations)."
)
@click.option("--schema-only", is_flag=True, help="Create the schema only, no rows.")
@click.option("--target-schema", help="The PostgreSQL schema to write into (default: the target's default).")
@click.option(
    "--report",
    default="relsynth_report.html",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The HTML evaluation report written at the end.",
)
@click.option("--no-report", is_flag=True, help="Skip the evaluation at the end.")
@_fit_rows
@_batch_rows
@_workers
@click.option(
    "--cluster",
    metavar="ADDRESS",
    help="A Dask scheduler (tcp://HOST:8786) whose workers sample the largest family's batches; "
    "the same database. Needs Dask here and on the workers: pip install -e '.[dask]' (README).",
)
@_no_infer_keys
@_rare_k
@_global_options
@click.pass_context
def synthesize(
    ctx: click.Context,
    source: str,
    target: str,
    scale: float,
    seed: int,
    db_schema: tuple[str, ...],
    schema_file: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    sample_rows: int | None,
    holdout: float,
    replace: bool,
    into_existing: bool,
    schema_only: bool,
    target_schema: str | None,
    report: str,
    no_report: bool,
    fit_rows: int,
    batch_rows: int,
    workers: int,
    cluster: str | None,
    no_infer_keys: bool,
    rare_k: int,
) -> None:
    """Reflect SOURCE, learn it, and write a synthetic copy into TARGET, in one go.

    SOURCE is read-only. TARGET must be empty unless --replace; the load is all or nothing, and the
    result is verified with SQL (orphans, duplicate keys, NULLs, CHECKs, row counts) before commit.
    """
    with errors(ctx):
        _check_outputs(
            files={"the report": None if no_report or schema_only else report}, databases=(source, target)
        )
        from relsynth.api import synthesize as run

        with _progress(ctx) as progress:
            result = run(
                _source(source),
                _source(target),
                scale=scale,
                seed=seed,
                schema=schema_file,
                db_schema=db_schema,
                include=include,
                exclude=exclude,
                sample_rows=sample_rows,
                holdout=holdout,
                replace=replace,
                into_existing=into_existing,
                schema_only=schema_only,
                target_schema=target_schema,
                infer_keys=not no_infer_keys,
                rare_k=rare_k,
                progress=progress,
                batch_rows=batch_rows or None,
                fit_rows=fit_rows or None,
                workers=workers,
                cluster=cluster,
            )
        _print_summary(
            result["model"],
            result["tables"],
            result["write"],
            result["seconds"],
            result["report"],
            scale=scale,
        )
        if not no_report and not schema_only:
            _evaluate_after(
                ctx,
                _source(source),
                _source(target),
                result,
                report,
                db_schema=db_schema,
                schema_file=schema_file,
                include=include,
                exclude=exclude,
                infer_keys=not no_infer_keys,
            )


@main.command()
@click.option(
    "-o",
    "--output",
    default="hospital_synthetic.db",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The synthetic SQLite file to write (replaced if it exists).",
)
@click.option("--scale", type=float, default=1.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--report",
    default="hospital_report.html",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The HTML evaluation report.",
)
@click.option("--no-report", is_flag=True, help="Skip the evaluation at the end.")
@_global_options
@click.pass_context
def demo(ctx: click.Context, output: str, scale: float, seed: int, report: str, no_report: bool) -> None:
    """The bundled hospital database (SQLite) becomes a synthetic SQLite database, with a summary."""
    import os

    with errors(ctx):
        _check_outputs(
            files={"the synthetic database": output, "the report": None if no_report else report},
            databases=("demo",),
        )
        import tempfile

        from relsynth.api import synthesize as run
        from relsynth.demo import demo_path

        if os.path.exists(output) and not _earlier_demo_output(output):
            from relsynth.errors import RelsynthError

            raise RelsynthError(
                f"{output} exists and is not an earlier demo output; choose another file (-o), or remove it"
            )
        # Written beside the output and moved over it only when complete: a failed run keeps the old one.
        fd, scratch = tempfile.mkstemp(prefix=".relsynth-", suffix=".db", dir=os.path.dirname(output) or ".")
        os.close(fd)
        os.remove(scratch)  # the run creates (and locks) it
        try:
            with _progress(ctx) as progress:
                result = run(
                    f"sqlite:///{demo_path()}",
                    f"sqlite:///{scratch}",
                    scale=scale,
                    seed=seed,
                    holdout=0.2,
                    progress=progress,
                )
            if os.path.exists(output):
                log.info("replaced the earlier %s", output)
            os.replace(scratch, output)
        finally:
            if os.path.exists(scratch):
                os.remove(scratch)
        result["write"].target = output
        _print_summary(
            result["model"],
            result["tables"],
            result["write"],
            result["seconds"],
            result["report"],
            title=f"demo: the hospital database -> {output}",
        )
        if not no_report:
            _evaluate_after(ctx, f"sqlite:///{demo_path()}", f"sqlite:///{output}", result, report)


def _earlier_demo_output(path: str) -> bool:
    """A file demo may replace: one it wrote before (the demo's tables and nothing else), or empty."""
    from pathlib import Path

    from relsynth.demo import demo_path

    if Path(path).stat().st_size == 0:
        return True
    mine = _sqlite_tables(path)
    return mine is not None and mine == _sqlite_tables(str(demo_path()))


def _sqlite_tables(path: str) -> set[str] | None:
    """The tables of a SQLite file, read-only; None if it is not one."""
    import sqlite3
    from pathlib import Path

    try:
        conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
        try:
            return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError:  # not a SQLite file: a user's document
        return None


def _write_reports(result: dict[str, Any], html: str | None, json_path: str | None) -> None:
    import json

    from relsynth.evaluation.summary import summary_lines

    console = _stdout_console()
    for line in summary_lines(result):
        console.print(line, highlight=False)
    if json_path:
        from relsynth.io import atomic_write

        with atomic_write(json_path) as fh:
            json.dump(result, fh, indent=1, default=str)
        log.info("wrote %s", json_path)
    if html:
        from relsynth.evaluation.report import write_html

        write_html(result, html)
        log.info(
            "wrote %s (%s)",
            html,
            "shareable: no source values"
            if result.get("shareable")
            else "it shows values from the source: share it as you would the source",
        )


@main.command()
@click.argument("source")
@click.argument("synthetic")
@click.option("-o", "--output", "html", type=click.Path(dir_okay=False), help="Write the HTML report here.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write every number as JSON here.")
@click.option(
    "--model",
    "model_file",
    type=click.Path(dir_okay=False),
    help="The model file: its schema, and the holdout it was fitted without (for privacy).",
)
@click.option("--schema", "db_schema", multiple=True, help="Source database schema (PostgreSQL; repeatable).")
@click.option("--synthetic-schema", help="Synthetic database schema (PostgreSQL).")
@click.option(
    "--schema-file", type=click.Path(dir_okay=False), help="Edited schema JSON (relsynth inspect -o)."
)
@click.option("--target", metavar="TABLE.COLUMN", help="Also measure ML utility predicting this column.")
@click.option("--shareable", is_flag=True, help="Leave out every source-side detail (real plots, values).")
@click.option(
    "--sdmetrics", is_flag=True, help="Add sdmetrics' DiagnosticReport (its QualityReport always runs)."
)
@click.option(
    "--sample-rows",
    type=int,
    default=5000,
    show_default=True,
    metavar="N",
    help="Evaluate on N root rows per root table and their descendants (0: everything).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--include", multiple=True, metavar="GLOB", help="Only tables matching (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Leave out tables matching (repeatable).")
@click.option(
    "--rare-k",
    type=click.IntRange(min=1),
    default=None,
    metavar="K",
    help="Flag synthetic values that fewer than K people hold in the source "
    "(default: the --model's --rare-k, else 5).",
)
@_no_infer_keys
@_global_options
@click.pass_context
def evaluate(
    ctx: click.Context,
    source: str,
    synthetic: str,
    html: str | None,
    json_path: str | None,
    model_file: str | None,
    db_schema: tuple[str, ...],
    synthetic_schema: str | None,
    schema_file: str | None,
    target: str | None,
    shareable: bool,
    sdmetrics: bool,
    sample_rows: int,
    seed: int,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    rare_k: int | None,
    no_infer_keys: bool,
) -> None:
    """Compare a synthetic database with its source: fidelity, detectability, integrity, privacy.

    Both are read-only. Prints a summary; -o writes a self-contained HTML report, --json every number.
    """
    with errors(ctx):
        _check_outputs(
            files={"the HTML report": html, "the JSON report": json_path}, databases=(source, synthetic)
        )
        from relsynth.api import evaluate as run

        with _progress(ctx) as progress:
            result = run(
                _source(source),
                _source(synthetic),
                schema=schema_file,
                model=model_file,
                db_schema=db_schema,
                synthetic_schema=synthetic_schema,
                target=target,
                sdmetrics=sdmetrics,
                shareable=shareable,
                sample_rows=sample_rows or None,
                seed=seed,
                include=include,
                exclude=exclude,
                infer_keys=not no_infer_keys,
                progress=progress,
                rare_k=rare_k,
            )
        _write_reports(result, html, json_path)


def _evaluate_after(
    ctx: click.Context,
    source: str,
    target: str,
    result: dict[str, Any],
    report: str | None,
    *,
    db_schema: tuple[str, ...] = (),
    schema_file: str | None = None,
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    infer_keys: bool = True,
) -> None:
    """synthesize and demo: the evaluation of the target as written, read back from the database,
    by the same call as `relsynth evaluate` (one evaluation, one set of numbers), whose command
    line is printed so a user can reproduce them."""
    import sqlalchemy as sa

    from relsynth.api import evaluate as run
    from relsynth.errors import RowsHidden
    from relsynth.io import redact

    holdout = result["model"].source.get("holdout") or None
    rare_k = result["model"].source.get("rare_k")
    synthetic_schema = result.get("target_schema")
    words = ["relsynth", "evaluate", redact(source), redact(target)]
    for name in db_schema:
        words += ["--schema", name]
    if synthetic_schema:
        words += ["--synthetic-schema", synthetic_schema]
    if schema_file:
        words += ["--schema-file", schema_file]
    for flag, names in (("--include", include), ("--exclude", exclude)):
        for name in names:
            words += [flag, name]
    if not infer_keys:
        words.append("--no-infer-keys")
    if rare_k and rare_k != 5:
        words += ["--rare-k", str(rare_k)]
    again = " ".join(shlex.quote(w) for w in words)
    try:
        with _progress(ctx) as progress:
            evaluation = run(
                source,
                target,
                schema=schema_file,
                db_schema=db_schema,
                synthetic_schema=synthetic_schema,
                include=include,
                exclude=exclude,
                holdout=holdout,
                infer_keys=infer_keys,
                progress=progress,
                rare_k=rare_k,
            )
    except RowsHidden as err:
        # The load is committed and was verified (before its row-level security was switched on):
        # a target its recreated policies keep from this user is not a failed run, only one not evaluated.
        if not _same_database(err.url, target, sa):
            raise
        log.warning(
            "%s",
            f"warning: evaluation skipped: row-level security of table {err.table} in the target hides rows "
            "from this run's user (the data is written and verified); evaluate it with a role that has "
            f"BYPASSRLS or is a superuser in the target's URL: {again}",
        )
        return
    _write_reports(evaluation, report, None)
    note = " (without this run's holdout: privacy is compared without one)" if holdout else ""
    _stdout_console().print(f"the same numbers: {again}{note}", highlight=False, soft_wrap=True)


def _same_database(url: object, target: str, sa: Any) -> bool:
    """The database an error names is the target's (host, port, database), not the source's."""
    try:
        ours = sa.make_url(target)
    except Exception:
        return False
    if not isinstance(url, sa.URL):
        return False
    return (url.host, url.port, url.database) == (ours.host, ours.port, ours.database)


def _print_summary(
    model: Any,
    tables: dict[str, Any],
    summary: Any,
    seconds: dict[str, float],
    report: Any,
    title: str | None = None,
    *,
    scale: float = 1.0,
    fixed: dict[str, int] | None = None,
) -> None:
    """One screen: tables and rows, seconds per stage, rows per second, verification, notes."""
    from rich.table import Table as RichTable
    from rich.text import Text

    console = _stdout_console()
    console.print(Text(title or f"synthetic database: {summary.target}", style="bold"))
    grid = RichTable(box=None, pad_edge=False, header_style="bold")
    for head in ("table", "role"):
        grid.add_column(head, justify="left")
    for head in ("source rows", "synthetic rows"):
        grid.add_column(head, justify="right")
    sampled = (model.source or {}).get("sample_rows")
    for name in model.plan.order:
        tp = model.plan[name]
        source_rows = model.tables[name].n_rows if name in model.tables else 0
        if sampled:  # learned from a sample: the source's rows, as its catalog counts them
            source_rows = model.schema.table(name).row_count
        grid.add_row(name, tp.role, f"{source_rows:,}", f"{summary.rows.get(name, 0):,}")
    console.print(grid)
    total = sum(summary.rows.values())
    stages = RichTable(box=None, pad_edge=False, header_style="bold")
    for head in ("stage", "seconds", "rows/s"):
        stages.add_column(head, justify="right" if head != "stage" else "left")
    timing = {**seconds, **{f"  {k}": v for k, v in summary.seconds.items() if k != "total"}}
    for stage, secs in timing.items():
        stages.add_row(stage, f"{secs:.2f}", f"{total / secs:,.0f}" if secs > 0 and total else "")
    console.print(stages)
    v = summary.verification
    status = "0 problems" if not v.problems else f"{v.problems} problems"
    console.print(
        Text(
            f"verified in the target: {status} (orphans, duplicate keys, NULLs, CHECKs, row counts); "
            f"{total:,} rows in {len(summary.rows)} tables"
        )
    )
    if sampled:
        read = sum((model.source.get("rows_read") or {}).values())
        console.print(
            Text(
                f"  learned from a sample: {read:,} source rows ({sampled:,} root rows per root table "
                "with their descendants); --fit-rows 0 learns from every row"
            )
        )
    for line in [*report.lines(), *summary.lines()]:
        console.print(Text(f"  {line}"))
    warned = summary.warnings()
    shrunk = _shrunk(model, summary, scale, fixed or {}, warned)
    for line in shrunk:
        console.print(Text(f"  {line}"))
    warned += shrunk
    for line in warned:  # on stderr too: a script reading the exit code alone sees it there
        log.warning("%s", line)


def _shrunk(model: Any, summary: Any, scale: float, fixed: dict[str, int], warned: list[str]) -> list[str]:
    """A sampled table written with under half the rows --scale asks for (its source rows times
    the scale; --rows as given): a catalog of 250 products came out as 6 with no word said
    (attack a45a). A table a CHECK warning already names is not said twice."""
    sampled = (model.source or {}).get("sample_rows")
    out = []
    for name in model.plan.order:
        tm = model.tables.get(name)
        if tm is None or tm.role != "data" or any(w.startswith(f"WARNING: {name}:") for w in warned):
            continue
        source_rows = model.schema.table(name).row_count if sampled else tm.n_rows
        wanted = fixed.get(name, source_rows * scale)
        got = summary.rows.get(name, 0)
        if wanted >= 4 and 2 * got < wanted:
            out.append(
                f"WARNING: {name}: {got:,} rows written where {round(wanted):,} were expected "
                f"({source_rows:,} source rows at --scale {scale:g}): the table lost most of its rows"
            )
    return out


def _emit(text: str, output: str | None) -> None:
    if output:
        from relsynth.io import atomic_write

        with atomic_write(output) as fh:
            fh.write(text)
        log.info("wrote %s", output)
    else:
        sys.stdout.write(text)


def _print(items: list[Any], output: str | None) -> None:
    from rich.console import Console

    if output:
        from relsynth.io import atomic_write

        with atomic_write(output) as fh:
            console = Console(file=fh, width=160, no_color=True, soft_wrap=True)
            for item in items:
                console.print(item)
        log.info("wrote %s", output)
        return
    console = _stdout_console()
    for item in items:
        console.print(item)


if __name__ == "__main__":  # pragma: no cover
    main()
