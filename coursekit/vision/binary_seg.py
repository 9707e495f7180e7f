"""Binary segmentation (2018 lesson 14, Carvana): one object-or-background mask per image, read from GIF (or
PNG) files, the Dice metric, a Dice-plus-BCE loss, and data at several sizes for progressive resizing.

Layouts (``LAYOUTS``): Carvana ``train/<car>_<nn>.jpg`` with ``train_masks/<car>_<nn>_mask.gif``; the
Oxford-IIIT Pets ``images/<name>.jpg`` with ``annotations/trimaps/<name>.png`` (1 pet, 2 background,
3 the border, counted as pet). The model gives one logit per pixel (B, 1, H, W): positive means object.
"""

import copy
import re
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torchvision import tv_tensors
from torchvision.transforms import v2 as T

from coursekit.core import check_path
from coursekit.data import make_loaders, random_split_indices
from coursekit.metrics import Metric
from coursekit.vision.images import get_image_files, image_size, load_image
from coursekit.vision.segmentation import MaskError, seg_train_tfms, seg_valid_tfms

LAYOUTS = {
    "carvana": {"images": "train", "masks": "train_masks", "suffix": "_mask.gif", "positive": None},
    "oxford_pets": {"images": "images", "masks": "annotations/trimaps", "suffix": ".png", "positive": (1, 3)},
}


# what PIL raises for a file that is not an image, or a damaged one (as images.load_image catches)
UNREADABLE = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)


def unreadable_mask(path, error, image=None):
    """The ``MaskError`` for a mask file PIL cannot read: the file, what PIL said, and what to do."""
    of = f" (the mask of {image})" if image is not None else ""
    return MaskError(
        f"Cannot read mask {path}{of} ({type(error).__name__}: {error}); replace it with the image's mask "
        "(a GIF or PNG, object pixels non-zero)."
    )


def load_binary_mask(path, size=None, positive=None):
    """A mask as a uint8 (H, W) array of 0/1: pixels whose value is in ``positive`` (default: any non-zero
    value, which covers GIFs saved with 0/1 and 0/255), checked against the image's (width, height)."""
    try:
        with Image.open(path) as m:
            arr = np.asarray(m if m.mode in ("L", "P", "1") else m.convert("L"))  # (H, W), first GIF frame
    except UNREADABLE as e:
        raise unreadable_mask(path, e) from None
    if size is not None and arr.shape[::-1] != tuple(size):
        raise MaskError(
            f"Mask {path} is {arr.shape[1]}x{arr.shape[0]} but its image is {size[0]}x{size[1]}; "
            "each mask must match its image pixel for pixel (re-export it at the image's size)."
        )
    hit = arr > 0 if positive is None else np.isin(arr, positive)
    return hit.astype(np.uint8)


def binary_items(
    path, images="train", masks="train_masks", suffix="_mask.gif", positive=None, check=True, what_to_do=None
):
    """(image files, mask files) of a folder in ``images``/``masks`` layout; every pair checked for size.
    ``what_to_do``: the advice when masks are missing (default: add them or remove the images)."""
    path = check_path(path, kind="folder")
    items = get_image_files(check_path(path / images, "images folder", "folder"), recurse=False)
    mask_files = [path / masks / f"{p.stem}{suffix}" for p in items]
    missing = [m for m in mask_files if not m.exists()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} of {len(items)} image(s) have no mask, for example {missing[0]} "
            f"(for the image {items[mask_files.index(missing[0])]}); {what_to_do or 'add it or remove the image'}. "
            f"(Masks are looked for in {path / masks} as <image name>{suffix}.)"
        )
    if check:  # headers only: cheap, and a wrong size is named here rather than deep in training
        for img, m in zip(items, mask_files):
            try:
                with Image.open(m) as mk:
                    mask_size = mk.size
            except UNREADABLE as e:
                raise unreadable_mask(m, e, img.name) from None
            if mask_size != image_size(img):
                raise MaskError(
                    f"Mask {m} is {mask_size[0]}x{mask_size[1]} but its image {img.name} is "
                    f"{image_size(img)[0]}x{image_size(img)[1]}; each mask must match its image "
                    "pixel for pixel (re-export it at the image's size)."
                )
    return items, mask_files


def group_of(file):
    """The object a photo shows: Carvana's ``<car>_<nn>`` gives the car, any other name itself."""
    stem = Path(file).stem
    found = re.fullmatch(r"([0-9a-f]{12})_\d\d", stem)  # Carvana ids: 12 hex digits
    return found.group(1) if found else stem


def split_by_group(items, valid_pct=0.2, seed=42):
    """(train, valid) positions with every photo of one car on the same side (16 per car in Carvana: a
    random split would score the model on cars it has seen from another angle)."""
    groups = sorted({group_of(p) for p in items})
    _, valid_g = random_split_indices(len(groups), valid_pct, seed)
    valid_set = {groups[i] for i in valid_g}
    valid = [i for i, p in enumerate(items) if group_of(p) in valid_set]
    return [i for i in range(len(items)) if group_of(items[i]) not in valid_set], valid


class BinaryMaskDataset(torch.utils.data.Dataset):
    """``ds[i]`` is (float image (3, H, W) in [0, 1], float mask (1, H, W) of 0/1); same moves for both."""

    tta_kind = "flip"

    def __init__(self, items, masks, tfms, positive=None):
        self.items, self.masks, self.tfms, self.positive = list(items), list(masks), tfms, positive

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        img = load_image(self.items[i])
        mask = load_binary_mask(self.masks[i], img.size, self.positive)
        img, mask = self.tfms(
            tv_tensors.Image(T.functional.pil_to_tensor(img)), tv_tensors.Mask(torch.from_numpy(mask)[None])
        )  # (1, H, W): resized nearest
        return img.as_subclass(torch.Tensor), mask.as_subclass(torch.Tensor).float()

    def with_tfms(self, tfms):
        """The same pairs with other transforms (another size, for progressive resizing)."""
        new = copy.copy(self)
        new.tfms = tfms
        return new

    def __repr__(self):
        return f"BinaryMaskDataset({len(self)} images)"


def binary_dls(
    path,
    size=(64, 96),
    bs=8,
    valid_pct=0.2,
    seed=42,
    layout="carvana",
    augment=True,
    num_workers=0,
    valid_folder=None,
    valid_masks=None,
):
    """``DataLoaders`` of images and binary masks; ``layout`` is a ``LAYOUTS`` name or a dict like them. The
    split keeps each car's photos together. Call again with a bigger ``size`` to resize progressively.

    ``valid_folder`` (a folder under ``path``) holds the validation images instead of a random ``valid_pct`` of
    the training ones (``valid_pct`` is then unused), with their masks in ``valid_masks`` (default: the layout's
    masks folder), named as the layout names them. A car with photos in both folders is named in a warning."""
    lay = LAYOUTS[layout] if isinstance(layout, str) else dict(layout)
    items, masks = binary_items(path, lay["images"], lay["masks"], lay["suffix"], lay.get("positive"))
    if valid_folder is None:
        train_idx, valid_idx = split_by_group(items, valid_pct, seed)
        train, valid = [(items[i], masks[i]) for i in train_idx], [(items[i], masks[i]) for i in valid_idx]
    else:
        mask_folder = lay["masks"] if valid_masks is None else valid_masks
        train = list(zip(items, masks))
        advice = "add it, remove the image, or pass valid_masks= the folder of the validation masks"
        found = binary_items(path, valid_folder, mask_folder, lay["suffix"], lay.get("positive"), what_to_do=advice)
        valid = list(zip(*found))
        check_separate(items, [img for img, _ in valid])
    size = (size, size) if isinstance(size, int) else tuple(size)
    pick = lambda pairs, tf: BinaryMaskDataset([i for i, _ in pairs], [m for _, m in pairs], tf, lay.get("positive"))
    train_tf = seg_train_tfms(size, max_zoom=1.1, max_lighting=0.1) if augment else seg_valid_tfms(size)
    return make_loaders(
        pick(train, train_tf), pick(valid, seg_valid_tfms(size)), bs=bs, num_workers=num_workers, seed=seed
    )


def check_separate(train, valid):
    """An error when the training and validation folders share image files; a warning when they share cars
    (``group_of``): a score on photos of cars the model trained on flatters it."""
    same = sorted({p.resolve() for p in train} & {p.resolve() for p in valid})
    if same:
        raise ValueError(
            f"{len(same)} image(s) are both training and validation images, for example {same[0]}: give "
            "valid_folder a folder of other images than the training folder."
        )
    shared = sorted({group_of(p) for p in train} & {group_of(p) for p in valid})
    if shared:
        warnings.warn(
            f"{len(shared)} car(s) have photos in both the training and the validation folder, for example "
            f"{shared[0]!r}: the validation score flatters a model that has seen the car. Move all of a car's "
            "photos to one folder.",
            stacklevel=3,
        )


# -- metric and loss -------------------------------------------------------------------------------------------
def dice_score(preds, targets, thresh=0.0, eps=1e-8):
    """Dice = 2|P and T| / (|P| + |T|) over all pixels given: ``preds`` logits (cut at ``thresh``; 0 is
    probability 0.5) or booleans, ``targets`` 0/1. Both empty gives 1."""
    p = preds > thresh if preds.dtype != torch.bool else preds
    t = targets > 0.5
    inter, total = (p & t).sum().float(), p.sum().float() + t.sum().float()
    return torch.where(total > 0, 2 * inter / total.clamp(min=eps), torch.ones_like(total))


class Dice(Metric):
    """Streaming Dice over a validation pass (two counts per batch, kept on the device), on logits."""

    def __init__(self, thresh=0.0, name="dice"):
        self.thresh, self.name = thresh, name
        self.reset()

    def reset(self):
        self.inter, self.total = 0, 0

    def accumulate(self, preds, targets):
        p, t = preds > self.thresh, targets > 0.5
        self.inter = self.inter + (p & t).sum()
        self.total = self.total + p.sum() + t.sum()

    @property
    def value(self):
        total = float(self.total)
        return 2 * float(self.inter) / total if total else 1.0


def soft_dice_loss(logits, targets, eps=1.0):
    """1 - Dice on probabilities (differentiable), per image, averaged: rewards overlap, whatever the object's size."""
    p, t = torch.sigmoid(logits.float()).flatten(1), targets.float().flatten(1)
    return (1 - (2 * (p * t).sum(1) + eps) / (p.sum(1) + t.sum(1) + eps)).mean()


class DiceBCELoss(nn.Module):
    """Binary cross-entropy on logits plus ``dice_weight`` x soft Dice loss: BCE trains every pixel, Dice
    the overlap the metric scores (on its own it gives weak gradients at the start)."""

    def __init__(self, dice_weight=1.0):
        super().__init__()
        self.dice_weight = dice_weight

    def forward(self, logits, targets):
        return F.binary_cross_entropy_with_logits(logits.float(), targets.float()) + self.dice_weight * soft_dice_loss(
            logits, targets
        )


def show_masks(imgs, truths, preds=None, n=4, size=2.2):
    """Rows of image / true mask / predicted mask (``preds`` logits), as outlines over the photo."""
    import matplotlib.pyplot as plt
    from coursekit.vision.images import to_display

    n, cols = min(n, len(imgs)), 2 if preds is None else 3
    fig, axes = plt.subplots(n, cols, figsize=(size * cols * 1.4, size * n), squeeze=False)
    for r in range(n):
        panels = [("image", None), ("truth", truths[r])] + ([("prediction", preds[r] > 0)] if preds is not None else [])
        for c, (title, m) in enumerate(panels):
            axes[r, c].imshow(to_display(imgs[r]))
            if m is not None:
                axes[r, c].imshow(np.asarray(m.float().squeeze(0).cpu()), cmap="viridis", alpha=0.45, vmin=0, vmax=1)
            axes[r, c].set_title(title if r == 0 else "", fontsize=9)
            axes[r, c].axis("off")
    fig.tight_layout()
    return fig
