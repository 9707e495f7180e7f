"""Training text models: the language-model loss and metrics, the RNN callbacks, discriminative rates, and
text generation.

A language model's outputs are (bs, seq, vocab_sz) and its targets (bs, seq): ``LMLoss`` and the metrics here
flatten them. ``ResetState`` and ``RNNRegularizer`` work with any model that has ``reset()`` and an
``encoder`` (``models.AWDLSTM``), i.e. ``models.language_model`` and ``models.text_classifier``.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from coursekit.callbacks import Callback
from coursekit.metrics import Metric


class LMLoss(nn.Module):
    """Cross-entropy over every position: logits (bs, seq, vocab_sz) against next tokens (bs, seq)."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction  # per_item_loss sets "none": one loss per token, averaged per row there

    def forward(self, preds, targets):
        return F.cross_entropy(preds.flatten(0, 1).float(), targets.flatten(), reduction=self.reduction)


class Perplexity(Metric):
    """exp(mean cross-entropy per token) over the whole pass: the language model's perplexity."""

    name = "perplexity"

    def reset(self):
        self.total, self.count = 0.0, 0

    def accumulate(self, preds, targets):
        # a sum on the device, read once at the end (no .item() per batch)
        self.total = self.total + F.cross_entropy(preds.flatten(0, 1).float(), targets.flatten(), reduction="sum")
        self.count += targets.numel()

    @property
    def value(self):
        if not self.count:
            return float("nan")
        return math.exp(float(self.total) / self.count)


perplexity = Perplexity()  # metrics=[perplexity]; perplexity(preds, targets) also works on whole tensors


def lm_accuracy(preds, targets):
    """Fraction of positions whose most likely next token is the right one (logits (bs, seq, vocab))."""
    return (preds.argmax(dim=-1) == targets).float().mean()


def discriminative_lrs(lr, n_groups, factor=2.6):
    """ULMFiT's rates: ``lr`` for the last layer group, ``lr / factor**k`` for the group k places before it."""
    return [lr / factor ** (n_groups - 1 - i) for i in range(n_groups)]


class ResetState(Callback):
    """Resets the model's hidden state at the start of each training and each validation/prediction pass."""

    def before_train(self, learn):
        learn.model.reset()

    def before_valid(self, learn):
        learn.model.reset()


class RNNRegularizer(Callback):
    """AR and TAR (Merity et al. 2017), added to the training loss only.

    AR: ``alpha`` times the mean square of the last layer's outputs after dropout (keeps activations small).
    TAR: ``beta`` times the mean square of the change between consecutive time steps of its outputs before
    dropout (keeps them slowly varying). The penalty is added before ``backward``; afterwards ``learn.loss`` is
    the plain loss again, so the recorded training loss compares with the validation loss (as in 2018).
    ``penalty`` holds the last batch's term.
    """

    order = 60  # after NaNCheck and the lr finder, which judge the plain loss

    def __init__(self, alpha=2.0, beta=1.0):
        self.alpha, self.beta, self.penalty, self.plain_loss = alpha, beta, None, None

    def after_loss(self, learn):
        encoder = learn.model.encoder
        if not learn.training or learn.loss is None or encoder.output is None:
            return
        raw, out = encoder.raw_output.float(), encoder.output.float()  # (bs, seq, emb_sz)
        penalty = self.alpha * out.pow(2).mean()
        if raw.size(1) > 1:
            penalty = penalty + self.beta * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
        self.penalty, self.plain_loss = penalty.detach(), learn.loss
        learn.loss = learn.loss + penalty

    def after_backward(self, learn):
        if self.plain_loss is not None:
            learn.loss, self.plain_loss = self.plain_loss, None

    def __repr__(self):
        return f"RNNRegularizer(alpha={self.alpha}, beta={self.beta})"


class GradientClip(Callback):
    """Clips the gradients' global norm to ``max_norm`` after each backward pass (unscaled first under fp16)."""

    order = 20

    def __init__(self, max_norm):
        self.max_norm = max_norm

    def after_backward(self, learn):
        learn.precision.unscale(learn.opt)  # clip the true gradients, not the loss-scaled ones (fp16)
        params = [p for p in learn.model.parameters() if p.grad is not None]
        self.last_norm = nn.utils.clip_grad_norm_(params, self.max_norm)

    def __repr__(self):
        return f"GradientClip(max_norm={self.max_norm})"


def sample_next(logits, temperature=1.0, top_k=None, generator=None):
    """One token id from logits (vocab_sz,): greedy at temperature 0, else sampled (among the ``top_k`` best)."""
    if temperature == 0:
        return int(logits.argmax())
    logits = logits.float() / temperature
    if top_k is not None and top_k < logits.numel():
        kth = logits.topk(top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return int(torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator))


@torch.no_grad()
def generate(model, vocab, tokenizer, prompt, n_words, temperature=1.0, top_k=None, seed=None):
    """The ``prompt`` followed by ``n_words`` tokens the language model samples one at a time.

    ``tokenizer(prompt)`` gives the prompt's tokens (``None``: split on spaces); ``vocab`` numericalizes and
    textifies. ``temperature`` below 1 sharpens the choice (0: always the most likely token), above 1 flattens
    it; ``top_k`` samples among the k most likely tokens only. The same ``seed`` gives the same text.
    """
    if n_words < 0:
        raise ValueError(f"n_words must be 0 or more, not {n_words}")
    tokens = tokenizer(prompt) if tokenizer is not None else prompt.split()
    ids = vocab.numericalize(tokens)
    if not ids:
        raise ValueError(f"The prompt {prompt!r} gave no tokens: give at least one word to start from.")
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
    was_training = model.training
    model.eval()
    model.reset()
    try:
        logits = model(torch.tensor([ids], device=device))[0, -1]  # the whole prompt, then one token at a time
        new = []
        for _ in range(n_words):
            new.append(sample_next(logits, temperature, top_k, generator))
            logits = model(torch.tensor([[new[-1]]], device=device))[0, -1]
    finally:
        model.reset()
        model.train(was_training)
    return prompt + (" " + vocab.textify(new) if new else "")
