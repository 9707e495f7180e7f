"""Turning a trained ``attention.Seq2Seq`` into translations, and scoring them: greedy decoding, beam
search, ``translate`` for raw text, and corpus BLEU through ``sacrebleu`` on detokenised text.

BLEU is computed by sacrebleu (the standard implementation, with its own "13a" tokenisation), never here:
our tokens are first joined back into ordinary text (``detokenize``), so the scores compare with published
ones, which are computed on plain text too.
"""

import re
import warnings

import torch
import torch.nn.functional as F

from coursekit.text.attention import BOS_IDX, EOS_IDX, PAD_IDX
from coursekit.text.tokenize import BOS, EOS, MAJ, PAD, UP


def cut_at_eos(ids):
    """The ids before the first ``xxeos`` (all of them if there is none)."""
    ids = list(ids)
    return ids[: ids.index(EOS_IDX)] if EOS_IDX in ids else ids


@torch.no_grad()
def greedy_decode(model, src, bs=128, forbid=()):
    """The most likely word at each step, for every row of ``src`` (n, S): a list of id lists (no ``xxeos``).

    Rows are decoded in batches of ``bs`` sorted by length, so little of each batch is padding. ``forbid``: ids never
    chosen, for example ``(UNK_IDX,)``: ``xxunk`` never matches a reference word, so decoding takes the next likeliest
    word instead (on the real eng_fra pairs it moved BLEU by 0.1 at most; ``benchmarks/bench_translation.py``)."""
    was = model.training
    model.eval()
    order = sorted(range(len(src)), key=lambda i: -int((src[i] != PAD_IDX).sum()))
    out = [None] * len(src)
    try:
        for k in range(0, len(order), bs):
            idx = order[k : k + bs]
            rows = src[idx]
            rows = rows[:, : int((rows != PAD_IDX).sum(1).max())]  # drop columns that are all padding
            rows = rows.to(next(model.parameters()).device)
            ids = (model(rows, forbid=forbid) if len(forbid) else model(rows)).argmax(-1).tolist()
            for i, r in zip(idx, ids):
                out[i] = cut_at_eos(r)
    finally:
        model.train(was)
    return out


@torch.no_grad()
def beam_search(model, src, width=4, max_len=None, alpha=0.0):
    """The best translation of one source ``src`` (S,) found by beam search: a list of ids (no ``xxeos``).

    At each step every kept hypothesis is extended by every word and the ``width`` best (summed
    log-probability) are kept; a hypothesis ending in ``xxeos`` is finished. The finished one with the best
    score divided by ``length ** alpha`` wins (``alpha=0``: the raw sum). With ``width=1`` this is greedy."""
    was = model.training
    model.eval()
    try:
        src = src.to(next(model.parameters()).device)
        enc = model.encode(src[None])
        beams = [(0.0, [], enc[3])]  # (score, ids, hidden state (1, n_hid))
        finished = []
        for _ in range(max_len or model.max_out_len):
            prev = torch.tensor([b[1][-1] if b[1] else BOS_IDX for b in beams], device=src.device)
            n = len(beams)
            beam_enc = tuple(None if e is None else e.expand(n, *e.shape[1:]) for e in enc)
            logits, h, _ = model.step(prev, torch.cat([b[2] for b in beams]), beam_enc)
            scores = torch.tensor([b[0] for b in beams], device=src.device)[:, None] + F.log_softmax(logits.float(), -1)
            top = scores.flatten().topk(min(width, scores.numel()))
            extended = []
            for s, flat in zip(top.values.tolist(), top.indices.tolist()):
                b, word = divmod(flat, scores.size(1))
                if word == EOS_IDX:
                    finished.append((s / max(len(beams[b][1]) + 1, 1) ** alpha, beams[b][1]))
                else:
                    extended.append((s, beams[b][1] + [word], h[b : b + 1]))
            beams = extended
            # stop when no open hypothesis can still beat the best finished one (scores only fall)
            if not beams or (finished and alpha == 0 and max(b[0] for b in beams) < max(f[0] for f in finished)):
                break
        if not finished:  # nothing ended in time: the best open hypothesis
            return max(beams, key=lambda b: b[0] / max(len(b[1]), 1) ** alpha)[1]
        return max(finished, key=lambda f: f[0])[1]
    finally:
        model.train(was)


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


def translate(model, text, tokenizer, src_vocab, tgt_vocab, beam=1, lang="fr", as_tokens=False):
    """Translate one raw sentence. A word the source vocabulary does not hold becomes ``xxunk`` (the model
    was trained with rare words as ``xxunk`` too, and still translates the words around it); a sentence
    longer than the model's ``max_src_len`` tokens is cut to that length, with a warning naming it.

    A sentence with no tokens (``""``, only spaces) is an error rather than an empty translation: the model was
    trained on sentences of at least one token (``pairs.tokenize_pairs``), has nothing to attend to, and an
    empty input is most often a slip (a blank line read from a file) that an empty answer would hide."""
    tokens = [t for t in tokenizer(text) if t != BOS]
    if not tokens or all(t.isspace() for t in tokens):
        raise ValueError(
            f"Nothing to translate: {text!r} has no words (no tokens once tokenized). Pass a sentence; when "
            "translating the lines of a file, skip the blank ones."
        )
    if len(tokens) > model.max_src_len:
        warnings.warn(
            f"The sentence {text[:60]!r}{'...' if len(text) > 60 else ''} has {len(tokens)} tokens but "
            f"the model was built for at most {model.max_src_len}: only its first {model.max_src_len} "
            f"are translated.",
            stacklevel=2,
        )
        tokens = tokens[: model.max_src_len]
    device = next(model.parameters()).device
    src = torch.tensor(src_vocab.numericalize(tokens), dtype=torch.long, device=device)
    ids = beam_search(model, src, width=beam) if beam > 1 else greedy_decode(model, src[None])[0]
    words = [tgt_vocab.itos[i] for i in ids]
    return words if as_tokens else detokenize(words, lang)
