"""Super resolution's plumbing (2018 lesson 14, ``enhance``): paired low/high-resolution data made from one folder
of photos, bicubic down- and upscaling, PSNR, and side-by-side pictures. The lesson's network (``SrResnet`` with
pixel shuffle and ICNR) and its feature loss are written in the notebook's cells.
"""

import copy

import torch
import torch.nn.functional as F
from torchvision.transforms import v2 as T

from coursekit.core import check_path
from coursekit.data import make_loaders
from coursekit.vision.images import get_image_files, load_image


class PairSizeError(ValueError):
    """A low-resolution image whose size is not the high-resolution one divided by the scale."""


# -- data -------------------------------------------------------------------------------------------------------
def downscale(hr, scale):
    """(.., 3, H, W) in [0, 1] -> (.., 3, H/scale, W/scale): bicubic with antialiasing, as a camera would blur."""
    lr = F.interpolate(
        hr.reshape(-1, *hr.shape[-3:]), scale_factor=1 / scale, mode="bicubic", antialias=True, align_corners=False
    )
    return lr.clamp(0, 1).reshape(*hr.shape[:-2], *lr.shape[-2:])


def upscale_bicubic(lr, scale):
    """The baseline the network has to beat: plain bicubic upsampling, (B, 3, h, w) -> (B, 3, h*s, w*s)."""
    return F.interpolate(lr, scale_factor=scale, mode="bicubic", align_corners=False).clamp(0, 1)


def _tensor(path):
    return T.functional.pil_to_tensor(load_image(path))  # (3, H, W) uint8


class PairedSRDataset(torch.utils.data.Dataset):
    """``ds[i]`` is (low-res (3, size/scale, size/scale), high-res (3, size, size)), floats in [0, 1].

    The high-res picture is a ``size`` crop of the photo (random and randomly flipped when ``train``, else
    the centre); the low-res one is that crop made smaller by ``downscale`` unless ``lr_items`` gives stored
    low-res files, which then get the same crop (divided by ``scale``) and the same flip, and must be exactly
    ``scale`` times smaller (else ``PairSizeError`` naming the file). Photos smaller than ``size`` are
    enlarged first. ``cache=True`` keeps each decoded photo in memory (as uint8, 3 bytes a pixel) after its
    first use: on a CPU, decoding a JPEG costs more than the random crop taken from it, every epoch.
    """

    def __init__(self, items, scale=2, size=96, train=True, lr_items=None, seed=None, cache=False):
        if size % scale:
            raise ValueError(f"size={size} must be a multiple of scale={scale}, so the low-res crop has whole pixels.")
        self.items, self.scale, self.size, self.train = list(items), scale, size, train
        self.lr_items = None if lr_items is None else list(lr_items)
        self.gen = torch.Generator().manual_seed(seed) if seed is not None else None
        self.cache = {} if cache else None  # item index -> (high-res, low-res or None), decoded

    def __len__(self):
        return len(self.items)

    def _rand(self, n):
        return int(torch.randint(n, (1,), generator=self.gen).item()) if n > 1 else 0

    def crop_box(self, h, w):
        """(top, left) of the crop in low-res pixels, and whether to flip."""
        s, c = self.scale, self.size // self.scale
        H, W = h // s, w // s
        if self.train:
            return self._rand(H - c + 1), self._rand(W - c + 1), self._rand(2) == 1
        return (H - c) // 2, (W - c) // 2, False

    def _decoded(self, i):
        if self.cache is not None and i in self.cache:
            return self.cache[i]
        pair = _tensor(self.items[i]), _tensor(self.lr_items[i]) if self.lr_items is not None else None
        if self.cache is not None:
            self.cache[i] = pair
        return pair

    def __getitem__(self, i):
        hr, lr = self._decoded(i)
        s = self.scale
        if lr is not None and (lr.shape[1] * s, lr.shape[2] * s) != tuple(hr.shape[1:]):
            raise PairSizeError(
                f"Low-res image {self.lr_items[i]} is {lr.shape[2]}x{lr.shape[1]} but its high-res "
                f"{self.items[i]} is {hr.shape[2]}x{hr.shape[1]}: with scale={s} it must be "
                f"{hr.shape[2] / s:g}x{hr.shape[1] / s:g}. Make the pair again, or crop the "
                f"high-res image to a multiple of {s}."
            )
        short = min(hr.shape[1:])
        if short < self.size:  # too small to crop: enlarge (a stored pair cannot be, so that is an error)
            if lr is not None:
                raise PairSizeError(f"{self.items[i]} is smaller than the {self.size}-px crop; use a smaller size.")
            hr = T.functional.resize(hr, self.size, antialias=True)
        top, left, flip = self.crop_box(*hr.shape[1:])
        c = self.size // s
        hr = hr[:, top * s : (top + c) * s, left * s : (left + c) * s].float() / 255
        if lr is not None:
            lr = lr[:, top : top + c, left : left + c].float() / 255  # the same place, in low-res pixels
        else:
            lr = downscale(hr, s)
        if flip:
            hr, lr = hr.flip(-1), lr.flip(-1)
        return lr, hr

    def with_size(self, size):
        """The same photos cropped at another size."""
        new = copy.copy(self)
        new.size = size
        return new

    def __repr__(self):
        cached = "" if self.cache is None else f", {len(self.cache)} decoded in memory"
        return f"PairedSRDataset({len(self)} photos, x{self.scale}, {self.size}-px crops, train={self.train}{cached})"


def sr_items(path, train="train", valid="val"):
    """(training photos, validation photos) of an image-folder dataset (Imagenette: ``train/``, ``val/``)."""
    path = check_path(path, kind="folder")
    return (
        get_image_files(check_path(path / train, "training folder", "folder")),
        get_image_files(check_path(path / valid, "validation folder", "folder")),
    )


def sr_dls(train_items, valid_items, scale=2, size=96, bs=16, seed=42, num_workers=0, cache=False):
    """``DataLoaders`` of (low-res, high-res) pairs: random crops and flips for training, centre crops to validate;
    ``cache=True`` keeps the decoded photos in memory (see ``PairedSRDataset``)."""
    return make_loaders(
        PairedSRDataset(train_items, scale, size, train=True, seed=seed, cache=cache),
        PairedSRDataset(valid_items, scale, size, train=False, cache=cache),
        bs=bs,
        seed=seed,
        num_workers=num_workers,
    )


# -- metric, baseline, pictures -------------------------------------------------------------------------------------
def psnr(preds, targets, max_val=1.0):
    """Peak signal-to-noise ratio in dB, 10 log10(max^2 / MSE), per image then averaged; outputs clamped to [0, 1]."""
    mse = ((preds.float().clamp(0, max_val) - targets.float()) ** 2).flatten(1).mean(1)
    return (10 * torch.log10(max_val**2 / mse.clamp(min=1e-10))).mean()


def bicubic_psnr(dl, scale):
    """PSNR of plain bicubic upsampling over a loader: the baseline."""
    total, n = 0.0, 0
    for lr, hr in dl:
        total += psnr(upscale_bicubic(lr, scale), hr).item() * len(lr)
        n += len(lr)
    return total / n


def show_sr(lr, preds, hr, scale, n=3, size=2.6):
    """Rows of input (low-res, shown enlarged blockily), bicubic, model, truth, each titled with its PSNR."""
    import matplotlib.pyplot as plt

    n = min(n, len(lr))
    bic = upscale_bicubic(lr[:n], scale)
    fig, axes = plt.subplots(n, 4, figsize=(size * 4, size * n), squeeze=False)
    for r in range(n):
        panels = [
            ("input", F.interpolate(lr[r : r + 1], scale_factor=scale, mode="nearest")[0], None),
            ("bicubic", bic[r], psnr(bic[r : r + 1], hr[r : r + 1])),
            ("model", preds[r].clamp(0, 1), psnr(preds[r : r + 1], hr[r : r + 1])),
            ("truth", hr[r], None),
        ]
        for c, (title, img, p) in enumerate(panels):
            axes[r, c].imshow(img.detach().float().permute(1, 2, 0).cpu().numpy())
            axes[r, c].set_title(f"{title}" + (f" {p:.2f} dB" if p is not None else ""), fontsize=9)
            axes[r, c].axis("off")
    fig.tight_layout()
    return fig
