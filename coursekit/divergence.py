"""Divergence: ``NaNCheck`` stops a fit whose loss becomes NaN or infinite or explodes, saying where, why and what
to do, and tells a fit that starts from broken weights that an earlier fit broke them."""

import math

import torch

from coursekit.callbacks import Callback, NaNLossError


class NaNCheck(Callback):
    """Stops a fit with a clear message when it diverges: a training loss that is NaN or infinite, or more than
    ``explode`` times the smallest loss any fit of this learner started from; a validation loss that is NaN or
    infinite. A fit whose weights (or optimizer state) are already NaN or infinite, or whose first loss is
    already exploded, is told that an earlier fit broke them: it is not blamed for its own learning rate."""

    order = 50

    def __init__(self, explode=1e6):
        self.explode, self.reference, self.diverged_in = explode, None, None
        self.task, self.first_batch = None, True  # the data and loss the reference loss was read on
        self.worst, self.since = None, 0  # the worst training loss not yet read off the device, over `since` batches

    def before_fit(self, learn):
        self.first_batch, task = True, (id(learn.dls), id(learn.loss_func))
        if task != self.task:  # other data or another loss: losses on another scale
            self.reference, self.task = None, task
        broken = first_non_finite(learn.model, learn.opt)
        if broken:
            raise NaNLossError(
                f"{broken[0].upper() + broken[1:]} is already NaN or infinite before this fit "
                f"({learn.fit_call}) starts{self.earlier()}"
            )

    def earlier(self):
        by = f" ({self.diverged_in} diverged)" if self.diverged_in else ""
        return (
            f": an earlier fit{by} broke the weights, so this fit's learning rate is not to blame. Reload saved "
            "weights with learn.load('name') or rebuild the model and the Learner, then train at a lower "
            "learning rate than the fit that broke them (learn.lr_find() helps choose one)."
        )

    def before_train(self, learn):
        self.worst, self.since = None, 0

    def after_loss(self, learn):
        """Judge the training loss: every batch when ``learn.sync_every`` is 1 (a CPU, where reading it costs
        nothing), else the worst of the last ``sync_every`` batches in one read, so a GPU is not made to wait."""
        if learn.loss is None or not learn.training:  # validation is judged once, from the Recorder's sum
            return
        loss = learn.loss.detach().float().abs().max()
        every = learn.sync_every
        if every <= 1 or self.first_batch:  # the first batch sets the reference: read it now
            return self.judge(learn, loss.item(), 1)
        self.worst = loss if self.worst is None else torch.maximum(self.worst, loss)  # NaN wins, as it should
        self.since += 1
        if self.since >= every or learn.iter + 1 == len(learn.dl):
            self.after_train(learn)

    def after_train(self, learn):
        if self.worst is not None:
            value, since = self.worst.item(), self.since
            self.worst, self.since = None, 0
            self.judge(learn, value, since)

    def judge(self, learn, value, batches):
        limit = self.explode * max(self.reference or 0.0, 1.0)
        if self.first_batch and math.isfinite(value) and self.reference is not None and value > limit:
            raise NaNLossError(
                f"The training loss is already {value:.2g} at the first batch of this fit "
                f"({learn.fit_call}), over {self.explode:,.0f} times the {self.reference:.2g} an "
                f"earlier fit started from{self.earlier()}"
            )
        if self.first_batch and math.isfinite(value):
            self.reference = value if self.reference is None else min(self.reference, value)
        self.first_batch = False
        if math.isfinite(value) and value <= limit:
            return
        what = (
            f"became {value}"
            if not math.isfinite(value)
            else (f"exploded to {value:.2g} (over {self.explode:,.0f} times the {self.reference:.2g} it started from)")
        )
        broken = first_non_finite(learn.model, learn.opt)
        state = (
            f"The last optimizer step left {broken} NaN or infinite."
            if broken
            else "No optimizer step was taken on this batch."
            if batches == 1
            else "The weights are still finite."
        )
        if batches > 1:  # the loss is read once every learn.sync_every batches: the steps in between were taken
            what += (
                f" in one of the last {batches} batches (on {learn.device.type} the loss is read once every "
                f"learn.sync_every={learn.sync_every} batches; 1 checks every batch)"
            )
        self.diverged_in = learn.fit_call
        raise NaNLossError(
            f"The training loss {what} {fit_place(learn, batch=True)}. {state} Usual causes: a "
            f"learning rate that is too high (run learn.lr_find() and pick a lower one), or NaN/inf "
            f"in the inputs or targets. {RELOAD}"
        )

    def after_epoch(self, learn):
        # the Recorder sums the validation loss on its device during the pass; one read here, per epoch
        total = learn.recorder.valid_total
        if isinstance(total, torch.Tensor) and not torch.isfinite(total):
            self.diverged_in = learn.fit_call
            raise NaNLossError(
                f"The validation loss became {total.item()} {fit_place(learn)}, while the training loss was "
                f"finite: the weights (or BatchNorm statistics) have grown so large that the model's outputs "
                f"overflow. Usual cause: a learning rate that is too high (run learn.lr_find() and pick a lower "
                f"one). {RELOAD}"
            )

    def after_fit(self, learn):
        self.diverged_in = None


RELOAD = (
    "The weights are unusable now: reload saved ones with learn.load('name') or rebuild the model and the "
    "Learner before fitting again."
)


def fit_place(learn, batch=False):
    """'in this fit (fit_one_cycle(3, lr_max=1.0e-02), epoch 2/3, batch 5/8; learning rates 1.0e-02)'."""
    where = f"in this fit ({learn.fit_call}, epoch {learn.epoch + 1}/{learn.n_epochs}"
    if batch:
        n = len(learn.dl) if hasattr(learn.dl, "__len__") else "?"
        where += f", batch {learn.iter + 1}/{n}"
    return where + "; learning rates " + ", ".join(f"{g['lr']:.1e}" for g in learn.opt.param_groups) + ")"


def first_non_finite(model, opt=None):
    """Names the first NaN or infinite tensor among the model's parameters and float buffers and the optimizer's
    state ("the weight 0.weight", "the optimizer's exp_avg for 1.bias"), or None when all are finite."""
    names = {p: n for n, p in model.named_parameters()}
    tensors = [(f"the weight {n}", t) for n, t in model.named_parameters()]
    tensors += [(f"the buffer {n}", t) for n, t in model.named_buffers() if t.is_floating_point()]
    if opt is not None:
        tensors += [
            (f"the optimizer's {k} for {names.get(p, '?')}", v)
            for p, s in opt.state.items()
            for k, v in s.items()
            if isinstance(v, torch.Tensor) and v.is_floating_point()
        ]
    if not tensors:
        return None
    device = tensors[0][1].device  # gathered there and read once: not one wait for the GPU per tensor
    finite = torch.stack([torch.isfinite(t.detach()).all().to(device) for _, t in tensors])
    if bool(finite.all()):
        return None
    return tensors[int((~finite).nonzero()[0])][0]
