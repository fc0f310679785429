"""What a run writes beside its record: test predictions as netCDF, and its pictures.

Each writer returns the file name it wrote (relative to the run directory), or ``None``
when the task has nothing to draw, so that the record lists exactly the files that exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import xarray as xr

from opbench.data.base import Benchmark
from opbench.io import atomic_path
from opbench.results.plots import plot_loss_curve, plot_point_samples, plot_rollout, plot_samples

N_PLOTTED_SAMPLES = 3

PREDICTIONS = "predictions.nc"
SAMPLES = "samples.png"
LOSS_CURVE = "loss_curve.png"
ROLLOUT = "rollout.png"


def write_predictions(run_dir: Path, benchmark: Benchmark, predictions: torch.Tensor) -> str:
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
    with atomic_path(run_dir / PREDICTIONS) as tmp:
        dataset.to_netcdf(tmp, engine="h5netcdf")
    return PREDICTIONS


def write_loss_curve(run_dir: Path, history: Sequence[dict[str, Any]], metric: str) -> str:
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
    run_dir: Path, benchmark: Benchmark, predictions: torch.Tensor
) -> str | None:
    """Draw the first few test samples; ``None`` if the task has no image shape.

    A task may name the inputs worth drawing (``plotted_inputs``, e.g. not CFDBench's
    constant parameter channels); points on a fixed frame grid are drawn as images of
    ``frame_shape``; point clouds with raw positions ``pos`` as scatter plots of the first
    test sample in ``plot_window`` (x0, x1, y0, y1).
    """
    task = benchmark.task
    test = benchmark.splits["test"].tensors
    path = run_dir / SAMPLES
    if task.plot_window is not None:
        plot_point_samples(
            test["pos"][0],
            test["y"][0],
            predictions[0],
            test["valid"][0, 0],
            task.output_fields,
            path,
            task.plot_window,
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
        [f"test sample {i}" for i in range(n)],
        axes_order=task.axes_order,
    )
    return SAMPLES
