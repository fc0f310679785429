"""Checkpoints in a safe format: tensors in safetensors, everything else as JSON.

Nothing is pickled, so loading a checkpoint cannot execute code. A checkpoint is one
``.safetensors`` file whose metadata field ``opbench`` holds a JSON document: the model's
registry name, constructor arguments and task (so it loads without the original script),
the opbench version, and for training checkpoints the epoch, history, optimiser
hyperparameters and random-number-generator states.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.torch
import torch
from torch import Tensor, nn

from opbench.errors import DataError
from opbench.io import atomic_path

META_KEY = "opbench"


def save_checkpoint(path: Path, tensors: dict[str, Tensor], meta: dict[str, Any]) -> None:
    """Write ``tensors`` and the JSON ``meta`` to ``path`` atomically."""
    tensors = {name: t.detach().contiguous().cpu() for name, t in tensors.items()}
    with atomic_path(path) as tmp:
        safetensors.torch.save_file(tensors, str(tmp), metadata={META_KEY: json.dumps(meta)})


def load_checkpoint(path: Path) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors on the CPU)."""
    if not path.is_file():
        raise DataError(f"checkpoint not found: {path}")
    try:
        with safetensors.safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {})[META_KEY])
            tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
    except (OSError, KeyError, ValueError, safetensors.SafetensorError) as error:
        raise DataError(
            f"checkpoint {path} is unreadable or not an opbench checkpoint: {error}"
        ) from error
    return tensors, meta


def module_tensors(module: nn.Module, prefix: str = "") -> dict[str, Tensor]:
    """The tensors of ``module.state_dict()`` (non-tensor entries such as neuralop's
    ``_metadata`` are left out; they are rebuilt by the constructor)."""
    return {prefix + name: t for name, t in module.state_dict().items() if torch.is_tensor(t)}


def load_module_tensors(module: nn.Module, tensors: dict[str, Tensor], prefix: str = "") -> None:
    state = {name[len(prefix) :]: t for name, t in tensors.items() if name.startswith(prefix)}
    module.load_state_dict(state, strict=False)
    expected = set(module_tensors(module))
    missing, unexpected = expected - set(state), set(state) - expected
    if missing or unexpected:
        raise DataError(
            f"checkpoint does not match the model: missing {sorted(missing)[:5]}, "
            f"unexpected {sorted(unexpected)[:5]}"
        )


def optimizer_state(
    optimizer: torch.optim.Optimizer, prefix: str = "optimizer."
) -> tuple[dict[str, Tensor], dict[str, Any]]:
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
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def load_optimizer_state(
    optimizer: torch.optim.Optimizer,
    tensors: dict[str, Tensor],
    meta: dict[str, Any],
    prefix: str = "optimizer.",
) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix):
            index, slot = name[len(prefix) :].split(".", 1)
            state.setdefault(int(index), {})[slot] = value
    for index, slots in meta["scalars"].items():
        state.setdefault(int(index), {}).update(slots)
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def rng_state() -> tuple[dict[str, Tensor], dict[str, Any]]:
    """The torch, numpy and Python RNG states (tensors, JSON)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    python_version, python_state, python_gauss = random.getstate()
    return {"rng.torch": torch.get_rng_state()}, {
        "numpy": [kind, keys.tolist(), pos, has_gauss, gauss],
        "python": [python_version, list(python_state), python_gauss],
    }


def set_rng_state(tensors: dict[str, Tensor], meta: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["rng.torch"])
    kind, keys, pos, has_gauss, gauss = meta["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, gauss))
    python_version, python_state, python_gauss = meta["python"]
    random.setstate((python_version, tuple(python_state), python_gauss))
