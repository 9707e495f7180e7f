"""Metrics computed over a validation pass, batch by batch.

A metric is a plain function ``fn(preds, targets) -> number`` or a ``Metric`` object. A plain function is
taken to be a mean over the batch's items (accuracy, per-item F-beta), so the Learner keeps a running,
batch-size-weighted sum (``AvgMetric``): exact, and nothing but two numbers is kept. A function that is not
a per-item mean (RMSE, exp-RMSPE) says so with ``@whole_pass``; the Learner then keeps every batch's outputs
on the CPU and calls it once (``AccumulatedMetric``), which costs memory. Outputs too big to keep (masks)
have their own streaming ``Metric``, built from counts (``confusion``).
"""

import copy

import torch

MULTI_LABEL_THRESHOLD = 0.5  # the one default cut on probabilities, for metrics and for Learner.predict


class Metric:
    """Streaming metric: ``reset`` before a pass, ``accumulate`` each batch, read ``value`` at the end.

    ``reset`` assigns fresh state, so calling a metric on full tensors, ``metric(preds, targets)``, works on a
    fresh copy and leaves a running pass untouched.
    """

    name = None

    def reset(self):
        raise NotImplementedError

    def accumulate(self, preds, targets):
        raise NotImplementedError

    @property
    def value(self):
        raise NotImplementedError

    def __call__(self, preds, *targets):
        """The metric of these tensors alone, as a 0-d tensor (``.item()`` gives the number)."""
        fresh = copy.copy(self)
        fresh.reset()
        fresh.accumulate(preds, *targets)
        return torch.tensor(fresh.value)

    def __repr__(self):
        return f"{type(self).__name__}({self.name})"


class AvgMetric(Metric):
    """Wraps ``fn(preds, targets)``, a mean over items: a batch-size-weighted running sum, kept on the device
    (no ``.item()`` per batch: the value is read once, at the end). Data with several targets per item (a box
    and a label) hand them all over: ``fn(preds, box, label)``, weighted by the first one's size."""

    def __init__(self, fn, name=None):
        self.fn, self.name = fn, name or getattr(fn, "__name__", type(fn).__name__)
        self.reset()

    def reset(self):
        self.total, self.count = 0.0, 0

    def accumulate(self, preds, *targets):
        v = self.fn(preds, *targets)
        first = targets[0]
        n = first.numel() if isinstance(first, torch.Tensor) else len(first)  # tokens, for (bs, seq)
        self.total = self.total + (v.detach().float() if isinstance(v, torch.Tensor) else v) * n
        self.count += n

    @property
    def value(self):
        if not self.count:
            return float("nan")
        v = self.total / self.count
        return v.item() if isinstance(v, torch.Tensor) else float(v)


class AccumulatedMetric(Metric):
    """Wraps ``fn(preds, targets)``: keeps all batches (on the CPU) and calls ``fn`` once (see ``whole_pass``)."""

    def __init__(self, fn, name=None):
        self.fn, self.name = fn, name or getattr(fn, "__name__", type(fn).__name__)
        self.reset()

    def reset(self):
        self.preds, self.targets = [], []

    def accumulate(self, preds, targets):
        self.preds.append(preds.detach().float().cpu())
        self.targets.append(targets.detach().cpu())

    @property
    def value(self):
        if not self.preds:
            return float("nan")
        v = self.fn(torch.cat(self.preds), torch.cat(self.targets))
        return v.item() if isinstance(v, torch.Tensor) else float(v)


def whole_pass(fn):
    """Decorator: ``fn`` needs the whole validation pass at once (it is not a mean over items, like RMSE),
    so the Learner keeps every batch's outputs for it instead of averaging batch by batch."""
    fn.whole_pass = True
    return fn


def as_metric(m):
    """A ``Metric`` as is; a function wrapped fresh: ``AccumulatedMetric`` if ``@whole_pass``, else ``AvgMetric``."""
    if isinstance(m, Metric):
        return m
    return AccumulatedMetric(m) if getattr(m, "whole_pass", False) else AvgMetric(m)


def confusion(pred_labels, targets, n_classes, ignore_index=None):
    """(n_classes, n_classes) counts ``cm[actual, predicted]`` over items or pixels, ``ignore_index`` left out."""
    keep = targets != ignore_index if ignore_index is not None else torch.ones_like(targets, dtype=torch.bool)
    flat = targets[keep] * n_classes + pred_labels[keep]
    return torch.bincount(flat.flatten(), minlength=n_classes**2).reshape(n_classes, n_classes)


def accuracy(preds, targets):
    """Fraction of rows whose arg-max class equals the target (single-label classification)."""
    return (preds.argmax(dim=1) == targets).float().mean()


def error_rate(preds, targets):
    """1 - accuracy."""
    return 1 - accuracy(preds, targets)


# -- multi-label ------------------------------------------------------------------------------------------
def fbeta_per_item(probs, targets, beta=2.0, thresh=MULTI_LABEL_THRESHOLD, eps=1e-9):
    """(n,) each item's F-beta, tags predicted where ``probs > thresh`` (one threshold, or one per item)."""
    thresh = torch.as_tensor(thresh, dtype=probs.dtype)
    preds = (probs > (thresh[:, None] if thresh.dim() else thresh)).float()
    targets = targets.float()
    tp = (preds * targets).sum(dim=1)
    precision = tp / (preds.sum(dim=1) + eps)
    recall = tp / (targets.sum(dim=1) + eps)
    b2 = beta**2
    return (1 + b2) * precision * recall / (b2 * precision + recall + eps)


def fbeta_from_probs(probs, targets, beta=2.0, thresh=MULTI_LABEL_THRESHOLD, eps=1e-9):
    """Mean over items of each item's F-beta (as the Planet competition scored): probabilities in, tags
    predicted where ``probs > thresh``; ``beta=2`` weighs recall four times as much as precision."""
    return fbeta_per_item(probs, targets, beta, thresh, eps).mean()


def fbeta(preds, targets, beta=2.0, thresh=MULTI_LABEL_THRESHOLD):
    """F-beta of raw model outputs (logits; a sigmoid is applied first) against multi-hot targets."""
    return fbeta_from_probs(torch.sigmoid(preds.float()), targets, beta, thresh)


def f2(preds, targets):
    """F2 on logits at threshold 0.2, not the 0.5 default: the Planet lesson's metric, where a low cut pays
    because F2 rewards recall."""
    return fbeta(preds, targets, 2.0, 0.2)


def accuracy_multi(preds, targets, thresh=MULTI_LABEL_THRESHOLD):
    """Fraction of (item, tag) decisions that are right, on logits: the multi-label accuracy."""
    return ((torch.sigmoid(preds.float()) > thresh).float() == targets.float()).float().mean()


def best_threshold(probs, targets, beta=2.0, thresholds=None):
    """The single threshold on probabilities that maximises F-beta: returns (threshold, score)."""
    thresholds = torch.arange(0.05, 0.96, 0.01) if thresholds is None else torch.as_tensor(thresholds)
    scores = torch.stack([fbeta_from_probs(probs, targets, beta, float(t)) for t in thresholds])
    i = int(scores.argmax())
    return float(thresholds[i]), float(scores[i])
