"""ULMFiT transfer: the WikiText-103 converter (published names and shapes) and vocabulary transfer."""

import pytest
import torch

from coursekit.text import models, transfer
from coursekit.text.tokenize import SPECIALS
from coursekit.text.vocab import Vocab, VocabMismatchError, fingerprint_of


def fastai07_state_dict(vocab_sz, emb_sz, n_hid, n_layers=3, make=torch.randn):
    """A state dict with fastai 0.7's AWD-LSTM language-model names (as ``fwd_wt103.h5``), tensors from ``make``."""
    emb = make(vocab_sz, emb_sz)
    sd = {"0.encoder.weight": emb, "0.encoder_with_dropout.embed.weight": emb}
    sizes = [emb_sz] + [n_hid] * (n_layers - 1) + [emb_sz]
    for i in range(n_layers):
        n_in, n_out = sizes[i], sizes[i + 1]
        sd[f"0.rnns.{i}.module.weight_ih_l0"] = make(4 * n_out, n_in)
        sd[f"0.rnns.{i}.module.bias_ih_l0"] = make(4 * n_out)
        sd[f"0.rnns.{i}.module.bias_hh_l0"] = make(4 * n_out)
        sd[f"0.rnns.{i}.module.weight_hh_l0_raw"] = make(4 * n_out, n_out)
    sd["1.decoder.weight"] = emb
    return sd


def on_meta(*shape):
    return torch.empty(*shape, device="meta")  # shapes without memory: the real sizes cost nothing


def test_wt103_state_dict_with_the_published_shapes_loads_strictly():
    sd = fastai07_state_dict(transfer.WT103_VOCAB_SZ, 400, 1150, make=on_meta)
    assert sd["0.rnns.0.module.weight_ih_l0"].shape == (4600, 400)
    assert sd["0.rnns.2.module.weight_hh_l0_raw"].shape == (1600, 400)
    converted = transfer.convert_wt103(sd)
    with torch.device("meta"):
        lm = models.language_model(transfer.WT103_VOCAB_SZ, **transfer.WT103_CONFIG)
    lm.load_state_dict(converted, strict=True)  # every name and shape must match
    assert converted[transfer.DECODER_BIAS].shape == (transfer.WT103_VOCAB_SZ,)
    with torch.device("meta"):
        wrong = models.language_model(transfer.WT103_VOCAB_SZ, emb_sz=400, n_hid=1152, n_layers=3)
    with pytest.raises(RuntimeError, match="size mismatch"):
        wrong.load_state_dict(converted, strict=True)


def test_converted_weights_land_in_the_right_places():
    torch.manual_seed(0)
    sd = fastai07_state_dict(30, 6, 10)
    lm = models.language_model(30, emb_sz=6, n_hid=10, n_layers=3)
    lm.load_state_dict(transfer.convert_wt103(sd), strict=True)
    assert torch.equal(lm.encoder.embedding.weight, sd["0.encoder.weight"])
    assert torch.equal(lm.decoder.linear.weight, sd["1.decoder.weight"])
    assert torch.equal(lm.decoder.linear.bias, torch.zeros(30))  # the 2018 decoder had no bias
    for i, rnn in enumerate(lm.encoder.rnns):
        assert torch.equal(rnn.lstm.weight_hh_l0, sd[f"0.rnns.{i}.module.weight_hh_l0_raw"])
        assert torch.equal(rnn.lstm.weight_ih_l0, sd[f"0.rnns.{i}.module.weight_ih_l0"])
        assert torch.equal(rnn.lstm.bias_hh_l0, sd[f"0.rnns.{i}.module.bias_hh_l0"])


def test_converter_names_missing_and_unknown_keys():
    sd = fastai07_state_dict(30, 6, 10)
    sd["0.rnns.1.module.weight_hh_l0"] = sd["0.rnns.1.module.weight_hh_l0_raw"]  # a dropped copy: ignored
    transfer.convert_wt103(sd)
    with pytest.raises(KeyError, match="0.rnns.2.module.weight_ih_l0"):
        transfer.convert_wt103({k: v for k, v in sd.items() if k != "0.rnns.2.module.weight_ih_l0"})
    with pytest.raises(ValueError, match="0.rnns.3.module.weight_ih_l0"):
        transfer.convert_wt103({**sd, "0.rnns.3.module.weight_ih_l0": torch.zeros(1)})


def test_transfer_vocab_copies_known_rows_and_starts_new_ones_at_the_mean():
    torch.manual_seed(0)
    old_itos, new_itos = ["xxunk", "xxpad", "the", "cat", "sat"], ["xxunk", "xxpad", "dog", "sat", "the"]
    old = models.language_model(len(old_itos), emb_sz=4, n_hid=6, n_layers=2)
    with torch.no_grad():
        old.decoder.linear.bias.copy_(torch.randn(5))
    sd = old.state_dict()
    before = {k: v.clone() for k, v in sd.items() if torch.is_tensor(v)}
    new_sd = transfer.transfer_vocab(sd, old_itos, new_itos)
    for name in (transfer.EMBEDDING, transfer.DECODER, transfer.DECODER_BIAS):
        w, new_w = sd[name], new_sd[name]
        assert new_w.shape[0] == 5
        for i, j in ((0, 0), (1, 1), (3, 4), (4, 2)):  # xxunk, xxpad, sat, the: copied
            assert torch.equal(new_w[i], w[j])
        assert torch.allclose(new_w[2], w.mean(0))  # "dog" is new: the mean row
    assert all(torch.equal(before[k], sd[k]) for k in before)  # the input is not changed
    new = models.language_model(len(new_itos), emb_sz=4, n_hid=6, n_layers=2)
    new.load_state_dict(new_sd, strict=True)
    assert new.decoder.linear.weight is new.encoder.embedding.weight
    assert transfer.vocab_overlap(old_itos, new_itos) == (4, 5)
    assert new.encoder.vocab_fingerprint == fingerprint_of(new_itos)  # the weights now belong to new_itos


def test_transferred_weights_refuse_a_model_of_another_vocabulary_of_the_same_size():
    old_itos = SPECIALS + ["the", "cat"]
    target, other = Vocab(SPECIALS + ["dog", "cat"]), Vocab(SPECIALS + ["cat", "dog"])  # same size, ids swapped
    sd = models.language_model(len(old_itos), emb_sz=4, n_hid=6, n_layers=2).state_dict()
    moved = transfer.transfer_vocab(sd, old_itos, target.itos)
    models.language_model(target, emb_sz=4, n_hid=6, n_layers=2).load_state_dict(moved)
    wrong = models.language_model(other, emb_sz=4, n_hid=6, n_layers=2)
    before = wrong.encoder.embedding.weight.clone()
    with pytest.raises(VocabMismatchError, match=f"fingerprint {target.fingerprint}.*{other.fingerprint}"):
        wrong.load_state_dict(moved)
    assert torch.equal(wrong.encoder.embedding.weight, before)  # nothing was loaded


def test_transfer_vocab_rejects_the_wrong_old_vocabulary():
    sd = models.language_model(5, emb_sz=4, n_hid=6, n_layers=2).state_dict()
    with pytest.raises(ValueError, match="6 tokens"):
        transfer.transfer_vocab(sd, list("abcdef"), list("ab"))
