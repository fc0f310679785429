"""ConDiff generator: determinism, stream independence, format, sidecar, physics."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest

from opbench.data.cache import SIDECAR
from opbench.data.condiff.configs import parse_config
from opbench.data.condiff.files import read_split, split_path
from opbench.data.condiff.generate import GENERATOR_VERSION, generate
from opbench.data.condiff.validate import validate
from opbench.errors import ConfigError, DataError
from opbench.io import sha256_file

NAME = "exponential0.4_grid12"
CONFIG = parse_config(NAME)


def arrays(root: Path, split: str, name: str = NAME) -> dict[str, np.ndarray]:
    with h5py.File(split_path(root / name, name, split), "r") as file:
        return {key: file[key][()] for key in file}


def assert_same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key]), key


def test_deterministic_for_a_seed_and_seed_matters(tmp_path: Path) -> None:
    first = generate(NAME, tmp_path / "a", n_train=4, n_test=3, seed=5, workers=1)
    generate(NAME, tmp_path / "b", n_train=4, n_test=3, seed=5, workers=1)
    generate(NAME, tmp_path / "c", n_train=4, n_test=3, seed=6, workers=1)
    for split in ("train", "test"):
        assert_same(arrays(tmp_path / "a", split), arrays(tmp_path / "b", split))
        assert not np.array_equal(
            arrays(tmp_path / "a", split)["x"], arrays(tmp_path / "c", split)["x"]
        )
        # The files themselves are byte-identical (no timestamps inside).
        a = split_path(tmp_path / "a" / NAME, NAME, split)
        b = split_path(tmp_path / "b" / NAME, NAME, split)
        assert sha256_file(a) == sha256_file(b)
    assert first.n_train == 4 and first.n_test == 3 and first.accepted == 7
    assert first.proposals >= 7 and first.acceptance_rate == pytest.approx(7 / first.proposals)
    assert first.samples_per_second > 0 and first.path == tmp_path / "a" / NAME


def test_test_set_does_not_depend_on_n_train_or_workers(tmp_path: Path) -> None:
    generate(NAME, tmp_path / "small", n_train=2, n_test=3, seed=1, workers=1)
    generate(NAME, tmp_path / "big", n_train=6, n_test=3, seed=1, workers=2)
    generate(NAME, tmp_path / "none", n_train=0, n_test=3, seed=1, workers=2)
    test = arrays(tmp_path / "small", "test")
    assert_same(test, arrays(tmp_path / "big", "test"))
    assert_same(test, arrays(tmp_path / "none", "test"))
    big_train = arrays(tmp_path / "big", "train")
    small_train = arrays(tmp_path / "small", "train")
    assert_same(small_train, {key: value[:2] for key, value in big_train.items()})
    assert arrays(tmp_path / "none", "train")["x"].shape == (0, 144)
    # train and test are different draws
    assert not np.array_equal(test["k"][0], big_train["k"][0])


def test_workers_do_not_change_the_data(tmp_path: Path) -> None:
    generate(NAME, tmp_path / "one", n_train=5, n_test=3, seed=2, workers=1)
    generate(NAME, tmp_path / "two", n_train=5, n_test=3, seed=2, workers=2)
    for split in ("train", "test"):
        assert_same(arrays(tmp_path / "one", split), arrays(tmp_path / "two", split))


def test_sidecar_loader_and_validation(tmp_path: Path) -> None:
    report = generate(NAME, tmp_path, n_train=5, n_test=2, seed=3, workers=2)
    sidecar = json.loads((tmp_path / NAME / SIDECAR).read_text())
    assert sidecar["generator"] == "opbench.condiff"
    assert sidecar["generator_version"] == GENERATOR_VERSION == "2"
    assert sidecar["config"] == NAME and sidecar["seed"] == 3
    assert (sidecar["n_train"], sidecar["n_test"]) == (5, 2)
    assert sidecar["proposals"] == report.proposals
    assert sidecar["acceptance_rate"] == pytest.approx(report.acceptance_rate)
    assert {"seconds", "created"} <= sidecar.keys()

    train = read_split(split_path(tmp_path / NAME, NAME, "train"), CONFIG)
    assert train.k.shape == (5, 13, 13) and train.rhs.shape == train.x.shape == (5, 144)
    low, high = CONFIG.contrast_window
    contrast = train.k.max(axis=(1, 2)) / train.k.min(axis=(1, 2))
    assert ((low <= contrast) & (contrast <= high)).all()
    # rhs is unscaled white noise
    assert abs(train.rhs.std() - 1.0) < 0.1

    validation = validate(CONFIG, tmp_path)
    assert validation.ok, validation.lines
    assert validation.summary["worst_residual"] < 1e-12
    assert validation.summary["files"]["train"]["outside_window"] == 0


def test_poisson_files_have_no_k(tmp_path: Path) -> None:
    report = generate("poisson_grid8", tmp_path, n_train=3, n_test=2, workers=1)
    assert report.acceptance_rate is None and report.proposals == 0
    for split in ("train", "test"):
        with h5py.File(split_path(tmp_path / "poisson_grid8", "poisson_grid8", split)) as file:
            assert sorted(file) == ["rhs", "x"]
    assert validate("poisson_grid8", tmp_path).ok


def test_unreachable_window_gives_up(tmp_path: Path) -> None:
    impossible = replace(CONFIG, contrast_window=(1e30, 1e31))
    with pytest.raises(DataError, match="no field with contrast"):
        generate(impossible, tmp_path, n_train=1, n_test=0, workers=1, max_proposals=200)
    assert not (tmp_path / NAME / SIDECAR).exists()


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="n_train"):
        generate(NAME, tmp_path, n_train=-1, n_test=1)
    with pytest.raises(ConfigError, match="workers"):
        generate(NAME, tmp_path, n_train=1, n_test=1, workers=0)
    with pytest.raises(ConfigError, match="cubic"):
        generate("cubik0.1_grid8", tmp_path, n_train=1, n_test=1)
