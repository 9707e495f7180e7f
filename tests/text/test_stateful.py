"""Lesson 7's stateful character models (the notebook's definition cells): state carried and detached between
batches, reset each pass; sampling."""

import pytest
import torch
from torch import nn

from coursekit.callbacks import Callback
from coursekit.learner import Learner
from coursekit.text import chars, training
from notebook_defs import load_defs

L7 = load_defs("lesson07_rnn")

TEXT = "It is not the strength, but the duration of great sentiments that makes great men. " * 12


def graph_size(t):
    """How many autograd nodes a backward pass from ``t`` would visit."""
    seen, todo = set(), [t.grad_fn]
    while todo:
        fn = todo.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        todo += [f for f, _ in fn.next_functions]
    return len(seen)


@pytest.fixture
def learn(one_thread, tmp_path):
    torch.manual_seed(0)
    vocab = chars.CharVocab.build(TEXT)
    dls = chars.stateful_dls(TEXT, vocab, bs=4, bptt=8)
    model = L7.CharModel(len(vocab), n_fac=8, n_hid=16, kind="lstm")
    return Learner(model, dls, training.LMLoss(), lr=1e-2, cbs=[L7.StatefulRNN()], device="cpu", path=tmp_path)


def test_detach_state_handles_tensors_tuples_and_none():
    h = torch.ones(2, requires_grad=True) * 2
    assert L7.detach_state(None) is None
    assert L7.detach_state(h).grad_fn is None
    pair = L7.detach_state((h, h))
    assert isinstance(pair, tuple) and all(t.grad_fn is None for t in pair)


class Probe(Callback):
    """Records, at each batch's loss, the graph's size and whether the state came in detached."""

    order = 100

    def __init__(self):
        self.sizes, self.detached = [], []

    def after_loss(self, learn):
        if learn.training:
            self.sizes.append(graph_size(learn.loss))
            # the state the model started this batch from had been cut from the last batch's graph
            self.detached.append(all(t.grad_fn is None for t in self.state_in))

    def before_batch(self, learn):
        hidden = learn.model.hidden
        self.state_in = () if hidden is None else hidden


def test_hidden_state_is_carried_but_detached_so_the_graph_does_not_grow(learn):
    probe = Probe()
    learn.fit(1, cbs=[probe])
    assert len(probe.sizes) >= 10 and all(probe.detached)
    assert probe.sizes[1] == probe.sizes[-2]  # batch 2 and batch n back-propagate through the same window only
    assert learn.model.hidden is not None  # carried: not thrown away after each batch


def test_without_detaching_the_second_backward_fails(learn):
    learn.remove_cbs([cb for cb in learn.cbs if isinstance(cb, L7.StatefulRNN)])
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        learn.fit(1)


def test_state_is_reset_at_each_epoch_and_validation(learn):
    calls = []
    reset = learn.model.reset

    def spy():
        calls.append("train" if learn.training else "valid")
        reset()

    learn.model.reset = spy
    learn.fit(2)
    assert calls == ["train", "valid", "train", "valid"]
    learn.get_preds()
    assert calls[-1] == "valid"


def test_a_stateful_char_model_learns_and_samples(learn):
    learn.fit(3, lr=2e-2)
    assert learn.recorder.last_metrics["valid_loss"] < 2.0  # nats per char, from log(26) ~ 3.3
    vocab = learn.dls.vocab
    text = L7.sample_text(learn.model, vocab, "It is", 30, temperature=0.5, seed=0)
    assert text.startswith("It is") and len(text) == 35
    assert text == L7.sample_text(learn.model, vocab, "It is", 30, temperature=0.5, seed=0)
    # the text starts from a fresh state whatever the model held, and the model gets its own state back
    learn.model.eval()
    held = learn.model.hidden = tuple(torch.full((1, 1, 16), 3.0) for _ in range(2))  # one row, as the prompt
    assert L7.sample_text(learn.model, vocab, "It is", 30, temperature=0.5, seed=0) == text
    assert learn.model.hidden is held and not learn.model.training
    with pytest.raises(ValueError, match="empty"):
        L7.sample_text(learn.model, vocab, "", 5)
    with pytest.raises(ValueError, match="kind"):
        L7.CharModel(10, kind="transformer")
    assert "lstm" in repr(learn.model) and isinstance(learn.model.rnn, nn.LSTM)
