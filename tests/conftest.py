"""Shared fixtures: an isolated cache and a tiny synthetic benchmark for trainer tests."""

import pytest
import torch

from opbench.data.base import Benchmark, SampleSet
from opbench.data.metadata import DatasetInfo
from opbench.tasks import TaskSpec


def grid_task(
    shape, in_channels: int = 2, out_channels: int = 1, boundary: str = "zero-dirichlet"
) -> TaskSpec:
    """A steady grid task with ``in_channels`` → ``out_channels`` fields on ``shape``."""
    return TaskSpec(
        name="steady",
        layout="grid",
        input_fields=tuple(f"in{i}" for i in range(in_channels)),
        output_fields=tuple(f"out{i}" for i in range(out_channels)),
        spatial_shape=shape,
        boundary=boundary,
    )


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own $OPBENCH_HOME: nothing touches the user's cache."""
    monkeypatch.setenv("OPBENCH_HOME", str(tmp_path_factory.mktemp("opbench_home")))


def smoothing_benchmark(
    n_train: int = 48, n_val: int = 8, n_test: int = 8, size: int = 8
) -> Benchmark:
    """y = a fixed 3×3 blur of x: a linear task every model can learn a little of."""
    generator = torch.Generator().manual_seed(123)
    n = n_train + n_val + n_test
    x = torch.randn(n, 1, size, size, generator=generator)
    kernel = torch.ones(1, 1, 3, 3) / 9
    y = torch.nn.functional.conv2d(x, kernel, padding=1) + 0.5
    parts = torch.split(torch.arange(n), [n_train, n_val, n_test])
    splits = {
        name: SampleSet({"x": x[index], "y": y[index]})
        for name, index in zip(("train", "val", "test"), parts, strict=True)
    }
    task = TaskSpec(
        name="steady",
        layout="grid",
        input_fields=("a",),
        output_fields=("b",),
        spatial_shape=(size, size),
    )
    info = DatasetInfo(
        family="synthetic",
        config="blur",
        task="steady",
        source="generated",
        generator_version=None,
        files={},
        fingerprint="blur",
        split={"train": n_train, "val": n_val, "test": n_test, "method": "first n"},
    )
    return Benchmark("synthetic", "blur", task, splits, info)


@pytest.fixture
def blur_benchmark() -> Benchmark:
    return smoothing_benchmark()
