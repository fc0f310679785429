"""ConDiff family: config names, options, and load_benchmark on tiny generated data."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

import opbench.data.condiff.family as family_module
from opbench.config import validated
from opbench.data import DATASETS
from opbench.data.cache import SIDECAR
from opbench.data.condiff import fv
from opbench.data.condiff.configs import PUBLISHED_CONFIGS, parse_config
from opbench.data.condiff.family import ConDiffOptions, validation_indices
from opbench.data.condiff.files import read_split
from opbench.errors import ConfigError

NAME = "cubic0.4_grid8"
G = 8


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPBENCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def generate_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the generator runs made by load_benchmark."""
    calls: list[str] = []
    real = family_module.generate

    def counting(config, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(config.name)
        return real(config, *args, **kwargs)

    monkeypatch.setattr(family_module, "generate", counting)
    return calls


def load(options: ConDiffOptions, data_dir: Path | None = None, name: str = NAME, **kw):  # type: ignore[no-untyped-def]
    return DATASETS.get("condiff").load_benchmark(name, "steady", options, data_dir, **kw)


def test_published_names_and_parsing() -> None:
    assert len(PUBLISHED_CONFIGS) == 26 and len(set(PUBLISHED_CONFIGS)) == 26
    assert {"cubic1.0_grid64", "gaussian2.0_grid128", "poisson_grid64"} <= set(PUBLISHED_CONFIGS)
    config = parse_config("exponential2.0_grid128")
    assert (config.covariance, config.variance, config.grid) == ("exponential", 2.0, 128)
    assert config.contrast_window == (80000.0, 100000.0) and config.correlation_length == 0.05
    assert parse_config("cubic0.1_grid16").grid == 16
    poisson = parse_config("poisson_grid64")
    assert poisson.is_poisson and poisson.contrast_window is None
    assert DATASETS.get("condiff").configs() == list(PUBLISHED_CONFIGS)


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("cubic1_grid64", "cubic1.0_grid64"),  # variance needs one decimal
        ("cubic0.3_grid64", "no published contrast window"),
        ("cubik0.1_grid64", "Unknown covariance"),
        ("cubic0.1_grid2", "minimum 4"),
        ("poisson64", "grammar"),
        ("cubic0.1_grid064", "grammar"),
    ],
)
def test_bad_config_names(name: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        DATASETS.get("condiff").check_config(name)
    assert hint in str(info.value)
    assert "<covariance><variance>_grid<g>" in str(info.value)


def test_option_validation() -> None:
    for bad in (
        {"k_to_vertex": "mean"},
        {"val_fraction": 1.0},
        {"n_train": -1},
        {"n_test": 0},
        {"seed": -2},
        {"n_train": True},
    ):
        with pytest.raises(ConfigError, match=f"data.{next(iter(bad))}"):
            validated(ConDiffOptions, bad, "data")


def test_validation_indices_depend_only_on_the_data_seed() -> None:
    a = validation_indices(100, 0.1, seed=0)
    assert a.size == 10 and np.array_equal(a, np.sort(a))
    torch.manual_seed(123)
    np.random.seed(123)  # global RNG state must not matter
    assert np.array_equal(a, validation_indices(100, 0.1, seed=0))
    assert not np.array_equal(a, validation_indices(100, 0.1, seed=1))
    assert validation_indices(5, 0.1, seed=0).size == 1  # at least one when N >= 2
    assert validation_indices(0, 0.1, seed=0).size == 0


def test_generated_benchmark(home: Path, generate_calls: list[str]) -> None:
    options = ConDiffOptions(n_train=20, n_test=5, seed=3)
    bench = load(options)
    assert generate_calls == [NAME]
    assert bench.task.input_fields == ("k", "f") and bench.task.spatial_shape == (G, G)
    assert bench.task.boundary == "zero-dirichlet" and bench.info.grid == G
    train, val, test = (bench.splits[s] for s in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (18, 2, 5)
    assert train.tensors["x"].shape == (18, 2, G, G) and train.tensors["x"].dtype == torch.float32
    assert test.tensors["y"].shape == (5, 1, G, G) and test.tensors["y"].dtype == torch.float32
    assert test.tensors["k_cells"].shape == (5, G + 1, G + 1)
    assert test.tensors["k_cells"].dtype == torch.float64
    assert test.tensors["f64"].dtype == torch.float64
    info = bench.info.model_dump(mode="json")
    assert info["source"] == "generated" and info["generator_version"] == "2"
    assert info["generator"]["seed"] == 3
    assert info["split"]["train"] == 18 and info["split"]["val"] == 2 and info["split"]["seed"] == 3
    assert info["files"]["train"]["n_samples"] == 20 and len(info["files"]["test"]["sha256"]) == 64
    assert info["input_mapping"] == {"k_to_vertex": "average"} and info["grid"] == G
    assert Path(info["files"]["test"]["path"]).is_relative_to(home)

    # Train and val partition the training file; val is the seeded choice.
    expected_val = validation_indices(20, 0.1, seed=3)
    assert info["split"]["val_indices_hash"] == family_module.stable_hash(expected_val.tolist())
    all_y = torch.cat([train.tensors["y"], val.tensors["y"]])
    assert len({tuple(v.flatten()[:4].tolist()) for v in all_y}) == 20

    # A second load reuses the cache; so does a different val_fraction (same files).
    again = load(options)
    load(ConDiffOptions(n_train=20, n_test=5, seed=3, val_fraction=0.25))
    assert generate_calls == [NAME]
    assert again.info.fingerprint == info["fingerprint"]
    assert torch.equal(again.splits["val"].tensors["x"], val.tensors["x"])

    # The physics metric: round-off for the exact solution, large for a perturbed one.
    batch = next(test.batches(5))
    raw = read_split(Path(info["files"]["test"]["path"]), parse_config(NAME))
    solution = torch.from_numpy(fv.vector_to_grid(raw.x, G))[:, None]  # float64, as stored
    exact = bench.metrics["residual"](solution, batch)
    assert exact.shape == (5,) and exact.dtype == torch.float64 and (exact < 1e-12).all()
    assert (bench.metrics["residual"](batch["y"], batch) < 1e-5).all()  # float32 y
    perturbed = bench.metrics["residual"](solution * 1.01, batch)
    assert (perturbed > 1e-3).all()
    bench.solve_one(0)

    # The spectral residual loss: Σ DST-I(A(k)u − f)² / Σ f², round-off for the discrete
    # solution, Parseval-equal to the squared relative residual for a perturbed one.
    loss = bench.physics_loss
    assert loss(solution, batch).item() < 1e-24
    noise = 1e-3 * torch.randn(
        solution.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    assert loss(solution + noise, batch).item() == pytest.approx(
        bench.metrics["residual"](solution + noise, batch).square().mean().item(), rel=1e-10
    )
    assert loss(solution + noise, batch).item() > 1e3 * loss(solution, batch).item()
    trainable = (solution + noise).float().requires_grad_()
    loss(trainable, batch).backward()
    assert torch.isfinite(trainable.grad).all() and trainable.grad.abs().sum() > 0


def test_inputs_are_aligned_with_the_solution(home: Path) -> None:
    bench = load(ConDiffOptions(n_train=4, n_test=3, k_to_vertex="crop"))
    test = bench.splits["test"].tensors
    k, f, u = test["k_cells"].numpy(), test["f64"].numpy(), test["y"].double().numpy()[:, 0]
    assert np.allclose(test["x"][:, 1].double().numpy(), f, rtol=1e-6)
    assert np.allclose(test["x"][:, 0].numpy(), k[:, :G, :G], rtol=1e-6)  # crop
    for b in range(3):  # the grid u solves A(k)u = f with [i, j] lined up with k[i, j]
        residual = fv.relative_residual(k[b], fv.grid_to_vector(u[b]), fv.grid_to_vector(f[b]))
        assert residual < 1e-5  # float32 rounding of y


def test_k_to_vertex_average_versus_crop(home: Path) -> None:
    average = load(ConDiffOptions(n_train=4, n_test=3))
    crop = load(ConDiffOptions(n_train=4, n_test=3, k_to_vertex="crop"))
    k = average.splits["test"].tensors["k_cells"].numpy()
    mean = 0.25 * (k[:, :-1, :-1] + k[:, 1:, :-1] + k[:, :-1, 1:] + k[:, 1:, 1:])
    assert np.allclose(average.splits["test"].tensors["x"][:, 0].numpy(), mean, rtol=1e-6)
    assert np.allclose(crop.splits["test"].tensors["x"][:, 0].numpy(), k[:, :-1, :-1], rtol=1e-6)
    assert crop.info.input_mapping.k_to_vertex == "crop"
    # Same data (one cache entry), different inputs, same targets.
    assert crop.info.fingerprint == average.info.fingerprint
    assert torch.equal(crop.splits["test"].tensors["y"], average.splits["test"].tensors["y"])
    assert not torch.allclose(crop.splits["test"].tensors["x"], average.splits["test"].tensors["x"])


def nudge_last_bit(folder: Path) -> None:
    """Move one solution value of the test file by one unit in the last place, as another
    CPU's solver might."""
    (path,) = folder.glob("*_test.h5")
    with h5py.File(path, "r+") as file:
        values = file["x"][...]
        values[0, 0] = np.nextafter(values[0, 0], np.inf)
        file["x"][...] = values


@pytest.mark.parametrize("sidecar", [True, False], ids=["generated", "real"])
def test_generated_data_are_identified_by_recipe_and_real_files_by_bytes(
    home: Path, tmp_path: Path, sidecar: bool
) -> None:
    """The same recipe writes other last bits on another machine (content_identity): the
    fingerprint of generated data stays, that of real files follows their checksums. The
    checksums themselves are recorded either way."""
    generated = load(ConDiffOptions(n_train=10, n_test=4))
    source = Path(generated.info.files["test"].path).parent
    root = tmp_path / "copy"
    ignore = None if sidecar else shutil.ignore_patterns(SIDECAR)
    shutil.copytree(source, root / NAME, ignore=ignore)
    before = load(ConDiffOptions(), data_dir=root).info
    nudge_last_bit(root / NAME)
    after = load(ConDiffOptions(), data_dir=root).info
    assert after.files["test"].sha256 != before.files["test"].sha256
    assert after.files["train"] == before.files["train"]
    assert (after.fingerprint == before.fingerprint) is sidecar
    assert (before.fingerprint == generated.info.fingerprint) is sidecar


def test_real_files_subsets_and_errors(home: Path, tmp_path: Path) -> None:
    generated = load(ConDiffOptions(n_train=10, n_test=4))
    source = Path(generated.info.files["test"].path).parent
    real_root = tmp_path / "real"
    shutil.copytree(source, real_root / NAME, ignore=shutil.ignore_patterns(SIDECAR))
    real = load(ConDiffOptions(n_train=6, n_test=2), data_dir=real_root)
    assert real.info.source == "real"
    assert real.info.generator is None and real.info.generator_version is None
    # same files, fewer samples used: a different dataset for the leaderboard
    assert real.info.fingerprint != generated.info.fingerprint
    assert real.info.files["train"].n_samples == 10
    assert (len(real.splits["train"]) + len(real.splits["val"]), len(real.splits["test"])) == (6, 2)
    assert torch.equal(  # the first n samples of the file
        real.splits["test"].tensors["y"], generated.splits["test"].tensors["y"][:2]
    )
    everything = load(ConDiffOptions(), data_dir=real_root)
    assert len(everything.splits["test"]) == 4
    # without the sidecar the files are identified by their bytes, not by the recipe
    assert everything.info.fingerprint != generated.info.fingerprint
    assert everything.info.files == {
        split: file.model_copy(update={"path": str(real_root / NAME / Path(file.path).name)})
        for split, file in generated.info.files.items()
    }
    with pytest.raises(ConfigError, match="holds only 10 samples"):
        load(ConDiffOptions(n_train=11), data_dir=real_root)
    with pytest.raises(ConfigError, match="task"):
        DATASETS.get("condiff").load_benchmark(NAME, "unsteady", None, real_root)


def test_test_only_and_poisson(home: Path, generate_calls: list[str]) -> None:
    bench = load(ConDiffOptions(n_test=3), name="poisson_grid8", test_only=True)
    assert generate_calls == ["poisson_grid8"]
    assert len(bench.splits["train"]) == 0 and len(bench.splits["val"]) == 0
    assert bench.task.input_fields == ("f",)
    test = bench.splits["test"].tensors
    assert test["x"].shape == (3, 1, 8, 8)
    assert torch.equal(test["k_cells"], torch.ones(3, 9, 9, dtype=torch.float64))
    split = bench.info.split
    assert (split.train, split.val, split.test) == (0, 0, 3)
    residual = bench.metrics["residual"](test["y"], bench.splits["test"].tensors)
    assert (residual < 1e-5).all()


def test_family_generate_and_validate(tmp_path: Path) -> None:
    family = DATASETS.get("condiff")
    report = family.generate(NAME, tmp_path, n_train=3, n_test=2, seed=1, workers=1)
    assert report.path == tmp_path / NAME and (report.path / SIDECAR).is_file()
    assert (report.n_train, report.n_test, report.accepted) == (3, 2, 5)
    report = family.validate(NAME, tmp_path)
    assert report.ok and report.summary["worst_residual"] < 1e-12
    assert "Trifonov" in family.citation and "2406.04709" in family.citation
