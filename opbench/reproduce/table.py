"""The reproduction table: published numbers beside opbench's, as rows, Markdown and CSV.

A :class:`Row` is one metric of one model on one config, aggregated over the seeds of the
reproduction's runs exactly as the leaderboard aggregates them (the mean over a run's test
samples, then mean and sample standard deviation over seeds, ddof=1; runs with status
``ok`` or ``budget`` count, diverged ones are only counted). Published and opbench figures
are never mixed: "—" stands wherever the paper published no number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from opbench.config import RunSpec, TrainConfig
from opbench.reproduce.recipe import Published
from opbench.results.leaderboard import COUNTED_STATUSES, Stat, device_label

DASH = "—"

Record = dict[str, Any]


@dataclass(frozen=True)
class Row:
    """One line of the reproduction table.

    Attributes:
        config, task, model, metric: what the line compares.
        published: the published number, or ``None``.
        opbench: mean ± std over the counted seeds (``std`` needs two).
        fitted: a fitted baseline (no training budget).
        recipe_epochs, max_minutes, batch_size: the run's resolved training budget.
        epochs_run: mean over the runs of the epochs actually trained.
        n_train, n_val, n_test, split_unit: split sizes from the records (samples, cases
            or simulations).
        split_detail: training examples the splits make, where the unit is larger (CFDBench:
            ``49/7/7 pairs``), else empty.
        data: ``real`` or ``generated`` with the data fingerprint's first 8 characters.
        device: where the runs ran (as the leaderboard's device label).
        n_diverged, n_failed: runs that diverged (recorded) or failed (no record).
    """

    config: str
    task: str
    model: str
    metric: str
    published: Published | None
    opbench: Stat
    fitted: bool
    recipe_epochs: int
    epochs_run: float | None
    max_minutes: float | None
    batch_size: int
    n_train: int | None
    n_val: int | None
    n_test: int | None
    split_unit: str
    split_detail: str
    data: str
    device: str
    n_diverged: int
    n_failed: int

    @property
    def difference(self) -> float | None:
        """opbench − published (``None`` without both)."""
        if self.published is None or self.opbench.mean is None:
            return None
        return self.opbench.mean - self.published.value

    @property
    def ratio(self) -> float | None:
        """opbench / published (``None`` without both, or a published zero)."""
        if self.published is None or self.opbench.mean is None or self.published.value == 0:
            return None
        return self.opbench.mean / self.published.value


def _joined(values: Sequence[str]) -> str:
    return " / ".join(sorted(set(values))) or DASH


EXAMPLE_KEYS = ("pairs", "samples")
"""Record ``dataset`` entries that count a split's training examples (CFDBench)."""


def _split_detail(dataset: Record) -> str:
    for key in EXAMPLE_KEYS:
        counts = dataset.get(key)
        if isinstance(counts, dict) and {"train", "val", "test"} <= set(counts):
            return f"{counts['train']}/{counts['val']}/{counts['test']} {key}"
    return ""


def rows_for(
    spec: RunSpec,
    fitted: bool,
    metrics: Sequence[str],
    published: Sequence[Published | None],
    records: Sequence[Record],
    n_failed: int,
) -> list[Row]:
    """The rows of one model on one config: one per metric, from that group's records."""
    counted = [r for r in records if r["train"]["status"] in COUNTED_STATUSES]
    split = records[0]["dataset"].get("split", {}) if records else {}
    epochs = Stat.of(r["train"]["epochs_run"] for r in records).mean
    data = _joined(
        [f"{r['dataset']['source']} {str(r['dataset']['fingerprint'])[:8]}" for r in records]
    )
    return [
        Row(
            config=spec.config,
            task=spec.task,
            model=spec.model,
            metric=metric,
            published=entry,
            opbench=Stat.of(r["metrics"]["test"].get(metric, {}).get("mean") for r in counted),
            fitted=fitted,
            recipe_epochs=spec.train.epochs,
            epochs_run=epochs,
            max_minutes=spec.train.max_minutes,
            batch_size=spec.train.batch_size,
            n_train=split.get("train"),
            n_val=split.get("val"),
            n_test=split.get("test"),
            split_unit=split.get("unit", "sample"),
            split_detail=_split_detail(records[0]["dataset"]) if records else "",
            data=data,
            device=_joined([device_label(r) for r in records]),
            n_diverged=len(records) - len(counted),
            n_failed=n_failed,
        )
        for metric, entry in zip(metrics, published, strict=True)
    ]


def number(value: float | None) -> str:
    return DASH if value is None else f"{value:.3g}"


def published_cell(entry: Published | None) -> str:
    if entry is None:
        return DASH
    text = number(entry.value)
    if entry.std is not None:
        text += f" ± {number(entry.std)}"
    if entry.note:
        text += f" ({entry.note})"
    return f"{text} [{entry.source}]" if entry.source else text


def opbench_cell(row: Row) -> str:
    stat = row.opbench
    if stat.mean is None:
        if row.n_diverged:
            return f"diverged ({row.n_diverged} of {row.n_diverged + stat.n})"
        return "failed" if row.n_failed else f"{DASH} (no run)"
    text = number(stat.mean)
    if stat.std is not None:
        text += f" ± {number(stat.std)}"
    text += f" (n={stat.n})"
    problems = [
        f"{count} {what}"
        for count, what in ((row.n_diverged, "diverged"), (row.n_failed, "failed"))
        if count
    ]
    return text + (f"; {', '.join(problems)}" if problems else "")


def difference_cell(row: Row) -> str:
    if row.difference is None:
        return DASH
    ratio = f" (×{row.ratio:.3g})" if row.ratio is not None else ""
    return f"{row.difference:+.3g}{ratio}"


def budget_cell(row: Row) -> str:
    sizes = "/".join(DASH if n is None else str(n) for n in (row.n_train, row.n_val, row.n_test))
    split = f"train/val/test {sizes} {row.split_unit}s"
    if row.split_detail:
        split += f" ({row.split_detail})"
    if row.fitted:
        return f"fitted baseline (no training), {split}"
    parts = [f"recipe {row.recipe_epochs} ep", f"ran {number(row.epochs_run)} ep"]
    if row.max_minutes is not None:
        parts.append(f"cap {row.max_minutes:g} min/run")
    return ", ".join([*parts, split, f"batch {row.batch_size}"])


HEADER = (
    "config / task",
    "model",
    "metric",
    "published",
    "opbench (mean ± std over seeds)",
    "difference (opbench − published, ratio)",
    "budget used",
    "data",
    "device",
)


def markdown_table(rows: Sequence[Row]) -> str:
    cells = [
        (
            f"{row.config} / {row.task}",
            row.model,
            row.metric,
            published_cell(row.published),
            opbench_cell(row),
            difference_cell(row),
            budget_cell(row),
            row.data,
            row.device,
        )
        for row in rows
    ]
    table = pd.DataFrame(cells, columns=list(HEADER)).map(lambda c: c.replace("|", "\\|"))
    return table.to_markdown(index=False, tablefmt="pipe", disable_numparse=True)


CSV_COLUMNS = (
    "config",
    "task",
    "model",
    "metric",
    "published",
    "published_std",
    "published_source",
    "published_note",
    "opbench_mean",
    "opbench_std",
    "n_seeds",
    "difference",
    "ratio",
    "recipe_epochs",
    "epochs_run",
    "max_minutes",
    "n_train",
    "n_val",
    "n_test",
    "split_unit",
    "split_detail",
    "fitted",
    "batch_size",
    "data",
    "device",
    "n_diverged",
    "n_failed",
)


def csv_text(rows: Sequence[Row]) -> str:
    """The rows as CSV (empty cells where a value is missing)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        entry = row.published
        writer.writerow(
            [
                row.config,
                row.task,
                row.model,
                row.metric,
                None if entry is None else entry.value,
                None if entry is None else entry.std,
                None if entry is None else entry.source,
                None if entry is None else entry.note,
                row.opbench.mean,
                row.opbench.std,
                row.opbench.n,
                row.difference,
                row.ratio,
                row.recipe_epochs,
                row.epochs_run,
                row.max_minutes,
                row.n_train,
                row.n_val,
                row.n_test,
                row.split_unit,
                row.split_detail,
                row.fitted,
                row.batch_size,
                row.data,
                row.device,
                row.n_diverged,
                row.n_failed,
            ]
        )
    return buffer.getvalue()


def _step(train: TrainConfig) -> str:
    epochs = ", ".join(f"{m * train.epochs:g}" for m in train.milestones)
    return f"step: lr ×{train.gamma:g} at epochs {epochs} of {train.epochs}"


SCHEDULE_TEXT: dict[str, Callable[[TrainConfig], str]] = {
    "step": _step,
    "cosine": lambda train: f"cosine annealing to lr × {train.min_lr_ratio:g}",
    "onecycle": lambda train: (
        f"one-cycle: warm-up to lr over {train.warmup_fraction:.0%} of the steps, then "
        "cosine annealing to lr/2.5e5"
    ),
    "constant": lambda train: "constant lr",
}


def recipe_text(spec: RunSpec, fitted: bool = False) -> str:
    """The training recipe of a resolved run, in words (a fitted baseline has none)."""
    if fitted:
        return "fitted baseline: no parameters to train, no training recipe"
    train = spec.train
    schedule = SCHEDULE_TEXT.get(train.schedule, lambda t: t.schedule)(train)
    clip = "none" if train.grad_clip is None else f"{train.grad_clip:g}"
    model = ", ".join(f"{k}={v}" for k, v in spec.hyperparameters.items()) or "no parameters"
    text = (
        f"{model}; optimizer {train.optimizer}, lr {train.lr:g}, weight decay "
        f"{train.weight_decay:g}; schedule {schedule}; loss {train.loss}; epochs "
        f"{train.epochs}; batch {train.batch_size} (eval {train.eval_batch_size}); "
        f"gradient clipping {clip}"
    )
    if train.max_minutes is not None:
        text += f"; wall-clock cap {train.max_minutes:g} min"
    return text
