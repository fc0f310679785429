"""Scoring: predictions in physical units, per-sample metric values, and their summary.

The evaluator is called on the test split once, after training, with the checkpoint
selected on validation. Summaries report mean, std (ddof = 1), median, min and max of the
per-sample values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from opbench.data.base import UNIT_KEY, Batch, Benchmark, SampleSet
from opbench.eval.metrics import metric_function
from opbench.models.surrogate import Surrogate


@torch.no_grad()
def predict(
    surrogate: Surrogate,
    samples: SampleSet,
    batch_size: int,
    device: torch.device,
    adapt: Callable[[Batch], Batch] = dict,
) -> Tensor:
    """Predictions for every sample of ``samples``, physical units, on the CPU; each batch
    is passed through ``adapt`` first (resolution transfer resamples its inputs)."""
    surrogate.eval()
    outputs = []
    for batch in samples.batches(batch_size):
        batch = {name: t.to(device) for name, t in adapt(batch).items()}
        outputs.append(surrogate(batch).float().cpu())
    return torch.cat(outputs)


def summarize(values: Tensor) -> dict[str, float | int | None]:
    """mean, std (ddof = 1; 0 for one sample), median, min, max and n of per-sample values;
    the statistics are ``None`` when a value is not finite (a record holds no NaN)."""
    v = values.double().cpu().numpy()
    if not np.isfinite(v).all():
        return {"mean": None, "std": None, "median": None, "min": None, "max": None, "n": v.size}
    return {
        "mean": float(np.mean(v)),
        "std": float(np.std(v, ddof=1)) if v.size > 1 else 0.0,
        "median": float(np.median(v)),
        "min": float(np.min(v)),
        "max": float(np.max(v)),
        "n": int(v.size),
    }


@dataclass
class Scores:
    """Per-sample metric values, split-level values, and the predictions; ``units`` the
    unit of each sample (:data:`UNIT_KEY`), ``None`` where every sample is its own."""

    per_sample: dict[str, Tensor]
    predictions: Tensor
    per_split: dict[str, float | None] = field(default_factory=dict)
    units: Tensor | None = None

    def summary(self) -> dict[str, dict[str, float | int | None]]:
        """Per-sample metrics summarised; a split-level metric has only its value (mean)."""
        n = len(self.predictions)
        split = {
            name: {"mean": value, "std": None, "median": None, "min": None, "max": None, "n": n}
            for name, value in self.per_split.items()
        }
        return {**{name: summarize(v) for name, v in self.per_sample.items()}, **split}

    def values(self, metric: str) -> list[float | None]:
        """The per-sample values of ``metric`` (``None`` where not finite)."""
        return [v if np.isfinite(v) else None for v in self.per_sample[metric].double().tolist()]

    def unit_values(self, metric: str) -> list[float | None]:
        """The mean of ``metric`` over the samples of each unit, units in order of first
        appearance (the per-sample values where samples are their own units; ``None``
        where not finite)."""
        if self.units is None:
            return self.values(metric)
        units = self.units.numpy()
        _, first = np.unique(units, return_index=True)
        values = self.per_sample[metric].double().numpy()
        means = [values[units == units[i]].mean() for i in sorted(first)]
        return [float(v) if np.isfinite(v) else None for v in means]


def score(
    surrogate: Surrogate,
    benchmark: Benchmark,
    split: str,
    batch_size: int,
    device: torch.device,
) -> Scores:
    """Every per-sample metric of the task on ``split``, batch by batch, and the benchmark's
    split-level metrics from them."""
    samples = benchmark.splits[split]
    predictions = predict(surrogate, samples, batch_size, device)
    per_sample = metric_values(benchmark, split, predictions, benchmark.task.metrics, batch_size)
    per_split = {name: fn(per_sample) for name, fn in benchmark.set_metrics.items()}
    return Scores(per_sample, predictions, per_split, samples.tensors.get(UNIT_KEY))


def metric_values(
    benchmark: Benchmark,
    split: str,
    predictions: Tensor,
    names: Sequence[str],
    batch_size: int,
) -> dict[str, Tensor]:
    """The per-sample values of the metrics ``names`` of ``predictions`` (physical units,
    one per sample of ``split``, in order), batch by batch."""
    samples = benchmark.splits[split]
    functions = {name: metric_function(benchmark, name) for name in names}
    values: dict[str, list[Tensor]] = {name: [] for name in functions}
    for index in torch.arange(len(samples)).split(batch_size):
        batch = samples.select(index).tensors
        for name, fn in functions.items():
            values[name].append(fn(predictions[index], batch).cpu())
    return {name: torch.cat(parts) for name, parts in values.items()}
