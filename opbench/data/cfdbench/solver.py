"""2-D incompressible Navier–Stokes on a staggered grid, for the CFDBench-style geometries.

Equations (constant density, kinematic pressure p = pressure/ρ, caller's units):

  ∂u/∂t + ∇·(u u) = −∇p + ν∇²u,   ∇·u = 0.

Grid (Harlow & Welch 1965, MAC): nx×ny uniform cells of dx×dy (:class:`Grid`); p at cell
centres (ny, nx); u on the vertical faces (ny, nx+1), u[j, i] at (x_min + i·dx, y_j);
v on the horizontal faces (ny+1, nx), v[j, i] at (x_i, y_min + j·dy); row index = y.
Obstacles are masked: a cell is solid when its centre is inside an obstacle; a face is
*fixed* (prescribed velocity) when it touches a solid cell or lies on the boundary (inlet
u = U, walls 0; the outlet u faces are free); the others are *free*.

Space, conservative finite volumes on each face's control volume:

* advection: flux = (advecting velocity averaged to the control-volume face) × (transported
  velocity reconstructed with the limited κ = 1/3 upwind scheme of Koren 1993:
  q_f = q_U + ½·ψ(r)·(q_D − q_U), r = (q_U − q_UU)/(q_D − q_U),
  ψ(r) = max(0, min(2r, (1 + 2r)/3, 2)); third order where smooth, TVD, so it neither
  oscillates nor blows up at cell Péclet numbers ≫ 2;
* diffusion: the 5-point Laplacian;
* boundaries by ghost values: no-slip wall with tangential speed w: q_ghost = 2w − q_mirror;
  free slip: q_ghost = q_mirror; outlet and the normal direction: repeat the edge value
  (zero gradient). Next to a solid-interior face the tangential Laplacian uses the no-slip
  ghost −q instead of the masked 0.

Time: Shu & Osher's SSP-RK2 for the explicit terms with the pressure gradient lagged, then
one projection (Chorin 1968) in incremental form (van Kan 1986; Bell, Colella & Glaz 1989):

  q¹ = qⁿ + Δt·(F(qⁿ) − G pⁿ),  q² = q¹ + Δt·(F(q¹) − G pⁿ),  δ = ½(q² − qⁿ),
  D G φ = D δ,  qⁿ⁺¹ = qⁿ + δ − G φ,  pⁿ⁺¹ = pⁿ + φ/Δt,

F = advection + diffusion on free faces (δ holds the change of the prescribed values on
fixed faces), D the cell divergence, G the face gradient (G = −W Dᵀ: W = 1 on interior free
faces, 2 on outlet faces where p = 0 half a cell outside the last pressure cell, 0 on fixed
faces). Without an outlet (cavity) one pressure cell is pinned and p is shifted to zero
mean for output. The matrix D W Dᵀ over the fluid cells is assembled and LU-factorised once
(SuperLU, minimum-degree ordering on AᵀA + A), so a step costs two evaluations of F (a few
dozen numpy array operations each) and one back-substitution. Projecting the increment δ
rather than the state keeps round-off in D qⁿ from being divided by a short Δt.

Time step, every step: Δt = ½·min(1/(max|u|/dx + max|v|/dy), ¼·min(dx, dy)²/ν) (max|u|
includes the lid speed), so that Δt·(advective + diffusive rate) ≤ 1: forward-Euler
stability of each stage, and the TVD bound CFL ≤ ½ of the limiter. The step before a
requested frame time is shortened to land on it exactly (frames are never interpolated in
time).

Frames and probes are bilinear interpolations of the face values (:func:`interpolate_velocity`)
with the wall values added as extra rows/columns (no-slip: w; free slip: the nearest value);
points inside obstacles read 0.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.sparse.csgraph import connected_components

from opbench.data.cfdbench.geometry import Domain, Grid, cavity, cylinder, dam, tube
from opbench.errors import ConfigError

__all__ = [
    "Centrelines",
    "Domain",
    "FlowRun",
    "Grid",
    "cavity",
    "cavity_centrelines",
    "cell_centre_velocity",
    "cylinder",
    "dam",
    "interpolate_velocity",
    "run_to_steady",
    "simulate",
    "strouhal",
    "tube",
]

SAFETY = 0.5
BLOW_UP_SPEED = 100.0  # × the reference speed


@dataclass(frozen=True)
class _Side:
    """Two ghost values beyond one end of an axis: g₁ = sign·q[0] + offset,
    g₂ = sign·q[second] + offset (q[0] the value at the end, q[1] the next one)."""

    sign: float
    offset: float
    second: int

    @property
    def wall_factor(self) -> float:
        """The value on the boundary is ½(g₁ + q[0]) = wall_factor·q[0] + wall_offset."""
        return 0.5 * (1.0 + self.sign)

    @property
    def wall_offset(self) -> float:
        return 0.5 * self.offset


EDGE = _Side(1.0, 0.0, 0)
SLIP = _Side(1.0, 0.0, 1)


def _no_slip(speed: float = 0.0) -> _Side:
    return _Side(-1.0, 2.0 * speed, 1)


def _pad_rows(out: np.ndarray, q: np.ndarray, low: _Side, high: _Side) -> None:
    """out[2:-2] = q with two ghost rows at each end (pass transposes for columns)."""
    out[2:-2] = q
    out[1] = low.sign * q[0] + low.offset
    out[0] = low.sign * q[low.second] + low.offset
    out[-2] = high.sign * q[-1] + high.offset
    out[-1] = high.sign * q[-1 - high.second] + high.offset


def _flux(
    velocity: np.ndarray, lo: np.ndarray, hi: np.ndarray, lolo: np.ndarray, hihi: np.ndarray
) -> np.ndarray:
    """velocity × Koren-limited upwind value between ``lo`` and ``hi`` (module doc)."""
    forward = velocity > 0
    up = np.where(forward, lo, hi)
    jump = np.where(forward, hi, lo)
    jump -= up  # q_D − q_U
    sign = np.sign(jump)
    twice = np.where(forward, lolo, hihi)
    np.subtract(up, twice, out=twice)
    twice *= 2.0 * sign  # 2(q_U − q_UU)·sign
    size = np.abs(jump)
    limited = np.minimum(twice, (size + twice) / 3.0)
    np.minimum(limited, 2.0 * size, out=limited)
    np.maximum(limited, 0.0, out=limited)
    limited *= 0.5 * sign
    limited += up
    limited *= velocity
    return limited


@dataclass(frozen=True)
class _Axis:
    """Coordinates of sample lines along one axis; line k reads coef[k]·q[index[k]] + const[k]."""

    coords: np.ndarray
    index: np.ndarray
    coef: np.ndarray
    const: np.ndarray


def _face_axis(coords: np.ndarray) -> _Axis:
    n = len(coords)
    return _Axis(coords, np.arange(n), np.ones(n), np.zeros(n))


def _centre_axis(start: float, step: float, n: int, low: _Side, high: _Side) -> _Axis:
    """Cell-centre lines plus the two boundary lines (wall values, see :class:`_Side`)."""
    coords = np.concatenate([[start], start + (np.arange(n) + 0.5) * step, [start + n * step]])
    index = np.concatenate([[0], np.arange(n), [n - 1]])
    coef = np.concatenate([[low.wall_factor], np.ones(n), [high.wall_factor]])
    const = np.concatenate([[low.wall_offset], np.zeros(n), [high.wall_offset]])
    return _Axis(coords, index, coef, const)


def _locate(coords: np.ndarray, points: np.ndarray, tolerance: float) -> tuple[np.ndarray, ...]:
    if np.any(points < coords[0] - tolerance) or np.any(points > coords[-1] + tolerance):
        raise ConfigError(
            f"sample points must lie in [{coords[0]:g}, {coords[-1]:g}], got "
            f"[{points.min():g}, {points.max():g}]"
        )
    points = np.clip(points, coords[0], coords[-1])
    cell = np.clip(np.searchsorted(coords, points, side="right") - 1, 0, len(coords) - 2)
    weight = (points - coords[cell]) / (coords[cell + 1] - coords[cell])
    return cell, weight


def _bilinear(
    axis_y: _Axis,
    axis_x: _Axis,
    offset: int,
    n_state: int,
    points: tuple[np.ndarray, np.ndarray, np.ndarray],
    tolerance: float,
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Matrix M and vector c with values at the points = M @ state + c (one component)."""
    x, y, keep = points
    columns = int(axis_x.index[-1]) + 1  # state columns of this component
    row_y, weight_y = _locate(axis_y.coords, y, tolerance)
    col_x, weight_x = _locate(axis_x.coords, x, tolerance)
    rows, cols, vals = [], [], []
    const = np.zeros(len(x))
    point = np.arange(len(x))
    for ky, wy in ((row_y, 1.0 - weight_y), (row_y + 1, weight_y)):
        for kx, wx in ((col_x, 1.0 - weight_x), (col_x + 1, weight_x)):
            weight = wy * wx * keep
            rows.append(point)
            cols.append(offset + axis_y.index[ky] * columns + axis_x.index[kx])
            vals.append(weight * axis_y.coef[ky] * axis_x.coef[kx])
            const += weight * (
                axis_y.const[ky] * axis_x.coef[kx] + axis_x.const[kx] * axis_y.coef[ky]
            )
    matrix = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(x), n_state),
    )
    return matrix, const


class _Scheme:
    """Everything fixed for one domain and grid: masks, boundary values, factorised Poisson."""

    def __init__(self, domain: Domain, grid: Grid) -> None:
        self.domain, self.grid = domain, grid
        nx, ny, dx, dy = grid.nx, grid.ny, grid.dx, grid.dy
        self.n_u, self.n_v = ny * (nx + 1), (ny + 1) * nx
        nu = domain.viscosity
        self.u_sides, self.v_sides = _sides(domain)

        xc, yc = np.meshgrid(grid.x_centres, grid.y_centres)
        self.solid = domain.solid(xc, yc)
        fluid = ~self.solid
        wall_x, wall_y = np.ones((ny, 1), dtype=bool), np.ones((1, nx), dtype=bool)
        # The cells on either side of each face; outside the box counts as solid but the outlet.
        left = np.hstack([wall_x, self.solid])
        right = np.hstack([self.solid, ~wall_x if domain.channel else wall_x])
        below = np.vstack([wall_y, self.solid])
        above = np.vstack([self.solid, wall_y])
        free_u, free_v = ~left & ~right, ~below & ~above
        self.free = np.concatenate([free_u.ravel(), free_v.ravel()])
        self.fixed = np.flatnonzero(~self.free)
        self.free_u, self.free_v = free_u.astype(float), free_v.astype(float)

        # Tangential no-slip next to solid-interior faces: extra −q/h² in the Laplacian.
        buried_u = left & right
        buried_v = below & above
        buried_u[:, 0] = buried_u[:, -1] = False
        buried_v[0] = buried_v[-1] = False
        mirror_u = np.zeros(free_u.shape)  # buried neighbours above and below
        mirror_u[:-1] += buried_u[1:]
        mirror_u[1:] += buried_u[:-1]
        mirror_v = np.zeros(free_v.shape)  # buried neighbours left and right
        mirror_v[:, :-1] += buried_v[:, 1:]
        mirror_v[:, 1:] += buried_v[:, :-1]
        self.diag_u = nu * (2 / dx**2 + 2 / dy**2 + mirror_u * free_u / dy**2)
        self.diag_v = nu * (2 / dx**2 + 2 / dy**2 + mirror_v * free_v / dx**2)
        self.nu_dx2, self.nu_dy2 = nu / dx**2, nu / dy**2

        self.boundary = self._boundary_values(left ^ right, below ^ above)
        self._assemble_poisson(fluid, free_u, free_v)
        self._ux = np.empty((ny, nx + 5))
        self._uy = np.empty((ny + 4, nx + 1))
        self._vx = np.empty((ny + 1, nx + 4))
        self._vy = np.empty((ny + 5, nx))
        self._out = np.empty(self.n_u + self.n_v)

    def _boundary_values(self, touch_u: np.ndarray, touch_v: np.ndarray) -> tuple[np.ndarray, ...]:
        """Prescribed face values (0 on free faces): (at rest, during the spin)."""
        domain, grid = self.domain, self.grid
        u = np.zeros((grid.ny, grid.nx + 1))
        if domain.channel:
            inflow = grid.y_centres < domain.y_min + domain.inflow_height
            u[inflow & ~self.solid[:, 0], 0] = domain.velocity
        rest = np.concatenate([u.ravel(), np.zeros(self.n_v)])
        if domain.spin is None:
            return (rest,)
        ux, uy = np.meshgrid(grid.x_faces, grid.y_centres)
        vx, vy = np.meshgrid(grid.x_centres, grid.y_faces)
        spin_u = np.where(touch_u, domain.spin.velocity(ux, uy)[0], 0.0)
        spin_v = np.where(touch_v, domain.spin.velocity(vx, vy)[1], 0.0)
        spin_u[:, [0, -1]] = 0.0
        spin_v[[0, -1]] = 0.0
        return rest, rest + np.concatenate([spin_u.ravel(), spin_v.ravel()])

    def boundary_at(self, t: float) -> np.ndarray:
        spin = self.domain.spin
        return self.boundary[1] if spin is not None and t < spin.until else self.boundary[0]

    def _assemble_poisson(self, fluid: np.ndarray, free_u: np.ndarray, free_v: np.ndarray) -> None:
        grid = self.grid
        nx, ny = grid.nx, grid.ny
        cell = np.arange(nx * ny).reshape(ny, nx)
        u_face = np.arange(self.n_u).reshape(ny, nx + 1)
        v_face = self.n_u + np.arange(self.n_v).reshape(ny + 1, nx)
        rows = np.tile(cell.ravel(), 4)
        cols = np.concatenate(
            [u_face[:, 1:].ravel(), u_face[:, :-1].ravel(), v_face[1:].ravel(), v_face[:-1].ravel()]
        )
        n = nx * ny
        vals = np.repeat([1 / grid.dx, -1 / grid.dx, 1 / grid.dy, -1 / grid.dy], n)
        divergence = sp.csr_matrix((vals, (rows, cols)), shape=(n, self.n_u + self.n_v))
        weight_u = free_u.astype(float)
        weight_u[:, -1] *= 2.0  # outlet: p = 0 on the boundary face
        weight = sp.diags(np.concatenate([weight_u.ravel(), free_v.ravel().astype(float)]))
        fluid_cells = cell[fluid]
        self.divergence = divergence[fluid_cells]
        self.fluid_cells = fluid_cells
        laplacian = self.divergence @ weight @ self.divergence.T
        # Anchors fix the pressure level: outlet cells (p = 0 beyond), else one pinned cell.
        outlet = np.flatnonzero(fluid[:, -1] & free_u[:, -1])
        anchors = np.searchsorted(fluid_cells, cell[outlet, -1]) if len(outlet) else [0]
        _, component = connected_components(laplacian, directed=False)
        if not np.isin(component, component[anchors]).all():
            raise ConfigError(
                f"the {self.domain.problem} geometry closes off part of the fluid on this "
                f"{nx}×{ny} grid; check the obstacle sizes or use more cells"
            )
        unknown = slice(0 if len(outlet) else 1, None)
        self.unknown_cells = fluid_cells[unknown]
        self._d = self.divergence[unknown]
        self.gradient_t = (weight @ self._d.T).tocsr()  # −G: q ← q + (W Dᵀ) φ
        matrix = laplacian[unknown][:, unknown].tocsc()
        self.poisson = spla.splu(matrix, permc_spec="MMD_AT_PLUS_A")

    def project(self, q: np.ndarray) -> np.ndarray:
        """Make q discretely divergence-free in place; returns φ = Δt·p on the unknown cells."""
        phi = self.poisson.solve(-(self._d @ q))
        q += self.gradient_t @ phi
        return phi

    def max_divergence(self, q: np.ndarray) -> float:
        return float(np.max(np.abs(self.divergence @ q)))

    def pressure(self, phi: np.ndarray) -> np.ndarray:
        p = np.zeros(self.grid.nx * self.grid.ny)
        p[self.unknown_cells] = phi
        if not self.domain.channel:
            p[self.fluid_cells] -= p[self.fluid_cells].mean()
        return p.reshape(self.grid.ny, self.grid.nx)

    def stable_dt(self, q: np.ndarray) -> float | None:
        """The step of the module doc; None once the velocity is not finite or has blown up."""
        grid = self.grid
        u_max = max(float(np.max(np.abs(q[: self.n_u]))), abs(self.domain.lid_velocity))
        v_max = float(np.max(np.abs(q[self.n_u :])))
        rate = u_max / grid.dx + v_max / grid.dy
        if not math.isfinite(rate) or max(u_max, v_max) > BLOW_UP_SPEED * _speed(self.domain):
            return None
        viscous = 0.25 * min(grid.dx, grid.dy) ** 2 / self.domain.viscosity
        return SAFETY * (min(1.0 / rate, viscous) if rate > 0 else viscous)

    def tendency(self, q: np.ndarray) -> np.ndarray:
        """F(q): advection + diffusion on the free faces, 0 on the fixed ones (a work array)."""
        grid = self.grid
        nx, ny, dx, dy = grid.nx, grid.ny, grid.dx, grid.dy
        u = q[: self.n_u].reshape(ny, nx + 1)
        v = q[self.n_u :].reshape(ny + 1, nx)
        ux, uy, vx, vy = self._ux, self._uy, self._vx, self._vy
        _pad_rows(ux.T, u.T, EDGE, EDGE)
        _pad_rows(uy, u, *self.u_sides)
        _pad_rows(vx.T, v.T, *self.v_sides)
        _pad_rows(vy, v, EDGE, EDGE)
        u_corner = 0.5 * (uy[1:-2] + uy[2:-1])  # (ny+1, nx+1) at (x_min + i·dx, y_min + j·dy)
        v_corner = 0.5 * (vx[:, 1:-2] + vx[:, 2:-1])

        lo, hi = ux[:, 1:-2], ux[:, 2:-1]
        fx = _flux(0.5 * (lo + hi), lo, hi, ux[:, :-3], ux[:, 3:])
        fy = _flux(v_corner, uy[1:-2], uy[2:-1], uy[:-3], uy[3:])
        du = self.nu_dx2 * (ux[:, 3:-1] + ux[:, 1:-3]) + self.nu_dy2 * (uy[3:-1] + uy[1:-3])
        du -= self.diag_u * u
        du -= (fx[:, 1:] - fx[:, :-1]) / dx
        du -= (fy[1:] - fy[:-1]) / dy

        lo, hi = vy[1:-2], vy[2:-1]
        gy = _flux(0.5 * (lo + hi), lo, hi, vy[:-3], vy[3:])
        gx = _flux(u_corner, vx[:, 1:-2], vx[:, 2:-1], vx[:, :-3], vx[:, 3:])
        dv = self.nu_dx2 * (vx[:, 3:-1] + vx[:, 1:-3]) + self.nu_dy2 * (vy[3:-1] + vy[1:-3])
        dv -= self.diag_v * v
        dv -= (gx[:, 1:] - gx[:, :-1]) / dx
        dv -= (gy[1:] - gy[:-1]) / dy

        out = self._out
        np.multiply(du, self.free_u, out=out[: self.n_u].reshape(ny, nx + 1))
        np.multiply(dv, self.free_v, out=out[self.n_u :].reshape(ny + 1, nx))
        return out


def _speed(domain: Domain) -> float:
    return max(domain.velocity, abs(domain.lid_velocity))


def _sides(domain: Domain) -> tuple[tuple[_Side, _Side], tuple[_Side, _Side]]:
    """Ghost rules (u at bottom, top), (v at left, right) along the tangential axes."""
    walls = SLIP if domain.slip_walls else _no_slip()
    top = walls if domain.channel else _no_slip(domain.lid_velocity)
    return (walls, top), (_no_slip(), EDGE if domain.channel else _no_slip())


class _Sampler:
    """Bilinear u and v at fixed points from the state vector (module doc); 0 in solids."""

    def __init__(self, domain: Domain, grid: Grid, x: np.ndarray, y: np.ndarray) -> None:
        x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
        n_u = grid.ny * (grid.nx + 1)
        n = n_u + (grid.ny + 1) * grid.nx
        keep = (~domain.solid(x, y)).astype(float)
        tol = 1e-9 * max(domain.width, domain.height)
        u_sides, v_sides = _sides(domain)
        u_y = _centre_axis(grid.y_min, grid.dy, grid.ny, *u_sides)
        v_x = _centre_axis(grid.x_min, grid.dx, grid.nx, *v_sides)
        points = (x, y, keep)
        self.u = _bilinear(u_y, _face_axis(grid.x_faces), 0, n, points, tol)
        self.v = _bilinear(_face_axis(grid.y_faces), v_x, n_u, n, points, tol)

    def __call__(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.u[0] @ q + self.u[1], self.v[0] @ q + self.v[1]


@dataclass(frozen=True)
class FlowRun:
    """A solver run: frames on the frame grid, final fields, probe series and cost.

    ``u``, ``v``: (T, H, W) float64 at ``times``, on the cell centres ``frame_x`` (W,),
    ``frame_y`` (H,) of a uniform grid over the domain (row 0 at y_min), 0 inside solids.
    ``u_faces`` (ny, nx+1), ``v_faces`` (ny+1, nx), ``pressure`` (ny, nx, kinematic, 0 in
    solids): the final state on the solver grid. ``probe_u``, ``probe_v``: (steps+1, P)
    at ``probe_times`` for ``probe_points`` (P, 2). ``max_divergence``: the largest
    ‖∇·u‖_∞ (velocity/length) after any step; ``dt``: the stable step at the end (the last
    step itself may be shorter, to land on a frame time); ``seconds``: wall time; ``steady``:
    whether :func:`run_to_steady` met its tolerance (None for :func:`simulate`). The
    pressure of the closed cavity has zero mean, a channel's is 0 at the outlet.
    """

    domain: Domain
    grid: Grid
    times: np.ndarray
    u: np.ndarray
    v: np.ndarray
    frame_x: np.ndarray
    frame_y: np.ndarray
    u_faces: np.ndarray
    v_faces: np.ndarray
    pressure: np.ndarray
    steps: int
    final_time: float
    dt: float
    max_divergence: float
    seconds: float
    steady: bool | None
    probe_points: np.ndarray
    probe_times: np.ndarray
    probe_u: np.ndarray
    probe_v: np.ndarray


class _Integrator:
    """Projection steps from rest (module doc); the initial state is the projected inflow,
    i.e. an impulsive start (fluid at rest in a closed cavity)."""

    def __init__(self, domain: Domain, grid: Grid, probes: Sequence[tuple[float, float]]) -> None:
        self.scheme = scheme = _Scheme(domain, grid)
        self.q = scheme.boundary_at(0.0).copy()
        scheme.project(self.q)
        self.t, self.steps, self.dt = 0.0, 0, math.nan
        self.p = np.zeros(len(scheme.unknown_cells))
        self.max_divergence = scheme.max_divergence(self.q)
        self.probe_points = np.asarray(probes, dtype=float).reshape(-1, 2)
        self.probe = _Sampler(domain, grid, self.probe_points[:, 0], self.probe_points[:, 1])
        self.probe_times, self.probe_values = [0.0], [self.probe(self.q)]

    def step(self, t_end: float) -> float:
        """One step, no further than ``t_end``; returns max|Δq|/Δt."""
        scheme = self.scheme
        stable = dt = scheme.stable_dt(self.q)
        if dt is None:
            raise ConfigError(
                f"the solution blew up at t = {self.t:.6g} ({self.steps} steps): the flow is "
                "under-resolved; use more cells or a lower Reynolds number"
            )
        last = t_end - self.t <= dt * (1 + 1e-9)
        dt = t_end - self.t if last else dt
        boundary = scheme.boundary_at(self.t + dt)
        lagged = scheme.gradient_t @ self.p  # −G pⁿ
        q1 = self.q + dt * (scheme.tendency(self.q) + lagged)
        change = q1 + dt * (scheme.tendency(q1) + lagged)
        change -= self.q
        change *= 0.5  # ½(q² − qⁿ) before the projection
        change[scheme.fixed] = boundary[scheme.fixed] - self.q[scheme.fixed]
        self.p += scheme.project(change) / dt  # the increment: no round-off ÷ a short Δt
        self.q = self.q + change
        self.dt = stable
        self.t = t_end if last else self.t + dt
        self.steps += 1
        self.max_divergence = max(self.max_divergence, scheme.max_divergence(self.q))
        self.probe_times.append(self.t)
        self.probe_values.append(self.probe(self.q))
        return float(np.max(np.abs(change))) / dt

    def result(self, frames: _Frames, seconds: float, steady: bool | None) -> FlowRun:
        grid, n_u = self.scheme.grid, self.scheme.n_u
        values = np.array(self.probe_values).reshape(len(self.probe_values), 2, -1)
        return FlowRun(
            domain=self.scheme.domain,
            grid=grid,
            times=np.array(frames.times, dtype=float),
            u=np.array(frames.u),
            v=np.array(frames.v),
            frame_x=frames.x,
            frame_y=frames.y,
            u_faces=self.q[:n_u].reshape(grid.ny, grid.nx + 1).copy(),
            v_faces=self.q[n_u:].reshape(grid.ny + 1, grid.nx).copy(),
            pressure=self.scheme.pressure(self.p),
            steps=self.steps,
            final_time=self.t,
            dt=self.dt,
            max_divergence=self.max_divergence,
            seconds=seconds,
            steady=steady,
            probe_points=self.probe_points,
            probe_times=np.array(self.probe_times),
            probe_u=values[:, 0],
            probe_v=values[:, 1],
        )


class _Frames:
    """Velocity frames on the cell centres of a uniform (H, W) grid over the domain."""

    def __init__(self, domain: Domain, grid: Grid, shape: tuple[int, int] | None) -> None:
        height, width = (grid.ny, grid.nx) if shape is None else shape
        if min(height, width) < 1:
            raise ConfigError(f"frame_shape must hold two positive sizes, got {shape}")
        self.shape = (height, width)
        self.x = domain.x_min + (np.arange(width) + 0.5) * domain.width / width
        self.y = domain.y_min + (np.arange(height) + 0.5) * domain.height / height
        self.sample = _Sampler(domain, grid, *np.meshgrid(self.x, self.y))
        self.times: list[float] = []
        self.u: list[np.ndarray] = []
        self.v: list[np.ndarray] = []

    def record(self, t: float, q: np.ndarray) -> None:
        u, v = self.sample(q)
        self.times.append(t)
        self.u.append(u.reshape(self.shape))
        self.v.append(v.reshape(self.shape))


def simulate(
    domain: Domain,
    cells: int,
    frame_times: Sequence[float],
    frame_shape: tuple[int, int] | None = None,
    probes: Sequence[tuple[float, float]] = (),
) -> FlowRun:
    """Integrate from rest and record velocity frames at ``frame_times`` (hit exactly).

    ``cells`` across the height (:meth:`Grid.for_domain`); frames on ``frame_shape`` = (H, W)
    cell centres over the domain (default: the solver's cells); ``probes``: (x, y) points
    where u and v are recorded after every step. At t = 0 a channel's inflow switches on,
    so its t = 0 frame is the projection of that inflow onto divergence-free fields (the
    potential flow of an impulsive start); the cavity's is at rest.
    """
    start = time.perf_counter()
    times = [float(t) for t in frame_times]
    if not times or any(not math.isfinite(t) or t < 0 for t in times) or times != sorted(times):
        raise ConfigError(f"frame_times must be a non-empty ascending list of times ≥ 0: {times}")
    grid = Grid.for_domain(domain, cells)
    frames = _Frames(domain, grid, frame_shape)
    run = _Integrator(domain, grid, probes)
    for t in times:
        while run.t < t:
            run.step(t)
        frames.record(t, run.q)
    return run.result(frames, time.perf_counter() - start, None)


def run_to_steady(
    domain: Domain,
    cells: int,
    tol: float = 1e-5,
    max_time: float | None = None,
    frame_shape: tuple[int, int] | None = None,
    probes: Sequence[tuple[float, float]] = (),
) -> FlowRun:
    """Integrate from rest until max|Δu|/Δt < tol·U²/L, or until ``max_time``.

    U, L: the domain's reference speed and length; ``max_time`` defaults to 200 L/U. The
    single frame holds the final state; ``steady`` says whether the tolerance was met.
    """
    start = time.perf_counter()
    scale = _speed(domain) ** 2 / domain.length
    end = 200 * domain.length / _speed(domain) if max_time is None else float(max_time)
    if not (tol > 0 and end > 0):
        raise ConfigError(f"tol and max_time must be positive, got {tol!r} and {max_time!r}")
    grid = Grid.for_domain(domain, cells)
    frames = _Frames(domain, grid, frame_shape)
    run = _Integrator(domain, grid, probes)
    steady = False
    while run.t < end and not steady:
        steady = run.step(end) < tol * scale
    frames.record(run.t, run.q)
    return run.result(frames, time.perf_counter() - start, steady)


def interpolate_velocity(
    domain: Domain,
    grid: Grid,
    u_faces: np.ndarray,
    v_faces: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear (u, v) at points (x, y) from face values (ny, nx+1) and (ny+1, nx).

    Wall values come from the boundary conditions (module doc); 0 inside obstacles.
    """
    x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    q = np.concatenate([np.ravel(u_faces), np.ravel(v_faces)])
    u, v = _Sampler(domain, grid, x, y)(q)
    return u.reshape(x.shape), v.reshape(x.shape)


def cell_centre_velocity(run: FlowRun) -> tuple[np.ndarray, np.ndarray]:
    """The final (u, v) at the solver's cell centres, (ny, nx) each; 0 in solid cells."""
    x, y = np.meshgrid(run.grid.x_centres, run.grid.y_centres)
    return interpolate_velocity(run.domain, run.grid, run.u_faces, run.v_faces, x, y)


@dataclass(frozen=True)
class Centrelines:
    """Cavity centrelines in lid units on the unit square: u(x = ½, y) and v(x, y = ½)."""

    y: np.ndarray
    u: np.ndarray
    x: np.ndarray
    v: np.ndarray


def cavity_centrelines(run: FlowRun) -> Centrelines:
    """u along x = width/2 at the cell-centre heights, v along y = height/2 at the cell-centre
    abscissae, divided by the lid speed, lengths divided by width and height."""
    domain, grid = run.domain, run.grid
    if domain.channel or domain.lid_velocity == 0:
        raise ConfigError(f"centrelines need a lid-driven cavity, not {domain.problem!r}")
    y, x = grid.y_centres, grid.x_centres
    points_x = np.concatenate([np.full_like(y, domain.x_min + domain.width / 2), x])
    points_y = np.concatenate([y, np.full_like(x, domain.y_min + domain.height / 2)])
    u, v = interpolate_velocity(domain, grid, run.u_faces, run.v_faces, points_x, points_y)
    u, v = u[: len(y)], v[len(y) :]
    lid = domain.lid_velocity
    return Centrelines(
        (y - domain.y_min) / domain.height, u / lid, (x - domain.x_min) / domain.width, v / lid
    )


def strouhal(run: FlowRun, probe: int = 0, after: float | None = None) -> float | None:
    """St = f·L/U from the mean period between upward zero crossings of a probe's v(t) − mean.

    L, U: the domain's reference length and speed (cylinder: diameter and inflow speed).
    Uses t ≥ ``after`` (default: the second half of the run); None without a periodic
    signal there (fewer than three upward crossings, or no variation).
    """
    t, v = run.probe_times, run.probe_v[:, probe]
    start = run.final_time / 2 if after is None else after
    t, v = t[t >= start], v[t >= start]
    if len(v) < 2 or np.ptp(v) < 1e-6 * run.domain.velocity:
        return None
    v = v - v.mean()
    up = np.flatnonzero((v[:-1] < 0) & (v[1:] >= 0))
    if len(up) < 3:
        return None
    crossings = t[up] - v[up] * (t[up + 1] - t[up]) / (v[up + 1] - v[up])
    period = (crossings[-1] - crossings[0]) / (len(crossings) - 1)
    return run.domain.length / (period * run.domain.velocity)
