"""Lesson 9's anchors, as the notebook defines them (its cells tagged ``defs``): count and layout, IoU against
torchvision, matching (every object gets an anchor, the threshold holds), box activations round-trip."""

import torch
from notebook_defs import load_defs
from torchvision.ops import box_convert, box_iou

A = load_defs("lesson09_ssd")
GRIDS, ZOOMS, RATIOS = (4, 2, 1), (0.7, 1.0, 1.3), ((1.0, 1.0), (1.0, 0.5), (0.5, 1.0))  # the 2018 "more anchors"


def make_anchors():
    return A.make_anchors(GRIDS, ZOOMS, RATIOS)


def random_boxes(n, seed=0, min_size=0.05):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 0.8
    wh = min_size + torch.rand(n, 2, generator=g) * (1 - min_size - xy).clamp(min=0)
    return torch.cat([xy, (xy + wh).clamp(max=1.0)], dim=1)


def test_anchor_count_is_cells_times_zooms_times_ratios():
    anchors = A.make_anchors((4, 2, 1), (0.7, 1.0, 1.3), ((1, 1), (1, 0.5), (0.5, 1)))
    assert anchors.shape == ((16 + 4 + 1) * 9, 4)
    assert len(A.make_anchors((8, 4), (1.0,), ((1, 1),))) == 64 + 16
    assert (A.anchor_grid_sizes((4, 2, 1), 9) == 4).sum() == 16 * 9


def test_anchors_are_centred_on_their_cells_in_reading_order():
    anchors = box_convert(A.make_anchors((4,), (1.0, 0.5), ((1, 1), (1, 0.5))), "xyxy", "cxcywh")
    k = 4
    # cell (row 0, column 1) is the second cell: centre (0.375, 0.125)
    assert torch.allclose(anchors[k : 2 * k, :2], torch.tensor([0.375, 0.125]).expand(k, 2))
    # cell (row 1, column 0) is the fifth: centre (0.125, 0.375)
    assert torch.allclose(anchors[4 * k, :2], torch.tensor([0.125, 0.375]))
    # within a cell: zoom 1 square, zoom 1 wide (1 x 0.5), zoom 0.5 square, zoom 0.5 wide; a cell is 1/4
    assert torch.allclose(anchors[:k, 2:], torch.tensor([[0.25, 0.25], [0.25, 0.125], [0.125, 0.125], [0.125, 0.0625]]))


def test_matching_gives_every_object_its_own_anchor():
    anchors = make_anchors()
    for seed in range(20):
        gt = random_boxes(6, seed)
        gt_index, overlap = A.map_to_ground_truth(anchors, gt, threshold=0.5)
        assert set(gt_index[gt_index >= 0].tolist()) == set(range(6))
        # the forced anchors are marked, one per object, each the object's own
        assert (overlap == 2.0).sum() == 6


def test_two_objects_with_the_same_best_anchor_both_get_one():
    anchors = torch.cat([A.make_anchors((1,), (1.0,), ((1, 1),)), torch.tensor([[0.0, 0.0, 0.2, 0.2]])])
    gt = torch.tensor([[0.0, 0.0, 0.95, 0.95], [0.05, 0.05, 1.0, 1.0]])  # both overlap anchor 0 most
    gt_index, _ = A.map_to_ground_truth(anchors, gt)
    assert sorted(gt_index.tolist()) == [0, 1]


def test_matching_respects_the_threshold():
    anchors = make_anchors()
    gt = random_boxes(4, seed=3)
    for threshold in (0.3, 0.5, 0.7):
        gt_index, overlap = A.map_to_ground_truth(anchors, gt, threshold)
        iou = box_iou(gt, anchors)
        best, best_gt = iou.max(dim=0)
        unforced = overlap < 2.0
        # an unforced anchor is positive exactly when its best IoU reaches the threshold, with that object
        assert torch.equal(gt_index[unforced] >= 0, best[unforced] >= threshold)
        pos = unforced & (gt_index >= 0)
        assert torch.equal(gt_index[pos], best_gt[pos])


def test_matching_with_no_objects_is_all_background():
    gt_index, _ = A.map_to_ground_truth(make_anchors(), torch.zeros(0, 4))
    assert (gt_index == -1).all()


def test_encode_then_decode_returns_the_boxes():
    anchors = make_anchors()
    gt = random_boxes(len(anchors), seed=1)
    assert torch.allclose(A.actn_to_bb(A.bb_to_actn(gt, anchors), anchors), gt, atol=1e-5)
    # a zero offset is the anchor itself; batched offsets decode too
    assert torch.allclose(A.actn_to_bb(torch.zeros(2, len(anchors), 4), anchors)[1], anchors, atol=1e-6)


def test_match_batch_ignores_padding_and_encodes_positives():
    anchors = make_anchors()
    boxes = torch.stack([random_boxes(3, 5), torch.cat([random_boxes(1, 6), torch.zeros(2, 4)])])
    labels = torch.tensor([[0, 2, 1], [4, -1, -1]])
    classes, offsets = A.ssd_targets(anchors, boxes, labels)
    assert classes.shape == (2, len(anchors)) and offsets.shape == (2, len(anchors), 4)
    assert set(classes[0].unique().tolist()) == {-1, 0, 1, 2}
    assert set(classes[1].unique().tolist()) == {-1, 4}
    pos = classes[1] >= 0
    assert torch.allclose(A.actn_to_bb(offsets[1][pos], anchors[pos]), boxes[1, 0].expand(int(pos.sum()), 4), atol=1e-5)
    assert (offsets[classes < 0] == 0).all()


def test_jaccard_equals_torchvision_box_iou():
    a, b = random_boxes(40, seed=7), random_boxes(30, seed=8)
    far = torch.tensor([[2.0, 2.0, 3.0, 3.0]])  # meets nothing: IoU 0, not negative
    assert torch.allclose(A.jaccard(torch.cat([a, far]), b), box_iou(torch.cat([a, far]), b), atol=1e-6)


def test_a_padded_batch_is_matched_as_each_image_alone():
    """``ssd_targets`` matches a whole padded batch at once: the same anchors, classes and activations as matching
    each image's own objects on its own (padding rows ignored, an image without objects all background)."""
    anchors = make_anchors()
    g = torch.Generator().manual_seed(0)
    for trial in range(10):
        n_objects = torch.randint(0, 5, (6,), generator=g)
        n_objects[0] = 0
        boxes = torch.zeros(6, 4, 4)
        labels = torch.full((6, 4), -1)
        for i, n in enumerate(n_objects.tolist()):
            boxes[i, :n] = random_boxes(n, seed=100 * trial + i)
            labels[i, :n] = torch.randint(0, 5, (n,), generator=g)
        classes, actns = A.ssd_targets(anchors, boxes, labels)
        for i, n in enumerate(n_objects.tolist()):
            gt_index, _ = A.map_to_ground_truth(anchors, boxes[i, :n])
            pos = gt_index >= 0
            expected = torch.full_like(gt_index, -1)
            expected[pos] = labels[i, gt_index[pos]]
            assert torch.equal(classes[i], expected)
            assert torch.allclose(actns[i][pos], A.bb_to_actn(boxes[i, gt_index[pos]], anchors[pos]), atol=1e-5)
            assert (actns[i][~pos] == 0).all()
