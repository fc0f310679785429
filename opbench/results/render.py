"""Leaderboard renderers: Markdown tables per dataset family and a flat CSV of records.

Output is deterministic for the same records (everything is sorted) except the date
line, whose date is an argument.
"""

from __future__ import annotations

import csv
import datetime
import io
import math
from collections.abc import Sequence
from typing import Any

from opbench.errors import unknown_name
from opbench.results.leaderboard import LeaderboardRow, Record, flatten_record

DASH = "—"
"""Shown for a missing value (a std over one seed, a metric of a diverged row)."""

CSV_LEADING_COLUMNS = (
    "run_id",
    "dataset.family",
    "dataset.config",
    "dataset.task",
    "model.name",
    "model.preset",
    "train.seed",
    "train.status",
    "primary_metric",
)
"""The first CSV columns; the others follow in sorted order."""


def _number(value: float | None, digits: int = 4) -> str:
    """``value`` to ``digits`` significant digits, trailing zeros kept (``0.1200``);
    values of ``digits`` or more integer digits in full, up to 1e9."""
    if value is None or not math.isfinite(value):
        return DASH
    if 10**digits <= abs(float(f"{value:.{digits}g}")) < 1e9:
        return f"{value:.0f}"
    return f"{value:#.{digits}g}".rstrip(".")


def _mean_std(mean: float | None, std: float | None) -> str:
    if mean is None:
        return DASH
    return f"{_number(mean)} ± {_number(std, 3)}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    if seconds < 60:
        return f"{seconds:.3g} s"
    if seconds < 3600:
        return f"{seconds / 60:.3g} min"
    return f"{seconds / 3600:.3g} h"


def _speedup(value: float | None) -> str:
    return DASH if value is None else f"{_number(value, 3)}×"


def _cell(text: Any) -> str:
    """Table-cell text: ``|`` escaped, line breaks flattened."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _table(rows: Sequence[LeaderboardRow]) -> list[str]:
    """Markdown lines of one (config, task) table; ``rows`` are ranked and share a metric."""
    primary = rows[0].primary_metric
    others = sorted({m for row in rows for m in row.metrics} - {primary})
    header = [
        "rank",
        "model",
        "preset",
        "hparams",
        f"{primary} (mean ± std)",
        *others,
        "params",
        "train time",
        "infer ms/sample",
        "speedup",
        "seeds",
        "diverged",
        "budget",
        "data",
        "source",
        "device",
    ]
    align = ["---:", "---", "---", "---", "---:", *("---:" for _ in others)]
    align += ["---:"] * 6 + ["---"] * 4
    lines = [_row(header), _row(align)]
    for row in rows:
        cells = [
            row.rank,
            row.model,
            row.preset,
            row.hparams,
            _mean_std(row.primary.mean, row.primary.std),
            *(_number(row.metrics[m].mean if m in row.metrics else None) for m in others),
            f"{row.params:,}",
            _duration(row.train_seconds),
            _number(row.infer_ms_per_sample, 3),
            _speedup(row.speedup),
            row.n,
            row.n_diverged,
            row.budget,
            row.fingerprint[:8],
            row.source,
            row.device,
        ]
        lines.append(_row(cells))
    return lines


def _row(cells: Sequence[Any]) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def render_markdown(
    rows: Sequence[LeaderboardRow], family: str, date: datetime.date | None = None
) -> str:
    """The Markdown leaderboard of ``family``: one table per (config, task).

    ``rows`` come from :func:`~opbench.results.leaderboard.leaderboard_rows`; ``date``
    (default today, UTC) stamps the "generated from" line.
    """
    family_rows = [row for row in rows if row.family == family]
    if not family_rows:
        raise unknown_name("dataset family", family, {row.family for row in rows})
    date = date or _today()
    n_records = sum(row.n + row.n_diverged for row in family_rows)
    lines = [
        f"# {family} leaderboard",
        "",
        f"Generated from {n_records} records on {date.isoformat()}.",
        "",
        "Each row aggregates the seeds of one model, preset, hyperparameter set (hparams) and "
        "budget on one dataset (data fingerprint). Metrics are the mean over test samples, "
        "then mean ± std over seeds (std needs two seeds); lower is better. Diverged runs are "
        "counted, not averaged. Costs are means over seeds: training time, batched inference "
        "time per sample, and speedup over the numerical solver.",
    ]
    tables: dict[tuple[str, str], list[LeaderboardRow]] = {}
    for row in family_rows:
        tables.setdefault((row.config, row.task), []).append(row)
    for (config, task), table in sorted(tables.items()):
        lines += [
            "",
            f"## {config} / {task}",
            "",
            f"Primary metric: `{table[0].primary_metric}`.",
            "",
            *_table(table),
        ]
    return "\n".join(lines) + "\n"


def _today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


def _csv_order(record: Record) -> tuple[Any, ...]:
    dataset, model = record["dataset"], record["model"]
    return (
        dataset["family"],
        dataset["config"],
        dataset["task"],
        model["name"],
        model["preset"],
        record["train"]["seed"],
        record["run_id"],
    )


def render_csv(records: Sequence[Record]) -> str:
    """One row per record, flattened with dotted column names; missing values are empty.

    Rows are sorted by dataset, model and seed; columns start with
    :data:`CSV_LEADING_COLUMNS`, then the rest in sorted order.
    """
    flat = [flatten_record(record) for record in sorted(records, key=_csv_order)]
    present = {key for row in flat for key in row}
    leading = [c for c in CSV_LEADING_COLUMNS if c in present]
    columns = leading + sorted(present - set(leading))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)
    return out.getvalue()
