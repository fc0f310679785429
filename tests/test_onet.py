"""DeepONet and MultiONet: the Cartesian product, the trunk evaluated once per grid,
MultiONet's defining properties (G ≡ b_0 at initialisation, DeepONet's parameters + m), and
the points layout (constant channels in the branch, per-sample coordinates in the trunk)."""

import math
from itertools import pairwise

import pytest
import torch
from conftest import grid_task

from opbench.checkpoint import CheckpointMeta
from opbench.config import TrainConfig
from opbench.data.base import SampleSet
from opbench.errors import ConfigError
from opbench.eval.metrics import METRICS
from opbench.models import MODELS, build_surrogate, count_parameters
from opbench.models.deeponet import DeepONet, build_deeponet
from opbench.models.multionet import MultiONet, build_multionet
from opbench.models.onet import (
    SiLUId,
    SiLUSin,
    grid_coordinates,
    make_activation,
    trunk_net,
    vector_branch,
)
from opbench.models.surrogate import load_surrogate
from opbench.tasks import TaskSpec
from opbench.train.trainer import Trainer, seed_everything

TINY = {"width": 8, "depth": 3, "conv_channels": [4, 8], "pool": 2}
TINY_M = {**TINY, "m": 2}
TINY_MODELS = [(build_deeponet, TINY), (build_multionet, TINY_M)]


def deeponet_parameters(c_in, c_out, width, depth, p, conv_channels, pool):
    """Closed form: 3×3 convs, branch MLP (C_out·width hidden, C_out·p out), trunk MLP on
    (x, y) (width hidden, p out), C_out output biases."""

    def linear(n_in, n_out):
        return n_in * n_out + n_out

    total, channels = 0, c_in
    for c in conv_channels:
        total += 9 * channels * c + c
        channels = c
    branch = [channels * pool * pool] + [c_out * width] * (depth - 1) + [c_out * p]
    trunk = [2] + [width] * (depth - 1) + [p]
    for sizes in (branch, trunk):
        total += sum(linear(a, b) for a, b in pairwise(sizes))
    return total + c_out


def test_activations_follow_the_reference_formulas():
    v = torch.linspace(-3, 3, 101)
    silu = torch.nn.functional.silu
    assert torch.allclose(SiLUSin()(v), silu(torch.sin(math.pi * (v + 1))) + v)
    assert torch.allclose(SiLUId()(v), silu(v) + v)
    # v = −0.5: sin(π/2) = 1 and SiLU(1) = σ(1) = 0.7310586
    assert SiLUSin()(torch.tensor(-0.5)).item() == pytest.approx(0.7310586 - 0.5, abs=1e-6)
    with pytest.raises(ConfigError, match="silu_sin"):
        make_activation("silu_sine")


def test_grid_coordinates_run_x_along_axis_0():
    coords = grid_coordinates((3, 5), torch.device("cpu"), torch.float32)
    assert coords.shape == (15, 2)
    i, j = 2, 3
    assert coords[i * 5 + j].tolist() == pytest.approx([i / 2, j / 4])


@pytest.mark.parametrize("out_channels", [1, 2])
@pytest.mark.parametrize("name", ["deeponet", "multionet"])
def test_parameter_count_matches_closed_form(name, out_channels):
    """MultiONet at width = p is the DeepONet plus its m·C_out layer weights."""
    for preset in ("small", "paper"):
        hp = MODELS.get(name).preset(preset)["model"]
        net = MODELS.get(name).build(grid_task((64, 64), 2, out_channels), **hp)
        shared = {k: hp[k] for k in ("width", "depth", "conv_channels", "pool")}
        expected = deeponet_parameters(2, out_channels, p=hp.get("p", hp["width"]), **shared)
        extra = hp["m"] * out_channels if name == "multionet" else 0
        assert count_parameters(net) == expected + extra


@pytest.mark.parametrize("out_channels", [1, 3])
def test_multionet_has_the_deeponet_parameters_plus_m(out_channels):
    task = grid_task((16, 16), 2, out_channels)
    for m in (1, 2):
        multionet = build_multionet(task, m=m, **TINY)
        deeponet = build_deeponet(task, p=TINY["width"], **TINY)
        assert count_parameters(multionet) == count_parameters(deeponet) + m * out_channels
        # the same branch, trunk and bias: only the head differs
        shapes = {k: v.shape for k, v in deeponet.state_dict().items()}
        assert {k: v.shape for k, v in multionet.state_dict().items() if k in shapes} == shapes
        assert multionet.layer_weights.numel() == m * out_channels


@pytest.mark.parametrize("out_channels", [1, 2])
def test_multionet_output_is_the_bias_at_initialisation(out_channels):
    torch.manual_seed(0)
    net = build_multionet(grid_task((16, 16), 2, out_channels), **TINY, m=2)
    x = torch.randn(3, 2, 16, 16) * 5
    assert torch.equal(net({"x": x}), torch.zeros(3, out_channels, 16, 16))
    with torch.no_grad():
        net.bias.copy_(torch.tensor([0.37, -1.25][:out_channels]))
    expected = net.bias.detach()[None, :, None, None].expand(3, out_channels, 16, 16)
    assert torch.equal(net({"x": x}), expected)


def test_multionet_is_the_weighted_mean_of_the_last_m_inner_products():
    torch.manual_seed(1)
    net = build_multionet(grid_task((5, 4), 2, 2), width=6, depth=4, m=3, conv_channels=[4])
    with torch.no_grad():
        net.layer_weights.normal_()
        net.bias.normal_()
    x = torch.randn(2, 2, 5, 4)
    coords = grid_coordinates((5, 4), x.device, x.dtype)
    b = net.branch.states(x)  # L states (2, 2·6)
    t = net.trunk.states(coords)  # L states (20, 6)
    expected = torch.zeros(2, 2, 20)
    for layer in (1, 2, 3):  # the last m = 3 of L = 4 layers
        for c in range(2):
            s = b[layer][:, c * 6 : (c + 1) * 6] @ t[layer].T  # ⟨b_c^(l), t^(l)⟩
            expected[:, c] += net.layer_weights[layer - 1, c] * s / 3
    expected += net.bias[None, :, None]
    assert torch.allclose(net({"x": x}), expected.reshape(2, 2, 5, 4), atol=1e-5)


def test_multionet_needs_m_below_the_depth():
    with pytest.raises(ValueError, match="m < L"):
        build_multionet(grid_task((16, 16)), width=8, depth=3, m=3, conv_channels=[4])


@pytest.mark.parametrize("out_channels", [1, 2])
def test_deeponet_cartesian_product_equals_a_loop_over_points(out_channels):
    torch.manual_seed(2)
    shape, p = (3, 4), 5
    net = build_deeponet(grid_task(shape, 2, out_channels), width=6, depth=2, p=p, pool=2)
    with torch.no_grad():
        net.bias.normal_()
    x = torch.randn(2, 2, *shape)
    coefficients = net.branch.states(x)[-1]  # (B, C_out·p)
    output = net({"x": x})
    for i in range(shape[0]):
        for j in range(shape[1]):
            point = torch.tensor([[i / (shape[0] - 1), j / (shape[1] - 1)]])
            basis = net.trunk(point)[0]  # t(x_i, y_j) ∈ R^p
            for c in range(out_channels):
                value = coefficients[:, c * p : (c + 1) * p] @ basis + net.bias[c]
                assert torch.allclose(output[:, c, i, j], value, atol=1e-5)


def test_deeponet_evaluates_the_trunk_once_per_grid_and_reuses_it():
    net = build_deeponet(grid_task((16, 16)), width=8, depth=3, p=8, conv_channels=[4])
    calls = []
    net.trunk.layers[0].register_forward_hook(lambda module, args, out: calls.append(args[0].shape))
    x = torch.randn(4, 2, 16, 16)
    net({"x": x}).sum().backward()  # training: once per forward, on the H·W points
    assert calls == [(256, 2)]
    net.eval()
    with torch.no_grad():
        first = net.grid_trunk_states((16, 16), x.device, x.dtype)
        net({"x": x})
        net({"x": torch.randn(2, 2, 16, 16)})
        again = net.grid_trunk_states((16, 16), x.device, x.dtype)
        assert all(a is b for a, b in zip(first, again, strict=True))
        assert len(calls) == 2
        next(net.trunk.parameters()).add_(0.1)  # a trunk update invalidates the cache
        net({"x": x})
        net({"x": x})
        assert len(calls) == 3
        net({"x": torch.randn(1, 2, 8, 12)})  # another grid
        assert len(calls) == 4 and calls[-1] == (96, 2)


@pytest.mark.parametrize(("build", "hp"), TINY_MODELS)
def test_forward_points_on_arbitrary_coordinates(build, hp):
    torch.manual_seed(3)
    net = build(grid_task((16, 16), 2, 3), **hp)
    x = torch.randn(2, 2, 16, 16)
    assert net.forward_points(x, torch.rand(37, 2)).shape == (2, 3, 37)
    on_grid = net.forward_points(x, grid_coordinates((16, 16), x.device, x.dtype))
    assert torch.allclose(on_grid.reshape(2, 3, 16, 16), net({"x": x}))


@pytest.mark.parametrize("head", [DeepONet, MultiONet])
def test_vector_branch_and_space_time_queries(head):
    """Case parameters (B, F) in the branch, (t, x, y) queries in the trunk."""
    c_out, width = 2, 8
    branch = vector_branch(5, [c_out * width] * 3, "silu_id")
    trunk = trunk_net(3, [width] * 3, "silu_sin")
    net = head(branch, trunk, c_out) if head is DeepONet else head(branch, trunk, c_out, m=2)
    assert net.forward_points(torch.randn(4, 5), torch.rand(50, 3)).shape == (4, c_out, 50)


@pytest.mark.parametrize(("build", "hp"), TINY_MODELS)
def test_output_shape_on_an_odd_grid(build, hp):
    net = build(grid_task((66, 65), 2, 3), **hp)
    assert net({"x": torch.randn(2, 2, 66, 65)}).shape == (2, 3, 66, 65)


def first_weights(net):
    return net.branch.encoder.net[0].weight, net.trunk.layers[0].weight


def test_gradient_reaches_branch_and_trunk():
    torch.manual_seed(4)
    deeponet = build_deeponet(grid_task((16, 16)), **TINY)
    deeponet({"x": torch.randn(2, 2, 16, 16)}).square().mean().backward()
    assert all(w.grad.abs().sum() > 0 for w in first_weights(deeponet))

    multionet = build_multionet(grid_task((16, 16)), **TINY, m=2)
    x = torch.randn(2, 2, 16, 16)
    (multionet({"x": x}) - 1).square().mean().backward()
    # w_l = 0 at initialisation: only the layer weights and the bias get a gradient
    assert all(torch.equal(w.grad, torch.zeros_like(w)) for w in first_weights(multionet))
    assert multionet.layer_weights.grad.abs().sum() > 0 and multionet.bias.grad.abs() > 0
    multionet.zero_grad()
    with torch.no_grad():
        multionet.layer_weights.fill_(1.0)
    (multionet({"x": x}) - 1).square().mean().backward()
    assert all(w.grad.abs().sum() > 0 for w in first_weights(multionet))


# --- points layout ---------------------------------------------------------------------

POINT_MODELS = [(build_deeponet, {"width": 8, "depth": 3, "p": 6}), (build_multionet, TINY_M)]


def points_task(input_fields, coordinate_fields, out_channels=1) -> TaskSpec:
    return TaskSpec(
        name="points",
        layout="points",
        input_fields=tuple(input_fields),
        output_fields=tuple(f"out{i}" for i in range(out_channels)),
        coordinate_fields=tuple(coordinate_fields),
    )


# CFDBench-like: case parameters interleaved with the (t, x, y) coordinates
MIXED_FIELDS = ("vel", "t", "rho", "x", "y")
MIXED_COORDINATES = ("t", "x", "y")


def points_input(constants, coordinates):
    """x (B, F + d, N): the constants (B, F) repeated at every point, then the
    coordinates (B, N, d) as channels."""
    n = coordinates.shape[1]
    return torch.cat([constants[:, :, None].expand(-1, -1, n), coordinates.transpose(1, 2)], 1)


def mixed_input(batch, n, generator=None):
    """x (B, 5, N) in MIXED_FIELDS order: per-sample constants vel, rho, per-sample random
    coordinates t, x, y."""
    constants = torch.randn(batch, 2, generator=generator)
    coordinates = torch.rand(batch, n, 3, generator=generator)
    x = points_input(constants, coordinates)  # vel, rho, t, x, y
    return x[:, [0, 2, 1, 3, 4]]


def with_random_head(net):
    """Nonzero bias and (MultiONet) layer weights, so that every output depends on both nets."""
    with torch.no_grad():
        net.bias.normal_()
        if isinstance(net, MultiONet):
            net.layer_weights.normal_()
    return net


def test_branch_trunk_models_support_the_points_layout():
    for name in ("deeponet", "multionet"):
        assert MODELS.get(name).layouts == ("grid", "grid-timestep", "points")


@pytest.mark.parametrize("out_channels", [1, 2])
@pytest.mark.parametrize(("build", "hp"), POINT_MODELS)
def test_points_output_shape_with_per_sample_coordinates(build, hp, out_channels):
    torch.manual_seed(6)
    net = build(points_task(MIXED_FIELDS, MIXED_COORDINATES, out_channels), **hp)
    assert net.points.branch == (0, 2) and net.points.coordinates == (1, 3, 4)
    assert net.branch.mlp.layers[0].in_features == 2 and net.trunk.layers[0].in_features == 3
    x = mixed_input(3, 50)
    assert not torch.equal(x[0, 1], x[1, 1])  # each sample has its own points
    assert net({"x": x}).shape == (3, out_channels, 50)


def test_points_presets_build_and_ignore_the_grid_hyperparameters():
    task = points_task(MIXED_FIELDS, MIXED_COORDINATES, 2)
    x = mixed_input(2, 7)
    for name in ("deeponet", "multionet"):
        for preset in ("small", "paper"):
            hp = MODELS.get(name).preset(preset)["model"]
            net = MODELS.get(name).build(task, **hp)
            assert net({"x": x}).shape == (2, 2, 7)
            assert not any(isinstance(m, torch.nn.Conv2d) for m in net.modules())


@pytest.mark.parametrize(("build", "hp"), POINT_MODELS)
def test_points_on_the_grid_points_equal_the_branch_trunk_formula(build, hp):
    """Branch input a (B, F), queries the H·W grid points in the grid path's order: the
    points path is (1/m) Σ_l w_{l,c} ⟨b_c^(l)(a), t^(l)(x_n)⟩ + b_{0,c} (DeepONet: m = 1,
    w = 1, the last layer), computed here from the branch and trunk modules."""
    torch.manual_seed(7)
    c_out, shape = 2, (5, 4)
    net = with_random_head(build(points_task(("a0", "a1", "x", "y"), ("x", "y"), c_out), **hp))
    a = torch.randn(3, 2)
    coords = grid_coordinates(shape, a.device, a.dtype)  # (20, 2)
    output = net({"x": points_input(a, coords.expand(3, -1, -1))})

    branch, trunk = net.branch.states(a), net.trunk.states(coords)
    if isinstance(net, MultiONet):
        layers, weights = range(1, 3), net.layer_weights  # the last m = 2 of L = 3
    else:
        layers, weights = [2], torch.ones(1, c_out)
    expected = torch.zeros(3, c_out, 20)
    for k, layer in enumerate(layers):
        p = trunk[layer].shape[-1]
        for c in range(c_out):
            inner = branch[layer][:, c * p : (c + 1) * p] @ trunk[layer].T  # (B, N)
            expected[:, c] += weights[k, c] * inner / len(layers)
    expected += net.bias[None, :, None]
    assert torch.allclose(output, expected, atol=1e-6)
    assert torch.allclose(output, net.forward_points(a, coords), atol=1e-6)


@pytest.mark.parametrize(("build", "hp"), POINT_MODELS)
def test_points_outputs_follow_each_sample_s_own_points(build, hp):
    """Permuting the points of one sample permutes its outputs and leaves the others."""
    torch.manual_seed(8)
    net = with_random_head(build(points_task(MIXED_FIELDS, MIXED_COORDINATES, 2), **hp))
    x = mixed_input(3, 50)
    permutation = torch.randperm(50)
    permuted = x.clone()
    permuted[1] = x[1][:, permutation]
    with torch.no_grad():
        before, after = net({"x": x}), net({"x": permuted})
    assert torch.allclose(after[1], before[1][:, permutation], atol=1e-6)
    assert not torch.allclose(after[1], before[1], atol=1e-3)
    assert torch.equal(after[[0, 2]], before[[0, 2]])


@pytest.mark.parametrize(("build", "hp"), POINT_MODELS)
def test_points_gradient_reaches_branch_and_trunk(build, hp):
    torch.manual_seed(9)
    net = with_random_head(build(points_task(MIXED_FIELDS, MIXED_COORDINATES), **hp))
    net({"x": mixed_input(3, 20)}).square().mean().backward()
    for weight in (net.branch.mlp.layers[0].weight, net.trunk.layers[0].weight):
        assert weight.grad is not None and weight.grad.abs().sum() > 0


@pytest.mark.parametrize("build", [build_deeponet, build_multionet])
@pytest.mark.parametrize(
    ("task", "message"),
    [
        (points_task(("a", "x"), ()), "declares no coordinate_fields"),
        (points_task(("t", "x"), ("t", "x")), "leaves the branch no input"),
    ],
)
def test_points_task_without_usable_coordinate_fields_is_a_config_error(build, task, message):
    with pytest.raises(ConfigError, match=message):
        build(task, width=8, depth=3)


@pytest.mark.parametrize(
    ("coordinates", "message"),
    [(("x", "z"), r"\['z'\] are not input fields"), (("x", "x"), "repeats a name")],
)
def test_the_task_contract_refuses_bad_coordinate_fields(coordinates, message):
    with pytest.raises(ValueError, match=message):
        points_task(("a", "x"), coordinates)


def test_timestep_tasks_take_the_grid_path():
    task = TaskSpec(
        name="rollout",
        layout="grid-timestep",
        input_fields=("u", "v"),
        output_fields=("u",),
        spatial_shape=(8, 8),
    )
    net = build_deeponet(task, width=8, depth=3, p=8, conv_channels=[4], pool=2)
    grid = build_deeponet(
        task.model_copy(update={"layout": "grid"}), width=8, depth=3, p=8, conv_channels=[4], pool=2
    )
    grid.load_state_dict(net.state_dict())
    x = torch.randn(2, 2, 8, 8)
    assert torch.equal(net({"x": x}), grid({"x": x}))


def separable_points(n_samples, n_points, generator):
    """u(t, x, y; a) = a sin(πx) cos(πy) exp(−t), a ~ U[0.5, 2] per sample, (t, x, y) ~
    U[0, 1]³ per point."""
    a = 0.5 + 1.5 * torch.rand(n_samples, 1, generator=generator)
    coordinates = torch.rand(n_samples, n_points, 3, generator=generator)
    t, x, y = coordinates.unbind(-1)
    u = a * torch.sin(math.pi * x) * torch.cos(math.pi * y) * torch.exp(-t)
    return SampleSet({"x": points_input(a, coordinates), "y": u[:, None]})


def test_deeponet_learns_a_separable_points_task(tmp_path):
    generator = torch.Generator().manual_seed(10)
    train, val = separable_points(64, 64, generator), separable_points(16, 64, generator)
    task = points_task(("a", "t", "x", "y"), ["t", "x", "y"])  # a list, as JSON reloads it
    mean_prediction = train.tensors["y"].mean(0, keepdim=True).expand_as(val.tensors["y"])
    mean_error = METRICS.get("rel_l2")(mean_prediction, val.tensors).mean().item()
    assert mean_error > 0.9  # cos(πy) averages out: the mean field explains almost nothing

    seed_everything(0)
    hp = {"width": 32, "depth": 3, "p": 32}
    surrogate = build_surrogate("deeponet", task, hp)
    trainer = Trainer(
        surrogate,
        TrainConfig(epochs=8, batch_size=8, lr=3e-3),
        metric=METRICS.get("rel_l2"),
        checkpoint_dir=tmp_path,
        model_meta=CheckpointMeta(
            model="deeponet", hyperparameters=hp, task=task, opbench_version="test"
        ),
        seed=0,
        device=torch.device("cpu"),
        progress=False,
    )
    result = trainer.fit(train, val)
    assert result.status == "ok"
    assert result.best_val < 0.5 * mean_error
    # the checkpoint rebuilds the points model from its stored task alone
    loaded = load_surrogate(tmp_path / "best.safetensors").eval()
    prediction = loaded({"x": val.tensors["x"]})
    assert METRICS.get("rel_l2")(prediction, val.tensors).mean().item() == pytest.approx(
        result.best_val, rel=1e-5
    )
