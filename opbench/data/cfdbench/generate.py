"""opbench's CFDBench-style generator: single-phase Navier–Stokes, the published layout.

For each requested subset, case i draws its parameters (:mod:`~opbench.data.cfdbench.design`),
runs :func:`~opbench.data.cfdbench.solver.simulate` from rest, records ``frames`` frames
``frame_dt`` apart (after the problem's spin-up time), interpolated to the cell centres of
an ``frame_size`` × ``frame_size`` frame grid, and writes
``<root>/<problem>/<subset>/caseNNNN/{u.npy, v.npy, case.json}``. Each subset folder gets a
sidecar ``opbench.json`` (generator, version, options, per-case solver statistics) that
marks it as generated. Cases run in a process pool; case i draws its parameters from
``np.random.default_rng([seed, problem, subset, i])``, so the data does not depend on the
number of workers or of cases.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import Field

from opbench.config import Seed, Size, StrictModel
from opbench.data.cache import SIDECAR
from opbench.data.cfdbench import solver
from opbench.data.cfdbench.configs import SUBSETS, CFDBenchConfig
from opbench.data.cfdbench.design import DESIGNS
from opbench.data.cfdbench.files import case_name, write_case
from opbench.io import write_json_atomic
from opbench.workers import process_pool

GENERATOR_VERSION = "1"
"""Bump whenever generated data for given options would change."""

GENERATOR = "opbench.cfdbench"
LABEL = "cfdbench-style, single-phase (opbench Navier–Stokes projection solver)"
PROBLEM_IDS = {"cavity": 0, "tube": 1, "dam": 2, "cylinder": 3}

DEFAULT_CASES = 20
DEFAULT_FRAMES = 41
DEFAULT_FRAME_SIZE = 64
"""The published frame grid, 64 × 64 (Luo, Chen & Zhang 2023: Fluent fields interpolated to it)."""


class GenerationOptions(StrictModel):
    """What to generate per subset: case count, frames, frame grid, solver cells, seed."""

    n_cases: Size = DEFAULT_CASES
    frames: Annotated[int, Field(strict=True, ge=2)] = DEFAULT_FRAMES
    frame_size: Annotated[int, Field(strict=True, ge=4)] = DEFAULT_FRAME_SIZE
    solver_cells: Annotated[int, Field(strict=True, ge=8)] | None = None
    seed: Seed = 0


@dataclass(frozen=True)
class GenerationReport:
    """What one generation did (per-case solver statistics are in the sidecars)."""

    path: Path
    n_cases: int
    frames: int
    seconds: float
    case_seconds: list[float]

    def lines(self) -> list[str]:
        per_case = np.asarray(self.case_seconds)
        return [
            f"{self.n_cases} cases × {self.frames} frames in {self.seconds:.1f} s wall",
            f"solver time per case: mean {per_case.mean():.2f} s, "
            f"min {per_case.min():.2f} s, max {per_case.max():.2f} s",
        ]


def _solve_case(
    problem: str, subset: str, index: int, options: GenerationOptions, out: Path
) -> dict[str, Any]:
    """Draw, solve and write case ``index`` of one subset; returns its statistics."""
    design = DESIGNS.get(problem)
    ids = [options.seed, PROBLEM_IDS[problem], SUBSETS.index(subset), index]
    case = design.case(subset, np.random.default_rng(ids))
    shape = (options.frame_size, options.frame_size)
    times = design.start_time + design.frame_dt * np.arange(options.frames)
    start = time.perf_counter()
    run = solver.simulate(
        design.domain(case),
        options.solver_cells or design.solver_cells,
        times,
        frame_shape=shape,
    )
    seconds = time.perf_counter() - start
    write_case(out / case_name(index), run.u, run.v, design.case_json(index, case, shape))
    return {
        "case": case_name(index),
        "reynolds": design.reynolds(case),
        "seconds": seconds,
        "steps": run.steps,
        "max_divergence": run.max_divergence,
    }


def generate(
    config: CFDBenchConfig,
    root: Path,
    options: GenerationOptions | None = None,
    workers: int | None = None,
) -> GenerationReport:
    """Write ``root/<problem>/<subset>/caseNNNN/`` for every subset of ``config``."""
    options = options or GenerationOptions()
    design = DESIGNS.get(config.problem)
    workers = workers or min(2, os.cpu_count() or 1)
    start = time.perf_counter()
    case_seconds: list[float] = []
    with contextlib.ExitStack() as stack:
        # One pool for all subsets: spawned workers take a while to start.
        pool = stack.enter_context(process_pool(workers)) if workers > 1 else None
        for subset in config.subsets:
            out = Path(root) / config.problem / subset
            out.mkdir(parents=True, exist_ok=True)
            solve = functools.partial(_solve_case, config.problem, subset, options=options, out=out)
            indices = range(options.n_cases)
            stats = list(pool.map(solve, indices)) if pool else [solve(i) for i in indices]
            case_seconds += [stat["seconds"] for stat in stats]
            write_json_atomic(
                out / SIDECAR,
                {
                    "generator": GENERATOR,
                    "generator_version": GENERATOR_VERSION,
                    "label": LABEL,
                    "created": datetime.now(UTC).isoformat(timespec="seconds"),
                    "problem": config.problem,
                    "subset": subset,
                    "n_cases": options.n_cases,
                    "frames": options.frames,
                    "frame_size": options.frame_size,
                    "frame_dt": design.frame_dt,
                    "start_time": design.start_time,
                    "solver_cells": options.solver_cells or design.solver_cells,
                    "seed": options.seed,
                    "reynolds_range": list(design.reynolds_range),
                    "cases": stats,
                },
            )
    seconds = time.perf_counter() - start
    return GenerationReport(Path(root), len(case_seconds), options.frames, seconds, case_seconds)
