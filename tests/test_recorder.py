"""The Recorder's results are read by name: its columns, the last epoch's, one column per epoch, the history."""

import pytest

from coursekit.metrics import accuracy


def test_results_are_read_by_name(synth_learner):
    learn = synth_learner(metrics=[accuracy])
    rec = learn.recorder
    assert rec.columns == ["epoch", "train_loss", "valid_loss", "accuracy", "time"]
    assert rec.metric_columns == ["accuracy"] and rec.last_metrics == {} and rec.column("valid_loss") == []
    learn.fit(3)
    assert rec.column("epoch") == [0, 1, 2]
    history = rec.history()
    assert rec.column("valid_loss") == history["valid_loss"].tolist()
    assert rec.column("train_loss") == history["train_loss"].tolist()
    assert rec.last_metrics == {"epoch": 2, **history.iloc[-1].to_dict()}
    assert rec.last_metrics["accuracy"] == history["accuracy"].iloc[-1]
    with pytest.raises(KeyError, match=r"no column 'acuracy'; its columns are \['epoch', 'train_loss'"):
        rec.column("acuracy")
    assert "metrics=['accuracy']" in repr(learn) and "metrics=['accuracy']" in repr(rec)


def test_the_history_goes_into_a_checkpoint_and_back(synth_learner):
    learn = synth_learner(metrics=[accuracy])
    learn.fit(2)
    other = synth_learner(metrics=[accuracy]).recorder
    other.load_state_dict(learn.recorder.state_dict())
    assert other.history().equals(learn.recorder.history()) and other.losses == learn.recorder.losses


def test_the_loss_plot_shows_every_batch_and_each_epochs_validation_loss(synth_learner):
    import matplotlib

    matplotlib.use("Agg")
    learn = synth_learner()
    learn.fit(2)
    rec = learn.recorder
    ax = rec.plot_loss()
    raw, smoothed, valid = ax.get_lines()
    assert list(raw.get_ydata()) == rec.losses and len(smoothed.get_ydata()) == len(rec.losses)
    assert list(valid.get_ydata()) == rec.column("valid_loss") and valid.get_xdata()[-1] == len(rec.losses)
    assert ax.get_yscale() == "linear"
    assert rec.plot_loss(log=True).get_yscale() == "log"  # a loss that falls by orders of magnitude stays readable
