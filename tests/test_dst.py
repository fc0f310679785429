"""DST-I: orthonormality, its own inverse, Parseval, and the Laplacian's eigenvalues."""

import math

import numpy as np
import torch
from scipy.fft import dstn

from opbench.data.condiff import fv
from opbench.ops.dst import dst2, dst_matrix, laplacian_eigenvalues


def test_matrix_is_symmetric_and_orthogonal():
    s = dst_matrix(9)
    assert torch.allclose(s, s.T)
    assert torch.allclose(s @ s, torch.eye(9, dtype=torch.float64), atol=1e-14)


def test_matches_scipy_orthonormal_dst_type_1():
    values = torch.randn(3, 7, 5, dtype=torch.float64)
    reference = dstn(values.numpy(), type=1, axes=(-2, -1), norm="ortho")
    assert np.allclose(dst2(values).numpy(), reference, atol=1e-13)


def test_self_inverse_and_parseval():
    values = torch.randn(2, 6, 8, dtype=torch.float64)
    transformed = dst2(values)
    assert torch.allclose(dst2(transformed), values, atol=1e-13)
    assert math.isclose(
        transformed.square().sum().item(), values.square().sum().item(), rel_tol=1e-12
    )


def test_laplacian_is_diagonal_in_the_basis():
    # ConDiff's finite-volume matrix with k ≡ 1 is the 5-point −Δ_h: A = S diag(λ) S.
    g = 6
    operator = fv.assemble(np.ones((g + 1, g + 1))).toarray()
    s = dst_matrix(g).numpy()
    basis = np.kron(s, s)  # acts on Fortran-ordered vectors as S ⊗ S
    diagonal = basis @ operator @ basis
    expected = laplacian_eigenvalues(g, g).numpy().reshape(-1, order="F")
    assert np.allclose(diagonal, np.diag(expected), atol=1e-9 * expected.max())
