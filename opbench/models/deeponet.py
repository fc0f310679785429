"""DeepONet (Lu, Jin, Pang, Zhang, Karniadakis 2021).

G(a)(x)_c = Σ_{k=1}^{p} b_{c,k}(a) t_k(x) + b_{0,c}: a branch net maps the input function
a to coefficients b(a) ∈ R^{C_out·p} (the last branch layer split into one p-vector per
output channel c), a trunk net maps a query coordinate x to basis values t(x) ∈ R^p, and
b_0 is a learnable output bias per channel. On grid tasks the branch encodes the input
image with a small CNN and the trunk runs once on the H·W grid points of [0, 1]², combined
with every sample by the Cartesian product ``einsum('bcp,np->bcn')``;
:meth:`~opbench.models.onet.BranchTrunkNet.forward_points` serves arbitrary query points
(point clouds, (t, x, y) queries).

Branch and trunk are the builders of :mod:`opbench.models.onet` shared with MultiONet,
with its reference activations (branch SiLU(v) + v, trunk SiLU(sin(π(v + 1))) + v) and
every layer activated; only the head differs from MultiONet's. Lu et al. leave the last
branch layer linear; with SiLU(v) + v, a bijection of R, the coefficients b are
unconstrained either way.

Presets: models.md gives no DeepONet sizes; ``paper`` is the DGenNO comparison at equal
widths (5 layers of width 128, p = 128, as its MultiONet), ``small`` the same at width 64.
The CNN encoder sizes are opbench's choice.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from opbench.models.base import register_model
from opbench.models.onet import (
    MLP,
    ONET_PAPER_TRAIN,
    ONET_SMALL_TRAIN,
    Branch,
    BranchTrunkNet,
    grid_branch,
    trunk_net,
)
from opbench.tasks import TaskSpec

CITATION = (
    "Lu, Jin, Pang, Zhang, Karniadakis. Learning nonlinear operators via DeepONet based on "
    "the universal approximation theorem of operators. Nature Machine Intelligence 3, "
    "218–229 (2021). arXiv:1910.03193"
)


class DeepONet(BranchTrunkNet):
    """Unstacked DeepONet: the head pairs the last branch and trunk layers,
    G(a)(x)_c = ⟨b_c^(L)(a), t^(L)(x)⟩ + b_{0,c}."""

    def __init__(self, branch: Branch, trunk: MLP, out_channels: int) -> None:
        super().__init__(branch, trunk, out_channels, paired_layers=1)

    def head(self, branch_states: list[Tensor], trunk_states: list[Tensor]) -> Tensor:
        return torch.einsum("bcp,np->bcn", branch_states[-1], trunk_states[-1])


@register_model(
    "deeponet",
    layouts=("grid",),
    presets={
        "small": {
            "model": {
                "width": 64,
                "depth": 5,
                "p": 64,
                "conv_channels": [16, 32, 64],
                "pool": 4,
            },
            "train": ONET_SMALL_TRAIN,
        },
        "paper": {
            "model": {
                "width": 128,
                "depth": 5,
                "p": 128,
                "conv_channels": [32, 64, 128],
                "pool": 4,
            },
            "train": ONET_PAPER_TRAIN,
        },
    },
    citation=CITATION,
    description="DeepONet (CNN branch, MLP trunk on grid points, Cartesian product)",
)
def build_deeponet(
    task: TaskSpec,
    width: int = 128,
    depth: int = 5,
    p: int = 128,
    conv_channels: Sequence[int] = (32, 64, 128),
    pool: int = 4,
    branch_activation: str = "silu_id",
    trunk_activation: str = "silu_sin",
) -> DeepONet:
    """DeepONet for a grid ``task``: ``depth`` layers in branch and trunk, hidden width
    ``width`` (C_out·width in the branch), p basis functions (C_out·p branch outputs)."""
    c_out = task.out_channels
    branch = grid_branch(
        task.in_channels,
        conv_channels,
        pool,
        [c_out * width] * (depth - 1) + [c_out * p],
        branch_activation,
    )
    trunk = trunk_net(2, [width] * (depth - 1) + [p], trunk_activation)
    return DeepONet(branch, trunk, c_out)
