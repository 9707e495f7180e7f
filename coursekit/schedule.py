"""Learning-rate schedules as pure functions of the step number.

Each ``*_schedule`` (and ``one_cycle_momentum``) returns ``f(step) -> lr or momentum`` for ``step`` in
``range(n_steps)``, so the same curve can be plotted, tested against PyTorch's schedulers, and fed to the
Learner; the number of steps is the caller's (``sgdr_lengths`` gives SGDR's epochs).
"""

import math


def cos_anneal(start, end, pct):
    """Cosine interpolation from ``start`` (pct=0) to ``end`` (pct=1)."""
    return end + (start - end) / 2 * (1 + math.cos(math.pi * pct))


def lin_anneal(start, end, pct):
    """Linear interpolation from ``start`` to ``end``."""
    return start + (end - start) * pct


def exp_anneal(start, end, pct):
    """Exponential interpolation (straight on a log axis), as the lr finder sweeps."""
    return start * (end / start) ** pct


def two_phase_cos(n_steps, pct_start, start, middle, end):
    """Cosine from ``start`` to ``middle`` over the first ``pct_start`` of the steps, then to ``end``.

    The phase boundary is placed exactly where ``torch.optim.lr_scheduler.OneCycleLR`` puts it
    (step ``pct_start * n_steps - 1``), so one-cycle curves agree with PyTorch's step for step.
    """
    warm_end = float(pct_start * n_steps) - 1
    last = n_steps - 1

    def f(step):
        if step <= warm_end:
            return cos_anneal(start, middle, step / warm_end if warm_end > 0 else 1.0)
        return cos_anneal(middle, end, (step - warm_end) / max(last - warm_end, 1e-12))

    return f


def one_cycle_schedule(n_steps, lr_max, pct_start=0.3, div=25.0, final_div=1e4):
    """One cycle: cosine warm-up from ``lr_max/div`` to ``lr_max``, then cosine down to ``lr_max/div/final_div``."""
    return two_phase_cos(n_steps, pct_start, lr_max / div, lr_max, lr_max / div / final_div)


def one_cycle_momentum(n_steps, pct_start=0.3, mom_max=0.95, mom_min=0.85):
    """Momentum goes the other way round the cycle: down while the lr rises, back up as it falls."""
    return two_phase_cos(n_steps, pct_start, mom_max, mom_min, mom_max)


def sgdr_lengths(n_cycles, cycle_len=1, cycle_mult=1):
    """Epochs in each SGDR cycle: ``cycle_len * cycle_mult**i``."""
    return [cycle_len * cycle_mult**i for i in range(n_cycles)]


def sgdr_schedule(n_cycles, lr, steps_per_epoch, cycle_len=1, cycle_mult=1, lr_min=0.0):
    """Cosine annealing with warm restarts (SGDR, 2018 style): each cycle anneals ``lr`` -> ``lr_min``.

    Cycle ``i`` lasts ``cycle_len * cycle_mult**i`` epochs (``sgdr_lengths``); after the last, ``lr_min``.
    """
    bounds, start = [], 0
    for n_epochs in sgdr_lengths(n_cycles, cycle_len, cycle_mult):
        bounds.append((start, n_epochs * steps_per_epoch))
        start += n_epochs * steps_per_epoch

    def f(step):
        for first, length in bounds:
            if step < first + length:
                return cos_anneal(lr, lr_min, (step - first) / length)
        return lr_min

    return f


def cycle_starts(n_cycles, cycle_len=1, cycle_mult=1):
    """The epochs at which SGDR restarts (0 included)."""
    starts, epoch = [], 0
    for n in sgdr_lengths(n_cycles, cycle_len, cycle_mult):
        starts.append(epoch)
        epoch += n
    return starts
