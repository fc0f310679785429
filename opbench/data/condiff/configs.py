"""ConDiff config names and what they mean.

A diffusion config is named ``<covariance><variance>_grid<g>`` (variance printed with one
decimal, e.g. ``cubic1.0_grid64``); a Poisson config (k ≡ 1) is ``poisson_grid<g>``.
``_paired_grid<g>`` instead of ``_grid<g>`` names opbench's paired variant for resolution
transfer (:mod:`~opbench.data.condiff.paired`), on the nested grids g ∈ {15, 31, 63, 127}. The
published dataset (Trifonov et al. 2024, arXiv 2406.04709) has 26 configs: three covariance
models × four variances × grids 64 and 128, plus Poisson at both grids. Each variance comes
with the contrast window its fields are accepted in (rejection sampling on
contrast = max k / min k), identical for both grids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from opbench.errors import ConfigError, unknown_name

COVARIANCE_NAMES = ("cubic", "exponential", "gaussian")
PUBLISHED_GRIDS = (64, 128)
CORRELATION_LENGTH = 0.05
"""Correlation length l of every published covariance model."""

CONTRAST_WINDOWS: dict[str, tuple[float, float]] = {
    "0.1": (5.0, 15.0),
    "0.4": (50.0, 250.0),
    "1.0": (600.0, 1000.0),
    "2.0": (80000.0, 100000.0),
}
"""Accepted contrast interval [low, high] (inclusive) per variance, as printed in names."""

MIN_GRID = 4

PUBLISHED_CONFIGS: tuple[str, ...] = (
    *(
        f"{cov}{var}_grid{grid}"
        for cov in COVARIANCE_NAMES
        for var in CONTRAST_WINDOWS
        for grid in PUBLISHED_GRIDS
    ),
    *(f"poisson_grid{grid}" for grid in PUBLISHED_GRIDS),
)

PAIRED_GRIDS = (15, 31, 63, 127)
"""Grids of the paired variant: g = 2ⁿ − 1, so that the (g+1)² cells of a grid nest in the
next finer one's."""

_DIFFUSION = re.compile(
    r"(?P<cov>[a-z]+)(?P<var>\d+\.\d)_(?P<paired>paired_)?grid(?P<grid>[1-9]\d*)"
)
_POISSON = re.compile(r"poisson_(?P<paired>paired_)?grid(?P<grid>[1-9]\d*)")

GRAMMAR = (
    "ConDiff config names are '<covariance><variance>_grid<g>' with covariance in "
    f"{{{', '.join(COVARIANCE_NAMES)}}}, variance in {{{', '.join(CONTRAST_WINDOWS)}}} "
    f"(one decimal) and any grid g >= {MIN_GRID}, or 'poisson_grid<g>'; "
    "e.g. 'cubic0.1_grid64', 'poisson_grid128'. opbench's paired variant for resolution "
    f"transfer puts 'paired_' before 'grid', with g in {{{', '.join(map(str, PAIRED_GRIDS))}}}: "
    "'cubic0.1_paired_grid63'."
)


@dataclass(frozen=True)
class ConDiffConfig:
    """One ConDiff config.

    Attributes:
        name: the config name, e.g. ``cubic0.1_grid64``.
        covariance: GRF covariance model of φ (k = exp φ); ``None`` for Poisson (k ≡ 1).
        variance: σ² of φ; ``None`` for Poisson.
        grid: g; the coefficient lives on (g+1)×(g+1) cells, the solution on g×g interior
            vertices of the unit square (h = 1/(g+1)).
        contrast_window: accepted [min, max] of contrast = exp(max φ − min φ); ``None`` for
            Poisson.
        correlation_length: l in the covariance C(|d|/l).
        paired: opbench's paired variant (nested grids, smooth right-hand side), not a
            published config.
    """

    name: str
    covariance: str | None
    variance: float | None
    grid: int
    contrast_window: tuple[float, float] | None
    correlation_length: float = CORRELATION_LENGTH
    paired: bool = False

    @property
    def is_poisson(self) -> bool:
        return self.covariance is None

    @property
    def published(self) -> bool:
        """Whether the name is one of the 26 published configs (grids 64 and 128)."""
        return self.name in PUBLISHED_CONFIGS


def _invalid(name: str, reason: str) -> ConfigError:
    base = unknown_name("ConDiff config", name, PUBLISHED_CONFIGS)
    return ConfigError(f"{base} {reason} {GRAMMAR}")


def _check_grid(name: str, grid: str, paired: bool) -> int:
    value = int(grid)
    if value < MIN_GRID:
        raise _invalid(name, f"Grid {value} is below the minimum {MIN_GRID}.")
    if paired and value not in PAIRED_GRIDS:
        raise _invalid(name, f"The paired variant's grids are {PAIRED_GRIDS}, not {value}.")
    return value


def parse_config(name: str) -> ConDiffConfig:
    """The :class:`ConDiffConfig` named ``name``; a ConfigError explains the grammar if invalid.

    Any grid ≥ 4 is accepted (small grids are for tests); only the four published variances
    are, because only they have a contrast window.
    """
    if match := _POISSON.fullmatch(name):
        paired = match["paired"] is not None
        grid = _check_grid(name, match["grid"], paired)
        return ConDiffConfig(name, None, None, grid, None, paired=paired)
    match = _DIFFUSION.fullmatch(name)
    if match is None:
        raise _invalid(name, "The name does not follow the grammar.")
    if match["cov"] not in COVARIANCE_NAMES:
        raise _invalid(name, f"Unknown covariance model {match['cov']!r}.")
    if match["var"] not in CONTRAST_WINDOWS:
        raise _invalid(name, f"Variance {match['var']} has no published contrast window.")
    paired = match["paired"] is not None
    grid = _check_grid(name, match["grid"], paired)
    return ConDiffConfig(
        name=name,
        covariance=match["cov"],
        variance=float(match["var"]),
        grid=grid,
        contrast_window=CONTRAST_WINDOWS[match["var"]],
        paired=paired,
    )
