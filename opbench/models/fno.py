"""Fourier Neural Operator, from the ``neuraloperator`` package (not reimplemented).

Li et al., "Fourier Neural Operator for Parametric Partial Differential Equations",
ICLR 2021. Each layer is v ← σ(W v + K v), with K v = F⁻¹(R ⊙ F v) keeping the lowest
modes. In neuraloperator ≥ 2.0 ``n_modes`` counts **all** kept modes per dimension,
positive and negative together: the paper's "12 modes" is ``n_modes=(24, 24)``.

The FFT assumes periodicity; on non-periodic tasks (zero-Dirichlet ConDiff, CFDBench) the
model pads the domain by ``domain_padding`` (a fraction of each side's length), as the
original Darcy script does.

The spectral layers are neuraloperator's, computed with less work on the CPU
(:func:`~opbench.models.spectral_conv.speed_up_spectral_convs`): the per-mode channel
mixing as one contiguous batched product (:func:`~opbench.models.mode_mixing.mix_modes`)
in place of its einsum, the kept modes read and written without shifting the spectrum, and
the real FFT's gradient by its adjoint. The same values, the same weights and state dict.
"""

from __future__ import annotations

from neuralop.models import FNO
from torch import Tensor, nn

from opbench.config import NonNegativeFloat, PositiveFloat, Size, Sizes
from opbench.data.base import Batch
from opbench.models.base import ADAM_STEP_FIFTHS, SMALL_TRAIN, register_model
from opbench.models.spectral_conv import speed_up_spectral_convs
from opbench.tasks import TaskSpec

CITATION = (
    "Li, Kovachki, Azizzadenesheli, Liu, Bhattacharya, Stuart, Anandkumar. Fourier Neural "
    "Operator for Parametric Partial Differential Equations. ICLR 2021. arXiv:2010.08895"
)


class FNOModel(nn.Module):
    """``neuralop.models.FNO`` on ``batch["x"]`` (it appends coordinate channels itself)."""

    def __init__(self, fno: FNO) -> None:
        super().__init__()
        self.fno = fno

    def forward(self, batch: Batch) -> Tensor:
        return self.fno(batch["x"])


@register_model(
    "fno",
    layouts=("grid", "grid-timestep"),
    presets={
        "small": {
            "model": {
                "n_modes": [16, 16],
                "hidden_channels": 32,
                "n_layers": 4,
                "domain_padding": 0.125,
            },
            "train": SMALL_TRAIN,
        },
        "paper": {
            "model": {
                "n_modes": [24, 24],
                "hidden_channels": 32,
                "n_layers": 4,
                "domain_padding": 0.1,
            },
            "train": {**ADAM_STEP_FIFTHS, "batch_size": 20, "epochs": 500},
        },
    },
    citation=CITATION,
    description="Fourier Neural Operator (neuraloperator.models.FNO)",
)
def build_fno(
    task: TaskSpec,
    n_modes: Sizes = (16, 16),
    hidden_channels: Size = 32,
    n_layers: Size = 4,
    lifting_channel_ratio: PositiveFloat = 2,
    projection_channel_ratio: PositiveFloat = 2,
    domain_padding: NonNegativeFloat = 0.125,
) -> nn.Module:
    """FNO for ``task``; ``domain_padding`` applies to non-periodic tasks only."""
    fno = FNO(
        n_modes=tuple(n_modes),
        in_channels=task.in_channels,
        out_channels=task.out_channels,
        hidden_channels=hidden_channels,
        n_layers=n_layers,
        lifting_channel_ratio=lifting_channel_ratio,
        projection_channel_ratio=projection_channel_ratio,
        domain_padding=None if task.periodic or not domain_padding else domain_padding,
    )
    return FNOModel(speed_up_spectral_convs(fno))
