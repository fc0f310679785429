"""Seconds per epoch of every trainable model: the table a sweep is planned from.

For each dataset of the published board (ConDiff ``cubic0.1`` at 32² and 64², 900 training
and 100 validation samples; CFDBench-style ``cavity/bc`` at 64², 20 generated cases per
subset; AirfRANS-style ``full``, 80 / 20 generated simulations) and each trainable model
whose layouts include the task's, at 1 and 2 torch threads: the model's ``small`` preset is
trained for :data:`EPOCHS` epochs by opbench's Trainer (LSM on the 32² grid: its
``small32`` preset, which needs no padding there), and the seconds per epoch are the epochs
after the first (an epoch: the training batches, the validation pass, the checkpoint
writes). The models declared faster compiled (``ModelFlags.compile_faster``) are also timed
on ConDiff 32² as ``--compile`` runs them (the first epoch holds the compilations). A bare
PyTorch loop of neuraloperator's FNO as published (its own forward and einsum
contraction) at 32² on 2 threads is timed in the same run as the yardstick the zoo's total
is expressed in.

Nothing here asserts a time; ``benchmarks/report.py`` turns the JSON into the README.
"""

from __future__ import annotations

import statistics
import time

import pytest
import torch
from conftest import bare_epochs, train_epochs
from neuralop.layers.spectral_convolution import SpectralConv, get_contract_fun

from opbench.config import Preset
from opbench.data import load_benchmark
from opbench.models import MODELS

EPOCHS = 2
"""Epochs per case: the first warms up, the second is timed."""

BOARD_DATASETS = {
    "condiff-32": ("condiff", "cubic0.1_grid32", {"n_train": 1000, "n_test": 16}, "grid"),
    "condiff-64": ("condiff", "cubic0.1_grid64", {"n_train": 1000, "n_test": 16}, "grid"),
    "cavity-64": ("cfdbench", "cavity/bc", {"n_cases": 20}, "grid-timestep"),
    "airfrans-full": ("airfrans", "full", {"n_train": 80, "n_test": 20}, "points"),
}
"""Dataset label → (family, config, data options, the layout of its default task)."""

THREADS = (1, 2)
SMALL_GRID_PRESETS = {"condiff-32": Preset.small32}
"""Datasets whose grid has a smaller preset than ``small``, for the models that declare it."""


def preset_for(label: str, model: str) -> Preset:
    """The preset a table row uses: the small-grid one where the model declares it."""
    preset = SMALL_GRID_PRESETS.get(label, Preset.small)
    return preset if preset.value in MODELS.get(model).presets else Preset.small


def cases() -> list[tuple[str, str, int]]:
    """(dataset label, model, threads) for every trainable model the dataset's task fits."""
    return [
        (label, name, threads)
        for label, (*_, layout) in BOARD_DATASETS.items()
        for name, entry in MODELS.items()
        if not entry.fitted and layout in entry.layouts
        for threads in THREADS
    ]


def compiled_cases() -> list[tuple[str, str, int]]:
    """(``condiff-32``, model, threads) for every model declared faster compiled."""
    return [
        ("condiff-32", name, threads)
        for name, entry in MODELS.items()
        if entry.flags.compile_faster
        for threads in THREADS
    ]


@pytest.fixture(scope="module")
def benchmarks():
    """Each board dataset, loaded (and generated into the cache) once."""
    loaded = {}

    def get(label: str):
        if label not in loaded:
            family, config, options, _ = BOARD_DATASETS[label]
            loaded[label] = load_benchmark(family, config, **options)
        return loaded[label]

    return get


def neuralop_as_published(surrogate: torch.nn.Module) -> None:
    """Give every SpectralConv back neuraloperator's own forward and contraction (undo
    :func:`opbench.models.spectral_conv.speed_up_spectral_convs`)."""
    for layer in surrogate.modules():
        if isinstance(layer, SpectralConv):
            vars(layer).pop("forward", None)
            layer._contract = get_contract_fun(
                layer.weight, implementation=layer.implementation, separable=layer.separable
            )


@pytest.fixture
def threads(request):
    before = torch.get_num_threads()
    yield request.param
    torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("label", "model", "threads", "compiled"),
    [(*case, False) for case in cases()] + [(*case, True) for case in compiled_cases()],
    indirect=["threads"],
)
def test_seconds_per_epoch(benchmark, benchmarks, label, model, threads, compiled, tmp_path):
    torch.set_num_threads(threads)
    bench = benchmarks(label)
    seconds: list[float] = []
    preset = preset_for(label, model)

    def train() -> None:
        seconds.extend(train_epochs(bench, model, preset, EPOCHS, tmp_path, compile=compiled))

    benchmark.pedantic(train, rounds=1, iterations=1)
    benchmark.extra_info.update(
        {
            "dataset": label,
            "model": model,
            "preset": preset.value,
            "threads": threads,
            "compiled": compiled,
            "seconds_per_epoch": statistics.median(seconds[1:]),
            "epoch_seconds": seconds,
            "n_train": len(bench.splits["train"]),
        }
    )


def test_bare_fno_yardstick(benchmark, benchmarks):
    """The yardstick: a bare PyTorch loop of neuraloperator's FNO as published (small preset,
    its own einsum contraction) on ConDiff 32², 2 threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    bench = benchmarks("condiff-32")
    seconds: list[float] = []
    start = time.perf_counter()
    benchmark.pedantic(
        lambda: seconds.extend(bare_epochs(bench, "fno", EPOCHS, neuralop_as_published)),
        rounds=1,
        iterations=1,
    )
    torch.set_num_threads(before)
    benchmark.extra_info.update(
        {
            "dataset": "condiff-32",
            "model": "fno (bare loop)",
            "threads": 2,
            "seconds_per_epoch": statistics.median(seconds[1:]),
            "epoch_seconds": seconds,
            "wall_seconds": time.perf_counter() - start,
        }
    )
