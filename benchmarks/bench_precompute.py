"""Head training with precomputed activations against the same training through the frozen body, in one run.

The lesson-1 sample (generated offline; the real images under --path), EfficientNet-Lite0 with a frozen body,
``fit_one_cycle(epochs)`` on the validation transforms (precomputing needs unaugmented images), then the same
with ``Precompute()``. Prints the time of each, the ratio, each one's accuracy, and how long computing the
activations took (the first fit pays it, a second fit on the same body and data does not).

    .venv/bin/python benchmarks/bench_precompute.py [--epochs 3] [--size 128] [--path FOLDER]
"""

import argparse
import time

from common import REPO  # noqa: F401  (puts the repository on sys.path)
from torch import nn

from coursekit import datasets
from coursekit.core import default_device, seed_everything
from coursekit.learner import Learner
from coursekit.metrics import accuracy
from coursekit.precompute import Precompute
from coursekit.progress import ProgressCallback
from coursekit.vision import loaders, models


def learner(path, size, seed):
    seed_everything(seed)
    dls = loaders.image_dls_from_folder(path, size=size, bs=32, tfms="side_on", seed=seed)
    dls.train.dataset.tfms = dls.valid.dataset.tfms  # no augmentation in either run: the same work
    learn = Learner(
        models.cnn_model("efficientnet_lite0", n_out=dls.c),
        dls,
        nn.CrossEntropyLoss(),
        metrics=[accuracy],
        device=default_device(),
    )
    learn.remove_cbs([cb for cb in learn.cbs if isinstance(cb, ProgressCallback)])
    learn.freeze()
    return learn


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--path", default=None, help="an image folder with train/ and valid/ (default: the sample)")
    args = parser.parse_args()
    path = args.path or datasets.get_data("dogscats", mode="sample", seed=args.seed)
    results = {}
    precompute = Precompute()  # the second precomputed fit reuses what the first computed
    for name, cbs in (("through the body", []), ("precomputed", [precompute]), ("precomputed again", [precompute])):
        learn = learner(path, args.size, args.seed)
        start = time.perf_counter()
        learn.fit_one_cycle(args.epochs, 1e-2, cbs=cbs)
        results[name] = (time.perf_counter() - start, learn.recorder.last_metrics["accuracy"])
    base = results["through the body"][0]
    print(
        f"{len(learn.dls.train.dataset)} training images at {args.size} px, {args.epochs} epochs, "
        f"device {default_device()}:"
    )
    for name, (seconds, acc) in results.items():
        print(f"  {name:18s} {seconds:7.2f} s  ratio {seconds / base:5.3f}  accuracy {acc:.3f}")
    compute = results["precomputed"][0] - results["precomputed again"][0]
    print(f"  computing the activations once took about {compute:.2f} s of the first precomputed fit")


if __name__ == "__main__":
    main()
