"""MultiONet (Zang & Koutsourelakis, DGNO/DGenNO, J. Comput. Phys. 2025).

A DeepONet whose output pairs branch and trunk at several depths. Branch and trunk have
the same depth L and the same width at every layer; both run layer by layer, and after
each of the last m hidden layers (1 ≤ m < L) the inner product
s_l(a, x) = ⟨b^(l)(a), t^(l)(x)⟩ is taken:

    G(a)(x) = (1/m) Σ_{l=L−m+1}^{L} w_l s_l(a, x) + b_0,

with learnable scalars w_l and bias b_0, all initialised to 0 (so G ≡ b_0 at
initialisation). Reference activations: trunk SiLU(sin(π(v + 1))) + v, branch
SiLU(v) + v, every layer activated (DGenNO code, ``MultiONetCartesianProd``).

Multiple outputs (C_out > 1): the branch runs at C_out times the trunk's width, its state
b^(l) ∈ R^{C_out·p} is split into one p-vector b_c^(l) per output channel, and each channel
has its own scalars: G_c = (1/m) Σ_l w_{l,c} ⟨b_c^(l), t^(l)⟩ + b_{0,c}. The branch, trunk
and bias are those of :class:`~opbench.models.deeponet.DeepONet` with p = width, so the
parameter count is the DeepONet's plus m·C_out (plus m with one output).

For grid inputs, x (B, C_in, H, W), the branch first encodes the image with the CNN of
:mod:`opbench.models.onet`; the equal-width MLP layers after it pair with the trunk's, which
runs once on the H·W grid points. For points inputs, x (B, C_in, N) with
``task.coordinate_fields``, the branch is an MLP on the per-sample constant channels
at point 0, a_b = x[b, branch_channels, 0], and the trunk runs on each sample's own queries
x_{b,n} = x[b, coordinate_channels, n]:

    G(a_b)(x_{b,n})_c = (1/m) Σ_l w_{l,c} ⟨b_c^(l)(a_b), t^(l)(x_{b,n})⟩ + b_{0,c},
    (B, C_out, N).

Both layouts share one head, ``einsum('bcq,bnq->bcn')`` over the concatenated layers (a
grid's trunk states enter as (1, N, q)).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from opbench.config import Size, Sizes
from opbench.models.base import register_model
from opbench.models.onet import (
    BRANCH_TRUNK_LAYOUTS,
    MLP,
    ONET_PAPER_TRAIN,
    ONET_SMALL_TRAIN,
    Branch,
    BranchTrunkNet,
    PointChannels,
    branch_trunk_parts,
    check_paired_widths,
)
from opbench.tasks import TaskSpec

CITATION = (
    "Zang, Koutsourelakis. DGenNO: a novel physics-aware neural operator for solving forward "
    "and inverse PDE problems based on deep, generative probabilistic modeling. J. Comput. "
    "Phys. (2025). arXiv:2502.06250"
)


class MultiONet(BranchTrunkNet):
    """G(a)(x)_c = (1/m) Σ_l w_{l,c} ⟨b_c^(l)(a), t^(l)(x)⟩ + b_{0,c} over the last m layers.

    Args:
        branch, trunk: nets of equal depth L whose widths agree at every layer (the branch
            C_out times as wide).
        out_channels: C_out.
        m: how many last layers are summed, 1 ≤ m < L.
        points: the channel split of a points task (``None`` on grids).
    """

    def __init__(
        self,
        branch: Branch,
        trunk: MLP,
        out_channels: int,
        m: int,
        points: PointChannels | None = None,
    ) -> None:
        depth = len(trunk.layers)
        if len(branch.mlp.layers) != depth or not 1 <= m < depth:
            raise ValueError(
                f"MultiONet needs branch and trunk of equal depth L and 1 ≤ m < L; got "
                f"L = {len(branch.mlp.layers)} (branch), {depth} (trunk), m = {m}"
            )
        check_paired_widths(branch, trunk, out_channels, depth)
        super().__init__(branch, trunk, out_channels, paired_layers=m, points=points)
        self.layer_weights = nn.Parameter(torch.zeros(m, out_channels))

    def head(self, branch_states: list[Tensor], trunk_states: list[Tensor]) -> Tensor:
        """Σ_l w_{l,c} ⟨b_c^(l), t^(l)⟩ / m as one contraction over the concatenated
        weighted branch states (B, C_out, m·p) and trunk states (B or 1, N, m·p)."""
        weighted = [b * w[:, None] for b, w in zip(branch_states, self.layer_weights, strict=True)]
        s = torch.einsum("bcq,bnq->bcn", torch.cat(weighted, dim=-1), torch.cat(trunk_states, -1))
        return s / self.paired_layers


@register_model(
    "multionet",
    layouts=BRANCH_TRUNK_LAYOUTS,
    presets={
        "small": {
            "model": {"width": 64, "depth": 5, "m": 4, "conv_channels": [16, 32, 64], "pool": 4},
            "train": ONET_SMALL_TRAIN,
        },
        # DGenNO reference examples: 5 layers of width 128 in branch and trunk, m = 4.
        "paper": {
            "model": {"width": 128, "depth": 5, "m": 4, "conv_channels": [32, 64, 128], "pool": 4},
            "train": ONET_PAPER_TRAIN,
        },
    },
    citation=CITATION,
    description="MultiONet (DeepONet pairing branch and trunk at the last m layers)",
)
def build_multionet(
    task: TaskSpec,
    width: Size = 128,
    depth: Size = 5,
    m: Size = 4,
    conv_channels: Sizes = (32, 64, 128),
    pool: Size = 4,
    branch_activation: str = "silu_id",
    trunk_activation: str = "silu_sin",
) -> MultiONet:
    """MultiONet for a grid or points ``task``: ``depth`` layers of width C_out·``width`` in
    the branch and ``width`` in the trunk, the last ``m`` paired.

    Grid: a CNN encoder (``conv_channels``, adaptive pooling to ``pool``×``pool``) before
    the branch MLP, trunk on (x, y). Points: the branch MLP reads the constant input
    channels, the trunk the ``task.coordinate_fields`` channels; ``conv_channels``
    and ``pool`` are unused (ConfigError if the coordinate fields are missing, unknown, or
    leave no branch channel)."""
    c_out = task.out_channels
    parts = branch_trunk_parts(
        task,
        [c_out * width] * depth,
        [width] * depth,
        branch_activation=branch_activation,
        trunk_activation=trunk_activation,
        conv_channels=conv_channels,
        pool=pool,
    )
    return MultiONet(parts.branch, parts.trunk, c_out, m, parts.points)
