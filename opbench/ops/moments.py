"""Per-channel moments over data read in chunks, shared by the models' normalisers and the
dataset families' metric scales, so that an in-memory and a streamed split give the same
values bit for bit."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import Tensor

CHANNEL_AXIS = 1


@dataclass(frozen=True)
class Moments:
    """Per channel: ``mean`` μ_c = Σ w v / Σ w (0 without centring), ``squares``
    Σ w (v − μ_c)² and ``count`` Σ w, all float64."""

    mean: Tensor
    squares: Tensor
    count: Tensor


def _add(total: Tensor | None, term: Tensor) -> Tensor:
    return term if total is None else total + term


def _weighted(values: Tensor, valid: Tensor | None) -> tuple[Tensor, Tensor, list[int]]:
    """``values`` in float64, the weights w broadcast to them, the axes summed over."""
    dims = [d for d in range(values.ndim) if d != CHANNEL_AXIS]
    v = values.double()
    weights = torch.ones_like(v[:, :1]) if valid is None else (valid != 0).to(v.dtype)
    return v, weights.expand_as(v), dims


def channel_moments(
    batches: Callable[[], Iterable[tuple[Tensor, Tensor | None]]], center: bool = True
) -> Moments:
    """The moments of every channel (axis 1) over every other axis, in two passes over
    ``batches()`` (pairs of values and ``valid``, summing in float64). ``valid``
    (B, 1, ...) or ``None``: w = 1 where it is nonzero (point clouds padded to one size),
    everywhere without it."""
    total = count = spread = None
    for values, valid in batches():
        v, w, dims = _weighted(values, valid)
        total = _add(total, (v * w).sum(dim=dims))
        count = _add(count, w.sum(dim=dims))
    if total is None or count is None:
        raise ValueError("no samples to compute moments over")
    mean = total / count if center else torch.zeros_like(total)
    shape = (1, -1)
    for values, valid in batches():
        v, w, dims = _weighted(values, valid)
        deviation = v - mean.view(shape + (1,) * (v.ndim - 2))
        spread = _add(spread, (deviation.square() * w).sum(dim=dims))
    return Moments(mean, spread, count)
