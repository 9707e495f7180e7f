"""Checkpoints at the end of every epoch, and resuming an interrupted fit so that it ends as if it had never stopped.

``learn.fit_one_cycle(8, 1e-3, cbs=Checkpoints("run"))`` writes ``models/run-epoch1.pth``, ``run-epoch2.pth``...
after each epoch, keeping the newest ``keep``: the weights, the optimizer's state, the epoch and step counters,
the Recorder's history and the state of every random number generator the loop draws from (torch's, CUDA's,
Python's, NumPy's and the training loader's own). Each file is written through a temporary file, so a save cut
short (a killed kernel, a full disk) never replaces the last good checkpoint.

After a crash, build the learner as before and run the same call with ``Checkpoints("run", resume=True)``: the
newest checkpoint that reads is loaded and the fit carries on from the next epoch with the same learning rates,
the same shuffles and the same dropout masks, so it ends with the weights an uninterrupted run would have had.
With no checkpoint yet it starts from the beginning, so one command line serves the first run and every rerun;
checkpoints of which none reads are an error (starting afresh would quietly throw their epochs away).
A checkpoint of another schedule (another call, another number of batches per epoch) or of another model is
refused before anything is loaded. What the trackers (``SaveBestModel``, ``EarlyStopping``) remembered before the
interruption is not kept: they start again from the resumed epoch.
"""

import random
import re

import numpy as np
import torch

from coursekit.callbacks import Callback
from coursekit.checkpoint import check_model_state, check_opt_state, first_line, load_file, write_checkpoint
from coursekit.distributed import unwrap


def rng_states(learn):
    """Every random number generator a training loop draws from, as tensors and plain values."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    states = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    gen = getattr(learn.dls.train, "generator", None)  # the training loader's shuffles come from its own generator
    if gen is not None:
        states["loader"] = gen.get_state()
    return states


def set_rng_states(learn, states):
    """Put back what ``rng_states`` took."""
    torch.set_rng_state(states["torch"].cpu())
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, gauss = states["numpy"]
    np.random.set_state((kind, keys.cpu().numpy().astype(np.uint32), pos, has_gauss, gauss))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in states["cuda"]])
    gen = getattr(learn.dls.train, "generator", None)
    if gen is not None and "loader" in states:
        gen.set_state(states["loader"].cpu())


class Checkpoints(Callback):
    """Save everything needed to carry on after every epoch (keeping the newest ``keep``); with ``resume=True``,
    carry on from the newest checkpoint named ``name`` when there is one."""

    order = 120  # after the Recorder (90), the progress display (100) and the trackers (110) are done with an epoch

    def __init__(self, name="run", keep=2, resume=False):
        if keep < 1:
            raise ValueError(f"keep={keep}: keep at least the newest checkpoint (keep=1).")
        self.name, self.keep, self.resume = name, keep, resume
        self.resumed_from = None

    def files(self, learn):
        """This run's checkpoint files, newest (highest epoch) first."""
        folder = learn.path / learn.model_dir
        pattern = re.compile(rf"{re.escape(self.name)}-epoch(\d+)\.pth")
        found = [
            (int(m.group(1)), p) for p in folder.glob(f"{self.name}-epoch*.pth") if (m := pattern.fullmatch(p.name))
        ]
        return [p for _, p in sorted(found, reverse=True)]

    def schedule(self, learn):
        return {"call": learn.fit_call, "n_epochs": learn.n_epochs, "batches_per_epoch": len(learn.dls.train)}

    def after_epoch(self, learn):
        state = {
            "model": unwrap(learn.model).state_dict(),
            "opt": learn.opt.state_dict(),
            "precision": learn.precision.state_dict(),
            "schedule": self.schedule(learn),
            "epoch": learn.epoch,
            "n_iter": learn.n_iter,
            "history": learn.recorder.state_dict(),
            "rng": rng_states(learn),
        }
        write_checkpoint(learn.path / learn.model_dir / f"{self.name}-epoch{learn.epoch + 1}.pth", state)
        for old in self.files(learn)[self.keep :]:
            old.unlink(missing_ok=True)

    def before_fit(self, learn):
        self.resumed_from = None
        if not self.resume:
            return
        state, file = self.newest_readable(learn)
        if state is None:
            print(
                f"No checkpoint {self.name}-epoch*.pth in {learn.path / learn.model_dir}: starting from the beginning."
            )
            return
        self.check(learn, file, state)
        unwrap(learn.model).load_state_dict(state["model"])
        learn.opt.load_state_dict(state["opt"])
        learn.precision.load_state_dict(state.get("precision", {"scaler": state.get("scaler")}))  # older files
        learn.recorder.load_state_dict(state["history"])
        learn.n_iter, learn.start_epoch = state["n_iter"], state["epoch"] + 1
        set_rng_states(learn, state["rng"])
        self.resumed_from = file
        done = learn.start_epoch >= learn.n_epochs
        print(
            f"Resumed from {file.name}: {learn.start_epoch} of {learn.n_epochs} epochs were done"
            + (
                "; the fit had finished, so these are its final weights."
                if done
                else f", carrying on with epoch {learn.start_epoch + 1}."
            )
        )

    def newest_readable(self, learn):
        """(state, file) of the newest checkpoint that reads, saying which damaged ones it passed over; an error
        when there are checkpoints but none reads (starting afresh would silently throw their epochs away)."""
        files = self.files(learn)
        for file in files:
            try:
                state = load_file(file, learn.device)
            except ValueError as e:
                print(f"Skipping {file.name}: it cannot be read ({first_line(e, 200)}).")
                continue
            if not (isinstance(state, dict) and "schedule" in state and "rng" in state):
                raise ValueError(
                    f"{file} is not a checkpoint that Checkpoints wrote (no schedule or random "
                    "states in it): name the run's checkpoints differently from learn.save's files."
                )
            return state, file
        if files:
            raise ValueError(
                f"Every checkpoint of the run {self.name!r} in {files[0].parent} is damaged or is not a checkpoint "
                f"({', '.join(f.name for f in files)}; why each one is above), so there is nothing to resume from. "
                "Put back a good copy to resume, or move those files away (or pass resume=False, which "
                "overwrites them) to train from the beginning."
            )
        return None, None

    def check(self, learn, file, state):
        """Refuse a checkpoint of another schedule or model before anything is loaded."""
        saved, now = state["schedule"], self.schedule(learn)
        if saved != now:
            raise ValueError(
                f"{file} was written by {saved['call']} with {saved['batches_per_epoch']} batches per "
                f"epoch, but this fit is {now['call']} with {now['batches_per_epoch']}: resuming would "
                "not end as the interrupted run would have. Run the same call on the same data to "
                f"resume, or start afresh with another name (or resume=False)."
            )
        check_model_state(file, unwrap(learn.model), state["model"])
        check_opt_state(file, learn.opt, state["opt"])
