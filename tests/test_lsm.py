"""LSM: device-agnostic basis buffer, checkpoints, any grid size, the Neural Spectral
Block, the trigonometric expansion, gradients to the latent tokens, parameter count."""

import math

import pytest
import torch
from conftest import grid_task

from opbench.models import MODELS, count_parameters
from opbench.models.lsm import NeuralSpectralBlock


def small_lsm(shape=(16, 16), in_channels=2, out_channels=1, **overrides):
    entry = MODELS.get("lsm")
    task = grid_task(shape, in_channels, out_channels)
    return entry.build(task, **{**entry.preset("small")["model"], **overrides})


def test_basis_buffer_moves_with_to_and_the_model_runs_on_cpu():
    torch.manual_seed(0)
    net = small_lsm()
    buffers = dict(net.named_buffers())
    frequencies = [name for name in buffers if name.endswith("frequencies")]
    assert len(frequencies) == 5  # one per U-Net level
    assert all(buffers[name].device.type == "cpu" for name in frequencies)
    # a constant of the hyperparameters, not a checkpointed tensor
    assert not any(name.endswith("frequencies") for name in net.state_dict())

    net.to(torch.float64)
    assert all(
        buffer.dtype == torch.float64 for buffer in net.buffers() if buffer.is_floating_point()
    )
    output = net({"x": torch.randn(2, 2, 16, 16, dtype=torch.float64)})
    assert output.dtype == torch.float64 and torch.isfinite(output).all()

    net.to("meta")
    assert all(buf.device.type == "meta" for buf in net.buffers())


@pytest.mark.parametrize("shape", [(16, 16), (64, 64), (66, 65), (37, 50)])
def test_output_shape_at_any_grid_size(shape):
    torch.manual_seed(0)
    net = small_lsm(shape, in_channels=3, out_channels=2)
    output = net({"x": torch.randn(2, 3, *shape)})
    assert output.shape == (2, 2, *shape)
    assert torch.isfinite(output).all()


def test_rectangular_patches():
    torch.manual_seed(0)
    net = small_lsm((20, 30), patch_size=[2, 3])
    assert net({"x": torch.randn(2, 2, 20, 30)}).shape == (2, 1, 20, 30)


def test_neural_spectral_block_preserves_shape_and_is_not_the_identity():
    torch.manual_seed(0)
    block = NeuralSpectralBlock(width=8, num_basis=12, patch_size=(2, 4), num_tokens=4, heads=4)
    x = torch.randn(3, 8, 6, 8)
    y = block(x)
    assert y.shape == x.shape
    assert (y - x).abs().max() > 1e-3


def test_neural_spectral_block_mixes_pixels_within_a_patch_only():
    torch.manual_seed(0)
    block = NeuralSpectralBlock(width=8, num_basis=12, patch_size=(4, 4), num_tokens=4, heads=2)
    x = torch.randn(1, 8, 8, 8)
    perturbed = x.clone()
    perturbed[..., 1, 2] += 1.0  # a pixel of the top-left patch
    change = (block(perturbed) - block(x)).abs().amax(dim=(0, 1))
    assert change[:4, :4].max() > 1e-4  # its own patch changes …
    assert change[4:, :].max() == 0 and change[:, 4:].max() == 0  # … and no other


def test_width_must_be_divisible_by_the_heads():
    with pytest.raises(ValueError, match="divisible"):
        NeuralSpectralBlock(width=12, num_basis=4, patch_size=(2, 2), num_tokens=2, heads=8)


def test_trigonometric_basis_matches_the_formula():
    # K = 3, z = 0.5: [sin(kπz/K)]_k = [sin 0, sin π/6, sin π/3],
    # [cos(kπz/K)]_k = [cos 0, cos π/6, cos π/3]
    block = NeuralSpectralBlock(width=2, num_basis=3, patch_size=(1, 1), num_tokens=1, heads=1)
    root3 = math.sqrt(3) / 2
    expected = torch.tensor([0.0, 0.5, root3, 1.0, root3, 0.5])
    assert torch.allclose(block.trigonometric_basis(torch.tensor(0.5)), expected, atol=1e-6)
    # z = −1, K = 3: sin(−kπ/3), cos(−kπ/3)
    expected = torch.tensor([0.0, -root3, -root3, 1.0, 0.5, -0.5])
    basis = block.trigonometric_basis(torch.tensor([[-1.0]]))
    assert basis.shape == (1, 1, 6)
    assert torch.allclose(basis[0, 0], expected, atol=1e-6)


def test_gradients_reach_the_latent_tokens_and_the_basis_weights():
    torch.manual_seed(0)
    net = small_lsm((32, 32))
    net({"x": torch.randn(2, 2, 32, 32)}).square().mean().backward()
    for name, parameter in net.named_parameters():
        if name.endswith(("latent", "weights")):
            assert parameter.grad is not None and parameter.grad.abs().max() > 0, name


def lsm_parameters(c_in, c_out, w, num_basis, num_tokens):
    """Closed form of the architecture in opbench/models/lsm.py."""

    def double(a, b, m):  # two bias-free 3×3 convs with batch norm (weight and bias)
        return 9 * a * m + 2 * m + 9 * m * b + 2 * b

    def block(c):  # basis weights, latent tokens, 1×1 key/value and query
        return c * 2 * num_basis + c * num_tokens + (c * 2 * c + 2 * c) + (c * c + c)

    widths = [w, 2 * w, 4 * w, 8 * w, 8 * w]
    total = (c_in + 2) * w + w  # lift
    total += sum(double(a, b, b) for a, b in zip([w, *widths[:-1]], widths, strict=True))
    decoders = [(16 * w, 4 * w, 8 * w), (8 * w, 2 * w, 4 * w), (4 * w, w, 2 * w), (2 * w, w, w)]
    total += sum(double(a, b, m) for a, b, m in decoders)
    total += sum(block(c) for c in widths)
    return total + (w * w + w) + (w * 128 + 128) + (128 * c_out + c_out)


@pytest.mark.parametrize("preset", ["small", "paper"])
def test_parameter_count_matches_the_closed_form(preset):
    entry = MODELS.get("lsm")
    hp = entry.preset(preset)["model"]
    net = entry.build(grid_task((64, 64)), **hp)
    expected = lsm_parameters(2, 1, hp["width"], hp["num_basis"], hp["num_tokens"])
    assert count_parameters(net) == expected


def test_paper_preset_has_the_reference_parameter_count():
    # models/LSM_2D.py of thuml/Latent-Spectral-Models, LSM2d(2, 1, width=64,
    # patch_size=[4, 4], num_basis=12, num_token=4): 19,187,521 parameters
    entry = MODELS.get("lsm")
    net = entry.build(grid_task((64, 64)), **entry.preset("paper")["model"])
    assert count_parameters(net) == 19_187_521


def test_small32_preset_needs_no_padding_at_32():
    """The 5-level small preset computes a 32² map as 64² (2⁴·patch 4 = 64); ``small32``
    (4 levels) needs no padding there: every level is a whole number of 4×4 patches."""
    task = grid_task((32, 32))
    entry = MODELS.get("lsm")
    sizes = {}
    for preset in ("small", "small32"):
        net = entry.build(task, **entry.preset(preset)["model"])
        seen: list[torch.Size] = []

        def record(module, args, out, seen=seen):
            seen.append(out.shape[-2:])

        net.encoders[0].register_forward_hook(record)
        assert net({"x": torch.randn(1, 2, 32, 32)}).shape == (1, 1, 32, 32)
        sizes[preset] = tuple(seen[0])
        assert net.scale * 4 == (64 if preset == "small" else 32)
    assert sizes == {"small": (64, 64), "small32": (32, 32)}
    small32 = entry.build(task, **entry.preset("small32")["model"])
    assert len(small32.encoders) == 4 and count_parameters(small32) == 307_153
