"""ConDiff finite volumes: convergence, symmetry, solve, and the batched torch stencil."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from opbench.data.condiff import fv

PI = np.pi


def k_exact(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A smooth, positive, non-symmetric coefficient."""
    return 1.0 + 0.5 * np.sin(2 * PI * x + 1.0) * np.cos(PI * y)


def manufactured_error(g: int) -> float:
    """Max-norm error for u = sin(πx)sin(πy), f = −∇·(k∇u) computed analytically."""
    h = 1.0 / (g + 1)
    centres = (np.arange(g + 1) + 0.5) * h
    k = k_exact(*np.meshgrid(centres, centres, indexing="ij"))  # axis 0 is x
    vertices = np.arange(1, g + 1) * h
    x, y = np.meshgrid(vertices, vertices, indexing="ij")
    u = np.sin(PI * x) * np.sin(PI * y)
    ux, uy = PI * np.cos(PI * x) * np.sin(PI * y), PI * np.sin(PI * x) * np.cos(PI * y)
    kx = PI * np.cos(2 * PI * x + 1.0) * np.cos(PI * y)
    ky = -0.5 * PI * np.sin(2 * PI * x + 1.0) * np.sin(PI * y)
    f = -(k_exact(x, y) * (-2 * PI**2 * u) + kx * ux + ky * uy)
    solution = fv.solve(k, fv.grid_to_vector(f))
    return float(np.abs(fv.vector_to_grid(solution, g) - u).max())


def test_manufactured_solution_converges_at_second_order() -> None:
    grids = (16, 32, 64)
    errors = [manufactured_error(g) for g in grids]
    for coarse, fine in ((0, 1), (1, 2)):
        ratio = (grids[fine] + 1) / (grids[coarse] + 1)  # h = 1/(g+1)
        order = np.log(errors[coarse] / errors[fine]) / np.log(ratio)
        assert 1.8 < order < 2.2, (grids, errors)
    assert errors[-1] < 1e-3


def random_k(g: int, seed: int = 0) -> np.ndarray:
    return np.exp(np.random.default_rng(seed).standard_normal((g + 1, g + 1)))


def test_matrix_is_symmetric_pentadiagonal_and_scaled() -> None:
    g = 9
    k = random_k(g)
    a = fv.assemble(k)
    assert a.shape == (g * g, g * g)
    assert abs(a - a.T).max() == 0.0
    offsets = {int(c - r) for r, c in zip(*a.nonzero(), strict=True)}
    assert offsets == {-g, -1, 0, 1, g}
    # Diagonal = (g+1)² × sum of the four cells around the vertex (= four face means).
    dense = a.toarray()
    i, j = 3, 5
    p = i + g * j
    assert dense[p, p] == pytest.approx((g + 1) ** 2 * k[i : i + 2, j : j + 2].sum())
    # Neighbour along axis 0 (p+1) shares cells k[i+1, j], k[i+1, j+1].
    assert dense[p, p + 1] == pytest.approx(-((g + 1) ** 2) * 0.5 * (k[i + 1, j] + k[i + 1, j + 1]))
    # Neighbour along axis 1 (p+g) shares cells k[i, j+1], k[i+1, j+1].
    assert dense[p, p + g] == pytest.approx(-((g + 1) ** 2) * 0.5 * (k[i, j + 1] + k[i + 1, j + 1]))
    # No wrap-around coupling between the end of one column and the start of the next.
    assert dense[g - 1, g] == 0.0
    assert np.linalg.eigvalsh(dense).min() > 0


def test_constant_coefficient_is_the_five_point_laplacian() -> None:
    g = 5
    dense = fv.assemble(np.full((g + 1, g + 1), 2.0)).toarray()
    assert np.diag(dense) == pytest.approx(np.full(g * g, 8.0 * (g + 1) ** 2))
    assert dense[0, 1] == pytest.approx(-2.0 * (g + 1) ** 2)


def test_solve_then_apply_returns_rhs() -> None:
    g = 16
    k = random_k(g, 1)
    rhs = np.random.default_rng(2).standard_normal(g * g)
    x = fv.solve(k, rhs)
    assert np.linalg.norm(fv.assemble(k) @ x - rhs) / np.linalg.norm(rhs) < 1e-12
    assert fv.relative_residual(k, x, rhs) < 1e-12
    assert fv.relative_residual(k, x + 1e-3, rhs) > 1e-6


def test_grid_vector_round_trip_is_fortran_order() -> None:
    g = 4
    vector = np.arange(g * g, dtype=float)
    grid = fv.vector_to_grid(vector, g)
    assert grid[1, 0] == 1.0 and grid[0, 1] == g  # p = i + g·j
    assert np.array_equal(grid, vector.reshape(g, g, order="F"))
    batch = np.stack([vector, 2 * vector])
    assert np.array_equal(fv.vector_to_grid(batch, g)[1], 2 * grid)
    assert np.array_equal(fv.grid_to_vector(fv.vector_to_grid(batch, g)), batch)


def test_residual_torch_matches_sparse_residual() -> None:
    g, batch = 12, 4
    rng = np.random.default_rng(3)
    k = np.exp(rng.standard_normal((batch, g + 1, g + 1)))
    rhs = rng.standard_normal((batch, g * g))
    x = np.stack([fv.solve(k[b], rhs[b]) for b in range(batch)])
    x_noisy = x + 1e-3 * rng.standard_normal(x.shape)
    for vectors in (x, x_noisy):
        sparse = np.array([fv.relative_residual(k[b], vectors[b], rhs[b]) for b in range(batch)])
        torch_values = fv.residual_torch(
            torch.from_numpy(k),
            torch.from_numpy(fv.vector_to_grid(vectors, g)),
            torch.from_numpy(fv.vector_to_grid(rhs, g)),
        )
        assert torch_values.dtype == torch.float64 and torch_values.shape == (batch,)
        assert torch_values.numpy() == pytest.approx(sparse, rel=1e-9, abs=1e-14)
    # A float32 prediction is promoted to float64 inside.
    low = fv.residual_torch(
        torch.from_numpy(k).float(),
        torch.from_numpy(fv.vector_to_grid(x, g)).float(),
        torch.from_numpy(fv.vector_to_grid(rhs, g)),
    )
    assert low.dtype == torch.float64 and (low < 1e-5).all()


def test_apply_torch_matches_sparse_matvec() -> None:
    g = 7
    rng = np.random.default_rng(4)
    k = np.exp(rng.standard_normal((2, g + 1, g + 1)))
    u = rng.standard_normal((2, g, g))
    stencil = fv.apply_torch(torch.from_numpy(k), torch.from_numpy(u)).numpy()
    for b in range(2):
        sparse = fv.vector_to_grid(fv.assemble(k[b]) @ fv.grid_to_vector(u[b]), g)
        assert np.allclose(stencil[b], sparse, rtol=1e-13, atol=1e-10)
