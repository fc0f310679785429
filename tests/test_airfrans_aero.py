"""AirfRANS-style aerodynamics: NACA geometry, the vortex panel method, the boundary layer.

Hard validation bounds against closed forms and classical results: thin-airfoil theory
with the thickness correction, Kutta–Joukowski, the far field of a bound vortex, Blasius /
Thwaites, turbulent flat-plate friction, tabulated NACA camber lines, and the profile drag
of NACA 0012.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pytest

from opbench.data.airfrans import naca, panel
from opbench.data.airfrans.boundary_layer import (
    NU,
    _march,
    freestream_speed,
    solve_boundary_layer,
)
from opbench.errors import ConfigError

N_PANELS = 200


def solve(foil: naca.Airfoil, alpha_deg: float, u_inf: float = 1.0) -> panel.PanelSolution:
    return panel.solve(naca.surface(foil, N_PANELS), u_inf, alpha_deg)


# --- geometry -----------------------------------------------------------------------------


@pytest.mark.parametrize("xx", [5.0, 12.0, 18.252])
def test_four_digit_thickness_is_xx_percent_at_thirty_percent_chord(xx: float) -> None:
    t = xx / 100
    assert 2 * naca.half_thickness(0.3, t) == pytest.approx(t, rel=2e-4)
    points = naca.surface(naca.Naca4(0.0, 0.0, xx), 400)
    lower, upper = points[200::-1], points[200:]  # both from the leading edge, same x
    thickness = upper[:, 1] - lower[:, 1]
    assert thickness.max() == pytest.approx(t, rel=1e-3)
    assert upper[np.argmax(thickness), 0] == pytest.approx(0.3, abs=0.01)


def test_four_digit_camber_line_peaks_at_p_over_10() -> None:
    x = np.linspace(0.0, 1.0, 100_001)
    y_c, slope = naca.Naca4(4.0, 4.0, 12.0).camber(x)
    assert x[np.argmax(y_c)] == pytest.approx(0.4, abs=1e-4)
    assert y_c.max() == pytest.approx(0.04, rel=1e-9)
    assert np.allclose(np.gradient(y_c, x)[1:-1], slope[1:-1], atol=1e-4)
    assert not np.any(naca.Naca4(5.0, 0.0, 12.0).camber(x)[0])  # P = 0: symmetric


def test_surface_is_closed_clockwise_with_the_edges_in_place() -> None:
    for foil in (naca.Naca4(2.815, 4.916, 10.078), naca.Naca5(3.551, 3.1, 1.0, 18.252)):
        points = naca.surface(foil, N_PANELS)
        assert points.shape == (N_PANELS + 1, 2)
        assert np.array_equal(points[0], [1.0, 0.0]) and np.array_equal(points[-1], [1.0, 0.0])
        assert np.array_equal(points[N_PANELS // 2], [0.0, 0.0])
        x, y = points[:-1, 0], points[:-1, 1]
        assert np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) < 0  # clockwise
        # lower side first: below the upper side at the same chordwise station
        assert np.all(points[1 : N_PANELS // 2, 1] < points[N_PANELS - 1 : N_PANELS // 2 : -1, 1])
    assert abs(float(naca.half_thickness(1.0, 0.2))) < 1e-15  # closed trailing edge


def thin_airfoil_coefficients(foil: naca.Naca5) -> tuple[float, float]:
    """A₁, A₂ of the camber slope, by the trapezoidal rule on a fine θ grid."""
    theta = np.linspace(0.0, math.pi, 200_001)
    slope = foil.camber(0.5 * (1.0 - np.cos(theta)))[1]
    a1, a2 = (2 / math.pi * np.trapezoid(slope * np.cos(n * theta), theta) for n in (1, 2))
    return float(a1), float(a2)


def test_naca_23012_camber_matches_the_tabulated_line() -> None:
    # Abbott & von Doenhoff: the 230 line has 1.84 % camber at 15 % chord (tabulated to
    # 0.01 %); our m solves the cubic exactly (0.2027 vs the table's rounded 0.2025), which
    # moves the maximum by < 0.5 %, hence 1 % on the value.
    x = np.linspace(0.0, 1.0, 100_001)
    foil = naca.Naca5(2.0, 3.0, 0.0, 12.0)
    y_c, _ = foil.camber(x)
    assert y_c.max() == pytest.approx(0.0184, rel=0.01)
    assert x[np.argmax(y_c)] == pytest.approx(0.15, abs=1e-4)
    assert abs(y_c[0]) < 1e-15 and abs(y_c[-1]) < 1e-15
    a1, _ = thin_airfoil_coefficients(foil)
    assert math.pi * a1 == pytest.approx(0.3, rel=1e-4)  # the design (ideal) lift 0.15·L


@pytest.mark.parametrize(("p", "joint"), [(2.0, 0.130), (3.0, 0.217), (4.0, 0.318), (5.0, 0.441)])
def test_reflexed_lines_have_no_moment_and_the_tabulated_joint(p: float, joint: float) -> None:
    # The historical tabulation of m for the 221 … 251 reflexed lines has 3 decimals and
    # hand-computation error (231: 0.217 against the exact 0.2160), hence 1.5e-3.
    foil = naca.Naca5(2.0, p, 1.0, 12.0)
    assert foil.joint == pytest.approx(joint, abs=1.5e-3)
    a1, a2 = thin_airfoil_coefficients(foil)
    assert math.pi * a1 == pytest.approx(0.3, rel=1e-4)
    assert abs(math.pi / 4 * (a2 - a1)) < 1e-5  # C_m about the quarter chord
    x = np.linspace(0.0, 1.0, 100_001)
    y_c, _ = foil.camber(x)
    assert x[np.argmax(y_c)] == pytest.approx(p / 20, abs=1e-4)
    assert abs(y_c[0]) < 1e-15 and abs(y_c[-1]) < 1e-15
    normal = naca.Naca5(2.0, p, 0.0, 12.0)
    assert np.abs(y_c - normal.camber(x)[0]).max() > 1e-3  # the reflex changes the shape


@pytest.mark.parametrize(
    ("name", "u_inf", "aoa", "foil"),
    [
        (
            "airFoil2D_SST_43.597_5.932_3.551_3.1_1.0_18.252",
            43.597,
            5.932,
            naca.Naca5(3.551, 3.1, 1.0, 18.252),
        ),
        (
            "airFoil2D_SST_58.831_-3.563_2.815_4.916_10.078",
            58.831,
            -3.563,
            naca.Naca4(2.815, 4.916, 10.078),
        ),
        ("airFoil2D_SST_31.2_0.0_0.0_0.0_5.0", 31.2, 0.0, naca.Naca4(0.0, 0.0, 5.0)),
    ],
)
def test_parse_name_round_trips(name: str, u_inf: float, aoa: float, foil: naca.Airfoil) -> None:
    case = naca.parse_name(name)
    assert (case.u_inf, case.aoa_deg, case.foil) == (u_inf, aoa, foil)
    assert case.name == name


@pytest.mark.parametrize(
    "name",
    [
        "airFoil2D_SST_43.597_5.932_3.551_3.1",  # two NACA parameters
        "airFoil2D_SST_43.597_5.932_3.551_3.1_1.0_18.252_7",  # five
        "airfoil2D_SST_58.831_-3.563_2.815_4.916_10.078",  # prefix
        "airFoil2D_SST_58.831_-3.563_2.815_x_10.078",  # not a number
        "airFoil2D_SST_58.831_nan_2.815_4.916_10.078",
        "airFoil2D_SST_43.597_5.932_3.551_3.1_0.5_18.252",  # Q not 0 or 1
        "airFoil2D_SST_58.831_-3.563_2.815_4.916_45.0",  # XX > 40
    ],
)
def test_malformed_names_raise(name: str) -> None:
    with pytest.raises(ConfigError):
        naca.parse_name(name)


# --- panel method -------------------------------------------------------------------------


def test_symmetric_foil_at_zero_incidence_has_no_lift() -> None:
    solution = solve(naca.Naca4(0.0, 0.0, 12.0), 0.0)
    assert abs(solution.cl_kutta_joukowski) < 1e-3
    assert abs(solution.cl_pressure) < 1e-3


def test_naca_0012_at_5_degrees() -> None:
    # Thin-airfoil theory gives 0.548 for zero thickness; thickness adds about 10 %.
    solution = solve(naca.Naca4(0.0, 0.0, 12.0), 5.0)
    assert 0.58 <= solution.cl_kutta_joukowski <= 0.62
    assert 0.58 <= solution.cl_pressure <= 0.62
    assert abs(solution.cd_pressure) < 1e-3  # d'Alembert


@pytest.mark.parametrize(
    ("foil", "alpha"),
    [
        (naca.Naca4(0.0, 0.0, 12.0), 5.0),
        (naca.Naca4(2.0, 4.0, 12.0), 3.0),
        (naca.Naca4(6.3, 2.2, 7.5), 8.0),
        (naca.Naca4(2.815, 4.916, 10.078), -3.563),
        (naca.Naca5(2.0, 3.0, 0.0, 12.0), 4.0),
        (naca.Naca5(1.2, 6.5, 0.0, 9.0), -4.0),
        (naca.Naca5(3.551, 3.1, 1.0, 18.252), 5.932),
    ],
)
def test_pressure_lift_agrees_with_kutta_joukowski(foil: naca.Airfoil, alpha: float) -> None:
    solution = solve(foil, alpha, u_inf=46.8)
    assert solution.cl_pressure == pytest.approx(solution.cl_kutta_joukowski, rel=0.01)


def test_lift_slope_of_naca_0006_matches_thin_airfoil_theory_with_thickness() -> None:
    foil = naca.Naca4(0.0, 0.0, 6.0)
    lift = [solve(foil, alpha).cl_kutta_joukowski for alpha in (-2.0, 2.0)]
    slope = (lift[1] - lift[0]) / math.radians(4.0)
    assert slope == pytest.approx(2 * math.pi * (1 + 0.77 * 0.06), rel=0.05)


@pytest.mark.parametrize(
    ("foil", "alpha"),
    [(naca.Naca4(0.0, 0.0, 12.0), 5.0), (naca.Naca5(3.551, 3.1, 1.0, 18.252), -2.0)],
)
def test_field_satisfies_tangency_and_matches_the_surface_speed(
    foil: naca.Airfoil, alpha: float
) -> None:
    solution = solve(foil, alpha, u_inf=40.0)
    probe = solution.midpoints + 1e-3 * solution.lengths[:, None] * solution.normals
    u, v = solution.velocity(probe[:, 0], probe[:, 1])
    velocity = np.stack([u, v], axis=1)
    normal = np.sum(velocity * solution.normals, axis=1)
    tangential = np.sum(velocity * solution.tangents, axis=1)
    assert np.abs(normal).max() < 1e-3 * solution.u_inf
    # The two trailing-edge panels are excluded: there the linear γ falls to the edge's 0
    # while the true corner flow keeps most of its speed (module docstring).
    error = np.abs(tangential - solution.vt_panels)[1:-1] / solution.u_inf
    assert error.max() < 0.05


def test_far_field_is_the_freestream_plus_the_bound_vortex() -> None:
    solution = solve(naca.Naca4(2.0, 4.0, 12.0), 5.0, u_inf=50.0)
    angle = np.linspace(0.0, 2 * math.pi, 16, endpoint=False)
    for radius in (100.0, 1000.0):
        u, v = solution.velocity(0.25 + radius * np.cos(angle), radius * np.sin(angle))
        excess = np.hypot(u - solution.freestream[0], v - solution.freestream[1])
        expected = solution.circulation / (2 * math.pi * radius)
        assert excess.max() / solution.u_inf < 1e-3
        assert np.allclose(excess, expected, rtol=0.05)


def test_velocity_keeps_the_shape_and_is_fast_enough() -> None:
    solution = solve(naca.Naca4(2.815, 4.916, 10.078), -3.563, u_inf=58.831)
    x, y = np.meshgrid(np.linspace(-2.0, 4.0, 600), np.linspace(-1.5, 1.5, 300))  # 180 000
    start = time.perf_counter()
    u, v = solution.velocity(x, y)
    elapsed = time.perf_counter() - start
    assert u.shape == v.shape == x.shape
    assert np.all(np.isfinite(u)) and np.all(np.isfinite(v))
    assert elapsed < 10.0  # about 1 s on one core


# --- boundary layer -----------------------------------------------------------------------


def test_flat_plate_laminar_layer_is_thwaites_and_close_to_blasius() -> None:
    u_inf = 46.8
    length = 1e5 * NU / u_inf  # Re_x up to 1e5: laminar by Michel's criterion
    s = np.linspace(length / 2000, length, 2000)
    layer = _march(np.arange(s.size), s, np.full_like(s, u_inf), NU, 1e-12)
    assert layer.transition_cause == "none"
    assert layer.theta[-1] / math.sqrt(NU * length / u_inf) == pytest.approx(0.664, rel=0.015)
    assert layer.cf[-1] * math.sqrt(u_inf * length / NU) == pytest.approx(0.664, rel=0.015)
    assert layer.shape_factor[-1] == pytest.approx(2.61, rel=1e-6)


def test_flat_plate_turbulent_friction_matches_the_classical_laws() -> None:
    u_inf = 46.8
    s = np.linspace(1e-3, 2.0, 2000)
    layer = _march(np.arange(s.size), s, np.full_like(s, u_inf), NU, 1e-12)
    reynolds_x = u_inf * s[-1] / NU  # 6e6
    assert layer.transition_cause == "michel"
    assert 5e5 < layer.transition_s * u_inf / NU < 3e6
    assert not layer.separated
    assert 1.25 < layer.shape_factor[-1] < 1.45
    schlichting = 0.455 / math.log(0.06 * reynolds_x) ** 2  # White, Viscous Fluid Flow
    assert layer.cf[-1] == pytest.approx(schlichting, rel=0.1)


def test_naca_0012_profile_drag_at_re_3e6() -> None:
    solution = solve(naca.Naca4(0.0, 0.0, 12.0), 0.0, u_inf=freestream_speed(3e6))
    layer = solve_boundary_layer(solution)
    assert layer.reynolds == pytest.approx(3e6)
    assert 0.004 <= layer.cd <= 0.010  # 0.0067 here; smooth-model experiments near 0.006
    assert 0.5 * layer.cd < layer.cd_friction < layer.cd
    for side in (layer.lower, layer.upper):
        assert side.transition_cause == "michel" and not side.separated
        assert 0.1 < np.interp(side.transition_s, side.s, solution.points[side.points, 0]) < 0.9
    assert layer.upper.transition_s == pytest.approx(layer.lower.transition_s, rel=1e-6)
    assert np.all(layer.wall_shear >= 0) and np.all(np.isfinite(layer.delta_star))


def test_incidence_moves_transition_forward_on_the_suction_side() -> None:
    u_inf = freestream_speed(3e6)
    layers = [
        solve_boundary_layer(solve(naca.Naca4(0.0, 0.0, 12.0), alpha, u_inf))
        for alpha in (0.0, 5.0)
    ]
    assert layers[1].upper.transition_s < 0.5 * layers[0].upper.transition_s
    assert layers[1].lower.transition_s > layers[0].lower.transition_s


# --- bad parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: naca.Naca4(2.0, 4.0, 0.0),
        lambda: naca.Naca4(2.0, 4.0, 40.5),
        lambda: naca.Naca4(-1.0, 4.0, 12.0),
        lambda: naca.Naca4(2.0, 10.0, 12.0),
        lambda: naca.Naca5(2.0, 3.0, 2.0, 12.0),
        lambda: naca.Naca5(2.0, 9.0, 0.0, 12.0),
        lambda: naca.Naca5(2.0, 3.0, 0.0, -5.0),
        lambda: naca.airfoil_from_digits([1.0, 2.0]),
        lambda: naca.surface(naca.Naca4(0.0, 0.0, 12.0), 6),
        lambda: naca.surface(naca.Naca4(0.0, 0.0, 12.0), 201),
        lambda: panel.solve(naca.surface(naca.Naca4(0.0, 0.0, 12.0), 40)[::-1], 1.0, 0.0),
        lambda: panel.solve(naca.surface(naca.Naca4(0.0, 0.0, 12.0), 40)[:-1], 1.0, 0.0),
        lambda: panel.solve(naca.surface(naca.Naca4(0.0, 0.0, 12.0), 40), 0.0, 0.0),
        lambda: panel.solve(naca.surface(naca.Naca4(0.0, 0.0, 12.0), 40), 1.0, math.inf),
        lambda: freestream_speed(-3e6),
        lambda: freestream_speed(0.0),
        lambda: solve_boundary_layer(solve(naca.Naca4(0.0, 0.0, 12.0), 2.0), nu=-1e-5),
    ],
)
def test_bad_parameters_raise_config_error(make: Callable[[], object]) -> None:
    with pytest.raises(ConfigError):
        make()
