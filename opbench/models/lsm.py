"""Latent Spectral Models (Wu, Hu, Luo, Wang, Long, ICML 2023), reimplemented after the
reference code (github.com/thuml/Latent-Spectral-Models, ``models/LSM_2D.py``).

Architecture (a "Linear" acts on the channels of every pixel, i.e. a 1×1 convolution):

* **Lift**: the normalised inputs and the coordinates (x, y) ∈ [0, 1]² of the unpadded
  grid are concatenated and mapped to ``width`` channels by a Linear layer; the lifted
  map is then zero-padded on the bottom/right to a multiple of 2^(L−1)·patch (16·patch
  in the reference: its ``padding``), so that every level of the U-Net splits into whole
  patches. A 32² map with patch 4 is thus computed as 64²; the ``small32`` preset (4
  levels, patch 4) needs no padding at 32².
* **Multiscale U-Net**, L = 5 levels (the reference; ``levels`` sets L): (conv 3×3, batch
  norm, ReLU) ×2 at full resolution, then 2×2 max pooling followed by the same double
  convolution L − 1 times, with widths w, 2w, 4w, 8w, 8w (in general w·2^i, the last level
  as wide as the one above it). The decoder upsamples bilinearly (×2,
  ``align_corners=True``), concatenates the skip and applies a double convolution whose
  middle width is half its input width (decoder outputs 4w, 2w, w, w).
* Every skip feature and the bottleneck pass through a **Neural Spectral Block** before
  the decoder uses them.
* **Projection**, after cropping back: Linear(width → width) (the reference's 1×1
  ``outc``), Linear(width → 128), GELU, Linear(128 → out).

Neural Spectral Block on a map x of C channels, split into non-overlapping patches of
p_h × p_w pixels, with H heads of d = C/H channels and T learnable latent tokens
ℓ ∈ R^{H×T×d} (shared by all patches); within one patch, head h:

1. keys and values from a 1×1 convolution, [k; v] = W_kv x, and the latent tokens attend
   to the patch's pixels:  z = softmax(ℓ kᵀ) v + ℓ  (no 1/√d scaling, as the reference);
2. each latent value is expanded in the trigonometric basis
   φ(z) = [sin(kπz/K), cos(kπz/K)]_{k=0..K−1} and mixed by learnable per-channel weights
   w ∈ R^{C×2K}:  z_c ← Σ_m w_{c,m} φ_m(z_c) + z_c;
3. the pixels attend back to the latent tokens, q = W_q x:  x ← softmax(q zᵀ) z + x;

then the patches are put back in place. The basis frequencies k/K are a non-persistent
buffer (the reference hard-codes them on the GPU), so the model runs on any device.
"""

from __future__ import annotations

import math
from typing import Annotated

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from opbench.config import Size
from opbench.data.base import Batch
from opbench.models.base import ADAM_STEP_FIFTHS, SMALL_TRAIN, register_model
from opbench.models.unet import double_conv
from opbench.tasks import TaskSpec

CITATION = (
    "Wu, Hu, Luo, Wang, Long. Solving High-Dimensional PDEs with Latent Spectral Models. "
    "ICML 2023. arXiv:2301.12664"
)
LEVELS = 5
"""The reference's U-Net levels: the coarsest map is 2^(LEVELS−1) = 16 times smaller."""


class NeuralSpectralBlock(nn.Module):
    """Patchwise latent attention with a trigonometric-basis transition (module docstring).

    Args:
        width: channels C of the map; must be divisible by ``heads``.
        num_basis: K, the number of frequencies k = 0..K−1 of the basis.
        patch_size: (p_h, p_w); the map's height and width must be multiples of them.
        num_tokens: T latent tokens per head.
        heads: attention heads H.
    """

    def __init__(
        self,
        width: int,
        num_basis: int,
        patch_size: tuple[int, int],
        num_tokens: int,
        heads: int,
    ) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by {heads} heads")
        self.patch_size = patch_size
        self.heads = heads
        self.register_buffer(
            "frequencies",
            torch.arange(num_basis, dtype=torch.float32) / num_basis,
            persistent=False,
        )
        # reference initialisation: uniform on [0, 1/C)
        self.weights = nn.Parameter(torch.rand(width, 2 * num_basis) / width)
        self.latent = nn.Parameter(torch.rand(heads, num_tokens, width // heads) / width)
        self.to_key_value = nn.Conv2d(width, 2 * width, 1)
        self.to_query = nn.Conv2d(width, width, 1)

    def trigonometric_basis(self, z: Tensor) -> Tensor:
        """φ(z) = [sin(kπz/K) for k < K, cos(kπz/K) for k < K], a new last axis of 2K."""
        angles = math.pi * z[..., None] * self.frequencies
        return torch.cat([angles.sin(), angles.cos()], dim=-1)

    def _patches(self, x: Tensor) -> Tensor:
        """(B, C, H, W) → (B, patches, heads, pixels per patch, C/heads)."""
        batch, channels, height, width = x.shape
        ph, pw = self.patch_size
        x = x.view(batch, self.heads, channels // self.heads, height // ph, ph, width // pw, pw)
        x = x.permute(0, 3, 5, 1, 4, 6, 2)
        return x.reshape(batch, -1, self.heads, ph * pw, channels // self.heads)

    def _unpatch(self, x: Tensor, height: int, width: int) -> Tensor:
        """Inverse of :meth:`_patches`."""
        batch, _, heads, _, head_channels = x.shape
        ph, pw = self.patch_size
        x = x.view(batch, height // ph, width // pw, heads, ph, pw, head_channels)
        x = x.permute(0, 3, 6, 1, 4, 2, 5)
        return x.reshape(batch, heads * head_channels, height, width)

    def forward(self, x: Tensor) -> Tensor:
        height, width = x.shape[-2:]
        # (1) latent tokens attend to the pixels of each patch
        keys, values = map(self._patches, self.to_key_value(x).chunk(2, dim=1))
        scores = torch.einsum("htd,bphld->bphtl", self.latent, keys)
        z = torch.einsum("bphtl,bphld->bphtd", scores.softmax(-1), values) + self.latent
        # (2) transition in the trigonometric basis, per channel c = (head, d)
        weights = self.weights.view(self.heads, -1, self.weights.shape[-1])
        z = torch.einsum("bphtdm,hdm->bphtd", self.trigonometric_basis(z), weights) + z
        # (3) pixels attend to the latent tokens
        queries = self._patches(self.to_query(x))
        scores = torch.einsum("bphld,bphtd->bphlt", queries, z)
        out = torch.einsum("bphlt,bphtd->bphld", scores.softmax(-1), z)
        return self._unpatch(out, height, width) + x


class LSM(nn.Module):
    """Latent Spectral Model on a 2-D grid (module docstring).

    Args:
        in_channels: input channels (coordinates are added).
        out_channels: output channels.
        width: w, the lifted width; the U-Net widths are w, 2w, 4w, 8w, 8w.
        patch_size: (p_h, p_w) of every Neural Spectral Block.
        num_basis: K frequencies of the trigonometric basis.
        num_tokens: T latent tokens per head.
        heads: attention heads of every block (divides w).
        levels: U-Net levels L; the coarsest map is 2^(L−1) times smaller than the input.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        width: int,
        patch_size: tuple[int, int],
        num_basis: int,
        num_tokens: int,
        heads: int,
        levels: int = LEVELS,
    ) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.scale = 2 ** (levels - 1)
        widths = [width * 2**level for level in range(levels - 1)]
        widths.append(widths[-1])  # the bilinear U-Net's bottleneck: as wide as above
        self.lift = nn.Conv2d(in_channels + 2, width, 1)
        self.encoders = nn.ModuleList(
            double_conv(a, b) for a, b in zip([width, *widths[:-1]], widths, strict=True)
        )
        self.spectral_blocks = nn.ModuleList(
            NeuralSpectralBlock(w, num_basis, patch_size, num_tokens, heads) for w in widths
        )
        # decoder, coarse to fine: (skip ⊕ upsampled) → out, middle width = input width / 2
        self.decoders = nn.ModuleList()
        below = widths[-1]
        outs = [*widths[-3::-1], width]  # 4w, 2w, w, w for 5 levels
        for skip, out in zip(widths[-2::-1], outs, strict=True):
            self.decoders.append(double_conv(skip + below, out, (skip + below) // 2))
            below = out
        # on channels-last features: the reference's 1×1 ``outc`` (width → width), then
        # the projection; nn.Linear is about twice as fast as a 1×1 conv here on CPU
        self.project = nn.Sequential(
            nn.Linear(width, width),
            nn.Linear(width, 128),
            nn.GELU(),
            nn.Linear(128, out_channels),
        )

    def forward(self, batch: Batch) -> Tensor:
        x = batch["x"]
        size, height, width = x.shape[0], *x.shape[-2:]
        coordinates = torch.meshgrid(
            torch.linspace(0, 1, height, dtype=x.dtype, device=x.device),
            torch.linspace(0, 1, width, dtype=x.dtype, device=x.device),
            indexing="ij",
        )
        grid = torch.stack(coordinates).expand(size, 2, height, width)
        x = self.lift(torch.cat([x, grid], dim=1))
        pad_h = (-height) % (self.scale * self.patch_size[0])
        pad_w = (-width) % (self.scale * self.patch_size[1])
        x = F.pad(x, (0, pad_w, 0, pad_h))
        skips = []
        for level, encoder in enumerate(self.encoders):
            x = encoder(x if level == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        processed = [block(skip) for block, skip in zip(self.spectral_blocks, skips, strict=True)]
        x = processed.pop()
        for decoder in self.decoders:
            up = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
            x = decoder(torch.cat([processed.pop(), up], dim=1))
        x = x[..., :height, :width].permute(0, 2, 3, 1)
        return self.project(x).permute(0, 3, 1, 2)


@register_model(
    "lsm",
    layouts=("grid", "grid-timestep"),
    presets={
        # 4 heads of 4 channels at width 16 (the reference's 8 heads would leave 2 channels
        # per head at the finest level).
        "small": {
            "model": {"width": 16, "patch_size": 4, "num_basis": 12, "num_tokens": 4, "heads": 4},
            "train": SMALL_TRAIN,
        },
        # model of exp_ns.py (64×64 Navier–Stokes): width 64, patch 4×4, K = 12, T = 4,
        # 8 heads. Training: the reference default (utils/params.py) Adam lr 1e-3 (its
        # Darcy/NS runs use 5e-4), weight decay 1e-4, ×0.5 every 100 of 500 epochs,
        # batch 20, relative L2.
        "paper": {
            "model": {"width": 64, "patch_size": 4, "num_basis": 12, "num_tokens": 4, "heads": 8},
            "train": {**ADAM_STEP_FIFTHS, "batch_size": 20, "epochs": 500},
        },
        # small on 32² grids without padding: one level fewer (4), so that 2³·patch 4 = 32;
        # the 5-level small preset pads a 32² map to 64² and computes four times as much.
        # The coarsest map is then one 4×4 patch, as the small preset's at 64².
        "small32": {
            "model": {
                "width": 16,
                "patch_size": 4,
                "num_basis": 12,
                "num_tokens": 4,
                "heads": 4,
                "levels": 4,
            },
            "train": SMALL_TRAIN,
        },
    },
    citation=CITATION,
    description="Latent Spectral Model (U-Net with patchwise latent trigonometric-basis blocks)",
)
def build_lsm(
    task: TaskSpec,
    width: Size = 32,
    patch_size: Size | Annotated[tuple[Size, Size], Field(strict=False)] = 4,
    num_basis: Size = 12,
    num_tokens: Size = 4,
    heads: Size = 8,
    levels: Annotated[int, Field(strict=True, ge=2)] = LEVELS,
) -> nn.Module:
    """LSM for ``task``; ``patch_size`` is one int or (p_h, p_w)."""
    patch = (patch_size, patch_size) if isinstance(patch_size, int) else tuple(patch_size)
    return LSM(
        task.in_channels, task.out_channels, width, patch, num_basis, num_tokens, heads, levels
    )
