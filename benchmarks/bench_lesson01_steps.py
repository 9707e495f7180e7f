"""Lesson 1's recipe step by step over several seeds: does each step the notebook teaches beat the one before it
by more than the seed-to-seed noise?

The steps are the notebook's, with its sample-mode settings (EfficientNet-Lite0, 96 px, bs 32): the head trained
for 2 epochs on precomputed activations (the three-line classifier); then, as in 2018, a fresh frozen model whose
frozen BatchNorm keeps its pretrained statistics (``train_bn=False``): the learning-rate finder swept over the head on
precomputed activations (300 steps; the rate used is a tenth of the one at the lowest loss), one epoch of the head
on precomputed activations, the head trained with augmentation and SGDR (1 + 2 epochs); the whole network unfrozen
with differential learning rates and SGDR (1 + 2 epochs), every BatchNorm keeping its statistics (``KeepBNStats``);
test-time augmentation. Prints validation accuracy and loss after each step, per seed, then the mean and standard
deviation of each, and the number of validation images (one image is 1/n of accuracy).

``--precision both`` runs every seed twice, in float32 (``mixed_precision=False``) and as the Learner chooses
(``"auto"``: bf16 autocast on a CPU with native bf16), both channels-last, and prints each one's recipe time and
accuracy, and what bf16 changed seed by seed (issue 14: the lesson-1 recipe with CPU bf16 against float32).
Several precisions can be named (``--precision float32 fp16 bf16`` on a CUDA GPU); each is compared with float32.

    .venv/bin/python benchmarks/bench_lesson01_steps.py [--seeds 42 1 2 3 4] [--mode sample] [--threads 1]
        [--precision auto|float32|fp16|bf16|both ...]
"""

import argparse
import statistics
import time

import torch
from torch import nn

import common  # noqa: F401  (puts the repository on sys.path)
from paired import paired, verdict
from coursekit import datasets, metrics
from coursekit.callbacks import KeepBNStats
from coursekit.core import default_device, seed_everything
from coursekit.learner import Learner
from coursekit.precision import auto_mixed_precision
from coursekit.precompute import Precompute
from coursekit.vision import loaders, models

STEPS = ("precomputed head", "augmented head, SGDR", "unfrozen, SGDR", "TTA")


def run(path, seed, arch, size, bs, mixed_precision="auto"):
    """Validation (accuracy, loss) after each step of the lesson, for one seed."""
    seed_everything(seed)
    dls = loaders.image_dls_from_folder(path, size=size, bs=bs, tfms="side_on", seed=seed)
    loss_func = nn.CrossEntropyLoss()

    def learner(train_bn=True):
        model = models.cnn_model(arch, n_out=dls.c)
        learn = Learner(
            model, dls, loss_func, metrics=[metrics.accuracy], train_bn=train_bn, mixed_precision=mixed_precision
        )
        learn.freeze()
        return learn

    def scored(learn, probs=None):
        if probs is None:
            probs, targets = learn.get_preds()
        else:
            probs, targets = probs
        return metrics.accuracy(probs, targets).item(), nn.functional.nll_loss(probs.log(), targets).item()

    out = {}
    learn = learner()
    learn.fit_one_cycle(2, 3e-3, cbs=Precompute())
    out[STEPS[0]] = scored(learn)
    seed_everything(seed)
    learn = learner(train_bn=False)
    precompute = Precompute()  # as the notebook: the head start reuses the sweep's activations
    lr = learn.lr_find(num_it=300, show_plot=False, cbs=precompute).lr_min
    learn.fit_one_cycle(1, lr, cbs=precompute)
    learn.fit_sgdr(2, lr, cycle_len=1, cycle_mult=2)
    out[STEPS[1]] = scored(learn)
    learn.unfreeze()
    learn.fit_sgdr(2, slice(lr / 100, lr / 5), cycle_len=1, cycle_mult=2, cbs=KeepBNStats())
    out[STEPS[2]] = scored(learn)
    out[STEPS[3]] = scored(learn, learn.tta(n=4))
    return out, len(dls.valid_ds), lr


def summarise(results, seeds, n_valid, label):
    """The mean and sd of each step over the seeds, then each step's paired gain over the one before it."""
    print(f"\n{label}: {n_valid} validation images (one image = {1 / n_valid:.4f})")
    print(f"{'step':<22} {'accuracy mean':>13} {'sd':>6} {'loss mean':>10} {'sd':>6}   per seed (accuracy)")
    sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0
    for step in STEPS:
        accs = [results[s][step][0] for s in seeds]
        losses = [results[s][step][1] for s in seeds]
        print(
            f"{step:<22} {statistics.mean(accs):>13.4f} {sd(accs):>6.4f} {statistics.mean(losses):>10.4f} "
            f"{sd(losses):>6.4f}   {' '.join(f'{a:.3f}' for a in accs)}"
        )
    print("what each step added to the one before it, seed by seed (accuracy points; the seeds' spread is shared by")
    print("all of a seed's steps, so these paired gains are what say whether a step helps):")
    for before, step in zip(STEPS, STEPS[1:]):
        gains = [100 * (results[s][step][0] - results[s][before][0]) for s in seeds]
        print(
            f"{step:<22} mean {statistics.mean(gains):+5.1f}  smallest {min(gains):+5.1f}   "
            + " ".join(f"{g:+.1f}" for g in gains)
        )
        print(f"{'':<22} {verdict(paired(gains, [0.0] * len(gains)), ' points')}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2, 3, 4])
    parser.add_argument("--mode", default="sample")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's choice)")
    parser.add_argument(
        "--precision",
        nargs="+",
        choices=("auto", "float32", "fp16", "bf16", "both"),
        default=["auto"],
        help="the Learner's mixed_precision; several are run seed by seed, alternating",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    sample = args.mode == "sample"
    arch, size = ("efficientnet_lite0", 96) if sample else ("resnet34", 224)
    path = datasets.get_data("dogscats", mode=args.mode)
    chosen = auto_mixed_precision(default_device()) or "float32"
    named = {"auto": ["auto"], "float32": [False], "fp16": ["fp16"], "bf16": ["bf16"], "both": [False, "auto"]}
    precisions = list(dict.fromkeys(p for name in args.precision for p in named[name]))
    names = {False: "float32", "auto": f"auto ({chosen})", "fp16": "fp16", "bf16": "bf16"}
    results, seconds = {p: {} for p in precisions}, {p: {} for p in precisions}
    for seed in args.seeds:
        for precision in precisions:  # alternating, so both see the same machine load
            start = time.perf_counter()
            results[precision][seed], n_valid, lr = run(path, seed, arch, size, bs=32, mixed_precision=precision)
            seconds[precision][seed] = time.perf_counter() - start
            print(
                f"seed {seed}, {names[precision]} (lr {lr:.1e}, {seconds[precision][seed]:.0f} s): "
                + "; ".join(f"{s} {a:.3f} / {loss:.3f}" for s, (a, loss) in results[precision][seed].items()),
                flush=True,
            )
    for precision in precisions:
        summarise(results[precision], args.seeds, n_valid, f"{args.mode} mode, {arch} at {size} px, {names[precision]}")
    if False not in precisions:
        return
    fp32, t32 = results[False], statistics.median(seconds[False].values())
    for precision in precisions:
        if precision is False:
            continue
        other, t = results[precision], statistics.median(seconds[precision].values())
        name = names[precision]
        print(f"\nwhole recipe per seed (median): float32 {t32:.1f} s, {name} {t:.1f} s, ratio {t32 / t:.2f}")
        print(f"{names[precision]} minus float32, seed by seed (accuracy points):")
        for step in STEPS:
            diffs = [100 * (other[s][step][0] - fp32[s][step][0]) for s in args.seeds]
            print(f"{step:<22} mean {statistics.mean(diffs):+5.1f}   " + " ".join(f"{d:+.1f}" for d in diffs))
            print(f"{'':<22} {verdict(paired(diffs, [0.0] * len(diffs)), ' points')}")


if __name__ == "__main__":
    main()
