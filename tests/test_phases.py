"""Training phases: SGDR and one-cycle as phase lists give the optimizer the same values step for step."""

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


@pytest.mark.parametrize("n_epochs, pct_start", [(2, 0.3), (3, 0.25), (1, 0.5)])
def test_one_cycle_as_phases_matches_fit_one_cycle_step_for_step(synth_learner, n_epochs, pct_start):
    a, b = synth_learner(), synth_learner()
    ref = run(a, lambda learn, cbs: learn.fit_one_cycle(n_epochs, 1e-2, pct_start=pct_start, cbs=cbs))
    spe = len(b.dls.train)
    ours = run(b, lambda learn, cbs: phases.fit(learn, phases.one_cycle_phases(n_epochs, spe, 1e-2, pct_start), cbs))
    assert ours.shape == ref.shape == (n_epochs * spe, 2, 2)  # steps, layer groups, (lr, momentum)
    assert torch.allclose(ours, ref, rtol=1e-9, atol=1e-15)
    for p, q in zip(a.model.parameters(), b.model.parameters()):  # so training went the same way too
        assert torch.allclose(p, q, atol=1e-6)


@pytest.mark.parametrize("n_cycles, cycle_len, cycle_mult", [(3, 1, 2), (2, 2, 1)])
def test_sgdr_as_phases_matches_fit_sgdr_step_for_step(synth_learner, n_cycles, cycle_len, cycle_mult):
    a, b = synth_learner(), synth_learner()
    ref = run(a, lambda learn, cbs: learn.fit_sgdr(n_cycles, 1e-2, cycle_len, cycle_mult, cbs=cbs))
    ours = run(b, lambda learn, cbs: phases.fit(learn, phases.sgdr_phases(n_cycles, 1e-2, cycle_len, cycle_mult), cbs))
    assert ours.shape == ref.shape and torch.allclose(ours, ref, rtol=1e-9, atol=1e-15)


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
