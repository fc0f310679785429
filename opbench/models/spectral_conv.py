"""neuraloperator's ``SpectralConv``, computed with less work on the CPU: the same weights,
the same modes, the same function.

A dense spectral layer (neuraloperator 2.0) computes, on real data over the last d dims,

    X = rfftn(x),   Y[k] = Σ_i X[i, k] W[i, o, k] for the kept modes k (0 elsewhere),
    y = irfftn(Y) + b,

keeping along every dim but the last the m lowest frequencies −⌊m/2⌋ … m − ⌊m/2⌋ − 1, and
along the last the first m. neuraloperator transforms the whole grid, finds the kept modes
by ``fftshift`` of the whole spectrum (a copy through ``roll``), slices the centre, writes
Y into a zeroed full spectrum, shifts it back and transforms all of it. Most of that work
is on modes that are dropped or zero (FNO ``small`` at 32², padded to 40 × 40: 16 × 9 of
40 × 21 modes kept).

:func:`fast_forward` does the d-dimensional transforms as their 1-d passes, as pocketfft
does, but keeps only what the next pass needs:

1. ``rfft`` along the last dim, keeping its first m columns;
2. for each other dim: ``fft`` along it, keeping the 2 "corners" of kept frequencies
   (negative ones from the end of the spectrum, then the non-negative ones: the weights'
   order);
3. the mode mixing (``layer._contract``);
4. in reverse: each other dim's kept rows placed back among zeros, ``ifft`` along it;
5. ``irfft`` along the last dim (``n`` = its size; the missing columns are zeros).

The same 1-d transforms on the same numbers, without those that only carry zeros, so the
values agree with neuraloperator's to float32 rounding (``tests/test_spectral_conv.py``).

The backward pass of ``torch.fft.rfft`` pads the half-spectrum gradient to a full complex
spectrum and transforms it with a complex-to-complex FFT. :class:`RealFFT` uses the
adjoint instead: for X = s · Σₙ x[n] e^{−iθ(k, n)} over the half spectrum (s the norm's
scale), ∂L/∂x = Re(s · Σ_k g[k] e^{+iθ(k, n)}) = irfftn(g′) with the adjoint norm, where
g′ halves the last-dim bins that have a mirror image (1 … ⌈n/2⌉ − 1), since ``irfftn``
counts them twice.

neuraloperator shifts the kept modes back with ``fftshift`` rather than ``ifftshift``; on an
odd-sized dim the two differ by one index, so there its layer is left alone (odd sizes,
a resolution scaling, an ``output_shape``, half precision, complex data, truncated
weights: :func:`fast_forward` calls neuraloperator's own forward). Measured on one
32-channel layer at batch 16, 40 × 40 grid, 16 × 9 modes, one thread: forward and backward
15.4 → 9.7 ms (``benchmarks/`` has the FNO epoch).
"""

from __future__ import annotations

import types

import torch
from neuralop.layers.spectral_convolution import SpectralConv
from torch import Tensor, nn

from opbench.models.mode_mixing import use_contiguous_mode_mixing

ADJOINT_NORM = {"forward": "backward", "backward": "forward", "ortho": "ortho"}
"""The ``irfftn`` norm whose sum is the adjoint of ``rfftn`` with the key's norm."""


class RealFFT(torch.autograd.Function):
    """``torch.fft.rfftn(x, dim=dims, norm=norm)`` with the adjoint ``irfftn`` as its
    backward pass (module docstring)."""

    @staticmethod
    def forward(ctx, x: Tensor, dims: tuple[int, ...], norm: str) -> Tensor:
        ctx.dims, ctx.norm, ctx.sizes = dims, norm, [x.shape[d] for d in dims]
        return torch.fft.rfftn(x, dim=dims, norm=norm)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None]:
        mirrored = (ctx.sizes[-1] - 1) // 2
        grad = grad.clone()
        grad.narrow(-1, 1, mirrored).mul_(0.5)
        dx = torch.fft.irfftn(grad, s=ctx.sizes, dim=ctx.dims, norm=ADJOINT_NORM[ctx.norm])
        return dx, None, None


def _applies(layer: SpectralConv, sizes: list[int], kept: tuple[int, ...], output_shape) -> bool:
    """Whether :func:`fast_forward` computes what neuraloperator's forward does."""
    half = [*sizes[:-1], sizes[-1] // 2 + 1]
    return (
        output_shape is None
        and layer.resolution_scaling_factor is None
        and not layer.complex_data
        and not layer.separable
        and layer.fno_block_precision == "full"
        and all(size % 2 == 0 for size in sizes[:-1])
        and all(modes <= size for modes, size in zip(kept, half, strict=True))
        and list(kept) == list(layer.n_modes)  # the weights are max_n_modes: not truncated
    )


def fast_forward(layer: SpectralConv, x: Tensor, output_shape=None) -> Tensor:
    """``layer(x)`` by 1-d transforms of the kept modes only (module docstring);
    neuraloperator's own forward where that would differ."""
    _, _, *sizes = x.shape
    weight = layer.weight if isinstance(layer.weight, Tensor) else layer.weight.to_tensor()
    kept = tuple(weight.shape[2:])
    if not _applies(layer, sizes, kept, output_shape):
        return SpectralConv.forward(layer, x, output_shape)
    norm = layer.fft_norm
    modes = RealFFT.apply(x, (-1,), norm)[..., : kept[-1]]
    shifted = [  # (dim, its size, negative kept frequencies, non-negative ones)
        (dim, size, count // 2, count - count // 2)
        for dim, size, count in zip(range(2, len(sizes) + 1), sizes[:-1], kept[:-1], strict=True)
    ]
    for dim, size, negative, non_negative in shifted:
        modes = torch.fft.fft(modes, dim=dim, norm=norm)
        modes = torch.cat(
            [modes.narrow(dim, size - negative, negative), modes.narrow(dim, 0, non_negative)], dim
        )
    mixed = layer._contract(modes, weight, separable=False)
    for dim, size, negative, non_negative in reversed(shifted):
        zeros = list(mixed.shape)
        zeros[dim] = size - negative - non_negative
        mixed = torch.cat(
            [
                mixed.narrow(dim, negative, non_negative),
                mixed.new_zeros(zeros),
                mixed.narrow(dim, 0, negative),
            ],
            dim,
        )
        mixed = torch.fft.ifft(mixed, dim=dim, norm=norm)
    y = torch.fft.irfft(mixed, n=sizes[-1], dim=-1, norm=norm)
    return y if layer.bias is None else y + layer.bias


def speed_up_spectral_convs(module: nn.Module) -> nn.Module:
    """Give every dense ``SpectralConv`` in ``module`` :func:`fast_forward` and the
    contiguous mode mixing (:func:`~opbench.models.mode_mixing.use_contiguous_mode_mixing`);
    weights and state dict stay neuraloperator's. Returns ``module``."""
    use_contiguous_mode_mixing(module)
    for layer in module.modules():
        if isinstance(layer, SpectralConv) and layer.factorization is None:
            layer.forward = types.MethodType(fast_forward, layer)
    return module
