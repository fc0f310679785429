"""The point-wise linear baseline: exact on affine data, blind to padding, affine-invariant
through the normalisers, zero weight on a constant channel, and the freestream exactly."""

import pytest
import torch

from opbench.models import MODELS, build_surrogate, count_parameters
from opbench.models.pointwise_linear import PointwiseLinear
from opbench.tasks import TaskSpec

TASK = TaskSpec(
    name="fields",
    layout="points",
    input_fields=("x", "y", "u_inf_cos", "u_inf_sin", "distance", "n_x", "n_y"),
    output_fields=("u", "v", "p", "nu_t"),
    metrics=("mse",),
    primary_metric="mse",
)


def padded_clouds(n: int = 5, points: int = 200, seed: int = 0):
    """Random inputs on clouds of different sizes, padded with garbage beyond each size."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 7, points, generator=generator, dtype=torch.float64)
    x[:, 2:4] = 30 + 20 * torch.rand(n, 2, 1, generator=generator, dtype=torch.float64)
    valid = torch.zeros(n, 1, points, dtype=torch.float64)
    for i, size in enumerate(torch.randint(points // 2, points + 1, (n,), generator=generator)):
        valid[i, 0, :size] = 1
    return x, valid, generator


def test_recovers_an_affine_map_and_ignores_the_padding():
    x, valid, generator = padded_clouds()
    a = torch.randn(4, 7, generator=generator, dtype=torch.float64)
    b = torch.randn(4, generator=generator, dtype=torch.float64)
    y = torch.einsum("oi,nip->nop", a, x) + b[:, None]
    y = torch.where(valid > 0, y, 1e6)  # padding holds nonsense targets
    model = PointwiseLinear(7, 4, ridge=1e-12).double()
    model.fit(x, y, valid)
    torch.testing.assert_close(model.weight, a, rtol=1e-8, atol=1e-8)
    torch.testing.assert_close(model.bias, b, rtol=1e-8, atol=1e-8)


def test_least_squares_residual_is_orthogonal_to_the_inputs():
    """On non-affine targets the fit is the least-squares one: the residual on real nodes has
    zero mean and is orthogonal to every input channel (the normal equations)."""
    x, valid, generator = padded_clouds(seed=1)
    y = torch.sin(x[:, :4]) * x[:, 4:5] ** 2 + torch.randn(x[:, :4].shape, generator=generator)
    model = PointwiseLinear(7, 4, ridge=1e-12).double()
    model.fit(x, y, valid)
    residual = (y - model({"x": x})) * valid
    assert residual.sum(dim=(0, 2)).abs().max() < 1e-8
    assert torch.einsum("nip,nop->io", x, residual).abs().max() < 1e-7


def test_a_constant_channel_gets_weight_zero():
    x, valid, _ = padded_clouds(seed=2)
    x[:, 6] = 0.5
    y = 2 * x[:, :4] + 1
    model = PointwiseLinear(7, 4, ridge=1e-7).double()
    model.fit(x, y, valid)
    assert torch.all(model.weight[:, 6] == 0)
    assert torch.isfinite(model.weight).all()


def test_predicts_the_freestream_exactly_in_physical_units():
    """Uniform flow (u, v) = (U∞cos α, U∞sin α), p = 0: fitted through the surrogate's
    normalisers on physical data, the prediction is the freestream to float32 rounding."""
    x, valid, _ = padded_clouds(seed=3)
    x = x.float()
    y = torch.zeros(x.shape[0], 4, x.shape[2])
    y[:, :2] = x[:, 2:4]
    surrogate = build_surrogate(
        "pointwise_linear", TASK, MODELS.get("pointwise_linear").preset("small")["model"]
    )
    surrogate.fit_normalizers(x, y, valid.float())
    surrogate.net.fit(
        surrogate.input_norm.encode(x), surrogate.output_norm.encode(y), valid.float()
    )
    prediction = surrogate({"x": x, "valid": valid.float()})
    real = valid.expand_as(y) > 0
    torch.testing.assert_close(prediction[real], y[real], rtol=0, atol=1e-4)
    assert count_parameters(surrogate) == 0


def test_fit_rejects_mismatched_shapes():
    model = PointwiseLinear(7, 4, ridge=1e-7)
    with pytest.raises(ValueError, match="fit expects"):
        model.fit(torch.zeros(2, 6, 10), torch.zeros(2, 4, 10))
    with pytest.raises(ValueError, match="fit expects"):
        model.fit(torch.zeros(2, 7, 10), torch.zeros(2, 4, 11))
