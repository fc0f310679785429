"""Field metrics: one function each, per-sample values, formula and source in the docstring.

Every metric has the one signature of :data:`~opbench.data.base.MetricFn`:
``fn(P, batch) -> (B,)`` with the prediction ``P`` shaped (B, C, ...) in physical units and
the batch holding the target ``Y = batch["y"]`` and, optionally, a ``mask`` (B, 1, ...)
that is 1 on the points that count (CFDBench: fluid cells; walls, inlet padding and
obstacles are 0). Sums and means run over the channels and the masked points of each
sample, without a mask over every point; points outside the mask do not contribute at all
(a NaN there is ignored, not multiplied by zero). Dataset families define their own
metrics with the same signature (ConDiff's residual, AirfRANS's field MSEs); split-level
metrics (:data:`~opbench.data.base.SetMetric`) are computed from these per-sample values.
Aggregation over the test set (mean, std, median) happens in :mod:`opbench.eval.evaluator`.
Definitions follow the published ones cited with each metric.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from opbench.data.base import Batch, Benchmark, MetricFn
from opbench.errors import ConfigError
from opbench.registry import Registry

FieldMetric = Callable[[Tensor, Tensor, Tensor | None], Tensor]
"""The arithmetic of a field metric on prediction, target and optional mask."""


@dataclass(frozen=True)
class Metric:
    """A registered metric: name, per-sample function and one-line definition.

    Called as ``metric(P, batch)``, it checks that ``P`` is shaped like ``batch["y"]`` and
    that the mask fits, then computes ``fn(P, Y, mask)``.
    """

    name: str
    fn: FieldMetric
    definition: str
    source: str

    def __call__(self, prediction: Tensor, batch: Batch) -> Tensor:
        target, mask = batch["y"], batch.get("mask")
        if prediction.shape != target.shape:
            raise ValueError(
                f"metric {self.name}: prediction shape {tuple(prediction.shape)} "
                f"!= target shape {tuple(target.shape)}"
            )
        if mask is not None and (mask.shape[0], *mask.shape[2:]) != (
            target.shape[0],
            *target.shape[2:],
        ):
            raise ValueError(
                f"metric {self.name}: mask shape {tuple(mask.shape)} does not match "
                f"target shape {tuple(target.shape)}"
            )
        return self.fn(prediction, target, mask)


METRICS: Registry[Metric] = Registry("metric")


def metric(name: str, definition: str, source: str) -> Callable[[FieldMetric], FieldMetric]:
    """Register ``fn(P, Y, mask) -> (B,)`` as the metric ``name``."""

    def decorator(fn: FieldMetric) -> FieldMetric:
        METRICS.add(name, Metric(name, fn, definition, source))
        return fn

    return decorator


def metric_function(benchmark: Benchmark, name: str) -> MetricFn:
    """The per-sample metric ``name`` of ``benchmark``: the family's own if it defines one,
    else the registered one."""
    return benchmark.metrics.get(name) or METRICS.get(name)


def check_metrics(benchmark: Benchmark) -> None:
    """ConfigError unless every metric of the task is the family's or registered."""
    unknown = [m for m in benchmark.task.metrics if m not in benchmark.metrics and m not in METRICS]
    if unknown:
        raise ConfigError(
            f"{benchmark.family} task {benchmark.task.name!r} names metrics that are neither "
            f"its family's nor registered: {unknown}"
        )


def _weights(values: Tensor, mask: Tensor | None) -> Tensor:
    """Per-point weights (B, N) for ``values`` (B, C, ...): the mask repeated over channels."""
    if mask is None:
        return torch.ones_like(values).reshape(values.shape[0], -1)
    return mask.to(values.dtype).expand_as(values).reshape(values.shape[0], -1)


def masked_sum(values: Tensor, mask: Tensor | None) -> Tensor:
    """Σ over channels and masked points of each sample, (B,); points outside the mask are
    left out (not multiplied by zero, so a NaN there does not spread)."""
    flat = values.reshape(values.shape[0], -1)
    weights = _weights(values, mask)
    return torch.where(weights > 0, flat * weights, 0.0).sum(dim=1)


def masked_mean(values: Tensor, mask: Tensor | None) -> Tensor:
    """Mean over channels and masked points of each sample, (B,)."""
    return masked_sum(values, mask) / _weights(values, mask).sum(dim=1)


@metric("rel_l2", "‖P−Y‖₂ / ‖Y‖₂ per sample", "FNO (Li et al. 2021), ConDiff, LSM")
def rel_l2(prediction: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Relative L2 error ‖P − Y‖₂ / ‖Y‖₂ of each sample, norms over channels and space."""
    error = masked_sum((prediction - target).square(), mask)
    return (error / masked_sum(target.square(), mask)).sqrt()


@metric("rel_l1", "‖P−Y‖₁ / ‖Y‖₁ per sample (Poseidon reports its median)", "Poseidon")
def rel_l1(prediction: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Relative L1 error ‖P − Y‖₁ / ‖Y‖₁ of each sample; Poseidon reports the median."""
    return masked_sum((prediction - target).abs(), mask) / masked_sum(target.abs(), mask)


@metric("mse", "mean((P−Y)²) per sample", "CFDBench, AirfRANS")
def mse(prediction: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean squared error mean((P − Y)²) over the channels and points of each sample."""
    return masked_mean((prediction - target).square(), mask)


@metric("rmse", "√mean((P−Y)²) per sample", "CFDBench")
def rmse(prediction: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Root mean squared error √mse of each sample."""
    return mse(prediction, target, mask).sqrt()


@metric("mae", "mean|P−Y| per sample", "CFDBench")
def mae(prediction: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean absolute error mean|P − Y| of each sample."""
    return masked_mean((prediction - target).abs(), mask)


@metric("nmse", "mean((P−Y)²) / mean(Y²) per sample", "CFDBench")
def nmse(prediction: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Normalised MSE mean((P − Y)²) / mean(Y²) of each sample (CFDBench), over every
    channel (CFDBench's autoregressive convention: u and v)."""
    return mse(prediction, target, mask) / masked_mean(target.square(), mask)


@metric("nmse_u", "nmse of the first channel (u) alone", "CFDBench (non-autoregressive)")
def nmse_u(prediction: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """NMSE of channel 0 (u) only: CFDBench's non-autoregressive convention."""
    return nmse(prediction[:, :1], target[:, :1], mask)


@metric("max_err", "max|P−Y| per sample", "PDEBench")
def max_err(prediction: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Largest absolute pointwise error max|P − Y| of each sample (over masked points)."""
    error = (prediction - target).abs().reshape(prediction.shape[0], -1)
    return torch.where(_weights(prediction, mask) > 0, error, 0.0).amax(dim=1)
