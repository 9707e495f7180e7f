"""The vocabulary: tokens <-> ids, special tokens first (``xxunk`` is 0, ``xxpad`` is 1), saved as plain JSON.

A language model's ids only mean something with the vocabulary it was trained with: a classifier built on
its encoder checks it has the same one (``check_same``), and says how they differ when they do not. A model
built from a ``Vocab`` carries its fingerprint in its saved weights (``CarriesVocab``), so weights of another
vocabulary of the same size are refused on loading instead of quietly meaning other words.
"""

import hashlib
import json
from collections import Counter
from pathlib import Path

import torch

from coursekit.core import check_path
from coursekit.text.tokenize import SPECIALS


class VocabMismatchError(ValueError):
    """Two vocabularies that should be the same are not (ids would mean different tokens)."""


class Vocab:
    """A list of tokens (``itos``, index -> token) and its inverse (``stoi``); unknown tokens map to 0."""

    def __init__(self, itos):
        self.itos = list(itos)
        if self.itos[: len(SPECIALS)] != SPECIALS:
            raise ValueError(
                f"A vocabulary starts with the special tokens {SPECIALS} in that order (so xxunk is 0 "
                f"and xxpad 1); this one starts with {self.itos[: len(SPECIALS)]}. Build it with "
                "Vocab.build(token_lists)."
            )
        self.stoi = {s: i for i, s in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            dupes = [s for s, n in Counter(self.itos).items() if n > 1]
            raise ValueError(f"The vocabulary lists {len(dupes)} token(s) twice: {dupes[:5]}.")

    @classmethod
    def build(cls, token_lists, min_freq=3, max_vocab=60000):
        """The specials, then tokens seen at least ``min_freq`` times, most frequent first (ties
        alphabetical, so the same texts always give the same ids), at most ``max_vocab`` tokens in all."""
        counts = Counter(t for tokens in token_lists for t in tokens)
        for s in SPECIALS:
            counts.pop(s, None)
        kept = sorted((t for t, n in counts.items() if n >= min_freq), key=lambda t: (-counts[t], t))
        return cls(SPECIALS + kept[: max(0, max_vocab - len(SPECIALS))])

    def __len__(self):
        return len(self.itos)

    def __contains__(self, token):
        return token in self.stoi

    def numericalize(self, tokens):
        """The ids of ``tokens`` (a list of ints); a token not in the vocabulary is 0 (``xxunk``)."""
        get = self.stoi.get  # SPECIALS[0] is xxunk
        return [get(t, 0) for t in tokens]

    def tensor(self, tokens):
        """The ids of ``tokens`` as a LongTensor."""
        return torch.tensor(self.numericalize(tokens), dtype=torch.long)

    def textify(self, ids, sep=" "):
        """The tokens of ``ids`` (ints or a tensor) joined by ``sep``."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        return sep.join(self.itos[i] for i in ids)

    @property
    def fingerprint(self):
        """A short hash of the token list: equal fingerprints, same vocabulary."""
        return fingerprint_of(self.itos)

    def save(self, path):
        """Write the token list as JSON (``{"itos": [...]}``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps({"itos": self.itos, "fingerprint": self.fingerprint}, ensure_ascii=False), encoding="utf-8"
        )
        return path

    @classmethod
    def load(cls, path):
        """A vocabulary written by ``save``."""
        path = check_path(path, "vocabulary file", kind="file")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(data["itos"])
        except (ValueError, KeyError, TypeError) as e:
            if isinstance(e, ValueError) and "special tokens" in str(e):
                raise
            raise ValueError(f"{path} is not a vocabulary file written by Vocab.save ({e}).") from None

    def check_same(self, other, what="the encoder's vocabulary"):
        """Raise ``VocabMismatchError`` unless ``other`` has the same tokens at the same ids."""
        other_itos = other.itos if isinstance(other, Vocab) else list(other)
        if other_itos == self.itos:
            return
        n = min(len(self.itos), len(other_itos))
        differ = [i for i in range(n) if self.itos[i] != other_itos[i]]
        n_diff = len(differ) + abs(len(self.itos) - len(other_itos))
        shown = ", ".join(f"id {i}: {self.itos[i]!r} vs {other_itos[i]!r}" for i in differ[:5])
        raise VocabMismatchError(
            f"This vocabulary ({len(self.itos)} tokens) is not {what} ({len(other_itos)} tokens): {n_diff} ids "
            f"differ{' (' + shown + ')' if shown else ''}. The ids would mean other words: numericalize the texts "
            "with the vocabulary the model was trained with (load it with Vocab.load), or transfer the weights "
            "to the new vocabulary first."
        )

    def __repr__(self):
        shown = ", ".join(self.itos[len(SPECIALS) : len(SPECIALS) + 8])
        return f"Vocab({len(self)} tokens, {len(SPECIALS)} special; {shown}, ...; fingerprint {self.fingerprint})"


def fingerprint_of(itos):
    """A short hash of a token list (any list: the WikiText-103 one has other special tokens)."""
    return hashlib.sha256("\x00".join(itos).encode("utf-8")).hexdigest()[:12]


class CarriesVocab:
    """For an ``nn.Module`` whose weights belong to one vocabulary: its fingerprint is saved with the weights
    (the state dict's ``<prefix>_extra_state``), and loading weights of another vocabulary raises
    ``VocabMismatchError`` before any weight is loaded. Weights saved without a fingerprint still load."""

    vocab_fingerprint = None

    def track_vocab(self, vocab):
        """Remember ``vocab``'s fingerprint (a ``Vocab``; a plain size means unknown); return its size."""
        self.vocab_fingerprint = getattr(vocab, "fingerprint", None)
        self.register_load_state_dict_pre_hook(_allow_no_fingerprint)
        return len(vocab) if hasattr(vocab, "itos") else int(vocab)

    def get_extra_state(self):
        return {"vocab_fingerprint": self.vocab_fingerprint}

    def set_extra_state(self, state):
        theirs, mine = (state or {}).get("vocab_fingerprint"), self.vocab_fingerprint
        if mine and theirs and mine != theirs:
            raise VocabMismatchError(
                f"These weights were trained with another vocabulary (fingerprint {theirs}) than the one this "
                f"{type(self).__name__} was built for ({mine}), with as many tokens: its ids would mean other "
                "words. Build the model from the vocabulary the weights were trained with (Vocab.load), or move "
                "the weights to this vocabulary with transfer.transfer_vocab. Nothing was loaded."
            )
        self.vocab_fingerprint = theirs or mine


def _allow_no_fingerprint(module, state_dict, prefix, *args):
    state_dict.setdefault(prefix + "_extra_state", {"vocab_fingerprint": None})  # weights saved before fingerprints
