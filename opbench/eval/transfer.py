"""Resolution transfer on paired data: a model trained on one grid, tested without
retraining on the same physical samples at another grid.

For a test config at another resolution (ConDiff's paired variant: the same samples on the
nested grids 15, 31, 63, 127), two predictions are scored with the primary metric against
that grid's own targets:

* **direct**: the model applied to the other grid's inputs as they are. Only models whose
  network takes another grid can; for the others the reason is recorded (declared at
  registration, :attr:`~opbench.models.base.ModelFlags.fixed_grid`, or the error the
  network raised), never skipped silently.
* **yardstick**: the inputs interpolated to the training grid, the model's prediction there,
  and the prediction interpolated back (bicubic, :func:`~opbench.ops.resample.resample`).
  A model is discretisation-invariant in practice only where *direct* beats this.

The **discretisation gap** of the data is reported beside them: the finer grid's targets
read at the coarser grid's points, against the coarser grid's own targets (for nested
vertex grids the bicubic resampling reads the shared vertices exactly). It is how far
apart the two grids' "truths" are; no model is expected to get closer than that to the
other grid's targets without information about it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from pydantic import Field
from torch import Tensor

from opbench.config import StrictModel
from opbench.data.base import UNIT_KEY, Batch, Benchmark
from opbench.eval.evaluator import Scores, metric_values, predict
from opbench.models.surrogate import Surrogate
from opbench.ops.resample import Boundary, Layout, resample

Number = float | None


class TransferScore(StrictModel):
    """The trained model on the test split of another resolution (the record's section).

    ``direct`` and ``yardstick`` are the mean primary metric over the test samples
    (``*_values`` per independent unit: a sample, or a CFDBench test case, the mean over
    its frame pairs); ``direct`` is ``None`` where the model cannot take the grid,
    with ``not_applicable`` saying why. ``gap``: the data's discretisation gap (module doc),
    ``None`` when the two test sets are not the same samples."""

    config: str
    fingerprint: str
    shape: list[int]
    trained_shape: list[int]
    n: int = Field(ge=1)
    metric: str
    direct: Number
    yardstick: Number
    gap: Number
    not_applicable: str | None = None
    direct_values: list[Number] | None = None
    yardstick_values: list[Number]


def _mean(values: Tensor) -> float | None:
    v = values.double()
    return float(v.mean()) if bool(torch.isfinite(v).all()) else None


def _per_unit(values: Tensor, benchmark: Benchmark, metric: str) -> list[float | None]:
    """The values per independent unit of ``benchmark``'s test split (its samples, or the
    means over each :data:`~opbench.data.base.UNIT_KEY` unit)."""
    units = benchmark.splits["test"].tensors.get(UNIT_KEY)
    return Scores({metric: values}, values, units=units).unit_values(metric)


def _resampled(batch: Batch, keys: Sequence[str], shape: tuple[int, int], layout: Layout) -> Batch:
    return {name: resample(t, shape, layout) if name in keys else t for name, t in batch.items()}


def transfer_score(
    surrogate: Surrogate,
    trained: Benchmark,
    other: Benchmark,
    batch_size: int,
    device: torch.device,
    fixed_grid: str | None = None,
) -> TransferScore:
    """Score ``surrogate`` (trained on ``trained``) on ``other``'s test split (module doc)."""
    layout = trained.grid_points
    if layout is None or other.grid_points != layout:
        raise ValueError(f"{trained.family} {trained.config} has no resamplable grid")
    metric = trained.task.primary_metric
    here, there = tuple(trained.task.spatial_shape), tuple(other.task.spatial_shape)
    grid_keys = [name for name in other.splits["test"].keys if name in GRID_INPUTS]

    def score(prediction: Tensor) -> Tensor:
        return metric_values(other, "test", prediction, [metric], batch_size)[metric]

    samples = other.splits["test"]
    resampled = predict(
        surrogate,
        samples,
        batch_size,
        device,
        lambda batch: _resampled(batch, grid_keys, here, layout),
    )
    yardstick = score(resample(resampled, there, layout, _output_boundary(trained)))
    direct, reason = None, fixed_grid
    if reason is None:
        try:
            prediction = predict(surrogate, samples, batch_size, device)
            if tuple(prediction.shape[-2:]) != there:
                reason = f"the network returns {tuple(prediction.shape[-2:])} on a {there} grid"
            else:
                direct = score(prediction)
        except (RuntimeError, ValueError) as error:
            reason = f"the network does not take a {there} grid: {str(error).splitlines()[0]}"
    return TransferScore(
        config=other.config,
        fingerprint=other.info.fingerprint,
        shape=list(there),
        trained_shape=list(here),
        n=len(other.splits["test"]),
        metric=metric,
        direct=None if direct is None else _mean(direct),
        yardstick=_mean(yardstick),
        gap=discretisation_gap(trained, other, batch_size),
        not_applicable=reason,
        direct_values=None if direct is None else _per_unit(direct, other, metric),
        yardstick_values=_per_unit(yardstick, other, metric),
    )


def _output_boundary(benchmark: Benchmark) -> Boundary:
    """The outputs' boundary ring for resampling: zero under a zero-Dirichlet condition."""
    return "zero" if benchmark.task.boundary == "zero-dirichlet" else "edge"


GRID_INPUTS = ("x", "mask")
"""The batch keys a model reads that live on the grid (resampled for the yardstick)."""


def discretisation_gap(trained: Benchmark, other: Benchmark, batch_size: int) -> float | None:
    """Mean primary metric of the finer test split's targets read at the coarser grid's
    points against the coarser targets; ``None`` unless both hold the same samples (and,
    for frame pairs, as many)."""
    if trained.paired_samples is None or trained.paired_samples != other.paired_samples:
        return None
    if len(trained.splits["test"]) != len(other.splits["test"]):
        return None  # CFDBench: the steady-state cut-off kept other frame pairs
    fine, coarse = sorted((trained, other), key=lambda b: -int(np.prod(b.task.spatial_shape)))
    shape = tuple(coarse.task.spatial_shape)
    targets = fine.splits["test"].tensors["y"].double()
    read = resample(targets, shape, fine.grid_points, _output_boundary(fine))
    metric = trained.task.primary_metric
    return _mean(metric_values(coarse, "test", read, [metric], batch_size)[metric])
