"""Leaderboard rows: a pure function from run records to ranked, aggregated rows.

A row aggregates the seeds of one model on one dataset: runs that share family, config,
task, data fingerprint, model, preset, model hyperparameters (a short hash, so runs with
overridden hyperparameters never pass for seeds of the preset) and training budget. Each
run contributes the mean of a metric over its test samples (``metrics.test.<m>.mean``);
a row reports the mean and sample standard deviation (ddof=1) of those over its seeds.
Diverged runs are counted in ``n_diverged`` and left out of every mean. Within a table
(family, config, task) rows are ranked by the primary metric, lower first; rows with
only diverged runs come last.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import pandas as pd

from opbench.errors import DataError
from opbench.io import stable_hash

COUNTED_STATUSES = ("ok", "budget")
"""Statuses whose runs count as seeds of a row (``diverged`` runs are only counted)."""

Record = dict[str, Any]


@dataclass(frozen=True)
class Stat:
    """Mean and sample standard deviation (ddof=1) of the known values of one quantity.

    ``std`` is ``None`` below two values, ``mean`` is ``None`` when there are none.
    """

    mean: float | None
    std: float | None
    n: int

    @classmethod
    def of(cls, values: Iterable[float | None]) -> Stat:
        """Summarise ``values``, skipping ``None``."""
        known = [float(v) for v in values if v is not None]
        return cls(
            mean=statistics.fmean(known) if known else None,
            std=statistics.stdev(known) if len(known) > 1 else None,
            n=len(known),
        )


@dataclass(frozen=True)
class LeaderboardRow:
    """One model on one dataset at one budget, aggregated over seeds.

    Attributes:
        family, config, task: the table the row belongs to.
        fingerprint: the data fingerprint shared by the row's runs.
        model, preset: the model's registry name and preset.
        hparams: short hash of the resolved model hyperparameters.
        budget: ``epochs=25`` or ``epochs=25, max_minutes=10``.
        rank: 1-based position in its table by primary-metric mean.
        primary_metric: the metric that ranks the table.
        metrics: test metric name → :class:`Stat` over counted seeds, primary first.
        n: runs that count as seeds (status ``ok`` or ``budget``).
        n_diverged: runs that diverged.
        seeds, run_ids: of every run in the row, diverged ones included, by seed.
        params: trainable parameter count.
        train_seconds, infer_ms_per_sample, speedup: means over counted seeds.
        source: ``generated`` or ``real``.
        device: where costs were measured, e.g. ``cuda: NVIDIA H100, threads=16``.
    """

    family: str
    config: str
    task: str
    fingerprint: str
    model: str
    preset: str
    hparams: str
    budget: str
    rank: int
    primary_metric: str
    metrics: dict[str, Stat]
    n: int
    n_diverged: int
    seeds: tuple[int, ...]
    run_ids: tuple[str, ...]
    params: int
    train_seconds: float | None
    infer_ms_per_sample: float | None
    speedup: float | None
    source: str
    device: str

    @property
    def primary(self) -> Stat:
        """The primary metric's summary."""
        return self.metrics[self.primary_metric]


def budget_label(budget: dict[str, Any]) -> str:
    """``epochs=25`` or ``epochs=25, max_minutes=10`` from a record's ``train.budget``."""
    label = f"epochs={budget['epochs']}"
    if budget["max_minutes"] is not None:
        label += f", max_minutes={budget['max_minutes']:g}"
    return label


def device_label(record: Record) -> str:
    """Where a run's costs were measured: device, its name and thread count."""
    device, name = record["cost"]["device"], record["environment"]["device_name"]
    label = f"{device}: {name}" if name and name != device else device
    return f"{label}, threads={record['cost']['threads']}"


def _table_key(record: Record) -> tuple[str, str, str]:
    dataset = record["dataset"]
    return dataset["family"], dataset["config"], dataset["task"]


def _group_key(record: Record) -> tuple[str, ...]:
    model = record["model"]
    return (
        *_table_key(record),
        record["dataset"]["fingerprint"],
        model["name"],
        model["preset"],
        stable_hash(model["hyperparameters"], length=8),
        budget_label(record["train"]["budget"]),
    )


def _joined(values: Iterable[str]) -> str:
    return " / ".join(sorted(set(values)))


def _aggregate(key: tuple[str, ...], runs: list[Record]) -> LeaderboardRow:
    """The unranked row of one group of runs (sorted by seed)."""
    family, config, task, fingerprint, model, preset, hparams, budget = key
    repeated = [
        seed for seed, count in Counter(r["train"]["seed"] for r in runs).items() if count > 1
    ]
    if repeated:
        ids = [r["run_id"] for r in runs if r["train"]["seed"] == repeated[0]]
        raise DataError(
            f"runs {', '.join(ids)} are all seed {repeated[0]} of {model} ({preset}, {budget}) "
            f"on {family}/{config}/{task}; keep one of them"
        )
    counted = [r for r in runs if r["train"]["status"] in COUNTED_STATUSES]
    primary = runs[0]["primary_metric"]
    names = [primary, *sorted({m for r in runs for m in r["metrics"]["test"]} - {primary})]
    return LeaderboardRow(
        family=family,
        config=config,
        task=task,
        fingerprint=fingerprint,
        model=model,
        preset=preset,
        hparams=hparams,
        budget=budget,
        rank=0,
        primary_metric=primary,
        metrics={
            m: Stat.of(r["metrics"]["test"].get(m, {}).get("mean") for r in counted) for m in names
        },
        n=len(counted),
        n_diverged=len(runs) - len(counted),
        seeds=tuple(r["train"]["seed"] for r in runs),
        run_ids=tuple(r["run_id"] for r in runs),
        params=runs[0]["cost"]["params"],
        train_seconds=Stat.of(r["cost"]["train_seconds"] for r in counted).mean,
        infer_ms_per_sample=Stat.of(r["cost"]["infer_ms_per_sample"] for r in counted).mean,
        speedup=Stat.of(r["cost"]["speedup"] for r in counted).mean,
        source=_joined(r["dataset"]["source"] for r in runs),
        device=_joined(device_label(r) for r in runs),
    )


def _rank_key(row: LeaderboardRow) -> tuple[Any, ...]:
    mean = row.primary.mean
    return (
        mean is None,
        mean or 0.0,
        row.model,
        row.preset,
        row.hparams,
        row.budget,
        row.fingerprint,
    )


def leaderboard_rows(records: Sequence[Record]) -> list[LeaderboardRow]:
    """Aggregate validated run records into ranked rows, sorted by table then rank.

    Raises :class:`DataError` when the runs of one table disagree on the primary metric,
    or when one row holds two runs of the same seed.
    """
    primaries: dict[tuple[str, str, str], set[str]] = {}
    groups: dict[tuple[str, ...], list[Record]] = {}
    for record in records:
        primaries.setdefault(_table_key(record), set()).add(record["primary_metric"])
        groups.setdefault(_group_key(record), []).append(record)
    for table, names in primaries.items():
        if len(names) > 1:
            raise DataError(
                f"runs on {'/'.join(table)} disagree on the primary metric: {sorted(names)}"
            )
    tables: dict[tuple[str, ...], list[LeaderboardRow]] = {}
    for key, runs in groups.items():
        row = _aggregate(key, sorted(runs, key=lambda r: (r["train"]["seed"], r["run_id"])))
        tables.setdefault(key[:3], []).append(row)
    return [
        replace(row, rank=rank)
        for table in sorted(tables)
        for rank, row in enumerate(sorted(tables[table], key=_rank_key), start=1)
    ]


def leaderboard_frame(rows: Sequence[LeaderboardRow]) -> pd.DataFrame:
    """The rows as a DataFrame: one column per field, ``<metric>.mean`` / ``<metric>.std``
    per test metric (NaN where a row lacks it), and ``primary.mean`` / ``primary.std``."""
    plain = [f.name for f in fields(LeaderboardRow) if f.name != "metrics"]
    metric_names = sorted({m for row in rows for m in row.metrics})
    columns = [
        *plain,
        "primary.mean",
        "primary.std",
        *(f"{m}.{stat}" for m in metric_names for stat in ("mean", "std")),
    ]
    data = []
    for row in rows:
        entry: dict[str, Any] = {name: getattr(row, name) for name in plain}
        entry |= {"primary.mean": row.primary.mean, "primary.std": row.primary.std}
        for name, stat in row.metrics.items():
            entry |= {f"{name}.mean": stat.mean, f"{name}.std": stat.std}
        data.append(entry)
    return pd.DataFrame(data, columns=columns)


def flatten_record(record: Record) -> dict[str, Any]:
    """One record as a flat dict with dotted keys (``metrics.test.rel_l2.mean``).

    Lists are kept as compact JSON text; the per-epoch ``train.history`` is left out
    (it lives in record.json).
    """
    trimmed = {**record, "train": {k: v for k, v in record["train"].items() if k != "history"}}
    flat: dict[str, Any] = {}
    _flatten(trimmed, "", flat)
    return flat


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list):
        out[prefix] = json.dumps(value, separators=(",", ":"))
    else:
        out[prefix] = value
