"""Leaderboard renderers: Markdown tables per dataset family and a flat CSV of records.

Output is deterministic for the same records (everything is sorted) except the date
line, whose date is an argument.
"""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from opbench.errors import unknown_name
from opbench.eval.equal_accuracy import SolverCurve, SolverPoint
from opbench.eval.statistics import ALPHA, DRAWS
from opbench.results.leaderboard import (
    LeaderboardRow,
    Record,
    TableKey,
    group_tables,
    table_label,
)
from opbench.results.shift import ShiftRow
from opbench.results.solver_plot import EqualAccuracyFigure
from opbench.results.transfer import TransferRow

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


RANKING_TEXT = (
    "Ranks: where every row's runs keep their per-sample test errors, a row's rank is 1 + "
    "the number of rows significantly better than it, so rows may share a rank (shown as 2=). Each "
    "pair of rows is compared by a paired hierarchical bootstrap of the difference of their "
    f"means ({DRAWS:,} draws: test samples resampled, the same for both rows, and each row's "
    f"seeds resampled), with Holm's correction over all pairs of the table at α = {ALPHA}. "
    "The 95 % interval of a row's mean comes from the same bootstrap, so it accounts for "
    "both seeds and test samples. Tables of older records without per-sample errors are "
    "ranked by the mean alone and say so."
)
"""How ranks and intervals are made, as the pages state it."""


EQUAL_ACCURACY_TEXT = (
    "Speedup at equal accuracy: the family's own numerical solver is run at several settings "
    "(direct, and iterative solvers stopped at a ladder of tolerances) on the same test "
    "samples; the lower envelope of its (time, error) points is its cost–accuracy curve. The "
    "solver's time at a model's mean error, interpolated on that curve (log–log), over the "
    "model's batched inference time per sample, both on the same cores, is the speedup. A "
    "model less accurate than the cheapest solver setting gets no ratio. The column "
    "'speedup' is the older, unequal comparison: a full-accuracy direct solve on one core."
)
"""How the equal-accuracy column is made, as the pages state it."""


def ranking_label(tested: bool) -> str:
    """How a table was ranked, as its caption says."""
    return "ranks tested" if tested else "ranked by mean, untested"


def interval_text(interval: tuple[float, float] | None) -> str:
    """``[0.1210, 0.1305]``, or a dash for an untested row."""
    if interval is None:
        return DASH
    return f"[{_number(interval[0])}, {_number(interval[1])}]"


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


def equal_accuracy_text(row: LeaderboardRow) -> str:
    """The speedup at equal accuracy of a row, or why it has none (a dash: not measured)."""
    if row.equal_runs == 0:
        return DASH
    if row.equal_speedup is not None:
        return _speedup(row.equal_speedup)
    if row.equal_on_curve == 0:
        return "less accurate than the cheapest solve"
    return f"{row.equal_on_curve} of {row.equal_runs} runs on the solver curve"


def _table(rows: Sequence[LeaderboardRow]) -> str:
    """The Markdown of one (config, task) table; ``rows`` are ranked and share a metric."""
    primary = rows[0].primary_metric
    others = sorted({m for row in rows for m in row.metrics} - {primary})
    table = pd.DataFrame(
        {
            "rank": row.rank_label,
            "model": row.model,
            "preset": row.preset,
            "hparams": row.hparams,
            f"{primary} (mean ± std)": _mean_std(row.primary.mean, row.primary.std),
            "95 % interval": interval_text(row.interval),
            **{m: _number(row.metrics[m].mean if m in row.metrics else None) for m in others},
            "params": f"{row.params:,}",
            "train time": _duration(row.train_seconds),
            "infer ms/sample": _number(row.infer_ms_per_sample, 3),
            "speedup": _speedup(row.speedup),
            "speedup at equal accuracy": equal_accuracy_text(row),
            "seeds": row.n,
            "diverged": row.n_diverged,
            "budget": row.budget,
            "data": row.fingerprint[:8],
            "source": row.source,
            "device": row.device,
        }
        for row in rows
    )
    text = table.astype(str).map(_cell)
    align = ["right", "left", "left", "left", "right", "right", *("right" for _ in others)]
    align += ["right"] * 7 + ["left"] * 4
    return text.to_markdown(index=False, tablefmt="pipe", colalign=align, disable_numparse=True)


def _cell(text: str) -> str:
    """Table-cell text: ``|`` escaped, line breaks flattened."""
    return " ".join(text.split()).replace("|", "\\|")


def render_markdown(
    rows: Sequence[LeaderboardRow],
    family: str,
    date: datetime.date | None = None,
    shifts: Sequence[ShiftRow] = (),
    figures: Mapping[TableKey, EqualAccuracyFigure] | None = None,
    transfers: Sequence[TransferRow] = (),
) -> str:
    """The Markdown leaderboard of ``family``: one table per (config, task, data), then one
    distribution-shift table per (config, task, test config).

    ``rows`` come from :func:`~opbench.results.leaderboard.leaderboard_rows`, ``shifts``
    from :func:`~opbench.results.shift.shift_rows`, ``figures`` (by table) from
    :func:`~opbench.results.solver_plot.equal_accuracy_figures`, ``transfers`` from
    :func:`~opbench.results.transfer.transfer_rows`; ``date`` (default today, UTC) stamps
    the "generated from" line.
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
        "",
        RANKING_TEXT,
        "",
        EQUAL_ACCURACY_TEXT,
    ]
    tables = group_tables(family_rows)
    for key, table in tables.items():
        caption = "" if table[0].published else " (not a published config)"
        tested = ranking_label(table[0].tested)
        lines += [
            "",
            f"## {table_label(key, tables)}{caption}",
            "",
            f"Primary metric: `{table[0].primary_metric}` ({tested}).",
            "",
            _table(table),
        ]
        figure = (figures or {}).get(key)
        if figure is not None:
            lines += _figure_section(figure)
    mine = [row for row in shifts if row.family == family]
    lines += _sections("Distribution shift", SHIFT_TEXT, shift_tables(mine))
    mine = [row for row in transfers if row.family == family]
    lines += _sections("Resolution transfer", TRANSFER_TEXT, transfer_tables(mine))
    return "\n".join(lines) + "\n"


def curve_text(curve: SolverCurve) -> str:
    """Where and how a solver curve was measured, in one sentence."""
    return (
        f"Solver curve measured {curve.measured[:10]} on {curve.cpu}, {curve.workers} "
        f"processes in parallel, 1-minute load average {curve.load_average:g} at the start, "
        f"{curve.n_samples} test samples."
    )


def curve_cells(point: SolverPoint) -> dict[str, str]:
    """Column → text of one solver setting (the Markdown and the HTML tables)."""
    return {
        "solver setting": point.name,
        "ms / sample": _number(1e3 * point.seconds_per_sample, 3),
        "error": _number(point.error, 3),
        "on the envelope": "yes" if point.envelope else "no",
    }


def _figure_section(figure: EqualAccuracyFigure) -> list[str]:
    curve = figure.curve
    frame = pd.DataFrame(curve_cells(point) for point in curve.points)
    lines = [
        "",
        f"### Error against time: {curve.metric}",
        "",
        f"![test {curve.metric} against time per sample, solver curve and models]({figure.name})",
        "",
        curve_text(curve),
        "",
        frame.map(_cell).to_markdown(
            index=False,
            tablefmt="pipe",
            colalign=["left", "right", "right", "left"],
            disable_numparse=True,
        ),
    ]
    if curve.not_applicable:
        lines += [
            "",
            "Not applicable here: "
            + "; ".join(f"{name}: {why}" for name, why in sorted(curve.not_applicable.items()))
            + ".",
        ]
    return lines


SHIFT_TEXT = (
    "Each model trained on one config and tested, without retraining, on another "
    "(`--test-config`), with the trained config's data scaling. Ratio = shifted mean ÷ "
    "in-distribution mean. Ranks are on the shifted error, made as the board's. "
    "*Extrapolated*: inputs constant in the training data that the shifted data varies."
)


def shift_cells(row: ShiftRow) -> dict[str, str]:
    """Column → text of one distribution-shift row (the Markdown and the HTML tables)."""
    return {
        "rank": row.rank_label,
        "model": row.model,
        "preset": row.preset,
        "in-distribution (mean ± std)": _mean_std(
            row.in_distribution.mean, row.in_distribution.std
        ),
        "shifted (mean ± std)": _mean_std(row.shifted.mean, row.shifted.std),
        "shifted 95 % interval": interval_text(row.interval),
        "shifted ÷ in-distribution": _number(row.ratio, 3),
        "extrapolated": ", ".join(row.extrapolated) or DASH,
        "seeds": str(row.n),
        "budget": row.budget,
    }


TRANSFER_TEXT = (
    "Each model trained on one grid and tested, without retraining, on the same physical "
    "test samples at another grid (`--transfer-config`, paired data). Direct: the model on "
    "the other grid's inputs. Yardstick: the inputs interpolated to the training grid, the "
    "model's prediction there interpolated back (bicubic). A model is discretisation-"
    "invariant in practice only where direct beats the yardstick (paired hierarchical "
    f"bootstrap over seeds and test samples, two-sided, α = {ALPHA}). Gap: the finer grid's "
    "targets read at the coarser grid's points against the coarser grid's own targets, the "
    "distance between the two grids' truths."
)


def transfer_cells(row: TransferRow) -> dict[str, str]:
    """Column → text of one resolution-transfer row (the Markdown and the HTML tables)."""
    return {
        "model": row.model,
        "preset": row.preset,
        "trained (mean ± std)": _mean_std(row.in_distribution.mean, row.in_distribution.std),
        "direct (mean ± std)": _mean_std(row.direct.mean, row.direct.std),
        "yardstick (mean ± std)": _mean_std(row.yardstick.mean, row.yardstick.std),
        "direct vs yardstick": row.verdict,
        "gap": _number(row.gap, 3),
        "not applicable": row.not_applicable or DASH,
        "seeds": str(row.n),
        "budget": row.budget,
    }


@dataclass(frozen=True)
class SubTable:
    """One table of a section (distribution shift, resolution transfer): its family, title,
    metric, how it was ranked (``None``: not ranked) and its rows' cells."""

    family: str
    title: str
    metric: str
    ranking: str | None
    cells: list[dict[str, str]]
    align: list[str]


SHIFT_ALIGN = ["right", "left", "left", "right", "right", "right", "right", "left", "right"]
TRANSFER_ALIGN = ["left", "left", "right", "right", "right", "left", "right", "left", "right"]


def shift_tables(rows: Sequence[ShiftRow]) -> list[SubTable]:
    """One table per (family, config, task, test config), rows in rank order."""
    groups: dict[tuple[str, str, str, str], list[ShiftRow]] = {}
    for row in rows:
        groups.setdefault((row.family, row.config, row.task, row.test_config), []).append(row)
    return [
        SubTable(
            family,
            f"{config} → {test_config} / {task}",
            table[0].metric,
            ranking_label(table[0].tested),
            [shift_cells(row) for row in table],
            [*SHIFT_ALIGN, "left"],
        )
        for (family, config, task, test_config), table in sorted(groups.items())
    ]


def transfer_tables(rows: Sequence[TransferRow]) -> list[SubTable]:
    """One table per (family, trained config, task, transfer config)."""
    groups: dict[tuple[str, str, str, str], list[TransferRow]] = {}
    for row in rows:
        groups.setdefault((row.family, row.config, row.task, row.transfer_config), []).append(row)
    tables = []
    for (family, config, task, other), table in sorted(groups.items()):
        here, there = ("×".join(map(str, s)) for s in (table[0].trained_shape, table[0].shape))
        cells = [transfer_cells(row) for row in table]
        title = f"{config} ({here}) → {other} ({there}) / {task}"
        tables.append(
            SubTable(family, title, table[0].metric, None, cells, [*TRANSFER_ALIGN, "left"])
        )
    return tables


def _sections(heading: str, text: str, tables: Sequence[SubTable]) -> list[str]:
    """A Markdown section of sub-tables (none: no lines)."""
    if not tables:
        return []
    lines = ["", f"## {heading}", "", text]
    for table in tables:
        ranking = f" ({table.ranking})" if table.ranking else ""
        lines += [
            "",
            f"### {table.title}",
            "",
            f"Metric: `{table.metric}`{ranking}.",
            "",
            pd.DataFrame(table.cells)
            .map(_cell)
            .to_markdown(index=False, tablefmt="pipe", colalign=table.align, disable_numparse=True),
        ]
    return lines


def _today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


CSV_OMITTED = ("spec", "per_sample", "train.history")
"""Record parts left out of the CSV: they live in each record file."""


def render_csv(records: Sequence[Record]) -> str:
    """One row per record, flattened with dotted column names (``pd.json_normalize``);
    lists as compact JSON, missing values (and sections a record does not have) empty.

    Rows are sorted by dataset, model and seed; columns start with
    :data:`CSV_LEADING_COLUMNS`, then the rest in sorted order.
    """
    trimmed = [_without(record, CSV_OMITTED) for record in records]
    trimmed = [{k: v for k, v in record.items() if v is not None} for record in trimmed]
    # one record at a time and object columns, so that an integer column with gaps does
    # not turn into floats
    rows = [pd.json_normalize(record, sep=".").to_dict("records")[0] for record in trimmed]
    keys = dict.fromkeys(key for row in rows for key in row)
    frame = pd.DataFrame(
        {key: pd.Series([_csv_value(row.get(key)) for row in rows], dtype=object) for key in keys}
    )
    frame = frame.sort_values(
        [c for c in (*CSV_LEADING_COLUMNS[1:6], "train.seed", "run_id") if c in frame]
    )
    leading = [c for c in CSV_LEADING_COLUMNS if c in frame]
    columns = leading + sorted(set(frame.columns) - set(leading))
    return frame[columns].to_csv(index=False, lineterminator="\n")


def _without(record: Record, paths: Sequence[str]) -> Record:
    """``record`` without the dotted ``paths`` (a shallow copy along each path)."""
    record = dict(record)
    for path in paths:
        *parents, last = path.split(".")
        node = record
        for part in parents:
            node[part] = dict(node[part])
            node = node[part]
        node.pop(last, None)
    return record


def _csv_value(value: Any) -> Any:
    """Lists as compact JSON text; everything else as it is."""
    return json.dumps(value, separators=(",", ":")) if isinstance(value, list) else value
