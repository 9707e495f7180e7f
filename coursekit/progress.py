"""Progress display: a live bar and table in JupyterLab, plain lines in a terminal or a log, and the
callback that feeds it during ``fit``.

In a notebook one display handle is updated in place (at most every ``refresh`` seconds), so an
executed notebook keeps only the final bar and table, whatever the number of batches.
"""

import sys
import time

from coursekit.callbacks import Callback
from coursekit.distributed import is_main


def in_notebook():
    """True inside a Jupyter kernel (JupyterLab, classic notebook, or nbclient/nbval running headless)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def format_time(seconds):
    """Seconds as ``mm:ss`` (or ``h:mm:ss``)."""
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def format_value(v):
    if isinstance(v, float):
        return f"{v:.6f}" if abs(v) < 1000 else f"{v:.1f}"
    return str(v)


class ProgressDisplay:
    """Shows a bar for the current pass over a loader plus a growing table of per-epoch results."""

    def __init__(self, refresh=0.5, out=None):
        self.refresh, self.out = refresh, out or sys.stdout
        self.notebook = in_notebook()
        self.tty = hasattr(self.out, "isatty") and self.out.isatty()
        self.header, self.rows = None, []
        self.handle, self.bar = None, ""
        self.last = 0.0

    # -- the table -------------------------------------------------------------------------
    def write_header(self, names):
        self.header = list(names)
        if not self.notebook:
            self._print_line(self._text_row(self.header))

    def write_row(self, values):
        row = [format_value(v) for v in values]
        self.rows.append(row)
        if self.notebook:
            self._show()
        else:
            self._clear_bar()
            self._print_line(self._text_row(row))

    def _text_row(self, cells):
        return "  ".join(f"{c:>12}" if i else f"{c:>5}" for i, c in enumerate(cells))

    # -- the bar ---------------------------------------------------------------------------
    def update(self, done, total, comment=""):
        """Report ``done`` of ``total`` steps; cheap to call every batch (``comment`` may be a function, called
        only when the bar is redrawn)."""
        now = time.time()
        if done < total and now - self.last < self.refresh:
            return
        self.last = now
        comment = comment() if callable(comment) else comment
        pct = done / max(total, 1)
        if self.notebook:
            self.bar = (
                f'<progress value="{done}" max="{total}" style="width:300px;height:12px"></progress> '
                f"{done}/{total} {comment}"
            )
            self._show()
        elif self.tty:
            filled = int(30 * pct)
            self.out.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} {comment}"[:120])
            self.out.flush()

    def close(self):
        """Remove the bar, keep the table."""
        self.bar = ""
        if self.notebook:
            self._show()
        else:
            self._clear_bar()

    # -- output helpers --------------------------------------------------------------------
    def _html(self):
        parts = []
        if self.header:
            head = "".join(f"<th>{h}</th>" for h in self.header)
            body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in self.rows)
            parts.append(
                f'<table class="dataframe" border="1"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
            )
        if self.bar:
            parts.append(f"<div>{self.bar}</div>")
        return "".join(parts)

    def _show(self):
        from IPython.display import HTML, display

        html = HTML(self._html())
        if self.handle is None:
            self.handle = display(html, display_id=True)
        else:
            self.handle.update(html)

    def _clear_bar(self):
        if self.tty:
            self.out.write("\r" + " " * 120 + "\r")
            self.out.flush()

    def _print_line(self, text):
        self.out.write(text + "\n")
        self.out.flush()


class ProgressCallback(Callback):
    """Live progress bar and a per-epoch table of losses, metrics and time."""

    order = 100

    def before_fit(self, learn):
        self.display = ProgressDisplay() if is_main() else None  # one display in a data-parallel run
        if self.display is not None:
            self.display.write_header(learn.recorder.metric_names)

    def before_train(self, learn):
        self.total, self.phase = len(learn.dl), "train"

    def before_valid(self, learn):
        self.total, self.phase = len(learn.dl), "valid"

    def after_batch(self, learn):
        if getattr(self, "display", None) is None:
            return

        def comment():  # read the loss only when the bar is redrawn: .item() waits for the GPU
            loss = f"loss {learn.loss.item():.4f}" if getattr(learn, "loss", None) is not None else ""
            return f"epoch {learn.epoch + 1}/{learn.n_epochs} {self.phase} {loss}"

        self.display.update(learn.iter + 1, self.total, comment)

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
