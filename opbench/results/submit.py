"""``opbench submit``: accept a run record made elsewhere onto the published leaderboard.

A submitted record must

1. pass the record schema (:func:`~opbench.results.record.validate_record`);
2. be on a dataset the board knows: its ``family/config`` and data fingerprint are listed
   in ``datasets.json`` (so every row of a table is scored on the same test files);
3. carry what the tables are recomputed from: for the primary metric and every other
   test metric ``mean``, ``std``, ``median``, ``min``, ``max`` and ``n``, with one ``n``
   for all metrics, equal to the test split's size when the split counts samples; the
   seed, budget, status, parameter count, training time and inference time; a model
   citation;
4. hold no absurd value: an error metric (the registry's, and the primary one) below 0;
   a primary metric (relative or standardised in every family, while other metrics may
   be in physical units, e.g. Pa²) above :data:`MAX_ERROR`; ``min ≤ mean ≤ max`` broken;
   a negative std or time; more epochs run than budgeted; a best epoch after the last
   one; a non-positive inference time. Family quantities such as a predicted lift
   coefficient may be negative.

Every problem is reported, one per line, before anything is written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opbench.errors import DataError
from opbench.eval.metrics import METRICS
from opbench.results.leaderboard import COUNTED_STATUSES, Record
from opbench.results.publish import (
    DEFAULT_ROOT,
    add_records,
    locked,
    read_known_datasets,
    with_dataset,
    write_known_datasets,
)
from opbench.results.record import read_record

MAX_ERROR = 1e3
"""A primary metric above this (relative errors of 100 000 %) is refused as absurd."""

SPLIT_METRICS = frozenset({"spearman_cd", "spearman_cl"})
"""Split-level metrics: one correlation in [−1, 1] over the test set (``mean`` and ``n``
only), rather than a per-sample error ≥ 0."""

SUMMARY_FIELDS = ("mean", "std", "median", "min", "max", "n")


def submission_problems(record: Record, known: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Everything that keeps a schema-valid ``record`` (JSON form) off a board whose
    ``datasets.json`` holds ``known``."""
    return [*_dataset_problems(record, known), *_metric_problems(record), *_cost_problems(record)]


def _dataset_problems(record: Record, datasets: dict[str, list[dict[str, Any]]]) -> list[str]:
    dataset = record["dataset"]
    key = f"{dataset['family']}/{dataset['config']}"
    known = datasets.get(key)
    if not known:
        return [f"dataset.config: the leaderboard has no dataset {key!r} (see datasets.json)"]
    accepted = [entry["fingerprint"] for entry in known]
    if dataset["fingerprint"] not in accepted:
        return [
            f"dataset.fingerprint: {dataset['fingerprint']!r} is not a known {key} dataset; "
            f"the board accepts {', '.join(accepted)} ("
            + "; ".join(entry["description"] for entry in known)
            + ")"
        ]
    return []


def _metric_problems(record: Record) -> list[str]:
    if record["train"]["status"] not in COUNTED_STATUSES:
        return []  # a diverged run is counted, not averaged: it has no metric values
    split = record["dataset"].get("split", {})
    # the split counts samples unless it says otherwise (CFDBench splits cases into pairs)
    test_size = split.get("test") if split.get("unit", "sample") == "sample" else None
    counts = {s["n"] for s in record["metrics"]["test"].values() if s.get("n") is not None}
    problems = [] if len(counts) <= 1 else [f"metrics.test: n differs across metrics {counts}"]
    for name, summary in record["metrics"]["test"].items():
        where = f"metrics.test.{name}"
        split_level = name in SPLIT_METRICS
        required = ("mean", "n") if split_level else SUMMARY_FIELDS
        missing = [f for f in required if summary.get(f) is None]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
            continue
        if isinstance(test_size, int) and summary["n"] != test_size:
            problems.append(f"{where}.n: {summary['n']} samples, the test split has {test_size}")
        high = MAX_ERROR if name == record["primary_metric"] else math.inf
        low = 0.0 if name in METRICS or name == record["primary_metric"] else -math.inf
        low, high = (-1.0, 1.0) if split_level else (low, high)
        if not low <= summary["mean"] <= high:
            problems.append(f"{where}.mean: {summary['mean']} is outside [{low:g}, {high:g}]")
        if split_level:
            continue
        slack = 1e-9 * max(abs(summary["min"]), abs(summary["max"]))  # rounding of the mean
        if not summary["min"] - slack <= summary["mean"] <= summary["max"] + slack:
            problems.append(f"{where}: mean {summary['mean']} is not within [min, max]")
        if summary["std"] < 0:
            problems.append(f"{where}.std: {summary['std']} is negative")
    return problems


def _cost_problems(record: Record) -> list[str]:
    train, cost = record["train"], record["cost"]
    checks: dict[str, tuple[Any, bool]] = {
        "cost.params": (cost["params"], cost["params"] >= 0),
        "cost.train_seconds": (cost["train_seconds"], cost["train_seconds"] >= 0),
        "train.epochs_run": (
            train["epochs_run"],
            train["epochs_run"] <= max(train["budget"]["epochs"], 0),
        ),
        "train.best_epoch": (
            train["best_epoch"],
            train["best_epoch"] is None or train["best_epoch"] <= train["epochs_run"],
        ),
        "model.citation": (record["model"]["citation"], bool(record["model"]["citation"])),
    }
    if train["status"] in COUNTED_STATUSES:
        infer = cost["infer_ms_per_sample"]
        checks["cost.infer_ms_per_sample"] = (infer, infer is not None and infer > 0)
    return [
        f"{where}: {value!r} is not plausible" for where, (value, ok) in checks.items() if not ok
    ]


def submit(
    paths: Sequence[Path], root: Path = DEFAULT_ROOT, accept_dataset: str | None = None
) -> list[Path]:
    """Check every record in ``paths``, then add them all to ``root/records/``; return where
    they went.

    ``accept_dataset`` (maintainers) first lists each record's dataset in ``datasets.json``
    with that description. Everything is checked under the root's lock before anything is
    written: on any problem a :class:`DataError` lists every problem of every record and
    neither the records nor ``datasets.json`` change, so a batch goes on the board whole or
    not at all.
    """
    records = [(path, read_record(Path(path)).to_json()) for path in paths]
    with locked(root):
        known = read_known_datasets(root)
        accepted = known
        if accept_dataset is not None:
            for _, record in records:
                accepted = with_dataset(accepted, record, accept_dataset)
        problems = [
            f"{path}: {problem}"
            for path, record in records
            for problem in submission_problems(record, accepted)
        ]
        if problems:
            raise DataError("\n".join(problems))
        added = add_records([record for _, record in records], root)
        if accepted != known:
            write_known_datasets(accepted, root)
    return added
