"""Data-parallel training under torchrun (2 CPU processes, gloo) matches one process."""

import json
import os
import subprocess
import sys

import pytest
import torch

from opbench import run as runner
from opbench.config import parse_set
from opbench.train.distributed import Distributed

OPTIONS = [
    "data.n_train=40",
    "data.n_test=8",
    "model.hidden_channels=8",
    "model.n_modes=[8,8]",
    "train.batch_size=8",
]


def test_two_ranks_train_like_one_process(tmp_path):
    spec = runner.resolve(
        "fno", "condiff", config="cubic0.1_grid16", epochs=3, overrides=parse_set(OPTIONS)
    )
    single = runner.run(spec, tmp_path / "single", progress=False).record.to_json()

    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "opbench",
        "run",
        "fno",
        "condiff",
        "--config",
        "cubic0.1_grid16",
        "--epochs",
        "3",
        "--out",
        str(tmp_path / "ddp"),
        "--quiet",
    ]
    for option in OPTIONS:
        command += ["--set", option]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (record_path,) = (tmp_path / "ddp").glob("*/record.json")
    ddp = json.loads(record_path.read_text())
    assert ddp["dataset"]["fingerprint"] == single["dataset"]["fingerprint"]
    assert ddp["train"]["epochs_run"] == 3
    assert ddp["train"]["best_val"] == pytest.approx(single["train"]["best_val"], rel=1e-4)
    single_losses = [h["train_loss"] for h in single["train"]["history"]]
    ddp_losses = [h["train_loss"] for h in ddp["train"]["history"]]
    assert ddp_losses == pytest.approx(single_losses, rel=1e-4)


def test_each_rank_takes_its_share_of_the_global_batch():
    batch = {"x": torch.arange(10).reshape(5, 2), "y": torch.arange(5)}
    shares = [Distributed(rank, 2).shard(batch) for rank in range(2)]
    assert shares[0]["y"].tolist() == [0, 2, 4]
    assert shares[1]["y"].tolist() == [1, 3]
    assert shares[1]["x"].tolist() == [[2, 3], [6, 7]]
    assert Distributed().shard(batch) is batch
