"""Fast style transfer (2018 lesson 14, ``style-transfer-net``; Johnson et al. 2016): a transformation network
trained once, with lesson 13's perceptual losses (``coursekit.vision.style``), to paint any photo in one
style, which it then does in a single forward pass instead of an optimisation per image.
"""

import copy
import time

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms import v2 as T

from coursekit.vision import style
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


# -- the transformation network -----------------------------------------------------------------------------
def conv_in(c_in, c_out, k, stride=1, relu=True):
    """Reflection padding, conv, instance norm (style statistics per image, as Ulyanov et al. found best), ReLU."""
    layers = [nn.ReflectionPad2d(k // 2), nn.Conv2d(c_in, c_out, k, stride), nn.InstanceNorm2d(c_out, affine=True)]
    return nn.Sequential(*layers, *([nn.ReLU(inplace=True)] if relu else []))


class StyleResBlock(nn.Module):
    """Two 3x3 conv + instance norm layers added back to the input."""

    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(conv_in(c, c, 3), conv_in(c, c, 3, relu=False))

    def forward(self, x):
        return x + self.body(x)


class Upsample(nn.Module):
    """Nearest-neighbour x2 then a conv: no checkerboard, unlike a transposed convolution."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv = conv_in(c_in, c_out, 3)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class StyleNet(nn.Module):
    """(B, 3, H, W) in [0, 1] -> the same size, restyled: 9x9 conv, two stride-2 convs, ``n_res`` residual blocks,
    two upsamplings, 9x9 conv, sigmoid. ``width`` 32 is Johnson et al.'s network (2018's StyleResnet); H and W
    should be multiples of 4, and at least ``min_side`` (the first 9x9 convolution reflects 4 pixels at each
    border, which needs 5)."""

    min_side = 5

    def __init__(self, width=32, n_res=5):
        super().__init__()
        w = width
        self.down = nn.Sequential(conv_in(3, w // 2, 9), conv_in(w // 2, w, 3, 2), conv_in(w, w * 2, 3, 2))
        self.res = nn.Sequential(*[StyleResBlock(w * 2) for _ in range(n_res)])
        self.up = nn.Sequential(Upsample(w * 2, w), Upsample(w, w // 2), nn.ReflectionPad2d(4), nn.Conv2d(w // 2, 3, 9))

    def forward(self, x):
        h = self.up(self.res(self.down(x)))
        if h.shape[-2:] != x.shape[-2:]:  # sides not multiples of 4: back to the input's size
            h = F.interpolate(h, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return torch.sigmoid(h)


# -- the loss -------------------------------------------------------------------------------------------------
class PerceptualStyleLoss(nn.Module):
    """``content_weight`` x content loss (output vs input, at the feature net's content layer) + ``style_weight`` x
    Gram style loss against one style image, with lesson 13's ``FeatureNet`` (frozen, always in eval mode)."""

    def __init__(
        self,
        net,
        style_img,
        size,
        content_weight=1.0,
        style_weight=300.0,
        layer_weights=None,
        tv_weight=0.0,
        style_name="the style image",
    ):
        super().__init__()
        self.net, self.layer_weights = net, layer_weights
        self.content_weight, self.style_weight, self.tv_weight = content_weight, style_weight, tv_weight
        target = torch.zeros(3, size, size)
        styled = style.match_style_size(style_img, target, style_name)  # textures at the training size
        with torch.no_grad():
            self.style_targets = [g.detach() for g in net.grams(net(styled[None]))]

    def parts(self, preds, targets):
        """(content loss, style loss) of a batch of outputs against their inputs and the style."""
        feats = self.net(preds)
        with torch.no_grad():
            want = self.net(targets)[self.net.content_id]
        targets_g = [t.to(preds.device) for t in self.style_targets]
        return (
            style.content_loss(feats[self.net.content_id], want),
            style.style_loss(self.net.grams(feats), targets_g, self.layer_weights),
        )

    def forward(self, preds, targets):
        c, s = self.parts(preds.float(), targets.float())
        loss = self.content_weight * c + self.style_weight * s
        return loss + self.tv_weight * style.tv_loss(preds) if self.tv_weight else loss


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
