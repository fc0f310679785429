"""What a run writes beside its record: test predictions as netCDF, and its pictures.

Each writer returns the file name it wrote (relative to the run directory), or ``None``
when the task has nothing to draw, so that the record lists exactly the files that exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr

from opbench.data.base import Benchmark
from opbench.eval.evaluator import Scores
from opbench.io import atomic_path
from opbench.results.plots import plot_loss_curve, plot_point_samples, plot_rollout, plot_samples
from opbench.tasks import TaskSpec

N_PLOTTED_SAMPLES = 3

PREDICTIONS = "predictions.nc"
SAMPLES = "samples.png"
LOSS_CURVE = "loss_curve.png"
ROLLOUT = "rollout.png"


def write_predictions(run_dir: Path, benchmark: Benchmark, scores: Scores, model: str) -> str:
    """The test split as a labelled netCDF file (xarray, h5netcdf): for each output field
    ``target_<f>`` and ``prediction_<f>``, for each input field ``input_<f>``, each with its
    ``units``; the primary metric per test sample; the grid's coordinates (``x``, ``y``)
    where the task fixes them (points are numbered otherwise) and, for point clouds, each
    node's position and validity."""
    task = benchmark.task
    test = benchmark.splits["test"].tensors
    predictions = scores.predictions
    spatial = _spatial_dims(task, predictions.ndim - 2)
    dims = ["sample", *spatial]
    units = task.field_units

    def field(values: torch.Tensor, name: str, long_name: str) -> tuple:
        return dims, values.numpy(), {"units": units.get(name, "unknown"), "long_name": long_name}

    variables = {}
    for c, name in enumerate(task.output_fields):
        variables[f"target_{name}"] = field(test["y"][:, c], name, f"{name}, the solver's")
        variables[f"prediction_{name}"] = field(
            predictions[:, c], name, f"{name} predicted by {model}"
        )
    if test["x"].shape[2:] == predictions.shape[2:]:
        for c, name in enumerate(task.input_fields):
            variables[f"input_{name}"] = field(test["x"][:, c], name, f"input {name}")
    primary = task.primary_metric
    if primary in scores.per_sample:
        variables[primary] = (
            ["sample"],
            scores.per_sample[primary].double().numpy(),
            {"long_name": f"test {primary} of each sample", "units": "1"},
        )
    if "pos" in test and test["pos"].shape[2:] == predictions.shape[2:]:
        for c, axis in enumerate(("x", "y")[: test["pos"].shape[1]]):
            variables[f"node_{axis}"] = (
                dims,
                test["pos"][:, c].numpy(),
                {"units": units.get(axis, "unknown"), "long_name": f"node {axis} position"},
            )
    if "valid" in test and test["valid"].shape[2:] == predictions.shape[2:]:
        variables["valid"] = (dims, test["valid"][:, 0].numpy(), {"long_name": "1: a node"})
    dataset = xr.Dataset(
        variables,
        coords=_coordinates(task, spatial, predictions.shape[2:]),
        attrs={
            "family": benchmark.family,
            "config": benchmark.config,
            "task": task.name,
            "model": model,
            "source": benchmark.info.source,
            "fingerprint": benchmark.info.fingerprint,
            "units": "physical (the fields as the dataset stores them)",
        },
    )
    with atomic_path(run_dir / PREDICTIONS) as tmp:
        dataset.to_netcdf(tmp, engine="h5netcdf")
    return PREDICTIONS


def _spatial_dims(task: TaskSpec, n: int) -> list[str]:
    """Names of the spatial dimensions: ``x``/``y`` in array order for grids, ``node`` for
    point clouds."""
    if n == 2:
        return ["y", "x"] if task.axes_order == "yx" else ["x", "y"]
    return ["node"] if n == 1 else [f"dim_{axis}" for axis in range(n)]


def _coordinates(task: TaskSpec, spatial: Sequence[str], shape: Sequence[int]) -> dict[str, tuple]:
    """The coordinates of the grid's points where the task fixes them, else indices."""
    coords: dict[str, tuple] = {}
    extent = task.grid_extent
    for dim, size in zip(spatial, shape, strict=True):
        if extent is not None and dim in ("x", "y"):
            lo, hi = extent[:2] if dim == "x" else extent[2:]
            values = np.linspace(lo, hi, size)
            coords[dim] = (dim, values, {"units": task.coordinate_units or "unknown"})
        else:
            coords[dim] = (dim, np.arange(size), {"long_name": f"{dim} index"})
    return coords


def write_loss_curve(run_dir: Path, history: Sequence[dict[str, Any]], metric: str) -> str | None:
    """The training loss and validation metric per epoch; ``None`` (no file) for a fitted
    baseline, which has no epochs."""
    if not any(entry["train_loss"] is not None for entry in history):
        return None
    plot_loss_curve(history, run_dir / LOSS_CURVE, metric)
    return LOSS_CURVE


def write_rollout_plot(
    run_dir: Path,
    curves: dict[str, Sequence[float | None]],
    delta_t: float,
    metric: str,
    persistence: Sequence[float | None],
) -> str:
    plot_rollout(curves, run_dir / ROLLOUT, delta_t, metric, persistence)
    return ROLLOUT


def write_samples_plot(
    run_dir: Path, benchmark: Benchmark, scores: Scores, model: str
) -> str | None:
    """Draw the first few test samples; ``None`` if the task has no image shape.

    A task may name the inputs worth drawing (``plotted_inputs``, e.g. not CFDBench's
    constant parameter channels); points on a fixed frame grid are drawn as images of
    ``frame_shape``; point clouds with raw positions ``pos`` as scatter plots of the first
    test sample in ``plot_window`` (x0, x1, y0, y1).
    """
    task = benchmark.task
    test = benchmark.splits["test"].tensors
    predictions = scores.predictions
    path = run_dir / SAMPLES
    primary = task.primary_metric
    errors = scores.values(primary) if primary in scores.per_sample else []
    title = f"{model} on {benchmark.family} {benchmark.config} ({benchmark.info.source} data)"

    def label(i: int) -> str:
        error = errors[i] if i < len(errors) else None
        return f"test sample {i}" + (f"\n{primary} {error:.3g}" if error is not None else "")

    if task.plot_window is not None:
        plot_point_samples(
            test["pos"][0],
            test["y"][0],
            predictions[0],
            test["valid"][0, 0],
            task.output_fields,
            path,
            task.plot_window,
            f"{title}: {label(0)}".replace("\n", ", "),
        )
        return SAMPLES
    shape = task.spatial_shape or task.frame_shape
    if shape is None:
        return None
    n = min(N_PLOTTED_SAMPLES, predictions.shape[0])
    shown = task.input_fields if task.plotted_inputs is None else task.plotted_inputs
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
        [label(i) for i in range(n)],
        title,
        axes_order=task.axes_order,
    )
    return SAMPLES
