"""learn.summary(): each layer's output shape and parameter count, from one batch."""

import torch
from torch import nn

from coursekit.summary import model_summary


def test_summary_lists_each_layers_output_shape_and_parameters(synth_learner):
    learn = synth_learner(bs=16)
    summary = learn.summary()
    rows = [(r.name, r.kind, r.shape, r.params) for r in summary.rows]
    assert rows == [
        ("0.0", "Linear", (16, 16), 4 * 16 + 16),
        ("0.1", "BatchNorm1d", (16, 16), 32),
        ("0.2", "ReLU", (16, 16), 0),
        ("1", "Linear", (16, 3), 16 * 3 + 3),
    ]
    assert summary.total == summary.trainable == 80 + 32 + 51
    text = repr(summary)
    assert "BatchNorm1d" in text and "16 x 3" in text and "total parameters: 163; trainable: 163" in text


def test_summary_counts_frozen_parameters_and_leaves_the_model_as_it_was(synth_learner):
    learn = synth_learner(bs=8)
    learn.freeze()
    bn = learn.model[0][1]
    before = bn.running_mean.clone()
    learn.model.train()
    summary = learn.summary()
    assert summary.trainable == 51 + 32  # the head, and BatchNorm (train_bn) in the frozen group
    assert "frozen: 80" in repr(summary)
    assert learn.model.training and torch.equal(bn.running_mean, before)  # eval for the pass, no stats changed


class OwnWeight(nn.Module):
    """A module with a parameter of its own and a sub-layer."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.inner = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return self.inner(x) * self.scale


def test_a_module_with_its_own_parameters_gets_a_row_too():
    summary = model_summary(OwnWeight(), (torch.randn(2, 3, 8, 8),))
    rows = [(r.name, r.shape, r.params) for r in summary.rows]
    assert rows == [("inner", (2, 4, 8, 8), 112), ("OwnWeight", (2, 4, 8, 8), 1)]  # the model's own row last
    assert summary.total == 113
