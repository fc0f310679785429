"""ConDiff at grid 64: FNO inference against the numerical solver, and the generator
against the bare solve (what rejection sampling and the GRF cost on top)."""

import subprocess
import sys
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


def test_generator_vs_solver(benchmark, report_ratio, problems):
    """ratio = generating one cubic0.1 sample (GRF + rejection + assembly + solve) / solve."""
    ks, rhs = problems
    config = parse_config(f"cubic0.1_grid{GRID}")
    rng = np.random.default_rng(1)

    def generate_one():
        k, _ = draw_coefficient(config, rng, 10**6)
        fv.solve(k, rng.standard_normal(GRID * GRID))

    benchmark.pedantic(generate_one, rounds=20, warmup_rounds=2)
    report_ratio("generate_over_solve", median_time(lambda: fv.solve(ks[0], rhs[0]), 20))


def test_generator_on_both_cores_vs_solve_bound(benchmark, report_ratio, problems, tmp_path):
    """ratio = wall time of ``opbench data generate condiff --workers 2`` (1600 cubic0.1
    training samples; the command's start, worker processes, files and checksums included)
    / the solve-bound limit, 1600 × one solve / 2 cores."""
    ks, rhs = problems
    n = 1600
    folders = iter(range(10**6))
    command = [str(Path(sys.executable).with_name("opbench")), "data", "generate", "condiff"]
    options = ["--config", f"cubic0.1_grid{GRID}", "--n-train", str(n), "--n-test", "1"]

    def generate_all():
        out = ["--out", str(tmp_path / str(next(folders))), "--workers", "2"]
        subprocess.run([*command, *options, *out], check=True, capture_output=True)

    benchmark.pedantic(generate_all, rounds=2, warmup_rounds=0)
    solve = median_time(lambda: fv.solve(ks[0], rhs[0]), 20)
    report_ratio("generate_both_cores_over_solve_bound", (n + 1) * solve / 2)
