"""Lesson 6 writes SGD with momentum, RMSProp and Adam from scratch in the notebook, where students read them;
this runs that cell (tagged ``optimizers-from-scratch``) and checks each against ``torch.optim`` step for step."""

import json
from pathlib import Path

import pytest
import torch
from torch import nn

LESSON = Path(__file__).resolve().parents[2] / "nbs" / "lesson06_collab.ipynb"


@pytest.fixture(scope="module")
def ours():
    nb = json.loads(LESSON.read_text())
    cells = [c for c in nb["cells"] if "optimizers-from-scratch" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, "lesson 6 has one cell tagged optimizers-from-scratch"
    namespace = {"torch": torch}
    exec("".join(cells[0]["source"]), namespace)
    return namespace


def after_10_steps(make_opt, seed=0):
    """A small net's weights after 10 steps of ``make_opt`` on fixed random batches (float32)."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1))
    data = torch.Generator().manual_seed(1)
    opt = make_opt(model.parameters())
    for _ in range(10):
        x, y = torch.randn(32, 6, generator=data), torch.randn(32, 1, generator=data)
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        opt.zero_grad()
    return torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.mark.parametrize(
    "name, ours_kwargs, theirs",
    [
        (
            "SGD",
            dict(lr=0.1, momentum=0.9, weight_decay=1e-2),
            lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-2),
        ),
        ("RMSProp", dict(lr=1e-2, weight_decay=1e-2), lambda p: torch.optim.RMSprop(p, lr=1e-2, weight_decay=1e-2)),
        ("Adam", dict(lr=1e-2, weight_decay=1e-2), lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=1e-2)),
        (
            "Adam",
            dict(lr=1e-2, weight_decay=0.1, decoupled=True),
            lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1),
        ),
    ],
)
def test_the_lessons_optimizers_match_torch_optim_after_10_steps(ours, name, ours_kwargs, theirs):
    mine = after_10_steps(lambda p: ours[name](p, **ours_kwargs))
    reference = after_10_steps(theirs)
    start = after_10_steps(lambda p: torch.optim.SGD(p, lr=0.0))
    assert (mine - start).abs().max() > 1e-2  # they did move the weights
    assert torch.allclose(mine, reference, rtol=0, atol=1e-6), (mine - reference).abs().max()
