"""DeepONet (Lu, Jin, Pang, Zhang, Karniadakis 2021).

G(a)(x)_c = Σ_{k=1}^{p} b_{c,k}(a) t_k(x) + b_{0,c}: a branch net maps the input function
a to coefficients b(a) ∈ R^{C_out·p} (the last branch layer split into one p-vector per
output channel c), a trunk net maps a query coordinate x to basis values t(x) ∈ R^p, and
b_0 is a learnable output bias per channel.

Grid tasks, x (B, C_in, H, W): the branch encodes the input image with a small CNN and the
trunk runs once on the H·W grid points of [0, 1]², its basis values (N, p) shared by every
sample (the Cartesian product). Points tasks, x (B, C_in, N) with
``task.coordinate_fields``: the branch is an MLP on the per-sample constant
channels at point 0, a_b = x[b, branch_channels, 0] (case parameters), and the trunk runs on
each sample's own queries x_{b,n} = x[b, coordinate_channels, n] (e.g. (t, x, y)):

    G(a_b)(x_{b,n})_c = Σ_{k=1}^{p} b_{c,k}(a_b) t_k(x_{b,n}) + b_{0,c},   (B, C_out, N).

Both layouts share one head, ``einsum('bcp,bnp->bcn')`` (a grid's trunk states enter as
(1, N, p)); :meth:`~opbench.models.onet.BranchTrunkNet.forward_points` serves arbitrary
query points.

Branch and trunk are the builders of :mod:`opbench.models.onet` shared with MultiONet,
with its reference activations (branch SiLU(v) + v, trunk SiLU(sin(π(v + 1))) + v) and
every layer activated; only the head differs from MultiONet's. Lu et al. leave the last
branch layer linear; with SiLU(v) + v, a bijection of R, the coefficients b are
unconstrained either way.

Presets: DeepONet's sizes vary by problem in Lu et al. (2021); ``paper`` is the DGenNO
comparison (Zang & Koutsourelakis 2025) at equal
widths (5 layers of width 128, p = 128, as its MultiONet), ``small`` the same at width 64.
The CNN encoder sizes (``conv_channels``, ``pool``) are opbench's choice
and are unused on points tasks.
"""

from __future__ import annotations

import torch
from torch import Tensor

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
)
from opbench.tasks import TaskSpec

CITATION = (
    "Lu, Jin, Pang, Zhang, Karniadakis. Learning nonlinear operators via DeepONet based on "
    "the universal approximation theorem of operators. Nature Machine Intelligence 3, "
    "218–229 (2021). arXiv:1910.03193"
)


class DeepONet(BranchTrunkNet):
    """Unstacked DeepONet: the head pairs the last branch and trunk layers,
    G(a)(x)_c = ⟨b_c^(L)(a), t^(L)(x)⟩ + b_{0,c}. ``points``: the channel split of a
    points task (see :class:`~opbench.models.onet.BranchTrunkNet`)."""

    def __init__(
        self, branch: Branch, trunk: MLP, out_channels: int, points: PointChannels | None = None
    ) -> None:
        super().__init__(branch, trunk, out_channels, paired_layers=1, points=points)

    def head(self, branch_states: list[Tensor], trunk_states: list[Tensor]) -> Tensor:
        """⟨b_c^(L), t^(L)(x_n)⟩ per sample: (B, C_out, p) · (B or 1, N, p) → (B, C_out, N)."""
        return torch.einsum("bcp,bnp->bcn", branch_states[-1], trunk_states[-1])


@register_model(
    "deeponet",
    layouts=BRANCH_TRUNK_LAYOUTS,
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
    description="DeepONet (CNN or MLP branch, MLP trunk on the query points)",
)
def build_deeponet(
    task: TaskSpec,
    width: Size = 128,
    depth: Size = 5,
    p: Size = 128,
    conv_channels: Sizes = (32, 64, 128),
    pool: Size = 4,
    branch_activation: str = "silu_id",
    trunk_activation: str = "silu_sin",
) -> DeepONet:
    """DeepONet for a grid or points ``task``: ``depth`` layers in branch and trunk, hidden
    width ``width`` (C_out·width in the branch), p basis functions (C_out·p branch outputs).

    Grid: a CNN encoder (``conv_channels``, adaptive pooling to ``pool``×``pool``) before
    the branch MLP, trunk on (x, y). Points: the branch MLP reads the constant input
    channels, the trunk the ``task.coordinate_fields`` channels; ``conv_channels``
    and ``pool`` are unused (ConfigError if the coordinate fields are missing, unknown, or
    leave no branch channel)."""
    c_out = task.out_channels
    parts = branch_trunk_parts(
        task,
        [c_out * width] * (depth - 1) + [c_out * p],
        [width] * (depth - 1) + [p],
        branch_activation=branch_activation,
        trunk_activation=trunk_activation,
        conv_channels=conv_channels,
        pool=pool,
    )
    return DeepONet(parts.branch, parts.trunk, c_out, parts.points)
