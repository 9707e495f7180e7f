"""Image datasets from folders or a labels CSV, transform presets, and looking at batches.

Images are delivered as float tensors in [0, 1]; each pretrained model normalises its own input.

Bad input, and what happens (the choice this module makes):
- a path that does not exist: ``FileNotFoundError`` naming it, at once;
- files that are not images by their extension (``notes.txt``, ``.DS_Store``): skipped with one warning
  that names them;
- an image file PIL cannot read (corrupt, truncated, not really a JPEG): found when the loaders are built
  and, with ``on_bad='warn'`` (the default), left out with a warning naming each file and the error; with
  ``on_bad='raise'``, a ``BadImageError`` naming the file. The check decodes every file (at reduced scale
  for JPEG), because ``Image.verify`` alone does not notice a truncated JPEG: about 1 ms an image, spread
  over the CPU's cores (450 pets photos: about 0.45 s on one core); ``on_bad=None`` skips it.
  A file that goes bad later raises ``BadImageError`` naming it from ``__getitem__``, in the main process
  (loaders use ``num_workers=0`` by default), not as a bare traceback from a worker.
"""
import copy
import os
import random
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torchvision.transforms import v2 as T

from coursekit.data import make_loaders

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


class BadImageError(Exception):
    """An image file that cannot be read; ``.path`` is the file, ``.reason`` what PIL said."""

    def __init__(self, path, reason, hint=None):
        self.path, self.reason = Path(path), reason
        hint = hint or "Delete or replace the file (vision.verify_images(folder) lists every unreadable image)."
        super().__init__(f"Cannot read image {path} ({reason}). {hint}")


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
    except (FileNotFoundError, IsADirectoryError) as e:  # no file to delete or replace: a wrong or stale path
        raise BadImageError(path, f"{type(e).__name__}: {e.strerror}", "Check the path; if files were moved or "
                            "deleted since the loaders were built, build them again.") from None
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as e:
        # from None: the student needs the file name, not PIL's internals
        raise BadImageError(path, f"{type(e).__name__}: {e}") from None


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


def image_errors(items):
    """``image_error`` of each file, checked on a thread per core (PIL decodes without holding the GIL)."""
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        return list(pool.map(image_error, items))


def verify_images(path):
    """Every unreadable image file under ``path``, as (file, error) pairs."""
    files = get_image_files(path)
    return [(p, err) for p, err in zip(files, image_errors(files)) if err]


def good_indices(items, on_bad="warn"):
    """Indices of the readable images in ``items``: the others are left out with a warning naming each
    (``on_bad='warn'``), or the first raises ``BadImageError`` (``'raise'``); ``None`` checks nothing."""
    if on_bad not in ("warn", "raise", None):
        raise ValueError(f"on_bad must be 'warn', 'raise' or None, not {on_bad!r}")
    if on_bad is None:
        return list(range(len(items)))
    errors = image_errors(items)
    bad = [(i, err) for i, err in enumerate(errors) if err]
    if bad and on_bad == "raise":
        i, err = bad[0]
        raise BadImageError(items[i], err, "Delete or replace it, or pass on_bad='warn' to leave unreadable "
                                           f"images out ({len(bad)} unreadable in all).")
    if bad:
        warnings.warn(f"Leaving out {len(bad)} unreadable image(s):\n" +
                      "\n".join(f"  {items[i]}: {err}" for i, err in bad))
    return [i for i, err in enumerate(errors) if not err]


# -- transforms ------------------------------------------------------------------------------------------
def to_float_image():
    """The last two steps of every preset: a PIL image to a float32 CHW tensor in [0, 1]."""
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
    """(train, valid) transforms: ``kind`` is 'side_on', 'top_down', None (no augmentation), or a ready
    (train, valid) pair of transforms, returned as it is."""
    if isinstance(kind, (tuple, list)):
        return tuple(kind)
    return (valid_tfms(size) if kind is None else train_tfms(size, kind)), valid_tfms(size)


def describe_tfms(tfms):
    """A one-line summary of a transform pipeline, for reprs."""
    steps = getattr(tfms, "transforms", [tfms])
    return " -> ".join(type(t).__name__ for t in steps)


# -- datasets ----------------------------------------------------------------------------------------------
def multi_hot(labels, c):
    """(n, c) float targets from each item's tag indices (a list) or multi-hot row (a float tensor/array)."""
    if isinstance(labels, (torch.Tensor, np.ndarray)) and labels.ndim == 2:
        rows = torch.as_tensor(labels, dtype=torch.float32)
        if rows.shape[1] != c:
            raise ValueError(f"multi-hot labels have {rows.shape[1]} columns but there are {c} classes")
        return rows.clone()
    out = torch.zeros(len(labels), c)
    for i, tags in enumerate(labels):
        is_row = (isinstance(tags, torch.Tensor) and tags.is_floating_point()) or \
                 (isinstance(tags, np.ndarray) and tags.dtype.kind == "f")
        if is_row:
            out[i] = torch.as_tensor(tags, dtype=torch.float32)
        else:
            out[i, [int(t) for t in tags]] = 1.0
    return out


class ImageDataset(torch.utils.data.Dataset):
    """Image files with labels: class indices, or (n, c) multi-hot float targets when ``multi_label``."""

    def __init__(self, items, labels, classes, tfms, multi_label=False):
        self.items, self.classes = list(items), list(classes)
        self.tfms, self.multi_label = tfms, multi_label
        if len(labels) != len(self.items):
            raise ValueError(f"{len(self.items)} images but {len(labels)} labels")
        if multi_label:
            self.labels = multi_hot(labels, len(self.classes))
        else:
            self.labels = [int(y) for y in labels]
            wrong = [y for y in self.labels if not 0 <= y < len(self.classes)]
            if wrong:
                raise ValueError(f"label {wrong[0]} is not a class index (there are {len(self.classes)} classes)")

    def __len__(self):
        return len(self.items)

    def encode(self, item):
        """An image path, PIL image or [0, 1] tensor as the model's input (the validation transforms)."""
        if isinstance(item, torch.Tensor):
            return item
        img = item if isinstance(item, Image.Image) else load_image(item)
        return self.tfms(img)

    def __getitem__(self, i):
        # x: (3, size, size) float32 in [0, 1]; y: a class index, or a (c,) multi-hot float vector
        return self.tfms(load_image(self.items[i])), self.labels[i]

    def with_tfms(self, tfms):
        """The same items with other transforms (TTA uses the training ones on validation images)."""
        new = copy.copy(self)
        new.tfms = tfms
        return new

    def label_names(self, i):
        """Item ``i``'s label as text (tags joined with spaces for multi-label)."""
        if self.multi_label:
            return " ".join(self.classes[c] for c in self.labels[i].nonzero().flatten().tolist())
        return self.classes[self.labels[i]]

    def __repr__(self):
        kind = "multi-label" if self.multi_label else "single-label"
        shown = ", ".join(map(str, self.classes[:8])) + (", ..." if len(self.classes) > 8 else "")
        return (f"ImageDataset({len(self)} images, {kind}, {len(self.classes)} classes: {shown}; "
                f"tfms: {describe_tfms(self.tfms)})")


def random_split_indices(n, valid_pct=0.2, seed=42):
    """(train, valid) index lists, a seeded random ``valid_pct`` of ``n`` in valid."""
    idxs = list(range(n))
    random.Random(seed).shuffle(idxs)
    cut = int(round(n * valid_pct))
    return sorted(idxs[cut:]), sorted(idxs[:cut])


def image_dls_from_items(items, labels, classes, valid_idx=None, valid_pct=0.2, seed=42, size=128, bs=32,
                         tfms="side_on", multi_label=False, num_workers=0, on_bad="warn"):
    """``DataLoaders`` from image files and their labels: the builder the folder and CSV loaders share.

    ``valid_idx`` picks the validation items; without it a seeded random ``valid_pct`` of them.
    """
    items, labels = list(items), list(labels)
    if len(items) != len(labels):
        raise ValueError(f"{len(items)} images but {len(labels)} labels")
    if valid_idx is None:
        _, valid_idx = random_split_indices(len(items), valid_pct, seed)
    in_valid = {int(i) for i in valid_idx}
    keep = good_indices(items, on_bad)  # unreadable files are dropped before the split is applied
    train_idx, valid_idx = [i for i in keep if i not in in_valid], [i for i in keep if i in in_valid]
    if not train_idx:
        raise ValueError("No readable training images are left (see the warnings above).")
    train_tf, valid_tf = tfms_for(tfms, size)
    subset = lambda idx, tf: ImageDataset([items[i] for i in idx], [labels[i] for i in idx], classes, tf,
                                          multi_label)
    return make_loaders(subset(train_idx, train_tf), subset(valid_idx, valid_tf), bs=bs,
                        num_workers=num_workers, seed=seed)


def folder_items(folder, classes=None):
    """(items, label indices, classes) from ``folder/<class>/*.jpg``; hidden folders (``.ipynb_checkpoints``)
    are not classes."""
    folder = check_path(folder)
    found = sorted(d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not found:
        raise ValueError(f"{folder} has no class folders: expected {folder}/<class name>/<images>.")
    classes = classes or found
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise ValueError(f"{folder} has class folders {unknown} that the training set does not have "
                         f"(training classes: {classes}).")
    by_class = {name: [] for name in classes}
    for f in get_image_files(folder):  # one listing, so one warning names every non-image file
        top = f.relative_to(folder).parts[0]
        if top in by_class:
            by_class[top].append(f)
    items = [f for name in classes for f in by_class[name]]
    labels = [c for c, name in enumerate(classes) for _ in by_class[name]]
    if not items:
        raise ValueError(f"No images found under {folder}/<class name>/ (classes looked for: {classes}).")
    empty = [name for name in classes if not by_class[name]]
    if empty:
        warnings.warn(f"{folder} has no images of class(es) {empty}.")
    return items, labels, classes


def image_dls_from_folder(path, train="train", valid="valid", size=128, bs=32, tfms="side_on", num_workers=0,
                          seed=None, on_bad="warn"):
    """``DataLoaders`` from ``path/train/<class>/*`` and ``path/valid/<class>/*`` (the dogscats layout)."""
    path = check_path(path)
    train_items, train_labels, classes = folder_items(check_path(path / train, "training folder"))
    valid_items, valid_labels, _ = folder_items(check_path(path / valid, "validation folder"), classes)
    n = len(train_items)
    return image_dls_from_items(train_items + valid_items, train_labels + valid_labels, classes,
                                valid_idx=range(n, n + len(valid_items)), seed=seed, size=size, bs=bs, tfms=tfms,
                                num_workers=num_workers, on_bad=on_bad)


def csv_columns(df, csv_file, *cols):
    """The names of ``cols`` (names or positions) in ``df``, or a KeyError naming the missing one."""
    names = []
    for c in cols:
        if isinstance(c, int) and -len(df.columns) <= c < len(df.columns):
            c = df.columns[c]
        if c not in df.columns:
            raise KeyError(f"{csv_file} has no column {c!r}; its columns are {list(df.columns)}.")
        names.append(c)
    return names


def image_dls_from_csv(path, csv_file, folder, fn_col=0, label_col=1, label_delim=None, suffix="", valid_pct=0.2,
                       seed=42, size=128, bs=32, tfms="side_on", num_workers=0, on_bad="warn"):
    """``DataLoaders`` from a labels CSV (file name column, label column) and a folder of images.

    With ``label_delim`` (e.g. ``' '``) the label column holds several tags: multi-hot targets.
    """
    import pandas as pd
    path = check_path(path)
    csv = check_path(path / csv_file, "labels CSV")
    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    fn_name, label_name = csv_columns(df, csv, fn_col, label_col)
    items = [path / folder / f"{name}{suffix}" for name in df[fn_name]]
    missing = [(i, p) for i, p in enumerate(items) if not p.exists()]
    if missing:
        row, p = missing[0]
        raise FileNotFoundError(f"{csv} row {row + 2} (line {row + 2}, counting the header) names {p}, which does "
                                f"not exist ({len(missing)} rows name missing files; check folder= and suffix=).")
    if label_delim is None:
        empty = [i for i, v in enumerate(df[label_name]) if not v.strip()]
        if empty:
            raise ValueError(f"{csv} row {empty[0] + 2} (counting the header) has no label in column {label_name!r} "
                             f"({len(empty)} rows in all); fill it in, or drop the row. (An image with no tags is "
                             "fine for multi-label data: pass label_delim.)")
        classes = sorted(set(df[label_name]))
        index = {c: i for i, c in enumerate(classes)}
        labels = [index[v] for v in df[label_name]]
    else:
        tags = [[t for t in v.split(label_delim) if t] for v in df[label_name]]
        classes = sorted({t for ts in tags for t in ts})
        index = {c: i for i, c in enumerate(classes)}
        labels = [[index[t] for t in ts] for ts in tags]
    return image_dls_from_items(items, labels, classes, valid_pct=valid_pct, seed=seed, size=size, bs=bs, tfms=tfms,
                                multi_label=label_delim is not None, num_workers=num_workers, on_bad=on_bad)


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
    cols = csv_columns(df, csv_file, fn_col, label_col)
    index = {c: i for i, c in enumerate(classes)}
    targets = torch.zeros(len(df), len(classes))
    for row, tags in enumerate(df[cols[1]]):
        for tag in (t for t in tags.split(label_delim) if t):
            if tag not in index:
                raise ValueError(f"{csv_file} row {row + 2} (counting the header) has the tag {tag!r}, which the "
                                 f"training data does not have; known tags: {', '.join(classes)}.")
            targets[row, index[tag]] = 1.0
    return list(df[cols[0]]), targets
