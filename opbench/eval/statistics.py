"""Statistics that do not overclaim: bootstrap intervals and tie-aware ranks.

**A run's interval.** The 95 % bootstrap interval of the mean test error over the test
samples (:func:`run_interval`, ``scipy.stats.bootstrap``, BCa, seeded).

**A row's interval and the ranks.** A board row holds S seeds of one model, each with
per-sample errors e[s, i] on the same N test samples as every other row of its table.
Its mean is ē = (1/S) Σ_s (1/N) Σ_i e[s, i]. A hierarchical bootstrap (Davison &
Hinkley 1997, §3.8) draws test samples i*₁ … i*_N with replacement (the same draw for
every row of the table: the comparison is paired on the test samples) and, for each row
separately, seeds s*₁ … s*_S with replacement; the draw's mean is
(1/S) Σ_k (1/N) Σ_j e[s*_k, i*_j]. This accounts for both seed-to-seed and
sample-to-sample variation, without averaging over seeds first.

* The row's interval: the 2.5 and 97.5 percentiles of its draws.
* Two rows A and B: the draws of d = ē_A − ē_B give the two-sided p-value
  p = min(1, 2·min(P*(d ≤ 0), P*(d ≥ 0))), with P* counted as (count + 1)/(draws + 1) so
  that p is never 0 (the inversion of the percentile interval of d).
* Holm's step-down procedure (Holm 1979) controls the family-wise error over all pairs
  of the table: with the m p-values sorted, p₍ⱼ₎ is rejected when every p₍ₗ₎ ≤ α/(m − l + 1)
  for l ≤ j.
* A row's rank is 1 + the number of rows significantly better than it (rejected, and a
  lower mean). Rows may share a rank; a shared rank is written ``2=``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import stats

ALPHA = 0.05
"""Family-wise error rate of a table's pairwise comparisons."""
CONFIDENCE = 0.95
DRAWS = 10_000
"""Bootstrap draws of a table's hierarchical bootstrap."""
SEED = 0


def run_interval(
    errors: np.ndarray, confidence: float = CONFIDENCE, seed: int = SEED
) -> tuple[float, float]:
    """The bootstrap interval (BCa, 9 999 resamples, seeded) of the mean of one run's
    per-sample test errors; a single sample or identical values give (mean, mean)."""
    errors = np.asarray(errors, dtype=np.float64)
    if errors.size < 2 or np.all(errors == errors[0]):
        mean = float(errors.mean())
        return mean, mean
    result = stats.bootstrap(
        (errors,),
        np.mean,
        confidence_level=confidence,
        n_resamples=9_999,
        method="BCa",
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def row_draws(
    rows: Mapping[str, np.ndarray], draws: int = DRAWS, seed: int = SEED
) -> dict[str, np.ndarray]:
    """The hierarchical bootstrap draws (``draws``,) of each row's mean (module docstring);
    each row is an (S, N) array of per-sample errors, seeds by test samples, and every row
    has the same N test samples in the same order."""
    sizes = {name: np.asarray(e).shape[-1] for name, e in rows.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"rows are not on the same test samples: {sizes}")
    rng = np.random.default_rng(seed)
    n = next(iter(sizes.values()))
    samples = rng.integers(0, n, size=(draws, n))  # shared: paired on the test samples
    result = {}
    for name, errors in rows.items():
        errors = np.atleast_2d(np.asarray(errors, dtype=np.float64))
        per_seed = errors[:, samples].mean(axis=2)  # (S, draws)
        seeds = rng.integers(0, len(errors), size=(draws, len(errors)))
        result[name] = per_seed[seeds, np.arange(draws)[:, None]].mean(axis=1)
    return result


def difference_p_value(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided bootstrap p-value of mean(A) = mean(B) from paired draws of both means."""
    d = np.asarray(a) - np.asarray(b)
    below = (np.count_nonzero(d <= 0) + 1) / (len(d) + 1)
    above = (np.count_nonzero(d >= 0) + 1) / (len(d) + 1)
    return min(1.0, 2 * min(below, above))


def holm_rejections(p_values: Mapping[tuple[str, str], float], alpha: float = ALPHA) -> set:
    """The pairs whose hypotheses Holm's step-down procedure rejects at family-wise
    ``alpha``."""
    ordered = sorted(p_values.items(), key=lambda item: item[1])
    m, rejected = len(ordered), set()
    for j, (pair, p) in enumerate(ordered):
        if p > alpha / (m - j):
            break
        rejected.add(pair)
    return rejected


@dataclass(frozen=True)
class RankedRow:
    """A row's place in its table.

    Attributes:
        mean: the mean over seeds and test samples.
        low, high: its hierarchical bootstrap interval.
        rank: 1 + the rows significantly better; ``tied``: another row shares it.
        better_than: rows it is significantly better than.
    """

    mean: float
    low: float
    high: float
    rank: int
    tied: bool
    better_than: tuple[str, ...]

    @property
    def label(self) -> str:
        """``3`` or, when shared, ``3=``."""
        return f"{self.rank}=" if self.tied else str(self.rank)


def rank_rows(
    rows: Mapping[str, np.ndarray],
    alpha: float = ALPHA,
    draws: int = DRAWS,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
) -> dict[str, RankedRow]:
    """Tie-aware ranks of a table's rows (lower error is better; module docstring)."""
    means = {name: float(np.mean(np.asarray(e, dtype=np.float64))) for name, e in rows.items()}
    boot = row_draws(rows, draws, seed)
    p_values = {
        (a, b): difference_p_value(boot[a], boot[b]) for a, b in combinations(sorted(rows), 2)
    }
    rejected = holm_rejections(p_values, alpha)
    better = {name: [] for name in rows}
    for a, b in rejected:
        winner, loser = (a, b) if means[a] < means[b] else (b, a)
        better[winner].append(loser)
    beaten_by = {name: sum(name in losers for losers in better.values()) for name in rows}
    ranks = {name: 1 + beaten_by[name] for name in rows}
    tail = (1 - confidence) / 2 * 100
    return {
        name: RankedRow(
            mean=means[name],
            low=float(np.percentile(boot[name], tail)),
            high=float(np.percentile(boot[name], 100 - tail)),
            rank=ranks[name],
            tied=sum(r == ranks[name] for r in ranks.values()) > 1,
            better_than=tuple(sorted(better[name])),
        )
        for name in rows
    }
