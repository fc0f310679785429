"""DeepONet and MultiONet: the Cartesian product, the trunk evaluated once per grid,
MultiONet's defining properties (G ≡ b_0 at initialisation, DeepONet's parameters + m)."""

import math
from itertools import pairwise

import pytest
import torch
from conftest import grid_task

from opbench.errors import ConfigError
from opbench.models import MODELS, Surrogate, count_parameters
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
from opbench.train.checkpoint import module_tensors, save_checkpoint

TINY = {"width": 8, "depth": 3, "conv_channels": [4, 8], "pool": 2}
TINY_MODELS = [(build_deeponet, TINY), (build_multionet, {**TINY, "m": 2})]


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


@pytest.mark.parametrize("name", ["deeponet", "multionet"])
def test_checkpoint_round_trip(name, tmp_path):
    """The trunk cache is no state: a reloaded model predicts the same, also after the
    loaded weights replace those of a model whose cache was already filled."""
    task = grid_task((16, 16))
    hp = {**TINY, "m": 2} if name == "multionet" else TINY
    torch.manual_seed(5)
    surrogate = Surrogate(MODELS.get(name).build(task, **hp), 2, 1)
    with torch.no_grad():
        for parameter in surrogate.parameters():
            parameter.normal_(0, 0.3)
    path = tmp_path / "best.safetensors"
    meta = {"model": name, "hyperparameters": hp, "task": task.to_dict()}
    save_checkpoint(path, module_tensors(surrogate), meta)
    batch = {"x": torch.randn(3, 2, 16, 16)}
    loaded = load_surrogate(path).eval()
    surrogate.eval()
    with torch.no_grad():
        assert torch.equal(loaded(batch), surrogate(batch))
        fresh = Surrogate(MODELS.get(name).build(task, **hp), 2, 1).eval()
        fresh(batch)  # fills the cache with the initial trunk
        fresh.load_state_dict(surrogate.state_dict())
        assert torch.equal(fresh(batch), surrogate(batch))
