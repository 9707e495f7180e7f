"""Small layers that models of several domains share."""

import torch
from torch import nn


def sigmoid_range(x, lo, hi):
    """Squash ``x`` into (lo, hi) with a sigmoid, so a model's outputs can never leave that range."""
    return torch.sigmoid(x) * (hi - lo) + lo


class SigmoidRange(nn.Module):
    """``sigmoid_range`` as a layer: the last layer of a regression model whose targets lie in (lo, hi)."""

    def __init__(self, lo, hi):
        super().__init__()
        self.lo, self.hi = lo, hi

    def forward(self, x):
        return sigmoid_range(x, self.lo, self.hi)

    def extra_repr(self):
        return f"lo={self.lo}, hi={self.hi}"
