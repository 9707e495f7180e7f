"""The Learner: a model, its data, a loss and an optimizer, trained through callback events.

``fit`` runs nested stages (fit > epoch > train/valid > batch). Each stage is run by ``_run_stage``,
which fires ``before_<stage>``, runs the body, catches that stage's cancel exception, and fires
``after_<stage>``. A batch is small overridable steps: predict_batch, get_loss, backward, step,
zero_grad.
"""
import copy
import math
import os
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from coursekit.callbacks import (CANCEL, EVENTS, LRFinder, NaNCheck, ParamScheduler, ProgressCallback,
                                 Recorder, TrainEvalCallback, DeviceCallback, _smooth)
from coursekit.core import default_device, listify, to_cpu, to_device
from coursekit.schedule import one_cycle_momentum, one_cycle_schedule, sgdr_lengths, sgdr_schedule

BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def adamw(params, lr, weight_decay=0.01):
    """AdamW with the betas the course uses (0.9, 0.99): decoupled weight decay."""
    return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.99), eps=1e-6, weight_decay=weight_decay)


def sgd_momentum(params, lr, weight_decay=0.0):
    """SGD with momentum 0.9, as the 2018 image lessons trained."""
    return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)


def activation_for(loss_func):
    """The activation that turns raw outputs into what the loss compares: softmax, sigmoid or nothing."""
    if isinstance(loss_func, nn.CrossEntropyLoss) or loss_func is F.cross_entropy:
        return lambda x: F.softmax(x.float(), dim=1)
    if isinstance(loss_func, nn.BCEWithLogitsLoss) or loss_func is F.binary_cross_entropy_with_logits:
        return lambda x: torch.sigmoid(x.float())
    return lambda x: x


class Learner:
    """Trains ``model`` on ``dls`` with ``loss_func``; ``cbs`` are extra callbacks kept for every fit."""

    def __init__(self, model, dls, loss_func, opt_func=adamw, lr=1e-3, wd=0.01, metrics=(), cbs=(),
                 layer_groups=None, path=".", model_dir="models", device=None, mixed_precision=False,
                 train_bn=True):
        self.model, self.dls, self.loss_func, self.opt_func = model, dls, loss_func, opt_func
        self.lr, self.wd, self.train_bn = lr, wd, train_bn
        self.path, self.model_dir = Path(path), model_dir
        self.device = torch.device(device) if device is not None else default_device()
        self._layer_groups = layer_groups
        self.mixed_precision = self._check_mixed_precision(mixed_precision)
        self.scaler = torch.amp.GradScaler("cuda") if self.mixed_precision == "fp16" else None
        self.recorder = Recorder(metrics)
        self.cbs = []
        self.add_cbs([DeviceCallback(), TrainEvalCallback(), NaNCheck(), self.recorder, ProgressCallback()])
        self.add_cbs(cbs)
        self.opt, self.epoch, self.n_epochs, self.training = None, 0, 0, False
        self.model.to(self.device)

    # -- callbacks ------------------------------------------------------------------------------
    def add_cbs(self, cbs):
        for cb in listify(cbs):
            self.cbs.append(cb)

    def remove_cbs(self, cbs):
        for cb in listify(cbs):
            if cb in self.cbs:
                self.cbs.remove(cb)

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

        With ``train_bn`` (the default) BatchNorm layers keep training in frozen groups: their statistics
        have to adapt to the new data.
        """
        groups = self.layer_groups()
        n = n % len(groups) if n < 0 else min(n, len(groups))
        for i, group in enumerate(groups):
            for p in group.parameters():
                p.requires_grad_(i >= n)
            if self.train_bn and i < n:
                for m in group.modules():
                    if isinstance(m, BN_TYPES):
                        for p in m.parameters():
                            p.requires_grad_(True)

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
                raise ValueError(f"Got {len(lr)} learning rates for {n} layer groups; give one per group "
                                 f"or a slice(lo, hi).")
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

    def fit(self, n_epochs, lr=None, cbs=None):
        """Train for ``n_epochs`` at a constant ``lr`` (or as temporary ``cbs`` schedule it)."""
        cbs = listify(cbs)
        self.add_cbs(cbs)
        if self.opt is None:
            self.create_opt()
        self.zero_grad()  # gradients left by an interrupted or cancelled step must not leak into this fit
        self.set_lrs(self.group_lrs(lr))
        self.n_epochs = n_epochs
        try:
            self._run_stage("fit", self._do_fit)
        except KeyboardInterrupt:
            print(f"Training interrupted in epoch {self.epoch + 1}/{n_epochs}, batch {getattr(self, 'iter', 0)}. "
                  "The model keeps the weights of the last completed step; learn.save('name') keeps them "
                  "on disk, and fit can be called again to carry on.")
            raise
        finally:
            self.remove_cbs(cbs)

    def _do_fit(self):
        for self.epoch in range(self.n_epochs):
            self._run_stage("epoch", self._do_epoch)

    def _do_epoch(self):
        self.training, self.dl = True, self.dls.train
        self._run_stage("train", self._all_batches)
        self.training, self.dl = False, self.dls.valid
        with torch.no_grad():
            self._run_stage("valid", self._all_batches)

    def _all_batches(self):
        for self.iter, self.batch in enumerate(self.dl):
            self._run_stage("batch", self._one_batch)

    def _one_batch(self):
        self.loss, self.preds = None, None
        batch = to_device(self.batch, self.device)
        self.xb, self.yb = tuple(batch[:-1]), tuple(batch[-1:])
        self.predict_batch()
        self.callback("after_pred")
        self.get_loss()
        self.callback("after_loss")
        if self.training:
            self.backward()
            self.callback("after_backward")
            self.step()
            self.callback("after_step")
            self.zero_grad()

    def _autocast(self):
        dtype = torch.bfloat16 if self.mixed_precision == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype, enabled=bool(self.mixed_precision))

    def predict_batch(self):
        with self._autocast():
            self.preds = self.model(*self.xb)

    def get_loss(self):
        with self._autocast():
            self.loss = self.loss_func(self.preds, *self.yb)

    def backward(self):
        (self.scaler.scale(self.loss) if self.scaler else self.loss).backward()

    def step(self):
        if self.scaler:
            self.scaler.step(self.opt)
            self.scaler.update()
        else:
            self.opt.step()

    def zero_grad(self):
        self.opt.zero_grad(set_to_none=True)

    def _check_mixed_precision(self, mp):
        if not mp:
            return False
        if self.device.type != "cuda":
            warnings.warn("mixed_precision needs a CUDA GPU; training in full precision on "
                          f"{self.device.type}.")
            return False
        return "bf16" if mp == "bf16" else "fp16"

    # -- schedules --------------------------------------------------------------------------------
    def fit_one_cycle(self, n_epochs, lr_max=None, pct_start=0.3, div=25.0, final_div=1e4,
                      moms=(0.95, 0.85), cbs=None):
        """One cycle: lr warms up to ``lr_max`` then anneals far below it; momentum mirrors it."""
        n_steps = n_epochs * len(self.dls.train)
        shape = one_cycle_schedule(n_steps, 1.0, pct_start, div, final_div)  # relative to each group's lr
        maxes = self.group_lrs(lr_max)
        mom = one_cycle_momentum(n_steps, pct_start, *moms) if moms else None
        sched = ParamScheduler(lambda step: [m * shape(step) for m in maxes], mom)
        self.fit(n_epochs, lr_max, cbs=listify(cbs) + [sched])

    def fit_sgdr(self, n_cycles, lr=None, cycle_len=1, cycle_mult=1, cbs=None):
        """SGDR: ``n_cycles`` cosine annealings with warm restarts, cycle ``i`` lasting
        ``cycle_len * cycle_mult**i`` epochs (the 2018 ``fit(lr, n_cycles, cycle_len, cycle_mult)``)."""
        n_epochs = sum(sgdr_lengths(n_cycles, cycle_len, cycle_mult))
        shape, _ = sgdr_schedule(n_cycles, 1.0, len(self.dls.train), cycle_len, cycle_mult)
        tops = self.group_lrs(lr)
        sched = ParamScheduler(lambda step: [t * shape(step) for t in tops])
        self.fit(n_epochs, lr, cbs=listify(cbs) + [sched])

    def lr_find(self, start_lr=1e-7, end_lr=10, num_it=100, show_plot=True):
        """Sweep the lr exponentially, stop when the loss diverges, restore the weights; plot and suggest."""
        if self.opt is None:
            self.create_opt()
        finder = LRFinder(start_lr, end_lr, num_it)
        progress = [cb for cb in self.cbs if isinstance(cb, ProgressCallback)]
        self.remove_cbs(progress)
        try:
            self.fit(math.ceil(num_it / len(self.dls.train)), cbs=[finder])
        finally:
            finder.restore(self)
            self.add_cbs(progress)
        self.lr_find_result = LRFindResult(finder.lrs, finder.losses)
        if show_plot:
            self.lr_find_result.plot()
        return self.lr_find_result

    # -- predictions --------------------------------------------------------------------------------
    def get_preds(self, dl=None, with_loss=False, act=None):
        """Predictions (after the loss's activation) and targets for a whole loader (default: valid)."""
        dl = self.dls.valid if dl is None else dl
        act = activation_for(self.loss_func) if act is None else act
        per_item_loss = self._per_item_loss() if with_loss else None
        preds, targets, losses = [], [], []
        self.model.to(self.device).eval()
        with torch.no_grad():
            for batch in dl:
                batch = to_device(batch, self.device)
                with self._autocast():
                    out = self.model(*batch[:-1])
                preds.append(to_cpu(act(out.float())))
                targets.append(to_cpu(batch[-1]))
                if with_loss:
                    losses.append(to_cpu(per_item_loss(out.float(), batch[-1])))
        result = (torch.cat(preds), torch.cat(targets))
        return result + (torch.cat(losses),) if with_loss else result

    def _per_item_loss(self):
        if isinstance(self.loss_func, nn.Module) and hasattr(self.loss_func, "reduction"):
            lf = copy.copy(self.loss_func)
            lf.reduction = "none"
            return lambda out, y: lf(out, y).reshape(len(y), -1).mean(dim=1)
        raise TypeError("with_loss needs a torch.nn loss module (one with a 'reduction' attribute).")

    def tta(self, n=4, dl=None):
        """Test-time augmentation: average probabilities over the original and ``n`` augmented views.

        The augmented views reuse the training transforms on the validation items, so the dataset must
        offer ``with_tfms`` (coursekit's image datasets do).
        """
        dl = self.dls.valid if dl is None else dl
        ds = dl.dataset
        if not hasattr(ds, "with_tfms"):
            raise TypeError(f"TTA needs a dataset with with_tfms(); {type(ds).__name__} has none.")
        preds, targets = self.get_preds(dl)
        aug_dl = torch.utils.data.DataLoader(ds.with_tfms(self.dls.train_ds.tfms), batch_size=dl.batch_size,
                                             shuffle=False, num_workers=dl.num_workers,
                                             collate_fn=dl.collate_fn)
        total = preds.clone()
        for _ in range(n):
            total += self.get_preds(aug_dl)[0]
        return total / (n + 1), targets

    def predict(self, item):
        """Predict one item (an image path, a PIL image or a tensor): returns (label, index, probabilities)."""
        ds = self.dls.valid_ds
        x = ds.encode(item) if hasattr(ds, "encode") else item
        self.model.to(self.device).eval()
        with torch.no_grad():
            out = self.model(to_device(x[None], self.device))
        probs = activation_for(self.loss_func)(out.float())[0].cpu()
        classes = getattr(ds, "classes", None)
        if isinstance(self.loss_func, nn.BCEWithLogitsLoss):
            idx = (probs > 0.5).nonzero().flatten()
            label = [classes[i] for i in idx] if classes is not None else idx.tolist()
            return label, idx, probs
        idx = int(probs.argmax())
        return (classes[idx] if classes is not None else idx), idx, probs

    # -- saving -------------------------------------------------------------------------------------
    def _file(self, name):
        return self.path / self.model_dir / f"{name}.pth"

    def save(self, name, with_opt=True):
        """Save model (and optimizer) weights to ``<path>/<model_dir>/<name>.pth``; returns the path."""
        file = self._file(name)
        file.parent.mkdir(parents=True, exist_ok=True)
        state = {"model": self.model.state_dict(),
                 "opt": self.opt.state_dict() if (with_opt and self.opt is not None) else None}
        tmp = file.with_suffix(".pth.tmp")
        torch.save(state, tmp)
        os.replace(tmp, file)  # a save interrupted half-way never replaces a good file
        return file

    def load(self, name, with_opt=True, strict=True):
        """Load weights saved by ``save``; a clear error when the file or its shapes do not match."""
        file = self._file(name)
        if not file.exists():
            have = sorted(p.stem for p in file.parent.glob("*.pth")) if file.parent.exists() else []
            raise FileNotFoundError(f"No saved model {file}. Saved models here: {have or 'none'}. "
                                    "Save one with learn.save(name) first.")
        state = torch.load(file, map_location=self.device, weights_only=True)
        try:
            self.model.load_state_dict(state["model"], strict=strict)
        except RuntimeError as e:
            raise RuntimeError(f"{file} does not fit this model (was it saved from another architecture "
                               f"or number of classes?):\n{e}") from None
        if with_opt and state.get("opt") is not None:
            if self.opt is None:
                self.create_opt()
            self.opt.load_state_dict(state["opt"])
        return self

    def __repr__(self):
        total = sum(p.numel() for p in self.model.parameters())
        trainable = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        loss = getattr(self.loss_func, "__name__", type(self.loss_func).__name__)
        return (f"Learner({type(self.model).__name__}: {total:,} parameters, {trainable:,} trainable, "
                f"{len(self.layer_groups())} layer groups; loss={loss}; device={self.device}; "
                f"metrics={self.recorder.metric_names[3:-1]})")


class LRFindResult:
    """The lr finder's sweep: learning rates, losses, and a suggested rate.

    ``lr_min`` is ten times below the rate of lowest (smoothed) loss, the 2018 rule of thumb;
    ``lr_steep`` is where the smoothed loss falls fastest, measured over a window of points so that
    batch-to-batch noise at the start does not win. The suggestion is ``lr_steep``, capped by ``lr_min``.
    """

    def __init__(self, lrs, losses, skip_end=3):
        self.lrs, self.losses = list(lrs), list(losses)
        self.smoothed = _smooth(self.losses)
        n = len(self.lrs)
        if n < 4:
            self.lr_min = self.lr_steep = self.suggestion = self.lrs[0] if self.lrs else float("nan")
            return
        i_min = min(range(max(n - skip_end, 1)), key=lambda i: self.smoothed[i])
        self.lr_min = self.lrs[i_min] / 10
        w = max(1, n // 10)  # window for the slope
        start = min(n // 10, max(i_min - w, 0))
        slopes = {i: (self.smoothed[i + w] - self.smoothed[i]) / math.log(self.lrs[i + w] / self.lrs[i])
                  for i in range(start, max(i_min - w + 1, start + 1)) if i + w < n}
        i_steep = min(slopes, key=slopes.get) + w // 2 if slopes else 0
        self.lr_steep = self.lrs[i_steep]
        self.suggestion = min(self.lr_steep, self.lr_min)

    def plot(self, ax=None):
        """Loss against learning rate on a log axis, with the suggestion marked."""
        import matplotlib.pyplot as plt
        ax = ax or plt.subplots(figsize=(6, 4))[1]
        ax.plot(self.lrs, self.losses, alpha=0.3, label="loss")
        ax.plot(self.lrs, self.smoothed, label="smoothed")
        ax.axvline(self.suggestion, color="red", linestyle="--", label=f"suggestion {self.suggestion:.1e}")
        ax.set_xscale("log"), ax.set_xlabel("learning rate (log scale)"), ax.set_ylabel("loss")
        if self.smoothed:  # the divergence at the end would squash the interesting part
            low, high = min(self.smoothed), max(self.smoothed[0], self.smoothed[len(self.smoothed) // 2])
            ax.set_ylim(low - 0.1 * (high - low), high + 0.5 * (high - low))
        ax.legend()
        return ax

    def __repr__(self):
        return (f"LRFindResult({len(self.lrs)} steps; minimum/10 = {self.lr_min:.2e}, "
                f"steepest = {self.lr_steep:.2e}; suggestion = {self.suggestion:.2e})")
