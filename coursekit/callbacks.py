"""Callbacks: the training events, cancel exceptions, and the small callbacks the loop is built from.

A callback is a small class whose methods are named after events and receive the learner:
``def after_batch(self, learn): ...``. A method whose name looks like an event but is not one
(``after_bacth``) is an error when the class is defined, so a typo cannot silently do nothing.
The Recorder lives in ``recorder``, the progress bar in ``progress``, the lr finder in ``lr_finder``, the NaN
check in ``divergence``, and the callbacks that gather and flip predictions in ``prediction``.
"""

import torch

from coursekit.core import to_device

BN_TYPES = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)
STAGES = ("fit", "epoch", "train", "valid", "batch")
EVENTS = tuple(f"{when}_{stage}" for stage in STAGES for when in ("before", "after")) + (
    "after_pred",
    "after_loss",
    "after_backward",
    "after_step",
)


class CancelFitException(Exception):
    """Raise in a callback to stop training; ``after_fit`` still runs."""


class CancelEpochException(Exception):
    """Skip the rest of this epoch; ``after_epoch`` still runs."""


class CancelTrainException(Exception):
    """Skip the rest of this epoch's training pass; ``after_train`` still runs."""


class CancelValidException(Exception):
    """Skip this epoch's validation pass; ``after_valid`` still runs."""


class CancelBatchException(Exception):
    """Skip the rest of this batch (no loss/backward/step); ``after_batch`` still runs."""


CANCEL = {
    "fit": CancelFitException,
    "epoch": CancelEpochException,
    "train": CancelTrainException,
    "valid": CancelValidException,
    "batch": CancelBatchException,
}


class NaNLossError(FloatingPointError):
    """Training diverged: the loss became NaN or infinite or exploded, or the weights were already broken."""


class Callback:
    """Base class: set ``order`` (lower runs first) and define methods named after events."""

    order = 0

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in vars(cls):
            if name.startswith(("before_", "after_")) and name not in EVENTS:
                raise AttributeError(
                    f"{cls.__name__}.{name} is not a training event; the events are: " + ", ".join(EVENTS)
                )

    def __repr__(self):
        return f"{type(self).__name__}(order={self.order})"


class DeviceCallback(Callback):
    """The one place that moves things to ``learn.device``: the model (and any optimizer state loaded while it
    was elsewhere) before fitting, the model again before a validation or prediction pass (a no-op when it is
    there already), a loss that is a module holding weights or buffers (a perceptual loss's feature network)
    with it, and each batch's inputs and targets before the batch."""

    order = -10

    def before_fit(self, learn):
        self.before_valid(learn)
        if learn.opt is not None:
            _optimizer_state_to_params(learn.opt)

    def before_valid(self, learn):
        learn.model.to(learn.device)
        if isinstance(learn.loss_func, torch.nn.Module):
            learn.loss_func.to(learn.device)

    def before_batch(self, learn):
        learn.xb, learn.yb = to_device(learn.xb, learn.device), to_device(learn.yb, learn.device)


def _optimizer_state_to_params(opt):
    # A loaded optimizer state sits where the parameters were at load time; it must follow them. PyTorch
    # keeps the scalar step counter on the CPU unless the optimizer is capturable or fused.
    for group in opt.param_groups:
        step_on_cpu = not (group.get("capturable") or group.get("fused"))
        for p in group["params"]:
            state = opt.state.get(p, {})
            for k, v in state.items():
                if isinstance(v, torch.Tensor) and v.device != p.device and not (k == "step" and step_on_cpu):
                    state[k] = v.to(p.device)


class TrainEvalCallback(Callback):
    """Counts training steps and switches the model between ``train()`` and ``eval()`` mode (frozen BatchNorm stays
    in ``eval()`` with ``train_bn=False``)."""

    order = -5

    def before_fit(self, learn):
        learn.n_iter = 0

    def before_train(self, learn):
        learn.model.train()
        if not learn.train_bn:
            for m in learn.frozen_bn():  # frozen BatchNorm keeps its pretrained statistics
                m.eval()

    def before_valid(self, learn):
        learn.model.eval()

    def after_batch(self, learn):
        if learn.training:
            learn.n_iter += 1


class KeepBNStats(Callback):
    """Every BatchNorm layer keeps its running statistics during the fit (evaluation mode) while its weights
    train: for a small dataset whose batches would move a pretrained body's statistics away from what its
    weights expect (2018's ``bn_freeze``)."""

    order = -4  # after TrainEvalCallback's train()

    def before_train(self, learn):
        for m in learn.model.modules():
            if isinstance(m, BN_TYPES):
                m.eval()


def format_lr(lr):
    """A learning rate as a person would type it: ``1.0e-03``, ``slice(1.0e-05, 1.0e-03)``, ``[...]``."""
    if isinstance(lr, slice):
        return f"slice({format_lr(lr.start) + ', ' if lr.start is not None else ''}{format_lr(lr.stop)})"
    if isinstance(lr, (list, tuple)):
        return "[" + ", ".join(format_lr(x) for x in lr) + "]"
    return f"{lr:.1e}" if isinstance(lr, (int, float)) else repr(lr)
