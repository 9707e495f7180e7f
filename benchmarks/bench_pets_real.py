"""The lesson-1 recipe on real photos: ../shared/data/pets (Oxford-IIIT Pets, CC BY-SA 4.0, Parkhi et al. 2012).

450 photos, cats when the file name starts upper-case. EfficientNet-Lite0 with its offline ImageNet weights and
the whole lesson-1 recipe, as the notebook runs it: a fresh model with frozen BatchNorm kept as pretrained
(``train_bn=False``), one epoch of the head on precomputed activations, three epochs of SGDR on augmented
photos, then the body unfrozen with differential learning rates for three more (``KeepBNStats``), and TTA.

Scored by ``--folds``-fold cross-validation (default 5): the photos are shuffled once (seeded) and cut into
folds, each held out once, so every photo is scored exactly once. One split of 90 photos cannot tell 98% from
100% (one photo is 1.1 points); 450 held-out predictions can. Prints each fold's accuracy (with and without
TTA) and time, then the mean over folds and the accuracy over all 450 photos.

    .venv/bin/python benchmarks/bench_pets_real.py [--folds 5] [--size 224] [--lr 3e-3]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coursekit.callbacks import KeepBNStats  # noqa: E402
from coursekit.core import seed_everything  # noqa: E402
from coursekit.data import make_loaders  # noqa: E402
from coursekit.learner import Learner  # noqa: E402
from coursekit.metrics import accuracy  # noqa: E402
from coursekit.precompute import Precompute  # noqa: E402
from coursekit.vision import images, loaders, models, transforms  # noqa: E402
from coursekit.vision.multilabel import fold_ids  # noqa: E402


def kfold_indices(n, k, seed=42):
    """``k`` (train, held-out) index lists over ``n`` items, from ``multilabel.fold_ids``'s seeded folds, so every
    item is held out exactly once."""
    folds = fold_ids(n, k, seed)
    return [(torch.where(folds != f)[0].tolist(), torch.where(folds == f)[0].tolist()) for f in range(k)]


def pets_items(folder):
    """(photo files, labels: 0 cat / 1 dog from the file name's case)."""
    files = images.get_image_files(Path(folder) / "images")
    return files, [0 if f.name[0].isupper() else 1 for f in files]


def pets_dls(files, labels, train_idx, valid_idx, size=224, bs=32, seed=42):
    """Cat-vs-dog loaders over the chosen photos: augmented training views, centred validation views."""
    train_tf, valid_tf = transforms.tfms_for("side_on", size)
    pick = lambda idx, tf: loaders.ImageDataset([files[i] for i in idx], [labels[i] for i in idx], ["cat", "dog"], tf)
    return make_loaders(pick(train_idx, train_tf), pick(valid_idx, valid_tf), bs=bs, seed=seed)


def run_fold(dls, lr=3e-3, seed=42, recipe="full"):
    """The lesson-1 recipe on one fold (``recipe="head"``: only its first step, the head on precomputed
    activations, for a quick check); returns (probabilities, probabilities with TTA, targets)."""
    seed_everything(seed)
    learn = Learner(
        models.cnn_model("efficientnet_lite0", n_out=2),
        dls,
        nn.CrossEntropyLoss(),
        metrics=[accuracy],
        train_bn=False,
    )
    learn.freeze()
    learn.fit_one_cycle(1, lr, cbs=Precompute())  # the head start, on precomputed activations
    if recipe == "full":
        learn.fit_sgdr(2, lr, cycle_len=1, cycle_mult=2)  # augmented photos
        learn.unfreeze()
        learn.fit_sgdr(2, slice(lr / 100, lr / 5), cycle_len=1, cycle_mult=2, cbs=KeepBNStats())
    probs, targets = learn.get_preds()
    probs_tta, _ = learn.tta(n=4)
    return probs, probs_tta, targets


def cross_validate(folder, folds=5, size=224, lr=3e-3, seed=42, only=None, recipe="full", log=print):
    """The recipe scored by ``folds``-fold cross-validation (``only``: the fold numbers to run, default all);
    returns a dict of figures: per fold (accuracy, accuracy with TTA, seconds), and the held-out totals."""
    files, labels = pets_items(folder)
    rows, right, right_tta, n_scored = [], 0, 0, 0
    for k, (train_idx, valid_idx) in enumerate(kfold_indices(len(files), folds, seed)):
        if only is not None and k not in only:
            continue
        start = time.perf_counter()
        dls = pets_dls(files, labels, train_idx, valid_idx, size, seed=seed)
        probs, probs_tta, targets = run_fold(dls, lr, seed, recipe)
        ok, ok_tta = int((probs.argmax(1) == targets).sum()), int((probs_tta.argmax(1) == targets).sum())
        right, right_tta, n_scored = right + ok, right_tta + ok_tta, n_scored + len(targets)
        acc, acc_tta = ok / len(targets), ok_tta / len(targets)
        rows.append((acc, acc_tta, time.perf_counter() - start))
        log(
            f"fold {k + 1}/{folds}: {len(train_idx)} train / {len(valid_idx)} held out: accuracy {acc:.4f}, "
            f"with TTA {acc_tta:.4f}; {rows[-1][2]:.0f} s"
        )
    return {"n_photos": len(files), "n_scored": n_scored, "folds": rows, "right": right, "right_tta": right_tta}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", default=None, help="the pets folder (default: $COURSEKIT_SHARED_DATA/pets)")
    args = parser.parse_args()
    from common import peak_memory_mb, shared_data

    folder = Path(args.data) if args.data else shared_data() / "pets"
    if not folder.exists():
        sys.exit(f"skipped: {folder} is absent (set COURSEKIT_SHARED_DATA to the shared/data folder)")
    print(
        f"pets (Oxford-IIIT Pets, CC BY-SA 4.0, Parkhi et al. 2012): cat vs dog, {args.folds}-fold "
        f"cross-validation at {args.size} px; EfficientNet-Lite0, the lesson-1 recipe",
        flush=True,
    )
    r = cross_validate(folder, args.folds, args.size, args.lr, args.seed, log=lambda line: print(line, flush=True))
    accs, accs_tta, secs = zip(*r["folds"])
    sd = lambda xs: statistics.stdev(xs) if len(xs) > 1 else 0.0
    n = r["n_scored"]
    print(
        f"\nmean over {args.folds} folds: accuracy {statistics.mean(accs):.4f} (sd {sd(accs):.4f}), with TTA "
        f"{statistics.mean(accs_tta):.4f} (sd {sd(accs_tta):.4f}); target >= 0.99"
    )
    print(
        f"over all {n} photos, each held out once: {r['right']}/{n} right ({r['right'] / n:.4f}), "
        f"with TTA {r['right_tta']}/{n} ({r['right_tta'] / n:.4f})"
    )
    print(
        f"time per fold: mean {statistics.mean(secs):.0f} s (min {min(secs):.0f}, max {max(secs):.0f}); "
        f"peak memory {peak_memory_mb(torch.device('cpu')):.0f} MB (process RSS)"
    )


if __name__ == "__main__":
    main()
