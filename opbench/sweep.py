"""Sweeps: every model × dataset × seed combination, run by a local process pool or by Ray.

A sweep is planned in full before anything runs: every name, preset, option and
model/layout pairing is checked (by :func:`opbench.run.resolve`, from the layouts its
dataset family declares), and then each dataset is loaded once (generated into the cache
if needed) to learn its data fingerprint. Each run is identified by its
**run hash** (:func:`opbench.config.run_hash`: model, hyperparameters, trainer settings,
the data by fingerprint and task options; never paths, devices or thread counts) and its
seed. The sweep then sorts the runs:

- a run whose hash and seed are in a ``record.json`` under ``out``, or in a record file of
  ``records`` (a published leaderboard's ``records/``), is **done** and skipped, so a sweep
  restarted on a fresh clone skips everything already committed;
- a run directory under ``out`` with ``config.json``, ``dataset.json`` and per-epoch
  checkpoints but no record was **interrupted** and is resumed from its last checkpoint;
- a failure file ``out/failed/<model>-<dataset>-<config>-s<seed>-<hash>.json`` marks a run
  that **failed** (skipped unless ``retry_failed``).

A failing run writes its failure file (error type, message, traceback) and the sweep
goes on; so does a worker process that dies. Each run trains with
``cores // workers`` threads.
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from opbench.config import Device, Engine, Preset, Role, RunSpec, choice, run_hash
from opbench.data import DATASETS
from opbench.errors import ConfigError
from opbench.io import check_writable_dir, write_json_atomic
from opbench.models import MODELS
from opbench.registry import Registry
from opbench.results.record import RECORD_NAME, Record, read_record
from opbench.run import CONFIG_FILE, read_spec, resolve, started_identity
from opbench.run import resume as resume_run
from opbench.run import run as start_run
from opbench.workers import process_pool

FAILED_DIR = "failed"
"""Subdirectory of the sweep's ``out`` that holds failure files."""

Key = tuple[str, int]
"""(run hash, seed): what identifies a run's result."""


@dataclass(frozen=True)
class SweepJob:
    """One run of a sweep: its resolved spec, its run hash and, if interrupted, the
    directory to resume."""

    spec: RunSpec
    run_hash: str
    resume_dir: str | None = None

    @property
    def key(self) -> Key:
        return self.run_hash, self.spec.seed

    @property
    def label(self) -> str:
        spec = self.spec
        return f"{spec.model} {spec.dataset}:{spec.config} seed {spec.seed}"

    @property
    def failure_name(self) -> str:
        spec = self.spec
        config = re.sub(r"[^A-Za-z0-9_.-]", "_", spec.config)
        return f"{spec.model}-{spec.dataset}-{config}-s{spec.seed}-{self.run_hash}.json"


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


def family_configs(values: Sequence[str], option: str) -> dict[str, list[str]]:
    """``FAMILY:CONFIG`` entries of ``option`` → family → configs."""
    configs: dict[str, list[str]] = {}
    for family, config in parse_datasets(values):
        if config is None:
            raise ConfigError(f"{option} {family!r} names no config: use FAMILY:CONFIG")
        configs.setdefault(family, []).append(config)
    return configs


def parse_data_dirs(values: Sequence[str]) -> dict[str | None, Path]:
    """``--data-dir ROOT`` (every family) or ``--data-dir FAMILY=ROOT`` → family → root.

    Only a registered family name before the first ``=`` makes a ``FAMILY=`` prefix, so a
    path that holds ``=`` is read whole.
    """
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
    preset: Preset | str = Preset.small,
    epochs: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    data_dirs: Sequence[str] = (),
    task: str | None = None,
    device: Device | str = Device.cpu,
    role: Role | str = Role.board,
    retry_failed: bool = False,
    records: Path | None = None,
    command: str | None = None,
    compile: bool = False,
    test_configs: Sequence[str] = (),
    transfer_configs: Sequence[str] = (),
) -> SweepPlan:
    """Resolve every combination and sort it into to-do, done and failed-before.

    ``test_configs`` (``FAMILY:CONFIG``): every run of that family, on any other config,
    is also scored on that config (``--test-config``, a distribution-shift test).
    ``transfer_configs`` (``FAMILY:CONFIG``): likewise at another resolution of the same
    samples (``--transfer-config``, resolution transfer; ConDiff's paired variant).

    ``overrides`` is the nested dict of :func:`opbench.run.resolve`; ``records`` a
    directory of record files whose runs count as done. Raises :class:`ConfigError` for an
    unknown name or option, an empty list, an unwritable ``out``, or a model that cannot
    read a dataset's layout, all before any dataset is loaded (each is then loaded once to
    find its fingerprint).
    """
    if not models or not datasets or not seeds:
        raise ConfigError("a sweep needs at least one model, one dataset and one seed")
    check_writable_dir(out, "--out")
    roots = parse_data_dirs(data_dirs)
    shifted = family_configs(test_configs, "--test-config")
    transferred = family_configs(transfer_configs, "--transfer-config")
    specs = [
        resolve(
            model,
            family_name,
            config=config,
            task=task,
            data_dir=roots.get(family_name, roots.get(None)),
            preset=preset,
            epochs=epochs,
            seed=seed,
            device=device,
            overrides=overrides,
            role=role,
            command=command,
            compile=compile,
            test_configs=[c for c in shifted.get(family_name, []) if c != config],
            transfer_configs=[c for c in transferred.get(family_name, []) if c != config],
        )
        for family_name, config in parse_datasets(datasets)
        for model in models
        for seed in seeds
    ]
    jobs = identify(specs)  # loads each dataset once, after every name has been checked
    return sort_jobs(jobs, Path(out), retry_failed, records)


def identify(
    specs: Sequence[RunSpec], identities: dict[str, dict[str, Any]] | None = None
) -> list[SweepJob]:
    """The jobs of ``specs``: each distinct dataset is loaded once (``identities`` keeps
    what was loaded across calls) and each run gets its run hash from the data's
    identity."""
    identities = {} if identities is None else identities
    jobs = []
    for spec in specs:
        data = spec.model_dump_json(include={"dataset", "config", "task", "data", "data_dir"})
        if data not in identities:
            family = DATASETS.get(spec.dataset)
            data_dir = Path(spec.data_dir) if spec.data_dir else None
            benchmark = family.load_benchmark(spec.config, spec.task, spec.data, data_dir)
            identities[data] = benchmark.info.identity()
        identity = identities[data]
        jobs.append(SweepJob(spec, spec.run_hash(identity)))
    return jobs


def sort_jobs(
    jobs: Sequence[SweepJob], out: Path, retry_failed: bool = False, records: Path | None = None
) -> SweepPlan:
    """Sort ``jobs`` into done (recorded under ``out`` or in ``records``), failed before,
    and to do (resuming the interrupted ones); a repeated job is kept once."""
    done, interrupted = scan_runs(out)
    recorded = set(done) | (set(scan_records(records)) if records is not None else set())
    failed = {p.name for p in (out / FAILED_DIR).glob("*.json")} if not retry_failed else set()
    parts: dict[str, list[SweepJob]] = {part: [] for part in _PARTS}
    seen: set[Key] = set()
    for job in jobs:
        if job.key in seen:
            continue
        seen.add(job.key)
        if job.key in recorded:
            parts["done"].append(job)
        elif job.failure_name in failed:
            parts["failed_before"].append(job)
        else:
            parts["jobs"].append(SweepJob(job.spec, job.run_hash, interrupted.get(job.key)))
    return SweepPlan(**parts)


def record_key(record: Record) -> Key:
    """(run hash, seed) of a record. A version-1 record stored no hash: it is computed from
    what the record holds, exactly as a new run's (hyperparameters and trainer settings
    normalised by their typed models, the data's identity by the family's metadata)."""
    if record.run_hash is not None:
        return record.run_hash, record.train.seed
    family = DATASETS.get(record.dataset.family)
    info = family.info_type.model_validate(record.dataset.model_dump(mode="json"))
    hyperparameters = MODELS.get(record.model.name).check_hyperparameters(
        record.model.hyperparameters
    )
    tests = [split.partition("@")[2] for split in record.metrics if split != "test"]
    return (
        run_hash(record.model.name, hyperparameters, record.train.config, info.identity(), tests),
        record.train.seed,
    )


def scan_records(directory: Path) -> dict[Key, Path]:
    """(run hash, seed) → file of every record file ``directory/*.json`` (a leaderboard's
    ``records/``)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(f"--records {directory} is not a directory")
    return {record_key(read_record(path)): path for path in sorted(directory.glob("*.json"))}


def scan_runs(out: Path) -> tuple[dict[Key, Path], dict[Key, str]]:
    """(run hash, seed) → run directory of the complete runs under ``out``, and of the
    interrupted ones (per-epoch checkpoint and the data's identity, no record)."""
    done: dict[Key, Path] = {}
    interrupted: dict[Key, str] = {}
    for config_path in sorted(Path(out).glob(f"*/{CONFIG_FILE}")):
        run_dir = config_path.parent
        if (run_dir / RECORD_NAME).is_file():
            done[record_key(read_record(run_dir / RECORD_NAME))] = run_dir
        elif (run_dir / "checkpoints" / "last.safetensors").is_file():
            identity = started_identity(run_dir)
            if identity is not None:
                spec = read_spec(run_dir)
                interrupted[(spec.run_hash(identity), spec.seed)] = str(run_dir)
    return done, interrupted


def execute(job: SweepJob, out: str, threads: int) -> Outcome:
    """Run (or resume) one job; never raises: a failure is written to ``out/failed/``."""
    torch.set_num_threads(threads)
    start = time.perf_counter()
    try:
        if job.resume_dir is not None:
            result = resume_run(Path(job.resume_dir), progress=False)
        else:
            result = start_run(job.spec, Path(out), progress=False)
    except Exception as error:
        message = f"{type(error).__name__}: {error}"
        return record_failure(job, Path(out), message, traceback.format_exc(), start)
    record = result.record
    assert record is not None  # one process per run: always rank 0, which writes the record
    name = record.primary_metric
    return Outcome(
        job,
        record.train.status,
        time.perf_counter() - start,
        (name, record.metrics["test"][name].mean),
        str(result.run_dir),
    )


def record_failure(
    job: SweepJob, out: Path, message: str, details: str, start: float | None = None
) -> Outcome:
    """Write ``out/failed/<job>.json`` and return the failed outcome."""
    seconds = time.perf_counter() - start if start is not None else 0.0
    write_json_atomic(
        out / FAILED_DIR / job.failure_name,
        {"config": job.spec.to_json(), "error": message, "traceback": details, "seconds": seconds},
    )
    return Outcome(job, "failed", seconds, error=message)


Progress = Callable[[Outcome, int], None]
"""Called after each finished run with its outcome and the number finished so far."""

EngineFn = Callable[[Sequence[SweepJob], Path, int, Progress, str | None], list[Outcome]]
ENGINES: Registry[EngineFn] = Registry("sweep engine")


def threads_per_run(workers: int) -> int:
    """Torch threads for each of ``workers`` concurrent runs on this machine."""
    return max(1, (os.cpu_count() or 1) // workers)


@ENGINES.register(Engine.local.value)
def run_local(
    jobs: Sequence[SweepJob], out: Path, workers: int, progress: Progress, address: str | None
) -> list[Outcome]:
    """A process pool of ``workers`` fresh (spawned) processes, one run per process; they
    die with the sweep (:func:`opbench.workers.process_pool`).

    A process that dies (killed, out of memory) breaks the pool: the runs it held are
    recorded as failed and a new pool takes the rest.
    """
    if address is not None:
        raise ConfigError("--address applies to --engine ray only")
    threads = threads_per_run(workers)
    pending = list(jobs)
    outcomes: list[Outcome] = []
    while pending:
        with process_pool(workers, max_tasks_per_child=1) as pool:
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


@ENGINES.register(Engine.ray.value)
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
    engine: Engine | str = Engine.local,
    workers: int | None = None,
    address: str | None = None,
    progress: Progress = lambda outcome, n: None,
) -> list[Outcome]:
    """Run the plan's jobs with ``engine`` (``local`` or ``ray``) and return their outcomes.

    ``workers`` defaults to the number of cores (so one thread per run).
    """
    run_engine = ENGINES.get(choice(Engine, engine, "sweep engine").value)
    workers = workers or os.cpu_count() or 1
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, not {workers}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not sweep_plan.jobs:
        return []
    return run_engine(sweep_plan.jobs, out, workers, progress, address)
