"""The sine-basis Neural Spectral Method: its output is a sine series (zero on the boundary),
its layer is the coefficient-space formula, it declares its boundary conditions, and it
learns Poisson from the spectral residual loss alone."""

import math

import pytest
import torch
from conftest import grid_task

from opbench import run as runner
from opbench.config import parse_set
from opbench.errors import ConfigError
from opbench.models import MODELS, build_surrogate, count_parameters
from opbench.models.spectral import SineSpectralConv
from opbench.ops.dst import dst2


def build(task, **overrides):
    entry = MODELS.get("spectral")
    torch.manual_seed(0)
    return entry.build(task, **{**entry.preset("small")["model"], **overrides})


@pytest.mark.parametrize("shape", [(16, 16), (64, 64), (66, 65)])
def test_output_is_a_sine_series_that_vanishes_on_the_boundary(shape):
    """Evaluated on the grid extended by its boundary ring, x_i = i/(H+1), i = 0..H+1, the
    output's sine series is the output padded with zeros."""
    height, width = shape
    net = build(grid_task(shape))
    batch = {"x": torch.randn(2, 2, *shape, generator=torch.Generator().manual_seed(1))}
    with torch.no_grad():
        output = net(batch)
        x = torch.arange(height + 2, dtype=torch.float64) / (height + 1)
        y = torch.arange(width + 2, dtype=torch.float64) / (width + 1)
        series = net.evaluate(batch, x, y)
    assert series.shape == (2, 1, height + 2, width + 2)
    padded = torch.nn.functional.pad(output, (1, 1, 1, 1)).double()
    scale = output.abs().max().item()
    assert (series - padded).abs().max() < 1e-5 * scale
    ring = torch.ones(height + 2, width + 2, dtype=torch.bool)
    ring[1:-1, 1:-1] = False
    assert series[..., ring].abs().max() < 1e-12 * scale  # sin(kπ) = 0 up to round-off


def test_spectral_layer_is_the_coefficient_space_formula():
    """T_m⁻¹(K̂ ⊙ T_m v) with truncated transforms = T⁻¹ of the full DST-I coefficients mixed
    per mode on the lowest m×m modes and zeroed elsewhere; modes beyond the grid are cut."""
    torch.manual_seed(0)
    layer = SineSpectralConv(3, 8).double()
    v = torch.randn(2, 3, 20, 13, dtype=torch.float64, requires_grad=True)
    coefficients = dst2(v)
    mixed = torch.zeros_like(coefficients)
    mixed[..., :8, :8] = torch.einsum("bikl,iokl->bokl", coefficients[..., :8, :8], layer.weight)
    expected = dst2(mixed)
    out = layer(v)
    assert torch.allclose(out, expected, atol=1e-12)
    probe = torch.randn_like(out)  # and the same gradients, for the inputs and the weights
    for got, want in zip(
        torch.autograd.grad(out, (v, layer.weight), probe),
        torch.autograd.grad(expected, (v, layer.weight), probe),
        strict=True,
    ):
        assert torch.allclose(got, want, atol=1e-12)
    small = torch.randn(1, 3, 5, 6, dtype=torch.float64)
    full = torch.einsum("bikl,iokl->bokl", dst2(small), layer.weight[..., :5, :6])
    assert torch.allclose(layer(small), dst2(full), atol=1e-12)


@pytest.mark.parametrize("boundary", ["none", "dirichlet", "periodic", "neumann", "lid"])
def test_builder_rejects_boundaries_the_sine_basis_cannot_represent(boundary):
    with pytest.raises(ConfigError, match="zero-Dirichlet"):
        build(grid_task((16, 16), boundary=boundary))


def test_declarations_and_hyperparameter_checks():
    entry = MODELS.get("spectral")
    assert entry.flags.output_offset_free
    assert entry.layouts == ("grid",)
    with pytest.raises(ConfigError, match="activation"):
        build(grid_task((16, 16)), activation="softplus")
    with pytest.raises(ConfigError, match=r"model\.modes=0"):
        entry.check_hyperparameters({"modes": 0})


@pytest.mark.parametrize("preset", ["small", "paper"])
def test_parameter_count_matches_closed_form(preset):
    """lift (C_in + 2 coordinates)·h + h, per layer h²·m² spectral and h² mixing weights,
    projection h·C_out (no biases after the lift)."""
    hp = MODELS.get("spectral").preset(preset)["model"]
    net = build(grid_task((64, 64)), **hp)
    h, m, depth = hp["hidden"], hp["modes"], hp["depth"]
    assert count_parameters(net) == (2 + 2) * h + h + depth * (h * h * m * m + h * h) + h


@pytest.fixture
def one_thread():
    """16² tensors gain nothing from intra-op threads, and on a shared, loaded CPU OpenMP
    contention made this test 6× slower with two threads (119 s against 19 s)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_label_free_training_on_the_spectral_residual_learns_poisson(tmp_path, one_thread):
    """Only Σ DST-I(A u − f)² / Σ f² is minimised (train.data_weight=0); the test error is
    measured against the solutions the model never saw. The residual weighs every sine mode
    of u's relative error equally while u's norm lives in its lowest modes, so the lowest
    modes are learnt last: about 80 epochs here (measured 0.19; seeds 1, 2: 0.18, 0.34)."""
    data = ["data.n_train=64", "data.n_test=16"]
    spec = runner.resolve(
        "spectral",
        "condiff",
        config="poisson_grid16",
        epochs=80,
        overrides=parse_set(
            [
                *data,
                "train.data_weight=0",
                "train.physics_weight=1",
                "train.batch_size=8",
                "train.lr=1e-2",
                "train.schedule=cosine",
                "model.hidden=16",
                "model.depth=2",
            ]
        ),
    )
    record = runner.run(spec, tmp_path / "spectral", progress=False).record.to_json()
    mean_spec = runner.resolve(
        "mean", "condiff", config="poisson_grid16", overrides=parse_set(data)
    )
    mean = runner.run(mean_spec, tmp_path / "mean", progress=False).record.to_json()
    trained, baseline = record["metrics"]["test"], mean["metrics"]["test"]
    assert record["train"]["status"] == "ok"
    assert baseline["rel_l2"]["mean"] > 0.9
    assert trained["rel_l2"]["mean"] < 0.5 * baseline["rel_l2"]["mean"]
    assert trained["residual"]["mean"] < 0.1 * baseline["residual"]["mean"]
    assert math.isfinite(record["train"]["best_val"])


def test_surrogate_keeps_the_zero_boundary_in_physical_units():
    """Outputs are scaled, not centred, for offset-free models: y = σ_y ỹ exactly."""
    surrogate = build_surrogate("spectral", grid_task((8, 8)), {"hidden": 8, "modes": 4})
    y = torch.randn(6, 1, 8, 8) + 3.0  # a large mean that centring would add back
    surrogate.fit_normalizers(torch.randn(6, 2, 8, 8), y)
    assert torch.equal(surrogate.output_norm.mean, torch.zeros(1))
    assert surrogate.output_norm.std.item() == pytest.approx(
        y.square().mean().sqrt().item(), rel=1e-5
    )
