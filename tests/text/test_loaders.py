"""The language-model loader, the sort-ish sampler, padding, the classifier dataset and the entry points."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from coursekit.learner import Learner
from coursekit.text.loaders import LMLoader, SortishSampler, TextClassDataset, clas_dls, lm_dls, pad_collate
from coursekit.text.tokenize import Tokenizer
from coursekit.text.vocab import Vocab


def numbered_texts(n_texts=37, seed=0):
    """Texts whose token ids are all different (0, 1, 2, ...), so a batch shows where each token came from."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(5, 60, n_texts)
    ends = np.cumsum(sizes)
    return [list(range(e - s, e)) for s, e in zip(sizes, ends)]


def read_epoch(dl):
    xs, ys = zip(*dl)
    return torch.cat(xs, 1), torch.cat(ys, 1), [x.shape[1] for x in xs]


def test_each_row_is_a_contiguous_slice_of_the_stream_and_targets_are_shifted_by_one():
    dl = LMLoader(numbered_texts(), bs=4, bptt=10, shuffle=False, vary_bptt=False)
    stream = torch.cat([torch.tensor(t) for t in numbered_texts()])
    x, y, _ = read_epoch(dl)
    L = dl.row_len
    assert x.shape == y.shape == (4, L)
    for r in range(4):
        assert torch.equal(x[r], stream[r * L : (r + 1) * L])
        assert torch.equal(y[r], stream[r * L + 1 : (r + 1) * L + 1])


def test_targets_continue_across_batch_boundaries():
    dl = LMLoader(numbered_texts(), bs=3, bptt=8, seed=1)
    batches = list(dl)
    for (x0, y0), (x1, _) in zip(batches, batches[1:]):
        assert torch.equal(y0[:, -1], x1[:, 0])  # the last target of a batch is the next batch's first input
        assert torch.equal(y0[:, :-1], x0[:, 1:])


def test_every_token_is_read_once_per_epoch_in_shuffled_text_order():
    texts = numbered_texts()
    n_tokens = sum(map(len, texts))
    dl = LMLoader(texts, bs=5, bptt=7, seed=3)
    for _ in range(2):
        x, _, _ = read_epoch(dl)
        seen = x.flatten().tolist()
        assert len(seen) == len(set(seen))  # no token twice
        assert n_tokens - len(seen) < 5  # fewer than bs left over
    twin = LMLoader(texts, bs=5, bptt=7, seed=3)
    stream = twin.stream().tolist()  # the same seed: the first epoch's stream
    assert stream != sorted(stream)  # shuffled texts ...
    starts = [stream.index(t[0]) for t in texts]
    assert all(stream[s : s + len(t)] == t for s, t in zip(starts, texts))  # ... each read whole, in order


def test_window_lengths_vary_around_bptt_and_the_count_matches_len():
    texts = [list(range(i * 100, i * 100 + 100)) for i in range(200)]
    dl = LMLoader(texts, bs=8, bptt=70)
    lengths = [n for _ in range(3) for n in read_epoch(dl)[2]]
    assert len(lengths) == 3 * len(dl)
    assert len(set(lengths)) > 5 and min(lengths) >= 5 and 60 < np.mean(lengths) <= 70
    fixed = LMLoader(texts, bs=8, bptt=70, vary_bptt=False)
    sizes = read_epoch(fixed)[2]
    assert sizes[:-1] == [70] * (len(fixed) - 1) and 0 < sizes[-1] <= 70 and sum(sizes) == fixed.row_len


def test_the_same_seed_gives_the_same_epochs():
    a, b, c = (LMLoader(numbered_texts(), bs=4, bptt=9, seed=s) for s in (7, 7, 8))
    first_a, first_b, first_c = read_epoch(a), read_epoch(b), read_epoch(c)
    assert torch.equal(first_a[0], first_b[0]) and first_a[2] == first_b[2]
    assert not torch.equal(first_a[0], first_c[0])
    second_a = read_epoch(a)
    assert not torch.equal(second_a[0], first_a[0])  # the next epoch is another shuffle ...
    assert torch.equal(read_epoch(b)[0], second_a[0])  # ... the same one for the same seed


def test_a_corpus_too_small_for_the_batch_size_is_a_clear_error():
    with pytest.raises(ValueError, match=r"The texts cannot fill bs=4 rows .*at most 2\)"):
        LMLoader([[1, 2, 3]], bs=4)


def test_a_validation_split_too_small_for_the_batch_size_is_named_with_its_size(tmp_path):
    texts = [f"The film number {i} was good." for i in range(20)]  # 9 tokens each (xxbos xxmaj the ...)
    with pytest.raises(
        ValueError,
        match=r"The validation set \(2 texts, 18 tokens\) cannot fill bs=32 rows .* a smaller bs \(at most 17\), "
        r"or a bigger valid_pct",
    ):
        lm_dls(texts, bs=32, valid_pct=0.1, min_freq=1)
    with pytest.raises(ValueError, match=r"The training set \(20 texts, 180 tokens\) cannot fill bs=200 rows"):
        lm_dls(texts, valid_texts=texts, bs=200, min_freq=1)


def test_the_loader_offers_what_the_learner_needs():
    dl = LMLoader(numbered_texts(), bs=4, bptt=10, vocab="v")
    assert dl.batch_size == 4 and len(dl.dataset) == 37 and dl.dataset.vocab == "v"
    assert dl.n_tokens == dl.dataset.n_tokens and torch.equal(dl.dataset[0], torch.arange(len(numbered_texts()[0])))
    assert "37 texts" in repr(dl) and "bptt=10 (varied)" in repr(dl)


class TinyLM(nn.Module):
    def __init__(self, vocab_sz):
        super().__init__()
        self.emb, self.out = nn.Embedding(vocab_sz, 8), nn.Linear(8, vocab_sz)

    def forward(self, x):
        return self.out(self.emb(x))  # (bs, seq, vocab)


def lm_loss(preds, y):
    return F.cross_entropy(preds.flatten(0, 1), y.flatten())


def test_lm_dls_trains_through_the_learner(tmp_path):
    texts = [f"The film number {i} was {'not ' * (i % 2)}good. I saw it {i % 7} times." for i in range(120)]
    dls = lm_dls(texts, bs=4, bptt=12, min_freq=1, cache_dir=tmp_path / "tok")
    vocab = dls.train_ds.vocab
    assert isinstance(vocab, Vocab) and len(dls.valid_ds) == 12 and len(dls.train_ds) == 108
    assert dls.valid.shuffle is False and dls.valid.vary_bptt is False
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "tok").iterdir()) == ["lm_train", "lm_valid"]
    learn = Learner(TinyLM(len(vocab)), dls, lm_loss, lr=3e-2, path=tmp_path, device="cpu")
    learn.fit(2)
    (first_train, train), (first_valid, valid) = (learn.recorder.column(c) for c in ("train_loss", "valid_loss"))
    assert len(learn.recorder.losses) == 2 * len(dls.train)
    assert train < first_train and valid < first_valid < np.log(len(vocab))


def test_sortish_sampler_gives_every_index_once_in_batches_of_similar_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 500, 1000)
    sampler = SortishSampler(lengths, bs=10, seed=0, chunk_batches=5)
    batches = sampler.batches()
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert all(len(b) == 10 for b in batches)
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    random_spread = np.mean([np.ptp(lengths[rng.permutation(1000)[:10]]) for _ in range(100)])
    assert spread < random_spread / 4
    assert lengths[batches[0]].max() == lengths.max()  # the longest batch first
    assert batches != sampler.batches()  # another epoch, another order
    assert SortishSampler(lengths, 10, seed=0, chunk_batches=5).batches() == batches
    assert list(sampler) != [] and len(sampler) == 1000


def test_sortish_sampler_puts_the_short_batch_last():
    batches = SortishSampler(np.arange(23), bs=5, seed=1).batches()
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]


def test_pad_collate_pads_at_the_end():
    x, y = pad_collate([(torch.tensor([5, 6, 7]), 1), (torch.tensor([8]), 0)])
    assert x.tolist() == [[5, 6, 7], [8, 1, 1]] and y.tolist() == [1, 0]
    assert pad_collate([(torch.tensor([5, 6]), 1), (torch.tensor([8]), 0)], pad_idx=0)[0].tolist() == [[5, 6], [8, 0]]


def test_text_class_dataset_has_classes_and_encodes_a_raw_text():
    vocab = Vocab.build([["xxbos", "xxmaj", "good", "film"]], min_freq=1)
    ds = TextClassDataset([[2, 9], [2, 10, 9]], ["pos", "neg"], ["neg", "pos"], vocab, Tokenizer())
    assert len(ds) == 2 and ds.classes == ["neg", "pos"] and ds[1][1].item() == 0
    assert vocab.textify(ds.encode("Good film, bad")) == "xxbos xxmaj good film xxunk xxunk"
    with pytest.raises(KeyError, match=r"\['meh'\] are not among the classes \['neg', 'pos'\]"):
        TextClassDataset([[2]], ["meh"], ["neg", "pos"], vocab)


def test_clas_dls_makes_padded_batches_for_the_learner(tmp_path):
    texts = [("Good film. " * (i % 9 + 1)) if i % 2 else ("Bad film! " * (i % 5 + 1)) for i in range(60)]
    labels = ["pos" if i % 2 else "neg" for i in range(60)]
    vocab = Vocab.build(Tokenizer().tokenize(texts), min_freq=1)
    dls = clas_dls(texts, labels, vocab, bs=8, valid_pct=0.25)
    assert dls.classes == ["neg", "pos"] and dls.c == 2 and len(dls.valid_ds) == 15 and dls.bs == 8
    x, y = next(iter(dls.train))
    assert x.shape[0] == 8 and y.shape == (8,) and x.dtype == torch.long
    lengths = (x != 1).sum(1)
    assert all((x[r, n:] == 1).all() and (x[r, :n] != 1).all() for r, n in enumerate(lengths.tolist()))
    assert len(dls.train) == 45 // 8  # the short batch is dropped: BatchNorm needs 2+ items
    xv, yv = next(iter(dls.valid))
    assert yv.tolist() == dls.valid_ds.labels[:16].tolist()  # validation keeps the texts' order
    given = clas_dls(texts[:40], labels[:40], vocab, valid_texts=texts[40:], valid_labels=labels[40:], bs=8)
    assert len(given.train_ds) == 40 and len(given.valid_ds) == 20
    with pytest.raises(ValueError, match="3 texts but 2 labels"):
        clas_dls(texts[:3], labels[:2], vocab)
    # before: TypeError "'<' not supported between instances of 'str' and 'float'" from sorting the classes
    with pytest.raises(TypeError, match=r"labels\[2\] is nan \(float\) but labels\[0\] is 'neg' \(str\).*empty cell"):
        clas_dls(texts[:4], labels[:2] + [float("nan"), "pos"], vocab, valid_texts=texts[4:6], valid_labels=labels[4:6])
