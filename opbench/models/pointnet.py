"""PointNet (Qi, Su, Mo, Guibas 2017) in the segmentation form the AirfRANS benchmark uses
for per-point regression (Bonnet et al. 2022, Extrality/AirfRANS ``models/PointNet.py``).

Points layout only: x (B, C_in, N) → (B, C_out, N). With b = ``base`` (8 in the
reference) and the AirfRANS encoder and decoder (:class:`~opbench.models.mlp.MLPBlock`,
no batch norm anywhere in this model):

    encoder     [C_in, 64, 64, 8]                         per point
    local  l    [8, b, 2b]                                per point          (B, N, 2b)
    global g    [2b, 4b, 8b, 32b], then max over the points                  (B, 32b)
    head        [2b + 32b, 16b, 8b, 4b] on the concatenation [l_n, g], Linear(4b → 8)
    decoder     [8, 64, 64, C_out]                        per point

ReLU between the layers of a block, none after a block's last layer (as in the reference,
whose blocks therefore meet linearly). The global feature is the only exchange between
points: g is a max over the points, hence invariant to their order, and the output is
permutation-equivariant. When the batch carries ``mask`` (B, 1, N), the max runs over the
points whose mask is 1 only, so masked (padding) points influence no other point.

The head's first layer is evaluated as W [l_n; g] + c = W_l l_n + (W_g g + c), the global
term once per sample: the same parameters and result as the reference's concatenation
without materialising a (B, N, 34b) tensor (at N = 180 000, b = 8: 196 MB less, and about
44 % fewer multiply-adds per point: 41,600 instead of 74,368).

No input or feature transform networks (T-Nets): the AirfRANS PointNet has none, and its
inputs are not an arbitrary pose of a shape: positions are in the fixed aerofoil frame,
and the freestream direction (U∞cos α, U∞sin α) and wall normals are inputs whose
orientation relative to the aerofoil is the physics; a learnt rotation would only have to
learn the identity. AirfRANS (Bonnet et al. 2022) reports PointNet as a reference
baseline with the sizes below. With 7 inputs, 4 outputs and b = 8: 75,244 parameters.

Presets: ``paper`` is the reference (b = 8) with the AirfRANS recipe
(:data:`~opbench.models.mlp.AIRFRANS_TRAIN`, same deviations as the ``mlp`` model);
``small`` the same network with the zoo's common small recipe.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from opbench.config import Size, Widths
from opbench.data.base import Batch
from opbench.models.base import SMALL_TRAIN, register_model
from opbench.models.mlp import AIRFRANS_TRAIN, MLPBlock, channels_first, point_features
from opbench.models.mlp import CITATION as AIRFRANS_CITATION
from opbench.tasks import TaskSpec

CITATION = (
    "Qi, Su, Mo, Guibas. PointNet: Deep Learning on Point Sets for 3D Classification and "
    "Segmentation. CVPR 2017. arXiv:1612.00593. AirfRANS variant: " + AIRFRANS_CITATION
)

REFERENCE_POINTNET: dict[str, Any] = {
    "encoder": [64, 64],
    "latent": 8,
    "base": 8,
    "decoder": [64, 64],
}
"""``params.yaml``, PointNet: encoder [7, 64, 64, 8], ``base_nb`` 8, decoder [8, 64, 64, 4]."""


def masked_max(h: Tensor, mask: Tensor | None) -> Tensor:
    """max over the points of features (B, N, C), among the points whose mask (B, N, 1) is
    true: (B, C). A sample without such points gets the dtype's lowest finite value."""
    if mask is not None:
        h = h.masked_fill(~mask, torch.finfo(h.dtype).min)
    return h.amax(dim=1)


class PointNet(nn.Module):
    """Per-point encoder, local and global features, max-pooled global feature shared by
    every point, per-point head and decoder (see the module docstring)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        encoder: Sequence[int],
        latent: int,
        base: int,
        decoder: Sequence[int],
    ) -> None:
        super().__init__()
        self.local_width = 2 * base
        self.encoder = MLPBlock([in_channels, *encoder, latent])
        self.local = MLPBlock([latent, base, 2 * base])
        self.global_block = MLPBlock([2 * base, 4 * base, 8 * base, 32 * base])
        self.head = MLPBlock([34 * base, 16 * base, 8 * base, 4 * base])
        self.project = nn.Linear(4 * base, latent)
        self.decoder = MLPBlock([latent, *decoder, out_channels])

    def global_feature(self, local: Tensor, mask: Tensor | None = None) -> Tensor:
        """g (B, 32b): the global block on every point, max-pooled over the (unmasked)
        points of each sample."""
        return masked_max(self.global_block(local), mask)

    def forward(self, batch: Batch) -> Tensor:
        h, mask = point_features(batch)
        local = self.local(self.encoder(h))
        g = self.global_feature(local, mask)
        first = self.head.layers[0]
        weight_local = first.weight[:, : self.local_width]
        weight_global = first.weight[:, self.local_width :]
        z = F.linear(local, weight_local) + F.linear(g, weight_global, first.bias)[:, None]
        return channels_first(self.decoder(self.project(self.head.hidden(z))))


@register_model(
    "pointnet",
    layouts=("points",),
    presets={
        "small": {"model": REFERENCE_POINTNET, "train": SMALL_TRAIN},
        "paper": {"model": REFERENCE_POINTNET, "train": AIRFRANS_TRAIN},
    },
    citation=CITATION,
    description="PointNet, AirfRANS variant: point-wise MLPs and a max-pooled global feature",
)
def build_pointnet(
    task: TaskSpec,
    encoder: Widths = (64, 64),
    latent: Size = 8,
    base: Size = 8,
    decoder: Widths = (64, 64),
) -> PointNet:
    """PointNet for a points ``task``: encoder [C_in, *encoder, latent], local, global and
    head widths multiples of ``base`` as in AirfRANS, decoder [latent, *decoder, C_out]."""
    return PointNet(task.in_channels, task.out_channels, encoder, latent, base, decoder)
