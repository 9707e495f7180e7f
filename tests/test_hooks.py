"""Forward hooks as a context manager: outputs kept in order, every hook removed afterwards."""

import pytest
import torch
from torch import nn

from coursekit.hooks import Hook, hook_outputs, n_forward_hooks


def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


def test_hooks_keep_each_modules_output_in_order():
    m, x = model(), torch.randn(3, 4)
    with hook_outputs([m[1], m[0]]) as hooks:
        out = m(x)
    assert torch.equal(hooks.stored[1], m[0](x)) and torch.equal(hooks.stored[0], torch.relu(m[0](x)))
    assert hooks.stored[0].requires_grad and len(hooks) == 2
    assert torch.equal(out, m(x))


def test_detached_hooks_keep_no_graph():
    m = model()
    with hook_outputs([m[0]], detach=True) as hooks:
        m(torch.randn(3, 4))
    assert not hooks.stored[0].requires_grad


def test_no_hooks_are_left_after_the_block():
    m = model()
    with hook_outputs(list(m)):
        assert n_forward_hooks(m) == 3
    assert n_forward_hooks(m) == 0


def test_no_hooks_are_left_after_an_exception():
    m = model()
    with pytest.raises(RuntimeError):
        with hook_outputs(list(m)):
            m(torch.randn(3, 5))  # wrong width: the forward pass raises inside the block
    assert n_forward_hooks(m) == 0


def test_a_bad_module_in_the_list_is_a_clear_error_and_leaks_nothing():
    m = model()
    with pytest.raises(TypeError, match="needs an nn.Module"):
        hook_outputs([m[0], "relu"])
    assert n_forward_hooks(m) == 0


def test_remove_twice_is_harmless():
    m = model()
    h = Hook(m[0])
    h.remove()
    h.remove()
    assert n_forward_hooks(m) == 0
