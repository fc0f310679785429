"""Typed run configuration: defaults < model preset < command-line options < ``--set``.

``--set key=value`` addresses one of three sections: ``model.<hyperparameter>`` (the
model builder's keyword arguments), ``train.<field>`` (:class:`TrainConfig`) and
``data.<field>`` (the dataset family's options dataclass). Values are parsed as JSON
(``3``, ``0.5``, ``true``, ``null``, ``[16,16]``), otherwise taken as strings, and
checked against the field's type. Unknown keys and bad values raise a ConfigError
before any work is done.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from opbench.errors import ConfigError, unknown_name

SECTIONS = ("model", "train", "data")


@dataclass
class TrainConfig:
    """Trainer settings. Schedules are expressed as fractions of the epoch budget.

    Attributes:
        epochs: epoch budget.
        batch_size: training batch size.
        eval_batch_size: batch size for validation and test.
        optimizer: ``adam`` or ``adamw``.
        lr, weight_decay: optimiser settings.
        schedule: ``step`` (×gamma at each milestone), ``cosine`` (to lr·min_lr_ratio) or
            ``constant``; evaluated per optimiser step so that ``--epochs 3`` still decays.
        milestones: step-schedule milestones as fractions of the total number of steps.
        gamma: step-schedule factor.
        min_lr_ratio: final learning rate of the cosine schedule, relative to ``lr``.
        loss: training loss name (see :mod:`opbench.train.losses`), computed in
            normalised units.
        grad_clip: clip the global gradient norm to this value (``null`` disables).
        patience: stop after this many epochs without validation improvement (``null``
            disables early stopping).
        max_minutes: wall-clock budget for training; the run stops cleanly and is
            recorded with status ``budget``. Schedules then advance with
            max(step / total steps, elapsed / budget), so a model compared at equal
            wall-clock still decays its learning rate (such runs are not bitwise
            reproducible: their schedule depends on the machine's speed).
        amp: bfloat16 autocast on CUDA (ignored on CPU, which trains in float32).
        data_weight: weight of the supervised loss (0 with ``physics_weight`` > 0 trains
            label-free).
        physics_weight: weight of the dataset's physics loss (ConDiff: the spectral residual
            Σ DST-I(A(k)u − f)² / Σ f², see :mod:`opbench.data.condiff.family`).
    """

    epochs: int = 25
    batch_size: int = 16
    eval_batch_size: int = 64
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    schedule: str = "step"
    milestones: list[float] = field(default_factory=lambda: [0.25, 0.5, 0.75])
    gamma: float = 0.5
    min_lr_ratio: float = 0.0
    loss: str = "rel_l2"
    grad_clip: float | None = 1.0
    patience: int | None = None
    max_minutes: float | None = None
    amp: bool = False
    data_weight: float = 1.0
    physics_weight: float = 0.0

    def __post_init__(self) -> None:
        from opbench.train.losses import LOSSES
        from opbench.train.optim import OPTIMIZERS, SCHEDULES

        positive = {
            "epochs": self.epochs >= 0,
            "batch_size": self.batch_size >= 1,
            "eval_batch_size": self.eval_batch_size >= 1,
            "lr": self.lr > 0,
            "weight_decay": self.weight_decay >= 0,
            "gamma": self.gamma > 0,
            "min_lr_ratio": 0 <= self.min_lr_ratio <= 1,
            "grad_clip": self.grad_clip is None or self.grad_clip > 0,
            "patience": self.patience is None or self.patience >= 1,
            "max_minutes": self.max_minutes is None or self.max_minutes > 0,
            "data_weight": self.data_weight >= 0,
            "physics_weight": self.physics_weight >= 0,
        }
        for name, ok in positive.items():
            if not ok:
                raise ConfigError(f"train.{name}={getattr(self, name)!r} is out of range")
        if self.data_weight == 0 and self.physics_weight == 0:
            raise ConfigError("train.data_weight and train.physics_weight are both 0: no loss")
        if not all(0 < m < 1 for m in self.milestones):
            raise ConfigError(f"train.milestones must be fractions in (0, 1): {self.milestones}")
        OPTIMIZERS.get(self.optimizer)
        SCHEDULES.get(self.schedule)
        LOSSES.get(self.loss)


def require_int(name: str, value: Any, minimum: int, *, optional: bool = False) -> None:
    """ConfigError unless ``value`` is an int (not a bool) ≥ ``minimum``, or ``None`` when
    ``optional``; ``name`` is how the user spells the option (``data.n_train``)."""
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        unset = " or unset" if optional else ""
        raise ConfigError(f"{name} must be an integer >= {minimum}{unset}, got {value!r}.")


def parse_value(text: str) -> Any:
    """JSON value if ``text`` parses as JSON, otherwise the string itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_overrides(items: list[str]) -> dict[str, dict[str, Any]]:
    """``["model.width=64", "train.lr=3e-4"]`` → ``{"model": {"width": 64}, "train": ...}``."""
    sections: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for item in items:
        key, sep, value = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot or not name:
            raise ConfigError(
                f"--set {item!r}: expected SECTION.KEY=VALUE with SECTION one of "
                f"{', '.join(SECTIONS)} (e.g. train.lr=3e-4)"
            )
        if section not in SECTIONS:
            raise unknown_name("--set section", section, SECTIONS)
        sections[section][name] = parse_value(value.strip())
    return sections


def _matches(value: Any, annotation: Any) -> tuple[bool, Any]:
    """Whether ``value`` fits ``annotation`` (after int → float promotion), and the value."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(annotation):
            ok, converted = _matches(value, option)
            if ok:
                return True, converted
        return False, value
    if annotation is type(None):
        return value is None, value
    if origin in (list, tuple):
        (item_type, *_) = typing.get_args(annotation) or (Any,)
        if not isinstance(value, list):
            return False, value
        converted = []
        for item in value:
            ok, item = _matches(item, item_type)
            if not ok:
                return False, value
            converted.append(item)
        return True, converted
    if annotation is Any:
        return True, value
    if annotation is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return ok, float(value) if ok else value
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    return isinstance(value, annotation), value


def build_dataclass(cls: type, values: dict[str, Any], section: str) -> Any:
    """Instantiate dataclass ``cls`` from ``values``, checking names and types."""
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    checked = {}
    for name, value in values.items():
        if name not in fields:
            raise unknown_name(f"{section} option", name, fields)
        ok, converted = _matches(value, hints[name])
        if not ok:
            raise ConfigError(
                f"{section}.{name}={value!r} is not a valid {_type_name(hints[name])}"
            )
        checked[name] = converted
    return cls(**checked)


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def to_dict(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)
