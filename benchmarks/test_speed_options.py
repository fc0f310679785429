"""Architecture-preserving speed options, for every trainable grid model.

One training step (forward, rel_l2 loss, backward, AdamW) on a batch of 16 ConDiff
``cubic0.1`` samples at 32², 2 threads, the model's preset for that grid, against the same
step of the model as registered, timed in interleaved rounds:

- **channels-last**: the network's 4-d weights and inputs stored NHWC, against the
  contiguous (NCHW) layout (whichever of the two the model registers);
- **torch.compile**: the registered network compiled by inductor (the first compiled step
  pays the compilation, reported apart);
- **inference mode**: batched inference (64 samples) under ``torch.inference_mode`` against
  ``torch.no_grad``.

Nothing may change what a model learns, so each option's first-step gradients are compared
with the registered model's: ‖g − g₀‖ / ‖g₀‖ over all parameters (1e-5 is the bar). On
float32 some networks' gradients are themselves uncertain at 1e-4 to 1e-3 (batch
normalisation on the coarse levels of U-Net and LSM): there any reordering fails the bar.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable

import pytest
import torch
from conftest import GRID_MODELS

from opbench.config import Preset
from opbench.data import load_benchmark
from opbench.models import MODELS
from opbench.models.surrogate import Surrogate
from opbench.train.losses import LOSSES

ROUNDS = 30
BATCH = 16
INFER_BATCH = 64


@pytest.fixture(scope="module")
def batches():
    bench = load_benchmark("condiff", "cubic0.1_grid32", n_train=1000, n_test=16)
    tensors = bench.splits["train"].tensors
    return bench.task, tensors["x"][:INFER_BATCH], tensors["y"][:INFER_BATCH]


def build(model: str, task, x, y, channels_last: bool | None = None) -> Surrogate:
    """The model's 32² preset between normalisers fitted on ``x``, ``y``; ``channels_last``
    overrides the registered layout."""
    entry = MODELS.get(model)
    preset = Preset.small32 if Preset.small32.value in entry.presets else Preset.small
    flags = entry.flags
    if channels_last is not None:
        flags = dataclasses.replace(flags, channels_last=channels_last)
    torch.manual_seed(0)
    surrogate = Surrogate(entry.instantiate(task, entry.preset(preset.value)["model"]), task, flags)
    surrogate.fit_normalizers(x, y)
    return surrogate


def stepper(surrogate: Surrogate, x, y) -> tuple[Callable[[], None], torch.Tensor]:
    """A training step of ``surrogate`` and its first-step gradients (before any update)."""
    loss_fn = LOSSES.get("rel_l2")
    batch, target = {"x": x[:BATCH]}, surrogate.output_norm.encode(y[:BATCH])
    optimizer = torch.optim.AdamW(surrogate.parameters(), lr=1e-3, foreach=True)
    loss_fn(surrogate(batch, normalized=True), target).backward()
    gradients = torch.cat([p.grad.flatten() for p in surrogate.parameters()])

    def step() -> None:
        loss = loss_fn(surrogate(batch, normalized=True), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step, gradients


def interleaved_medians(functions: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Median seconds of each function over :data:`ROUNDS` interleaved rounds (after two
    warm-up calls each)."""
    for fn in functions.values():
        fn()
        fn()
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(ROUNDS):
        for name, fn in functions.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def relative_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("model", GRID_MODELS)
def test_speed_options(benchmark, batches, model):
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    task, x, y = batches
    registered = MODELS.get(model).flags.channels_last
    info: dict[str, object] = {"model": model, "threads": 2, "registered_channels_last": registered}

    def measure() -> None:
        default_step, g0 = stepper(build(model, task, x, y), x, y)
        layouts = {flag: build(model, task, x, y, channels_last=flag) for flag in (False, True)}
        steps = {flag: stepper(s, x, y) for flag, s in layouts.items()}
        compiled = build(model, task, x, y)
        compiled.net.compile()
        start = time.perf_counter()
        compiled_step, g_compiled = stepper(compiled, x, y)
        info["compile_seconds"] = time.perf_counter() - start
        medians = interleaved_medians(
            {
                "registered": default_step,
                "contiguous": steps[False][0],
                "channels_last": steps[True][0],
                "compiled": compiled_step,
            }
        )
        other_gradients = steps[not registered][1]
        info.update(
            {
                "step_ms": 1e3 * medians["registered"],
                "channels_last_speedup": medians["contiguous"] / medians["channels_last"],
                "channels_last_grad_diff": relative_difference(other_gradients, g0),
                "compile_speedup": medians["registered"] / medians["compiled"],
                "compile_grad_diff": relative_difference(g_compiled, g0),
            }
        )
        inference = build(model, task, x, y).eval()

        def with_context(context) -> Callable[[], object]:
            def infer() -> object:
                with context():
                    return inference({"x": x})

            return infer

        contexts = {"no_grad": torch.no_grad, "inference": torch.inference_mode}
        infer = interleaved_medians({name: with_context(c) for name, c in contexts.items()})
        info["infer_ms_per_sample"] = 1e3 * infer["no_grad"] / len(x)
        info["inference_mode_speedup"] = infer["no_grad"] / infer["inference"]

    benchmark.pedantic(measure, rounds=1, iterations=1)
    torch.set_num_threads(before)
    benchmark.extra_info.update(info)
