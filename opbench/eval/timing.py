"""Cost metrics: inference time per sample, numerical-solver time per sample, memory.

Timings are medians over repeats after a warm-up, with the device synchronised, at the
process's torch thread count (stated in the record). They are measurements on a noisy
machine: compare ratios measured in one run (``speedup``), not absolute numbers across
machines.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable

import torch

from opbench.data.base import SampleSet
from opbench.models.surrogate import Surrogate


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(
    fn: Callable[[], None], repeats: int, warmup: int = 1, device: torch.device | None = None
) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if device is not None:
            _synchronize(device)
        start = time.perf_counter()
        fn()
        if device is not None:
            _synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@torch.no_grad()
def inference_ms_per_sample(
    surrogate: Surrogate,
    samples: SampleSet,
    batch_size: int,
    device: torch.device,
    repeats: int = 5,
) -> float:
    """Batched inference time per sample (ms): one batch of up to ``batch_size`` test samples,
    model in eval mode, after warm-up, median of ``repeats``."""
    surrogate.eval()
    batch = next(samples.batches(batch_size))
    batch = {name: t.to(device) for name, t in batch.items()}
    n = batch["x"].shape[0]
    return 1e3 * median_seconds(lambda: surrogate(batch), repeats, warmup=2, device=device) / n


def solver_ms_per_sample(
    solve_one: Callable[[int], None], n_samples: int, repeats: int = 5
) -> float:
    """Median time (ms) of the numerical solver on test samples 0, 1, … (assembly + solve)."""
    indices = iter(range(10**9))
    return 1e3 * median_seconds(lambda: solve_one(next(indices) % n_samples), repeats)


def peak_memory_mb(device: torch.device) -> float:
    """Peak resident memory of this process (MB); on CUDA, peak allocated device memory
    is reported instead."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10
