"""Lesson 8's model: one box and one class for the largest object, from a pretrained body and a custom head.

The head keeps *where* things are: the body's last feature map (stride 32) is narrowed by a 1x1 convolution
and flattened, not pooled (pooling throws the positions away, and a box is all about positions), then two
linear layers give ``4 + c`` numbers: the box as ``xyxy`` fractions of the image (a sigmoid keeps them in
0..1) and ``c`` class scores. With ``n_classes=0`` it is the box regressor alone.

Targets come from ``detection_data.DetectionDataset`` (``target="both"``: ``(box, label)``; ``"box"``:
``box``); losses and metrics take ``(preds, box[, label])`` as the Learner hands them over.
"""

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import box_iou

from coursekit.data import make_loaders
from coursekit.metrics import Metric
from coursekit.precompute import features_dataset
from coursekit.vision.models import create_body, n_params


class BoxActivation(nn.Module):
    """The head's last step: a sigmoid on the first 4 outputs (the box, as fractions of the image, 0..1);
    class scores stay raw logits."""

    def forward(self, out):
        return torch.cat([torch.sigmoid(out[:, :4]), out[:, 4:]], dim=1)


def box_head(n_features, grid, n_out, reduce=64, hidden=256, ps=0.25):
    """1x1 conv to ``reduce`` channels -> flatten the ``grid`` x ``grid`` map -> linear -> ReLU -> BN ->
    dropout -> linear to ``n_out`` -> ``BoxActivation`` (the 2018 head flattened 7x7x512 features straight
    into its first linear)."""
    return nn.Sequential(
        nn.Conv2d(n_features, reduce, 1),
        nn.BatchNorm2d(reduce),
        nn.ReLU(inplace=True),
        nn.Flatten(),
        nn.Dropout(ps / 2),
        nn.Linear(reduce * grid * grid, hidden),
        nn.ReLU(inplace=True),
        nn.BatchNorm1d(hidden),
        nn.Dropout(ps),
        nn.Linear(hidden, n_out),
        BoxActivation(),
    )


def feature_grid(body, size):
    """The side of the body's feature map for ``size`` x ``size`` images, read off a dummy pass."""
    with torch.no_grad():
        was_training = body.training
        grid = body.eval()(torch.zeros(1, 3, size, size)).shape[-1]
        body.train(was_training)
    return grid


class LargestObjectModel(nn.Module):
    """(B, 3, S, S) images -> (B, 4 + n_classes): a box (``xyxy`` fractions, 0..1) then class scores."""

    class_offset = 4  # where the class scores start in the output (for CAM)

    def __init__(self, body, size, n_classes, head=None, **head_kwargs):
        super().__init__()
        self.body, self.n_classes, self.size = body, n_classes, size
        self.head = head or box_head(body.n_features, feature_grid(body, size), 4 + n_classes, **head_kwargs)

    def forward(self, x):
        return self.head(self.body(x))  # (B, 4 + n_classes)

    def layer_groups(self):
        """[early body, late body, head], as ``models.CNN`` splits it."""
        early = nn.ModuleList([self.body.normalize, *self.body.stages[:3]])
        return [early, nn.ModuleList(self.body.stages[3:]), self.head]

    def __repr__(self):
        sizes = [n_params(g) for g in self.layer_groups()]
        return (
            f"LargestObjectModel({sum(sizes):,} parameters in layer groups {[f'{s:,}' for s in sizes]}; "
            f"4 box outputs + {self.n_classes} class scores at {self.size}px)"
        )


class TwoScales(nn.Module):
    """A body whose output is its last two feature maps side by side at stride 16 (the stride-32 one repeated
    2x2): finer positions for a box head, as SSD reads several grid sizes (lesson 9)."""

    def __init__(self, body):
        super().__init__()
        self.body = body
        with torch.no_grad():
            was_training = body.training
            self.n_features = sum(f.shape[1] for f in body.eval().features(torch.zeros(1, 3, 64, 64))[-2:])
            body.train(was_training)
        self.normalize, self.stages = body.normalize, body.stages  # for layer_groups

    def forward(self, x):
        f16, f32 = self.body.features(x)[-2:]
        return torch.cat([f16, F.interpolate(f32, size=f16.shape[-2:], mode="nearest")], dim=1)


def largest_object_model(arch="efficientnet_lite0", size=224, n_classes=0, pretrained=True, **head_kwargs):
    """A pretrained ``arch`` body with the box (and class) head for ``size`` x ``size`` images."""
    return LargestObjectModel(create_body(arch, pretrained), size, n_classes, **head_kwargs)


# -- precomputed features (the 2018 ``precompute=True``) -------------------------------------------------
def precompute(body, ds, n_views=1, bs=64, collate_fn=None):
    """The frozen ``body``'s features for every item of ``ds`` with its targets, as a ``TensorDataset``
    ``(features, *targets)``; with training transforms each of the ``n_views`` passes is another augmented
    view. BatchNorm runs in eval mode: the features are the pretrained body's, as at prediction time."""
    dl = torch.utils.data.DataLoader(ds, batch_size=bs, shuffle=False, collate_fn=collate_fn)
    return features_dataset(body, dl, views=[None] * n_views)


def feature_dls(body, dls, n_views=2, bs=32, seed=42):
    """``DataLoaders`` of precomputed features: ``n_views`` augmented views of each training image, one plain
    view of each validation image. A head trains on them in a fraction of the time the body would take."""
    train = precompute(body, dls.train_ds, n_views, collate_fn=dls.train.collate_fn)
    valid = precompute(body, dls.valid_ds, 1, collate_fn=dls.valid.collate_fn)
    fdls = make_loaders(train, valid, bs=bs, seed=seed)
    fdls.train.n_inp = fdls.valid.n_inp = 1
    return fdls


# -- losses ------------------------------------------------------------------------------------------------
def box_l1_loss(preds, box, *rest):
    """Mean absolute error of the box corners, in fractions of the image (x224: the 2018 pixels)."""
    return F.l1_loss(preds[:, :4], box)


class DetectionLoss:
    """``box_weight * L1(box) + cross-entropy(class)``: the 2018 ``detn_loss`` (L1 in 224-px pixels + 20 x CE)
    is this with ``box_weight = 224 / 20``, about 11."""

    def __init__(self, box_weight=10.0):
        self.box_weight = box_weight

    def __call__(self, preds, box, label):
        return self.box_weight * box_l1_loss(preds, box) + F.cross_entropy(preds[:, 4:], label)

    def __repr__(self):
        return f"DetectionLoss(box_weight={self.box_weight})"


# -- metrics -----------------------------------------------------------------------------------------------
def box_ious(preds, box):
    """IoU of each predicted box with its own target (the diagonal of ``torchvision.ops.box_iou``)."""
    p, t = preds[:, :4].float(), box.float()
    p = torch.stack([p[:, :2].min(p[:, 2:]), p[:, :2].max(p[:, 2:])], 1).reshape(-1, 4)  # corners in order
    return box_iou(p, t).diagonal()


def classifier_loss(preds, box, label):
    """Cross-entropy of a classifier of the largest object (its data also carry the box, unused here)."""
    return F.cross_entropy(preds, label)


class TargetMetric(Metric):
    """A per-item mean ``fn(preds, *targets)`` over a validation pass, for targets in several parts
    (``(box, label)``), which ``metrics.AvgMetric`` (one target tensor) does not take."""

    def __init__(self, fn, name):
        self.fn, self.name = fn, name
        self.reset()

    def reset(self):
        self.total, self.count = 0.0, 0

    def accumulate(self, preds, *targets):
        n = len(preds)
        self.total = self.total + self.fn(preds, *targets).detach().float() * n
        self.count += n

    @property
    def value(self):
        return float(self.total / self.count) if self.count else float("nan")

    def __call__(self, preds, *targets):
        return self.fn(preds, *targets)


mean_iou = TargetMetric(lambda preds, box, *rest: box_ious(preds, box).mean(), "mean_iou")
box_l1 = TargetMetric(lambda preds, box, *rest: F.l1_loss(preds[:, :4], box), "box_l1")
class_accuracy = TargetMetric(lambda preds, box, label: (preds[:, 4:].argmax(1) == label).float().mean(), "accuracy")
classifier_accuracy = TargetMetric(lambda preds, box, label: (preds.argmax(1) == label).float().mean(), "accuracy")
