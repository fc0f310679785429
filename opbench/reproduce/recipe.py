"""What a reproduction declares: published numbers, model recipes, budgets, caveats.

A :class:`Reproduction` is one paper's baseline table: the numbers the paper published
(each with its source: the paper, table or figure), the opbench models that stand for the
paper's, each with the recipe that trains it as the paper did (a model preset plus
overrides where the preset differs, ``{"model": {...}, "train": {...}}``), and three
budgets:

- ``tiny``: a smoke test (a few generated samples, one or two epochs) that finishes in
  about a minute on a laptop CPU; its numbers say nothing about the paper's.
- ``small``: a modest generated set and the full recipe capped in wall-clock time per run;
  trends, not digits.
- ``paper``: the recipe as published (a GPU job).

Reproductions register in :data:`REPRODUCTIONS`, one module per paper.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opbench.config import BudgetName, check_seed, choice, merge
from opbench.errors import ConfigError
from opbench.registry import Registry


@dataclass(frozen=True)
class Published:
    """A published number: ``metric`` of ``model`` on ``config``/``task``.

    Attributes:
        value, std: as published (``std`` ``None`` where the paper gives none).
        source: where it comes from, e.g. ``ConDiff notebooks``.
        note: how to read it, e.g. ``±3 % read-off`` or ``scored on u only``.
    """

    config: str
    task: str
    model: str
    metric: str
    value: float
    std: float | None = None
    source: str = ""
    note: str = ""


@dataclass(frozen=True)
class ModelRecipe:
    """How one opbench model is trained as in the paper.

    Attributes:
        model: registry name.
        task: the family task it runs on.
        preset: the model preset the recipe starts from (``paper``).
        overrides: ``{"model": {...}, "train": {...}}`` where the preset differs from the
            paper's recipe.
        config_overrides: further overrides for one config (e.g. a width per config).
        configs: the configs it runs on (``None``: every config of the budget).
        note: deviations from the paper that no override removes.
    """

    model: str
    task: str
    preset: str = "paper"
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    config_overrides: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    configs: tuple[str, ...] | None = None
    note: str = ""

    def overrides_for(self, config: str) -> dict[str, Any]:
        return merge(self.overrides, self.config_overrides.get(config, {}))

    def runs_on(self, config: str) -> bool:
        return self.configs is None or config in self.configs


@dataclass(frozen=True)
class Budget:
    """What one budget runs.

    Attributes:
        configs: the configs it covers.
        generate: options for the family's ``generate`` when the published data is absent.
        train: trainer settings for every trained run (not for fitted baselines).
        data: data options for every run, on published and generated data alike.
        description: one line for the table.
    """

    configs: tuple[str, ...]
    generate: Mapping[str, Any]
    train: Mapping[str, Any] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    def overrides(self, fitted: bool) -> dict[str, Any]:
        """This budget's overrides for a run (``train`` only if the model is trained)."""
        return {"train": {} if fitted else dict(self.train), "data": dict(self.data)}


DataCheck = Callable[[Path, str], bool]
"""``check(data_dir, config)``: whether ``data_dir`` holds the published files of ``config``."""


@dataclass(frozen=True)
class Reproduction:
    """One paper's baselines, as opbench reproduces them.

    Attributes:
        name: registry name (``condiff``).
        title: the paper, for the table heading.
        family: the opbench dataset family.
        models: the model recipes, in table order.
        published: the published numbers.
        metrics: task → the metrics shown in the table (one row each per model and config).
        budgets: ``tiny``, ``small`` and ``paper``.
        has_published_data: see :data:`DataCheck`.
        caveats: what makes the comparison inexact, printed under the table.
    """

    name: str
    title: str
    family: str
    models: tuple[ModelRecipe, ...]
    published: tuple[Published, ...]
    metrics: Mapping[str, tuple[str, ...]]
    budgets: Mapping[str, Budget]
    has_published_data: DataCheck
    caveats: tuple[str, ...] = ()

    def budget(self, name: BudgetName | str) -> Budget:
        return self.budgets[choice(BudgetName, name, f"budget of reproduction {self.name!r}")]

    def groups(self, budget: Budget) -> list[tuple[ModelRecipe, str]]:
        """(recipe, config) pairs the budget runs, config-major in table order."""
        return [(r, c) for c in budget.configs for r in self.models if r.runs_on(c)]

    def published_value(self, config: str, task: str, model: str, metric: str) -> Published | None:
        for entry in self.published:
            if (entry.config, entry.task, entry.model, entry.metric) == (
                config,
                task,
                model,
                metric,
            ):
                return entry
        return None


REPRODUCTIONS: Registry[Reproduction] = Registry("reproduction")


def register(reproduction: Reproduction) -> Reproduction:
    """Add ``reproduction`` to :data:`REPRODUCTIONS` (checking it names every budget)."""
    missing = [b.value for b in BudgetName if b.value not in reproduction.budgets]
    if missing:
        raise ValueError(f"reproduction {reproduction.name!r} lacks the budgets {missing}")
    REPRODUCTIONS.add(reproduction.name, reproduction)
    return reproduction


def check_seeds(seeds: Sequence[int]) -> list[int]:
    """The distinct seeds in order; ConfigError for an empty list or a non-integer seed."""
    seeds = list(seeds)
    if not seeds:
        raise ConfigError("--seeds is empty: give at least one seed, e.g. --seeds 0,1,2")
    for seed in seeds:
        check_seed(seed, "--seeds")
    return list(dict.fromkeys(seeds))
