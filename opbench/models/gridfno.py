"""FNO on point clouds through a grid (``fno_points``): scatter the nodes onto a regular
grid over the task's box, run ``neuralop.models.FNO`` there, interpolate back to the nodes
and finish with a point-wise head.

Points layout only: ``x`` (B, C_in, N) → (B, C_out, N). The geometry comes from the
batch's ``pos`` (B, 2, N), the raw node coordinates (not normalised), and from
``task.bounding_box = (x_min, x_max, y_min, y_max)`` (AirfRANS: [−2, 4, −1.5, 1.5]); nodes
count where ``valid`` (B, 1, N) is positive (``mask`` if the batch has no ``valid``, every
node if it has neither). Padding nodes take no part in steps 1–2, and steps 3–4 act on each
node alone, so they influence no real node's output.

1. Scatter (cell averages). The box is cut into ``grid = (H, W)`` cells (H rows along y,
   W columns along x; default 48 × 96, square cells of 1/16 on the 6 × 3 AirfRANS box).
   Node n lies in cell (i, j) = (⌊H (y_n − y_min)/(y_max − y_min)⌋,
   ⌊W (x_n − x_min)/(x_max − x_min)⌋), clamped to the grid (nodes on the box's upper edges
   join the last row / column). With valid nodes V(i, j) in the cell and c = |V(i, j)|:
   grid channel k < C_in is the mean of the (normalised) input channel k over V(i, j), and
   channel C_in is the occupancy 1[c > 0]: C_in + 1 channels, by ``scatter_add`` of the
   features and of the counts, divided where c > 0.
2. Empty cells (c = 0) hold zeros in every feature channel (the training mean of the
   normalised inputs) and occupancy 0, which the network sees; nothing is interpolated into
   them. The occupancy is a 0/1 flag rather than the count because training batches hold a
   random subset of each cloud's nodes (32 000 in AirfRANS) and evaluation all of them:
   counts would differ by that factor between training and test, the flag only in sparse
   cells.
3. FNO. ``neuralop.models.FNO`` (as the ``fno`` model; it appends the two grid-coordinate
   channels itself) maps the C_in + 1 grid channels to ``features`` channels on the grid.
   The box is not periodic, so the lifted features are zero-padded by ``domain_padding``
   (a fraction of each side) before the Fourier layers and cropped after.
   ``n_modes = (modes along y, modes along x)`` counts all kept modes, positive and
   negative (neuraloperator ≥ 2.0); both presets keep as many modes per metre along x as
   along y.
4. Gather (bilinear). ``torch.nn.functional.grid_sample`` (bilinear, ``align_corners=False``,
   ``padding_mode="border"``) samples the FNO output at every node's normalised position
   (2 (x − x_min)/(x_max − x_min) − 1, 2 (y − y_min)/(y_max − y_min) − 1): with
   ``align_corners=False`` ±1 are the box edges and the grid values sit at the cell
   centres, as in step 1; nodes within half a cell of the box edge take the outermost
   values (border clamp). This gives (B, features, N).
5. Point-wise head (done). The grid cell (1/16 chord) is far larger than the boundary
   layer, so each node's sampled features are concatenated with its own inputs x_n (C_in)
   and passed through :class:`~opbench.models.mlp.MLPBlock`
   [features + C_in, *head, C_out] (ReLU, no activation after the last layer): wall
   distance and normals can then shape sub-cell detail. ``head=()`` drops the head: the
   FNO then outputs C_out channels and the output is the sampled grid field.

Presets: ``small`` (48 × 96 grid, n_modes (12, 24), 16 hidden channels, 4 layers,
16 features, head [32, 32]; 325,668 parameters with 7 inputs and 4 outputs, complex ones
counted twice) with the zoo's small recipe at batch 1 and MSE loss; ``paper`` (96 × 192,
n_modes (24, 48), 32 hidden channels, 4 layers, 32 features, head [64, 64]; 4,937,796
parameters) with the AirfRANS recipe of ``mlp`` (Adam lr 1e-3, cosine, MSE, batch 1, 398
epochs). Neither is from a
paper: FNO through a grid is opbench's construction. The scatter (``scatter_add``) and the
backward pass of ``grid_sample`` use atomic additions on CUDA and are not bitwise
deterministic there.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from neuralop.models import FNO
from torch import Tensor, nn

from opbench.config import NonNegativeFloat, PositiveFloat, Size, Sizes, Widths
from opbench.data.base import Batch
from opbench.errors import ConfigError
from opbench.models.base import SMALL_TRAIN, register_model
from opbench.models.fno import CITATION as FNO_CITATION
from opbench.models.mlp import AIRFRANS_TRAIN, MLPBlock
from opbench.models.spectral_conv import speed_up_spectral_convs
from opbench.tasks import TaskSpec

CITATION = FNO_CITATION + ". On point clouds through a grid (opbench)"


class GridFNO(nn.Module):
    """Scatter to a grid, FNO, bilinear gather, point-wise head (module docstring)."""

    def __init__(
        self,
        fno: FNO,
        box: Sequence[float],
        grid: Sequence[int],
        head: MLPBlock | None,
    ) -> None:
        super().__init__()
        self.fno = fno
        self.box = tuple(float(v) for v in box)
        self.grid = (int(grid[0]), int(grid[1]))
        self.head = head

    def unit_coordinates(self, pos: Tensor) -> Tensor:
        """Raw positions (B, 2, N) as fractions of the box: (B, 2, N), (0, 0) at
        (x_min, y_min) and (1, 1) at (x_max, y_max)."""
        x_min, x_max, y_min, y_max = self.box
        low = pos.new_tensor([x_min, y_min]).view(1, 2, 1)
        size = pos.new_tensor([x_max - x_min, y_max - y_min]).view(1, 2, 1)
        return (pos - low) / size

    def scatter(self, x: Tensor, unit: Tensor, valid: Tensor) -> Tensor:
        """Cell means of ``x`` (B, C, N) over the valid nodes, and the occupancy flag:
        (B, C + 1, H, W)."""
        batch, channels, _ = x.shape
        height, width = self.grid
        row = (unit[:, 1] * height).floor().clamp(0, height - 1).long()
        column = (unit[:, 0] * width).floor().clamp(0, width - 1).long()
        cell = (row * width + column)[:, None]  # (B, 1, N)
        weight = valid.to(x.dtype)
        values = torch.cat([x * weight, weight], dim=1)  # (B, C + 1, N)
        sums = x.new_zeros(batch, channels + 1, height * width)
        sums = sums.scatter_add(2, cell.expand(-1, channels + 1, -1), values)
        count = sums[:, channels:]
        means = sums[:, :channels] / count.clamp_min(1.0)
        occupied = (count > 0).to(x.dtype)
        return torch.cat([means, occupied], dim=1).view(batch, channels + 1, height, width)

    @staticmethod
    def gather(field: Tensor, unit: Tensor) -> Tensor:
        """Bilinear values of ``field`` (B, F, H, W), cell-centred over the box, at the
        nodes ``unit`` (B, 2, N): (B, F, N)."""
        coords = (2 * unit - 1).transpose(1, 2)[:, None]  # (B, 1, N, 2): (x, y) order
        sampled = F.grid_sample(
            field, coords, mode="bilinear", padding_mode="border", align_corners=False
        )
        return sampled[:, :, 0]

    def forward(self, batch: Batch) -> Tensor:
        x = batch["x"]
        if "pos" not in batch:
            raise ConfigError(
                "model 'fno_points' needs the raw node coordinates batch['pos'] (B, 2, N)"
            )
        mask = batch.get("valid", batch.get("mask"))
        valid = torch.ones_like(x[:, :1], dtype=torch.bool) if mask is None else mask > 0
        # Padding nodes may hold anything (NaN included): give them the box centre and
        # zero inputs so that no value of theirs reaches the grid.
        unit = torch.where(valid, self.unit_coordinates(batch["pos"].to(x.dtype)), 0.5)
        x_valid = torch.where(valid, x, 0.0)
        field = self.fno(self.scatter(x_valid, unit, valid))
        sampled = self.gather(field, unit)
        if self.head is None:
            return sampled
        h = torch.cat([sampled, x_valid], dim=1).transpose(1, 2)  # (B, N, F + C_in)
        return self.head(h).transpose(1, 2).contiguous()


def check_box(task: TaskSpec) -> list[float]:
    """The task's bounding box (checked by the TaskSpec); ConfigError if it has none."""
    if task.bounding_box is None:
        raise ConfigError(
            f"model 'fno_points' needs the task's bounding_box (x_min, x_max, y_min, y_max); "
            f"task {task.name!r} has none"
        )
    return list(task.bounding_box)


@register_model(
    "fno_points",
    layouts=("points",),
    presets={
        "small": {
            "model": {
                "grid": [48, 96],
                "n_modes": [12, 24],
                "hidden_channels": 16,
                "n_layers": 4,
                "domain_padding": 0.125,
                "features": 16,
                "head": [32, 32],
            },
            "train": {**SMALL_TRAIN, "batch_size": 1, "loss": "mse"},
        },
        "paper": {
            "model": {
                "grid": [96, 192],
                "n_modes": [24, 48],
                "hidden_channels": 32,
                "n_layers": 4,
                "domain_padding": 0.125,
                "features": 32,
                "head": [64, 64],
            },
            "train": AIRFRANS_TRAIN,
        },
    },
    citation=CITATION,
    description="FNO through a grid: node averages on a box grid, FNO, bilinear back, MLP head",
)
def build_fno_points(
    task: TaskSpec,
    grid: Sizes = (48, 96),
    n_modes: Sizes = (12, 24),
    hidden_channels: Size = 16,
    n_layers: Size = 4,
    lifting_channel_ratio: PositiveFloat = 2,
    projection_channel_ratio: PositiveFloat = 2,
    domain_padding: NonNegativeFloat = 0.125,
    features: Size = 16,
    head: Widths = (32, 32),
) -> GridFNO:
    """FNO through a ``grid = (H, W)`` over ``task.bounding_box``; ``n_modes`` = (along y,
    along x); ``features`` FNO output channels feed the point-wise ``head`` (hidden widths;
    empty: no head, the FNO outputs C_out channels)."""
    box = check_box(task)
    if len(grid) != 2 or min(grid) < 1:
        raise ConfigError(f"grid must be two positive sizes (H, W), not {list(grid)}")
    if len(n_modes) != 2 or any(m < 1 or m > g for m, g in zip(n_modes, grid, strict=True)):
        raise ConfigError(
            f"n_modes {list(n_modes)} must be two positive counts no larger than the grid "
            f"{list(grid)}"
        )
    head = list(head)
    fno = FNO(
        n_modes=tuple(n_modes),
        in_channels=task.in_channels + 1,
        out_channels=features if head else task.out_channels,
        hidden_channels=hidden_channels,
        n_layers=n_layers,
        lifting_channel_ratio=lifting_channel_ratio,
        projection_channel_ratio=projection_channel_ratio,
        domain_padding=domain_padding or None,
    )
    mlp = MLPBlock([features + task.in_channels, *head, task.out_channels]) if head else None
    return GridFNO(speed_up_spectral_convs(fno), box, grid, mlp)
