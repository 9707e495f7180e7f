"""The SSD head, its loss (focal loss against torchvision's) and per-class NMS (against batched_nms)."""

import pytest
import torch
from torch import nn
from torchvision.ops import batched_nms, sigmoid_focal_loss

from coursekit.vision import anchors as A
from coursekit.vision import ssd
from coursekit.vision.models import Body, Normalize


def tiny_body():
    """A 5-stage body (strides 2..32) of plain convolutions: the SSD's shape logic without pretrained weights."""
    chans = [3, 8, 8, 16, 16, 32]
    stages = nn.ModuleList(
        [nn.Sequential(nn.Conv2d(a, b, 3, stride=2, padding=1), nn.ReLU()) for a, b in zip(chans, chans[1:])]
    )
    return Body(Normalize([0.5] * 3, [0.5] * 3), stages, n_features=32)


def random_boxes(n, g):
    xy = torch.rand(n, 2, generator=g) * 50
    return torch.cat([xy, xy + 1 + torch.rand(n, 2, generator=g) * 30], dim=1)


def test_focal_loss_equals_torchvision():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 7, generator=g) * 3
    targets = (torch.rand(64, 7, generator=g) > 0.8).float()
    for alpha, gamma in ((0.25, 2.0), (0.25, 1.0), (-1, 2.0), (0.5, 0.0)):
        for reduction in ("none", "sum", "mean"):
            ours = ssd.focal_loss(logits, targets, alpha, gamma, reduction)
            ref = sigmoid_focal_loss(logits, targets, alpha, gamma, reduction)
            assert torch.allclose(ours, ref, atol=1e-6), (alpha, gamma, reduction)


def test_nms_per_class_equals_batched_nms_on_random_boxes():
    g = torch.Generator().manual_seed(0)
    for trial in range(6):
        n = 120
        boxes, scores = random_boxes(n, g), torch.rand(n, generator=g)
        labels = torch.randint(0, 4, (n,), generator=g)
        for thresh in (0.3, 0.5):
            ours = ssd.nms_per_class(boxes, scores, labels, thresh)
            assert torch.equal(ours, batched_nms(boxes, scores, labels, thresh))


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]])
    assert ssd.nms(boxes, torch.tensor([0.5, 0.9, 0.7]), 0.5).tolist() == [1, 2]


def test_ssd_outputs_one_row_per_anchor():
    model = ssd.SSD(tiny_body(), n_classes=3, size=64, grids=(4, 2, 1), k=9, hidden=16)
    assert model.grids == (4, 2, 1)
    out = model(torch.rand(2, 3, 64, 64))
    assert out.shape == (2, len(model.anchors()), 4 + 3) == (2, 21 * 9, 7)
    # a grid of the body's own size predicts from that map; 8 is stride 8 at 64 pixels
    assert ssd.SSD(tiny_body(), 3, 64, grids=(8, 2, 1), hidden=16)(torch.rand(2, 3, 64, 64)).shape[1] == 69 * 9


def test_ssd_rejects_grids_it_cannot_make():
    with pytest.raises(ValueError, match="grid"):
        ssd.SSD(tiny_body(), 3, 64, grids=(3,))


def test_loss_is_small_for_perfect_predictions_and_bce_differs_from_focal():
    anchors = A.make_anchors()
    boxes = torch.tensor([[[0.1, 0.1, 0.5, 0.6], [0.5, 0.4, 0.9, 0.9]]])
    labels = torch.tensor([[1, 2]])
    classes, offsets = A.match_batch(anchors, boxes, labels)
    logits = torch.full((1, len(anchors), 3), -12.0)
    logits[classes >= 0] = torch.nn.functional.one_hot(classes[classes >= 0], 3).float() * 24 - 12
    perfect = torch.cat([offsets, logits], dim=2)
    for focal in (True, False):
        loss = ssd.SSDLoss(anchors, focal=focal)
        assert loss(perfect, boxes, labels) < 1e-3
        assert loss(torch.zeros_like(perfect), boxes, labels) > 0.1


def test_predict_boxes_finds_a_confident_anchor():
    anchors = A.make_anchors()
    preds = torch.zeros(1, len(anchors), 4 + 2)
    preds[..., 4:] = -10.0
    preds[0, 5, 4 + 1] = 5.0  # anchor 5, class 1, no offset
    boxes, scores, labels = ssd.predict_boxes(preds, anchors, score_thresh=0.5)[0]
    assert labels.tolist() == [1] and torch.allclose(boxes[0], anchors[5].clamp(0, 1))
