"""One benchmark run, end to end: resolve → load data → build → fit → score → record.

This is the library behind ``opbench run``. Everything the user asked for is checked
(names, presets, option values, ``--set`` keys) before any work is done; a run directory
appears only once data and model are ready, and its ``record.json`` only when the run is
complete, written atomically and validated. An interrupted run keeps its per-epoch
checkpoint and resumes with :func:`resume`.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
import xarray as xr

import opbench
from opbench.config import TrainConfig, build_dataclass, parse_overrides, to_dict
from opbench.data import DATASETS, Benchmark
from opbench.environment import environment, git_revision
from opbench.errors import ConfigError, OpbenchError, RunInterrupted
from opbench.eval import timing
from opbench.eval.evaluator import score
from opbench.eval.rollout import persistence_curve, score_rollout
from opbench.io import atomic_path, write_json_atomic
from opbench.models import MODELS, Surrogate, count_parameters
from opbench.results.plots import (
    plot_loss_curve,
    plot_point_samples,
    plot_rollout,
    plot_samples,
)
from opbench.results.record import SCHEMA_VERSION, write_record
from opbench.train import distributed
from opbench.train.checkpoint import load_checkpoint, load_module_tensors
from opbench.train.trainer import EpochCallback, Trainer, TrainResult, seed_everything

CONFIG_FILE = "config.json"
N_PLOTTED_SAMPLES = 3


@dataclass
class RunSpec:
    """A fully resolved, validated run configuration (stored as ``config.json``)."""

    model: str
    dataset: str
    config: str
    task: str
    preset: str
    seed: int
    device: str
    data_dir: str | None
    hyperparameters: dict[str, Any]
    train: TrainConfig
    data: Any
    test_configs: list[str] = field(default_factory=list)
    command: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **dataclasses.asdict(self),
            "train": to_dict(self.train),
            "data": to_dict(self.data),
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunSpec:
        family = DATASETS.get(values["dataset"])
        return cls(
            **{
                **values,
                "train": build_dataclass(TrainConfig, values["train"], "train"),
                "data": build_dataclass(family.options_type, values["data"], "data"),
            }
        )

    @property
    def budget(self) -> dict[str, Any]:
        return {"epochs": self.train.epochs, "max_minutes": self.train.max_minutes}


@dataclass
class RunResult:
    """The run directory and its record (``None`` on ranks other than 0 under torchrun)."""

    run_dir: Path
    record: dict[str, Any] | None


def resolve(
    model: str,
    dataset: str,
    *,
    config: str | None = None,
    task: str | None = None,
    data_dir: Path | None = None,
    preset: str = "small",
    epochs: int | None = None,
    seed: int = 0,
    device: str = "cpu",
    overrides: Sequence[str] = (),
    test_configs: Sequence[str] = (),
    command: str | None = None,
) -> RunSpec:
    """Check every name and option and merge defaults < preset < options < ``--set``."""
    entry = MODELS.get(model)
    family = DATASETS.get(dataset)
    config = config or family.default_config
    family.check_config(config)
    for other in test_configs:
        family.check_config(other)
    task = task or family.default_task
    if task not in family.tasks():
        raise ConfigError(f"dataset {dataset!r} has no task {task!r}; tasks: {family.tasks()}")
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"--device must be cpu or cuda, not {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but torch sees no CUDA device")
    if data_dir is not None and not Path(data_dir).is_dir():
        raise ConfigError(f"--data-dir {data_dir} is not a directory")

    sections = parse_overrides(list(overrides))
    preset_values = entry.preset(preset)
    hyperparameters = {**preset_values["model"], **sections["model"]}
    entry.check_hyperparameters(hyperparameters)
    train_values = {**preset_values["train"]}
    if epochs is not None:
        train_values["epochs"] = epochs
    train_values.update(sections["train"])
    train = build_dataclass(TrainConfig, train_values, "train")
    if not entry.fitted and train.epochs < 1:
        raise ConfigError(f"model {model!r} is trained: it needs at least one epoch")
    data = build_dataclass(family.options_type, sections["data"], "data")
    return RunSpec(
        model,
        dataset,
        config,
        task,
        preset,
        seed,
        device,
        str(data_dir) if data_dir is not None else None,
        hyperparameters,
        train,
        data,
        list(test_configs),
        command,
    )


def run(
    spec: RunSpec, out: Path, *, progress: bool = True, callbacks: Sequence[EpochCallback] = ()
) -> RunResult:
    """Execute a resolved run in a new directory under ``out``.

    Under ``torchrun`` every rank calls this; rank 0 names the directory and writes the
    record, the other ranks train and return a result without a record.
    """
    context, device = distributed.setup(spec.device)
    try:
        prepared = _prepare(spec)
        run_dir = Path(context.broadcast(_new_run_dir(spec, out) if context.is_main else None))
        try:
            return _execute(spec, prepared, run_dir, device, context, progress, callbacks)
        except OpbenchError:
            if context.is_main and not (run_dir / "checkpoints").exists():
                shutil.rmtree(run_dir, ignore_errors=True)
            raise
        except KeyboardInterrupt:
            raise RunInterrupted(spec.model, spec.dataset, run_dir) from None
    finally:
        distributed.teardown(context)


def _new_run_dir(spec: RunSpec, out: Path) -> str:
    """Create ``out/<run-id>/`` with the resolved ``config.json``."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    config = spec.config.replace("/", "_")  # CFDBench configs: cavity/bc → cavity_bc
    run_id = f"{stamp}-{spec.model}-{spec.dataset}-{config}-s{spec.seed}-{uuid.uuid4().hex[:6]}"
    run_dir = Path(out) / run_id
    run_dir.mkdir(parents=True)
    write_json_atomic(run_dir / CONFIG_FILE, spec.to_dict())
    return str(run_dir)


def resume(
    run_dir: Path, *, progress: bool = True, callbacks: Sequence[EpochCallback] = ()
) -> RunResult:
    """Continue an interrupted run from its last per-epoch checkpoint."""
    run_dir = Path(run_dir)
    config_path = run_dir / CONFIG_FILE
    if not config_path.is_file():
        raise ConfigError(f"--resume {run_dir}: no {CONFIG_FILE} there; is it a run directory?")
    if (run_dir / "record.json").is_file():
        raise ConfigError(f"--resume {run_dir}: the run is complete (record.json exists)")
    spec = RunSpec.from_dict(json.loads(config_path.read_text()))
    context, device = distributed.setup(spec.device)
    try:
        return _execute(spec, _prepare(spec), run_dir, device, context, progress, callbacks)
    except KeyboardInterrupt:
        raise RunInterrupted(spec.model, spec.dataset, run_dir) from None
    finally:
        distributed.teardown(context)


@dataclass
class _Prepared:
    benchmark: Benchmark
    test_benchmarks: dict[str, Benchmark]
    surrogate: Surrogate


def _prepare(spec: RunSpec) -> _Prepared:
    """Load the data (generating it once if needed) and build the model."""
    family = DATASETS.get(spec.dataset)
    data_dir = Path(spec.data_dir) if spec.data_dir else None
    benchmark = family.load_benchmark(spec.config, spec.task, spec.data, data_dir)
    task = benchmark.task
    entry = MODELS.get(spec.model)
    entry.check_layout(task)
    test_benchmarks = {}
    for other in spec.test_configs:
        test_benchmark = family.load_benchmark(
            other, spec.task, spec.data, data_dir, test_only=True
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
    seed_everything(spec.seed)
    net = entry.build(task, **spec.hyperparameters)
    return _Prepared(
        benchmark, test_benchmarks, Surrogate(net, task.in_channels, task.out_channels)
    )


def _execute(
    spec: RunSpec,
    prepared: _Prepared,
    run_dir: Path,
    device: torch.device,
    context: distributed.Distributed,
    progress: bool,
    callbacks: Sequence[EpochCallback],
) -> RunResult:
    benchmark, surrogate = prepared.benchmark, prepared.surrogate
    entry = MODELS.get(spec.model)
    model_meta = {
        "model": spec.model,
        "hyperparameters": spec.hyperparameters,
        "task": benchmark.task.to_dict(),
        "opbench_version": opbench.__version__,
    }
    trainer = Trainer(
        surrogate,
        spec.train,
        primary_metric=benchmark.task.primary_metric,
        checkpoint_dir=run_dir / "checkpoints",
        model_meta=model_meta,
        seed=spec.seed,
        device=device,
        progress=progress and context.is_main,
        callbacks=callbacks,
        distributed=context,
        physics_loss=benchmark.physics_loss,
        family_metrics=benchmark.physics_metrics,
    )
    result = trainer.fit(benchmark.splits["train"], benchmark.splits["val"])
    if not context.is_main:
        return RunResult(run_dir, None)

    metrics: dict[str, Any] = {}
    rollout: dict[str, Any] | None = None
    cost: dict[str, Any] = {}
    files = {
        "config": CONFIG_FILE,
        "checkpoint": "checkpoints/best.safetensors",
        "loss_curve": "loss_curve.png",
    }
    if result.status != "diverged":
        tensors, _ = load_checkpoint(trainer.best_path)
        load_module_tensors(surrogate, tensors)
        surrogate.to(device)
        batch_size = spec.train.eval_batch_size
        test_scores = score(surrogate, benchmark, "test", batch_size, device)
        metrics["test"] = test_scores.summary()
        for name, other in prepared.test_benchmarks.items():
            metrics[f"test@{name}"] = score(surrogate, other, "test", batch_size, device).summary()
        cost = _cost(surrogate, result, device, *_timings(surrogate, benchmark, device, batch_size))
        _write_predictions(run_dir / "predictions.nc", benchmark, test_scores.predictions)
        files["predictions"] = "predictions.nc"
        if _plot_samples(run_dir / "samples.png", benchmark, test_scores.predictions):
            files["samples"] = "samples.png"
        if benchmark.rollout is not None:
            rollout = _rollout(run_dir, surrogate, benchmark, batch_size, device)
            files["rollout"] = "rollout.png"
    else:
        metrics["test"] = {
            name: _null_summary() for name in (*benchmark.task.metrics, *benchmark.physics_metrics)
        }
        cost = _cost(surrogate, result, device)
    plot_loss_curve(result.history, run_dir / "loss_curve.png", benchmark.task.primary_metric)

    record = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_dir.name,
        "opbench_version": opbench.__version__,
        "git_revision": git_revision(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": spec.command,
        "dataset": benchmark.info,
        "model": {
            "name": spec.model,
            "preset": spec.preset,
            "hyperparameters": spec.hyperparameters,
            "params": count_parameters(surrogate),
            "citation": entry.citation,
        },
        "train": {
            "config": to_dict(spec.train),
            "seed": spec.seed,
            "epochs_run": result.epochs_run,
            "best_epoch": result.best_epoch,
            "best_val": result.best_val,
            "wall_seconds": result.train_seconds,
            "status": result.status,
            "stopped_early": result.stopped_early,
            "budget": spec.budget,
            "history": result.history,
        },
        "metrics": metrics,
        **({"rollout": rollout} if rollout is not None else {}),
        "cost": cost,
        "environment": environment(device),
        "primary_metric": benchmark.task.primary_metric,
        "files": files,
    }
    write_record(run_dir, record)
    return RunResult(run_dir, record)


def _rollout(
    run_dir: Path,
    surrogate: Surrogate,
    benchmark: Benchmark,
    batch_size: int,
    device: torch.device,
) -> dict[str, Any]:
    """Score the multi-step test and plot its primary-metric curve."""
    assert benchmark.rollout is not None
    task = benchmark.task
    scores = score_rollout(surrogate, benchmark.rollout, task.metrics, batch_size, device)
    plot_rollout(
        scores.curves,
        run_dir / "rollout.png",
        benchmark.rollout.delta_t,
        task.primary_metric,
        persistence_curve(benchmark.rollout, task.primary_metric),
    )
    return scores.summary(benchmark.rollout)


def _cost(
    surrogate: Surrogate,
    result: TrainResult,
    device: torch.device,
    infer_ms: float | None = None,
    solver_ms: float | None = None,
) -> dict[str, Any]:
    """The record's cost section; a diverged run has no inference or solver timings."""
    return {
        "params": count_parameters(surrogate),
        "train_seconds": result.train_seconds,
        "epochs": result.epochs_run,
        "samples_per_second": result.samples_per_second,
        "infer_ms_per_sample": infer_ms,
        "solver_ms_per_sample": solver_ms,
        "speedup": solver_ms / infer_ms if None not in (solver_ms, infer_ms) else None,
        "peak_memory_mb": timing.peak_memory_mb(device),
        "threads": torch.get_num_threads(),
        "device": device.type,
    }


def _timings(
    surrogate: Surrogate, benchmark: Benchmark, device: torch.device, batch_size: int
) -> tuple[float, float | None]:
    """Inference ms/sample of the surrogate and of the numerical solver (if any)."""
    test = benchmark.splits["test"]
    infer_ms = timing.inference_ms_per_sample(surrogate, test, batch_size, device)
    solver_ms = (
        timing.solver_ms_per_sample(benchmark.solve_one, len(test))
        if benchmark.solve_one is not None
        else None
    )
    return infer_ms, solver_ms


def _null_summary() -> dict[str, Any]:
    return {"mean": None, "std": None, "median": None, "min": None, "max": None, "n": 0}


def _write_predictions(path: Path, benchmark: Benchmark, predictions: torch.Tensor) -> None:
    """Test predictions and targets as a labelled netCDF file (xarray, h5netcdf)."""
    task = benchmark.task
    spatial = [f"dim_{axis}" for axis in range(predictions.ndim - 2)]
    dims = ["sample", "field", *spatial]
    dataset = xr.Dataset(
        {
            "prediction": (dims, predictions.numpy()),
            "target": (dims, benchmark.splits["test"].tensors["y"].numpy()),
        },
        coords={"field": list(task.output_fields)},
        attrs={
            "family": benchmark.family,
            "config": benchmark.config,
            "task": task.name,
            "units": "physical",
        },
    )
    with atomic_path(path) as tmp:
        dataset.to_netcdf(tmp, engine="h5netcdf")


def _plot_samples(path: Path, benchmark: Benchmark, predictions: torch.Tensor) -> bool:
    """Draw the first few test samples; ``False`` if the task has no image shape.

    A task may name the inputs worth drawing (``extra["plotted_inputs"]``, e.g. not
    CFDBench's constant parameter channels); points on a fixed frame grid are drawn as
    images of ``extra["frame_shape"]``; point clouds with raw positions ``pos`` as scatter
    plots of the first test sample in ``extra["plot_window"]`` (x0, x1, y0, y1).
    """
    task = benchmark.task
    test = benchmark.splits["test"].tensors
    if "plot_window" in task.extra:
        plot_point_samples(
            test["pos"][0],
            test["y"][0],
            predictions[0],
            test["valid"][0, 0],
            task.output_fields,
            path,
            task.extra["plot_window"],
        )
        return True
    shape = task.spatial_shape or task.extra.get("frame_shape")
    if shape is None:
        return False
    n = min(N_PLOTTED_SAMPLES, predictions.shape[0])
    shown = task.extra.get("plotted_inputs", task.input_fields)
    channels = [task.input_fields.index(name) for name in shown]

    def images(t: torch.Tensor) -> torch.Tensor:
        return t[:n].reshape(n, t.shape[1], *shape)

    plot_samples(
        images(test["x"][:, channels]),
        images(test["y"]),
        images(predictions),
        shown,
        task.output_fields,
        path,
        [f"test sample {i}" for i in range(n)],
        axes_order=task.extra.get("axes_order", "xy"),
    )
    return True
