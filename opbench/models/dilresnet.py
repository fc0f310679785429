"""Dilated residual network (DilResNet), the best published model on ConDiff.

Stachenfeld et al., "Learned Coarse Models for Efficient Turbulence Simulation", ICLR 2022
(also in PDEArena); ConDiff's notebooks use it with width 32. Architecture:

    encoder: 3×3 conv C_in → w
    4 residual cells, each  h ← h + D(h),  D = conv_d7 ∘ σ ∘ conv_d6 ∘ … ∘ σ ∘ conv_d1,
        seven 3×3 convolutions w → w with dilations (1, 2, 4, 8, 4, 2, 1), zero padding = d
        so the size is kept, ReLU σ between them
    decoder: 3×3 conv w → C_out

At width 32 that is 9·C_in·32 + 32 + 28·(9·32² + 32) + 9·32·C_out + C_out parameters:
259,553 for Poisson (1 → 1) and 259,841 for diffusion (2 → 1), the counts ConDiff reports.
Fully convolutional: any H×W.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from opbench.config import Size, Sizes
from opbench.data.base import Batch
from opbench.models.base import CONDIFF_NOTEBOOK_TRAIN, SMALL_TRAIN, register_model
from opbench.tasks import TaskSpec

CITATION = (
    "Stachenfeld, Fielding, Kochkov, Cranmer, Pfaff, Godwin, Cui, Ho, Battaglia, "
    "Sanchez-Gonzalez. Learned Coarse Models for Efficient Turbulence Simulation. ICLR 2022. "
    "arXiv:2112.15275"
)
DILATIONS = (1, 2, 4, 8, 4, 2, 1)


class DilatedCell(nn.Module):
    """h + D(h): dilated 3×3 convolutions with ReLU between them (none after the last)."""

    def __init__(self, width: int, dilations: Sequence[int]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for index, dilation in enumerate(dilations):
            if index:
                layers.append(nn.ReLU())
            layers.append(nn.Conv2d(width, width, 3, padding=dilation, dilation=dilation))
        self.body = nn.Sequential(*layers)

    def forward(self, h: Tensor) -> Tensor:
        return h + self.body(h)


class DilResNet(nn.Module):
    def __init__(
        self, in_channels: int, out_channels: int, width: int, cells: int, dilations: Sequence[int]
    ) -> None:
        super().__init__()
        self.encoder = nn.Conv2d(in_channels, width, 3, padding=1)
        self.cells = nn.Sequential(*(DilatedCell(width, dilations) for _ in range(cells)))
        self.decoder = nn.Conv2d(width, out_channels, 3, padding=1)

    def forward(self, batch: Batch) -> Tensor:
        return self.decoder(self.cells(self.encoder(batch["x"])))


@register_model(
    "dilresnet",
    layouts=("grid", "grid-timestep"),
    presets={
        "small": {"model": {"width": 16, "cells": 4}, "train": SMALL_TRAIN},
        # ConDiff notebooks: width 32, 4 cells, AdamW 1e-3, weight decay 1e-2, ×0.5 every 50
        # of 400 epochs, batch 8, loss = batch mean of the absolute L2 norm of the error.
        "paper": {
            "model": {"width": 32, "cells": 4},
            "train": {**CONDIFF_NOTEBOOK_TRAIN, "batch_size": 8},
        },
    },
    citation=CITATION,
    description="dilated residual network (4 cells of dilations 1,2,4,8,4,2,1)",
    channels_last=True,  # 1.19x (32²) and 1.40x (64²) per step, gradients equal to 2e-6
)
def build_dilresnet(
    task: TaskSpec, width: Size = 32, cells: Size = 4, dilations: Sizes = DILATIONS
) -> nn.Module:
    return DilResNet(task.in_channels, task.out_channels, width, cells, tuple(dilations))
