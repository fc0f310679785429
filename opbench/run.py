"""One benchmark run, end to end: resolve → prepare → fit → score → write.

This is the library behind ``opbench run``, read top to bottom:

1. :func:`resolve` checks every name and option (presets, ``model.*``, ``train.*`` and
   ``data.*`` values, the data directory) and merges them into a typed
   :class:`~opbench.config.RunSpec`, before any work is done;
2. :func:`prepare` loads (or generates) the data and builds the model;
3. :func:`fit` trains it, choosing the checkpoint on validation;
4. :func:`score` evaluates the test split once, with that checkpoint;
5. :func:`write` writes the predictions, the pictures and the run record.

:func:`run` checks that the output directory is writable before the data are loaded, and
creates the run directory (``config.json``, ``dataset.json``) only once data and model are
ready; its ``record.json`` is written last, atomically. An interrupted run keeps its
per-epoch checkpoint and continues with :func:`resume`, which refuses when the data have
changed since the run started.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

import opbench
from opbench.checkpoint import CheckpointMeta, load_checkpoint, load_module_tensors
from opbench.config import (
    Device,
    Preset,
    Role,
    RunSpec,
    TrainConfig,
    check_overrides,
    choice,
    merge,
    validated,
)
from opbench.data import DATASETS, Benchmark, DatasetInfo
from opbench.data.base import DatasetFamily
from opbench.environment import environment, git_revision
from opbench.errors import ConfigError, DataError, OpbenchError, RunInterrupted, unknown_name
from opbench.eval import timing
from opbench.eval.convergence import Convergence, plateau_check
from opbench.eval.equal_accuracy import EqualAccuracy
from opbench.eval.evaluator import Scores
from opbench.eval.evaluator import score as score_split
from opbench.eval.metrics import check_metrics, metric_function
from opbench.eval.rollout import RolloutScores, persistence_curve, score_rollout
from opbench.eval.solver_curve import place_model
from opbench.eval.statistics import run_interval
from opbench.eval.transfer import TransferScore, transfer_score
from opbench.io import check_writable_dir, write_json_atomic
from opbench.models import MODELS, Surrogate, build_surrogate, count_parameters
from opbench.results import outputs
from opbench.results.record import (
    SCHEMA_VERSION,
    Budget,
    Cost,
    MetricSummary,
    ModelSection,
    PerSample,
    Record,
    RolloutSection,
    ShiftedTest,
    TrainSection,
    write_record,
)
from opbench.train import distributed
from opbench.train.optim import check_names
from opbench.train.trainer import (
    BEST,
    CHECKPOINT_EVERY,
    EpochCallback,
    Trainer,
    TrainResult,
    seed_everything,
)

CONFIG_FILE = "config.json"
DATASET_FILE = "dataset.json"
"""The data's metadata when the run started: a resume compares its identity."""

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """The run directory and its record (``None`` on ranks other than 0 under torchrun)."""

    run_dir: Path
    record: Record | None


# --- 1. resolve --------------------------------------------------------------------------


def resolve(
    model: str,
    dataset: str,
    *,
    config: str | None = None,
    task: str | None = None,
    data_dir: Path | None = None,
    preset: Preset | str = Preset.small,
    epochs: int | None = None,
    seed: int = 0,
    device: Device | str = Device.cpu,
    overrides: Mapping[str, Any] | None = None,
    test_configs: Sequence[str] = (),
    role: Role | str = Role.board,
    command: str | None = None,
    compile: bool = False,
    transfer_configs: Sequence[str] = (),
    equal_accuracy: bool = False,
) -> RunSpec:
    """Check every name and option and merge defaults < preset < options < ``overrides``.

    ``overrides`` is a nested dict ``{"model": {...}, "train": {...}, "data": {...}}`` (the
    command line's ``--set`` is parsed into one by :func:`opbench.config.parse_set`).
    Raises a ConfigError for anything invalid, before any work is done.
    """
    entry = MODELS.get(model)
    family = DATASETS.get(dataset)
    config = config or family.default_config
    published = family.check_config(config)
    for other in (*test_configs, *transfer_configs):
        family.check_config(other)
    if equal_accuracy and family.numerical_solver is None:
        raise ConfigError(
            f"--equal-accuracy: the {dataset} family has no numerical solver ladder to compare with"
        )
    task = task or family.default_task
    layouts = family.tasks()
    if task not in layouts:
        raise unknown_name(f"task of dataset {dataset!r}", task, layouts)
    entry.check_layout(layouts[task], task)
    preset = choice(Preset, preset, "preset")
    sections = check_overrides(overrides or {})
    preset_values = entry.preset(preset.value)
    epochs_option = {} if epochs is None else {"epochs": epochs}
    train = validated(
        TrainConfig, merge(merge(preset_values["train"], epochs_option), sections["train"]), "train"
    )
    check_names(train)
    if not entry.fitted and train.epochs < 1:
        raise ConfigError(f"model {model!r} is trained: it needs at least one epoch")
    spec = validated(
        RunSpec,
        {
            "model": model,
            "dataset": dataset,
            "config": config,
            "task": task,
            "preset": preset,
            "seed": seed,
            "device": device,
            "data_dir": None if data_dir is None else str(data_dir),
            "hyperparameters": entry.check_hyperparameters(
                merge(preset_values["model"], sections["model"])
            ),
            "train": train,
            "data": validated(family.options_type, sections["data"], "data"),
            "test_configs": list(test_configs),
            "role": role,
            "command": command,
            "compile": compile,
            "transfer_configs": list(transfer_configs),
            "equal_accuracy": equal_accuracy,
        },
        "",
        context={"data_options": family.options_type},
    )
    if spec.device == Device.cuda and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but torch sees no CUDA device")
    if data_dir is not None:
        _check_readable_dir(Path(data_dir))
    if not published:
        _notice_unpublished(dataset, config)
    return spec


@functools.cache
def _notice_unpublished(family: str, config: str) -> None:
    log.info(
        "note: %s is not a published %s config; its data are used as given and its records "
        "say published: false",
        config,
        family,
    )


def _check_readable_dir(path: Path) -> None:
    if not path.is_dir():
        raise ConfigError(f"--data-dir {path} is not a directory")
    try:
        os.listdir(path)
    except OSError as error:
        raise ConfigError(f"--data-dir {path} is not readable ({error.strerror})") from None


def read_spec(run_dir: Path) -> RunSpec:
    """The spec stored in ``run_dir/config.json`` (a ConfigError if there is none)."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(f"{run_dir}: no {CONFIG_FILE} there; is it a run directory?")
    try:
        values = json.loads(path.read_text())
        family = DATASETS.get(values["dataset"])
    except (ValueError, KeyError, TypeError) as error:
        raise DataError(f"{path}: not a run configuration ({error})") from None
    return RunSpec.load(values, family.options_type)


# --- 2. prepare --------------------------------------------------------------------------


@dataclass
class Prepared:
    """The data and the model of a run, ready to train."""

    benchmark: Benchmark
    test_benchmarks: dict[str, Benchmark]
    surrogate: Surrogate
    transfer_benchmarks: dict[str, Benchmark] = field(default_factory=dict)


def prepare(spec: RunSpec) -> Prepared:
    """Load the data (generating it once if needed) and build the model."""
    family = DATASETS.get(spec.dataset)
    data_dir = Path(spec.data_dir) if spec.data_dir else None
    benchmark = family.load_benchmark(spec.config, spec.task, spec.data, data_dir)
    check_metrics(benchmark)
    task = benchmark.task
    test_benchmarks = {}
    for other in spec.test_configs:
        test_benchmark = family.load_benchmark(
            other, spec.task, spec.data, data_dir, test_only=True, scaled_as=benchmark.info
        )
        other_task = test_benchmark.task
        if (other_task.input_fields, other_task.output_fields, other_task.spatial_shape) != (
            task.input_fields,
            task.output_fields,
            task.spatial_shape,
        ):
            raise ConfigError(
                f"--test-config {other}: its fields {other_task.input_fields}→"
                f"{other_task.output_fields} on {other_task.spatial_shape} differ from the "
                f"training config's {task.input_fields}→{task.output_fields} on "
                f"{task.spatial_shape}"
            )
        test_benchmarks[other] = test_benchmark
    transfer_benchmarks = {
        other: _transfer_benchmark(family, spec, data_dir, benchmark, other)
        for other in spec.transfer_configs
    }
    seed_everything(spec.seed)
    surrogate = build_surrogate(spec.model, task, spec.hyperparameters)
    if spec.compile:
        compile_where_faster(spec.model, surrogate)
    return Prepared(benchmark, test_benchmarks, surrogate, transfer_benchmarks)


def compile_where_faster(model: str, surrogate: Surrogate) -> bool:
    """``torch.compile`` the network of ``surrogate`` in place when ``model`` declares
    :attr:`~opbench.models.base.ModelFlags.compile_faster`; else say that it runs eager.
    Returns whether it compiled."""
    if MODELS.get(model).flags.compile_faster:
        surrogate.net.compile()
        return True
    log.info(
        "note: --compile: %s runs eager, torch.compile is not faster for it here "
        "(benchmarks/README.md)",
        model,
    )
    return False


def _transfer_benchmark(
    family: DatasetFamily, spec: RunSpec, data_dir: Path | None, trained: Benchmark, other: str
) -> Benchmark:
    """The test split of ``other`` for resolution transfer: the same fields on another grid
    of the same physical samples (a ConfigError otherwise)."""
    benchmark = family.load_benchmark(
        other, spec.task, spec.data, data_dir, test_only=True, scaled_as=trained.info
    )
    task, other_task = trained.task, benchmark.task
    problems = []
    if trained.grid_points is None:
        problems.append(f"{spec.dataset} {spec.task} is not on a grid")
    if (other_task.input_fields, other_task.output_fields) != (
        task.input_fields,
        task.output_fields,
    ):
        problems.append(f"its fields {other_task.input_fields}→{other_task.output_fields} differ")
    if trained.paired_samples is None or benchmark.paired_samples != trained.paired_samples:
        problems.append(
            "its test samples are not the trained config's at another resolution "
            "(resolution transfer needs paired data, e.g. ConDiff's *_paired_grid<g> configs "
            "with the same covariance, variance and data seed)"
        )
    if problems:
        raise ConfigError(f"--transfer-config {other}: {'; '.join(problems)}")
    return benchmark


# --- 3. fit ------------------------------------------------------------------------------


def fit(
    spec: RunSpec,
    prepared: Prepared,
    run_dir: Path,
    device: torch.device,
    context: distributed.Distributed,
    progress: bool = True,
    callbacks: Sequence[EpochCallback] = (),
    checkpoint_every: float = CHECKPOINT_EVERY,
) -> tuple[Trainer, TrainResult]:
    """Train (or fit, or resume) the model; the best checkpoint is chosen on validation."""
    benchmark = prepared.benchmark
    unread = () if spec.train.physics_weight > 0 else benchmark.scoring_keys
    trainer = Trainer(
        prepared.surrogate,
        spec.train,
        metric=metric_function(benchmark, benchmark.task.primary_metric),
        checkpoint_dir=run_dir / "checkpoints",
        model_meta=CheckpointMeta(
            model=spec.model,
            hyperparameters=spec.hyperparameters,
            task=benchmark.task,
            opbench_version=opbench.__version__,
        ),
        seed=spec.seed,
        device=device,
        progress=progress and context.is_main,
        callbacks=callbacks,
        distributed=context,
        physics_loss=benchmark.physics_loss,
        train_keys=[key for key in benchmark.splits["train"].keys if key not in unread],
        checkpoint_every=checkpoint_every,
    )
    return trainer, trainer.fit(benchmark.splits["train"], benchmark.splits["val"])


# --- 4. score ----------------------------------------------------------------------------


@dataclass
class Scored:
    """The test scores of the checkpoint chosen on validation (``None`` if it diverged)."""

    test: dict[str, Scores]
    rollout: RolloutScores | None
    infer_ms: float | None
    solver_ms: float | None
    equal_accuracy: EqualAccuracy | None = None
    transfer: dict[str, TransferScore] = field(default_factory=dict)


def score(spec: RunSpec, prepared: Prepared, trainer: Trainer, device: torch.device) -> Scored:
    """Load the best checkpoint and evaluate the test split (and the test configs) once."""
    surrogate, benchmark = prepared.surrogate, prepared.benchmark
    tensors, _ = load_checkpoint(trainer.best_path)
    load_module_tensors(surrogate, tensors)
    surrogate.to(device)
    batch_size = spec.train.eval_batch_size
    test = {"test": score_split(surrogate, benchmark, "test", batch_size, device)}
    for name, other in prepared.test_benchmarks.items():
        test[f"test@{name}"] = score_split(surrogate, other, "test", batch_size, device)
    rollout = None
    if benchmark.rollout is not None:
        metrics = {name: metric_function(benchmark, name) for name in benchmark.task.metrics}
        rollout = score_rollout(surrogate, benchmark.rollout, metrics, batch_size, device)
    split = benchmark.splits["test"]
    infer_ms = timing.inference_ms_per_sample(surrogate, split, batch_size, device)
    solver_ms = (
        timing.solver_ms_per_sample(benchmark.solve_one, len(split))
        if benchmark.solve_one is not None
        else None
    )
    fixed_grid = MODELS.get(spec.model).flags.fixed_grid
    transfer = {
        name: transfer_score(surrogate, benchmark, other, batch_size, device, fixed_grid)
        for name, other in prepared.transfer_benchmarks.items()
    }
    return Scored(
        test,
        rollout,
        infer_ms,
        solver_ms,
        _equal_accuracy(spec, benchmark, test, infer_ms),
        transfer,
    )


def _equal_accuracy(
    spec: RunSpec, benchmark: Benchmark, test: Mapping[str, Scores], infer_ms: float
) -> EqualAccuracy | None:
    """The model on its family's solver curve, when asked for and its error is finite."""
    error = test["test"].summary()[benchmark.task.primary_metric]["mean"]
    if not spec.equal_accuracy or error is None:
        return None
    return place_model(benchmark, error, infer_ms / 1e3, "in the run")


# --- 5. write ----------------------------------------------------------------------------


def write(
    spec: RunSpec,
    prepared: Prepared,
    run_dir: Path,
    result: TrainResult,
    scored: Scored | None,
    device: torch.device,
) -> Record:
    """Write the predictions, pictures and ``record.json``; the record lists exactly the
    files written (a diverged run has no predictions or samples)."""
    benchmark = prepared.benchmark
    primary = benchmark.task.primary_metric
    kept = {"config": CONFIG_FILE, "dataset": DATASET_FILE, "checkpoint": f"checkpoints/{BEST}"}
    files = {key: name for key, name in kept.items() if (run_dir / name).is_file()}
    if (curve := outputs.write_loss_curve(run_dir, result.history, primary)) is not None:
        files["loss_curve"] = curve
    if scored is not None:
        test = scored.test["test"]
        files["predictions"] = outputs.write_predictions(run_dir, benchmark, test, spec.model)
        if (
            samples := outputs.write_samples_plot(run_dir, benchmark, test, spec.model)
        ) is not None:
            files["samples"] = samples
    rollout = _rollout_section(run_dir, benchmark, scored, files)
    params = count_parameters(prepared.surrogate)
    record = Record(
        schema_version=SCHEMA_VERSION,
        run_id=run_dir.name,
        opbench_version=opbench.__version__,
        git_revision=git_revision(),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        command=spec.command,
        role=spec.role,
        run_hash=spec.run_hash(benchmark.info.identity()),
        spec=spec.to_json(),
        dataset=benchmark.info,
        model=ModelSection(
            name=spec.model,
            preset=spec.preset.value,
            hyperparameters=spec.hyperparameters,
            params=params,
            citation=MODELS.get(spec.model).citation,
        ),
        train=TrainSection(
            config=spec.train,
            seed=spec.seed,
            epochs_run=result.epochs_run,
            best_epoch=result.best_epoch,
            best_val=result.best_val,
            wall_seconds=result.train_seconds,
            status=result.status,
            stopped_early=result.stopped_early,
            budget=Budget(epochs=spec.train.epochs, max_minutes=spec.train.max_minutes),
            history=result.history,
        ),
        metrics=(
            {split: scores.summary() for split, scores in scored.test.items()}
            if scored is not None
            else {"test": {name: NULL_SUMMARY for name in benchmark.task.metrics}}
        ),
        per_sample=_per_sample(scored.test, primary) if scored is not None else None,
        rollout=rollout,
        test_sets={
            f"test@{name}": ShiftedTest(
                config=name,
                fingerprint=other.info.fingerprint,
                n=len(other.splits["test"]),
                extrapolated=other.info.extrapolated,
            )
            for name, other in prepared.test_benchmarks.items()
        },
        convergence=_convergence(spec, result),
        equal_accuracy=None if scored is None else scored.equal_accuracy,
        transfer={} if scored is None else scored.transfer,
        cost=_cost(params, result, scored, device),
        environment=environment(device),
        primary_metric=primary,
        files=files,
    )
    write_record(run_dir, record)
    return record


def _per_sample(test: Mapping[str, Scores], metric: str) -> PerSample:
    """The values of ``metric`` per independent unit (sample or case) in each scored split,
    with the bootstrap interval of their mean (none where a value is not finite)."""
    values = {split: scores.unit_values(metric) for split, scores in test.items()}
    return PerSample(
        metric=metric,
        unit="sample" if test["test"].units is None else "case",
        values=values,
        intervals={
            split: None if None in v or not v else run_interval(np.array(v))
            for split, v in values.items()
        },
    )


def _convergence(spec: RunSpec, result: TrainResult) -> Convergence | None:
    """The run's plateau check (:mod:`opbench.eval.convergence`); ``None`` for a fitted
    baseline, which is not trained. The doubling check is attached later, by the protocol
    that runs the model's ``check`` record (:mod:`opbench.protocol`)."""
    if MODELS.get(spec.model).fitted:
        return None
    history = result.history
    plateau = plateau_check([h["val"] for h in history], [h["lr"] for h in history], spec.train.lr)
    return Convergence(plateau=plateau)


NULL_SUMMARY = MetricSummary(mean=None, std=None, median=None, min=None, max=None, n=0)
"""The summary of a metric a diverged run could not compute."""


def _rollout_section(
    run_dir: Path, benchmark: Benchmark, scored: Scored | None, files: dict[str, str]
) -> RolloutSection | None:
    """The record's rollout section, and its plot with the identity baseline's curve."""
    if scored is None or scored.rollout is None or benchmark.rollout is None:
        return None
    primary = benchmark.task.primary_metric
    persistence = persistence_curve(benchmark.rollout, metric_function(benchmark, primary))
    files["rollout"] = outputs.write_rollout_plot(
        run_dir, scored.rollout.curves, benchmark.rollout.delta_t, primary, persistence
    )
    return RolloutSection(**scored.rollout.summary(benchmark.rollout))


def _cost(params: int, result: TrainResult, scored: Scored | None, device: torch.device) -> Cost:
    """Size, training time and throughput, inference and solver time, where measured."""
    infer_ms = None if scored is None else scored.infer_ms
    solver_ms = None if scored is None else scored.solver_ms
    return Cost(
        params=params,
        train_seconds=result.train_seconds,
        epochs=result.epochs_run,
        samples_per_second=result.samples_per_second,
        infer_ms_per_sample=infer_ms,
        solver_ms_per_sample=solver_ms,
        speedup=solver_ms / infer_ms if infer_ms and solver_ms is not None else None,
        peak_memory_mb=timing.peak_memory_mb(device),
        threads=torch.get_num_threads(),
        device=device.type,
    )


# --- the whole run -----------------------------------------------------------------------


def run(
    spec: RunSpec,
    out: Path,
    *,
    progress: bool = True,
    callbacks: Sequence[EpochCallback] = (),
    checkpoint_every: float = CHECKPOINT_EVERY,
) -> RunResult:
    """Execute a resolved run in a new directory under ``out``.

    Under ``torchrun`` every rank calls this; rank 0 names the directory and writes the
    record, the other ranks train and return a result without a record. The resumable
    checkpoint is written every ``checkpoint_every`` seconds of training (and at its end).
    """
    check_writable_dir(out, "--out")
    context, device = distributed.setup(spec.device.value)
    try:
        prepared = prepare(spec)
        run_dir = Path(
            context.broadcast(
                _new_run_dir(spec, prepared.benchmark.info, out) if context.is_main else None
            )
        )
        try:
            return _complete(
                spec, prepared, run_dir, device, context, progress, callbacks, checkpoint_every
            )
        except OpbenchError:
            if context.is_main and not (run_dir / "checkpoints").exists():
                shutil.rmtree(run_dir, ignore_errors=True)
            raise
        except KeyboardInterrupt:
            raise RunInterrupted(spec.model, spec.dataset, run_dir) from None
    finally:
        distributed.teardown(context)


def resume(
    run_dir: Path,
    *,
    progress: bool = True,
    callbacks: Sequence[EpochCallback] = (),
    checkpoint_every: float = CHECKPOINT_EVERY,
) -> RunResult:
    """Continue an interrupted run from its last per-epoch checkpoint.

    Refused (ConfigError, DataError) when the run is complete, or when its data have
    changed since it started: their identity (fingerprint and task options) must equal the
    one stored in ``dataset.json``.
    """
    run_dir = Path(run_dir)
    spec = read_spec(run_dir)
    if (run_dir / "record.json").is_file():
        raise ConfigError(f"--resume {run_dir}: the run is complete (record.json exists)")
    context, device = distributed.setup(spec.device.value)
    try:
        prepared = prepare(spec)
        _check_same_data(run_dir, prepared.benchmark.info)
        return _complete(
            spec, prepared, run_dir, device, context, progress, callbacks, checkpoint_every
        )
    except KeyboardInterrupt:
        raise RunInterrupted(spec.model, spec.dataset, run_dir) from None
    finally:
        distributed.teardown(context)


def _complete(
    spec: RunSpec,
    prepared: Prepared,
    run_dir: Path,
    device: torch.device,
    context: distributed.Distributed,
    progress: bool,
    callbacks: Sequence[EpochCallback],
    checkpoint_every: float,
) -> RunResult:
    trainer, result = fit(
        spec, prepared, run_dir, device, context, progress, callbacks, checkpoint_every
    )
    if not context.is_main:
        return RunResult(run_dir, None)
    scored = score(spec, prepared, trainer, device) if result.status != "diverged" else None
    return RunResult(run_dir, write(spec, prepared, run_dir, result, scored, device))


def _new_run_dir(spec: RunSpec, info: DatasetInfo, out: Path) -> str:
    """Create ``out/<run-id>/`` with the resolved ``config.json`` and the data's
    ``dataset.json``."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    config = spec.config.replace("/", "_")  # CFDBench configs: cavity/bc → cavity_bc
    run_id = f"{stamp}-{spec.model}-{spec.dataset}-{config}-s{spec.seed}-{uuid.uuid4().hex[:6]}"
    run_dir = Path(out) / run_id
    run_dir.mkdir(parents=True)
    write_json_atomic(run_dir / CONFIG_FILE, spec.to_json())
    write_json_atomic(run_dir / DATASET_FILE, info.model_dump(mode="json"))
    return str(run_dir)


def started_identity(run_dir: Path) -> dict[str, Any] | None:
    """The data identity stored when the run in ``run_dir`` started (``None`` for runs
    started before opbench stored it)."""
    path = Path(run_dir) / DATASET_FILE
    if not path.is_file():
        return None
    try:
        values = json.loads(path.read_text())
        family = DATASETS.get(values["family"])
        return family.info_type.model_validate(values).identity()
    except (ValueError, KeyError, TypeError) as error:
        raise DataError(f"{path}: not the dataset metadata of a run ({error})") from None


def _check_same_data(run_dir: Path, info: DatasetInfo) -> None:
    before = started_identity(run_dir)
    now = info.identity()
    if before is not None and before != now:
        changed = ", ".join(
            f"{key} {before.get(key)!r} then, {now.get(key)!r} now"
            for key in sorted(set(before) | set(now))
            if before.get(key) != now.get(key)
        )
        raise DataError(
            f"--resume {run_dir}: the data have changed since the run started ({changed}); "
            "resuming would train on other data than it recorded. Start a new run instead."
        )
