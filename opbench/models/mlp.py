"""The AirfRANS ``MLP`` baseline (Bonnet, Mazari, Cinnella, Gallinari 2022): one network
applied to every node of a point cloud on its own features.

Points layout only: x (B, C_in, N) → (B, C_out, N). Three blocks of the reference code
(Extrality/AirfRANS, ``models/NN.py`` with ``models/MLP.py``, ``params.yaml``):

    encoder [C_in, 64, 64, 8]  →  main MLP [8, 64, 64, 64, 8]  →  decoder [8, 64, 64, C_out]

Each block is the reference ``MLP(channel_list)`` (:class:`MLPBlock`): a Linear layer,
then per further layer (batch norm) → ReLU → Linear, with no activation after a block's
last layer (so the blocks meet linearly, as in the reference). Only the main MLP has
batch norm (``bn_bool: True``; the encoder and decoder are built with
``batch_norm=False``). The reference's norm is ``BatchNorm1d(track_running_stats=False)``:
statistics of the current batch in training *and* evaluation, and its batches hold one
simulation in both (training batch size 1, ``Infer_test`` one simulation at a time), so
the statistics are those of one simulation's nodes. :class:`PointBatchNorm` computes them
per sample, over the points whose ``mask`` is 1 when the batch has one: identical to the
reference at batch size 1, and independent of how many simulations a batch holds (with
batch-wide statistics, validating 64 simulations per batch would normalise differently
from training on one). Every other operation acts on each point alone, so the
network is permutation-equivariant in the points; with ``batch_norm=False`` it is strictly
point-wise. With 7 inputs and 4 outputs it has 19,988 parameters (5,192 encoder,
9,416 + 384 main MLP, 4,996 decoder).

Presets: ``paper`` is the reference (the widths above: the AirfRANS repository's
``params.yaml``, encoder [7,64,64,8], decoder [8,64,64,4]) with its recipe
(:data:`AIRFRANS_TRAIN`): Adam lr 1e-3 without weight decay, batch of one simulation, 398
epochs, MSE, and the reference's
``OneCycleLR`` (30 % warm-up from lr/25, cosine decay to lr/2.5e5; opbench's ``onecycle``
schedule). Deviation: the reference loss is MSE(volume nodes) + MSE(surface nodes),
opbench's ``mse`` is the mean over all points.
``small`` keeps the same (already small) network with the zoo's common small recipe.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from opbench.config import Count, Size, Widths
from opbench.data.base import Batch
from opbench.models.base import SMALL_TRAIN, register_model
from opbench.tasks import TaskSpec

CITATION = (
    "Bonnet, Mazari, Cinnella, Gallinari. AirfRANS: High Fidelity Computational Fluid "
    "Dynamics Dataset for Approximating Reynolds-Averaged Navier-Stokes Solutions. NeurIPS "
    "2022 Datasets and Benchmarks Track. arXiv:2212.07564"
)

AIRFRANS_TRAIN: dict[str, Any] = {
    "optimizer": "adam",
    "lr": 1e-3,
    "weight_decay": 0.0,
    "schedule": "onecycle",
    "warmup_fraction": 0.3,
    "batch_size": 1,
    "epochs": 398,
    "loss": "mse",
    "grad_clip": None,
}
"""The AirfRANS reference recipe (``train.py``, ``params.yaml``) as far as opbench expresses
it: Adam lr 1e-3 (no weight decay, no gradient clipping), one simulation per batch, 398
epochs, MSE in standardised units, and its one-cycle schedule (``torch.optim.lr_scheduler.
OneCycleLR`` with its defaults, 30 % warm-up); the 32 000 nodes sampled per simulation and
step are the dataset's business."""

REFERENCE_MLP: dict[str, Any] = {
    "encoder": [64, 64],
    "latent": 8,
    "width": 64,
    "layers": 3,
    "decoder": [64, 64],
    "batch_norm": True,
}
"""``params.yaml``, MLP: encoder [7, 64, 64, 8], 3 hidden layers of 64 with batch norm,
decoder [8, 64, 64, 4] (C_in and C_out come from the task)."""


class PointBatchNorm(nn.Module):
    """Batch norm over the points of each sample, with the current statistics in training
    and evaluation alike (the reference's ``BatchNorm1d(track_running_stats=False)`` on its
    one-simulation batches):

        h ← γ (h − μ_b) / √(σ_b² + ε) + β,

    μ_b and σ_b² (biased) per channel over the points of sample b, restricted to the points
    whose mask is true when a mask is given. Features (B, N, C)."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, h: Tensor, mask: Tensor | None = None) -> Tensor:
        """``mask``: (B, N, 1) bool, true on the points that count; ``None``: all points."""
        if mask is None:
            var, mean = torch.var_mean(h, dim=1, keepdim=True, correction=0)
        else:
            weight = mask.to(h.dtype)
            count = weight.sum(dim=1, keepdim=True).clamp_min(1.0)
            mean = (h * weight).sum(dim=1, keepdim=True) / count
            var = ((h - mean).square() * weight).sum(dim=1, keepdim=True) / count
        return (h - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias


class MLPBlock(nn.Module):
    """The AirfRANS reference ``MLP``: Linear(w_0 → w_1), then for each further layer
    (norm) → ReLU → Linear(w_{l−1} → w_l); the last layer is not activated. Acts on the
    last axis of point features (B, N, w_0); ``batch_norm`` adds a
    :class:`PointBatchNorm` before each hidden ReLU."""

    def __init__(self, widths: Sequence[int], batch_norm: bool = False) -> None:
        super().__init__()
        if len(widths) < 2:
            raise ValueError(f"an MLP block needs at least two widths, not {list(widths)}")
        self.layers = nn.ModuleList(nn.Linear(n_in, n_out) for n_in, n_out in pairwise(widths))
        self.norms = nn.ModuleList(
            PointBatchNorm(width) if batch_norm else nn.Identity() for width in widths[1:-1]
        )

    def hidden(self, h: Tensor, mask: Tensor | None = None) -> Tensor:
        """Everything after the first Linear layer, on its output ``h``."""
        for layer, norm in zip(self.layers[1:], self.norms, strict=True):
            h = norm(h, mask) if isinstance(norm, PointBatchNorm) else h
            h = layer(F.relu(h))
        return h

    def forward(self, h: Tensor, mask: Tensor | None = None) -> Tensor:
        return self.hidden(self.layers[0](h), mask)


def point_features(batch: Batch) -> tuple[Tensor, Tensor | None]:
    """``batch["x"]`` (B, C, N) as point features (B, N, C), and ``batch["mask"]`` (B, 1, N)
    as a (B, N, 1) bool (true where the mask is positive), ``None`` without a mask."""
    mask = batch.get("mask")
    return batch["x"].transpose(1, 2), None if mask is None else mask.transpose(1, 2) > 0


def channels_first(h: Tensor) -> Tensor:
    """Point features (B, N, C) → the points layout (B, C, N), contiguous."""
    return h.transpose(1, 2).contiguous()


class NodeMLP(nn.Module):
    """Encoder, main MLP and decoder applied to each point's features (the reference
    ``NN``); the main MLP's batch norms read ``batch["mask"]`` when present."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        encoder: Sequence[int],
        latent: int,
        width: int,
        layers: int,
        decoder: Sequence[int],
        batch_norm: bool,
    ) -> None:
        super().__init__()
        self.encoder = MLPBlock([in_channels, *encoder, latent])
        self.core = MLPBlock([latent, *[width] * layers, latent], batch_norm=batch_norm)
        self.decoder = MLPBlock([latent, *decoder, out_channels])

    def forward(self, batch: Batch) -> Tensor:
        h, mask = point_features(batch)
        return channels_first(self.decoder(self.core(self.encoder(h), mask)))


@register_model(
    "mlp",
    layouts=("points",),
    presets={
        "small": {
            "model": REFERENCE_MLP,
            "train": SMALL_TRAIN,
        },
        "paper": {
            "model": REFERENCE_MLP,
            "train": AIRFRANS_TRAIN,
        },
    },
    citation=CITATION,
    description="AirfRANS MLP baseline: encoder, MLP and decoder on each point's features",
)
def build_mlp(
    task: TaskSpec,
    encoder: Widths = (64, 64),
    latent: Size = 8,
    width: Size = 64,
    layers: Count = 3,
    decoder: Widths = (64, 64),
    batch_norm: bool = True,
) -> NodeMLP:
    """The AirfRANS MLP for a points ``task``: encoder [C_in, *encoder, latent], main MLP
    [latent, width × ``layers``, latent] (batch norm if ``batch_norm``), decoder
    [latent, *decoder, C_out]."""
    return NodeMLP(
        task.in_channels,
        task.out_channels,
        encoder,
        latent,
        width,
        layers,
        decoder,
        batch_norm,
    )
