"""Lesson 7's fixed-window character models and identity initialisation (the notebook's definition cells)."""

import torch
from notebook_defs import load_defs
from torch import nn

L7 = load_defs("lesson07_rnn")


def test_the_loop_over_three_characters_is_the_3_char_model():
    torch.manual_seed(0)
    char3 = L7.Char3Model(20, 6, 9)
    loop = L7.CharLoopModel(20, 6, 9)
    loop.load_state_dict(char3.state_dict())  # the same layers by name
    x = torch.randint(0, 20, (5, 3))
    torch.testing.assert_close(loop(x), char3(x), atol=1e-6, rtol=0)
    assert char3(x).shape == (5, 20)


def test_the_concat_model_reads_state_and_character_side_by_side():
    torch.manual_seed(0)
    model = L7.CharLoopConcatModel(20, 6, 9)
    assert model.l_in.in_features == 9 + 6
    x = torch.randint(0, 20, (4, 8))
    assert model(x).shape == (4, 20)
    # one character: the state is zero, so only the character's half of l_in's weights matters
    with torch.no_grad():
        expected = model.l_out(
            torch.tanh(
                model.l_hidden(
                    torch.relu(nn.functional.linear(model.emb(x[:, 0]), model.l_in.weight[:, 9:], model.l_in.bias))
                )
            )
        )
    torch.testing.assert_close(model(x[:, :1]), expected, atol=1e-6, rtol=0)


def test_char_rnn_predicts_from_the_last_state_and_the_seq_model_from_every_state():
    torch.manual_seed(0)
    seq = L7.CharSeqRnn(20, 6, 9)
    last = L7.CharRnn(20, 6, 9)
    last.load_state_dict(seq.state_dict())
    x = torch.randint(0, 20, (4, 8))
    every = seq(x)
    assert every.shape == (4, 8, 20)
    torch.testing.assert_close(last(x), every[:, -1], atol=1e-6, rtol=0)


def test_identity_init_sets_every_hidden_to_hidden_weight_to_the_identity_and_nothing_else():
    torch.manual_seed(0)
    rnn = nn.RNN(5, 7, num_layers=2)
    before = {k: v.clone() for k, v in rnn.state_dict().items()}
    assert L7.identity_init(rnn) is rnn
    for name, value in rnn.state_dict().items():
        if name.startswith("weight_hh"):
            torch.testing.assert_close(value, torch.eye(7), atol=0, rtol=0)
        else:
            torch.testing.assert_close(value, before[name], atol=0, rtol=0)
    # with no input and no biases, each step passes the state on through tanh alone
    one = nn.RNN(3, 4, bias=False)
    L7.identity_init(one)
    with torch.no_grad():
        one.weight_ih_l0.zero_()
        h0 = torch.randn(1, 2, 4)
        out, _ = one(torch.zeros(2, 2, 3), h0)
    torch.testing.assert_close(out[1], torch.tanh(torch.tanh(h0[0])), atol=1e-6, rtol=0)
