"""Paired comparisons of two contenders run on the same seeds: the mean of the per-seed differences, its standard
error and a 95% interval (Student's t), and a stopping rule that adds seeds until the interval is narrow enough.

Pairing matters: one run's accuracy on a few hundred validation images moves by about 2 points from seed to seed,
but both contenders see the same seed's data order and initial head, so much of that noise cancels in the
difference. The interval says whether a one-point gap is resolved: it is when the half-width is under a point.
"""

import math
import statistics

from scipy import stats


def paired(a, b):
    """Summary of ``a[i] - b[i]`` over the seeds: n, mean, sd, standard error, and the 95% t interval."""
    if len(a) != len(b):
        raise ValueError(f"paired() needs one result per seed on each side: got {len(a)} and {len(b)}.")
    diffs = [x - y for x, y in zip(a, b)]
    n = len(diffs)
    mean = statistics.mean(diffs)
    sd = statistics.stdev(diffs) if n > 1 else float("nan")
    se = sd / math.sqrt(n) if n > 1 else float("nan")
    half = stats.t.ppf(0.975, n - 1) * se if n > 1 else float("nan")
    return {"n": n, "mean": mean, "sd": sd, "se": se, "low": mean - half, "high": mean + half, "half": half}


def verdict(summary, unit=""):
    """One line: the mean difference with its interval, and what the interval says."""
    s = summary
    if not s["n"] > 1:
        return f"mean difference {s['mean']:+.2f}{unit} on one seed: no interval (run more seeds)"
    where = (
        "includes zero: no difference resolved"
        if s["low"] <= 0 <= s["high"]
        else "above zero: the first is better"
        if s["low"] > 0
        else "below zero: the second is better"
    )
    return (
        f"mean paired difference {s['mean']:+.2f}{unit} (se {s['se']:.2f}, sd {s['sd']:.2f}, {s['n']} seeds), "
        f"95% interval [{s['low']:+.2f}, {s['high']:+.2f}]: {where}"
    )


def enough(a, b, min_seeds=15, max_seeds=40, half_width=1.0):
    """The stopping rule: at least ``min_seeds``, then stop once the 95% interval's half-width is at most
    ``half_width`` (in the results' units), or at ``max_seeds``."""
    n = len(a)
    if n < min_seeds:
        return False
    return n >= max_seeds or paired(a, b)["half"] <= half_width
