"""Generator EMA, sample grids, LR schedule."""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn

from restoregan.callbacks.ema import GeneratorEMA
from restoregan.callbacks.sample_grid import make_grid
from restoregan.systems.schedules import constant_then_linear


class _Gen(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.bn = nn.BatchNorm1d(2)


def test_ema_averages_parameters_copies_buffers_and_swaps_for_validation() -> None:
    module = SimpleNamespace(generator=_Gen(), device=torch.device("cpu"))
    ema = GeneratorEMA(decay=0.9)
    ema.on_fit_start(None, module)
    start = module.generator.lin.weight.detach().clone()
    with torch.no_grad():
        module.generator.lin.weight.add_(1.0)
        module.generator.bn.running_mean.fill_(5.0)
    ema.on_train_batch_end(None, module, None, None, 0)
    assert torch.allclose(ema.ema["lin.weight"], start + 0.1)  # 0.9 * w0 + 0.1 * (w0 + 1)
    assert torch.equal(ema.ema["bn.running_mean"], torch.full((2,), 5.0))

    trained = module.generator.lin.weight.detach().clone()
    ema.on_validation_start(None, module)
    assert torch.allclose(module.generator.lin.weight, start + 0.1)
    ema.on_validation_end(None, module)
    assert torch.equal(module.generator.lin.weight, trained)

    ckpt: dict = {}
    ema.on_save_checkpoint(None, module, ckpt)
    restored = GeneratorEMA(decay=0.9)
    restored.on_load_checkpoint(None, module, ckpt)
    assert torch.equal(restored.ema["lin.weight"], ema.ema["lin.weight"])


def test_sample_grid_layout_and_sr_upsampling() -> None:
    lr = torch.rand(2, 3, 8, 8)
    sr = torch.rand(2, 3, 32, 32)
    grid = make_grid(lr, sr, sr, gap=2)
    assert grid.shape == (2 * 32 + 2, 3 * 32 + 2 * 2, 3) and grid.dtype.name == "uint8"
    big = torch.rand(1, 3, 300, 400)
    assert make_grid(big, big, big, max_size=64, gap=2).shape == (64, 3 * 64 + 4, 3)


def test_constant_then_linear_reaches_zero() -> None:
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = constant_then_linear(opt, constant=3, decay=4)
    lrs = []
    for _ in range(8):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0]
