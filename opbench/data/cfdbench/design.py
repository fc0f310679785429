"""Case parameters of opbench's CFDBench-style data: standard values and one varied factor
per subset, chosen in non-dimensional terms.

The published ranges (a 1 m cavity at μ = 1e-5 with lids up to 50 m/s) mean Reynolds
numbers of 1e5–1e6 (Luo, Chen & Zhang 2023, §3), beyond a laminar solver on 64–128
cells. Here each
problem has a reference length L and speed U, Re = ρ U L / μ stays within about 100–1000
(cylinder: 40–200, D = 2r), and physical values (m, m/s, kg/m³, Pa·s) are chosen to give
those Reynolds numbers with convective times L/U of about a second, so that frames 0.1 s
apart show the dynamics. ``bc`` varies the lid or inlet speed, ``prop`` density and
viscosity (Re drawn log-uniformly, μ = ρ U L / Re), ``geo`` the geometry (at the standard
ρ, μ, U). Draws are uniform unless noted; the generator gives every case its own stream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from opbench.data.cfdbench import geometry
from opbench.data.cfdbench.problems import DAM_BARRIER_X
from opbench.registry import Registry

Case = dict[str, Any]
Draw = Callable[[np.random.Generator], Case]


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _nu(case: Case) -> float:
    """Kinematic viscosity ν = μ / ρ, what the solver takes."""
    return case["viscosity"] / case["density"]


def _viscosity(density: float, speed: float, length: float, reynolds: float) -> float:
    """μ = ρ U L / Re."""
    return density * speed * length / reynolds


@dataclass(frozen=True)
class Design:
    """How one problem's cases are drawn and solved.

    Attributes:
        standard: the case at standard values (physical units, case.json keys).
        draws: per subset, ``draw(rng) -> overrides`` of the standard case.
        frame_dt: seconds between written frames.
        start_time: seconds simulated before the first written frame (cylinder: let the
            vortex street develop).
        solver_cells: default solver cells across the domain height.
        reynolds_range: the intended range of Re (for the dataset card and checks).
        domain: ``domain(case)``, the solver's geometry and boundary conditions.
        extras: ``extras(case, (H, W))``, further case.json keys (the dam's dx, dy).
    """

    standard: Case
    draws: dict[str, Draw]
    frame_dt: float
    start_time: float
    solver_cells: int
    reynolds_range: tuple[float, float]
    domain: Callable[[Case], geometry.Domain]
    extras: Callable[[Case, tuple[int, int]], Case] = lambda case, shape: {}

    def case(self, subset: str, rng: np.random.Generator) -> Case:
        return {**self.standard, **self.draws[subset](rng)}

    def case_json(self, number: int, case: Case, shape: tuple[int, int]) -> Case:
        """The case.json of a generated case: the published keys, in physical units."""
        return {"case_no": float(number), **case, **self.extras(case, shape)}

    def reynolds(self, case: Case) -> float:
        """Re = U L / ν of a case, L the solver's reference length (cavity and channel
        height, cylinder diameter)."""
        return self.domain(case).reynolds


DESIGNS: Registry[Design] = Registry("CFDBench problem design")


def _prop(speed: float, length: float, low: float, high: float, rho: tuple[float, float]) -> Draw:
    def draw(rng: np.random.Generator) -> Case:
        density = float(rng.uniform(*rho))
        reynolds = _log_uniform(rng, low, high)
        return {"density": density, "viscosity": _viscosity(density, speed, length, reynolds)}

    return draw


# Cavity: L = height 1 m, ρ = 1, μ = 2.5e-3; standard lid 1 m/s (Re 400).
DESIGNS.add(
    "cavity",
    Design(
        standard={"vel_top": 1.0, "density": 1.0, "viscosity": 2.5e-3, "height": 1.0, "width": 1.0},
        draws={
            "bc": lambda rng: {"vel_top": float(rng.uniform(0.25, 2.5))},  # Re 100–1000
            "prop": _prop(1.0, 1.0, 100.0, 1000.0, (0.5, 2.0)),
            "geo": lambda rng: {
                "height": float(rng.uniform(0.5, 1.5)),
                "width": float(rng.uniform(0.5, 1.5)),
            },
        },
        frame_dt=0.1,
        start_time=0.0,
        solver_cells=64,
        reynolds_range=(100.0, 1000.0),
        domain=lambda c: geometry.cavity(c["vel_top"], _nu(c), c["width"], c["height"]),
    ),
)

# Tube: L = channel height 0.2 m, length 1 m, ρ = 1, μ = 2e-4; standard inlet 0.5 m/s
# (Re 500).
DESIGNS.add(
    "tube",
    Design(
        standard={"vel_in": 0.5, "density": 1.0, "viscosity": 2e-4, "height": 0.2, "width": 1.0},
        draws={
            "bc": lambda rng: {"vel_in": float(rng.uniform(0.1, 1.0))},  # Re 100–1000
            "prop": _prop(0.5, 0.2, 100.0, 1000.0, (0.5, 2.0)),
            "geo": lambda rng: {
                "height": float(rng.uniform(0.1, 0.3)),
                "width": float(rng.uniform(0.6, 1.4)),
            },
        },
        frame_dt=0.1,
        start_time=0.0,
        solver_cells=32,
        reynolds_range=(100.0, 1000.0),
        domain=lambda c: geometry.tube(c["vel_in"], _nu(c), c["width"], c["height"]),
    ),
)


def _dam_extras(case: Case, shape: tuple[int, int]) -> Case:
    """The dam case.json's frame spacing keys dx = width / W, dy = height / H."""
    return {"dx": case["width"] / shape[1], "dy": case["height"] / shape[0]}


# Dam: L = channel height 0.4 m (1.5 m long), barrier 0.15 m × 0.05 m at x = 0.5 m, ρ = 1,
# μ = 5e-4; standard inlet 0.5 m/s (Re 400).
DESIGNS.add(
    "dam",
    Design(
        standard={
            "velocity": 0.5,
            "density": 1.0,
            "viscosity": 5e-4,
            "barrier_height": 0.15,
            "barrier_width": 0.05,
            "height": 0.4,
            "width": 1.5,
        },
        draws={
            "bc": lambda rng: {"velocity": float(rng.uniform(0.125, 1.25))},  # Re 100–1000
            "prop": _prop(0.5, 0.4, 100.0, 1000.0, (0.5, 2.0)),
            "geo": lambda rng: {
                "barrier_height": float(rng.uniform(0.1, 0.2)),
                "barrier_width": float(rng.uniform(0.03, 0.1)),
            },
        },
        frame_dt=0.1,
        start_time=0.0,
        solver_cells=48,
        reynolds_range=(100.0, 1000.0),
        domain=lambda c: geometry.dam(
            c["velocity"],
            _nu(c),
            c["width"],
            c["height"],
            DAM_BARRIER_X,
            c["barrier_height"],
            c["barrier_width"],
        ),
        extras=_dam_extras,
    ),
)

# Cylinder: L = D = 0.1 m (r = 0.05) at the origin of [−0.25, 1.25] × [−0.25, 0.25]
# (blockage D/H = 0.2), ρ = 10, μ = 0.01; standard inlet 1 m/s (Re 100). Frames every
# 0.05 s after 3 s of spin-up (30 D/U at the standard speed), when the street has formed.
DESIGNS.add(
    "cylinder",
    Design(
        standard={
            "vel_in": 1.0,
            "density": 10.0,
            "viscosity": 0.01,
            "radius": 0.05,
            "x_min": -0.25,
            "x_max": 1.25,
            "y_min": -0.25,
            "y_max": 0.25,
        },
        draws={
            "bc": lambda rng: {"vel_in": float(rng.uniform(0.4, 2.0))},  # Re 40–200
            "prop": _prop(1.0, 0.1, 40.0, 200.0, (5.0, 20.0)),
            "geo": lambda rng: {"radius": float(rng.uniform(0.035, 0.07))},  # Re 70–140
        },
        frame_dt=0.05,
        start_time=3.0,
        solver_cells=40,
        reynolds_range=(40.0, 200.0),
        domain=lambda c: geometry.cylinder(
            c["vel_in"], _nu(c), c["x_min"], c["x_max"], c["y_min"], c["y_max"], c["radius"]
        ),
    ),
)
