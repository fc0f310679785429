"""Stationary Gaussian random fields by circulant embedding (numpy FFT).

ConDiff's coefficient is k = exp(φ) with φ a zero-mean stationary Gaussian random field on
the (g+1)×(g+1) cell centres of the unit square (spacing Δ = 1/(g+1)). With h = |d|/l
(d the distance between two points, l the correlation length) and σ² the variance, the
covariance models are (Trifonov et al. 2024, §3; dune-randomfield / parafields naming):

* exponential: C(h) = σ² e^{−h}
* gaussian:    C(h) = σ² e^{−h²}
* cubic:       C(h) = σ² (1 − 7h² + 8.75h³ − 3.5h⁵ + 0.75h⁷) for h ≤ 1, else 0

Sampler (Dietrich & Newsam 1997; Wood & Chan 1994): embed the n×n grid (n = g+1) in an
m×m torus with m = 2n (embedding factor 2), where the distance between lag indices
(a, b) is Δ·√(min(a, m−a)² + min(b, m−b)²). The first row c of the block-circulant
covariance matrix has eigenvalues λ = FFT2(c) (real). With ξ = ξ₁ + iξ₂, ξ₁, ξ₂ ~ N(0, I),
Z = FFT2(√(λ/m²)·ξ) has E[Z Zᴴ] = 2C and E[Z Zᵀ] = 0, so Re Z and Im Z restricted to the
first n×n entries are two independent fields with covariance C. Negative eigenvalues
(round-off, or a covariance not positive definite on the torus) are clipped to 0; the
clipped share Σ|λ₋| / Σ|λ| is kept in :attr:`CirculantSampler.clipped_mass`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from opbench.errors import unknown_name

Correlation = Callable[[np.ndarray], np.ndarray]


def _exponential(h: np.ndarray) -> np.ndarray:
    """ρ(h) = e^{−h}."""
    return np.exp(-h)


def _gaussian(h: np.ndarray) -> np.ndarray:
    """ρ(h) = e^{−h²}."""
    return np.exp(-(h**2))


def _cubic(h: np.ndarray) -> np.ndarray:
    """ρ(h) = 1 − 7h² + 8.75h³ − 3.5h⁵ + 0.75h⁷ for h ≤ 1, else 0 (compact support)."""
    poly = 1.0 - 7.0 * h**2 + 8.75 * h**3 - 3.5 * h**5 + 0.75 * h**7
    return np.where(h <= 1.0, poly, 0.0)


CORRELATIONS: dict[str, Correlation] = {
    "exponential": _exponential,
    "gaussian": _gaussian,
    "cubic": _cubic,
}
"""Correlation functions ρ(h) of h = |d|/l; the covariance is C = σ²ρ."""


def covariance(name: str, distance: np.ndarray, variance: float, length: float) -> np.ndarray:
    """C(d) = σ²·ρ(|d|/l) for the covariance model ``name``."""
    if name not in CORRELATIONS:
        raise unknown_name("covariance model", name, CORRELATIONS)
    return variance * CORRELATIONS[name](np.abs(distance) / length)


def contrast(phi: np.ndarray) -> np.ndarray:
    """Contrast of k = exp(φ): exp(max φ − min φ) over the last two axes."""
    return np.exp(np.ptp(phi, axis=(-2, -1)))


class CirculantSampler:
    """Draws zero-mean stationary GRFs on an n×n grid with spacing ``spacing``.

    Attributes:
        n: points per axis (g+1 for ConDiff).
        m: torus size per axis, ``embedding · n``.
        clipped_mass: Σ|negative eigenvalues| / Σ|eigenvalues| that was set to zero (0 when
            the embedding is non-negative definite; the sampled covariance is then exact).
        min_eigenvalue: the smallest eigenvalue before clipping.
    """

    def __init__(
        self,
        model: str,
        variance: float,
        n: int,
        spacing: float,
        length: float,
        embedding: int = 2,
    ) -> None:
        self.n = n
        self.m = embedding * n
        lag = np.arange(self.m)
        lag = np.minimum(lag, self.m - lag) * spacing
        distance = np.hypot(lag[:, None], lag[None, :])
        eigenvalues = np.fft.fft2(covariance(model, distance, variance, length)).real
        self.min_eigenvalue = float(eigenvalues.min())
        negative = np.clip(eigenvalues, None, 0.0)
        self.clipped_mass = float(np.abs(negative).sum() / np.abs(eigenvalues).sum())
        self._scale = np.sqrt(np.clip(eigenvalues, 0.0, None) / self.m**2)

    def sample(self, rng: np.random.Generator, pairs: int) -> np.ndarray:
        """``2·pairs`` independent fields, shape (2·pairs, n, n): :meth:`fields` of each
        pair of :meth:`noise` (real parts in even rows, imaginary parts in odd rows)."""
        return np.concatenate([self.fields(pair) for pair in self.noise(rng, pairs)])

    def noise(self, rng: np.random.Generator, pairs: int) -> np.ndarray:
        """White noise for ``pairs`` complex FFTs: (pairs, 2, m, m) standard normals."""
        return rng.standard_normal((pairs, 2, self.m, self.m))

    def fields(self, pair: np.ndarray) -> np.ndarray:
        """The two fields of one noise pair (2, m, m): the real and imaginary parts of
        FFT(√(λ/m²) ⊙ (ξ₁ + iξ₂)), cut to n × n, shape (2, n, n)."""
        z = np.fft.fft2(self._scale * (pair[0] + 1j * pair[1]))[: self.n, : self.n]
        return np.stack([z.real, z.imag])


def first_accepted(
    sampler: CirculantSampler,
    rng: np.random.Generator,
    accept: Callable[[np.ndarray], bool],
    max_proposals: int,
) -> tuple[np.ndarray | None, int]:
    """The first field in draw order that ``accept`` takes, and the fields examined up to
    and including it; ``None`` when none was accepted within ``max_proposals``.

    The noise of one complex FFT (two fields) is drawn only when every field before it was
    rejected, so a sample whose first field is accepted draws 2m² normals and no more."""
    proposals = 0
    while proposals < max_proposals:
        for phi in sampler.fields(sampler.noise(rng, 1)[0]):
            proposals += 1
            if accept(phi):
                return phi, proposals
    return None, proposals
