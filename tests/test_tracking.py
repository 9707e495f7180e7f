import pytest
import torch

from coursekit.callbacks import Callback
from coursekit.metrics import accuracy
from coursekit.tracking import EarlyStopping, SaveBestModel


class Scripted(Callback):
    """Replaces each epoch's recorded valid_loss with the next scripted value (after the Recorder, before the
    trackers), and keeps a copy of the weights at every epoch's end."""

    order = 95

    def __init__(self, losses):
        self.losses, self.weights = list(losses), []

    def after_epoch(self, learn):
        learn.recorder.values[-1][learn.recorder.columns.index("valid_loss")] = self.losses[learn.epoch]
        self.weights.append({k: v.clone() for k, v in learn.model.state_dict().items()})


def test_early_stopping_stops_after_patience_epochs_without_improvement(synth_learner, capsys):
    learn = synth_learner()
    stop = EarlyStopping(patience=2)
    learn.fit(8, cbs=[Scripted([3.0, 2.0, 2.5, 2.1, 1.0, 0.5, 0.4, 0.3]), stop])
    assert len(learn.recorder.values) == 4 and stop.stopped_epoch == 3  # epochs 3 and 4 did not beat 2.0
    assert stop.best == 2.0 and stop.best_epoch == 1
    assert "stopping early after epoch 4 of 8" in capsys.readouterr().out


def test_early_stopping_lets_an_improving_fit_finish_and_knows_accuracy_goes_up(synth_learner):
    learn = synth_learner(metrics=[accuracy])
    stop = EarlyStopping("accuracy", patience=1)
    assert stop.mode == "max" and EarlyStopping("valid_loss").mode == "min"
    learn.fit(3, cbs=[Scripted([3.0, 2.0, 1.0]), EarlyStopping(patience=1)])
    assert len(learn.recorder.values) == 3


def test_save_best_model_ends_with_the_best_epochs_weights(synth_learner, tmp_path):
    learn = synth_learner(path=tmp_path)
    script = Scripted([3.0, 1.0, 2.0, 4.0])
    best = SaveBestModel()
    learn.fit(4, lr=1e-2, cbs=[script, best])
    assert best.best_epoch == 1 and (tmp_path / "models" / "best.pth").exists()
    now = learn.model.state_dict()
    assert all(torch.equal(now[k], script.weights[1][k]) for k in now)
    assert not all(torch.equal(now[k], script.weights[3][k]) for k in now)  # training did move on after it


def test_a_monitor_the_learner_does_not_record_is_a_clear_error(synth_learner):
    with pytest.raises(KeyError, match=r"monitors 'accuracy', but this Learner records \['train_loss', 'valid_loss'\]"):
        synth_learner().fit(1, cbs=[EarlyStopping("accuracy")])
    with pytest.raises(ValueError, match="mode must be"):
        EarlyStopping(mode="up")
