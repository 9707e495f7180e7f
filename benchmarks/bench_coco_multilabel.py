"""coco_tiny read as multi-label (which of 6 classes appear in each image) against the best constant prediction.

../shared/data/coco_tiny: 200 COCO images at 128 px (annotations CC BY 4.0; images Flickr terms). A seeded
20% is held out; EfficientNet-Lite0 with a new head, body frozen, one-cycle; the F2 threshold is searched on
the held-out set. The constant baseline predicts the same tag set for every image: the best of all 64 sets,
chosen on the training images (fair) and on the held-out images themselves (an oracle). Prints all three.

    .venv/bin/python benchmarks/bench_coco_multilabel.py [--size 224] [--epochs 12] [--lr 3e-3]
"""
import argparse
import itertools
import json
import sys
import time

import torch
from torch import nn
from torch.utils.data import TensorDataset

from common import shared_data
from coursekit import metrics, models, vision
from coursekit.core import seed_everything
from coursekit.data import make_loaders
from coursekit.learner import Learner


def preload(ds):
    xs, ys = zip(*(ds[i] for i in range(len(ds))))
    return TensorDataset(torch.stack(xs), torch.stack(ys))


def best_constant(targets):
    """(F2, tag set) of the constant prediction that scores best on ``targets``."""
    scores = {subset: metrics.fbeta_from_probs(torch.tensor(subset).float().expand_as(targets), targets, 2, 0.5).item()
              for subset in itertools.product([0, 1], repeat=targets.shape[1])}
    subset = max(scores, key=scores.get)
    return scores[subset], subset


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--lr", type=float, default=3e-3)
    args = parser.parse_args()
    path = shared_data() / "coco_tiny"
    if not path.exists():
        sys.exit(f"skipped: {path} is absent (set COURSEKIT_SHARED_DATA to the shared/data folder)")
    start = time.time()
    seed_everything(0)
    meta = json.loads((path / "train.json").read_text())
    classes = [c["name"] for c in meta["categories"]]
    col = {c["id"]: i for i, c in enumerate(meta["categories"])}
    files = {im["id"]: path / "train" / im["file_name"] for im in meta["images"]}
    tags = {i: set() for i in files}
    for a in meta["annotations"]:
        tags[a["image_id"]].add(col[a["category_id"]])
    ids = sorted(files)
    train_idx, valid_idx = vision.random_split_indices(len(ids), 0.2, seed=42)
    tf = vision.valid_tfms(args.size)
    pick = lambda idx: preload(vision.ImageDataset([files[ids[i]] for i in idx], [sorted(tags[ids[i]]) for i in idx],
                                                   classes, tf, multi_label=True))
    dls = make_loaders(pick(train_idx), pick(valid_idx), bs=16, seed=0)
    learn = Learner(models.cnn_model("efficientnet_lite0", n_out=len(classes), ps=0.1), dls, nn.BCEWithLogitsLoss(),
                    train_bn=False)
    learn.freeze()
    learn.fit_one_cycle(args.epochs, args.lr)
    probs, targets = learn.get_preds()
    threshold, f2_model = metrics.best_threshold(probs, targets, beta=2)
    _, train_subset = best_constant(dls.train.dataset.tensors[1])
    f2_fair = metrics.fbeta_from_probs(torch.tensor(train_subset).float().expand_as(targets), targets, 2, 0.5).item()
    f2_oracle, oracle_subset = best_constant(targets)
    name = lambda subset: "{" + ", ".join(c for c, on in zip(classes, subset) if on) + "}"
    print(f"\ncoco_tiny multi-label ({len(train_idx)} train / {len(valid_idx)} held out, {args.size} px, "
          f"{args.epochs} epochs), {time.time() - start:.0f} s")
    print(f"model F2 {f2_model:.4f} (threshold {threshold:.2f})")
    print(f"constant chosen on train {name(train_subset)}: F2 {f2_fair:.4f}")
    print(f"constant chosen on the held-out set {name(oracle_subset)}: F2 {f2_oracle:.4f}")


if __name__ == "__main__":
    main()
