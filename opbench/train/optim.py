"""Optimisers and learning-rate schedules (``torch.optim`` and ``torch.optim.lr_scheduler``).

Progress-based schedules are functions of the training progress p ∈ [0, 1] that return the
factor applied to the base learning rate, wrapped in :class:`~torch.optim.lr_scheduler.LambdaLR`.
The progress is ``max(step / total_steps, elapsed / wall-clock budget)``, so a schedule
scales with the epoch budget (``--epochs 3`` still decays) and follows a binding wall-clock
budget. ``onecycle`` is PyTorch's :class:`~torch.optim.lr_scheduler.OneCycleLR` (Smith &
Topin 2019), the AirfRANS reference's schedule; it follows the steps only.

Adam and AdamW update all parameters in one call per step instead of PyTorch's CPU default,
a Python loop over them (scot has 329 parameter tensors): the fused kernel
(``fused=True``) when every parameter is a real floating-point tensor, else (FNO's complex
spectral weights, which the fused kernel refuses) the multi-tensor ``foreach`` update.
Both compute the loop's update in a different order: after a few steps the parameters
agree with the loop's to float32 rounding (``tests/test_optim.py``). On an optimiser step
of the 32² ``small`` presets the fused kernel takes 0.2–0.4 of the ``foreach`` time
(scot: 9 ms → 2.5 ms per step, one thread).

The fused CPU kernel writes the parameters without bumping their version counters, which
autograd's saved-tensor checks and DeepONet/MultiONet's trunk cache (keyed on the trunk
parameters' versions, ``opbench/models/onet.py``) rely on. A post-step hook bumps them
(``torch.autograd.graph.increment_version``), so a registered optimiser's step counts as
an in-place change of every parameter, as the loop's does.

A schedule is built with ``last_step`` (the number of optimiser steps already taken), so a
resumed run continues where it stopped without storing the scheduler's state.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, OneCycleLR

from opbench.config import TrainConfig
from opbench.registry import Registry
from opbench.train.losses import LOSSES

OptimizerFactory = Callable[[Iterable[torch.nn.Parameter], TrainConfig], torch.optim.Optimizer]
Progress = Callable[[int], float]
"""``progress(step)``: the training progress p after ``step`` optimiser steps."""
ScheduleFactory = Callable[[torch.optim.Optimizer, TrainConfig, int, Progress, int], LRScheduler]
"""``factory(optimizer, config, total_steps, progress, last_step) -> scheduler``."""

OPTIMIZERS: Registry[OptimizerFactory] = Registry("optimizer")
SCHEDULES: Registry[ScheduleFactory] = Registry("schedule")


def check_names(config: TrainConfig) -> None:
    """ConfigError (with close names) unless the optimiser, schedule and loss of
    ``config`` are registered; called before any work starts and when the trainer is
    built."""
    OPTIMIZERS.get(config.optimizer)
    SCHEDULES.get(config.schedule)
    LOSSES.get(config.loss)


def one_call_optimizer(
    optimizer_class: type[torch.optim.Optimizer], params: Iterable[torch.nn.Parameter], **kwargs
) -> torch.optim.Optimizer:
    """``optimizer_class(params, **kwargs)`` with the one-call update: ``fused=True`` when
    every parameter is a real floating-point tensor (its step then bumps the parameters'
    version counters through a post-step hook), else ``foreach=True`` (module docstring)."""
    params = list(params)
    if not all(p.is_floating_point() for p in params):
        return optimizer_class(params, foreach=True, **kwargs)
    optimizer = optimizer_class(params, fused=True, **kwargs)
    optimizer.register_step_post_hook(_bump_versions)
    return optimizer


def _bump_versions(optimizer: torch.optim.Optimizer, args: object, kwargs: object) -> None:
    """Mark every parameter of ``optimizer`` as changed in place (the fused kernel does not)."""
    torch.autograd.graph.increment_version([p for g in optimizer.param_groups for p in g["params"]])


@OPTIMIZERS.register("adam")
def adam(params: Iterable[torch.nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """Adam with L2 weight decay added to the gradient (torch.optim.Adam)."""
    return one_call_optimizer(
        torch.optim.Adam, params, lr=config.lr, weight_decay=config.weight_decay
    )


@OPTIMIZERS.register("adamw")
def adamw(params: Iterable[torch.nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW, decoupled weight decay (Loshchilov & Hutter 2019)."""
    return one_call_optimizer(
        torch.optim.AdamW, params, lr=config.lr, weight_decay=config.weight_decay
    )


def constant_factor(progress: float, config: TrainConfig) -> float:
    """factor = 1."""
    return 1.0


def step_factor(progress: float, config: TrainConfig) -> float:
    """factor = γ^(number of milestones m with m ≤ p)."""
    return config.gamma ** sum(progress >= m for m in config.milestones)


def cosine_factor(progress: float, config: TrainConfig) -> float:
    """factor = r + (1 − r)·(1 + cos(π p))/2, r = min_lr_ratio (cosine annealing)."""
    r = config.min_lr_ratio
    return r + (1 - r) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def _set_initial_lr(optimizer: torch.optim.Optimizer, config: TrainConfig) -> None:
    """The base learning rate of every group, so that a resumed schedule (whose optimiser
    state holds the decayed rate) restarts from ``config.lr``."""
    for group in optimizer.param_groups:
        group["initial_lr"] = config.lr


def _progress_schedule(factor: Callable[[float, TrainConfig], float]) -> ScheduleFactory:
    def build(
        optimizer: torch.optim.Optimizer,
        config: TrainConfig,
        total_steps: int,
        progress: Progress,
        last_step: int,
    ) -> LRScheduler:
        _set_initial_lr(optimizer, config)
        return LambdaLR(optimizer, lambda step: factor(progress(step), config), last_step - 1)

    build.__doc__ = factor.__doc__
    return build


SCHEDULES.add("constant", _progress_schedule(constant_factor))
SCHEDULES.add("step", _progress_schedule(step_factor))
SCHEDULES.add("cosine", _progress_schedule(cosine_factor))


@SCHEDULES.register("onecycle")
def onecycle(
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    total_steps: int,
    progress: Progress,
    last_step: int,
) -> LRScheduler:
    """OneCycleLR: cosine warm-up from lr/25 to lr over ``warmup_fraction`` of the steps,
    then cosine annealing to lr/(25·10⁴) (PyTorch's defaults)."""
    if last_step > 0:  # OneCycleLR reads these back from the resumed param groups
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", config.lr / 25)
            group.setdefault("max_lr", config.lr)
            group.setdefault("min_lr", config.lr / 25e4)
    return OneCycleLR(
        optimizer,
        max_lr=config.lr,
        total_steps=total_steps,
        pct_start=config.warmup_fraction,
        last_epoch=last_step - 1,
    )
