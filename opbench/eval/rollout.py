"""Multi-step (autoregressive) evaluation: feed each prediction back as the next input.

From the inputs x₀ of each test case the surrogate predicts the state after one step, ŝ₁;
the next input is x₀ with its state channels replaced by ŝ₁ on the masked (fluid) cells,
while walls, inlet and obstacle cells keep their known boundary values; and so on for S
steps. Step s is scored against the true frame s·k after the start with the task's
metrics, per case, over the cases that have that frame (CFDBench's multi-step test: 20
steps from frame 0 of every test case).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from opbench.data.base import MetricFn, Rollout
from opbench.models.surrogate import Surrogate


@torch.no_grad()
def roll_out(
    surrogate: Surrogate, rollout: Rollout, batch_size: int, device: torch.device
) -> Tensor:
    """Predicted states (N, S, C_out, ...) in physical units, on the CPU."""
    surrogate.eval()
    steps = rollout.targets.shape[1]
    channels = list(rollout.state_channels)
    outputs = []
    for batch in rollout.start.batches(batch_size):
        batch = {name: t.to(device) for name, t in batch.items()}
        fluid = batch["mask"] > 0 if "mask" in batch else None
        trajectory = []
        for _ in range(steps):
            state = surrogate(batch).float()
            x = batch["x"].clone()
            known = x[:, channels]
            x[:, channels] = state if fluid is None else torch.where(fluid, state, known)
            trajectory.append(x[:, channels].cpu())
            batch = {**batch, "x": x}
        outputs.append(torch.stack(trajectory, dim=1))
    return torch.cat(outputs)


@dataclass
class RolloutScores:
    """Per-step error curves: ``curves[metric]`` lists the mean over cases at each step."""

    curves: dict[str, list[float | None]]

    def summary(self, rollout: Rollout) -> dict[str, Any]:
        """The run record's ``rollout`` section."""
        return {
            "steps": int(rollout.targets.shape[1]),
            "delta_t": rollout.delta_t,
            "k": rollout.k,
            "n_cases": int(rollout.targets.shape[0]),
            "n_per_step": [int(n) for n in rollout.valid.sum(dim=0)],
            "curves": self.curves,
        }


def persistence_curve(rollout: Rollout, metric: MetricFn) -> list[float | None]:
    """The metric of the identity baseline at every step: the start state held fixed."""
    start = rollout.start.tensors["x"][:, list(rollout.state_channels)]
    held = start[:, None].expand_as(rollout.targets)
    return _curve(held, rollout, metric)


def _curve(predictions: Tensor, rollout: Rollout, metric: MetricFn) -> list[float | None]:
    """Mean of ``metric`` over the valid cases at each step (None where none is valid);
    the batch is the start batch of those cases with the true frame of the step as ``y``."""
    curve: list[float | None] = []
    for step in range(rollout.targets.shape[1]):
        valid = rollout.valid[:, step]
        if not valid.any():
            curve.append(None)
            continue
        batch = {**rollout.start.select(valid.nonzero()[:, 0]).tensors}
        batch["y"] = rollout.targets[valid, step]
        values = metric(predictions[valid, step], batch)
        curve.append(float(values.double().mean()))
    return curve


def score_rollout(
    surrogate: Surrogate,
    rollout: Rollout,
    metrics: Mapping[str, MetricFn],
    batch_size: int,
    device: torch.device,
) -> RolloutScores:
    """Roll out and score every step with ``metrics`` (means over the valid cases)."""
    predictions = roll_out(surrogate, rollout, batch_size, device)
    return RolloutScores({name: _curve(predictions, rollout, fn) for name, fn in metrics.items()})
