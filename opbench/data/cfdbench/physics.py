"""Physics checks on predicted CFDBench frames."""

from __future__ import annotations

from torch import Tensor

from opbench.data.base import Batch


def divergence(prediction: Tensor, batch: Batch) -> Tensor:
    """Mean |∂u/∂x + ∂v/∂y| over fluid cells whose four neighbours are fluid, per sample.

    Central differences on the frame grid, ``(u[i, j+1] − u[i, j−1]) / 2dx +
    (v[i+1, j] − v[i−1, j]) / 2dy`` with (dx, dy) from ``batch["spacing"]``; ``prediction``
    (B, 2, H, W) holds (u, v) with axis 2 = y. Units 1/s. The frames are interpolated from
    the solver's grid, so even the true frames have a small divergence: compare a model
    with the value of its targets.
    """
    u, v = prediction[:, 0].double(), prediction[:, 1].double()
    dx = batch["spacing"][:, 0, None, None]
    dy = batch["spacing"][:, 1, None, None]
    div = (u[:, 1:-1, 2:] - u[:, 1:-1, :-2]) / (2 * dx) + (v[:, 2:, 1:-1] - v[:, :-2, 1:-1]) / (
        2 * dy
    )
    fluid = batch["mask"][:, 0] > 0
    inner = (
        fluid[:, 1:-1, 1:-1]
        & fluid[:, 1:-1, 2:]
        & fluid[:, 1:-1, :-2]
        & fluid[:, 2:, 1:-1]
        & fluid[:, :-2, 1:-1]
    ).double()
    return (div.abs() * inner).sum(dim=(1, 2)) / inner.sum(dim=(1, 2)).clamp_min(1.0)
