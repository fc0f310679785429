"""ConDiff Gaussian random fields: covariance formulas and the circulant-embedding sampler."""

from __future__ import annotations

import numpy as np
import pytest

from opbench.data.condiff.configs import parse_config
from opbench.data.condiff.generate import draw_coefficient, sampler_for
from opbench.data.condiff.grf import CirculantSampler, contrast, covariance
from opbench.errors import ConfigError

N = 17  # grid 16: (g+1) cells per axis
SPACING = 1.0 / N
LENGTH = 0.15  # long enough that lags 1, 2, 4 have non-trivial covariance
VARIANCE = 0.7
PAIRS = 1500  # 3000 fields


def test_covariance_formulas_closed_form() -> None:
    d = np.array([0.0, 0.05, 0.1])
    assert covariance("exponential", d, 2.0, 0.05) == pytest.approx(2 * np.exp([0, -1, -2]))
    assert covariance("gaussian", d, 2.0, 0.05) == pytest.approx(2 * np.exp([0, -1, -4]))
    h = 0.5
    cubic = 1 - 7 * h**2 + 8.75 * h**3 - 3.5 * h**5 + 0.75 * h**7
    assert covariance("cubic", np.array([0.025]), 1.0, 0.05)[0] == pytest.approx(cubic)
    # compact support: continuous at h = 1 (the polynomial vanishes there) and zero beyond
    assert covariance("cubic", np.array([0.05, 0.07]), 1.0, 0.05) == pytest.approx([0, 0])
    with pytest.raises(ConfigError, match="cubic"):
        covariance("cubik", d, 1.0, 0.05)


@pytest.mark.parametrize("model", ["cubic", "exponential", "gaussian"])
def test_sampler_reproduces_variance_and_covariance(model: str) -> None:
    sampler = CirculantSampler(model, VARIANCE, N, SPACING, LENGTH)
    assert sampler.clipped_mass < 1e-3
    fields = sampler.sample(np.random.default_rng(1), PAIRS)
    assert fields.shape == (2 * PAIRS, N, N)
    # Zero mean: the per-field average is a mean of correlated pixels; its SE across fields.
    means = fields.mean(axis=(1, 2))
    assert abs(means.mean()) < 4 * means.std() / np.sqrt(means.size)
    for lag in (0, 1, 2, 4):
        # One statistic per (independent) field, so the SE across fields is honest.
        per_field = (fields[:, : N - lag, :] * fields[:, lag:, :]).mean(axis=(1, 2))
        per_field_y = (fields[:, :, : N - lag] * fields[:, :, lag:]).mean(axis=(1, 2))
        expected = covariance(model, np.array([lag * SPACING]), VARIANCE, LENGTH)[0]
        for stat in (per_field, per_field_y):
            se = stat.std(ddof=1) / np.sqrt(stat.size)
            assert abs(stat.mean() - expected) < 4 * se + 1e-12, (model, lag)
    # Diagonal lag (1, 1): distance √2·Δ.
    diagonal = (fields[:, :-1, :-1] * fields[:, 1:, 1:]).mean(axis=(1, 2))
    expected = covariance(model, np.array([np.sqrt(2) * SPACING]), VARIANCE, LENGTH)[0]
    assert abs(diagonal.mean() - expected) < 4 * diagonal.std(ddof=1) / np.sqrt(diagonal.size)


def test_real_and_imaginary_parts_are_independent() -> None:
    sampler = CirculantSampler("gaussian", 1.0, N, SPACING, LENGTH)
    fields = sampler.sample(np.random.default_rng(2), PAIRS)
    real, imag = fields[0::2], fields[1::2]
    cross = (real * imag).mean(axis=(1, 2))
    assert abs(cross.mean()) < 4 * cross.std(ddof=1) / np.sqrt(cross.size)
    # ... while a field with itself is strongly correlated (the test can fail).
    assert (real * real).mean() > 0.9


def test_wrong_covariance_would_be_detected() -> None:
    """The statistical check has power: exponential samples do not match a gaussian C."""
    fields = CirculantSampler("exponential", 1.0, N, SPACING, LENGTH).sample(
        np.random.default_rng(3), PAIRS
    )
    lag1 = (fields[:, :-1, :] * fields[:, 1:, :]).mean(axis=(1, 2))
    wrong = covariance("gaussian", np.array([SPACING]), 1.0, LENGTH)[0]
    assert abs(lag1.mean() - wrong) > 4 * lag1.std(ddof=1) / np.sqrt(lag1.size)


def test_published_grid_embedding_is_nearly_exact() -> None:
    for name in ("cubic1.0_grid64", "gaussian1.0_grid64", "exponential1.0_grid64"):
        assert sampler_for(parse_config(name)).clipped_mass < 1e-6


def test_contrast_is_exp_of_range() -> None:
    phi = np.array([[[0.0, 1.0], [-2.0, 0.5]]])
    assert contrast(phi) == pytest.approx([np.exp(3.0)])


@pytest.mark.parametrize("name", ["cubic0.1_grid16", "exponential0.4_grid16"])
def test_accepted_fields_lie_in_the_contrast_window(name: str) -> None:
    config = parse_config(name)
    low, high = config.contrast_window
    for index in range(20):
        k, proposals = draw_coefficient(config, np.random.default_rng([0, 0, index]))
        assert proposals >= 1
        assert k.shape == (17, 17)
        assert low <= k.max() / k.min() <= high
