"""Every registered model: builds on its layouts, forward and backward, output shape,
parameter counts."""

import pytest
import torch
from conftest import grid_task
from neuralop.models import FNO

from opbench.models import MODELS, Surrogate, count_parameters
from opbench.models.surrogate import load_surrogate
from opbench.tasks import TaskSpec
from opbench.train.checkpoint import module_tensors, save_checkpoint

SHAPES = [(16, 16), (64, 64), (66, 65)]


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


GRID_TASKS = {"grid": grid_task, "grid-timestep": timestep_task}


@pytest.mark.parametrize(
    ("name", "layout", "shape"),
    [(n, "grid", shape) for n, e in MODELS.items() if "grid" in e.layouts for shape in SHAPES]
    + [(n, "grid-timestep", (66, 65)) for n, e in MODELS.items() if "grid-timestep" in e.layouts],
)
def test_forward_backward_and_output_shape(name, layout, shape):
    entry = MODELS.get(name)
    task = GRID_TASKS[layout](shape)
    torch.manual_seed(0)
    net = entry.build(task, **entry.preset("small")["model"])
    batch = {
        "x": torch.randn(2, task.in_channels, *shape),
        "y": torch.randn(2, task.out_channels, *shape),
    }
    if entry.fitted:
        net.fit(batch["x"], batch["y"])
        assert count_parameters(net) == 0
    output = net(batch)
    assert output.shape == batch["y"].shape
    assert torch.isfinite(output).all()
    if not entry.fitted:
        output.square().mean().backward()
        grads = [p.grad for p in net.parameters() if p.requires_grad]
        assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


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


def test_checkpoint_rebuilds_the_model_without_the_script(tmp_path):
    task = grid_task((16, 16))
    entry = MODELS.get("fno")
    hp = {"n_modes": [8, 8], "hidden_channels": 8, "n_layers": 2, "domain_padding": 0.125}
    torch.manual_seed(1)
    surrogate = Surrogate(entry.build(task, **hp), 2, 1)
    surrogate.fit_normalizers(torch.randn(4, 2, 16, 16) * 3 + 1, torch.randn(4, 1, 16, 16))
    path = tmp_path / "best.safetensors"
    save_checkpoint(
        path,
        module_tensors(surrogate),
        {"model": "fno", "hyperparameters": hp, "task": task.to_dict()},
    )
    loaded = load_surrogate(path)
    batch = {"x": torch.randn(3, 2, 16, 16)}
    surrogate.eval()
    loaded.eval()
    assert torch.equal(surrogate(batch), loaded(batch))


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
