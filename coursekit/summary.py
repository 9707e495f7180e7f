"""``learn.summary()``: each layer's output shape and parameter count, found by running one batch.

Forward hooks on every layer that has parameters of its own or no sub-layers record the shape of what it
returns; the batch runs in evaluation mode without gradients, so BatchNorm statistics are not changed.
"""

from dataclasses import dataclass

import torch

from coursekit.core import to_device
from coursekit.data import split_batch


@dataclass
class LayerRow:
    """One layer: its name in the model, its class, its output shape, its parameters."""

    name: str
    kind: str
    shape: tuple
    params: int
    trainable: bool


class ModelSummary:
    """The rows of a summary, printed as a table with totals."""

    def __init__(self, model_name, input_shapes, rows, total, trainable):
        self.model_name, self.input_shapes, self.rows = model_name, input_shapes, rows
        self.total, self.trainable = total, trainable

    def __repr__(self):
        head = ("layer", "type", "output shape", "params", "trainable")
        lines = [head] + [
            (
                r.name,
                r.kind,
                " x ".join(map(str, r.shape)),
                f"{r.params:,}",
                ("yes" if r.trainable else "no") if r.params else "",
            )
            for r in self.rows
        ]
        widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
        fmt = lambda line: "  ".join(
            c.rjust(w) if i == 3 else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths))
        ).rstrip()
        rule = "-" * len(fmt(head))
        inputs = ", ".join(" x ".join(map(str, s)) for s in self.input_shapes)
        return "\n".join(
            [f"{self.model_name} on input {inputs}", rule, fmt(head), rule]
            + [fmt(line) for line in lines[1:]]
            + [
                rule,
                f"total parameters: {self.total:,}; trainable: {self.trainable:,}; "
                f"frozen: {self.total - self.trainable:,}",
            ]
        )


def _shape(out):
    if isinstance(out, torch.Tensor):
        return tuple(out.shape)
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return tuple(out[0].shape)  # several outputs (an RNN's output and state): the first
    return ()


def model_summary(model, xb):
    """A ``ModelSummary`` of ``model`` on the inputs ``xb`` (a tuple of tensors, on the model's device)."""
    rows, hooks = [], []
    for name, m in model.named_modules():
        own = list(m.parameters(recurse=False))
        if own or not list(m.children()):
            if not name:  # the model itself is a leaf: one row for it
                name = type(m).__name__
            n = sum(p.numel() for p in own)
            trainable = any(p.requires_grad for p in own)

            def hook(mod, inp, out, name=name, n=n, trainable=trainable):
                rows.append(LayerRow(name, type(mod).__name__, _shape(out), n, trainable))

            hooks.append(m.register_forward_hook(hook))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(*xb)
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    return ModelSummary(type(model).__name__, [tuple(x.shape) for x in xb], rows, total, trainable)


def learner_summary(learn):
    """``model_summary`` of a Learner's model on the first batch of its training loader."""
    xb, _ = split_batch(next(iter(learn.dls.train)), learn.dls.train)
    learn.model.to(learn.device)
    return model_summary(learn.model, to_device(xb, learn.device))
