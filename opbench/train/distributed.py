"""Distributed data parallel (DDP) for one run, when launched under ``torchrun``.

``torchrun --nproc_per_node N $(which opbench) run MODEL DATASET ...`` starts N processes;
each reads ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` from the environment, joins the
process group (NCCL on GPUs, gloo on CPUs) and trains a replica on its share of every
batch: the global batch size stays ``train.batch_size`` and rank r takes samples
r, r + N, r + 2N, … of it, so gradients averaged by DDP equal the single-process gradient
of the batch mean (exactly when N divides the batch). Rank 0 alone writes checkpoints,
the record and plots. Batch-norm statistics stay per rank on CPUs (PyTorch's
SyncBatchNorm needs CUDA); on GPUs they are synchronised.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class Distributed:
    """This process's place in the run: ``rank`` of ``world_size`` (1 when not distributed)."""

    rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """This rank's share of a global batch: samples rank, rank + N, …"""
        if not self.enabled:
            return batch
        return {name: t[self.rank :: self.world_size] for name, t in batch.items()}

    def wrap(self, module: nn.Module, device: torch.device) -> nn.Module:
        """The module DDP-wrapped (with synchronised batch norm on CUDA), or as it is."""
        if not self.enabled:
            return module
        if device.type == "cuda":
            module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
            return nn.parallel.DistributedDataParallel(module, device_ids=[device.index])
        return nn.parallel.DistributedDataParallel(module)

    def any(self, *flags: bool) -> list[bool]:
        """Each flag OR-ed over all ranks, so that every rank takes the same decision."""
        if not self.enabled:
            return list(flags)
        tensor = torch.tensor([float(flag) for flag in flags])
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return [bool(value) for value in tensor.tolist()]

    def mean(self, value: float) -> float:
        """The mean of ``value`` over all ranks (for logging the epoch's training loss)."""
        if not self.enabled:
            return value
        tensor = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return float(tensor.item()) / self.world_size

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank (a picklable Python object)."""
        if not self.enabled:
            return value
        holder = [value]
        dist.broadcast_object_list(holder, src=0)
        return holder[0]


def setup(device_type: str) -> tuple[Distributed, torch.device]:
    """Join the process group if launched by torchrun; return the context and this rank's
    device (``cuda:LOCAL_RANK`` on GPUs)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Distributed(), torch.device(device_type)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device_type == "cuda":
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    return Distributed(dist.get_rank(), dist.get_world_size()), device


def teardown(context: Distributed) -> None:
    if context.enabled and dist.is_initialized():
        dist.destroy_process_group()
