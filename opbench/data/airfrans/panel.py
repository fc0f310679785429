"""Linear-strength vortex panel method: 2-D incompressible potential flow about an airfoil.

Scheme (Katz & Plotkin, *Low-Speed Aerodynamics*, 2nd ed. 2001: the linear-strength
vortex element of §10.3 and the linear-strength vortex method of §11.4): the surface is N
straight panels between N + 1 points; the vortex density γ (positive clockwise, i.e.
lifting for a freestream from the left) varies linearly along each panel between nodal
values γ_0 … γ_N. The freestream is V∞ = U∞(cos α, sin α); the geometry is not rotated.
The nodal values satisfy

* flow tangency at the N panel midpoints: (V∞ + Σ_k γ_k v_ik)·n_i = 0;
* the Kutta condition for a sharp (finite-angle) trailing edge: it is a stagnation point
  on both sides, γ_0 = γ_N = 0 (which implies the equal-speed form γ_0 + γ_N = 0).

That is N equations for N − 1 unknowns. They are consistent up to discretisation error,
because the ℓ-weighted sum of the tangency equations nearly vanishes identically (a vortex
sheet puts no net flux through the closed surface, nor does V∞), and they are solved by
least squares (QR; the matrix is well conditioned, κ ≈ 10 for 200 panels). Imposing only
γ_0 + γ_N = 0 instead leaves a nearly singular trailing-edge mode γ_0 = −γ_N, which then
takes O(1) spurious values.

Velocity of one panel, signs for clockwise-positive γ: in panel coordinates (ξ along the
tangent t from the panel's start a, η along the outward normal n), with γ(ξ) = γ_a + dξ on
0 ≤ ξ ≤ ℓ, d = (γ_b − γ_a)/ℓ,

  u_ξ = γ_a B + d(ξB − ηL),   u_η = −γ_a L − d(ξL + ηB) + dℓ/(2π),
  L = ln(r₁/r₂)/(2π),   B = β/(2π),   β = atan2(ηℓ, ξ(ξ − ℓ) + η²),

r₁, r₂ the distances to the panel's ends and β the angle it subtends (+π just outside its
midpoint, −π just inside, the branch cut lying on the panel itself), so the tangential
velocity jumps by γ across the sheet. In complex form (w = u − iv, z = x + iy, τ = e^{−iφ}
with φ the panel's angle, M = B + iL, ξ + iη = (z − a)τ):

  w = Σ_j τ_j M_j [γ_a,j + d_j (z − a_j) τ_j] − (i/2π) Σ_j τ_j (γ_b,j − γ_a,j) + U∞e^{−iα},

which is linear in z once M is known: the field costs one arctan2 and one log per
(point, panel) pair and a single matrix product with the panel weights.

Surface ordering: points (N + 1, 2), a closed polyline ordered clockwise (trailing edge →
lower surface → leading edge → upper surface → trailing edge, as
:func:`opbench.data.airfrans.naca.surface` returns it), so the first and last points are
both the trailing edge. Panel j runs from point j to j + 1 with unit tangent t_j and
outward normal n_j = (−t_y, t_x). With no flow inside the body the sheet strength is the
outer tangential velocity: V_t = γ at the points, signed along the ordering (negative on
the lower surface, where the ordering runs upstream); on panel j its mean is ½(γ_j + γ_{j+1}).

Outputs: C_p = 1 − (V_t/U∞)² at the points; lift per unit span from the pressure,
trapezoidal over each panel, C_L = −Σ_j ℓ_j ½(C_p,j + C_p,j+1)(n_j·e_L)/c with
e_L = (−sin α, cos α), and by Kutta–Joukowski, C_L = 2Γ/(U∞c), Γ = Σ_j ℓ_j ½(γ_j + γ_{j+1}).
:meth:`PanelSolution.velocity` sums the panel velocities at arbitrary points in chunks of
``CHUNK`` points (arrays CHUNK × N). Velocities at points **inside** the airfoil are
meaningless (the tangency condition holds only at the midpoints, so the interior flow is
only approximately zero), and they are inaccurate within about a panel length of the
surface; on the last panel before the trailing edge the linear γ is a crude model of the
true corner flow, whose speed falls to zero only as r^0.05 (r the distance to the edge).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.linalg import solve_triangular

from opbench.errors import ConfigError

__all__ = ["PanelSolution", "solve"]

CHUNK = 256  # points per block of the field evaluation (its arrays stay in cache)
MIN_PANELS = 8


def _check_points(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] < MIN_PANELS + 1:
        raise ConfigError(
            f"surface points must be (N + 1, 2) with N ≥ {MIN_PANELS} panels, "
            f"got shape {points.shape}"
        )
    if not np.all(np.isfinite(points)) or not np.array_equal(points[0], points[-1]):
        raise ConfigError("surface points must be finite and closed (first point == last point)")
    if np.any(np.hypot(*np.diff(points, axis=0).T) == 0.0):
        raise ConfigError("surface points contain a zero-length panel (a repeated point)")
    x, y = points[:-1, 0], points[:-1, 1]
    if np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) >= 0.0:  # twice the signed area
        raise ConfigError(
            "surface points must run clockwise (trailing edge → lower surface → leading "
            "edge → upper surface); reverse them"
        )
    return points


def _frames(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unit tangents (N, 2), outward normals (N, 2), lengths (N,)) of the panels."""
    edges = np.diff(points, axis=0)
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    tangents = edges / lengths[:, None]
    return tangents, np.stack([-tangents[:, 1], tangents[:, 0]], axis=1), lengths


def _kernel(x: np.ndarray, y: np.ndarray, points: np.ndarray, out: np.ndarray) -> np.ndarray:
    """[β, ln(r₁²/r₂²)] into ``out`` (P, 2N) for points (x, y) (P,) and the N panels."""
    n = len(points) - 1
    dx1, dy1 = x[:, None] - points[:-1, 0], y[:, None] - points[:-1, 1]
    dx2, dy2 = x[:, None] - points[1:, 0], y[:, None] - points[1:, 1]
    np.arctan2(dx1 * dy2 - dy1 * dx2, dx1 * dx2 + dy1 * dy2, out=out[:, :n])
    np.log((dx1 * dx1 + dy1 * dy1) / (dx2 * dx2 + dy2 * dy2), out=out[:, n:])
    return out


def _as_real(weights: np.ndarray) -> np.ndarray:
    """(2N, 2k) real matrix W with [β, ln(r₁²/r₂²)] @ W = [Re, Im] of M @ weights, M = B + iL."""
    beta, log = weights / (2.0 * math.pi), weights / (4.0 * math.pi)
    top = np.concatenate([beta.real, beta.imag], axis=1)
    bottom = np.concatenate([-log.imag, log.real], axis=1)
    return np.concatenate([top, bottom])


@dataclass(frozen=True)
class PanelSolution:
    """A solved vortex-panel problem: nodal values (N + 1,), panel values (N,)."""

    points: np.ndarray  # (N + 1, 2) closed clockwise surface
    gamma: np.ndarray  # (N + 1,) nodal vortex strengths = V_t at the points
    u_inf: float
    alpha_deg: float
    chord: float

    @cached_property
    def _frames(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _frames(self.points)

    @property
    def tangents(self) -> np.ndarray:
        """Unit tangents (N, 2), along the ordering."""
        return self._frames[0]

    @property
    def normals(self) -> np.ndarray:
        """Outward unit normals (N, 2)."""
        return self._frames[1]

    @property
    def lengths(self) -> np.ndarray:
        return self._frames[2]

    @property
    def midpoints(self) -> np.ndarray:
        return 0.5 * (self.points[1:] + self.points[:-1])

    @property
    def vt_panels(self) -> np.ndarray:
        """Panel-mean signed tangential velocity (N,): ½(γ_j + γ_{j+1})."""
        return 0.5 * (self.gamma[1:] + self.gamma[:-1])

    @property
    def cp(self) -> np.ndarray:
        """C_p = 1 − (V_t/U∞)² at the points (N + 1,)."""
        return 1.0 - (self.gamma / self.u_inf) ** 2

    @property
    def freestream(self) -> np.ndarray:
        """V∞ = U∞(cos α, sin α)."""
        alpha = math.radians(self.alpha_deg)
        return self.u_inf * np.array([math.cos(alpha), math.sin(alpha)])

    @property
    def circulation(self) -> float:
        """Γ = Σ ℓ_j ½(γ_j + γ_{j+1}), clockwise."""
        return float(self.lengths @ self.vt_panels)

    @property
    def cl_kutta_joukowski(self) -> float:
        """C_L = 2Γ/(U∞c)."""
        return 2.0 * self.circulation / (self.u_inf * self.chord)

    def _pressure_force(self) -> np.ndarray:
        """C_F = −Σ ℓ_j ½(C_p,j + C_p,j+1) n_j / c, body axes."""
        cp = self.cp
        return -(0.5 * (cp[1:] + cp[:-1]) * self.lengths) @ self.normals / self.chord

    @property
    def cl_pressure(self) -> float:
        """Lift coefficient from the integrated pressure (perpendicular to V∞)."""
        alpha = math.radians(self.alpha_deg)
        return float(self._pressure_force() @ np.array([-math.sin(alpha), math.cos(alpha)]))

    @property
    def cd_pressure(self) -> float:
        """Pressure drag coefficient along V∞ (zero in exact potential flow: d'Alembert)."""
        return float(self._pressure_force() @ self.freestream) / self.u_inf

    def velocity(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(u, v) at points (x, y) of any common shape; meaningless inside the airfoil."""
        x, y = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(y, np.float64))
        z = (x + 1j * y).ravel()
        t = np.conj(self.tangents @ np.array([1.0, 1j]))  # e^{−iφ}
        a = self.points[:-1] @ np.array([1.0, 1j])
        jump = np.diff(self.gamma)
        slope = jump / self.lengths
        # w = M@p + z·(M@q) + C (module docstring), as one real product per block.
        weights = _as_real(np.stack([t * (self.gamma[:-1] - slope * a * t), slope * t * t], 1))
        alpha = math.radians(self.alpha_deg)
        constant = self.u_inf * complex(math.cos(alpha), -math.sin(alpha)) - 0.5j / math.pi * (
            t @ jump
        )
        w = np.empty(z.size, dtype=np.complex128)
        buffer = np.empty((min(CHUNK, z.size), 2 * len(t)))
        for begin in range(0, z.size, CHUNK):
            block = slice(begin, begin + CHUNK)
            terms = _kernel(z[block].real, z[block].imag, self.points, buffer[: len(z[block])])
            p_re, q_re, p_im, q_im = (terms @ weights).T
            w[block] = p_re + 1j * p_im + z[block] * (q_re + 1j * q_im)
        w += constant
        return w.real.reshape(x.shape), -w.imag.reshape(x.shape)


def solve(points: np.ndarray, u_inf: float, alpha_deg: float, chord: float = 1.0) -> PanelSolution:
    """Linear-vortex solution for a clockwise closed surface in a freestream U∞ at α degrees."""
    points = _check_points(points)
    if not (math.isfinite(u_inf) and u_inf > 0.0):
        raise ConfigError(f"freestream speed U∞ must be positive, got {u_inf}")
    if not math.isfinite(alpha_deg):
        raise ConfigError(f"angle of attack must be finite, got {alpha_deg}")
    if not (math.isfinite(chord) and chord > 0.0):
        raise ConfigError(f"chord must be positive, got {chord}")
    tangents, normals, length = _frames(points)
    z = points @ np.array([1.0, 1j])
    midpoints = 0.5 * (z[1:] + z[:-1])
    kernel = _kernel(midpoints.real, midpoints.imag, points, np.empty((len(z) - 1, 2 * len(z) - 2)))
    n = len(length)
    m = kernel[:, :n] / (2.0 * math.pi) + 1j * kernel[:, n:] / (4.0 * math.pi)  # B + iL
    np.fill_diagonal(m, 0.5)  # own panel, outer side: β = π, r₁ = r₂
    t = np.conj(tangents @ np.array([1.0, 1j]))  # e^{−iφ}
    local = (midpoints[:, None] - z[:-1]) * t / length  # Z/ℓ
    # w at midpoint i per unit γ at node k: panel k's start part + panel k−1's end part.
    influence = np.zeros((n, n + 1), dtype=np.complex128)
    influence[:, :-1] = t * ((1.0 - local) * m + 0.5j / math.pi)
    influence[:, 1:] += t * (local * m - 0.5j / math.pi)
    tangency = (influence * (normals @ np.array([1.0, 1j]))[:, None]).real  # V·n = Re(w n)
    alpha = math.radians(alpha_deg)
    rhs = -u_inf * (normals @ np.array([math.cos(alpha), math.sin(alpha)]))
    gamma = np.zeros(n + 1)
    q, r = np.linalg.qr(tangency[:, 1:-1])  # least squares by QR (condition number ~10)
    gamma[1:-1] = solve_triangular(r, q.T @ rhs)
    return PanelSolution(points, gamma, float(u_inf), float(alpha_deg), float(chord))
