"""Object-detection data: the COCO-JSON and VOC-XML readers (from ``annotation_files``, where bad input and
its errors are described), the largest object, and datasets whose images and boxes transform together
(torchvision transforms v2 with ``tv_tensors.BoundingBoxes``).

The readers give ``(items, classes)``: ``Annotated`` items (one image file, its size and its boxes as ``xyxy``
pixels of the file) and the class names, whose position is the label. In a batch, boxes are ``xyxy``
*fractions* of the (square) input image, 0..1, so they do not depend on its size.
"""

from functools import partial
from pathlib import Path

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2 as T

from coursekit.data import make_loaders, random_split_indices
from coursekit.vision.annotation_files import Annotated, read_coco, read_voc  # noqa: F401 (lessons call them here)
from coursekit.vision.boxes import box_area
from coursekit.vision.images import as_rgb_image, load_image


def largest_object(item):
    """``(box, label)`` of the object with the largest box area in ``item`` (the first one on a tie)."""
    if not len(item.labels):
        raise ValueError(f"{item.file} has no annotated object, so no largest one.")
    k = int(box_area(item.boxes).argmax())
    return item.boxes[k], int(item.labels[k])


def largest_only(items):
    """The items with their largest object alone (lesson 8)."""
    out = []
    for it in items:
        box, lab = largest_object(it)
        out.append(Annotated(it.file, it.size, box[None].clone(), torch.tensor([lab]), it.image_id))
    return out


# -- transforms: boxes move with the pixels -------------------------------------------------------------
def detection_tfms(size, augment=True, max_rotate=10, max_zoom=1.1, max_lighting=0.2, crop=False):
    """A v2 pipeline for ``{"image", "boxes", "labels"}``: training augmentation (left-right flip, zoom in up
    to ``max_zoom`` with a small shift, rotation up to ``max_rotate`` degrees, random crop with ``crop``,
    lighting), then a squash to ``size`` x ``size`` (no centre crop: every box stays in the picture), float
    [0, 1]. Boxes that leave the picture are dropped (``SanitizeBoundingBoxes``)."""
    tfms = []
    if augment:
        tfms += [
            T.RandomHorizontalFlip(),
            T.RandomAffine(degrees=max_rotate, translate=(0.05, 0.05), scale=(1.0, max_zoom)),
        ]
        if crop:
            tfms.append(T.RandomIoUCrop(sampler_options=[0.3, 0.5, 0.7, 0.9, 1.0], trials=20))
        if max_lighting:
            tfms.append(T.ColorJitter(brightness=max_lighting, contrast=max_lighting))
    tfms += [
        T.Resize((size, size), antialias=True),
        T.ToDtype(torch.float32, scale=True),
        T.ClampBoundingBoxes(),
        T.SanitizeBoundingBoxes(min_size=1),
    ]
    return T.Compose(tfms)


def transform(tfms, img, boxes, labels):
    """A PIL image and its (n, 4) ``xyxy`` pixel boxes through ``tfms``: (image (3, H, W), boxes as fractions
    of the new image, labels)."""
    image = tv_tensors.Image(T.functional.pil_to_tensor(img))
    bb = tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=(img.height, img.width))
    out = tfms({"image": image, "boxes": bb, "labels": torch.as_tensor(labels, dtype=torch.long)})
    h, w = out["image"].shape[-2:]
    scale = torch.tensor([w, h, w, h], dtype=torch.float32)
    return out["image"].as_subclass(torch.Tensor), out["boxes"].as_subclass(torch.Tensor) / scale, out["labels"]


class DetectionDataset(torch.utils.data.Dataset):
    """``ds[i]`` is ``(image (3, S, S) float in [0, 1], boxes (n, 4) xyxy fractions, labels (n,) long)``.

    ``target`` picks what follows the image: ``"all"`` (every box and label, as above), or for the largest
    object alone (lesson 8) ``"both"`` (box (4,), label), ``"box"`` (box (4,)) or ``"class"`` (label).
    """

    tta_kind = None  # boxes move with the pixels: no TTA

    def __init__(self, items, classes, tfms, target="all", valid_tfms=None):
        if target not in ("all", "both", "box", "class"):
            raise ValueError(f"target must be 'all', 'both', 'box' or 'class', not {target!r}")
        self.items = list(items) if target == "all" else largest_only(items)
        self.classes, self.tfms, self.target = list(classes), tfms, target
        self.valid_tfms = valid_tfms or tfms
        self.max_boxes = max((len(it.labels) for it in self.items), default=0)

    def __len__(self):
        return len(self.items)

    def encode(self, item):
        """One image (a path, PIL image or uint8 array) as the model's input, through the validation transforms."""
        if isinstance(item, torch.Tensor) and item.is_floating_point():
            return item
        img = as_rgb_image(item)
        return transform(self.valid_tfms, img, torch.zeros(0, 4), [])[0]

    def __getitem__(self, i):
        it = self.items[i]
        img = load_image(it.file)
        x, boxes, labels = transform(self.tfms, img, it.boxes, it.labels)
        if self.target != "all" and not len(labels):  # augmentation pushed the object out: take it unaugmented
            x, boxes, labels = transform(self.valid_tfms, img, it.boxes, it.labels)
        if self.target == "all":
            return x, boxes, labels
        box, label = boxes[0], labels[0]
        return {"both": (x, box, label), "box": (x, box), "class": (x, label)}[self.target]

    def __repr__(self):
        return f"DetectionDataset({len(self)} images, target={self.target!r}, {len(self.classes)} classes)"


def collate_boxes(batch, pad_to=None):
    """Stack ``(image, boxes, labels)`` items: images (B, 3, S, S), boxes (B, M, 4) padded with zeros, labels
    (B, M) padded with -1, M = ``pad_to`` (the dataset's most boxes, so every batch has the same M)."""
    xs, bxs, labs = zip(*batch)
    m = max([len(lab) for lab in labs] + [pad_to or 0, 1])
    boxes, labels = torch.zeros(len(batch), m, 4), torch.full((len(batch), m), -1, dtype=torch.long)
    for k, (b, lab) in enumerate(zip(bxs, labs)):
        boxes[k, : len(lab)], labels[k, : len(lab)] = b, lab
    return torch.stack(xs), boxes, labels


def detection_dls(
    items,
    classes,
    valid_items=None,
    valid_pct=0.2,
    seed=42,
    size=224,
    bs=32,
    target="all",
    augment=True,
    num_workers=0,
    **tfm_kwargs,
):
    """``DataLoaders`` of ``DetectionDataset``s: ``valid_items`` for validation, else a seeded random
    ``valid_pct`` of ``items``. ``target="all"`` batches are ``(images, boxes, labels)`` as ``collate_boxes``
    pads them; the largest-object targets stack as they are."""
    items = list(items)
    if valid_items is None:
        train_idx, valid_idx = random_split_indices(len(items), valid_pct, seed)
        items, valid_items = [items[i] for i in train_idx], [items[i] for i in valid_idx]
    valid_tf = detection_tfms(size, augment=False)
    train_tf = detection_tfms(size, augment=augment, **tfm_kwargs)
    train_ds = DetectionDataset(items, classes, train_tf, target, valid_tf)
    valid_ds = DetectionDataset(valid_items, classes, valid_tf, target, valid_tf)
    collate = partial(collate_boxes, pad_to=max(train_ds.max_boxes, valid_ds.max_boxes)) if target == "all" else None
    dls = make_loaders(train_ds, valid_ds, bs=bs, num_workers=num_workers, seed=seed, collate_fn=collate)
    dls.train.n_inp = dls.valid.n_inp = 1  # the image is the input; the rest of the batch is targets
    return dls


def pascal_dls(path, layout=None, **kwargs):
    """``detection_dls`` from the fast.ai Pascal layout: ``layout`` (``datasets.layout('pascal', mode)``)
    names ``train_json``, ``valid_json`` and ``images`` under ``path``."""
    path = Path(path)
    lay = {
        "train_json": "pascal_train2007.json",
        "valid_json": "pascal_val2007.json",
        "images": "VOCdevkit/VOC2007/JPEGImages",
        **(layout or {}),
    }
    (train, classes), (valid, valid_classes) = (
        read_coco(path / lay[k], path / lay["images"]) for k in ("train_json", "valid_json")
    )
    if valid_classes != classes:
        raise ValueError(
            f"{lay['valid_json']} and {lay['train_json']} differ in categories: {valid_classes}, {classes}."
        )
    return detection_dls(train, classes, valid_items=valid, **kwargs)
