"""The ``opbench`` command line: a thin typer layer over the library.

Each command parses its options, calls one library function and prints the result.
User errors (:class:`~opbench.errors.OpbenchError`) print a one-line message to stderr
and exit with status 2, without a traceback; so do the command line's own usage errors (an
unknown option, a value outside an option's choices or range) through :func:`main`, the
``opbench`` entry point. The library's notices (the ``opbench``
logger, e.g. "waiting for another process that generates this dataset") go to stderr.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shlex
import sys
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import click
import typer
from rich.console import Console
from rich.markup import escape

from opbench.config import BudgetName, Device, Engine, Preset, Role, parse_set
from opbench.errors import OpbenchError, RunInterrupted

app = typer.Typer(
    help="opbench: benchmark neural operators and PDE surrogates.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Generate and validate datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")
console = Console()
errors = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])
CompileOption = Annotated[
    bool,
    typer.Option(
        "--compile", help="torch.compile the models measured faster compiled (benchmarks/README.md)"
    ),
]
"""``--compile`` of ``run``, ``sweep`` and ``converge``
(:func:`opbench.run.compile_where_faster`)."""


class _StderrHandler(logging.StreamHandler):
    """A handler that writes to whatever ``sys.stderr`` is when a notice is emitted."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        """The stream is always the current ``sys.stderr``."""


def _show_notices() -> None:
    """Route the library's ``opbench`` logger to stderr, once."""
    logger = logging.getLogger("opbench")
    if not logger.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def user_errors(fn: F) -> F:
    """Turn OpbenchError into a clear message and exit status 2 (130 for an interrupted run)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _show_notices()
        try:
            return fn(*args, **kwargs)
        except RunInterrupted as error:
            errors.print(f"[bold yellow]{escape(str(error))}[/]", highlight=False, soft_wrap=True)
            raise typer.Exit(130) from None
        except OpbenchError as error:
            errors.print(
                f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


class Listing(StrEnum):
    datasets = "datasets"
    models = "models"
    metrics = "metrics"


@app.command("list")
@user_errors
def list_command(
    what: Annotated[Listing, typer.Argument()] = Listing.models,
    markdown: Annotated[
        bool, typer.Option(help="models only: print the README's model × layout table")
    ] = False,
) -> None:
    """List the registered datasets, models or metrics."""
    from opbench import catalog

    if markdown:
        if what != Listing.models:
            raise OpbenchError("--markdown applies to `opbench list models` only")
        typer.echo(catalog.models_markdown(), nl=False)
        return

    table = {
        Listing.datasets: catalog.datasets_text,
        Listing.models: catalog.models_table,
        Listing.metrics: catalog.metrics_table,
    }[what]()
    console.print(table)


@data_app.command("generate")
@user_errors
def generate(
    family: Annotated[str, typer.Argument(help="dataset family, e.g. condiff")],
    config: Annotated[str, typer.Option(help="config name, e.g. cubic0.1_grid64, cavity/bc")],
    n_train: Annotated[
        int | None, typer.Option(min=0, help="condiff: training samples (256); airfrans: 64")
    ] = None,
    n_test: Annotated[
        int | None, typer.Option(min=0, help="condiff: test samples (64); airfrans: 16")
    ] = None,
    n_cases: Annotated[
        int | None, typer.Option(min=1, help="cfdbench: cases per subset (default 20)")
    ] = None,
    frames: Annotated[
        int | None, typer.Option(min=2, help="cfdbench: frames per case (default 41)")
    ] = None,
    frame_size: Annotated[
        int | None, typer.Option(min=4, help="cfdbench: frame grid H = W")
    ] = None,
    solver_cells: Annotated[
        int | None, typer.Option(min=8, help="cfdbench: solver cells across the height")
    ] = None,
    n_around: Annotated[
        int | None, typer.Option(min=40, help="airfrans: mesh nodes around the foil (200)")
    ] = None,
    n_normal: Annotated[
        int | None, typer.Option(min=8, help="airfrans: mesh cells across the layer (64)")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="generator seed (default 0)")] = None,
    out: Annotated[Path, typer.Option(help="ROOT: the directory to write into")] = Path("data"),
    workers: Annotated[int | None, typer.Option(min=1, help="processes (default: cores)")] = None,
) -> None:
    """Generate a dataset with opbench's solver, in the real on-disk format."""
    from opbench.data import DATASETS

    dataset = DATASETS.get(family)
    dataset.check_config(config)
    given = {
        "n_train": n_train,
        "n_test": n_test,
        "n_cases": n_cases,
        "frames": frames,
        "frame_size": frame_size,
        "solver_cells": solver_cells,
        "n_around": n_around,
        "n_normal": n_normal,
        "seed": seed,
        "workers": workers,
    }
    options = {name: value for name, value in given.items() if value is not None}
    foreign = [name for name in options if name not in dataset.generate_options]
    if foreign:
        accepted = ", ".join(f"--{n.replace('_', '-')}" for n in dataset.generate_options)
        raise OpbenchError(
            f"--{foreign[0].replace('_', '-')} does not apply to {family}; it takes {accepted}"
        )
    report = dataset.generate(config, out, **options)
    console.print(f"wrote {report.path}")
    for line in report.lines():
        console.print(f"  {line}", highlight=False)


@data_app.command("validate")
@user_errors
def validate(
    family: Annotated[str, typer.Argument(help="dataset family, e.g. condiff")],
    config: Annotated[str, typer.Option(help="config name, e.g. cubic0.1_grid64")],
    data_dir: Annotated[Path, typer.Option(help="ROOT: the directory that holds <config>/")],
) -> None:
    """Check a dataset's files (keys, shapes, dtypes, finiteness) and physics."""
    from opbench.data import DATASETS

    dataset = DATASETS.get(family)
    dataset.check_config(config)
    report = dataset.validate(config, data_dir)
    for line in report.lines:
        console.print(line, highlight=False)
    console.print("[bold green]valid[/]" if report.ok else "[bold red]INVALID[/]")
    if not report.ok:
        raise typer.Exit(1)


@app.command("run")
@user_errors
def run(
    model: Annotated[str, typer.Argument(help="model name (opbench list models)")],
    dataset: Annotated[str, typer.Argument(help="dataset family (opbench list datasets)")],
    config: Annotated[
        str | None, typer.Option(help="dataset config (default: the family's)")
    ] = None,
    task: Annotated[str | None, typer.Option(help="task (default: the family's)")] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="ROOT holding <config>/ with real or generated files; default: generate into "
            "the cache ($OPBENCH_HOME)"
        ),
    ] = None,
    preset: Annotated[Preset, typer.Option(help="model preset")] = Preset.small,
    epochs: Annotated[int | None, typer.Option(min=0, help="epoch budget")] = None,
    seed: Annotated[int, typer.Option(help="run seed, 0 … 2³²−1")] = 0,
    device: Annotated[Device, typer.Option(help="where to compute")] = Device.cpu,
    out: Annotated[Path, typer.Option(help="RUNS: where run directories go")] = Path("runs"),
    role: Annotated[Role, typer.Option(help="what the record is for")] = Role.board,
    resume: Annotated[
        Path | None,
        typer.Option(help="continue the interrupted run in RUN_DIR (its stored config is used)"),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="override any hyperparameter: model.KEY=V, train.KEY=V, data.KEY=V"
        ),
    ] = None,
    test_config: Annotated[
        list[str] | None,
        typer.Option(help="also score on this config of the same family (repeatable)"),
    ] = None,
    compile_: CompileOption = False,
    transfer_config: Annotated[
        list[str] | None,
        typer.Option(
            help="also score on this config at another resolution of the same samples, "
            "against the interpolation yardstick (repeatable; e.g. cubic0.1_paired_grid31)"
        ),
    ] = None,
    equal_accuracy: Annotated[
        bool,
        typer.Option(
            help="also place the model on its family's numerical solver curve (speedup at "
            "equal accuracy; the curve is measured once per dataset and cached)"
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    board: Annotated[
        Path, typer.Option(help="the published leaderboard to compare the run with")
    ] = Path("leaderboards"),
) -> None:
    """Train MODEL on DATASET, score it on the test split once, and write a run record."""
    from opbench import run as library
    from opbench.report import board_comparison, files_written, results_table

    if resume is not None:
        result = library.resume(resume, progress=not quiet)
    else:
        spec = library.resolve(
            model,
            dataset,
            config=config,
            task=task,
            data_dir=data_dir,
            preset=preset,
            epochs=epochs,
            seed=seed,
            device=device,
            overrides=parse_set(set_ or []),
            test_configs=test_config or [],
            role=role,
            command=_command(),
            compile=compile_,
            transfer_configs=transfer_config or [],
            equal_accuracy=equal_accuracy,
        )
        result = library.run(spec, out, progress=not quiet)
    if result.record is not None:  # rank 0 (or the only process)
        console.print(results_table(result.record))
        console.print(
            f"wrote in {result.run_dir}: {', '.join(files_written(result.record))}",
            highlight=False,
            soft_wrap=True,
        )
        for line in board_comparison(result.record, board):
            console.print(line, highlight=False, markup=False, soft_wrap=True)


@app.command("timing-pass")
@user_errors
def timing_pass(
    runs: Annotated[Path, typer.Argument(help="RUNS: a run directory or a directory of runs")],
    redo: Annotated[bool, typer.Option(help="time again runs timed before")] = False,
    root: Annotated[
        Path | None,
        typer.Option(help="a leaderboard whose published copies of these runs get the timing"),
    ] = None,
) -> None:
    """Time finished runs on an idle machine and place them on their family's solver curve
    (the speedup at equal accuracy, written into each record)."""
    from opbench.timing_pass import timing_pass as library

    for run_dir, result in library(runs, redo=redo, root=root):
        if isinstance(result, str):
            console.print(f"{run_dir.name}: {result}", highlight=False)
        else:
            console.print(f"{run_dir.name}: {result.equal_accuracy.summary()}", highlight=False)


@app.command("sweep")
@user_errors
def sweep(
    models: Annotated[
        list[str], typer.Option("--models", help="model names (repeatable or comma-separated)")
    ],
    datasets: Annotated[
        list[str],
        typer.Option(
            "--datasets",
            help="FAMILY[:CONFIG], e.g. condiff:poisson_grid64 (repeatable or comma-separated)",
        ),
    ],
    seeds: Annotated[
        list[str], typer.Option("--seeds", help="run seeds (repeatable or comma-separated)")
    ] = ["0"],  # noqa: B006  (typer reads list defaults this way)
    preset: Annotated[Preset, typer.Option(help="model preset")] = Preset.small,
    epochs: Annotated[int | None, typer.Option(min=0, help="epoch budget")] = None,
    task: Annotated[str | None, typer.Option(help="task (default: each family's)")] = None,
    data_dir: Annotated[
        list[str] | None,
        typer.Option(help="ROOT for every family, or FAMILY=ROOT (repeatable); default: cache"),
    ] = None,
    device: Annotated[Device, typer.Option(help="where to compute")] = Device.cpu,
    engine: Annotated[Engine, typer.Option(help="local (process pool) or ray")] = Engine.local,
    workers: Annotated[
        int | None, typer.Option(min=1, help="concurrent runs (default: one per core)")
    ] = None,
    address: Annotated[
        str | None, typer.Option(help="ray: cluster address (default: a new local instance)")
    ] = None,
    out: Annotated[Path, typer.Option(help="RUNS: where run directories go")] = Path("runs"),
    records: Annotated[
        Path | None,
        typer.Option(
            help="a directory of record files (e.g. leaderboards/records) whose runs count as done"
        ),
    ] = None,
    role: Annotated[Role, typer.Option(help="what the records are for")] = Role.board,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="override for every run: model.KEY=V, train.KEY=V, data.KEY=V"),
    ] = None,
    compile_: CompileOption = False,
    test_config: Annotated[
        list[str] | None,
        typer.Option(
            help="FAMILY:CONFIG: also score every run of that family on this config "
            "(repeatable or comma-separated)"
        ),
    ] = None,
    transfer_config: Annotated[
        list[str] | None,
        typer.Option(
            help="FAMILY:CONFIG: also score every run of that family on this config at "
            "another resolution of the same samples (repeatable or comma-separated)"
        ),
    ] = None,
    retry_failed: Annotated[bool, typer.Option(help="run again the runs that failed")] = False,
) -> None:
    """Run every MODEL × DATASET × SEED, skipping runs already recorded in OUT or RECORDS."""
    from opbench import sweep as library

    plan = library.plan(
        _names(models, "--models"),
        _names(datasets, "--datasets"),
        _seeds(seeds),
        out,
        preset=preset,
        epochs=epochs,
        overrides=parse_set(set_ or []),
        data_dirs=data_dir or [],
        task=task,
        device=device,
        role=role,
        retry_failed=retry_failed,
        records=records,
        command=_command(),
        compile=compile_,
        test_configs=_names(test_config or [], "--test-config") if test_config else (),
        transfer_configs=(_names(transfer_config, "--transfer-config") if transfer_config else ()),
    )
    console.print(
        f"{plan.n_total} runs: {plan.n_done} already recorded, {plan.n_failed_before} failed "
        f"before{' (--retry-failed to run them)' if plan.n_failed_before else ''}, "
        f"{len(plan.jobs)} to run ({sum(j.resume_dir is not None for j in plan.jobs)} resumed)"
    )
    start = time.monotonic()

    def report(outcome: library.Outcome, finished: int) -> None:
        left = len(plan.jobs) - finished
        eta = (time.monotonic() - start) / finished * left
        detail = outcome.error or ""
        if outcome.primary is not None and outcome.primary[1] is not None:
            detail = f"{outcome.primary[0]}={outcome.primary[1]:.4g}"
        console.print(
            f"[{finished}/{len(plan.jobs)}] {outcome.status:8} {outcome.job.label}  "
            f"{detail}  ({outcome.seconds:.0f} s; ~{eta / 60:.0f} min left)",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )

    outcomes = library.sweep(
        plan, out, engine=engine, workers=workers, address=address, progress=report
    )
    failed = sum(o.status == "failed" for o in outcomes)
    console.print(
        f"finished {len(outcomes) - failed} runs, {failed} failed "
        f"(details in {out / library.FAILED_DIR}/) in {(time.monotonic() - start) / 60:.1f} min"
    )
    if failed:
        raise typer.Exit(1)


@app.command("converge")
@user_errors
def converge(
    models: Annotated[
        list[str],
        typer.Option(
            "--models",
            help="MODEL or MODEL:PRESET (repeatable or comma-separated), e.g. lsm:small32",
        ),
    ],
    datasets: Annotated[
        list[str],
        typer.Option(
            "--datasets", help="FAMILY:CONFIG, one table each (repeatable or comma-separated)"
        ),
    ],
    seeds: Annotated[
        list[str],
        typer.Option("--seeds", help="board seeds (repeatable or comma-separated), the first 0"),
    ] = ["0", "1", "2"],  # noqa: B006  (typer reads list defaults this way)
    lrs: Annotated[
        list[str],
        typer.Option("--lrs", help="pilot learning rates (repeatable or comma-separated)"),
    ] = ["3e-4", "1e-3", "3e-3"],  # noqa: B006  (typer reads list defaults this way)
    pilot_epochs: Annotated[int, typer.Option(min=1, help="epochs of each pilot")] = 10,
    start_epochs: Annotated[int, typer.Option(min=1, help="first budget tried")] = 50,
    max_doublings: Annotated[int, typer.Option(min=0, help="budget doublings at most")] = 2,
    root: Annotated[
        Path, typer.Option(help="leaderboard directory: its records/ receive every run")
    ] = Path("leaderboards"),
    out: Annotated[Path, typer.Option(help="RUNS: where run directories go")] = Path("runs/board"),
    workers: Annotated[
        int | None, typer.Option(min=1, help="concurrent runs (default: one per core)")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="ROOT holding <config>/ (default: generate into the cache)")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="override for every run: model.KEY=V, train.KEY=V, data.KEY=V"),
    ] = None,
    test_config: Annotated[
        list[str] | None,
        typer.Option(
            help="FAMILY:CONFIG: also score board runs on this config (distribution shift)"
        ),
    ] = None,
    transfer_config: Annotated[
        list[str] | None,
        typer.Option(help="FAMILY:CONFIG: also score board runs at this resolution"),
    ] = None,
    equal_accuracy: Annotated[
        bool, typer.Option(help="place board runs on the solver's cost-accuracy curve")
    ] = False,
    compile_: CompileOption = False,
) -> None:
    """Train every MODEL on every table to convergence, with evidence: learning-rate pilots,
    an epoch budget that passes a doubling check, then the seeds (opbench.protocol)."""
    from opbench import protocol as library
    from opbench.sweep import family_configs

    def floats(values: list[str], option: str) -> tuple[float, ...]:
        try:
            return tuple(float(v) for v in _names(values, option))
        except ValueError:
            raise OpbenchError(f"{option}: {values!r} are not numbers") from None

    protocol = library.Protocol(
        tables=library.tables_of(_names(models, "--models"), _names(datasets, "--datasets")),
        out=out,
        root=root,
        settings=library.Settings(
            lrs=floats(lrs, "--lrs"),
            pilot_epochs=pilot_epochs,
            start_epochs=start_epochs,
            max_doublings=max_doublings,
            seeds=tuple(_seeds(seeds)),
        ),
        overrides=parse_set(set_ or []),
        data_dir=data_dir,
        test_configs=family_configs(_names(test_config, "--test-config"), "--test-config")
        if test_config
        else {},
        transfer_configs=family_configs(
            _names(transfer_config, "--transfer-config"), "--transfer-config"
        )
        if transfer_config
        else {},
        equal_accuracy=equal_accuracy,
        command=_command(),
        compile=compile_,
    )
    start = time.monotonic()

    def report(outcome: Any, statuses: list[library.Status]) -> None:
        if outcome is not None:
            detail = outcome.error or ""
            if outcome.primary is not None and outcome.primary[1] is not None:
                detail = f"{outcome.primary[0]}={outcome.primary[1]:.4g}"
            train = outcome.job.spec.train
            budget = f"epochs={train.epochs} lr={train.lr:g}" if train.epochs else "fitted"
            console.print(
                f"{outcome.status:8} {outcome.job.spec.role.value:5} {outcome.job.label} {budget}  "
                f"{detail}  ({outcome.seconds:.0f} s; "
                f"{(time.monotonic() - start) / 60:.0f} min in)",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
        for status in statuses:
            lr = f" lr={status.lr:g}" if status.lr is not None else ""
            console.print(
                f"  {status.table.label}: {status.state}{lr}", highlight=False, markup=False
            )

    outcomes = library.drive(protocol, workers or os.cpu_count() or 1, report)
    failed = sum(o.status == "failed" for o in outcomes)
    console.print(
        f"finished {len(outcomes)} runs ({failed} failed) in "
        f"{(time.monotonic() - start) / 60:.1f} min; records in {root}/records"
    )


def _command() -> str:
    """The command line as typed, for the record."""
    return shlex.join(["opbench", *sys.argv[1:]])


def _names(values: list[str], option: str) -> list[str]:
    """Names from repeated options, each of which may hold a comma-separated list."""
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    if not names:
        raise OpbenchError(f"{option} is empty")
    return names


def _seeds(values: list[str]) -> list[int]:
    seeds = []
    for text in _names(values, "--seeds"):
        try:
            seeds.append(int(text))
        except ValueError:
            raise OpbenchError(f"--seeds: {text!r} is not an integer") from None
    return seeds


@app.command("leaderboard")
@user_errors
def leaderboard(
    root: Annotated[Path, typer.Option(help="leaderboard directory holding records/")] = Path(
        "leaderboards"
    ),
    runs: Annotated[
        Path | None,
        typer.Option(help="first add every RUNS/*/record.json to ROOT/records (a private board)"),
    ] = None,
    check: Annotated[
        bool, typer.Option(help="write nothing; exit 1 if a generated file differs")
    ] = False,
) -> None:
    """Generate ROOT's tables (<family>.md, results.csv, index.html) from ROOT/records."""
    from opbench.results import publish
    from opbench.results.record import read_records

    if check:
        stale = publish.stale_files(root)
        if stale:
            errors.print(
                f"out of date in {root}: {', '.join(stale)}; run `opbench leaderboard --root "
                f"{root}` and commit the result",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(1)
        console.print(f"{root}: every generated file matches its records")
        return
    if runs is not None:
        records = read_records(runs)
        if not records:
            raise OpbenchError(f"no run records (*/record.json) under {runs}")
        publish.add_records([record.to_json() for record in records], root)
    for path in publish.publish(root):
        console.print(f"wrote {path}")


@app.command("submit")
@user_errors
def submit(
    records: Annotated[list[Path], typer.Argument(help="record.json files from opbench runs")],
    root: Annotated[Path, typer.Option(help="leaderboard directory holding records/")] = Path(
        "leaderboards"
    ),
    accept_dataset: Annotated[
        str | None,
        typer.Option(
            help="maintainers: first add each record's dataset to datasets.json, described so"
        ),
    ] = None,
) -> None:
    """Check run records made elsewhere and add them to the published leaderboard."""
    from opbench.results import publish
    from opbench.results import submit as library

    for path in library.submit(records, root, accept_dataset):
        console.print(f"added {path}")
    for path in publish.publish(root):
        console.print(f"wrote {path}")


@app.command("reproduce")
@user_errors
def reproduce(
    name: Annotated[str, typer.Argument(help="condiff, cfdbench or airfrans")],
    budget: Annotated[
        BudgetName, typer.Option(help="tiny (CI), small (minutes per run) or paper")
    ] = BudgetName.small,
    seeds: Annotated[
        list[str], typer.Option("--seeds", help="run seeds (repeatable or comma-separated)")
    ] = ["0", "1", "2"],  # noqa: B006  (typer reads list defaults this way)
    data_dir: Annotated[
        Path | None,
        typer.Option(help="ROOT holding the published files; otherwise opbench generates data"),
    ] = None,
    out: Annotated[Path, typer.Option(help="where data, runs and tables go")] = Path(
        "reproductions"
    ),
    workers: Annotated[
        int | None, typer.Option(min=1, help="concurrent runs (default: one per core)")
    ] = None,
    device: Annotated[Device, typer.Option(help="where to compute")] = Device.cpu,
    retry_failed: Annotated[bool, typer.Option(help="run again the runs that failed")] = False,
) -> None:
    """Re-run a paper's baselines with its recipe and set opbench's numbers beside its own."""
    from opbench import reproduce as library

    def report(outcome: Any, finished: int) -> None:
        console.print(
            f"[{finished}] {outcome.status:8} {outcome.job.label} ({outcome.seconds:.0f} s)",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )

    result = library.reproduce(
        name,
        budget=budget,
        seeds=_seeds(seeds),
        data_dir=data_dir,
        out=out,
        workers=workers,
        device=device,
        progress=report,
        retry_failed=retry_failed,
        log=lambda line: console.print(line, highlight=False, markup=False, soft_wrap=True),
    )
    typer.echo(result.markdown)
    console.print(f"wrote {result.markdown_path} and {result.csv_path}", highlight=False)


@app.command("schema")
@user_errors
def schema() -> None:
    """Print the JSON Schema of a run record (``record.json``), generated from its model."""
    from opbench.results.record import schema as record_schema

    typer.echo(json.dumps(record_schema(), indent=2, ensure_ascii=False))


_USAGE_ERRORS = (click.ClickException, getattr(typer, "TyperException", click.ClickException))
"""The command line's own errors (typer ≥ 0.2x raises its vendored click's)."""


def main() -> None:
    """The ``opbench`` command: the app, with usage errors as one line and exit status 2."""
    try:
        code = app(standalone_mode=False)
    except (click.exceptions.Abort, typer.Abort):
        sys.exit(1)
    except _USAGE_ERRORS as error:
        message = error.format_message() if hasattr(error, "format_message") else str(error)
        context = getattr(error, "ctx", None)
        where = f" (see `{context.command_path} --help`)" if context is not None else ""
        errors.print(
            f"[bold red]error:[/] {escape(message.replace('Value error, ', ''))}{where}",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(getattr(error, "exit_code", 2))
    sys.exit(code or 0)


@app.command("solve")
@user_errors
def solve(
    problem: Annotated[str, typer.Argument(help="cavity, tube, dam or cylinder")],
    re: Annotated[float, typer.Option("--re", help="Reynolds number U·L/ν")],
    out: Annotated[Path, typer.Option(help="directory for u.npy, v.npy, p.npy, solve.json")],
    grid: Annotated[int, typer.Option(help="solver cells across the domain height")] = 64,
    until: Annotated[
        str | None,
        typer.Option(help="'steady' or an end time in L/U (default: steady; cylinder 150)"),
    ] = None,
    width: Annotated[float | None, typer.Option(help="domain width in L")] = None,
    blockage: Annotated[float | None, typer.Option(help="cylinder: D/H (default 0.1)")] = None,
    barrier_height: Annotated[float | None, typer.Option(help="dam: in L (default 0.3)")] = None,
    barrier_width: Annotated[float | None, typer.Option(help="dam: in L (default 0.125)")] = None,
    reference: Annotated[
        Path | None, typer.Option(help="cavity: y,u,x,v centreline table to compare with")
    ] = None,
) -> None:
    """Solve one non-dimensional CFDBench-style flow (U = L = 1, ν = 1/Re) and write it."""
    from opbench.data.cfdbench import solve as library

    options = {
        "width": width,
        "blockage": blockage,
        "barrier_height": barrier_height,
        "barrier_width": barrier_width,
    }
    report = library.solve(problem, re, grid, out, until, options, reference)
    for line in report.lines():
        console.print(line, highlight=False)
