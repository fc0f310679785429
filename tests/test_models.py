"""Every registered model on every layout it declares: builds from its preset, forward and
backward, output shape, fitted baselines, a checkpoint round trip; parameter counts.

The parametrisation reads the registry, so a third-party model (registered through the
``opbench.models`` entry-point group) is covered on its layouts, points included."""

import dataclasses

import pytest
import torch
from conftest import grid_task
from neuralop.models import FNO

from opbench import checkpoint
from opbench.checkpoint import CheckpointMeta
from opbench.models import MODELS, build_surrogate, count_parameters, load_surrogate
from opbench.models.surrogate import Surrogate
from opbench.tasks import TaskSpec

SHAPES = [(16, 16), (66, 65)]


def timestep_task(shape) -> TaskSpec:
    """A CFDBench-like step: (u, v, mask, one case parameter) → (u, v)."""
    return TaskSpec(
        name="autoregressive",
        layout="grid-timestep",
        input_fields=("u", "v", "mask", "p0"),
        output_fields=("u", "v"),
        spatial_shape=shape,
        metrics=("nmse",),
        primary_metric="nmse",
    )


POINTS_TASK = TaskSpec(
    name="fields",
    layout="points",
    input_fields=("x", "y", "u_inf_cos", "u_inf_sin", "distance", "n_x", "n_y"),
    output_fields=("u", "v", "p", "nu_t"),
    coordinate_fields=("x", "y", "distance", "n_x", "n_y"),
    bounding_box=(-2.0, 4.0, -1.5, 1.5),
    metrics=("mse",),
    primary_metric="mse",
)
"""An AirfRANS-like point cloud: per-point coordinates, two constants per sample."""


def points_batch(n: int = 2, points: int = 90) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(n, 7, points, generator=generator)
    x[:, 2:4] = torch.randn(n, 2, 1, generator=generator)  # constant over the points
    pos = torch.stack([x[:, 0].clamp(-1.9, 3.9), x[:, 1].clamp(-1.4, 1.4)], dim=1)
    x[:, :2] = pos
    return {
        "x": x,
        "y": torch.randn(n, 4, points, generator=generator),
        "pos": pos,
        "valid": torch.ones(n, 1, points),
    }


def grid_batch(task: TaskSpec, n: int = 2) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    return {
        "x": torch.randn(n, task.in_channels, *task.spatial_shape, generator=generator),
        "y": torch.randn(n, task.out_channels, *task.spatial_shape, generator=generator),
    }


def cases() -> list[tuple[str, str, tuple[int, int] | None]]:
    """(model, layout, grid shape) for every registered model and declared layout."""
    found = []
    for name, entry in MODELS.items():
        for layout in entry.layouts:
            shapes = {"grid": SHAPES, "grid-timestep": [(66, 65)], "points": [None]}[layout]
            found += [(name, layout, shape) for shape in shapes]
    return found


def task_and_batch(layout: str, shape) -> tuple[TaskSpec, dict[str, torch.Tensor]]:
    if layout == "points":
        return POINTS_TASK, points_batch()
    task = grid_task(shape) if layout == "grid" else timestep_task(shape)
    return task, grid_batch(task)


@pytest.mark.parametrize(("name", "layout", "shape"), cases())
def test_every_model_on_every_declared_layout(name, layout, shape, tmp_path):
    """Built from its small preset between its normalisers: finite outputs shaped like the
    target, gradients for every trainable parameter (fitted baselines fit instead), and a
    checkpoint that rebuilds the same model from its metadata alone."""
    entry = MODELS.get(name)
    task, batch = task_and_batch(layout, shape)
    hyperparameters = entry.preset("small")["model"]
    torch.manual_seed(0)
    surrogate = build_surrogate(name, task, hyperparameters)
    surrogate.fit_normalizers(batch["x"], batch["y"], batch.get("valid"))
    if entry.fitted:
        x, y = surrogate.input_norm.encode(batch["x"]), surrogate.output_norm.encode(batch["y"])
        surrogate.net.fit(x, y, batch.get("valid"))
        assert count_parameters(surrogate) == 0
    output = surrogate(batch)
    assert output.shape == batch["y"].shape
    assert torch.isfinite(output).all()
    if not entry.fitted:
        surrogate(batch, normalized=True).square().mean().backward()
        grads = [p.grad for p in surrogate.parameters() if p.requires_grad]
        assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)

    path = tmp_path / "best.safetensors"
    meta = CheckpointMeta(
        model=name, hyperparameters=hyperparameters, task=task, opbench_version="test"
    )
    checkpoint.save_checkpoint(path, checkpoint.module_tensors(surrogate), meta)
    loaded = load_surrogate(path)
    surrogate.eval()
    loaded.eval()
    with torch.no_grad():
        assert torch.equal(surrogate(batch), loaded(batch))


CHANNELS_LAST = [name for name in MODELS.names() if MODELS.get(name).flags.channels_last]


@pytest.mark.parametrize("name", CHANNELS_LAST)
def test_channels_last_changes_only_rounding(name):
    """A channels-last model computes what the default layout does: outputs and
    first-step gradients agree to 1e-5 (relative); its weights and inputs are NHWC."""
    entry = MODELS.get(name)
    task = grid_task((32, 32))
    batch = grid_batch(task)
    hyperparameters = entry.preset("small")["model"]
    results = []
    for flags in (entry.flags, dataclasses.replace(entry.flags, channels_last=False)):
        torch.manual_seed(0)
        surrogate = Surrogate(entry.instantiate(task, hyperparameters), task, flags)
        surrogate.fit_normalizers(batch["x"], batch["y"])
        output = surrogate(batch, normalized=True)
        output.square().mean().backward()
        grads = torch.cat([p.grad.flatten() for p in surrogate.parameters()])
        results.append((output.detach(), grads, surrogate))
    (fast, fast_grads, surrogate), (default, default_grads, _) = results
    assert any(
        p.ndim == 4 and p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous()
        for p in surrogate.parameters()
    )
    assert surrogate.normalized_batch(batch)["x"].is_contiguous(memory_format=torch.channels_last)
    assert (fast - default).norm() / default.norm() < 1e-5
    assert (fast_grads - default_grads).norm() / default_grads.norm() < 1e-5


def test_every_model_declares_both_presets():
    for name, entry in MODELS.items():
        assert {"small", "paper"} <= set(entry.presets), name


def test_fno_parameter_count_counts_complex_weights_twice():
    task = grid_task((64, 64))
    entry = MODELS.get("fno")
    net = entry.build(task, **entry.preset("small")["model"])
    reference = FNO(n_modes=(16, 16), in_channels=2, out_channels=1, hidden_channels=32)
    real_count = sum(p.numel() for p in reference.parameters())
    complex_count = sum(p.numel() for p in reference.parameters() if p.is_complex())
    assert count_parameters(net) == real_count + complex_count
    # 4 layers of 32×32 complex weights on 16 × 9 kept modes (rfft keeps 16//2 + 1 columns)
    assert complex_count == 4 * 32 * 32 * 16 * 9


def unet_parameters(c_in, c_out, w, depth):
    def double(a, b):  # two bias-free 3×3 convs with batch norm (weight and bias)
        return 9 * a * b + 9 * b * b + 4 * b

    widths = [w * 2**level for level in range(depth + 1)]
    total, channels = 0, c_in
    for width in widths[:-1]:
        total += double(channels, width)
        channels = width
    total += double(channels, widths[-1])
    for level in reversed(range(depth)):
        total += 4 * widths[level + 1] * widths[level] + widths[level]  # 2×2 transposed conv
        total += double(2 * widths[level], widths[level])
    return total + widths[0] * c_out + c_out


@pytest.mark.parametrize("preset", ["small", "paper"])
def test_unet_parameter_count_matches_closed_form(preset):
    entry = MODELS.get("unet")
    hp = entry.preset(preset)["model"]
    net = entry.build(grid_task((64, 64)), **hp)
    assert count_parameters(net) == unet_parameters(2, 1, hp["width"], hp["depth"])


def test_mean_baseline_predicts_the_training_mean():
    entry = MODELS.get("mean")
    net = entry.build(grid_task((4, 4), 1, 1))
    y = torch.arange(3 * 16, dtype=torch.float32).reshape(3, 1, 4, 4)
    net.fit(torch.zeros(3, 1, 4, 4), y)
    assert torch.allclose(net({"x": torch.zeros(5, 1, 4, 4)}), y.mean(0).expand(5, 1, 4, 4))


@pytest.mark.parametrize(("fields", "published"), [(("f",), 259_553), (("k", "f"), 259_841)])
def test_dilresnet_matches_the_published_conDiff_parameter_counts(fields, published):
    task = TaskSpec(
        name="steady",
        layout="grid",
        input_fields=fields,
        output_fields=("u",),
        spatial_shape=(64, 64),
    )
    net = MODELS.get("dilresnet").build(task, **MODELS.get("dilresnet").preset("paper")["model"])
    assert count_parameters(net) == published
