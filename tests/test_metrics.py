"""Metrics against closed-form cases."""

import math

import pytest
import torch

from opbench.eval.evaluator import summarize
from opbench.eval.metrics import METRICS


def score(name, prediction, target, mask=None):
    """The registered metric ``name`` through its one signature, ``metric(P, batch)``."""
    batch = {"y": target} if mask is None else {"y": target, "mask": mask}
    return METRICS.get(name)(prediction, batch)


def constant_pair(offset: float = 0.5, value: float = 2.0):
    """Target ≡ value, prediction ≡ value + offset on a (2, 1, 4, 4) grid."""
    target = torch.full((2, 1, 4, 4), value, dtype=torch.float64)
    return target + offset, target


def test_rel_l2_of_a_constant_offset():
    prediction, target = constant_pair(0.5, 2.0)
    # ‖0.5‖ / ‖2‖ over the same number of points = 0.25
    assert torch.allclose(score("rel_l2", prediction, target), torch.tensor(0.25).double())


def test_rel_l2_is_per_sample():
    target = torch.tensor([[3.0, 4.0], [1.0, 0.0]]).reshape(2, 1, 2)
    prediction = torch.tensor([[3.0, 4.0], [0.0, 0.0]]).reshape(2, 1, 2)
    assert score("rel_l2", prediction, target).tolist() == [0.0, 1.0]


def test_rel_l1_mse_rmse_mae_nmse_max_err_closed_form():
    target = torch.tensor([1.0, -1.0, 2.0, 0.0]).reshape(1, 1, 4)
    prediction = torch.tensor([2.0, -1.0, 0.0, 0.0]).reshape(1, 1, 4)
    # errors: 1, 0, -2, 0
    assert score("rel_l1", prediction, target).item() == pytest.approx(3 / 4)
    assert score("mse", prediction, target).item() == pytest.approx(5 / 4)
    assert score("rmse", prediction, target).item() == pytest.approx(math.sqrt(5 / 4))
    assert score("mae", prediction, target).item() == pytest.approx(3 / 4)
    assert score("nmse", prediction, target).item() == pytest.approx((5 / 4) / (6 / 4))
    assert score("max_err", prediction, target).item() == pytest.approx(2.0)


def test_sine_prediction_with_known_rel_l2():
    # Y = sin(2πx) on a periodic grid, P = 0.9·Y: rel_l2 = 0.1 exactly.
    x = torch.arange(64, dtype=torch.float64) / 64
    target = torch.sin(2 * math.pi * x).reshape(1, 1, 64)
    assert score("rel_l2", 0.9 * target, target).item() == pytest.approx(0.1)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        score("mse", torch.zeros(2, 1, 4), torch.zeros(2, 1, 5))


def test_summary_uses_sample_std():
    summary = summarize(torch.tensor([1.0, 2.0, 3.0, 10.0]))
    assert summary["mean"] == pytest.approx(4.0)
    assert summary["std"] == pytest.approx(math.sqrt((9 + 4 + 1 + 36) / 3))
    assert summary["median"] == pytest.approx(2.5)
    assert (summary["min"], summary["max"], summary["n"]) == (1.0, 10.0, 4)


def test_masked_metrics_count_only_masked_points():
    # Two channels on 4 points; the mask drops the last point, where the error is huge.
    target = torch.tensor([[[1.0, 2.0, 0.0, 5.0], [1.0, 0.0, 2.0, 5.0]]])
    prediction = target.clone()
    prediction[0, 0, 0] = 2.0  # error 1 on (u, point 0)
    prediction[0, :, 3] = 100.0  # outside the mask
    mask = torch.tensor([[[1.0, 1.0, 1.0, 0.0]]])
    # 6 counted values; squared errors sum to 1; mean(Y²) = (1 + 4 + 0 + 1 + 0 + 4) / 6.
    assert score("mse", prediction, target, mask).item() == pytest.approx(1 / 6)
    assert score("mae", prediction, target, mask).item() == pytest.approx(1 / 6)
    assert score("nmse", prediction, target, mask).item() == pytest.approx(1 / 10)
    assert score("rel_l2", prediction, target, mask).item() == pytest.approx(math.sqrt(1 / 10))
    assert score("max_err", prediction, target, mask).item() == pytest.approx(1.0)
    # nmse_u: channel 0 only: squared error 1 over 3 points, mean(u²) = 5 / 3.
    assert score("nmse_u", prediction, target, mask).item() == pytest.approx(1 / 5)


def test_a_mask_of_ones_changes_nothing():
    generator = torch.Generator().manual_seed(0)
    target = torch.randn(3, 2, 5, 6, generator=generator)
    prediction = target + 0.1 * torch.randn(3, 2, 5, 6, generator=generator)
    ones = torch.ones(3, 1, 5, 6)
    for name in METRICS.names():
        assert torch.allclose(
            score(name, prediction, target, ones), score(name, prediction, target)
        )


def test_nan_at_a_masked_out_point_does_not_contribute():
    """A NaN where the mask is 0 (an obstacle cell) leaves every metric finite and equal to
    the metric without that point (NaN·0 is NaN, so masking must not multiply)."""
    target = torch.tensor([[[1.0, 2.0, 3.0]]])
    prediction = torch.tensor([[[1.5, 2.0, float("nan")]]])
    mask = torch.tensor([[[1.0, 1.0, 0.0]]])
    for name in METRICS.names():
        masked = score(name, prediction, target, mask)
        kept = score(name, prediction[..., :2], target[..., :2])
        assert torch.isfinite(masked).all(), name
        assert torch.allclose(masked, kept), name


def test_mask_shape_is_checked():
    target = torch.zeros(2, 2, 4, 4)
    with pytest.raises(ValueError, match="mask shape"):
        score("mse", target, target, torch.ones(2, 1, 4, 5))
