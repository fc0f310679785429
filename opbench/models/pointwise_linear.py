"""The point-wise linear baseline for point clouds: the best affine map from a node's own
inputs to its outputs.

For every real node i of every training simulation n, with (normalised) inputs
x_ni ∈ R^C_in and targets y_ni ∈ R^C_out, the model is

    ŷ_ni = A x_ni + b,

fitted by least squares over all real training nodes at once (padding excluded by
``valid``; every node weighs the same), in closed form: with the node means x̄, ȳ and the
centred sums G = Σ (x − x̄)(x − x̄)ᵀ (C_in × C_in) and R = Σ (x − x̄)(y − ȳ)ᵀ,

    Aᵀ = (G + Λ)⁻¹ R,      b = ȳ − A x̄,

with the ridge Λ of :func:`~opbench.models.linear.ridge_solve` (ε = ``ridge`` times each
channel's mean centred power per node). Fitted on normalised data, the intercept makes it
invariant under per-channel affine maps of inputs and outputs, as ``linear`` is.

What it can represent on AirfRANS, whose node inputs are (x, y, U∞cos α, U∞sin α, wall
distance, n_x, n_y): the uniform freestream (u, v) = (U∞cos α, U∞sin α) exactly, plus
corrections linear in position, wall distance and normal. It cannot represent the foil's
disturbance, which decays away from the wall, nor the pressure's U∞² scaling. A network
that does not beat it has learnt no more than the freestream: it is the point-cloud
counterpart of the grid baselines ``mean`` and ``linear`` (a per-node mean field is not
defined when every simulation has its own mesh; this model's intercept b alone is the
channel mean of the training nodes). The sums are accumulated in float64 over chunks of
simulations; A and b are float32 buffers (saved in checkpoints; no trainable parameters).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from opbench.config import PositiveFloat
from opbench.data.base import Batch
from opbench.models.base import FittedModel, register_model
from opbench.models.linear import ridge_solve
from opbench.tasks import TaskSpec

_PRESET = {"model": {"ridge": 1e-7}, "train": {"epochs": 0}}
_CHUNK = 16
"""Simulations read at once while accumulating the normal equations."""


def _chunks(x: Tensor, y: Tensor, weight: Tensor) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
    """x, y and the node weights of :data:`_CHUNK` simulations at a time, in float64."""
    for start in range(0, len(x), _CHUNK):
        part = slice(start, start + _CHUNK)
        yield x[part].double(), y[part].double(), weight[part].double()


class PointwiseLinear(FittedModel):
    """ŷ = A x + b at every node, fitted by (ridge) least squares over the training nodes.

    Buffers: ``weight`` A (C_out, C_in) and ``bias`` b (C_out,).
    """

    def __init__(self, in_channels: int, out_channels: int, ridge: float) -> None:
        super().__init__()
        self.ridge = ridge
        self.register_buffer("weight", torch.zeros(out_channels, in_channels))
        self.register_buffer("bias", torch.zeros(out_channels))

    def fit(self, x: Tensor, y: Tensor, valid: Tensor | None = None) -> None:
        """Least-squares fit on x (N, C_in, P) and y (N, C_out, P) over the nodes where
        ``valid`` (N, 1, P) is 1 (every node when it is ``None``)."""
        out_channels, in_channels = self.weight.shape
        if (
            x.ndim != 3
            or x.shape[1] != in_channels
            or y.shape[1] != out_channels
            or (x.shape[0], x.shape[2]) != (y.shape[0], y.shape[2])
        ):
            raise ValueError(
                f"fit expects x (N, {in_channels}, P) and y (N, {out_channels}, P), "
                f"got {tuple(x.shape)} and {tuple(y.shape)}"
            )
        weight = torch.ones_like(x[:, :1]) if valid is None else valid.to(x.dtype)
        count = weight.double().sum()
        x_sum = torch.zeros(in_channels, dtype=torch.float64)
        y_sum = torch.zeros(out_channels, dtype=torch.float64)
        for xc, yc, w in _chunks(x, y, weight):
            x_sum += (xc * w).sum(dim=(0, 2))
            y_sum += (yc * w).sum(dim=(0, 2))
        x_mean, y_mean = x_sum / count, y_sum / count
        gram = torch.zeros(in_channels, in_channels, dtype=torch.float64)
        cross = torch.zeros(in_channels, out_channels, dtype=torch.float64)
        for xc, yc, w in _chunks(x, y, weight):
            xc, yc = xc - x_mean[:, None], yc - y_mean[:, None]
            gram += torch.einsum("nip,njp->ij", xc * w, xc)
            cross += torch.einsum("nip,nop->io", xc * w, yc)
        weights = ridge_solve(gram, cross, gram.diagonal() / count, self.ridge)
        self.weight.copy_(weights.T)
        self.bias.copy_(y_mean - weights.T @ x_mean)

    def forward(self, batch: Batch) -> Tensor:
        x = batch["x"]
        weight, bias = self.weight.to(x.dtype), self.bias.to(x.dtype)
        return torch.einsum("oi,bip->bop", weight, x) + bias[:, None]


@register_model(
    "pointwise_linear",
    layouts=("points",),
    presets={"small": _PRESET, "paper": _PRESET},
    citation="Linear baseline: least squares from each node's inputs to its outputs.",
    description="best affine map from a node's inputs to its outputs (fitted baseline)",
    fitted=True,
)
def build_pointwise_linear(task: TaskSpec, ridge: PositiveFloat = 1e-7) -> FittedModel:
    """PointwiseLinear for ``task``; ``ridge`` ε > 0 is relative to each channel's power."""
    return PointwiseLinear(task.in_channels, task.out_channels, ridge)
