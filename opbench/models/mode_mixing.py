"""Per-mode channel mixing, the contraction at the heart of spectral layers.

    out[b, o, k…] = Σ_i x[b, i, k…] · w[i, o, k…]      (einsum ``"bik…,iok…->bok…"``)

for real or complex tensors: one (B × C_in) · (C_in × C_out) product per retained mode k.
``torch.einsum`` lays this out as a batched product whose operands are strided views; on
the CPU, ``bmm`` on such views falls back to one small product per mode, each with its own
indexing and copies (a 32-channel, 16 × 9-mode FNO layer: 2.75 ms forward and backward at
batch 16, against 0.73 ms here; see ``benchmarks/``). :func:`mix_modes` gives ``bmm``
contiguous (modes, B, C_in) and (modes, C_in, C_out) operands, which it multiplies as one
batched BLAS call. Each output element is the same length-C_in dot product in the same
precision, so the result is the einsum's (bitwise, in the cases the tests compare).

:func:`use_contiguous_mode_mixing` puts :func:`mix_modes` into neuraloperator's dense
``SpectralConv`` layers in place of their einsum (``SpectralConv._contract``): the weights,
the modes kept and everything else about the layer stay neuraloperator's.
"""

from __future__ import annotations

from neuralop.layers.spectral_convolution import SpectralConv
from torch import Tensor, nn


def mix_modes(x: Tensor, weight: Tensor) -> Tensor:
    """``einsum("bik…,iok…->bok…", x, weight)`` as one contiguous batched product.

    Args:
        x: (B, C_in, *modes), real or complex.
        weight: (C_in, C_out, *modes), the dtype of ``x``.

    Returns:
        (B, C_out, *modes).
    """
    batch, channels_in = x.shape[:2]
    by_mode = x.reshape(batch, channels_in, -1).permute(2, 0, 1)
    mixed = mix_modes_first(by_mode, weight)
    return mixed.permute(1, 2, 0).reshape(batch, -1, *x.shape[2:])


def mix_modes_first(by_mode: Tensor, weight: Tensor) -> Tensor:
    """:func:`mix_modes` on data already laid out modes first.

    Args:
        by_mode: (M, B, C_in), M the number of modes (``x`` above as ``by_mode[k, b, i]``
            = ``x[b, i, k]``, the modes flattened in row-major order).
        weight: (C_in, C_out, *modes), ∏ modes = M.

    Returns:
        (M, B, C_out): ``out[k, b, o] = Σ_i by_mode[k, b, i] · weight[i, o, k]``.

    Both operands are made contiguous: ``bmm`` on the CPU multiplies one mode at a time,
    and copies every mode's operand whose strides BLAS cannot take.
    """
    channels_in, channels_out = weight.shape[:2]
    weights = weight.reshape(channels_in, channels_out, -1).permute(2, 0, 1).contiguous()
    return by_mode.contiguous() @ weights


def _dense_contract(x: Tensor, weight: Tensor, separable: bool = False) -> Tensor:
    """neuraloperator's ``_contract_dense`` signature, computed by :func:`mix_modes`."""
    if separable:
        raise ValueError("separable spectral weights are not a per-mode channel mixing")
    return mix_modes(x, weight if isinstance(weight, Tensor) else weight.to_tensor())


def use_contiguous_mode_mixing(module: nn.Module) -> nn.Module:
    """Compute every dense, non-separable ``SpectralConv`` in ``module`` with
    :func:`mix_modes` (factorised or separable layers are left as they are); returns
    ``module``."""
    for layer in module.modules():
        if isinstance(layer, SpectralConv) and layer.factorization is None and not layer.separable:
            layer._contract = _dense_contract
    return module
