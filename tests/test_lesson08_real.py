"""Lesson 8 on real photos: the pets' head boxes (one per photo, VOC XML), a seeded 20% of the photos held out.

The lesson's recipe with the body frozen, to stay within CI time: the pretrained EfficientNet-Lite0 body's features
(strides 16 and 32) at 224 px precomputed for a few augmented views, the box-and-class head trained on them with the
combined loss, then the whole model (body + head) predicts the held-out photos.
"""

import pytest
import torch

from conftest import need_shared
from coursekit.core import seed_everything
from coursekit.learner import Learner
from coursekit.vision import detection_data, largest, models

pytestmark = pytest.mark.real_data

SIZE, VIEWS, EPOCHS = 224, 4, 25


def test_lesson8_model_finds_pet_heads_on_held_out_photos():
    torch.set_num_threads(1)  # small layers, small batches: one thread wastes least CPU time
    pets = need_shared("pets")
    items, classes = detection_data.read_voc(pets / "annotations" / "xmls", pets / "images")
    assert classes == ["cat", "dog"] and all(len(it.labels) >= 1 for it in items)  # a few photos have two pets
    seed_everything(0)
    dls = detection_data.detection_dls(items, classes, valid_pct=0.2, seed=0, size=SIZE, bs=32, target="both")
    assert len(dls.valid_ds) == round(0.2 * len(items))
    held_out = {it.file for it in dls.valid_ds.items}
    assert not held_out & {it.file for it in dls.train_ds.items}
    body = largest.TwoScales(models.create_body("efficientnet_lite0"))  # strides 16 and 32: finer boxes
    fdls = largest.feature_dls(body, dls, n_views=VIEWS, seed=0)
    head = largest.box_head(body.n_features, fdls.train_ds.tensors[0].shape[-1], 4 + len(classes), reduce=32, ps=0.5)
    learn = Learner(
        head,
        fdls,
        largest.DetectionLoss(),
        lr=3e-3,
        wd=0.1,
        device="cpu",
        metrics=[largest.mean_iou, largest.class_accuracy],
    )
    learn.fit_one_cycle(EPOCHS, 3e-3)
    model = largest.LargestObjectModel(body, SIZE, len(classes), head=head)
    preds, (boxes, labels) = Learner(model, dls, largest.DetectionLoss(), device="cpu").get_preds()
    iou = largest.box_ious(preds, boxes).mean().item()
    print(
        f"pets heads, {len(boxes)} held-out photos: mean IoU {iou:.3f}, "
        f"accuracy {(preds[:, 4:].argmax(1) == labels).float().mean().item():.3f}"
    )
    # Issue 11 asks for >= 0.6. At 224 px this recipe measured 0.649, 0.637 and 0.632 (seeds 0-2, 2026-11-27); at
    # 128 px 0.591, and fine-tuning the whole model afterwards added nothing at either size.
    assert iou >= 0.6
