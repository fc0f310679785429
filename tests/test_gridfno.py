"""``fno_points``, FNO on point clouds through a grid: registration, shapes with padding,
padding nodes isolated, positions used, scatter and gather, gradients, checkpoints and a
tiny learning check."""

import math

import pytest
import torch

from opbench.errors import ConfigError
from opbench.models import MODELS, count_parameters
from opbench.tasks import TaskSpec

BOX = [-2.0, 4.0, -1.5, 1.5]
TASK = TaskSpec(
    name="full",
    layout="points",
    input_fields=("x", "y", "u_inf_cos", "u_inf_sin", "distance", "n_x", "n_y"),
    output_fields=("u", "v", "p", "nut"),
    spatial_shape=None,
    bounding_box=BOX,
    metrics=("mse",),
    primary_metric="mse",
)


@pytest.fixture(autouse=True)
def one_thread():
    """Small networks: intra-op threads only add OpenMP contention on a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build(preset: str = "small", seed: int = 0, task: TaskSpec = TASK, **overrides):
    entry = MODELS.get("fno_points")
    torch.manual_seed(seed)
    return entry.build(task, **{**entry.preset(preset)["model"], **overrides})


def random_batch(batch: int, points: int, seed: int = 1) -> dict[str, torch.Tensor]:
    """Nodes uniform in the box, random inputs, every node valid."""
    generator = torch.Generator().manual_seed(seed)
    low = torch.tensor([BOX[0], BOX[2]]).view(1, 2, 1)
    size = torch.tensor([BOX[1] - BOX[0], BOX[3] - BOX[2]]).view(1, 2, 1)
    pos = low + size * torch.rand(batch, 2, points, generator=generator)
    x = torch.randn(batch, 7, points, generator=generator)
    return {"x": x, "pos": pos, "valid": torch.ones(batch, 1, points)}


def test_registered_for_points_with_both_presets():
    entry = MODELS.get("fno_points")
    assert entry.layouts == ("points",)
    assert set(entry.presets) == {"small", "paper"}
    assert "Fourier Neural Operator" in entry.citation
    assert "through a grid (opbench)" in entry.citation
    small, paper = entry.preset("small")["train"], entry.preset("paper")["train"]
    assert (small["batch_size"], small["loss"], small["optimizer"]) == (1, "mse", "adamw")
    assert (paper["optimizer"], paper["lr"], paper["schedule"]) == ("adam", 1e-3, "onecycle")
    assert (paper["loss"], paper["batch_size"], paper["epochs"]) == (
        "mse",
        1,
        398,
    )  # the AirfRANS recipe
    with pytest.raises(ConfigError, match="points"):
        entry.check_layout("grid", "steady")


def test_preset_parameter_counts():
    small, paper = count_parameters(build("small")), count_parameters(build("paper"))
    assert (small, paper) == (325_668, 4_937_796)
    assert small < 400_000 < paper


def test_missing_or_bad_box_is_a_config_error():
    no_box = TASK.model_copy(update={"bounding_box": None})
    with pytest.raises(ConfigError, match="needs the task's bounding_box"):
        build(task=no_box)
    with pytest.raises(ValueError, match=r"bounding_box must be \(x_min, x_max, y_min, y_max\)"):
        TaskSpec(**{**TASK.to_dict(), "bounding_box": [0.0, 1.0, 2.0, 2.0]})
    with pytest.raises(ConfigError, match="n_modes"):
        build(n_modes=[64, 24])


def test_missing_positions_is_a_config_error():
    with pytest.raises(ConfigError, match="pos"):
        build().eval()({"x": torch.randn(1, 7, 10)})


@pytest.mark.parametrize(("batch", "points"), [(2, 500), (1, 20_000)])
def test_output_shape(batch, points):
    data = random_batch(batch, points)
    if batch == 2:
        data["valid"][1, :, -100:] = 0
    with torch.no_grad():
        out = build().eval()(data)
    assert out.shape == (batch, 4, points)
    assert torch.isfinite(out).all()


def test_padding_nodes_do_not_change_the_real_nodes():
    net = build().eval()
    data = random_batch(2, 500, seed=2)
    data["valid"][1, :, -100:] = 0
    changed = {key: value.clone() for key, value in data.items()}
    changed["x"][1, :, -100:] = 50 * torch.randn(7, 100)
    changed["pos"][1, :, -100:] = float("nan")  # padding may hold anything
    with torch.no_grad():
        out, out_changed = net(data), net(changed)
        unmasked = net({**changed, "valid": torch.ones(2, 1, 500), "pos": data["pos"]})
    torch.testing.assert_close(out_changed[0], out[0])
    torch.testing.assert_close(out_changed[1, :, :400], out[1, :, :400])
    assert torch.isfinite(out_changed).all()
    # counted as valid, the same change does reach the real nodes: the test is sensitive
    assert (unmasked[1, :, :400] - out[1, :, :400]).abs().max() > 1e-4


def test_outputs_depend_on_the_node_positions():
    """Same inputs, nodes moved: the cells and the sampled grid values change."""
    net = build().eval()
    data = random_batch(1, 400, seed=3)
    moved = {**data, "pos": data["pos"] * 0.9 + 0.05}
    with torch.no_grad():
        assert (net(moved) - net(data)).abs().max() > 1e-3


def test_scatter_averages_valid_nodes_and_flags_occupancy():
    net = build(grid=[3, 6], n_modes=[2, 2]).eval()
    # x_min + 0.5 lies in column 0, y_min + 0.5 in row 0 (cells of 1 × 1)
    pos = torch.tensor([[[-1.5, -1.5, 3.9, 0.0], [-1.0, -1.0, 1.4, 0.0]]])
    x = torch.arange(28.0).view(1, 7, 4)
    valid = torch.tensor([[[1.0, 1.0, 1.0, 0.0]]])
    grid = net.scatter(x, net.unit_coordinates(pos), valid > 0)
    assert grid.shape == (1, 8, 3, 6)
    torch.testing.assert_close(grid[0, :7, 0, 0], (x[0, :, 0] + x[0, :, 1]) / 2)
    torch.testing.assert_close(grid[0, :7, 2, 5], x[0, :, 2])
    occupancy = torch.zeros(3, 6)
    occupancy[0, 0] = occupancy[2, 5] = 1
    torch.testing.assert_close(grid[0, 7], occupancy)  # the invalid node at (0, 0) absent
    assert grid[0, :7].abs().sum() == grid[0, :7, 0, 0].abs().sum() + x[0, :, 2].sum()


def test_gather_is_bilinear_between_cell_centres():
    net = build(grid=[3, 6], n_modes=[2, 2])
    field = torch.arange(18.0).view(1, 1, 3, 6)  # value 6 i + j at the centre of cell (i, j)
    # centre of cell (1, 2), midway between (0, 0) and (0, 1), and a box corner
    pos = torch.tensor([[[0.5, -1.0, -2.0], [0.0, -1.0, -1.5]]])
    values = net.gather(field, net.unit_coordinates(pos))[0, 0]
    torch.testing.assert_close(values, torch.tensor([8.0, 0.5, 0.0]))


def test_without_head_the_output_is_the_sampled_grid_field():
    net = build(head=[]).eval()
    assert net.head is None
    data = random_batch(1, 300, seed=4)
    with torch.no_grad():
        assert net(data).shape == (1, 4, 300)


def test_gradients_reach_every_parameter():
    net = build().train()
    data = random_batch(2, 300, seed=5)
    data["valid"][0, :, 250:] = 0
    net(data).square().mean().backward()
    for name, parameter in net.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


def test_150_adam_steps_cut_the_error_on_a_smooth_field_fivefold():
    """y_c = sin(x)·cos(y) + c at random nodes of the box; inputs: the standardised
    position, a constant freestream and noise channels."""
    data = random_batch(1, 2000, seed=7)
    pos = data["pos"]
    data["x"][:, :2] = (pos - pos.mean(dim=2, keepdim=True)) / pos.std(dim=2, keepdim=True)
    data["x"][:, 2:4] = torch.tensor([1.0, 0.1]).view(1, 2, 1)
    field = torch.sin(pos[:, 0]) * torch.cos(pos[:, 1])
    y = torch.stack([field + c for c in (0.0, 0.5, -0.5, 1.0)], dim=1)
    net = build(seed=8).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)

    def mse() -> float:
        with torch.no_grad():
            return (net(data) - y).square().mean().item()

    initial = mse()
    for _ in range(150):
        optimizer.zero_grad()
        loss = (net(data) - y).square().mean()
        loss.backward()
        optimizer.step()
    final = mse()
    assert math.isfinite(final) and final < initial / 5, (initial, final)
