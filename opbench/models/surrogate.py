"""Surrogate: a registered network between input and output normalisers.

Inputs and outputs are standardised per channel with statistics fitted on the training
split (unit-Gaussian normalisation, as in the FNO reference code):
``x̃ = (x − μ_x) / σ_x``, and the network predicts ``ỹ`` with ``y = σ_y ỹ + μ_y``.
The trainer's loss compares ``ỹ`` with the normalised target; every metric is computed on
``y`` in physical units.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from opbench.data.base import Batch
from opbench.tasks import TaskSpec
from opbench.train import checkpoint

CHANNEL_AXIS = 1


class ChannelNormalizer(nn.Module):
    """Per-channel standardisation ``(v − μ_c) / σ_c`` with μ, σ fitted on training data."""

    def __init__(self, channels: int, eps: float = 1e-12, center: bool = True) -> None:
        super().__init__()
        self.eps = eps
        self.center = center
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("std", torch.ones(channels))

    def fit(self, values: Tensor, valid: Tensor | None = None) -> None:
        """Fit μ_c and σ_c over every axis but the channel axis (1) of ``values``; without
        centring μ_c = 0 and σ_c is the root mean square. ``valid`` (B, 1, ...) restricts
        the statistics to the points where it is nonzero (point clouds padded to one size)."""
        dims = [d for d in range(values.ndim) if d != CHANNEL_AXIS]
        values = values.double()
        weights = (
            torch.ones_like(values[:, :1]) if valid is None else (valid != 0).to(values.dtype)
        ).expand_as(values)
        count = weights.sum(dim=dims)
        mean = (
            (values * weights).sum(dim=dims) / count
            if self.center
            else torch.zeros_like(self.mean).double()
        )
        shape = self._shape(values)
        spread = ((values - mean.view(shape)).square() * weights).sum(dim=dims) / count
        self.mean.copy_(mean)
        self.std.copy_(spread.sqrt().clamp_min(self.eps))

    def _shape(self, values: Tensor) -> tuple[int, ...]:
        return (1, -1) + (1,) * (values.ndim - 2)

    def encode(self, values: Tensor) -> Tensor:
        shape = self._shape(values)
        return (values - self.mean.view(shape)) / self.std.view(shape)

    def decode(self, values: Tensor) -> Tensor:
        shape = self._shape(values)
        return values * self.std.view(shape) + self.mean.view(shape)


class Surrogate(nn.Module):
    """``net`` between an input and an output :class:`ChannelNormalizer`."""

    def __init__(self, net: nn.Module, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.net = net
        self.input_norm = ChannelNormalizer(in_channels)
        # Models whose outputs satisfy a homogeneous condition exactly (a sine series that
        # vanishes on the boundary) declare `output_offset_free`: outputs are then scaled,
        # not centred, so the condition survives the normaliser.
        self.output_norm = ChannelNormalizer(
            out_channels, center=not getattr(net, "output_offset_free", False)
        )

    def fit_normalizers(self, x: Tensor, y: Tensor, valid: Tensor | None = None) -> None:
        self.input_norm.fit(x, valid)
        self.output_norm.fit(y, valid)

    def normalized_batch(self, batch: Batch) -> Batch:
        return {**batch, "x": self.input_norm.encode(batch["x"])}

    def forward(self, batch: Batch, normalized: bool = False) -> Tensor:
        """The prediction y in physical units, or the network's output ỹ in normalised units
        with ``normalized=True`` (what the training loss compares)."""
        if getattr(self.net, "physical_units", False):
            # Baselines defined in physical units (identity) see the raw batch.
            output = self.net(batch)
            return self.output_norm.encode(output) if normalized else output
        output = self.net(self.normalized_batch(batch))
        return output if normalized else self.output_norm.decode(output)


def load_surrogate(path: Path) -> Surrogate:
    """Rebuild a Surrogate from a checkpoint alone: the registry name, hyperparameters and
    task stored in its metadata rebuild the network, then the weights are loaded."""
    from opbench.models.base import MODELS

    tensors, meta = checkpoint.load_checkpoint(path)
    task = TaskSpec(
        **{
            key: tuple(value) if isinstance(value, list) else value
            for key, value in meta["task"].items()
        }
    )
    net = MODELS.get(meta["model"]).build(task, **meta["hyperparameters"])
    surrogate = Surrogate(net, task.in_channels, task.out_channels)
    prefix = "model." if any(name.startswith("model.") for name in tensors) else ""
    checkpoint.load_module_tensors(surrogate, tensors, prefix)
    return surrogate
