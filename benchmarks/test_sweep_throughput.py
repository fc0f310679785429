"""Sweep throughput: one run per core (``--workers 2``, 1 torch thread each) against one
run at a time on both cores (``--workers 1``, 2 threads), for a small and a large model.

Each case sweeps :data:`SEEDS` seeds of one model through :func:`opbench.sweep.sweep` (the
``opbench sweep`` code path: spawned worker processes, records, checkpoints) after the
data is in the cache; the ratio is the one-worker wall time over the two-worker one, i.e.
runs per hour with two workers ÷ runs per hour with one (> 1: two workers are faster).
``opbench sweep`` defaults to one worker per core; this is the measurement behind it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from opbench.sweep import plan, sweep

SEEDS = (0, 1, 2, 3)
CASES = {
    "small": ("unet", "condiff:cubic0.1_grid32", 6, 900),
    "large": ("fno", "condiff:cubic0.1_grid64", 2, 400),
}
"""Label → (model, dataset, epochs, training samples)."""


def sweep_plan(case: str, out: Path):
    """The case's sweep into ``out`` (planning loads, or first generates, its data)."""
    model, dataset, epochs, n_train = CASES[case]
    overrides = {"data": {"n_train": n_train, "n_test": 16}}
    return plan([model], [dataset], SEEDS, out, epochs=epochs, overrides=overrides)


def sweep_seconds(case: str, workers: int, out: Path) -> float:
    """Wall seconds of sweeping the case's seeds with ``workers`` workers into ``out``."""
    todo = sweep_plan(case, out)
    start = time.perf_counter()
    outcomes = sweep(todo, out, workers=workers)
    seconds = time.perf_counter() - start
    assert len(outcomes) == len(SEEDS) and all(o.status == "ok" for o in outcomes)
    return seconds


@pytest.mark.parametrize("case", CASES)
def test_two_workers_over_one(benchmark, case, tmp_path):
    model, dataset, epochs, n_train = CASES[case]
    sweep_plan(case, tmp_path / "warm-up")  # generates the data into the cache; not timed
    one = sweep_seconds(case, 1, tmp_path / "one")
    two: list[float] = []
    benchmark.pedantic(lambda: two.append(sweep_seconds(case, 2, tmp_path / "two")), rounds=1)
    ratio = one / two[0]
    benchmark.extra_info.update(
        {
            "case": f"{model} {dataset}, {epochs} epochs, {n_train} samples, {len(SEEDS)} seeds",
            "one_worker_runs_per_hour": len(SEEDS) * 3600 / one,
            "two_workers_runs_per_hour": len(SEEDS) * 3600 / two[0],
            "two_workers_over_one_throughput_ratio": ratio,
        }
    )
