"""learn.summary() (torchinfo): each layer's output shape and parameter count, from one batch."""

import torch
from torch import nn

from coursekit.summary import model_summary


def leaves(summary):
    return [(r.var_name, r.class_name, r.output_size, r.num_params) for r in summary.summary_list if r.is_leaf_layer]


def test_summary_lists_each_layers_output_shape_and_parameters(synth_learner):
    learn = synth_learner(bs=16)
    summary = learn.summary()
    assert leaves(summary) == [
        ("0", "Linear", [16, 16], 4 * 16 + 16),
        ("1", "BatchNorm1d", [16, 16], 32),
        ("2", "ReLU", [16, 16], 0),
        ("1", "Linear", [16, 3], 16 * 3 + 3),
    ]
    n = sum(p.numel() for p in learn.model.parameters())  # PyTorch's own count
    assert summary.total_params == summary.trainable_params == n == 80 + 32 + 51
    text = str(summary)
    assert "BatchNorm1d" in text and "[16, 3]" in text and f"Total params: {n}" in text
    assert f"Trainable params: {n}" in text and "Non-trainable params: 0" in text


def test_summary_counts_frozen_parameters_and_leaves_the_model_as_it_was(synth_learner):
    learn = synth_learner(bs=8)
    learn.freeze()
    bn = learn.model[0][1]
    before = bn.running_mean.clone()
    learn.model.train()
    summary = learn.summary()
    assert summary.trainable_params == 51 + 32  # the head, and BatchNorm (train_bn) in the frozen group
    assert "Non-trainable params: 80" in str(summary)
    frozen = [r.trainable for r in summary.summary_list if r.class_name == "Linear"]
    assert frozen == ["False", "True"]  # the Trainable column: the body's Linear is frozen, the head's trains
    assert learn.model.training and torch.equal(bn.running_mean, before)  # eval for the pass, no stats changed


class OwnWeight(nn.Module):
    """A module with a parameter of its own and a sub-layer."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.inner = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return self.inner(x) * self.scale


def test_a_module_with_its_own_parameters_counts_them():
    summary = model_summary(OwnWeight(), (torch.randn(2, 3, 8, 8),))
    assert leaves(summary) == [("inner", "Conv2d", [2, 4, 8, 8], 112)]
    assert summary.summary_list[0].output_size == [2, 4, 8, 8] and summary.total_params == 113
