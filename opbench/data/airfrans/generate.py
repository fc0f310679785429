"""opbench's AirfRANS-style generator: "airfrans-style: potential flow with boundary-layer
correction", written in the published layout so that the official ``airfrans`` package
reads it unchanged.

Per simulation (its own stream ``np.random.default_rng([seed, index])``):

1. Conditions as in AirfRANS: Re ~ U(2e6, 6e6), U∞ = Re·ν (ν = 1.56e-5 m²/s, chord 1 m),
   α ~ U(−5°, 15°) applied to the freestream; half NACA 4-digit (M ~ U(0, 7), P ~ U(0, 7)
   set to 0 below 1.5, XX ~ U(5, 20)), half 5-digit (L ~ U(0, 4), P ~ U(3, 8),
   Q ∈ {0, 1}, XX ~ U(5, 20)), real-valued.
2. A linear-vortex panel solution (:mod:`.panel`) gives the potential velocity u_pot at
   every node and the surface speed; the integral boundary layer (:mod:`.boundary_layer`)
   gives the edge speed u_e and the wall shear τ_w/ρ = ½C_f u_e² at every wall point.
3. A body-fitted O-grid of quads (:mod:`.mesh`) whose wall ring is the panel surface.
4. Fields: p/ρ = ½(U∞² − |u_pot|²) (Bernoulli, p∞ = 0; the wall value from the surface
   speed); the velocity u_pot·g(d) with a boundary-layer profile in the wall distance d
   along each mesh ray i: g(d) = S_i d / u_e,i up to the first off-wall node d_1,i (so the
   wall gradient a mesh-based force routine recomputes is the layer's, S_i = τ_w,i/(ν u_e,i)
   · u_e,i), then g = 1 − A exp(−(d − d_1)/L) with A = 1 − S_i d_1/u_e and L = A u_e / S_i,
   matching value and slope. Wall nodes have u = v = 0 exactly; ν_t is written as zeros.

The true C_D, C_L of a sample are those the scoring routine (:func:`.forces.force_coefficients`)
recomputes from the written fields; the sidecar ``opbench.json`` records them beside the
panel (pressure-integrated and Kutta–Joukowski) lift and the Squire–Young drag.
Manifest: ``full_train`` the first n_train simulations, ``full_test`` the rest;
``scarce_train`` the first quarter of full_train; ``reynolds_*`` / ``aoa_*`` split all
simulations by Re ∈ [3e6, 5e6] / α ∈ [−2.5°, 12.5°] (train) or not (test), as AirfRANS.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import Field

from opbench.config import Seed, Size, StrictModel
from opbench.data.airfrans import naca, panel
from opbench.data.airfrans.boundary_layer import NU, solve_boundary_layer
from opbench.data.airfrans.files import Boundary, Wall, write_manifest, write_simulation
from opbench.data.airfrans.forces import force_coefficients, wall_stencil
from opbench.data.airfrans.mesh import build_mesh
from opbench.data.cache import SIDECAR
from opbench.io import write_json_atomic
from opbench.workers import process_pool

GENERATOR_VERSION = "1"
GENERATOR = "opbench.airfrans"
LABEL = "airfrans-style: potential flow with boundary-layer correction"
N_PANELS = 200
FIRST_CELL = 1e-5
"""Wall-normal height of the first cell (chords): well inside the viscous sublayer, so the
linear part of the profile covers it."""


class GenerationOptions(StrictModel):
    """Simulations (``full_train`` / ``full_test``), mesh size, seed."""

    n_train: Annotated[int, Field(strict=True, ge=2)] = 64
    n_test: Size = 16
    n_around: Annotated[int, Field(strict=True, ge=40)] = N_PANELS
    n_normal: Annotated[int, Field(strict=True, ge=8)] = 64
    seed: Seed = 0

    def key(self) -> dict[str, Any]:
        return self.model_dump()


@dataclass(frozen=True)
class GenerationReport:
    path: Path
    seconds: float
    simulations: list[dict[str, Any]]

    def lines(self) -> list[str]:
        per = np.array([s["seconds"] for s in self.simulations])
        nodes = self.simulations[0]["nodes"]
        true_cl = np.array([s["cl_true"] for s in self.simulations])
        panel_cl = np.array([s["cl_panel"] for s in self.simulations])
        true_cd = np.array([s["cd_true"] for s in self.simulations])
        bl_cd = np.array([s["cd_squire_young"] for s in self.simulations])
        return [
            f"{len(per)} simulations of {nodes} nodes in {self.seconds:.1f} s wall "
            f"({per.mean():.2f} s per simulation per worker)",
            f"|C_L(fields) − C_L(panel)|: median {np.median(abs(true_cl - panel_cl)):.3g}; "
            f"|C_D(fields) − C_D(Squire–Young)|: median {np.median(abs(true_cd - bl_cd)):.3g}",
        ]


def draw_case(rng: np.random.Generator) -> naca.AirfoilCase:
    """Flow conditions and a NACA section in the AirfRANS ranges (module docstring)."""
    reynolds = rng.uniform(2e6, 6e6)
    aoa = rng.uniform(-5.0, 15.0)
    if rng.random() < 0.5:
        m, p, xx = rng.uniform(0, 7), rng.uniform(0, 7), rng.uniform(5, 20)
        digits = (m, p if p >= 1.5 else 0.0, xx)
    else:
        digits = (
            rng.uniform(0, 4),
            rng.uniform(3, 8),
            float(rng.integers(0, 2)),
            rng.uniform(5, 20),
        )
    rounded = [round(float(v), 3) for v in (reynolds * NU, aoa, *digits)]
    return naca.AirfoilCase(rounded[0], rounded[1], naca.airfoil_from_digits(rounded[2:]))


def profile(
    d: np.ndarray, slope: np.ndarray, u_e: np.ndarray, d1: np.ndarray, thickness: np.ndarray
) -> np.ndarray:
    """g(d): linear S d / u_e up to d_1, then 1 − A exp(−(d − d_1)/L) (module docstring),
    with L at most twice the displacement thickness ``thickness`` so that a layer with
    almost no shear (separated, stagnation) stays thin."""
    u_e = np.maximum(u_e, 1e-12)
    k = slope / u_e  # 1/m
    linear_end = np.minimum(k * d1, 1.0)
    amplitude = 1.0 - linear_end
    # a layer whose linear part reaches u_e (amplitude 0) has no outer part: any L > 0 will do
    length = np.maximum(np.minimum(amplitude / k, 2.0 * thickness), 1e-30)
    outer = 1.0 - amplitude * np.exp(-np.maximum(d - d1, 0.0) / length)
    return np.where(d <= d1, np.minimum(k * d, 1.0), outer)


def simulate(case: naca.AirfoilCase, options: GenerationOptions) -> dict[str, Any]:
    """Panel method, boundary layer, mesh and fields of one simulation (module docstring)."""
    surface = naca.surface(case.foil, options.n_around)
    solution = panel.solve(surface, case.u_inf, case.aoa_deg)
    layer = solve_boundary_layer(solution)
    mesh = build_mesh(surface, n_normal=options.n_normal, first_cell=FIRST_CELL)
    n = mesh.shape[1]
    ray = np.arange(len(mesh.points)) % n
    ux, uy = np.zeros((2, len(mesh.points)))
    off_wall = mesh.points[n:]  # the wall ring comes first; the field is singular on it
    ux[n:], uy[n:] = solution.velocity(off_wall[:, 0], off_wall[:, 1])
    u_e = np.abs(layer.u_e[:n])
    d1 = mesh.distance[n : 2 * n]
    thickness = np.maximum(layer.delta_star[:n], d1)
    # |∂u/∂n| at the wall (1/s); where the layer carries no shear (stagnation point,
    # separation) a floor of 1e-3 u_e/δ* keeps the first nodes off U_x == 0.
    slope = np.maximum(layer.wall_shear[:n] / NU, 1e-3 * np.maximum(u_e, 1e-3) / thickness)
    g = profile(mesh.distance, slope[ray], u_e[ray], d1[ray], thickness[ray])
    g[mesh.wall] = 0.0
    speed_sq = ux**2 + uy**2
    speed_sq[mesh.wall] = solution.gamma[:n] ** 2
    velocity = np.stack([ux * g, uy * g], axis=1)
    pressure = 0.5 * (case.u_inf**2 - speed_sq)
    wall = Wall(mesh.wall, _ring_segments(n), mesh.wall_normals)
    outer = Boundary(mesh.outer, _ring_segments(n))
    return {
        "mesh": mesh,
        "fields": {
            "U": velocity,
            "p": pressure,
            "nut": np.zeros(len(mesh.points)),
            "implicit_distance": -mesh.distance,
        },
        "wall": wall,
        "outer": outer,
        "solution": solution,
        "layer": layer,
    }


def _ring_segments(n: int) -> np.ndarray:
    """Segments (k, k + 1 mod n) of a closed ring of n points."""
    k = np.arange(n)
    return np.stack([k, (k + 1) % n], axis=1)


def _write_one(index: int, root: Path, options: GenerationOptions) -> dict[str, Any]:
    start = time.perf_counter()
    case = draw_case(np.random.default_rng([options.seed, index]))
    sim = simulate(case, options)
    mesh, fields, wall = sim["mesh"], sim["fields"], sim["wall"]
    write_simulation(root, case.name, mesh.points, mesh.quads, fields, wall, sim["outer"])
    stencil = wall_stencil(mesh.points, mesh.quads, wall.nodes, wall.segments, wall.normals)
    cd, cl = force_coefficients(stencil, fields["U"], fields["p"], case.u_inf, case.aoa_deg)
    solution, layer = sim["solution"], sim["layer"]
    return {
        "name": case.name,
        "reynolds": case.u_inf / NU,
        "aoa_deg": case.aoa_deg,
        "nodes": len(mesh.points),
        "seconds": time.perf_counter() - start,
        "cd_true": float(cd),
        "cl_true": float(cl),
        "cl_panel": float(solution.cl_pressure),
        "cl_kutta_joukowski": float(solution.cl_kutta_joukowski),
        "cd_squire_young": float(layer.cd),
    }


def manifest(simulations: list[dict[str, Any]], n_train: int) -> dict[str, list[str]]:
    """The seven AirfRANS lists over the generated simulations (module docstring)."""
    names = [s["name"] for s in simulations]
    train, test = names[:n_train], names[n_train:]
    in_re = [3e6 <= s["reynolds"] <= 5e6 for s in simulations]
    in_aoa = [-2.5 <= s["aoa_deg"] <= 12.5 for s in simulations]
    return {
        "full_train": train,
        "full_test": test,
        "scarce_train": train[: max(1, n_train // 4)],
        "reynolds_train": [n for n, keep in zip(names, in_re, strict=True) if keep],
        "reynolds_test": [n for n, keep in zip(names, in_re, strict=True) if not keep],
        "aoa_train": [n for n, keep in zip(names, in_aoa, strict=True) if keep],
        "aoa_test": [n for n, keep in zip(names, in_aoa, strict=True) if not keep],
    }


def generate(
    root: Path, options: GenerationOptions | None = None, workers: int | None = None
) -> GenerationReport:
    """Write ``root/manifest.json``, ``root/<name>/`` for every simulation, and the sidecar."""
    options = options or GenerationOptions()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    workers = workers or min(2, os.cpu_count() or 1)
    start = time.perf_counter()
    write = functools.partial(_write_one, root=root, options=options)
    indices = range(options.n_train + options.n_test)
    if workers > 1:
        with process_pool(workers) as pool:
            simulations = list(pool.map(write, indices))
    else:
        simulations = [write(i) for i in indices]
    write_manifest(root, manifest(simulations, options.n_train))
    seconds = time.perf_counter() - start
    write_json_atomic(
        root / SIDECAR,
        {
            "generator": GENERATOR,
            "generator_version": GENERATOR_VERSION,
            "label": LABEL,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "options": options.key(),
            "first_cell": FIRST_CELL,
            "nu": NU,
            "seconds": seconds,
            "simulations": simulations,
        },
    )
    return GenerationReport(root, seconds, simulations)
