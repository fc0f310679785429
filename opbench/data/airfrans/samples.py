"""From AirfRANS simulations to splits of padded point clouds, and per-step node sampling.

Splits (the reference ``main.py``): train = ``manifest[<task>_train]`` without its last
10 %, which validate (n_val = int(0.1·n), at least 1 here: the reference's ``[:-0]`` would
leave no training set); test = ``manifest[<task>_test]``, or ``full_test`` for ``scarce``.

Each split holds every simulation padded to the largest node count of the loaded data:
``x`` (S, 7, N) the inputs (x, y, U∞cos α, U∞sin α, distance, n_x, n_y), ``y`` (S, 4, N)
the targets (u, v, p/ρ, ν_t), ``valid`` and ``mask`` (S, 1, N) 1 on real nodes, ``surface``
(S, 1, N) 1 on wall nodes, ``pos`` (S, 2, N) the raw coordinates, ``sim`` (S,) the index of
the simulation in the family's list (for its force stencil). Training batches draw
``n_points`` nodes of each simulation at random per step (32 000 in the reference), with
replacement only when a simulation has fewer nodes; validation and test use every node.
A training split larger than ``data.max_memory_gb`` is read one batch of simulations at a
time (:func:`~opbench.data.streaming.held_or_streamed`), padded to the same N.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from opbench.data.airfrans.files import Simulation
from opbench.data.base import Batch, Split

INPUTS = ("x", "y", "u_inf_cos", "u_inf_sin", "distance", "n_x", "n_y")
OUTPUTS = ("u", "v", "p", "nut")
POINT_KEYS = ("x", "y", "valid", "mask", "surface", "pos")


def split_names(manifest: dict[str, list[str]], task: str) -> dict[str, list[str]]:
    """train / val / test simulation names of an AirfRANS task (see the module docstring)."""
    train = manifest[f"{task}_train"]
    n_val = max(1, int(0.1 * len(train))) if len(train) > 1 else 0
    test = manifest["full_test" if task == "scarce" else f"{task}_test"]
    return {"train": train[: len(train) - n_val], "val": train[len(train) - n_val :], "test": test}


def padded_set(
    simulations: Sequence[Simulation], indices: Sequence[int], n_max: int
) -> dict[str, Tensor]:
    """The tensors of ``simulations`` (module docstring); ``indices`` are their indices in
    the family's list."""
    count = len(simulations)
    x = np.zeros((count, len(INPUTS), n_max), dtype=np.float32)
    y = np.zeros((count, len(OUTPUTS), n_max), dtype=np.float32)
    valid = np.zeros((count, 1, n_max), dtype=np.float32)
    surface = np.zeros((count, 1, n_max), dtype=np.float32)
    for i, simulation in enumerate(simulations):
        columns = simulation.columns()
        n = len(columns)
        x[i, :, :n] = columns[:, :7].T
        y[i, :, :n] = columns[:, 7:11].T
        valid[i, 0, :n] = 1.0
        surface[i, 0, :n] = columns[:, 11]
    valid_tensor = torch.from_numpy(valid)
    return {
        "x": torch.from_numpy(x),
        "y": torch.from_numpy(y),
        "valid": valid_tensor,
        "mask": valid_tensor,  # every real node is scored: the same tensor as "valid"
        "surface": torch.from_numpy(surface),
        "pos": torch.from_numpy(x[:, :2].copy()),
        "sim": torch.tensor(list(indices), dtype=torch.long),
    }


class NodeSampledSet:
    """A training split (in memory or streamed) whose batches hold ``n_points`` random nodes
    of each simulation; :meth:`chunks` (the normalisers' statistics) reads every node, and
    ``whole`` is the split it draws from (the fitted baselines fit on every node)."""

    def __init__(self, split: Split, n_points: int) -> None:
        self.whole = split
        self.n_points = n_points

    @property
    def keys(self) -> tuple[str, ...]:
        return self.whole.keys

    def __len__(self) -> int:
        return len(self.whole)

    def batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        keys: tuple[str, ...] | None = None,
    ) -> Iterator[Batch]:
        wanted = keys if keys is None or "valid" in keys else (*keys, "valid")
        for batch in self.whole.batches(
            batch_size, shuffle=shuffle, generator=generator, keys=wanted
        ):
            sampled = self._sample(batch, generator)
            yield sampled if keys is None else {name: sampled[name] for name in keys}

    def chunks(self, size: int, keys: tuple[str, ...] | None = None) -> Iterator[Batch]:
        yield from self.whole.chunks(size, keys=keys)

    def _sample(self, batch: Batch, generator: torch.Generator | None) -> Batch:
        counts = batch["valid"][:, 0].sum(dim=1).long()
        chosen = torch.stack(
            [
                torch.randperm(int(n), generator=generator)[: self.n_points]
                if n >= self.n_points
                else torch.randint(int(n), (self.n_points,), generator=generator)
                for n in counts
            ]
        )
        return {
            name: torch.gather(t, 2, chosen[:, None].expand(-1, t.shape[1], -1))
            if name in POINT_KEYS
            else t
            for name, t in batch.items()
        }
