"""ConDiff's numerical solvers at several cost–accuracy settings: its solver ladder.

Every setting solves A(k)u = f of :mod:`~opbench.data.condiff.fv` for one test sample from
scratch (assembly and set-up included) and returns u on the g×g grid, shape (1, g, g):

* ``direct``: sparse LU (SuperLU, :func:`~opbench.data.condiff.fv.solve`), exact to
  round-off; it is how the targets were made.
* ``amg-cg <tol>``: conjugate gradients preconditioned by one V-cycle of smoothed-aggregation
  algebraic multigrid (``pyamg.smoothed_aggregation_solver``, set up per sample since k
  changes), stopped when ‖f − Au‖₂ ≤ tol·‖f‖₂: what a practitioner would run, at the
  tolerances of :data:`TOLERANCES`.
* ``jacobi-cg <tol>``: conjugate gradients preconditioned by the diagonal of A
  (``scipy.sparse.linalg.cg``), the same stopping rule: no set-up, so cheaper than AMG
  where a loose tolerance is enough, and slower where it is not.
* ``fast-poisson``: for k ≡ 1 only, A = −Δ_h is diagonal in the orthonormal DST-I basis
  S, so u = S(Sf / λ) with λ_kl = 4(g+1)²(sin²(π(k+1)/(2(g+1))) + sin²(π(l+1)/(2(g+1))))
  (:func:`~opbench.ops.dst.laplacian_eigenvalues`); O(g² log g), exact to round-off.

* ``coarse grid <g_c>`` (the paired variant only, :mod:`~opbench.data.condiff.paired`): the
  solve on the nested grid with 2× or 4× coarser cells: k averaged over the fine cells of
  each coarse cell, f read at the shared vertices, then the solution interpolated back to
  the fine vertices (bicubic, zero boundary, :func:`~opbench.ops.resample.resample`).

A coarser-grid solve does not apply to ConDiff's published data: its right-hand side is
white noise at the vertices of the grid (not scaled by h²), which has no coarse version and
no continuum limit (:data:`NOT_APPLICABLE`).
"""

from __future__ import annotations

import functools

import numpy as np
import pyamg
import scipy.fft
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch
from torch import Tensor

from opbench.data.base import SolverLadder
from opbench.data.condiff import fv, paired
from opbench.ops.dst import laplacian_eigenvalues
from opbench.ops.resample import resample

TOLERANCES = (1e-1, 1e-2, 1e-3, 1e-4, 1e-6, 1e-8)
"""Relative residual tolerances of the preconditioned CG ladders."""
MIN_COARSE_GRID = 7
"""The coarsest grid a coarse-grid setting solves on."""
MAX_ITERATIONS = 1000
"""CG iterations after which a setting stops whatever its residual (its error shows it)."""

NOT_APPLICABLE = {
    "coarse grid": "the right-hand side is white noise at the grid's vertices, with no "
    "coarse version and no continuum limit, so a coarser solve approximates another problem"
}

Problem = tuple[np.ndarray, np.ndarray]
"""One sample: cell coefficients k (g+1, g+1) and the right-hand side f (g²,), Fortran order."""


def direct(problem: Problem) -> np.ndarray:
    """u by sparse LU, (1, g, g)."""
    k, rhs = problem
    return fv.vector_to_grid(fv.solve(k, rhs), k.shape[0] - 1)[None]


def amg_cg(problem: Problem, tolerance: float) -> np.ndarray:
    """u by AMG-preconditioned CG to relative residual ``tolerance``, (1, g, g)."""
    k, rhs = problem
    state = np.random.get_state()  # pyamg estimates a spectral radius from numpy's global
    np.random.seed(0)  # random generator: seeded per solve so that curves reproduce
    try:
        hierarchy = pyamg.smoothed_aggregation_solver(fv.assemble(k))
    finally:
        np.random.set_state(state)
    u = hierarchy.solve(rhs, tol=tolerance, maxiter=MAX_ITERATIONS, accel="cg")
    return fv.vector_to_grid(u, k.shape[0] - 1)[None]


def jacobi_cg(problem: Problem, tolerance: float) -> np.ndarray:
    """u by diagonally preconditioned CG to relative residual ``tolerance``, (1, g, g)."""
    k, rhs = problem
    matrix = fv.assemble(k)
    inverse_diagonal = sp.diags(1.0 / matrix.diagonal())
    u, _ = spla.cg(matrix, rhs, rtol=tolerance, maxiter=MAX_ITERATIONS, M=inverse_diagonal)
    return fv.vector_to_grid(u, k.shape[0] - 1)[None]


def fast_poisson(problem: Problem) -> np.ndarray:
    """u = S(Sf/λ) for k ≡ 1 (DST-I, ``scipy.fft.dstn(type=1, norm="ortho")``), (1, g, g)."""
    k, rhs = problem
    g = k.shape[0] - 1
    f = fv.vector_to_grid(rhs, g)
    eigenvalues = laplacian_eigenvalues(g, g).numpy()
    coefficients = scipy.fft.dstn(f, type=1, norm="ortho") / eigenvalues
    return scipy.fft.dstn(coefficients, type=1, norm="ortho")[None]


def coarse_grid(problem: Problem, factor: int) -> np.ndarray:
    """u from the solve on the grid with ``factor``× coarser cells, interpolated back,
    (1, g, g)."""
    k, rhs = problem
    g = k.shape[0] - 1
    coarse = (g + 1) // factor - 1
    k_coarse = k.reshape(coarse + 1, factor, coarse + 1, factor).mean(axis=(1, 3))
    f_coarse = paired.restrict(fv.vector_to_grid(rhs, g), coarse)
    u = fv.vector_to_grid(fv.solve(k_coarse, fv.grid_to_vector(f_coarse)), coarse)
    back = resample(torch.from_numpy(u)[None, None], (g, g), "vertex", boundary="zero")
    return back[0].numpy()


def _stack(solutions: list[np.ndarray]) -> Tensor:
    return torch.from_numpy(np.stack(solutions))


COARSE_FACTORS = (2, 4)
"""Cell-size ratios of the paired variant's coarse-grid settings."""


def ladder(
    k_cells: np.ndarray, rhs: np.ndarray, poisson: bool, nested: bool = False
) -> SolverLadder:
    """The ladder on the test samples: ``k_cells`` (N, g+1, g+1), ``rhs`` (N, g²);
    ``nested``: the paired variant, whose grids nest and whose f has a coarse version."""
    options = {"direct": direct}
    for name, solver in (("amg-cg", amg_cg), ("jacobi-cg", jacobi_cg)):
        options |= {
            f"{name} {tol:.0e}": functools.partial(solver, tolerance=tol) for tol in TOLERANCES
        }
    not_applicable = {} if nested else dict(NOT_APPLICABLE)
    cells = k_cells.shape[-1]
    if nested:
        options |= {
            f"coarse grid {cells // factor - 1}": functools.partial(coarse_grid, factor=factor)
            for factor in COARSE_FACTORS
            if cells % factor == 0 and cells // factor - 1 >= MIN_COARSE_GRID
        }
    if poisson:
        options["fast-poisson"] = fast_poisson
    else:
        not_applicable["fast-poisson"] = (
            "k is not constant, so the sine basis does not diagonalise A(k)"
        )
    return SolverLadder(
        options=options,
        problems=list(zip(k_cells, rhs, strict=True)),
        to_prediction=_stack,
        not_applicable=not_applicable,
    )
