"""Loaders for text: a language model's stream of tokens, and classifier batches of similar lengths.

``LMLoader``: each epoch, all texts (order shuffled) joined into one stream, cut into ``bs`` contiguous rows,
read left to right in windows of about ``bptt`` tokens; the targets are the inputs shifted by one token along
the stream, so a model that carries its hidden state from batch to batch reads each row as one long text.
``SortishSampler`` + ``pad_collate``: classifier batches of texts of similar lengths, padded at the end.
Entry points: ``lm_dls`` and ``clas_dls``, returning ``coursekit.data.DataLoaders``.
"""

from functools import partial

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from coursekit.data import DataLoaders, random_split_indices
from coursekit.text.tokenize import PAD, Tokenizer
from coursekit.text.vocab import Vocab


def as_ids(ids_list):
    """Each text's ids as a 1-d int64 numpy array."""
    return [np.asarray(t.tolist() if isinstance(t, torch.Tensor) else t, dtype=np.int64).reshape(-1) for t in ids_list]


class LMTexts(Dataset):
    """The texts a language-model loader reads (``ds[i]``: the ids of text ``i``), and their vocabulary."""

    def __init__(self, ids_list, vocab=None):
        self.items, self.vocab = as_ids(ids_list), vocab
        self.n_tokens = int(sum(len(t) for t in self.items))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return torch.from_numpy(self.items[i])

    def __repr__(self):
        return f"LMTexts({len(self)} texts, {self.n_tokens} tokens)"


class LMLoader:
    """Batches ``(x, y)`` of shape (bs, seq) for a language model: see the module docstring.

    ``seq`` varies around ``bptt`` (``vary_bptt``: ``bptt`` with probability 0.95, else ``bptt/2``, then a
    normal with sd 5, at least 5), rescaled so an epoch always has ``len(loader)`` batches (the one-cycle
    schedule counts them). The fewer than ``bs`` tokens left over after cutting the stream into ``bs`` equal
    rows are not read that epoch (another shuffle puts other tokens at the end). Seeded: the same ``seed``
    gives the same epochs. ``name`` ("training", "validation") names the set when it is too small for ``bs``.
    """

    n_inp = 1

    def __init__(self, ids_list, bs=64, bptt=70, shuffle=True, seed=None, vary_bptt=True, vocab=None, name=None):
        self.dataset = ids_list if isinstance(ids_list, LMTexts) else LMTexts(ids_list, vocab)
        self.batch_size, self.bptt, self.shuffle, self.vary_bptt = bs, bptt, shuffle, vary_bptt
        self.n_tokens = self.dataset.n_tokens
        self.row_len = (self.n_tokens - 1) // bs  # tokens read per row: each needs the next as its target
        if self.row_len < 1:
            n = len(self.dataset)
            what = f"The {name} set ({n} text{'s' * (n != 1)}, {self.n_tokens} tokens)" if name else "The texts"
            more = {"validation": "a bigger valid_pct (or more valid_texts)", "training": "more texts"}
            raise ValueError(
                f"{what} cannot fill bs={bs} rows of a language-model batch: each row needs at least 2 tokens. "
                f"Use a smaller bs (at most {max(1, self.n_tokens - 1)}), or {more.get(name, 'more text')}."
            )
        self.seed = torch.initial_seed() % 2**63 if seed is None else seed
        self.rng = np.random.default_rng(self.seed)

    def __len__(self):
        return -(-self.row_len // self.bptt)  # ceil: the last window may be shorter

    def seq_lengths(self):
        """This epoch's window lengths: ``len(self)`` of them, summing to ``row_len``."""
        n = len(self)
        if not self.vary_bptt:
            return [self.bptt] * (n - 1) + [self.row_len - self.bptt * (n - 1)]
        base = np.where(self.rng.random(n) < 0.95, self.bptt, self.bptt / 2)
        raw = np.maximum(5, self.rng.normal(base, 5))
        ends = np.round(np.cumsum(raw) * self.row_len / raw.sum()).astype(np.int64)  # rescaled to sum to row_len
        ends = np.maximum(ends, np.arange(1, n + 1))  # every window at least one token long
        ends = np.minimum(ends, self.row_len - np.arange(n - 1, -1, -1))
        return np.diff(np.concatenate([[0], ends])).tolist()

    def stream(self):
        """One epoch's stream of token ids: every text, in shuffled order when ``shuffle``."""
        items = self.dataset.items
        order = self.rng.permutation(len(items)) if self.shuffle else range(len(items))
        return torch.from_numpy(np.concatenate([items[i] for i in order]))

    def __iter__(self):
        data = self.stream()[: self.batch_size * self.row_len + 1]
        xs = data[:-1].view(self.batch_size, self.row_len)  # row r is stream[r*row_len : (r+1)*row_len]
        ys = data[1:].view(self.batch_size, self.row_len)  # the same, one token later
        i = 0
        for seq in self.seq_lengths():
            yield xs[:, i : i + seq].contiguous(), ys[:, i : i + seq].contiguous()
            i += seq

    def __repr__(self):
        return (
            f"LMLoader({len(self.dataset)} texts, {self.n_tokens} tokens; bs={self.batch_size}, "
            f"bptt={self.bptt}{' (varied)' if self.vary_bptt else ''}, {len(self)} batches)"
        )


class SortishSampler(Sampler):
    """Indices in batches of similar lengths, with randomness: random chunks of ``50 * bs`` items, each sorted
    by length (longest first) and cut into batches; the batches shuffled, the longest one first (a memory
    error shows at once) and the one short batch, if any, last, so a ``DataLoader(batch_size=bs)`` keeps them."""

    def __init__(self, lengths, bs, seed=None, chunk_batches=50):
        self.lengths, self.bs, self.chunk = np.asarray(lengths), bs, chunk_batches * bs
        self.rng = np.random.default_rng(torch.initial_seed() % 2**63 if seed is None else seed)

    def __len__(self):
        return len(self.lengths)

    def batches(self):
        """This epoch's batches (lists of indices)."""
        idx = self.rng.permutation(len(self.lengths))
        chunks = [idx[i : i + self.chunk] for i in range(0, len(idx), self.chunk)]
        idx = np.concatenate([c[np.argsort(-self.lengths[c], kind="stable")] for c in chunks])
        batches = [idx[i : i + self.bs] for i in range(0, len(idx), self.bs)]
        short = batches.pop() if len(batches[-1]) < self.bs else None
        batches = [batches[i] for i in self.rng.permutation(len(batches))]
        if batches:
            longest = int(np.argmax([self.lengths[b].max() for b in batches]))
            batches[0], batches[longest] = batches[longest], batches[0]
        return [b.tolist() for b in batches] + ([short.tolist()] if short is not None else [])

    def __iter__(self):
        return (i for b in self.batches() for i in b)


def pad_collate(batch, pad_idx=1):
    """``[(ids, label), ...]`` -> (x (bs, longest) padded with ``pad_idx`` at the end, y (bs,))."""
    lengths = [len(ids) for ids, _ in batch]
    x = torch.full((len(batch), max(lengths)), pad_idx, dtype=torch.long)
    for row, (ids, _) in enumerate(batch):
        x[row, : len(ids)] = ids
    return x, torch.tensor([int(y) for _, y in batch], dtype=torch.long)


class TextClassDataset(Dataset):
    """Numericalized texts and their class indices (``ds[i] = (ids, label)``), with ``classes`` and ``vocab``;
    ``encode(text)`` tokenizes and numericalizes one raw text, for ``learn.predict``."""

    def __init__(self, ids_list, labels, classes, vocab, tokenizer=None, backwards=False):
        self.items, self.classes, self.vocab, self.tokenizer = as_ids(ids_list), list(classes), vocab, tokenizer
        self.backwards = backwards  # items are already reversed; encode reverses a new text the same way
        index = {c: i for i, c in enumerate(self.classes)}
        unknown = sorted({str(y) for y in labels if y not in index})
        if unknown:
            raise KeyError(f"Label(s) {unknown[:5]} are not among the classes {self.classes}.")
        self.labels = torch.tensor([index[y] for y in labels], dtype=torch.long)
        if len(self.items) != len(self.labels):
            raise ValueError(f"{len(self.items)} texts but {len(self.labels)} labels: give one label per text.")
        self.lengths = np.array([len(t) for t in self.items])

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return torch.from_numpy(self.items[i]), self.labels[i]

    def encode(self, text):
        """One raw text as the model's input: a LongTensor of ids (seq,)."""
        if self.tokenizer is None:
            self.tokenizer = Tokenizer()
        ids = self.vocab.tensor(self.tokenizer(text))
        return ids.flip(0) if self.backwards else ids

    def __repr__(self):
        return (
            f"TextClassDataset({len(self)} texts, {len(self.vocab)}-token vocab, classes {self.classes}; "
            f"lengths {self.lengths.min()}-{self.lengths.max()})"
        )


def check_label_types(labels, name):
    """A ``TypeError`` naming the first label whose type differs from the first one's (an empty CSV cell read
    as NaN among strings): the classes could not be sorted, and NaN would become a class."""
    kinds = [type(y) for y in labels]
    odd = next((i for i, k in enumerate(kinds) if k is not kinds[0]), None)
    if odd is not None:
        raise TypeError(
            f"{name}[{odd}] is {labels[odd]!r} ({kinds[odd].__name__}) but {name}[0] is {labels[0]!r} "
            f"({kinds[0].__name__}): every label must be of one type. A NaN is an empty cell read by pandas: fill "
            "it in or drop the row (text.reading.read_texts_csv names such rows)."
        )


def lm_dls(
    texts,
    vocab=None,
    valid_texts=None,
    valid_pct=0.1,
    bs=64,
    bptt=70,
    seed=42,
    tokenizer=None,
    cache_dir=None,
    min_freq=3,
    max_vocab=60000,
    backwards=False,
):
    """Language-model ``DataLoaders`` of raw ``texts``: tokenized (cached in ``cache_dir``), the vocabulary
    built on the training texts unless given (``dls.train_ds.vocab``), a seeded ``valid_pct`` held out.
    ``backwards`` reverses every text: a backward language model predicts each token from those after it."""
    train, valid = list(texts), valid_texts
    if valid is None:
        train_idx, valid_idx = random_split_indices(len(train), valid_pct, seed)
        train, valid = [train[i] for i in train_idx], [train[i] for i in valid_idx]
    tokenizer = tokenizer or Tokenizer()
    train_tok = tokenizer.tokenize(train, cache_dir, "lm_train")
    valid_tok = tokenizer.tokenize(list(valid), cache_dir, "lm_valid")
    vocab = vocab or Vocab.build(train_tok, min_freq, max_vocab)
    step = -1 if backwards else 1
    ids = lambda toks: [vocab.numericalize(t)[::step] for t in toks]
    train_dl = LMLoader(ids(train_tok), bs, bptt, shuffle=True, seed=seed, vocab=vocab, name="training")
    valid_dl = LMLoader(
        ids(valid_tok), bs, bptt, shuffle=False, seed=seed, vary_bptt=False, vocab=vocab, name="validation"
    )
    return DataLoaders(train_dl, valid_dl)


def clas_dls(
    texts,
    labels,
    vocab,
    valid_texts=None,
    valid_labels=None,
    valid_pct=0.2,
    bs=64,
    seed=42,
    classes=None,
    tokenizer=None,
    cache_dir=None,
    backwards=False,
):
    """Classifier ``DataLoaders`` of raw ``texts`` and ``labels`` numericalized with ``vocab`` (the language
    model's): training batches of similar lengths (``SortishSampler``), validation in the texts' order.
    ``backwards`` reverses every text, for a classifier on a backward language model's encoder."""
    texts, labels = list(texts), list(labels)
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels: give one label per text.")
    if valid_texts is None:
        train_idx, valid_idx = random_split_indices(len(texts), valid_pct, seed)
        valid_texts, valid_labels = [texts[i] for i in valid_idx], [labels[i] for i in valid_idx]
        texts, labels = [texts[i] for i in train_idx], [labels[i] for i in train_idx]
    if classes is None:
        check_label_types(labels, "labels")
        check_label_types(valid_labels, "valid_labels")
    classes = list(classes) if classes is not None else sorted(set(labels) | set(valid_labels))
    tokenizer = tokenizer or Tokenizer()
    step = -1 if backwards else 1
    datasets = [
        TextClassDataset(
            [vocab.numericalize(t)[::step] for t in tokenizer.tokenize(x, cache_dir, name)],
            y,
            classes,
            vocab,
            tokenizer,
            backwards,
        )
        for x, y, name in ((texts, labels, "clas_train"), (list(valid_texts), list(valid_labels), "clas_valid"))
    ]
    collate = partial(pad_collate, pad_idx=vocab.stoi[PAD])
    sampler = SortishSampler(datasets[0].lengths, bs, seed)  # the short batch comes last: dropped, as BatchNorm
    train = DataLoader(datasets[0], bs, sampler=sampler, collate_fn=collate, drop_last=len(datasets[0]) > bs)
    valid = DataLoader(datasets[1], bs * 2, shuffle=False, collate_fn=collate)
    return DataLoaders(train, valid)
