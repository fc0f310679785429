"""Resolution-transfer tables: each model trained on one grid, scored on the same test
samples at another grid (``opbench run ... --transfer-config``, :mod:`opbench.eval.transfer`).

A table is (family, trained config, task, transfer config). A row is a board row (the same
grouping as :mod:`opbench.results.leaderboard`) whose counted runs all scored the transfer
config. It shows the in-distribution error, the error of the model applied directly on the
other grid and that of the interpolation yardstick (mean ± std over seeds), the data's
discretisation gap, and the verdict of a paired hierarchical bootstrap of direct against
yardstick over seeds and test samples (:func:`opbench.eval.statistics.row_draws`,
two-sided at α): ``beats the yardstick``, ``worse than the yardstick`` or ``tie``. A model
that cannot take the other grid shows why instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from opbench.eval.statistics import ALPHA, difference_p_value, row_draws
from opbench.results.leaderboard import Record, Stat, counted_groups, stacked_errors


@dataclass(frozen=True)
class TransferRow:
    """One model's errors on another grid of its test samples (see the module doc)."""

    family: str
    config: str
    task: str
    transfer_config: str
    model: str
    preset: str
    hparams: str
    budget: str
    metric: str
    shape: tuple[int, ...]
    trained_shape: tuple[int, ...]
    in_distribution: Stat
    direct: Stat
    yardstick: Stat
    gap: float | None
    not_applicable: str | None
    verdict: str
    n: int


def _verdict(runs: Sequence[Record], split: str, direct: Stat, yardstick: Stat) -> str:
    """The bootstrap verdict of direct against yardstick (module doc)."""
    if direct.mean is None or yardstick.mean is None:
        return "—"
    pairs = [
        stacked_errors([r["transfer"][split][f"{kind}_values"] for r in runs])
        for kind in ("direct", "yardstick")
    ]
    if pairs[0] is None or pairs[1] is None:
        return "untested"
    draws = row_draws({"direct": pairs[0], "yardstick": pairs[1]})
    if difference_p_value(draws["direct"], draws["yardstick"]) >= ALPHA:
        return "tie"
    return "beats the yardstick" if direct.mean < yardstick.mean else "worse than the yardstick"


def transfer_rows(records: Sequence[Record]) -> list[TransferRow]:
    """Every transfer table's rows, sorted by table, then by the direct error (models that
    cannot take the grid last), then by model."""
    rows = []
    for key, runs in counted_groups(records):
        family, config, task, _, model, preset, hparams, budget = key
        metric = runs[0]["primary_metric"]
        splits = set.intersection(*(set(r.get("transfer") or {}) for r in runs))
        for split in sorted(splits):
            scores = [r["transfer"][split] for r in runs]
            direct = Stat.of(s["direct"] for s in scores)
            yardstick = Stat.of(s["yardstick"] for s in scores)
            reasons = {s["not_applicable"] for s in scores if s["not_applicable"]}
            gaps = {s["gap"] for s in scores}
            rows.append(
                TransferRow(
                    family=family,
                    config=config,
                    task=task,
                    transfer_config=split,
                    model=model,
                    preset=preset,
                    hparams=hparams,
                    budget=budget,
                    metric=metric,
                    shape=tuple(scores[0]["shape"]),
                    trained_shape=tuple(scores[0]["trained_shape"]),
                    in_distribution=Stat.of(r["metrics"]["test"][metric]["mean"] for r in runs),
                    direct=direct,
                    yardstick=yardstick,
                    gap=gaps.pop() if len(gaps) == 1 else None,
                    not_applicable="; ".join(sorted(reasons)) or None,
                    verdict=_verdict(runs, split, direct, yardstick),
                    n=len(runs),
                )
            )
    return sorted(
        rows,
        key=lambda r: (
            (r.family, r.config, r.task, r.transfer_config),
            r.direct.mean is None,
            r.direct.mean or 0.0,
            r.model,
        ),
    )
