"""Leaderboard renderers: Markdown tables per dataset family and a flat CSV of records.

Output is deterministic for the same records (everything is sorted) except the date
line, whose date is an argument.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from opbench.data.base import MetricSense
from opbench.errors import ConfigError, unknown_name
from opbench.eval.equal_accuracy import SolverCurve, SolverPoint
from opbench.eval.statistics import ALPHA, DRAWS
from opbench.results.leaderboard import (
    MIN_RANKED_SEEDS,
    LeaderboardRow,
    Record,
    RunsTried,
    TableKey,
    board_records,
    group_tables,
    record_table,
    role_counts,
    table_label,
)
from opbench.results.shift import ShiftRow
from opbench.results.solver_plot import EqualAccuracyFigure
from opbench.results.text import (
    DASH,
    duration,
    interval_text,
    mean_std,
    number,
    percent,
    plural,
    speedup_text,
)
from opbench.results.transfer import TransferRow

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


def equal_accuracy_text(row: LeaderboardRow) -> str:
    """The speedup at equal accuracy of a row, or why it has none (a dash: not measured)."""
    if row.equal_runs == 0:
        return DASH
    if row.equal_speedup is not None:
        return speedup_text(row.equal_speedup)
    if row.equal_on_curve == 0:
        return "less accurate than the cheapest solve"
    return f"{row.equal_on_curve} of {row.equal_runs} runs on the solver curve"


def metric_sense(family: str, metric: str) -> MetricSense:
    """How ``metric`` of ``family`` reads (the family's declaration; errors by default)."""
    from opbench.data import DATASETS

    senses = DATASETS.get(family).metric_senses if family in DATASETS else {}
    return senses.get(metric, "lower")


SENSE_MARKS: dict[str, str] = {"lower": "↓", "higher": "↑", "value": "(value)"}
SENSE_TIPS: dict[str, str] = {
    "lower": "an error: lower is better",
    "higher": "a score: higher is better",
    "value": "a predicted quantity, not an error: not better or worse",
}


UNRANKED_TIP = "– : not ranked (not converged, or fewer than 3 seeds)"


def convergence_text(row: LeaderboardRow) -> str:
    """The convergence column: the verdict, then both checks' figures
    (:mod:`opbench.eval.convergence`): ``converged: plateau 3/3 (≤ 0.40 %), 2× budget
    1.2 % lower``."""
    if row.convergence == "fitted":
        return "fitted, not trained"
    if row.convergence == "no evidence":
        return "no evidence (not ranked)"
    parts = [f"plateau {row.plateau_passed}/{row.n}"]
    if row.plateau_improvement is not None:
        parts[0] += f" (≤ {percent(row.plateau_improvement)})"
    if row.doubling_improvement is None:
        parts.append("2× budget not run")
    else:
        change = row.doubling_improvement
        parts.append(f"2× budget {percent(abs(change))} {'lower' if change >= 0 else 'higher'}")
    return f"{row.convergence}: {', '.join(parts)}"


@dataclass(frozen=True)
class Column:
    """One column of a board table, shared by the Markdown and the HTML renderers.

    ``text`` gives a cell's text, ``value`` its sort value on the page (``None``: sorted
    last), ``align`` the text alignment; ``tip`` explains the column."""

    header: str
    tip: str
    text: Callable[[LeaderboardRow], str]
    value: Callable[[LeaderboardRow], float | str | None]
    align: str = "right"
    kind: str = "num"


def board_columns(rows: Sequence[LeaderboardRow]) -> list[Column]:
    """The columns of one table, key columns first (rank, model, the primary metric and
    its interval, convergence, budget, seeds, data, device) so that they fit a 1400-pixel
    page without scrolling; costs, other metrics and identifiers follow."""
    first = rows[0]
    primary = first.primary_metric
    others = sorted({m for row in rows for m in row.metrics} - {primary})

    def metric_column(name: str) -> Column:
        sense = metric_sense(first.family, name)
        return Column(
            f"{name} {SENSE_MARKS[sense]}",
            f"test {name}, mean over seeds; {SENSE_TIPS[sense]}",
            lambda row: number(row.metrics[name].mean if name in row.metrics else None),
            lambda row: row.metrics[name].mean if name in row.metrics else None,
        )

    rank_tip = (
        f"1 + rows significantly better by {primary} (2= : shared); {UNRANKED_TIP}"
        if first.tested
        else f"position by {primary} mean (untested); {UNRANKED_TIP}"
    )
    return [
        Column("rank", rank_tip, lambda r: r.rank_label, lambda r: r.rank if r.ranked else None),
        Column(
            "model", "model registry name", lambda r: r.model, lambda r: r.model, "left", "text"
        ),
        Column(
            f"{primary} {SENSE_MARKS['lower']} (mean ± std)",
            "mean ± sample std over seeds of each seed's test mean; lower is better",
            lambda r: mean_std(r.primary.mean, r.primary.std),
            lambda r: r.primary.mean,
        ),
        Column(
            "95 % interval",
            "of the mean, over seeds and test samples (hierarchical bootstrap)",
            lambda r: interval_text(r.interval),
            lambda r: r.interval[0] if r.interval else None,
        ),
        Column(
            "convergence",
            "plateau: runs whose validation improved < 1 % over the last max(10, 20 %) epochs "
            "at the minimum rate; 2× budget: the same seed at twice the epochs (< 5 % needed)",
            convergence_text,
            lambda r: r.convergence,
            "left",
            "text conv",
        ),
        Column(
            "budget",
            "epochs and learning rate",
            lambda r: r.budget,
            lambda r: r.budget,
            "left",
            "text",
        ),
        Column(
            "seeds",
            "runs that count; diverged runs are counted apart and not averaged",
            lambda r: str(r.n) + (f" (+{r.n_diverged} diverged)" if r.n_diverged else ""),
            lambda r: r.n,
        ),
        Column(
            "data",
            "generated (by opbench) or real, and the data fingerprint",
            lambda r: f"{r.source} {r.fingerprint[:8]}",
            lambda r: r.fingerprint,
            "left",
            "text",
        ),
        Column(
            "device",
            "where the costs were measured",
            lambda r: r.device,
            lambda r: r.device,
            "left",
            "text device",
        ),
        *(metric_column(name) for name in others),
        Column("params", "trainable parameters", lambda r: f"{r.params:,}", lambda r: r.params),
        Column(
            "train time",
            "training wall time, mean over seeds",
            lambda r: duration(r.train_seconds),
            lambda r: r.train_seconds,
        ),
        Column(
            "infer ms/sample",
            "batched inference time per sample, mean over seeds",
            lambda r: number(r.infer_ms_per_sample, 3),
            lambda r: r.infer_ms_per_sample,
        ),
        Column(
            "speedup at equal accuracy",
            "solver time at the model's error on its cost–accuracy curve / inference time, "
            "same cores",
            equal_accuracy_text,
            lambda r: r.equal_speedup,
        ),
        Column(
            "speedup",
            "full-accuracy direct solve on one core / inference time",
            lambda r: speedup_text(r.speedup),
            lambda r: r.speedup,
        ),
        Column("preset", "model preset", lambda r: r.preset, lambda r: r.preset, "left", "text"),
        Column(
            "hparams",
            "short hash of the model hyperparameters",
            lambda r: r.hparams,
            lambda r: r.hparams,
            "left",
            "text",
        ),
    ]


def _table(rows: Sequence[LeaderboardRow]) -> str:
    """The Markdown of one board table; ``rows`` are ranked and share a metric."""
    columns = board_columns(rows)
    frame = pd.DataFrame([[_cell(c.text(row)) for c in columns] for row in rows])
    frame.columns = [c.header for c in columns]
    return frame.to_markdown(
        index=False,
        tablefmt="pipe",
        colalign=[c.align for c in columns],
        disable_numparse=True,
    )


def runs_text(tried: RunsTried) -> str:
    """Every run tried for a table, with the epoch budgets of each role: ``3 board runs
    (50 epochs), 3 pilots (10 epochs), 1 check (100 epochs); 0 diverged``."""
    names = {"board": "board run", "pilot": "pilot", "check": "check"}
    parts = []
    for role, name in names.items():
        epochs = sorted(tried.epochs[role])
        budgets = f" ({', '.join(map(str, epochs))} epochs)" if epochs else ""
        parts.append(plural(tried.counts[role], name) + budgets)
    return (
        f"Runs tried: {', '.join(parts)}; {tried.diverged} diverged. Pilot and check runs are "
        "records under their own role, never rows."
    )


def _cell(text: str) -> str:
    """Table-cell text: ``|`` escaped, line breaks flattened."""
    return " ".join(text.split()).replace("|", "\\|")


PROTOCOL_TEXT = (
    "How rows were trained: every trainable model follows one protocol (`opbench converge`, "
    "defaults shown): learning-rate pilots at 3e-4, 1e-3 and 3e-3 (seed 0, 10 epochs), the "
    "best chosen on validation; a step schedule that decays the rate to lr₀/100 for the last "
    "quarter of the epochs; an epoch budget that starts at 50 and doubles until the same "
    "seed at twice the budget improves validation by less than 5 % and every seed's run "
    "has reached its plateau; then three seeds. "
    "Checkpoints are chosen on validation; each run scores the test split once. A row is "
    "“converged” when each of its runs improved validation by less than 1 % over its last "
    "max(10 epochs, 20 %) at the minimum rate (plateau) and its doubling check passed; a row "
    "without that evidence says “not converged” and is not ranked (rank –); nor is a row "
    "with fewer than three seeds. The fitted baselines (mean, identity, linear, "
    "pointwise_linear) are solved in closed form and need no evidence."
)
"""How the board's rows were trained and when they count as converged."""

READING_TEXT = (
    "What to read into it: a rank compares models on one dataset at opbench's presets "
    "(models sized for a CPU), trained by the same protocol; rows that share a rank (2=) "
    "are not distinguishable at the 5 % level. Generated data come from opbench's own "
    "solvers, written in the published formats (`datasets.json` says how each was made); "
    "they are not the published files, and their numbers do not compare with published "
    "ones: only the reproduction tables do that. Another grid, data size or budget can "
    "change the order."
)
"""How far a reader may take the board."""


@dataclass(frozen=True)
class Provenance:
    """Where and when a table's runs were made: dates, hardware, data source."""

    first: str
    last: str
    hardware: str
    source: str

    @classmethod
    def of(cls, records: Sequence[Record]) -> Provenance:
        dates = sorted(r["created"][:10] for r in records)
        hardware = sorted(
            {f"{r['environment']['device_name']} ({r['cost']['device']})" for r in records}
        )
        return cls(
            dates[0],
            dates[-1],
            " / ".join(hardware),
            " / ".join(sorted({r["dataset"]["source"] for r in records})),
        )

    def text(self) -> str:
        when = self.first if self.first == self.last else f"{self.first} to {self.last}"
        return f"Runs made {when} on {self.hardware}; data: {self.source}."


def table_provenance(records: Sequence[Record], key: TableKey) -> str:
    """Where and when the board runs of one table were made (empty without any)."""
    mine = [r for r in board_records(records) if record_table(r) == key]
    return Provenance.of(mine).text() if mine else ""


def table_notes(key: TableKey, table: Sequence[LeaderboardRow]) -> list[str]:
    """What a table's caption says beside its name: not a published config, the family's
    note on its data (:func:`family_note`), and what its unranked rows mean
    (:func:`unranked_note`)."""
    notes = [] if table[0].published else ["Not a published config."]
    generated = any(row.source == "generated" for row in table)
    notes += [note] if (note := family_note(key, generated)) else []
    notes += [note] if (note := unranked_note(table)) else []
    return notes


def family_note(key: TableKey, generated: bool) -> str | None:
    """The family's note on a table's data (a grid coarser than the published one,
    generated data of other physics); ``generated``: some rows ran on generated data."""
    from opbench.data import DATASETS

    if key[0] not in DATASETS:
        return None
    try:
        return DATASETS.get(key[0]).table_note(key[1], generated)
    except ConfigError:  # a config this opbench cannot parse (a newer one's): no note
        return None


def unranked_note(table: Sequence[LeaderboardRow]) -> str | None:
    """Why a table has no ranked row (:func:`no_ranked_note`), or a warning when unranked
    rows have a lower mean primary error than the best ranked row, so that rank 1 is not
    read as the best model; ``None`` otherwise."""
    ranked = [row for row in table if row.ranked and row.primary.mean is not None]
    if not ranked:
        return no_ranked_note(table)
    top = min(ranked, key=lambda row: row.primary.mean)
    better = [
        row.model
        for row in table
        if not row.ranked and row.primary.mean is not None and row.primary.mean < top.primary.mean
    ]
    if not better:
        return None
    models = ", ".join(dict.fromkeys(better))
    return (
        f"Unranked rows of {models} have a lower mean {top.primary_metric} than the "
        f"best ranked row ({top.model}): they lack convergence evidence or three seeds, "
        "so the ranks order the ranked rows only."
    )


def no_ranked_note(table: Sequence[LeaderboardRow]) -> str:
    """Why no row of a table is ranked, so that its "–" ranks are not read as a tie: a
    row needs :data:`MIN_RANKED_SEEDS` counted seeds and, when trained, convergence
    evidence (:attr:`LeaderboardRow.ranked`)."""
    seeds = max(row.n for row in table)
    why = (
        f"no row here has more than {plural(seeds, 'seed')}"
        if seeds < MIN_RANKED_SEEDS
        else f"the rows here with {MIN_RANKED_SEEDS} seeds lack that evidence"
    )
    return (
        f"No row is ranked: a rank needs {MIN_RANKED_SEEDS} seeds and, for a trained "
        f"model, convergence evidence; {why}. The rows are ordered by mean only."
    )


def render_markdown(
    rows: Sequence[LeaderboardRow],
    family: str,
    date: datetime.date | None = None,
    shifts: Sequence[ShiftRow] = (),
    figures: Mapping[TableKey, EqualAccuracyFigure] | None = None,
    transfers: Sequence[TransferRow] = (),
    records: Sequence[Record] = (),
) -> str:
    """The Markdown leaderboard of ``family``: one table per (config, task, data), then one
    distribution-shift table per (config, task, test config).

    ``rows`` come from :func:`~opbench.results.leaderboard.leaderboard_rows`, ``shifts``
    from :func:`~opbench.results.shift.shift_rows`, ``figures`` (by table) from
    :func:`~opbench.results.solver_plot.equal_accuracy_figures`, ``transfers`` from
    :func:`~opbench.results.transfer.transfer_rows`; ``records`` (every role) give each
    table's count of runs tried and its provenance; ``date`` (default today, UTC) stamps
    the "generated from" line.
    """
    family_rows = [row for row in rows if row.family == family]
    if not family_rows:
        raise unknown_name("dataset family", family, {row.family for row in rows})
    date = date or _today()
    n_records = sum(row.n + row.n_diverged for row in family_rows)
    counts = role_counts(records)
    lines = [
        f"# {family} leaderboard",
        "",
        f"Generated on {date.isoformat()} from {plural(n_records, 'board record')}.",
        "",
        PROTOCOL_TEXT,
        "",
        READING_TEXT,
        "",
        "Each row aggregates the seeds of one model, preset, hyperparameter set (hparams) and "
        "budget on one dataset (data fingerprint). Metrics are the mean over test samples, "
        "then mean ± std over seeds (std needs two seeds); ↓ marks errors (lower is better), "
        "↑ scores (higher is better), (value) predicted quantities. Diverged runs are "
        "counted, not averaged. Costs are means over seeds.",
        "",
        RANKING_TEXT,
        "",
        EQUAL_ACCURACY_TEXT,
    ]
    tables = group_tables(family_rows)
    for key, table in tables.items():
        tested = ranking_label(table[0].tested)
        lines += ["", f"## {table_label(key, tables)}", ""]
        lines += [" ".join(notes)] if (notes := table_notes(key, table)) else []
        lines += [
            "",
            f"Primary metric: `{table[0].primary_metric}` ({tested}). "
            + (table_provenance(records, key) + " " if records else "")
            + (runs_text(counts[key]) if key in counts else ""),
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
    return "\n".join(line for line in lines) + "\n"


def curve_text(curve: SolverCurve) -> str:
    """Where and how a solver curve was measured, in one sentence."""
    return (
        f"Solver curve measured {curve.measured[:10]} on {curve.cpu}, "
        f"{plural(curve.workers, 'process')} in parallel, 1-minute load average "
        f"{curve.load_average:g} at the start, {curve.n_samples} test samples."
    )


def curve_cells(point: SolverPoint) -> dict[str, str]:
    """Column → text of one solver setting (the Markdown and the HTML tables)."""
    return {
        "solver setting": point.name,
        "ms / sample": number(1e3 * point.seconds_per_sample, 3),
        "error": number(point.error, 3),
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
        "in-distribution (mean ± std)": mean_std(row.in_distribution.mean, row.in_distribution.std),
        "shifted (mean ± std)": mean_std(row.shifted.mean, row.shifted.std),
        "shifted 95 % interval": interval_text(row.interval),
        "shifted ÷ in-distribution": number(row.ratio, 3),
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
        "trained (mean ± std)": mean_std(row.in_distribution.mean, row.in_distribution.std),
        "direct (mean ± std)": mean_std(row.direct.mean, row.direct.std),
        "yardstick (mean ± std)": mean_std(row.yardstick.mean, row.yardstick.std),
        "direct vs yardstick": row.verdict,
        "gap": number(row.gap, 3),
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
