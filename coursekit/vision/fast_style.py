"""Fast style transfer's plumbing (2018 lesson 14, ``style-transfer-net``; Johnson et al. 2016): the photos to
restyle, a checked one-pass ``stylize`` and a timer. The transformation network (``StyleResnet``) and its
perceptual loss are written in the notebook's cells, on lesson 13's losses (``coursekit.vision.style``).
"""

import copy
import time

import torch
from torchvision.transforms import v2 as T

from coursekit.vision.images import load_image
from coursekit.vision.transforms import to_float_image


class ContentDataset(torch.utils.data.Dataset):
    """Photos to be restyled: ``ds[i]`` is (image, image), both (3, size, size) in [0, 1]: the input, and the
    content the output must keep. Random crops and flips when ``train``, else the centre."""

    def __init__(self, items, size=128, train=True):
        self.items, self.size, self.train = list(items), size, train
        aug = [T.RandomResizedCrop(size, scale=(0.35, 1.0), antialias=True), T.RandomHorizontalFlip()]
        fixed = [T.Resize(size, antialias=True), T.CenterCrop(size)]
        self.tfms = T.Compose([T.ToImage()] + (aug if train else fixed) + to_float_image()[1:])

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        x = self.tfms(load_image(self.items[i])).as_subclass(torch.Tensor)
        return x, x

    def with_train(self, train):
        new = copy.copy(self)
        new.__init__(self.items, self.size, train)
        return new


def check_style_input(img, min_side=1):
    """A clear error, before torch's from deep inside the network, when ``img`` is not a float (3, H, W) image
    or (B, 3, H, W) batch with sides of at least ``min_side`` pixels; each says how to convert it."""
    if not isinstance(img, torch.Tensor):
        raise TypeError(
            f"stylize takes a tensor, not a {type(img).__name__}: convert an image file or PIL image with "
            "torchvision.transforms.v2.functional.to_image(img).float() / 255 (or the ContentDataset's transforms)."
        )
    shape = tuple(img.shape)
    if img.dim() not in (3, 4):
        raise ValueError(f"stylize takes one image (3, H, W) or a batch (B, 3, H, W); this tensor is {shape}.")
    one = img.dim() == 3
    c, h, w = img.shape[-3:]
    if c != 3:
        grey, alpha = ("img.expand(3, -1, -1)", "img[:3]") if one else ("img.expand(-1, 3, -1, -1)", "img[:, :3]")
        hint = {
            1: f"For a grey image repeat its channel: {grey}.",
            4: f"For an RGBA image drop the alpha channel: {alpha}.",
        }.get(c, "Is the channel axis first (CHW, as torchvision has it), not last (HWC)? Use img.permute(2, 0, 1).")
        raise ValueError(f"stylize takes RGB images, 3 channels; this tensor {shape} has {c}. {hint}")
    if not img.is_floating_point():
        raise TypeError(f"stylize takes a float image in [0, 1]; this one is {img.dtype}: pass img.float() / 255.")
    if min(h, w) < min_side:
        raise ValueError(
            f"The image is {h}x{w} pixels, but the network needs at least {min_side}x{min_side} (its first 9x9 "
            "convolution reflects 4 pixels at each border). Resize it up first, for example "
            "torchvision.transforms.v2.functional.resize(img, 64)."
        )


@torch.no_grad()
def stylize(model, img):
    """Restyle one (3, H, W) or a batch of images in a single forward pass (eval mode, no gradients); the input
    is checked first (``check_style_input``)."""
    check_style_input(img, getattr(model, "min_side", 1))
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    out = model((img if img.dim() == 4 else img[None]).to(device)).cpu()
    model.train(was)
    return out if img.dim() == 4 else out[0]


def timed(fn, repeat=1):
    """(result of the last call, the best of ``repeat`` wall times in seconds)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return out, best
