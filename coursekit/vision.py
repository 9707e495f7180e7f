"""Image datasets from folders or a labels CSV, transform presets, and looking at batches.

Images are delivered as float tensors in [0, 1]; each pretrained model normalises its own input.

Bad input, and what happens (the choice this module makes):
- a path that does not exist: ``FileNotFoundError`` naming it, at once;
- files that are not images by their extension (``notes.txt``, ``.DS_Store``): skipped with one warning
  that names them;
- an image file PIL cannot read (corrupt, truncated, not really a JPEG): found when the dataset is built
  (each file's header is opened and checked) and, with ``on_bad='warn'`` (the default), left out with a
  warning naming each file and the error; with ``on_bad='raise'``, a ``BadImageError`` naming the file.
  A file that goes bad later raises ``BadImageError`` naming it from ``__getitem__``, in the main process
  (loaders use ``num_workers=0`` by default), not as a bare traceback from a worker.
"""
import copy
import random
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torchvision.transforms import v2 as T

from coursekit.data import make_loaders

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


class BadImageError(Exception):
    """An image file that cannot be read."""


def check_path(path, what="data folder"):
    """``Path(path)``, or a clear ``FileNotFoundError`` when it does not exist."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"The {what} {path} does not exist. Check the path, or run the notebook's "
                                "data cell (datasets.get_data) first to download or generate it.")
    return path


def get_image_files(path, recurse=True):
    """Image files under ``path`` (sorted); non-image files are skipped with one warning naming them."""
    path = check_path(path)
    files = sorted(p for p in (path.rglob("*") if recurse else path.iterdir()) if p.is_file())
    images = [p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
    others = [p for p in files if p.suffix.lower() not in IMAGE_EXTENSIONS]
    if others:
        shown = ", ".join(str(p) for p in others[:10]) + (f" and {len(others) - 10} more" if len(others) > 10 else "")
        warnings.warn(f"Skipping {len(others)} file(s) that are not images: {shown}")
    return images


def load_image(path):
    """Open an image as RGB, or raise ``BadImageError`` naming the file."""
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise BadImageError(f"Cannot read image {path}: {e}. Delete or replace the file "
                            "(vision.verify_images(folder) lists every unreadable image).") from None


def image_error(path):
    """Why ``path`` is not a readable image (None when it is): opens the header and checks the data."""
    try:
        with Image.open(path) as img:
            img.verify()  # structure and checksums of what is there, without decoding pixels
        with Image.open(path) as img:
            img.draft("RGB", (32, 32))  # a cheap reduced decode catches truncated JPEG data too
            img.load()
    except Exception as e:  # PIL raises many types for broken files
        return f"{type(e).__name__}: {e}"
    return None


def verify_images(path):
    """Every unreadable image file under ``path``, as (file, error) pairs."""
    return [(p, err) for p in get_image_files(path) if (err := image_error(p))]


def drop_bad_images(items, labels, on_bad="warn"):
    """Leave out (with a warning naming each) or raise on unreadable images."""
    bad = [(i, err) for i, p in enumerate(items) if (err := image_error(p))]
    if not bad:
        return items, labels
    if on_bad == "raise":
        i, err = bad[0]
        raise BadImageError(f"Cannot read image {items[i]} ({err}). Delete or replace it, or pass "
                            "on_bad='warn' to leave unreadable images out.")
    warnings.warn("Leaving out unreadable images:\n" + "\n".join(f"  {items[i]}: {err}" for i, err in bad))
    keep = sorted(set(range(len(items))) - {i for i, _ in bad})
    return [items[i] for i in keep], [labels[i] for i in keep]


# -- transforms ------------------------------------------------------------------------------------------
def to_float_image():
    return [T.ToImage(), T.ToDtype(torch.float32, scale=True)]


def train_tfms(size, kind="side_on", max_zoom=1.1, max_rotate=10, max_lighting=0.2):
    """Augmentation for training: random crop/zoom, flips, small rotation, lighting.

    ``side_on`` (photos of things on the ground: left-right flips only) or ``top_down`` (satellite and
    microscope images: every flip and 90-degree rotation).
    """
    if kind not in ("side_on", "top_down"):
        raise ValueError(f"kind must be 'side_on' or 'top_down', not {kind!r}")
    tfms = [T.RandomResizedCrop(size, scale=(1 / max_zoom ** 2 * 0.75, 1.0), ratio=(3 / 4, 4 / 3), antialias=True),
            T.RandomHorizontalFlip()]
    if kind == "top_down":
        tfms += [T.RandomVerticalFlip(), T.RandomChoice([T.RandomRotation((a, a)) for a in (0, 90, 180, 270)])]
    if max_rotate:
        tfms.append(T.RandomRotation(max_rotate))
    if max_lighting:
        tfms.append(T.ColorJitter(brightness=max_lighting, contrast=max_lighting))
    return T.Compose(tfms + to_float_image())


def valid_tfms(size):
    """For validation: resize the short side to ``size`` and take the centre square."""
    return T.Compose([T.Resize(size, antialias=True), T.CenterCrop(size)] + to_float_image())


def tfms_for(kind, size):
    """(train, valid) transforms: ``kind`` is 'side_on', 'top_down' or None (no augmentation)."""
    return (valid_tfms(size) if kind is None else train_tfms(size, kind)), valid_tfms(size)


# -- datasets ----------------------------------------------------------------------------------------------
class ImageDataset(torch.utils.data.Dataset):
    """Image files with labels: class indices, or multi-hot vectors when ``multi_label``."""

    def __init__(self, items, labels, classes, tfms, multi_label=False):
        self.items, self.labels, self.classes = list(items), list(labels), list(classes)
        self.tfms, self.multi_label = tfms, multi_label

    def __len__(self):
        return len(self.items)

    def encode(self, item):
        """An image path, PIL image or [0, 1] tensor as the model's input (the validation transforms)."""
        if isinstance(item, torch.Tensor):
            return item
        img = item if isinstance(item, Image.Image) else load_image(item)
        return self.tfms(img)

    def __getitem__(self, i):
        x = self.tfms(load_image(self.items[i]))
        if self.multi_label:
            y = torch.zeros(len(self.classes))
            y[list(self.labels[i])] = 1.0
            return x, y
        return x, self.labels[i]

    def with_tfms(self, tfms):
        """The same items with other transforms (TTA uses the training ones on validation images)."""
        new = copy.copy(self)
        new.tfms = tfms
        return new

    def label_names(self, i):
        """Item ``i``'s label as text (tags joined with spaces for multi-label)."""
        if self.multi_label:
            return " ".join(self.classes[c] for c in self.labels[i])
        return self.classes[self.labels[i]]

    def __repr__(self):
        kind = "multi-label" if self.multi_label else "single-label"
        shown = ", ".join(self.classes[:8]) + (", ..." if len(self.classes) > 8 else "")
        return f"ImageDataset({len(self)} images, {kind}, {len(self.classes)} classes: {shown})"


def random_split_indices(n, valid_pct=0.2, seed=42):
    """(train, valid) index lists, a seeded random ``valid_pct`` of ``n`` in valid."""
    idxs = list(range(n))
    random.Random(seed).shuffle(idxs)
    cut = int(round(n * valid_pct))
    return sorted(idxs[cut:]), sorted(idxs[:cut])


def folder_items(folder, classes=None, on_bad="warn"):
    """(items, label indices, classes) from ``folder/<class>/*.jpg``."""
    folder = check_path(folder)
    found = sorted(d.name for d in folder.iterdir() if d.is_dir())
    if not found:
        raise ValueError(f"{folder} has no class folders: expected {folder}/<class name>/<images>.")
    classes = classes or found
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise ValueError(f"{folder} has class folders {unknown} that the training set does not have "
                         f"(training classes: {classes}).")
    items, labels = [], []
    for c, name in enumerate(classes):
        if (folder / name).exists():
            files = get_image_files(folder / name)
            items += files
            labels += [c] * len(files)
    if not items:
        raise ValueError(f"No images found under {folder}.")
    items, labels = drop_bad_images(items, labels, on_bad)
    return items, labels, classes


def image_dls_from_folder(path, train="train", valid="valid", size=128, bs=32, tfms="side_on", num_workers=0,
                          seed=None, on_bad="warn"):
    """``DataLoaders`` from ``path/train/<class>/*`` and ``path/valid/<class>/*`` (the dogscats layout)."""
    path = check_path(path)
    train_items, train_labels, classes = folder_items(check_path(path / train, "training folder"), on_bad=on_bad)
    valid_items, valid_labels, _ = folder_items(check_path(path / valid, "validation folder"), classes, on_bad)
    train_tf, valid_tf = tfms_for(tfms, size)
    return make_loaders(ImageDataset(train_items, train_labels, classes, train_tf),
                        ImageDataset(valid_items, valid_labels, classes, valid_tf),
                        bs=bs, num_workers=num_workers, seed=seed)


def image_dls_from_csv(path, csv_file, folder, fn_col=0, label_col=1, label_delim=None, suffix="", valid_pct=0.2,
                       seed=42, size=128, bs=32, tfms="side_on", num_workers=0, on_bad="warn"):
    """``DataLoaders`` from a labels CSV (file name column, label column) and a folder of images.

    With ``label_delim`` (e.g. ``' '``) the label column holds several tags: multi-label targets.
    """
    import pandas as pd
    path = check_path(path)
    csv = check_path(path / csv_file, "labels CSV")
    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    cols = [c if isinstance(c, str) else df.columns[c] for c in (fn_col, label_col)]
    for c in cols:
        if c not in df.columns:
            raise KeyError(f"{csv} has no column {c!r}; its columns are {list(df.columns)}.")
    items = [path / folder / f"{name}{suffix}" for name in df[cols[0]]]
    missing = [(i, p) for i, p in enumerate(items) if not p.exists()]
    if missing:
        row, p = missing[0]
        raise FileNotFoundError(f"{csv} row {row + 2} (line {row + 2}, counting the header) names {p}, which does "
                                f"not exist ({len(missing)} rows name missing files).")
    if label_delim is None:
        classes = sorted(set(df[cols[1]]))
        labels = [classes.index(v) for v in df[cols[1]]]
    else:
        tags = [[t for t in v.split(label_delim) if t] for v in df[cols[1]]]
        classes = sorted({t for ts in tags for t in ts})
        labels = [[classes.index(t) for t in ts] for ts in tags]
    items, labels = drop_bad_images(items, labels, on_bad)
    train_idx, valid_idx = random_split_indices(len(items), valid_pct, seed)
    train_tf, valid_tf = tfms_for(tfms, size)
    multi = label_delim is not None
    make = lambda idx, tf: ImageDataset([items[i] for i in idx], [labels[i] for i in idx], classes, tf, multi)
    return make_loaders(make(train_idx, train_tf), make(valid_idx, valid_tf), bs=bs, num_workers=num_workers,
                        seed=seed)


# -- looking at images -------------------------------------------------------------------------------------
def to_display(img):
    """A (H, W, 3) array for matplotlib from a CHW tensor in [0, 1] or a PIL image."""
    if isinstance(img, torch.Tensor):
        return img.detach().float().cpu().clamp(0, 1).permute(1, 2, 0).numpy()
    return np.asarray(img)


def show_images(imgs, titles=None, ncols=4, figsize=None, size=2.5):
    """Images in a grid with optional titles; returns the figure."""
    import matplotlib.pyplot as plt
    n = len(imgs)
    ncols = max(1, min(ncols, n))
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize or (size * ncols, size * nrows + 0.3), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(to_display(imgs[i]))
            if titles is not None:
                ax.set_title(titles[i], fontsize=9)
    fig.tight_layout()
    return fig


def show_batch(dls, n=9, ncols=3, split="train", figsize=None):
    """The first ``n`` images of a batch with their labels (``dls`` may also be a single loader)."""
    dl = getattr(dls, split) if hasattr(dls, split) else dls
    ds = dl.dataset
    xb, yb = next(iter(dl))
    n = min(n, len(xb))
    if getattr(ds, "multi_label", False):
        titles = [" ".join(ds.classes[c] for c in y.nonzero().flatten().tolist()) for y in yb[:n]]
    elif getattr(ds, "classes", None) is not None:
        titles = [ds.classes[int(y)] for y in yb[:n]]
    else:
        titles = None
    return show_images(list(xb[:n]), titles, ncols=ncols, figsize=figsize)


def read_tags_csv(csv_file, classes, fn_col=0, label_col=1, label_delim=" "):
    """(file names, multi-hot targets) from a labels CSV, checked against the training ``classes``:
    an unknown tag is an error naming its row, since the model has no output for it."""
    import pandas as pd
    csv_file = check_path(csv_file, "labels CSV")
    df = pd.read_csv(csv_file, dtype=str, keep_default_na=False)
    cols = [c if isinstance(c, str) else df.columns[c] for c in (fn_col, label_col)]
    for c in cols:
        if c not in df.columns:
            raise KeyError(f"{csv_file} has no column {c!r}; its columns are {list(df.columns)}.")
    index = {c: i for i, c in enumerate(classes)}
    targets = torch.zeros(len(df), len(classes))
    for row, tags in enumerate(df[cols[1]]):
        for tag in (t for t in tags.split(label_delim) if t):
            if tag not in index:
                raise ValueError(f"{csv_file} row {row + 2} (counting the header) has the tag {tag!r}, which the "
                                 f"training data does not have; known tags: {', '.join(classes)}.")
            targets[row, index[tag]] = 1.0
    return list(df[cols[0]]), targets
