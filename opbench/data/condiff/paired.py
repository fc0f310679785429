"""opbench's paired ConDiff variant: the same physical samples on nested grids.

Not a published config: an opbench variant for resolution transfer, named
``<covariance><variance>_paired_grid<g>`` (or ``poisson_paired_grid<g>``) with
g ∈ {15, 31, 63, 127} (:data:`~opbench.data.condiff.configs.PAIRED_GRIDS`).

* **Nesting.** Both fields of a sample are drawn once, as point values on the lattice
  j/L, j = 0 … L−1, L = :data:`LATTICE` = 256 per axis. Grid g has g+1 = c cells of size
  1/c: cell i's centre (i + ½)/c is lattice point (L/c)·i + L/(2c), and interior vertex i at
  (i + 1)/c is lattice point (L/c)·(i + 1); every grid's cells and vertices are lattice
  points, so a sample at g = 31, 63 and 127 is the same field read at different points,
  and the vertices of a coarse grid are vertices of every finer one (vertex i of g
  = vertex r(i + 1) − 1 of the grid r times finer).
* **Coefficient.** k = exp(φ) at the cell centres, φ the config's GRF (covariance,
  variance, l = 0.05) sampled by circulant embedding on the lattice. The contrast window
  of the variance is applied to the values at the cell centres of the finest grid
  (g = 127), whichever grid is written, so every grid keeps the same samples (the coarser
  grids' own contrast is then at most the window's).
* **Right-hand side.** Not white noise, which has no continuum limit: f is a smooth GRF,
  Gaussian covariance C(d) = exp(−(|d|/l_f)²) with l_f = :data:`RHS_LENGTH` = 0.1 and unit
  variance, at the interior vertices (a point value of the function, so A u = f is a
  consistent discretisation of −∇·(k∇u) = f at every grid).
* **Targets.** Each grid's u is its own finite-volume solve (:mod:`~opbench.data.condiff.fv`);
  the fine solve read at the coarse vertices differs from the coarse solve by the
  discretisation error, which :func:`restrict` lets a reader measure.

Each sample draws from its own stream ``np.random.default_rng([seed, split, index])``: φ
first (proposals in the same batches as the published generator), then f.
"""

from __future__ import annotations

import functools

import numpy as np

from opbench.data.condiff.configs import ConDiffConfig
from opbench.data.condiff.grf import CirculantSampler, first_accepted

LATTICE = 256
"""Lattice points per axis: the cell centres and vertices of every paired grid."""
FINEST_CELLS = 128
"""Cells per axis of the finest paired grid (g = 127), where the contrast window applies."""
RHS_LENGTH = 0.1
"""Correlation length of the right-hand side's Gaussian covariance."""


def cell_points(grid: int) -> np.ndarray:
    """Lattice indices of the (g+1) cell centres along one axis."""
    stride = LATTICE // (grid + 1)
    return stride * np.arange(grid + 1) + stride // 2


def vertex_points(grid: int) -> np.ndarray:
    """Lattice indices of the g interior vertices along one axis."""
    stride = LATTICE // (grid + 1)
    return stride * np.arange(1, grid + 1)


def restrict(fine: np.ndarray, coarse_grid: int) -> np.ndarray:
    """Vertex values (..., g_f, g_f) of a finer paired grid read at the vertices of
    ``coarse_grid`` (injection: those vertices are shared)."""
    ratio = (fine.shape[-1] + 1) // (coarse_grid + 1)
    index = ratio * np.arange(1, coarse_grid + 1) - 1
    return fine[..., index[:, None], index[None, :]]


@functools.lru_cache(maxsize=8)
def _sampler(model: str, variance: float, length: float) -> CirculantSampler:
    return CirculantSampler(model, variance, LATTICE, 1.0 / LATTICE, length)


def draw_log_coefficient(
    config: ConDiffConfig, rng: np.random.Generator, max_proposals: int
) -> tuple[np.ndarray | None, int]:
    """φ on the lattice (L, L) whose finest-grid contrast is in the window, and the
    proposals used; ``None`` (and 0) for Poisson; ``None`` and the proposals when none was
    accepted within ``max_proposals``."""
    if config.is_poisson:
        return None, 0
    sampler = _sampler(config.covariance, config.variance, config.correlation_length)
    centres = cell_points(FINEST_CELLS - 1)
    low, high = config.contrast_window
    return first_accepted(
        sampler,
        rng,
        lambda phi: low <= np.exp(np.ptp(phi[np.ix_(centres, centres)])) <= high,
        max_proposals,
    )


def draw_rhs(rng: np.random.Generator) -> np.ndarray:
    """f on the lattice (L, L): the smooth Gaussian-covariance field of the module doc."""
    sampler = _sampler("gaussian", 1.0, RHS_LENGTH)
    return sampler.fields(sampler.noise(rng, 1)[0])[0]


def on_grid(phi: np.ndarray | None, f: np.ndarray, grid: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell coefficients k (g+1, g+1) (ones for Poisson) and f at the interior vertices
    (g, g), [i, j] along the lattice's axes."""
    cells, vertices = cell_points(grid), vertex_points(grid)
    k = np.ones((grid + 1, grid + 1)) if phi is None else np.exp(phi[np.ix_(cells, cells)])
    return k, f[np.ix_(vertices, vertices)]
