"""Loaders for small images trained from scratch: fast.ai's CIFAR-10 layout, random crop with padding and flips.

The layout is ``train/<class>/*.png`` and ``test/<class>/*.png`` (plus ``labels.txt``); ``loaders``'s folder
reader does the work, with ``valid='test'``. What this module adds: the 2018 augmentation (pad by ``size // 8``,
random ``size`` crop, left-right flip), and checks.

Bad input, and what happens: an image of another size is resized (short side to ``size``, centre square)
before the crop, so a stray 28x28 or 64x48 image trains as the others do; a greyscale, palette or RGBA image
is made RGB (``images.load_image``), so every batch has 3 channels; an empty class folder is a ``ValueError``
naming it (a class with no images cannot be learnt, and ``labels.txt`` would no longer match the outputs).
"""

from torchvision.transforms import v2 as T

from coursekit.core import check_path
from coursekit.vision.images import get_image_files
from coursekit.vision.loaders import image_dls_from_folder
from coursekit.vision.transforms import to_float_image

CIFAR_STATS = ([0.4914, 0.48216, 0.44653], [0.24703, 0.24349, 0.26159])  # the 2018 notebook's, for full mode


def pad_crop_flip_tfms(size=32, pad=None, flip=True):
    """(train, valid) transforms: both resize to ``size`` first (a no-op on images of that size); training then
    pads by ``pad`` (default ``size // 8``, reflecting the border), crops ``size`` at random and flips."""
    pad = size // 8 if pad is None else pad
    fit = [T.Resize(size, antialias=True), T.CenterCrop(size)]
    train = fit + ([T.RandomCrop(size, padding=pad, padding_mode="reflect")] if pad else [])
    train += [T.RandomHorizontalFlip()] if flip else []
    return T.Compose(train + to_float_image()), T.Compose(fit + to_float_image())


def check_class_folders(folder):
    """Raise a ``ValueError`` naming the first class folder under ``folder`` that holds no image."""
    folder = check_path(folder, kind="folder")
    for d in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not get_image_files(d):
            raise ValueError(
                f"The class folder {d} holds no images: add its images, or delete the folder if the "
                "class is not meant to be there."
            )


def read_labels(path):
    """The class names in ``path/labels.txt`` (one a line), or None when there is no such file."""
    f = path / "labels.txt"
    return [line.strip() for line in f.read_text().splitlines() if line.strip()] if f.exists() else None


def cifar_dls(path, size=32, bs=128, pad=None, flip=True, train="train", valid="test", num_workers=0, seed=42):
    """``DataLoaders`` from ``path/train/<class>/`` and ``path/test/<class>/`` with ``pad_crop_flip_tfms``;
    every class folder must hold images; ``labels.txt``, if present, must name the class folders."""
    path = check_path(path, kind="folder")
    for split in (train, valid):
        check_class_folders(check_path(path / split, f"{split} folder", "folder"))
    labels = read_labels(path)
    found = sorted(p.name for p in (path / train).iterdir() if p.is_dir() and not p.name.startswith("."))
    if labels is not None and sorted(labels) != found:
        raise ValueError(
            f"{path / 'labels.txt'} names the classes {sorted(labels)} but {path / train} has the "
            f"class folders {found}; make them agree."
        )
    tfms = pad_crop_flip_tfms(size, pad, flip)
    return image_dls_from_folder(
        path, train=train, valid=valid, size=size, bs=bs, tfms=tfms, num_workers=num_workers, seed=seed
    )
