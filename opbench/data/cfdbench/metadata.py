"""The CFDBench family's dataset metadata (the run record's ``dataset`` section)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from opbench.data.metadata import FamilyInfo, SplitInfo


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class CaseSplit(SplitInfo):
    """The reference's case split (independent of every seed), with the test case names."""

    model_config = ConfigDict(extra="forbid")

    unit: Literal["case"] = "case"
    test_cases: list[str]


class TimeStep(_Section):
    """The time step of a pair: k frames of ``frame_dt`` seconds, where ``frame_dt`` came
    from (an option, the generator's sidecar or the published spacing)."""

    frame_dt: float = Field(gt=0)
    frame_dt_source: str
    k: int = Field(ge=1)
    delta_t: float = Field(gt=0)


class CaseParameters(_Section):
    """The case parameters fed as constant channels, standardised with training statistics
    (``std`` 1 where a parameter is ``constant`` in training), or with those of the trained
    config (``scaled_as``) for a test on another config."""

    keys: list[str]
    scaling: str
    mean: list[float]
    std: list[float]
    constant: list[str] = Field(default_factory=list)
    scaled_as: str | None = None


class SplitCounts(_Section):
    """A count per split (pairs, samples)."""

    train: int = Field(ge=0)
    val: int = Field(ge=0)
    test: int = Field(ge=0)


class CFDBenchInfo(FamilyInfo):
    """CFDBench metadata: case split, time step, frame shape, case parameters, and per task
    the training examples the cases make.

    Attributes:
        pairs, pairs_dropped_steady, steady_tol, target_divergence: ``autoregressive``:
            the (t, t + Δt) pairs kept and dropped by the steady-state cut-off, the cut-off,
            and the true frames' mean |∇·u| over the test pairs.
        samples: ``nonautoregressive``: the (case, frame) samples per split.
    """

    split: CaseSplit
    time: TimeStep
    frame_shape: list[int]
    params: CaseParameters
    pairs: SplitCounts | None = None
    pairs_dropped_steady: SplitCounts | None = None
    steady_tol: float | None = Field(default=None, gt=0)
    target_divergence: float | None = None
    samples: SplitCounts | None = None

    def task_options(self) -> dict[str, Any]:
        return {"k": self.time.k, "frame_dt": self.time.frame_dt, "steady_tol": self.steady_tol}
