"""The Learner: a model, its data, a loss and an optimizer, trained through callback events.

``fit`` runs nested stages (fit > epoch > train/valid > batch). Each stage is run by ``_run_stage``,
which fires ``before_<stage>``, runs the body, catches that stage's cancel exception, and fires
``after_<stage>``. Each batch is split into inputs ``xb`` and targets ``yb`` before ``before_batch`` (so a
callback may change them), then runs small overridable steps: predict_batch, get_loss, backward, step,
zero_grad. Prediction (``get_preds``, ``predict``, ``tta``) is the validation stage alone, without
gradients: every callback that shapes the model's behaviour applies to it as to training.

What the Learner expects of datasets, loaders and models is written once, in ``coursekit.data``'s docstring.
"""

import contextlib
import math
from pathlib import Path

import torch
from torch import nn

from coursekit.callbacks import BN_TYPES, CANCEL, EVENTS, DeviceCallback, TrainEvalCallback, format_lr
from coursekit import phases
from coursekit.checkpoint import check_model_state, check_opt_state, read_checkpoint, write_checkpoint
from coursekit.core import default_device, listify
from coursekit.data import split_batch
from coursekit.distributed import unwrap
from coursekit.divergence import NaNCheck
from coursekit.lr_finder import LRFinder, LRFindResult
from coursekit.metrics import MULTI_LABEL_THRESHOLD
from coursekit.precision import Precision
from coursekit.prediction import (
    FlipTTA,
    GatherPreds,
    OneBatch,
    OutputSizeCheck,
    activation_for,
    decode_output,
    output_kind,
    per_item_loss,
)
from coursekit.progress import PassBar, ProgressCallback
from coursekit.recorder import Recorder
from coursekit.summary import learner_summary


def adamw(params, lr, weight_decay=0.01):
    """AdamW with the betas the course uses (0.9, 0.99): decoupled weight decay."""
    return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.99), eps=1e-6, weight_decay=weight_decay)


class Learner:
    """Trains ``model`` on ``dls`` with ``loss_func``; ``cbs`` are extra callbacks kept for every fit.

    ``channels_last="auto"`` stores a convolutional model's weights channels-last (NHWC) on a CPU, where oneDNN's
    convolutions run faster that way (EfficientNet-Lite0 at 96 px on the 2-core development CPU: 1.9x in the
    forward pass, 1.6x in a training step, 1.5x for a Learner epoch; ``benchmarks/bench_channels_last.py``);
    ``False`` leaves the model as it is. The conversion is in place (``learn.model`` is the model passed in, not a
    copy: its weights are the same tensors), and ``learn.channels_last`` and the Learner's repr say it happened.
    ``mixed_precision`` (``"auto"``, ``"bf16"``, ``"fp16"`` or ``False``) is resolved for the device once, by the
    Learner's ``precision`` policy (``coursekit.precision``, which says what ``"auto"`` chooses and why).
    """

    def __init__(
        self,
        model,
        dls,
        loss_func,
        opt_func=adamw,
        lr=1e-3,
        wd=0.01,
        metrics=(),
        cbs=(),
        layer_groups=None,
        path=".",
        model_dir="models",
        device=None,
        mixed_precision="auto",
        train_bn=True,
        channels_last="auto",
    ):
        self.model, self.dls, self.loss_func, self.opt_func = model, dls, loss_func, opt_func
        self.lr, self.wd, self.train_bn = lr, wd, train_bn
        self.n_frozen = 0  # layer groups frozen by the last freeze_to
        self.path, self.model_dir = Path(path), model_dir
        self.device = torch.device(device) if device is not None else default_device()
        self._layer_groups = layer_groups
        # "auto" on a bf16 CPU keeps the training steps that teach convolutions in float32 (coursekit.precision)
        self.precision = Precision(mixed_precision, self.device)
        if channels_last == "auto":
            channels_last = self.device.type == "cpu" and self._has(nn.Conv2d)
        self.channels_last = bool(channels_last)  # the model's weights were converted to NHWC, in place
        if self.channels_last:
            self.model = model.to(memory_format=torch.channels_last)  # oneDNN's convolutions run faster in NHWC
        self.sync_every = 1 if self.device.type == "cpu" else 8  # batches between reads of the loss (a GPU waits)
        self.recorder = Recorder(metrics)
        self.cbs = []
        self.add_cbs(
            [DeviceCallback(), TrainEvalCallback(), OutputSizeCheck(), NaNCheck(), self.recorder, ProgressCallback()]
        )
        self.add_cbs(cbs)
        # The loop's state: what callbacks read (and some change), all of it here, with its value between fits.
        self.opt = None  # the optimizer, made by the first fit (create_opt)
        self.fit_call = "fit"  # how error messages name the fit under way (fit_one_cycle(3, lr_max=...), ...)
        self.epoch, self.start_epoch, self.n_epochs = 0, 0, 0  # a callback resuming a fit moves start_epoch on
        self.n_iter = 0  # training steps taken in this fit (TrainEvalCallback counts them)
        self.training, self.dl = False, None  # the pass under way: training or not, and its loader
        self.iter, self.batch = 0, None  # the batch's index in the pass, and the batch as the loader gave it
        self.xb, self.yb = (), ()  # its inputs and targets (a tuple each; before_batch may change them)
        self.preds, self.loss = None, None  # the model's outputs and the loss (None until computed, or no targets)

    # -- callbacks ------------------------------------------------------------------------------
    def add_cbs(self, cbs):
        for cb in listify(cbs):
            self.cbs.append(cb)

    def remove_cbs(self, cbs):
        for cb in listify(cbs):
            if cb in self.cbs:
                self.cbs.remove(cb)

    @contextlib.contextmanager
    def temporary_cbs(self, add=(), remove=()):
        """Inside the ``with`` block, ``add`` these callbacks and take ``remove`` out; the list is put back
        as it was afterwards, even on an error."""
        saved = list(self.cbs)
        self.remove_cbs(remove)
        self.add_cbs(add)
        try:
            yield self
        finally:
            self.cbs = saved

    def callback(self, event):
        """Call ``event`` on every callback that defines it, in ``order``."""
        for cb in sorted(self.cbs, key=lambda c: c.order):
            method = getattr(cb, event, None)
            if method is not None:
                method(self)

    def show_training_loop(self):
        """Print each event and the callbacks that act on it, in the order they run."""
        for event in EVENTS:
            names = [type(cb).__name__ for cb in sorted(self.cbs, key=lambda c: c.order) if hasattr(cb, event)]
            print(f"{event:<15} {', '.join(names) if names else '-'}")

    # -- layer groups, freezing and the optimizer -------------------------------------------------
    def layer_groups(self):
        """The model's layer groups: from ``layer_groups=``, else ``model.layer_groups()``, else one group."""
        if self._layer_groups is not None:
            groups = self._layer_groups(self.model) if callable(self._layer_groups) else self._layer_groups
        elif hasattr(self.model, "layer_groups"):
            groups = self.model.layer_groups()
        else:
            groups = [self.model]
        return list(groups)

    def freeze_to(self, n):
        """Freeze the first ``n`` layer groups (negative counts from the end); the rest train.

        With ``train_bn`` (the default) BatchNorm layers keep training in frozen groups: their scale and shift
        learn, and their statistics follow the new data. With ``train_bn=False`` they stay exactly as pretrained,
        statistics included (they run in evaluation mode while the rest trains), as frozen layers did in 2018.
        """
        groups = self.layer_groups()
        n = n % len(groups) if n < 0 else min(n, len(groups))
        self.n_frozen = n
        for i, group in enumerate(groups):
            for p in group.parameters():
                p.requires_grad_(i >= n)
            if self.train_bn and i < n:
                for m in group.modules():
                    if isinstance(m, BN_TYPES):
                        for p in m.parameters():
                            p.requires_grad_(True)

    def frozen_bn(self):
        """The BatchNorm layers in frozen layer groups."""
        groups = self.layer_groups()[: self.n_frozen]
        return [m for g in groups for m in g.modules() if isinstance(m, BN_TYPES)]

    def freeze(self):
        """Train only the last layer group (the new head)."""
        self.freeze_to(-1)

    def unfreeze(self):
        """Train every layer group."""
        self.freeze_to(0)

    def group_lrs(self, lr=None):
        """One learning rate per layer group from a number, a list, or a ``slice``.

        ``slice(lo, hi)`` spreads rates geometrically from the first group to the last (differential
        learning rates); ``slice(hi)`` gives ``hi/10`` to every group but the last.
        """
        n = len(self.layer_groups())
        lr = self.lr if lr is None else lr
        if isinstance(lr, slice):
            if lr.start is None:
                return [lr.stop / 10] * (n - 1) + [lr.stop]
            if n == 1:
                return [lr.stop]
            return [lr.start * (lr.stop / lr.start) ** (i / (n - 1)) for i in range(n)]
        if isinstance(lr, (list, tuple)):
            if len(lr) != n:
                raise ValueError(
                    f"Got {len(lr)} learning rates for {n} layer groups; give one per group or a slice(lo, hi)."
                )
            return [float(x) for x in lr]
        return [float(lr)] * n

    def create_opt(self):
        """One optimizer parameter group per layer group (each parameter in exactly one)."""
        seen, param_groups = set(), []
        for group in self.layer_groups():
            params = [p for p in group.parameters() if id(p) not in seen]
            seen.update(id(p) for p in params)
            param_groups.append({"params": params})
        rest = [p for p in self.model.parameters() if id(p) not in seen]
        if rest:  # parameters outside every group train with the last group
            param_groups[-1]["params"] += rest
        self.opt = self.opt_func(param_groups, lr=self.lr, weight_decay=self.wd)

    def set_lrs(self, lrs):
        for group, lr in zip(self.opt.param_groups, lrs):
            group["lr"] = lr

    # -- the training loop ----------------------------------------------------------------------
    def _run_stage(self, stage, body):
        try:
            self.callback(f"before_{stage}")
            body()
        except CANCEL[stage]:
            pass
        self.callback(f"after_{stage}")

    def fit(self, n_epochs, lr=None, cbs=None, call=None):
        """Train for ``n_epochs`` at a constant ``lr`` (or as temporary ``cbs`` schedule it); ``call`` is how error
        messages name this fit (``fit_one_cycle`` and the others pass theirs)."""
        self.fit_call = call or f"fit({n_epochs}, lr={format_lr(self.lr if lr is None else lr)})"
        if self.opt is None:
            self.create_opt()
        self.zero_grad()  # gradients left by an interrupted or cancelled step must not leak into this fit
        self.set_lrs(self.group_lrs(lr))
        self.n_epochs, self.start_epoch = n_epochs, 0  # a callback resuming a fit moves start_epoch on
        self.precision.begin_fit(self.model)
        with self.temporary_cbs(add=cbs):
            try:
                self._run_stage("fit", self._do_fit)
            except KeyboardInterrupt:
                print(
                    f"Training interrupted in epoch {self.epoch + 1}/{n_epochs}, batch {self.iter}. "
                    "The model keeps the weights of the last completed step; learn.save('name') keeps them "
                    "on disk, and fit can be called again to carry on."
                )
                raise

    def _do_fit(self):
        for self.epoch in range(self.start_epoch, self.n_epochs):
            self._run_stage("epoch", self._do_epoch)

    def _do_epoch(self):
        self.training, self.dl = True, self.dls.train
        self._run_stage("train", self._all_batches)
        self._valid_stage(self.dls.valid)

    def _valid_stage(self, dl):
        self.training, self.dl = False, dl
        with torch.no_grad():
            self._run_stage("valid", self._all_batches)

    def _all_batches(self):
        for self.iter, self.batch in enumerate(self.dl):
            self.xb, self.yb = split_batch(self.batch, self.dl)
            self.preds, self.loss = None, None  # a batch cancelled early must not show the last one's
            self._run_stage("batch", self._one_batch)

    def _one_batch(self):
        self.predict_batch()
        self.callback("after_pred")
        if self.yb:  # prediction on items without targets has no loss
            self.get_loss()
        self.callback("after_loss")
        if self.training:
            self.backward()
            self.callback("after_backward")
            self.step()
            self.callback("after_step")
            self.zero_grad()

    def predict_batch(self):
        with self.precision.autocast(self.training):
            self.preds = self.model(*self.xb)

    def get_loss(self):
        with self.precision.autocast(self.training):
            self.loss = self.loss_func(self.preds, *self.yb)

    def backward(self):
        self.precision.backward(self.loss)

    def step(self):
        self.precision.step(self.opt)

    def zero_grad(self):
        self.opt.zero_grad(set_to_none=True)

    def _has(self, kind):
        return any(isinstance(m, kind) for m in self.model.modules())

    # -- schedules --------------------------------------------------------------------------------
    def fit_one_cycle(self, n_epochs, lr_max=None, pct_start=0.3, div=25.0, final_div=1e4, moms=(0.95, 0.85), cbs=None):
        """One cycle: lr warms up to ``lr_max`` then anneals far below it; momentum mirrors it. A curve of the fraction
        of training done, peaking at step ``pct_start * n`` as fastai's (``phases.one_cycle_phases`` says why, and
        how it differs from PyTorch's ``OneCycleLR`` by one step)."""
        plan = phases.one_cycle_phases(n_epochs, self.group_lrs(lr_max), pct_start, div, final_div, moms)
        call = f"fit_one_cycle({n_epochs}, lr_max={format_lr(self.lr if lr_max is None else lr_max)})"
        phases.fit(self, plan, cbs, call=call)

    def fit_sgdr(self, n_cycles, lr=None, cycle_len=1, cycle_mult=1, cbs=None):
        """SGDR: ``n_cycles`` cosine annealings with warm restarts, cycle ``i`` lasting
        ``cycle_len * cycle_mult**i`` epochs (the 2018 ``fit(lr, n_cycles, cycle_len, cycle_mult)``)."""
        plan = phases.sgdr_phases(n_cycles, self.group_lrs(lr), cycle_len, cycle_mult)
        call = (
            f"fit_sgdr({n_cycles}, lr={format_lr(self.lr if lr is None else lr)}, cycle_len={cycle_len}, "
            f"cycle_mult={cycle_mult})"
        )
        phases.fit(self, plan, cbs, call=call)

    def lr_find(self, start_lr=1e-7, end_lr=10, num_it=100, show_plot=True, cbs=None):
        """Sweep the lr exponentially, stop when the loss diverges, restore the weights; plot and suggest.

        ``cbs`` are extra callbacks for the sweep: ``Precompute()`` sweeps a frozen model's head on precomputed
        activations, as 2018's ``lr_find`` did with ``precompute=True``, so a long sweep takes seconds."""
        if self.opt is None:
            self.create_opt()
        finder = LRFinder(start_lr, end_lr, num_it)
        progress = [cb for cb in self.cbs if isinstance(cb, ProgressCallback)]
        with self.temporary_cbs(remove=progress):
            try:
                self.fit(
                    math.ceil(num_it / len(self.dls.train)),
                    cbs=[finder, PassBar(f"lr_find: up to {num_it} steps", total=num_it)] + listify(cbs),
                    call=f"lr_find(num_it={num_it})",
                )
            finally:
                finder.restore(self)
        self.lr_find_result = LRFindResult(finder.lrs, finder.losses)
        if show_plot:
            self.lr_find_result.plot()
        return self.lr_find_result

    # -- predictions --------------------------------------------------------------------------------
    def get_preds(self, dl=None, with_loss=False, act=None, cbs=None):
        """Predictions (after the loss's activation, or ``act``) and targets for a whole loader (default: the
        validation set), and per-item losses ``with_loss``; ``cbs`` are extra callbacks for this pass.

        It runs the validation stage of the loop without the Recorder and the progress bar, so the metrics and
        history of the last fit stay as they were.
        """
        gather = GatherPreds(
            activation_for(self.loss_func) if act is None else act, per_item_loss(self.loss_func) if with_loss else None
        )
        quiet = [cb for cb in self.cbs if isinstance(cb, (Recorder, ProgressCallback))]
        bar = [] if any(isinstance(cb, PassBar) for cb in listify(cbs)) else [PassBar("predicting")]
        with self.temporary_cbs(add=listify(cbs) + [gather] + bar, remove=quiet):
            self._valid_stage(self.dls.valid if dl is None else dl)
        return gather.result(with_loss)

    def tta(self, n=4, dl=None):
        """Test-time augmentation: (averaged predictions, targets), made as the dataset's ``tta_kind`` says.

        ``"augment"`` (classification: labels stay put when pixels move): the plain predictions averaged with
        ``n`` views made by the training transforms. ``"flip"`` (per-pixel outputs, whose targets move with
        the pixels): the plain predictions averaged with those of the horizontally flipped input, flipped
        back; ``n`` is not used.
        """
        dl = self.dls.valid if dl is None else dl
        ds = dl.dataset
        kind = getattr(ds, "tta_kind", None)
        if kind not in ("augment", "flip"):
            raise TypeError(
                f"TTA does not know how to augment a {type(ds).__name__} (its tta_kind is {kind!r}). "
                "Give the dataset class tta_kind = 'augment' when its targets do not move with the "
                "pixels (classification; it then needs with_tfms()), or 'flip' for per-pixel "
                "outputs such as masks; or use learn.get_preds() without TTA."
            )
        views = 2 if kind == "flip" else n + 1
        view = lambda i: PassBar(f"TTA: view {i} of {views}")  # noqa: E731
        preds, targets = self.get_preds(dl, cbs=[view(1)])
        if kind == "flip":
            return (preds + self.get_preds(dl, cbs=[FlipTTA(), view(2)])[0]) / 2, targets
        aug_dl = torch.utils.data.DataLoader(
            ds.with_tfms(self.dls.train_ds.tfms),
            batch_size=dl.batch_size,
            shuffle=False,
            num_workers=dl.num_workers,
            collate_fn=dl.collate_fn,
        )
        total = preds.clone()
        for i in range(n):
            total += self.get_preds(aug_dl, cbs=[view(i + 2)])[0]
        return total / (n + 1), targets

    def predict(self, item, thresh=MULTI_LABEL_THRESHOLD):
        """Predict one item, as the dataset's ``encode`` takes it (an image path, a PIL image, a table row...;
        without ``encode``, a tensor as is), through the same loop as a validation batch.

        Returns ``(label, index, probabilities)`` for a classifier, else ``(value, None, output)``: see
        ``prediction.decode_output``.
        """
        ds = self.dls.valid_ds
        x = ds.encode(item) if hasattr(ds, "encode") else item
        xb = tuple(t[None] for t in (x if isinstance(x, (tuple, list)) else (x,)))  # add the batch dimension
        out = self.get_preds(OneBatch(xb))[0][0]
        return decode_output(out, output_kind(self.loss_func), getattr(ds, "classes", None), thresh)

    # -- saving -------------------------------------------------------------------------------------
    def _file(self, name):
        return self.path / self.model_dir / f"{name}.pth"

    def save(self, name, with_opt=True):
        """Save model (and optimizer) weights to ``<path>/<model_dir>/<name>.pth``; returns the path."""
        state = {
            "model": unwrap(self.model).state_dict(),
            "opt": self.opt.state_dict() if (with_opt and self.opt is not None) else None,
        }
        return write_checkpoint(self._file(name), state)

    def load(self, name, with_opt=True, strict=True):
        """Load weights saved by ``save`` (or a plain ``model.state_dict()``). The whole file is checked against
        the model and optimizer first: one that does not fit is a clear error and changes nothing."""
        file = self._file(name)
        model_state, opt_state = read_checkpoint(file, self.device)
        check_model_state(file, self.model, model_state, strict)
        with_opt = with_opt and opt_state is not None
        if with_opt:
            if self.opt is None:
                self.create_opt()
            check_opt_state(file, self.opt, opt_state)
        self.model.load_state_dict(model_state, strict=strict)
        if with_opt:
            self.opt.load_state_dict(opt_state)
        return self

    def summary(self):
        """Each layer's output shape and parameter count, on one training batch (``coursekit.summary``)."""
        return learner_summary(self)

    def __repr__(self):
        total = sum(p.numel() for p in self.model.parameters())
        trainable = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        loss = getattr(self.loss_func, "__name__", type(self.loss_func).__name__)
        return (
            f"Learner({type(self.model).__name__}: {total:,} parameters, {trainable:,} trainable, "
            f"{len(self.layer_groups())} layer groups; loss={loss}; device={self.device}"
            f"{'; weights converted to channels-last in place' if self.channels_last else ''}; "
            f"metrics={self.recorder.metric_columns}; {self.precision.describe()})"
        )
