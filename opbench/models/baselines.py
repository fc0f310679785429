"""Fitted baselines: no trainable parameters, fitted in closed form on the training split.

A model that does not beat them has learnt nothing; every leaderboard shows them.
``mean`` predicts the training mean field; ``identity`` predicts that nothing changes
(next frame = current frame), the baseline CFDBench reports beside every model.
"""

from __future__ import annotations

import torch
from torch import Tensor

from opbench.data.base import Batch
from opbench.errors import ConfigError
from opbench.models.base import FittedModel, register_model
from opbench.tasks import TaskSpec

_NO_PRESET = {"model": {}, "train": {"epochs": 0}}


class MeanField(FittedModel):
    """Predicts the training-set mean field ȳ(x) = (1/N) Σ_n y_n(x), whatever the input."""

    def __init__(self, target_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.register_buffer("mean_field", torch.zeros(target_shape))

    def fit(self, x: Tensor, y: Tensor, valid: Tensor | None = None) -> None:
        if y.shape[1:] != self.mean_field.shape:
            raise ValueError(f"target shape {tuple(y.shape[1:])} != {tuple(self.mean_field.shape)}")
        self.mean_field.copy_(y.double().mean(dim=0))

    def forward(self, batch: Batch) -> Tensor:
        x = batch["x"]
        return self.mean_field.expand(x.shape[0], *self.mean_field.shape).to(x.dtype)


@register_model(
    "mean",
    layouts=("grid", "grid-timestep"),
    presets={"small": _NO_PRESET, "paper": _NO_PRESET},
    citation="Trivial baseline (the training-set mean field).",
    description="training-set mean field (fitted baseline)",
    fitted=True,
    fixed_grid="it is the mean training field, on the training grid's points",
)
def build_mean(task: TaskSpec) -> FittedModel:
    if task.spatial_shape is None:
        raise ValueError("the mean-field baseline needs a task with a spatial shape")
    return MeanField((task.out_channels, *task.spatial_shape))


class Identity(FittedModel):
    """Predicts the input state unchanged: output channel c is the input channel of the same
    name, ŷ_c(t + Δt) = x_c(t), in physical units (it has nothing to fit; registered with
    ``physical_units=True``)."""

    def __init__(self, channels: list[int]) -> None:
        super().__init__()
        self.channels = channels

    def fit(self, x: Tensor, y: Tensor, valid: Tensor | None = None) -> None:
        """Nothing to fit: the prediction is the input."""

    def forward(self, batch: Batch) -> Tensor:
        return batch["x"][:, self.channels]


@register_model(
    "identity",
    layouts=("grid-timestep",),
    presets={"small": _NO_PRESET, "paper": _NO_PRESET},
    citation="Trivial baseline (next frame = current frame), as reported by CFDBench.",
    description="next state = current state (fitted baseline, time-stepping tasks)",
    fitted=True,
    physical_units=True,
)
def build_identity(task: TaskSpec) -> FittedModel:
    missing = [f for f in task.output_fields if f not in task.input_fields]
    if missing:
        raise ConfigError(f"identity needs every output field among the inputs; missing {missing}")
    return Identity([task.input_fields.index(f) for f in task.output_fields])
