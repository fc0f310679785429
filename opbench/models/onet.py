"""Branch and trunk networks shared by DeepONet and MultiONet, and their common body.

A branch–trunk operator network predicts G(a)(x) from a branch net b(a), which encodes
the input function a, and a trunk net t(x), which encodes the query coordinate x. Both
are MLPs run layer by layer,

    h^(0) = v,    h^(l) = σ(W_l h^(l−1) + c_l),    l = 1, …, L,

with every layer activated (as in the DGenNO reference code, Zang & Koutsourelakis 2025).
For grid inputs the branch first encodes the image with a small CNN (strided 3×3
convolutions, adaptive average pooling to a fixed size, flattening), so any H×W maps to a
vector of fixed length.

:class:`BranchTrunkNet` holds a branch, a trunk and a learnable output bias b_0 per output
channel, runs both, and pairs the branch and trunk states of the last ``paired_layers``
layers; the subclasses differ only in :meth:`BranchTrunkNet.head`, which combines the
pairs (DeepONet: the last pair; MultiONet: a weighted mean of the last m pairs).

Multiple outputs: the branch runs at ``C_out`` times the trunk's width, and each paired
branch state b^(l) ∈ R^{C_out·p} is split into one vector b_c^(l) ∈ R^p per output channel
c, paired with the shared trunk state t^(l) ∈ R^p (Lu et al.'s "split the last branch
layer"). With one output channel the networks are exactly the papers'.

Layouts (:data:`LAYOUT_PARTS` builds the branch and trunk for each):

* ``grid`` and ``grid-timestep``: x (B, C_in, H, W). The branch encodes the whole image;
  the queries are the H·W grid points (x_i, y_j) = (i/(H−1), j/(W−1)) ∈ [0, 1]² (i along
  axis 0), shared by the batch. The trunk runs once per grid, not once per sample, and its
  states t^(l) (N, p) enter the head as (1, N, p); under ``torch.no_grad`` they are cached
  until the grid or a trunk parameter changes. Output (B, C_out, H, W).
* ``points``: x (B, C_in, N), ``task.coordinate_fields`` naming the coordinate
  channels (:class:`PointChannels`). The branch is an MLP on the per-sample constant
  channels read at point 0, a_b = x[b, branch_channels, 0] ∈ R^F; the trunk runs on each
  sample's own queries x_{b,n} = x[b, coordinate_channels, n] ∈ R^d, giving states
  (B, N, p). Output (B, C_out, N), G(a_b)(x_{b,n})_c.

The head contracts per sample, ``einsum('bcp,bnp->bcn')``: one code path for both layouts,
a grid's (1, N, p) trunk states broadcasting over the batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from opbench.data.base import Batch
from opbench.errors import ConfigError, unknown_name
from opbench.models.base import ADAM_STEP_FIFTHS, SMALL_TRAIN
from opbench.tasks import TaskSpec

ONET_SMALL_TRAIN: dict[str, Any] = {**SMALL_TRAIN, "epochs": 100}
"""SMALL_TRAIN with 100 epochs: branch–trunk nets need more epochs than convolutional
models, and an epoch of the small presets is cheap (measured: 230 samples at 64², 2 → 1
channels, batch 16, about 0.5 s of CPU time on one thread)."""

ONET_PAPER_TRAIN: dict[str, Any] = {**ADAM_STEP_FIFTHS, "batch_size": 50, "epochs": 2000}
"""The DGenNO recipe (Zang & Koutsourelakis, J. Comput. Phys. 2025, MultiONet): Adam lr
1e-3, weight decay 1e-4, ×0.5 every 400 of 2000 epochs, batch 50; relative-L2 loss
(opbench's default). DeepONet uses it too, as the DGenNO comparison does."""


class SiLUSin(nn.Module):
    """σ(v) = SiLU(sin(π(v + 1))) + v, the MultiONet reference trunk activation
    (DGenNO code, ``SiLU_Sin``)."""

    def forward(self, v: Tensor) -> Tensor:
        return F.silu(torch.sin(math.pi * (v + 1.0))) + v


class SiLUId(nn.Module):
    """σ(v) = SiLU(v) + v, the MultiONet reference branch activation (DGenNO code,
    ``SiLU_Id``). Strictly increasing from R onto R (σ' ≥ 0.9)."""

    def forward(self, v: Tensor) -> Tensor:
        return F.silu(v) + v


ACTIVATIONS: dict[str, type[nn.Module]] = {
    "silu_sin": SiLUSin,
    "silu_id": SiLUId,
    "silu": nn.SiLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
}
"""Activation names accepted by the ``*_activation`` hyperparameters."""


def make_activation(name: str) -> nn.Module:
    """The activation module called ``name`` in :data:`ACTIVATIONS`."""
    if name not in ACTIVATIONS:
        raise unknown_name("activation", name, ACTIVATIONS)
    return ACTIVATIONS[name]()


class MLP(nn.Module):
    """h^(l) = σ(W_l h^(l−1) + c_l) for l = 1, …, L, every layer activated; ``widths``
    are the output widths of the L linear layers."""

    def __init__(self, in_features: int, widths: Sequence[int], activation: str) -> None:
        super().__init__()
        sizes = [in_features, *widths]
        self.layers = nn.ModuleList(nn.Linear(n_in, n_out) for n_in, n_out in pairwise(sizes))
        self.activation = make_activation(activation)

    def states(self, v: Tensor) -> list[Tensor]:
        """[h^(1), …, h^(L)], each shaped like ``v`` with its last axis resized."""
        states = []
        for layer in self.layers:
            v = self.activation(layer(v))
            states.append(v)
        return states

    def forward(self, v: Tensor) -> Tensor:
        return self.states(v)[-1]


class ConvEncoder(nn.Module):
    """Image (B, C, H, W) → vector (B, channels[-1]·pool²): per entry of ``channels`` a
    3×3 convolution of stride 2 (padding 1, so H → ⌈H/2⌉) and GELU, then adaptive average
    pooling to pool×pool and flattening. Works for any H×W."""

    def __init__(self, in_channels: int, channels: Sequence[int], pool: int) -> None:
        super().__init__()
        sizes = [in_channels, *channels]
        layers: list[nn.Module] = []
        for c_in, c_out in pairwise(sizes):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.GELU()]
        layers += [nn.AdaptiveAvgPool2d(pool), nn.Flatten()]
        self.net = nn.Sequential(*layers)
        self.out_features = sizes[-1] * pool * pool

    def forward(self, a: Tensor) -> Tensor:
        return self.net(a)


class Branch(nn.Module):
    """The branch net: an encoder of the input function to a vector (a CNN for images,
    nothing for vectors), then an :class:`MLP` whose layer outputs are the branch states."""

    def __init__(
        self, encoder: nn.Module, encoded_features: int, widths: Sequence[int], activation: str
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.mlp = MLP(encoded_features, widths, activation)

    def states(self, a: Tensor) -> list[Tensor]:
        """[b^(1)(a), …, b^(L)(a)], each (B, width_l)."""
        return self.mlp.states(self.encoder(a))


def grid_branch(
    in_channels: int,
    conv_channels: Sequence[int],
    pool: int,
    widths: Sequence[int],
    activation: str,
) -> Branch:
    """Branch for grid inputs (B, C_in, H, W): :class:`ConvEncoder`, then the MLP."""
    encoder = ConvEncoder(in_channels, conv_channels, pool)
    return Branch(encoder, encoder.out_features, widths, activation)


def vector_branch(in_features: int, widths: Sequence[int], activation: str) -> Branch:
    """Branch for vector inputs (B, F), e.g. sensor values or case parameters: the MLP."""
    return Branch(nn.Identity(), in_features, widths, activation)


def trunk_net(coordinate_dim: int, widths: Sequence[int], activation: str) -> MLP:
    """Trunk for query coordinates (..., N, d): (x, y) on grids, (t, x, y) for space-time."""
    return MLP(coordinate_dim, widths, activation)


def grid_coordinates(shape: Sequence[int], device: torch.device, dtype: torch.dtype) -> Tensor:
    """The grid points of an H×W grid on [0, 1]², (H·W, 2), row-major:
    row i·W + j holds (x_i, y_j) = (i/(H−1), j/(W−1))."""
    axes = [torch.linspace(0.0, 1.0, n, device=device, dtype=dtype) for n in shape]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, len(shape))


@dataclass(frozen=True)
class PointChannels:
    """Which input channels of a ``points`` task feed the branch and which the trunk.

    Attributes:
        branch: the per-sample constant channels (case parameters), in input order.
        coordinates: the query-coordinate channels, in the order of
            ``task.coordinate_fields`` (the trunk's input order).
    """

    branch: tuple[int, ...]
    coordinates: tuple[int, ...]

    @classmethod
    def from_task(cls, task: TaskSpec) -> PointChannels:
        """Read ``task.coordinate_fields`` (checked by the TaskSpec to be distinct input
        fields); ConfigError if there are none, or they leave no input to the branch."""
        where = f"points task {task.name!r}"
        names = task.coordinate_fields
        if not names:
            raise ConfigError(
                f"{where} declares no coordinate_fields, the names of the input channels "
                f"that are query coordinates (inputs: {', '.join(task.input_fields)})"
            )
        branch = tuple(i for i, name in enumerate(task.input_fields) if name not in names)
        if not branch:
            raise ConfigError(
                f"{where}: every input field is a coordinate field, which leaves the branch "
                "no input; a points task needs at least one per-sample constant input field"
            )
        return cls(branch, tuple(task.input_fields.index(name) for name in names))

    def branch_input(self, x: Tensor) -> Tensor:
        """The constant channels at point 0, (B, F), from x (B, C_in, N)."""
        return x[:, list(self.branch), 0]

    def coordinates_of(self, x: Tensor) -> Tensor:
        """Each sample's query coordinates, (B, N, d), from x (B, C_in, N)."""
        return x[:, list(self.coordinates)].transpose(1, 2)


def check_paired_widths(branch: Branch, trunk: MLP, out_channels: int, layers: int) -> None:
    """Raise ValueError unless the last ``layers`` branch layers are ``out_channels`` times
    as wide as the matching trunk layers (both nets at least ``layers`` deep)."""
    branch_widths = [layer.out_features for layer in branch.mlp.layers]
    trunk_widths = [layer.out_features for layer in trunk.layers]
    if min(len(branch_widths), len(trunk_widths)) < layers or branch_widths[-layers:] != [
        out_channels * w for w in trunk_widths[-layers:]
    ]:
        raise ValueError(
            f"the last {layers} branch widths of {branch_widths} must be {out_channels} × "
            f"the last {layers} trunk widths of {trunk_widths}"
        )


class BranchTrunkNet(nn.Module):
    """G(a)(x)_c = head_c(b^(l)(a), t^(l)(x) for the last k layers l) + b_0,c.

    Subclasses implement :meth:`head`. ``forward(batch)`` evaluates on the grid of
    ``batch["x"]`` (grid layout) or on each sample's own points (``points`` given);
    :meth:`forward_points` on any query coordinates.

    Args:
        branch: branch net; its last ``paired_layers`` layers have width C_out·p.
        trunk: trunk net; its last ``paired_layers`` layers have width p.
        out_channels: C_out.
        paired_layers: k, how many last layers the head pairs.
        points: for a ``points`` task, which input channels feed the branch and the trunk;
            ``None`` for a grid task.
    """

    def __init__(
        self,
        branch: Branch,
        trunk: MLP,
        out_channels: int,
        paired_layers: int,
        points: PointChannels | None = None,
    ) -> None:
        super().__init__()
        check_paired_widths(branch, trunk, out_channels, paired_layers)
        self.branch = branch
        self.trunk = trunk
        self.out_channels = out_channels
        self.paired_layers = paired_layers
        self.points = points
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self._grid_key: tuple = ()
        self._grid_states: list[Tensor] = []

    def head(self, branch_states: list[Tensor], trunk_states: list[Tensor]) -> Tensor:
        """Combine the paired states, b^(l) (B, C_out, p) and t^(l) (B, N, p), or (1, N, p)
        for queries shared by the batch, into (B, C_out, N), without the bias."""
        raise NotImplementedError

    def trunk_states(self, coords: Tensor) -> list[Tensor]:
        """The last k trunk states [t^(l)(coords)], each (..., N, p), for coordinates
        (..., N, d)."""
        return self.trunk.states(coords)[-self.paired_layers :]

    def grid_trunk_states(
        self, shape: Sequence[int], device: torch.device, dtype: torch.dtype
    ) -> list[Tensor]:
        """:meth:`trunk_states` on the grid points of ``shape``, each (N, p). Without
        autograd the result is cached, keyed by grid, device, dtype and the trunk
        parameters' versions (any in-place update, e.g. an optimiser step or
        ``load_state_dict``, invalidates it); with autograd it is recomputed, once per
        forward, so that gradients reach the trunk.
        """
        if torch.is_grad_enabled():
            return self.trunk_states(grid_coordinates(shape, device, dtype))
        key = (
            tuple(shape),
            device,
            dtype,
            tuple((id(p), p._version) for p in self.trunk.parameters()),
        )
        if key != self._grid_key:
            self._grid_states = self.trunk_states(grid_coordinates(shape, device, dtype))
            self._grid_key = key
        return self._grid_states

    def combine(self, branch_input: Tensor, trunk_states: list[Tensor]) -> Tensor:
        """(B, C_out, N) from the branch input and precomputed trunk states, (N, p) shared
        by the batch or (B, N, p) per sample."""
        batch = branch_input.shape[0]
        branch_states = [
            b.reshape(batch, self.out_channels, -1)
            for b in self.branch.states(branch_input)[-self.paired_layers :]
        ]
        trunk_states = [t if t.ndim == 3 else t[None] for t in trunk_states]
        return self.head(branch_states, trunk_states) + self.bias[:, None]

    def forward_points(self, branch_input: Tensor, coords: Tensor) -> Tensor:
        """G(a)(x_n) for arbitrary query coordinates ``coords``, (N, d) shared by the batch
        or (B, N, d) per sample: (B, C_out, N). ``branch_input`` is what the branch takes
        ((B, C_in, H, W) for a grid branch, (B, F) for a vector branch)."""
        return self.combine(branch_input, self.trunk_states(coords))

    def forward(self, batch: Batch) -> Tensor:
        """Grid layout: (B, C_out, H, W) on the grid of ``batch["x"]`` (B, C_in, H, W).
        Points layout: (B, C_out, N) at the points of ``batch["x"]`` (B, C_in, N)."""
        x = batch["x"]
        if self.points is not None:
            return self.forward_points(self.points.branch_input(x), self.points.coordinates_of(x))
        shape = x.shape[-2:]
        trunk_states = self.grid_trunk_states(shape, x.device, x.dtype)
        return self.combine(x, trunk_states).reshape(x.shape[0], self.out_channels, *shape)


class BranchTrunkParts(NamedTuple):
    """What a layout contributes to a branch–trunk net: the nets and, for ``points``, the
    channel split (``None`` on grids)."""

    branch: Branch
    trunk: MLP
    points: PointChannels | None


def grid_parts(
    task: TaskSpec,
    branch_widths: Sequence[int],
    trunk_widths: Sequence[int],
    branch_activation: str,
    trunk_activation: str,
    conv_channels: Sequence[int],
    pool: int,
) -> BranchTrunkParts:
    """Grid layout: :func:`grid_branch` on the whole input image, trunk on (x, y)."""
    branch = grid_branch(task.in_channels, conv_channels, pool, branch_widths, branch_activation)
    return BranchTrunkParts(branch, trunk_net(2, trunk_widths, trunk_activation), None)


def points_parts(
    task: TaskSpec,
    branch_widths: Sequence[int],
    trunk_widths: Sequence[int],
    branch_activation: str,
    trunk_activation: str,
    conv_channels: Sequence[int],
    pool: int,
) -> BranchTrunkParts:
    """Points layout: :func:`vector_branch` on the F constant channels, trunk on the d
    coordinate channels (:class:`PointChannels`); ``conv_channels`` and ``pool`` are unused."""
    points = PointChannels.from_task(task)
    branch = vector_branch(len(points.branch), branch_widths, branch_activation)
    trunk = trunk_net(len(points.coordinates), trunk_widths, trunk_activation)
    return BranchTrunkParts(branch, trunk, points)


LAYOUT_PARTS: dict[str, Callable[..., BranchTrunkParts]] = {
    "grid": grid_parts,
    "grid-timestep": grid_parts,
    "points": points_parts,
}
"""Branch and trunk builders of DeepONet and MultiONet, by task layout."""

BRANCH_TRUNK_LAYOUTS = tuple(LAYOUT_PARTS)
"""The task layouts DeepONet and MultiONet support."""


def branch_trunk_parts(
    task: TaskSpec,
    branch_widths: Sequence[int],
    trunk_widths: Sequence[int],
    *,
    branch_activation: str,
    trunk_activation: str,
    conv_channels: Sequence[int],
    pool: int,
) -> BranchTrunkParts:
    """The branch (MLP widths ``branch_widths``), trunk (``trunk_widths``) and channel
    split for ``task``'s layout (:data:`LAYOUT_PARTS`); ``conv_channels`` and ``pool`` size
    the grid branch's CNN encoder only. Every task layout has an entry."""
    return LAYOUT_PARTS[task.layout](
        task, branch_widths, trunk_widths, branch_activation, trunk_activation, conv_channels, pool
    )
