"""The vocabulary: specials first, min_freq and max_vocab, round trips, unknown tokens, saving, checking."""

import json

import pytest
import torch

from coursekit.text.tokenize import SPECIALS
from coursekit.text.vocab import Vocab, VocabMismatchError

TOKENS = [
    ["xxbos", "the", "film", "was", "good"],
    ["xxbos", "the", "film", "was", "bad"],
    ["xxbos", "the", "plot", "was", "good", "good"],
    ["xxbos", "rare"],
]


def test_specials_come_first_in_the_fixed_order():
    vocab = Vocab.build(TOKENS, min_freq=1)
    assert vocab.itos[: len(SPECIALS)] == SPECIALS
    assert vocab.stoi["xxunk"] == 0 and vocab.stoi["xxpad"] == 1
    assert vocab.itos.count("xxbos") == 1  # counted tokens that are specials are not listed twice


def test_tokens_are_ordered_by_frequency_then_alphabetically():
    vocab = Vocab.build(TOKENS, min_freq=1)
    assert vocab.itos[len(SPECIALS) :] == ["good", "the", "was", "film", "bad", "plot", "rare"]


def test_min_freq_drops_rare_tokens():
    vocab = Vocab.build(TOKENS, min_freq=2)
    assert "rare" not in vocab and "bad" not in vocab and "film" in vocab


def test_max_vocab_caps_the_size_including_the_specials():
    vocab = Vocab.build(TOKENS, min_freq=1, max_vocab=len(SPECIALS) + 2)
    assert len(vocab) == len(SPECIALS) + 2 and vocab.itos[-2:] == ["good", "the"]


def test_numericalize_and_textify_round_trip():
    vocab = Vocab.build(TOKENS, min_freq=1)
    for tokens in TOKENS:
        ids = vocab.numericalize(tokens)
        assert all(isinstance(i, int) for i in ids)
        assert vocab.textify(ids) == " ".join(tokens)
        assert vocab.textify(torch.tensor(ids)).split() == tokens
    assert vocab.tensor(["the", "film"]).dtype == torch.long


def test_unknown_tokens_become_xxunk():
    vocab = Vocab.build(TOKENS, min_freq=2)
    assert vocab.numericalize(["the", "zebra", "rare"]) == [vocab.stoi["the"], 0, 0]
    assert vocab.textify(vocab.numericalize(["zebra"])) == "xxunk"


def test_the_same_texts_always_give_the_same_vocabulary():
    assert Vocab.build(TOKENS, min_freq=1).itos == Vocab.build(list(reversed(TOKENS)), min_freq=1).itos


def test_save_and_load_keep_every_id(tmp_path):
    vocab = Vocab.build(TOKENS, min_freq=1)
    path = vocab.save(tmp_path / "models" / "vocab.json")
    assert json.loads(path.read_text())["itos"] == vocab.itos
    loaded = Vocab.load(path)
    assert loaded.itos == vocab.itos and loaded.fingerprint == vocab.fingerprint
    loaded.check_same(vocab)


def test_loading_a_file_that_is_not_a_vocabulary_says_so(tmp_path):
    (tmp_path / "v.json").write_text('{"tokens": []}')
    with pytest.raises(ValueError, match="not a vocabulary file written by Vocab.save"):
        Vocab.load(tmp_path / "v.json")
    with pytest.raises(FileNotFoundError, match="vocabulary file"):
        Vocab.load(tmp_path / "missing.json")


def test_a_vocabulary_without_the_specials_first_is_refused():
    with pytest.raises(ValueError, match="starts with the special tokens"):
        Vocab(["the", "film"])


def test_check_same_names_how_many_ids_differ_and_the_first_ones():
    a = Vocab.build(TOKENS, min_freq=1)
    b = Vocab.build(TOKENS + [["bad", "bad", "bad"]], min_freq=1)
    assert a.fingerprint != b.fingerprint
    with pytest.raises(VocabMismatchError, match=r"16 tokens\) is not the encoder's vocabulary .*ids differ.*id 9"):
        a.check_same(b)
    with pytest.raises(ValueError, match="the language model's"):  # a VocabMismatchError is a ValueError
        a.check_same(b.itos + ["extra"], what="the language model's")


def test_repr_shows_size_and_first_tokens():
    assert repr(Vocab.build(TOKENS, min_freq=1)).startswith("Vocab(16 tokens, 9 special; good, the")
