"""NACA 4- and 5-digit airfoils with real-valued parameters, and AirfRANS simulation names.

Chord 1, leading edge (0, 0), trailing edge (1, 0). A section is a camber line y_c(x)
with the thickness laid off perpendicular to it (Abbott & von Doenhoff, *Theory of Wing
Sections*, 1959, §6.4; Ladson et al., NASA TM 4741, 1996):

  x_U = x − y_t sin θ,  y_U = y_c + y_t cos θ,  x_L = x + y_t sin θ,  y_L = y_c − y_t cos θ,
  θ = arctan(dy_c/dx),
  y_t = 5t (0.2969√x − 0.1260x − 0.3516x² + 0.2843x³ − 0.1036x⁴),   t = XX/100,

with the closed (sharp) trailing-edge coefficient −0.1036 instead of the tabulated −0.1015
(as the AirfRANS generator does), so y_t(1) = 0; the maximum thickness is t at x ≈ 0.3.

4-digit camber (M, P): m = M/100 at p = P/10 (NACA Report 460, 1933),

  y_c = m/p² (2px − x²) for x < p,   y_c = m/(1 − p)² ((1 − 2p) + 2px − x²) for x ≥ p.

P = 0 (or M = 0) is the symmetric section: AirfRANS draws P ~ U(0, 7) and sets P < 1.5 to 0
before naming, so a name carries P = 0 for those. (The official generator then still
lays the thickness off the slope −2mx of a flat camber line, a slight shear of the section
when M > 0; here P = 0 is exactly symmetric.)

5-digit camber (L, P, Q): design lift coefficient c_l = 0.15·L, maximum camber at
x_f = P/20, Q = 1 for a reflexed line (NACA Report 537, 1935; Abbott & von Doenhoff §6.4;
Ladson et al., NASA TM 4741, 1996; Lovric, arXiv 2601.00028, for the reflexed line's
design conditions). With the joint m ∈ (0, 1) of the two pieces and the scale k₁, normal
camber (Q = 0):

  y_c = k₁/6 (x³ − 3mx² + m²(3 − m)x) for x < m,   y_c = k₁/6 · m³(1 − x) for x ≥ m;

reflexed camber (Q = 1), with k₂/k₁ = (3(m − x_f)² − m³)/(1 − m)³ so that dy_c/dx(x_f) = 0:

  y_c = k₁/6 ((x − m)³ − (k₂/k₁)(1 − m)³x − m³x + m³)          for x < m,
  y_c = k₁/6 ((k₂/k₁)(x − m)³ − (k₂/k₁)(1 − m)³x − m³x + m³)    for x ≥ m.

The joint: normal, the cubic's maximum is at x_f, so x_f = m(1 − √(m/3)); reflexed, the
line has no pitching moment about the quarter chord in thin-airfoil theory, A₁ = A₂,
with A_n = (2/π)∫₀^π (dy_c/dx) cos nθ dθ, x = (1 − cos θ)/2 (the design intent of the
reflexed lines; it reproduces the historical tabulation of m for the 221, 231, 241, 251
lines within 0.001: 0.1307, 0.2160, 0.3179, 0.4408 against 0.130, 0.217, 0.318, 0.441).
The scale: the ideal lift coefficient πA₁ equals c_l, k₁ = c_l/(πA₁ per unit k₁); for the
normal line this is the closed form k₁ = 6c_l/r with
r = (3m − 7m² + 8m³ − 4m⁴)/√(m(1 − m)) − (3/2)(1 − 2m)(π/2 − arcsin(1 − 2m)). A₁ and A₂
are computed by 24-point Gauss–Legendre quadrature on each piece (exact to round-off).
For the 230 line: m = 0.2027, k₁ = 15.92, maximum camber 1.84 % at x = 0.15 (tabulated:
m = 0.2025, k₁ = 15.957, the table's k₁ computed from its rounded m); 231: m = 0.2160,
k₁ = 15.69 (tabulated 0.217, 15.793).

The AirfRANS generator (``Extrality/NACA_simulation``, ``naca_generator.py``) reuses the
normal line's m for Q = 1, for which k₂/k₁ = 0 identically (3(m − x_f)² = m³ when
x_f = m(1 − √(m/3))): its "reflexed" sections are the normal ones, so the real data's
Q = 1 foils are not reflexed, while those generated here are.

Surfaces are sampled with cosine spacing, x = (1 − cos β)/2, β uniform in [0, π], the same
x on both sides. :func:`surface` returns a closed polyline ordered **clockwise**: from the
trailing edge along the lower surface to the leading edge, then along the upper surface
back to the trailing edge (the first and last points are both (1, 0)).

AirfRANS ranges (all real): 4-digit M ∈ [0, 7], P ∈ {0} ∪ [1.5, 7], XX ∈ [5, 20];
5-digit L ∈ [0, 4], P ∈ [3, 8], Q ∈ {0, 1}, XX ∈ [5, 20]. The validation here is wider:
the formulas' own limits.

Simulation names: ``airFoil2D_SST_<Uinf>_<AoA>_<p1>_<p2>_<p3>[_<p4>]``, split on ``_``:
token 2 is U∞ (m/s), token 3 the angle of attack in degrees, the rest the NACA parameters
(3 → 4-digit M, P, XX; 4 → 5-digit L, P, Q, XX), each written as Python's ``str`` of a
float rounded to 3 decimals (so ``str(float(v))`` round-trips them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.optimize import brentq

from opbench.errors import ConfigError

__all__ = [
    "Airfoil",
    "AirfoilCase",
    "Naca4",
    "Naca5",
    "airfoil_from_digits",
    "half_thickness",
    "parse_name",
    "surface",
]

THICKNESS_COEFFICIENTS = (0.2969, -0.1260, -0.3516, 0.2843, -0.1036)  # closed trailing edge
MAX_THICKNESS = 40.0  # XX, % chord
MIN_PANELS = 8
PREFIX = "airFoil2D"


def half_thickness(x: np.ndarray, t: float) -> np.ndarray:
    """y_t(x) = 5t(0.2969√x − 0.1260x − 0.3516x² + 0.2843x³ − 0.1036x⁴), zero at x = 0, 1."""
    x = np.asarray(x, dtype=np.float64)
    a0, a1, a2, a3, a4 = THICKNESS_COEFFICIENTS
    return 5.0 * t * (a0 * np.sqrt(x) + x * (a1 + x * (a2 + x * (a3 + x * a4))))


def _check_thickness(xx: float) -> None:
    if not 0.0 < xx <= MAX_THICKNESS:
        raise ConfigError(f"NACA thickness XX must be in (0, {MAX_THICKNESS:g}] % chord, got {xx}")


@dataclass(frozen=True)
class Naca4:
    """NACA 4-digit section: camber M % chord at P tenths of chord, thickness XX % chord."""

    m: float
    p: float
    xx: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.m < 10.0:
            raise ConfigError(f"NACA 4-digit camber M must be in [0, 10), got {self.m}")
        if not (self.p == 0.0 or 0.0 < self.p < 10.0):
            raise ConfigError(
                f"NACA 4-digit camber position P must be 0 or in (0, 10), got {self.p}"
            )
        _check_thickness(self.xx)

    @property
    def digits(self) -> tuple[float, ...]:
        """The parameters in AirfRANS name order (M, P, XX)."""
        return (float(self.m), float(self.p), float(self.xx))

    @property
    def thickness(self) -> float:
        return self.xx / 100.0

    def camber(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(y_c, dy_c/dx) at chord positions x ∈ [0, 1]."""
        x = np.asarray(x, dtype=np.float64)
        if self.m == 0.0 or self.p == 0.0:
            return np.zeros_like(x), np.zeros_like(x)
        m, p = self.m / 100.0, self.p / 10.0
        scale = np.where(x < p, m / p**2, m / (1.0 - p) ** 2)
        offset = np.where(x < p, 0.0, 1.0 - 2.0 * p)
        return scale * (offset + 2.0 * p * x - x**2), 2.0 * scale * (p - x)


def _normal_camber(x: np.ndarray, m: float, x_f: float) -> tuple[np.ndarray, np.ndarray]:
    """The 230-style line per unit k₁: (y, dy/dx)."""
    front = x < m
    y = np.where(front, x**3 - 3.0 * m * x**2 + m**2 * (3.0 - m) * x, m**3 * (1.0 - x))
    dy = np.where(front, 3.0 * x**2 - 6.0 * m * x + m**2 * (3.0 - m), -(m**3))
    return y / 6.0, dy / 6.0


def _reflex_camber(x: np.ndarray, m: float, x_f: float) -> tuple[np.ndarray, np.ndarray]:
    """The reflexed line per unit k₁: (y, dy/dx)."""
    k21 = (3.0 * (m - x_f) ** 2 - m**3) / (1.0 - m) ** 3
    cubic = np.where(x < m, 1.0, k21)
    linear = k21 * (1.0 - m) ** 3 + m**3
    y = cubic * (x - m) ** 3 - linear * x + m**3
    return y / 6.0, (3.0 * cubic * (x - m) ** 2 - linear) / 6.0


CamberShape = Callable[[np.ndarray, float, float], tuple[np.ndarray, np.ndarray]]
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(24)


def _fourier(shape: CamberShape, m: float, x_f: float) -> tuple[float, float]:
    """Thin-airfoil A₁, A₂ of a unit-k₁ line, by Gauss–Legendre on each piece."""
    split = math.acos(1.0 - 2.0 * m)
    total = np.zeros(2)
    for low, high in ((0.0, split), (split, math.pi)):
        theta = 0.5 * (high - low) * _NODES + 0.5 * (high + low)
        slope = shape(0.5 * (1.0 - np.cos(theta)), m, x_f)[1]
        weights = 0.5 * (high - low) * _WEIGHTS * slope
        total += [weights @ np.cos(theta), weights @ np.cos(2.0 * theta)]
    return float(2.0 / math.pi * total[0]), float(2.0 / math.pi * total[1])


def _normal_joint(x_f: float) -> float:
    """m with x_f = m(1 − √(m/3))."""
    return float(brentq(lambda m: m * (1.0 - math.sqrt(m / 3.0)) - x_f, 0.0, 1.0, xtol=1e-15))


def _reflex_joint(x_f: float) -> float:
    """m with no quarter-chord moment: A₁ = A₂."""

    def moment(m: float) -> float:
        a1, a2 = _fourier(_reflex_camber, m, x_f)
        return a2 - a1

    return float(brentq(moment, x_f, 1.0 - 1e-9, xtol=1e-14))


@dataclass(frozen=True)
class _CamberLine:
    shape: CamberShape
    joint: Callable[[float], float]


_CAMBER_LINES = {
    0: _CamberLine(_normal_camber, _normal_joint),
    1: _CamberLine(_reflex_camber, _reflex_joint),
}
MAX_CAMBER_POSITION_5 = 8.4  # P: the reflexed line's joint reaches the trailing edge near 8.45


@dataclass(frozen=True)
class Naca5:
    """NACA 5-digit section: design c_l = 0.15·L, maximum camber at P/20, reflex Q ∈ {0, 1}."""

    l: float  # noqa: E741 (the NACA designation's letter)
    p: float
    q: float
    xx: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.l < 10.0:
            raise ConfigError(f"NACA 5-digit lift parameter L must be in [0, 10), got {self.l}")
        if not 0.0 < self.p <= MAX_CAMBER_POSITION_5:
            raise ConfigError(
                f"NACA 5-digit camber position P must be in (0, {MAX_CAMBER_POSITION_5}] "
                f"(the line's joint must lie on the chord), got {self.p}"
            )
        if self.q not in _CAMBER_LINES:
            raise ConfigError(f"NACA 5-digit reflex flag Q must be 0 or 1, got {self.q}")
        _check_thickness(self.xx)

    @property
    def digits(self) -> tuple[float, ...]:
        """The parameters in AirfRANS name order (L, P, Q, XX)."""
        return (float(self.l), float(self.p), float(self.q), float(self.xx))

    @property
    def thickness(self) -> float:
        return self.xx / 100.0

    @property
    def _line(self) -> _CamberLine:
        return _CAMBER_LINES[int(self.q)]

    @cached_property
    def joint(self) -> float:
        """m, the joint of the two pieces of the camber line (module docstring)."""
        return self._line.joint(self.p / 20.0)

    @cached_property
    def k1(self) -> float:
        """k₁ = c_l/(πA₁) with c_l = 0.15·L."""
        return 0.15 * self.l / (math.pi * _fourier(self._line.shape, self.joint, self.p / 20.0)[0])

    def camber(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(y_c, dy_c/dx) at chord positions x ∈ [0, 1]."""
        y, dy = self._line.shape(np.asarray(x, dtype=np.float64), self.joint, self.p / 20.0)
        return self.k1 * y, self.k1 * dy


Airfoil = Naca4 | Naca5
_BY_COUNT: dict[int, Callable[..., Airfoil]] = {3: Naca4, 4: Naca5}


def airfoil_from_digits(digits: Sequence[float]) -> Airfoil:
    """A section from its AirfRANS parameters: 3 → :class:`Naca4`, 4 → :class:`Naca5`."""
    if len(digits) not in _BY_COUNT:
        raise ConfigError(
            f"expected 3 (M, P, XX) or 4 (L, P, Q, XX) NACA parameters, got {len(digits)}"
        )
    return _BY_COUNT[len(digits)](*(float(d) for d in digits))


def surface(foil: Airfoil, n_panels: int = 200) -> np.ndarray:
    """The closed surface polyline (n_panels + 1, 2), clockwise from the trailing edge.

    Order: (1, 0) → lower surface → (0, 0) → upper surface → (1, 0); cosine spacing with
    n_panels/2 panels per side, so ``n_panels`` must be even and at least ``MIN_PANELS``.
    """
    if n_panels < MIN_PANELS or n_panels % 2:
        raise ConfigError(f"n_panels must be even and at least {MIN_PANELS}, got {n_panels}")
    x = 0.5 * (1.0 - np.cos(np.linspace(0.0, np.pi, n_panels // 2 + 1)))  # LE → TE
    y_c, slope = foil.camber(x)
    y_t = half_thickness(x, foil.thickness)
    sin, cos = np.sin(np.arctan(slope)), np.cos(np.arctan(slope))
    upper = np.stack([x - y_t * sin, y_c + y_t * cos], axis=1)
    lower = np.stack([x + y_t * sin, y_c - y_t * cos], axis=1)
    points = np.concatenate([lower[::-1], upper[1:]])
    points[0] = points[-1] = (1.0, 0.0)
    points[n_panels // 2] = (0.0, 0.0)
    return points


@dataclass(frozen=True)
class AirfoilCase:
    """One AirfRANS simulation's conditions, parsed from its name."""

    u_inf: float  # m/s
    aoa_deg: float
    foil: Airfoil
    turbulence: str = "SST"

    @property
    def name(self) -> str:
        """The AirfRANS name; ``parse_name(name).name == name`` for AirfRANS names."""
        values = (self.u_inf, self.aoa_deg, *self.foil.digits)
        return "_".join([PREFIX, self.turbulence, *(str(float(v)) for v in values)])


def parse_name(name: str) -> AirfoilCase:
    """Parse ``airFoil2D_SST_<Uinf>_<AoA>_<p1>_<p2>_<p3>[_<p4>]`` (see the module docstring)."""
    tokens = str(name).split("_")
    if len(tokens) not in (7, 8) or tokens[0] != PREFIX or not tokens[1]:
        raise ConfigError(
            f"not an AirfRANS simulation name: {name!r} (expected "
            f"'{PREFIX}_SST_<Uinf>_<AoA>_<p1>_<p2>_<p3>[_<p4>]')"
        )
    try:
        values = [float(token) for token in tokens[2:]]
    except ValueError as error:
        raise ConfigError(f"non-numeric field in AirfRANS name {name!r}: {error}") from None
    if not all(math.isfinite(v) for v in values):
        raise ConfigError(f"non-finite field in AirfRANS name {name!r}")
    return AirfoilCase(values[0], values[1], airfoil_from_digits(values[2:]), tokens[1])
