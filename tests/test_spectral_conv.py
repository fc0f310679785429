"""neuraloperator's SpectralConv with opbench's fast forward: the same values and gradients
to float32 rounding, and neuraloperator's own forward where they would differ."""

import pytest
import torch
from neuralop.layers.spectral_convolution import SpectralConv
from neuralop.models import FNO

from opbench.models.spectral_conv import RealFFT, fast_forward, speed_up_spectral_convs


def _pair(channels: int, modes: tuple[int, ...], **options) -> tuple[SpectralConv, SpectralConv]:
    torch.manual_seed(0)
    reference = SpectralConv(channels, channels, modes, **options)
    fast = SpectralConv(channels, channels, modes, **options)
    fast.load_state_dict(reference.state_dict())
    return reference, speed_up_spectral_convs(fast)


def _values_and_gradients(layer: torch.nn.Module, x: torch.Tensor, **kwargs):
    x = x.clone().requires_grad_()
    y = layer(x, **kwargs)
    torch.manual_seed(1)
    weights = torch.randn_like(y)
    (y * weights).sum().backward()
    return y.detach(), x.grad, [p.grad for p in layer.parameters()]


@pytest.mark.parametrize(
    ("shape", "modes", "norm"),
    [
        ((3, 4, 20, 20), (8, 8), "forward"),
        ((3, 4, 20, 17), (7, 9), "forward"),  # odd last dim, odd mode counts
        ((3, 4, 12, 12), (12, 12), "backward"),  # every row kept, Nyquist bin included
        ((3, 4, 16, 10), (6, 4), "ortho"),
        ((2, 3, 24), (10,), "forward"),  # 1-d: no shifted dim
        ((2, 3, 8, 6, 10), (4, 4, 4), "forward"),  # 3-d: four corners
    ],
)
def test_fast_forward_computes_neuraloperators_values_and_gradients(
    shape, modes, norm, monkeypatch
):
    reference, fast = _pair(shape[1], modes, fft_norm=norm)
    x = torch.randn(shape)
    y0, dx0, dw0 = _values_and_gradients(reference, x)

    def not_this_one(*args, **kwargs):
        raise AssertionError("neuraloperator's forward ran")

    monkeypatch.setattr(SpectralConv, "forward", not_this_one)
    y1, dx1, dw1 = _values_and_gradients(fast, x)
    torch.testing.assert_close(y1, y0, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(dx1, dx0, rtol=1e-5, atol=1e-6)
    for a, b in zip(dw1, dw0, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("shape", "kwargs"),
    [
        ((2, 3, 15, 16), {}),  # odd shifted dim: neuraloperator's fftshift there is off by one
        ((2, 3, 16, 16), {"output_shape": (20, 20)}),
        ((2, 3, 6, 16), {}),  # fewer rows than kept modes: neuraloperator truncates weights
    ],
)
def test_where_it_would_differ_neuraloperators_own_forward_runs(shape, kwargs):
    reference, fast = _pair(shape[1], (8, 8))
    x = torch.randn(shape)
    y0, dx0, _ = _values_and_gradients(reference, x, **kwargs)
    y1, dx1, _ = _values_and_gradients(fast, x, **kwargs)
    assert torch.equal(y1, y0) and torch.equal(dx1, dx0)


def test_the_real_fft_backward_is_the_adjoint():
    """⟨rfftn(x), g⟩ = ⟨x, backward(g)⟩ (real inner product of the complex values), against
    PyTorch's own backward in float64."""
    torch.manual_seed(0)
    x = torch.randn(2, 9, 12, dtype=torch.float64, requires_grad=True)
    g = torch.randn(2, 9, 7, dtype=torch.complex128)
    (ours,) = torch.autograd.grad(RealFFT.apply(x, (-2, -1), "forward"), x, g)
    (theirs,) = torch.autograd.grad(torch.fft.rfftn(x, dim=(-2, -1), norm="forward"), x, g)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)


def test_an_fno_gets_the_fast_forward_in_every_dense_layer_and_keeps_its_state_dict():
    fno = FNO(n_modes=(8, 8), in_channels=1, out_channels=1, hidden_channels=4, n_layers=2)
    keys = list(fno.state_dict())
    speed_up_spectral_convs(fno)
    layers = [m for m in fno.modules() if isinstance(m, SpectralConv)]
    assert layers and all(layer.forward.__func__ is fast_forward for layer in layers)
    assert list(fno.state_dict()) == keys


def test_factorised_layers_keep_neuraloperators_forward_and_contraction():
    fno = FNO(
        n_modes=(4, 4),
        in_channels=1,
        out_channels=1,
        hidden_channels=4,
        n_layers=1,
        factorization="tucker",
        rank=0.5,
    )
    [layer] = [m for m in fno.modules() if isinstance(m, SpectralConv)]
    contraction = layer._contract
    speed_up_spectral_convs(fno)
    assert "forward" not in vars(layer) and layer._contract is contraction
