"""Lessons 2 and 3's recipes on real data from ../shared/data that their notebooks do not run (skipped with the reason
when it is absent). Lesson 3 on camvid_tiny is the notebook's small mode (``make small``).

Pets trimaps (Oxford-IIIT Pets, CC BY-SA 4.0, Parkhi et al. 2012).
coco_tiny (COCO annotations CC BY 4.0) read as multi-label runs benchmarks/bench_coco_multilabel.py. Each prints
its figures (pytest -s shows them).
"""

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from coursekit import data
from coursekit.vision import images, models, segmentation
from coursekit.core import seed_everything
from coursekit.data import make_loaders
from coursekit.learner import Learner
from conftest import need_shared

pytestmark = pytest.mark.real_data  # training runs on real data: their own step of make test


def preload(ds):
    """Decode every item once (deterministic transforms), so epochs cost training only."""
    xs, ys = zip(*(ds[i] for i in range(len(ds))))
    return TensorDataset(torch.stack(xs), torch.stack([torch.as_tensor(y) for y in ys]))


def train_unet(dls, n_codes, void, epochs):
    learn = Learner(
        models.unet_model("efficientnet_lite0", n_out=n_codes),
        dls,
        nn.CrossEntropyLoss(ignore_index=void),
        metrics=[segmentation.pixel_accuracy(void)],
    )
    learn.freeze()
    learn.fit_one_cycle(epochs, 1e-2)
    preds, targets = learn.get_preds()
    labelled = targets != void
    majority = torch.bincount(targets[labelled]).argmax()
    return (
        segmentation.pixel_accuracy(void)(preds, targets).item(),
        (targets[labelled] == majority).float().mean().item(),
    )


def test_pets_trimaps_as_pet_vs_background_reach_90_percent():
    seed_everything(0)
    path = need_shared("pets")
    items = images.get_image_files(path / "images")
    masks = [path / "annotations" / "trimaps" / f"{p.stem}.png" for p in items]
    train_idx, valid_idx = data.random_split_indices(len(items), 0.2, seed=42)
    codes = ["pet", "background", "Void"]  # trimap 1 = pet, 2 = background, 3 = border (left out)
    tf = segmentation.seg_valid_tfms((64, 64))
    pick = lambda idx: preload(
        segmentation.SegmentationDataset(
            [items[i] for i in idx], [masks[i] for i in idx], codes, tf, mask_map=[2, 0, 1, 2]
        )
    )
    dls = make_loaders(pick(train_idx), pick(valid_idx), bs=16, seed=0)
    acc, baseline = train_unet(dls, 3, 2, epochs=5)
    print(f"\npets trimaps: held-out pixel accuracy {acc:.4f} vs majority class {baseline:.4f}")
    assert acc >= 0.90


def test_coco_tiny_as_multi_label_beats_the_best_constant_prediction():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_coco_multilabel import run

    r = run(need_shared("coco_tiny"))
    print(
        f"\ncoco_tiny: F2 {r['f2_model']:.4f} vs constant {r['f2_constant']:.4f} (oracle {r['f2_constant_oracle']:.4f})"
    )
    assert r["f2_model"] > r["f2_constant_oracle"]
