"""Lesson 11's sequence-to-sequence code, loaded from the notebook's definition cells (models, masked loss, attention,
decoding, teacher forcing), and the data and BLEU helpers of ``coursekit.text.pairs``."""

import math
import re

import pytest
import sacrebleu
import torch
import torch.nn.functional as F

from coursekit.core import seed_everything
from coursekit.learner import Learner
from coursekit.text import pairs
from coursekit.text.tokenize import EOS, Tokenizer
from coursekit.text.vocab import Vocab
from notebook_defs import load_defs

L = load_defs("lesson11_translation")

EN = ["what is the red car ?", "where does the cat eat the fish ?", "who likes the dog ?"]
FR = ["quelle est la voiture rouge ?", "où le chat mange-t-il le poisson ?", "qui aime le chien ?"]


def split(text):
    """A stand-in tokenizer (spaCy takes seconds to load): lower case, "?" apart, split on spaces."""
    return text.lower().replace("?", " ?").split()


@pytest.fixture(scope="module")
def vocabs():
    return split, Vocab.build(map(split, EN), min_freq=1), Vocab.build(map(split, FR), min_freq=1)


def tiny_model(vocabs, cls=None, **kw):
    seed_everything(0)
    _, en_v, fr_v = vocabs
    kw.setdefault("max_src_len", 12)
    return (cls or L.Seq2SeqRNN)(len(en_v), len(fr_v), 8, 12, max_out_len=10, **kw).eval()


def test_masked_loss_ignores_padding():
    torch.manual_seed(0)
    lengths, vocab_sz = [5, 2, 4], 7
    logits = [torch.randn(n, vocab_sz) for n in lengths]
    targets = [torch.randint(2, vocab_sz, (n,)) for n in lengths]
    # the unpadded truth: every real word's cross-entropy, averaged over all real words
    expected = torch.cat([F.cross_entropy(lg, t, reduction="none") for lg, t in zip(logits, targets)]).mean()
    for width in (5, 9):  # padded to the longest, and padded further with junk logits
        preds = torch.randn(3, width, vocab_sz) * 10
        tgt = torch.full((3, width), 1)
        for i, (lg, t) in enumerate(zip(logits, targets)):
            preds[i, : len(t)], tgt[i, : len(t)] = lg, t
        assert torch.allclose(L.seq2seq_loss(preds, tgt), expected, atol=1e-6)


def test_masked_loss_counts_missing_outputs_as_uniform_guesses():
    preds, tgt = torch.zeros(1, 1, 4), torch.tensor([[2, 3]])
    assert L.seq2seq_loss(preds, tgt).item() == pytest.approx(math.log(4))


def test_attention_weights_sum_to_one_and_give_padding_zero():
    torch.manual_seed(0)
    att = L.AdditiveAttention(6, 5, 4)
    keys, query = torch.randn(3, 7, 6), torch.randn(3, 5)
    mask = torch.tensor([[1] * 7, [1] * 3 + [0] * 4, [1] + [0] * 6], dtype=torch.bool)
    ctx, w = att(att.project(keys), keys, query, mask)
    assert torch.allclose(w.sum(-1), torch.ones(3))
    assert (w[~mask] == 0).all() and (w[mask] > 0).all()
    assert torch.allclose(ctx, (w[..., None] * keys).sum(1), atol=1e-6)


def test_padding_changes_nothing_in_the_model(vocabs):
    model = tiny_model(vocabs, L.Seq2SeqAttnRNN)
    src = torch.tensor([[9, 10, 11, 12], [9, 13, 1, 1]])
    with torch.no_grad():
        both = model(src, torch.zeros(2, 6, dtype=torch.long))
        assert (model.attn_weights[1, :, 2:] == 0).all()  # no step looks at padding
        alone = model(src[1:, :2], torch.zeros(1, 6, dtype=torch.long))
    assert torch.allclose(both[1], alone[0], atol=1e-5)  # packed sequences: the backward GRU starts at the real end


@pytest.mark.parametrize("att", [False, True])
def test_beam_search_of_width_one_is_greedy_decoding(vocabs, att, one_thread):
    model = tiny_model(vocabs, L.Seq2SeqAttnRNN if att else L.Seq2SeqRNN_Bidir)
    torch.manual_seed(1)
    for _ in range(5):
        src = torch.randint(9, 15, (int(torch.randint(2, 8, ())),))
        assert L.beam_search(model, src, width=1) == L.greedy_decode(model, src[None])[0]


def test_the_models_follow_2018s_progression_each_building_on_the_last(vocabs):
    """Seq2SeqRNN -> Seq2SeqRNN_Bidir -> Seq2SeqRNN_TeacherForcing -> Seq2SeqAttnRNN: each a subclass of the one
    before, the bidirectional encoder twice as wide, attention adding its three layers and nothing else."""
    chain = [L.Seq2SeqRNN, L.Seq2SeqRNN_Bidir, L.Seq2SeqRNN_TeacherForcing, L.Seq2SeqAttnRNN]
    assert all(issubclass(b, a) for a, b in zip(chain, chain[1:]))
    models = [tiny_model(vocabs, cls) for cls in chain]
    assert [m.encoder.bidirectional for m in models] == [False, True, True, True]
    assert models[0].cell.input_size == 8 + 12 and models[1].cell.input_size == 8 + 24
    names = [{n for n, _ in m.named_parameters()} for m in models]
    assert names[1] - names[0] == {f"encoder.{w}_l0_reverse" for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    assert names[2] == names[1]  # teacher forcing changes how the model is fed, not its layers
    assert names[3] - names[2] == {
        "attn.keys_proj.weight",
        "attn.query_proj.weight",
        "attn.query_proj.bias",
        "attn.v.weight",
    }
    src = torch.tensor([[9, 10, 11, 1]])
    with torch.no_grad():
        for m in models:
            assert m(src).shape[-1] == len(vocabs[2])
    assert models[2].attn_weights is None and models[3].attn_weights.shape[-1] == 4


def test_training_with_targets_equals_stepping_one_word_at_a_time(vocabs, one_thread):
    """forward(src, tgt) runs the output layer once over every step; it must give what step() gives one step at a
    time, fed the true word (forced) or its own guess (not forced)."""
    src = torch.tensor([[9, 10, 11, 12, 13], [2, 3, 4, 1, 1]])
    tgt = torch.tensor([[5, 6, 7, 8, L.EOS_IDX], [9, 10, L.EOS_IDX, 1, 1]])
    for att in (True, False):
        model = tiny_model(vocabs, L.Seq2SeqAttnRNN if att else L.Seq2SeqRNN_TeacherForcing)
        model.drop.p = 0.0
        for pr_force in (1.0, 0.0):
            model.train()
            model.pr_force = pr_force
            batched = model(src, tgt)
            with torch.no_grad():
                enc = model.encode(src)
                h, prev, expected = enc[3], torch.full((2,), L.BOS_IDX), []
                for t in range(tgt.size(1)):
                    logits, h, _ = model.step(prev, h, enc)
                    expected.append(logits)
                    prev = tgt[:, t] if pr_force else logits.argmax(-1)
            assert torch.allclose(batched, torch.stack(expected, 1), atol=1e-5), (att, pr_force)
            batched.sum().backward()  # the batched path trains: gradients reach the decoder and the encoder
            assert model.cell.weight_ih.grad is not None and model.encoder.weight_ih_l0.grad is not None
            model.zero_grad()


def test_wider_beam_finds_a_translation_at_least_as_likely(vocabs, one_thread):
    model = tiny_model(vocabs, L.Seq2SeqAttnRNN)
    src = torch.tensor([9, 10, 11, 12, 13])

    def logprob(ids):
        with torch.no_grad():
            full = ids + [L.EOS_IDX]
            tgt = torch.tensor([full])
            model.train(), setattr(model, "pr_force", 1.0)  # feed exactly these words (dropout off below)
            model.drop.p = 0.0
            torch.manual_seed(0)
            lp = F.log_softmax(model(src[None], tgt)[0], -1)
            model.eval()
            return sum(lp[t, w].item() for t, w in enumerate(full))

    wide, greedy = L.beam_search(model, src, width=4), L.beam_search(model, src, width=1)
    assert logprob(wide) >= logprob(greedy) - 1e-5


def test_teacher_forcing_ratio_follows_its_schedule(vocabs, tmp_path, one_thread):
    _, en_v, fr_v = vocabs
    src = [pairs.source_ids(split(t), en_v) for t in EN]
    tgt = [pairs.target_ids(split(t), fr_v) for t in FR]
    ds = pairs.Seq2SeqDataset(src * 4, tgt * 4, en_v, fr_v)
    dls = pairs.seq2seq_dls(ds, pairs.Seq2SeqDataset(src, tgt, en_v, fr_v), bs=3, seed=0)  # 4 batches an epoch
    forcing = L.TeacherForcing(start=1.0, end=0.0)
    learn = Learner(
        tiny_model(vocabs, L.Seq2SeqRNN_TeacherForcing), dls, L.seq2seq_loss, cbs=[forcing], path=tmp_path, device="cpu"
    )
    learn.fit(2, lr=1e-3)
    n = len(dls.train)
    assert forcing.history == pytest.approx([1 - (e + i / n) / 2 for e in range(2) for i in range(n)])
    assert learn.model.pr_force == 0.0  # after training: no forcing at translation time
    old = L.step_schedule(1.0, 0.1, 10)  # 2018: pr_force = (10 - epoch) * 0.1 over 10 epochs
    assert [round(old(e / 10 + 0.05), 6) for e in range(10)] == [round((10 - e) * 0.1, 6) for e in range(10)]


def test_bleu_is_sacrebleu_on_detokenised_text():
    # hand-worked: precisions 5/6, 3/5, 2/4, 1/3, same length (no brevity penalty)
    hyp, ref = "the cat sat on the mat", "the cat sat on a mat"
    by_hand = 100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25
    assert sacrebleu.corpus_bleu([hyp], [[ref]]).score == pytest.approx(by_hand, abs=1e-4)
    en = Tokenizer("en")
    assert pairs.corpus_bleu([en(hyp)], [en(ref)], lang="en") == pytest.approx(by_hand, abs=1e-4)
    # tokens with markers and French clitics (as Tokenizer("fr") gives them): the helper hands sacrebleu the
    # text a person would write, not the tokens joined by spaces
    h, r = "Où le chat mange-t-il le poisson de l'homme ?", "Où le chat mange-t-il la pomme de l'homme ?"
    h_tok = ["xxbos", "xxmaj", "où", "le", "chat", "mange", "-t", "-il", "le", "poisson", "de", "l'", "homme", "?"]
    r_tok = h_tok[:8] + ["la", "pomme"] + h_tok[10:]
    assert pairs.detokenize(h_tok, "fr") == h and pairs.detokenize(r_tok, "fr") == r
    expected = sacrebleu.corpus_bleu([h], [[r]]).score
    assert pairs.corpus_bleu([h_tok], [r_tok], lang="fr") == pytest.approx(expected)
    joined = sacrebleu.corpus_bleu([" ".join(h_tok)], [[" ".join(r_tok)]]).score  # what not to do
    assert joined != pytest.approx(expected)


def test_bleu_by_length_scores_each_bin(vocabs):
    hyps = [["a", "b", "c", "d"], ["x", "y", "z", "w"]]
    out = pairs.bleu_by_length(hyps, [["a", "b", "c", "d"], ["p", "q", "r", "s"]], [3, 8], lang="en")
    assert out["1-5"] == pytest.approx(100) and out["6-10"] == pytest.approx(0)


def test_a_word_never_seen_becomes_the_unknown_token(vocabs, one_thread):
    en, en_v, fr_v = vocabs
    assert "zebra" not in en_v
    assert pairs.source_ids(en("What is the zebra?"), en_v)[3] == 0  # xxunk
    out = L.translate(tiny_model(vocabs), "What is the zebra?", en, en_v, fr_v, as_tokens=True)
    assert isinstance(out, list) and EOS not in out


def test_an_input_longer_than_the_model_was_built_for_is_cut_with_a_warning(vocabs, one_thread):
    en, en_v, fr_v = vocabs
    model = tiny_model(vocabs, max_src_len=5)
    text = "Where does the cat eat the fish with the dog?"
    with pytest.warns(UserWarning, match=r"Where does the cat.*has 11 tokens.*at most 5"):
        L.translate(model, text, en, en_v, fr_v)
    with pytest.raises(ValueError, match="built for at most 5"):
        model(torch.ones(1, 6, dtype=torch.long) * 9)


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_an_empty_sentence_is_an_error_saying_there_is_nothing_to_translate(vocabs, one_thread, text):
    en, en_v, fr_v = vocabs  # before: torch's "Cannot pack empty tensors", from deep in the encoder
    model = tiny_model(vocabs)
    for beam in (1, 3):
        with pytest.raises(ValueError, match=rf"Nothing to translate: {re.escape(repr(text))} has no words"):
            L.translate(model, text, en, en_v, fr_v, beam=beam)
    with pytest.raises(ValueError, match="Nothing to translate"):  # spaCy keeps a line break as a token
        L.translate(model, text, Tokenizer(), en_v, fr_v)
    with pytest.raises(ValueError, match=r"A source of shape \(1, 0\), with no tokens"):
        L.greedy_decode(model, torch.ones(1, 0, dtype=torch.long))


def test_batches_pad_at_the_end_and_targets_end_with_eos(vocabs):
    _, en_v, fr_v = vocabs
    src = [pairs.source_ids(split(t), en_v) for t in EN]
    tgt = [pairs.target_ids(split(t), fr_v) for t in FR]
    x, y = pairs.seq2seq_collate([(torch.tensor(s), torch.tensor(t)) for s, t in zip(src, tgt)])
    assert x.shape == (3, max(map(len, src))) and y.shape == (3, max(map(len, tgt)))
    for row, t in zip(y, tgt):
        assert row[len(t) - 1] == fr_v.stoi[EOS] and (row[len(t) :] == 1).all()
    assert pairs.padding_mask(x).sum().item() == sum(map(len, src))


def test_tied_output_layer_shares_the_decoder_embedding(vocabs):
    model = tiny_model(vocabs, L.Seq2SeqAttnRNN, tie_weights=True)
    assert model.out[1].weight is model.tgt_emb.weight
    with torch.no_grad():
        assert model(torch.tensor([[9, 10, 11]])).shape[-1] == len(vocabs[2])
