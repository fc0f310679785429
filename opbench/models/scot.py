"""Poseidon-style transformer: the scOT architecture, trained from scratch (no pretraining).

Herde, Raonić, Rohner, Käppeli, Molinaro, de Bézenac, Mishra, "Poseidon: Efficient
Foundation Models for PDEs", NeurIPS 2024; reference code ``scOT/model.py`` of
camlab-ethz/poseidon (built on Hugging Face's SwinV2). Reimplemented here in plain torch.

Architecture (tokens kept channels-last, (B, h, w, C)), with p the patch size and S stages
of widths C_s = C·2^s:

    embedding   z = LN(Conv_{p×p, stride p}(x); t)
    encoder     stage s: d_s shifted-window blocks; skip_s = their output;
                z ← Merge(skip_s + stage input)                 (s < S − 1)
    skips       skip_s ← ConvNeXt^{n_s}(skip_s)                 (``skip_blocks`` n_s)
    decoder     z = skip_{S−1}; level s = S−1, …, 0: z ← z + skip_s (s < S − 1),
                d_s blocks, z ← Unmerge(z) (s > 0)
    recovery    y = Conv_{5×5}(ConvTranspose_{p×p, stride p}(z))

Shifted-window block (SwinV2 "res-post-norm"; windows shifted by ⌊w/2⌋ in every other
block, encoder blocks starting unshifted, decoder blocks mirrored)::

    z ← z + LN(W-MSA(z); t),   z ← z + LN(MLP(z); t),   MLP = Linear(C, 4C) ∘ GELU ∘ Linear(4C, C)

Window attention is SwinV2's (Liu et al., CVPR 2022), as in the reference: scaled cosine
attention with a continuous, log-spaced relative position bias,

    A_h = softmax(τ_h cos(q_i, k_j) + 16 σ(MLP_h(Δ̂_ij)) + M_ij),  τ_h = exp(min(θ_h, log 100)),
    Δ̂ = sign(8Δ/(w − 1)) · log₂(1 + |8Δ/(w − 1)|) / log₂ 8,

Δ the relative offset of tokens i, j in their window and M the mask of the cyclic shift
(−∞ between tokens that the roll brought together from opposite edges of the grid). The
bias MLP (2 → 512 → heads) has no window-sized table, so one set of weights serves every
window size and resolution.

Time conditioning: every LayerNorm is conditional on the lead time t,
``LN(z; t) = α(t) ⊙ (z − μ)/√(σ² + ε) + β(t)`` with α, β = Linear(1 → C)(t). Batches without
``"t"`` (steady tasks) use the constant ``lead_time``.

Any H×W: the input is zero-padded (bottom and right) to the smallest size that the patch
embedding and the S − 1 patch merges divide and on which every stage's token grid is either
a multiple of the window or no larger than it (:func:`padded_size`); the window is clamped
to the token grid at each stage (no shift where one window covers an axis) and the output
is cropped back before the 5×5 mixing convolution.

Differences from the reference: it resamples every input to one square size by Fourier
interpolation, opbench pads and crops instead; it uses plain LayerNorms on steady problems,
opbench conditional ones at a constant t (the same function, with C extra parameters per
norm); its conditional norms start from N(0, 0.02²) weights and zero biases (α(t) ≈ 0.02t),
opbench's from the plain normalisation (see :class:`ConditionalLayerNorm`); drop path is
left out (its fine-tuning script sets the rate to 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from opbench.config import Counts, FiniteFloat, PositiveFloat, Size, Sizes
from opbench.data.base import Batch
from opbench.models.base import SMALL_TRAIN, register_model
from opbench.tasks import TaskSpec

CITATION = (
    "Herde, Raonić, Rohner, Käppeli, Molinaro, de Bézenac, Mishra. Poseidon: Efficient "
    "Foundation Models for PDEs. NeurIPS 2024. arXiv:2405.19101"
)

POSITION_MLP_HIDDEN = 512
"""Hidden width of SwinV2's continuous position bias MLP."""
MAX_LOGIT_SCALE = math.log(100.0)
"""SwinV2 clamps the learnt attention temperature τ at 100."""
INIT_STD = 0.02
"""Reference initialisation (Hugging Face ``initializer_range``): weights ~ N(0, 0.02²)."""

Window = tuple[int, int]


class ConditionalLayerNorm(nn.Module):
    """LayerNorm over the last axis whose affine map depends on the lead time t:

        LN(z; t) = α(t) ⊙ (z − μ)/√(σ² + ε) + β(t),   α(t) = W_α t + b_α,  β(t) = W_β t + b_β

    (scOT ``ConditionalLayerNorm``). Initialised to the plain normalisation (W_α = W_β = 0,
    b_α = 1, b_β = 0), so t starts without effect and its influence is learnt; the
    reference's N(0, 0.02²) initialisation of these Linears scales every norm by ≈ 0.02t at
    the start, and trained no better from scratch here (test rel. L2 0.69 vs 0.59 at lr 1e-3,
    0.54 vs 0.52 at 3e-3, 40 epochs on 96 samples of cubic0.1_grid16).
    """

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.scale = nn.Linear(1, dim)
        self.shift = nn.Linear(1, dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.zeros_(self.scale.weight)
        nn.init.ones_(self.scale.bias)
        nn.init.zeros_(self.shift.weight)
        nn.init.zeros_(self.shift.bias)

    def forward(self, z: Tensor, t: Tensor) -> Tensor:
        """``z`` (B, …, C), ``t`` (B, 1)."""
        shape = (t.shape[0],) + (1,) * (z.ndim - 2) + (-1,)
        normalized = F.layer_norm(z, z.shape[-1:], eps=self.eps)
        return self.scale(t).view(shape) * normalized + self.shift(t).view(shape)


def padded_size(n: int, patch: int, window: int, stages: int) -> int:
    """Smallest N ≥ n with N = p·g, g divisible by 2^(S−1) (the merges), and at every stage
    s the token count g/2^s either ≤ w (the window is clamped to it) or divisible by w.
    N = p·w·2^(S−1)·k always qualifies, so the search ends."""
    step = patch * 2 ** (stages - 1)
    size = -(-n // step) * step

    def fits(size: int) -> bool:
        tokens = size // patch
        return all(
            tokens // 2**s <= window or (tokens // 2**s) % window == 0 for s in range(stages)
        )

    while not fits(size):
        size += step
    return size


def window_and_shift(grid: Window, window: int, shifted: bool) -> tuple[Window, Window]:
    """Per axis: the window min(w, g), and the shift ⌊w/2⌋ of a shifted block where the grid
    g holds more than one window (none where a single window covers the axis)."""
    sizes = tuple(min(window, g) for g in grid)
    shifts = tuple(window // 2 if shifted and g > window else 0 for g in grid)
    if any(g % w for g, w in zip(grid, sizes, strict=True)):
        raise ValueError(f"token grid {grid} is not a multiple of the window {sizes}")
    return (sizes[0], sizes[1]), (shifts[0], shifts[1])


def window_partition(z: Tensor, window: Window) -> Tensor:
    """(B, H, W, C) → (B, nW, w_h·w_w, C), windows and tokens in row-major order."""
    b, h, w, c = z.shape
    wh, ww = window
    z = z.view(b, h // wh, wh, w // ww, ww, c).permute(0, 1, 3, 2, 4, 5)
    return z.reshape(b, (h // wh) * (w // ww), wh * ww, c)


def window_merge(windows: Tensor, window: Window, height: int, width: int) -> Tensor:
    """Inverse of :func:`window_partition`: (B, nW, w_h·w_w, C) → (B, H, W, C)."""
    b, _, _, c = windows.shape
    wh, ww = window
    z = windows.view(b, height // wh, width // ww, wh, ww, c).permute(0, 1, 3, 2, 4, 5)
    return z.reshape(b, height, width, c)


@lru_cache(maxsize=32)
def shifted_window_mask(height: int, width: int, window: Window, shift: Window) -> Tensor:
    """Boolean (nW, n, n), True where token i may attend to token j of the same window
    after the cyclic shift ``torch.roll(z, (−s_h, −s_w))``.

    Along an axis of length L the rolled grid holds three regions, [0, L−w), [L−w, L−s)
    and [L−s, L) (the last one wrapped round from the start of the grid); tokens of one
    window attend to each other only within one region (Swin, Liu et al. 2021, eq. (3)
    and its masking).
    """

    def regions(length: int, size: int, offset: int) -> Tensor:
        index = torch.arange(length)
        return (index >= length - size).long() + (index >= length - offset).long()

    rows, cols = regions(height, window[0], shift[0]), regions(width, window[1], shift[1])
    labels = rows[:, None] * 3 + cols
    windows = window_partition(labels.view(1, height, width, 1), window)[0, ..., 0]
    return windows[:, :, None] == windows[:, None, :]


@lru_cache(maxsize=32)
def relative_position_inputs(window: Window) -> tuple[Tensor, Tensor]:
    """SwinV2's log-spaced relative coordinates and the index that gathers them.

    Returns ``table`` ((2w_h − 1)(2w_w − 1), 2), the offsets Δ ∈ {−(w−1), …, w−1}² mapped
    to Δ̂ = sign(8Δ/(w−1))·log₂(1 + |8Δ/(w−1)|)/log₂ 8 (no scaling on an axis of one token),
    and ``index`` (n, n), the row of ``table`` holding the offset from token i to token j.
    """
    wh, ww = window
    offsets = [
        torch.arange(-(size - 1), size, dtype=torch.float32) * 8 / max(size - 1, 1)
        for size in window
    ]
    table = torch.stack(torch.meshgrid(*offsets, indexing="ij"), dim=-1).view(-1, 2)
    table = torch.sign(table) * torch.log2(table.abs() + 1.0) / math.log2(8)
    grid = torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij")
    coords = torch.stack(grid).flatten(1)
    relative = coords[:, :, None] - coords[:, None, :]
    index = (relative[0] + wh - 1) * (2 * ww - 1) + relative[1] + ww - 1
    return table, index


class WindowAttention(nn.Module):
    """SwinV2 window attention (scaled cosine attention, continuous position bias):

        A_h = softmax(τ_h cos(q_i, k_j) + 16 σ(MLP_h(Δ̂_ij)) + M_ij) V_h,  out = Linear(C, C)

    q and v carry a bias, k does not; τ_h = exp(min(θ_h, log 100)), θ_h initialised to
    log 10 (Hugging Face ``Swinv2SelfAttention``).
    """

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} is not a multiple of the number of heads {heads}")
        self.heads = heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim, bias=False)
        self.value = nn.Linear(dim, dim)
        self.logit_scale = nn.Parameter(torch.full((heads, 1, 1), math.log(10.0)))
        self.position_mlp = nn.Sequential(
            nn.Linear(2, POSITION_MLP_HIDDEN),
            nn.ReLU(),
            nn.Linear(POSITION_MLP_HIDDEN, heads, bias=False),
        )
        self.projection = nn.Linear(dim, dim)

    def position_bias(self, window: Window, like: Tensor) -> Tensor:
        """16 σ(MLP(Δ̂)) gathered to (heads, n, n)."""
        table, index = relative_position_inputs(window)
        bias = self.position_mlp(table.to(like))[index.to(like.device)]
        return 16 * torch.sigmoid(bias.permute(2, 0, 1))

    def forward(self, windows: Tensor, window: Window, mask: Tensor | None) -> Tensor:
        """``windows`` (B, nW, n, C); ``mask`` (nW, n, n) boolean (True: may attend) or None."""
        b, nw, n, c = windows.shape

        def split(z: Tensor) -> Tensor:
            return z.view(b, nw, n, self.heads, c // self.heads).transpose(2, 3)

        temperature = self.logit_scale.clamp(max=MAX_LOGIT_SCALE).exp()
        q = F.normalize(split(self.query(windows)), dim=-1) * temperature
        k = F.normalize(split(self.key(windows)), dim=-1)
        v = split(self.value(windows))
        bias = self.position_bias(window, windows)
        if mask is not None:
            bias = bias.masked_fill(~mask[:, None].to(windows.device), float("-inf"))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=1.0)
        return self.projection(out.transpose(2, 3).reshape(b, nw, n, c))


class SwinBlock(nn.Module):
    """Shifted-window transformer block with post-norm residuals:

        z ← z + LN(W-MSA(z); t),   z ← z + LN(MLP(z); t)

    The window is clamped to the token grid in ``forward`` (:func:`window_and_shift`).
    """

    def __init__(self, dim: int, heads: int, window: int, shifted: bool, mlp_ratio: float) -> None:
        super().__init__()
        self.window = window
        self.shifted = shifted
        hidden = int(dim * mlp_ratio)
        self.attention = WindowAttention(dim, heads)
        self.attention_norm = ConditionalLayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.mlp_norm = ConditionalLayerNorm(dim)

    def forward(self, z: Tensor, t: Tensor) -> Tensor:
        """``z`` (B, h, w, C), ``t`` (B, 1)."""
        _, height, width, _ = z.shape
        window, shift = window_and_shift((height, width), self.window, self.shifted)
        shifted = any(shift)
        y = torch.roll(z, (-shift[0], -shift[1]), (1, 2)) if shifted else z
        mask = shifted_window_mask(height, width, window, shift) if shifted else None
        y = self.attention(window_partition(y, window), window, mask)
        y = window_merge(y, window, height, width)
        if shifted:
            y = torch.roll(y, shift, (1, 2))
        z = z + self.attention_norm(y, t)
        return z + self.mlp_norm(self.mlp(z), t)


class PatchMerging(nn.Module):
    """2×2 neighbours concatenated, (B, h, w, C) → (B, h/2, w/2, 4C), then
    LN(Linear(4C → 2C, no bias); t) (Swin patch merging, scOT order of the four)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = ConditionalLayerNorm(2 * dim)

    def forward(self, z: Tensor, t: Tensor) -> Tensor:
        z = torch.cat([z[:, 0::2, 0::2], z[:, 1::2, 0::2], z[:, 0::2, 1::2], z[:, 1::2, 1::2]], -1)
        return self.norm(self.reduction(z), t)


class PatchUnmerging(nn.Module):
    """Patch expanding, the decoder's inverse of merging: Linear(C → 2C, no bias) split
    into 2×2 tokens of C/2 each, (B, h, w, C) → (B, 2h, 2w, C/2), then
    Linear(C/2 → C/2, no bias)(LN(·; t)) (scOT ``ScOTPatchUnmerging``)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.upsample = nn.Linear(dim, 2 * dim, bias=False)
        self.norm = ConditionalLayerNorm(dim // 2)
        self.mix = nn.Linear(dim // 2, dim // 2, bias=False)

    def forward(self, z: Tensor, t: Tensor) -> Tensor:
        b, h, w, c = z.shape
        z = self.upsample(z).view(b, h, w, 2, 2, c // 2).permute(0, 1, 3, 2, 4, 5)
        z = z.reshape(b, 2 * h, 2 * w, c // 2)
        return self.mix(self.norm(z, t))


class ConvNeXtBlock(nn.Module):
    """ConvNeXt block (Liu et al., CVPR 2022) on a skip connection:

        z ← z + γ ⊙ Linear(4C → C)(GELU(Linear(C → 4C)(LN(DWConv_{7×7}(z); t))))

    layer scale γ initialised to 10⁻⁶ (scOT ``ConvNeXtBlock``).
    """

    def __init__(self, dim: int, layer_scale: float = 1e-6) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = ConditionalLayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.layer_scale = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, z: Tensor, t: Tensor) -> Tensor:
        y = self.depthwise(z.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return z + self.layer_scale * self.mlp(self.norm(y, t))


class ScOT(nn.Module):
    """The scOT U-shaped shifted-window transformer (see the module docstring)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        embed_dim: int,
        depths: Sequence[int],
        num_heads: Sequence[int],
        window_size: int,
        patch_size: int,
        skip_blocks: Sequence[int],
        mlp_ratio: float,
        lead_time: float,
    ) -> None:
        super().__init__()
        stages = len(depths)
        if not len(num_heads) == len(skip_blocks) == stages:
            raise ValueError(
                f"depths {list(depths)}, num_heads {list(num_heads)} and skip_blocks "
                f"{list(skip_blocks)} must have one entry per stage"
            )
        self.patch_size = patch_size
        self.window_size = window_size
        self.lead_time = lead_time
        dims = [embed_dim * 2**s for s in range(stages)]

        def stage(s: int, decoder: bool) -> nn.ModuleList:
            # encoder blocks alternate unshifted/shifted; the decoder runs the pattern reversed
            order = reversed(range(depths[s])) if decoder else range(depths[s])
            shifted = [i % 2 == 1 for i in order]
            return nn.ModuleList(
                SwinBlock(dims[s], num_heads[s], window_size, shift, mlp_ratio) for shift in shifted
            )

        self.embedding = nn.Conv2d(in_channels, embed_dim, patch_size, patch_size)
        self.embedding_norm = ConditionalLayerNorm(embed_dim)
        self.encoder = nn.ModuleList(stage(s, decoder=False) for s in range(stages))
        self.merges = nn.ModuleList(PatchMerging(dims[s]) for s in range(stages - 1))
        self.skips = nn.ModuleList(
            nn.ModuleList(ConvNeXtBlock(dims[s]) for _ in range(skip_blocks[s]))
            for s in range(stages)
        )
        self.decoder = nn.ModuleList(stage(s, decoder=True) for s in range(stages))
        self.unmerges = nn.ModuleList(PatchUnmerging(dims[s]) for s in range(1, stages))
        self.recovery = nn.ConvTranspose2d(embed_dim, out_channels, patch_size, patch_size)
        self.mix = nn.Conv2d(out_channels, out_channels, 5, padding=2, bias=False)
        self.apply(_init_weights)

    def time(self, batch: Batch) -> Tensor:
        """The lead time as (B, 1): ``batch["t"]`` ((B,) or (B, 1)) or ``lead_time``."""
        x = batch["x"]
        if "t" in batch:
            return batch["t"].reshape(x.shape[0], 1).to(x)
        return torch.full((x.shape[0], 1), self.lead_time, dtype=x.dtype, device=x.device)

    def forward(self, batch: Batch) -> Tensor:
        x = batch["x"]
        t = self.time(batch)
        height, width = x.shape[-2:]
        stages = len(self.encoder)
        pad_h, pad_w = (
            padded_size(n, self.patch_size, self.window_size, stages) - n for n in (height, width)
        )
        x = F.pad(x, (0, pad_w, 0, pad_h))
        z = self.embedding_norm(self.embedding(x).permute(0, 2, 3, 1), t)
        skips = []
        for s, blocks in enumerate(self.encoder):
            stage_input = z
            for block in blocks:
                z = block(z, t)
            skips.append(z)
            if s < stages - 1:
                z = self.merges[s](z + stage_input, t)
        for s, blocks in enumerate(self.skips):
            for block in blocks:
                skips[s] = block(skips[s], t)
        z = skips[-1]
        for s in reversed(range(stages)):
            if s < stages - 1:
                z = z + skips[s]
            for block in self.decoder[s]:
                z = block(z, t)
            if s > 0:
                z = self.unmerges[s - 1](z, t)
        y = self.recovery(z.permute(0, 3, 1, 2))[..., :height, :width]
        return self.mix(y)


def _init_weights(module: nn.Module) -> None:
    """Reference initialisation: linear and convolution weights ~ N(0, 0.02²), biases 0;
    conditional LayerNorms reset to the plain normalisation (``apply`` visits a module
    after its children, so this overrides the N(0, 0.02²) just given to their Linears)."""
    if isinstance(module, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, std=INIT_STD)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, ConditionalLayerNorm):
        module.reset_parameters()


@register_model(
    "scot",
    layouts=("grid", "grid-timestep"),
    presets={
        "small": {
            "model": {
                "embed_dim": 32,
                "depths": [2, 2, 2],
                "num_heads": [2, 4, 8],
                "window_size": 8,
                "patch_size": 4,
                "skip_blocks": [1, 1, 0],
            },
            # SMALL_TRAIN at lr 3e-3: better than 1e-3 for this model from scratch (test
            # rel. L2 0.46 vs 0.56 after 25 epochs on cubic0.1_grid64; 0.52 vs 0.59 after 40
            # epochs on 96 samples of cubic0.1_grid16)
            "train": {**SMALL_TRAIN, "lr": 3e-3},
        },
        # The released Poseidon-T size (scOT/train.py MODEL_MAP["T"]) with the reference
        # fine-tuning recipe (configs/run.yaml). One learning rate for all parameters: the
        # reference's 5e-5 body / 5e-4 embedding, recovery and time-embedding groups are
        # not reproduced, 5e-4 is used throughout. Its loss is the L1 error relative to the
        # target's L1 per channel group; here "l1" is the mean |ỹ − y| on outputs normalised
        # per channel. max_grad_norm 5.
        "paper": {
            "model": {
                "embed_dim": 48,
                "depths": [4, 4, 4, 4],
                "num_heads": [3, 6, 12, 24],
                "window_size": 16,
                "patch_size": 4,
                "skip_blocks": [2, 2, 2, 0],
            },
            "train": {
                "optimizer": "adamw",
                "lr": 5e-4,
                "weight_decay": 1e-6,
                "schedule": "cosine",
                "batch_size": 40,
                "loss": "l1",
                "grad_clip": 5.0,
                "epochs": 200,
            },
        },
    },
    citation=CITATION,
    description="Poseidon-style (scOT architecture, no pretraining)",
    compile_faster=True,  # 1.37x per step at 32², gradients equal to 1.2e-6 (benchmarks/)
)
def build_scot(
    task: TaskSpec,
    embed_dim: Size = 48,
    depths: Sizes = (4, 4, 4, 4),
    num_heads: Sizes = (3, 6, 12, 24),
    window_size: Size = 16,
    patch_size: Size = 4,
    skip_blocks: Counts = (2, 2, 2, 0),
    mlp_ratio: PositiveFloat = 4.0,
    lead_time: FiniteFloat = 1.0,
) -> nn.Module:
    """scOT for ``task``; ``lead_time`` is the t given to steady tasks (no ``"t"``)."""
    return ScOT(
        task.in_channels,
        task.out_channels,
        embed_dim,
        depths,
        num_heads,
        window_size,
        patch_size,
        skip_blocks,
        mlp_ratio,
        lead_time,
    )
