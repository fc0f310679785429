"""opbench's Trainer against a bare PyTorch loop, for every trainable grid model.

Like with like: the same network between its normalisers, optimiser, loss, clipping and
batch size, on the same 900 training and 100 validation samples (ConDiff ``cubic0.1`` at
32²), with a validation pass in both (:func:`conftest.train_epochs`,
:func:`conftest.bare_epochs`). Each side runs :data:`EPOCHS` epochs, :data:`REPEATS` times,
interleaved, the side that goes first alternating; the first epoch of each is a warm-up.
LSM uses its ``small32`` preset, which needs no padding at 32². The ratio is the median
over the paired steady epochs of opbench's epoch / the bare epoch, with a 95 % bootstrap
interval of that median. Everything opbench adds (batching, normalisation, per-batch
Python, validation metric, checkpoint writes, progress) is in the ratio.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import GRID_MODELS, bare_epochs, train_epochs
from test_epoch_seconds import preset_for

from opbench.data import load_benchmark

EPOCHS = 6
"""Epochs per side and repeat: 5 steady ones, so that the run's last epoch, which writes
the checkpoints that a long run writes once a minute, is a fifth of the pairs."""
REPEATS = 4


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("condiff", "cubic0.1_grid32", n_train=1000, n_test=16)


def bootstrap_median(values: np.ndarray, draws: int = 4000) -> tuple[float, float]:
    """95 % percentile-bootstrap interval of the median of ``values`` (seeded)."""
    rng = np.random.default_rng(0)
    medians = np.median(rng.choice(values, (draws, len(values))), axis=1)
    return float(np.percentile(medians, 2.5)), float(np.percentile(medians, 97.5))


@pytest.mark.parametrize("model", GRID_MODELS)
def test_trainer_epoch_over_bare_loop(benchmark, bench, model, tmp_path):
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    pairs: list[tuple[float, float]] = []
    preset = preset_for("condiff-32", model)

    def opbench(repeat: int) -> list[float]:
        return train_epochs(bench, model, preset, EPOCHS, tmp_path / str(repeat))

    def bare(repeat: int) -> list[float]:
        return bare_epochs(bench, model, EPOCHS, preset=preset)

    def measure() -> None:
        for repeat in range(REPEATS):
            order = (opbench, bare) if repeat % 2 == 0 else (bare, opbench)
            seconds = {side: side(repeat) for side in order}
            pairs.extend(zip(seconds[opbench][1:], seconds[bare][1:], strict=True))

    benchmark.pedantic(measure, rounds=1, iterations=1)
    torch.set_num_threads(before)
    ratios = np.array([a / b for a, b in pairs])
    low, high = bootstrap_median(ratios)
    benchmark.extra_info.update(
        {
            "model": model,
            "preset": preset.value,
            "threads": 2,
            "ratio": float(np.median(ratios)),
            "ratio_low": low,
            "ratio_high": high,
            "n_epochs": len(ratios),
            "opbench_seconds": float(np.median([a for a, _ in pairs])),
            "bare_seconds": float(np.median([b for _, b in pairs])),
        }
    )
