"""Metrics computed over a whole validation pass.

A metric is either a plain function ``fn(preds, targets) -> number`` (coursekit keeps every batch's
predictions and calls it once per epoch, so metrics that are not averages, like F-beta, come out right),
or a ``Metric`` object that accumulates batch by batch (for outputs too big to keep, like masks).
"""
import torch


class Metric:
    """Streaming metric: ``reset`` before a pass, ``accumulate`` each batch, read ``value`` at the end."""
    name = None

    def reset(self):
        raise NotImplementedError

    def accumulate(self, preds, targets):
        raise NotImplementedError

    @property
    def value(self):
        raise NotImplementedError


class AccumulatedMetric(Metric):
    """Wraps ``fn(preds, targets)``: keeps all batches (on the CPU) and calls ``fn`` once."""

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


def as_metric(m):
    """A ``Metric`` as is; a function wrapped in ``AccumulatedMetric``."""
    return m if isinstance(m, Metric) else AccumulatedMetric(m)


def accuracy(preds, targets):
    """Fraction of rows whose arg-max class equals the target (single-label classification)."""
    return (preds.argmax(dim=1) == targets).float().mean()


def error_rate(preds, targets):
    """1 - accuracy."""
    return 1 - accuracy(preds, targets)


# -- multi-label ------------------------------------------------------------------------------------------
def fbeta_from_probs(probs, targets, beta=2.0, thresh=0.5, eps=1e-9):
    """Mean over items of each item's F-beta (as the Planet competition scored): probabilities in, tags
    predicted where ``probs > thresh``; ``beta=2`` weighs recall four times as much as precision."""
    preds = (probs > thresh).float()
    targets = targets.float()
    tp = (preds * targets).sum(dim=1)
    precision = tp / (preds.sum(dim=1) + eps)
    recall = tp / (targets.sum(dim=1) + eps)
    b2 = beta ** 2
    return ((1 + b2) * precision * recall / (b2 * precision + recall + eps)).mean()


def fbeta(preds, targets, beta=2.0, thresh=0.2):
    """F-beta of raw model outputs (logits; a sigmoid is applied first) against multi-hot targets."""
    return fbeta_from_probs(torch.sigmoid(preds.float()), targets, beta, thresh)


def f2(preds, targets):
    """F2 at threshold 0.2 on logits: the Planet lesson's metric."""
    return fbeta(preds, targets, 2.0, 0.2)


def accuracy_multi(preds, targets, thresh=0.5):
    """Fraction of (item, tag) decisions that are right, on logits: the multi-label accuracy."""
    return ((torch.sigmoid(preds.float()) > thresh).float() == targets.float()).float().mean()


def best_threshold(probs, targets, beta=2.0, thresholds=None):
    """The single threshold on probabilities that maximises F-beta: returns (threshold, score)."""
    thresholds = torch.arange(0.05, 0.96, 0.01) if thresholds is None else torch.as_tensor(thresholds)
    scores = torch.stack([fbeta_from_probs(probs, targets, beta, float(t)) for t in thresholds])
    i = int(scores.argmax())
    return float(thresholds[i]), float(scores[i])
