"""Character-level data: reading checked, the vocabulary, fixed windows, and the stateful loader's rows."""

import pytest
import torch

from coursekit.text import chars

TEXT = "The quick brown fox jumps over the lazy dog. " * 20


def test_read_chars_reads_utf8_text(tmp_path):
    (tmp_path / "t.txt").write_text("Über alles — naïve.\n", encoding="utf-8")
    assert chars.read_chars(tmp_path / "t.txt") == "Über alles — naïve.\n"


@pytest.mark.parametrize(
    "content, match",
    [
        (None, "does not exist"),
        (b"", "is empty"),
        (b"  \n\n", "is empty"),
        (b"caf\xe9 au lait", "not UTF-8: byte 0xe9 at position 3"),
    ],
    ids=["missing", "empty", "blank", "latin1"],
)
def test_bad_text_file_is_a_clear_error_naming_it(tmp_path, content, match):
    path = tmp_path / "corpus.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises((FileNotFoundError, ValueError), match=match) as e:
        chars.read_chars(path)
    assert str(path) in str(e.value)


def test_vocab_round_trip_and_pad_is_zero():
    vocab = chars.CharVocab.build(TEXT)
    assert vocab.itos[0] == chars.PAD_CHAR and vocab.stoi["\0"] == 0
    assert vocab.decode(vocab.encode(TEXT)) == TEXT
    assert vocab.itos[1:] == sorted(set(TEXT)) and len(vocab) == len(set(TEXT)) + 1
    assert "CharVocab(" in repr(vocab) and "padding" in repr(vocab)


def test_vocab_names_unknown_characters():
    vocab = chars.CharVocab.build("abc")
    with pytest.raises(KeyError, match="'z'"):
        vocab.encode("abz")
    with pytest.raises(ValueError, match="padding"):
        chars.CharVocab(["a", "b"])


def test_windows_give_the_next_character_or_the_shifted_sequence():
    ids = torch.arange(20)
    single = chars.CharWindows(ids, n=3, step=3)
    x, y = single[2]
    assert x.tolist() == [6, 7, 8] and int(y) == 9
    assert len(single) == 6  # windows start at 0, 3, ..., 15: the one at 18 has no target
    seq = chars.CharWindows(ids, n=8, step=8, seq=True)
    x, y = seq[1]
    assert x.tolist() == list(range(8, 16)) and y.tolist() == list(range(9, 17)) and len(seq) == 2
    assert len(chars.CharWindows(ids, n=8, step=1)) == 12
    with pytest.raises(IndexError):
        single[6]


def test_batches_equal_the_windows_one_by_one():
    for seq in (False, True):
        dls = chars.char_window_dls("abcdefghij" * 5, chars.CharVocab.build("abcdefghij"), n=4, step=2, seq=seq, bs=8)
        ds = dls.train_ds
        x, y = next(iter(dls.valid))
        n = len(dls.valid_ds)
        assert x.shape == (n, 4) and y.shape == ((n, 4) if seq else (n,))
        xb, yb = ds.__getitems__([3, 0, 5])
        assert torch.equal(xb, torch.stack([ds[i][0] for i in (3, 0, 5)]))
        assert torch.equal(yb, torch.stack([ds[i][1] for i in (3, 0, 5)]))


def test_split_is_by_position_so_windows_never_straddle_train_and_valid():
    train, valid = chars.split_text("a" * 90 + "b" * 10, 0.1)
    assert train == "a" * 90 and valid == "b" * 10
    dls = chars.char_window_dls(TEXT, chars.CharVocab.build(TEXT), n=3, bs=16)
    assert len(dls.train_ds) == (int(len(TEXT) * 0.9) - 4) // 1 + 1 and dls.vocab.decode([0]) == "\0"


def test_stateful_loader_keeps_each_row_contiguous_across_batches():
    vocab = chars.CharVocab.build(TEXT)
    dls = chars.stateful_dls(TEXT, vocab, bs=4, bptt=8, valid_pct=0.1)
    batches = list(dls.train)
    assert all(x.shape[1] == 8 for x, _ in batches[:-1]) and batches[-1][0].shape[1] <= 8
    rows = torch.cat([x for x, _ in batches], dim=1)  # (bs, row_len): each row one stretch of the text
    targets = torch.cat([y for _, y in batches], dim=1)
    train_text = chars.split_text(TEXT, 0.1)[0]
    row_len = rows.shape[1]
    for r in range(4):
        assert vocab.decode(rows[r]) == train_text[r * row_len : (r + 1) * row_len]
        assert vocab.decode(targets[r]) == train_text[r * row_len + 1 : (r + 1) * row_len + 1]
    assert [x.tolist() for x, _ in dls.train] == [x.tolist() for x, _ in batches]  # the same every epoch
