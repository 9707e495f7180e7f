"""The anneal curves every schedule is made of, and the plot of the schedule a fit followed."""

import math

import pytest

from coursekit.schedule import cos_anneal, exp_anneal, lin_anneal


def test_annealers_hit_their_ends():
    assert cos_anneal(1, 0, 0) == 1 and cos_anneal(1, 0, 1) == pytest.approx(0)
    assert cos_anneal(1, 0, 0.5) == pytest.approx(0.5)
    assert exp_anneal(1e-7, 10, 0.5) == pytest.approx(math.sqrt(1e-6))
    assert lin_anneal(2, 4, 0.25) == 2.5


def test_plot_sched_shows_one_cycles_rate_rising_then_falling_and_momentum_the_other_way(synth_learner):
    import matplotlib

    matplotlib.use("Agg")
    learn = synth_learner()
    learn.fit_one_cycle(2, 1e-2)
    lr_ax, mom_ax = learn.recorder.plot_sched().axes
    lrs, moms = list(lr_ax.lines[0].get_ydata()), list(mom_ax.lines[0].get_ydata())
    peak = lrs.index(max(lrs))
    assert 0 < peak < len(lrs) - 1 and moms.index(min(moms)) == peak  # momentum lowest where the rate peaks
