"""Callbacks that watch one recorded value from epoch to epoch: keep the best model, stop when it stalls.

``monitor`` names a column of the Recorder (``"valid_loss"``, ``"accuracy"``, ...). Whether lower or higher is
better follows from the name (losses, errors, RMSE and perplexity go down; the rest go up) unless ``mode`` says.
They run after the Recorder has the epoch's values and the progress table has shown them.
"""

import math

from coursekit.callbacks import Callback, CancelFitException

LOWER_IS_BETTER = ("loss", "error", "rmse", "rmspe", "perplexity", "mae", "mse")


class TrackerCallback(Callback):
    """Keeps the best value of ``monitor`` seen in this fit (``best``, ``best_epoch``)."""

    order = 110  # after the Recorder (90) and the progress display (100)

    def __init__(self, monitor="valid_loss", mode="auto", min_delta=0.0):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', not {mode!r}.")
        if mode == "auto":
            mode = "min" if any(word in monitor.lower() for word in LOWER_IS_BETTER) else "max"
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(min_delta)

    def before_fit(self, learn):
        names = ["train_loss", "valid_loss"] + learn.recorder.metric_columns
        if self.monitor not in names:
            raise KeyError(
                f"{type(self).__name__} monitors {self.monitor!r}, but this Learner records {names}: "
                "pass one of those as monitor= (a metric's name is its function's name)."
            )
        self.best, self.best_epoch = None, None

    def improved(self, value):
        """Whether ``value`` beats the best so far by more than ``min_delta`` (NaN never does)."""
        if not math.isfinite(value):
            return False
        if self.best is None:
            return True
        return value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta

    def after_epoch(self, learn):
        value = learn.recorder.last_metrics[self.monitor]
        if self.improved(value):
            self.best, self.best_epoch = value, learn.epoch
            self.on_improvement(learn)
        else:
            self.on_no_improvement(learn)

    def on_improvement(self, learn):
        pass

    def on_no_improvement(self, learn):
        pass

    def __repr__(self):
        return f"{type(self).__name__}({self.monitor!r}, {self.mode})"


class EarlyStopping(TrackerCallback):
    """Stop the fit after ``patience`` epochs in a row without improvement of ``monitor``. A schedule such as
    one-cycle then ends early, at the rate it had reached."""

    def __init__(self, monitor="valid_loss", mode="auto", min_delta=0.0, patience=1):
        super().__init__(monitor, mode, min_delta)
        self.patience = patience

    def before_fit(self, learn):
        super().before_fit(learn)
        self.wait, self.stopped_epoch = 0, None

    def on_improvement(self, learn):
        self.wait = 0

    def on_no_improvement(self, learn):
        self.wait += 1
        if self.wait >= self.patience and learn.epoch < learn.n_epochs - 1:
            self.stopped_epoch = learn.epoch
            print(
                f"No improvement in {self.monitor} for {self.wait} epoch(s) (best {self.best:.4f} after epoch "
                f"{self.best_epoch + 1}): stopping early after epoch {learn.epoch + 1} of {learn.n_epochs}."
            )
            raise CancelFitException()


class SaveBestModel(TrackerCallback):
    """Save the model (``learn.save(name)``) each time ``monitor`` improves; at the end of the fit, load the
    best weights back (``reload=True``), so the model is the best one seen, not the last."""

    def __init__(self, monitor="valid_loss", mode="auto", min_delta=0.0, name="best", reload=True):
        super().__init__(monitor, mode, min_delta)
        self.name, self.reload = name, reload

    def on_improvement(self, learn):
        learn.save(self.name)  # written through a temporary file: a save cut short keeps the last good one

    def after_fit(self, learn):
        if self.reload and self.best_epoch is not None and self.best_epoch != learn.epoch:
            learn.load(self.name)
            print(f"Loaded the best model, from epoch {self.best_epoch + 1} ({self.monitor} {self.best:.4f}).")
