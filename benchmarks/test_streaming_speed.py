"""The streamed training split against the in-memory one (ConDiff ``cubic0.1`` at 64²,
900 training samples, batch 16, shuffled): the loader alone (an epoch of batches), and a
U-Net epoch (small preset) that reads them, 2 threads. The normalisers are fitted before
the timed epoch (a run fits them once; streamed, that is two passes over the file)."""

from __future__ import annotations

import statistics
import time

import pytest
import torch
from conftest import median_time, recipe

from opbench.data import load_benchmark
from opbench.data.base import Split
from opbench.models import build_surrogate
from opbench.train.losses import LOSSES
from opbench.train.optim import OPTIMIZERS

OPTIONS = {"n_train": 1000, "n_test": 16}
TINY = 1e-6
"""A budget (GiB) no split fits in: forces streaming."""


@pytest.fixture(scope="module")
def splits() -> dict[str, Split]:
    kinds = {"in_memory": {}, "streamed": {"max_memory_gb": TINY}}
    return {
        kind: load_benchmark("condiff", "cubic0.1_grid64", **OPTIONS, **extra).splits["train"]
        for kind, extra in kinds.items()
    }


def read_epoch(split: Split) -> None:
    for _ in split.batches(16, shuffle=True, generator=torch.Generator().manual_seed(0)):
        pass


def test_streamed_loader_over_in_memory(benchmark, report_ratio, splits):
    benchmark.pedantic(lambda: read_epoch(splits["streamed"]), rounds=3, warmup_rounds=1)
    report_ratio(
        "streamed_over_in_memory_loader", median_time(lambda: read_epoch(splits["in_memory"]))
    )


def prepared(split: Split, task):
    """A small-preset U-Net with its normalisers fitted on ``split`` (once per run in a real
    run, so outside the timed epoch), its optimiser and loss, and the batch size."""
    hyperparameters, config = recipe("unet", 1)
    torch.manual_seed(0)
    surrogate = build_surrogate("unet", task, hyperparameters)
    surrogate.fit_normalizers_on(split)
    optimizer = OPTIMIZERS.get(config.optimizer)(surrogate.parameters(), config)
    return surrogate, optimizer, LOSSES.get(config.loss), config.batch_size


def unet_epoch(split: Split, surrogate, optimizer, loss_fn, batch_size: int) -> None:
    """One training epoch over ``split``'s batches."""
    for batch in split.batches(batch_size, shuffle=True, keys=("x", "y")):
        loss = loss_fn(surrogate(batch, normalized=True), surrogate.output_norm.encode(batch["y"]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def epoch_seconds(split: Split, task, repeats: int = 3) -> float:
    """Median seconds of :func:`unet_epoch` over ``repeats`` fresh preparations."""
    times = []
    for _ in range(repeats):
        parts = prepared(split, task)
        start = time.perf_counter()
        unet_epoch(split, *parts)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_streamed_training_epoch_over_in_memory(benchmark, report_ratio, splits):
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    task = load_benchmark("condiff", "cubic0.1_grid64", **OPTIONS).task
    streamed = splits["streamed"]
    benchmark.pedantic(
        unet_epoch,
        setup=lambda: ((streamed, *prepared(streamed, task)), {}),
        rounds=3,
        warmup_rounds=1,
    )
    report_ratio("streamed_over_in_memory_unet_epoch", epoch_seconds(splits["in_memory"], task))
    torch.set_num_threads(before)
