"""TaskSpec: what a model sees and must predict.

Models are built from a TaskSpec, never from dataset internals. A ``grid`` or
``grid-timestep`` task's batch holds ``x`` (B, C_in, H, W) and ``y`` (B, C_out, H, W); the
model returns a tensor shaped like ``y``. A ``points`` task's batch holds per-point inputs
``x`` (B, C_in, N) and targets ``y`` (B, C_out, N); :attr:`TaskSpec.coordinate_fields` names
the input channels that are query coordinates, every other input channel is constant over
the points of a sample (e.g. case parameters). Any layout may carry ``mask`` (B, 1, ...): 1
on the points that are scored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

LAYOUTS = ("grid", "grid-timestep", "points")

Layout = Literal["grid", "grid-timestep", "points"]
Box = tuple[float, float, float, float]
"""(x_min, x_max, y_min, y_max)."""

_MOVED_EXTRAS = {
    "coordinate_fields": "coordinate_fields",
    "box": "bounding_box",
    "frame_shape": "frame_shape",
    "plotted_inputs": "plotted_inputs",
    "axes_order": "axes_order",
    "plot_window": "plot_window",
}
"""Keys of the former free ``extra`` dict (checkpoints written before these were declared
fields) → the field that holds them now. ``family_metrics`` moved into ``metrics``; the
informational ``grid``, ``delta_t`` and ``k`` live in the dataset metadata."""


class TaskSpec(BaseModel):
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
        metrics: names of the per-sample metrics scored on the test split: registered
            metrics (:mod:`opbench.eval.metrics`) or the dataset family's own (ConDiff's
            ``residual``, AirfRANS's ``vol_mse``).
        primary_metric: the metric that ranks models and selects checkpoints (lower is
            better), one of ``metrics``.
        coordinate_fields: ``points`` layout: the input channels that are query coordinates
            (the trunk's inputs, in this order); the others are constant per sample.
        bounding_box: ``points`` layout: the domain's box (models that resample onto a grid
            use it; AirfRANS: (−2, 4, −1.5, 1.5)).
        frame_shape: ``points`` on a fixed frame grid: its (H, W), for drawing predictions.
        plotted_inputs: the input channels worth drawing (``None``: all of them).
        axes_order: ``xy`` when array axis 0 is x, ``yx`` when it is y (CFDBench frames).
        plot_window: (x_min, x_max, y_min, y_max) of the scatter plots of point clouds with
            raw positions ``pos``.
        field_units: units of the input and output fields (UDUNITS strings, ``1`` for a
            dimensionless field), written into ``predictions.nc``.
        grid_extent: grid layouts: (x of the first point, x of the last, y of the first,
            y of the last), in ``coordinate_units``; ``None`` where the domain varies per
            sample (CFDBench cases), and then points are numbered.
        coordinate_units: units of ``grid_extent``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: Annotated[str, Field(min_length=1)]
    layout: Layout
    input_fields: Annotated[tuple[str, ...], Field(min_length=1)]
    output_fields: Annotated[tuple[str, ...], Field(min_length=1)]
    spatial_shape: tuple[Annotated[int, Field(strict=True, ge=1)], ...] | None = None
    periodic: bool = False
    boundary: str = "none"
    metrics: tuple[str, ...] = ("rel_l2", "mse", "max_err")
    primary_metric: str = "rel_l2"
    coordinate_fields: tuple[str, ...] = ()
    bounding_box: Box | None = None
    frame_shape: tuple[Annotated[int, Field(strict=True, ge=1)], ...] | None = None
    plotted_inputs: tuple[str, ...] | None = None
    axes_order: Literal["xy", "yx"] = "xy"
    plot_window: Box | None = None
    field_units: dict[str, str] = Field(default_factory=dict)
    grid_extent: Box | None = None
    coordinate_units: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_free_extra(cls, values: Any) -> Any:
        """Read a task stored before its contract keys were declared (``extra``)."""
        if not isinstance(values, dict) or "extra" not in values:
            return values
        values = dict(values)
        extra = dict(values.pop("extra") or {})
        family_metrics = tuple(extra.pop("family_metrics", ()))
        if family_metrics:
            default = cls.model_fields["metrics"].default
            values["metrics"] = (*values.get("metrics", default), *family_metrics)
        for old, new in _MOVED_EXTRAS.items():
            if old in extra:
                values[new] = extra.pop(old)
        return values

    @model_validator(mode="after")
    def _consistent(self) -> TaskSpec:
        if self.primary_metric not in self.metrics:
            raise ValueError(
                f"primary metric {self.primary_metric!r} is not one of the task's metrics "
                f"{self.metrics}"
            )
        for label, names in (
            ("coordinate_fields", self.coordinate_fields),
            ("plotted_inputs", self.plotted_inputs or ()),
        ):
            unknown = [name for name in names if name not in self.input_fields]
            if unknown:
                raise ValueError(f"{label} {unknown} are not input fields {self.input_fields}")
        if len(set(self.coordinate_fields)) != len(self.coordinate_fields):
            raise ValueError(f"coordinate_fields repeats a name: {self.coordinate_fields}")
        for label, box in (("bounding_box", self.bounding_box), ("plot_window", self.plot_window)):
            if box is not None and not (box[0] < box[1] and box[2] < box[3]):
                raise ValueError(f"{label} must be (x_min, x_max, y_min, y_max), not {box}")
        return self

    @property
    def in_channels(self) -> int:
        return len(self.input_fields)

    @property
    def out_channels(self) -> int:
        return len(self.output_fields)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
