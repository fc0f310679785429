"""The ``opbench`` command line: a thin typer layer over the library.

Each command parses its options, calls one library function and prints the result.
User errors (:class:`~opbench.errors.OpbenchError`) print a one-line message to stderr
and exit with status 2, without a traceback.
"""

from __future__ import annotations

import functools
import shlex
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

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


def user_errors(fn: F) -> F:
    """Turn OpbenchError into a clear message and exit status 2 (130 for an interrupted run)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
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
    preset: Annotated[str, typer.Option(help="small or paper")] = "small",
    epochs: Annotated[int | None, typer.Option(min=0, help="epoch budget")] = None,
    seed: Annotated[int, typer.Option(help="run seed")] = 0,
    device: Annotated[str, typer.Option(help="cpu or cuda")] = "cpu",
    out: Annotated[Path, typer.Option(help="RUNS: where run directories go")] = Path("runs"),
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
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
) -> None:
    """Train MODEL on DATASET, score it on the test split once, and write a run record."""
    from opbench import runner
    from opbench.report import results_table

    if resume is not None:
        result = runner.resume(resume, progress=not quiet)
    else:
        spec = runner.resolve(
            model,
            dataset,
            config=config,
            task=task,
            data_dir=data_dir,
            preset=preset,
            epochs=epochs,
            seed=seed,
            device=device,
            overrides=set_ or [],
            test_configs=test_config or [],
            command=shlex.join(["opbench", *sys.argv[1:]]),
        )
        result = runner.run(spec, out, progress=not quiet)
    if result.record is not None:  # rank 0 (or the only process)
        console.print(results_table(result.record))
        console.print(f"record: {result.run_dir / 'record.json'}")


@app.command("leaderboard")
@user_errors
def leaderboard(
    runs: Annotated[Path, typer.Option(help="RUNS: directory of run directories")] = Path("runs"),
    out: Annotated[Path, typer.Option(help="where to write <family>.md and results.csv")] = Path(
        "leaderboards"
    ),
) -> None:
    """Aggregate run records into leaderboard tables."""
    from opbench.results.record import read_records
    from opbench.results.render import write_leaderboard

    records = read_records(runs)
    if not records:
        raise OpbenchError(f"no run records (*/record.json) under {runs}")
    for path in write_leaderboard(records, out):
        console.print(f"wrote {path}")


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
