import pytest
import torch

from coursekit.layers import SigmoidRange, sigmoid_range


def test_sigmoid_range_matches_the_formula_and_stays_inside():
    x = torch.linspace(-8, 8, 33)
    assert torch.allclose(sigmoid_range(x, 0.5, 5.0), torch.sigmoid(x) * 4.5 + 0.5)
    assert sigmoid_range(torch.tensor(0.0), 1.0, 3.0).item() == pytest.approx(2.0)  # the middle at 0
    extreme = sigmoid_range(torch.tensor([-1e4, -50.0, 50.0, 1e4]), 0.5, 5.0)
    assert extreme.min() >= 0.5 and extreme.max() <= 5.0 and torch.isfinite(extreme).all()


def test_sigmoid_range_layer_is_the_function_with_its_range_shown():
    layer = SigmoidRange(-1.0, 2.0)
    x = torch.randn(4, 3) * 10
    assert torch.equal(layer(x), sigmoid_range(x, -1.0, 2.0))
    assert repr(layer) == "SigmoidRange(lo=-1.0, hi=2.0)"
    assert not list(layer.parameters())  # nothing to learn: the range is fixed
