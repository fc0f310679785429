"""Per-mode channel mixing: the contiguous batched product equals the einsum it replaces."""

import pytest
import torch
from neuralop.layers.spectral_convolution import SpectralConv
from neuralop.models import FNO

from opbench.models import mode_mixing
from opbench.models.mode_mixing import mix_modes, mix_modes_first, use_contiguous_mode_mixing


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.complex64])
@pytest.mark.parametrize("modes", [(7,), (6, 5), (3, 4, 2)])
def test_mix_modes_is_the_einsum(dtype, modes):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, *modes, dtype=dtype, generator=generator)
    weight = torch.randn(4, 5, *modes, dtype=dtype, generator=generator)
    letters = "klm"[: len(modes)]
    expected = torch.einsum(f"bi{letters},io{letters}->bo{letters}", x, weight)
    mixed = mix_modes(x, weight)
    assert mixed.shape == (3, 5, *modes)
    torch.testing.assert_close(mixed, expected, rtol=1e-6, atol=1e-6)


def test_mix_modes_reads_strided_slices():
    """neuraloperator passes a slice of the spectrum (not contiguous)."""
    x = torch.randn(2, 3, 10, 8, dtype=torch.complex64)[..., 2:7, :5]
    weight = torch.randn(3, 4, 5, 5, dtype=torch.complex64)
    torch.testing.assert_close(mix_modes(x, weight), torch.einsum("bikl,iokl->bokl", x, weight))


def test_mix_modes_first_takes_the_modes_first_layout():
    """by_mode[k, b, i] = x[b, i, k], from a strided view (as mix_modes passes it)."""
    x = torch.randn(3, 4, 6, 5, dtype=torch.float64)
    weight = torch.randn(4, 2, 6, 5, dtype=torch.float64)
    by_mode = x.reshape(3, 4, 30).permute(2, 0, 1)
    mixed = mix_modes_first(by_mode, weight)
    expected = torch.einsum("bikl,iokl->bokl", x, weight).reshape(3, 2, 30).permute(2, 0, 1)
    torch.testing.assert_close(mixed, expected, rtol=1e-12, atol=1e-12)


def _fno_pair() -> tuple[FNO, FNO]:
    """Two FNOs with the same weights: neuraloperator's einsum, and mix_modes."""
    torch.manual_seed(0)
    reference = FNO(n_modes=(8, 8), in_channels=2, out_channels=1, hidden_channels=8, n_layers=2)
    fast = FNO(n_modes=(8, 8), in_channels=2, out_channels=1, hidden_channels=8, n_layers=2)
    fast.load_state_dict(reference.state_dict())
    return reference, use_contiguous_mode_mixing(fast)


def test_an_fno_with_contiguous_mode_mixing_computes_the_same_values_and_gradients():
    reference, fast = _fno_pair()
    layers = [m for m in fast.modules() if isinstance(m, SpectralConv)]
    assert layers and all(layer._contract is mode_mixing._dense_contract for layer in layers)
    x = torch.randn(4, 2, 20, 20)
    outputs = [model(x) for model in (reference, fast)]
    torch.testing.assert_close(outputs[1], outputs[0], rtol=1e-6, atol=1e-7)
    for output in outputs:
        output.square().mean().backward()
    for (name, a), (_, b) in zip(
        reference.named_parameters(), fast.named_parameters(), strict=True
    ):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-5, atol=1e-8, msg=name)
