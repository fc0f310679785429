"""AirfRANS files: what we write the official ``airfrans`` package reads unchanged, our reader
returns its columns, and our force routine agrees with its force coefficients and with a
closed-form case.

Test mesh: an elliptic-coordinate O-grid around the ellipse of chord 1 and thickness 12 %
(leading edge (0, 0), trailing edge (1, 0)): x = 0.5 + c·cosh μ·cos ν, y = c·sinh μ·sin ν,
wall μ = μ₀ with c·cosh μ₀ = 0.5, c·sinh μ₀ = 0.06. The coordinates are orthogonal and
conformal (scale factor h along both), which gives closed forms:

* u = U∞(cos α, sin α)·(1 − exp(−(μ − μ₀)/Δ)) vanishes exactly on the wall, and there
  ∇u = U∞ e nᵀ/(Δh) (n the outward normal), so with the official convention
  τ = −2ν dev(S)·n_in = νU∞/(Δh)·(e + (e·n)n/3) and, as ds = h dν,
  F_viscous = νU∞/Δ ∫₀^{2π} (e + (e·n)n/3) dν;
* p = −½U∞²(a_x x + a_y y) gives F_pressure = ∮ p n_in ds = ½U∞²(a_x, a_y)·πab by the
  divergence theorem.
"""

import json
import shutil

import airfrans
import numpy as np
import pytest
import pyvista
from scipy.spatial import cKDTree

from opbench.data.airfrans import files
from opbench.data.airfrans.files import (
    MANIFEST_KEYS,
    Boundary,
    Wall,
    read_manifest,
    read_simulation,
    write_manifest,
    write_simulation,
)
from opbench.data.airfrans.forces import force_coefficients, wall_forces
from opbench.data.cache import opbench_home
from opbench.errors import ConfigError, DataError

NAME = "airFoil2D_SST_50.0_4.0_0.0_0.0_12.0"
U_INF, AOA = 50.0, 4.0
SEMI_MAJOR, SEMI_MINOR = 0.5, 0.06
FOCUS = np.sqrt(SEMI_MAJOR**2 - SEMI_MINOR**2)
MU_WALL = np.arctanh(SEMI_MINOR / SEMI_MAJOR)
LAYER = 0.02  # Δ, boundary-layer thickness in μ
PRESSURE_SLOPE = (0.004, 3.0)  # (a_x, a_y)
N_AROUND, N_LAYERS, FIRST = 200, 60, 1e-5


def ellipse_grid() -> dict:
    """The O-grid: node (i, k) = angle i, layer k (k = 0 the wall) is node i·N_LAYERS + k."""
    nu = 2 * np.pi * np.arange(N_AROUND) / N_AROUND
    outer = np.arccosh(3.0 / FOCUS) - MU_WALL
    ratio = 1.2
    steps = FIRST * ratio ** np.arange(N_LAYERS - 1)
    offsets = np.concatenate([[0.0], np.cumsum(steps * outer / steps.sum())])
    mu = MU_WALL + offsets
    x = 0.5 + FOCUS * np.cosh(mu)[None, :] * np.cos(nu)[:, None]
    y = FOCUS * np.sinh(mu)[None, :] * np.sin(nu)[:, None]
    i, k = np.meshgrid(np.arange(N_AROUND), np.arange(N_LAYERS - 1), indexing="ij")
    a = i * N_LAYERS + k
    b = ((i + 1) % N_AROUND) * N_LAYERS + k
    quads = np.stack([a, a + 1, b + 1, b], axis=-1).reshape(-1, 4)  # counter-clockwise
    outward = np.stack([np.sinh(MU_WALL) * np.cos(nu), np.cosh(MU_WALL) * np.sin(nu)], axis=1)
    ring = np.arange(N_AROUND)
    return {
        "points": np.stack([x.ravel(), y.ravel()], axis=1),
        "xi": np.broadcast_to(offsets / LAYER, x.shape).ravel(),
        "quads": quads,
        "wall": Wall(
            nodes=ring * N_LAYERS,
            segments=np.stack([ring, (ring + 1) % N_AROUND], axis=1),
            normals=-outward / np.linalg.norm(outward, axis=1, keepdims=True),
        ),
        "freestream": Boundary(
            nodes=ring * N_LAYERS + N_LAYERS - 1,
            segments=np.stack([ring, (ring + 1) % N_AROUND], axis=1),
        ),
    }


def analytic_fields(grid: dict) -> dict:
    points, xi = grid["points"], grid["xi"]
    alpha = np.deg2rad(AOA)
    profile = 1 - np.exp(-xi)
    velocity = U_INF * np.stack([np.cos(alpha) * profile, np.sin(alpha) * profile], axis=1)
    pressure = -0.5 * U_INF**2 * (points @ np.array(PRESSURE_SLOPE))
    nu = np.linspace(0, 2 * np.pi, 20000, endpoint=False)
    dense = np.stack([0.5 + SEMI_MAJOR * np.cos(nu), SEMI_MINOR * np.sin(nu)], axis=1)
    distance = cKDTree(dense).query(points)[0]
    distance[grid["wall"].nodes] = 0.0
    return {"U": velocity, "p": pressure, "nut": 1e-4 * profile, "implicit_distance": -distance}


def closed_form_forces() -> tuple[np.ndarray, np.ndarray]:
    """(pressure, viscous) force of the analytic fields on the exact ellipse, ν = 1.56e-5."""
    pressure = 0.5 * U_INF**2 * np.array(PRESSURE_SLOPE) * np.pi * SEMI_MAJOR * SEMI_MINOR
    nu = np.linspace(0, 2 * np.pi, 100000, endpoint=False)
    normal = np.stack([np.sinh(MU_WALL) * np.cos(nu), np.cosh(MU_WALL) * np.sin(nu)], axis=1)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    e = np.array([np.cos(np.deg2rad(AOA)), np.sin(np.deg2rad(AOA))])
    integrand = e + (normal @ e)[:, None] * normal / 3
    viscous = 1.56e-5 * U_INF / LAYER * integrand.mean(axis=0) * 2 * np.pi
    return pressure, viscous


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("airfrans")
    grid = ellipse_grid()
    fields = analytic_fields(grid)
    write_simulation(
        root, NAME, grid["points"], grid["quads"], fields, grid["wall"], grid["freestream"]
    )
    write_manifest(root, {key: [NAME] for key in MANIFEST_KEYS})
    return root, grid, fields


@pytest.fixture
def scratch(dataset, tmp_path):
    """A private copy of the dataset, to damage."""
    root = tmp_path / "scratch"
    shutil.copytree(dataset[0], root)
    return root


def test_official_loader_reads_our_files_and_matches_our_columns(dataset):
    root, grid, _ = dataset
    data, names = airfrans.dataset.load(str(root), "full", train=True)
    assert names == [NAME]
    ours = read_simulation(root, NAME)
    assert data[0].dtype == ours.columns().dtype == np.float64
    np.testing.assert_array_equal(ours.columns(), data[0])
    official = airfrans.Simulation(str(root), NAME)
    cells = np.asarray(official.internal.cells).reshape(-1, 5)
    assert (cells[:, 0] == 4).all()
    np.testing.assert_array_equal(cells[:, 1:], ours.quads)
    np.testing.assert_array_equal(ours.quads, grid["quads"])
    assert official.sampling_volume(0, 64).shape == (64, 7)
    assert official.sampling_surface(0, 16).shape == (16, 8)
    # the official boundary-layer probe samples the plane z = 0.5: it finds our mesh there
    _, u, *_ = official.boundary_layer(0.5, y=0.1)
    assert u[-1] > 0.9 * np.cos(np.deg2rad(AOA))


def test_wall_nodes_normals_and_distance(dataset):
    root, grid, _ = dataset
    sim = read_simulation(root, NAME)
    wall = grid["wall"].nodes
    assert np.flatnonzero(sim.surface).tolist() == sorted(wall.tolist())
    assert (sim.velocity[wall] == 0).all()
    np.testing.assert_array_equal(sim.wall.nodes, wall)
    np.testing.assert_array_equal(sim.wall.segments, grid["wall"].segments)
    np.testing.assert_array_equal(sim.normals[wall], grid["wall"].normals)
    assert (sim.normals[~sim.surface] == 0).all()
    inward = np.einsum("wd,wd->w", sim.normals[wall], sim.points[wall] - [0.5, 0.0])
    assert (inward < 0).all()
    internal = pyvista.read(root / NAME / f"{NAME}_internal.vtu")
    aerofoil = pyvista.read(root / NAME / f"{NAME}_aerofoil.vtp")
    np.testing.assert_array_equal(aerofoil.points, internal.points[wall])
    assert (internal.points[:, 2] == 0.5).all() and (internal["U"][:, 2] == 0).all()
    np.testing.assert_array_equal(sim.distance, -internal["implicit_distance"])
    assert (sim.distance >= 0).all() and (sim.distance[wall] == 0).all()
    freestream = pyvista.read(root / NAME / f"{NAME}_freestream.vtp")
    assert {"U", "p", "nut"} <= set(freestream.point_data)


def test_forces_match_official_package(dataset):
    root = dataset[0]
    sim = read_simulation(root, NAME)
    stencil = sim.stencil()
    official = airfrans.Simulation(str(root), NAME)
    nu = float(official.NU)  # the package's 298.15 K fit, 1.5498e-5
    (cd, cdp, cdv), (cl, clp, clv) = official.force_coefficient()
    # VTK's gradient filter finds each corner's parametric coordinates iteratively
    # (vtkQuad::EvaluatePosition); on cells of aspect ratio 1e3 to 1e4, like these and the
    # real meshes', that leaves ~1e-5 relative error in its wall shear, which we do not have.
    # Tolerance on the coefficients: 1e-7, a thousandth of a drag count.
    ours = force_coefficients(stencil, sim.velocity, sim.pressure, U_INF, AOA, nu=nu)
    np.testing.assert_allclose(ours, (cd, cl), rtol=0, atol=1e-7)
    alpha = np.deg2rad(AOA)
    rotation = np.array([[np.cos(alpha), np.sin(alpha)], [-np.sin(alpha), np.cos(alpha)]])
    parts = [
        rotation @ f / (0.5 * U_INF**2)
        for f in wall_forces(stencil, sim.velocity, sim.pressure, nu)
    ]
    np.testing.assert_allclose(parts[0], [cdp, clp], rtol=1e-12)
    np.testing.assert_allclose(parts[1], [cdv, clv], rtol=1e-5)
    # a "prediction": noisy fields, nonzero on the wall too
    rng = np.random.default_rng(0)
    velocity = sim.velocity + rng.normal(scale=0.5, size=sim.velocity.shape)
    pressure = sim.pressure + rng.normal(scale=20.0, size=sim.pressure.shape)
    official.velocity, official.pressure = velocity, pressure[:, None]
    (cd_pred, *_), (cl_pred, *_) = official.force_coefficient()
    predicted = force_coefficients(stencil, velocity, pressure, U_INF, AOA, nu=nu)
    np.testing.assert_allclose(predicted, (cd_pred, cl_pred), rtol=0, atol=1e-7)
    batch = force_coefficients(
        stencil,
        np.stack([sim.velocity, velocity]),
        np.stack([sim.pressure, pressure]),
        U_INF,
        AOA,
        nu,
    )
    np.testing.assert_allclose(np.transpose(batch), [ours, predicted], rtol=1e-12)


def test_forces_match_closed_form(dataset):
    root = dataset[0]
    sim = read_simulation(root, NAME)
    pressure_force, viscous_force = wall_forces(sim.stencil(), sim.velocity, sim.pressure)
    exact_pressure, exact_viscous = closed_form_forces()
    # second-order quadrature over 200 segments; first cell 1e-5 in μ against Δ = 0.02
    np.testing.assert_allclose(pressure_force, exact_pressure, rtol=1e-3)
    np.testing.assert_allclose(viscous_force, exact_viscous, rtol=1e-3)
    alpha = np.deg2rad(AOA)
    total = exact_pressure + exact_viscous
    exact = np.array([[np.cos(alpha), np.sin(alpha)], [-np.sin(alpha), np.cos(alpha)]]) @ total
    exact /= 0.5 * U_INF**2
    np.testing.assert_allclose(
        force_coefficients(sim.stencil(), sim.velocity, sim.pressure, U_INF, AOA), exact, rtol=1e-3
    )


def test_manifest_errors(tmp_path):
    with pytest.raises(DataError, match=r"manifest\.json: file not found"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        read_manifest(tmp_path)
    lists = {key: ["a"] for key in MANIFEST_KEYS if key != "aoa_test"}
    (tmp_path / "manifest.json").write_text(json.dumps(lists))
    with pytest.raises(DataError, match=r"missing key.*aoa_test"):
        read_manifest(tmp_path)
    with pytest.raises(ConfigError, match="exactly"):
        write_manifest(tmp_path, lists)
    write_manifest(tmp_path, {**lists, "aoa_test": ["b"]})
    assert read_manifest(tmp_path)["aoa_test"] == ["b"]


def test_missing_and_corrupt_vtk_files(scratch):
    directory = scratch / NAME
    aerofoil = directory / f"{NAME}_aerofoil.vtp"
    aerofoil.rename(directory / "aside.vtp")
    with pytest.raises(DataError, match=r"_aerofoil\.vtp: file not found"):
        read_simulation(scratch, NAME)
    (directory / "aside.vtp").rename(aerofoil)
    # a missing or damaged _freestream.vtp only warns: tests/test_airfrans_freestream.py
    internal = directory / f"{NAME}_internal.vtu"
    internal.write_bytes(internal.read_bytes()[:5000])
    with pytest.raises(DataError, match=r"_internal\.vtu: not a readable VTK file"):
        read_simulation(scratch, NAME)
    with pytest.raises(DataError, match="not an AirfRANS simulation name"):
        read_simulation(scratch, "airFoil2D_SST_fifty")


@pytest.mark.parametrize(
    ("patch", "key"), [("internal", "implicit_distance"), ("aerofoil", "Normals")]
)
def test_missing_point_array(scratch, patch, key):
    path = files.patch_paths(scratch, NAME)[patch]
    mesh = pyvista.read(path)
    del mesh.point_data[key]
    mesh.save(path)
    with pytest.raises(DataError, match=f"{path.name}: missing point array.*{key}"):
        read_simulation(scratch, NAME)


def test_write_rejects_a_velocity_that_hides_the_wall(dataset, tmp_path):
    _, grid, fields = dataset
    args = (grid["points"], grid["quads"])
    slipping = {**fields, "U": fields["U"].copy()}
    slipping["U"][grid["wall"].nodes[3]] = 1.0
    with pytest.raises(ConfigError, match="exactly 0 at every wall node"):
        write_simulation(tmp_path, NAME, *args, slipping, grid["wall"], grid["freestream"])
    stray = {**fields, "U": fields["U"].copy()}
    stray["U"][5, 0] = 0.0
    with pytest.raises(ConfigError, match="off the wall have U_x == 0"):
        write_simulation(tmp_path, NAME, *args, stray, grid["wall"], grid["freestream"])


def test_parse_cache(scratch, monkeypatch):
    first = read_simulation(scratch, NAME)
    cached = list((opbench_home() / "cache" / "airfrans").glob(f"{NAME}-*.npz"))
    assert len(cached) == 1
    with np.load(cached[0], allow_pickle=False) as stored:
        assert set(stored.files) >= {"points", "U", "quads", "wall_nodes"}

    def no_vtk(*args, **kwargs):
        raise AssertionError("pyvista.read called despite the cache")

    with monkeypatch.context() as patch:
        patch.setattr(pyvista, "read", no_vtk)
        second = read_simulation(scratch, NAME)
    np.testing.assert_array_equal(second.columns(), first.columns())
    np.testing.assert_array_equal(second.quads, first.quads)
    # rewriting a file invalidates the entry
    grid = ellipse_grid()
    fields = analytic_fields(grid)
    fields["p"] = fields["p"] + 1.0
    write_simulation(
        scratch, NAME, grid["points"], grid["quads"], fields, grid["wall"], grid["freestream"]
    )
    np.testing.assert_array_equal(read_simulation(scratch, NAME).pressure, first.pressure + 1.0)
