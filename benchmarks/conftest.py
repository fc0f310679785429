"""Performance suite (pytest-benchmark): ``pytest benchmarks/``.

Each benchmark times opbench code and a yardstick **in the same run** and reports their
ratio in ``extra_info`` (and on the terminal): these machines are noisy, so only ratios
measured together mean anything. Nothing here asserts a time.
"""

import statistics
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import pytest
import torch

from opbench.checkpoint import CheckpointMeta
from opbench.config import Preset, TrainConfig
from opbench.data import Benchmark
from opbench.eval.metrics import metric_function
from opbench.models import MODELS, build_surrogate
from opbench.run import compile_where_faster
from opbench.train.losses import LOSSES
from opbench.train.optim import OPTIMIZERS
from opbench.train.trainer import Trainer

GRID_MODELS = [name for name, e in MODELS.items() if not e.fitted and "grid" in e.layouts]
"""Every trainable model that reads grids."""


def median_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn`` (seconds), after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@pytest.fixture
def report_ratio(benchmark, capsys):
    """Store ``subject / yardstick`` (medians) in the benchmark's extra_info and print it."""

    def report(name: str, yardstick_seconds: float) -> float:
        subject = benchmark.stats.stats.median
        ratio = subject / yardstick_seconds
        benchmark.extra_info.update(
            {f"{name}_yardstick_s": yardstick_seconds, f"{name}_ratio": ratio}
        )
        with capsys.disabled():
            print(
                f"\n{benchmark.name}: {name} ratio = {ratio:.3f} "
                f"(subject {subject * 1e3:.2f} ms, yardstick {yardstick_seconds * 1e3:.2f} ms)"
            )
        return ratio

    return report


def recipe(model: str, epochs: int, preset: Preset = Preset.small) -> tuple[dict, TrainConfig]:
    """The model's preset hyperparameters and trainer settings, for ``epochs`` epochs."""
    values = MODELS.get(model).preset(preset.value)
    return values["model"], TrainConfig(**{**values["train"], "epochs": epochs})


def train_epochs(
    bench: Benchmark,
    model: str,
    preset: Preset,
    epochs: int,
    checkpoints: Path,
    compile: bool = False,
) -> list[float]:
    """Wall seconds of each epoch of opbench's Trainer (training batches, validation pass,
    the checkpoint writes as the trainer makes them; the first also holds the normalisers'
    fit, and with ``compile`` the compilations, as ``--compile`` makes them)."""
    hyperparameters, config = recipe(model, epochs, preset)
    torch.manual_seed(0)
    surrogate = build_surrogate(model, bench.task, hyperparameters)
    if compile:
        assert compile_where_faster(model, surrogate), f"{model} is not declared compile_faster"
    stamps = [time.perf_counter()]
    trainer = Trainer(
        surrogate,
        config,
        metric=metric_function(bench, bench.task.primary_metric),
        checkpoint_dir=checkpoints,
        model_meta=CheckpointMeta(
            model=model, hyperparameters=hyperparameters, task=bench.task, opbench_version="b"
        ),
        seed=0,
        device=torch.device("cpu"),
        progress=False,
        physics_loss=bench.physics_loss,
        callbacks=[lambda epoch, trainer: stamps.append(time.perf_counter())],
    )
    trainer.fit(bench.splits["train"], bench.splits["val"])
    return [b - a for a, b in pairwise(stamps)]


def bare_epochs(
    bench: Benchmark,
    model: str,
    epochs: int,
    adapt: Callable[[torch.nn.Module], None] | None = None,
    preset: Preset = Preset.small,
) -> list[float]:
    """Wall seconds of each epoch of a bare PyTorch loop: the same network between its
    normalisers, optimiser, loss, clipping, batch size and validation pass as opbench's
    recipe, on the same tensors; no scheduler, checkpoint or bookkeeping. ``adapt`` may
    change the built network first (the yardstick's FNO as published)."""
    hyperparameters, config = recipe(model, epochs, preset)
    torch.manual_seed(0)
    surrogate = build_surrogate(model, bench.task, hyperparameters)
    if adapt is not None:
        adapt(surrogate)
    train, val = bench.splits["train"].tensors, bench.splits["val"].tensors
    model_keys = [name for name in ("x", "y", "mask") if name in train]  # what a model reads
    surrogate.fit_normalizers(train["x"], train["y"], train.get("valid"))
    parameters = [p for p in surrogate.parameters() if p.requires_grad]
    optimizer = OPTIMIZERS.get(config.optimizer)(parameters, config)
    loss_fn = LOSSES.get(config.loss)
    metric = metric_function(bench, bench.task.primary_metric)
    n, seconds = len(train["x"]), []
    for _ in range(epochs):
        start = time.perf_counter()
        surrogate.train()
        order = torch.randperm(n)
        for first in range(0, n, config.batch_size):
            index = order[first : first + config.batch_size]
            batch = {name: train[name][index] for name in model_keys}
            prediction = surrogate(batch, normalized=True)
            loss = loss_fn(prediction, surrogate.output_norm.encode(batch["y"]))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(parameters, config.grad_clip)
            optimizer.step()
        surrogate.eval()
        with torch.no_grad():
            size = config.eval_batch_size
            prediction = torch.cat(
                [
                    surrogate({name: val[name][first : first + size] for name in model_keys})
                    for first in range(0, len(val["x"]), size)
                ]
            )
        metric(prediction, val).mean().item()
        seconds.append(time.perf_counter() - start)
    return seconds
