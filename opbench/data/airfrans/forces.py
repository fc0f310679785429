"""Drag and lift coefficients of an AirfRANS simulation from its wall pressure and velocity.

The force of the fluid on the airfoil per unit span, in kinematic units (divided by the
density, as AirfRANS stores p/ρ), is

    F = ∮ p n ds + ∮ τ ds,   τ = −2ν dev(S) n,   S = ½(∇u + ∇uᵀ),   dev(S) = S − tr(S)/3 · I,

with n the unit normal pointing INTO the airfoil (the ``Normals`` of ``_aerofoil.vtp``), and

    C_D = F·(cos α, sin α) / (½U∞²c),   C_L = F·(−sin α, cos α) / (½U∞²c),   c = 1.

Discretisation, chosen to reproduce the official ``airfrans`` package (v0.1.5.1,
``Simulation.wallshearstress``/``force``/``force_coefficient``) and the benchmark code
(``Extrality/AirfRANS`` ``metrics.py``, ``Compute_coefficients``):

* ∇u at a wall node is VTK's point gradient on the quad mesh (``vtkGradientFilter``, which
  the official code calls through pyvista's ``compute_derivative``): the unweighted mean,
  over the quads that contain the node, of the bilinear quad's derivative at that corner.
  At a corner that derivative is exactly the gradient of the linear function through the
  corner and its two edge neighbours, which is what :func:`wall_velocity_gradient` solves.
* tr(S)/3 with a 2×2 S is the official 3-D deviator convention, kept as is.
* The integrals run over the wall's 2-point segments: segment length times the mean of the
  two endpoint values; for the pressure term the mean of p times the mean of the two
  endpoint normals (not renormalised), as pyvista's point-to-cell averaging does there.

ν defaults to 1.56e-5 m²/s, the viscosity the simulations were run with (``NACA_simulation``)
and that the benchmark's ``metrics.py`` uses. The ``airfrans`` package instead evaluates a
temperature fit at 298.15 K, ν = 1.5498e-5 (its ``Simulation.NU``), so its viscous
contribution is 0.65 % smaller; pass ``nu`` to reproduce it. Neither code zeroes a
prediction's velocity on the wall before differentiating (the benchmark's inference step
does, upstream of ``Compute_coefficients``): the fields given here are used as they are.

Everything about the mesh is precomputed once per simulation in a :class:`WallStencil`;
the fields may carry leading batch axes (several predictions of one simulation at once).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NU = 1.56e-5
"""Kinematic viscosity of the AirfRANS simulations, m²/s."""


@dataclass(frozen=True)
class WallStencil:
    """The mesh-dependent part of the force integral, built by :func:`wall_stencil`.

    W wall points (in the order of the wall arrays given), U distinct wall nodes among
    them, K (quad, corner) pairs at those nodes, grouped by distinct node.
    """

    nodes: np.ndarray  # (W,) volume-mesh node of each wall point
    normals: np.ndarray  # (W, 2) inward unit normals
    distinct: np.ndarray  # (W,) index of each wall point's node among the U distinct ones
    corners: np.ndarray  # (K, 3) volume nodes: the corner, its next and its previous neighbour
    inverse_edges: np.ndarray  # (K, 2, 2) inverse of the matrix whose rows are the two edges
    starts: np.ndarray  # (U,) first corner of each distinct node
    counts: np.ndarray  # (U,) number of quads at each distinct node
    pressure_weights: np.ndarray  # (W, 2) Σ over the segments at a point of ½·length·mean normal
    shear_weights: np.ndarray  # (W,) Σ over the segments at a point of ½·length


def wall_stencil(
    points: np.ndarray,
    quads: np.ndarray,
    wall_nodes: np.ndarray,
    segments: np.ndarray,
    normals: np.ndarray,
) -> WallStencil:
    """Precompute the force integral for one mesh.

    ``points`` (N, ≥2) node coordinates, ``quads`` (M, 4) node indices of the cells,
    ``wall_nodes`` (W,) the node of each wall point, ``segments`` (S, 2) the wall's 2-point
    lines as indices into the wall points, ``normals`` (W, ≥2) inward unit normals.
    """
    xy = np.asarray(points, dtype=np.float64)[:, :2]
    quads = np.asarray(quads, dtype=np.int64)
    wall_nodes = np.asarray(wall_nodes, dtype=np.int64)
    segments = np.asarray(segments, dtype=np.int64)
    normals = np.asarray(normals, dtype=np.float64)[:, :2]
    distinct_nodes, distinct = np.unique(wall_nodes, return_inverse=True)
    slot = np.full(len(xy), -1)
    slot[distinct_nodes] = np.arange(len(distinct_nodes))
    cell, corner = np.nonzero(slot[quads] >= 0)
    owner = slot[quads[cell, corner]]
    order = np.argsort(owner, kind="stable")
    cell, corner, owner = cell[order], corner[order], owner[order]
    counts = np.bincount(owner, minlength=len(distinct_nodes))
    if not counts.all():
        lonely = distinct_nodes[counts == 0]
        raise ValueError(f"{lonely.size} wall node(s) belong to no quad, e.g. node {lonely[0]}")
    corners = np.stack(
        [quads[cell, corner], quads[cell, (corner + 1) % 4], quads[cell, (corner + 3) % 4]], axis=1
    )
    edges = xy[corners[:, 1:]] - xy[corners[:, :1]]
    lengths = np.linalg.norm(
        xy[wall_nodes[segments[:, 1]]] - xy[wall_nodes[segments[:, 0]]], axis=1
    )
    half = 0.5 * lengths
    mean_normals = 0.5 * (normals[segments[:, 0]] + normals[segments[:, 1]])
    pressure_weights = np.zeros_like(normals)
    shear_weights = np.zeros(len(wall_nodes))
    for end in (0, 1):
        np.add.at(pressure_weights, segments[:, end], half[:, None] * mean_normals)
        np.add.at(shear_weights, segments[:, end], half)
    return WallStencil(
        nodes=wall_nodes,
        normals=normals,
        distinct=distinct,
        corners=corners,
        inverse_edges=np.linalg.inv(edges),
        starts=np.concatenate([[0], np.cumsum(counts)[:-1]]),
        counts=counts,
        pressure_weights=pressure_weights,
        shear_weights=shear_weights,
    )


def wall_velocity_gradient(stencil: WallStencil, velocity: np.ndarray) -> np.ndarray:
    """∂u_i/∂x_j at the wall points, (..., W, 2, 2), from ``velocity`` (..., N, 2) on the mesh.

    For a corner x₀ with edge neighbours x₁, x₂ the linear gradient G solves
    (x_a − x₀)·G_iᵀ = u_i(x_a) − u_i(x₀), a = 1, 2; G is then averaged over the node's quads.
    """
    velocity = np.asarray(velocity, dtype=np.float64)[..., :2]
    at_corners = velocity[..., stencil.corners, :]
    differences = at_corners[..., 1:, :] - at_corners[..., :1, :]
    gradients = np.einsum("kja,...kai->...kij", stencil.inverse_edges, differences)
    summed = np.add.reduceat(gradients, stencil.starts, axis=-3)
    return (summed / stencil.counts[:, None, None])[..., stencil.distinct, :, :]


def wall_shear_stress(stencil: WallStencil, velocity: np.ndarray, nu: float = NU) -> np.ndarray:
    """Kinematic viscous traction on the airfoil, τ = −2ν dev(S) n, (..., W, 2)."""
    gradient = wall_velocity_gradient(stencil, velocity)
    strain = 0.5 * (gradient + np.swapaxes(gradient, -1, -2))
    trace = np.trace(strain, axis1=-2, axis2=-1)
    deviator = strain - trace[..., None, None] / 3 * np.eye(2)
    return -2 * nu * np.einsum("...wij,wj->...wi", deviator, stencil.normals)


def wall_forces(
    stencil: WallStencil, velocity: np.ndarray, pressure: np.ndarray, nu: float = NU
) -> tuple[np.ndarray, np.ndarray]:
    """Pressure and viscous force on the airfoil, each (..., 2), in kinematic units.

    ``velocity`` (..., N, 2) and ``pressure`` (..., N) are fields on the whole mesh.
    """
    wall_pressure = np.asarray(pressure, dtype=np.float64)[..., stencil.nodes]
    pressure_force = np.einsum("...w,wd->...d", wall_pressure, stencil.pressure_weights)
    shear = wall_shear_stress(stencil, velocity, nu)
    viscous_force = np.einsum("...wd,w->...d", shear, stencil.shear_weights)
    return pressure_force, viscous_force


def force_coefficients(
    stencil: WallStencil,
    velocity: np.ndarray,
    pressure: np.ndarray,
    u_inf: float | np.ndarray,
    aoa_deg: float | np.ndarray,
    nu: float = NU,
) -> tuple[np.ndarray, np.ndarray]:
    """(C_D, C_L), each of the batch shape of the fields, for freestream speed ``u_inf``
    (m/s) at angle of attack ``aoa_deg`` (degrees; both broadcast against the batch)."""
    pressure_force, viscous_force = wall_forces(stencil, velocity, pressure, nu)
    force = pressure_force + viscous_force
    alpha = np.asarray(aoa_deg, dtype=np.float64) * np.pi / 180
    dynamic = 0.5 * np.asarray(u_inf, dtype=np.float64) ** 2
    cos, sin = np.cos(alpha), np.sin(alpha)
    drag = (force[..., 0] * cos + force[..., 1] * sin) / dynamic
    lift = (force[..., 1] * cos - force[..., 0] * sin) / dynamic
    return drag, lift
