"""The AWD-LSTM (Merity et al. 2017, as the 2018 course used it), its language model and its classifier.

Regularisation, only in training: embedding dropout (whole token rows), variational input and between-layer
dropout (one mask per sequence), DropConnect on each LSTM's hidden-to-hidden matrix (weight drop). The encoder
carries its hidden state from batch to batch, detached; ``reset()`` starts from zeros. Tokens are (bs, seq).
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from coursekit.text.vocab import CarriesVocab


def dropout_mask(x, shape, p):
    """A mask of ``shape`` (broadcast against ``x``): zeros with probability ``p``, else ``1/(1-p)``."""
    return x.new_empty(shape).bernoulli_(1 - p).div_(1 - p)


class RNNDropout(nn.Module):
    """Variational dropout on (bs, seq, features): one mask per sequence, the same at every time step."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        return x * dropout_mask(x, (x.size(0), 1, x.size(2)), self.p)

    def extra_repr(self):
        return f"p={self.p}"


class WeightDropLSTM(nn.Module):
    """One batch-first LSTM layer whose ``weight_hh_l0`` gets DropConnect (dropout on the matrix) in training. The
    weight stays an ordinary Parameter of the inner ``nn.LSTM`` (``state_dict``, ``deepcopy``,
    ``flatten_parameters`` work as usual); in training a dropped copy replaces it for one call through
    ``torch.func.functional_call``. In evaluation the plain LSTM runs: deterministic, cuDNN-friendly.
    """

    def __init__(self, n_in, n_out, weight_p=0.5):
        super().__init__()
        self.lstm, self.weight_p = nn.LSTM(n_in, n_out, batch_first=True), weight_p

    def forward(self, x, hidden=None):
        if not self.training or self.weight_p == 0:
            return self.lstm(x, hidden)
        dropped = F.dropout(self.lstm.weight_hh_l0, self.weight_p, training=True)
        # on the GPU the swapped-in weight is not part of cuDNN's flat buffer: it is copied in, once per call
        return functional_call(self.lstm, {"weight_hh_l0": dropped}, (x, hidden), strict=False)

    def extra_repr(self):
        return f"weight_p={self.weight_p}"


class AWDLSTM(CarriesVocab, nn.Module):
    """The AWD-LSTM encoder: tokens (bs, seq) -> the last layer's outputs (bs, seq, emb_sz), after dropout.

    It keeps the last layer's outputs before (``raw_output``) and after (``output``) dropout of the last
    training batch, for activation regularisation (``training.RNNRegularizer``). Built from a ``Vocab``, it
    refuses weights of another vocabulary (``CarriesVocab``)."""

    def __init__(
        self,
        vocab,
        emb_sz=400,
        n_hid=1152,
        n_layers=3,
        pad_idx=1,
        hidden_p=0.3,
        input_p=0.4,
        embed_p=0.05,
        weight_p=0.5,
    ):
        super().__init__()
        vocab_sz = self.track_vocab(vocab)
        self.vocab_sz, self.emb_sz, self.n_hid, self.n_layers = vocab_sz, emb_sz, n_hid, n_layers
        self.pad_idx, self.embed_p = pad_idx, embed_p
        self.embedding = nn.Embedding(vocab_sz, emb_sz, padding_idx=pad_idx)
        with torch.no_grad():  # small uniform init as in 2018 (the tied decoder shares it); pad row stays zero
            self.embedding.weight.uniform_(-0.1, 0.1)
            self.embedding.weight[pad_idx].zero_()
        sizes = [emb_sz] + [n_hid] * (n_layers - 1) + [emb_sz]  # the last layer gives emb_sz: weight tying
        self.rnns = nn.ModuleList(WeightDropLSTM(sizes[i], sizes[i + 1], weight_p) for i in range(n_layers))
        self.input_dp = RNNDropout(input_p)
        self.hidden_dps = nn.ModuleList(RNNDropout(hidden_p) for _ in range(n_layers))
        self.reset()

    def reset(self):
        """Forget the hidden state: the next batch starts from zeros (each epoch, each validation pass)."""
        self.hidden = [None] * self.n_layers  # None: nn.LSTM starts from zeros
        self.raw_output = self.output = None

    def embed(self, x):
        """Embedding lookup with embedding dropout: in training a whole token's vector is dropped, everywhere."""
        w = self.embedding.weight
        emb = F.embedding(x, w, self.pad_idx)  # (bs, seq, emb_sz)
        if self.training and self.embed_p > 0:
            # same as masking rows of the (vocab, emb) matrix, but costs bs*seq rows, not the whole vocabulary
            emb = emb * dropout_mask(w, (w.size(0), 1), self.embed_p)[x]
        return emb

    def forward(self, x):
        bs, h0 = x.size(0), self.hidden[0]
        if h0 is not None and (h0[0].size(1) != bs or h0[0].device != x.device):
            self.reset()  # a batch of another size (the last one, or a prediction): start afresh
        out = self.input_dp(self.embed(x))
        new_hidden, dtype = [], self.embedding.weight.dtype
        for rnn, dp, hidden in zip(self.rnns, self.hidden_dps, self.hidden):
            raw, h = rnn(out, hidden)  # (bs, seq, n_out), ((1, bs, n_out), (1, bs, n_out))
            new_hidden.append(tuple(t.detach().to(dtype) for t in h))  # no gradients; autocast's half undone
            out = dp(raw)
        self.hidden = new_hidden
        if self.training:  # only training needs them (AR/TAR); they hold the graph until the next batch
            self.raw_output, self.output = raw, out
        return out

    def __getstate__(self):
        return {**self.__dict__, "raw_output": None, "output": None}  # deepcopy/pickle: no autograd graph

    def extra_repr(self):
        return f"vocab_sz={self.vocab_sz}, emb_sz={self.emb_sz}, n_hid={self.n_hid}, pad_idx={self.pad_idx}"


class LinearDecoder(nn.Module):
    """Encoder outputs (bs, seq, emb_sz) -> next-token logits (bs, seq, vocab_sz); ``tie_to`` shares its weight."""

    def __init__(self, vocab_sz, emb_sz, output_p=0.1, tie_to=None, bias=True):
        super().__init__()
        self.output_dp = RNNDropout(output_p)
        self.linear = nn.Linear(emb_sz, vocab_sz, bias=bias)
        if tie_to is not None:
            self.linear.weight = tie_to.weight  # one Parameter, two uses: the same storage and gradient
        if bias:
            nn.init.zeros_(self.linear.bias)

    def forward(self, x):
        return self.linear(self.output_dp(x))


class LanguageModel(nn.Module):
    """An AWD-LSTM encoder and a (tied) linear decoder: tokens (bs, seq) -> logits (bs, seq, vocab_sz)."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, x):
        return self.decoder(self.encoder(x))

    def reset(self):
        self.encoder.reset()

    def layer_groups(self):
        """Embedding, each LSTM layer, decoder (whose tied weight trains with it, as in 2018's freeze_to(-1))."""
        return [self.encoder.embedding, *self.encoder.rnns, self.decoder]


def language_model(
    vocab,
    emb_sz=400,
    n_hid=1152,
    n_layers=3,
    pad_idx=1,
    input_p=0.25,
    output_p=0.1,
    weight_p=0.2,
    embed_p=0.02,
    hidden_p=0.15,
    drop_mult=1.0,
    tie_weights=True,
    bias=True,
):
    """An AWD-LSTM language model of ``vocab`` (a ``Vocab``, whose fingerprint its weights carry, or a size); the
    dropouts default to 2018's ``[0.25, 0.1, 0.2, 0.02, 0.15]`` (input, output, weight, embedding, hidden), all
    scaled by ``drop_mult`` (the lessons used 0.7)."""
    input_p, output_p, weight_p, embed_p, hidden_p = (
        p * drop_mult for p in (input_p, output_p, weight_p, embed_p, hidden_p)
    )
    encoder = AWDLSTM(vocab, emb_sz, n_hid, n_layers, pad_idx, hidden_p, input_p, embed_p, weight_p)
    decoder = LinearDecoder(encoder.vocab_sz, emb_sz, output_p, encoder.embedding if tie_weights else None, bias)
    return LanguageModel(encoder, decoder)


def masked_concat_pool(encoder, x, bptt, max_len, pad_idx):
    """Run ``encoder`` over tokens (bs, seq) in ``bptt`` chunks; (bs, 3*emb) of [last real token, max, mean].

    Padding (``pad_idx``, at the end of each row) is left out of all three, so extra padding changes nothing.
    Pooling is streamed chunk by chunk (memory stays at one chunk); gradients flow through the last ``max_len``
    tokens only, earlier chunks run without them.
    """
    mask = x != pad_idx
    lengths = mask.sum(1)  # (bs,)
    keep = max(int(lengths.max()), 1)
    x, mask = x[:, :keep], mask[:, :keep]  # columns that are padding in every row change nothing: skip them
    seq, last_pos = x.size(1), (lengths - 1).clamp(min=0)
    encoder.reset()
    total = biggest = last = None
    for start in range(0, seq, bptt):
        with torch.set_grad_enabled(torch.is_grad_enabled() and start + bptt > seq - max_len):
            out = encoder(x[:, start : start + bptt])  # (bs, chunk, emb)
            m = mask[:, start : start + bptt, None]  # (bs, chunk, 1)
            chunk_sum = (out * m).sum(1, dtype=torch.float32)  # summed in full precision, even under autocast
            chunk_max = out.masked_fill(~m, float("-inf")).max(1).values
            here = (last_pos - start).clamp(0, out.size(1) - 1)  # where each row's last real token would be
            chunk_last = out.gather(1, here[:, None, None].expand(-1, 1, out.size(2))).squeeze(1)
            in_chunk = ((last_pos >= start) & (last_pos < start + out.size(1)))[:, None]
        if total is None:
            total, biggest, last = torch.zeros_like(chunk_sum), chunk_max, torch.zeros_like(chunk_last)
        total, biggest = total + chunk_sum, torch.maximum(biggest, chunk_max)
        last = torch.where(in_chunk, chunk_last, last)
    mean = total / lengths.clamp(min=1)[:, None].to(total.dtype)
    biggest = biggest.masked_fill(lengths[:, None] == 0, 0.0)  # an empty text: zeros, not -inf
    return torch.cat([last.float(), biggest.float(), mean], dim=1)


class TextClassifier(nn.Module):
    """An AWD-LSTM run over whole texts in ``bptt`` chunks, masked concat pooling, and a BatchNorm head: tokens
    (bs, seq), padded at the end with ``pad_idx`` -> logits (bs, n_classes)."""

    def __init__(self, encoder, head, bptt=70, max_len=20 * 70):
        super().__init__()
        self.encoder, self.head, self.bptt, self.max_len = encoder, head, bptt, max_len

    def forward(self, x):
        return self.head(masked_concat_pool(self.encoder, x, self.bptt, self.max_len, self.encoder.pad_idx))

    def reset(self):
        self.encoder.reset()

    def layer_groups(self):
        """Embedding, each LSTM layer, head: for gradual unfreezing (freeze_to(-1), (-2), ...)."""
        return [self.encoder.embedding, *self.encoder.rnns, self.head]

    def load_encoder(self, state_dict):
        """Load an encoder's weights: ``lm.encoder.state_dict()`` or a whole language model's state dict."""
        if any(k.startswith("encoder.") for k in state_dict):
            state_dict = {k[len("encoder.") :]: v for k, v in state_dict.items() if k.startswith("encoder.")}
        rows = state_dict.get("embedding.weight")
        if rows is not None and rows.shape != self.encoder.embedding.weight.shape:
            raise ValueError(
                f"The encoder's embedding is {tuple(rows.shape)}, this classifier's "
                f"{tuple(self.encoder.embedding.weight.shape)}: another vocabulary (or emb_sz). Build the "
                "classifier with the language model's Vocab, or map rows with transfer.transfer_vocab."
            )
        self.encoder.load_state_dict(state_dict)
        return self

    def extra_repr(self):
        return f"bptt={self.bptt}, max_len={self.max_len}"


def classifier_head(n_in, n_classes, lin_ftrs=(50,), ps=(0.1,), output_p=0.4):
    """Blocks of BatchNorm1d, Dropout, Linear (ReLU between): ``n_in`` -> ``lin_ftrs`` -> ``n_classes``."""
    if len(ps) != len(lin_ftrs):
        raise ValueError(
            f"Got {len(ps)} dropout rates ps={tuple(ps)} for {len(lin_ftrs)} hidden layers "
            f"lin_ftrs={tuple(lin_ftrs)}: give one per hidden layer (output_p covers the pooled input)."
        )
    sizes, drops, layers = [n_in, *lin_ftrs, n_classes], [output_p, *ps], []
    for i, p in enumerate(drops):
        layers += [nn.BatchNorm1d(sizes[i]), nn.Dropout(p), nn.Linear(sizes[i], sizes[i + 1])]
        if i < len(drops) - 1:
            layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def text_classifier(
    vocab,
    n_classes,
    bptt=70,
    max_len=20 * 70,
    lin_ftrs=(50,),
    ps=(0.1,),
    emb_sz=400,
    n_hid=1152,
    n_layers=3,
    pad_idx=1,
    input_p=0.4,
    weight_p=0.5,
    embed_p=0.05,
    hidden_p=0.3,
    output_p=0.4,
    drop_mult=1.0,
):
    """An AWD-LSTM classifier of ``vocab`` (as ``language_model``); dropouts default to 2018 lesson 10's ``[0.4,
    0.5, 0.05, 0.3, 0.4]`` (input, weight, embedding, hidden, pooled), scaled by ``drop_mult``; ``ps`` are not."""
    input_p, weight_p, embed_p, hidden_p, output_p = (
        p * drop_mult for p in (input_p, weight_p, embed_p, hidden_p, output_p)
    )
    encoder = AWDLSTM(vocab, emb_sz, n_hid, n_layers, pad_idx, hidden_p, input_p, embed_p, weight_p)
    return TextClassifier(encoder, classifier_head(3 * emb_sz, n_classes, lin_ftrs, ps, output_p), bptt, max_len)
