"""Stateful recurrent models: the hidden state carried from batch to batch, with truncated back-propagation.

A stateful model keeps its last hidden state in ``model.hidden`` (``None`` until its first batch, a tensor, or
a tuple of tensors for an LSTM) and starts the next batch from it, so that with ``chars.stateful_dls`` each
row reads the text as one long sequence. The ``StatefulRNN`` callback

- resets the state (``model.reset()``) at the start of every training pass (each epoch) and of every
  validation or prediction pass: the validation text does not continue the training text;
- detaches it before each batch: the values go on, the graph that made them is cut, so back-propagation
  stops at the start of the window (truncated BPTT) and memory does not grow with the number of batches.

``CharModel`` is the lesson-7 character model of any kind (``"rnn"``, ``"gru"``, ``"lstm"``) in that form.
"""

import torch
from torch import nn

from coursekit.callbacks import Callback
from coursekit.text.training import sample_next

KINDS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def detach_state(state):
    """The same hidden state (a tensor, a tuple/list of them, or None) cut from the graph that made it."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return type(state)(detach_state(s) for s in state)


class StatefulRNN(Callback):
    """Carries ``learn.model.hidden`` across batches, detached before each one (truncated BPTT); resets it at
    the start of each epoch's training pass and of each validation/prediction pass."""

    order = 5  # after DeviceCallback: the state is made on the model's device by the model itself

    def before_train(self, learn):
        learn.model.reset()

    def before_valid(self, learn):
        learn.model.reset()

    def before_batch(self, learn):
        learn.model.hidden = detach_state(learn.model.hidden)

    def __repr__(self):
        return "StatefulRNN(reset each pass, detach each batch)"


class CharModel(nn.Module):
    """Characters in, the next character's logits out at every position, keeping its hidden state.

    x (bs, seq) -> embedding (bs, seq, n_fac) -> ``n_layers`` of RNN/GRU/LSTM (bs, seq, n_hid) -> dropout ->
    linear (bs, seq, vocab_sz). A batch of another size than the stored state (a prompt of one row after
    training on 64) starts from zeros.
    """

    def __init__(self, vocab_sz, n_fac=42, n_hid=256, n_layers=1, kind="lstm", dropout=0.0):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}, not {kind!r}")
        self.kind, self.n_layers, self.n_hid = kind, n_layers, n_hid
        self.emb = nn.Embedding(vocab_sz, n_fac)
        # PyTorch applies this dropout between layers only, hence none for one layer
        self.rnn = KINDS[kind](n_fac, n_hid, n_layers, batch_first=True, dropout=dropout if n_layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(n_hid, vocab_sz)
        self.hidden = None

    def reset(self):
        """Forget the hidden state: the next batch starts from zeros."""
        self.hidden = None

    def _state_fits(self, bs):
        h = self.hidden[0] if isinstance(self.hidden, tuple) else self.hidden
        return h is not None and h.size(1) == bs  # (n_layers, bs, n_hid)

    def forward(self, x):
        if not self._state_fits(x.size(0)):
            self.hidden = None  # nn.RNN/GRU/LSTM start from zeros when given None
        out, self.hidden = self.rnn(self.emb(x), self.hidden)
        return self.out(self.drop(out))

    def __repr__(self):
        return (
            f"CharModel({self.kind}, {self.n_layers} layer(s) of {self.n_hid}, "
            f"{self.emb.num_embeddings} characters, {sum(p.numel() for p in self.parameters()):,} parameters)"
        )


@torch.no_grad()
def sample_text(model, vocab, prompt, n_chars, temperature=1.0, seed=None):
    """``prompt`` followed by ``n_chars`` characters the stateful ``model`` samples one at a time.

    ``temperature`` divides the logits: below 1 the likely characters win more often (0: always the most
    likely), above 1 the choice is flatter. The same ``seed`` gives the same text.
    """
    if not prompt:
        raise ValueError("The prompt is empty: give at least one character to start from.")
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
    was_training, saved = model.training, model.hidden
    model.eval()
    model.reset()
    try:
        logits = model(vocab.encode(prompt)[None].to(device))[0, -1]  # (vocab_sz,) after the whole prompt
        new = []
        for _ in range(n_chars):
            new.append(sample_next(logits, temperature, generator=generator))
            logits = model(torch.tensor([[new[-1]]], device=device))[0, -1]
    finally:
        model.hidden = saved
        model.train(was_training)
    return prompt + vocab.decode(new)
