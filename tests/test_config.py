"""Run configuration: typed models, ``--set`` as dotted-path updates, validation messages."""

import math

import pytest
import torch

from opbench.config import (
    RunSpec,
    TrainConfig,
    check_seed,
    format_overrides,
    merge,
    parse_set,
    run_hash,
    validated,
)
from opbench.errors import ConfigError
from opbench.run import resolve
from opbench.train.optim import cosine_factor, step_factor


def test_set_items_are_dotted_paths_with_json_values_and_string_fallback():
    updates = parse_set(
        ["model.n_modes=[8,8]", "train.lr=3e-4", "data.k_to_vertex=crop", "train.grad_clip=null"]
    )
    assert updates == {
        "model": {"n_modes": [8, 8]},
        "train": {"lr": 3e-4, "grad_clip": None},
        "data": {"k_to_vertex": "crop"},
    }


@pytest.mark.parametrize("item", ["lr=1", "train.lr", "optimizer.lr=1", "=3", "train..lr=1"])
def test_malformed_set_item_is_a_clear_error(item):
    with pytest.raises(ConfigError):
        parse_set([item])


def test_merge_is_recursive_and_format_overrides_reads_back():
    merged = merge({"train": {"lr": 1e-3, "epochs": 3}}, {"train": {"lr": 5e-4}, "model": {}})
    assert merged == {"train": {"lr": 5e-4, "epochs": 3}, "model": {}}
    overrides = {"train": {"loss": "nmse", "milestones": [0.5], "grad_clip": None}}
    assert parse_set(format_overrides(overrides).split()) == overrides


def test_unknown_train_option_suggests_close_names():
    with pytest.raises(ConfigError, match="Did you mean 'lr'"):
        validated(TrainConfig, {"lrr": 1e-3}, "train")


@pytest.mark.parametrize(
    ("values", "allowed"),
    [
        ({"epochs": 2.5}, "an integer >= 0"),
        ({"epochs": "ten"}, "an integer >= 0"),
        ({"epochs": True}, "an integer >= 0"),
        ({"lr": -1.0}, "a finite number > 0"),
        ({"lr": math.inf}, "a finite number > 0"),
        ({"lr": math.nan}, "a finite number > 0"),
        ({"batch_size": 0}, "an integer >= 1"),
        ({"milestones": [0.5, 1.5]}, "< 1"),
        ({"amp": "yes"}, "true or false"),
        ({"grad_clip": -1}, "a finite number > 0 or null"),
        ({"patience": 0}, "an integer >= 1 or null"),
    ],
)
def test_bad_values_are_rejected_with_the_allowed_range(values, allowed):
    with pytest.raises(ConfigError, match="allowed") as error:
        validated(TrainConfig, values, "train")
    message = str(error.value)
    assert allowed in message and "\n" not in message
    assert message.startswith(f"train.{next(iter(values))}")


def test_no_loss_at_all_is_rejected():
    with pytest.raises(ConfigError, match="no loss"):
        validated(TrainConfig, {"data_weight": 0, "physics_weight": 0}, "train")


def test_int_is_promoted_to_float():
    assert validated(TrainConfig, {"lr": 1}, "train").lr == 1.0


@pytest.mark.parametrize("seed", [-1, 2**32, 2**64, 1.5, True, "3"])
def test_seeds_outside_what_the_generators_accept_are_refused(seed):
    with pytest.raises(ConfigError, match="seed"):
        check_seed(seed)
    with pytest.raises(ConfigError, match="seed"):
        resolve("mean", "condiff", config="poisson_grid8", seed=seed)


def test_largest_seed_seeds_every_generator():
    seed = check_seed(2**32 - 1)
    torch.Generator().manual_seed(seed * 1_000_003 + 10)
    import numpy as np

    np.random.seed(seed)
    np.random.default_rng(seed)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"train": {"lr": math.inf}}, "train.lr=inf"),
        ({"train": {"lr": 1e400}}, "train.lr=inf"),
        ({"model": {"width": 0}}, "model.width=0"),
        ({"model": {"width": -8}}, "model.width=-8"),
        ({"model": {"depth": 2.0}}, "model.depth=2.0"),
        ({"data": {"val_fraction": 0}}, "data.val_fraction=0"),
        ({"data": {"val_fraction": 1.0}}, "data.val_fraction=1.0"),
        ({"data": {"seed": -1}}, "data.seed=-1"),
        ({"train": {"optimizer": "sgd"}}, "unknown optimizer .sgd.. Known: adam, adamw"),
        ({"train": {"schedule": "cosin"}}, "Did you mean 'cosine'"),
        ({"train": {"loss": "l3"}}, "unknown loss"),
        ({"seed": {"x": 1}}, "unknown override section"),
    ],
)
def test_values_that_would_break_the_run_are_refused_at_resolve(overrides, match):
    with pytest.raises(ConfigError, match=match):
        resolve("unet", "condiff", config="poisson_grid8", overrides=overrides)


def test_a_preset_device_and_role_are_enums():
    with pytest.raises(ConfigError, match="Did you mean 'small'"):
        resolve("unet", "condiff", preset="smal")
    with pytest.raises(ConfigError, match="'cpu' or 'cuda'"):
        resolve("unet", "condiff", device="gpu")
    with pytest.raises(ConfigError, match="board"):
        resolve("unet", "condiff", role="row")


def test_step_schedule_is_a_fraction_of_the_budget():
    config = TrainConfig(epochs=3, schedule="step", milestones=[0.25, 0.5, 0.75], gamma=0.5)
    assert [step_factor(p, config) for p in (0.0, 0.3, 0.6, 0.9)] == [1.0, 0.5, 0.25, 0.125]


def test_cosine_schedule_ends_at_min_ratio():
    config = TrainConfig(schedule="cosine", min_lr_ratio=0.1)
    assert cosine_factor(0.0, config) == pytest.approx(1.0)
    assert cosine_factor(0.5, config) == pytest.approx(0.55)
    assert cosine_factor(1.0, config) == pytest.approx(0.1)


def test_spec_round_trips_through_its_json_form():
    spec = resolve("fno", "condiff", config="poisson_grid8", overrides={"data": {"n_train": 12}})
    from opbench.data.condiff import ConDiffOptions

    assert RunSpec.load(spec.to_json(), ConDiffOptions) == spec


def test_run_hash_leaves_out_paths_devices_roles_and_the_command(tmp_path):
    spec = resolve("fno", "condiff", config="poisson_grid8")
    identity = {"family": "condiff", "fingerprint": "abc"}
    moved = spec.model_copy(
        update={"data_dir": str(tmp_path), "command": "opbench run …", "role": "check"}
    )
    assert spec.run_hash(identity) == moved.run_hash(identity)
    assert spec.run_hash(identity) != spec.run_hash({**identity, "fingerprint": "abd"})
    tuned = resolve("fno", "condiff", config="poisson_grid8", overrides={"train": {"lr": 5e-4}})
    assert tuned.run_hash(identity) != spec.run_hash(identity)
    assert run_hash("fno", {}, TrainConfig(), identity) == run_hash(
        "fno", {}, TrainConfig(), dict(reversed(identity.items()))
    )
