import math

import pytest
import torch
from torch import nn

from coursekit.callbacks import (Callback, CancelBatchException, CancelEpochException, CancelFitException,
                                 CancelTrainException, CancelValidException, NaNLossError)
from coursekit.metrics import accuracy


class EventLog(Callback):
    """Records every event it sees (all of them)."""

    def __init__(self):
        self.events = []

    def __getattr__(self, name):
        if name.startswith(("before_", "after_")):
            return lambda learn: self.events.append(name)
        raise AttributeError(name)


def batch_events(n):
    return ["before_batch", "after_pred", "after_loss", "after_backward", "after_step", "after_batch"] * n


def test_events_fire_in_order(synth_learner):
    learn, log = synth_learner(), EventLog()
    learn.fit(1, cbs=[log])
    n_train, n_valid = len(learn.dls.train), len(learn.dls.valid)
    valid_batch = ["before_batch", "after_pred", "after_loss", "after_batch"] * n_valid
    expected = (["before_fit", "before_epoch", "before_train"] + batch_events(n_train) + ["after_train", "before_valid"]
                + valid_batch + ["after_valid", "after_epoch", "after_fit"])
    assert log.events == expected


def test_misspelled_event_fails_when_the_class_is_defined():
    with pytest.raises(AttributeError, match="after_bacth"):
        class Typo(Callback):
            def after_bacth(self, learn):
                pass


class Raiser(Callback):
    def __init__(self, event, exc):
        self.event, self.exc = event, exc
        setattr(self, event, self.raise_once)

    def raise_once(self, learn):
        raise self.exc()


@pytest.mark.parametrize("event, exc, missing, present", [
    ("before_fit", CancelFitException, ["before_epoch"], ["after_fit"]),
    ("before_epoch", CancelEpochException, ["before_train", "before_valid"], ["after_epoch", "after_fit"]),
    ("before_train", CancelTrainException, ["after_step"], ["after_train", "before_valid", "after_valid"]),
    ("before_valid", CancelValidException, [], ["after_valid", "after_epoch"]),
    ("before_batch", CancelBatchException, ["after_pred", "after_step"], ["after_batch", "after_epoch"]),
])
def test_each_cancel_exception_skips_exactly_its_stage(synth_learner, event, exc, missing, present):
    learn, log = synth_learner(), EventLog()
    raiser = Raiser(event, exc)
    raiser.order = -100  # raise before the log sees the event
    learn.fit(1, cbs=[log, raiser])
    for e in missing:
        assert e not in log.events
    for e in present:
        assert e in log.events
    if exc is CancelValidException:  # valid batches skipped, training batches ran
        assert log.events.count("after_step") == len(learn.dls.train)
        assert log.events.count("after_batch") == len(learn.dls.train)
    if exc is CancelBatchException:  # every batch started and finished, none did any work
        assert log.events.count("after_batch") == len(learn.dls.train) + len(learn.dls.valid)


def test_temporary_callbacks_are_gone_after_fit_even_on_error(synth_learner):
    learn = synth_learner()
    before = list(learn.cbs)
    learn.fit(1, cbs=[EventLog()])
    assert learn.cbs == before
    with pytest.raises(ZeroDivisionError):
        learn.fit(1, cbs=[Raiser("after_batch", ZeroDivisionError)])
    assert learn.cbs == before


def test_loss_falls_and_accuracy_rises_on_synthetic_data(synth_learner):
    learn = synth_learner(metrics=[accuracy])
    learn.fit(5, lr=1e-2)
    values = learn.recorder.values
    assert values[-1][1] < values[0][1] * 0.7  # train loss
    assert learn.recorder.last_metrics["accuracy"] > 0.85


def test_seeded_runs_repeat(synth_learner):
    a, b = synth_learner(), synth_learner()
    a.fit_one_cycle(2, 1e-2)
    b.fit_one_cycle(2, 1e-2)
    assert a.recorder.losses == b.recorder.losses


def test_lr_find_restores_weights_and_suggests(synth_learner):
    learn = synth_learner()
    before = {k: v.clone() for k, v in learn.model.state_dict().items()}
    result = learn.lr_find(num_it=30, show_plot=False)
    after = learn.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert 5 <= len(result.lrs) <= 30
    assert all(b > a for a, b in zip(result.lrs, result.lrs[1:]))  # exponential sweep upwards
    assert result.lrs[0] == pytest.approx(1e-7)
    assert 1e-7 < result.suggestion < 10


def test_lr_find_stops_when_the_loss_diverges(synth_learner):
    learn = synth_learner()
    result = learn.lr_find(start_lr=1e-3, end_lr=1e6, num_it=100, show_plot=False)
    assert len(result.lrs) < 100


def trainable(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_freeze_and_unfreeze_change_the_trainable_parameter_count(synth_learner):
    learn = synth_learner()
    body, head = learn.model.layer_groups()
    bn_params = sum(p.numel() for p in body[1].parameters())
    total = trainable(learn.model)
    learn.freeze()
    assert trainable(learn.model) == sum(p.numel() for p in head.parameters()) + bn_params
    learn.unfreeze()
    assert trainable(learn.model) == total
    learn.train_bn = False
    learn.freeze()
    assert trainable(learn.model) == sum(p.numel() for p in head.parameters())


def test_frozen_groups_do_not_change_during_fit(synth_learner):
    learn = synth_learner(train_bn=False)
    learn.freeze()
    w = learn.model[0][0].weight.clone()
    learn.fit(1)
    assert torch.equal(w, learn.model[0][0].weight)


def test_per_group_learning_rates_reach_the_optimizer(synth_learner):
    learn = synth_learner()
    seen = []

    class Spy(Callback):
        def after_step(self, learn):
            seen.append([g["lr"] for g in learn.opt.param_groups])

    learn.fit(1, lr=slice(1e-4, 1e-2), cbs=[Spy()])
    assert seen[0] == pytest.approx([1e-4, 1e-2])
    learn.fit(1, lr=[3e-3, 5e-3], cbs=[Spy()])
    assert seen[-1] == pytest.approx([3e-3, 5e-3])
    assert learn.group_lrs(slice(1e-2)) == pytest.approx([1e-3, 1e-2])
    with pytest.raises(ValueError, match="layer groups"):
        learn.group_lrs([1e-3, 1e-3, 1e-3])


def test_one_cycle_follows_torch_one_cycle_lr(synth_learner):
    learn = synth_learner()
    learn.fit_one_cycle(3, lr_max=1e-2, pct_start=0.3)
    n = len(learn.recorder.lrs)
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1e-2)
    ref_sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=n, pct_start=0.3)
    ref = []
    for _ in range(n):
        ref.append(opt.param_groups[0]["lr"])
        opt.step()
        ref_sched.step()
    assert learn.recorder.lrs == pytest.approx(ref, rel=1e-6)


def test_one_cycle_spreads_differential_rates_over_groups(synth_learner):
    learn = synth_learner()
    learn.fit_one_cycle(1, lr_max=slice(1e-4, 1e-2))
    assert learn.opt.param_groups[0]["lr"] / learn.opt.param_groups[1]["lr"] == pytest.approx(1e-2)


@pytest.mark.parametrize("n_cycles, cycle_len, cycle_mult", [(3, 1, 2), (2, 2, 1)])
def test_sgdr_restarts_at_cycle_boundaries(synth_learner, n_cycles, cycle_len, cycle_mult):
    learn = synth_learner()
    learn.fit_sgdr(n_cycles, lr=1e-2, cycle_len=cycle_len, cycle_mult=cycle_mult)
    per_epoch = len(learn.dls.train)
    lengths = [cycle_len * cycle_mult ** i for i in range(n_cycles)]
    assert len(learn.recorder.values) == sum(lengths)
    lrs = learn.recorder.lrs
    restarts = [i for i in range(1, len(lrs)) if lrs[i] > lrs[i - 1]]
    assert restarts == [per_epoch * sum(lengths[:i]) for i in range(1, n_cycles)]
    # the reference: PyTorch's cosine annealing with warm restarts, stepped per batch
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1e-2)
    ref_sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=cycle_len * per_epoch, T_mult=cycle_mult)
    ref = []
    for _ in range(len(lrs)):
        ref.append(opt.param_groups[0]["lr"])
        opt.step()
        ref_sched.step()
    assert lrs == pytest.approx(ref, rel=1e-6, abs=1e-12)


def test_nan_loss_stops_with_a_clear_message(synth_learner):
    learn = synth_learner()
    learn.loss_func = lambda preds, y: preds.sum() * float("nan")
    with pytest.raises(NaNLossError, match="lr_find"):
        learn.fit(1)


def test_save_and_load_round_trip_model_and_optimizer(synth_learner):
    learn = synth_learner()
    learn.fit(1)
    file = learn.save("stage-1")
    assert file.exists() and not list(file.parent.glob("*.tmp"))
    other = synth_learner()
    other.load("stage-1")
    for a, b in zip(learn.model.state_dict().values(), other.model.state_dict().values()):
        assert torch.equal(a, b)
    assert other.opt.state_dict()["state"].keys() == learn.opt.state_dict()["state"].keys()
    with pytest.raises(FileNotFoundError, match="stage-1"):
        other.load("nope")


def test_get_preds_applies_softmax_and_returns_per_item_losses(synth_learner):
    learn = synth_learner()
    preds, targets, losses = learn.get_preds(with_loss=True)
    assert preds.shape == (len(learn.dls.valid_ds), 3)
    assert torch.allclose(preds.sum(dim=1), torch.ones(len(preds)))
    assert losses.shape == targets.shape
    ref = nn.functional.cross_entropy(torch.log(preds), targets, reduction="none")
    assert torch.allclose(losses, ref, atol=1e-5)


def test_predict_one_item(synth_learner):
    learn = synth_learner()
    label, idx, probs = learn.predict(learn.dls.valid_ds[0][0])
    assert label == idx == int(probs.argmax()) and math.isclose(float(probs.sum()), 1, rel_tol=1e-5)


def test_repr_and_training_loop_are_helpful(synth_learner, capsys):
    learn = synth_learner(metrics=[accuracy])
    assert "layer groups" in repr(learn) and "accuracy" in repr(learn)
    learn.show_training_loop()
    assert "Recorder" in capsys.readouterr().out


def test_interrupted_fit_keeps_the_last_weights_and_explains(synth_learner, capsys):
    learn = synth_learner()
    steps = []

    class Interrupt(Callback):
        def after_step(self, learn):
            steps.append({k: v.clone() for k, v in learn.model.state_dict().items()})
            if len(steps) == 3:
                raise KeyboardInterrupt

    before = list(learn.cbs)
    with pytest.raises(KeyboardInterrupt):
        learn.fit(2, cbs=[Interrupt()])
    assert learn.cbs == before
    assert all(torch.equal(v, learn.model.state_dict()[k]) for k, v in steps[-1].items())
    assert "interrupted" in capsys.readouterr().out
    assert any(p.grad is not None for p in learn.model.parameters())  # stopped between step and zero_grad

    class FirstBatchGrads(Callback):
        def before_batch(self, learn):
            if learn.training and learn.iter == 0:
                steps.append([p.grad for p in learn.model.parameters()])

    learn.fit(1, cbs=[FirstBatchGrads()])  # and training carries on from there, with fresh gradients
    assert all(g is None for g in steps[-1])
