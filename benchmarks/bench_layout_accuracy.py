"""Channels-last or the standard layout on a CPU, judged by accuracy at equal time (issue 36).

Channels-last makes a training step faster on a CPU (``bench_channels_last.py``) but its float32 BatchNorm is less
exact (``bench_channels_last_grads.py``). The question for the default is what a student gets in the same time: so
the standard layout trains ``--epochs`` epochs and channels-last as many epochs as fit in that time
(``--cl-epochs``, default: the standard layout's epochs times the speed-up measured on the first seed, rounded
down), on the same seeds, from the same pretrained weights, as bench_vs_fastai trains (lesson 1's sample at 96 px,
one cycle at 2e-3). Seeds are paired and added until the 95% interval of the accuracy difference is under
``--half-width`` points (``paired.py``).

    .venv/bin/python benchmarks/bench_layout_accuracy.py [--epochs 3] [--cl-epochs N] [--min-seeds 15]
"""

import argparse
import copy
import statistics
import time

from torch import nn

from common import sample_tensors, tensor_dls
from coursekit.core import seed_everything
from coursekit.learner import Learner
from coursekit.metrics import accuracy
from coursekit.vision.models import cnn_model
from paired import enough, paired, verdict


def fit(model, train_ds, valid_ds, epochs, channels_last, seed, args):
    learn = Learner(
        model,
        tensor_dls(train_ds, valid_ds, bs=args.bs, seed=seed),
        nn.CrossEntropyLoss(),
        metrics=[accuracy],
        device="cpu",
        channels_last=channels_last,
    )
    start = time.perf_counter()
    learn.fit_one_cycle(epochs, args.lr)
    return learn.recorder.last_metrics["accuracy"], time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--cl-epochs", type=int, default=None)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--bs", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--min-seeds", type=int, default=15)
    parser.add_argument("--max-seeds", type=int, default=30)
    parser.add_argument("--half-width", type=float, default=1.0)
    args = parser.parse_args()
    seed_everything(0)
    train_ds, valid_ds = sample_tensors(args.size)
    seed_everything(0)
    start_model = cnn_model("efficientnet_lite0", n_out=2)
    res = {"standard": ([], []), "channels-last": ([], [])}
    seed, cl_epochs = 0, args.cl_epochs
    while not enough(
        res["channels-last"][0], res["standard"][0], args.min_seeds, args.max_seeds, args.half_width / 100
    ):
        seed_everything(seed)
        acc, t = fit(copy.deepcopy(start_model), train_ds, valid_ds, args.epochs, False, seed, args)
        res["standard"][0].append(acc), res["standard"][1].append(t)
        if cl_epochs is None:  # the speed-up, measured on one epoch of the same work
            seed_everything(seed)
            _, t1 = fit(copy.deepcopy(start_model), train_ds, valid_ds, 1, True, seed, args)
            cl_epochs = max(args.epochs, int(t / t1))
            print(f"one channels-last epoch {t1:.1f} s against {t / args.epochs:.1f} s: {cl_epochs} epochs in the time")
        seed_everything(seed)
        acc, t = fit(copy.deepcopy(start_model), train_ds, valid_ds, cl_epochs, True, seed, args)
        res["channels-last"][0].append(acc), res["channels-last"][1].append(t)
        print(
            f"seed {seed}: standard {args.epochs} epochs {res['standard'][0][-1]:.4f} in "
            f"{res['standard'][1][-1]:.1f} s; channels-last {cl_epochs} epochs {acc:.4f} in {t:.1f} s",
            flush=True,
        )
        seed += 1
    ratio = statistics.median(res["channels-last"][1]) / statistics.median(res["standard"][1])
    print(
        f"\n{seed} seeds; {len(valid_ds)} validation images; standard layout {args.epochs} epochs, channels-last "
        f"{cl_epochs} epochs; time ratio channels-last/standard {ratio:.3f} (medians)"
    )
    for name, (accs, times) in res.items():
        print(f"{name:<14} accuracy mean {statistics.mean(accs):.4f} sd {statistics.stdev(accs):.4f}")
    pts = lambda xs: [100 * x for x in xs]
    print(
        "accuracy, channels-last - standard: "
        + verdict(paired(pts(res["channels-last"][0]), pts(res["standard"][0])), " points")
    )


if __name__ == "__main__":
    main()
