"""Convergence evidence: the plateau and doubling checks, in closed form."""

from __future__ import annotations

import pytest

from opbench.eval.convergence import (
    Convergence,
    doubling_check,
    plateau_check,
    window_epochs,
)


def _step_schedule(epochs: int, lr0: float = 1e-3, floor: float = 0.01) -> list[float]:
    """The protocol's schedule per epoch: lr0, then ×floor^(1/3) at 25, 50 and 75 %."""
    gamma = floor ** (1 / 3)
    return [lr0 * gamma ** sum(e >= m * epochs for m in (0.25, 0.5, 0.75)) for e in range(epochs)]


def test_window_is_ten_epochs_or_a_fifth_of_the_run() -> None:
    assert [window_epochs(n) for n in (10, 40, 50, 51, 100, 200)] == [10, 10, 10, 11, 20, 40]


def test_a_flat_end_at_the_minimum_rate_passes() -> None:
    lrs = _step_schedule(50)
    vals = [1.0 / (1 + e) for e in range(38)] + [0.0262] * 12  # flat over the last 12 epochs
    check = plateau_check(vals, lrs, 1e-3)
    assert check.min_lr_reached and check.window_epochs == 10
    assert check.min_lr_ratio == pytest.approx(0.01)
    # best before the window (epochs 0..39) is 0.0262 (from epoch 38): no improvement
    assert check.relative_improvement == pytest.approx(0.0)
    assert check.passed


def test_an_improvement_of_one_percent_or_more_fails() -> None:
    lrs = _step_schedule(50)
    vals = [1.0] * 40 + [0.995] * 5 + [0.99] * 5  # 1 % better than before the window
    check = plateau_check(vals, lrs, 1e-3)
    assert check.relative_improvement == pytest.approx(0.01)
    assert not check.passed
    vals[40:] = [0.9901] * 10  # 0.99 % better: passes
    assert plateau_check(vals, lrs, 1e-3).passed


def test_a_rate_below_lr0_over_100_or_still_falling_fails() -> None:
    vals = [1.0] * 50
    too_low = plateau_check(vals, _step_schedule(50, floor=1e-3), 1e-3)
    assert too_low.min_lr_ratio == pytest.approx(1e-3) and not too_low.min_lr_reached
    falling = plateau_check(vals, [1e-3 * 0.9**e for e in range(50)], 1e-3)
    assert not falling.min_lr_reached and not falling.passed


def test_a_run_no_longer_than_its_window_cannot_pass() -> None:
    check = plateau_check([1.0] * 10, _step_schedule(10), 1e-3)
    assert (check.relative_improvement, check.passed) == (None, False)


def test_missing_validation_values_count_as_no_improvement() -> None:
    vals: list[float | None] = [1.0] * 40 + [None] * 10
    check = plateau_check(vals, _step_schedule(50), 1e-3)
    assert check.relative_improvement == 0.0 and check.passed


def test_doubling_check_is_one_sided_at_five_percent() -> None:
    assert doubling_check(0.100, 0.096, "c", 100).relative_improvement == pytest.approx(0.04)
    assert doubling_check(0.100, 0.096, "c", 100).passed
    assert not doubling_check(0.100, 0.095, "c", 100).passed  # exactly 5 %: fails
    assert doubling_check(0.100, 0.120, "c", 100).passed  # worse at twice the budget


def test_converged_needs_both_checks() -> None:
    lrs = _step_schedule(50)
    flat = Convergence(plateau=plateau_check([1.0] * 50, lrs, 1e-3))
    assert flat.converged is None
    assert flat.with_doubling(doubling_check(1.0, 0.99, "c", 100)).converged is True
    assert flat.with_doubling(doubling_check(1.0, 0.9, "c", 100)).converged is False
    rising = Convergence(plateau=plateau_check([1.0] * 40 + [0.5] * 10, lrs, 1e-3))
    assert rising.with_doubling(doubling_check(1.0, 0.99, "c", 100)).converged is False
