"""Training phases, coursekit's one scheduler: the anneals, one-cycle's phase boundary against fastai's formula and
PyTorch's OneCycleLR, data and optimizers that change between phases, and schedules that run to their end after
Precompute changed the data."""

import math

import pytest
import torch

from coursekit import phases
from coursekit.callbacks import Callback
from coursekit.phases import Phase
from tests.conftest import synthetic_dls


class OptimizerSpy(Callback):
    """What the optimizer holds at each training step, for every parameter group: (lr, momentum)."""

    def before_fit(self, learn):
        self.seen = []

    def after_backward(self, learn):  # just before the step uses them
        groups = learn.opt.param_groups
        self.seen.append([(g["lr"], g["betas"][0] if "betas" in g else g.get("momentum")) for g in groups])


def run(learn, how):
    spy = OptimizerSpy()
    how(learn, [spy])
    return torch.tensor(spy.seen, dtype=torch.float64)


def fastai_one_cycle(n, lr_max, pct, div=25.0, final_div=1e4):
    """fastai's ``fit_one_cycle`` lrs, step by step: ``combine_scheds([pct, 1 - pct], [SchedCos(lr_max/div, lr_max),
    SchedCos(lr_max, lr_max/div/final_div)])`` read at ``pos = step / n`` (fastai.callback.schedule, fastai 2.7;
    its ParamScheduler reads ``pct_train``, 0 at the first step and up by 1/n each step). fastai's own function
    when it is importable (benchmarks install it in .bench-site), else that formula written out."""
    try:
        from fastai.callback.schedule import SchedCos, combine_scheds
    except ImportError:
        cos = lambda a, b, p: b + (a - b) / 2 * (1 + math.cos(math.pi * p))
        f = lambda pos: (
            cos(lr_max / div, lr_max, pos / pct)
            if pos < pct
            else cos(lr_max, lr_max / div / final_div, (pos - pct) / (1 - pct))
        )
    else:
        f = combine_scheds([pct, 1 - pct], [SchedCos(lr_max / div, lr_max), SchedCos(lr_max, lr_max / div / final_div)])
    return [float(f(step / n)) for step in range(n)]


def one_cycle_lr(total_steps, pct_start):
    """PyTorch's ``OneCycleLR`` (lr 1e-2, momentum 0.95 -> 0.85 -> 0.95): [(lr, momentum)] of each step."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-2, momentum=0.9)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=total_steps, pct_start=pct_start)
    seen = []
    for _ in range(total_steps):
        seen.append((opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]))
        opt.step()
        sched.step()
    return seen


@pytest.mark.parametrize("n", [10, 8, 7, 3])
@pytest.mark.parametrize("pct", [0.25, 0.3])
def test_one_cycle_turns_at_step_pct_n_as_fastai_and_one_step_after_torch(n, pct):
    lrs, moms = phases.schedule_of(phases.one_cycle_phases(1, 1e-2, pct), steps_per_epoch=n)
    assert lrs == pytest.approx(fastai_one_cycle(n, 1e-2, pct), rel=1e-6)  # fastai's placement, step for step
    peak = lrs.index(max(lrs))
    # PyTorch's OneCycleLR over n + 1 steps, its peak (at step pct_start*total - 1) moved to step pct*n: these
    # are its first n steps, lr and momentum. Over n steps it turns one step earlier wherever pct*n is whole.
    ref = one_cycle_lr(n + 1, (pct * n + 1) / (n + 1))[:n]
    assert lrs == pytest.approx([lr for lr, _ in ref], rel=1e-9)
    assert moms == pytest.approx([m for _, m in ref], rel=1e-9)
    torch_lrs = [lr for lr, _ in one_cycle_lr(n, pct)]
    assert torch_lrs[-1] == pytest.approx(1e-2 / 25 / 1e4) and lrs[-1] > 1.01 * torch_lrs[-1]  # one step short
    if (n, pct) in ((10, 0.3), (8, 0.25)):  # pct*n whole: the peak is exactly lr_max, at step pct*n
        assert peak == round(pct * n) == torch_lrs.index(max(torch_lrs)) + 1 and lrs[peak] == pytest.approx(1e-2)


def test_fit_one_cycle_gives_the_optimizer_fastais_curve(synth_learner):
    learn = synth_learner()
    seen = run(learn, lambda learn, cbs: learn.fit_one_cycle(2, slice(1e-4, 1e-2), pct_start=0.25, cbs=cbs))
    n = 2 * len(learn.dls.train)
    assert seen.shape == (n, 2, 2)  # steps, layer groups, (lr, momentum)
    assert seen[:, 1, 0].tolist() == pytest.approx(fastai_one_cycle(n, 1e-2, 0.25), rel=1e-9)
    assert seen[:, 0, 0].tolist() == pytest.approx(fastai_one_cycle(n, 1e-4, 0.25), rel=1e-9)  # each group's own
    assert seen[0, 0, 1] == 0.95 and seen[n // 4, 0, 1] == pytest.approx(0.85)  # momentum the other way round


def test_one_cycle_needs_pct_start_between_0_and_1_and_some_epochs():
    with pytest.raises(ValueError, match="one cycle of 0 epochs: give it a positive number"):
        phases.one_cycle_phases(0, 1e-2)
    with pytest.raises(ValueError, match="pct_start=1.3.*between 0 and 1"):
        phases.one_cycle_phases(2, 1e-2, pct_start=1.3)
    assert [ph.name for ph in phases.one_cycle_phases(2, 1e-2, pct_start=0)] == ["annealing"]


def test_precompute_and_fit_one_cycle_run_the_whole_schedule_and_put_the_data_back(tmp_path):
    from tests.test_precompute import make

    from coursekit.precompute import Precompute

    learn = make(tmp_path)
    dls = learn.dls
    learn.fit_one_cycle(2, 1e-2, pct_start=0.25, cbs=Precompute())
    n = 2 * len(dls.train)
    assert len(learn.recorder.lrs) == n
    assert learn.recorder.lrs == pytest.approx(fastai_one_cycle(n, 1e-2, 0.25), rel=1e-9)
    assert learn.dls is dls  # the images again, not the activations: prediction runs the whole model
    learn.fit_one_cycle(1, 1e-2, pct_start=0.25)  # and a fit without Precompute trains on them
    assert len(learn.recorder.lrs) == len(dls.train)


def test_a_zero_length_phase_is_an_error_naming_it(synth_learner):
    plan = [Phase(1, lr=1e-2), Phase(0, lr=(1e-2, 1e-3), anneal="cos", name="cool-down")]
    with pytest.raises(ValueError, match=r"phase 1 of 2 \(cool-down\(0 epochs.*more than zero"):
        phases.fit(synth_learner(), plan)


def test_unknown_anneal_and_bad_exp_ends_are_errors():
    with pytest.raises(ValueError, match="unknown anneal 'cosine'"):
        phases.check_phases([Phase(1, lr=(1e-2, 1e-3), anneal="cosine")])
    with pytest.raises(ValueError, match="positive numbers"):
        phases.check_phases([Phase(1, lr=(1e-2, 0.0), anneal="exp")])


def test_each_anneal_goes_from_start_to_end():
    for anneal in ("linear", "cos", "exp"):
        lrs, moms = phases.schedule_of([Phase(1, lr=(1e-2, 1e-4), anneal=anneal, mom=(0.9, 0.8))], 100)
        assert lrs[0] == pytest.approx(1e-2) and 1e-4 < lrs[-1] < 2e-4  # one step short of the end
        assert all(b < a for a, b in zip(lrs, lrs[1:]))
        assert moms[0] == pytest.approx(0.9) and all(b <= a for a, b in zip(moms, moms[1:]))
    lrs, _ = phases.schedule_of([Phase(1, lr=(1e-2, 1e-4), anneal="exp")], 4)
    assert lrs == pytest.approx([1e-2, 10**-2.5, 1e-3, 10**-3.5])  # straight on a log axis
    lrs, moms = phases.schedule_of([Phase(0.5, lr=3e-3), Phase(1.5, lr=1e-3)], 10)
    assert lrs == [3e-3] * 5 + [1e-3] * 15 and moms == [None] * 20


def test_a_phase_can_bring_its_own_data_and_optimizer(synth_learner):
    learn = synth_learner()
    own, steps = synthetic_dls(n=512, bs=32, seed=1), []

    class Steps(Callback):
        def after_backward(self, learn):
            steps.append((len(learn.dls.train), type(learn.opt).__name__))

    sgd = lambda params, lr, weight_decay: torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    phases.fit(learn, [Phase(1, lr=1e-2), Phase(1, lr=1e-3, dls=own, opt_func=sgd, mom=0.8)], cbs=[Steps()])
    spe, spe_own = len(learn.dls.train), len(own.train)
    assert steps == [(spe, "AdamW")] * spe + [(spe_own, "SGD")] * spe_own
    assert learn.opt.param_groups[0]["momentum"] == 0.8 and learn.dls is not own  # the learner's data are back


def test_new_data_in_the_middle_of_an_epoch_is_an_error(synth_learner):
    own = synthetic_dls(n=512, bs=32, seed=1)
    with pytest.raises(ValueError, match="middle of an epoch"):
        phases.fit(synth_learner(), [Phase(0.5, lr=1e-2), Phase(1, lr=1e-3, dls=own)])


def test_a_fractional_last_phase_stops_training_inside_the_epoch(synth_learner):
    learn = synth_learner()
    phases.fit(learn, [Phase(1.5, lr=1e-2)])
    assert len(learn.recorder.lrs) == round(1.5 * len(learn.dls.train))
