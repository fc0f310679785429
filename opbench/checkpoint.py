"""Checkpoints in a safe format: tensors in safetensors, everything else as validated JSON.

Nothing is pickled, so loading a checkpoint cannot execute code. A checkpoint is one
``.safetensors`` file whose metadata field ``opbench`` holds a JSON document,
:class:`CheckpointMeta`: the model's registry name, constructor arguments and task (so it
loads without the original script), the opbench version, and for training checkpoints the
epoch, the trainer state, optimiser hyperparameters and random-number-generator states.

The metadata is validated with typed models before anything is built from it: a crafted
file (wrong types, deep nesting, absurd sizes) is refused with a
:class:`~opbench.errors.DataError`. This module depends on neither :mod:`opbench.models`
nor :mod:`opbench.train`; the model's hyperparameters are checked by the model registry
when the model is rebuilt (:func:`opbench.models.surrogate.load_surrogate`).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.torch
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from torch import Tensor, nn

from opbench.errors import DataError
from opbench.io import atomic_path
from opbench.tasks import TaskSpec

META_KEY = "opbench"


class _Meta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrainState(_Meta):
    """Where training stands after an epoch (``best_val`` is ``inf`` before the first)."""

    epoch: int = Field(ge=-1)
    step: int = Field(ge=0)
    best_val: float
    best_epoch: int | None = Field(default=None, ge=0)
    history: list[dict[str, float | int | None]]
    train_seconds: float = Field(ge=0)
    stale_epochs: int = Field(ge=0)
    status: str


class OptimizerMeta(_Meta):
    """The non-tensor part of an optimiser's state dict."""

    param_groups: list[dict[str, Any]]
    scalars: dict[str, dict[str, float | int | bool | None]]


class RngMeta(_Meta):
    """numpy's and Python's generator states (torch's is a tensor of the checkpoint)."""

    numpy: tuple[str, list[int], int, int, float]
    python: tuple[int, list[int], float | None]


class CheckpointMeta(_Meta):
    """The JSON metadata of a checkpoint.

    Attributes:
        model, hyperparameters, task: rebuild the network (``MODELS[model].build(task,
            **hyperparameters)``).
        opbench_version: the version that wrote it.
        epoch, val: the epoch and validation value of a best-weights checkpoint.
        train_state, optimizer, rng: the resumable state of a per-epoch checkpoint.
    """

    model: str = Field(min_length=1)
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    task: TaskSpec
    opbench_version: str
    epoch: int | None = Field(default=None, ge=0)
    val: float | None = None
    train_state: TrainState | None = None
    optimizer: OptimizerMeta | None = None
    rng: RngMeta | None = None


def save_checkpoint(path: Path, tensors: dict[str, Tensor], meta: CheckpointMeta) -> None:
    """Write ``tensors`` and the JSON ``meta`` to ``path`` atomically."""
    tensors = {name: t.detach().contiguous().cpu() for name, t in tensors.items()}
    text = meta.model_dump_json()
    with atomic_path(path) as tmp:
        safetensors.torch.save_file(tensors, str(tmp), metadata={META_KEY: text})


def load_checkpoint(path: Path) -> tuple[dict[str, Tensor], CheckpointMeta]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors on the CPU); a
    DataError for a missing, unreadable or invalid file."""
    if not path.is_file():
        raise DataError(f"checkpoint not found: {path}")
    try:
        with safetensors.safe_open(str(path), framework="pt") as f:
            text = (f.metadata() or {})[META_KEY]
            tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
        meta = CheckpointMeta.model_validate(json.loads(text))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg']}"
            for e in error.errors(include_url=False)[:5]
        )
        raise DataError(f"checkpoint {path}: invalid metadata: {problems}") from None
    except RecursionError:
        raise DataError(f"checkpoint {path}: invalid metadata: nested too deeply") from None
    except (OSError, KeyError, ValueError, safetensors.SafetensorError) as error:
        raise DataError(
            f"checkpoint {path} is unreadable or not an opbench checkpoint: {error}"
        ) from None
    return tensors, meta


def module_tensors(module: nn.Module, prefix: str = "") -> dict[str, Tensor]:
    """The tensors of ``module.state_dict()`` (non-tensor entries such as neuralop's
    ``_metadata`` are left out; they are rebuilt by the constructor)."""
    return {prefix + name: t for name, t in module.state_dict().items() if torch.is_tensor(t)}


def check_shapes(module: nn.Module, tensors: dict[str, Tensor], prefix: str = "") -> None:
    """DataError unless ``tensors`` (under ``prefix``) hold exactly the module's tensors
    with the same shapes; ``module`` may live on the meta device (nothing allocated)."""
    expected = {name: tuple(t.shape) for name, t in module_tensors(module).items()}
    given = {
        name[len(prefix) :]: tuple(t.shape)
        for name, t in tensors.items()
        if name.startswith(prefix)
    }
    missing, unexpected = sorted(set(expected) - set(given)), sorted(set(given) - set(expected))
    if missing or unexpected:
        raise DataError(
            f"checkpoint does not match the model: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}"
        )
    wrong = [name for name in expected if expected[name] != given[name]]
    if wrong:
        name = wrong[0]
        raise DataError(
            f"checkpoint does not match the model: {name} has shape {given[name]} in the file "
            f"and {expected[name]} in the model ({len(wrong)} tensor(s) differ)"
        )


def load_module_tensors(module: nn.Module, tensors: dict[str, Tensor], prefix: str = "") -> None:
    check_shapes(module, tensors, prefix)
    state = {name[len(prefix) :]: t for name, t in tensors.items() if name.startswith(prefix)}
    module.load_state_dict(state, strict=False)


def optimizer_state(
    optimizer: torch.optim.Optimizer, prefix: str = "optimizer."
) -> tuple[dict[str, Tensor], OptimizerMeta]:
    """Split an optimiser's state dict into tensors and a JSON-serialisable remainder."""
    state = optimizer.state_dict()
    tensors: dict[str, Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, slots in state["state"].items():
        for slot, value in slots.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}{index}.{slot}"] = value
            else:
                scalars.setdefault(str(index), {})[slot] = value
    return tensors, OptimizerMeta(param_groups=state["param_groups"], scalars=scalars)


def load_optimizer_state(
    optimizer: torch.optim.Optimizer,
    tensors: dict[str, Tensor],
    meta: OptimizerMeta,
    prefix: str = "optimizer.",
) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix):
            index, slot = name[len(prefix) :].split(".", 1)
            state.setdefault(int(index), {})[slot] = value
    for index, slots in meta.scalars.items():
        state.setdefault(int(index), {}).update(slots)
    try:
        optimizer.load_state_dict({"state": state, "param_groups": meta.param_groups})
    except (ValueError, KeyError, TypeError) as error:
        raise DataError(f"checkpoint optimiser state does not fit the optimiser: {error}") from None


def rng_state() -> tuple[dict[str, Tensor], RngMeta]:
    """The torch, numpy and Python RNG states (tensors, JSON)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    python_version, python_state, python_gauss = random.getstate()
    return {"rng.torch": torch.get_rng_state()}, RngMeta(
        numpy=(kind, keys.tolist(), pos, has_gauss, gauss),
        python=(python_version, list(python_state), python_gauss),
    )


def set_rng_state(tensors: dict[str, Tensor], meta: RngMeta) -> None:
    try:
        torch.set_rng_state(tensors["rng.torch"])
        kind, keys, pos, has_gauss, gauss = meta.numpy
        np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, gauss))
        python_version, python_state, python_gauss = meta.python
        random.setstate((python_version, tuple(python_state), python_gauss))
    except (KeyError, ValueError, TypeError, RuntimeError) as error:
        raise DataError(f"checkpoint random-number-generator state is invalid: {error}") from None
