"""The Recorder: per-batch training loss and learning rate, per-epoch losses, metrics and time, and plots.

Read its results by name: ``last_metrics`` (the last epoch, a dict), ``column("valid_loss")`` (one value per epoch)
or ``history()`` (a DataFrame). ``columns`` names the per-epoch table's columns: epoch, train_loss, valid_loss,
each metric's name, time; ``values`` holds its rows in that order, for displays that print the table.
"""

import time

import torch

from coursekit.callbacks import Callback
from coursekit.core import ema
from coursekit.metrics import as_metric


class Recorder(Callback):
    """Records per-batch loss and learning rate, and per-epoch losses, metrics and time."""

    order = 90

    def __init__(self, metrics=()):
        self.metrics = [as_metric(m) for m in metrics]
        self.losses, self.lrs, self.moms, self.values = [], [], [], []  # per batch (training), per epoch
        self.columns = ["epoch", "train_loss", "valid_loss"] + [m.name for m in self.metrics] + ["time"]
        self.start, self.ran_valid, self.pending = None, False, []  # the epoch under way
        self.train_total, self.train_count, self.valid_total, self.valid_count = 0.0, 0, 0.0, 0

    @property
    def metric_columns(self):
        """The metrics' names: the columns between the losses and the time."""
        return [m.name for m in self.metrics]

    def before_fit(self, learn):
        self.losses, self.lrs, self.moms, self.values, self.pending = [], [], [], [], []

    def before_epoch(self, learn):
        self.start = time.time()
        self.train_total, self.train_count = 0.0, 0
        self.valid_total, self.valid_count = 0.0, 0
        self.ran_valid, self.pending = False, []

    def before_valid(self, learn):
        self.ran_valid = True
        for m in self.metrics:
            m.reset()

    def after_batch(self, learn):
        if learn.loss is None:
            return
        # weighted by target elements: items for most models, tokens for a language model's (bs, seq) windows
        n = learn.yb[0].numel() if learn.yb else 1
        if learn.training:  # the loss stays on its device: read learn.sync_every batches' at once (a GPU waits)
            self.pending.append((learn.loss.detach().float(), n))
            self.lrs.append(learn.opt.param_groups[-1]["lr"])
            self.moms.append(_momentum(learn.opt.param_groups[-1]))
            if len(self.pending) >= learn.sync_every:
                self.flush()
        else:  # summed where the loss is; read once at the end of the epoch
            self.valid_total = self.valid_total + learn.loss.detach().float() * n
            self.valid_count += n
            for m in self.metrics:
                m.accumulate(learn.preds, *learn.yb)

    def flush(self):
        """Move the losses of the batches since the last read off the device, in one read."""
        if not self.pending:
            return
        losses = torch.stack([loss for loss, _ in self.pending]).tolist()
        self.losses += losses
        self.train_total += sum(loss * n for loss, (_, n) in zip(losses, self.pending))
        self.train_count += sum(n for _, n in self.pending)
        self.pending = []

    def after_train(self, learn):
        self.flush()

    def after_epoch(self, learn):
        self.flush()  # a cancelled training pass still counts what it did
        if self.start is None:  # the epoch was cancelled before the Recorder's before_epoch
            return
        train_loss = self.train_total / self.train_count if self.train_count else float("nan")
        if self.ran_valid and self.valid_count:
            valid_loss = float(self.valid_total / self.valid_count)
            metrics = [m.value for m in self.metrics]
        else:
            valid_loss, metrics = float("nan"), [float("nan")] * len(self.metrics)
        self.values.append([learn.epoch, train_loss, valid_loss] + metrics + [time.time() - self.start])

    @property
    def last_metrics(self):
        """The last epoch's results as a dict (``{'epoch': 2, 'train_loss': ..., 'valid_loss': ..., 'accuracy': ...,
        'time': ...}``); empty before the first epoch."""
        return dict(zip(self.columns, self.values[-1])) if self.values else {}

    def column(self, name):
        """One column of the per-epoch table as a list, one value per epoch: ``column("valid_loss")``."""
        if name not in self.columns:
            raise KeyError(f"The Recorder has no column {name!r}; its columns are {self.columns}.")
        i = self.columns.index(name)
        return [row[i] for row in self.values]

    def history(self):
        """Per-epoch results as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.values, columns=self.columns).set_index("epoch")

    def state_dict(self):
        """The history (per batch and per epoch), for checkpoints."""
        return {"losses": self.losses, "lrs": self.lrs, "moms": self.moms, "values": self.values}

    def load_state_dict(self, state):
        self.losses, self.lrs, self.moms, self.values = (list(state[k]) for k in ("losses", "lrs", "moms", "values"))

    def plot_loss(self, skip_start=0, ax=None, log=False):
        """Training loss per batch (raw and smoothed) with validation loss at each epoch's end; ``log=True`` for a
        log scale, where a loss that falls by orders of magnitude would otherwise look flat after its first drop."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(6, 4))[1]
        losses = self.losses[skip_start:]
        ax.plot(range(skip_start, len(self.losses)), losses, alpha=0.35, label="train (batch)")
        ax.plot(range(skip_start, len(self.losses)), ema(losses), label="train (smoothed)")
        if self.values and self.losses:
            per_epoch = len(self.losses) / len(self.values)
            xs = [per_epoch * (i + 1) for i in range(len(self.values))]
            ax.plot(xs, self.column("valid_loss"), "o-", label="valid")
        ax.set_xlabel("batch"), ax.set_ylabel("loss (log scale)" if log else "loss"), ax.legend()
        if log:
            ax.set_yscale("log")
        return ax

    def plot_lr(self, ax=None):
        """The learning rate (of the last layer group) at every training batch."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(6, 3))[1]
        ax.plot(self.lrs)
        ax.set_xlabel("batch"), ax.set_ylabel("learning rate")
        return ax

    def plot_sched(self):
        """Learning rate and momentum at every training batch, side by side (one-cycle moves them oppositely)."""
        import matplotlib.pyplot as plt

        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3))
        self.plot_lr(left)
        right.plot(self.moms)
        right.set_xlabel("batch"), right.set_ylabel("momentum (Adam's beta1)")
        fig.tight_layout()
        return fig

    def __repr__(self):
        return f"Recorder({len(self.values)} epochs, {len(self.losses)} batches, metrics={self.metric_columns})"


def _momentum(group):
    if "betas" in group:
        return group["betas"][0]
    return group.get("momentum", float("nan"))
