"""ConDiff at grid 64: FNO inference against the numerical solver, and the generator
against the bare solve (what rejection sampling and the GRF cost on top)."""

import multiprocessing
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import median_time

from opbench.catalog import REFERENCE_TASK
from opbench.data.condiff import fv
from opbench.data.condiff.configs import parse_config
from opbench.data.condiff.generate import draw_coefficient
from opbench.models import MODELS, build_surrogate

GRID = 64
BATCH = 64
SMALL, LARGE = 200, 2000
"""Training samples of the two generator commands whose difference gives the marginal cost."""


@pytest.fixture(scope="module")
def problems():
    config = parse_config(f"cubic0.1_grid{GRID}")
    rng = np.random.default_rng(0)
    ks = [draw_coefficient(config, rng, 10**6)[0] for _ in range(BATCH)]
    rhs = [rng.standard_normal(GRID * GRID) for _ in range(BATCH)]
    return ks, rhs


def test_fno_inference_vs_solver(benchmark, report_ratio, problems):
    """ratio = FNO inference per sample / sparse solve per sample = 1 / speedup."""
    ks, rhs = problems
    hyperparameters = MODELS.get("fno").preset("small")["model"]
    surrogate = build_surrogate("fno", REFERENCE_TASK, hyperparameters).eval()
    batch = {"x": torch.randn(BATCH, 2, GRID, GRID)}

    def infer():
        with torch.no_grad():
            surrogate(batch)

    benchmark.pedantic(infer, rounds=5, warmup_rounds=1)
    benchmark.extra_info["threads"] = torch.get_num_threads()
    solve_all = median_time(lambda: [fv.solve(k, f) for k, f in zip(ks, rhs, strict=True)], 3)
    report_ratio("fno_over_solver", solve_all)


SAMPLES = 40
"""Samples per round of the generator benchmark."""


def test_generator_vs_solver(benchmark, report_ratio):
    """ratio = generating cubic0.1 samples as the generator does (each index its own RNG:
    GRF proposals until the contrast is in the window, right-hand side, solve) / solving
    the same systems again. Solve times vary with k, so both sides use the same k's."""
    config = parse_config(f"cubic0.1_grid{GRID}")
    drawn: list[tuple[np.ndarray, np.ndarray]] = []

    def generate() -> None:
        drawn.clear()
        for index in range(SAMPLES):
            rng = np.random.default_rng([0, 0, index])
            k, _ = draw_coefficient(config, rng, 10**6)
            rhs = rng.standard_normal(GRID * GRID)
            fv.solve(k, rhs)
            drawn.append((k, rhs))

    benchmark.pedantic(generate, rounds=5, warmup_rounds=1)
    report_ratio("generate_over_solve", median_time(lambda: [fv.solve(k, f) for k, f in drawn], 5))


def solve_all(ks: list[np.ndarray], rhs: list[np.ndarray]) -> float:
    """Seconds to solve every system once (what each worker process of
    :func:`concurrent_solve_seconds` runs)."""
    start = time.perf_counter()
    for k, f in zip(ks, rhs, strict=True):
        fv.solve(k, f)
    return time.perf_counter() - start


def concurrent_solve_seconds(ks: list[np.ndarray], rhs: list[np.ndarray], workers: int) -> float:
    """Seconds per solve in each of ``workers`` spawned processes solving at the same time
    (median over the processes; a warm-up round first): what a core delivers when every
    core solves, which is less than one core alone on machines whose cores share caches
    or a physical core."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        list(pool.map(solve_all, [ks[:4]] * workers, [rhs[:4]] * workers))
        seconds = list(pool.map(solve_all, [ks] * workers, [rhs] * workers))
    return statistics.median(seconds) / len(ks)


def test_generator_on_both_cores_vs_solve_bound(benchmark, report_ratio, problems, tmp_path):
    """ratio = the marginal cost of a sample of ``opbench data generate condiff --workers 2``
    / the solve-bound limit on both cores (a solve while both cores solve, / 2). The
    marginal cost is the wall-time difference of generating :data:`LARGE` and
    :data:`SMALL` training samples divided by the difference in samples, so the command's
    fixed start (interpreter, imports, worker processes) cancels out; ``fixed_start_s``
    reports that start. The solves are the module's 64 drawn systems."""
    ks, rhs = problems
    folders = iter(range(10**6))
    command = [str(Path(sys.executable).with_name("opbench")), "data", "generate", "condiff"]

    def generate(n: int) -> float:
        options = ["--config", f"cubic0.1_grid{GRID}", "--n-train", str(n), "--n-test", "1"]
        out = ["--out", str(tmp_path / str(next(folders))), "--workers", "2"]
        start = time.perf_counter()
        subprocess.run([*command, *options, *out], check=True, capture_output=True)
        return time.perf_counter() - start

    small: list[float] = []
    benchmark.pedantic(lambda: small.append(generate(SMALL)), rounds=2, warmup_rounds=0)
    large = statistics.median(generate(LARGE) for _ in range(2))
    per_sample = (large - statistics.median(small)) / (LARGE - SMALL)
    alone = median_time(lambda: solve_all(ks, rhs), 3) / len(ks)
    together = concurrent_solve_seconds(ks, rhs, 2)
    bound = together / 2
    benchmark.extra_info.update(
        {
            "marginal_ms_per_sample": per_sample * 1e3,
            "solve_ms_one_core_alone": alone * 1e3,
            "solve_ms_both_cores_solving": together * 1e3,
            "solve_bound_ms_per_sample": bound * 1e3,
            "fixed_start_s": statistics.median(small) - SMALL * per_sample,
            "generate_both_cores_over_solve_bound_ratio": per_sample / bound,
        }
    )
