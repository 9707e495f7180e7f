"""The training loop reads the loss off its device once every ``learn.sync_every`` batches, not every batch (a GPU
waits for each read), and still stops on a NaN loss."""

import sys
from pathlib import Path

import pytest
import torch

import coursekit
from coursekit.callbacks import NaNLossError
from coursekit.progress import ProgressCallback

PACKAGE = str(Path(coursekit.__file__).parent)


@pytest.fixture
def reads(monkeypatch):
    """Counts coursekit's reads of tensor values into Python (``item`` and ``tolist``) while a test runs (PyTorch's
    own, such as Adam reading its step counter, which lives on the CPU, are not ours to count)."""
    count = {"n": 0}
    for name in ("item", "tolist"):
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, **kwargs):
            count["n"] += sys._getframe(1).f_code.co_filename.startswith(PACKAGE)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    return count


def quiet(learn):
    learn.remove_cbs([cb for cb in learn.cbs if isinstance(cb, ProgressCallback)])  # it reads only on a redraw
    return learn


def test_a_cpu_learner_reads_every_batch_and_a_gpu_one_every_eight(synth_learner):
    assert synth_learner().sync_every == 1
    assert synth_learner(device="meta").sync_every == 8


def test_the_loss_is_read_once_every_sync_every_batches(synth_learner, reads):
    learn = quiet(synth_learner(bs=8))  # 204 training items: 25 batches per epoch
    learn.sync_every = 5
    learn.fit(2)
    batches = 2 * len(learn.dls.train)
    # per epoch: the first batch (NaN check reference, first fit only), one NaN-check and one Recorder read
    # per 5 batches, the validation loss once
    assert reads["n"] <= 2 * (batches // 5) + 2 * 3 + 1
    assert reads["n"] < batches / 2
    assert len(learn.recorder.losses) == batches  # every batch's loss is still recorded


def test_recorded_losses_do_not_depend_on_how_often_they_are_read(synth_learner):
    seen = []
    for every in (1, 7):
        learn = quiet(synth_learner(bs=8))
        learn.sync_every = every
        learn.fit(2)
        seen.append((learn.recorder.losses, learn.recorder.last_metrics["train_loss"]))
    assert seen[0][0] == pytest.approx(seen[1][0], rel=1e-6) and seen[0][1] == pytest.approx(seen[1][1], rel=1e-6)


def test_a_nan_loss_still_stops_the_fit_when_read_every_few_batches(synth_learner):
    learn = quiet(synth_learner(bs=8))
    learn.sync_every = 4
    with pytest.raises(NaNLossError, match=r"became nan in one of the last \d batches.*sync_every=4"):
        learn.fit(1, lr=1e12)  # diverges within the epoch
