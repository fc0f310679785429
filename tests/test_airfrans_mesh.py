"""AirfRANS-style O-grid: validity, box, wall normals, distances, clustering and errors."""

from __future__ import annotations

import numpy as np
import pytest

from opbench.data.airfrans import mesh
from opbench.errors import ConfigError

X0, X1, Y0, Y1 = mesh.BOX


def naca4(m: float, p: float, t: float, per_side: int = 128) -> np.ndarray:
    """NACA 4-digit section (closed trailing edge, −0.1036), cosine spacing, clockwise from
    the trailing edge (once) along the lower surface: (2·per_side, 2)."""
    x = 0.5 * (1.0 - np.cos(np.linspace(0.0, np.pi, per_side + 1)))
    y_t = 5 * t * (0.2969 * np.sqrt(x) - 0.1260 * x - 0.3516 * x**2 + 0.2843 * x**3)
    y_t -= 5 * t * 0.1036 * x**4
    if m == 0:
        y_c, slope = np.zeros_like(x), np.zeros_like(x)
    else:
        front = x < p
        y_c = np.where(front, m / p**2 * (2 * p * x - x**2), 0.0)
        y_c += np.where(front, 0.0, m / (1 - p) ** 2 * (1 - 2 * p + 2 * p * x - x**2))
        slope = np.where(front, 2 * m / p**2 * (p - x), 2 * m / (1 - p) ** 2 * (p - x))
    theta = np.arctan(slope)
    upper = np.stack([x - y_t * np.sin(theta), y_c + y_t * np.cos(theta)], axis=1)
    lower = np.stack([x + y_t * np.sin(theta), y_c - y_t * np.cos(theta)], axis=1)
    points = np.concatenate([lower[::-1], upper[1:-1]])
    points[0], points[per_side] = (1.0, 0.0), (0.0, 0.0)
    return points


FOILS = {
    "0012": naca4(0.0, 0.0, 0.12),
    "4412": naca4(0.04, 0.4, 0.12),
    "0020": naca4(0.0, 0.0, 0.20),
}


@pytest.fixture(scope="module", params=sorted(FOILS))
def built(request: pytest.FixtureRequest) -> tuple[np.ndarray, mesh.Mesh]:
    surface = FOILS[request.param]
    return surface, mesh.build_mesh(surface)


@pytest.fixture(scope="module")
def naca0012() -> mesh.Mesh:
    return mesh.build_mesh(FOILS["0012"], n_normal=40)


def inside_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd ray casting along +x."""
    a, b = polygon, np.roll(polygon, -1, axis=0)
    x, y = points[:, :1], points[:, 1:]
    straddles = (a[:, 1] > y) != (b[:, 1] > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = a[:, 0] + (y - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
    return np.count_nonzero(straddles & (x < crossing), axis=1) % 2 == 1


def brute_distance(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    best = np.full(len(points), np.inf)
    for a, b in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
        t = np.clip((points - a) @ (b - a) / ((b - a) @ (b - a)), 0.0, 1.0)
        best = np.minimum(best, np.linalg.norm(points - (a + t[:, None] * (b - a)), axis=1))
    return best


def test_counts_dtypes_and_wall_equal_to_the_surface(built: tuple) -> None:
    surface, grid = built
    n = len(surface)
    assert grid.shape == (mesh.N_NORMAL + 1, n)
    assert grid.points.shape == (n * (mesh.N_NORMAL + 1), 2) and grid.points.dtype == np.float64
    assert grid.quads.shape == (n * mesh.N_NORMAL, 4) and grid.quads.dtype == np.int64
    assert np.array_equal(np.unique(grid.quads), np.arange(len(grid.points)))
    assert np.array_equal(grid.points[grid.wall], surface)  # bit for bit
    assert np.array_equal(grid.wall, grid.ring(0))
    assert np.array_equal(grid.outer, grid.ring(mesh.N_NORMAL))


def test_cells_are_convex_counter_clockwise_and_tile_the_box(built: tuple) -> None:
    surface, grid = built
    areas = mesh.quad_areas(grid.points, grid.quads)
    assert areas.min() > 1e-9  # measured ≈ 1.4e-8 (TE cells, first_cell 1e-4)
    assert mesh.corner_cross_products(grid.points, grid.quads).min() > 0
    box = (X1 - X0) * (Y1 - Y0)
    assert areas.sum() == pytest.approx(box + mesh.signed_area(surface), rel=1e-12)


def test_nodes_in_box_and_outer_ring_on_every_side(built: tuple) -> None:
    _, grid = built
    x, y = grid.points.T
    assert x.min() >= X0 - 1e-12 and x.max() <= X1 + 1e-12
    assert y.min() >= Y0 - 1e-12 and y.max() <= Y1 + 1e-12
    ox, oy = grid.points[grid.outer].T
    on_side = [ox == X0, ox == X1, oy == Y0, oy == Y1]
    assert np.all(np.any(on_side, axis=0))
    assert all(np.count_nonzero(side) >= 3 for side in on_side)
    for corner in ((X0, Y0), (X0, Y1), (X1, Y0), (X1, Y1)):
        assert np.any(np.all(grid.points[grid.outer] == corner, axis=1))


def test_wall_normals_are_unit_and_point_into_the_airfoil(built: tuple) -> None:
    surface, grid = built
    normals = grid.wall_normals
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-14)
    assert inside_polygon(surface + 1e-6 * normals, surface).all()
    # 1e-3 steps through the foil near the sharp trailing edge, where it is thinner than that.
    away = surface[:, 0] < 0.95
    assert inside_polygon(surface[away] + 1e-3 * normals[away], surface).all()
    assert not inside_polygon(surface - 1e-6 * normals, surface).any()


def test_distance_zero_on_wall_growing_outward_and_exact(built: tuple) -> None:
    surface, grid = built
    assert np.all(grid.distance[grid.wall] == 0)
    rings = grid.distance.reshape(grid.shape)
    assert np.all(np.diff(rings, axis=0) > 0)
    sample = np.random.default_rng(0).choice(len(grid.points), 400, replace=False)
    near = grid.ring(3)[::7]
    nodes = np.concatenate([sample, near])
    np.testing.assert_allclose(
        grid.distance[nodes], brute_distance(grid.points[nodes], surface), rtol=0, atol=1e-12
    )


def test_first_cell_height_and_first_off_wall(built: tuple) -> None:
    _, grid = built
    ring1, heights = mesh.first_off_wall(grid)
    assert np.array_equal(ring1, grid.ring(1))
    np.testing.assert_allclose(heights, mesh.FIRST_CELL, rtol=0.1)
    np.testing.assert_allclose(grid.distance[ring1], mesh.FIRST_CELL, rtol=0.1)


def test_quality_statistics(built: tuple) -> None:
    _, grid = built
    quality = mesh.quality(grid)
    assert quality.min_area > 0
    assert quality.min_wall_orthogonality > 0.999  # ring 1 is marched along the normals
    assert quality.max_aspect < 200  # measured ≈ 125: first cell 1e-4 against ≈ 0.012 along
    assert quality.max_skew_deg < 88  # the trailing-edge cells, opened ≈ 172° at the edge


def test_first_cell_is_configurable() -> None:
    grid = mesh.build_mesh(FOILS["0012"], n_normal=40, first_cell=1e-5)
    _, heights = mesh.first_off_wall(grid)
    np.testing.assert_allclose(heights, 1e-5, rtol=0.1)


def test_resampled_surface_keeps_the_edges_and_clusters_there() -> None:
    surface = FOILS["4412"]
    grid = mesh.build_mesh(surface, n_around=300, n_normal=30)
    wall = grid.points[grid.wall]
    assert grid.shape == (31, 300)
    assert np.array_equal(wall[0], surface[0]) and np.array_equal(wall[150], surface[128])
    assert brute_distance(wall, surface).max() < 1e-4
    spacing = np.linalg.norm(np.diff(wall, axis=0), axis=1)
    assert spacing[0] < 0.1 * np.median(spacing) and spacing[149] < 0.1 * np.median(spacing)


def test_repeated_trailing_edge_is_accepted(naca0012: mesh.Mesh) -> None:
    closed = np.vstack([FOILS["0012"], FOILS["0012"][:1]])
    grid = mesh.build_mesh(closed, n_normal=40)
    assert np.array_equal(grid.points, naca0012.points)


def test_ring_out_of_range(naca0012: mesh.Mesh) -> None:
    with pytest.raises(ConfigError, match="ring"):
        naca0012.ring(41)


def test_airfrans_size() -> None:
    surface = naca4(0.04, 0.4, 0.12, per_side=300)
    grid = mesh.build_mesh(surface, n_normal=300)  # validity is checked by the builder
    assert len(grid.points) == 600 * 301 and len(grid.quads) == 600 * 300
    np.testing.assert_allclose(mesh.first_off_wall(grid)[1], mesh.FIRST_CELL, rtol=0.1)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"n_normal": 1}, "n_normal"),
        ({"first_cell": 0.0}, "first_cell"),
        ({"first_cell": -1e-4}, "first_cell"),
        ({"first_cell": float("nan")}, "first_cell"),
        ({"first_cell": 0.05}, "first_cell .* too large"),
        ({"n_around": 8}, "n_around"),
    ],
)
def test_bad_parameters(options: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        mesh.build_mesh(FOILS["0012"], **options)


def _self_crossing() -> np.ndarray:
    surface = FOILS["0012"].copy()
    surface[[60, 70]] = surface[[70, 60]]
    return surface


@pytest.mark.parametrize(
    ("surface", "match"),
    [
        (FOILS["0012"][::-1], "trailing edge"),
        (np.roll(FOILS["0012"][::-1], 1, axis=0), "clockwise"),
        (np.roll(FOILS["0012"], 5, axis=0), "trailing edge"),
        (FOILS["0012"][:129], "not closed"),
        (_self_crossing(), "intersects"),
        (np.insert(FOILS["0012"], 10, FOILS["0012"][10], axis=0), "repeated"),
        (FOILS["0012"][:10], "at least"),
        (FOILS["0012"][:, :1], "shape"),
    ],
)
def test_bad_surfaces(surface: np.ndarray, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        mesh.build_mesh(surface)
