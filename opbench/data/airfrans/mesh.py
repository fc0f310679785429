"""A body-fitted structured O-grid of quads around an airfoil, clipped to the AirfRANS box.

The AirfRANS volume meshes (Bonnet et al., NeurIPS 2022) are quad meshes clustered toward
the wall and clipped to x ∈ [−2, 4], y ∈ [−1.5, 1.5]; the official ``airfrans`` package
reads the cells as quads and takes wall shear from velocity gradients on the mesh. This
module builds such a mesh algebraically (Thompson, Warsi & Mastin, *Numerical Grid
Generation*, 1985, ch. 8: transfinite interpolation with a normal-direction blend).

**Input.** The surface is a closed polyline (n, 2), chord 1, leading edge (0, 0), trailing
edge (1, 0), ordered **clockwise**: trailing edge (first point, once) → lower surface →
leading edge → upper surface, the closing segment joining the last point back to the
trailing edge (a repeated trailing edge at the end, as ``naca.surface`` writes it, is
dropped).

**Nodes.** Node (j, i) — ring j = 0…n_normal, position i = 0…n_around−1 along the surface —
is ``points[j·n_around + i]``; ring 0 is the wall, ring n_normal the box perimeter. Quads
(j, i), (j, i+1), (j+1, i+1), (j+1, i) (i cyclic) are counter-clockwise because the wall
is clockwise and j grows outward.

**Outer points.** The trailing edge is matched to the box point (4, y_w) where its wedge
bisector meets the right side, y_w clipped to ±``WAKE_LIMIT``·1.5 (so the grid lines
leave an aft-cambered trailing edge along its own direction), and the leading edge (the
surface point nearest (0, 0)) to (−2, 0). Each half of the surface, with arclength fraction
a ∈ [0, 1] from its first end, is matched to the corresponding clockwise stretch of the box
perimeter at fraction β = arccos(1 − 2a)/π, which spaces the outer points equally for a
cosine-spaced surface; the node nearest each box corner is moved onto it, so the outer
ring covers the rectangle exactly.

**Distances along a ray.** Ring j lies at nominal distance d_ij from the wall:
δ_j = h (r^j − 1)/(r − 1) is geometric with first cell h and δ_n = D = min_i L_i,
L_i = |Q_i − P_i| (wall point P_i, outer point Q_i), and
d_ij = δ_j + (L_i − D)(δ_j/D)², so that near the wall every ray has the same spacing and
d = L_i at the box.

**Curves.** X_ij = (1 − B) N_ij + B S_ij, with S_ij = P_i + d_ij (Q_i − P_i)/L_i the
straight line to the outer point, B = s²(3 − 2s) with s = min(d_ij/ℓ, 1) and blend length
ℓ = ``BLEND``, and N the march away from the wall along smoothed normals:
N_{i,j+1} = N_ij + (d_{i,j+1} − d_ij) m̄, m̄ the normalised mean of the ring-j and
ring-(j+1) directions. The directions m_j are the outward vertex normals (bisectors of the
adjacent segment normals; at the trailing edge the wedge bisector) diffused along the
surface arclength s, ∂m/∂τ = ∂²m/∂s² (lumped linear elements, one backward-Euler step per
ring, renormalised), to τ_j = (κ min(δ_j − h, ℓ))²/2 with κ = ``FAN``: a smoothing width
≈ κ·distance, so ring 1 is exactly wall-normal and the rays fan out gradually around the
sharp trailing edge instead of jumping by its turning angle. No elliptic smoothing
follows: the blend alone gives valid cells over the AirfRANS NACA parameter ranges.

**Checks.** Every quad must be strictly convex (positive cross product at all four
corners, hence positive area) and every node inside the box within 1e−12; a violation
raises :class:`ConfigError`. Ring 0 is the (float64) surface itself, copied, not
recomputed, so without resampling it equals the input bit for bit.

**Distance.** ``distance`` is the exact Euclidean distance of every node to the closed wall
polyline (0 on the wall), as ``implicit_distance`` is (with the opposite sign) in AirfRANS.
Wall normals in the mesh point **into** the airfoil (the AirfRANS ``Normals`` convention).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.interpolate import CubicSpline
from scipy.optimize import brentq
from scipy.spatial import cKDTree

from opbench.errors import ConfigError

BOX = (-2.0, 4.0, -1.5, 1.5)  # the AirfRANS clipping box (x_min, x_max, y_min, y_max)
N_NORMAL = 96  # cells from the wall to the box
FIRST_CELL = 1e-4  # wall-normal height of the first cell, chords
BLEND = 0.6  # ℓ: distance over which the normal march blends into the straight lines
FAN = 2.0  # κ: normal-smoothing width per unit distance from the wall
WAKE_LIMIT = 0.5  # largest |y| of the trailing edge's outer point, in box half-heights
MIN_AROUND = 16
BOX_TOLERANCE = 1e-12
_NEIGHBOURS = 8  # segments measured exactly before the certified search


@dataclass(frozen=True)
class Mesh:
    """A structured O-grid: node (j, i) is ``points[j * shape[1] + i]``, ring j = 0 the wall.

    ``quads`` (M, 4) are counter-clockwise node indices; ``wall`` and ``outer`` are the node
    indices of ring 0 and of the last ring (on the box perimeter), both clockwise from the
    trailing edge's grid line; ``wall_normals`` (n_wall, 2) are unit normals pointing into
    the airfoil; ``distance`` (N,) is every node's distance to the wall polyline.
    """

    points: np.ndarray
    quads: np.ndarray
    wall: np.ndarray
    wall_normals: np.ndarray
    distance: np.ndarray
    outer: np.ndarray
    shape: tuple[int, int]

    def ring(self, j: int) -> np.ndarray:
        """Node indices of ring j (0 = wall, shape[0] − 1 = box), in wall order."""
        n_rings, n_around = self.shape
        if not 0 <= j < n_rings:
            raise ConfigError(f"ring must be in [0, {n_rings - 1}], got {j}")
        return np.arange(j * n_around, (j + 1) * n_around)


@dataclass(frozen=True)
class Quality:
    """Cell statistics: areas, aspect ratio (longest/shortest edge), skew (largest
    |corner angle − 90°|, degrees) and wall orthogonality (cosine between each first
    wall-to-ring-1 edge and the wall normal; 1 is orthogonal)."""

    min_area: float
    max_aspect: float
    max_skew_deg: float
    min_wall_orthogonality: float


def build_mesh(
    surface: np.ndarray,
    *,
    n_around: int | None = None,
    n_normal: int = N_NORMAL,
    first_cell: float = FIRST_CELL,
) -> Mesh:
    """The O-grid around ``surface`` (see the module docstring for the construction).

    ``n_around`` None keeps the surface points as the wall ring (bit for bit); an integer
    resamples the surface to that many points with cosine clustering at both edges
    (:func:`resample_surface`). Nodes: n_around·(n_normal + 1).
    """
    if n_normal < 2:
        raise ConfigError(f"n_normal must be at least 2, got {n_normal}")
    wall = check_surface(surface)
    if n_around is not None:
        wall = resample_surface(wall, n_around)
    outer = _outer_points(wall)
    lengths = np.hypot(*(outer - wall).T)
    delta = _geometric_distances(first_cell, n_normal, float(lengths.min()))
    grid = _curves(wall, outer, lengths, delta)
    points = grid.reshape(-1, 2)
    quads = _quads(n_normal, len(wall))
    _check_cells(points, quads)
    _check_box(points)
    n = len(wall)
    return Mesh(
        points=points,
        quads=quads,
        wall=np.arange(n),
        wall_normals=-vertex_normals(wall),
        distance=wall_distance(points, wall),
        outer=np.arange(n_normal * n, (n_normal + 1) * n),
        shape=(n_normal + 1, n),
    )


def check_surface(surface: np.ndarray) -> np.ndarray:
    """The surface as a float64 (n, 2) array, trailing edge once; ConfigError if it is not a
    simple clockwise polygon starting at the trailing edge (1, 0) and closing there."""
    points = np.asarray(surface, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or not np.isfinite(points).all():
        raise ConfigError(f"surface must be a finite (n, 2) array, got shape {points.shape}")
    if len(points) > 1 and np.array_equal(points[0], points[-1]):
        points = points[:-1]
    if len(points) < MIN_AROUND:
        raise ConfigError(f"surface needs at least {MIN_AROUND} points, got {len(points)}")
    if np.hypot(points[0, 0] - 1.0, points[0, 1]) > 1e-6:
        raise ConfigError(f"surface must start at the trailing edge (1, 0), got {points[0]}")
    segments = np.hypot(*(np.roll(points, -1, axis=0) - points).T)
    if segments.min() <= 0:
        raise ConfigError("surface has repeated consecutive points")
    if segments[-1] > segments[:-1].max():
        raise ConfigError(
            "surface is not closed: the segment from its last point back to the trailing "
            "edge is its longest; give the whole section, trailing edge → lower → upper"
        )
    if signed_area(points) >= 0:
        raise ConfigError(
            "surface must be ordered clockwise (trailing edge → lower surface → leading "
            "edge → upper surface); reverse it"
        )
    if _self_intersects(points):
        raise ConfigError("surface polyline intersects itself")
    return points


def signed_area(polygon: np.ndarray) -> float:
    """Shoelace area of a closed polygon (n, 2): positive when counter-clockwise."""
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _self_intersects(points: np.ndarray) -> bool:
    """Whether two non-adjacent segments of the closed polyline cross or touch."""
    a, b = points, np.roll(points, -1, axis=0)
    n = len(points)

    def side(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
        return (q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1]) - (q[..., 1] - p[..., 1]) * (
            r[..., 0] - p[..., 0]
        )

    i, k = np.triu_indices(n, 2)
    keep = ~((i == 0) & (k == n - 1))
    i, k = i[keep], k[keep]
    d1, d2 = side(a[i], b[i], a[k]), side(a[i], b[i], b[k])
    d3, d4 = side(a[k], b[k], a[i]), side(a[k], b[k], b[i])
    return bool(np.any((d1 * d2 <= 0) & (d3 * d4 <= 0)))


def resample_surface(surface: np.ndarray, n_around: int) -> np.ndarray:
    """``n_around`` points on a cubic spline through the surface (arclength parameter),
    cosine-clustered on each side: a = (1 − cos πu)/2 of each side's arclength, u uniform.

    The trailing edge (first point) and the leading edge (the point nearest (0, 0)) are
    kept exactly; the lower side gets n_around // 2 intervals.
    """
    points = check_surface(surface)
    if n_around < MIN_AROUND:
        raise ConfigError(f"n_around must be at least {MIN_AROUND}, got {n_around}")
    closed = np.vstack([points, points[:1]])
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(closed, axis=0).T))])
    leading = int(np.argmin(np.hypot(*points.T)))
    n_lower = n_around // 2
    n_upper = n_around - n_lower
    lower = s[leading] * _cosine(n_lower)
    upper = s[leading] + (s[-1] - s[leading]) * _cosine(n_upper)[1:-1]
    spline = CubicSpline(s, closed, axis=0)
    resampled = spline(np.concatenate([lower, upper]))
    resampled[0], resampled[n_lower] = points[0], points[leading]
    return resampled


def _cosine(intervals: int) -> np.ndarray:
    """Cosine-clustered fractions (1 − cos πu)/2 for ``intervals`` + 1 uniform u in [0, 1]."""
    fractions = 0.5 * (1.0 - np.cos(np.pi * np.arange(intervals + 1) / intervals))
    fractions[-1] = 1.0
    return fractions


def vertex_normals(polygon: np.ndarray) -> np.ndarray:
    """Outward unit normals of a clockwise polygon at its vertices: the normalised sum of the
    two adjacent segment normals (the bisector, also at a sharp corner)."""
    edges = np.roll(polygon, -1, axis=0) - polygon
    normals = np.stack([-edges[:, 1], edges[:, 0]], axis=1)
    normals /= np.hypot(*normals.T)[:, None]
    vertex = normals + np.roll(normals, 1, axis=0)
    return vertex / np.hypot(*vertex.T)[:, None]


def _perimeter(t: np.ndarray) -> np.ndarray:
    """Points on the box perimeter at arclength t (taken modulo the perimeter) clockwise
    from (x_max, 0); corners and sides are exact."""
    x0, x1, y0, y1 = BOX
    corners = np.array([[x1, 0.0], [x1, y0], [x0, y0], [x0, y1], [x1, y1], [x1, 0.0]])
    knots = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(corners, axis=0).T))])
    t = np.mod(t, knots[-1])
    return np.stack([np.interp(t, knots, corners[:, 0]), np.interp(t, knots, corners[:, 1])], 1)


def _outer_points(wall: np.ndarray) -> np.ndarray:
    """The outer point of each wall point (module docstring), box corners included."""
    x0, x1, y0, y1 = BOX
    half = (x1 - x0) + (y1 - y0)
    bisector = vertex_normals(wall)[0]
    wake = (x1 - wall[0, 0]) * bisector[1] / max(bisector[0], 1e-3)
    start = -np.clip(wake, WAKE_LIMIT * y0, WAKE_LIMIT * y1)
    closed = np.vstack([wall, wall[:1]])
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(closed, axis=0).T))])
    leading = int(np.argmin(np.hypot(*wall.T)))
    lower = np.arange(len(wall)) <= leading
    a = np.where(lower, s[:-1] / s[leading], (s[:-1] - s[leading]) / (s[-1] - s[leading]))
    beta = np.arccos(np.clip(1.0 - 2.0 * a, -1.0, 1.0)) / np.pi
    t = np.where(lower, start + (half - start) * beta, half + (half + start) * beta)
    for corner in (-y0, -y0 + (x1 - x0), half + y1, half + y1 + (x1 - x0)):
        t[np.argmin(np.abs(t - corner))] = corner
    if np.any(np.diff(t) <= 0):
        raise ConfigError("surface too coarse to place nodes on all four box corners")
    return _perimeter(t)


def _geometric_distances(first_cell: float, n_normal: int, total: float) -> np.ndarray:
    """δ_0…δ_n: δ_j = h (r^j − 1)/(r − 1) with δ_1 = h and δ_n = ``total``, r > 1."""
    if not np.isfinite(first_cell) or first_cell <= 0:
        raise ConfigError(f"first_cell must be positive, got {first_cell}")
    if first_cell * n_normal >= total:
        raise ConfigError(
            f"first_cell {first_cell:g} too large: {n_normal} cells of that height already "
            f"reach the box ({total:.3g} from the wall); use a smaller first_cell"
        )

    def excess(log_r: float) -> float:
        grown = n_normal * log_r + np.log(-np.expm1(-n_normal * log_r))  # log(r^n − 1)
        return grown - np.log(np.expm1(log_r)) - np.log(total / first_cell)

    log_r = brentq(excess, 1e-12, np.log(total / first_cell), xtol=1e-15)
    delta = first_cell * np.expm1(np.arange(n_normal + 1) * log_r) / np.expm1(log_r)
    delta[-1] = total
    return delta


def _smoothed_normals(wall: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Vertex normals diffused along the closed polyline to each of ``times`` (k,) → (k, n, 2).

    Lumped linear finite elements (K the stiffness, 1/h per segment of length h; M the
    dual lengths) and backward Euler between successive times, (M + Δτ K) m⁺ = M m: an
    M-matrix, so every smoothed normal is a positive combination of the wall normals.
    """
    h = np.hypot(*(np.roll(wall, -1, axis=0) - wall).T)
    n = len(wall)
    index = np.arange(n)
    following = np.roll(index, -1)
    rows = np.concatenate([index, following, index, following])
    cols = np.concatenate([index, following, following, index])
    values = np.concatenate([1.0 / h, 1.0 / h, -1.0 / h, -1.0 / h])
    stiffness = sp.csc_matrix((values, (rows, cols)), shape=(n, n))
    mass = 0.5 * (h + np.roll(h, 1))
    normals = np.empty((len(times), n, 2))
    current, previous = vertex_normals(wall), 0.0
    for k, time in enumerate(times):
        if time > previous:
            system = sp.diags(mass, format="csc") + (time - previous) * stiffness
            current = spla.splu(system).solve(mass[:, None] * current)
            current /= np.hypot(*current.T)[:, None]
            previous = time
        normals[k] = current
    return normals


def _curves(
    wall: np.ndarray, outer: np.ndarray, lengths: np.ndarray, delta: np.ndarray
) -> np.ndarray:
    """Node positions (n_normal + 1, n_around, 2) by the normal-march/straight-line blend."""
    total = delta[-1]
    d = delta[:, None] + (lengths - total)[None, :] * (delta / total)[:, None] ** 2
    d[-1] = lengths
    times = 0.5 * (FAN * np.minimum(delta - delta[1], BLEND)).clip(min=0.0) ** 2
    directions = _smoothed_normals(wall, times)
    mean = directions[1:] + directions[:-1]
    mean /= np.linalg.norm(mean, axis=-1, keepdims=True)
    steps = np.diff(d, axis=0)[..., None] * mean
    march = wall + np.concatenate([np.zeros((1, *wall.shape)), np.cumsum(steps, axis=0)])
    line = wall + (d / lengths)[..., None] * (outer - wall)
    s = np.minimum(d / BLEND, 1.0)[..., None]
    blend = s * s * (3.0 - 2.0 * s)
    grid = (1.0 - blend) * march + blend * line
    grid[0] = wall
    grid[-1] = outer
    return grid


def _quads(n_normal: int, n_around: int) -> np.ndarray:
    """Counter-clockwise quads (n_normal·n_around, 4) of the O-grid, int64."""
    j, i = np.meshgrid(np.arange(n_normal), np.arange(n_around), indexing="ij")
    following = (i + 1) % n_around
    corners = [j * n_around + i, j * n_around + following]
    corners += [(j + 1) * n_around + following, (j + 1) * n_around + i]
    return np.stack([c.ravel() for c in corners], axis=1).astype(np.int64)


def corner_cross_products(points: np.ndarray, quads: np.ndarray) -> np.ndarray:
    """(M, 4) cross products (v_{k+1} − v_k) × (v_{k+2} − v_{k+1}) at each quad corner;
    all positive ⇔ strictly convex and counter-clockwise."""
    corners = points[quads]
    edges = np.roll(corners, -1, axis=1) - corners
    following = np.roll(edges, -1, axis=1)
    return edges[..., 0] * following[..., 1] - edges[..., 1] * following[..., 0]


def quad_areas(points: np.ndarray, quads: np.ndarray) -> np.ndarray:
    """Signed (shoelace) areas (M,) of the quads; positive when counter-clockwise."""
    corners = points[quads]
    x, y = corners[..., 0], corners[..., 1]
    return 0.5 * np.sum(x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y, axis=1)


def _check_cells(points: np.ndarray, quads: np.ndarray) -> None:
    cross = corner_cross_products(points, quads)
    bad = np.flatnonzero(cross.min(axis=1) <= 0)
    if bad.size:
        centre = points[quads[bad[0]]].mean(axis=0)
        raise ConfigError(
            f"{bad.size} inverted or non-convex cells (first near {centre}); "
            "try more rings (n_normal), more surface points or another first_cell"
        )


def _check_box(points: np.ndarray) -> None:
    x0, x1, y0, y1 = BOX
    x, y = points[:, 0], points[:, 1]
    tolerance = BOX_TOLERANCE
    inside = (x >= x0 - tolerance) & (x <= x1 + tolerance)
    inside &= (y >= y0 - tolerance) & (y <= y1 + tolerance)
    if not inside.all():
        raise ConfigError(f"{np.count_nonzero(~inside)} nodes outside the box {BOX}")


def _segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from points (..., 2) to segments a–b (..., 2), broadcast."""
    ab = b - a
    t = np.sum((points - a) * ab, axis=-1) / np.sum(ab * ab, axis=-1)
    nearest = a + np.clip(t, 0.0, 1.0)[..., None] * ab
    return np.linalg.norm(points - nearest, axis=-1)


def wall_distance(points: np.ndarray, wall: np.ndarray, chunk: int = 16384) -> np.ndarray:
    """Exact distance of each point (N, 2) to the closed polyline ``wall`` (n, 2).

    A segment with midpoint c and half-length ≤ η is at least |p − c| − η from p. So the
    ``_NEIGHBOURS`` segments with the nearest midpoints give an upper bound D, and only the
    segments whose midpoints lie within D + η of p can be nearer: those (a k-d tree ball
    query, for the points where the first guess is not already certain) are measured too.
    """
    a, b = wall, np.roll(wall, -1, axis=0)
    tree = cKDTree(0.5 * (a + b))
    half = 0.5 * float(np.hypot(*(b - a).T).max())
    reach, nearest = tree.query(points, k=min(_NEIGHBOURS, len(wall)))
    distance = _segment_distance(points[:, None, :], a[nearest], b[nearest]).min(axis=1)
    unsure = np.flatnonzero(distance > reach[:, -1] - half)
    for start in range(0, unsure.size, chunk):
        rows = unsure[start : start + chunk]
        balls = tree.query_ball_point(points[rows], r=distance[rows] + half)
        counts = np.fromiter(map(len, balls), dtype=np.int64, count=rows.size)
        segments = np.concatenate(balls).astype(np.int64)
        owners = np.repeat(rows, counts)
        measured = _segment_distance(points[owners], a[segments], b[segments])
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        distance[rows] = np.minimum(distance[rows], np.minimum.reduceat(measured, starts))
    return distance


def first_off_wall(mesh: Mesh) -> tuple[np.ndarray, np.ndarray]:
    """For each wall node, the index of the ring-1 node on its grid line and their
    wall-normal separation (ring-1 offset projected on the outward wall normal)."""
    ring1 = mesh.ring(1)
    offset = mesh.points[ring1] - mesh.points[mesh.wall]
    return ring1, -np.sum(offset * mesh.wall_normals, axis=1)


def quality(mesh: Mesh) -> Quality:
    """Cell statistics of ``mesh`` (see :class:`Quality`)."""
    corners = mesh.points[mesh.quads]
    edges = np.roll(corners, -1, axis=1) - corners
    lengths = np.linalg.norm(edges, axis=-1)
    previous = -np.roll(edges, 1, axis=1)
    cosines = np.sum(edges * previous, axis=-1) / (lengths * np.roll(lengths, 1, axis=1))
    angles = np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0)))
    ring1, _ = first_off_wall(mesh)
    radial = mesh.points[ring1] - mesh.points[mesh.wall]
    radial /= np.linalg.norm(radial, axis=1, keepdims=True)
    return Quality(
        min_area=float(quad_areas(mesh.points, mesh.quads).min()),
        max_aspect=float((lengths.max(axis=1) / lengths.min(axis=1)).max()),
        max_skew_deg=float(np.abs(angles - 90.0).max()),
        min_wall_orthogonality=float(np.min(-np.sum(radial * mesh.wall_normals, axis=1))),
    )
