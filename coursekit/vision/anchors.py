"""Anchor boxes for a single-shot detector: laying them out, matching them to the objects, and the box offsets.

Every coordinate here is a fraction of the (square) input image, ``xyxy`` 0..1, as the detection loaders give
boxes. Anchors are laid out grid by grid (``grids``, e.g. 4x4, 2x2, 1x1), cell by cell in reading order (row
by row, left to right), and in each cell ``k = len(zooms) * len(ratios)`` anchors, zoom by zoom then ratio by
ratio: the same order in which ``ssd.SSDHead`` flattens its outputs, so output ``i`` belongs to anchor ``i``.
Anchors are not clipped to the image (a 1x1 grid with zoom 1.3 sticks out on every side), as in 2018.
"""

import torch
from torchvision.ops import box_convert, box_iou

# The 2018 lesson's "more anchors": 3 grids, 3 zooms, 3 aspect ratios (width, height) -> k = 9 per cell
GRIDS, ZOOMS, RATIOS = (4, 2, 1), (0.7, 1.0, 1.3), ((1.0, 1.0), (1.0, 0.5), (0.5, 1.0))
# Offsets are scaled by these "variances" (centre, size) so that they are about unit size (the SSD paper's)
VARIANCES = (0.1, 0.2)


def make_anchors(grids=GRIDS, zooms=ZOOMS, ratios=RATIOS):
    """All anchors, (n, 4) ``xyxy`` fractions, n = sum(g * g for g in grids) * len(zooms) * len(ratios).

    On a ``g`` x ``g`` grid a cell is ``1/g`` wide; an anchor is centred on its cell and is
    ``zoom * ratio / g`` wide and high (ratio ``(1, 0.5)`` is twice as wide as high).
    """
    shapes = torch.tensor([[z * rw, z * rh] for z in zooms for rw, rh in ratios], dtype=torch.float32)  # (k, 2)
    out = []
    for g in grids:
        c = (torch.arange(g, dtype=torch.float32) + 0.5) / g  # cell centres along one side
        cy, cx = torch.meshgrid(c, c, indexing="ij")  # (g, g): row y, column x
        centres = torch.stack([cx, cy], dim=-1).reshape(-1, 1, 2).expand(-1, len(shapes), 2)  # (g*g, k, 2)
        sizes = (shapes / g).expand(g * g, -1, -1)  # (g*g, k, 2)
        out.append(torch.cat([centres, sizes], dim=-1).reshape(-1, 4))
    return box_convert(torch.cat(out), "cxcywh", "xyxy")


def anchor_grid_sizes(grids=GRIDS, k=len(ZOOMS) * len(RATIOS)):
    """The grid size each anchor belongs to, (n,): handy for drawing one grid's anchors."""
    return torch.cat([torch.full((g * g * k,), g) for g in grids])


def match_anchors(anchors, gt_boxes, threshold=0.5):
    """Which object each anchor is responsible for: ``(gt_index, overlap)``, both (n_anchors,).

    ``gt_index`` is -1 for background. First every object gets its own best anchor (greedily by overlap,
    so two objects whose best anchor is the same one still get one each); then every other anchor whose
    IoU with some object is at least ``threshold`` takes the object it overlaps most. The loop is over the
    objects (a handful), never over the anchors.
    """
    n_anchors = len(anchors)
    gt_index = torch.full((n_anchors,), -1, dtype=torch.long, device=anchors.device)
    if len(gt_boxes) == 0:
        return gt_index, torch.zeros(n_anchors, device=anchors.device)
    iou = box_iou(gt_boxes, anchors)  # (n_gt, n_anchors)
    overlap, best_gt = iou.max(dim=0)  # per anchor: the object it overlaps most
    positive = overlap >= threshold
    gt_index[positive] = best_gt[positive]
    # Forced matches: the globally largest remaining IoU gives one (object, anchor) pair, then that object
    # and that anchor are taken out; repeat once per object.
    free = iou.clone()
    for _ in range(min(len(gt_boxes), n_anchors)):
        flat = int(free.argmax())
        g, a = divmod(flat, n_anchors)
        gt_index[a], overlap[a] = g, 2.0  # 2 > any IoU: marks a forced match (the 2018 notebook used 1.99)
        free[g, :], free[:, a] = -1.0, -1.0
    return gt_index, overlap


def encode(gt_boxes, anchors, variances=VARIANCES):
    """``xyxy`` boxes (n, 4) as offsets from their anchors (n, 4): centre shift in anchor sizes, log size ratio."""
    g, a = box_convert(gt_boxes, "xyxy", "cxcywh"), box_convert(anchors, "xyxy", "cxcywh")
    centre = (g[:, :2] - a[:, :2]) / (a[:, 2:] * variances[0])
    size = torch.log(g[:, 2:].clamp(min=1e-6) / a[:, 2:]) / variances[1]
    return torch.cat([centre, size], dim=1)


def decode(offsets, anchors, variances=VARIANCES):
    """The inverse of ``encode``: offsets (..., n, 4) and anchors (n, 4) -> ``xyxy`` boxes (..., n, 4)."""
    a = box_convert(anchors, "xyxy", "cxcywh")
    centre = a[:, :2] + offsets[..., :2] * variances[0] * a[:, 2:]
    # clamp: an untrained head can ask for exp(huge); 4 / 0.2 = e^4 ~ 55 times the anchor is plenty
    size = a[:, 2:] * torch.exp((offsets[..., 2:] * variances[1]).clamp(max=4.0))
    return box_convert(torch.cat([centre, size], dim=-1).reshape(-1, 4), "cxcywh", "xyxy").reshape(offsets.shape)


def match_batch(anchors, boxes, labels, threshold=0.5):
    """Targets for a padded batch (boxes (B, M, 4) fractions, labels (B, M) with -1 for padding):
    ``(classes (B, n_anchors) long, -1 = background; offsets (B, n_anchors, 4), zero on background)``."""
    classes, offsets = [], []
    for b, lab in zip(boxes, labels):  # a loop over the images of a batch; everything inside is vectorised
        keep = lab >= 0
        b, lab = b[keep], lab[keep]
        gt_index, _ = match_anchors(anchors, b, threshold)
        pos = gt_index >= 0
        cls = torch.full_like(gt_index, -1)
        cls[pos] = lab[gt_index[pos]]
        off = torch.zeros_like(anchors)
        off[pos] = encode(b[gt_index[pos]], anchors[pos])
        classes.append(cls)
        offsets.append(off)
    return torch.stack(classes), torch.stack(offsets)
