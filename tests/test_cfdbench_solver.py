"""The CFDBench-style Navier–Stokes solver against published references and basic physics.

References: Ghia, Ghia & Shin (1982) cavity centrelines at Re = 100 (copied with its header
into tests/fixtures/); the Strouhal number of a cylinder at Re = 100 (≈ 0.165 unconfined,
raised by the channel's blockage); plane Poiseuille flow (u_max = 1.5 U, dp/dx = −12νU/H²).
"""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from opbench.cli import app
from opbench.data.cfdbench import solver
from opbench.data.cfdbench.solve import centreline_deviation, read_reference
from opbench.errors import ConfigError

GHIA = Path(__file__).parent / "fixtures" / "ghia1982_re100.csv"
cli = CliRunner()


def test_cavity_re100_matches_ghia():
    """64×64 cells, run to steady (tol 1e-5, t ≈ 17.8): max deviation 0.0083 of the lid speed
    (32 cells: 0.0072, 96 cells: 0.0091 — the solver converges to the spectral solution,
    u_min = −0.2139, v_max = 0.1794, and Ghia's table itself is off by a few 1e-3)."""
    run = solver.run_to_steady(solver.cavity(1.0, 0.01), 64, tol=1e-5)
    assert run.steady
    lines = solver.cavity_centrelines(run)
    assert centreline_deviation(lines, read_reference(GHIA)) <= 0.02
    assert lines.u.min() == pytest.approx(-0.2140, abs=2e-3)  # Botella & Peyret 1998


def test_cavity_centrelines_are_in_lid_units_on_the_unit_square():
    run = solver.simulate(solver.cavity(2.0, 0.04, width=4.0, height=2.0), 16, [0.5])
    lines = solver.cavity_centrelines(run)
    np.testing.assert_allclose(lines.y, (np.arange(16) + 0.5) / 16)
    np.testing.assert_allclose(lines.x, (np.arange(32) + 0.5) / 32)
    assert 0 < lines.u.max() < 1
    with pytest.raises(ConfigError):
        solver.cavity_centrelines(solver.simulate(solver.tube(1.0, 0.1, 2.0, 1.0), 8, [0.1]))


DOMAINS = {
    "cavity": (solver.cavity(1.0, 1 / 400), 16, 0.5),
    "tube": (solver.tube(1.0, 1 / 200, 3.0, 1.0), 16, 0.5),
    "dam": (solver.dam(1.0, 1 / 200, 3.75, 1.0, 1.25, 0.3, 0.125), 16, 0.5),
    "cylinder": (solver.cylinder(1.0, 1 / 100, -2.0, 6.0, -2.0, 2.0, 0.5), 16, 1.5),
}


@pytest.mark.parametrize("problem", DOMAINS)
def test_projection_is_divergence_free(problem):
    """‖∇·u‖_∞·h/U after every step, the cylinder's start-up spin included (t < 1)."""
    domain, cells, end = DOMAINS[problem]
    run = solver.simulate(domain, cells, [0.0, end / 2, end], frame_shape=(12, 20))
    h = min(run.grid.dx, run.grid.dy)
    assert run.max_divergence * h / domain.velocity < 1e-8
    assert run.u.shape == run.v.shape == (3, 12, 20)
    assert np.all(np.isfinite(run.u)) and np.all(np.isfinite(run.v))
    assert run.final_time == end and run.steps > 10


def test_tube_approaches_poiseuille():
    """Re 20, 16 cells: developed u_max = 1.488 at the centre cells (exact 1.5 at y = ½),
    flux 1 ± 1e-15 in every section, dp/dx = −0.596 (exact −12ν = −0.6)."""
    run = solver.run_to_steady(solver.tube(1.0, 0.05, 5.0, 1.0), 16, tol=1e-5)
    assert run.steady
    flux = run.u_faces.sum(axis=0) * run.grid.dy
    np.testing.assert_allclose(flux, 1.0, atol=1e-10)
    y = run.grid.y_centres
    outlet = run.u_faces[:, -1]
    np.testing.assert_allclose(outlet, 6 * y * (1 - y), atol=0.01)
    assert abs(outlet.max() - 1.5) < 0.02
    centre = run.pressure[8, 40:]
    slope = np.polyfit(run.grid.x_centres[40:], centre, 1)[0]
    assert slope == pytest.approx(-12 * 0.05, rel=0.02)


def test_no_flow_inside_solids():
    dam = solver.dam(1.0, 1 / 200, 3.75, 1.0, 1.25, 0.3, 0.125)
    cylinder = solver.cylinder(1.0, 1 / 100, -2.0, 6.0, -2.0, 2.0, 0.5)
    for domain, cells in ((dam, 32), (cylinder, 16)):
        run = solver.simulate(domain, cells, [2.0], frame_shape=(64, 64))
        fx, fy = np.meshgrid(run.frame_x, run.frame_y)
        inside = domain.solid(fx, fy)
        assert inside.any() and np.all(run.u[-1][inside] == 0) and np.all(run.v[-1][inside] == 0)
        assert np.abs(run.u[-1][~inside]).max() > 0.5
        u, v = solver.cell_centre_velocity(run)
        cx, cy = np.meshgrid(run.grid.x_centres, run.grid.y_centres)
        solid = domain.solid(cx, cy)
        assert np.all(u[solid] == 0) and np.all(v[solid] == 0)
        # Faces of solid cells carry no velocity once the start-up spin is over (t ≥ 1).
        assert np.all(run.u_faces[:, 1:][solid] == 0) and np.all(run.u_faces[:, :-1][solid] == 0)
        assert np.all(run.v_faces[1:][solid] == 0) and np.all(run.v_faces[:-1][solid] == 0)


def test_cylinder_sheds_vortices_fast():
    """Coarse and confined (D = 8 cells, D/H = 0.2): shedding starts within t ≈ 15 from the
    spin; St = 0.198 over t ∈ [20, 40] (the blockage raises it above 0.165)."""
    domain = solver.cylinder(1.0, 0.01, -2.5, 7.5, -2.5, 2.5, 0.5)
    run = solver.simulate(domain, 40, [40.0], probes=[(2.0, 0.0)])
    st = solver.strouhal(run, after=20.0)
    assert st is not None and 0.17 <= st <= 0.23


@pytest.mark.slow
def test_cylinder_strouhal_re100():
    """Re 100, D/H = 0.1 (channel [−5, 15]×[−5, 5] in D, free-slip walls), 128 cells across the
    height (D = 12.8 cells), t = 100: St = 0.1769 (D = 8 cells: 0.1686), about 1 min."""
    domain = solver.cylinder(1.0, 0.01, -5.0, 15.0, -5.0, 5.0, 0.5)
    run = solver.simulate(domain, 128, [100.0], frame_shape=(16, 32), probes=[(2.0, 0.0)])
    st = solver.strouhal(run, after=50.0)
    assert st is not None and 0.16 <= st <= 0.20


def test_frames_hit_the_requested_times():
    run = solver.simulate(solver.cavity(1.0, 0.01), 16, [0.0, 0.123, 0.5])
    np.testing.assert_array_equal(run.times, [0.0, 0.123, 0.5])
    assert 0.123 in run.probe_times.tolist() and run.final_time == 0.5
    assert np.all(run.u[0] == 0) and np.abs(run.u[1]).max() > 0
    # A frame 1e-13 after another forces a 1e-13 step; it must not disturb the flow beyond
    # the ~1e-6 change in the lagged-pressure splitting error that the extra step brings.
    tube = solver.tube(1.0, 0.01, 3.0, 1.0)
    plain = solver.simulate(tube, 16, [0.3, 1.0])
    nudged = solver.simulate(tube, 16, [0.3, 0.3 + 1e-13, 1.0])
    np.testing.assert_allclose(nudged.u[-1], plain.u[-1], atol=1e-5)
    np.testing.assert_allclose(nudged.pressure, plain.pressure, atol=1e-4)


@pytest.mark.parametrize(
    "make",
    [
        lambda: solver.cavity(0.0, 0.01),
        lambda: solver.cavity(1.0, -0.01),
        lambda: solver.cavity(1.0, 0.01, width=float("nan")),
        lambda: solver.tube(1.0, 0.01, 0.0, 1.0),
        lambda: solver.dam(1.0, 0.01, 2.0, 1.0, 1.9, 0.3, 0.2),  # barrier past the outlet
        lambda: solver.dam(1.0, 0.01, 2.0, 1.0, 0.5, 1.0, 0.2),  # barrier as high as the channel
        lambda: solver.cylinder(1.0, 0.01, -0.4, 5.0, -2.0, 2.0, 0.5),  # cuts the inlet
        lambda: solver.cylinder(1.0, 0.01, 1.0, 5.0, -2.0, 2.0, 0.5),  # origin outside
        lambda: solver.simulate(solver.cavity(1.0, 0.01), 4, [1.0]),
        lambda: solver.simulate(solver.cylinder(1.0, 0.01, -5, 15, -5, 5, 0.5), 16, [1.0]),
        lambda: solver.simulate(solver.dam(1.0, 0.01, 4.0, 1.0, 1.0, 0.3, 0.01), 16, [1.0]),
        lambda: solver.simulate(solver.dam(1.0, 0.01, 4.0, 1.0, 1.0, 0.99, 0.2), 16, [1.0]),
        lambda: solver.simulate(solver.cavity(1.0, 0.01), 16, [1.0, 0.5]),
        lambda: solver.simulate(solver.cavity(1.0, 0.01), 16, [1.0], frame_shape=(0, 4)),
    ],
)
def test_bad_parameters_raise(make):
    with pytest.raises(ConfigError):
        make()


def test_blow_up_is_reported(monkeypatch):
    monkeypatch.setattr(solver, "SAFETY", 20.0)
    with pytest.raises(ConfigError, match="blew up at t = "):
        solver.simulate(solver.cavity(1.0, 0.01), 16, [5.0])


def test_solve_command_writes_files(tmp_path):
    out = tmp_path / "cavity"
    args = ["solve", "cavity", "--re", "100", "--grid", "16", "--out", str(out)]
    result = cli.invoke(app, [*args, "--reference", str(GHIA)])
    assert result.exit_code == 0, result.output
    assert "steady" in result.output and "deviation" in result.output
    lines = (out / "centreline.csv").read_text().splitlines()
    assert lines[0] == "y,u,x,v" and len(lines) == 17
    table = np.loadtxt(out / "centreline.csv", delimiter=",", skiprows=1)
    assert table[:, 1].min() < -0.15 and table[:, 3].max() > 0.1
    for name in ("u.npy", "v.npy", "p.npy"):
        assert np.load(out / name).shape == (16, 16)
    summary = json.loads((out / "solve.json").read_text())
    assert summary["steady"] and summary["grid"]["nx"] == 16
    assert summary["max_divergence"] < 1e-8 and summary["reference_deviation"] < 0.03

    out = tmp_path / "tube"
    result = cli.invoke(app, ["solve", "tube", "--re", "50", "--grid", "8", "--until", "1"])
    assert result.exit_code != 0  # --out is required
    args = ["solve", "tube", "--re", "50", "--grid", "8", "--until", "1", "--out", str(out)]
    result = cli.invoke(app, [*args, "--width", "3"])
    assert result.exit_code == 0, result.output
    assert np.load(out / "u.npy").shape == (8, 24) and not (out / "centreline.csv").exists()


@pytest.mark.parametrize(
    "extra",
    [
        ["tube", "--blockage", "0.2"],
        ["cavity", "--barrier-height", "0.2"],
        ["cavity", "--until", "soon"],
        ["cavity", "--until", "-1"],
        ["cavity", "--re", "-5"],
        ["pipe"],
        ["tube", "--reference", str(GHIA)],
        ["cylinder", "--grid", "8"],
    ],
)
def test_solve_command_rejects_bad_options(tmp_path, extra):
    problem, *options = extra
    args = ["solve", problem, "--re", "100", "--grid", "16", "--out", str(tmp_path), *options]
    result = cli.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "solve.json").exists()
