import math

import pytest

from coursekit.schedule import (
    cos_anneal,
    cycle_starts,
    exp_anneal,
    one_cycle_momentum,
    one_cycle_schedule,
    sgdr_lengths,
    sgdr_schedule,
)


def test_annealers_hit_their_ends():
    assert cos_anneal(1, 0, 0) == 1 and cos_anneal(1, 0, 1) == pytest.approx(0)
    assert cos_anneal(1, 0, 0.5) == pytest.approx(0.5)
    assert exp_anneal(1e-7, 10, 0.5) == pytest.approx(math.sqrt(1e-6))


def test_one_cycle_peaks_at_lr_max_and_ends_far_below():
    f = one_cycle_schedule(100, 1e-2, pct_start=0.25)
    lrs = [f(i) for i in range(100)]
    assert lrs[0] == pytest.approx(1e-2 / 25)
    assert max(lrs) == pytest.approx(1e-2)
    assert lrs.index(max(lrs)) == 24
    assert lrs[-1] == pytest.approx(1e-2 / 25 / 1e4)
    moms = one_cycle_momentum(100, pct_start=0.25)
    assert moms(0) == pytest.approx(0.95) and moms(24) == pytest.approx(0.85) and moms(99) == pytest.approx(0.95)


def test_sgdr_cycle_lengths_and_restarts():
    assert sgdr_lengths(3, 1, 2) == [1, 2, 4]
    assert cycle_starts(3, 1, 2) == [0, 1, 3]
    f = sgdr_schedule(3, 0.1, steps_per_epoch=10, cycle_len=1, cycle_mult=2)
    assert f(69) < 0.001 and f(70) == 0.0  # 70 steps in all, then lr_min
    assert [f(s) for s in (0, 10, 30)] == [0.1, 0.1, 0.1]  # each cycle starts at the top
    assert f(9) < 0.01 and f(29) < 0.01


def test_plot_sched_shows_one_cycles_rate_rising_then_falling_and_momentum_the_other_way(synth_learner):
    import matplotlib

    matplotlib.use("Agg")
    learn = synth_learner()
    learn.fit_one_cycle(2, 1e-2)
    lr_ax, mom_ax = learn.recorder.plot_sched().axes
    lrs, moms = list(lr_ax.lines[0].get_ydata()), list(mom_ax.lines[0].get_ydata())
    peak = lrs.index(max(lrs))
    assert 0 < peak < len(lrs) - 1 and moms.index(min(moms)) == peak  # momentum lowest where the rate peaks
