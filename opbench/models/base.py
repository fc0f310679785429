"""The model registry and what every registered model declares.

A model is a ``torch.nn.Module`` whose ``forward(batch)`` takes the batch dict (inputs
already normalised by :class:`~opbench.models.surrogate.Surrogate`) and returns a tensor
shaped like ``batch["y"]``. It is registered with a builder ``build(task, **hparams)``,
the task layouts it supports, its ``small`` and ``paper`` presets and its citation.
Third-party models register through the ``opbench.models`` entry-point group.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from pydantic import BaseModel, create_model
from torch import nn

from opbench.config import REQUIRED_PRESETS, Preset, StrictModel, validated
from opbench.errors import ConfigError, unknown_name
from opbench.registry import Registry
from opbench.tasks import TaskSpec

Builder = Callable[..., nn.Module]

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
"""The zoo's common ``small`` training recipe (opbench's, after the FNO paper's Darcy
setup, Li et al. 2021, at a CPU budget): AdamW lr 1e-3,
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
class ModelFlags:
    """How a model changes the pipeline around it, declared once at registration.

    Attributes:
        fitted: a fitted baseline: no trainable parameters; the trainer calls
            ``model.fit(x_normalised, y_normalised)`` once instead of optimising.
        output_offset_free: the outputs satisfy a homogeneous condition exactly (a sine
            series vanishes on the boundary): the output normaliser scales without centring
            (μ_y = 0), so the condition survives it.
        physical_units: the model reads the raw batch and predicts in physical units (the
            identity baseline); the normalisers are bypassed.
        channels_last: the network's 4-d weights and grid inputs are stored channels-last
            (NHWC), where oneDNN's CPU convolutions need no layout conversions. Declared
            where ``benchmarks/`` measured it faster and the first step's gradients equal
            the default layout's to 1e-5 (relative): it changes only the order of float
            additions, not what is computed.
        compile_faster: ``torch.compile`` (inductor) makes a training step faster here, and
            the compiled first step's gradients equal the eager ones to 1e-5 (relative), as
            measured in ``benchmarks/``. ``--compile`` compiles only such models: elsewhere
            compilation costs its first-step time and makes the step no faster, or changes
            gradients by more than the bar.
        fixed_grid: why the network cannot take a grid other than its training grid
            (resolution transfer lists it as not applicable with this reason); ``None``
            when it can, or may (a network that fails on another grid is listed with its
            error).
    """

    fitted: bool = False
    output_offset_free: bool = False
    physical_units: bool = False
    channels_last: bool = False
    compile_faster: bool = False
    fixed_grid: str | None = None


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
        flags: :class:`ModelFlags`.
        hyperparameters: a pydantic model of the builder's keyword arguments, made from its
            signature (names, annotated types and constraints, defaults): the one check of
            ``model.*`` options, in ``opbench run`` and in checkpoint metadata alike.
    """

    name: str
    build: Builder
    layouts: tuple[str, ...]
    presets: dict[str, dict[str, dict[str, Any]]]
    citation: str
    description: str
    flags: ModelFlags
    hyperparameters: type[BaseModel]

    @property
    def fitted(self) -> bool:
        return self.flags.fitted

    def preset(self, preset: str) -> dict[str, dict[str, Any]]:
        if preset not in self.presets:
            raise unknown_name(f"preset of model {self.name!r}", preset, self.presets)
        return self.presets[preset]

    def check_layout(self, layout: str, task: str) -> None:
        """A ConfigError unless the model reads ``layout``, the layout of task ``task``."""
        if layout not in self.layouts:
            raise ConfigError(
                f"model {self.name!r} supports the layouts {', '.join(self.layouts)}, "
                f"not the {layout!r} layout of task {task!r}"
            )

    def check_hyperparameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` validated; returned in JSON form (tuples as lists), as given (builder
        defaults are not filled in). ConfigError naming ``model.<key>`` otherwise."""
        checked = validated(self.hyperparameters, values, "model")
        return checked.model_dump(mode="json", include=checked.model_fields_set)

    def instantiate(self, task: TaskSpec, hyperparameters: Mapping[str, Any]) -> nn.Module:
        """The network for ``task``, built from checked ``hyperparameters``."""
        checked = validated(self.hyperparameters, hyperparameters, "model")
        return self.build(
            task, **{name: getattr(checked, name) for name in checked.model_fields_set}
        )


MODELS: Registry[ModelEntry] = Registry(
    "model", entry_point_group="opbench.models", package="opbench.models"
)


def _hyperparameter_model(name: str, build: Builder) -> type[BaseModel]:
    """A pydantic model of ``build``'s keyword arguments after ``task``: each argument's
    annotation (with its constraints, e.g. :data:`opbench.config.Size`) and default."""
    hints = typing.get_type_hints(build, include_extras=True)
    parameters = list(inspect.signature(build).parameters.values())[1:]  # after `task`
    fields = {
        p.name: (hints.get(p.name, Any), p.default if p.default is not p.empty else ...)
        for p in parameters
    }
    return create_model(  # type: ignore[call-overload]
        f"{name}_hyperparameters", __base__=StrictModel, **fields
    )


def register_model(
    name: str,
    *,
    layouts: tuple[str, ...],
    presets: dict[str, dict[str, dict[str, Any]]],
    citation: str,
    description: str,
    fitted: bool = False,
    output_offset_free: bool = False,
    physical_units: bool = False,
    channels_last: bool = False,
    compile_faster: bool = False,
    fixed_grid: str | None = None,
) -> Callable[[Builder], Builder]:
    """Register ``build(task, **hyperparameters)`` as the model ``name`` with its
    :class:`ModelFlags`; the presets are :class:`~opbench.config.Preset` names and include
    :data:`~opbench.config.REQUIRED_PRESETS`."""

    def decorator(build: Builder) -> Builder:
        missing = {preset.value for preset in REQUIRED_PRESETS} - set(presets)
        unknown = set(presets) - {preset.value for preset in Preset}
        if missing or unknown:
            raise ValueError(
                f"model {name!r}: presets lacking {sorted(missing)}, unknown {sorted(unknown)}"
            )
        flags = ModelFlags(
            fitted=fitted,
            output_offset_free=output_offset_free,
            physical_units=physical_units,
            channels_last=channels_last,
            compile_faster=compile_faster,
            fixed_grid=fixed_grid,
        )
        entry = ModelEntry(
            name,
            build,
            layouts,
            presets,
            citation,
            description,
            flags,
            _hyperparameter_model(name, build),
        )
        for values in presets.values():  # a preset is checked like an option
            entry.check_hyperparameters(values.get("model", {}))
        MODELS.add(name, entry)
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

    def fit(self, x: torch.Tensor, y: torch.Tensor, valid: torch.Tensor | None = None) -> None:
        """Fit on the whole training split: inputs ``x`` (N, C_in, ...) and targets ``y``
        (N, C_out, ...); ``valid`` (N, 1, P) is 1 on the real points of padded point clouds
        and ``None`` on grids, where every cell is real."""
        raise NotImplementedError
