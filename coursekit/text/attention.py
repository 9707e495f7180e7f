"""The translation model: a GRU encoder (optionally bidirectional), a GRU decoder, and additive (Bahdanau)
attention between them.

Without attention the decoder sees the source only through the encoder's final state: one vector for the
whole sentence, its first hidden state and an input at every step (Cho et al. 2014). With attention, at every
step it scores each source position against its own state, turns the scores into weights (a softmax over the
real source words, padding given 0), and reads the weighted mean of the encoder's outputs, so a long sentence
is not squeezed into one vector.
Shapes: ``src`` (bs, S), encoder outputs (bs, S, H_enc), decoder state (bs, H), weights (bs, S).
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from coursekit.text.tokenize import BOS, EOS, PAD, SPECIALS, UNK

BOS_IDX, PAD_IDX, EOS_IDX, UNK_IDX = SPECIALS.index(BOS), SPECIALS.index(PAD), SPECIALS.index(EOS), SPECIALS.index(UNK)


class AdditiveAttention(nn.Module):
    """Bahdanau attention: score_j = v . tanh(W_k k_j + W_q q), softmax over the real source positions j."""

    def __init__(self, key_sz, query_sz, att_sz):
        super().__init__()
        self.keys_proj = nn.Linear(key_sz, att_sz, bias=False)
        self.query_proj = nn.Linear(query_sz, att_sz)
        self.v = nn.Linear(att_sz, 1, bias=False)

    def project(self, keys):
        """The keys' half of the score, (bs, S, att_sz): computed once per sentence, not at every step."""
        return self.keys_proj(keys)

    def forward(self, projected, keys, query, mask):
        """(context (bs, key_sz), weights (bs, S)) for ``query`` (bs, query_sz); ``mask`` (bs, S) is False on
        padding, which gets weight 0."""
        scores = self.v(torch.tanh(projected + self.query_proj(query)[:, None])).squeeze(-1)  # (bs, S)
        weights = F.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
        return torch.bmm(weights[:, None], keys).squeeze(1), weights


class Seq2Seq(nn.Module):
    """Encoder GRU -> decoder GRU, greedy inside ``forward``; ``attention=True`` adds additive attention.

    ``forward(src, tgt=None)`` -> logits (bs, T, tgt_vocab): T is ``tgt``'s length when given (teacher
    forcing: at each step, with probability ``pr_force``, the true word is fed instead of the guess), else
    up to ``max_out_len`` steps, stopping when every sentence has produced ``xxeos``. With attention, the last
    call's weights are kept in ``attn_weights`` (bs, T, S). ``tie_weights`` shares the output layer with the
    decoder's embedding (as in 2018), which makes a large target vocabulary cheaper. Sources longer than
    ``max_src_len`` are an error here: ``decoding.translate`` cuts them (with a warning) before they reach the
    model.
    """

    def __init__(
        self,
        src_vocab_sz,
        tgt_vocab_sz,
        emb_sz=64,
        n_hid=128,
        bidirectional=False,
        attention=False,
        att_sz=None,
        max_src_len=30,
        max_out_len=32,
        dropout=0.1,
        tie_weights=False,
    ):
        super().__init__()
        self.bidirectional, self.attention = bidirectional, attention
        self.max_src_len, self.max_out_len, self.pr_force = max_src_len, max_out_len, 0.0
        n_dir = 2 if bidirectional else 1
        enc_out = n_hid * n_dir
        self.src_emb = nn.Embedding(src_vocab_sz, emb_sz, padding_idx=PAD_IDX)
        self.encoder = nn.GRU(emb_sz, n_hid, batch_first=True, bidirectional=bidirectional)
        self.bridge = nn.Linear(enc_out, n_hid)  # the encoder's final state(s) -> the decoder's first state
        self.tgt_emb = nn.Embedding(tgt_vocab_sz, emb_sz, padding_idx=PAD_IDX)
        ctx_sz = enc_out  # with attention a new mix of the source at each step, without it the fixed summary
        self.attn = AdditiveAttention(enc_out, n_hid, att_sz or n_hid) if attention else None
        self.cell = nn.GRUCell(emb_sz + ctx_sz, n_hid)
        if tie_weights:  # 2018: down to the embedding size, then the decoder's embedding matrix, transposed
            self.out = nn.Sequential(nn.Linear(n_hid + ctx_sz, emb_sz), nn.Linear(emb_sz, tgt_vocab_sz))
            self.out[1].weight = self.tgt_emb.weight  # a large vocabulary costs emb_sz, not n_hid + ctx_sz, per word
        else:
            self.out = nn.Linear(n_hid + ctx_sz, tgt_vocab_sz)
        self.drop = nn.Dropout(dropout)
        self.attn_weights = None

    def encode(self, src):
        """The decoder's starting state: (encoder outputs (bs, S, H_enc), the keys' projection (attention) or the
        encoder's final state (bs, H_enc) (no attention), mask (bs, S), first hidden state (bs, n_hid))."""
        if src.size(1) > self.max_src_len:
            raise ValueError(
                f"A source of {src.size(1)} tokens, but this model was built for at most "
                f"{self.max_src_len}: cut it first (decoding.translate does, with a warning)."
            )
        if src.size(1) == 0:
            raise ValueError(
                f"A source of shape {tuple(src.shape)}, with no tokens: there is nothing to encode. Give each "
                "sentence at least one token (decoding.translate says which sentence was empty)."
            )
        mask = src != PAD_IDX
        lengths = mask.sum(1).clamp(min=1).cpu()
        packed = pack_padded_sequence(self.drop(self.src_emb(src)), lengths, batch_first=True, enforce_sorted=False)
        out, h = self.encoder(packed)  # packed: the backward direction starts at each sentence's real end
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        h = torch.cat([h[0], h[1]], dim=-1) if self.bidirectional else h[0]  # (bs, n_hid * n_dir)
        proj = self.attn.project(out) if self.attention else h  # without attention: the summary, at every step
        return out, proj, mask, torch.tanh(self.bridge(h))

    def features(self, x, h, enc):
        """One decoder step short of the output layer: the previous word's embedding ``x`` (bs, emb_sz), already
        through dropout, and state -> (what the output layer reads (bs, n_hid + ctx), new state, weights or None)."""
        out, proj, mask, _ = enc
        ctx, weights = self.attn(proj, out, h, mask) if self.attention else (proj, None)
        h = self.cell(torch.cat([x, ctx], dim=-1), h)
        return torch.cat([h, ctx], dim=-1), h, weights

    def step(self, prev, h, enc):
        """One decoder step: the previous word ids (bs,) and state -> (logits (bs, V), new state, weights or
        None)."""
        feat, h, weights = self.features(self.drop(self.tgt_emb(prev)), h, enc)
        return self.out(self.drop(feat)), h, weights

    def forward(self, src, tgt=None, forbid=()):
        """Logits (bs, T, V): with ``tgt``, one step per target word; without, greedy decoding until every row has
        said ``xxeos``, never choosing the ids in ``forbid`` (their logits are -inf; ``decoding.greedy_decode``)."""
        if tgt is not None:
            return self._forward_target(src, tgt)
        enc = self.encode(src)
        h = enc[3]
        prev = torch.full((src.size(0),), BOS_IDX, dtype=torch.long, device=src.device)
        done = torch.zeros(src.size(0), dtype=torch.bool, device=src.device)
        logits, weights = [], []
        banned = torch.as_tensor(forbid, dtype=torch.long, device=src.device) if len(forbid) else None
        for _ in range(self.max_out_len):
            out, h, w = self.step(prev, h, enc)
            if banned is not None:
                out = out.index_fill(1, banned, float("-inf"))
            logits.append(out)
            if w is not None:
                weights.append(w)
            prev = out.argmax(-1)
            done |= prev == EOS_IDX
            if bool(done.all()):
                break
        self.attn_weights = torch.stack(weights, 1).detach() if weights else None
        return torch.stack(logits, 1)

    def _forward_target(self, src, tgt):
        """One step per target word. Whether each step is fed the true previous word (teacher forcing, in training,
        with probability ``pr_force``) or the model's own guess is drawn up front. The true words are embedded at
        once, and the output layer runs once over every step together: a training step on the real eng_fra pairs is
        about 1.4 times as fast as running it at every step (2 CPU threads, float32 and bf16 alike). A step whose guess
        feeds the next one also runs the output layer on its own, without gradient or dropout, to take that guess."""
        enc = self.encode(src)
        h, n_steps = enc[3], tgt.size(1)
        p = self.pr_force if self.training else 0.0
        forced = (torch.rand(n_steps) < p).tolist() if 0 < p < 1 else [p >= 1] * n_steps
        bos = torch.full((src.size(0), 1), BOS_IDX, dtype=torch.long, device=src.device)
        fed = self.drop(self.tgt_emb(torch.cat([bos, tgt[:, :-1]], 1)))  # every true previous word, embedded at once
        x, feats, weights = fed[:, 0], [], []
        for t in range(n_steps):
            feat, h, w = self.features(x, h, enc)
            feats.append(feat)
            if w is not None:
                weights.append(w)
            if t + 1 == n_steps:
                break
            if forced[t]:
                x = fed[:, t + 1]
            else:
                with torch.no_grad():
                    guess = self.out(feat).argmax(-1)
                x = self.drop(self.tgt_emb(guess))
        self.attn_weights = torch.stack(weights, 1).detach() if weights else None
        return self.out(self.drop(torch.stack(feats, 1)))

    def layer_groups(self):
        """One group: the model is trained from scratch."""
        return [self]
