"""opbench's Trainer against a bare PyTorch loop on the same FNO, data and batch size.

The ratio shows what the trainer's bookkeeping (normalisation, schedule, clipping,
validation, per-epoch checkpoints) costs per epoch.
"""

import torch
from conftest import median_time

from opbench.checkpoint import CheckpointMeta
from opbench.config import TrainConfig
from opbench.data.base import SampleSet
from opbench.eval.metrics import METRICS
from opbench.models import MODELS, build_surrogate
from opbench.tasks import TaskSpec
from opbench.train.trainer import Trainer

N, GRID, BATCH = 64, 64, 16
TASK = TaskSpec(
    name="steady",
    layout="grid",
    input_fields=("k", "f"),
    output_fields=("u",),
    spatial_shape=(GRID, GRID),
)


HYPERPARAMETERS = MODELS.get("fno").preset("small")["model"]


def build():
    torch.manual_seed(0)
    return build_surrogate("fno", TASK, HYPERPARAMETERS)


def test_trainer_epoch_vs_bare_loop(benchmark, report_ratio, tmp_path):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(N, 2, GRID, GRID, generator=generator)
    y = torch.randn(N, 1, GRID, GRID, generator=generator)
    train, val = SampleSet({"x": x, "y": y}), SampleSet({"x": x[:8], "y": y[:8]})
    runs = iter(range(10**6))

    def opbench_epoch():
        trainer = Trainer(
            build(),
            TrainConfig(epochs=1, batch_size=BATCH),
            metric=METRICS.get("rel_l2"),
            checkpoint_dir=tmp_path / str(next(runs)),
            model_meta=CheckpointMeta(
                model="fno", hyperparameters=HYPERPARAMETERS, task=TASK, opbench_version="b"
            ),
            seed=0,
            device=torch.device("cpu"),
            progress=False,
        )
        trainer.fit(train, val)

    def bare_epoch():
        model = build()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        for start in range(0, N, BATCH):
            batch = {"x": x[start : start + BATCH]}
            loss = (model.net(batch) - y[start : start + BATCH]).square().mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    benchmark.pedantic(opbench_epoch, rounds=3, warmup_rounds=1)
    report_ratio("trainer_over_bare_loop", median_time(bare_epoch, 3))
