"""Optimisers: the one-call update (fused, or multi-tensor with complex parameters) agrees
with the per-tensor loop's to float32 rounding."""

import pytest
import torch

from opbench.config import TrainConfig
from opbench.train.optim import OPTIMIZERS


class Net(torch.nn.Module):
    """Two convolutions, and a complex weight when ``complex_weight``."""

    def __init__(self, complex_weight: bool) -> None:
        super().__init__()
        self.conv = torch.nn.Sequential(
            torch.nn.Conv2d(2, 8, 3), torch.nn.GELU(), torch.nn.Conv2d(8, 1, 1)
        )
        self.spectral = (
            torch.nn.Parameter(torch.randn(7, 7, dtype=torch.cfloat)) if complex_weight else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if self.spectral is not None:
            y = y * self.spectral.abs()
        return y


def _steps(make_optimizer, complex_weight: bool) -> list[torch.Tensor]:
    torch.manual_seed(0)
    net = Net(complex_weight)
    optimizer = make_optimizer(list(net.parameters()))
    x = torch.randn(4, 2, 9, 9)
    for _ in range(3):
        optimizer.zero_grad()
        net(x).square().mean().backward()
        optimizer.step()
    return [p.detach().clone() for p in net.parameters()]


@pytest.mark.parametrize("complex_weight", [False, True], ids=["real", "complex"])
@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_the_registered_optimizer_steps_like_the_per_tensor_loop(name, complex_weight):
    config = TrainConfig(optimizer=name, lr=1e-2, weight_decay=1e-2)
    registered = OPTIMIZERS.get(name)
    optimizer = registered(list(Net(complex_weight).parameters()), config)
    one_call = "foreach" if complex_weight else "fused"
    if "fused" in optimizer.defaults:  # Adam, AdamW; SGD-like optimisers have neither
        assert optimizer.defaults[one_call] is True
    loop_class = type(optimizer)

    def loop(params):
        return loop_class(params, lr=1e-2, weight_decay=1e-2, foreach=False)

    fast = _steps(lambda p: registered(p, config), complex_weight)
    slow = _steps(loop, complex_weight)
    for a, b in zip(fast, slow, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


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
