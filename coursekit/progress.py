"""Progress during ``fit`` through fastprogress, the library of the 2018 course: in a notebook one live HTML
output (the epochs' bar, the table of per-epoch results, the current pass's bar) that ends as the table alone;
in a terminal a text bar above the table's lines; in a log (output that is not a terminal) the table's lines only.
"""

import contextlib
import io
import sys

from fastprogress import fastprogress as fp

from coursekit.callbacks import Callback
from coursekit.distributed import is_main

format_time = fp.format_time  # seconds as mm:ss, or h:mm:ss


def in_notebook():
    """True inside a Jupyter kernel (JupyterLab, classic notebook, or nbclient/nbval running headless)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def format_value(v):
    if isinstance(v, float):
        return f"{v:.6f}" if abs(v) < 1000 else f"{v:.1f}"
    return str(v)


def progress_bar(items, total, comment=""):
    """``items`` with a bar in a notebook or a terminal; as they are in a log, where a bar would only add noise."""
    if in_notebook():
        return fp.NBProgressBar(items, total=total, leave=False, comment=comment)
    if sys.stdout.isatty():
        bar = fp.ConsoleProgressBar(items, total=total, leave=False)
        bar.comment = comment
        return bar
    return items


class LossComment:
    """The bar's comment (``train loss 0.1234``). fastprogress formats it only when it redraws the bar, so the loss
    is read off the device a few times a second, not after every batch (``.item()`` makes a GPU wait)."""

    def __init__(self, learn, phase):
        self.learn, self.phase = learn, phase

    def __len__(self):
        return 1  # fastprogress shows a comment that is not empty

    def __str__(self):
        loss = self.learn.loss
        return self.phase if loss is None else f"{self.phase} loss {loss.item():.4f}"


class ProgressCallback(Callback):
    """A live bar over the epochs and over each pass's batches, and a table of losses, metrics and time per epoch."""

    order = 100
    mbar = pbar = None  # fastprogress's master bar (the epochs and the table) and the current pass's bar
    bar_class = None  # the class of a pass's bar where one is shown (a notebook or a terminal), else None

    def before_fit(self, learn):
        self.mbar = self.pbar = None
        if not is_main():  # one display in a data-parallel run
            return
        if in_notebook():
            self.mbar, self.bar_class = fp.NBMasterBar(range(learn.n_epochs)), fp.NBProgressBar
        else:  # fastprogress prints a test character and '\r' as it starts: not wanted in a log
            tty = sys.stdout.isatty()
            with contextlib.redirect_stdout(sys.stdout if tty else io.StringIO()):
                self.mbar = fp.ConsoleMasterBar(range(learn.n_epochs))
            self.bar_class = fp.ConsoleProgressBar if tty else None  # in a log, the table alone
        self.mbar.write(learn.recorder.columns, table=True)

    def before_epoch(self, learn):
        if self.mbar is not None:
            if self.mbar.main_bar.last_v is None:  # this fit's first epoch (a resumed fit starts past epoch 0)
                self.mbar.update(0)
            self.mbar.update(learn.epoch)

    def before_train(self, learn):
        self._start_pass(learn, "train")

    def before_valid(self, learn):
        self._start_pass(learn, "valid")

    def _start_pass(self, learn, phase):
        self.pbar = None
        if self.mbar is not None and self.bar_class is not None:
            self.pbar = self.bar_class(learn.dl, parent=self.mbar, leave=False)
            self.pbar.update_every, self.pbar.first_its = 0.5, 1  # a redraw every 0.5 s (fastprogress: 0.2 s, and
            # each of the first 5 batches), which costs a small model's fit a few percent
            self.pbar.comment = phase
            self.pbar.update(0)
            self.pbar.comment = LossComment(learn, phase)  # from the first batch on

    def after_batch(self, learn):
        if self.pbar is not None:
            self.pbar.update(learn.iter + 1)  # fastprogress redraws a few times a second at most

    def after_epoch(self, learn):
        if self.mbar is None or not learn.recorder.values:
            return
        last = learn.recorder.last_metrics
        row = {**last, "time": format_time(last["time"])}
        self.mbar.write([format_value(row[name]) for name in learn.recorder.columns], table=True)

    def after_fit(self, learn):
        if self.mbar is not None:  # None where before_fit was cancelled first, or in a process that is not the first
            self.mbar.on_iter_end()  # the bars go, the table stays
            self.mbar = self.pbar = None


class PassBar(Callback):
    """A bar for work outside ``fit``'s display: each pass of ``get_preds`` and TTA, or (``total=``) one bar over a
    whole sweep's training batches (the LR finder). It goes when the pass ends; nothing is shown in a log."""

    order = 100

    def __init__(self, label, total=None):
        self.label, self.total, self.bar, self.done = label, total, None, 0

    def _open(self, total):
        if in_notebook():
            self.bar = fp.NBProgressBar(range(total), total=total, leave=False)
        elif sys.stdout.isatty():
            self.bar = fp.ConsoleProgressBar(range(total), total=total, leave=False)
        else:
            return
        self.bar.update_every, self.bar.first_its = 0.5, 1
        self.bar.comment = self.label
        self.bar.update(0)

    def _close(self):
        if self.bar is not None:
            self.bar.on_iter_end()
            self.bar = None

    def before_fit(self, learn):
        if self.total is not None and is_main():
            self.done = 0
            self._open(self.total)

    def before_valid(self, learn):
        if self.total is None and is_main():
            self._open(len(learn.dl))

    def after_batch(self, learn):
        if self.bar is not None and (self.total is None or learn.training):
            self.done = learn.iter + 1 if self.total is None else self.done + 1
            self.bar.update(min(self.done, self.bar.total))

    def after_valid(self, learn):
        if self.total is None:
            self._close()

    def after_fit(self, learn):
        self._close()
