"""Sweeps: every model × dataset × seed combination, run by a local process pool or by Ray.

A sweep is planned in full before anything runs: every name, preset, option and
model/layout pairing is checked, so a typo fails at once rather than an hour in. Each run
is identified by its **config hash** (the resolved :class:`~opbench.runner.RunSpec`
without the seed and the command line) and its seed. The sweep looks in ``out`` first:

- a run directory with a ``record.json`` of the same hash and seed is **done** (skipped);
- one with ``config.json`` and per-epoch checkpoints but no record was **interrupted**
  and is resumed from its last checkpoint;
- a failure file ``out/failed/<model>-<dataset>-<config>-s<seed>-<hash>.json`` marks a
  run that **failed** (skipped unless ``retry_failed``).

A failing run writes its failure file (error type, message, traceback) and the sweep
goes on; so does a worker process that dies. Each run trains with
``cores // workers`` threads.
"""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
import os
import re
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from opbench.errors import ConfigError, unknown_name
from opbench.io import stable_hash, write_json_atomic
from opbench.registry import Registry
from opbench.results.record import RECORD_NAME
from opbench.runner import CONFIG_FILE, RunSpec, resolve
from opbench.runner import resume as resume_run
from opbench.runner import run as start_run

FAILED_DIR = "failed"
"""Subdirectory of the sweep's ``out`` that holds failure files."""


def config_hash(spec: dict[str, Any]) -> str:
    """Short hash of a run's resolved config (``config.json``) without seed and command."""
    return stable_hash({k: v for k, v in spec.items() if k not in ("seed", "command")})


@dataclass(frozen=True)
class SweepJob:
    """One run of a sweep: its resolved config and, if interrupted, the directory to resume."""

    spec: dict[str, Any]
    resume_dir: str | None = None

    @property
    def key(self) -> tuple[str, int]:
        return config_hash(self.spec), self.spec["seed"]

    @property
    def label(self) -> str:
        spec = self.spec
        return f"{spec['model']} {spec['dataset']}:{spec['config']} seed {spec['seed']}"

    @property
    def failure_name(self) -> str:
        spec = self.spec
        config = re.sub(r"[^A-Za-z0-9_.-]", "_", spec["config"])
        return f"{spec['model']}-{spec['dataset']}-{config}-s{spec['seed']}-{self.key[0]}.json"


@dataclass(frozen=True)
class Outcome:
    """How one run ended: ``ok``, ``budget`` or ``diverged`` (it wrote a record) or
    ``failed`` (it wrote a failure file)."""

    job: SweepJob
    status: str
    seconds: float
    primary: tuple[str, float | None] | None = None
    run_dir: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class SweepPlan:
    """The runs still to do, and those skipped: recorded already, or failed before."""

    jobs: list[SweepJob]
    done: list[SweepJob]
    failed_before: list[SweepJob]

    @classmethod
    def merged(cls, plans: Sequence[SweepPlan]) -> SweepPlan:
        """One plan holding the runs of ``plans``, in order."""
        return cls(*([job for p in plans for job in getattr(p, part)] for part in _PARTS))

    @property
    def n_done(self) -> int:
        return len(self.done)

    @property
    def n_failed_before(self) -> int:
        return len(self.failed_before)

    @property
    def n_total(self) -> int:
        return len(self.jobs) + self.n_done + self.n_failed_before


_PARTS = ("jobs", "done", "failed_before")


def parse_datasets(values: Sequence[str]) -> list[tuple[str, str | None]]:
    """``condiff:poisson_grid64`` → ``("condiff", "poisson_grid64")``; ``condiff`` →
    ``("condiff", None)`` (the family's default config)."""
    parsed = []
    for value in values:
        family, _, config = value.partition(":")
        if not family:
            raise ConfigError(f"--datasets entry {value!r} is not FAMILY or FAMILY:CONFIG")
        parsed.append((family, config or None))
    return parsed


def parse_data_dirs(values: Sequence[str]) -> dict[str | None, Path]:
    """``--data-dir ROOT`` (every family) or ``--data-dir FAMILY=ROOT`` → family → root.

    Only a registered family name before the first ``=`` makes a ``FAMILY=`` prefix, so a
    path that holds ``=`` is read whole.
    """
    from opbench.data import DATASETS

    roots: dict[str | None, Path] = {}
    for value in values:
        family, sep, root = value.partition("=")
        if sep and family in DATASETS:
            roots[family] = Path(root)
        else:
            roots[None] = Path(value)
    return roots


def plan(
    models: Sequence[str],
    datasets: Sequence[str],
    seeds: Sequence[int],
    out: Path,
    *,
    preset: str = "small",
    epochs: int | None = None,
    overrides: Sequence[str] = (),
    data_dirs: Sequence[str] = (),
    task: str | None = None,
    device: str = "cpu",
    retry_failed: bool = False,
    command: str | None = None,
) -> SweepPlan:
    """Resolve every combination and sort it into to-do, done and failed-before.

    Raises :class:`ConfigError` for an unknown name or option, an empty list, or a model
    that cannot read a dataset's layout (each dataset is loaded once to find its task).
    """
    from opbench.data import DATASETS
    from opbench.models import MODELS

    if not models or not datasets or not seeds:
        raise ConfigError("a sweep needs at least one model, one dataset and one seed")
    roots = parse_data_dirs(data_dirs)
    specs = []
    for family_name, config in parse_datasets(datasets):
        data_dir = roots.get(family_name, roots.get(None))
        family_specs = [
            resolve(
                model,
                family_name,
                config=config,
                task=task,
                data_dir=data_dir,
                preset=preset,
                epochs=epochs,
                seed=seed,
                device=device,
                overrides=overrides,
                command=command,
            )
            for model in models
            for seed in seeds
        ]
        _check_layouts(DATASETS.get(family_name), family_specs, MODELS)
        specs += family_specs
    return _sort(specs, Path(out), retry_failed)


def _check_layouts(family: Any, specs: Sequence[RunSpec], models: Registry[Any]) -> None:
    """Load the dataset of ``specs`` once and check every model reads its layout."""
    first = specs[0]
    data_dir = Path(first.data_dir) if first.data_dir else None
    task = family.load_benchmark(first.config, first.task, first.data, data_dir).task
    for spec in specs:
        models.get(spec.model).check_layout(task)


def _sort(specs: Sequence[RunSpec], out: Path, retry_failed: bool) -> SweepPlan:
    done, interrupted = scan_runs(out)
    failed = {p.name for p in (out / FAILED_DIR).glob("*.json")} if not retry_failed else set()
    parts: dict[str, list[SweepJob]] = {part: [] for part in _PARTS}
    seen: set[tuple[str, int]] = set()
    for spec in specs:
        job = SweepJob(spec.to_dict())
        if job.key in seen:
            continue
        seen.add(job.key)
        if job.key in done:
            parts["done"].append(job)
        elif job.failure_name in failed:
            parts["failed_before"].append(job)
        else:
            parts["jobs"].append(SweepJob(job.spec, interrupted.get(job.key)))
    return SweepPlan(**parts)


def scan_runs(out: Path) -> tuple[dict[tuple[str, int], Path], dict[tuple[str, int], str]]:
    """(config hash, seed) → run directory of the complete runs under ``out``, and of the
    interrupted ones (per-epoch checkpoint, no record)."""
    done: dict[tuple[str, int], Path] = {}
    interrupted: dict[tuple[str, int], str] = {}
    for config_path in sorted(out.glob(f"*/{CONFIG_FILE}")):
        try:
            spec = json.loads(config_path.read_text())
            key = (config_hash(spec), spec["seed"])
        except (ValueError, KeyError, TypeError):
            continue  # not a run directory of ours
        run_dir = config_path.parent
        if (run_dir / RECORD_NAME).is_file():
            done[key] = run_dir
        elif (run_dir / "checkpoints" / "last.safetensors").is_file():
            interrupted[key] = str(run_dir)
    return done, interrupted


def execute(job: SweepJob, out: str, threads: int) -> Outcome:
    """Run (or resume) one job; never raises: a failure is written to ``out/failed/``."""
    torch.set_num_threads(threads)
    start = time.perf_counter()
    try:
        if job.resume_dir is not None:
            result = resume_run(Path(job.resume_dir), progress=False)
        else:
            result = start_run(RunSpec.from_dict(job.spec), Path(out), progress=False)
    except Exception as error:
        message = f"{type(error).__name__}: {error}"
        return record_failure(job, Path(out), message, traceback.format_exc(), start)
    record = result.record
    assert record is not None  # one process per run: always rank 0, which writes the record
    name = record["primary_metric"]
    return Outcome(
        job,
        record["train"]["status"],
        time.perf_counter() - start,
        (name, record["metrics"]["test"][name]["mean"]),
        str(result.run_dir),
    )


def record_failure(
    job: SweepJob, out: Path, message: str, details: str, start: float | None = None
) -> Outcome:
    """Write ``out/failed/<job>.json`` and return the failed outcome."""
    seconds = time.perf_counter() - start if start is not None else 0.0
    write_json_atomic(
        out / FAILED_DIR / job.failure_name,
        {"config": job.spec, "error": message, "traceback": details, "seconds": seconds},
    )
    return Outcome(job, "failed", seconds, error=message)


Progress = Callable[[Outcome, int], None]
"""Called after each finished run with its outcome and the number finished so far."""

Engine = Callable[[Sequence[SweepJob], Path, int, Progress, str | None], list[Outcome]]
ENGINES: Registry[Engine] = Registry("sweep engine")


def threads_per_run(workers: int) -> int:
    """Torch threads for each of ``workers`` concurrent runs on this machine."""
    return max(1, (os.cpu_count() or 1) // workers)


@ENGINES.register("local")
def run_local(
    jobs: Sequence[SweepJob], out: Path, workers: int, progress: Progress, address: str | None
) -> list[Outcome]:
    """A process pool of ``workers`` fresh (spawned) processes, one run per process.

    A process that dies (killed, out of memory) breaks the pool: the runs it held are
    recorded as failed and a new pool takes the rest.
    """
    if address is not None:
        raise ConfigError("--address applies to --engine ray only")
    threads = threads_per_run(workers)
    pending = list(jobs)
    outcomes: list[Outcome] = []
    context = multiprocessing.get_context("spawn")
    while pending:
        with concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=context, max_tasks_per_child=1
        ) as pool:
            futures = {pool.submit(execute, job, str(out), threads): job for job in pending}
            pending = []
            for future in concurrent.futures.as_completed(futures):
                try:
                    outcome = future.result()
                except BrokenProcessPool as error:
                    outcome = record_failure(futures[future], out, f"worker died: {error}", "")
                outcomes.append(outcome)
                progress(outcome, len(outcomes))
    return outcomes


@ENGINES.register("ray")
def run_ray(
    jobs: Sequence[SweepJob], out: Path, workers: int, progress: Progress, address: str | None
) -> list[Outcome]:
    """Ray tasks on the cluster at ``address`` (a new local instance when ``None``).

    Each task asks Ray for ``cores // workers`` CPUs (``workers`` sizes the share of this
    machine when Ray starts locally) and writes to ``out``, which must be shared storage
    on a multi-node cluster. Needs the ``ray`` extra (``pip install opbench[ray]``).
    """
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--engine ray needs Ray: pip install 'opbench[ray]' (or pip install ray)"
        ) from None
    threads = threads_per_run(workers)
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, num_cpus=None if address else workers * threads)
    try:
        remote = ray.remote(num_cpus=threads, max_retries=0)(execute)
        futures = {remote.remote(job, str(out.resolve()), threads): job for job in jobs}
        outcomes: list[Outcome] = []
        waiting = list(futures)
        while waiting:
            ready, waiting = ray.wait(waiting, num_returns=1)
            try:
                outcome = ray.get(ready[0])
            except Exception as error:
                outcome = record_failure(futures[ready[0]], out, f"ray task failed: {error}", "")
            outcomes.append(outcome)
            progress(outcome, len(outcomes))
        return outcomes
    finally:
        if started_here:
            ray.shutdown()


def sweep(
    sweep_plan: SweepPlan,
    out: Path,
    *,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    progress: Progress = lambda outcome, n: None,
) -> list[Outcome]:
    """Run the plan's jobs with ``engine`` (``local`` or ``ray``) and return their outcomes.

    ``workers`` defaults to the number of cores (so one thread per run).
    """
    if engine not in ENGINES:
        raise unknown_name("sweep engine", engine, ENGINES.names())
    workers = workers or os.cpu_count() or 1
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, not {workers}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not sweep_plan.jobs:
        return []
    return ENGINES.get(engine)(sweep_plan.jobs, out, workers, progress, address)
