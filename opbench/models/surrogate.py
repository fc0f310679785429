"""Surrogate: a registered network between input and output normalisers.

Inputs and outputs are standardised per channel with statistics fitted on the training
split (unit-Gaussian normalisation, as in the FNO reference code):
``x̃ = (x − μ_x) / σ_x``, and the network predicts ``ỹ`` with ``y = σ_y ỹ + μ_y``.
The trainer's loss compares ``ỹ`` with the normalised target; every metric is computed on
``y`` in physical units.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from opbench import checkpoint
from opbench.data.base import Batch, SampleSet, Split
from opbench.errors import DataError, OpbenchError
from opbench.models.base import MODELS, ModelFlags
from opbench.ops.moments import channel_moments
from opbench.tasks import TaskSpec

NORMALIZER_CHUNK = 32
"""Samples per chunk when the normalisers are fitted."""


class ChannelNormalizer(nn.Module):
    """Per-channel standardisation ``(v − μ_c) / σ_c`` with μ, σ fitted on training data."""

    def __init__(self, channels: int, eps: float = 1e-12, center: bool = True) -> None:
        super().__init__()
        self.eps = eps
        self.center = center
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("std", torch.ones(channels))

    def fit(self, batches: Callable[[], Iterable[tuple[Tensor, Tensor | None]]]) -> None:
        """Fit μ_c and σ_c over every axis but the channel axis (1) with
        :func:`~opbench.ops.moments.channel_moments` (two float64 passes over ``batches()``,
        pairs of values and ``valid``): μ_c = Σ w v / Σ w, then σ_c² = Σ w (v − μ_c)² / Σ w.
        Without centring μ_c = 0 and σ_c is the root mean square."""
        moments = channel_moments(batches, center=self.center)
        self.mean.copy_(moments.mean)
        self.std.copy_((moments.squares / moments.count).sqrt().clamp_min(self.eps))

    def _shape(self, values: Tensor) -> tuple[int, ...]:
        return (1, -1) + (1,) * (values.ndim - 2)

    def encode(self, values: Tensor) -> Tensor:
        shape = self._shape(values)
        return (values - self.mean.view(shape)) / self.std.view(shape)

    def decode(self, values: Tensor) -> Tensor:
        shape = self._shape(values)
        return values * self.std.view(shape) + self.mean.view(shape)


class Surrogate(nn.Module):
    """``net`` between an input and an output :class:`ChannelNormalizer`.

    ``flags`` are the model's registered :class:`~opbench.models.base.ModelFlags`: an
    offset-free model's outputs are scaled, not centred; a model in physical units sees the
    raw batch; a fitted one is fitted in closed form by the trainer; a channels-last one
    holds its weights and receives its grid inputs in that memory format.
    """

    def __init__(self, net: nn.Module, task: TaskSpec, flags: ModelFlags) -> None:
        super().__init__()
        self.net = net.to(memory_format=torch.channels_last) if flags.channels_last else net
        self.flags = flags
        self.input_norm = ChannelNormalizer(task.in_channels)
        self.output_norm = ChannelNormalizer(task.out_channels, center=not flags.output_offset_free)

    def fit_normalizers(self, x: Tensor, y: Tensor, valid: Tensor | None = None) -> None:
        """Fit both normalisers on training tensors held in memory."""
        tensors = {"x": x, "y": y} | ({} if valid is None else {"valid": valid})
        self.fit_normalizers_on(SampleSet(tensors))

    def fit_normalizers_on(self, split: Split) -> None:
        """Fit both normalisers on a training split, read in consecutive chunks of
        :data:`NORMALIZER_CHUNK` samples (so an in-memory and a streamed split of the same
        samples give the same statistics, bit for bit)."""
        keys = tuple(key for key in ("x", "y", "valid") if key in split.keys)

        def pairs(name: str) -> Callable[[], Iterator[tuple[Tensor, Tensor | None]]]:
            def read() -> Iterator[tuple[Tensor, Tensor | None]]:
                for batch in split.chunks(NORMALIZER_CHUNK, keys=keys):
                    yield batch[name], batch.get("valid")

            return read

        self.input_norm.fit(pairs("x"))
        self.output_norm.fit(pairs("y"))

    def normalized_batch(self, batch: Batch) -> Batch:
        x = self.input_norm.encode(batch["x"])
        if self.flags.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return {**batch, "x": x}

    def forward(self, batch: Batch, normalized: bool = False) -> Tensor:
        """The prediction y in physical units, or the network's output ỹ in normalised units
        with ``normalized=True`` (what the training loss compares)."""
        if self.flags.physical_units:
            output = self.net(batch)
            return self.output_norm.encode(output) if normalized else output
        output = self.net(self.normalized_batch(batch))
        return output if normalized else self.output_norm.decode(output)


def build_surrogate(model: str, task: TaskSpec, hyperparameters: Mapping[str, Any]) -> Surrogate:
    """The registered ``model`` for ``task`` between its normalisers (hyperparameters are
    checked against the model's declared ones)."""
    entry = MODELS.get(model)
    entry.check_layout(task.layout, task.name)
    return Surrogate(entry.instantiate(task, hyperparameters), task, entry.flags)


def load_surrogate(path: Path) -> Surrogate:
    """Rebuild a Surrogate from a checkpoint alone.

    The metadata (validated by :func:`~opbench.checkpoint.load_checkpoint`) names the model,
    its hyperparameters (checked like ``model.*`` options) and the task. The network is
    first built on the meta device, where nothing is allocated, and its tensor shapes are
    compared with the file's: crafted sizes are refused before any real allocation.
    """
    tensors, meta = checkpoint.load_checkpoint(path)
    prefix = "model." if any(name.startswith("model.") for name in tensors) else ""
    try:
        with torch.device("meta"):
            skeleton = build_surrogate(meta.model, meta.task, meta.hyperparameters)
        checkpoint.check_shapes(skeleton, tensors, prefix)
    except OpbenchError as error:
        raise DataError(f"checkpoint {path}: {error}") from None
    surrogate = build_surrogate(meta.model, meta.task, meta.hyperparameters)
    checkpoint.load_module_tensors(surrogate, tensors, prefix)
    return surrogate
