"""The orthonormal type-I discrete sine transform (DST-I) in two dimensions, in torch.

For n points, S[k, j] = √(2/(n+1)) · sin(π (j+1)(k+1) / (n+1)), k, j = 0..n−1. S is
symmetric and orthogonal (S S = I), so the transform is its own inverse and preserves the
Euclidean norm (Parseval: Σ û² = Σ u²). On the n interior points x_j = (j+1)/(n+1) of the
unit interval its basis functions sin(π(k+1)x) vanish at both ends: a grid function
expanded in it satisfies zero Dirichlet conditions exactly, and the 5-point Laplacian
with constant coefficient is diagonal in it (the reason the ``linear`` baseline solves
Poisson exactly). Applied as dense matrix products along the last two axes, which is
exact and fast for the grids used here (n ≤ a few hundred).
"""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor


@functools.lru_cache(maxsize=32)
def _matrix(n: int, dtype: torch.dtype, device: str) -> Tensor:
    index = torch.arange(1, n + 1, dtype=torch.float64)
    matrix = math.sqrt(2.0 / (n + 1)) * torch.sin(math.pi * torch.outer(index, index) / (n + 1))
    return matrix.to(dtype=dtype, device=device)


def dst_matrix(
    n: int, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu"
) -> Tensor:
    """The n×n orthonormal DST-I matrix S (symmetric, S S = I)."""
    return _matrix(n, dtype, str(device))


def dst2(values: Tensor) -> Tensor:
    """2-D orthonormal DST-I over the last two axes: Û = S_H U S_W (its own inverse)."""
    height, width = values.shape[-2:]
    s_h = dst_matrix(height, values.dtype, values.device)
    s_w = dst_matrix(width, values.dtype, values.device)
    return s_h @ values @ s_w


def laplacian_eigenvalues(height: int, width: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """Eigenvalues of the 5-point −Δ_h with zero Dirichlet data, h = 1/(n+1) per axis, in the
    DST-I basis: λ_kl = 4(H+1)² sin²(π(k+1)/(2(H+1))) + 4(W+1)² sin²(π(l+1)/(2(W+1)))."""

    def axis(n: int) -> Tensor:
        k = torch.arange(1, n + 1, dtype=torch.float64)
        return 4 * (n + 1) ** 2 * torch.sin(math.pi * k / (2 * (n + 1))) ** 2

    return (axis(height)[:, None] + axis(width)[None, :]).to(dtype)
