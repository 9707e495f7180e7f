"""The hand-written RNN, GRU and LSTM cells against PyTorch's modules given the same weights."""

import pytest
import torch
from torch import nn

from coursekit.text import cells


@pytest.mark.parametrize(
    "kind, cell_cls",
    [(nn.RNN, cells.RNNCell), (nn.GRU, cells.GRUCell), (nn.LSTM, cells.LSTMCell)],
    ids=["rnn", "gru", "lstm"],
)
def test_cells_equal_pytorch_given_the_same_weights(kind, cell_cls):
    torch.manual_seed(0)
    ref = kind(5, 7, num_layers=2, batch_first=True)
    x = torch.randn(3, 11, 5)
    expected, expected_state = ref(x)
    first = cells.run_cell(cell_cls(5, 7).copy_from(ref, 0), x)[0]
    out, state = cells.run_cell(cell_cls(7, 7).copy_from(ref, 1), first)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)
    if kind is nn.LSTM:
        torch.testing.assert_close(state[1], expected_state[1][1], atol=1e-5, rtol=0)  # the cell state too
    else:
        torch.testing.assert_close(state, expected_state[1], atol=1e-5, rtol=0)


def test_gru_cell_from_a_given_state_and_its_gradients_match():
    torch.manual_seed(1)
    ref = nn.GRU(4, 6, batch_first=True)
    cell = cells.GRUCell(4, 6).copy_from(ref)
    x, h0 = torch.randn(2, 5, 4), torch.randn(2, 6)
    out, _ = cells.run_cell(cell, x, h0)
    expected, _ = ref(x, h0[None])
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)
    out.sum().backward()
    expected.sum().backward()
    torch.testing.assert_close(cell.hh.weight.grad, ref.weight_hh_l0.grad, atol=1e-5, rtol=0)


def test_copy_from_the_wrong_kind_says_so():
    with pytest.raises(ValueError, match="LSTM layer 0's weight_ih is \\(16, 3\\).*GRUCell needs \\(12, 3\\)"):
        cells.GRUCell(3, 4).copy_from(nn.LSTM(3, 4))
