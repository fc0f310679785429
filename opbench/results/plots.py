"""Figures written beside each run record: the loss curve and a few test samples."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter
from torch import Tensor

from opbench.io import atomic_path


def _save(fig: plt.Figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format=path.suffix.lstrip("."))
    plt.close(fig)


def scale_axis(ax: Axes, which: str) -> None:
    """Set the ``x`` or ``y`` axis of ``ax`` from its data: log, with ticks at 1, 2 and 5 ×
    10ⁿ (at 10ⁿ only beyond three decades) labelled as plain numbers (:func:`tick_text`)
    and unlabelled minor ticks, so that no two tick labels overlap; or linear where the
    data span less than a factor 5 (a log axis would label at most one tick there) or are
    not all positive."""
    axis = getattr(ax, f"{which}axis")
    lo, hi = axis.get_data_interval()
    if not (np.isfinite(lo) and np.isfinite(hi) and lo > 0) or hi / lo < 5:
        getattr(ax, f"set_{which}scale")("linear")
        axis.set_major_locator(MaxNLocator(nbins=5))
    else:
        getattr(ax, f"set_{which}scale")("log")
        wide = np.log10(hi / lo) > 3  # 1, 2 and 5 × 10ⁿ would crowd more than 3 decades
        axis.set_major_locator(LogLocator(subs=(1.0,) if wide else (1.0, 2.0, 5.0)))
        axis.set_minor_formatter(NullFormatter())
    axis.set_major_formatter(FuncFormatter(lambda value, _: tick_text(value)))


def tick_text(value: float) -> str:
    """A short tick label: ``0.25``, ``2e-05``, ``500k``, ``1.2M``."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def plot_loss_curve(history: Sequence[dict[str, Any]], path: Path, metric: str) -> None:
    """Training loss (normalised units, left axis) and validation metric (physical units,
    right axis) per epoch, both on log scales, the kept (best) epoch marked. Epochs are
    numbered as the CLI and the record number them (1 … E)."""
    fig, loss_ax = plt.subplots(figsize=(6.4, 4), layout="constrained")
    val_ax = loss_ax.twinx()
    train = [(h["epoch"], h["train_loss"]) for h in history if h["train_loss"] is not None]
    val = [(h["epoch"], h["val"]) for h in history if h["val"] is not None]
    handles = []
    if train:
        handles += loss_ax.plot(
            *zip(*train, strict=True), marker=".", color="C0", label="training loss"
        )
    if val:
        handles += val_ax.plot(
            *zip(*val, strict=True), marker=".", color="C1", label=f"validation {metric}"
        )
        best_epoch, _ = min(val, key=lambda item: item[1])
        handles.append(
            loss_ax.axvline(
                best_epoch, color="grey", linestyle=":", label=f"kept: epoch {best_epoch}"
            )
        )
    scale_axis(loss_ax, "y")
    scale_axis(val_ax, "y")
    loss_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("training loss (normalised units)", color="C0")
    val_ax.set_ylabel(f"validation {metric} (physical units)", color="C1")
    loss_ax.grid(alpha=0.3)
    loss_ax.legend(handles=handles, loc="upper right")
    _save(fig, path)


def plot_samples(
    inputs: Tensor,
    targets: Tensor,
    predictions: Tensor,
    input_names: Sequence[str],
    output_names: Sequence[str],
    path: Path,
    titles: Sequence[str],
    title: str,
    axes_order: str = "xy",
) -> None:
    """One row per sample (``titles`` label the rows, ``title`` the figure): each input
    channel, then target, prediction and error of each output channel; target and
    prediction share colour limits, the error map is symmetric. The layout engine keeps
    each colour bar beside its own panel.
    Arrays are indexed [i, j] with i along x (``axes_order="xy"``, ConDiff) or along y
    (``"yx"``, CFDBench frames), drawn with x to the right and y up."""
    n = inputs.shape[0]
    columns = len(input_names) + 3 * len(output_names)
    fig, axes = plt.subplots(
        n, columns, figsize=(2.6 * columns, 2.4 * n + 0.4), squeeze=False, layout="constrained"
    )
    fig.suptitle(title, fontsize=10)
    for row in range(n):
        panels = [(name, inputs[row, c], "viridis", None) for c, name in enumerate(input_names)]
        for c, name in enumerate(output_names):
            target, prediction = targets[row, c], predictions[row, c]
            error = prediction - target
            limits = (float(target.min()), float(target.max()))
            largest = float(error.abs().max())
            panels += [
                (f"target {name}", target, "viridis", limits),
                (f"prediction {name}", prediction, "viridis", limits),
                (f"error {name}", error, "RdBu_r", (-largest, largest)),
            ]
        for col, (label, image, cmap, limits) in enumerate(panels):
            ax = axes[row, col]
            vmin, vmax = limits if limits else (None, None)
            array = np.asarray(image)
            shown = ax.imshow(
                array.T if axes_order == "xy" else array,
                origin="lower",
                cmap=cmap,
                vmin=vmin,
                vmax=vmax,
            )
            fig.colorbar(shown, ax=ax, shrink=0.85)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(label if row == 0 else "", fontsize=8)
        axes[row, 0].set_ylabel(titles[row], fontsize=8)
    _save(fig, path)


def plot_rollout(
    curves: dict[str, Sequence[float | None]],
    path: Path,
    delta_t: float,
    metric: str,
    persistence: Sequence[float | None] | None = None,
) -> None:
    """The per-step error curve of a rollout (log scale), with the identity baseline's
    curve (the start state held fixed) for reference."""
    fig, ax = plt.subplots(figsize=(6, 4))
    lines = [(curves[metric], "model", "-")]
    if persistence is not None:
        lines.append((persistence, "identity (start state held)", "--"))
    for values, label, style in lines:
        steps = [s + 1 for s, v in enumerate(values) if v is not None]
        kept = [v for v in values if v is not None]
        ax.plot(steps, kept, marker=".", linestyle=style, label=f"{label}: {metric}")
    ax.set_yscale("log")
    ax.set_xlabel(f"rollout step (Δt = {delta_t:g} s)")
    ax.set_ylabel(f"{metric} (mean over test cases)")
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, path)


def plot_point_samples(
    positions: Tensor,
    targets: Tensor,
    predictions: Tensor,
    valid: Tensor,
    output_names: Sequence[str],
    path: Path,
    window: Sequence[float],
    title: str,
) -> None:
    """Point clouds (AirfRANS): one row per output field of the first test sample, showing
    target, prediction and error at the nodes inside ``window`` = (x0, x1, y0, y1);
    ``title`` names the figure."""
    keep = valid.bool()
    x, y = (positions[c][keep].numpy() for c in (0, 1))
    fig, axes = plt.subplots(
        len(output_names),
        3,
        figsize=(12, 2.6 * len(output_names) + 0.4),
        squeeze=False,
        layout="constrained",
    )
    fig.suptitle(title, fontsize=10)
    for row, name in enumerate(output_names):
        target = targets[row][keep].numpy()
        prediction = predictions[row][keep].numpy()
        error = prediction - target
        largest = float(np.abs(error).max()) or 1.0
        limits = (float(target.min()), float(target.max()))
        panels = [
            (f"target {name}", target, "viridis", limits),
            (f"prediction {name}", prediction, "viridis", limits),
            (f"error {name}", error, "RdBu_r", (-largest, largest)),
        ]
        for col, (label, values, cmap, (vmin, vmax)) in enumerate(panels):
            ax = axes[row, col]
            shown = ax.scatter(x, y, c=values, s=1.5, cmap=cmap, vmin=vmin, vmax=vmax)
            fig.colorbar(shown, ax=ax, shrink=0.85)
            ax.set_xlim(window[0], window[1])
            ax.set_ylim(window[2], window[3])
            ax.set_aspect("equal")
            ax.set_title(label, fontsize=8)
    _save(fig, path)
