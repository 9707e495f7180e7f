"""Training text models: loss, metrics, callbacks, gradual unfreezing through the Learner, and generation."""

import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from coursekit.data import DataLoaders
from coursekit.learner import Learner
from coursekit.precision import Precision
from coursekit.prediction import per_item_loss
from coursekit.text import models, training

PAD, VOCAB_SZ = 1, 24


class Batches(list):
    """A list of (x, y) batches that the Learner can use as a loader (it has a ``dataset``, without classes)."""

    dataset = SimpleNamespace()


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/text/conftest.py


def lm_batches(n_tokens, bs=8, bptt=10, seed=0):
    """(x, y) batches of a stream that repeats a fixed random 7-token phrase: easy to learn, not trivial."""
    g = torch.Generator().manual_seed(seed)
    phrase = torch.randint(2, VOCAB_SZ, (7,), generator=torch.Generator().manual_seed(42))
    stream = phrase.repeat(n_tokens // 7 + 2)[int(torch.randint(0, 7, (1,), generator=g)) :][: n_tokens + 1]
    rows = n_tokens // bs
    x, y = stream[: rows * bs].view(bs, rows), stream[1 : rows * bs + 1].view(bs, rows)  # bs contiguous rows
    return Batches((x[:, i : i + bptt], y[:, i : i + bptt]) for i in range(0, rows - 1, bptt))


def lm_learner(tmp_path, **kwargs):
    torch.manual_seed(0)
    model = models.language_model(VOCAB_SZ, emb_sz=16, n_hid=32, n_layers=2, pad_idx=PAD)
    dls = DataLoaders(lm_batches(2000), lm_batches(400, seed=1))
    cbs = [training.ResetState(), training.RNNRegularizer(), training.GradientClip(0.4)]
    return Learner(
        model,
        dls,
        training.LMLoss(),
        lr=1e-2,
        cbs=cbs,
        path=tmp_path,
        device="cpu",
        metrics=[training.perplexity, training.lm_accuracy],
        **kwargs,
    )


def test_language_model_trains_through_the_learner(tmp_path):
    learn = lm_learner(tmp_path)
    start = learn.get_preds(with_loss=True)[2].mean().item()
    learn.fit_one_cycle(3, 5e-2)
    end = learn.recorder.last_metrics
    assert start > 0.9 * math.log(VOCAB_SZ) and end["valid_loss"] < 0.5 * start
    assert end["perplexity"] == pytest.approx(math.exp(end["valid_loss"]), rel=1e-4)
    assert end["lm_accuracy"] > 0.5


def test_reset_state_resets_at_each_training_and_validation_pass(tmp_path):
    learn = lm_learner(tmp_path)
    calls = []
    learn.model.reset = lambda: calls.append(learn.training)
    learn.fit(2)
    assert calls == [True, False, True, False]
    learn.get_preds()
    assert calls[-1] is False and len(calls) == 5


def test_gradual_unfreezing_trains_only_the_unfrozen_groups(tmp_path):
    torch.manual_seed(0)
    x = torch.randint(2, VOCAB_SZ, (64, 12))
    y = (x == 5).any(1).long()  # does the text contain token 5?
    batches = Batches((x[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16))
    model = models.text_classifier(VOCAB_SZ, 2, bptt=5, emb_sz=8, n_hid=12, n_layers=2, pad_idx=PAD)
    learn = Learner(
        model,
        DataLoaders(batches, Batches(batches[:1])),
        nn.CrossEntropyLoss(),
        lr=1e-2,
        path=tmp_path,
        device="cpu",
        cbs=[training.RNNRegularizer(), training.GradientClip(1.0)],
    )
    groups = learn.layer_groups()  # embedding, lstm 0, lstm 1, head
    for n_trained in (1, 2, 3, 4):
        learn.freeze_to(-n_trained) if n_trained < 4 else learn.unfreeze()
        before = [[p.detach().clone() for p in g.parameters()] for g in groups]
        learn.fit(1, lr=training.discriminative_lrs(1e-2, len(groups)))
        changed = [any(not torch.equal(a, p) for a, p in zip(old, g.parameters())) for old, g in zip(before, groups)]
        assert changed == [i >= len(groups) - n_trained for i in range(len(groups))]


def test_freezing_the_language_model_trains_the_tied_decoder(tmp_path):
    learn = lm_learner(tmp_path)
    learn.freeze_to(-1)  # as 2018's ULMFiT: first the (new) embedding rows, through the tied decoder
    trainable = {n for n, p in learn.model.named_parameters() if p.requires_grad}
    assert trainable == {"encoder.embedding.weight", "decoder.linear.bias"}


def test_discriminative_rates_divide_by_2_6_per_group(tmp_path):
    learn = lm_learner(tmp_path)
    lrs = training.discriminative_lrs(1e-2, 4)  # embedding, 2 LSTM layers, decoder
    assert lrs == pytest.approx([1e-2 / 2.6**k for k in (3, 2, 1, 0)])
    assert learn.group_lrs(slice(1e-2 / 2.6**3, 1e-2)) == pytest.approx(lrs)
    learn.create_opt()
    learn.set_lrs(learn.group_lrs(lrs))
    assert [g["lr"] for g in learn.opt.param_groups] == pytest.approx(lrs)


def fake_learn(loss, raw, out, training_=True):
    encoder = SimpleNamespace(raw_output=raw, output=out)
    return SimpleNamespace(model=SimpleNamespace(encoder=encoder), loss=loss, training=training_)


def test_rnn_regularizer_adds_ar_and_tar_in_training_only():
    raw, out = torch.randn(2, 5, 3), torch.randn(2, 5, 3)
    plain = torch.tensor(1.5)
    reg = training.RNNRegularizer(alpha=2.0, beta=1.0)
    learn = fake_learn(plain, raw, out)
    reg.after_loss(learn)
    expected = 1.5 + 2.0 * out.pow(2).mean() + 1.0 * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
    assert torch.allclose(learn.loss, expected)
    reg.after_backward(learn)
    assert learn.loss is plain  # the recorded training loss is the plain one
    valid = fake_learn(plain, raw, out, training_=False)
    reg.after_loss(valid)
    assert valid.loss is plain


def test_gradient_clip_limits_the_global_norm():
    model = nn.Linear(4, 3)
    (model(torch.randn(8, 4) * 100).pow(2).sum()).backward()
    clip = training.GradientClip(0.5)
    clip.after_backward(SimpleNamespace(model=model, opt=None, precision=Precision(False)))
    norm = torch.norm(torch.stack([p.grad.norm() for p in model.parameters()]))
    assert clip.last_norm > 0.5 and norm == pytest.approx(0.5, rel=1e-4)


def test_perplexity_is_the_exp_of_the_mean_cross_entropy_per_token():
    torch.manual_seed(0)
    batches = [(torch.randn(bs, 6, 10), torch.randint(0, 10, (bs, 6))) for bs in (4, 1, 3)]
    metric = training.Perplexity()
    metric.reset()
    for preds, targets in batches:
        metric.accumulate(preds, targets)
    preds, targets = (torch.cat(t) for t in zip(*batches))
    ce = F.cross_entropy(preds.reshape(-1, 10), targets.flatten())
    assert metric.value == pytest.approx(math.exp(ce.item()), rel=1e-5)
    assert training.perplexity(preds, targets).item() == pytest.approx(math.exp(ce.item()), rel=1e-5)


def test_lm_loss_gives_one_loss_per_text_for_get_preds():
    preds, targets = torch.randn(3, 6, 10), torch.randint(0, 10, (3, 6))
    per_item = per_item_loss(training.LMLoss())(preds, targets)
    assert per_item.shape == (3,)
    assert per_item.mean() == pytest.approx(training.LMLoss()(preds, targets).item(), rel=1e-5)


class ToyVocab:
    """What generate needs of a vocabulary: numericalize and textify."""

    itos = ["xxunk", "xxpad"] + [f"w{i}" for i in range(2, VOCAB_SZ)]

    def numericalize(self, tokens):
        return [self.itos.index(t) if t in self.itos else 0 for t in tokens]

    def textify(self, ids):
        return " ".join(self.itos[i] for i in ids)


def test_generate_is_reproducible_and_greedy_at_zero_temperature():
    torch.manual_seed(0)
    lm = models.language_model(VOCAB_SZ, emb_sz=8, n_hid=12, n_layers=2, pad_idx=PAD).train()
    vocab = ToyVocab()
    a = training.generate(lm, vocab, None, "w3 w4", 8, seed=1)
    assert a == training.generate(lm, vocab, None, "w3 w4", 8, seed=1)
    assert a.startswith("w3 w4 ") and len(a.split()) == 10
    assert lm.training  # put back as it was
    greedy = training.generate(lm, vocab, None, "w3 w4", 8, temperature=0)
    assert greedy == training.generate(lm, vocab, None, "w3 w4", 8, top_k=1, seed=5)
    with pytest.raises(ValueError, match="no tokens"):
        training.generate(lm, vocab, None, "", 3)


def test_top_k_samples_only_among_the_k_most_likely():
    logits = torch.tensor([0.0, 5.0, 1.0, 4.0, 3.0])
    g = torch.Generator().manual_seed(0)
    picks = {training.sample_next(logits, temperature=5.0, top_k=2, generator=g) for _ in range(200)}
    assert picks == {1, 3}
    assert training.sample_next(logits, temperature=0) == 1
