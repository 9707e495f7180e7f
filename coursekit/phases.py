"""Training phases (the 2018 ``TrainingPhase``): one fit made of phases, each with its own length, learning-rate
and momentum schedules, and optionally its own optimizer and data. This is coursekit's one scheduler:
``Learner.fit_one_cycle`` and ``Learner.fit_sgdr`` are the phase lists ``one_cycle_phases`` and ``sgdr_phases``.

``fit(learn, [Phase(...), ...])`` runs one ``learn.fit`` whose ``PhaseScheduler`` callback sets every step's
learning rates and momentum from the phase that step falls in. A phase lasts ``n_epochs`` epochs of its data
(fractions allowed): phase ``k`` covers the steps ``[start_k, end_k)`` on a continuous step axis, and its
schedule is a function of the fraction of it done, ``pct = (step - start_k) / (end_k - start_k)``: its first
value at ``start_k``, its last at ``end_k`` (which belongs to the next phase). With one set of data this is the
fraction of the whole training done, ``step / n_steps``, mapped onto each phase's share of it.

The steps are counted when the fit starts, after every callback that changes the data has run
(``Precompute`` at order -20, ``DistributedTrainer`` at order -15, which gives each process its shard): so a
schedule runs to its end however many batches each process sees.

A phase with its own ``dls`` must start at an epoch boundary (data are swapped between epochs); the
learner's own data are put back after each epoch and after the fit. A phase with its own ``opt_func`` gets a
fresh optimizer when it starts (the learner keeps the last one). A phase of zero or negative length is an error
naming it.
"""

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

from coursekit.callbacks import Callback, CancelTrainException
from coursekit.core import listify
from coursekit.schedule import cos_anneal, exp_anneal, lin_anneal

ANNEALS = {"constant": lambda start, end, pct: start, "linear": lin_anneal, "cos": cos_anneal, "exp": exp_anneal}


@dataclass
class Phase:
    """``n_epochs`` of training with ``lr`` (a value, or ``(start, end)`` annealed by ``anneal``) and ``mom`` (None:
    left as the optimizer has it) annealed by ``mom_anneal`` (default: ``anneal``). A value is a number, a list
    (one per layer group) or a ``slice`` (differential rates), as ``Learner.group_lrs`` takes it."""

    n_epochs: float
    lr: Any = None
    anneal: str = "constant"
    mom: Any = None
    mom_anneal: Optional[str] = None
    opt_func: Optional[Callable] = None
    dls: Any = None
    name: str = ""

    def ends(self, value):
        """(start, end) of an lr or momentum given as a value or a pair."""
        return tuple(value) if isinstance(value, tuple) else (value, value)

    def __str__(self):
        lr = " -> ".join(str(v) for v in self.ends(self.lr))
        return f"{self.name or 'Phase'}({self.n_epochs:g} epochs, lr {lr} {self.anneal})"


def check_phases(phases):
    """Phases as a list, each checked: positive length, known anneal names, exp anneals between positive values."""
    phases = listify(phases)
    if not phases:
        raise ValueError("fit needs at least one Phase.")
    for i, ph in enumerate(phases):
        where = f"phase {i} of {len(phases)} ({ph})"
        if not isinstance(ph, Phase):
            raise TypeError(f"{where} is a {type(ph).__name__}, not a Phase: write Phase(n_epochs, lr=...).")
        if not ph.n_epochs > 0:
            raise ValueError(
                f"{where} has length {ph.n_epochs} epochs: every phase must last more than zero "
                f"epochs; remove it from the list or give it a positive length."
            )
        for kind, value in (("anneal", ph.anneal), ("mom_anneal", ph.mom_anneal or ph.anneal)):
            if kind == "mom_anneal" and ph.mom is None:
                continue
            if value not in ANNEALS:
                raise ValueError(f"{where}: unknown {kind} {value!r}; use one of {', '.join(ANNEALS)}.")
        if ph.anneal == "exp" and not all(isinstance(v, (int, float)) and v > 0 for v in ph.ends(ph.lr)):
            raise ValueError(f"{where}: an 'exp' anneal needs positive numbers at both ends (got {ph.lr!r}).")
    return phases


def phase_bounds(phases, steps_per_epoch):
    """[(start, end)] of each phase on the step axis (floats): ``steps_per_epoch`` is a number, or a function of a
    phase's ``dls`` (None for the learner's)."""
    spe = steps_per_epoch if callable(steps_per_epoch) else (lambda dls: steps_per_epoch)
    bounds, start = [], 0.0
    for ph in phases:
        end = start + ph.n_epochs * spe(ph.dls)
        bounds.append((start, end))
        start = end
    return bounds


def values_at(phase, pct, group_lrs):
    """(lrs per group, momentum or None) of ``phase`` at ``pct`` (0..1) of its length; ``group_lrs``: a function
    that spreads a value over the layer groups, or its two results for the phase's ends, computed once."""
    lo, hi = group_lrs if isinstance(group_lrs, tuple) else (group_lrs(v) for v in phase.ends(phase.lr))
    lrs = [ANNEALS[phase.anneal](a, b, pct) for a, b in zip(lo, hi)]
    if phase.mom is None:
        return lrs, None
    m0, m1 = phase.ends(phase.mom)
    return lrs, ANNEALS[phase.mom_anneal or phase.anneal](m0, m1, pct)


def phase_at(bounds, step):
    """Index of the phase whose [start, end) holds ``step`` (the last phase for steps past the end)."""
    for k, (start, end) in enumerate(bounds):
        if step < end - 1e-9:  # tolerance: boundaries are sums of float epochs
            return k
    return len(bounds) - 1


def schedule_of(phases, steps_per_epoch, group_lrs=lambda v: listify(v)):
    """(lrs, moms): the values each training step of the phases gets (last group's lr), without training."""
    phases = check_phases(phases)
    bounds = phase_bounds(phases, steps_per_epoch)
    lrs, moms = [], []
    for step in range(math.ceil(bounds[-1][1] - 1e-9)):
        k = phase_at(bounds, step)
        start, end = bounds[k]
        lr, mom = values_at(phases[k], (step - start) / (end - start), group_lrs)
        lrs.append(lr[-1])
        moms.append(mom)
    return lrs, moms


def plan(phases, steps_per_epoch):
    """(bounds, n_steps, n_epochs) of checked ``phases``: each phase's [start, end) on the step axis, the training
    steps in all, and the epochs that run them when each epoch uses the data of the phase it starts in.
    ``steps_per_epoch(dls)`` counts the batches of a phase's data (None: the learner's)."""
    bounds = phase_bounds(phases, steps_per_epoch)
    n_steps = math.ceil(bounds[-1][1] - 1e-9)
    starts, step = [], 0.0  # walk the step axis epoch by epoch
    while step < n_steps - 1e-9:
        starts.append(step)
        k = phase_at(bounds, step)
        if steps_per_epoch(phases[k].dls) <= 0:
            raise ValueError(f"phase {k} of {len(phases)} ({phases[k]}) has no training batches: check its data.")
        step += steps_per_epoch(phases[k].dls)
    for k, ph in enumerate(phases):  # new data may only come in at the start of an epoch
        if k and ph.dls is not phases[k - 1].dls and not any(abs(s - bounds[k][0]) < 1e-6 for s in starts + [step]):
            raise ValueError(
                f"phase {k} of {len(phases)} ({ph}) brings its own data but starts in the middle of "
                f"an epoch (step {bounds[k][0]:g}): make the phases before it whole epochs."
            )
    return bounds, n_steps, len(starts)


class PhaseScheduler(Callback):
    """Sets every training step's lrs and momentum from its phase; swaps data and optimizer between phases."""

    order = 10  # after the callbacks that change the data (-20, -15) and the step counter (-5), before the batch

    def __init__(self, phases):
        self.phases, self.current, self.learner_dls = phases, None, None

    def before_fit(self, learn):
        # Counted now, on the data this fit trains on (a process's shard, precomputed activations).
        self.learner_dls, self.current = learn.dls, None
        self.group_ends = [tuple(learn.group_lrs(v) for v in ph.ends(ph.lr)) for ph in self.phases]  # once a fit
        self.bounds, self.n_steps, n_epochs = plan(self.phases, lambda dls: len((dls or learn.dls).train))
        if n_epochs != learn.n_epochs:
            raise ValueError(
                f"{learn.fit_call}: the phases need {n_epochs} epochs of the data this fit trains on, but "
                f"{learn.n_epochs} were planned before a callback changed the learner's data (its batches per "
                "epoch no longer match the phases' own data): give every phase the same data, or none."
            )

    def before_epoch(self, learn):
        dls = self.phases[phase_at(self.bounds, learn.n_iter)].dls
        learn.dls = self.learner_dls if dls is None else dls

    def before_batch(self, learn):
        if not learn.training:
            return
        if learn.n_iter >= self.n_steps:  # the last phase ended inside this epoch
            raise CancelTrainException()
        k = phase_at(self.bounds, learn.n_iter)
        phase = self.phases[k]
        if k != self.current:
            self.current = k
            if phase.opt_func is not None and phase.opt_func is not learn.opt_func:
                learn.opt_func = phase.opt_func
                learn.create_opt()  # a new optimizer: its state starts empty
        start, end = self.bounds[k]
        lrs, mom = values_at(phase, (learn.n_iter - start) / (end - start), self.group_ends[k])
        for group, lr in zip(learn.opt.param_groups, lrs):
            group["lr"] = lr
            if mom is not None:
                if "betas" in group:
                    group["betas"] = (mom, group["betas"][1])
                elif "momentum" in group:
                    group["momentum"] = mom

    def after_epoch(self, learn):
        # The learner's own data back before the callbacks that swapped it put theirs back (after_fit runs
        # Precompute and DistributedTrainer first).
        learn.dls = self.learner_dls

    def after_fit(self, learn):
        if any(learn.dls is ph.dls for ph in self.phases):  # a fit stopped inside a phase with its own data
            learn.dls = self.learner_dls


def fit(learn, phases, cbs=None, call=None):
    """Train ``learn`` through ``phases`` (a list of ``Phase``) in one fit; ``cbs``: extra callbacks for it;
    ``call``: how messages and checkpoints name the fit (default ``phases.fit([...])``)."""
    phases = check_phases(phases)
    # The epochs to run; PhaseScheduler counts the steps again once the data this fit trains on are in place.
    _, _, n_epochs = plan(phases, lambda dls: len((dls or learn.dls).train))
    call = call or f"phases.fit([{', '.join(str(ph) for ph in phases)}])"
    learn.fit(n_epochs, cbs=listify(cbs) + [PhaseScheduler(phases)], call=call)


def sgdr_phases(n_cycles, lr, cycle_len=1, cycle_mult=1):
    """SGDR (``Learner.fit_sgdr``) as phases: cycle ``i`` anneals ``lr`` -> 0 by cosine over
    ``cycle_len*cycle_mult**i`` epochs (no momentum schedule); each step of a cycle gets what PyTorch's
    ``CosineAnnealingWarmRestarts`` gives it."""
    return [Phase(cycle_len * cycle_mult**i, lr=(lr, 0.0), anneal="cos", name=f"cycle {i}") for i in range(n_cycles)]


def one_cycle_phases(n_epochs, lr_max, pct_start=0.3, div=25.0, final_div=1e4, moms=(0.95, 0.85)):
    """One cycle (``Learner.fit_one_cycle``) as phases: a cosine warm-up from ``lr_max/div`` to ``lr_max`` over the
    first ``pct_start`` of the training, then a cosine descent towards ``lr_max/div/final_div``; momentum (unless
    ``moms`` is None) goes the other way. ``lr_max``: a number, or a list with one rate per layer group.

    Where the peak falls: a curve of the fraction of training done, ``pos = step / n`` for steps ``0..n-1``, as
    fastai's ``fit_one_cycle`` (``combine_scheds`` of two cosines at ``pos``): the peak is at step ``pct_start*n``
    and the last step, at ``pos = (n-1)/n``, is one step short of the final rate. PyTorch's ``OneCycleLR`` turns
    one step earlier (peak at step ``pct_start*n - 1``) and reaches the final rate at the last step: its curve over
    ``n + 1`` steps with the peak at ``pct_start*n`` is this one plus a last step. coursekit takes fastai's
    placement because the course follows fastai's recipes (its benchmarks compare against them), and because a
    curve of the fraction done is the same curve whatever the number of steps (one process or several, one batch
    size or another): only how finely it is sampled changes."""
    if not n_epochs > 0:
        raise ValueError(f"one cycle of {n_epochs} epochs: give it a positive number of epochs.")
    if not 0 <= pct_start <= 1:
        raise ValueError(f"pct_start={pct_start}: the share of the cycle spent warming up must be between 0 and 1.")
    scaled = lambda f: [f(v) for v in lr_max] if isinstance(lr_max, list) else f(lr_max)
    lo, end = scaled(lambda v: v / div), scaled(lambda v: v / div / final_div)
    hi_mom, lo_mom = moms if moms else (None, None)
    warm = Phase(pct_start * n_epochs, lr=(lo, lr_max), anneal="cos", mom=moms and (hi_mom, lo_mom), name="warm-up")
    down = Phase(
        (1 - pct_start) * n_epochs, lr=(lr_max, end), anneal="cos", mom=moms and (lo_mom, hi_mom), name="annealing"
    )
    return [ph for ph in (warm, down) if ph.n_epochs > 0]  # pct_start 0: no warm-up; 1: no descent
