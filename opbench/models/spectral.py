"""A Neural Spectral Method in the sine basis, for zero-Dirichlet problems.

Du, Chalapathi, Krishnapriyan, "Neural Spectral Methods: Self-supervised learning in the
spectral domain", ICLR 2024, arXiv:2312.05225 (reference code:
github.com/ASK-Berkeley/Neural-Spectral-Methods, ``src/model/fno/spectral.py``, the model
the paper calls NSM, there in Fourier/Chebyshev bases).

The network maps basis coefficients to basis coefficients. On the H×W interior grid of a
zero-Dirichlet unit square the basis is the orthonormal DST-I T (:mod:`opbench.ops.dst`,
T = T⁻¹), whose functions φ_k(x) ψ_l(y) = √(2/(H+1)) sin(π(k+1)x) · √(2/(W+1)) sin(π(l+1)y)
vanish on x, y ∈ {0, 1}::

    v̂₀ = T(P [x̃, x, y] + p)                  lift (1×1), x̃ the normalised inputs
    v̂ ← T(σ(T⁻¹(K̂ ⊙ v̂ + W v̂)))             depth times
    ŷ = Q v̂,   ỹ = T⁻¹ ŷ                       project, synthesise

K̂ ⊙ v̂ is a real per-mode channel mixing on the lowest ``modes`` × ``modes`` sine modes,
(K̂ ⊙ v̂)_okl = Σ_c K̂_cokl v̂_ckl, zero on the other modes (FNO's spectral weights, over
the sine basis); W and Q mix channels (1×1, no bias); σ acts on the collocation grid;
x, y ∈ (0, 1) are the grid coordinates x_i = (i+1)/(H+1), appended to the inputs as the
reference appends its coordinate grid.

σ = tanh by default. The sine basis is the odd reflection of the grid about its boundary,
and an odd σ commutes with that reflection (σ(−v) = −σ(v)): σ of a sine series is then the
sine series of σ of its odd extension, with no kink at the boundary. GELU and ReLU (σ(0) =
0 but not odd) are options; on cubic0.1_grid16 (96 samples, 40 epochs, small preset) tanh
reached test rel_l2 0.12, GELU 0.18, ReLU 0.30.

Implementation: T acts on space and P, W, Q on channels, so they commute, and T T = I.
Each layer is therefore computed on grid values v = T⁻¹ v̂ as
v ← σ(T_m⁻¹(K̂ ⊙ T_m v) + W v), with T_m the DST-I truncated to the kept modes (``modes``
rows of T per axis; fewer on grids smaller than that, so any H×W works), and ỹ = Q v: the
same function as the formula, without the T⁻¹ T pairs between layers.
Each transform is one matrix product over a whole axis of the batch (``forward``'s
comment); one layer of the ``small`` preset (32 channels, 16 × 16 modes, batch 16, 32²),
forward and backward on one thread: 5.2 → 3.6 ms against products broadcast over B·C.

Boundary conditions: ỹ = T⁻¹ ŷ = Σ ŷ_kl φ_k ψ_l is a sine series, so the **normalised**
output vanishes on the boundary of the square (the ring of boundary vertices around the
grid) exactly, by construction; :meth:`SineSpectralNet.evaluate` evaluates the series
anywhere in [0, 1]². The surrogate's output normaliser returns the **physical** output
y = σ_y ỹ + μ_y, whose boundary value is μ_y, the training-set mean of y (on
``poisson_grid16`` μ_y ≈ 0.09 σ_y): the physical boundary value is exactly zero only if
the normaliser adds no offset (μ_y = 0), which the registration declares with
``output_offset_free=True`` (:class:`~opbench.models.base.ModelFlags`):
:class:`~opbench.models.surrogate.Surrogate` then scales the outputs without centring
them, so the physical output is exactly zero on the boundary.
Supported ``task.boundary``: ``zero-dirichlet``. Any other boundary is rejected by the
builder with a ConfigError: non-zero Dirichlet data (CFDBench lids and inlets) would need
a lifting u = g + u₀, with g a known field carrying the boundary values and u₀ the sine
series, which this model does not implement, and Neumann or periodic conditions need
other bases (cosine, Fourier).

Training: supervised like the rest of the zoo, or on the spectral residual of
:func:`opbench.data.condiff.family.spectral_residual_loss` (``train.physics_weight``;
label-free with ``train.data_weight=0``), the paper's defining idea, on ConDiff's own
finite-volume discretisation. Label-free, the lowest modes are learnt last: on Poisson
the residual r̂_kl = λ_kl(û − u)_kl weighs the relative error of every mode by |f̂_kl|²
(white noise: equally), while u's norm sits in its lowest modes (û = f̂/λ). On
``poisson_grid16`` (58 training samples, hidden 16, depth 2, tanh, lr 1e-2, batch 8) the
test rel_l2 stays at 0.5 to 0.6 with a relative residual of 0.06 (all modes right but
(0, 0), which holds 1/256 of Σ f²) for the first 40 to 50 epochs, then falls: 0.19 after
80 epochs, 0.029 after 150 (cosine schedule over the budget; mean-field baseline 1.03).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from opbench.config import Size
from opbench.data.base import Batch
from opbench.errors import ConfigError, unknown_name
from opbench.models.base import SMALL_TRAIN, register_model
from opbench.models.mode_mixing import mix_modes_first
from opbench.ops.dst import dst2, dst_matrix
from opbench.tasks import TaskSpec

CITATION = (
    "Du, Chalapathi, Krishnapriyan. Neural Spectral Methods: Self-supervised learning in the "
    "spectral domain. ICLR 2024. arXiv:2312.05225"
)

SUPPORTED_BOUNDARIES = ("zero-dirichlet",)
"""``task.boundary`` values the sine basis serves (``none``: the task declares none)."""

ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "gelu": F.gelu,
    "relu": F.relu,
    "tanh": torch.tanh,
}
"""Pointwise nonlinearities with σ(0) = 0, applied on the collocation grid (tanh is odd)."""


def grid_coordinates(height: int, width: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """(1, 2, H, W): x_i = (i+1)/(H+1) and y_j = (j+1)/(W+1), the DST-I collocation points."""
    x = torch.arange(1, height + 1, dtype=dtype, device=device) / (height + 1)
    y = torch.arange(1, width + 1, dtype=dtype, device=device) / (width + 1)
    return torch.stack(torch.meshgrid(x, y, indexing="ij"))[None]


class SineSpectralConv(nn.Module):
    """v ↦ T_m⁻¹(K̂ ⊙ T_m v): a real per-mode channel mixing on the lowest m×m sine modes.

    T_m v = S_H[:m] v S_W[:m]ᵀ are the first m×m orthonormal DST-I coefficients and
    T_m⁻¹ ĉ = S_H[:m]ᵀ ĉ S_W[:m] synthesises them (the other modes set to zero), with
    m = min(modes, H) (resp. W) on small grids. K̂ (C, C, m, m) is initialised N(0, 1)/C²,
    the reference's SpectralConv initialisation.
    """

    def __init__(self, channels: int, modes: int) -> None:
        super().__init__()
        self.modes = modes
        self.weight = nn.Parameter(torch.randn(channels, channels, modes, modes) / channels**2)

    def forward(self, v: Tensor) -> Tensor:
        batch, _, height, width = v.shape
        s_h = dst_matrix(height, v.dtype, v.device)[: self.modes]
        s_w = dst_matrix(width, v.dtype, v.device)[: self.modes]
        m_h, m_w = s_h.shape[0], s_w.shape[0]
        # Every transform is one matrix product over a whole axis: along W on (B·C·H, W),
        # along H on (H, B·C·m_w) with H moved to the front (broadcasting s_h over B·C would
        # multiply B·C small matrices one at a time, as ``bmm`` does on the CPU). The axes
        # are moved in rows of m_w values; the only element-wise transpositions are those
        # of the m_h·m_w kept modes to the front, for the mixing, and back.
        along_w = (v.reshape(-1, width) @ s_w.T).reshape(batch, -1, height, m_w)
        along_w = along_w.permute(2, 0, 1, 3).reshape(height, -1)
        coefficients = (s_h @ along_w).reshape(m_h, batch, -1, m_w)
        by_mode = coefficients.permute(0, 3, 1, 2).reshape(m_h * m_w, batch, -1)
        mixed = mix_modes_first(by_mode, self.weight[..., :m_h, :m_w])
        mixed = mixed.reshape(m_h, m_w, batch, -1).permute(0, 2, 3, 1).reshape(m_h, -1)
        along_h = (s_h.T @ mixed).reshape(height, batch, -1, m_w).permute(1, 2, 0, 3)
        return (along_h.reshape(-1, m_w) @ s_w).reshape(batch, -1, height, width)


class SineSpectralNet(nn.Module):
    """Lift, ``depth`` sine-spectral layers, project; the output is a sine series (so the
    model registers with ``output_offset_free=True``)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        hidden: int,
        depth: int,
        modes: int,
        activation: str,
    ) -> None:
        super().__init__()
        self.activation = ACTIVATIONS[activation]
        self.lift = nn.Conv2d(in_channels + 2, hidden, 1)
        self.spectral = nn.ModuleList(SineSpectralConv(hidden, modes) for _ in range(depth))
        self.mixing = nn.ModuleList(nn.Conv2d(hidden, hidden, 1, bias=False) for _ in range(depth))
        self.project = nn.Conv2d(hidden, out_channels, 1, bias=False)

    def forward(self, batch: Batch) -> Tensor:
        x = batch["x"]
        coordinates = grid_coordinates(*x.shape[-2:], x.dtype, x.device)
        v = self.lift(torch.cat([x, coordinates.expand(x.shape[0], -1, -1, -1)], dim=1))
        for spectral, mixing in zip(self.spectral, self.mixing, strict=True):
            v = self.activation(spectral(v) + mixing(v))
        return self.project(v)

    def evaluate(self, batch: Batch, x: Tensor, y: Tensor) -> Tensor:
        """The normalised output as a function: Σ_kl ŷ_kl φ_k(x_i) ψ_l(y_j), (B, C, I, J).

        ŷ = T ỹ are the output's DST-I coefficients on the H×W grid, φ_k(x) =
        √(2/(H+1)) sin(π(k+1)x) and ψ_l(y) = √(2/(W+1)) sin(π(l+1)y); x (I,) and y (J,)
        in [0, 1], in the precision of ``x``. At the grid points it returns ỹ; at x or
        y ∈ {0, 1} it returns 0 (sin(π(k+1)) to round-off).
        """
        coefficients = dst2(self(batch).to(x.dtype))
        height, width = coefficients.shape[-2:]

        def basis(points: Tensor, n: int) -> Tensor:
            k = torch.arange(1, n + 1, dtype=x.dtype, device=x.device)
            return math.sqrt(2 / (n + 1)) * torch.sin(math.pi * torch.outer(points.to(x), k))

        return basis(x, height) @ coefficients @ basis(y, width).T


@register_model(
    "spectral",
    layouts=("grid",),
    presets={
        "small": {
            "model": {"hidden": 32, "depth": 4, "modes": 16, "activation": "tanh"},
            "train": SMALL_TRAIN,
        },
        # Reference: hidden 64, depth 4, batch 16, Adam lr 1e-3 decayed exponentially to
        # 1e-3× over 30k iterations; its Dirichlet Poisson runs use ReLU and tanh (tanh here,
        # see the module docstring) and weights on all 31×31 modes of its basis (modes 32
        # here: half of a 64² grid's). The trainer offers step/cosine/constant schedules:
        # cosine to min_lr_ratio 1e-3 is the nearest to that decay. 2000 epochs of the
        # 230-sample default ConDiff split at batch 16 are 30k steps. The loss stays the
        # zoo's supervised rel_l2; the reference's spectral loss is train.physics_weight.
        "paper": {
            "model": {"hidden": 64, "depth": 4, "modes": 32, "activation": "tanh"},
            "train": {
                "optimizer": "adam",
                "lr": 1e-3,
                "weight_decay": 0.0,
                "schedule": "cosine",
                "min_lr_ratio": 1e-3,
                "batch_size": 16,
                "loss": "rel_l2",
                "epochs": 2000,
            },
        },
    },
    citation=CITATION,
    description="Neural Spectral Method in the sine (DST-I) basis; zero-Dirichlet tasks only",
    output_offset_free=True,
)
def build_spectral(
    task: TaskSpec,
    hidden: Size = 32,
    depth: Size = 4,
    modes: Size = 16,
    activation: str = "tanh",
) -> nn.Module:
    """SineSpectralNet for ``task``; rejects tasks with other than zero-Dirichlet boundaries."""
    if task.boundary not in SUPPORTED_BOUNDARIES:
        raise ConfigError(
            f"model 'spectral' expands its output in sine functions, which vanish on the "
            f"boundary: it supports zero-Dirichlet tasks only, not task {task.name!r} with "
            f"boundary {task.boundary!r} (non-zero boundary values would need a lifting)"
        )
    if task.spatial_shape is None or len(task.spatial_shape) != 2:
        raise ConfigError(f"model 'spectral' needs a 2-D grid task, got {task.spatial_shape}")
    for name, value in (("hidden", hidden), ("depth", depth), ("modes", modes)):
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"model.{name} must be an integer >= 1, got {value!r}")
    if activation not in ACTIVATIONS:
        raise unknown_name("model.activation", activation, ACTIVATIONS)
    return SineSpectralNet(task.in_channels, task.out_channels, hidden, depth, modes, activation)
