"""The model registry and what every registered model declares.

A model is a ``torch.nn.Module`` whose ``forward(batch)`` takes the batch dict (inputs
already normalised by :class:`~opbench.models.surrogate.Surrogate`) and returns a tensor
shaped like ``batch["y"]``. It is registered with a builder ``build(task, **hparams)``,
the task layouts it supports, its ``small`` and ``paper`` presets and its citation.
Third-party models register through the ``opbench.models`` entry-point group.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from opbench.errors import ConfigError, unknown_name
from opbench.registry import Registry
from opbench.tasks import TaskSpec

Builder = Callable[..., nn.Module]
PRESETS = ("small", "paper")

SMALL_TRAIN: dict[str, Any] = {
    "optimizer": "adamw",
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "schedule": "step",
    "milestones": [0.25, 0.5, 0.75],
    "gamma": 0.5,
    "batch_size": 16,
    "loss": "rel_l2",
    "epochs": 25,
}
"""The zoo's common ``small`` training recipe (models.md, FNO small preset): AdamW lr 1e-3,
weight decay 1e-4, lr ×0.5 at 25/50/75 % of the budget, batch 16, relative-L2 loss; 25
epochs keeps the default run at a few minutes on two CPU cores."""

ADAM_STEP_FIFTHS: dict[str, Any] = {
    "optimizer": "adam",
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "schedule": "step",
    "milestones": [0.2, 0.4, 0.6, 0.8],
    "gamma": 0.5,
    "loss": "rel_l2",
}
"""The papers' recipe shared by FNO (×0.5 every 100 of 500 epochs), LSM (every 100 of 500)
and DGenNO's MultiONet (every 400 of 2000): Adam lr 1e-3, weight decay 1e-4, lr ×0.5 at
every fifth of the budget, relative-L2 loss. Presets add batch size and epochs."""

CONDIFF_NOTEBOOK_TRAIN: dict[str, Any] = {
    "optimizer": "adamw",
    "lr": 1e-3,
    "weight_decay": 1e-2,
    "schedule": "step",
    "milestones": [k / 8 for k in range(1, 8)],
    "gamma": 0.5,
    "loss": "abs_l2",
    "epochs": 400,
}
"""ConDiff's notebooks (U-Net, DilResNet): AdamW lr 1e-3, weight decay 1e-2, ×0.5 every 50
of 400 epochs, loss = batch mean of the absolute L2 norm of the error (they train in
float64; opbench in float32). Presets add the batch size."""


@dataclass(frozen=True)
class ModelEntry:
    """A registered model.

    Attributes:
        name: registry name (``fno``).
        build: ``build(task: TaskSpec, **hyperparameters) -> nn.Module``.
        layouts: task layouts the model supports.
        presets: ``{"small": {"model": {...}, "train": {...}}, "paper": {...}}``; ``model``
            holds builder keyword arguments, ``train`` overrides of the TrainConfig.
        citation: the reference to cite.
        description: one line.
        fitted: fitted baselines have no trainable parameters: the trainer calls
            ``model.fit(x_normalised, y_normalised)`` instead of optimising.
    """

    name: str
    build: Builder
    layouts: tuple[str, ...]
    presets: dict[str, dict[str, dict[str, Any]]]
    citation: str
    description: str
    fitted: bool = False
    hyperparameters: tuple[str, ...] = field(default=())

    def preset(self, preset: str) -> dict[str, dict[str, Any]]:
        if preset not in self.presets:
            raise unknown_name(f"preset of model {self.name!r}", preset, self.presets)
        return self.presets[preset]

    def check_layout(self, task: TaskSpec) -> None:
        if task.layout not in self.layouts:
            raise ConfigError(
                f"model {self.name!r} supports the layouts {', '.join(self.layouts)}, "
                f"not the {task.layout!r} layout of task {task.name!r}"
            )

    def check_hyperparameters(self, hyperparameters: dict[str, Any]) -> None:
        for key in hyperparameters:
            if key not in self.hyperparameters:
                raise unknown_name(
                    f"hyperparameter of model {self.name!r}", key, self.hyperparameters
                )


MODELS: Registry[ModelEntry] = Registry("model", entry_point_group="opbench.models")


def register_model(
    name: str,
    *,
    layouts: tuple[str, ...],
    presets: dict[str, dict[str, dict[str, Any]]],
    citation: str,
    description: str,
    fitted: bool = False,
) -> Callable[[Builder], Builder]:
    """Register ``build(task, **hyperparameters)`` as the model ``name``."""

    def decorator(build: Builder) -> Builder:
        missing = set(PRESETS) - set(presets)
        if missing:
            raise ValueError(f"model {name!r} lacks the presets {sorted(missing)}")
        parameters = list(inspect.signature(build).parameters)[1:]  # after `task`
        MODELS.add(
            name,
            ModelEntry(
                name, build, layouts, presets, citation, description, fitted, tuple(parameters)
            ),
        )
        return build

    return decorator


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters, complex parameters counted as two real ones (FNO's spectral
    weights would be undercounted by about half otherwise)."""
    return sum(
        p.numel() * (2 if p.is_complex() else 1) for p in module.parameters() if p.requires_grad
    )


class FittedModel(nn.Module):
    """Base of baselines fitted in closed form on the (normalised) training data."""

    def fit(self, x: torch.Tensor, y: torch.Tensor) -> None:
        raise NotImplementedError
