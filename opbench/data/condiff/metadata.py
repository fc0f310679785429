"""The ConDiff family's dataset metadata (the run record's ``dataset`` section)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from opbench.data.metadata import FamilyInfo, SplitInfo


class ConDiffSplit(SplitInfo):
    """The split: the first n_train / n_test samples, a seeded share held out for
    validation (see :func:`opbench.data.condiff.family.validation_indices`)."""

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(ge=0)
    val_fraction: float = Field(gt=0, lt=1)
    val_indices_hash: str


class InputMapping(BaseModel):
    """How the cell coefficients reach the model's vertex grid."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    k_to_vertex: Literal["average", "crop"]


class ConDiffInfo(FamilyInfo):
    """ConDiff metadata: the split, the input mapping and the grid g."""

    split: ConDiffSplit
    input_mapping: InputMapping
    grid: int = Field(ge=1)

    def task_options(self) -> dict[str, Any]:
        return {"k_to_vertex": self.input_mapping.k_to_vertex}
