"""The four CFDBench problems as the reference loader sees them (Luo, Chen & Zhang 2023,
and the luo-yining/CFDBench code).

For each problem: the case parameters in loader order, the published frame spacing, the
padding convention and the obstacle mask. Frames are (T, H, W) with axis 1 = y (row 0 at
y_min) and axis 2 = x; a frame point (i, j) sits at the cell centre
``x = x_min + (j + ½)·width/W``, ``y = y_min + (i + ½)·height/H``.

Padding (reference convention, tube, dam and cylinder): one column on the left holding the
inlet (u = inlet velocity, v = 0, mask 0) and one row of wall zeros top and bottom (mask 0),
so H×W frames become (H+2)×(W+1). The cavity is not padded and its mask is all ones. Dam:
the inlet column carries the inlet velocity only below the barrier height (the reference
sets ``u[:, :barrier_top_idx, 0]``); the rest of that column is wall.

Two reference bugs are **not** copied: the dam barrier [0.5, 0.5 + barrier_width] ×
[0, barrier_height] is masked (the reference's slice hits the wrong axis and masks
nothing), and the cylinder disc is masked around its true centre, the solver origin, i.e.
(−x_min, −y_min) from the lower-left corner (the reference hard-codes (0.5, 0.5)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from opbench.errors import DataError
from opbench.registry import Registry

DAM_BARRIER_X = 0.5
"""Left edge of the dam barrier, metres from the channel inlet (reference loader)."""

Case = dict[str, Any]


def frame_centres(extent: tuple[float, float, float, float], shape: tuple[int, int]):
    """Cell-centre coordinates (X, Y), each (H, W), of an H×W frame over
    ``extent = (x_min, x_max, y_min, y_max)``."""
    x_min, x_max, y_min, y_max = extent
    height, width = shape
    x = x_min + (np.arange(width) + 0.5) * (x_max - x_min) / width
    y = y_min + (np.arange(height) + 0.5) * (y_max - y_min) / height
    return np.meshgrid(x, y)


def _box(case: Case) -> tuple[float, float, float, float]:
    return (0.0, float(case["width"]), 0.0, float(case["height"]))


def _cylinder_extent(case: Case) -> tuple[float, float, float, float]:
    return (float(case["x_min"]), float(case["x_max"]), float(case["y_min"]), float(case["y_max"]))


def _no_obstacle(case: Case, shape: tuple[int, int]) -> np.ndarray:
    return np.zeros(shape, dtype=bool)


def _dam_barrier(case: Case, shape: tuple[int, int]) -> np.ndarray:
    x, y = frame_centres(_box(case), shape)
    left = DAM_BARRIER_X
    right = left + float(case["barrier_width"])
    return (x >= left) & (x <= right) & (y <= float(case["barrier_height"]))


def _cylinder_disc(case: Case, shape: tuple[int, int]) -> np.ndarray:
    # Frame coordinates already have the cylinder at the origin (x_min < 0 < x_max).
    x, y = frame_centres(_cylinder_extent(case), shape)
    return x**2 + y**2 <= float(case["radius"]) ** 2


def _cylinder_params(case: Case) -> Case:
    """Derived keys of the cylinder loader: height, width and the centre (−x_min, −y_min)."""
    return {
        **case,
        "height": float(case["y_max"]) - float(case["y_min"]),
        "width": float(case["x_max"]) - float(case["x_min"]),
        "center_x": -float(case["x_min"]),
        "center_y": -float(case["y_min"]),
    }


def _dam_inlet_rows(case: Case, height: int) -> np.ndarray:
    y = (np.arange(height) + 0.5) * float(case["height"]) / height
    return y <= float(case["barrier_height"])


def _all_rows(case: Case, height: int) -> np.ndarray:
    return np.ones(height, dtype=bool)


@dataclass(frozen=True)
class Problem:
    """One CFDBench problem.

    Attributes:
        name: ``cavity``, ``tube``, ``dam`` or ``cylinder``.
        param_keys: case parameters in the reference loader's order.
        json_keys: keys every case.json of the problem must hold.
        published_frame_dt: seconds between frames in the published files.
        inlet_key: case.json key of the inlet velocity; ``None`` for the cavity (no padding).
        extent: (x_min, x_max, y_min, y_max) of the frames from a case.json.
        obstacle: ``obstacle(case, (H, W))`` → boolean (H, W), True inside solids.
        inlet_rows: ``inlet_rows(case, H)`` → boolean (H,), rows of the inlet column that
            carry the inlet velocity.
        derive: adds derived keys (cylinder: height, width, center_x, center_y).
    """

    name: str
    param_keys: tuple[str, ...]
    json_keys: tuple[str, ...]
    published_frame_dt: float
    inlet_key: str | None
    extent: Callable[[Case], tuple[float, float, float, float]] = _box
    obstacle: Callable[[Case, tuple[int, int]], np.ndarray] = _no_obstacle
    inlet_rows: Callable[[Case, int], np.ndarray] = _all_rows
    derive: Callable[[Case], Case] = dict

    @property
    def padded(self) -> bool:
        return self.inlet_key is not None

    def check_case(self, case: Case, where: str) -> Case:
        """The case with derived keys, after checking that every key is present and finite."""
        missing = [key for key in self.json_keys if key not in case]
        if missing:
            raise DataError(f"{where}: case.json lacks {missing} (a {self.name} case needs them)")
        for key in self.json_keys:
            value = case[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise DataError(f"{where}: case.json key {key!r} is {value!r}, not a number")
            if not np.isfinite(value):
                raise DataError(f"{where}: case.json key {key!r} is {value}")
        return self.derive(case)

    def params(self, case: Case) -> np.ndarray:
        """Case parameters in loader order, float64."""
        return np.array([float(case[key]) for key in self.param_keys])

    def features(
        self, u: np.ndarray, v: np.ndarray, case: Case
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Padded u, v (T, H', W') and the fluid mask (H', W'), float64, reference layout."""
        shape = u.shape[1:]
        mask = (~self.obstacle(case, shape)).astype(np.float64)
        u = np.where(mask > 0, u, 0.0)
        v = np.where(mask > 0, v, 0.0)
        if not self.padded:
            return u, v, mask
        inlet = np.where(self.inlet_rows(case, shape[0]), float(case[self.inlet_key]), 0.0)
        u = np.concatenate([np.broadcast_to(inlet[:, None], (u.shape[0], shape[0], 1)), u], 2)
        v = np.pad(v, ((0, 0), (0, 0), (1, 0)))
        mask = np.pad(mask, ((0, 0), (1, 0)))
        wall = ((0, 0), (1, 1), (0, 0))
        return np.pad(u, wall), np.pad(v, wall), np.pad(mask, ((1, 1), (0, 0)))


PROBLEMS: Registry[Problem] = Registry("CFDBench problem")
_BASE = ("density", "viscosity")

PROBLEMS.add(
    "cavity",
    Problem(
        "cavity",
        param_keys=("vel_top", "density", "viscosity", "height", "width"),
        json_keys=("vel_top", *_BASE, "height", "width"),
        published_frame_dt=0.1,
        inlet_key=None,
    ),
)
PROBLEMS.add(
    "tube",
    Problem(
        "tube",
        param_keys=("vel_in", "density", "viscosity", "height", "width"),
        json_keys=("vel_in", *_BASE, "height", "width"),
        published_frame_dt=0.1,
        inlet_key="vel_in",
    ),
)
PROBLEMS.add(
    "dam",
    Problem(
        "dam",
        param_keys=("velocity", "density", "viscosity", "height", "width"),
        json_keys=("velocity", *_BASE, "height", "width", "barrier_height", "barrier_width"),
        published_frame_dt=0.1,
        inlet_key="velocity",
        obstacle=_dam_barrier,
        inlet_rows=_dam_inlet_rows,
    ),
)
PROBLEMS.add(
    "cylinder",
    Problem(
        "cylinder",
        param_keys=(
            "vel_in",
            "density",
            "viscosity",
            "height",
            "width",
            "center_x",
            "center_y",
            "radius",
        ),
        json_keys=("vel_in", *_BASE, "radius", "x_min", "x_max", "y_min", "y_max"),
        published_frame_dt=0.001,
        inlet_key="vel_in",
        extent=_cylinder_extent,
        obstacle=_cylinder_disc,
        derive=_cylinder_params,
    ),
)
