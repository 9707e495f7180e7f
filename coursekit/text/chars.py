"""Character-level text (lesson 7): reading a plain-text corpus, a character vocabulary, fixed-window
datasets for the n-character models, and the stateful loader of contiguous rows.

The corpus is split by position, not at random: the first ``1 - valid_pct`` of the text trains, the rest
validates. Windows overlap, so a random split would put almost every validation window's characters in the
training set as well, and the validation loss would flatter the model.
"""

import torch
from torch.utils.data import Dataset

from coursekit.core import check_path
from coursekit.data import DataLoaders, make_loaders
from coursekit.text.loaders import LMLoader

PAD_CHAR = "\0"  # index 0 of every CharVocab, as in 2018: never in real text, pads a short prompt


def read_chars(path):
    """The whole text of a UTF-8 file, checked: a clear error naming the file when it is missing, empty or
    not UTF-8."""
    path = check_path(path, "text file", kind="file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"The text file {path} is not UTF-8: byte {data[e.start]:#04x} at position {e.start} "
            f"({e.reason}). Re-save it as UTF-8 (for example iconv -f latin1 -t utf-8 "
            f"{path.name} > fixed.txt) and read that file."
        ) from None
    if not text.strip():
        raise ValueError(
            f"The text file {path} is empty ({len(data)} bytes, no visible characters): a character "
            "model needs text to learn from. Check that the download or copy is complete."
        )
    return text


class CharVocab:
    """The characters of a text (``itos``: index -> character, ``stoi``: the reverse); index 0 is
    ``PAD_CHAR`` ("\\0"), the others sorted by code point so the same text always gives the same ids."""

    def __init__(self, itos):
        self.itos = list(itos)
        if not self.itos or self.itos[0] != PAD_CHAR:
            raise ValueError(
                "A CharVocab starts with the padding character '\\0' (index 0); build one with CharVocab.build(text)."
            )
        self.stoi = {c: i for i, c in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("A CharVocab lists a character twice.")

    @classmethod
    def build(cls, text):
        """The padding character, then every distinct character of ``text`` in code-point order."""
        return cls([PAD_CHAR] + sorted(set(text) - {PAD_CHAR}))

    def __len__(self):
        return len(self.itos)

    def encode(self, text):
        """The ids of ``text`` as a LongTensor (len(text),); a character not in the vocabulary is an error."""
        try:
            return torch.tensor([self.stoi[c] for c in text], dtype=torch.long)
        except KeyError:
            unknown = sorted({c for c in text if c not in self.stoi})
            raise KeyError(
                f"Characters {unknown[:10]!r} are not in this {len(self)}-character vocabulary (it was "
                "built from the training text): leave them out of the prompt."
            ) from None

    def decode(self, ids):
        """The text of ``ids`` (ints or a tensor)."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        return "".join(self.itos[i] for i in ids)

    def __repr__(self):
        shown = "".join(c for c in self.itos[1:] if c.isprintable() and c != " ")
        shown = shown if len(shown) <= 40 else shown[:20] + "..." + shown[-12:]
        return f"CharVocab({len(self)} characters, 0 = '\\0' padding; {shown!r} plus whitespace)"


def split_text(text, valid_pct=0.1):
    """(train, valid): the text cut by position, the last ``valid_pct`` of it validating."""
    if not 0 < valid_pct < 1:
        raise ValueError(f"valid_pct must be between 0 and 1, not {valid_pct}")
    cut = int(len(text) * (1 - valid_pct))
    return text[:cut], text[cut:]


class CharWindows(Dataset):
    """Windows of ``n`` character ids starting every ``step`` characters: ``ds[i] = (x, y)``, x (n,) and y the
    next character (``seq=False``, shape ()) or the window shifted by one (``seq=True``, shape (n,))."""

    def __init__(self, ids, n, step=1, seq=False):
        self.ids, self.n, self.step, self.seq = torch.as_tensor(ids, dtype=torch.long), n, step, seq
        self.n_windows = max(0, (len(self.ids) - n - 1) // step + 1)  # every window needs one more for its target

    def __len__(self):
        return self.n_windows

    def __getitem__(self, i):
        if not 0 <= i < self.n_windows:
            raise IndexError(f"window {i} of {self.n_windows}")
        start = i * self.step
        x = self.ids[start : start + self.n]
        y = self.ids[start + 1 : start + self.n + 1] if self.seq else self.ids[start + self.n]
        return x, y

    def __getitems__(self, idxs):
        """A whole batch at once, (x (bs, n), y (bs,) or (bs, n)): ``DataLoader`` calls this instead of one
        ``__getitem__`` per window, which costs more than a small model's step (``keep_batch`` collates)."""
        starts = torch.as_tensor(idxs, dtype=torch.long) * self.step  # (bs,)
        offsets = torch.arange(self.n)  # (n,)
        x = self.ids[starts[:, None] + offsets]  # (bs, n)
        y = self.ids[starts[:, None] + offsets + 1] if self.seq else self.ids[starts + self.n]
        return x, y

    def __repr__(self):
        kind = "next-character sequences" if self.seq else "next character"
        return f"CharWindows({len(self)} windows of {self.n} chars, step {self.step}, targets: {kind})"


def keep_batch(batch):
    """The collate function for ``CharWindows``: its ``__getitems__`` returns the batch already made."""
    return batch


def char_window_dls(text, vocab, n=3, step=1, seq=False, valid_pct=0.1, bs=512, seed=42):
    """``DataLoaders`` of ``CharWindows`` over ``text`` split by position (see the module docstring)."""
    train, valid = (vocab.encode(t) for t in split_text(text, valid_pct))
    dls = make_loaders(
        CharWindows(train, n, step, seq), CharWindows(valid, n, step, seq), bs=bs, seed=seed, collate_fn=keep_batch
    )
    dls.vocab = vocab
    return dls


def stateful_dls(text, vocab, bs=64, bptt=8, valid_pct=0.1):
    """``DataLoaders`` for a stateful model: each part of the text is cut into ``bs`` contiguous rows read
    left to right in windows of exactly ``bptt`` characters (the last window of an epoch may be shorter).

    It is ``loaders.LMLoader`` over one text with ``vary_bptt=False`` and ``shuffle=False``: batch ``k + 1``'s
    row ``r`` continues batch ``k``'s row ``r``, so a hidden state carried from batch to batch (lesson 7's
    ``StatefulRNN`` callback) has read everything before the window in that row. Batches are (x, y), both
    (bs, seq), y = x one char on.
    """
    parts = [vocab.encode(t) for t in split_text(text, valid_pct)]
    train, valid = (
        LMLoader([ids], bs, bptt, shuffle=False, seed=0, vary_bptt=False, name=name)
        for ids, name in zip(parts, ("training", "validation"))
    )
    dls = DataLoaders(train, valid)
    dls.vocab = vocab
    return dls
