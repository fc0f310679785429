"""Bootstrap intervals and tie-aware ranks on constructed cases (opbench.eval.statistics)."""

import numpy as np
import pytest

from opbench.eval.statistics import (
    difference_p_value,
    holm_rejections,
    rank_rows,
    row_draws,
    run_interval,
)

N = 200


def errors(mean: float, spread: float, seeds: int = 3, seed: int = 0) -> np.ndarray:
    """(seeds, N) positive per-sample errors around ``mean``."""
    rng = np.random.default_rng(seed)
    return mean * np.exp(spread * rng.standard_normal((seeds, N)))


def test_a_run_interval_covers_the_mean_and_shrinks_with_more_samples():
    rng = np.random.default_rng(1)
    values = rng.exponential(0.1, 4000)
    low, high = run_interval(values[:100])
    assert low < values[:100].mean() < high
    wide, narrow = high - low, np.subtract(*run_interval(values)[::-1])
    assert narrow < wide / 4  # ~ 1/sqrt(40) of the width
    assert run_interval(np.full(5, 0.3)) == (0.3, 0.3)


def test_a_run_interval_is_close_to_the_normal_theory_one():
    """For a large normal sample the BCa interval ≈ mean ± 1.96 σ/√n."""
    values = np.random.default_rng(2).normal(1.0, 0.2, 2000)
    low, high = run_interval(values)
    half = 1.96 * values.std(ddof=1) / np.sqrt(len(values))
    assert low == pytest.approx(values.mean() - half, abs=half * 0.1)
    assert high == pytest.approx(values.mean() + half, abs=half * 0.1)


def test_identical_errors_tie():
    same = errors(0.1, 0.3)
    ranked = rank_rows({"a": same, "b": same.copy(), "c": same.copy()})
    assert {r.label for r in ranked.values()} == {"1="}


def test_a_clear_winner_wins_and_a_dominated_model_ranks_last():
    ranked = rank_rows(
        {"good": errors(0.05, 0.3), "middle": errors(0.2, 0.3, seed=1), "bad": errors(1.0, 0.3)}
    )
    assert [ranked[n].label for n in ("good", "middle", "bad")] == ["1", "2", "3"]
    assert ranked["good"].better_than == ("bad", "middle")
    assert ranked["good"].low < ranked["good"].mean < ranked["good"].high


def test_seeds_that_disagree_widely_give_no_significant_difference():
    """Model a's two seeds give 0.1 and 0.5 on every sample; b's give 0.3. Averaged over
    seeds first, a and b would look equal or different by chance with 200 samples; with
    the seeds resampled, no difference is claimed."""
    a = np.stack([np.full(N, 0.1), np.full(N, 0.5)]) + errors(0.01, 0.1, seeds=2)
    b = np.stack([np.full(N, 0.28), np.full(N, 0.29)]) + errors(0.01, 0.1, seeds=2, seed=1)
    ranked = rank_rows({"a": a, "b": b})
    assert ranked["a"].label == ranked["b"].label == "1="


def test_a_trivial_gap_between_single_seed_rows_is_a_tie_and_a_big_one_is_not():
    base = errors(0.1, 0.5, seeds=1)
    noise = np.random.default_rng(5).normal(0, 0.02, (1, N))
    assert rank_rows({"a": base, "b": base * 1.001 + noise})["a"].tied
    assert not rank_rows({"a": base, "b": base * 1.5})["a"].tied


def test_the_comparison_is_paired_on_the_test_samples():
    """b = a + 0.001 on every sample: hard samples are hard for both. Unpaired, the spread
    of the samples would hide a 1 % gap; paired, it is significant."""
    a = errors(0.1, 1.0, seeds=1)
    boot = row_draws({"a": a, "b": a + 0.001})
    assert difference_p_value(boot["a"], boot["b"]) < 0.001


def test_holm_steps_down():
    """Sorted p-values against α/3, α/2, α/1; the first one above its bar stops."""
    all_pass = {("a", "b"): 0.01, ("a", "c"): 0.02, ("b", "c"): 0.04}
    assert holm_rejections(all_pass, 0.05) == set(all_pass)
    stops = {("a", "b"): 0.01, ("a", "c"): 0.03, ("b", "c"): 0.04}
    assert holm_rejections(stops, 0.05) == {("a", "b")}
    none = {("a", "b"): 0.03, ("a", "c"): 0.04, ("b", "c"): 0.2}
    assert holm_rejections(none, 0.05) == set()


def test_rows_on_different_test_samples_are_refused():
    with pytest.raises(ValueError, match="same test samples"):
        row_draws({"a": np.zeros((2, 10)), "b": np.zeros((2, 11))})
