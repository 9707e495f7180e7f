"""Sequence-to-sequence data and training: (source, target) batches with padding masks, the masked sequence
loss, and teacher forcing as a callback.

A batch is ``(src, tgt)``: ``src`` (bs, S) source ids and ``tgt`` (bs, T) target ids ending in ``xxeos``, both
padded at the end with ``xxpad`` (id 1); ``src != pad`` is the source's padding mask. The model
(``attention.Seq2Seq``) is called with ``src`` alone and decodes on its own; ``TeacherForcing`` also hands it
``tgt`` in training, so that at some steps it is fed the true previous word instead of its own guess.
"""

from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from coursekit.callbacks import Callback
from coursekit.data import DataLoaders
from coursekit.text.loaders import SortishSampler, as_ids
from coursekit.text.tokenize import BOS, EOS, PAD


class Seq2SeqDataset(Dataset):
    """Numericalized (source, target) pairs, ``ds[i] = (src_ids, tgt_ids)``, and both vocabularies."""

    def __init__(self, src_ids, tgt_ids, src_vocab, tgt_vocab):
        if len(src_ids) != len(tgt_ids):
            raise ValueError(f"{len(src_ids)} sources but {len(tgt_ids)} targets: give one target per source.")
        self.src, self.tgt = as_ids(src_ids), as_ids(tgt_ids)
        self.src_vocab, self.tgt_vocab = src_vocab, tgt_vocab
        empty = [i for i, (s, t) in enumerate(zip(self.src, self.tgt)) if len(s) == 0 or len(t) == 0]
        if empty:
            raise ValueError(
                f"Pair {empty[0]} has an empty side ({len(empty)} such pairs): drop them first "
                "(pairs.tokenize_pairs does)."
            )
        self.src_lengths = np.array([len(s) for s in self.src])
        self.tgt_lengths = np.array([len(t) for t in self.tgt])

    def __len__(self):
        return len(self.src)

    def __getitem__(self, i):
        return torch.from_numpy(self.src[i]), torch.from_numpy(self.tgt[i])

    def __repr__(self):
        return (
            f"Seq2SeqDataset({len(self)} pairs; source {len(self.src_vocab)} tokens, lengths "
            f"{self.src_lengths.min()}-{self.src_lengths.max()}; target {len(self.tgt_vocab)} tokens, "
            f"lengths {self.tgt_lengths.min()}-{self.tgt_lengths.max()})"
        )


def pad_batch(seqs, pad_idx=1):
    """Id tensors of different lengths -> one (n, longest) LongTensor, padded with ``pad_idx`` at the end."""
    out = torch.full((len(seqs), max(len(s) for s in seqs)), pad_idx, dtype=torch.long)
    for row, s in enumerate(seqs):
        out[row, : len(s)] = s
    return out


def seq2seq_collate(batch, pad_idx=1):
    """``[(src_ids, tgt_ids), ...]`` -> (src (bs, S), tgt (bs, T)), each padded at the end."""
    return pad_batch([s for s, _ in batch], pad_idx), pad_batch([t for _, t in batch], pad_idx)


def padding_mask(ids, pad_idx=1):
    """True where ``ids`` holds a real token, False on padding: (bs, seq) bool."""
    return ids != pad_idx


def seq2seq_dls(train_ds, valid_ds, bs=64, seed=42):
    """``DataLoaders`` of two ``Seq2SeqDataset``: training batches of similar source lengths (``SortishSampler``,
    so little of each batch is padding), validation in order, twice the batch size."""
    pad = train_ds.tgt_vocab.stoi[PAD]
    collate = partial(seq2seq_collate, pad_idx=pad)
    sampler = SortishSampler(train_ds.src_lengths + train_ds.tgt_lengths, bs, seed)
    train = DataLoader(train_ds, bs, sampler=sampler, collate_fn=collate, drop_last=len(train_ds) > bs)
    valid = DataLoader(valid_ds, bs * 2, shuffle=False, collate_fn=collate)
    return DataLoaders(train, valid)


def target_ids(tokens, vocab):
    """A target sentence's ids as the decoder learns them: its tokens (without ``xxbos``), then ``xxeos``."""
    return vocab.numericalize([t for t in tokens if t != BOS] + [EOS])


def source_ids(tokens, vocab):
    """A source sentence's ids: its tokens without ``xxbos`` (an unknown word becomes ``xxunk``, id 0)."""
    return vocab.numericalize([t for t in tokens if t != BOS])


def align_lengths(preds, targets, pad_idx=1):
    """Outputs (bs, T', V) and targets (bs, T) cut or padded to the same length T.

    A model decoding on its own may stop before the target ends or run past it: outputs past the target's end
    are dropped (the targets are padding there), and missing outputs count as uniform guesses (zero logits,
    a loss of log V per missing word), so stopping early is never rewarded."""
    t_out, t_tgt = preds.size(1), targets.size(1)
    if t_out > t_tgt:
        return preds[:, :t_tgt], targets
    if t_out < t_tgt:
        preds = torch.cat([preds, preds.new_zeros(preds.size(0), t_tgt - t_out, preds.size(2))], dim=1)
    return preds, targets


class MaskedSeqLoss(nn.Module):
    """Cross-entropy per target word, padding ignored: logits (bs, T', V) against targets (bs, T).

    The mean is over the real (non-padding) words of the batch, so padding a batch further changes nothing."""

    def __init__(self, pad_idx=1):
        super().__init__()
        self.pad_idx = pad_idx

    def forward(self, preds, targets):
        preds, targets = align_lengths(preds, targets, self.pad_idx)
        return F.cross_entropy(preds.flatten(0, 1).float(), targets.flatten(), ignore_index=self.pad_idx)


def masked_accuracy(preds, targets, pad_idx=1):
    """Fraction of real target words the model predicted (padding ignored)."""
    preds, targets = align_lengths(preds, targets, pad_idx)
    mask = targets != pad_idx
    return ((preds.argmax(-1) == targets) & mask).sum().float() / mask.sum().clamp(min=1)


def linear_schedule(start, end):
    """A ratio going in a straight line from ``start`` (beginning of training) to ``end`` (its end)."""
    return lambda pct: start + (end - start) * pct


def step_schedule(start, end, n_steps):
    """``n_steps`` flat stretches from ``start`` to ``end``: the 2018 ``pr_force = (10 - epoch) * 0.1`` is
    ``step_schedule(1.0, 0.1, 10)`` over 10 epochs."""
    return lambda pct: start + (end - start) * min(int(pct * n_steps), n_steps - 1) / max(n_steps - 1, 1)


class TeacherForcing(Callback):
    """Feeds the decoder the true previous word instead of its own guess with a probability that decays over
    training: ``ratio(pct)``, pct the fraction of this fit done (0 at the first batch, towards 1 at the last).

    Early on, forcing lets the decoder learn from the right context before it can produce it; by the end it
    must cope with its own mistakes, as at translation time. In training the model gets ``tgt`` as a second
    input and ``model.pr_force`` set; validation decodes with no help. ``history`` holds each batch's ratio."""

    order = 0  # after DeviceCallback (-10) has moved the batch

    def __init__(self, start=1.0, end=0.0, schedule=None):
        self.schedule = schedule or linear_schedule(start, end)
        self.history = []

    def ratio(self, pct):
        """The forcing ratio at fraction ``pct`` of training."""
        return float(min(1.0, max(0.0, self.schedule(pct))))

    def before_fit(self, learn):
        self.history = []

    def before_batch(self, learn):
        if not learn.training:
            learn.model.pr_force = 0.0
            return
        pct = (learn.epoch + learn.iter / len(learn.dl)) / learn.n_epochs
        learn.model.pr_force = r = self.ratio(pct)
        self.history.append(r)
        learn.xb = (*learn.xb, learn.yb[0])  # the model sees the target only to copy from it

    def after_fit(self, learn):
        learn.model.pr_force = 0.0

    def __repr__(self):
        return f"TeacherForcing(ratio {self.ratio(0):.2f} -> {self.ratio(1):.2f})"
