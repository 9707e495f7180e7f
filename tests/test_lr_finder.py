import math

import pytest
import torch

from coursekit.core import ema
from coursekit.lr_finder import LRFindResult
from coursekit.schedule import exp_anneal


def test_lr_find_restores_weights_and_optimizer_and_suggests(synth_learner):
    learn = synth_learner()
    learn.fit(1)
    before = {k: v.clone() for k, v in learn.model.state_dict().items()}
    opt_before = {id(p): {k: v.clone() for k, v in s.items()} for p, s in learn.opt.state.items()}
    result = learn.lr_find(num_it=30, show_plot=False)
    after = learn.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(torch.equal(opt_before[id(p)][k], v) for p, s in learn.opt.state.items() for k, v in s.items())
    assert 5 <= len(result.lrs) <= 30
    assert all(b > a for a, b in zip(result.lrs, result.lrs[1:]))  # exponential sweep upwards
    assert result.lrs[0] == pytest.approx(1e-7)
    assert 1e-7 < result.suggestion < 10


def test_lr_find_stops_when_the_loss_diverges(synth_learner):
    learn = synth_learner()
    result = learn.lr_find(start_lr=1e-3, end_lr=1e6, num_it=100, show_plot=False)
    assert len(result.lrs) < 100


def test_lr_find_shows_no_progress_and_keeps_its_callbacks(synth_learner, capsys):
    learn = synth_learner()
    before = list(learn.cbs)
    learn.lr_find(num_it=10, show_plot=False)
    assert learn.cbs == before and capsys.readouterr().out == ""


def known_curve(lr):
    """A loss that falls fastest at lr 1e-3 (a logistic step in log10(lr)), is flat near its minimum around
    lr 1e-1, and climbs quadratically (in log10(lr)) after it."""
    t = math.log10(lr)
    return 2 - 1.5 / (1 + math.exp(-3 * (t + 3))) + 3 * max(0.0, t + 1) ** 2


@pytest.mark.parametrize("n", [30, 100])
def test_suggestion_rule_on_a_known_curve(n):
    lrs = [exp_anneal(1e-7, 10, i / (n - 1)) for i in range(n)]
    result = LRFindResult(lrs, [known_curve(lr) for lr in lrs])
    assert result.smoothed == ema(result.losses)
    # lr_min: a tenth of the rate at the smoothed curve's lowest point (the last points, where it diverges, left out)
    i_min = min(range(n - 3), key=lambda i: result.smoothed[i])
    assert result.lr_min == pytest.approx(lrs[i_min] / 10)
    # the causal smoothing lags the raw curve: both land a little after the true points (under a decade late)
    assert 1e-1 / 10 <= result.lr_min < 10**-0.5
    assert 1e-3 <= result.lr_steep < 10**-2.25
    assert result.suggestion == min(result.lr_steep, result.lr_min)


def test_suggestion_from_a_short_sweep_is_its_first_rate():
    result = LRFindResult([1e-5, 1e-4, 1e-3], [1.0, 0.9, 5.0])
    assert result.suggestion == result.lr_min == result.lr_steep == 1e-5
    assert "suggestion" in repr(result)


def test_plot_lr_draws_the_rate_of_every_step_on_a_log_axis():
    import matplotlib

    matplotlib.use("Agg")
    lrs = [1e-7 * 10 ** (i / 4) for i in range(20)]
    ax = LRFindResult(lrs, [1.0] * 20).plot_lr()
    x, y = ax.lines[0].get_data()
    assert list(x) == list(range(1, 21)) and list(y) == lrs and ax.get_yscale() == "log"


def test_the_plot_marks_both_readings_and_says_which_is_the_suggestion():
    import matplotlib

    matplotlib.use("Agg")
    lrs = [exp_anneal(1e-7, 10, i / 99) for i in range(100)]
    result = LRFindResult(lrs, [known_curve(lr) for lr in lrs])
    ax = result.plot()
    marks = {line.get_label(): line.get_xdata()[0] for line in ax.get_lines()[2:]}
    assert sorted(marks.values()) == sorted([result.lr_min, result.lr_steep])
    labels = [label for label in marks if label.endswith("(the suggestion)")]
    assert len(labels) == 1 and marks[labels[0]] == result.suggestion  # lesson 1 uses lr_min: its line is there
