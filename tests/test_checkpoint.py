"""Checkpoints: safetensors plus metadata validated before anything is built from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import safetensors.torch
import torch
from conftest import grid_task

from opbench import checkpoint
from opbench.checkpoint import CheckpointMeta
from opbench.errors import DataError
from opbench.models import build_surrogate, load_surrogate

HYPERPARAMETERS = {"n_modes": [4, 4], "hidden_channels": 4, "n_layers": 1}


@pytest.fixture
def saved(tmp_path) -> tuple[Path, dict]:
    """A valid FNO checkpoint and its metadata as JSON."""
    task = grid_task((8, 8))
    surrogate = build_surrogate("fno", task, HYPERPARAMETERS)
    meta = CheckpointMeta(
        model="fno", hyperparameters=HYPERPARAMETERS, task=task, opbench_version="test"
    )
    path = tmp_path / "best.safetensors"
    checkpoint.save_checkpoint(path, checkpoint.module_tensors(surrogate), meta)
    return path, json.loads(meta.model_dump_json())


def _rewrite(path: Path, text: str) -> None:
    """Replace the metadata of ``path`` with ``text``, keeping its tensors."""
    tensors = safetensors.torch.load_file(str(path))
    safetensors.torch.save_file(tensors, str(path), metadata={checkpoint.META_KEY: text})


def test_round_trip(saved):
    path, _ = saved
    assert isinstance(load_surrogate(path), torch.nn.Module)


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda m: m["hyperparameters"].update(hidden_channels=10**6),
            "does not match the model",
        ),  # 96 TB of weights: refused on the meta device, never allocated
        (lambda m: m["hyperparameters"].update(n_layers="four"), 'model.n_layers="four"'),
        (lambda m: m["hyperparameters"].update(n_layers=-1), "model.n_layers=-1"),
        (lambda m: m["task"].update(spatial_shape="big"), "task.spatial_shape"),
        (lambda m: m.pop("task"), "task: Field required"),
        (lambda m: m.update(model="nosuch"), "unknown model 'nosuch'"),
        (lambda m: m.update(extra_key=1), "extra_key: Extra inputs are not permitted"),
    ],
)
def test_crafted_metadata_is_refused_before_building(saved, change, message):
    path, meta = saved
    change(meta)
    _rewrite(path, json.dumps(meta))
    with pytest.raises(DataError, match=r"checkpoint .*best\.safetensors") as error:
        load_surrogate(path)
    assert message in str(error.value)


def test_a_crafted_grid_size_is_refused_before_any_allocation(tmp_path):
    """The linear baseline's weights grow with the grid: a task of 10⁹ × 10⁹ would ask for
    exabytes; the shapes are compared on the meta device first."""
    task = grid_task((8, 8))
    surrogate = build_surrogate("linear", task, {})
    meta = CheckpointMeta(model="linear", task=task, opbench_version="test")
    path = tmp_path / "best.safetensors"
    checkpoint.save_checkpoint(path, checkpoint.module_tensors(surrogate), meta)
    crafted = json.loads(meta.model_dump_json())
    crafted["task"]["spatial_shape"] = [10**9, 10**9]
    _rewrite(path, json.dumps(crafted))
    with pytest.raises(DataError, match="has shape"):
        load_surrogate(path)


def test_deeply_nested_metadata_is_refused(saved):
    path, meta = saved
    text = json.dumps(meta).replace('"n_modes": [4, 4]', f'"n_modes": {_deep(100_000)}')
    _rewrite(path, text)
    with pytest.raises(DataError, match="nested too deeply"):
        load_surrogate(path)


@pytest.mark.parametrize("text", ["not json", "[]", '"a string"', "null"])
def test_metadata_that_is_not_an_object_is_refused(saved, text):
    path, _ = saved
    _rewrite(path, text)
    with pytest.raises(DataError, match="checkpoint"):
        load_surrogate(path)


def test_a_checkpoint_from_before_the_task_fields_were_declared_still_loads(saved):
    """Checkpoints written with the free ``task.extra`` dict rebuild their model."""
    path, meta = saved
    meta["task"] = {
        **{k: v for k, v in meta["task"].items() if k not in ("coordinate_fields",)},
        "extra": {"grid": 8},
    }
    _rewrite(path, json.dumps(meta))
    assert isinstance(load_surrogate(path), torch.nn.Module)
