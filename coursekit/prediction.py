"""Prediction: what the validation loop needs to give answers instead of a loss. Callbacks that gather and
flip predictions, the activation read from the loss, per-item losses, a one-batch loader for a single item,
and decoding one output into a label or a value."""

import copy

import torch
import torch.nn.functional as F
from torch import nn

from coursekit.callbacks import Callback
from coursekit.core import to_cpu
from coursekit.metrics import MULTI_LABEL_THRESHOLD


def output_kind(loss_func):
    """What the outputs mean, read from the loss: 'single_label' (cross-entropy), 'multi_label' (binary
    cross-entropy on logits) or 'other' (regression, or a loss coursekit does not know)."""
    if isinstance(loss_func, nn.CrossEntropyLoss) or loss_func is F.cross_entropy:
        return "single_label"
    if isinstance(loss_func, nn.BCEWithLogitsLoss) or loss_func is F.binary_cross_entropy_with_logits:
        return "multi_label"
    return "other"


def activation_for(loss_func):
    """The activation that turns raw outputs into what the loss compares: softmax, sigmoid or nothing."""
    kind = output_kind(loss_func)
    if kind == "single_label":
        return lambda x: F.softmax(x.float(), dim=1)
    if kind == "multi_label":
        return lambda x: torch.sigmoid(x.float())
    return lambda x: x


def per_item_loss(loss_func):
    """``f(preds, targets)`` -> one loss per item (averaged over pixels or positions), from a torch loss module."""
    if isinstance(loss_func, nn.Module) and hasattr(loss_func, "reduction"):
        lf = copy.copy(loss_func)
        lf.reduction = "none"
        return lambda out, y: lf(out, y).reshape(len(y), -1).mean(dim=1)
    raise TypeError("with_loss needs a torch.nn loss module (one with a 'reduction' attribute).")


class OneBatch:
    """A loader of a single batch of inputs and no targets: how ``predict`` runs one item through the loop."""

    def __init__(self, xb):
        self.xb, self.n_inp = tuple(xb), len(xb)

    def __iter__(self):
        yield self.xb

    def __len__(self):
        return 1


class GatherPreds(Callback):
    """Collects each batch's predictions (through ``act``), targets and optionally per-item losses, on the CPU.

    It reads ``learn.preds`` after the batch, so whatever other callbacks did to them is what it keeps.
    """

    order = 95

    def __init__(self, act=None, item_loss=None):
        self.act, self.item_loss = act or (lambda x: x), item_loss
        self.preds, self.targets, self.losses = [], [], []

    def before_valid(self, learn):
        self.preds, self.targets, self.losses = [], [], []

    def after_batch(self, learn):
        if learn.preds is None:  # the batch was cancelled before the model ran
            return
        self.preds.append(to_cpu(self.act(learn.preds.float())))
        if learn.yb:
            self.targets.append(to_cpu(learn.yb))
            if self.item_loss is not None:
                self.losses.append(to_cpu(self.item_loss(learn.preds.float(), *learn.yb)))

    def result(self, with_loss=False):
        """``(preds, targets)``, or ``(preds, targets, losses)``; targets are None when the loader had none."""
        if not self.preds:
            raise RuntimeError(
                "No batch was predicted: the loader is empty, or a callback cancelled the "
                "validation stage or every batch."
            )
        targets = [torch.cat(col) for col in zip(*self.targets)] if self.targets else [None]
        out = (torch.cat(self.preds), targets[0] if len(targets) == 1 else tuple(targets))
        return out + (torch.cat(self.losses),) if with_loss else out


class OutputSizeCheck(Callback):
    """Checks, at the first batch of each training or validation pass, that a classifier gives one output per
    class: the model's outputs (dimension 1) against the dataset's ``classes``, when the loss is cross-entropy
    or binary cross-entropy on logits. A mismatch otherwise shows up as an index error deep in the loss, a
    CUDA assert, or silently wasted outputs."""

    order = 5

    def __init__(self):
        self.pending = True  # the next batch's outputs are to be checked

    def before_train(self, learn):
        self.pending = True

    def before_valid(self, learn):
        self.pending = True

    def after_pred(self, learn):
        if not self.pending:
            return
        self.pending = False
        kind = output_kind(learn.loss_func)
        ds = getattr(learn.dl, "dataset", None)
        if ds is None and learn.dls is not None:  # predict's one-item loader: the validation set's classes
            ds = learn.dls.valid_ds
        classes = getattr(ds, "classes", None)
        if kind == "other" or classes is None or not isinstance(learn.preds, torch.Tensor) or learn.preds.dim() < 2:
            return
        n_out, n_classes = learn.preds.shape[1], len(classes)
        if n_out != n_classes:
            loss = getattr(learn.loss_func, "__name__", type(learn.loss_func).__name__)
            raise ValueError(
                f"The model gives {n_out} outputs per item but the {type(ds).__name__} has {n_classes} "
                f"classes; with {loss} it needs one output per class. Build the model with "
                f"n_out=dls.c ({n_classes}), e.g. models.cnn_model(arch, n_out=dls.c)."
            )


class FlipTTA(Callback):
    """Predicts on horizontally flipped inputs and flips the predictions back: TTA for per-pixel outputs."""

    def before_batch(self, learn):
        # images are (bs, channels, height, width): flip the last dimension; other inputs stay as they are
        learn.xb = tuple(x.flip(-1) if x.dim() >= 3 else x for x in learn.xb)

    def after_pred(self, learn):
        learn.preds = learn.preds.flip(-1)


def decode_output(out, kind, classes=None, thresh=MULTI_LABEL_THRESHOLD):
    """One item's activated output as an answer: ``(label, index, probabilities)`` for a classifier (``kind``
    from ``output_kind``, or a dataset with ``classes``); multi-label gives the tags above ``thresh`` and their
    indices, per-pixel outputs (n_classes, H, W) a mask of class indices as label and index. Anything else is
    ``(value, None, output)``, the value a float when the output is one number."""
    if kind == "multi_label":
        idx = (out > thresh).nonzero().flatten()
        return ([classes[i] for i in idx] if classes is not None else idx.tolist()), idx, out
    if kind == "single_label" or classes is not None:
        idx = out.argmax(dim=0)
        if idx.dim():  # one class per pixel
            return idx, idx, out
        return (classes[int(idx)] if classes is not None else int(idx)), int(idx), out
    return (out.item() if out.numel() == 1 else out), None, out
