"""AP@0.5 written out step by step against pycocotools, on hand-made and random predictions."""

import numpy as np
import pytest
import torch

from coursekit.vision import mean_ap

pytest.importorskip("pycocotools")


def truth(*boxes_labels):
    boxes = torch.tensor([b for b, _ in boxes_labels], dtype=torch.float32).reshape(-1, 4)
    return boxes, torch.tensor([lab for _, lab in boxes_labels], dtype=torch.long)


def dets(*boxes_scores_labels):
    boxes = torch.tensor([b for b, _, _ in boxes_scores_labels], dtype=torch.float32).reshape(-1, 4)
    return (
        boxes,
        torch.tensor([s for _, s, _ in boxes_scores_labels]),
        torch.tensor([lab for _, _, lab in boxes_scores_labels], dtype=torch.long),
    )


TRUTHS = [
    truth(([10, 10, 50, 50], 0), ([60, 60, 90, 95], 1)),
    truth(([5, 5, 40, 30], 0)),
    truth(([20, 30, 80, 70], 1), ([0, 0, 15, 15], 0)),
]


def test_perfect_predictions_give_one():
    perfect = [(b, torch.linspace(0.9, 0.5, len(b)), lab) for b, lab in TRUTHS]
    assert mean_ap.ap50(perfect, TRUTHS, 2) == pytest.approx(1.0)
    assert mean_ap.coco_map(perfect, TRUTHS, 2)["map_50"] == pytest.approx(1.0)


def test_no_right_prediction_gives_zero():
    wrong = [
        dets(([60, 0, 99, 9], 0.9, 0)),
        dets(([5, 5, 40, 30], 0.8, 1)),  # off target; right box, wrong class
        dets(([0, 0, 4, 4], 0.7, 0)),
    ]  # IoU 16/225 < 0.5
    assert mean_ap.ap50(wrong, TRUTHS, 2) == 0.0
    assert mean_ap.coco_map(wrong, TRUTHS, 2)["map_50"] == 0.0
    assert mean_ap.coco_map([dets(), dets(), dets()], TRUTHS, 2)["map_50"] == 0.0


def test_mixed_case_agrees_with_pycocotools():
    mixed = [
        dets(
            ([12, 11, 52, 50], 0.95, 0),
            ([10, 10, 50, 50], 0.6, 0),  # right, then a duplicate (wrong)
            ([62, 58, 90, 90], 0.5, 1),
            ([0, 0, 30, 30], 0.85, 1),
        ),  # right; wrong
        dets(([5, 8, 35, 30], 0.4, 0), ([50, 50, 70, 70], 0.7, 0)),  # right at a low score; wrong
        dets(([25, 30, 85, 75], 0.8, 1), ([30, 30, 50, 50], 0.3, 0)),
    ]  # right; wrong (object 0 missed)
    ours = mean_ap.ap50(mixed, TRUTHS, 2)
    ref = mean_ap.coco_map(mixed, TRUTHS, 2)["map_50"]
    assert 0.2 < ours < 0.95
    assert ours == pytest.approx(ref, abs=1e-4)


def test_random_predictions_agree_with_pycocotools():
    g = torch.Generator().manual_seed(0)
    for trial in range(5):
        truths, detections = [], []
        for img in range(8):
            n = int(torch.randint(1, 5, (1,), generator=g))
            xy = torch.rand(n, 2, generator=g) * 60
            boxes = torch.cat([xy, xy + 10 + torch.rand(n, 2, generator=g) * 30], 1)
            labels = torch.randint(0, 3, (n,), generator=g)
            truths.append((boxes, labels))
            # noisy copies of the objects plus some random boxes, random scores and sometimes the wrong class
            jitter = boxes + torch.randn(n, 4, generator=g) * 4
            extra_xy = torch.rand(3, 2, generator=g) * 60
            extra = torch.cat([extra_xy, extra_xy + 15], 1)
            d_labels = torch.where(torch.rand(n, generator=g) < 0.2, (labels + 1) % 3, labels)
            detections.append(
                (
                    torch.cat([jitter, extra]),
                    torch.rand(n + 3, generator=g),
                    torch.cat([d_labels, torch.randint(0, 3, (3,), generator=g)]),
                )
            )
        ref = mean_ap.coco_map(detections, truths, 3)["map_50"]
        assert mean_ap.ap50(detections, truths, 3) == pytest.approx(ref, abs=1e-4)


def test_average_precision_of_a_known_curve():
    # 3 objects; detections right, wrong, right, right: precision 1, .5, .67, .75 at recall 1/3, 1/3, 2/3, 1
    precision, recall = mean_ap.precision_recall(np.array([1, 0, 1, 1]), 3)
    assert np.allclose(precision, [1, 0.5, 2 / 3, 0.75]) and np.allclose(recall, [1 / 3, 1 / 3, 2 / 3, 1])
    # envelope: 1 up to recall 1/3, then 0.75; 34 of 101 points (0 .. 0.33) at 1, 67 at 0.75
    assert mean_ap.average_precision(precision, recall) == pytest.approx((34 + 67 * 0.75) / 101)


def test_detections_and_truths_for_different_numbers_of_images_are_an_error():
    perfect = [(b, torch.linspace(0.9, 0.5, len(b)), lab) for b, lab in TRUTHS]
    for score in (mean_ap.ap50, mean_ap.coco_map):  # both used to drop the unmatched images and give 1.0
        with pytest.raises(ValueError, match=r"detections for 1 image\(s\) but ground truths for 3"):
            score(perfect[:1], TRUTHS, 2)
        with pytest.raises(ValueError, match=r"detections for 3 image\(s\) but ground truths for 2"):
            score(perfect, TRUTHS[:2], 2)


def test_without_any_ground_truth_ap_is_undefined_and_an_error():
    from pycocotools.cocoeval import COCOeval

    nothing = [truth(), truth()]
    some = [dets(([10, 10, 50, 50], 0.9, 0)), dets()]
    gt, results = mean_ap.to_coco(some, nothing, 2)
    ev = COCOeval(gt, gt.loadRes(results), "bbox")
    ev.evaluate(), ev.accumulate(), ev.summarize()
    assert ev.stats[1] == -1  # the reference: -1, "nothing to measure"
    for detections in (some, [dets(), dets()]):
        for score in (mean_ap.ap50, mean_ap.coco_map):
            with pytest.raises(ValueError, match=r"AP is undefined without ground truth: the truths of all 2 images"):
                score(detections, nothing, 2)


def test_a_label_outside_the_classes_a_flipped_box_or_mismatched_sizes_is_an_error_naming_the_image():
    good = [(b, torch.linspace(0.9, 0.5, len(b)), lab) for b, lab in TRUTHS]
    bad_truths = [TRUTHS[0], truth(([5, 5, 40, 30], 2)), TRUTHS[2]]  # pycocotools would drop class 2 unseen
    bad_dets = [good[0], good[1], dets(([20, 30, 80, 70], 0.9, 1), ([0, 0, 15, 15], 0.8, -1))]
    xywh = [TRUTHS[0], truth(([30, 20, 10, 15], 0)), TRUTHS[2]]  # x0 30 > x1 10: a COCO [x, y, w, h] box
    short = [TRUTHS[0], TRUTHS[1], (TRUTHS[2][0], TRUTHS[2][1][:1])]
    for score in (mean_ap.ap50, mean_ap.coco_map):
        with pytest.raises(ValueError, match=r"ground truths of image 1: the label 2 is not a class index 0\.\.1"):
            score(good, bad_truths, 2)
        with pytest.raises(ValueError, match=r"detections of image 2: the label -1 is not a class index"):
            score(bad_dets, TRUTHS, 2)
        with pytest.raises(ValueError, match=r"ground truths of image 1: box 0 \[30.0, 20.0, 10.0, 15.0\] ends before"):
            score(good, xywh, 2)
        with pytest.raises(ValueError, match=r"ground truths of image 2: boxes of shape \(2, 4\) for 1 labels"):
            score(good, short, 2)
    empty = [(torch.zeros(0), torch.zeros(0), torch.zeros(0, dtype=torch.long))] * 3  # flat empty boxes are fine
    assert mean_ap.ap50(empty, TRUTHS, 2) == mean_ap.coco_map(empty, TRUTHS, 2)["map_50"] == 0.0


def test_lists_and_arrays_score_as_tensors_do():
    mixed = [
        dets(([12, 11, 52, 50], 0.95, 0), ([62, 58, 90, 90], 0.5, 1), ([0, 0, 30, 30], 0.85, 1)),
        dets(([5, 8, 35, 30], 0.4, 0)),
        dets(([25, 30, 85, 75], 0.8, 1)),
    ]
    as_lists = [tuple(x.tolist() for x in t) for t in TRUTHS]  # once: 'list' object has no attribute 'float'
    as_arrays = [tuple(x.numpy() for x in d) for d in mixed]
    ref = mean_ap.ap50(mixed, TRUTHS, 2)
    assert 0.2 < ref < 1
    assert mean_ap.ap50(as_arrays, as_lists, 2) == pytest.approx(ref)
    assert mean_ap.coco_map(as_arrays, as_lists, 2)["map_50"] == pytest.approx(ref, abs=1e-4)
