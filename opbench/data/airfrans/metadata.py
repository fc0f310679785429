"""The AirfRANS family's dataset metadata (the run record's ``dataset`` section)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from opbench.data.metadata import FamilyInfo, SplitInfo


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SimulationSplit(SplitInfo):
    """The manifest's split, counted in simulations."""

    model_config = ConfigDict(extra="forbid")

    unit: Literal["simulation"] = "simulation"


class NodeCounts(_Section):
    min: int = Field(ge=0)
    max: int = Field(ge=0)


class CoefficientRanges(_Section):
    """The ranges of the true force coefficients (from each simulation's own fields)."""

    cd_range: tuple[float, float]
    cl_range: tuple[float, float]


class AirfRANSInfo(FamilyInfo):
    """AirfRANS metadata.

    Attributes:
        n_points: nodes drawn per simulation per training step.
        nodes: the smallest and largest simulation.
        scored_fields: the output fields the field MSEs average (ν_t is not scored on
            generated data).
        target_std: the training standard deviation of each output field (the field MSEs'
            units).
        true_coefficients: ranges of the true C_D and C_L.
    """

    split: SimulationSplit
    n_points: int = Field(ge=1)
    nodes: NodeCounts
    scored_fields: list[str]
    target_std: list[float]
    true_coefficients: CoefficientRanges

    def task_options(self) -> dict[str, Any]:
        return {"n_points": self.n_points}
