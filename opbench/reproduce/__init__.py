"""``opbench reproduce``: a paper's baselines re-run with its recipe, beside its numbers.

One module per paper (:mod:`.condiff`, :mod:`.cfdbench`, :mod:`.airfrans`) registers a
:class:`~opbench.reproduce.recipe.Reproduction` in :data:`REPRODUCTIONS`: the published
numbers with their source (the paper, table or figure), the models and configs, each model's
recipe and the three budgets ``tiny``, ``small`` and ``paper``. :func:`reproduce` then

1. resolves the recipe of every model and config for the budget;
2. decides the data: the published files when ``data_dir`` holds them (rows say
   ``real``), otherwise opbench-generated data of the same kind, written in the published
   format under ``out/<name>/data/`` by the family's ``generate`` (rows say ``generated``,
   and the table says that the published data was not found);
3. runs every model × config × seed through :func:`opbench.sweep.plan` and
   :func:`opbench.sweep.sweep` into ``out/<name>/runs/``, so a second call skips the
   recorded runs and resumes interrupted ones;
4. reads the records of exactly those runs (matched by config hash and seed) and writes
   ``out/<name>/reproduction-<budget>.md`` and ``.csv`` atomically.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import opbench
from opbench.config import BudgetName, Device, RunSpec, format_overrides, merge
from opbench.data import DATASETS
from opbench.data.cache import ensure_generated
from opbench.io import stable_hash, write_text_atomic
from opbench.models import MODELS
from opbench.reproduce.recipe import (
    REPRODUCTIONS,
    Budget,
    ModelRecipe,
    Published,
    Reproduction,
    check_seeds,
    register,
)
from opbench.reproduce.table import Row, csv_text, markdown_table, recipe_text, rows_for
from opbench.results.record import RECORD_NAME, Record, read_record
from opbench.run import resolve
from opbench.sweep import (
    FAILED_DIR,
    Key,
    Outcome,
    Progress,
    SweepJob,
    identify,
    scan_runs,
    sort_jobs,
    sweep,
)

__all__ = [
    "REPRODUCTIONS",
    "Budget",
    "BudgetName",
    "DataSource",
    "ModelRecipe",
    "Published",
    "Reproduction",
    "ReproductionResult",
    "Row",
    "register",
    "reproduce",
]

Log = Callable[[str], None]


@dataclass(frozen=True)
class DataSource:
    """Where one config's data comes from.

    Attributes:
        config: the dataset config.
        root: the ``--data-dir`` its runs read (the user's, or the generated folder).
        found: whether ``data_dir`` held files in the published layout (the records, and so
            the rows, then say ``real``, or ``generated`` for files with an opbench sidecar).
        message: one line for the table (states the generated fallback plainly).
    """

    config: str
    root: Path
    found: bool
    message: str


@dataclass
class ReproductionResult:
    """What :func:`reproduce` did and wrote.

    Attributes:
        name, budget, seeds: the request.
        rows: the table rows, in table order.
        messages: data and run notes (also in the Markdown file).
        markdown: the Markdown text written to ``markdown_path``.
        markdown_path, csv_path: ``out/<name>/reproduction-<budget>.md`` and ``.csv``.
        runs_dir: ``out/<name>/runs``, the run directories.
        data: config → :class:`DataSource`.
        outcomes: the runs executed by this call (empty when all were recorded before).
        n_skipped: runs already recorded, not run again.
        n_failed_before: runs skipped because an earlier attempt failed.
    """

    name: str
    budget: str
    seeds: list[int]
    rows: list[Row]
    messages: list[str]
    markdown: str
    markdown_path: Path
    csv_path: Path
    runs_dir: Path
    data: dict[str, DataSource]
    outcomes: list[Outcome]
    n_skipped: int
    n_failed_before: int


@dataclass(frozen=True)
class _Group:
    """One model recipe on one config: its overrides and resolved runs (per seed)."""

    recipe: ModelRecipe
    config: str
    overrides: dict[str, Any]
    specs: list[RunSpec]


def _quiet_progress(outcome: Outcome, finished: int) -> None:
    """Default progress callback: says nothing."""


def _quiet_log(line: str) -> None:
    """Default log callback: says nothing."""


def reproduce(
    name: str,
    *,
    budget: BudgetName | str = BudgetName.small,
    seeds: Sequence[int] = (0, 1, 2),
    data_dir: Path | None = None,
    out: Path = Path("reproductions"),
    workers: int | None = None,
    device: Device | str = Device.cpu,
    progress: Progress = _quiet_progress,
    retry_failed: bool = False,
    log: Log = _quiet_log,
) -> ReproductionResult:
    """Run reproduction ``name`` at ``budget`` and write its table (module docstring).

    ``progress(outcome, finished)`` is called after each run (as for a sweep), ``log(line)``
    before long steps (data generation, the sweep). ``workers`` is the number of concurrent
    runs (default :func:`concurrent_runs`: one per core, or on a GPU every run at once) and
    of data-generation processes. Raises ConfigError for
    an unknown name or budget, an empty or invalid ``seeds``, or a bad option of a run.
    """
    reproduction = REPRODUCTIONS.get(name)
    chosen = reproduction.budget(budget)
    chosen_name = BudgetName(budget).value
    seeds = check_seeds(seeds)
    root = Path(out) / name
    runs = root / "runs"
    sources = {
        config: _locate(reproduction, config, chosen, data_dir, root / "data")
        for config in chosen.configs
    }
    for recipe, config in reproduction.groups(chosen):  # a bad option fails before any work
        _group(reproduction, recipe, config, chosen, None, seeds, device, None)
    sources = {
        config: _generate(reproduction, source, chosen, workers, log)
        for config, source in sources.items()
    }
    command = f"opbench reproduce {name} --budget {chosen_name}"
    groups = [
        _group(reproduction, recipe, config, chosen, sources[config].root, seeds, device, command)
        for recipe, config in reproduction.groups(chosen)
    ]
    jobs = {id(group): identify(group.specs) for group in groups}
    merged = sort_jobs([job for group in groups for job in jobs[id(group)]], runs, retry_failed)
    run_note = (
        f"{merged.n_total} runs: {merged.n_done} already recorded (skipped), "
        f"{merged.n_failed_before} failed before (skipped), {len(merged.jobs)} to run"
    )
    workers = workers or concurrent_runs(device, len(merged.jobs))
    run_note += f", {workers} at a time on {Device(device).value}"
    log(run_note)
    outcomes = sweep(merged, runs, workers=workers, progress=progress)
    records = _records_by_key(runs)
    rows = [
        row
        for group in groups
        for row in _rows(reproduction, group, jobs[id(group)], records, runs)
    ]
    messages = [source.message for source in sources.values()]
    messages.append(run_note)
    n_failed = sum(o.status == "failed" for o in outcomes)
    if n_failed:
        messages.append(f"{n_failed} run(s) failed now: see {runs / FAILED_DIR}")
    markdown = _markdown(reproduction, chosen_name, chosen, seeds, rows, messages, runs)
    markdown_path = root / f"reproduction-{chosen_name}.md"
    csv_path = root / f"reproduction-{chosen_name}.csv"
    write_text_atomic(markdown_path, markdown)
    write_text_atomic(csv_path, csv_text(rows))
    return ReproductionResult(
        name,
        chosen_name,
        seeds,
        rows,
        messages,
        markdown,
        markdown_path,
        csv_path,
        runs,
        sources,
        outcomes,
        merged.n_done,
        merged.n_failed_before,
    )


def concurrent_runs(device: Device | str, n_jobs: int) -> int:
    """How many runs go at once by default: one per core on a CPU; on a GPU every run at
    once (up to one per core, each with one thread), since the recipes' small networks
    leave one GPU mostly idle when they run one after another, waiting on Python."""
    cores = os.cpu_count() or 1
    if Device(device) == Device.cuda:
        return max(1, min(n_jobs, cores))
    return cores


def _locate(
    reproduction: Reproduction, config: str, budget: Budget, data_dir: Path | None, out: Path
) -> DataSource:
    """The published files under ``data_dir`` when they are there, else the folder under
    ``out`` for generated data of this config and sizes (:func:`_generate` fills it)."""
    if data_dir is not None and reproduction.has_published_data(Path(data_dir), config):
        found = Path(data_dir).resolve()
        return DataSource(
            config, found, True, f"{config}: data in the published layout found at {found}"
        )
    options = dict(budget.generate)
    key = stable_hash({"family": reproduction.family, "config": config, **options}, length=8)
    root = (out / f"{config.replace('/', '_')}-{key}").resolve()
    sizes = ", ".join(f"{k}={v}" for k, v in options.items()) or "generator defaults"
    where = data_dir if data_dir is not None else "(no --data-dir given)"
    message = (
        f"{config}: published data not found at {where}; using opbench-generated data of "
        f"the same kind, in the published format ({sizes}) at {root}"
    )
    return DataSource(config, root, False, message)


def _generate(
    reproduction: Reproduction,
    source: DataSource,
    budget: Budget,
    workers: int | None,
    log: Log,
) -> DataSource:
    """Generate the data of ``source`` once (atomically, under a lock); the returned
    source's message says whether it was generated now or reused."""
    if source.found:
        return source
    if source.root.is_dir():
        return replace(source, message=f"{source.message}; reused")
    log(f"{source.config}: generating opbench data into {source.root}")
    family = DATASETS.get(reproduction.family)
    options = dict(budget.generate)
    start = time.perf_counter()
    ensure_generated(
        source.root, lambda tmp: family.generate(source.config, tmp, workers=workers, **options)
    )
    seconds = time.perf_counter() - start
    return replace(source, message=f"{source.message}; generated in {seconds:.1f} s")


def _group(
    reproduction: Reproduction,
    recipe: ModelRecipe,
    config: str,
    budget: Budget,
    data_root: Path | None,
    seeds: Sequence[int],
    device: Device | str,
    command: str | None,
) -> _Group:
    """The overrides of one recipe on one config at ``budget`` and its runs, resolved as
    :func:`opbench.sweep.plan` resolves them; with ``data_root`` ``None`` only the names and
    options are checked."""
    fitted = MODELS.get(recipe.model).fitted
    overrides = merge(recipe.overrides_for(config), budget.overrides(fitted))
    specs = [
        resolve(
            recipe.model,
            reproduction.family,
            config=config,
            task=recipe.task,
            data_dir=data_root,
            preset=recipe.preset,
            seed=seed,
            device=device,
            overrides=overrides,
            command=command,
        )
        for seed in seeds
    ]
    return _Group(recipe, config, overrides, specs)


def _records_by_key(runs: Path) -> dict[Key, Record]:
    """The records under ``runs`` by (run hash, seed); the latest run of a key wins."""
    done, _ = scan_runs(runs)
    return {key: read_record(run_dir / RECORD_NAME) for key, run_dir in done.items()}


def _rows(
    reproduction: Reproduction,
    group: _Group,
    jobs: Sequence[SweepJob],
    records: dict[Key, Record],
    runs: Path,
) -> list[Row]:
    found, n_failed = [], 0
    for job in jobs:
        if job.key in records:
            found.append(records[job.key].to_json())
        elif (runs / FAILED_DIR / job.failure_name).is_file():
            n_failed += 1
    task, model = group.recipe.task, group.recipe.model
    metrics = reproduction.metrics[task]
    published = [reproduction.published_value(group.config, task, model, m) for m in metrics]
    fitted = MODELS.get(model).fitted
    return rows_for(group.specs[0], fitted, metrics, published, found, n_failed)


def _recipe_lines(reproduction: Reproduction, budget: Budget) -> list[str]:
    """One line per model (and per config where the recipe differs by config)."""
    lines = []
    for recipe in reproduction.models:
        by_overrides: dict[str, tuple[dict[str, Any], list[str]]] = {}
        for config in budget.configs:
            if recipe.runs_on(config):
                overrides = recipe.overrides_for(config)
                key = json.dumps(overrides, sort_keys=True)
                by_overrides.setdefault(key, (overrides, []))[1].append(config)
        for overrides, configs in by_overrides.values():
            spec = resolve(
                recipe.model,
                reproduction.family,
                config=configs[0],
                task=recipe.task,
                preset=recipe.preset,
                overrides=overrides,
            )
            shown = format_overrides(overrides)
            sets_text = f"; `--set {shown}`" if shown else ""
            lines.append(
                f"- **{recipe.model}** on {', '.join(configs)} ({recipe.task}; preset "
                f"`{recipe.preset}`{sets_text}): "
                f"{recipe_text(spec, MODELS.get(recipe.model).fitted)}."
                + (f" {recipe.note}" if recipe.note else "")
            )
    return lines


def _markdown(
    reproduction: Reproduction,
    budget_name: str,
    budget: Budget,
    seeds: Sequence[int],
    rows: Sequence[Row],
    messages: Sequence[str],
    runs: Path,
) -> str:
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    budget_lines = [f"- `{budget_name}`: {budget.description}"]
    added = {"every trained run": {"train": budget.train}, "every run": {"data": budget.data}}
    budget_lines += [
        f"- `--set` added to {whom}: `{format_overrides(values)}`"
        for whom, values in added.items()
        if format_overrides(values)
    ]
    if not any(added.values()):
        budget_lines.append("- the recipe as published: nothing added, no cap")
    parts = [
        f"# Reproduction `{reproduction.name}`: {reproduction.title}",
        "",
        f"Budget `{budget_name}`, seeds {', '.join(map(str, seeds))}; opbench "
        f"{opbench.__version__}, written {stamp}. Runs: `{runs}`.",
        "",
        *(f"- {m}" for m in messages),
        "",
        markdown_table(rows),
        "",
        "Published and opbench numbers are never mixed: the *published* column is copied "
        "from the paper (source in brackets), the *opbench* column is the mean over the "
        "seeds' run records (sample std over seeds, ddof=1, needs two seeds); "
        "\u201c\u2014\u201d means the paper published no number for that row.",
        "",
        "## Recipe",
        "",
        *_recipe_lines(reproduction, budget),
        "",
        "## Budget",
        "",
        *budget_lines,
        "",
        "## Caveats",
        "",
        *(f"- {c}" for c in reproduction.caveats),
        "",
    ]
    return "\n".join(parts)


from opbench.reproduce import airfrans, cfdbench, condiff  # noqa: E402, F401  (register)
