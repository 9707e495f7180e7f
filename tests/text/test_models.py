"""The AWD-LSTM, its language model and its classifier: state, dropouts, tying, pooling, layer groups."""

import copy
import io

import pytest
import torch
from torch import nn

from coursekit.text import models

PAD = 1


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/text/conftest.py


def tokens(bs, seq, vocab_sz=50, seed=0):
    """Random token ids that are never the padding id."""
    x = torch.randint(2, vocab_sz, (bs, seq), generator=torch.Generator().manual_seed(seed))
    return x


def small_lm(**kwargs):
    torch.manual_seed(0)
    return models.language_model(50, emb_sz=8, n_hid=12, n_layers=3, pad_idx=PAD, **kwargs)


def test_hidden_state_is_carried_between_batches_and_reset():
    lm = small_lm().eval()
    x = tokens(3, 12)
    with torch.no_grad():
        whole = lm(x)
        lm.reset()
        first, second = lm(x[:, :6]), lm(x[:, 6:])  # the second batch starts where the first stopped
        lm.reset()
        fresh = lm(x[:, 6:])
    assert torch.allclose(torch.cat([first, second], 1), whole, atol=1e-6)
    assert not torch.allclose(fresh, second, atol=1e-4)  # reset: from zeros, not from the first half


def test_hidden_state_is_detached_so_each_batch_backpropagates_alone():
    lm = small_lm().train()
    for seed in range(3):
        lm(tokens(3, 7, seed=seed)).sum().backward()  # would fail if the graph reached the previous batch
    assert all(not h.requires_grad for pair in lm.encoder.hidden for h in pair)


def test_a_batch_of_another_size_starts_from_a_fresh_state():
    lm = small_lm().eval()
    with torch.no_grad():
        lm(tokens(4, 5))
        out = lm(tokens(2, 5, seed=1))
        lm.reset()
        assert torch.allclose(out, lm(tokens(2, 5, seed=1)))


def test_weight_drop_masks_only_the_hidden_to_hidden_weights():
    torch.manual_seed(0)
    layer = models.WeightDropLSTM(4, 6, weight_p=1.0).train()  # p=1: the whole matrix is dropped
    reference = copy.deepcopy(layer.lstm)
    with torch.no_grad():
        reference.weight_hh_l0.zero_()
    x = torch.randn(2, 5, 4)
    assert torch.allclose(layer(x)[0], reference(x)[0])  # weight_ih and the biases were kept
    assert layer.lstm.weight_hh_l0.abs().sum() > 0  # the stored weight itself is untouched


def test_weight_drop_masks_entries_in_training_only():
    torch.manual_seed(0)
    layer = models.WeightDropLSTM(4, 6, weight_p=0.5).train()
    x = torch.randn(2, 5, 4)
    out, _ = layer(x)
    out.sum().backward()
    dropped = (layer.lstm.weight_hh_l0.grad == 0).float().mean()
    assert 0.3 < dropped < 0.7  # dropped entries get no gradient
    assert (layer.lstm.weight_ih_l0.grad == 0).float().mean() < 0.05
    assert not torch.allclose(layer(x)[0], layer(x)[0])  # a new mask at each call
    layer.eval()
    assert torch.equal(layer(x)[0], layer(x)[0])  # evaluation is deterministic...
    assert torch.equal(layer(x)[0], layer.lstm(x)[0])  # ...and is the plain LSTM


def test_weight_drop_works_under_no_grad_and_survives_state_dict_and_deepcopy():
    lm = small_lm(weight_p=0.5).train()
    with torch.no_grad():
        lm(tokens(2, 5))
    assert not any("raw" in k for k in lm.state_dict())
    buffer = io.BytesIO()
    torch.save(lm.state_dict(), buffer)
    other = small_lm(weight_p=0.5)
    torch.manual_seed(1)
    other.load_state_dict(torch.load(io.BytesIO(buffer.getvalue())), strict=True)
    twin = copy.deepcopy(lm)  # after a training forward: no autograd graph may be copied
    x = tokens(2, 9, seed=3)
    for m in (lm, other, twin):
        m.eval().reset()
    outs = [m(x) for m in (lm, other, twin)]
    assert torch.allclose(outs[0], outs[1]) and torch.allclose(outs[0], outs[2])


def test_embedding_dropout_drops_whole_tokens_in_training_only():
    torch.manual_seed(0)
    enc = models.AWDLSTM(30, emb_sz=5, n_hid=6, n_layers=1, pad_idx=PAD, embed_p=0.5).train()
    x = torch.arange(2, 30).repeat(2, 2)  # every token appears four times
    emb = enc.embed(x)
    plain = enc.embedding(x)
    kept = emb.abs().sum(-1) > 0
    for token in range(2, 30):
        where = kept[x == token]
        assert where.all() or not where.any()  # a token is dropped everywhere or nowhere
    assert torch.allclose(emb[kept], plain[kept] * 2)  # survivors are scaled by 1/(1-p)
    enc.eval()
    assert torch.equal(enc.embed(x), plain)


def test_rnn_dropout_keeps_one_mask_per_sequence():
    torch.manual_seed(0)
    out = models.RNNDropout(0.5).train()(torch.ones(3, 7, 10))
    assert torch.equal(out, out[:, :1].expand_as(out))  # the same at every time step
    assert (out == 0).any() and (out == 2).any()


def test_tied_weights_are_one_tensor_and_stay_one_after_a_step():
    lm = small_lm()
    emb, dec = lm.encoder.embedding.weight, lm.decoder.linear.weight
    assert emb is dec and emb.data_ptr() == dec.data_ptr()
    assert sum(p is emb for p in lm.parameters()) == 1  # counted (and optimised) once
    before = emb.detach().clone()
    lm.train()(tokens(2, 6)).sum().backward()
    with torch.no_grad():  # one plain gradient step
        for p in lm.parameters():
            p -= 1.0 * p.grad
    assert not torch.equal(before, emb) and torch.equal(lm.encoder.embedding.weight, lm.decoder.linear.weight)


def test_untied_language_model_has_its_own_decoder_weight():
    lm = small_lm(tie_weights=False)
    assert lm.decoder.linear.weight is not lm.encoder.embedding.weight


def padded(rows, width):
    """Post-padded (len(rows), width) batch."""
    x = torch.full((len(rows), width), PAD)
    for i, row in enumerate(rows):
        x[i, : len(row)] = row
    return x


def small_classifier(**kwargs):
    torch.manual_seed(0)
    kwargs.setdefault("bptt", 5)
    return models.text_classifier(50, 3, emb_sz=8, n_hid=12, n_layers=2, pad_idx=PAD, **kwargs)


def test_classifier_output_does_not_change_with_extra_padding():
    clf = small_classifier().eval()
    rows = [tokens(1, n, seed=n)[0] for n in (17, 3, 11, 1)]
    with torch.no_grad():
        tight, loose = clf(padded(rows, 17)), clf(padded(rows, 40))
        alone = torch.cat([clf(row[None]) for row in rows])  # each text by itself, no padding at all
    assert tight.shape == (4, 3)
    assert torch.allclose(tight, loose, atol=1e-6)
    assert torch.allclose(tight, alone, atol=1e-5)


def test_concat_pool_is_last_max_and_mean_of_the_real_tokens():
    torch.manual_seed(0)
    enc = models.AWDLSTM(50, emb_sz=6, n_hid=7, n_layers=2, pad_idx=PAD).eval()
    rows = [tokens(1, n, seed=n)[0] for n in (13, 4)]
    with torch.no_grad():
        pooled = models.masked_concat_pool(enc, padded(rows, 20), bptt=5, max_len=100, pad_idx=PAD)
        for i, row in enumerate(rows):
            enc.reset()
            out = enc(row[None])[0]  # (len, emb): the whole text in one go
            expected = torch.cat([out[-1], out.max(0).values, out.mean(0)])
            assert torch.allclose(pooled[i], expected, atol=1e-5)


def test_classifier_gradients_reach_only_the_last_max_len_tokens():
    clf = small_classifier(max_len=5).train()
    x = torch.arange(2, 22)[None].repeat(2, 1)  # 20 distinct tokens, 4 chunks of 5
    clf(x).sum().backward()
    grad = clf.encoder.embedding.weight.grad.abs().sum(1)
    assert (grad[2:17] == 0).all() and (grad[17:22] > 0).all()


def test_classifier_head_needs_one_dropout_per_hidden_layer():
    with pytest.raises(ValueError, match="one per hidden layer"):
        small_classifier(lin_ftrs=(50, 20), ps=(0.1,))
    head = small_classifier(lin_ftrs=(16,), ps=(0.2,)).head
    assert [type(m) for m in head if isinstance(m, (nn.BatchNorm1d, nn.Linear))] == [
        nn.BatchNorm1d,
        nn.Linear,
        nn.BatchNorm1d,
        nn.Linear,
    ]


def test_classifier_loads_an_encoder_and_rejects_another_vocabulary():
    lm = models.language_model(50, emb_sz=8, n_hid=12, n_layers=2, pad_idx=PAD)
    clf = small_classifier().load_encoder(lm.state_dict())
    assert torch.equal(clf.encoder.embedding.weight, lm.encoder.embedding.weight)
    other = models.language_model(60, emb_sz=8, n_hid=12, n_layers=2, pad_idx=PAD)
    with pytest.raises(ValueError, match="another vocabulary"):
        clf.load_encoder(other.encoder.state_dict())


def test_an_encoder_of_another_vocabulary_of_the_same_size_is_refused_wherever_it_is_loaded(tmp_path):
    from coursekit.learner import Learner
    from coursekit.text.tokenize import SPECIALS
    from coursekit.text.vocab import Vocab, VocabMismatchError

    words = [f"w{i}" for i in range(50 - len(SPECIALS))]
    mine, theirs = Vocab(SPECIALS + words), Vocab(SPECIALS + words[::-1])  # 50 tokens each, other ids
    lm = models.language_model(theirs, emb_sz=8, n_hid=12, n_layers=2, pad_idx=PAD)
    clf = models.text_classifier(mine, 3, emb_sz=8, n_hid=12, n_layers=2, pad_idx=PAD)
    with pytest.raises(VocabMismatchError, match=theirs.fingerprint):
        clf.load_encoder(lm.state_dict())
    same = models.language_model(mine, emb_sz=8, n_hid=12, n_layers=2, pad_idx=PAD)
    clf.load_encoder(same.encoder.state_dict())  # the same vocabulary loads
    learn = Learner(
        models.text_classifier(theirs, 3, emb_sz=8, n_hid=12, n_layers=2, pad_idx=PAD),
        None,
        nn.CrossEntropyLoss(),
        path=tmp_path,
    )
    learn.save("theirs")
    other = Learner(clf, None, nn.CrossEntropyLoss(), path=tmp_path)
    with pytest.raises(VocabMismatchError):
        other.load("theirs")
    unknown = models.text_classifier(50, 3, emb_sz=8, n_hid=12, n_layers=2, pad_idx=PAD)  # built from a size
    unknown.load_encoder(lm.state_dict())
    assert unknown.encoder.vocab_fingerprint == theirs.fingerprint  # and it now knows the vocabulary
    old_style = {k: v for k, v in lm.encoder.state_dict().items() if not k.endswith("_extra_state")}
    clf.load_encoder(old_style)  # weights saved before fingerprints existed still load


def test_layer_groups_are_embedding_each_lstm_and_the_head():
    lm, clf = small_lm(), small_classifier()
    assert [type(g) for g in lm.layer_groups()] == [nn.Embedding] + [models.WeightDropLSTM] * 3 + [models.LinearDecoder]
    assert [type(g) for g in clf.layer_groups()] == [nn.Embedding] + [models.WeightDropLSTM] * 2 + [nn.Sequential]
    n_params = sum(p.numel() for p in clf.parameters())
    assert sum(p.numel() for g in clf.layer_groups() for p in g.parameters()) == n_params  # every weight in one
