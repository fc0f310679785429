"""The four CFDBench-style flow geometries and the uniform grid that covers them.

A :class:`Domain` is a rectangle [x_min, x_max]×[y_min, y_max] with

* a closed box (``inflow_height`` None: no-slip walls, the top one moving tangentially at
  ``lid_velocity``) — the lid-driven cavity;
* or a channel: a uniform inflow u = ``velocity`` on the left side for
  y_min ≤ y < y_min + ``inflow_height`` (no-slip wall above it), an outlet on the right side
  (zero-gradient velocity, p = 0), and walls at y_min and y_max that are no-slip, or
  free-slip (u_y = 0, v = 0) with ``slip_walls``;
* solid obstacles (:class:`Disc`, :class:`Rectangle`) that the solver masks cell by cell.

All lengths, speeds and the kinematic viscosity ν = μ/ρ are in the caller's units; with
U = L = 1 and ν = 1/Re the problem is the non-dimensional one. The reference length
``length`` (cavity side, channel height, cylinder diameter) defines Re = U·length/ν.

Cylinder wake perturbation: a symmetric start sheds vortices only after round-off has grown
for a long time, so :func:`cylinder` spins the disc as a rigid body with surface speed
``SPIN_SURFACE_SPEED``·U for t < ``SPIN_DURATION``·D/U: a brief, deterministic, asymmetric
kick (a common trigger in cylinder-wake computations). At Re = 100 the street is fully
developed by t ≈ 20 D/U (D/H = 0.1) or 15 D/U (D/H = 0.2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from opbench.errors import ConfigError

SPIN_SURFACE_SPEED = 0.5
SPIN_DURATION = 1.0
MIN_CELLS = 8
MIN_DIAMETER_CELLS = 4.0


@dataclass(frozen=True)
class Disc:
    """A solid disc of ``radius`` centred at (x, y)."""

    x: float
    y: float
    radius: float

    def contains(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (np.asarray(x) - self.x) ** 2 + (np.asarray(y) - self.y) ** 2 < self.radius**2

    def check_resolution(self, dx: float, dy: float) -> None:
        cells = 2 * self.radius / max(dx, dy)
        if cells < MIN_DIAMETER_CELLS:
            raise ConfigError(
                f"the cylinder diameter spans {cells:.1f} cells; at least "
                f"{MIN_DIAMETER_CELLS:g} are needed: use more cells"
            )


@dataclass(frozen=True)
class Rectangle:
    """A solid rectangle [x0, x1]×[y0, y1]."""

    x0: float
    x1: float
    y0: float
    y1: float

    def contains(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        x, y = np.asarray(x), np.asarray(y)
        return (x > self.x0) & (x < self.x1) & (y > self.y0) & (y < self.y1)

    def check_resolution(self, dx: float, dy: float) -> None:
        cells = min((self.x1 - self.x0) / dx, (self.y1 - self.y0) / dy)
        if cells < 1:
            raise ConfigError(
                f"the barrier is {cells:.2f} cells thick; at least one cell is needed: "
                "use more cells"
            )


@dataclass(frozen=True)
class Spin:
    """Rigid rotation u = −Ω(y − y_c), v = Ω(x − x_c) of the faces bounding a disc, t < until."""

    x: float
    y: float
    omega: float
    until: float

    def velocity(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return -self.omega * (np.asarray(y) - self.y), self.omega * (np.asarray(x) - self.x)


Shape = Disc | Rectangle


@dataclass(frozen=True)
class Domain:
    """One flow problem: rectangle, boundary conditions, obstacles and fluid (see module doc)."""

    problem: str
    velocity: float
    viscosity: float
    x_min: float
    x_max: float
    y_min: float
    y_max: float
    length: float
    inflow_height: float | None = None
    lid_velocity: float = 0.0
    slip_walls: bool = False
    obstacles: tuple[Shape, ...] = ()
    spin: Spin | None = None

    @property
    def width(self) -> float:
        return self.x_max - self.x_min

    @property
    def height(self) -> float:
        return self.y_max - self.y_min

    @property
    def channel(self) -> bool:
        return self.inflow_height is not None

    @property
    def reynolds(self) -> float:
        return self.velocity * self.length / self.viscosity

    def solid(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """True where the point (x, y) lies inside an obstacle."""
        inside = np.zeros(np.broadcast(np.asarray(x), np.asarray(y)).shape, dtype=bool)
        for shape in self.obstacles:
            inside |= shape.contains(x, y)
        return inside


def _positive(**values: float) -> None:
    for name, value in values.items():
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(f"{name} must be a positive finite number, got {value!r}")


def cavity(velocity: float, viscosity: float, width: float = 1.0, height: float = 1.0) -> Domain:
    """Box [0, width]×[0, height]; the lid y = height moves with u = velocity."""
    _positive(velocity=velocity, viscosity=viscosity, width=width, height=height)
    return Domain(
        "cavity",
        velocity,
        viscosity,
        0.0,
        width,
        0.0,
        height,
        length=height,
        lid_velocity=velocity,
    )


def tube(velocity: float, viscosity: float, width: float, height: float) -> Domain:
    """Channel [0, width]×[0, height]: uniform inflow at x = 0, outlet at x = width."""
    _positive(velocity=velocity, viscosity=viscosity, width=width, height=height)
    return Domain(
        "tube", velocity, viscosity, 0.0, width, 0.0, height, length=height, inflow_height=height
    )


def dam(
    velocity: float,
    viscosity: float,
    width: float,
    height: float,
    barrier_x: float,
    barrier_height: float,
    barrier_width: float,
) -> Domain:
    """Channel with inflow below ``barrier_height`` and a barrier on the bottom wall.

    The barrier is [barrier_x, barrier_x + barrier_width]×[0, barrier_height].
    """
    _positive(
        velocity=velocity,
        viscosity=viscosity,
        width=width,
        height=height,
        barrier_x=barrier_x,
        barrier_height=barrier_height,
        barrier_width=barrier_width,
    )
    if barrier_x + barrier_width >= width:
        raise ConfigError(
            f"the barrier [{barrier_x:g}, {barrier_x + barrier_width:g}] does not fit inside "
            f"the channel [0, {width:g}]"
        )
    if barrier_height >= height:
        raise ConfigError(
            f"barrier_height {barrier_height:g} must be below the channel height {height:g}"
        )
    barrier = Rectangle(barrier_x, barrier_x + barrier_width, 0.0, barrier_height)
    return Domain(
        "dam",
        velocity,
        viscosity,
        0.0,
        width,
        0.0,
        height,
        length=height,
        inflow_height=barrier_height,
        obstacles=(barrier,),
    )


def cylinder(
    velocity: float,
    viscosity: float,
    x_min: float,
    x_max: float,
    y_min: float,
    y_max: float,
    radius: float,
) -> Domain:
    """Channel [x_min, x_max]×[y_min, y_max] with free-slip walls and a disc at the origin.

    Uniform inflow at x_min, outlet at x_max; Re = velocity·2·radius/viscosity. The disc
    spins briefly at the start to trigger shedding (module doc).
    """
    _positive(velocity=velocity, viscosity=viscosity, radius=radius)
    if not (x_min < -radius and radius < x_max and y_min < -radius and radius < y_max):
        raise ConfigError(
            f"the cylinder of radius {radius:g} at the origin must lie strictly inside "
            f"[{x_min:g}, {x_max:g}]×[{y_min:g}, {y_max:g}]"
        )
    diameter = 2 * radius
    spin = Spin(
        0.0, 0.0, SPIN_SURFACE_SPEED * velocity / radius, SPIN_DURATION * diameter / velocity
    )
    return Domain(
        "cylinder",
        velocity,
        viscosity,
        x_min,
        x_max,
        y_min,
        y_max,
        length=diameter,
        inflow_height=y_max - y_min,
        slip_walls=True,
        obstacles=(Disc(0.0, 0.0, radius),),
        spin=spin,
    )


@dataclass(frozen=True)
class Grid:
    """Uniform nx×ny cells over a domain; cell (j, i) = [x_min + i·dx, …]×[y_min + j·dy, …]."""

    nx: int
    ny: int
    x_min: float
    y_min: float
    dx: float
    dy: float

    @classmethod
    def for_domain(cls, domain: Domain, cells: int) -> Grid:
        """``cells`` across the height; round(cells·width/height) across the width."""
        if isinstance(cells, bool) or not isinstance(cells, int | np.integer) or cells < MIN_CELLS:
            raise ConfigError(f"cells must be an integer ≥ {MIN_CELLS}, got {cells!r}")
        nx = max(1, round(cells * domain.width / domain.height))
        grid = cls(
            nx, int(cells), domain.x_min, domain.y_min, domain.width / nx, domain.height / cells
        )
        for shape in domain.obstacles:
            shape.check_resolution(grid.dx, grid.dy)
        return grid

    @property
    def x_centres(self) -> np.ndarray:
        return self.x_min + (np.arange(self.nx) + 0.5) * self.dx

    @property
    def y_centres(self) -> np.ndarray:
        return self.y_min + (np.arange(self.ny) + 0.5) * self.dy

    @property
    def x_faces(self) -> np.ndarray:
        return self.x_min + np.arange(self.nx + 1) * self.dx

    @property
    def y_faces(self) -> np.ndarray:
        return self.y_min + np.arange(self.ny + 1) * self.dy
