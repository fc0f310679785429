"""The board's plots, drawn with matplotlib as deterministic SVG text.

Every figure is saved with text as text (``svg.fonttype = none``), ids salted with a
constant and no date, so the same records give the same bytes. Rows are told apart by
colour and marker in a legend beside the axes, so no label can overlap a point or another
label. Rows that are not ranked (not converged) are drawn with hollow markers and say so
in the legend.

- :func:`cost_figure`: a table's primary metric against parameter count and against
  inference time per sample (log–log, error bars ± std over seeds);
- :func:`rollout_figure`: the primary metric against autoregressive rollout step;
- the error-against-time figure of the solver comparison is in
  :mod:`opbench.results.solver_plot`, drawn with the same settings.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from opbench.results.leaderboard import COUNTED_STATUSES, LeaderboardRow, Record, Stat
from opbench.results.plots import scale_axis

MARKERS = "osD^vP*Xh<>p"
SVG_SETTINGS = {"svg.fonttype": "none", "svg.hashsalt": "opbench", "font.size": 9}


def svg_text(fig: Figure) -> str:
    """``fig`` as SVG text from its ``<svg`` element on, without matplotlib's RDF
    metadata (deterministic), closing it."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return re.sub(r"\s*<metadata>.*?</metadata>", "", text[text.index("<svg") :], flags=re.S)


def row_label(row: LeaderboardRow, rows: Sequence[LeaderboardRow]) -> str:
    """The legend label of a row: the model, with its preset and budget where the model
    has several rows, and ``(not ranked)`` for a row that is not ranked."""
    label = row.model
    if sum(other.model == row.model for other in rows) > 1:
        label += f" ({row.preset}, {row.budget})"
    return label if row.ranked else f"{label} (not ranked)"


def _style(index: int, row: LeaderboardRow) -> dict[str, object]:
    colour = f"C{index % 10}"
    return {
        "marker": MARKERS[index % len(MARKERS)],
        "color": colour,
        "markerfacecolor": colour if row.ranked else "white",
        "markeredgecolor": colour,
    }


def cost_figure(rows: Sequence[LeaderboardRow]) -> str | None:
    """The primary metric (mean ± std over seeds) against parameter count and against
    inference time per sample, one point per row with both quantities positive; ``None``
    when no row has a positive mean and a positive cost."""
    metric = rows[0].primary_metric
    panels: list[tuple[str, Callable[[LeaderboardRow], float | None]]] = [
        ("trainable parameters", lambda row: row.params),
        ("inference time per sample (ms)", lambda row: row.infer_ms_per_sample),
    ]
    plotted = [
        row
        for row in rows
        if (row.primary.mean or 0) > 0 and any((cost(row) or 0) > 0 for _, cost in panels)
    ]
    if not plotted:
        return None
    with plt.rc_context(SVG_SETTINGS):
        fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.6), sharey=True)
        for ax, (title, cost) in zip(axes, panels, strict=True):
            for index, row in enumerate(rows):
                x, y = cost(row), row.primary.mean
                if row not in plotted or not x or x <= 0:
                    continue
                ax.errorbar(
                    x,
                    y,
                    yerr=row.primary.std if row.primary.std else None,
                    linestyle="none",
                    capsize=2,
                    markersize=6,
                    label=row_label(row, rows),
                    **_style(index, row),
                )
            scale_axis(ax, "x")
            scale_axis(ax, "y")
            ax.set_xlabel(title)
            ax.grid(True, which="major", color="#eaeef2")
        axes[0].set_ylabel(f"test {metric} (mean ± std over seeds)")
        handles, labels = axes[1].get_legend_handles_labels()
        more_handles, more_labels = axes[0].get_legend_handles_labels()
        for handle, label in zip(more_handles, more_labels, strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
        fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0, 0.95), frameon=False)
        fig.tight_layout()
        return svg_text(fig)


def mean_curve(runs: Sequence[Record], metric: str) -> list[float | None]:
    """Per-step mean over runs of a rollout curve, skipping nulls."""
    curves = [run["rollout"]["curves"].get(metric) or [] for run in runs]
    length = max((len(curve) for curve in curves), default=0)
    return [
        Stat.of(curve[step] for curve in curves if step < len(curve)).mean for step in range(length)
    ]


def rollout_figure(rows: Sequence[LeaderboardRow], by_id: dict[str, Record]) -> str | None:
    """The primary metric against rollout step (log scale), one line per row (the mean
    over its counted runs' curves); ``None`` when no run of the table has a rollout curve
    of the primary metric."""
    metric = rows[0].primary_metric
    series = []
    for index, row in enumerate(rows):
        runs = [
            by_id[run_id]
            for run_id in row.run_ids
            if by_id[run_id].get("rollout") is not None
            and by_id[run_id]["train"]["status"] in COUNTED_STATUSES
        ]
        curve = mean_curve(runs, metric)
        points = [(step, v) for step, v in enumerate(curve, start=1) if v is not None and v > 0]
        if points:
            series.append((index, row, points))
    if not series:
        return None
    with plt.rc_context(SVG_SETTINGS):
        fig, ax = plt.subplots(figsize=(6.0, 3.6))
        for index, row, points in series:
            steps, values = zip(*points, strict=True)
            ax.plot(steps, values, markersize=4, label=row_label(row, rows), **_style(index, row))
        scale_axis(ax, "y")
        ax.set_xlabel("rollout step")
        ax.set_ylabel(f"test {metric} (mean over seeds)")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(True, which="major", color="#eaeef2")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
        return svg_text(fig)
