"""The Poseidon-style scOT transformer: shapes at any H×W, padding, window clamping, the
shifted-window mask, SwinV2 attention, time conditioning, gradients, parameter counts."""

import math

import pytest
import torch
import torch.nn.functional as F
from conftest import grid_task

from opbench.config import TrainConfig
from opbench.models import MODELS, count_parameters
from opbench.models.scot import (
    ConditionalLayerNorm,
    SwinBlock,
    WindowAttention,
    padded_size,
    relative_position_inputs,
    shifted_window_mask,
    window_and_shift,
    window_partition,
)

TINY = {
    "embed_dim": 8,
    "depths": [2, 2],
    "num_heads": [1, 2],
    "window_size": 4,
    "patch_size": 4,
    "skip_blocks": [1, 0],
}


def build(shape, preset="small", **overrides):
    entry = MODELS.get("scot")
    return entry.build(grid_task(shape), **{**entry.preset(preset)["model"], **overrides})


def condition_on_time(net, generator):
    """Give every conditional LayerNorm non-zero weights on t."""
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, ConditionalLayerNorm):
                module.scale.weight.normal_(0, 0.5, generator=generator)
                module.shift.weight.normal_(0, 0.5, generator=generator)


@pytest.mark.parametrize("shape", [(16, 16), (64, 64), (66, 65), (17, 23)])
def test_small_preset_output_shape(shape):
    torch.manual_seed(0)
    net = build(shape)
    with torch.no_grad():
        output = net({"x": torch.randn(1, 2, *shape)})
    assert output.shape == (1, 1, *shape)
    assert torch.isfinite(output).all()


def test_padded_size_is_the_smallest_that_merges_and_windows_divide():
    patch, window, stages = 4, 8, 3
    step = patch * 2 ** (stages - 1)

    def fits(size):
        tokens = [size // patch // 2**s for s in range(stages)]
        return size % step == 0 and all(g <= window or g % window == 0 for g in tokens)

    for n in range(1, 200):
        size = padded_size(n, patch, window, stages)
        assert size >= n and fits(size)
        assert not any(fits(m) for m in range(n, size))
    assert padded_size(64, patch, window, stages) == 64  # 16 tokens: two windows of 8
    assert padded_size(16, patch, window, stages) == 16  # 4 tokens: the window is clamped
    assert padded_size(66, patch, window, stages) == 128  # 20 and 24 tokens do not fit


def test_window_is_clamped_to_the_token_grid_without_shift():
    assert window_and_shift((4, 4), 8, shifted=True) == ((4, 4), (0, 0))
    assert window_and_shift((16, 16), 8, shifted=True) == ((8, 8), (4, 4))
    assert window_and_shift((16, 16), 8, shifted=False) == ((8, 8), (0, 0))
    assert window_and_shift((4, 16), 8, shifted=True) == ((4, 8), (0, 4))
    with pytest.raises(ValueError, match="multiple of the window"):
        window_and_shift((12, 12), 8, shifted=False)

    # a 16² input with patch 4 is a 4×4 token grid: one 4×4 window, in every block
    net = build((16, 16))
    seen = []
    for stage in (net.encoder[0], net.decoder[0]):
        for block in stage:
            block.attention.register_forward_hook(
                lambda module, args, output: seen.append((args[0].shape[1:3], args[1], args[2]))
            )
    with torch.no_grad():
        net({"x": torch.randn(2, 2, 16, 16)})
    assert seen == [((1, 16), (4, 4), None)] * 4


def test_shifted_window_mask_blocks_attention_across_the_cyclic_wrap():
    height, width, window, shift = 8, 12, (4, 4), (2, 2)
    mask = shifted_window_mask(height, width, window, shift)
    assert mask.shape == (2 * 3, 16, 16)
    # rolled position (i, j) holds the token from ((i + s) mod H, (j + s) mod W)
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    rolled = torch.stack([rows, cols], -1).view(1, height, width, 2)
    original = torch.stack([(rows + shift[0]) % height, (cols + shift[1]) % width], -1)
    rolled = window_partition(rolled, window)[0]  # (nW, n, 2)
    original = window_partition(original.view(1, height, width, 2), window)[0]
    rolled_offset = rolled[:, :, None] - rolled[:, None, :]
    original_offset = original[:, :, None] - original[:, None, :]
    contiguous = (rolled_offset == original_offset).all(-1)  # no wrap between i and j
    assert torch.equal(mask, contiguous)
    assert mask[0].all()  # the first window holds no wrapped token
    assert not mask[-1].all()  # the last one holds tokens from all four corners


def test_shifted_block_never_mixes_tokens_across_the_wrap():
    torch.manual_seed(0)
    block = SwinBlock(dim=8, heads=2, window=4, shifted=True, mlp_ratio=4.0)
    t = torch.ones(1, 1)
    z = torch.randn(1, 8, 8, 8)
    bumped = z.clone()
    bumped[0, 0, 0] += 1.0
    with torch.no_grad():
        change = (block(bumped, t) - block(z, t)).abs().sum(-1)[0]
    # shift 2: (0, 0) and (7, 7) share the last rolled window but not a region;
    # (0, 0) and (1, 1) share both
    assert change[7, 7] == 0
    assert change[1, 1] > 0
    assert change[0, 0] > 0


def test_window_attention_is_swinv2_cosine_attention_with_position_bias():
    torch.manual_seed(0)
    dim, heads, window = 8, 2, (2, 3)
    attention = WindowAttention(dim, heads)
    with torch.no_grad():
        attention.logit_scale.copy_(torch.tensor([[[1.0]], [[9.0]]]))  # τ = e, 100 (clamped)
    windows = torch.randn(2, 3, 6, dim)
    mask = torch.rand(3, 6, 6) > 0.3
    mask |= torch.eye(6, dtype=torch.bool)
    output = attention(windows, window, mask)

    def split(z):
        return z.view(2, 3, 6, heads, dim // heads).transpose(2, 3)

    q, k, v = (split(layer(windows)) for layer in (attention.query, attention.key, attention.value))
    cosine = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-1, -2)
    temperature = torch.tensor([math.e, 100.0]).view(heads, 1, 1)
    table, index = relative_position_inputs(window)
    bias = 16 * torch.sigmoid(attention.position_mlp(table))[index].permute(2, 0, 1)
    scores = (temperature * cosine + bias).masked_fill(~mask[:, None], float("-inf"))
    expected = attention.projection((scores.softmax(-1) @ v).transpose(2, 3).reshape(2, 3, 6, dim))
    assert torch.allclose(output, expected, atol=1e-5)
    # log-spaced coordinates: offset w − 1 maps to 8, i.e. log2(9)/3
    assert torch.isclose(table.max(), torch.tensor(math.log2(9) / 3))
    assert table.shape == (3 * 5, 2) and index.shape == (6, 6)
    assert torch.equal(index.diagonal(), torch.full((6,), 7))  # the (0, 0) offset


def test_conditional_layer_norm():
    torch.manual_seed(0)
    norm = ConditionalLayerNorm(6)
    z = torch.randn(3, 4, 5, 6) * 3 + 1
    t = torch.tensor([[0.0], [0.5], [2.0]])
    with torch.no_grad():
        norm.scale.weight.zero_()
        norm.scale.bias.fill_(1.0)
        norm.shift.weight.zero_()
        norm.shift.bias.zero_()
    plain = F.layer_norm(z, (6,), eps=1e-5)
    assert torch.allclose(norm(z, t), plain, atol=1e-6)
    with torch.no_grad():
        norm.scale.weight.normal_()
        norm.shift.weight.normal_()
        norm.shift.bias.normal_()
    alpha = t * norm.scale.weight.view(1, 6) + norm.scale.bias
    beta = t * norm.shift.weight.view(1, 6) + norm.shift.bias
    expected = alpha.view(3, 1, 1, 6) * plain + beta.view(3, 1, 1, 6)
    assert torch.allclose(norm(z, t), expected, atol=1e-5)


def test_lead_time_conditions_the_output():
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    net = build((32, 32), **TINY)
    x = torch.randn(2, 2, 32, 32)

    def run(**batch):
        with torch.no_grad():
            return net({"x": x, **batch})

    # initialised as plain LayerNorms: t has no effect yet
    assert torch.allclose(run(t=torch.tensor([0.5, 2.0])), run(t=torch.tensor([3.0, 3.0])))
    condition_on_time(net, generator)
    early, late = run(t=torch.tensor([0.5, 0.5])), run(t=torch.tensor([2.0, 2.0]))
    assert (early - late).abs().mean() > 1e-3
    assert torch.equal(run(t=torch.tensor([[0.5], [0.5]])), early)  # (B, 1) as (B,)
    assert torch.equal(run(), run(t=torch.ones(2)))  # steady: the constant lead_time 1


def test_gradients_reach_every_parameter():
    generator = torch.Generator().manual_seed(1)
    torch.manual_seed(0)
    net = build((32, 32), **TINY)
    condition_on_time(net, generator)
    batch = {"x": torch.randn(2, 2, 32, 32), "t": torch.tensor([0.5, 1.5])}
    net(batch).square().mean().backward()
    for name, parameter in net.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all() and parameter.grad.abs().sum() > 0, name


def scot_parameters(c_in, c_out, embed, depths, heads, patch, skip_blocks, ratio=4):
    def norm(c):  # α, β = Linear(1 → c)
        return 4 * c

    def block(c, h):
        attention = 4 * c * c + 3 * c + h + (2 * 512 + 512) + 512 * h
        mlp = 2 * ratio * c * c + ratio * c + c
        return attention + mlp + 2 * norm(c)

    def convnext(c):
        return 49 * c + c + norm(c) + 8 * c * c + 4 * c + c + c

    dims = [embed * 2**s for s in range(len(depths))]
    total = c_in * embed * patch**2 + embed + norm(embed)  # embedding
    total += c_out * embed * patch**2 + c_out + 25 * c_out**2  # recovery and 5×5 mixing
    for s, c in enumerate(dims):
        total += 2 * depths[s] * block(c, heads[s]) + skip_blocks[s] * convnext(c)
        if s < len(dims) - 1:
            total += 8 * c * c + norm(2 * c)  # merging 4c → 2c
        if s > 0:
            total += 2 * c * c + (c // 2) ** 2 + norm(c // 2)  # unmerging c → 4 × c/2
    return total


@pytest.mark.parametrize("preset", ["small", "paper"])
def test_parameter_count_matches_closed_form(preset):
    entry = MODELS.get("scot")
    hp = entry.preset(preset)["model"]
    net = entry.build(grid_task((64, 64)), **hp)
    expected = scot_parameters(
        2, 1, hp["embed_dim"], hp["depths"], hp["num_heads"], hp["patch_size"], hp["skip_blocks"]
    )
    assert count_parameters(net) == expected
    if preset == "paper":  # Poseidon-T: ≈ 21 M
        assert 20e6 < expected < 22e6
    TrainConfig(**entry.preset(preset)["train"])
