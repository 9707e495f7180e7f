"""Callbacks: the training events, cancel exceptions, and the callbacks every Learner uses.

A callback is a small class whose methods are named after events and receive the learner:
``def after_batch(self, learn): ...``. A method whose name looks like an event but is not one
(``after_bacth``) is an error when the class is defined, so a typo cannot silently do nothing.
"""
import copy
import math
import time

import torch

from coursekit.metrics import as_metric
from coursekit.progress import ProgressDisplay, format_time
from coursekit.schedule import exp_anneal

STAGES = ("fit", "epoch", "train", "valid", "batch")
EVENTS = tuple(f"{when}_{stage}" for stage in STAGES for when in ("before", "after")) + (
    "after_pred", "after_loss", "after_backward", "after_step")


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


CANCEL = {"fit": CancelFitException, "epoch": CancelEpochException, "train": CancelTrainException,
          "valid": CancelValidException, "batch": CancelBatchException}


class NaNLossError(FloatingPointError):
    """The training loss stopped being a finite number."""


class Callback:
    """Base class: set ``order`` (lower runs first) and define methods named after events."""
    order = 0

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in vars(cls):
            if name.startswith(("before_", "after_")) and name not in EVENTS:
                raise AttributeError(f"{cls.__name__}.{name} is not a training event; the events are: "
                                     + ", ".join(EVENTS))

    def __repr__(self):
        return f"{type(self).__name__}(order={self.order})"


class DeviceCallback(Callback):
    """Moves the model to the learner's device before fitting and each batch there."""
    order = -10

    def before_fit(self, learn):
        learn.model.to(learn.device)


class TrainEvalCallback(Callback):
    """Counts steps and switches the model between ``train()`` and ``eval()`` mode."""
    order = -5

    def before_fit(self, learn):
        learn.n_iter, learn.pct_train = 0, 0.0

    def before_train(self, learn):
        learn.model.train()

    def before_valid(self, learn):
        learn.model.eval()

    def after_batch(self, learn):
        if learn.training:
            learn.n_iter += 1
            learn.pct_train = learn.n_iter / max(learn.n_epochs * len(learn.dl), 1)


class NaNCheck(Callback):
    """Stops with a clear message the moment the training loss is NaN or infinite."""
    order = 50

    def after_loss(self, learn):
        if learn.training and not torch.isfinite(learn.loss).all():
            lrs = ", ".join(f"{g['lr']:.2e}" for g in learn.opt.param_groups)
            raise NaNLossError(
                f"The training loss became {learn.loss.item()} at epoch {learn.epoch}, batch {learn.iter} "
                f"(learning rates: {lrs}). No optimizer step was taken on this batch. Usual causes: a "
                f"learning rate that is too high (run learn.lr_find() and pick a lower one), or NaN/inf in "
                f"the inputs or targets. Reload a saved model with learn.load(...) or rebuild the learner.")


class Recorder(Callback):
    """Records per-batch loss and learning rate, and per-epoch losses, metrics and time."""
    order = 90

    def __init__(self, metrics=()):
        self.metrics = [as_metric(m) for m in metrics]
        self.losses, self.lrs, self.moms, self.values = [], [], [], []
        self.metric_names = ["epoch", "train_loss", "valid_loss"] + [m.name for m in self.metrics] + ["time"]

    def before_fit(self, learn):
        self.losses, self.lrs, self.moms, self.values = [], [], [], []
        self.smooth_loss, self.n_smooth = 0.0, 0

    def before_epoch(self, learn):
        self.start = time.time()
        self.train_total, self.train_count = 0.0, 0
        self.valid_total, self.valid_count = 0.0, 0
        self.ran_valid = False

    def before_valid(self, learn):
        self.ran_valid = True
        for m in self.metrics:
            m.reset()

    def after_batch(self, learn):
        if getattr(learn, "loss", None) is None:
            return
        n, loss = len(learn.yb[0]) if learn.yb else 1, learn.loss.item()
        if learn.training:
            self.losses.append(loss)
            self.lrs.append(learn.opt.param_groups[-1]["lr"])
            self.moms.append(_momentum(learn.opt.param_groups[-1]))
            self.train_total, self.train_count = self.train_total + loss * n, self.train_count + n
        else:
            self.valid_total, self.valid_count = self.valid_total + loss * n, self.valid_count + n
            for m in self.metrics:
                m.accumulate(learn.preds, *learn.yb)

    def after_epoch(self, learn):
        if not hasattr(self, "start"):
            return
        train_loss = self.train_total / self.train_count if self.train_count else float("nan")
        if self.ran_valid and self.valid_count:
            valid_loss = self.valid_total / self.valid_count
            metrics = [m.value for m in self.metrics]
        else:
            valid_loss, metrics = float("nan"), [float("nan")] * len(self.metrics)
        self.values.append([learn.epoch, train_loss, valid_loss] + metrics + [time.time() - self.start])

    @property
    def last_metrics(self):
        """The last epoch's results as a dict (``{'valid_loss': ..., 'accuracy': ...}``)."""
        return dict(zip(self.metric_names, self.values[-1])) if self.values else {}

    def history(self):
        """Per-epoch results as a pandas DataFrame."""
        import pandas as pd
        return pd.DataFrame(self.values, columns=self.metric_names).set_index("epoch")

    def plot_loss(self, skip_start=0, ax=None):
        """Training loss per batch (raw and smoothed) with validation loss at each epoch's end."""
        import matplotlib.pyplot as plt
        ax = ax or plt.subplots(figsize=(6, 4))[1]
        losses = self.losses[skip_start:]
        ax.plot(range(skip_start, len(self.losses)), losses, alpha=0.35, label="train (batch)")
        ax.plot(range(skip_start, len(self.losses)), _smooth(losses), label="train (smoothed)")
        if self.values and self.losses:
            per_epoch = len(self.losses) / len(self.values)
            xs = [per_epoch * (i + 1) for i in range(len(self.values))]
            ax.plot(xs, [v[2] for v in self.values], "o-", label="valid")
        ax.set_xlabel("batch"), ax.set_ylabel("loss"), ax.legend()
        return ax

    def plot_lr(self, ax=None):
        """The learning rate (of the last layer group) at every training batch."""
        import matplotlib.pyplot as plt
        ax = ax or plt.subplots(figsize=(6, 3))[1]
        ax.plot(self.lrs)
        ax.set_xlabel("batch"), ax.set_ylabel("learning rate")
        return ax

    def __repr__(self):
        return f"Recorder({len(self.values)} epochs, {len(self.losses)} batches, metrics={self.metric_names[3:-1]})"


def _momentum(group):
    if "betas" in group:
        return group["betas"][0]
    return group.get("momentum", float("nan"))


def _smooth(values, beta=0.98):
    """Exponentially weighted moving average with bias correction (as the lr finder plots)."""
    out, avg = [], 0.0
    for i, v in enumerate(values, 1):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta ** i))
    return out


class ProgressCallback(Callback):
    """Live progress bar and a per-epoch table of losses, metrics and time."""
    order = 100

    def before_fit(self, learn):
        self.display = ProgressDisplay()
        self.display.write_header(learn.recorder.metric_names)

    def before_train(self, learn):
        self.total, self.phase = len(learn.dl), "train"

    def before_valid(self, learn):
        self.total, self.phase = len(learn.dl), "valid"

    def after_batch(self, learn):
        loss = f"loss {learn.loss.item():.4f}" if getattr(learn, "loss", None) is not None else ""
        self.display.update(learn.iter + 1, self.total,
                            f"epoch {learn.epoch + 1}/{learn.n_epochs} {self.phase} {loss}")

    def after_epoch(self, learn):
        if getattr(self, "display", None) is None or not learn.recorder.values:
            return
        row = list(learn.recorder.values[-1])
        row[-1] = format_time(row[-1])
        self.display.write_row(row)

    def after_fit(self, learn):
        if getattr(self, "display", None) is not None:  # before_fit may have been cancelled first
            self.display.close()
            self.display = None


class ParamScheduler(Callback):
    """Sets each parameter group's lr (and optionally momentum) from schedules of the step number."""
    order = 10

    def __init__(self, lr_sched, mom_sched=None):
        self.lr_sched, self.mom_sched = lr_sched, mom_sched  # lr_sched(step) -> list, one per group

    def before_batch(self, learn):
        if not learn.training:
            return
        for group, lr in zip(learn.opt.param_groups, self.lr_sched(learn.n_iter)):
            group["lr"] = lr
            if self.mom_sched is not None:
                _set_momentum(group, self.mom_sched(learn.n_iter))


def _set_momentum(group, mom):
    if "betas" in group:
        group["betas"] = (mom, group["betas"][1])
    elif "momentum" in group:
        group["momentum"] = mom


class LRFinder(Callback):
    """Raises the lr exponentially each batch, records the loss, and stops when it diverges.

    The learner's weights and optimizer state are saved before and restored after, so running it
    never changes the model.
    """
    order = 20

    def __init__(self, start_lr=1e-7, end_lr=10, num_it=100, stop_div=True):
        self.start_lr, self.end_lr, self.num_it, self.stop_div = start_lr, end_lr, num_it, stop_div

    def before_fit(self, learn):
        self.saved = copy.deepcopy(learn.model.state_dict())
        self.saved_opt = copy.deepcopy(learn.opt.state_dict())
        self.lrs, self.losses, self.best = [], [], math.inf
        self.ratios = [g["lr"] / learn.opt.param_groups[-1]["lr"] for g in learn.opt.param_groups]

    def before_batch(self, learn):
        if not learn.training:
            return
        lr = exp_anneal(self.start_lr, self.end_lr, learn.n_iter / max(self.num_it - 1, 1))
        for group, ratio in zip(learn.opt.param_groups, self.ratios):
            group["lr"] = lr * ratio

    def after_loss(self, learn):
        if not learn.training:
            return
        loss = learn.loss.item()
        self.lrs.append(learn.opt.param_groups[-1]["lr"])
        self.losses.append(loss)
        smooth = _smooth(self.losses)[-1]
        self.best = min(self.best, smooth)
        if self.stop_div and (not math.isfinite(loss) or smooth > 4 * self.best):
            raise CancelFitException()
        if len(self.losses) >= self.num_it:
            raise CancelFitException()

    def before_valid(self, learn):
        raise CancelValidException()

    def restore(self, learn):
        learn.model.load_state_dict(self.saved)
        learn.opt.load_state_dict(self.saved_opt)
