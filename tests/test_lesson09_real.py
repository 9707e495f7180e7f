"""Lesson 9's detector on real boxes (../shared/data): coco_tiny (6 classes), where the step-by-step AP@0.5 must
agree with pycocotools, trained with the notebook's own definition cells. Lesson 9's SSD on the pets' head boxes is
the notebook's small mode (``make small``).

coco_tiny trains the lesson's sample-mode recipe (EfficientNet-Lite0 body frozen, the SSD head alone on cached
body features, focal loss) through the Learner on the CPU within about 90 CPU-seconds, and measures mAP with
pycocotools.
"""

from functools import partial

import pytest
import torch
from notebook_defs import load_defs

from coursekit.core import seed_everything
from coursekit.learner import Learner
from coursekit.vision import detection_data, mean_ap, models
from conftest import need_shared

L = load_defs("lesson09_ssd")  # the notebook's definition cells
ZOOMS, RATIOS = (0.7, 1.0, 1.3), ((1.0, 1.0), (1.0, 0.5), (0.5, 1.0))

pytestmark = pytest.mark.real_data

SIZE, GRIDS, HIDDEN = 128, (8, 4, 2, 1), 64


def train_detector(items, classes, valid_items=None, n_epochs=12, lr=1e-2, bs=16, seed=0, size=SIZE, grids=GRIDS):
    """The lesson's sample-mode recipe: a frozen pretrained body whose features (and those of flipped training
    images) are computed once, then the SSD head trained with focal loss (one cycle). Returns the learner."""
    seed_everything(seed)
    dls = detection_data.detection_dls(
        items, classes, valid_items=valid_items, valid_pct=0.2, seed=0, size=size, bs=32, augment=False
    )
    k = len(ZOOMS) * len(RATIOS)
    model = L.ssd_model(
        models.create_body(), n_classes=len(classes), size=size, grids=grids, k=k, hidden=HIDDEN, ps=0.4
    )
    anchors = L.make_anchors(model.grids, ZOOMS, RATIOS)
    head_dls = L.precompute_dls(model, dls, bs=bs, seed=seed)
    loss = partial(L.ssd_loss, anchors=anchors, cls_loss=L.FocalLoss())
    learn = Learner(model.head, head_dls, loss, lr=lr, device="cpu")
    learn.fit_one_cycle(n_epochs, lr)
    return learn, anchors


def scores_of(learn, anchors, n_classes):
    detections, truths = L.get_detections(learn, anchors)
    return coco_and_ap50(detections, truths, n_classes)


def coco_and_ap50(detections, truths, n_classes):
    scores = mean_ap.coco_map(detections, truths, n_classes)
    scores["ap50_step_by_step"] = mean_ap.ap50(detections, truths, n_classes)
    return scores


def test_coco_tiny_map_is_reported_and_the_step_by_step_ap_agrees_with_pycocotools():
    coco = need_shared("coco_tiny")
    items, classes = detection_data.read_coco(coco / "train.json", coco / "train")
    assert len(classes) == 6 and len(items) == 200
    g = torch.Generator().manual_seed(0)
    order = torch.randperm(len(items), generator=g).tolist()
    train, valid = [items[i] for i in order[:160]], [items[i] for i in order[160:]]
    learn, anchors = train_detector(train, classes, valid_items=valid, n_epochs=4)
    scores = scores_of(learn, anchors, len(classes))  # the figure is reported, not judged
    print(
        f"coco_tiny (160 train / 40 valid, 6 classes): mAP@[.5:.95] {scores['map']:.4f}, mAP@0.5 {scores['map_50']:.4f}"
    )
    assert scores["ap50_step_by_step"] == pytest.approx(scores["map_50"], abs=1e-4)  # 6 classes, real boxes
