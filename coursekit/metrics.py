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
