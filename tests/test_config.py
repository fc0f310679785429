"""Run configuration: presets, overrides, validation of names and values."""

import pytest

from opbench.config import TrainConfig, build_dataclass, parse_overrides
from opbench.errors import ConfigError
from opbench.train.optim import SCHEDULES


def test_overrides_are_parsed_as_json_with_string_fallback():
    sections = parse_overrides(
        ["model.n_modes=[8,8]", "train.lr=3e-4", "data.k_to_vertex=crop", "train.grad_clip=null"]
    )
    assert sections["model"] == {"n_modes": [8, 8]}
    assert sections["train"] == {"lr": 3e-4, "grad_clip": None}
    assert sections["data"] == {"k_to_vertex": "crop"}


@pytest.mark.parametrize("item", ["lr=1", "train.lr", "optimizer.lr=1", "=3"])
def test_malformed_override_is_a_clear_error(item):
    with pytest.raises(ConfigError):
        parse_overrides([item])


def test_unknown_train_option_suggests_close_names():
    with pytest.raises(ConfigError, match="Did you mean 'lr'"):
        build_dataclass(TrainConfig, {"lrr": 1e-3}, "train")


@pytest.mark.parametrize(
    "values",
    [
        {"epochs": 2.5},
        {"epochs": "ten"},
        {"lr": -1.0},
        {"batch_size": 0},
        {"optimizer": "sgdd"},
        {"schedule": "cosin"},
        {"loss": "l3"},
        {"milestones": [0.5, 1.5]},
        {"amp": "yes"},
    ],
)
def test_bad_values_are_rejected(values):
    with pytest.raises(ConfigError):
        build_dataclass(TrainConfig, values, "train")


def test_int_is_promoted_to_float():
    assert build_dataclass(TrainConfig, {"lr": 1}, "train").lr == 1.0


def test_step_schedule_is_a_fraction_of_the_budget():
    config = TrainConfig(epochs=3, schedule="step", milestones=[0.25, 0.5, 0.75], gamma=0.5)
    step = SCHEDULES.get("step")
    assert [step(p, config) for p in (0.0, 0.3, 0.6, 0.9)] == [1.0, 0.5, 0.25, 0.125]


def test_cosine_schedule_ends_at_min_ratio():
    config = TrainConfig(schedule="cosine", min_lr_ratio=0.1)
    cosine = SCHEDULES.get("cosine")
    assert cosine(0.0, config) == pytest.approx(1.0)
    assert cosine(0.5, config) == pytest.approx(0.55)
    assert cosine(1.0, config) == pytest.approx(0.1)
