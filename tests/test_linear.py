"""The per-mode DST-I linear baseline: exact on Poisson (gain 1/λ_kl), affine-invariant
thanks to its per-mode intercept, fitted in closed form, a strong floor on diffusion."""

import pytest
import torch
from conftest import grid_task

from opbench import run as runner
from opbench.config import parse_set
from opbench.data import load_benchmark
from opbench.errors import ConfigError
from opbench.models import MODELS, build_surrogate, count_parameters
from opbench.ops.dst import dst2, laplacian_eigenvalues


def fitted_surrogate(x, y, task):
    surrogate = build_surrogate("linear", task, {})
    surrogate.fit_normalizers(x, y)
    surrogate.net.fit(surrogate.input_norm.encode(x), surrogate.output_norm.encode(y))
    return surrogate


def rel_l2(prediction, target):
    error = (prediction - target).double().flatten(1).norm(dim=1)
    return error / target.double().flatten(1).norm(dim=1)


@pytest.fixture(scope="module")
def poisson(tmp_path_factory):
    """Generated poisson_grid16 data, once for the module (its own isolated cache)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPBENCH_HOME", str(tmp_path_factory.mktemp("poisson_home")))
        bench = load_benchmark("condiff", "poisson_grid16", n_train=64, n_test=16)
    train, test = bench.splits["train"].tensors, bench.splits["test"].tensors
    return bench.task, train, test


def test_linear_reproduces_poisson_solutions(poisson):
    task, train, test = poisson
    surrogate = fitted_surrogate(train["x"], train["y"], task)
    with torch.no_grad():
        prediction = surrogate({"x": test["x"]})
    assert rel_l2(prediction, test["y"]).max() < 1e-5  # float32 data; measured 2e-7


def test_fitted_gain_is_the_inverse_laplacian_eigenvalue(poisson):
    """û = f̂/λ_kl, so in normalised units ũ_kl = (σ_f/σ_u) f̃_kl/λ_kl on every mode that the
    training forcing excites (white noise: all of them)."""
    task, train, _ = poisson
    surrogate = fitted_surrogate(train["x"], train["y"], task)
    f_hat = dst2(train["x"][:, 0].double())
    power = (f_hat - f_hat.mean(dim=0)).square().mean(dim=0)
    excited = power > 0.1 * power.mean()
    assert excited.float().mean() > 0.95
    scale = surrogate.output_norm.std / surrogate.input_norm.std
    gain = surrogate.net.weight[0, 0].double() * scale
    inverse_eigenvalue = 1 / laplacian_eigenvalues(16, 16)
    assert torch.allclose(gain[excited], inverse_eigenvalue[excited], rtol=1e-4, atol=0)
    # the per-mode intercept only has to absorb the normalisation offsets here
    assert surrogate.net.bias.shape == (1, 16, 16)


def test_intercept_makes_the_fit_invariant_to_channel_affine_maps():
    """y = Σ_c T⁻¹(g_c ⊙ T x_c) + m with a mean field m is affine in x: reproduced exactly.
    For a target it cannot represent (a quadratic term added), fitting on (a x + c, α y + γ)
    per channel predicts α ŷ + γ: the normalisation is such a map, so it does not bias the
    fit. Without the per-mode intercept neither would hold."""
    generator = torch.Generator().manual_seed(0)
    shape = (12, 9)
    gains = torch.randn(2, *shape, generator=generator, dtype=torch.float64)
    mean_field = 3 + torch.randn(1, *shape, generator=generator, dtype=torch.float64)

    def affine(x):
        return dst2((gains * dst2(x.double())).sum(dim=1, keepdim=True)) + mean_field

    x = 2 + torch.randn(40, 2, *shape, generator=generator)
    x_new = 2 + torch.randn(5, 2, *shape, generator=generator)
    net = MODELS.get("linear").build(grid_task(shape))
    net.fit(x, affine(x).float())
    assert rel_l2(net({"x": x_new}), affine(x_new)).max() < 1e-5

    y = (affine(x) + 0.3 * x[:, :1].double() ** 2).float()
    net.fit(x, y)
    a = torch.tensor([3.0, 0.2]).view(1, 2, 1, 1)
    c = torch.tensor([-5.0, 7.0]).view(1, 2, 1, 1)
    alpha, gamma = 0.5, -4.0
    transformed = MODELS.get("linear").build(grid_task(shape))
    transformed.fit(a * x + c, alpha * y + gamma)
    expected = alpha * net({"x": x_new}) + gamma
    assert rel_l2(transformed({"x": a * x_new + c}), expected).max() < 1e-5


def test_unexcited_modes_fall_back_to_the_mean_field():
    """With one training sample nothing is excited: the ridge keeps the solve regular, every
    gain is 0 and the prediction is the training field."""
    net = MODELS.get("linear").build(grid_task((8, 8), 2, 3))
    x, y = torch.randn(1, 2, 8, 8), torch.randn(1, 3, 8, 8)
    net.fit(x, y)
    assert torch.all(net.weight == 0)
    assert torch.allclose(net({"x": torch.randn(4, 2, 8, 8)}), y.expand(4, -1, -1, -1), atol=1e-5)


def test_fitted_coefficients_are_buffers_saved_in_checkpoints():
    surrogate = build_surrogate("linear", grid_task((10, 10)), {"ridge": 1e-6})
    assert count_parameters(surrogate) == 0
    assert {"net.weight", "net.bias"} <= set(surrogate.state_dict())


def test_fit_rejects_mismatched_shapes_and_the_ridge_must_be_positive():
    net = MODELS.get("linear").build(grid_task((8, 8)))
    with pytest.raises(ValueError, match="fit expects"):
        net.fit(torch.randn(4, 2, 8, 7), torch.randn(4, 1, 8, 7))
    with pytest.raises(ConfigError, match=r"model\.ridge=0: Input should be greater than 0"):
        MODELS.get("linear").instantiate(grid_task((8, 8)), {"ridge": 0})


def test_linear_is_a_strong_floor_on_diffusion(tmp_path):
    spec = runner.resolve(
        "linear",
        "condiff",
        config="cubic0.1_grid16",
        overrides=parse_set(["data.n_train=96", "data.n_test=16"]),
    )
    record = runner.run(spec, tmp_path, progress=False).record.to_json()
    assert record["model"]["params"] == 0
    assert record["metrics"]["test"]["rel_l2"]["mean"] < 0.15  # measured 0.086; mean field ≈ 1.0
