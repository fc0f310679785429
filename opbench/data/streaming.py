"""Training splits read from disk batch by batch, for data larger than the memory budget.

A :class:`StreamedSampleSet` holds no samples: it knows the file rows of its split and a
``read(rows) -> Batch`` that converts those rows exactly as the in-memory loader converts
the whole file. Its batches are those of the in-memory
:class:`~opbench.data.base.SampleSet` of the same rows: the same order per epoch (the same
:func:`~opbench.data.base.batch_positions` with the same generator) and the same values,
so a streamed run trains and scores as the in-memory run does. Only the rows of one batch
are in memory at a time.

The budget (``data.max_memory_gb``) defaults to :data:`DEFAULT_BUDGET_FRACTION` of the
machine's physical memory; a family streams its training split when the split's tensors
would take more than that.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import numpy as np
import torch

from opbench.data.base import Batch, SampleSet, Split, batch_positions

Row = TypeVar("Row")

DEFAULT_BUDGET_FRACTION = 0.5
"""Share of physical memory a training split may take in memory when no budget is set."""


def physical_memory_bytes() -> int:
    """The machine's physical memory (``sysconf``)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def budget_bytes(max_memory_gb: float | None) -> int:
    """The memory budget of a training split: ``max_memory_gb`` GiB, or by default
    :data:`DEFAULT_BUDGET_FRACTION` of physical memory."""
    if max_memory_gb is None:
        return int(DEFAULT_BUDGET_FRACTION * physical_memory_bytes())
    return int(max_memory_gb * 2**30)


class StreamedSampleSet:
    """A split whose samples stay on disk; batches are read when they are needed.

    Args:
        read: ``read(rows) -> Batch`` for increasing, distinct file rows (a NumPy int
            array): every key of the split, stacked in the order of ``rows``.
        rows: the file row of each sample of the split, in split order.
        keys: the keys ``read`` returns.
    """

    def __init__(
        self, read: Callable[[np.ndarray], Batch], rows: np.ndarray, keys: tuple[str, ...]
    ) -> None:
        self.read = read
        self.rows = np.asarray(rows, dtype=np.int64)
        self._keys = keys

    @property
    def keys(self) -> tuple[str, ...]:
        return self._keys

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, positions: torch.Tensor) -> Batch:
        """The samples at ``positions`` of the split, in that order (each file row read
        once, in increasing order, then put back in the asked order)."""
        rows, inverse = np.unique(self.rows[positions.numpy()], return_inverse=True)
        order = torch.from_numpy(inverse.reshape(-1))
        return {name: tensor[order] for name, tensor in self.read(rows).items()}

    def batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        keys: tuple[str, ...] | None = None,
    ) -> Iterator[Batch]:
        """The batches :meth:`SampleSet.batches <opbench.data.base.SampleSet.batches>` of
        the same rows would yield, read from disk one at a time."""
        names = keys if keys is not None else self._keys
        for positions in batch_positions(len(self), batch_size, shuffle, generator):
            batch = self.take(positions)
            yield {name: batch[name] for name in names}

    def chunks(self, size: int, keys: tuple[str, ...] | None = None) -> Iterator[Batch]:
        """Every sample in consecutive chunks of ``size``, read from disk one at a time."""
        yield from self.batches(size, keys=keys)


def held_or_streamed(
    rows: Sequence[Row], build: Callable[[Sequence[Row]], Batch], stream: bool
) -> Split:
    """The split of ``rows`` (one per sample, in split order): ``build(rows)`` in memory, or
    (``stream``) a :class:`StreamedSampleSet` that builds each batch from its own rows.
    ``build`` must treat each row on its own, so both give the same values."""
    if not rows:
        return SampleSet({})
    if not stream:
        return SampleSet(build(rows))
    keys = tuple(build(rows[:1]))
    return StreamedSampleSet(
        lambda index: build([rows[i] for i in index]), np.arange(len(rows)), keys
    )
