"""Checkpoints every epoch and resuming: a fit killed with SIGKILL and resumed ends as an uninterrupted one did."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from coursekit.resume import Checkpoints

# A training process: dropout (the global RNG), the loader's shuffles (its own generator) and one-cycle's
# schedule all have to carry on where they were for the resumed run to end as the uninterrupted one.
CHILD = textwrap.dedent("""
    import os, signal, sys
    import torch
    from torch import nn
    sys.path.insert(0, {tests!r})
    from conftest import synthetic_dls
    from coursekit.core import seed_everything
    from coursekit.callbacks import Callback
    from coursekit.learner import Learner
    from coursekit.resume import Checkpoints

    folder, kill_after, resume = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "resume"

    class Kill(Callback):
        order = 130  # after the checkpoint of the epoch is written
        def after_epoch(self, learn):
            if learn.epoch + 1 == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)

    seed_everything(0)
    model = nn.Sequential(nn.Linear(4, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 3))
    learn = Learner(model, synthetic_dls(bs=16), nn.CrossEntropyLoss(), path=folder, device="cpu")
    learn.fit_one_cycle(5, 1e-2, cbs=[Checkpoints("run", keep=2, resume=resume), Kill()])
    rec = learn.recorder
    torch.save({{"model": learn.model.state_dict(), "opt": learn.opt.state_dict(), "losses": rec.losses,
                "lrs": rec.lrs, "values": [v[:-1] for v in rec.values]}}, os.path.join(folder, "final.pt"))
""")


def train(folder, kill_after=0, resume=False):
    script = folder / "child.py"
    script.write_text(CHILD.format(tests=str(Path(__file__).parent)))
    return subprocess.run(
        [sys.executable, str(script), str(folder), str(kill_after), "resume" if resume else "-"],
        capture_output=True,
        text=True,
        timeout=300,
    )


def same(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, torch.Tensor):
        return torch.allclose(a.float(), b.float(), atol=1e-6)
    return a == pytest.approx(b, abs=1e-6) if isinstance(a, float) else a == b


def test_a_fit_killed_after_an_epoch_and_resumed_ends_as_an_uninterrupted_one(tmp_path):
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    whole.mkdir(), broken.mkdir()
    assert train(whole).returncode == 0
    killed = train(broken, kill_after=2)
    assert killed.returncode == -signal.SIGKILL and not (broken / "final.pt").exists()
    assert sorted(p.name for p in (broken / "models").glob("*.pth")) == ["run-epoch1.pth", "run-epoch2.pth"]
    resumed = train(broken, resume=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "Resumed from run-epoch2.pth" in resumed.stdout
    a, b = torch.load(whole / "final.pt"), torch.load(broken / "final.pt")
    assert len(b["losses"]) == len(a["losses"]) and len(b["values"]) == 5
    assert same(a, b)
    # keep=2: the newest two remain
    assert sorted(p.name for p in (broken / "models").glob("*.pth")) == ["run-epoch4.pth", "run-epoch5.pth"]


def test_resume_with_no_checkpoint_starts_from_the_beginning(synth_learner, capsys):
    learn = synth_learner()
    learn.fit(1, cbs=Checkpoints("fresh", resume=True))
    assert "starting from the beginning" in capsys.readouterr().out
    assert (learn.path / "models" / "fresh-epoch1.pth").is_file()


def test_a_finished_run_resumed_trains_no_further(synth_learner, capsys):
    learn = synth_learner()
    learn.fit_one_cycle(2, cbs=Checkpoints("done"))
    weights = {k: v.clone() for k, v in learn.model.state_dict().items()}
    again = synth_learner()
    again.fit_one_cycle(2, cbs=Checkpoints("done", resume=True))
    assert "the fit had finished" in capsys.readouterr().out
    assert same(weights, again.model.state_dict())


def test_a_checkpoint_of_another_schedule_is_refused_before_anything_loads(synth_learner):
    learn = synth_learner()
    learn.fit_one_cycle(2, cbs=Checkpoints("run"))
    other = synth_learner()
    before = {k: v.clone() for k, v in other.model.state_dict().items()}
    with pytest.raises(ValueError, match=r"fit_one_cycle\(2.*but this fit is fit_one_cycle\(3"):
        other.fit_one_cycle(3, cbs=Checkpoints("run", resume=True))
    assert same(before, other.model.state_dict())


def test_a_checkpoint_of_another_model_is_refused(synth_learner):
    from torch import nn

    learn = synth_learner()
    learn.fit(1, cbs=Checkpoints("run"))
    other = synth_learner()
    other.model[1] = nn.Linear(16, 5)  # another number of classes
    with pytest.raises(RuntimeError, match="does not fit this model"):
        other.fit(1, cbs=Checkpoints("run", resume=True))


def test_a_damaged_newest_checkpoint_is_passed_over_for_the_one_before(synth_learner, capsys):
    learn = synth_learner()
    learn.fit(2, cbs=Checkpoints("run"))
    newest = learn.path / "models" / "run-epoch2.pth"
    newest.write_bytes(newest.read_bytes()[:100])  # a copy cut short
    again = synth_learner()
    again.fit(2, cbs=Checkpoints("run", resume=True))
    out = capsys.readouterr().out
    assert "Skipping run-epoch2.pth" in out and "Resumed from run-epoch1.pth" in out


def test_a_resume_whose_every_checkpoint_is_damaged_is_an_error_not_a_silent_fresh_start(synth_learner, capsys):
    learn = synth_learner()
    learn.fit(2, cbs=Checkpoints("run"))
    folder = learn.path / "models"
    for file in folder.glob("run-epoch*.pth"):
        file.write_bytes(b"<!DOCTYPE html><html><body>Not found</body></html>")  # a web page saved in their place
    again = synth_learner()
    before = {k: v.clone() for k, v in again.model.state_dict().items()}
    with pytest.raises(ValueError) as e:
        again.fit(2, cbs=Checkpoints("run", resume=True))
    assert str(e.value) == (
        f"Every checkpoint of the run 'run' in {folder} is damaged or is not a checkpoint (run-epoch2.pth, "
        "run-epoch1.pth; why each one is above), so there is nothing to resume from. Put back a good copy to "
        "resume, or move those files away (or pass resume=False, which overwrites them) to train from the beginning."
    )
    out = capsys.readouterr().out
    assert "Skipping run-epoch2.pth: it cannot be read (ValueError: " in out and "Skipping run-epoch1.pth" in out
    assert "is damaged or is not a PyTorch checkpoint (50 bytes; it is an HTML page: " in out
    assert "pickled model" not in out and "starting from the beginning" not in out
    assert same(before, again.model.state_dict())
    assert (folder / "run-epoch1.pth").read_bytes().startswith(b"<!DOCTYPE")  # nothing was overwritten


def test_a_save_cut_short_never_replaces_the_last_good_checkpoint(synth_learner, monkeypatch):
    learn = synth_learner()
    learn.fit(1, cbs=Checkpoints("run", keep=1))
    good = (learn.path / "models" / "run-epoch1.pth").read_bytes()

    def full_disk(obj, f, *args, **kwargs):
        Path(f).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    again = synth_learner()
    with pytest.raises(OSError, match="Could not save .*run-epoch1.pth"):
        again.fit(1, cbs=Checkpoints("run", keep=1))  # its first epoch's checkpoint would replace the good one
    assert (learn.path / "models" / "run-epoch1.pth").read_bytes() == good
    assert sorted(os.listdir(learn.path / "models")) == ["run-epoch1.pth"]


def test_keep_must_keep_something():
    with pytest.raises(ValueError, match="keep at least"):
        Checkpoints(keep=0)
