"""Distribution-shift tables: each model's error on its training config and on a shifted
test config (``opbench run ... --test-config``), side by side.

A table is (family, trained config, task, test config). A row is a board row (the same
grouping as :mod:`opbench.results.leaderboard`) whose counted runs all scored the test
config; it shows the in-distribution error and the shifted error (mean ± std over seeds),
their ratio (shifted mean ÷ in-distribution mean), and the inputs in which the shifted
data leaves the training data (parameters constant in training: extrapolation). Rows are
ranked on the shifted error exactly as the board ranks the in-distribution error
(:func:`~opbench.results.leaderboard.places`: tested, tie-aware ranks where every row keeps
its per-sample shifted errors on one shifted data set).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from opbench.results.leaderboard import (
    Key,
    Record,
    Stat,
    counted_groups,
    may_rank,
    places,
    stacked_errors,
)

PREFIX = "test@"


@dataclass(frozen=True)
class ShiftRow:
    """One model's in-distribution and shifted error.

    Attributes:
        family, config, task, model, preset, hparams, budget: as a board row.
        test_config: the shifted config.
        metric: the primary metric.
        in_distribution, shifted: the metric's mean over test samples, over seeds.
        ratio: ``shifted.mean / in_distribution.mean``.
        extrapolated: inputs constant in training that the shifted data varies.
        rank, tied, tested, interval: the rank on the shifted error (as on the board).
    """

    family: str
    config: str
    task: str
    test_config: str
    model: str
    preset: str
    hparams: str
    budget: str
    metric: str
    in_distribution: Stat
    shifted: Stat
    ratio: float | None
    extrapolated: tuple[str, ...]
    n: int
    ranked: bool = True
    rank: int = 0
    tied: bool = False
    tested: bool = False
    interval: tuple[float, float] | None = None

    @property
    def rank_label(self) -> str:
        """``2``, ``2=`` when shared, ``–`` for a row the board does not rank."""
        if not self.ranked:
            return "–"
        return f"{self.rank}=" if self.tied else str(self.rank)


@dataclass(frozen=True)
class _Entry:
    row: ShiftRow
    errors: np.ndarray | None
    fingerprint: str | None


def _entries(records: Sequence[Record]) -> dict[Key, dict[Key, _Entry]]:
    """Shift table (family, config, task, test config) → row (model, preset, hparams,
    budget) → its unranked row, per-sample shifted errors and shifted data fingerprint."""
    tables: dict[Key, dict[Key, _Entry]] = {}
    for key, runs in counted_groups(records):
        family, config, task, _, model, preset, hparams, budget = key
        metric = runs[0]["primary_metric"]
        splits = set.intersection(
            *({name for name in r["metrics"] if name.startswith(PREFIX)} for r in runs)
        )
        for split in sorted(splits):
            test_sets = [r.get("test_sets", {}).get(split) for r in runs]
            fingerprints = {t["fingerprint"] for t in test_sets if t is not None}
            in_distribution = Stat.of(r["metrics"]["test"][metric]["mean"] for r in runs)
            shifted = Stat.of(r["metrics"][split][metric]["mean"] for r in runs)
            row = ShiftRow(
                family=family,
                config=config,
                task=task,
                test_config=split.removeprefix(PREFIX),
                model=model,
                preset=preset,
                hparams=hparams,
                budget=budget,
                metric=metric,
                in_distribution=in_distribution,
                shifted=shifted,
                ratio=(
                    shifted.mean / in_distribution.mean
                    if shifted.mean is not None and in_distribution.mean
                    else None
                ),
                extrapolated=tuple(sorted({e for t in test_sets if t for e in t["extrapolated"]})),
                n=len(runs),
                ranked=may_rank(runs),
            )
            known = None not in test_sets and len(fingerprints) == 1
            table = tables.setdefault((family, config, task, row.test_config), {})
            table[(model, preset, hparams, budget)] = _Entry(
                row,
                stacked_errors(
                    [(r.get("per_sample") or {}).get("values", {}).get(split) for r in runs]
                ),
                fingerprints.pop() if known else None,
            )
    return tables


def _by_mean(key: Key, row: ShiftRow) -> tuple:
    """Order by shifted mean, rows not ranked and rows without a mean last, then by name."""
    return (not row.ranked, row.shifted.mean is None, row.shifted.mean or 0.0, key)


def shift_rows(records: Sequence[Record]) -> list[ShiftRow]:
    """Every shift table's rows, sorted by table then rank (module docstring)."""
    tables = _entries(records) if records else {}
    out = []
    for table_key in sorted(tables):
        table = tables[table_key]
        by_mean = {key: _by_mean(key, entry.row) for key, entry in table.items()}
        order = sorted(table, key=by_mean.__getitem__)
        placed = places(
            order,
            {k: table[k].row.shifted.mean if table[k].row.ranked else None for k in order},
            {k: table[k].errors for k in order},
            # a row whose shifted data is not recorded matches no other: untested
            {k: table[k].fingerprint or f"unrecorded {i}" for i, k in enumerate(order)},
        )
        for key in sorted(order, key=lambda k: (placed[k].rank, by_mean[k])):
            place = placed[key]
            out.append(
                replace(
                    table[key].row,
                    rank=place.rank,
                    tied=place.tied,
                    tested=place.tested,
                    interval=place.interval,
                )
            )
    return out
