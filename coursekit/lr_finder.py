"""The learning-rate finder: a callback that sweeps the lr upwards during a short fit, and the result that
plots the sweep and suggests a rate. ``Learner.lr_find`` runs it and puts the weights back."""

import copy
import math

from coursekit.callbacks import Callback, CancelFitException, CancelValidException
from coursekit.core import ema
from coursekit.schedule import exp_anneal


class LRFinder(Callback):
    """Raises the lr exponentially each batch, records the loss, and stops when it diverges.

    The learner's weights and optimizer state are saved before and put back by ``restore``, so running it
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
        smooth = ema(self.losses)[-1]
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


class LRFindResult:
    """The lr finder's sweep: learning rates, losses, and a suggested rate.

    ``lr_min`` is ten times below the rate of lowest (smoothed) loss, the 2018 rule of thumb;
    ``lr_steep`` is where the smoothed loss falls fastest, measured over a window of points so that
    batch-to-batch noise at the start does not win. The suggestion is ``lr_steep``, capped by ``lr_min``.
    """

    def __init__(self, lrs, losses, skip_end=3):
        self.lrs, self.losses = list(lrs), list(losses)
        self.smoothed = ema(self.losses)
        n = len(self.lrs)
        if n < 4:
            self.lr_min = self.lr_steep = self.suggestion = self.lrs[0] if self.lrs else float("nan")
            return
        i_min = min(range(max(n - skip_end, 1)), key=lambda i: self.smoothed[i])
        self.lr_min = self.lrs[i_min] / 10
        w = max(1, n // 10)  # window for the slope
        start = min(n // 10, max(i_min - w, 0))
        slopes = {
            i: (self.smoothed[i + w] - self.smoothed[i]) / math.log(self.lrs[i + w] / self.lrs[i])
            for i in range(start, max(i_min - w + 1, start + 1))
            if i + w < n
        }
        i_steep = min(slopes, key=slopes.get) + w // 2 if slopes else 0
        self.lr_steep = self.lrs[i_steep]
        self.suggestion = min(self.lr_steep, self.lr_min)

    def plot(self, ax=None):
        """Loss against learning rate on a log axis, with both readings marked (a lesson may use either one)."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(6, 4))[1]
        ax.plot(self.lrs, self.losses, alpha=0.3, label="loss")
        ax.plot(self.lrs, self.smoothed, label="smoothed")
        for lr, name, style in ((self.lr_min, "minimum/10", "--"), (self.lr_steep, "steepest", ":")):
            tag = " (the suggestion)" if lr == self.suggestion else ""
            ax.axvline(lr, color="red", linestyle=style, label=f"{name} {lr:.1e}{tag}")
        ax.set_xscale("log"), ax.set_xlabel("learning rate (log scale)"), ax.set_ylabel("loss")
        if self.smoothed:  # the divergence at the end would squash the interesting part
            low, high = min(self.smoothed), max(self.smoothed[0], self.smoothed[len(self.smoothed) // 2])
            ax.set_ylim(low - 0.1 * (high - low), high + 0.5 * (high - low))
        ax.legend()
        return ax

    def plot_lr(self, ax=None):
        """The learning rate at each step of the sweep: it grows exponentially, a straight line on a log axis."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(6, 3))[1]
        ax.plot(range(1, len(self.lrs) + 1), self.lrs)
        ax.set_yscale("log"), ax.set_xlabel("step (one batch each)"), ax.set_ylabel("learning rate (log scale)")
        return ax

    def __repr__(self):
        return (
            f"LRFindResult({len(self.lrs)} steps; minimum/10 = {self.lr_min:.2e}, "
            f"steepest = {self.lr_steep:.2e}; suggestion = {self.suggestion:.2e})"
        )
