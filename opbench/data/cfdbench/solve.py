"""``opbench solve``: one non-dimensional CFDBench-style flow, solved and written to a folder.

Units: speed U = 1 (lid or inflow), reference length L = 1, ν = 1/Re, time in L/U. L is the
cavity height, the channel height for ``tube`` and ``dam``, the diameter for ``cylinder``.
Geometry defaults (options in L; each problem accepts only the options listed):

* ``cavity`` [0, width]×[0, 1]; width 1 (the unit square).
* ``tube`` [0, width]×[0, 1]; width 5.
* ``dam`` [0, width]×[0, 1]; width 3.75, barrier at x = width/3, barrier_height 0.3,
  barrier_width 0.125 (CFDBench's 1.5 m × 0.4 m channel with its barrier at 0.5 m, in
  units of the height).
* ``cylinder`` D = 1 at the origin of [−width/4, 3·width/4]×[−H/2, H/2] with
  H = 1/blockage; width 20, blockage D/H 0.1; free-slip channel walls.

``until`` is ``"steady"`` (default for cavity, tube and dam: :func:`~.solver.run_to_steady`,
at most 200 L/U) or an end time (cylinder default 150). Files written in ``out``:
``u.npy``, ``v.npy``, ``p.npy`` (final velocity and kinematic pressure at the solver's cell
centres, float64 (ny, nx), row 0 at the bottom, 0 inside obstacles); ``solve.json``; for the
cavity ``centreline.csv`` with header ``y,u,x,v`` (one row per cell index i:
:func:`~.solver.cavity_centrelines`). The cylinder's Strouhal number comes from v(t) at the
wake probe (2D, 0) over the second half of the run.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from opbench.data.cfdbench import solver
from opbench.errors import ConfigError, DataError, unknown_name
from opbench.io import atomic_path, write_json_atomic, write_text_atomic

WAKE_PROBE = (2.0, 0.0)

Extras = Callable[[solver.FlowRun, Path, Path | None], tuple[list[str], dict[str, Any]]]


def _no_extras(
    run: solver.FlowRun, out: Path, reference: Path | None
) -> tuple[list[str], dict[str, Any]]:
    return [], {}


def _cavity_extras(
    run: solver.FlowRun, out: Path, reference: Path | None
) -> tuple[list[str], dict[str, Any]]:
    """centreline.csv, and the deviation from a reference table if one is given."""
    lines = solver.cavity_centrelines(run)
    rows = zip(lines.y, lines.u, lines.x, lines.v, strict=True)
    body = "".join(f"{y:.10g},{u:.10g},{x:.10g},{v:.10g}\n" for y, u, x, v in rows)
    write_text_atomic(out / "centreline.csv", "y,u,x,v\n" + body)
    if reference is None:
        return ["centreline.csv"], {}
    deviation = centreline_deviation(lines, read_reference(reference))
    return ["centreline.csv"], {"reference": str(reference), "reference_deviation": deviation}


def _cylinder_extras(
    run: solver.FlowRun, out: Path, reference: Path | None
) -> tuple[list[str], dict[str, Any]]:
    return [], {"strouhal": solver.strouhal(run), "wake_probe": list(WAKE_PROBE)}


@dataclass(frozen=True)
class Problem:
    """One problem: geometry options with defaults, the domain they give, the default end
    time (None: steady), wake probes, the problem's extra outputs, and whether it takes a
    centreline reference."""

    defaults: Mapping[str, float]
    build: Callable[[float, Mapping[str, float]], solver.Domain]
    end: float | None = None
    probes: tuple[tuple[float, float], ...] = ()
    extras: Extras = _no_extras
    takes_reference: bool = False


def _cylinder(nu: float, g: Mapping[str, float]) -> solver.Domain:
    half = 0.5 / g["blockage"]
    return solver.cylinder(1.0, nu, -g["width"] / 4, 3 * g["width"] / 4, -half, half, 0.5)


PROBLEMS: dict[str, Problem] = {
    "cavity": Problem(
        {"width": 1.0},
        lambda nu, g: solver.cavity(1.0, nu, g["width"], 1.0),
        extras=_cavity_extras,
        takes_reference=True,
    ),
    "tube": Problem({"width": 5.0}, lambda nu, g: solver.tube(1.0, nu, g["width"], 1.0)),
    "dam": Problem(
        {"width": 3.75, "barrier_height": 0.3, "barrier_width": 0.125},
        lambda nu, g: solver.dam(
            1.0, nu, g["width"], 1.0, g["width"] / 3, g["barrier_height"], g["barrier_width"]
        ),
    ),
    "cylinder": Problem(
        {"width": 20.0, "blockage": 0.1},
        _cylinder,
        end=150.0,
        probes=(WAKE_PROBE,),
        extras=_cylinder_extras,
    ),
}


@dataclass(frozen=True)
class SolveReport:
    """What :func:`solve` wrote and measured; ``summary`` is the content of solve.json."""

    out: Path
    files: list[str]
    summary: dict[str, Any]

    def lines(self) -> list[str]:
        s = self.summary
        grid = s["grid"]
        steady = {True: ", steady", False: ", NOT steady (max time reached)", None: ""}[s["steady"]]
        lines = [
            f"{s['problem']} at Re {s['reynolds']:g}: {grid['nx']}×{grid['ny']} cells, "
            f"t = {s['final_time']:.4g}{steady}, {s['steps']} steps in {s['wall_seconds']:.1f} s",
            f"max |div u| = {s['max_divergence']:.2e} (U/L)",
        ]
        if "strouhal" in s:
            st = s["strouhal"]
            lines.append("Strouhal: no periodic wake" if st is None else f"Strouhal: {st:.4f}")
        if "reference_deviation" in s:
            lines.append(f"max |deviation| from the reference: {s['reference_deviation']:.4f}")
        lines.append(f"wrote {', '.join(self.files)} in {self.out}")
        return lines


def parse_until(until: str | float | None, default: float | None = None) -> float | None:
    """None for "steady", else a positive end time; ``default`` when ``until`` is None."""
    if until is None:
        return default
    if until == "steady":
        return None
    try:
        end = float(until)
    except ValueError:
        raise ConfigError(f"--until must be 'steady' or an end time, got {until!r}") from None
    if not (np.isfinite(end) and end > 0):
        raise ConfigError(f"--until must be a positive end time, got {until!r}")
    return end


def geometry(problem: str, options: Mapping[str, float | None]) -> dict[str, float]:
    """The problem's defaults overridden by the options given (None: not given)."""
    spec = PROBLEMS[problem]
    given = {name: value for name, value in options.items() if value is not None}
    extra = sorted(set(given) - set(spec.defaults))
    if extra:
        flags = ", ".join("--" + name.replace("_", "-") for name in extra)
        known = ", ".join("--" + name.replace("_", "-") for name in spec.defaults)
        raise ConfigError(f"{flags} does not apply to {problem} (its options: {known})")
    for name, value in given.items():
        if not (np.isfinite(value) and value > 0):
            raise ConfigError(f"--{name.replace('_', '-')} must be positive, got {value!r}")
    return {**spec.defaults, **given}


def read_reference(path: str | Path) -> dict[str, np.ndarray]:
    """A centreline table with columns y,u,x,v ('#' lines are comments), e.g. Ghia et al."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines(keepends=True)
        text = "".join(line for line in lines if not line.startswith("#"))
        table = np.genfromtxt(io.StringIO(text), delimiter=",", names=True)
    except (OSError, ValueError) as error:
        raise DataError(f"cannot read the reference centrelines {path}: {error}") from None
    if set(table.dtype.names or ()) != {"y", "u", "x", "v"}:
        raise DataError(f"{path}: expected the columns y,u,x,v, got {table.dtype.names}")
    return {name: np.atleast_1d(table[name]) for name in "yuxv"}


def centreline_deviation(lines: solver.Centrelines, reference: Mapping[str, np.ndarray]) -> float:
    """max |profile − reference| at the reference points, profiles linear between the cell
    centres and the walls (u = 0 at the bottom and 1 at the lid; v = 0 at both walls)."""
    u = np.interp(reference["y"], np.r_[0.0, lines.y, 1.0], np.r_[0.0, lines.u, 1.0])
    v = np.interp(reference["x"], np.r_[0.0, lines.x, 1.0], np.r_[0.0, lines.v, 0.0])
    return float(max(np.max(np.abs(u - reference["u"])), np.max(np.abs(v - reference["v"]))))


def _save(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        np.save(f, array)


def solve(
    problem: str,
    reynolds: float,
    cells: int,
    out: str | Path,
    until: str | float | None = None,
    options: Mapping[str, float | None] | None = None,
    reference: str | Path | None = None,
) -> SolveReport:
    """Solve ``problem`` at ``reynolds`` on ``cells`` across the height; write into ``out``.

    ``options``: geometry overrides (module doc); ``reference``: a y,u,x,v centreline table
    to compare the cavity with (:func:`centreline_deviation`).
    """
    if problem not in PROBLEMS:
        raise unknown_name("problem", problem, PROBLEMS)
    if not (np.isfinite(reynolds) and reynolds > 0):
        raise ConfigError(f"--re must be positive, got {reynolds!r}")
    spec = PROBLEMS[problem]
    if reference is not None and not spec.takes_reference:
        raise ConfigError(f"--reference does not apply to {problem} (cavity only)")
    shape = geometry(problem, options or {})
    end = parse_until(until, spec.end)
    domain = spec.build(1.0 / reynolds, shape)
    run = (
        solver.run_to_steady(domain, cells, probes=spec.probes)
        if end is None
        else solver.simulate(domain, cells, [end], probes=spec.probes)
    )
    out = Path(out)
    u, v = solver.cell_centre_velocity(run)
    files = ["u.npy", "v.npy", "p.npy"]
    for name, array in zip(files, (u, v, run.pressure), strict=True):
        _save(out / name, array)
    extra_files, extras = spec.extras(run, out, None if reference is None else Path(reference))
    summary: dict[str, Any] = {
        "problem": problem,
        "reynolds": reynolds,
        "parameters": {"velocity": 1.0, "viscosity": 1.0 / reynolds, **shape},
        "grid": {"nx": run.grid.nx, "ny": run.grid.ny, "dx": run.grid.dx, "dy": run.grid.dy},
        "until": "steady" if end is None else end,
        "final_time": run.final_time,
        "steady": run.steady,
        "steps": run.steps,
        "final_dt": run.dt,
        "max_divergence": run.max_divergence,
        "wall_seconds": run.seconds,
        **extras,
    }
    files += [*extra_files, "solve.json"]
    write_json_atomic(out / "solve.json", summary)
    return SolveReport(out, files, summary)
