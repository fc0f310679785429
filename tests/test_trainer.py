"""The trainer: learning, resume, divergence, budget, fitted baselines, checkpoints."""

import math

import pytest
import torch

from opbench.checkpoint import CheckpointMeta, load_checkpoint
from opbench.config import TrainConfig
from opbench.eval.metrics import METRICS
from opbench.models import build_surrogate
from opbench.train.trainer import Trainer, seed_everything

SMALL_UNET = {"width": 4, "depth": 1}


def make_trainer(
    benchmark,
    tmp_path,
    config,
    name="unet",
    hyperparameters=None,
    seed=0,
    callbacks=(),
    checkpoint_every=0.0,
):
    seed_everything(seed)
    hyperparameters = SMALL_UNET if hyperparameters is None else hyperparameters
    surrogate = build_surrogate(name, benchmark.task, hyperparameters)
    return Trainer(
        surrogate,
        config,
        metric=METRICS.get("rel_l2"),
        checkpoint_dir=tmp_path,
        model_meta=CheckpointMeta(
            model=name, hyperparameters=hyperparameters, task=benchmark.task, opbench_version="t"
        ),
        seed=seed,
        device=torch.device("cpu"),
        progress=False,
        callbacks=callbacks,
        checkpoint_every=checkpoint_every,
    )


def fit(benchmark, trainer):
    return trainer.fit(benchmark.splits["train"], benchmark.splits["val"])


def test_training_reduces_the_validation_error(blur_benchmark, tmp_path):
    config = TrainConfig(epochs=8, batch_size=8, lr=1e-2)
    result = fit(blur_benchmark, make_trainer(blur_benchmark, tmp_path, config))
    assert result.status == "ok"
    assert result.epochs_run == 8
    vals = [h["val"] for h in result.history]
    assert result.best_val == min(vals)
    assert result.best_epoch == vals.index(min(vals)) + 1  # epochs are counted from 1
    assert min(vals) < 0.6 * vals[0]
    _, meta = load_checkpoint(tmp_path / "best.safetensors")
    assert meta.epoch == result.best_epoch


class Interrupt(Exception):
    pass


def full_and_resumed(benchmark, tmp_path, config):
    """The result of an uninterrupted run, and of one interrupted after two epochs and
    resumed from its checkpoint."""
    full = fit(benchmark, make_trainer(benchmark, tmp_path / "full", config))

    def interrupt_after_two(epoch, trainer):
        if epoch == 1:
            raise Interrupt

    cut = make_trainer(benchmark, tmp_path / "cut", config, callbacks=[interrupt_after_two])
    with pytest.raises(Interrupt):
        fit(benchmark, cut)
    return full, fit(benchmark, make_trainer(benchmark, tmp_path / "cut", config))


def test_resumed_run_matches_an_uninterrupted_one(blur_benchmark, tmp_path):
    config = TrainConfig(epochs=5, batch_size=8, lr=3e-3)
    full, resumed = full_and_resumed(blur_benchmark, tmp_path, config)
    assert resumed.epochs_run == full.epochs_run == 5
    assert resumed.best_val == full.best_val
    assert resumed.best_epoch == full.best_epoch
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in full.history]


def test_throttled_checkpoints_are_written_at_the_end_and_agree(blur_benchmark, tmp_path):
    """With a long interval the resumable checkpoint is written only when training ends,
    and the best weights held in memory until then are the best epoch's."""
    config = TrainConfig(epochs=4, batch_size=8, lr=1e-2)
    on_disk = []

    def look(epoch, trainer):
        on_disk.append((tmp_path / "last.safetensors").exists())

    trainer = make_trainer(
        blur_benchmark, tmp_path, config, callbacks=[look], checkpoint_every=math.inf
    )
    result = fit(blur_benchmark, trainer)
    assert on_disk == [False, False, False, True]
    weights, best = load_checkpoint(tmp_path / "best.safetensors")
    assert (best.epoch, best.val) == (result.best_epoch, result.best_val)
    again = make_trainer(blur_benchmark, tmp_path / "again", config)
    again.surrogate.load_state_dict(weights)
    assert again.validate(blur_benchmark.splits["val"]) == pytest.approx(result.best_val)


def test_nan_in_training_stops_the_run_as_diverged(blur_benchmark, tmp_path):
    blur_benchmark.splits["train"].tensors["y"][5, 0, 3, 3] = math.inf
    config = TrainConfig(epochs=3, batch_size=8, grad_clip=None)
    result = fit(blur_benchmark, make_trainer(blur_benchmark, tmp_path, config))
    assert result.status == "diverged"
    assert result.epochs_run == 1
    assert result.history[-1]["val"] is None


def test_wall_clock_budget_stops_cleanly(blur_benchmark, tmp_path):
    config = TrainConfig(epochs=50, batch_size=8, max_minutes=1e-9)
    result = fit(blur_benchmark, make_trainer(blur_benchmark, tmp_path, config))
    assert result.status == "budget"
    assert result.epochs_run == 1
    assert result.best_val is not None
    assert (tmp_path / "best.safetensors").is_file()


def test_early_stopping(blur_benchmark, tmp_path):
    config = TrainConfig(epochs=30, batch_size=8, lr=1e-12, patience=2, schedule="constant")
    result = fit(blur_benchmark, make_trainer(blur_benchmark, tmp_path, config))
    assert result.status == "ok"
    assert result.stopped_early
    assert result.epochs_run < 30


def test_fitted_baseline_needs_no_optimiser(blur_benchmark, tmp_path):
    trainer = make_trainer(
        blur_benchmark, tmp_path, TrainConfig(epochs=0), name="mean", hyperparameters={}
    )
    result = fit(blur_benchmark, trainer)
    assert result.status == "ok"
    assert result.epochs_run == 0
    y = blur_benchmark.splits["train"].tensors["y"]
    prediction = trainer.surrogate({"x": torch.zeros(1, 1, 8, 8)})
    assert torch.allclose(prediction[0], y.mean(0), atol=1e-5)


def test_schedule_follows_the_wall_clock_budget_when_it_binds_first(blur_benchmark, tmp_path):
    config = TrainConfig(
        epochs=100_000,
        batch_size=8,
        max_minutes=0.04,
        schedule="step",
        milestones=[0.25, 0.5, 0.75],
        gamma=0.5,
    )
    result = fit(blur_benchmark, make_trainer(blur_benchmark, tmp_path, config))
    assert result.status == "budget"
    lrs = [h["lr"] for h in result.history]
    # The epoch budget is far away (a handful of 100 000 epochs ran: by steps the schedule is
    # at 1e-5 of its length), yet the clock moved it past at least one milestone; lrs never
    # rise. (How far it gets in the 2.4 s depends on the machine's load, so the test does not
    # count milestones or epochs.)
    assert result.epochs_run < 1000
    assert lrs == sorted(lrs, reverse=True) and lrs[0] <= config.lr
    assert lrs[-1] <= config.lr * 0.5


@pytest.mark.parametrize("schedule", ["step", "cosine", "constant", "onecycle"])
def test_every_schedule_resumes_to_the_same_learning_rates(blur_benchmark, tmp_path, schedule):
    """The scheduler (torch.optim.lr_scheduler) is rebuilt at the step a resumed run
    reached, so its learning rates continue exactly."""
    config = TrainConfig(epochs=4, batch_size=8, lr=3e-3, schedule=schedule, warmup_fraction=0.4)
    full, resumed = full_and_resumed(blur_benchmark, tmp_path, config)
    assert [h["lr"] for h in resumed.history] == [h["lr"] for h in full.history]
    if schedule == "onecycle":  # rises to lr, then anneals far below it
        lrs = [h["lr"] for h in full.history]
        assert lrs[0] < lrs[1] and lrs[-1] < lrs[1] / 10


def test_the_progress_bar_moves_with_every_batch(blur_benchmark, tmp_path, capsys):
    """The bar counts optimiser steps (48 samples in batches of 8: 6 per epoch), so it
    moves during an epoch; its description gives the last epoch's losses."""
    trainer = make_trainer(blur_benchmark, tmp_path, TrainConfig(epochs=2, batch_size=8))
    trainer.progress = True
    fit(blur_benchmark, trainer)
    output = capsys.readouterr().out
    assert "step 12/12" in output and "after epoch 2/2: loss" in output
