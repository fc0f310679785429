"""TaskSpec: what a model sees and must predict.

Models are built from a TaskSpec, never from dataset internals. A ``grid`` or
``grid-timestep`` task's batch holds ``x`` (B, C_in, H, W) and ``y`` (B, C_out, H, W); the
model returns a tensor shaped like ``y``. A ``points`` task's batch holds per-point inputs
``x`` (B, C_in, N) and targets ``y`` (B, C_out, N); ``extra["coordinate_fields"]`` names the
input channels that are query coordinates, every other input channel is constant over the
points of a sample (e.g. case parameters). Any layout may carry ``mask`` (B, 1, ...): 1 on
the points that are scored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

LAYOUTS = ("grid", "grid-timestep", "points")


@dataclass(frozen=True)
class TaskSpec:
    """The contract between a dataset task and the models that solve it.

    Attributes:
        name: task name within its family (``steady`` for ConDiff).
        layout: ``grid`` (fields on a regular grid), ``grid-timestep`` (grid frames
            advanced in time) or ``points`` (point clouds).
        input_fields: names of the input channels, in channel order.
        output_fields: names of the output channels, in channel order.
        spatial_shape: (H, W) for grid layouts, ``None`` for points.
        periodic: whether the domain is periodic (spectral models pad when it is not).
        boundary: the boundary condition of the outputs, e.g. ``zero-dirichlet``.
        metrics: names of the metrics scored on the test split.
        primary_metric: the metric that ranks models and selects checkpoints (lower is
            better): a registered metric of ``metrics``, or one of the dataset family's own
            per-sample metrics named in ``extra["family_metrics"]`` (AirfRANS: ``vol_mse``).
    """

    name: str
    layout: str
    input_fields: tuple[str, ...]
    output_fields: tuple[str, ...]
    spatial_shape: tuple[int, ...] | None = None
    periodic: bool = False
    boundary: str = "none"
    metrics: tuple[str, ...] = ("rel_l2", "mse", "max_err")
    primary_metric: str = "rel_l2"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout {self.layout!r} is not one of {LAYOUTS}")
        family_metrics = tuple(self.extra.get("family_metrics", ()))
        if self.primary_metric not in (*self.metrics, *family_metrics):
            raise ValueError(
                f"primary metric {self.primary_metric!r} is not in {self.metrics} or the "
                f"family's metrics {family_metrics}"
            )

    @property
    def in_channels(self) -> int:
        return len(self.input_fields)

    @property
    def out_channels(self) -> int:
        return len(self.output_fields)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
