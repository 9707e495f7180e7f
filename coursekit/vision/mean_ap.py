"""Mean average precision: AP@0.5 written out step by step (as lesson 9 teaches it), and COCO's mAP@[.5:.95]
and mAP@0.5 through ``pycocotools``, which the step-by-step version reproduces.

Inputs, the same for both: ``detections``, per image ``(boxes (n, 4) xyxy, scores (n,), labels (n,))``, and
``truths``, per image ``(boxes (m, 4) xyxy, labels (m,))``, in the same units (fractions or pixels), labels
being class indices. ``check_inputs`` makes errors naming the image of lists of different lengths, labels
outside ``0..n_classes-1`` (pycocotools would drop them unseen), boxes that end before they start (``xywh``
passed as ``xyxy``) and sizes that disagree; and of truths with no object at all: AP is undefined then
(pycocotools gives -1), so ``ap50`` and ``coco_map`` raise.
"""

import contextlib
import io

import numpy as np
import torch
from torchvision.ops import box_iou


RECALL_POINTS = np.linspace(0, 1, 101)  # COCO reads precision at recall 0, 0.01, ..., 1


def check_inputs(detections, truths, n_classes=None, need_truths=False):
    """``detections`` and ``truths`` as lists of tuples of CPU tensors (they may come as lists, arrays or GPU
    tensors), checked: one entry per image in both, each image's boxes (n, 4) ``xyxy`` matching its scores and
    labels; with ``n_classes``, labels that are class indices below it; with ``need_truths``, at least one object
    among the truths (AP is undefined without one). Anything else is a ``ValueError`` naming the image."""
    if isinstance(detections, _Checked) and isinstance(truths, _Checked) and n_classes is None and not need_truths:
        return detections, truths  # ap50 checked them once (lengths included); its passes per class need not
    detections, truths = list(detections), list(truths)
    if len(detections) != len(truths):
        raise ValueError(
            f"detections for {len(detections)} image(s) but ground truths for {len(truths)}: both lists need one "
            "entry per image, in the same order (an image with nothing detected gets empty tensors, as "
            "lesson 9's predict_boxes gives)."
        )
    for img, (d, t) in enumerate(zip(detections, truths)):
        if len(d) != 3 or len(t) != 2:
            raise ValueError(
                f"image {img}: a detection is (boxes, scores, labels) and a ground truth (boxes, labels), not "
                f"{len(d)} and {len(t)} items."
            )
        detections[img] = _check_image(f"the detections of image {img}", d[0], d[2], n_classes, d[1])
        truths[img] = _check_image(f"the ground truths of image {img}", t[0], t[1], n_classes)
    if need_truths and not any(len(labels) for _, labels in truths):
        raise ValueError(
            f"AP is undefined without ground truth: the truths of all {len(truths)} images hold no object, so "
            "there is nothing to find (pycocotools reports -1, 'nothing to measure'). Measure on images with "
            "objects; if these should have some, check how the truths were made (ground_truths drops the -1 "
            "padding labels)."
        )
    return _Checked(detections), _Checked(truths)


class _Checked(list):
    """A list of one image's tensors per entry that ``check_inputs`` has checked."""


def _check_image(what, boxes, labels, n_classes, scores=None):
    """One image's ``(boxes, labels)`` or ``(boxes, scores, labels)`` as CPU tensors, checked: sizes that agree,
    ``xyxy`` boxes, labels in ``0..n_classes-1`` (when ``n_classes`` is given)."""
    boxes, labels = torch.as_tensor(boxes).cpu(), torch.as_tensor(labels).cpu().reshape(-1)
    n = len(labels)
    boxes = boxes.reshape(0, 4) if n == 0 and boxes.numel() == 0 else boxes
    scores = None if scores is None else torch.as_tensor(scores).cpu().reshape(-1)
    if boxes.shape != (n, 4) or (scores is not None and len(scores) != n):
        raise ValueError(
            f"{what}: boxes of shape {tuple(boxes.shape)} for {n} labels"
            + ("" if scores is None else f" and {len(scores)} scores")
            + ": each object needs a box (4 numbers, xyxy) and a label"
            + ("" if scores is None else " and a score")
        )
    bad = labels[(labels < 0) | (labels >= n_classes)] if n_classes is not None else labels[:0]
    if len(bad):
        raise ValueError(
            f"{what}: the label {int(bad[0])} is not a class index 0..{n_classes - 1} (n_classes is {n_classes}). "
            "Pass the number of classes; drop padding (-1) with ground_truths."
        )
    flipped = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if flipped.any():
        k = int(flipped.nonzero()[0])
        raise ValueError(
            f"{what}: box {k} {[round(float(v), 4) for v in boxes[k]]} ends before it starts; boxes here are xyxy "
            "[x0, y0, x1, y1]. COCO's [x, y, width, height] boxes convert with boxes.coco_to_xyxy."
        )
    return (boxes, labels) if scores is None else (boxes, scores, labels)


def match_detections(detections, truths, cls, iou_thresh=0.5, max_dets=100):
    """Step 1 and 2 for one class: every detection of ``cls`` over all images, best score first, marked
    right (1) or wrong (0); returns ``(scores, is_right, n_truths)``.

    A detection is right when it overlaps an object of its class, not yet claimed by a better-scored
    detection, with IoU >= ``iou_thresh``; it claims the one it overlaps most. Each image keeps its
    ``max_dets`` best detections of the class (COCO's rule).
    """
    detections, truths = check_inputs(detections, truths)
    scores, rights, n_truths = [], [], 0
    per_image = []
    for img, ((d_boxes, d_scores, d_labels), (t_boxes, t_labels)) in enumerate(zip(detections, truths)):
        t = t_boxes[t_labels == cls].float()
        n_truths += len(t)
        sel = d_labels == cls
        b, s = d_boxes[sel].float(), d_scores[sel].float()
        order = np.argsort(-s.numpy(), kind="mergesort")[:max_dets]  # stable, as pycocotools sorts
        per_image.append((b[order], s[order], t))
    for b, s, t in per_image:
        claimed = torch.zeros(len(t), dtype=torch.bool)
        iou = box_iou(b, t) if len(t) and len(b) else torch.zeros(len(b), len(t))
        for i in range(len(b)):  # in score order within the image: a better detection claims first
            free = iou[i].masked_fill(claimed, -1.0)
            j = int(free.argmax()) if len(t) else -1
            right = j >= 0 and free[j] >= iou_thresh
            if right:
                claimed[j] = True
            scores.append(float(s[i]))
            rights.append(int(right))
    scores, rights = np.array(scores), np.array(rights)
    order = np.argsort(-scores, kind="mergesort")  # all images together, best score first
    return scores[order], rights[order], n_truths


def precision_recall(rights, n_truths):
    """Step 3: precision and recall after each detection (best score first)."""
    tp = np.cumsum(rights)
    fp = np.cumsum(1 - rights)
    return tp / np.maximum(tp + fp, np.finfo(float).eps), tp / max(n_truths, 1)


def average_precision(precision, recall):
    """Step 4: the area under the precision-recall curve, as COCO reads it: precision made non-increasing
    from the right (the best precision at this recall or more), read at 101 recall points, averaged."""
    if not len(precision):
        return 0.0
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    idx = np.searchsorted(recall, RECALL_POINTS, side="left")  # first detection reaching each recall point
    return float(np.where(idx < len(recall), envelope[np.minimum(idx, len(recall) - 1)], 0.0).mean())


def ap_per_class(detections, truths, n_classes, iou_thresh=0.5):
    """AP of each class (NaN for a class with no object, which COCO leaves out of the mean)."""
    aps = []
    for cls in range(n_classes):
        _, rights, n_truths = match_detections(detections, truths, cls, iou_thresh)
        aps.append(average_precision(*precision_recall(rights, n_truths)) if n_truths else float("nan"))
    return aps


def ap50(detections, truths, n_classes):
    """AP@0.5 averaged over the classes that have objects: the step-by-step version of COCO's mAP@0.5."""
    detections, truths = check_inputs(detections, truths, n_classes, need_truths=True)
    aps = [a for a in ap_per_class(detections, truths, n_classes, 0.5) if a == a]
    return float(np.mean(aps)) if aps else 0.0


# -- ground truths from a padded batch, and the standard way: pycocotools ----------------------------------
def ground_truths(boxes, labels):
    """A padded batch's targets as per image ``(boxes (n, 4), labels (n,))``, padding dropped."""
    return [(b[lab >= 0].cpu(), lab[lab >= 0].cpu()) for b, lab in zip(boxes, labels)]


def to_coco(detections, truths, n_classes):
    """Ground truth as a ``pycocotools.coco.COCO`` object and detections as its result list (``xywh`` boxes)."""
    from pycocotools.coco import COCO

    detections, truths = check_inputs(detections, truths, n_classes)
    images, anns, results = [], [], []
    for img, ((d_boxes, d_scores, d_labels), (t_boxes, t_labels)) in enumerate(zip(detections, truths)):
        images.append({"id": img})
        for box, lab in zip(t_boxes.tolist(), t_labels.tolist()):
            w, h = box[2] - box[0], box[3] - box[1]
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": img,
                    "category_id": int(lab),
                    "iscrowd": 0,
                    "bbox": [box[0], box[1], w, h],
                    "area": w * h,
                }
            )
        for box, score, lab in zip(d_boxes.tolist(), d_scores.tolist(), d_labels.tolist()):
            results.append(
                {
                    "image_id": img,
                    "category_id": int(lab),
                    "score": float(score),
                    "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                }
            )
    gt = COCO()
    gt.dataset = {"images": images, "annotations": anns, "categories": [{"id": c} for c in range(n_classes)]}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
    return gt, results


def coco_map(detections, truths, n_classes):
    """``{"map": mAP@[.5:.95], "map_50": mAP@0.5, "map_75": mAP@0.75}`` from ``pycocotools.COCOeval``
    (all object sizes, at most 100 detections per image). No detection at all scores 0."""
    from pycocotools.cocoeval import COCOeval

    gt, results = to_coco(*check_inputs(detections, truths, n_classes, need_truths=True), n_classes)
    if not results:
        return {"map": 0.0, "map_50": 0.0, "map_75": 0.0}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints as it goes
        ev = COCOeval(gt, gt.loadRes(results), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    stats = [max(float(s), 0.0) for s in ev.stats[:3]]  # -1 means "nothing to measure"
    return {"map": stats[0], "map_50": stats[1], "map_75": stats[2]}
