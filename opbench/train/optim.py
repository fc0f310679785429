"""Optimisers and learning-rate schedules.

Schedules are functions of the training progress p = step / total_steps ∈ [0, 1] that
return the factor applied to the base learning rate, so a schedule scales with the epoch
budget (``--epochs 3`` still decays) and needs no state of its own to resume.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

from opbench.config import TrainConfig
from opbench.registry import Registry

OptimizerFactory = Callable[[Iterable[torch.nn.Parameter], TrainConfig], torch.optim.Optimizer]
Schedule = Callable[[float, TrainConfig], float]

OPTIMIZERS: Registry[OptimizerFactory] = Registry("optimizer")
SCHEDULES: Registry[Schedule] = Registry("schedule")


@OPTIMIZERS.register("adam")
def adam(params: Iterable[torch.nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """Adam with L2 weight decay added to the gradient (torch.optim.Adam)."""
    return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)


@OPTIMIZERS.register("adamw")
def adamw(params: Iterable[torch.nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW, decoupled weight decay (Loshchilov & Hutter 2019)."""
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


@SCHEDULES.register("constant")
def constant(progress: float, config: TrainConfig) -> float:
    """factor = 1."""
    return 1.0


@SCHEDULES.register("step")
def step(progress: float, config: TrainConfig) -> float:
    """factor = γ^(number of milestones m with m ≤ p)."""
    return config.gamma ** sum(progress >= m for m in config.milestones)


@SCHEDULES.register("cosine")
def cosine(progress: float, config: TrainConfig) -> float:
    """factor = r + (1 − r)·(1 + cos(π p))/2, r = min_lr_ratio (cosine annealing)."""
    r = config.min_lr_ratio
    return r + (1 - r) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
