"""The progress line of a download, and byte counts as a person reads them (``812.3 MB``).

Kept apart from ``downloads`` so that modules which only print sizes (``registry``, ``datasets``) import nothing else.
"""

import sys
import time


def format_size(n):
    """Bytes as a short human string: ``812.3 MB``."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


class Progress:
    """A download progress line: ``\\r`` updates on a terminal, at most ~6 lines in a log or notebook."""

    def __init__(self, name, total, out=None):
        self.name, self.total, self.out = name, total, out or sys.stdout
        self.start = self.last = time.time()
        self.tty = hasattr(self.out, "isatty") and self.out.isatty()
        self.next_quarter = 1  # non-tty: print at 25%, 50%, 75% (and the end) only

    def update(self, done, final=False):
        """Show ``done`` bytes so far (throttled unless ``final``)."""
        now = time.time()
        if not final:
            if self.tty and now - self.last < 0.2:
                return
            if not self.tty:
                if self.total:
                    if done < self.total * self.next_quarter / 4:
                        return
                    self.next_quarter = int(4 * done / self.total) + 1
                elif now - self.last < 30:  # unknown size: a line every 30 s
                    return
        self.last = now
        rate = done / max(now - self.start, 1e-6)
        total = f" of {format_size(self.total)}" if self.total else ""
        line = f"{self.name}: {format_size(done)}{total} at {format_size(rate)}/s"
        if self.tty:
            self.out.write("\r" + line.ljust(79) + ("\n" if final else ""))
        else:
            self.out.write(line + "\n")
        self.out.flush()
