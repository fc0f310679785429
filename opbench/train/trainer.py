"""One training loop for every model.

Seeded (torch, numpy, Python), float32, optimiser and per-step learning-rate scheduler
(:mod:`opbench.train.optim`, looked up when the trainer is built) from
:class:`~opbench.config.TrainConfig`, loss on normalised outputs, gradient clipping, the
best checkpoint chosen on the **validation** split's primary metric (physical units),
early stopping, a resumable checkpoint after every epoch, NaN/Inf detection that stops the
run as ``diverged``, and an optional wall-clock budget that stops it as ``budget``.
Fitted baselines (no trainable parameters) are fitted once instead. Under ``torchrun`` the
same loop runs data-parallel (:mod:`opbench.train.distributed`).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from opbench import checkpoint
from opbench.checkpoint import CheckpointMeta, TrainState
from opbench.config import TrainConfig
from opbench.data.base import MetricFn, SampleSet, Split, held_whole
from opbench.errors import ConfigError, DataError
from opbench.eval.evaluator import predict
from opbench.models.surrogate import Surrogate
from opbench.train.distributed import Distributed
from opbench.train.losses import LOSSES
from opbench.train.optim import OPTIMIZERS, SCHEDULES

LAST = "last.safetensors"
BEST = "best.safetensors"
CHECKPOINT_EVERY = 60.0
"""Seconds of training between two writes of the resumable checkpoint (its write costs
milliseconds per megabyte: several per cent of a short epoch when done every epoch)."""

EpochCallback = Callable[[int, "Trainer"], None]


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class TrainResult:
    """What training did: status ``ok``, ``diverged`` or ``budget``, epochs, best epoch."""

    status: str
    epochs_run: int
    best_epoch: int | None
    best_val: float | None
    train_seconds: float
    samples_per_second: float | None
    history: list[dict[str, Any]] = field(default_factory=list)
    stopped_early: bool = False


class Trainer:
    """Trains ``surrogate`` on a train split, selecting the checkpoint on a val split.

    Args:
        surrogate: the model between its normalisers.
        config: trainer settings.
        metric: the validation metric ``fn(prediction, batch)`` (lower is better, physical
            units): the task's primary metric.
        checkpoint_dir: where ``last.safetensors`` (resumable state) and
            ``best.safetensors`` (best weights) are written: at the end of the epoch in
            which ``checkpoint_every`` seconds have passed since the previous write, and at
            the end of training. Between writes the best weights are kept in memory, so the
            two files always agree; an interrupted run resumes from the last write (at most
            ``checkpoint_every`` seconds of training are lost).
        model_meta: the metadata stored with every checkpoint (model name, hyperparameters,
            task, version).
        seed: run seed; epoch ``e`` shuffles with a generator seeded by (seed, e).
        device: torch device.
        progress: show a progress bar.
        callbacks: called as ``callback(epoch, trainer)`` at the end of each epoch (after
            its checkpoint write, when one is due).
        distributed: this process's rank under torchrun (see
            :mod:`opbench.train.distributed`); rank 0 writes the checkpoints.
        physics_loss: the dataset's residual loss on physical predictions, weighted by
            ``config.physics_weight``.
        train_keys: the batch keys training reads (``None``: all); keys only the scoring
            reads (ConDiff's float64 ``k_cells``, ``f64``) need not be gathered per batch.
        checkpoint_every: seconds between writes of the checkpoints (0: every epoch).
    """

    def __init__(
        self,
        surrogate: Surrogate,
        config: TrainConfig,
        *,
        metric: MetricFn,
        checkpoint_dir: Path,
        model_meta: CheckpointMeta,
        seed: int,
        device: torch.device,
        progress: bool = True,
        callbacks: Sequence[EpochCallback] = (),
        distributed: Distributed | None = None,
        physics_loss: Callable[[torch.Tensor, dict[str, torch.Tensor]], torch.Tensor] | None = None,
        train_keys: Sequence[str] | None = None,
        checkpoint_every: float = CHECKPOINT_EVERY,
    ) -> None:
        self.surrogate = surrogate.to(device)
        self.train_keys = None if train_keys is None else tuple(train_keys)
        self.checkpoint_every = checkpoint_every
        self._best: tuple[int, float, dict[str, torch.Tensor]] | None = None
        self.config = config
        self.metric = metric
        self.checkpoint_dir = checkpoint_dir
        self.model_meta = model_meta
        self.seed = seed
        self.device = device
        self.progress = progress
        self.callbacks = callbacks
        self.distributed = distributed or Distributed()
        if config.physics_weight > 0 and physics_loss is None:
            raise ConfigError("train.physics_weight > 0 but this dataset defines no physics loss")
        self.physics_loss = physics_loss
        self.loss_fn = LOSSES.get(config.loss)
        self.make_optimizer = OPTIMIZERS.get(config.optimizer)
        self.make_scheduler = SCHEDULES.get(config.schedule)

    @property
    def best_path(self) -> Path:
        return self.checkpoint_dir / BEST

    def validate(self, val: SampleSet) -> float:
        """Mean of the primary metric over the validation split, physical units (rank 0's
        value on every rank, so that all ranks take the same decisions)."""
        prediction = predict(self.surrogate, val, self.config.eval_batch_size, self.device)
        values = self.metric(prediction, val.tensors)
        return self.distributed.broadcast(float(values.mean()))

    def _keep_best(self, epoch: int, val_value: float) -> None:
        """Hold a copy of the current weights as the best so far (written with the next
        checkpoint)."""
        tensors = checkpoint.module_tensors(self.surrogate)
        self._best = (epoch, val_value, {name: t.detach().clone() for name, t in tensors.items()})

    def _write_best(self) -> None:
        """Write the best weights held in memory, if any are not written yet."""
        if self._best is None or not self.distributed.is_main:
            self._best = None
            return
        epoch, val_value, tensors = self._best
        meta = self.model_meta.model_copy(update={"epoch": epoch, "val": val_value})
        checkpoint.save_checkpoint(self.best_path, tensors, meta)
        self._best = None

    def fit(self, train: Split, val: SampleSet) -> TrainResult:
        """Train from scratch, or resume from ``checkpoint_dir/last.safetensors`` if present."""
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        if self.surrogate.flags.fitted:
            return self._fit_closed_form(train, val)
        return self._train(train, val)

    def _fit_closed_form(self, train: Split, val: SampleSet) -> TrainResult:
        held = held_whole(train)
        if held is None:
            raise DataError(
                "the fitted baselines solve for their weights on the whole training split in "
                "memory, but it is streamed from disk (it exceeds data.max_memory_gb); raise "
                "data.max_memory_gb or use fewer samples (data.n_train)"
            )
        start = time.perf_counter()
        x, y, valid = held.tensors["x"], held.tensors["y"], held.tensors.get("valid")
        self.surrogate.fit_normalizers(x, y, valid)
        self.surrogate.net.fit(
            self.surrogate.input_norm.encode(x), self.surrogate.output_norm.encode(y), valid
        )
        self.surrogate.to(self.device)
        val_value = self.validate(val)
        seconds = time.perf_counter() - start
        self._keep_best(0, val_value)
        self._write_best()
        history = [
            {"epoch": 0, "train_loss": None, "val": val_value, "lr": None, "seconds": seconds}
        ]
        status = "ok" if math.isfinite(val_value) else "diverged"
        return TrainResult(status, 0, 0, val_value, seconds, None, history)

    def _train(self, train: Split, val: SampleSet) -> TrainResult:
        config = self.config
        parameters = [p for p in self.surrogate.parameters() if p.requires_grad]
        optimizer = self.make_optimizer(parameters, config)
        steps_per_epoch = math.ceil(len(train) / config.batch_size)
        total_steps = max(1, config.epochs * steps_per_epoch)

        resumed = self._resume(optimizer) if (self.checkpoint_dir / LAST).is_file() else None
        if resumed is None:
            seed_everything(self.seed)
            self.surrogate.fit_normalizers_on(train)
            self.surrogate.to(self.device)
        state = resumed or TrainState(
            epoch=-1,
            step=0,
            best_val=math.inf,
            history=[],
            train_seconds=0.0,
            stale_epochs=0,
            status="ok",
        )
        status, step, best_val, best_epoch = (
            state.status,
            state.step,
            state.best_val,
            state.best_epoch,
        )
        stale_epochs, train_seconds = state.stale_epochs, state.train_seconds
        history: list[dict[str, Any]] = [dict(entry) for entry in state.history]

        # Schedules follow whichever budget binds first: the epochs or the wall clock.
        budget_seconds = config.max_minutes * 60 if config.max_minutes else math.inf
        epoch_start = time.perf_counter()

        def elapsed() -> float:
            return train_seconds + time.perf_counter() - epoch_start

        def progress(done: int) -> float:
            return max(done / total_steps, elapsed() / budget_seconds)

        scheduler = self.make_scheduler(optimizer, config, total_steps, progress, step)
        model = self.distributed.wrap(self.surrogate, self.device)
        autocast = (
            torch.autocast("cuda", dtype=torch.bfloat16)
            if config.amp and self.device.type == "cuda"
            else nullcontext()
        )
        first_epoch = state.epoch + 1
        samples_seen = 0
        seconds_this_session = 0.0
        written = time.perf_counter()  # the checkpoints on disk are this session's start

        with self._progress_bar(config.epochs, first_epoch, steps_per_epoch) as bar:
            task = bar.task_ids[0]
            for epoch in range(first_epoch, config.epochs):
                if status != "ok" or stale_epochs >= (config.patience or math.inf):
                    break
                epoch_start = time.perf_counter()
                model.train()
                generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
                losses = []
                lr = scheduler.get_last_lr()[0]
                for batch in train.batches(
                    config.batch_size, shuffle=True, generator=generator, keys=self.train_keys
                ):
                    lr = scheduler.get_last_lr()[0]
                    global_size = batch["y"].shape[0]
                    batch = self.distributed.shard(batch)
                    batch = {name: t.to(self.device) for name, t in batch.items()}
                    with autocast:
                        prediction = model(batch, normalized=True)
                    loss = self._loss(prediction.float(), batch)
                    loss_value = loss.item()
                    (nonfinite,) = self.distributed.any(not math.isfinite(loss_value))
                    if nonfinite:
                        status = "diverged"
                        break
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if config.grad_clip is not None:
                        torch.nn.utils.clip_grad_norm_(parameters, config.grad_clip)
                    optimizer.step()
                    step += 1
                    scheduler.step()
                    bar.advance(task)
                    losses.append(loss_value)
                    samples_seen += global_size
                    (over_budget,) = self.distributed.any(elapsed() > budget_seconds)
                    if over_budget:
                        status = "budget"
                        break
                train_loss = self.distributed.mean(float(np.mean(losses))) if losses else None
                val_value = self.validate(val) if status != "diverged" else math.nan
                if status != "diverged" and not math.isfinite(val_value):
                    status = "diverged"
                epoch_seconds = time.perf_counter() - epoch_start
                seconds_this_session += epoch_seconds
                train_seconds += epoch_seconds
                epoch_start = time.perf_counter()
                history.append(
                    {
                        "epoch": epoch + 1,  # epochs completed: as the progress bar counts
                        "train_loss": train_loss,
                        "val": val_value if math.isfinite(val_value) else None,
                        "lr": lr if losses else None,
                        "seconds": epoch_seconds,
                    }
                )
                if status == "diverged":
                    break
                if val_value < best_val:
                    best_val, best_epoch, stale_epochs = val_value, epoch + 1, 0
                    self._keep_best(best_epoch, val_value)
                else:
                    stale_epochs += 1
                state = TrainState(
                    epoch=epoch,
                    step=step,
                    best_val=best_val,
                    best_epoch=best_epoch,
                    history=history,
                    train_seconds=train_seconds,
                    stale_epochs=stale_epochs,
                    status=status,
                )
                finishing = (
                    epoch + 1 == config.epochs
                    or status != "ok"
                    or stale_epochs >= (config.patience or math.inf)
                )
                if finishing or time.perf_counter() - written >= self.checkpoint_every:
                    self._write_best()
                    self._save_last(optimizer, state)
                    written = time.perf_counter()
                bar.update(
                    task,
                    completed=(epoch + 1) * steps_per_epoch,
                    description=f"after epoch {epoch + 1}/{config.epochs}: "
                    f"loss {history[-1]['train_loss']:.4g} val {val_value:.4g}",
                )
                for callback in self.callbacks:
                    callback(epoch, self)

        self._write_best()  # a run that diverged mid-epoch keeps its best weights
        throughput = samples_seen / seconds_this_session if seconds_this_session else None
        stopped_early = status == "ok" and len(history) < config.epochs
        return TrainResult(
            status,
            len(history),
            best_epoch,
            best_val if math.isfinite(best_val) else None,
            train_seconds,
            throughput,
            history,
            stopped_early,
        )

    def _loss(self, prediction: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """data_weight · loss(ỹ, normalised y) + physics_weight · physics_loss(y, batch)."""
        config = self.config
        terms = []
        if config.data_weight > 0:
            target = self.surrogate.output_norm.encode(batch["y"])
            terms.append(_weighted(config.data_weight, self.loss_fn(prediction, target)))
        if config.physics_weight > 0:
            physical = self.surrogate.output_norm.decode(prediction)
            terms.append(_weighted(config.physics_weight, self.physics_loss(physical, batch)))
        return sum(terms[1:], terms[0])

    def _save_last(self, optimizer: torch.optim.Optimizer, state: TrainState) -> None:
        if not self.distributed.is_main:
            return
        optimizer_tensors, optimizer_meta = checkpoint.optimizer_state(optimizer)
        rng_tensors, rng_meta = checkpoint.rng_state()
        tensors = {
            **checkpoint.module_tensors(self.surrogate, "model."),
            **optimizer_tensors,
            **rng_tensors,
        }
        meta = self.model_meta.model_copy(
            update={"train_state": state, "optimizer": optimizer_meta, "rng": rng_meta}
        )
        checkpoint.save_checkpoint(self.checkpoint_dir / LAST, tensors, meta)

    def _resume(self, optimizer: torch.optim.Optimizer) -> TrainState:
        tensors, meta = checkpoint.load_checkpoint(self.checkpoint_dir / LAST)
        if meta.train_state is None or meta.optimizer is None or meta.rng is None:
            raise DataError(f"{self.checkpoint_dir / LAST}: not a resumable checkpoint")
        checkpoint.load_module_tensors(self.surrogate, tensors, "model.")
        self.surrogate.to(self.device)
        checkpoint.load_optimizer_state(optimizer, tensors, meta.optimizer)
        checkpoint.set_rng_state(tensors, meta.rng)
        return meta.train_state

    def _progress_bar(self, epochs: int, done: int, steps_per_epoch: int) -> Progress:
        """A bar over every optimiser step of the run (it moves with each batch), the epoch
        and its losses in the description, and the time left."""
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("step {task.completed}/{task.total}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            disable=not self.progress,
            transient=False,
        )
        bar.add_task(
            f"epoch {done + 1}/{epochs}" if done < epochs else "done",
            total=epochs * steps_per_epoch,
            completed=done * steps_per_epoch,
        )
        return bar


def _weighted(weight: float, term: torch.Tensor) -> torch.Tensor:
    """``weight · term``, with no multiplication (an extra autograd node per step) for a
    weight of 1, where the product is exactly ``term``."""
    return term if weight == 1 else weight * term
