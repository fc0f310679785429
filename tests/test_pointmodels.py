"""The AirfRANS point-cloud baselines, ``mlp`` and ``pointnet``: shapes, the reference
parameter counts, permutation equivariance, masked points, gradients, checkpoints and a
tiny learning check."""

from itertools import pairwise

import pytest
import torch

from opbench.errors import ConfigError
from opbench.models import MODELS, count_parameters
from opbench.models.mlp import MLPBlock, PointBatchNorm
from opbench.tasks import TaskSpec

NAMES = ["mlp", "pointnet"]
TASK = TaskSpec(
    name="full",
    layout="points",
    input_fields=("x", "y", "u_inf_cos", "u_inf_sin", "distance", "n_x", "n_y"),
    output_fields=("u", "v", "p", "nu_t"),
    spatial_shape=None,
    metrics=("mse",),
    primary_metric="mse",
)


@pytest.fixture(autouse=True)
def one_thread():
    """These networks are tiny: intra-op threads only add OpenMP contention on a shared CPU
    (measured: a training step 25× slower with two threads than with one)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build(name: str, preset: str = "paper", seed: int = 0) -> torch.nn.Module:
    entry = MODELS.get(name)
    torch.manual_seed(seed)
    return entry.build(TASK, **entry.preset(preset)["model"])


def linear(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def block(*widths: int) -> int:
    return sum(linear(a, b) for a, b in pairwise(widths))


def test_registered_for_points_only_with_both_presets():
    for name in NAMES:
        entry = MODELS.get(name)
        assert entry.layouts == ("points",)
        assert set(entry.presets) == {"small", "paper"}
        assert entry.preset("paper")["train"]["batch_size"] == 1
        assert "AirfRANS" in entry.citation
        with pytest.raises(ConfigError, match="points"):
            entry.check_layout("grid", "steady")
    assert "PointNet" in MODELS.get("pointnet").citation


def test_parameter_counts_match_the_reference_architectures():
    # encoder [7,64,64,8], main MLP [8,64,64,64,8] + 3 batch norms, decoder [8,64,64,4]
    mlp = block(7, 64, 64, 8) + block(8, 64, 64, 64, 8) + 3 * 2 * 64 + block(8, 64, 64, 4)
    # base 8: local [8,8,16], global [16,32,64,256], head [272,128,64,32], Linear(32, 8)
    pointnet = (
        block(7, 64, 64, 8)
        + block(8, 8, 16)
        + block(16, 32, 64, 256)
        + block(272, 128, 64, 32)
        + linear(32, 8)
        + block(8, 64, 64, 4)
    )
    assert (mlp, pointnet) == (19_988, 75_244)
    for preset in ("small", "paper"):
        assert count_parameters(build("mlp", preset)) == mlp
        assert count_parameters(build("pointnet", preset)) == pointnet


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("batch", "points"), [(2, 100), (1, 5000)])
def test_output_shape(name, batch, points):
    net = build(name).eval()
    with torch.no_grad():
        out = net({"x": torch.randn(batch, 7, points), "y": torch.zeros(batch, 4, points)})
    assert out.shape == (batch, 4, points)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("masked", [False, True])
def test_permuting_the_points_permutes_the_outputs(name, masked):
    net = build(name).eval()
    torch.manual_seed(1)
    x = torch.randn(2, 7, 300)
    perm = torch.randperm(300)
    batch = {"x": x}
    permuted = {"x": x[..., perm]}
    if masked:
        mask = (torch.rand(2, 1, 300) > 0.3).float()
        batch["mask"], permuted["mask"] = mask, mask[..., perm]
    with torch.no_grad():
        torch.testing.assert_close(net(permuted), net(batch)[..., perm], rtol=1e-5, atol=1e-5)


def test_pointnet_global_feature_is_invariant_to_the_point_order():
    net = build("pointnet").eval()
    local = torch.randn(3, 400, 16)
    perm = torch.randperm(400)
    with torch.no_grad():
        g = net.global_feature(local)
        torch.testing.assert_close(net.global_feature(local[:, perm]), g)
    assert g.shape == (3, 256)


@pytest.mark.parametrize("name", NAMES)
def test_masked_points_do_not_change_the_other_points(name):
    """PointNet's max-pool (and the MLP's batch-norm statistics) skip masked points."""
    net = build(name).eval()
    torch.manual_seed(2)
    x = torch.randn(2, 7, 200)
    mask = torch.ones(2, 1, 200)
    mask[:, :, 150:] = 0
    changed = x.clone()
    changed[..., 150:] = 50 * torch.randn(2, 7, 50)
    with torch.no_grad():
        out = net({"x": x, "mask": mask})
        out_changed = net({"x": changed, "mask": mask})
        unmasked = net({"x": changed})
    torch.testing.assert_close(out_changed[..., :150], out[..., :150], rtol=1e-5, atol=1e-5)
    # without the mask the same change does reach the other points: the test is sensitive
    assert (unmasked[..., :150] - out[..., :150]).abs().max() > 1e-4


def test_point_batch_norm_is_the_references_batch_norm_on_each_simulation():
    """Per sample, the reference's BatchNorm1d(track_running_stats=False) on that sample's
    points (its batches hold one simulation), in training and evaluation; with a mask, on
    the unmasked points alone. Samples do not influence each other."""
    torch.manual_seed(3)
    h = torch.randn(2, 50, 6) * 3 + 1
    h[1] = h[1] * 5 - 2  # a second simulation with other statistics
    ours = PointBatchNorm(6)
    with torch.no_grad():
        ours.weight.uniform_(0.5, 2)
        ours.bias.normal_()
    reference = torch.nn.BatchNorm1d(6, track_running_stats=False)
    reference.load_state_dict(ours.state_dict())
    for mode in (True, False):
        ours.train(mode)
        reference.train(mode)
        for b in range(2):
            torch.testing.assert_close(ours(h)[b], reference(h[b]))
    mask = torch.rand(2, 50, 1) > 0.4
    for b in range(2):
        kept = h[b][mask[b, :, 0]]
        torch.testing.assert_close(ours(h, mask)[b][mask[b, :, 0]], reference(kept))


def test_mlp_block_follows_the_reference_layer_order():
    """Linear, then (norm →) ReLU → Linear per further layer, last layer not activated."""
    torch.manual_seed(4)
    mlp = MLPBlock([3, 5, 4, 2])
    v = torch.randn(1, 7, 3)
    first, second, third = mlp.layers
    expected = third(torch.relu(second(torch.relu(first(v)))))
    torch.testing.assert_close(mlp(v), expected)


def test_mlp_without_batch_norm_is_strictly_point_wise():
    entry = MODELS.get("mlp")
    net = entry.build(TASK, **{**entry.preset("paper")["model"], "batch_norm": False}).eval()
    x = torch.randn(1, 7, 64)
    with torch.no_grad():
        whole = net({"x": x})
        alone = torch.cat([net({"x": x[..., n : n + 1]}) for n in range(64)], dim=-1)
    torch.testing.assert_close(alone, whole)


@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_every_parameter(name):
    net = build(name).train()
    mask = torch.ones(2, 1, 120)
    mask[0, :, 100:] = 0
    out = net({"x": torch.randn(2, 7, 120), "mask": mask})
    out.square().mean().backward()
    for parameter_name, parameter in net.named_parameters():
        assert parameter.grad is not None, parameter_name
        assert torch.isfinite(parameter.grad).all(), parameter_name
        assert parameter.grad.abs().sum() > 0, parameter_name


def synthetic_points(samples: int, points: int) -> tuple[torch.Tensor, torch.Tensor]:
    """x ~ N(0, 1) (B, 7, N); four outputs y (B, 4, N) of the form sin(x_i) + x_j·x_k."""
    generator = torch.Generator().manual_seed(5)
    x = torch.randn(samples, 7, points, generator=generator)
    triples = [(0, 1, 2), (3, 4, 5), (6, 0, 3), (1, 5, 6)]
    y = torch.stack([torch.sin(x[:, i]) + x[:, j] * x[:, k] for i, j, k in triples], dim=1)
    return x, y


def test_pointnet_head_equals_the_reference_concatenation():
    """W [l_n; g] + c evaluated as W_l l_n + (W_g g + c): the reference forward, which
    repeats g at every point and concatenates, gives the same output."""
    net = build("pointnet").eval()
    x = torch.randn(2, 7, 90)
    with torch.no_grad():
        local = net.local(net.encoder(x.transpose(1, 2)))
        g = net.global_block(local).amax(dim=1, keepdim=True).expand(-1, 90, -1)
        z = net.head(torch.cat([local, g], dim=-1))
        expected = net.decoder(net.project(z)).transpose(1, 2)
        torch.testing.assert_close(net({"x": x}), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_a_few_hundred_adam_steps_cut_the_training_error_fivefold(name):
    x, y = synthetic_points(2, 128)
    net = build(name, seed=6).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)

    def mse() -> float:
        with torch.no_grad():
            return (net({"x": x}) - y).square().mean().item()

    initial = mse()
    for _ in range(400):
        optimizer.zero_grad()
        loss = (net({"x": x}) - y).square().mean()
        if loss.item() < initial / 10:  # the loss is the training MSE before this step
            break
        loss.backward()
        optimizer.step()
    assert mse() < initial / 5
