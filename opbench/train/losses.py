"""Training losses, computed on normalised outputs ỹ against the normalised target.

Each returns a scalar: the mean over the batch of a per-sample quantity, so the loss does
not depend on the batch size (neuraloperator's ``LpLoss`` sums over the batch instead).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from opbench.registry import Registry

Loss = Callable[[Tensor, Tensor], Tensor]
LOSSES: Registry[Loss] = Registry("loss")


def _flat(t: Tensor) -> Tensor:
    return t.reshape(t.shape[0], -1)


@LOSSES.register("rel_l2")
def relative_l2(prediction: Tensor, target: Tensor) -> Tensor:
    """(1/B) Σ_b ‖P_b − Y_b‖₂ / ‖Y_b‖₂ (FNO's relative L2 loss, batch-averaged)."""
    diff = torch.linalg.vector_norm(_flat(prediction - target), dim=1)
    return (diff / torch.linalg.vector_norm(_flat(target), dim=1).clamp_min(1e-12)).mean()


@LOSSES.register("abs_l2")
def absolute_l2(prediction: Tensor, target: Tensor) -> Tensor:
    """(1/B) Σ_b ‖P_b − Y_b‖₂ (ConDiff notebooks: batch mean of the absolute L2 norm)."""
    return torch.linalg.vector_norm(_flat(prediction - target), dim=1).mean()


@LOSSES.register("mse")
def mean_squared(prediction: Tensor, target: Tensor) -> Tensor:
    """mean((P − Y)²) over batch, channels and points."""
    return (prediction - target).square().mean()


@LOSSES.register("l1")
def mean_absolute(prediction: Tensor, target: Tensor) -> Tensor:
    """mean|P − Y| over batch, channels and points."""
    return (prediction - target).abs().mean()


@LOSSES.register("nmse")
def normalised_mse(prediction: Tensor, target: Tensor) -> Tensor:
    """mean((P − Y)²) / mean(Y²), both means over the whole batch (channels and points).

    The CFDBench training loss (``MseLoss(normalize=True)`` in luo-yining/CFDBench): the
    per-sample metric :func:`opbench.eval.metrics.nmse` is the same ratio for one sample
    (B = 1, no mask); over a batch the loss divides the batch's MSE by the batch's mean
    square, so a frame at rest (Y ≡ 0, e.g. a cavity's first frame) does not make it
    infinite. As every loss here it is computed on normalised outputs; unlike the others it
    is a ratio of batch means, not a mean of per-sample values (it still does not depend on
    the batch size).
    """
    return (prediction - target).square().mean() / target.square().mean().clamp_min(1e-12)
