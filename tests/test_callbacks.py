import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from coursekit import callbacks
from coursekit.callbacks import (
    Callback,
    CancelBatchException,
    CancelEpochException,
    CancelFitException,
    CancelTrainException,
    CancelValidException,
    NaNLossError,
)
from coursekit.learner import Learner


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


def valid_events(n):
    return ["before_valid"] + ["before_batch", "after_pred", "after_loss", "after_batch"] * n + ["after_valid"]


def test_events_fire_in_order(synth_learner):
    learn, log = synth_learner(), EventLog()
    learn.fit(1, cbs=[log])
    n_train, n_valid = len(learn.dls.train), len(learn.dls.valid)
    expected = (
        ["before_fit", "before_epoch", "before_train"]
        + batch_events(n_train)
        + ["after_train"]
        + valid_events(n_valid)
        + ["after_epoch", "after_fit"]
    )
    assert log.events == expected


def test_prediction_is_the_validation_stage_alone(synth_learner, capsys):
    learn, log = synth_learner(bs=8), EventLog()
    learn.fit(1)
    capsys.readouterr()
    history = [list(v) for v in learn.recorder.values]
    learn.add_cbs(log)
    learn.get_preds()
    assert log.events == valid_events(len(learn.dls.valid))
    assert learn.recorder.values == history and capsys.readouterr().out == ""  # nothing recorded or shown
    assert any(cb is learn.recorder for cb in learn.cbs)


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


@pytest.mark.parametrize(
    "event, exc, missing, present",
    [
        ("before_fit", CancelFitException, ["before_epoch"], ["after_fit"]),
        ("before_epoch", CancelEpochException, ["before_train", "before_valid"], ["after_epoch", "after_fit"]),
        ("before_train", CancelTrainException, ["after_step"], ["after_train", "before_valid", "after_valid"]),
        ("before_valid", CancelValidException, [], ["after_valid", "after_epoch"]),
        ("before_batch", CancelBatchException, ["after_pred", "after_step"], ["after_batch", "after_epoch"]),
    ],
)
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


def test_a_cancelled_batch_records_no_stale_loss(synth_learner):
    class SkipOdd(Callback):
        def before_batch(self, learn):
            if learn.training and learn.iter % 2:
                raise CancelBatchException()

    learn = synth_learner()
    learn.fit(1, cbs=[SkipOdd()])
    n = len(learn.dls.train)
    assert len(learn.recorder.losses) == (n + 1) // 2  # the skipped batches left nothing in the record


def test_temporary_callbacks_are_gone_after_fit_even_on_error(synth_learner):
    learn = synth_learner()
    before = list(learn.cbs)
    learn.fit(1, cbs=[EventLog()])
    assert learn.cbs == before
    with pytest.raises(ZeroDivisionError):
        learn.fit(1, cbs=[Raiser("after_batch", ZeroDivisionError)])
    assert learn.cbs == before
    with pytest.raises(ZeroDivisionError):
        with learn.temporary_cbs(add=[EventLog()], remove=[learn.recorder]):
            assert learn.recorder not in learn.cbs
            raise ZeroDivisionError
    assert learn.cbs == before


def test_callbacks_can_change_the_inputs_in_before_batch(synth_learner):
    class ZeroInputs(Callback):
        def before_batch(self, learn):
            learn.xb = tuple(torch.zeros_like(x) for x in learn.xb)

    learn = synth_learner()
    preds, _ = learn.get_preds(cbs=[ZeroInputs()])
    assert torch.allclose(preds, preds[:1].expand_as(preds))  # every item saw the same (zero) input


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 2), nn.Linear(5, 2)

    def forward(self, x1, x2):
        return self.a(x1) + self.b(x2)


def test_the_number_of_inputs_comes_from_the_batch_or_the_loader():
    x1, x2, y = torch.randn(20, 3), torch.randn(20, 5), torch.randint(0, 2, (20,))
    dl = DataLoader(TensorDataset(x1, x2, y), batch_size=8)
    learn = Learner(TwoInputs(), None, nn.CrossEntropyLoss(), device="cpu")
    seen = []

    class Spy(Callback):
        def after_pred(self, learn):
            seen.append((len(learn.xb), len(learn.yb)))

    learn.get_preds(dl, cbs=[Spy()])
    assert seen[0] == (2, 1)  # len(batch) - 1 inputs
    dl.n_inp = 1  # one input and two targets: the loss is given both
    learn.model, learn.loss_func = nn.Linear(3, 2), lambda preds, x2, y: nn.functional.cross_entropy(preds, y)
    learn.get_preds(dl, cbs=[Spy()])
    assert seen[-1] == (1, 2)


def test_the_device_callback_moves_model_and_batches(synth_learner, monkeypatch):
    moved, model_moves = [], []
    real = callbacks.to_device
    monkeypatch.setattr(callbacks, "to_device", lambda x, device: moved.append(x) or real(x, device))
    learn = synth_learner()
    real_to = learn.model.to
    learn.model.to = lambda *a, **k: model_moves.append(a) or real_to(*a, **k)
    preds, _ = learn.get_preds()
    assert model_moves == [(learn.device,)]  # before the validation stage
    assert len(moved) == 2 * len(learn.dls.valid)  # xb and yb of every batch
    learn.fit(1)
    assert len(model_moves) == 1 + 2  # before fit, and before the epoch's validation


class WeightedCrossEntropy(nn.Module):
    """A loss holding a tensor of its own (as a perceptual loss holds a feature network): it must go where the
    model goes, or a GPU fit fails at the first batch with 'tensors on different devices'."""

    def __init__(self):
        super().__init__()
        self.register_buffer("weight", torch.ones(3))  # one per class
        self.moves = []

    def _apply(self, fn, recurse=True):
        self.moves.append("moved")
        return super()._apply(fn, recurse)

    def forward(self, preds, y):
        return nn.functional.cross_entropy(preds, y, weight=self.weight)


def test_a_loss_that_is_a_module_moves_with_the_model(synth_learner):
    learn = synth_learner()
    learn.loss_func = loss = WeightedCrossEntropy()
    learn.get_preds()
    assert loss.moves == ["moved"]  # before the validation stage, as the model
    learn.fit(1)
    assert len(loss.moves) == 1 + 2 and loss.weight.device.type == learn.device.type


def test_nan_loss_stops_with_a_clear_message(synth_learner):
    learn = synth_learner()
    learn.loss_func = lambda preds, y: preds.sum() * float("nan")
    with pytest.raises(NaNLossError, match="lr_find"):
        learn.fit(1)


def test_show_training_loop_lists_the_callbacks_of_each_event(synth_learner, capsys):
    synth_learner().show_training_loop()
    lines = {line.split()[0]: line.split(maxsplit=1)[1] for line in capsys.readouterr().out.splitlines()}
    assert lines["before_batch"] == "DeviceCallback"
    assert lines["after_batch"] == "TrainEvalCallback, Recorder, ProgressCallback"
    assert lines["after_loss"] == "NaNCheck" and lines["after_backward"] == "-"


def test_a_diverging_fit_stops_and_names_the_fit(synth_learner):
    learn = synth_learner()
    with pytest.raises(
        NaNLossError,
        match=r"exploded to .* in this fit \(fit_one_cycle\(3, lr_max=1.0e\+03\), "
        r"epoch 1/3, batch \d/6; learning rates .*lr_find",
    ):
        learn.fit_one_cycle(3, 1e3)  # finite but absurd losses (1e8 and more): no NaN, yet training is lost


def test_a_later_fit_is_not_blamed_for_what_an_earlier_fit_broke(synth_learner):
    learn = synth_learner()
    with pytest.raises(NaNLossError):
        learn.fit_one_cycle(3, 1e3)
    with pytest.raises(
        NaNLossError,
        match=r"already .* at the first batch of this fit \(fit\(1, lr=1.0e-03\)\).*"
        r"fit_one_cycle\(3, lr_max=1.0e\+03\) diverged.*not to blame.*learn.load",
    ):
        learn.fit(1, lr=1e-3)
    learn = synth_learner()
    with torch.no_grad():
        learn.model[1].weight[0, 0] = float("nan")  # what a step with infinite gradients leaves behind
    with pytest.raises(
        NaNLossError,
        match=r"The weight 1.weight is already NaN or infinite before this fit "
        r"\(fit\(1, lr=1.0e-03\)\) starts.*not to blame",
    ):
        learn.fit(1, lr=1e-3)


class InfInEval(nn.Module):
    """Sane while training; outputs that overflow the loss in evaluation mode (as blown-up BatchNorm statistics do)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 3)

    def forward(self, x):
        out = self.lin(x)
        return out if self.training else out * 1e38


def test_an_infinite_validation_loss_stops_the_fit(synth_learner):
    learn = synth_learner()
    learn.model = InfInEval()
    with pytest.raises(
        NaNLossError,
        match=r"validation loss became (inf|nan) in this fit \(fit\(2, lr=1.0e-02\), "
        r"epoch 1/2; .*too high",
    ):
        learn.fit(2)
    assert len(learn.get_preds()[0]) == len(learn.dls.valid_ds)  # prediction itself does not judge the loss
