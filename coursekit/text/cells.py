"""Recurrent cells written out by hand: a plain RNN, a GRU and an LSTM, one time step each.

They follow PyTorch's equations and weight layout (``nn.RNN``, ``nn.GRU``, ``nn.LSTM``), so ``copy_from`` can
load one layer of a PyTorch module and the outputs can be compared number for number. Each cell holds two
linear maps: ``ih`` (input -> all gates at once) and ``hh`` (hidden state -> all gates at once); the gates
are the chunks of their outputs, in PyTorch's order. ``run_cell`` steps a cell along a sequence.
"""

import torch
from torch import nn


class RNNCell(nn.Module):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh)."""

    n_gates = 1

    def __init__(self, n_in, n_hid):
        super().__init__()
        self.n_hid = n_hid
        self.ih = nn.Linear(n_in, self.n_gates * n_hid)  # x (bs, n_in) -> (bs, n_gates * n_hid)
        self.hh = nn.Linear(n_hid, self.n_gates * n_hid)  # h (bs, n_hid) -> (bs, n_gates * n_hid)

    def init_state(self, bs):
        """The zero state for a batch of ``bs``."""
        return self.ih.weight.new_zeros(bs, self.n_hid)

    def forward(self, x, h):
        return torch.tanh(self.ih(x) + self.hh(h))

    def copy_from(self, rnn, layer=0):
        """Take the weights of layer ``layer`` of a PyTorch ``nn.RNN``/``nn.GRU``/``nn.LSTM`` (same kind)."""
        with torch.no_grad():
            for ours, theirs in ((self.ih, "ih"), (self.hh, "hh")):
                weight, bias = getattr(rnn, f"weight_{theirs}_l{layer}"), getattr(rnn, f"bias_{theirs}_l{layer}")
                if weight.shape != ours.weight.shape:
                    raise ValueError(
                        f"{type(rnn).__name__} layer {layer}'s weight_{theirs} is {tuple(weight.shape)}, "
                        f"this {type(self).__name__} needs {tuple(ours.weight.shape)}: give it the "
                        "same kind of RNN with the same sizes."
                    )
                ours.weight.copy_(weight)
                ours.bias.copy_(bias)
        return self


class GRUCell(RNNCell):
    """The gated recurrent unit: a reset gate r chooses how much of the old state to use for the candidate n,
    an update gate z how much of the old state to keep instead of n."""

    n_gates = 3

    def forward(self, x, h):
        # each (bs, n_hid); PyTorch's order is reset, update, new
        i_r, i_z, i_n = self.ih(x).chunk(3, dim=1)
        h_r, h_z, h_n = self.hh(h).chunk(3, dim=1)
        r = torch.sigmoid(i_r + h_r)  # reset gate: 0 forgets the old state for the candidate
        z = torch.sigmoid(i_z + h_z)  # update gate: 1 keeps the old state unchanged
        n = torch.tanh(i_n + r * h_n)  # the candidate new state
        return (1 - z) * n + z * h  # a mix of the two, chosen per unit


class LSTMCell(RNNCell):
    """The long short-term memory cell: a cell state c, written through input and forget gates, read through
    an output gate; the state is the pair (h, c)."""

    n_gates = 4

    def init_state(self, bs):
        zeros = self.ih.weight.new_zeros(bs, self.n_hid)
        return zeros, zeros.clone()

    def forward(self, x, state):
        h, c = state  # each (bs, n_hid)
        # PyTorch's order is input, forget, cell (candidate), output
        i, f, g, o = (self.ih(x) + self.hh(h)).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)  # forget some memory, write some new
        h = torch.sigmoid(o) * torch.tanh(c)  # read part of the memory out
        return h, c


def run_cell(cell, x, state=None):
    """Step ``cell`` along ``x`` (bs, seq, n_in): (outputs (bs, seq, n_hid), the last state)."""
    state = cell.init_state(x.size(0)) if state is None else state
    outputs = []
    for t in range(x.size(1)):
        state = cell(x[:, t], state)
        outputs.append(state[0] if isinstance(state, tuple) else state)  # an LSTM outputs h, keeps c
    return torch.stack(outputs, dim=1), state
