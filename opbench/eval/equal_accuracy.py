"""The numerical solver at equal accuracy: its cost–accuracy curve, and a model's place on it.

Surrogates are too often compared with a solver run to full accuracy (McGreivy & Hakim,
Nature Machine Intelligence 2024). Here a model is compared with the family's own solver
stopped at the model's accuracy:

1. **Curve.** Every setting of the family's :class:`~opbench.data.base.SolverLadder` solves
   every test problem. Its point is (seconds per test sample, mean over the test samples of
   the primary metric against the targets), scored exactly as a model's predictions are.
   Time is throughput on the cores the model uses: ``workers`` processes (the torch
   thread count of the run) solve the problems in parallel after each has solved one
   (imports and first-call costs are warm-up, not timed); seconds per sample = wall time /
   test samples.
2. **Lower envelope.** A setting that is both slower than another and no more accurate
   never sets the baseline: the envelope keeps, in order of time, the points more accurate
   than every faster one (:func:`lower_envelope`).
3. **Equal accuracy.** For a model with mean error e, the solver's time at e is
   interpolated on the envelope, linearly in (log error, log time) between the two points
   that bracket e (:func:`solver_seconds_at`). The **speedup at equal accuracy** is that
   time over the model's batched inference time per sample, on the same cores. Where e is
   above the cheapest setting's error the model is less accurate than the cheapest solve:
   that is recorded, with no ratio; likewise (in principle) where e is below every
   setting's error.

The curve is measured (and cached) by :mod:`opbench.eval.solver_curve`; this module holds
the record's types and the arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from opbench.config import StrictModel

Position = Literal["on the curve", "less accurate than the cheapest setting", "beyond the curve"]
Timing = Literal["in the run", "timing pass"]
"""Where the model's inference was timed: at the end of its run (inside a sweep, other runs
may have shared the cores), or in a later timing pass (``opbench timing-pass``)."""


class SolverPoint(StrictModel):
    """One solver setting: seconds per test sample and mean error; ``envelope`` whether it
    is on the lower envelope."""

    name: str
    seconds_per_sample: float = Field(gt=0)
    error: float = Field(ge=0)
    envelope: bool


class SolverCurve(StrictModel):
    """The solver's cost–accuracy points on one test split, and where they were measured."""

    fingerprint: str
    metric: str
    n_samples: int = Field(ge=1)
    workers: int = Field(ge=1)
    cpu: str
    load_average: float = Field(ge=0)
    measured: str
    points: list[SolverPoint]
    not_applicable: dict[str, str] = Field(default_factory=dict)

    @property
    def envelope(self) -> list[SolverPoint]:
        """The envelope points, fastest first (their errors decrease)."""
        return sorted((p for p in self.points if p.envelope), key=lambda p: p.seconds_per_sample)


class EqualAccuracy(StrictModel):
    """A model against the solver curve of its test split (the record's section).

    ``solver_seconds_per_sample`` is the solver's interpolated time at ``model_error`` and
    ``speedup`` = that / ``model_seconds_per_sample``; both are ``None`` unless
    ``position`` is ``on the curve``."""

    model_error: float = Field(ge=0)
    model_seconds_per_sample: float = Field(gt=0)
    solver_seconds_per_sample: float | None
    speedup: float | None
    position: Position
    curve: SolverCurve
    timing: Timing = "in the run"
    load_average: float | None = Field(default=None, ge=0)

    def summary(self) -> str:
        """One line: the speedup at equal accuracy, or why there is none."""
        metric, cores = self.curve.metric, self.curve.workers
        if self.speedup is not None and self.solver_seconds_per_sample is not None:
            return (
                f"speedup at equal accuracy {self.speedup:.3g}× (at {metric} "
                f"{self.model_error:.3g}: solver {1e3 * self.solver_seconds_per_sample:.3g} "
                f"ms, model {1e3 * self.model_seconds_per_sample:.3g} ms per sample, "
                f"{cores} cores each)"
            )
        envelope = self.curve.envelope
        point = envelope[0] if self.position != "beyond the curve" else envelope[-1]
        return (
            f"no speedup at equal accuracy: {metric} {self.model_error:.3g} is "
            f"{self.position} ({point.name}: {metric} {point.error:.3g} in "
            f"{1e3 * point.seconds_per_sample:.3g} ms per sample)"
        )


def lower_envelope(points: Sequence[tuple[float, float]]) -> list[bool]:
    """For (seconds, error) points, whether each is on the lower envelope: strictly more
    accurate than every point at most as slow (ties in time go to the more accurate)."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1]))
    best, on = math.inf, [False] * len(points)
    for i in order:
        if points[i][1] < best:
            on[i], best = True, points[i][1]
    return on


def solver_seconds_at(
    envelope: Sequence[SolverPoint], error: float
) -> tuple[float | None, Position]:
    """The solver's time per sample at ``error`` on the envelope (fastest first), and where
    ``error`` lies: log-log interpolation between the bracketing points, exact at a point."""
    cheapest, finest = envelope[0], envelope[-1]
    if error > cheapest.error:
        return None, "less accurate than the cheapest setting"
    if error < finest.error:
        return None, "beyond the curve"
    for slow, fast in zip(envelope[1:], envelope[:-1], strict=True):
        if slow.error <= error <= fast.error:
            if error == fast.error or slow.error == 0:  # no log-log line to an exact point:
                return fast.seconds_per_sample, "on the curve"  # the faster end (conservative)
            share = math.log(fast.error / error) / math.log(fast.error / slow.error)
            log_time = (1 - share) * math.log(fast.seconds_per_sample) + share * math.log(
                slow.seconds_per_sample
            )
            return math.exp(log_time), "on the curve"
    return cheapest.seconds_per_sample, "on the curve"  # one point, error equal to it


def equal_accuracy(
    curve: SolverCurve,
    model_error: float,
    model_seconds_per_sample: float,
    timing: Timing = "in the run",
    load_average: float | None = None,
) -> EqualAccuracy:
    """The model (mean test error, inference seconds per sample, timed where ``timing``
    says at the 1-minute ``load_average``) against ``curve``."""
    seconds, position = solver_seconds_at(curve.envelope, model_error)
    return EqualAccuracy(
        model_error=model_error,
        model_seconds_per_sample=model_seconds_per_sample,
        solver_seconds_per_sample=seconds,
        speedup=None if seconds is None else seconds / model_seconds_per_sample,
        position=position,
        curve=curve,
        timing=timing,
        load_average=load_average,
    )
