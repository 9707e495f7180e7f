"""Semantic segmentation data: images with label masks (the CamVid layout), transforms that move image
and mask together, pixel accuracy that ignores void, IoU, and overlays to look at.

Layout: ``images/<name>.png``, ``labels/<name>_P.png`` (one class index per pixel), ``codes.txt`` (one
class name per line, index = line number); optional ``valid.txt`` listing validation images, by file name
or by name without its extension (see ``split_by_list``: a list that matches no image is an error).
"""

import copy
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2 as T

from coursekit.core import check_path
from coursekit.data import make_loaders, random_split_indices
from coursekit.metrics import Metric, confusion
from coursekit.vision.images import BadImageError, get_image_files, image_size, load_image, shown, to_display


class MaskError(ValueError):
    """A label mask that does not fit its image or its codes."""


def read_codes(path):
    """Class names from ``codes.txt``."""
    return [line.strip() for line in check_path(path, "codes file", "file").read_text().splitlines() if line.strip()]


def mask_path(image, labels_dir, suffix="_P"):
    return Path(labels_dir) / f"{Path(image).stem}{suffix}.png"


def load_mask(path, n_codes=None, size=None):
    """A mask as an int64 (H, W) array, checked against the image size and the number of codes."""
    try:
        with Image.open(path) as m:
            arr = np.asarray(m.convert("L") if m.mode not in ("L", "P") else m, dtype=np.int64)  # (H, W)
    except (OSError, SyntaxError, ValueError) as e:  # PIL's ways of saying the file is not a readable image
        raise MaskError(
            f"Cannot read mask {path} ({type(e).__name__}: {e}); replace it with the image's label "
            "mask (a PNG of class indices)."
        ) from None
    if size is not None and arr.shape[::-1] != tuple(size):
        raise MaskError(
            f"Mask {path} is {arr.shape[1]}x{arr.shape[0]} but its image is {size[0]}x{size[1]}; "
            "each mask must match its image pixel for pixel."
        )
    if n_codes is not None and arr.size and arr.max() >= n_codes:
        bad = sorted(set(np.unique(arr[arr >= n_codes]).tolist()))
        raise MaskError(
            f"Mask {path} has label value(s) {bad} but codes.txt lists only {n_codes} classes (0-{n_codes - 1})."
        )
    return arr


def seg_train_tfms(size, max_zoom=1.25, flip=True, max_lighting=0.2):
    """Joint augmentation: the same random crop/zoom and flip for image and mask (masks use nearest
    neighbour, so labels are never blended); lighting changes the image only."""
    aspect = size[1] / size[0]
    tfms = [T.RandomResizedCrop(size, (1 / max_zoom**2, 1.0), (aspect * 0.9, aspect * 1.1), antialias=True)]
    if flip:
        tfms.append(T.RandomHorizontalFlip())
    tfms.append(T.ColorJitter(brightness=max_lighting, contrast=max_lighting))
    return T.Compose(
        tfms + [T.ToDtype({tv_tensors.Image: torch.float32, tv_tensors.Mask: torch.int64, "others": None}, scale=True)]
    )


def seg_valid_tfms(size):
    """Resize image and mask to ``size`` (height, width)."""
    return T.Compose(
        [
            T.Resize(size, antialias=True),
            T.ToDtype({tv_tensors.Image: torch.float32, tv_tensors.Mask: torch.int64, "others": None}, scale=True),
        ]
    )


class SegmentationDataset(torch.utils.data.Dataset):
    """Images and their masks: ``ds[i]`` is (float image (3, H, W) in [0, 1], int64 mask (H, W))."""

    tta_kind = "flip"  # the mask moves with the pixels: TTA flips the input and flips the prediction back

    def __init__(self, items, masks, codes, tfms, mask_map=None):
        self.items, self.masks, self.codes, self.tfms = list(items), list(masks), list(codes), tfms
        self.classes = self.codes
        # mask_map: raw value -> class index, for masks stored in another numbering (pets trimaps: 1, 2, 3)
        self.mask_map = None if mask_map is None else np.asarray(mask_map, dtype=np.int64)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        img = load_image(self.items[i])
        if self.mask_map is None:
            mask = load_mask(self.masks[i], len(self.codes), img.size)
        else:
            mask = self.mask_map[load_mask(self.masks[i], len(self.mask_map), img.size)]
        img, mask = self.tfms(tv_tensors.Image(T.functional.pil_to_tensor(img)), tv_tensors.Mask(torch.tensor(mask)))
        return img.as_subclass(torch.Tensor), mask.as_subclass(torch.Tensor)

    def with_tfms(self, tfms):
        """The same pairs with other transforms."""
        new = copy.copy(self)
        new.tfms = tfms
        return new

    def __repr__(self):
        return f"SegmentationDataset({len(self)} images, {len(self.codes)} codes)"


def segmentation_items(path, images="images", labels="labels", suffix="_P"):
    """(image files, mask files, codes) for a CamVid-layout folder, every pair checked."""
    path = check_path(path, kind="folder")
    codes = read_codes(path / "codes.txt")
    items = get_image_files(check_path(path / images, "images folder", "folder"))
    masks = [mask_path(p, path / labels, suffix) for p in items]
    missing = [m for m in masks if not m.exists()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} image(s) have no mask, for example {missing[0]} is missing.")
    for img, m in zip(items, masks):  # small files: checking them all up front is cheap and saves a crash later
        try:
            size = image_size(img)  # the header only (a truncated file is caught when loaded), turned upright
        except (OSError, SyntaxError, ValueError) as e:
            raise BadImageError(img, f"{type(e).__name__}: {e}", "Delete or replace it and its mask.") from None
        load_mask(m, len(codes), size)
    return items, masks, codes


def split_by_list(items, listed, source):
    """(train, valid) positions of ``items``, valid those named in ``listed`` (read from ``source``): by file
    name, or else by the name without extension when one image has it (``0001`` or ``0001.jpg`` finds
    ``0001.png``, another extension with a warning). Names matching nothing: a warning naming them; no match
    at all: a ``ValueError`` showing the names listed and those on disk."""
    by_name, by_stem = {p.name: i for i, p in enumerate(items)}, {}
    for i, p in enumerate(items):
        by_stem.setdefault(p.stem, []).append(i)
    valid, other_suffix, unmatched = set(), [], []
    for name in (Path(n).name for n in listed):
        stem = by_stem.get(Path(name).stem, [])
        if name in by_name or len(stem) == 1:
            valid.add(by_name[name] if name in by_name else stem[0])
            other_suffix += [name] if name not in by_name and Path(name).suffix else []
        else:
            unmatched.append(name)
    on_disk = shown([p.name for p in items], 3)
    if not valid:
        raise ValueError(
            f"None of the {len(listed)} names in {source} matches an image: it lists "
            f"{shown(listed, 3) or 'nothing'}; the images are {on_disk}. List the validation images' "
            "file names, one a line."
        )
    if unmatched:
        warnings.warn(
            f"{len(unmatched)} name(s) in {source} match no image (or several by the name without the "
            f"extension): {shown(unmatched, 5)}; the images are {on_disk}. Fix or delete those lines."
        )
    if other_suffix:
        warnings.warn(
            f"{source} names {len(other_suffix)} image(s) with another extension than on disk, for example"
            f" {other_suffix[0]}; matched by the name without the extension."
        )
    return [i for i in range(len(items)) if i not in valid], sorted(valid)


def segmentation_dls(path, size=(96, 128), bs=8, valid_pct=0.2, seed=42, num_workers=0):
    """``DataLoaders`` for a CamVid-layout folder: ``valid.txt`` picks the validation images when present
    (``split_by_list``), else a seeded random ``valid_pct``."""
    path = check_path(path, kind="folder")
    items, masks, codes = segmentation_items(path)
    if (path / "valid.txt").exists():
        listed = [line.strip() for line in (path / "valid.txt").read_text().splitlines() if line.strip()]
        train_idx, valid_idx = split_by_list(items, listed, path / "valid.txt")
    else:
        train_idx, valid_idx = random_split_indices(len(items), valid_pct, seed)
    pick = lambda idx, tf: SegmentationDataset([items[i] for i in idx], [masks[i] for i in idx], codes, tf)
    return make_loaders(
        pick(train_idx, seg_train_tfms(size)),
        pick(valid_idx, seg_valid_tfms(size)),
        bs=bs,
        num_workers=num_workers,
        seed=seed,
    )


# -- metrics ---------------------------------------------------------------------------------------------------
class PixelAccuracy(Metric):
    """Streaming fraction of labelled pixels (void left out) whose arg-max class is right: two counts per pass."""

    def __init__(self, void_index=None, name="pixel_accuracy"):
        self.void_index, self.name = void_index, name
        self.reset()

    def reset(self):
        self.correct, self.total = 0, 0

    def accumulate(self, preds, targets):
        # preds (bs, n_classes, H, W) scores; targets (bs, H, W) class indices. Counts stay on the device.
        keep = targets != self.void_index if self.void_index is not None else torch.ones_like(targets, dtype=torch.bool)
        self.correct = self.correct + (preds.argmax(dim=1)[keep] == targets[keep]).sum()
        self.total = self.total + keep.sum()

    @property
    def value(self):
        return (self.correct / self.total).item() if self.total else float("nan")


def pixel_accuracy(void_index=None):
    """A fresh pixel-accuracy metric for a Learner, or for tensors: ``pixel_accuracy(void)(preds, targets)``."""
    return PixelAccuracy(void_index)


def iou_from_confusion(cm):
    """Per-class IoU = TP / (TP + FP + FN); NaN for classes absent from both truth and prediction."""
    tp = cm.diag().float()
    union = cm.sum(0).float() + cm.sum(1).float() - tp
    return torch.where(union > 0, tp / union.clamp(min=1), torch.full_like(tp, float("nan")))


class SegmentationIoU(Metric):
    """Streaming mean IoU over a validation pass (void ignored); ``per_class()`` for each class."""

    def __init__(self, n_classes, void_index=None, name="mean_iou"):
        self.n_classes, self.void_index, self.name = n_classes, void_index, name
        self.reset()

    def reset(self):
        self.cm = torch.zeros(self.n_classes, self.n_classes, dtype=torch.int64)

    def accumulate(self, preds, targets):
        cm = confusion(preds.argmax(dim=1), targets, self.n_classes, self.void_index)
        self.cm = self.cm.to(cm.device) + cm  # counted where the outputs are: no copy of them to the CPU

    def per_class(self):
        return iou_from_confusion(self.cm).cpu()

    @property
    def value(self):
        return torch.nanmean(self.per_class()).item()


# -- pictures -------------------------------------------------------------------------------------------------
def class_colours(n, seed=3):
    """A fixed colour per class, for masks."""
    return np.random.default_rng(seed).integers(30, 255, (n, 3)).astype(np.uint8)


def show_segmentation(imgs, truths, preds=None, codes=None, n=4, alpha=0.55, size=2.5):
    """Rows of image / truth overlay / prediction overlay; returns the figure."""
    import matplotlib.pyplot as plt

    n = min(n, len(imgs))
    cols = 3 if preds is not None else 2
    colours = class_colours(len(codes) if codes else int(max(t.max() for t in truths)) + 1)
    fig, axes = plt.subplots(n, cols, figsize=(size * cols * 1.3, size * n), squeeze=False)
    for r in range(n):
        img = to_display(imgs[r])
        panels = [("image", None), ("truth", truths[r])] + ([("prediction", preds[r])] if preds is not None else [])
        for c, (title, mask) in enumerate(panels):
            ax = axes[r, c]
            ax.imshow(img)
            if mask is not None:
                ax.imshow(colours[mask.cpu().numpy()], alpha=alpha)
            ax.set_title(title if r == 0 else "", fontsize=9)
            ax.axis("off")
    fig.tight_layout()
    return fig
