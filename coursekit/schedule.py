"""The anneal curves every schedule is made of: pure functions from a start value, an end value and the fraction
``pct`` (0 to 1) of the way between them.

``phases`` builds one-cycle, SGDR and any other schedule from them (a ``Phase`` names its curve: ``"cos"``,
``"linear"``, ``"exp"``); the lr finder sweeps with ``exp_anneal``.
"""

import math


def cos_anneal(start, end, pct):
    """Cosine interpolation from ``start`` (pct=0) to ``end`` (pct=1)."""
    return end + (start - end) / 2 * (1 + math.cos(math.pi * pct))


def lin_anneal(start, end, pct):
    """Linear interpolation from ``start`` to ``end``."""
    return start + (end - start) * pct


def exp_anneal(start, end, pct):
    """Exponential interpolation (straight on a log axis), as the lr finder sweeps."""
    return start * (end / start) ** pct
