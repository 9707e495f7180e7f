"""Lesson 9's SSD as the notebook defines it (its cells tagged ``defs``): the head's shape, the loss (box loss over
the matched anchors only; focal loss against torchvision's), NMS against torchvision's and prediction."""

import pytest
import torch
from notebook_defs import load_defs
from torch import nn
from torchvision.ops import batched_nms, sigmoid_focal_loss
from torchvision.ops import nms as torchvision_nms

from coursekit.vision.models import Body, Normalize

L = load_defs("lesson09_ssd")
GRIDS, ZOOMS, RATIOS = (4, 2, 1), (0.7, 1.0, 1.3), ((1.0, 1.0), (1.0, 0.5), (0.5, 1.0))


def make_anchors():
    return L.make_anchors(GRIDS, ZOOMS, RATIOS)


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
            ours = L.FocalLoss(alpha, gamma)(logits, targets, reduction)
            ref = sigmoid_focal_loss(logits, targets, alpha, gamma, reduction)
            assert torch.allclose(ours, ref, atol=1e-6), (alpha, gamma, reduction)


def test_nms_equals_torchvision_nms_and_batched_nms_on_random_boxes():
    g = torch.Generator().manual_seed(0)
    for trial in range(6):
        n = 120
        boxes, scores = random_boxes(n, g), torch.rand(n, generator=g)
        labels = torch.randint(0, 4, (n,), generator=g)
        for thresh in (0.3, 0.5):
            assert torch.equal(L.nms(boxes, scores, thresh), torchvision_nms(boxes, scores, thresh))
            assert torch.equal(
                L.nms_per_class(boxes, scores, labels, thresh), batched_nms(boxes, scores, labels, thresh)
            )


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]])
    assert L.nms(boxes, torch.tensor([0.5, 0.9, 0.7]), 0.5).tolist() == [1, 2]


def test_ssd_outputs_one_row_per_anchor():
    model = L.ssd_model(tiny_body(), n_classes=3, size=64, grids=(4, 2, 1), k=9, hidden=16)
    assert model.grids == (4, 2, 1)
    out = model(torch.rand(2, 3, 64, 64))
    assert out.shape == (2, len(make_anchors()), 4 + 3) == (2, 21 * 9, 7)
    # a grid of the body's own size predicts from that map; 8 is stride 8 at 64 pixels
    model = L.ssd_model(tiny_body(), 3, 64, grids=(8, 2, 1), k=9, hidden=16)
    assert model(torch.rand(2, 3, 64, 64)).shape[1] == 69 * 9
    # the head alone on the body's maps gives the same as the whole model (what trains on cached maps)
    model.eval()
    x = torch.rand(2, 3, 64, 64)
    assert torch.allclose(model.head(*model.body_features(x)), model(x))


def test_print_model_shows_the_layers():
    text = str(L.ssd_model(tiny_body(), 3, 64, grids=(4, 2, 1), k=9, hidden=16).head)
    for layer in ("StdConv", "OutConv", "Conv2d(16, 36", "Conv2d(16, 27", "BatchNorm2d", "Dropout"):
        assert layer in text


def test_ssd_rejects_grids_it_cannot_make():
    with pytest.raises(ValueError, match="grid sizes \\[3\\]"):
        L.ssd_model(tiny_body(), 3, 64, grids=(3,), k=9)


def perfect_predictions(anchors, boxes, labels, n_classes=3):
    classes, actns = L.ssd_targets(anchors, boxes, labels)
    logits = torch.full((1, len(anchors), n_classes), -12.0)
    logits[classes >= 0] = torch.nn.functional.one_hot(classes[classes >= 0], n_classes).float() * 24 - 12
    return torch.cat([actns, logits], dim=2), classes


def test_loss_is_small_for_perfect_predictions_and_bce_differs_from_focal():
    anchors = make_anchors()
    boxes = torch.tensor([[[0.1, 0.1, 0.5, 0.6], [0.5, 0.4, 0.9, 0.9]]])
    labels = torch.tensor([[1, 2]])
    perfect, _ = perfect_predictions(anchors, boxes, labels)
    for cls_loss in (L.bce_loss, L.FocalLoss()):
        assert L.ssd_loss(perfect, boxes, labels, anchors, cls_loss) < 1e-3
        assert L.ssd_loss(torch.zeros_like(perfect), boxes, labels, anchors, cls_loss) > 0.1
    zeros = torch.zeros_like(perfect)
    assert L.ssd_loss(zeros, boxes, labels, anchors, L.bce_loss) > L.ssd_loss(
        zeros, boxes, labels, anchors, L.FocalLoss()
    )


def test_box_loss_counts_only_the_matched_anchors():
    """Background anchors have no box: whatever box activations they output must not change the loss (computing
    the L1 over every anchor, against the zero targets of the background, makes this fail)."""
    anchors = make_anchors()
    boxes = torch.tensor([[[0.1, 0.1, 0.5, 0.6], [0.5, 0.4, 0.9, 0.9]]])
    labels = torch.tensor([[1, 2]])
    perfect, classes = perfect_predictions(anchors, boxes, labels)
    noisy = perfect.clone()
    background = classes < 0
    noisy[..., :4][background] = torch.randn(int(background.sum()), 4, generator=torch.Generator().manual_seed(0))
    box_loss, class_loss = L.ssd_loss(noisy, boxes, labels, anchors, L.bce_loss, parts=True)
    assert box_loss < 1e-5 and class_loss < 1e-3
    # and the box loss is the mean L1 over the matched anchors' four activations, summed: one matched anchor off
    # by 1 in each of its activations adds 4 / n_matched
    off = perfect.clone()
    first = int(torch.nonzero(classes[0] >= 0)[0])
    off[0, first, :4] += 1.0
    n_matched = int((classes >= 0).sum())
    box_loss, _ = L.ssd_loss(off, boxes, labels, anchors, L.bce_loss, parts=True)
    assert box_loss == pytest.approx(4 / n_matched, rel=1e-4)


def test_predict_boxes_finds_a_confident_anchor():
    anchors = make_anchors()
    preds = torch.zeros(1, len(anchors), 4 + 2)
    preds[..., 4:] = -10.0
    preds[0, 5, 4 + 1] = 5.0  # anchor 5, class 1, no offset
    boxes, scores, labels = L.predict_boxes(preds, anchors, score_thresh=0.5)[0]
    assert labels.tolist() == [1] and torch.allclose(boxes[0], anchors[5].clamp(0, 1))
