"""Optimisers: the multi-tensor update is bitwise the per-tensor loop's."""

import pytest
import torch

from opbench.config import TrainConfig
from opbench.train.optim import OPTIMIZERS


def _steps(make_optimizer) -> list[torch.Tensor]:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 8, 3), torch.nn.GELU(), torch.nn.Conv2d(8, 1, 1))
    optimizer = make_optimizer(net.parameters())
    x = torch.randn(4, 2, 9, 9)
    for _ in range(3):
        optimizer.zero_grad()
        net(x).square().mean().backward()
        optimizer.step()
    return [p.detach().clone() for p in net.parameters()]


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_the_registered_optimizer_steps_like_the_per_tensor_loop(name):
    config = TrainConfig(optimizer=name, lr=1e-2, weight_decay=1e-2)
    registered = OPTIMIZERS.get(name)
    optimizer = registered(torch.nn.Linear(1, 1).parameters(), config)
    assert optimizer.defaults["foreach"] is True
    loop_class = type(optimizer)

    def loop(params):
        return loop_class(params, lr=1e-2, weight_decay=1e-2, foreach=False)

    fast, slow = _steps(lambda p: registered(p, config)), _steps(loop)
    assert all(torch.equal(a, b) for a, b in zip(fast, slow, strict=True))


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_a_step_bumps_every_parameters_version(name):
    """DeepONet/MultiONet cache their no-grad trunk output keyed on the trunk parameters'
    version counters (opbench/models/onet.py). PyTorch's fused CPU Adam kernel updates
    parameters without bumping them, and left that cache stale (validation scored old
    weights); a registered optimiser must bump them."""
    net = torch.nn.Linear(3, 2)
    optimizer = OPTIMIZERS.get(name)(net.parameters(), TrainConfig(optimizer=name, lr=1e-2))
    net(torch.randn(4, 3)).square().sum().backward()
    before = [p._version for p in net.parameters()]
    optimizer.step()
    assert all(p._version > v for p, v in zip(net.parameters(), before, strict=True))
