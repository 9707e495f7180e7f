"""coursekit against fastai v2 on the same work: same model, same preloaded images, one-cycle training.

fastai is installed for this benchmark only, into .bench-site/ (see requirements-fastai.txt; `make bench`
does it). Runs alternate between the libraries on the same seeds (both start from the same weights, and seed
``i`` seeds both libraries' shuffles); prints the time ratio and the paired accuracy difference with its standard
error and 95% interval (``paired.py``). Seeds are added until that interval is at most ``--half-width`` points wide on
each side, from ``--min-seeds`` (15: one run's accuracy here moves by about 2 points, so five seeds cannot resolve
one point) up to ``--max-seeds``.

    .venv/bin/python benchmarks/bench_vs_fastai.py [--epochs 3] [--min-seeds 15] [--max-seeds 40] [--size 96]
        [--mixed-precision fp16] [--channels-last auto|off]

By default each library trains as it chooses on the machine (coursekit's ``mixed_precision="auto"``: bf16 on a CPU
with native bf16, else float32; fastai: float32). ``--mixed-precision fp16`` (or ``bf16``) asks both for it: the
Learner's ``mixed_precision=`` and fastai's ``to_fp16()`` (``to_bf16()``), as each library's documentation
recommends on a GPU.
"""

import argparse
import copy
import statistics
import sys
import time
import warnings

import torch
from torch import nn

from common import REPO, tensor_dls, peak_memory_mb, sample_tensors
from paired import enough, paired, verdict
from coursekit.core import default_device, seed_everything
from coursekit.learner import Learner
from coursekit.metrics import accuracy
from coursekit.vision.models import cnn_model

sys.path.insert(0, str(REPO / ".bench-site"))
warnings.filterwarnings("ignore", category=FutureWarning)


def fit_coursekit(model, train_ds, valid_ds, args, device, seed):
    learn = Learner(
        model,
        tensor_dls(train_ds, valid_ds, bs=args.bs, seed=seed),
        nn.CrossEntropyLoss(),
        metrics=[accuracy],
        device=device,
        mixed_precision=args.mixed_precision or "auto",
        channels_last="auto" if args.channels_last == "auto" else False,
    )
    learn.fit_one_cycle(args.epochs, args.lr)
    return learn.recorder.last_metrics["accuracy"]


def fit_fastai(model, train_ds, valid_ds, args, device, seed):  # fastai shuffles from the seeded global RNGs
    import fastai.callback.all  # noqa: F401 (registers the progress bar and the other default callbacks)
    from fastai.data.core import DataLoaders as FastaiDataLoaders
    from fastai.learner import Learner as FastaiLearner
    from fastai.metrics import accuracy as fastai_accuracy

    dls = FastaiDataLoaders.from_dsets(train_ds, valid_ds, bs=args.bs, device=device, num_workers=0)
    learn = FastaiLearner(dls, model, loss_func=nn.CrossEntropyLoss(), metrics=fastai_accuracy)
    if args.mixed_precision:
        learn = learn.to_fp16() if args.mixed_precision == "fp16" else learn.to_bf16()
    learn.fit_one_cycle(args.epochs, args.lr)  # with its own progress display, as ours has
    names = learn.recorder.metric_names[1:-1]  # fastai's rows hold the columns between epoch and time
    return float(dict(zip(names, learn.recorder.values[-1]))["accuracy"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--min-seeds", type=int, default=15)
    parser.add_argument("--max-seeds", type=int, default=40)
    parser.add_argument(
        "--first-seed",
        type=int,
        default=0,
        help="seeds run from here (one seed per process: see bench_before_after.py)",
    )
    parser.add_argument("--half-width", type=float, default=1.0, help="stop once the 95%% interval is this narrow")
    parser.add_argument("--channels-last", choices=("auto", "off"), default="auto", help="coursekit's layout")
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--bs", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--mixed-precision", choices=("fp16", "bf16"), default=None, help="for both libraries")
    args = parser.parse_args()
    try:
        import fastai
    except ImportError:
        sys.exit(
            "fastai is not installed for the benchmark: run `make bench` (it installs "
            "benchmarks/requirements-fastai.txt into .bench-site/)."
        )
    device = default_device()
    seed_everything(0)
    train_ds, valid_ds = sample_tensors(args.size)
    seed_everything(0)
    start_model = cnn_model("efficientnet_lite0", n_out=2)
    times, accs = {"coursekit": [], "fastai": []}, {"coursekit": [], "fastai": []}
    # Each seed shuffles both libraries' data the same way; accuracies are compared seed by seed (paired).
    seed = args.first_seed
    while not enough(accs["coursekit"], accs["fastai"], args.min_seeds, args.max_seeds, args.half_width / 100):
        for name, fit in (("coursekit", fit_coursekit), ("fastai", fit_fastai)):
            seed_everything(seed)
            model = copy.deepcopy(start_model)
            start = time.perf_counter()
            accs[name].append(fit(model, train_ds, valid_ds, args, device, seed))
            if device.type == "cuda":
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - start)
        print(
            f"seed {seed}: coursekit {accs['coursekit'][-1]:.4f} in {times['coursekit'][-1]:.1f} s, "
            f"fastai {accs['fastai'][-1]:.4f} in {times['fastai'][-1]:.1f} s",
            flush=True,
        )
        seed += 1
    ours, theirs = statistics.median(times["coursekit"]), statistics.median(times["fastai"])
    print(
        f"\nfastai {fastai.__version__}; device: {device}; {len(train_ds)} train / {len(valid_ds)} valid "
        f"images at {args.size} px; fit_one_cycle({args.epochs}, {args.lr}); "
        f"seeds {args.first_seed}-{seed - 1}, alternating; "
        f"precision: {args.mixed_precision or 'as each library chooses'}; coursekit channels_last={args.channels_last}"
    )
    for name in times:
        print(
            f"{name:<10}: median {statistics.median(times[name]):.2f} s  runs "
            f"{[round(t, 2) for t in times[name]]}  accuracy mean {statistics.mean(accs[name]):.4f} "
            f"{[round(a, 4) for a in accs[name]]}"
        )
    ratios = [a / b for a, b in zip(times["coursekit"], times["fastai"])]
    print(
        f"time ratio coursekit/fastai: {ours / theirs:.3f} of medians; per seed median {statistics.median(ratios):.3f} "
        f"(range {min(ratios):.3f}-{max(ratios):.3f})"
    )
    to_points = lambda xs: [100 * x for x in xs]
    print(
        "accuracy, coursekit - fastai: "
        + verdict(paired(to_points(accs["coursekit"]), to_points(accs["fastai"])), " points")
    )
    kind = "GPU allocated" if device.type == "cuda" else "process RSS"
    print(f"peak memory: {peak_memory_mb(device):.0f} MB ({kind})")


if __name__ == "__main__":
    main()
