"""The benchmarks' paired comparison (benchmarks/paired.py) against SciPy's paired t-test."""

import sys

import pytest
from scipy import stats

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import paired  # noqa: E402


def test_interval_agrees_with_scipys_paired_t_test():
    a = [0.85, 0.83, 0.88, 0.86, 0.84, 0.87, 0.82, 0.85]
    b = [0.86, 0.85, 0.87, 0.88, 0.86, 0.86, 0.85, 0.87]
    s = paired.paired(a, b)
    test = stats.ttest_rel(a, b)
    ci = test.confidence_interval(0.95)
    assert s["mean"] == pytest.approx(sum(x - y for x, y in zip(a, b)) / len(a))
    assert (s["low"], s["high"]) == pytest.approx((ci.low, ci.high))
    assert (s["low"] > 0 or s["high"] < 0) == (test.pvalue < 0.05)


def test_pairing_cancels_the_seeds_spread():
    # both sides move together with the seed: the difference is resolved although each side's spread is wide
    base = [0.80, 0.90, 0.84, 0.88, 0.82, 0.86]
    s = paired.paired([x + 0.01 for x in base], base)
    assert s["low"] > 0
    assert "first is better" in paired.verdict(s)


def test_stopping_rule_waits_for_the_minimum_then_for_a_narrow_interval():
    same = [0.85] * 14
    assert not paired.enough(same, same, min_seeds=15)
    noisy_a = [0.85 + (0.05 if i % 2 else -0.05) for i in range(15)]
    assert not paired.enough(noisy_a, [0.85] * 15, min_seeds=15, max_seeds=40, half_width=0.01)
    assert paired.enough(noisy_a, [0.85] * 15, min_seeds=15, max_seeds=15, half_width=0.01)
    assert paired.enough([0.85] * 15, [0.84] * 15, min_seeds=15, half_width=0.01)


def test_unequal_lengths_are_an_error():
    with pytest.raises(ValueError, match="one result per seed"):
        paired.paired([0.8, 0.9], [0.8])
