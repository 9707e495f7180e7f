"""Labelled image datasets and their loaders: from ``train/<class>/`` folders or from a labels CSV.

Bad input, and what happens: a missing folder or CSV is a ``FileNotFoundError`` naming it, a file where a
folder is expected a ``NotADirectoryError``; an empty, header-only or non-UTF-8 CSV is an error naming it
(a UTF-16 one with its byte-order mark is read: ``data.read_csv``); spaces around file names and labels are
removed with a warning; a CSV row naming a missing file, or with an empty label, is an error naming the row;
a file listed twice with the same label is kept once with a warning, with two different labels it is an
error naming the file, both rows and both labels (which one is right cannot be guessed); unreadable images
are left out with a warning naming each (``on_bad='warn'``) or stop with a ``BadImageError``
(``on_bad='raise'``), as ``images.good_indices`` explains; no validation images left is an error, and so is
a class whose training images are all unreadable (named, with its folder); a label with a space (or comma,
semicolon, bar) in a single-label CSV is kept as one class with a warning suggesting ``label_delim``.
"""

import copy
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from coursekit.core import check_path
from coursekit.data import CategoryMap, make_loaders, random_split_indices, row_name
from coursekit.vision.images import as_rgb_image, get_image_files, good_indices, load_image
from coursekit.vision.label_csv import read_labels_csv, tags_of, unique_files, warn_joined_tags
from coursekit.vision.transforms import describe_tfms, tfms_for


def multi_hot(labels, c):
    """(n, c) float targets from each item's tag indices (a list) or multi-hot row (a float tensor/array)."""
    if isinstance(labels, (torch.Tensor, np.ndarray)) and labels.ndim == 2:
        rows = torch.as_tensor(labels, dtype=torch.float32)
        if rows.shape[1] != c:
            raise ValueError(f"multi-hot labels have {rows.shape[1]} columns but there are {c} classes")
        return rows.clone()
    out = torch.zeros(len(labels), c)
    for i, tags in enumerate(labels):
        is_row = (isinstance(tags, torch.Tensor) and tags.is_floating_point()) or (
            isinstance(tags, np.ndarray) and tags.dtype.kind == "f"
        )
        if is_row:
            out[i] = torch.as_tensor(tags, dtype=torch.float32)
        else:
            out[i, [int(t) for t in tags]] = 1.0
    return out


class ImageDataset(torch.utils.data.Dataset):
    """Image files with labels: class indices, or (n, c) multi-hot float targets when ``multi_label``."""

    tta_kind = "augment"  # labels do not move with the pixels: TTA averages over training-transform views

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
        """One image as the model's input: a path, a PIL image of any mode, or a uint8 array or tensor (0..255,
        HWC or CHW: ``images.as_rgb_image``), made RGB as the files are, then the validation transforms; a
        float tensor is taken to be the model's input already, (3, H, W) in [0, 1], and passed as it is."""
        if isinstance(item, torch.Tensor) and item.is_floating_point():
            return item
        return self.tfms(as_rgb_image(item))

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
        return (
            f"ImageDataset({len(self)} images, {kind}, {len(self.classes)} classes: {shown}; "
            f"tfms: {describe_tfms(self.tfms)})"
        )


def image_dls_from_items(
    items,
    labels,
    classes,
    valid_idx=None,
    valid_pct=0.2,
    seed=42,
    size=128,
    bs=32,
    tfms="side_on",
    multi_label=False,
    num_workers=0,
    on_bad="warn",
):
    """``DataLoaders`` from image files and their labels: the builder the folder and CSV loaders share.

    ``valid_idx`` picks the validation items; without it a seeded random ``valid_pct`` of them.
    """
    items, labels = list(items), list(labels)
    if len(items) != len(labels):
        raise ValueError(f"{len(items)} images but {len(labels)} labels")
    if valid_idx is None:
        _, valid_idx = random_split_indices(len(items), valid_pct, seed)
        if not valid_idx:
            raise ValueError(
                f"No validation images: valid_pct={valid_pct} of {len(items)} images is none. Use a "
                "valid_pct above 0 (0.2 is usual), or more images."
            )
    in_valid = {int(i) for i in valid_idx}
    keep = good_indices(items, on_bad)  # unreadable files are dropped before the split is applied
    train_idx, valid_idx = [i for i in keep if i not in in_valid], [i for i in keep if i in in_valid]
    for idx, name in ((train_idx, "training"), (valid_idx, "validation")):
        if not idx:
            why = (
                "all are unreadable (see the warnings above)"
                if len(keep) < len(items)
                else f"valid_idx {'takes every image' if name == 'training' else 'is empty'}"
            )
            raise ValueError(f"No {name} images: {why}.")
    if not multi_label and len(keep) < len(items):
        check_classes_kept(items, labels, classes, [i for i in range(len(items)) if i not in in_valid], keep)
    train_tf, valid_tf = tfms_for(tfms, size)
    subset = lambda idx, tf: ImageDataset([items[i] for i in idx], [labels[i] for i in idx], classes, tf, multi_label)
    return make_loaders(
        subset(train_idx, train_tf), subset(valid_idx, valid_tf), bs=bs, num_workers=num_workers, seed=seed
    )


def check_classes_kept(items, labels, classes, train_idx, keep):
    """A ``ValueError`` naming the class and its folder when leaving out unreadable images (positions not in
    ``keep``) leaves a class that had training images with none: the model could never learn it."""
    kept, by_class = set(keep), {}
    for i in train_idx:
        by_class.setdefault(labels[i], []).append(i)
    lost = [c for c, idx in by_class.items() if not kept.intersection(idx)]
    if lost:
        files = [Path(items[i]) for i in by_class[lost[0]]]
        folder = os.path.commonpath([f.parent for f in files])
        others = f" (so are those of {', '.join(repr(classes[c]) for c in lost[1:])})" if len(lost) > 1 else ""
        raise ValueError(
            f"Every training image of class {classes[lost[0]]!r} is unreadable{others}: {len(files)} file(s) in "
            f"{folder} (named in the warning above), so the model could never learn the class. Replace them "
            "with readable images (vision.verify_images(folder) lists the bad ones), or remove the class."
        )


def folder_items(folder, classes=None):
    """(items, label indices, classes) from ``folder/<class>/*.jpg``; hidden folders (``.ipynb_checkpoints``)
    are not classes."""
    folder = check_path(folder, kind="folder")
    found = sorted(d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not found:
        raise ValueError(f"{folder} has no class folders: expected {folder}/<class name>/<images>.")
    classes = classes or found
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise ValueError(
            f"{folder} has class folders {unknown} that the training set does not have (training classes: {classes})."
        )
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


def image_dls_from_folder(
    path, train="train", valid="valid", size=128, bs=32, tfms="side_on", num_workers=0, seed=42, on_bad="warn"
):
    """``DataLoaders`` from ``path/train/<class>/*`` and ``path/valid/<class>/*`` (the dogscats layout)."""
    path = check_path(path, kind="folder")
    train_items, train_labels, classes = folder_items(check_path(path / train, "training folder", "folder"))
    valid_items, valid_labels, _ = folder_items(check_path(path / valid, "validation folder", "folder"), classes)
    n = len(train_items)
    return image_dls_from_items(
        train_items + valid_items,
        train_labels + valid_labels,
        classes,
        valid_idx=range(n, n + len(valid_items)),
        seed=seed,
        size=size,
        bs=bs,
        tfms=tfms,
        num_workers=num_workers,
        on_bad=on_bad,
    )


def image_dls_from_csv(
    path,
    csv_file,
    folder,
    fn_col=0,
    label_col=1,
    label_delim=None,
    suffix="",
    valid_pct=0.2,
    seed=42,
    size=128,
    bs=32,
    tfms="side_on",
    num_workers=0,
    on_bad="warn",
):
    """``DataLoaders`` from a labels CSV (file name column, label column) and a folder of images; each file
    once (``unique_files``), so the random split is over distinct images.

    With ``label_delim`` (e.g. ``' '``) the label column holds several tags: multi-hot targets.
    """
    path = check_path(path, kind="folder")
    csv = path / csv_file
    df, fn_name, label_name = read_labels_csv(csv, fn_col, label_col)
    items = [path / folder / f"{name}{suffix}" for name in df[fn_name]]
    missing = [(i, p) for i, p in enumerate(items) if not p.exists()]
    if missing:
        row, p = missing[0]
        raise FileNotFoundError(
            f"{row_name(df, row, csv)} names {p}, which does not exist ({len(missing)} rows "
            "name missing files; check folder= and suffix=)."
        )
    if label_delim is None:
        empty = [i for i, v in enumerate(df[label_name]) if not v]
        if empty:
            raise ValueError(
                f"{row_name(df, empty[0], csv)} has no label in column {label_name!r} "
                f"({len(empty)} rows in all); fill it in, or drop the row. (An image with no tags is "
                "fine for multi-label data: pass label_delim.)"
            )
        warn_joined_tags(df, label_name, csv)
    keep = unique_files(df, fn_name, label_name, csv, label_delim)
    df, items = df.iloc[keep], [items[i] for i in keep]
    if label_delim is None:
        classes = CategoryMap(df[label_name])
        labels = classes.encode(df[label_name]).tolist()
    else:
        tags = [tags_of(v, label_delim) for v in df[label_name]]
        classes = CategoryMap(t for ts in tags for t in ts)
        labels = [[classes.index[t] for t in ts] for ts in tags]
    return image_dls_from_items(
        items,
        labels,
        list(classes),
        valid_pct=valid_pct,
        seed=seed,
        size=size,
        bs=bs,
        tfms=tfms,
        multi_label=label_delim is not None,
        num_workers=num_workers,
        on_bad=on_bad,
    )
