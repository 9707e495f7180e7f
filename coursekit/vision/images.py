"""Image files: finding them, reading them with clear errors, checking them, and looking at them.

Images are delivered as float tensors in [0, 1]; each pretrained model normalises its own input.

Bad input, and what happens (the choice this module makes):
- a path that does not exist: ``FileNotFoundError`` naming it, at once; a file where a folder is expected:
  ``NotADirectoryError`` saying so;
- folders are listed following symbolic links (a link back to a folder being listed, a loop, is skipped
  with a warning); hidden files and folders (``.DS_Store``, ``.ipynb_checkpoints/``) are skipped at every
  depth, silently;
- every image is read the same way (``to_rgb``): turned upright by its EXIF orientation, 16-bit pixels
  scaled to 8 bits, transparent pixels composited on ``BACKGROUND`` (white, as a viewer shows them), RGB;
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

import os
import textwrap
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from coursekit.core import check_path

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
BACKGROUND = (255, 255, 255)  # what a transparent pixel becomes
ORIENTATION = 0x0112  # the EXIF tag a camera or phone writes instead of rotating the pixels


class BadImageError(Exception):
    """An image file that cannot be read; ``.path`` is the file, ``.reason`` what PIL said."""

    def __init__(self, path, reason, hint=None):
        self.path, self.reason = Path(path), reason
        hint = hint or "Delete or replace the file (vision.verify_images(folder) lists every unreadable image)."
        super().__init__(f"Cannot read image {path} ({reason}). {hint}")


def shown(paths, n=10):
    """The first ``n`` paths, for messages."""
    return ", ".join(map(str, paths[:n])) + (f" and {len(paths) - n} more" if len(paths) > n else "")


def list_files(path, recurse=True):
    """Files under the folder ``path``, sorted, following symbolic links; hidden files and folders skipped at
    every depth; a link that loops back, or points to nothing, is named in a warning and skipped."""
    path = check_path(path, "image folder", kind="folder")
    files, loops, broken = [], [], []

    def walk(folder, inside):  # inside: the real paths of the folders being listed, to notice a loop
        for p in folder.iterdir():
            if p.name.startswith("."):
                continue
            if p.is_dir():  # is_dir and is_file follow links
                if recurse and p.resolve() in inside:
                    loops.append(p)
                elif recurse:
                    walk(p, inside | {p.resolve()})
            elif p.is_file():
                files.append(p)
            elif p.is_symlink():
                broken.append(p)

    walk(path, {path.resolve()})
    if loops:
        warnings.warn(
            f"Not following {len(loops)} symbolic link(s) that lead back to a folder they are in (a "
            f"loop): {shown(loops)}."
        )
    if broken:
        warnings.warn(
            f"Skipping {len(broken)} symbolic link(s) that point to nothing: {shown(broken)}. Fix or delete them."
        )
    return sorted(files)


def get_image_files(path, recurse=True):
    """Image files under ``path`` (sorted, as ``list_files`` finds them); non-image files are skipped with one
    warning naming them."""
    files = list_files(path, recurse)
    images = [p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
    others = [p for p in files if p.suffix.lower() not in IMAGE_EXTENSIONS]
    if others:
        warnings.warn(f"Skipping {len(others)} file(s) that are not images: {shown(others)}")
    return images


def to_rgb(img, background=BACKGROUND):
    """An RGB PIL image, as every loader sees it: turned upright by its EXIF orientation, 16-bit pixels (modes
    I;16 and I, 0..65535) scaled to 0..255 rather than clipped at 255, transparency composited on ``background``."""
    if img.getexif().get(ORIENTATION, 1) != 1:
        img = ImageOps.exif_transpose(img)
    if img.mode.startswith("I"):  # I;16 (16-bit PNG or TIFF) or I: 0..65535 -> 0..255
        img = Image.fromarray((np.asarray(img, dtype=np.float64) / 257).round().clip(0, 255).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info:
        img = Image.alpha_composite(Image.new("RGBA", img.size, tuple(background) + (255,)), img.convert("RGBA"))
    return img.convert("RGB")


def load_image(path):
    """Open an image as RGB (``to_rgb``), or raise ``BadImageError`` naming the file."""
    try:
        with Image.open(path) as img:
            return to_rgb(img)
    except (FileNotFoundError, IsADirectoryError) as e:  # no file to delete or replace: a wrong or stale path
        raise BadImageError(
            path,
            f"{type(e).__name__}: {e.strerror}",
            "Check the path; if files were moved or deleted since the loaders were built, build them again.",
        ) from None
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as e:
        # from None: the student needs the file name, not PIL's internals
        raise BadImageError(path, f"{type(e).__name__}: {e}") from None


def image_size(path):
    """(width, height) of an image as ``load_image`` gives it (upright), reading only its header."""
    with Image.open(path) as img:
        w, h = img.size
        return (h, w) if img.getexif().get(ORIENTATION, 1) in (5, 6, 7, 8) else (w, h)  # 90-degree turns


def as_rgb_image(item):
    """An RGB PIL image from an image file, a PIL image, or a uint8 NumPy array or tensor (0..255) of shape
    (H, W), (H, W, C) or (C, H, W), C = 1, 3 or 4: an array is taken as HWC and a tensor as CHW (the NumPy/PIL
    and torchvision conventions) unless only the other layout has 1, 3 or 4 channels at its end."""
    if isinstance(item, Image.Image):
        return to_rgb(item)
    if not isinstance(item, (np.ndarray, torch.Tensor)):
        return load_image(item)
    arr = item.detach().cpu().numpy() if isinstance(item, torch.Tensor) else item
    kind = f"{type(item).__name__} of shape {tuple(arr.shape)}"
    if arr.dtype != np.uint8:
        raise TypeError(
            f"An image as an array or tensor must be uint8 (0..255); this {kind} is {arr.dtype}. "
            "Convert it: values in [0, 1] times 255, rounded, as uint8."
        )
    channels = lambda n: n in (1, 3, 4)
    if arr.ndim == 3 and channels(arr.shape[0]) and (isinstance(item, torch.Tensor) or not channels(arr.shape[2])):
        arr = arr.transpose(1, 2, 0)  # CHW -> HWC
    if arr.ndim == 3 and channels(arr.shape[2]):
        arr = arr[..., 0] if arr.shape[2] == 1 else arr
    elif arr.ndim != 2:
        raise ValueError(
            f"This {kind} is not one image: expected (H, W), (H, W, C) or (C, H, W) with C = 1, 3 "
            "or 4 channels. For a batch, predict each image."
        )
    return to_rgb(Image.fromarray(np.ascontiguousarray(arr)))


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
        raise BadImageError(
            items[i],
            err,
            "Delete or replace it, or pass on_bad='warn' to leave unreadable "
            f"images out ({len(bad)} unreadable in all).",
        )
    if bad:
        warnings.warn(
            f"Leaving out {len(bad)} unreadable image(s):\n" + "\n".join(f"  {items[i]}: {err}" for i, err in bad)
        )
    return [i for i, err in enumerate(errors) if not err]


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
    cell_width = 0.95 * fig.get_figwidth() * fig.dpi / ncols  # pixels a title may take without reaching the next one
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(to_display(imgs[i]))
            if titles is not None:
                fit_title(ax, str(titles[i]), cell_width, fontsize=9)
    fig.tight_layout()
    return fig


def fit_title(ax, title, max_width, fontsize=9):
    """Set ``title``, wrapped at spaces until it is at most ``max_width`` pixels wide: a long list of tags would
    otherwise run into the titles of the images beside it. A single word wider than that stays whole."""
    lines = title.split("\n")
    chars = max(len(line) for line in lines)
    ax.set_title(title, fontsize=fontsize)
    while chars > 1 and ax.title.get_window_extent().width > max_width:
        chars -= 1
        ax.set_title("\n".join(textwrap.fill(line, chars, break_long_words=False) for line in lines), fontsize=fontsize)


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
