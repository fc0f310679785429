"""The board's error-against-time figure per table: the numerical solver's cost–accuracy
curve with each model as a point (:mod:`opbench.eval.equal_accuracy`).

Drawn with matplotlib as deterministic SVG (:func:`opbench.results.figures.svg_text`).
Models are told apart by colour and marker in the legend, so no label can overlap a point.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt

from opbench.eval.equal_accuracy import SolverCurve
from opbench.results.figures import MARKERS, SVG_SETTINGS, row_label, svg_text
from opbench.results.leaderboard import LeaderboardRow, Record, TableKey, group_tables
from opbench.results.plots import scale_axis
from opbench.results.text import plural

FIGURE_SUFFIX = "-equal-accuracy.svg"


@dataclass(frozen=True)
class ModelPoint:
    """A row on the figure: mean over its runs of the model's error and inference time."""

    label: str
    seconds_per_sample: float
    error: float
    speedup: float | None


@dataclass(frozen=True)
class EqualAccuracyFigure:
    """One table's figure: the SVG text, the curve it shows and the model points."""

    name: str
    svg: str
    curve: SolverCurve
    models: list[ModelPoint]


def figure_name(family: str, config: str, task: str, fingerprint: str) -> str:
    """The figure's file name beside the Markdown pages."""
    parts = (family, config, task, fingerprint[:8])
    slug = "-".join(re.sub(r"[^a-z0-9.]+", "_", part.lower()) for part in parts)
    return f"{slug}{FIGURE_SUFFIX}"


def _model_points(rows: Sequence[LeaderboardRow], by_id: dict[str, Record]) -> list[ModelPoint]:
    points = []
    for row in rows:
        sections = [
            by_id[run]["equal_accuracy"]
            for run in row.run_ids
            if by_id[run].get("equal_accuracy") is not None
        ]
        if not sections:
            continue
        n = len(sections)
        speedups = [s["speedup"] for s in sections if s["speedup"] is not None]
        points.append(
            ModelPoint(
                label=row_label(row, rows),
                seconds_per_sample=sum(s["model_seconds_per_sample"] for s in sections) / n,
                error=sum(s["model_error"] for s in sections) / n,
                speedup=sum(speedups) / len(speedups) if len(speedups) == n else None,
            )
        )
    return points


def _svg(curve: SolverCurve, models: Sequence[ModelPoint]) -> str:
    with plt.rc_context(SVG_SETTINGS):
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        floor = min(p.error for p in curve.points if p.error > 0) / 2
        off = [p for p in curve.points if not p.envelope]
        envelope = curve.envelope
        if off:
            ax.scatter(
                [1e3 * p.seconds_per_sample for p in off],
                [max(p.error, floor) for p in off],
                color="#bab0ac",
                s=18,
                label="solver settings off the envelope",
            )
        ax.plot(
            [1e3 * p.seconds_per_sample for p in envelope],
            [max(p.error, floor) for p in envelope],
            color="black",
            marker="o",
            markersize=4,
            label="solver: lower envelope",
        )
        for i, model in enumerate(models):
            ax.scatter(
                1e3 * model.seconds_per_sample,
                model.error,
                marker=MARKERS[i % len(MARKERS)],
                s=46,
                color=f"C{i % 10}",
                label=model.label,
                zorder=3,
            )
        ax.set_yscale("log")
        scale_axis(ax, "x")
        ax.set_xlabel(f"time per test sample (ms, {plural(curve.workers, 'core')})")
        ax.set_ylabel(f"test {curve.metric} (mean over samples)")
        ax.grid(True, which="major", color="#eaeef2")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
        return svg_text(fig)


def equal_accuracy_figures(
    rows: Sequence[LeaderboardRow], records: Sequence[Record]
) -> dict[TableKey, EqualAccuracyFigure]:
    """A figure for each table whose runs carry an ``equal_accuracy`` section; the curve is
    the one of the table's first such run (a table holds one data fingerprint)."""
    by_id = {record["run_id"]: record for record in records}
    figures = {}
    for key, table in group_tables(rows).items():
        models = _model_points(table, by_id)
        if not models:
            continue
        first = next(
            by_id[run]["equal_accuracy"]
            for row in table
            for run in row.run_ids
            if by_id[run].get("equal_accuracy") is not None
        )
        curve = SolverCurve.model_validate(first["curve"], strict=False)
        figures[key] = EqualAccuracyFigure(figure_name(*key), _svg(curve, models), curve, models)
    return figures
