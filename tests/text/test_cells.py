"""Lesson 7's hand-written RNN, GRU and LSTM cells (the notebook's definition cells) against PyTorch's modules given
the same weights, and the stateful model stepping the hand-written RNN cell against the one on ``nn.RNN``."""

import pytest
import torch
from notebook_defs import load_defs
from torch import nn

L7 = load_defs("lesson07_rnn")


@pytest.mark.parametrize(
    "kind, cell_name", [(nn.RNN, "RNNCell"), (nn.GRU, "GRUCell"), (nn.LSTM, "LSTMCell")], ids=["rnn", "gru", "lstm"]
)
def test_cells_equal_pytorch_given_the_same_weights(kind, cell_name):
    cell_cls = getattr(L7, cell_name)
    torch.manual_seed(0)
    ref = kind(5, 7, num_layers=2, batch_first=True)
    x = torch.randn(3, 11, 5)
    expected, expected_state = ref(x)
    first = L7.run_cell(cell_cls(5, 7).copy_from(ref, 0), x)[0]
    out, state = L7.run_cell(cell_cls(7, 7).copy_from(ref, 1), first)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)
    if kind is nn.LSTM:
        torch.testing.assert_close(state[1], expected_state[1][1], atol=1e-5, rtol=0)  # the cell state too
    else:
        torch.testing.assert_close(state, expected_state[1], atol=1e-5, rtol=0)


def test_gru_cell_from_a_given_state_and_its_gradients_match():
    torch.manual_seed(1)
    ref = nn.GRU(4, 6, batch_first=True)
    cell = L7.GRUCell(4, 6).copy_from(ref)
    x, h0 = torch.randn(2, 5, 4), torch.randn(2, 6)
    out, _ = L7.run_cell(cell, x, h0)
    expected, _ = ref(x, h0[None])
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)
    out.sum().backward()
    expected.sum().backward()
    torch.testing.assert_close(cell.hh.weight.grad, ref.weight_hh_l0.grad, atol=1e-5, rtol=0)


def test_copy_from_the_wrong_kind_says_so():
    with pytest.raises(ValueError, match="LSTM layer 0's weight_ih is \\(16, 3\\).*GRUCell needs \\(12, 3\\)"):
        L7.GRUCell(3, 4).copy_from(nn.LSTM(3, 4))


def test_the_hand_written_cell_model_equals_the_nn_rnn_model_across_batches_and_in_its_gradients():
    torch.manual_seed(2)
    ref = L7.CharStatefulRnn(12, 5, 7)
    ours = L7.CharCellRnn(12, 5, 7).copy_from(ref)
    for x in torch.randint(0, 12, (3, 4, 6)):  # three batches of 4 rows: the state carries from one to the next
        torch.testing.assert_close(ours(x), ref(x), atol=1e-5, rtol=0)
        torch.testing.assert_close(ours.hidden, ref.hidden[0], atol=1e-5, rtol=0)
    ours(x).sum().backward()
    ref(x).sum().backward()
    torch.testing.assert_close(ours.cell.hh.weight.grad, ref.rnn.weight_hh_l0.grad, atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.emb.weight.grad, ref.emb.weight.grad, atol=1e-5, rtol=0)
    ours(x[:1])  # another batch size starts from zeros, not from the stored state of 4 rows
    ref.reset()
    ref(x[:1])
    torch.testing.assert_close(ours.hidden, ref.hidden[0], atol=1e-5, rtol=0)
    ours.reset()
    assert ours.hidden is None
