"""Lesson 11's data and its measure: parallel sentences read (the giga-fren files filtered to "Wh...?" questions,
the 2018 lesson's data and the offline sample's layout, or a tab-separated pairs file such as Tatoeba's
``fra.txt``), tokenized with length filtering, numericalized into padded (source, target) batches, and BLEU through
``sacrebleu`` on detokenised text. The lesson's models, loss, teacher forcing and decoding are written in its cells.

Bad input is an error naming the file and line: a pairs line with no tab or an empty side, a pairs file that
is not UTF-8 (or the ``encoding`` given), and giga-fren files that do not have the same number of lines (then
the pairs would be misaligned from that line on).

A batch is ``(src, tgt)``: ``src`` (bs, S) source ids and ``tgt`` (bs, T) target ids ending in ``xxeos``, both
padded at the end with ``xxpad`` (id 1); ``src != pad`` is the source's padding mask.
BLEU is computed by sacrebleu (the standard implementation, with its own "13a" tokenisation), never here: our
tokens are first joined back into ordinary text (``detokenize``), so the scores compare with published ones.
"""

import re
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from coursekit.core import check_path
from coursekit.data import DataLoaders
from coursekit.text.loaders import SortishSampler, as_ids
from coursekit.text.tokenize import BOS, EOS, MAJ, PAD, UP

EN_FILE, FR_FILE = "giga-fren.release2.fixed.en", "giga-fren.release2.fixed.fr"
# As in 2018: an English question starting with "Wh" and ending at its first "?", and a French question.
EN_QUESTION = re.compile(r"^(Wh[^?.!]+\?)")
FR_QUESTION = re.compile(r"^([^?.!]+\?)")


def read_giga_fren(folder, en_name=EN_FILE, fr_name=FR_FILE, max_pairs=None):
    """(English, French) question pairs from the aligned giga-fren files in ``folder``: line i of one is the
    translation of line i of the other; a pair is kept when the English line is a "Wh...?" question and the
    French line a question (both cut at their first "?"). ``max_pairs`` stops early."""
    en_path = check_path(Path(folder) / en_name, "English giga-fren file", kind="file")
    fr_path = check_path(Path(folder) / fr_name, "French giga-fren file", kind="file")
    pairs, n = [], 0
    with (
        open(en_path, encoding="utf-8-sig", errors="replace") as en_f,  # -sig: a leading BOM is not text
        open(fr_path, encoding="utf-8-sig", errors="replace") as fr_f,
    ):
        while True:
            en, fr = en_f.readline(), fr_f.readline()
            if not en or not fr:
                if en or fr:
                    longer, shorter = (en_path, fr_path) if en else (fr_path, en_path)
                    raise ValueError(
                        f"{shorter} ends after {n} lines but {longer} goes on: the two giga-fren files "
                        "must have the same number of lines, line i of one translating line i of the "
                        "other. Download and extract them again (datasets.get_data('giga_fren', "
                        "mode='full', force=True))."
                    )
                break
            n += 1
            m_en, m_fr = EN_QUESTION.match(en.strip()), FR_QUESTION.match(fr.strip())
            if m_en and m_fr:
                pairs.append((m_en.group(1), m_fr.group(1)))
                if max_pairs is not None and len(pairs) >= max_pairs:
                    break
    return pairs


def read_text(path, encoding="utf-8"):
    """The whole text of ``path`` (a UTF-8 byte-order mark dropped); a file that is not in ``encoding`` is a
    ``ValueError`` naming the file, the byte, its offset and line, and how to convert the file."""
    data = Path(path).read_bytes()
    utf8 = encoding.lower().replace("_", "-") in ("utf-8", "utf8")
    try:
        return data.decode("utf-8-sig" if utf8 else encoding)
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        name = Path(path).name
        raise ValueError(
            f"{path} is not {'UTF-8' if utf8 else encoding} text: byte {data[e.start]:#04x} at byte offset "
            f"{e.start} (line {line}) cannot be decoded ({e.reason}; Windows-1252 and Latin-1 files have such "
            f"bytes). Convert the file to UTF-8 (for example iconv -f latin1 -t utf-8 {name} > utf8-{name}), or "
            "pass the encoding it is in, such as encoding='latin-1'."
        ) from None


def read_tsv_pairs(path, max_pairs=None, encoding="utf-8"):
    """(source, target) pairs from a file of ``source<TAB>target`` lines (a third column, such as Tatoeba's
    attribution, is ignored). A line with no tab or an empty side is an error naming the line; a file that is
    not ``encoding`` text (UTF-8 unless given) is an error naming the byte and line (``read_text``)."""
    path = check_path(path, "tab-separated pairs file", kind="file")
    pairs = []
    lines = read_text(path, encoding).replace("\r\n", "\n").replace("\r", "\n").split("\n")  # as open() splits
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue  # blank lines (a trailing newline) carry no pair
        parts = line.split("\t")
        if len(parts) < 2:
            raise ValueError(
                f"{path}, line {i}: no tab in {line[:60]!r}. Each line must be 'source<TAB>target' (one pair per line)."
            )
        src, tgt = parts[0].strip(), parts[1].strip()
        if not src or not tgt:
            side = "source (before the tab)" if not src else "target (after the tab)"
            raise ValueError(f"{path}, line {i}: the {side} is empty in {line[:60]!r}; fix or delete the line.")
        pairs.append((src, tgt))
        if max_pairs is not None and len(pairs) >= max_pairs:
            break
    return pairs


def tokenize_pairs(pairs, src_tok, tgt_tok, max_len=30, cache_dir=None, name="pairs"):
    """Both sides tokenized (``xxbos`` dropped), keeping the pairs whose two sides have fewer than ``max_len``
    tokens (2018: 30): (source token lists, target token lists, indices of the kept pairs)."""
    src = src_tok.tokenize([s for s, _ in pairs], cache_dir, f"{name}_src")
    tgt = tgt_tok.tokenize([t for _, t in pairs], cache_dir, f"{name}_tgt")
    keep = [i for i, (s, t) in enumerate(zip(src, tgt)) if 1 < len(s) <= max_len and 1 < len(t) <= max_len]
    return [src[i][1:] for i in keep], [tgt[i][1:] for i in keep], keep


def n_words(sentence):
    """The number of words of a raw sentence (split on spaces): what 'length' means for BLEU per length."""
    return len(sentence.split())


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
                f"Pair {empty[0]} has an empty side ({len(empty)} such pairs): drop them first (tokenize_pairs does)."
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


def detokenize(tokens, lang="en"):
    """Our tokens -> plain text: ``xxmaj``/``xxup`` restore capitals, the other markers are dropped, and the
    words are joined with spaces except where the language writes none (before "," "." "n't" "'s" in English;
    after "l'" and before "-t" "-il" in French; French keeps its space before "?" "!" ";" ":")."""
    out, cap = [], None
    no_space_before = {",", ".", ")", "..."} | ({"?", "!", ";", ":"} if lang != "fr" else set())
    for t in tokens:
        if t in (BOS, EOS, PAD):
            continue
        if t in (MAJ, UP):
            cap = t
            continue
        if cap == MAJ:
            t = t[:1].upper() + t[1:]
        elif cap == UP:
            t = t.upper()
        cap = None
        glue = bool(out) and (
            t in no_space_before
            or (lang == "en" and re.fullmatch(r"n't|'\w{1,2}", t.lower()) is not None)
            or (lang == "fr" and (out[-1].endswith("'") or (t.startswith("-") and len(t) > 1)))
        )
        if glue:
            out[-1] += t
        else:
            out.append(t)
    return " ".join(out)


def corpus_bleu(hyp_tokens, ref_tokens, lang="fr"):
    """Corpus BLEU (0-100) of hypotheses against one reference each, both given as token lists: each is
    detokenised, then scored by ``sacrebleu.corpus_bleu`` with its default settings (13a tokenisation)."""
    import sacrebleu

    if len(hyp_tokens) != len(ref_tokens):
        raise ValueError(f"{len(hyp_tokens)} hypotheses but {len(ref_tokens)} references: give one each.")
    hyps = [detokenize(h, lang) for h in hyp_tokens]
    refs = [detokenize(r, lang) for r in ref_tokens]
    return sacrebleu.corpus_bleu(hyps, [refs]).score


def bleu_by_length(hyp_tokens, ref_tokens, src_lengths, bins=((1, 5), (6, 10)), lang="fr"):
    """Corpus BLEU over the pairs whose source length (in words) falls in each bin ``(lo, hi)``, inclusive:
    ``{"1-5": bleu, ...}``; a bin with no pair gives NaN."""
    out = {}
    for lo, hi in bins:
        idx = [i for i, n in enumerate(src_lengths) if lo <= n <= hi]
        out[f"{lo}-{hi}"] = (
            corpus_bleu([hyp_tokens[i] for i in idx], [ref_tokens[i] for i in idx], lang) if idx else float("nan")
        )
    return out
