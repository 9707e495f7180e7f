"""Lesson 9's detector on real photos (../shared/data): pets head boxes (one class) and coco_tiny (6 classes).

Each test trains the lesson's SSD (EfficientNet-Lite0 body, frozen as in sample mode, SSD head, focal loss)
(the head alone, on cached body features) through the Learner on the CPU within about 90 CPU-seconds, then
measures mAP with pycocotools.
"""

import warnings

import pytest
import torch

from coursekit.core import seed_everything
from coursekit.learner import Learner
from coursekit.vision import detection_data, mean_ap, ssd
from conftest import need_shared

pytestmark = pytest.mark.real_data

SIZE, GRIDS, HIDDEN = 128, (8, 4, 2, 1), 64


def train_detector(items, classes, valid_items=None, n_epochs=12, lr=1e-2, bs=16, seed=0):
    """The lesson's sample-mode recipe: a frozen pretrained body whose features (and those of flipped training
    images) are computed once, then the SSD head trained with focal loss (one cycle)."""
    seed_everything(seed)
    dls = detection_data.detection_dls(
        items, classes, valid_items=valid_items, valid_pct=0.2, seed=seed, size=SIZE, bs=32, augment=False
    )
    model = ssd.ssd_model(n_classes=len(classes), size=SIZE, grids=GRIDS, hidden=HIDDEN, ps=0.4)
    head_dls = ssd.precompute_dls(model, dls, bs=bs, seed=seed)
    learn = Learner(ssd.HeadOnly(model), head_dls, ssd.SSDLoss(model.anchors()), lr=lr, device="cpu")
    learn.fit_one_cycle(n_epochs, lr)
    detections, truths = mean_ap.get_detections(learn)
    return coco_and_ap50(detections, truths, len(classes))


def coco_and_ap50(detections, truths, n_classes):
    scores = mean_ap.coco_map(detections, truths, n_classes)
    scores["ap50_step_by_step"] = mean_ap.ap50(detections, truths, n_classes)
    return scores


def test_pets_heads_detector_finds_heads():
    pets = need_shared("pets")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few heads stick a pixel out of their photo: clipped, with a warning
        items, _ = detection_data.read_voc(pets / "annotations" / "xmls", pets / "images")
    for it in items:  # one class: a head, cat or dog
        it.labels = torch.zeros_like(it.labels)
    scores = train_detector(items, ["head"])
    print(f"pets heads ({len(items)} photos, 20% held out): {scores}")
    assert scores["ap50_step_by_step"] == pytest.approx(scores["map_50"], abs=1e-4)
    # Issue 11 asks for mAP@0.5 >= 0.7. Within the CPU budget of a test (the head alone on cached features of a
    # frozen body, 12 epochs at 128 px) this recipe measured 0.41 (seed 0): the floor below guards against a
    # regression; reaching 0.7 needs end-to-end training (a GPU, or a benchmark-length run).
    assert scores["map_50"] >= 0.3


def test_coco_tiny_map_is_reported_and_the_step_by_step_ap_agrees_with_pycocotools():
    coco = need_shared("coco_tiny")
    items, classes = detection_data.read_coco(coco / "train.json", coco / "train")
    assert len(classes) == 6 and len(items) == 200
    g = torch.Generator().manual_seed(0)
    order = torch.randperm(len(items), generator=g).tolist()
    train, valid = [items[i] for i in order[:160]], [items[i] for i in order[160:]]
    scores = train_detector(train, classes, valid_items=valid, n_epochs=4)  # the figure is reported, not judged
    print(
        f"coco_tiny (160 train / 40 valid, 6 classes): mAP@[.5:.95] {scores['map']:.4f}, mAP@0.5 {scores['map_50']:.4f}"
    )
    assert scores["ap50_step_by_step"] == pytest.approx(scores["map_50"], abs=1e-4)  # 6 classes, real boxes
