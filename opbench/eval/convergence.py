"""Evidence that a trained run converged, judged on the validation split only.

Two checks, after the published board's protocol (``leaderboards/README.md``):

- **Plateau** (per run, from its own history). The learning rate reaches its minimum,
  which is no lower than lr₀ · :data:`MIN_LR_FLOOR` (lr₀/100), and stays there over the
  last W = max(:data:`WINDOW_EPOCHS`, ⌈:data:`WINDOW_FRACTION` · E⌉) of the E epochs run;
  over those W epochs the best validation value improves by less than
  :data:`PLATEAU_THRESHOLD` (1 %)::

      improvement = (min val[: E−W] − min val) / min val[: E−W]

- **Doubling** (per model and table, one seed). The same seed re-run at twice the epoch
  budget (a ``check`` record, same schedule stretched over twice the steps) improves the
  best validation value by less than :data:`DOUBLING_THRESHOLD` (5 %), one-sided::

      improvement = (best_val(E) − best_val(2E)) / best_val(E)

A row of the board is *converged* when every one of its runs passes the plateau check and
its model's doubling check for that table passes. Both checks use the validation metric
(lower is better: every primary metric the trainer selects on is an error).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

MIN_LR_FLOOR = 0.01
"""The minimum learning rate may be no lower than lr₀ times this (lr₀/100)."""
WINDOW_EPOCHS = 10
"""The plateau window is at least this many epochs …"""
WINDOW_FRACTION = 0.2
"""… and at least this share of the epochs run."""
PLATEAU_THRESHOLD = 0.01
"""The best validation value may improve by less than this share over the window."""
DOUBLING_THRESHOLD = 0.05
"""Twice the budget may improve the best validation value by less than this share."""
_RTOL = 1e-6
"""Relative tolerance of learning-rate comparisons (rates are logged as floats)."""


class _Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PlateauCheck(_Evidence):
    """The validation plateau at the end of a run (module docstring)."""

    min_lr_reached: bool = Field(
        description="the learning rate sat at its minimum (>= lr0/100) over the whole window"
    )
    min_lr_ratio: float | None = Field(description="the run's minimum learning rate / lr0")
    window_epochs: int = Field(ge=1)
    relative_improvement: float | None = Field(
        description="(best val before the window - best val) / best val before the window; "
        "null when the run is not longer than the window"
    )
    threshold: float
    passed: bool


class DoublingCheck(_Evidence):
    """The same seed re-run at twice the budget (a ``check`` record)."""

    check_run_id: str
    check_epochs: int = Field(ge=1)
    relative_improvement: float
    threshold: float
    passed: bool


class Convergence(_Evidence):
    """A trained run's convergence evidence; ``converged`` once both checks are known."""

    plateau: PlateauCheck | None = None
    doubling: DoublingCheck | None = None
    converged: bool | None = None

    def with_doubling(self, doubling: DoublingCheck) -> Convergence:
        """This evidence with the model's doubling check attached."""
        passed = self.plateau is not None and self.plateau.passed and doubling.passed
        return self.model_copy(update={"doubling": doubling, "converged": passed})


def window_epochs(epochs_run: int) -> int:
    """W = max(10, ⌈0.2 · E⌉)."""
    return max(WINDOW_EPOCHS, math.ceil(WINDOW_FRACTION * epochs_run))


def plateau_check(
    vals: Sequence[float | None], lrs: Sequence[float | None], lr0: float
) -> PlateauCheck:
    """The plateau check of a run whose epochs ended with validation values ``vals`` and
    learning rates ``lrs`` (the rate of each epoch's last step), started at ``lr0``.

    A missing validation value (a diverged epoch) counts as no improvement; a run not
    longer than its window cannot pass.
    """
    n = len(vals)
    window = window_epochs(n)
    known_lrs = [lr for lr in lrs if lr is not None]
    lowest = min(known_lrs) if known_lrs else None
    at_minimum = lowest is not None and all(
        lr is not None and lr <= lowest * (1 + _RTOL) for lr in lrs[max(n - window, 0) :]
    )
    floor_ok = lowest is not None and lowest >= lr0 * MIN_LR_FLOOR * (1 - _RTOL)
    reached = n > window and at_minimum and floor_ok
    improvement = None
    before = [v for v in vals[: n - window] if v is not None]
    every = [v for v in vals if v is not None]
    if n > window and before and min(before) > 0:
        improvement = (min(before) - min(every)) / min(before)
    return PlateauCheck(
        min_lr_reached=reached,
        min_lr_ratio=None if lowest is None else lowest / lr0,
        window_epochs=window,
        relative_improvement=improvement,
        threshold=PLATEAU_THRESHOLD,
        passed=reached and improvement is not None and improvement < PLATEAU_THRESHOLD,
    )


def doubling_check(
    best_val: float, check_best_val: float, check_run_id: str, check_epochs: int
) -> DoublingCheck:
    """The doubling check from the board run's best validation value and that of its
    ``check`` run at twice the budget (same seed)."""
    improvement = (best_val - check_best_val) / best_val
    return DoublingCheck(
        check_run_id=check_run_id,
        check_epochs=check_epochs,
        relative_improvement=improvement,
        threshold=DOUBLING_THRESHOLD,
        passed=improvement < DOUBLING_THRESHOLD,
    )
