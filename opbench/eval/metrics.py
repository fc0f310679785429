"""Field metrics: one function each, per-sample values, formula and source in the docstring.

Every metric takes a prediction ``P`` and a target ``Y`` shaped (B, C, ...) in physical
units and returns one value per sample, shape (B,). Norms run over every non-batch axis
(channels and space). Aggregation over the test set (mean, std, median) happens in
:mod:`opbench.eval.evaluator`. Definitions follow ``shared/spec/metrics.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from opbench.registry import Registry


@dataclass(frozen=True)
class Metric:
    """A registered metric: name, per-sample function and one-line definition."""

    name: str
    fn: Callable[[Tensor, Tensor], Tensor]
    definition: str
    source: str

    def __call__(self, prediction: Tensor, target: Tensor) -> Tensor:
        if prediction.shape != target.shape:
            raise ValueError(
                f"metric {self.name}: prediction shape {tuple(prediction.shape)} "
                f"!= target shape {tuple(target.shape)}"
            )
        return self.fn(prediction, target)


METRICS: Registry[Metric] = Registry("metric")


def metric(name: str, definition: str, source: str):
    """Register ``fn(P, Y) -> (B,)`` as the metric ``name``."""

    def decorator(fn: Callable[[Tensor, Tensor], Tensor]) -> Callable[[Tensor, Tensor], Tensor]:
        METRICS.add(name, Metric(name, fn, definition, source))
        return fn

    return decorator


def _flat(t: Tensor) -> Tensor:
    return t.reshape(t.shape[0], -1)


@metric("rel_l2", "‖P−Y‖₂ / ‖Y‖₂ per sample", "FNO (Li et al. 2021), ConDiff, LSM")
def rel_l2(prediction: Tensor, target: Tensor) -> Tensor:
    """Relative L2 error ‖P − Y‖₂ / ‖Y‖₂ of each sample, norms over channels and space."""
    return torch.linalg.vector_norm(_flat(prediction - target), dim=1) / torch.linalg.vector_norm(
        _flat(target), dim=1
    )


@metric("rel_l1", "‖P−Y‖₁ / ‖Y‖₁ per sample (Poseidon reports its median)", "Poseidon")
def rel_l1(prediction: Tensor, target: Tensor) -> Tensor:
    """Relative L1 error ‖P − Y‖₁ / ‖Y‖₁ of each sample; Poseidon reports the median."""
    return _flat(prediction - target).abs().sum(dim=1) / _flat(target).abs().sum(dim=1)


@metric("mse", "mean((P−Y)²) per sample", "CFDBench, AirfRANS")
def mse(prediction: Tensor, target: Tensor) -> Tensor:
    """Mean squared error mean((P − Y)²) over the channels and points of each sample."""
    return _flat(prediction - target).square().mean(dim=1)


@metric("rmse", "√mean((P−Y)²) per sample", "CFDBench")
def rmse(prediction: Tensor, target: Tensor) -> Tensor:
    """Root mean squared error √mse of each sample."""
    return mse(prediction, target).sqrt()


@metric("mae", "mean|P−Y| per sample", "CFDBench")
def mae(prediction: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error mean|P − Y| of each sample."""
    return _flat(prediction - target).abs().mean(dim=1)


@metric("nmse", "mean((P−Y)²) / mean(Y²) per sample", "CFDBench")
def nmse(prediction: Tensor, target: Tensor) -> Tensor:
    """Normalised MSE mean((P − Y)²) / mean(Y²) of each sample (CFDBench)."""
    return mse(prediction, target) / _flat(target).square().mean(dim=1)


@metric("max_err", "max|P−Y| per sample", "PDEBench")
def max_err(prediction: Tensor, target: Tensor) -> Tensor:
    """Largest absolute pointwise error max|P − Y| of each sample."""
    return _flat(prediction - target).abs().amax(dim=1)
