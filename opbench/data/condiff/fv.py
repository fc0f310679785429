"""ConDiff's 5-point finite-volume discretisation of −∇·(k∇u) = f, u = 0 on ∂[0,1]².

Mesh (Trifonov et al. 2024; ``fd_mtx2`` of the official generator): h = 1/(g+1); the
coefficient ``k`` is constant on (g+1)×(g+1) cells, cell (i, j) = [ih, (i+1)h]×[jh, (j+1)h]
with i along axis 0; the g² unknowns sit at the interior vertices, vertex (i, j) at
((i+1)h, (j+1)h), i.e. at the corner shared by cells (i..i+1, j..j+1).

Face coefficients are the arithmetic mean of the two cells that share the face:

* between vertices (i−1, j) and (i, j):  a⁰[i, j] = ½(k[i, j] + k[i, j+1]),  i = 0..g
* between vertices (i, j−1) and (i, j):  a¹[i, j] = ½(k[i, j] + k[i+1, j]),  j = 0..g

(indices −1 and g are boundary vertices, where u = 0). Then

  (A u)[i, j] = (g+1)² · Σ_faces a_face · (u[i, j] − u[neighbour]),

so the diagonal is (g+1)² times the sum of the four face coefficients (= the sum of the
four surrounding cells) and the off-diagonals are −(g+1)² a_face. A is symmetric positive
definite and pentadiagonal. Vectors of unknowns are in **column-major (Fortran) order**:
index p = i + g·j, so ``vector.reshape(g, g, order="F")[i, j]`` lines up with ``k[i, j]``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch
from torch import Tensor


def vector_to_grid(vector: np.ndarray, grid: int) -> np.ndarray:
    """Vectors (..., g²) in Fortran order → grids (..., g, g) with [i, j] aligned with k.

    For one vector this is ``vector.reshape(g, g, order="F")``; leading axes are kept.
    """
    flat = np.asarray(vector)
    return flat.reshape(*flat.shape[:-1], grid, grid).swapaxes(-1, -2).copy()


def grid_to_vector(grid_values: np.ndarray) -> np.ndarray:
    """Grids (..., g, g) → vectors (..., g²) in Fortran order (p = i + g·j)."""
    values = np.asarray(grid_values)
    return values.swapaxes(-1, -2).reshape(*values.shape[:-2], -1).copy()


def assemble(k: np.ndarray) -> sp.csr_matrix:
    """The g²×g² finite-volume matrix A(k) in CSR form, for cell coefficients k (g+1, g+1)."""
    k = np.asarray(k, dtype=np.float64)
    g = k.shape[0] - 1
    a0 = 0.5 * (k[:, :-1] + k[:, 1:])  # (g+1, g): faces along axis 0
    a1 = 0.5 * (k[:-1, :] + k[1:, :])  # (g, g+1): faces along axis 1
    diagonal = a0[:-1] + a0[1:] + a1[:, :-1] + a1[:, 1:]
    index = np.arange(g * g).reshape(g, g, order="F")
    # Interior faces couple (i, j)–(i+1, j) with a0[i+1, j] and (i, j)–(i, j+1) with a1[i, j+1].
    rows = [index.ravel(), index[:-1, :].ravel(), index[:, :-1].ravel()]
    cols = [index.ravel(), index[1:, :].ravel(), index[:, 1:].ravel()]
    vals = [diagonal.ravel(), -a0[1:-1, :].ravel(), -a1[:, 1:-1].ravel()]
    row = np.concatenate([rows[0], rows[1], cols[1], rows[2], cols[2]])
    col = np.concatenate([cols[0], cols[1], rows[1], cols[2], rows[2]])
    val = np.concatenate([vals[0], vals[1], vals[1], vals[2], vals[2]]) * (g + 1) ** 2
    return sp.csr_matrix((val, (row, col)), shape=(g * g, g * g))


def solve(k: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """x = A(k)⁻¹ rhs by sparse direct solve (SuperLU), rhs and x in Fortran order."""
    return spla.spsolve(assemble(k).tocsc(), np.asarray(rhs, dtype=np.float64))


def relative_residual(k: np.ndarray, x: np.ndarray, rhs: np.ndarray) -> float:
    """‖A(k)x − rhs‖₂ / ‖rhs‖₂ in float64 with the sparse matrix (vectors in Fortran order)."""
    rhs = np.asarray(rhs, dtype=np.float64)
    residual = assemble(k) @ np.asarray(x, dtype=np.float64) - rhs
    return float(np.linalg.norm(residual) / np.linalg.norm(rhs))


def apply_torch(k_cells: Tensor, u: Tensor) -> Tensor:
    """A(k)u by the stencil, batched: k_cells (B, g+1, g+1), u (B, g, g) → (B, g, g).

    Grids are indexed [i, j] like k (vectors reshaped with ``order="F"``); computed in the
    dtype of the inputs.
    """
    g = u.shape[-1]
    a0 = 0.5 * (k_cells[:, :, :-1] + k_cells[:, :, 1:])  # (B, g+1, g)
    a1 = 0.5 * (k_cells[:, :-1, :] + k_cells[:, 1:, :])  # (B, g, g+1)
    padded = torch.nn.functional.pad(u, (1, 1, 1, 1))
    flux = (
        a0[:, :-1] * (u - padded[:, :-2, 1:-1])
        + a0[:, 1:] * (u - padded[:, 2:, 1:-1])
        + a1[:, :, :-1] * (u - padded[:, 1:-1, :-2])
        + a1[:, :, 1:] * (u - padded[:, 1:-1, 2:])
    )
    return flux * (g + 1) ** 2


def residual_torch(k_cells: Tensor, u: Tensor, f: Tensor) -> Tensor:
    """Per-sample relative residual ‖A(k)u − f‖₂ / ‖f‖₂ in float64, shape (B,).

    ``k_cells`` (B, g+1, g+1) cell coefficients; ``u`` and ``f`` (B, g, g) grids aligned
    with k (vectors reshaped with ``order="F"``). Uses the stencil of :func:`apply_torch`,
    no sparse matrix.
    """
    k64, u64, f64 = (t.to(torch.float64) for t in (k_cells, u, f))
    residual = apply_torch(k64, u64) - f64
    return residual.flatten(1).norm(dim=1) / f64.flatten(1).norm(dim=1)
