"""The CFDBench-style solver at several cost–accuracy settings: its solver ladder.

The generator solved each case with opbench's projection solver
(:func:`~opbench.data.cfdbench.solver.simulate`) on ``solver_cells`` cells across the
domain height, and wrote frames on the data's frame grid. A setting of the ladder solves the
same case again from its initial condition on a coarser grid, ``cells <n>`` for n = the
generator's cells × 1, ¾, ½, ¼ (:data:`FRACTIONS`, at least :data:`MIN_CELLS`), and writes its
frames on the same frame grid at the same times, padded and masked as the data are
(:meth:`~opbench.data.cfdbench.problems.Problem.features`). The prediction of a test pair
(frame t → t + k) is the setting's frame t + k of that case: the solver gets only the case's
parameters, while a model gets the true frame t, so the comparison favours the model.

A setting runs a case up to its last target frame, once; its time per test sample is that
time over the case's pairs. ``cells`` at the generator's own resolution reproduces the data
(the reference point). Larger time steps at a given grid are not a setting: the solver
already steps at its stability limit (Δt·(advective + diffusive rate) ≤ 1, see
:mod:`~opbench.data.cfdbench.solver`), and coarser cells lengthen its step with the cell
size; stepping beyond that limit blows up rather than trading accuracy for time.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from opbench.data.base import SolverLadder
from opbench.data.cfdbench.design import DESIGNS
from opbench.data.cfdbench.problems import Problem
from opbench.data.cfdbench.solver import simulate

FRACTIONS = (1.0, 0.75, 0.5, 0.25)
"""Solver cells of each setting, as fractions of the generator's."""
MIN_CELLS = 8

NOT_APPLICABLE = {
    "larger time steps": "the solver already steps at its stability limit; only coarser "
    "cells lengthen its step"
}


@dataclass(frozen=True)
class CaseProblem:
    """One test case to solve: the problem's name, its case.json values, the times of the
    frames up to its last target, and the frame grid (H, W) before padding."""

    problem: str
    case: dict[str, Any]
    frame_times: tuple[float, ...]
    frame_shape: tuple[int, int]


def solve_case(problem: CaseProblem, cells: int) -> np.ndarray:
    """The case's frames on ``cells`` solver cells: (T, 2, H, W), u then v, unpadded."""
    design = DESIGNS.get(problem.problem)
    run = simulate(
        design.domain(problem.case), cells, problem.frame_times, frame_shape=problem.frame_shape
    )
    return np.stack([run.u, run.v], axis=1)


def _predictions(
    solutions: list[np.ndarray],
    cases: Sequence[dict[str, Any]],
    targets: Sequence[tuple[int, int]],
    layout: Problem,
) -> Tensor:
    """The pairs' predictions (N, 2, H', W'): each case's frames padded as the data are,
    then the target frame of every pair."""
    padded = []
    for frames, case in zip(solutions, cases, strict=True):
        u, v, _ = layout.features(frames[:, 0], frames[:, 1], case)
        padded.append(np.stack([u, v], axis=1))
    return torch.from_numpy(np.stack([padded[case][frame] for case, frame in targets]))


def ladder(
    design_name: str,
    cases: Sequence[dict[str, Any]],
    sidecars: Sequence[dict[str, Any]],
    targets: Sequence[tuple[int, int]],
    layout: Problem,
) -> SolverLadder:
    """The ladder on a test split: its cases' case.json values, each case's generator
    sidecar (``solver_cells``, ``frame_size``, ``start_time``, ``frame_dt``), and the
    (case, target frame) of every test pair. Subsets generated at different resolutions
    share the settings of the coarsest."""
    last = [0] * len(cases)
    for case, frame in targets:
        last[case] = max(last[case], frame)
    problems = [
        CaseProblem(
            problem=design_name,
            case=case,
            frame_times=tuple(sidecar["start_time"] + sidecar["frame_dt"] * np.arange(last[i] + 1)),
            frame_shape=(sidecar["frame_size"], sidecar["frame_size"]),
        )
        for i, (case, sidecar) in enumerate(zip(cases, sidecars, strict=True))
    ]
    cells = min(sidecar["solver_cells"] for sidecar in sidecars)
    options = {
        f"cells {n}": functools.partial(solve_case, cells=n)
        for n in sorted({max(MIN_CELLS, round(cells * f)) for f in FRACTIONS}, reverse=True)
    }
    return SolverLadder(
        options=options,
        problems=problems,
        to_prediction=functools.partial(
            _predictions, cases=list(cases), targets=list(targets), layout=layout
        ),
        not_applicable=dict(NOT_APPLICABLE),
        version="2",  # 2: the ¾ setting, so that the envelope is not interpolated in one
    )  # step from ½ to the reference (whose error is round-off)
