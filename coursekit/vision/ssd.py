"""A single-shot detector (SSD): a head over several feature maps of a pretrained body, its loss (binary
cross-entropy or focal loss on the classes, L1 on the box offsets), and prediction with per-class NMS.

The model's output is one tensor (B, n_anchors, 4 + n_classes): four box offsets (``anchors.encode``) then
one logit per class for every anchor, in the anchors' order (``anchors.make_anchors`` with ``model.grids``).
There is no background class: an anchor with every class probability low is background (the 2018 lesson's
"drop the background column" binary cross-entropy).
"""

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import batched_nms, box_iou

from coursekit.data import make_loaders
from coursekit.precompute import features_dataset
from coursekit.vision.anchors import RATIOS, ZOOMS, decode, make_anchors, match_batch
from coursekit.vision.models import create_body, n_params


class StdConv(nn.Sequential):
    """3x3 convolution (stride 1 or 2) -> ReLU -> BatchNorm -> dropout: the 2018 ``StdConv``."""

    def __init__(self, c_in, c_out, stride=1, ps=0.1):
        super().__init__(
            nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1),
            nn.ReLU(inplace=True),
            nn.BatchNorm2d(c_out),
            nn.Dropout(ps),
        )


class OutConv(nn.Module):
    """Two 3x3 convolutions on one feature map: ``k`` box offsets and ``k`` sets of class logits per cell,
    flattened to (B, g*g*k, 4 + n_classes) in the anchors' order (row, column, anchor)."""

    def __init__(self, c_in, k, n_classes, bias=-4.0):
        super().__init__()
        self.k, self.n_classes = k, n_classes
        self.boxes = nn.Conv2d(c_in, k * 4, 3, padding=1)
        self.classes = nn.Conv2d(c_in, k * n_classes, 3, padding=1)
        # every anchor starts as "probably background" (sigmoid(-4) ~ 0.02): otherwise the first steps are
        # spent pushing down thousands of background logits (the 2018 notebook's bias of -4)
        nn.init.constant_(self.classes.bias, bias)

    def flatten(self, x, n):  # (B, k*n, g, g) -> (B, g, g, k*n) -> (B, g*g*k, n)
        return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1, n)

    def forward(self, x):
        return torch.cat([self.flatten(self.boxes(x), 4), self.flatten(self.classes(x), self.n_classes)], dim=2)


class SSD(nn.Module):
    """A pretrained ``body`` and an SSD head predicting on a grid of each size in ``grids``.

    A grid size equal to one of the body's feature maps (strides 8, 16, 32) predicts from that map; the
    smaller ones come from extra stride-2 ``StdConv``s after the last map (7 -> 4 -> 2 -> 1 at 224 pixels,
    as in 2018). ``model.grids`` are the sizes, largest first, to build the anchors with.
    """

    def __init__(self, body, n_classes, size, grids=(4, 2, 1), k=len(ZOOMS) * len(RATIOS), hidden=256, ps=0.1):
        super().__init__()
        self.body, self.n_classes, self.size, self.k = body, n_classes, size, k
        with torch.no_grad():  # the size and channels of each body stage, read off a dummy pass
            was_training = body.training
            feats = body.eval().features(torch.zeros(1, 3, size, size))
            body.train(was_training)
        stage_sizes = {f.shape[-1]: (i, f.shape[1]) for i, f in enumerate(feats) if i >= 2}  # strides 8-32
        grids = sorted(set(grids), reverse=True)
        last = feats[-1].shape[-1]
        self.sources = [stage_sizes[g][0] for g in grids if g in stage_sizes]  # body stages predicted from
        self.source_convs = nn.ModuleList(
            [StdConv(stage_sizes[g][1], hidden, ps=ps) for g in grids if g in stage_sizes]
        )
        extra, s = [], last  # the grids smaller than the last map: stride-2 convs, ceil(s / 2) each
        wanted = [g for g in grids if g not in stage_sizes]
        if any(g > last for g in wanted):
            raise ValueError(
                f"grid sizes {wanted} are not feature maps of the body at {size} pixels "
                f"({sorted(stage_sizes)}), and only grids smaller than {last} can be added."
            )
        c = feats[-1].shape[1]
        while wanted and s > min(wanted):
            extra.append(StdConv(c, hidden, stride=2, ps=ps))
            c, s = hidden, (s + 1) // 2
            extra[-1].size = s
        if any(g not in [e.size for e in extra] for g in wanted):
            raise ValueError(
                f"grid sizes {wanted} cannot be reached by halving {last} (got "
                f"{[e.size for e in extra]}); choose grids from those."
            )
        self.extra = nn.ModuleList(extra)
        self.extra_used = [e.size in wanted for e in extra]
        self.grids = tuple(grids)
        self.outs = nn.ModuleList([OutConv(hidden, k, n_classes) for _ in grids])

    def forward(self, x):
        return self.head_forward(*self.body_features(x))

    def body_features(self, x):
        """The body's feature maps the head reads: the source stages' outputs, then the last stage's."""
        feats = self.body.features(x)
        last = len(feats) - 1
        return tuple(feats[i] for i in self.sources) + (() if last in self.sources else (feats[-1],))

    def head_forward(self, *feats):
        """The head alone, on ``body_features`` (cached ones too: the 2018 ``precompute=True``)."""
        maps = [conv(f) for f, conv in zip(feats, self.source_convs)]
        y = feats[-1]
        for conv, used in zip(self.extra, self.extra_used):
            y = conv(y)
            if used:
                maps.append(y)
        return torch.cat([out(m) for out, m in zip(self.outs, maps)], dim=1)  # (B, n_anchors, 4 + n_classes)

    def anchors(self, zooms=ZOOMS, ratios=RATIOS):
        """The anchors this model's outputs belong to."""
        return make_anchors(self.grids, zooms, ratios)

    def layer_groups(self):
        """[early body (strides 2-8), late body (strides 16-32), SSD head]."""
        early = nn.ModuleList([self.body.normalize, *self.body.stages[:3]])
        return [early, nn.ModuleList(self.body.stages[3:]), nn.ModuleList([self.source_convs, self.extra, self.outs])]

    def __repr__(self):
        sizes = [n_params(g) for g in self.layer_groups()]
        return (
            f"SSD({sum(sizes):,} parameters in layer groups {[f'{s:,}' for s in sizes]}; grids {self.grids}, "
            f"{self.k} anchors per cell, {self.n_classes} classes)"
        )


class HeadOnly(nn.Module):
    """An SSD's head alone, fed cached ``body_features``: what trains when the body is frozen and precomputed."""

    def __init__(self, ssd):
        super().__init__()
        self.ssd = ssd

    def forward(self, *feats):
        return self.ssd.head_forward(*feats)

    def anchors(self):
        return self.ssd.anchors()

    def layer_groups(self):
        return [nn.ModuleList([self.ssd.source_convs, self.ssd.extra, self.ssd.outs])]


def precompute_dls(model, dls, bs, flip=True, seed=42):
    """The body's features of every (unaugmented) image computed once, with left-right flipped copies of the
    training images if ``flip``: ``DataLoaders`` of ``(*features, boxes, labels)`` for a ``HeadOnly``."""

    def flipped(batch):  # x -> 1 - x; padding stays all zero
        xb, boxes, labels = batch
        flipped = torch.stack([1 - boxes[..., 2], boxes[..., 1], 1 - boxes[..., 0], boxes[..., 3]], -1)
        return xb.flip(-1), flipped * (labels >= 0)[..., None], labels

    def features(dl, flip):
        return features_dataset(model, dl, fn=model.body_features, views=(None, flipped) if flip else (None,))

    out = make_loaders(features(dls.train, flip), features(dls.valid, False), bs=bs, seed=seed)
    for dl in (out.train, out.valid):
        dl.n_inp = len(out.train_ds.tensors) - 2
    return out


def ssd_model(arch="efficientnet_lite0", n_classes=20, size=224, grids=(4, 2, 1), pretrained=True, **kwargs):
    """An ``SSD`` on a pretrained ``arch`` body for ``size`` x ``size`` images."""
    return SSD(create_body(arch, pretrained), n_classes, size, grids, **kwargs)


# -- the loss ------------------------------------------------------------------------------------------
def focal_loss(logits, targets, alpha=0.25, gamma=2.0, reduction="none"):
    """Binary cross-entropy scaled down where the model is already right: ``alpha_t * (1 - p_t)**gamma * BCE``,
    with ``p_t`` the probability given to the true answer (Lin et al. 2017; the same numbers as
    ``torchvision.ops.sigmoid_focal_loss``)."""
    p = torch.sigmoid(logits)
    bce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)  # near 1: an easy, already right answer -> weight near 0
    loss = bce * (1 - p_t) ** gamma
    if alpha >= 0:  # alpha weighs the (rare) positives against the (many) negatives
        loss = loss * (alpha * targets + (1 - alpha) * (1 - targets))
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


class SSDLoss:
    """Matches anchors to objects per image, then L1 on the positive anchors' offsets plus binary
    cross-entropy (``focal=False``) or focal loss on every anchor's classes, both divided by the number of
    positive anchors. Called as ``loss(preds, boxes, labels)`` on a ``collate_boxes`` batch."""

    def __init__(self, anchors, threshold=0.5, focal=True, alpha=0.25, gamma=2.0, box_weight=1.0):
        self.anchors, self.threshold, self.focal = anchors, threshold, focal
        self.alpha, self.gamma, self.box_weight = alpha, gamma, box_weight

    def parts(self, preds, boxes, labels):
        """``(box loss, class loss)`` for a batch."""
        anchors = self.anchors.to(preds.device)
        classes, offsets = match_batch(anchors, boxes.float(), labels, self.threshold)  # (B, A), (B, A, 4)
        pos = classes >= 0
        n_pos = pos.sum().clamp(min=1)
        box_loss = F.l1_loss(preds[..., :4][pos].float(), offsets[pos], reduction="sum") / n_pos
        logits = preds[..., 4:].float()
        target = F.one_hot(classes.clamp(min=0), logits.shape[-1]).float() * pos[..., None]  # background: all 0
        if self.focal:
            cls_loss = focal_loss(logits, target, self.alpha, self.gamma, reduction="sum")
        else:
            cls_loss = F.binary_cross_entropy_with_logits(logits, target, reduction="sum")
        return box_loss, cls_loss / n_pos

    def __call__(self, preds, boxes, labels):
        box_loss, cls_loss = self.parts(preds, boxes, labels)
        return self.box_weight * box_loss + cls_loss

    def __repr__(self):
        kind = f"focal(alpha={self.alpha}, gamma={self.gamma})" if self.focal else "BCE"
        return f"SSDLoss({len(self.anchors)} anchors, threshold {self.threshold}, {kind})"


# -- prediction: scores, boxes and non-maximum suppression -------------------------------------------------
def nms(boxes, scores, iou_thresh=0.5):
    """Non-maximum suppression written out: keep the best box, drop every box overlapping it more than
    ``iou_thresh``, repeat with the best of the rest. Indices kept, best score first."""
    order = scores.argsort(descending=True)
    keep = []
    while len(order):
        best, order = order[0], order[1:]
        keep.append(int(best))
        if len(order):
            order = order[box_iou(boxes[best][None], boxes[order])[0] <= iou_thresh]
    return torch.tensor(keep, dtype=torch.long)


def nms_per_class(boxes, scores, labels, iou_thresh=0.5):
    """``nms`` within each class (a box only suppresses boxes of its own class); indices, best score first."""
    keep = [
        torch.nonzero(labels == c).flatten()[nms(boxes[labels == c], scores[labels == c], iou_thresh)]
        for c in labels.unique()
    ]
    keep = torch.cat(keep) if keep else torch.zeros(0, dtype=torch.long)
    return keep[scores[keep].argsort(descending=True)]


def predict_boxes(preds, anchors, score_thresh=0.05, iou_thresh=0.5, max_dets=100):
    """Model outputs (B, A, 4 + C) -> per image ``(boxes (n, 4) xyxy fractions, scores (n,), labels (n,))``:
    every (anchor, class) with probability above ``score_thresh``, per-class NMS (``batched_nms``), the best
    ``max_dets``."""
    anchors = anchors.to(preds.device)
    all_boxes = decode(preds[..., :4].float(), anchors).clamp(0, 1)  # (B, A, 4)
    probs = torch.sigmoid(preds[..., 4:].float())  # (B, A, C)
    out = []
    for b, p in zip(all_boxes, probs):
        anchor_idx, cls = torch.nonzero(p > score_thresh, as_tuple=True)  # an anchor may vote for several classes
        boxes, scores = b[anchor_idx], p[anchor_idx, cls]
        keep = batched_nms(boxes, scores, cls, iou_thresh)[:max_dets]
        out.append((boxes[keep].cpu(), scores[keep].cpu(), cls[keep].cpu()))
    return out
