"""How the board writes numbers and counts: significant digits, mean ± std, percentages,
durations, speedups and plurals, the same in Markdown, HTML and the figures."""

from __future__ import annotations

import math

DASH = "—"
"""Shown for a missing value (a std over one seed, a metric of a diverged row)."""


def number(value: float | None, digits: int = 4) -> str:
    """``value`` to ``digits`` significant digits, trailing zeros kept (``0.1200``);
    values of ``digits`` or more integer digits in full, up to 1e9."""
    if value is None or not math.isfinite(value):
        return DASH
    if 10**digits <= abs(float(f"{value:.{digits}g}")) < 1e9:
        return f"{value:.0f}"
    return f"{value:#.{digits}g}".rstrip(".")


def mean_std(mean: float | None, std: float | None) -> str:
    """``0.1200 ± 0.020``: the mean to 4 significant digits, the std to 2 (``± 0`` when
    the seeds agree exactly); the mean alone for one seed (no std)."""
    if mean is None:
        return DASH
    if std is None:
        return number(mean)
    return f"{number(mean)} ± {'0' if std == 0 else number(std, 2)}"


def percent(fraction: float) -> str:
    """``0.0019`` → ``0.19 %``, two significant digits; ``0 %`` for zero."""
    return "0 %" if fraction == 0 else f"{100 * fraction:.2g} %"


def plural(n: int, word: str) -> str:
    """``1 record``, ``3 records``, ``2 processes``."""
    return f"{n} {word}{'' if n == 1 else 'es' if word.endswith('s') else 's'}"


def interval_text(interval: tuple[float, float] | None) -> str:
    """``[0.1210, 0.1305]``, or a dash for an untested row."""
    if interval is None:
        return DASH
    return f"[{number(interval[0])}, {number(interval[1])}]"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    if seconds < 60:
        return f"{seconds:.3g} s"
    if seconds < 3600:
        return f"{seconds / 60:.3g} min"
    return f"{seconds / 3600:.3g} h"


def speedup_text(value: float | None) -> str:
    return DASH if value is None else f"{number(value, 3)}×"
